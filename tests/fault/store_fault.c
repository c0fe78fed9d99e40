/*
 * store_fault.c — simulated power loss (TESTING A3) and I/O errors (A4) under the store's real
 * code, through the VFS shim of vfs_fault.h.
 *
 *   store_fault crash        A3. A workload of CRASH_TX (default 200) appends through
 *                            store_log_append, the way `outpost checkin` and `outpost kpi record`
 *                            write (WAL, synchronous=FULL, one transaction each), in sessions of
 *                            1-8 appends that open and close the store as the CLI does (so
 *                            checkpoints and WAL resets are crash points too). At every xSync
 *                            the crash hook writes a copy of the store as a power cut at that
 *                            instant would leave it, in 3 modes (every unsynced write applied;
 *                            none; torn: each 512-byte piece applied, dropped or garbage,
 *                            seeded), and checks the copy with the real code (fault_util.h:
 *                            integrity_check ok, every acknowledged append there exactly once,
 *                            none partly there, the notes a prefix c0..cM, store_verify clean,
 *                            and a new append works). Torn copies keep the -shm of the moment,
 *                            so a stale WAL index is met too. Workloads with new seeds run
 *                            until CRASH_POINTS (default 2000) points are checked.
 *
 *                            This is test6.c's crash, taken at every sync of one run instead of
 *                            one run per crash point: the workload's prefix runs once, so 2,000
 *                            points take seconds. `crash-exit` checks that the shortcut is
 *                            faithful.
 *
 *   store_fault crash-exit   A3 as test6.c does it, CRASH_EXIT_POINTS (default 30) times: a
 *                            child process runs the workload, at a random xSync puts the real
 *                            files in the crashed state and calls _exit; the parent (which
 *                            read the acknowledgements from a pipe) checks the store in place,
 *                            with the dead child's -shm still there.
 *
 *   store_fault ioerr        A4. A smaller workload (create the store, then sessions of 2, 3
 *                            and 3 appends) with the Nth VFS operation failing, for every N
 *                            until the workload runs without reaching N, in three kinds: that
 *                            operation only (transient), every operation from N on
 *                            (persistent), and every write from N on failing with SQLITE_FULL
 *                            (a full disk: reads still work). Each call must return OK or an
 *                            error code (never crash; with a full disk, OP_E_DISK_FULL), and
 *                            once the fault is gone the store must pass the same check, both
 *                            as the files were at the end (as after kill -9) and after a clean
 *                            reopen, and take a new append.
 *
 * Environment: SEED (default random, printed; re-runs a failure), CRASH_POINTS, CRASH_TX,
 * CRASH_EXIT_POINTS, IOERR_MAX (stop after this N, default: none), FAULT_DIR (default under
 * $TMPDIR), FAULT_KEEP=1 keeps the directory. Long mode: CRASH_POINTS=50000. Prints
 * "N passed, N failed" and exits 0 only when everything passed.
 */
#include <errno.h>
#include <limits.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "store/keyfile.h"
#include "tests/fault/fault_util.h"
#include "tests/fault/vfs_fault.h"

static char root[1024];

/* out = a b c; the fault tests' paths are short, a long one is a setup error. */
static void
path3(char *out, size_t n, const char *a, const char *b, const char *c)
{
    if ((size_t)snprintf(out, n, "%s%s%s", a, b, c) >= n) {
        fprintf(stderr, "store_fault: path too long: %s%s%s\n", a, b, c);
        exit(3);
    }
}

static uint64_t
env_u64(const char *name, uint64_t dflt)
{
    const char *v = getenv(name);
    return v && *v ? strtoull(v, NULL, 10) : dflt;
}

static double
now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t
mix(uint64_t a, uint64_t b)
{
    uint64_t z = a * 0x9e3779b97f4a7c15ull ^ (b + 0x632be59bd9b4e019ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void
rm_rf_dir(const char *dir)
{
    char path[PATH_MAX];
    fu_rm_store(dir);
    snprintf(path, sizeof path, "%s/%s", dir, STORE_IDENTITY_FILE);
    unlink(path);
    rmdir(dir);
}

/* ---- A3: the workload ---- */

typedef struct workload {
    const char *node; /* the node's directory */
    uint64_t seed;    /* picks the session lengths */
    int n;            /* appends */
    uint8_t *state;   /* per note: FU_* */
    int ack_fd;       /* crash-exit: acknowledgements go to this pipe (-1: none) */
    op_err failed;    /* the first failure, if any */
} workload;

/* Runs the appends in sessions of 1-8, each opening and closing the store as the CLI does.
 * Stops at the first failure (there is none without faults). */
static void
run_workload(workload *w)
{
    uint64_t s = w->seed;
    int i = 0;
    w->failed = OP_OK;
    while (i < w->n) {
        fu_node nd;
        int k = 1 + (int)(mix(s, (uint64_t)i) % 8);
        op_err r = fu_open(&nd, w->node, STORE_OPEN_CREATE);
        if (r != OP_OK) {
            w->failed = r;
            return;
        }
        for (int j = 0; j < k && i < w->n; j++, i++) {
            w->state[i] = FU_TRIED;
            if ((r = fu_append(&nd, i, 0)) != OP_OK) {
                w->failed = r;
                fu_close(&nd);
                return;
            }
            w->state[i] = FU_ACKED;
            if (w->ack_fd >= 0) {
                int32_t v = i;
                if (write(w->ack_fd, &v, sizeof v) != sizeof v)
                    _exit(3);
            }
        }
        fu_close(&nd);
    }
}

/* ---- A3: crash at every sync ---- */

typedef struct crash_ctx {
    workload *w;
    char copy[PATH_MAX];
    uint64_t seed, run, target, points, passed, failed, shm_copies;
    uint64_t modes[3];
    int present_min, present_max;
} crash_ctx;

static const char *const mode_name[] = {"apply", "drop", "torn"};

static void
crash_point(crash_ctx *c, uint64_t sync_n, enum vf_crash_mode mode)
{
    static const char *const files[] = {"", "-wal", "-journal"};
    char src[PATH_MAX], dst[PATH_MAX], why[512];
    uint64_t pseed = mix(mix(c->seed, c->run), sync_n * 3 + mode);
    int rc = 0, present = 0;

    fu_rm_store(c->copy);
    for (size_t f = 0; f < 3 && rc == 0; f++) {
        path3(src, sizeof src, c->w->node, "/" STORE_DB_FILE, files[f]);
        path3(dst, sizeof dst, c->copy, "/" STORE_DB_FILE, files[f]);
        rc = vf_crash_copy(src, dst, mode, pseed + f);
    }
    if (rc == 0 && mode == VF_CRASH_TORN) {
        /* the WAL index as the writer left it: stale after the crash, SQLite must notice */
        path3(src, sizeof src, c->w->node, "/" STORE_DB_FILE, "-shm");
        path3(dst, sizeof dst, c->copy, "/" STORE_DB_FILE, "-shm");
        if (access(src, F_OK) == 0) {
            rc = vf_crash_copy(src, dst, VF_CRASH_APPLY, 0);
            c->shm_copies++;
        }
    }
    c->points++;
    c->modes[mode]++;
    if (rc != 0) {
        snprintf(why, sizeof why, "making the crash copy: %s", strerror(-rc));
        rc = 1;
    } else {
        /* a new write after the crash: at every torn point (the most damaged copies) */
        fu_expect e = {
            .state = c->w->state, .n = c->w->n, .prefix = true, .resume = mode == VF_CRASH_TORN};
        rc = fu_check(c->copy, c->w->node, &e, &present, why, sizeof why);
    }
    if (rc) {
        c->failed++;
        if (c->failed <= 10)
            printf("FAIL crash point: SEED=%llu run %llu sync %llu mode %s: %s\n",
                   (unsigned long long)c->seed, (unsigned long long)c->run,
                   (unsigned long long)sync_n, mode_name[mode], why);
        return;
    }
    c->passed++;
    if (present < c->present_min)
        c->present_min = present;
    if (present > c->present_max)
        c->present_max = present;
}

static void
on_sync(void *ctx, uint64_t n)
{
    crash_ctx *c = ctx;
    for (int m = 0; m < 3 && c->points < c->target; m++)
        crash_point(c, n, (enum vf_crash_mode)m);
}

static int
cmd_crash(uint64_t seed)
{
    uint64_t target = env_u64("CRASH_POINTS", 2000);
    int tx = (int)env_u64("CRASH_TX", 200);
    char node[PATH_MAX];
    crash_ctx c = {.seed = seed, .target = target, .present_min = INT_MAX};
    workload w = {.node = node, .n = tx, .ack_fd = -1};
    double t0 = now_s();
    uint64_t syncs = 0;

    path3(node, sizeof node, root, "/node", "");
    path3(c.copy, sizeof c.copy, root, "/crash", "");
    if (fu_mkdir(c.copy) != 0 || !(w.state = calloc((size_t)tx, 1)))
        return 3;
    c.w = &w;
    printf("crash: SEED=%llu CRASH_POINTS=%llu CRASH_TX=%d\n", (unsigned long long)seed,
           (unsigned long long)target, tx);
    fflush(stdout);
    for (c.run = 0; c.points < target; c.run++) {
        if (fu_fresh_node(node) != OP_OK) {
            printf("FAIL: cannot make a node in %s\n", node);
            return 1;
        }
        memset(w.state, 0, (size_t)tx);
        w.seed = mix(seed, c.run);
        vf_reset();
        vf_on_sync(on_sync, &c, 0);
        run_workload(&w);
        syncs += vf_syncs();
        vf_reset();
        if (w.failed != OP_OK) {
            printf("FAIL: the workload itself failed: %s (SEED=%llu run %llu)\n",
                   op_strerror(w.failed), (unsigned long long)seed, (unsigned long long)c.run);
            c.failed++;
            break;
        }
        /* and the store as the workload left it */
        char why[512];
        fu_expect e = {.state = w.state, .n = w.n, .prefix = true, .resume = false};
        if (fu_check(node, node, &e, NULL, why, sizeof why) != 0) {
            printf("FAIL: after the workload: %s\n", why);
            c.failed++;
            break;
        }
        if (c.run == 0 && vf_syncs() == 0 && syncs == 0) {
            printf("FAIL: the workload made no xSync: is the shim in place?\n");
            c.failed++;
            break;
        }
    }
    double took = now_s() - t0;
    printf("crash: %llu crash points (%llu apply, %llu drop, %llu torn; %llu with a stale -shm) "
           "over %llu workload runs of %d appends, %llu syncs; entries present after a crash "
           "%d..%d; %llu passed, %llu failed, %.1f s\n",
           (unsigned long long)c.points, (unsigned long long)c.modes[0],
           (unsigned long long)c.modes[1], (unsigned long long)c.modes[2],
           (unsigned long long)c.shm_copies, (unsigned long long)c.run, tx,
           (unsigned long long)syncs, c.present_min == INT_MAX ? 0 : c.present_min, c.present_max,
           (unsigned long long)c.passed, (unsigned long long)c.failed, took);
    free(w.state);
    return c.failed || c.points < target ? 1 : 0;
}

/* ---- A3: crash, then _exit, as test6.c ---- */

typedef struct exit_ctx {
    enum vf_crash_mode mode;
    uint64_t seed;
} exit_ctx;

static void
on_sync_exit(void *ctx, uint64_t n)
{
    exit_ctx *x = ctx;
    (void)n;
    if (vf_crash_in_place(x->mode, x->seed) != 0)
        _exit(4);
    _exit(77);
}

static int
cmd_crash_exit(uint64_t seed)
{
    uint64_t points = env_u64("CRASH_EXIT_POINTS", 30);
    int tx = (int)env_u64("CRASH_TX", 200);
    char node[PATH_MAX], why[512];
    uint64_t passed = 0, failed = 0, total_syncs;
    workload w = {.node = node, .n = tx, .ack_fd = -1};
    double t0 = now_s();

    path3(node, sizeof node, root, "/node", "");
    if (!(w.state = calloc((size_t)tx, 1)))
        return 3;
    /* A run without a crash counts the syncs of this workload. */
    if (fu_fresh_node(node) != OP_OK)
        return 3;
    w.seed = mix(seed, 0);
    vf_reset();
    run_workload(&w);
    total_syncs = vf_syncs();
    vf_reset();
    printf("crash-exit: SEED=%llu CRASH_EXIT_POINTS=%llu, %llu syncs in the workload\n",
           (unsigned long long)seed, (unsigned long long)points, (unsigned long long)total_syncs);
    fflush(stdout);
    if (total_syncs == 0 || w.failed != OP_OK) {
        printf("FAIL: the workload made no sync or failed\n");
        return 1;
    }
    for (uint64_t p = 0; p < points; p++) {
        exit_ctx x = {.mode = (enum vf_crash_mode)(p % 3), .seed = mix(seed, p + 1000)};
        uint64_t at = 1 + mix(seed, p) % total_syncs;
        int fds[2];
        fu_rm_store(node);
        if (pipe(fds) != 0)
            return 3;
        memset(w.state, 0, (size_t)tx);
        fflush(stdout);
        pid_t pid = fork();
        if (pid < 0)
            return 3;
        if (pid == 0) {
            close(fds[0]);
            w.ack_fd = fds[1];
            vf_reset();
            vf_on_sync(on_sync_exit, &x, at); /* only the chosen sync crashes */
            run_workload(&w);
            _exit(5); /* the crash never came */
        }
        close(fds[1]);
        int32_t v;
        int last = -1;
        while (read(fds[0], &v, sizeof v) == sizeof v)
            if (v >= 0 && v < tx) {
                w.state[v] = FU_ACKED;
                last = v;
            }
        close(fds[0]);
        int status;
        waitpid(pid, &status, 0);
        if (last + 1 < tx)
            w.state[last + 1] = FU_TRIED; /* the one in flight may or may not be there */
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 77) {
            printf("FAIL crash-exit point %llu (sync %llu): the child ended with status 0x%x\n",
                   (unsigned long long)p, (unsigned long long)at, status);
            failed++;
            continue;
        }
        fu_expect e = {.state = w.state, .n = tx, .prefix = true, .resume = true};
        int present;
        if (fu_check(node, node, &e, &present, why, sizeof why) != 0) {
            printf("FAIL crash-exit point %llu (SEED=%llu sync %llu mode %s): %s\n",
                   (unsigned long long)p, (unsigned long long)seed, (unsigned long long)at,
                   mode_name[x.mode], why);
            failed++;
        } else {
            passed++;
        }
    }
    printf("crash-exit: %llu crash points, %llu passed, %llu failed, %.1f s\n",
           (unsigned long long)points, (unsigned long long)passed, (unsigned long long)failed,
           now_s() - t0);
    free(w.state);
    return failed ? 1 : 0;
}

/* ---- A4: I/O errors ---- */

/* The A4 workload: create the store and append 2, then sessions of 3 and 3. Every call goes
 * on after a failure (a failed open skips its session), as a user would retry. */
#define IO_NOTES 8
static const int io_sessions[] = {2, 3, 3};

typedef struct io_result {
    uint8_t state[IO_NOTES];
    int calls, failures, wrong_code;
    op_err first, wrong;
} io_result;

/* The codes an I/O error may come back as: never one that reads as "absent" or "invalid". */
static bool
io_code_ok(enum vf_fault kind, op_err r)
{
    if (kind == VF_FAULT_FULL)
        return r == OP_E_DISK_FULL;
    return r == OP_E_IO || r == OP_E_CORRUPT || r == OP_E_BUSY || r == OP_E_NOMEM;
}

static void
io_failed(io_result *res, enum vf_fault kind, op_err r)
{
    res->failures++;
    if (!res->first)
        res->first = r;
    if (!io_code_ok(kind, r)) {
        res->wrong_code++;
        res->wrong = r;
    }
}

static void
io_workload(const char *node, enum vf_fault kind, io_result *res)
{
    int i = 0;
    memset(res, 0, sizeof *res);
    for (size_t s = 0; s < sizeof io_sessions / sizeof io_sessions[0]; s++) {
        fu_node nd;
        op_err r = fu_open(&nd, node, STORE_OPEN_CREATE);
        res->calls++;
        if (r != OP_OK) {
            io_failed(res, kind, r);
            i += io_sessions[s];
            continue;
        }
        for (int j = 0; j < io_sessions[s]; j++, i++) {
            res->state[i] = FU_TRIED;
            r = fu_append(&nd, i, 0);
            res->calls++;
            if (r == OP_OK) {
                res->state[i] = FU_ACKED;
                continue;
            }
            io_failed(res, kind, r);
        }
        fu_close(&nd);
    }
}

static int
cmd_ioerr(uint64_t seed)
{
    static const char *const kind_name[] = {"transient", "persistent", "disk-full"};
    uint64_t max = env_u64("IOERR_MAX", 0);
    char node[PATH_MAX], snap[PATH_MAX], why[512];
    uint64_t passed = 0, failed = 0, runs = 0;
    double t0 = now_s();
    int codes[64] = {0};

    (void)seed; /* the walk over N is exhaustive */
    path3(node, sizeof node, root, "/node", "");
    path3(snap, sizeof snap, root, "/snap", "");
    if (fu_mkdir(snap) != 0)
        return 3;
    if (fu_fresh_node(node) != OP_OK)
        return 3;
    for (int k = 0; k < 3; k++) {
        uint64_t n, hit = 0, ops = 0;
        for (n = 1; max == 0 || n <= max; n++) {
            io_result res;
            fu_rm_store(node); /* the identity stays: it is not the store's to lose */
            vf_reset();
            vf_fail_at(n, (enum vf_fault)k);
            io_workload(node, (enum vf_fault)k, &res);
            uint64_t nfailed = vf_failed();
            ops = vf_ops();
            vf_reset(); /* the fault is gone: space or the device came back */
            runs++;
            if (nfailed == 0)
                break; /* the workload ran to its end before operation n */
            hit++;
            if (res.first < 0 && -res.first < 64)
                codes[-res.first]++;
            int bad = 0;
            if (res.wrong_code) {
                snprintf(why, sizeof why,
                         "%d calls failed with a code an I/O error must not "
                         "give: %s",
                         res.wrong_code, op_errname(res.wrong));
                bad = 1;
            }
            /* as the files are now (kill -9 after the error) */
            fu_expect e = {.state = res.state, .n = IO_NOTES, .prefix = false, .resume = true};
            if (!bad) {
                fu_rm_store(snap);
                static const char *const files[] = {"", "-wal", "-journal"};
                char src[PATH_MAX], dst[PATH_MAX];
                for (size_t f = 0; f < 3; f++) {
                    path3(src, sizeof src, node, "/" STORE_DB_FILE, files[f]);
                    path3(dst, sizeof dst, snap, "/" STORE_DB_FILE, files[f]);
                    if (vf_crash_copy(src, dst, VF_CRASH_APPLY, 0) != 0)
                        bad = snprintf(why, sizeof why, "cannot copy %s", src) > 0;
                }
                if (!bad && fu_check(snap, node, &e, NULL, why, sizeof why) != 0) {
                    bad = 1;
                    memmove(why + 14, why,
                            strlen(why) + 1 > sizeof why - 14 ? sizeof why - 15 : strlen(why) + 1);
                    memcpy(why, "(files as is) ", 14);
                }
            }
            /* and the node itself, reopened */
            if (!bad && fu_check(node, node, &e, NULL, why, sizeof why) != 0)
                bad = 1;
            if (bad) {
                failed++;
                if (failed <= 10)
                    printf("FAIL ioerr %s at operation %llu (%d of %d calls failed): %s\n",
                           kind_name[k], (unsigned long long)n, res.failures, res.calls, why);
            } else {
                passed++;
            }
        }
        printf("ioerr %s: N = 1..%llu, %llu with the fault hit, the workload took %llu "
               "operations\n",
               kind_name[k], (unsigned long long)n, (unsigned long long)hit,
               (unsigned long long)ops);
        fflush(stdout);
    }
    printf("ioerr: first error returned:");
    for (int i = 1; i < 64; i++)
        if (codes[i])
            printf(" %s %d", op_errname((op_err)-i), codes[i]);
    printf("\nioerr: %llu runs, %llu passed, %llu failed, %.1f s\n", (unsigned long long)runs,
           (unsigned long long)passed, (unsigned long long)failed, now_s() - t0);
    return failed ? 1 : 0;
}

int
main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: store_fault crash|crash-exit|ioerr\n");
        return 2;
    }
    if (sodium_init() < 0 || vf_install() != SQLITE_OK) {
        fprintf(stderr, "store_fault: cannot set up\n");
        return 3;
    }
    uint64_t seed = env_u64("SEED", 0);
    if (!getenv("SEED") || !*getenv("SEED"))
        seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 20);
    const char *base = getenv("FAULT_DIR");
    if (!base || !*base)
        base = getenv("TMPDIR");
    snprintf(root, sizeof root, "%s/outpost-fault-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(root)) {
        perror("store_fault: mkdtemp");
        return 3;
    }
    printf("SEED=%llu dir %s\n", (unsigned long long)seed, root);
    int rc;
    if (strcmp(argv[1], "crash") == 0)
        rc = cmd_crash(seed);
    else if (strcmp(argv[1], "crash-exit") == 0)
        rc = cmd_crash_exit(seed);
    else if (strcmp(argv[1], "ioerr") == 0)
        rc = cmd_ioerr(seed);
    else {
        fprintf(stderr, "usage: store_fault crash|crash-exit|ioerr\n");
        return 2;
    }
    printf("%d passed, %d failed\n", rc == 0, rc != 0);
    if (rc == 0 && !(getenv("FAULT_KEEP") && strcmp(getenv("FAULT_KEEP"), "1") == 0)) {
        char d[PATH_MAX + 16];
        path3(d, sizeof d, root, "/crash", "");
        rm_rf_dir(d);
        path3(d, sizeof d, root, "/snap", "");
        rm_rf_dir(d);
        path3(d, sizeof d, root, "/node", "");
        rm_rf_dir(d);
        rmdir(root);
    } else {
        printf("files kept in %s\n", root);
    }
    return rc;
}
