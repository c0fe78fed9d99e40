/*
 * invite_test.c — proto/invite.h: invite codes (round trips, one text per invite, every class
 * of bad input with its own code, truncation at every offset, bit flips) and join proofs.
 *
 * Bad codes are built by hand: msgpack_pack_* into a msgpack_sbuffer, then base64url and the
 * prefix, so each test says exactly which layer it breaks.
 */
#include <msgpack.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "proto/invite.h"
#include "testutil.h"

/* ---- helpers ----------------------------------------------------------------------------- */

/* "outpost1-" + base64url(bin) into a malloc'd string. */
static char *
code_of_bin(const void *bin, size_t n)
{
    size_t b64 = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    char *s = malloc(9 + b64);
    assert_non_null(s);
    memcpy(s, "outpost1-", 9);
    sodium_bin2base64(s + 9, b64, bin, n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    return s;
}

static op_err
decode_str(const char *s)
{
    proto_invite inv;
    return proto_invite_decode(s, strlen(s), &inv);
}

static op_err
decode_bin(const void *bin, size_t n)
{
    char *s = code_of_bin(bin, n);
    op_err r = decode_str(s);
    free(s);
    return r;
}

static void
sample(proto_invite *inv, size_t n_addrs)
{
    memset(inv, 0, sizeof *inv);
    memset(inv->office, 0x0f, sizeof inv->office);
    memset(inv->netkey, 0x4e, sizeof inv->netkey);
    for (size_t i = 0; i < sizeof inv->token; i++)
        inv->token[i] = (uint8_t)(i * 7 + 1);
    static const char *addrs[] = {"office.example.org:7420", "192.0.2.7:7420", "[2001:db8::7]:1",
                                  "relay-1.example.net:65535", "localhost:80", "a:1",
                                  "x.y.z:443", "h_o-s.t:9"};
    inv->n_addrs = n_addrs;
    for (size_t i = 0; i < n_addrs; i++)
        strcpy(inv->addrs[i], addrs[i % 8]);
}

static void
assert_invite_equal(const proto_invite *a, const proto_invite *b)
{
    assert_memory_equal(a->office, b->office, PROTO_KEY_BYTES);
    assert_memory_equal(a->netkey, b->netkey, PROTO_NETKEY_BYTES);
    assert_memory_equal(a->token, b->token, PROTO_INVITE_TOKEN_BYTES);
    assert_int_equal(a->n_addrs, b->n_addrs);
    for (size_t i = 0; i < a->n_addrs; i++)
        assert_string_equal(a->addrs[i], b->addrs[i]);
}

/* Hand-built invites: the five elements, each one replaceable. */
enum elt { E_VERSION, E_OFFICE, E_NETKEY, E_TOKEN, E_ADDRS, E_COUNT };

typedef struct hand {
    int count;          /* array size written (5 normally) */
    int sub;            /* element written as raw bytes, -1: none */
    const char *raw;
    size_t rawlen;
    const char *tail;   /* bytes after the array */
    size_t taillen;
} hand;

#define HAND_NONE ((hand){.count = 5, .sub = -1})

static uint8_t k32[32];

static void
hand_invite(hand h, msgpack_sbuffer *sb)
{
    msgpack_packer pk;
    msgpack_sbuffer_init(sb);
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, (size_t)h.count);
    for (int i = 0; i < h.count; i++) {
        if (i == h.sub) {
            msgpack_sbuffer_write(sb, h.raw, h.rawlen);
            continue;
        }
        switch (i % E_COUNT) {
        case E_VERSION: msgpack_pack_uint64(&pk, 1); break;
        case E_OFFICE: case E_NETKEY: case E_TOKEN: msgpack_pack_bin_with_body(&pk, k32, 32); break;
        case E_ADDRS:
            msgpack_pack_array(&pk, 1);
            msgpack_pack_str_with_body(&pk, "h:1", 3);
            break;
        }
    }
    if (h.tail)
        msgpack_sbuffer_write(sb, h.tail, h.taillen);
}

static op_err
decode_hand(hand h)
{
    msgpack_sbuffer sb;
    hand_invite(h, &sb);
    op_err r = decode_bin(sb.data, sb.size);
    msgpack_sbuffer_destroy(&sb);
    return r;
}

/* ---- round trips ------------------------------------------------------------------------- */

static void
test_round_trip(void **state)
{
    (void)state;
    for (size_t n = 0; n <= PROTO_INVITE_MAX_ADDRS; n++) {
        proto_invite inv, back;
        char text[PROTO_INVITE_TEXT_MAX_BYTES], again[PROTO_INVITE_TEXT_MAX_BYTES];
        size_t len, len2;
        sample(&inv, n);
        assert_ok(proto_invite_encode(&inv, text, sizeof text, &len));
        assert_int_equal(len, strlen(text));
        assert_memory_equal(text, PROTO_INVITE_PREFIX, 9);
        for (size_t i = 9; i < len; i++) /* one line, safe to paste anywhere */
            assert_non_null(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                   "0123456789-_", text[i]));
        assert_ok(proto_invite_decode(text, len, &back));
        assert_invite_equal(&inv, &back);
        assert_ok(proto_invite_encode(&back, again, sizeof again, &len2));
        assert_int_equal(len, len2);
        assert_memory_equal(text, again, len);
    }
}

/* The largest invite fits PROTO_INVITE_TEXT_MAX_BYTES exactly. */
static void
test_largest(void **state)
{
    (void)state;
    proto_invite inv, back;
    char text[PROTO_INVITE_TEXT_MAX_BYTES];
    size_t len;
    sample(&inv, PROTO_INVITE_MAX_ADDRS);
    for (size_t i = 0; i < PROTO_INVITE_MAX_ADDRS; i++) {
        memset(inv.addrs[i], 'a' + (int)i, PROTO_INVITE_ADDR_MAX_BYTES - 6);
        memcpy(inv.addrs[i] + PROTO_INVITE_ADDR_MAX_BYTES - 6, ":65535", 7);
        assert_int_equal(strlen(inv.addrs[i]), PROTO_INVITE_ADDR_MAX_BYTES);
    }
    assert_ok(proto_invite_encode(&inv, text, sizeof text, &len));
    assert_int_equal(len, PROTO_INVITE_TEXT_MAX_BYTES - 1);
    assert_ok(proto_invite_decode(text, len, &back));
    assert_invite_equal(&inv, &back);
    /* one byte less of room: refused, nothing half written */
    char small[PROTO_INVITE_TEXT_MAX_BYTES - 1];
    assert_err(proto_invite_encode(&inv, small, sizeof small, &len), OP_E_TOOBIG);
    assert_int_equal(len, 0);
    assert_string_equal(small, "");
    /* and a text over the cap is refused before anything else is looked at */
    char *big = malloc(PROTO_INVITE_TEXT_MAX_BYTES + 1);
    assert_non_null(big);
    memcpy(big, text, PROTO_INVITE_TEXT_MAX_BYTES - 1);
    big[PROTO_INVITE_TEXT_MAX_BYTES - 1] = 'A';
    assert_err(proto_invite_decode(big, PROTO_INVITE_TEXT_MAX_BYTES, &back), OP_E_TOOBIG);
    free(big);
}

static void
test_encode_refusals(void **state)
{
    (void)state;
    proto_invite inv;
    char text[PROTO_INVITE_TEXT_MAX_BYTES];
    size_t len, need;
    sample(&inv, 2);
    assert_ok(proto_invite_encode(&inv, text, sizeof text, &len));
    need = len + 1;
    for (size_t cap = 0; cap < need; cap++) {
        char *p = malloc(cap ? cap : 1); /* exactly cap bytes, for ASan */
        assert_non_null(p);
        assert_err_at(proto_invite_encode(&inv, p, cap, &len), OP_E_TOOBIG, cap);
        assert_int_equal(len, 0);
        free(p);
    }
    inv.n_addrs = PROTO_INVITE_MAX_ADDRS + 1;
    assert_err(proto_invite_encode(&inv, text, sizeof text, &len), OP_E_TOOBIG);
    sample(&inv, 2);
    strcpy(inv.addrs[1], "no-port");
    assert_err(proto_invite_encode(&inv, text, sizeof text, &len), OP_E_INVAL);
    sample(&inv, 1);
    memset(inv.addrs[0], 'a', sizeof inv.addrs[0]); /* not terminated */
    assert_err(proto_invite_encode(&inv, text, sizeof text, &len), OP_E_TOOBIG);
}

/* ---- refusals, layer by layer ------------------------------------------------------------ */

static void
test_prefix(void **state)
{
    (void)state;
    proto_invite inv;
    char text[PROTO_INVITE_TEXT_MAX_BYTES];
    size_t len;
    sample(&inv, 1);
    assert_ok(proto_invite_encode(&inv, text, sizeof text, &len));
    static const char *heads[] = {"outpost2-", "Outpost1-", "outpost1_", "outpost1:", "OUTPOST1-",
                                  " outpost1-", "outpost-1", "xoutpost1-"};
    for (size_t i = 0; i < sizeof heads / sizeof heads[0]; i++) {
        char buf[PROTO_INVITE_TEXT_MAX_BYTES + 16];
        snprintf(buf, sizeof buf, "%s%s", heads[i], text + 9);
        assert_err_at(decode_str(buf), OP_E_VERSION, i);
    }
    static const char *whole[] = {"", "o", "outpost", "outpost1", "https://example.org/join",
                                  "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="};
    for (size_t i = 0; i < sizeof whole / sizeof whole[0]; i++)
        assert_err_at(decode_str(whole[i]), OP_E_VERSION, i);
    /* the prefix alone: base64 of nothing, a msgpack that is not there */
    assert_err(decode_str("outpost1-"), OP_E_TRUNCATED);
}

static void
test_base64(void **state)
{
    (void)state;
    proto_invite inv;
    char text[PROTO_INVITE_TEXT_MAX_BYTES];
    size_t len;
    sample(&inv, 1);
    assert_ok(proto_invite_encode(&inv, text, sizeof text, &len));
    /* characters of other base64 alphabets, padding, blanks and NUL, at a few places */
    static const char bad[] = {'+', '/', '=', ' ', '\n', '\t', '.', '~', '\0', '\x80', '\xff'};
    size_t at[] = {9, 10, len / 2, len - 1};
    for (size_t i = 0; i < sizeof bad; i++)
        for (size_t j = 0; j < sizeof at / sizeof at[0]; j++) {
            char buf[PROTO_INVITE_TEXT_MAX_BYTES];
            memcpy(buf, text, len);
            buf[at[j]] = bad[i];
            proto_invite out;
            assert_err_at(proto_invite_decode(buf, len, &out), OP_E_MALFORMED, i * 10 + j);
        }
    /* padding appended */
    char buf[PROTO_INVITE_TEXT_MAX_BYTES + 4];
    snprintf(buf, sizeof buf, "%s=", text);
    assert_err(decode_str(buf), OP_E_MALFORMED);
    /* a blank around it: the caller trims, the decoder does not */
    snprintf(buf, sizeof buf, "%s\n", text);
    assert_err(decode_str(buf), OP_E_MALFORMED);
    /* non-zero spare bits in the last character: the same bytes spelt another way */
    uint8_t bin[3] = {0x93, 0x01, 0x02}; /* 3 bytes: 4 characters, no spare bits */
    char *c = code_of_bin(bin, 2);        /* 2 bytes: 3 characters, 2 spare bits */
    size_t n = strlen(c);
    const char *alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    int v = (int)(strchr(alpha, c[n - 1]) - alpha);
    c[n - 1] = alpha[v | 1];
    assert_err(decode_str(c), OP_E_MALFORMED);
    free(c);
    /* a length no base64 text can have (4k + 1 characters) */
    assert_err(decode_str("outpost1-AAAAA"), OP_E_MALFORMED);
}

static void
test_shape(void **state)
{
    (void)state;
    /* not an array of 5 */
    static const struct {
        const char *raw;
        size_t len;
        op_err want;
    } whole[] = {
        {"\xc0", 1, OP_E_TYPE}, {"\x80", 1, OP_E_TYPE}, {"\x01", 1, OP_E_TYPE},
        {"\xa3" "abc", 4, OP_E_TYPE}, {"\x90", 1, OP_E_TYPE},
        {"\xdd\xff\xff\xff\xff", 5, OP_E_COUNT},   /* hostile count: prescan */
        {"\x91\x91\x91\x91\x91\x91\x91\x91\x91\xc0", 10, OP_E_DEPTH},
        {"\xc1", 1, OP_E_MALFORMED},
    };
    for (size_t i = 0; i < sizeof whole / sizeof whole[0]; i++)
        assert_err_at(decode_bin(whole[i].raw, whole[i].len), whole[i].want, i);
    hand h = HAND_NONE;
    assert_ok(decode_hand(h));
    h.count = 4;
    assert_err(decode_hand(h), OP_E_TYPE);
    h.count = 6;
    assert_err(decode_hand(h), OP_E_TYPE);

    /* each element given a value of each wrong type */
    static const struct {
        const char *raw;
        size_t len;
    } others[] = {{"\xc0", 1}, {"\xc3", 1}, {"\x01", 1}, {"\xff", 1},
                  {"\xcb\x3f\xf0\x00\x00\x00\x00\x00\x00", 9}, {"\xa1" "1", 2},
                  {"\x90", 1}, {"\x80", 1}, {"\xc4\x01\x00", 3}};
    for (int e = 0; e < E_COUNT; e++)
        for (size_t o = 0; o < sizeof others / sizeof others[0]; o++) {
            bool fits = (e == E_VERSION && o == 2) || (e == E_ADDRS && o == 6);
            bool bin = (e >= E_OFFICE && e <= E_TOKEN) && o == 8; /* right type, 1 byte */
            op_err want = fits    ? OP_OK
                          : bin   ? OP_E_MALFORMED
                                  : OP_E_TYPE;
            h = HAND_NONE;
            h.sub = e;
            h.raw = others[o].raw;
            h.rawlen = others[o].len;
            assert_err_at(decode_hand(h), want, (size_t)e * 100 + o);
        }
    /* an address that is not a str */
    h = HAND_NONE;
    h.sub = E_ADDRS;
    h.raw = "\x91\xc4\x03h:1";
    h.rawlen = 6;
    assert_err(decode_hand(h), OP_E_TYPE);
    h.raw = "\x92\xa3h:1\x01";
    h.rawlen = 6;
    assert_err(decode_hand(h), OP_E_TYPE);
    /* another version */
    static const char *versions[] = {"\x00", "\x02", "\x7f",
                                     "\xcf\xff\xff\xff\xff\xff\xff\xff\xff"};
    static const size_t vlen[] = {1, 1, 1, 9};
    for (size_t i = 0; i < 4; i++) {
        h = HAND_NONE;
        h.sub = E_VERSION;
        h.raw = versions[i];
        h.rawlen = vlen[i];
        assert_err_at(decode_hand(h), OP_E_VERSION, i);
    }
}

static void
test_lengths(void **state)
{
    (void)state;
    uint8_t fill[40];
    memset(fill, 0x33, sizeof fill);
    /* key, network key, token: 32 bytes each */
    for (int e = E_OFFICE; e <= E_TOKEN; e++) {
        static const size_t lens[] = {0, 31, 33, 40};
        for (size_t i = 0; i < 4; i++) {
            msgpack_sbuffer raw;
            msgpack_packer pk;
            msgpack_sbuffer_init(&raw);
            msgpack_packer_init(&pk, &raw, msgpack_sbuffer_write);
            msgpack_pack_bin_with_body(&pk, fill, lens[i]);
            hand h = HAND_NONE;
            h.sub = e;
            h.raw = raw.data;
            h.rawlen = raw.size;
            assert_err_at(decode_hand(h), lens[i] > 32 ? OP_E_TOOBIG : OP_E_MALFORMED,
                          (size_t)e * 10 + i);
            msgpack_sbuffer_destroy(&raw);
        }
    }
    /* addresses: 8 is the most, 255 bytes each */
    for (size_t count = 0; count <= PROTO_INVITE_MAX_ADDRS + 2; count++) {
        msgpack_sbuffer raw;
        msgpack_packer pk;
        msgpack_sbuffer_init(&raw);
        msgpack_packer_init(&pk, &raw, msgpack_sbuffer_write);
        msgpack_pack_array(&pk, count);
        for (size_t i = 0; i < count; i++)
            msgpack_pack_str_with_body(&pk, "h:1", 3);
        hand h = HAND_NONE;
        h.sub = E_ADDRS;
        h.raw = raw.data;
        h.rawlen = raw.size;
        assert_err_at(decode_hand(h), count > PROTO_INVITE_MAX_ADDRS ? OP_E_TOOBIG : OP_OK,
                      count);
        msgpack_sbuffer_destroy(&raw);
    }
    for (size_t n = PROTO_INVITE_ADDR_MAX_BYTES - 1; n <= PROTO_INVITE_ADDR_MAX_BYTES + 1; n++) {
        char a[PROTO_INVITE_ADDR_MAX_BYTES + 2];
        memset(a, 'h', n);
        memcpy(a + n - 2, ":1", 2);
        msgpack_sbuffer raw;
        msgpack_packer pk;
        msgpack_sbuffer_init(&raw);
        msgpack_packer_init(&pk, &raw, msgpack_sbuffer_write);
        msgpack_pack_array(&pk, 1);
        msgpack_pack_str_with_body(&pk, a, n);
        hand h = HAND_NONE;
        h.sub = E_ADDRS;
        h.raw = raw.data;
        h.rawlen = raw.size;
        assert_err_at(decode_hand(h), n > PROTO_INVITE_ADDR_MAX_BYTES ? OP_E_TOOBIG : OP_OK, n);
        msgpack_sbuffer_destroy(&raw);
    }
    /* a NUL inside an address */
    hand h = HAND_NONE;
    h.sub = E_ADDRS;
    h.raw = "\x91\xa4h\0:1";
    h.rawlen = 6;
    assert_err(decode_hand(h), OP_E_MALFORMED);
    /* an address that is no address */
    h.raw = "\x91\xa4h:99";
    h.rawlen = 6;
    assert_ok(decode_hand(h));
    h.raw = "\x91\xa3h:0";
    h.rawlen = 5;
    assert_err(decode_hand(h), OP_E_INVAL);
    h.raw = "\x91\xa4host";
    h.rawlen = 6;
    assert_err(decode_hand(h), OP_E_INVAL);
}

static void
test_trailing(void **state)
{
    (void)state;
    static const char *tails[] = {"\x00", "\xc0", "\x90", "\xc1"};
    for (size_t i = 0; i < 4; i++) {
        hand h = HAND_NONE;
        h.tail = tails[i];
        h.taillen = 1;
        assert_err_at(decode_hand(h), OP_E_TRAILING, i);
    }
}

/* Longer forms of valid values: another text for the same invite, refused. */
static void
test_noncanonical(void **state)
{
    (void)state;
    static uint8_t bin16[3 + 32] = {0xc5, 0x00, 0x20};
    memset(bin16 + 3, 0x33, 32);
    static const struct {
        int sub;
        const char *raw;
        size_t len;
    } cases[] = {
        {E_VERSION, "\xcc\x01", 2},
        {E_VERSION, "\xcd\x00\x01", 3},
        {E_VERSION, "\xcf\x00\x00\x00\x00\x00\x00\x00\x01", 9},
        {E_VERSION, "\xd0\x01", 2}, /* int8 1: msgpack-c reads it as a positive integer */
        {E_OFFICE, (const char *)bin16, sizeof bin16},
        {E_TOKEN, (const char *)bin16, sizeof bin16},
        {E_ADDRS, "\xdc\x00\x01\xa3h:1", 7},     /* array16 */
        {E_ADDRS, "\x91\xd9\x03h:1", 6},         /* str8 for a short str */
        {E_ADDRS, "\x91\xda\x00\x03h:1", 7},     /* str16 */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        hand h = HAND_NONE;
        h.sub = cases[i].sub;
        h.raw = cases[i].raw;
        h.rawlen = cases[i].len;
        assert_err_at(decode_hand(h), OP_E_NONCANONICAL, i);
    }
    /* array32 at the top */
    msgpack_sbuffer sb;
    hand_invite(HAND_NONE, &sb);
    uint8_t *p = malloc(sb.size + 4);
    p[0] = 0xdd, p[1] = 0, p[2] = 0, p[3] = 0, p[4] = 5;
    memcpy(p + 5, sb.data + 1, sb.size - 1);
    assert_err(decode_bin(p, sb.size + 4), OP_E_NONCANONICAL);
    free(p);
    msgpack_sbuffer_destroy(&sb);
}

/* ---- truncation and bit flips ------------------------------------------------------------ */

static void
test_truncated_every_offset(void **state)
{
    (void)state;
    proto_invite inv, out;
    char text[PROTO_INVITE_TEXT_MAX_BYTES];
    uint8_t bin[PROTO_INVITE_MAX_BYTES];
    size_t len, n = 0;
    sample(&inv, 3);
    assert_ok(proto_invite_encode(&inv, text, sizeof text, &len));
    /* the text cut anywhere: never an invite */
    for (size_t cut = 0; cut < len; cut++) {
        char *p = malloc(cut ? cut : 1); /* exactly cut bytes, for ASan */
        assert_non_null(p);
        memcpy(p, text, cut);
        op_err r = proto_invite_decode(p, cut, &out);
        if (r != OP_E_VERSION && r != OP_E_MALFORMED && r != OP_E_TRUNCATED)
            fail_msg("cut at %zu: %s", cut, op_errname(r));
        if (cut < 9)
            assert_err_at(r, OP_E_VERSION, cut);
        free(p);
    }
    /* the msgpack cut anywhere: TRUNCATED exactly */
    assert_int_equal(sodium_base642bin(bin, sizeof bin, text + 9, len - 9, NULL, &n, NULL,
                                       sodium_base64_VARIANT_URLSAFE_NO_PADDING),
                     0);
    for (size_t cut = 0; cut < n; cut++)
        assert_err_at(decode_bin(bin, cut), OP_E_TRUNCATED, cut);
    assert_ok(decode_bin(bin, n));
}

/* Every single-bit flip of the text and of the msgpack: refused, or (a bit inside a key or an
 * address) another invite whose one text is exactly the flipped one. Never a crash, never the
 * same invite from two texts. */
static void
test_bit_flips(void **state)
{
    (void)state;
    proto_invite inv, out;
    char text[PROTO_INVITE_TEXT_MAX_BYTES], again[PROTO_INVITE_TEXT_MAX_BYTES];
    uint8_t bin[PROTO_INVITE_MAX_BYTES];
    size_t len, n = 0, len2, refused = 0, other = 0;
    sample(&inv, 2);
    assert_ok(proto_invite_encode(&inv, text, sizeof text, &len));
    for (size_t i = 0; i < len; i++)
        for (int b = 0; b < 8; b++) {
            char buf[PROTO_INVITE_TEXT_MAX_BYTES];
            memcpy(buf, text, len);
            buf[i] ^= (char)(1 << b);
            if (proto_invite_decode(buf, len, &out) != OP_OK) {
                refused++;
                continue;
            }
            other++;
            assert_ok(proto_invite_encode(&out, again, sizeof again, &len2));
            assert_int_equal(len2, len);
            assert_memory_equal(again, buf, len);
        }
    assert_true(refused > 0 && other > 0);
    assert_int_equal(sodium_base642bin(bin, sizeof bin, text + 9, len - 9, NULL, &n, NULL,
                                       sodium_base64_VARIANT_URLSAFE_NO_PADDING),
                     0);
    for (size_t i = 0; i < n; i++)
        for (int b = 0; b < 8; b++) {
            bin[i] ^= (uint8_t)(1 << b);
            char *c = code_of_bin(bin, n);
            if (proto_invite_decode(c, strlen(c), &out) == OP_OK) {
                assert_ok(proto_invite_encode(&out, again, sizeof again, &len2));
                assert_string_equal(again, c);
                assert_true(memcmp(&out, &inv, sizeof out) != 0);
            }
            free(c);
            bin[i] ^= (uint8_t)(1 << b);
        }
}

/* A failed decode leaves nothing of the secrets behind. */
static void
test_failure_wipes(void **state)
{
    (void)state;
    hand h = HAND_NONE;
    h.sub = E_ADDRS;
    h.raw = "\x91\xa4host";
    h.rawlen = 6;
    msgpack_sbuffer sb;
    hand_invite(h, &sb);
    char *c = code_of_bin(sb.data, sb.size);
    proto_invite out;
    memset(&out, 0x77, sizeof out);
    assert_err(proto_invite_decode(c, strlen(c), &out), OP_E_INVAL);
    static const proto_invite zero;
    assert_memory_equal(&out, &zero, sizeof out);
    free(c);
    msgpack_sbuffer_destroy(&sb);
}

/* ---- addresses --------------------------------------------------------------------------- */

static void
test_addr_ok(void **state)
{
    (void)state;
    static const char *good[] = {"h:1", "office.example.org:7420", "192.0.2.7:65535",
                                 "[::1]:7420", "[2001:db8::7]:1", "[::ffff:192.0.2.1]:80",
                                 "a_b-c.d:9", "LOCALHOST:7420"};
    static const char *bad[] = {"", "host", ":7420", "host:", "host:0", "host:00", "host:07420",
                                "host:65536", "host:99999", "host:123456", "host:-1", "host:+1",
                                "host: 1", "host:1 ", " host:1", "ho st:1", "host:1a",
                                "[::1]", "[::1]7420", "[]:1", "[zz::1]:1", "[1.2.3.4]:1",
                                "::1:7420", "host:port", "hö:1", "h/x:1", "h@x:1",
                                "[::1:1", "x[::1]:1"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        if (!proto_invite_addr_ok(good[i], strlen(good[i])))
            fail_msg("\"%s\" refused", good[i]);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (proto_invite_addr_ok(bad[i], strlen(bad[i])))
            fail_msg("\"%s\" taken as an address", bad[i]);
    char a[PROTO_INVITE_ADDR_MAX_BYTES + 2];
    memset(a, 'h', sizeof a);
    memcpy(a + PROTO_INVITE_ADDR_MAX_BYTES - 2, ":1", 2);
    assert_true(proto_invite_addr_ok(a, PROTO_INVITE_ADDR_MAX_BYTES));
    memcpy(a + PROTO_INVITE_ADDR_MAX_BYTES - 1, ":1", 2);
    assert_false(proto_invite_addr_ok(a, PROTO_INVITE_ADDR_MAX_BYTES + 1));
    /* the length given is what counts, not a NUL */
    assert_false(proto_invite_addr_ok("h:1\0", 4));
    assert_true(proto_invite_addr_ok("h:12", 3));
}

/* ---- join proofs ------------------------------------------------------------------------- */

static void
test_proof(void **state)
{
    (void)state;
    uint8_t office_pk[32], office_sk[64], other_pk[32], other_sk[64], worker[32], token[32];
    uint8_t proof[PROTO_JOIN_PROOF_BYTES], proof2[PROTO_JOIN_PROOF_BYTES], t[32], w[32];
    crypto_sign_keypair(office_pk, office_sk);
    crypto_sign_keypair(other_pk, other_sk);
    randombytes_buf(worker, sizeof worker);
    randombytes_buf(token, sizeof token);

    assert_ok(proto_join_proof_seal(office_pk, token, worker, proof));
    assert_ok(proto_join_proof_open(office_sk, proof, t, w));
    assert_memory_equal(t, token, 32);
    assert_memory_equal(w, worker, 32);
    /* sealed afresh each time: a proof does not repeat, so it says nothing to a watcher */
    assert_ok(proto_join_proof_seal(office_pk, token, worker, proof2));
    assert_true(memcmp(proof, proof2, sizeof proof) != 0);
    /* neither the token nor the key appear in it */
    for (size_t i = 0; i + 8 <= sizeof proof; i++) {
        assert_true(memcmp(proof + i, token, 8) != 0);
        assert_true(memcmp(proof + i, worker, 8) != 0);
    }
    /* only that office opens it */
    memset(t, 0x11, sizeof t);
    assert_err(proto_join_proof_open(other_sk, proof, t, w), OP_E_AUTH);
    static const uint8_t zero[32];
    assert_memory_equal(t, zero, 32);
    assert_memory_equal(w, zero, 32);
    /* every bit flip is caught */
    for (size_t i = 0; i < sizeof proof; i++)
        for (int b = 0; b < 8; b++) {
            proof[i] ^= (uint8_t)(1 << b);
            assert_err_at(proto_join_proof_open(office_sk, proof, t, w), OP_E_AUTH, i * 8 + b);
            proof[i] ^= (uint8_t)(1 << b);
        }
    assert_ok(proto_join_proof_open(office_sk, proof, t, w));
    /* a key that is no curve point cannot be sealed to */
    uint8_t small_order[32] = {1}; /* the identity point */
    assert_err(proto_join_proof_seal(small_order, token, worker, proof), OP_E_INVAL);
}

int
main(void)
{
    if (sodium_init() < 0)
        return 1;
    memset(k32, 0x33, sizeof k32);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_largest),
        cmocka_unit_test(test_encode_refusals),
        cmocka_unit_test(test_prefix),
        cmocka_unit_test(test_base64),
        cmocka_unit_test(test_shape),
        cmocka_unit_test(test_lengths),
        cmocka_unit_test(test_trailing),
        cmocka_unit_test(test_noncanonical),
        cmocka_unit_test(test_truncated_every_offset),
        cmocka_unit_test(test_bit_flips),
        cmocka_unit_test(test_failure_wipes),
        cmocka_unit_test(test_addr_ok),
        cmocka_unit_test(test_proof),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
