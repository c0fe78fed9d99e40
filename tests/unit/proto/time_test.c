/*
 * time_test.c — proto/time.h: ISO 8601 UTC times (OUTPOST_NOW), OUTPOST_CLOCK_OFFSET and the
 * shifted wall clock (TESTING B7, threat T6).
 * Proves: every calendar day from 1970 to 2400 maps to the same instant as libc's timegm();
 * fixed instants (checked with Python's datetime) with and without fractions, "Z" and
 * "+00:00"; each malformed or impossible time is refused rather than misread; every malformed
 * offset is refused; the largest allowed ones in either direction parse and cannot overflow;
 * a shift below the epoch stops at 0.
 * Run: ctest -R unit.proto.time (no long mode).
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "proto/time.h"
#include "testutil.h"

static void
test_every_day_matches_timegm(void **state)
{
    (void)state;
    struct tm tm = {.tm_year = 70, .tm_mon = 0, .tm_mday = 1, .tm_hour = 12};
    char s[96];
    uint64_t ms;
    size_t days = 0;
    for (;;) {
        time_t t = timegm(&tm); /* normalises tm: the day after the 31st is the 1st */
        if (tm.tm_year + 1900 > 2400)
            break;
        snprintf(s, sizeof s, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
        if (!proto_time_parse(s, &ms))
            fail_msg("%s refused", s);
        if (ms != (uint64_t)t * 1000)
            fail_msg("%s gave %llu, timegm %lld", s, (unsigned long long)ms, (long long)t);
        s[10] = '\0'; /* the bare date is its midnight */
        assert_true(proto_time_parse(s, &ms));
        assert_int_equal(ms, ((uint64_t)t - (uint64_t)t % 86400) * 1000);
        tm.tm_mday++;
        tm.tm_min = (tm.tm_min + 7) % 60;
        tm.tm_sec = (tm.tm_sec + 13) % 60;
        days++;
    }
    assert_true(days > 157000);
}

static void
test_fixed_instants(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        uint64_t ms;
    } ok[] = {
        {"1970-01-01T00:00:00Z", 0},
        {"1970-01-01", 0},
        {"2025-11-24T16:00:00Z", 1764000000000ull},
        {"2025-11-24 16:00:00Z", 1764000000000ull},
        {"2025-11-24T16:00:00+00:00", 1764000000000ull},
        {"2025-11-24T16:00:00.5Z", 1764000000500ull},
        {"2025-11-24T16:00:00.05Z", 1764000000050ull},
        {"2025-11-24T16:00:00.123Z", 1764000000123ull},
        {"2025-11-24T16:00:00.123999Z", 1764000000123ull}, /* past ms: cut, not rounded */
        {"2000-02-29T23:59:59Z", 951868799000ull},
        {"2000-02-29T23:59:60Z", 951868800000ull}, /* a leap second: the next instant */
        {"2026-11-25T10:00:00Z", 1795600800000ull},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        uint64_t ms = 1;
        if (!proto_time_parse(ok[i].s, &ms))
            fail_msg("%s refused", ok[i].s);
        if (ms != ok[i].ms)
            fail_msg("%s gave %llu, want %llu", ok[i].s, (unsigned long long)ms,
                     (unsigned long long)ok[i].ms);
    }
}

static void
test_malformed_refused(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "2025-11-2",  /* short */
        "2025/11/24", /* separators */
        "1969-12-31", /* before 1970 */
        "2025-13-01",
        "2025-00-10",
        "2025-11-00",
        "2025-11-31",
        "2023-02-29",
        "2100-02-29",           /* not leap years */
        "2025-11-24T",          /* nothing after T */
        "2025-11-24X16:00:00Z", /* not T or space */
        "2025-11-24T16:00Z",    /* no seconds */
        "2025-11-24T16-00-00Z", /* separators */
        "2025-11-24T1a:00:00Z",
        "2025-11-24T16:0a:00Z",
        "2025-11-24T16:00:0aZ",
        "2025-11-24T24:00:00Z",
        "2025-11-24T23:60:00Z",
        "2025-11-24T23:59:61Z",
        "2025-11-24T16:00:00",       /* no zone: local time is never meant */
        "2025-11-24T16:00:00+01:00", /* only UTC */
        "2025-11-24T16:00:00z",
        "2025-11-24T16:00:00.Z", /* a point without digits */
        "2025-11-24T16:00:00.5", /* fraction without zone */
        "2025-11-24T16:00:00Z ", /* trailing byte */
        "2025-11-24 ",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint64_t ms = 42;
        if (proto_time_parse(bad[i], &ms))
            fail_msg("'%s' accepted as %llu", bad[i], (unsigned long long)ms);
        assert_int_equal(ms, 42); /* untouched on refusal */
    }
}

static void
test_parse_times(void **state)
{
    (void)state;
    uint64_t ms;
    assert_true(proto_time_parse("2026-11-25T10:00:00Z", &ms));
    assert_int_equal(ms, 1795600800000ull);
    assert_true(proto_time_parse("2026-11-25T10:00:00.5Z", &ms));
    assert_int_equal(ms, 1795600800500ull);
    assert_true(proto_time_parse("2026-11-25T10:00:00+00:00", &ms));
    assert_int_equal(ms, 1795600800000ull);
    assert_true(proto_time_parse("1970-01-01", &ms));
    assert_int_equal(ms, 0);
    static const char *const bad[] = {"",
                                      "2026-11-25T",
                                      "2026-13-01",
                                      "2026-02-29",
                                      "2026-11-25T24:00:00Z",
                                      "2026-11-25T10:00:00",
                                      "2026-11-25T10:00:00+01:00",
                                      "2026-11-25T10:00:00.Z"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_false(proto_time_parse(bad[i], &ms));
}

static void
test_offsets(void **state)
{
    (void)state;
    int64_t ms = 12345;
    static const struct {
        const char *s;
        int64_t ms;
    } good[] = {
        {"0", 0},
        {"+0", 0},
        {"-0", 0},
        {"600", 600000},
        {"+600", 600000},
        {"-600", -600000},
        {"+86400", 86400000},
        {"-86400", -86400000},
        {"-288", -288000},
        {"0000288", 288000},
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        assert_true(proto_time_offset_parse(good[i].s, &ms));
        assert_int_equal(ms, good[i].ms);
    }
    char s[64];
    snprintf(s, sizeof s, "%lld", PROTO_TIME_OFFSET_MAX_S);
    assert_true(proto_time_offset_parse(s, &ms));
    assert_int_equal(ms, PROTO_TIME_OFFSET_MAX_S * 1000);
    snprintf(s, sizeof s, "-%lld", PROTO_TIME_OFFSET_MAX_S);
    assert_true(proto_time_offset_parse(s, &ms));
    assert_int_equal(ms, -PROTO_TIME_OFFSET_MAX_S * 1000);
    ms = 777;
    static const char *const bad[] = {
        "",
        "+",
        "-",
        "--1",
        "+-1",
        " 1",
        "1 ",
        "1s",
        "10m",
        "1.5",
        "0x10",
        "1e3",
        "\t5",
        "99999999999999999999999999",
        "-99999999999999999999999999",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_false(proto_time_offset_parse(bad[i], &ms));
        assert_int_equal(ms, 777); /* untouched on failure */
    }
    snprintf(s, sizeof s, "%lld", PROTO_TIME_OFFSET_MAX_S + 1);
    assert_false(proto_time_offset_parse(s, &ms));
    snprintf(s, sizeof s, "-%lld", PROTO_TIME_OFFSET_MAX_S + 1);
    assert_false(proto_time_offset_parse(s, &ms));
}

static void
test_shift(void **state)
{
    (void)state;
    uint64_t t = 1795600800000ull;
    assert_int_equal(proto_time_shift(t, 0), t);
    assert_int_equal(proto_time_shift(t, 600000), t + 600000);
    assert_int_equal(proto_time_shift(t, -86400000), t - 86400000);
    assert_int_equal(proto_time_shift(1000, -1000), 0);
    assert_int_equal(proto_time_shift(1000, -1001), 0); /* before 1970: clamped */
    assert_int_equal(proto_time_shift(0, -PROTO_TIME_OFFSET_MAX_S * 1000), 0);
    /* The tolerances keep their documented values and order. */
    assert_int_equal(PROTO_TIME_SKEW_WARN_MS, 300000);
    assert_int_equal(PROTO_TIME_TOLERANCE_MS, 600000);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_day_matches_timegm),
        cmocka_unit_test(test_fixed_instants),
        cmocka_unit_test(test_malformed_refused),
        cmocka_unit_test(test_parse_times),
        cmocka_unit_test(test_offsets),
        cmocka_unit_test(test_shift),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
