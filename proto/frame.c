/* frame.c — secretstream frames (see frame.h). */
#include "proto/frame.h"

#include <string.h>

#include "proto/buf.h"

#define ABYTES crypto_secretstream_xchacha20poly1305_ABYTES

op_err
proto_stream_push_init(proto_stream *s, const uint8_t key[32],
                       uint8_t header[PROTO_FRAME_HEADER_BYTES])
{
    memset(s, 0, sizeof *s);
    if (crypto_secretstream_xchacha20poly1305_init_push(&s->st, header, key) != 0)
        return OP_E_AUTH;
    return OP_OK;
}

op_err
proto_stream_pull_init(proto_stream *s, const uint8_t key[32],
                       const uint8_t header[PROTO_FRAME_HEADER_BYTES])
{
    memset(s, 0, sizeof *s);
    if (crypto_secretstream_xchacha20poly1305_init_pull(&s->st, header, key) != 0)
        return OP_E_AUTH;
    return OP_OK;
}

op_err
proto_stream_seal(proto_stream *s, const uint8_t *msg, size_t n, bool final, uint8_t *out,
                  size_t max, size_t *len)
{
    proto_wbuf w;
    *len = 0;
    if (s->ended)
        return OP_E_INVAL;
    if (n > PROTO_FRAME_MAX_BYTES || max < n + PROTO_FRAME_OVERHEAD)
        return OP_E_TOOBIG;
    proto_wbuf_init(&w, out, max);
    if (proto_wbuf_put_be(&w, 4, n + ABYTES) != OP_OK)
        return OP_E_TOOBIG;
    if (crypto_secretstream_xchacha20poly1305_push(
            &s->st, out + 4, NULL, msg, n, NULL, 0,
            final ? crypto_secretstream_xchacha20poly1305_TAG_FINAL : 0) != 0)
        return OP_E_AUTH;
    s->ended = final;
    *len = n + PROTO_FRAME_OVERHEAD;
    return OP_OK;
}

op_err
proto_frame_peek(const uint8_t *buf, size_t have, size_t *frame_len)
{
    proto_rbuf r;
    uint64_t n;
    *frame_len = 0;
    proto_rbuf_init(&r, buf, have);
    if (proto_rbuf_get_be(&r, 4, &n) != OP_OK)
        return OP_E_TRUNCATED;
    if (n < ABYTES || n > PROTO_FRAME_MAX_BYTES + ABYTES)
        return n < ABYTES ? OP_E_MALFORMED : OP_E_TOOBIG;
    if (proto_rbuf_left(&r) < n)
        return OP_E_TRUNCATED;
    *frame_len = 4 + (size_t)n;
    return OP_OK;
}

op_err
proto_stream_open(proto_stream *s, const uint8_t *frame, size_t n, uint8_t *out, size_t max,
                  size_t *len, bool *final)
{
    size_t flen;
    unsigned long long mlen;
    unsigned char tag;
    op_err r;
    *len = 0;
    *final = false;
    if (s->ended)
        return OP_E_INVAL; /* nothing may follow the final frame */
    if ((r = proto_frame_peek(frame, n, &flen)) != OP_OK)
        return r;
    if (flen != n)
        return OP_E_TRAILING;
    if (max < n - PROTO_FRAME_OVERHEAD)
        return OP_E_TOOBIG;
    if (crypto_secretstream_xchacha20poly1305_pull(&s->st, out, &mlen, &tag, frame + 4, n - 4,
                                                   NULL, 0) != 0)
        return OP_E_AUTH;
    if (tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL) {
        s->ended = true;
        *final = true;
    } else if (tag != 0) {
        return OP_E_MALFORMED; /* we never send other tags */
    }
    *len = (size_t)mlen;
    return OP_OK;
}
