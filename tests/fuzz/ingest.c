/*
 * ingest.c — fuzz target "ingest": batch ingest of several runs into a fresh in-memory store
 * (store_log_ingest on ":memory:"), to find ordering and duplicate bugs, TESTING §D5.
 *
 * At start-up a fixed team is built with the real writers (store_log_append, deterministic
 * randomness): an office O (member O, member W1, member W2, revoke W2 after seq 3), a worker
 * W1 (key entry + check-ins), a second device of W1 that shares W1's first two entries and then
 * writes its own (a fork from seq 3), and a worker W2. Their logs are the pool.
 *
 * Input: byte 0: bit 0 the ingesting node reads with W1's key instead of the office's; bit 1
 * raw mode. Ops mode: the rest, 4 bytes an op (at most 16 ops): [log (mod 4) | bit 2 drop the
 * bodies | bit 3 corrupt one byte] [first seq] [count (mod 8) + 1] [what to corrupt]: a slice of
 * one pool log is ingested. Raw mode: the rest is up to 16 pieces cut at FUZZ_SEP (fuzz.h), each
 * a RUN message (proto_msg_decode) ingested as the agent would.
 *
 * Proves, after every ingest: no crash, UB or leak; each author's entries are exactly seqs
 * 1..head (no gap, no duplicate); a refused run changes no entry; an accepted run counts every
 * item as stored or already held, and ingesting it again stores nothing; for runs not
 * corrupted, the result and the head are those of a model of SPEC §4 (gap, fork at a held seq,
 * chain break at the head, revocation, else accepted); at the end store_verify finds no problem.
 *
 * Run: tools/fuzz.sh ingest (FUZZ_SECONDS=1800: long mode); replay: ctest -R fuzz.replay.ingest
 */
#include "proto/msg.h"
#include "store/db.h"
#include "store/log.h"
#include "store/reader.h"
#include "store/verify.h"

#include "tests/fuzz/fuzz.h"
#include "tests/fuzz/team.h"

#define MAX_OPS 16

/* Opening and migrating a store takes ~7 ms, and loading a copy (sqlite3_deserialize) makes
 * SQLite prepare every cached statement again; so the node's store is opened once, and each
 * input starts by emptying every table and putting back the meta rows the store had when new
 * (plus role and office_key): the state of a fresh store, with no schema change. The harness's
 * own statements are prepared once too: parsing them for every ingest took half the time. */
static store_db *node;
static sqlite3_stmt *reset_st[32], *meta_put_st, *authors_st, *entries_st;
static int n_reset;
static sqlite3_value *meta_k[32], *meta_v[32];
static int n_meta;

static sqlite3_stmt *
prepare_once(const char *sql)
{
    sqlite3_stmt *st;
    FUZZ_CHECK(sqlite3_prepare_v3(store_db_handle(node), sql, -1, SQLITE_PREPARE_PERSISTENT, &st,
                                  NULL) == SQLITE_OK);
    return st;
}

static void
node_reset(bool office)
{
    for (int i = 0; i < n_reset; i++) {
        FUZZ_CHECK(sqlite3_step(reset_st[i]) == SQLITE_DONE);
        sqlite3_reset(reset_st[i]);
    }
    for (int i = 0; i < n_meta; i++) {
        sqlite3_bind_value(meta_put_st, 1, meta_k[i]);
        sqlite3_bind_value(meta_put_st, 2, meta_v[i]);
        FUZZ_CHECK(sqlite3_step(meta_put_st) == SQLITE_DONE);
        sqlite3_reset(meta_put_st);
    }
    team_must(store_db_meta_put_text(node, "role", office ? "office" : "worker"), "role");
    team_must(store_db_meta_put_blob(node, "office_key", ids[0].pk, PROTO_KEY_BYTES),
              "office_key");
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    sqlite3_stmt *st;
    (void)argc;
    (void)argv;
    fuzz_sodium_init();
    team_build();
    team_must(store_db_open(":memory:", STORE_OPEN_CREATE, &node), "open node");
    sqlite3 *h = store_db_handle(node);
    FUZZ_CHECK(sqlite3_prepare_v2(h,
                                  "SELECT name FROM sqlite_master WHERE type = 'table' AND name"
                                  " NOT LIKE 'sqlite_%' ORDER BY name",
                                  -1, &st, NULL) == SQLITE_OK);
    while (sqlite3_step(st) == SQLITE_ROW) {
        char sql[256];
        int k = snprintf(sql, sizeof sql, "DELETE FROM \"%s\"",
                         (const char *)sqlite3_column_text(st, 0));
        FUZZ_CHECK(k > 0 && (size_t)k < sizeof sql && n_reset < 32);
        reset_st[n_reset++] = prepare_once(sql);
    }
    sqlite3_finalize(st);
    meta_put_st = prepare_once("INSERT INTO meta(k, v) VALUES(?, ?)");
    authors_st = prepare_once("SELECT id, key, head_seq FROM authors ORDER BY id");
    entries_st = prepare_once("SELECT id, author, seq FROM entries ORDER BY id");
    FUZZ_CHECK(sqlite3_prepare_v2(h, "SELECT k, v FROM meta", -1, &st, NULL) == SQLITE_OK);
    while (sqlite3_step(st) == SQLITE_ROW) {
        FUZZ_CHECK(n_meta < 32);
        meta_k[n_meta] = sqlite3_value_dup(sqlite3_column_value(st, 0));
        meta_v[n_meta] = sqlite3_value_dup(sqlite3_column_value(st, 1));
        FUZZ_CHECK(meta_k[n_meta] && meta_v[n_meta]);
        n_meta++;
    }
    sqlite3_finalize(st);
    return 0;
}

/* ---- the model: per author, the head and from which log each held seq came ---- */

typedef struct model {
    bool revoke_known; /* O's revoke entry is held with its body, so it took effect */
    uint64_t head[3];
    int branch[3][64]; /* log_branch of the entry held at seq (index seq) */
    bool tainted[3];   /* a corrupted run was accepted: no exact expectations any more */
} model;

static op_err
expect(const model *m, int log, uint64_t a, uint64_t b)
{
    int au = log_author[log], br = log_branch[log];
    uint64_t h = m->head[au];
    if (a > h + 1)
        return OP_E_GAP;
    for (uint64_t s = a; s <= b && s <= h; s++)
        if (s >= FORK_FROM && m->branch[au][s] != br)
            return OP_E_FORK;
    if (b <= h)
        return OP_OK; /* all held */
    if (au == 2 && m->revoke_known && b > REVOKED_AFTER)
        return OP_E_REVOKED;
    if (a == h + 1 && h >= FORK_FROM && m->branch[au][h] != br)
        return OP_E_CHAIN;
    return OP_OK;
}

static int
author_index(const uint8_t *pk)
{
    for (int i = 0; i < 3; i++)
        if (memcmp(ids[i].pk, pk, PROTO_KEY_BYTES) == 0)
            return i;
    return -1;
}

/* The node's entries per author are exactly 1..head; returns the total number of entries.
 * One pass over each table in id order (an entry's id is author << 32 | seq, so each author's
 * entries are consecutive there): a join with GROUP BY made SQLite build an index for every
 * call, a quarter of the harness's time. */
static int64_t
check_store(uint64_t heads[3])
{
    int64_t total = 0;
    bool more = sqlite3_step(entries_st) == SQLITE_ROW;
    for (int i = 0; i < 3; i++)
        heads[i] = 0;
    while (sqlite3_step(authors_st) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(authors_st, 0);
        int64_t head = sqlite3_column_int64(authors_st, 2), n = 0;
        for (; more && sqlite3_column_int64(entries_st, 1) == id;
             more = sqlite3_step(entries_st) == SQLITE_ROW) {
            int64_t seq = sqlite3_column_int64(entries_st, 2);
            FUZZ_CHECK(sqlite3_column_int64(entries_st, 0) == (id << 32 | seq));
            FUZZ_CHECK(seq == ++n); /* 1, 2, ...: no gap, no duplicate */
        }
        FUZZ_CHECK(n == head);
        if (sqlite3_column_bytes(authors_st, 1) == PROTO_KEY_BYTES) {
            int k = author_index(sqlite3_column_blob(authors_st, 1));
            if (k >= 0)
                heads[k] = (uint64_t)head;
        }
        total += n;
    }
    FUZZ_CHECK(!more); /* no entry of an author the node does not list */
    sqlite3_reset(authors_st);
    sqlite3_reset(entries_st);
    return total;
}

/* What check_store found last: nothing changes the store between two ingests of one input, so
 * the state after one is the state before the next (checking it once halves the queries). */
typedef struct held {
    uint64_t heads[3];
    int64_t total;
} held;

/* Ingests items; checks the invariants that hold whatever they are; *h goes from the state
 * before to the state after. */
static op_err
ingest(store_db *db, store_reader *rd, const proto_run_item *items, size_t n, uint64_t now,
       store_ingested *ing, held *h)
{
    uint64_t before[3], after[3];
    size_t bad = SIZE_MAX;
    int64_t t0 = h->total;
    memcpy(before, h->heads, sizeof before);
    op_err r = store_log_ingest(db, rd, items, n, now, ing, &bad);
    int64_t t1 = check_store(after);
    FUZZ_CHECK(bad < n || n == 0);
    if (r == OP_OK) {
        FUZZ_CHECK(ing->stored + ing->already == n || n == 0);
        FUZZ_CHECK(t1 == t0 + (int64_t)ing->stored);
        FUZZ_CHECK(ing->filled <= ing->already);
        /* Again: nothing new. (When nothing was new the first time, that was the test.) */
        if (ing->stored > 0 || ing->filled > 0) {
            store_ingested again;
            FUZZ_CHECK(store_log_ingest(db, rd, items, n, now + 1, &again, NULL) == OP_OK);
            FUZZ_CHECK(again.stored == 0 && again.already == n && again.filled == 0);
            FUZZ_CHECK(check_store(after) == t1);
        }
    } else {
        FUZZ_CHECK(t1 == t0 && memcmp(before, after, sizeof before) == 0);
        FUZZ_CHECK(ing->filled == 0);
        FUZZ_CHECK(r == OP_E_FORK || (ing->stored == 0 && ing->already == 0));
    }
    memcpy(h->heads, after, sizeof after);
    h->total = t1;
    return r;
}

static void
problem(void *ctx, const uint8_t author[PROTO_KEY_BYTES], uint64_t seq, op_err e,
        const char *what)
{
    (void)ctx;
    (void)author;
    fprintf(stderr, "store_verify: seq %llu: %s: %s\n", (unsigned long long)seq, op_errname(e),
            what);
}

static void
ops(store_db *db, store_reader *rd, held *h, const uint8_t *p, size_t n)
{
    model m = {0};
    proto_run_item items[8];
    uint8_t *copy = NULL;
    uint64_t now = T0 + 100000;
    for (size_t k = 0; k + 4 <= n && k / 4 < MAX_OPS; k += 4, now += 1000) {
        int log = p[k] & 3;
        bool drop = p[k] & 4, corrupt = p[k] & 8;
        const store_run *run = &pool[log];
        uint64_t a = (uint64_t)p[k + 1] % (run->n + 1) + 1; /* may be one past the end */
        size_t cnt = (size_t)(p[k + 2] % 8) + 1;
        if (a > run->n)
            a = run->n;
        if (a - 1 + cnt > run->n)
            cnt = run->n - (a - 1);
        uint64_t b = a + cnt - 1;
        for (size_t i = 0; i < cnt; i++) {
            items[i] = run->items[a - 1 + i];
            if (drop)
                items[i].body = NULL, items[i].body_len = 0;
        }
        if (corrupt) { /* one byte of one envelope or body, in a copy */
            size_t which = p[k + 3] % cnt;
            proto_run_item *it = &items[which];
            bool env = !it->body || (p[k + 3] & 0x80);
            const uint8_t *src = env ? it->env : it->body;
            size_t len = env ? it->env_len : it->body_len;
            if (len > 0) {
                copy = fuzz_dup(src, len);
                copy[(p[k + 3] * 31u) % len] ^= (uint8_t)(1u << (p[k + 3] & 7));
                if (env)
                    it->env = copy;
                else
                    it->body = copy;
            }
        }
        int au = log_author[log];
        op_err want = expect(&m, log, a, b);
        store_ingested ing;
        op_err r = ingest(db, rd, items, cnt, now, &ing, h);
        if (!corrupt && !m.tainted[au]) {
            if (r != want)
                fprintf(stderr, "ingest fuzz: log %d seqs %llu..%llu: got %s, model says %s\n",
                        log, (unsigned long long)a, (unsigned long long)b, op_errname(r),
                        op_errname(want));
            FUZZ_CHECK(r == want);
        }
        if (r == OP_OK) {
            for (uint64_t s = m.head[au] + 1; s <= b; s++)
                m.branch[au][s] = log_branch[log];
            if (b > m.head[au])
                m.head[au] = b;
            if (corrupt)
                m.tainted[au] = true;
            /* The revocation takes effect once its body is held (filled in later if it first
             * came without: store_log_ingest). */
            if (au == 0 && !drop && a <= REVOKE_SEQ && b >= REVOKE_SEQ) {
                if (corrupt)
                    m.tainted[2] = true;
                else
                    m.revoke_known = true;
            }
        }
        if (!m.tainted[au])
            FUZZ_CHECK(h->heads[au] == m.head[au]);
        free(copy);
        copy = NULL;
    }
}

static void
raw(store_db *db, store_reader *rd, held *h, const uint8_t *p, size_t n)
{
    fuzz_piece pc[MAX_OPS];
    size_t np = fuzz_split(p, n, pc, MAX_OPS);
    uint64_t now = T0 + 100000;
    for (size_t i = 0; i < np; i++, now += 1000) {
        uint8_t *c = fuzz_dup(pc[i].p, pc[i].n);
        proto_msg m;
        store_ingested ing;
        if (proto_msg_decode(c, pc[i].n, &m) == OP_OK && m.type == PROTO_MSG_RUN)
            OP_IGNORE(ingest(db, rd, m.items, m.n_items, now, &ing, h)); /* checked inside */
        proto_msg_free(&m);
        free(c);
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    store_db *db;
    store_reader *rd;
    store_verified v;
    store_verify_cb cb = {.problem = problem};

    if (size < 1)
        return 0;
    fuzz_rng_reset(5);
    bool office = !(data[0] & 1);
    node_reset(office);
    db = node;
    team_must(store_reader_new(office ? &ids[0] : &ids[1], &rd), "reader");
    held h;
    h.total = check_store(h.heads);
    FUZZ_CHECK(h.total == 0);
    if (data[0] & 2)
        raw(db, rd, &h, data + 1, size - 1);
    else
        ops(db, rd, &h, data + 1, size - 1);
    FUZZ_CHECK(store_verify(db, &cb, &v) == OP_OK);
    FUZZ_CHECK(v.problems == 0);
    store_reader_free(rd);
    return 0;
}
