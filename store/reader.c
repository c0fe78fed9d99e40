/* reader.c — epoch keys and body decryption (see reader.h). */
#include "store/reader.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "proto/seal.h"

#define CACHE_SLOTS 64

typedef struct slot {
    int64_t author;
    uint64_t epoch;
    int state; /* 0 empty, 1 key, 2 known miss */
    uint8_t key[PROTO_EPOCH_KEY_BYTES];
} slot;

struct store_reader {
    const store_identity *id;
    slot *slots;    /* sodium_malloc'd: holds keys */
    uint8_t *plain; /* sodium_malloc'd PROTO_BODY_MAX_BYTES: one body's plaintext at a time */
    unsigned next;
};

op_err
store_reader_new(const store_identity *id, store_reader **out)
{
    store_reader *rd = calloc(1, sizeof *rd);
    *out = NULL;
    if (!rd)
        return OP_E_NOMEM;
    if (!(rd->slots = sodium_malloc(CACHE_SLOTS * sizeof(slot))) ||
        !(rd->plain = sodium_malloc(PROTO_BODY_MAX_BYTES))) {
        store_reader_free(rd);
        return OP_E_NOMEM;
    }
    memset(rd->slots, 0, CACHE_SLOTS * sizeof(slot));
    rd->id = id;
    *out = rd;
    return OP_OK;
}

void
store_reader_free(store_reader *rd)
{
    if (!rd)
        return;
    sodium_free(rd->slots); /* NULL-safe; wipes */
    sodium_free(rd->plain);
    free(rd);
}

static slot *
find(store_reader *rd, int64_t author, uint64_t epoch)
{
    for (unsigned i = 0; i < CACHE_SLOTS; i++)
        if (rd->slots[i].state && rd->slots[i].author == author && rd->slots[i].epoch == epoch)
            return &rd->slots[i];
    return NULL;
}

static slot *
claim(store_reader *rd, int64_t author, uint64_t epoch)
{
    slot *s = find(rd, author, epoch);
    if (!s) {
        s = &rd->slots[rd->next];
        rd->next = (rd->next + 1) % CACHE_SLOTS;
    }
    sodium_memzero(s, sizeof *s);
    s->author = author;
    s->epoch = epoch;
    return s;
}

void
store_reader_remember(store_reader *rd, int64_t author, uint64_t epoch,
                      const uint8_t key[PROTO_EPOCH_KEY_BYTES])
{
    slot *s = claim(rd, author, epoch);
    memcpy(s->key, key, PROTO_EPOCH_KEY_BYTES);
    s->state = 1;
}

void
store_reader_forget(store_reader *rd, int64_t author, uint64_t epoch)
{
    slot *s = rd ? find(rd, author, epoch) : NULL;
    if (s)
        sodium_memzero(s, sizeof *s);
}

void
store_reader_clear(store_reader *rd)
{
    if (rd)
        sodium_memzero(rd->slots, CACHE_SLOTS * sizeof(slot));
}

/* Looks for our box in the author's key entry for this epoch and opens it. */
static op_err
open_from_log(store_reader *rd, store_db *db, int64_t author, uint64_t epoch,
              uint8_t key[PROTO_EPOCH_KEY_BYTES])
{
    sqlite3_stmt *st;
    proto_body kb;
    op_err r;

    if (!rd->id)
        return OP_E_NOKEY;
    if ((r = store_db_stmt(db,
                           "SELECT e.body FROM key_entries k JOIN entries e"
                           " ON e.id = (k.author << 32) | k.seq"
                           " WHERE k.author = ? AND k.epoch = ?",
                           &st)) != OP_OK)
        return r;
    sqlite3_bind_int64(st, 1, author);
    sqlite3_bind_int64(st, 2, (int64_t)epoch);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW || sqlite3_column_type(st, 0) != SQLITE_BLOB) {
        sqlite3_reset(st);
        return rc == SQLITE_ROW || rc == SQLITE_DONE ? OP_E_NOKEY : store_db_code(rc);
    }
    r = proto_body_decode(PROTO_KIND_KEY, sqlite3_column_blob(st, 0),
                          (size_t)sqlite3_column_bytes(st, 0), &kb);
    sqlite3_reset(st);
    if (r != OP_OK) {
        proto_body_fini(&kb);
        /* Out of memory is not "this node cannot read it": that answer is cached, and the
         * bodies under the epoch would be stored unprojected for good (tests/fault oom). */
        return r == OP_E_NOMEM ? r : OP_E_NOKEY;
    }
    r = OP_E_NOKEY;
    for (size_t i = 0; i < kb.n_sealed; i++)
        if (memcmp(kb.sealed[i].reader, rd->id->pk, PROTO_KEY_BYTES) == 0) {
            r = proto_open_epoch_key(rd->id->sk, kb.sealed[i].box, key) == OP_OK ? OP_OK
                                                                                 : OP_E_NOKEY;
            break;
        }
    proto_body_fini(&kb);
    return r;
}

op_err
store_reader_epoch_key(store_reader *rd, store_db *db, int64_t author, uint64_t epoch,
                       const uint8_t **key)
{
    uint8_t k[PROTO_EPOCH_KEY_BYTES];
    slot *s = find(rd, author, epoch);
    *key = NULL;
    if (s) {
        if (s->state == 2)
            return OP_E_NOKEY;
        *key = s->key;
        return OP_OK;
    }
    op_err r = open_from_log(rd, db, author, epoch, k);
    if (r == OP_E_NOKEY) {
        claim(rd, author, epoch)->state = 2;
        return r;
    }
    if (r != OP_OK)
        return r;
    store_reader_remember(rd, author, epoch, k);
    sodium_memzero(k, sizeof k);
    *key = find(rd, author, epoch)->key;
    return OP_OK;
}

op_err
store_reader_body(store_reader *rd, store_db *db, int64_t author, const proto_envelope *env,
                  const uint8_t *body, size_t len, proto_body *out)
{
    const uint8_t *key;
    size_t n;
    op_err r;

    proto_body_init(out, env->kind);
    if (env->epoch == 0)
        return proto_body_decode(env->kind, body, len, out);
    if (!rd)
        return OP_E_NOKEY;
    if ((r = store_reader_epoch_key(rd, db, author, env->epoch, &key)) != OP_OK)
        return r;
    r = proto_open_body(key, env->author, env->seq, env->kind, body, len, rd->plain,
                        PROTO_BODY_MAX_BYTES, &n);
    if (r == OP_OK)
        r = proto_body_decode(env->kind, rd->plain, n, out);
    sodium_memzero(rd->plain, n); /* it held the plaintext */
    return r;
}
