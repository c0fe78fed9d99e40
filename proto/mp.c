/* mp.c — bounded msgpack pre-validation and checked access (see mp.h). */
#include "proto/mp.h"

#include <string.h>

static op_err
scan(proto_rbuf *r, int depth)
{
    uint8_t t;
    uint64_t n = 0, len = 0;
    op_err e;
    bool container = false;

    if ((e = proto_rbuf_get_u8(r, &t)) != OP_OK)
        return e;
    if (t <= 0x7f || t >= 0xe0) /* positive / negative fixint */
        return OP_OK;
    if ((t & 0xf0) == 0x80) {
        n = (uint64_t)(t & 0x0f) * 2;
        container = true;
    } else if ((t & 0xf0) == 0x90) {
        n = t & 0x0f;
        container = true;
    } else if ((t & 0xe0) == 0xa0) {
        return proto_rbuf_skip(r, t & 0x1f);
    } else {
        switch (t) {
        case 0xc0: /* nil */
        case 0xc2: /* false */
        case 0xc3: /* true */
            return OP_OK;
        case 0xcc: case 0xd0: return proto_rbuf_skip(r, 1);
        case 0xcd: case 0xd1: return proto_rbuf_skip(r, 2);
        case 0xce: case 0xd2: case 0xca: return proto_rbuf_skip(r, 4);
        case 0xcf: case 0xd3: case 0xcb: return proto_rbuf_skip(r, 8);
        case 0xc4: case 0xd9: e = proto_rbuf_get_be(r, 1, &len); break;
        case 0xc5: case 0xda: e = proto_rbuf_get_be(r, 2, &len); break;
        case 0xc6: case 0xdb: e = proto_rbuf_get_be(r, 4, &len); break;
        case 0xdc: e = proto_rbuf_get_be(r, 2, &n); container = true; break;
        case 0xdd: e = proto_rbuf_get_be(r, 4, &n); container = true; break;
        case 0xde: e = proto_rbuf_get_be(r, 2, &n); n *= 2; container = true; break;
        case 0xdf: e = proto_rbuf_get_be(r, 4, &n); n *= 2; container = true; break;
        default: /* 0xc1 is never used; ext types have no place in our formats */
            return OP_E_MALFORMED;
        }
        if (e != OP_OK)
            return e;
        if (!container) { /* str or bin of `len` bytes */
            if (len > PROTO_MP_MAX_BYTES)
                return OP_E_TOOBIG;
            return proto_rbuf_skip(r, (size_t)len);
        }
    }
    /* A container: refuse impossible counts before walking, so work is bounded too. */
    if (n > PROTO_MP_MAX_COUNT)
        return OP_E_COUNT;
    if (depth >= PROTO_MP_MAX_DEPTH)
        return OP_E_DEPTH;
    for (uint64_t i = 0; i < n; i++)
        if ((e = scan(r, depth + 1)) != OP_OK)
            return e;
    return OP_OK;
}

op_err
proto_mp_prescan(proto_rbuf *r)
{
    size_t start = r->off;
    op_err e = scan(r, 0);
    if (e != OP_OK)
        r->off = start;
    return e;
}

op_err
proto_mp_decode(const uint8_t *p, size_t len, proto_mp_doc *doc)
{
    proto_rbuf r;
    op_err e;
    size_t off = 0;

    doc->live = false;
    proto_rbuf_init(&r, p, len);
    if ((e = proto_mp_prescan(&r)) != OP_OK)
        return e;
    if (proto_rbuf_left(&r) != 0)
        return OP_E_TRAILING;
    msgpack_unpacked_init(&doc->u);
    doc->live = true;
    switch (msgpack_unpack_next(&doc->u, (const char *)p, len, &off)) {
    case MSGPACK_UNPACK_SUCCESS:
        break;
    case MSGPACK_UNPACK_NOMEM_ERROR:
        return OP_E_NOMEM;
    default: /* the prescan accepted it, so msgpack-c should too; refuse anyway */
        return OP_E_MALFORMED;
    }
    return off == len ? OP_OK : OP_E_TRAILING;
}

void
proto_mp_doc_fini(proto_mp_doc *doc)
{
    if (doc->live)
        msgpack_unpacked_destroy(&doc->u);
    doc->live = false;
}

op_err
proto_mp_uint(const msgpack_object *o, uint64_t *out)
{
    if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return OP_E_TYPE;
    *out = o->via.u64;
    return OP_OK;
}

op_err
proto_mp_bool(const msgpack_object *o, bool *out)
{
    if (o->type != MSGPACK_OBJECT_BOOLEAN)
        return OP_E_TYPE;
    *out = o->via.boolean;
    return OP_OK;
}

op_err
proto_mp_number(const msgpack_object *o, double *out)
{
    switch (o->type) {
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        *out = (double)o->via.u64;
        return OP_OK;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        *out = (double)o->via.i64;
        return OP_OK;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        if (o->via.f64 != o->via.f64 || o->via.f64 - o->via.f64 != 0) /* NaN or infinity */
            return OP_E_INVAL;
        *out = o->via.f64;
        return OP_OK;
    default:
        return OP_E_TYPE;
    }
}

op_err
proto_mp_bin(const msgpack_object *o, size_t n, const uint8_t **out)
{
    if (o->type != MSGPACK_OBJECT_BIN)
        return OP_E_TYPE;
    if (o->via.bin.size > n)
        return OP_E_TOOBIG;
    if (o->via.bin.size < n)
        return OP_E_MALFORMED;
    *out = (const uint8_t *)o->via.bin.ptr;
    return OP_OK;
}

op_err
proto_mp_str(const msgpack_object *o, size_t max, const char **p, size_t *len)
{
    if (o->type != MSGPACK_OBJECT_STR)
        return OP_E_TYPE;
    if (o->via.str.size > max)
        return OP_E_TOOBIG;
    if (o->via.str.size && memchr(o->via.str.ptr, 0, o->via.str.size))
        return OP_E_MALFORMED; /* a NUL would cut the text short in C and in SQLite */
    *p = o->via.str.ptr;
    *len = o->via.str.size;
    return OP_OK;
}

bool
proto_mp_key_is(const msgpack_object *o, const char *key)
{
    size_t n = strlen(key);
    return o->type == MSGPACK_OBJECT_STR && o->via.str.size == n &&
           memcmp(o->via.str.ptr, key, n) == 0;
}

static int
wbuf_write(void *data, const char *buf, size_t len)
{
    return proto_wbuf_put(data, buf, len) == OP_OK ? 0 : -1;
}

void
proto_mp_packer_init(msgpack_packer *pk, proto_wbuf *w)
{
    msgpack_packer_init(pk, w, wbuf_write);
}

void
proto_mp_pack_cstr(msgpack_packer *pk, const char *s)
{
    size_t n = strlen(s);
    OP_IGNORE(msgpack_pack_str_with_body(pk, s, n)); /* failures stick in the wbuf */
}
