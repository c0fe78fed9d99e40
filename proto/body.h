/*
 * body.h — the plaintext bodies of SPEC §5 that this version writes and projects: checkin,
 * kpi_def, kpi_value, feedback, contact, key, receipt, erase, and the membership kinds member,
 * revoke and join. A body is a
 * msgpack map with string keys, written in a fixed key order with only the fields present.
 * Decoding ignores unknown keys (forward compatibility),
 * refuses a known key given twice (OP_E_MALFORMED), a known key of the wrong type (OP_E_TYPE),
 * text over its cap (OP_E_TOOBIG), and values out of range, a required field left out, or
 * text that is not UTF-8 (OP_E_INVAL).
 */
#ifndef OUTPOST_PROTO_BODY_H
#define OUTPOST_PROTO_BODY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/buf.h"
#include "proto/entry.h"

#define PROTO_TEXT_MAX_BYTES 4096 /* note, blockers, wins */
#define PROTO_NAME_MAX_BYTES 200  /* site, title, unit */
#define PROTO_ID_MAX_BYTES 64     /* KPI id: [a-z0-9_-]+ */
#define PROTO_SEALED_BYTES 80     /* crypto_box_seal of a 32-byte epoch key */
#define PROTO_NUMBER_MAX 1e15 /* |KPI value|, |target|: sums of many stay finite and exact */
#define PROTO_SEALED_MAX 512 /* readers per key entry: 512 x 117 bytes fit in a body */
/* A join proof: crypto_box_seal (48 bytes of overhead) of token (32) || worker key (32). */
#define PROTO_JOIN_PROOF_BYTES 112

typedef enum proto_tri { PROTO_UNSET = -1, PROTO_NO = 0, PROTO_YES = 1 } proto_tri;

/* A receipt: the office holds author's log up to seq. */
typedef struct proto_receipt_head {
    uint8_t author[PROTO_KEY_BYTES];
    uint64_t seq;
} proto_receipt_head;
#define PROTO_RECEIPT_MAX_HEADS 1024 /* 1024 x 44 bytes fit in a body */

typedef struct proto_sealed {
    uint8_t reader[PROTO_KEY_BYTES];
    uint8_t box[PROTO_SEALED_BYTES];
} proto_sealed;

/*
 * One body of any kind above; only the fields of `kind` are meaningful. Text fields are owned,
 * NUL-terminated, NULL when absent. Free with proto_body_fini.
 */
typedef struct proto_body {
    uint64_t kind;
    /* checkin */
    proto_tri delivering, thriving, support;
    unsigned energy; /* 1..5, 0 = absent */
    char *note, *blockers, *wins, *site;
    /* kpi_def (and id for kpi_value) */
    char *id, *title, *unit, *direction, *period;
    char *aggregate; /* "sum", "mean" or "last" over a period; absent: by unit (proto_kpi_aggregate) */
    double target;
    bool has_for;
    uint8_t for_key[PROTO_KEY_BYTES];
    /* kpi_value */
    double value;
    char *at; /* YYYY-MM-DD */
    /* key */
    uint64_t epoch;
    size_t n_sealed;
    proto_sealed *sealed;
    /* member {key, name, site, role}; revoke {key, after_seq}; join {name, site, proof} */
    bool has_key;
    uint8_t key[PROTO_KEY_BYTES]; /* the member's (or revoked) ed25519 key */
    char *name;                   /* 1..PROTO_NAME_MAX_BYTES, no control characters */
    char *role;                   /* "worker" or "office" */
    uint64_t after_seq;           /* revoke: that author's entries above this seq are refused */
    bool has_proof;
    uint8_t proof[PROTO_JOIN_PROOF_BYTES]; /* see proto/invite.h */
    /* feedback {to, text, re}; contact {with, topic, note} */
    bool has_who;
    uint8_t who[PROTO_KEY_BYTES]; /* feedback: the addressee (to); contact: the member (with) */
    char *text;                   /* feedback */
    char *topic;                  /* contact: wellbeing, delivery, development or other */
    bool has_re;
    proto_receipt_head re; /* feedback: the entry it answers; erase: the entry whose body goes
                            * ([author, seq], seq 1..2^32-1) */
    /* receipt {heads: [[author, seq], ...]} */
    size_t n_heads;
    proto_receipt_head *heads; /* owned */
} proto_body;

/* Sets every field to absent. */
void proto_body_init(proto_body *b, uint64_t kind);
void proto_body_fini(proto_body *b);

/* True if this version can decode and project bodies of kind. */
bool proto_body_kind_known(uint64_t kind);

/* Checks the values of b against the rules of its kind (OP_E_INVAL, OP_E_TOOBIG). */
OP_MUST_CHECK op_err proto_body_check(const proto_body *b);
/* Checks, then writes b's msgpack map into w. */
OP_MUST_CHECK op_err proto_body_encode(const proto_body *b, proto_wbuf *w);
/* Decodes a plaintext body of the given kind into b (initialised here; fini it always). */
OP_MUST_CHECK op_err proto_body_decode(uint64_t kind, const uint8_t *p, size_t len, proto_body *b);

/* How a KPI's values in one period combine when the definition does not say (SPEC §5): a
 * percentage, score, rating or level is a state (mean); anything else counts (sum). */
const char *proto_kpi_aggregate(const proto_body *def);

/* Syntax checks shared with the CLI. */
bool proto_is_slug(const char *s);
/* A real calendar date written YYYY-MM-DD. */
bool proto_is_date(const char *s);
/* Well-formed UTF-8 (no overlongs, no surrogates, nothing over U+10FFFF). */
bool proto_is_utf8(const char *s, size_t n);

#endif
