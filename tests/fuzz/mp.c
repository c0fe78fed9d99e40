/*
 * mp.c — fuzz target "mp": the msgpack pre-validator (proto_mp_prescan) and the one door to
 * msgpack-c (proto_mp_decode), TESTING §D1/T7.
 *
 * Proves, for any input up to 64 KiB (-max_len=65536):
 * - no crash, overread, UB, leak, and no allocation over 64 MiB (-malloc_limit_mb=64): msgpack-c
 *   allocates from declared counts, so this fails at once if anything reaches it unprescanned;
 * - the prescan and msgpack-c agree: what the prescan accepts as one whole object, msgpack-c
 *   unpacks (never MALFORMED), consuming exactly the same bytes; what it refuses, decode refuses
 *   with the same code; a failed prescan leaves the cursor where it was;
 * - every checked accessor is safe on every object of the tree;
 * - re-packing the tree is never longer than the input, and re-packing what that decodes to
 *   gives the same bytes.
 *
 * Run: tools/fuzz.sh mp (FUZZ_SECONDS=1800 for the long mode); replay: ctest -R fuzz.replay.mp
 */
#include "proto/mp.h"

#include "tests/fuzz/fuzz.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_sodium_init();
    return 0;
}

/* Calls every accessor on o and its children (depth is bounded by the prescan). */
static void
walk(const msgpack_object *o)
{
    uint64_t u;
    bool b;
    double d;
    const uint8_t *bin;
    const char *s;
    size_t n;
    OP_IGNORE(proto_mp_uint(o, &u)); /* only safety is checked here */
    OP_IGNORE(proto_mp_bool(o, &b));
    OP_IGNORE(proto_mp_number(o, &d));
    OP_IGNORE(proto_mp_bin(o, 32, &bin));
    if (proto_mp_str(o, PROTO_MP_MAX_BYTES, &s, &n) == OP_OK)
        FUZZ_CHECK(n == 0 || memchr(s, 0, n) == NULL);
    (void)proto_mp_key_is(o, "id");
    if (o->type == MSGPACK_OBJECT_ARRAY) {
        for (uint32_t i = 0; i < o->via.array.size; i++)
            walk(&o->via.array.ptr[i]);
    } else if (o->type == MSGPACK_OBJECT_MAP) {
        for (uint32_t i = 0; i < o->via.map.size; i++) {
            walk(&o->via.map.ptr[i].key);
            walk(&o->via.map.ptr[i].val);
        }
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    proto_rbuf r;
    proto_mp_doc doc = {0}, again = {0};

    proto_rbuf_init(&r, data, size);
    op_err pre = proto_mp_prescan(&r);
    if (pre != OP_OK)
        FUZZ_CHECK(r.off == 0);
    op_err dec = proto_mp_decode(data, size, &doc);
    if (pre == OP_OK && r.off == size) {
        FUZZ_CHECK(dec == OP_OK); /* msgpack-c must take what the prescan passed */
    } else if (pre == OP_OK) {
        FUZZ_CHECK(dec == OP_E_TRAILING);
    } else {
        FUZZ_CHECK(dec == pre);
    }
    if (dec == OP_OK) {
        walk(&doc.u.data);
        /* Pack the tree again: msgpack-c picks the shortest forms, so it is never longer; and
         * packing what that decodes to gives the same bytes (a fixpoint; NaN-safe, unlike
         * msgpack_object_equal). */
        size_t cap = size + 16;
        uint8_t *b1 = malloc(cap), *b2 = malloc(cap);
        proto_wbuf w1, w2;
        msgpack_packer pk;
        FUZZ_CHECK(b1 != NULL && b2 != NULL);
        proto_wbuf_init(&w1, b1, cap);
        proto_mp_packer_init(&pk, &w1);
        OP_IGNORE(msgpack_pack_object(&pk, doc.u.data)); /* checked through w1.err */
        FUZZ_CHECK(w1.err == OP_OK && w1.len <= size);
        FUZZ_CHECK(proto_mp_decode(b1, w1.len, &again) == OP_OK);
        proto_wbuf_init(&w2, b2, cap);
        proto_mp_packer_init(&pk, &w2);
        OP_IGNORE(msgpack_pack_object(&pk, again.u.data));
        FUZZ_CHECK(w2.err == OP_OK && w2.len == w1.len && memcmp(b1, b2, w1.len) == 0);
        free(b1);
        free(b2);
        proto_mp_doc_fini(&again);
    }
    proto_mp_doc_fini(&doc);
    return 0;
}
