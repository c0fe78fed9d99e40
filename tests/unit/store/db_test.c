/*
 * db_test.c — store/db.c: open, create, migrate, pragmas, transactions, meta, author ids and the
 * SQLite -> op_err translation; a directory given as the database is an I/O error. Real files
 * in a fresh temporary directory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <signal.h>
#include <sys/wait.h>

#include "store_test_util.h"

static char *
text_pragma(store_db *db, const char *sql)
{
    sqlite3_stmt *st;
    char *v = NULL;
    assert_int_equal(sqlite3_prepare_v2(store_db_handle(db), sql, -1, &st, NULL), SQLITE_OK);
    if (sqlite3_step(st) == SQLITE_ROW)
        v = strdup((const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    assert_non_null(v);
    return v;
}

/* Writes a database file with raw SQLite, as another program (or a newer outpost) would. */
static void
raw_create(const char *path, const char *sql)
{
    sqlite3 *h = NULL;
    assert_int_equal(sqlite3_open_v2(path, &h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_exec(h, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(h);
}

static void
create_sets_schema_and_pragmas(void **state)
{
    tu_fixture *f = *state;
    char *path = tu_path(f->dir, STORE_DB_FILE);
    store_db *db = NULL;

    OK(store_db_open(path, STORE_OPEN_CREATE, &db));
    assert_non_null(db);
    assert_int_equal(tu_int(db, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
    char *mode = text_pragma(db, "PRAGMA journal_mode");
    assert_string_equal(mode, "wal");
    free(mode);
    assert_int_equal(tu_int(db, "PRAGMA synchronous"), 2); /* FULL */
    assert_int_equal(tu_int(db, "PRAGMA secure_delete"), 1);
    static const char *const tables[] = {"meta",        "authors",  "entries",  "forks",
                                         "key_entries", "checkins", "kpi_defs", "kpi_values"};
    for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++) {
        char sql[128];
        snprintf(sql, sizeof sql,
                 "SELECT count(*) FROM sqlite_master WHERE type='table' AND name='%s'", tables[i]);
        assert_int_equal(tu_int(db, sql), 1);
    }
    assert_int_equal(tu_int(db, "SELECT count(*) FROM entries"), 0);
    store_db_close(db);

    /* Reopening without CREATE finds it as it was; migrating again is a no-op. */
    OK(store_db_open(path, 0, &db));
    assert_int_equal(tu_int(db, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
    store_db_close(db);
    OK(store_db_open(path, STORE_OPEN_CREATE, &db));
    store_db_close(db);
    store_db_close(NULL); /* NULL-safe */
    free(path);
}

static void
open_missing_without_create_is_notfound(void **state)
{
    tu_fixture *f = *state;
    char *path = tu_path(f->dir, "nothere.db");
    store_db *db = (store_db *)&db; /* must be cleared */

    EXPECT(OP_E_NOTFOUND, store_db_open(path, 0, &db));
    assert_null(db);
    db = (store_db *)&db;
    EXPECT(OP_E_NOTFOUND, store_db_open(path, STORE_OPEN_READONLY, &db));
    assert_null(db);
    assert_int_not_equal(access(path, F_OK), 0); /* and nothing was created */
    free(path);

    /* CREATE in a directory that does not exist cannot create either. */
    path = tu_path(f->dir, "no/such/dir.db");
    EXPECT(OP_E_NOTFOUND, store_db_open(path, STORE_OPEN_CREATE, &db));
    assert_null(db);
    free(path);
}

static void
open_newer_version_is_refused(void **state)
{
    tu_fixture *f = *state;
    char *path = tu_path(f->dir, STORE_DB_FILE);
    char sql[128];
    store_db *db = (store_db *)&db;

    snprintf(sql, sizeof sql, "CREATE TABLE future(x); PRAGMA user_version = %d;",
             STORE_SCHEMA_VERSION + 1);
    raw_create(path, sql);
    EXPECT(OP_E_VERSION, store_db_open(path, 0, &db));
    assert_null(db);
    EXPECT(OP_E_VERSION, store_db_open(path, STORE_OPEN_CREATE, &db));
    assert_null(db);

    /* The newer file is left as it was: same version, no tables of ours added. */
    sqlite3 *h;
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_open_v2(path, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(h, "PRAGMA user_version", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), STORE_SCHEMA_VERSION + 1);
    sqlite3_finalize(st);
    assert_int_equal(sqlite3_prepare_v2(h,
                                        "SELECT count(*) FROM sqlite_master WHERE name='entries'",
                                        -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), 0);
    sqlite3_finalize(st);
    sqlite3_close(h);
    free(path);
}

/*
 * A file from a newer outpost is refused with OP_E_VERSION, and must be left exactly as it
 * was: store_db_open sets journal_mode=WAL before it looks at user_version, which rewrites the
 * header (bytes 18-19, file format 1 -> 2) of a file it then refuses to touch.
 */
static void
refused_newer_file_is_not_modified(void **state)
{
    tu_fixture *f = *state;
    char *path = tu_path(f->dir, STORE_DB_FILE);
    char sql[128];
    store_db *db = NULL;
    uint8_t before[100], after[100];

    snprintf(sql, sizeof sql, "CREATE TABLE future(x); PRAGMA user_version = %d;",
             STORE_SCHEMA_VERSION + 1);
    raw_create(path, sql);
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    assert_int_equal(fread(before, 1, sizeof before, fp), sizeof before);
    fclose(fp);
    assert_int_equal(before[18], 1); /* rollback journal */

    EXPECT(OP_E_VERSION, store_db_open(path, 0, &db));
    fp = fopen(path, "rb");
    assert_non_null(fp);
    assert_int_equal(fread(after, 1, sizeof after, fp), sizeof after);
    fclose(fp);
    if (memcmp(before, after, sizeof before) != 0)
        fail_msg("the refused file's header changed (bytes 18-19: %d %d -> %d %d)", before[18],
                 before[19], after[18], after[19]);
    free(path);
}

static void
open_not_a_database_is_corrupt(void **state)
{
    tu_fixture *f = *state;
    char *path = tu_path(f->dir, STORE_DB_FILE);
    store_db *db = (store_db *)&db;
    char junk[4096];

    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (char)("this is not an SQLite database, it is a text file\n"[i % 51]);
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(junk, 1, sizeof junk, fp), sizeof junk);
    assert_int_equal(fclose(fp), 0);

    EXPECT(OP_E_CORRUPT, store_db_open(path, 0, &db));
    assert_null(db);
    EXPECT(OP_E_CORRUPT, store_db_open(path, STORE_OPEN_CREATE, &db));
    assert_null(db);

    /* The file was not "repaired" or overwritten. */
    char back[sizeof junk];
    fp = fopen(path, "rb");
    assert_non_null(fp);
    assert_int_equal(fread(back, 1, sizeof back, fp), sizeof back);
    fclose(fp);
    assert_memory_equal(back, junk, sizeof junk);
    free(path);
}

static void
migrates_an_old_empty_database(void **state)
{
    tu_fixture *f = *state;
    char *path = tu_path(f->dir, STORE_DB_FILE);
    store_db *db;

    /* A version-0 database in rollback-journal mode (e.g. made by sqlite3 the tool). */
    raw_create(
        path,
        "PRAGMA journal_mode=DELETE; CREATE TABLE unrelated(x); INSERT INTO unrelated VALUES(7);");
    OK(store_db_open(path, 0, &db));
    assert_int_equal(tu_int(db, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
    char *mode = text_pragma(db, "PRAGMA journal_mode");
    assert_string_equal(mode, "wal");
    free(mode);
    assert_int_equal(tu_int(db, "SELECT x FROM unrelated"), 7);
    assert_int_equal(tu_int(db, "SELECT count(*) FROM authors"), 0);
    store_db_close(db);
    free(path);
}

static void
readonly_open_reads(void **state)
{
    tu_fixture *f = *state;
    tu_node a;
    tu_node_open(&a, f->dir, "a");
    tu_checkins(&a, "n", 3, T0);
    tu_node_close_db(&a);

    store_db *db;
    OK(store_db_open(a.path, STORE_OPEN_READONLY, &db));
    assert_int_equal(tu_int(db, "SELECT count(*) FROM entries"), 4);
    store_db_close(db);
    tu_node_close(&a);
}

static void
meta_round_trip(void **state)
{
    tu_fixture *f = *state;
    char *path = tu_path(f->dir, STORE_DB_FILE);
    store_db *db;
    char buf[64];
    int len = -1;

    OK(store_db_open(path, STORE_OPEN_CREATE, &db));
    EXPECT(OP_E_NOTFOUND, store_db_meta_get(db, "name", buf, sizeof buf, &len));
    assert_int_equal(len, 0);

    OK(store_db_meta_put_text(db, "name", "Ada Lovelace"));
    OK(store_db_meta_get(db, "name", buf, sizeof buf, &len));
    assert_string_equal(buf, "Ada Lovelace");
    assert_int_equal(len, 12);
    /* Text is truncated to n-1 and stays terminated. */
    OK(store_db_meta_get(db, "name", buf, 4, &len));
    assert_string_equal(buf, "Ada");
    assert_int_equal(len, 3);
    /* Replace. */
    OK(store_db_meta_put_text(db, "name", "Grace"));
    OK(store_db_meta_get(db, "name", buf, sizeof buf, NULL));
    assert_string_equal(buf, "Grace");

    uint8_t key[32], back[32] = {0};
    randombytes_buf(key, sizeof key);
    OK(store_db_meta_put_blob(db, "office_key", key, sizeof key));
    OK(store_db_meta_get(db, "office_key", back, sizeof back, &len));
    assert_int_equal(len, 32);
    assert_memory_equal(back, key, 32);
    /* A blob longer than the buffer is cut to the buffer. */
    uint8_t small[8] = {0};
    OK(store_db_meta_get(db, "office_key", small, sizeof small, &len));
    assert_int_equal(len, 8);
    assert_memory_equal(small, key, 8);
    store_db_close(db);

    /* Persisted. */
    OK(store_db_open(path, 0, &db));
    OK(store_db_meta_get(db, "name", buf, sizeof buf, NULL));
    assert_string_equal(buf, "Grace");
    store_db_close(db);
    free(path);
}

static void
author_ids_are_stable(void **state)
{
    tu_fixture *f = *state;
    char *path = tu_path(f->dir, STORE_DB_FILE);
    store_db *db;
    uint8_t k1[32], k2[32];
    int64_t a, b, c;

    randombytes_buf(k1, sizeof k1);
    randombytes_buf(k2, sizeof k2);
    OK(store_db_open(path, STORE_OPEN_CREATE, &db));
    OK(store_db_begin(db, false));
    OK(store_db_author_id(db, k1, &a));
    OK(store_db_author_id(db, k2, &b));
    OK(store_db_author_id(db, k1, &c));
    OK(store_db_commit(db));
    assert_true(a > 0 && b > 0);
    assert_int_not_equal(a, b);
    assert_int_equal(a, c);
    assert_int_equal(tu_int(db, "SELECT count(*) FROM authors"), 2);
    assert_int_equal(tu_int(db, "SELECT count(*) FROM authors WHERE head_seq = 0"), 2);
    store_db_close(db);
    free(path);
}

static void
transactions_commit_and_roll_back(void **state)
{
    tu_fixture *f = *state;
    char *path = tu_path(f->dir, STORE_DB_FILE);
    store_db *db;

    OK(store_db_open(path, STORE_OPEN_CREATE, &db));
    store_db_rollback(db); /* none open: harmless */

    OK(store_db_begin(db, false));
    assert_int_equal(tu_int(db, "PRAGMA synchronous"), 1); /* NORMAL for ingest */
    OK(store_db_meta_put_text(db, "k", "rolled back"));
    store_db_rollback(db);
    char buf[32];
    EXPECT(OP_E_NOTFOUND, store_db_meta_get(db, "k", buf, sizeof buf, NULL));

    OK(store_db_begin(db, true));
    assert_int_equal(tu_int(db, "PRAGMA synchronous"), 2); /* FULL for local writes */
    OK(store_db_meta_put_text(db, "k", "kept"));
    OK(store_db_commit(db));
    OK(store_db_meta_get(db, "k", buf, sizeof buf, NULL));
    assert_string_equal(buf, "kept");

    /* BEGIN inside a transaction is refused, not nested silently. */
    OK(store_db_begin(db, true));
    assert_int_not_equal(store_db_begin(db, true), OP_OK);
    store_db_rollback(db);

    /* A statement that violates a constraint maps to OP_E_EXISTS. */
    uint8_t k[32] = {1};
    int64_t id;
    OK(store_db_author_id(db, k, &id));
    sqlite3_stmt *st;
    OK(store_db_stmt(db, "INSERT INTO authors(key) VALUES(?)", &st));
    sqlite3_bind_blob(st, 1, k, 32, SQLITE_STATIC);
    EXPECT(OP_E_EXISTS, store_db_code(sqlite3_step(st)));
    sqlite3_reset(st);

    /* Bad SQL is an error and says why. */
    assert_int_not_equal(store_db_exec(db, "SELEKT nonsense"), OP_OK);
    assert_non_null(strstr(store_db_errmsg(db), "syntax"));
    store_db_close(db);
    free(path);
}

static void
busy_database_is_busy(void **state)
{
    tu_fixture *f = *state;
    char *path = tu_path(f->dir, STORE_DB_FILE);
    store_db *db;
    sqlite3 *other;

    OK(store_db_open(path, STORE_OPEN_CREATE, &db));
    assert_int_equal(sqlite3_open_v2(path, &other, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_exec(other, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_busy_timeout(store_db_handle(db), 50); /* not the 5 s of production */
    EXPECT(OP_E_BUSY, store_db_begin(db, true));
    /* Reads still work while another process writes (WAL). */
    assert_int_equal(tu_int(db, "SELECT count(*) FROM entries"), 0);
    assert_int_equal(sqlite3_exec(other, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
    OK(store_db_begin(db, true));
    OK(store_db_commit(db));
    sqlite3_close(other);
    store_db_close(db);
    free(path);
}

static void
statement_cache(void **state)
{
    tu_fixture *f = *state;
    char *path = tu_path(f->dir, STORE_DB_FILE);
    store_db *db;
    sqlite3_stmt *a, *b;
    char sql[80];

    OK(store_db_open(path, STORE_OPEN_CREATE, &db));
    OK(store_db_stmt(db, "SELECT ?1 + 1", &a));
    sqlite3_bind_int(a, 1, 41);
    assert_int_equal(sqlite3_step(a), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(a, 0), 42);
    /* Same text, other buffer: the same statement, reset and unbound. */
    snprintf(sql, sizeof sql, "SELECT ?1 + %d", 1);
    OK(store_db_stmt(db, sql, &b));
    assert_ptr_equal(a, b);
    assert_int_equal(sqlite3_step(b), SQLITE_ROW);
    assert_int_equal(sqlite3_column_type(b, 0), SQLITE_NULL); /* NULL + 1: unbound */
    sqlite3_reset(b);

    /* Many more distinct statements than the cache holds: all still work (eviction). */
    char texts[100][32];
    for (int i = 0; i < 100; i++) {
        sqlite3_stmt *st;
        snprintf(texts[i], sizeof texts[i], "SELECT %d", i);
        OK(store_db_stmt(db, texts[i], &st));
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        assert_int_equal(sqlite3_column_int(st, 0), i);
        sqlite3_reset(st);
    }
    /* Bad SQL: a code, no statement. */
    sqlite3_stmt *bad = (sqlite3_stmt *)&bad;
    assert_int_not_equal(store_db_stmt(db, "SELECT FROM WHERE", &bad), OP_OK);
    assert_null(bad);
    store_db_close(db);
    free(path);
}

/*
 * store_db_stmt keeps the caller's sql pointer as the cache key and matches on pointer equality
 * first. db.h does not say the text must outlive the connection, so a caller that builds SQL in
 * a heap or stack buffer gets a dangling key: a later, different statement whose buffer lands
 * at the same address is answered with the old statement (plain build), or strcmp reads freed
 * memory (ASan).
 */
static void
stmt_with_dynamic_sql_child(void *arg)
{
    store_db *db;
    sqlite3_stmt *st;
    if (store_db_open(arg, 0, &db) != OP_OK)
        _exit(4);
    char *a = strdup("SELECT 1");
    if (store_db_stmt(db, a, &st) != OP_OK)
        _exit(2);
    free(a);
    char *b = strdup("SELECT 2");
    if (store_db_stmt(db, b, &st) != OP_OK || sqlite3_step(st) != SQLITE_ROW)
        _exit(3);
    int v = sqlite3_column_int(st, 0);
    sqlite3_reset(st);
    free(b);
    store_db_close(db);
    if (v != 2) {
        fprintf(stderr, "store_db_stmt(\"SELECT 2\") ran a cached \"SELECT %d\"\n", v);
        _exit(1);
    }
}

static void
statement_cache_does_not_keep_callers_text(void **state)
{
    tu_fixture *f = *state;
    char *path = tu_path(f->dir, STORE_DB_FILE);
    store_db *db;
    OK(store_db_open(path, STORE_OPEN_CREATE, &db));
    store_db_close(db);
    tu_in_child("statement cache with heap SQL", stmt_with_dynamic_sql_child, path);
    free(path);
}

static void
sqlite_codes_translate(void **state)
{
    (void)state;
    assert_int_equal(store_db_code(SQLITE_OK), OP_OK);
    assert_int_equal(store_db_code(SQLITE_DONE), OP_OK);
    assert_int_equal(store_db_code(SQLITE_ROW), OP_OK);
    assert_int_equal(store_db_code(SQLITE_NOMEM), OP_E_NOMEM);
    assert_int_equal(store_db_code(SQLITE_BUSY), OP_E_BUSY);
    assert_int_equal(store_db_code(SQLITE_BUSY_SNAPSHOT), OP_E_BUSY);
    assert_int_equal(store_db_code(SQLITE_LOCKED), OP_E_BUSY);
    assert_int_equal(store_db_code(SQLITE_FULL), OP_E_DISK_FULL);
    assert_int_equal(store_db_code(SQLITE_CORRUPT), OP_E_CORRUPT);
    assert_int_equal(store_db_code(SQLITE_NOTADB), OP_E_CORRUPT);
    assert_int_equal(store_db_code(SQLITE_CANTOPEN), OP_E_IO); /* never "absent" */
    assert_int_equal(store_db_code(SQLITE_CANTOPEN_ISDIR), OP_E_IO);
    assert_int_equal(store_db_code(SQLITE_CONSTRAINT_UNIQUE), OP_E_EXISTS);
    assert_int_equal(store_db_code(SQLITE_TOOBIG), OP_E_TOOBIG);
    assert_int_equal(store_db_code(SQLITE_IOERR_FSYNC), OP_E_IO);
    assert_int_equal(store_db_code(SQLITE_ERROR), OP_E_IO);
}

static void
disk_full_is_disk_full(void **state)
{
    tu_fixture *f = *state;
    tu_node a;
    tu_node_open(&a, f->dir, "a");
    OK(tu_checkin(&a, "before", T0, NULL));
    int64_t pages = tu_int(a.db, "PRAGMA page_count");
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA max_page_count = %lld", (long long)pages);
    OK(store_db_exec(a.db, sql));
    /* A check-in that needs new pages cannot be stored: a clear code, nothing half-stored. */
    char big[PROTO_TEXT_MAX_BYTES + 1];
    memset(big, 'x', PROTO_TEXT_MAX_BYTES);
    big[PROTO_TEXT_MAX_BYTES] = '\0';
    op_err r = OP_OK;
    for (int i = 0; i < 8 && r == OP_OK; i++)
        r = tu_checkin(&a, big, T0 + 1 + (uint64_t)i, NULL);
    EXPECT(OP_E_DISK_FULL, r);
    int64_t n = tu_int(a.db, "SELECT count(*) FROM entries");
    assert_int_equal(tu_int(a.db, "SELECT head_seq FROM authors"), n);
    assert_int_equal(tu_int(a.db, "SELECT count(*) FROM checkins"), n - 1);
    /* Space again: writing works again. */
    OK(store_db_exec(a.db, "PRAGMA max_page_count = 1000000"));
    OK(tu_checkin(&a, "after", T0 + 100, NULL));
    store_verified v;
    OK(store_verify(a.db, NULL, &v));
    assert_int_equal(v.problems, 0);
    tu_node_close(&a);
}

/*
 * Two processes opening a brand-new database at once (say `outpost init` and an agent started
 * right after it): both read user_version 0 before either takes the write lock, then both try
 * to migrate; the second runs the 0 -> 1 script on a migrated file ("table meta already
 * exists") and fails with OP_E_IO. Both opens must succeed.
 *
 * A third process holds the write lock while the two reach BEGIN IMMEDIATE, so both are sure
 * to have read version 0 first. No SQLite connection is open in this process across fork():
 * a child would inherit SQLite's in-process lock bookkeeping and wait on it forever.
 */
static void
concurrent_first_open_both_succeed(void **state)
{
    tu_fixture *f = *state;
    char *path = tu_path(f->dir, STORE_DB_FILE);
    int ready[2];
    pid_t locker, kids[2];

    assert_int_equal(pipe(ready), 0);
    fflush(stdout);
    fflush(stderr);
    locker = fork();
    assert_true(locker >= 0);
    if (locker == 0) {
        sqlite3 *h;
        int ok = sqlite3_open_v2(path, &h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) ==
                     SQLITE_OK &&
                 /* A WAL file of schema version 0 (the table makes SQLite write the WAL header;
                  * an empty file would still be in rollback mode). */
                 sqlite3_exec(h,
                              "PRAGMA journal_mode=WAL; CREATE TABLE placeholder(x);"
                              "BEGIN IMMEDIATE;",
                              NULL, NULL, NULL) == SQLITE_OK;
        if (write(ready[1], ok ? "y" : "n", 1) != 1)
            _exit(2);
        usleep(500 * 1000); /* both openers are now waiting on the lock */
        ok = ok && sqlite3_exec(h, "COMMIT", NULL, NULL, NULL) == SQLITE_OK;
        sqlite3_close(h);
        _exit(ok ? 0 : 1);
    }
    char c = 0;
    assert_int_equal(read(ready[0], &c, 1), 1);
    assert_int_equal(c, 'y');
    close(ready[0]);
    close(ready[1]);
    for (int i = 0; i < 2; i++) {
        kids[i] = fork();
        assert_true(kids[i] >= 0);
        if (kids[i] == 0) {
            store_db *db;
            op_err r = store_db_open(path, STORE_OPEN_CREATE, &db);
            if (r != OP_OK)
                fprintf(stderr, "opener %d: store_db_open = %s\n", i, op_errname(r));
            store_db_close(db);
            _exit(r == OP_OK ? 0 : 1);
        }
    }
    int status, failed = 0;
    assert_int_equal(waitpid(locker, &status, 0), locker);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(waitpid(kids[i], &status, 0), kids[i]);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            failed++;
    }
    assert_int_equal(failed, 0);
    /* And the file is a good store afterwards. */
    store_db *db;
    OK(store_db_open(path, 0, &db));
    assert_int_equal(tu_int(db, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
    store_db_close(db);
    free(path);
}

/* A path that exists but cannot be opened as a database file (a directory) is an I/O error,
 * never "not found" (callers take that for "absent, create it"): with a directory part, as a
 * bare name in the working directory, and the root. */
static void
directory_as_database_is_io(void **state)
{
    tu_fixture *f = *state;
    char *sub = tu_path(f->dir, "sub"), cwd[PATH_MAX];
    store_db *db = (store_db *)&db;
    assert_int_equal(mkdir(sub, 0700), 0);
    EXPECT(OP_E_IO, store_db_open(sub, STORE_OPEN_CREATE, &db));
    assert_null(db);
    assert_non_null(getcwd(cwd, sizeof cwd));
    assert_int_equal(chdir(f->dir), 0);
    op_err r = store_db_open("sub", STORE_OPEN_CREATE, &db);
    assert_int_equal(chdir(cwd), 0);
    EXPECT(OP_E_IO, r);
    assert_null(db);
    EXPECT(OP_E_IO, store_db_open("/", STORE_OPEN_CREATE, &db));
    assert_null(db);
    free(sub);
}

int
main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(create_sets_schema_and_pragmas, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(open_missing_without_create_is_notfound, tu_setup,
                                        tu_teardown),
        cmocka_unit_test_setup_teardown(open_newer_version_is_refused, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(refused_newer_file_is_not_modified, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(open_not_a_database_is_corrupt, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(migrates_an_old_empty_database, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(readonly_open_reads, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(meta_round_trip, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(author_ids_are_stable, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(transactions_commit_and_roll_back, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(busy_database_is_busy, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(statement_cache, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(statement_cache_does_not_keep_callers_text, tu_setup,
                                        tu_teardown),
        cmocka_unit_test(sqlite_codes_translate),
        cmocka_unit_test_setup_teardown(disk_full_is_disk_full, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(concurrent_first_open_both_succeed, tu_setup, tu_teardown),
        cmocka_unit_test_setup_teardown(directory_as_database_is_io, tu_setup, tu_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
