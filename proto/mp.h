/*
 * mp.h — the only door to msgpack-c (STYLE §4, TESTING "two facts").
 *
 * msgpack-c allocates for the element count a container header claims before any element
 * arrives, so five hostile bytes could ask for gigabytes. proto_mp_decode() therefore first
 * walks the whole message with a bounded, non-allocating pre-validator (proto_mp_prescan):
 * depth <= PROTO_MP_MAX_DEPTH, every declared count <= PROTO_MP_MAX_COUNT, every element
 * actually present, no ext types. Only then is msgpack-c asked to build objects, and then from
 * bytes whose every count has been proven by real elements.
 *
 * Encoding goes through msgpack-c's packer into a bounded proto_wbuf; the packer always picks
 * the shortest form, which is our canonical form.
 */
#ifndef OUTPOST_PROTO_MP_H
#define OUTPOST_PROTO_MP_H

#include <msgpack.h>
#include <stdbool.h>

#include "proto/buf.h"

#define PROTO_MP_MAX_DEPTH 8
/* No message we accept is over 64 KiB + a little, so no container can hold more elements. */
#define PROTO_MP_MAX_COUNT 65536u
#define PROTO_MP_MAX_BYTES (1u << 20)

/*
 * Walks one msgpack object at r's cursor and moves past it. Codes: OP_E_TRUNCATED (an element
 * or length runs past the end), OP_E_COUNT (a count no message could hold), OP_E_DEPTH,
 * OP_E_TOOBIG (a str/bin over PROTO_MP_MAX_BYTES), OP_E_MALFORMED (0xc1 or an ext type).
 * On failure the cursor is unchanged.
 */
OP_MUST_CHECK op_err proto_mp_prescan(proto_rbuf *r);

/* A decoded message. Objects point into the input bytes and the doc: valid while both live. */
typedef struct proto_mp_doc {
    msgpack_unpacked u;
    bool live;
} proto_mp_doc;

/*
 * Prescans p[0..len) as exactly one object (trailing bytes: OP_E_TRAILING), then unpacks it.
 * On success *doc holds the object (doc->u.data); free with proto_mp_doc_fini (also safe after
 * failure).
 */
OP_MUST_CHECK op_err proto_mp_decode(const uint8_t *p, size_t len, proto_mp_doc *doc);
void proto_mp_doc_fini(proto_mp_doc *doc);

/* Checked accessors: OP_E_TYPE when the object has another type. */
OP_MUST_CHECK op_err proto_mp_uint(const msgpack_object *o, uint64_t *out);
OP_MUST_CHECK op_err proto_mp_bool(const msgpack_object *o, bool *out);
OP_MUST_CHECK op_err proto_mp_number(const msgpack_object *o, double *out);
/* A bin of exactly n bytes: longer is OP_E_TOOBIG, shorter OP_E_MALFORMED. Borrowed pointer. */
OP_MUST_CHECK op_err proto_mp_bin(const msgpack_object *o, size_t n, const uint8_t **out);
/* A str of at most max bytes (OP_E_TOOBIG past it) with no NUL byte (OP_E_MALFORMED). */
OP_MUST_CHECK op_err proto_mp_str(const msgpack_object *o, size_t max, const char **p,
                                  size_t *len);
/* True if o is a str equal to the NUL-terminated key. */
bool proto_mp_key_is(const msgpack_object *o, const char *key);

/* A packer that appends to w; failures stick in w->err (check it once at the end). */
void proto_mp_packer_init(msgpack_packer *pk, proto_wbuf *w);
/* Packs a NUL-terminated string. */
void proto_mp_pack_cstr(msgpack_packer *pk, const char *s);

#endif
