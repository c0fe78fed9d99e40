/* erase.c — erasure of a record's body (see erase.h, SPEC §5 kind 10). */
#include "store/erase.h"

#include <string.h>

bool
store_erase_kind_ok(uint64_t kind)
{
    return kind != PROTO_KIND_MEMBER && kind != PROTO_KIND_REVOKE && kind != PROTO_KIND_KEY &&
           kind != PROTO_KIND_JOIN && kind != PROTO_KIND_RECEIPT && kind != PROTO_KIND_ERASE;
}

/* Whether the author with this id is the office (meta office_key). */
static op_err
is_office(store_db *db, int64_t author, bool *yes)
{
    sqlite3_stmt *st;
    op_err r;
    *yes = false;
    if ((r = store_db_stmt(db,
                           "SELECT EXISTS (SELECT 1 FROM authors a JOIN meta m"
                           " ON m.k = 'office_key' AND m.v = a.key WHERE a.id = ?)",
                           &st)) != OP_OK)
        return r;
    sqlite3_bind_int64(st, 1, author);
    return store_db_stmt_bool(st, yes);
}

/* Runs one statement of the erasure with ?1 = the target's row id, ?2 its author id, ?3 seq. */
static op_err
run(store_db *db, const char *sql, int64_t author, uint64_t seq)
{
    sqlite3_stmt *st;
    op_err r;
    if ((r = store_db_stmt(db, sql, &st)) != OP_OK)
        return r;
    sqlite3_bind_int64(st, 1, STORE_ROWID(author, seq));
    sqlite3_bind_int64(st, 2, author);
    sqlite3_bind_int64(st, 3, (int64_t)seq);
    r = store_db_code(sqlite3_step(st));
    sqlite3_reset(st);
    return r;
}

/* What goes: the body (only of a kind that may be erased), fork evidence's body at that seq,
 * and every projection of the record. `erased` is recorded first, so that a body of a kind
 * that may not be erased is not covered by it (see the INSERT's condition). */
static const char *const drop_sql[] = {
    ("UPDATE entries SET body = NULL WHERE id = ?1 AND body IS NOT NULL"
     " AND kind NOT IN (6, 7, 8, 10, 11, 12)"),
    "UPDATE forks SET body = NULL WHERE author = ?2 AND seq = ?3 AND body IS NOT NULL",
    "DELETE FROM checkins WHERE id = ?1",
    "DELETE FROM kpi_defs WHERE id = ?1",
    "DELETE FROM kpi_values WHERE id = ?1",
    "DELETE FROM feedback WHERE id = ?1",
    "DELETE FROM contacts WHERE id = ?1",
    "DELETE FROM inbox_read WHERE id = ?1",
};

op_err
store_erase_apply(store_db *db, int64_t by_author, uint64_t by_seq, const proto_body *b,
                  uint64_t now)
{
    sqlite3_stmt *st;
    int64_t author;
    bool office;
    op_err r;

    if (b->kind != PROTO_KIND_ERASE || !b->has_re || b->re.seq == 0 || b->re.seq > STORE_SEQ_MAX)
        return OP_OK;
    if ((r = store_db_author_id(db, b->re.author, &author)) != OP_OK ||
        (r = is_office(db, by_author, &office)) != OP_OK)
        return r;
    /* The author may erase what it wrote before; the office anything. An author erasing a seq
     * it has not written yet would drop a future record unseen. */
    if (!office && !(author == by_author && b->re.seq < by_seq))
        return OP_OK;
    /* A held entry of a kind that may not be erased: nothing to do, no tombstone. */
    if ((r = store_db_stmt(db,
                           "INSERT OR IGNORE INTO erased(author, seq, by_author, by_seq, at)"
                           " SELECT ?1, ?2, ?3, ?4, ?5 WHERE coalesce((SELECT kind NOT IN"
                           " (6, 7, 8, 10, 11, 12) FROM entries WHERE id = (?1 << 32) | ?2), 1)",
                           &st)) != OP_OK)
        return r;
    sqlite3_bind_int64(st, 1, author);
    sqlite3_bind_int64(st, 2, (int64_t)b->re.seq);
    sqlite3_bind_int64(st, 3, by_author);
    sqlite3_bind_int64(st, 4, (int64_t)by_seq);
    sqlite3_bind_int64(st, 5, (int64_t)(now > INT64_MAX ? INT64_MAX : now));
    r = store_db_code(sqlite3_step(st));
    sqlite3_reset(st);
    if (r != OP_OK)
        return r;
    for (size_t i = 0; i < sizeof drop_sql / sizeof drop_sql[0]; i++)
        if ((r = run(db, drop_sql[i], author, b->re.seq)) != OP_OK)
            return r;
    store_db_scrub_after_commit(db);
    return OP_OK;
}

op_err
store_erase_any(store_db *db, int64_t author, uint64_t first, uint64_t last, bool *any)
{
    sqlite3_stmt *st;
    op_err r;
    *any = false;
    if ((r = store_db_stmt(db,
                           "SELECT EXISTS (SELECT 1 FROM erased WHERE author = ?"
                           " AND seq BETWEEN ? AND ?)",
                           &st)) != OP_OK)
        return r;
    sqlite3_bind_int64(st, 1, author);
    sqlite3_bind_int64(st, 2, (int64_t)(first > STORE_SEQ_MAX ? STORE_SEQ_MAX : first));
    sqlite3_bind_int64(st, 3, (int64_t)(last > STORE_SEQ_MAX ? STORE_SEQ_MAX : last));
    return store_db_stmt_bool(st, any);
}

op_err
store_erase_is(store_db *db, int64_t author, uint64_t seq, bool *erased)
{
    return store_erase_any(db, author, seq, seq, erased);
}
