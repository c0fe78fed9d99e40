/*
 * store_test_util.h — shared fixtures for the store unit tests: a fresh temporary directory per
 * test (mkdtemp under /tmp, removed afterwards), a "node" (identity + database + reader) in it,
 * and small helpers for check-ins, counting rows with raw SQLite and copying runs between
 * nodes. Header-only, so each test file stays one executable (STYLE §7).
 *
 * Include after <cmocka.h> (it uses cmocka's assert macros).
 */
#ifndef OUTPOST_TESTS_STORE_TEST_UTIL_H
#define OUTPOST_TESTS_STORE_TEST_UTIL_H

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store/db.h"
#include "store/keyfile.h"
#include "store/log.h"
#include "store/reader.h"
#include "store/verify.h"

/* A fixed wall clock for tests: 2025-11-24T16:00:00Z in ms. */
#define T0 1764000000000ull

/* Asserts that an op_err call returned OP_OK, printing the code's name when it did not. */
#define OK(e)                                                                                      \
    do {                                                                                           \
        op_err ok_r_ = (e);                                                                        \
        if (ok_r_ != OP_OK)                                                                        \
            fail_msg("%s = %s (%d)", #e, op_errname(ok_r_), (int)ok_r_);                           \
    } while (0)
#define EXPECT(want, e)                                                                            \
    do {                                                                                           \
        op_err ex_r_ = (e);                                                                        \
        if (ex_r_ != (want))                                                                       \
            fail_msg("%s = %s (%d), want %s", #e, op_errname(ex_r_), (int)ex_r_,                   \
                     op_errname(want));                                                            \
    } while (0)

/* ---- temporary directories ---- */

static inline void
tu_rm_rf(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        if (d) {
            struct dirent *de;
            while ((de = readdir(d)) != NULL) {
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                    continue;
                char sub[PATH_MAX];
                int k = snprintf(sub, sizeof sub, "%s/%s", path, de->d_name);
                if (k > 0 && (size_t)k < sizeof sub)
                    tu_rm_rf(sub);
            }
            closedir(d);
        }
        rmdir(path);
    } else {
        unlink(path);
    }
}

/* A fresh directory under /tmp; returns a malloc'd path. */
static inline char *
tu_tmpdir(void)
{
    char *d = strdup("/tmp/outpost-store-test-XXXXXX");
    assert_non_null(d);
    assert_non_null(mkdtemp(d));
    return d;
}

static inline char *
tu_path(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    assert_non_null(p);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

/* Per-test state: a temporary directory, removed in teardown. */
typedef struct tu_fixture {
    char *dir;
} tu_fixture;

static inline int
tu_setup(void **state)
{
    tu_fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    f->dir = tu_tmpdir();
    *state = f;
    return 0;
}

static inline int
tu_teardown(void **state)
{
    tu_fixture *f = *state;
    if (f) {
        tu_rm_rf(f->dir);
        free(f->dir);
        free(f);
    }
    return 0;
}

/* ---- nodes ---- */

typedef struct tu_node {
    char *dir;  /* owned: a subdirectory of the fixture's */
    char *path; /* the database file */
    store_identity *id;
    store_reader *rd;
    store_db *db;
} tu_node;

/*
 * Opens (creating) a node in parent/name. If reader_id is given the reader uses that identity
 * instead of the node's own (a node that holds someone else's key); if copy_identity_from is
 * given, that node's identity file is copied in first (a second device with the same key).
 */
static inline void
tu_node_open_ex(tu_node *n, const char *parent, const char *name, const tu_node *copy_identity_from,
                const store_identity *reader_id)
{
    memset(n, 0, sizeof *n);
    n->dir = tu_path(parent, name);
    if (mkdir(n->dir, 0700) != 0)
        assert_int_equal(access(n->dir, F_OK), 0); /* reopening an existing node */
    if (copy_identity_from) {
        char *src = tu_path(copy_identity_from->dir, STORE_IDENTITY_FILE);
        uint8_t sk[PROTO_SECRET_BYTES];
        OK(store_keyfile_read(src, sk, sizeof sk));
        char *dst = tu_path(n->dir, STORE_IDENTITY_FILE);
        OK(store_keyfile_write(dst, sk, sizeof sk));
        sodium_memzero(sk, sizeof sk);
        free(src);
        free(dst);
    }
    op_err r = store_identity_load(n->dir, &n->id);
    if (r == OP_E_NOTFOUND)
        r = store_identity_create(n->dir, &n->id);
    OK(r);
    n->path = tu_path(n->dir, STORE_DB_FILE);
    OK(store_db_open(n->path, STORE_OPEN_CREATE, &n->db));
    OK(store_reader_new(reader_id ? reader_id : n->id, &n->rd));
}

static inline void
tu_node_open(tu_node *n, const char *parent, const char *name)
{
    tu_node_open_ex(n, parent, name, NULL, NULL);
}

/* Closes the database and reader but keeps dir, path and identity (for reopening). */
static inline void
tu_node_close_db(tu_node *n)
{
    store_reader_free(n->rd);
    n->rd = NULL;
    store_db_close(n->db);
    n->db = NULL;
}

static inline void
tu_node_reopen_db(tu_node *n)
{
    OK(store_db_open(n->path, 0, &n->db));
    OK(store_reader_new(n->id, &n->rd));
}

static inline void
tu_node_close(tu_node *n)
{
    tu_node_close_db(n);
    store_identity_free(n->id);
    free(n->dir);
    free(n->path);
    memset(n, 0, sizeof *n);
}

/* ---- entries ---- */

/* Appends a check-in with the given note (and fixed answers) at ts. */
static inline op_err
tu_checkin(tu_node *n, const char *note, uint64_t ts, store_appended *out)
{
    proto_body b;
    store_appended ignored;
    proto_body_init(&b, PROTO_KIND_CHECKIN);
    b.delivering = PROTO_YES;
    b.thriving = PROTO_NO;
    b.support = PROTO_YES;
    b.energy = 4;
    b.note = (char *)note; /* borrowed: not fini'd */
    b.site = (char *)"Aarhus";
    return store_log_append(n->db, n->rd, n->id, &b, ts, out ? out : &ignored);
}

/* Appends k check-ins "<prefix><i>" at ts, ts+1, ... */
static inline void
tu_checkins(tu_node *n, const char *prefix, int k, uint64_t ts)
{
    for (int i = 0; i < k; i++) {
        char note[64];
        snprintf(note, sizeof note, "%s%d", prefix, i);
        OK(tu_checkin(n, note, ts + (uint64_t)i, NULL));
    }
}

/* ---- raw SQLite ---- */

/* The single integer a query returns (fails the test on anything else). */
static inline int64_t
tu_int(store_db *db, const char *sql)
{
    sqlite3_stmt *st;
    int64_t v = -1;
    if (sqlite3_prepare_v2(store_db_handle(db), sql, -1, &st, NULL) != SQLITE_OK)
        fail_msg("prepare %s: %s", sql, sqlite3_errmsg(store_db_handle(db)));
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    else
        fail_msg("no row from %s", sql);
    sqlite3_finalize(st);
    return v;
}

/* Runs sql on a separate raw connection to the file (as another process would). */
static inline void
tu_raw_exec(const char *path, const char *sql)
{
    sqlite3 *h = NULL;
    char *err = NULL;
    assert_int_equal(sqlite3_open_v2(path, &h, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    if (sqlite3_exec(h, sql, NULL, NULL, &err) != SQLITE_OK)
        fail_msg("%s: %s", sql, err ? err : "?");
    sqlite3_close(h);
}

/* ---- runs ---- */

/* Copies `from`'s log of author (seq from.., up to max) into `to`; returns ingest's code. */
static inline op_err
tu_copy(tu_node *from, tu_node *to, const uint8_t author[PROTO_KEY_BYTES], uint64_t seq, size_t max,
        store_ingested *ing, size_t *bad)
{
    store_run run;
    store_ingested ignored;
    op_err r = store_log_read(from->db, author, seq, max, &run);
    if (r != OP_OK)
        return r;
    if (run.n == 0) {
        store_run_free(&run);
        return OP_E_NOTFOUND;
    }
    r = store_log_ingest(to->db, to->rd, run.items, run.n, T0 + 999, ing ? ing : &ignored, bad);
    store_run_free(&run);
    return r;
}

/* The held head of author in n's have-vector (0 if absent). */
static inline uint64_t
tu_head(tu_node *n, const uint8_t author[PROTO_KEY_BYTES])
{
    store_head *v;
    size_t len;
    uint64_t seq = 0;
    OK(store_log_have(n->db, &v, &len));
    for (size_t i = 0; i < len; i++)
        if (memcmp(v[i].author, author, PROTO_KEY_BYTES) == 0)
            seq = v[i].seq;
    free(v);
    return seq;
}

/* ---- isolation ---- */

/*
 * Runs fn(arg) in a child process and fails the test unless the child exits 0. Tests that pin a
 * known crash (a NULL dereference, an ASan report) use it so the rest of the file still runs.
 * fn must not use cmocka's asserts (a failure would unwind into the child's copy of the runner):
 * it reports with fprintf and _exit(1). Nor may it use a database connection opened before the
 * fork (SQLite forbids it): it opens its own.
 */
static inline void
tu_in_child(const char *what, void (*fn)(void *), void *arg)
{
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        fn(arg);
        _exit(0);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (WIFSIGNALED(status))
        fail_msg("%s: child killed by signal %d", what, WTERMSIG(status));
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("%s: child exited with status %d", what, WEXITSTATUS(status));
}

#endif
