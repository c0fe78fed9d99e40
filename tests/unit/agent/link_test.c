/*
 * link_test.c — the secure link as agent/conn.c assembles it, without sockets: the handshake
 * (proto/hs.h) gives the keys, each side's messages (agent/session.h, over real SQLite stores)
 * are sealed into a secretstream (proto/frame.h), and the receiver reads the bytes as conn.c
 * does (proto_frame_peek, proto_stream_open, agent_session_recv; any code closes the link).
 *
 * One sync is recorded: the bytes node A sends to node B (stream header, then frames: HELLO,
 * BUCKETS, HAVE, one RUN per author, ACKs, DONE, the final frame), with B's entries after each
 * frame. The recording is then replayed to a copy of B, damaged (TESTING §C):
 *
 *   C7  1,000 random single-bit flips over the whole stream (SEED=N, printed), then every bit
 *       of the stream header and of each length prefix: every one is detected (OP_E_AUTH; a
 *       flip in a length prefix may instead show as TOOBIG, MALFORMED or a stream cut short:
 *       TRUNCATED); B's store is exactly what the frames before the flipped one left (nothing
 *       after it is committed), and no later frame opens.
 *   C8  every frame dropped, duplicated, and swapped with the next: 100 % refused (OP_E_AUTH)
 *       at that frame, the store as before it.
 *   C9  the stream cut at every frame boundary and inside every RUN frame: the reader sees no
 *       final frame (OP_E_TRUNCATED); the runs received whole are kept; a new link then
 *       completes the sync (resumed from the have-vectors).
 *   C17 no session key and no stream state is in B's database (files searched for the keys
 *       and the stream headers' nonces).
 *
 * Runs in about a second; SEED=N repeats the flips of a failed run.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "agent/session.h"
#include "proto/frame.h"
#include "proto/hs.h"
#include "store/log.h"

#define AUTHORS 4
#define PER_AUTHOR 60
#define FLIPS 1000
static const uint64_t NOW = 1764000000000ull;
static uint8_t netkey[PROTO_NETKEY_BYTES];
static char root[256];

/* ---- replicas: a node directory with its store ---- */

typedef struct replica {
    char dir[512];
    store_db *db;
    store_identity *id;
    store_reader *rd;
} replica;

static void
replica_open(replica *r)
{
    char path[600];
    snprintf(path, sizeof path, "%s/outpost.db", r->dir);
    assert_int_equal(store_db_open(path, STORE_OPEN_CREATE, &r->db), OP_OK);
    assert_int_equal(store_identity_load(r->dir, &r->id), OP_OK);
    assert_int_equal(store_reader_new(r->id, &r->rd), OP_OK);
}

static void
replica_close(replica *r)
{
    store_reader_free(r->rd);
    store_db_close(r->db);
    store_identity_free(r->id);
    r->rd = NULL;
    r->db = NULL;
    r->id = NULL;
}

static void
replica_new(replica *r, const char *name)
{
    store_identity *id;
    snprintf(r->dir, sizeof r->dir, "%s/%s", root, name);
    assert_int_equal(mkdir(r->dir, 0700), 0);
    assert_int_equal(store_identity_create(r->dir, &id), OP_OK);
    store_identity_free(id);
    replica_open(r);
}

static void
copy_file(const char *from, const char *to)
{
    FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
    char buf[65536];
    size_t n;
    assert_non_null(in);
    assert_non_null(out);
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        assert_int_equal(fwrite(buf, 1, n, out), n);
    fclose(in);
    assert_int_equal(fclose(out), 0);
}

/* A closed replica's files copied to a new directory `name`, opened. */
static void
replica_clone(const replica *from, const char *name, replica *to)
{
    char a[700], b[700];
    snprintf(to->dir, sizeof to->dir, "%s/%s", root, name);
    assert_int_equal(mkdir(to->dir, 0700), 0);
    const char *files[] = {"outpost.db", STORE_IDENTITY_FILE};
    for (int i = 0; i < 2; i++) {
        snprintf(a, sizeof a, "%s/%s", from->dir, files[i]);
        snprintf(b, sizeof b, "%s/%s", to->dir, files[i]);
        copy_file(a, b);
        assert_int_equal(chmod(b, 0600), 0);
    }
    replica_open(to);
}

static void
append(replica *r, uint32_t tag)
{
    proto_body b;
    store_appended a;
    char note[48];
    proto_body_init(&b, PROTO_KIND_CHECKIN);
    snprintf(note, sizeof note, "note %u of a check-in", tag);
    b.note = strdup(note);
    b.energy = 1 + tag % 5;
    assert_int_equal(store_log_append(r->db, r->rd, r->id, &b, NOW + tag, &a), OP_OK);
    proto_body_fini(&b);
}

/* Entries held, and a digest of them (keys, seqs, hashes in order). */
static uint64_t
digest(replica *r, uint8_t out[32])
{
    sqlite3_stmt *st;
    crypto_generichash_state h;
    uint64_t n = 0;
    crypto_generichash_init(&h, NULL, 0, 32);
    assert_int_equal(sqlite3_prepare_v2(store_db_handle(r->db),
                                        "SELECT a.key, e.seq, e.hash FROM entries e JOIN authors a"
                                        " ON a.id = e.author ORDER BY a.key, e.seq",
                                        -1, &st, NULL),
                     SQLITE_OK);
    while (sqlite3_step(st) == SQLITE_ROW) {
        int64_t seq = sqlite3_column_int64(st, 1);
        crypto_generichash_update(&h, sqlite3_column_blob(st, 0), 32);
        crypto_generichash_update(&h, (const uint8_t *)&seq, sizeof seq);
        crypto_generichash_update(&h, sqlite3_column_blob(st, 2), 32);
        n++;
    }
    sqlite3_finalize(st);
    crypto_generichash_final(&h, out, 32);
    return n;
}

/* ---- one side of a link: its session, its two stream states, what it sent ---- */

typedef struct side {
    replica *r;
    agent_session *s;
    proto_stream tx, rx;
    uint8_t rx_key[32];
    bool rx_started, final_in, sink; /* sink: sends are counted, not kept (replays) */
    uint8_t *out;
    size_t out_len, out_cap, in_off; /* in_off: how far the peer's bytes were read */
} side;

static void
out_put(side *d, const uint8_t *p, size_t n)
{
    if (d->out_len + n > d->out_cap) {
        d->out_cap = (d->out_len + n) * 2;
        d->out = realloc(d->out, d->out_cap);
        assert_non_null(d->out);
    }
    memcpy(d->out + d->out_len, p, n);
    d->out_len += n;
}

static op_err
side_send(void *ctx, const uint8_t *msg, size_t n)
{
    side *d = ctx;
    static uint8_t frame[PROTO_FRAME_MAX_BYTES + PROTO_FRAME_OVERHEAD];
    size_t len;
    if (d->sink)
        return OP_OK;
    op_err r = proto_stream_seal(&d->tx, msg, n, false, frame, sizeof frame, &len);
    if (r == OP_OK)
        out_put(d, frame, len);
    return r;
}

static void
side_goodbye(side *d)
{
    uint8_t frame[PROTO_FRAME_OVERHEAD];
    size_t len;
    assert_int_equal(proto_stream_seal(&d->tx, NULL, 0, true, frame, sizeof frame, &len), OP_OK);
    out_put(d, frame, len);
}

static void
side_init(side *d, replica *r, const uint8_t tx[32], const uint8_t rx[32], bool sink)
{
    uint8_t header[PROTO_FRAME_HEADER_BYTES];
    memset(d, 0, sizeof *d);
    d->r = r;
    d->sink = sink;
    agent_session_io io = {.ctx = d, .send = side_send};
    assert_int_equal(proto_stream_push_init(&d->tx, tx, header), OP_OK);
    out_put(d, header, sizeof header);
    memcpy(d->rx_key, rx, 32);
    assert_int_equal(agent_session_new(r->db, r->rd, &io, &d->s), OP_OK);
}

static void
side_fini(side *d)
{
    agent_session_free(d->s);
    free(d->out);
    sodium_memzero(d, sizeof *d);
}

/*
 * Reads bytes[*off..n) as conn.c's process() does: the stream header first, then whole frames,
 * each opened and handed to the session. Stops at the first frame that is not whole (OP_OK,
 * more may come) or at the first failure (its code: the link would close). *frames counts the
 * frames opened.
 */
static op_err
side_read(side *d, const uint8_t *bytes, size_t n, size_t *off, int max_frames, int *frames)
{
    static uint8_t msg[PROTO_FRAME_MAX_BYTES];
    op_err r;
    *frames = 0;
    if (!d->rx_started) {
        if (n - *off < PROTO_FRAME_HEADER_BYTES)
            return OP_OK;
        if ((r = proto_stream_pull_init(&d->rx, d->rx_key, bytes + *off)) != OP_OK)
            return r;
        *off += PROTO_FRAME_HEADER_BYTES;
        d->rx_started = true;
    }
    while (*off < n && *frames != max_frames && !d->final_in) {
        size_t flen, mlen;
        bool final;
        if ((r = proto_frame_peek(bytes + *off, n - *off, &flen)) == OP_E_TRUNCATED)
            return OP_OK;
        if (r != OP_OK)
            return r;
        if ((r = proto_stream_open(&d->rx, bytes + *off, flen, msg, sizeof msg, &mlen, &final)) !=
            OP_OK)
            return r;
        *off += flen;
        (*frames)++;
        if (mlen > 0 && (r = agent_session_recv(d->s, msg, mlen, NOW)) != OP_OK)
            return r;
        d->final_in = final;
    }
    return OP_OK;
}

/* Keys for a link between a (dialling) and b, from a real handshake. */
static void
handshake(replica *a, replica *b, proto_hs_result *ra, proto_hs_result *rb)
{
    proto_hs *hi, *hr;
    uint8_t m[PROTO_HS_MSG2_BYTES];
    size_t n;
    assert_int_equal(proto_hs_new(true, netkey, a->id->sk, b->id->pk, &hi), OP_OK);
    assert_int_equal(proto_hs_new(false, netkey, b->id->sk, NULL, &hr), OP_OK);
    assert_int_equal(proto_hs_write(hi, m, sizeof m, &n), OP_OK);
    assert_int_equal(proto_hs_read(hr, m, n), OP_OK);
    assert_int_equal(proto_hs_write(hr, m, sizeof m, &n), OP_OK);
    assert_int_equal(proto_hs_read(hi, m, n), OP_OK);
    assert_int_equal(proto_hs_write(hi, m, sizeof m, &n), OP_OK);
    assert_int_equal(proto_hs_read(hr, m, n), OP_OK);
    assert_int_equal(proto_hs_get(hi, ra), OP_OK);
    assert_int_equal(proto_hs_get(hr, rb), OP_OK);
    proto_hs_free(hi);
    proto_hs_free(hr);
}

/* What a recorded sync left: A's bytes, where each frame starts, B's store after each. */
typedef struct recording {
    uint8_t *bytes;
    size_t len;
    size_t start[64]; /* frame k is bytes [start[k], start[k+1]); start[0] = header size */
    int frames;
    uint64_t held[65];              /* B's entries after k frames */
    uint8_t dig[65][32];            /* and their digest */
    uint8_t tx_key[32], rx_key[32]; /* A's session keys (C17: looked for in B's files) */
    uint8_t hdr_nonce[2][8];        /* the nonce part of both stream headers */
} recording;

/* A full sync a -> b over a link; with rec, records a's bytes and b's store frame by frame. */
static void
sync_link(replica *a, replica *b, recording *rec)
{
    proto_hs_result ra, rb;
    side sa, sb;
    bool more;
    size_t a_off = 0, b_off = 0;
    int got, steps = 0;
    handshake(a, b, &ra, &rb);
    side_init(&sa, a, ra.tx, ra.rx, false);
    side_init(&sb, b, rb.tx, rb.rx, false);
    if (rec) {
        memset(rec, 0, sizeof *rec);
        memcpy(rec->tx_key, ra.tx, 32);
        memcpy(rec->rx_key, ra.rx, 32);
        memcpy(rec->hdr_nonce[0], sa.out + 16, 8);
        memcpy(rec->hdr_nonce[1], sb.out + 16, 8);
        rec->start[0] = PROTO_FRAME_HEADER_BYTES;
        rec->held[0] = digest(b, rec->dig[0]);
    }
    sodium_memzero(&ra, sizeof ra);
    sodium_memzero(&rb, sizeof rb);
    assert_int_equal(agent_session_start(sa.s, NOW), OP_OK);
    assert_int_equal(agent_session_start(sb.s, NOW), OP_OK);
    while (!(agent_session_synced(sa.s) && agent_session_synced(sb.s) && b_off == sa.out_len &&
             a_off == sb.out_len)) {
        assert_true(++steps < 100000);
        assert_int_equal(agent_session_pump(sa.s, 256 * 1024, &more), OP_OK);
        assert_int_equal(agent_session_pump(sb.s, 256 * 1024, &more), OP_OK);
        /* b reads a's frames one at a time, so the recording knows b's store after each */
        while (b_off < sa.out_len) {
            assert_int_equal(side_read(&sb, sa.out, sa.out_len, &b_off, 1, &got), OP_OK);
            if (got == 0)
                break;
            if (rec) {
                int k = ++rec->frames;
                assert_true(k < 64);
                rec->start[k] = b_off;
                rec->held[k] = digest(b, rec->dig[k]);
            }
        }
        assert_int_equal(side_read(&sa, sb.out, sb.out_len, &a_off, -1, &got), OP_OK);
    }
    /* Goodbye both ways: the final frames end the streams. */
    side_goodbye(&sa);
    side_goodbye(&sb);
    assert_int_equal(side_read(&sb, sa.out, sa.out_len, &b_off, -1, &got), OP_OK);
    assert_int_equal(side_read(&sa, sb.out, sb.out_len, &a_off, -1, &got), OP_OK);
    assert_true(sa.final_in && sb.final_in);
    if (rec) {
        int k = ++rec->frames;
        rec->start[k] = b_off;
        rec->held[k] = digest(b, rec->dig[k]);
        rec->bytes = malloc(sa.out_len);
        memcpy(rec->bytes, sa.out, sa.out_len);
        rec->len = sa.out_len;
        assert_int_equal(rec->start[rec->frames], rec->len);
    }
    side_fini(&sa);
    side_fini(&sb);
}

/* ---- the fixture: A holds AUTHORS logs, B (a copy is made for each replay) holds its own ---- */

static replica A, B0;
static recording rec;
static uint8_t full_digest[32];

static void
rm_rf(const char *path)
{
    DIR *d = opendir(path);
    struct dirent *de;
    char sub[700];
    if (!d) {
        unlink(path);
        return;
    }
    while ((de = readdir(d)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
            snprintf(sub, sizeof sub, "%s/%s", path, de->d_name);
            rm_rf(sub);
        }
    closedir(d);
    rmdir(path);
}

static int
setup(void **state)
{
    replica w, b;
    char name[32];
    (void)state;
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(root, sizeof root, "%s/outpost-link-XXXXXX", base);
    assert_non_null(mkdtemp(root));
    randombytes_buf(netkey, sizeof netkey);
    replica_new(&A, "a");
    for (int i = 0; i < AUTHORS - 1; i++) {
        snprintf(name, sizeof name, "w%d", i);
        replica_new(&w, name);
        for (uint32_t k = 0; k < PER_AUTHOR; k++)
            append(&w, (uint32_t)i * 1000 + k);
        sync_link(&w, &A, NULL);
        replica_close(&w);
    }
    for (uint32_t k = 0; k < PER_AUTHOR; k++)
        append(&A, 9000 + k);
    replica_new(&B0, "b0");
    for (uint32_t k = 0; k < 3; k++)
        append(&B0, 20000 + k);
    replica_close(&B0);
    /* The recording: a sync of A and a copy of B. */
    replica_clone(&B0, "brec", &b);
    sync_link(&A, &b, &rec);
    digest(&b, full_digest);
    replica_close(&b);
    print_message("recorded A -> B: %zu bytes, %d frames, B held %llu then %llu entries\n", rec.len,
                  rec.frames, (unsigned long long)rec.held[0],
                  (unsigned long long)rec.held[rec.frames]);
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    replica_close(&A);
    free(rec.bytes);
    rm_rf(root);
    return 0;
}

/* A fresh copy of B, its session started, ready to read the recording (keys of the recorded
 * link: B's rx is A's tx). */
static int clones;

static void
replay_begin(replica *b, side *d)
{
    char name[32];
    snprintf(name, sizeof name, "b%d", ++clones);
    replica_clone(&B0, name, b);
    side_init(d, b, rec.rx_key, rec.tx_key, true);
    assert_int_equal(agent_session_start(d->s, NOW), OP_OK);
}

static void
replay_end(replica *b, side *d)
{
    side_fini(d);
    replica_close(b);
    rm_rf(b->dir);
}

static void
assert_store_is(replica *b, int k, const char *what, size_t i)
{
    uint8_t dg[32];
    uint64_t n = digest(b, dg);
    if (n != rec.held[k] || memcmp(dg, rec.dig[k], 32) != 0)
        fail_msg("%s %zu: B holds %llu entries, not the %llu the first %d frames left", what, i,
                 (unsigned long long)n, (unsigned long long)rec.held[k], k);
}

/* The clean replay gives B what the recorded sync gave it, frame by frame. */
static void
test_clean_replay(void **state)
{
    replica b;
    side d;
    size_t off = 0;
    int got;
    (void)state;
    replay_begin(&b, &d);
    for (int k = 1; k <= rec.frames; k++) {
        assert_int_equal(side_read(&d, rec.bytes, rec.len, &off, 1, &got), OP_OK);
        assert_int_equal(got, 1);
        assert_int_equal(off, rec.start[k]);
        assert_store_is(&b, k, "frame", (size_t)k);
    }
    assert_true(d.final_in);
    /* several RUN frames, each of which stored entries */
    int runs = 0;
    for (int k = 1; k <= rec.frames; k++)
        runs += rec.held[k] > rec.held[k - 1];
    print_message("%d of %d frames stored entries\n", runs, rec.frames);
    assert_true(runs >= AUTHORS);
    replay_end(&b, &d);
}

static int
cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? -1 : x > y;
}

/* The frame holding byte pos (0 for the stream header), 1-based like rec.start. */
static int
frame_of(size_t pos)
{
    int k = 0;
    while (k < rec.frames && pos >= rec.start[k])
        k++;
    return pos < rec.start[0] ? 0 : k;
}

/* Flips each bit of bits[0..n) (sorted) in turn, B reading from where the clean frames before
 * the flipped one left it; checks detection and the store. by_code counts the codes. */
static void
flip_sweep(const size_t *bits, int n, int by_code[64], int *in_prefix)
{
    uint8_t *bytes = malloc(rec.len);
    replica b;
    side d;
    size_t off = 0;
    int got, at = 1;
    memcpy(bytes, rec.bytes, rec.len);
    replay_begin(&b, &d);
    for (int i = 0; i < n; i++) {
        size_t pos = bits[i] / 8;
        int k = frame_of(pos);
        /* B reads the clean frames before the flipped one (nothing for the stream header). */
        if (k > 0) {
            if (!d.rx_started)
                assert_int_equal(side_read(&d, rec.bytes, rec.len, &off, 0, &got), OP_OK);
            for (; at < k; at++) {
                assert_int_equal(side_read(&d, rec.bytes, rec.len, &off, 1, &got), OP_OK);
                assert_int_equal(got, 1);
            }
        }
        /* One flip, read from where B is, on a copy of its stream state. */
        side t = d;
        size_t toff = off;
        bytes[pos] ^= (uint8_t)(1u << (bits[i] % 8));
        op_err e = side_read(&t, bytes, rec.len, &toff, -1, &got);
        if (e == OP_OK && !t.final_in)
            e = OP_E_TRUNCATED; /* the bytes ran out without a final frame: a cut stream */
        bytes[pos] = rec.bytes[pos];
        bool prefix = k > 0 && pos < rec.start[k - 1] + 4;
        *in_prefix += prefix;
        if (e == OP_OK || got != 0)
            fail_msg("flip %d (bit %zu, frame %d): not detected (%s, %d frames opened)", i, bits[i],
                     k, op_errname(e), got);
        if (!prefix && e != OP_E_AUTH)
            fail_msg("flip %d (bit %zu, frame %d): %s, not AUTH", i, bits[i], k, op_errname(e));
        by_code[-e]++;
        /* Nothing of the flipped frame or after it was committed ... */
        assert_store_is(&b, k > 0 ? k - 1 : 0, "flip", (size_t)i);
        /* ... and no later frame opens on the stream state the failure left. */
        if (k > 0 && k < rec.frames) {
            size_t nxt = rec.start[k];
            size_t flen = rec.start[k + 1] - nxt;
            static uint8_t out[PROTO_FRAME_MAX_BYTES];
            size_t mlen;
            bool final;
            assert_int_not_equal(
                proto_stream_open(&t.rx, rec.bytes + nxt, flen, out, sizeof out, &mlen, &final),
                OP_OK);
        }
    }
    free(bytes);
    replay_end(&b, &d);
}

static void
test_c7_bit_flips(void **state)
{
    static size_t bits[FLIPS], fixed[PROTO_FRAME_HEADER_BYTES * 8 + 64 * 32];
    uint8_t seed[randombytes_SEEDBYTES] = {0};
    const char *env = getenv("SEED");
    unsigned long long sd = env ? strtoull(env, NULL, 10) : randombytes_random();
    int by_code[64] = {0}, in_prefix = 0, nfixed = 0;
    (void)state;
    print_message("test_c7_bit_flips: SEED=%llu\n", sd);
    memcpy(seed, &sd, sizeof sd);
    randombytes_buf_deterministic(bits, sizeof bits, seed);
    for (int i = 0; i < FLIPS; i++)
        bits[i] %= rec.len * 8;
    qsort(bits, FLIPS, sizeof bits[0], cmp_size);
    flip_sweep(bits, FLIPS, by_code, &in_prefix);
    print_message("C7: %d of %d random single-bit flips detected over %zu bytes (%d in length "
                  "prefixes): AUTH %d, TOOBIG %d, MALFORMED %d, TRUNCATED %d\n",
                  FLIPS, FLIPS, rec.len, in_prefix, by_code[-OP_E_AUTH], by_code[-OP_E_TOOBIG],
                  by_code[-OP_E_MALFORMED], by_code[-OP_E_TRUNCATED]);
    assert_int_equal(by_code[-OP_E_AUTH] + by_code[-OP_E_TOOBIG] + by_code[-OP_E_MALFORMED] +
                         by_code[-OP_E_TRUNCATED],
                     FLIPS);
    /* Random flips rarely land in the stream header or a length prefix: every bit of those. */
    for (size_t bit = 0; bit < PROTO_FRAME_HEADER_BYTES * 8; bit++)
        fixed[nfixed++] = bit;
    for (int k = 1; k <= rec.frames; k++)
        for (size_t bit = 0; bit < 32; bit++)
            fixed[nfixed++] = rec.start[k - 1] * 8 + bit;
    memset(by_code, 0, sizeof by_code);
    in_prefix = 0;
    flip_sweep(fixed, nfixed, by_code, &in_prefix);
    print_message("C7: every bit of the stream header and of the %d length prefixes (%d flips) "
                  "detected: AUTH %d, TOOBIG %d, MALFORMED %d, TRUNCATED %d\n",
                  rec.frames, nfixed, by_code[-OP_E_AUTH], by_code[-OP_E_TOOBIG],
                  by_code[-OP_E_MALFORMED], by_code[-OP_E_TRUNCATED]);
    assert_int_equal(by_code[-OP_E_AUTH] + by_code[-OP_E_TOOBIG] + by_code[-OP_E_MALFORMED] +
                         by_code[-OP_E_TRUNCATED],
                     nfixed);
}

/* Feeds B (at frame k-1) the frames in `order` (1-based frame numbers); returns the code. */
static op_err
feed(side *d, const int *order, int n, int *opened)
{
    op_err e = OP_OK;
    *opened = 0;
    for (int i = 0; i < n && e == OP_OK; i++) {
        int f = order[i];
        size_t o = rec.start[f - 1];
        int got;
        e = side_read(d, rec.bytes, rec.start[f], &o, 1, &got);
        *opened += got;
    }
    return e;
}

static void
test_c8_drop_dup_reorder(void **state)
{
    replica b;
    side d;
    size_t off = 0;
    int got, refused = 0, cases = 0;
    (void)state;
    replay_begin(&b, &d);
    assert_int_equal(side_read(&d, rec.bytes, rec.len, &off, 0, &got), OP_OK); /* header */
    for (int k = 1; k <= rec.frames; k++) {
        /* B has read frames 1..k-1. Each damage on a copy of its stream state. */
        int drop[] = {k + 1}, swap[] = {k + 1, k}, dup[] = {k, k};
        const int *orders[] = {drop, swap, dup};
        int lens[] = {1, 2, 2};
        const char *names[] = {"drop", "reorder", "duplicate"};
        for (int m = 0; m < 3; m++) {
            if (k == rec.frames)
                continue; /* the final frame: nothing comes after it to drop to or swap with,
                           * and conn.c ignores bytes after it (a duplicate is never read) */
            side t = d;
            int opened;
            op_err e = feed(&t, orders[m], lens[m], &opened);
            cases++;
            if (e != OP_E_AUTH)
                fail_msg("%s of frame %d: %s, not AUTH", names[m], k, op_errname(e));
            /* a duplicate is caught at its second copy: the first is the real frame k */
            assert_int_equal(opened, m == 2 ? 1 : 0);
            assert_store_is(&b, m == 2 ? k : k - 1, names[m], (size_t)k);
            refused++;
            if (m == 2) { /* undo frame k's effect: start again from a copy at k - 1 */
                replay_end(&b, &d);
                replay_begin(&b, &d);
                off = 0;
                assert_int_equal(side_read(&d, rec.bytes, rec.len, &off, k - 1, &got), OP_OK);
                assert_int_equal(got, k - 1);
            }
        }
        assert_int_equal(side_read(&d, rec.bytes, rec.len, &off, 1, &got), OP_OK);
        assert_int_equal(got, 1);
    }
    print_message("C8: %d of %d dropped, duplicated or reordered frames refused (AUTH)\n", refused,
                  cases);
    assert_int_equal(refused, cases);
    replay_end(&b, &d);
}

/* Cut points: every frame boundary, and the middle of every frame that stored entries. */
static void
test_c9_truncation_keeps_whole_runs_and_resumes(void **state)
{
    int cuts = 0;
    (void)state;
    for (int k = 0; k <= rec.frames; k++) {
        for (int mid = 0; mid < 2; mid++) {
            if (mid && (k == 0 || rec.held[k] == rec.held[k - 1]))
                continue;
            size_t cut = mid ? (rec.start[k - 1] + rec.start[k]) / 2 : rec.start[k];
            int whole = mid ? k - 1 : k;
            if (whole == rec.frames)
                continue; /* the whole stream, final frame included: not a cut */
            replica b;
            side d;
            size_t off = 0;
            int got;
            replay_begin(&b, &d);
            assert_int_equal(side_read(&d, rec.bytes, cut, &off, -1, &got), OP_OK);
            /* EOF without the final frame: conn.c reports TRUNCATED */
            assert_false(d.final_in);
            assert_int_equal(got, whole);
            assert_store_is(&b, whole, "cut after frames", (size_t)whole);
            side_fini(&d);
            /* The next link resumes from the have-vectors and completes the sync. */
            sync_link(&A, &b, NULL);
            uint8_t dg[32];
            digest(&b, dg);
            assert_memory_equal(dg, full_digest, 32);
            replica_close(&b);
            rm_rf(b.dir);
            cuts++;
        }
    }
    print_message("C9: %d cuts: each kept the runs received whole, and a new link completed "
                  "the sync\n",
                  cuts);
    assert_true(cuts > AUTHORS);
}

/* Searches every file of dir for needle (n bytes). */
static int
found_in_dir(const char *dir, const uint8_t *needle, size_t n)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    int hits = 0;
    assert_non_null(d);
    while ((de = readdir(d))) {
        char path[700];
        struct stat stt;
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        if (stat(path, &stt) != 0 || !S_ISREG(stt.st_mode))
            continue;
        FILE *f = fopen(path, "rb");
        uint8_t *buf = malloc((size_t)stt.st_size + 1);
        size_t len = fread(buf, 1, (size_t)stt.st_size, f);
        fclose(f);
        for (size_t i = 0; i + n <= len; i++)
            hits += memcmp(buf + i, needle, n) == 0;
        free(buf);
    }
    closedir(d);
    return hits;
}

/* C17: the recorded link's session keys and stream nonces are nowhere in the files of either
 * node (database, WAL, keys), with both open and after closing. */
static void
test_c17_no_stream_state_stored(void **state)
{
    replica b;
    char adir[600];
    (void)state;
    snprintf(adir, sizeof adir, "%s", A.dir);
    replica_clone(&B0, "bkeys", &b);
    recording r2;
    sync_link(&A, &b, &r2);
    for (int closed = 0; closed < 2; closed++) {
        const char *dirs[] = {adir, b.dir};
        for (int i = 0; i < 2; i++) {
            assert_int_equal(found_in_dir(dirs[i], r2.tx_key, 32), 0);
            assert_int_equal(found_in_dir(dirs[i], r2.rx_key, 32), 0);
            assert_int_equal(found_in_dir(dirs[i], r2.hdr_nonce[0], 8), 0);
            assert_int_equal(found_in_dir(dirs[i], r2.hdr_nonce[1], 8), 0);
        }
        if (!closed)
            replica_close(&b);
    }
    /* the search works: A's key (in every envelope A wrote) is in B's database */
    assert_true(found_in_dir(b.dir, A.id->pk, 32) > 0);
    free(r2.bytes);
    rm_rf(b.dir);
}

int
main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clean_replay),
        cmocka_unit_test(test_c7_bit_flips),
        cmocka_unit_test(test_c8_drop_dup_reorder),
        cmocka_unit_test(test_c9_truncation_keeps_whole_runs_and_resumes),
        cmocka_unit_test(test_c17_no_stream_state_stored),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
