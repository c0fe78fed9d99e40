/* entry.c — envelope encoding, signing, hashing and run verification (see entry.h, SPEC §4). */
#include "proto/entry.h"

#include <sodium.h>
#include <string.h>

#include "proto/mp.h"

static const char *const kind_names[] = {
    NULL,       "checkin", "kpi_def", "kpi_value", "feedback", "contact", "member",
    "revoke",   "key",     "correct", "erase",     "join",     "receipt",
};
#define KIND_COUNT (sizeof kind_names / sizeof kind_names[0])

const char *
proto_kind_name(uint64_t kind)
{
    return kind < KIND_COUNT ? kind_names[kind] : NULL;
}

uint64_t
proto_kind_from_name(const char *name)
{
    for (uint64_t k = 1; k < KIND_COUNT; k++)
        if (strcmp(kind_names[k], name) == 0)
            return k;
    return 0;
}

/* The canonical encoding: all fields, or (for signing) the first eight under header 0x98. */
static op_err
encode_fields(const proto_envelope *e, bool with_sig, proto_wbuf *w)
{
    msgpack_packer pk;
    proto_mp_packer_init(&pk, w);
    OP_IGNORE(msgpack_pack_array(&pk, with_sig ? 9 : 8)); /* failures stick in w->err */
    OP_IGNORE(msgpack_pack_uint64(&pk, PROTO_ENVELOPE_VERSION));
    OP_IGNORE(msgpack_pack_bin_with_body(&pk, e->author, PROTO_KEY_BYTES));
    OP_IGNORE(msgpack_pack_uint64(&pk, e->seq));
    OP_IGNORE(msgpack_pack_bin_with_body(&pk, e->prev, PROTO_HASH_BYTES));
    OP_IGNORE(msgpack_pack_uint64(&pk, e->ts));
    OP_IGNORE(msgpack_pack_uint64(&pk, e->kind));
    OP_IGNORE(msgpack_pack_uint64(&pk, e->epoch));
    OP_IGNORE(msgpack_pack_bin_with_body(&pk, e->body_hash, PROTO_HASH_BYTES));
    if (with_sig)
        OP_IGNORE(msgpack_pack_bin_with_body(&pk, e->sig, PROTO_SIG_BYTES));
    return w->err;
}

static op_err
get_bin(const msgpack_object *o, size_t n, uint8_t *out)
{
    const uint8_t *p;
    op_err r = proto_mp_bin(o, n, &p);
    if (r == OP_OK)
        memcpy(out, p, n);
    return r;
}

op_err
proto_envelope_decode(const uint8_t *p, size_t len, proto_envelope *out)
{
    proto_mp_doc doc = {0};
    uint8_t again[PROTO_ENVELOPE_MAX_BYTES];
    proto_wbuf w;
    uint64_t version;
    op_err r;

    memset(out, 0, sizeof *out);
    if (len > PROTO_ENVELOPE_MAX_BYTES)
        return OP_E_TOOBIG;
    if ((r = proto_mp_decode(p, len, &doc)) != OP_OK)
        goto out;
    const msgpack_object *o = &doc.u.data;
    if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size == 0) {
        r = OP_E_TYPE;
        goto out;
    }
    const msgpack_object *a = o->via.array.ptr;
    if ((r = proto_mp_uint(&a[0], &version)) != OP_OK)
        goto out;
    if (version != PROTO_ENVELOPE_VERSION) {
        r = OP_E_VERSION;
        goto out;
    }
    if (o->via.array.size != 9) {
        r = OP_E_TYPE; /* a version-1 envelope is exactly a 9-element array */
        goto out;
    }
    if ((r = get_bin(&a[1], PROTO_KEY_BYTES, out->author)) != OP_OK ||
        (r = proto_mp_uint(&a[2], &out->seq)) != OP_OK ||
        (r = get_bin(&a[3], PROTO_HASH_BYTES, out->prev)) != OP_OK ||
        (r = proto_mp_uint(&a[4], &out->ts)) != OP_OK ||
        (r = proto_mp_uint(&a[5], &out->kind)) != OP_OK ||
        (r = proto_mp_uint(&a[6], &out->epoch)) != OP_OK ||
        (r = get_bin(&a[7], PROTO_HASH_BYTES, out->body_hash)) != OP_OK ||
        (r = get_bin(&a[8], PROTO_SIG_BYTES, out->sig)) != OP_OK)
        goto out;
    if (out->seq == 0 || out->kind == 0) {
        r = OP_E_INVAL;
        goto out;
    }
    /* Canonical means: encoding the decoded values again gives back the very same bytes. A
     * second encoding of the same entry would have another hash and break every chain. */
    proto_wbuf_init(&w, again, sizeof again);
    if ((r = encode_fields(out, true, &w)) != OP_OK)
        goto out;
    if (w.len != len || memcmp(again, p, len) != 0)
        r = OP_E_NONCANONICAL;
out:
    proto_mp_doc_fini(&doc);
    return r;
}

op_err
proto_envelope_sign(proto_envelope *e, const uint8_t sk[PROTO_SECRET_BYTES], uint8_t *out,
                    size_t max, size_t *len)
{
    uint8_t msg[PROTO_ENVELOPE_MAX_BYTES];
    proto_wbuf w;
    op_err r;

    *len = 0;
    /* An ed25519 secret key carries its public half in its last 32 bytes. */
    if (memcmp(sk + 32, e->author, PROTO_KEY_BYTES) != 0 || e->seq == 0 || e->kind == 0)
        return OP_E_INVAL;
    proto_wbuf_init(&w, msg, sizeof msg);
    if ((r = encode_fields(e, false, &w)) != OP_OK)
        return r;
    if (crypto_sign_detached(e->sig, NULL, msg, w.len, sk) != 0)
        return OP_E_AUTH;
    proto_wbuf_init(&w, out, max);
    if ((r = encode_fields(e, true, &w)) != OP_OK)
        return r;
    *len = w.len;
    return OP_OK;
}

op_err
proto_envelope_verify_sig(const proto_envelope *e, const uint8_t *p, size_t len)
{
    uint8_t msg[PROTO_ENVELOPE_MAX_BYTES];
    /* The signed bytes are the envelope's own bytes with the array header 0x99 -> 0x98 and
     * the trailing bin64 (2 + 64 bytes) left off; decode has proven the form. */
    if (len < 1 + 2 + PROTO_SIG_BYTES || len > sizeof msg)
        return OP_E_MALFORMED;
    size_t n = len - 2 - PROTO_SIG_BYTES;
    memcpy(msg, p, n);
    msg[0] = 0x98;
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
    /* Fuzz builds only (tools/fuzz.sh; never the CMake build): a fuzzer cannot forge ed25519,
     * so without this every mutated run would stop here and the chain and store logic behind
     * it would go unexplored (TESTING §D3). tests/fuzz/sigcheck.c proves the real build
     * refuses bad signatures. */
    return OP_OK;
#endif
    if (crypto_sign_verify_detached(e->sig, msg, n, e->author) != 0)
        return OP_E_AUTH;
    return OP_OK;
}

void
proto_hash(const uint8_t *p, size_t len, uint8_t out[PROTO_HASH_BYTES])
{
    crypto_generichash(out, PROTO_HASH_BYTES, p, len, NULL, 0);
}

static const uint8_t zero_hash[PROTO_HASH_BYTES];

op_err
proto_run_verify(const proto_run_item *items, size_t n, proto_envelope *envs,
                 uint8_t (*hashes)[PROTO_HASH_BYTES], size_t *bad)
{
    uint8_t h[PROTO_HASH_BYTES];
    op_err r;
    size_t i;

    *bad = 0;
    if (n == 0)
        return OP_E_INVAL;
    for (i = 0; i < n; i++) {
        const proto_run_item *it = &items[i];
        proto_envelope *e = &envs[i];
        if ((r = proto_envelope_decode(it->env, it->env_len, e)) != OP_OK)
            goto bad;
        if (i > 0) {
            if (memcmp(e->author, envs[0].author, PROTO_KEY_BYTES) != 0) {
                r = OP_E_AUTHOR;
                goto bad;
            }
            if (e->seq != envs[i - 1].seq + 1) {
                r = OP_E_SEQ;
                goto bad;
            }
            if (sodium_memcmp(e->prev, hashes[i - 1], PROTO_HASH_BYTES) != 0) {
                r = OP_E_CHAIN;
                goto bad;
            }
        } else if (e->seq == 1 && memcmp(e->prev, zero_hash, PROTO_HASH_BYTES) != 0) {
            r = OP_E_CHAIN;
            goto bad;
        }
        if (it->body) {
            if (it->body_len > PROTO_BODY_MAX_BYTES) {
                r = OP_E_TOOBIG;
                goto bad;
            }
            proto_hash(it->body, it->body_len, h);
            if (memcmp(h, e->body_hash, PROTO_HASH_BYTES) != 0) {
                r = OP_E_BODYHASH;
                goto bad;
            }
        }
        proto_hash(it->env, it->env_len, hashes[i]);
    }
    i = n - 1;
    if ((r = proto_envelope_verify_sig(&envs[i], items[i].env, items[i].env_len)) != OP_OK)
        goto bad;
    return OP_OK;
bad:
    *bad = i;
    return r;
}
