/* db.c — SQLite connection, schema and transactions (see db.h). */
#include "store/db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define STMT_CACHE 48

struct store_db {
    sqlite3 *h;
    struct {
        char *sql; /* owned copy */
        sqlite3_stmt *st;
    } cache[STMT_CACHE];
    int n_cache;
    int durable; /* the synchronous level set last: 1 FULL, 0 NORMAL, -1 not known */
    bool scrub;  /* content was erased: checkpoint and empty the WAL after the commit (and
                  * after later ones, until that has succeeded once) */
    sqlite3_stmt *rollback; /* prepared at open: see end_transaction */
    bool rollback_failed;   /* a transaction is still open that was to be rolled back */
};

/* Each step moves the schema from version i to i + 1; never edit a step once released. */
static const char *const migrations[] = {
    /* 0 -> 1 */
    "CREATE TABLE meta(k TEXT PRIMARY KEY, v) WITHOUT ROWID;"
    "CREATE TABLE authors("
    "  id INTEGER PRIMARY KEY, key BLOB NOT NULL UNIQUE,"
    "  head_seq INTEGER NOT NULL DEFAULT 0, head_hash BLOB,"
    "  first_seen INTEGER, last_seen INTEGER);"
    /* id = author << 32 | seq: one b-tree, each log a contiguous range */
    "CREATE TABLE entries("
    "  id INTEGER PRIMARY KEY, author INTEGER NOT NULL, seq INTEGER NOT NULL,"
    "  hash BLOB NOT NULL, kind INTEGER NOT NULL, ts INTEGER NOT NULL, epoch INTEGER NOT NULL,"
    "  envelope BLOB NOT NULL, body BLOB, received INTEGER NOT NULL);"
    "CREATE TABLE forks("
    "  author INTEGER NOT NULL, seq INTEGER NOT NULL, envelope BLOB NOT NULL, body BLOB,"
    "  received INTEGER NOT NULL);"
    "CREATE TABLE key_entries("
    "  author INTEGER NOT NULL, epoch INTEGER NOT NULL, seq INTEGER NOT NULL,"
    "  PRIMARY KEY(author, epoch)) WITHOUT ROWID;"
    "CREATE TABLE checkins("
    "  id INTEGER PRIMARY KEY, author INTEGER NOT NULL, seq INTEGER NOT NULL, ts INTEGER,"
    "  delivering INTEGER, thriving INTEGER, support INTEGER, energy INTEGER,"
    "  note TEXT, blockers TEXT, wins TEXT, site TEXT);"
    "CREATE TABLE kpi_defs("
    "  id INTEGER PRIMARY KEY, author INTEGER NOT NULL, seq INTEGER NOT NULL, ts INTEGER,"
    "  kpi TEXT NOT NULL, title TEXT, unit TEXT, target REAL NOT NULL, direction TEXT,"
    "  period TEXT, for_key BLOB);"
    "CREATE INDEX kpi_defs_kpi ON kpi_defs(kpi);"
    "CREATE TABLE kpi_values("
    "  id INTEGER PRIMARY KEY, author INTEGER NOT NULL, seq INTEGER NOT NULL, ts INTEGER,"
    "  kpi TEXT NOT NULL, value REAL NOT NULL, at TEXT NOT NULL, note TEXT);"
    "CREATE INDEX kpi_values_kpi_at ON kpi_values(kpi, at);",
    /* 1 -> 2: replication and membership */
    /* peers this node dials; key NULL = accept whoever holds the network key there */
    "CREATE TABLE peers("
    "  addr TEXT PRIMARY KEY, key BLOB, added INTEGER NOT NULL,"
    "  last_ok INTEGER, last_attempt INTEGER, last_error TEXT, next_retry INTEGER,"
    "  fails INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;"
    /* what each peer holds durably (from its ACKs); pending = own entries no office holds */
    "CREATE TABLE acks("
    "  peer BLOB NOT NULL, author INTEGER NOT NULL, seq INTEGER NOT NULL, at INTEGER,"
    "  PRIMARY KEY(peer, author)) WITHOUT ROWID;"
    /* a peer's last connection, by any path (for status and 'silent') */
    "CREATE TABLE links("
    "  key BLOB PRIMARY KEY, addr TEXT, connected INTEGER NOT NULL DEFAULT 0,"
    "  last_seen INTEGER, last_sync INTEGER, clock_skew_ms INTEGER) WITHOUT ROWID;"
    /* office: invitations, by the hash of their one-time token */
    "CREATE TABLE invites("
    "  token_hash BLOB PRIMARY KEY, name TEXT NOT NULL, site TEXT, created INTEGER NOT NULL,"
    "  used_by BLOB, used_at INTEGER) WITHOUT ROWID;"
    /* the membership list, projected from the office's member and revoke entries */
    "CREATE TABLE members("
    "  key BLOB PRIMARY KEY, name TEXT, site TEXT, role TEXT NOT NULL,"
    "  admitted INTEGER, revoked_after INTEGER) WITHOUT ROWID;"
    /* join requests seen (projected from join entries, readable by all) */
    "CREATE TABLE joins("
    "  author INTEGER NOT NULL, seq INTEGER NOT NULL, name TEXT, site TEXT, proof BLOB,"
    "  ts INTEGER, PRIMARY KEY(author, seq)) WITHOUT ROWID;",
    /* 2 -> 3: the office's views and the loop back to the field */
    "ALTER TABLE kpi_defs ADD COLUMN aggregate TEXT;"
    /* feedback this node can read (to it, from it, or all of it at the office) */
    "CREATE TABLE feedback("
    "  id INTEGER PRIMARY KEY, author INTEGER NOT NULL, seq INTEGER NOT NULL, ts INTEGER,"
    "  to_key BLOB NOT NULL, text TEXT NOT NULL, re_author BLOB, re_seq INTEGER);"
    "CREATE INDEX feedback_to ON feedback(to_key, ts);"
    /* who has values of a KPI in a period, from the index alone (one member's values: the
     * kpi_values_author index below) */
    "DROP INDEX kpi_values_kpi_at;"
    "CREATE INDEX kpi_values_kpi_at ON kpi_values(kpi, at, author);"
    /* `outpost log`: newest first without sorting every entry held */
    "CREATE INDEX entries_received ON entries(received);"
    /* local state, not a projection (reindex keeps it): which feedback was shown by inbox */
    "CREATE TABLE inbox_read(id INTEGER PRIMARY KEY, at INTEGER NOT NULL);"
    /* the leader's contacts with members */
    "CREATE TABLE contacts("
    "  id INTEGER PRIMARY KEY, author INTEGER NOT NULL, seq INTEGER NOT NULL, ts INTEGER,"
    "  with_key BLOB NOT NULL, topic TEXT NOT NULL, note TEXT);"
    "CREATE INDEX contacts_with ON contacts(with_key, ts);"
    /* this node's epochs, one per set of readers (a tag of the set): the regular one, and
     * one per addressee of feedback. The regular set's epoch carries over from schema 2. */
    "CREATE TABLE own_epochs(readers BLOB PRIMARY KEY, epoch INTEGER NOT NULL) WITHOUT ROWID;"
    "INSERT INTO own_epochs(readers, epoch)"
    "  SELECT m.v, (SELECT max(k.epoch) FROM key_entries k JOIN authors a ON a.id = k.author"
    "               WHERE a.key = (SELECT v FROM meta WHERE k = 'key'))"
    "  FROM meta m WHERE m.k = 'epoch_readers'"
    "  AND EXISTS (SELECT 1 FROM key_entries k JOIN authors a ON a.id = k.author"
    "              WHERE a.key = (SELECT v FROM meta WHERE k = 'key'));"
    "DELETE FROM meta WHERE k = 'epoch_readers';"
    /* the office's team and alerts (tools/office.c). live_at: the latest moment this node
     * knows the author was alive, max over its entries of min(ts, received) (a clock that runs
     * ahead cannot fake it); kept by store/log.c as runs are stored, filled here once. */
    "ALTER TABLE authors ADD COLUMN live_at INTEGER;"
    "UPDATE authors SET live_at = (SELECT max(min(ts, received)) FROM entries"
    "  WHERE id BETWEEN authors.id << 32 AND (authors.id << 32) | 0xffffffff);"
    /* entries dated more than a minute after they arrived: a clock ahead (rare, so small) */
    "CREATE INDEX entries_ahead ON entries(author, received, ts) WHERE ts > received + 60000;"
    /* check-ins per author, kept by triggers: counting a year of a thousand members' rows
     * for every `outpost team` would cost more than the rest of it */
    "CREATE TABLE checkin_counts(author INTEGER PRIMARY KEY, n INTEGER NOT NULL);"
    "INSERT INTO checkin_counts(author, n) SELECT author, count(*) FROM checkins GROUP BY author;"
    "CREATE TRIGGER checkins_counted AFTER INSERT ON checkins BEGIN"
    "  INSERT INTO checkin_counts(author, n) VALUES(NEW.author, 1)"
    "  ON CONFLICT(author) DO UPDATE SET n = n + 1; END;"
    "CREATE TRIGGER checkins_uncounted AFTER DELETE ON checkins BEGIN"
    "  UPDATE checkin_counts SET n = n - 1 WHERE author = OLD.author; END;"
    /* one member's values of one KPI in a period without a look at the table, and its last
     * value (the latest day, the latest recorded that day) in one step */
    "CREATE INDEX kpi_values_author ON kpi_values(author, kpi, at, seq, value);"
    /* keys refused because they were revoked: a connection, or a run of entries a peer offered
     * (agent/); local state, not a projection */
    "CREATE TABLE refusals("
    "  key BLOB NOT NULL, why TEXT NOT NULL, first INTEGER NOT NULL, last INTEGER NOT NULL,"
    "  n INTEGER NOT NULL, PRIMARY KEY(key, why)) WITHOUT ROWID;",
    /* 3 -> 4: erasure (SPEC §5 kind 10, store/erase.c). A tombstone per erased (author, seq):
     * the erase entry that asked for it. A body offered later for it is not stored. Not a
     * projection that reindex rebuilds: the bodies it names are gone. */
    "CREATE TABLE erased("
    "  author INTEGER NOT NULL, seq INTEGER NOT NULL, by_author INTEGER NOT NULL,"
    "  by_seq INTEGER NOT NULL, at INTEGER NOT NULL, PRIMARY KEY(author, seq)) WITHOUT ROWID;",
};
#define N_MIGRATIONS (int)(sizeof migrations / sizeof migrations[0])
_Static_assert(sizeof migrations / sizeof migrations[0] == STORE_SCHEMA_VERSION, "migrations");

op_err
store_db_code(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_OK:
    case SQLITE_DONE:
    case SQLITE_ROW:
        return OP_OK;
    case SQLITE_NOMEM:
        return OP_E_NOMEM;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return OP_E_BUSY;
    case SQLITE_FULL:
        return OP_E_DISK_FULL;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
        return OP_E_CORRUPT;
    /* SQLITE_CANTOPEN is an I/O error like any other: the database file itself is known to
     * exist by the time SQLite opens it (store_db_open looks first), and a -wal or -shm that
     * cannot be opened (EMFILE, EIO, EACCES) must not read as "not found", which callers take
     * for "absent, carry on" (meta_get: a setting never made). Found by tests/fault ioerr. */
    case SQLITE_CANTOPEN:
        return OP_E_IO;
    case SQLITE_CONSTRAINT:
        return OP_E_EXISTS;
    case SQLITE_TOOBIG:
        return OP_E_TOOBIG;
    default:
        return OP_E_IO;
    }
}

op_err
store_db_exec(store_db *db, const char *sql)
{
    return store_db_code(sqlite3_exec(db->h, sql, NULL, NULL, NULL));
}

op_err
store_db_stmt(store_db *db, const char *sql, sqlite3_stmt **out)
{
    *out = NULL;
    for (int i = 0; i < db->n_cache; i++)
        if (strcmp(db->cache[i].sql, sql) == 0) {
            sqlite3_reset(db->cache[i].st);
            sqlite3_clear_bindings(db->cache[i].st);
            *out = db->cache[i].st;
            return OP_OK;
        }
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v3(db->h, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL);
    if (rc != SQLITE_OK)
        return store_db_code(rc);
    char *key = strdup(sql); /* the caller's text may not outlive this call */
    if (!key) {
        sqlite3_finalize(st);
        return OP_E_NOMEM;
    }
    if (db->n_cache == STMT_CACHE) { /* full: the oldest goes */
        sqlite3_finalize(db->cache[0].st);
        free(db->cache[0].sql);
        memmove(db->cache, db->cache + 1, sizeof db->cache[0] * (STMT_CACHE - 1));
        db->n_cache--;
    }
    db->cache[db->n_cache].sql = key;
    db->cache[db->n_cache].st = st;
    db->n_cache++;
    *out = st;
    return OP_OK;
}

op_err
store_db_stmt_bool(sqlite3_stmt *st, bool *yes)
{
    int rc = sqlite3_step(st);
    *yes = rc == SQLITE_ROW && sqlite3_column_int(st, 0) != 0;
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? OP_OK : store_db_code(rc);
}

static op_err
read_version(store_db *db, int *version)
{
    sqlite3_stmt *st;
    op_err r;
    *version = 0;
    if ((r = store_db_stmt(db, "PRAGMA user_version", &st)) != OP_OK)
        return r;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *version = sqlite3_column_int(st, 0);
    sqlite3_reset(st);
    return rc == SQLITE_ROW ? OP_OK : store_db_code(rc);
}

static op_err
migrate(store_db *db)
{
    int version;
    op_err r;

    if ((r = read_version(db, &version)) != OP_OK || version == N_MIGRATIONS)
        return r;
    if ((r = store_db_begin(db, true)) != OP_OK)
        return r;
    /* Again under the write lock: another process may have migrated since we looked. */
    if ((r = read_version(db, &version)) != OP_OK)
        goto fail;
    if (version >= N_MIGRATIONS) {
        store_db_rollback(db);
        return version > N_MIGRATIONS ? OP_E_VERSION : OP_OK;
    }
    for (int v = version; v < N_MIGRATIONS; v++)
        if ((r = store_db_exec(db, migrations[v])) != OP_OK)
            goto fail;
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA user_version = %d", N_MIGRATIONS);
    if ((r = store_db_exec(db, sql)) != OP_OK)
        goto fail;
    return store_db_commit(db);
fail:
    store_db_rollback(db);
    return r;
}

/* Whether the directory path is in exists ("." for a bare name). */
static bool
parent_exists(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return true;
    if (slash == path)
        return true; /* the root */
    size_t n = (size_t)(slash - path);
    char *dir = malloc(n + 1);
    if (!dir)
        return true; /* cannot tell: the caller reports an I/O error */
    memcpy(dir, path, n);
    dir[n] = '\0';
    bool yes = access(dir, F_OK) == 0;
    free(dir);
    return yes;
}

op_err
store_db_open(const char *path, int flags, store_db **out)
{
    store_db *db;
    op_err r;
    int oflags = SQLITE_OPEN_NOMUTEX;

    *out = NULL;
    if (flags & STORE_OPEN_READONLY)
        oflags |= SQLITE_OPEN_READWRITE; /* WAL readers still need the -shm file */
    else
        oflags |= SQLITE_OPEN_READWRITE | ((flags & STORE_OPEN_CREATE) ? SQLITE_OPEN_CREATE : 0);
    if (!(flags & STORE_OPEN_CREATE) && access(path, F_OK) != 0)
        return OP_E_NOTFOUND;
    if (!(db = calloc(1, sizeof *db)))
        return OP_E_NOMEM;
    int rc = sqlite3_open_v2(path, &db->h, oflags, NULL);
    if (rc != SQLITE_OK) {
        /* Creating in a directory that is not there: not found. Any other failure to open is
         * an I/O error (store_db_code). */
        r = (rc & 0xff) == SQLITE_CANTOPEN && !parent_exists(path) ? OP_E_NOTFOUND
                                                                    : store_db_code(rc);
        goto fail;
    }
    sqlite3_extended_result_codes(db->h, 1);
    sqlite3_busy_timeout(db->h, 5000);
    if ((rc = sqlite3_prepare_v3(db->h, "ROLLBACK", -1, SQLITE_PREPARE_PERSISTENT, &db->rollback,
                                 NULL)) != SQLITE_OK) {
        r = store_db_code(rc);
        goto fail;
    }
    /* A file from a newer outpost is refused before anything (even journal_mode) touches it. */
    int version;
    if ((r = read_version(db, &version)) != OP_OK)
        goto fail;
    if (version > N_MIGRATIONS) {
        r = OP_E_VERSION;
        goto fail;
    }
    /* journal_mode answers with a row; exec ignores it. Everything else is plain. */
    if ((r = store_db_exec(db, "PRAGMA journal_mode=WAL;"
                               "PRAGMA synchronous=FULL;"
                               "PRAGMA foreign_keys=OFF;"
                               "PRAGMA secure_delete=ON;")) != OP_OK)
        goto fail;
    db->durable = 1;
    if ((r = migrate(db)) != OP_OK)
        goto fail;
    *out = db;
    return OP_OK;
fail:
    store_db_close(db);
    return r;
}

void
store_db_close(store_db *db)
{
    if (!db)
        return;
    for (int i = 0; i < db->n_cache; i++) {
        sqlite3_finalize(db->cache[i].st);
        free(db->cache[i].sql);
    }
    sqlite3_finalize(db->rollback);
    sqlite3_close(db->h);
    free(db);
}

sqlite3 *
store_db_handle(store_db *db)
{
    return db->h;
}

const char *
store_db_errmsg(store_db *db)
{
    return sqlite3_errmsg(db->h);
}

/* Rolls back the open transaction, if any. A ROLLBACK that fails (out of memory: SQLite
 * allocates even to run one) leaves the write transaction open on the connection, its lock
 * held, every later BEGIN failing with "cannot start a transaction within a transaction" (an
 * I/O error to our callers) for as long as the process lives: an agent would never store
 * anything again. So the statement is prepared at open (preparing it now could fail too), it
 * is tried again, and if it still fails store_db_begin ends that transaction before it begins.
 * Found by tests/fault/ops_fault.c (oom). */
static op_err
end_transaction(store_db *db)
{
    int rc = SQLITE_OK;
    for (int tries = 0; tries < 3 && !sqlite3_get_autocommit(db->h); tries++) {
        rc = sqlite3_step(db->rollback);
        sqlite3_reset(db->rollback);
    }
    db->rollback_failed = !sqlite3_get_autocommit(db->h);
    return db->rollback_failed ? store_db_code(rc) : OP_OK;
}

op_err
store_db_begin(store_db *db, bool durable)
{
    op_err r;
    /* (A BEGIN inside a transaction that was not to be rolled back is refused by SQLite.) */
    if (db->rollback_failed && (r = end_transaction(db)) != OP_OK)
        return r;
    /* The pragma only when it changes: an agent ingesting runs begins thousands of times. */
    if (db->durable != (int)durable) {
        r = store_db_exec(db, durable ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
        if (r != OP_OK)
            return r;
        db->durable = durable;
    }
    return store_db_exec(db, "BEGIN IMMEDIATE");
}

op_err
store_db_commit(store_db *db)
{
    op_err r = store_db_exec(db, "COMMIT");
    if (r != OP_OK) {
        store_db_rollback(db);
        return r;
    }
    if (db->scrub) {
        /* The WAL still holds the pages as they were before the erasure. Copy the new ones
         * into the database file (where secure_delete has zeroed the freed bytes) and empty
         * the WAL. A reader that stays longer than the busy timeout keeps it from finishing:
         * it is tried again after the next commit; the erasure itself is committed. */
        int rc = sqlite3_wal_checkpoint_v2(db->h, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
        db->scrub = rc != SQLITE_OK;
    }
    return OP_OK;
}

void
store_db_rollback(store_db *db)
{
    OP_IGNORE(end_transaction(db)); /* if it fails, store_db_begin tries again */
}

void
store_db_scrub_after_commit(store_db *db)
{
    db->scrub = true;
}

op_err
store_db_meta_get(store_db *db, const char *k, void *buf, int n, int *len)
{
    sqlite3_stmt *st;
    op_err r;
    if (len)
        *len = 0;
    if ((r = store_db_stmt(db, "SELECT v FROM meta WHERE k = ?", &st)) != OP_OK)
        return r;
    sqlite3_bind_text(st, 1, k, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        r = rc == SQLITE_DONE ? OP_E_NOTFOUND : store_db_code(rc);
        sqlite3_reset(st);
        return r;
    }
    if (sqlite3_column_type(st, 0) == SQLITE_BLOB) {
        int m = sqlite3_column_bytes(st, 0);
        if (m > n)
            m = n;
        memcpy(buf, sqlite3_column_blob(st, 0), (size_t)m);
        if (len)
            *len = m;
    } else {
        const char *t = (const char *)sqlite3_column_text(st, 0);
        snprintf(buf, (size_t)n, "%s", t ? t : "");
        if (len)
            *len = (int)strlen(buf);
    }
    sqlite3_reset(st);
    return OP_OK;
}

static op_err
meta_put(store_db *db, const char *k, const void *v, int n, bool blob)
{
    sqlite3_stmt *st;
    op_err r;
    if ((r = store_db_stmt(db, "INSERT OR REPLACE INTO meta(k, v) VALUES(?, ?)", &st)) != OP_OK)
        return r;
    sqlite3_bind_text(st, 1, k, -1, SQLITE_STATIC);
    if (blob)
        sqlite3_bind_blob(st, 2, v, n, SQLITE_STATIC);
    else
        sqlite3_bind_text(st, 2, v, -1, SQLITE_STATIC);
    r = store_db_code(sqlite3_step(st));
    sqlite3_reset(st);
    return r;
}

op_err
store_db_meta_put_text(store_db *db, const char *k, const char *v)
{
    return meta_put(db, k, v, -1, false);
}

op_err
store_db_meta_put_blob(store_db *db, const char *k, const void *v, int n)
{
    return meta_put(db, k, v, n, true);
}

op_err
store_db_author_id(store_db *db, const uint8_t key[32], int64_t *id)
{
    sqlite3_stmt *st;
    op_err r;
    *id = 0;
    if ((r = store_db_stmt(db, "SELECT id FROM authors WHERE key = ?", &st)) != OP_OK)
        return r;
    sqlite3_bind_blob(st, 1, key, 32, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *id = sqlite3_column_int64(st, 0);
        sqlite3_reset(st);
        return OP_OK;
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return store_db_code(rc);
    if ((r = store_db_stmt(db, "INSERT INTO authors(key) VALUES(?)", &st)) != OP_OK)
        return r;
    sqlite3_bind_blob(st, 1, key, 32, SQLITE_STATIC);
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return store_db_code(rc);
    *id = sqlite3_last_insert_rowid(db->h);
    return OP_OK;
}
