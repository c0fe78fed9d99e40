/* period.c — ISO weeks, months and days as date ranges (see period.h). Dates are counted as
 * days since 1970-01-01, which was a Thursday. */
#include "tools/period.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/body.h"

static int64_t
days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void
civil_from_days(int64_t z, int *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

static void
fmt_day(int64_t z, char out[11])
{
    int y, m, d;
    civil_from_days(z, &y, &m, &d);
    char buf[32]; /* wide enough for any int, so the compiler can see nothing is cut */
    snprintf(buf, sizeof buf, "%04d-%02d-%02d", y, m, d);
    memcpy(out, buf, 10);
    out[10] = '\0';
}

static int
weekday(int64_t z) /* 0 = Monday */
{
    int64_t w = (z + 3) % 7;
    return (int)(w < 0 ? w + 7 : w);
}

static int64_t
iso_week1_monday(int y)
{
    int64_t jan4 = days_from_civil(y, 1, 4);
    return jan4 - weekday(jan4);
}

static int
iso_weeks_in_year(int y)
{
    return (int)((iso_week1_monday(y + 1) - iso_week1_monday(y)) / 7);
}

static bool
digits(const char *s, int n)
{
    for (int i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

static void
set_week(int y, int w, cli_period *out)
{
    int64_t mon = iso_week1_monday(y) + (int64_t)(w - 1) * 7;
    snprintf(out->label, sizeof out->label, "%04d-W%02d", y % 10000, w % 100);
    fmt_day(mon, out->from);
    fmt_day(mon + 6, out->to);
}

static void
set_month(int y, int m, cli_period *out)
{
    snprintf(out->label, sizeof out->label, "%04d-%02d", y % 10000, m % 100);
    fmt_day(days_from_civil(y, m, 1), out->from);
    fmt_day(days_from_civil(m == 12 ? y + 1 : y, m == 12 ? 1 : m + 1, 1) - 1, out->to);
}

bool
cli_period_parse(const char *s, cli_period *out)
{
    size_t n = strlen(s);
    memset(out, 0, sizeof *out);
    if (n == 8 && digits(s, 4) && s[4] == '-' && s[5] == 'W' && digits(s + 6, 2)) {
        int y = atoi(s), w = atoi(s + 6);
        if (y < 1970 || w < 1 || w > iso_weeks_in_year(y))
            return false;
        set_week(y, w, out);
        return true;
    }
    if (n == 7 && digits(s, 4) && s[4] == '-' && digits(s + 5, 2)) {
        int y = atoi(s), m = atoi(s + 5);
        if (y < 1970 || m < 1 || m > 12)
            return false;
        set_month(y, m, out);
        return true;
    }
    if (proto_is_date(s)) {
        snprintf(out->label, sizeof out->label, "%s", s);
        snprintf(out->from, sizeof out->from, "%s", s);
        snprintf(out->to, sizeof out->to, "%s", s);
        return true;
    }
    return false;
}

bool
cli_period_containing(const char *kind, uint64_t ms, cli_period *out)
{
    int64_t z = (int64_t)(ms / 86400000);
    int y, m, d;
    memset(out, 0, sizeof *out);
    civil_from_days(z, &y, &m, &d);
    if (strcmp(kind, "day") == 0) {
        fmt_day(z, out->from);
        memcpy(out->to, out->from, sizeof out->to);
        memcpy(out->label, out->from, sizeof out->from);
        return true;
    }
    if (strcmp(kind, "month") == 0) {
        set_month(y, m, out);
        return true;
    }
    if (strcmp(kind, "week") == 0) {
        int64_t thursday = z - weekday(z) + 3; /* an ISO week belongs to its Thursday's year */
        int ty, tm, td;
        civil_from_days(thursday, &ty, &tm, &td);
        set_week(ty, (int)((thursday - iso_week1_monday(ty)) / 7) + 1, out);
        return true;
    }
    return false;
}
