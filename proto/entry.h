/*
 * entry.h — the signed envelope of SPEC §4, its hash chain and run verification.
 *
 * Wire form (msgpack, canonical = shortest encodings, exactly this order):
 *   [ 1, author bin32, seq uint, prev bin32, ts uint, kind uint, epoch uint, body_hash bin32,
 *     sig bin64 ]
 * The signature is ed25519 by `author` over the canonical encoding of the 8-element array of
 * the first eight fields (that is, the envelope with header 0x98 and without the sig).
 * An entry's hash is BLAKE2b-256 of its whole envelope bytes, signature included; the next
 * entry's `prev` is that hash (32 zero bytes at seq 1). Nodes keep and forward exact bytes.
 */
#ifndef OUTPOST_PROTO_ENTRY_H
#define OUTPOST_PROTO_ENTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/err.h"

#define PROTO_KEY_BYTES 32
#define PROTO_SECRET_BYTES 64 /* ed25519 secret key: seed || public key */
#define PROTO_HASH_BYTES 32
#define PROTO_SIG_BYTES 64
#define PROTO_ENVELOPE_VERSION 1
/* The largest canonical envelope is 1+1+34+9+34+9+9+9+34+66 = 206 bytes. */
#define PROTO_ENVELOPE_MAX_BYTES 256
#define PROTO_BODY_MAX_BYTES 65536

enum proto_kind {
    PROTO_KIND_CHECKIN = 1,
    PROTO_KIND_KPI_DEF = 2,
    PROTO_KIND_KPI_VALUE = 3,
    PROTO_KIND_FEEDBACK = 4,
    PROTO_KIND_CONTACT = 5,
    PROTO_KIND_MEMBER = 6,
    PROTO_KIND_REVOKE = 7,
    PROTO_KIND_KEY = 8,
    PROTO_KIND_CORRECT = 9,
    PROTO_KIND_ERASE = 10,
    PROTO_KIND_JOIN = 11,
    PROTO_KIND_RECEIPT = 12,
};

/* Name of a kind ("checkin"), or NULL for kinds this version does not know. */
const char *proto_kind_name(uint64_t kind);
/* Kind for a name, 0 if unknown. */
uint64_t proto_kind_from_name(const char *name);

typedef struct proto_envelope {
    uint8_t author[PROTO_KEY_BYTES];
    uint64_t seq;
    uint8_t prev[PROTO_HASH_BYTES];
    uint64_t ts; /* ms since the epoch, author's clock, advisory */
    uint64_t kind;
    uint64_t epoch; /* 0 = plaintext body */
    uint8_t body_hash[PROTO_HASH_BYTES];
    uint8_t sig[PROTO_SIG_BYTES];
} proto_envelope;

/*
 * Decodes and checks the form of an envelope (not its signature). Codes: OP_E_TRUNCATED,
 * OP_E_TRAILING, OP_E_TYPE (a field of the wrong type, or not a 9-element array),
 * OP_E_TOOBIG / OP_E_MALFORMED (a bin of the wrong length, input over the cap),
 * OP_E_VERSION, OP_E_NONCANONICAL (a valid value in a longer form than needed), OP_E_INVAL
 * (seq 0 or kind 0), and the prescan's codes.
 */
OP_MUST_CHECK op_err proto_envelope_decode(const uint8_t *p, size_t len, proto_envelope *out);

/*
 * Signs e with sk (whose public half must be e->author: OP_E_INVAL otherwise), fills e->sig
 * and writes the envelope bytes to out (capacity max) and their length to *len.
 */
OP_MUST_CHECK op_err proto_envelope_sign(proto_envelope *e, const uint8_t sk[PROTO_SECRET_BYTES],
                                         uint8_t *out, size_t max, size_t *len);

/* Checks e->sig against the envelope bytes p[0..len) that e was decoded from. OP_E_AUTH. */
OP_MUST_CHECK op_err proto_envelope_verify_sig(const proto_envelope *e, const uint8_t *p,
                                               size_t len);

/* BLAKE2b-256 of bytes: an entry's hash (of its envelope) or a body's hash. */
void proto_hash(const uint8_t *p, size_t len, uint8_t out[PROTO_HASH_BYTES]);

/* One entry of a run: envelope bytes and, if held, body bytes (body == NULL: not held). */
typedef struct proto_run_item {
    const uint8_t *env;
    size_t env_len;
    const uint8_t *body;
    size_t body_len;
} proto_run_item;

/*
 * Verifies a run of n >= 1 entries of one author, in order (SPEC §4): each envelope decodes;
 * all share the author of the first (OP_E_AUTHOR); seqs follow one another (OP_E_SEQ); each
 * prev is the hash of the entry before (OP_E_CHAIN; at seq 1 prev must be zero); each held
 * body is at most PROTO_BODY_MAX_BYTES (OP_E_TOOBIG) and matches its body_hash
 * (OP_E_BODYHASH); and the signature of the last entry verifies (OP_E_AUTH). Because every
 * link is checked, that one signature authenticates the whole run.
 * The link from the first entry to what the caller holds is the caller's to check.
 * Fills envs[0..n) and hashes[0..n) (caller-allocated). On failure *bad is the index of the
 * first offending entry (n-1 for a bad head signature).
 */
OP_MUST_CHECK op_err proto_run_verify(const proto_run_item *items, size_t n, proto_envelope *envs,
                                      uint8_t (*hashes)[PROTO_HASH_BYTES], size_t *bad);

#endif
