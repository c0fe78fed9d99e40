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
 *
 * The full-size runs, from the repository root after a build into build/:
 *   build/outpost-bench ingest --repeat 3
 *   build/outpost-bench checkin --runs 200 --outpost build/outpost
 *   build/outpost-bench sync                          (1,000,000 entries of 1,000 authors)
 * Quick runs: `build/outpost-bench ingest --entries 100000`,
 *             `build/outpost-bench checkin --runs 50 --outpost build/outpost`,
 *             `build/outpost-bench sync --entries 100000 --authors 100 --pushes 50`.
 * sync looks for build/outpost and build/outpostd next to itself; --outpost and --outpostd
 * point it at others (e.g. an agent built from a branch).
 * Exit codes: 0 done, 2 bad flags, 3 the benchmark could not run.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "proto/entry.h"
#include "proto/frame.h"
#include "proto/hs.h"
#include "proto/msg.h"
#include "proto/seal.h"
#include "store/db.h"
#include "store/have.h"
#include "store/keyfile.h"
#include "store/log.h"
#include "store/reader.h"
#include "tools/bench_office.h"
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

/* ---------------------------------------------------------------- sync */

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

/*
 * A child process: an agent or a CLI run, its stderr in a file, its rusage from wait4.
 *
 * Peak memory is wait4's ru_maxrss. On Linux that also counts what the child had before exec:
 * a copy of this process's resident set at fork (with vfork and posix_spawn too). So this
 * process hands its freed memory back (malloc_trim) before it starts agents, and prints its
 * own resident set beside the figures: ru_maxrss is the agent's own peak whenever it is larger
 * than that. As a cross-check, VmHWM of /proc/PID/status (the exec'd program's own high-water
 * mark) is read every 10 ms while the child runs and once before it is asked to stop (it only
 * grows, but a child that lives a few ms may exit before a reading).
 */
typedef struct proc {
    pid_t pid; /* 0 when not running */
    double t0, t1, hwm_t;
    struct rusage ru;
    long hwm_kib; /* VmHWM, last read */
    int code;     /* exit status; 128+N if killed by signal N; -1 could not wait; -2 timed out */
    char log[4200];
} proc;

/* VmHWM (or, with vmrss, VmRSS) of pid in KiB; 0 if it cannot be read. */
static long
status_kib(pid_t pid, bool vmrss)
{
    char path[64], line[256];
    long v = 0;
    const char *key = vmrss ? "VmRSS:" : "VmHWM:";
    snprintf(path, sizeof path, "/proc/%ld/status", (long)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, key, strlen(key)) == 0) {
            v = strtol(line + strlen(key), NULL, 10);
            break;
        }
    fclose(f);
    return v;
}

static void
proc_sample(proc *p)
{
    if (!p->pid)
        return;
    long v = status_kib(p->pid, false);
    if (v > p->hwm_kib)
        p->hwm_kib = v;
    p->hwm_t = mono();
}

static int proc_wait(proc *p, double timeout, void (*tick)(void *), void *ctx);

static int
proc_start(proc *p, char *const argv[], const char *log)
{
    memset(p, 0, sizeof *p);
    p->code = -1;
    snprintf(p->log, sizeof p->log, "%s", log);
    /* A close-on-exec pipe: its end of file tells that the exec happened (so VmHWM is the new
     * program's), or the child writes errno when the exec failed. */
    int ex[2];
    if (pipe(ex) != 0)
        return fail("pipe: %s", strerror(errno));
    fcntl(ex[0], F_SETFD, FD_CLOEXEC);
    fcntl(ex[1], F_SETFD, FD_CLOEXEC);
    p->t0 = mono();
    pid_t pid = fork();
    if (pid < 0) {
        close(ex[0]);
        close(ex[1]);
        return fail("fork: %s", strerror(errno));
    }
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR);
        int err = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0600);
        close(ex[0]);
        if (null >= 0) {
            dup2(null, STDIN_FILENO);
            dup2(null, STDOUT_FILENO);
        }
        if (err >= 0)
            dup2(err, STDERR_FILENO);
        execv(argv[0], argv);
        int e = errno;
        if (write(ex[1], &e, sizeof e) < 0)
            _exit(127);
        _exit(127);
    }
    close(ex[1]);
    int e = 0;
    ssize_t k;
    while ((k = read(ex[0], &e, sizeof e)) < 0 && errno == EINTR)
        ;
    close(ex[0]);
    p->pid = pid;
    if (k > 0) {
        proc_wait(p, 10, NULL, NULL);
        return fail("cannot run %s: %s", argv[0], strerror(e));
    }
    return 0;
}

static void
set_code(proc *p, int status)
{
    p->t1 = mono();
    p->pid = 0;
    p->code = WIFEXITED(status)     ? WEXITSTATUS(status)
              : WIFSIGNALED(status) ? 128 + WTERMSIG(status)
                                    : -1;
}

static void
sleep_s(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* Waits for p to exit, at most timeout seconds (then kills it: code -2). Polls wait4: every
 * 0.1 ms in its first second, then every 2 ms (the exit time is known to that much); calls
 * tick(ctx) about once a second. Returns p->code. */
static int
proc_wait(proc *p, double timeout, void (*tick)(void *), void *ctx)
{
    double last = p->t0;
    while (p->pid) {
        int status;
        pid_t r = wait4(p->pid, &status, WNOHANG, &p->ru);
        if (r == p->pid) {
            set_code(p, status);
            break;
        }
        if (r < 0 && errno != EINTR) {
            p->pid = 0;
            p->t1 = mono();
            return p->code = -1;
        }
        double now = mono();
        if (now - p->hwm_t >= 0.01)
            proc_sample(p);
        if (now - p->t0 > timeout) {
            kill(p->pid, SIGKILL);
            if (wait4(p->pid, &status, 0, &p->ru) == p->pid)
                set_code(p, status);
            p->pid = 0;
            return p->code = -2;
        }
        if (tick && now - last >= 1.0) {
            tick(ctx);
            last = now;
        }
        sleep_s(now - p->t0 < 1.0 ? 100e-6 : 2e-3);
    }
    return p->code;
}

/* SIGTERM, then wait (SIGKILL after 30 s). Returns p->code; 0 if it was not running. */
static int
proc_stop(proc *p)
{
    if (!p->pid)
        return 0;
    proc_sample(p);
    kill(p->pid, SIGTERM);
    p->t0 = mono(); /* the timeout counts from here */
    return proc_wait(p, 30, NULL, NULL);
}

static long
maxrss_kib(const proc *p)
{
    return p->ru.ru_maxrss; /* Linux: KiB; see proc */
}

static double
cpu_s(const proc *p)
{
    return (double)p->ru.ru_utime.tv_sec + (double)p->ru.ru_utime.tv_usec / 1e6 +
           (double)p->ru.ru_stime.tv_sec + (double)p->ru.ru_stime.tv_usec / 1e6;
}

/* The last line of the file at path that contains needle, into line (may be NULL). */
static bool
log_find(const char *path, const char *needle, char *line, size_t n)
{
    char buf[2048];
    bool found = false;
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    while (fgets(buf, sizeof buf, f))
        if (strstr(buf, needle)) {
            found = true;
            if (line && n > 0) {
                size_t k = strcspn(buf, "\n");
                if (k >= n)
                    k = n - 1;
                memcpy(line, buf, k);
                line[k] = '\0';
            }
        }
    fclose(f);
    return found;
}

/* Waits until the log at path has a line with needle (true), or p has exited, or timeout. */
static bool
log_wait(const char *path, const char *needle, double timeout, proc *p, char *line, size_t n)
{
    double t0 = mono();
    for (;;) {
        if (log_find(path, needle, line, n))
            return true;
        if (p && p->pid) {
            int status;
            if (wait4(p->pid, &status, WNOHANG, &p->ru) == p->pid) {
                set_code(p, status);
                return log_find(path, needle, line, n);
            }
        }
        if ((p && !p->pid) || mono() - t0 > timeout)
            return false;
        sleep_s(1e-3);
    }
}

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
    if (log_find(path, "sync failed", buf, n) || log_find(path, "disconnected from", buf, n) ||
        log_find(path, "no link to", buf, n) || log_find(path, "cannot", buf, n))
        return buf;
    return first_line(path, buf, n);
}

/* Two free TCP ports on 127.0.0.1 (bound to port 0, then released). */
static int
free_ports(int out[2])
{
    int fds[2] = {-1, -1}, ret = 0;
    for (int i = 0; i < 2; i++) {
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t len = sizeof sa;
        if ((fds[i] = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
            bind(fds[i], (struct sockaddr *)&sa, sizeof sa) != 0 ||
            getsockname(fds[i], (struct sockaddr *)&sa, &len) != 0) {
            ret = fail("cannot find a free port on 127.0.0.1: %s", strerror(errno));
            break;
        }
        out[i] = ntohs(sa.sin_port);
    }
    for (int i = 0; i < 2; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    return ret;
}

/* The median round trip of a 64-byte message between two processes over TCP on 127.0.0.1
 * (TCP_NODELAY), over `rounds` round trips: the floor of any conversation on this link. */
static int
loopback_rtt(int rounds, double *median_s, double *p99_s)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sa;
    int one = 1, lfd = socket(AF_INET, SOCK_STREAM, 0), fd = -1, ret = 0;
    char msg[64] = {0};
    double *v = calloc((size_t)rounds, sizeof *v);
    pid_t pid = -1;

    if (!v || lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(lfd, 1) != 0 ||
        getsockname(lfd, (struct sockaddr *)&sa, &len) != 0) {
        ret = fail("loopback baseline: %s", strerror(errno));
        goto out;
    }
    if ((pid = fork()) == 0) { /* the echo side */
        int c = accept(lfd, NULL, NULL);
        char b[64];
        if (c < 0)
            _exit(1);
        setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        for (;;) {
            size_t got = 0;
            while (got < sizeof b) {
                ssize_t k = read(c, b + got, sizeof b - got);
                if (k <= 0)
                    _exit(0);
                got += (size_t)k;
            }
            if (write(c, b, sizeof b) != (ssize_t)sizeof b)
                _exit(1);
        }
    }
    if (pid < 0 || (fd = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
        connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        ret = fail("loopback baseline: %s", strerror(errno));
        goto out;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    for (int i = 0; i < rounds; i++) {
        double t0 = mono();
        if (write(fd, msg, sizeof msg) != (ssize_t)sizeof msg) {
            ret = fail("loopback baseline: write: %s", strerror(errno));
            goto out;
        }
        size_t got = 0;
        while (got < sizeof msg) {
            ssize_t k = read(fd, msg + got, sizeof msg - got);
            if (k <= 0) {
                ret = fail("loopback baseline: the echo process went away");
                goto out;
            }
            got += (size_t)k;
        }
        v[i] = mono() - t0;
    }
    qsort(v, (size_t)rounds, sizeof *v, cmp_double);
    *median_s = pct(v, (size_t)rounds, 50);
    *p99_s = pct(v, (size_t)rounds, 99);
out:
    if (fd >= 0)
        close(fd);
    if (lfd >= 0)
        close(lfd);
    if (pid > 0)
        waitpid(pid, NULL, 0);
    free(v);
    return ret;
}

/* Bytes on the wire (frames included) of a plain have-vector exchange from db: HAVE messages
 * with every head, bucket by bucket. */
static op_err
have_vector_bytes(store_db *db, uint64_t *bytes)
{
    op_err r = OP_OK;
    *bytes = 0;
    for (unsigned b = 0; b < PROTO_BUCKETS && r == OP_OK; b++) {
        store_head *h = NULL;
        size_t n = 0;
        if ((r = store_have_bucket(db, b, &h, &n)) != OP_OK)
            break;
        for (size_t off = 0; off < n && r == OP_OK; off += PROTO_MSG_MAX_ITEMS) {
            size_t k = n - off < PROTO_MSG_MAX_ITEMS ? n - off : PROTO_MSG_MAX_ITEMS;
            proto_head_ref *refs = calloc(k, sizeof *refs);
            size_t cap = 64 + k * (PROTO_KEY_BYTES + 16);
            uint8_t *buf = malloc(cap);
            if (!refs || !buf) {
                r = OP_E_NOMEM;
            } else {
                proto_wbuf w;
                for (size_t i = 0; i < k; i++)
                    refs[i] = (proto_head_ref){h[off + i].author, h[off + i].seq};
                proto_wbuf_init(&w, buf, cap);
                if ((r = proto_msg_heads(&w, PROTO_MSG_HAVE, b, refs, k)) == OP_OK)
                    *bytes += w.len + PROTO_FRAME_OVERHEAD;
            }
            free(refs);
            free(buf);
        }
        free(h);
    }
    return r;
}

/* Bytes of the one-round-trip conversation: a HELLO frame and a DONE frame. */
static size_t
one_rtt_bytes(uint64_t authors)
{
    uint8_t buf[128], root[PROTO_ROOT_BYTES] = {0};
    proto_wbuf w;
    size_t total = 0;
    proto_wbuf_init(&w, buf, sizeof buf);
    if (proto_msg_hello(&w, root, authors, wall_ms()) == OP_OK)
        total += w.len + PROTO_FRAME_OVERHEAD;
    proto_wbuf_init(&w, buf, sizeof buf);
    if (proto_msg_simple(&w, PROTO_MSG_DONE, 0) == OP_OK)
        total += w.len + PROTO_FRAME_OVERHEAD;
    return total;
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
        return fail("cannot open %s: %s", path, op_strerror(r));
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
        return fail("cannot read the have-vector of %s: %s", path, op_strerror(r));
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
    int rc = run_timed(argv, errf, &secs);
    if (rc != 0)
        return fail("`%s --dir %s init --name %s%s` exited %d: %s", outpost, dir, name,
                    office ? " --office" : "", rc, first_line(errf, msg, sizeof msg));
    return 0;
}

static int
put_netkey(const char *dir, const uint8_t key[PROTO_NETKEY_BYTES])
{
    char path[4300];
    snprintf(path, sizeof path, "%s/network.key", dir);
    op_err r = store_keyfile_write(path, key, PROTO_NETKEY_BYTES);
    if (r != OP_OK)
        return fail("cannot write %s: %s", path, op_strerror(r));
    return 0;
}

/* Starts `outpostd --dir DIR --listen 127.0.0.1:PORT` and waits for "listening on". */
static int
agent_listen(proc *p, const char *outpostd, const char *dir, int port, const char *log)
{
    char listen[64], line[1024];
    snprintf(listen, sizeof listen, "127.0.0.1:%d", port);
    char *argv[] = {(char *)outpostd, "--dir", (char *)dir, "--listen", listen, NULL};
    int ret = proc_start(p, argv, log);
    if (ret != 0)
        return ret;
    if (!log_wait(log, "listening on", 10, p, NULL, 0)) {
        proc_stop(p);
        return fail("`%s --dir %s --listen %s` did not start listening: %s", outpostd, dir, listen,
                    agent_reason(log, line, sizeof line));
    }
    return 0;
}

/* Entries of the RUN message that agent/session.c would send from items[0..n): at most 512
 * read at once, shrunk by 3/4 until the message fits a frame. */
static size_t
frame_run_len(const proto_run_item *items, size_t n)
{
    size_t k = n < 512 ? n : 512;
    while (k > 1 && proto_msg_run_size(items, k) > PROTO_FRAME_MAX_BYTES)
        k = k * 3 / 4;
    return k;
}

/* The ingest baseline of 1: store_log_ingest of every run of d into a fresh relay store, from
 * open to close (the close checkpoints the WAL: the entries are then durable). With
 * frame_runs, each run is cut into the runs one frame carries (*n_runs counts them). */
static int
time_ingest_durable(const char *path, const dataset *d, bool frame_runs, uint64_t now, double *secs,
                    double *close_secs, size_t *n_runs)
{
    store_db *db = NULL;
    store_reader *rd = NULL;
    op_err r = OP_OK;
    size_t i = 0, bad = 0;
    remove_db(path);
    *n_runs = 0;
    double t0 = mono();
    if ((r = store_db_open(path, STORE_OPEN_CREATE, &db)) != OP_OK)
        return fail("cannot create %s: %s", path, op_strerror(r));
    if ((r = store_reader_new(NULL, &rd)) != OP_OK) {
        store_db_close(db);
        return fail("store_reader_new: %s", op_strerror(r));
    }
    for (; i < d->n_runs && r == OP_OK; i++) {
        const proto_run_item *it = d->runs[i].items;
        for (size_t off = 0, k; off < d->runs[i].n && r == OP_OK; off += k) {
            store_ingested ing;
            k = frame_runs ? frame_run_len(it + off, d->runs[i].n - off) : d->runs[i].n - off;
            r = store_log_ingest(db, rd, it + off, k, now, &ing, &bad);
            ++*n_runs;
        }
    }
    store_reader_free(rd);
    double t1 = mono();
    store_db_close(db);
    *secs = mono() - t0;
    *close_secs = mono() - t1;
    if (r != OP_OK)
        return fail("store_log_ingest of run %zu (entry %zu) failed: %s", i - 1, bad,
                    op_strerror(r));
    return 0;
}

/* What one `outpostd --once` against a listening agent showed. */
typedef struct sync_result {
    bool ok;
    char why[1024];         /* when not ok */
    double secs;            /* --once side: process start to exit */
    sync_line once, lst;    /* the two agents' "in sync" lines */
    long rss_once, rss_lst; /* wait4's ru_maxrss, KiB (see proc) */
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
    double t = mono() - pc->t0;
    fprintf(stderr, "\rsync: %s / %s entries, %s entries/s   ", commas(got, a),
            commas(pc->total, b), commas(t > 0 ? (uint64_t)((double)got / t) : 0, c));
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
    proc lst, once;
    int ret;

    memset(res, 0, sizeof *res);
    snprintf(lst_log, sizeof lst_log, "%s/%s-listener.log", work, tag);
    snprintf(once_log, sizeof once_log, "%s/%s-once.log", work, tag);
    snprintf(peer, sizeof peer, "127.0.0.1:%d", port);
#ifdef __GLIBC__
    malloc_trim(0); /* see proc: children start with a copy of what is resident here */
#endif
    res->self_rss = status_kib(getpid(), true);
    if ((ret = agent_listen(&lst, outpostd, lst_dir, port, lst_log)) != 0)
        return ret;

    progress_ctx pc = {.dir = once_dir, .total = expect_total};
    store_view_sum before;
    bool show = expect_total > 0 && isatty(STDERR_FILENO) && node_summary(once_dir, &before) == 0;
    pc.base = show ? before.entries : 0;
    char *argv[] = {(char *)outpostd, "--dir", (char *)once_dir, "--once", "--peer", peer, NULL};
    if ((ret = proc_start(&once, argv, once_log)) != 0) {
        proc_stop(&lst);
        return ret;
    }
    pc.t0 = once.t0;
    int code = proc_wait(&once, timeout, show ? sync_progress : NULL, &pc);
    if (show)
        progress_done(&(progress){.tty = true});
    res->secs = once.t1 - once.t0;
    res->rss_once = maxrss_kib(&once);
    res->hwm_once = once.hwm_kib;
    res->cpu_once = cpu_s(&once);
    if (log_find(once_log, "in sync with", line, sizeof line))
        res->once = parse_in_sync(line);
    /* The listener logs its own line when the last DONE arrives; give it a moment. */
    if (code == 0 && log_wait(lst_log, "in sync with", 10, &lst, line, sizeof line))
        res->lst = parse_in_sync(line);
    proc_stop(&lst);
    res->rss_lst = maxrss_kib(&lst);
    res->hwm_lst = lst.hwm_kib;
    res->cpu_lst = cpu_s(&lst);
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
        return fail("cannot open %s: %s", path, op_strerror(r));
    gen_opts o = {.entries = entries,
                  .authors = authors,
                  .seed = seed,
                  .batch = batch,
                  .threads = threads,
                  .now = wall_ms()};
    progress pg;
    progress_init(&pg, label);
    o.progress = progress_cb;
    o.ctx = &pg;
    r = gen_fill(db, &o, st, &bad);
    progress_done(&pg);
    store_db_close(db);
    if (r != OP_OK)
        return fail("generating author %u of seed %llu into %s failed: %s", bad,
                    (unsigned long long)seed, path, op_strerror(r));
    return 0;
}

/* Bytes of the RUN frames that carry the logs of authors [0, n) of seed out of dir's store. */
static int
run_frame_bytes(const char *dir, uint64_t seed, uint32_t n, uint64_t *bytes)
{
    char path[4300];
    store_db *db = NULL;
    op_err r;
    *bytes = 0;
    snprintf(path, sizeof path, "%s/%s", dir, STORE_DB_FILE);
    if ((r = store_db_open(path, STORE_OPEN_READONLY, &db)) != OP_OK)
        return fail("cannot open %s: %s", path, op_strerror(r));
    for (uint32_t i = 0; i < n && r == OP_OK; i++) {
        uint8_t pk[PROTO_KEY_BYTES], sk[PROTO_SECRET_BYTES];
        store_run run;
        gen_author_key(seed, i, pk, sk);
        sodium_memzero(sk, sizeof sk);
        if ((r = store_log_read(db, pk, 1, GEN_RUN_MAX, &run)) == OP_OK) {
            *bytes += proto_msg_run_size(run.items, run.n) + PROTO_FRAME_OVERHEAD;
            store_run_free(&run);
        }
    }
    store_db_close(db);
    if (r != OP_OK)
        return fail("cannot read the new entries back from %s: %s", path, op_strerror(r));
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
    proc op = {0}, wp = {0};
    int ret = 0;
    op_err r;

    memset(res, 0, sizeof *res);
    res->cli = calloc(n, sizeof *res->cli);
    res->push = calloc(n, sizeof *res->push);
    res->total = calloc(n, sizeof *res->total);
    if (!res->cli || !res->push || !res->total)
        return fail("out of memory");
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
        ret = fail("cannot read %s: %s", path, op_strerror(r));
        goto out;
    }
    ret = put_netkey(worker, netkey);
    sodium_memzero(netkey, sizeof netkey);
    if (ret != 0)
        goto out;
    char *peers_argv[] = {(char *)outpost, "--dir", worker, "peers", "add", addr, NULL};
    double secs;
    int rc;
    if ((rc = run_timed(peers_argv, errf, &secs)) != 0) {
        ret = fail("`%s --dir %s peers add %s` exited %d: %s", outpost, worker, addr, rc,
                   first_line(errf, msg, sizeof msg));
        goto out;
    }
    if ((r = store_identity_load(worker, &wid)) != OP_OK) {
        ret = fail("cannot load %s/%s: %s", worker, STORE_IDENTITY_FILE, op_strerror(r));
        goto out;
    }

    /* Both agents up, and linked. */
    if ((ret = agent_listen(&op, outpostd, office, port, olog)) != 0)
        goto out;
    char *wargv[] = {(char *)outpostd, "--dir", worker, "--no-listen", NULL};
    if ((ret = proc_start(&wp, wargv, wlog)) != 0)
        goto out;
    if (!log_wait(wlog, "in sync with", 15, &wp, NULL, 0)) {
        ret = fail("the worker's agent did not link to the office within 15 s: %s",
                   agent_reason(wlog, line, sizeof line));
        goto out;
    }

    /* Read-only views of both stores, as any other reader would have. */
    const char *q = "SELECT head_seq FROM authors WHERE key = ?";
    snprintf(path, sizeof path, "%s/%s", office, STORE_DB_FILE);
    if (sqlite3_open_v2(path, &oh, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(oh, q, -1, &ost, NULL) != SQLITE_OK) {
        ret = fail("cannot read %s: %s", path, oh ? sqlite3_errmsg(oh) : "out of memory");
        goto out;
    }
    snprintf(path, sizeof path, "%s/%s", worker, STORE_DB_FILE);
    if (sqlite3_open_v2(path, &wh, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(wh, q, -1, &wst, NULL) != SQLITE_OK) {
        ret = fail("cannot read %s: %s", path, wh ? sqlite3_errmsg(wh) : "out of memory");
        goto out;
    }
    sqlite3_bind_blob(ost, 1, wid->pk, PROTO_KEY_BYTES, SQLITE_STATIC);
    sqlite3_bind_blob(wst, 1, wid->pk, PROTO_KEY_BYTES, SQLITE_STATIC);

    for (size_t i = 0; i < n; i++) {
        snprintf(note, sizeof note, "push-%zu", i);
        char *argv_c[] = {(char *)outpost, "--dir",      worker,   "checkin",   "--delivering",
                          "yes",           "--thriving", "yes",    "--support", "yes",
                          "--energy",      "4",          "--note", note,        NULL};
        double t0 = mono();
        if ((rc = run_timed(argv_c, errf, &res->cli[i])) != 0) {
            ret = fail("check-in %zu: `%s --dir %s checkin ...` exited %d: %s", i, outpost, worker,
                       rc, first_line(errf, msg, sizeof msg));
            goto out;
        }
        double t_exit = t0 + res->cli[i];
        int64_t want = head_of(wst), got;
        double t;
        while ((got = head_of(ost)) < want && (t = mono()) - t_exit < 5.0)
            sleep_s(200e-6);
        t = mono();
        if (got < want) {
            res->late++;
            res->push[i] = 5.0;
        } else {
            res->push[i] = t - t_exit;
        }
        res->total[i] = t - t0;
        res->n = i + 1;
        sleep_s(5e-3); /* the agents settle (ACK bookkeeping) before the next one */
    }
    res->ok = true;
out:
    sqlite3_finalize(ost);
    sqlite3_finalize(wst);
    sqlite3_close(oh);
    sqlite3_close(wh);
    store_identity_free(wid);
    proc_stop(&wp);
    proc_stop(&op);
    if (ret != 0)
        snprintf(res->why, sizeof res->why, "see the message above");
    return ret;
}

/* The directory this program lives in, for the default paths of outpost and outpostd. */
static void
self_dir(char *out, size_t n)
{
    char buf[4096];
    ssize_t k = readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (k <= 0) {
        snprintf(out, n, "build");
        return;
    }
    buf[k] = '\0';
    char *slash = strrchr(buf, '/');
    if (slash)
        *slash = '\0';
    snprintf(out, n, "%s", buf);
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

static int
cmd_sync(int argc, char **argv)
{
    static const struct option longs[] = {
        {"entries", required_argument, NULL, 'n'},
        {"authors", required_argument, NULL, 'a'},
        {"seed", required_argument, NULL, 's'},
        {"batch", required_argument, NULL, 'b'},
        {"threads", required_argument, NULL, 't'},
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
    uint64_t entries = 1000000, authors = 1000, seed = 1, batch = 1000, threads = 2, diff = 10,
             pushes = 100, port0 = 0, timeout = 3600;
    char here[4096], outpost_buf[4200], outpostd_buf[4200];
    const char *outpost = NULL, *outpostd = NULL, *workdir = tmp_parent();
    bool keep = false;
    int c;

    cmd_name = "outpost-bench sync";
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", longs, NULL)) != -1) {
        switch (c) {
        case 'n':
            if (!parse_count(optarg, 1, 1ull << 32, &entries))
                return usage_error("--entries wants a count >= 1, not '%s'", optarg);
            break;
        case 'a':
            if (!parse_count(optarg, 1, 1u << 24, &authors))
                return usage_error("--authors wants a count >= 1, not '%s'", optarg);
            break;
        case 's':
            if (!parse_count(optarg, 0, UINT64_MAX / 2, &seed))
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
        case 'D':
            if (!parse_count(optarg, 1, 100000, &diff))
                return usage_error("--diff wants 1..100000, not '%s'", optarg);
            break;
        case 'P':
            if (!parse_count(optarg, 0, 100000, &pushes))
                return usage_error("--pushes wants 0..100000, not '%s'", optarg);
            break;
        case 'o':
            outpost = optarg;
            break;
        case 'O':
            outpostd = optarg;
            break;
        case 'p':
            if (!parse_count(optarg, 1, 65534, &port0))
                return usage_error("--port wants 1..65534, not '%s'", optarg);
            break;
        case 'T':
            if (!parse_count(optarg, 1, 7 * 86400, &timeout))
                return usage_error("--timeout wants seconds >= 1, not '%s'", optarg);
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
            return getopt_error(c, argv);
        }
    }
    if (optind < argc)
        return usage_error("unexpected argument '%s'", argv[optind]);
    if (authors > entries)
        return usage_error("--authors (%llu) must not exceed --entries (%llu): every log starts "
                           "with a key entry",
                           (unsigned long long)authors, (unsigned long long)entries);
    self_dir(here, sizeof here);
    if (!outpost) {
        snprintf(outpost_buf, sizeof outpost_buf, "%s/outpost", here);
        outpost = outpost_buf;
    }
    if (!outpostd) {
        snprintf(outpostd_buf, sizeof outpostd_buf, "%s/outpostd", here);
        outpostd = outpostd_buf;
    }
    if (access(outpost, X_OK) != 0)
        return usage_error("--outpost %s is not an executable (%s): build it or give its path",
                           outpost, strerror(errno));
    if (access(outpostd, X_OK) != 0)
        return usage_error("--outpostd %s is not an executable (%s): build it or give its path",
                           outpostd, strerror(errno));
    int ports[2] = {(int)port0, (int)port0 + 1};
    if (!port0 && free_ports(ports) != 0)
        return EXIT_FAIL;

    char work[4096], src[4160], fresh[4160], errf[4160], relay[4160];
    snprintf(work, sizeof work, "%s/outpost-bench-sync-XXXXXX", workdir);
    if (!mkdtemp(work))
        return usage_error("--workdir %s: cannot create a directory there: %s", workdir,
                           strerror(errno));
    snprintf(src, sizeof src, "%s/source", work);
    snprintf(fresh, sizeof fresh, "%s/fresh", work);
    snprintf(errf, sizeof errf, "%s/cli-stderr.txt", work);
    snprintf(relay, sizeof relay, "%s/baseline-relay.db", work);

    uint8_t netkey[PROTO_NETKEY_BYTES];
    dataset d = {0};
    sync_result s1 = {0}, s2 = {0}, s3a = {0}, s3b = {0};
    push_result p5 = {0};
    store_view_sum vs_src, vs_fresh;
    double ingest_s = 0, close_s = 0, ingest_f = 0, close_f = 0, rtt_med = 0, rtt_p99 = 0;
    uint64_t have_bytes = 0, diff_run_bytes = 0, diff_run_bytes_b = 0, src_entries = 0;
    bool converged1 = false, converged3a = false, converged3b = false;
    int ret = 0;
    op_err r;
    char a[32], b[32], m1[32], m2[32];

    printf("outpost-bench sync: %s entries of %s authors; outpostd %s; outpost %s\n",
           commas(entries, a), commas(authors, b), outpostd, outpost);
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
    if ((ret = gen_into(src, entries, (uint32_t)authors, seed, (size_t)batch, (int)threads, "gen",
                        &gs)) != 0)
        goto out;
    if ((ret = node_summary(src, &vs_src)) != 0)
        goto out;
    src_entries = vs_src.entries;
    printf("  source: %s entries of %s authors generated in %.1f s (%.0f B/entry)\n",
           commas(gs.entries, a), commas(authors, b), gs.seconds,
           (double)(gs.env_bytes + gs.body_bytes) / (double)gs.entries);
    fflush(stdout);

    /* 1. Baseline: single-process ingest of the same runs. */
    {
        char path[4300];
        store_db *sdb = NULL;
        snprintf(path, sizeof path, "%s/%s", src, STORE_DB_FILE);
        if ((r = store_db_open(path, STORE_OPEN_READONLY, &sdb)) != OP_OK) {
            ret = fail("cannot open %s: %s", path, op_strerror(r));
            goto out;
        }
        r = dataset_load(sdb, (size_t)batch, &d);
        store_db_close(sdb);
        if (r != OP_OK) {
            ret = fail("reading the runs of %s failed: %s", path, op_strerror(r));
            goto out;
        }
        size_t runs_b, runs_f;
        if ((ret = time_ingest_durable(relay, &d, false, wall_ms(), &ingest_s, &close_s,
                                       &runs_b)) != 0 ||
            (ret = time_ingest_durable(relay, &d, true, wall_ms(), &ingest_f, &close_f, &runs_f)) !=
                0)
            goto out;
        dataset_free(&d);
        remove_db(relay);
        printf("  1. baseline: store_log_ingest of %s entries in %zu runs of <= %llu, open to "
               "close: %.2f s, %s entries/s (close %.2f s)\n",
               commas(src_entries, a), runs_b, (unsigned long long)batch, ingest_s,
               commas((uint64_t)((double)src_entries / ingest_s), b), close_s);
        printf("     (for comparison: in the %zu runs one frame each carries, as outpostd sends "
               "them: %.2f s, %s entries/s)\n",
               runs_f, ingest_f, commas((uint64_t)((double)src_entries / ingest_f), b));
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
               commas(s1.once.received, a), s1.secs,
               commas((uint64_t)((double)s1.once.received / s1.secs), b),
               (double)s1.once.ms / 1000.0, commas(s1.once.in, m1), commas(s1.once.out, m2),
               s1.cpu_once, s1.cpu_lst, converged1 ? "equal" : "DIFFER");
    } else {
        printf("  1. outpostd --once FAILED after %.2f s: %s\n", s1.secs, s1.why);
    }
    printf("  4. peak RSS during 1 (wait4 ru_maxrss): listener %s, --once %s", mib(s1.rss_lst, m1),
           mib(s1.rss_once, m2));
    printf("; VmHWM %s, %s; this process had %s resident when it forked them\n", mib(s1.hwm_lst, a),
           mib(s1.hwm_once, b), mib(s1.self_rss, m1));
    fflush(stdout);

    /* 2. No-op re-sync, beside a have-vector exchange and the loopback round trip. */
    if ((ret = loopback_rtt(1000, &rtt_med, &rtt_p99)) != 0)
        goto out;
    {
        char path[4300];
        store_db *sdb = NULL;
        snprintf(path, sizeof path, "%s/%s", src, STORE_DB_FILE);
        if ((r = store_db_open(path, STORE_OPEN_READONLY, &sdb)) != OP_OK ||
            (r = have_vector_bytes(sdb, &have_bytes)) != OP_OK) {
            store_db_close(sdb);
            ret = fail("cannot read the have-vector of %s: %s", path, op_strerror(r));
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
                   1e3 * s2.secs, one_rtt_bytes(vs_src.authors));
        else
            printf("  2. no-op re-sync FAILED: %s\n", s2.why);
        printf("  2. baselines: plain have-vector exchange %s B each way; loopback round trip "
               "p50 %.3f ms, p99 %.3f ms\n",
               commas(have_bytes, a), 1e3 * rtt_med, 1e3 * rtt_p99);
        fflush(stdout);
    }

    /* 3. A difference of `diff` entries: a new author; then `diff` new authors. */
    if (s1.ok) {
        uint64_t seed_a = seed + 1000003, seed_b = seed + 2000003;
        if ((ret = gen_into(src, diff, 1, seed_a, (size_t)batch, 1, "gen diff", &gs)) != 0 ||
            (ret = run_frame_bytes(src, seed_a, 1, &diff_run_bytes)) != 0 ||
            (ret = node_summary(src, &vs_src)) != 0 ||
            (ret = run_sync(outpostd, work, "3a-diff", src, fresh, ports[0], 600, 0, &s3a)) != 0 ||
            (ret = node_summary(fresh, &vs_fresh)) != 0)
            goto out;
        converged3a = memcmp(vs_fresh.root, vs_src.root, PROTO_ROOT_BYTES) == 0;
        uint32_t na = diff > 256 ? 256 : (uint32_t)diff;
        if ((ret = gen_into(src, diff, na, seed_b, (size_t)batch, 1, "gen diff", &gs)) != 0 ||
            (ret = run_frame_bytes(src, seed_b, na, &diff_run_bytes_b)) != 0 ||
            (ret = node_summary(src, &vs_src)) != 0 ||
            (ret = run_sync(outpostd, work, "3b-diff", src, fresh, ports[0], 600, 0, &s3b)) != 0 ||
            (ret = node_summary(fresh, &vs_fresh)) != 0)
            goto out;
        converged3b = memcmp(vs_fresh.root, vs_src.root, PROTO_ROOT_BYTES) == 0;
        if (s3a.ok)
            printf("  3. %llu new entries of 1 author: after the handshake %llu B out, %llu B in, "
                   "%llu ms, %llu received; their RUN frame %s B\n",
                   (unsigned long long)diff, s3a.once.out, s3a.once.in, s3a.once.ms,
                   s3a.once.received, commas(diff_run_bytes, a));
        else
            printf("  3. %llu new entries of 1 author FAILED: %s\n", (unsigned long long)diff,
                   s3a.why);
        if (s3b.ok)
            printf("  3. %llu new entries of %u authors: after the handshake %llu B out, %llu B "
                   "in, %llu ms, %llu received; their RUN frames %s B\n",
                   (unsigned long long)diff, na, s3b.once.out, s3b.once.in, s3b.once.ms,
                   s3b.once.received, commas(diff_run_bytes_b, a));
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
        print_dist("checkin exit .. office holds it", p5.push, p5.n);
        print_dist("baseline: outpost checkin alone", p5.cli, p5.n);
        print_dist("checkin start .. office holds it", p5.total, p5.n);
        fflush(stdout);
    }

    /* The table. */
    double rate = s1.ok ? (double)s1.once.received / s1.secs : 0;
    double base_rate = ingest_s > 0 ? (double)src_entries / ingest_s : 0;
    double ratio = base_rate > 0 ? rate / base_rate : 0;
    char fig[96], base[96], tgt[64], name1[64], name3a[64], name3b[64];
    snprintf(name1, sizeof name1, "sync %s entries, start..exit", commas(src_entries, a));
    snprintf(name3a, sizeof name3a, "%llu new entries, 1 author: bytes", (unsigned long long)diff);
    snprintf(name3b, sizeof name3b, "%llu new, %llu authors: bytes", (unsigned long long)diff,
             (unsigned long long)(diff > 256 ? 256 : diff));
    printf("\nsummary (%s entries, %s authors)\n", commas(entries, a), commas(authors, b));
    printf("  %-4s %-36s %-28s %-38s %-16s %s\n", "#", "figure", "outpost", "baseline, same run",
           "target", "result");
#define ROW(num, name, f, bl, t, res)                                                              \
    printf("  %-4s %-36s %-28s %-38s %-16s %s\n", num, name, f, bl, t, res)
    if (s1.ok) {
        snprintf(fig, sizeof fig, "%s/s (%.1f s)", commas((uint64_t)rate, a), s1.secs);
        snprintf(base, sizeof base, "ingest %s/s; ratio %.2fx", commas((uint64_t)base_rate, b),
                 ratio);
        ROW("1", name1, fig, base, ">= 0.70x", !converged1 ? "DIFFER" : met(ratio >= 0.7));
    } else {
        snprintf(base, sizeof base, "ingest %s/s", commas((uint64_t)base_rate, b));
        ROW("1", name1, "FAILED", base, ">= 0.70x", "FAILED");
    }
    if (s2.ok) {
        snprintf(fig, sizeof fig, "%llu B out, %llu B in", s2.once.out, s2.once.in);
        snprintf(base, sizeof base, "have-vector %s B each way", commas(have_bytes, a));
        ROW("2", "no-op re-sync: bytes", fig, base, "<= 4 KiB",
            met(s2.once.out <= 4096 && s2.once.in <= 4096));
        size_t one = one_rtt_bytes(vs_src.authors);
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
                 commas(s3a.once.out + s3a.once.in, m1), s3a.once.out, s3a.once.in);
        snprintf(base, sizeof base, "RUN %s B; have-vector %s B", commas(diff_run_bytes, a),
                 commas(have_bytes, b));
        snprintf(tgt, sizeof tgt, "<= 16 KiB");
        ROW("3", name3a, fig, base, tgt,
            !converged3a ? "DIFFER" : met(s3a.once.out + s3a.once.in <= 16384));
    } else {
        ROW("3", name3a, s1.ok ? "FAILED" : "not run", "", "<= 16 KiB", s1.ok ? "FAILED" : "-");
    }
    if (s3b.ok) {
        snprintf(fig, sizeof fig, "%s B (%llu out, %llu in)",
                 commas(s3b.once.out + s3b.once.in, m1), s3b.once.out, s3b.once.in);
        snprintf(base, sizeof base, "RUNs %s B; have-vector %s B", commas(diff_run_bytes_b, a),
                 commas(have_bytes, b));
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
        snprintf(fig, sizeof fig, "p50 %.1f ms, p99 %.1f ms", 1e3 * pct(p5.push, p5.n, 50),
                 1e3 * pct(p5.push, p5.n, 99));
        snprintf(base, sizeof base, "checkin alone p50 %.1f, p99 %.1f ms",
                 1e3 * pct(p5.cli, p5.n, 50), 1e3 * pct(p5.cli, p5.n, 99));
        ROW("5", "live push, checkin exit..office", fig, base, "p99 <= 100 ms",
            met(p5.late == 0 && pct(p5.push, p5.n, 99) <= 0.1));
    }
#undef ROW
    if (s1.ok && !converged1)
        printf("  after 1 the fresh node's have-vector differs from the source's\n");
out:
    dataset_free(&d);
    sodium_memzero(netkey, sizeof netkey);
    free(p5.cli);
    free(p5.push);
    free(p5.total);
    if (!keep) {
        pid_t pid = fork();
        if (pid == 0) {
            execl("/bin/rm", "rm", "-rf", "--", work, (char *)NULL);
            _exit(127);
        }
        if (pid > 0)
            waitpid(pid, NULL, 0);
    } else {
        printf("  kept %s (nodes, and the agents' logs *.log)\n", work);
    }
    return ret;
}

/* ---------------------------------------------------------------- main */

static const char main_help[] =
    "usage: outpost-bench COMMAND [options]    (outpost-bench COMMAND --help for each)\n"
    "\n"
    "  gen      fill a node's store with synthetic, valid, signed and encrypted entries\n"
    "  ingest   store_log_ingest against raw SQLite inserts of the same rows\n"
    "  checkin  latency of `outpost checkin` against one durable SQLite commit\n"
    "  sync     replication between outpostd processes: full sync, no-op and small re-syncs,\n"
    "           peak RSS, live-push latency, each against a baseline\n"
    "  office   an office with a year of a large team: query commands against raw SQL\n";

int
main(int argc, char **argv)
{
    if (sodium_init() < 0) {
        fprintf(stderr, "outpost-bench: libsodium failed to initialise\n");
        return EXIT_FAIL;
    }
    if (argc < 2)
        return usage_error("a command is required: gen, ingest, checkin, sync or office");
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
    if (strcmp(cmd, "sync") == 0)
        return cmd_sync(argc - 1, argv + 1);
    if (strcmp(cmd, "office") == 0)
        return bench_office_main(argc - 1, argv + 1);
    return usage_error("unknown command '%s': gen, ingest, checkin, sync or office", cmd);
}
