/*
 * view.h — projections: the tables that answer queries (check-ins, KPI definitions and values,
 * which key entry holds which epoch). They are derived from the log and written in the same
 * transaction as the entries they come from. Bodies this node cannot read are skipped: that
 * is what a relay sees, not an error.
 */
#ifndef OUTPOST_STORE_VIEW_H
#define OUTPOST_STORE_VIEW_H

#include "proto/body.h"
#include "store/db.h"
#include "store/reader.h"

/* Projects a decoded body of (author, seq) written at ts. */
OP_MUST_CHECK op_err store_view_project(store_db *db, int64_t author, uint64_t seq, uint64_t ts,
                                        const proto_body *b);

/*
 * Projects a stored entry from its bytes: records key entries, and decrypts and projects the
 * bodies this node can read. Returns OP_OK when the body is unreadable, absent, of an unknown
 * kind or invalid; other codes are store failures.
 */
OP_MUST_CHECK op_err store_view_apply(store_db *db, store_reader *rd, int64_t author,
                                      const proto_envelope *env, const uint8_t *body, size_t len);

#endif
