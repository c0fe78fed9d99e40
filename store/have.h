/*
 * have.h — summaries of the have-vector for reconciliation (SPEC §7, proto/msg.h): a root hash
 * over everything, 256 bucket hashes (authors grouped by the first byte of their key), and the
 * heads of one bucket. Two nodes with equal roots hold the same contiguous heads.
 */
#ifndef OUTPOST_STORE_HAVE_H
#define OUTPOST_STORE_HAVE_H

#include "proto/msg.h"
#include "store/db.h"
#include "store/log.h"

typedef struct store_have_summary {
    uint8_t root[PROTO_ROOT_BYTES];
    uint8_t buckets[PROTO_BUCKETS * PROTO_BUCKET_HASH_BYTES]; /* zero for an empty bucket */
    uint64_t authors;
} store_have_summary;

/* Computes the summary from the authors table. */
OP_MUST_CHECK op_err store_have_summary_get(store_db *db, store_have_summary *out);

/* The heads (author, seq > 0) whose key starts with byte `bucket`, ordered by key.
 * Caller frees *out with free(). */
OP_MUST_CHECK op_err store_have_bucket(store_db *db, unsigned bucket, store_head **out, size_t *n);

/* The held head of one author (0 if none). */
OP_MUST_CHECK op_err store_have_head(store_db *db, const uint8_t author[PROTO_KEY_BYTES],
                                     uint64_t *seq);

#endif
