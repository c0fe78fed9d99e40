/*
 * bench.c — outpost-bench: the benchmark drivers of SPEC §11 and the data generator.
 * Every figure is printed beside a baseline measured in the same run on the same machine.
 *
 *   outpost-bench gen --dir DIR [--entries 1000000] [--authors 1000] [--seed 1]
 *                     [--batch 1000] [--threads 2] [--reader-key-file F | --office DIR]
 *       Fills DIR/outpost.db (created if missing) with N synthetic, valid, signed and
 *       encrypted entries of M authors (author i = crypto_sign_seed_keypair(BLAKE2b(seed||i))):
 *       each log is a `key` entry sealing a random epoch key to the author (and to the reader
 *       key in F, base64, or to the identity of the office node in DIR), then check-ins and KPI
 *       values of about 250 bytes (envelope + body). Runs of --batch entries are signed on
 *       --threads threads and ingested with store_log_ingest, so the output is verified like
 *       real data. Refuses a store that already holds these authors (use another --seed).
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
 *
 * The full-size runs, from the repository root after a build into build/:
 *   build/outpost-bench ingest --repeat 3
 *   build/outpost-bench checkin --runs 200 --outpost build/outpost
 * Quick runs: `build/outpost-bench ingest --entries 100000`,
 *             `build/outpost-bench checkin --runs 50 --outpost build/outpost`.
 * Exit codes: 0 done, 2 bad flags, 3 the benchmark could not run.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "proto/entry.h"
#include "proto/seal.h"
#include "store/db.h"
#include "store/keyfile.h"
#include "store/log.h"
#include "store/reader.h"
#include "tools/gen.h"

#define EXIT_USAGE 2
#define EXIT_FAIL 3

/* ---------------------------------------------------------------- small helpers */

static const char *cmd_name = "outpost-bench";

static int
usage_error(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: ", cmd_name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (see %s --help)\n", cmd_name);
    return EXIT_USAGE;
}

static int
fail(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: ", cmd_name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return EXIT_FAIL;
}

/* The getopt error for the option just seen, as one line; always EXIT_USAGE. */
static int
getopt_error(int c, char **argv)
{
    const char *arg = argv[optind - 1];
    if (c == ':')
        return usage_error("option '%s' needs a value", arg);
    if (optopt && strncmp(arg, "--", 2) != 0)
        return usage_error("unknown option '-%c'", optopt);
    return usage_error("unknown option '%s'", arg);
}

static double
mono(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static uint64_t
wall_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

/* A count: digits, optionally followed by k (x1000) or M (x1000000). */
static bool
parse_count(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    char *end;
    if (!s || *s < '0' || *s > '9')
        return false;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno)
        return false;
    if (*end == 'k' || *end == 'K') {
        v *= 1000;
        end++;
    } else if (*end == 'M') {
        v *= 1000000;
        end++;
    }
    if (*end || v < min || v > max)
        return false;
    *out = v;
    return true;
}

/* 1234567 -> "1,234,567" in buf (at least 32 bytes). */
static const char *
commas(uint64_t v, char *buf)
{
    char tmp[32];
    int n = snprintf(tmp, sizeof tmp, "%llu", (unsigned long long)v), j = 0;
    for (int i = 0; i < n; i++) {
        if (i > 0 && (n - i) % 3 == 0)
            buf[j++] = ',';
        buf[j++] = tmp[i];
    }
    buf[j] = '\0';
    return buf;
}

static int
mkdir_p(const char *path)
{
    char buf[4096];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) {
        errno = ENAMETOOLONG;
        return -1;
    }
    for (char *p = buf + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            if (mkdir(buf, 0700) != 0 && errno != EEXIST)
                return -1;
            *p = '/';
        }
    if (mkdir(buf, 0700) != 0 && errno != EEXIST)
        return -1;
    return 0;
}

/* Removes a SQLite database and its -wal and -shm files; missing ones are fine. */
static void
remove_db(const char *path)
{
    char buf[4200];
    unlink(path);
    snprintf(buf, sizeof buf, "%s-wal", path);
    unlink(buf);
    snprintf(buf, sizeof buf, "%s-shm", path);
    unlink(buf);
}

static const char *
tmp_parent(void)
{
    const char *t = getenv("TMPDIR");
    return t && *t ? t : "/tmp";
}

/* One line of progress on a terminal, redrawn at most 5 times a second. */
typedef struct progress {
    const char *label;
    bool tty;
    double t0, last;
} progress;

static void
progress_init(progress *p, const char *label)
{
    p->label = label;
    p->tty = isatty(STDERR_FILENO);
    p->t0 = p->last = mono();
}

static void
progress_cb(void *ctx, uint64_t done, uint64_t total)
{
    progress *p = ctx;
    double t = mono();
    if (!p->tty || (t - p->last < 0.2 && done < total))
        return;
    p->last = t;
    char a[32], b[32], c[32];
    double rate = t > p->t0 ? (double)done / (t - p->t0) : 0;
    fprintf(stderr, "\r%s: %s / %s entries (%.0f%%), %s entries/s   ", p->label, commas(done, a),
            commas(total, b), total ? 100.0 * (double)done / (double)total : 100.0,
            commas((uint64_t)rate, c));
    fflush(stderr);
}

static void
progress_done(progress *p)
{
    if (p->tty)
        fprintf(stderr, "\r%*s\r", 78, "");
}

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of sorted v[0..n). */
static double
pct(const double *v, size_t n, double p)
{
    if (n == 0)
        return NAN;
    size_t k = (size_t)ceil(p / 100.0 * (double)n);
    return v[k == 0 ? 0 : k - 1];
}

/* ---------------------------------------------------------------- gen */

static const char gen_help[] =
    "usage: outpost-bench gen --dir DIR [--entries N] [--authors M] [--seed S] [--batch B]\n"
    "                         [--threads T] [--reader-key-file F | --office DIR]\n"
    "\n"
    "Fills DIR/outpost.db (created if missing) with N synthetic, valid, signed and encrypted\n"
    "entries written by M authors, ingested through store_log_ingest in runs of B entries.\n"
    "Author i's key is crypto_sign_seed_keypair(BLAKE2b-256(S as 8 bytes LE || i as 4 bytes\n"
    "LE)); each log starts with a key entry sealing a random epoch key to the author and, if\n"
    "given, to a reader key; then check-ins and KPI values of about 250 bytes each.\n"
    "\n"
    "  --dir DIR              node directory to fill (required)\n"
    "  --entries N            entries in all, key entries included (default 1000000; k, M ok)\n"
    "  --authors M            authors (default 1000; at most N)\n"
    "  --seed S               seed of the authors' keys and of the contents (default 1)\n"
    "  --batch B              entries per ingested run (default 1000)\n"
    "  --threads T            signing threads (default 2)\n"
    "  --reader-key-file F    also seal each epoch key to the base64 public key in F\n"
    "  --office DIR           also seal each epoch key to the identity of the node in DIR\n"
    "  --help                 this text\n";

/* Reads a base64 public key (44 characters, surrounding white space allowed) from path. */
static int
read_key_file(const char *path, uint8_t key[PROTO_KEY_BYTES])
{
    char buf[256];
    FILE *f = fopen(path, "r");
    if (!f)
        return usage_error("cannot read --reader-key-file %s: %s", path, strerror(errno));
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *s = buf, *e;
    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
        s++;
    for (e = s; *e && *e != ' ' && *e != '\t' && *e != '\n' && *e != '\r'; e++)
        ;
    *e = '\0';
    if (proto_key_from_text(s, key) != OP_OK)
        return usage_error("%s does not hold a public key (44 characters of base64)", path);
    return 0;
}

static int
load_office_key(const char *dir, uint8_t key[PROTO_KEY_BYTES])
{
    store_identity *id = NULL;
    op_err r = store_identity_load(dir, &id);
    if (r == OP_E_NOTFOUND)
        return usage_error("--office %s: no %s there (run outpost --dir %s init --office first)",
                           dir, STORE_IDENTITY_FILE, dir);
    if (r != OP_OK)
        return usage_error("--office %s: cannot load its identity: %s", dir, op_strerror(r));
    memcpy(key, id->pk, PROTO_KEY_BYTES);
    store_identity_free(id);
    return 0;
}

static int
cmd_gen(int argc, char **argv)
{
    static const struct option longs[] = {
        {"dir", required_argument, NULL, 'd'},
        {"entries", required_argument, NULL, 'n'},
        {"authors", required_argument, NULL, 'a'},
        {"seed", required_argument, NULL, 's'},
        {"batch", required_argument, NULL, 'b'},
        {"threads", required_argument, NULL, 't'},
        {"reader-key-file", required_argument, NULL, 'r'},
        {"office", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    const char *dir = NULL, *key_file = NULL, *office_dir = NULL;
    uint64_t entries = 1000000, authors = 1000, seed = 1, batch = 1000, threads = 2;
    int c;

    cmd_name = "outpost-bench gen";
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", longs, NULL)) != -1) {
        switch (c) {
        case 'd':
            dir = optarg;
            break;
        case 'n':
            if (!parse_count(optarg, 1, 1ull << 40, &entries))
                return usage_error("--entries wants a count >= 1, not '%s'", optarg);
            break;
        case 'a':
            if (!parse_count(optarg, 1, 1u << 30, &authors))
                return usage_error("--authors wants a count >= 1, not '%s'", optarg);
            break;
        case 's':
            if (!parse_count(optarg, 0, UINT64_MAX, &seed))
                return usage_error("--seed wants an unsigned integer, not '%s'", optarg);
            break;
        case 'b':
            if (!parse_count(optarg, 1, GEN_RUN_MAX, &batch))
                return usage_error("--batch wants 1..%d, not '%s'", GEN_RUN_MAX, optarg);
            break;
        case 't':
            if (!parse_count(optarg, 1, 16, &threads))
                return usage_error("--threads wants 1..16, not '%s'", optarg);
            break;
        case 'r':
            key_file = optarg;
            break;
        case 'o':
            office_dir = optarg;
            break;
        case 'h':
            fputs(gen_help, stdout);
            return 0;
        default:
            return getopt_error(c, argv);
        }
    }
    if (optind < argc)
        return usage_error("unexpected argument '%s'", argv[optind]);
    if (!dir)
        return usage_error("--dir DIR is required");
    if (authors > entries)
        return usage_error("--authors (%llu) must not exceed --entries (%llu): every log starts "
                           "with a key entry",
                           (unsigned long long)authors, (unsigned long long)entries);
    if (key_file && office_dir)
        return usage_error("give --reader-key-file or --office, not both");

    gen_opts o = {.entries = entries,
                  .authors = (uint32_t)authors,
                  .seed = seed,
                  .batch = (size_t)batch,
                  .threads = (int)threads,
                  .now = wall_ms()};
    int rc;
    if (key_file && (rc = read_key_file(key_file, o.office)) != 0)
        return rc;
    if (office_dir && (rc = load_office_key(office_dir, o.office)) != 0)
        return rc;
    o.has_office = key_file || office_dir;

    char path[4200];
    if (mkdir_p(dir) != 0)
        return fail("cannot create %s: %s", dir, strerror(errno));
    snprintf(path, sizeof path, "%s/%s", dir, STORE_DB_FILE);
    store_db *db = NULL;
    op_err r = store_db_open(path, STORE_OPEN_CREATE, &db);
    if (r != OP_OK)
        return fail("cannot open %s: %s", path, op_strerror(r));

    progress pg;
    progress_init(&pg, "gen");
    o.progress = progress_cb;
    o.ctx = &pg;
    gen_stats st;
    uint32_t bad = 0;
    r = gen_fill(db, &o, &st, &bad);
    progress_done(&pg);
    store_db_close(db);
    if (r == OP_E_EXISTS)
        return fail("%s already holds author %u of seed %llu: use a fresh --dir or another --seed",
                    path, bad, (unsigned long long)seed);
    if (r != OP_OK)
        return fail("writing author %u into %s failed: %s", bad, path, op_strerror(r));

    char a[32], b[32], c2[32];
    char office_text[PROTO_KEY_TEXT_BYTES] = "";
    if (o.has_office)
        proto_key_to_text(o.office, office_text);
    printf("gen: %s entries of %s authors into %s in %.1f s (%s entries/s, %d signing threads); "
           "%llu runs; %.0f B/entry (envelope %.0f + body %.0f); seed %llu%s%s\n",
           commas(st.entries, a), commas(authors, b), path, st.seconds,
           commas((uint64_t)((double)st.entries / st.seconds), c2), o.threads,
           (unsigned long long)st.runs, (double)(st.env_bytes + st.body_bytes) / (double)st.entries,
           (double)st.env_bytes / (double)st.entries, (double)st.body_bytes / (double)st.entries,
           (unsigned long long)seed, o.has_office ? "; sealed to " : "", office_text);
    return 0;
}

/* ---------------------------------------------------------------- ingest */

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

/* The column values of one entry, computed before any timing. */
typedef struct row {
    int64_t author;
    proto_envelope env;
    uint8_t hash[PROTO_HASH_BYTES];
} row;

typedef struct dataset {
    store_run *runs;
    size_t n_runs;
    row *rows; /* one per entry, in run order */
    size_t n_rows;
    uint64_t authors, env_bytes, body_bytes;
} dataset;

static void
dataset_free(dataset *d)
{
    for (size_t i = 0; i < d->n_runs; i++)
        store_run_free(&d->runs[i]);
    free(d->runs);
    free(d->rows);
    memset(d, 0, sizeof *d);
}

/* Reads every run of every author in db, up to batch entries each, and decodes each entry. */
static op_err
dataset_load(store_db *db, size_t batch, dataset *d)
{
    store_head *have = NULL;
    size_t n_have = 0, cap = 0;
    op_err r;

    memset(d, 0, sizeof *d);
    if ((r = store_log_have(db, &have, &n_have)) != OP_OK)
        return r;
    d->authors = n_have;
    for (size_t a = 0; a < n_have; a++) {
        for (uint64_t from = 1; from <= have[a].seq;) {
            if (d->n_runs == cap) {
                size_t ncap = cap ? 2 * cap : 1024;
                store_run *nr = realloc(d->runs, ncap * sizeof *nr);
                if (!nr) {
                    r = OP_E_NOMEM;
                    goto out;
                }
                d->runs = nr;
                cap = ncap;
            }
            store_run *run = &d->runs[d->n_runs];
            if ((r = store_log_read(db, have[a].author, from, batch, run)) != OP_OK)
                goto out;
            if (run->n == 0) {
                store_run_free(run);
                break;
            }
            d->n_runs++;
            d->n_rows += run->n;
            from += run->n;
        }
    }
    if (!(d->rows = calloc(d->n_rows ? d->n_rows : 1, sizeof *d->rows))) {
        r = OP_E_NOMEM;
        goto out;
    }
    size_t k = 0;
    int64_t author_id = 0;
    for (size_t i = 0; i < d->n_runs; i++) {
        const store_run *run = &d->runs[i];
        for (size_t j = 0; j < run->n; j++, k++) {
            const proto_run_item *it = &run->items[j];
            if ((r = proto_envelope_decode(it->env, it->env_len, &d->rows[k].env)) != OP_OK)
                goto out;
            if (j == 0 && (k == 0 || memcmp(d->rows[k].env.author, d->rows[k - 1].env.author,
                                            PROTO_KEY_BYTES) != 0))
                author_id++;
            d->rows[k].author = author_id;
            proto_hash(it->env, it->env_len, d->rows[k].hash);
            d->env_bytes += it->env_len;
            d->body_bytes += it->body_len;
        }
    }
out:
    free(have);
    if (r != OP_OK)
        dataset_free(d);
    return r;
}

static const char entries_ddl[] =
    "CREATE TABLE entries("
    "  id INTEGER PRIMARY KEY, author INTEGER NOT NULL, seq INTEGER NOT NULL,"
    "  hash BLOB NOT NULL, kind INTEGER NOT NULL, ts INTEGER NOT NULL, epoch INTEGER NOT NULL,"
    "  envelope BLOB NOT NULL, body BLOB, received INTEGER NOT NULL);";

/* Opens a fresh database at path with store_db_open's pragmas and the entries table. */
static int
raw_open(const char *path, bool durable, sqlite3 **out)
{
    sqlite3 *h = NULL;
    char sql[512];
    remove_db(path);
    int rc = sqlite3_open_v2(
        path, &h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    snprintf(sql, sizeof sql,
             "PRAGMA journal_mode=WAL; PRAGMA synchronous=%s; PRAGMA foreign_keys=OFF;"
             " PRAGMA secure_delete=ON; %s",
             durable ? "FULL" : "NORMAL", entries_ddl);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(h, sql, NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        int r = fail("cannot create %s: %s", path, h ? sqlite3_errmsg(h) : sqlite3_errstr(rc));
        sqlite3_close(h);
        return r;
    }
    *out = h;
    return 0;
}

/* The baseline: the same rows, the same batches, plain SQLite. Seconds in *secs. */
static int
time_raw(const char *path, const dataset *d, uint64_t now, double *secs)
{
    sqlite3 *h;
    sqlite3_stmt *st = NULL;
    int rc;

    if ((rc = raw_open(path, false, &h)) != 0)
        return rc;
    rc = sqlite3_prepare_v3(h,
                            "INSERT INTO entries(id, author, seq, hash, kind, ts, epoch, envelope,"
                            " body, received) VALUES(?,?,?,?,?,?,?,?,?,?)",
                            -1, SQLITE_PREPARE_PERSISTENT, &st, NULL);
    double t0 = mono();
    size_t k = 0;
    for (size_t i = 0; rc == SQLITE_OK && i < d->n_runs; i++) {
        const store_run *run = &d->runs[i];
        if ((rc = sqlite3_exec(h, "BEGIN IMMEDIATE", NULL, NULL, NULL)) != SQLITE_OK)
            break;
        for (size_t j = 0; j < run->n; j++, k++) {
            const row *rw = &d->rows[k];
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
    *secs = mono() - t0;
    int ret = 0;
    if (rc != SQLITE_OK)
        ret = fail("raw insert into %s failed: %s", path, sqlite3_errmsg(h));
    sqlite3_finalize(st);
    sqlite3_close(h);
    return ret;
}

/* store_log_ingest of every run into a fresh relay store. Seconds in *secs. */
static int
time_store(const char *path, const dataset *d, uint64_t now, double *secs)
{
    store_db *db = NULL;
    store_reader *rd = NULL;
    op_err r;

    remove_db(path);
    if ((r = store_db_open(path, STORE_OPEN_CREATE, &db)) != OP_OK)
        return fail("cannot create %s: %s", path, op_strerror(r));
    if ((r = store_reader_new(NULL, &rd)) != OP_OK) {
        store_db_close(db);
        return fail("store_reader_new: %s", op_strerror(r));
    }
    uint64_t stored = 0;
    size_t i = 0, bad = 0;
    double t0 = mono();
    for (; i < d->n_runs; i++) {
        store_ingested ing;
        if ((r = store_log_ingest(db, rd, d->runs[i].items, d->runs[i].n, now, &ing, &bad)) !=
            OP_OK)
            break;
        stored += ing.stored;
    }
    *secs = mono() - t0;
    store_reader_free(rd);
    store_db_close(db);
    if (r != OP_OK)
        return fail("store_log_ingest of run %zu (entry %zu) failed: %s", i, bad, op_strerror(r));
    if (stored != d->n_rows)
        return fail("store_log_ingest stored %llu of %zu entries", (unsigned long long)stored,
                    d->n_rows);
    return 0;
}

/* Per-stage costs on the same entries, one core, in memory. Times in seconds. */
typedef struct stages {
    double hash_env, hash_body, decode, verify, run_verify;
} stages;

static int
time_stages(const dataset *d, stages *s)
{
    uint8_t h[PROTO_HASH_BYTES], acc = 0;
    proto_envelope e;
    size_t max_run = 1, k;
    double t0;
    op_err r = OP_OK;

    memset(s, 0, sizeof *s);
    t0 = mono();
    for (size_t i = 0; i < d->n_runs; i++)
        for (size_t j = 0; j < d->runs[i].n; j++) {
            proto_hash(d->runs[i].items[j].env, d->runs[i].items[j].env_len, h);
            acc ^= h[0];
        }
    s->hash_env = mono() - t0;

    t0 = mono();
    for (size_t i = 0; i < d->n_runs; i++)
        for (size_t j = 0; j < d->runs[i].n; j++)
            if (d->runs[i].items[j].body) {
                proto_hash(d->runs[i].items[j].body, d->runs[i].items[j].body_len, h);
                acc ^= h[0];
            }
    s->hash_body = mono() - t0;

    t0 = mono();
    for (size_t i = 0; r == OP_OK && i < d->n_runs; i++)
        for (size_t j = 0; r == OP_OK && j < d->runs[i].n; j++)
            r = proto_envelope_decode(d->runs[i].items[j].env, d->runs[i].items[j].env_len, &e);
    s->decode = mono() - t0;
    if (r != OP_OK)
        return fail("proto_envelope_decode: %s", op_strerror(r));

    /* The head of each run, decoded beforehand: only the verify is timed. */
    t0 = mono();
    k = 0;
    for (size_t i = 0; r == OP_OK && i < d->n_runs; i++) {
        k += d->runs[i].n;
        const proto_run_item *it = &d->runs[i].items[d->runs[i].n - 1];
        r = proto_envelope_verify_sig(&d->rows[k - 1].env, it->env, it->env_len);
        if (d->runs[i].n > max_run)
            max_run = d->runs[i].n;
    }
    s->verify = mono() - t0;
    if (r != OP_OK)
        return fail("proto_envelope_verify_sig: %s", op_strerror(r));

    proto_envelope *envs = malloc(max_run * sizeof *envs);
    uint8_t(*hashes)[PROTO_HASH_BYTES] = malloc(max_run * sizeof *hashes);
    if (!envs || !hashes) {
        free(envs);
        free(hashes);
        return fail("out of memory");
    }
    size_t bad;
    t0 = mono();
    for (size_t i = 0; r == OP_OK && i < d->n_runs; i++)
        r = proto_run_verify(d->runs[i].items, d->runs[i].n, envs, hashes, &bad);
    s->run_verify = mono() - t0;
    free(envs);
    free(hashes);
    if (r != OP_OK)
        return fail("proto_run_verify: %s", op_strerror(r));
    if (acc == 0x5a && s->hash_env < 0) /* keeps the hashing loops from being dropped */
        puts("");
    return 0;
}

static double
median(double *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static int
cmd_ingest(int argc, char **argv)
{
    static const struct option longs[] = {
        {"entries", required_argument, NULL, 'n'}, {"authors", required_argument, NULL, 'a'},
        {"batch", required_argument, NULL, 'b'},   {"seed", required_argument, NULL, 's'},
        {"repeat", required_argument, NULL, 'R'},  {"threads", required_argument, NULL, 't'},
        {"source", required_argument, NULL, 'S'},  {"keep", required_argument, NULL, 'k'},
        {"help", no_argument, NULL, 'h'},          {0},
    };
    const char *source = NULL, *keep = NULL;
    uint64_t entries = 1000000, authors = 1000, batch = 1000, seed = 1, repeat = 1, threads = 2;
    bool gen_flags = false;
    int c;

    cmd_name = "outpost-bench ingest";
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", longs, NULL)) != -1) {
        switch (c) {
        case 'n':
            if (!parse_count(optarg, 1, 1ull << 40, &entries))
                return usage_error("--entries wants a count >= 1, not '%s'", optarg);
            gen_flags = true;
            break;
        case 'a':
            if (!parse_count(optarg, 1, 1u << 30, &authors))
                return usage_error("--authors wants a count >= 1, not '%s'", optarg);
            gen_flags = true;
            break;
        case 'b':
            if (!parse_count(optarg, 1, GEN_RUN_MAX, &batch))
                return usage_error("--batch wants 1..%d, not '%s'", GEN_RUN_MAX, optarg);
            break;
        case 's':
            if (!parse_count(optarg, 0, UINT64_MAX, &seed))
                return usage_error("--seed wants an unsigned integer, not '%s'", optarg);
            gen_flags = true;
            break;
        case 'R':
            if (!parse_count(optarg, 1, 100, &repeat))
                return usage_error("--repeat wants 1..100, not '%s'", optarg);
            break;
        case 't':
            if (!parse_count(optarg, 1, 16, &threads))
                return usage_error("--threads wants 1..16, not '%s'", optarg);
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
            return getopt_error(c, argv);
        }
    }
    if (optind < argc)
        return usage_error("unexpected argument '%s'", argv[optind]);
    if (source && gen_flags)
        return usage_error("--source reads existing entries: --entries, --authors and --seed do "
                           "not apply");
    if (!source && authors > entries)
        return usage_error("--authors (%llu) must not exceed --entries (%llu)",
                           (unsigned long long)authors, (unsigned long long)entries);

    char work[4096], path[4200], src_path[4200], raw_path[4200], store_path[4200];
    if (keep) {
        if (mkdir_p(keep) != 0)
            return fail("cannot create %s: %s", keep, strerror(errno));
        snprintf(work, sizeof work, "%s", keep);
    } else {
        snprintf(work, sizeof work, "%s/outpost-bench-ingest-XXXXXX", tmp_parent());
        if (!mkdtemp(work))
            return fail("cannot create a directory under %s: %s (set TMPDIR)", tmp_parent(),
                        strerror(errno));
    }
    snprintf(raw_path, sizeof raw_path, "%s/raw.db", work);
    snprintf(store_path, sizeof store_path, "%s/relay.db", work);
    uint64_t now = wall_ms();
    store_db *src = NULL;
    dataset d = {0};
    int ret = 0;
    op_err r;

    /* 1. The entries: generated (and verified) once, or taken from --source. */
    double gen_secs = 0;
    if (source) {
        snprintf(src_path, sizeof src_path, "%s/%s", source, STORE_DB_FILE);
        if ((r = store_db_open(src_path, 0, &src)) != OP_OK) {
            ret = r == OP_E_NOTFOUND
                      ? usage_error("--source %s: no %s there", source, STORE_DB_FILE)
                      : fail("cannot open %s: %s", src_path, op_strerror(r));
            goto out;
        }
    } else {
        snprintf(path, sizeof path, "%s/source", work);
        snprintf(src_path, sizeof src_path, "%s/source/%s", work, STORE_DB_FILE);
        if (mkdir_p(path) != 0) {
            ret = fail("cannot create %s: %s", path, strerror(errno));
            goto out;
        }
        remove_db(src_path);
        if ((r = store_db_open(src_path, STORE_OPEN_CREATE, &src)) != OP_OK) {
            ret = fail("cannot create %s: %s", src_path, op_strerror(r));
            goto out;
        }
        gen_opts o = {.entries = entries,
                      .authors = (uint32_t)authors,
                      .seed = seed,
                      .batch = (size_t)batch,
                      .threads = (int)threads,
                      .now = now};
        progress pg;
        progress_init(&pg, "generating");
        o.progress = progress_cb;
        o.ctx = &pg;
        gen_stats gs;
        uint32_t bad;
        r = gen_fill(src, &o, &gs, &bad);
        progress_done(&pg);
        if (r != OP_OK) {
            ret = fail("generating author %u failed: %s", bad, op_strerror(r));
            goto out;
        }
        gen_secs = gs.seconds;
    }

    /* 2. Every run read back out before any timing. */
    double t0 = mono();
    if ((r = dataset_load(src, (size_t)batch, &d)) != OP_OK) {
        ret = fail("reading the runs of %s failed: %s", src_path, op_strerror(r));
        goto out;
    }
    double load_secs = mono() - t0;
    store_db_close(src);
    src = NULL;
    if (d.n_rows == 0) {
        ret = fail("%s holds no entries", src_path);
        goto out;
    }

    char a[32], b2[32];
    printf("outpost-bench ingest: %s entries of %s authors in %zu runs of <= %llu "
           "(%.0f B/entry: envelope %.0f + body %.0f)\n",
           commas(d.n_rows, a), commas(d.authors, b2), d.n_runs, (unsigned long long)batch,
           (double)(d.env_bytes + d.body_bytes) / (double)d.n_rows,
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
            printf("  repetition %llu: raw %s rows/s, outpost %s rows/s (%.2fx)\n",
                   (unsigned long long)i + 1, commas((uint64_t)((double)d.n_rows / raw_t[i]), a),
                   commas((uint64_t)((double)d.n_rows / store_t[i]), b2), raw_t[i] / store_t[i]);
        fflush(stdout);
    }
    double ratios[100];
    for (uint64_t i = 0; i < repeat; i++)
        ratios[i] = raw_t[i] / store_t[i];
    double ratio_med = median(ratios, repeat);
    double raw_s = median(raw_t, repeat), store_s = median(store_t, repeat);
    double n = (double)d.n_rows, ratio = raw_s / store_s;

    /* 4. The stages of verification, on the same entries. */
    stages s;
    if ((ret = time_stages(&d, &s)) != 0)
        goto out;

    const char *med = repeat > 1 ? ", median" : "";
    char label[64];
    snprintf(label, sizeof label, "baseline: raw SQLite inserts%s", med);
    printf("  %-40s: %10s rows/s  %6.2f us/row  %7.2f s\n", label, commas((uint64_t)(n / raw_s), a),
           1e6 * raw_s / n, raw_s);
    snprintf(label, sizeof label, "outpost: store_log_ingest%s", med);
    printf("  %-40s: %10s rows/s  %6.2f us/row  %7.2f s\n", label,
           commas((uint64_t)(n / store_s), a), 1e6 * store_s / n, store_s);
    printf("  %-40s: %.2fx  (target >= 0.50x: %s)\n", "ratio outpost/raw", ratio,
           ratio >= 0.5 ? "met" : "NOT met");
    if (repeat > 1)
        printf("  %-40s: %.2fx\n", "median of the repetitions' ratios", ratio_med);
    printf("  stages, on the same entries, one core, in memory:\n");
    printf("    %-38s: %6.3f us/entry  %10s/s\n", "BLAKE2b-256 of the envelopes",
           1e6 * s.hash_env / n, commas((uint64_t)(n / s.hash_env), a));
    printf("    %-38s: %6.3f us/entry  %10s/s\n", "BLAKE2b-256 of the bodies",
           1e6 * s.hash_body / n, commas((uint64_t)(n / s.hash_body), a));
    printf("    %-38s: %6.3f us/entry  %10s/s\n", "proto_envelope_decode", 1e6 * s.decode / n,
           commas((uint64_t)(n / s.decode), a));
    printf("    %-38s: %6.3f us/entry  (%.1f us per verify, %zu runs)\n",
           "ed25519 verify, one per run", 1e6 * s.verify / n, 1e6 * s.verify / (double)d.n_runs,
           d.n_runs);
    printf("    %-38s: %6.3f us/entry  %10s/s\n", "proto_run_verify (all of the above)",
           1e6 * s.run_verify / n, commas((uint64_t)(n / s.run_verify), a));
    printf("    %-38s: %6.3f us/entry  (SQL and projection beyond the raw insert)\n",
           "ingest - raw - proto_run_verify", 1e6 * (store_s - raw_s - s.run_verify) / n);
    printf("  result: raw %s rows/s, outpost %s rows/s, ratio %.2fx\n",
           commas((uint64_t)(n / raw_s), a), commas((uint64_t)(n / store_s), b2), ratio);
out:
    store_db_close(src);
    dataset_free(&d);
    if (!keep) {
        remove_db(raw_path);
        remove_db(store_path);
        if (!source) {
            remove_db(src_path);
            snprintf(path, sizeof path, "%s/source", work);
            rmdir(path);
        }
        rmdir(work);
    }
    return ret;
}

/* ---------------------------------------------------------------- checkin */

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

/* fork, exec argv with stdin and stdout on /dev/null and stderr into errfile, wait.
 * Returns the exit status (-1 if it could not run, 128+N if killed by signal N). */
static int
run_timed(char *const argv[], const char *errfile, double *secs)
{
    double t0 = mono();
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR);
        int err = open(errfile, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (null >= 0) {
            dup2(null, STDIN_FILENO);
            dup2(null, STDOUT_FILENO);
        }
        if (err >= 0)
            dup2(err, STDERR_FILENO);
        execv(argv[0], argv);
        _exit(127);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    *secs = mono() - t0;
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : -1;
}

/* The first line of a file, for error messages. */
static const char *
first_line(const char *path, char *buf, size_t n)
{
    FILE *f = fopen(path, "r");
    buf[0] = '\0';
    if (f) {
        if (!fgets(buf, (int)n, f))
            buf[0] = '\0';
        fclose(f);
    }
    buf[strcspn(buf, "\n")] = '\0';
    return buf[0] ? buf : "(nothing on stderr)";
}

static void
print_dist(const char *label, double *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_double);
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += v[i];
    printf("  %-44s p50 %7.2f ms  p99 %7.2f ms  max %7.2f ms  mean %7.2f ms\n", label,
           1e3 * pct(v, n, 50), 1e3 * pct(v, n, 99), 1e3 * v[n - 1], 1e3 * sum / (double)n);
}

/* The ~300-byte row the commit baselines write: 32 + 184 + 80 bytes of blobs and 6 integers. */
typedef struct bench_row {
    uint8_t hash[PROTO_HASH_BYTES], env[184], body[80];
} bench_row;

static const char insert_sql[] = "INSERT INTO entries(id, author, seq, hash, kind, ts, epoch,"
                                 " envelope, body, received) VALUES(?,?,?,?,?,?,?,?,?,?)";

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
    sqlite3_bind_int64(st, 6, (int64_t)wall_ms());
    sqlite3_bind_int64(st, 7, 1);
    sqlite3_bind_blob(st, 8, row->env, sizeof row->env, SQLITE_STATIC);
    sqlite3_bind_blob(st, 9, row->body, sizeof row->body, SQLITE_STATIC);
    sqlite3_bind_int64(st, 10, (int64_t)wall_ms());
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
        rc = sqlite3_prepare_v2(h, insert_sql, -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = commit_row(h, st, row, seq);
    sqlite3_finalize(st);
    int rc2 = sqlite3_close(h);
    return rc != SQLITE_OK ? rc : rc2;
}

static int
cmd_checkin(int argc, char **argv)
{
    static const struct option longs[] = {
        {"outpost", required_argument, NULL, 'o'}, {"runs", required_argument, NULL, 'n'},
        {"workdir", required_argument, NULL, 'w'}, {"keep", no_argument, NULL, 'k'},
        {"help", no_argument, NULL, 'h'},          {0},
    };
    const char *outpost = "build/outpost", *workdir = tmp_parent();
    uint64_t runs = 200;
    bool keep = false;
    int c;

    cmd_name = "outpost-bench checkin";
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", longs, NULL)) != -1) {
        switch (c) {
        case 'o':
            outpost = optarg;
            break;
        case 'n':
            if (!parse_count(optarg, 1, 1000000, &runs))
                return usage_error("--runs wants 1..1000000, not '%s'", optarg);
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
            return getopt_error(c, argv);
        }
    }
    if (optind < argc)
        return usage_error("unexpected argument '%s'", argv[optind]);
    if (access(outpost, X_OK) != 0)
        return usage_error("--outpost %s is not an executable (%s): build it or give its path",
                           outpost, strerror(errno));

    char work[4096], node[4200], errfile[4200], base_path[4200], cold_path[4200], note[64],
        msg[512];
    snprintf(work, sizeof work, "%s/outpost-bench-checkin-XXXXXX", workdir);
    if (!mkdtemp(work))
        return usage_error("--workdir %s: cannot create a directory there: %s", workdir,
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
        ret = fail("out of memory");
        goto out;
    }
    if (mkdir(node, 0700) != 0) {
        ret = fail("cannot create %s: %s", node, strerror(errno));
        goto out;
    }
    char *init_argv[] = {(char *)outpost, "--dir", node, "init", "--name", "bench", NULL};
    if ((rc = run_timed(init_argv, errfile, &secs)) != 0) {
        ret = fail("`%s --dir %s init --name bench` exited %d: %s", outpost, node, rc,
                   first_line(errfile, msg, sizeof msg));
        goto out;
    }

    if ((ret = raw_open(base_path, true, &h)) != 0 || (ret = raw_open(cold_path, true, &h2)) != 0)
        goto out;
    sqlite3_close(h2); /* only made the file and its table */
    h2 = NULL;
    if (sqlite3_prepare_v2(h, insert_sql, -1, &st, NULL) != SQLITE_OK) {
        ret = fail("cannot prepare the baseline insert: %s", sqlite3_errmsg(h));
        goto out;
    }
    bench_row row;
    randombytes_buf(&row, sizeof row);
    char *true_argv[] = {"/bin/true", NULL};
    char *help_argv[] = {(char *)outpost, "--help", NULL};
    bool has_help = run_timed(help_argv, errfile, &secs) == 0;

    /* Interleaved, so that all four see the same moments of a shared, noisy machine. */
    for (uint64_t i = 0; i < runs; i++) {
        snprintf(note, sizeof note, "bench-%llu", (unsigned long long)i);
        char *argv_c[] = {(char *)outpost, "--dir",      node,     "checkin",   "--delivering",
                          "yes",           "--thriving", "yes",    "--support", "yes",
                          "--energy",      "4",          "--note", note,        NULL};
        if ((rc = run_timed(argv_c, errfile, &cli[i])) != 0) {
            ret = fail("run %llu: `%s --dir %s checkin ...` exited %d: %s", (unsigned long long)i,
                       outpost, node, rc, first_line(errfile, msg, sizeof msg));
            goto out;
        }
        double t0 = mono();
        rc = commit_row(h, st, &row, (int64_t)i + 1);
        commit[i] = mono() - t0;
        if (rc != SQLITE_OK) {
            ret = fail("baseline commit in %s failed: %s", base_path, sqlite3_errstr(rc));
            goto out;
        }
        t0 = mono();
        rc = open_commit_close(cold_path, &row, (int64_t)i + 1);
        cold[i] = mono() - t0;
        if (rc != SQLITE_OK) {
            ret =
                fail("baseline open+commit+close of %s failed: %s", cold_path, sqlite3_errstr(rc));
            goto out;
        }
        if ((rc = run_timed(true_argv, errfile, &floor_[i])) != 0) {
            ret = fail("/bin/true exited %d", rc);
            goto out;
        }
        if (has_help && (rc = run_timed(help_argv, errfile, &help[i])) != 0) {
            ret = fail("`%s --help` exited %d: %s", outpost, rc,
                       first_line(errfile, msg, sizeof msg));
            goto out;
        }
    }

    printf("outpost-bench checkin: %llu runs of %s in %s\n", (unsigned long long)runs, outpost,
           node);
    print_dist("outpost checkin (fork+exec .. exit)", cli, runs);
    print_dist("baseline: FULL commit, 300 B row, WAL", commit, runs);
    print_dist("baseline: open + FULL commit + close", cold, runs);
    print_dist("baseline: /bin/true (fork+exec .. exit)", floor_, runs);
    if (has_help)
        print_dist("baseline: outpost --help (its own floor)", help, runs);
    double cli_p50 = pct(cli, runs, 50), commit_p50 = pct(commit, runs, 50),
           cold_p50 = pct(cold, runs, 50), floor_p50 = pct(floor_, runs, 50);
    if (has_help)
        floor_p50 = pct(help, runs, 50);
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
        remove_db(base_path);
        remove_db(cold_path);
        char rm[4300];
        /* The node directory is the CLI's: remove it whole. */
        snprintf(rm, sizeof rm, "%s", node);
        pid_t pid = fork();
        if (pid == 0) {
            execl("/bin/rm", "rm", "-rf", "--", rm, (char *)NULL);
            _exit(127);
        }
        if (pid > 0)
            waitpid(pid, NULL, 0);
        rmdir(work);
    } else {
        printf("  kept %s\n", work);
    }
    return ret;
}

/* ---------------------------------------------------------------- main */

static const char main_help[] =
    "usage: outpost-bench COMMAND [options]    (outpost-bench COMMAND --help for each)\n"
    "\n"
    "  gen      fill a node's store with synthetic, valid, signed and encrypted entries\n"
    "  ingest   store_log_ingest against raw SQLite inserts of the same rows\n"
    "  checkin  latency of `outpost checkin` against one durable SQLite commit\n";

int
main(int argc, char **argv)
{
    if (sodium_init() < 0) {
        fprintf(stderr, "outpost-bench: libsodium failed to initialise\n");
        return EXIT_FAIL;
    }
    if (argc < 2)
        return usage_error("a command is required: gen, ingest or checkin");
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        fputs(main_help, stdout);
        return 0;
    }
    if (strcmp(cmd, "gen") == 0)
        return cmd_gen(argc - 1, argv + 1);
    if (strcmp(cmd, "ingest") == 0)
        return cmd_ingest(argc - 1, argv + 1);
    if (strcmp(cmd, "checkin") == 0)
        return cmd_checkin(argc - 1, argv + 1);
    return usage_error("unknown command '%s': gen, ingest or checkin", cmd);
}
