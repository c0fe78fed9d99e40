/*
 * seal.h — body encryption under epoch keys and the sealing of epoch keys to readers (SPEC §6).
 *
 * An encrypted body is nonce (24) || XChaCha20-Poly1305 ciphertext of the plaintext map, with
 * author || seq (8 bytes big-endian) || kind (8 bytes big-endian) as associated data, so a body
 * cannot be moved to another entry. Epoch keys are sealed to each reader's ed25519 key
 * converted to X25519 (crypto_box_seal): only the reader can open them.
 */
#ifndef OUTPOST_PROTO_SEAL_H
#define OUTPOST_PROTO_SEAL_H

#include <stddef.h>
#include <stdint.h>

#include "proto/body.h"

#define PROTO_EPOCH_KEY_BYTES 32
#define PROTO_SEAL_OVERHEAD 40 /* nonce 24 + tag 16 */

/* Fills key with a fresh random epoch key. */
void proto_epoch_key_new(uint8_t key[PROTO_EPOCH_KEY_BYTES]);

/* Encrypts plain into out (capacity max; needs n + PROTO_SEAL_OVERHEAD). */
OP_MUST_CHECK op_err proto_seal_body(const uint8_t key[PROTO_EPOCH_KEY_BYTES],
                                     const uint8_t author[PROTO_KEY_BYTES], uint64_t seq,
                                     uint64_t kind, const uint8_t *plain, size_t n, uint8_t *out,
                                     size_t max, size_t *outlen);
/* Decrypts; OP_E_TRUNCATED if shorter than the overhead, OP_E_AUTH if it does not open. */
OP_MUST_CHECK op_err proto_open_body(const uint8_t key[PROTO_EPOCH_KEY_BYTES],
                                     const uint8_t author[PROTO_KEY_BYTES], uint64_t seq,
                                     uint64_t kind, const uint8_t *in, size_t n, uint8_t *out,
                                     size_t max, size_t *outlen);

/* Seals an epoch key to the reader's ed25519 public key. OP_E_INVAL for a key that is not a
 * valid curve point. */
OP_MUST_CHECK op_err proto_seal_epoch_key(const uint8_t reader[PROTO_KEY_BYTES],
                                          const uint8_t key[PROTO_EPOCH_KEY_BYTES],
                                          uint8_t box[PROTO_SEALED_BYTES]);
/* Opens a sealed epoch key with our ed25519 secret key. OP_E_AUTH if it is not for us. */
OP_MUST_CHECK op_err proto_open_epoch_key(const uint8_t sk[PROTO_SECRET_BYTES],
                                          const uint8_t box[PROTO_SEALED_BYTES],
                                          uint8_t key[PROTO_EPOCH_KEY_BYTES]);

/* Keys as text: standard base64, 44 characters. out needs PROTO_KEY_TEXT_BYTES. */
#define PROTO_KEY_TEXT_BYTES 45
void proto_key_to_text(const uint8_t key[PROTO_KEY_BYTES], char out[PROTO_KEY_TEXT_BYTES]);
/* OP_E_INVAL unless s is exactly 44 characters of base64 for 32 bytes. */
OP_MUST_CHECK op_err proto_key_from_text(const char *s, uint8_t key[PROTO_KEY_BYTES]);

#endif
