/*
 * member.h — team membership in the store (SPEC §6): invitations kept by the office, a worker
 * joining with an invite code, the office admitting join requests, and who is a member.
 *
 * The membership list is the office's log: `member` and `revoke` entries written by the office
 * (meta "office_key"; on the office itself that is its own key) are projected into the members
 * table on every node that knows the office (store/view.c); the same entries from anyone else
 * are stored and relayed but count for nothing. `join` entries, from anyone, are projected into
 * the joins table; only the office can open their proofs.
 *
 * Tables (schema v2, store/db.c): invites(token_hash, name, site, created, used_by, used_at),
 * members(key, name, site, role, admitted, revoked_after), joins(author, seq, name, site,
 * proof, ts).
 */
#ifndef OUTPOST_STORE_MEMBER_H
#define OUTPOST_STORE_MEMBER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/body.h"
#include "proto/invite.h"
#include "store/db.h"
#include "store/keyfile.h"
#include "store/log.h"
#include "store/reader.h"

typedef enum store_member_state {
    STORE_MEMBER_NONE = 0, /* not a member: unknown, or a join not admitted (yet) */
    STORE_MEMBER_MEMBER,   /* admitted by the office */
    STORE_MEMBER_OFFICE,   /* the office (meta office_key), or admitted with role office */
    STORE_MEMBER_REVOKED,  /* revoked: its entries above revoked_after are refused */
} store_member_state;

typedef struct store_member {
    store_member_state state;
    uint64_t revoked_after;              /* STORE_MEMBER_REVOKED only */
    uint64_t admitted;                   /* ts of the member entry (ms); 0 if none is held */
    char name[PROTO_NAME_MAX_BYTES + 1]; /* "" when this node does not know it */
    char site[PROTO_NAME_MAX_BYTES + 1];
} store_member;

/* What this node knows of key (for the agent: refuse revoked keys, name members). */
OP_MUST_CHECK op_err store_member_get(store_db *db, const uint8_t key[PROTO_KEY_BYTES],
                                      store_member *out);

/*
 * Office: records an invitation, keeping only BLAKE2b-256(token), with the invited name and
 * site (site may be NULL), made at now (ms). One durable transaction. OP_E_EXISTS if the token
 * was recorded before.
 */
OP_MUST_CHECK op_err store_member_invite_add(store_db *db,
                                             const uint8_t token[PROTO_INVITE_TOKEN_BYTES],
                                             const char *name, const char *site, uint64_t now);

typedef struct store_joined {
    bool already;      /* this code was used here before: nothing was done */
    uint64_t join_seq; /* the join entry's seq in this node's log */
    size_t peers;      /* addresses of the code stored in the peers table */
} store_joined;

/*
 * Worker: joins the team of inv. Appends a join entry {name, site (meta), proof sealing
 * inv->token || id->pk to inv->office} (durable), then in one transaction sets meta
 * "office_key", adds each address to the peers table (key = the office), remembers the code
 * (meta "join_token" = BLAKE2b-256 of its token, "join_seq") and projects the office entries
 * this node already holds. Because office_key changed, the next encrypted entry starts a new
 * epoch sealed to the office too (store_log_append).
 * Joining again with the same code does nothing (out->already). Codes: OP_E_INVAL on an office
 * node; OP_E_EXISTS if this node already belongs to another office; store codes.
 * The network key is the caller's to write (store_keyfile_write).
 */
OP_MUST_CHECK op_err store_member_join(store_db *db, store_reader *rd, const store_identity *id,
                                       const proto_invite *inv, uint64_t now, store_joined *out);

/* A join request this node holds whose author is not a member (nor revoked). */
typedef struct store_join {
    uint8_t author[PROTO_KEY_BYTES];
    uint64_t seq, ts;
    char name[PROTO_NAME_MAX_BYTES + 1];
    char site[PROTO_NAME_MAX_BYTES + 1];
    uint8_t proof[PROTO_JOIN_PROOF_BYTES];
} store_join;

/* The pending join requests, oldest first. Caller frees *out with free(). */
OP_MUST_CHECK op_err store_member_pending(store_db *db, store_join **out, size_t *n);

/*
 * Office: admits every pending join whose proof opens with id's key, names the join's own
 * author, and carries a token whose hash is an unused invitation. For each, in order: marks
 * the invitation used (used_by, used_at = now) in one durable transaction, then appends a
 * member entry {key, the invited name, the invited site (else the join's), role worker} with
 * store_log_append. A join whose proof does not open, names another key, or carries an unknown
 * or used token is skipped and stays pending. On a node that is not the office (meta role,
 * office_key) nothing is done. *admitted counts the member entries written. Stops at the first
 * store failure (what was admitted before it stays admitted).
 */
OP_MUST_CHECK op_err store_member_admit_pending(store_db *db, store_reader *rd,
                                                const store_identity *id, uint64_t now,
                                                size_t *admitted);

/* Why a revoked key was refused (the refusals table): it connected, or a peer offered a run of
 * its entries past the revocation. */
#define STORE_REFUSED_CONNECT "connect"
#define STORE_REFUSED_ENTRIES "entries"

/*
 * Records that key, revoked, was refused at `at` for `why` (STORE_REFUSED_*): one row per key
 * and reason with the first and last time and a count, so a stolen laptop that keeps
 * retrying adds no rows. The office's `outpost alerts` reports it (revoked_activity). Its own
 * statement, outside any transaction of the caller's; store codes.
 */
OP_MUST_CHECK op_err store_member_refused(store_db *db, const uint8_t key[PROTO_KEY_BYTES],
                                          const char *why, uint64_t at);

#endif
