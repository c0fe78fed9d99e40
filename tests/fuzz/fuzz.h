/*
 * fuzz.h — shared by the fuzz harnesses in tests/fuzz/ (header-only: each harness is one file).
 *
 * - A deterministic randombytes implementation for libsodium, reset before every input, so that
 *   ephemeral keys, nonces and stream headers are the same on every run of the same input: a
 *   crash found by libFuzzer replays bit for bit under the gcc replay driver (replay.c).
 * - Fixed keys (ed25519 from fixed seeds, a fixed network key).
 * - A splitter that cuts one input into pieces at FUZZ_SEP (four 0xc1 bytes: 0xc1 is the one
 *   msgpack byte that never starts an object, so seeds of several messages split cleanly).
 * - FUZZ_CHECK: a broken invariant is a finding, reported and abort()ed like a sanitizer report.
 *
 * Harnesses must not print on success and must not keep state between inputs other than what
 * LLVMFuzzerInitialize builds once from fixed values.
 */
#ifndef OUTPOST_TESTS_FUZZ_H
#define OUTPOST_TESTS_FUZZ_H

#include <sodium.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: fuzz invariant broken: %s\n", __FILE__, __LINE__, #cond);     \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* ---- deterministic randomness (splitmix64; quality is irrelevant, repeatability is all) ---- */

static uint64_t fuzz_rng_state;

static inline uint64_t
fuzz_rng_next(void)
{
    uint64_t z = (fuzz_rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static inline void
fuzz_rng_reset(uint64_t seed)
{
    fuzz_rng_state = seed;
}

static inline const char *
fuzz_rng_name(void)
{
    return "outpost-fuzz-deterministic";
}

static inline uint32_t
fuzz_rng_random(void)
{
    return (uint32_t)fuzz_rng_next();
}

static inline void
fuzz_rng_buf(void *const buf, const size_t size)
{
    uint8_t *p = buf;
    for (size_t i = 0; i < size; i += 8) {
        uint64_t v = fuzz_rng_next();
        size_t k = size - i < 8 ? size - i : 8;
        memcpy(p + i, &v, k);
    }
}

static randombytes_implementation fuzz_rng_impl = {
    .implementation_name = fuzz_rng_name,
    .random = fuzz_rng_random,
    .stir = NULL,
    .uniform = NULL,
    .buf = fuzz_rng_buf,
    .close = NULL,
};

/* Call once from LLVMFuzzerInitialize: installs the fixed RNG, then sodium_init. */
static inline void
fuzz_sodium_init(void)
{
    fuzz_rng_reset(1);
    if (randombytes_set_implementation(&fuzz_rng_impl) != 0 || sodium_init() < 0) {
        fprintf(stderr, "fuzz: libsodium did not initialise\n");
        abort();
    }
}

/* ---- fixed keys ---- */

/* An ed25519 key pair from a seed made of one repeated byte (sk is seed || pk). */
static inline void
fuzz_keypair(uint8_t tag, uint8_t pk[32], uint8_t sk[64])
{
    uint8_t seed[32];
    memset(seed, tag, sizeof seed);
    if (crypto_sign_seed_keypair(pk, sk, seed) != 0)
        abort();
}

static const uint8_t fuzz_netkey[32] = {
    'o', 'u', 't', 'p', 'o', 's', 't', '-', 'f', 'u', 'z', 'z', '-', 'n', 'e', 't',
    'k', 'e', 'y', 0,   1,   2,   3,   4,   5,   6,   7,   8,   9,   10,  11,  12,
};

/* ---- splitting one input into pieces ---- */

#define FUZZ_SEP "\xc1\xc1\xc1\xc1"
#define FUZZ_SEP_BYTES 4

typedef struct fuzz_piece {
    const uint8_t *p;
    size_t n;
} fuzz_piece;

/* Cuts data at each FUZZ_SEP into at most max pieces (the last one keeps any further
 * separators). Returns the number of pieces (at least 1). */
static inline size_t
fuzz_split(const uint8_t *data, size_t size, fuzz_piece *out, size_t max)
{
    size_t n = 0, start = 0;
    for (size_t i = 0; n + 1 < max && i + FUZZ_SEP_BYTES <= size; i++) {
        if (memcmp(data + i, FUZZ_SEP, FUZZ_SEP_BYTES) == 0) {
            out[n].p = data + start;
            out[n].n = i - start;
            n++;
            i += FUZZ_SEP_BYTES - 1;
            start = i + 1;
        }
    }
    out[n].p = data + start;
    out[n].n = size - start;
    return n + 1;
}

/* A heap copy of exactly n bytes (so ASan sees any read past the piece). Never NULL. */
static inline uint8_t *
fuzz_dup(const uint8_t *p, size_t n)
{
    uint8_t *q = malloc(n ? n : 1);
    if (!q)
        abort();
    if (n)
        memcpy(q, p, n);
    return q;
}

#endif
