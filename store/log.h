/*
 * log.h — the append-only logs: appending this node's own entries, ingesting runs from others,
 * the have-vector, and reading runs back out (SPEC §4, §7).
 */
#ifndef OUTPOST_STORE_LOG_H
#define OUTPOST_STORE_LOG_H

#include <stddef.h>
#include <stdint.h>

#include "proto/body.h"
#include "proto/entry.h"
#include "store/db.h"
#include "store/keyfile.h"
#include "store/reader.h"

/* A new epoch key is started when the current one is this old (SPEC §6). */
#define STORE_EPOCH_MAX_AGE_MS (30ull * 24 * 3600 * 1000)

typedef struct store_appended {
    uint64_t seq;
    uint8_t hash[PROTO_HASH_BYTES];
} store_appended;

/*
 * Appends one entry with body b to id's own log, written at ts (ms), in one durable
 * transaction (synchronous=FULL). Bodies of member, revoke, join and receipt entries are plain
 * (every member must read them); others are encrypted under the current epoch key. When there
 * is none, when it is older than STORE_EPOCH_MAX_AGE_MS, or when the readers changed (this
 * node, and the office key in meta "office_key" if any), a new one is made and a `key` entry
 * sealing it to the readers is appended first, in the same transaction. Each set of readers
 * has its own epoch (table own_epochs). Returns only after COMMIT:
 * OP_OK means the entry survives a power cut. On failure nothing is stored.
 */
OP_MUST_CHECK op_err store_log_append(store_db *db, store_reader *rd, const store_identity *id,
                                      const proto_body *b, uint64_t ts, store_appended *out);
/* The same, with one more reader of this body: feedback is sealed to its addressee (`also`),
 * besides this node and the office, under an epoch kept for that set of readers. A revoked
 * addressee is OP_E_REVOKED: nothing new is sealed to a revoked key. */
OP_MUST_CHECK op_err store_log_append_to(store_db *db, store_reader *rd,
                                         const store_identity *id, const proto_body *b,
                                         const uint8_t *also, uint64_t ts, store_appended *out);

typedef struct store_ingested {
    size_t stored;  /* entries new to this node */
    size_t already; /* entries it held already (idempotent re-delivery) */
    size_t filled;  /* of those, held without a body until now: the body was stored and projected */
    bool evidence;  /* refused as a fork (OP_E_FORK, or OP_E_CHAIN at the run's first link):
                     * the author's signed word against the log held, kept in `forks`. An
                     * OP_E_CHAIN without it is a run broken inside: forged or corrupted. */
} store_ingested;

/*
 * Ingests a run of one author (proto_run_verify rules), received at `now` (ms), all or nothing
 * in one transaction. Entries already held are skipped, except that a body missing from one
 * (it came before without) is taken now and projected (out->filled); a run that does not start
 * at or below the held head + 1 is OP_E_GAP; a run whose first new entry does not link to the
 * held head is OP_E_CHAIN; an entry that differs from the held one at the same seq is OP_E_FORK
 * and the offered entry is kept as evidence in the forks table (nothing else of the run is
 * stored).
 * Readable bodies are projected through rd (may be NULL: project nothing but key entries).
 * *bad (may be NULL) gets the index of the offending entry.
 */
OP_MUST_CHECK op_err store_log_ingest(store_db *db, store_reader *rd, const proto_run_item *items,
                                      size_t n, uint64_t now, store_ingested *out, size_t *bad);

/* One author's held head. seq 0: nothing held. */
typedef struct store_head {
    uint8_t author[PROTO_KEY_BYTES];
    uint64_t seq;
} store_head;

/* The have-vector: every author this node holds entries of, with its contiguous head,
 * ordered by author key. Caller frees *out with free(). */
OP_MUST_CHECK op_err store_log_have(store_db *db, store_head **out, size_t *n);

/* A run read back out of the store, for sending. Items point into `buf`; free with
 * store_run_free. */
typedef struct store_run {
    proto_run_item *items;
    size_t n;
    uint8_t *buf;
} store_run;

/* Reads up to max entries of author from seq `from` on (fewer if the log ends). */
OP_MUST_CHECK op_err store_log_read(store_db *db, const uint8_t author[PROTO_KEY_BYTES],
                                    uint64_t from, size_t max, store_run *out);
void store_run_free(store_run *run); /* NULL-safe contents */

#endif
