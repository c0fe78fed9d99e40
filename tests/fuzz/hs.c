/*
 * hs.c — fuzz target "hs": the handshake messages (proto_hs_read of messages 1, 2 and 3), with
 * fixed long-term keys, a fixed network key and deterministic ephemerals (fuzz.h), TESTING §D2.
 *
 * Input: byte 0 picks a mode (mod 5); the rest is used by it:
 *   0  a responder reads the rest as message 1, raw (any length);
 *   1  a responder reads message 1 = rest[0] (version) || rest[1..33) (eI) || an HMAC the
 *      harness computes with the network key, so the fuzzer gets past the HMAC to the version
 *      check and the X25519 of arbitrary (low-order, zero) points;
 *   2  an initiator sends message 1, then reads the rest as message 2, raw;
 *   3  an initiator sends message 1, then reads message 2 = rest[0..32) (eR) || the right HMAC
 *      of eR || eI || rest[32..) (the sealed identity, padded with zeros);
 *   4  an honest handshake where the rest is XORed into messages 1, 2, 3 in turn (masks);
 *      rest[0] bit 0 gives the initiator another expected peer key, bit 1 another network key.
 *
 * Proves: no crash, overread, UB or leak; a message of the wrong size or version is refused;
 * in mode 4 the handshake completes if and only if nothing was changed (every byte of every
 * message is authenticated, a wrong pinned key or network key fails), and then both sides agree
 * on the keys (I.tx == R.rx, I.rx == R.tx) and on who the peer is; a failed handshake stays dead.
 *
 * Run: tools/fuzz.sh hs (FUZZ_SECONDS=1800: long mode); replay: ctest -R fuzz.replay.hs
 */
#include "proto/hs.h"

#include "tests/fuzz/fuzz.h"

static uint8_t i_pk[32], i_sk[64], r_pk[32], r_sk[64];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_sodium_init();
    fuzz_keypair(0x11, i_pk, i_sk);
    fuzz_keypair(0x22, r_pk, r_sk);
    return 0;
}

/* After a failure every later call must fail too. */
static void
check_dead(proto_hs *hs)
{
    uint8_t out[PROTO_HS_MSG2_BYTES], in[PROTO_HS_MSG2_BYTES] = {0};
    size_t len;
    proto_hs_result res;
    FUZZ_CHECK(!proto_hs_done(hs) && proto_hs_want(hs) == 0);
    FUZZ_CHECK(proto_hs_write(hs, out, sizeof out, &len) != OP_OK);
    FUZZ_CHECK(proto_hs_read(hs, in, sizeof in) != OP_OK);
    FUZZ_CHECK(proto_hs_get(hs, &res) != OP_OK);
}

static void
xor_into(uint8_t *msg, size_t n, const uint8_t **mask, size_t *left, bool *changed)
{
    size_t k = *left < n ? *left : n;
    for (size_t i = 0; i < k; i++) {
        msg[i] ^= (*mask)[i];
        *changed |= (*mask)[i] != 0;
    }
    *mask += k;
    *left -= k;
}

static void
honest(const uint8_t *p, size_t n)
{
    proto_hs *I = NULL, *R = NULL;
    uint8_t m1[PROTO_HS_MSG1_BYTES], m2[PROTO_HS_MSG2_BYTES], m3[PROTO_HS_MSG3_BYTES];
    uint8_t other_key[32], other_net[32];
    size_t len;
    bool changed = false, ok = true;
    uint8_t flags = n ? p[0] : 0;
    if (n) {
        p++;
        n--;
    }
    memcpy(other_net, fuzz_netkey, 32);
    other_net[31] ^= 1;
    memset(other_key, 0x5a, 32);
    changed = (flags & 3) != 0;
    FUZZ_CHECK(proto_hs_new(true, fuzz_netkey, i_sk, (flags & 1) ? other_key : r_pk, &I) == OP_OK);
    FUZZ_CHECK(proto_hs_new(false, (flags & 2) ? other_net : fuzz_netkey, r_sk, NULL, &R) ==
               OP_OK);
    FUZZ_CHECK(proto_hs_write(I, m1, sizeof m1, &len) == OP_OK && len == sizeof m1);
    xor_into(m1, sizeof m1, &p, &n, &changed);
    if (proto_hs_read(R, m1, sizeof m1) != OP_OK) {
        ok = false;
        check_dead(R);
        goto out;
    }
    FUZZ_CHECK(proto_hs_write(R, m2, sizeof m2, &len) == OP_OK && len == sizeof m2);
    xor_into(m2, sizeof m2, &p, &n, &changed);
    if (proto_hs_read(I, m2, sizeof m2) != OP_OK) {
        ok = false;
        check_dead(I);
        goto out;
    }
    FUZZ_CHECK(proto_hs_write(I, m3, sizeof m3, &len) == OP_OK && len == sizeof m3);
    xor_into(m3, sizeof m3, &p, &n, &changed);
    if (proto_hs_read(R, m3, sizeof m3) != OP_OK) {
        ok = false;
        check_dead(R);
        goto out;
    }
    FUZZ_CHECK(proto_hs_done(I) && proto_hs_done(R));
    proto_hs_result a, b;
    FUZZ_CHECK(proto_hs_get(I, &a) == OP_OK && proto_hs_get(R, &b) == OP_OK);
    FUZZ_CHECK(memcmp(a.peer, r_pk, 32) == 0 && memcmp(b.peer, i_pk, 32) == 0);
    FUZZ_CHECK(memcmp(a.tx, b.rx, 32) == 0 && memcmp(a.rx, b.tx, 32) == 0);
    FUZZ_CHECK(memcmp(a.tx, a.rx, 32) != 0);
out:
    FUZZ_CHECK(ok == !changed); /* every byte is authenticated; nothing else gets through */
    proto_hs_free(I);
    proto_hs_free(R);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    proto_hs *hs = NULL;
    uint8_t m1[PROTO_HS_MSG1_BYTES], m2[PROTO_HS_MSG2_BYTES], out[PROTO_HS_MSG2_BYTES];
    size_t len;

    if (size < 1)
        return 0;
    fuzz_rng_reset(7);
    int mode = data[0] % 5;
    uint8_t *rest = fuzz_dup(data + 1, size - 1);
    size_t n = size - 1;
    switch (mode) {
    case 0:
        FUZZ_CHECK(proto_hs_new(false, fuzz_netkey, r_sk, NULL, &hs) == OP_OK);
        if (proto_hs_read(hs, rest, n) == OP_OK) {
            FUZZ_CHECK(n == PROTO_HS_MSG1_BYTES && rest[0] == PROTO_HS_VERSION);
            FUZZ_CHECK(proto_hs_write(hs, out, sizeof out, &len) == OP_OK);
        } else {
            check_dead(hs);
        }
        break;
    case 1:
        memset(m1, 0, sizeof m1);
        memcpy(m1, rest, n < 33 ? n : 33);
        crypto_auth(m1 + 33, m1, 33, fuzz_netkey);
        FUZZ_CHECK(proto_hs_new(false, fuzz_netkey, r_sk, NULL, &hs) == OP_OK);
        if (proto_hs_read(hs, m1, sizeof m1) == OP_OK) {
            FUZZ_CHECK(m1[0] == PROTO_HS_VERSION);
            FUZZ_CHECK(proto_hs_write(hs, out, sizeof out, &len) == OP_OK && len == sizeof m2);
        } else {
            check_dead(hs);
        }
        break;
    case 2:
    case 3:
        FUZZ_CHECK(proto_hs_new(true, fuzz_netkey, i_sk, NULL, &hs) == OP_OK);
        FUZZ_CHECK(proto_hs_write(hs, m1, sizeof m1, &len) == OP_OK);
        if (mode == 2) {
            if (proto_hs_read(hs, rest, n) == OP_OK) /* an honest message 2 (a seed) */
                FUZZ_CHECK(proto_hs_write(hs, out, sizeof out, &len) == OP_OK &&
                           len == PROTO_HS_MSG3_BYTES && proto_hs_done(hs));
            else
                check_dead(hs);
        } else {
            uint8_t mac_in[64];
            memset(m2, 0, sizeof m2);
            memcpy(m2, rest, n < 32 ? n : 32);
            if (n > 32)
                memcpy(m2 + 32 + crypto_auth_BYTES, rest + 32,
                       n - 32 < sizeof m2 - 64 ? n - 32 : sizeof m2 - 64);
            memcpy(mac_in, m2, 32);
            memcpy(mac_in + 32, m1 + 1, 32);
            crypto_auth(m2 + 32, mac_in, 64, fuzz_netkey);
            if (proto_hs_read(hs, m2, sizeof m2) != OP_OK)
                check_dead(hs);
        }
        break;
    case 4:
        honest(rest, n);
        break;
    }
    proto_hs_free(hs);
    free(rest);
    return 0;
}
