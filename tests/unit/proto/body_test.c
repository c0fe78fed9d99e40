/*
 * body_test.c — proto/body.h: the bodies of SPEC §5 (checkin, kpi_def, kpi_value, key, member,
 * revoke, join):
 * round trips, canonical form, and every malformed-input class with its own code.
 *
 * Malformed bodies are built by hand with msgpack_pack_* into a msgpack_sbuffer from a table of
 * the fields of each kind, one field substituted, repeated or followed by unknown keys.
 */
#include <math.h>
#include <msgpack.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "proto/body.h"
#include "proto/mp.h" /* PROTO_MP_MAX_DEPTH */
#include "testutil.h"

/* Marks a case whose outcome depends on the field it is put in (see test_hostile_bytes). */
#define DEEP_BUT_OK ((op_err)1)

/* ---- hand-built bodies ------------------------------------------------------------------ */

enum good {
    G_BOOL, G_ENERGY, G_TEXT, G_SLUG, G_NUM, G_DATE, G_KEY, G_EPOCH, G_SEALED, G_DIR, G_PERIOD,
    G_ROLE, G_SEQ, G_PROOF
};

typedef struct hf {
    const char *name;
    enum good good;
} hf;

static const hf checkin_hf[] = {
    {"delivering", G_BOOL}, {"thriving", G_BOOL}, {"support", G_BOOL}, {"energy", G_ENERGY},
    {"note", G_TEXT},       {"blockers", G_TEXT}, {"wins", G_TEXT},    {"site", G_TEXT},
    {NULL, 0},
};
static const hf kpi_def_hf[] = {
    {"id", G_SLUG},       {"title", G_TEXT},    {"unit", G_TEXT}, {"target", G_NUM},
    {"direction", G_DIR}, {"period", G_PERIOD}, {"for", G_KEY},   {NULL, 0},
};
static const hf kpi_value_hf[] = {
    {"id", G_SLUG}, {"value", G_NUM}, {"at", G_DATE}, {"note", G_TEXT}, {NULL, 0},
};
static const hf key_hf[] = {{"epoch", G_EPOCH}, {"sealed", G_SEALED}, {NULL, 0}};
static const hf member_hf[] = {
    {"key", G_KEY}, {"name", G_TEXT}, {"site", G_TEXT}, {"role", G_ROLE}, {NULL, 0},
};
static const hf revoke_hf[] = {{"key", G_KEY}, {"after_seq", G_SEQ}, {NULL, 0}};
static const hf join_hf[] = {{"name", G_TEXT}, {"site", G_TEXT}, {"proof", G_PROOF}, {NULL, 0}};

static const uint64_t kinds[] = {PROTO_KIND_CHECKIN, PROTO_KIND_KPI_DEF, PROTO_KIND_KPI_VALUE,
                                 PROTO_KIND_KEY,     PROTO_KIND_MEMBER,  PROTO_KIND_REVOKE,
                                 PROTO_KIND_JOIN};
#define N_KINDS (sizeof kinds / sizeof kinds[0])

static const hf *
hf_of(uint64_t kind)
{
    switch (kind) {
    case PROTO_KIND_CHECKIN: return checkin_hf;
    case PROTO_KIND_KPI_DEF: return kpi_def_hf;
    case PROTO_KIND_KPI_VALUE: return kpi_value_hf;
    case PROTO_KIND_KEY: return key_hf;
    case PROTO_KIND_MEMBER: return member_hf;
    case PROTO_KIND_REVOKE: return revoke_hf;
    case PROTO_KIND_JOIN: return join_hf;
    }
    fail_msg("no table for kind %llu", (unsigned long long)kind);
    return NULL;
}

static size_t
hf_count(const hf *f)
{
    size_t n = 0;
    while (f[n].name)
        n++;
    return n;
}

static void
pack_cstr(msgpack_packer *pk, const char *s)
{
    msgpack_pack_str_with_body(pk, s, strlen(s));
}

static uint8_t key44[32], box55[80], proof66[PROTO_JOIN_PROOF_BYTES];

static void
pack_good(msgpack_packer *pk, enum good g)
{
    switch (g) {
    case G_BOOL: msgpack_pack_true(pk); break;
    case G_ENERGY: msgpack_pack_uint64(pk, 3); break;
    case G_TEXT: pack_cstr(pk, "hello"); break;
    case G_SLUG: pack_cstr(pk, "visits_per-day"); break;
    case G_NUM: msgpack_pack_double(pk, 12.5); break;
    case G_DATE: pack_cstr(pk, "2024-02-29"); break;
    case G_KEY: msgpack_pack_bin_with_body(pk, key44, 32); break;
    case G_EPOCH: msgpack_pack_uint64(pk, 7); break;
    case G_SEALED:
        msgpack_pack_array(pk, 1);
        msgpack_pack_array(pk, 2);
        msgpack_pack_bin_with_body(pk, key44, 32);
        msgpack_pack_bin_with_body(pk, box55, 80);
        break;
    case G_DIR: pack_cstr(pk, "at_least"); break;
    case G_PERIOD: pack_cstr(pk, "week"); break;
    case G_ROLE: pack_cstr(pk, "worker"); break;
    case G_SEQ: msgpack_pack_uint64(pk, 41); break;
    case G_PROOF: msgpack_pack_bin_with_body(pk, proof66, sizeof proof66); break;
    }
}

/* Values of every msgpack type, to put where another type belongs. */
enum other { O_NIL, O_TRUE, O_UINT, O_NEG, O_FLOAT, O_STR, O_BIN32, O_ARRAY, O_MAP, O_COUNT };

static void
pack_other(msgpack_packer *pk, enum other o)
{
    switch (o) {
    case O_NIL: msgpack_pack_nil(pk); break;
    case O_TRUE: msgpack_pack_true(pk); break;
    case O_UINT: msgpack_pack_uint64(pk, 3); break;
    case O_NEG: msgpack_pack_int64(pk, -3); break;
    case O_FLOAT: msgpack_pack_double(pk, 3.0); break;
    case O_STR: pack_cstr(pk, "3"); break;
    case O_BIN32: msgpack_pack_bin_with_body(pk, key44, 32); break;
    case O_ARRAY: msgpack_pack_array(pk, 1); msgpack_pack_nil(pk); break;
    case O_MAP: msgpack_pack_map(pk, 0); break;
    case O_COUNT: break;
    }
}

/* Is a value of type o acceptable (by type) for a field of kind g? */
static bool
type_fits(enum good g, enum other o)
{
    switch (g) {
    case G_BOOL: return o == O_TRUE;
    case G_ENERGY: case G_EPOCH: return o == O_UINT;
    case G_TEXT: case G_SLUG: case G_DATE: case G_DIR: case G_PERIOD: case G_ROLE:
        return o == O_STR;
    case G_SEQ: return o == O_UINT;
    case G_PROOF: return o == O_BIN32; /* right type, wrong length: see test_bin_lengths */
    case G_NUM: return o == O_UINT || o == O_NEG || o == O_FLOAT;
    case G_KEY: return o == O_BIN32;
    case G_SEALED: return o == O_ARRAY; /* right type, wrong content */
    }
    return false;
}

typedef struct hb {
    int sub;           /* field index written as `other`, -1: none */
    enum other other;
    int dup;           /* field index written twice, -1: none */
    int omit;          /* field index left out, -1: none */
    bool unknown;      /* add unknown keys around the known ones */
    const char *raw;   /* if set: field `sub` is these raw bytes */
    size_t rawlen;
} hb;

#define HB_NONE ((hb){.sub = -1, .dup = -1, .omit = -1})

/* A body map of `kind` with every field present and good, changed as h says. */
static void
hand_body(uint64_t kind, hb h, msgpack_sbuffer *sb)
{
    const hf *f = hf_of(kind);
    size_t n = hf_count(f);
    msgpack_packer pk;
    msgpack_sbuffer_init(sb);
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    size_t pairs = n + (h.dup >= 0) - (h.omit >= 0) + (h.unknown ? 3 : 0);
    msgpack_pack_map(&pk, pairs);
    if (h.unknown) { /* before, between and after, of types a newer writer might use */
        pack_cstr(&pk, "zz_future");
        msgpack_pack_map(&pk, 2);
        pack_cstr(&pk, "a");
        msgpack_pack_array(&pk, 3);
        msgpack_pack_nil(&pk);
        msgpack_pack_double(&pk, 1.5);
        msgpack_pack_bin_with_body(&pk, "xy", 2);
        pack_cstr(&pk, "b");
        msgpack_pack_int64(&pk, -100000);
    }
    for (size_t i = 0; i < n; i++) {
        if (h.unknown && i == 1) {
            pack_cstr(&pk, "Energy"); /* keys are case-sensitive: this is not "energy" */
            pack_cstr(&pk, "not a number");
        }
        if ((int)i == h.omit)
            continue;
        for (int rep = 0; rep < ((int)i == h.dup ? 2 : 1); rep++) {
            pack_cstr(&pk, f[i].name);
            if ((int)i == h.sub && h.raw)
                msgpack_sbuffer_write(sb, h.raw, h.rawlen);
            else if ((int)i == h.sub)
                pack_other(&pk, h.other);
            else
                pack_good(&pk, f[i].good);
        }
    }
    if (h.unknown) {
        pack_cstr(&pk, "");
        msgpack_pack_nil(&pk);
    }
}

static op_err
decode_sb(uint64_t kind, const msgpack_sbuffer *sb)
{
    proto_body b;
    op_err r = proto_body_decode(kind, (const uint8_t *)sb->data, sb->size, &b);
    proto_body_fini(&b);
    return r;
}

static op_err
decode_hb(uint64_t kind, hb h)
{
    msgpack_sbuffer sb;
    hand_body(kind, h, &sb);
    op_err r = decode_sb(kind, &sb);
    msgpack_sbuffer_destroy(&sb);
    return r;
}

/* ---- bodies built with the API -------------------------------------------------------- */

static proto_sealed sealed3[3];

static void
full_body(proto_body *b, uint64_t kind)
{
    proto_body_init(b, kind);
    switch (kind) {
    case PROTO_KIND_CHECKIN:
        b->delivering = PROTO_YES;
        b->thriving = PROTO_NO;
        b->support = PROTO_YES;
        b->energy = 4;
        b->note = strdup("a long day at the clinic");
        b->blockers = strdup("no fuel for the generator");
        b->wins = strdup("vaccinated 40 children");
        b->site = strdup("Kisumu East");
        break;
    case PROTO_KIND_KPI_DEF:
        b->id = strdup("households_visited");
        b->title = strdup("Households visited");
        b->unit = strdup("households");
        b->target = 25;
        b->direction = strdup("at_least");
        b->period = strdup("week");
        b->has_for = true;
        memset(b->for_key, 0x5f, sizeof b->for_key);
        break;
    case PROTO_KIND_KPI_VALUE:
        b->id = strdup("households_visited");
        b->value = 7.25;
        b->at = strdup("2024-02-29");
        b->note = strdup("rain");
        break;
    case PROTO_KIND_KEY:
        b->epoch = 3;
        b->n_sealed = 3;
        b->sealed = malloc(sizeof sealed3);
        assert_non_null(b->sealed);
        memcpy(b->sealed, sealed3, sizeof sealed3);
        break;
    case PROTO_KIND_MEMBER:
        b->has_key = true;
        memset(b->key, 0x6d, sizeof b->key);
        b->name = strdup("Åse Nørgaard");
        b->site = strdup("Client A, Aarhus");
        b->role = strdup("worker");
        break;
    case PROTO_KIND_REVOKE:
        b->has_key = true;
        memset(b->key, 0x72, sizeof b->key);
        b->after_seq = 1234567;
        break;
    case PROTO_KIND_JOIN:
        b->name = strdup("Ann Larsen");
        b->site = strdup("Kisumu East");
        b->has_proof = true;
        memset(b->proof, 0x6a, sizeof b->proof);
        break;
    }
}

static void
assert_str_field(const char *a, const char *b)
{
    if (!a || !b)
        assert_ptr_equal(a, b);
    else
        assert_string_equal(a, b);
}

static void
assert_body_equal(const proto_body *a, const proto_body *b)
{
    assert_true(a->kind == b->kind);
    assert_int_equal(a->delivering, b->delivering);
    assert_int_equal(a->thriving, b->thriving);
    assert_int_equal(a->support, b->support);
    assert_int_equal(a->energy, b->energy);
    assert_str_field(a->note, b->note);
    assert_str_field(a->blockers, b->blockers);
    assert_str_field(a->wins, b->wins);
    assert_str_field(a->site, b->site);
    assert_str_field(a->id, b->id);
    assert_str_field(a->title, b->title);
    assert_str_field(a->unit, b->unit);
    assert_str_field(a->direction, b->direction);
    assert_str_field(a->period, b->period);
    assert_true((isnan(a->target) && isnan(b->target)) || a->target == b->target);
    assert_int_equal(a->has_for, b->has_for);
    if (a->has_for)
        assert_memory_equal(a->for_key, b->for_key, PROTO_KEY_BYTES);
    assert_true((isnan(a->value) && isnan(b->value)) || a->value == b->value);
    assert_str_field(a->at, b->at);
    assert_true(a->epoch == b->epoch);
    assert_int_equal(a->n_sealed, b->n_sealed);
    for (size_t i = 0; i < a->n_sealed; i++) {
        assert_memory_equal(a->sealed[i].reader, b->sealed[i].reader, PROTO_KEY_BYTES);
        assert_memory_equal(a->sealed[i].box, b->sealed[i].box, PROTO_SEALED_BYTES);
    }
    assert_int_equal(a->has_key, b->has_key);
    if (a->has_key)
        assert_memory_equal(a->key, b->key, PROTO_KEY_BYTES);
    assert_str_field(a->name, b->name);
    assert_str_field(a->role, b->role);
    assert_true(a->after_seq == b->after_seq);
    assert_int_equal(a->has_proof, b->has_proof);
    if (a->has_proof)
        assert_memory_equal(a->proof, b->proof, PROTO_JOIN_PROOF_BYTES);
}

/* encode -> decode -> equal fields -> encode -> same bytes. Returns the encoded length. */
static size_t
round_trip(const proto_body *b, uint8_t *buf, size_t max)
{
    proto_wbuf w;
    proto_body d;
    uint8_t *again = malloc(max);
    assert_non_null(again);
    proto_wbuf_init(&w, buf, max);
    assert_ok(proto_body_encode(b, &w));
    size_t n = w.len;
    assert_ok(proto_body_decode(b->kind, buf, n, &d));
    assert_body_equal(b, &d);
    proto_wbuf_init(&w, again, max);
    assert_ok(proto_body_encode(&d, &w));
    assert_int_equal(w.len, n);
    assert_memory_equal(again, buf, n);
    proto_body_fini(&d);
    free(again);
    return n;
}

/* ---- round trips and canonical form ---------------------------------------------------- */

static void
test_round_trip_each_kind(void **state)
{
    (void)state;
    for (size_t k = 0; k < N_KINDS; k++) {
        proto_body b;
        uint8_t buf[4096];
        full_body(&b, kinds[k]);
        assert_ok(proto_body_check(&b));
        size_t n = round_trip(&b, buf, sizeof buf);
        assert_true(n > 0);
        assert_true((buf[0] & 0xf0) == 0x80); /* a map */
        proto_body_fini(&b);
    }
}

static void
test_round_trip_sparse(void **state)
{
    (void)state;
    uint8_t buf[4096];
    proto_body b;
    /* an empty check-in is a valid check-in: every field is optional */
    proto_body_init(&b, PROTO_KIND_CHECKIN);
    assert_int_equal(round_trip(&b, buf, sizeof buf), 1);
    assert_int_equal(buf[0], 0x80);
    /* only "no" answers */
    b.delivering = b.thriving = b.support = PROTO_NO;
    b.energy = 1;
    round_trip(&b, buf, sizeof buf);
    b.energy = 5;
    round_trip(&b, buf, sizeof buf);
    proto_body_fini(&b);
    /* kpi_def with only what is required, and numbers of every shape */
    static const double targets[] = {0,     1,       -3,       100,  65536, 12.5, -0.125,
                                     1e-9, 4294967296.0, 999999999999999.0, -999999999999999.0,
                                     1e15, -1e15};
    for (size_t i = 0; i < sizeof targets / sizeof targets[0]; i++) {
        proto_body_init(&b, PROTO_KIND_KPI_DEF);
        b.id = strdup("x");
        b.target = targets[i];
        round_trip(&b, buf, sizeof buf);
        proto_body_fini(&b);
        proto_body_init(&b, PROTO_KIND_KPI_VALUE);
        b.id = strdup("x");
        b.value = targets[i];
        b.at = strdup("2000-02-29");
        round_trip(&b, buf, sizeof buf);
        proto_body_fini(&b);
    }
    /* every direction and period */
    static const char *dirs[] = {"at_least", "at_most"}, *periods[] = {"day", "week", "month"};
    for (size_t i = 0; i < 2; i++)
        for (size_t j = 0; j < 3; j++) {
            proto_body_init(&b, PROTO_KIND_KPI_DEF);
            b.id = strdup("x");
            b.target = 1;
            b.direction = strdup(dirs[i]);
            b.period = strdup(periods[j]);
            round_trip(&b, buf, sizeof buf);
            proto_body_fini(&b);
        }
    /* a key entry with one reader, and with a large epoch */
    proto_body_init(&b, PROTO_KIND_KEY);
    b.epoch = UINT64_MAX;
    b.n_sealed = 1;
    b.sealed = malloc(sizeof *b.sealed);
    memcpy(b.sealed, &sealed3[1], sizeof *b.sealed);
    round_trip(&b, buf, sizeof buf);
    proto_body_fini(&b);
}

/* The encoder writes exactly: a map, keys in table order, only present fields, shortest
 * forms, whole numbers as integers. Compared with a hand encoding. */
static void
test_canonical_bytes(void **state)
{
    (void)state;
    uint8_t buf[512];
    proto_wbuf w;
    proto_body b;
    msgpack_sbuffer sb;
    msgpack_packer pk;

    proto_body_init(&b, PROTO_KIND_CHECKIN);
    b.site = strdup("S");
    b.energy = 2;
    b.delivering = PROTO_YES;
    b.support = PROTO_NO;
    proto_wbuf_init(&w, buf, sizeof buf);
    assert_ok(proto_body_encode(&b, &w));
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 4);
    pack_cstr(&pk, "delivering");
    msgpack_pack_true(&pk);
    pack_cstr(&pk, "support");
    msgpack_pack_false(&pk);
    pack_cstr(&pk, "energy");
    msgpack_pack_uint64(&pk, 2);
    pack_cstr(&pk, "site");
    pack_cstr(&pk, "S");
    assert_int_equal(w.len, sb.size);
    assert_memory_equal(buf, sb.data, sb.size);
    msgpack_sbuffer_destroy(&sb);
    proto_body_fini(&b);

    proto_body_init(&b, PROTO_KIND_KPI_VALUE);
    b.note = strdup("n");
    b.at = strdup("2024-01-31");
    b.value = -2;
    b.id = strdup("k");
    proto_wbuf_init(&w, buf, sizeof buf);
    assert_ok(proto_body_encode(&b, &w));
    static const uint8_t want[] = {0x84, 0xa2, 'i', 'd', 0xa1, 'k', 0xa5, 'v', 'a', 'l', 'u',
                                   'e',  0xfe, 0xa2, 'a', 't', 0xaa, '2', '0', '2', '4', '-',
                                   '0',  '1',  '-',  '3', '1', 0xa4, 'n', 'o', 't', 'e', 0xa1,
                                   'n'};
    assert_int_equal(w.len, sizeof want);
    assert_memory_equal(buf, want, sizeof want);
    /* a fraction goes as float64 */
    b.value = 0.5;
    proto_wbuf_init(&w, buf, sizeof buf);
    assert_ok(proto_body_encode(&b, &w));
    assert_int_equal(buf[12], 0xcb);
    proto_body_fini(&b);
}

/* Decoding accepts the keys in any order (a canonical order is for writers). */
static void
test_any_key_order_decodes(void **state)
{
    (void)state;
    msgpack_sbuffer sb;
    msgpack_packer pk;
    proto_body b;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 3);
    pack_cstr(&pk, "at");
    pack_cstr(&pk, "2024-12-31");
    pack_cstr(&pk, "value");
    msgpack_pack_float(&pk, 1.5f); /* float32 is read too */
    pack_cstr(&pk, "id");
    pack_cstr(&pk, "z");
    assert_ok(proto_body_decode(PROTO_KIND_KPI_VALUE, (const uint8_t *)sb.data, sb.size, &b));
    assert_string_equal(b.id, "z");
    assert_true(b.value == 1.5);
    assert_string_equal(b.at, "2024-12-31");
    assert_null(b.note);
    proto_body_fini(&b);
    msgpack_sbuffer_destroy(&sb);
}

/* The fully populated hand-built bodies decode, with and without unknown keys. */
static void
test_hand_bodies_decode(void **state)
{
    (void)state;
    for (size_t k = 0; k < N_KINDS; k++) {
        assert_err_at(decode_hb(kinds[k], HB_NONE), OP_OK, k);
        hb h = HB_NONE;
        h.unknown = true;
        assert_err_at(decode_hb(kinds[k], h), OP_OK, k);
    }
}

/* Unknown keys are ignored: the known fields come out the same. */
static void
test_unknown_keys_ignored(void **state)
{
    (void)state;
    for (size_t k = 0; k < N_KINDS; k++) {
        msgpack_sbuffer a, b;
        proto_body da, db;
        hb h = HB_NONE;
        hand_body(kinds[k], h, &a);
        h.unknown = true;
        hand_body(kinds[k], h, &b);
        assert_ok(proto_body_decode(kinds[k], (const uint8_t *)a.data, a.size, &da));
        assert_ok(proto_body_decode(kinds[k], (const uint8_t *)b.data, b.size, &db));
        assert_body_equal(&da, &db);
        proto_body_fini(&da);
        proto_body_fini(&db);
        msgpack_sbuffer_destroy(&a);
        msgpack_sbuffer_destroy(&b);
    }
    /* an unknown key may repeat, and may be a prefix or extension of a known key */
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 5);
    pack_cstr(&pk, "x");
    msgpack_pack_nil(&pk);
    pack_cstr(&pk, "x");
    msgpack_pack_true(&pk);
    pack_cstr(&pk, "energ");
    pack_cstr(&pk, "?");
    pack_cstr(&pk, "energyy");
    msgpack_pack_uint64(&pk, 99);
    pack_cstr(&pk, "energy");
    msgpack_pack_uint64(&pk, 2);
    proto_body b;
    assert_ok(proto_body_decode(PROTO_KIND_CHECKIN, (const uint8_t *)sb.data, sb.size, &b));
    assert_int_equal(b.energy, 2);
    proto_body_fini(&b);
    msgpack_sbuffer_destroy(&sb);
}

/* ---- malformed input ---------------------------------------------------------------------- */

static void
test_duplicate_known_key(void **state)
{
    (void)state;
    for (size_t k = 0; k < N_KINDS; k++) {
        const hf *f = hf_of(kinds[k]);
        for (size_t i = 0; f[i].name; i++) {
            hb h = HB_NONE;
            h.dup = (int)i;
            assert_err_at(decode_hb(kinds[k], h), OP_E_MALFORMED, k * 100 + i);
            h.unknown = true;
            assert_err_at(decode_hb(kinds[k], h), OP_E_MALFORMED, k * 100 + i);
        }
    }
}

/* Every known field of every kind, given a value of each other type: OP_E_TYPE. */
static void
test_wrong_type_each_field(void **state)
{
    (void)state;
    for (size_t k = 0; k < N_KINDS; k++) {
        const hf *f = hf_of(kinds[k]);
        for (size_t i = 0; f[i].name; i++)
            for (int o = 0; o < O_COUNT; o++) {
                if (type_fits(f[i].good, (enum other)o))
                    continue;
                hb h = HB_NONE;
                h.sub = (int)i;
                h.other = (enum other)o;
                assert_err_at(decode_hb(kinds[k], h), OP_E_TYPE, k * 1000 + i * 10 + (size_t)o);
            }
    }
}

static void
test_not_a_map(void **state)
{
    (void)state;
    static const struct {
        const char *raw;
        size_t len;
    } bad[] = {{"\xc0", 1}, {"\x90", 1}, {"\x91\x80", 2}, {"\x05", 1}, {"\xa0", 1}, {"\xc4\x00", 2}};
    for (size_t k = 0; k < N_KINDS; k++)
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            proto_body b;
            assert_err_at(proto_body_decode(kinds[k], (const uint8_t *)bad[i].raw, bad[i].len, &b),
                          OP_E_TYPE, i);
            proto_body_fini(&b);
        }
    /* keys must be strings */
    static const struct {
        const char *raw;
        size_t len;
    } keys[] = {{"\x81\x01\xc3", 3}, {"\x81\xc0\xc3", 3}, {"\x81\xc4\x06" "energy" "\x03", 10},
                {"\x82\xa6" "energy" "\x03\x90\x01", 11}};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        proto_body b;
        assert_err_at(
            proto_body_decode(PROTO_KIND_CHECKIN, (const uint8_t *)keys[i].raw, keys[i].len, &b),
            OP_E_TYPE, i);
        proto_body_fini(&b);
    }
}

static void
test_truncated_every_offset(void **state)
{
    (void)state;
    for (size_t k = 0; k < N_KINDS; k++) {
        proto_body b;
        uint8_t buf[4096];
        proto_wbuf w;
        full_body(&b, kinds[k]);
        proto_wbuf_init(&w, buf, sizeof buf);
        assert_ok(proto_body_encode(&b, &w));
        proto_body_fini(&b);
        for (size_t cut = 0; cut < w.len; cut++) {
            uint8_t *p = malloc(cut ? cut : 1); /* exactly cut bytes, for ASan */
            assert_non_null(p);
            memcpy(p, buf, cut);
            assert_err_at(proto_body_decode(kinds[k], p, cut, &b), OP_E_TRUNCATED, cut);
            proto_body_fini(&b);
            free(p);
        }
        assert_ok(proto_body_decode(kinds[k], buf, w.len, &b));
        proto_body_fini(&b);
    }
}

static void
test_trailing(void **state)
{
    (void)state;
    for (size_t k = 0; k < N_KINDS; k++) {
        proto_body b;
        uint8_t buf[4096];
        proto_wbuf w;
        full_body(&b, kinds[k]);
        proto_wbuf_init(&w, buf, sizeof buf);
        assert_ok(proto_body_encode(&b, &w));
        proto_body_fini(&b);
        static const uint8_t tails[] = {0x00, 0x80, 0xc0, 0xc1, 0xff};
        for (size_t t = 0; t < sizeof tails; t++) {
            buf[w.len] = tails[t];
            assert_err_at(proto_body_decode(kinds[k], buf, w.len + 1, &b), OP_E_TRAILING, t);
            proto_body_fini(&b);
        }
        memcpy(buf + w.len, buf, w.len); /* the body twice */
        assert_err(proto_body_decode(kinds[k], buf, 2 * w.len, &b), OP_E_TRAILING);
        proto_body_fini(&b);
    }
}

/* A check-in whose one unknown str makes the body exactly `size` bytes. */
static uint8_t *
body_of_size(size_t size)
{
    uint8_t *p = malloc(size);
    assert_non_null(p);
    assert_true(size >= 6 + 256);
    /* 0x81, "x" (0xa1 'x'), str16 header (3) */
    size_t s = size - 6;
    p[0] = 0x81, p[1] = 0xa1, p[2] = 'x';
    p[3] = 0xda, p[4] = (uint8_t)(s >> 8), p[5] = (uint8_t)s;
    memset(p + 6, 'y', s);
    return p;
}

static void
test_body_size_cap(void **state)
{
    (void)state;
    proto_body b;
    uint8_t *p = body_of_size(PROTO_BODY_MAX_BYTES);
    assert_ok(proto_body_decode(PROTO_KIND_CHECKIN, p, PROTO_BODY_MAX_BYTES, &b));
    proto_body_fini(&b);
    free(p);
    /* one byte over: too big, whatever the bytes */
    p = malloc(PROTO_BODY_MAX_BYTES + 1);
    assert_non_null(p);
    memcpy(p, "\x81\xa1x\xda\xff\xfa", 6); /* a str16 of 65530 + 1 extra byte */
    memset(p + 6, 'y', PROTO_BODY_MAX_BYTES + 1 - 6);
    assert_err(proto_body_decode(PROTO_KIND_CHECKIN, p, PROTO_BODY_MAX_BYTES + 1, &b),
               OP_E_TOOBIG);
    proto_body_fini(&b);
    memcpy(p, "\x81\xa1x\xda\xff\xfb", 6); /* a well-formed body of 65537 bytes */
    assert_err(proto_body_decode(PROTO_KIND_CHECKIN, p, PROTO_BODY_MAX_BYTES + 1, &b),
               OP_E_TOOBIG);
    proto_body_fini(&b);
    free(p);
    assert_err(proto_body_decode(PROTO_KIND_CHECKIN, (const uint8_t *)"\x80", SIZE_MAX, &b),
               OP_E_TOOBIG);
    proto_body_fini(&b);
}

/* A text field one byte over its cap: OP_E_TOOBIG in decode and in encode; at the cap: fine. */
static void
text_cap(uint64_t kind, const char *name, size_t cap)
{
    const hf *f = hf_of(kind);
    int idx = -1;
    for (int i = 0; f[i].name; i++)
        if (strcmp(f[i].name, name) == 0)
            idx = i;
    assert_true(idx >= 0);
    char *s = malloc(cap + 2);
    assert_non_null(s);
    for (size_t over = 0; over <= 1; over++) {
        size_t n = cap + over;
        /* the content must be valid where only the length is under test */
        if (strcmp(name, "at") == 0)
            memcpy(s, "2024-02-29", 10), memset(s + 10, '0', n > 10 ? n - 10 : 0);
        else if (strcmp(name, "direction") == 0 || strcmp(name, "period") == 0 ||
                 strcmp(name, "role") == 0)
            memset(s, 'd', n); /* invalid value anyway: only the over-cap case is checked */
        else
            memset(s, 'a', n);
        s[n] = '\0';
        msgpack_sbuffer raw;
        msgpack_packer pk;
        msgpack_sbuffer_init(&raw);
        msgpack_packer_init(&pk, &raw, msgpack_sbuffer_write);
        msgpack_pack_str_with_body(&pk, s, n);
        hb h = HB_NONE;
        h.sub = idx;
        h.raw = raw.data;
        h.rawlen = raw.size;
        op_err want = over ? OP_E_TOOBIG
                      : (strcmp(name, "direction") == 0 || strcmp(name, "period") == 0 ||
                         strcmp(name, "role") == 0)
                          ? OP_E_INVAL
                          : OP_OK;
        assert_err_at(decode_hb(kind, h), want, over);
        msgpack_sbuffer_destroy(&raw);

        /* the encoder refuses it too (proto_body_check) */
        if (over) {
            proto_body b;
            uint8_t buf[8192];
            proto_wbuf w;
            full_body(&b, kind);
            char **field = NULL;
            if (strcmp(name, "note") == 0) field = &b.note;
            if (strcmp(name, "blockers") == 0) field = &b.blockers;
            if (strcmp(name, "wins") == 0) field = &b.wins;
            if (strcmp(name, "site") == 0) field = &b.site;
            if (strcmp(name, "id") == 0) field = &b.id;
            if (strcmp(name, "title") == 0) field = &b.title;
            if (strcmp(name, "unit") == 0) field = &b.unit;
            if (strcmp(name, "direction") == 0) field = &b.direction;
            if (strcmp(name, "period") == 0) field = &b.period;
            if (strcmp(name, "at") == 0) field = &b.at;
            if (strcmp(name, "name") == 0) field = &b.name;
            if (strcmp(name, "role") == 0) field = &b.role;
            assert_non_null(field);
            free(*field);
            *field = strdup(s);
            assert_err(proto_body_check(&b), OP_E_TOOBIG);
            proto_wbuf_init(&w, buf, sizeof buf);
            assert_err(proto_body_encode(&b, &w), OP_E_TOOBIG);
            assert_int_equal(w.len, 0); /* nothing written */
            proto_body_fini(&b);
        }
    }
    free(s);
}

static void
test_text_caps(void **state)
{
    (void)state;
    text_cap(PROTO_KIND_CHECKIN, "note", PROTO_TEXT_MAX_BYTES);
    text_cap(PROTO_KIND_CHECKIN, "blockers", PROTO_TEXT_MAX_BYTES);
    text_cap(PROTO_KIND_CHECKIN, "wins", PROTO_TEXT_MAX_BYTES);
    text_cap(PROTO_KIND_CHECKIN, "site", PROTO_NAME_MAX_BYTES);
    text_cap(PROTO_KIND_KPI_DEF, "id", PROTO_ID_MAX_BYTES);
    text_cap(PROTO_KIND_KPI_DEF, "title", PROTO_NAME_MAX_BYTES);
    text_cap(PROTO_KIND_KPI_DEF, "unit", PROTO_NAME_MAX_BYTES);
    text_cap(PROTO_KIND_KPI_DEF, "direction", 16);
    text_cap(PROTO_KIND_KPI_DEF, "period", 16);
    text_cap(PROTO_KIND_KPI_VALUE, "id", PROTO_ID_MAX_BYTES);
    text_cap(PROTO_KIND_KPI_VALUE, "at", 10);
    text_cap(PROTO_KIND_KPI_VALUE, "note", PROTO_TEXT_MAX_BYTES);
    text_cap(PROTO_KIND_MEMBER, "name", PROTO_NAME_MAX_BYTES);
    text_cap(PROTO_KIND_MEMBER, "site", PROTO_NAME_MAX_BYTES);
    text_cap(PROTO_KIND_MEMBER, "role", 16);
    text_cap(PROTO_KIND_JOIN, "name", PROTO_NAME_MAX_BYTES);
    text_cap(PROTO_KIND_JOIN, "site", PROTO_NAME_MAX_BYTES);
}

/* A NUL inside a text would cut it short in C and in SQLite: OP_E_MALFORMED. */
static void
test_text_with_nul(void **state)
{
    (void)state;
    hb h = HB_NONE;
    h.sub = 4; /* checkin note */
    h.raw = "\xa3" "a\0b";
    h.rawlen = 4;
    assert_err(decode_hb(PROTO_KIND_CHECKIN, h), OP_E_MALFORMED);
    h.sub = 0; /* kpi_value id */
    h.raw = "\xa2" "a\0";
    h.rawlen = 3;
    assert_err(decode_hb(PROTO_KIND_KPI_VALUE, h), OP_E_MALFORMED);
}

static void
test_energy_range(void **state)
{
    (void)state;
    static const struct {
        const char *raw;
        size_t len;
        op_err want;
    } cases[] = {
        {"\x00", 1, OP_E_INVAL},     {"\x01", 1, OP_OK},          {"\x05", 1, OP_OK},
        {"\x06", 1, OP_E_INVAL},     {"\x7f", 1, OP_E_INVAL},     {"\xcc\xff", 2, OP_E_INVAL},
        {"\xcf\x00\x00\x00\x01\x00\x00\x00\x03", 9, OP_E_INVAL}, /* 2^32 + 3: no truncation */
        {"\xcf\xff\xff\xff\xff\xff\xff\xff\xff", 9, OP_E_INVAL},
        {"\xff", 1, OP_E_TYPE}, /* -1 */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        hb h = HB_NONE;
        h.sub = 3; /* energy */
        h.raw = cases[i].raw;
        h.rawlen = cases[i].len;
        assert_err_at(decode_hb(PROTO_KIND_CHECKIN, h), cases[i].want, i);
    }
    /* the encoder: 0 means absent; 6 and up are refused */
    proto_body b;
    uint8_t buf[64];
    proto_wbuf w;
    proto_body_init(&b, PROTO_KIND_CHECKIN);
    b.energy = 6;
    assert_err(proto_body_check(&b), OP_E_INVAL);
    proto_wbuf_init(&w, buf, sizeof buf);
    assert_err(proto_body_encode(&b, &w), OP_E_INVAL);
    b.energy = 0;
    proto_wbuf_init(&w, buf, sizeof buf);
    assert_ok(proto_body_encode(&b, &w));
    assert_int_equal(w.len, 1); /* {} */
    proto_body_fini(&b);
}

static void
test_is_slug(void **state)
{
    (void)state;
    static const char *good[] = {"a", "z", "0", "_", "-", "visits_per-day", "kpi2026"};
    static const char *bad[] = {"",  "A",   "Visits", "a b",  "a/b",  "a.b", "a\tb",
                                "é", "a\n", "a:b",    "a+b",  "🙂", "ab!", " a"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        assert_true(proto_is_slug(good[i]));
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (proto_is_slug(bad[i]))
            fail_msg("\"%s\" taken as a slug", bad[i]);
    char s[PROTO_ID_MAX_BYTES + 2];
    memset(s, 'a', sizeof s);
    s[PROTO_ID_MAX_BYTES] = '\0';
    assert_true(proto_is_slug(s));
    s[PROTO_ID_MAX_BYTES] = 'a';
    s[PROTO_ID_MAX_BYTES + 1] = '\0';
    assert_false(proto_is_slug(s));
}

static void
test_is_date(void **state)
{
    (void)state;
    static const char *good[] = {"2024-02-29", "2000-02-29", "2023-02-28", "2026-04-30",
                                 "2026-01-31", "2026-12-31", "1970-01-01", "9999-12-31",
                                 "2026-03-31", "2026-06-30", "2026-07-31", "2026-08-31"};
    static const char *bad[] = {"2023-02-29", "2026-04-31", "1900-02-29", "2100-02-29",
                                "2024-02-30", "2026-06-31", "2026-09-31", "2026-11-31",
                                "2026-13-01", "2026-00-10", "2026-01-00", "2026-01-32",
                                "1969-12-31", "0000-01-01", "2026-1-01",  "2026-01-1",
                                "26-01-01",   "2026/01/01", "2026-01-01 ", " 2026-01-01",
                                "2026-01-01T00:00", "20260101", "",         "abcd-ef-gh",
                                "2026-+1-01", "2026--1-01", "+026-01-01", "2026-01-+1",
                                "2026 01 01", "2026-0a-01"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        if (!proto_is_date(good[i]))
            fail_msg("\"%s\" refused as a date", good[i]);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (proto_is_date(bad[i]))
            fail_msg("\"%s\" taken as a date", bad[i]);
}

static void
test_bad_slug_and_date_in_bodies(void **state)
{
    (void)state;
    static const char *slugs[] = {"Bad", "a b", "", "a/b"};
    static const char *dates[] = {"2023-02-29", "2026-04-31", "2026-13-01", "2026/01/01", ""};
    for (size_t i = 0; i < sizeof slugs / sizeof slugs[0]; i++) {
        char raw[16];
        raw[0] = (char)(0xa0 | strlen(slugs[i]));
        memcpy(raw + 1, slugs[i], strlen(slugs[i]));
        hb h = HB_NONE;
        h.sub = 0; /* id, in both KPI kinds */
        h.raw = raw;
        h.rawlen = 1 + strlen(slugs[i]);
        assert_err_at(decode_hb(PROTO_KIND_KPI_DEF, h), OP_E_INVAL, i);
        assert_err_at(decode_hb(PROTO_KIND_KPI_VALUE, h), OP_E_INVAL, i);
        proto_body b;
        uint8_t buf[4096];
        proto_wbuf w;
        full_body(&b, PROTO_KIND_KPI_DEF);
        free(b.id);
        b.id = strdup(slugs[i]);
        proto_wbuf_init(&w, buf, sizeof buf);
        assert_err(proto_body_encode(&b, &w), OP_E_INVAL);
        proto_body_fini(&b);
    }
    for (size_t i = 0; i < sizeof dates / sizeof dates[0]; i++) {
        char raw[16];
        raw[0] = (char)(0xa0 | strlen(dates[i]));
        memcpy(raw + 1, dates[i], strlen(dates[i]));
        hb h = HB_NONE;
        h.sub = 2; /* at */
        h.raw = raw;
        h.rawlen = 1 + strlen(dates[i]);
        assert_err_at(decode_hb(PROTO_KIND_KPI_VALUE, h), OP_E_INVAL, i);
        proto_body b;
        uint8_t buf[4096];
        proto_wbuf w;
        full_body(&b, PROTO_KIND_KPI_VALUE);
        free(b.at);
        b.at = strdup(dates[i]);
        proto_wbuf_init(&w, buf, sizeof buf);
        assert_err(proto_body_encode(&b, &w), OP_E_INVAL);
        proto_body_fini(&b);
    }
}

/* Values out of range or missing where required: OP_E_INVAL. */
static void
test_required_and_ranges(void **state)
{
    (void)state;
    /* required: kpi_def id and target; kpi_value id, value and at; key epoch and sealed */
    static const struct {
        uint64_t kind;
        int field;
        op_err want;
    } omit[] = {
        {PROTO_KIND_KPI_DEF, 0, OP_E_INVAL},   {PROTO_KIND_KPI_DEF, 3, OP_E_INVAL},
        {PROTO_KIND_KPI_DEF, 1, OP_OK},        {PROTO_KIND_KPI_DEF, 4, OP_OK},
        {PROTO_KIND_KPI_DEF, 5, OP_OK},        {PROTO_KIND_KPI_DEF, 6, OP_OK},
        {PROTO_KIND_KPI_VALUE, 0, OP_E_INVAL}, {PROTO_KIND_KPI_VALUE, 1, OP_E_INVAL},
        {PROTO_KIND_KPI_VALUE, 2, OP_E_INVAL}, {PROTO_KIND_KPI_VALUE, 3, OP_OK},
        {PROTO_KIND_KEY, 0, OP_E_INVAL},       {PROTO_KIND_KEY, 1, OP_E_INVAL},
        {PROTO_KIND_CHECKIN, 3, OP_OK},
    };
    for (size_t i = 0; i < sizeof omit / sizeof omit[0]; i++) {
        hb h = HB_NONE;
        h.omit = omit[i].field;
        assert_err_at(decode_hb(omit[i].kind, h), omit[i].want, i);
    }
    /* direction and period from their lists only */
    static const char *bad_enum[] = {"\xa2up", "\xa4year", "\xa8" "At_least", "\xa0"};
    for (size_t i = 0; i < 4; i++) {
        hb h = HB_NONE;
        h.sub = 4;
        h.raw = bad_enum[i];
        h.rawlen = strlen(bad_enum[i]);
        assert_err_at(decode_hb(PROTO_KIND_KPI_DEF, h), OP_E_INVAL, i);
        h.sub = 5;
        assert_err_at(decode_hb(PROTO_KIND_KPI_DEF, h), OP_E_INVAL, i);
    }
    /* NaN and infinities are not numbers a KPI can hold */
    static const char *nonfinite[] = {
        "\xcb\x7f\xf8\x00\x00\x00\x00\x00\x00", "\xcb\x7f\xf0\x00\x00\x00\x00\x00\x00",
        "\xcb\xff\xf0\x00\x00\x00\x00\x00\x00", "\xca\x7f\xc0\x00\x00"};
    static const size_t nflen[] = {9, 9, 9, 5};
    for (size_t i = 0; i < 4; i++) {
        hb h = HB_NONE;
        h.sub = 3; /* target */
        h.raw = nonfinite[i];
        h.rawlen = nflen[i];
        assert_err_at(decode_hb(PROTO_KIND_KPI_DEF, h), OP_E_INVAL, i);
        h.sub = 1; /* value */
        assert_err_at(decode_hb(PROTO_KIND_KPI_VALUE, h), OP_E_INVAL, i);
    }
    /* key: epoch 0 */
    hb h = HB_NONE;
    h.sub = 0;
    h.raw = "\x00";
    h.rawlen = 1;
    assert_err(decode_hb(PROTO_KIND_KEY, h), OP_E_INVAL);
    /* and the encoder's own checks */
    proto_body b;
    full_body(&b, PROTO_KIND_KPI_DEF);
    b.target = NAN;
    assert_err(proto_body_check(&b), OP_E_INVAL);
    b.target = 1;
    free(b.period);
    b.period = strdup("year");
    assert_err(proto_body_check(&b), OP_E_INVAL);
    proto_body_fini(&b);
    full_body(&b, PROTO_KIND_KEY);
    b.epoch = 0;
    assert_err(proto_body_check(&b), OP_E_INVAL);
    b.epoch = 1;
    b.n_sealed = 0;
    assert_err(proto_body_check(&b), OP_E_INVAL);
    b.n_sealed = PROTO_SEALED_MAX + 1;
    assert_err(proto_body_check(&b), OP_E_INVAL);
    b.n_sealed = 3;
    assert_ok(proto_body_check(&b));
    proto_body_fini(&b);
}

/* The sealed list of a key body, each way it can be wrong. */
static void
test_sealed_list(void **state)
{
    (void)state;
    static const struct {
        const char *what;
        op_err want;
    } cases[] = {
        {"empty", OP_E_INVAL},         {"pair-not-array", OP_E_TYPE},
        {"pair-of-1", OP_E_MALFORMED}, {"pair-of-3", OP_E_MALFORMED},
        {"reader-33", OP_E_TOOBIG},    {"reader-31", OP_E_MALFORMED},
        {"reader-str", OP_E_TYPE},     {"box-81", OP_E_TOOBIG},
        {"box-79", OP_E_MALFORMED},    {"box-nil", OP_E_TYPE},
        {"over-max", OP_E_TOOBIG},     {"second-bad", OP_E_MALFORMED},
        {"max", OP_OK},
    };
    uint8_t fill[128];
    memset(fill, 0x42, sizeof fill);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *w = cases[i].what;
        msgpack_sbuffer raw;
        msgpack_packer pk;
        msgpack_sbuffer_init(&raw);
        msgpack_packer_init(&pk, &raw, msgpack_sbuffer_write);
        if (strcmp(w, "empty") == 0) {
            msgpack_pack_array(&pk, 0);
        } else if (strcmp(w, "over-max") == 0) {
            /* PROTO_SEALED_MAX + 1 small elements: refused by count, before their content */
            msgpack_pack_array(&pk, PROTO_SEALED_MAX + 1);
            for (size_t k = 0; k < PROTO_SEALED_MAX + 1; k++)
                msgpack_pack_nil(&pk);
        } else if (strcmp(w, "max") == 0) {
            /* as many readers as fit in a body */
            size_t n = 500;
            msgpack_pack_array(&pk, n);
            for (size_t k = 0; k < n; k++) {
                msgpack_pack_array(&pk, 2);
                msgpack_pack_bin_with_body(&pk, fill, 32);
                msgpack_pack_bin_with_body(&pk, fill, 80);
            }
        } else {
            size_t n = strcmp(w, "second-bad") == 0 ? 2 : 1;
            msgpack_pack_array(&pk, n);
            for (size_t k = 0; k < n; k++) {
                bool bad = n == 1 || k == 1;
                if (bad && strcmp(w, "pair-not-array") == 0) {
                    msgpack_pack_bin_with_body(&pk, fill, 32);
                    continue;
                }
                size_t len = bad && strcmp(w, "pair-of-1") == 0   ? 1
                             : bad && strcmp(w, "pair-of-3") == 0 ? 3
                             : bad && strcmp(w, "second-bad") == 0 ? 3
                                                                    : 2;
                msgpack_pack_array(&pk, len);
                if (bad && strcmp(w, "reader-str") == 0)
                    msgpack_pack_str_with_body(&pk, (const char *)fill, 32);
                else
                    msgpack_pack_bin_with_body(&pk, fill,
                                               bad && strcmp(w, "reader-33") == 0   ? 33
                                               : bad && strcmp(w, "reader-31") == 0 ? 31
                                                                                    : 32);
                if (len < 2)
                    continue;
                if (bad && strcmp(w, "box-nil") == 0)
                    msgpack_pack_nil(&pk);
                else
                    msgpack_pack_bin_with_body(&pk, fill,
                                               bad && strcmp(w, "box-81") == 0   ? 81
                                               : bad && strcmp(w, "box-79") == 0 ? 79
                                                                                 : 80);
                if (len == 3)
                    msgpack_pack_nil(&pk);
            }
        }
        hb h = HB_NONE;
        h.sub = 1;
        h.raw = raw.data;
        h.rawlen = raw.size;
        assert_err_at(decode_hb(PROTO_KIND_KEY, h), cases[i].want, i);
        msgpack_sbuffer_destroy(&raw);
    }
}

/* Hostile bytes anywhere in a body: the prescan's own codes. */
static void
test_hostile_bytes(void **state)
{
    (void)state;
    static const struct {
        const char *raw;
        size_t len;
        op_err want;
    } cases[] = {
        {"\xdf\xff\xff\xff\xff", 5, OP_E_COUNT},
        {"\xdd\xff\xff\xff\xff", 5, OP_E_COUNT},
        {"\xde\xff\xff", 3, OP_E_COUNT},
        {"\xc1", 1, OP_E_MALFORMED},
        {"\xd6\xff\x00\x00\x00\x00", 6, OP_E_MALFORMED},
        {"\xc7\x00\x01", 3, OP_E_MALFORMED},
        {"\xdb\x00\x10\x00\x01", 5, OP_E_TOOBIG}, /* str32 over PROTO_MP_MAX_BYTES */
        {"\x91\x91\x91\x91\x91\x91\x91\xc0", 8, DEEP_BUT_OK},
        {"\x91\x91\x91\x91\x91\x91\x91\x91\xc0", 9, OP_E_DEPTH},
    };
    for (size_t k = 0; k < N_KINDS; k++)
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            /* as the value of a known field, and of an unknown one */
            hb h = HB_NONE;
            h.sub = 0;
            h.raw = cases[i].raw;
            h.rawlen = cases[i].len;
            op_err want = cases[i].want == DEEP_BUT_OK ? OP_E_TYPE : cases[i].want;
            assert_err_at(decode_hb(kinds[k], h), want, k * 100 + i);
            msgpack_sbuffer sb;
            msgpack_packer pk;
            msgpack_sbuffer_init(&sb);
            msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
            msgpack_pack_map(&pk, 1);
            pack_cstr(&pk, "unknown");
            msgpack_sbuffer_write(&sb, cases[i].raw, cases[i].len);
            want = cases[i].want == DEEP_BUT_OK
                       ? (kinds[k] == PROTO_KIND_CHECKIN ? OP_OK : OP_E_INVAL)
                       : cases[i].want;
            assert_err_at(decode_sb(kinds[k], &sb), want, k * 100 + i);
            msgpack_sbuffer_destroy(&sb);
        }
    /* the whole body */
    proto_body b;
    assert_err(proto_body_decode(PROTO_KIND_CHECKIN, (const uint8_t *)"\xdf\xff\xff\xff\xff", 5,
                                 &b),
               OP_E_COUNT);
    proto_body_fini(&b);
    assert_err(proto_body_decode(PROTO_KIND_CHECKIN, (const uint8_t *)"\xc1", 1, &b),
               OP_E_MALFORMED);
    proto_body_fini(&b);
}

/* receipt {heads}: round trip; empty, seq 0 and over the cap refused. */
static void
test_receipt(void **state)
{
    (void)state;
    static uint8_t buf[PROTO_BODY_MAX_BYTES];
    proto_body b, d;
    proto_wbuf w;
    proto_body_init(&b, PROTO_KIND_RECEIPT);
    b.heads = calloc(PROTO_RECEIPT_MAX_HEADS + 1, sizeof *b.heads);
    assert_non_null(b.heads);
    for (size_t i = 0; i <= PROTO_RECEIPT_MAX_HEADS; i++) {
        memset(b.heads[i].author, (int)i, PROTO_KEY_BYTES);
        b.heads[i].seq = 1000000 + i;
    }
    b.n_heads = 2;
    proto_wbuf_init(&w, buf, sizeof buf);
    assert_err(proto_body_encode(&b, &w), OP_OK);
    assert_err(proto_body_decode(PROTO_KIND_RECEIPT, buf, w.len, &d), OP_OK);
    assert_int_equal(d.n_heads, 2);
    assert_memory_equal(d.heads[1].author, b.heads[1].author, PROTO_KEY_BYTES);
    assert_int_equal(d.heads[1].seq, 1000001);
    proto_body_fini(&d);
    /* the largest receipt fits in a body */
    b.n_heads = PROTO_RECEIPT_MAX_HEADS;
    proto_wbuf_init(&w, buf, sizeof buf);
    assert_err(proto_body_encode(&b, &w), OP_OK);
    assert_err(proto_body_decode(PROTO_KIND_RECEIPT, buf, w.len, &d), OP_OK);
    proto_body_fini(&d);
    b.n_heads = PROTO_RECEIPT_MAX_HEADS + 1;
    proto_wbuf_init(&w, buf, sizeof buf);
    assert_err(proto_body_encode(&b, &w), OP_E_INVAL);
    b.n_heads = 1;
    b.heads[0].seq = 0;
    proto_wbuf_init(&w, buf, sizeof buf);
    assert_err(proto_body_encode(&b, &w), OP_E_INVAL);
    b.n_heads = 0;
    assert_err(proto_body_encode(&b, &w), OP_E_INVAL);
    proto_body_fini(&b);
    /* by hand: an empty list, a head of the wrong shape */
    assert_err(proto_body_decode(PROTO_KIND_RECEIPT, (const uint8_t *)"\x81\xa5heads\x90", 8, &d),
               OP_E_INVAL);
    proto_body_fini(&d);
    assert_err(proto_body_decode(PROTO_KIND_RECEIPT, (const uint8_t *)"\x81\xa5heads\x91\x91\x01",
                                 10, &d),
               OP_E_MALFORMED);
    proto_body_fini(&d);
}

static void
test_unknown_kinds(void **state)
{
    (void)state;
    for (uint64_t k = 0; k <= 20; k++) {
        bool known = (k >= 1 && k <= 8) || k == 10 || k == 11 || k == 12;
        assert_int_equal(proto_body_kind_known(k), known);
        if (known)
            continue;
        proto_body b;
        assert_err_at(proto_body_decode(k, (const uint8_t *)"\x80", 1, &b), OP_E_INVAL, k);
        proto_body_fini(&b);
        proto_body_init(&b, k);
        assert_err_at(proto_body_check(&b), OP_E_INVAL, k);
        uint8_t buf[16];
        proto_wbuf w;
        proto_wbuf_init(&w, buf, sizeof buf);
        assert_err_at(proto_body_encode(&b, &w), OP_E_INVAL, k);
        proto_body_fini(&b);
    }
    assert_false(proto_body_kind_known(UINT64_MAX));
}

/* Encoding into a buffer too small at every capacity: OP_E_TOOBIG, never an overrun. */
static void
test_encode_bounded(void **state)
{
    (void)state;
    for (size_t k = 0; k < N_KINDS; k++) {
        proto_body b;
        uint8_t full[4096];
        proto_wbuf w;
        full_body(&b, kinds[k]);
        proto_wbuf_init(&w, full, sizeof full);
        assert_ok(proto_body_encode(&b, &w));
        size_t need = w.len;
        for (size_t cap = 0; cap < need; cap++) {
            uint8_t *p = malloc(cap ? cap : 1); /* exactly cap bytes, for ASan */
            assert_non_null(p);
            proto_wbuf_init(&w, p, cap);
            assert_err_at(proto_body_encode(&b, &w), OP_E_TOOBIG, cap);
            assert_true(w.len <= cap);
            free(p);
        }
        uint8_t *p = malloc(need);
        proto_wbuf_init(&w, p, need);
        assert_ok(proto_body_encode(&b, &w));
        assert_memory_equal(p, full, need);
        free(p);
        proto_body_fini(&b);
    }
}

/* init sets every field absent; fini frees and is safe to repeat. */
static void
test_init_fini(void **state)
{
    (void)state;
    proto_body b;
    proto_body_init(&b, PROTO_KIND_CHECKIN);
    assert_int_equal(b.delivering, PROTO_UNSET);
    assert_int_equal(b.thriving, PROTO_UNSET);
    assert_int_equal(b.support, PROTO_UNSET);
    assert_int_equal(b.energy, 0);
    assert_null(b.note);
    assert_true(isnan(b.target));
    assert_true(isnan(b.value));
    assert_false(b.has_for);
    assert_null(b.sealed);
    proto_body_fini(&b);
    proto_body_fini(&b);
    for (size_t k = 0; k < N_KINDS; k++) {
        full_body(&b, kinds[k]);
        proto_body_fini(&b);
        proto_body_fini(&b);
        assert_null(b.sealed);
        assert_int_equal(b.n_sealed, 0);
    }
}

/*
 * A key body the encoder accepts must be one a decoder accepts. PROTO_SEALED_MAX (1024) readers
 * take 1024 * 117 bytes, over PROTO_BODY_MAX_BYTES, which proto_body_decode and
 * proto_run_verify refuse; proto_body_check lets it through.
 */
static void
test_key_body_at_sealed_max_decodes(void **state)
{
    (void)state;
    proto_body b;
    proto_wbuf w;
    size_t cap = 200000;
    uint8_t *buf = malloc(cap);
    assert_non_null(buf);
    proto_body_init(&b, PROTO_KIND_KEY);
    b.epoch = 1;
    b.n_sealed = PROTO_SEALED_MAX;
    b.sealed = calloc(PROTO_SEALED_MAX, sizeof *b.sealed);
    assert_non_null(b.sealed);
    proto_wbuf_init(&w, buf, cap);
    op_err enc = proto_body_encode(&b, &w);
    proto_body_fini(&b);
    if (enc == OP_OK) {
        proto_body d;
        op_err dec = proto_body_decode(PROTO_KIND_KEY, buf, w.len, &d);
        proto_body_fini(&d);
        free(buf);
        if (dec != OP_OK)
            fail_msg("proto_body_encode accepted %d readers (%zu bytes) but proto_body_decode "
                     "refuses the result with %s",
                     PROTO_SEALED_MAX, w.len, op_errname(dec));
    } else {
        free(buf);
        assert_err(enc, OP_E_TOOBIG);
    }
}


/* ---- membership kinds: member, revoke, join ----------------------------------------------- */

/* The fields each of them cannot do without; site is optional. */
static void
test_membership_required(void **state)
{
    (void)state;
    static const struct {
        uint64_t kind;
        int omit;
        op_err want;
    } cases[] = {
        {PROTO_KIND_MEMBER, 0, OP_E_INVAL}, /* key */
        {PROTO_KIND_MEMBER, 1, OP_E_INVAL}, /* name */
        {PROTO_KIND_MEMBER, 2, OP_OK},      /* site */
        {PROTO_KIND_MEMBER, 3, OP_E_INVAL}, /* role */
        {PROTO_KIND_REVOKE, 0, OP_E_INVAL}, /* key */
        {PROTO_KIND_REVOKE, 1, OP_E_INVAL}, /* after_seq: absent is not 0 */
        {PROTO_KIND_JOIN, 0, OP_E_INVAL},   /* name */
        {PROTO_KIND_JOIN, 1, OP_OK},        /* site */
        {PROTO_KIND_JOIN, 2, OP_E_INVAL},   /* proof */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        hb h = HB_NONE;
        h.omit = cases[i].omit;
        assert_err_at(decode_hb(cases[i].kind, h), cases[i].want, i);
        h.unknown = true; /* an unknown key in its place does not stand in for it */
        assert_err_at(decode_hb(cases[i].kind, h), cases[i].want, i);
    }
    /* {} of each */
    for (uint64_t k = PROTO_KIND_MEMBER; k <= PROTO_KIND_JOIN; k++) {
        if (k != PROTO_KIND_MEMBER && k != PROTO_KIND_REVOKE && k != PROTO_KIND_JOIN)
            continue;
        proto_body b;
        assert_err_at(proto_body_decode(k, (const uint8_t *)"\x80", 1, &b), OP_E_INVAL, k);
        proto_body_fini(&b);
    }
    /* and the encoder */
    proto_body b;
    uint8_t buf[512];
    proto_wbuf w;
    full_body(&b, PROTO_KIND_MEMBER);
    b.has_key = false;
    assert_err(proto_body_check(&b), OP_E_INVAL);
    b.has_key = true;
    free(b.name);
    b.name = NULL;
    assert_err(proto_body_check(&b), OP_E_INVAL);
    b.name = strdup("N");
    free(b.role);
    b.role = NULL;
    assert_err(proto_body_check(&b), OP_E_INVAL);
    proto_wbuf_init(&w, buf, sizeof buf);
    assert_err(proto_body_encode(&b, &w), OP_E_INVAL);
    assert_int_equal(w.len, 0);
    b.role = strdup("office");
    free(b.site);
    b.site = NULL;
    assert_ok(proto_body_check(&b));
    proto_body_fini(&b);
    full_body(&b, PROTO_KIND_REVOKE);
    b.has_key = false;
    assert_err(proto_body_check(&b), OP_E_INVAL);
    proto_body_fini(&b);
    full_body(&b, PROTO_KIND_JOIN);
    b.has_proof = false;
    assert_err(proto_body_check(&b), OP_E_INVAL);
    b.has_proof = true;
    free(b.name);
    b.name = NULL;
    assert_err(proto_body_check(&b), OP_E_INVAL);
    proto_body_fini(&b);
}

/* Values: role is worker or office; a name is non-empty UTF-8 without control characters;
 * after_seq is any uint. */
static void
test_membership_values(void **state)
{
    (void)state;
    static const struct {
        const char *role;
        op_err want;
    } roles[] = {{"worker", OP_OK}, {"office", OP_OK},       {"admin", OP_E_INVAL},
                 {"", OP_E_INVAL},  {"Worker", OP_E_INVAL},  {"worker ", OP_E_INVAL},
                 {"office\n", OP_E_INVAL}};
    for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++) {
        msgpack_sbuffer raw;
        msgpack_packer pk;
        msgpack_sbuffer_init(&raw);
        msgpack_packer_init(&pk, &raw, msgpack_sbuffer_write);
        pack_cstr(&pk, roles[i].role);
        hb h = HB_NONE;
        h.sub = 3;
        h.raw = raw.data;
        h.rawlen = raw.size;
        assert_err_at(decode_hb(PROTO_KIND_MEMBER, h), roles[i].want, i);
        msgpack_sbuffer_destroy(&raw);
    }
    static const struct {
        const char *name;
        op_err want;
    } names[] = {{"Ann", OP_OK},           {"Åse Nørgaard 🙂", OP_OK}, {"", OP_E_INVAL},
                 {"a\nb", OP_E_INVAL},     {"a\x1b[31m", OP_E_INVAL}, {"\x7f", OP_E_INVAL},
                 {"tab\there", OP_E_INVAL}, {"\xff", OP_E_INVAL},      {"\xc3\x28", OP_E_INVAL},
                 {"\xed\xa0\x80", OP_E_INVAL}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        msgpack_sbuffer raw;
        msgpack_packer pk;
        msgpack_sbuffer_init(&raw);
        msgpack_packer_init(&pk, &raw, msgpack_sbuffer_write);
        pack_cstr(&pk, names[i].name);
        hb h = HB_NONE;
        h.sub = 1; /* member name */
        h.raw = raw.data;
        h.rawlen = raw.size;
        assert_err_at(decode_hb(PROTO_KIND_MEMBER, h), names[i].want, i);
        h.sub = 0; /* join name */
        assert_err_at(decode_hb(PROTO_KIND_JOIN, h), names[i].want, i);
        msgpack_sbuffer_destroy(&raw);
        /* the encoder agrees */
        proto_body b;
        full_body(&b, PROTO_KIND_MEMBER);
        free(b.name);
        b.name = strdup(names[i].name);
        assert_err_at(proto_body_check(&b), names[i].want, i);
        proto_body_fini(&b);
    }
    /* a site may hold any UTF-8 text, as a check-in's does; not other bytes */
    hb h = HB_NONE;
    h.sub = 2;
    h.raw = "\xa1\xff";
    h.rawlen = 2;
    assert_err(decode_hb(PROTO_KIND_MEMBER, h), OP_E_INVAL);
    /* after_seq: every uint, nothing else */
    static const struct {
        const char *raw;
        size_t len;
        op_err want;
    } seqs[] = {
        {"\x00", 1, OP_OK},
        {"\x01", 1, OP_OK},
        {"\xce\xff\xff\xff\xff", 5, OP_OK},
        {"\xcf\xff\xff\xff\xff\xff\xff\xff\xff", 9, OP_OK},
        {"\xff", 1, OP_E_TYPE},                                 /* -1 */
        {"\xcb\x3f\xf0\x00\x00\x00\x00\x00\x00", 9, OP_E_TYPE}, /* 1.0 */
        {"\xa1" "1", 2, OP_E_TYPE},
    };
    for (size_t i = 0; i < sizeof seqs / sizeof seqs[0]; i++) {
        h = HB_NONE;
        h.sub = 1;
        h.raw = seqs[i].raw;
        h.rawlen = seqs[i].len;
        assert_err_at(decode_hb(PROTO_KIND_REVOKE, h), seqs[i].want, i);
    }
    proto_body b;
    uint8_t buf[256];
    full_body(&b, PROTO_KIND_REVOKE);
    b.after_seq = 0;
    round_trip(&b, buf, sizeof buf);
    b.after_seq = UINT64_MAX;
    round_trip(&b, buf, sizeof buf);
    proto_body_fini(&b);
    full_body(&b, PROTO_KIND_MEMBER);
    free(b.site);
    b.site = NULL; /* site left out */
    round_trip(&b, buf, sizeof buf);
    free(b.role);
    b.role = strdup("office");
    round_trip(&b, buf, sizeof buf);
    proto_body_fini(&b);
    full_body(&b, PROTO_KIND_JOIN);
    free(b.site);
    b.site = NULL;
    round_trip(&b, buf, sizeof buf);
    proto_body_fini(&b);
}

/* A key or a proof of the wrong length: TOOBIG when longer, MALFORMED when shorter. */
static void
test_bin_lengths(void **state)
{
    (void)state;
    static const struct {
        uint64_t kind;
        int field;
        size_t len;
        op_err want;
    } cases[] = {
        {PROTO_KIND_MEMBER, 0, 31, OP_E_MALFORMED}, {PROTO_KIND_MEMBER, 0, 33, OP_E_TOOBIG},
        {PROTO_KIND_MEMBER, 0, 0, OP_E_MALFORMED},  {PROTO_KIND_MEMBER, 0, 32, OP_OK},
        {PROTO_KIND_REVOKE, 0, 31, OP_E_MALFORMED}, {PROTO_KIND_REVOKE, 0, 33, OP_E_TOOBIG},
        {PROTO_KIND_REVOKE, 0, 64, OP_E_TOOBIG},    {PROTO_KIND_JOIN, 2, 111, OP_E_MALFORMED},
        {PROTO_KIND_JOIN, 2, 113, OP_E_TOOBIG},     {PROTO_KIND_JOIN, 2, 32, OP_E_MALFORMED},
        {PROTO_KIND_JOIN, 2, 0, OP_E_MALFORMED},    {PROTO_KIND_JOIN, 2, 112, OP_OK},
        {PROTO_KIND_KPI_DEF, 6, 31, OP_E_MALFORMED}, {PROTO_KIND_KPI_DEF, 6, 33, OP_E_TOOBIG},
    };
    uint8_t fill[200];
    memset(fill, 0x5a, sizeof fill);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        msgpack_sbuffer raw;
        msgpack_packer pk;
        msgpack_sbuffer_init(&raw);
        msgpack_packer_init(&pk, &raw, msgpack_sbuffer_write);
        msgpack_pack_bin_with_body(&pk, fill, cases[i].len);
        hb h = HB_NONE;
        h.sub = cases[i].field;
        h.raw = raw.data;
        h.rawlen = raw.size;
        assert_err_at(decode_hb(cases[i].kind, h), cases[i].want, i);
        msgpack_sbuffer_destroy(&raw);
        /* a str of the right length is still the wrong type */
        msgpack_sbuffer_init(&raw);
        msgpack_packer_init(&pk, &raw, msgpack_sbuffer_write);
        msgpack_pack_str_with_body(&pk, (const char *)fill, cases[i].len);
        h.raw = raw.data;
        h.rawlen = raw.size;
        assert_err_at(decode_hb(cases[i].kind, h), OP_E_TYPE, i);
        msgpack_sbuffer_destroy(&raw);
    }
}

/* The exact bytes of each: keys in table order, only the fields present. */
static void
test_membership_canonical(void **state)
{
    (void)state;
    uint8_t buf[512];
    proto_wbuf w;
    proto_body b;
    msgpack_sbuffer sb;
    msgpack_packer pk;

    full_body(&b, PROTO_KIND_MEMBER);
    free(b.site);
    b.site = NULL;
    proto_wbuf_init(&w, buf, sizeof buf);
    assert_ok(proto_body_encode(&b, &w));
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 3);
    pack_cstr(&pk, "key");
    msgpack_pack_bin_with_body(&pk, b.key, 32);
    pack_cstr(&pk, "name");
    pack_cstr(&pk, b.name);
    pack_cstr(&pk, "role");
    pack_cstr(&pk, "worker");
    assert_int_equal(w.len, sb.size);
    assert_memory_equal(buf, sb.data, sb.size);
    msgpack_sbuffer_destroy(&sb);
    proto_body_fini(&b);

    full_body(&b, PROTO_KIND_REVOKE);
    b.after_seq = 5;
    proto_wbuf_init(&w, buf, sizeof buf);
    assert_ok(proto_body_encode(&b, &w));
    uint8_t want[2 + 4 + 2 + 32 + 10 + 1] = {0x82, 0xa3, 'k', 'e', 'y', 0xc4, 0x20};
    memset(want + 7, 0x72, 32);
    memcpy(want + 39, "\xa9" "after_seq" "\x05", 11);
    assert_int_equal(w.len, 50);
    assert_memory_equal(buf, want, 50);
    proto_body_fini(&b);

    full_body(&b, PROTO_KIND_JOIN);
    proto_wbuf_init(&w, buf, sizeof buf);
    assert_ok(proto_body_encode(&b, &w));
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 3);
    pack_cstr(&pk, "name");
    pack_cstr(&pk, "Ann Larsen");
    pack_cstr(&pk, "site");
    pack_cstr(&pk, "Kisumu East");
    pack_cstr(&pk, "proof");
    msgpack_pack_bin_with_body(&pk, b.proof, PROTO_JOIN_PROOF_BYTES);
    assert_int_equal(w.len, sb.size);
    assert_memory_equal(buf, sb.data, sb.size);
    msgpack_sbuffer_destroy(&sb);
    proto_body_fini(&b);
}

int
main(void)
{
    if (sodium_init() < 0)
        return 1;
    memset(key44, 0x44, sizeof key44);
    memset(box55, 0x55, sizeof box55);
    memset(proof66, 0x66, sizeof proof66);
    for (size_t i = 0; i < 3; i++) {
        memset(sealed3[i].reader, (int)(0x10 + i), PROTO_KEY_BYTES);
        memset(sealed3[i].box, (int)(0x20 + i), PROTO_SEALED_BYTES);
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_each_kind),
        cmocka_unit_test(test_round_trip_sparse),
        cmocka_unit_test(test_canonical_bytes),
        cmocka_unit_test(test_any_key_order_decodes),
        cmocka_unit_test(test_hand_bodies_decode),
        cmocka_unit_test(test_unknown_keys_ignored),
        cmocka_unit_test(test_duplicate_known_key),
        cmocka_unit_test(test_wrong_type_each_field),
        cmocka_unit_test(test_not_a_map),
        cmocka_unit_test(test_truncated_every_offset),
        cmocka_unit_test(test_trailing),
        cmocka_unit_test(test_body_size_cap),
        cmocka_unit_test(test_text_caps),
        cmocka_unit_test(test_text_with_nul),
        cmocka_unit_test(test_energy_range),
        cmocka_unit_test(test_is_slug),
        cmocka_unit_test(test_is_date),
        cmocka_unit_test(test_bad_slug_and_date_in_bodies),
        cmocka_unit_test(test_required_and_ranges),
        cmocka_unit_test(test_sealed_list),
        cmocka_unit_test(test_hostile_bytes),
        cmocka_unit_test(test_receipt),
        cmocka_unit_test(test_unknown_kinds),
        cmocka_unit_test(test_encode_bounded),
        cmocka_unit_test(test_init_fini),
        cmocka_unit_test(test_key_body_at_sealed_max_decodes),
        cmocka_unit_test(test_membership_required),
        cmocka_unit_test(test_membership_values),
        cmocka_unit_test(test_bin_lengths),
        cmocka_unit_test(test_membership_canonical),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
