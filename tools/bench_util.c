/*
 * bench_util.c — the helpers shared by the outpost-bench commands (see bench_util.h). Messages
 * go to stderr, figures to stdout; nothing here exits.
 */
#include "tools/bench_util.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *bench_name = "outpost-bench";

void
bench_set_name(const char *name)
{
    bench_name = name;
}

int
bench_usage_error(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: ", bench_name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (see %s --help)\n", bench_name);
    return BENCH_EXIT_USAGE;
}

int
bench_fail(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: ", bench_name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return BENCH_EXIT_FAIL;
}

int
bench_getopt_error(int c, char **argv)
{
    const char *arg = argv[optind - 1];
    if (c == ':')
        return bench_usage_error("option '%s' needs a value", arg);
    if (optopt && strncmp(arg, "--", 2) != 0)
        return bench_usage_error("unknown option '-%c'", optopt);
    return bench_usage_error("unknown option '%s'", arg);
}

double
bench_mono(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

uint64_t
bench_wall_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

void
bench_sleep(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* Digits, then k/K or M when suffixes are allowed; in [min, max]. */
static bool
parse_number(const char *s, bool suffixes, uint64_t min, uint64_t max, uint64_t *out)
{
    char *end;
    if (!s || *s < '0' || *s > '9')
        return false;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno)
        return false;
    if (suffixes && (*end == 'k' || *end == 'K')) {
        v *= 1000;
        end++;
    } else if (suffixes && *end == 'M') {
        v *= 1000000;
        end++;
    }
    if (*end || v < min || v > max)
        return false;
    *out = v;
    return true;
}

bool
bench_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    return parse_number(s, false, min, max, out);
}

bool
bench_parse_count(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    return parse_number(s, true, min, max, out);
}

bool
bench_parse_iso(const char *s, uint64_t *ms)
{
    int y, mo, d, h = 0, mi = 0, sec = 0, n = 0;
    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6) {
        n = 0;
        sec = 0;
        if (sscanf(s, "%4d-%2d-%2dT%2d:%2d%n", &y, &mo, &d, &h, &mi, &n) != 5)
            return false;
    }
    if (s[n] == 'Z')
        n++;
    if (s[n] || y < 1971 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 59)
        return false;
    struct tm tm = {.tm_year = y - 1900,
                    .tm_mon = mo - 1,
                    .tm_mday = d,
                    .tm_hour = h,
                    .tm_min = mi,
                    .tm_sec = sec};
    time_t t = timegm(&tm);
    if (t < 0 || tm.tm_mday != d) /* 2026-02-30 normalises to March: refuse */
        return false;
    *ms = (uint64_t)t * 1000;
    return true;
}

void
bench_format_iso(uint64_t ms, char out[32])
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

const char *
bench_commas(uint64_t v, char buf[32])
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

int
bench_mkdir_p(const char *path)
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

void
bench_remove_db(const char *path)
{
    char buf[4200];
    unlink(path);
    snprintf(buf, sizeof buf, "%s-wal", path);
    unlink(buf);
    snprintf(buf, sizeof buf, "%s-shm", path);
    unlink(buf);
}

int
bench_rm_rf(const char *path)
{
    int status = -1;
    pid_t pid = fork();
    if (pid == 0) {
        execl("/bin/rm", "rm", "-rf", "--", path, (char *)NULL);
        _exit(127);
    }
    if (pid > 0)
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
    return status;
}

const char *
bench_tmp_parent(void)
{
    const char *t = getenv("TMPDIR");
    return t && *t ? t : "/tmp";
}

void
bench_default_path(const char *name, char *out, size_t n)
{
    char self[4096];
    ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
    if (len <= 0) {
        snprintf(out, n, "build/%s", name);
        return;
    }
    self[len] = '\0';
    char *slash = strrchr(self, '/');
    if (slash)
        *slash = '\0';
    if (snprintf(out, n, "%s/%s", self, name) >= (int)n)
        snprintf(out, n, "build/%s", name);
}

const char *
bench_first_line(const char *path, char *buf, size_t n)
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

void
bench_progress_init(bench_progress *p, const char *label)
{
    p->label = label;
    p->tty = isatty(STDERR_FILENO);
    p->t0 = p->last = bench_mono();
}

void
bench_progress_cb(void *ctx, uint64_t done, uint64_t total)
{
    bench_progress *p = ctx;
    double t = bench_mono();
    if (!p->tty || (t - p->last < 0.2 && done < total))
        return;
    p->last = t;
    char a[32], b[32], c[32];
    double rate = t > p->t0 ? (double)done / (t - p->t0) : 0;
    fprintf(stderr, "\r%s: %s / %s entries (%.0f%%), %s entries/s   ", p->label,
            bench_commas(done, a), bench_commas(total, b),
            total ? 100.0 * (double)done / (double)total : 100.0, bench_commas((uint64_t)rate, c));
    fflush(stderr);
}

void
bench_progress_done(bench_progress *p)
{
    if (p->tty)
        bench_clear_line(78);
}

void
bench_clear_line(int width)
{
    fprintf(stderr, "\r%*s\r", width, "");
}

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

void
bench_sort(double *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_double);
}

double
bench_pct(const double *v, size_t n, double p)
{
    if (n == 0)
        return NAN;
    size_t k = (size_t)ceil(p / 100.0 * (double)n);
    return v[k == 0 ? 0 : k - 1];
}

double
bench_median(double *v, size_t n)
{
    bench_sort(v, n);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

void
bench_print_dist(const char *label, double *v, size_t n)
{
    bench_sort(v, n);
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += v[i];
    printf("  %-44s p50 %7.2f ms  p99 %7.2f ms  max %7.2f ms  mean %7.2f ms\n", label,
           1e3 * bench_pct(v, n, 50), 1e3 * bench_pct(v, n, 99), 1e3 * v[n - 1],
           1e3 * sum / (double)n);
}
