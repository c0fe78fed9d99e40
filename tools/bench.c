/*
 * bench.c — outpost-bench: the benchmark drivers of SPEC §11 and the data generator. Only the
 * dispatch lives here; each command is a file of its own, and every figure is printed beside
 * a baseline measured in the same run on the same machine.
 *
 *   outpost-bench gen      tools/bench_gen.c      fill a node's store with synthetic entries
 *   outpost-bench ingest   tools/bench_ingest.c   store_log_ingest against raw SQLite inserts
 *   outpost-bench checkin  tools/bench_checkin.c  `outpost checkin` against a durable commit
 *   outpost-bench sync     tools/bench_sync.c     replication between outpostd processes
 *   outpost-bench office   tools/bench_office.c   an office's query commands against raw SQL
 *
 * Shared: tools/bench_util.c (messages, clocks, numbers, files, percentiles),
 * tools/bench_proc.c (child processes), tools/bench_data.c (entries read for timing, the raw
 * SQLite baseline), tools/bench_net.c (the wire-level baselines of sync).
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
#include "tools/bench.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "tools/bench_office.h"
#include "tools/bench_util.h"

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
        return BENCH_EXIT_FAIL;
    }
    if (argc < 2)
        return bench_usage_error("a command is required: gen, ingest, checkin, sync or office");
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        fputs(main_help, stdout);
        return 0;
    }
    if (strcmp(cmd, "gen") == 0)
        return bench_gen_main(argc - 1, argv + 1);
    if (strcmp(cmd, "ingest") == 0)
        return bench_ingest_main(argc - 1, argv + 1);
    if (strcmp(cmd, "checkin") == 0)
        return bench_checkin_main(argc - 1, argv + 1);
    if (strcmp(cmd, "sync") == 0)
        return bench_sync_main(argc - 1, argv + 1);
    if (strcmp(cmd, "office") == 0)
        return bench_office_main(argc - 1, argv + 1);
    return bench_usage_error("unknown command '%s': gen, ingest, checkin, sync or office", cmd);
}
