/*
 * bench_proc.h — the child processes of outpost-bench: a command run to its exit and timed
 * (bench_proc_run), and a long-running child watched for its peak memory and CPU time
 * (bench_proc: the agents of `sync`), with the scanning of its log file.
 */
#ifndef OUTPOST_TOOLS_BENCH_PROC_H
#define OUTPOST_TOOLS_BENCH_PROC_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/resource.h>
#include <sys/types.h>

/* What bench_proc_run returns for a child its timeout stopped. */
#define BENCH_PROC_TIMED_OUT (128 + SIGALRM)

/*
 * fork, exec argv (argv[0] a path) with stdin from /dev/null, stdout into the file out (or
 * /dev/null when out is NULL) and stderr into the file err (both truncated), OUTPOST_NOW=now
 * when now is not NULL, and SIGALRM after timeout_s seconds when it is not 0 (the alarm
 * survives exec and ends a child that does not handle it); wait. *secs: from before fork to
 * after waitpid, CLOCK_MONOTONIC. Returns the exit status, 128+N if killed by signal N
 * (BENCH_PROC_TIMED_OUT after the timeout), 126 if the child could not open its files, 127 if
 * the exec failed, -1 if it could not run.
 */
int bench_proc_run(char *const argv[], const char *now, const char *out, const char *err,
                   unsigned timeout_s, double *secs);

/*
 * A child started by bench_proc_start, its stderr in a file, its rusage from wait4.
 *
 * Peak memory is wait4's ru_maxrss. On Linux that also counts what the child had before exec:
 * a copy of this process's resident set at fork (with vfork and posix_spawn too). So the
 * caller hands its freed memory back (malloc_trim) before it starts agents, and prints its
 * own resident set beside the figures: ru_maxrss is the agent's own peak whenever it is larger
 * than that. As a cross-check, VmHWM of /proc/PID/status (the exec'd program's own high-water
 * mark) is read every 10 ms while the child runs and once before it is asked to stop (it only
 * grows, but a child that lives a few ms may exit before a reading).
 */
typedef struct bench_proc {
    pid_t pid; /* 0 when not running */
    double t0, t1, hwm_t;
    struct rusage ru;
    long hwm_kib; /* VmHWM, last read */
    int code;     /* exit status; 128+N if killed by signal N; -1 could not wait; -2 timed out */
    char log[4200];
} bench_proc;

/* VmHWM (or, with vmrss, VmRSS) of pid in KiB; 0 if it cannot be read. */
long bench_proc_status_kib(pid_t pid, bool vmrss);

/* Starts argv with stdin and stdout on /dev/null and stderr appended to log; returns once the
 * exec happened. 0, or BENCH_EXIT_FAIL with a message. */
int bench_proc_start(bench_proc *p, char *const argv[], const char *log);

/* Waits for p to exit, at most timeout seconds (then kills it: code -2). Polls wait4: every
 * 0.1 ms in its first second, then every 2 ms (the exit time is known to that much); calls
 * tick(ctx) about once a second (tick may be NULL). Returns p->code. */
int bench_proc_wait(bench_proc *p, double timeout, void (*tick)(void *), void *ctx);

/* SIGTERM, then wait (SIGKILL after 30 s). Returns p->code; 0 if it was not running. */
int bench_proc_stop(bench_proc *p);

/* ru_maxrss in KiB (Linux), and user + system CPU seconds, of an exited p. */
long bench_proc_maxrss_kib(const bench_proc *p);
double bench_proc_cpu_s(const bench_proc *p);

/* The last line of the file at path that contains needle, into line (may be NULL). */
bool bench_log_find(const char *path, const char *needle, char *line, size_t n);

/* Waits until the log at path has a line with needle (true), or p (may be NULL) has exited,
 * or timeout seconds passed. */
bool bench_log_wait(const char *path, const char *needle, double timeout, bench_proc *p, char *line,
                    size_t n);

#endif
