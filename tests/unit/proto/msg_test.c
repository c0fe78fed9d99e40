/* msg_test.c — sync messages (proto/msg.h): each type round-trips; every truncation, a
 * trailing byte, a wrong element count and a wrong type in each field of each message, an
 * unknown type, counts over the cap and a foreign version are refused with their own codes;
 * the encoders refuse what no decoder would take. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <msgpack.h>

#include "proto/msg.h"

static uint8_t buf[256 * 1024];

/* Every strict prefix of a valid message is refused as truncated, and never crashes. */
static void
check_truncations(const uint8_t *p, size_t n)
{
    proto_msg m;
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(proto_msg_decode(p, i, &m), OP_E_TRUNCATED);
        proto_msg_free(&m);
    }
    uint8_t *more = malloc(n + 1);
    memcpy(more, p, n);
    more[n] = 0;
    assert_int_equal(proto_msg_decode(more, n + 1, &m), OP_E_TRAILING);
    proto_msg_free(&m);
    free(more);
}

static void
test_hello(void **state)
{
    uint8_t root[PROTO_ROOT_BYTES];
    proto_wbuf w;
    proto_msg m;
    (void)state;
    memset(root, 7, sizeof root);
    proto_wbuf_init(&w, buf, sizeof buf);
    assert_int_equal(proto_msg_hello(&w, root, 1000, 1764000000000ull), OP_OK);
    assert_int_equal(proto_msg_decode(buf, w.len, &m), OP_OK);
    assert_int_equal(m.type, PROTO_MSG_HELLO);
    assert_int_equal(m.authors, 1000);
    assert_int_equal(m.now_ms, 1764000000000ull);
    assert_memory_equal(m.root, root, sizeof root);
    proto_msg_free(&m);
    check_truncations(buf, w.len);
    buf[2] = 2; /* version 2 */
    assert_int_equal(proto_msg_decode(buf, w.len, &m), OP_E_VERSION);
    proto_msg_free(&m);
}

static void
test_buckets_and_simple(void **state)
{
    uint8_t hashes[PROTO_BUCKETS * PROTO_BUCKET_HASH_BYTES];
    proto_wbuf w;
    proto_msg m;
    (void)state;
    for (size_t i = 0; i < sizeof hashes; i++)
        hashes[i] = (uint8_t)i;
    proto_wbuf_init(&w, buf, sizeof buf);
    assert_int_equal(proto_msg_buckets(&w, hashes), OP_OK);
    assert_int_equal(proto_msg_decode(buf, w.len, &m), OP_OK);
    assert_memory_equal(m.buckets, hashes, sizeof hashes);
    proto_msg_free(&m);
    check_truncations(buf, w.len);
    uint64_t types[] = {PROTO_MSG_PING, PROTO_MSG_PONG, PROTO_MSG_DONE};
    for (int i = 0; i < 3; i++) {
        proto_wbuf_init(&w, buf, sizeof buf);
        assert_int_equal(proto_msg_simple(&w, types[i], 99), OP_OK);
        assert_int_equal(proto_msg_decode(buf, w.len, &m), OP_OK);
        assert_int_equal(m.type, types[i]);
        if (types[i] != PROTO_MSG_DONE)
            assert_int_equal(m.nonce, 99);
        proto_msg_free(&m);
    }
    proto_wbuf_init(&w, buf, sizeof buf);
    assert_int_equal(proto_msg_simple(&w, PROTO_MSG_RUN, 0), OP_E_INVAL);
}

static void
test_heads(void **state)
{
    uint8_t keys[3][32];
    proto_head_ref heads[3];
    proto_wbuf w;
    proto_msg m;
    (void)state;
    for (int i = 0; i < 3; i++) {
        memset(keys[i], i + 1, 32);
        heads[i].author = keys[i];
        heads[i].seq = 1000u * (unsigned)i + 1;
    }
    proto_wbuf_init(&w, buf, sizeof buf);
    assert_int_equal(proto_msg_heads(&w, PROTO_MSG_HAVE, 200, heads, 3), OP_OK);
    assert_int_equal(proto_msg_decode(buf, w.len, &m), OP_OK);
    assert_int_equal(m.bucket, 200);
    assert_int_equal(m.n_heads, 3);
    assert_memory_equal(m.heads[2].author, keys[2], 32);
    assert_int_equal(m.heads[2].seq, 2001);
    proto_msg_free(&m);
    check_truncations(buf, w.len);
    proto_wbuf_init(&w, buf, sizeof buf);
    assert_int_equal(proto_msg_heads(&w, PROTO_MSG_HAVE, 256, heads, 3), OP_OK);
    assert_int_equal(proto_msg_decode(buf, w.len, &m), OP_E_MALFORMED); /* no bucket 256 */
    proto_msg_free(&m);
    proto_wbuf_init(&w, buf, sizeof buf);
    assert_int_equal(proto_msg_heads(&w, PROTO_MSG_ACK, 0, heads, 2), OP_OK);
    assert_int_equal(proto_msg_decode(buf, w.len, &m), OP_OK);
    assert_int_equal(m.type, PROTO_MSG_ACK);
    assert_int_equal(m.n_heads, 2);
    proto_msg_free(&m);
}

static void
test_heads_over_cap(void **state)
{
    static uint8_t key[32];
    proto_msg m;
    msgpack_sbuffer sb;
    msgpack_packer pk;
    (void)state;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    assert_int_equal(msgpack_pack_array(&pk, 2), 0);
    assert_int_equal(msgpack_pack_uint64(&pk, PROTO_MSG_ACK), 0);
    assert_int_equal(msgpack_pack_array(&pk, PROTO_MSG_MAX_ITEMS + 1), 0);
    for (int i = 0; i < PROTO_MSG_MAX_ITEMS + 1; i++) {
        assert_int_equal(msgpack_pack_array(&pk, 2), 0);
        assert_int_equal(msgpack_pack_bin_with_body(&pk, key, 32), 0);
        assert_int_equal(msgpack_pack_uint64(&pk, 1), 0);
    }
    assert_int_equal(proto_msg_decode((const uint8_t *)sb.data, sb.size, &m), OP_E_TOOBIG);
    proto_msg_free(&m);
    msgpack_sbuffer_destroy(&sb);
    /* and a RUN of one entry more than the cap */
    msgpack_sbuffer_init(&sb);
    assert_int_equal(msgpack_pack_array(&pk, 2), 0);
    assert_int_equal(msgpack_pack_uint64(&pk, PROTO_MSG_RUN), 0);
    assert_int_equal(msgpack_pack_array(&pk, PROTO_MSG_MAX_ITEMS + 1), 0);
    for (int i = 0; i < PROTO_MSG_MAX_ITEMS + 1; i++) {
        assert_int_equal(msgpack_pack_array(&pk, 2), 0);
        assert_int_equal(msgpack_pack_bin_with_body(&pk, key, 1), 0);
        assert_int_equal(msgpack_pack_nil(&pk), 0);
    }
    assert_int_equal(proto_msg_decode((const uint8_t *)sb.data, sb.size, &m), OP_E_TOOBIG);
    assert_int_equal(m.n_items, 0);
    proto_msg_free(&m);
    msgpack_sbuffer_destroy(&sb);
}

/* The encoders refuse what no decoder would take, and write nothing then. */
static void
test_encoders_refuse(void **state)
{
    static uint8_t key[32];
    static proto_head_ref heads[PROTO_MSG_MAX_ITEMS + 1];
    static proto_run_item items[PROTO_MSG_MAX_ITEMS + 1];
    proto_wbuf w;
    (void)state;
    for (size_t i = 0; i <= PROTO_MSG_MAX_ITEMS; i++) {
        heads[i] = (proto_head_ref){.author = key, .seq = 1};
        items[i] = (proto_run_item){.env = key, .env_len = 1};
    }
    proto_wbuf_init(&w, buf, sizeof buf);
    assert_int_equal(proto_msg_heads(&w, PROTO_MSG_PING, 0, heads, 1), OP_E_INVAL);
    assert_int_equal(proto_msg_heads(&w, PROTO_MSG_ACK, 0, heads, PROTO_MSG_MAX_ITEMS + 1),
                     OP_E_INVAL);
    assert_int_equal(proto_msg_run(&w, items, 0), OP_E_INVAL);
    assert_int_equal(proto_msg_run(&w, items, PROTO_MSG_MAX_ITEMS + 1), OP_E_INVAL);
    assert_int_equal(w.len, 0);
    /* at the cap they fit (the buffer is large enough) and decode again */
    proto_msg m;
    assert_int_equal(proto_msg_heads(&w, PROTO_MSG_ACK, 0, heads, PROTO_MSG_MAX_ITEMS), OP_OK);
    assert_int_equal(proto_msg_decode(buf, w.len, &m), OP_OK);
    assert_int_equal(m.n_heads, PROTO_MSG_MAX_ITEMS);
    proto_msg_free(&m);
}

static void
test_run(void **state)
{
    uint8_t env[3][100], body[3][50];
    proto_run_item items[3];
    proto_wbuf w;
    proto_msg m;
    (void)state;
    for (int i = 0; i < 3; i++) {
        memset(env[i], 'e' + i, sizeof env[i]);
        memset(body[i], 'b' + i, sizeof body[i]);
        items[i] = (proto_run_item){env[i], sizeof env[i], i == 1 ? NULL : body[i],
                                    i == 1 ? 0 : sizeof body[i]};
    }
    proto_wbuf_init(&w, buf, sizeof buf);
    assert_int_equal(proto_msg_run(&w, items, 3), OP_OK);
    assert_true(w.len <= proto_msg_run_size(items, 3));
    assert_int_equal(proto_msg_decode(buf, w.len, &m), OP_OK);
    assert_int_equal(m.n_items, 3);
    assert_null(m.items[1].body);
    assert_memory_equal(m.items[2].body, body[2], sizeof body[2]);
    assert_memory_equal(m.items[0].env, env[0], sizeof env[0]);
    proto_msg_free(&m);
    check_truncations(buf, w.len);
    /* an envelope over its cap, a body over its cap */
    static uint8_t big[PROTO_BODY_MAX_BYTES + 1];
    proto_run_item bad[2] = {{big, PROTO_ENVELOPE_MAX_BYTES + 1, NULL, 0},
                             {env[0], 10, big, sizeof big}};
    for (int i = 0; i < 2; i++) {
        proto_wbuf_init(&w, buf, sizeof buf);
        assert_int_equal(proto_msg_run(&w, &bad[i], 1), OP_OK);
        assert_int_equal(proto_msg_decode(buf, w.len, &m), OP_E_TOOBIG);
        proto_msg_free(&m);
    }
    proto_wbuf_init(&w, buf, sizeof buf);
    assert_int_equal(proto_msg_run(&w, items, 0), OP_E_INVAL);
}

static void
test_want(void **state)
{
    uint8_t key[32];
    proto_wbuf w;
    proto_msg m;
    (void)state;
    memset(key, 9, sizeof key);
    proto_wbuf_init(&w, buf, sizeof buf);
    assert_int_equal(proto_msg_want(&w, key, 77), OP_OK);
    assert_int_equal(proto_msg_decode(buf, w.len, &m), OP_OK);
    assert_int_equal(m.type, PROTO_MSG_WANT);
    assert_memory_equal(m.author, key, 32);
    assert_int_equal(m.seq, 77);
    proto_msg_free(&m);
    check_truncations(buf, w.len);
    proto_wbuf_init(&w, buf, sizeof buf);
    assert_int_equal(proto_msg_want(&w, key, 0), OP_OK);
    assert_int_equal(proto_msg_decode(buf, w.len, &m), OP_E_INVAL); /* there is no seq 0 */
    proto_msg_free(&m);
}

#define Z16 "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0"
#define Z32 Z16 Z16

static void
test_bad_shapes(void **state)
{
    proto_msg m;
    (void)state;
    static const struct {
        const char *bytes;
        size_t n;
        op_err want;
    } cases[] = {
        {"\x91\x0a", 2, OP_E_MALFORMED},         /* unknown type 10 */
        {"\x90", 1, OP_E_TYPE},                  /* empty array */
        {"\x81\x01\x01", 3, OP_E_TYPE},          /* a map */
        {"\x91\xa1x", 3, OP_E_TYPE},             /* type is a string */
        {"\x92\x08\x00", 3, OP_E_MALFORMED},     /* DONE with an extra element */
        {"\x91\x06", 2, OP_E_MALFORMED},         /* PING without nonce */
        {"\x92\x04\x90", 3, OP_E_MALFORMED},     /* RUN of nothing */
        {"\x92\x04\x91\x91\xc0", 5, OP_E_MALFORMED}, /* RUN item of one element */
        {"\x92\x04\x91\x92\xc0\xc0", 6, OP_E_TYPE},  /* envelope nil */
        {"\x92\x05\x91\x92\xc4\x01\x00\x01", 8, OP_E_MALFORMED}, /* author of 1 byte */
        {"\x92\x05\xdd\xff\xff\xff\xff", 7, OP_E_COUNT}, /* hostile count */
        /* each message with the wrong number of elements, and a wrong type in each field */
        {"\x92\x01\x01", 3, OP_E_MALFORMED},                      /* HELLO of 2 */
        {"\x95\x01\xa1x\xc0\xc0\xc0", 7, OP_E_TYPE},            /* HELLO version "x" */
        {"\x95\x01\x01\xc0\x00\x00", 6, OP_E_TYPE},             /* HELLO root nil */
        {"\x95\x01\x01\xc4\x01\x00\x00\x00", 8, OP_E_MALFORMED}, /* HELLO root 1 byte */
        {"\x95\x01\x01\xc4\x10" Z16 "\xc0\x00", 23, OP_E_TYPE},  /* HELLO authors nil */
        {"\x95\x01\x01\xc4\x10" Z16 "\x00\xa0", 23, OP_E_TYPE},  /* HELLO clock "" */
        {"\x91\x02", 2, OP_E_MALFORMED},                            /* BUCKETS alone */
        {"\x92\x02\x90", 3, OP_E_TYPE},                            /* BUCKETS [] */
        {"\x92\x03\x00", 3, OP_E_MALFORMED},                       /* HAVE of 2 */
        {"\x93\x03\xc0\x90", 4, OP_E_TYPE},                        /* HAVE bucket nil */
        {"\x93\x03\xcd\x01\x00\x90", 6, OP_E_MALFORMED},          /* HAVE bucket 256 */
        {"\x93\x03\x00\xc0", 4, OP_E_TYPE},                        /* HAVE heads nil */
        {"\x91\x05", 2, OP_E_MALFORMED},                            /* ACK alone */
        {"\x92\x05\x91\xc0", 4, OP_E_TYPE},                        /* ACK head nil */
        {"\x92\x05\x91\x92\xc0\x01", 6, OP_E_TYPE},                /* ACK author nil */
        {"\x92\x05\x91\x92\xc4\x20" Z32 "\xc0", 39, OP_E_TYPE},   /* ACK seq nil */
        {"\x92\x05\x91\x93\xc4\x20" Z32 "\x01\x01", 40, OP_E_MALFORMED}, /* head of 3 */
        {"\x91\x04", 2, OP_E_MALFORMED},                            /* RUN alone */
        {"\x92\x04\xc0", 3, OP_E_TYPE},                            /* RUN items nil */
        {"\x92\x04\x91\xc0", 4, OP_E_TYPE},                        /* RUN item nil */
        {"\x92\x04\x91\x92\xc4\x01\x00\x01", 8, OP_E_TYPE},      /* RUN body 1 */
        {"\x92\x04\x91\x92\xc4\x01\x00\xa1x", 9, OP_E_TYPE},     /* RUN body "x" */
        {"\x92\x06\xa1x", 4, OP_E_TYPE},                           /* PING nonce "x" */
        {"\x93\x07\x01\x01", 4, OP_E_MALFORMED},                   /* PONG of 3 */
        {"\x92\x09\xc4\x20" Z32, 36, OP_E_MALFORMED},              /* WANT without seq */
        {"\x93\x09\xc0\x01", 4, OP_E_TYPE},                        /* WANT author nil */
        {"\x93\x09\xc4\x20" Z32 "\xc0", 37, OP_E_TYPE},            /* WANT seq nil */
        {"\x93\x09\xc4\x20" Z32 "\x00", 37, OP_E_INVAL},           /* WANT seq 0 */
        {"\x92\xcf\xff\xff\xff\xff\xff\xff\xff\xff\x00", 11, OP_E_MALFORMED}, /* type 2^64-1 */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        op_err e = proto_msg_decode((const uint8_t *)cases[i].bytes, cases[i].n, &m);
        if (e != cases[i].want)
            fail_msg("case %zu: got %s, want %s", i, op_errname(e), op_errname(cases[i].want));
        proto_msg_free(&m);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hello),     cmocka_unit_test(test_buckets_and_simple),
        cmocka_unit_test(test_heads),     cmocka_unit_test(test_heads_over_cap),
        cmocka_unit_test(test_run),       cmocka_unit_test(test_want),
        cmocka_unit_test(test_bad_shapes), cmocka_unit_test(test_encoders_refuse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
