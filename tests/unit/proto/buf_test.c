/* buf_test.c — proto/buf.h: bounded read and write cursors (STYLE §4). */
#include <sodium.h>
#include <string.h>

#include "proto/buf.h"
#include "testutil.h"

static const uint8_t bytes[] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a};

static void
test_rbuf_init_left(void **state)
{
    (void)state;
    proto_rbuf r;
    proto_rbuf_init(&r, bytes, sizeof bytes);
    assert_ptr_equal(r.p, bytes);
    assert_int_equal(r.len, sizeof bytes);
    assert_int_equal(r.off, 0);
    assert_int_equal(proto_rbuf_left(&r), sizeof bytes);

    proto_rbuf_init(&r, NULL, 0);
    assert_int_equal(proto_rbuf_left(&r), 0);
}

static void
test_rbuf_get_u8(void **state)
{
    (void)state;
    proto_rbuf r;
    uint8_t v = 0xee;
    proto_rbuf_init(&r, bytes, 3);
    for (size_t i = 0; i < 3; i++) {
        assert_ok(proto_rbuf_get_u8(&r, &v));
        assert_int_equal(v, bytes[i]);
        assert_int_equal(r.off, i + 1);
    }
    v = 0xee;
    assert_err(proto_rbuf_get_u8(&r, &v), OP_E_TRUNCATED);
    assert_int_equal(v, 0xee); /* out untouched */
    assert_int_equal(r.off, 3);
    assert_int_equal(proto_rbuf_left(&r), 0);

    proto_rbuf_init(&r, NULL, 0);
    assert_err(proto_rbuf_get_u8(&r, &v), OP_E_TRUNCATED);
    assert_int_equal(r.off, 0);
}

static void
test_rbuf_get_be(void **state)
{
    (void)state;
    proto_rbuf r;
    uint64_t v;

    proto_rbuf_init(&r, bytes, sizeof bytes);
    assert_ok(proto_rbuf_get_be(&r, 1, &v));
    assert_int_equal(v, 0x01);
    assert_ok(proto_rbuf_get_be(&r, 2, &v));
    assert_int_equal(v, 0x0203);
    assert_ok(proto_rbuf_get_be(&r, 4, &v));
    assert_int_equal(v, 0x04050607);
    assert_int_equal(r.off, 7);
    /* three bytes left: an 8-byte read fails and does not move */
    v = 42;
    assert_err(proto_rbuf_get_be(&r, 8, &v), OP_E_TRUNCATED);
    assert_int_equal(v, 42);
    assert_int_equal(r.off, 7);
    assert_err(proto_rbuf_get_be(&r, 4, &v), OP_E_TRUNCATED);
    assert_int_equal(r.off, 7);

    proto_rbuf_init(&r, bytes, 8);
    assert_ok(proto_rbuf_get_be(&r, 8, &v));
    assert_true(v == 0x0102030405060708ull);
    assert_int_equal(proto_rbuf_left(&r), 0);

    /* all-ones: no sign extension, no lost bits */
    static const uint8_t ff[8] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    proto_rbuf_init(&r, ff, 8);
    assert_ok(proto_rbuf_get_be(&r, 8, &v));
    assert_true(v == UINT64_MAX);
    proto_rbuf_init(&r, ff, 8);
    assert_ok(proto_rbuf_get_be(&r, 4, &v));
    assert_true(v == 0xffffffffull);
}

static void
test_rbuf_get_be_each_short_length(void **state)
{
    (void)state;
    static const size_t widths[] = {1, 2, 4, 8};
    for (size_t w = 0; w < 4; w++)
        for (size_t have = 0; have < widths[w]; have++) {
            proto_rbuf r;
            uint64_t v = 7;
            proto_rbuf_init(&r, bytes, have);
            assert_err_at(proto_rbuf_get_be(&r, widths[w], &v), OP_E_TRUNCATED, have);
            assert_int_equal(r.off, 0);
            assert_int_equal(v, 7);
        }
}

static void
test_rbuf_get_ref(void **state)
{
    (void)state;
    proto_rbuf r;
    const uint8_t *q = NULL;
    proto_rbuf_init(&r, bytes, sizeof bytes);
    assert_ok(proto_rbuf_get_ref(&r, 4, &q));
    assert_ptr_equal(q, bytes);
    assert_ok(proto_rbuf_get_ref(&r, 0, &q));
    assert_ptr_equal(q, bytes + 4);
    assert_ok(proto_rbuf_get_ref(&r, 6, &q));
    assert_ptr_equal(q, bytes + 4);
    assert_int_equal(proto_rbuf_left(&r), 0);
    q = NULL;
    assert_err(proto_rbuf_get_ref(&r, 1, &q), OP_E_TRUNCATED);
    assert_null(q);
    assert_int_equal(r.off, sizeof bytes);
}

static void
test_rbuf_skip(void **state)
{
    (void)state;
    proto_rbuf r;
    proto_rbuf_init(&r, bytes, sizeof bytes);
    assert_ok(proto_rbuf_skip(&r, 0));
    assert_ok(proto_rbuf_skip(&r, 9));
    assert_int_equal(r.off, 9);
    assert_err(proto_rbuf_skip(&r, 2), OP_E_TRUNCATED);
    assert_int_equal(r.off, 9);
    assert_ok(proto_rbuf_skip(&r, 1));
    assert_int_equal(r.off, 10);
}

/* A length near SIZE_MAX must not wrap the bounds check (off + n > len would). */
static void
test_rbuf_huge_lengths(void **state)
{
    (void)state;
    proto_rbuf r;
    const uint8_t *q = NULL;
    uint64_t v;
    proto_rbuf_init(&r, bytes, sizeof bytes);
    assert_ok(proto_rbuf_skip(&r, 3));
    assert_err(proto_rbuf_skip(&r, SIZE_MAX), OP_E_TRUNCATED);
    assert_err(proto_rbuf_skip(&r, SIZE_MAX - 2), OP_E_TRUNCATED);
    assert_err(proto_rbuf_get_ref(&r, SIZE_MAX, &q), OP_E_TRUNCATED);
    assert_err(proto_rbuf_get_ref(&r, SIZE_MAX - 1, &q), OP_E_TRUNCATED);
    assert_err(proto_rbuf_get_be(&r, SIZE_MAX, &v), OP_E_TRUNCATED);
    assert_int_equal(r.off, 3);
    assert_null(q);
}

/* A read at every (offset, length) pair succeeds exactly when it fits. */
static void
test_rbuf_every_offset(void **state)
{
    (void)state;
    for (size_t len = 0; len <= sizeof bytes; len++)
        for (size_t off = 0; off <= len; off++)
            for (size_t n = 0; n <= sizeof bytes + 1; n++) {
                proto_rbuf r;
                const uint8_t *q = NULL;
                proto_rbuf_init(&r, bytes, len);
                assert_ok(proto_rbuf_skip(&r, off));
                op_err e = proto_rbuf_get_ref(&r, n, &q);
                if (off + n <= len) {
                    assert_ok(e);
                    assert_ptr_equal(q, bytes + off);
                    assert_int_equal(r.off, off + n);
                } else {
                    assert_err(e, OP_E_TRUNCATED);
                    assert_int_equal(r.off, off);
                }
                assert_true(r.off <= r.len);
            }
}

static void
test_wbuf_put(void **state)
{
    (void)state;
    uint8_t out[8];
    proto_wbuf w;
    memset(out, 0xaa, sizeof out);
    proto_wbuf_init(&w, out, 6);
    assert_ptr_equal(w.p, out);
    assert_int_equal(w.len, 0);
    assert_int_equal(w.max, 6);
    assert_err(w.err, OP_OK);

    assert_ok(proto_wbuf_put(&w, "abc", 3));
    assert_ok(proto_wbuf_put(&w, NULL, 0));
    assert_ok(proto_wbuf_put(&w, "de", 2));
    assert_int_equal(w.len, 5);
    /* two more would pass max: nothing is written, the failure sticks */
    assert_err(proto_wbuf_put(&w, "fg", 2), OP_E_TOOBIG);
    assert_int_equal(w.len, 5);
    assert_int_equal(out[5], 0xaa);
    assert_err(w.err, OP_E_TOOBIG);
    /* later puts fail too, even ones that would fit, and even empty ones */
    assert_err(proto_wbuf_put(&w, "f", 1), OP_E_TOOBIG);
    assert_err(proto_wbuf_put(&w, NULL, 0), OP_E_TOOBIG);
    assert_int_equal(w.len, 5);
    assert_int_equal(out[5], 0xaa);
    assert_memory_equal(out, "abcde", 5);
    assert_int_equal(out[6], 0xaa);
}

static void
test_wbuf_exact_fill(void **state)
{
    (void)state;
    uint8_t out[4];
    proto_wbuf w;
    proto_wbuf_init(&w, out, sizeof out);
    assert_ok(proto_wbuf_put(&w, "wxyz", 4));
    assert_int_equal(w.len, 4);
    assert_ok(proto_wbuf_put(&w, NULL, 0)); /* a full buffer still takes nothing */
    assert_err(proto_wbuf_put(&w, "!", 1), OP_E_TOOBIG);
    assert_memory_equal(out, "wxyz", 4);

    proto_wbuf_init(&w, NULL, 0);
    assert_ok(proto_wbuf_put(&w, NULL, 0));
    assert_err(proto_wbuf_put(&w, "x", 1), OP_E_TOOBIG);
    assert_int_equal(w.len, 0);
}

static void
test_wbuf_huge_put(void **state)
{
    (void)state;
    uint8_t out[4];
    proto_wbuf w;
    proto_wbuf_init(&w, out, sizeof out);
    assert_ok(proto_wbuf_put(&w, "ab", 2));
    assert_err(proto_wbuf_put(&w, "x", SIZE_MAX), OP_E_TOOBIG); /* no wrap, nothing read */
    assert_int_equal(w.len, 2);
}

static void
test_wbuf_put_be(void **state)
{
    (void)state;
    uint8_t out[15];
    proto_wbuf w;
    proto_wbuf_init(&w, out, sizeof out);
    assert_ok(proto_wbuf_put_be(&w, 1, 0xab));
    assert_ok(proto_wbuf_put_be(&w, 2, 0x0102));
    assert_ok(proto_wbuf_put_be(&w, 4, 0x03040506));
    assert_ok(proto_wbuf_put_be(&w, 8, 0x0708090a0b0c0d0eull));
    assert_int_equal(w.len, 15);
    static const uint8_t want[15] = {0xab, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
                                     0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e};
    assert_memory_equal(out, want, sizeof want);
    assert_err(proto_wbuf_put_be(&w, 1, 0), OP_E_TOOBIG);

    /* only the low n bytes are written */
    proto_wbuf_init(&w, out, sizeof out);
    assert_ok(proto_wbuf_put_be(&w, 2, 0x112233ull));
    assert_int_equal(out[0], 0x22);
    assert_int_equal(out[1], 0x33);
}

/* What put_be writes, get_be reads back, for each width and some edge values. */
static void
test_be_round_trip(void **state)
{
    (void)state;
    static const uint64_t vals[] = {0, 1, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000, 0xffffffffull,
                                    0x100000000ull, UINT64_MAX};
    static const size_t widths[] = {1, 2, 4, 8};
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++)
        for (size_t k = 0; k < 4; k++) {
            size_t n = widths[k];
            uint64_t mask = n == 8 ? UINT64_MAX : (1ull << (8 * n)) - 1;
            uint8_t out[8];
            proto_wbuf w;
            proto_rbuf r;
            uint64_t v;
            proto_wbuf_init(&w, out, n);
            assert_ok(proto_wbuf_put_be(&w, n, vals[i]));
            proto_rbuf_init(&r, out, w.len);
            assert_ok(proto_rbuf_get_be(&r, n, &v));
            assert_true(v == (vals[i] & mask));
            assert_int_equal(proto_rbuf_left(&r), 0);
        }
}

/* put_be fails as a whole when too few bytes are left, and sticks. */
static void
test_wbuf_put_be_short(void **state)
{
    (void)state;
    uint8_t out[8];
    for (size_t cap = 0; cap < 8; cap++) {
        proto_wbuf w;
        memset(out, 0, sizeof out);
        proto_wbuf_init(&w, out, cap);
        assert_err_at(proto_wbuf_put_be(&w, 8, UINT64_MAX), OP_E_TOOBIG, cap);
        assert_int_equal(w.len, 0);
        for (size_t i = 0; i < sizeof out; i++)
            assert_int_equal(out[i], 0);
        assert_err(w.err, OP_E_TOOBIG);
    }
}

int
main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rbuf_init_left),
        cmocka_unit_test(test_rbuf_get_u8),
        cmocka_unit_test(test_rbuf_get_be),
        cmocka_unit_test(test_rbuf_get_be_each_short_length),
        cmocka_unit_test(test_rbuf_get_ref),
        cmocka_unit_test(test_rbuf_skip),
        cmocka_unit_test(test_rbuf_huge_lengths),
        cmocka_unit_test(test_rbuf_every_offset),
        cmocka_unit_test(test_wbuf_put),
        cmocka_unit_test(test_wbuf_exact_fill),
        cmocka_unit_test(test_wbuf_huge_put),
        cmocka_unit_test(test_wbuf_put_be),
        cmocka_unit_test(test_be_round_trip),
        cmocka_unit_test(test_wbuf_put_be_short),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
