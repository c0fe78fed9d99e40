/* fault_util.c — the fault tests' node, workload appends and consistency check (see
 * fault_util.h). */
#include "tests/fault/fault_util.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "proto/body.h"
#include "store/log.h"
#include "store/verify.h"
#include "store/view.h"

#define T0 1764000000000ull /* 2025-11-24T16:00:00Z */

/* The office every workload node has joined: its bodies must be sealed to it too. */
static uint8_t office_pk[PROTO_KEY_BYTES];

void
fu_set_office(const uint8_t pk[PROTO_KEY_BYTES])
{
    memcpy(office_pk, pk, PROTO_KEY_BYTES);
}

static op_err
joined(store_db *db)
{
    uint8_t have[PROTO_KEY_BYTES];
    int len = 0;
    if (sodium_is_zero(office_pk, sizeof office_pk)) {
        uint8_t sk[crypto_sign_SECRETKEYBYTES];
        crypto_sign_keypair(office_pk, sk);
        sodium_memzero(sk, sizeof sk);
    }
    op_err r = store_db_meta_get(db, "office_key", have, sizeof have, &len);
    if (r == OP_OK && len == PROTO_KEY_BYTES)
        return OP_OK;
    if (r != OP_OK && r != OP_E_NOTFOUND)
        return r;
    return store_db_meta_put_blob(db, "office_key", office_pk, PROTO_KEY_BYTES);
}

op_err
fu_open(fu_node *n, const char *dir, int flags)
{
    char path[PATH_MAX];
    bool rebuilt;
    op_err r;
    memset(n, 0, sizeof *n);
    snprintf(path, sizeof path, "%s/%s", dir, STORE_DB_FILE);
    if ((r = store_identity_load(dir, &n->id)) != OP_OK ||
        (r = store_db_open(path, flags, &n->db)) != OP_OK ||
        (r = store_reader_new(n->id, &n->rd)) != OP_OK ||
        (r = store_view_ensure(n->db, n->rd, &rebuilt)) != OP_OK || (r = joined(n->db)) != OP_OK)
        fu_close(n);
    return r;
}

void
fu_close(fu_node *n)
{
    store_reader_free(n->rd);
    store_db_close(n->db);
    store_identity_free(n->id);
    memset(n, 0, sizeof *n);
}

op_err
fu_append(fu_node *n, int i, uint64_t ts)
{
    char note[32];
    proto_body b;
    store_appended ap;
    snprintf(note, sizeof note, "c%d", i);
    if (i % 5 == 4) {
        proto_body_init(&b, PROTO_KIND_KPI_VALUE);
        b.id = "articles"; /* borrowed: no fini */
        b.value = i;
        b.at = "2025-11-24";
    } else {
        proto_body_init(&b, PROTO_KIND_CHECKIN);
        b.thriving = i % 2 ? PROTO_YES : PROTO_NO;
        b.energy = 1 + (unsigned)i % 5;
    }
    b.note = note;
    return store_log_append(n->db, n->rd, n->id, &b, ts ? ts : T0 + (uint64_t)i * 1000, &ap);
}

static int
failf(char *why, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, len, fmt, ap);
    va_end(ap);
    return 1;
}

static int64_t
one_int(sqlite3 *h, const char *sql)
{
    sqlite3_stmt *st;
    int64_t v = -1;
    if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) != SQLITE_OK)
        return -1;
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* Each query counts what must not exist: an entry without its projection row or the reverse,
 * a head or counter that disagrees with the entries, an epoch in use without its key entry. */
static const char *const whole[] = {
    "SELECT (SELECT count(*) FROM entries WHERE kind = 1) != (SELECT count(*) FROM checkins)",
    "SELECT (SELECT count(*) FROM entries WHERE kind = 3) != (SELECT count(*) FROM kpi_values)",
    "SELECT (SELECT count(*) FROM entries WHERE kind = 8) != (SELECT count(*) FROM key_entries)",
    "SELECT count(*) FROM checkins c LEFT JOIN entries e ON e.id = (c.author << 32) | c.seq"
    " WHERE e.id IS NULL OR e.kind != 1",
    "SELECT count(*) FROM kpi_values v LEFT JOIN entries e ON e.id = (v.author << 32) | v.seq"
    " WHERE e.id IS NULL OR e.kind != 3",
    "SELECT count(*) FROM authors a WHERE a.head_seq !="
    " (SELECT count(*) FROM entries WHERE author = a.id) OR a.head_seq !="
    " coalesce((SELECT max(seq) FROM entries WHERE author = a.id), 0)",
    "SELECT count(*) FROM authors a WHERE coalesce((SELECT n FROM checkin_counts"
    " WHERE author = a.id), 0) != (SELECT count(*) FROM checkins WHERE author = a.id)",
    "SELECT count(*) FROM own_epochs o WHERE NOT EXISTS (SELECT 1 FROM key_entries k"
    " WHERE k.epoch = o.epoch)",
};

/* The note counts and the checks of the entries' wholeness on an open store. */
static int
check_open(store_db *db, const fu_expect *e, int extra, int *present, char *why, size_t len)
{
    sqlite3 *h = store_db_handle(db);
    sqlite3_stmt *st;
    int rc = 0, m = 0;
    int *seen = calloc((size_t)e->n + 2, sizeof *seen);
    if (!seen)
        return failf(why, len, "out of memory");

    if (sqlite3_prepare_v2(h, "PRAGMA integrity_check", -1, &st, NULL) != SQLITE_OK) {
        rc = failf(why, len, "integrity_check: %s", sqlite3_errmsg(h));
        goto out;
    }
    int s = sqlite3_step(st);
    const char *t = s == SQLITE_ROW ? (const char *)sqlite3_column_text(st, 0) : NULL;
    if (!t || strcmp(t, "ok") != 0) {
        rc = failf(why, len, "integrity_check: %s", t ? t : sqlite3_errmsg(h));
        sqlite3_finalize(st);
        goto out;
    }
    sqlite3_finalize(st);

    if (sqlite3_prepare_v2(h, "SELECT note FROM checkins UNION ALL SELECT note FROM kpi_values", -1,
                           &st, NULL) != SQLITE_OK) {
        rc = failf(why, len, "reading notes: %s", sqlite3_errmsg(h));
        goto out;
    }
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        const char *note = (const char *)sqlite3_column_text(st, 0);
        int i = -1;
        if (!note || sscanf(note, "c%d", &i) != 1 || i < 0 || i >= e->n + extra) {
            rc = failf(why, len, "unexpected note %s", note ? note : "(null)");
            break;
        }
        seen[i]++;
    }
    sqlite3_finalize(st);
    if (rc)
        goto out;
    if (s != SQLITE_DONE) {
        rc = failf(why, len, "reading notes: %s", sqlite3_errmsg(h));
        goto out;
    }
    for (int i = 0; i < e->n + extra; i++) {
        int state = i < e->n ? e->state[i] : FU_ACKED;
        if (seen[i] > 1) {
            rc = failf(why, len, "note c%d is there %d times", i, seen[i]);
            goto out;
        }
        if (state == FU_ACKED && !seen[i]) {
            rc = failf(why, len, "acknowledged note c%d is lost", i);
            goto out;
        }
        if (state == FU_NOT_TRIED && seen[i] && i < e->n) {
            rc = failf(why, len, "note c%d is there but was never written", i);
            goto out;
        }
        m += seen[i];
    }
    if (e->prefix)
        for (int i = 0; i < e->n; i++)
            if (seen[i] != (i < m - extra)) {
                rc = failf(why, len, "notes present are not c0..c%d: c%d is %s", m - extra - 1, i,
                           seen[i] ? "there" : "missing");
                goto out;
            }
    for (size_t q = 0; q < sizeof whole / sizeof whole[0]; q++) {
        int64_t bad = one_int(h, whole[q]);
        if (bad != 0) {
            rc = failf(why, len, "an entry is not whole (%lld from: %s)", (long long)bad, whole[q]);
            goto out;
        }
    }
    /* Every epoch is sealed to the office as well, once the node knows the office (a failed
     * read of office_key must never pass for "no office"). */
    uint8_t office[PROTO_KEY_BYTES];
    int olen = 0;
    if (store_db_meta_get(db, "office_key", office, sizeof office, &olen) == OP_OK &&
        olen == PROTO_KEY_BYTES &&
        sqlite3_prepare_v2(h, "SELECT seq, body FROM entries WHERE kind = 8", -1, &st, NULL) ==
            SQLITE_OK) {
        while (!rc && sqlite3_step(st) == SQLITE_ROW) {
            proto_body kb;
            bool found = false;
            if (proto_body_decode(PROTO_KIND_KEY, sqlite3_column_blob(st, 1),
                                  (size_t)sqlite3_column_bytes(st, 1), &kb) == OP_OK)
                for (size_t k = 0; k < kb.n_sealed; k++)
                    found |= memcmp(kb.sealed[k].reader, office, PROTO_KEY_BYTES) == 0;
            proto_body_fini(&kb);
            if (!found)
                rc = failf(why, len, "the key entry at seq %lld is not sealed to the office",
                           (long long)sqlite3_column_int64(st, 0));
        }
        sqlite3_finalize(st);
        if (rc)
            goto out;
    }
    store_verified v;
    op_err r = store_verify(db, NULL, &v);
    if (r != OP_OK || v.problems) {
        rc = failf(why, len, "store_verify: %s, %llu problems", op_strerror(r),
                   (unsigned long long)v.problems);
        goto out;
    }
    if (present)
        *present = m - extra;
out:
    free(seen);
    return rc;
}

int
fu_check(const char *dir, const char *id_dir, const fu_expect *e, int *present, char *why,
         size_t why_len)
{
    char path[PATH_MAX];
    store_db *db = NULL;
    store_identity *id = NULL;
    store_reader *rd = NULL;
    op_err r;
    int rc;

    snprintf(path, sizeof path, "%s/%s", dir, STORE_DB_FILE);
    if (access(path, F_OK) != 0) {
        /* No database: only right if nothing was acknowledged. */
        for (int i = 0; i < e->n; i++)
            if (e->state[i] == FU_ACKED)
                return failf(why, why_len, "the database is gone, note c%d was acknowledged", i);
        if (present)
            *present = 0;
        return 0;
    }
    if ((r = store_db_open(path, 0, &db)) != OP_OK)
        return failf(why, why_len, "open after the fault: %s (%s)", op_strerror(r), op_errname(r));
    if ((rc = check_open(db, e, 0, present, why, why_len)) != 0 || !e->resume)
        goto out;
    /* Writing resumes: one more entry, as a node would write after restarting. */
    bool rebuilt;
    fu_node n;
    if ((r = store_identity_load(id_dir, &id)) != OP_OK ||
        (r = store_reader_new(id, &rd)) != OP_OK ||
        (r = store_view_ensure(db, rd, &rebuilt)) != OP_OK) {
        rc = failf(why, why_len, "reopening for a write: %s", op_strerror(r));
        goto out;
    }
    n.db = db;
    n.id = id;
    n.rd = rd;
    if ((r = fu_append(&n, e->n, T0 + 1000000000ull)) != OP_OK) {
        rc = failf(why, why_len, "append after the fault: %s (%s)", op_strerror(r), op_errname(r));
        goto out;
    }
    int before = present ? *present : 0;
    if ((rc = check_open(db, e, 1, present, why, why_len)) != 0)
        goto out;
    if (present)
        *present = before;
out:
    store_reader_free(rd);
    store_identity_free(id);
    store_db_close(db);
    return rc;
}

void
fu_rm_store(const char *dir)
{
    static const char *const suffix[] = {"", "-wal", "-shm", "-journal"};
    char path[PATH_MAX];
    for (size_t i = 0; i < sizeof suffix / sizeof suffix[0]; i++) {
        snprintf(path, sizeof path, "%s/%s%s", dir, STORE_DB_FILE, suffix[i]);
        unlink(path);
    }
}

int
fu_copy_file(const char *from, const char *to)
{
    FILE *in = fopen(from, "rb"), *out = NULL;
    char buf[65536];
    size_t k;
    int rc = -1;
    if (!in)
        return 0; /* absent: nothing to copy */
    if (!(out = fopen(to, "wb")))
        goto out;
    while ((k = fread(buf, 1, sizeof buf, in)) > 0)
        if (fwrite(buf, 1, k, out) != k)
            goto out;
    rc = ferror(in) ? -1 : 0;
out:
    fclose(in);
    if (out && fclose(out) != 0)
        rc = -1;
    return rc;
}

int
fu_mkdir(const char *dir)
{
    return mkdir(dir, 0700) == 0 || errno == EEXIST ? 0 : -errno;
}

op_err
fu_fresh_node(const char *dir)
{
    char path[PATH_MAX];
    store_identity *id;
    if (fu_mkdir(dir) != 0)
        return OP_E_IO;
    fu_rm_store(dir);
    snprintf(path, sizeof path, "%s/%s", dir, STORE_IDENTITY_FILE);
    unlink(path);
    op_err r = store_identity_create(dir, &id);
    store_identity_free(id);
    return r;
}
