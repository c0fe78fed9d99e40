/*
 * bench_proc.c — child processes of outpost-bench (see bench_proc.h): fork, exec, wait4 and
 * /proc/PID/status; log files read as text.
 */
#include "tools/bench_proc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tools/bench_util.h"

int
bench_proc_run(char *const argv[], const char *now, const char *out, const char *err,
               unsigned timeout_s, double *secs)
{
    double t0 = bench_mono();
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR);
        int o = out ? open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600) : null;
        int e = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (null < 0 || o < 0 || e < 0)
            _exit(126);
        dup2(null, STDIN_FILENO);
        dup2(o, STDOUT_FILENO);
        dup2(e, STDERR_FILENO);
        if (now)
            setenv("OUTPOST_NOW", now, 1);
        if (timeout_s) {
            signal(SIGALRM, SIG_DFL);
            alarm(timeout_s);
        }
        execv(argv[0], argv);
        _exit(127);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    *secs = bench_mono() - t0;
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : -1;
}

long
bench_proc_status_kib(pid_t pid, bool vmrss)
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
proc_sample(bench_proc *p)
{
    if (!p->pid)
        return;
    long v = bench_proc_status_kib(p->pid, false);
    if (v > p->hwm_kib)
        p->hwm_kib = v;
    p->hwm_t = bench_mono();
}

int
bench_proc_start(bench_proc *p, char *const argv[], const char *log)
{
    memset(p, 0, sizeof *p);
    p->code = -1;
    snprintf(p->log, sizeof p->log, "%s", log);
    /* A close-on-exec pipe: its end of file tells that the exec happened (so VmHWM is the new
     * program's), or the child writes errno when the exec failed. */
    int ex[2];
    if (pipe(ex) != 0)
        return bench_fail("pipe: %s", strerror(errno));
    fcntl(ex[0], F_SETFD, FD_CLOEXEC);
    fcntl(ex[1], F_SETFD, FD_CLOEXEC);
    p->t0 = bench_mono();
    pid_t pid = fork();
    if (pid < 0) {
        close(ex[0]);
        close(ex[1]);
        return bench_fail("fork: %s", strerror(errno));
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
        bench_proc_wait(p, 10, NULL, NULL);
        return bench_fail("cannot run %s: %s", argv[0], strerror(e));
    }
    return 0;
}

static void
set_code(bench_proc *p, int status)
{
    p->t1 = bench_mono();
    p->pid = 0;
    p->code = WIFEXITED(status)     ? WEXITSTATUS(status)
              : WIFSIGNALED(status) ? 128 + WTERMSIG(status)
                                    : -1;
}

int
bench_proc_wait(bench_proc *p, double timeout, void (*tick)(void *), void *ctx)
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
            p->t1 = bench_mono();
            return p->code = -1;
        }
        double now = bench_mono();
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
        bench_sleep(now - p->t0 < 1.0 ? 100e-6 : 2e-3);
    }
    return p->code;
}

int
bench_proc_stop(bench_proc *p)
{
    if (!p->pid)
        return 0;
    proc_sample(p);
    kill(p->pid, SIGTERM);
    p->t0 = bench_mono(); /* the timeout counts from here */
    return bench_proc_wait(p, 30, NULL, NULL);
}

long
bench_proc_maxrss_kib(const bench_proc *p)
{
    return p->ru.ru_maxrss; /* Linux: KiB; see bench_proc */
}

double
bench_proc_cpu_s(const bench_proc *p)
{
    return (double)p->ru.ru_utime.tv_sec + (double)p->ru.ru_utime.tv_usec / 1e6 +
           (double)p->ru.ru_stime.tv_sec + (double)p->ru.ru_stime.tv_usec / 1e6;
}

bool
bench_log_find(const char *path, const char *needle, char *line, size_t n)
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

bool
bench_log_wait(const char *path, const char *needle, double timeout, bench_proc *p, char *line,
               size_t n)
{
    double t0 = bench_mono();
    for (;;) {
        if (bench_log_find(path, needle, line, n))
            return true;
        if (p && p->pid) {
            int status;
            if (wait4(p->pid, &status, WNOHANG, &p->ru) == p->pid) {
                set_code(p, status);
                return bench_log_find(path, needle, line, n);
            }
        }
        if ((p && !p->pid) || bench_mono() - t0 > timeout)
            return false;
        bench_sleep(1e-3);
    }
}
