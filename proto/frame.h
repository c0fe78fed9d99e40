/*
 * frame.h — the encrypted stream after the handshake: one crypto_secretstream_xchacha20poly1305
 * per direction, carrying length-prefixed frames.
 *
 *   stream = header (24 bytes, in clear) || frame*
 *   frame  = length (4 bytes, big-endian, of what follows) || secretstream ciphertext
 *
 * The length is in clear but bounded (PROTO_FRAME_MAX_BYTES of plaintext), and any change to it
 * breaks the AEAD of the frame. Secretstream numbers the frames itself, so a frame dropped,
 * duplicated, reordered or flipped fails to decrypt (OP_E_AUTH). The last frame carries
 * TAG_FINAL: a stream that ends without it was cut (OP_E_TRUNCATED).
 */
#ifndef OUTPOST_PROTO_FRAME_H
#define OUTPOST_PROTO_FRAME_H

#include <sodium.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/err.h"

/* One entry with the largest body (64 KiB), its envelope and message framing fits. */
#define PROTO_FRAME_MAX_BYTES (72 * 1024)
#define PROTO_FRAME_HEADER_BYTES crypto_secretstream_xchacha20poly1305_HEADERBYTES
#define PROTO_FRAME_OVERHEAD (4 + crypto_secretstream_xchacha20poly1305_ABYTES)

typedef struct proto_stream {
    crypto_secretstream_xchacha20poly1305_state st;
    bool ended; /* final frame sent or received */
} proto_stream;

/* Starts the sending side with key; writes the 24-byte header to send first. */
OP_MUST_CHECK op_err proto_stream_push_init(proto_stream *s, const uint8_t key[32],
                                            uint8_t header[PROTO_FRAME_HEADER_BYTES]);
/* Starts the receiving side from the peer's header. OP_E_AUTH if it is unusable. */
OP_MUST_CHECK op_err proto_stream_pull_init(proto_stream *s, const uint8_t key[32],
                                            const uint8_t header[PROTO_FRAME_HEADER_BYTES]);

/* Seals n bytes (n <= PROTO_FRAME_MAX_BYTES) as one frame into out (needs n +
 * PROTO_FRAME_OVERHEAD). final ends the stream. */
OP_MUST_CHECK op_err proto_stream_seal(proto_stream *s, const uint8_t *msg, size_t n, bool final,
                                       uint8_t *out, size_t max, size_t *len);

/*
 * Looks at buffered input: OP_OK with *frame_len = the whole frame's size (prefix included) when
 * a full frame is there; OP_E_TRUNCATED when more bytes are needed; OP_E_TOOBIG when the prefix
 * announces more than a frame may hold (the connection must close: nothing is buffered for it).
 */
OP_MUST_CHECK op_err proto_frame_peek(const uint8_t *buf, size_t have, size_t *frame_len);

/* Opens one whole frame (as proto_frame_peek measured it) into out (capacity max, at least
 * PROTO_FRAME_MAX_BYTES is always enough). *final is set on the last frame. OP_E_AUTH if it was
 * tampered with, replayed or is out of order; after the final frame every call fails. */
OP_MUST_CHECK op_err proto_stream_open(proto_stream *s, const uint8_t *frame, size_t n,
                                       uint8_t *out, size_t max, size_t *len, bool *final);

#endif
