/* seal.c — AEAD bodies and sealed epoch keys (see seal.h). */
#include "proto/seal.h"

#include <sodium.h>
#include <string.h>

#define NONCE_BYTES crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define AD_BYTES (PROTO_KEY_BYTES + 16)

_Static_assert(NONCE_BYTES + crypto_aead_xchacha20poly1305_ietf_ABYTES == PROTO_SEAL_OVERHEAD,
               "overhead");
_Static_assert(crypto_box_SEALBYTES + PROTO_EPOCH_KEY_BYTES == PROTO_SEALED_BYTES, "sealed");

static void
make_ad(uint8_t ad[AD_BYTES], const uint8_t author[PROTO_KEY_BYTES], uint64_t seq, uint64_t kind)
{
    memcpy(ad, author, PROTO_KEY_BYTES);
    for (int i = 0; i < 8; i++) {
        ad[PROTO_KEY_BYTES + i] = (uint8_t)(seq >> (56 - 8 * i));
        ad[PROTO_KEY_BYTES + 8 + i] = (uint8_t)(kind >> (56 - 8 * i));
    }
}

void
proto_epoch_key_new(uint8_t key[PROTO_EPOCH_KEY_BYTES])
{
    crypto_aead_xchacha20poly1305_ietf_keygen(key);
}

op_err
proto_seal_body(const uint8_t key[PROTO_EPOCH_KEY_BYTES], const uint8_t author[PROTO_KEY_BYTES],
                uint64_t seq, uint64_t kind, const uint8_t *plain, size_t n, uint8_t *out,
                size_t max, size_t *outlen)
{
    uint8_t ad[AD_BYTES];
    unsigned long long clen;

    *outlen = 0;
    if (n > PROTO_BODY_MAX_BYTES - PROTO_SEAL_OVERHEAD || max < n + PROTO_SEAL_OVERHEAD)
        return OP_E_TOOBIG;
    make_ad(ad, author, seq, kind);
    randombytes_buf(out, NONCE_BYTES); /* 192-bit random nonces: collisions are not a concern */
    if (crypto_aead_xchacha20poly1305_ietf_encrypt(out + NONCE_BYTES, &clen, plain, n, ad,
                                                   sizeof ad, NULL, out, key) != 0)
        return OP_E_AUTH;
    *outlen = NONCE_BYTES + (size_t)clen;
    return OP_OK;
}

op_err
proto_open_body(const uint8_t key[PROTO_EPOCH_KEY_BYTES], const uint8_t author[PROTO_KEY_BYTES],
                uint64_t seq, uint64_t kind, const uint8_t *in, size_t n, uint8_t *out, size_t max,
                size_t *outlen)
{
    uint8_t ad[AD_BYTES];
    unsigned long long mlen;

    *outlen = 0;
    if (n < PROTO_SEAL_OVERHEAD)
        return OP_E_TRUNCATED;
    if (max < n - PROTO_SEAL_OVERHEAD)
        return OP_E_TOOBIG;
    make_ad(ad, author, seq, kind);
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(out, &mlen, NULL, in + NONCE_BYTES,
                                                   n - NONCE_BYTES, ad, sizeof ad, in, key) != 0)
        return OP_E_AUTH;
    *outlen = (size_t)mlen;
    return OP_OK;
}

op_err
proto_seal_epoch_key(const uint8_t reader[PROTO_KEY_BYTES], const uint8_t key[PROTO_EPOCH_KEY_BYTES],
                     uint8_t box[PROTO_SEALED_BYTES])
{
    uint8_t curve_pk[crypto_box_PUBLICKEYBYTES];
    if (crypto_sign_ed25519_pk_to_curve25519(curve_pk, reader) != 0)
        return OP_E_INVAL;
    if (crypto_box_seal(box, key, PROTO_EPOCH_KEY_BYTES, curve_pk) != 0)
        return OP_E_AUTH;
    return OP_OK;
}

op_err
proto_open_epoch_key(const uint8_t sk[PROTO_SECRET_BYTES], const uint8_t box[PROTO_SEALED_BYTES],
                     uint8_t key[PROTO_EPOCH_KEY_BYTES])
{
    uint8_t curve_pk[crypto_box_PUBLICKEYBYTES], curve_sk[crypto_box_SECRETKEYBYTES];
    op_err r = OP_OK;

    if (crypto_sign_ed25519_pk_to_curve25519(curve_pk, sk + 32) != 0 ||
        crypto_sign_ed25519_sk_to_curve25519(curve_sk, sk) != 0) {
        r = OP_E_INVAL;
        goto out;
    }
    if (crypto_box_seal_open(key, box, PROTO_SEALED_BYTES, curve_pk, curve_sk) != 0)
        r = OP_E_AUTH;
out:
    sodium_memzero(curve_sk, sizeof curve_sk);
    return r;
}

void
proto_key_to_text(const uint8_t key[PROTO_KEY_BYTES], char out[PROTO_KEY_TEXT_BYTES])
{
    sodium_bin2base64(out, PROTO_KEY_TEXT_BYTES, key, PROTO_KEY_BYTES,
                      sodium_base64_VARIANT_ORIGINAL);
}

op_err
proto_key_from_text(const char *s, uint8_t key[PROTO_KEY_BYTES])
{
    size_t n = 0;
    const char *end = NULL;
    if (strlen(s) != PROTO_KEY_TEXT_BYTES - 1)
        return OP_E_INVAL;
    /* libsodium 1.0.18 takes some bytes over 0x7f as base64 digits: check the alphabet first. */
    if (strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=") !=
        PROTO_KEY_TEXT_BYTES - 1)
        return OP_E_INVAL;
    if (sodium_base642bin(key, PROTO_KEY_BYTES, s, PROTO_KEY_TEXT_BYTES - 1, NULL, &n, &end,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        n != PROTO_KEY_BYTES || *end != '\0')
        return OP_E_INVAL;
    return OP_OK;
}
