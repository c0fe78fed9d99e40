/* msg.c — sync message codec (see msg.h). */
#include "proto/msg.h"

#include <stdlib.h>
#include <string.h>

#include "proto/mp.h"

void
proto_msg_free(proto_msg *m)
{
    free(m->heads);
    free(m->items);
    m->heads = NULL;
    m->items = NULL;
    m->n_heads = m->n_items = 0;
}

static op_err
want_len(const msgpack_object *o, uint32_t n)
{
    if (o->type != MSGPACK_OBJECT_ARRAY)
        return OP_E_TYPE;
    return o->via.array.size == n ? OP_OK : OP_E_MALFORMED;
}

static op_err
decode_heads(const msgpack_object *o, proto_msg *m)
{
    op_err r;
    if (o->type != MSGPACK_OBJECT_ARRAY)
        return OP_E_TYPE;
    if (o->via.array.size > PROTO_MSG_MAX_ITEMS)
        return OP_E_TOOBIG;
    m->heads = calloc(o->via.array.size ? o->via.array.size : 1, sizeof *m->heads);
    if (!m->heads)
        return OP_E_NOMEM;
    for (uint32_t i = 0; i < o->via.array.size; i++) {
        const msgpack_object *h = &o->via.array.ptr[i];
        if ((r = want_len(h, 2)) != OP_OK ||
            (r = proto_mp_bin(&h->via.array.ptr[0], PROTO_KEY_BYTES, &m->heads[i].author)) !=
                OP_OK ||
            (r = proto_mp_uint(&h->via.array.ptr[1], &m->heads[i].seq)) != OP_OK)
            return r;
        m->n_heads++;
    }
    return OP_OK;
}

static op_err
decode_run(const msgpack_object *o, proto_msg *m)
{
    if (o->type != MSGPACK_OBJECT_ARRAY)
        return OP_E_TYPE;
    if (o->via.array.size > PROTO_MSG_MAX_ITEMS)
        return OP_E_TOOBIG;
    if (o->via.array.size == 0)
        return OP_E_MALFORMED;
    m->items = calloc(o->via.array.size, sizeof *m->items);
    if (!m->items)
        return OP_E_NOMEM;
    for (uint32_t i = 0; i < o->via.array.size; i++) {
        const msgpack_object *it = &o->via.array.ptr[i];
        op_err r = want_len(it, 2);
        if (r != OP_OK)
            return r;
        const msgpack_object *env = &it->via.array.ptr[0], *body = &it->via.array.ptr[1];
        if (env->type != MSGPACK_OBJECT_BIN)
            return OP_E_TYPE;
        if (env->via.bin.size > PROTO_ENVELOPE_MAX_BYTES)
            return OP_E_TOOBIG;
        m->items[i].env = (const uint8_t *)env->via.bin.ptr;
        m->items[i].env_len = env->via.bin.size;
        if (body->type == MSGPACK_OBJECT_BIN) {
            if (body->via.bin.size > PROTO_BODY_MAX_BYTES)
                return OP_E_TOOBIG;
            m->items[i].body = (const uint8_t *)body->via.bin.ptr;
            m->items[i].body_len = body->via.bin.size;
        } else if (body->type != MSGPACK_OBJECT_NIL) {
            return OP_E_TYPE;
        }
        m->n_items++;
    }
    return OP_OK;
}

op_err
proto_msg_decode(const uint8_t *p, size_t len, proto_msg *m)
{
    proto_mp_doc doc = {0};
    op_err r;

    memset(m, 0, sizeof *m);
    if ((r = proto_mp_decode(p, len, &doc)) != OP_OK)
        goto out;
    const msgpack_object *o = &doc.u.data;
    if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size == 0) {
        r = OP_E_TYPE;
        goto out;
    }
    const msgpack_object *a = o->via.array.ptr;
    uint32_t n = o->via.array.size;
    if ((r = proto_mp_uint(&a[0], &m->type)) != OP_OK)
        goto out;
    switch (m->type) {
    case PROTO_MSG_HELLO:
        if (n != 5) {
            r = OP_E_MALFORMED;
            break;
        }
        if ((r = proto_mp_uint(&a[1], &m->version)) != OP_OK)
            break;
        if (m->version != PROTO_SYNC_VERSION) {
            r = OP_E_VERSION;
            break;
        }
        if ((r = proto_mp_bin(&a[2], PROTO_ROOT_BYTES, &m->root)) != OP_OK ||
            (r = proto_mp_uint(&a[3], &m->authors)) != OP_OK ||
            (r = proto_mp_uint(&a[4], &m->now_ms)) != OP_OK)
            break;
        break;
    case PROTO_MSG_BUCKETS:
        r = n != 2 ? OP_E_MALFORMED
                   : proto_mp_bin(&a[1], PROTO_BUCKETS * PROTO_BUCKET_HASH_BYTES, &m->buckets);
        break;
    case PROTO_MSG_HAVE:
        if (n != 3) {
            r = OP_E_MALFORMED;
            break;
        }
        if ((r = proto_mp_uint(&a[1], &m->bucket)) != OP_OK)
            break;
        if (m->bucket >= PROTO_BUCKETS) {
            r = OP_E_MALFORMED;
            break;
        }
        r = decode_heads(&a[2], m);
        break;
    case PROTO_MSG_ACK:
        r = n != 2 ? OP_E_MALFORMED : decode_heads(&a[1], m);
        break;
    case PROTO_MSG_RUN:
        r = n != 2 ? OP_E_MALFORMED : decode_run(&a[1], m);
        break;
    case PROTO_MSG_PING:
    case PROTO_MSG_PONG:
        r = n != 2 ? OP_E_MALFORMED : proto_mp_uint(&a[1], &m->nonce);
        break;
    case PROTO_MSG_DONE:
        r = n != 1 ? OP_E_MALFORMED : OP_OK;
        break;
    case PROTO_MSG_WANT:
        if (n != 3) {
            r = OP_E_MALFORMED;
            break;
        }
        if ((r = proto_mp_bin(&a[1], PROTO_KEY_BYTES, &m->author)) == OP_OK)
            r = proto_mp_uint(&a[2], &m->seq);
        if (r == OP_OK && m->seq == 0)
            r = OP_E_INVAL;
        break;
    default:
        r = OP_E_MALFORMED;
    }
out:
    proto_mp_doc_fini(&doc);
    if (r != OP_OK)
        proto_msg_free(m);
    return r;
}

op_err
proto_msg_hello(proto_wbuf *w, const uint8_t root[PROTO_ROOT_BYTES], uint64_t authors,
                uint64_t now_ms)
{
    msgpack_packer pk;
    proto_mp_packer_init(&pk, w);
    OP_IGNORE(msgpack_pack_array(&pk, 5)); /* failures stick in w->err */
    OP_IGNORE(msgpack_pack_uint64(&pk, PROTO_MSG_HELLO));
    OP_IGNORE(msgpack_pack_uint64(&pk, PROTO_SYNC_VERSION));
    OP_IGNORE(msgpack_pack_bin_with_body(&pk, root, PROTO_ROOT_BYTES));
    OP_IGNORE(msgpack_pack_uint64(&pk, authors));
    OP_IGNORE(msgpack_pack_uint64(&pk, now_ms));
    return w->err;
}

op_err
proto_msg_buckets(proto_wbuf *w, const uint8_t *hashes)
{
    msgpack_packer pk;
    proto_mp_packer_init(&pk, w);
    OP_IGNORE(msgpack_pack_array(&pk, 2));
    OP_IGNORE(msgpack_pack_uint64(&pk, PROTO_MSG_BUCKETS));
    OP_IGNORE(msgpack_pack_bin_with_body(&pk, hashes, PROTO_BUCKETS * PROTO_BUCKET_HASH_BYTES));
    return w->err;
}

op_err
proto_msg_heads(proto_wbuf *w, uint64_t type, uint64_t bucket, const proto_head_ref *heads,
                size_t n)
{
    msgpack_packer pk;
    if (n > PROTO_MSG_MAX_ITEMS || (type != PROTO_MSG_HAVE && type != PROTO_MSG_ACK))
        return OP_E_INVAL;
    proto_mp_packer_init(&pk, w);
    OP_IGNORE(msgpack_pack_array(&pk, type == PROTO_MSG_HAVE ? 3 : 2));
    OP_IGNORE(msgpack_pack_uint64(&pk, type));
    if (type == PROTO_MSG_HAVE)
        OP_IGNORE(msgpack_pack_uint64(&pk, bucket));
    OP_IGNORE(msgpack_pack_array(&pk, n));
    for (size_t i = 0; i < n; i++) {
        OP_IGNORE(msgpack_pack_array(&pk, 2));
        OP_IGNORE(msgpack_pack_bin_with_body(&pk, heads[i].author, PROTO_KEY_BYTES));
        OP_IGNORE(msgpack_pack_uint64(&pk, heads[i].seq));
    }
    return w->err;
}

op_err
proto_msg_run(proto_wbuf *w, const proto_run_item *items, size_t n)
{
    msgpack_packer pk;
    if (n == 0 || n > PROTO_MSG_MAX_ITEMS)
        return OP_E_INVAL;
    proto_mp_packer_init(&pk, w);
    OP_IGNORE(msgpack_pack_array(&pk, 2));
    OP_IGNORE(msgpack_pack_uint64(&pk, PROTO_MSG_RUN));
    OP_IGNORE(msgpack_pack_array(&pk, n));
    for (size_t i = 0; i < n; i++) {
        OP_IGNORE(msgpack_pack_array(&pk, 2));
        OP_IGNORE(msgpack_pack_bin_with_body(&pk, items[i].env, items[i].env_len));
        if (items[i].body)
            OP_IGNORE(msgpack_pack_bin_with_body(&pk, items[i].body, items[i].body_len));
        else
            OP_IGNORE(msgpack_pack_nil(&pk));
    }
    return w->err;
}

op_err
proto_msg_simple(proto_wbuf *w, uint64_t type, uint64_t nonce)
{
    msgpack_packer pk;
    if (type != PROTO_MSG_PING && type != PROTO_MSG_PONG && type != PROTO_MSG_DONE)
        return OP_E_INVAL;
    proto_mp_packer_init(&pk, w);
    OP_IGNORE(msgpack_pack_array(&pk, type == PROTO_MSG_DONE ? 1 : 2));
    OP_IGNORE(msgpack_pack_uint64(&pk, type));
    if (type != PROTO_MSG_DONE)
        OP_IGNORE(msgpack_pack_uint64(&pk, nonce));
    return w->err;
}

op_err
proto_msg_want(proto_wbuf *w, const uint8_t author[PROTO_KEY_BYTES], uint64_t seq)
{
    msgpack_packer pk;
    proto_mp_packer_init(&pk, w);
    OP_IGNORE(msgpack_pack_array(&pk, 3)); /* failures stick in w->err */
    OP_IGNORE(msgpack_pack_uint64(&pk, PROTO_MSG_WANT));
    OP_IGNORE(msgpack_pack_bin_with_body(&pk, author, PROTO_KEY_BYTES));
    OP_IGNORE(msgpack_pack_uint64(&pk, seq));
    return w->err;
}

size_t
proto_msg_run_size(const proto_run_item *items, size_t n)
{
    size_t s = 1 + 1 + 5; /* array(2), type, array header */
    for (size_t i = 0; i < n; i++)
        s += 1 + 5 + items[i].env_len + 5 + (items[i].body ? items[i].body_len : 0);
    return s;
}
