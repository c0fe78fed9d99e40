/*
 * msg.h — the sync messages carried in frames (SPEC §7). Each is a msgpack array whose first
 * element is its type:
 *
 *   HELLO    [1, version, root bin16, authors, now_ms]  root = hash of the whole have-vector
 *   BUCKETS  [2, bin 2048]      256 bucket hashes of 8 bytes; authors by their key's first byte
 *   HAVE     [3, bucket, [[author bin32, seq], ...]]   the sender's heads in one bucket
 *   RUN      [4, [[envelope bin, body bin | nil], ...]] consecutive entries of one author
 *   ACK      [5, [[author bin32, seq], ...]]           what the sender now holds durably
 *   PING     [6, n]    PONG [7, n]                      keepalive
 *   DONE     [8]       the sender has sent all it knows the peer lacks
 *   WANT     [9, author bin32, seq]  a RUN did not connect: send this author from seq on
 *
 * Reconciliation costs grow with the difference, not the total: equal roots end it at once;
 * otherwise only the buckets whose hashes differ exchange their heads. Decoders are bounded like
 * every other (prescan first); byte fields point into the input (borrowed).
 */
#ifndef OUTPOST_PROTO_MSG_H
#define OUTPOST_PROTO_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/buf.h"
#include "proto/entry.h"

#define PROTO_SYNC_VERSION 1
#define PROTO_ROOT_BYTES 16
#define PROTO_BUCKETS 256
#define PROTO_BUCKET_HASH_BYTES 8
#define PROTO_MSG_MAX_ITEMS 4096 /* heads per HAVE/ACK, entries per RUN */

enum proto_msg_type {
    PROTO_MSG_HELLO = 1,
    PROTO_MSG_BUCKETS = 2,
    PROTO_MSG_HAVE = 3,
    PROTO_MSG_RUN = 4,
    PROTO_MSG_ACK = 5,
    PROTO_MSG_PING = 6,
    PROTO_MSG_PONG = 7,
    PROTO_MSG_DONE = 8,
    PROTO_MSG_WANT = 9,
};

typedef struct proto_head_ref {
    const uint8_t *author; /* 32 bytes, borrowed */
    uint64_t seq;
} proto_head_ref;

typedef struct proto_msg {
    uint64_t type;
    /* HELLO */
    uint64_t version, authors, now_ms;
    const uint8_t *root; /* PROTO_ROOT_BYTES */
    /* BUCKETS */
    const uint8_t *buckets; /* PROTO_BUCKETS * PROTO_BUCKET_HASH_BYTES */
    /* HAVE (bucket), ACK */
    uint64_t bucket;
    size_t n_heads;
    proto_head_ref *heads; /* owned by the message */
    /* RUN */
    size_t n_items;
    proto_run_item *items; /* owned; bytes borrowed from the input */
    /* PING / PONG */
    uint64_t nonce;
    /* WANT */
    const uint8_t *author;
    uint64_t seq;
} proto_msg;

/* Decodes one message. Codes: the prescan's, OP_E_TYPE, OP_E_MALFORMED (unknown type or bad
 * shape), OP_E_TOOBIG (over PROTO_MSG_MAX_ITEMS), OP_E_VERSION (HELLO of another version).
 * Free with proto_msg_free (also after failure). */
OP_MUST_CHECK op_err proto_msg_decode(const uint8_t *p, size_t len, proto_msg *out);
void proto_msg_free(proto_msg *m);

/* Encoders: each writes one message into w (check w->err or the return). */
OP_MUST_CHECK op_err proto_msg_hello(proto_wbuf *w, const uint8_t root[PROTO_ROOT_BYTES],
                                     uint64_t authors, uint64_t now_ms);
OP_MUST_CHECK op_err proto_msg_buckets(proto_wbuf *w, const uint8_t *hashes);
/* HAVE (type PROTO_MSG_HAVE, with bucket) or ACK (type PROTO_MSG_ACK, bucket ignored). */
OP_MUST_CHECK op_err proto_msg_heads(proto_wbuf *w, uint64_t type, uint64_t bucket,
                                     const proto_head_ref *heads, size_t n);
OP_MUST_CHECK op_err proto_msg_run(proto_wbuf *w, const proto_run_item *items, size_t n);
/* PING, PONG (with nonce) or DONE. */
OP_MUST_CHECK op_err proto_msg_simple(proto_wbuf *w, uint64_t type, uint64_t nonce);

OP_MUST_CHECK op_err proto_msg_want(proto_wbuf *w, const uint8_t author[PROTO_KEY_BYTES],
                                    uint64_t seq);

/* Bytes a RUN message needs for these items (to fill frames without overflowing them). */
size_t proto_msg_run_size(const proto_run_item *items, size_t n);

#endif
