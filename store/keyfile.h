/*
 * keyfile.h — secret files in the node's directory: written atomically (temporary file, fsync,
 * rename, fsync of the directory) with mode 0600, read back with a check that nobody else can
 * read them. The identity's secret key lives in sodium_malloc'd memory and is wiped on free.
 *
 * File format: one line, "outpost-secret-v1 " followed by the secret in standard base64.
 */
#ifndef OUTPOST_STORE_KEYFILE_H
#define OUTPOST_STORE_KEYFILE_H

#include <stddef.h>
#include <stdint.h>

#include "proto/entry.h"

#define STORE_IDENTITY_FILE "identity.key"
#define STORE_DB_FILE "outpost.db"

typedef struct store_identity {
    uint8_t pk[PROTO_KEY_BYTES];
    uint8_t *sk; /* PROTO_SECRET_BYTES, sodium_malloc'd */
} store_identity;

/*
 * Writes secret (n bytes) to path atomically with mode 0600. OP_E_EXISTS if path exists
 * (secrets are never overwritten by accident), OP_E_IO otherwise on failure.
 */
OP_MUST_CHECK op_err store_keyfile_write(const char *path, const uint8_t *secret, size_t n);
/*
 * Reads exactly n secret bytes from path. OP_E_NOTFOUND if missing, OP_E_AUTH if the file is
 * readable or writable by group or others (like ssh, we refuse to use such a key),
 * OP_E_MALFORMED if it is not a key file of n bytes.
 */
OP_MUST_CHECK op_err store_keyfile_read(const char *path, uint8_t *secret, size_t n);

/* Creates a new ed25519 identity in dir/identity.key. Caller frees with store_identity_free. */
OP_MUST_CHECK op_err store_identity_create(const char *dir, store_identity **out);
/* Loads dir/identity.key (codes of store_keyfile_read). */
OP_MUST_CHECK op_err store_identity_load(const char *dir, store_identity **out);
void store_identity_free(store_identity *id); /* wipes; NULL-safe */

#endif
