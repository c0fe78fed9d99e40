/*
 * msg.c — fuzz target "msg": the sync message decoder (proto_msg_decode), TESTING §D1.
 *
 * Input: one frame's plaintext, exactly as the agent hands it to the session.
 *
 * Proves: no crash, overread, UB or leak; every field of an accepted message is in bounds
 * (pointers inside the input, counts within PROTO_MSG_MAX_ITEMS, a RUN's envelopes and bodies
 * within their caps); encoding the decoded message again and decoding that gives the same
 * message; proto_msg_run_size never under-estimates a RUN's encoding (the sender fills frames
 * with it); and a RUN's items survive proto_run_verify without harm.
 *
 * Run: tools/fuzz.sh msg (FUZZ_SECONDS=1800: long mode); replay: ctest -R fuzz.replay.msg
 */
#include "proto/msg.h"

#include "tests/fuzz/fuzz.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_sodium_init();
    return 0;
}

static bool
inside(const uint8_t *base, size_t size, const uint8_t *p, size_t n)
{
    return p >= base && n <= size && (size_t)(p - base) <= size - n;
}

/* Encodes m again into w. */
static op_err
encode(const proto_msg *m, proto_wbuf *w)
{
    switch (m->type) {
    case PROTO_MSG_HELLO:
        return proto_msg_hello(w, m->root, m->authors, m->now_ms);
    case PROTO_MSG_BUCKETS:
        return proto_msg_buckets(w, m->buckets);
    case PROTO_MSG_HAVE:
    case PROTO_MSG_ACK:
        return proto_msg_heads(w, m->type, m->bucket, m->heads, m->n_heads);
    case PROTO_MSG_RUN:
        return proto_msg_run(w, m->items, m->n_items);
    case PROTO_MSG_PING:
    case PROTO_MSG_PONG:
    case PROTO_MSG_DONE:
        return proto_msg_simple(w, m->type, m->nonce);
    case PROTO_MSG_WANT:
        return proto_msg_want(w, m->author, m->seq);
    }
    return OP_E_INVAL;
}

static void
same(const proto_msg *a, const proto_msg *b)
{
    FUZZ_CHECK(a->type == b->type);
    switch (a->type) {
    case PROTO_MSG_HELLO:
        FUZZ_CHECK(a->version == b->version && a->authors == b->authors &&
                   a->now_ms == b->now_ms && memcmp(a->root, b->root, PROTO_ROOT_BYTES) == 0);
        break;
    case PROTO_MSG_BUCKETS:
        FUZZ_CHECK(memcmp(a->buckets, b->buckets, PROTO_BUCKETS * PROTO_BUCKET_HASH_BYTES) == 0);
        break;
    case PROTO_MSG_HAVE:
    case PROTO_MSG_ACK:
        FUZZ_CHECK(a->n_heads == b->n_heads);
        FUZZ_CHECK(a->type == PROTO_MSG_ACK || a->bucket == b->bucket);
        for (size_t i = 0; i < a->n_heads; i++)
            FUZZ_CHECK(a->heads[i].seq == b->heads[i].seq &&
                       memcmp(a->heads[i].author, b->heads[i].author, PROTO_KEY_BYTES) == 0);
        break;
    case PROTO_MSG_RUN:
        FUZZ_CHECK(a->n_items == b->n_items);
        for (size_t i = 0; i < a->n_items; i++) {
            const proto_run_item *x = &a->items[i], *y = &b->items[i];
            FUZZ_CHECK(x->env_len == y->env_len && memcmp(x->env, y->env, x->env_len) == 0);
            FUZZ_CHECK((x->body == NULL) == (y->body == NULL));
            FUZZ_CHECK(!x->body ||
                       (x->body_len == y->body_len && memcmp(x->body, y->body, x->body_len) == 0));
        }
        break;
    case PROTO_MSG_PING:
    case PROTO_MSG_PONG:
        FUZZ_CHECK(a->nonce == b->nonce);
        break;
    case PROTO_MSG_WANT:
        FUZZ_CHECK(a->seq == b->seq && memcmp(a->author, b->author, PROTO_KEY_BYTES) == 0);
        break;
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    proto_msg m, m2;
    op_err r = proto_msg_decode(data, size, &m);
    if (r != OP_OK) {
        FUZZ_CHECK(m.heads == NULL && m.items == NULL); /* nothing left to leak */
        return 0;
    }
    FUZZ_CHECK(m.n_heads <= PROTO_MSG_MAX_ITEMS && m.n_items <= PROTO_MSG_MAX_ITEMS);
    switch (m.type) {
    case PROTO_MSG_HELLO:
        FUZZ_CHECK(m.version == PROTO_SYNC_VERSION && inside(data, size, m.root, PROTO_ROOT_BYTES));
        break;
    case PROTO_MSG_BUCKETS:
        FUZZ_CHECK(inside(data, size, m.buckets, PROTO_BUCKETS * PROTO_BUCKET_HASH_BYTES));
        break;
    case PROTO_MSG_HAVE:
        FUZZ_CHECK(m.bucket < PROTO_BUCKETS);
        /* fall through */
    case PROTO_MSG_ACK:
        for (size_t i = 0; i < m.n_heads; i++)
            FUZZ_CHECK(inside(data, size, m.heads[i].author, PROTO_KEY_BYTES));
        break;
    case PROTO_MSG_RUN:
        FUZZ_CHECK(m.n_items >= 1);
        for (size_t i = 0; i < m.n_items; i++) {
            FUZZ_CHECK(m.items[i].env_len <= PROTO_ENVELOPE_MAX_BYTES);
            FUZZ_CHECK(inside(data, size, m.items[i].env, m.items[i].env_len));
            FUZZ_CHECK(!m.items[i].body || (m.items[i].body_len <= PROTO_BODY_MAX_BYTES &&
                                            inside(data, size, m.items[i].body,
                                                   m.items[i].body_len)));
        }
        {
            proto_envelope *envs = calloc(m.n_items, sizeof *envs);
            uint8_t(*hashes)[PROTO_HASH_BYTES] = calloc(m.n_items, sizeof *hashes);
            size_t bad;
            FUZZ_CHECK(envs && hashes);
            OP_IGNORE(proto_run_verify(m.items, m.n_items, envs, hashes, &bad)); /* safety only */
            free(envs);
            free(hashes);
        }
        break;
    case PROTO_MSG_WANT:
        FUZZ_CHECK(m.seq >= 1 && inside(data, size, m.author, PROTO_KEY_BYTES));
        break;
    default:
        break;
    }

    /* Encode again (into a buffer as large as a frame may be) and decode that. */
    size_t cap = size * 2 + 64;
    uint8_t *buf = malloc(cap);
    proto_wbuf w;
    FUZZ_CHECK(buf != NULL);
    proto_wbuf_init(&w, buf, cap);
    FUZZ_CHECK(encode(&m, &w) == OP_OK);
    if (m.type == PROTO_MSG_RUN)
        FUZZ_CHECK(w.len <= proto_msg_run_size(m.items, m.n_items));
    FUZZ_CHECK(proto_msg_decode(buf, w.len, &m2) == OP_OK);
    same(&m, &m2);
    proto_msg_free(&m2);
    free(buf);
    proto_msg_free(&m);
    return 0;
}
