/* mp_test.c — proto/mp.h: the bounded pre-validator in front of msgpack-c, checked accessors
 * and the canonical packer (STYLE §4, TESTING "two facts"). */
#include <math.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "proto/mp.h"
#include "testutil.h"

/* Parses "92 01 c0" (spaces optional) into out; returns the byte count. */
static size_t
unhex(const char *hex, uint8_t *out, size_t max)
{
    size_t n = 0;
    while (*hex) {
        if (*hex == ' ') {
            hex++;
            continue;
        }
        char b[3] = {hex[0], hex[1], 0};
        assert_true(n < max);
        assert_true(hex[1] != '\0');
        out[n++] = (uint8_t)strtoul(b, NULL, 16);
        hex += 2;
    }
    return n;
}

/* Prescans hex as one object: checks the code and that the cursor moved by `used` on success
 * (or not at all on failure). */
static void
prescan_hex(const char *hex, op_err want, size_t used)
{
    uint8_t buf[256];
    size_t n = unhex(hex, buf, sizeof buf);
    proto_rbuf r;
    proto_rbuf_init(&r, buf, n);
    op_err e = proto_mp_prescan(&r);
    if (e != want)
        fail_msg("prescan(%s) gave %s, want %s", hex, op_errname(e), op_errname(want));
    if (e == OP_OK)
        assert_int_equal(r.off, used);
    else
        assert_int_equal(r.off, 0);
}

static op_err
decode_hex(const char *hex)
{
    uint8_t buf[256];
    size_t n = unhex(hex, buf, sizeof buf);
    proto_mp_doc doc;
    op_err e = proto_mp_decode(buf, n, &doc);
    proto_mp_doc_fini(&doc);
    return e;
}

/* One example of every msgpack type we accept, with its encoded length. */
static const struct {
    const char *hex;
    size_t len;
} valid[] = {
    {"00", 1},
    {"7f", 1},
    {"e0", 1},
    {"ff", 1},
    {"c0", 1},
    {"c2", 1},
    {"c3", 1},
    {"cc ff", 2},
    {"cd 01 00", 3},
    {"ce 00 01 00 00", 5},
    {"cf 00 00 00 01 00 00 00 00", 9},
    {"d0 80", 2},
    {"d1 80 00", 3},
    {"d2 80 00 00 00", 5},
    {"d3 80 00 00 00 00 00 00 00", 9},
    {"ca 3f 80 00 00", 5},
    {"cb 3f f0 00 00 00 00 00 00", 9},
    {"a0", 1},
    {"a3 61 62 63", 4},
    {"bf 61 61 61 61 61 61 61 61 61 61 61 61 61 61 61 61 61 61 61 61 61 61 61 61 61 61 61 61 61"
     " 61 61",
     32},
    {"d9 02 68 69", 4},
    {"da 00 02 68 69", 5},
    {"db 00 00 00 02 68 69", 7},
    {"c4 00", 2},
    {"c4 03 01 02 03", 5},
    {"c5 00 01 ff", 4},
    {"c6 00 00 00 01 ff", 6},
    {"90", 1},
    {"93 01 02 03", 4},
    {"dc 00 02 c0 c0", 5},
    {"dd 00 00 00 01 c3", 6},
    {"80", 1},
    {"81 a1 61 01", 4},
    {"de 00 01 01 02", 5},
    {"df 00 00 00 01 01 02", 7},
    {"82 a1 61 92 01 02 a1 62 81 a1 63 c0", 12},
};

static void
test_prescan_every_type(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof valid / sizeof valid[0]; i++) {
        prescan_hex(valid[i].hex, OP_OK, valid[i].len);
        assert_err_at(decode_hex(valid[i].hex), OP_OK, i);
    }
}

/* The prescan walks exactly one object: bytes after it are left for the caller. */
static void
test_prescan_stops_after_one_object(void **state)
{
    (void)state;
    prescan_hex("01 02", OP_OK, 1);
    prescan_hex("92 01 02 03", OP_OK, 3);
    prescan_hex("a1 61 ff", OP_OK, 2);
    assert_err(decode_hex("01 02"), OP_E_TRAILING);
    assert_err(decode_hex("92 01 02 03"), OP_E_TRAILING);
    assert_err(decode_hex("c0 c0"), OP_E_TRAILING);
}

/* Every possible first byte, followed by enough zero bytes for any header and elements:
 * only 0xc1 and the ext family are refused, as OP_E_MALFORMED. */
static void
test_prescan_every_first_byte(void **state)
{
    (void)state;
    uint8_t buf[1 + 64];
    for (unsigned b = 0; b < 256; b++) {
        proto_rbuf r;
        memset(buf, 0, sizeof buf);
        buf[0] = (uint8_t)b;
        proto_rbuf_init(&r, buf, sizeof buf);
        bool ext = b == 0xc1 || (b >= 0xc7 && b <= 0xc9) || (b >= 0xd4 && b <= 0xd8);
        op_err e = proto_mp_prescan(&r);
        if (ext) {
            assert_err_at(e, OP_E_MALFORMED, b);
            assert_int_equal(r.off, 0);
        } else {
            assert_err_at(e, OP_OK, b);
            assert_true(r.off >= 1);
        }
    }
}

static void
test_prescan_malformed(void **state)
{
    (void)state;
    prescan_hex("c1", OP_E_MALFORMED, 0);
    prescan_hex("d4 01 02", OP_E_MALFORMED, 0);          /* fixext 1 */
    prescan_hex("d5 01 02 03", OP_E_MALFORMED, 0);       /* fixext 2 */
    prescan_hex("d6 01 00 00 00 00", OP_E_MALFORMED, 0); /* fixext 4 */
    prescan_hex("d7 01 00 00 00 00 00 00 00 00", OP_E_MALFORMED, 0);
    prescan_hex("d8 01 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00", OP_E_MALFORMED, 0);
    prescan_hex("c7 01 05 00", OP_E_MALFORMED, 0);          /* ext 8 */
    prescan_hex("c8 00 01 05 00", OP_E_MALFORMED, 0);       /* ext 16 */
    prescan_hex("c9 00 00 00 01 05 00", OP_E_MALFORMED, 0); /* ext 32 */
    prescan_hex("c7", OP_E_MALFORMED, 0);                   /* even with nothing after */
    /* and inside containers, where a timestamp ext might hide */
    prescan_hex("93 01 02 c1", OP_E_MALFORMED, 0);
    prescan_hex("81 a1 61 d6 ff 00 00 00 00", OP_E_MALFORMED, 0);
    prescan_hex("81 c1 01", OP_E_MALFORMED, 0);
    assert_err(decode_hex("92 01 c1"), OP_E_MALFORMED);
    assert_err(decode_hex("d6 ff 00 00 00 00"), OP_E_MALFORMED);
}

/* A composite document cut at every offset: OP_E_TRUNCATED, cursor unmoved. */
static void
test_prescan_truncated_every_offset(void **state)
{
    (void)state;
    uint8_t doc[256];
    size_t n = unhex("86 a1 61 cf 01 02 03 04 05 06 07 08 a1 62 d9 03 78 79 7a a1 63 c5 00 02 aa"
                     " bb a1 64 dc 00 03 c3 cb 3f f0 00 00 00 00 00 00 91 80 a1 65 df 00 00 00 01"
                     " a0 d2 ff ff ff fe a1 66 db 00 00 00 01 41",
                     doc, sizeof doc);
    proto_rbuf r;
    proto_rbuf_init(&r, doc, n);
    assert_ok(proto_mp_prescan(&r));
    assert_int_equal(r.off, n);
    for (size_t k = 0; k < n; k++) {
        proto_mp_doc d;
        proto_rbuf_init(&r, doc, k);
        assert_err_at(proto_mp_prescan(&r), OP_E_TRUNCATED, k);
        assert_int_equal(r.off, 0);
        assert_err_at(proto_mp_decode(doc, k, &d), OP_E_TRUNCATED, k);
        assert_false(d.live);
        proto_mp_doc_fini(&d);
    }
    /* a cursor that does not start at 0 is restored to where it was */
    uint8_t two[300];
    two[0] = 0xc0;
    memcpy(two + 1, doc, n);
    proto_rbuf_init(&r, two, n); /* one byte short of the second object */
    assert_ok(proto_mp_prescan(&r));
    assert_int_equal(r.off, 1);
    assert_err(proto_mp_prescan(&r), OP_E_TRUNCATED);
    assert_int_equal(r.off, 1);
}

static void
test_prescan_truncated_headers(void **state)
{
    (void)state;
    prescan_hex("", OP_E_TRUNCATED, 0);
    prescan_hex("cc", OP_E_TRUNCATED, 0);
    prescan_hex("cd 00", OP_E_TRUNCATED, 0);
    prescan_hex("ce 00 00 00", OP_E_TRUNCATED, 0);
    prescan_hex("cf 00 00 00 00 00 00 00", OP_E_TRUNCATED, 0);
    prescan_hex("cb 00", OP_E_TRUNCATED, 0);
    prescan_hex("c4", OP_E_TRUNCATED, 0);
    prescan_hex("c5 00", OP_E_TRUNCATED, 0);
    prescan_hex("c6 00 00 00", OP_E_TRUNCATED, 0);
    prescan_hex("c4 02 01", OP_E_TRUNCATED, 0);
    prescan_hex("a2 61", OP_E_TRUNCATED, 0);
    prescan_hex("dc 00", OP_E_TRUNCATED, 0);
    prescan_hex("dd 00 00 00", OP_E_TRUNCATED, 0);
    prescan_hex("de 00", OP_E_TRUNCATED, 0);
    prescan_hex("df 00 00 00", OP_E_TRUNCATED, 0);
    prescan_hex("92 01", OP_E_TRUNCATED, 0);
    prescan_hex("81 01", OP_E_TRUNCATED, 0); /* a map's value is missing */
}

/*
 * Hostile counts: msgpack-c would allocate count * sizeof(msgpack_object) before reading an
 * element. These must be refused by the prescan (no allocation); a count a message could hold
 * but whose elements are missing is plain truncation.
 */
static void
test_prescan_hostile_counts(void **state)
{
    (void)state;
    prescan_hex("df ff ff ff ff", OP_E_COUNT, 0);
    prescan_hex("dd ff ff ff ff", OP_E_COUNT, 0);
    prescan_hex("dd 00 01 00 01", OP_E_COUNT, 0); /* PROTO_MP_MAX_COUNT + 1 */
    prescan_hex("dd 00 01 00 00", OP_E_TRUNCATED, 0);
    prescan_hex("de ff ff", OP_E_COUNT, 0); /* 65535 pairs = 131070 elements */
    prescan_hex("de 80 01", OP_E_COUNT, 0);
    prescan_hex("de 80 00", OP_E_TRUNCATED, 0); /* 32768 pairs = 65536 elements */
    prescan_hex("dc ff ff", OP_E_TRUNCATED, 0);
    prescan_hex("df 01 c5 4b 40", OP_E_COUNT, 0); /* the fuzzer's 29.7 M pairs */
    /* nested under real elements */
    prescan_hex("93 01 02 df ff ff ff ff", OP_E_COUNT, 0);
    prescan_hex("81 a1 6b 91 dd 7f ff ff ff", OP_E_COUNT, 0);
    /* through decode: refused before msgpack-c sees it */
    assert_err(decode_hex("df ff ff ff ff"), OP_E_COUNT);
    assert_err(decode_hex("dd ff ff ff ff 00 00 00"), OP_E_COUNT);
    assert_err(decode_hex("91 df ff ff ff ff"), OP_E_COUNT);
}

/* The largest count we accept, with every element present, decodes. */
static void
test_max_count_decodes(void **state)
{
    (void)state;
    size_t n = 5 + PROTO_MP_MAX_COUNT;
    uint8_t *buf = calloc(1, n); /* array32 of 65536 fixint zeros */
    assert_non_null(buf);
    memcpy(buf, "\xdd\x00\x01\x00\x00", 5);
    proto_mp_doc doc;
    assert_ok(proto_mp_decode(buf, n, &doc));
    assert_int_equal(doc.u.data.type, MSGPACK_OBJECT_ARRAY);
    assert_int_equal(doc.u.data.via.array.size, PROTO_MP_MAX_COUNT);
    proto_mp_doc_fini(&doc);
    /* one short */
    assert_err(proto_mp_decode(buf, n - 1, &doc), OP_E_TRUNCATED);
    proto_mp_doc_fini(&doc);
    free(buf);
}

static void
nest(uint8_t *buf, size_t levels, uint8_t hdr, size_t *len)
{
    size_t n = 0;
    for (size_t i = 0; i < levels; i++) {
        buf[n++] = hdr;
        if (hdr == 0x81)
            buf[n++] = 0x00; /* key */
    }
    buf[n++] = 0xc0; /* innermost value */
    *len = n;
}

static void
test_prescan_depth(void **state)
{
    (void)state;
    uint8_t buf[128];
    size_t len;
    proto_rbuf r;
    proto_mp_doc doc;
    static const uint8_t hdrs[] = {0x91, 0x81};
    for (size_t h = 0; h < 2; h++) {
        /* PROTO_MP_MAX_DEPTH containers inside each other: fine */
        nest(buf, PROTO_MP_MAX_DEPTH, hdrs[h], &len);
        proto_rbuf_init(&r, buf, len);
        assert_ok(proto_mp_prescan(&r));
        assert_int_equal(r.off, len);
        assert_ok(proto_mp_decode(buf, len, &doc));
        proto_mp_doc_fini(&doc);
        /* one more level: refused */
        nest(buf, PROTO_MP_MAX_DEPTH + 1, hdrs[h], &len);
        proto_rbuf_init(&r, buf, len);
        assert_err(proto_mp_prescan(&r), OP_E_DEPTH);
        assert_int_equal(r.off, 0);
        assert_err(proto_mp_decode(buf, len, &doc), OP_E_DEPTH);
        proto_mp_doc_fini(&doc);
        /* far more: refused, no deep recursion */
        nest(buf, 40, hdrs[h], &len);
        proto_rbuf_init(&r, buf, len);
        assert_err(proto_mp_prescan(&r), OP_E_DEPTH);
    }
    /* an empty container one level too deep counts too */
    memset(buf, 0x91, PROTO_MP_MAX_DEPTH);
    buf[PROTO_MP_MAX_DEPTH] = 0x90;
    proto_rbuf_init(&r, buf, PROTO_MP_MAX_DEPTH + 1);
    assert_err(proto_mp_prescan(&r), OP_E_DEPTH);
    /* ... and exactly at the limit, it is fine */
    proto_rbuf_init(&r, buf + 1, PROTO_MP_MAX_DEPTH);
    assert_ok(proto_mp_prescan(&r));
    /* 9 levels through array16 / map16 headers */
    len = 0;
    for (int i = 0; i < PROTO_MP_MAX_DEPTH + 1; i++) {
        if (i % 2) {
            memcpy(buf + len, "\xdc\x00\x01", 3);
            len += 3;
        } else {
            memcpy(buf + len, "\xde\x00\x01\xa0", 4);
            len += 4;
        }
    }
    buf[len++] = 0x01;
    proto_rbuf_init(&r, buf, len);
    assert_err(proto_mp_prescan(&r), OP_E_DEPTH);
}

static void
test_prescan_length_caps(void **state)
{
    (void)state;
    prescan_hex("c6 00 10 00 01", OP_E_TOOBIG, 0); /* bin32 of PROTO_MP_MAX_BYTES + 1 */
    prescan_hex("db 00 10 00 01", OP_E_TOOBIG, 0); /* str32 */
    prescan_hex("c6 ff ff ff ff", OP_E_TOOBIG, 0);
    prescan_hex("db ff ff ff ff", OP_E_TOOBIG, 0);
    prescan_hex("c6 00 10 00 00", OP_E_TRUNCATED, 0); /* at the cap, bytes missing */
    prescan_hex("c5 ff ff 00", OP_E_TRUNCATED, 0);
    prescan_hex("da ff ff", OP_E_TRUNCATED, 0);
    prescan_hex("92 c0 db 7f ff ff ff", OP_E_TOOBIG, 0);

    /* exactly PROTO_MP_MAX_BYTES of bin, all present: accepted */
    size_t n = 5 + PROTO_MP_MAX_BYTES;
    uint8_t *buf = calloc(1, n);
    assert_non_null(buf);
    memcpy(buf, "\xc6\x00\x10\x00\x00", 5);
    proto_rbuf r;
    proto_rbuf_init(&r, buf, n);
    assert_ok(proto_mp_prescan(&r));
    assert_int_equal(r.off, n);
    proto_mp_doc doc;
    assert_ok(proto_mp_decode(buf, n, &doc));
    assert_int_equal(doc.u.data.type, MSGPACK_OBJECT_BIN);
    assert_int_equal(doc.u.data.via.bin.size, PROTO_MP_MAX_BYTES);
    proto_mp_doc_fini(&doc);
    free(buf);
}

static void
test_decode_basic(void **state)
{
    (void)state;
    uint8_t buf[64];
    size_t n = unhex("82 a3 6b 65 79 c4 02 aa bb a1 6e cd 01 00", buf, sizeof buf);
    proto_mp_doc doc;
    assert_ok(proto_mp_decode(buf, n, &doc));
    assert_true(doc.live);
    const msgpack_object *o = &doc.u.data;
    assert_int_equal(o->type, MSGPACK_OBJECT_MAP);
    assert_int_equal(o->via.map.size, 2);
    assert_true(proto_mp_key_is(&o->via.map.ptr[0].key, "key"));
    assert_true(proto_mp_key_is(&o->via.map.ptr[1].key, "n"));
    const uint8_t *bin;
    assert_ok(proto_mp_bin(&o->via.map.ptr[0].val, 2, &bin));
    /* STR/BIN point into the input bytes */
    assert_ptr_equal(bin, buf + 7);
    uint64_t u;
    assert_ok(proto_mp_uint(&o->via.map.ptr[1].val, &u));
    assert_int_equal(u, 256);
    proto_mp_doc_fini(&doc);
    assert_false(doc.live);
    proto_mp_doc_fini(&doc); /* twice is harmless */

    /* one trailing byte of any value */
    buf[n] = 0x00;
    assert_err(proto_mp_decode(buf, n + 1, &doc), OP_E_TRAILING);
    assert_false(doc.live);
    proto_mp_doc_fini(&doc);
    buf[n] = 0xc1;
    assert_err(proto_mp_decode(buf, n + 1, &doc), OP_E_TRAILING);
    proto_mp_doc_fini(&doc);

    assert_err(proto_mp_decode(buf, 0, &doc), OP_E_TRUNCATED);
    proto_mp_doc_fini(&doc);
    assert_err(proto_mp_decode(NULL, 0, &doc), OP_E_TRUNCATED);
    proto_mp_doc_fini(&doc);
}

static msgpack_object
obj(msgpack_object_type t)
{
    msgpack_object o;
    memset(&o, 0, sizeof o);
    o.type = t;
    return o;
}

static void
test_accessor_uint(void **state)
{
    (void)state;
    msgpack_object o = obj(MSGPACK_OBJECT_POSITIVE_INTEGER);
    uint64_t u = 7;
    o.via.u64 = UINT64_MAX;
    assert_ok(proto_mp_uint(&o, &u));
    assert_true(u == UINT64_MAX);
    static const msgpack_object_type bad[] = {
        MSGPACK_OBJECT_NIL,     MSGPACK_OBJECT_BOOLEAN, MSGPACK_OBJECT_NEGATIVE_INTEGER,
        MSGPACK_OBJECT_FLOAT32, MSGPACK_OBJECT_FLOAT64, MSGPACK_OBJECT_STR,
        MSGPACK_OBJECT_ARRAY,   MSGPACK_OBJECT_MAP,     MSGPACK_OBJECT_BIN,
        MSGPACK_OBJECT_EXT,
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        o = obj(bad[i]);
        u = 7;
        assert_err_at(proto_mp_uint(&o, &u), OP_E_TYPE, i);
        assert_int_equal(u, 7);
    }
}

static void
test_accessor_bool(void **state)
{
    (void)state;
    msgpack_object o = obj(MSGPACK_OBJECT_BOOLEAN);
    bool b = false;
    o.via.boolean = true;
    assert_ok(proto_mp_bool(&o, &b));
    assert_true(b);
    o.via.boolean = false;
    assert_ok(proto_mp_bool(&o, &b));
    assert_false(b);
    o = obj(MSGPACK_OBJECT_POSITIVE_INTEGER);
    o.via.u64 = 1; /* 1 is not true */
    assert_err(proto_mp_bool(&o, &b), OP_E_TYPE);
    o = obj(MSGPACK_OBJECT_NIL);
    assert_err(proto_mp_bool(&o, &b), OP_E_TYPE);
    o = obj(MSGPACK_OBJECT_STR);
    assert_err(proto_mp_bool(&o, &b), OP_E_TYPE);
}

static void
test_accessor_number(void **state)
{
    (void)state;
    double d = 0;
    msgpack_object o = obj(MSGPACK_OBJECT_POSITIVE_INTEGER);
    o.via.u64 = 42;
    assert_ok(proto_mp_number(&o, &d));
    assert_true(d == 42.0);
    o = obj(MSGPACK_OBJECT_NEGATIVE_INTEGER);
    o.via.i64 = -7;
    assert_ok(proto_mp_number(&o, &d));
    assert_true(d == -7.0);
    o = obj(MSGPACK_OBJECT_FLOAT64);
    o.via.f64 = 2.5;
    assert_ok(proto_mp_number(&o, &d));
    assert_true(d == 2.5);
    o = obj(MSGPACK_OBJECT_FLOAT32);
    o.via.f64 = -0.25;
    assert_ok(proto_mp_number(&o, &d));
    assert_true(d == -0.25);

    /* NaN and infinities are values no KPI can hold */
    static const double odd[] = {NAN, INFINITY, -INFINITY};
    for (size_t i = 0; i < 3; i++) {
        o = obj(MSGPACK_OBJECT_FLOAT64);
        o.via.f64 = odd[i];
        d = 1.0;
        assert_err_at(proto_mp_number(&o, &d), OP_E_INVAL, i);
        assert_true(d == 1.0);
        o.type = MSGPACK_OBJECT_FLOAT32;
        assert_err_at(proto_mp_number(&o, &d), OP_E_INVAL, i);
    }
    /* through the decoder: float64 NaN, float32 +inf */
    uint8_t buf[16];
    proto_mp_doc doc;
    size_t n = unhex("cb 7f f8 00 00 00 00 00 00", buf, sizeof buf);
    assert_ok(proto_mp_decode(buf, n, &doc));
    assert_err(proto_mp_number(&doc.u.data, &d), OP_E_INVAL);
    proto_mp_doc_fini(&doc);
    n = unhex("ca 7f 80 00 00", buf, sizeof buf);
    assert_ok(proto_mp_decode(buf, n, &doc));
    assert_err(proto_mp_number(&doc.u.data, &d), OP_E_INVAL);
    proto_mp_doc_fini(&doc);
    n = unhex("ca 3f c0 00 00", buf, sizeof buf); /* 1.5f */
    assert_ok(proto_mp_decode(buf, n, &doc));
    assert_ok(proto_mp_number(&doc.u.data, &d));
    assert_true(d == 1.5);
    proto_mp_doc_fini(&doc);

    static const msgpack_object_type bad[] = {MSGPACK_OBJECT_NIL, MSGPACK_OBJECT_BOOLEAN,
                                              MSGPACK_OBJECT_STR, MSGPACK_OBJECT_BIN,
                                              MSGPACK_OBJECT_ARRAY, MSGPACK_OBJECT_MAP};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        o = obj(bad[i]);
        assert_err_at(proto_mp_number(&o, &d), OP_E_TYPE, i);
    }
}

static void
test_accessor_bin(void **state)
{
    (void)state;
    static const char data[40] = "0123456789012345678901234567890123456789";
    const uint8_t *p = NULL;
    msgpack_object o = obj(MSGPACK_OBJECT_BIN);
    o.via.bin.ptr = data;
    o.via.bin.size = 32;
    assert_ok(proto_mp_bin(&o, 32, &p));
    assert_ptr_equal(p, data);
    p = NULL;
    o.via.bin.size = 33; /* one over: too big */
    assert_err(proto_mp_bin(&o, 32, &p), OP_E_TOOBIG);
    o.via.bin.size = 31; /* one short: malformed */
    assert_err(proto_mp_bin(&o, 32, &p), OP_E_MALFORMED);
    o.via.bin.size = 0;
    assert_err(proto_mp_bin(&o, 32, &p), OP_E_MALFORMED);
    assert_ok(proto_mp_bin(&o, 0, &p));
    assert_ptr_equal(p, data);
    /* a str of the right length is still the wrong type */
    o = obj(MSGPACK_OBJECT_STR);
    o.via.str.ptr = data;
    o.via.str.size = 32;
    assert_err(proto_mp_bin(&o, 32, &p), OP_E_TYPE);
    o = obj(MSGPACK_OBJECT_NIL);
    assert_err(proto_mp_bin(&o, 32, &p), OP_E_TYPE);
    o = obj(MSGPACK_OBJECT_ARRAY);
    assert_err(proto_mp_bin(&o, 32, &p), OP_E_TYPE);
}

static void
test_accessor_str(void **state)
{
    (void)state;
    const char *s = NULL;
    size_t n = 99;
    msgpack_object o = obj(MSGPACK_OBJECT_STR);
    o.via.str.ptr = "hello";
    o.via.str.size = 5;
    assert_ok(proto_mp_str(&o, 5, &s, &n));
    assert_int_equal(n, 5);
    assert_memory_equal(s, "hello", 5);
    assert_err(proto_mp_str(&o, 4, &s, &n), OP_E_TOOBIG); /* one over the cap */
    o.via.str.size = 0;
    assert_ok(proto_mp_str(&o, 0, &s, &n));
    assert_int_equal(n, 0);
    /* a NUL anywhere would cut the text short in C */
    o.via.str.ptr = "a\0b";
    o.via.str.size = 3;
    assert_err(proto_mp_str(&o, 10, &s, &n), OP_E_MALFORMED);
    o.via.str.ptr = "ab\0";
    assert_err(proto_mp_str(&o, 10, &s, &n), OP_E_MALFORMED);
    o.via.str.ptr = "\0ab";
    assert_err(proto_mp_str(&o, 10, &s, &n), OP_E_MALFORMED);
    o = obj(MSGPACK_OBJECT_BIN);
    o.via.bin.ptr = "hello";
    o.via.bin.size = 5;
    assert_err(proto_mp_str(&o, 10, &s, &n), OP_E_TYPE);
    o = obj(MSGPACK_OBJECT_NIL);
    assert_err(proto_mp_str(&o, 10, &s, &n), OP_E_TYPE);
    o = obj(MSGPACK_OBJECT_POSITIVE_INTEGER);
    assert_err(proto_mp_str(&o, 10, &s, &n), OP_E_TYPE);
}

static void
test_key_is(void **state)
{
    (void)state;
    msgpack_object o = obj(MSGPACK_OBJECT_STR);
    o.via.str.ptr = "energy";
    o.via.str.size = 6;
    assert_true(proto_mp_key_is(&o, "energy"));
    assert_false(proto_mp_key_is(&o, "energ"));
    assert_false(proto_mp_key_is(&o, "energyy"));
    assert_false(proto_mp_key_is(&o, "Energy"));
    assert_false(proto_mp_key_is(&o, ""));
    o.via.str.size = 3; /* a prefix of a key is another key */
    assert_false(proto_mp_key_is(&o, "energy"));
    assert_true(proto_mp_key_is(&o, "ene"));
    o = obj(MSGPACK_OBJECT_BIN);
    o.via.bin.ptr = "energy";
    o.via.bin.size = 6;
    assert_false(proto_mp_key_is(&o, "energy"));
    o = obj(MSGPACK_OBJECT_STR);
    o.via.str.ptr = "";
    o.via.str.size = 0;
    assert_true(proto_mp_key_is(&o, ""));
}

/* The packer writes the shortest form of every value: our canonical form. */
static void
test_packer_canonical(void **state)
{
    (void)state;
    static const struct {
        uint64_t v;
        const char *hex;
    } ints[] = {
        {0, "00"},
        {5, "05"},
        {127, "7f"},
        {128, "cc 80"},
        {255, "cc ff"},
        {256, "cd 01 00"},
        {65535, "cd ff ff"},
        {65536, "ce 00 01 00 00"},
        {0xffffffffull, "ce ff ff ff ff"},
        {0x100000000ull, "cf 00 00 00 01 00 00 00 00"},
        {UINT64_MAX, "cf ff ff ff ff ff ff ff ff"},
    };
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
        uint8_t out[16], want[16];
        proto_wbuf w;
        msgpack_packer pk;
        proto_wbuf_init(&w, out, sizeof out);
        proto_mp_packer_init(&pk, &w);
        OP_IGNORE(msgpack_pack_uint64(&pk, ints[i].v)); /* failures stick in w */
        assert_ok(w.err);
        size_t n = unhex(ints[i].hex, want, sizeof want);
        assert_int_equal(w.len, n);
        assert_memory_equal(out, want, n);
    }
    uint8_t out[64];
    proto_wbuf w;
    msgpack_packer pk;
    uint8_t key[32];
    memset(key, 0x11, sizeof key);
    proto_wbuf_init(&w, out, sizeof out);
    proto_mp_packer_init(&pk, &w);
    OP_IGNORE(msgpack_pack_bin_with_body(&pk, key, 32)); /* failures stick in w */
    assert_ok(w.err);
    assert_int_equal(w.len, 34);
    assert_int_equal(out[0], 0xc4);
    assert_int_equal(out[1], 0x20);
    assert_memory_equal(out + 2, key, 32);

    proto_wbuf_init(&w, out, sizeof out);
    proto_mp_packer_init(&pk, &w);
    proto_mp_pack_cstr(&pk, "");
    proto_mp_pack_cstr(&pk, "note");
    proto_mp_pack_cstr(&pk, "0123456789012345678901234567890123"); /* 34 > 31: str8 */
    assert_ok(w.err);
    assert_int_equal(w.len, 1 + 5 + 36);
    assert_int_equal(out[0], 0xa0);
    assert_memory_equal(out + 1, "\xa4note", 5);
    assert_int_equal(out[6], 0xd9);
    assert_int_equal(out[7], 34);
}

/* A packer on a full buffer fails once and stays failed; the length does not grow. */
static void
test_packer_bounded(void **state)
{
    (void)state;
    uint8_t out[8];
    proto_wbuf w;
    msgpack_packer pk;
    proto_wbuf_init(&w, out, sizeof out);
    proto_mp_packer_init(&pk, &w);
    proto_mp_pack_cstr(&pk, "abcdef"); /* 7 bytes */
    assert_ok(w.err);
    assert_int_equal(w.len, 7);
    /* 2 bytes: does not fit. msgpack-c writes header and body separately, so the header
     * may land; the failure sticks and is what callers check. */
    proto_mp_pack_cstr(&pk, "x");
    assert_err(w.err, OP_E_TOOBIG);
    size_t len = w.len;
    assert_true(len <= sizeof out);
    OP_IGNORE(msgpack_pack_nil(&pk)); /* would fit, but the failure sticks */
    proto_mp_pack_cstr(&pk, "");
    assert_err(w.err, OP_E_TOOBIG);
    assert_int_equal(w.len, len);
}

/* decode, re-encode with the canonical packer, compare: equal for canonical input, different
 * for every longer-than-needed form (how envelopes detect non-canonical encodings). */
static bool
reencodes_same(const char *hex)
{
    uint8_t in[64], out[64];
    size_t n = unhex(hex, in, sizeof in);
    proto_mp_doc doc;
    proto_wbuf w;
    msgpack_packer pk;
    assert_ok(proto_mp_decode(in, n, &doc));
    proto_wbuf_init(&w, out, sizeof out);
    proto_mp_packer_init(&pk, &w);
    OP_IGNORE(msgpack_pack_object(&pk, doc.u.data)); /* failures stick in w */
    proto_mp_doc_fini(&doc);
    assert_ok(w.err);
    return w.len == n && memcmp(in, out, n) == 0;
}

static void
test_canonical_by_reencoding(void **state)
{
    (void)state;
    assert_true(reencodes_same("05"));
    assert_true(reencodes_same("cc 80"));
    assert_true(reencodes_same("93 01 c4 01 ff a1 61"));
    assert_true(reencodes_same("81 a1 61 cd 01 00"));
    assert_false(reencodes_same("cc 05"));
    assert_false(reencodes_same("cd 00 05"));
    assert_false(reencodes_same("ce 00 00 00 05"));
    assert_false(reencodes_same("cf 00 00 00 00 00 00 00 05"));
    assert_false(reencodes_same("d0 05"));
    assert_false(reencodes_same("c5 00 01 ff"));
    assert_false(reencodes_same("d9 01 61"));
    assert_false(reencodes_same("dc 00 01 01"));
    assert_false(reencodes_same("de 00 01 a1 61 01"));
}

int
main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prescan_every_type),
        cmocka_unit_test(test_prescan_stops_after_one_object),
        cmocka_unit_test(test_prescan_every_first_byte),
        cmocka_unit_test(test_prescan_malformed),
        cmocka_unit_test(test_prescan_truncated_every_offset),
        cmocka_unit_test(test_prescan_truncated_headers),
        cmocka_unit_test(test_prescan_hostile_counts),
        cmocka_unit_test(test_max_count_decodes),
        cmocka_unit_test(test_prescan_depth),
        cmocka_unit_test(test_prescan_length_caps),
        cmocka_unit_test(test_decode_basic),
        cmocka_unit_test(test_accessor_uint),
        cmocka_unit_test(test_accessor_bool),
        cmocka_unit_test(test_accessor_number),
        cmocka_unit_test(test_accessor_bin),
        cmocka_unit_test(test_accessor_str),
        cmocka_unit_test(test_key_is),
        cmocka_unit_test(test_packer_canonical),
        cmocka_unit_test(test_packer_bounded),
        cmocka_unit_test(test_canonical_by_reencoding),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
