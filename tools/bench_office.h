/* bench_office.h — `outpost-bench office` (tools/bench_office.c), called from bench.c's main. */
#ifndef OUTPOST_TOOLS_BENCH_OFFICE_H
#define OUTPOST_TOOLS_BENCH_OFFICE_H

/* argv[0] is "office". Returns the exit code: 0 done, 2 bad flags, 3 could not run. */
int bench_office_main(int argc, char **argv);

#endif
