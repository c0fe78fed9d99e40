/*
 * alloc_fault_loop.c — out of memory at the Nth allocation during a real sync session through
 * the agent's event loop (TESTING A5; alloc_fault.c covers open, append and the session logic
 * without the loop).
 *
 * Two nodes in this process, each an agent_node (agent/node.c, agent/conn.c, the session, the
 * store) on one libuv loop, over a real TCP socket on 127.0.0.1 (or ::1): the office O
 * listens, the worker W dials it once by the name "localhost" (as `outpost sync HOST:PORT`
 * does; the name goes through libuv's uv_getaddrinfo) and has 100 entries for it.
 *
 * One counter covers every allocation of both nodes:
 *   - libuv's, through uv_replace_allocator (called first thing in main, before any libuv use);
 *   - SQLite's, through sqlite3_config(SQLITE_CONFIG_MALLOC);
 *   - ours (proto/, store/, agent/: malloc, calloc, realloc, strdup, sodium_malloc, wrapped at
 *     link time) and msgpack-c's (msgpack_unpack_next wrapped, as in alloc_fault.c).
 * For N = 1, 2, ... the Nth allocation fails once (transient), or it and every later one
 * (persistent) until the session is torn down: W's run ends by itself, or (persistent) the test
 * stops W once both nodes are stuck (no allocation tried for 20 ms of loop time). N counts from
 * one of two points (phases): `start`, before W's start-up (store open, peers, the dial by name:
 * ~970 allocations), or `session`, after it (connect, accept, handshake, streams, the session,
 * ingest, goodbye, close: ~5,000). Then the fault is lifted and:
 *   - nothing crashed (the harness runs on);
 *   - the error was surfaced: W's run failed with a reason (once_error), or W's start-up
 *     returned OP_E_NOMEM, and then the run's log names a memory failure; or the session
 *     completed anyway (the failure hit bookkeeping, or a retry covered it: "absorbed", and O
 *     must then hold W's whole log). No log line blames the peer's bytes for our memory;
 *   - O is still up: its listener active, not stopping, and its side of the link closed;
 *   - both stores pass fu_check (integrity_check, no note twice, whole entries, projections,
 *     store_verify), O's read while O is still running (when W synced, O is checked in full
 *     after the clean session, which then has nothing to bring it);
 *   - a normal session (a new W run against the same running O) completes, and then O holds
 *     exactly the 100 notes, each once and projected;
 *   - the loop closes (no handle left), no file descriptor is left open, and under
 *     LeakSanitizer no leak (checked every ALLOC_LEAK_EVERY runs, default 20, and at exit).
 *
 * libuv aborts by design when it cannot grow its watcher array (src/unix/core.c,
 * maybe_resize: uv__reallocf, then abort() on NULL; reached from uv__io_start whenever a new
 * descriptor is higher than any the loop has watched). In this workload that is the only
 * realloc libuv makes, so a libuv realloc is never failed: a transient N that lands on one is
 * reported as skipped (with its N), and a persistent run that meets one lets it through and
 * says so. At start-up a child process checks that such a failure does abort (SIGABRT), so the
 * exemption stays justified for the libuv in use.
 *
 * The allocation sequence depends on how TCP splits the bytes into reads, so it varies a little
 * from run to run: the count printed is one run's. Every N is still a real injection point.
 *
 * CI (defaults): the session phase for N = 1..500 and the start phase's last 40 N (the dial
 * among them), transient and persistent: 1,080 runs.
 * Environment: ALLOC_MAX (the session phase's last N, default 500; 0 = every N of both phases,
 * until the run completes without reaching N: the long mode, ~12,000 runs), ALLOC_FROM (first
 * N; with it, ALLOC_MAX bounds the start phase too, to re-run a window), ALLOC_PHASE
 * (start|session|both), ALLOC_KIND (transient|persistent|both), ALLOC_LEAK_EVERY,
 * ALLOC_VERBOSE=1 (each run's outcome, time and log).
 * Run: ctest -R fault.oom_loop; long mode: ALLOC_MAX=0 build/alloc_fault_loop.
 */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <signal.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/common_interface_defs.h>
#include <sanitizer/lsan_interface.h>
#define HAVE_LSAN 1
#endif

#include "agent/conn.h"
#include "agent/node.h"
#include "store/have.h"
#include "store/log.h"
#include "tests/fault/alloc_counter.h"
#include "tests/fault/fault_util.h"

/* libuv's allocator. Its only realloc here is the watcher array's growth, which aborts. */
static uint64_t uv_allocs, uv_allocs_all;

static void *
uv_m(size_t n)
{
    uv_allocs_all++;
    uv_allocs += fa.armed;
    return fa_fail(false) ? NULL : __real_malloc(n);
}

static void *
uv_c(size_t k, size_t n)
{
    uv_allocs_all++;
    uv_allocs += fa.armed;
    return fa_fail(false) ? NULL : __real_calloc(k, n);
}

static bool uv_realloc_fails; /* the abort check's child: fail libuv's reallocs */

static void *
uv_r(void *p, size_t n)
{
    uv_allocs_all++;
    uv_allocs += fa.armed;
    if (uv_realloc_fails)
        return NULL;
    return fa_fail(true) ? NULL : __real_realloc(p, n);
}

static void
uv_f(void *p)
{
    free(p);
}

/* ---- harness ---- */

#define NOTES 100
/* Persistent: the test stops W once no allocation has been tried for TEARDOWN_IDLE_MS of loop
 * time (both nodes are stuck: everything they could do without memory is done), or
 * TEARDOWN_MAX_MS after the first failure. */
#define TEARDOWN_IDLE_MS 20
#define TEARDOWN_MAX_MS 500
#define PHASE_MS 60000 /* a phase that takes longer hangs: fail */
#define START_TAIL 40  /* CI: the start phase's last N */

static char root[1024], tpl_w[PATH_MAX], tpl_o[PATH_MAX], dir_w[PATH_MAX], dir_o[PATH_MAX];
static char log_path[PATH_MAX + 16];
static uint64_t passed, failed, skipped, absorbed, exempted, torn, torn_quiet;
static uint64_t start_allocs; /* W's start-up, dial included (the start phase's N) */
static bool verbose;
static const uint64_t T1 = 1764100000000ull;
static uint8_t netkey[PROTO_NETKEY_BYTES];
static uint8_t w_pk[PROTO_KEY_BYTES];

static void
failure(uint64_t n, bool persist, const char *why)
{
    failed++;
    if (failed <= 10)
        printf("FAIL alloc loop N=%llu %s: %s\n", (unsigned long long)n,
               persist ? "persistent" : "transient", why);
}

static int
from_template(const char *tpl, const char *dir)
{
    static const char *const files[] = {STORE_IDENTITY_FILE, STORE_DB_FILE, "network.key"};
    char a[PATH_MAX + 32], b[PATH_MAX + 32];
    if (fu_mkdir(dir) != 0)
        return -1;
    fu_rm_store(dir);
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(a, sizeof a, "%s/%s", tpl, files[i]);
        snprintf(b, sizeof b, "%s/%s", dir, files[i]);
        unlink(b);
        if (fu_copy_file(a, b) != 0 || chmod(b, 0600) != 0)
            return -1;
    }
    return 0;
}

/* W with NOTES entries sealed to O, O with a member entry admitting W; both joined (one
 * network key). Made once, unarmed; each run starts from copies. */
static int
make_templates(void)
{
    fu_node w, o;
    store_identity *oid, *wid;
    proto_body mb;
    store_appended ap;
    char path[PATH_MAX + 32];
    snprintf(tpl_w, sizeof tpl_w, "%s/worker_tpl", root);
    snprintf(tpl_o, sizeof tpl_o, "%s/office_tpl", root);
    if (fu_fresh_node(tpl_o) != OP_OK || fu_fresh_node(tpl_w) != OP_OK ||
        store_identity_load(tpl_o, &oid) != OP_OK)
        return -1;
    fu_set_office(oid->pk);
    store_identity_free(oid);
    if (store_identity_load(tpl_w, &wid) != OP_OK)
        return -1;
    memcpy(w_pk, wid->pk, PROTO_KEY_BYTES);
    proto_body_init(&mb, PROTO_KIND_MEMBER);
    mb.has_key = true;
    memcpy(mb.key, wid->pk, PROTO_KEY_BYTES);
    store_identity_free(wid);
    mb.name = "Worker"; /* borrowed: no fini */
    mb.role = "worker";
    if (fu_open(&o, tpl_o, STORE_OPEN_CREATE) != OP_OK)
        return -1;
    op_err r = store_log_append(o.db, o.rd, o.id, &mb, T1 - 1000, &ap);
    fu_close(&o);
    if (r != OP_OK || fu_open(&w, tpl_w, STORE_OPEN_CREATE) != OP_OK)
        return -1;
    for (int i = 0; i < NOTES; i++)
        if (fu_append(&w, i, 0) != OP_OK)
            return -1;
    fu_close(&w);
    randombytes_buf(netkey, sizeof netkey);
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s/network.key", i ? tpl_o : tpl_w);
        if (store_keyfile_write(path, netkey, sizeof netkey) != OP_OK)
            return -1;
    }
    return 0;
}

/* ---- one run: the phases, driven by a poll timer ---- */

enum { PH_FAULT, PH_LINK_CLOSING, PH_CLEAN, PH_STOPPING };

typedef struct run {
    uv_loop_t loop;
    uv_timer_t poll;
    agent_node o, w1, w2;
    bool w1_fini;
    int phase;
    uint64_t phase_ms, hit_ms, idle_ms, last_n;
    char port[64];
    op_err w1_start, w2_start;
    bool torn_down; /* persistent: the test stopped W */
    bool o_up;      /* O up after the fault: listener active, not stopping */
    bool hung;
    int hung_phase;
    char mid_why[512]; /* the stores' check after the fault, before the clean session */
    int w1_done, w1_failed;
    char w1_error[1024];
} run;

static bool
node_done(const agent_node *n)
{
    return n->stopping && n->conns == NULL;
}

static void
set_phase(run *r, int phase)
{
    r->phase = phase;
    r->phase_ms = uv_now(&r->loop);
}

/* After the fault: both stores must be consistent. W is closed; O is running (a second
 * connection reads it, as `outpost status` would). When W's run synced anyway (the failure
 * was absorbed), O is checked once, after the clean session, which has nothing left to
 * bring it and so cannot mend what the fault left (a third of CI's time otherwise). */
static void
check_mid(run *r)
{
    uint8_t state[NOTES];
    fu_expect e = {.state = state, .n = NOTES};
    char why[480];
    memset(state, FU_ACKED, sizeof state);
    if (fu_check(dir_w, dir_w, &e, NULL, why, sizeof why) != 0) {
        snprintf(r->mid_why, sizeof r->mid_why, "the worker after the fault: %s", why);
        return;
    }
    if (r->w1_done && r->w1_start == OP_OK) {
        /* synced means O holds all of W's log now: its key entry and the NOTES */
        uint64_t head = 0;
        op_err rc = store_have_head(r->o.db, w_pk, &head);
        if (rc != OP_OK || head != NOTES + 1)
            snprintf(r->mid_why, sizeof r->mid_why,
                     "the worker's run synced, the office holds its log to %llu (%s)",
                     (unsigned long long)head, op_errname(rc));
        return;
    }
    memset(state, FU_TRIED, sizeof state);
    if (fu_check(dir_o, dir_o, &e, NULL, why, sizeof why) != 0)
        snprintf(r->mid_why, sizeof r->mid_why, "the office after the fault: %s", why);
}

static void
on_poll(uv_timer_t *t)
{
    run *r = t->data;
    uint64_t now = uv_now(&r->loop);
    if (now - r->phase_ms >= PHASE_MS && !r->hung) {
        r->hung = true;
        r->hung_phase = r->phase;
        fa.armed = false;
        agent_node_stop(&r->w1, "the test's watchdog");
        if (r->phase >= PH_CLEAN)
            agent_node_stop(&r->w2, "the test's watchdog");
        agent_node_stop(&r->o, "the test's watchdog");
        set_phase(r, PH_STOPPING);
    }
    switch (r->phase) {
    case PH_FAULT:
        if (fa.persist && fa.failed && !r->hit_ms)
            r->hit_ms = r->idle_ms = now ? now : 1;
        if (fa.n != r->last_n) {
            r->last_n = fa.n;
            r->idle_ms = now;
        }
        if (r->hit_ms && !r->w1.stopping &&
            (now - r->idle_ms >= TEARDOWN_IDLE_MS || now - r->hit_ms >= TEARDOWN_MAX_MS)) {
            r->torn_down = true;
            agent_node_stop(&r->w1, "the test tears the session down");
        }
        if (!node_done(&r->w1))
            return;
        fa.armed = false; /* the session is torn down: memory is back */
        r->w1_done = r->w1.once_done;
        r->w1_failed = r->w1.once_failed;
        snprintf(r->w1_error, sizeof r->w1_error, "%s", r->w1.once_error);
        agent_node_fini(&r->w1);
        r->w1_fini = true;
        set_phase(r, PH_LINK_CLOSING);
        /* fall through */
    case PH_LINK_CLOSING:
        if (r->o.conns)
            return; /* O's side of the link has not closed yet */
        r->o_up = !r->o.stopping && uv_is_active((uv_handle_t *)&r->o.listener);
        check_mid(r);
        {
            agent_options wo = {.dir = dir_w, .once = true, .once_peer = r->port};
            r->w2_start = agent_node_start(&r->w2, &r->loop, &wo);
            if (r->w2_start != OP_OK)
                agent_node_stop(&r->w2, NULL);
        }
        set_phase(r, PH_CLEAN);
        return;
    case PH_CLEAN:
        if (!node_done(&r->w2))
            return;
        agent_node_stop(&r->o, "test done");
        set_phase(r, PH_STOPPING);
        return;
    default:
        if (node_done(&r->o))
            uv_close((uv_handle_t *)&r->poll, NULL);
        return;
    }
}

static int
listen_port(agent_node *n)
{
    struct sockaddr_storage ss;
    int len = sizeof ss;
    if (uv_tcp_getsockname(&n->listener, (struct sockaddr *)&ss, &len) != 0)
        return -1;
    return ss.ss_family == AF_INET ? ntohs(((struct sockaddr_in *)&ss)->sin_port)
                                   : ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}

/* W dials O by the name "localhost", so that the dial goes through libuv's name lookup
 * (uv_getaddrinfo allocates through libuv's allocator); O listens on the address the name
 * gives first, which the agent dials (its first answer). */
static const char *listen_addr = "127.0.0.1:0";

static int
pick_listen_addr(void)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res;
    if (getaddrinfo("localhost", "7420", &hints, &res) != 0)
        return -1;
    if (res->ai_family == AF_INET6)
        listen_addr = "::1:0";
    freeaddrinfo(res);
    return 0;
}

static int
open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    int n = 0;
    if (!d)
        return -1;
    while (readdir(d))
        n++;
    closedir(d);
    return n;
}

/* The run's log (agent_log writes to stderr, which is this file while the loop runs). */
static char logbuf[1 << 16];

static void
read_log(void)
{
    FILE *f = fopen(log_path, "r");
    size_t k = f ? fread(logbuf, 1, sizeof logbuf - 1, f) : 0;
    logbuf[k] = '\0';
    if (f)
        fclose(f);
}

/* A failure of memory, as the log puts it: our code (NOMEM), libuv's (ENOMEM, "not enough
 * memory": the name lookup), or libuv's read buffer (ENOBUFS: the read callback had none). */
static bool
log_names_memory(void)
{
    return strstr(logbuf, "out of memory") || strstr(logbuf, "NOMEM") ||
           strstr(logbuf, "not enough memory") || strstr(logbuf, "no buffer space");
}

/* A line that blames the peer's bytes for what was our memory: the agent's reasons for closing a
 * link on bad input (conn.c's close_err) and for refusing a run (session_refused), unless the
 * code they give is NOMEM. Returns the line's start, or NULL. */
static const char *
log_wrong_cause(void)
{
    static const char *const blame[] = {"peer sent bad data",
                                        "bad frame",
                                        "frame did not "
                                        "authenticate",
                                        "handshake refused:",
                                        "stream header",
                                        "refused a run of"};
    for (const char *line = logbuf; *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        char copy[1024];
        snprintf(copy, sizeof copy, "%.*s", (int)(len < sizeof copy ? len : sizeof copy - 1), line);
        for (size_t i = 0; i < sizeof blame / sizeof blame[0]; i++)
            if (strstr(copy, blame[i]) && !strstr(copy, "(NOMEM)"))
                return line;
        line += len + (end != NULL);
    }
    return NULL;
}

/* Returns true when the run did not reach N (the workload is shorter than N). */
static bool
run_one(uint64_t n, bool persist, bool in_start)
{
    static run r;
    char why[2200];
    int saved_err = -1, lf = -1;
    memset(&r, 0, sizeof r);
    if (from_template(tpl_w, dir_w) != 0 || from_template(tpl_o, dir_o) != 0) {
        failure(n, persist, "cannot copy the templates");
        return true;
    }
    fflush(stderr);
    if ((lf = open(log_path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) < 0 || (saved_err = dup(2)) < 0 ||
        dup2(lf, 2) < 0) {
        failure(n, persist, "cannot redirect the log");
        return true;
    }
    close(lf);
    bool setup_ok = uv_loop_init(&r.loop) == 0;
    agent_options oo = {.dir = dir_o, .listen = listen_addr};
    setup_ok = setup_ok && agent_node_start(&r.o, &r.loop, &oo) == OP_OK;
    if (setup_ok) {
        snprintf(r.port, sizeof r.port, "localhost:%d", listen_port(&r.o));
        uv_timer_init(&r.loop, &r.poll);
        r.poll.data = &r;
        uv_timer_start(&r.poll, on_poll, 2, 2);
        set_phase(&r, PH_FAULT);
        fa.n = fa.failed = fa.exempt = fa.exempt_at = 0;
        fa.fail_at = n;
        fa.persist = persist;
        fa.armed = in_start;
        agent_options wo = {.dir = dir_w, .once = true, .once_peer = r.port};
        r.w1_start = agent_node_start(&r.w1, &r.loop, &wo);
        start_allocs = fa.n;
        fa.armed = true;
        if (r.w1_start != OP_OK)
            agent_node_stop(&r.w1, NULL); /* as main() does */
        uv_run(&r.loop, UV_RUN_DEFAULT);
        fa.armed = false;
    }
    fflush(stderr);
    dup2(saved_err, 2);
    close(saved_err);
    read_log();
    if (!setup_ok) {
        failure(n, persist, "cannot start the office (no fault armed yet)");
        return true;
    }
    if (!r.w1_fini)
        agent_node_fini(&r.w1);
    agent_node_fini(&r.w2);
    agent_node_fini(&r.o);
    int loop_rc = uv_loop_close(&r.loop);

    bool reached = fa.failed || fa.exempt;
    if (fa.exempt) {
        exempted++;
        if (!fa.failed) {
            skipped++;
            printf("alloc loop N=%llu %s: skipped: the allocation is libuv's watcher array "
                   "growth (uv__io_start -> maybe_resize, which abort()s on failure)\n",
                   (unsigned long long)n, persist ? "persistent" : "transient");
        } else if (verbose) {
            printf("alloc loop N=%llu persistent: let libuv's watcher array growth through at "
                   "allocation %llu (it would abort)\n",
                   (unsigned long long)n, (unsigned long long)fa.exempt_at);
        }
    }
    bool surfaced_ok = true;
    why[0] = '\0';
    if (loop_rc != 0)
        snprintf(why, sizeof why, "uv_loop_close: %s (a handle left open)", uv_strerror(loop_rc));
    else if (r.hung)
        snprintf(why, sizeof why, "phase %d did not end within %d s", r.hung_phase,
                 PHASE_MS / 1000);
    else if (r.w1_start != OP_OK && r.w1_start != OP_E_NOMEM)
        snprintf(why, sizeof why, "the worker's start-up failed with %s, not NOMEM",
                 op_errname(r.w1_start));
    else if (r.w1_start == OP_OK && r.w1_done + r.w1_failed != 1)
        snprintf(why, sizeof why, "the worker's run ended with %d done, %d failed", r.w1_done,
                 r.w1_failed);
    else if (r.w1_failed && !r.w1_error[0])
        snprintf(why, sizeof why, "the worker's run failed without a reason");
    else if ((r.w1_failed || r.w1_start != OP_OK) && !log_names_memory())
        surfaced_ok = false;
    else if (log_wrong_cause())
        snprintf(why, sizeof why, "the log blames the peer: %.200s", log_wrong_cause());
    else if (!r.o_up)
        snprintf(why, sizeof why, "the office is not up after the fault");
    else if (r.mid_why[0])
        snprintf(why, sizeof why, "%s", r.mid_why);
    else if (r.w2_start != OP_OK || r.w2.once_done != 1)
        snprintf(why, sizeof why, "the clean session after the fault: start %s, %d done (%s)",
                 op_errname(r.w2_start), r.w2.once_done, r.w2.once_error);
    if (!surfaced_ok)
        snprintf(why, sizeof why,
                 "the worker's run failed (%s) and no log line names a memory "
                 "failure",
                 r.w1_start != OP_OK ? op_errname(r.w1_start) : r.w1_error);
    if (!why[0]) {
        uint8_t state[NOTES];
        fu_expect e = {.state = state, .n = NOTES};
        char w2[480];
        int present = -1;
        memset(state, FU_ACKED, sizeof state);
        if (fu_check(dir_o, dir_o, &e, &present, w2, sizeof w2) != 0 || present != NOTES)
            snprintf(why, sizeof why, "the office after the clean session: %s (%d notes)",
                     present == NOTES ? w2 : "", present);
    }
    if (!reached) {
        if (why[0])
            failure(n, persist, why); /* without a fault, everything must work */
        return true;
    }
    if (!fa.failed)
        return false; /* skipped (above) */
    if (r.w1_done == 1 && r.w1_start == OP_OK)
        absorbed++;
    if (r.torn_down) {
        torn++;
        torn_quiet += !log_names_memory();
    }
    if (verbose)
        printf("alloc loop N=%llu %s: %s; worker: start %s, %s%s\n%s", (unsigned long long)n,
               persist ? "persistent" : "transient", why[0] ? why : "ok", op_errname(r.w1_start),
               r.w1_done ? "synced" : "failed: ", r.w1_error, logbuf);
    if (why[0]) {
        failure(n, persist, why);
        if (failed <= 3)
            printf("---- its log ----\n%s-----------------\n", logbuf);
    } else if (!fa_leak_free()) {
        failure(n, persist, "LeakSanitizer found a leak (above)");
    } else {
        passed++;
    }
    return false;
}

/* libuv aborts when it cannot grow its watcher array: checked in a child, so that the
 * exemption above stays true of the libuv in use. Returns 0 when the child aborted. */
static int
check_uv_aborts(void)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        uv_loop_t loop;
        uv_tcp_t tcp;
        struct sockaddr_in sa;
        int devnull = open("/dev/null", O_WRONLY);
        if (devnull >= 0)
            dup2(devnull, 2); /* the sanitizer's report of the abort */
        if (uv_loop_init(&loop) != 0)
            _exit(2);
        uv_realloc_fails = true;
        /* a descriptor above any the loop watches, so that uv__io_start must grow the array */
        int high = dup2(1, 200);
        if (high < 0)
            _exit(2);
        uv_tcp_init(&loop, &tcp);
        uv_ip4_addr("127.0.0.1", 0, &sa);
        for (int i = 0; i < 300; i++) /* fill the descriptors below: the socket lands high */
            if (dup(1) < 0)
                break;
        if (uv_tcp_bind(&tcp, (struct sockaddr *)&sa, 0) != 0)
            _exit(2);
        uv_listen((uv_stream_t *)&tcp, 1, NULL); /* uv__io_start: must grow, cannot: abort */
        _exit(0);
    }
    int st;
    if (waitpid(pid, &st, 0) != pid)
        return -1;
    return WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT ? 0 : 1;
}

static double
now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int
main(void)
{
    /* before any other libuv call: libuv must allocate through the counter from the start */
    if (uv_replace_allocator(uv_m, uv_r, uv_c, uv_f) != 0) {
        fprintf(stderr, "alloc_fault_loop: uv_replace_allocator failed\n");
        return 3;
    }
    const char *v = getenv("ALLOC_MAX");
    uint64_t max = v && *v ? strtoull(v, NULL, 10) : 500;
    v = getenv("ALLOC_FROM");
    uint64_t from = v && *v && strtoull(v, NULL, 10) ? strtoull(v, NULL, 10) : 1;
    const char *kind = getenv("ALLOC_KIND");
    if (!kind || !*kind)
        kind = "both";
    const char *phase = getenv("ALLOC_PHASE");
    if (!phase || !*phase)
        phase = "both";
    v = getenv("ALLOC_VERBOSE");
    verbose = v && *v == '1';
    if (!fa_install_sqlite() || sqlite3_initialize() != SQLITE_OK || sodium_init() < 0) {
        fprintf(stderr, "alloc_fault_loop: cannot set up\n");
        return 3;
    }
    signal(SIGPIPE, SIG_IGN); /* as outpostd does */
#ifdef HAVE_LSAN
    /* A sanitizer's report goes to the real stderr, not to the run's log file. */
    int report_fd = dup(2);
    if (report_fd >= 0)
        __sanitizer_set_report_fd((void *)(intptr_t)report_fd);
#endif
    const char *base = getenv("TMPDIR");
    snprintf(root, sizeof root, "%s/outpost-allocloop-XXXXXX",
             access("/dev/shm", W_OK) == 0 ? "/dev/shm"
             : base && *base               ? base
                                           : "/tmp");
    if (!mkdtemp(root)) {
        perror("alloc_fault_loop: mkdtemp");
        return 3;
    }
    snprintf(dir_w, sizeof dir_w, "%s/worker", root);
    snprintf(dir_o, sizeof dir_o, "%s/office", root);
    snprintf(log_path, sizeof log_path, "%s/run.log", root);
    printf("alloc loop: ALLOC_MAX=%llu ALLOC_KIND=%s dir %s%s\n", (unsigned long long)max, kind,
           root,
#ifdef HAVE_LSAN
           " (leak check every ALLOC_LEAK_EVERY runs)"
#else
           ""
#endif
    );
    if (pick_listen_addr() != 0) {
        printf("FAIL: the name localhost does not resolve\n");
        return 1;
    }
    printf("alloc loop: the office listens on %s, the worker dials localhost\n", listen_addr);
    int ab = check_uv_aborts();
    printf("alloc loop: libuv %s abort()s when its watcher array cannot grow: %s\n",
           uv_version_string(), ab == 0 ? "yes (checked in a child: SIGABRT)" : "NOT SEEN");
    if (ab != 0)
        failed++; /* the exemption would be unjustified: look at libuv's maybe_resize again */
    fflush(stdout);
    double t0 = now_s();
    if (make_templates() != 0) {
        printf("FAIL: cannot make the templates\n");
        return 1;
    }
    (void)run_one(0, false, true); /* counted, none failing */
    uint64_t in_start = start_allocs;
    printf("alloc loop: a run makes %llu allocations (%llu of them libuv's; libuv made %llu in "
           "all so far, loop set-ups included): %llu in the worker's start-up (its dial "
           "included), then %llu in the session\n",
           (unsigned long long)fa.n, (unsigned long long)uv_allocs,
           (unsigned long long)uv_allocs_all, (unsigned long long)in_start,
           (unsigned long long)(fa.n - in_start));
    fflush(stdout);
    for (int ph = 0; ph < 2; ph++) {
        /* start: N within the worker's start-up (CI: its last START_TAIL, the dial among them);
         * session: N counted from the end of the start-up */
        const char *phname = ph == 0 ? "start" : "session";
        if (strcmp(phase, "both") != 0 && strcmp(phase, phname) != 0)
            continue;
        uint64_t first =
            ph == 0 && max != 0 && in_start > START_TAIL ? in_start - START_TAIL + 1 : 1;
        uint64_t last = ph == 0 ? in_start : max == 0 ? UINT64_MAX : max;
        if (from > 1) { /* a window to re-run: ALLOC_FROM..ALLOC_MAX in either phase */
            first = from;
            if (ph == 0 && max != 0 && max < last)
                last = max;
        }
        for (int persist = 0; persist < 2; persist++) {
            if (strcmp(kind, "both") != 0 &&
                strcmp(kind, persist ? "persistent" : "transient") != 0)
                continue;
            uint64_t n, before = passed + failed, sk = skipped, abs0 = absorbed, tn = torn,
                        tq = torn_quiet;
            bool done = false;
            double t1 = now_s();
            for (n = first; n <= last && !done; n++) {
                int f0 = open_fds();
                double t2 = now_s();
                done = run_one(n, persist, ph == 0);
                if (verbose)
                    printf("alloc loop N=%llu took %.2f s\n", (unsigned long long)n, now_s() - t2);
                if (open_fds() != f0) {
                    char why[128];
                    snprintf(why, sizeof why, "%d files open before the run, %d after", f0,
                             open_fds());
                    failure(n, persist, why);
                }
            }
            printf("alloc loop %s %s: N = %llu..%llu (%s), %llu runs with the fault hit (%llu "
                   "absorbed: the session completed anyway; %llu torn down by the test, %llu of "
                   "them before any log line named the failure), %llu skipped (libuv abort "
                   "path), %.1f s\n",
                   phname, persist ? "persistent" : "transient", (unsigned long long)first,
                   (unsigned long long)(n - 1),
                   done ? "the session completed below N" : "limit reached",
                   (unsigned long long)(passed + failed - before),
                   (unsigned long long)(absorbed - abs0), (unsigned long long)(torn - tn),
                   (unsigned long long)(torn_quiet - tq), (unsigned long long)(skipped - sk),
                   now_s() - t1);
            fflush(stdout);
        }
    }
    printf("alloc loop: %llu passed, %llu failed, %llu skipped, %llu runs met libuv's watcher "
           "array growth, %.1f s\n",
           (unsigned long long)passed, (unsigned long long)failed, (unsigned long long)skipped,
           (unsigned long long)exempted, now_s() - t0);
    printf("%d passed, %d failed\n", failed == 0, failed != 0);
    if (failed == 0) {
        static const char *const dirs[] = {"worker", "office", "worker_tpl", "office_tpl"};
        for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
            char d[PATH_MAX], k[PATH_MAX + 32];
            snprintf(d, sizeof d, "%s/%s", root, dirs[i]);
            fu_rm_store(d);
            snprintf(k, sizeof k, "%s/%s", d, STORE_IDENTITY_FILE);
            unlink(k);
            snprintf(k, sizeof k, "%s/network.key", d);
            unlink(k);
            rmdir(d);
        }
        unlink(log_path);
        rmdir(root);
    } else {
        printf("files kept in %s\n", root);
    }
    return failed ? 1 : 0;
}
