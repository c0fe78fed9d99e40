/* hs_test.c — the handshake of proto/hs.h: completes between two honest parties with matching
 * keys, and fails for a stranger, a tampered or replayed message, a swapped key (MITM), a
 * downgraded version, and an unexpected peer.
 *
 * TESTING §C (see tests/integration/SECURITY.md): C4 replays (test_replay_*), C5 1,000
 * randomised men in the middle who hold the network key and re-seal what they can
 * (test_c5_mitm_randomised; SEED=N picks the attacks, printed), C6 every other version byte
 * (test_c6_every_version), C17 1,000 handshakes give 4,000 distinct ephemeral and session keys
 * and a low-order ephemeral point is refused (test_c17_*). The attacker's side is written here
 * from the design in proto/README.md, with libsodium, so it is also a check of that text.
 * Also: a write into a short buffer is refused without losing the step. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "proto/hs.h"
#include "testutil.h"

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

/* ---- C4, C5, C6, C17 (TESTING §C) ---- */

/* The deterministic choices of the randomised tests: SEED from the environment (printed). */
static uint8_t seed_bytes[randombytes_SEEDBYTES];
static uint32_t choice_buf[4096];
static size_t choice_at;

static void
seed_choices(const char *test)
{
    const char *env = getenv("SEED");
    unsigned long long seed =
        env ? strtoull(env, NULL, 10) : (unsigned long long)randombytes_random();
    print_message("%s: SEED=%llu\n", test, seed);
    memset(seed_bytes, 0, sizeof seed_bytes);
    memcpy(seed_bytes, &seed, sizeof seed);
    randombytes_buf_deterministic(choice_buf, sizeof choice_buf, seed_bytes);
    choice_at = 0;
}

static uint32_t
choose(uint32_t n)
{
    return choice_buf[choice_at++ % (sizeof choice_buf / sizeof choice_buf[0])] % n;
}

/* The attacker's key schedule, per proto/README.md "The connection handshake". */
static void
kdf3(const uint8_t nk[32], uint8_t out[32], const char *label, const uint8_t *a, size_t an,
     const uint8_t *b, size_t bn)
{
    crypto_generichash_state st;
    crypto_generichash_init(&st, nk, 32, 32);
    crypto_generichash_update(&st, (const uint8_t *)label, strlen(label));
    crypto_generichash_update(&st, a, an);
    if (b)
        crypto_generichash_update(&st, b, bn);
    crypto_generichash_final(&st, out, 32);
}

/* One leg of a man in the middle: his own ephemeral pair and what follows from the other's. */
typedef struct leg {
    uint8_t e_pk[32], e_sk[32], peer_e[32], ee[32], h[32], k2[32], k3[32];
} leg;

static void
leg_new(leg *l)
{
    crypto_box_keypair(l->e_pk, l->e_sk);
}

/* Both ephemerals known (ei: the initiator's): ee, h, k2, k3. Fails on a low-order point. */
static int
leg_derive(leg *l, const uint8_t nk[32], const uint8_t ei[32], const uint8_t er[32])
{
    uint8_t v = PROTO_HS_VERSION, eier[64];
    if (crypto_scalarmult(l->ee, l->e_sk, l->peer_e) != 0)
        return -1;
    memcpy(eier, ei, 32);
    memcpy(eier + 32, er, 32);
    kdf3(nk, l->h, "outpost-hs1", &v, 1, eier, 64);
    kdf3(nk, l->k2, "outpost-k2", l->ee, 32, l->h, 32);
    kdf3(nk, l->k3, "outpost-k3", l->ee, 32, l->h, 32);
    return 0;
}

static const uint8_t nonce0[crypto_aead_chacha20poly1305_ietf_NPUBBYTES];
#define ID_LEN (32 + 64)

static void
aead_seal(const uint8_t k[32], const uint8_t id[ID_LEN], uint8_t *out)
{
    assert_int_equal(
        crypto_aead_chacha20poly1305_ietf_encrypt(out, NULL, id, ID_LEN, NULL, 0, NULL, nonce0, k),
        0);
}

static int
aead_open(const uint8_t k[32], const uint8_t *in, uint8_t id[ID_LEN])
{
    return crypto_aead_chacha20poly1305_ietf_decrypt(
        id, NULL, NULL, in, ID_LEN + crypto_aead_chacha20poly1305_ietf_ABYTES, NULL, 0, nonce0, k);
}

static void
make_m1(const uint8_t nk[32], const uint8_t e[32], uint8_t m1[PROTO_HS_MSG1_BYTES])
{
    m1[0] = PROTO_HS_VERSION;
    memcpy(m1 + 1, e, 32);
    crypto_auth(m1 + 33, m1, 33, nk);
}

/* Message 2 from er to the initiator ei, carrying id (key || signature) sealed under k2. */
static void
make_m2(const uint8_t nk[32], const uint8_t er[32], const uint8_t ei[32], const uint8_t k2[32],
        const uint8_t id[ID_LEN], uint8_t m2[PROTO_HS_MSG2_BYTES])
{
    uint8_t both[64];
    memcpy(m2, er, 32);
    memcpy(both, er, 32);
    memcpy(both + 32, ei, 32);
    crypto_auth(m2 + 32, both, 64, nk);
    aead_seal(k2, id, m2 + 32 + crypto_auth_BYTES);
}

/* key || sig(label || h || extra) by p. */
static void
make_id(const party *p, const char *label, const uint8_t h[32], const uint8_t *extra,
        uint8_t id[ID_LEN])
{
    uint8_t msg[12 + 32 + 32];
    size_t ln = strlen(label), n = ln + 32;
    memcpy(msg, label, ln);
    memcpy(msg + ln, h, 32);
    if (extra) {
        memcpy(msg + n, extra, 32);
        n += 32;
    }
    memcpy(id, p->pk, 32);
    crypto_sign_detached(id + 32, NULL, msg, n, p->sk);
}

enum attack {
    EPH_SWAP_RESEAL_R, /* own ephemerals both ways; R's identity re-sealed to I: sigR is over
                          the other transcript */
    MALLORY_AS_R,      /* own ephemerals, own (valid) identity to I, who dialled R */
    RESEAL_I_TO_R,     /* I talks to Mallory knowingly; Mallory re-seals I's message 3 to R:
                          sigI names Mallory and the other transcript (misbinding) */
    SWAP_ER,           /* eR replaced in message 2 (HMAC recomputed with N) */
    SWAP_EI,           /* eI replaced in message 1 (HMAC recomputed with N), m2 relayed */
    SWAP_EI_NO_N,      /* eI replaced by an outsider (HMAC not recomputable) */
    SPLICE_M2,         /* message 2 of another of R's handshakes (with C) given to I */
    SPLICE_M3,         /* message 3 of C's handshake with R given to R's handshake with I */
    ATTACKS
};
static const char *attack_names[ATTACKS] = {"eph-swap-reseal-R", "mallory-as-R", "reseal-I-to-R",
                                            "swap-eR",           "swap-eI",      "swap-eI-no-N",
                                            "splice-m2",         "splice-m3"};

/* One attempt; returns how many of the honest parties completed a handshake whose peer is not
 * the party it really talked to (must be 0), and sets *refused if the attack was refused. */
static void
one_attack(enum attack a, const party *I, const party *R, const party *M, const party *C,
           bool *refused, bool *fooled)
{
    proto_hs *hi = NULL, *hr = NULL, *hc = NULL;
    uint8_t m1[PROTO_HS_MSG1_BYTES], m2[PROTO_HS_MSG2_BYTES], m3[PROTO_HS_MSG3_BYTES];
    uint8_t x1[PROTO_HS_MSG1_BYTES], x2[PROTO_HS_MSG2_BYTES], x3[PROTO_HS_MSG3_BYTES];
    uint8_t id[ID_LEN];
    leg li, lr; /* Mallory's leg with I (she answers) and with R (she dials) */
    proto_hs_result res;
    size_t n;
    op_err ei = OP_OK, er = OP_OK;
    bool pin = a != RESEAL_I_TO_R; /* there I knowingly talks to Mallory */
    *fooled = false;
    assert_int_equal(proto_hs_new(true, netkey, I->sk, pin ? R->pk : NULL, &hi), OP_OK);
    assert_int_equal(proto_hs_new(false, netkey, R->sk, NULL, &hr), OP_OK);
    assert_int_equal(proto_hs_write(hi, m1, sizeof m1, &n), OP_OK);
    leg_new(&li);
    leg_new(&lr);
    switch (a) {
    case EPH_SWAP_RESEAL_R:
    case MALLORY_AS_R:
    case RESEAL_I_TO_R:
        /* Mallory answers I with her own ephemeral and dials R with another. */
        memcpy(li.peer_e, m1 + 1, 32);
        assert_int_equal(leg_derive(&li, netkey, m1 + 1, li.e_pk), 0);
        make_m1(netkey, lr.e_pk, x1);
        if ((er = proto_hs_read(hr, x1, sizeof x1)) != OP_OK)
            break;
        assert_int_equal(proto_hs_write(hr, m2, sizeof m2, &n), OP_OK);
        memcpy(lr.peer_e, m2, 32);
        assert_int_equal(leg_derive(&lr, netkey, lr.e_pk, m2), 0);
        if (a == EPH_SWAP_RESEAL_R) {
            /* R's key and signature, opened on her leg with R, sealed again for I. */
            assert_int_equal(aead_open(lr.k2, m2 + 32 + crypto_auth_BYTES, id), 0);
        } else {
            make_id(M, "outpost-hs-R", li.h, NULL, id);
        }
        make_m2(netkey, li.e_pk, m1 + 1, li.k2, id, x2);
        if ((ei = proto_hs_read(hi, x2, sizeof x2)) != OP_OK)
            break;
        assert_int_equal(proto_hs_write(hi, m3, sizeof m3, &n), OP_OK);
        /* I's message 3 is sealed for Mallory: she opens it and seals it again for R. */
        assert_int_equal(aead_open(li.k3, m3, id), 0);
        aead_seal(lr.k3, id, x3);
        er = proto_hs_read(hr, x3, sizeof x3);
        break;
    case SWAP_ER:
        if ((er = proto_hs_read(hr, m1, sizeof m1)) != OP_OK)
            break;
        assert_int_equal(proto_hs_write(hr, m2, sizeof m2, &n), OP_OK);
        memcpy(m2, li.e_pk, 32);
        memcpy(x1, li.e_pk, 32);
        memcpy(x1 + 32, m1 + 1, 32);
        crypto_auth(m2 + 32, x1, 64, netkey);
        ei = proto_hs_read(hi, m2, sizeof m2);
        break;
    case SWAP_EI:
    case SWAP_EI_NO_N:
        memcpy(x1, m1, sizeof m1);
        memcpy(x1 + 1, lr.e_pk, 32);
        if (a == SWAP_EI)
            crypto_auth(x1 + 33, x1, 33, netkey);
        if ((er = proto_hs_read(hr, x1, sizeof x1)) != OP_OK)
            break;
        assert_int_equal(proto_hs_write(hr, m2, sizeof m2, &n), OP_OK);
        ei = proto_hs_read(hi, m2, sizeof m2);
        break;
    case SPLICE_M2:
    case SPLICE_M3: {
        /* R serves I and C at once; Mallory crosses their messages. */
        proto_hs *hr2 = NULL;
        uint8_t c1[PROTO_HS_MSG1_BYTES], c2[PROTO_HS_MSG2_BYTES], c3[PROTO_HS_MSG3_BYTES];
        assert_int_equal(proto_hs_new(true, netkey, C->sk, NULL, &hc), OP_OK);
        assert_int_equal(proto_hs_new(false, netkey, R->sk, NULL, &hr2), OP_OK);
        assert_int_equal(proto_hs_write(hc, c1, sizeof c1, &n), OP_OK);
        assert_int_equal(proto_hs_read(hr, m1, sizeof m1), OP_OK);
        assert_int_equal(proto_hs_read(hr2, c1, sizeof c1), OP_OK);
        assert_int_equal(proto_hs_write(hr, m2, sizeof m2, &n), OP_OK);
        assert_int_equal(proto_hs_write(hr2, c2, sizeof c2, &n), OP_OK);
        if (a == SPLICE_M2) {
            ei = proto_hs_read(hi, c2, sizeof c2); /* C's message 2 to I */
        } else {
            assert_int_equal(proto_hs_read(hi, m2, sizeof m2), OP_OK);
            assert_int_equal(proto_hs_read(hc, c2, sizeof c2), OP_OK);
            assert_int_equal(proto_hs_write(hi, m3, sizeof m3, &n), OP_OK);
            assert_int_equal(proto_hs_write(hc, c3, sizeof c3, &n), OP_OK);
            er = proto_hs_read(hr, c3, sizeof c3);          /* C's message 3 on I's connection */
            if (proto_hs_read(hr2, m3, sizeof m3) == OP_OK) /* and I's on C's */
                *fooled = true;
        }
        proto_hs_free(hr2);
        break;
    }
    default:
        fail();
    }
    /* Refused: someone who was lied to stopped. Fooled: an honest side finished believing it
     * talks to someone it does not share keys with. */
    *refused = ei != OP_OK || er != OP_OK;
    if (proto_hs_done(hi) && proto_hs_get(hi, &res) == OP_OK &&
        sodium_memcmp(res.peer, a == RESEAL_I_TO_R ? M->pk : R->pk, 32) != 0)
        *fooled = true;
    if (proto_hs_done(hr)) {
        assert_int_equal(proto_hs_get(hr, &res), OP_OK);
        *fooled = true; /* R never talks to I directly in any attack: finishing is a failure */
    }
    if (a == RESEAL_I_TO_R) {
        /* I talks to Mallory knowingly: I accepting her message 2 shows the attacker's key
         * schedule above is the real one (the attacks are not failing for a typo). R refuses. */
        assert_err(ei, OP_OK);
        *refused = er != OP_OK;
    }
    sodium_memzero(&li, sizeof li);
    sodium_memzero(&lr, sizeof lr);
    proto_hs_free(hi);
    proto_hs_free(hr);
    proto_hs_free(hc);
}

static void
test_c5_mitm_randomised(void **state)
{
    int tried[ATTACKS] = {0}, refused_n[ATTACKS] = {0};
    party carol;
    (void)state;
    seed_choices("test_c5_mitm_randomised");
    crypto_sign_keypair(carol.pk, carol.sk);
    for (int trial = 0; trial < 1000; trial++) {
        enum attack a = (enum attack)choose(ATTACKS);
        bool refused, fooled;
        /* Who plays whom changes too: fresh identities one time in four. */
        party p[3] = {alice, bob, mallory};
        if (choose(4) == 0)
            for (int k = 0; k < 3; k++)
                crypto_sign_keypair(p[k].pk, p[k].sk);
        one_attack(a, &p[0], &p[1], &p[2], &carol, &refused, &fooled);
        tried[a]++;
        refused_n[a] += refused && !fooled;
        if (!refused || fooled)
            fail_msg("trial %d: attack %s was %s", trial, attack_names[a],
                     fooled ? "not detected: a party was fooled" : "not refused");
    }
    int total = 0;
    for (int a = 0; a < ATTACKS; a++) {
        print_message("C5 %-18s %3d attempts, %3d refused\n", attack_names[a], tried[a],
                      refused_n[a]);
        assert_true(tried[a] > 0);
        total += refused_n[a];
    }
    print_message("C5: %d of 1000 man-in-the-middle attempts refused (100 %%)\n", total);
    assert_int_equal(total, 1000);
}

/* C4: recorded messages 1 and 3 replayed to R, and a recorded message 2 to a new I. */
static void
test_c4_replay_every_message(void **state)
{
    wire w;
    proto_hs_result ri, rr;
    (void)state;
    assert_int_equal(run(netkey, netkey, &alice, &bob, bob.pk, NULL, &w, &ri, &rr), OP_OK);
    for (int round = 0; round < 50; round++) {
        proto_hs *hr, *hi;
        uint8_t m2[PROTO_HS_MSG2_BYTES], m1[PROTO_HS_MSG1_BYTES];
        size_t n;
        /* R answers a replayed message 1 (it cannot tell), but with a new eR ... */
        assert_int_equal(proto_hs_new(false, netkey, bob.sk, NULL, &hr), OP_OK);
        assert_int_equal(proto_hs_read(hr, w.m1, sizeof w.m1), OP_OK);
        assert_int_equal(proto_hs_write(hr, m2, sizeof m2, &n), OP_OK);
        assert_memory_not_equal(m2, w.m2, 32);
        /* ... so the replayed message 3 does not open, and no keys come out. */
        assert_err(proto_hs_read(hr, w.m3, sizeof w.m3), OP_E_HANDSHAKE);
        assert_false(proto_hs_done(hr));
        assert_err(proto_hs_get(hr, &rr), OP_E_HANDSHAKE);
        proto_hs_free(hr);
        /* A recorded message 2 given to a new initiator: its new eI breaks the HMAC. */
        assert_int_equal(proto_hs_new(true, netkey, alice.sk, NULL, &hi), OP_OK);
        assert_int_equal(proto_hs_write(hi, m1, sizeof m1, &n), OP_OK);
        assert_err(proto_hs_read(hi, w.m2, sizeof w.m2), OP_E_HANDSHAKE);
        proto_hs_free(hi);
    }
}

/* C6: every version byte but ours is refused, by a stranger (HMAC unchanged) and by an insider
 * who recomputes the HMAC with N; a message 2 made for a version-2 message 1 fails too. */
static void
test_c6_every_version(void **state)
{
    (void)state;
    for (int v = 0; v < 256; v++) {
        if (v == PROTO_HS_VERSION)
            continue;
        for (int insider = 0; insider < 2; insider++) {
            proto_hs *hi, *hr;
            uint8_t m1[PROTO_HS_MSG1_BYTES];
            size_t n;
            assert_int_equal(proto_hs_new(true, netkey, alice.sk, NULL, &hi), OP_OK);
            assert_int_equal(proto_hs_new(false, netkey, bob.sk, NULL, &hr), OP_OK);
            assert_int_equal(proto_hs_write(hi, m1, sizeof m1, &n), OP_OK);
            m1[0] = (uint8_t)v;
            if (insider)
                crypto_auth(m1 + 33, m1, 33, netkey);
            assert_err_at(proto_hs_read(hr, m1, sizeof m1), OP_E_HANDSHAKE, v);
            assert_int_equal(proto_hs_want(hr), 0); /* dead: it will not answer */
            proto_hs_free(hi);
            proto_hs_free(hr);
        }
    }
}

static int
cmp32(const void *a, const void *b)
{
    return memcmp(a, b, 32);
}

/* C17: 1,000 handshakes, 1,000 distinct eI, eR, and session keys each way (4,000 values, all
 * different); the two directions never share a key. */
static void
test_c17_distinct_keys(void **state)
{
    enum { N = 1000 };
    static uint8_t keys[4 * N][32];
    (void)state;
    for (int i = 0; i < N; i++) {
        wire w;
        proto_hs_result ri, rr;
        assert_int_equal(run(netkey, netkey, &alice, &bob, bob.pk, NULL, &w, &ri, &rr), OP_OK);
        assert_memory_equal(ri.tx, rr.rx, 32);
        assert_memory_equal(ri.rx, rr.tx, 32);
        memcpy(keys[4 * i], w.m1 + 1, 32);
        memcpy(keys[4 * i + 1], w.m2, 32);
        memcpy(keys[4 * i + 2], ri.tx, 32);
        memcpy(keys[4 * i + 3], ri.rx, 32);
    }
    qsort(keys, 4 * N, 32, cmp32);
    int same = 0;
    for (int i = 1; i < 4 * N; i++)
        same += memcmp(keys[i - 1], keys[i], 32) == 0;
    print_message("C17: %d handshakes, %d ephemeral + session keys, %d repeated\n", N, 4 * N, same);
    assert_int_equal(same, 0);
}

/* C17, libsodium's failure path: X25519 with a low-order point gives an all-zero secret
 * (crypto_scalarmult returns -1). An insider with N sends one as eI (to R) or eR (to I). */
static void
test_c17_low_order_points(void **state)
{
    /* The order-1, order-2 (p - 1 as the field element) and order-8 points of Curve25519
     * (RFC 7748 §6.1 lists why: the shared secret is zero). */
    static const uint8_t low[][32] = {
        {0},
        {1},
        {0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
         0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
         0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
        {0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae, 0x16, 0x56, 0xe3,
         0xfa, 0xf1, 0x9f, 0xc4, 0x6a, 0xda, 0x09, 0x8d, 0xeb, 0x9c, 0x32,
         0xb1, 0xfd, 0x86, 0x62, 0x05, 0x16, 0x5f, 0x49, 0xb8, 0x00},
        {0x5f, 0x9c, 0x95, 0xbc, 0xa3, 0x50, 0x8c, 0x24, 0xb1, 0xd0, 0xb1,
         0x55, 0x9c, 0x83, 0xef, 0x5b, 0x04, 0x44, 0x5c, 0xc4, 0x58, 0x1c,
         0x8e, 0x86, 0xd8, 0x22, 0x4e, 0xdd, 0xd0, 0x9f, 0x11, 0x57},
    };
    (void)state;
    for (size_t k = 0; k < sizeof low / sizeof low[0]; k++) {
        proto_hs *hi, *hr;
        uint8_t m1[PROTO_HS_MSG1_BYTES], m2[PROTO_HS_MSG2_BYTES], both[64];
        size_t n;
        assert_int_equal(proto_hs_new(false, netkey, bob.sk, NULL, &hr), OP_OK);
        make_m1(netkey, low[k], m1);
        assert_err_at(proto_hs_read(hr, m1, sizeof m1), OP_E_HANDSHAKE, k);
        proto_hs_free(hr);
        assert_int_equal(proto_hs_new(true, netkey, alice.sk, NULL, &hi), OP_OK);
        assert_int_equal(proto_hs_write(hi, m1, sizeof m1, &n), OP_OK);
        memset(m2, 0, sizeof m2);
        memcpy(m2, low[k], 32);
        memcpy(both, low[k], 32);
        memcpy(both + 32, m1 + 1, 32);
        crypto_auth(m2 + 32, both, 64, netkey);
        assert_err_at(proto_hs_read(hi, m2, sizeof m2), OP_E_HANDSHAKE, k);
        proto_hs_free(hi);
    }
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
        cmocka_unit_test(test_c4_replay_every_message),
        cmocka_unit_test(test_c5_mitm_randomised),
        cmocka_unit_test(test_c6_every_version),
        cmocka_unit_test(test_c17_distinct_keys),
        cmocka_unit_test(test_c17_low_order_points),
        cmocka_unit_test(test_short_buffers_then_retry),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
