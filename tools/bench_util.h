/*
 * bench_util.h — the small helpers every outpost-bench command shares: messages and exit codes,
 * clocks, number parsing and printing, files and directories, a progress line, percentiles.
 * Nothing here knows a benchmark; child processes are in bench_proc.h.
 */
#ifndef OUTPOST_TOOLS_BENCH_UTIL_H
#define OUTPOST_TOOLS_BENCH_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BENCH_EXIT_USAGE 2 /* bad flags */
#define BENCH_EXIT_FAIL 3  /* the benchmark could not run */

/* The name messages start with ("outpost-bench gen"); static storage, not copied. */
void bench_set_name(const char *name);

/* "NAME: text (see NAME --help)" on stderr; returns BENCH_EXIT_USAGE. */
int bench_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* "NAME: text" on stderr; returns BENCH_EXIT_FAIL. */
int bench_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The getopt_long error c (':' or '?') for the option just seen, as one line; returns
 * BENCH_EXIT_USAGE. */
int bench_getopt_error(int c, char **argv);

/* Seconds of CLOCK_MONOTONIC; ms since the epoch of CLOCK_REALTIME; sleeps s seconds. */
double bench_mono(void);
uint64_t bench_wall_ms(void);
void bench_sleep(double s);

/* Digits only, in [min, max]. */
bool bench_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/* A count: digits, optionally followed by k or K (x1000) or M (x1000000), in [min, max]. */
bool bench_parse_count(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/* "2026-11-25T18:00:00Z" (seconds and Z optional) -> ms since the epoch; false if not a date. */
bool bench_parse_iso(const char *s, uint64_t *ms);

/* ms since the epoch -> "2026-11-25T18:00:00Z". */
void bench_format_iso(uint64_t ms, char out[32]);

/* 1234567 -> "1,234,567" in buf; returns buf. */
const char *bench_commas(uint64_t v, char buf[32]);

/* mkdir -p with mode 0700; 0, or -1 and errno. */
int bench_mkdir_p(const char *path);

/* Removes a SQLite database and its -wal and -shm files; missing ones are fine. */
void bench_remove_db(const char *path);

/* rm -rf -- path (a child /bin/rm); its wait status, -1 if it could not run. */
int bench_rm_rf(const char *path);

/* $TMPDIR if set and not empty, else "/tmp". */
const char *bench_tmp_parent(void);

/* The program name next to this one ("DIR/name", DIR that of /proc/self/exe), else
 * "build/name". */
void bench_default_path(const char *name, char *out, size_t n);

/* The first line of the file at path, in buf; "(nothing on stderr)" if there is none. */
const char *bench_first_line(const char *path, char *buf, size_t n);

/* One line of progress on a terminal (stderr), redrawn at most 5 times a second. */
typedef struct bench_progress {
    const char *label;
    bool tty;
    double t0, last;
} bench_progress;

void bench_progress_init(bench_progress *p, const char *label);
/* A gen_opts progress callback: ctx is a bench_progress. */
void bench_progress_cb(void *ctx, uint64_t done, uint64_t total);
/* Clears the line, if on a terminal. */
void bench_progress_done(bench_progress *p);
/* Blanks width columns of the terminal line on stderr and returns to its start. */
void bench_clear_line(int width);

/* Sorts v[0..n) ascending. */
void bench_sort(double *v, size_t n);

/* Nearest-rank percentile p (0..100) of sorted v[0..n); NAN when n is 0. */
double bench_pct(const double *v, size_t n, double p);

/* The median of v[0..n), n > 0; sorts v. */
double bench_median(double *v, size_t n);

/* Sorts v[0..n), n > 0, and prints "  LABEL p50 .. p99 .. max .. mean .." in ms. */
void bench_print_dist(const char *label, double *v, size_t n);

#endif
