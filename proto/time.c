/* time.c — ISO 8601 UTC times (see time.h). */
#include "proto/time.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "proto/body.h"

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
static int64_t
days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

bool
proto_time_parse(const char *s, uint64_t *ms)
{
    char date[11];
    unsigned hh = 0, mi = 0, ss = 0, frac = 0;
    if (strlen(s) < 10)
        return false;
    memcpy(date, s, 10);
    date[10] = '\0';
    if (!proto_is_date(date))
        return false;
    const char *t = s + 10;
    if (*t) {
        const char *x = t + 1;
        if ((*t != 'T' && *t != ' ') || strlen(x) < 8 || x[2] != ':' || x[5] != ':')
            return false;
        for (int i = 0; i < 8; i++)
            if (i != 2 && i != 5 && !isdigit((unsigned char)x[i]))
                return false;
        hh = (unsigned)((x[0] - '0') * 10 + (x[1] - '0'));
        mi = (unsigned)((x[3] - '0') * 10 + (x[4] - '0'));
        ss = (unsigned)((x[6] - '0') * 10 + (x[7] - '0'));
        if (hh > 23 || mi > 59 || ss > 60)
            return false;
        t = x + 8;
        if (*t == '.') {
            int digits = 0;
            for (t++; isdigit((unsigned char)*t); t++, digits++)
                if (digits < 3)
                    frac = frac * 10 + (unsigned)(*t - '0');
            if (digits == 0)
                return false;
            for (; digits < 3; digits++)
                frac *= 10;
        }
        if (strcmp(t, "Z") != 0 && strcmp(t, "+00:00") != 0)
            return false;
    }
    int64_t days = days_from_civil(atoi(date), (unsigned)atoi(date + 5), (unsigned)atoi(date + 8));
    *ms = (uint64_t)((days * 86400 + hh * 3600 + mi * 60 + ss) * 1000 + frac);
    return true;
}


bool
proto_time_offset_parse(const char *s, int64_t *ms)
{
    int64_t v = 0;
    bool neg = false;
    if (*s == '+' || *s == '-')
        neg = *s++ == '-';
    if (!*s)
        return false;
    for (; *s; s++) {
        if (!isdigit((unsigned char)*s))
            return false;
        v = v * 10 + (*s - '0');
        if (v > PROTO_TIME_OFFSET_MAX_S) /* checked per digit: v * 10 cannot overflow */
            return false;
    }
    *ms = (neg ? -v : v) * 1000;
    return true;
}

uint64_t
proto_time_shift(uint64_t real_ms, int64_t offset_ms)
{
    if (offset_ms < 0 && (uint64_t)-offset_ms > real_ms)
        return 0;
    return offset_ms < 0 ? real_ms - (uint64_t)-offset_ms : real_ms + (uint64_t)offset_ms;
}
