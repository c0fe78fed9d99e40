/*
 * alloc_fault.c — out of memory at the Nth allocation (TESTING A5).
 *
 * One counter covers every allocation the store and the sync session make:
 *   - SQLite's, through sqlite3_config(SQLITE_CONFIG_MALLOC) wrapping its default allocator;
 *   - ours (proto/, store/, agent/): malloc, calloc, realloc, strdup and sodium_malloc, wrapped
 *     at link time (-Wl,--wrap=..., see tests.cmake), so only the static libraries' calls
 *     and this file's are counted, not libc's own;
 *   - msgpack-c's: it allocates inside the shared library, where a link-time wrap cannot
 *     reach; the decoders meet its out-of-memory only as MSGPACK_UNPACK_NOMEM_ERROR from
 *     msgpack_unpack_next, so that call is wrapped and counts as one allocation.
 * (libuv's uv_replace_allocator is not used: these workloads run the session without the
 * event loop, the part of the agent that decides what is stored.)
 *
 * Workloads, each run for N = 1, 2, ... with the Nth allocation failing once (transient) or
 * that one and every later one (persistent), until the workload runs without reaching N or
 * N passes ALLOC_MAX (default 500, the CI figure; 0 = no limit, the gate's long mode):
 *   append   create a store, 3 appends, close; reopen, 3 appends, close (fault_util.h).
 *   sync     a 100-entry sync session (agent/session.h) from a worker's store to the office's,
 *            both open, messages passed in memory; the office ingests and projects each run.
 *   ingest   the same 100 entries handed to store_log_ingest in runs of 30, as the session
 *            does, without the conversation: its first 500 N reach the key entry's decoding,
 *            the bodies and the projections, which sync reaches only after N = 1,000.
 * After each run, with allocation working again: no crash (the harness runs on); no leak (under
 * LeakSanitizer, a leak check every ALLOC_LEAK_EVERY runs, default 20, and at exit;
 * ALLOC_LEAK_EVERY=1 names the N); no file descriptor left open by the run; each call that failed
 * returned OP_E_NOMEM; the store passes fu_check (integrity_check, every acknowledged append there
 * once, whole entries, every projection row present, store_verify); for sync, a clean session then
 * brings the office everything and its projections agree.
 *
 * Environment: ALLOC_MAX, ALLOC_FROM (first N, to re-run a failure), ALLOC_WORKLOAD
 * (append|sync|ingest|all), ALLOC_LEAK_EVERY. The walk is
 * deterministic (no SEED). Long mode: ALLOC_MAX=0 (every N: ~8,800 allocations in append,
 * ~4,400 in sync, ~2,300 in ingest, so ~31,000 runs). Prints "N passed, N failed".
 */
#include <dirent.h>
#include <limits.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#define HAVE_LSAN 1
#endif

#include "agent/session.h"
#include "store/have.h"
#include "store/log.h"
#include "tests/fault/alloc_counter.h"
#include "tests/fault/fault_util.h"

/* ---- harness ---- */

static char root[1024];
static uint64_t passed, failed;
static const uint64_t T1 = 1764100000000ull;

static void
failure(const char *wl, uint64_t n, bool persist, const char *why)
{
    failed++;
    if (failed <= 10)
        printf("FAIL alloc %s N=%llu %s: %s\n", wl, (unsigned long long)n,
               persist ? "persistent" : "transient", why);
}

static void
arm(uint64_t n, bool persist)
{
    fa.n = fa.failed = 0;
    fa.fail_at = n;
    fa.persist = persist;
    fa.armed = true;
}

/* -- append -- */

#define AP_NOTES 6

typedef struct run_result {
    int calls, failures, wrong;
    op_err wrong_code;
} run_result;

static void
note_call(run_result *res, op_err r)
{
    res->calls++;
    if (r == OP_OK)
        return;
    res->failures++;
    if (r != OP_E_NOMEM) {
        res->wrong++;
        res->wrong_code = r;
    }
}

static void
append_workload(const char *node, uint8_t state[AP_NOTES], run_result *res)
{
    int i = 0;
    for (int s = 0; s < 2; s++) {
        fu_node nd;
        op_err r = fu_open(&nd, node, STORE_OPEN_CREATE);
        note_call(res, r);
        if (r != OP_OK) {
            i += 3;
            continue;
        }
        for (int j = 0; j < 3; j++, i++) {
            state[i] = FU_TRIED;
            r = fu_append(&nd, i, 0);
            note_call(res, r);
            if (r == OP_OK)
                state[i] = FU_ACKED;
        }
        fu_close(&nd);
    }
}

/* Returns true when the workload ran without reaching N. */
static bool
run_append(uint64_t n, bool persist)
{
    char node[PATH_MAX], why[512];
    uint8_t state[AP_NOTES] = {0};
    run_result res = {0};
    snprintf(node, sizeof node, "%s/append", root);
    fu_rm_store(node);
    arm(n, persist);
    append_workload(node, state, &res);
    fa.armed = false;
    if (fa.failed == 0)
        return true;
    fu_expect e = {.state = state, .n = AP_NOTES, .prefix = false, .resume = true};
    if (res.wrong) {
        snprintf(why, sizeof why, "%d failed calls returned %s, not NOMEM", res.wrong,
                 op_errname(res.wrong_code));
        failure("append", n, persist, why);
    } else if (fu_check(node, node, &e, NULL, why, sizeof why) != 0) {
        failure("append", n, persist, why);
    } else if (!fa_leak_free()) {
        failure("append", n, persist, "LeakSanitizer found a leak (above)");
    } else {
        passed++;
    }
    return false;
}

/* -- sync -- */

#define SY_NOTES 100

typedef struct msgq {
    uint8_t *msgs[4096];
    size_t lens[4096];
    size_t n, head;
    bool overflow;
} msgq;

static op_err
q_send(void *ctx, const uint8_t *msg, size_t n)
{
    msgq *q = ctx;
    if (q->n == sizeof q->msgs / sizeof q->msgs[0]) {
        q->overflow = true;
        return OP_E_TOOBIG;
    }
    uint8_t *copy = __real_malloc(n ? n : 1); /* the wire, not the node: never fails */
    if (!copy)
        abort();
    memcpy(copy, msg, n);
    q->msgs[q->n] = copy;
    q->lens[q->n++] = n;
    return OP_OK;
}

static void
q_free(msgq *q)
{
    for (size_t i = q->head; i < q->n; i++)
        free(q->msgs[i]);
    q->n = q->head = 0;
}

static msgq to_w, to_o;

/* One session between the worker w and the office o. Returns the first error (any call of
 * either side) or OP_OK once both are synced; *synced says which. */
static op_err
meet(fu_node *w, fu_node *o, run_result *res, bool *synced)
{
    agent_session *sw = NULL, *so = NULL;
    agent_session_io iw = {.ctx = &to_o, .send = q_send}, io = {.ctx = &to_w, .send = q_send};
    bool more;
    op_err r;
    *synced = false;
    if ((r = agent_session_new(w->db, w->rd, &iw, &sw)) != OP_OK ||
        (r = agent_session_new(o->db, o->rd, &io, &so)) != OP_OK ||
        (r = agent_session_start(sw, T1)) != OP_OK || (r = agent_session_start(so, T1)) != OP_OK)
        goto out;
    for (int rounds = 0; rounds < 10000; rounds++) {
        if (agent_session_synced(sw) && agent_session_synced(so) && to_w.head == to_w.n &&
            to_o.head == to_o.n) {
            *synced = true;
            break;
        }
        if ((r = agent_session_pump(sw, 16384, &more)) != OP_OK ||
            (r = agent_session_pump(so, 16384, &more)) != OP_OK)
            goto out;
        bool progress = false;
        msgq *qs[2] = {&to_o, &to_w};
        agent_session *ss[2] = {so, sw};
        for (int k = 0; k < 2; k++)
            while (qs[k]->head < qs[k]->n) {
                size_t i = qs[k]->head++;
                r = agent_session_recv(ss[k], qs[k]->msgs[i], qs[k]->lens[i], T1);
                free(qs[k]->msgs[i]);
                progress = true;
                if (r != OP_OK)
                    goto out;
            }
        if (!progress && !(agent_session_synced(sw) && agent_session_synced(so))) {
            if ((r = agent_session_pump(sw, 16384, &more)) != OP_OK ||
                (r = agent_session_pump(so, 16384, &more)) != OP_OK)
                goto out;
            if (to_w.head == to_w.n && to_o.head == to_o.n)
                break; /* stuck: reported by the caller */
        }
    }
out:
    if (res)
        note_call(res, r);
    agent_session_free(sw);
    agent_session_free(so);
    q_free(&to_w);
    q_free(&to_o);
    return r;
}

static char worker_tpl[PATH_MAX], office_tpl[PATH_MAX];

/* The worker with SY_NOTES entries and the office with none, made once, unarmed; each run
 * starts from copies. */
static int
make_templates(void)
{
    fu_node w, o;
    snprintf(worker_tpl, sizeof worker_tpl, "%s/worker_tpl", root);
    snprintf(office_tpl, sizeof office_tpl, "%s/office_tpl", root);
    if (fu_fresh_node(office_tpl) != OP_OK || fu_fresh_node(worker_tpl) != OP_OK)
        return -1;
    store_identity *oid;
    if (store_identity_load(office_tpl, &oid) != OP_OK)
        return -1;
    fu_set_office(oid->pk); /* the worker's bodies are sealed to the office: it projects them */
    store_identity_free(oid);
    /* the office admits the worker (a member entry), so the worker's records count there */
    store_identity *wid;
    proto_body mb;
    store_appended ap;
    if (store_identity_load(worker_tpl, &wid) != OP_OK)
        return -1;
    proto_body_init(&mb, PROTO_KIND_MEMBER);
    mb.has_key = true;
    memcpy(mb.key, wid->pk, PROTO_KEY_BYTES);
    store_identity_free(wid);
    mb.name = "Worker"; /* borrowed: no fini */
    mb.role = "worker";
    if (fu_open(&o, office_tpl, STORE_OPEN_CREATE) != OP_OK)
        return -1;
    op_err r = store_log_append(o.db, o.rd, o.id, &mb, T1 - 1000, &ap);
    fu_close(&o);
    if (r != OP_OK)
        return -1;
    if (fu_open(&w, worker_tpl, STORE_OPEN_CREATE) != OP_OK)
        return -1;
    for (int i = 0; i < SY_NOTES; i++)
        if (fu_append(&w, i, 0) != OP_OK)
            return -1;
    fu_close(&w); /* checkpointed: the database file alone holds it all */
    return 0;
}

static int
from_template(const char *tpl, const char *dir)
{
    char a[PATH_MAX + 32], b[PATH_MAX + 32];
    if (fu_mkdir(dir) != 0)
        return -1;
    fu_rm_store(dir);
    snprintf(a, sizeof a, "%s/%s", tpl, STORE_IDENTITY_FILE);
    snprintf(b, sizeof b, "%s/%s", dir, STORE_IDENTITY_FILE);
    unlink(b);
    if (fu_copy_file(a, b) != 0 || chmod(b, 0600) != 0)
        return -1;
    snprintf(a, sizeof a, "%s/%s", tpl, STORE_DB_FILE);
    snprintf(b, sizeof b, "%s/%s", dir, STORE_DB_FILE);
    return fu_copy_file(a, b);
}

static bool
run_sync(uint64_t n, bool persist)
{
    char wd[PATH_MAX], od[PATH_MAX], why[512];
    uint8_t state[SY_NOTES];
    run_result res = {0};
    fu_node w, o;
    bool synced = false;
    snprintf(wd, sizeof wd, "%s/worker", root);
    snprintf(od, sizeof od, "%s/office", root);
    if (from_template(worker_tpl, wd) != 0 || from_template(office_tpl, od) != 0) {
        failure("sync", n, persist, "cannot copy the templates");
        return true;
    }
    /* the stores are opened before the fault is armed: the session is under test here */
    if (fu_open(&w, wd, 0) != OP_OK || fu_open(&o, od, 0) != OP_OK) {
        failure("sync", n, persist, "cannot open the copies");
        return true;
    }
    arm(n, persist);
    OP_IGNORE(meet(&w, &o, &res, &synced)); /* res has it */
    fa.armed = false;
    bool reached = fa.failed != 0;
    if (!reached) {
        fu_close(&w);
        fu_close(&o);
        if (!synced)
            failure("sync", n, persist, "without a fault the session did not sync");
        return true;
    }
    fu_close(&w);
    fu_close(&o);
    /* what the office holds now must be whole; none of it was acknowledged to a user */
    memset(state, FU_TRIED, sizeof state);
    fu_expect e = {.state = state, .n = SY_NOTES, .prefix = false, .resume = false};
    if (res.wrong) {
        snprintf(why, sizeof why, "the session failed with %s, not NOMEM",
                 op_errname(res.wrong_code));
        failure("sync", n, persist, why);
        return false;
    }
    if (fu_check(od, od, &e, NULL, why, sizeof why) != 0) {
        failure("sync", n, persist, why);
        return false;
    }
    /* memory back: a clean session brings the office everything, projected */
    op_err r;
    if ((r = fu_open(&w, wd, 0)) != OP_OK || (r = fu_open(&o, od, 0)) != OP_OK) {
        snprintf(why, sizeof why, "cannot reopen after the fault: %s", op_errname(r));
        failure("sync", n, persist, why);
        return false;
    }
    r = meet(&w, &o, NULL, &synced);
    fu_close(&w);
    fu_close(&o);
    memset(state, FU_ACKED, sizeof state);
    int present = 0;
    if (r != OP_OK || !synced) {
        snprintf(why, sizeof why, "the session after the fault: %s, synced %d", op_errname(r),
                 synced);
        failure("sync", n, persist, why);
    } else if (fu_check(od, od, &e, &present, why, sizeof why) != 0 || present != SY_NOTES) {
        if (present != SY_NOTES && !why[0])
            snprintf(why, sizeof why, "the office projects %d of %d", present, SY_NOTES);
        failure("sync", n, persist, why);
    } else if (!fa_leak_free()) {
        failure("sync", n, persist, "LeakSanitizer found a leak (above)");
    } else {
        passed++;
    }
    return false;
}

/* -- ingest: the office stores the worker's log read back as runs, as a session hands them
 * over, without the conversation before it (so the first N reach the key entry's decoding,
 * the bodies and the projections) -- */

static bool
run_ingest(uint64_t n, bool persist)
{
    char wd[PATH_MAX], od[PATH_MAX], why[512];
    uint8_t state[SY_NOTES];
    run_result res = {0};
    store_run runs[4] = {{0}};
    fu_node w, o;
    bool done = true;
    snprintf(wd, sizeof wd, "%s/worker", root);
    snprintf(od, sizeof od, "%s/office", root);
    if (from_template(worker_tpl, wd) != 0 || from_template(office_tpl, od) != 0 ||
        fu_open(&w, wd, 0) != OP_OK) {
        failure("ingest", n, persist, "cannot set up");
        return true;
    }
    size_t k = 0;
    for (uint64_t from = 1; k < 4; k++, from += 30)
        if (store_log_read(w.db, w.id->pk, from, 30, &runs[k]) != OP_OK || runs[k].n == 0)
            break;
    fu_close(&w);
    if (fu_open(&o, od, 0) != OP_OK) {
        failure("ingest", n, persist, "cannot open the office");
        goto out;
    }
    arm(n, persist);
    for (size_t i = 0; i < k && res.failures == 0; i++) { /* a failed run ends it, as a
                                                           * session would end */
        store_ingested got;
        note_call(&res, store_log_ingest(o.db, o.rd, runs[i].items, runs[i].n, T1, &got, NULL));
    }
    fa.armed = false;
    done = fa.failed == 0;
    fu_close(&o);
    memset(state, FU_TRIED, sizeof state);
    fu_expect e = {.state = state, .n = SY_NOTES, .prefix = false, .resume = false};
    if (done)
        goto out;
    if (res.wrong) {
        snprintf(why, sizeof why, "ingest failed with %s, not NOMEM", op_errname(res.wrong_code));
        failure("ingest", n, persist, why);
    } else if (fu_check(od, od, &e, NULL, why, sizeof why) != 0) {
        failure("ingest", n, persist, why);
    } else if (fu_open(&o, od, 0) != OP_OK) {
        failure("ingest", n, persist, "cannot reopen the office");
    } else {
        /* memory back: the same runs again store what is missing, all projected */
        int present = 0;
        op_err r = OP_OK;
        for (size_t i = 0; i < k && r == OP_OK; i++) {
            store_ingested got;
            r = store_log_ingest(o.db, o.rd, runs[i].items, runs[i].n, T1, &got, NULL);
        }
        fu_close(&o);
        memset(state, FU_ACKED, (size_t)(k * 30 < SY_NOTES ? k * 30 : SY_NOTES) - 1);
        if (r != OP_OK) {
            snprintf(why, sizeof why, "ingest after the fault: %s", op_errname(r));
            failure("ingest", n, persist, why);
        } else if (fu_check(od, od, &e, &present, why, sizeof why) != 0) {
            failure("ingest", n, persist, why);
        } else if (!fa_leak_free()) {
            failure("ingest", n, persist, "LeakSanitizer found a leak (above)");
        } else {
            passed++;
        }
    }
out:
    for (size_t i = 0; i < 4; i++)
        store_run_free(&runs[i]);
    return done;
}

static double
now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Open file descriptors: a SQLite connection that failed to close keeps its files open. */
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

int
main(void)
{
    const char *v = getenv("ALLOC_MAX");
    uint64_t max = v && *v ? strtoull(v, NULL, 10) : 500;
    v = getenv("ALLOC_FROM"); /* to re-run a failure: its N */
    uint64_t from = v && *v && strtoull(v, NULL, 10) ? strtoull(v, NULL, 10) : 1;
    const char *wl = getenv("ALLOC_WORKLOAD");
    if (!wl || !*wl)
        wl = "all";
    if (!fa_install_sqlite() || sqlite3_initialize() != SQLITE_OK || sodium_init() < 0) {
        fprintf(stderr, "alloc_fault: cannot set up\n");
        return 3;
    }
    const char *base = getenv("TMPDIR");
    snprintf(root, sizeof root, "%s/outpost-alloc-XXXXXX",
             access("/dev/shm", W_OK) == 0 ? "/dev/shm"
             : base && *base               ? base
                                           : "/tmp");
    if (!mkdtemp(root)) {
        perror("alloc_fault: mkdtemp");
        return 3;
    }
    printf("alloc: ALLOC_MAX=%llu ALLOC_WORKLOAD=%s dir %s%s\n", (unsigned long long)max, wl, root,
#ifdef HAVE_LSAN
           " (leak check every ALLOC_LEAK_EVERY runs)"
#else
           ""
#endif
    );
    fflush(stdout);
    double t0 = now_s();
    for (int w = 0; w < 3; w++) {
        static const char *const names[] = {"append", "sync", "ingest"};
        const char *name = names[w];
        if (strcmp(wl, "all") != 0 && strcmp(wl, name) != 0)
            continue;
        if (w >= 1 && !worker_tpl[0] && make_templates() != 0) {
            printf("FAIL: cannot make the sync templates\n");
            failed++;
            continue;
        }
        char node[PATH_MAX];
        snprintf(node, sizeof node, "%s/append", root);
        if (w == 0 && fu_fresh_node(node) != OP_OK) {
            printf("FAIL: cannot make a node\n");
            failed++;
            continue;
        }
        /* how many allocations the whole workload makes (counted, none failing) */
        if (w == 0)
            (void)run_append(0, false);
        else if (w == 1)
            (void)run_sync(0, false);
        else
            (void)run_ingest(0, false);
        printf("alloc %s: the workload makes %llu allocations\n", name, (unsigned long long)fa.n);
        for (int persist = 0; persist < 2; persist++) {
            uint64_t n;
            bool done = false;
            uint64_t before = passed + failed;
            for (n = from; (max == 0 || n <= max) && !done; n++) {
                int f0 = open_fds();
                done = w == 0   ? run_append(n, persist)
                       : w == 1 ? run_sync(n, persist)
                                : run_ingest(n, persist);
                if (open_fds() != f0) {
                    char why[128];
                    snprintf(why, sizeof why,
                             "%d files open before the run, %d after: a "
                             "connection or file was not closed",
                             f0, open_fds());
                    failure(name, n, persist, why);
                }
            }
            printf("alloc %s %s: N = %llu..%llu (%s), %llu runs with the fault hit\n", name,
                   persist ? "persistent" : "transient", (unsigned long long)from,
                   (unsigned long long)(n - 1),
                   done ? "the workload completed below N" : "limit reached",
                   (unsigned long long)(passed + failed - before));
            fflush(stdout);
        }
    }
    printf("alloc: %llu passed, %llu failed, %.1f s\n", (unsigned long long)passed,
           (unsigned long long)failed, now_s() - t0);
    printf("%d passed, %d failed\n", failed == 0, failed != 0);
    if (failed == 0) {
        static const char *const dirs[] = {"append", "worker", "office", "worker_tpl",
                                           "office_tpl"};
        for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
            char d[PATH_MAX], k[PATH_MAX + 32];
            snprintf(d, sizeof d, "%s/%s", root, dirs[i]);
            snprintf(k, sizeof k, "%s/%s", d, STORE_IDENTITY_FILE);
            fu_rm_store(d);
            unlink(k);
            rmdir(d);
        }
        rmdir(root);
    } else {
        printf("files kept in %s\n", root);
    }
    return failed ? 1 : 0;
}
