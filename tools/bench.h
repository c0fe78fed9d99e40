/*
 * bench.h — the commands of outpost-bench, called from bench.c's main, and what more than one
 * of them shares of the generator (tools/gen.h): its flags and a fill with a progress line.
 * Each command takes argv[0] = its name and returns the exit code: 0 done, 2 bad flags
 * (BENCH_EXIT_USAGE), 3 the benchmark could not run (BENCH_EXIT_FAIL).
 */
#ifndef OUTPOST_TOOLS_BENCH_H
#define OUTPOST_TOOLS_BENCH_H

#include <stdbool.h>
#include <stdint.h>

#include "store/db.h"
#include "tools/gen.h"

int bench_gen_main(int argc, char **argv);     /* tools/bench_gen.c */
int bench_ingest_main(int argc, char **argv);  /* tools/bench_ingest.c */
int bench_checkin_main(int argc, char **argv); /* tools/bench_checkin.c */
int bench_sync_main(int argc, char **argv);    /* tools/bench_sync.c */

/* The generator's flags of gen, ingest and sync: the values (set the defaults first) and the
 * largest ones a command takes. */
typedef struct bench_gen_flags {
    uint64_t entries, authors, seed, batch, threads;
    uint64_t max_entries, max_authors, max_seed;
    bool data_given; /* --entries, --authors or --seed was given */
} bench_gen_flags;

/* The getopt_long letters of those flags, for longs[]: --entries 'n', --authors 'a',
 * --seed 's', --batch 'b', --threads 't'. */
#define BENCH_GEN_LONGS                                                                            \
    {"entries", required_argument, NULL, 'n'}, {"authors", required_argument, NULL, 'a'},          \
        {"seed", required_argument, NULL, 's'}, {"batch", required_argument, NULL, 'b'},           \
    {                                                                                              \
        "threads", required_argument, NULL, 't'                                                    \
    }

/* Takes option c (one of BENCH_GEN_LONGS) with its value arg into f: 0, or BENCH_EXIT_USAGE
 * with a message. */
int bench_gen_flag(int c, const char *arg, bench_gen_flags *f);

/* gen_fill(db, o, st, bad) with a progress line labelled label on a terminal (it sets
 * o->progress and o->ctx). */
OP_MUST_CHECK op_err bench_gen_fill(store_db *db, gen_opts *o, const char *label, gen_stats *st,
                                    uint32_t *bad);

#endif
