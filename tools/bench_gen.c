/*
 * bench_gen.c — `outpost-bench gen`: fills a node's store with synthetic, valid, signed and
 * encrypted entries (tools/gen.h), and the generator's flags and fill that ingest and sync
 * share (bench.h).
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
 */
#include "tools/bench.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/entry.h"
#include "store/keyfile.h"
#include "tools/bench_util.h"

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
        return bench_usage_error("cannot read --reader-key-file %s: %s", path, strerror(errno));
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
        return bench_usage_error("%s does not hold a public key (44 characters of base64)", path);
    return 0;
}

static int
load_office_key(const char *dir, uint8_t key[PROTO_KEY_BYTES])
{
    store_identity *id = NULL;
    op_err r = store_identity_load(dir, &id);
    if (r == OP_E_NOTFOUND)
        return bench_usage_error(
            "--office %s: no %s there (run outpost --dir %s init --office first)", dir,
            STORE_IDENTITY_FILE, dir);
    if (r != OP_OK)
        return bench_usage_error("--office %s: cannot load its identity: %s", dir, op_strerror(r));
    memcpy(key, id->pk, PROTO_KEY_BYTES);
    store_identity_free(id);
    return 0;
}

int
bench_gen_flag(int c, const char *arg, bench_gen_flags *f)
{
    switch (c) {
    case 'n':
        if (!bench_parse_count(arg, 1, f->max_entries, &f->entries))
            return bench_usage_error("--entries wants a count >= 1, not '%s'", arg);
        f->data_given = true;
        break;
    case 'a':
        if (!bench_parse_count(arg, 1, f->max_authors, &f->authors))
            return bench_usage_error("--authors wants a count >= 1, not '%s'", arg);
        f->data_given = true;
        break;
    case 's':
        if (!bench_parse_count(arg, 0, f->max_seed, &f->seed))
            return bench_usage_error("--seed wants an unsigned integer, not '%s'", arg);
        f->data_given = true;
        break;
    case 'b':
        if (!bench_parse_count(arg, 1, GEN_RUN_MAX, &f->batch))
            return bench_usage_error("--batch wants 1..%d, not '%s'", GEN_RUN_MAX, arg);
        break;
    case 't':
        if (!bench_parse_count(arg, 1, 16, &f->threads))
            return bench_usage_error("--threads wants 1..16, not '%s'", arg);
        break;
    }
    return 0;
}

op_err
bench_gen_fill(store_db *db, gen_opts *o, const char *label, gen_stats *st, uint32_t *bad)
{
    bench_progress pg;
    bench_progress_init(&pg, label);
    o->progress = bench_progress_cb;
    o->ctx = &pg;
    op_err r = gen_fill(db, o, st, bad);
    bench_progress_done(&pg);
    return r;
}

int
bench_gen_main(int argc, char **argv)
{
    static const struct option longs[] = {
        {"dir", required_argument, NULL, 'd'},
        BENCH_GEN_LONGS,
        {"reader-key-file", required_argument, NULL, 'r'},
        {"office", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    const char *dir = NULL, *key_file = NULL, *office_dir = NULL;
    bench_gen_flags f = {.entries = 1000000,
                         .authors = 1000,
                         .seed = 1,
                         .batch = 1000,
                         .threads = 2,
                         .max_entries = 1ull << 40,
                         .max_authors = 1u << 30,
                         .max_seed = UINT64_MAX};
    int c, rc;

    bench_set_name("outpost-bench gen");
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":h", longs, NULL)) != -1) {
        switch (c) {
        case 'd':
            dir = optarg;
            break;
        case 'n':
        case 'a':
        case 's':
        case 'b':
        case 't':
            if ((rc = bench_gen_flag(c, optarg, &f)) != 0)
                return rc;
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
            return bench_getopt_error(c, argv);
        }
    }
    if (optind < argc)
        return bench_usage_error("unexpected argument '%s'", argv[optind]);
    if (!dir)
        return bench_usage_error("--dir DIR is required");
    if (f.authors > f.entries)
        return bench_usage_error(
            "--authors (%llu) must not exceed --entries (%llu): every log starts "
            "with a key entry",
            (unsigned long long)f.authors, (unsigned long long)f.entries);
    if (key_file && office_dir)
        return bench_usage_error("give --reader-key-file or --office, not both");

    gen_opts o = {.entries = f.entries,
                  .authors = (uint32_t)f.authors,
                  .seed = f.seed,
                  .batch = (size_t)f.batch,
                  .threads = (int)f.threads,
                  .now = bench_wall_ms()};
    if (key_file && (rc = read_key_file(key_file, o.office)) != 0)
        return rc;
    if (office_dir && (rc = load_office_key(office_dir, o.office)) != 0)
        return rc;
    o.has_office = key_file || office_dir;

    char path[4200];
    if (bench_mkdir_p(dir) != 0)
        return bench_fail("cannot create %s: %s", dir, strerror(errno));
    snprintf(path, sizeof path, "%s/%s", dir, STORE_DB_FILE);
    store_db *db = NULL;
    op_err r = store_db_open(path, STORE_OPEN_CREATE, &db);
    if (r != OP_OK)
        return bench_fail("cannot open %s: %s", path, op_strerror(r));

    gen_stats st;
    uint32_t bad = 0;
    r = bench_gen_fill(db, &o, "gen", &st, &bad);
    store_db_close(db);
    if (r == OP_E_EXISTS)
        return bench_fail(
            "%s already holds author %u of seed %llu: use a fresh --dir or another --seed", path,
            bad, (unsigned long long)f.seed);
    if (r != OP_OK)
        return bench_fail("writing author %u into %s failed: %s", bad, path, op_strerror(r));

    char a[32], b[32], c2[32];
    char office_text[PROTO_KEY_TEXT_BYTES] = "";
    if (o.has_office)
        proto_key_to_text(o.office, office_text);
    printf("gen: %s entries of %s authors into %s in %.1f s (%s entries/s, %d signing threads); "
           "%llu runs; %.0f B/entry (envelope %.0f + body %.0f); seed %llu%s%s\n",
           bench_commas(st.entries, a), bench_commas(f.authors, b), path, st.seconds,
           bench_commas((uint64_t)((double)st.entries / st.seconds), c2), o.threads,
           (unsigned long long)st.runs, (double)(st.env_bytes + st.body_bytes) / (double)st.entries,
           (double)st.env_bytes / (double)st.entries, (double)st.body_bytes / (double)st.entries,
           (unsigned long long)f.seed, o.has_office ? "; sealed to " : "", office_text);
    return 0;
}
