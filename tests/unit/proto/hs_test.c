/* hs_test.c — the handshake of proto/hs.h: completes between two honest parties with matching
 * keys, and fails for a stranger, a tampered or replayed message, a swapped key (MITM), a
 * downgraded version, an unexpected peer, and a low-order (all-zero) ephemeral; a write into a
 * short buffer is refused without losing the step. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "proto/hs.h"

typedef struct party {
    uint8_t pk[32], sk[64];
} party;

static uint8_t netkey[32];
static party alice, bob, mallory;

static int
setup(void **state)
{
    (void)state;
    randombytes_buf(netkey, sizeof netkey);
    crypto_sign_keypair(alice.pk, alice.sk);
    crypto_sign_keypair(bob.pk, bob.sk);
    crypto_sign_keypair(mallory.pk, mallory.sk);
    return 0;
}

typedef struct wire {
    uint8_t m1[PROTO_HS_MSG1_BYTES], m2[PROTO_HS_MSG2_BYTES], m3[PROTO_HS_MSG3_BYTES];
} wire;

/* Runs a whole handshake; tamper (may be NULL) may change each message in flight.
 * Returns the first failing code, or OP_OK with both results filled. */
static op_err
run(const uint8_t *nk_i, const uint8_t *nk_r, const party *i, const party *r,
    const uint8_t *expect, void (*tamper)(int msg, uint8_t *p, size_t n), wire *w,
    proto_hs_result *ri, proto_hs_result *rr)
{
    proto_hs *hi = NULL, *hr = NULL;
    wire local;
    size_t n;
    op_err e;
    if (!w)
        w = &local;
    assert_int_equal(proto_hs_new(true, nk_i, i->sk, expect, &hi), OP_OK);
    assert_int_equal(proto_hs_new(false, nk_r, r->sk, NULL, &hr), OP_OK);
    assert_int_equal(proto_hs_want(hr), PROTO_HS_MSG1_BYTES);
    assert_int_equal(proto_hs_write(hi, w->m1, sizeof w->m1, &n), OP_OK);
    assert_int_equal(n, PROTO_HS_MSG1_BYTES);
    if (tamper)
        tamper(1, w->m1, n);
    if ((e = proto_hs_read(hr, w->m1, n)) != OP_OK)
        goto out;
    assert_int_equal(proto_hs_write(hr, w->m2, sizeof w->m2, &n), OP_OK);
    if (tamper)
        tamper(2, w->m2, n);
    if ((e = proto_hs_read(hi, w->m2, n)) != OP_OK)
        goto out;
    assert_int_equal(proto_hs_write(hi, w->m3, sizeof w->m3, &n), OP_OK);
    if (tamper)
        tamper(3, w->m3, n);
    if ((e = proto_hs_read(hr, w->m3, n)) != OP_OK)
        goto out;
    assert_true(proto_hs_done(hi) && proto_hs_done(hr));
    assert_int_equal(proto_hs_get(hi, ri), OP_OK);
    assert_int_equal(proto_hs_get(hr, rr), OP_OK);
out:
    proto_hs_free(hi);
    proto_hs_free(hr);
    return e;
}

static void
test_honest(void **state)
{
    proto_hs_result ri, rr;
    (void)state;
    assert_int_equal(run(netkey, netkey, &alice, &bob, bob.pk, NULL, NULL, &ri, &rr), OP_OK);
    assert_memory_equal(ri.peer, bob.pk, 32);
    assert_memory_equal(rr.peer, alice.pk, 32);
    assert_memory_equal(ri.tx, rr.rx, 32);
    assert_memory_equal(ri.rx, rr.tx, 32);
    assert_memory_not_equal(ri.tx, ri.rx, 32);
}

static void
test_fresh_keys_each_time(void **state)
{
    proto_hs_result a1, b1, a2, b2;
    wire w1, w2;
    (void)state;
    assert_int_equal(run(netkey, netkey, &alice, &bob, NULL, NULL, &w1, &a1, &b1), OP_OK);
    assert_int_equal(run(netkey, netkey, &alice, &bob, NULL, NULL, &w2, &a2, &b2), OP_OK);
    assert_memory_not_equal(w1.m1 + 1, w2.m1 + 1, 32); /* ephemeral keys */
    assert_memory_not_equal(a1.tx, a2.tx, 32);
}

static void
test_wrong_network_key(void **state)
{
    uint8_t other[32];
    proto_hs_result ri, rr;
    (void)state;
    randombytes_buf(other, sizeof other);
    assert_int_equal(run(other, netkey, &alice, &bob, NULL, NULL, NULL, &ri, &rr),
                     OP_E_HANDSHAKE);
}

static void
test_no_static_key_in_clear(void **state)
{
    wire w;
    proto_hs_result ri, rr;
    (void)state;
    assert_int_equal(run(netkey, netkey, &alice, &bob, NULL, NULL, &w, &ri, &rr), OP_OK);
    const uint8_t *msgs[] = {w.m1, w.m2, w.m3};
    size_t lens[] = {sizeof w.m1, sizeof w.m2, sizeof w.m3};
    for (int m = 0; m < 3; m++)
        for (size_t o = 0; o + 32 <= lens[m]; o++) {
            assert_memory_not_equal(msgs[m] + o, alice.pk, 32);
            assert_memory_not_equal(msgs[m] + o, bob.pk, 32);
        }
}

static int flip_msg, flip_bit;
static void
flip(int msg, uint8_t *p, size_t n)
{
    if (msg == flip_msg && (size_t)flip_bit / 8 < n)
        p[flip_bit / 8] ^= (uint8_t)(1u << (flip_bit % 8));
}

static void
test_every_bit_flip_fails(void **state)
{
    proto_hs_result ri, rr;
    (void)state;
    size_t lens[] = {0, PROTO_HS_MSG1_BYTES, PROTO_HS_MSG2_BYTES, PROTO_HS_MSG3_BYTES};
    for (flip_msg = 1; flip_msg <= 3; flip_msg++)
        for (flip_bit = 0; flip_bit < (int)lens[flip_msg] * 8; flip_bit++)
            assert_int_equal(run(netkey, netkey, &alice, &bob, NULL, flip, NULL, &ri, &rr),
                             OP_E_HANDSHAKE);
}

static void
test_downgrade(void **state)
{
    proto_hs_result ri, rr;
    (void)state;
    flip_msg = 1;
    flip_bit = 1; /* version 1 -> 3 */
    assert_int_equal(run(netkey, netkey, &alice, &bob, NULL, flip, NULL, &ri, &rr),
                     OP_E_HANDSHAKE);
}

static void
test_unexpected_peer(void **state)
{
    proto_hs_result ri, rr;
    (void)state;
    /* Alice dials expecting Bob; Mallory, who holds the network key, answers. */
    assert_int_equal(run(netkey, netkey, &alice, &mallory, bob.pk, NULL, NULL, &ri, &rr),
                     OP_E_HANDSHAKE);
}

static void
test_replay(void **state)
{
    wire w;
    proto_hs_result ri, rr;
    proto_hs *hr;
    size_t n;
    uint8_t m2[PROTO_HS_MSG2_BYTES];
    (void)state;
    assert_int_equal(run(netkey, netkey, &alice, &bob, NULL, NULL, &w, &ri, &rr), OP_OK);
    /* A recorded message 1 and 3 replayed to Bob: his fresh ephemeral key makes 3 fail. */
    assert_int_equal(proto_hs_new(false, netkey, bob.sk, NULL, &hr), OP_OK);
    assert_int_equal(proto_hs_read(hr, w.m1, sizeof w.m1), OP_OK);
    assert_int_equal(proto_hs_write(hr, m2, sizeof m2, &n), OP_OK);
    assert_int_equal(proto_hs_read(hr, w.m3, sizeof w.m3), OP_E_HANDSHAKE);
    assert_false(proto_hs_done(hr));
    assert_int_equal(proto_hs_get(hr, &rr), OP_E_HANDSHAKE);
    proto_hs_free(hr);
}

/* A man in the middle with the network key relays, substituting his own ephemeral keys:
 * each side's signature covers ephemerals the other never saw. */
static void
test_mitm_ephemeral_swap(void **state)
{
    (void)state;
    for (int trial = 0; trial < 100; trial++) {
        proto_hs *hi, *hr, *mi, *mr;
        uint8_t m1[PROTO_HS_MSG1_BYTES], x1[PROTO_HS_MSG1_BYTES], m2[PROTO_HS_MSG2_BYTES],
            x2[PROTO_HS_MSG2_BYTES], m3[PROTO_HS_MSG3_BYTES];
        size_t n;
        assert_int_equal(proto_hs_new(true, netkey, alice.sk, NULL, &hi), OP_OK);
        assert_int_equal(proto_hs_new(false, netkey, bob.sk, NULL, &hr), OP_OK);
        /* Mallory talks to each side with her own key pair. */
        assert_int_equal(proto_hs_new(false, netkey, mallory.sk, NULL, &mr), OP_OK);
        assert_int_equal(proto_hs_new(true, netkey, mallory.sk, NULL, &mi), OP_OK);
        assert_int_equal(proto_hs_write(hi, m1, sizeof m1, &n), OP_OK);
        assert_int_equal(proto_hs_read(mr, m1, n), OP_OK);
        assert_int_equal(proto_hs_write(mi, x1, sizeof x1, &n), OP_OK);
        assert_int_equal(proto_hs_read(hr, x1, n), OP_OK);
        assert_int_equal(proto_hs_write(hr, m2, sizeof m2, &n), OP_OK);
        /* Bob's message 2 forwarded to Alice as is: it answers Mallory's ephemeral. */
        assert_int_equal(proto_hs_read(hi, m2, n), OP_E_HANDSHAKE);
        /* Or Mallory's own message 2 to Alice: Alice then knows she talks to Mallory, not
         * Bob, and Bob never completes with Alice's identity. */
        assert_int_equal(proto_hs_write(mr, x2, sizeof x2, &n), OP_OK);
        proto_hs_free(hi);
        assert_int_equal(proto_hs_new(true, netkey, alice.sk, bob.pk, &hi), OP_OK);
        assert_int_equal(proto_hs_write(hi, m1, sizeof m1, &n), OP_OK);
        assert_int_equal(proto_hs_read(hi, x2, sizeof x2), OP_E_HANDSHAKE);
        (void)m3;
        proto_hs_free(hi);
        proto_hs_free(hr);
        proto_hs_free(mi);
        proto_hs_free(mr);
    }
}

static void
test_wrong_sizes_and_order(void **state)
{
    proto_hs *h;
    uint8_t buf[256] = {0};
    size_t n;
    (void)state;
    assert_int_equal(proto_hs_new(false, netkey, bob.sk, NULL, &h), OP_OK);
    assert_int_equal(proto_hs_write(h, buf, sizeof buf, &n), OP_E_HANDSHAKE); /* must read */
    assert_int_equal(proto_hs_read(h, buf, PROTO_HS_MSG1_BYTES - 1), OP_E_HANDSHAKE);
    assert_int_equal(proto_hs_read(h, buf, PROTO_HS_MSG1_BYTES), OP_E_HANDSHAKE); /* dead */
    proto_hs_free(h);
    assert_int_equal(proto_hs_new(true, netkey, alice.sk, NULL, &h), OP_OK);
    assert_int_equal(proto_hs_write(h, buf, PROTO_HS_MSG1_BYTES - 1, &n), OP_E_TOOBIG);
    proto_hs_free(h);
}

/* A write into a buffer one byte short is refused and leaves the step where it was: the same
 * write with room goes on, and the handshake completes with matching keys. */
static void
test_short_buffers_then_retry(void **state)
{
    proto_hs *hi, *hr;
    wire w;
    size_t n;
    proto_hs_result ri, rr;
    (void)state;
    assert_int_equal(proto_hs_new(true, netkey, alice.sk, bob.pk, &hi), OP_OK);
    assert_int_equal(proto_hs_new(false, netkey, bob.sk, NULL, &hr), OP_OK);
    assert_int_equal(proto_hs_write(hi, w.m1, sizeof w.m1 - 1, &n), OP_E_TOOBIG);
    assert_int_equal(n, 0);
    assert_int_equal(proto_hs_write(hi, w.m1, sizeof w.m1, &n), OP_OK);
    assert_int_equal(proto_hs_read(hr, w.m1, n), OP_OK);
    assert_int_equal(proto_hs_write(hr, w.m2, sizeof w.m2 - 1, &n), OP_E_TOOBIG);
    assert_int_equal(n, 0);
    assert_int_equal(proto_hs_write(hr, w.m2, sizeof w.m2, &n), OP_OK);
    assert_int_equal(proto_hs_read(hi, w.m2, n), OP_OK);
    assert_int_equal(proto_hs_write(hi, w.m3, sizeof w.m3 - 1, &n), OP_E_TOOBIG);
    assert_int_equal(n, 0);
    assert_int_equal(proto_hs_write(hi, w.m3, sizeof w.m3, &n), OP_OK);
    assert_int_equal(proto_hs_read(hr, w.m3, n), OP_OK);
    assert_int_equal(proto_hs_get(hi, &ri), OP_OK);
    assert_int_equal(proto_hs_get(hr, &rr), OP_OK);
    assert_memory_equal(ri.tx, rr.rx, 32);
    assert_memory_equal(ri.rx, rr.tx, 32);
    /* done: nothing more to write or read */
    assert_int_equal(proto_hs_write(hi, w.m1, sizeof w.m1, &n), OP_E_HANDSHAKE);
    assert_int_equal(proto_hs_read(hr, w.m3, sizeof w.m3), OP_E_HANDSHAKE);
    proto_hs_free(hi);
    proto_hs_free(hr);
}

/* An insider (who holds the network key) sends the all-zero X25519 point as its ephemeral, so
 * that the shared secret would be known to anyone: each side refuses it, as responder in
 * message 1 and as initiator in message 2. */
static void
test_low_order_ephemeral_refused(void **state)
{
    proto_hs *h;
    wire w;
    size_t n;
    uint8_t mac_in[64];
    (void)state;
    assert_int_equal(proto_hs_new(false, netkey, bob.sk, NULL, &h), OP_OK);
    memset(w.m1, 0, sizeof w.m1);
    w.m1[0] = PROTO_HS_VERSION;
    crypto_auth(w.m1 + 33, w.m1, 33, netkey); /* a valid HMAC: only the point is wrong */
    assert_int_equal(proto_hs_read(h, w.m1, sizeof w.m1), OP_E_HANDSHAKE);
    assert_int_equal(proto_hs_write(h, w.m2, sizeof w.m2, &n), OP_E_HANDSHAKE); /* says nothing */
    proto_hs_free(h);

    assert_int_equal(proto_hs_new(true, netkey, alice.sk, NULL, &h), OP_OK);
    assert_int_equal(proto_hs_write(h, w.m1, sizeof w.m1, &n), OP_OK);
    memset(w.m2, 0, sizeof w.m2);
    memcpy(mac_in + 32, w.m1 + 1, 32); /* eR (zero) || eI */
    memset(mac_in, 0, 32);
    crypto_auth(w.m2 + 32, mac_in, 64, netkey);
    assert_int_equal(proto_hs_read(h, w.m2, sizeof w.m2), OP_E_HANDSHAKE);
    assert_int_equal(proto_hs_write(h, w.m3, sizeof w.m3, &n), OP_E_HANDSHAKE);
    proto_hs_free(h);
}

int
main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_honest),
        cmocka_unit_test(test_fresh_keys_each_time),
        cmocka_unit_test(test_wrong_network_key),
        cmocka_unit_test(test_no_static_key_in_clear),
        cmocka_unit_test(test_every_bit_flip_fails),
        cmocka_unit_test(test_downgrade),
        cmocka_unit_test(test_unexpected_peer),
        cmocka_unit_test(test_replay),
        cmocka_unit_test(test_mitm_ephemeral_swap),
        cmocka_unit_test(test_wrong_sizes_and_order),
        cmocka_unit_test(test_short_buffers_then_retry),
        cmocka_unit_test(test_low_order_ephemeral_refused),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
