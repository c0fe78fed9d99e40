/*
 * bench_office.c — `outpost-bench office`: how fast the office's query commands answer on a
 * year of a large team, beside baselines measured in the same run (SPEC §11).
 *
 *   outpost-bench office [--members 1000] [--days 365] [--seed 1] [--now 2026-11-25T18:00:00Z]
 *                        [--sync-days 7] [--threads 2] [--runs 5] [--reindex-runs 3]
 *                        [--budget 30] [--timeout 30] [--outpost PATH]
 *                        [--dir DIR | --workdir DIR [--keep]]
 *                        [--gen-only]
 *
 * 1. The office: `PATH --dir NODE init --office` (with OUTPOST_NOW two days before day 0), then
 *    gen_office_fill (tools/gen_office.h): a member entry per member in the office's log, and
 *    per member and day a check-in and about three KPI values, signed by each member's key,
 *    hash-chained, encrypted under epoch keys sealed to the member and the office, ingested
 *    with store_log_ingest through the office's reader, which projects them as the office
 *    would. NODE/bench-office.txt records the parameters and the counts written, so that
 *    --dir NODE reuses the store in a later run (and a test can check it).
 * 2. The counts: entries of each kind in the log, and rows in the projections (check-ins, KPI
 *    values and definitions, feedback, contacts, members, key entries), against what was
 *    written. A difference fails the run.
 * 3. Timings, each command a whole process (fork, exec, exit; OUTPOST_NOW = --now), one
 *    first run and then --runs runs, p50 and max: status --json, team (--json and for
 *    people), alerts (--json and for people), kpi report (the current periods, --json and for
 *    people; and --period of the month before now's), log --limit 20 (--json, and check-ins
 *    for people). A command this outpost does not have (exit 2 and "unknown command" or "is
 *    not a command" on stderr) is reported as not available. Target: p50 <= 100 ms. A
 *    command whose first run says that --runs runs would take over --budget seconds runs
 *    fewer times (at least twice in all); one still running after --timeout seconds is
 *    stopped and reported as over that (missed).
 *    Baselines in the same run: /bin/true and `PATH --help` (process start, the CLI's
 *    libraries loaded), and raw SQLite queries of the same shapes through the C API in this
 *    process (open read-only, query, close): check-ins per member (count, latest), the latest
 *    check-in per member, and KPI sums per member and KPI over the month.
 * 4. A full reindex: `PATH reindex` --reindex-runs times, or where this outpost has no such
 *    command, store_view_reindex in this process (open .. close), said so; then the counts of
 *    2 again (a rebuild must give the same projections).
 * 5. EXPLAIN QUERY PLAN of the baseline queries and of the shapes the commands need per
 *    member (one member's check-ins, one member's KPI values in a period, the newest
 *    entries), with full scans marked.
 *
 * Without --dir the node is made in a new directory under --workdir (default $TMPDIR, else
 * /tmp), removed at the end unless --keep. Exit codes: 0 done, 2 bad flags, 3 the benchmark
 * could not run, the counts differ, or a command failed (exited other than 0 or 1).
 */
#include "tools/bench_office.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "proto/entry.h"
#include "store/db.h"
#include "store/keyfile.h"
#include "store/reader.h"
#include "store/view.h"
#include "tools/bench_proc.h"
#include "tools/bench_util.h"
#include "tools/gen_office.h"

#define INFO_FILE "bench-office.txt"
#define TARGET_S 0.100
#define MAX_RUNS 1000

static const char help[] =
    "usage: outpost-bench office [--members N] [--days D] [--seed S] [--now ISO]\n"
    "                            [--sync-days N] [--threads T] [--runs R] [--reindex-runs R]\n"
    "                            [--budget S] [--timeout S] [--outpost PATH]\n"
    "                            [--dir DIR | --workdir DIR [--keep]] [--gen-only]\n"
    "\n"
    "Makes an office node (outpost init --office) with N members x D days of real entries\n"
    "(signed, chained, encrypted to the member and the office, ingested and projected as the\n"
    "office would), checks the projections' counts, then times the office's query commands\n"
    "as whole processes with OUTPOST_NOW=ISO (first run, then R runs: p50 and max) beside\n"
    "baselines of the same run: /bin/true, `outpost --help`, and raw SQLite queries of the\n"
    "same shapes in this process. Target: p50 <= 100 ms per query command. Commands this\n"
    "outpost lacks are reported as not available. Then a full reindex, and query plans.\n"
    "\n"
    "  --members N      field members (default 1000)\n"
    "  --days D         days of entries, ending on the date of --now (default 365)\n"
    "  --seed S         seed of the members' keys and of the contents (default 1)\n"
    "  --now ISO        the fixed now, e.g. 2026-11-25T18:00:00Z (the default)\n"
    "  --sync-days N    days of a member's entries per ingested run (default 7)\n"
    "  --threads T      signing threads (default 2)\n"
    "  --runs R         timed runs per command after the first (default 5)\n"
    "  --reindex-runs R full reindexes to time (default 3; 0 skips them)\n"
    "  --budget S       seconds per figure: a slow command runs fewer times, at least twice\n"
    "                   (a reindex at least once) (default 30)\n"
    "  --timeout S      a command still running after S seconds is stopped and reported as\n"
    "                   over S (default 30; reindex gets 10 times as long)\n"
    "  --outpost PATH   the outpost CLI (default: the one next to this program)\n"
    "  --dir DIR        the office node: made and filled if DIR holds no node, reused if it\n"
    "                   holds one this benchmark made with the same parameters; kept\n"
    "  --workdir DIR    without --dir: where to make a new directory (default $TMPDIR or\n"
    "                   /tmp), removed at the end unless --keep\n"
    "  --gen-only       make the office and check its counts; no timings\n"
    "  --help           this text\n"
    "\n"
    "Full run:  build/outpost-bench office --outpost build/outpost\n"
    "Quick run: build/outpost-bench office --members 20 --days 30 --runs 3 --reindex-runs 1\n";

/* ---------------------------------------------------------------- small helpers */

static uint64_t
file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

static bool
file_has(const char *path, const char *needle)
{
    char buf[4096];
    FILE *f = fopen(path, "r");
    bool found = false;
    if (!f)
        return false;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    for (char *p = buf; *p; p++) /* case aside */
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    found = strstr(buf, needle) != NULL;
    return found;
}

/* Seconds a command may run before it is stopped (SIGALRM) and reported as over: --timeout. */
static unsigned timeout_s = 30;

/* ---------------------------------------------------------------- the generated office */

/* What NODE/bench-office.txt holds: the parameters, and the counts written. */
typedef struct info {
    uint64_t members, days, seed, now, sync_days;
    uint64_t entries, office_entries, silent;
    uint64_t kinds[PROTO_KIND_RECEIPT + 1];
    double gen_seconds;
} info;

static int
info_write(const char *node, const info *in)
{
    char path[PATH_MAX + 32], tmp[PATH_MAX + 40], now[32];
    snprintf(path, sizeof path, "%s/%s", node, INFO_FILE);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return bench_fail("cannot write %s: %s", tmp, strerror(errno));
    bench_format_iso(in->now, now);
    fprintf(f, "# outpost-bench office: the parameters of this office and what was written\n");
    fprintf(f, "members %llu\ndays %llu\nseed %llu\nnow %s\nsync_days %llu\n",
            (unsigned long long)in->members, (unsigned long long)in->days,
            (unsigned long long)in->seed, now, (unsigned long long)in->sync_days);
    fprintf(f, "entries %llu\noffice_entries %llu\nsilent %llu\n", (unsigned long long)in->entries,
            (unsigned long long)in->office_entries, (unsigned long long)in->silent);
    for (int k = 1; k <= PROTO_KIND_RECEIPT; k++)
        fprintf(f, "kind%d %llu\n", k, (unsigned long long)in->kinds[k]);
    fprintf(f, "gen_seconds %.1f\n", in->gen_seconds);
    if (fclose(f) != 0 || rename(tmp, path) != 0)
        return bench_fail("cannot write %s: %s", path, strerror(errno));
    return 0;
}

/* 0 and *in filled; 1 if the file is missing; EXIT_FAIL if it is damaged. */
static int
info_read(const char *node, info *in)
{
    char path[PATH_MAX + 32], line[256], key[64], val[64];
    unsigned seen = 0;
    snprintf(path, sizeof path, "%s/%s", node, INFO_FILE);
    memset(in, 0, sizeof *in);
    FILE *f = fopen(path, "r");
    if (!f)
        return 1;
    while (fgets(line, sizeof line, f)) {
        uint64_t v = 0;
        if (line[0] == '#' || sscanf(line, "%63s %63s", key, val) != 2)
            continue;
        if (strcmp(key, "now") == 0) {
            seen |= bench_parse_iso(val, &in->now) ? 1u : 0u;
            continue;
        }
        if (strcmp(key, "gen_seconds") == 0) {
            in->gen_seconds = atof(val);
            continue;
        }
        if (!bench_parse_u64(val, 0, UINT64_MAX, &v))
            continue;
        int k;
        if (strcmp(key, "members") == 0)
            in->members = v, seen |= 2;
        else if (strcmp(key, "days") == 0)
            in->days = v, seen |= 4;
        else if (strcmp(key, "seed") == 0)
            in->seed = v, seen |= 8;
        else if (strcmp(key, "sync_days") == 0)
            in->sync_days = v, seen |= 16;
        else if (strcmp(key, "entries") == 0)
            in->entries = v, seen |= 32;
        else if (strcmp(key, "office_entries") == 0)
            in->office_entries = v;
        else if (strcmp(key, "silent") == 0)
            in->silent = v;
        else if (sscanf(key, "kind%d", &k) == 1 && k >= 1 && k <= PROTO_KIND_RECEIPT)
            in->kinds[k] = v;
    }
    fclose(f);
    if (seen != 63)
        return bench_fail("%s is damaged (a parameter is missing); remove %s or pass another --dir",
                          path, node);
    return 0;
}

typedef struct gen_progress {
    bool tty;
    double t0, last;
    int tenth; /* not on a terminal: the last tenth reported */
} gen_progress;

static void
gen_progress_cb(void *ctx, uint64_t done, uint64_t total)
{
    gen_progress *p = ctx;
    double t = bench_mono();
    char a[32], b[32];
    if (done > total)
        total = done;
    if (p->tty) {
        if (t - p->last < 0.2)
            return;
        p->last = t;
        fprintf(stderr, "\rgen: %s / ~%s entries (%.0f%%), %.0f s   ", bench_commas(done, a),
                bench_commas(total, b), 100.0 * (double)done / (double)total, t - p->t0);
        fflush(stderr);
        return;
    }
    int tenth = (int)(10 * done / total);
    if (tenth > p->tenth && t - p->t0 >= 2.0) { /* a quick run says nothing until its end */
        p->tenth = tenth;
        printf("  gen: %s / ~%s entries, %.0f s\n", bench_commas(done, a), bench_commas(total, b),
               t - p->t0);
        fflush(stdout);
    }
}

/* Makes the office node in node and fills it; *in gets what was written. *made: the node's
 * files are ours (init ran), so a failure after it may remove them. */
static int
generate(const char *outpost, const char *node, const char *logdir, info *in, int threads,
         bool *made)
{
    char path[PATH_MAX + 32], out[PATH_MAX + 32], err[PATH_MAX + 32], init_now[32], line[512];
    gen_office_opts o = {.members = (uint32_t)in->members,
                         .days = (uint32_t)in->days,
                         .seed = in->seed,
                         .now = in->now,
                         .sync_days = (uint32_t)in->sync_days,
                         .threads = threads};
    store_identity *id = NULL;
    store_reader *rd = NULL;
    store_db *db = NULL;
    gen_office_stats st;
    double secs;
    int ret = BENCH_EXIT_FAIL;
    op_err r;

    /* The office is made two days before day 0, as `outpost init --office` makes it. */
    bench_format_iso(gen_office_first_day(&o) - 2 * GEN_OFFICE_DAY_MS, init_now);
    snprintf(out, sizeof out, "%s/init.out", logdir);
    snprintf(err, sizeof err, "%s/init.err", logdir);
    char *argv[] = {(char *)outpost, "--dir",       (char *)node, "init",        "--office",
                    "--name",        "Home office", "--site",     "Head office", NULL};
    *made = false;
    int code = bench_proc_run(argv, init_now, out, err, timeout_s, &secs);
    if (code != 0)
        return bench_fail("%s --dir %s init --office failed (exit %d): %s", outpost, node, code,
                          bench_first_line(err, line, sizeof line));
    *made = true;
    printf("  office: %s --dir %s init --office --name 'Home office' (OUTPOST_NOW=%s)\n", outpost,
           node, init_now);

    snprintf(path, sizeof path, "%s/%s", node, STORE_DB_FILE);
    if ((r = store_identity_load(node, &id)) != OP_OK || (r = store_reader_new(id, &rd)) != OP_OK ||
        (r = store_db_open(path, 0, &db)) != OP_OK) {
        ret = bench_fail("cannot open the office in %s: %s", node, op_strerror(r));
        goto out;
    }
    gen_progress pg = {.tty = isatty(STDERR_FILENO), .t0 = bench_mono()};
    pg.last = pg.t0;
    o.progress = gen_progress_cb;
    o.ctx = &pg;
    double t0 = bench_mono();
    r = gen_office_fill(db, rd, id, &o, &st);
    store_db_close(db); /* the last connection: checkpoints the WAL into the file */
    db = NULL;
    double total = bench_mono() - t0;
    if (pg.tty)
        fprintf(stderr, "\r%*s\r", 70, "");
    if (r != OP_OK) {
        ret = bench_fail("generating the office failed: %s", op_strerror(r));
        goto out;
    }
    in->entries = st.entries;
    in->office_entries = st.office_entries;
    in->silent = st.silent;
    memcpy(in->kinds, st.kinds, sizeof in->kinds);
    in->gen_seconds = total;
    char a[32], b[32], c[32], d[32];
    printf("  gen: %s entries (%s in the office's log) in %.1f s: %s entries/s, office's log "
           "%.1f s, %d signing threads, %s runs, %.0f B/entry (envelope + body)\n",
           bench_commas(st.entries, a), bench_commas(st.office_entries, b), total,
           bench_commas((uint64_t)((double)st.entries / total), c), st.office_seconds, threads,
           bench_commas(st.runs, d), (double)(st.env_bytes + st.body_bytes) / (double)st.entries);
    ret = info_write(node, in);
out:
    store_db_close(db);
    store_reader_free(rd);
    store_identity_free(id);
    return ret;
}

/* ---------------------------------------------------------------- counts */

typedef struct counts {
    uint64_t kinds[PROTO_KIND_RECEIPT + 1], entries;
    uint64_t checkins, kpi_values, kpi_defs, feedback, contacts, workers, offices, key_entries;
} counts;

static int64_t
one_int(sqlite3 *h, const char *sql)
{
    sqlite3_stmt *st;
    int64_t v = -1;
    if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) != SQLITE_OK)
        return -1;
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static int
read_counts(const char *dbpath, counts *c)
{
    sqlite3 *h = NULL;
    sqlite3_stmt *st;
    memset(c, 0, sizeof *c);
    if (sqlite3_open_v2(dbpath, &h, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        int ret = bench_fail("cannot open %s: %s", dbpath, sqlite3_errmsg(h));
        sqlite3_close(h);
        return ret;
    }
    if (sqlite3_prepare_v2(h, "SELECT kind, count(*) FROM entries GROUP BY kind", -1, &st, NULL) ==
        SQLITE_OK) {
        while (sqlite3_step(st) == SQLITE_ROW) {
            int64_t k = sqlite3_column_int64(st, 0), n = sqlite3_column_int64(st, 1);
            if (k >= 0 && k <= PROTO_KIND_RECEIPT)
                c->kinds[k] = (uint64_t)n;
            c->entries += (uint64_t)n;
        }
        sqlite3_finalize(st);
    }
#define COUNT(field, sql)                                                                          \
    do {                                                                                           \
        int64_t v_ = one_int(h, sql);                                                              \
        c->field = v_ < 0 ? 0 : (uint64_t)v_;                                                      \
    } while (0)
    COUNT(checkins, "SELECT count(*) FROM checkins");
    COUNT(kpi_values, "SELECT count(*) FROM kpi_values");
    COUNT(kpi_defs, "SELECT count(*) FROM kpi_defs");
    COUNT(feedback, "SELECT count(*) FROM feedback");
    COUNT(contacts, "SELECT count(*) FROM contacts");
    COUNT(workers, "SELECT count(*) FROM members WHERE role = 'worker' AND revoked_after IS NULL");
    COUNT(offices, "SELECT count(*) FROM members WHERE role = 'office'");
    COUNT(key_entries, "SELECT count(*) FROM key_entries");
#undef COUNT
    sqlite3_close(h);
    return 0;
}

/* Prints written / in the log / projected for each kind; false if any differs. The office's
 * own member entry (from init) is in the log besides what gen wrote. */
static bool
check_counts(const info *in, const counts *c, const char *when)
{
    static const struct {
        int kind;
        const char *name;
        size_t off; /* of the projection's count in counts */
    } rows[] = {
        {PROTO_KIND_CHECKIN, "check-ins", offsetof(counts, checkins)},
        {PROTO_KIND_KPI_VALUE, "KPI values", offsetof(counts, kpi_values)},
        {PROTO_KIND_KPI_DEF, "KPI definitions", offsetof(counts, kpi_defs)},
        {PROTO_KIND_FEEDBACK, "feedback", offsetof(counts, feedback)},
        {PROTO_KIND_CONTACT, "contacts", offsetof(counts, contacts)},
        {PROTO_KIND_MEMBER, "members (workers)", offsetof(counts, workers)},
        {PROTO_KIND_KEY, "key entries", offsetof(counts, key_entries)},
    };
    char a[32], b[32], d[32];
    bool ok = true;
    printf("  counts %s: %-18s %12s %12s %12s\n", when, "kind", "written", "in the log",
           "projected");
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        int k = rows[i].kind;
        uint64_t written = in->kinds[k], logged = c->kinds[k];
        uint64_t projected = *(const uint64_t *)((const char *)c + rows[i].off);
        if (k == PROTO_KIND_MEMBER)
            logged -= logged > 0; /* init's member entry for the office itself */
        bool row_ok = written == logged && written == projected;
        ok &= row_ok;
        printf("  %*s %-18s %12s %12s %12s%s\n", (int)strlen(when) + 7, "", rows[i].name,
               bench_commas(written, a), bench_commas(logged, b), bench_commas(projected, d),
               row_ok ? "" : "  DIFFERENT");
    }
    bool total_ok = c->entries == in->entries + 1 && c->offices == 1;
    ok &= total_ok;
    printf("  %*s %-18s %12s %12s%s\n", (int)strlen(when) + 7, "", "all entries",
           bench_commas(in->entries + 1, a), bench_commas(c->entries, b),
           total_ok ? "" : "  DIFFERENT (or not one office member)");
    return ok;
}

/* ---------------------------------------------------------------- timings */

typedef enum { T_NONE, T_OK, T_MISSING, T_FAILED, T_TIMEOUT } result_kind;

typedef struct timing {
    char label[96];
    result_kind kind;
    double first, p50, max;
    size_t runs;
    uint64_t out_bytes;
    bool query; /* the <= 100 ms target applies */
    bool baseline;
    char why[256];
} timing;

/* A finished figure: p50 and max of the runs v[0..runs) (sorted here), else the first run's. */
static void
set_runs(timing *t, double *v, size_t runs)
{
    t->kind = T_OK;
    t->runs = runs;
    if (runs) {
        bench_sort(v, runs);
        t->p50 = bench_pct(v, runs, 50);
        t->max = v[runs - 1];
    } else {
        t->p50 = t->max = t->first;
    }
}

/* Runs after a first one of `first` seconds: `runs`, or fewer (at least `least`) so that they
 * take about `budget` seconds at most. A command 100 times over its target needs no more to
 * show it, and the machine is shared. */
static size_t
within(size_t runs, double first, double budget, size_t least)
{
    if (first <= 0 || first * (double)runs <= budget)
        return runs;
    double n = budget / first; /* may be negative: the first run alone was over */
    if (n < (double)least)
        return least < runs ? least : runs;
    return n > (double)runs ? runs : (size_t)n;
}

/* Times `outpost --dir node ARGS`: a first run, then `runs` more (within the budget). */
static void
time_command(const char *outpost, const char *node, const char *now, const char *tmp,
             const char *const *args, bool query, size_t runs, double budget, timing *t)
{
    char *argv[16];
    char out[PATH_MAX + 32], err[PATH_MAX + 32], line[300];
    double *v = calloc(runs ? runs : 1, sizeof *v);
    size_t n = 0, k = 0;
    int code;

    memset(t, 0, sizeof *t);
    t->query = query;
    argv[n++] = (char *)outpost;
    argv[n++] = "--dir";
    argv[n++] = (char *)node;
    snprintf(t->label, sizeof t->label, "outpost");
    for (; *args && n < 15; args++) {
        size_t len = strlen(t->label);
        argv[n++] = (char *)*args;
        snprintf(t->label + len, sizeof t->label - len, " %s", *args);
    }
    argv[n] = NULL;
    snprintf(out, sizeof out, "%s/cmd.out", tmp);
    snprintf(err, sizeof err, "%s/cmd.err", tmp);
    if (!v) {
        t->kind = T_FAILED;
        snprintf(t->why, sizeof t->why, "out of memory");
        return;
    }
    code = bench_proc_run(argv, now, out, err, timeout_s, &t->first);
    if (code == 2 && (file_has(err, "unknown command") || file_has(err, "is not a command"))) {
        t->kind = T_MISSING;
        snprintf(t->why, sizeof t->why, "%s", bench_first_line(err, line, sizeof line));
        goto out;
    }
    if (code == BENCH_PROC_TIMED_OUT) { /* far over the target: one run says enough */
        t->kind = T_TIMEOUT;
        snprintf(t->why, sizeof t->why, "stopped after %u s (--timeout)", timeout_s);
        goto out;
    }
    if (code != 0 && code != 1) { /* 1: ran fine, something to report (alerts) */
        t->kind = T_FAILED;
        snprintf(t->why, sizeof t->why, "exit %d: %s", code,
                 bench_first_line(err, line, sizeof line));
        goto out;
    }
    t->out_bytes = file_size(out);
    runs = within(runs, t->first, budget, 1);
    for (k = 0; k < runs; k++) {
        code = bench_proc_run(argv, now, out, err, timeout_s, &v[k]);
        if (code == BENCH_PROC_TIMED_OUT) {
            t->kind = T_TIMEOUT;
            snprintf(t->why, sizeof t->why, "run %zu stopped after %u s (--timeout)", k + 2,
                     timeout_s);
            goto out;
        }
        if (code != 0 && code != 1) {
            t->kind = T_FAILED;
            snprintf(t->why, sizeof t->why, "run %zu: exit %d: %s", k + 2, code,
                     bench_first_line(err, line, sizeof line));
            goto out;
        }
    }
    set_runs(t, v, runs);
out:
    free(v);
}

static void
print_timing(const timing *t)
{
    switch (t->kind) {
    case T_OK:
        printf("  %-56s p50 %8.1f ms  max %8.1f ms  first %8.1f ms  %zu run%s", t->label,
               1e3 * t->p50, 1e3 * t->max, 1e3 * t->first, t->runs, t->runs == 1 ? "" : "s");
        if (!t->baseline)
            printf(", out %llu B", (unsigned long long)t->out_bytes);
        printf("\n");
        break;
    case T_MISSING:
        printf("  %-56s not available (%s)\n", t->label, t->why);
        break;
    case T_FAILED:
        printf("  %-56s FAILED (%s)\n", t->label, t->why);
        break;
    case T_TIMEOUT:
        printf("  %-56s over %u s: %s\n", t->label, timeout_s, t->why);
        break;
    case T_NONE:
        break;
    }
    fflush(stdout);
}

/* Raw SQL baselines: the shapes team, alerts and kpi report need, through the C API. ?1 and
 * ?2 are the first and last day of the month before now's month. */
static const struct raw_query {
    const char *label, *sql;
} raw_queries[] = {
    {"raw SQL: check-ins per member (count, latest)",
     "SELECT a.key, count(*), max(c.ts) FROM checkins c JOIN authors a ON a.id = c.author"
     " GROUP BY c.author"},
    {"raw SQL: latest check-in per member",
     "SELECT a.key, c.ts, c.delivering, c.thriving, c.support, c.energy FROM (SELECT author,"
     " max(id) AS id FROM checkins GROUP BY author) l JOIN checkins c ON c.id = l.id"
     " JOIN authors a ON a.id = l.author"},
    {"raw SQL: KPI sums per member and KPI, a month",
     "SELECT author, kpi, sum(value), count(*) FROM kpi_values WHERE kpi IN (SELECT kpi FROM"
     " kpi_defs) AND at BETWEEN ?1 AND ?2 GROUP BY author, kpi"},
};
#define N_RAW (sizeof raw_queries / sizeof raw_queries[0])

/* One run: open read-only, prepare, step every row, finalize, close. */
static int
raw_once(const char *dbpath, const char *sql, const char *from, const char *to, double *secs,
         uint64_t *rows)
{
    double t0 = bench_mono();
    sqlite3 *h = NULL;
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_open_v2(dbpath, &h, SQLITE_OPEN_READONLY, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(h, sql, -1, &st, NULL);
    if (rc == SQLITE_OK) {
        if (sqlite3_bind_parameter_count(st) >= 2) {
            sqlite3_bind_text(st, 1, from, -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 2, to, -1, SQLITE_STATIC);
        }
        *rows = 0;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW)
            ++*rows;
        rc = rc == SQLITE_DONE ? SQLITE_OK : rc;
    }
    if (rc != SQLITE_OK)
        bench_fail("raw query failed: %s", h ? sqlite3_errmsg(h) : sqlite3_errstr(rc));
    sqlite3_finalize(st);
    sqlite3_close(h);
    *secs = bench_mono() - t0;
    return rc == SQLITE_OK ? 0 : BENCH_EXIT_FAIL;
}

static void
time_raw(const char *dbpath, const struct raw_query *q, const char *from, const char *to,
         size_t runs, timing *t)
{
    double *v = calloc(runs ? runs : 1, sizeof *v);
    uint64_t rows = 0;
    memset(t, 0, sizeof *t);
    t->baseline = true;
    snprintf(t->label, sizeof t->label, "baseline: %s", q->label);
    if (!v || raw_once(dbpath, q->sql, from, to, &t->first, &rows) != 0) {
        t->kind = T_FAILED;
        snprintf(t->why, sizeof t->why, "see the line above");
        free(v);
        return;
    }
    for (size_t k = 0; k < runs; k++)
        if (raw_once(dbpath, q->sql, from, to, &v[k], &rows) != 0) {
            t->kind = T_FAILED;
            snprintf(t->why, sizeof t->why, "see the line above");
            free(v);
            return;
        }
    set_runs(t, v, runs);
    t->out_bytes = rows;
    free(v);
}

/* Times a plain program (process start). */
static void
time_exec(char *const argv[], const char *label, const char *tmp, size_t runs, timing *t)
{
    char out[PATH_MAX + 32], err[PATH_MAX + 32], line[300];
    double *v = calloc(runs ? runs : 1, sizeof *v);
    memset(t, 0, sizeof *t);
    t->baseline = true;
    snprintf(t->label, sizeof t->label, "%s", label);
    snprintf(out, sizeof out, "%s/cmd.out", tmp);
    snprintf(err, sizeof err, "%s/cmd.err", tmp);
    int code = v ? bench_proc_run(argv, NULL, out, err, timeout_s, &t->first) : -1;
    for (size_t k = 0; code == 0 && k < runs; k++)
        code = bench_proc_run(argv, NULL, out, err, timeout_s, &v[k]);
    if (code != 0) {
        t->kind = T_FAILED;
        snprintf(t->why, sizeof t->why, "exit %d: %s", code,
                 bench_first_line(err, line, sizeof line));
    } else {
        set_runs(t, v, runs);
    }
    free(v);
}

/* A full reindex: the command if this outpost has it, else store_view_reindex here. */
static void
time_reindex(const char *outpost, const char *node, const char *now, const char *tmp, size_t runs,
             double budget, timing *t, uint64_t *replayed)
{
    char *argv[] = {(char *)outpost, "--dir", (char *)node, "reindex", NULL};
    char out[PATH_MAX + 32], err[PATH_MAX + 32], line[300], path[PATH_MAX + 32];
    double *v = calloc(runs, sizeof *v);
    int code;

    memset(t, 0, sizeof *t);
    *replayed = 0;
    snprintf(t->label, sizeof t->label, "outpost reindex");
    snprintf(out, sizeof out, "%s/cmd.out", tmp);
    snprintf(err, sizeof err, "%s/cmd.err", tmp);
    if (!v) {
        t->kind = T_FAILED;
        snprintf(t->why, sizeof t->why, "out of memory");
        return;
    }
    unsigned query_timeout = timeout_s;
    timeout_s *= 10; /* a rebuild of every projection is no query */
    code = bench_proc_run(argv, now, out, err, timeout_s, &v[0]);
    bool missing =
        code == 2 && (file_has(err, "unknown command") || file_has(err, "is not a command"));
    if (!missing) {
        runs = 1 + within(runs - 1, v[0], budget - v[0], 0);
        for (size_t k = 1; code == 0 && k < runs; k++)
            code = bench_proc_run(argv, now, out, err, timeout_s, &v[k]);
        timeout_s = query_timeout;
        if (code != 0) {
            t->kind = code == BENCH_PROC_TIMED_OUT ? T_TIMEOUT : T_FAILED;
            snprintf(t->why, sizeof t->why, "exit %d: %s", code,
                     bench_first_line(err, line, sizeof line));
            free(v);
            return;
        }
    } else {
        timeout_s = query_timeout;
        /* Not in this outpost: the store's own rebuild, open to close, in this process. */
        snprintf(t->label, sizeof t->label, "store_view_reindex in-process (no reindex cmd)");
        snprintf(path, sizeof path, "%s/%s", node, STORE_DB_FILE);
        for (size_t k = 0; k < runs; k++) {
            if (k == 1)
                runs = 1 + within(runs - 1, v[0], budget - v[0], 0);
            if (k == runs)
                break;
            store_identity *id = NULL;
            store_reader *rd = NULL;
            store_db *db = NULL;
            double t0 = bench_mono();
            op_err r;
            if ((r = store_identity_load(node, &id)) == OP_OK &&
                (r = store_reader_new(id, &rd)) == OP_OK &&
                (r = store_db_open(path, 0, &db)) == OP_OK)
                r = store_view_reindex(db, rd, NULL, NULL, replayed);
            store_db_close(db);
            store_reader_free(rd);
            store_identity_free(id);
            v[k] = bench_mono() - t0;
            if (r != OP_OK) {
                t->kind = T_FAILED;
                snprintf(t->why, sizeof t->why, "store_view_reindex: %s", op_strerror(r));
                free(v);
                return;
            }
        }
    }
    t->first = v[0];
    set_runs(t, v, runs); /* every run counts here, the first included */
    free(v);
}

/* ---------------------------------------------------------------- query plans */

static const struct raw_query plan_queries[] = {
    {"one member's check-ins: count and latest (a team row)",
     "SELECT count(*), max(ts) FROM checkins WHERE author = ?1"},
    {"one member's KPI values in a period (a kpi report row)",
     "SELECT sum(value) FROM kpi_values WHERE author = ?1 AND kpi = ?2 AND at BETWEEN ?3 AND ?4"},
    {"one member's contacts, newest (no_contact)",
     "SELECT max(ts) FROM contacts WHERE with_key = ?1"},
    {"the newest entries (log --limit 20)",
     "SELECT * FROM entries ORDER BY received DESC, ts DESC, author, seq DESC LIMIT 20"},
};

static void
print_plan(sqlite3 *h, const char *label, const char *sql)
{
    char q[2048];
    sqlite3_stmt *st;
    snprintf(q, sizeof q, "EXPLAIN QUERY PLAN %s", sql);
    printf("  %s\n", label);
    if (sqlite3_prepare_v2(h, q, -1, &st, NULL) != SQLITE_OK) {
        printf("      (cannot explain: %s)\n", sqlite3_errmsg(h));
        return;
    }
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *d = (const char *)sqlite3_column_text(st, 3);
        bool scan = d && strncmp(d, "SCAN ", 5) == 0 && !strstr(d, "USING");
        printf("      %s%s\n", d ? d : "?", scan ? "   <- full scan" : "");
    }
    sqlite3_finalize(st);
}

static void
print_plans(const char *dbpath)
{
    sqlite3 *h = NULL;
    if (sqlite3_open_v2(dbpath, &h, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        printf("  (cannot open %s)\n", dbpath);
        sqlite3_close(h);
        return;
    }
    for (size_t i = 0; i < N_RAW; i++)
        print_plan(h, raw_queries[i].label, raw_queries[i].sql);
    for (size_t i = 0; i < sizeof plan_queries / sizeof plan_queries[0]; i++)
        print_plan(h, plan_queries[i].label, plan_queries[i].sql);
    sqlite3_close(h);
}

/* ---------------------------------------------------------------- main */

/* The month before the month of ms: label (YYYY-MM), first and last day. */
static void
last_month(uint64_t ms, char label[32], char from[32], char to[32])
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    int y = tm.tm_year + 1900, m = tm.tm_mon; /* 0-based this month = 1-based last month */
    if (m == 0) {
        y--;
        m = 12;
    }
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int last = mdays[m - 1] + (m == 2 && (y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)));
    snprintf(label, 32, "%04d-%02d", y, m);
    snprintf(from, 32, "%04d-%02d-01", y, m);
    snprintf(to, 32, "%04d-%02d-%02d", y, m, last);
}

static void
summary_row(const timing *t)
{
    char p50[32], mx[32], first[32];
    const char *target = "-", *result = "-";
    if (t->kind == T_TIMEOUT) {
        char over[32];
        snprintf(over, sizeof over, "> %u s", timeout_s);
        printf("  %-56s %10s %10s %10s %5s  %-10s %s\n", t->label, over, over, over, "1",
               t->query ? "<= 100 ms" : "-", t->query ? "missed" : "-");
        return;
    }
    if (t->kind != T_OK) {
        printf("  %-56s %10s %10s %10s %5s  %-10s %s\n", t->label, "-", "-", "-", "-",
               t->query ? "<= 100 ms" : "-", t->kind == T_MISSING ? "not available" : "FAILED");
        return;
    }
    snprintf(p50, sizeof p50, "%.1f ms", 1e3 * t->p50);
    snprintf(mx, sizeof mx, "%.1f ms", 1e3 * t->max);
    snprintf(first, sizeof first, "%.1f ms", 1e3 * t->first);
    if (t->baseline)
        result = "baseline";
    else if (t->query) {
        target = "<= 100 ms";
        result = t->p50 <= TARGET_S ? "met" : "missed";
    }
    printf("  %-56s %10s %10s %10s %5zu  %-10s %s\n", t->label, p50, mx, first, t->runs, target,
           result);
}

int
bench_office_main(int argc, char **argv)
{
    static const struct option longs[] = {
        {"members", required_argument, NULL, 'm'},
        {"days", required_argument, NULL, 'd'},
        {"seed", required_argument, NULL, 's'},
        {"now", required_argument, NULL, 'n'},
        {"sync-days", required_argument, NULL, 'y'},
        {"threads", required_argument, NULL, 't'},
        {"runs", required_argument, NULL, 'r'},
        {"reindex-runs", required_argument, NULL, 'R'},
        {"budget", required_argument, NULL, 'b'},
        {"timeout", required_argument, NULL, 'T'},
        {"outpost", required_argument, NULL, 'o'},
        {"dir", required_argument, NULL, 'D'},
        {"workdir", required_argument, NULL, 'w'},
        {"keep", no_argument, NULL, 'k'},
        {"gen-only", no_argument, NULL, 'g'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    uint64_t members = 1000, days = 365, seed = 1, sync_days = 7, threads = 2, runs = 5,
             reindex_runs = 3, budget = 30, now = 0;
    const char *outpost_arg = NULL, *dir = NULL, *workdir = NULL;
    bool keep = false, gen_only = false;
    int c;

    bench_set_name("outpost-bench office");
    if (!bench_parse_iso("2026-11-25T18:00:00Z", &now))
        return bench_fail("the default --now does not parse");
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":h", longs, NULL)) != -1) {
        switch (c) {
        case 'm':
            if (!bench_parse_u64(optarg, 1, GEN_OFFICE_MEMBERS_MAX, &members))
                return bench_usage_error("--members wants 1..%d, not '%s'", GEN_OFFICE_MEMBERS_MAX,
                                         optarg);
            break;
        case 'd':
            if (!bench_parse_u64(optarg, 1, GEN_OFFICE_DAYS_MAX, &days))
                return bench_usage_error("--days wants 1..%d, not '%s'", GEN_OFFICE_DAYS_MAX,
                                         optarg);
            break;
        case 's':
            if (!bench_parse_u64(optarg, 0, UINT64_MAX, &seed))
                return bench_usage_error("--seed wants an unsigned integer, not '%s'", optarg);
            break;
        case 'n':
            if (!bench_parse_iso(optarg, &now))
                return bench_usage_error("--now wants a UTC time such as 2026-11-25T18:00:00Z, not "
                                         "'%s'",
                                         optarg);
            break;
        case 'y':
            if (!bench_parse_u64(optarg, 1, GEN_OFFICE_SYNC_DAYS_MAX, &sync_days))
                return bench_usage_error("--sync-days wants 1..%d, not '%s'",
                                         GEN_OFFICE_SYNC_DAYS_MAX, optarg);
            break;
        case 't':
            if (!bench_parse_u64(optarg, 1, 16, &threads))
                return bench_usage_error("--threads wants 1..16, not '%s'", optarg);
            break;
        case 'r':
            if (!bench_parse_u64(optarg, 1, MAX_RUNS, &runs))
                return bench_usage_error("--runs wants 1..%d, not '%s'", MAX_RUNS, optarg);
            break;
        case 'R':
            if (!bench_parse_u64(optarg, 0, MAX_RUNS, &reindex_runs))
                return bench_usage_error("--reindex-runs wants 0..%d, not '%s'", MAX_RUNS, optarg);
            break;
        case 'b':
            if (!bench_parse_u64(optarg, 1, 86400, &budget))
                return bench_usage_error("--budget wants seconds, 1..86400, not '%s'", optarg);
            break;
        case 'T': {
            uint64_t v;
            if (!bench_parse_u64(optarg, 1, 86400, &v))
                return bench_usage_error("--timeout wants seconds, 1..86400, not '%s'", optarg);
            timeout_s = (unsigned)v;
            break;
        }
        case 'o':
            outpost_arg = optarg;
            break;
        case 'D':
            dir = optarg;
            break;
        case 'w':
            workdir = optarg;
            break;
        case 'k':
            keep = true;
            break;
        case 'g':
            gen_only = true;
            break;
        case 'h':
            fputs(help, stdout);
            return 0;
        default:
            return bench_getopt_error(c, argv);
        }
    }
    if (optind < argc)
        return bench_usage_error("unexpected argument '%s'", argv[optind]);
    if (dir && (workdir || keep))
        return bench_usage_error("--dir is kept as it is: give --dir, or --workdir and --keep");
    if (gen_only && !dir)
        keep = true; /* an office made only to be thrown away would be no use */
    if (now / GEN_OFFICE_DAY_MS < days + 2)
        return bench_usage_error("--now must be more than --days days after 1970");

    char outpost[PATH_MAX], work[PATH_MAX], node[PATH_MAX], dbpath[PATH_MAX + 32];
    char now_iso[32], label[32], from[32], to[32];
    if (outpost_arg)
        snprintf(outpost, sizeof outpost, "%s", outpost_arg);
    else
        bench_default_path("outpost", outpost, sizeof outpost);
    if (access(outpost, X_OK) != 0)
        return bench_usage_error("cannot run %s (%s): pass --outpost PATH", outpost,
                                 strerror(errno));
    bench_format_iso(now, now_iso);
    last_month(now, label, from, to);

    /* Where the node lives, and scratch files for the commands' output. */
    bool made_work = false;
    if (dir) {
        if (mkdir(dir, 0700) != 0 && errno != EEXIST)
            return bench_fail("cannot create %s: %s", dir, strerror(errno));
        snprintf(node, sizeof node, "%s", dir);
        snprintf(work, sizeof work, "%s/bench-office.tmp", dir);
        if (mkdir(work, 0700) != 0 && errno != EEXIST)
            return bench_fail("cannot create %s: %s", work, strerror(errno));
    } else {
        const char *parent = workdir ? workdir : bench_tmp_parent();
        snprintf(work, sizeof work, "%s/outpost-bench-office.XXXXXX", parent);
        if (!mkdtemp(work))
            return bench_fail("cannot create a directory under %s: %s", parent, strerror(errno));
        made_work = true;
        if (snprintf(node, sizeof node, "%s/office", work) >= (int)sizeof node) {
            bench_rm_rf(work);
            return bench_usage_error("--workdir %s is too long a path", parent);
        }
    }
    snprintf(dbpath, sizeof dbpath, "%s/%s", node, STORE_DB_FILE);

    int ret = 0;
    info in = {.members = members, .days = days, .seed = seed, .now = now, .sync_days = sync_days};
    char a[32], b[32];
    printf("outpost-bench office: %s members x %s days, seed %llu, now %s, runs of %llu days; "
           "outpost %s\n",
           bench_commas(members, a), bench_commas(days, b), (unsigned long long)seed, now_iso,
           (unsigned long long)sync_days, outpost);
    printf("  node %s\n", node);
    fflush(stdout);

    /* 1. The office. */
    char idpath[PATH_MAX + 32];
    bool made = false;
    snprintf(idpath, sizeof idpath, "%s/%s", node, STORE_IDENTITY_FILE);
    if (access(idpath, F_OK) == 0) {
        info old;
        int r = info_read(node, &old);
        if (r == 1) {
            ret = bench_fail("%s holds a node that outpost-bench office did not make; pass another "
                             "--dir",
                             node);
            goto out;
        }
        if (r != 0) {
            ret = r;
            goto out;
        }
        if (old.members != members || old.days != days || old.seed != seed || old.now != now ||
            old.sync_days != sync_days) {
            char old_now[32];
            bench_format_iso(old.now, old_now);
            ret = bench_fail(
                "%s holds an office of --members %llu --days %llu --seed %llu --now %s "
                "--sync-days %llu; pass those, or another --dir",
                node, (unsigned long long)old.members, (unsigned long long)old.days,
                (unsigned long long)old.seed, old_now, (unsigned long long)old.sync_days);
            goto out;
        }
        in = old;
        printf("  reusing the office in %s (generated before in %.1f s)\n", node, old.gen_seconds);
    } else if ((ret = generate(outpost, node, work, &in, (int)threads, &made)) != 0) {
        /* Leave no half-made office behind (a later run would refuse it); only what init made
         * here: a database that was in DIR before is not ours. */
        static const char *const files[] = {STORE_IDENTITY_FILE, STORE_DB_FILE, "outpost.db-wal",
                                            "outpost.db-shm",    "network.key", INFO_FILE};
        for (size_t i = 0; made && i < sizeof files / sizeof files[0]; i++) {
            char p[PATH_MAX + 32];
            snprintf(p, sizeof p, "%s/%s", node, files[i]);
            unlink(p);
        }
        goto out;
    }
    uint64_t db_bytes = file_size(dbpath), wal_bytes = 0;
    {
        char wal[PATH_MAX + 40];
        snprintf(wal, sizeof wal, "%s-wal", dbpath);
        wal_bytes = file_size(wal);
    }
    printf("  store: %s (%.1f MiB, WAL %.1f MiB), %.0f B per entry; members who went "
           "silent before now: %llu\n",
           dbpath, (double)db_bytes / 1048576.0, (double)wal_bytes / 1048576.0,
           (double)db_bytes / (double)(in.entries + 1), (unsigned long long)in.silent);

    /* 2. The counts. */
    counts cnt;
    if ((ret = read_counts(dbpath, &cnt)) != 0)
        goto out;
    if (!check_counts(&in, &cnt, "after gen")) {
        ret = bench_fail("the office's projections do not hold what was written");
        goto out;
    }
    if (!made_work || keep)
        printf("  use it:  OUTPOST_NOW=%s %s --dir %s status\n", now_iso, outpost, node);
    fflush(stdout);
    if (gen_only)
        goto out;

    /* 3. Timings. */
    size_t R = (size_t)runs;
    timing base[3 + N_RAW];
    size_t n_base = 0;
    printf("\ntimings (first run, then %zu runs; each command fork+exec..exit with "
           "OUTPOST_NOW=%s)\n",
           R, now_iso);
    char *true_argv[] = {"/bin/true", NULL};
    char *help_argv[] = {outpost, "--help", NULL};
    time_exec(true_argv, "baseline: /bin/true (process start)", work, R, &base[n_base]);
    print_timing(&base[n_base++]);
    time_exec(help_argv, "baseline: outpost --help (CLI start)", work, R, &base[n_base]);
    print_timing(&base[n_base++]);
    for (size_t i = 0; i < N_RAW; i++) {
        time_raw(dbpath, &raw_queries[i], from, to, R, &base[n_base]);
        if (base[n_base].kind == T_OK)
            printf("  %-56s p50 %8.1f ms  max %8.1f ms  first %8.1f ms  %zu runs, %llu rows\n",
                   base[n_base].label, 1e3 * base[n_base].p50, 1e3 * base[n_base].max,
                   1e3 * base[n_base].first, base[n_base].runs,
                   (unsigned long long)base[n_base].out_bytes);
        else
            print_timing(&base[n_base]);
        n_base++;
    }
    fflush(stdout);

    static const char *const c_status[] = {"status", "--json", NULL};
    static const char *const c_team_j[] = {"team", "--json", NULL};
    static const char *const c_team[] = {"team", NULL};
    static const char *const c_alerts_j[] = {"alerts", "--json", NULL};
    static const char *const c_alerts[] = {"alerts", NULL};
    static const char *const c_kpi_j[] = {"kpi", "report", "--json", NULL};
    static const char *const c_kpi[] = {"kpi", "report", NULL};
    const char *c_kpi_m_j[] = {"kpi", "report", "--period", label, "--json", NULL};
    const char *c_kpi_m[] = {"kpi", "report", "--period", label, NULL};
    static const char *const c_log_j[] = {"log", "--limit", "20", "--json", NULL};
    static const char *const c_log_c[] = {"log", "--kind", "checkin", "--limit", "20", NULL};
    const char *const *cmds[] = {c_status, c_team_j,  c_team,  c_alerts_j, c_alerts, c_kpi_j,
                                 c_kpi,    c_kpi_m_j, c_kpi_m, c_log_j,    c_log_c};
    enum { N_CMDS = sizeof cmds / sizeof cmds[0] };
    timing tc[N_CMDS], reindex;
    for (size_t i = 0; i < N_CMDS; i++) {
        time_command(outpost, node, now_iso, work, cmds[i], true, R, (double)budget, &tc[i]);
        print_timing(&tc[i]);
    }

    /* 4. Reindex, then the counts again. */
    uint64_t replayed = 0;
    memset(&reindex, 0, sizeof reindex);
    if (reindex_runs > 0) {
        time_reindex(outpost, node, now_iso, work, (size_t)reindex_runs, (double)budget, &reindex,
                     &replayed);
        if (reindex.kind == T_OK)
            printf("  %-56s p50 %8.1f ms  max %8.1f ms  first %8.1f ms  %zu run%s (all timed), "
                   "%s entries/s\n",
                   reindex.label, 1e3 * reindex.p50, 1e3 * reindex.max, 1e3 * reindex.first,
                   reindex.runs, reindex.runs == 1 ? "" : "s",
                   bench_commas((uint64_t)((double)cnt.entries / reindex.p50), a));
        else
            print_timing(&reindex);
        if (reindex.kind == T_OK) {
            if ((ret = read_counts(dbpath, &cnt)) != 0)
                goto out;
            if (!check_counts(&in, &cnt, "after reindex")) {
                ret = bench_fail("a reindex changed the office's projections");
                goto out;
            }
        }
    }

    /* 5. Query plans. */
    printf("\nquery plans (EXPLAIN QUERY PLAN on this store)\n");
    print_plans(dbpath);

    /* The table. */
    char e[32];
    printf("\nsummary: office of %s members x %s days, now %s, %s entries, store %.0f MiB, "
           "generated in %.1f s\n",
           bench_commas(members, a), bench_commas(days, b), now_iso,
           bench_commas(in.entries + 1, e), (double)(db_bytes + wal_bytes) / 1048576.0,
           in.gen_seconds);
    printf("  %-56s %10s %10s %10s %5s  %-10s %s\n", "figure", "p50", "max", "first", "runs",
           "target", "result");
    for (size_t i = 0; i < n_base; i++)
        summary_row(&base[i]);
    for (size_t i = 0; i < N_CMDS; i++)
        summary_row(&tc[i]);
    if (reindex.kind != T_NONE)
        summary_row(&reindex);
    printf("  (target: p50 of the runs after the first; a command this outpost lacks is not "
           "available)\n");
    /* A command that exists but fails is a finding the run must not hide. */
    bool failed = reindex.kind == T_FAILED;
    for (size_t i = 0; i < N_CMDS; i++)
        failed |= tc[i].kind == T_FAILED;
    for (size_t i = 0; i < n_base; i++)
        failed |= base[i].kind == T_FAILED;
    if (failed)
        ret = bench_fail("a command failed (FAILED above)");
out:
    if (made_work && !keep)
        bench_rm_rf(work);
    else if (made_work)
        printf("  kept %s\n", work);
    else
        bench_rm_rf(work); /* --dir: only the scratch files go */
    return ret;
}
