/*
 * erase_fault.c — crashes during erasure and key rotation (TESTING A6): the A3 power-loss shim
 * (vfs_fault.h) and the A1 kill -9 applied to a node while it erases its own entries, ingests
 * other nodes' erase entries, starts new epochs and takes in a revocation.
 *
 * The node under test, X, has joined an office O; P is another member. Their logs are made
 * first (real stores, real entries) and handed to X as runs, as a sync session would. X's
 * workload is 19 operations, each one store call and so one transaction (see `ops` below):
 *   (a) X erases its own check-ins (`outpost erase me SEQ`: the erase entry is appended and the
 *       body, its projection and the tombstone go in the same transaction), one of them written
 *       under a rotated epoch;
 *   (b) X ingests P's erase entries (alone, and in the middle of a run of P's check-ins) and the
 *       office's erase of one of X's own entries, each removing a body X holds, and the office's
 *       erase of one of P's that X does not hold yet (the entry then comes without its body);
 *   (c) epoch rotation: X's first epoch, a new one when the epoch is older than 30 days (the key
 *       entry and the check-in that needed it in one transaction), a new one for feedback to P
 *       (a new set of readers); and the office's revocation of Q, after which nothing is sealed
 *       to Q (the store starts no epoch on a revocation: a revoked key is in no set of readers
 *       again, since store_log_append_to refuses it).
 * Operations run in sessions of 1-4 that open and close the node as the CLI does, so the
 * checkpoints at close, and the TRUNCATE checkpoint after each erasure (store/erase.h), are
 * crash points too.
 *
 * A dry run first records the state after every operation: a vector of counts (each author's
 * head, bodies held, tombstones, check-ins, feedback rows, key entries, members and revoked
 * members, X's epochs). After a crash the store must be, exactly, the state after some prefix
 * of the operations: at least every operation acknowledged durably (a local write, FULL; an
 * ingest, NORMAL, is durable once a later FULL commit synced the WAL after it), at most the one
 * in flight. A half-done operation matches no state and fails. Besides, on every crashed store:
 *   - the database opens, PRAGMA integrity_check is ok, store_verify finds no problem;
 *   - erasure: for each erase entry held (all of them count here), the body it names is gone,
 *     its projection row too, and its tombstone in `erased` names that erase entry; each
 *     tombstone's erase entry is held; every held check-in or feedback body with no tombstone is
 *     there, and X's own are projected. Never a mix;
 *   - rotation: every epoch X used has its key entry at a lower seq, readable (plaintext), of
 *     that epoch and sealed to X and the office; own_epochs points only at held key entries;
 *     then a new check-in is appended (as the node would after restarting) and must be readable
 *     by X and by the office with the key entry X holds: the rotated epoch is used if its key
 *     entry is there (no new key entry), else a new one is made in the same transaction.
 *
 *   erase_fault crash   power loss at every xSync of the workload, in 3 modes (every unsynced
 *                       write applied / none / torn into 512-byte pieces applied, dropped or
 *                       garbage, seeded; torn copies keep the -shm of the moment), workload runs
 *                       with new seeds until ERASE_CRASH_POINTS (default 1000) points checked.
 *   erase_fault kill9   A1: a child runs the workload on real files and gets SIGKILL at a
 *                       random instant within the workload's length; the parent (which read the
 *                       acknowledgements from a pipe) checks the files as the child left them.
 *                       ERASE_KILLS times (default 100).
 *
 * Environment: SEED (default random, printed; re-runs a failure), ERASE_CRASH_POINTS,
 * ERASE_KILLS, FAULT_DIR (default $TMPDIR), FAULT_KEEP=1 keeps the directory. Long mode (the
 * gate): ERASE_CRASH_POINTS=50000 ERASE_KILLS=2000. Prints "N passed, N failed".
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "proto/body.h"
#include "proto/entry.h"
#include "store/keyfile.h"
#include "store/log.h"
#include "store/reader.h"
#include "store/verify.h"
#include "store/view.h"
#include "tests/fault/fault_util.h"
#include "tests/fault/vfs_fault.h"

#define T0 1764000000000ull
#define DAY_MS (24ull * 3600 * 1000)
#define ROT (T0 + 31 * DAY_MS) /* over STORE_EPOCH_MAX_AGE_MS after T0: a new epoch */
#define NV 11                  /* numbers in a state vector */

static char root[1024], xdir[PATH_MAX], pdir[PATH_MAX], odir[PATH_MAX], copy_dir[PATH_MAX];
static store_identity *xid, *pid_, *oid;
static uint8_t q_pk[PROTO_KEY_BYTES];

/* ---- the other nodes' logs, as runs ---- */

enum { R_MEMBERS, R_P1, R_PERASE, R_P3, R_OERASE, R_REVOKE, R_OERASE_P, N_RUNS };
static store_run runs[N_RUNS];

static uint64_t
env_u64(const char *name, uint64_t dflt)
{
    const char *v = getenv(name);
    return v && *v ? strtoull(v, NULL, 10) : dflt;
}

static double
now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t
mix(uint64_t a, uint64_t b)
{
    uint64_t z = a * 0x9e3779b97f4a7c15ull ^ (b + 0x632be59bd9b4e019ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static int
failf(char *why, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, len, fmt, ap);
    va_end(ap);
    return 1;
}

static op_err
append_checkin(fu_node *n, const char *note, uint64_t ts)
{
    proto_body b;
    store_appended ap;
    proto_body_init(&b, PROTO_KIND_CHECKIN);
    b.thriving = PROTO_YES;
    b.energy = 3;
    b.note = (char *)note; /* borrowed: no fini */
    return store_log_append(n->db, n->rd, n->id, &b, ts, &ap);
}

static op_err
append_erase(fu_node *n, const uint8_t author[PROTO_KEY_BYTES], uint64_t seq, uint64_t ts)
{
    proto_body b;
    store_appended ap;
    proto_body_init(&b, PROTO_KIND_ERASE);
    memcpy(b.re.author, author, PROTO_KEY_BYTES);
    b.re.seq = seq;
    b.has_re = true;
    return store_log_append(n->db, n->rd, n->id, &b, ts, &ap);
}

static op_err
append_member(fu_node *n, const uint8_t key[PROTO_KEY_BYTES], const char *name, uint64_t ts)
{
    proto_body b;
    store_appended ap;
    proto_body_init(&b, PROTO_KIND_MEMBER);
    memcpy(b.key, key, PROTO_KEY_BYTES);
    b.has_key = true;
    b.name = (char *)name;
    b.role = "worker";
    return store_log_append(n->db, n->rd, n->id, &b, ts, &ap);
}

static op_err
append_feedback(fu_node *n, const uint8_t to[PROTO_KEY_BYTES], const char *text, uint64_t ts)
{
    proto_body b;
    store_appended ap;
    proto_body_init(&b, PROTO_KIND_FEEDBACK);
    memcpy(b.who, to, PROTO_KEY_BYTES);
    b.has_who = true;
    b.text = (char *)text;
    return store_log_append_to(n->db, n->rd, n->id, &b, to, ts, &ap);
}

static op_err
read_run(fu_node *n, uint64_t from, size_t count, store_run *out)
{
    op_err r = store_log_read(n->db, n->id->pk, from, count, out);
    if (r == OP_OK && out->n != count)
        r = OP_E_NOTFOUND;
    return r;
}

/*
 * The office's log: 1-3 member X, P, Q; 4 erase (X, 4) (X's check-in c2: X's log is 1 key,
 * 2-5 c0-c3, checked by the dry run); 5 revoke Q; 6 erase (P, 10), which X gets before P's
 * entry 10 itself. P's log: 1 key, 2-6 p0-p4, 7 erase (P, 3),
 * 8 p5, 9 erase (P, 5), 10 p6. Each run is read before the erase that follows it, so that it
 * carries the bodies.
 */
static int
make_logs(void)
{
    uint8_t sk[crypto_sign_SECRETKEYBYTES];
    fu_node o, p;
    op_err r;
    char note[16];

    crypto_sign_keypair(q_pk, sk);
    sodium_memzero(sk, sizeof sk);
    if (fu_fresh_node(odir) != OP_OK || fu_fresh_node(pdir) != OP_OK ||
        fu_fresh_node(xdir) != OP_OK || store_identity_load(odir, &oid) != OP_OK ||
        store_identity_load(pdir, &pid_) != OP_OK || store_identity_load(xdir, &xid) != OP_OK)
        return 1;
    fu_set_office(oid->pk);
    if ((r = fu_open(&o, odir, STORE_OPEN_CREATE)) != OP_OK)
        goto fail0;
    if ((r = fu_open(&p, pdir, STORE_OPEN_CREATE)) != OP_OK) {
        fu_close(&o);
        goto fail0;
    }
    if ((r = append_member(&o, xid->pk, "x", T0 - 3000)) != OP_OK ||
        (r = append_member(&o, pid_->pk, "p", T0 - 2000)) != OP_OK ||
        (r = append_member(&o, q_pk, "q", T0 - 1000)) != OP_OK ||
        (r = read_run(&o, 1, 3, &runs[R_MEMBERS])) != OP_OK)
        goto fail;
    for (int i = 0; i < 5 && r == OP_OK; i++) {
        snprintf(note, sizeof note, "p%d", i);
        r = append_checkin(&p, note, T0 + (uint64_t)i * 1000);
    }
    if (r != OP_OK || (r = read_run(&p, 1, 6, &runs[R_P1])) != OP_OK ||
        (r = append_erase(&p, pid_->pk, 3, T0 + 6000)) != OP_OK ||
        (r = read_run(&p, 7, 1, &runs[R_PERASE])) != OP_OK ||
        (r = append_checkin(&p, "p5", T0 + 7000)) != OP_OK ||
        (r = read_run(&p, 8, 1, &runs[R_P3])) != OP_OK)
        goto fail;
    store_run_free(&runs[R_P3]);
    if ((r = append_erase(&p, pid_->pk, 5, T0 + 8000)) != OP_OK ||
        (r = append_checkin(&p, "p6", T0 + 9000)) != OP_OK ||
        (r = read_run(&p, 8, 3, &runs[R_P3])) != OP_OK ||
        (r = append_erase(&o, xid->pk, 4, ROT)) != OP_OK ||
        (r = read_run(&o, 4, 1, &runs[R_OERASE])) != OP_OK)
        goto fail;
    /* a revoke {key, after_seq} */
    proto_body b;
    store_appended ap;
    proto_body_init(&b, PROTO_KIND_REVOKE);
    memcpy(b.key, q_pk, PROTO_KEY_BYTES);
    b.has_key = true;
    b.after_seq = 0;
    if ((r = store_log_append(o.db, o.rd, o.id, &b, ROT + 1000, &ap)) != OP_OK ||
        (r = read_run(&o, 5, 1, &runs[R_REVOKE])) != OP_OK ||
        (r = append_erase(&o, pid_->pk, 10, ROT + 2000)) != OP_OK ||
        (r = read_run(&o, 6, 1, &runs[R_OERASE_P])) != OP_OK)
        goto fail;
    fu_close(&o);
    fu_close(&p);
    return 0;
fail:
    fu_close(&o);
    fu_close(&p);
fail0:
    printf("FAIL: making the office's and P's logs: %s\n", op_strerror(r));
    return 1;
}

/* ---- X's workload ---- */

enum op_kind { K_INGEST, K_CHECKIN, K_ERASE, K_FEEDBACK_P, K_FEEDBACK_Q };

typedef struct op {
    enum op_kind kind;
    int arg;     /* K_INGEST: the run; K_CHECKIN, K_ERASE: the note c<arg> */
    uint64_t ts; /* the node's clock */
    const char *what;
} op;

static const op ops[] = {
    {K_INGEST, R_MEMBERS, T0, "ingest the office's member entries"},
    {K_CHECKIN, 0, T0, "check-in c0 with X's first key entry (epoch 1)"},
    {K_CHECKIN, 1, T0 + 1000, "check-in c1"},
    {K_CHECKIN, 2, T0 + 2000, "check-in c2"},
    {K_CHECKIN, 3, T0 + 3000, "check-in c3"},
    {K_INGEST, R_P1, T0 + 4000, "ingest P's key entry and check-ins p0-p4"},
    {K_ERASE, 1, T0 + 5000, "(a) X erases c1"},
    {K_INGEST, R_PERASE, T0 + 6000, "(b) ingest P's erase of p1"},
    {K_CHECKIN, 4, ROT, "(c) check-in c4 31 days on: rotation to epoch 2 in its transaction"},
    {K_FEEDBACK_P, 0, ROT + 1000, "(c) feedback to P: a new epoch for X, office, P"},
    {K_INGEST, R_OERASE, ROT + 2000, "(b) ingest the office's erase of X's c2"},
    {K_INGEST, R_REVOKE, ROT + 3000, "(c) ingest the office's revocation of Q"},
    {K_INGEST, R_OERASE_P, ROT + 3500, "(b) ingest the office's erase of p6, not held yet"},
    {K_INGEST, R_P3, ROT + 4000,
     "(b) ingest p5, P's erase of p3, p6 (stored without its body) in one run"},
    {K_ERASE, 4, ROT + 5000, "(a) X erases c4 (written under epoch 2)"},
    {K_CHECKIN, 5, ROT + 6000, "check-in c5 (epoch 2 again)"},
    {K_FEEDBACK_Q, 0, ROT + 7000, "feedback to revoked Q: refused, nothing written"},
    {K_ERASE, 0, ROT + 8000, "(a) X erases c0 (written under epoch 1)"},
    {K_FEEDBACK_P, 1, ROT + 9000, "feedback to P again (its epoch again)"},
};
#define N_OPS (int)(sizeof ops / sizeof ops[0])

static bool
op_durable(const op *o)
{
    return o->kind != K_INGEST;
}

/* X's seq of its check-in note, or 0. */
static uint64_t
note_seq(store_db *db, const char *note)
{
    sqlite3_stmt *st;
    uint64_t seq = 0;
    if (sqlite3_prepare_v2(store_db_handle(db),
                           "SELECT c.seq FROM checkins c JOIN authors a ON a.id = c.author"
                           " WHERE a.key = ? AND c.note = ?",
                           -1, &st, NULL) != SQLITE_OK)
        return 0;
    sqlite3_bind_blob(st, 1, xid->pk, PROTO_KEY_BYTES, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, note, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW)
        seq = (uint64_t)sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return seq;
}

static op_err
run_op(fu_node *n, const op *o)
{
    char note[16];
    store_ingested got;
    size_t bad;
    op_err r;
    switch (o->kind) {
    case K_INGEST:
        r = store_log_ingest(n->db, n->rd, runs[o->arg].items, runs[o->arg].n, o->ts, &got, &bad);
        return r == OP_OK && got.stored != runs[o->arg].n ? OP_E_INVAL : r;
    case K_CHECKIN:
        snprintf(note, sizeof note, "c%d", o->arg);
        return append_checkin(n, note, o->ts);
    case K_ERASE: {
        snprintf(note, sizeof note, "c%d", o->arg);
        uint64_t seq = note_seq(n->db, note);
        return seq ? append_erase(n, xid->pk, seq, o->ts) : OP_E_NOTFOUND;
    }
    case K_FEEDBACK_P:
        snprintf(note, sizeof note, "f%d", o->arg);
        return append_feedback(n, pid_->pk, note, o->ts);
    case K_FEEDBACK_Q:
        r = append_feedback(n, q_pk, "fq", o->ts);
        return r == OP_E_REVOKED ? OP_OK : r == OP_OK ? OP_E_INVAL : r;
    }
    return OP_E_INVAL;
}

typedef struct workload {
    uint64_t seed; /* picks the session lengths */
    int tried;     /* operations begun */
    int acked;     /* operations that returned OK */
    int durable;   /* operations up to the last acknowledged FULL one */
    int ack_fd;    /* kill9: acknowledgements go to this pipe (-1: none) */
    op_err failed;
    int failed_op;
} workload;

static void
ack(workload *w, int i)
{
    w->acked = i + 1;
    if (op_durable(&ops[i]))
        w->durable = i + 1;
    if (w->ack_fd >= 0) {
        int32_t v = i;
        if (write(w->ack_fd, &v, sizeof v) != sizeof v)
            _exit(3);
    }
}

static void
run_workload(workload *w)
{
    int i = 0;
    w->tried = w->acked = w->durable = 0;
    w->failed = OP_OK;
    while (i < N_OPS) {
        fu_node nd;
        int k = 1 + (int)(mix(w->seed, (uint64_t)i) % 4);
        op_err r = fu_open(&nd, xdir, STORE_OPEN_CREATE);
        if (r != OP_OK) {
            w->failed = r;
            w->failed_op = i;
            return;
        }
        for (int j = 0; j < k && i < N_OPS; j++, i++) {
            w->tried = i + 1;
            if ((r = run_op(&nd, &ops[i])) != OP_OK) {
                w->failed = r;
                w->failed_op = i;
                fu_close(&nd);
                return;
            }
            ack(w, i);
        }
        fu_close(&nd);
    }
}

/* ---- the state and its checks ---- */

static const char state_sql[] =
    "SELECT (SELECT coalesce(max(head_seq), 0) FROM authors WHERE key = ?1),"
    " (SELECT coalesce(max(head_seq), 0) FROM authors WHERE key = ?2),"
    " (SELECT coalesce(max(head_seq), 0) FROM authors WHERE key = ?3),"
    " (SELECT count(*) FROM entries WHERE body IS NOT NULL), (SELECT count(*) FROM erased),"
    " (SELECT count(*) FROM checkins), (SELECT count(*) FROM feedback),"
    " (SELECT count(*) FROM key_entries),"
    " (SELECT count(*) FROM members WHERE revoked_after IS NOT NULL),"
    " (SELECT count(*) FROM members), (SELECT count(*) FROM own_epochs)";

typedef struct state {
    int64_t v[NV];
} state;

static state states[N_OPS + 1]; /* after 0, 1, ... N_OPS operations (the dry run) */

static int
get_state(store_db *db, state *s)
{
    sqlite3_stmt *st;
    int rc = 1;
    if (sqlite3_prepare_v2(store_db_handle(db), state_sql, -1, &st, NULL) != SQLITE_OK)
        return 1;
    sqlite3_bind_blob(st, 1, xid->pk, PROTO_KEY_BYTES, SQLITE_STATIC);
    sqlite3_bind_blob(st, 2, pid_->pk, PROTO_KEY_BYTES, SQLITE_STATIC);
    sqlite3_bind_blob(st, 3, oid->pk, PROTO_KEY_BYTES, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW) {
        for (int i = 0; i < NV; i++)
            s->v[i] = sqlite3_column_int64(st, i);
        rc = 0;
    }
    sqlite3_finalize(st);
    return rc;
}

static void
state_text(const state *s, char *out, size_t n)
{
    size_t o = 0;
    for (int i = 0; i < NV && o < n; i++)
        o += (size_t)snprintf(out + o, n - o, "%s%lld", i ? "," : "", (long long)s->v[i]);
}

/* The number the query gives (?1, if any, is X's key), -1 if it fails. */
static int64_t
one_int(sqlite3 *h, const char *sql)
{
    sqlite3_stmt *st;
    int64_t v = -1;
    if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) != SQLITE_OK)
        return -1;
    if (sqlite3_bind_parameter_count(st) > 0) /* ?1: X's key */
        sqlite3_bind_blob(st, 1, xid->pk, PROTO_KEY_BYTES, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* Each counts what must never be: a half-done erasure or rotation. */
static const char *const never[] = {
    /* a tombstone whose erase entry is not held, or is not an erase */
    "SELECT count(*) FROM erased x LEFT JOIN entries e ON e.id = (x.by_author << 32) | x.by_seq"
    " WHERE e.id IS NULL OR e.kind != 10",
    /* an erased entry that still has its body, or its projection */
    "SELECT count(*) FROM erased x JOIN entries e ON e.id = (x.author << 32) | x.seq"
    " WHERE e.body IS NOT NULL",
    "SELECT count(*) FROM erased x JOIN checkins c ON c.id = (x.author << 32) | x.seq",
    "SELECT count(*) FROM erased x JOIN feedback f ON f.id = (x.author << 32) | x.seq",
    /* a check-in or feedback not erased without its body; X's own without its projection */
    "SELECT count(*) FROM entries e WHERE e.kind IN (1, 4) AND e.body IS NULL AND NOT EXISTS"
    " (SELECT 1 FROM erased x WHERE x.author = e.author AND x.seq = e.seq)",
    "SELECT count(*) FROM entries e JOIN authors a ON a.id = e.author AND a.key = ?1 WHERE e.kind "
    "= 1 AND e.body IS NOT NULL AND NOT EXISTS (SELECT 1"
    " FROM checkins c WHERE c.id = e.id)",
    "SELECT count(*) FROM entries e JOIN authors a ON a.id = e.author AND a.key = ?1 WHERE e.kind "
    "= 4 AND e.body IS NOT NULL AND NOT EXISTS (SELECT 1"
    " FROM feedback f WHERE f.id = e.id)",
    /* an entry sealed under an epoch whose key entry is not held before it */
    "SELECT count(*) FROM entries e WHERE e.epoch > 0 AND NOT EXISTS (SELECT 1 FROM key_entries"
    " k WHERE k.author = e.author AND k.epoch = e.epoch AND k.seq < e.seq)",
    /* key_entries and the key entries held disagree */
    "SELECT (SELECT count(*) FROM entries WHERE kind = 8) != (SELECT count(*) FROM key_entries)",
    "SELECT count(*) FROM key_entries k LEFT JOIN entries e ON e.id = (k.author << 32) | k.seq"
    " WHERE e.id IS NULL OR e.kind != 8 OR e.body IS NULL",
    /* an epoch of X's with no key entry */
    "SELECT count(*) FROM own_epochs o WHERE NOT EXISTS (SELECT 1 FROM key_entries k JOIN"
    " authors a ON a.id = k.author AND a.key = ?1"
    " WHERE k.epoch = o.epoch)",
    /* a revoke held whose effect is not (members.revoked_after), or the reverse */
    "SELECT (SELECT count(*) FROM entries WHERE kind = 7) != (SELECT count(*) FROM members"
    " WHERE revoked_after IS NOT NULL)",
    /* a head that disagrees with its entries */
    "SELECT count(*) FROM authors a WHERE a.head_seq != (SELECT count(*) FROM entries WHERE"
    " author = a.id) OR a.head_seq != coalesce((SELECT max(seq) FROM entries WHERE"
    " author = a.id), 0)",
    "SELECT count(*) FROM authors a WHERE coalesce((SELECT n FROM checkin_counts"
    " WHERE author = a.id), 0) != (SELECT count(*) FROM checkins WHERE author = a.id)",
};

/* Every erase entry held names an entry whose tombstone it is (here all count: by the
 * author of an earlier entry, or by the office). */
static int
check_erase_entries(store_db *db, char *why, size_t len)
{
    sqlite3 *h = store_db_handle(db);
    sqlite3_stmt *st, *q;
    int rc = 0;
    if (sqlite3_prepare_v2(h, "SELECT author, seq, body FROM entries WHERE kind = 10", -1, &st,
                           NULL) != SQLITE_OK)
        return failf(why, len, "reading erase entries: %s", sqlite3_errmsg(h));
    if (sqlite3_prepare_v2(h,
                           "SELECT by_author = ?3 AND by_seq = ?4 FROM erased WHERE author ="
                           " (SELECT id FROM authors WHERE key = ?1) AND seq = ?2",
                           -1, &q, NULL) != SQLITE_OK) {
        sqlite3_finalize(st);
        return failf(why, len, "reading erased: %s", sqlite3_errmsg(h));
    }
    while (!rc && sqlite3_step(st) == SQLITE_ROW) {
        proto_body b;
        int64_t by = sqlite3_column_int64(st, 0), by_seq = sqlite3_column_int64(st, 1);
        if (proto_body_decode(PROTO_KIND_ERASE, sqlite3_column_blob(st, 2),
                              (size_t)sqlite3_column_bytes(st, 2), &b) != OP_OK ||
            !b.has_re) {
            rc = failf(why, len, "the erase entry %lld:%lld has no readable body", (long long)by,
                       (long long)by_seq);
            proto_body_fini(&b);
            break;
        }
        sqlite3_reset(q);
        sqlite3_bind_blob(q, 1, b.re.author, PROTO_KEY_BYTES, SQLITE_TRANSIENT);
        sqlite3_bind_int64(q, 2, (int64_t)b.re.seq);
        sqlite3_bind_int64(q, 3, by);
        sqlite3_bind_int64(q, 4, by_seq);
        int s = sqlite3_step(q);
        if (s != SQLITE_ROW || sqlite3_column_int(q, 0) != 1)
            rc = failf(why, len,
                       "the erase entry %lld:%lld is held but the tombstone of seq %llu it "
                       "names is %s",
                       (long long)by, (long long)by_seq, (unsigned long long)b.re.seq,
                       s != SQLITE_ROW ? "missing" : "another's");
        proto_body_fini(&b);
    }
    sqlite3_finalize(q);
    sqlite3_finalize(st);
    return rc;
}

/* Every key entry of X's: plaintext, of the epoch key_entries says, sealed to X and the office
 * (and to P for the epoch X's feedback to P uses). */
static int
check_key_entries(store_db *db, char *why, size_t len)
{
    sqlite3 *h = store_db_handle(db);
    sqlite3_stmt *st;
    int rc = 0;
    if (sqlite3_prepare_v2(h,
                           "SELECT e.seq, e.epoch, e.body, k.epoch, EXISTS (SELECT 1 FROM entries"
                           " f WHERE f.author = e.author AND f.kind = 4 AND f.epoch = k.epoch)"
                           " FROM entries e JOIN authors a ON a.id = e.author AND a.key = ?"
                           " JOIN key_entries k ON k.author = e.author AND k.seq = e.seq"
                           " WHERE e.kind = 8",
                           -1, &st, NULL) != SQLITE_OK)
        return failf(why, len, "reading key entries: %s", sqlite3_errmsg(h));
    sqlite3_bind_blob(st, 1, xid->pk, PROTO_KEY_BYTES, SQLITE_STATIC);
    /* (a crash inside the very first open may come before X joined the office) */
    bool joined = one_int(h, "SELECT count(*) FROM meta WHERE k = 'office_key'") > 0;
    while (!rc && sqlite3_step(st) == SQLITE_ROW) {
        proto_body kb;
        int64_t seq = sqlite3_column_int64(st, 0);
        bool to_p = sqlite3_column_int(st, 4) != 0, x = false, o = false, p = false;
        if (sqlite3_column_int64(st, 1) != 0 ||
            proto_body_decode(PROTO_KIND_KEY, sqlite3_column_blob(st, 2),
                              (size_t)sqlite3_column_bytes(st, 2), &kb) != OP_OK) {
            rc = failf(why, len, "X's key entry at seq %lld is not a readable key entry",
                       (long long)seq);
            break;
        }
        for (size_t i = 0; i < kb.n_sealed; i++) {
            x |= memcmp(kb.sealed[i].reader, xid->pk, PROTO_KEY_BYTES) == 0;
            o |= memcmp(kb.sealed[i].reader, oid->pk, PROTO_KEY_BYTES) == 0;
            p |= memcmp(kb.sealed[i].reader, pid_->pk, PROTO_KEY_BYTES) == 0;
        }
        if ((int64_t)kb.epoch != sqlite3_column_int64(st, 3) || !x || (joined && !o) ||
            (to_p && !p))
            rc = failf(why, len,
                       "X's key entry at seq %lld: epoch %llu (key_entries %lld), sealed to X %d, "
                       "office %d, P %d",
                       (long long)seq, (unsigned long long)kb.epoch,
                       (long long)sqlite3_column_int64(st, 3), x, o, p);
        proto_body_fini(&kb);
    }
    sqlite3_finalize(st);
    return rc;
}

/* The checks that hold on any store, crashed or not. */
static int
check_open(store_db *db, char *why, size_t len)
{
    sqlite3 *h = store_db_handle(db);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(h, "PRAGMA integrity_check", -1, &st, NULL) != SQLITE_OK)
        return failf(why, len, "integrity_check: %s", sqlite3_errmsg(h));
    int s = sqlite3_step(st);
    const char *t = s == SQLITE_ROW ? (const char *)sqlite3_column_text(st, 0) : NULL;
    int bad = !t || strcmp(t, "ok") != 0;
    if (bad)
        failf(why, len, "integrity_check: %s", t ? t : sqlite3_errmsg(h));
    sqlite3_finalize(st);
    if (bad)
        return 1;
    for (size_t i = 0; i < sizeof never / sizeof never[0]; i++) {
        int64_t n = one_int(h, never[i]);
        if (n != 0)
            return failf(why, len, "half done (%lld from: %s)", (long long)n, never[i]);
    }
    if (check_erase_entries(db, why, len) || check_key_entries(db, why, len))
        return 1;
    store_verified v;
    op_err r = store_verify(db, NULL, &v);
    if (r != OP_OK || v.problems)
        return failf(why, len, "store_verify: %s, %llu problems", op_strerror(r),
                     (unsigned long long)v.problems);
    return 0;
}

/* After a crash that left the state after k operations: a new check-in, readable by X and by
 * the office through the key entry X holds; a new key entry only if no epoch for X and the
 * office younger than 30 days is held. */
static int
check_resume(store_db *db, int k, char *why, size_t len)
{
    sqlite3 *h = store_db_handle(db);
    store_reader *rx = NULL, *ro = NULL;
    fu_node n = {.db = db, .id = xid};
    uint64_t ts = ROT + 20000;
    bool rebuilt;
    int rc = 0;
    op_err r;

    int64_t keys = one_int(h, "SELECT count(*) FROM key_entries");
    /* rotation (op 8) done: epoch 2 is current; before it, epoch 1 (from T0) is too old */
    bool rotated = k > 8;
    if ((r = store_reader_new(xid, &rx)) != OP_OK || (r = store_reader_new(oid, &ro)) != OP_OK ||
        (r = store_view_ensure(db, rx, &rebuilt)) != OP_OK) {
        rc = failf(why, len, "reopening for a write: %s", op_strerror(r));
        goto out;
    }
    n.rd = rx;
    if ((r = append_checkin(&n, "resumed", ts)) != OP_OK) {
        rc = failf(why, len, "check-in after the crash: %s (%s)", op_strerror(r), op_errname(r));
        goto out;
    }
    if (one_int(h, "SELECT count(*) FROM key_entries") != keys + (rotated ? 0 : 1)) {
        rc = failf(why, len, "the check-in after the crash wrote %lld key entries (rotation %s)",
                   (long long)(one_int(h, "SELECT count(*) FROM key_entries") - keys),
                   rotated ? "held: none expected" : "not held: one expected");
        goto out;
    }
    if (one_int(h, "SELECT count(*) FROM checkins WHERE note = 'resumed'") != 1) {
        rc = failf(why, len, "the check-in after the crash is not readable by X");
        goto out;
    }
    /* the office reads it with the key entry X holds */
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(h,
                           "SELECT e.author, e.envelope, e.body FROM entries e JOIN authors a"
                           " ON a.id = e.author AND a.key = ? ORDER BY e.seq DESC LIMIT 1",
                           -1, &st, NULL) != SQLITE_OK) {
        rc = failf(why, len, "reading the new entry: %s", sqlite3_errmsg(h));
        goto out;
    }
    sqlite3_bind_blob(st, 1, xid->pk, PROTO_KEY_BYTES, SQLITE_STATIC);
    r = OP_E_NOTFOUND;
    if (sqlite3_step(st) == SQLITE_ROW) {
        proto_envelope env;
        proto_body b;
        int64_t author = sqlite3_column_int64(st, 0);
        if ((r = proto_envelope_decode(sqlite3_column_blob(st, 1),
                                       (size_t)sqlite3_column_bytes(st, 1), &env)) == OP_OK) {
            r = store_reader_body(ro, db, author, &env, sqlite3_column_blob(st, 2),
                                  (size_t)sqlite3_column_bytes(st, 2), &b);
            if (r == OP_OK && (!b.note || strcmp(b.note, "resumed") != 0))
                r = OP_E_AUTH;
            proto_body_fini(&b);
        }
    }
    sqlite3_finalize(st);
    /* (a crash inside the very first open may come before X joined: then X is its only
     * reader) */
    if (r == OP_E_NOKEY && one_int(h, "SELECT count(*) FROM meta WHERE k = 'office_key'") == 0)
        r = OP_OK;
    if (r != OP_OK) {
        rc = failf(why, len, "the office cannot read the check-in after the crash: %s",
                   op_strerror(r));
        goto out;
    }
    rc = check_open(db, why, len);
out:
    store_reader_free(rx);
    store_reader_free(ro);
    return rc;
}

/*
 * Checks the store in dir: it is the state after k operations for some k in lo..hi, and
 * passes check_open; with resume, a new check-in works. *at gets k.
 */
static int
check_store(const char *dir, int lo, int hi, bool resume, int *at, char *why, size_t len)
{
    char path[PATH_MAX], txt[256];
    store_db *db = NULL;
    state s;
    int rc = 0, k = -1;
    op_err r;

    snprintf(path, sizeof path, "%s/%s", dir, STORE_DB_FILE);
    if (access(path, F_OK) != 0) {
        *at = 0;
        return lo == 0 ? 0
                       : failf(why, len, "the database is gone, %d operations acknowledged", lo);
    }
    if ((r = store_db_open(path, 0, &db)) != OP_OK)
        return failf(why, len, "open after the crash: %s (%s)", op_strerror(r), op_errname(r));
    if ((rc = check_open(db, why, len)) != 0)
        goto out;
    if (get_state(db, &s) != 0) {
        rc = failf(why, len, "reading the state: %s", store_db_errmsg(db));
        goto out;
    }
    for (int j = hi; j >= lo && k < 0; j--)
        if (memcmp(&s, &states[j], sizeof s) == 0)
            k = j;
    if (k < 0) {
        int near = -1;
        for (int j = 0; j <= N_OPS && near < 0; j++)
            if (memcmp(&s, &states[j], sizeof s) == 0)
                near = j;
        state_text(&s, txt, sizeof txt);
        rc = failf(why, len, "the store is not the state after %d..%d operations (%s): it is %s %d",
                   lo, hi, txt,
                   near < 0 ? "no state, a half-done operation after" : "the state after",
                   near < 0 ? lo : near);
        goto out;
    }
    *at = k;
    if (resume)
        rc = check_resume(db, k, why, len);
out:
    store_db_close(db);
    return rc;
}

/* ---- power loss at every sync ---- */

typedef struct crash_ctx {
    workload *w;
    uint64_t seed, run, target, points, passed, failed;
    uint64_t modes[3], at_hist[N_OPS + 1];
} crash_ctx;

static const char *const mode_name[] = {"apply", "drop", "torn"};

static void
crash_point(crash_ctx *c, uint64_t sync_n, enum vf_crash_mode mode)
{
    static const char *const files[] = {"", "-wal", "-journal"};
    char src[PATH_MAX + 32], dst[PATH_MAX + 32], why[768];
    uint64_t pseed = mix(mix(c->seed, c->run), sync_n * 3 + mode);
    int rc = 0, at = 0;

    fu_rm_store(copy_dir);
    for (size_t f = 0; f < 3 && rc == 0; f++) {
        snprintf(src, sizeof src, "%s/%s%s", xdir, STORE_DB_FILE, files[f]);
        snprintf(dst, sizeof dst, "%s/%s%s", copy_dir, STORE_DB_FILE, files[f]);
        rc = vf_crash_copy(src, dst, mode, pseed + f);
    }
    if (rc == 0 && mode == VF_CRASH_TORN) {
        snprintf(src, sizeof src, "%s/%s-shm", xdir, STORE_DB_FILE);
        snprintf(dst, sizeof dst, "%s/%s-shm", copy_dir, STORE_DB_FILE);
        if (access(src, F_OK) == 0)
            rc = vf_crash_copy(src, dst, VF_CRASH_APPLY, 0);
    }
    c->points++;
    c->modes[mode]++;
    if (rc != 0)
        rc = failf(why, sizeof why, "making the crash copy: %s", strerror(-rc));
    else
        rc = check_store(copy_dir, c->w->durable, c->w->tried, true, &at, why, sizeof why);
    if (rc) {
        c->failed++;
        if (c->failed <= 10)
            printf("FAIL crash point: SEED=%llu run %llu sync %llu mode %s, last op begun %d (%s), "
                   "%d acknowledged, %d durable: %s\n",
                   (unsigned long long)c->seed, (unsigned long long)c->run,
                   (unsigned long long)sync_n, mode_name[mode], c->w->tried - 1,
                   c->w->tried ? ops[c->w->tried - 1].what : "open", c->w->acked, c->w->durable,
                   why);
        return;
    }
    c->passed++;
    c->at_hist[at]++;
}

static void
on_sync(void *ctx, uint64_t n)
{
    crash_ctx *c = ctx;
    for (int m = 0; m < 3 && c->points < c->target; m++)
        crash_point(c, n, (enum vf_crash_mode)m);
}

/* The workload once without faults: the state after each operation, and whether each of
 * (a)-(c) did what it says. */
static int
dry_run(double *took)
{
    char why[768];
    fu_node nd;
    double t0 = now_s();
    int at;

    fu_rm_store(xdir);
    vf_reset();
    for (int i = 0; i <= N_OPS; i++) {
        if (fu_open(&nd, xdir, STORE_OPEN_CREATE) != OP_OK) {
            printf("FAIL: dry run: cannot open X\n");
            return 1;
        }
        if (get_state(nd.db, &states[i]) != 0) {
            printf("FAIL: dry run: cannot read the state\n");
            fu_close(&nd);
            return 1;
        }
        op_err r = i < N_OPS ? run_op(&nd, &ops[i]) : OP_OK;
        fu_close(&nd);
        if (r != OP_OK) {
            printf("FAIL: dry run: op %d (%s): %s\n", i, ops[i].what, op_strerror(r));
            return 1;
        }
    }
    *took = now_s() - t0;
    for (int i = 0; i < N_OPS; i++)
        if (memcmp(&states[i], &states[i + 1], sizeof(state)) == 0 && ops[i].kind != K_FEEDBACK_Q) {
            printf("FAIL: dry run: op %d (%s) changed nothing\n", i, ops[i].what);
            return 1;
        }
    /* What the workload is for: 4 erasures of X's bodies (c0, c1, c4 by X, c2 by the office)
     * and 3 of P's (2 by P, 1 by the office), 4 key entries (P's, X's epochs 1-3), Q
     * revoked. */
    const state *e = &states[N_OPS];
    char txt[256];
    state_text(e, txt, sizeof txt);
    if (e->v[4] != 7 || e->v[7] != 4 || e->v[8] != 1 || e->v[10] != 2 || e->v[5] != 2) {
        printf("FAIL: dry run: the workload did not do what it is for: %s\n", txt);
        return 1;
    }
    if (check_store(xdir, N_OPS, N_OPS, false, &at, why, sizeof why) != 0) {
        printf("FAIL: dry run: %s\n", why);
        return 1;
    }
    printf("dry run: %d operations, final state %s (X head, P head, office head, bodies, "
           "tombstones, check-ins, feedback, key entries, revoked, members, X's epochs), %.2f s\n",
           N_OPS, txt, *took);
    return 0;
}

static int
cmd_crash(uint64_t seed)
{
    uint64_t target = env_u64("ERASE_CRASH_POINTS", 1000), syncs = 0;
    crash_ctx c = {.seed = seed, .target = target};
    workload w = {.ack_fd = -1};
    double t0 = now_s();

    c.w = &w;
    printf("crash: SEED=%llu ERASE_CRASH_POINTS=%llu\n", (unsigned long long)seed,
           (unsigned long long)target);
    fflush(stdout);
    for (c.run = 0; c.points < target; c.run++) {
        fu_rm_store(xdir);
        w.seed = mix(seed, c.run);
        vf_reset();
        vf_on_sync(on_sync, &c, 0);
        run_workload(&w);
        syncs += vf_syncs();
        vf_reset();
        if (w.failed != OP_OK) {
            printf("FAIL: the workload itself failed at op %d: %s (SEED=%llu run %llu)\n",
                   w.failed_op, op_strerror(w.failed), (unsigned long long)seed,
                   (unsigned long long)c.run);
            c.failed++;
            break;
        }
        if (c.run == 0 && syncs == 0) {
            printf("FAIL: the workload made no xSync: is the shim in place?\n");
            c.failed++;
            break;
        }
    }
    printf("crash: %llu crash points (%llu apply, %llu drop, %llu torn) over %llu workload runs, "
           "%llu syncs; state after a crash, by operations done:",
           (unsigned long long)c.points, (unsigned long long)c.modes[0],
           (unsigned long long)c.modes[1], (unsigned long long)c.modes[2],
           (unsigned long long)c.run, (unsigned long long)syncs);
    for (int i = 0; i <= N_OPS; i++)
        printf(" %llu", (unsigned long long)c.at_hist[i]);
    printf("; %llu passed, %llu failed, %.1f s\n", (unsigned long long)c.passed,
           (unsigned long long)c.failed, now_s() - t0);
    return c.failed || c.points < target ? 1 : 0;
}

/* ---- kill -9 ---- */

static int
cmd_kill9(uint64_t seed)
{
    uint64_t kills = env_u64("ERASE_KILLS", 100), passed = 0, failed = 0, early = 0;
    uint64_t at_hist[N_OPS + 1] = {0};
    double t0 = now_s();
    char why[768];
    /* the kill instant: uniform over the workload's length, as a child without a kill takes
     * (the median of 3, fork included) */
    double took[3];
    for (int i = 0; i < 3; i++) {
        double t = now_s();
        fu_rm_store(xdir);
        fflush(stdout);
        pid_t pid = fork();
        if (pid < 0)
            return 3;
        if (pid == 0) {
            workload w = {.seed = mix(seed, (uint64_t)i), .ack_fd = -1};
            vf_reset();
            run_workload(&w);
            _exit(w.failed == OP_OK ? 0 : 5);
        }
        int status;
        waitpid(pid, &status, 0);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            printf("FAIL: the workload without a kill ended with status 0x%x\n", status);
            return 1;
        }
        took[i] = now_s() - t;
    }
    double lo = took[0] < took[1] ? took[0] : took[1], hi = took[0] < took[1] ? took[1] : took[0];
    double span = took[2] < lo ? lo : took[2] > hi ? hi : took[2];
    uint64_t span_us = (uint64_t)(span * 1e6) + 1;

    printf("kill9: SEED=%llu ERASE_KILLS=%llu, kill within %.1f ms\n", (unsigned long long)seed,
           (unsigned long long)kills, span_us / 1000.0);
    fflush(stdout);
    for (uint64_t p = 0; p < kills; p++) {
        workload w = {.seed = mix(seed, p + 7777)};
        int fds[2], at = 0;
        fu_rm_store(xdir);
        if (pipe(fds) != 0)
            return 3;
        fflush(stdout);
        pid_t pid = fork();
        if (pid < 0)
            return 3;
        if (pid == 0) {
            close(fds[0]);
            w.ack_fd = fds[1];
            vf_reset();
            run_workload(&w);
            _exit(w.failed == OP_OK ? 0 : 5);
        }
        close(fds[1]);
        struct timespec d = {.tv_sec = 0, .tv_nsec = 0};
        uint64_t us = mix(seed, p) % span_us;
        d.tv_sec = (time_t)(us / 1000000);
        d.tv_nsec = (long)(us % 1000000) * 1000;
        nanosleep(&d, NULL);
        kill(pid, SIGKILL);
        int32_t v;
        int acked = 0, durable = 0;
        while (read(fds[0], &v, sizeof v) == sizeof v)
            if (v >= 0 && v < N_OPS)
                acked = durable = v + 1; /* a killed process loses nothing it wrote */
        close(fds[0]);
        int status;
        waitpid(pid, &status, 0);
        if (WIFEXITED(status)) {
            if (WEXITSTATUS(status) != 0) {
                printf("FAIL kill %llu: the workload failed (exit %d)\n", (unsigned long long)p,
                       WEXITSTATUS(status));
                failed++;
                continue;
            }
            early++;
        }
        int hi = acked < N_OPS ? acked + 1 : N_OPS;
        if (check_store(xdir, durable, hi, true, &at, why, sizeof why) != 0) {
            failed++;
            if (failed <= 10)
                printf("FAIL kill %llu (SEED=%llu, after %.2f ms, %d acknowledged): %s\n",
                       (unsigned long long)p, (unsigned long long)seed, us / 1000.0, acked, why);
        } else {
            passed++;
            at_hist[at]++;
        }
    }
    printf("kill9: %llu kills (%llu after the workload ended); state after the kill, by "
           "operations done:",
           (unsigned long long)kills, (unsigned long long)early);
    for (int i = 0; i <= N_OPS; i++)
        printf(" %llu", (unsigned long long)at_hist[i]);
    printf("; %llu passed, %llu failed, %.1f s\n", (unsigned long long)passed,
           (unsigned long long)failed, now_s() - t0);
    return failed ? 1 : 0;
}

static void
rm_node(const char *dir)
{
    char path[PATH_MAX];
    fu_rm_store(dir);
    snprintf(path, sizeof path, "%s/%s", dir, STORE_IDENTITY_FILE);
    unlink(path);
    rmdir(dir);
}

int
main(int argc, char **argv)
{
    if (argc != 2 || (strcmp(argv[1], "crash") != 0 && strcmp(argv[1], "kill9") != 0)) {
        fprintf(stderr, "usage: erase_fault crash|kill9\n");
        return 2;
    }
    if (sodium_init() < 0 || vf_install() != SQLITE_OK) {
        fprintf(stderr, "erase_fault: cannot set up\n");
        return 3;
    }
    uint64_t seed = env_u64("SEED", 0);
    if (!getenv("SEED") || !*getenv("SEED"))
        seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 20);
    const char *base = getenv("FAULT_DIR");
    if (!base || !*base)
        base = getenv("TMPDIR");
    snprintf(root, sizeof root, "%s/outpost-erase-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(root)) {
        perror("erase_fault: mkdtemp");
        return 3;
    }
    snprintf(xdir, sizeof xdir, "%s/x", root);
    snprintf(pdir, sizeof pdir, "%s/p", root);
    snprintf(odir, sizeof odir, "%s/office", root);
    snprintf(copy_dir, sizeof copy_dir, "%s/crash", root);
    printf("SEED=%llu dir %s\n", (unsigned long long)seed, root);
    double dry = 0;
    int rc = fu_mkdir(copy_dir) != 0 || make_logs() != 0 || dry_run(&dry) != 0;
    if (!rc)
        rc = strcmp(argv[1], "crash") == 0 ? cmd_crash(seed) : cmd_kill9(seed);
    printf("%d passed, %d failed\n", rc == 0, rc != 0);
    for (int i = 0; i < N_RUNS; i++)
        store_run_free(&runs[i]);
    store_identity_free(xid);
    store_identity_free(pid_);
    store_identity_free(oid);
    if (rc == 0 && !(getenv("FAULT_KEEP") && strcmp(getenv("FAULT_KEEP"), "1") == 0)) {
        rm_node(copy_dir);
        rm_node(xdir);
        rm_node(pdir);
        rm_node(odir);
        rmdir(root);
    } else {
        printf("files kept in %s\n", root);
    }
    return rc;
}
