/*
 * period_test.c — tools/period.c: ISO 8601 weeks (Monday to Sunday, week 1 holds the year's
 * first Thursday, week 53 only where the year has one), calendar months and days, for every
 * day from 1970 to 2400 against a calendar walked one day at a time (no formulas shared with
 * the code under test), at both ends of each day; and the labels it refuses.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/period.h"

#define DAY_MS 86400000ull

/* One day of the walked calendar. */
typedef struct day {
    int y, m, d;
    int wd;  /* 0 = Monday */
    int doy; /* 1-based day of the year */
} day;

static day *cal;
static size_t n_cal, epoch; /* cal[epoch] is 1970-01-01 */

static bool
leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
month_days(int y, int m)
{
    static const int n[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return n[m - 1] + (m == 2 && leap(y));
}

/* Walks from 1969-01-01 (a Wednesday) to 2401-12-31. */
static int
walk(void **state)
{
    (void)state;
    size_t cap = 433 * 366;
    cal = calloc(cap, sizeof *cal);
    if (!cal)
        return -1;
    day t = {1969, 1, 1, 2, 1};
    while (t.y < 2402) {
        if (t.y == 1970 && t.m == 1 && t.d == 1)
            epoch = n_cal;
        cal[n_cal++] = t;
        t.wd = (t.wd + 1) % 7;
        t.doy++;
        if (++t.d > month_days(t.y, t.m)) {
            t.d = 1;
            if (++t.m > 12) {
                t.m = 1;
                t.y++;
                t.doy = 1;
            }
        }
    }
    return 0;
}

static int
unwalk(void **state)
{
    (void)state;
    free(cal);
    return 0;
}

/* Buffers here are wider than the dates, so gcc can see that nothing is cut. */
#define DATE_BUF 40

static void
fmt(size_t i, char out[DATE_BUF])
{
    snprintf(out, DATE_BUF, "%04d-%02d-%02d", cal[i].y, cal[i].m, cal[i].d);
}

static void
every_day_1970_to_2400(void **state)
{
    (void)state;
    int weeks[2402] = {0}; /* the highest ISO week seen per ISO year */
    for (size_t i = epoch; cal[i].y <= 2400; i++) {
        const day *t = &cal[i];
        /* the ISO week: the one of its Thursday, numbered in the Thursday's year */
        size_t mon = i - (size_t)t->wd, thu = mon + 3;
        int wy = cal[thu].y, wn = (cal[thu].doy - 1) / 7 + 1;
        if (wn > weeks[wy])
            weeks[wy] = wn;
        char date[DATE_BUF], first[DATE_BUF], last[DATE_BUF], label[DATE_BUF];
        fmt(i, date);
        fmt(mon, first);
        fmt(mon + 6, last);
        snprintf(label, sizeof label, "%04d-W%02d", wy, wn);
        uint64_t ms = (uint64_t)(i - epoch) * DAY_MS;
        for (int end = 0; end < 2; end++) {
            cli_period p;
            uint64_t at = ms + (end ? DAY_MS - 1 : 0);
            assert_true(cli_period_containing("week", at, &p));
            if (strcmp(p.label, label) || strcmp(p.from, first) || strcmp(p.to, last))
                fail_msg("%s: week %s %s..%s, want %s %s..%s", date, p.label, p.from, p.to, label,
                         first, last);
            assert_true(cli_period_containing("day", at, &p));
            assert_string_equal(p.label, date);
            assert_string_equal(p.from, date);
            assert_string_equal(p.to, date);
            assert_true(cli_period_containing("month", at, &p));
            char mlabel[DATE_BUF], mfirst[DATE_BUF + 8], mlast[DATE_BUF + 8];
            snprintf(mlabel, sizeof mlabel, "%04d-%02d", t->y, t->m);
            snprintf(mfirst, sizeof mfirst, "%s-01", mlabel);
            snprintf(mlast, sizeof mlast, "%s-%02d", mlabel, month_days(t->y, t->m));
            assert_string_equal(p.label, mlabel);
            assert_string_equal(p.from, mfirst);
            assert_string_equal(p.to, mlast);
        }
        cli_period p;
        assert_true(cli_period_parse(date, &p));
        assert_string_equal(p.from, date);
        assert_string_equal(p.to, date);
        if (t->wd == 0) { /* each week once, by its label */
            assert_true(cli_period_parse(label, &p));
            assert_string_equal(p.label, label);
            assert_string_equal(p.from, first);
            assert_string_equal(p.to, last);
        }
    }
    /* week 53 parses exactly where a year has one */
    for (int y = 1970; y < 2400; y++) {
        char label[DATE_BUF];
        cli_period p;
        assert_true(weeks[y] == 52 || weeks[y] == 53);
        snprintf(label, sizeof label, "%04d-W53", y);
        if (cli_period_parse(label, &p) != (weeks[y] == 53))
            fail_msg("%s: parse says %d, the calendar %d weeks", label, !(weeks[y] == 53),
                     weeks[y]);
    }
}

static void
known_periods(void **state)
{
    (void)state;
    static const struct {
        const char *label, *from, *to;
    } ok[] = {
        {"2026-W53", "2026-12-28", "2027-01-03"},   {"2020-W53", "2020-12-28", "2021-01-03"},
        {"2015-W53", "2015-12-28", "2016-01-03"},   {"2026-W01", "2025-12-29", "2026-01-04"},
        {"2026-W48", "2026-11-23", "2026-11-29"},   {"2028-W09", "2028-02-28", "2028-03-05"},
        {"1970-W01", "1969-12-29", "1970-01-04"},   {"2028-02", "2028-02-01", "2028-02-29"},
        {"2027-02", "2027-02-01", "2027-02-28"},    {"2000-02", "2000-02-01", "2000-02-29"},
        {"2100-02", "2100-02-01", "2100-02-28"},    {"2026-12", "2026-12-01", "2026-12-31"},
        {"2028-02-29", "2028-02-29", "2028-02-29"},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        cli_period p;
        if (!cli_period_parse(ok[i].label, &p))
            fail_msg("%s refused", ok[i].label);
        assert_string_equal(p.label, ok[i].label);
        assert_string_equal(p.from, ok[i].from);
        assert_string_equal(p.to, ok[i].to);
    }
    static const char *const bad[] = {
        "2025-W53",   "2021-W53",   "2027-W53",   "2026-W54", "2026-W00", "2026-W5",
        "2026-w48",   "2026-W048",  "1969-W01",   "2026-00",  "2026-13",  "1969-12",
        "2027-02-29", "2100-02-29", "2026-11-31", "2026-1",   "+026-11",  "2026-11-25T00:00:00Z",
        " 2026-W48",  "2026-W48 ",  "",           "2026",     "2026-",    "2026-W",
        "20261125",   "2026/11/25",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cli_period p;
        if (cli_period_parse(bad[i], &p))
            fail_msg("'%s' accepted as %s", bad[i], p.label);
    }
    cli_period p;
    assert_false(cli_period_containing("year", 0, &p));
    assert_false(cli_period_containing("", 0, &p));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_day_1970_to_2400),
        cmocka_unit_test(known_periods),
    };
    return cmocka_run_group_tests(tests, walk, unwalk);
}
