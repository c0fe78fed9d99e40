/*
 * invite.c — invite codes and join proofs (see invite.h, SPEC §6).
 *
 * Decoding is strict in layers, each with its own code: the prefix, then base64url (libsodium
 * refuses padding and non-zero spare bits), then the msgpack prescan (bounded, allocates
 * nothing), then the shape, and last the canonical check: the invite is encoded again and must
 * give back the very text it came from.
 */
#include "proto/invite.h"

#include <sodium.h>
#include <string.h>

#include "proto/mp.h"

#define PREFIX_LEN (sizeof PROTO_INVITE_PREFIX - 1)
#define B64_VARIANT sodium_base64_VARIANT_URLSAFE_NO_PADDING

_Static_assert(PREFIX_LEN + sodium_base64_ENCODED_LEN(PROTO_INVITE_MAX_BYTES, B64_VARIANT) ==
                   PROTO_INVITE_TEXT_MAX_BYTES,
               "PROTO_INVITE_TEXT_MAX_BYTES");
_Static_assert(crypto_box_SEALBYTES + PROTO_INVITE_TOKEN_BYTES + PROTO_KEY_BYTES ==
                   PROTO_JOIN_PROOF_BYTES,
               "PROTO_JOIN_PROOF_BYTES");

void
proto_invite_wipe(proto_invite *inv)
{
    sodium_memzero(inv, sizeof *inv);
}

static bool
is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool
is_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '.' ||
           c == '-' || c == '_';
}

static bool
is_ipv6_char(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ':' || c == '.';
}

static bool
is_b64url_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '-' || c == '_';
}

bool
proto_invite_addr_ok(const char *s, size_t n)
{
    size_t colon = n, i;
    unsigned long port = 0;

    if (n == 0 || n > PROTO_INVITE_ADDR_MAX_BYTES)
        return false;
    for (i = n; i-- > 0;)
        if (s[i] == ':') {
            colon = i;
            break;
        }
    if (colon == n || colon == 0)
        return false;
    /* The port: 1-65535 in decimal, one spelling only (no sign, no leading zero). */
    size_t digits = n - colon - 1;
    if (digits == 0 || digits > 5 || s[colon + 1] == '0')
        return false;
    for (i = colon + 1; i < n; i++) {
        if (!is_digit(s[i]))
            return false;
        port = port * 10 + (unsigned long)(s[i] - '0');
    }
    if (port > 65535)
        return false;
    /* The host: [IPv6] or a name / IPv4 address. */
    if (s[0] == '[') {
        bool has_colon = false;
        if (colon < 3 || s[colon - 1] != ']')
            return false;
        for (i = 1; i < colon - 1; i++) {
            if (!is_ipv6_char(s[i]))
                return false;
            has_colon |= s[i] == ':';
        }
        return has_colon;
    }
    for (i = 0; i < colon; i++)
        if (!is_name_char(s[i]))
            return false;
    return true;
}

/* The msgpack array of the invite into w. */
static op_err
encode_bin(const proto_invite *inv, proto_wbuf *w)
{
    msgpack_packer pk;
    if (inv->n_addrs > PROTO_INVITE_MAX_ADDRS)
        return OP_E_TOOBIG;
    for (size_t i = 0; i < inv->n_addrs; i++) {
        size_t n = strnlen(inv->addrs[i], sizeof inv->addrs[i]);
        if (n == sizeof inv->addrs[i])
            return OP_E_TOOBIG; /* not terminated: over the cap */
        if (!proto_invite_addr_ok(inv->addrs[i], n))
            return OP_E_INVAL;
    }
    proto_mp_packer_init(&pk, w);
    OP_IGNORE(msgpack_pack_array(&pk, 5)); /* failures stick in w->err */
    OP_IGNORE(msgpack_pack_uint64(&pk, PROTO_INVITE_VERSION));
    OP_IGNORE(msgpack_pack_bin_with_body(&pk, inv->office, PROTO_KEY_BYTES));
    OP_IGNORE(msgpack_pack_bin_with_body(&pk, inv->netkey, PROTO_NETKEY_BYTES));
    OP_IGNORE(msgpack_pack_bin_with_body(&pk, inv->token, PROTO_INVITE_TOKEN_BYTES));
    OP_IGNORE(msgpack_pack_array(&pk, inv->n_addrs));
    for (size_t i = 0; i < inv->n_addrs; i++)
        proto_mp_pack_cstr(&pk, inv->addrs[i]);
    return w->err;
}

op_err
proto_invite_encode(const proto_invite *inv, char *out, size_t max, size_t *len)
{
    uint8_t bin[PROTO_INVITE_MAX_BYTES];
    proto_wbuf w;
    op_err r;

    *len = 0;
    if (max > 0)
        out[0] = '\0';
    proto_wbuf_init(&w, bin, sizeof bin);
    if ((r = encode_bin(inv, &w)) != OP_OK)
        goto out;
    size_t need = sodium_base64_ENCODED_LEN(w.len, B64_VARIANT); /* with its NUL */
    if (max < PREFIX_LEN + need) {
        r = OP_E_TOOBIG;
        goto out;
    }
    memcpy(out, PROTO_INVITE_PREFIX, PREFIX_LEN);
    sodium_bin2base64(out + PREFIX_LEN, need, bin, w.len, B64_VARIANT);
    *len = PREFIX_LEN + need - 1;
out:
    sodium_memzero(bin, sizeof bin); /* it held the network key and the token */
    return r;
}

/* Copies a 32-byte bin element. */
static op_err
get_key(const msgpack_object *o, uint8_t out[32])
{
    const uint8_t *p;
    op_err r = proto_mp_bin(o, 32, &p);
    if (r == OP_OK)
        memcpy(out, p, 32);
    return r;
}

static op_err
decode_shape(const msgpack_object *o, proto_invite *inv)
{
    const msgpack_object *e, *a;
    uint64_t version;
    op_err r;

    if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size != 5)
        return OP_E_TYPE;
    e = o->via.array.ptr;
    if ((r = proto_mp_uint(&e[0], &version)) != OP_OK)
        return r;
    if (version != PROTO_INVITE_VERSION)
        return OP_E_VERSION;
    if ((r = get_key(&e[1], inv->office)) != OP_OK || (r = get_key(&e[2], inv->netkey)) != OP_OK ||
        (r = get_key(&e[3], inv->token)) != OP_OK)
        return r;
    a = &e[4];
    if (a->type != MSGPACK_OBJECT_ARRAY)
        return OP_E_TYPE;
    if (a->via.array.size > PROTO_INVITE_MAX_ADDRS)
        return OP_E_TOOBIG;
    for (uint32_t i = 0; i < a->via.array.size; i++) {
        const char *s;
        size_t n;
        if ((r = proto_mp_str(&a->via.array.ptr[i], PROTO_INVITE_ADDR_MAX_BYTES, &s, &n)) != OP_OK)
            return r;
        if (!proto_invite_addr_ok(s, n))
            return OP_E_INVAL;
        memcpy(inv->addrs[i], s, n);
        inv->addrs[i][n] = '\0';
        inv->n_addrs++;
    }
    return OP_OK;
}

op_err
proto_invite_decode(const char *text, size_t len, proto_invite *out)
{
    uint8_t bin[PROTO_INVITE_MAX_BYTES];
    char again[PROTO_INVITE_TEXT_MAX_BYTES];
    proto_mp_doc doc = {0};
    size_t n = 0, again_len;
    const char *end = NULL;
    op_err r;

    proto_invite_wipe(out);
    if (len > PROTO_INVITE_TEXT_MAX_BYTES - 1)
        return OP_E_TOOBIG;
    if (len < PREFIX_LEN || memcmp(text, PROTO_INVITE_PREFIX, PREFIX_LEN) != 0)
        return OP_E_VERSION;
    /* libsodium 1.0.18 maps some bytes over 0x7f to base64 values (its constant-time lookup
     * assumes ASCII), so the alphabet is checked here first. */
    for (size_t i = PREFIX_LEN; i < len; i++)
        if (!is_b64url_char(text[i]))
            return OP_E_MALFORMED;
    if (sodium_base642bin(bin, sizeof bin, text + PREFIX_LEN, len - PREFIX_LEN, NULL, &n, &end,
                          B64_VARIANT) != 0 ||
        end != text + len) {
        r = OP_E_MALFORMED;
        goto out;
    }
    if ((r = proto_mp_decode(bin, n, &doc)) != OP_OK ||
        (r = decode_shape(&doc.u.data, out)) != OP_OK)
        goto out;
    /* One invite, one text: anything else (a longer integer, a str16 for a short address...)
     * would let two different texts stand for the same invite. */
    if ((r = proto_invite_encode(out, again, sizeof again, &again_len)) != OP_OK)
        goto out;
    if (again_len != len || memcmp(again, text, len) != 0)
        r = OP_E_NONCANONICAL;
out:
    proto_mp_doc_fini(&doc);
    sodium_memzero(bin, sizeof bin);
    sodium_memzero(again, sizeof again);
    if (r != OP_OK)
        proto_invite_wipe(out);
    return r;
}

op_err
proto_join_proof_seal(const uint8_t office[PROTO_KEY_BYTES],
                      const uint8_t token[PROTO_INVITE_TOKEN_BYTES],
                      const uint8_t worker[PROTO_KEY_BYTES], uint8_t proof[PROTO_JOIN_PROOF_BYTES])
{
    uint8_t curve_pk[crypto_box_PUBLICKEYBYTES], msg[PROTO_INVITE_TOKEN_BYTES + PROTO_KEY_BYTES];
    op_err r = OP_OK;

    if (crypto_sign_ed25519_pk_to_curve25519(curve_pk, office) != 0)
        return OP_E_INVAL;
    memcpy(msg, token, PROTO_INVITE_TOKEN_BYTES);
    memcpy(msg + PROTO_INVITE_TOKEN_BYTES, worker, PROTO_KEY_BYTES);
    if (crypto_box_seal(proof, msg, sizeof msg, curve_pk) != 0)
        r = OP_E_AUTH;
    sodium_memzero(msg, sizeof msg);
    return r;
}

op_err
proto_join_proof_open(const uint8_t office_sk[PROTO_SECRET_BYTES],
                      const uint8_t proof[PROTO_JOIN_PROOF_BYTES],
                      uint8_t token[PROTO_INVITE_TOKEN_BYTES], uint8_t worker[PROTO_KEY_BYTES])
{
    uint8_t curve_pk[crypto_box_PUBLICKEYBYTES], curve_sk[crypto_box_SECRETKEYBYTES];
    uint8_t msg[PROTO_INVITE_TOKEN_BYTES + PROTO_KEY_BYTES];
    op_err r = OP_OK;

    if (crypto_sign_ed25519_pk_to_curve25519(curve_pk, office_sk + 32) != 0 ||
        crypto_sign_ed25519_sk_to_curve25519(curve_sk, office_sk) != 0) {
        r = OP_E_INVAL;
        goto out;
    }
    if (crypto_box_seal_open(msg, proof, PROTO_JOIN_PROOF_BYTES, curve_pk, curve_sk) != 0) {
        r = OP_E_AUTH;
        goto out;
    }
    memcpy(token, msg, PROTO_INVITE_TOKEN_BYTES);
    memcpy(worker, msg + PROTO_INVITE_TOKEN_BYTES, PROTO_KEY_BYTES);
out:
    if (r != OP_OK) {
        sodium_memzero(token, PROTO_INVITE_TOKEN_BYTES);
        sodium_memzero(worker, PROTO_KEY_BYTES);
    }
    sodium_memzero(curve_sk, sizeof curve_sk);
    sodium_memzero(msg, sizeof msg);
    return r;
}
