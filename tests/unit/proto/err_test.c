/* err_test.c — proto/err.h: the one table of codes, its texts and names (STYLE §3). */
#include <sodium.h>
#include <string.h>

#include "proto/err.h"
#include "testutil.h"

typedef struct code {
    op_err e;
    int val;
    const char *name, *text;
} code;

/* Built from the same X-macro as the enum, so a code added there is tested here. */
static const code codes[] = {
    {OP_OK, 0, "OK", NULL},
#define CODE_(name, val, text) {OP_E_##name, val, #name, text},
    OP_ERRORS(CODE_)
#undef CODE_
};
#define NCODES (sizeof codes / sizeof codes[0])

static void
test_values_negative_and_distinct(void **state)
{
    (void)state;
    assert_int_equal(OP_OK, 0);
    for (size_t i = 1; i < NCODES; i++) {
        assert_int_equal((int)codes[i].e, codes[i].val);
        assert_true(codes[i].e < 0);
        for (size_t j = 0; j < i; j++)
            assert_int_not_equal((int)codes[i].e, (int)codes[j].e);
    }
}

/* Codes appear in logs and tests: these numbers are frozen (append, never renumber). */
static void
test_values_frozen(void **state)
{
    (void)state;
    assert_int_equal(OP_E_NOMEM, -1);
    assert_int_equal(OP_E_TRUNCATED, -2);
    assert_int_equal(OP_E_MALFORMED, -3);
    assert_int_equal(OP_E_TOOBIG, -4);
    assert_int_equal(OP_E_AUTH, -5);
    assert_int_equal(OP_E_CHAIN, -6);
    assert_int_equal(OP_E_BUSY, -7);
    assert_int_equal(OP_E_CORRUPT, -8);
    assert_int_equal(OP_E_IO, -9);
    assert_int_equal(OP_E_TYPE, -10);
    assert_int_equal(OP_E_NONCANONICAL, -11);
    assert_int_equal(OP_E_TRAILING, -12);
    assert_int_equal(OP_E_COUNT, -13);
    assert_int_equal(OP_E_DEPTH, -14);
    assert_int_equal(OP_E_VERSION, -15);
    assert_int_equal(OP_E_GAP, -16);
    assert_int_equal(OP_E_AUTHOR, -17);
    assert_int_equal(OP_E_FORK, -18);
    assert_int_equal(OP_E_BODYHASH, -19);
    assert_int_equal(OP_E_NOKEY, -20);
    assert_int_equal(OP_E_NOTFOUND, -21);
    assert_int_equal(OP_E_EXISTS, -22);
    assert_int_equal(OP_E_DISK_FULL, -23);
    assert_int_equal(OP_E_INVAL, -24);
    assert_int_equal(OP_E_SEQ, -25);
    assert_true(NCODES >= 26); /* later codes are appended */
    /* codes are dense: -1 .. -(NCODES-1) */
    for (size_t i = 1; i < NCODES; i++)
        assert_int_equal(codes[i].val, -(int)i);
}

static void
test_strerror_every_code(void **state)
{
    (void)state;
    const char *unknown = op_strerror((op_err)-1000);
    assert_non_null(unknown);
    assert_string_equal(op_strerror(OP_OK), "ok");
    for (size_t i = 1; i < NCODES; i++) {
        const char *s = op_strerror(codes[i].e);
        assert_non_null(s);
        assert_true(strlen(s) > 0);
        assert_string_equal(s, codes[i].text);
        assert_string_not_equal(s, unknown);
        for (size_t j = 1; j < i; j++)
            assert_string_not_equal(s, op_strerror(codes[j].e));
    }
}

static void
test_errname_every_code(void **state)
{
    (void)state;
    const char *unknown = op_errname((op_err)-1000);
    assert_non_null(unknown);
    for (size_t i = 0; i < NCODES; i++) {
        const char *n = op_errname(codes[i].e);
        assert_non_null(n);
        assert_string_equal(n, codes[i].name);
        assert_string_not_equal(n, unknown);
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal(n, op_errname(codes[j].e));
    }
    assert_string_equal(op_errname(OP_E_TRUNCATED), "TRUNCATED");
    assert_string_equal(op_errname(OP_E_DISK_FULL), "DISK_FULL");
}

/* Codes outside the table get a generic, non-NULL answer (never a crash, never NULL). */
static void
test_unknown_codes(void **state)
{
    (void)state;
    /* the first value past the table, and some far outside it */
    const int odd[] = {1, 5, -(int)NCODES, -(int)NCODES - 1, -1000, 1000, -2147483647 - 1,
                       2147483647};
    for (size_t i = 0; i < sizeof odd / sizeof odd[0]; i++) {
        assert_non_null(op_strerror((op_err)odd[i]));
        assert_non_null(op_errname((op_err)odd[i]));
        assert_string_equal(op_errname((op_err)odd[i]), "UNKNOWN");
        assert_string_equal(op_strerror((op_err)odd[i]), "unknown error");
    }
}

static OP_MUST_CHECK int
must_check_fn(void)
{
    return 1;
}

static void
test_ignore_macro(void **state)
{
    (void)state;
    OP_IGNORE(must_check_fn()); /* compiles without a warning under -Werror, evaluates once */
    int n = 0;
    OP_IGNORE(n++);
    assert_int_equal(n, 1);
}

int
main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_values_negative_and_distinct),
        cmocka_unit_test(test_values_frozen),
        cmocka_unit_test(test_strerror_every_code),
        cmocka_unit_test(test_errname_every_code),
        cmocka_unit_test(test_unknown_codes),
        cmocka_unit_test(test_ignore_macro),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
