/*
 * verify_test.c — store/verify.c: a clean store verifies with no problems; each kind of damage
 * made with raw SQLite on the file (a flipped byte in an envelope or a body, a wrong stored
 * hash, a deleted entry, a wrong head) and a flipped byte in the database file itself is
 * reported, with the right code, through the problem callback; so is a stored ts, epoch or
 * author column, or a recorded head, that disagrees with the signed envelopes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "store_test_util.h"

#define MAX_PROBLEMS 64

typedef struct problem {
    uint8_t author[32];
    uint64_t seq;
    op_err e;
    char what[96];
} problem;

typedef struct collected {
    problem p[MAX_PROBLEMS];
    size_t n;
    uint64_t progress_calls, last_done, last_total;
} collected;

static void
on_problem(void *ctx, const uint8_t author[PROTO_KEY_BYTES], uint64_t seq, op_err e,
           const char *what)
{
    collected *c = ctx;
    assert_non_null(what);
    if (c->n < MAX_PROBLEMS) {
        /* author is NULL for a problem of the database as a whole: recorded as zeros. */
        if (author)
            memcpy(c->p[c->n].author, author, 32);
        else
            memset(c->p[c->n].author, 0, 32);
        c->p[c->n].seq = seq;
        c->p[c->n].e = e;
        snprintf(c->p[c->n].what, sizeof c->p[c->n].what, "%s", what);
    }
    c->n++;
}

static void
on_progress(void *ctx, uint64_t done, uint64_t total)
{
    collected *c = ctx;
    c->progress_calls++;
    c->last_done = done;
    c->last_total = total;
}

/* Verifies n's store; returns the problems found (also checks the count agrees). */
static store_verified
run_verify(tu_node *n, collected *c)
{
    store_verify_cb cb = {c, on_problem, on_progress};
    store_verified v;
    memset(c, 0, sizeof *c);
    OK(store_verify(n->db, &cb, &v));
    assert_int_equal(v.problems, c->n);
    return v;
}

static bool
has(const collected *c, const uint8_t *author, uint64_t seq, op_err e)
{
    for (size_t i = 0; i < c->n && i < MAX_PROBLEMS; i++)
        if (c->p[i].e == e && (seq == UINT64_MAX || c->p[i].seq == seq) &&
            (!author || memcmp(c->p[i].author, author, 32) == 0))
            return true;
    return false;
}

static void
dump(const collected *c)
{
    for (size_t i = 0; i < c->n && i < MAX_PROBLEMS; i++)
        print_message("  problem: seq %llu %s: %s\n", (unsigned long long)c->p[i].seq,
                      op_errname(c->p[i].e), c->p[i].what);
}

#define EXPECT_PROBLEM(c, author, seq, e)                                                          \
    do {                                                                                           \
        if (!has(c, author, seq, e)) {                                                             \
            dump(c);                                                                               \
            fail_msg("no %s problem at seq %llu", op_errname(e), (unsigned long long)(seq));       \
        }                                                                                          \
    } while (0)

/*
 * Rewrites one blob column of (author, seq) through a separate raw connection, as damage from
 * outside the program would: flips byte `at` (negative: from the end) of it.
 */
static void
raw_flip(tu_node *n, const uint8_t author[32], uint64_t seq, const char *col, long at)
{
    sqlite3 *h;
    sqlite3_stmt *st;
    char sql[200];
    assert_int_equal(sqlite3_open_v2(n->path, &h, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    snprintf(sql, sizeof sql,
             "SELECT e.%s, e.id FROM entries e JOIN authors a ON e.author = a.id"
             " WHERE a.key = ? AND e.seq = ?",
             col);
    assert_int_equal(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK);
    sqlite3_bind_blob(st, 1, author, 32, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (int64_t)seq);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int len = sqlite3_column_bytes(st, 0);
    assert_true(len > 0);
    uint8_t *b = malloc((size_t)len);
    assert_non_null(b);
    memcpy(b, sqlite3_column_blob(st, 0), (size_t)len);
    int64_t id = sqlite3_column_int64(st, 1);
    sqlite3_finalize(st);
    long i = at < 0 ? len + at : at;
    assert_true(i >= 0 && i < len);
    b[i] ^= 0x01;
    snprintf(sql, sizeof sql, "UPDATE entries SET %s = ? WHERE id = ?", col);
    assert_int_equal(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK);
    sqlite3_bind_blob(st, 1, b, len, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, id);
    assert_int_equal(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);
    sqlite3_close(h);
    free(b);
}

/* Two authors: A's own log of 6 entries; B holding A's log and its own 3 entries. */
typedef struct world {
    tu_node a, b;
} world;

static void
make_world(world *w, const char *dir)
{
    tu_node_open(&w->a, dir, "a");
    tu_node_open(&w->b, dir, "b");
    tu_checkins(&w->a, "a", 5, T0); /* seq 1..6 */
    tu_checkins(&w->b, "b", 2, T0); /* seq 1..3 */
    OK(tu_copy(&w->a, &w->b, w->a.id->pk, 1, 100, NULL, NULL));
}

static void
free_world(world *w)
{
    tu_node_close(&w->b);
    tu_node_close(&w->a);
}

static void
clean_store_has_no_problems(void **state)
{
    tu_fixture *f = *state;
    collected c;
    world w;

    /* Empty. */
    tu_node e;
    tu_node_open(&e, f->dir, "empty");
    store_verified v = run_verify(&e, &c);
    assert_int_equal(v.problems, 0);
    assert_int_equal(v.authors, 0);
    assert_int_equal(v.entries, 0);
    tu_node_close(&e);

    make_world(&w, f->dir);
    v = run_verify(&w.b, &c);
    assert_int_equal(v.problems, 0);
    assert_int_equal(v.authors, 2);
    assert_int_equal(v.entries, 9);
    assert_int_equal(v.bodies, 9);
    assert_true(c.progress_calls >= 1);
    assert_int_equal(c.last_done, 9);
    assert_int_equal(c.last_total, 9);
    v = run_verify(&w.a, &c);
    assert_int_equal(v.problems, 0);
    assert_int_equal(v.entries, 6);

    /* No callbacks at all is fine too. */
    OK(store_verify(w.b.db, NULL, &v));
    assert_int_equal(v.problems, 0);
    store_verify_cb none = {0};
    OK(store_verify(w.b.db, &none, &v));
    assert_int_equal(v.problems, 0);

    /* Bodies that are not held (erased) are not problems. */
    tu_raw_exec(w.b.path, "UPDATE entries SET body = NULL WHERE seq = 2");
    v = run_verify(&w.b, &c);
    assert_int_equal(v.problems, 0);
    assert_int_equal(v.bodies, 7);
    free_world(&w);
}

static void
flipped_signature_byte(void **state)
{
    tu_fixture *f = *state;
    collected c;
    world w;
    make_world(&w, f->dir);
    raw_flip(&w.b, w.a.id->pk, 3, "envelope", -1); /* last byte: inside the signature */
    store_verified v = run_verify(&w.b, &c);
    assert_true(v.problems > 0);
    EXPECT_PROBLEM(&c, w.a.id->pk, 3, OP_E_AUTH);    /* the signature */
    EXPECT_PROBLEM(&c, w.a.id->pk, 3, OP_E_CORRUPT); /* the stored hash no longer matches */
    EXPECT_PROBLEM(&c, w.a.id->pk, 4, OP_E_CHAIN);   /* seq 4 links the original */
    /* B's own log is still checked and clean. */
    assert_false(has(&c, w.b.id->pk, UINT64_MAX, OP_E_AUTH));
    assert_false(has(&c, w.b.id->pk, UINT64_MAX, OP_E_CHAIN));
    assert_int_equal(v.authors, 2);
    free_world(&w);
}

static void
flipped_envelope_field_bytes(void **state)
{
    tu_fixture *f = *state;
    collected c;
    world w;
    make_world(&w, f->dir);

    /* Layout: 0x99, 0x01, 0xc4 0x20 author[32], seq, ... The author field's first byte: the
     * entry is no longer A's. */
    raw_flip(&w.b, w.a.id->pk, 2, "envelope", 4);
    store_verified v = run_verify(&w.b, &c);
    assert_true(v.problems > 0);
    EXPECT_PROBLEM(&c, w.a.id->pk, 2, OP_E_AUTHOR);
    raw_flip(&w.b, w.a.id->pk, 2, "envelope", 4); /* undo */
    v = run_verify(&w.b, &c);
    assert_int_equal(v.problems, 0);

    /* The array header: the envelope no longer decodes. */
    raw_flip(&w.b, w.a.id->pk, 5, "envelope", 0);
    v = run_verify(&w.b, &c);
    assert_true(v.problems > 0);
    assert_true(c.p[0].seq == 5 && c.p[0].e != OP_OK);
    raw_flip(&w.b, w.a.id->pk, 5, "envelope", 0);

    /* A byte of the body hash (signed): the signature fails, and so does the link after. */
    raw_flip(&w.b, w.a.id->pk, 6, "envelope", -70);
    v = run_verify(&w.b, &c);
    assert_true(v.problems > 0);
    EXPECT_PROBLEM(&c, w.a.id->pk, 6, OP_E_AUTH);
    free_world(&w);
}

static void
flipped_body_byte(void **state)
{
    tu_fixture *f = *state;
    collected c;
    world w;
    make_world(&w, f->dir);
    raw_flip(&w.b, w.a.id->pk, 4, "body", 30); /* a check-in's ciphertext */
    store_verified v = run_verify(&w.b, &c);
    assert_int_equal(v.problems, 1);
    EXPECT_PROBLEM(&c, w.a.id->pk, 4, OP_E_BODYHASH);

    raw_flip(&w.b, w.b.id->pk, 1, "body", 5); /* a key entry's plaintext */
    v = run_verify(&w.b, &c);
    assert_int_equal(v.problems, 2);
    EXPECT_PROBLEM(&c, w.b.id->pk, 1, OP_E_BODYHASH);
    free_world(&w);
}

static void
changed_stored_hash(void **state)
{
    tu_fixture *f = *state;
    collected c;
    world w;
    make_world(&w, f->dir);
    tu_raw_exec(w.b.path, "UPDATE entries SET hash = zeroblob(32) WHERE seq = 3 AND author ="
                          " (SELECT min(id) FROM authors WHERE head_seq = 6)");
    store_verified v = run_verify(&w.b, &c);
    assert_int_equal(v.problems, 1);
    EXPECT_PROBLEM(&c, w.a.id->pk, 3, OP_E_CORRUPT);

    /* A hash of the wrong length. */
    tu_raw_exec(w.b.path, "UPDATE entries SET hash = x'00' WHERE seq = 2");
    v = run_verify(&w.b, &c);
    assert_int_equal(v.problems, 3);
    EXPECT_PROBLEM(&c, w.a.id->pk, 2, OP_E_CORRUPT);
    EXPECT_PROBLEM(&c, w.b.id->pk, 2, OP_E_CORRUPT);
    free_world(&w);
}

static void
deleted_middle_entry(void **state)
{
    tu_fixture *f = *state;
    collected c;
    world w;
    make_world(&w, f->dir);
    tu_raw_exec(w.b.path, "DELETE FROM entries WHERE seq = 3 AND author ="
                          " (SELECT id FROM authors WHERE head_seq = 6)");
    store_verified v = run_verify(&w.b, &c);
    assert_true(v.problems > 0);
    EXPECT_PROBLEM(&c, w.a.id->pk, 3, OP_E_GAP);
    assert_false(has(&c, w.b.id->pk, UINT64_MAX, OP_E_GAP));
    free_world(&w);
}

static void
deleted_last_entry_and_wrong_head(void **state)
{
    tu_fixture *f = *state;
    collected c;
    world w;
    make_world(&w, f->dir);
    /* The last entry gone: the log is contiguous, but shorter than the recorded head. */
    tu_raw_exec(w.a.path, "DELETE FROM entries WHERE seq = 6");
    store_verified v = run_verify(&w.a, &c);
    assert_int_equal(v.problems, 1);
    EXPECT_PROBLEM(&c, w.a.id->pk, 6, OP_E_CORRUPT);

    /* A head hash that is not the last entry's. */
    tu_raw_exec(w.b.path, "UPDATE authors SET head_hash = zeroblob(32) WHERE head_seq = 3");
    v = run_verify(&w.b, &c);
    assert_int_equal(v.problems, 1);
    EXPECT_PROBLEM(&c, w.b.id->pk, 3, OP_E_CORRUPT);
    free_world(&w);
}

static void
entry_filed_under_another_author(void **state)
{
    tu_fixture *f = *state;
    collected c;
    world w;
    make_world(&w, f->dir);
    /* B's seq 2 replaced by A's seq 2 (same seq, valid on its own). */
    tu_raw_exec(w.b.path,
                "UPDATE entries SET envelope = (SELECT e2.envelope FROM entries e2 JOIN authors a2"
                " ON e2.author = a2.id WHERE a2.head_seq = 6 AND e2.seq = 2)"
                " WHERE seq = 2 AND author = (SELECT id FROM authors WHERE head_seq = 3)");
    store_verified v = run_verify(&w.b, &c);
    assert_true(v.problems > 0);
    EXPECT_PROBLEM(&c, w.b.id->pk, 2, OP_E_AUTHOR);
    free_world(&w);
}

/*
 * Damage below SQLite: after a clean close (the WAL checkpointed into the file), one byte of
 * an envelope is flipped in the database file itself. Either the open or the verify notices.
 */
static long
find_in_file(const uint8_t *file, long n, const uint8_t *needle, size_t m, long from)
{
    for (long i = from; i + (long)m <= n; i++)
        if (memcmp(file + i, needle, m) == 0)
            return i;
    return -1;
}

static uint8_t *
slurp(const char *path, long *n)
{
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    assert_int_equal(fseek(fp, 0, SEEK_END), 0);
    *n = ftell(fp);
    assert_true(*n > 0);
    rewind(fp);
    uint8_t *b = malloc((size_t)*n);
    assert_non_null(b);
    assert_int_equal(fread(b, 1, (size_t)*n, fp), (size_t)*n);
    fclose(fp);
    return b;
}

static void
spill(const char *path, const uint8_t *b, long n)
{
    FILE *fp = fopen(path, "r+b");
    assert_non_null(fp);
    assert_int_equal(fwrite(b, 1, (size_t)n, fp), (size_t)n);
    assert_int_equal(fclose(fp), 0);
}

/* Reopens n's file and returns whether the damage was noticed (open or verify). */
static bool
noticed(tu_node *n, collected *c)
{
    store_db *db = NULL;
    op_err r = store_db_open(n->path, 0, &db);
    if (r != OP_OK) {
        assert_int_equal(r, OP_E_CORRUPT);
        print_message("  noticed by store_db_open: %s\n", op_errname(r));
        return true;
    }
    store_verify_cb cb = {c, on_problem, NULL};
    store_verified v;
    memset(c, 0, sizeof *c);
    r = store_verify(db, &cb, &v);
    store_db_close(db);
    if (r != OP_OK)
        print_message("  noticed by store_verify: %s\n", op_errname(r));
    else if (v.problems > 0)
        print_message("  noticed by store_verify: %llu problems, first %s: %s\n",
                      (unsigned long long)v.problems, op_errname(c->p[0].e), c->p[0].what);
    return r != OP_OK || v.problems > 0;
}

static void
checkpoint_and_close(tu_node *n)
{
    OK(store_db_exec(n->db, "PRAGMA wal_checkpoint(TRUNCATE)"));
    tu_node_close_db(n);
    char *wal = tu_path(n->dir, STORE_DB_FILE "-wal");
    struct stat st;
    assert_true(stat(wal, &st) != 0 || st.st_size == 0); /* everything is in the main file */
    free(wal);
}

static void
flipped_byte_in_database_file(void **state)
{
    tu_fixture *f = *state;
    collected c;
    world w;
    make_world(&w, f->dir);

    size_t el;
    store_run run;
    OK(store_log_read(w.b.db, w.a.id->pk, 4, 1, &run));
    assert_int_equal(run.n, 1);
    el = run.items[0].env_len;
    uint8_t *env = malloc(el);
    assert_non_null(env);
    memcpy(env, run.items[0].env, el);
    store_run_free(&run);
    checkpoint_and_close(&w.b);

    long n;
    uint8_t *file = slurp(w.b.path, &n);
    long at = find_in_file(file, n, env, el, 0);
    assert_true(at > 0); /* the entries' page holds the envelope's exact bytes */
    int hits = 0;
    for (; at >= 0; at = find_in_file(file, n, env, el, at + 1), hits++)
        file[at + (long)el / 2] ^= 0x10; /* a byte of the prev hash */
    assert_true(hits >= 1);
    spill(w.b.path, file, n);
    free(file);
    free(env);

    assert_true(noticed(&w.b, &c));
    free_world(&w);
}

static void
damaged_page_header_in_database_file(void **state)
{
    tu_fixture *f = *state;
    collected c;
    world w;
    make_world(&w, f->dir);
    int64_t root = tu_int(w.b.db, "SELECT rootpage FROM sqlite_master WHERE name = 'entries'");
    int64_t psize = tu_int(w.b.db, "PRAGMA page_size");
    int64_t pages = tu_int(w.b.db, "PRAGMA page_count");
    assert_true(root > 1 && root <= pages);
    checkpoint_and_close(&w.b);

    long n;
    uint8_t *file = slurp(w.b.path, &n);
    assert_int_equal(n, pages * psize);
    long off = (long)((root - 1) * psize);
    /* The b-tree page's cell count (bytes 3-4 of its header) now claims far more cells. */
    file[off + 3] ^= 0x7f;
    spill(w.b.path, file, n);
    free(file);
    assert_true(noticed(&w.b, &c));
    free_world(&w);
}

/* The columns queries use (ts, epoch, author) and the recorded head must say what the signed
 * envelopes say: each disagreement, made on a fresh node of 3 check-ins (seqs 1..4), is
 * reported with its code at its seq, and nothing else is. An author known only by key (no
 * entries, head 0: the target of an erase or a receipt) is no problem. */
static void
columns_and_head_must_match_the_envelopes(void **state)
{
    tu_fixture *f = *state;
    static const struct {
        const char *sql;
        uint64_t seq;
        op_err e;
    } cases[] = {
        {"UPDATE entries SET ts = ts + 1 WHERE seq = 2", 2, OP_E_CORRUPT},
        {"UPDATE entries SET epoch = epoch + 1 WHERE seq = 3", 3, OP_E_CORRUPT},
        {"UPDATE entries SET author = author + 1000 WHERE seq = 2", 2, OP_E_AUTHOR},
        /* seq 2's row holding seq 3's envelope (its id and seq columns are seq 2's) */
        {"UPDATE entries SET envelope = (SELECT envelope FROM entries WHERE seq = 3)"
         " WHERE seq = 2",
         2, OP_E_AUTHOR},
        {"UPDATE authors SET head_hash = NULL", 4, OP_E_CORRUPT},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        char name[16];
        tu_node n;
        collected c;
        snprintf(name, sizeof name, "n%zu", k);
        tu_node_open(&n, f->dir, name);
        tu_checkins(&n, "c", 3, T0);
        uint8_t stranger[32];
        int64_t sid;
        randombytes_buf(stranger, sizeof stranger);
        OK(store_db_author_id(n.db, stranger, &sid)); /* known by key only */
        store_verified v = run_verify(&n, &c);
        assert_int_equal(v.problems, 0);
        assert_int_equal(v.authors, 2);
        tu_raw_exec(n.path, cases[k].sql);
        run_verify(&n, &c);
        if (c.n != 1 || !has(&c, n.id->pk, cases[k].seq, cases[k].e)) {
            dump(&c);
            fail_msg("%s: want one %s at seq %llu", cases[k].sql, op_errname(cases[k].e),
                     (unsigned long long)cases[k].seq);
        }
        tu_node_close(&n);
    }
}

int
main(void)
{
    if (sodium_init() < 0)
        return 1;
#define T(fn) cmocka_unit_test_setup_teardown(fn, tu_setup, tu_teardown)
    const struct CMUnitTest tests[] = {
        T(clean_store_has_no_problems),
        T(flipped_signature_byte),
        T(flipped_envelope_field_bytes),
        T(flipped_body_byte),
        T(changed_stored_hash),
        T(deleted_middle_entry),
        T(deleted_last_entry_and_wrong_head),
        T(entry_filed_under_another_author),
        T(flipped_byte_in_database_file),
        T(damaged_page_header_in_database_file),
        T(columns_and_head_must_match_the_envelopes),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
