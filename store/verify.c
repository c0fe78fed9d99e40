/* verify.c — a full re-check of the store (see verify.h). */
#include "store/verify.h"

#include <stdlib.h>
#include <string.h>

static void
report(const store_verify_cb *cb, store_verified *out, const uint8_t *author, uint64_t seq,
       op_err e, const char *what)
{
    out->problems++;
    if (cb && cb->problem)
        cb->problem(cb->ctx, author, seq, e, what);
}

/* The code of a quick_check row. A page SQLite could not read is a row too, "... unable to
 * get the page. error code=N": out of memory or an I/O error there is not damage, and must not
 * be reported as such (found by tests/fault/ops_fault.c). */
static op_err
row_code(const char *t)
{
    const char *p = strstr(t, "error code=");
    op_err e = p ? store_db_code(atoi(p + strlen("error code="))) : OP_E_CORRUPT;
    return e == OP_OK ? OP_E_CORRUPT : e;
}

static op_err
structure(store_db *db, const store_verify_cb *cb, store_verified *out)
{
    sqlite3_stmt *st;
    op_err r;
    int rc;
    if ((r = store_db_stmt(db, "PRAGMA quick_check", &st)) != OP_OK)
        return r;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *t = (const char *)sqlite3_column_text(st, 0);
        if (t && strcmp(t, "ok") != 0)
            report(cb, out, NULL, 0, row_code(t), t);
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        report(cb, out, NULL, 0, store_db_code(rc), "database structure could not be read");
    return OP_OK;
}

op_err
store_verify(store_db *db, const store_verify_cb *cb, store_verified *out)
{
    sqlite3_stmt *authors = NULL, *entries = NULL, *count;
    uint64_t total = 0;
    op_err r;
    int rc;

    memset(out, 0, sizeof *out);
    if ((r = structure(db, cb, out)) != OP_OK)
        return r;
    if ((r = store_db_stmt(db, "SELECT count(*) FROM entries", &count)) != OP_OK)
        return r;
    if (sqlite3_step(count) == SQLITE_ROW)
        total = (uint64_t)sqlite3_column_int64(count, 0);
    sqlite3_reset(count);
    /* Two statements stepped together: the cache hands each out once, so prepare our own. */
    if ((rc = sqlite3_prepare_v2(store_db_handle(db),
                                 "SELECT id, key, head_seq, head_hash FROM authors ORDER BY id",
                                 -1, &authors, NULL)) != SQLITE_OK ||
        (rc = sqlite3_prepare_v2(store_db_handle(db),
                                 "SELECT seq, hash, envelope, body, author, kind, ts, epoch FROM entries"
                                 " WHERE id BETWEEN ?1 << 32 AND (?1 << 32) | 4294967295"
                                 " ORDER BY id",
                                 -1, &entries, NULL)) != SQLITE_OK) {
        r = store_db_code(rc);
        goto out;
    }
    while ((rc = sqlite3_step(authors)) == SQLITE_ROW) {
        int64_t aid = sqlite3_column_int64(authors, 0);
        uint8_t key[PROTO_KEY_BYTES] = {0}, prev[PROTO_HASH_BYTES] = {0}, h[PROTO_HASH_BYTES];
        uint64_t want = 1, head = (uint64_t)sqlite3_column_int64(authors, 2);
        if (sqlite3_column_bytes(authors, 1) != PROTO_KEY_BYTES) {
            report(cb, out, NULL, 0, OP_E_CORRUPT, "an author's key is damaged");
            continue;
        }
        memcpy(key, sqlite3_column_blob(authors, 1), PROTO_KEY_BYTES);
        out->authors++;
        sqlite3_bind_int64(entries, 1, aid);
        bool broken = false; /* after the first break in a log, later links mean nothing */
        while ((rc = sqlite3_step(entries)) == SQLITE_ROW) { /* each break sets broken */
            uint64_t seq = (uint64_t)sqlite3_column_int64(entries, 0);
            const uint8_t *env = sqlite3_column_blob(entries, 2);
            size_t env_len = (size_t)sqlite3_column_bytes(entries, 2);
            proto_envelope e;
            op_err v;
            out->entries++;
            if (cb && cb->progress && out->entries % 4096 == 0)
                cb->progress(cb->ctx, out->entries, total);
            if (seq != want) {
                report(cb, out, key, want, OP_E_GAP, "entry missing from the log");
                broken = true;
                break;
            }
            want++;
            if ((v = proto_envelope_decode(env, env_len, &e)) != OP_OK) {
                report(cb, out, key, seq, v, "envelope does not decode");
                broken = true;
                break;
            }
            if (memcmp(e.author, key, PROTO_KEY_BYTES) != 0 || e.seq != seq ||
                sqlite3_column_int64(entries, 4) != aid) {
                report(cb, out, key, seq, OP_E_AUTHOR, "envelope is filed under another author");
                broken = true;
                break;
            }
            if (memcmp(e.prev, prev, PROTO_HASH_BYTES) != 0) {
                report(cb, out, key, seq, OP_E_CHAIN, "prev hash does not link to seq-1");
                broken = true;
                break;
            }
            /* The columns that queries and projections use must say what the signed bytes say. */
            if ((uint64_t)sqlite3_column_int64(entries, 5) != e.kind ||
                (uint64_t)sqlite3_column_int64(entries, 6) != (e.ts > INT64_MAX ? INT64_MAX : e.ts) ||
                (uint64_t)sqlite3_column_int64(entries, 7) !=
                    (e.epoch > INT64_MAX ? INT64_MAX : e.epoch))
                report(cb, out, key, seq, OP_E_CORRUPT,
                       "stored kind, time or epoch differ from the signed envelope");
            proto_hash(env, env_len, h);
            if (sqlite3_column_bytes(entries, 1) != PROTO_HASH_BYTES ||
                memcmp(sqlite3_column_blob(entries, 1), h, PROTO_HASH_BYTES) != 0)
                report(cb, out, key, seq, OP_E_CORRUPT, "stored entry hash is wrong");
            if ((v = proto_envelope_verify_sig(&e, env, env_len)) != OP_OK)
                report(cb, out, key, seq, v, "signature does not verify");
            if (sqlite3_column_type(entries, 3) != SQLITE_NULL) {
                uint8_t bh[PROTO_HASH_BYTES];
                proto_hash(sqlite3_column_blob(entries, 3),
                           (size_t)sqlite3_column_bytes(entries, 3), bh);
                out->bodies++;
                if (memcmp(bh, e.body_hash, PROTO_HASH_BYTES) != 0)
                    report(cb, out, key, seq, OP_E_BODYHASH, "body does not match its hash");
            }
            memcpy(prev, h, PROTO_HASH_BYTES);
        }
        sqlite3_reset(entries);
        if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
            report(cb, out, key, 0, store_db_code(rc), "log could not be read");
            continue;
        }
        if (!broken && (want - 1 != head ||
                        (head > 0 && (sqlite3_column_bytes(authors, 3) != PROTO_HASH_BYTES ||
                                      memcmp(sqlite3_column_blob(authors, 3), prev,
                                             PROTO_HASH_BYTES) != 0))))
            report(cb, out, key, head, OP_E_CORRUPT, "recorded head does not match the log");
    }
    if (rc != SQLITE_DONE)
        report(cb, out, NULL, 0, store_db_code(rc), "authors could not be read");
    if (cb && cb->progress)
        cb->progress(cb->ctx, out->entries, total);
    r = OP_OK;
out:
    sqlite3_finalize(authors);
    sqlite3_finalize(entries);
    return r;
}
