/*
 * ops_fault.c — out of memory (TESTING A5) and I/O errors (A4) in every store operation, not
 * only append and ingest: erase, feedback to a new set of readers, epoch rotation, reindex and
 * ensure, verify, joining and admission, invitations, refusals, a fork and a broken chain
 * refused with their evidence, a re-delivery that fills in withheld bodies past an erasure
 * tombstone, and the read paths (have-vector, runs, buckets, pending joins, members).
 *
 *   ops_fault oom     the Nth allocation fails (SQLite's through SQLITE_CONFIG_MALLOC; ours and
 *                     msgpack-c's through link-time wraps, as in alloc_fault.c), transient and
 *                     persistent, for every N until the operation runs without reaching N.
 *   ops_fault ioerr   the Nth VFS operation fails (vfs_fault.h): transient, persistent, and a
 *                     full disk (every write from N on fails with SQLITE_FULL).
 *
 * Each operation starts from a template node (built once, unarmed, by the real code: an office
 * that admitted a worker and holds its log, a worker, a node about to join), copied afresh for
 * every run and opened before the fault is armed, with an empty statement cache, so that every
 * statement the operation prepares, and every page it reads, is a point where it can fail.
 * After each run, the fault gone, this must hold:
 *   - the call returned its normal outcome or the fault's code (OOM: OP_E_NOMEM only; I/O: IO,
 *     CORRUPT, BUSY or NOMEM, and a full disk only OP_E_DISK_FULL): never a code that reads as
 *     "absent", "invalid" or "forged";
 *   - the store opens, PRAGMA integrity_check is ok and store_verify finds no problem;
 *   - nothing half done: the store's logical content (every table, every row; random bytes of
 *     fresh keys and signatures compared only as present or absent) is exactly as before the
 *     call or exactly as after a clean run of it. An operation that is more than one
 *     transaction by design (joining, admission) must instead reach the clean result when
 *     called again;
 *   - a failed call, called again with the fault gone, succeeds and leaves exactly the clean
 *     result;
 *   - verify under a fault may report that it could not read something, with the fault's
 *     code, but never accuses the store of damage (a corrupt, forged or broken entry);
 *   - the read paths return the clean result or the fault's code, and leak nothing (LSan in the
 *     ASan build, at exit) and no file descriptor.
 *
 * Environment: OPS_ONLY=name (one operation), OPS_MAX (stop at this N; default: none, every N),
 * OPS_FROM (first N). Deterministic (no SEED). Prints "N passed, N failed".
 */
#include <dirent.h>
#include <limits.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "proto/invite.h"
#include "store/have.h"
#include "store/log.h"
#include "store/member.h"
#include "store/verify.h"
#include "store/view.h"
#include "tests/fault/alloc_counter.h"
#include "tests/fault/fault_util.h"
#include "tests/fault/vfs_fault.h"

#define T1 1764100000000ull

/* Values of N per operation and kind in CI (OPS_POINTS); fewer under ASan, which is slower. */
#if defined(__SANITIZE_ADDRESS__)
#define OPS_POINTS_DEFAULT 20
#else
#define OPS_POINTS_DEFAULT 40
#endif
#define DAY_MS (24ull * 3600 * 1000)

/* ---- faults of either mode, behind one interface ---- */

static bool mode_io;               /* ioerr, else oom */
static enum vf_fault io_kind;      /* ioerr: the kind of this pass */
static uint64_t io_base, io_fail0; /* vfs counters when armed */

static void
arm(uint64_t n, bool persist)
{
    if (mode_io) {
        io_base = vf_ops();
        io_fail0 = vf_failed();
        vf_fail_at(n ? io_base + n : 0, persist ? VF_FAULT_PERSIST : io_kind);
        return;
    }
    fa.n = fa.failed = 0;
    fa.fail_at = n;
    fa.persist = persist;
    fa.armed = true;
}

/* Disarms; returns how many operations or allocations the run made (*hit: whether the fault
 * was reached). */
static uint64_t
disarm(bool *hit)
{
    if (mode_io) {
        uint64_t ops = vf_ops() - io_base;
        *hit = vf_failed() != io_fail0;
        vf_fail_at(0, VF_FAULT_ONCE);
        return ops;
    }
    fa.armed = false;
    *hit = fa.failed != 0;
    return fa.n;
}

/* The codes a failed call may return under the fault of this pass. */
static bool
fault_code(op_err r)
{
    if (!mode_io)
        return r == OP_E_NOMEM;
    if (io_kind == VF_FAULT_FULL)
        return r == OP_E_DISK_FULL;
    return r == OP_E_IO || r == OP_E_CORRUPT || r == OP_E_BUSY || r == OP_E_NOMEM;
}

/* ---- nodes and templates ---- */

static char root[1024];
static uint64_t passed, failed;

typedef struct node {
    store_db *db;
    store_identity *id;
    store_reader *rd;
} node;

static op_err
node_open(node *n, const char *dir)
{
    char path[PATH_MAX];
    memset(n, 0, sizeof *n);
    snprintf(path, sizeof path, "%s/%s", dir, STORE_DB_FILE);
    op_err r;
    if ((r = store_identity_load(dir, &n->id)) != OP_OK ||
        (r = store_db_open(path, STORE_OPEN_CREATE, &n->db)) != OP_OK ||
        (r = store_reader_new(n->id, &n->rd)) != OP_OK) {
        store_reader_free(n->rd);
        store_db_close(n->db);
        store_identity_free(n->id);
        memset(n, 0, sizeof *n);
    }
    return r;
}

static void
node_close(node *n)
{
    store_reader_free(n->rd);
    store_db_close(n->db);
    store_identity_free(n->id);
    memset(n, 0, sizeof *n);
}

/* dir := a copy of the node tpl (closed, so its database file alone holds it). */
static int
copy_node(const char *tpl, const char *dir)
{
    char a[PATH_MAX + 32], b[PATH_MAX + 32];
    if (fu_mkdir(dir) != 0)
        return -1;
    fu_rm_store(dir);
    snprintf(a, sizeof a, "%s/%s", tpl, STORE_IDENTITY_FILE);
    snprintf(b, sizeof b, "%s/%s", dir, STORE_IDENTITY_FILE);
    unlink(b);
    if (fu_copy_file(a, b) != 0 || chmod(b, 0600) != 0)
        return -1;
    snprintf(a, sizeof a, "%s/%s", tpl, STORE_DB_FILE);
    snprintf(b, sizeof b, "%s/%s", dir, STORE_DB_FILE);
    return fu_copy_file(a, b);
}

static void
tpl_path(char *out, size_t n, const char *name)
{
    snprintf(out, n, "%s/tpl-%s", root, name);
}

static uint8_t office_pk[PROTO_KEY_BYTES], worker_pk[PROTO_KEY_BYTES];
static uint8_t token_joiner[PROTO_INVITE_TOKEN_BYTES];
static store_run run_w, run_fork, run_chain; /* the worker's log 1..9; a copy's 7..10; its 10 */

static op_err
put_meta(node *n, const char *role, const char *name, const char *site)
{
    op_err r;
    if ((r = store_db_meta_put_text(n->db, "role", role)) != OP_OK ||
        (r = store_db_meta_put_text(n->db, "name", name)) != OP_OK ||
        (r = store_db_meta_put_text(n->db, "site", site)) != OP_OK ||
        (r = store_db_meta_put_blob(n->db, "key", n->id->pk, PROTO_KEY_BYTES)) != OP_OK)
        return r;
    return store_view_stamp(n->db);
}

static op_err
append_member(node *o, const uint8_t key[PROTO_KEY_BYTES], const char *name, const char *role,
              uint64_t ts)
{
    proto_body b;
    store_appended ap;
    proto_body_init(&b, PROTO_KIND_MEMBER);
    memcpy(b.key, key, PROTO_KEY_BYTES);
    b.has_key = true;
    b.name = (char *)name; /* borrowed: not fini'd */
    b.role = (char *)role;
    return store_log_append(o->db, o->rd, o->id, &b, ts, &ap);
}

static op_err
append_erase(node *n, const uint8_t author[PROTO_KEY_BYTES], uint64_t seq, uint64_t ts)
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
ingest(node *n, const proto_run_item *items, size_t k)
{
    store_ingested got;
    return store_log_ingest(n->db, n->rd, items, k, T1, &got, NULL);
}

#define TRY(e)                                                                                     \
    do {                                                                                           \
        op_err try_r_ = (e);                                                                       \
        if (try_r_ != OP_OK) {                                                                     \
            printf("FAIL: template: %s = %s\n", #e, op_errname(try_r_));                           \
            return -1;                                                                             \
        }                                                                                          \
    } while (0)

/* Builds the templates with the real code, unarmed. */
static int
make_templates(void)
{
    char od[PATH_MAX], wd[PATH_MAX], cd[PATH_MAX], jd[PATH_MAX], pd[PATH_MAX], dd[PATH_MAX];
    node o, w, c, j;
    tpl_path(od, sizeof od, "office");
    tpl_path(wd, sizeof wd, "worker");
    tpl_path(cd, sizeof cd, "copy");
    tpl_path(jd, sizeof jd, "joiner");
    tpl_path(pd, sizeof pd, "office_part");
    tpl_path(dd, sizeof dd, "office_dmg");
    TRY(fu_fresh_node(od));
    TRY(fu_fresh_node(wd));
    TRY(fu_fresh_node(jd));

    /* the office, as `outpost init --office` makes it */
    TRY(node_open(&o, od));
    memcpy(office_pk, o.id->pk, PROTO_KEY_BYTES);
    TRY(put_meta(&o, "office", "Office", ""));
    TRY(store_db_meta_put_blob(o.db, "office_key", office_pk, PROTO_KEY_BYTES));
    TRY(append_member(&o, office_pk, "Office", "office", T1 - 10 * DAY_MS));

    /* a worker that has joined it: 5 records (seq 1 is its key entry) */
    TRY(node_open(&w, wd));
    memcpy(worker_pk, w.id->pk, PROTO_KEY_BYTES);
    TRY(put_meta(&w, "worker", "Worker", "Aarhus"));
    TRY(store_db_meta_put_blob(w.db, "office_key", office_pk, PROTO_KEY_BYTES));
    fu_node fw = {.db = w.db, .id = w.id, .rd = w.rd};
    for (int i = 0; i < 5; i++)
        TRY(fu_append(&fw, i, T1 - 9 * DAY_MS + (uint64_t)i * 1000));
    node_close(&w);
    /* a copy of the worker (a cloned laptop) that writes on differently: a fork at seq 7 */
    if (copy_node(wd, cd) != 0)
        return -1;
    TRY(node_open(&c, cd));
    fu_node fc = {.db = c.db, .id = c.id, .rd = c.rd};
    for (int i = 0; i < 4; i++)
        TRY(fu_append(&fc, 100 + i, T1 - 8 * DAY_MS + (uint64_t)i * 1000));
    TRY(store_log_read(c.db, c.id->pk, 7, 4, &run_fork));
    TRY(store_log_read(c.db, c.id->pk, 10, 1, &run_chain));
    node_close(&c);
    TRY(node_open(&w, wd));
    fw = (fu_node){.db = w.db, .id = w.id, .rd = w.rd};
    for (int i = 5; i < 8; i++)
        TRY(fu_append(&fw, i, T1 - 7 * DAY_MS + (uint64_t)i * 1000));
    TRY(store_log_read(w.db, w.id->pk, 1, 100, &run_w));
    node_close(&w);
    if (run_w.n != 9 || run_fork.n != 4 || run_chain.n != 1) {
        printf("FAIL: template: runs of %zu, %zu, %zu entries\n", run_w.n, run_fork.n, run_chain.n);
        return -1;
    }

    /* the office admits the worker, holds its log up to seq 6 with the bodies of 5 and 6
     * withheld (a relay stripped them), and erases the worker's seq 8 before it arrives */
    TRY(append_member(&o, worker_pk, "Worker", "worker", T1 - 6 * DAY_MS));
    proto_run_item part[6];
    memcpy(part, run_w.items, sizeof part);
    part[4].body = part[5].body = NULL;
    part[4].body_len = part[5].body_len = 0;
    TRY(ingest(&o, part, 6));
    TRY(append_erase(&o, worker_pk, 8, T1 - 5 * DAY_MS));
    node_close(&o);
    if (copy_node(od, pd) != 0)
        return -1;

    /* then it gets the rest, and a join request from a new node it invited */
    TRY(node_open(&o, od));
    TRY(ingest(&o, run_w.items, run_w.n));
    uint8_t token[PROTO_INVITE_TOKEN_BYTES];
    randombytes_buf(token, sizeof token);
    TRY(store_member_invite_add(o.db, token, "Newcomer", "Depot", T1 - 4 * DAY_MS));
    node n2;
    char nd[PATH_MAX];
    tpl_path(nd, sizeof nd, "newcomer");
    TRY(fu_fresh_node(nd));
    TRY(node_open(&n2, nd));
    TRY(put_meta(&n2, "worker", "Newcomer", ""));
    proto_invite inv;
    memset(&inv, 0, sizeof inv);
    memcpy(inv.office, office_pk, PROTO_KEY_BYTES);
    memcpy(inv.token, token, sizeof token);
    store_joined joined;
    TRY(store_member_join(n2.db, n2.rd, n2.id, &inv, T1 - 4 * DAY_MS, &joined));
    store_run jr;
    TRY(store_log_read(n2.db, n2.id->pk, 1, 10, &jr));
    op_err r = ingest(&o, jr.items, jr.n);
    store_run_free(&jr);
    node_close(&n2);
    TRY(r);
    node_close(&o);

    /* the office again, its views damaged and stamped with an older version */
    if (copy_node(od, dd) != 0)
        return -1;
    TRY(node_open(&o, dd));
    TRY(store_db_exec(o.db, "DELETE FROM checkins; DELETE FROM kpi_values; DELETE FROM members;"
                            " UPDATE meta SET v = '0' WHERE k = 'view_version'"));
    node_close(&o);

    /* a node about to join the office */
    TRY(node_open(&j, jd));
    TRY(put_meta(&j, "worker", "Joiner", "Depot"));
    randombytes_buf(token_joiner, sizeof token_joiner);
    node_close(&j);
    return 0;
}

/* ---- the logical content of a store ---- */

/* Columns holding fresh random bytes (keys, nonces, the signatures over them): compared as
 * present or absent only. Everything else is compared byte for byte. */
static bool
random_column(const char *name)
{
    static const char *const names[] = {"hash", "head_hash", "envelope", "body", "proof", NULL};
    for (size_t i = 0; names[i]; i++)
        if (strcmp(name, names[i]) == 0)
            return true;
    return false;
}

/* A digest of every row of every table (each table a multiset of rows). */
static int
digest(store_db *db, uint8_t out[32])
{
    sqlite3 *h = store_db_handle(db);
    sqlite3_stmt *tables, *st;
    crypto_generichash_state all;
    crypto_generichash_init(&all, NULL, 0, 32);
    if (sqlite3_prepare_v2(h, "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name",
                           -1, &tables, NULL) != SQLITE_OK)
        return -1;
    int rc = 0;
    while (rc == 0 && sqlite3_step(tables) == SQLITE_ROW) {
        char sql[128];
        const char *t = (const char *)sqlite3_column_text(tables, 0);
        snprintf(sql, sizeof sql, "SELECT * FROM \"%s\"", t);
        if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) != SQLITE_OK) {
            rc = -1;
            break;
        }
        uint64_t sum[4] = {0}, rows = 0;
        int s;
        while ((s = sqlite3_step(st)) == SQLITE_ROW) {
            crypto_generichash_state row;
            uint8_t rh[32];
            crypto_generichash_init(&row, NULL, 0, 32);
            for (int i = 0; i < sqlite3_column_count(st); i++) {
                int type = sqlite3_column_type(st, i);
                const char *name = sqlite3_column_name(st, i);
                crypto_generichash_update(&row, (const uint8_t *)name, strlen(name) + 1);
                crypto_generichash_update(&row, (const uint8_t *)&type, sizeof type);
                if (type == SQLITE_NULL || random_column(name))
                    continue;
                const void *p = type == SQLITE_BLOB ? sqlite3_column_blob(st, i)
                                                    : (const void *)sqlite3_column_text(st, i);
                int len = sqlite3_column_bytes(st, i);
                crypto_generichash_update(&row, (const uint8_t *)&len, sizeof len);
                if (len > 0)
                    crypto_generichash_update(&row, p, (size_t)len);
            }
            crypto_generichash_final(&row, rh, sizeof rh);
            for (int k = 0; k < 4; k++) {
                uint64_t v;
                memcpy(&v, rh + 8 * k, 8);
                sum[k] += v;
            }
            rows++;
        }
        sqlite3_finalize(st);
        if (s != SQLITE_DONE)
            rc = -1;
        crypto_generichash_update(&all, (const uint8_t *)t, strlen(t) + 1);
        crypto_generichash_update(&all, (const uint8_t *)sum, sizeof sum);
        crypto_generichash_update(&all, (const uint8_t *)&rows, sizeof rows);
    }
    sqlite3_finalize(tables);
    crypto_generichash_final(&all, out, 32);
    return rc;
}

/* ---- the operations ---- */

/* What the read paths returned (reads): compared with the clean run's. */
static uint8_t reads_digest[32];
/* Codes of the problems verify reported (verify), as a bit set of -code. */
static uint64_t verify_codes;
static char verify_what[256]; /* the first accusation */

static op_err
op_append(node *n)
{
    fu_node f = {.db = n->db, .id = n->id, .rd = n->rd};
    return fu_append(&f, 9, T1); /* a KPI value (every fifth) */
}

static op_err
op_checkin(node *n)
{
    fu_node f = {.db = n->db, .id = n->id, .rd = n->rd};
    return fu_append(&f, 10, T1);
}

static op_err
op_rotate(node *n)
{
    fu_node f = {.db = n->db, .id = n->id, .rd = n->rd};
    return fu_append(&f, 11, T1 + STORE_EPOCH_MAX_AGE_MS + DAY_MS); /* a new epoch */
}

static op_err
op_feedback(node *n)
{
    proto_body b;
    store_appended ap;
    proto_body_init(&b, PROTO_KIND_FEEDBACK);
    memcpy(b.who, worker_pk, PROTO_KEY_BYTES);
    b.has_who = true;
    b.text = "Thanks for the notes from Aarhus";
    memcpy(b.re.author, worker_pk, PROTO_KEY_BYTES);
    b.re.seq = 2;
    b.has_re = true;
    return store_log_append_to(n->db, n->rd, n->id, &b, worker_pk, T1, &ap);
}

static op_err
op_contact(node *n)
{
    proto_body b;
    store_appended ap;
    proto_body_init(&b, PROTO_KIND_CONTACT);
    memcpy(b.who, worker_pk, PROTO_KEY_BYTES);
    b.has_who = true;
    b.topic = "wellbeing";
    b.note = "call on Monday";
    return store_log_append(n->db, n->rd, n->id, &b, T1, &ap);
}

static op_err
op_erase(node *n)
{
    return append_erase(n, worker_pk, 3, T1);
}

static op_err
op_ingest(node *n)
{
    return ingest(n, run_w.items, run_w.n);
}

static op_err
op_fork(node *n)
{
    op_err r = ingest(n, run_fork.items, run_fork.n);
    return r == OP_E_FORK ? OP_OK : r == OP_OK ? OP_E_INVAL : r;
}

static op_err
op_chain(node *n)
{
    op_err r = ingest(n, run_chain.items, run_chain.n);
    return r == OP_E_CHAIN ? OP_OK : r == OP_OK ? OP_E_INVAL : r;
}

static op_err
op_admit(node *n)
{
    size_t k = 0;
    op_err r = store_member_admit_pending(n->db, n->rd, n->id, T1, &k);
    return r;
}

static op_err
op_join(node *n)
{
    proto_invite inv;
    store_joined out;
    memset(&inv, 0, sizeof inv);
    memcpy(inv.office, office_pk, PROTO_KEY_BYTES);
    memcpy(inv.token, token_joiner, sizeof token_joiner);
    strcpy(inv.addrs[0], "office.example.org:7420");
    inv.n_addrs = 1;
    return store_member_join(n->db, n->rd, n->id, &inv, T1, &out);
}

/* Joining writes the join entry, then (a second transaction) records the office. Failing
 * between the two and joining again writes a second join entry: harmless (the office admits
 * a key once), and the other order would be worse (the office recorded, no join entry ever
 * sent). Settled: the office is recorded, join_seq names a join entry of this node, and there
 * are at most two. */
static bool
join_settled(const char *dir)
{
    node nd;
    uint8_t office[PROTO_KEY_BYTES];
    char seq[24] = "";
    int len = 0;
    bool ok = false;
    if (node_open(&nd, dir) != OP_OK)
        return false;
    if (store_db_meta_get(nd.db, "office_key", office, sizeof office, &len) == OP_OK &&
        len == PROTO_KEY_BYTES && memcmp(office, office_pk, PROTO_KEY_BYTES) == 0 &&
        store_db_meta_get(nd.db, "join_seq", seq, sizeof seq, NULL) == OP_OK) {
        char sql[160];
        sqlite3_stmt *st;
        snprintf(sql, sizeof sql,
                 "SELECT (SELECT kind FROM entries WHERE seq = %lld) = %d AND"
                 " (SELECT count(*) FROM entries WHERE kind = %d) <= 2",
                 atoll(seq), (int)PROTO_KIND_JOIN, (int)PROTO_KIND_JOIN);
        if (sqlite3_prepare_v2(store_db_handle(nd.db), sql, -1, &st, NULL) == SQLITE_OK) {
            ok = sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) == 1;
            sqlite3_finalize(st);
        }
    }
    node_close(&nd);
    return ok;
}

static op_err
op_invite(node *n)
{
    uint8_t token[PROTO_INVITE_TOKEN_BYTES];
    memset(token, 7, sizeof token);
    return store_member_invite_add(n->db, token, "Another", NULL, T1);
}

static op_err
op_refused(node *n)
{
    return store_member_refused(n->db, worker_pk, "revoked", T1);
}

static void
count_progress(void *ctx, uint64_t done, uint64_t total)
{
    uint64_t *calls = ctx;
    if (done <= total)
        ++*calls;
}

static op_err
op_reindex(node *n)
{
    uint64_t calls = 0, entries = 0;
    op_err r = store_view_reindex(n->db, n->rd, count_progress, &calls, &entries);
    if (r == OP_OK && (calls == 0 || entries == 0))
        r = OP_E_INVAL;
    return r;
}

static op_err
op_ensure(node *n)
{
    bool rebuilt;
    op_err r = store_view_ensure(n->db, n->rd, &rebuilt);
    return r == OP_OK && !rebuilt ? OP_E_INVAL : r;
}

static void
verify_problem(void *ctx, const uint8_t *author, uint64_t seq, op_err e, const char *what)
{
    (void)ctx;
    (void)author;
    (void)seq;
    verify_codes |= 1ull << (e < 0 && e > -64 ? -e : 63);
    if (e != OP_E_NOMEM && e != OP_E_IO && e != OP_E_BUSY)
        snprintf(verify_what, sizeof verify_what, "%s: %s", op_errname(e), what);
}

static op_err
op_verify(node *n)
{
    store_verify_cb cb = {.problem = verify_problem};
    store_verified v;
    verify_codes = 0;
    verify_what[0] = '\0';
    op_err r = store_verify(n->db, &cb, &v);
    if (r == OP_OK && verify_codes == 0 && (v.entries == 0 || v.problems))
        r = OP_E_INVAL;
    return r;
}

static op_err
op_reads(node *n)
{
    crypto_generichash_state s;
    store_head *heads = NULL;
    store_join *joins = NULL;
    store_run run = {0};
    store_have_summary sum;
    store_member m;
    size_t k;
    op_err r;
    crypto_generichash_init(&s, NULL, 0, sizeof reads_digest);
    if ((r = store_log_have(n->db, &heads, &k)) != OP_OK)
        goto out;
    crypto_generichash_update(&s, (const uint8_t *)heads, k * sizeof *heads);
    free(heads);
    heads = NULL;
    if ((r = store_have_bucket(n->db, worker_pk[0], &heads, &k)) != OP_OK)
        goto out;
    crypto_generichash_update(&s, (const uint8_t *)heads, k * sizeof *heads);
    if ((r = store_have_summary_get(n->db, &sum)) != OP_OK)
        goto out;
    crypto_generichash_update(&s, (const uint8_t *)&sum, sizeof sum);
    if ((r = store_log_read(n->db, worker_pk, 2, 5, &run)) != OP_OK)
        goto out;
    for (size_t i = 0; i < run.n; i++) {
        crypto_generichash_update(&s, run.items[i].env, run.items[i].env_len);
        crypto_generichash_update(&s, (const uint8_t *)&run.items[i].body_len, sizeof(size_t));
    }
    if ((r = store_member_pending(n->db, &joins, &k)) != OP_OK)
        goto out;
    for (size_t i = 0; i < k; i++)
        crypto_generichash_update(&s, (const uint8_t *)joins[i].name, strlen(joins[i].name));
    if ((r = store_member_get(n->db, worker_pk, &m)) != OP_OK)
        goto out;
    crypto_generichash_update(&s, (const uint8_t *)&m.state, sizeof m.state);
    uint64_t head;
    if ((r = store_have_head(n->db, worker_pk, &head)) != OP_OK)
        goto out;
    crypto_generichash_update(&s, (const uint8_t *)&head, sizeof head);
out:
    crypto_generichash_final(&s, reads_digest, sizeof reads_digest);
    free(heads);
    free(joins);
    store_run_free(&run);
    return r;
}

typedef struct op_def {
    const char *name, *tpl;
    op_err (*fn)(node *n);
    bool multi_tx; /* more than one transaction by design: checked by calling it again */
    /* When called again after a failure leaves another result than a clean run's: whether
     * that result is right all the same (NULL: it must be the clean one). */
    bool (*settled)(const char *dir);
} op_def;

static const op_def ops[] = {
    {"append", "worker", op_append, false, NULL},
    {"checkin", "office", op_checkin, false, NULL},
    {"rotate", "worker", op_rotate, false, NULL},
    {"feedback", "office", op_feedback, false, NULL},
    {"contact", "office", op_contact, false, NULL},
    {"erase", "office", op_erase, false, NULL},
    {"ingest", "office_part", op_ingest, false, NULL},
    {"fork", "office", op_fork, false, NULL},
    {"chain", "office", op_chain, false, NULL},
    {"admit", "office", op_admit, true, NULL},
    {"join", "joiner", op_join, true, join_settled},
    {"invite", "office", op_invite, false, NULL},
    {"refused", "office", op_refused, false, NULL},
    {"reindex", "office_dmg", op_reindex, false, NULL},
    {"ensure", "office_dmg", op_ensure, false, NULL},
    {"verify", "office", op_verify, false, NULL},
    {"reads", "office", op_reads, false, NULL},
};

/* ---- one run ---- */

typedef struct op_state {
    const op_def *op;
    char dir[PATH_MAX], tpl[PATH_MAX];
    uint8_t before[32], after[32], reads[32];
} op_state;

static int failf(char *why, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int
failf(char *why, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, n, fmt, ap);
    va_end(ap);
    return 1;
}

/* Opens the node in dir, unarmed, and checks it: integrity_check, (full) store_verify, and
 * its digest. */
static int
check_store(const char *dir, uint8_t d[32], bool full, char *why, size_t n)
{
    node nd;
    op_err r = node_open(&nd, dir);
    if (r != OP_OK)
        return failf(why, n, "cannot open after the fault: %s", op_errname(r));
    int rc = 0;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(store_db_handle(nd.db), "PRAGMA integrity_check", -1, &st, NULL) !=
        SQLITE_OK)
        rc = failf(why, n, "integrity_check: %s", store_db_errmsg(nd.db));
    else {
        const char *t =
            sqlite3_step(st) == SQLITE_ROW ? (const char *)sqlite3_column_text(st, 0) : NULL;
        if (!t || strcmp(t, "ok") != 0)
            rc = failf(why, n, "integrity_check: %s", t ? t : "no answer");
        sqlite3_finalize(st);
    }
    store_verified v;
    if (!rc && full && ((r = store_verify(nd.db, NULL, &v)) != OP_OK || v.problems))
        rc = failf(why, n, "store_verify: %s, %llu problems", op_errname(r),
                   (unsigned long long)v.problems);
    if (!rc && digest(nd.db, d) != 0)
        rc = failf(why, n, "cannot read the store back");
    node_close(&nd);
    return rc;
}

/* Runs the operation on a fresh copy of its template with the fault at n (0: none); *hit. */
static op_err
run_once(op_state *s, uint64_t n, bool persist, bool *hit, uint64_t *count)
{
    node nd;
    op_err r;
    if (copy_node(s->tpl, s->dir) != 0) {
        printf("FAIL: cannot copy %s\n", s->tpl);
        exit(3);
    }
    if ((r = node_open(&nd, s->dir)) != OP_OK) {
        printf("FAIL: cannot open %s: %s\n", s->dir, op_errname(r));
        exit(3);
    }
    arm(n, persist);
    r = s->op->fn(&nd);
    *count = disarm(hit);
    node_close(&nd);
    return r;
}

/* Calls the operation again on the node as the fault left it. */
static op_err
again(op_state *s)
{
    node nd;
    op_err r = node_open(&nd, s->dir);
    if (r == OP_OK) {
        r = s->op->fn(&nd);
        node_close(&nd);
    }
    return r;
}

static const char *
kind_text(bool persist)
{
    if (mode_io)
        return persist ? "persistent" : io_kind == VF_FAULT_FULL ? "disk-full" : "transient";
    return persist ? "persistent" : "transient";
}

static void
report(op_state *s, uint64_t n, bool persist, const char *why)
{
    failed++;
    if (failed <= 10)
        printf("FAIL %s %s N=%llu %s: %s\n", mode_io ? "ioerr" : "oom", s->op->name,
               (unsigned long long)n, kind_text(persist), why);
}

/* One N: returns false when the operation ran to its end without reaching it. */
static bool
one_n(op_state *s, uint64_t n, bool persist)
{
    char why[512] = "";
    uint8_t d[32];
    bool hit;
    uint64_t count;
    op_err r = run_once(s, n, persist, &hit, &count);
    if (!hit)
        return false;
    int bad = 0;
    bool is_reads = s->op->fn == op_reads, is_verify = s->op->fn == op_verify;
    if (r != OP_OK && !fault_code(r))
        bad = failf(why, sizeof why, "returned %s, not the fault's code", op_errname(r));
    else if (r == OP_OK && is_reads && memcmp(reads_digest, s->reads, 32) != 0)
        bad = failf(why, sizeof why, "returned OK with a different result");
    else if (is_verify &&
             (verify_codes & ~((1ull << -OP_E_NOMEM) | (1ull << -OP_E_IO) | (1ull << -OP_E_BUSY))))
        bad = failf(why, sizeof why, "verify accused the store: %s", verify_what);
    else if (check_store(s->dir, d, r == OP_OK, why, sizeof why) != 0)
        bad = 1; /* (a failed call is verified in full after it is called again) */
    else if (r == OP_OK && memcmp(d, s->after, 32) != 0)
        bad = failf(why, sizeof why, "returned OK but the store differs from a clean run's");
    else if (r != OP_OK && !s->op->multi_tx && memcmp(d, s->before, 32) != 0 &&
             memcmp(d, s->after, 32) != 0)
        bad =
            failf(why, sizeof why, "failed with %s and left the store half changed", op_errname(r));
    else if (r != OP_OK) {
        /* the fault gone, the same call works and gives the clean result */
        op_err r2 = again(s);
        if (r2 != OP_OK)
            bad = failf(why, sizeof why, "failed with %s; called again: %s", op_errname(r),
                        op_errname(r2));
        else if (check_store(s->dir, d, true, why, sizeof why) != 0)
            bad = 1;
        else if (memcmp(d, s->after, 32) != 0 && !(s->op->settled && s->op->settled(s->dir)))
            bad = failf(why, sizeof why,
                        "failed with %s; called again it worked but the store differs from a "
                        "clean run's",
                        op_errname(r));
    }
    if (bad)
        report(s, n, persist, why);
    else
        passed++;
    return true;
}

static int
open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    int n = 0;
    if (!d)
        return -1;
    while (readdir(d))
        n++;
    closedir(d);
    return n;
}

static double
now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t
env_u64(const char *name, uint64_t dflt)
{
    const char *v = getenv(name);
    return v && *v ? strtoull(v, NULL, 10) : dflt;
}

static void
run_op(const op_def *op)
{
    op_state s = {.op = op};
    char why[512];
    bool hit;
    uint64_t count, max = env_u64("OPS_MAX", 0), from = env_u64("OPS_FROM", 1);
    snprintf(s.dir, sizeof s.dir, "%s/work", root);
    tpl_path(s.tpl, sizeof s.tpl, op->tpl);
    /* before, and after a clean run */
    if (copy_node(s.tpl, s.dir) != 0 || check_store(s.dir, s.before, true, why, sizeof why) != 0) {
        printf("FAIL %s: the template: %s\n", op->name, why);
        failed++;
        return;
    }
    op_err r = run_once(&s, 0, false, &hit, &count);
    memcpy(s.reads, reads_digest, 32);
    if (r != OP_OK || check_store(s.dir, s.after, true, why, sizeof why) != 0) {
        printf("FAIL %s: without a fault: %s %s\n", op->name, op_errname(r), r ? "" : why);
        failed++;
        return;
    }
    bool read_only = op->fn == op_reads || op->fn == op_verify;
    if (read_only != (memcmp(s.before, s.after, 32) == 0)) {
        printf("FAIL %s: a clean run %s the store\n", op->name,
               read_only ? "changed" : "did not change");
        failed++;
        return;
    }
    int kinds = mode_io ? 3 : 2;
    /* At most `points` values of N per kind, spread evenly over the clean run's count (each
     * kind starting at another offset); every N with OPS_POINTS=0. */
    uint64_t points = env_u64("OPS_POINTS", OPS_POINTS_DEFAULT);
    uint64_t stride = points && count > points ? (count + points - 1) / points : 1;
    for (int k = 0; k < kinds; k++) {
        bool persist = k == 1;
        io_kind = k == 2 ? VF_FAULT_FULL : VF_FAULT_ONCE;
        uint64_t n, hits = 0;
        for (n = from + (uint64_t)k * stride / kinds; max == 0 || n <= max; n += stride) {
            int f0 = open_fds();
            bool reached = one_n(&s, n, persist);
            if (open_fds() != f0)
                report(&s, n, persist, "a file descriptor was left open");
            if (!reached)
                break;
            hits++;
        }
        if (hits == 0 && !(mode_io && io_kind == VF_FAULT_FULL)) {
            printf("FAIL %s %s: the fault was never reached (is the wrap or the shim in place?)\n",
                   op->name, kind_text(persist));
            failed++;
        }
        printf("%s %s %s: %llu %s in a clean run, N = %llu..%llu step %llu, %llu with the "
               "fault hit\n",
               mode_io ? "ioerr" : "oom", op->name, kind_text(persist), (unsigned long long)count,
               mode_io ? "VFS operations" : "allocations", (unsigned long long)from,
               (unsigned long long)n, (unsigned long long)stride, (unsigned long long)hits);
        fflush(stdout);
    }
}

int
main(int argc, char **argv)
{
    if (argc != 2 || (strcmp(argv[1], "oom") != 0 && strcmp(argv[1], "ioerr") != 0)) {
        fprintf(stderr, "usage: ops_fault oom|ioerr\n");
        return 2;
    }
    mode_io = strcmp(argv[1], "ioerr") == 0;
    if (!mode_io && !fa_install_sqlite())
        return 3;
    if (sqlite3_initialize() != SQLITE_OK || sodium_init() < 0 ||
        (mode_io && vf_install() != SQLITE_OK)) {
        fprintf(stderr, "ops_fault: cannot set up\n");
        return 3;
    }
    const char *base = getenv("TMPDIR");
    snprintf(root, sizeof root, "%s/outpost-ops-XXXXXX",
             access("/dev/shm", W_OK) == 0 ? "/dev/shm"
             : base && *base               ? base
                                           : "/tmp");
    if (!mkdtemp(root)) {
        perror("ops_fault: mkdtemp");
        return 3;
    }
    printf("ops_fault %s: dir %s\n", argv[1], root);
    fflush(stdout);
    double t0 = now_s();
    if (mode_io)
        vf_reset();
    if (make_templates() != 0) {
        printf("FAIL: cannot make the templates\n");
        failed++;
    } else {
        const char *only = getenv("OPS_ONLY");
        for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
            if (!only || !*only || strcmp(only, ops[i].name) == 0)
                run_op(&ops[i]);
    }
    store_run_free(&run_w);
    store_run_free(&run_fork);
    store_run_free(&run_chain);
    printf("ops_fault %s: %llu passed, %llu failed, %.1f s\n", argv[1], (unsigned long long)passed,
           (unsigned long long)failed, now_s() - t0);
    printf("%d passed, %d failed\n", failed == 0, failed != 0);
    if (failed == 0) {
        static const char *const dirs[] = {"work",           "tpl-office",  "tpl-worker",
                                           "tpl-copy",       "tpl-joiner",  "tpl-office_part",
                                           "tpl-office_dmg", "tpl-newcomer"};
        for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
            char d[PATH_MAX], k[PATH_MAX + 32];
            snprintf(d, sizeof d, "%s/%s", root, dirs[i]);
            snprintf(k, sizeof k, "%s/%s", d, STORE_IDENTITY_FILE);
            fu_rm_store(d);
            unlink(k);
            rmdir(d);
        }
        rmdir(root);
    } else {
        printf("files kept in %s\n", root);
    }
    return failed ? 1 : 0;
}
