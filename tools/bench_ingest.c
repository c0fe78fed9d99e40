/*
 * bench_ingest.c — `outpost-bench ingest`: store_log_ingest against raw SQLite inserts of the
 * same rows, in the same run (SPEC §11).
 *
 *   outpost-bench ingest [--entries 1000000] [--authors 1000] [--batch 1000] [--seed 1]
 *                        [--repeat 1] [--threads 2] [--source DIR] [--keep DIR]
 *       Generates the data once (or reads the store in --source DIR), reads every run back
 *       with store_log_read before any timing, then times in the same run:
 *         baseline: raw SQLite inserts of the same envelope + body bytes (and the same column
 *                   values) into a fresh database with store/db.c's `entries` table, the same
 *                   pragmas (WAL, synchronous=NORMAL, secure_delete) and the same batches, each
 *                   in BEGIN IMMEDIATE .. COMMIT;
 *         outpost:  store_log_ingest of the same runs into a fresh store (a relay's reader);
 *       and prints rows/s of both, the ratio against the target (outpost >= 0.5x raw), and the
 *       cost of each verification stage on the same entries: BLAKE2b of the envelopes and of
 *       the bodies, proto_envelope_decode, one ed25519 verify per run, proto_run_verify.
 *       --repeat R alternates the two R times and reports the medians. Files go to a temporary
 *       directory under $TMPDIR (else /tmp; removed at the end) or to --keep DIR (kept).
 */
#include "tools/bench.h"

#include <errno.h>
#include <getopt.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proto/entry.h"
#include "store/db.h"
#include "store/log.h"
#include "tools/bench_data.h"
#include "tools/bench_util.h"

static const char ingest_help[] =
    "usage: outpost-bench ingest [--entries N] [--authors M] [--batch B] [--seed S]\n"
    "                            [--repeat R] [--threads T] [--source DIR] [--keep DIR]\n"
    "\n"
    "Times, in the same run on the same data: raw SQLite inserts of the entries' bytes into\n"
    "store/db.c's entries table (baseline) and store_log_ingest of the same runs into a fresh\n"
    "relay store; prints rows/s of both, their ratio (target: outpost >= 0.5x raw) and the\n"
    "cost of each verification stage.\n"
    "\n"
    "  --entries N     entries to generate (default 1000000; k, M ok)\n"
    "  --authors M     authors (default 1000)\n"
    "  --batch B       entries per run and per transaction (default 1000)\n"
    "  --seed S        generator seed (default 1)\n"
    "  --repeat R      time each side R times, alternating, and report the median (default 1)\n"
    "  --threads T     signing threads of the generator (default 2)\n"
    "  --source DIR    read the entries from DIR/outpost.db instead of generating them\n"
    "                  (then --entries, --authors and --seed do not apply)\n"
    "  --keep DIR      put the databases in DIR and keep them (default: a temporary directory,\n"
    "                  removed at the end)\n"
    "  --help          this text\n";

/* The baseline: the same rows, the same batches, plain SQLite. Seconds in *secs. */
static int
time_raw(const char *path, const bench_dataset *d, uint64_t now, double *secs)
{
    sqlite3 *h;
    sqlite3_stmt *st = NULL;
    int rc;

    if ((rc = bench_raw_open(path, false, &h)) != 0)
        return rc;
    rc = sqlite3_prepare_v3(h, bench_raw_insert_sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL);
    double t0 = bench_mono();
    size_t k = 0;
    for (size_t i = 0; rc == SQLITE_OK && i < d->n_runs; i++) {
        const store_run *run = &d->runs[i];
        if ((rc = sqlite3_exec(h, "BEGIN IMMEDIATE", NULL, NULL, NULL)) != SQLITE_OK)
            break;
        for (size_t j = 0; j < run->n; j++, k++) {
            const bench_entry *rw = &d->rows[k];
            const proto_run_item *it = &run->items[j];
            sqlite3_bind_int64(st, 1, STORE_ROWID(rw->author, rw->env.seq));
            sqlite3_bind_int64(st, 2, rw->author);
            sqlite3_bind_int64(st, 3, (int64_t)rw->env.seq);
            sqlite3_bind_blob(st, 4, rw->hash, PROTO_HASH_BYTES, SQLITE_STATIC);
            sqlite3_bind_int64(st, 5, (int64_t)rw->env.kind);
            sqlite3_bind_int64(st, 6, (int64_t)rw->env.ts);
            sqlite3_bind_int64(st, 7, (int64_t)rw->env.epoch);
            sqlite3_bind_blob(st, 8, it->env, (int)it->env_len, SQLITE_STATIC);
            if (it->body)
                sqlite3_bind_blob(st, 9, it->body, (int)it->body_len, SQLITE_STATIC);
            else
                sqlite3_bind_null(st, 9);
            sqlite3_bind_int64(st, 10, (int64_t)now);
            rc = sqlite3_step(st);
            sqlite3_reset(st);
            if (rc != SQLITE_DONE)
                break;
            rc = SQLITE_OK;
        }
        if (rc == SQLITE_OK)
            rc = sqlite3_exec(h, "COMMIT", NULL, NULL, NULL);
    }
    *secs = bench_mono() - t0;
    int ret = 0;
    if (rc != SQLITE_OK)
        ret = bench_fail("raw insert into %s failed: %s", path, sqlite3_errmsg(h));
    sqlite3_finalize(st);
    sqlite3_close(h);
    return ret;
}

/* store_log_ingest of every run into a fresh relay store. Seconds of the ingest calls in *secs. */
static int
time_store(const char *path, const bench_dataset *d, uint64_t now, double *secs)
{
    bench_ingest_time t;
    int ret = bench_dataset_ingest(path, d, false, now, &t);
    *secs = t.ingest_s;
    if (ret != 0)
        return ret;
    if (t.stored != d->n_rows)
        return bench_fail("store_log_ingest stored %llu of %zu entries",
                          (unsigned long long)t.stored, d->n_rows);
    return 0;
}

/* Per-stage costs on the same entries, one core, in memory. Times in seconds. */
typedef struct stages {
    double hash_env, hash_body, decode, verify, run_verify;
} stages;

static int
time_stages(const bench_dataset *d, stages *s)
{
    uint8_t h[PROTO_HASH_BYTES], acc = 0;
    proto_envelope e;
    size_t max_run = 1, k;
    double t0;
    op_err r = OP_OK;

    memset(s, 0, sizeof *s);
    t0 = bench_mono();
    for (size_t i = 0; i < d->n_runs; i++)
        for (size_t j = 0; j < d->runs[i].n; j++) {
            proto_hash(d->runs[i].items[j].env, d->runs[i].items[j].env_len, h);
            acc ^= h[0];
        }
    s->hash_env = bench_mono() - t0;

    t0 = bench_mono();
    for (size_t i = 0; i < d->n_runs; i++)
        for (size_t j = 0; j < d->runs[i].n; j++)
            if (d->runs[i].items[j].body) {
                proto_hash(d->runs[i].items[j].body, d->runs[i].items[j].body_len, h);
                acc ^= h[0];
            }
    s->hash_body = bench_mono() - t0;

    t0 = bench_mono();
    for (size_t i = 0; r == OP_OK && i < d->n_runs; i++)
        for (size_t j = 0; r == OP_OK && j < d->runs[i].n; j++)
            r = proto_envelope_decode(d->runs[i].items[j].env, d->runs[i].items[j].env_len, &e);
    s->decode = bench_mono() - t0;
    if (r != OP_OK)
        return bench_fail("proto_envelope_decode: %s", op_strerror(r));

    /* The head of each run, decoded beforehand: only the verify is timed. */
    t0 = bench_mono();
    k = 0;
    for (size_t i = 0; r == OP_OK && i < d->n_runs; i++) {
        k += d->runs[i].n;
        const proto_run_item *it = &d->runs[i].items[d->runs[i].n - 1];
        r = proto_envelope_verify_sig(&d->rows[k - 1].env, it->env, it->env_len);
        if (d->runs[i].n > max_run)
            max_run = d->runs[i].n;
    }
    s->verify = bench_mono() - t0;
    if (r != OP_OK)
        return bench_fail("proto_envelope_verify_sig: %s", op_strerror(r));

    proto_envelope *envs = malloc(max_run * sizeof *envs);
    uint8_t(*hashes)[PROTO_HASH_BYTES] = malloc(max_run * sizeof *hashes);
    if (!envs || !hashes) {
        free(envs);
        free(hashes);
        return bench_fail("out of memory");
    }
    size_t bad;
    t0 = bench_mono();
    for (size_t i = 0; r == OP_OK && i < d->n_runs; i++)
        r = proto_run_verify(d->runs[i].items, d->runs[i].n, envs, hashes, &bad);
    s->run_verify = bench_mono() - t0;
    free(envs);
    free(hashes);
    if (r != OP_OK)
        return bench_fail("proto_run_verify: %s", op_strerror(r));
    if (acc == 0x5a && s->hash_env < 0) /* keeps the hashing loops from being dropped */
        puts("");
    return 0;
}

/* One line of the stages: us per entry, then entries per second, or tail when not NULL. */
static void
print_stage(const char *label, double secs, double n, const char *tail)
{
    char a[32];
    printf("    %-38s: %6.3f us/entry  ", label, 1e6 * secs / n);
    if (tail)
        printf("%s\n", tail);
    else
        printf("%10s/s\n", bench_commas((uint64_t)(n / secs), a));
}

int
bench_ingest_main(int argc, char **argv)
{
    static const struct option longs[] = {
        BENCH_GEN_LONGS,
        {"repeat", required_argument, NULL, 'R'},
        {"source", required_argument, NULL, 'S'},
        {"keep", required_argument, NULL, 'k'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    const char *source = NULL, *keep = NULL;
    bench_gen_flags f = {.entries = 1000000,
                         .authors = 1000,
                         .seed = 1,
                         .batch = 1000,
                         .threads = 2,
                         .max_entries = 1ull << 40,
                         .max_authors = 1u << 30,
                         .max_seed = UINT64_MAX};
    uint64_t repeat = 1;
    int c, rc;

    bench_set_name("outpost-bench ingest");
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
        case 'R':
            if (!bench_parse_count(optarg, 1, 100, &repeat))
                return bench_usage_error("--repeat wants 1..100, not '%s'", optarg);
            break;
        case 'S':
            source = optarg;
            break;
        case 'k':
            keep = optarg;
            break;
        case 'h':
            fputs(ingest_help, stdout);
            return 0;
        default:
            return bench_getopt_error(c, argv);
        }
    }
    if (optind < argc)
        return bench_usage_error("unexpected argument '%s'", argv[optind]);
    if (source && f.data_given)
        return bench_usage_error(
            "--source reads existing entries: --entries, --authors and --seed do "
            "not apply");
    if (!source && f.authors > f.entries)
        return bench_usage_error("--authors (%llu) must not exceed --entries (%llu)",
                                 (unsigned long long)f.authors, (unsigned long long)f.entries);

    char work[4096], path[4200], src_path[4200], raw_path[4200], store_path[4200];
    if (keep) {
        if (bench_mkdir_p(keep) != 0)
            return bench_fail("cannot create %s: %s", keep, strerror(errno));
        snprintf(work, sizeof work, "%s", keep);
    } else {
        snprintf(work, sizeof work, "%s/outpost-bench-ingest-XXXXXX", bench_tmp_parent());
        if (!mkdtemp(work))
            return bench_fail("cannot create a directory under %s: %s (set TMPDIR)",
                              bench_tmp_parent(), strerror(errno));
    }
    snprintf(raw_path, sizeof raw_path, "%s/raw.db", work);
    snprintf(store_path, sizeof store_path, "%s/relay.db", work);
    uint64_t now = bench_wall_ms();
    store_db *src = NULL;
    bench_dataset d = {0};
    int ret = 0;
    op_err r;

    /* 1. The entries: generated (and verified) once, or taken from --source. */
    double gen_secs = 0;
    if (source) {
        snprintf(src_path, sizeof src_path, "%s/%s", source, STORE_DB_FILE);
        if ((r = store_db_open(src_path, 0, &src)) != OP_OK) {
            ret = r == OP_E_NOTFOUND
                      ? bench_usage_error("--source %s: no %s there", source, STORE_DB_FILE)
                      : bench_fail("cannot open %s: %s", src_path, op_strerror(r));
            goto out;
        }
    } else {
        snprintf(path, sizeof path, "%s/source", work);
        snprintf(src_path, sizeof src_path, "%s/source/%s", work, STORE_DB_FILE);
        if (bench_mkdir_p(path) != 0) {
            ret = bench_fail("cannot create %s: %s", path, strerror(errno));
            goto out;
        }
        bench_remove_db(src_path);
        if ((r = store_db_open(src_path, STORE_OPEN_CREATE, &src)) != OP_OK) {
            ret = bench_fail("cannot create %s: %s", src_path, op_strerror(r));
            goto out;
        }
        gen_opts o = {.entries = f.entries,
                      .authors = (uint32_t)f.authors,
                      .seed = f.seed,
                      .batch = (size_t)f.batch,
                      .threads = (int)f.threads,
                      .now = now};
        gen_stats gs;
        uint32_t bad;
        r = bench_gen_fill(src, &o, "generating", &gs, &bad);
        if (r != OP_OK) {
            ret = bench_fail("generating author %u failed: %s", bad, op_strerror(r));
            goto out;
        }
        gen_secs = gs.seconds;
    }

    /* 2. Every run read back out before any timing. */
    double t0 = bench_mono();
    if ((r = bench_dataset_load(src, (size_t)f.batch, &d)) != OP_OK) {
        ret = bench_fail("reading the runs of %s failed: %s", src_path, op_strerror(r));
        goto out;
    }
    double load_secs = bench_mono() - t0;
    store_db_close(src);
    src = NULL;
    if (d.n_rows == 0) {
        ret = bench_fail("%s holds no entries", src_path);
        goto out;
    }

    char a[32], b2[32];
    printf("outpost-bench ingest: %s entries of %s authors in %zu runs of <= %llu "
           "(%.0f B/entry: envelope %.0f + body %.0f)\n",
           bench_commas(d.n_rows, a), bench_commas(d.authors, b2), d.n_runs,
           (unsigned long long)f.batch, (double)(d.env_bytes + d.body_bytes) / (double)d.n_rows,
           (double)d.env_bytes / (double)d.n_rows, (double)d.body_bytes / (double)d.n_rows);
    if (source)
        printf("  source %s (given)", src_path);
    else
        printf("  source %s (generated and ingested in %.1f s)", src_path, gen_secs);
    printf("; runs read back in %.2f s; work dir %s\n", load_secs, work);
    printf("  sqlite %s, libsodium %s, %ld cpus\n", sqlite3_libversion(), sodium_version_string(),
           sysconf(_SC_NPROCESSORS_ONLN));
    fflush(stdout);

    /* 3. Baseline and outpost, alternating which goes first. */
    double raw_t[100], store_t[100];
    for (uint64_t i = 0; i < repeat; i++) {
        if (i % 2 == 0) {
            if ((ret = time_raw(raw_path, &d, now, &raw_t[i])) != 0 ||
                (ret = time_store(store_path, &d, now, &store_t[i])) != 0)
                goto out;
        } else {
            if ((ret = time_store(store_path, &d, now, &store_t[i])) != 0 ||
                (ret = time_raw(raw_path, &d, now, &raw_t[i])) != 0)
                goto out;
        }
        if (repeat > 1)
            printf(
                "  repetition %llu: raw %s rows/s, outpost %s rows/s (%.2fx)\n",
                (unsigned long long)i + 1, bench_commas((uint64_t)((double)d.n_rows / raw_t[i]), a),
                bench_commas((uint64_t)((double)d.n_rows / store_t[i]), b2), raw_t[i] / store_t[i]);
        fflush(stdout);
    }
    double ratios[100];
    for (uint64_t i = 0; i < repeat; i++)
        ratios[i] = raw_t[i] / store_t[i];
    double ratio_med = bench_median(ratios, repeat);
    double raw_s = bench_median(raw_t, repeat), store_s = bench_median(store_t, repeat);
    double n = (double)d.n_rows, ratio = raw_s / store_s;

    /* 4. The stages of verification, on the same entries. */
    stages s;
    if ((ret = time_stages(&d, &s)) != 0)
        goto out;

    const char *med = repeat > 1 ? ", median" : "";
    char label[64];
    snprintf(label, sizeof label, "baseline: raw SQLite inserts%s", med);
    printf("  %-40s: %10s rows/s  %6.2f us/row  %7.2f s\n", label,
           bench_commas((uint64_t)(n / raw_s), a), 1e6 * raw_s / n, raw_s);
    snprintf(label, sizeof label, "outpost: store_log_ingest%s", med);
    printf("  %-40s: %10s rows/s  %6.2f us/row  %7.2f s\n", label,
           bench_commas((uint64_t)(n / store_s), a), 1e6 * store_s / n, store_s);
    printf("  %-40s: %.2fx  (target >= 0.50x: %s)\n", "ratio outpost/raw", ratio,
           ratio >= 0.5 ? "met" : "NOT met");
    if (repeat > 1)
        printf("  %-40s: %.2fx\n", "median of the repetitions' ratios", ratio_med);
    printf("  stages, on the same entries, one core, in memory:\n");
    char verify_tail[64];
    snprintf(verify_tail, sizeof verify_tail, "(%.1f us per verify, %zu runs)",
             1e6 * s.verify / (double)d.n_runs, d.n_runs);
    print_stage("BLAKE2b-256 of the envelopes", s.hash_env, n, NULL);
    print_stage("BLAKE2b-256 of the bodies", s.hash_body, n, NULL);
    print_stage("proto_envelope_decode", s.decode, n, NULL);
    print_stage("ed25519 verify, one per run", s.verify, n, verify_tail);
    print_stage("proto_run_verify (all of the above)", s.run_verify, n, NULL);
    print_stage("ingest - raw - proto_run_verify", store_s - raw_s - s.run_verify, n,
                "(SQL and projection beyond the raw insert)");
    printf("  result: raw %s rows/s, outpost %s rows/s, ratio %.2fx\n",
           bench_commas((uint64_t)(n / raw_s), a), bench_commas((uint64_t)(n / store_s), b2),
           ratio);
out:
    store_db_close(src);
    bench_dataset_free(&d);
    if (!keep) {
        bench_remove_db(raw_path);
        bench_remove_db(store_path);
        if (!source) {
            bench_remove_db(src_path);
            snprintf(path, sizeof path, "%s/source", work);
            rmdir(path);
        }
        rmdir(work);
    }
    return ret;
}
