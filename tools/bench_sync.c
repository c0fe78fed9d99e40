/*
 * bench_sync.c — `outpost-bench sync`: replication between real outpostd processes over
 * 127.0.0.1, each figure beside a baseline measured in the same run (SPEC §11).
 *
 *   outpost-bench sync [--entries 1000000] [--authors 1000] [--seed 1] [--batch 1000]
 *                      [--threads 2] [--diff 10] [--pushes 100] [--outpost PATH]
 *                      [--outpostd PATH] [--port P] [--timeout 3600] [--workdir DIR] [--keep]
 *       Replication between real outpostd processes over 127.0.0.1 (ports: two free ones, or
 *       P and P+1). Two nodes are made with `outpost init` (SRC, FRESH) and given one network
 *       key (32 random bytes, store_keyfile_write into DIR/network.key); SRC is filled as
 *       `outpost-bench gen --dir SRC` fills it (gen_fill: signed, encrypted, ingested). Then:
 *         1. baseline: every run of SRC read into memory, then store_log_ingest of them into a
 *            fresh relay store, timed from store_db_open to store_db_close (the close
 *            checkpoints: durable), as `ingest` does it (and, for comparison, the same cut into
 *            the frame-sized runs outpostd sends);
 *            outpost: `outpostd --dir SRC --listen 127.0.0.1:P` running, then
 *            `outpostd --dir FRESH --once --peer 127.0.0.1:P` timed from fork to its exit
 *            (wait4 polled every 0.1 ms for 1 s, then every 2 ms); FRESH must then have SRC's
 *            have-vector root. Target: entries/s >= 0.7x the baseline's.
 *         2. the same two commands again (nothing to send): bytes out / in and ms after the
 *            handshake from the --once agent's "in sync with KEY: ..." log line; baselines: the
 *            bytes of a plain have-vector exchange (HAVE frames with every head of SRC) and the
 *            loopback round trip (median of 1000 64-byte echoes between two processes, TCP
 *            NODELAY). Targets: <= 4 KiB each way, one round trip (HELLO + DONE frames only).
 *         3. --diff K entries added to SRC (gen_fill, a new seed: one author of K entries, then
 *            again K entries spread over min(K, 256) authors), the two commands again: bytes
 *            after the handshake, beside the RUN frames of those entries and the have-vector
 *            exchange. Target <= 16 KiB.
 *         4. ru_maxrss (wait4) of the listener (after SIGTERM) and of the --once agent in 1,
 *            beside the same in 2. Target <= 32 MiB each.
 *         5. an office (`outpost init --office`) and a worker (its network key, `outpost
 *            peers add 127.0.0.1:P+1`), both agents running and linked; then --pushes times
 *            `outpost --dir WORKER checkin ...` (fork to exit), and from its exit, the office's
 *            store (read-only SQLite, `SELECT head_seq FROM authors WHERE key = ?` every
 *            0.2 ms, 5 s at most) until it holds the worker's new head; p50/p99 beside the
 *            check-in process alone. Target p99 <= 100 ms.
 *       Prints each figure as it comes, then a summary table. Logs of every agent are in the
 *       work directory (kept with --keep). The default paths of outpost and outpostd are the
 *       ones next to this program.
 */
#include "tools/bench.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proto/entry.h"
#include "proto/hs.h"
#include "store/db.h"
#include "store/have.h"
#include "store/keyfile.h"
#include "store/log.h"
#include "tools/bench_data.h"
#include "tools/bench_net.h"
#include "tools/bench_proc.h"
#include "tools/bench_util.h"

static const char sync_help[] =
    "usage: outpost-bench sync [--entries N] [--authors M] [--seed S] [--batch B] [--threads T]\n"
    "                          [--diff K] [--pushes P] [--outpost PATH] [--outpostd PATH]\n"
    "                          [--port PORT] [--timeout SECS] [--workdir DIR] [--keep]\n"
    "\n"
    "Replication between real outpostd processes on 127.0.0.1, each figure beside a baseline\n"
    "measured in the same run:\n"
    "  1. N entries of M generated authors from a listening agent to a fresh node that pulls\n"
    "     them with `outpostd --once --peer` (time from its start to its exit), against\n"
    "     store_log_ingest of the same runs in one process (open, ingest, close; also in the\n"
    "     frame-sized runs outpostd sends); target 0.7x the ingest rate.\n"
    "  2. a no-op re-sync of the two: bytes each way and time after the handshake (the agent's\n"
    "     \"in sync\" log line), against a plain have-vector exchange and the loopback round\n"
    "     trip; targets <= 4 KiB and one round trip.\n"
    "  3. K new entries on the source (one new author, then K new authors): bytes after the\n"
    "     handshake, against the entries' own RUN frame and a have-vector exchange; <= 16 KiB.\n"
    "  4. peak RSS (wait4's ru_maxrss, with VmHWM as a cross-check) of both agents during 1,\n"
    "     against the same agents in 2; target <= 32 MiB each.\n"
    "  5. P check-ins on a worker whose agent is connected to an office agent: from the exit\n"
    "     of `outpost checkin` to the first sight of the new head in the office's database\n"
    "     (read-only, polled every 0.2 ms), p50/p99, against the check-in process alone;\n"
    "     target p99 <= 100 ms.\n"
    "\n"
    "  --entries N      entries of the source, key entries included (default 1000000; k, M ok)\n"
    "  --authors M      generated authors (default 1000). Keep N/M under ~3,900: generated\n"
    "                   authors are not members, and a node that knows an office holds at\n"
    "                   most 1 MiB of a non-member's log\n"
    "  --seed S         generator seed (default 1)\n"
    "  --batch B        entries per generated run and per baseline transaction (default 1000)\n"
    "  --threads T      signing threads of the generator (default 2)\n"
    "  --diff K         entries of the difference in 3 (default 10)\n"
    "  --pushes P       check-ins timed in 5 (default 100; 0 skips 5)\n"
    "  --outpost PATH   the CLI (default: outpost next to this program)\n"
    "  --outpostd PATH  the agent (default: outpostd next to this program)\n"
    "  --port PORT      first of the two loopback ports to use (default: free ones)\n"
    "  --timeout SECS   give up on one sync after this long (default 3600)\n"
    "  --workdir DIR    where to make the nodes (default $TMPDIR, else /tmp)\n"
    "  --keep           keep the nodes and the agents' logs (default: removed at the end)\n"
    "  --help           this text\n";

/* The figures of the agent's line "in sync with KEY: sent N, received M new entries; after the
 * handshake X bytes out, Y in, Z ms". */
typedef struct sync_line {
    bool ok;
    unsigned long long sent, received, out, in, ms;
} sync_line;

static sync_line
parse_in_sync(const char *line)
{
    sync_line s = {0};
    const char *p = strstr(line, "in sync with ");
    if (p && (p = strstr(p, ": sent ")) != NULL)
        s.ok = sscanf(p,
                      ": sent %llu, received %llu new entries; after the handshake %llu bytes "
                      "out, %llu in, %llu ms",
                      &s.sent, &s.received, &s.out, &s.in, &s.ms) == 5;
    return s;
}

/* The last line of an agent's log that says why it failed, for messages. */
static const char *
agent_reason(const char *path, char *buf, size_t n)
{
    if (bench_log_find(path, "sync failed", buf, n) ||
        bench_log_find(path, "disconnected from", buf, n) ||
        bench_log_find(path, "no link to", buf, n) || bench_log_find(path, "cannot", buf, n))
        return buf;
    return bench_first_line(path, buf, n);
}

/* Entries and root of a node's store, opened read-only. */
typedef struct store_view_sum {
    uint64_t entries, authors;
    uint8_t root[PROTO_ROOT_BYTES];
} store_view_sum;

static int
node_summary(const char *dir, store_view_sum *out)
{
    char path[4300];
    store_db *db = NULL;
    store_have_summary s;
    store_head *have = NULL;
    size_t n = 0;
    op_err r;
    memset(out, 0, sizeof *out);
    snprintf(path, sizeof path, "%s/%s", dir, STORE_DB_FILE);
    if ((r = store_db_open(path, STORE_OPEN_READONLY, &db)) != OP_OK)
        return bench_fail("cannot open %s: %s", path, op_strerror(r));
    if ((r = store_have_summary_get(db, &s)) == OP_OK &&
        (r = store_log_have(db, &have, &n)) == OP_OK) {
        memcpy(out->root, s.root, sizeof out->root);
        out->authors = n;
        for (size_t i = 0; i < n; i++)
            out->entries += have[i].seq;
    }
    free(have);
    store_db_close(db);
    if (r != OP_OK)
        return bench_fail("cannot read the have-vector of %s: %s", path, op_strerror(r));
    return 0;
}

/* `outpost --dir DIR init --name NAME [--office]`. */
static int
node_init(const char *outpost, const char *dir, const char *name, bool office, const char *errf)
{
    char msg[512];
    double secs;
    char *argv[] = {(char *)outpost,
                    "--dir",
                    (char *)dir,
                    "init",
                    "--name",
                    (char *)name,
                    office ? "--office" : NULL,
                    NULL};
    int rc = bench_proc_run(argv, NULL, NULL, errf, 0, &secs);
    if (rc != 0)
        return bench_fail("`%s --dir %s init --name %s%s` exited %d: %s", outpost, dir, name,
                          office ? " --office" : "", rc, bench_first_line(errf, msg, sizeof msg));
    return 0;
}

static int
put_netkey(const char *dir, const uint8_t key[PROTO_NETKEY_BYTES])
{
    char path[4300];
    snprintf(path, sizeof path, "%s/network.key", dir);
    op_err r = store_keyfile_write(path, key, PROTO_NETKEY_BYTES);
    if (r != OP_OK)
        return bench_fail("cannot write %s: %s", path, op_strerror(r));
    return 0;
}

/* Starts `outpostd --dir DIR --listen 127.0.0.1:PORT` and waits for "listening on". */
static int
agent_listen(bench_proc *p, const char *outpostd, const char *dir, int port, const char *log)
{
    char listen[64], line[1024];
    snprintf(listen, sizeof listen, "127.0.0.1:%d", port);
    char *argv[] = {(char *)outpostd, "--dir", (char *)dir, "--listen", listen, NULL};
    int ret = bench_proc_start(p, argv, log);
    if (ret != 0)
        return ret;
    if (!bench_log_wait(log, "listening on", 10, p, NULL, 0)) {
        bench_proc_stop(p);
        return bench_fail("`%s --dir %s --listen %s` did not start listening: %s", outpostd, dir,
                          listen, agent_reason(log, line, sizeof line));
    }
    return 0;
}

/* What one `outpostd --once` against a listening agent showed. */
typedef struct sync_result {
    bool ok;
    char why[1024];         /* when not ok */
    double secs;            /* --once side: process start to exit */
    sync_line once, lst;    /* the two agents' "in sync" lines */
    long rss_once, rss_lst; /* wait4's ru_maxrss, KiB (see bench_proc) */
    long hwm_once, hwm_lst; /* VmHWM as last read, KiB */
    long self_rss;          /* this process's VmRSS when it started them, KiB */
    double cpu_once, cpu_lst;
} sync_result;

typedef struct progress_ctx {
    const char *dir;
    uint64_t base, total;
    double t0;
} progress_ctx;

/* Entries held by the node being filled, on a terminal, once a second. */
static void
sync_progress(void *ctx)
{
    progress_ctx *pc = ctx;
    store_view_sum s;
    char a[32], b[32], c[32];
    if (!isatty(STDERR_FILENO))
        return;
    /* Reads are cheap and WAL readers do not block the writer. */
    int saved = dup(STDERR_FILENO), null = open("/dev/null", O_WRONLY);
    if (null >= 0)
        dup2(null, STDERR_FILENO); /* node_summary's failure message: not now */
    int rc = node_summary(pc->dir, &s);
    if (saved >= 0) {
        dup2(saved, STDERR_FILENO);
        close(saved);
    }
    if (null >= 0)
        close(null);
    if (rc != 0)
        return;
    uint64_t got = s.entries > pc->base ? s.entries - pc->base : 0;
    double t = bench_mono() - pc->t0;
    fprintf(stderr, "\rsync: %s / %s entries, %s entries/s   ", bench_commas(got, a),
            bench_commas(pc->total, b), bench_commas(t > 0 ? (uint64_t)((double)got / t) : 0, c));
    fflush(stderr);
}

/*
 * One sync: starts the listening agent on `lst_dir`, runs `outpostd --dir once_dir --once
 * --peer 127.0.0.1:port` to its exit, waits for the listener's own "in sync" line, stops it.
 * `tag` names the log files in work. expect_total: entries the --once side should get (for
 * the progress line; 0 for none).
 */
static int
run_sync(const char *outpostd, const char *work, const char *tag, const char *lst_dir,
         const char *once_dir, int port, double timeout, uint64_t expect_total, sync_result *res)
{
    char lst_log[4300], once_log[4300], peer[64], line[1024];
    bench_proc lst, once;
    int ret;

    memset(res, 0, sizeof *res);
    snprintf(lst_log, sizeof lst_log, "%s/%s-listener.log", work, tag);
    snprintf(once_log, sizeof once_log, "%s/%s-once.log", work, tag);
    snprintf(peer, sizeof peer, "127.0.0.1:%d", port);
#ifdef __GLIBC__
    malloc_trim(0); /* see bench_proc: children start with a copy of what is resident here */
#endif
    res->self_rss = bench_proc_status_kib(getpid(), true);
    if ((ret = agent_listen(&lst, outpostd, lst_dir, port, lst_log)) != 0)
        return ret;

    progress_ctx pc = {.dir = once_dir, .total = expect_total};
    store_view_sum before;
    bool show = expect_total > 0 && isatty(STDERR_FILENO) && node_summary(once_dir, &before) == 0;
    pc.base = show ? before.entries : 0;
    char *argv[] = {(char *)outpostd, "--dir", (char *)once_dir, "--once", "--peer", peer, NULL};
    if ((ret = bench_proc_start(&once, argv, once_log)) != 0) {
        bench_proc_stop(&lst);
        return ret;
    }
    pc.t0 = once.t0;
    int code = bench_proc_wait(&once, timeout, show ? sync_progress : NULL, &pc);
    if (show)
        bench_clear_line(78);
    res->secs = once.t1 - once.t0;
    res->rss_once = bench_proc_maxrss_kib(&once);
    res->hwm_once = once.hwm_kib;
    res->cpu_once = bench_proc_cpu_s(&once);
    if (bench_log_find(once_log, "in sync with", line, sizeof line))
        res->once = parse_in_sync(line);
    /* The listener logs its own line when the last DONE arrives; give it a moment. */
    if (code == 0 && bench_log_wait(lst_log, "in sync with", 10, &lst, line, sizeof line))
        res->lst = parse_in_sync(line);
    bench_proc_stop(&lst);
    res->rss_lst = bench_proc_maxrss_kib(&lst);
    res->hwm_lst = lst.hwm_kib;
    res->cpu_lst = bench_proc_cpu_s(&lst);
    if (code == 0 && res->once.ok) {
        res->ok = true;
    } else if (code == -2) {
        snprintf(res->why, sizeof res->why, "no sync within %.0f s (--timeout)", timeout);
    } else {
        snprintf(res->why, sizeof res->why, "`outpostd --once` exited %d: %s", code,
                 agent_reason(once_log, line, sizeof line));
    }
    return 0;
}

/* Generates `entries` entries of `authors` new authors of seed into dir's store. */
static int
gen_into(const char *dir, uint64_t entries, uint32_t authors, uint64_t seed, size_t batch,
         int threads, const char *label, gen_stats *st)
{
    char path[4300];
    store_db *db = NULL;
    uint32_t bad = 0;
    snprintf(path, sizeof path, "%s/%s", dir, STORE_DB_FILE);
    op_err r = store_db_open(path, 0, &db);
    if (r != OP_OK)
        return bench_fail("cannot open %s: %s", path, op_strerror(r));
    gen_opts o = {.entries = entries,
                  .authors = authors,
                  .seed = seed,
                  .batch = batch,
                  .threads = threads,
                  .now = bench_wall_ms()};
    r = bench_gen_fill(db, &o, label, st, &bad);
    store_db_close(db);
    if (r != OP_OK)
        return bench_fail("generating author %u of seed %llu into %s failed: %s", bad,
                          (unsigned long long)seed, path, op_strerror(r));
    return 0;
}

/* The live-push figures of 5. */
typedef struct push_result {
    bool ok;
    char why[1024];
    size_t n;
    double *cli, *push, *total; /* seconds, n each */
    size_t late;                /* not seen within the poll limit */
} push_result;

/* Head of author in an open read-only connection (0 when absent). */
static int64_t
head_of(sqlite3_stmt *st)
{
    int64_t v = 0;
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return v;
}

static int
run_pushes(const char *outpost, const char *outpostd, const char *work, int port, size_t n,
           push_result *res)
{
    char office[4160], worker[4160], errf[4160], olog[4160], wlog[4160], path[4300], line[1024],
        addr[64], note[64], msg[512];
    uint8_t netkey[PROTO_NETKEY_BYTES];
    store_identity *wid = NULL;
    sqlite3 *oh = NULL, *wh = NULL;
    sqlite3_stmt *ost = NULL, *wst = NULL;
    bench_proc op = {0}, wp = {0};
    int ret = 0;
    op_err r;

    memset(res, 0, sizeof *res);
    res->cli = calloc(n, sizeof *res->cli);
    res->push = calloc(n, sizeof *res->push);
    res->total = calloc(n, sizeof *res->total);
    if (!res->cli || !res->push || !res->total)
        return bench_fail("out of memory");
    snprintf(office, sizeof office, "%s/office", work);
    snprintf(worker, sizeof worker, "%s/worker", work);
    snprintf(errf, sizeof errf, "%s/cli-stderr.txt", work);
    snprintf(olog, sizeof olog, "%s/push-office.log", work);
    snprintf(wlog, sizeof wlog, "%s/push-worker.log", work);
    snprintf(addr, sizeof addr, "127.0.0.1:%d", port);

    /* An office, a worker with its network key, and the office in the worker's peers. */
    if ((ret = node_init(outpost, office, "bench-office", true, errf)) != 0 ||
        (ret = node_init(outpost, worker, "bench-worker", false, errf)) != 0)
        goto out;
    snprintf(path, sizeof path, "%s/network.key", office);
    if ((r = store_keyfile_read(path, netkey, sizeof netkey)) != OP_OK) {
        ret = bench_fail("cannot read %s: %s", path, op_strerror(r));
        goto out;
    }
    ret = put_netkey(worker, netkey);
    sodium_memzero(netkey, sizeof netkey);
    if (ret != 0)
        goto out;
    char *peers_argv[] = {(char *)outpost, "--dir", worker, "peers", "add", addr, NULL};
    double secs;
    int rc;
    if ((rc = bench_proc_run(peers_argv, NULL, NULL, errf, 0, &secs)) != 0) {
        ret = bench_fail("`%s --dir %s peers add %s` exited %d: %s", outpost, worker, addr, rc,
                         bench_first_line(errf, msg, sizeof msg));
        goto out;
    }
    if ((r = store_identity_load(worker, &wid)) != OP_OK) {
        ret = bench_fail("cannot load %s/%s: %s", worker, STORE_IDENTITY_FILE, op_strerror(r));
        goto out;
    }

    /* Both agents up, and linked. */
    if ((ret = agent_listen(&op, outpostd, office, port, olog)) != 0)
        goto out;
    char *wargv[] = {(char *)outpostd, "--dir", worker, "--no-listen", NULL};
    if ((ret = bench_proc_start(&wp, wargv, wlog)) != 0)
        goto out;
    if (!bench_log_wait(wlog, "in sync with", 15, &wp, NULL, 0)) {
        ret = bench_fail("the worker's agent did not link to the office within 15 s: %s",
                         agent_reason(wlog, line, sizeof line));
        goto out;
    }

    /* Read-only views of both stores, as any other reader would have. */
    const char *q = "SELECT head_seq FROM authors WHERE key = ?";
    snprintf(path, sizeof path, "%s/%s", office, STORE_DB_FILE);
    if (sqlite3_open_v2(path, &oh, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(oh, q, -1, &ost, NULL) != SQLITE_OK) {
        ret = bench_fail("cannot read %s: %s", path, oh ? sqlite3_errmsg(oh) : "out of memory");
        goto out;
    }
    snprintf(path, sizeof path, "%s/%s", worker, STORE_DB_FILE);
    if (sqlite3_open_v2(path, &wh, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(wh, q, -1, &wst, NULL) != SQLITE_OK) {
        ret = bench_fail("cannot read %s: %s", path, wh ? sqlite3_errmsg(wh) : "out of memory");
        goto out;
    }
    sqlite3_bind_blob(ost, 1, wid->pk, PROTO_KEY_BYTES, SQLITE_STATIC);
    sqlite3_bind_blob(wst, 1, wid->pk, PROTO_KEY_BYTES, SQLITE_STATIC);

    for (size_t i = 0; i < n; i++) {
        snprintf(note, sizeof note, "push-%zu", i);
        char *argv_c[] = {(char *)outpost, "--dir",      worker,   "checkin",   "--delivering",
                          "yes",           "--thriving", "yes",    "--support", "yes",
                          "--energy",      "4",          "--note", note,        NULL};
        double t0 = bench_mono();
        if ((rc = bench_proc_run(argv_c, NULL, NULL, errf, 0, &res->cli[i])) != 0) {
            ret = bench_fail("check-in %zu: `%s --dir %s checkin ...` exited %d: %s", i, outpost,
                             worker, rc, bench_first_line(errf, msg, sizeof msg));
            goto out;
        }
        double t_exit = t0 + res->cli[i];
        int64_t want = head_of(wst), got;
        double t;
        while ((got = head_of(ost)) < want && (t = bench_mono()) - t_exit < 5.0)
            bench_sleep(200e-6);
        t = bench_mono();
        if (got < want) {
            res->late++;
            res->push[i] = 5.0;
        } else {
            res->push[i] = t - t_exit;
        }
        res->total[i] = t - t0;
        res->n = i + 1;
        bench_sleep(5e-3); /* the agents settle (ACK bookkeeping) before the next one */
    }
    res->ok = true;
out:
    sqlite3_finalize(ost);
    sqlite3_finalize(wst);
    sqlite3_close(oh);
    sqlite3_close(wh);
    store_identity_free(wid);
    bench_proc_stop(&wp);
    bench_proc_stop(&op);
    if (ret != 0)
        snprintf(res->why, sizeof res->why, "see the message above");
    return ret;
}

static const char *
mib(long kib, char *buf)
{
    snprintf(buf, 32, "%.1f MiB", (double)kib / 1024.0);
    return buf;
}

static const char *
met(bool ok)
{
    return ok ? "met" : "MISSED";
}

int
bench_sync_main(int argc, char **argv)
{
    static const struct option longs[] = {
        BENCH_GEN_LONGS,
        {"diff", required_argument, NULL, 'D'},
        {"pushes", required_argument, NULL, 'P'},
        {"outpost", required_argument, NULL, 'o'},
        {"outpostd", required_argument, NULL, 'O'},
        {"port", required_argument, NULL, 'p'},
        {"timeout", required_argument, NULL, 'T'},
        {"workdir", required_argument, NULL, 'w'},
        {"keep", no_argument, NULL, 'k'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    bench_gen_flags f = {.entries = 1000000,
                         .authors = 1000,
                         .seed = 1,
                         .batch = 1000,
                         .threads = 2,
                         .max_entries = 1ull << 32,
                         .max_authors = 1u << 24,
                         .max_seed = UINT64_MAX / 2};
    uint64_t diff = 10, pushes = 100, port0 = 0, timeout = 3600;
    char outpost_buf[4200], outpostd_buf[4200];
    const char *outpost = NULL, *outpostd = NULL, *workdir = bench_tmp_parent();
    bool keep = false;
    int c, rc;

    bench_set_name("outpost-bench sync");
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", longs, NULL)) != -1) {
        switch (c) {
        case 'n':
        case 'a':
        case 's':
        case 'b':
        case 't':
            if ((rc = bench_gen_flag(c, optarg, &f)) != 0)
                return rc;
            break;
        case 'D':
            if (!bench_parse_count(optarg, 1, 100000, &diff))
                return bench_usage_error("--diff wants 1..100000, not '%s'", optarg);
            break;
        case 'P':
            if (!bench_parse_count(optarg, 0, 100000, &pushes))
                return bench_usage_error("--pushes wants 0..100000, not '%s'", optarg);
            break;
        case 'o':
            outpost = optarg;
            break;
        case 'O':
            outpostd = optarg;
            break;
        case 'p':
            if (!bench_parse_count(optarg, 1, 65534, &port0))
                return bench_usage_error("--port wants 1..65534, not '%s'", optarg);
            break;
        case 'T':
            if (!bench_parse_count(optarg, 1, 7 * 86400, &timeout))
                return bench_usage_error("--timeout wants seconds >= 1, not '%s'", optarg);
            break;
        case 'w':
            workdir = optarg;
            break;
        case 'k':
            keep = true;
            break;
        case 'h':
            fputs(sync_help, stdout);
            return 0;
        default:
            return bench_getopt_error(c, argv);
        }
    }
    if (optind < argc)
        return bench_usage_error("unexpected argument '%s'", argv[optind]);
    if (f.authors > f.entries)
        return bench_usage_error(
            "--authors (%llu) must not exceed --entries (%llu): every log starts "
            "with a key entry",
            (unsigned long long)f.authors, (unsigned long long)f.entries);
    if (!outpost) {
        bench_default_path("outpost", outpost_buf, sizeof outpost_buf);
        outpost = outpost_buf;
    }
    if (!outpostd) {
        bench_default_path("outpostd", outpostd_buf, sizeof outpostd_buf);
        outpostd = outpostd_buf;
    }
    if (access(outpost, X_OK) != 0)
        return bench_usage_error(
            "--outpost %s is not an executable (%s): build it or give its path", outpost,
            strerror(errno));
    if (access(outpostd, X_OK) != 0)
        return bench_usage_error(
            "--outpostd %s is not an executable (%s): build it or give its path", outpostd,
            strerror(errno));
    int ports[2] = {(int)port0, (int)port0 + 1};
    if (!port0 && bench_net_free_ports(ports) != 0)
        return BENCH_EXIT_FAIL;

    char work[4096], src[4160], fresh[4160], errf[4160], relay[4160];
    snprintf(work, sizeof work, "%s/outpost-bench-sync-XXXXXX", workdir);
    if (!mkdtemp(work))
        return bench_usage_error("--workdir %s: cannot create a directory there: %s", workdir,
                                 strerror(errno));
    snprintf(src, sizeof src, "%s/source", work);
    snprintf(fresh, sizeof fresh, "%s/fresh", work);
    snprintf(errf, sizeof errf, "%s/cli-stderr.txt", work);
    snprintf(relay, sizeof relay, "%s/baseline-relay.db", work);

    uint8_t netkey[PROTO_NETKEY_BYTES];
    bench_dataset d = {0};
    sync_result s1 = {0}, s2 = {0}, s3a = {0}, s3b = {0};
    push_result p5 = {0};
    store_view_sum vs_src, vs_fresh;
    double ingest_s = 0, ingest_f = 0, rtt_med = 0, rtt_p99 = 0;
    uint64_t have_bytes = 0, diff_run_bytes = 0, diff_run_bytes_b = 0, src_entries = 0;
    bool converged1 = false, converged3a = false, converged3b = false;
    int ret = 0;
    op_err r;
    char a[32], b[32], m1[32], m2[32];

    printf("outpost-bench sync: %s entries of %s authors; outpostd %s; outpost %s\n",
           bench_commas(f.entries, a), bench_commas(f.authors, b), outpostd, outpost);
    printf("  sqlite %s, libsodium %s, %ld cpus; work dir %s; ports %d, %d\n", sqlite3_libversion(),
           sodium_version_string(), sysconf(_SC_NPROCESSORS_ONLN), work, ports[0], ports[1]);
    fflush(stdout);

    /* The two nodes: made by `outpost init`, one network key written into both. */
    randombytes_buf(netkey, sizeof netkey);
    if ((ret = node_init(outpost, src, "bench-source", false, errf)) != 0 ||
        (ret = node_init(outpost, fresh, "bench-fresh", false, errf)) != 0 ||
        (ret = put_netkey(src, netkey)) != 0 || (ret = put_netkey(fresh, netkey)) != 0)
        goto out;
    sodium_memzero(netkey, sizeof netkey);

    /* The source's entries, as `outpost-bench gen --dir SRC` writes them. */
    gen_stats gs;
    if ((ret = gen_into(src, f.entries, (uint32_t)f.authors, f.seed, (size_t)f.batch,
                        (int)f.threads, "gen", &gs)) != 0)
        goto out;
    if ((ret = node_summary(src, &vs_src)) != 0)
        goto out;
    src_entries = vs_src.entries;
    printf("  source: %s entries of %s authors generated in %.1f s (%.0f B/entry)\n",
           bench_commas(gs.entries, a), bench_commas(f.authors, b), gs.seconds,
           (double)(gs.env_bytes + gs.body_bytes) / (double)gs.entries);
    fflush(stdout);

    /* 1. Baseline: single-process ingest of the same runs. */
    {
        char path[4300];
        store_db *sdb = NULL;
        snprintf(path, sizeof path, "%s/%s", src, STORE_DB_FILE);
        if ((r = store_db_open(path, STORE_OPEN_READONLY, &sdb)) != OP_OK) {
            ret = bench_fail("cannot open %s: %s", path, op_strerror(r));
            goto out;
        }
        r = bench_dataset_load(sdb, (size_t)f.batch, &d);
        store_db_close(sdb);
        if (r != OP_OK) {
            ret = bench_fail("reading the runs of %s failed: %s", path, op_strerror(r));
            goto out;
        }
        bench_ingest_time tb, tf;
        if ((ret = bench_dataset_ingest(relay, &d, false, bench_wall_ms(), &tb)) != 0 ||
            (ret = bench_dataset_ingest(relay, &d, true, bench_wall_ms(), &tf)) != 0)
            goto out;
        ingest_s = tb.total_s;
        ingest_f = tf.total_s;
        bench_dataset_free(&d);
        bench_remove_db(relay);
        printf("  1. baseline: store_log_ingest of %s entries in %zu runs of <= %llu, open to "
               "close: %.2f s, %s entries/s (close %.2f s)\n",
               bench_commas(src_entries, a), tb.n_runs, (unsigned long long)f.batch, ingest_s,
               bench_commas((uint64_t)((double)src_entries / ingest_s), b), tb.close_s);
        printf("     (for comparison: in the %zu runs one frame each carries, as outpostd sends "
               "them: %.2f s, %s entries/s)\n",
               tf.n_runs, ingest_f, bench_commas((uint64_t)((double)src_entries / ingest_f), b));
        fflush(stdout);
    }

    /* 1. The sync itself. */
    if ((ret = run_sync(outpostd, work, "1-full", src, fresh, ports[0], (double)timeout,
                        src_entries, &s1)) != 0)
        goto out;
    if (s1.ok) {
        if ((ret = node_summary(fresh, &vs_fresh)) != 0)
            goto out;
        converged1 = memcmp(vs_fresh.root, vs_src.root, PROTO_ROOT_BYTES) == 0;
        printf("  1. outpostd --once: %s entries received in %.2f s, %s entries/s; after the "
               "handshake %.2f s, %s bytes in, %s out; CPU: --once %.1f s, listener %.1f s; "
               "have-vectors %s\n",
               bench_commas(s1.once.received, a), s1.secs,
               bench_commas((uint64_t)((double)s1.once.received / s1.secs), b),
               (double)s1.once.ms / 1000.0, bench_commas(s1.once.in, m1),
               bench_commas(s1.once.out, m2), s1.cpu_once, s1.cpu_lst,
               converged1 ? "equal" : "DIFFER");
    } else {
        printf("  1. outpostd --once FAILED after %.2f s: %s\n", s1.secs, s1.why);
    }
    printf("  4. peak RSS during 1 (wait4 ru_maxrss): listener %s, --once %s", mib(s1.rss_lst, m1),
           mib(s1.rss_once, m2));
    printf("; VmHWM %s, %s; this process had %s resident when it forked them\n", mib(s1.hwm_lst, a),
           mib(s1.hwm_once, b), mib(s1.self_rss, m1));
    fflush(stdout);

    /* 2. No-op re-sync, beside a have-vector exchange and the loopback round trip. */
    if ((ret = bench_net_loopback_rtt(1000, &rtt_med, &rtt_p99)) != 0)
        goto out;
    {
        char path[4300];
        store_db *sdb = NULL;
        snprintf(path, sizeof path, "%s/%s", src, STORE_DB_FILE);
        if ((r = store_db_open(path, STORE_OPEN_READONLY, &sdb)) != OP_OK ||
            (r = bench_net_have_vector_bytes(sdb, &have_bytes)) != OP_OK) {
            store_db_close(sdb);
            ret = bench_fail("cannot read the have-vector of %s: %s", path, op_strerror(r));
            goto out;
        }
        store_db_close(sdb);
    }
    if (s1.ok) {
        if ((ret = run_sync(outpostd, work, "2-noop", src, fresh, ports[0], 600, 0, &s2)) != 0 ||
            (ret = node_summary(fresh, &vs_fresh)) != 0)
            goto out;
        if (s2.ok && memcmp(vs_fresh.root, vs_src.root, PROTO_ROOT_BYTES) != 0) {
            s2.ok = false;
            snprintf(s2.why, sizeof s2.why, "the have-vectors differ afterwards");
        }
        if (s2.ok)
            printf("  2. no-op re-sync: after the handshake %llu bytes out, %llu in, %llu ms "
                   "(listener: %llu out, %llu in, %llu ms); --once process %.1f ms; "
                   "HELLO+DONE would be %zu B each way\n",
                   s2.once.out, s2.once.in, s2.once.ms, s2.lst.out, s2.lst.in, s2.lst.ms,
                   1e3 * s2.secs, bench_net_one_rtt_bytes(vs_src.authors));
        else
            printf("  2. no-op re-sync FAILED: %s\n", s2.why);
        printf("  2. baselines: plain have-vector exchange %s B each way; loopback round trip "
               "p50 %.3f ms, p99 %.3f ms\n",
               bench_commas(have_bytes, a), 1e3 * rtt_med, 1e3 * rtt_p99);
        fflush(stdout);
    }

    /* 3. A difference of `diff` entries: a new author; then `diff` new authors. */
    if (s1.ok) {
        uint64_t seed_a = f.seed + 1000003, seed_b = f.seed + 2000003;
        if ((ret = gen_into(src, diff, 1, seed_a, (size_t)f.batch, 1, "gen diff", &gs)) != 0 ||
            (ret = bench_net_run_frame_bytes(src, seed_a, 1, &diff_run_bytes)) != 0 ||
            (ret = node_summary(src, &vs_src)) != 0 ||
            (ret = run_sync(outpostd, work, "3a-diff", src, fresh, ports[0], 600, 0, &s3a)) != 0 ||
            (ret = node_summary(fresh, &vs_fresh)) != 0)
            goto out;
        converged3a = memcmp(vs_fresh.root, vs_src.root, PROTO_ROOT_BYTES) == 0;
        uint32_t na = diff > 256 ? 256 : (uint32_t)diff;
        if ((ret = gen_into(src, diff, na, seed_b, (size_t)f.batch, 1, "gen diff", &gs)) != 0 ||
            (ret = bench_net_run_frame_bytes(src, seed_b, na, &diff_run_bytes_b)) != 0 ||
            (ret = node_summary(src, &vs_src)) != 0 ||
            (ret = run_sync(outpostd, work, "3b-diff", src, fresh, ports[0], 600, 0, &s3b)) != 0 ||
            (ret = node_summary(fresh, &vs_fresh)) != 0)
            goto out;
        converged3b = memcmp(vs_fresh.root, vs_src.root, PROTO_ROOT_BYTES) == 0;
        if (s3a.ok)
            printf("  3. %llu new entries of 1 author: after the handshake %llu B out, %llu B in, "
                   "%llu ms, %llu received; their RUN frame %s B\n",
                   (unsigned long long)diff, s3a.once.out, s3a.once.in, s3a.once.ms,
                   s3a.once.received, bench_commas(diff_run_bytes, a));
        else
            printf("  3. %llu new entries of 1 author FAILED: %s\n", (unsigned long long)diff,
                   s3a.why);
        if (s3b.ok)
            printf("  3. %llu new entries of %u authors: after the handshake %llu B out, %llu B "
                   "in, %llu ms, %llu received; their RUN frames %s B\n",
                   (unsigned long long)diff, na, s3b.once.out, s3b.once.in, s3b.once.ms,
                   s3b.once.received, bench_commas(diff_run_bytes_b, a));
        else
            printf("  3. %llu new entries of %u authors FAILED: %s\n", (unsigned long long)diff, na,
                   s3b.why);
        fflush(stdout);
    }

    /* 5. Live push to a connected office. */
    if (pushes > 0) {
        if ((ret = run_pushes(outpost, outpostd, work, ports[1], (size_t)pushes, &p5)) != 0)
            goto out;
        printf("  5. live push, %zu check-ins (%zu not seen within 5 s):\n", p5.n, p5.late);
        bench_print_dist("checkin exit .. office holds it", p5.push, p5.n);
        bench_print_dist("baseline: outpost checkin alone", p5.cli, p5.n);
        bench_print_dist("checkin start .. office holds it", p5.total, p5.n);
        fflush(stdout);
    }

    /* The table. */
    double rate = s1.ok ? (double)s1.once.received / s1.secs : 0;
    double base_rate = ingest_s > 0 ? (double)src_entries / ingest_s : 0;
    double ratio = base_rate > 0 ? rate / base_rate : 0;
    char fig[96], base[96], tgt[64], name1[64], name3a[64], name3b[64];
    snprintf(name1, sizeof name1, "sync %s entries, start..exit", bench_commas(src_entries, a));
    snprintf(name3a, sizeof name3a, "%llu new entries, 1 author: bytes", (unsigned long long)diff);
    snprintf(name3b, sizeof name3b, "%llu new, %llu authors: bytes", (unsigned long long)diff,
             (unsigned long long)(diff > 256 ? 256 : diff));
    printf("\nsummary (%s entries, %s authors)\n", bench_commas(f.entries, a),
           bench_commas(f.authors, b));
    printf("  %-4s %-36s %-28s %-38s %-16s %s\n", "#", "figure", "outpost", "baseline, same run",
           "target", "result");
#define ROW(num, name, f, bl, t, res)                                                              \
    printf("  %-4s %-36s %-28s %-38s %-16s %s\n", num, name, f, bl, t, res)
    if (s1.ok) {
        snprintf(fig, sizeof fig, "%s/s (%.1f s)", bench_commas((uint64_t)rate, a), s1.secs);
        snprintf(base, sizeof base, "ingest %s/s; ratio %.2fx",
                 bench_commas((uint64_t)base_rate, b), ratio);
        ROW("1", name1, fig, base, ">= 0.70x", !converged1 ? "DIFFER" : met(ratio >= 0.7));
    } else {
        snprintf(base, sizeof base, "ingest %s/s", bench_commas((uint64_t)base_rate, b));
        ROW("1", name1, "FAILED", base, ">= 0.70x", "FAILED");
    }
    if (s2.ok) {
        snprintf(fig, sizeof fig, "%llu B out, %llu B in", s2.once.out, s2.once.in);
        snprintf(base, sizeof base, "have-vector %s B each way", bench_commas(have_bytes, a));
        ROW("2", "no-op re-sync: bytes", fig, base, "<= 4 KiB",
            met(s2.once.out <= 4096 && s2.once.in <= 4096));
        size_t one = bench_net_one_rtt_bytes(vs_src.authors);
        bool one_rt = s2.once.out <= one + 16 && s2.once.in <= one + 16;
        snprintf(fig, sizeof fig, "%llu ms, %s", s2.once.ms,
                 one_rt ? "HELLO+DONE only" : "more than HELLO+DONE");
        snprintf(base, sizeof base, "loopback RTT %.3f ms", 1e3 * rtt_med);
        ROW("", "no-op re-sync: after handshake", fig, base, "1 round trip", met(one_rt));
    } else {
        ROW("2", "no-op re-sync", s1.ok ? "FAILED" : "not run", "", "<= 4 KiB, 1 RT",
            s1.ok ? "FAILED" : "-");
    }
    if (s3a.ok) {
        snprintf(fig, sizeof fig, "%s B (%llu out, %llu in)",
                 bench_commas(s3a.once.out + s3a.once.in, m1), s3a.once.out, s3a.once.in);
        snprintf(base, sizeof base, "RUN %s B; have-vector %s B", bench_commas(diff_run_bytes, a),
                 bench_commas(have_bytes, b));
        snprintf(tgt, sizeof tgt, "<= 16 KiB");
        ROW("3", name3a, fig, base, tgt,
            !converged3a ? "DIFFER" : met(s3a.once.out + s3a.once.in <= 16384));
    } else {
        ROW("3", name3a, s1.ok ? "FAILED" : "not run", "", "<= 16 KiB", s1.ok ? "FAILED" : "-");
    }
    if (s3b.ok) {
        snprintf(fig, sizeof fig, "%s B (%llu out, %llu in)",
                 bench_commas(s3b.once.out + s3b.once.in, m1), s3b.once.out, s3b.once.in);
        snprintf(base, sizeof base, "RUNs %s B; have-vector %s B",
                 bench_commas(diff_run_bytes_b, a), bench_commas(have_bytes, b));
        ROW("", name3b, fig, base, "<= 16 KiB",
            !converged3b ? "DIFFER" : met(s3b.once.out + s3b.once.in <= 16384));
    }
    {
        snprintf(fig, sizeof fig, "lst %s, once %s", mib(s1.rss_lst, m1), mib(s1.rss_once, m2));
        /* A child that lives a few ms has a ru_maxrss of what this process had at fork. */
        bool fork_copy =
            s2.ok && (s2.rss_lst * 10 <= s2.self_rss * 11 || s2.rss_once * 10 <= s2.self_rss * 11);
        if (s2.ok)
            snprintf(base, sizeof base, "no-op: lst %s, once %s%s", mib(s2.rss_lst, a),
                     mib(s2.rss_once, b), fork_copy ? " (*)" : "");
        else
            snprintf(base, sizeof base, "-");
        ROW("4", "peak RSS during 1", fig, base, "<= 32 MiB each",
            !s1.ok ? "(1 failed)" : met(s1.rss_lst <= 32 * 1024 && s1.rss_once <= 32 * 1024));
        if (s1.self_rss > 0 &&
            s1.self_rss * 10 >= 9 * (s1.rss_lst < s1.rss_once ? s1.rss_lst : s1.rss_once))
            printf("       (ru_maxrss may be this program's %s at fork, not the agent's: see VmHWM "
                   "%s, %s above)\n",
                   mib(s1.self_rss, a), mib(s1.hwm_lst, b), mib(s1.hwm_once, m1));
        if (fork_copy)
            printf("       (*) at most this: about what this program had resident (%s) when it "
                   "forked them, which ru_maxrss counts\n",
                   mib(s2.self_rss, a));
    }
    if (p5.n > 0) {
        snprintf(fig, sizeof fig, "p50 %.1f ms, p99 %.1f ms", 1e3 * bench_pct(p5.push, p5.n, 50),
                 1e3 * bench_pct(p5.push, p5.n, 99));
        snprintf(base, sizeof base, "checkin alone p50 %.1f, p99 %.1f ms",
                 1e3 * bench_pct(p5.cli, p5.n, 50), 1e3 * bench_pct(p5.cli, p5.n, 99));
        ROW("5", "live push, checkin exit..office", fig, base, "p99 <= 100 ms",
            met(p5.late == 0 && bench_pct(p5.push, p5.n, 99) <= 0.1));
    }
#undef ROW
    if (s1.ok && !converged1)
        printf("  after 1 the fresh node's have-vector differs from the source's\n");
out:
    bench_dataset_free(&d);
    sodium_memzero(netkey, sizeof netkey);
    free(p5.cli);
    free(p5.push);
    free(p5.total);
    if (!keep) {
        bench_rm_rf(work);
    } else {
        printf("  kept %s (nodes, and the agents' logs *.log)\n", work);
    }
    return ret;
}
