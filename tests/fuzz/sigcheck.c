/*
 * sigcheck.c — the real build checks the signatures that fuzz builds skip (TESTING §D3).
 *
 * tools/fuzz.sh defines FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION, under which
 * proto_envelope_verify_sig accepts any signature so that fuzzers reach the chain logic. This
 * test, built by the normal CMake build (ctest: fuzz.sigcheck), proves that the build everyone
 * ships is not that one: it refuses to compile with the macro, and at run time a run whose head
 * signature has any one bit flipped, or was made by another key, is refused (OP_E_AUTH) by
 * proto_envelope_verify_sig, proto_run_verify and store_log_ingest (nothing stored), and
 * store_verify reports a stored entry with a bad signature.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "proto/entry.h"
#include "store/db.h"
#include "store/log.h"
#include "store/verify.h"

#include "tests/fuzz/fuzz.h"
#include "tests/fuzz/team.h"

#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
#error "fuzz.sigcheck must be built without FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION"
#endif

static int
setup(void **state)
{
    (void)state;
    fuzz_sodium_init();
    team_build();
    return 0;
}

static const store_run *
w1(void)
{
    return &pool[1];
}

/* Every single-bit flip of the head's signature, and a signature by another key, fail. */
static void
test_flipped_signature_refused(void **state)
{
    (void)state;
    const store_run *run = w1();
    size_t n = run->n, bad;
    proto_run_item items[16];
    proto_envelope envs[16];
    uint8_t hashes[16][PROTO_HASH_BYTES], env[PROTO_ENVELOPE_MAX_BYTES];
    assert_true(n <= 16);
    memcpy(items, run->items, n * sizeof *items);
    assert_int_equal(proto_run_verify(items, n, envs, hashes, &bad), OP_OK);

    size_t el = items[n - 1].env_len;
    memcpy(env, items[n - 1].env, el);
    items[n - 1].env = env;
    for (size_t bit = 0; bit < 8 * PROTO_SIG_BYTES; bit++) {
        env[el - PROTO_SIG_BYTES + bit / 8] ^= (uint8_t)(1u << (bit % 8));
        proto_envelope e;
        assert_int_equal(proto_envelope_decode(env, el, &e), OP_OK);
        assert_int_equal(proto_envelope_verify_sig(&e, env, el), OP_E_AUTH);
        assert_int_equal(proto_run_verify(items, n, envs, hashes, &bad), OP_E_AUTH);
        assert_int_equal(bad, n - 1);
        env[el - PROTO_SIG_BYTES + bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
    /* The right shape, signed by W2 instead of W1. */
    proto_envelope e;
    size_t len;
    assert_int_equal(proto_envelope_decode(env, el, &e), OP_OK);
    memcpy(e.author, ids[2].pk, PROTO_KEY_BYTES);
    assert_int_equal(proto_envelope_sign(&e, ids[2].sk, env, sizeof env, &len), OP_OK);
    proto_envelope d;
    assert_int_equal(proto_envelope_decode(env, len, &d), OP_OK);
    memcpy(d.author, ids[1].pk, PROTO_KEY_BYTES); /* claim it is W1's */
    assert_int_equal(proto_envelope_verify_sig(&d, env, len), OP_E_AUTH);
}

/* store_log_ingest refuses a run with a bad head signature and stores none of it. */
static void
test_ingest_refuses_bad_signature(void **state)
{
    (void)state;
    const store_run *run = w1();
    size_t n = run->n, bad = 0;
    proto_run_item items[16];
    uint8_t env[PROTO_ENVELOPE_MAX_BYTES];
    store_db *db;
    store_reader *rd;
    store_ingested ing;
    memcpy(items, run->items, n * sizeof *items);
    memcpy(env, items[n - 1].env, items[n - 1].env_len);
    env[items[n - 1].env_len - 1] ^= 0x40;
    items[n - 1].env = env;

    team_node_open(&ids[0], true, &db, &rd);
    assert_int_equal(store_log_ingest(db, rd, items, n, T0, &ing, &bad), OP_E_AUTH);
    assert_int_equal(bad, n - 1);
    assert_int_equal(ing.stored, 0);
    store_head *heads;
    size_t nh;
    assert_int_equal(store_log_have(db, &heads, &nh), OP_OK);
    assert_int_equal(nh, 0);
    free(heads);
    /* The intact run goes in. */
    assert_int_equal(store_log_ingest(db, rd, run->items, n, T0, &ing, &bad), OP_OK);
    assert_int_equal(ing.stored, n);

    /* A signature damaged in the store is found by store_verify. */
    sqlite3 *h = store_db_handle(db);
    assert_int_equal(sqlite3_exec(h,
                                  "UPDATE entries SET envelope = substr(envelope, 1,"
                                  " length(envelope) - 1) || x'00' WHERE seq = 2",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    store_verified v;
    store_verify_cb cb = {0};
    assert_int_equal(store_verify(db, &cb, &v), OP_OK);
    assert_true(v.problems >= 1);
    store_reader_free(rd);
    store_db_close(db);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flipped_signature_refused),
        cmocka_unit_test(test_ingest_refuses_bad_signature),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
