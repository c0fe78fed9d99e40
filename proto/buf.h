/*
 * buf.h — bounds-checked byte cursors. The only place that indexes raw input bytes (STYLE §4).
 *
 * proto_rbuf reads from borrowed bytes; a failed read leaves the cursor where it was.
 * proto_wbuf appends into a caller-owned array of fixed capacity `max`; it never allocates,
 * and a write that would pass `max` fails with OP_E_TOOBIG and writes nothing. The first failure
 * is kept in `err`, so a sequence of puts can be checked once at the end.
 */
#ifndef OUTPOST_PROTO_BUF_H
#define OUTPOST_PROTO_BUF_H

#include <stddef.h>
#include <stdint.h>

#include "proto/err.h"

typedef struct proto_rbuf {
    const uint8_t *p; /* borrowed */
    size_t len, off;  /* off <= len always */
} proto_rbuf;

typedef struct proto_wbuf {
    uint8_t *p; /* borrowed, capacity max */
    size_t len, max;
    op_err err; /* sticky: the first failure; later puts fail too */
} proto_wbuf;

void proto_rbuf_init(proto_rbuf *r, const void *p, size_t len);
size_t proto_rbuf_left(const proto_rbuf *r);
OP_MUST_CHECK op_err proto_rbuf_get_u8(proto_rbuf *r, uint8_t *out);
/* Big-endian unsigned of n bytes (1, 2, 4 or 8). */
OP_MUST_CHECK op_err proto_rbuf_get_be(proto_rbuf *r, size_t n, uint64_t *out);
/* Points *out at the next n bytes (borrowed from r) and skips them. */
OP_MUST_CHECK op_err proto_rbuf_get_ref(proto_rbuf *r, size_t n, const uint8_t **out);
OP_MUST_CHECK op_err proto_rbuf_skip(proto_rbuf *r, size_t n);

void proto_wbuf_init(proto_wbuf *w, void *p, size_t max);
OP_MUST_CHECK op_err proto_wbuf_put(proto_wbuf *w, const void *p, size_t n);
OP_MUST_CHECK op_err proto_wbuf_put_be(proto_wbuf *w, size_t n, uint64_t v);

#endif
