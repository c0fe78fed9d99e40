/* hs.c — the three-message handshake (see hs.h for the design and what each check stops). */
#include "proto/hs.h"

#include <sodium.h>
#include <string.h>

enum step { SEND1, READ1, SEND2, READ2, SEND3, READ3, DONE, DEAD };

struct proto_hs {
    bool initiator;
    enum step step;
    uint8_t netkey[PROTO_NETKEY_BYTES];
    uint8_t sk[PROTO_SECRET_BYTES]; /* ours; pk is its last 32 bytes */
    bool has_expect;
    uint8_t expect[PROTO_KEY_BYTES];
    uint8_t e_pk[crypto_scalarmult_BYTES], e_sk[crypto_scalarmult_SCALARBYTES];
    uint8_t peer_e[crypto_scalarmult_BYTES];
    uint8_t ee[crypto_scalarmult_BYTES];
    uint8_t h[32];
    uint8_t k2[32], k3[32];
    uint8_t peer[PROTO_KEY_BYTES];
};

#define AEAD_ABYTES crypto_aead_chacha20poly1305_ietf_ABYTES
#define ID_BYTES (PROTO_KEY_BYTES + PROTO_SIG_BYTES)
_Static_assert(PROTO_HS_MSG1_BYTES == 1 + 32 + crypto_auth_BYTES, "msg1");
_Static_assert(PROTO_HS_MSG2_BYTES == 32 + crypto_auth_BYTES + ID_BYTES + AEAD_ABYTES, "msg2");
_Static_assert(PROTO_HS_MSG3_BYTES == ID_BYTES + AEAD_ABYTES, "msg3");

static const uint8_t zero_nonce[crypto_aead_chacha20poly1305_ietf_NPUBBYTES];

op_err
proto_hs_new(bool initiator, const uint8_t netkey[PROTO_NETKEY_BYTES],
             const uint8_t sk[PROTO_SECRET_BYTES], const uint8_t *expect, proto_hs **out)
{
    proto_hs *hs = sodium_malloc(sizeof *hs);
    *out = NULL;
    if (!hs)
        return OP_E_NOMEM;
    memset(hs, 0, sizeof *hs);
    hs->initiator = initiator;
    hs->step = initiator ? SEND1 : READ1;
    memcpy(hs->netkey, netkey, PROTO_NETKEY_BYTES);
    memcpy(hs->sk, sk, PROTO_SECRET_BYTES);
    if (expect) {
        hs->has_expect = true;
        memcpy(hs->expect, expect, PROTO_KEY_BYTES);
    }
    crypto_box_keypair(hs->e_pk, hs->e_sk); /* a fresh X25519 pair per connection */
    *out = hs;
    return OP_OK;
}

void
proto_hs_free(proto_hs *hs)
{
    sodium_free(hs); /* NULL-safe; wipes */
}

size_t
proto_hs_want(const proto_hs *hs)
{
    switch (hs->step) {
    case READ1: return PROTO_HS_MSG1_BYTES;
    case READ2: return PROTO_HS_MSG2_BYTES;
    case READ3: return PROTO_HS_MSG3_BYTES;
    default: return 0;
    }
}

bool
proto_hs_done(const proto_hs *hs)
{
    return hs->step == DONE;
}

/* BLAKE2b-256 keyed with the network key over label || a || b || c (each may be NULL). */
static void
kdf(const proto_hs *hs, uint8_t out[32], const char *label, const uint8_t *a, size_t an,
    const uint8_t *b, size_t bn, const uint8_t *c, size_t cn)
{
    crypto_generichash_state st;
    crypto_generichash_init(&st, hs->netkey, PROTO_NETKEY_BYTES, 32);
    crypto_generichash_update(&st, (const uint8_t *)label, strlen(label));
    if (a)
        crypto_generichash_update(&st, a, an);
    if (b)
        crypto_generichash_update(&st, b, bn);
    if (c)
        crypto_generichash_update(&st, c, cn);
    crypto_generichash_final(&st, out, 32);
    sodium_memzero(&st, sizeof st);
}

/* After both ephemerals are known: ee, the transcript h, and the keys of messages 2 and 3. */
static op_err
derive(proto_hs *hs)
{
    const uint8_t *ei = hs->initiator ? hs->e_pk : hs->peer_e;
    const uint8_t *er = hs->initiator ? hs->peer_e : hs->e_pk;
    uint8_t v = PROTO_HS_VERSION, eier[64];
    if (crypto_scalarmult(hs->ee, hs->e_sk, hs->peer_e) != 0)
        return OP_E_HANDSHAKE; /* a low-order point: the peer chose ee for us */
    memcpy(eier, ei, 32);
    memcpy(eier + 32, er, 32);
    kdf(hs, hs->h, "outpost-hs1", &v, 1, eier, 64, NULL, 0);
    kdf(hs, hs->k2, "outpost-k2", hs->ee, 32, hs->h, 32, NULL, 0);
    kdf(hs, hs->k3, "outpost-k3", hs->ee, 32, hs->h, 32, NULL, 0);
    return OP_OK;
}

/* AEAD(k, pk || sig(label || h || extra)) into out. */
static op_err
seal_id(proto_hs *hs, const uint8_t k[32], const char *label, const uint8_t *extra,
        uint8_t out[ID_BYTES + AEAD_ABYTES])
{
    uint8_t id[ID_BYTES], msg[64 + 32 + 32];
    size_t ln = strlen(label), n = 0;
    memcpy(msg, label, ln);
    n = ln;
    memcpy(msg + n, hs->h, 32);
    n += 32;
    if (extra) {
        memcpy(msg + n, extra, 32);
        n += 32;
    }
    memcpy(id, hs->sk + 32, PROTO_KEY_BYTES);
    op_err r = OP_OK;
    if (crypto_sign_detached(id + PROTO_KEY_BYTES, NULL, msg, n, hs->sk) != 0 ||
        crypto_aead_chacha20poly1305_ietf_encrypt(out, NULL, id, sizeof id, NULL, 0, NULL,
                                                  zero_nonce, k) != 0)
        r = OP_E_HANDSHAKE;
    sodium_memzero(id, sizeof id);
    return r;
}

/* Opens AEAD(k, pk || sig) and checks sig over label || h || extra; the peer's key to hs->peer. */
static op_err
open_id(proto_hs *hs, const uint8_t k[32], const char *label, const uint8_t *extra,
        const uint8_t in[ID_BYTES + AEAD_ABYTES])
{
    uint8_t id[ID_BYTES], msg[64 + 32 + 32];
    size_t ln = strlen(label), n;
    op_err r = OP_E_HANDSHAKE;
    /* k is used for this one message only, so a fixed nonce is safe. */
    if (crypto_aead_chacha20poly1305_ietf_decrypt(id, NULL, NULL, in, ID_BYTES + AEAD_ABYTES, NULL,
                                                  0, zero_nonce, k) != 0)
        goto out;
    memcpy(msg, label, ln);
    n = ln;
    memcpy(msg + n, hs->h, 32);
    n += 32;
    if (extra) {
        memcpy(msg + n, extra, 32);
        n += 32;
    }
    if (crypto_sign_verify_detached(id + PROTO_KEY_BYTES, msg, n, id) != 0)
        goto out;
    if (hs->has_expect && sodium_memcmp(id, hs->expect, PROTO_KEY_BYTES) != 0)
        goto out; /* a valid key, but not the one we dialled */
    memcpy(hs->peer, id, PROTO_KEY_BYTES);
    r = OP_OK;
out:
    sodium_memzero(id, sizeof id);
    return r;
}

op_err
proto_hs_write(proto_hs *hs, uint8_t *out, size_t max, size_t *len)
{
    uint8_t buf[64];
    op_err r = OP_OK;
    *len = 0;
    switch (hs->step) {
    case SEND1:
        if (max < PROTO_HS_MSG1_BYTES)
            return OP_E_TOOBIG;
        out[0] = PROTO_HS_VERSION;
        memcpy(out + 1, hs->e_pk, 32);
        crypto_auth(out + 33, out, 33, hs->netkey);
        *len = PROTO_HS_MSG1_BYTES;
        hs->step = READ2;
        return OP_OK;
    case SEND2:
        if (max < PROTO_HS_MSG2_BYTES)
            return OP_E_TOOBIG;
        memcpy(out, hs->e_pk, 32);
        memcpy(buf, hs->e_pk, 32);
        memcpy(buf + 32, hs->peer_e, 32);
        crypto_auth(out + 32, buf, 64, hs->netkey);
        if ((r = seal_id(hs, hs->k2, "outpost-hs-R", NULL, out + 32 + crypto_auth_BYTES)) !=
            OP_OK)
            break;
        *len = PROTO_HS_MSG2_BYTES;
        hs->step = READ3;
        return OP_OK;
    case SEND3:
        if (max < PROTO_HS_MSG3_BYTES)
            return OP_E_TOOBIG;
        if ((r = seal_id(hs, hs->k3, "outpost-hs-I", hs->peer, out)) != OP_OK)
            break;
        *len = PROTO_HS_MSG3_BYTES;
        hs->step = DONE;
        return OP_OK;
    default:
        return OP_E_HANDSHAKE; /* nothing to write now */
    }
    hs->step = DEAD;
    return r;
}

op_err
proto_hs_read(proto_hs *hs, const uint8_t *in, size_t len)
{
    uint8_t buf[64];
    if (len != proto_hs_want(hs) || len == 0)
        goto dead;
    switch (hs->step) {
    case READ1:
        /* Nothing about us is revealed, and nothing is computed, before this check. */
        if (in[0] != PROTO_HS_VERSION || crypto_auth_verify(in + 33, in, 33, hs->netkey) != 0)
            goto dead;
        memcpy(hs->peer_e, in + 1, 32);
        if (derive(hs) != OP_OK)
            goto dead;
        hs->step = SEND2;
        return OP_OK;
    case READ2:
        memcpy(buf, in, 32);
        memcpy(buf + 32, hs->e_pk, 32);
        if (crypto_auth_verify(in + 32, buf, 64, hs->netkey) != 0)
            goto dead;
        memcpy(hs->peer_e, in, 32);
        if (derive(hs) != OP_OK ||
            open_id(hs, hs->k2, "outpost-hs-R", NULL, in + 32 + crypto_auth_BYTES) != OP_OK)
            goto dead;
        hs->step = SEND3;
        return OP_OK;
    case READ3: {
        const uint8_t *me = hs->sk + 32;
        /* The initiator's signature names us: it cannot have been meant for another node. */
        if (open_id(hs, hs->k3, "outpost-hs-I", me, in) != OP_OK)
            goto dead;
        hs->step = DONE;
        return OP_OK;
    }
    default:
        break;
    }
dead:
    hs->step = DEAD;
    return OP_E_HANDSHAKE;
}

op_err
proto_hs_get(const proto_hs *hs, proto_hs_result *out)
{
    const uint8_t *me = hs->sk + 32;
    const uint8_t *i = hs->initiator ? me : hs->peer, *r = hs->initiator ? hs->peer : me;
    uint8_t ir[64], i2r[32], r2i[32];
    memset(out, 0, sizeof *out);
    if (hs->step != DONE)
        return OP_E_HANDSHAKE;
    memcpy(ir, i, 32);
    memcpy(ir + 32, r, 32);
    kdf(hs, i2r, "outpost-i2r", hs->ee, 32, hs->h, 32, ir, 64);
    kdf(hs, r2i, "outpost-r2i", hs->ee, 32, hs->h, 32, ir, 64);
    memcpy(out->peer, hs->peer, PROTO_KEY_BYTES);
    memcpy(out->tx, hs->initiator ? i2r : r2i, 32);
    memcpy(out->rx, hs->initiator ? r2i : i2r, 32);
    sodium_memzero(i2r, sizeof i2r);
    sodium_memzero(r2i, sizeof r2i);
    return OP_OK;
}
