/*
 * time_test.c — proto/time.h: ISO 8601 UTC times (OUTPOST_NOW), OUTPOST_CLOCK_OFFSET and the
 * shifted wall clock (TESTING B7, threat T6). Every malformed offset is refused; the largest
 * allowed ones in either direction parse and cannot overflow; a shift below the epoch stops
 * at 0.
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "proto/time.h"
#include "testutil.h"

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
        cmocka_unit_test(test_parse_times),
        cmocka_unit_test(test_offsets),
        cmocka_unit_test(test_shift),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
