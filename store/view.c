/* view.c — projections kept in step with the log (see view.h). */
#include "store/view.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/erase.h"

static void
bind_text(sqlite3_stmt *st, int i, const char *s)
{
    if (s)
        sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
}

static void
bind_tri(sqlite3_stmt *st, int i, proto_tri t)
{
    if (t == PROTO_UNSET)
        sqlite3_bind_null(st, i);
    else
        sqlite3_bind_int(st, i, t == PROTO_YES);
}

/* Whether the author (by id) is the office this node belongs to (meta office_key; the office
 * itself has its own key there). Only its member and revoke entries count (SPEC §6). */
static op_err
by_office(store_db *db, int64_t author, bool *yes)
{
    sqlite3_stmt *st;
    op_err r;
    *yes = false;
    if ((r = store_db_stmt(db,
                           "SELECT 1 FROM authors a JOIN meta m ON m.k = 'office_key'"
                           " AND m.v = a.key WHERE a.id = ?",
                           &st)) != OP_OK)
        return r;
    sqlite3_bind_int64(st, 1, author);
    int rc = sqlite3_step(st);
    *yes = rc == SQLITE_ROW;
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? OP_OK : store_db_code(rc);
}

static op_err project_log_of(store_db *db, store_reader *rd, const uint8_t key[PROTO_KEY_BYTES]);

/* member -> members: the newest entry names the member; admitted is the first admission. A
 * revocation (revoked_after) is never undone by a later member entry. On admission, the
 * member's records held so far start to count (store_view_author_counts). */
static op_err
project_member(store_db *db, store_reader *rd, uint64_t ts, const proto_body *b)
{
    sqlite3_stmt *st;
    op_err r;
    bool was_admitted;
    if ((r = store_db_stmt(db, "SELECT 1 FROM members WHERE key = ? AND admitted IS NOT NULL",
                           &st)) != OP_OK)
        return r;
    sqlite3_bind_blob(st, 1, b->key, PROTO_KEY_BYTES, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    was_admitted = rc == SQLITE_ROW;
    sqlite3_reset(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return store_db_code(rc);
    if ((r = store_db_stmt(db,
                           "INSERT INTO members(key, name, site, role, admitted)"
                           " VALUES(?1, ?2, ?3, ?4, ?5) ON CONFLICT(key) DO UPDATE SET"
                           " name = excluded.name, site = excluded.site, role = excluded.role,"
                           " admitted = coalesce(members.admitted, excluded.admitted)",
                           &st)) != OP_OK)
        return r;
    sqlite3_bind_blob(st, 1, b->key, PROTO_KEY_BYTES, SQLITE_STATIC);
    bind_text(st, 2, b->name);
    bind_text(st, 3, b->site);
    bind_text(st, 4, b->role);
    sqlite3_bind_int64(st, 5, (int64_t)(ts > INT64_MAX ? INT64_MAX : ts));
    r = store_db_code(sqlite3_step(st));
    sqlite3_reset(st);
    if (r == OP_OK && !was_admitted && rd)
        r = project_log_of(db, rd, b->key);
    return r;
}

/* revoke -> members.revoked_after: the lowest after_seq given wins (revocations only narrow).
 * A key revoked before any member entry for it gets a row of its own. The office's own key is
 * never revoked: that would cut the whole team off from its membership list. */
static op_err
project_revoke(store_db *db, const proto_body *b)
{
    uint8_t office[PROTO_KEY_BYTES];
    sqlite3_stmt *st;
    int len = 0;
    op_err r = store_db_meta_get(db, "office_key", office, sizeof office, &len);
    if (r != OP_OK)
        return r == OP_E_NOTFOUND ? OP_OK : r;
    if (len == PROTO_KEY_BYTES && memcmp(office, b->key, PROTO_KEY_BYTES) == 0)
        return OP_OK;
    if ((r = store_db_stmt(db,
                           "INSERT INTO members(key, role, revoked_after) VALUES(?1, 'worker', ?2)"
                           " ON CONFLICT(key) DO UPDATE SET revoked_after ="
                           " min(coalesce(members.revoked_after, excluded.revoked_after),"
                           " excluded.revoked_after)",
                           &st)) != OP_OK)
        return r;
    sqlite3_bind_blob(st, 1, b->key, PROTO_KEY_BYTES, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (int64_t)(b->after_seq > INT64_MAX ? INT64_MAX : b->after_seq));
    r = store_db_code(sqlite3_step(st));
    sqlite3_reset(st);
    return r;
}

/* join -> joins, from anyone: the office decides (store/member.c). */
static op_err
project_join(store_db *db, int64_t author, uint64_t seq, uint64_t ts, const proto_body *b)
{
    sqlite3_stmt *st;
    op_err r;
    if ((r = store_db_stmt(db,
                           "INSERT OR IGNORE INTO joins(author, seq, name, site, proof, ts)"
                           " VALUES(?, ?, ?, ?, ?, ?)",
                           &st)) != OP_OK)
        return r;
    sqlite3_bind_int64(st, 1, author);
    sqlite3_bind_int64(st, 2, (int64_t)seq);
    bind_text(st, 3, b->name);
    bind_text(st, 4, b->site);
    sqlite3_bind_blob(st, 5, b->proof, PROTO_JOIN_PROOF_BYTES, SQLITE_STATIC);
    sqlite3_bind_int64(st, 6, (int64_t)(ts > INT64_MAX ? INT64_MAX : ts));
    r = store_db_code(sqlite3_step(st));
    sqlite3_reset(st);
    return r;
}

/* receipt -> acks under the office's key: "the office holds these logs up to these seqs",
 * learned by every node the receipt reaches, through any path (SPEC §7 step 4). */
static op_err
project_receipt(store_db *db, int64_t office, uint64_t ts, const proto_body *b)
{
    sqlite3_stmt *st;
    int64_t aid;
    op_err r;
    for (size_t i = 0; i < b->n_heads; i++) {
        if ((r = store_db_author_id(db, b->heads[i].author, &aid)) != OP_OK ||
            (r = store_db_stmt(db,
                               "INSERT INTO acks(peer, author, seq, at)"
                               " SELECT key, ?2, ?3, ?4 FROM authors WHERE id = ?1"
                               " ON CONFLICT(peer, author) DO UPDATE SET"
                               " seq = max(seq, excluded.seq), at = excluded.at",
                               &st)) != OP_OK)
            return r;
        sqlite3_bind_int64(st, 1, office);
        sqlite3_bind_int64(st, 2, aid);
        sqlite3_bind_int64(st, 3, (int64_t)(b->heads[i].seq > INT64_MAX ? INT64_MAX
                                                                        : b->heads[i].seq));
        sqlite3_bind_int64(st, 4, (int64_t)(ts > INT64_MAX ? INT64_MAX : ts));
        r = store_db_code(sqlite3_step(st));
        sqlite3_reset(st);
        if (r != OP_OK)
            return r;
    }
    return OP_OK;
}

op_err
store_view_author_counts(store_db *db, int64_t author, bool *counts)
{
    sqlite3_stmt *st;
    op_err r;
    *counts = true;
    if ((r = store_db_stmt(db,
                           "SELECT NOT EXISTS (SELECT 1 FROM meta WHERE k = 'office_key')"
                           " OR EXISTS (SELECT 1 FROM authors a WHERE a.id = ?1 AND ("
                           "  a.key IN (SELECT v FROM meta WHERE k IN ('office_key', 'key'))"
                           "  OR EXISTS (SELECT 1 FROM members m WHERE m.key = a.key"
                           "   AND m.admitted IS NOT NULL)))",
                           &st)) != OP_OK)
        return r;
    sqlite3_bind_int64(st, 1, author);
    return store_db_stmt_bool(st, counts);
}

/* Kinds that are a member's records: projected only for authors that count. */
static bool
record_kind(uint64_t kind)
{
    return kind == PROTO_KIND_CHECKIN || kind == PROTO_KIND_KPI_DEF ||
           kind == PROTO_KIND_KPI_VALUE || kind == PROTO_KIND_FEEDBACK ||
           kind == PROTO_KIND_CONTACT;
}

op_err
store_view_project(store_db *db, store_reader *rd, int64_t author, uint64_t seq, uint64_t ts,
                   const proto_body *b)
{
    sqlite3_stmt *st;
    op_err r;
    int64_t id = STORE_ROWID(author, seq);

    switch (b->kind) {
    case PROTO_KIND_CHECKIN:
        if ((r = store_db_stmt(db,
                               "INSERT OR IGNORE INTO checkins(id, author, seq, ts, delivering,"
                               " thriving, support, energy, note, blockers, wins, site)"
                               " VALUES(?,?,?,?,?,?,?,?,?,?,?,?)",
                               &st)) != OP_OK)
            return r;
        bind_tri(st, 5, b->delivering);
        bind_tri(st, 6, b->thriving);
        bind_tri(st, 7, b->support);
        if (b->energy)
            sqlite3_bind_int(st, 8, (int)b->energy);
        bind_text(st, 9, b->note);
        bind_text(st, 10, b->blockers);
        bind_text(st, 11, b->wins);
        bind_text(st, 12, b->site);
        break;
    case PROTO_KIND_KPI_DEF:
        if ((r = store_db_stmt(db,
                               "INSERT OR IGNORE INTO kpi_defs(id, author, seq, ts, kpi, title,"
                               " unit, target, direction, period, for_key, aggregate)"
                               " VALUES(?,?,?,?,?,?,?,?,?,?,?,?)",
                               &st)) != OP_OK)
            return r;
        bind_text(st, 5, b->id);
        bind_text(st, 6, b->title);
        bind_text(st, 7, b->unit);
        sqlite3_bind_double(st, 8, b->target);
        bind_text(st, 9, b->direction ? b->direction : "at_least");
        bind_text(st, 10, b->period ? b->period : "week");
        if (b->has_for)
            sqlite3_bind_blob(st, 11, b->for_key, PROTO_KEY_BYTES, SQLITE_STATIC);
        bind_text(st, 12, proto_kpi_aggregate(b));
        break;
    case PROTO_KIND_FEEDBACK:
        if ((r = store_db_stmt(db,
                               "INSERT OR IGNORE INTO feedback(id, author, seq, ts, to_key, text,"
                               " re_author, re_seq) VALUES(?,?,?,?,?,?,?,?)",
                               &st)) != OP_OK)
            return r;
        sqlite3_bind_blob(st, 5, b->who, PROTO_KEY_BYTES, SQLITE_STATIC);
        bind_text(st, 6, b->text);
        if (b->has_re) {
            sqlite3_bind_blob(st, 7, b->re.author, PROTO_KEY_BYTES, SQLITE_STATIC);
            sqlite3_bind_int64(st, 8, (int64_t)(b->re.seq > INT64_MAX ? INT64_MAX : b->re.seq));
        }
        break;
    case PROTO_KIND_CONTACT:
        if ((r = store_db_stmt(db,
                               "INSERT OR IGNORE INTO contacts(id, author, seq, ts, with_key,"
                               " topic, note) VALUES(?,?,?,?,?,?,?)",
                               &st)) != OP_OK)
            return r;
        sqlite3_bind_blob(st, 5, b->who, PROTO_KEY_BYTES, SQLITE_STATIC);
        bind_text(st, 6, b->topic);
        bind_text(st, 7, b->note);
        break;
    case PROTO_KIND_KPI_VALUE:
        if ((r = store_db_stmt(db,
                               "INSERT OR IGNORE INTO kpi_values(id, author, seq, ts, kpi, value,"
                               " at, note) VALUES(?,?,?,?,?,?,?,?)",
                               &st)) != OP_OK)
            return r;
        bind_text(st, 5, b->id);
        sqlite3_bind_double(st, 6, b->value);
        bind_text(st, 7, b->at);
        bind_text(st, 8, b->note);
        break;
    case PROTO_KIND_KEY:
        if ((r = store_db_stmt(db,
                               "INSERT OR IGNORE INTO key_entries(author, epoch, seq)"
                               " VALUES(?, ?, ?)",
                               &st)) != OP_OK)
            return r;
        sqlite3_bind_int64(st, 1, author);
        sqlite3_bind_int64(st, 2, (int64_t)b->epoch);
        sqlite3_bind_int64(st, 3, (int64_t)seq);
        r = store_db_code(sqlite3_step(st));
        sqlite3_reset(st);
        return r;
    case PROTO_KIND_MEMBER:
    case PROTO_KIND_REVOKE: {
        bool office;
        if ((r = by_office(db, author, &office)) != OP_OK || !office)
            return r; /* anyone else's: stored and relayed, counts for nothing */
        return b->kind == PROTO_KIND_MEMBER ? project_member(db, rd, ts, b)
                                            : project_revoke(db, b);
    }
    case PROTO_KIND_JOIN:
        return project_join(db, author, seq, ts, b);
    case PROTO_KIND_ERASE:
        return store_erase_apply(db, author, seq, b, ts);
    case PROTO_KIND_RECEIPT: {
        bool office;
        if ((r = by_office(db, author, &office)) != OP_OK || !office)
            return r;
        return project_receipt(db, author, ts, b);
    }
    default:
        return OP_OK; /* known to the log, not projected by this version */
    }
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, author);
    sqlite3_bind_int64(st, 3, (int64_t)seq);
    sqlite3_bind_int64(st, 4, (int64_t)ts);
    r = store_db_code(sqlite3_step(st));
    sqlite3_reset(st);
    return r;
}

op_err
store_view_apply(store_db *db, store_reader *rd, int64_t author, bool counts,
                 const proto_envelope *env, const uint8_t *body, size_t len)
{
    proto_body b;
    op_err r;

    if (!body || !proto_body_kind_known(env->kind) || (!counts && record_kind(env->kind)))
        return OP_OK;
    if (env->kind == PROTO_KIND_KEY && env->epoch != 0)
        return OP_OK; /* a key entry must be readable by all; this one is not usable */
    r = store_reader_body(rd, db, author, env, body, len, &b);
    if (r == OP_OK) {
        r = store_view_project(db, rd, author, env->seq, env->ts, &b);
        if (r == OP_OK && b.kind == PROTO_KIND_KEY)
            store_reader_forget(rd, author, b.epoch);
    } else if (r != OP_E_NOMEM && r != OP_E_BUSY && r != OP_E_IO && r != OP_E_DISK_FULL &&
               r != OP_E_CORRUPT) {
        r = OP_OK; /* unreadable or invalid body: stored, never projected */
    }
    proto_body_fini(&b);
    return r;
}

/* Projects the log of a member just admitted: its records held so far now count. A statement
 * of its own, not from the cache: store_view_apply uses the cache while this one steps. */
static op_err
project_log_of(store_db *db, store_reader *rd, const uint8_t key[PROTO_KEY_BYTES])
{
    sqlite3_stmt *st;
    op_err r = OP_OK;
    int rc = sqlite3_prepare_v2(store_db_handle(db),
                                "SELECT e.author, e.envelope, e.body FROM authors a JOIN entries e"
                                " ON e.id BETWEEN a.id << 32 AND (a.id << 32) | 0xffffffff"
                                " WHERE a.key = ? ORDER BY e.id",
                                -1, &st, NULL);
    if (rc != SQLITE_OK)
        return store_db_code(rc);
    sqlite3_bind_blob(st, 1, key, PROTO_KEY_BYTES, SQLITE_STATIC);
    while (r == OP_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        proto_envelope env;
        const uint8_t *body = sqlite3_column_blob(st, 2);
        if ((r = proto_envelope_decode(sqlite3_column_blob(st, 1),
                                       (size_t)sqlite3_column_bytes(st, 1), &env)) == OP_OK)
            r = store_view_apply(db, rd, sqlite3_column_int64(st, 0), true, &env, body,
                                 body ? (size_t)sqlite3_column_bytes(st, 2) : 0);
    }
    sqlite3_finalize(st);
    return r != OP_OK ? r : store_db_code(rc);
}

/* The tables rebuilt from the log. Not acks (a peer's word, not the log's), nor inbox_read
 * and own_epochs (this node's own state). */
static const char reset_sql[] = "DELETE FROM checkins; DELETE FROM kpi_defs; DELETE FROM kpi_values;"
                                "DELETE FROM feedback; DELETE FROM contacts; DELETE FROM key_entries;"
                                "DELETE FROM joins; DELETE FROM members;";

op_err
store_view_reindex(store_db *db, store_reader *rd, store_view_progress progress, void *ctx,
                   uint64_t *entries)
{
    sqlite3_stmt *st = NULL;
    uint64_t done = 0, total = 0;
    op_err r;
    int rc;

    if (entries)
        *entries = 0;
    /* Not durable: a rebuild lost to a power cut is simply done again. */
    if ((r = store_db_begin(db, false)) != OP_OK)
        return r;
    if ((r = store_db_exec(db, reset_sql)) != OP_OK)
        goto fail;
    if (progress) {
        if ((r = store_db_stmt(db, "SELECT count(*) FROM entries", &st)) != OP_OK)
            goto fail;
        if (sqlite3_step(st) == SQLITE_ROW)
            total = (uint64_t)sqlite3_column_int64(st, 0);
        sqlite3_reset(st);
    }
    /* In log order: an author's key entries come before the bodies they open. Prepared here,
     * not from the cache, because store_view_apply uses the cache while this one steps. */
    rc = sqlite3_prepare_v2(store_db_handle(db),
                            "SELECT author, envelope, body FROM entries ORDER BY id", -1, &st,
                            NULL);
    if (rc != SQLITE_OK) {
        r = store_db_code(rc);
        goto fail;
    }
    int64_t last_author = -1;
    bool counts = true;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        proto_envelope env;
        const uint8_t *body = sqlite3_column_blob(st, 2);
        int64_t author = sqlite3_column_int64(st, 0);
        if ((r = proto_envelope_decode(sqlite3_column_blob(st, 1),
                                       (size_t)sqlite3_column_bytes(st, 1), &env)) != OP_OK)
            goto fail; /* it was verified when stored: the file has been damaged since */
        /* Once per log. A member whose admission comes later in this replay (the office's log
         * sorts after it) is projected then, by project_member. */
        if (author != last_author && (r = store_view_author_counts(db, author, &counts)) != OP_OK)
            goto fail;
        last_author = author;
        if ((r = store_view_apply(db, rd, author, counts, &env, body,
                                  body ? (size_t)sqlite3_column_bytes(st, 2) : 0)) != OP_OK)
            goto fail;
        if (++done % 10000 == 0 && progress)
            progress(ctx, done, total);
    }
    if (rc != SQLITE_DONE) {
        r = store_db_code(rc);
        goto fail;
    }
    sqlite3_finalize(st);
    st = NULL;
    if ((r = store_view_stamp(db)) != OP_OK)
        goto fail;
    if ((r = store_db_commit(db)) != OP_OK)
        return r;
    if (progress)
        progress(ctx, done, total);
    if (entries)
        *entries = done;
    return OP_OK;
fail:
    sqlite3_finalize(st);
    store_db_rollback(db);
    return r;
}

op_err
store_view_stamp(store_db *db)
{
    char version[16];
    snprintf(version, sizeof version, "%d", STORE_VIEW_VERSION);
    return store_db_meta_put_text(db, "view_version", version);
}

op_err
store_view_ensure(store_db *db, store_reader *rd, bool *rebuilt)
{
    char version[16] = "";
    op_err r = store_db_meta_get(db, "view_version", version, sizeof version, NULL);
    *rebuilt = false;
    if (r != OP_OK && r != OP_E_NOTFOUND)
        return r;
    if (r == OP_OK && atoi(version) == STORE_VIEW_VERSION)
        return OP_OK;
    *rebuilt = true;
    return store_view_reindex(db, rd, NULL, NULL, NULL);
}
