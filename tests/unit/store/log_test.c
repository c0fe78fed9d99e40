/*
 * log_test.c — store/log.c: appending own entries (epoch keys, projections), ingesting runs of
 * others (idempotence, overlap, gaps, forks, broken chains, bad bodies, all or nothing), the
 * have-vector and reading runs back out; seqs past STORE_SEQ_MAX refused both ways; a key
 * entry under a non-zero epoch never used; the kinds every holder must read stored in
 * plaintext; feedback to a key no epoch key can be sealed to refused whole. Two or more real
 * stores per test, in a fresh temporary directory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <stdint.h>

#include "proto/seal.h"
#include "proto/time.h"
#include "store/view.h"
#include "store_test_util.h"

/* ---- helpers ---- */

/* memmem is a GNU extension; the build is POSIX. */
static const void *
find_bytes(const void *hay, size_t n, const void *needle, size_t m)
{
    const uint8_t *h = hay;
    for (size_t i = 0; m <= n && i <= n - m; i++)
        if (memcmp(h + i, needle, m) == 0)
            return h + i;
    return NULL;
}

/* The blob column `col` of the entry (author of node n, seq): a malloc'd copy and its length. */
static uint8_t *
entry_blob(store_db *db, const uint8_t author[32], uint64_t seq, const char *col, size_t *len)
{
    char sql[160];
    sqlite3_stmt *st;
    uint8_t *out = NULL;
    snprintf(sql, sizeof sql,
             "SELECT e.%s FROM entries e JOIN authors a ON e.author = a.id"
             " WHERE a.key = ? AND e.seq = ?",
             col);
    assert_int_equal(sqlite3_prepare_v2(store_db_handle(db), sql, -1, &st, NULL), SQLITE_OK);
    sqlite3_bind_blob(st, 1, author, 32, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (int64_t)seq);
    *len = 0;
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) == SQLITE_BLOB) {
        *len = (size_t)sqlite3_column_bytes(st, 0);
        out = malloc(*len ? *len : 1);
        assert_non_null(out);
        memcpy(out, sqlite3_column_blob(st, 0), *len);
    }
    sqlite3_finalize(st);
    return out;
}

static proto_envelope
entry_env(store_db *db, const uint8_t author[32], uint64_t seq)
{
    size_t n;
    proto_envelope e;
    uint8_t *p = entry_blob(db, author, seq, "envelope", &n);
    assert_non_null(p);
    OK(proto_envelope_decode(p, n, &e));
    free(p);
    return e;
}

static int64_t
count(tu_node *n, const char *sql)
{
    return tu_int(n->db, sql);
}

static void
assert_clean(tu_node *n)
{
    store_verified v;
    OK(store_verify(n->db, NULL, &v));
    assert_int_equal(v.problems, 0);
}

/* Replaces item k's body with a private copy whose byte `at` is flipped; returns the copy. */
static uint8_t *
flip_body(store_run *run, size_t k, size_t at)
{
    uint8_t *b = malloc(run->items[k].body_len);
    assert_non_null(b);
    memcpy(b, run->items[k].body, run->items[k].body_len);
    b[at % run->items[k].body_len] ^= 0x20;
    run->items[k].body = b;
    return b;
}

static uint8_t *
flip_env(store_run *run, size_t k, size_t at)
{
    uint8_t *b = malloc(run->items[k].env_len);
    assert_non_null(b);
    memcpy(b, run->items[k].env, run->items[k].env_len);
    b[at % run->items[k].env_len] ^= 0x01;
    run->items[k].env = b;
    return b;
}

/* ---- append ---- */

static void
first_append_writes_key_entry_then_checkin(void **state)
{
    tu_fixture *f = *state;
    tu_node a;
    store_appended ap;
    tu_node_open(&a, f->dir, "a");

    OK(tu_checkin(&a, "first day on site", T0, &ap));
    assert_int_equal(ap.seq, 2);
    assert_int_equal(count(&a, "SELECT count(*) FROM entries"), 2);

    /* seq 1: the key entry, plaintext (epoch 0), kind 8. */
    proto_envelope k = entry_env(a.db, a.id->pk, 1);
    assert_int_equal(k.kind, PROTO_KIND_KEY);
    assert_int_equal(k.epoch, 0);
    assert_int_equal(k.ts, T0);
    assert_memory_equal(k.author, a.id->pk, 32);
    static const uint8_t zero[32];
    assert_memory_equal(k.prev, zero, 32);
    size_t kl;
    uint8_t *kbody = entry_blob(a.db, a.id->pk, 1, "body", &kl);
    assert_non_null(kbody);
    uint8_t h[32];
    proto_hash(kbody, kl, h);
    assert_memory_equal(h, k.body_hash, 32);
    proto_body kb;
    OK(proto_body_decode(PROTO_KIND_KEY, kbody, kl, &kb));
    assert_int_equal(kb.epoch, 1);
    assert_int_equal(kb.n_sealed, 1); /* no office key: sealed to this node only */
    assert_memory_equal(kb.sealed[0].reader, a.id->pk, 32);
    uint8_t ekey[PROTO_EPOCH_KEY_BYTES];
    OK(proto_open_epoch_key(a.id->sk, kb.sealed[0].box, ekey));
    proto_body_fini(&kb);
    free(kbody);

    /* seq 2: the check-in under epoch 1, linked to seq 1, its body ciphertext. */
    proto_envelope c = entry_env(a.db, a.id->pk, 2);
    assert_int_equal(c.kind, PROTO_KIND_CHECKIN);
    assert_int_equal(c.epoch, 1);
    assert_int_equal(c.seq, 2);
    size_t el;
    uint8_t *env1 = entry_blob(a.db, a.id->pk, 1, "envelope", &el);
    proto_hash(env1, el, h);
    assert_memory_equal(c.prev, h, 32);
    free(env1);
    uint8_t *env2 = entry_blob(a.db, a.id->pk, 2, "envelope", &el);
    proto_hash(env2, el, h);
    assert_memory_equal(ap.hash, h, 32); /* the returned hash is the entry's hash */
    assert_int_equal(OP_OK, proto_envelope_verify_sig(&c, env2, el));
    free(env2);
    size_t bl;
    uint8_t *body = entry_blob(a.db, a.id->pk, 2, "body", &bl);
    assert_non_null(body);
    assert_null(find_bytes(body, bl, "first day", 9)); /* not stored in the clear */
    uint8_t plain[512];
    size_t pl;
    OK(proto_open_body(ekey, a.id->pk, 2, PROTO_KIND_CHECKIN, body, bl, plain, sizeof plain, &pl));
    assert_non_null(find_bytes(plain, pl, "first day on site", 17));
    free(body);

    /* Head, key_entries and the check-in projection. */
    assert_int_equal(count(&a, "SELECT head_seq FROM authors"), 2);
    sqlite3_stmt *st;
    assert_int_equal(
        sqlite3_prepare_v2(store_db_handle(a.db), "SELECT head_hash FROM authors", -1, &st, NULL),
        SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_memory_equal(sqlite3_column_blob(st, 0), ap.hash, 32);
    sqlite3_finalize(st);
    assert_int_equal(count(&a, "SELECT count(*) FROM key_entries WHERE epoch = 1 AND seq = 1"), 1);
    assert_int_equal(count(&a, "SELECT count(*) FROM checkins"), 1);
    assert_int_equal(sqlite3_prepare_v2(store_db_handle(a.db),
                                        "SELECT seq, ts, delivering, thriving, support, energy,"
                                        " note, blockers, wins, site, id FROM checkins",
                                        -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int64(st, 0), 2);
    assert_int_equal(sqlite3_column_int64(st, 1), (int64_t)T0);
    assert_int_equal(sqlite3_column_int(st, 2), 1);
    assert_int_equal(sqlite3_column_int(st, 3), 0);
    assert_int_equal(sqlite3_column_int(st, 4), 1);
    assert_int_equal(sqlite3_column_int(st, 5), 4);
    assert_string_equal((const char *)sqlite3_column_text(st, 6), "first day on site");
    assert_int_equal(sqlite3_column_type(st, 7), SQLITE_NULL);
    assert_int_equal(sqlite3_column_type(st, 8), SQLITE_NULL);
    assert_string_equal((const char *)sqlite3_column_text(st, 9), "Aarhus");
    sqlite3_finalize(st);
    assert_int_equal(count(&a, "SELECT count(*) FROM checkins c JOIN authors a ON c.author = a.id"
                               " WHERE c.id = (a.id << 32) | 2"),
                     1);
    sodium_memzero(ekey, sizeof ekey);
    assert_clean(&a);
    tu_node_close(&a);
}

static void
second_append_reuses_epoch(void **state)
{
    tu_fixture *f = *state;
    tu_node a;
    store_appended ap;
    tu_node_open(&a, f->dir, "a");
    OK(tu_checkin(&a, "one", T0, &ap));
    assert_int_equal(ap.seq, 2);
    OK(tu_checkin(&a, "two", T0 + 3600 * 1000, &ap));
    assert_int_equal(ap.seq, 3);
    /* Exactly at the maximum age the epoch is still current. */
    OK(tu_checkin(&a, "three", T0 + STORE_EPOCH_MAX_AGE_MS, &ap));
    assert_int_equal(ap.seq, 4);
    assert_int_equal(count(&a, "SELECT count(*) FROM entries WHERE kind = 8"), 1);
    assert_int_equal(count(&a, "SELECT count(*) FROM entries WHERE kind = 1 AND epoch = 1"), 3);
    assert_int_equal(count(&a, "SELECT count(*) FROM checkins"), 3);
    assert_int_equal(count(&a, "SELECT head_seq FROM authors"), 4);
    assert_clean(&a);

    /* The epoch key survives a restart: a new reader finds it in the log, no new epoch. */
    tu_node_close_db(&a);
    tu_node_reopen_db(&a);
    OK(tu_checkin(&a, "after restart", T0 + 7200 * 1000, &ap));
    assert_int_equal(ap.seq, 5);
    assert_int_equal(count(&a, "SELECT count(*) FROM entries WHERE kind = 8"), 1);
    assert_int_equal(count(&a, "SELECT epoch FROM entries WHERE seq = 5"), 1);
    assert_int_equal(count(&a, "SELECT count(*) FROM checkins WHERE note = 'after restart'"), 1);
    tu_node_close(&a);
}

/* TESTING B7 / T6: the clock set back by up to PROTO_TIME_TOLERANCE_MS keeps the epoch (no key
 * entry per clock fix); set back further, a new epoch starts (an epoch begun under a clock far
 * ahead must not outlive its maximum age by that much). */
static void
epoch_tolerates_a_clock_set_back(void **state)
{
    tu_fixture *f = *state;
    tu_node a;
    store_appended ap;
    tu_node_open(&a, f->dir, "a");
    OK(tu_checkin(&a, "epoch begins", T0, &ap)); /* seq 1 key, seq 2 check-in */
    OK(tu_checkin(&a, "288 s back", T0 - 288 * 1000, &ap));
    OK(tu_checkin(&a, "at the tolerance", T0 - PROTO_TIME_TOLERANCE_MS, &ap));
    assert_int_equal(ap.seq, 4);
    assert_int_equal(count(&a, "SELECT count(*) FROM entries WHERE kind = 8"), 1);
    assert_int_equal(count(&a, "SELECT count(*) FROM entries WHERE kind = 1 AND epoch = 1"), 3);
    /* One ms further back: a new epoch (seq 5 its key entry), then kept from there on. */
    OK(tu_checkin(&a, "beyond", T0 - PROTO_TIME_TOLERANCE_MS - 1, &ap));
    assert_int_equal(ap.seq, 6);
    assert_int_equal(count(&a, "SELECT epoch FROM entries WHERE seq = 6"), 2);
    OK(tu_checkin(&a, "a day behind", T0 - 86400 * 1000, &ap));
    assert_int_equal(ap.seq, 8); /* a day back from the new epoch: another one (seq 7) */
    OK(tu_checkin(&a, "then steady", T0 - 86400 * 1000 + 5000, &ap));
    assert_int_equal(ap.seq, 9);
    assert_int_equal(count(&a, "SELECT count(*) FROM entries WHERE kind = 8"), 3);
    /* The log is in seq order whatever the times: seqs 1..9, all projected. */
    assert_int_equal(count(&a, "SELECT count(*) FROM checkins"), 6);
    assert_int_equal(count(&a, "SELECT head_seq FROM authors"), 9);
    assert_clean(&a);
    tu_node_close(&a);
}

static void
epoch_rotates_after_max_age(void **state)
{
    tu_fixture *f = *state;
    tu_node a, c;
    store_appended ap;
    tu_node_open(&a, f->dir, "a");
    OK(tu_checkin(&a, "old epoch", T0, &ap));
    uint64_t later = T0 + STORE_EPOCH_MAX_AGE_MS + 1;
    OK(tu_checkin(&a, "new epoch", later, &ap));
    /* seq 3 is a new key entry (epoch 2), seq 4 the check-in under it. */
    assert_int_equal(ap.seq, 4);
    proto_envelope k = entry_env(a.db, a.id->pk, 3);
    assert_int_equal(k.kind, PROTO_KIND_KEY);
    assert_int_equal(k.epoch, 0);
    assert_int_equal(k.ts, later);
    proto_envelope e = entry_env(a.db, a.id->pk, 4);
    assert_int_equal(e.kind, PROTO_KIND_CHECKIN);
    assert_int_equal(e.epoch, 2);
    assert_int_equal(count(&a, "SELECT count(*) FROM key_entries"), 2);
    assert_int_equal(count(&a, "SELECT seq FROM key_entries WHERE epoch = 2"), 3);
    OK(tu_checkin(&a, "still new", later + 1000, &ap));
    assert_int_equal(ap.seq, 5);
    assert_int_equal(count(&a, "SELECT epoch FROM entries WHERE seq = 5"), 2);
    assert_clean(&a);

    /* A copy of the node's key reads both epochs from the replicated log. */
    tu_node_open_ex(&c, f->dir, "c", NULL, a.id);
    OK(tu_copy(&a, &c, a.id->pk, 1, 100, NULL, NULL));
    assert_int_equal(count(&c, "SELECT count(*) FROM checkins"), 3);
    assert_int_equal(count(&c, "SELECT count(*) FROM checkins WHERE note = 'old epoch'"), 1);
    assert_int_equal(count(&c, "SELECT count(*) FROM checkins WHERE note = 'still new'"), 1);
    tu_node_close(&c);
    tu_node_close(&a);
}

static void
clock_going_back_still_appends(void **state)
{
    tu_fixture *f = *state;
    tu_node a;
    store_appended ap;
    tu_node_open(&a, f->dir, "a");
    OK(tu_checkin(&a, "now", T0, &ap));
    OK(tu_checkin(&a, "an hour earlier", T0 - 3600 * 1000, &ap));
    assert_true(ap.seq >= 3);
    assert_int_equal(count(&a, "SELECT count(*) FROM checkins"), 2);
    assert_clean(&a);
    tu_node_close(&a);
}

static void
kpi_projections(void **state)
{
    tu_fixture *f = *state;
    tu_node a;
    store_appended ap;
    proto_body b;
    uint8_t for_key[32];
    randombytes_buf(for_key, sizeof for_key);
    tu_node_open(&a, f->dir, "a");

    proto_body_init(&b, PROTO_KIND_KPI_DEF);
    b.id = (char *)"email-4h";
    b.title = (char *)"Answer customer e-mails within 4 hours";
    b.unit = (char *)"%";
    b.target = 90;
    b.direction = (char *)"at_least";
    b.period = (char *)"week";
    b.has_for = true;
    memcpy(b.for_key, for_key, 32);
    OK(store_log_append(a.db, a.rd, a.id, &b, T0, &ap));
    assert_int_equal(ap.seq, 2);

    /* Defaults fill in direction and period. */
    proto_body_init(&b, PROTO_KIND_KPI_DEF);
    b.id = (char *)"articles";
    b.target = 3;
    OK(store_log_append(a.db, a.rd, a.id, &b, T0 + 1, &ap));
    assert_int_equal(ap.seq, 3);

    proto_body_init(&b, PROTO_KIND_KPI_VALUE);
    b.id = (char *)"email-4h";
    b.value = 93.5;
    b.at = (char *)"2025-11-24";
    b.note = (char *)"good week";
    OK(store_log_append(a.db, a.rd, a.id, &b, T0 + 2, &ap));
    assert_int_equal(ap.seq, 4);

    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(store_db_handle(a.db),
                                        "SELECT seq, ts, title, unit, target, direction, period,"
                                        " for_key FROM kpi_defs WHERE kpi = 'email-4h'",
                                        -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int64(st, 0), 2);
    assert_int_equal(sqlite3_column_int64(st, 1), (int64_t)T0);
    assert_string_equal((const char *)sqlite3_column_text(st, 2),
                        "Answer customer e-mails within 4 hours");
    assert_string_equal((const char *)sqlite3_column_text(st, 3), "%");
    assert_true(sqlite3_column_double(st, 4) == 90.0);
    assert_string_equal((const char *)sqlite3_column_text(st, 5), "at_least");
    assert_string_equal((const char *)sqlite3_column_text(st, 6), "week");
    assert_int_equal(sqlite3_column_bytes(st, 7), 32);
    assert_memory_equal(sqlite3_column_blob(st, 7), for_key, 32);
    assert_int_equal(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);

    assert_int_equal(sqlite3_prepare_v2(store_db_handle(a.db),
                                        "SELECT target, direction, period, for_key IS NULL"
                                        " FROM kpi_defs WHERE kpi = 'articles'",
                                        -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_true(sqlite3_column_double(st, 0) == 3.0);
    assert_string_equal((const char *)sqlite3_column_text(st, 1), "at_least");
    assert_string_equal((const char *)sqlite3_column_text(st, 2), "week");
    assert_int_equal(sqlite3_column_int(st, 3), 1);
    sqlite3_finalize(st);

    assert_int_equal(sqlite3_prepare_v2(store_db_handle(a.db),
                                        "SELECT seq, kpi, value, at, note FROM kpi_values", -1, &st,
                                        NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int64(st, 0), 4);
    assert_string_equal((const char *)sqlite3_column_text(st, 1), "email-4h");
    assert_true(sqlite3_column_double(st, 2) == 93.5);
    assert_string_equal((const char *)sqlite3_column_text(st, 3), "2025-11-24");
    assert_string_equal((const char *)sqlite3_column_text(st, 4), "good week");
    assert_int_equal(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);
    assert_int_equal(count(&a, "SELECT count(*) FROM checkins"), 0);
    assert_clean(&a);
    tu_node_close(&a);
}

static void
invalid_appends_store_nothing(void **state)
{
    tu_fixture *f = *state;
    tu_node a;
    store_appended ap;
    proto_body b;
    tu_node_open(&a, f->dir, "a");

    /* Key entries are made by the store itself. */
    proto_body_init(&b, PROTO_KIND_KEY);
    b.epoch = 1;
    memset(&ap, 0xee, sizeof ap);
    EXPECT(OP_E_INVAL, store_log_append(a.db, a.rd, a.id, &b, T0, &ap));
    assert_int_equal(ap.seq, 0);

    /* Values out of range, kinds this version cannot write, text over its cap. */
    proto_body_init(&b, PROTO_KIND_CHECKIN);
    b.energy = 6;
    EXPECT(OP_E_INVAL, store_log_append(a.db, a.rd, a.id, &b, T0, &ap));
    proto_body_init(&b, PROTO_KIND_FEEDBACK);
    EXPECT(OP_E_INVAL, store_log_append(a.db, a.rd, a.id, &b, T0, &ap));
    proto_body_init(&b, PROTO_KIND_KPI_VALUE);
    b.id = (char *)"Not A Slug";
    b.value = 1;
    b.at = (char *)"2025-11-24";
    EXPECT(OP_E_INVAL, store_log_append(a.db, a.rd, a.id, &b, T0, &ap));
    b.id = (char *)"ok";
    b.at = (char *)"2025-02-30";
    EXPECT(OP_E_INVAL, store_log_append(a.db, a.rd, a.id, &b, T0, &ap));
    char big[PROTO_TEXT_MAX_BYTES + 2];
    memset(big, 'n', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    EXPECT(OP_E_TOOBIG, tu_checkin(&a, big, T0, &ap));

    assert_int_equal(count(&a, "SELECT count(*) FROM entries"), 0);
    assert_int_equal(count(&a, "SELECT count(*) FROM authors"), 0);
    assert_int_equal(count(&a, "SELECT count(*) FROM key_entries"), 0);

    /* The largest note that fits is fine. */
    big[PROTO_TEXT_MAX_BYTES] = '\0';
    OK(tu_checkin(&a, big, T0, &ap));
    assert_int_equal(ap.seq, 2);
    assert_clean(&a);
    tu_node_close(&a);
}

static void
busy_append_stores_nothing(void **state)
{
    tu_fixture *f = *state;
    tu_node a;
    store_appended ap;
    sqlite3 *other;
    tu_node_open(&a, f->dir, "a");
    OK(tu_checkin(&a, "one", T0, &ap));

    assert_int_equal(sqlite3_open_v2(a.path, &other, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_exec(other, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_busy_timeout(store_db_handle(a.db), 20);
    EXPECT(OP_E_BUSY, tu_checkin(&a, "two", T0 + 1, &ap));
    assert_int_equal(ap.seq, 0);
    assert_int_equal(sqlite3_exec(other, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(other);

    OK(tu_checkin(&a, "two", T0 + 1, &ap));
    assert_int_equal(ap.seq, 3);
    assert_int_equal(count(&a, "SELECT count(*) FROM checkins"), 2);
    assert_clean(&a);
    tu_node_close(&a);
}

/* Workers seal their epoch keys to the office too, so the office reads what a relay cannot. */
static void
office_key_is_a_reader(void **state)
{
    tu_fixture *f = *state;
    tu_node w, o, r;
    tu_node_open(&w, f->dir, "worker");
    tu_node_open(&o, f->dir, "office");
    tu_node_open(&r, f->dir, "relay");
    OK(store_db_meta_put_blob(w.db, "office_key", o.id->pk, 32));
    tu_checkins(&w, "w", 3, T0);

    size_t kl;
    uint8_t *kbody = entry_blob(w.db, w.id->pk, 1, "body", &kl);
    proto_body kb;
    OK(proto_body_decode(PROTO_KIND_KEY, kbody, kl, &kb));
    assert_int_equal(kb.n_sealed, 2);
    assert_memory_equal(kb.sealed[0].reader, w.id->pk, 32);
    assert_memory_equal(kb.sealed[1].reader, o.id->pk, 32);
    proto_body_fini(&kb);
    free(kbody);

    OK(tu_copy(&w, &o, w.id->pk, 1, 100, NULL, NULL));
    OK(tu_copy(&w, &r, w.id->pk, 1, 100, NULL, NULL));
    assert_int_equal(count(&o, "SELECT count(*) FROM checkins"), 3);
    assert_int_equal(count(&o, "SELECT count(*) FROM checkins WHERE note = 'w2'"), 1);
    assert_int_equal(count(&r, "SELECT count(*) FROM entries"), 4);
    assert_int_equal(count(&r, "SELECT count(*) FROM checkins"), 0);

    /* The office's own key as office_key is not sealed twice. */
    OK(store_db_meta_put_blob(o.db, "office_key", o.id->pk, 32));
    OK(tu_checkin(&o, "office note", T0, NULL));
    kbody = entry_blob(o.db, o.id->pk, 1, "body", &kl);
    OK(proto_body_decode(PROTO_KIND_KEY, kbody, kl, &kb));
    assert_int_equal(kb.n_sealed, 1);
    proto_body_fini(&kb);
    free(kbody);
    tu_node_close(&r);
    tu_node_close(&o);
    tu_node_close(&w);
}

/* Feedback is sealed to its addressee too, under an epoch of its own: the addressee and the
 * office read it, another member does not, and the author's other records stay closed to the
 * addressee. Regular entries keep their epoch across it (no key entry per feedback). */
static void
feedback_sealed_to_addressee_only(void **state)
{
    tu_fixture *f = *state;
    tu_node o, ann, ben;
    store_appended fb1, fb2, later;
    tu_node_open(&o, f->dir, "office");
    tu_node_open(&ann, f->dir, "ann");
    tu_node_open(&ben, f->dir, "ben");
    OK(store_db_meta_put_blob(o.db, "office_key", o.id->pk, 32));
    OK(store_db_meta_put_blob(ann.db, "office_key", o.id->pk, 32));
    OK(store_db_meta_put_blob(ben.db, "office_key", o.id->pk, 32));
    OK(tu_checkin(&o, "office private", T0, NULL)); /* seq 1 key, 2 check-in: epoch 1 */

    proto_body b;
    proto_body_init(&b, PROTO_KIND_FEEDBACK);
    memcpy(b.who, ann.id->pk, 32);
    b.has_who = true;
    b.text = strdup("well done, Ann");
    OK(store_log_append_to(o.db, o.rd, o.id, &b, ann.id->pk, T0 + 1, &fb1)); /* 3 key, 4 */
    free(b.text);
    b.text = strdup("and again");
    OK(store_log_append_to(o.db, o.rd, o.id, &b, ann.id->pk, T0 + 2, &fb2)); /* same epoch: 5 */
    proto_body_fini(&b);
    assert_int_equal(fb1.seq, 4);
    assert_int_equal(fb2.seq, 5);
    OK(tu_checkin(&o, "office private 2", T0 + 3, &later)); /* back to epoch 1: seq 6 */
    assert_int_equal(later.seq, 6);
    assert_int_equal(entry_env(o.db, o.id->pk, 6).epoch, 1);
    assert_int_equal(entry_env(o.db, o.id->pk, 4).epoch, 2);
    assert_int_equal(entry_env(o.db, o.id->pk, 5).epoch, 2);
    assert_int_equal(count(&o, "SELECT count(*) FROM feedback"), 2);

    OK(tu_copy(&o, &ann, o.id->pk, 1, 100, NULL, NULL));
    OK(tu_copy(&o, &ben, o.id->pk, 1, 100, NULL, NULL));
    assert_int_equal(count(&ann, "SELECT count(*) FROM feedback WHERE text = 'well done, Ann'"), 1);
    assert_int_equal(count(&ann, "SELECT count(*) FROM feedback"), 2);
    assert_int_equal(count(&ann, "SELECT count(*) FROM checkins"), 0); /* the office's own */
    assert_int_equal(count(&ben, "SELECT count(*) FROM feedback"), 0);
    assert_int_equal(count(&ben, "SELECT count(*) FROM checkins"), 0);
    assert_int_equal(count(&ben, "SELECT count(*) FROM entries"), 6); /* held, not read */
    assert_clean(&ben);
    tu_node_close(&ben);
    tu_node_close(&ann);
    tu_node_close(&o);
}

/* A store written by schema 2 kept its one epoch's reader tag in meta; schema 3 carries it
 * into own_epochs, so the first append after the upgrade goes on in the same epoch. */
static void
upgrade_from_schema_2_keeps_the_epoch(void **state)
{
    tu_fixture *f = *state;
    tu_node w;
    store_appended out;
    tu_node_open(&w, f->dir, "w");
    OK(store_db_meta_put_blob(w.db, "key", w.id->pk, 32)); /* as outpost init writes it */
    tu_checkins(&w, "before", 2, T0); /* 1 key, 2-3 check-ins, epoch 1 */
    tu_node_close_db(&w);
    /* Back to what schema 2 looked like. */
    tu_raw_exec(w.path, "INSERT INTO meta(k, v) SELECT 'epoch_readers', readers FROM own_epochs;"
                        "DROP TABLE own_epochs; DROP TABLE feedback; DROP TABLE inbox_read;"
                        "DROP TABLE contacts; ALTER TABLE kpi_defs DROP COLUMN aggregate;"
                        "DROP INDEX kpi_values_author; DROP INDEX entries_received;"
                        "DROP INDEX kpi_values_kpi_at; DROP INDEX entries_ahead;"
                        "CREATE INDEX kpi_values_kpi_at ON kpi_values(kpi, at);"
                        "DROP TRIGGER checkins_counted; DROP TRIGGER checkins_uncounted;"
                        "DROP TABLE checkin_counts; DROP TABLE refusals; DROP TABLE erased;"
                        "ALTER TABLE authors DROP COLUMN live_at;"
                        "PRAGMA user_version = 2;");
    tu_node_reopen_db(&w);
    assert_int_equal(tu_int(w.db, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
    assert_int_equal(count(&w, "SELECT count(*) FROM own_epochs WHERE epoch = 1"), 1);
    assert_int_equal(count(&w, "SELECT count(*) FROM meta WHERE k = 'epoch_readers'"), 0);
    OK(tu_checkin(&w, "after", T0 + 1, &out));
    assert_int_equal(out.seq, 4); /* no new key entry */
    assert_int_equal(entry_env(w.db, w.id->pk, 4).epoch, 1);
    assert_clean(&w);
    tu_node_close(&w);
}

/* ---- read ---- */

static void
read_returns_exact_bytes(void **state)
{
    tu_fixture *f = *state;
    tu_node a;
    store_run run;
    tu_node_open(&a, f->dir, "a");
    tu_checkins(&a, "r", 4, T0); /* seq 1..5 */

    OK(store_log_read(a.db, a.id->pk, 1, 100, &run));
    assert_int_equal(run.n, 5);
    for (size_t i = 0; i < run.n; i++) {
        size_t el, bl;
        uint8_t *env = entry_blob(a.db, a.id->pk, i + 1, "envelope", &el);
        uint8_t *body = entry_blob(a.db, a.id->pk, i + 1, "body", &bl);
        assert_int_equal(run.items[i].env_len, el);
        assert_memory_equal(run.items[i].env, env, el);
        assert_non_null(run.items[i].body);
        assert_int_equal(run.items[i].body_len, bl);
        assert_memory_equal(run.items[i].body, body, bl);
        free(env);
        free(body);
    }
    store_run_free(&run);
    assert_null(run.items);
    store_run_free(&run); /* twice is harmless */

    OK(store_log_read(a.db, a.id->pk, 3, 2, &run));
    assert_int_equal(run.n, 2);
    proto_envelope e;
    OK(proto_envelope_decode(run.items[0].env, run.items[0].env_len, &e));
    assert_int_equal(e.seq, 3);
    OK(proto_envelope_decode(run.items[1].env, run.items[1].env_len, &e));
    assert_int_equal(e.seq, 4);
    store_run_free(&run);

    OK(store_log_read(a.db, a.id->pk, 0, 1, &run)); /* from 0 is from the start */
    assert_int_equal(run.n, 1);
    store_run_free(&run);
    OK(store_log_read(a.db, a.id->pk, 6, 100, &run));
    assert_int_equal(run.n, 0);
    store_run_free(&run);
    OK(store_log_read(a.db, a.id->pk, 1, 0, &run));
    assert_int_equal(run.n, 0);
    store_run_free(&run);
    uint8_t stranger[32];
    randombytes_buf(stranger, sizeof stranger);
    OK(store_log_read(a.db, stranger, 1, 100, &run));
    assert_int_equal(run.n, 0);
    store_run_free(&run);

    /* A body that is not held (erased, or never received) reads as NULL, not empty. */
    tu_raw_exec(a.path, "UPDATE entries SET body = NULL WHERE seq = 3");
    OK(store_log_read(a.db, a.id->pk, 3, 1, &run));
    assert_int_equal(run.n, 1);
    assert_null(run.items[0].body);
    assert_int_equal(run.items[0].body_len, 0);
    store_run_free(&run);
    tu_node_close(&a);
}

/*
 * store_log_read allocates max * 4 * sizeof(size_t) bytes up front. With a large max that
 * product wraps, the buffer is tiny, and every row past the first overruns it.
 */
typedef struct read_ctx {
    tu_node *a;
    size_t max;
} read_ctx;

static void
read_huge_max_child(void *arg)
{
    read_ctx *c = arg;
    store_run run;
    store_db *db;
    if (store_db_open(c->a->path, 0, &db) != OP_OK)
        _exit(2);
    op_err r = store_log_read(db, c->a->id->pk, 1, c->max, &run);
    if (r == OP_OK && run.n != 5) {
        fprintf(stderr, "store_log_read(max=%zu) gave %zu entries, want 5\n", c->max, run.n);
        _exit(1);
    }
    if (r != OP_OK) {
        fprintf(stderr, "store_log_read(max=%zu) = %s, want OK with 5 entries\n", c->max,
                op_errname(r));
        _exit(1);
    }
    store_run_free(&run);
    store_db_close(db);
}

static void
read_with_max_size_max(void **state)
{
    tu_fixture *f = *state;
    tu_node a;
    tu_node_open(&a, f->dir, "a");
    tu_checkins(&a, "r", 4, T0); /* seq 1..5 */
    tu_node_close_db(&a);
    /* "Everything": the up-front allocation of SIZE_MAX * 32 bytes fails (OP_E_NOMEM in a
     * plain build, an allocation-size-too-big abort under ASan). */
    read_ctx all = {&a, SIZE_MAX};
    tu_in_child("store_log_read max=SIZE_MAX", read_huge_max_child, &all);
    tu_node_close(&a);
}

static void
read_with_max_wrapping_allocation(void **state)
{
    tu_fixture *f = *state;
    tu_node a;
    tu_node_open(&a, f->dir, "a");
    tu_checkins(&a, "r", 4, T0); /* seq 1..5 */
    tu_node_close_db(&a);
    /* max * 4 * sizeof(size_t) wraps to 96 bytes: room for 3 rows, and 5 are written. */
    read_ctx wrap = {&a, (SIZE_MAX / (4 * sizeof(size_t))) + 4};
    tu_in_child("store_log_read max wrapping the allocation", read_huge_max_child, &wrap);
    tu_node_close(&a);
}

/* ---- ingest ---- */

static void
ingest_run_and_redelivery(void **state)
{
    tu_fixture *f = *state;
    tu_node a, b;
    store_ingested ing;
    size_t bad = 99;
    tu_node_open(&a, f->dir, "a");
    tu_node_open(&b, f->dir, "b");
    tu_checkins(&a, "c", 3, T0); /* seq 1..4 */

    OK(tu_copy(&a, &b, a.id->pk, 1, 100, &ing, &bad));
    assert_int_equal(ing.stored, 4);
    assert_int_equal(ing.already, 0);
    assert_int_equal(count(&b, "SELECT count(*) FROM entries"), 4);
    assert_int_equal(count(&b, "SELECT received FROM entries WHERE seq = 4"), (int64_t)(T0 + 999));
    assert_int_equal(count(&b, "SELECT ts FROM entries WHERE seq = 4"), (int64_t)(T0 + 2));
    assert_int_equal(tu_head(&b, a.id->pk), 4);
    /* B holds A's exact bytes. */
    for (uint64_t s = 1; s <= 4; s++) {
        size_t la, lb;
        uint8_t *ea = entry_blob(a.db, a.id->pk, s, "envelope", &la);
        uint8_t *eb = entry_blob(b.db, a.id->pk, s, "envelope", &lb);
        assert_int_equal(la, lb);
        assert_memory_equal(ea, eb, la);
        free(ea);
        free(eb);
        ea = entry_blob(a.db, a.id->pk, s, "body", &la);
        eb = entry_blob(b.db, a.id->pk, s, "body", &lb);
        assert_int_equal(la, lb);
        assert_memory_equal(ea, eb, la);
        free(ea);
        free(eb);
    }
    /* B is not a reader: the check-ins are held, not projected; the key entry is known. */
    assert_int_equal(count(&b, "SELECT count(*) FROM checkins"), 0);
    assert_int_equal(count(&b, "SELECT count(*) FROM key_entries"), 1);
    assert_clean(&b);

    /* Re-delivery is a no-op that succeeds. */
    OK(tu_copy(&a, &b, a.id->pk, 1, 100, &ing, &bad));
    assert_int_equal(ing.stored, 0);
    assert_int_equal(ing.already, 4);
    assert_int_equal(count(&b, "SELECT count(*) FROM entries"), 4);
    assert_int_equal(count(&b, "SELECT count(*) FROM forks"), 0);
    OK(tu_copy(&a, &b, a.id->pk, 2, 2, &ing, NULL)); /* a held middle part */
    assert_int_equal(ing.stored, 0);
    assert_int_equal(ing.already, 2);

    /* Overlap: the held prefix is skipped, only the new suffix stored. */
    tu_checkins(&a, "d", 2, T0 + 100); /* seq 5..6 */
    OK(tu_copy(&a, &b, a.id->pk, 3, 100, &ing, &bad));
    assert_int_equal(ing.stored, 2);
    assert_int_equal(ing.already, 2);
    assert_int_equal(count(&b, "SELECT count(*) FROM entries"), 6);
    assert_int_equal(tu_head(&b, a.id->pk), 6);

    /* A run starting right after the head. */
    tu_checkins(&a, "e", 1, T0 + 200); /* seq 7 */
    OK(tu_copy(&a, &b, a.id->pk, 7, 100, &ing, &bad));
    assert_int_equal(ing.stored, 1);
    assert_int_equal(ing.already, 0);
    assert_int_equal(tu_head(&b, a.id->pk), 7);
    assert_clean(&b);

    /* An empty run is nothing to do. */
    ing.stored = 5;
    OK(store_log_ingest(b.db, b.rd, NULL, 0, T0, &ing, NULL));
    assert_int_equal(ing.stored, 0);
    tu_node_close(&b);
    tu_node_close(&a);
}

static void
ingest_gap_stores_nothing(void **state)
{
    tu_fixture *f = *state;
    tu_node a, b;
    store_ingested ing;
    size_t bad = 99;
    tu_node_open(&a, f->dir, "a");
    tu_node_open(&b, f->dir, "b");
    tu_checkins(&a, "g", 5, T0); /* seq 1..6 */

    /* An author B has never seen, from seq 2. */
    EXPECT(OP_E_GAP, tu_copy(&a, &b, a.id->pk, 2, 100, &ing, &bad));
    assert_int_equal(bad, 0);
    assert_int_equal(ing.stored, 0);
    assert_int_equal(count(&b, "SELECT count(*) FROM entries"), 0);
    assert_int_equal(count(&b, "SELECT count(*) FROM authors"), 0); /* rolled back too */

    OK(tu_copy(&a, &b, a.id->pk, 1, 3, &ing, &bad)); /* seq 1..3 */
    EXPECT(OP_E_GAP, tu_copy(&a, &b, a.id->pk, 5, 100, &ing, &bad));
    assert_int_equal(bad, 0);
    assert_int_equal(ing.stored, 0);
    assert_int_equal(ing.already, 0);
    assert_int_equal(count(&b, "SELECT count(*) FROM entries"), 3);
    assert_int_equal(tu_head(&b, a.id->pk), 3);
    /* And the gap closes normally. */
    OK(tu_copy(&a, &b, a.id->pk, 4, 100, &ing, &bad));
    assert_int_equal(ing.stored, 3);
    assert_clean(&b);
    tu_node_close(&b);
    tu_node_close(&a);
}

/* TESTING C16: once a key is revoked (its laptop may be in a thief's hands), nothing new is
 * sealed to it: feedback to it is OP_E_REVOKED, nothing is stored, and the epoch kept for the
 * readers that include it is never used again (the regular epoch never included it). */
static void
nothing_new_sealed_to_a_revoked_key(void **state)
{
    tu_fixture *f = *state;
    tu_node o, ann;
    store_appended fb;
    tu_node_open(&o, f->dir, "office");
    tu_node_open(&ann, f->dir, "ann");
    OK(store_db_meta_put_blob(o.db, "office_key", o.id->pk, 32));
    proto_body b;
    proto_body_init(&b, PROTO_KIND_FEEDBACK);
    memcpy(b.who, ann.id->pk, 32);
    b.has_who = true;
    b.text = strdup("before");
    OK(store_log_append_to(o.db, o.rd, o.id, &b, ann.id->pk, T0, &fb)); /* 1 key, 2 */
    assert_int_equal(fb.seq, 2);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(store_db_handle(o.db),
                                        "INSERT INTO members(key, role, revoked_after)"
                                        " VALUES(?, 'worker', 3)",
                                        -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_blob(st, 1, ann.id->pk, 32, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);
    int64_t n = count(&o, "SELECT count(*) FROM entries");
    EXPECT(OP_E_REVOKED, store_log_append_to(o.db, o.rd, o.id, &b, ann.id->pk, T0 + 1, &fb));
    assert_int_equal(count(&o, "SELECT count(*) FROM entries"), n);
    proto_body_fini(&b);
    OK(tu_checkin(&o, "regular", T0 + 2, &fb)); /* its own epoch: not sealed to ann */
    assert_int_equal(count(&o, "SELECT count(*) FROM entries"), n + 2);
    assert_clean(&o);
    tu_node_close(&o);
    tu_node_close(&ann);
}

/*
 * A second device with the same key (the identity file copied) writes a different seq 2 after
 * both share seq 1: a fork. B keeps the entry it held, records the other as evidence, and a
 * later entry on the other branch does not link to B's head.
 */
static void
ingest_fork_and_broken_chain(void **state)
{
    tu_fixture *f = *state;
    tu_node a, a2, b;
    store_ingested ing;
    size_t bad = 99;
    tu_node_open(&a, f->dir, "a");
    tu_node_open(&b, f->dir, "b");
    OK(tu_checkin(&a, "from the laptop", T0, NULL)); /* seq 1 key, 2 check-in */
    OK(tu_copy(&a, &b, a.id->pk, 1, 100, &ing, NULL));
    assert_int_equal(ing.stored, 2);

    tu_node_open_ex(&a2, f->dir, "a2", &a, NULL);
    assert_memory_equal(a2.id->pk, a.id->pk, 32);
    OK(tu_copy(&a, &a2, a.id->pk, 1, 1, NULL, NULL)); /* shares the key entry, seq 1 */
    store_appended ap;
    OK(tu_checkin(&a2, "from the restored backup", T0 + 5, &ap));
    /* The copy did not make epoch 1 itself (no record of its readers), so it starts epoch 2:
     * seq 2 is its key entry, seq 3 the check-in. Seq 2 differs from the laptop's: a fork. */
    assert_int_equal(ap.seq, 3);
    assert_int_equal(count(&a2, "SELECT count(*) FROM entries WHERE kind = 8"), 2);

    size_t held_len;
    uint8_t *held = entry_blob(b.db, a.id->pk, 2, "envelope", &held_len);
    size_t other_len;
    uint8_t *other = entry_blob(a2.db, a.id->pk, 2, "envelope", &other_len);
    assert_true(held_len != other_len || memcmp(held, other, held_len) != 0);

    EXPECT(OP_E_FORK, tu_copy(&a2, &b, a.id->pk, 1, 100, &ing, &bad));
    assert_int_equal(bad, 1);
    assert_true(ing.evidence);
    assert_int_equal(ing.stored, 0);
    assert_int_equal(ing.already, 1);
    assert_int_equal(count(&b, "SELECT count(*) FROM forks"), 1);
    assert_int_equal(count(&b, "SELECT seq FROM forks"), 2);
    assert_int_equal(count(&b, "SELECT received FROM forks"), (int64_t)(T0 + 999));
    assert_int_equal(count(&b, "SELECT body IS NOT NULL FROM forks"), 1);
    sqlite3_stmt *st;
    assert_int_equal(
        sqlite3_prepare_v2(store_db_handle(b.db), "SELECT envelope FROM forks", -1, &st, NULL),
        SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_bytes(st, 0), (int)other_len);
    assert_memory_equal(sqlite3_column_blob(st, 0), other, other_len);
    sqlite3_finalize(st);
    /* The first entry stays. */
    size_t now_len;
    uint8_t *now = entry_blob(b.db, a.id->pk, 2, "envelope", &now_len);
    assert_int_equal(now_len, held_len);
    assert_memory_equal(now, held, held_len);
    free(now);
    assert_int_equal(count(&b, "SELECT count(*) FROM entries"), 2);
    assert_int_equal(tu_head(&b, a.id->pk), 2);

    /* The same evidence offered again (alone this time) is not recorded twice. */
    EXPECT(OP_E_FORK, tu_copy(&a2, &b, a.id->pk, 2, 100, &ing, &bad));
    assert_int_equal(bad, 0);
    assert_int_equal(count(&b, "SELECT count(*) FROM forks"), 1);

    /* The other branch goes on: its seq 4 (3 was its check-in) is offered from seq 3, which
     * does not link to B's head at 2. Its signed seq 3 is evidence too (it names another
     * seq 2), kept once. */
    OK(tu_checkin(&a2, "more from the backup", T0 + 6, &ap));
    assert_int_equal(ap.seq, 4);
    for (int k = 0; k < 2; k++) {
        EXPECT(OP_E_CHAIN, tu_copy(&a2, &b, a.id->pk, 3, 100, &ing, &bad));
        assert_int_equal(bad, 0);
        assert_true(ing.evidence); /* a signed second log: a fork, not a forgery */
        assert_int_equal(ing.stored, 0);
        assert_int_equal(count(&b, "SELECT count(*) FROM entries"), 2);
        assert_int_equal(tu_head(&b, a.id->pk), 2);
        assert_int_equal(count(&b, "SELECT count(*) FROM forks"), 2);
        assert_int_equal(count(&b, "SELECT count(*) FROM forks WHERE seq = 3"), 1);
    }

    /* The true branch still extends B. */
    OK(tu_checkin(&a, "laptop again", T0 + 7, NULL));
    OK(tu_copy(&a, &b, a.id->pk, 3, 100, &ing, &bad));
    assert_int_equal(ing.stored, 1);
    assert_clean(&b);
    free(held);
    free(other);
    tu_node_close(&a2);
    tu_node_close(&b);
    tu_node_close(&a);
}

static void
ingest_refuses_damaged_runs_whole(void **state)
{
    tu_fixture *f = *state;
    tu_node a, d, b;
    store_run run, other;
    store_ingested ing;
    size_t bad = 99;
    uint8_t *copy;
    tu_node_open(&a, f->dir, "a");
    tu_node_open(&d, f->dir, "d");
    tu_node_open(&b, f->dir, "b");
    tu_checkins(&a, "x", 4, T0); /* seq 1..5 */
    tu_checkins(&d, "y", 1, T0); /* seq 1..2 */

#define NOTHING_STORED()                                                                           \
    do {                                                                                           \
        assert_int_equal(ing.stored, 0);                                                           \
        assert_int_equal(count(&b, "SELECT count(*) FROM entries"), 0);                            \
        assert_int_equal(count(&b, "SELECT count(*) FROM authors"), 0);                            \
        assert_int_equal(count(&b, "SELECT count(*) FROM key_entries"), 0);                        \
        assert_int_equal(count(&b, "SELECT count(*) FROM forks"), 0);                              \
    } while (0)

    /* A body that does not match its hash, in the middle of the run. */
    OK(store_log_read(a.db, a.id->pk, 1, 100, &run));
    copy = flip_body(&run, 2, 50);
    EXPECT(OP_E_BODYHASH, store_log_ingest(b.db, b.rd, run.items, run.n, T0, &ing, &bad));
    assert_int_equal(bad, 2);
    NOTHING_STORED();
    free(copy);
    store_run_free(&run);

    /* The key entry's body damaged. */
    OK(store_log_read(a.db, a.id->pk, 1, 100, &run));
    copy = flip_body(&run, 0, 10);
    EXPECT(OP_E_BODYHASH, store_log_ingest(b.db, b.rd, run.items, run.n, T0, &ing, &bad));
    assert_int_equal(bad, 0);
    NOTHING_STORED();
    free(copy);
    store_run_free(&run);

    /* The signature of the last entry: the one signature checked per run. */
    OK(store_log_read(a.db, a.id->pk, 1, 100, &run));
    copy = flip_env(&run, 4, run.items[4].env_len - 3);
    EXPECT(OP_E_AUTH, store_log_ingest(b.db, b.rd, run.items, run.n, T0, &ing, &bad));
    assert_int_equal(bad, 4);
    NOTHING_STORED();
    free(copy);
    store_run_free(&run);

    /* A signature in the middle: that entry's hash changes, so the next link breaks. */
    OK(store_log_read(a.db, a.id->pk, 1, 100, &run));
    copy = flip_env(&run, 1, run.items[1].env_len - 3);
    EXPECT(OP_E_CHAIN, store_log_ingest(b.db, b.rd, run.items, run.n, T0, &ing, &bad));
    assert_int_equal(bad, 2);
    assert_false(ing.evidence); /* broken inside the run: corrupted, not a fork */
    NOTHING_STORED();
    free(copy);
    store_run_free(&run);

    /* The timestamp of the last entry (covered by its signature). */
    OK(store_log_read(a.db, a.id->pk, 1, 100, &run));
    proto_envelope e;
    OK(proto_envelope_decode(run.items[4].env, run.items[4].env_len, &e));
    e.ts += 1;
    uint8_t forged[PROTO_ENVELOPE_MAX_BYTES];
    size_t flen;
    /* Re-signed by another node's secret over A's author field: refused as a bad signature. */
    {
        uint8_t sk[64];
        memcpy(sk, d.id->sk, 64);
        memcpy(sk + 32, a.id->pk, 32); /* sign checks only that the public half matches */
        OK(proto_envelope_sign(&e, sk, forged, sizeof forged, &flen));
        sodium_memzero(sk, sizeof sk);
    }
    run.items[4].env = forged;
    run.items[4].env_len = flen;
    EXPECT(OP_E_AUTH, store_log_ingest(b.db, b.rd, run.items, run.n, T0, &ing, &bad));
    assert_int_equal(bad, 4);
    NOTHING_STORED();
    store_run_free(&run);

    /* A truncated envelope, and a trailing byte. */
    OK(store_log_read(a.db, a.id->pk, 1, 100, &run));
    run.items[1].env_len -= 1;
    assert_int_not_equal(store_log_ingest(b.db, b.rd, run.items, run.n, T0, &ing, &bad), OP_OK);
    assert_int_equal(bad, 1);
    NOTHING_STORED();
    store_run_free(&run);
    OK(store_log_read(a.db, a.id->pk, 1, 100, &run));
    uint8_t longer[PROTO_ENVELOPE_MAX_BYTES + 1];
    memcpy(longer, run.items[3].env, run.items[3].env_len);
    longer[run.items[3].env_len] = 0xc0;
    run.items[3].env = longer;
    run.items[3].env_len += 1;
    EXPECT(OP_E_TRAILING, store_log_ingest(b.db, b.rd, run.items, run.n, T0, &ing, &bad));
    assert_int_equal(bad, 3);
    NOTHING_STORED();
    store_run_free(&run);

    /* Entries out of order, or one twice. */
    OK(store_log_read(a.db, a.id->pk, 1, 100, &run));
    proto_run_item swap = run.items[2];
    run.items[2] = run.items[3];
    run.items[3] = swap;
    EXPECT(OP_E_SEQ, store_log_ingest(b.db, b.rd, run.items, run.n, T0, &ing, &bad));
    assert_int_equal(bad, 2);
    NOTHING_STORED();
    run.items[2] = run.items[3]; /* seq 1, 2, 3, 3 */
    EXPECT(OP_E_SEQ, store_log_ingest(b.db, b.rd, run.items, 4, T0, &ing, &bad));
    assert_int_equal(bad, 3);
    NOTHING_STORED();
    store_run_free(&run);

    /* Two authors in one run. */
    OK(store_log_read(a.db, a.id->pk, 1, 100, &run));
    OK(store_log_read(d.db, d.id->pk, 1, 100, &other));
    run.items[1] = other.items[1];
    EXPECT(OP_E_AUTHOR, store_log_ingest(b.db, b.rd, run.items, run.n, T0, &ing, &bad));
    assert_int_equal(bad, 1);
    NOTHING_STORED();
    store_run_free(&other);
    store_run_free(&run);

    /* A seq 1 that claims a predecessor (properly signed by its author). */
    {
        static const uint8_t body[] = {0x80}; /* an empty map */
        proto_envelope s1 = {.seq = 1, .ts = T0, .kind = PROTO_KIND_KPI_DEF, .epoch = 0};
        uint8_t env[PROTO_ENVELOPE_MAX_BYTES];
        size_t len;
        memcpy(s1.author, d.id->pk, 32);
        memset(s1.prev, 0xaa, 32);
        proto_hash(body, sizeof body, s1.body_hash);
        OK(proto_envelope_sign(&s1, d.id->sk, env, sizeof env, &len));
        proto_run_item it = {env, len, body, sizeof body};
        EXPECT(OP_E_CHAIN, store_log_ingest(b.db, b.rd, &it, 1, T0, &ing, &bad));
        assert_int_equal(bad, 0);
        NOTHING_STORED();
    }

    /* After all of that the good run goes in whole. */
    OK(tu_copy(&a, &b, a.id->pk, 1, 100, &ing, &bad));
    assert_int_equal(ing.stored, 5);
    assert_clean(&b);
#undef NOTHING_STORED
    tu_node_close(&b);
    tu_node_close(&d);
    tu_node_close(&a);
}

static void
ingest_without_bodies(void **state)
{
    tu_fixture *f = *state;
    tu_node a, c;
    store_run run;
    store_ingested ing;
    tu_node_open(&a, f->dir, "a");
    tu_node_open_ex(&c, f->dir, "c", NULL, a.id);
    tu_checkins(&a, "nb", 2, T0); /* seq 1..3 */

    /* A relay may pass on envelopes whose bodies it does not hold (erased): they verify and
     * are stored without a body; nothing is projected from them. */
    OK(store_log_read(a.db, a.id->pk, 1, 100, &run));
    run.items[2].body = NULL;
    run.items[2].body_len = 0;
    OK(store_log_ingest(c.db, c.rd, run.items, run.n, T0, &ing, NULL));
    assert_int_equal(ing.stored, 3);
    assert_int_equal(count(&c, "SELECT count(*) FROM entries WHERE body IS NULL"), 1);
    assert_int_equal(count(&c, "SELECT count(*) FROM checkins"), 1);
    store_run_free(&run);
    assert_clean(&c);
    tu_node_close(&c);
    tu_node_close(&a);
}

/* Signs an entry of id's log by hand (for kinds and bodies the store itself never writes). */
static size_t
hand_entry(const store_identity *id, uint64_t seq, const uint8_t prev[32], uint64_t kind,
           uint64_t epoch, const uint8_t *body, size_t body_len,
           uint8_t env[PROTO_ENVELOPE_MAX_BYTES])
{
    proto_envelope e = {.seq = seq, .ts = T0 + seq, .kind = kind, .epoch = epoch};
    size_t len;
    memcpy(e.author, id->pk, 32);
    memcpy(e.prev, prev, 32);
    proto_hash(body, body_len, e.body_hash);
    OK(proto_envelope_sign(&e, id->sk, env, PROTO_ENVELOPE_MAX_BYTES, &len));
    return len;
}

/*
 * SPEC §5: unknown kinds are stored and relayed but not projected; a body this node cannot
 * read or that is invalid is stored, never projected. None of it is an ingest error.
 */
static void
unknown_and_invalid_bodies_stored_not_projected(void **state)
{
    tu_fixture *f = *state;
    tu_node a, b;
    store_ingested ing;
    tu_node_open(&a, f->dir, "a");
    tu_node_open_ex(&b, f->dir, "b", NULL, a.id); /* even A's own key cannot read these */

    static const uint8_t future[] = {0x81, 0xa4, 'w', 'h', 'a', 't', 0x01}; /* {"what": 1} */
    static const uint8_t energy9[] = {0x81, 0xa6, 'e', 'n', 'e', 'r', 'g', 'y', 0x09};
    static const uint8_t junk[] = {0xde, 0xad, 0xbe, 0xef, 0xc1};
    static const uint8_t zero[32];
    uint8_t envs[4][PROTO_ENVELOPE_MAX_BYTES], h[32];
    size_t lens[4];
    lens[0] = hand_entry(a.id, 1, zero, 99, 0, future, sizeof future, envs[0]);
    proto_hash(envs[0], lens[0], h);
    lens[1] = hand_entry(a.id, 2, h, PROTO_KIND_CHECKIN, 0, energy9, sizeof energy9, envs[1]);
    proto_hash(envs[1], lens[1], h);
    lens[2] = hand_entry(a.id, 3, h, PROTO_KIND_KPI_DEF, 5, junk, sizeof junk, envs[2]);
    proto_hash(envs[2], lens[2], h);
    lens[3] = hand_entry(a.id, 4, h, PROTO_KIND_KEY, 0, junk, sizeof junk, envs[3]);
    proto_run_item items[4] = {
        {envs[0], lens[0], future, sizeof future},
        {envs[1], lens[1], energy9, sizeof energy9},
        {envs[2], lens[2], junk, sizeof junk},
        {envs[3], lens[3], junk, sizeof junk},
    };
    OK(store_log_ingest(b.db, b.rd, items, 4, T0, &ing, NULL));
    assert_int_equal(ing.stored, 4);
    assert_int_equal(count(&b, "SELECT count(*) FROM entries"), 4);
    assert_int_equal(count(&b, "SELECT count(*) FROM checkins"), 0);
    assert_int_equal(count(&b, "SELECT count(*) FROM kpi_defs"), 0);
    assert_int_equal(count(&b, "SELECT count(*) FROM key_entries"), 0);
    assert_int_equal(tu_head(&b, a.id->pk), 4);
    assert_clean(&b);

    /* Relayed on byte for byte. */
    store_run run;
    OK(store_log_read(b.db, a.id->pk, 1, 10, &run));
    assert_int_equal(run.n, 4);
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(run.items[i].env_len, lens[i]);
        assert_memory_equal(run.items[i].env, envs[i], lens[i]);
        assert_int_equal(run.items[i].body_len, items[i].body_len);
        assert_memory_equal(run.items[i].body, items[i].body, items[i].body_len);
    }
    store_run_free(&run);
    tu_node_close(&b);
    tu_node_close(&a);
}

static void
relay_holds_reader_projects(void **state)
{
    tu_fixture *f = *state;
    tu_node a, b, c;
    tu_node_open(&a, f->dir, "a");
    tu_node_open(&b, f->dir, "b");
    tu_node_open_ex(&c, f->dir, "c", NULL, a.id); /* holds A's key */
    tu_checkins(&a, "p", 3, T0);
    proto_body kv;
    proto_body_init(&kv, PROTO_KIND_KPI_VALUE);
    kv.id = (char *)"articles";
    kv.value = 2;
    kv.at = (char *)"2025-11-24";
    store_appended ap;
    OK(store_log_append(a.db, a.rd, a.id, &kv, T0 + 10, &ap));
    assert_int_equal(ap.seq, 5);

    OK(tu_copy(&a, &b, a.id->pk, 1, 100, NULL, NULL));
    assert_int_equal(count(&b, "SELECT count(*) FROM entries"), 5);
    assert_int_equal(count(&b, "SELECT count(*) FROM checkins"), 0);
    assert_int_equal(count(&b, "SELECT count(*) FROM kpi_values"), 0);

    /* Relayed on from B (exact bytes) to a node that can read them. */
    OK(tu_copy(&b, &c, a.id->pk, 1, 100, NULL, NULL));
    assert_int_equal(count(&c, "SELECT count(*) FROM checkins"), 3);
    assert_int_equal(count(&c, "SELECT count(*) FROM kpi_values WHERE kpi = 'articles'"), 1);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(store_db_handle(c.db),
                                        "SELECT note, seq, ts, energy FROM checkins ORDER BY seq",
                                        -1, &st, NULL),
                     SQLITE_OK);
    for (int i = 0; i < 3; i++) {
        char want[8];
        snprintf(want, sizeof want, "p%d", i);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        assert_string_equal((const char *)sqlite3_column_text(st, 0), want);
        assert_int_equal(sqlite3_column_int64(st, 1), i + 2);
        assert_int_equal(sqlite3_column_int64(st, 2), (int64_t)(T0 + (uint64_t)i));
        assert_int_equal(sqlite3_column_int(st, 3), 4);
    }
    sqlite3_finalize(st);
    assert_clean(&b);
    assert_clean(&c);
    tu_node_close(&c);
    tu_node_close(&b);
    tu_node_close(&a);
}

static void
have_vector(void **state)
{
    tu_fixture *f = *state;
    tu_node a, d, b;
    store_head *v;
    size_t n;
    tu_node_open(&a, f->dir, "a");
    tu_node_open(&d, f->dir, "d");
    tu_node_open(&b, f->dir, "b");

    OK(store_log_have(b.db, &v, &n));
    assert_int_equal(n, 0);
    free(v);

    tu_checkins(&a, "h", 4, T0); /* head 5 */
    tu_checkins(&d, "h", 1, T0); /* head 2 */
    OK(tu_copy(&a, &b, a.id->pk, 1, 3, NULL, NULL));
    OK(tu_copy(&d, &b, d.id->pk, 1, 100, NULL, NULL));
    /* A refused run does not move a head, nor add an author. */
    tu_node e;
    tu_node_open(&e, f->dir, "e");
    tu_checkins(&e, "h", 2, T0);
    EXPECT(OP_E_GAP, tu_copy(&e, &b, e.id->pk, 2, 100, NULL, NULL));
    tu_checkins(&b, "own", 1, T0); /* B's own log, head 2 */

    OK(store_log_have(b.db, &v, &n));
    assert_int_equal(n, 3);
    for (size_t i = 1; i < n; i++)
        assert_true(memcmp(v[i - 1].author, v[i].author, 32) < 0); /* ordered by key */
    for (size_t i = 0; i < n; i++) {
        if (memcmp(v[i].author, a.id->pk, 32) == 0)
            assert_int_equal(v[i].seq, 3);
        else if (memcmp(v[i].author, d.id->pk, 32) == 0)
            assert_int_equal(v[i].seq, 2);
        else if (memcmp(v[i].author, b.id->pk, 32) == 0)
            assert_int_equal(v[i].seq, 2);
        else
            fail_msg("unexpected author in the have-vector");
    }
    free(v);

    OK(tu_copy(&a, &b, a.id->pk, 4, 100, NULL, NULL));
    assert_int_equal(tu_head(&b, a.id->pk), 5);
    assert_int_equal(tu_head(&b, e.id->pk), 0);
    tu_node_close(&e);
    tu_node_close(&b);
    tu_node_close(&d);
    tu_node_close(&a);
}

/*
 * log.h: "Readable bodies are projected through rd (may be NULL: project nothing but key
 * entries)". Ingest with rd == NULL must store the run and project its key entry.
 */
typedef struct null_rd_ctx {
    tu_node *a, *b;
} null_rd_ctx;

static void
ingest_null_reader_child(void *arg)
{
    null_rd_ctx *c = arg;
    store_run run;
    store_ingested ing;
    store_db *da, *db;
    if (store_db_open(c->a->path, 0, &da) != OP_OK || store_db_open(c->b->path, 0, &db) != OP_OK)
        _exit(2);
    if (store_log_read(da, c->a->id->pk, 1, 100, &run) != OP_OK)
        _exit(2);
    op_err r = store_log_ingest(db, NULL, run.items, run.n, T0, &ing, NULL);
    store_run_free(&run);
    store_db_close(da);
    store_db_close(db);
    if (r != OP_OK || ing.stored != 3) {
        fprintf(stderr, "ingest with rd NULL = %s, stored %zu\n", op_errname(r), ing.stored);
        _exit(1);
    }
}

static void
ingest_with_null_reader(void **state)
{
    tu_fixture *f = *state;
    tu_node a, b;
    tu_node_open(&a, f->dir, "a");
    tu_node_open(&b, f->dir, "b");
    tu_checkins(&a, "nr", 2, T0); /* key entry + 2 check-ins */
    tu_node_close_db(&a);
    tu_node_close_db(&b);
    null_rd_ctx c = {&a, &b};
    tu_in_child("store_log_ingest with rd == NULL", ingest_null_reader_child, &c);
    tu_node_reopen_db(&b);
    assert_int_equal(count(&b, "SELECT count(*) FROM entries"), 3);
    assert_int_equal(count(&b, "SELECT count(*) FROM key_entries"), 1);
    assert_int_equal(count(&b, "SELECT count(*) FROM checkins"), 0);
    tu_node_close(&b);
    tu_node_close(&a);
}

/*
 * The reader caches epoch keys by (author row id, epoch). When an ingest fails after the key
 * was cached (here: the disk fills up), the transaction rolls back, and the author row id is
 * handed to the next new author. That author's key entry then does not replace the stale
 * cached key, and its bodies are "unreadable" for good: the office never projects them.
 */
static void
failed_ingest_does_not_poison_reader(void **state)
{
    tu_fixture *f = *state;
    tu_node x, w, o;
    tu_node_open(&x, f->dir, "x");
    tu_node_open(&w, f->dir, "w");
    tu_node_open(&o, f->dir, "office");
    OK(store_db_meta_put_blob(x.db, "office_key", o.id->pk, 32));
    OK(store_db_meta_put_blob(w.db, "office_key", o.id->pk, 32));

    char big[PROTO_TEXT_MAX_BYTES + 1];
    memset(big, 'z', PROTO_TEXT_MAX_BYTES);
    big[PROTO_TEXT_MAX_BYTES] = '\0';
    for (int i = 0; i < 24; i++)
        OK(tu_checkin(&x, big, T0 + (uint64_t)i, NULL));
    OK(tu_checkin(&w, "w's check-in", T0, NULL));

    /* The office's disk is nearly full: X's big run fails part way. */
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA max_page_count = %lld",
             (long long)tu_int(o.db, "PRAGMA page_count") + 8);
    OK(store_db_exec(o.db, sql));
    EXPECT(OP_E_DISK_FULL, tu_copy(&x, &o, x.id->pk, 1, 100, NULL, NULL));
    assert_int_equal(count(&o, "SELECT count(*) FROM entries"), 0);
    assert_int_equal(count(&o, "SELECT count(*) FROM authors"), 0);
    OK(store_db_exec(o.db, "PRAGMA max_page_count = 1000000"));

    /* Space again; W's run arrives first. The office can read W's check-in. */
    OK(tu_copy(&w, &o, w.id->pk, 1, 100, NULL, NULL));
    assert_int_equal(count(&o, "SELECT count(*) FROM entries"), 2);
    assert_int_equal(count(&o, "SELECT count(*) FROM checkins WHERE note = 'w''s check-in'"), 1);
    /* And X's, now that it fits. */
    OK(tu_copy(&x, &o, x.id->pk, 1, 100, NULL, NULL));
    assert_int_equal(count(&o, "SELECT count(*) FROM checkins"), 25);
    tu_node_close(&o);
    tu_node_close(&w);
    tu_node_close(&x);
}

/*
 * authors.live_at (the office's "last seen", schema 3): the latest min(ts, received) of an
 * author's entries. A clock that runs ahead cannot push it past when the entries arrived;
 * re-delivery and a refused run leave it alone.
 */
static void
live_at_never_passes_arrival(void **state)
{
    tu_fixture *f = *state;
    tu_node a, c;
    tu_node_open(&a, f->dir, "a");
    tu_node_open_ex(&c, f->dir, "c", NULL, a.id); /* holds A's key: projects its check-ins */
    tu_checkins(&a, "p", 3, T0);
    OK(tu_copy(&a, &c, a.id->pk, 1, 100, NULL, NULL)); /* received at T0 + 999 */
    /* the newest entry's ts: it was written before it arrived */
    assert_int_equal(count(&c, "SELECT live_at FROM authors"), (int64_t)(T0 + 2));

    /* Written with a clock a day ahead, arriving at T0 + 999: alive at T0 + 999, not later. */
    OK(tu_checkin(&a, "ahead", T0 + 86400000, NULL));
    OK(tu_copy(&a, &c, a.id->pk, 1, 100, NULL, NULL));
    assert_int_equal(count(&c, "SELECT live_at FROM authors"), (int64_t)(T0 + 999));
    /* The schema-3 index of entries dated after they arrived holds exactly that one. */
    assert_int_equal(count(&c, "SELECT count(*) FROM entries INDEXED BY entries_ahead"
                               " WHERE ts > received + 60000"),
                     1);
    /* Our own entries: live at their own time. */
    assert_int_equal(count(&a, "SELECT live_at FROM authors"), (int64_t)(T0 + 86400000));
    tu_node_close(&c);
    tu_node_close(&a);
}

/* checkin_counts (schema 3) follows the check-ins projected, through a rebuild of the views. */
static void
checkin_counts_follow_projection(void **state)
{
    tu_fixture *f = *state;
    tu_node a, c;
    tu_node_open(&a, f->dir, "a");
    tu_node_open_ex(&c, f->dir, "c", NULL, a.id);
    tu_checkins(&a, "p", 4, T0);
    OK(tu_copy(&a, &c, a.id->pk, 1, 100, NULL, NULL));
    OK(tu_copy(&a, &c, a.id->pk, 1, 100, NULL, NULL)); /* re-delivered: counted once */
    const char *sql = "SELECT n FROM checkin_counts k JOIN checkins c ON c.author = k.author"
                      " GROUP BY k.author";
    assert_int_equal(count(&c, sql), 4);
    assert_int_equal(count(&a, sql), 4);
    uint64_t n;
    OK(store_view_reindex(c.db, c.rd, NULL, NULL, &n));
    assert_int_equal(n, 5);
    assert_int_equal(count(&c, sql), 4);
    assert_int_equal(count(&c, "SELECT count(*) FROM checkin_counts WHERE n != 0"), 1);
    tu_node_close(&c);
    tu_node_close(&a);
}

/* Seqs are stored as SQLite integers and compared as such: the log ends at STORE_SEQ_MAX. An
 * offered entry past it is refused (OP_E_TOOBIG, nothing stored, *bad names it), and a log
 * whose head is at the limit refuses to append instead of wrapping. */
static void
seq_past_the_limit_refused(void **state)
{
    tu_fixture *f = *state;
    tu_node a, b;
    store_ingested ing;
    size_t bad = 99;
    tu_node_open(&a, f->dir, "a");
    tu_node_open_ex(&b, f->dir, "b", NULL, a.id);
    static const uint8_t body[] = {0x80}; /* {} */
    static const uint8_t zero[32];
    uint8_t env[PROTO_ENVELOPE_MAX_BYTES];
    size_t len = hand_entry(a.id, (uint64_t)STORE_SEQ_MAX + 1, zero, 99, 0, body, sizeof body,
                            env);
    proto_run_item it = {env, len, body, sizeof body};
    EXPECT(OP_E_TOOBIG, store_log_ingest(b.db, b.rd, &it, 1, T0, &ing, &bad));
    assert_int_equal(bad, 0);
    assert_int_equal(ing.stored, 0);
    assert_int_equal(count(&b, "SELECT count(*) FROM entries"), 0);
    assert_int_equal(tu_head(&b, a.id->pk), 0);

    /* a's own log at the last seq (as if it had written four billion entries) */
    store_appended ap;
    OK(tu_checkin(&a, "one", T0, &ap));
    char sql[200];
    snprintf(sql, sizeof sql, "UPDATE authors SET head_seq = %llu",
             (unsigned long long)STORE_SEQ_MAX);
    assert_int_equal(sqlite3_exec(store_db_handle(a.db), sql, NULL, NULL, NULL), SQLITE_OK);
    int64_t before = count(&a, "SELECT count(*) FROM entries");
    EXPECT(OP_E_TOOBIG, tu_checkin(&a, "two", T0 + 1, &ap));
    assert_int_equal(count(&a, "SELECT count(*) FROM entries"), before);
    assert_int_equal(tu_head(&a, a.id->pk), STORE_SEQ_MAX);
    tu_node_close(&b);
    tu_node_close(&a);
}

/* SPEC §5: a key entry is only used when its envelope says epoch 0 (its own body is not
 * sealed: everyone must be able to read it). The same well-formed key body under epoch 7 is
 * stored and relayed but gives no key; under epoch 0 it does. */
static void
key_entry_under_an_epoch_not_used(void **state)
{
    tu_fixture *f = *state;
    tu_node a, b, c;
    store_ingested ing;
    uint8_t key[PROTO_EPOCH_KEY_BYTES], buf[1024], env[PROTO_ENVELOPE_MAX_BYTES];
    static const uint8_t zero[32];
    proto_sealed sealed[1];
    proto_body kb;
    proto_wbuf w;
    tu_node_open(&a, f->dir, "a");
    tu_node_open(&b, f->dir, "b");
    tu_node_open(&c, f->dir, "c");
    proto_epoch_key_new(key);
    for (int round = 0; round < 2; round++) {
        tu_node *to = round ? &c : &b;
        proto_body_init(&kb, PROTO_KIND_KEY);
        kb.epoch = 1;
        memcpy(sealed[0].reader, to->id->pk, PROTO_KEY_BYTES);
        OK(proto_seal_epoch_key(to->id->pk, key, sealed[0].box));
        kb.sealed = sealed;
        kb.n_sealed = 1;
        proto_wbuf_init(&w, buf, sizeof buf);
        OK(proto_body_encode(&kb, &w));
        size_t len = hand_entry(a.id, 1, zero, PROTO_KIND_KEY, round ? 0 : 7, buf, w.len, env);
        proto_run_item it = {env, len, buf, w.len};
        OK(store_log_ingest(to->db, to->rd, &it, 1, T0, &ing, NULL));
        assert_int_equal(ing.stored, 1);
        assert_int_equal(count(to, "SELECT count(*) FROM entries"), 1);
        assert_int_equal(count(to, "SELECT count(*) FROM key_entries"), round ? 1 : 0);
    }
    tu_node_close(&c);
    tu_node_close(&b);
    tu_node_close(&a);
}

/* ---- bodies every holder must read; a reader that cannot be sealed to ---- */

/* Appends one body of each kind that SPEC §4 keeps in plaintext, by n. */
static void
append_plain_kinds(tu_node *n, const uint8_t other[32], uint64_t ts)
{
    proto_body b;
    store_appended ap;
    proto_receipt_head head = {.seq = 1};
    memcpy(head.author, other, 32);

    proto_body_init(&b, PROTO_KIND_MEMBER); /* seq 1: no epoch, so no key entry first */
    memcpy(b.key, other, 32);
    b.has_key = true;
    b.name = (char *)"Other";
    b.role = (char *)"worker";
    OK(store_log_append(n->db, n->rd, n->id, &b, ts, &ap));
    proto_body_init(&b, PROTO_KIND_REVOKE);
    memcpy(b.key, other, 32);
    b.has_key = true;
    b.after_seq = 3;
    OK(store_log_append(n->db, n->rd, n->id, &b, ts + 1, &ap));
    proto_body_init(&b, PROTO_KIND_JOIN);
    b.name = (char *)"Me";
    b.has_proof = true;
    randombytes_buf(b.proof, sizeof b.proof);
    OK(store_log_append(n->db, n->rd, n->id, &b, ts + 2, &ap));
    proto_body_init(&b, PROTO_KIND_RECEIPT);
    b.heads = &head;
    b.n_heads = 1;
    OK(store_log_append(n->db, n->rd, n->id, &b, ts + 3, &ap));
    proto_body_init(&b, PROTO_KIND_ERASE);
    memcpy(b.re.author, n->id->pk, 32);
    b.re.seq = 3;
    b.has_re = true;
    OK(store_log_append(n->db, n->rd, n->id, &b, ts + 4, &ap));
    assert_int_equal(ap.seq, 5);
}

/* Membership, join, receipt and erase entries are stored in plaintext (epoch 0, no key entry
 * needed): a relay, or any holder without the author's epoch keys, must act on them. A check-in
 * after them is sealed under an epoch. Their bodies decode as they are. */
static void
plaintext_kinds_need_no_key(void **state)
{
    tu_fixture *f = *state;
    tu_node a, other;
    tu_node_open(&a, f->dir, "a");
    tu_node_open(&other, f->dir, "other");
    append_plain_kinds(&a, other.id->pk, T0);
    static const uint64_t kinds[] = {PROTO_KIND_MEMBER, PROTO_KIND_REVOKE, PROTO_KIND_JOIN,
                                     PROTO_KIND_RECEIPT, PROTO_KIND_ERASE};
    for (uint64_t seq = 1; seq <= 5; seq++) {
        proto_envelope e = entry_env(a.db, a.id->pk, seq);
        assert_int_equal(e.kind, kinds[seq - 1]);
        assert_int_equal(e.epoch, 0);
        size_t n;
        uint8_t *body = entry_blob(a.db, a.id->pk, seq, "body", &n);
        proto_body b;
        assert_non_null(body);
        OK(proto_body_decode(e.kind, body, n, &b)); /* no key needed */
        proto_body_fini(&b);
        free(body);
    }
    assert_int_equal(count(&a, "SELECT count(*) FROM key_entries"), 0);
    OK(tu_checkin(&a, "sealed", T0 + 10, NULL)); /* key entry at 6, check-in at 7 */
    assert_int_not_equal(entry_env(a.db, a.id->pk, 7).epoch, 0);
    assert_int_equal(entry_env(a.db, a.id->pk, 6).kind, PROTO_KIND_KEY);
    assert_clean(&a);
    tu_node_close(&other);
    tu_node_close(&a);
}

/* Feedback to a key that is not a valid Ed25519 point (no X25519 key for it, so an epoch key
 * cannot be sealed to it) is refused with OP_E_INVAL, and nothing is stored: no key entry, no
 * epoch recorded for that set of readers, no feedback entry. */
static void
feedback_to_an_unusable_key_stores_nothing(void **state)
{
    tu_fixture *f = *state;
    tu_node a;
    tu_node_open(&a, f->dir, "a");
    OK(tu_checkin(&a, "before", T0, NULL)); /* seq 1 key entry, seq 2 check-in */
    uint8_t bad[32] = {0};                  /* the identity point: small order, refused */
    proto_body b;
    store_appended ap;
    proto_body_init(&b, PROTO_KIND_FEEDBACK);
    memcpy(b.who, bad, 32);
    b.has_who = true;
    b.text = (char *)"hello";
    EXPECT(OP_E_INVAL, store_log_append_to(a.db, a.rd, a.id, &b, bad, T0 + 1, &ap));
    assert_int_equal(ap.seq, 0);
    assert_int_equal(tu_head(&a, a.id->pk), 2);
    assert_int_equal(count(&a, "SELECT count(*) FROM entries"), 2);
    assert_int_equal(count(&a, "SELECT count(*) FROM key_entries"), 1);
    assert_int_equal(count(&a, "SELECT count(*) FROM own_epochs"), 1);
    assert_int_equal(count(&a, "SELECT count(*) FROM feedback"), 0);
    OK(tu_checkin(&a, "after", T0 + 2, NULL)); /* the regular epoch goes on */
    assert_int_equal(tu_head(&a, a.id->pk), 3);
    assert_clean(&a);
    tu_node_close(&a);
}

int
main(void)
{
    if (sodium_init() < 0)
        return 1;
#define T(fn) cmocka_unit_test_setup_teardown(fn, tu_setup, tu_teardown)
    const struct CMUnitTest tests[] = {
        T(first_append_writes_key_entry_then_checkin),
        T(second_append_reuses_epoch),
        T(epoch_tolerates_a_clock_set_back),
        T(epoch_rotates_after_max_age),
        T(clock_going_back_still_appends),
        T(kpi_projections),
        T(invalid_appends_store_nothing),
        T(busy_append_stores_nothing),
        T(office_key_is_a_reader),
        T(feedback_sealed_to_addressee_only),
        T(nothing_new_sealed_to_a_revoked_key),
        T(upgrade_from_schema_2_keeps_the_epoch),
        T(read_returns_exact_bytes),
        T(read_with_max_size_max),
        T(read_with_max_wrapping_allocation),
        T(ingest_run_and_redelivery),
        T(ingest_gap_stores_nothing),
        T(ingest_fork_and_broken_chain),
        T(ingest_refuses_damaged_runs_whole),
        T(ingest_without_bodies),
        T(unknown_and_invalid_bodies_stored_not_projected),
        T(relay_holds_reader_projects),
        T(have_vector),
        T(ingest_with_null_reader),
        T(failed_ingest_does_not_poison_reader),
        T(live_at_never_passes_arrival),
        T(checkin_counts_follow_projection),
        T(seq_past_the_limit_refused),
        T(key_entry_under_an_epoch_not_used),
        T(plaintext_kinds_need_no_key),
        T(feedback_to_an_unusable_key_stores_nothing),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
