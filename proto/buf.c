/* buf.c — bounded cursors over bytes (see buf.h). */
#include "proto/buf.h"

#include <string.h>

void
proto_rbuf_init(proto_rbuf *r, const void *p, size_t len)
{
    r->p = p;
    r->len = len;
    r->off = 0;
}

size_t
proto_rbuf_left(const proto_rbuf *r)
{
    return r->len - r->off;
}

op_err
proto_rbuf_get_u8(proto_rbuf *r, uint8_t *out)
{
    if (r->len - r->off < 1)
        return OP_E_TRUNCATED;
    *out = r->p[r->off++];
    return OP_OK;
}

op_err
proto_rbuf_get_be(proto_rbuf *r, size_t n, uint64_t *out)
{
    if (r->len - r->off < n) /* subtraction cannot overflow: off <= len */
        return OP_E_TRUNCATED;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = v << 8 | r->p[r->off + i];
    r->off += n;
    *out = v;
    return OP_OK;
}

op_err
proto_rbuf_get_ref(proto_rbuf *r, size_t n, const uint8_t **out)
{
    if (r->len - r->off < n)
        return OP_E_TRUNCATED;
    *out = r->p + r->off;
    r->off += n;
    return OP_OK;
}

op_err
proto_rbuf_skip(proto_rbuf *r, size_t n)
{
    if (r->len - r->off < n)
        return OP_E_TRUNCATED;
    r->off += n;
    return OP_OK;
}

void
proto_wbuf_init(proto_wbuf *w, void *p, size_t max)
{
    w->p = p;
    w->len = 0;
    w->max = max;
    w->err = OP_OK;
}

op_err
proto_wbuf_put(proto_wbuf *w, const void *p, size_t n)
{
    if (w->err != OP_OK)
        return w->err;
    if (w->max - w->len < n)
        return w->err = OP_E_TOOBIG;
    if (n)
        memcpy(w->p + w->len, p, n);
    w->len += n;
    return OP_OK;
}

op_err
proto_wbuf_put_be(proto_wbuf *w, size_t n, uint64_t v)
{
    uint8_t b[8];
    for (size_t i = 0; i < n; i++)
        b[n - 1 - i] = (uint8_t)(v >> (8 * i));
    return proto_wbuf_put(w, b, n);
}
