/*
 * bench_checkin.c — `outpost-bench checkin`: the latency of `outpost checkin` against one
 * durable SQLite commit, in the same run (SPEC §11).
 *
 *   outpost-bench checkin [--outpost build/outpost] [--runs 200] [--workdir DIR] [--keep]
 *       Runs `PATH --dir D init --name bench` once, then R times
 *       `PATH --dir D checkin --delivering yes --thriving yes --support yes --energy 4
 *        --note bench-i` (fork, exec, waitpid; timed from before fork to after waitpid with
 *       CLOCK_MONOTONIC) and prints p50, p99 and max. Interleaved with it, in the same
 *       directory: one synchronous=FULL commit of a ~300-byte row in WAL mode on an open
 *       connection (the durable write every check-in must pay); the same commit with the
 *       connection's open and close around it (what one process pays for its database: WAL
 *       files created, the checkpoint at close); fork+exec+exit of /bin/true (the process
 *       floor) and of `PATH --help` (the CLI's own floor, its libraries loaded). D is a new
 *       directory under --workdir (default $TMPDIR, else /tmp), removed unless --keep.
 */
#include "tools/bench.h"

#include <errno.h>
#include <getopt.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proto/entry.h"
#include "store/db.h"
#include "tools/bench_data.h"
#include "tools/bench_proc.h"
#include "tools/bench_util.h"

static const char checkin_help[] =
    "usage: outpost-bench checkin [--outpost PATH] [--runs N] [--workdir DIR] [--keep]\n"
    "\n"
    "Runs `PATH --dir D init --name bench` once, then N times `PATH --dir D checkin\n"
    "--delivering yes --thriving yes --support yes --energy 4 --note bench-i`, each timed from\n"
    "fork to exit; prints p50, p99 and max beside baselines measured in the same run and\n"
    "directory: one synchronous=FULL SQLite commit of a ~300-byte row in WAL mode on an open\n"
    "connection, the same with the connection's open and close around it, and\n"
    "fork+exec+exit of /bin/true and of `PATH --help`.\n"
    "\n"
    "  --outpost PATH   the outpost CLI to run (default build/outpost)\n"
    "  --runs N         check-ins to time (default 200)\n"
    "  --workdir DIR    where to make the node directory (default $TMPDIR, else /tmp)\n"
    "  --keep           keep the node directory (default: removed at the end)\n"
    "  --help           this text\n";

/* The ~300-byte row the commit baselines write: 32 + 184 + 80 bytes of blobs and 6 integers. */
typedef struct bench_row {
    uint8_t hash[PROTO_HASH_BYTES], env[184], body[80];
} bench_row;

/* One transaction of one row at seq on an open connection; SQLite's code. */
static int
commit_row(sqlite3 *h, sqlite3_stmt *st, const bench_row *row, int64_t seq)
{
    int rc = sqlite3_exec(h, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        return rc;
    sqlite3_bind_int64(st, 1, STORE_ROWID(1, seq));
    sqlite3_bind_int64(st, 2, 1);
    sqlite3_bind_int64(st, 3, seq);
    sqlite3_bind_blob(st, 4, row->hash, sizeof row->hash, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, PROTO_KIND_CHECKIN);
    sqlite3_bind_int64(st, 6, (int64_t)bench_wall_ms());
    sqlite3_bind_int64(st, 7, 1);
    sqlite3_bind_blob(st, 8, row->env, sizeof row->env, SQLITE_STATIC);
    sqlite3_bind_blob(st, 9, row->body, sizeof row->body, SQLITE_STATIC);
    sqlite3_bind_int64(st, 10, (int64_t)bench_wall_ms());
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        sqlite3_exec(h, "ROLLBACK", NULL, NULL, NULL);
        return rc;
    }
    return sqlite3_exec(h, "COMMIT", NULL, NULL, NULL);
}

/* What one CLI process pays for its store besides the commit: open (WAL, synchronous=FULL),
 * one commit, close (the last connection checkpoints and removes the WAL). */
static int
open_commit_close(const char *path, const bench_row *row, int64_t seq)
{
    sqlite3 *h = NULL;
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_open_v2(path, &h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(h, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;", NULL, NULL, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(h, bench_raw_insert_sql, -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = commit_row(h, st, row, seq);
    sqlite3_finalize(st);
    int rc2 = sqlite3_close(h);
    return rc != SQLITE_OK ? rc : rc2;
}

int
bench_checkin_main(int argc, char **argv)
{
    static const struct option longs[] = {
        {"outpost", required_argument, NULL, 'o'}, {"runs", required_argument, NULL, 'n'},
        {"workdir", required_argument, NULL, 'w'}, {"keep", no_argument, NULL, 'k'},
        {"help", no_argument, NULL, 'h'},          {0},
    };
    const char *outpost = "build/outpost", *workdir = bench_tmp_parent();
    uint64_t runs = 200;
    bool keep = false;
    int c;

    bench_set_name("outpost-bench checkin");
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", longs, NULL)) != -1) {
        switch (c) {
        case 'o':
            outpost = optarg;
            break;
        case 'n':
            if (!bench_parse_count(optarg, 1, 1000000, &runs))
                return bench_usage_error("--runs wants 1..1000000, not '%s'", optarg);
            break;
        case 'w':
            workdir = optarg;
            break;
        case 'k':
            keep = true;
            break;
        case 'h':
            fputs(checkin_help, stdout);
            return 0;
        default:
            return bench_getopt_error(c, argv);
        }
    }
    if (optind < argc)
        return bench_usage_error("unexpected argument '%s'", argv[optind]);
    if (access(outpost, X_OK) != 0)
        return bench_usage_error(
            "--outpost %s is not an executable (%s): build it or give its path", outpost,
            strerror(errno));

    char work[4096], node[4200], errfile[4200], base_path[4200], cold_path[4200], note[64],
        msg[512];
    snprintf(work, sizeof work, "%s/outpost-bench-checkin-XXXXXX", workdir);
    if (!mkdtemp(work))
        return bench_usage_error("--workdir %s: cannot create a directory there: %s", workdir,
                                 strerror(errno));
    snprintf(node, sizeof node, "%s/node", work);
    snprintf(errfile, sizeof errfile, "%s/stderr.txt", work);
    snprintf(base_path, sizeof base_path, "%s/baseline.db", work);
    snprintf(cold_path, sizeof cold_path, "%s/baseline-open.db", work);
    double *cli = calloc(runs, sizeof *cli), *commit = calloc(runs, sizeof *commit),
           *cold = calloc(runs, sizeof *cold), *floor_ = calloc(runs, sizeof *floor_),
           *help = calloc(runs, sizeof *help);
    sqlite3 *h = NULL, *h2 = NULL;
    sqlite3_stmt *st = NULL;
    int ret = 0, rc;
    double secs;

    if (!cli || !commit || !cold || !floor_ || !help) {
        ret = bench_fail("out of memory");
        goto out;
    }
    if (mkdir(node, 0700) != 0) {
        ret = bench_fail("cannot create %s: %s", node, strerror(errno));
        goto out;
    }
    char *init_argv[] = {(char *)outpost, "--dir", node, "init", "--name", "bench", NULL};
    if ((rc = bench_proc_run(init_argv, NULL, NULL, errfile, 0, &secs)) != 0) {
        ret = bench_fail("`%s --dir %s init --name bench` exited %d: %s", outpost, node, rc,
                         bench_first_line(errfile, msg, sizeof msg));
        goto out;
    }

    if ((ret = bench_raw_open(base_path, true, &h)) != 0 ||
        (ret = bench_raw_open(cold_path, true, &h2)) != 0)
        goto out;
    sqlite3_close(h2); /* only made the file and its table */
    h2 = NULL;
    if (sqlite3_prepare_v2(h, bench_raw_insert_sql, -1, &st, NULL) != SQLITE_OK) {
        ret = bench_fail("cannot prepare the baseline insert: %s", sqlite3_errmsg(h));
        goto out;
    }
    bench_row row;
    randombytes_buf(&row, sizeof row);
    char *true_argv[] = {"/bin/true", NULL};
    char *help_argv[] = {(char *)outpost, "--help", NULL};
    bool has_help = bench_proc_run(help_argv, NULL, NULL, errfile, 0, &secs) == 0;

    /* Interleaved, so that all four see the same moments of a shared, noisy machine. */
    for (uint64_t i = 0; i < runs; i++) {
        snprintf(note, sizeof note, "bench-%llu", (unsigned long long)i);
        char *argv_c[] = {(char *)outpost, "--dir",      node,     "checkin",   "--delivering",
                          "yes",           "--thriving", "yes",    "--support", "yes",
                          "--energy",      "4",          "--note", note,        NULL};
        if ((rc = bench_proc_run(argv_c, NULL, NULL, errfile, 0, &cli[i])) != 0) {
            ret = bench_fail("run %llu: `%s --dir %s checkin ...` exited %d: %s",
                             (unsigned long long)i, outpost, node, rc,
                             bench_first_line(errfile, msg, sizeof msg));
            goto out;
        }
        double t0 = bench_mono();
        rc = commit_row(h, st, &row, (int64_t)i + 1);
        commit[i] = bench_mono() - t0;
        if (rc != SQLITE_OK) {
            ret = bench_fail("baseline commit in %s failed: %s", base_path, sqlite3_errstr(rc));
            goto out;
        }
        t0 = bench_mono();
        rc = open_commit_close(cold_path, &row, (int64_t)i + 1);
        cold[i] = bench_mono() - t0;
        if (rc != SQLITE_OK) {
            ret = bench_fail("baseline open+commit+close of %s failed: %s", cold_path,
                             sqlite3_errstr(rc));
            goto out;
        }
        if ((rc = bench_proc_run(true_argv, NULL, NULL, errfile, 0, &floor_[i])) != 0) {
            ret = bench_fail("/bin/true exited %d", rc);
            goto out;
        }
        if (has_help && (rc = bench_proc_run(help_argv, NULL, NULL, errfile, 0, &help[i])) != 0) {
            ret = bench_fail("`%s --help` exited %d: %s", outpost, rc,
                             bench_first_line(errfile, msg, sizeof msg));
            goto out;
        }
    }

    printf("outpost-bench checkin: %llu runs of %s in %s\n", (unsigned long long)runs, outpost,
           node);
    bench_print_dist("outpost checkin (fork+exec .. exit)", cli, runs);
    bench_print_dist("baseline: FULL commit, 300 B row, WAL", commit, runs);
    bench_print_dist("baseline: open + FULL commit + close", cold, runs);
    bench_print_dist("baseline: /bin/true (fork+exec .. exit)", floor_, runs);
    if (has_help)
        bench_print_dist("baseline: outpost --help (its own floor)", help, runs);
    double cli_p50 = bench_pct(cli, runs, 50), commit_p50 = bench_pct(commit, runs, 50),
           cold_p50 = bench_pct(cold, runs, 50), floor_p50 = bench_pct(floor_, runs, 50);
    if (has_help)
        floor_p50 = bench_pct(help, runs, 50);
    printf("  share of the checkin p50 (%.2f ms): durable commit %.0f%%; open + commit + close "
           "%.0f%%; process floor (%s) %.0f%%; the rest %.2f ms\n",
           1e3 * cli_p50, 100 * commit_p50 / cli_p50, 100 * cold_p50 / cli_p50,
           has_help ? "outpost --help" : "/bin/true", 100 * floor_p50 / cli_p50,
           1e3 * (cli_p50 - cold_p50 - floor_p50));
out:
    sqlite3_finalize(st);
    sqlite3_close(h);
    sqlite3_close(h2);
    free(cli);
    free(commit);
    free(cold);
    free(floor_);
    free(help);
    unlink(errfile);
    if (!keep) {
        bench_remove_db(base_path);
        bench_remove_db(cold_path);
        bench_rm_rf(node); /* the node directory is the CLI's: remove it whole */
        rmdir(work);
    } else {
        printf("  kept %s\n", work);
    }
    return ret;
}
