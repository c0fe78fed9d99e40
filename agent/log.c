/* log.c — agent log lines (see log.h). */
#include "agent/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <sys/time.h>
#include <time.h>

#include "proto/seal.h"

static bool quiet;

void
agent_log_set_quiet(bool q)
{
    quiet = q;
}

void
agent_log(const char *fmt, ...)
{
    struct timeval tv;
    struct tm tm;
    char when[32];
    va_list ap;
    if (quiet)
        return;
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
    fprintf(stderr, "%s.%03ldZ outpostd: ", when, (long)(tv.tv_usec / 1000));
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

void
agent_short_key(const uint8_t key[32], char out[9])
{
    char text[PROTO_KEY_TEXT_BYTES];
    proto_key_to_text(key, text);
    for (int i = 0; i < 8; i++)
        out[i] = text[i];
    out[8] = '\0';
}
