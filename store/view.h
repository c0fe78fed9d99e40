/*
 * view.h — projections: the tables that answer queries (check-ins, KPI definitions and values,
 * feedback, contacts, members, which key entry holds which epoch). They are derived from the
 * log and written in the same transaction as the entries they come from, and can be rebuilt
 * from it. Bodies this node cannot read are skipped: that is what a relay sees, not an error.
 */
#ifndef OUTPOST_STORE_VIEW_H
#define OUTPOST_STORE_VIEW_H

#include "proto/body.h"
#include "store/db.h"
#include "store/reader.h"

/* Projects a decoded body of (author, seq) written at ts. A member entry that admits someone
 * projects the new member's entries held so far (their bodies read through rd; NULL: later,
 * by reindex). */
OP_MUST_CHECK op_err store_view_project(store_db *db, store_reader *rd, int64_t author,
                                        uint64_t seq, uint64_t ts, const proto_body *b);

/*
 * Whether the records of author (check-ins, KPIs, feedback, contacts) count here (SPEC §6):
 * those of the office, of this node, and of admitted members; everyone's while this node knows
 * no office. Others are held and relayed, never projected, until the office admits them.
 */
OP_MUST_CHECK op_err store_view_author_counts(store_db *db, int64_t author, bool *counts);

/*
 * Projects a stored entry from its bytes: records key entries, and decrypts and projects the
 * bodies this node can read; records (check-ins, KPIs, ...) only when `counts`
 * (store_view_author_counts). Returns OP_OK when the body is unreadable, absent, of an unknown
 * kind or invalid; other codes are store failures.
 */
OP_MUST_CHECK op_err store_view_apply(store_db *db, store_reader *rd, int64_t author, bool counts,
                                      const proto_envelope *env, const uint8_t *body, size_t len);

/* The projections' own version: raise it when what a projection holds changes, and every
 * store rebuilds its views when next opened (store_view_ensure). */
#define STORE_VIEW_VERSION 1

typedef void (*store_view_progress)(void *ctx, uint64_t done, uint64_t total);

/*
 * Rebuilds every projection from the log in one transaction (`outpost reindex`): check-ins,
 * KPIs, feedback, contacts, key entries, joins and members. Acks and this node's own state
 * are kept. progress (may be NULL) is called every 10,000 entries and at the end. *entries
 * (may be NULL) gets the number of entries replayed.
 */
OP_MUST_CHECK op_err store_view_reindex(store_db *db, store_reader *rd,
                                        store_view_progress progress, void *ctx,
                                        uint64_t *entries);
/* Records that the projections are of this STORE_VIEW_VERSION (a new store's are: empty). */
OP_MUST_CHECK op_err store_view_stamp(store_db *db);
/* Rebuilds the projections if they were made by another STORE_VIEW_VERSION (or never). */
OP_MUST_CHECK op_err store_view_ensure(store_db *db, store_reader *rd, bool *rebuilt);

#endif
