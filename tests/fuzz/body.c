/*
 * body.c — fuzz target "body": every body decoder (proto_body_decode, all kinds), and the
 * opening of sealed bodies (proto_open_body), TESTING §D6.
 *
 * Input: byte 0 selects the kind (its low 4 bits: 0..15, so unknown kinds 0, 13, 14, 15 are
 * tried too) and, if bit 7 is set, treats the rest as a sealed body of (fixed author, seq 1,
 * that kind) opened with a fixed epoch key before decoding. The rest is the body.
 *
 * Proves: no crash, overread, UB or leak for any kind; unknown kinds are refused; what the
 * decoder accepts the encoder writes again (reader and writer agree on the rules), and
 * encode -> decode -> encode is a fixpoint (the second encoding equals the first).
 *
 * Run: tools/fuzz.sh body (FUZZ_SECONDS=1800: long mode); replay: ctest -R fuzz.replay.body
 */
#include "proto/body.h"
#include "proto/seal.h"

#include "tests/fuzz/fuzz.h"

static uint8_t author_pk[32], author_sk[64];
static const uint8_t epoch_key[PROTO_EPOCH_KEY_BYTES] = {1, 2, 3, 4, 5, 6, 7, 8, 9};

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_sodium_init();
    fuzz_keypair(0xa1, author_pk, author_sk);
    return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t plain[PROTO_BODY_MAX_BYTES], enc1[PROTO_BODY_MAX_BYTES],
        enc2[PROTO_BODY_MAX_BYTES];
    proto_body b, b2;
    proto_wbuf w1, w2;
    const uint8_t *p;
    size_t n;

    if (size < 1)
        return 0;
    uint64_t kind = data[0] & 0x0f;
    bool sealed = (data[0] & 0x80) != 0;
    fuzz_rng_reset(1);
    uint8_t *copy = fuzz_dup(data + 1, size - 1);
    p = copy;
    n = size - 1;
    if (sealed) {
        size_t m;
        if (proto_open_body(epoch_key, author_pk, 1, kind, copy, n, plain, sizeof plain, &m) !=
            OP_OK)
            goto out;
        p = plain;
        n = m;
    }
    op_err r = proto_body_decode(kind, p, n, &b);
    if (!proto_body_kind_known(kind))
        FUZZ_CHECK(r != OP_OK);
    if (r == OP_OK) {
        FUZZ_CHECK(b.kind == kind);
        if (kind == PROTO_KIND_KPI_DEF)
            FUZZ_CHECK(proto_kpi_aggregate(&b) != NULL);
        proto_wbuf_init(&w1, enc1, sizeof enc1);
        FUZZ_CHECK(proto_body_encode(&b, &w1) == OP_OK); /* the writer takes what was read */
        FUZZ_CHECK(proto_body_decode(kind, enc1, w1.len, &b2) == OP_OK);
        proto_wbuf_init(&w2, enc2, sizeof enc2);
        FUZZ_CHECK(proto_body_encode(&b2, &w2) == OP_OK);
        FUZZ_CHECK(w1.len == w2.len && memcmp(enc1, enc2, w1.len) == 0);
        /* A sealed round trip opens to the same plaintext. */
        size_t sl, ol;
        static uint8_t box[PROTO_BODY_MAX_BYTES + PROTO_SEAL_OVERHEAD];
        FUZZ_CHECK(proto_seal_body(epoch_key, author_pk, 2, kind, enc1, w1.len, box, sizeof box,
                                   &sl) == OP_OK);
        FUZZ_CHECK(proto_open_body(epoch_key, author_pk, 2, kind, box, sl, enc2, sizeof enc2,
                                   &ol) == OP_OK);
        FUZZ_CHECK(ol == w1.len && memcmp(enc1, enc2, ol) == 0);
        proto_body_fini(&b2);
    }
    proto_body_fini(&b);
out:
    free(copy);
    return 0;
}
