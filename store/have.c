/* have.c — have-vector summaries (see have.h). */
#include "store/have.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

static void
put_be64(uint8_t b[8], uint64_t v)
{
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(v >> (56 - 8 * i));
}

op_err
store_have_summary_get(store_db *db, store_have_summary *out)
{
    crypto_generichash_state bucket, root;
    sqlite3_stmt *st;
    int current = -1, rc;
    op_err r;

    memset(out, 0, sizeof *out);
    if ((r = store_db_stmt(db, "SELECT key, head_seq FROM authors WHERE head_seq > 0"
                               " ORDER BY key", &st)) != OP_OK)
        return r;
    crypto_generichash_init(&root, (const uint8_t *)"outpost-have-root", 17, PROTO_ROOT_BYTES);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const uint8_t *key = sqlite3_column_blob(st, 0);
        uint8_t rec[PROTO_KEY_BYTES + 8];
        if (sqlite3_column_bytes(st, 0) != PROTO_KEY_BYTES) {
            rc = SQLITE_CORRUPT;
            break;
        }
        if (key[0] != current) {
            if (current >= 0)
                crypto_generichash_final(&bucket, out->buckets + current * PROTO_BUCKET_HASH_BYTES,
                                         PROTO_BUCKET_HASH_BYTES);
            current = key[0];
            crypto_generichash_init(&bucket, NULL, 0, PROTO_BUCKET_HASH_BYTES);
        }
        memcpy(rec, key, PROTO_KEY_BYTES);
        put_be64(rec + PROTO_KEY_BYTES, (uint64_t)sqlite3_column_int64(st, 1));
        crypto_generichash_update(&bucket, rec, sizeof rec);
        crypto_generichash_update(&root, rec, sizeof rec);
        out->authors++;
    }
    sqlite3_reset(st);
    if (current >= 0)
        crypto_generichash_final(&bucket, out->buckets + current * PROTO_BUCKET_HASH_BYTES,
                                 PROTO_BUCKET_HASH_BYTES);
    crypto_generichash_final(&root, out->root, PROTO_ROOT_BYTES);
    return store_db_code(rc);
}

op_err
store_have_bucket(store_db *db, unsigned bucket, store_head **out, size_t *n)
{
    sqlite3_stmt *st;
    store_head *v = NULL;
    size_t cap = 0, len = 0;
    uint8_t lo = (uint8_t)bucket, hi = (uint8_t)(bucket + 1);
    op_err r;
    int rc;

    *out = NULL;
    *n = 0;
    if (bucket >= PROTO_BUCKETS)
        return OP_E_INVAL;
    /* Blobs compare as memcmp: keys of bucket b lie in [b, b+1) (the last has no upper bound). */
    if ((r = store_db_stmt(db, "SELECT key, head_seq FROM authors WHERE head_seq > 0 AND key >= ?1"
                               " AND (?2 IS NULL OR key < ?2) ORDER BY key", &st)) != OP_OK)
        return r;
    /* A TRANSIENT bind copies, so it can fail for memory; unchecked, ?1 stayed NULL, the query
     * matched nothing, and a session took "none of ours in this bucket" for the truth: it sent
     * nothing and reported the link in sync (found by tests/fault/alloc_fault_loop.c). */
    if ((rc = sqlite3_bind_blob(st, 1, &lo, 1, SQLITE_TRANSIENT)) != SQLITE_OK ||
        (bucket < PROTO_BUCKETS - 1 &&
         (rc = sqlite3_bind_blob(st, 2, &hi, 1, SQLITE_TRANSIENT)) != SQLITE_OK)) {
        sqlite3_reset(st);
        return store_db_code(rc);
    }
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (sqlite3_column_bytes(st, 0) != PROTO_KEY_BYTES) {
            rc = SQLITE_CORRUPT;
            break;
        }
        if (len == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            store_head *nv = realloc(v, ncap * sizeof *v);
            if (!nv) {
                rc = SQLITE_NOMEM;
                break;
            }
            v = nv;
            cap = ncap;
        }
        memcpy(v[len].author, sqlite3_column_blob(st, 0), PROTO_KEY_BYTES);
        v[len].seq = (uint64_t)sqlite3_column_int64(st, 1);
        len++;
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        free(v);
        return store_db_code(rc);
    }
    *out = v;
    *n = len;
    return OP_OK;
}

op_err
store_have_head(store_db *db, const uint8_t author[PROTO_KEY_BYTES], uint64_t *seq)
{
    sqlite3_stmt *st;
    op_err r;
    *seq = 0;
    if ((r = store_db_stmt(db, "SELECT head_seq FROM authors WHERE key = ?", &st)) != OP_OK)
        return r;
    sqlite3_bind_blob(st, 1, author, PROTO_KEY_BYTES, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *seq = (uint64_t)sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? OP_OK : store_db_code(rc);
}
