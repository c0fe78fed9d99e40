/*
 * frame.c — fuzz target "frame": the stream frame reader as the agent runs it (agent/conn.c:
 * buffer, proto_frame_peek, proto_stream_open, then the plaintext to proto_msg_decode), driven
 * from the plaintext side with a real fixed key, TESTING §D4 (first half).
 *
 * Input: pieces cut at FUZZ_SEP (fuzz.h). Piece 0 is control:
 *   [0] flags: bit 0 the last frame is FINAL; bit 1 flip one bit of the sealed stream;
 *       bits 5..7 which bit;  [1..2] big-endian position of the flipped byte (mod stream size);
 *   [3..] read sizes: the receiver gets the stream in chunks of (byte + 1) bytes, cycling.
 * Pieces 1..32 are frame plaintexts (cut to PROTO_FRAME_MAX_BYTES), sealed in order.
 *
 * Proves: no crash, overread, UB or leak, whatever the plaintexts and however the bytes arrive;
 * untouched, every frame comes out whole, identical and in order, FINAL only on the last frame,
 * nothing after it; with one bit flipped anywhere (header, length, ciphertext), no altered
 * plaintext is ever delivered and nothing from the flipped frame on is delivered.
 *
 * Run: tools/fuzz.sh frame (FUZZ_SECONDS=1800: long mode); replay: ctest -R fuzz.replay.frame
 */
#include "proto/frame.h"
#include "proto/msg.h"

#include "tests/fuzz/fuzz.h"

#define MAX_FRAMES 32

static const uint8_t stream_key[32] = {'f', 'r', 'a', 'm', 'e', 'k', 'e', 'y'};

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_sodium_init();
    return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_piece pc[MAX_FRAMES + 1];
    size_t np = fuzz_split(data, size, pc, MAX_FRAMES + 1);
    static uint8_t out[PROTO_FRAME_MAX_BYTES];
    proto_stream tx, rx;
    size_t nf = np - 1; /* frames */

    if (np < 2)
        return 0;
    fuzz_rng_reset(3);
    const uint8_t *ctl = pc[0].p;
    size_t nctl = pc[0].n;
    uint8_t flags = nctl > 0 ? ctl[0] : 0;
    bool final = flags & 1, flip = (flags & 2) != 0;
    size_t flip_pos = nctl > 2 ? (size_t)ctl[1] << 8 | ctl[2] : 0;

    /* Seal. */
    size_t cap = PROTO_FRAME_HEADER_BYTES, at[MAX_FRAMES + 1];
    for (size_t i = 0; i < nf; i++)
        cap += (pc[i + 1].n < PROTO_FRAME_MAX_BYTES ? pc[i + 1].n : PROTO_FRAME_MAX_BYTES) +
               PROTO_FRAME_OVERHEAD;
    uint8_t *stream = malloc(cap);
    FUZZ_CHECK(stream != NULL);
    FUZZ_CHECK(proto_stream_push_init(&tx, stream_key, stream) == OP_OK);
    size_t len = PROTO_FRAME_HEADER_BYTES;
    for (size_t i = 0; i < nf; i++) {
        size_t k, m = pc[i + 1].n < PROTO_FRAME_MAX_BYTES ? pc[i + 1].n : PROTO_FRAME_MAX_BYTES;
        at[i] = len;
        FUZZ_CHECK(proto_stream_seal(&tx, pc[i + 1].p, m, final && i == nf - 1, stream + len,
                                     cap - len, &k) == OP_OK);
        FUZZ_CHECK(k == m + PROTO_FRAME_OVERHEAD);
        len += k;
    }
    at[nf] = len;
    FUZZ_CHECK(len == cap);
    size_t flipped_frame = nf; /* index of the frame whose bytes were changed */
    if (flip) {
        flip_pos %= len;
        stream[flip_pos] ^= (uint8_t)(1u << (flags >> 5));
        flipped_frame = 0;
        while (flipped_frame < nf && at[flipped_frame + 1] <= flip_pos)
            flipped_frame++;
        if (flip_pos < PROTO_FRAME_HEADER_BYTES)
            flipped_frame = 0;
    }

    /* Receive as agent/conn.c does: bytes arrive in chunks, whole frames are taken off. */
    uint8_t *buf = malloc(len);
    size_t have = 0, fed = 0, delivered = 0, ci = 3;
    bool started = false, dead = false, ended = false;
    FUZZ_CHECK(buf != NULL);
    while (fed < len && !dead) {
        size_t chunk = nctl > 3 ? (size_t)ctl[ci] + 1 : len;
        if (nctl > 3 && ++ci >= nctl)
            ci = 3;
        if (chunk > len - fed)
            chunk = len - fed;
        memcpy(buf + have, stream + fed, chunk);
        have += chunk;
        fed += chunk;
        size_t off = 0;
        for (;;) {
            if (!started) {
                if (have - off < PROTO_FRAME_HEADER_BYTES)
                    break;
                if (proto_stream_pull_init(&rx, stream_key, buf + off) != OP_OK) {
                    dead = true;
                    break;
                }
                started = true;
                off += PROTO_FRAME_HEADER_BYTES;
                continue;
            }
            size_t flen, mlen;
            bool fin;
            op_err r = proto_frame_peek(buf + off, have - off, &flen);
            if (r == OP_E_TRUNCATED)
                break;
            if (r != OP_OK) {
                FUZZ_CHECK(flip); /* an untouched length is always in range */
                dead = true;
                break;
            }
            FUZZ_CHECK(!ended); /* nothing may follow FINAL */
            r = proto_stream_open(&rx, buf + off, flen, out, sizeof out, &mlen, &fin);
            if (r != OP_OK) {
                FUZZ_CHECK(flip);
                dead = true;
                break;
            }
            /* Delivered: it must be the original, unaltered, in its place. */
            FUZZ_CHECK(delivered < nf && delivered < flipped_frame);
            const fuzz_piece *want = &pc[delivered + 1];
            size_t wl = want->n < PROTO_FRAME_MAX_BYTES ? want->n : PROTO_FRAME_MAX_BYTES;
            FUZZ_CHECK(mlen == wl && memcmp(out, want->p, wl) == 0);
            FUZZ_CHECK(fin == (final && delivered == nf - 1));
            proto_msg m; /* what the session does with it */
            OP_IGNORE(proto_msg_decode(out, mlen, &m)); /* safety only */
            proto_msg_free(&m);
            delivered++;
            off += flen;
            ended = fin;
        }
        if (off) { /* keep the partial frame (as agent/conn.c) */
            memmove(buf, buf + off, have - off);
            have -= off;
        }
    }
    if (!flip)
        FUZZ_CHECK(!dead && delivered == nf && have == 0 && ended == final);
    free(buf);
    free(stream);
    return 0;
}
