/*
 * agent_fault.c — the agent (agent/node.c, agent/conn.c) in process when its calls fail or its
 * peer misbehaves: real libuv loops, real SQLite stores, real sockets on 127.0.0.1.
 *
 * Faults are injected with link-time wraps (tests/fault/tests.cmake): libuv's uv_write,
 * uv_accept, uv_read_start, uv_tcp_connect and uv_getaddrinfo fail at the Nth call;
 * store_db_stmt fails for the statements whose SQL contains a given text (the agent's
 * bookkeeping, or a statement inside a store call the agent makes); malloc and calloc fail once
 * for one size (a conn, a control client, a connect or lookup request, a read buffer, a
 * receipt's heads); uv_now is moved forward (the agent's timeouts, without waiting 30 s);
 * agent_log is captured, so that each test checks the reason the node gives. A scripted peer (a
 * thread with a blocking socket that runs the real handshake, proto/hs.h, and secretstream,
 * proto/frame.h) sends what a broken or hostile node would.
 *
 * Proves:
 *  - every uv_write of a sync between two nodes failing in turn (N = 1, 2, ... until a sync
 *    runs without reaching N, ~20 runs): the link closes with "write failed" (never "peer sent
 *    bad data": our failure is not blamed on the peer), both nodes stop cleanly, and a clean
 *    sync afterwards carries every entry both ways;
 *  - a failed connect, name lookup, read start or accept, and no memory for a connect or lookup
 *    request or a read buffer, end --once with the reason; no memory for the conn ends --once
 *    with "out of memory" (it waited for ever before);
 *  - a peer connection, or a control-socket client, that the node has no memory for is taken
 *    and closed, and the next one is served (libuv stops listening until a pending connection
 *    is taken: the node went deaf for good before); a control reply that cannot be written, a
 *    read that cannot start, an accept that fails close that client only;
 *  - bookkeeping statements that fail (last_attempt, links, key pinning, acks, the failure
 *    count) do not stop a sync, and what failed is not recorded; the peer list failing fails
 *    start-up with the store's code; the revocation lookup failing refuses the link (fail
 *    closed); a failing quota lookup ends the session as a local failure, not the peer's;
 *  - the office: a receipt whose query, allocation or append fails, and admitting that fails,
 *    are logged and nothing half-written stays; the next receipt goes through, exactly one;
 *  - C18 in process: 256 connections waiting for their handshake from one address, the next
 *    from it is closed at once (OVERLOAD, logged once), one from 127.0.0.2 is kept;
 *  - a peer whose stream header comes in pieces and whose frame announces too much, one whose
 *    frame does not authenticate, one that resets the link in the handshake or when live, one
 *    that goes silent (PINGed after 5 s, dropped after 30 s), and a dial that never connects
 *    (dropped after 30 s): each is closed with its own reason and the node stays up.
 * Runs in about 15 s of wall time, 2 s of CPU; no long mode, nothing random (ctest -R
 * fault.agent).
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "agent/conn.h"
#include "agent/node.h"
#include "proto/body.h"
#include "proto/frame.h"
#include "proto/msg.h"
#include "store/have.h"
#include "store/log.h"

/* ---- the wraps ---- */

enum { F_WRITE, F_ACCEPT, F_READ_START, F_CONNECT, F_LOOKUP, F_KINDS };
/* Armed from the loop's thread, or from a client thread before its next connection: atomic. */
static atomic_int countdown[F_KINDS]; /* the Nth call from now fails (0: none) */
static atomic_int hits[F_KINDS];
static _Atomic size_t calloc_size, malloc_size; /* the next allocation of this size fails */
static atomic_int calloc_hits, malloc_hits;
static const char *fail_sql; /* store_db_stmt fails for SQL containing this (loop thread) */
static int sql_hits;
static _Atomic uint64_t clock_skip_ms;

static bool
hit(int k)
{
    int c = atomic_load(&countdown[k]);
    if (c > 0) {
        atomic_store(&countdown[k], c - 1);
        if (c == 1) {
            atomic_fetch_add(&hits[k], 1);
            return true;
        }
    }
    return false;
}

static void
disarm(void)
{
    for (int k = 0; k < F_KINDS; k++) {
        atomic_store(&countdown[k], 0);
        atomic_store(&hits[k], 0);
    }
    atomic_store(&calloc_size, 0);
    atomic_store(&malloc_size, 0);
    atomic_store(&calloc_hits, 0);
    atomic_store(&malloc_hits, 0);
    fail_sql = NULL;
    sql_hits = 0;
}

int __real_uv_write(uv_write_t *req, uv_stream_t *h, const uv_buf_t bufs[], unsigned int n,
                    uv_write_cb cb);
int
__wrap_uv_write(uv_write_t *req, uv_stream_t *h, const uv_buf_t bufs[], unsigned int n,
                uv_write_cb cb)
{
    return hit(F_WRITE) ? UV_ENOBUFS : __real_uv_write(req, h, bufs, n, cb);
}

int __real_uv_accept(uv_stream_t *server, uv_stream_t *client);
int
__wrap_uv_accept(uv_stream_t *server, uv_stream_t *client)
{
    int rc = __real_uv_accept(server, client);
    /* taken from the kernel (so the listener goes on), then reported failed */
    return rc == 0 && hit(F_ACCEPT) ? UV_ECONNABORTED : rc;
}

int __real_uv_read_start(uv_stream_t *s, uv_alloc_cb a, uv_read_cb r);
int
__wrap_uv_read_start(uv_stream_t *s, uv_alloc_cb a, uv_read_cb r)
{
    return hit(F_READ_START) ? UV_ENOMEM : __real_uv_read_start(s, a, r);
}

int __real_uv_tcp_connect(uv_connect_t *req, uv_tcp_t *h, const struct sockaddr *sa,
                          uv_connect_cb cb);
int
__wrap_uv_tcp_connect(uv_connect_t *req, uv_tcp_t *h, const struct sockaddr *sa, uv_connect_cb cb)
{
    return hit(F_CONNECT) ? UV_ENETUNREACH : __real_uv_tcp_connect(req, h, sa, cb);
}

int __real_uv_getaddrinfo(uv_loop_t *loop, uv_getaddrinfo_t *req, uv_getaddrinfo_cb cb,
                          const char *node, const char *service, const struct addrinfo *hints);
int
__wrap_uv_getaddrinfo(uv_loop_t *loop, uv_getaddrinfo_t *req, uv_getaddrinfo_cb cb,
                      const char *node, const char *service, const struct addrinfo *hints)
{
    return hit(F_LOOKUP) ? UV_EAI_MEMORY
                         : __real_uv_getaddrinfo(loop, req, cb, node, service, hints);
}

uint64_t __real_uv_now(const uv_loop_t *loop);
uint64_t
__wrap_uv_now(const uv_loop_t *loop)
{
    return __real_uv_now(loop) + atomic_load(&clock_skip_ms);
}

op_err __real_store_db_stmt(store_db *db, const char *sql, sqlite3_stmt **out);
op_err
__wrap_store_db_stmt(store_db *db, const char *sql, sqlite3_stmt **out)
{
    if (fail_sql && strstr(sql, fail_sql)) {
        sql_hits++;
        *out = NULL;
        return OP_E_IO;
    }
    return __real_store_db_stmt(db, sql, out);
}

void *__real_calloc(size_t k, size_t n);
void *
__wrap_calloc(size_t k, size_t n)
{
    size_t want = atomic_load(&calloc_size);
    if (want && k * n == want && atomic_compare_exchange_strong(&calloc_size, &want, 0)) {
        atomic_fetch_add(&calloc_hits, 1);
        return NULL;
    }
    return __real_calloc(k, n);
}

void *__real_malloc(size_t n);
void *
__wrap_malloc(size_t n)
{
    size_t want = atomic_load(&malloc_size);
    if (want && n == want && atomic_compare_exchange_strong(&malloc_size, &want, 0)) {
        atomic_fetch_add(&malloc_hits, 1);
        return NULL;
    }
    return __real_malloc(n);
}

/* The agent's log lines, kept for the checks (and still printed). */
static char logbuf[1 << 18];
static size_t loglen;

void __wrap_agent_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void
__wrap_agent_log(const char *fmt, ...)
{
    char line[1200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(stderr, "outpostd: %s\n", line);
    size_t n = strlen(line);
    if (loglen + n + 2 < sizeof logbuf) {
        memcpy(logbuf + loglen, line, n);
        loglen += n;
        logbuf[loglen++] = '\n';
        logbuf[loglen] = '\0';
    }
}

static void
log_clear(void)
{
    loglen = 0;
    logbuf[0] = '\0';
}

static bool
logged(const char *text)
{
    return strstr(logbuf, text) != NULL;
}

static void
expect_logged(const char *text)
{
    if (!logged(text))
        fail_msg("the agent's log does not say '%s'", text);
}

/* ---- nodes ---- */

static char root[256];
static uint8_t netkey[PROTO_NETKEY_BYTES];
static int dirs_made;

static void
rm_rf(const char *path)
{
    DIR *d = opendir(path);
    struct dirent *de;
    char sub[700];
    if (!d) {
        unlink(path);
        return;
    }
    while ((de = readdir(d)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
            snprintf(sub, sizeof sub, "%s/%s", path, de->d_name);
            rm_rf(sub);
        }
    closedir(d);
    rmdir(path);
}

static int
setup(void **state)
{
    (void)state;
    snprintf(root, sizeof root, "/tmp/outpost-agentfault-XXXXXX");
    assert_non_null(mkdtemp(root));
    randombytes_buf(netkey, sizeof netkey);
    disarm();
    atomic_store(&clock_skip_ms, 0);
    log_clear();
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    disarm();
    atomic_store(&clock_skip_ms, 0);
    rm_rf(root);
    return 0;
}

/* A joined node (identity, store with `entries` check-ins, network key) in a new directory. */
static void
make_node(char *dir, size_t cap, int entries, uint8_t pk[32])
{
    char path[700];
    store_identity *id;
    store_db *db;
    store_reader *rd;
    snprintf(dir, cap, "%s/n%d", root, dirs_made++);
    assert_int_equal(mkdir(dir, 0700), 0);
    assert_int_equal(store_identity_create(dir, &id), OP_OK);
    snprintf(path, sizeof path, "%s/%s", dir, STORE_DB_FILE);
    assert_int_equal(store_db_open(path, STORE_OPEN_CREATE, &db), OP_OK);
    assert_int_equal(store_reader_new(id, &rd), OP_OK);
    for (int i = 0; i < entries; i++) {
        proto_body b;
        store_appended a;
        proto_body_init(&b, PROTO_KIND_CHECKIN);
        b.energy = 1 + (unsigned)i % 5;
        assert_int_equal(store_log_append(db, rd, id, &b, 1764000000000ull + (uint64_t)i, &a),
                         OP_OK);
        proto_body_fini(&b);
    }
    if (pk)
        memcpy(pk, id->pk, 32);
    store_reader_free(rd);
    store_db_close(db);
    store_identity_free(id);
    snprintf(path, sizeof path, "%s/network.key", dir);
    assert_int_equal(store_keyfile_write(path, netkey, sizeof netkey), OP_OK);
}

/* Runs sql on the node's store (closed meanwhile), blob bound to ?1 if given; the first column
 * of the first row as an integer, -1 if no row, -2 if NULL. */
static int64_t
node_sql(const char *dir, const char *sql, const uint8_t *blob)
{
    char path[700];
    store_db *db;
    sqlite3_stmt *st;
    int64_t v = -1;
    snprintf(path, sizeof path, "%s/%s", dir, STORE_DB_FILE);
    assert_int_equal(store_db_open(path, 0, &db), OP_OK);
    assert_int_equal(sqlite3_prepare_v2(store_db_handle(db), sql, -1, &st, NULL), SQLITE_OK);
    if (blob)
        sqlite3_bind_blob(st, 1, blob, 32, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_type(st, 0) == SQLITE_NULL ? -2 : sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    store_db_close(db);
    return v;
}

static uint64_t
head_of(const char *dir, const uint8_t author[32])
{
    char path[700];
    store_db *db;
    uint64_t head = 0;
    snprintf(path, sizeof path, "%s/%s", dir, STORE_DB_FILE);
    assert_int_equal(store_db_open(path, 0, &db), OP_OK);
    assert_int_equal(store_have_head(db, author, &head), OP_OK);
    store_db_close(db);
    return head;
}

static void
add_peer(const char *dir, int port)
{
    char sql[200];
    snprintf(sql, sizeof sql,
             "INSERT INTO peers(addr, added) VALUES('127.0.0.1:%d', 1) RETURNING 1", port);
    assert_int_equal(node_sql(dir, sql, NULL), 1);
}

/* ---- loops ---- */

static agent_node *watched[2];
static agent_node *cur_node; /* the node a poll hook watches */
static bool timed_out;
static void (*poll_hook)(void);
static agent_node *poll_client, *poll_server;

static void
on_watchdog(uv_timer_t *t)
{
    (void)t;
    timed_out = true;
    for (int i = 0; i < 2; i++)
        if (watched[i])
            agent_node_stop(watched[i], "watchdog");
}

static void
on_poll(uv_timer_t *t)
{
    (void)t;
    if (poll_hook)
        poll_hook();
    if (poll_client && poll_client->stopping && poll_server)
        agent_node_stop(poll_server, "the client is done");
}

/* Runs loop until the nodes stopped (30 s at most: a hang fails), with on_poll every 20 ms. */
static void
run_loop(uv_loop_t *loop, agent_node *a, agent_node *b)
{
    uv_timer_t dog, poll;
    timed_out = false;
    watched[0] = a;
    watched[1] = b;
    uv_timer_init(loop, &dog);
    uv_timer_start(&dog, on_watchdog, 30000, 0);
    uv_unref((uv_handle_t *)&dog);
    uv_timer_init(loop, &poll);
    uv_timer_start(&poll, on_poll, 20, 20);
    uv_unref((uv_handle_t *)&poll);
    uv_run(loop, UV_RUN_DEFAULT);
    uv_close((uv_handle_t *)&dog, NULL);
    uv_close((uv_handle_t *)&poll, NULL);
    uv_run(loop, UV_RUN_DEFAULT);
    watched[0] = watched[1] = NULL;
    poll_hook = NULL;
    assert_false(timed_out);
}

static int
listen_port(agent_node *n)
{
    struct sockaddr_storage ss;
    int len = sizeof ss;
    assert_int_equal(uv_tcp_getsockname(&n->listener, (struct sockaddr *)&ss, &len), 0);
    return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

/* A port on 127.0.0.1 nobody listens on. */
static int
free_port(void)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sa;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    close(fd);
    return ntohs(sa.sin_port);
}

typedef struct once_result {
    int done, failed;
    char why[1100];
} once_result;

/* `a` serves on 127.0.0.1:0; `b` syncs once with it: with its peers table when by_table (a's
 * address is put there), else with peer_fmt ("%d" = a's port). arm() runs between the two
 * starts. */
static once_result
sync_once(const char *adir, const char *bdir, const char *peer_fmt, bool by_table,
          void (*arm)(void))
{
    uv_loop_t loop;
    agent_node a, b;
    char peer[128];
    once_result res;
    assert_int_equal(uv_loop_init(&loop), 0);
    agent_options ao = {.dir = adir, .listen = "127.0.0.1:0"};
    assert_int_equal(agent_node_start(&a, &loop, &ao), OP_OK);
    int port = listen_port(&a);
    if (by_table) {
        OP_IGNORE(node_sql(bdir, "DELETE FROM peers", NULL)); /* no row */
        add_peer(bdir, port);
    }
    snprintf(peer, sizeof peer, peer_fmt ? peer_fmt : "-", port);
    agent_options bo = {.dir = bdir, .once = true, .once_peer = by_table ? NULL : peer};
    if (arm)
        arm();
    assert_int_equal(agent_node_start(&b, &loop, &bo), OP_OK);
    poll_client = &b;
    poll_server = &a;
    run_loop(&loop, &a, &b);
    poll_client = poll_server = NULL;
    res.done = b.once_done;
    res.failed = b.once_failed;
    snprintf(res.why, sizeof res.why, "%s", b.once_error);
    agent_node_fini(&a);
    agent_node_fini(&b);
    assert_int_equal(uv_loop_close(&loop), 0);
    return res;
}

/* After a fault: with nothing failing, a sync carries everything both ways. */
static void
clean_sync_converges(const char *adir, const uint8_t apk[32], int an, const char *bdir,
                     const uint8_t bpk[32], int bn)
{
    disarm();
    once_result r = sync_once(adir, bdir, "127.0.0.1:%d", false, NULL);
    if (r.done != 1)
        fail_msg("the clean sync after the fault failed: %s", r.why);
    assert_int_equal(head_of(bdir, apk), (uint64_t)an + 1); /* check-ins and the key entry */
    assert_int_equal(head_of(adir, bpk), (uint64_t)bn + 1);
}

/* ---- every write failing in turn ---- */

static int write_n;
static void
arm_write(void)
{
    log_clear();
    atomic_store(&countdown[F_WRITE], write_n);
}

static void
test_each_write_fails(void **state)
{
    (void)state;
    int runs = 0;
    for (write_n = 1; write_n < 200; write_n++) {
        char adir[600], bdir[600];
        uint8_t apk[32], bpk[32];
        make_node(adir, sizeof adir, 3, apk);
        make_node(bdir, sizeof bdir, 2, bpk);
        once_result r = sync_once(adir, bdir, "127.0.0.1:%d", false, arm_write);
        int nhits = atomic_load(&hits[F_WRITE]);
        disarm();
        if (nhits == 0) {
            assert_int_equal(r.done, 1); /* no write left to fail: the sweep is over */
            break;
        }
        runs++;
        if (logged("peer sent bad data"))
            fail_msg("write %d failed: blamed on the peer", write_n);
        assert_int_equal(r.done + r.failed, 1);
        if (r.failed)
            expect_logged("write failed: ");
        clean_sync_converges(adir, apk, 3, bdir, bpk, 2);
    }
    printf("%d syncs, each with one write failing\n", runs);
    assert_true(runs >= 10);
}

/* ---- libuv refusing a connect, a lookup, a read or an accept ---- */

static void
arm_connect(void)
{
    atomic_store(&countdown[F_CONNECT], 1);
}
static void
arm_lookup(void)
{
    atomic_store(&countdown[F_LOOKUP], 1);
}
static void
arm_read_start(void)
{
    atomic_store(&countdown[F_READ_START], 1);
}
static void
arm_accept(void)
{
    atomic_store(&countdown[F_ACCEPT], 1);
}
static void
arm_conn_alloc(void)
{
    atomic_store(&calloc_size, sizeof(agent_conn));
}

/* The size of conn.c's resolve_req (a name lookup): its allocation is made to fail. */
struct resolve_twin {
    uv_getaddrinfo_t req;
    agent_conn *c;
};
static size_t alloc_size_to_fail;
static void
arm_malloc(void)
{
    atomic_store(&malloc_size, alloc_size_to_fail);
}

static void
test_libuv_refusals(void **state)
{
    char adir[600], bdir[600];
    uint8_t apk[32], bpk[32];
    once_result r;
    (void)state;
    make_node(adir, sizeof adir, 2, apk);
    make_node(bdir, sizeof bdir, 1, bpk);

    r = sync_once(adir, bdir, "127.0.0.1:%d", false, arm_connect);
    assert_int_equal(atomic_load(&hits[F_CONNECT]), 1);
    assert_int_equal(r.failed, 1);
    assert_non_null(strstr(r.why, "cannot connect to 127.0.0.1:"));
    assert_non_null(strstr(r.why, uv_strerror(UV_ENETUNREACH)));

    r = sync_once(adir, bdir, "localhost:%d", false, arm_lookup);
    assert_int_equal(atomic_load(&hits[F_LOOKUP]), 1);
    assert_int_equal(r.failed, 1);
    assert_non_null(strstr(r.why, "cannot look up localhost"));

    /* the first read start is the dialler's or the server's, whichever event comes first */
    log_clear();
    r = sync_once(adir, bdir, "127.0.0.1:%d", false, arm_read_start);
    assert_int_equal(atomic_load(&hits[F_READ_START]), 1);
    assert_int_equal(r.failed, 1);
    if (!logged("handshake: I/O error (IO)") && !logged("accept: I/O error (IO)"))
        fail_msg("no node says its read could not start");

    log_clear();
    r = sync_once(adir, bdir, "127.0.0.1:%d", false, arm_accept);
    assert_int_equal(atomic_load(&hits[F_ACCEPT]), 1);
    assert_int_equal(r.failed, 1);
    expect_logged("accept failed");
    assert_non_null(strstr(r.why, "handshake refused by the peer"));

    /* No memory for the conn: --once says so and ends (it waited for ever before). */
    log_clear();
    r = sync_once(adir, bdir, "127.0.0.1:%d", false, arm_conn_alloc);
    assert_int_equal(atomic_load(&calloc_hits), 1);
    assert_int_equal(r.failed, 1);
    assert_non_null(strstr(r.why, "out of memory"));
    expect_logged("no link to 127.0.0.1:");

    /* the same through the peers table */
    r = sync_once(adir, bdir, NULL, true, arm_conn_alloc);
    assert_int_equal(r.failed, 1);
    assert_non_null(strstr(r.why, "out of memory"));

    /* no memory for the connect request, the name lookup's, or a read buffer */
    static const struct {
        size_t size;
        const char *peer, *want;
    } allocs[] = {
        {sizeof(uv_connect_t), "127.0.0.1:%d", "out of memory"},
        {sizeof(struct resolve_twin), "localhost:%d", "out of memory"},
        {65536, "127.0.0.1:%d", "read failed: "}, /* READ_CHUNK in conn.c */
    };
    for (size_t i = 0; i < sizeof allocs / sizeof allocs[0]; i++) {
        log_clear();
        alloc_size_to_fail = allocs[i].size;
        r = sync_once(adir, bdir, allocs[i].peer, false, arm_malloc);
        assert_int_equal(atomic_load(&malloc_hits), 1);
        atomic_store(&malloc_hits, 0);
        assert_int_equal(r.failed, 1);
        if (!strstr(r.why, allocs[i].want) && !logged(allocs[i].want))
            fail_msg("allocation of %zu bytes failed: '%s' is not said", allocs[i].size,
                     allocs[i].want);
    }

    assert_int_equal(head_of(bdir, apk), 0); /* nothing got through */
    clean_sync_converges(adir, apk, 2, bdir, bpk, 1);
}

/* ---- bookkeeping statements that fail ---- */

static const char *arm_sql_text;
static void
arm_sql(void)
{
    log_clear();
    fail_sql = arm_sql_text;
}

static once_result
sync_with_failing_sql(const char *sql, char *adir, char *bdir, uint8_t apk[32], uint8_t bpk[32])
{
    make_node(adir, 600, 3, apk);
    make_node(bdir, 600, 2, bpk);
    arm_sql_text = sql;
    once_result r = sync_once(adir, bdir, NULL, true, arm_sql);
    if (sql_hits == 0)
        fail_msg("no statement with '%s' ran", sql);
    disarm();
    return r;
}

static void
test_bookkeeping_failures(void **state)
{
    char adir[600], bdir[600];
    uint8_t apk[32], bpk[32];
    once_result r;
    (void)state;

    /* the dial's timestamp: the sync goes on without it */
    r = sync_with_failing_sql("UPDATE peers SET last_attempt", adir, bdir, apk, bpk);
    assert_int_equal(r.done, 1);
    assert_int_equal(head_of(bdir, apk), 4);
    assert_int_equal(node_sql(bdir, "SELECT last_attempt FROM peers", NULL), -2);
    assert_true(node_sql(bdir, "SELECT count(*) FROM peers WHERE key IS NOT NULL", NULL) == 1);

    /* the link's row (status): none, and the sync is whole */
    r = sync_with_failing_sql("INSERT INTO links", adir, bdir, apk, bpk);
    assert_int_equal(r.done, 1);
    assert_int_equal(head_of(bdir, apk), 4);
    assert_int_equal(head_of(adir, bpk), 3);
    assert_int_equal(node_sql(bdir, "SELECT count(*) FROM links", NULL), 0);
    assert_int_equal(node_sql(adir, "SELECT count(*) FROM links", NULL), 0);

    /* pinning the key on first contact: the peer stays unpinned */
    r = sync_with_failing_sql("UPDATE peers SET key", adir, bdir, apk, bpk);
    assert_int_equal(r.done, 1);
    assert_int_equal(node_sql(bdir, "SELECT count(*) FROM peers WHERE key IS NULL", NULL), 1);

    /* the acks: said in the log, none recorded, entries all there */
    r = sync_with_failing_sql("INSERT INTO acks", adir, bdir, apk, bpk);
    assert_int_equal(r.done, 1);
    expect_logged("recording acks failed (they come again): I/O error (IO)");
    assert_int_equal(node_sql(adir, "SELECT count(*) FROM acks", NULL), 0);
    assert_int_equal(node_sql(bdir, "SELECT count(*) FROM acks", NULL), 0);
    assert_int_equal(head_of(bdir, apk), 4);

    /* the revocation lookup: fail closed, nothing synced, and said */
    r = sync_with_failing_sql("FROM members WHERE key = ? AND revoked_after", adir, bdir, apk, bpk);
    assert_int_equal(r.failed, 1);
    expect_logged("refused: cannot tell whether its key is revoked: I/O error (IO)");
    assert_int_equal(head_of(bdir, apk), 0);
    assert_int_equal(head_of(adir, bpk), 0);
    clean_sync_converges(adir, apk, 3, bdir, bpk, 2);
}

/* The backoff's bookkeeping after a failed dial, and the --once peer list. */
static void
test_failed_dial_bookkeeping(void **state)
{
    char dir[600];
    uv_loop_t loop;
    agent_node n;
    (void)state;
    make_node(dir, sizeof dir, 1, NULL);
    add_peer(dir, free_port());

    /* the failure count cannot be read: counted from 0, still recorded */
    fail_sql = "SELECT fails FROM peers";
    agent_options o = {.dir = dir, .once = true};
    assert_int_equal(uv_loop_init(&loop), 0);
    assert_int_equal(agent_node_start(&n, &loop, &o), OP_OK);
    run_loop(&loop, &n, NULL);
    assert_int_equal(n.once_failed, 1);
    assert_non_null(strstr(n.once_error, "cannot connect"));
    agent_node_fini(&n);
    assert_int_equal(uv_loop_close(&loop), 0);
    assert_true(sql_hits >= 1);
    assert_int_equal(node_sql(dir, "SELECT fails FROM peers", NULL), 1);

    /* the failure cannot be recorded: --once still says why */
    fail_sql = "SET last_error = ?4";
    sql_hits = 0;
    assert_int_equal(uv_loop_init(&loop), 0);
    assert_int_equal(agent_node_start(&n, &loop, &o), OP_OK);
    run_loop(&loop, &n, NULL);
    assert_int_equal(n.once_failed, 1);
    assert_non_null(strstr(n.once_error, "cannot connect"));
    agent_node_fini(&n);
    assert_int_equal(uv_loop_close(&loop), 0);
    assert_true(sql_hits >= 1);
    assert_int_equal(node_sql(dir, "SELECT fails FROM peers", NULL), 1); /* not 2 */

    /* the peer list cannot be read: start-up fails with the store's code */
    fail_sql = "SELECT addr, key FROM peers WHERE ?1 IS NULL";
    assert_int_equal(uv_loop_init(&loop), 0);
    assert_int_equal(agent_node_start(&n, &loop, &o), OP_E_IO);
    agent_node_stop(&n, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    agent_node_fini(&n);
    assert_int_equal(uv_loop_close(&loop), 0);
    disarm();
}

/* A quota lookup that fails while a non-member's run comes in: the session ends as this node's
 * failure, not as bad data from the peer, and nothing of the run is stored. */
static void
arm_quota(void)
{
    log_clear();
    fail_sql = "SELECT EXISTS (SELECT 1 FROM members WHERE key = ?1)";
}

static void
test_quota_lookup_fails(void **state)
{
    char adir[600], bdir[600];
    uint8_t apk[32], bpk[32], office[32];
    (void)state;
    make_node(adir, sizeof adir, 3, apk);
    make_node(bdir, sizeof bdir, 0, bpk);
    randombytes_buf(office, sizeof office); /* b knows an office: a is no member of it */
    assert_int_equal(
        node_sql(bdir, "INSERT INTO meta(k, v) VALUES('office_key', ?1) RETURNING 1", office), 1);
    once_result r = sync_once(adir, bdir, "127.0.0.1:%d", false, arm_quota);
    assert_true(sql_hits >= 1);
    disarm();
    assert_int_equal(r.failed, 1);
    expect_logged("storing what the peer sent failed: I/O error (IO)");
    if (logged("peer sent bad data"))
        fail_msg("a local failure was blamed on the peer");
    assert_int_equal(head_of(bdir, apk), 0);
    /* a's 4 entries are within the quota: a clean sync stores them */
    once_result ok = sync_once(adir, bdir, "127.0.0.1:%d", false, NULL);
    assert_int_equal(ok.done, 1);
    assert_int_equal(head_of(bdir, apk), 4);
}

/* ---- connections the node has no memory for ---- */

/* a serves; b1 syncs once while a cannot allocate the conn for it; then b2 syncs once. */
static agent_node *seq_a, *seq_b2;
static const char *seq_b2_dir;
static int seq_port, seq_phase;
static once_result seq_r1, seq_r2;
static agent_node *seq_b1;

static void
seq_poll(void)
{
    if (seq_phase == 0 && seq_b1->stopping) {
        seq_r1.failed = seq_b1->once_failed;
        snprintf(seq_r1.why, sizeof seq_r1.why, "%s", seq_b1->once_error);
        static char peer[64]; /* the node keeps the pointer */
        snprintf(peer, sizeof peer, "127.0.0.1:%d", seq_port);
        agent_options o = {.dir = seq_b2_dir, .once = true, .once_peer = peer};
        assert_int_equal(agent_node_start(seq_b2, seq_a->loop, &o), OP_OK);
        seq_phase = 1;
    } else if (seq_phase == 1 && seq_b2->stopping) {
        seq_r2.done = seq_b2->once_done;
        snprintf(seq_r2.why, sizeof seq_r2.why, "%s", seq_b2->once_error);
        agent_node_stop(seq_a, "test done");
        seq_phase = 2;
    }
}

static void
test_peer_without_memory_is_closed(void **state)
{
    char adir[600], b1dir[600], b2dir[600], peer[64];
    uint8_t apk[32];
    uv_loop_t loop;
    agent_node a, b1, b2;
    (void)state;
    make_node(adir, sizeof adir, 2, apk);
    make_node(b1dir, sizeof b1dir, 0, NULL);
    make_node(b2dir, sizeof b2dir, 0, NULL);
    assert_int_equal(uv_loop_init(&loop), 0);
    agent_options ao = {.dir = adir, .listen = "127.0.0.1:0"};
    assert_int_equal(agent_node_start(&a, &loop, &ao), OP_OK);
    seq_port = listen_port(&a);
    snprintf(peer, sizeof peer, "127.0.0.1:%d", seq_port);
    agent_options bo = {.dir = b1dir, .once = true, .once_peer = peer};
    assert_int_equal(agent_node_start(&b1, &loop, &bo), OP_OK);
    atomic_store(&calloc_size, sizeof(agent_conn)); /* b1's conn exists: a's will fail */
    seq_a = &a;
    seq_b1 = &b1;
    seq_b2 = &b2;
    seq_b2_dir = b2dir;
    seq_phase = 0;
    memset(&seq_r1, 0, sizeof seq_r1);
    memset(&seq_r2, 0, sizeof seq_r2);
    log_clear();
    poll_hook = seq_poll;
    run_loop(&loop, &a, &b1);
    agent_node_fini(&a);
    agent_node_fini(&b1);
    if (seq_phase >= 1)
        agent_node_fini(&b2);
    assert_int_equal(uv_loop_close(&loop), 0);
    assert_int_equal(atomic_load(&calloc_hits), 1);
    assert_int_equal(seq_phase, 2);
    expect_logged("closed a new peer connection: out of memory");
    assert_int_equal(seq_r1.failed, 1);
    assert_non_null(strstr(seq_r1.why, "handshake refused by the peer"));
    /* the listener still takes connections */
    if (seq_r2.done != 1)
        fail_msg("the next peer was not served: %s", seq_r2.why);
    assert_int_equal(head_of(b2dir, apk), 3);
}

/* node.c's ctl_client, whose allocation is made to fail. */
struct ctl_client_twin {
    uv_pipe_t pipe;
    agent_node *n;
    char line[128];
    size_t len;
};

typedef struct ctl_script {
    const char *path;
    char replies[8][64];
} ctl_script;

static void
ctl_one(const char *path, const char *line, char *reply, size_t cap)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    struct timeval tv = {.tv_sec = 5}; /* a connection never taken shows as no reply */
    reply[0] = '\0';
    if (strlen(path) >= sizeof sa.sun_path)
        return;
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0)
        return;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
        write(fd, line, strlen(line)) == (ssize_t)strlen(line)) {
        size_t got = 0;
        ssize_t k;
        while (got < cap - 1 && (k = read(fd, reply + got, cap - 1 - got)) > 0)
            got += (size_t)k;
        reply[got] = '\0';
    }
    close(fd);
}

static void *
ctl_thread(void *arg)
{
    ctl_script *cs = arg;
    int i = 0;
    atomic_store(&calloc_size, sizeof(struct ctl_client_twin));
    ctl_one(cs->path, "nudge\n", cs->replies[i++], sizeof cs->replies[0]); /* no memory */
    ctl_one(cs->path, "nudge\n", cs->replies[i++], sizeof cs->replies[0]); /* answered */
    atomic_store(&countdown[F_WRITE], 1);
    ctl_one(cs->path, "nudge\n", cs->replies[i++], sizeof cs->replies[0]); /* reply not sent */
    atomic_store(&countdown[F_READ_START], 1);
    ctl_one(cs->path, "nudge\n", cs->replies[i++], sizeof cs->replies[0]); /* not read */
    atomic_store(&countdown[F_ACCEPT], 1);
    ctl_one(cs->path, "nudge\n", cs->replies[i++], sizeof cs->replies[0]); /* accept failed */
    ctl_one(cs->path, "stop\n", cs->replies[i++], sizeof cs->replies[0]);
    return NULL;
}

static void
test_control_socket_faults(void **state)
{
    char dir[600], sock[700];
    uv_loop_t loop;
    agent_node n;
    pthread_t th;
    (void)state;
    make_node(dir, sizeof dir, 1, NULL);
    snprintf(sock, sizeof sock, "%s/%s", dir, AGENT_CTL_SOCKET);
    agent_options o = {.dir = dir, .listen = ""};
    assert_int_equal(uv_loop_init(&loop), 0);
    assert_int_equal(agent_node_start(&n, &loop, &o), OP_OK);
    ctl_script cs = {.path = sock};
    log_clear();
    assert_int_equal(pthread_create(&th, NULL, ctl_thread, &cs), 0);
    run_loop(&loop, &n, NULL);
    assert_int_equal(pthread_join(th, NULL), 0);
    agent_node_fini(&n);
    assert_int_equal(uv_loop_close(&loop), 0);
    assert_int_equal(atomic_load(&calloc_hits), 1);
    assert_int_equal(atomic_load(&hits[F_WRITE]), 1);
    assert_int_equal(atomic_load(&hits[F_READ_START]), 1);
    assert_int_equal(atomic_load(&hits[F_ACCEPT]), 1);
    expect_logged("closed a new control connection: out of memory");
    static const char *const want[] = {"", "ok\n", "", "", "", "ok\n"};
    for (int i = 0; i < 6; i++)
        if (strcmp(cs.replies[i], want[i]) != 0)
            fail_msg("control command %d: reply '%s', want '%s'", i, cs.replies[i], want[i]);
    assert_true(n.stopping);
}

/* ---- the office's duties when the store fails ---- */

static char off_dir[600];
static uint8_t off_pk[32];
static uint64_t off_head0;
static int off_step;
static agent_node *off_node;

static void
office_poll(void)
{
    switch (off_step) {
    case 0: /* the receipt's query failed: now its heads cannot be allocated */
        if (sql_hits == 0)
            return;
        fail_sql = NULL;
        atomic_store(&calloc_size, PROTO_RECEIPT_MAX_HEADS * sizeof(proto_receipt_head));
        break;
    case 1: /* then the append of the receipt fails */
        if (atomic_load(&calloc_hits) == 0)
            return;
        fail_sql = "INSERT INTO entries";
        break;
    case 2: /* then admitting fails, and the receipt goes through */
        if (!logged("writing a receipt failed: "))
            return;
        fail_sql = "FROM joins j";
        break;
    case 3:
        if (!logged("admitting members failed: ") || head_of(off_dir, off_pk) != off_head0 + 1)
            return;
        fail_sql = NULL;
        agent_node_stop(off_node, "test done");
        break;
    default:
        return;
    }
    off_step++;
    atomic_fetch_add(&clock_skip_ms, AGENT_RECEIPT_EVERY_MS + 500); /* the next receipt is due */
}

static void
test_office_duties_when_the_store_fails(void **state)
{
    char wdir[600];
    uint8_t wpk[32];
    uv_loop_t loop;
    agent_node n;
    (void)state;
    make_node(off_dir, sizeof off_dir, 1, off_pk);
    make_node(wdir, sizeof wdir, 2, wpk);
    once_result r = sync_once(off_dir, wdir, "127.0.0.1:%d", false, NULL);
    assert_int_equal(r.done, 1);
    /* now the office of its team */
    assert_int_equal(node_sql(off_dir,
                              "INSERT OR REPLACE INTO meta(k, v) VALUES('office_key', ?1)"
                              " RETURNING 1",
                              off_pk),
                     1);
    assert_int_equal(node_sql(off_dir,
                              "INSERT OR REPLACE INTO meta(k, v) VALUES('role', 'office')"
                              " RETURNING 1",
                              NULL),
                     1);
    off_head0 = head_of(off_dir, off_pk);
    assert_int_equal(head_of(off_dir, wpk), 3);
    log_clear();
    fail_sql = "SELECT a.key, a.head_seq FROM authors";
    off_step = 0;
    agent_options o = {.dir = off_dir, .listen = ""};
    assert_int_equal(uv_loop_init(&loop), 0);
    assert_int_equal(agent_node_start(&n, &loop, &o), OP_OK);
    off_node = &n;
    poll_hook = office_poll;
    run_loop(&loop, &n, NULL);
    agent_node_fini(&n);
    assert_int_equal(uv_loop_close(&loop), 0);
    atomic_store(&clock_skip_ms, 0);
    assert_int_equal(off_step, 4);
    expect_logged("writing a receipt failed: I/O error (IO)");
    expect_logged("admitting members failed: I/O error (IO)");
    /* one receipt, written once the store worked; it covers the worker's log */
    assert_int_equal(head_of(off_dir, off_pk), off_head0 + 1);
    assert_int_equal(node_sql(off_dir, "SELECT count(*) FROM acks WHERE peer = ?1", off_pk), 1);
}

/* ---- the cap on connections waiting for their handshake (C18) ---- */

typedef struct flood {
    int port;
    atomic_int stage; /* 1: the node holds the first AGENT_HANDSHAKES_PER_ADDR; 9: done */
    bool over_refused, other_kept;
    char fail[200];
} flood;

static int
flood_connect(int port, const char *from)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    struct sockaddr_in src = {.sin_family = AF_INET};
    struct timeval tv = {.tv_sec = 5};
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    inet_pton(AF_INET, from, &src.sin_addr);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (bind(fd, (struct sockaddr *)&src, sizeof src) != 0 ||
        connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static void *
flood_thread(void *arg)
{
    flood *fl = arg;
    static int fds[AGENT_HANDSHAKES_PER_ADDR];
    int k = 0, over = -1, other = -1;
    char b;
    for (; k < AGENT_HANDSHAKES_PER_ADDR; k++)
        if ((fds[k] = flood_connect(fl->port, "127.0.0.1")) < 0) {
            snprintf(fl->fail, sizeof fl->fail, "connection %d: %s", k, strerror(errno));
            goto out;
        }
    while (atomic_load(&fl->stage) != 1) /* the node has taken them all */
        usleep(10000);
    /* one more from the same address: closed at once, before a byte is read */
    if ((over = flood_connect(fl->port, "127.0.0.1")) < 0 ||
        (other = flood_connect(fl->port, "127.0.0.2")) < 0) {
        snprintf(fl->fail, sizeof fl->fail, "the last connections: %s", strerror(errno));
        goto out;
    }
    fl->over_refused = read(over, &b, 1) == 0;
    /* from another address: kept (it waits for our handshake message) */
    struct timeval tv = {.tv_usec = 300000};
    setsockopt(other, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    fl->other_kept = read(other, &b, 1) < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
out:
    for (int i = 0; i < k; i++)
        close(fds[i]);
    if (over >= 0)
        close(over);
    if (other >= 0)
        close(other);
    atomic_store(&fl->stage, 9);
    return NULL;
}

static flood *cur_flood;

static void
flood_poll(void)
{
    int waiting = 0;
    for (agent_conn *c = cur_node->conns; c; c = c->next)
        waiting += c->state == CONN_HANDSHAKE;
    if (atomic_load(&cur_flood->stage) == 0 && waiting == AGENT_HANDSHAKES_PER_ADDR)
        atomic_store(&cur_flood->stage, 1);
    else if (atomic_load(&cur_flood->stage) == 9 && !cur_node->conns)
        agent_node_stop(cur_node, "test done");
}

static void
test_handshake_cap_per_address(void **state)
{
    char dir[600], want[200];
    uv_loop_t loop;
    agent_node n;
    pthread_t th;
    flood fl = {0};
    (void)state;
    int probe = flood_connect(9, "127.0.0.2"); /* is 127.0.0.2 usable as a source here? */
    if (probe < 0 && errno == EADDRNOTAVAIL)
        skip();
    if (probe >= 0)
        close(probe);
    make_node(dir, sizeof dir, 1, NULL);
    agent_options o = {.dir = dir, .listen = "127.0.0.1:0"};
    assert_int_equal(uv_loop_init(&loop), 0);
    assert_int_equal(agent_node_start(&n, &loop, &o), OP_OK);
    fl.port = listen_port(&n);
    cur_node = &n;
    cur_flood = &fl;
    poll_hook = flood_poll;
    log_clear();
    assert_int_equal(pthread_create(&th, NULL, flood_thread, &fl), 0);
    run_loop(&loop, &n, NULL);
    assert_int_equal(pthread_join(th, NULL), 0);
    agent_node_fini(&n);
    assert_int_equal(uv_loop_close(&loop), 0);
    if (fl.fail[0])
        fail_msg("%s", fl.fail);
    assert_true(fl.over_refused);
    assert_true(fl.other_kept);
    snprintf(want, sizeof want, "refused: %s (OVERLOAD)", op_strerror(OP_E_OVERLOAD));
    expect_logged(want);
    assert_int_equal(strstr(strstr(logbuf, want) + 1, want), NULL); /* once */
}

/* ---- a scripted peer ---- */

enum { S_SPLIT_HEADER_TOOBIG, S_GARBAGE_FRAME, S_RESET_LIVE, S_RESET_HANDSHAKE, S_SILENT };

typedef struct script {
    int kind, port;
    uint8_t node_pk[32];
    store_identity *id;
    atomic_int stage; /* S_SILENT: 1 = live and idle, 2 = PING seen; 9 = done */
    char fail[200];
} script;

static bool
sp_write(int fd, const void *p, size_t n)
{
    const uint8_t *b = p;
    while (n > 0) {
        ssize_t k = write(fd, b, n);
        if (k <= 0)
            return false;
        b += k;
        n -= (size_t)k;
    }
    return true;
}

static bool
sp_read(int fd, void *p, size_t n)
{
    uint8_t *b = p;
    while (n > 0) {
        ssize_t k = read(fd, b, n);
        if (k <= 0)
            return false;
        b += k;
        n -= (size_t)k;
    }
    return true;
}

/* Reads one frame from the node; its message into msg. 1, or 0 at EOF or a failure. */
static int
sp_read_msg(int fd, proto_stream *rx, uint8_t *msg, size_t *mlen, bool *final)
{
    static uint8_t frame[PROTO_FRAME_MAX_BYTES + PROTO_FRAME_OVERHEAD];
    size_t flen;
    if (!sp_read(fd, frame, 4) || proto_frame_peek(frame, 4, &flen) != OP_E_TRUNCATED)
        return 0;
    uint32_t len =
        (uint32_t)frame[0] << 24 | (uint32_t)frame[1] << 16 | (uint32_t)frame[2] << 8 | frame[3];
    if (len > sizeof frame - 4 || !sp_read(fd, frame + 4, len) ||
        proto_stream_open(rx, frame, 4 + len, msg, PROTO_FRAME_MAX_BYTES, mlen, final) != OP_OK)
        return 0;
    return 1;
}

static bool
sp_send_msg(int fd, proto_stream *tx, const uint8_t *msg, size_t n, bool final)
{
    uint8_t frame[4096];
    size_t len;
    return proto_stream_seal(tx, msg, n, final, frame, sizeof frame, &len) == OP_OK &&
           sp_write(fd, frame, len);
}

static void
sp_reset(int fd)
{
    struct linger l = {.l_onoff = 1, .l_linger = 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    close(fd);
}

/* The initiator's handshake, then the stream headers (ours split in two writes if split). */
static bool
sp_handshake(script *sc, int fd, bool split, proto_stream *tx, proto_stream *rx)
{
    proto_hs *hs;
    proto_hs_result res;
    uint8_t m[PROTO_HS_MSG2_BYTES], hdr[PROTO_FRAME_HEADER_BYTES];
    size_t n;
    bool ok = false;
    if (proto_hs_new(true, netkey, sc->id->sk, sc->node_pk, &hs) != OP_OK)
        return false;
    if (proto_hs_write(hs, m, sizeof m, &n) != OP_OK || !sp_write(fd, m, n))
        goto out;
    n = proto_hs_want(hs);
    if (!sp_read(fd, m, n) || proto_hs_read(hs, m, n) != OP_OK)
        goto out;
    if (proto_hs_write(hs, m, sizeof m, &n) != OP_OK || !sp_write(fd, m, n) || !proto_hs_done(hs) ||
        proto_hs_get(hs, &res) != OP_OK)
        goto out;
    if (proto_stream_push_init(tx, res.tx, hdr) != OP_OK)
        goto out;
    if (split) {
        if (!sp_write(fd, hdr, 10))
            goto out;
        usleep(100000); /* the node reads the first part alone */
        ok = sp_write(fd, hdr + 10, sizeof hdr - 10);
    } else {
        ok = sp_write(fd, hdr, sizeof hdr);
    }
    ok = ok && sp_read(fd, hdr, sizeof hdr) && proto_stream_pull_init(rx, res.rx, hdr) == OP_OK;
    sodium_memzero(&res, sizeof res);
out:
    proto_hs_free(hs);
    return ok;
}

static void *
script_thread(void *arg)
{
    script *sc = arg;
    static uint8_t msg[PROTO_FRAME_MAX_BYTES];
    proto_stream tx, rx;
    size_t mlen;
    bool final;
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
                             .sin_port = htons((uint16_t)sc->port)};
    struct timeval tv = {.tv_sec = 20};
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        snprintf(sc->fail, sizeof sc->fail, "connect: %s", strerror(errno));
        goto out;
    }
    if (sc->kind == S_RESET_HANDSHAKE) {
        uint8_t part[10] = {0};
        sp_write(fd, part, sizeof part); /* a start of a first message */
        usleep(100000);
        sp_reset(fd);
        fd = -1;
        goto out;
    }
    if (!sp_handshake(sc, fd, sc->kind == S_SPLIT_HEADER_TOOBIG, &tx, &rx)) {
        snprintf(sc->fail, sizeof sc->fail, "the handshake failed");
        goto out;
    }
    switch (sc->kind) {
    case S_SPLIT_HEADER_TOOBIG: {
        uint8_t prefix[8] = {0x7f, 0xff, 0xff, 0xff}; /* a frame of 2 GiB */
        sp_write(fd, prefix, sizeof prefix);
        break;
    }
    case S_GARBAGE_FRAME: {
        uint8_t frame[4 + 40] = {0, 0, 0, 40};
        randombytes_buf(frame + 4, 40);
        sp_write(fd, frame, sizeof frame);
        break;
    }
    case S_RESET_LIVE:
    case S_SILENT: {
        /* the node's HELLO first: it is live */
        if (!sp_read_msg(fd, &rx, msg, &mlen, &final)) {
            snprintf(sc->fail, sizeof sc->fail, "no HELLO from the node");
            goto out;
        }
        if (sc->kind == S_RESET_LIVE) {
            uint8_t hello[256], rootv[PROTO_ROOT_BYTES];
            proto_wbuf w;
            randombytes_buf(rootv, sizeof rootv);
            proto_wbuf_init(&w, hello, sizeof hello);
            if (proto_msg_hello(&w, rootv, 1, 1764000000000ull) != OP_OK ||
                !sp_send_msg(fd, &tx, hello, w.len, false))
                snprintf(sc->fail, sizeof sc->fail, "cannot send HELLO");
            usleep(100000);
            sp_reset(fd);
            fd = -1;
            goto out;
        }
        atomic_store(&sc->stage, 1); /* the main thread moves the node's clock 6 s on */
        for (;;) {
            proto_msg m;
            if (!sp_read_msg(fd, &rx, msg, &mlen, &final)) {
                snprintf(sc->fail, sizeof sc->fail, "the link ended before a PING");
                goto out;
            }
            bool ping = proto_msg_decode(msg, mlen, &m) == OP_OK && m.type == PROTO_MSG_PING;
            proto_msg_free(&m);
            if (ping)
                break;
        }
        atomic_store(&sc->stage, 2); /* and then 30 s more */
        break;
    }
    }
    /* until the node closes (a read timeout would show as a failure of the test) */
    while (sp_read_msg(fd, &rx, msg, &mlen, &final))
        ;
out:
    if (fd >= 0)
        close(fd);
    atomic_store(&sc->stage, 9);
    return NULL;
}

static script *cur_script;

static void
script_poll(void)
{
    int st = atomic_load(&cur_script->stage);
    if (st == 1 && atomic_load(&clock_skip_ms) == 0)
        atomic_store(&clock_skip_ms, AGENT_KEEPALIVE_MS / 2 + 1000);
    else if (st == 2 && atomic_load(&clock_skip_ms) < AGENT_DEAD_AFTER_MS)
        atomic_store(&clock_skip_ms, AGENT_DEAD_AFTER_MS + 2000);
    else if (st == 9 && !cur_node->conns)
        agent_node_stop(cur_node, "script done");
}

static void
run_script(const char *dir, const uint8_t pk[32], store_identity *peer_id, int kind,
           const char *want)
{
    uv_loop_t loop;
    agent_node n;
    pthread_t th;
    script sc = {.kind = kind, .id = peer_id};
    memcpy(sc.node_pk, pk, 32);
    log_clear();
    atomic_store(&clock_skip_ms, 0);
    assert_int_equal(uv_loop_init(&loop), 0);
    agent_options o = {.dir = dir, .listen = "127.0.0.1:0"};
    assert_int_equal(agent_node_start(&n, &loop, &o), OP_OK);
    sc.port = listen_port(&n);
    cur_script = &sc;
    cur_node = &n;
    poll_hook = script_poll;
    assert_int_equal(pthread_create(&th, NULL, script_thread, &sc), 0);
    run_loop(&loop, &n, NULL);
    assert_int_equal(pthread_join(th, NULL), 0);
    agent_node_fini(&n);
    assert_int_equal(uv_loop_close(&loop), 0);
    atomic_store(&clock_skip_ms, 0);
    if (sc.fail[0])
        fail_msg("scripted peer %d: %s", kind, sc.fail);
    expect_logged(want);
}

static void
test_scripted_peers(void **state)
{
    char dir[600], pdir[600];
    uint8_t pk[32];
    store_identity *pid;
    (void)state;
    make_node(dir, sizeof dir, 2, pk);
    snprintf(pdir, sizeof pdir, "%s/peer", root);
    assert_int_equal(mkdir(pdir, 0700), 0);
    assert_int_equal(store_identity_create(pdir, &pid), OP_OK);

    run_script(dir, pk, pid, S_SPLIT_HEADER_TOOBIG, "bad frame: ");
    expect_logged("(TOOBIG)");
    run_script(dir, pk, pid, S_GARBAGE_FRAME, "frame did not authenticate: ");
    run_script(dir, pk, pid, S_RESET_LIVE,
               "connection cut before goodbye (TRUNCATED); what arrived whole is kept (read "
               "failed: ");
    run_script(dir, pk, pid, S_RESET_HANDSHAKE, ": read failed: ");
    run_script(dir, pk, pid, S_SILENT, "peer silent for 30 s: link presumed dead");
    store_identity_free(pid);
    /* the node's own entries are whole after all that */
    assert_int_equal(head_of(dir, pk), 3);
}

/* A dial that never connects (the listener's queue is full, so the SYNs go unanswered) is
 * given up after 30 s of the agent's clock. */
static void
skip_when_dialling(void)
{
    static int ticks;
    if (cur_node->conns && cur_node->conns->state == CONN_CONNECTING &&
        atomic_load(&clock_skip_ms) == 0 && ++ticks > 60) {
        /* 1.2 s in CONNECTING: the conn's timer has looked at least once before the jump */
        ticks = 0;
        atomic_store(&clock_skip_ms, AGENT_CONNECT_TIMEOUT_MS + 2000);
    }
}

static void
test_connect_timeout(void **state)
{
    char dir[600], peer[64];
    uv_loop_t loop;
    agent_node n;
    int fill[4];
    (void)state;
    make_node(dir, sizeof dir, 1, NULL);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sa;
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(getsockname(lfd, (struct sockaddr *)&sa, &len), 0);
    assert_int_equal(listen(lfd, 0), 0);
    for (int i = 0; i < 4; i++) { /* fill the accept queue; later SYNs are dropped */
        fill[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        OP_IGNORE(connect(fill[i], (struct sockaddr *)&sa, sizeof sa)); /* EINPROGRESS */
    }
    usleep(100000);
    snprintf(peer, sizeof peer, "127.0.0.1:%d", ntohs(sa.sin_port));
    agent_options o = {.dir = dir, .once = true, .once_peer = peer};
    log_clear();
    assert_int_equal(uv_loop_init(&loop), 0);
    assert_int_equal(agent_node_start(&n, &loop, &o), OP_OK);
    cur_node = &n;
    poll_hook = skip_when_dialling;
    run_loop(&loop, &n, NULL);
    atomic_store(&clock_skip_ms, 0);
    for (int i = 0; i < 4; i++)
        close(fill[i]);
    close(lfd);
    int failed = n.once_failed;
    bool timed = strstr(n.once_error, "no TCP connection within 30 s") != NULL;
    agent_node_fini(&n);
    assert_int_equal(uv_loop_close(&loop), 0);
    assert_int_equal(failed, 1);
    if (!timed)
        skip(); /* the kernel completed the connection after all: nothing to time out */
}

int
main(void)
{
    if (sodium_init() < 0)
        return 1;
    signal(SIGPIPE, SIG_IGN); /* as outpostd does */
    struct rlimit rl;         /* the cap test holds ~520 sockets, as outpostd raises its limit */
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max < 4096 ? rl.rlim_max : 4096;
        OP_IGNORE(setrlimit(RLIMIT_NOFILE, &rl)); /* if refused, the test says what failed */
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_each_write_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_libuv_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bookkeeping_failures, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_dial_bookkeeping, setup, teardown),
        cmocka_unit_test_setup_teardown(test_quota_lookup_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_office_duties_when_the_store_fails, setup, teardown),
        cmocka_unit_test_setup_teardown(test_peer_without_memory_is_closed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_control_socket_faults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_handshake_cap_per_address, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scripted_peers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_connect_timeout, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
