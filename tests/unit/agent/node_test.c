/*
 * node_test.c — agent/node.c (with agent/conn.c under it) in process: real libuv loops, real
 * SQLite stores, real sockets on 127.0.0.1 and ::1, and the real control socket.
 *
 * Proves:
 *  - start-up refuses, with its own code, a directory that is no node, has no store or has not
 *    joined, a directory too deep for a control socket, a listen address that is not numeric
 *    HOST:PORT or is out of range, a port in use, and a second agent on a directory whose
 *    agent is alive (a stale control socket is replaced, a live one left alone);
 *  - the control socket answers nudge, sync and stop with "ok", an unknown command with an
 *    error, and drops a line too long without answering;
 *  - --once fails with the reason for a peer address that is not HOST:PORT, a refused port
 *    (numeric, by name through the resolver, and a bracketed IPv6 literal), a peer whose key is
 *    not the one pinned, no known peers at all, and a peer that never answers the handshake
 *    (after 10 s);
 *  - --once between two nodes in one loop (IPv4 and IPv6) carries every entry, pins the
 *    peer's key on first contact and records the link;
 *  - an idle link is kept up by PING/PONG after 5 s of silence (about 5-10 s of wall time);
 *  - when both nodes dial each other at once, both keep the same link, the one dialled by the
 *    smaller key;
 *  - OUTPOST_NOW fixes the agent's wall clock (an unusable value is ignored), and the retry
 *    backoff doubles from 1 s and stops at AGENT_BACKOFF_MAX_MS (30 s), with +-20 % jitter.
 * A watchdog stops the nodes after 60 s so that a hang fails instead of blocking ctest.
 * Run: ctest -R unit.agent.node (no long mode).
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "agent/conn.h"
#include "agent/node.h"
#include "store/have.h"
#include "store/log.h"

static char root[256];
static uint8_t netkey[PROTO_NETKEY_BYTES];

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
    snprintf(root, sizeof root, "/tmp/outpost-node-XXXXXX");
    assert_non_null(mkdtemp(root));
    randombytes_buf(netkey, sizeof netkey);
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    rm_rf(root);
    return 0;
}

/* A node directory as `outpost init` + join leave it: identity, store with `entries`
 * check-ins, and (if joined) the network key. *pk gets its key. */
static void
make_node(char *dir, size_t cap, const char *name, int entries, bool joined, uint8_t pk[32])
{
    char path[700];
    store_identity *id;
    store_db *db;
    store_reader *rd;
    snprintf(dir, cap, "%s/%s", root, name);
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
    if (joined) {
        snprintf(path, sizeof path, "%s/network.key", dir);
        assert_int_equal(store_keyfile_write(path, netkey, sizeof netkey), OP_OK);
    }
}

/* Runs sql on the node's store (closed meanwhile); returns the first column of the first row
 * as an integer (-1 if none). */
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
        v = sqlite3_column_int64(st, 0);
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

/* ---- running loops ---- */

static agent_node *watched[4];
static bool timed_out;

static void
on_watchdog(uv_timer_t *t)
{
    (void)t;
    timed_out = true;
    for (int i = 0; i < 4; i++)
        if (watched[i])
            agent_node_stop(watched[i], "watchdog");
}

/* Stops `server` once `client` has stopped (a --once run ends by itself; its peer does not). */
static agent_node *poll_client, *poll_server;

static void
on_poll(uv_timer_t *t)
{
    (void)t;
    if (poll_client && poll_client->stopping && poll_server)
        agent_node_stop(poll_server, "the client is done");
}

/* Runs loop until every node stopped (60 s at most), then frees what start allocated. */
static void
run_loop(uv_loop_t *loop, agent_node *a, agent_node *b)
{
    uv_timer_t dog, poll;
    timed_out = false;
    watched[0] = a;
    watched[1] = b;
    uv_timer_init(loop, &dog);
    uv_timer_start(&dog, on_watchdog, 60000, 0);
    uv_unref((uv_handle_t *)&dog);
    uv_timer_init(loop, &poll);
    uv_timer_start(&poll, on_poll, 20, 20);
    uv_unref((uv_handle_t *)&poll);
    uv_run(loop, UV_RUN_DEFAULT);
    uv_close((uv_handle_t *)&dog, NULL);
    uv_close((uv_handle_t *)&poll, NULL);
    uv_run(loop, UV_RUN_DEFAULT);
    watched[0] = watched[1] = NULL;
    assert_false(timed_out);
}

/* Start-up that failed: what main() does, then the code. */
static op_err
start_expect_failure(const agent_options *opt)
{
    uv_loop_t loop;
    agent_node n;
    assert_int_equal(uv_loop_init(&loop), 0);
    op_err r = agent_node_start(&n, &loop, opt);
    agent_node_stop(&n, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    agent_node_fini(&n);
    assert_int_equal(uv_loop_close(&loop), 0);
    return r;
}

/* A TCP port on 127.0.0.1 that nobody listens on (bound, then released) or, with keep, the fd
 * of a listening socket that holds it. */
static int
tcp_port(bool keep, int *fd_out)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sa;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    if (keep) {
        assert_int_equal(listen(fd, 1), 0);
        *fd_out = fd;
    } else {
        close(fd);
    }
    return ntohs(sa.sin_port);
}

static int
listen_port(agent_node *n)
{
    struct sockaddr_storage ss;
    int len = sizeof ss;
    assert_int_equal(uv_tcp_getsockname(&n->listener, (struct sockaddr *)&ss, &len), 0);
    return ss.ss_family == AF_INET ? ntohs(((struct sockaddr_in *)&ss)->sin_port)
                                   : ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}

/* ---- tests ---- */

static void
test_start_refusals(void **state)
{
    char dir[600], nodir[600], busy[64];
    int fd;
    (void)state;
    make_node(dir, sizeof dir, "unjoined", 0, false, NULL);
    agent_options opt = {.dir = dir, .listen = "127.0.0.1:0"};
    assert_int_equal(start_expect_failure(&opt), OP_E_NOTFOUND); /* no network key */
    snprintf(nodir, sizeof nodir, "%s/nothing-here", root);
    opt.dir = nodir;
    assert_int_equal(start_expect_failure(&opt), OP_E_NOTFOUND); /* no identity */

    /* an identity but no store */
    snprintf(nodir, sizeof nodir, "%s/nostore", root);
    assert_int_equal(mkdir(nodir, 0700), 0);
    store_identity *id;
    assert_int_equal(store_identity_create(nodir, &id), OP_OK);
    store_identity_free(id);
    opt.dir = nodir;
    assert_int_equal(start_expect_failure(&opt), OP_E_NOTFOUND);
    /* a directory whose control socket path cannot be a unix socket address (108 bytes): it
     * was bound cut short, beside the directory, before */
    char deep[600];
    make_node(deep, sizeof deep,
              "ddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
              "ddddddddddddddd",
              0, true, NULL); /* (the name apart from deep: snprintf into its own source is UB) */
    opt.dir = deep;
    opt.listen = "";
    assert_int_equal(start_expect_failure(&opt), OP_E_INVAL);
    DIR *d = opendir(root);
    struct dirent *de;
    while ((de = readdir(d)))
        if (strncmp(de->d_name, "ddd", 3) == 0 && strlen(de->d_name) != 100)
            fail_msg("a socket was bound at %s/%s", root, de->d_name);
    closedir(d);
    opt.listen = "127.0.0.1:0";

    make_node(dir, sizeof dir, "joined", 0, true, NULL);
    opt.dir = dir;
    static const char *const bad[] = {
        "localhost:7420",  /* names are not resolved for listening */
        "300.1.2.3:7420",  /* not an address */
        "127.0.0.1:70000", /* port out of range */
        "127.0.0.1:-1",
        "[::1]:7420",     /* the listen form of IPv6 is ::1:7420 */
        "127.0.0.1",      /* no port: it listened on 0.0.0.0:7420 before */
        "not an address", /* the same */
        "127.0.0.1:",     /* an empty port */
        "127.0.0.1:x",    /* not digits: it listened on a random port before */
        "127.0.0.1:74x0",
        "127.0.0.1:007420", /* six digits */
        ":7420",
        "hhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhh"
        "hhh"
        "hhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhh"
        "hhh"
        "hhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhh"
        "hhh"
        ":7420", /* a host longer than any address */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        opt.listen = bad[i];
        op_err r = start_expect_failure(&opt);
        if (r != OP_E_INVAL)
            fail_msg("listen '%s' gave %s, want INVAL", bad[i], op_errname(r));
    }
    /* a port somebody else holds */
    snprintf(busy, sizeof busy, "127.0.0.1:%d", tcp_port(true, &fd));
    opt.listen = busy;
    assert_int_equal(start_expect_failure(&opt), OP_E_IO);
    close(fd);
    /* after all that, the control socket file is gone and the node starts */
    char sock[700];
    snprintf(sock, sizeof sock, "%s/%s", dir, AGENT_CTL_SOCKET);
    assert_int_not_equal(access(sock, F_OK), 0);
}

/* ---- the control socket, from a client thread while the loop runs ---- */

typedef struct ctl_run {
    const char *path;
    const char *const *lines;
    size_t n;
    char replies[8][64];
} ctl_run;

static void
ctl_one(const char *path, const char *line, char *reply, size_t cap)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof sa.sun_path)
        return;
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    reply[0] = '\0';
    if (fd < 0)
        return;
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
    ctl_run *cr = arg;
    for (size_t i = 0; i < cr->n; i++)
        ctl_one(cr->path, cr->lines[i], cr->replies[i], sizeof cr->replies[i]);
    return NULL;
}

static void
test_control_socket(void **state)
{
    char dir[600], sock[700], longline[300];
    uv_loop_t loop;
    agent_node n;
    pthread_t th;
    (void)state;
    make_node(dir, sizeof dir, "ctl", 2, true, NULL);
    snprintf(sock, sizeof sock, "%s/%s", dir, AGENT_CTL_SOCKET);
    /* a socket file left by an agent that died: replaced */
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    assert_true(strlen(sock) < sizeof sa.sun_path);
    memcpy(sa.sun_path, sock, strlen(sock) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    close(fd);
    assert_int_equal(access(sock, F_OK), 0);

    agent_options opt = {.dir = dir, .listen = ""};
    assert_int_equal(uv_loop_init(&loop), 0);
    assert_int_equal(agent_node_start(&n, &loop, &opt), OP_OK);
    /* a second agent on the same directory while this one is alive */
    assert_int_equal(start_expect_failure(&opt), OP_E_BUSY);

    memset(longline, 'x', sizeof longline - 1);
    longline[sizeof longline - 1] = '\0';
    static const char *lines[6];
    lines[0] = "what\n";
    lines[1] = "nudge\n";
    lines[2] = "sync\n";
    lines[3] = longline; /* no newline within the line buffer: dropped */
    lines[4] = "stop\n";
    ctl_run cr = {.path = sock, .lines = lines, .n = 5};
    assert_int_equal(pthread_create(&th, NULL, ctl_thread, &cr), 0);
    run_loop(&loop, &n, NULL);
    assert_int_equal(pthread_join(th, NULL), 0);
    agent_node_fini(&n);
    assert_int_equal(uv_loop_close(&loop), 0);
    assert_string_equal(cr.replies[0], "error unknown command\n");
    assert_string_equal(cr.replies[1], "ok\n");
    assert_string_equal(cr.replies[2], "ok\n");
    assert_string_equal(cr.replies[3], "");
    assert_string_equal(cr.replies[4], "ok\n");
    assert_true(n.stopping);
    assert_int_not_equal(access(sock, F_OK), 0); /* removed on stop */
}

/* --once against peers that cannot be reached: fails, and says why. */
static void
once_fails(const char *dir, const char *peer, const char *why)
{
    uv_loop_t loop;
    agent_node n;
    agent_options opt = {.dir = dir, .once = true, .once_peer = peer};
    assert_int_equal(uv_loop_init(&loop), 0);
    assert_int_equal(agent_node_start(&n, &loop, &opt), OP_OK);
    run_loop(&loop, &n, NULL);
    assert_int_equal(n.once_failed, 1);
    assert_int_equal(n.once_done, 0);
    if (!strstr(n.once_error, why))
        fail_msg("--once %s: '%s' does not say '%s'", peer ? peer : "(peers)", n.once_error, why);
    agent_node_fini(&n);
    assert_int_equal(uv_loop_close(&loop), 0);
}

static void
test_once_failures(void **state)
{
    char dir[600], addr[3][64];
    (void)state;
    make_node(dir, sizeof dir, "lonely", 1, true, NULL);
    once_fails(dir, NULL, "no peers known");
    once_fails(dir, "no-port-here", "address is not HOST:PORT");
    once_fails(dir, ":7420", "address is not HOST:PORT");
    once_fails(dir, "127.0.0.1:", "address is not HOST:PORT");
    once_fails(dir, "127.0.0.1:12345678901234567", "address is not HOST:PORT"); /* port > 15 */
    char longhost[300];
    memset(longhost, 'h', 280); /* a host name longer than any (255) */
    snprintf(longhost + 280, sizeof longhost - 280, ":7420");
    once_fails(dir, longhost, "address is not HOST:PORT");
    once_fails(dir, "localhost:nosuchservice", "cannot find localhost:nosuchservice");
    int port = tcp_port(false, NULL);
    snprintf(addr[0], sizeof addr[0], "127.0.0.1:%d", port);
    snprintf(addr[1], sizeof addr[1], "localhost:%d", port); /* through the resolver */
    snprintf(addr[2], sizeof addr[2], "[::1]:%d", port);
    for (int i = 0; i < 3; i++)
        once_fails(dir, addr[i], "cannot connect");
}

/* Two nodes in one loop: `a` serves on listen, `b` syncs once with peer (NULL: its peers
 * table). Returns b's once_done; *why gets b's error if any. */
static int
sync_once(const char *adir, const char *listen, const char *bdir, const char *peer_fmt, char *why,
          size_t cap, int *port_out)
{
    uv_loop_t loop;
    agent_node a, b;
    char peer[128];
    assert_int_equal(uv_loop_init(&loop), 0);
    agent_options ao = {.dir = adir, .listen = listen};
    assert_int_equal(agent_node_start(&a, &loop, &ao), OP_OK);
    int port = listen_port(&a);
    if (port_out)
        *port_out = port;
    snprintf(peer, sizeof peer, peer_fmt ? peer_fmt : "-", port);
    agent_options bo = {.dir = bdir, .once = true, .once_peer = peer_fmt ? peer : NULL};
    assert_int_equal(agent_node_start(&b, &loop, &bo), OP_OK);
    poll_client = &b;
    poll_server = &a;
    run_loop(&loop, &a, &b);
    poll_client = poll_server = NULL;
    int done = b.once_done;
    snprintf(why, cap, "%s", b.once_error);
    agent_node_fini(&a);
    agent_node_fini(&b);
    assert_int_equal(uv_loop_close(&loop), 0);
    return done;
}

static void
test_two_nodes_sync_once(void **state)
{
    char adir[600], bdir[600], cdir[600], why[1100];
    uint8_t apk[32], bpk[32], cpk[32];
    int port;
    (void)state;
    make_node(adir, sizeof adir, "a", 30, true, apk);
    make_node(bdir, sizeof bdir, "b", 5, true, bpk);
    make_node(cdir, sizeof cdir, "c", 0, true, cpk);

    assert_int_equal(sync_once(adir, "127.0.0.1:0", bdir, "127.0.0.1:%d", why, sizeof why, &port),
                     1);
    assert_int_equal(head_of(bdir, apk), 31); /* the key entry and 30 check-ins */
    assert_int_equal(head_of(adir, bpk), 6);
    assert_int_equal(
        node_sql(bdir, "SELECT count(*) FROM links WHERE key = ? AND last_sync > 0", apk), 1);

    /* over IPv6 */
    assert_int_equal(sync_once(adir, "::1:0", cdir, "[::1]:%d", why, sizeof why, &port), 1);
    assert_int_equal(head_of(cdir, bpk), 6); /* b's entries, relayed by a */
    assert_int_equal(head_of(cdir, apk), 31);
    assert_int_equal(head_of(adir, cpk), 0); /* c wrote nothing */
}

/* A peer in the peers table with a key pinned is refused when another node answers there;
 * one added without a key is pinned to the key it proves on first contact. */
static void
test_pinned_peer_key(void **state)
{
    char adir[600], bdir[600], why[1100], sql[300];
    uint8_t apk[32], bpk[32], wrong[32];
    uv_loop_t loop;
    agent_node a, b;
    (void)state;
    make_node(adir, sizeof adir, "a", 3, true, apk);
    make_node(bdir, sizeof bdir, "b", 0, true, bpk);
    memset(wrong, 7, sizeof wrong);

    for (int round = 0; round < 2; round++) {
        assert_int_equal(uv_loop_init(&loop), 0);
        agent_options ao = {.dir = adir, .listen = "127.0.0.1:0"};
        assert_int_equal(agent_node_start(&a, &loop, &ao), OP_OK);
        int port = listen_port(&a);
        /* b's peers table: round 0 pins a wrong key, round 1 none */
        snprintf(sql, sizeof sql,
                 "INSERT OR REPLACE INTO peers(addr, key, added) VALUES('127.0.0.1:%d', ?, 1)"
                 " RETURNING 1",
                 port);
        OP_IGNORE(node_sql(bdir, "DELETE FROM peers", NULL)); /* returns no row */
        if (round == 0) {
            assert_int_equal(node_sql(bdir, sql, wrong), 1);
        } else {
            snprintf(sql, sizeof sql,
                     "INSERT INTO peers(addr, added) VALUES('127.0.0.1:%d', 1) RETURNING 1", port);
            assert_int_equal(node_sql(bdir, sql, NULL), 1);
        }
        agent_options bo = {.dir = bdir, .once = true};
        assert_int_equal(agent_node_start(&b, &loop, &bo), OP_OK);
        poll_client = &b;
        poll_server = &a;
        run_loop(&loop, &a, &b);
        poll_client = poll_server = NULL;
        snprintf(why, sizeof why, "%s", b.once_error);
        int done = b.once_done, failed = b.once_failed;
        agent_node_fini(&a);
        agent_node_fini(&b);
        assert_int_equal(uv_loop_close(&loop), 0);
        if (round == 0) {
            assert_int_equal(done, 0);
            assert_int_equal(failed, 1);
            assert_non_null(strstr(why, "handshake"));
            assert_int_equal(head_of(bdir, apk), 0); /* nothing taken from the impostor */
            assert_int_equal(node_sql(bdir, "SELECT fails FROM peers", NULL), 1);
        } else {
            assert_int_equal(done, 1);
            assert_int_equal(failed, 0);
            assert_int_equal(head_of(bdir, apk), 4);
            assert_int_equal(node_sql(bdir, "SELECT count(*) FROM peers WHERE key = ?", apk), 1);
            assert_int_equal(node_sql(bdir, "SELECT fails FROM peers", NULL), 0);
        }
    }
}

/* ---- long-running nodes: keepalives and two links to one peer ---- */

static agent_node *pair[2];
static uint64_t base_msgs;
static int phase;

static int
live_conns(agent_node *n, agent_conn **last)
{
    int k = 0;
    for (agent_conn *c = n->conns; c; c = c->next)
        if (c->state == CONN_LIVE) {
            k++;
            *last = c;
        }
    return k;
}

static int
all_conns(agent_node *n)
{
    int k = 0;
    for (agent_conn *c = n->conns; c; c = c->next)
        k++;
    return k;
}

/* Phase 0: wait until b's one link is in sync, note its message count. Phase 1: wait until two
 * more messages came in (the peer's PING and its PONG after 5 s of silence), then stop. */
static void
on_keepalive_poll(uv_timer_t *t)
{
    agent_conn *c = NULL;
    (void)t;
    if (live_conns(pair[1], &c) != 1 || !c->session || !agent_session_synced(c->session))
        return;
    const agent_session_stats *st = agent_session_stats_get(c->session);
    if (phase == 0) {
        base_msgs = st->msgs_in;
        phase = 1;
    } else if (phase == 1 && st->msgs_in >= base_msgs + 2) {
        phase = 2;
        agent_node_stop(pair[0], "test done");
        agent_node_stop(pair[1], "test done");
    }
}

/* Starts a and b in one loop, both long-running and listening; b dials a from its peers table
 * (with a's key pinned if akey); poll_cb decides when to stop. */
static void
run_pair(const char *adir, const char *bdir, const uint8_t *akey, void (*poll_cb)(uv_timer_t *))
{
    uv_loop_t loop;
    agent_node a, b;
    uv_timer_t poll;
    char sql[300];
    int ports[2];
    assert_int_equal(uv_loop_init(&loop), 0);
    const char *dirs[2] = {adir, bdir};
    agent_node *ns[2] = {&a, &b};
    for (int i = 0; i < 2; i++) {
        ports[i] = tcp_port(false, NULL);
        OP_IGNORE(node_sql(dirs[i], "DELETE FROM peers", NULL)); /* returns no row */
    }
    snprintf(sql, sizeof sql,
             "INSERT INTO peers(addr, key, added) VALUES('127.0.0.1:%d', ?, 1)"
             " RETURNING 1",
             ports[0]);
    assert_int_equal(node_sql(bdir, sql, akey), 1);
    char listens[2][64];
    for (int i = 0; i < 2; i++) {
        snprintf(listens[i], sizeof listens[i], "127.0.0.1:%d", ports[i]);
        agent_options o = {.dir = dirs[i], .listen = listens[i]};
        assert_int_equal(agent_node_start(ns[i], &loop, &o), OP_OK);
    }
    pair[0] = &a;
    pair[1] = &b;
    phase = 0;
    uv_timer_init(&loop, &poll);
    uv_timer_start(&poll, poll_cb, 20, 20);
    uv_unref((uv_handle_t *)&poll);
    run_loop(&loop, &a, &b);
    uv_close((uv_handle_t *)&poll, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    agent_node_fini(&a);
    agent_node_fini(&b);
    assert_int_equal(uv_loop_close(&loop), 0);
}

/* An idle link is kept alive: after 5 s without traffic each side pings, the other answers,
 * and the link stays up (here about 5 s of wall time). Stopping a live node says goodbye. */
static void
test_idle_link_keepalive(void **state)
{
    char adir[600], bdir[600];
    uint8_t apk[32], bpk[32];
    (void)state;
    make_node(adir, sizeof adir, "a", 2, true, apk);
    make_node(bdir, sizeof bdir, "b", 2, true, bpk);
    uint64_t t0 = uv_hrtime();
    run_pair(adir, bdir, apk, on_keepalive_poll);
    assert_int_equal(phase, 2);
    printf("keepalive seen after %.1f s\n", (double)(uv_hrtime() - t0) / 1e9);
    assert_int_equal(head_of(bdir, apk), 3);
    assert_int_equal(head_of(adir, bpk), 3);
    /* the link was recorded, and as closed by the goodbye */
    assert_int_equal(node_sql(bdir,
                              "SELECT count(*) FROM links WHERE key = ? AND connected = 0"
                              " AND last_sync > 0",
                              apk),
                     1);
}

/* Each dials the other at once (peers added to both while they run, then SIGHUP: "reload the
 * peers", which both handle in the same loop turn): two links, of which both sides keep the
 * same one, the one dialled by the smaller key; the larger key's dial is closed and its peer
 * row says why. */
static char dup_dirs[2][600];
static int dup_ports[2];
static bool larger_is_a;

static void
on_duplicate_poll(uv_timer_t *t)
{
    agent_conn *ca = NULL, *cb = NULL;
    char sql[300];
    (void)t;
    if (phase == 0) {
        for (int i = 0; i < 2; i++) {
            snprintf(sql, sizeof sql,
                     "INSERT INTO peers(addr, added) VALUES('127.0.0.1:%d', 1) RETURNING 1",
                     dup_ports[1 - i]);
            assert_int_equal(node_sql(dup_dirs[i], sql, NULL), 1);
        }
        larger_is_a = memcmp(pair[0]->id->pk, pair[1]->id->pk, 32) > 0;
        phase = 1;
        raise(SIGHUP);
        return;
    }
    if (phase == 1 && all_conns(pair[0]) == 1 && all_conns(pair[1]) == 1 &&
        live_conns(pair[0], &ca) == 1 && live_conns(pair[1], &cb) == 1 &&
        node_sql(dup_dirs[larger_is_a ? 0 : 1],
                 "SELECT count(*) FROM peers WHERE last_error LIKE '%already connected%'",
                 NULL) == 1) {
        /* the survivor on a was dialled by a iff a has the smaller key; on b the opposite */
        phase = ca->initiator == !larger_is_a && cb->initiator == larger_is_a ? 2 : 3;
        agent_node_stop(pair[0], "test done");
        agent_node_stop(pair[1], "test done");
    }
}

static void
test_two_links_to_one_peer(void **state)
{
    uv_loop_t loop;
    agent_node a, b;
    uv_timer_t poll;
    char listens[2][64];
    (void)state;
    make_node(dup_dirs[0], sizeof dup_dirs[0], "a", 1, true, NULL);
    make_node(dup_dirs[1], sizeof dup_dirs[1], "b", 1, true, NULL);
    assert_int_equal(uv_loop_init(&loop), 0);
    agent_node *ns[2] = {&a, &b};
    for (int i = 0; i < 2; i++) {
        dup_ports[i] = tcp_port(false, NULL);
        snprintf(listens[i], sizeof listens[i], "127.0.0.1:%d", dup_ports[i]);
        agent_options o = {.dir = dup_dirs[i], .listen = listens[i]};
        assert_int_equal(agent_node_start(ns[i], &loop, &o), OP_OK);
    }
    pair[0] = &a;
    pair[1] = &b;
    phase = 0;
    uv_timer_init(&loop, &poll);
    uv_timer_start(&poll, on_duplicate_poll, 20, 20);
    uv_unref((uv_handle_t *)&poll);
    run_loop(&loop, &a, &b);
    uv_close((uv_handle_t *)&poll, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    agent_node_fini(&a);
    agent_node_fini(&b);
    assert_int_equal(uv_loop_close(&loop), 0);
    assert_int_equal(phase, 2);
}

/* ---- the clock and the backoff ---- */

static void
test_now_follows_outpost_now(void **state)
{
    (void)state;
    setenv("OUTPOST_NOW", "2026-11-25T10:00:00Z", 1);
    assert_int_equal(agent_now_ms(), 1795600800000ull);
    static const char *const unusable[] = {"", "yesterday", "2026-11-25T10:00:00"};
    for (size_t i = 0; i < 3; i++) {
        setenv("OUTPOST_NOW", unusable[i], 1);
        uint64_t real = (uint64_t)time(NULL) * 1000, got = agent_now_ms();
        if (got + 5000 < real || got > real + 5000)
            fail_msg("OUTPOST_NOW='%s' gave %llu, the clock says %llu", unusable[i],
                     (unsigned long long)got, (unsigned long long)real);
    }
    unsetenv("OUTPOST_NOW");
}

/* Three peers that refuse, after 0, 5 and 30 failures: the next try is 1 s, 32 s (or the cap)
 * and the cap away, each +-20 % (jitter). Their failure counts and the reason are recorded. */
static char bo_dir[600];
static uint64_t bo_t0;
static int64_t bo_wait[3];

static uint64_t
wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void
on_backoff_poll(uv_timer_t *t)
{
    (void)t;
    static const int before[3] = {0, 5, 30};
    bool all = true;
    for (int i = 0; i < 3; i++) {
        char sql[200];
        if (bo_wait[i] >= 0)
            continue;
        snprintf(sql, sizeof sql,
                 "SELECT next_retry FROM peers WHERE added = %d AND fails = %d"
                 " AND last_error LIKE '%%connection refused%%'",
                 i + 1, before[i] + 1);
        int64_t next = node_sql(bo_dir, sql, NULL);
        if (next > 0)
            bo_wait[i] = next - (int64_t)bo_t0;
        else
            all = false;
    }
    if (all)
        agent_node_stop(pair[0], "test done");
}

static void
test_backoff_doubles_and_caps(void **state)
{
    uv_loop_t loop;
    agent_node a;
    uv_timer_t poll;
    char sql[300];
    (void)state;
    make_node(bo_dir, sizeof bo_dir, "dialer", 0, true, NULL);
    static const int before[3] = {0, 5, 30};
    for (int i = 0; i < 3; i++) {
        snprintf(sql, sizeof sql,
                 "INSERT INTO peers(addr, added, fails) VALUES('127.0.0.1:%d', %d, %d)"
                 " RETURNING 1",
                 tcp_port(false, NULL), i + 1, before[i]);
        assert_int_equal(node_sql(bo_dir, sql, NULL), 1);
        bo_wait[i] = -1;
    }
    assert_int_equal(uv_loop_init(&loop), 0);
    agent_options o = {.dir = bo_dir, .listen = ""};
    bo_t0 = wall_ms();
    assert_int_equal(agent_node_start(&a, &loop, &o), OP_OK);
    pair[0] = &a;
    uv_timer_init(&loop, &poll);
    uv_timer_start(&poll, on_backoff_poll, 20, 20);
    uv_unref((uv_handle_t *)&poll);
    run_loop(&loop, &a, NULL);
    uint64_t took = wall_ms() - bo_t0;
    uv_close((uv_handle_t *)&poll, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    agent_node_fini(&a);
    assert_int_equal(uv_loop_close(&loop), 0);
    static const int64_t base[3] = {1000, AGENT_BACKOFF_MAX_MS < 32000 ? AGENT_BACKOFF_MAX_MS : 32000,
                                    AGENT_BACKOFF_MAX_MS};
    for (int i = 0; i < 3; i++) {
        /* next_retry = failure time + backoff, the failure between t0 and t0 + took */
        int64_t lo = base[i] * 4 / 5, hi = base[i] * 6 / 5 + (int64_t)took;
        if (bo_wait[i] < lo || bo_wait[i] > hi)
            fail_msg("after %d failures: next try in %lld ms, want %lld..%lld", before[i] + 1,
                     (long long)bo_wait[i], (long long)lo, (long long)hi);
    }
}

/* A peer that takes the connection and never answers (here: a listening socket nobody
 * accepts from) is given up after 10 s, and --once fails with that reason; meanwhile the
 * progress line is kept up (opt.progress, as on a terminal). About 10 s of wall time. */
static void
test_once_handshake_timeout(void **state)
{
    char dir[600], peer[64];
    uv_loop_t loop;
    agent_node n;
    int fd;
    (void)state;
    make_node(dir, sizeof dir, "patient", 1, true, NULL);
    snprintf(peer, sizeof peer, "127.0.0.1:%d", tcp_port(true, &fd));
    agent_options opt = {.dir = dir, .once = true, .once_peer = peer, .progress = true};
    assert_int_equal(uv_loop_init(&loop), 0);
    uint64_t t0 = uv_hrtime();
    assert_int_equal(agent_node_start(&n, &loop, &opt), OP_OK);
    run_loop(&loop, &n, NULL);
    double secs = (double)(uv_hrtime() - t0) / 1e9;
    printf("given up after %.1f s\n", secs);
    close(fd);
    assert_int_equal(n.once_failed, 1);
    assert_non_null(strstr(n.once_error, "no handshake within 10 s"));
    assert_true(secs >= AGENT_HANDSHAKE_TIMEOUT_MS / 1000.0 - 0.5); /* not before its time */
    agent_node_fini(&n);
    assert_int_equal(uv_loop_close(&loop), 0);
}

int
main(void)
{
    if (sodium_init() < 0)
        return 1;
    signal(SIGPIPE, SIG_IGN); /* as outpostd does */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_start_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_control_socket, setup, teardown),
        cmocka_unit_test_setup_teardown(test_once_failures, setup, teardown),
        cmocka_unit_test_setup_teardown(test_once_handshake_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_nodes_sync_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pinned_peer_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idle_link_keepalive, setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_links_to_one_peer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_now_follows_outpost_now, setup, teardown),
        cmocka_unit_test_setup_teardown(test_backoff_doubles_and_caps, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
