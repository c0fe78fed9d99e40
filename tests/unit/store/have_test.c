/*
 * have_test.c — store/have.c: the have-vector summaries of reconciliation (SPEC §7).
 * Proves: buckets hold exactly the authors whose key starts with their byte, ordered by key,
 * authors without entries left out, the last bucket (0xff) included; the root and a bucket's
 * hash depend on the heads, not on the order rows were written, and a moved head changes the
 * root and its own bucket only; bucket 256 is refused; a damaged author key (not 32 bytes) is
 * OP_E_CORRUPT, never a short read; a bucket and a have-vector larger than their first
 * allocation list every author; SQLite out of memory at any allocation of a bucket read is
 * OP_E_NOMEM or the right heads, never "no heads" (a failed bind once made it an empty bucket,
 * and a session sent nothing yet reported the link in sync). Run: ctest -R unit.store.have (no
 * long mode).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "store/have.h"
#include "store_test_util.h"

/* An authors row with key = first byte, then fill; head as given. */
static void
put_author(tu_node *n, uint8_t first, uint8_t fill, int64_t head)
{
    sqlite3_stmt *st;
    uint8_t key[32];
    memset(key, fill, sizeof key);
    key[0] = first;
    assert_int_equal(
        sqlite3_prepare_v2(store_db_handle(n->db),
                           "INSERT INTO authors(key, head_seq) VALUES(?, ?)"
                           " ON CONFLICT(key) DO UPDATE SET head_seq = excluded.head_seq",
                           -1, &st, NULL),
        SQLITE_OK);
    sqlite3_bind_blob(st, 1, key, sizeof key, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, head);
    assert_int_equal(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);
}

static const uint8_t zero8[PROTO_BUCKET_HASH_BYTES];

/* SQLite's allocator with the Nth allocation failing (installed by main, before any use). */
static sqlite3_mem_methods sq_real;
typedef struct oom_state {
    bool armed;
    int n, fail_at, failed;
} oom_state;
static oom_state oom;

static void *
oom_malloc(int n)
{
    if (oom.armed && ++oom.n == oom.fail_at) {
        oom.failed++;
        return NULL;
    }
    return sq_real.xMalloc(n);
}

static void *
oom_realloc(void *p, int n)
{
    if (oom.armed && ++oom.n == oom.fail_at) {
        oom.failed++;
        return NULL;
    }
    return sq_real.xRealloc(p, n);
}

static void
bucket_under_oom(tu_node *a, unsigned bucket, size_t want, uint64_t first_seq)
{
    for (int k = 1; k < 1000; k++) {
        store_head *h = NULL;
        size_t n = 0;
        oom = (oom_state){.armed = true, .fail_at = k};
        op_err r = store_have_bucket(a->db, bucket, &h, &n);
        oom.armed = false;
        if (r == OP_OK) {
            if (n != want || (want && h[0].seq != first_seq))
                fail_msg("bucket %u, allocation %d failing: OP_OK with %zu heads, want %zu", bucket,
                         k, n, want);
        } else if (r != OP_E_NOMEM) {
            fail_msg("bucket %u, allocation %d failing: %s, want NOMEM", bucket, k, op_errname(r));
        }
        free(h);
        if (!oom.failed)
            return; /* the read made fewer than k allocations: every one has failed once */
    }
    fail_msg("bucket %u: still allocating after 1000", bucket);
}

static void
out_of_memory_is_never_an_empty_bucket(void **state)
{
    tu_fixture *f = *state;
    tu_node a;
    tu_node_open(&a, f->dir, "a");
    put_author(&a, 0x00, 0x01, 5);
    put_author(&a, 0x00, 0x02, 3);
    put_author(&a, 0xff, 0xff, 9);
    bucket_under_oom(&a, 0x00, 2, 5); /* ?1 and ?2 bound */
    bucket_under_oom(&a, 0xff, 1, 9); /* ?1 only */
    tu_node_close(&a);
}

static void
buckets_follow_heads(void **state)
{
    tu_fixture *f = *state;
    tu_node a, b;
    store_have_summary sa, sb, sa2;
    store_head *h;
    size_t n;
    tu_node_open(&a, f->dir, "a");
    tu_node_open(&b, f->dir, "b");
    /* the same heads, written in opposite orders */
    put_author(&a, 0x00, 0x02, 3);
    put_author(&a, 0x00, 0x01, 5);
    put_author(&a, 0x7f, 0x00, 1);
    put_author(&a, 0xff, 0xff, 9);
    put_author(&a, 0x40, 0x00, 0); /* known, nothing held: not in the vector */
    put_author(&b, 0x40, 0x00, 0);
    put_author(&b, 0xff, 0xff, 9);
    put_author(&b, 0x7f, 0x00, 1);
    put_author(&b, 0x00, 0x01, 5);
    put_author(&b, 0x00, 0x02, 3);
    OK(store_have_summary_get(a.db, &sa));
    OK(store_have_summary_get(b.db, &sb));
    assert_int_equal(sa.authors, 4);
    assert_memory_equal(sa.root, sb.root, PROTO_ROOT_BYTES);
    assert_memory_equal(sa.buckets, sb.buckets, sizeof sa.buckets);
    for (unsigned k = 0; k < PROTO_BUCKETS; k++) {
        bool used = k == 0x00 || k == 0x7f || k == 0xff;
        bool zero = memcmp(sa.buckets + k * PROTO_BUCKET_HASH_BYTES, zero8, sizeof zero8) == 0;
        if (used == zero)
            fail_msg("bucket %u: hash %s", k, zero ? "zero but used" : "set but empty");
    }

    OK(store_have_bucket(a.db, 0, &h, &n));
    assert_int_equal(n, 2);
    assert_int_equal(h[0].author[1], 0x01); /* ordered by key */
    assert_int_equal(h[0].seq, 5);
    assert_int_equal(h[1].author[1], 0x02);
    assert_int_equal(h[1].seq, 3);
    free(h);
    OK(store_have_bucket(a.db, 0x40, &h, &n));
    assert_int_equal(n, 0);
    free(h);
    OK(store_have_bucket(a.db, 0xfe, &h, &n));
    assert_int_equal(n, 0);
    free(h);
    OK(store_have_bucket(a.db, 0xff, &h, &n));
    assert_int_equal(n, 1);
    assert_int_equal(h[0].author[0], 0xff);
    assert_int_equal(h[0].seq, 9);
    free(h);
    h = (store_head *)&h;
    n = 7;
    EXPECT(OP_E_INVAL, store_have_bucket(a.db, PROTO_BUCKETS, &h, &n));
    assert_null(h);
    assert_int_equal(n, 0);

    /* a head that moves changes the root and its bucket, no other bucket */
    put_author(&a, 0x7f, 0x00, 2);
    OK(store_have_summary_get(a.db, &sa2));
    assert_memory_not_equal(sa.root, sa2.root, PROTO_ROOT_BYTES);
    for (unsigned k = 0; k < PROTO_BUCKETS; k++) {
        bool same = memcmp(sa.buckets + k * PROTO_BUCKET_HASH_BYTES,
                           sa2.buckets + k * PROTO_BUCKET_HASH_BYTES, PROTO_BUCKET_HASH_BYTES) == 0;
        if (same != (k != 0x7f))
            fail_msg("bucket %u %s", k, same ? "did not change" : "changed");
    }
    uint8_t key[32];
    uint64_t seq;
    memset(key, 0, sizeof key);
    key[0] = 0x7f;
    OK(store_have_head(a.db, key, &seq));
    assert_int_equal(seq, 2);
    key[0] = 0x11;
    seq = 99;
    OK(store_have_head(a.db, key, &seq));
    assert_int_equal(seq, 0); /* unknown author: nothing held */
    tu_node_close(&b);
    tu_node_close(&a);
}

/* A key that is not 32 bytes (bit rot, or a hand edit) is reported, not read past. */
static void
damaged_key_is_corrupt(void **state)
{
    tu_fixture *f = *state;
    tu_node a;
    store_have_summary s;
    store_head *h;
    size_t n;
    tu_node_open(&a, f->dir, "a");
    put_author(&a, 0x10, 0x01, 4);
    assert_int_equal(sqlite3_exec(store_db_handle(a.db),
                                  "INSERT INTO authors(key, head_seq) VALUES(x'10aabb', 2)", NULL,
                                  NULL, NULL),
                     SQLITE_OK);
    EXPECT(OP_E_CORRUPT, store_have_summary_get(a.db, &s));
    EXPECT(OP_E_CORRUPT, store_have_bucket(a.db, 0x10, &h, &n));
    assert_null(h);
    assert_int_equal(n, 0);
    OK(store_have_bucket(a.db, 0x11, &h, &n)); /* other buckets still read */
    assert_int_equal(n, 0);
    free(h);
    /* verify names the damage too */
    store_verified vr;
    OK(store_verify(a.db, NULL, &vr));
    assert_true(vr.problems > 0);
    tu_node_close(&a);
}

/* A bucket holding more authors than its first allocation (16) lists every one, in key order,
 * with its head; the have-vector (first allocation 64) lists all 70; an author with head 0 (known
 * by key only) is in neither; and the summary counts the same authors. */
static void
full_bucket_lists_every_author(void **state)
{
    tu_fixture *f = *state;
    tu_node n;
    tu_node_open(&n, f->dir, "n");
    for (int i = 0; i < 70; i++) {
        uint8_t key[32];
        int64_t id;
        randombytes_buf(key, sizeof key);
        key[0] = i < 40 ? 0x42 : 0x43;
        OK(store_db_author_id(n.db, key, &id));
        char sql[96];
        snprintf(sql, sizeof sql, "UPDATE authors SET head_seq = %d WHERE id = %lld", i + 1,
                 (long long)id);
        OK(store_db_exec(n.db, sql));
    }
    uint8_t nobody[32];
    int64_t nid;
    randombytes_buf(nobody, sizeof nobody);
    nobody[0] = 0x42;
    OK(store_db_author_id(n.db, nobody, &nid)); /* head 0 */
    store_head *v;
    size_t len;
    OK(store_have_bucket(n.db, 0x42, &v, &len));
    assert_int_equal(len, 40);
    for (size_t i = 0; i < len; i++) {
        assert_int_equal(v[i].author[0], 0x42);
        assert_true(v[i].seq >= 1 && v[i].seq <= 40);
        if (i > 0)
            assert_true(memcmp(v[i - 1].author, v[i].author, 32) < 0);
    }
    free(v);
    OK(store_log_have(n.db, &v, &len));
    assert_int_equal(len, 70);
    free(v);
    store_have_summary sum;
    OK(store_have_summary_get(n.db, &sum));
    assert_int_equal(sum.authors, 70);
    tu_node_close(&n);
}

int
main(void)
{
    sqlite3_mem_methods m;
    if (sodium_init() < 0 || sqlite3_config(SQLITE_CONFIG_GETMALLOC, &sq_real) != SQLITE_OK)
        return 1;
    m = sq_real;
    m.xMalloc = oom_malloc;
    m.xRealloc = oom_realloc;
    if (sqlite3_config(SQLITE_CONFIG_MALLOC, &m) != SQLITE_OK)
        return 1;
#define T(fn) cmocka_unit_test_setup_teardown(fn, tu_setup, tu_teardown)
    const struct CMUnitTest tests[] = {
        T(buckets_follow_heads),
        T(damaged_key_is_corrupt),
        T(out_of_memory_is_never_an_empty_bucket),
        T(full_bucket_lists_every_author),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
