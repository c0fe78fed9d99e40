/* view.c — projections kept in step with the log (see view.h). */
#include "store/view.h"

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

op_err
store_view_project(store_db *db, int64_t author, uint64_t seq, uint64_t ts, const proto_body *b)
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
                               " unit, target, direction, period, for_key)"
                               " VALUES(?,?,?,?,?,?,?,?,?,?,?)",
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
store_view_apply(store_db *db, store_reader *rd, int64_t author, const proto_envelope *env,
                 const uint8_t *body, size_t len)
{
    proto_body b;
    op_err r;

    if (!body || !proto_body_kind_known(env->kind))
        return OP_OK;
    if (env->kind == PROTO_KIND_KEY && env->epoch != 0)
        return OP_OK; /* a key entry must be readable by all; this one is not usable */
    r = store_reader_body(rd, db, author, env, body, len, &b);
    if (r == OP_OK) {
        r = store_view_project(db, author, env->seq, env->ts, &b);
        if (r == OP_OK && b.kind == PROTO_KIND_KEY)
            store_reader_forget(rd, author, b.epoch);
    } else if (r != OP_E_NOMEM && r != OP_E_BUSY && r != OP_E_IO && r != OP_E_DISK_FULL &&
               r != OP_E_CORRUPT) {
        r = OP_OK; /* unreadable or invalid body: stored, never projected */
    }
    proto_body_fini(&b);
    return r;
}
