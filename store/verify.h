/*
 * verify.h — re-checks the whole store: SQLite's own structure (quick_check), then every
 * author's log from seq 1: contiguous seqs, each envelope canonical and of that author, each
 * link, the stored hash, each held body against its body_hash, every signature, and the head
 * recorded for the author. Reads only.
 */
#ifndef OUTPOST_STORE_VERIFY_H
#define OUTPOST_STORE_VERIFY_H

#include <stdint.h>

#include "proto/entry.h"
#include "store/db.h"

typedef struct store_verify_cb {
    void *ctx;
    /* One call per problem found. author is NULL for a problem of the database as a whole;
     * seq 0 means the problem is not in one entry. */
    void (*problem)(void *ctx, const uint8_t author[PROTO_KEY_BYTES], uint64_t seq, op_err e,
                    const char *what);
    /* Called now and then with entries checked so far and the total (may be NULL). */
    void (*progress)(void *ctx, uint64_t done, uint64_t total);
} store_verify_cb;

typedef struct store_verified {
    uint64_t authors, entries, bodies, problems;
} store_verified;

/* OP_OK when the walk completed (problems are counted in out->problems, not returned);
 * another code when the store could not be read at all. */
OP_MUST_CHECK op_err store_verify(store_db *db, const store_verify_cb *cb, store_verified *out);

#endif
