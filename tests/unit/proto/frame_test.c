/* frame_test.c — secretstream frames (proto/frame.h): round trip, and every tampering of a
 * recorded stream detected: bit flips, dropped, duplicated and reordered frames, a cut stream,
 * an oversized length prefix. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "proto/frame.h"

#define NFRAMES 5
typedef struct rec {
    uint8_t key[32], header[PROTO_FRAME_HEADER_BYTES];
    uint8_t frames[NFRAMES][64 + PROTO_FRAME_OVERHEAD];
    size_t lens[NFRAMES];
} rec;

static void
record(rec *r)
{
    proto_stream tx;
    randombytes_buf(r->key, sizeof r->key);
    assert_int_equal(proto_stream_push_init(&tx, r->key, r->header), OP_OK);
    for (int i = 0; i < NFRAMES; i++) {
        uint8_t msg[64];
        memset(msg, 'a' + i, sizeof msg);
        assert_int_equal(proto_stream_seal(&tx, msg, 10 + (size_t)i, i == NFRAMES - 1,
                                           r->frames[i], sizeof r->frames[i], &r->lens[i]),
                         OP_OK);
    }
    /* nothing after the final frame */
    size_t n;
    assert_int_equal(proto_stream_seal(&tx, (const uint8_t *)"x", 1, false, r->frames[0],
                                       sizeof r->frames[0], &n),
                     OP_E_INVAL);
}

/* Replays frames in the given order; returns the first error and the index where it came. */
static op_err
replay(const rec *r, const int *order, int n, int *at, bool *ended)
{
    proto_stream rx;
    uint8_t out[PROTO_FRAME_MAX_BYTES];
    size_t len;
    bool final = false;
    *ended = false;
    assert_int_equal(proto_stream_pull_init(&rx, r->key, r->header), OP_OK);
    for (int i = 0; i < n; i++) {
        op_err e = proto_stream_open(&rx, r->frames[order[i]], r->lens[order[i]], out, sizeof out,
                                     &len, &final);
        if (e != OP_OK) {
            *at = i;
            return e;
        }
        assert_int_equal(len, 10 + (size_t)order[i]);
        assert_int_equal(out[0], 'a' + order[i]);
        *ended = final;
    }
    return OP_OK;
}

static void
test_round_trip(void **state)
{
    rec r;
    int order[] = {0, 1, 2, 3, 4}, at;
    bool ended;
    (void)state;
    record(&r);
    assert_int_equal(replay(&r, order, 5, &at, &ended), OP_OK);
    assert_true(ended);
}

static void
test_cut_stream_has_no_final(void **state)
{
    rec r;
    int order[] = {0, 1, 2}, at;
    bool ended;
    (void)state;
    record(&r);
    assert_int_equal(replay(&r, order, 3, &at, &ended), OP_OK);
    assert_false(ended); /* the reader reports OP_E_TRUNCATED on EOF without the final tag */
}

static void
test_drop_duplicate_reorder(void **state)
{
    rec r;
    int drop[] = {0, 2}, dup[] = {0, 1, 1}, swap[] = {0, 2, 1}, at;
    bool ended;
    (void)state;
    record(&r);
    assert_int_equal(replay(&r, drop, 2, &at, &ended), OP_E_AUTH);
    assert_int_equal(at, 1);
    assert_int_equal(replay(&r, dup, 3, &at, &ended), OP_E_AUTH);
    assert_int_equal(at, 2);
    assert_int_equal(replay(&r, swap, 3, &at, &ended), OP_E_AUTH);
    assert_int_equal(at, 1);
}

static void
test_every_bit_flip(void **state)
{
    rec r;
    (void)state;
    record(&r);
    for (int f = 0; f < NFRAMES; f++)
        for (size_t bit = 0; bit < r.lens[f] * 8; bit++) {
            rec t = r;
            int order[] = {0, 1, 2, 3, 4}, at;
            bool ended;
            t.frames[f][bit / 8] ^= (uint8_t)(1u << (bit % 8));
            op_err e = replay(&t, order, 5, &at, &ended);
            assert_int_not_equal(e, OP_OK);
            assert_int_equal(at, f);
        }
}

static void
test_peek(void **state)
{
    uint8_t buf[8] = {0, 0, 0, 17, 1, 2, 3, 4};
    size_t n;
    (void)state;
    assert_int_equal(proto_frame_peek(buf, 3, &n), OP_E_TRUNCATED);
    assert_int_equal(proto_frame_peek(buf, 8, &n), OP_E_TRUNCATED);
    buf[3] = 16; /* shorter than the tag */
    assert_int_equal(proto_frame_peek(buf, 8, &n), OP_E_MALFORMED);
    uint32_t big = PROTO_FRAME_MAX_BYTES + 17 + 1;
    buf[0] = (uint8_t)(big >> 24);
    buf[1] = (uint8_t)(big >> 16);
    buf[2] = (uint8_t)(big >> 8);
    buf[3] = (uint8_t)big;
    assert_int_equal(proto_frame_peek(buf, 8, &n), OP_E_TOOBIG);
}

static void
test_limits(void **state)
{
    static uint8_t big[PROTO_FRAME_MAX_BYTES + 1], out[PROTO_FRAME_MAX_BYTES + 64];
    proto_stream tx, rx;
    uint8_t key[32] = {1}, header[PROTO_FRAME_HEADER_BYTES];
    size_t n, len;
    bool final;
    (void)state;
    assert_int_equal(proto_stream_push_init(&tx, key, header), OP_OK);
    assert_int_equal(proto_stream_seal(&tx, big, sizeof big, false, out, sizeof out, &n),
                     OP_E_TOOBIG);
    assert_int_equal(proto_stream_seal(&tx, big, PROTO_FRAME_MAX_BYTES, false, out, sizeof out,
                                       &n), OP_OK);
    assert_int_equal(proto_stream_pull_init(&rx, key, header), OP_OK);
    assert_int_equal(proto_stream_open(&rx, out, n + 1, big, sizeof big, &len, &final),
                     OP_E_TRAILING);
    assert_int_equal(proto_stream_open(&rx, out, n, big, sizeof big, &len, &final), OP_OK);
    assert_int_equal(len, PROTO_FRAME_MAX_BYTES);
}

/* C17: the one libsodium result a peer holding the key can steer: a frame sealed with a tag we
 * never send (PUSH, REKEY) is refused (MALFORMED), and so is anything after the final frame. */
static void
test_foreign_tags_refused(void **state)
{
    static const unsigned char tags[] = {crypto_secretstream_xchacha20poly1305_TAG_PUSH,
                                         crypto_secretstream_xchacha20poly1305_TAG_REKEY};
    (void)state;
    for (size_t t = 0; t < sizeof tags; t++) {
        crypto_secretstream_xchacha20poly1305_state raw;
        proto_stream rx;
        uint8_t key[32], header[PROTO_FRAME_HEADER_BYTES], frame[4 + 3 + 17], out[64];
        size_t len;
        bool final;
        randombytes_buf(key, sizeof key);
        assert_int_equal(crypto_secretstream_xchacha20poly1305_init_push(&raw, header, key), 0);
        frame[0] = frame[1] = frame[2] = 0;
        frame[3] = 3 + 17;
        assert_int_equal(crypto_secretstream_xchacha20poly1305_push(
                             &raw, frame + 4, NULL, (const uint8_t *)"abc", 3, NULL, 0, tags[t]),
                         0);
        assert_int_equal(proto_stream_pull_init(&rx, key, header), OP_OK);
        assert_int_equal(proto_stream_open(&rx, frame, sizeof frame, out, sizeof out, &len, &final),
                         OP_E_MALFORMED);
        assert_false(final);
    }
    rec r;
    int order[] = {0, 1, 2, 3, 4, 4}, at;
    bool ended;
    record(&r);
    assert_int_equal(replay(&r, order, 6, &at, &ended), OP_E_INVAL);
    assert_int_equal(at, 5);
}

/* The receiver refuses: any frame after the final one; an output buffer too small for the
 * message (without consuming the frame, so a retry with room works); a frame that
 * authenticates but carries a secretstream tag we never send (PUSH, REKEY). */
static void
test_open_refusals(void **state)
{
    rec r;
    proto_stream rx;
    uint8_t out[PROTO_FRAME_MAX_BYTES];
    size_t len;
    bool final;
    (void)state;
    record(&r);
    assert_int_equal(proto_stream_pull_init(&rx, r.key, r.header), OP_OK);
    assert_int_equal(proto_stream_open(&rx, r.frames[0], r.lens[0], out, 9, &len, &final),
                     OP_E_TOOBIG); /* frame 0 holds 10 bytes */
    assert_int_equal(len, 0);
    for (int i = 0; i < NFRAMES; i++) {
        assert_int_equal(proto_stream_open(&rx, r.frames[i], r.lens[i], out, 10 + (size_t)i, &len,
                                           &final),
                         OP_OK);
        assert_int_equal(final, i == NFRAMES - 1);
    }
    assert_int_equal(proto_stream_open(&rx, r.frames[0], r.lens[0], out, sizeof out, &len, &final),
                     OP_E_INVAL);
    assert_false(final);

    static const unsigned char tags[] = {crypto_secretstream_xchacha20poly1305_TAG_PUSH,
                                         crypto_secretstream_xchacha20poly1305_TAG_REKEY};
    for (size_t t = 0; t < sizeof tags; t++) {
        crypto_secretstream_xchacha20poly1305_state st;
        uint8_t key[32], header[PROTO_FRAME_HEADER_BYTES], frame[4 + 3 + 64];
        randombytes_buf(key, sizeof key);
        assert_int_equal(crypto_secretstream_xchacha20poly1305_init_push(&st, header, key), 0);
        size_t clen = 3 + crypto_secretstream_xchacha20poly1305_ABYTES;
        frame[0] = 0;
        frame[1] = 0;
        frame[2] = (uint8_t)(clen >> 8);
        frame[3] = (uint8_t)clen;
        assert_int_equal(crypto_secretstream_xchacha20poly1305_push(
                             &st, frame + 4, NULL, (const uint8_t *)"abc", 3, NULL, 0, tags[t]),
                         0);
        assert_int_equal(proto_stream_pull_init(&rx, key, header), OP_OK);
        assert_int_equal(proto_stream_open(&rx, frame, 4 + clen, out, sizeof out, &len, &final),
                         OP_E_MALFORMED);
        assert_int_equal(len, 0);
        assert_false(final);
    }
}

int
main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_cut_stream_has_no_final),
        cmocka_unit_test(test_drop_duplicate_reorder),
        cmocka_unit_test(test_every_bit_flip),
        cmocka_unit_test(test_peek),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_foreign_tags_refused),
        cmocka_unit_test(test_open_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
