/*
 * seal_test.c — proto/seal.h: bodies under epoch keys (XChaCha20-Poly1305 with author, seq and
 * kind as associated data), epoch keys sealed to readers, and keys as text (SPEC §6).
 */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "proto/seal.h"
#include "testutil.h"

typedef struct kp {
    uint8_t pk[crypto_sign_PUBLICKEYBYTES];
    uint8_t sk[crypto_sign_SECRETKEYBYTES];
} kp;

static kp alice, bob, carol;

/* True if needle (n bytes) occurs in hay (h bytes). */
static bool
contains(const uint8_t *hay, size_t h, const void *needle, size_t n)
{
    for (size_t i = 0; i + n <= h; i++)
        if (memcmp(hay + i, needle, n) == 0)
            return true;
    return false;
}
static uint8_t epoch_key[PROTO_EPOCH_KEY_BYTES];

static const uint8_t plain[] = "\x84\xaa" "delivering" "\xc3\xa6" "energy" "\x04\xa4" "note"
                               "\xa5" "rainy\xa4" "site\xa3" "Kis";

/* Seals plain for (alice, 7, checkin); returns the sealed length. */
static size_t
seal_sample(uint8_t *out, size_t max)
{
    size_t n = 0;
    assert_ok(proto_seal_body(epoch_key, alice.pk, 7, PROTO_KIND_CHECKIN, plain, sizeof plain - 1,
                              out, max, &n));
    return n;
}

static void
test_body_round_trip(void **state)
{
    (void)state;
    uint8_t sealed[256], opened[256], again[256];
    size_t n = seal_sample(sealed, sizeof sealed), m = 0;
    assert_int_equal(n, sizeof plain - 1 + PROTO_SEAL_OVERHEAD);
    assert_ok(proto_open_body(epoch_key, alice.pk, 7, PROTO_KIND_CHECKIN, sealed, n, opened,
                              sizeof opened, &m));
    assert_int_equal(m, sizeof plain - 1);
    assert_memory_equal(opened, plain, m);
    /* the plaintext does not appear in the output */
    assert_false(contains(sealed, n, "rainy", 5));
    /* a fresh nonce each time: two seals of the same body differ */
    size_t n2 = seal_sample(again, sizeof again);
    assert_int_equal(n2, n);
    assert_memory_not_equal(again, sealed, 24);
    assert_memory_not_equal(again + 24, sealed + 24, n - 24);
    assert_ok(proto_open_body(epoch_key, alice.pk, 7, PROTO_KIND_CHECKIN, again, n2, opened,
                              sizeof opened, &m));
    assert_memory_equal(opened, plain, m);

    /* the empty body */
    assert_ok(proto_seal_body(epoch_key, alice.pk, 1, PROTO_KIND_CHECKIN, NULL, 0, sealed,
                              sizeof sealed, &n));
    assert_int_equal(n, PROTO_SEAL_OVERHEAD);
    m = 99;
    assert_ok(proto_open_body(epoch_key, alice.pk, 1, PROTO_KIND_CHECKIN, sealed, n, opened,
                              sizeof opened, &m));
    assert_int_equal(m, 0);
}

/* A body cannot be opened under another key, or moved to another entry (author, seq, kind). */
static void
test_open_wrong_context(void **state)
{
    (void)state;
    uint8_t sealed[256], opened[256], other_key[PROTO_EPOCH_KEY_BYTES], author[32];
    size_t n = seal_sample(sealed, sizeof sealed), m;

    memcpy(other_key, epoch_key, sizeof other_key);
    other_key[0] ^= 1;
    m = 99;
    assert_err(proto_open_body(other_key, alice.pk, 7, PROTO_KIND_CHECKIN, sealed, n, opened,
                               sizeof opened, &m),
               OP_E_AUTH);
    assert_int_equal(m, 0);
    /* every seq and kind differing in one bit (all 8 bytes of each are in the AD) */
    for (int bit = 0; bit < 64; bit++) {
        uint64_t flip = 1ull << bit;
        assert_err_at(proto_open_body(epoch_key, alice.pk, 7 ^ flip, PROTO_KIND_CHECKIN, sealed,
                                      n, opened, sizeof opened, &m),
                      OP_E_AUTH, bit);
        assert_err_at(proto_open_body(epoch_key, alice.pk, 7, PROTO_KIND_CHECKIN ^ flip, sealed,
                                      n, opened, sizeof opened, &m),
                      OP_E_AUTH, bit);
    }
    /* seq and kind swapped */
    assert_err(proto_open_body(epoch_key, alice.pk, PROTO_KIND_CHECKIN, 7, sealed, n, opened,
                               sizeof opened, &m),
               OP_E_AUTH);
    /* another author, and every byte of the author */
    assert_err(proto_open_body(epoch_key, bob.pk, 7, PROTO_KIND_CHECKIN, sealed, n, opened,
                               sizeof opened, &m),
               OP_E_AUTH);
    for (size_t i = 0; i < 32; i++) {
        memcpy(author, alice.pk, 32);
        author[i] ^= 0x80;
        assert_err_at(proto_open_body(epoch_key, author, 7, PROTO_KIND_CHECKIN, sealed, n, opened,
                                      sizeof opened, &m),
                      OP_E_AUTH, i);
    }
    /* and the right context still opens it */
    assert_ok(proto_open_body(epoch_key, alice.pk, 7, PROTO_KIND_CHECKIN, sealed, n, opened,
                              sizeof opened, &m));
}

/* Shorter than nonce + tag: OP_E_TRUNCATED. Cut anywhere after that: OP_E_AUTH. */
static void
test_open_short(void **state)
{
    (void)state;
    uint8_t sealed[256], opened[256];
    size_t n = seal_sample(sealed, sizeof sealed), m;
    for (size_t k = 0; k < n; k++) {
        uint8_t *cut = malloc(k ? k : 1); /* exactly k bytes, for ASan */
        assert_non_null(cut);
        memcpy(cut, sealed, k);
        op_err want = k < PROTO_SEAL_OVERHEAD ? OP_E_TRUNCATED : OP_E_AUTH;
        m = 99;
        assert_err_at(proto_open_body(epoch_key, alice.pk, 7, PROTO_KIND_CHECKIN, cut, k, opened,
                                      sizeof opened, &m),
                      want, k);
        assert_int_equal(m, 0);
        free(cut);
    }
    /* a trailing byte does not open either */
    sealed[n] = 0;
    assert_err(proto_open_body(epoch_key, alice.pk, 7, PROTO_KIND_CHECKIN, sealed, n + 1, opened,
                               sizeof opened, &m),
               OP_E_AUTH);
}

/* Any single bit flipped in a sealed body: it does not open. */
static void
test_open_bitflip_every_bit(void **state)
{
    (void)state;
    uint8_t sealed[256], opened[256];
    size_t n = seal_sample(sealed, sizeof sealed), m;
    for (size_t bit = 0; bit < n * 8; bit++) {
        sealed[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        assert_err_at(proto_open_body(epoch_key, alice.pk, 7, PROTO_KIND_CHECKIN, sealed, n,
                                      opened, sizeof opened, &m),
                      OP_E_AUTH, bit);
        sealed[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
    assert_ok(proto_open_body(epoch_key, alice.pk, 7, PROTO_KIND_CHECKIN, sealed, n, opened,
                              sizeof opened, &m));
}

/*
 * An encrypted entry as it travels: envelope (epoch 1) + sealed body. Flipping any bit of the
 * body makes proto_run_verify report OP_E_BODYHASH and proto_open_body OP_E_AUTH.
 */
static void
test_sealed_entry_bitflip(void **state)
{
    (void)state;
    uint8_t sealed[256], opened[256], env[PROTO_ENVELOPE_MAX_BYTES];
    size_t n = seal_sample(sealed, sizeof sealed), m, env_len, bad;
    proto_envelope e, envs[1];
    uint8_t hashes[1][PROTO_HASH_BYTES];

    memset(&e, 0, sizeof e);
    memcpy(e.author, alice.pk, 32);
    e.seq = 7;
    memset(e.prev, 0x77, sizeof e.prev);
    e.ts = 1700000000000ull;
    e.kind = PROTO_KIND_CHECKIN;
    e.epoch = 1;
    proto_hash(sealed, n, e.body_hash);
    assert_ok(proto_envelope_sign(&e, alice.sk, env, sizeof env, &env_len));
    proto_run_item it = {env, env_len, sealed, n};
    assert_ok(proto_run_verify(&it, 1, envs, hashes, &bad));
    assert_ok(proto_open_body(epoch_key, envs[0].author, envs[0].seq, envs[0].kind, sealed, n,
                              opened, sizeof opened, &m));
    assert_memory_equal(opened, plain, m);

    for (size_t bit = 0; bit < n * 8; bit++) {
        sealed[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        assert_err_at(proto_run_verify(&it, 1, envs, hashes, &bad), OP_E_BODYHASH, bit);
        assert_int_equal(bad, 0);
        assert_err_at(proto_open_body(epoch_key, alice.pk, 7, PROTO_KIND_CHECKIN, sealed, n,
                                      opened, sizeof opened, &m),
                      OP_E_AUTH, bit);
        sealed[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
    assert_ok(proto_run_verify(&it, 1, envs, hashes, &bad));
}

/* Size limits: a sealed body fits PROTO_BODY_MAX_BYTES; output buffers are never overrun. */
static void
test_body_caps(void **state)
{
    (void)state;
    size_t big = PROTO_BODY_MAX_BYTES - PROTO_SEAL_OVERHEAD;
    uint8_t *p = calloc(1, big + 2);
    uint8_t *out = malloc(PROTO_BODY_MAX_BYTES + 8);
    uint8_t *back = malloc(PROTO_BODY_MAX_BYTES);
    assert_non_null(p);
    assert_non_null(out);
    assert_non_null(back);
    size_t n = 99, m = 99;

    /* the largest plaintext: sealed, it is exactly PROTO_BODY_MAX_BYTES */
    assert_ok(proto_seal_body(epoch_key, alice.pk, 1, 1, p, big, out, PROTO_BODY_MAX_BYTES, &n));
    assert_int_equal(n, PROTO_BODY_MAX_BYTES);
    assert_ok(proto_open_body(epoch_key, alice.pk, 1, 1, out, n, back, big, &m));
    assert_int_equal(m, big);
    /* open into one byte less than the plaintext: refused before decrypting */
    m = 99;
    assert_err(proto_open_body(epoch_key, alice.pk, 1, 1, out, n, back, big - 1, &m),
               OP_E_TOOBIG);
    assert_int_equal(m, 0);
    /* one byte more plaintext: too big, whatever the output capacity */
    n = 99;
    assert_err(proto_seal_body(epoch_key, alice.pk, 1, 1, p, big + 1, out,
                               PROTO_BODY_MAX_BYTES + 8, &n),
               OP_E_TOOBIG);
    assert_int_equal(n, 0);
    /* an output one byte short */
    for (size_t len = 0; len <= 64; len += 16)
        for (size_t cap = 0; cap < len + PROTO_SEAL_OVERHEAD; cap++) {
            uint8_t *small = malloc(cap ? cap : 1); /* exactly cap bytes, for ASan */
            assert_non_null(small);
            n = 99;
            assert_err_at(proto_seal_body(epoch_key, alice.pk, 1, 1, p, len, small, cap, &n),
                          OP_E_TOOBIG, cap);
            assert_int_equal(n, 0);
            free(small);
        }
    /* a hostile plaintext length cannot wrap the capacity check */
    assert_err(proto_seal_body(epoch_key, alice.pk, 1, 1, p, SIZE_MAX, out, 64, &n), OP_E_TOOBIG);
    assert_err(proto_seal_body(epoch_key, alice.pk, 1, 1, p, SIZE_MAX - 39, out, 64, &n),
               OP_E_TOOBIG);
    free(p);
    free(out);
    free(back);
}

/* An epoch key sealed to a reader opens with that reader's ed25519 secret key only. */
static void
test_epoch_key_seal_open(void **state)
{
    (void)state;
    uint8_t box[PROTO_SEALED_BYTES], got[PROTO_EPOCH_KEY_BYTES];
    assert_ok(proto_seal_epoch_key(alice.pk, epoch_key, box));
    assert_ok(proto_open_epoch_key(alice.sk, box, got));
    assert_memory_equal(got, epoch_key, sizeof got);
    assert_err(proto_open_epoch_key(bob.sk, box, got), OP_E_AUTH);
    assert_err(proto_open_epoch_key(carol.sk, box, got), OP_E_AUTH);
    /* one box per reader; each opens only its own */
    uint8_t boxes[3][PROTO_SEALED_BYTES];
    const kp *readers[3] = {&alice, &bob, &carol};
    for (size_t i = 0; i < 3; i++)
        assert_ok(proto_seal_epoch_key(readers[i]->pk, epoch_key, boxes[i]));
    for (size_t i = 0; i < 3; i++)
        for (size_t j = 0; j < 3; j++) {
            memset(got, 0, sizeof got);
            op_err r = proto_open_epoch_key(readers[j]->sk, boxes[i], got);
            if (i == j) {
                assert_ok(r);
                assert_memory_equal(got, epoch_key, sizeof got);
            } else {
                assert_err(r, OP_E_AUTH);
            }
        }
    /* the key does not appear in the box */
    assert_false(contains(box, sizeof box, epoch_key, 8));
    /* every bit of the box */
    for (size_t bit = 0; bit < sizeof box * 8; bit++) {
        box[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        assert_err_at(proto_open_epoch_key(alice.sk, box, got), OP_E_AUTH, bit);
        box[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
    assert_ok(proto_open_epoch_key(alice.sk, box, got));
}

/* A reader key that is not a usable curve point: OP_E_INVAL. */
static void
test_epoch_key_bad_reader(void **state)
{
    (void)state;
    uint8_t box[PROTO_SEALED_BYTES], reader[32];
    memset(reader, 0, sizeof reader); /* a small-order point */
    assert_err(proto_seal_epoch_key(reader, epoch_key, box), OP_E_INVAL);
    reader[0] = 1; /* the identity */
    assert_err(proto_seal_epoch_key(reader, epoch_key, box), OP_E_INVAL);
    /* a secret key whose public half is not a usable point opens nothing */
    uint8_t sk[PROTO_SECRET_BYTES], got[PROTO_EPOCH_KEY_BYTES];
    assert_ok(proto_seal_epoch_key(alice.pk, epoch_key, box));
    memcpy(sk, alice.sk, sizeof sk);
    memset(sk + 32, 0, 32);
    assert_true(proto_open_epoch_key(sk, box, got) != OP_OK);
}

static void
test_epoch_key_new(void **state)
{
    (void)state;
    uint8_t a[PROTO_EPOCH_KEY_BYTES], b[PROTO_EPOCH_KEY_BYTES], zero[PROTO_EPOCH_KEY_BYTES];
    memset(zero, 0, sizeof zero);
    proto_epoch_key_new(a);
    proto_epoch_key_new(b);
    assert_memory_not_equal(a, b, sizeof a);
    assert_memory_not_equal(a, zero, sizeof a);
}

static void
test_key_text_round_trip(void **state)
{
    (void)state;
    char text[PROTO_KEY_TEXT_BYTES];
    uint8_t key[32], back[32];
    /* known answers */
    memset(key, 0, sizeof key);
    proto_key_to_text(key, text);
    assert_string_equal(text, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
    memset(key, 0xff, sizeof key);
    proto_key_to_text(key, text);
    assert_string_equal(text, "//////////////////////////////////////////8=");
    for (size_t i = 0; i < 32; i++)
        key[i] = (uint8_t)i;
    proto_key_to_text(key, text);
    assert_string_equal(text, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=");
    assert_ok(proto_key_from_text(text, back));
    assert_memory_equal(back, key, 32);
    /* real keys */
    const kp *ks[3] = {&alice, &bob, &carol};
    for (size_t i = 0; i < 3; i++) {
        proto_key_to_text(ks[i]->pk, text);
        assert_int_equal(strlen(text), 44);
        assert_ok(proto_key_from_text(text, back));
        assert_memory_equal(back, ks[i]->pk, 32);
    }
    /* many byte patterns, deterministically */
    for (unsigned s = 0; s < 256; s++) {
        for (size_t i = 0; i < 32; i++)
            key[i] = (uint8_t)(s * 31 + i * 7 + (s ^ i));
        proto_key_to_text(key, text);
        assert_int_equal(strlen(text), 44);
        assert_int_equal(text[43], '=');
        assert_ok(proto_key_from_text(text, back));
        assert_memory_equal(back, key, 32);
    }
}

static void
test_key_text_refused(void **state)
{
    (void)state;
    const char *good = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    uint8_t key[32];
    char s[64];
    static const char *bad[] = {
        "",
        "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8",   /* 43: no padding */
        "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8==", /* 45 */
        "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8A",  /* 44, 33 bytes' worth */
        "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh==",  /* 44, 31 bytes */
        "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh9=",  /* non-zero padding bits */
        "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh/=",
        "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8= ", /* 45 with a space */
        " AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
        "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd Hh8",
        "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8\n",
        "=AECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8A",
        "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd=h8A",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_err_at(proto_key_from_text(bad[i], key), OP_E_INVAL, i);
    /* each position replaced by each character outside the standard alphabet */
    static const char outside[] = "-_!.~ \t*$%";
    for (size_t pos = 0; pos < 44; pos++)
        for (size_t c = 0; c < sizeof outside - 1; c++) {
            strcpy(s, good);
            s[pos] = outside[c];
            assert_err_at(proto_key_from_text(s, key), OP_E_INVAL, pos * 100 + c);
        }
    /* the URL-safe alphabet is not ours */
    uint8_t ff[32];
    memset(ff, 0xff, sizeof ff);
    assert_err(proto_key_from_text("__________________________________________8=", key),
               OP_E_INVAL);
    assert_ok(proto_key_from_text("//////////////////////////////////////////8=", key));
    assert_memory_equal(key, ff, 32);
    assert_ok(proto_key_from_text(good, key));
}

/* libsodium 1.0.18 decodes some bytes over 0x7f as base64 digits; a key text must not. */
static void
test_key_text_high_bytes(void **state)
{
    (void)state;
    uint8_t key[32], back[32];
    char text[PROTO_KEY_TEXT_BYTES];
    memset(key, 0x5a, sizeof key);
    proto_key_to_text(key, text);
    for (int pos = 0; pos < 43; pos++) {
        char t[PROTO_KEY_TEXT_BYTES];
        memcpy(t, text, sizeof t);
        t[pos] = (char)0xc3;
        assert_int_equal(proto_key_from_text(t, back), OP_E_INVAL);
    }
}

int
main(void)
{
    if (sodium_init() < 0)
        return 1;
    if (crypto_sign_keypair(alice.pk, alice.sk) != 0 || crypto_sign_keypair(bob.pk, bob.sk) != 0 ||
        crypto_sign_keypair(carol.pk, carol.sk) != 0)
        return 1;
    proto_epoch_key_new(epoch_key);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_text_high_bytes),
        cmocka_unit_test(test_body_round_trip),
        cmocka_unit_test(test_open_wrong_context),
        cmocka_unit_test(test_open_short),
        cmocka_unit_test(test_open_bitflip_every_bit),
        cmocka_unit_test(test_sealed_entry_bitflip),
        cmocka_unit_test(test_body_caps),
        cmocka_unit_test(test_epoch_key_seal_open),
        cmocka_unit_test(test_epoch_key_bad_reader),
        cmocka_unit_test(test_epoch_key_new),
        cmocka_unit_test(test_key_text_round_trip),
        cmocka_unit_test(test_key_text_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
