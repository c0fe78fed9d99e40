/*
 * db.h — the node's SQLite database: open, pragmas, schema migrations, transactions, and the
 * one place where SQLite result codes become op_err codes.
 *
 * Journal mode is WAL, so the CLI and the agent can use the store at once. Local writes run
 * with synchronous=FULL (a check-in the user was told is saved survives a power cut);
 * ingest of remote runs uses NORMAL (a run lost in a power cut is fetched again).
 *
 * Entries are keyed by one integer, (author id << 32) | seq, so an author's log is one
 * contiguous range of a single b-tree and appending to it is an append to that range.
 */
#ifndef OUTPOST_STORE_DB_H
#define OUTPOST_STORE_DB_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#include "proto/err.h"

#define STORE_SCHEMA_VERSION 4
#define STORE_SEQ_MAX 0xffffffffu
#define STORE_ROWID(author, seq) ((int64_t)(author) << 32 | (int64_t)(seq))

typedef struct store_db store_db;

enum store_open_flags {
    STORE_OPEN_CREATE = 1,   /* create the file if missing */
    STORE_OPEN_READONLY = 2, /* queries only */
};

/*
 * Opens (and, with STORE_OPEN_CREATE, creates) the database at path and migrates it to
 * STORE_SCHEMA_VERSION. OP_E_NOTFOUND if it does not exist and CREATE is not given;
 * OP_E_VERSION if the file is from a newer outpost. Caller frees with store_db_close.
 */
OP_MUST_CHECK op_err store_db_open(const char *path, int flags, store_db **out);
void store_db_close(store_db *db); /* NULL-safe */

/* The SQLite connection, for queries. Borrowed; valid until store_db_close. */
sqlite3 *store_db_handle(store_db *db);
/* SQLite's last error text for this connection (for log lines). */
const char *store_db_errmsg(store_db *db);

/* Translates a SQLite result code into ours (SQLITE_FULL -> OP_E_DISK_FULL, ...). */
op_err store_db_code(int rc);

/*
 * BEGIN IMMEDIATE with synchronous=FULL (durable) or NORMAL. One store call is one
 * transaction: store_db_commit returns only after COMMIT (and, when durable, fsync).
 */
OP_MUST_CHECK op_err store_db_begin(store_db *db, bool durable);
OP_MUST_CHECK op_err store_db_commit(store_db *db);
void store_db_rollback(store_db *db); /* safe when no transaction is open */
/* Content was erased in this transaction (store/erase.c): after its COMMIT, store_db_commit
 * checkpoints with TRUNCATE, so that no old page image of it stays in the WAL (again after
 * each later commit while busy readers keep that from completing). A rollback does not clear
 * it: a checkpoint that is not needed costs little. */
void store_db_scrub_after_commit(store_db *db);

/* Runs SQL with no result rows. */
OP_MUST_CHECK op_err store_db_exec(store_db *db, const char *sql);

/* Prepared statements cached on the connection (sqlite3_prepare_v3 PERSISTENT). The returned
 * statement is reset and unbound. Borrowed: do not finalize. */
OP_MUST_CHECK op_err store_db_stmt(store_db *db, const char *sql, sqlite3_stmt **out);

/* Steps st (from store_db_stmt, parameters bound), whose one row holds one truth value (e.g.
 * SELECT EXISTS (...)), into *yes, and resets st. *yes is false on failure. */
OP_MUST_CHECK op_err store_db_stmt_bool(sqlite3_stmt *st, bool *yes);

/* Settings in the meta table. get returns OP_E_NOTFOUND when absent; text is copied into buf
 * (truncated to n-1), blobs into buf with *len set. */
OP_MUST_CHECK op_err store_db_meta_get(store_db *db, const char *k, void *buf, int n, int *len);
OP_MUST_CHECK op_err store_db_meta_put_text(store_db *db, const char *k, const char *v);
OP_MUST_CHECK op_err store_db_meta_put_blob(store_db *db, const char *k, const void *v, int n);

/* The author id for a key, created if absent (inside the caller's transaction). */
OP_MUST_CHECK op_err store_db_author_id(store_db *db, const uint8_t key[32], int64_t *id);

#endif
