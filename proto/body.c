/*
 * body.c — bodies as msgpack maps (see body.h, SPEC §5).
 *
 * One table per kind drives both directions, so the encoder and the decoder cannot disagree
 * about a field's name, type or cap.
 */
#include "proto/body.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "proto/mp.h"

enum ftype { F_TRI, F_ENERGY, F_TEXT, F_NUM, F_BIN, F_UINT, F_SEALED, F_HEADS, F_REF };

typedef struct field {
    const char *name;
    enum ftype type;
    size_t off;
    size_t max; /* F_TEXT: byte cap; F_BIN: the exact length */
    size_t has; /* F_BIN: offset of the bool that says it is present */
    bool req;   /* a body without this field is refused (OP_E_INVAL) */
} field;

#define FLD(n, t, member, m) {n, t, offsetof(proto_body, member), m, 0, false}
#define REQ(n, t, member, m) {n, t, offsetof(proto_body, member), m, 0, true}
#define BIN(n, member, flag, len, r)                                                               \
    {n, F_BIN, offsetof(proto_body, member), len, offsetof(proto_body, flag), r}

static const field checkin_fields[] = {
    FLD("delivering", F_TRI, delivering, 0),
    FLD("thriving", F_TRI, thriving, 0),
    FLD("support", F_TRI, support, 0),
    FLD("energy", F_ENERGY, energy, 0),
    FLD("note", F_TEXT, note, PROTO_TEXT_MAX_BYTES),
    FLD("blockers", F_TEXT, blockers, PROTO_TEXT_MAX_BYTES),
    FLD("wins", F_TEXT, wins, PROTO_TEXT_MAX_BYTES),
    FLD("site", F_TEXT, site, PROTO_NAME_MAX_BYTES),
    {0},
};
static const field kpi_def_fields[] = {
    FLD("id", F_TEXT, id, PROTO_ID_MAX_BYTES),
    FLD("title", F_TEXT, title, PROTO_NAME_MAX_BYTES),
    FLD("unit", F_TEXT, unit, PROTO_NAME_MAX_BYTES),
    FLD("target", F_NUM, target, 0),
    FLD("direction", F_TEXT, direction, 16),
    FLD("period", F_TEXT, period, 16),
    BIN("for", for_key, has_for, PROTO_KEY_BYTES, false),
    FLD("aggregate", F_TEXT, aggregate, 8),
    {0},
};
static const field kpi_value_fields[] = {
    FLD("id", F_TEXT, id, PROTO_ID_MAX_BYTES),
    FLD("value", F_NUM, value, 0),
    FLD("at", F_TEXT, at, 10),
    FLD("note", F_TEXT, note, PROTO_TEXT_MAX_BYTES),
    {0},
};
static const field feedback_fields[] = {
    BIN("to", who, has_who, PROTO_KEY_BYTES, true),
    REQ("text", F_TEXT, text, PROTO_TEXT_MAX_BYTES),
    {"re", F_REF, offsetof(proto_body, re), 0, offsetof(proto_body, has_re), false},
    {0},
};
static const field contact_fields[] = {
    BIN("with", who, has_who, PROTO_KEY_BYTES, true),
    REQ("topic", F_TEXT, topic, 16),
    FLD("note", F_TEXT, note, PROTO_TEXT_MAX_BYTES),
    {0},
};
static const field key_fields[] = {
    FLD("epoch", F_UINT, epoch, 0),
    FLD("sealed", F_SEALED, sealed, 0),
    {0},
};
/* Membership (SPEC §6): plaintext, so every member can read who belongs to the team. */
static const field member_fields[] = {
    BIN("key", key, has_key, PROTO_KEY_BYTES, true),
    REQ("name", F_TEXT, name, PROTO_NAME_MAX_BYTES),
    FLD("site", F_TEXT, site, PROTO_NAME_MAX_BYTES),
    REQ("role", F_TEXT, role, 16),
    {0},
};
static const field revoke_fields[] = {
    BIN("key", key, has_key, PROTO_KEY_BYTES, true),
    REQ("after_seq", F_UINT, after_seq, 0), /* 0 is a value: nothing of that author counts */
    {0},
};
static const field join_fields[] = {
    REQ("name", F_TEXT, name, PROTO_NAME_MAX_BYTES),
    FLD("site", F_TEXT, site, PROTO_NAME_MAX_BYTES),
    BIN("proof", proof, has_proof, PROTO_JOIN_PROOF_BYTES, true),
    {0},
};

/* erase {re: [author, seq]} (SPEC §5 kind 10): plaintext, so that every holder, relays
 * included, can act on it. */
static const field erase_fields[] = {
    {"re", F_REF, offsetof(proto_body, re), 0, offsetof(proto_body, has_re), true},
    {0},
};

static const field receipt_fields[] = {
    FLD("heads", F_HEADS, heads, 0),
    {0},
};

static const field *
fields_of(uint64_t kind)
{
    switch (kind) {
    case PROTO_KIND_CHECKIN: return checkin_fields;
    case PROTO_KIND_KPI_DEF: return kpi_def_fields;
    case PROTO_KIND_KPI_VALUE: return kpi_value_fields;
    case PROTO_KIND_FEEDBACK: return feedback_fields;
    case PROTO_KIND_CONTACT: return contact_fields;
    case PROTO_KIND_KEY: return key_fields;
    case PROTO_KIND_MEMBER: return member_fields;
    case PROTO_KIND_REVOKE: return revoke_fields;
    case PROTO_KIND_JOIN: return join_fields;
    case PROTO_KIND_RECEIPT: return receipt_fields;
    case PROTO_KIND_ERASE: return erase_fields;
    default: return NULL;
    }
}

bool
proto_body_kind_known(uint64_t kind)
{
    return fields_of(kind) != NULL;
}

void
proto_body_init(proto_body *b, uint64_t kind)
{
    memset(b, 0, sizeof *b);
    b->kind = kind;
    b->delivering = b->thriving = b->support = PROTO_UNSET;
    b->target = b->value = NAN;
}

void
proto_body_fini(proto_body *b)
{
    const field *f = fields_of(b->kind);
    for (; f && f->name; f++)
        if (f->type == F_TEXT) {
            char **s = (char **)((char *)b + f->off);
            free(*s);
            *s = NULL;
        }
    free(b->sealed);
    b->sealed = NULL;
    b->n_sealed = 0;
    free(b->heads);
    b->heads = NULL;
    b->n_heads = 0;
}

static bool
present(const proto_body *b, const field *f)
{
    const char *base = (const char *)b + f->off;
    switch (f->type) {
    case F_TRI: return *(const proto_tri *)base != PROTO_UNSET;
    case F_ENERGY: return *(const unsigned *)base != 0;
    case F_TEXT: return *(char *const *)base != NULL;
    case F_NUM: return !isnan(*(const double *)base);
    case F_BIN: return *(const bool *)((const char *)b + f->has);
    case F_UINT: return true;
    case F_SEALED: return true;
    case F_HEADS: return true;
    case F_REF: return *(const bool *)((const char *)b + f->has);
    }
    return false;
}

bool
proto_is_slug(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > PROTO_ID_MAX_BYTES)
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_' || *s == '-'))
            return false;
    return true;
}

bool
proto_is_date(const char *s)
{
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
        return false;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
            return false;
    int y = atoi(s), m = atoi(s + 5), d = atoi(s + 8);
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (y < 1970 || m < 1 || m > 12 || d < 1)
        return false;
    return d <= mdays[m - 1] + (m == 2 && leap);
}

bool
proto_is_utf8(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + n;
    while (p < end) {
        unsigned c = *p;
        size_t len;
        unsigned min, cp;
        if (c < 0x80) {
            p++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            len = 2, min = 0x80, cp = c & 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            len = 3, min = 0x800, cp = c & 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            len = 4, min = 0x10000, cp = c & 0x07;
        } else {
            return false;
        }
        if ((size_t)(end - p) < len)
            return false;
        for (size_t i = 1; i < len; i++) {
            if ((p[i] & 0xc0) != 0x80)
                return false;
            cp = cp << 6 | (p[i] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        p += len;
    }
    return true;
}

static bool
one_of(const char *s, const char *a, const char *b, const char *c)
{
    return !s || strcmp(s, a) == 0 || strcmp(s, b) == 0 || (c && strcmp(s, c) == 0);
}

/* Whether s contains word w, case aside ("Score (1-10)" contains "score"). */
static bool
has_word(const char *s, const char *w)
{
    size_t n = strlen(w);
    for (; s && *s; s++)
        if (strncasecmp(s, w, n) == 0)
            return true;
    return false;
}

const char *
proto_kpi_aggregate(const proto_body *def)
{
    static const char *const states[] = {"%", "percent", "score", "rating", "level", "ratio",
                                         "nps", "avg", "average", NULL};
    if (def->aggregate)
        return def->aggregate;
    for (int i = 0; states[i]; i++)
        if (has_word(def->unit, states[i]))
            return "mean";
    return "sum";
}

/* A person's name: present, not empty, no control characters (it is shown in lists and
 * tables, where a newline or an escape sequence would forge a row). */
static bool
good_name(const char *s)
{
    if (!s || !*s)
        return false;
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return false;
    return true;
}

op_err
proto_body_check(const proto_body *b)
{
    const field *f = fields_of(b->kind);
    if (!f)
        return OP_E_INVAL;
    for (; f->name; f++)
        if (f->type == F_TEXT) {
            const char *s = *(char *const *)((const char *)b + f->off);
            if (s && strlen(s) > f->max)
                return OP_E_TOOBIG;
            if (s && !proto_is_utf8(s, strlen(s)))
                return OP_E_INVAL; /* it would print as garbage and break JSON output */
        }
    switch (b->kind) {
    case PROTO_KIND_CHECKIN:
        return b->energy <= 5 ? OP_OK : OP_E_INVAL;
    case PROTO_KIND_KPI_DEF:
        if (!b->id || !proto_is_slug(b->id) || isnan(b->target) ||
            fabs(b->target) > PROTO_NUMBER_MAX ||
            !one_of(b->direction, "at_least", "at_most", NULL) ||
            !one_of(b->period, "day", "week", "month") ||
            !one_of(b->aggregate, "sum", "mean", "last"))
            return OP_E_INVAL;
        return OP_OK;
    case PROTO_KIND_FEEDBACK:
        return b->has_who && b->text && *b->text && (!b->has_re || b->re.seq > 0) ? OP_OK
                                                                                  : OP_E_INVAL;
    case PROTO_KIND_CONTACT:
        return b->has_who && b->topic &&
                       (one_of(b->topic, "wellbeing", "delivery", "development") ||
                        strcmp(b->topic, "other") == 0)
                   ? OP_OK
                   : OP_E_INVAL;
    case PROTO_KIND_KPI_VALUE:
        if (!b->id || !proto_is_slug(b->id) || isnan(b->value) ||
            fabs(b->value) > PROTO_NUMBER_MAX || !b->at || !proto_is_date(b->at))
            return OP_E_INVAL;
        return OP_OK;
    case PROTO_KIND_KEY:
        if (b->epoch == 0 || b->n_sealed == 0 || b->n_sealed > PROTO_SEALED_MAX)
            return OP_E_INVAL;
        return OP_OK;
    case PROTO_KIND_MEMBER:
        if (!b->has_key || !good_name(b->name) || !b->role ||
            !one_of(b->role, "worker", "office", NULL))
            return OP_E_INVAL;
        return OP_OK;
    case PROTO_KIND_REVOKE:
        return b->has_key ? OP_OK : OP_E_INVAL;
    case PROTO_KIND_JOIN:
        return b->has_proof && good_name(b->name) ? OP_OK : OP_E_INVAL;
    case PROTO_KIND_ERASE:
        return b->has_re && b->re.seq > 0 && b->re.seq <= UINT32_MAX ? OP_OK : OP_E_INVAL;
    case PROTO_KIND_RECEIPT:
        if (b->n_heads == 0 || b->n_heads > PROTO_RECEIPT_MAX_HEADS)
            return OP_E_INVAL;
        for (size_t i = 0; i < b->n_heads; i++)
            if (b->heads[i].seq == 0)
                return OP_E_INVAL;
        return OP_OK;
    }
    return OP_E_INVAL;
}

op_err
proto_body_encode(const proto_body *b, proto_wbuf *w)
{
    msgpack_packer pk;
    const field *f, *fs = fields_of(b->kind);
    uint32_t n = 0;
    op_err r;

    if ((r = proto_body_check(b)) != OP_OK)
        return r;
    for (f = fs; f->name; f++)
        n += present(b, f);
    proto_mp_packer_init(&pk, w);
    OP_IGNORE(msgpack_pack_map(&pk, n)); /* failures stick in w->err */
    for (f = fs; f->name; f++) {
        const char *base = (const char *)b + f->off;
        if (!present(b, f))
            continue;
        proto_mp_pack_cstr(&pk, f->name);
        switch (f->type) {
        case F_TRI:
            if (*(const proto_tri *)base == PROTO_YES)
                OP_IGNORE(msgpack_pack_true(&pk));
            else
                OP_IGNORE(msgpack_pack_false(&pk));
            break;
        case F_ENERGY: OP_IGNORE(msgpack_pack_uint32(&pk, *(const unsigned *)base)); break;
        case F_TEXT: proto_mp_pack_cstr(&pk, *(char *const *)base); break;
        case F_NUM: {
            double d = *(const double *)base;
            /* Whole numbers go as integers: shorter, and exact for counts. */
            if (d == floor(d) && fabs(d) < 9007199254740992.0) {
                if (d >= 0)
                    OP_IGNORE(msgpack_pack_uint64(&pk, (uint64_t)d));
                else
                    OP_IGNORE(msgpack_pack_int64(&pk, (int64_t)d));
            } else {
                OP_IGNORE(msgpack_pack_double(&pk, d));
            }
            break;
        }
        case F_BIN: OP_IGNORE(msgpack_pack_bin_with_body(&pk, base, f->max)); break;
        case F_UINT: OP_IGNORE(msgpack_pack_uint64(&pk, *(const uint64_t *)base)); break;
        case F_SEALED:
            OP_IGNORE(msgpack_pack_array(&pk, (size_t)b->n_sealed));
            for (size_t i = 0; i < b->n_sealed; i++) {
                OP_IGNORE(msgpack_pack_array(&pk, 2));
                OP_IGNORE(msgpack_pack_bin_with_body(&pk, b->sealed[i].reader, PROTO_KEY_BYTES));
                OP_IGNORE(msgpack_pack_bin_with_body(&pk, b->sealed[i].box, PROTO_SEALED_BYTES));
            }
            break;
        case F_HEADS:
            OP_IGNORE(msgpack_pack_array(&pk, (size_t)b->n_heads));
            for (size_t i = 0; i < b->n_heads; i++) {
                OP_IGNORE(msgpack_pack_array(&pk, 2));
                OP_IGNORE(msgpack_pack_bin_with_body(&pk, b->heads[i].author, PROTO_KEY_BYTES));
                OP_IGNORE(msgpack_pack_uint64(&pk, b->heads[i].seq));
            }
            break;
        case F_REF:
            OP_IGNORE(msgpack_pack_array(&pk, 2));
            OP_IGNORE(msgpack_pack_bin_with_body(&pk, b->re.author, PROTO_KEY_BYTES));
            OP_IGNORE(msgpack_pack_uint64(&pk, b->re.seq));
            break;
        }
    }
    return w->err;
}

static op_err
decode_heads(const msgpack_object *o, proto_body *b)
{
    const uint8_t *p;
    op_err r;
    if (o->type != MSGPACK_OBJECT_ARRAY)
        return OP_E_TYPE;
    if (o->via.array.size > PROTO_RECEIPT_MAX_HEADS)
        return OP_E_TOOBIG;
    if (o->via.array.size == 0)
        return OP_E_INVAL;
    if (!(b->heads = calloc(o->via.array.size, sizeof *b->heads)))
        return OP_E_NOMEM;
    for (uint32_t i = 0; i < o->via.array.size; i++) {
        const msgpack_object *pair = &o->via.array.ptr[i];
        if (pair->type != MSGPACK_OBJECT_ARRAY)
            return OP_E_TYPE;
        if (pair->via.array.size != 2)
            return OP_E_MALFORMED;
        if ((r = proto_mp_bin(&pair->via.array.ptr[0], PROTO_KEY_BYTES, &p)) != OP_OK ||
            (r = proto_mp_uint(&pair->via.array.ptr[1], &b->heads[i].seq)) != OP_OK)
            return r;
        memcpy(b->heads[i].author, p, PROTO_KEY_BYTES);
        b->n_heads++;
    }
    return OP_OK;
}

static op_err
decode_sealed(const msgpack_object *o, proto_body *b)
{
    const uint8_t *p;
    op_err r;
    if (o->type != MSGPACK_OBJECT_ARRAY)
        return OP_E_TYPE;
    if (o->via.array.size > PROTO_SEALED_MAX)
        return OP_E_TOOBIG;
    if (o->via.array.size == 0)
        return OP_E_INVAL;
    b->sealed = calloc(o->via.array.size, sizeof *b->sealed);
    if (!b->sealed)
        return OP_E_NOMEM;
    for (uint32_t i = 0; i < o->via.array.size; i++) {
        const msgpack_object *pair = &o->via.array.ptr[i];
        if (pair->type != MSGPACK_OBJECT_ARRAY)
            return OP_E_TYPE;
        if (pair->via.array.size != 2)
            return OP_E_MALFORMED;
        if ((r = proto_mp_bin(&pair->via.array.ptr[0], PROTO_KEY_BYTES, &p)) != OP_OK)
            return r;
        memcpy(b->sealed[i].reader, p, PROTO_KEY_BYTES);
        if ((r = proto_mp_bin(&pair->via.array.ptr[1], PROTO_SEALED_BYTES, &p)) != OP_OK)
            return r;
        memcpy(b->sealed[i].box, p, PROTO_SEALED_BYTES);
        b->n_sealed++;
    }
    return OP_OK;
}

static op_err
decode_field(const field *f, const msgpack_object *v, proto_body *b)
{
    char *base = (char *)b + f->off;
    const char *s;
    const uint8_t *p;
    size_t n;
    bool t;
    uint64_t u;
    op_err r;

    switch (f->type) {
    case F_TRI:
        if ((r = proto_mp_bool(v, &t)) != OP_OK)
            return r;
        *(proto_tri *)base = t ? PROTO_YES : PROTO_NO;
        return OP_OK;
    case F_ENERGY:
        if ((r = proto_mp_uint(v, &u)) != OP_OK)
            return r;
        if (u < 1 || u > 5)
            return OP_E_INVAL;
        *(unsigned *)base = (unsigned)u;
        return OP_OK;
    case F_TEXT:
        if ((r = proto_mp_str(v, f->max, &s, &n)) != OP_OK)
            return r;
        if (!(*(char **)base = malloc(n + 1)))
            return OP_E_NOMEM;
        memcpy(*(char **)base, s, n);
        (*(char **)base)[n] = '\0';
        return OP_OK;
    case F_NUM:
        return proto_mp_number(v, (double *)base);
    case F_BIN:
        if ((r = proto_mp_bin(v, f->max, &p)) != OP_OK)
            return r;
        memcpy(base, p, f->max);
        *(bool *)((char *)b + f->has) = true;
        return OP_OK;
    case F_UINT:
        return proto_mp_uint(v, (uint64_t *)base);
    case F_SEALED:
        return decode_sealed(v, b);
    case F_HEADS:
        return decode_heads(v, b);
    case F_REF:
        if (v->type != MSGPACK_OBJECT_ARRAY)
            return OP_E_TYPE;
        if (v->via.array.size != 2)
            return OP_E_MALFORMED;
        if ((r = proto_mp_bin(&v->via.array.ptr[0], PROTO_KEY_BYTES, &p)) != OP_OK ||
            (r = proto_mp_uint(&v->via.array.ptr[1], &b->re.seq)) != OP_OK)
            return r;
        memcpy(b->re.author, p, PROTO_KEY_BYTES);
        b->has_re = true;
        return OP_OK;
    }
    return OP_E_INVAL;
}

op_err
proto_body_decode(uint64_t kind, const uint8_t *p, size_t len, proto_body *b)
{
    proto_mp_doc doc = {0};
    const field *fs = fields_of(kind);
    uint32_t seen = 0; /* bit i: field i given; tables have fewer than 32 fields */
    op_err r;

    proto_body_init(b, kind);
    if (!fs)
        return OP_E_INVAL;
    if (len > PROTO_BODY_MAX_BYTES)
        return OP_E_TOOBIG;
    if ((r = proto_mp_decode(p, len, &doc)) != OP_OK)
        goto out;
    const msgpack_object *o = &doc.u.data;
    if (o->type != MSGPACK_OBJECT_MAP) {
        r = OP_E_TYPE;
        goto out;
    }
    for (uint32_t i = 0; i < o->via.map.size; i++) {
        const msgpack_object_kv *kv = &o->via.map.ptr[i];
        if (kv->key.type != MSGPACK_OBJECT_STR) {
            r = OP_E_TYPE;
            goto out;
        }
        for (uint32_t j = 0; fs[j].name; j++) {
            if (!proto_mp_key_is(&kv->key, fs[j].name))
                continue;
            if (seen & (1u << j)) { /* two values for one field: which would a reader show? */
                r = OP_E_MALFORMED;
                goto out;
            }
            seen |= 1u << j;
            if ((r = decode_field(&fs[j], &kv->val, b)) != OP_OK)
                goto out;
            break;
        } /* unknown keys are skipped: newer writers may add fields */
    }
    for (uint32_t j = 0; fs[j].name; j++)
        if (fs[j].req && !(seen & (1u << j))) { /* e.g. a revoke without after_seq */
            r = OP_E_INVAL;
            goto out;
        }
    r = proto_body_check(b);
out:
    proto_mp_doc_fini(&doc);
    if (r != OP_OK)
        proto_body_fini(b);
    return r;
}
