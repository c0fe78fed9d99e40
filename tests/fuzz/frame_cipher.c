/*
 * frame_cipher.c — fuzz target "frame_cipher": the stream frame reader fed ciphertext, with a
 * real fixed key (the authentication-failure paths), TESTING §D4 (second half).
 *
 * Input: byte 0 bit 0 set: the stream header is the real one the fixed sender makes (so seeds
 * from a real sender open, and mutations of them meet a live secretstream state); clear: the
 * next 24 bytes are the header. The rest is the stream bytes after the header, read as
 * agent/conn.c does (peek, open, plaintext to proto_msg_decode) until the first refusal.
 *
 * Proves: no crash, overread, UB or leak on any ciphertext; proto_frame_peek never measures a
 * frame longer than the bytes it has or than a frame may be; an opened frame's plaintext is its
 * length less the overhead; nothing opens after FINAL.
 *
 * Run: tools/fuzz.sh frame_cipher (FUZZ_SECONDS=1800: long mode);
 *      replay: ctest -R fuzz.replay.frame_cipher
 */
#include "proto/frame.h"
#include "proto/msg.h"

#include "tests/fuzz/fuzz.h"

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
    static uint8_t out[PROTO_FRAME_MAX_BYTES];
    uint8_t header[PROTO_FRAME_HEADER_BYTES];
    proto_stream tx, rx;

    if (size < 1)
        return 0;
    fuzz_rng_reset(3); /* the same header as tests/fuzz/frame.c and the seeds */
    const uint8_t *p = data + 1;
    size_t n = size - 1;
    if (data[0] & 1) {
        FUZZ_CHECK(proto_stream_push_init(&tx, stream_key, header) == OP_OK);
    } else {
        if (n < sizeof header)
            return 0;
        memcpy(header, p, sizeof header);
        p += sizeof header;
        n -= sizeof header;
    }
    uint8_t *s = fuzz_dup(p, n);
    if (proto_stream_pull_init(&rx, stream_key, header) != OP_OK)
        goto out;
    size_t off = 0;
    bool ended = false;
    for (;;) {
        size_t flen, mlen;
        bool fin;
        op_err r = proto_frame_peek(s + off, n - off, &flen);
        if (r != OP_OK)
            break;
        FUZZ_CHECK(flen <= n - off && flen <= PROTO_FRAME_MAX_BYTES + PROTO_FRAME_OVERHEAD);
        r = proto_stream_open(&rx, s + off, flen, out, sizeof out, &mlen, &fin);
        if (r != OP_OK)
            break; /* agent/conn.c closes the connection */
        FUZZ_CHECK(!ended && mlen + PROTO_FRAME_OVERHEAD == flen);
        proto_msg m;
        OP_IGNORE(proto_msg_decode(out, mlen, &m)); /* safety only */
        proto_msg_free(&m);
        off += flen;
        ended = fin;
        if (ended) {
            /* Nothing opens after FINAL, whatever follows. */
            if (proto_frame_peek(s + off, n - off, &flen) == OP_OK)
                FUZZ_CHECK(proto_stream_open(&rx, s + off, flen, out, sizeof out, &mlen, &fin) !=
                           OP_OK);
            break;
        }
    }
out:
    free(s);
    return 0;
}
