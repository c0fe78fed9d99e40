/*
 * gen.h — synthetic, valid logs for the benchmarks (outpost-bench gen, ingest, and later sync).
 *
 * Author i of seed S is the ed25519 key pair crypto_sign_seed_keypair(BLAKE2b-256(S || i)),
 * with S as 8 bytes and i as 4 bytes, both little-endian, so every run with the same seed
 * writes the same authors. Each author's log is seq 1, a `key` entry (kind 8, epoch 0,
 * plaintext body) that seals a fresh random epoch key to the author itself and, if given, to an
 * office reader key; then check-ins and KPI values (kinds 1 and 3) whose msgpack bodies are
 * encrypted under that epoch key (epoch 1), so that envelope + body is about 250 bytes. The
 * contents (answers, values, timestamps) follow the seed; the epoch keys and the body nonces
 * are random, as in store_log_append, so two runs write the same logs with other ciphertexts.
 *
 * The machinery is shared with other generators (tools/gen_office.c): gen_run_append builds one
 * signed entry, and gen_pipeline signs logs on several threads while it ingests their runs.
 *
 * The keys are derived from a public seed: they are test keys and must never sign real data.
 */
#ifndef OUTPOST_TOOLS_GEN_H
#define OUTPOST_TOOLS_GEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/entry.h"
#include "proto/seal.h"
#include "store/db.h"
#include "store/reader.h"

/* The longest run gen_author_next builds in one call (and the largest --batch). */
#define GEN_RUN_MAX 100000
/* The largest body (as stored: ciphertext, or a plain key entry) gen_run_append writes. */
#define GEN_BODY_MAX_BYTES 512
/* Room per entry in a run's buffer: an envelope and the largest body gen writes. */
#define GEN_ENTRY_MAX_BYTES (PROTO_ENVELOPE_MAX_BYTES + GEN_BODY_MAX_BYTES)
/* 2026-01-01T00:00:00Z: the ts of every author's seq 1 (plus a per-author offset). */
#define GEN_TS_BASE_MS 1767225600000ull
/* Time between two entries of one author. */
#define GEN_TS_STEP_MS 600000ull

/* Author `index`'s key pair for `seed` (see the header comment). */
void gen_author_key(uint64_t seed, uint32_t index, uint8_t pk[PROTO_KEY_BYTES],
                    uint8_t sk[PROTO_SECRET_BYTES]);

/* One step of splitmix64: the generators' source of contents (the same everywhere; never for
 * secrets). */
uint64_t gen_rand(uint64_t *state);

/* How many entries author `index` writes when `entries` are spread over `authors`: the first
 * entries % authors authors write one more than the rest. */
uint64_t gen_author_entries(uint64_t entries, uint32_t authors, uint32_t index);

/* One author's log being written. Plain struct: embed it or allocate it. */
typedef struct gen_author {
    uint32_t index;
    uint8_t pk[PROTO_KEY_BYTES];
    uint8_t sk[PROTO_SECRET_BYTES];
    uint8_t epoch_key[PROTO_EPOCH_KEY_BYTES];
    bool has_office;
    uint8_t office[PROTO_KEY_BYTES];
    uint64_t seq;                   /* the last seq built; 0 before the first */
    uint8_t head[PROTO_HASH_BYTES]; /* hash of that entry's envelope */
    uint64_t rng;                   /* contents of the bodies */
} gen_author;

/* Starts author `index` of `seed` at seq 0 with a new random epoch key. office (may be NULL)
 * is a reader key that each key entry seals the epoch key to, besides the author. */
void gen_author_init(gen_author *a, uint64_t seed, uint32_t index,
                     const uint8_t office[PROTO_KEY_BYTES]);
/* Wipes the keys. */
void gen_author_fini(gen_author *a);

/* A run built in memory: items point into buf. Reusable: gen_run_reset grows it. */
typedef struct gen_run {
    proto_run_item *items;
    size_t n, cap; /* entries held, entries there is room for */
    uint8_t *buf;  /* cap * GEN_ENTRY_MAX_BYTES */
    size_t used;
    uint64_t received; /* ms: when the ingesting node receives it; 0 = gen_pipeline's `now` */
} gen_run;

void gen_run_init(gen_run *run);
void gen_run_free(gen_run *run); /* frees the contents; the struct may be reused after init */

/* Empties run (received = 0) and makes room for cap entries, 1..GEN_RUN_MAX. Pointers into the
 * old contents are no longer valid. OP_E_NOMEM, OP_E_INVAL. */
OP_MUST_CHECK op_err gen_run_reset(gen_run *run, size_t cap);

/*
 * Appends a's next entry (seq a->seq + 1, chained to a->head) to run: body b, encrypted under
 * key as epoch `epoch`, or stored plain when epoch is 0 (key, member and the other plaintext
 * kinds: b->kind decides nothing here), written at ts and signed with a->sk; advances a->seq
 * and a->head. Key entries' boxes are the caller's (b->sealed). OP_E_INVAL when the run is
 * full (gen_run_reset sets its room), OP_E_TOOBIG for a body over GEN_BODY_MAX_BYTES as stored,
 * or the codes of proto_body_encode for an invalid body. On failure a and run are unchanged.
 */
OP_MUST_CHECK op_err gen_run_append(gen_run *run, gen_author *a, const proto_body *b, uint64_t ts,
                                    uint64_t epoch, const uint8_t key[PROTO_EPOCH_KEY_BYTES]);

/*
 * Builds the next n entries (1 <= n <= GEN_RUN_MAX) of a's log into run (replacing what it
 * held): signed, chained to a->head, and advancing it. The entry at seq 1 is the key entry.
 * OP_E_NOMEM, OP_E_INVAL (n out of range), or a code of proto/ (which would be a bug here).
 */
OP_MUST_CHECK op_err gen_author_next(gen_author *a, size_t n, gen_run *run);

/* What gen_fill writes. */
typedef struct gen_opts {
    uint64_t entries; /* in all, key entries included; at least `authors` */
    uint32_t authors;
    uint64_t seed;
    size_t batch; /* entries per ingested run, 1..GEN_RUN_MAX */
    bool has_office;
    uint8_t office[PROTO_KEY_BYTES];
    int threads;  /* signing threads, 1..16 */
    uint64_t now; /* ms: the `received` time ingest records */
    /* Called from the ingesting thread after each run (may be NULL). */
    void (*progress)(void *ctx, uint64_t done, uint64_t total);
    void *ctx;
} gen_opts;

typedef struct gen_stats {
    uint64_t entries, runs, env_bytes, body_bytes;
    double seconds; /* wall time of gen_fill or gen_pipeline */
} gen_stats;

/*
 * Logs for gen_pipeline to build and ingest. Log i (0 <= i < logs) is built on one signing
 * thread: begin(ctx, i, state), then next(ctx, state, run, &last) until it sets last, then
 * end(ctx, state), which is called after every begin, also after a failure (it wipes keys).
 * `state` is state_bytes of memory per thread (zeroed once, reused from log to log). next
 * fills run (gen_run_reset, gen_run_append) with the log's next entries, in order; a run left
 * empty is skipped. The callbacks run on several threads at once, for different logs.
 */
typedef struct gen_source {
    uint32_t logs;
    size_t state_bytes;
    op_err (*begin)(void *ctx, uint32_t log, void *state);
    op_err (*next)(void *ctx, void *state, gen_run *run, bool *last);
    void (*end)(void *ctx, void *state);
    void *ctx;
} gen_source;

typedef struct gen_pipe_opts {
    int threads;    /* signing threads, 1..16 */
    uint64_t now;   /* ms: the `received` time of runs that do not set their own */
    uint64_t total; /* entries expected, only passed on to progress */
    /* Called from the ingesting thread after each run (may be NULL). */
    void (*progress)(void *ctx, uint64_t done, uint64_t total);
    void *ctx;
} gen_pipe_opts;

/*
 * Builds the logs of src on o->threads threads while the calling thread ingests each run, as
 * it comes, with store_log_ingest(db, rd, ...) (rd may be NULL: a relay's view), so everything
 * is verified and projected as real data would be. A run of which the store held an entry
 * already is OP_E_EXISTS. On failure, *bad (may be NULL) names the log whose run failed; the
 * runs ingested before it stay.
 */
OP_MUST_CHECK op_err gen_pipeline(store_db *db, store_reader *rd, const gen_source *src,
                                  const gen_pipe_opts *o, gen_stats *out, uint32_t *bad);

/*
 * Writes the logs of o into db: `threads` threads build and sign the authors' runs while the
 * calling thread ingests each run through store_log_ingest (a relay's reader), so everything
 * written is verified as real data would be. Refuses (OP_E_EXISTS) a store that already holds
 * one of these authors: new random epoch keys would make every entry a fork. On failure, *bad
 * (may be NULL) names the author index whose run failed, and the runs ingested before it stay.
 */
OP_MUST_CHECK op_err gen_fill(store_db *db, const gen_opts *o, gen_stats *out, uint32_t *bad);

#endif
