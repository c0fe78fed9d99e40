/*
 * envelope.c — fuzz target "envelope": the envelope decoder and run verification
 * (proto_envelope_decode, proto_envelope_verify_sig, proto_run_verify), TESTING §D3.
 *
 * Input: up to 16 pieces cut at FUZZ_SEP (fuzz.h). Each piece is one run item:
 *   u16 big-endian h; env = the next (h & 0x7fff) bytes (fewer if the piece ends);
 *   body = the rest of the piece, or none when h & 0x8000.
 *
 * In fuzz builds (FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION, tools/fuzz.sh) the signature check
 * is bypassed (proto/entry.c), so mutated runs reach the chain logic; the replay under the
 * normal build checks signatures, and tests/fuzz/sigcheck.c proves that the real build refuses
 * bad ones.
 *
 * Proves: no crash, overread, UB or leak; a decoded envelope is at most 206 bytes with seq and
 * kind non-zero; and when proto_run_verify accepts, an independent check agrees: one
 * author, consecutive seqs, each prev the hash of the envelope before (zero at seq 1), each
 * held body at most 64 KiB and matching its body_hash, hashes[] the BLAKE2b of each envelope.
 *
 * Run: tools/fuzz.sh envelope (FUZZ_SECONDS=1800: long mode); replay: ctest -R fuzz.replay.envelope
 */
#include "proto/entry.h"

#include "tests/fuzz/fuzz.h"

#define MAX_ITEMS 16

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_sodium_init();
    return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_piece pc[MAX_ITEMS];
    proto_run_item items[MAX_ITEMS];
    uint8_t *copies[2 * MAX_ITEMS];
    proto_envelope envs[MAX_ITEMS];
    uint8_t hashes[MAX_ITEMS][PROTO_HASH_BYTES];
    size_t n = fuzz_split(data, size, pc, MAX_ITEMS), nc = 0, bad = 0;

    for (size_t i = 0; i < n; i++) {
        const uint8_t *p = pc[i].p;
        size_t left = pc[i].n;
        size_t h = left >= 2 ? (size_t)p[0] << 8 | p[1] : 0;
        p += left >= 2 ? 2 : left;
        left -= left >= 2 ? 2 : left;
        size_t el = (h & 0x7fff) < left ? (h & 0x7fff) : left;
        items[i].env = copies[nc++] = fuzz_dup(p, el);
        items[i].env_len = el;
        items[i].body = NULL;
        items[i].body_len = 0;
        if (!(h & 0x8000)) {
            items[i].body = copies[nc++] = fuzz_dup(p + el, left - el);
            items[i].body_len = left - el;
        }
    }

    /* Each envelope alone: decode, then the signature check must not misbehave either way. */
    for (size_t i = 0; i < n; i++) {
        proto_envelope e;
        if (proto_envelope_decode(items[i].env, items[i].env_len, &e) == OP_OK) {
            FUZZ_CHECK(e.seq != 0 && e.kind != 0);
            FUZZ_CHECK(items[i].env_len <= 206); /* the largest canonical envelope */
            OP_IGNORE(proto_envelope_verify_sig(&e, items[i].env, items[i].env_len));
        }
    }

    op_err r = proto_run_verify(items, n, envs, hashes, &bad);
    FUZZ_CHECK(bad < n);
    if (r == OP_OK) {
        static const uint8_t zero[PROTO_HASH_BYTES];
        uint8_t h[PROTO_HASH_BYTES];
        for (size_t i = 0; i < n; i++) {
            proto_envelope e;
            FUZZ_CHECK(proto_envelope_decode(items[i].env, items[i].env_len, &e) == OP_OK);
            FUZZ_CHECK(memcmp(&e, &envs[i], sizeof e) == 0);
            proto_hash(items[i].env, items[i].env_len, h);
            FUZZ_CHECK(memcmp(h, hashes[i], sizeof h) == 0);
            FUZZ_CHECK(memcmp(e.author, envs[0].author, PROTO_KEY_BYTES) == 0);
            if (i > 0) {
                FUZZ_CHECK(e.seq == envs[i - 1].seq + 1);
                FUZZ_CHECK(memcmp(e.prev, hashes[i - 1], PROTO_HASH_BYTES) == 0);
            } else if (e.seq == 1) {
                FUZZ_CHECK(memcmp(e.prev, zero, PROTO_HASH_BYTES) == 0);
            }
            if (items[i].body) {
                FUZZ_CHECK(items[i].body_len <= PROTO_BODY_MAX_BYTES);
                proto_hash(items[i].body, items[i].body_len, h);
                FUZZ_CHECK(memcmp(h, e.body_hash, PROTO_HASH_BYTES) == 0);
            }
        }
    }
    for (size_t i = 0; i < nc; i++)
        free(copies[i]);
    return 0;
}
