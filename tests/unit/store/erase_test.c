/*
 * erase_test.c — erasure of a record's body (store/erase.c, SPEC §5 kind 10, TESTING C15), end
 * to end between real stores: the author's erase entry, applied where it is written and where
 * it is ingested (a reader, and a relay that holds only ciphertext); the office's erase, also
 * when it arrives before the record; the body refused when offered again; erase entries that
 * count for nothing (another author's, a future seq, a kind that cannot be erased); the chain
 * verifying after it; reindex keeping it; fork evidence; and the raw database and WAL files
 * holding no copy of the erased bytes afterwards (secure_delete, WAL checkpoint); and an office
 * erasing seqs ahead of what it holds, which must not strip a body of a kind that cannot be
 * erased (a key entry above all), whether it arrives with the entry or is filled in later.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "store/erase.h"
#include "store/view.h"
#include "store_test_util.h"

/* ---- helpers ---- */

/* Appends an erase entry by n of (author, seq). */
static op_err
erase(tu_node *n, const uint8_t author[PROTO_KEY_BYTES], uint64_t seq, uint64_t ts,
      store_appended *out)
{
    proto_body b;
    store_appended ignored;
    proto_body_init(&b, PROTO_KIND_ERASE);
    memcpy(b.re.author, author, PROTO_KEY_BYTES);
    b.re.seq = seq;
    b.has_re = true;
    return store_log_append(n->db, n->rd, n->id, &b, ts, out ? out : &ignored);
}

/* An integer from sql with ?1 bound to key. */
static int64_t
int_key(tu_node *n, const char *sql, const uint8_t key[PROTO_KEY_BYTES])
{
    sqlite3_stmt *st;
    int64_t v = -1;
    assert_int_equal(sqlite3_prepare_v2(store_db_handle(n->db), sql, -1, &st, NULL), SQLITE_OK);
    sqlite3_bind_blob(st, 1, key, PROTO_KEY_BYTES, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* Whether author's entry seq holds a body at n. */
static bool
has_body(tu_node *n, const uint8_t author[PROTO_KEY_BYTES], uint64_t seq)
{
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM entries e JOIN authors a ON a.id = e.author WHERE a.key = ?1"
             " AND e.seq = %llu AND e.body IS NOT NULL",
             (unsigned long long)seq);
    return int_key(n, sql, author) == 1;
}

/* A copy of the body of (author, seq) at n (the ciphertext: what must vanish). */
static size_t
body_of(tu_node *n, const uint8_t author[PROTO_KEY_BYTES], uint64_t seq, uint8_t *out, size_t max)
{
    sqlite3_stmt *st;
    size_t len = 0;
    assert_int_equal(sqlite3_prepare_v2(store_db_handle(n->db),
                                        "SELECT e.body FROM entries e JOIN authors a"
                                        " ON a.id = e.author WHERE a.key = ?1 AND e.seq = ?2",
                                        -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_blob(st, 1, author, PROTO_KEY_BYTES, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (int64_t)seq);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    len = (size_t)sqlite3_column_bytes(st, 0);
    assert_true(len > 0 && len <= max);
    memcpy(out, sqlite3_column_blob(st, 0), len);
    sqlite3_finalize(st);
    return len;
}

/* How many of the node's files (database, WAL) contain needle. */
static int
hits_in_files(tu_node *n, const uint8_t *needle, size_t len)
{
    static const char *const suffix[] = {"", "-wal"};
    int hits = 0;
    for (int i = 0; i < 2; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s%s", n->path, suffix[i]);
        FILE *f = fopen(path, "rb");
        if (!f)
            continue;
        fseek(f, 0, SEEK_END);
        long size = ftell(f);
        fseek(f, 0, SEEK_SET);
        uint8_t *data = malloc(size > 0 ? (size_t)size : 1);
        assert_non_null(data);
        size_t got = fread(data, 1, (size_t)size, f);
        fclose(f);
        for (size_t off = 0; got >= len && off <= got - len; off++)
            if (memcmp(data + off, needle, len) == 0) {
                hits++;
                break;
            }
        free(data);
    }
    return hits;
}

static void
verify_clean(tu_node *n)
{
    store_verified v;
    OK(store_verify(n->db, NULL, &v));
    assert_int_equal(v.problems, 0);
}

static void
set_office(tu_node *n, const uint8_t office[PROTO_KEY_BYTES])
{
    OK(store_db_meta_put_blob(n->db, "office_key", office, PROTO_KEY_BYTES));
}

/* ---- tests ---- */

/* The author erases its own check-in: body, projection and every copy in the files gone; the
 * envelope and hash stay and the log verifies; the erase entry is plaintext. */
static void
author_erases_own_record(void **state)
{
    tu_fixture *f = *state;
    tu_node a;
    static const char canary[] = "canary-7f3a9c21e5d04b6a8e1f2c3d4b5a6978";
    tu_node_open(&a, f->dir, "a");
    store_appended c;
    OK(tu_checkin(&a, canary, T0, &c)); /* seq 1 key, seq 2 the check-in */
    OK(tu_checkin(&a, "other", T0 + 1, NULL));
    assert_int_equal(c.seq, 2);
    assert_int_equal(tu_int(a.db, "SELECT count(*) FROM checkins"), 2);
    /* a checkpoint puts the canary in the database file, so that erasing has to remove it */
    OK(store_db_exec(a.db, "PRAGMA wal_checkpoint(TRUNCATE)"));
    assert_int_equal(hits_in_files(&a, (const uint8_t *)canary, strlen(canary)), 1);

    store_appended e;
    OK(erase(&a, a.id->pk, 2, T0 + 2, &e));
    assert_int_equal(e.seq, 4);
    assert_false(has_body(&a, a.id->pk, 2));
    assert_true(has_body(&a, a.id->pk, 3));
    assert_int_equal(tu_int(a.db, "SELECT count(*) FROM checkins"), 1);
    assert_int_equal(tu_int(a.db, "SELECT n FROM checkin_counts"), 1);
    assert_int_equal(tu_int(a.db, "SELECT count(*) FROM erased WHERE seq = 2"), 1);
    assert_int_equal(tu_int(a.db, "SELECT epoch FROM entries WHERE seq = 4"), 0); /* plaintext */
    assert_int_equal(tu_int(a.db, "SELECT count(*) FROM entries"), 4); /* envelope kept */
    verify_clean(&a);
    assert_int_equal(hits_in_files(&a, (const uint8_t *)canary, strlen(canary)), 0);
    /* reindex does not bring it back, and keeps the tombstone */
    OK(store_view_reindex(a.db, a.rd, NULL, NULL, NULL));
    assert_int_equal(tu_int(a.db, "SELECT count(*) FROM checkins"), 1);
    assert_int_equal(tu_int(a.db, "SELECT count(*) FROM erased"), 1);
    tu_node_close_db(&a);
    assert_int_equal(hits_in_files(&a, (const uint8_t *)canary, strlen(canary)), 0);
    tu_node_close(&a);
}

/* The erase entry reaches a reader (which had projected the record) and a relay (which held
 * only the ciphertext): both drop the body, keep verifying, and refuse the body when a peer
 * that has not heard of the erasure offers it again. */
static void
erase_spreads_and_body_is_refused_again(void **state)
{
    tu_fixture *f = *state;
    tu_node a, reader, relay, late;
    uint8_t cipher[PROTO_BODY_MAX_BYTES];
    store_ingested ing;
    size_t bad;
    tu_node_open(&a, f->dir, "a");
    tu_node_open_ex(&reader, f->dir, "reader", NULL, a.id); /* holds a's identity: reads it */
    tu_node_open(&relay, f->dir, "relay");
    tu_node_open(&late, f->dir, "late");
    OK(tu_checkin(&a, "secret-body-of-seq-2", T0, NULL));
    OK(tu_copy(&a, &reader, a.id->pk, 1, 100, &ing, &bad));
    OK(tu_copy(&a, &relay, a.id->pk, 1, 100, &ing, &bad));
    OK(tu_copy(&a, &late, a.id->pk, 1, 100, &ing, &bad));
    assert_int_equal(tu_int(reader.db, "SELECT count(*) FROM checkins"), 1);
    assert_int_equal(tu_int(relay.db, "SELECT count(*) FROM checkins"), 0); /* cannot read */
    size_t clen = body_of(&relay, a.id->pk, 2, cipher, sizeof cipher);
    OK(store_db_exec(relay.db, "PRAGMA wal_checkpoint(TRUNCATE)"));
    assert_int_equal(hits_in_files(&relay, cipher, clen), 1);

    OK(erase(&a, a.id->pk, 2, T0 + 5, NULL));
    OK(tu_copy(&a, &reader, a.id->pk, 3, 100, &ing, &bad));
    assert_int_equal(ing.stored, 1);
    OK(tu_copy(&a, &relay, a.id->pk, 1, 100, &ing, &bad)); /* 1..3: the held ones are skipped */
    assert_int_equal(ing.already, 2);
    assert_int_equal(ing.stored, 1);
    for (tu_node *n = &reader; n; n = n == &reader ? &relay : NULL) {
        assert_false(has_body(n, a.id->pk, 2));
        assert_int_equal(tu_int(n->db, "SELECT count(*) FROM checkins"), 0);
        assert_int_equal(tu_int(n->db, "SELECT count(*) FROM erased"), 1);
        verify_clean(n);
    }
    assert_int_equal(hits_in_files(&relay, cipher, clen), 0);

    /* `late` never heard of the erasure and offers seq 1..2 with the body again */
    assert_true(has_body(&late, a.id->pk, 2));
    for (tu_node *n = &reader; n; n = n == &reader ? &relay : NULL) {
        OK(tu_copy(&late, n, a.id->pk, 1, 100, &ing, &bad));
        assert_int_equal(ing.already, 2);
        assert_int_equal(ing.stored, 0);
        assert_false(has_body(n, a.id->pk, 2));
        assert_int_equal(tu_int(n->db, "SELECT count(*) FROM checkins"), 0);
    }
    /* and a fresh node that gets the log from `relay` gets no body at seq 2 */
    tu_node fresh;
    tu_node_open_ex(&fresh, f->dir, "fresh", NULL, a.id);
    OK(tu_copy(&relay, &fresh, a.id->pk, 1, 100, &ing, &bad));
    assert_int_equal(ing.stored, 3);
    assert_false(has_body(&fresh, a.id->pk, 2));
    assert_int_equal(tu_int(fresh.db, "SELECT count(*) FROM checkins"), 0);
    verify_clean(&fresh);
    tu_node_close(&fresh);
    tu_node_close(&a);
    tu_node_close(&reader);
    tu_node_close(&relay);
    tu_node_close(&late);
}

/* The office erases a worker's record. Its log travels first (SPEC §7), so the erase may reach
 * a node before the record: the record then arrives and is stored without its body. */
static void
office_erase_arriving_first(void **state)
{
    tu_fixture *f = *state;
    tu_node o, w, n;
    store_ingested ing;
    size_t bad;
    tu_node_open(&o, f->dir, "office");
    tu_node_open(&w, f->dir, "w");
    tu_node_open_ex(&n, f->dir, "n", NULL, w.id); /* reads w's bodies */
    set_office(&o, o.id->pk);
    set_office(&n, o.id->pk);
    OK(tu_checkin(&w, "w-record-1", T0, NULL));     /* seq 1 key, 2 */
    OK(tu_checkin(&w, "w-record-2", T0 + 1, NULL)); /* 3 */
    OK(tu_copy(&w, &o, w.id->pk, 1, 100, &ing, &bad));
    OK(erase(&o, w.id->pk, 2, T0 + 2, NULL));
    assert_false(has_body(&o, w.id->pk, 2));
    assert_true(has_body(&o, w.id->pk, 3));
    /* n gets the office's log first, then w's */
    OK(tu_copy(&o, &n, o.id->pk, 1, 100, &ing, &bad));
    assert_int_equal(tu_int(n.db, "SELECT count(*) FROM erased"), 1);
    OK(tu_copy(&w, &n, w.id->pk, 1, 100, &ing, &bad));
    assert_int_equal(ing.stored, 3);
    assert_false(has_body(&n, w.id->pk, 2));
    assert_true(has_body(&n, w.id->pk, 3));
    verify_clean(&n);
    tu_node_close(&o);
    tu_node_close(&w);
    tu_node_close(&n);
}

/* Erase entries that count for nothing: by a third node, by the author for a seq it has not
 * written yet, and for an entry of a kind that cannot be erased (a key entry). */
static void
erase_that_counts_for_nothing(void **state)
{
    tu_fixture *f = *state;
    tu_node a, x, n;
    store_ingested ing;
    size_t bad;
    tu_node_open(&a, f->dir, "a");
    tu_node_open(&x, f->dir, "x");
    tu_node_open(&n, f->dir, "n");
    OK(tu_checkin(&a, "a-record", T0, NULL)); /* 1 key, 2 */
    OK(tu_copy(&a, &n, a.id->pk, 1, 100, &ing, &bad));
    OK(erase(&x, a.id->pk, 2, T0 + 1, NULL)); /* x is neither the author nor the office */
    OK(tu_copy(&x, &n, x.id->pk, 1, 100, &ing, &bad));
    assert_true(has_body(&n, a.id->pk, 2));
    OK(erase(&a, a.id->pk, 5, T0 + 2, NULL));       /* seq 3: erases seq 5, not written yet */
    OK(erase(&a, a.id->pk, 1, T0 + 3, NULL));       /* seq 4: the key entry */
    OK(tu_checkin(&a, "a-record-5", T0 + 4, NULL)); /* seq 5 */
    assert_true(has_body(&a, a.id->pk, 5));
    assert_true(has_body(&a, a.id->pk, 1));
    OK(tu_copy(&a, &n, a.id->pk, 1, 100, &ing, &bad));
    assert_int_equal(ing.stored, 3);
    assert_true(has_body(&n, a.id->pk, 1));
    assert_true(has_body(&n, a.id->pk, 2));
    assert_true(has_body(&n, a.id->pk, 5));
    assert_int_equal(tu_int(n.db, "SELECT count(*) FROM erased"), 0);
    assert_int_equal(tu_int(a.db, "SELECT count(*) FROM erased"), 0);
    verify_clean(&n);
    tu_node_close(&a);
    tu_node_close(&x);
    tu_node_close(&n);
}

/* Fork evidence at an erased seq loses its body too; its envelope stays as evidence. */
static void
fork_evidence_body_erased(void **state)
{
    tu_fixture *f = *state;
    tu_node a, a2, b;
    store_ingested ing;
    size_t bad;
    tu_node_open(&a, f->dir, "a");
    tu_node_open_ex(&a2, f->dir, "a2", &a, NULL); /* the same key on a second device */
    tu_node_open(&b, f->dir, "b");
    OK(tu_checkin(&a, "laptop", T0, NULL));
    OK(tu_checkin(&a2, "copy", T0 + 1, NULL));
    OK(tu_copy(&a, &b, a.id->pk, 1, 100, &ing, &bad));
    EXPECT(OP_E_FORK, tu_copy(&a2, &b, a.id->pk, 1, 100, &ing, &bad));
    assert_int_equal(tu_int(b.db, "SELECT count(*) FROM forks WHERE body IS NOT NULL"), 1);
    int64_t fork_seq = tu_int(b.db, "SELECT seq FROM forks");
    OK(erase(&a, a.id->pk, (uint64_t)fork_seq, T0 + 2, NULL));
    OK(tu_copy(&a, &b, a.id->pk, 1, 100, &ing, &bad));
    assert_int_equal(tu_int(b.db, "SELECT count(*) FROM forks"), 1);
    assert_int_equal(tu_int(b.db, "SELECT count(*) FROM forks WHERE body IS NOT NULL"), 0);
    tu_node_close(&a);
    tu_node_close(&a2);
    tu_node_close(&b);
}

/* A reader in the middle of a read transaction keeps the checkpoint after the erasure from
 * emptying the WAL: the copy stays until the next commit after the reader is gone, which
 * checkpoints again. */
static void
busy_reader_delays_the_scrub(void **state)
{
    tu_fixture *f = *state;
    tu_node a;
    static const char canary[] = "canary-busy-0a1b2c3d4e5f60718293a4b5c6d7";
    tu_node_open(&a, f->dir, "a");
    OK(tu_checkin(&a, canary, T0, NULL)); /* seq 2 */
    OK(store_db_exec(a.db, "PRAGMA wal_checkpoint(TRUNCATE)"));
    sqlite3 *reader = NULL;
    assert_int_equal(sqlite3_open_v2(a.path, &reader, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_exec(reader, "BEGIN; SELECT count(*) FROM entries;", NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_busy_timeout(store_db_handle(a.db), 50); /* not the 5 s an agent waits */
    OK(erase(&a, a.id->pk, 2, T0 + 1, NULL));
    assert_false(has_body(&a, a.id->pk, 2));
    assert_int_equal(hits_in_files(&a, (const uint8_t *)canary, strlen(canary)), 1);
    sqlite3_exec(reader, "COMMIT", NULL, NULL, NULL);
    sqlite3_close(reader);
    OK(tu_checkin(&a, "the next write", T0 + 2, NULL));
    assert_int_equal(hits_in_files(&a, (const uint8_t *)canary, strlen(canary)), 0);
    tu_node_close(&a);
}

/* The erase body: required `re`, seq 1..2^32-1, plaintext round trip. */
static void
erase_body_rules(void **state)
{
    (void)state;
    proto_body b, d;
    uint8_t buf[256];
    proto_wbuf w;
    proto_body_init(&b, PROTO_KIND_ERASE);
    proto_wbuf_init(&w, buf, sizeof buf);
    EXPECT(OP_E_INVAL, proto_body_encode(&b, &w)); /* no re */
    b.has_re = true;
    memset(b.re.author, 7, PROTO_KEY_BYTES);
    EXPECT(OP_E_INVAL, proto_body_encode(&b, &w)); /* seq 0 */
    b.re.seq = (uint64_t)STORE_SEQ_MAX + 1;
    proto_wbuf_init(&w, buf, sizeof buf);
    EXPECT(OP_E_INVAL, proto_body_encode(&b, &w));
    b.re.seq = 42;
    proto_wbuf_init(&w, buf, sizeof buf);
    OK(proto_body_encode(&b, &w));
    OK(proto_body_decode(PROTO_KIND_ERASE, buf, w.len, &d));
    assert_true(d.has_re);
    assert_int_equal(d.re.seq, 42);
    assert_memory_equal(d.re.author, b.re.author, PROTO_KEY_BYTES);
    proto_body_fini(&d);
    EXPECT(OP_E_INVAL, proto_body_decode(PROTO_KIND_ERASE, (const uint8_t *)"\x80", 1, &d));
    proto_body_fini(&d);
    assert_true(store_erase_kind_ok(PROTO_KIND_CHECKIN));
    assert_true(store_erase_kind_ok(99));
    assert_false(store_erase_kind_ok(PROTO_KIND_KEY));
    assert_false(store_erase_kind_ok(PROTO_KIND_MEMBER));
    assert_false(store_erase_kind_ok(PROTO_KIND_ERASE));
}

/* w's log holding one entry of each kind that cannot be erased, then a check-in: 1 member,
 * 2 revoke, 3 join, 4 receipt, 5 erase (of its own join: counts for nothing), 6 its key entry,
 * 7 the check-in. */
static void
log_of_every_kind(tu_node *w, const uint8_t other[PROTO_KEY_BYTES])
{
    proto_body b;
    store_appended ap;
    proto_receipt_head head = {.seq = 1};
    memcpy(head.author, other, PROTO_KEY_BYTES);
    proto_body_init(&b, PROTO_KIND_MEMBER);
    memcpy(b.key, other, PROTO_KEY_BYTES);
    b.has_key = true;
    b.name = (char *)"Other";
    b.role = (char *)"worker";
    OK(store_log_append(w->db, w->rd, w->id, &b, T0, &ap));
    proto_body_init(&b, PROTO_KIND_REVOKE);
    memcpy(b.key, other, PROTO_KEY_BYTES);
    b.has_key = true;
    OK(store_log_append(w->db, w->rd, w->id, &b, T0 + 1, &ap));
    proto_body_init(&b, PROTO_KIND_JOIN);
    b.name = (char *)"W";
    b.has_proof = true;
    randombytes_buf(b.proof, sizeof b.proof);
    OK(store_log_append(w->db, w->rd, w->id, &b, T0 + 2, &ap));
    proto_body_init(&b, PROTO_KIND_RECEIPT);
    b.heads = &head;
    b.n_heads = 1;
    OK(store_log_append(w->db, w->rd, w->id, &b, T0 + 3, &ap));
    OK(erase(w, w->id->pk, 3, T0 + 4, NULL));
    OK(tu_checkin(w, "w-record", T0 + 5, &ap));
    assert_int_equal(ap.seq, 7);
}

/* The office erases seqs 1..7 of w before any node holds them (an office erasing ahead of what
 * it has seen: a bug or a hostile office). A node that gets the office's log first records
 * tombstones for all seven; then w's log arrives, with its bodies, or (a second node) first
 * without them and then with them (the bodies filled in later). Either way only the check-in's
 * body is dropped: the member, revoke, join, receipt, erase and key entries keep theirs (the
 * key entry's body is what every later body of that epoch needs), and the chain verifies.
 * Before the fix, the filled-in path dropped every body under a tombstone, the key entry's
 * included, so that node could never read w's epoch. */
static void
office_erase_ahead_spares_kinds_that_cannot_be_erased(void **state)
{
    tu_fixture *f = *state;
    tu_node o, w, n1, n2, other;
    store_ingested ing;
    size_t bad;
    tu_node_open(&o, f->dir, "office");
    tu_node_open(&w, f->dir, "w");
    tu_node_open(&other, f->dir, "other");
    tu_node_open_ex(&n1, f->dir, "n1", NULL, w.id); /* both read w's bodies */
    tu_node_open_ex(&n2, f->dir, "n2", NULL, w.id);
    set_office(&o, o.id->pk);
    set_office(&n1, o.id->pk);
    set_office(&n2, o.id->pk);
    for (uint64_t seq = 1; seq <= 7; seq++)
        OK(erase(&o, w.id->pk, seq, T0 + 10 + seq, NULL));
    log_of_every_kind(&w, other.id->pk);
    OK(tu_copy(&o, &n1, o.id->pk, 1, 100, &ing, &bad));
    OK(tu_copy(&o, &n2, o.id->pk, 1, 100, &ing, &bad));
    assert_int_equal(tu_int(n1.db, "SELECT count(*) FROM erased"), 7);
    /* n1: w's log with its bodies */
    OK(tu_copy(&w, &n1, w.id->pk, 1, 100, &ing, &bad));
    assert_int_equal(ing.stored, 7);
    /* n2: without bodies first, then with them */
    store_run run;
    OK(store_log_read(w.db, w.id->pk, 1, 100, &run));
    assert_int_equal(run.n, 7);
    proto_run_item stripped[7];
    memcpy(stripped, run.items, sizeof stripped);
    for (size_t i = 0; i < 7; i++) {
        stripped[i].body = NULL;
        stripped[i].body_len = 0;
    }
    OK(store_log_ingest(n2.db, n2.rd, stripped, 7, T0 + 100, &ing, &bad));
    assert_int_equal(ing.stored, 7);
    OK(store_log_ingest(n2.db, n2.rd, run.items, run.n, T0 + 200, &ing, &bad));
    assert_int_equal(ing.already, 7);
    assert_int_equal(ing.filled, 6);
    store_run_free(&run);
    tu_node *ns[] = {&n1, &n2};
    for (size_t k = 0; k < 2; k++) {
        for (uint64_t seq = 1; seq <= 6; seq++)
            if (!has_body(ns[k], w.id->pk, seq))
                fail_msg("node %zu: the body of seq %llu (not erasable) is gone", k + 1,
                         (unsigned long long)seq);
        assert_false(has_body(ns[k], w.id->pk, 7));
        assert_int_equal(tu_int(ns[k]->db, "SELECT count(*) FROM checkins"), 0);
        assert_int_equal(tu_int(ns[k]->db, "SELECT count(*) FROM key_entries"), 1);
        verify_clean(ns[k]);
    }
    tu_node_close(&o);
    tu_node_close(&w);
    tu_node_close(&other);
    tu_node_close(&n1);
    tu_node_close(&n2);
}

int
main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, tu_setup, tu_teardown)
        T(author_erases_own_record),
        T(erase_spreads_and_body_is_refused_again),
        T(office_erase_arriving_first),
        T(erase_that_counts_for_nothing),
        T(fork_evidence_body_erased),
        T(busy_reader_delays_the_scrub),
        T(erase_body_rules),
        T(office_erase_ahead_spares_kinds_that_cannot_be_erased),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
