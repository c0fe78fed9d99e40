/*
 * gen.c — synthetic logs for the benchmarks (see gen.h).
 *
 * Building an entry costs one ed25519 signature (~20 µs), and an author's entries must be
 * signed in order (each links the hash of the signed one before), so gen_fill spreads whole
 * authors over its signing threads and ingests their runs on the calling thread as they come.
 */
#include "tools/gen.h"

#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "proto/body.h"
#include "store/log.h"
#include "store/reader.h"

void
gen_author_key(uint64_t seed, uint32_t index, uint8_t pk[PROTO_KEY_BYTES],
               uint8_t sk[PROTO_SECRET_BYTES])
{
    uint8_t in[12], kseed[crypto_sign_SEEDBYTES];
    for (int i = 0; i < 8; i++)
        in[i] = (uint8_t)(seed >> (8 * i));
    for (int i = 0; i < 4; i++)
        in[8 + i] = (uint8_t)(index >> (8 * i));
    crypto_generichash(kseed, sizeof kseed, in, sizeof in, NULL, 0);
    crypto_sign_seed_keypair(pk, sk, kseed);
    sodium_memzero(kseed, sizeof kseed);
}

uint64_t
gen_author_entries(uint64_t entries, uint32_t authors, uint32_t index)
{
    if (authors == 0)
        return 0;
    return entries / authors + (index < entries % authors ? 1 : 0);
}

/* splitmix64: small, fast, and the same everywhere. */
uint64_t
gen_rand(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void
gen_author_init(gen_author *a, uint64_t seed, uint32_t index, const uint8_t office[PROTO_KEY_BYTES])
{
    memset(a, 0, sizeof *a);
    a->index = index;
    gen_author_key(seed, index, a->pk, a->sk);
    proto_epoch_key_new(a->epoch_key);
    if (office) {
        a->has_office = true;
        memcpy(a->office, office, PROTO_KEY_BYTES);
    }
    a->rng = seed ^ ((uint64_t)index << 32 | index);
}

void
gen_author_fini(gen_author *a)
{
    sodium_memzero(a, sizeof *a);
}

void
gen_run_init(gen_run *run)
{
    memset(run, 0, sizeof *run);
}

void
gen_run_free(gen_run *run)
{
    free(run->items);
    free(run->buf);
    memset(run, 0, sizeof *run);
}

op_err
gen_run_reset(gen_run *run, size_t n)
{
    if (n == 0 || n > GEN_RUN_MAX)
        return OP_E_INVAL;
    run->n = 0;
    run->used = 0;
    run->received = 0;
    if (n <= run->cap)
        return OP_OK;
    proto_run_item *items = realloc(run->items, n * sizeof *items);
    if (!items)
        return OP_E_NOMEM;
    run->items = items;
    uint8_t *buf = realloc(run->buf, n * GEN_ENTRY_MAX_BYTES);
    if (!buf)
        return OP_E_NOMEM;
    run->buf = buf;
    run->cap = n;
    return OP_OK;
}

op_err
gen_run_append(gen_run *run, gen_author *a, const proto_body *b, uint64_t ts, uint64_t epoch,
               const uint8_t key[PROTO_EPOCH_KEY_BYTES])
{
    uint8_t plain[GEN_BODY_MAX_BYTES], head[PROTO_HASH_BYTES], *body, *env;
    uint64_t seq = a->seq + 1;
    size_t body_len, env_len;
    proto_wbuf w;
    op_err r;

    if (run->n >= run->cap)
        return OP_E_INVAL;
    body = run->buf + run->used;
    /* Encrypted, the body grows by the nonce and the tag: leave room for them. */
    proto_wbuf_init(&w, plain, epoch ? sizeof plain - PROTO_SEAL_OVERHEAD : sizeof plain);
    if ((r = proto_body_encode(b, &w)) != OP_OK)
        goto out;
    if (epoch == 0) {
        memcpy(body, plain, w.len);
        body_len = w.len;
    } else if ((r = proto_seal_body(key, a->pk, seq, b->kind, plain, w.len, body,
                                    GEN_BODY_MAX_BYTES, &body_len)) != OP_OK) {
        goto out;
    }
    proto_envelope e = {.seq = seq, .ts = ts, .kind = b->kind, .epoch = epoch};
    memcpy(e.author, a->pk, PROTO_KEY_BYTES);
    memcpy(e.prev, a->head, PROTO_HASH_BYTES);
    proto_hash(body, body_len, e.body_hash);
    env = body + body_len;
    if ((r = proto_envelope_sign(&e, a->sk, env, PROTO_ENVELOPE_MAX_BYTES, &env_len)) != OP_OK)
        goto out;
    proto_hash(env, env_len, head);
    memcpy(a->head, head, PROTO_HASH_BYTES);
    a->seq = seq;
    run->items[run->n++] = (proto_run_item){env, env_len, body, body_len};
    run->used += body_len + env_len;
out:
    sodium_memzero(plain, w.len);
    return r;
}

static const char *const kpi_ids[] = {"reply-hours", "articles", "csat", "tickets"};
static const char *const notes[] = {"client demo went well", "waiting for VPN access", "late train",
                                    "pairing with their lead"};

/* The plaintext body of entry seq; uses *b's storage in the caller's frame (no frees). */
static void
make_body(gen_author *a, uint64_t seq, uint64_t ts, proto_body *b, proto_sealed sealed[2],
          char at[11], uint64_t *kind)
{
    if (seq == 1) {
        *kind = PROTO_KIND_KEY;
        proto_body_init(b, *kind);
        b->epoch = 1;
        b->sealed = sealed;
        b->n_sealed = 1;
        memcpy(sealed[0].reader, a->pk, PROTO_KEY_BYTES);
        if (a->has_office) {
            memcpy(sealed[1].reader, a->office, PROTO_KEY_BYTES);
            b->n_sealed = 2;
        }
        return;
    }
    uint64_t r = gen_rand(&a->rng);
    if (r % 5 < 3) {
        *kind = PROTO_KIND_CHECKIN;
        proto_body_init(b, *kind);
        b->delivering = (r >> 8) % 10 < 9 ? PROTO_YES : PROTO_NO;
        b->thriving = (r >> 16) % 10 < 8 ? PROTO_YES : PROTO_NO;
        b->support = (r >> 24) % 20 < 17 ? PROTO_YES : PROTO_NO;
        b->energy = 1 + (unsigned)((r >> 32) % 5);
        if ((r >> 40) % 10 == 0)
            b->note = (char *)notes[(r >> 48) % 4]; /* borrowed: never fini'd */
    } else {
        *kind = PROTO_KIND_KPI_VALUE;
        proto_body_init(b, *kind);
        unsigned which = (unsigned)((r >> 8) % 4);
        b->id = (char *)kpi_ids[which];
        uint64_t v = r >> 16;
        switch (which) {
        case 0:
            b->value = 0.5 * (double)(1 + v % 16);
            break;
        case 1:
            b->value = (double)(v % 6);
            break;
        case 2:
            b->value = (double)(60 + v % 41);
            break;
        default:
            b->value = (double)(v % 40);
            break;
        }
        time_t t = (time_t)(ts / 1000);
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(at, 11, "%Y-%m-%d", &tm);
        b->at = at;
    }
}

op_err
gen_author_next(gen_author *a, size_t n, gen_run *run)
{
    op_err r;

    if ((r = gen_run_reset(run, n)) != OP_OK)
        return r;
    for (size_t i = 0; i < n; i++) {
        uint64_t seq = a->seq + 1, kind;
        uint64_t ts = GEN_TS_BASE_MS + (seq - 1) * GEN_TS_STEP_MS + (uint64_t)a->index * 1000;
        proto_sealed sealed[2];
        char at[11];
        proto_body b;

        make_body(a, seq, ts, &b, sealed, at, &kind);
        if (kind == PROTO_KIND_KEY)
            for (size_t k = 0; k < b.n_sealed; k++)
                if ((r = proto_seal_epoch_key(sealed[k].reader, a->epoch_key, sealed[k].box)) !=
                    OP_OK)
                    return r;
        /* b's strings and seals are ours: no fini */
        if ((r = gen_run_append(run, a, &b, ts, kind == PROTO_KIND_KEY ? 0 : 1, a->epoch_key)) !=
            OP_OK)
            return r;
    }
    return OP_OK;
}

/* ---- gen_pipeline: signing threads feed the ingesting thread through a bounded queue. ---- */

typedef struct job {
    gen_run run;
    uint32_t log;
    struct job *next;
} job;

typedef struct fill {
    const gen_source *src;
    pthread_mutex_t mu;
    pthread_cond_t not_empty, not_full;
    job *head, *tail, *spare; /* the queue, and emptied jobs to reuse */
    size_t queued, max_queued;
    uint32_t next_log;
    int workers_left;
    bool stop;
    op_err err;
    uint32_t bad;
} fill;

static void
fail_locked(fill *f, op_err r, uint32_t log)
{
    if (f->err == OP_OK) {
        f->err = r;
        f->bad = log;
    }
    f->stop = true;
    pthread_cond_broadcast(&f->not_empty);
    pthread_cond_broadcast(&f->not_full);
}

/* Builds one log run by run and queues the runs; false once the pipeline stops. */
static bool
build_log(fill *f, uint32_t idx, void *state)
{
    const gen_source *s = f->src;
    bool last = false;
    op_err r;

    for (;;) {
        pthread_mutex_lock(&f->mu);
        job *j = f->spare;
        if (j)
            f->spare = j->next;
        pthread_mutex_unlock(&f->mu);
        if (!j && (j = calloc(1, sizeof *j)) == NULL) {
            pthread_mutex_lock(&f->mu);
            fail_locked(f, OP_E_NOMEM, idx);
            pthread_mutex_unlock(&f->mu);
            return false;
        }
        r = s->next(s->ctx, state, &j->run, &last);
        pthread_mutex_lock(&f->mu);
        if (r != OP_OK)
            fail_locked(f, r, idx);
        while (!f->stop && j->run.n > 0 && f->queued >= f->max_queued)
            pthread_cond_wait(&f->not_full, &f->mu);
        if (f->stop || j->run.n == 0) {
            j->next = f->spare;
            f->spare = j;
            bool stop = f->stop;
            pthread_mutex_unlock(&f->mu);
            if (stop)
                return false;
            if (last)
                return true;
            continue;
        }
        j->log = idx;
        j->next = NULL;
        if (f->tail)
            f->tail->next = j;
        else
            f->head = j;
        f->tail = j;
        f->queued++;
        pthread_cond_signal(&f->not_empty);
        pthread_mutex_unlock(&f->mu);
        if (last)
            return true;
    }
}

static void *
worker(void *arg)
{
    fill *f = arg;
    const gen_source *s = f->src;
    void *state = calloc(1, s->state_bytes ? s->state_bytes : 1);

    if (!state) {
        pthread_mutex_lock(&f->mu);
        fail_locked(f, OP_E_NOMEM, f->next_log);
        pthread_mutex_unlock(&f->mu);
    }
    while (state) {
        pthread_mutex_lock(&f->mu);
        if (f->stop || f->next_log >= s->logs) {
            pthread_mutex_unlock(&f->mu);
            break;
        }
        uint32_t idx = f->next_log++;
        pthread_mutex_unlock(&f->mu);

        op_err r = s->begin(s->ctx, idx, state);
        bool go_on = true;
        if (r != OP_OK) {
            pthread_mutex_lock(&f->mu);
            fail_locked(f, r, idx);
            pthread_mutex_unlock(&f->mu);
            go_on = false;
        } else {
            go_on = build_log(f, idx, state);
        }
        s->end(s->ctx, state);
        if (!go_on)
            break;
    }
    if (state) {
        sodium_memzero(state, s->state_bytes);
        free(state);
    }
    pthread_mutex_lock(&f->mu);
    f->workers_left--;
    pthread_cond_broadcast(&f->not_empty);
    pthread_mutex_unlock(&f->mu);
    return NULL;
}

static double
now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void
free_jobs(job *j)
{
    for (job *next; j; j = next) {
        next = j->next;
        gen_run_free(&j->run);
        free(j);
    }
}

op_err
gen_pipeline(store_db *db, store_reader *rd, const gen_source *src, const gen_pipe_opts *o,
             gen_stats *out, uint32_t *bad)
{
    pthread_t tids[16];
    int started = 0;
    double t0 = now_s();
    fill f;
    op_err r = OP_OK;

    memset(out, 0, sizeof *out);
    if (bad)
        *bad = 0;
    if (o->threads < 1 || o->threads > 16 || !src->begin || !src->next || !src->end)
        return OP_E_INVAL;
    memset(&f, 0, sizeof f);
    f.src = src;
    f.max_queued = 2 * (size_t)o->threads + 2;
    pthread_mutex_init(&f.mu, NULL);
    pthread_cond_init(&f.not_empty, NULL);
    pthread_cond_init(&f.not_full, NULL);
    f.workers_left = o->threads;
    for (; started < o->threads; started++)
        if (pthread_create(&tids[started], NULL, worker, &f) != 0)
            break;
    pthread_mutex_lock(&f.mu);
    /* The threads that did not start will not report. (Not `= started`: a thread that already
     * finished has counted itself out, and overwriting that would wait for it forever.) */
    f.workers_left -= o->threads - started;
    if (started == 0)
        fail_locked(&f, OP_E_NOMEM, 0);
    pthread_mutex_unlock(&f.mu);

    for (;;) {
        pthread_mutex_lock(&f.mu);
        while (!f.stop && !f.head && f.workers_left > 0)
            pthread_cond_wait(&f.not_empty, &f.mu);
        if (f.stop || !f.head) {
            pthread_mutex_unlock(&f.mu);
            break;
        }
        job *j = f.head;
        f.head = j->next;
        if (!f.head)
            f.tail = NULL;
        f.queued--;
        pthread_cond_signal(&f.not_full);
        pthread_mutex_unlock(&f.mu);

        store_ingested ing;
        size_t where = 0;
        r = store_log_ingest(db, rd, j->run.items, j->run.n,
                             j->run.received ? j->run.received : o->now, &ing, &where);
        if (r == OP_OK && ing.stored != j->run.n)
            r = OP_E_EXISTS;
        if (r == OP_OK) {
            out->entries += j->run.n;
            out->runs++;
            for (size_t i = 0; i < j->run.n; i++) {
                out->env_bytes += j->run.items[i].env_len;
                out->body_bytes += j->run.items[i].body_len;
            }
        }
        pthread_mutex_lock(&f.mu);
        if (r != OP_OK)
            fail_locked(&f, r, j->log);
        j->next = f.spare;
        f.spare = j;
        pthread_mutex_unlock(&f.mu);
        if (r != OP_OK)
            break;
        if (o->progress)
            o->progress(o->ctx, out->entries, o->total);
    }
    for (int i = 0; i < started; i++)
        pthread_join(tids[i], NULL);
    r = f.err;
    if (r != OP_OK && bad)
        *bad = f.bad;
    free_jobs(f.head);
    free_jobs(f.spare);
    pthread_cond_destroy(&f.not_full);
    pthread_cond_destroy(&f.not_empty);
    pthread_mutex_destroy(&f.mu);
    out->seconds = now_s() - t0;
    return r;
}

/* ---- gen_fill: gen_author logs through gen_pipeline. ---- */

typedef struct fill_state {
    gen_author a;
    uint64_t left; /* entries still to build */
} fill_state;

static op_err
fill_begin(void *ctx, uint32_t log, void *state)
{
    const gen_opts *o = ctx;
    fill_state *s = state;
    gen_author_init(&s->a, o->seed, log, o->has_office ? o->office : NULL);
    s->left = gen_author_entries(o->entries, o->authors, log);
    return OP_OK;
}

static op_err
fill_next(void *ctx, void *state, gen_run *run, bool *last)
{
    const gen_opts *o = ctx;
    fill_state *s = state;
    size_t n = s->left < o->batch ? (size_t)s->left : o->batch;
    op_err r;

    *last = true;
    if (n == 0) { /* an author of no entries: nothing to queue */
        run->n = 0;
        return OP_OK;
    }
    if ((r = gen_author_next(&s->a, n, run)) != OP_OK)
        return r;
    s->left -= n;
    *last = s->left == 0;
    return OP_OK;
}

static void
fill_end(void *ctx, void *state)
{
    (void)ctx;
    gen_author_fini(&((fill_state *)state)->a);
}

static int
key_cmp(const void *k, const void *h)
{
    return memcmp(k, ((const store_head *)h)->author, PROTO_KEY_BYTES);
}

/* OP_E_EXISTS if db holds any author of o already. */
static op_err
check_fresh(store_db *db, const gen_opts *o, uint32_t *bad)
{
    store_head *have = NULL;
    size_t n = 0;
    uint8_t pk[PROTO_KEY_BYTES], sk[PROTO_SECRET_BYTES];
    op_err r;

    if ((r = store_log_have(db, &have, &n)) != OP_OK)
        return r;
    for (uint32_t i = 0; n > 0 && i < o->authors && r == OP_OK; i++) {
        gen_author_key(o->seed, i, pk, sk);
        if (bsearch(pk, have, n, sizeof *have, key_cmp)) {
            r = OP_E_EXISTS;
            *bad = i;
        }
    }
    sodium_memzero(sk, sizeof sk);
    free(have);
    return r;
}

op_err
gen_fill(store_db *db, const gen_opts *o, gen_stats *out, uint32_t *bad)
{
    uint32_t bad_author = 0;
    op_err r;

    memset(out, 0, sizeof *out);
    if (bad)
        *bad = 0;
    if (o->authors == 0 || o->entries < o->authors || o->batch == 0 || o->batch > GEN_RUN_MAX ||
        o->threads < 1 || o->threads > 16)
        return OP_E_INVAL;
    if ((r = check_fresh(db, o, &bad_author)) != OP_OK) {
        if (bad)
            *bad = bad_author;
        return r;
    }
    gen_source src = {.logs = o->authors,
                      .state_bytes = sizeof(fill_state),
                      .begin = fill_begin,
                      .next = fill_next,
                      .end = fill_end,
                      .ctx = (void *)o};
    gen_pipe_opts po = {.threads = o->threads,
                        .now = o->now,
                        .total = o->entries,
                        .progress = o->progress,
                        .ctx = o->ctx};
    store_reader *rd = NULL;
    /* A reader without an identity: a relay's view, which caches its misses. */
    if ((r = store_reader_new(NULL, &rd)) != OP_OK)
        return r;
    r = gen_pipeline(db, rd, &src, &po, out, bad);
    store_reader_free(rd);
    return r;
}
