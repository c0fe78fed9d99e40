/*
 * erase.h — erasure of a record's body (SPEC §5 kind 10 `erase`, TESTING C15, threat T16).
 *
 * An erase entry {re: [author, seq]} is written by the record's author or by the office, in
 * plaintext, so that every holder, relays included, acts on it. A holder then drops that
 * entry's body (the ciphertext, and any fork evidence's body at that seq) and the projections
 * made from it, and keeps the envelope: the envelope's signature covers the body's hash, not
 * the body, so every chain still verifies. A tombstone (table `erased`) remembers it: a body
 * offered later for that entry (by a peer that had not heard of the erasure, or with the
 * entry itself when the erase arrived first) is not stored. After the transaction the WAL is
 * checkpointed and emptied (store_db_scrub_after_commit) and secure_delete zeroes the freed
 * bytes, so no copy of the body stays in the database file or its WAL.
 *
 * Only a member's records can be erased (check-ins, KPI definitions and values, feedback,
 * contacts, corrections and kinds this version does not know): membership, revocation, key,
 * join, receipt and erase entries are what every node needs to read and check the logs.
 * An erase entry by anyone else, or by the author for an entry it had not written yet (seq not
 * below the erase's own), is stored and relayed and counts for nothing.
 */
#ifndef OUTPOST_STORE_ERASE_H
#define OUTPOST_STORE_ERASE_H

#include <stdbool.h>
#include <stdint.h>

#include "proto/body.h"
#include "store/db.h"

/* Whether bodies of this kind may be erased (see above). */
bool store_erase_kind_ok(uint64_t kind);

/*
 * Applies the erase entry b (kind PROTO_KIND_ERASE) written by by_author at by_seq, inside the
 * caller's transaction, at `now` (ms). OP_OK also when it counts for nothing (see above);
 * other codes are store failures.
 */
OP_MUST_CHECK op_err store_erase_apply(store_db *db, int64_t by_author, uint64_t by_seq,
                                       const proto_body *b, uint64_t now);

/* Whether any of author's seqs first..last has been erased here (one query for a whole run). */
OP_MUST_CHECK op_err store_erase_any(store_db *db, int64_t author, uint64_t first, uint64_t last,
                                     bool *any);
/* Whether (author, seq) has been erased here: its body is not stored. */
OP_MUST_CHECK op_err store_erase_is(store_db *db, int64_t author, uint64_t seq, bool *erased);

#endif
