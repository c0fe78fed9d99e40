/*
 * reader_test.c — store/reader.c: epoch keys found in the author's key entry and opened with
 * this node's identity, cached (keys and misses), and bodies decrypted and decoded; relays and
 * identity-less readers get OP_E_NOKEY, damaged or moved ciphertext OP_E_AUTH; a key entry
 * withheld, undecodable or with a box that does not open gives OP_E_NOKEY.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "proto/seal.h"
#include "store_test_util.h"

static int64_t
author_id(tu_node *n, const uint8_t key[32])
{
    sqlite3_stmt *st;
    int64_t id = -1;
    assert_int_equal(sqlite3_prepare_v2(store_db_handle(n->db),
                                        "SELECT id FROM authors WHERE key = ?", -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_blob(st, 1, key, 32, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW)
        id = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    assert_true(id > 0);
    return id;
}

/* The epoch key of (author of n, epoch) opened by hand from the key entry at seq. */
static void
key_by_hand(tu_node *n, const store_identity *me, uint64_t seq, uint8_t key[32])
{
    store_run run;
    proto_body kb;
    OK(store_log_read(n->db, n->id->pk, seq, 1, &run));
    assert_int_equal(run.n, 1);
    OK(proto_body_decode(PROTO_KIND_KEY, run.items[0].body, run.items[0].body_len, &kb));
    bool found = false;
    for (size_t i = 0; i < kb.n_sealed; i++)
        if (memcmp(kb.sealed[i].reader, me->pk, 32) == 0) {
            OK(proto_open_epoch_key(me->sk, kb.sealed[i].box, key));
            found = true;
        }
    assert_true(found);
    proto_body_fini(&kb);
    store_run_free(&run);
}

/* Envelope and body of entry seq of n's own log. */
typedef struct held {
    store_run run;
    proto_envelope env;
} held;

static void
get_held(tu_node *n, uint64_t seq, held *h)
{
    OK(store_log_read(n->db, n->id->pk, seq, 1, &h->run));
    assert_int_equal(h->run.n, 1);
    OK(proto_envelope_decode(h->run.items[0].env, h->run.items[0].env_len, &h->env));
}

static void
new_and_free(void **state)
{
    (void)state;
    store_reader *rd = (store_reader *)&rd;
    OK(store_reader_new(NULL, &rd));
    assert_non_null(rd);
    store_reader_free(rd);
    store_reader_free(NULL);
}

static void
own_epoch_key_cached_and_from_log(void **state)
{
    tu_fixture *f = *state;
    tu_node a;
    const uint8_t *k;
    uint8_t want[32];
    tu_node_open(&a, f->dir, "a");
    OK(tu_checkin(&a, "x", T0, NULL));
    int64_t me = author_id(&a, a.id->pk);
    key_by_hand(&a, a.id, 1, want);

    /* Remembered when the epoch was made. */
    OK(store_reader_epoch_key(a.rd, a.db, me, 1, &k));
    assert_non_null(k);
    assert_memory_equal(k, want, 32);

    /* A fresh reader finds it in the log, and then has it cached. */
    store_reader *rd;
    OK(store_reader_new(a.id, &rd));
    OK(store_reader_epoch_key(rd, a.db, me, 1, &k));
    assert_memory_equal(k, want, 32);
    tu_raw_exec(a.path, "DELETE FROM key_entries");
    OK(store_reader_epoch_key(rd, a.db, me, 1, &k)); /* from the cache */
    assert_memory_equal(k, want, 32);
    store_reader_free(rd);

    /* Without the key entry, a fresh reader has no key. */
    OK(store_reader_new(a.id, &rd));
    EXPECT(OP_E_NOKEY, store_reader_epoch_key(rd, a.db, me, 1, &k));
    assert_null(k);
    /* An epoch that never was, an author that never was. */
    EXPECT(OP_E_NOKEY, store_reader_epoch_key(rd, a.db, me, 7, &k));
    EXPECT(OP_E_NOKEY, store_reader_epoch_key(rd, a.db, me + 100, 1, &k));
    store_reader_free(rd);
    sodium_memzero(want, sizeof want);
    tu_node_close(&a);
}

static void
body_round_trip_and_tampering(void **state)
{
    tu_fixture *f = *state;
    tu_node a;
    held h;
    proto_body b;
    tu_node_open(&a, f->dir, "a");
    OK(tu_checkin(&a, "all good here", T0, NULL));
    int64_t me = author_id(&a, a.id->pk);
    get_held(&a, 2, &h);
    const uint8_t *body = h.run.items[0].body;
    size_t len = h.run.items[0].body_len;

    OK(store_reader_body(a.rd, a.db, me, &h.env, body, len, &b));
    assert_int_equal(b.kind, PROTO_KIND_CHECKIN);
    assert_string_equal(b.note, "all good here");
    assert_string_equal(b.site, "Aarhus");
    assert_int_equal(b.delivering, PROTO_YES);
    assert_int_equal(b.thriving, PROTO_NO);
    assert_int_equal(b.support, PROTO_YES);
    assert_int_equal(b.energy, 4);
    assert_null(b.wins);
    proto_body_fini(&b);

    /* The key entry (epoch 0) is plaintext: any reader decodes it. */
    held k;
    get_held(&a, 1, &k);
    store_reader *anon;
    OK(store_reader_new(NULL, &anon));
    OK(store_reader_body(anon, a.db, me, &k.env, k.run.items[0].body, k.run.items[0].body_len, &b));
    assert_int_equal(b.kind, PROTO_KIND_KEY);
    assert_int_equal(b.epoch, 1);
    proto_body_fini(&b);
    /* ...but not the check-in. */
    EXPECT(OP_E_NOKEY, store_reader_body(anon, a.db, me, &h.env, body, len, &b));
    proto_body_fini(&b);
    store_reader_free(anon);
    store_run_free(&k.run);

    /* One flipped ciphertext byte, the tag, the nonce. */
    uint8_t *copy = malloc(len);
    assert_non_null(copy);
    size_t spots[] = {0, 23, 24, len / 2, len - 1};
    for (size_t i = 0; i < sizeof spots / sizeof spots[0]; i++) {
        memcpy(copy, body, len);
        copy[spots[i]] ^= 0x80;
        EXPECT(OP_E_AUTH, store_reader_body(a.rd, a.db, me, &h.env, copy, len, &b));
        proto_body_fini(&b);
    }
    /* Cut short: below the overhead, and just cut. */
    EXPECT(OP_E_TRUNCATED, store_reader_body(a.rd, a.db, me, &h.env, body, 39, &b));
    proto_body_fini(&b);
    EXPECT(OP_E_AUTH, store_reader_body(a.rd, a.db, me, &h.env, body, len - 1, &b));
    proto_body_fini(&b);
    EXPECT(OP_E_TRUNCATED, store_reader_body(a.rd, a.db, me, &h.env, body, 0, &b));
    proto_body_fini(&b);

    /* The body moved to another seq or kind (associated data): it does not open. */
    proto_envelope moved = h.env;
    moved.seq = 3;
    EXPECT(OP_E_AUTH, store_reader_body(a.rd, a.db, me, &moved, body, len, &b));
    proto_body_fini(&b);
    moved = h.env;
    moved.kind = PROTO_KIND_KPI_VALUE;
    EXPECT(OP_E_AUTH, store_reader_body(a.rd, a.db, me, &moved, body, len, &b));
    proto_body_fini(&b);
    moved = h.env;
    moved.epoch = 2; /* no such epoch */
    EXPECT(OP_E_NOKEY, store_reader_body(a.rd, a.db, me, &moved, body, len, &b));
    proto_body_fini(&b);

    /* Still fine afterwards. */
    OK(store_reader_body(a.rd, a.db, me, &h.env, body, len, &b));
    assert_string_equal(b.note, "all good here");
    proto_body_fini(&b);
    free(copy);
    store_run_free(&h.run);
    tu_node_close(&a);
}

static void
not_a_reader_gets_nokey(void **state)
{
    tu_fixture *f = *state;
    tu_node a, b;
    tu_node_open(&a, f->dir, "a");
    tu_node_open(&b, f->dir, "b");
    OK(tu_checkin(&a, "secret", T0, NULL));
    OK(tu_copy(&a, &b, a.id->pk, 1, 100, NULL, NULL));
    int64_t ida = author_id(&b, a.id->pk);

    const uint8_t *k;
    EXPECT(OP_E_NOKEY, store_reader_epoch_key(b.rd, b.db, ida, 1, &k));
    assert_null(k);
    EXPECT(OP_E_NOKEY, store_reader_epoch_key(b.rd, b.db, ida, 1, &k)); /* cached miss */

    /* A miss is replaced when the key becomes known. */
    uint8_t fake[32];
    randombytes_buf(fake, sizeof fake);
    store_reader_remember(b.rd, ida, 1, fake);
    OK(store_reader_epoch_key(b.rd, b.db, ida, 1, &k));
    assert_memory_equal(k, fake, 32);

    /* With A's identity the same store reads it. */
    store_reader *as_a;
    OK(store_reader_new(a.id, &as_a));
    OK(store_reader_epoch_key(as_a, b.db, ida, 1, &k));
    uint8_t want[32];
    key_by_hand(&a, a.id, 1, want);
    assert_memory_equal(k, want, 32);
    store_reader_free(as_a);
    tu_node_close(&b);
    tu_node_close(&a);
}

/* "Misses are cached too ...; a newly stored key entry clears them." */
static void
cached_miss_cleared_by_key_entry(void **state)
{
    tu_fixture *f = *state;
    tu_node a, c;
    const uint8_t *k;
    tu_node_open(&a, f->dir, "a");
    tu_node_open_ex(&c, f->dir, "c", NULL, a.id);
    tu_checkins(&a, "m", 2, T0);

    /* C asks before it holds anything: author row 1 (the first it will see), epoch 1. */
    EXPECT(OP_E_NOKEY, store_reader_epoch_key(c.rd, c.db, 1, 1, &k));
    OK(tu_copy(&a, &c, a.id->pk, 1, 100, NULL, NULL));
    assert_int_equal(author_id(&c, a.id->pk), 1);
    assert_int_equal(tu_int(c.db, "SELECT count(*) FROM checkins"), 2);
    OK(store_reader_epoch_key(c.rd, c.db, 1, 1, &k));

    /* forget() is a no-op for keys and for pairs never seen. */
    store_reader_forget(c.rd, 1, 1);
    OK(store_reader_epoch_key(c.rd, c.db, 1, 1, &k));
    store_reader_forget(c.rd, 42, 42);
    tu_node_close(&c);
    tu_node_close(&a);
}

static void
cache_survives_many_epochs(void **state)
{
    tu_fixture *f = *state;
    tu_node a;
    const uint8_t *k;
    uint8_t want[32];
    tu_node_open(&a, f->dir, "a");
    OK(tu_checkin(&a, "x", T0, NULL));
    int64_t me = author_id(&a, a.id->pk);
    key_by_hand(&a, a.id, 1, want);

    /* Far more (author, epoch) pairs than the cache holds: keys and misses. */
    uint8_t keys[200][32];
    for (int i = 0; i < 200; i++) {
        randombytes_buf(keys[i], 32);
        store_reader_remember(a.rd, 1000 + i, 1, keys[i]);
        EXPECT(OP_E_NOKEY, store_reader_epoch_key(a.rd, a.db, 5000 + i, 1, &k));
    }
    /* The most recent is still cached; evicted ones are looked up again. */
    OK(store_reader_epoch_key(a.rd, a.db, 1199, 1, &k));
    assert_memory_equal(k, keys[199], 32);
    OK(store_reader_epoch_key(a.rd, a.db, me, 1, &k));
    assert_memory_equal(k, want, 32);
    /* Remembering twice keeps one slot with the newer key. */
    store_reader_remember(a.rd, 77, 3, keys[0]);
    store_reader_remember(a.rd, 77, 3, keys[1]);
    OK(store_reader_epoch_key(a.rd, a.db, 77, 3, &k));
    assert_memory_equal(k, keys[1], 32);
    /* And appending still works with a churned cache. */
    OK(tu_checkin(&a, "y", T0 + 1, NULL));
    assert_int_equal(tu_int(a.db, "SELECT count(*) FROM checkins"), 2);
    tu_node_close(&a);
}

/* Sets the body of a's key entry (seq 1) at n to the given bytes (NULL: no body). */
static void
set_key_body(tu_node *n, const uint8_t *body, size_t len)
{
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(store_db_handle(n->db),
                                        "UPDATE entries SET body = ? WHERE seq = 1 AND kind = 8",
                                        -1, &st, NULL),
                     SQLITE_OK);
    if (body)
        sqlite3_bind_blob(st, 1, body, (int)len, SQLITE_TRANSIENT);
    assert_int_equal(sqlite3_step(st), SQLITE_DONE);
    assert_int_equal(sqlite3_changes(store_db_handle(n->db)), 1);
    sqlite3_finalize(st);
}

/* A key entry this node cannot use gives OP_E_NOKEY ("cannot read it"), never a crash or a
 * wrong key: its body withheld (a relay stripped it), bytes that do not decode, and a box
 * addressed to this node that does not open. With the real body back, a fresh reader opens
 * the epoch and the body. */
static void
unusable_key_entries_give_nokey(void **state)
{
    tu_fixture *f = *state;
    tu_node a, n;
    store_appended ap;
    tu_node_open(&a, f->dir, "a");
    tu_node_open_ex(&n, f->dir, "n", NULL, a.id); /* n reads as a */
    OK(tu_checkin(&a, "secret", T0, &ap));        /* 1 key entry, 2 check-in */
    OK(tu_copy(&a, &n, a.id->pk, 1, 10, NULL, NULL));
    int64_t aid = author_id(&n, a.id->pk);
    store_run run;
    OK(store_log_read(n.db, a.id->pk, 1, 2, &run));
    proto_envelope e;
    OK(proto_envelope_decode(run.items[1].env, run.items[1].env_len, &e));
    assert_true(e.epoch > 0);

    /* a key body whose box for a is 80 random bytes */
    proto_sealed sealed;
    memset(&sealed, 0, sizeof sealed);
    memcpy(sealed.reader, a.id->pk, 32);
    randombytes_buf(sealed.box, sizeof sealed.box);
    proto_body kb;
    proto_body_init(&kb, PROTO_KIND_KEY);
    kb.epoch = e.epoch;
    kb.sealed = &sealed;
    kb.n_sealed = 1;
    uint8_t forged[512];
    proto_wbuf w;
    proto_wbuf_init(&w, forged, sizeof forged);
    OK(proto_body_encode(&kb, &w));
    static const uint8_t junk[] = {0xc1, 0x00, 0x01};
    struct {
        const char *what;
        const uint8_t *body;
        size_t len;
    } cases[] = {{"withheld", NULL, 0},
                 {"not msgpack", junk, sizeof junk},
                 {"box does not open", forged, w.len}};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        store_reader *rd;
        const uint8_t *key = (const uint8_t *)"x";
        proto_body b;
        set_key_body(&n, cases[k].body, cases[k].len);
        OK(store_reader_new(a.id, &rd));
        op_err r = store_reader_epoch_key(rd, n.db, aid, e.epoch, &key);
        if (r != OP_E_NOKEY || key != NULL)
            fail_msg("%s: %s", cases[k].what, op_errname(r));
        EXPECT(OP_E_NOKEY,
               store_reader_body(rd, n.db, aid, &e, run.items[1].body, run.items[1].body_len, &b));
        proto_body_fini(&b);
        store_reader_free(rd);
    }
    set_key_body(&n, run.items[0].body, run.items[0].body_len);
    store_reader *rd;
    proto_body b;
    OK(store_reader_new(a.id, &rd));
    OK(store_reader_body(rd, n.db, aid, &e, run.items[1].body, run.items[1].body_len, &b));
    assert_string_equal(b.note, "secret");
    proto_body_fini(&b);
    store_reader_free(rd);
    store_reader_clear(NULL); /* NULL-safe, as store_reader_free */
    store_run_free(&run);
    tu_node_close(&n);
    tu_node_close(&a);
}

int
main(void)
{
    if (sodium_init() < 0)
        return 1;
#define T(fn) cmocka_unit_test_setup_teardown(fn, tu_setup, tu_teardown)
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(new_and_free),      T(own_epoch_key_cached_and_from_log),
        T(body_round_trip_and_tampering),    T(not_a_reader_gets_nokey),
        T(cached_miss_cleared_by_key_entry), T(cache_survives_many_epochs),
        T(unusable_key_entries_give_nokey),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
