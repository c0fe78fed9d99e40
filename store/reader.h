/*
 * reader.h — reading bodies: finds the epoch key of (author, epoch) in that author's `key`
 * entry, opens it with this node's identity, and keeps it in a small wiped cache.
 *
 * A node that is not among an epoch's readers gets OP_E_NOKEY: that is the normal case for a
 * relay, not an error. Misses are cached too, so a relay ingesting a million unreadable
 * entries does not look the key up a million times; a newly stored key entry clears them.
 */
#ifndef OUTPOST_STORE_READER_H
#define OUTPOST_STORE_READER_H

#include "proto/body.h"
#include "proto/seal.h"
#include "store/db.h"
#include "store/keyfile.h"

typedef struct store_reader store_reader;

/* id is borrowed (NULL: a reader with no identity, which reads only plaintext bodies) and
 * must outlive the reader. Caller frees with store_reader_free. */
OP_MUST_CHECK op_err store_reader_new(const store_identity *id, store_reader **out);
void store_reader_free(store_reader *rd); /* wipes; NULL-safe */

/* The epoch key for (author, epoch). *key is borrowed: valid until the next call on rd. */
OP_MUST_CHECK op_err store_reader_epoch_key(store_reader *rd, store_db *db, int64_t author,
                                            uint64_t epoch, const uint8_t **key);
/* Remembers a key this node just created, and forgets any cached miss for it. */
void store_reader_remember(store_reader *rd, int64_t author, uint64_t epoch,
                           const uint8_t key[PROTO_EPOCH_KEY_BYTES]);
/* Forgets what is cached for (author, epoch), after a key entry for it was stored. rd may be
 * NULL. */
void store_reader_forget(store_reader *rd, int64_t author, uint64_t epoch);
/* Forgets everything cached (after a rollback: author ids may be reused). rd may be NULL. */
void store_reader_clear(store_reader *rd);

/*
 * Decrypts (when epoch > 0) and decodes a body into out (initialised here; fini it always).
 * rd may be NULL: then only plaintext bodies are read.
 * OP_E_NOKEY when this node cannot read it, OP_E_AUTH when the ciphertext does not open, or
 * the codes of proto_body_decode.
 */
OP_MUST_CHECK op_err store_reader_body(store_reader *rd, store_db *db, int64_t author,
                                       const proto_envelope *env, const uint8_t *body, size_t len,
                                       proto_body *out);

#endif
