/*
 * member_test.c — store/member.c and the membership rules in store/view.c and store/log.c:
 * invitations, a worker joining, the office admitting (end to end between real stores, runs
 * copied with store_log_read + store_log_ingest), refused proofs (unknown, reused, copied from
 * another worker's join), the membership list counting only the office's entries, and
 * revocation refusing a revoked author's later entries with OP_E_REVOKED; joining oneself
 * refused, a second invitation from the same office, and member states from the office's word.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <stdint.h>

#include "proto/invite.h"
#include "store/have.h"
#include "store/member.h"
#include "store/view.h"
#include "store_test_util.h"

/* ---- helpers ----------------------------------------------------------------------------- */

static uint8_t netkey[PROTO_NETKEY_BYTES];

/* The single integer a query with one 32-byte key parameter (?1) returns. */
static int64_t
int_with_key(tu_node *n, const char *sql, const uint8_t key[32])
{
    sqlite3_stmt *st;
    int64_t v = -1;
    if (sqlite3_prepare_v2(store_db_handle(n->db), sql, -1, &st, NULL) != SQLITE_OK)
        fail_msg("prepare %s: %s", sql, sqlite3_errmsg(store_db_handle(n->db)));
    sqlite3_bind_blob(st, 1, key, 32, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    else
        fail_msg("no row from %s", sql);
    sqlite3_finalize(st);
    return v;
}

static int64_t
count(tu_node *n, const char *sql)
{
    return tu_int(n->db, sql);
}

/* Makes n an office as `outpost init --office` does: meta, and the member entry for itself. */
static void
make_office(tu_node *n, const char *name)
{
    proto_body b;
    store_appended ap;
    OK(store_db_meta_put_text(n->db, "role", "office"));
    OK(store_db_meta_put_text(n->db, "name", name));
    OK(store_db_meta_put_blob(n->db, "office_key", n->id->pk, PROTO_KEY_BYTES));
    proto_body_init(&b, PROTO_KIND_MEMBER);
    memcpy(b.key, n->id->pk, PROTO_KEY_BYTES);
    b.has_key = true;
    b.name = (char *)name;
    b.role = (char *)"office";
    OK(store_log_append(n->db, n->rd, n->id, &b, T0, &ap));
    assert_int_equal(ap.seq, 1);
}

static void
make_worker(tu_node *n, const char *name, const char *site)
{
    OK(store_db_meta_put_text(n->db, "role", "worker"));
    OK(store_db_meta_put_text(n->db, "name", name));
    OK(store_db_meta_put_text(n->db, "site", site ? site : ""));
}

/* An invite of office o for name (recorded on o), with one address. */
static void
invite(tu_node *o, const char *name, const char *site, proto_invite *inv)
{
    memset(inv, 0, sizeof *inv);
    memcpy(inv->office, o->id->pk, PROTO_KEY_BYTES);
    memcpy(inv->netkey, netkey, sizeof netkey);
    randombytes_buf(inv->token, sizeof inv->token);
    strcpy(inv->addrs[0], "office.example.org:7420");
    strcpy(inv->addrs[1], "192.0.2.7:7420");
    inv->n_addrs = 2;
    OK(store_member_invite_add(o->db, inv->token, name, site, T0));
}

/* Copies all of author's log from one node to another (entries held already are skipped). */
static void
copy_log(tu_node *from, tu_node *to, const uint8_t author[32])
{
    OK(tu_copy(from, to, author, 1, 100000, NULL, NULL));
}

static size_t
admit(tu_node *o, uint64_t now)
{
    size_t n = 99;
    OK(store_member_admit_pending(o->db, o->rd, o->id, now, &n));
    return n;
}

static size_t
pending(tu_node *n)
{
    store_join *v;
    size_t len;
    OK(store_member_pending(n->db, &v, &len));
    free(v);
    return len;
}

static store_member
member(tu_node *n, const uint8_t key[32])
{
    store_member m;
    OK(store_member_get(n->db, key, &m));
    return m;
}

/* The kind of n's own entry at seq, and its body decoded (caller finis it). */
static uint64_t
own_entry(tu_node *n, const uint8_t author[32], uint64_t seq, proto_body *b)
{
    store_run run;
    proto_envelope e;
    OK(store_log_read(n->db, author, seq, 1, &run));
    assert_int_equal(run.n, 1);
    OK(proto_envelope_decode(run.items[0].env, run.items[0].env_len, &e));
    assert_int_equal(e.seq, seq);
    OK(store_reader_body(n->rd, n->db, 0, &e, run.items[0].body, run.items[0].body_len, b));
    store_run_free(&run);
    return e.kind;
}

/* ---- joining ----------------------------------------------------------------------------- */

static void
join_writes_entry_meta_and_peers(void **state)
{
    tu_fixture *f = *state;
    tu_node o, w;
    proto_invite inv;
    store_joined j;
    tu_node_open(&o, f->dir, "office");
    tu_node_open(&w, f->dir, "worker");
    make_office(&o, "Home");
    make_worker(&w, "Ann", "Acme");
    invite(&o, "Ann Larsen", "Client A", &inv);

    OK(store_member_join(w.db, w.rd, w.id, &inv, T0 + 10, &j));
    assert_false(j.already);
    assert_int_equal(j.join_seq, 1); /* plaintext: no key entry before it */
    assert_int_equal(j.peers, 2);
    proto_body b;
    assert_int_equal(own_entry(&w, w.id->pk, 1, &b), PROTO_KIND_JOIN);
    assert_string_equal(b.name, "Ann");
    assert_string_equal(b.site, "Acme");
    assert_true(b.has_proof);
    /* the proof opens for the office only, and binds the token to this worker */
    uint8_t token[32], key[32];
    OK(proto_join_proof_open(o.id->sk, b.proof, token, key));
    assert_memory_equal(token, inv.token, 32);
    assert_memory_equal(key, w.id->pk, 32);
    EXPECT(OP_E_AUTH, proto_join_proof_open(w.id->sk, b.proof, token, key));
    proto_body_fini(&b);
    /* epoch 0: readable by every member */
    assert_int_equal(count(&w, "SELECT epoch FROM entries WHERE seq = 1"), 0);
    assert_int_equal(int_with_key(&w, "SELECT count(*) FROM meta WHERE k = 'office_key' AND v = ?1",
                                  o.id->pk),
                     1);
    assert_int_equal(int_with_key(&w, "SELECT count(*) FROM peers WHERE key = ?1", o.id->pk), 2);
    assert_int_equal(count(&w, "SELECT count(*) FROM peers WHERE addr = '192.0.2.7:7420'"), 1);
    assert_int_equal(count(&w, "SELECT count(*) FROM joins"), 1);
    /* the office is known as the office before its log arrives */
    assert_int_equal(member(&w, o.id->pk).state, STORE_MEMBER_OFFICE);
    assert_int_equal(member(&w, w.id->pk).state, STORE_MEMBER_NONE);

    /* the next check-in starts an epoch sealed to the worker and the office */
    store_appended ap;
    OK(tu_checkin(&w, "first", T0 + 20, &ap));
    assert_int_equal(ap.seq, 3);
    assert_int_equal(own_entry(&w, w.id->pk, 2, &b), PROTO_KIND_KEY);
    assert_int_equal(b.n_sealed, 2);
    assert_memory_equal(b.sealed[1].reader, o.id->pk, 32);
    proto_body_fini(&b);

    /* the same code again: nothing new */
    int64_t entries = count(&w, "SELECT count(*) FROM entries");
    OK(store_member_join(w.db, w.rd, w.id, &inv, T0 + 30, &j));
    assert_true(j.already);
    assert_int_equal(j.join_seq, 1);
    assert_int_equal(count(&w, "SELECT count(*) FROM entries"), entries);

    /* a code of another team: refused, nothing written */
    tu_node o2;
    proto_invite other;
    tu_node_open(&o2, f->dir, "office2");
    make_office(&o2, "Elsewhere");
    invite(&o2, "Ann", NULL, &other);
    EXPECT(OP_E_EXISTS, store_member_join(w.db, w.rd, w.id, &other, T0 + 40, &j));
    assert_int_equal(count(&w, "SELECT count(*) FROM entries"), entries);
    assert_int_equal(int_with_key(&w, "SELECT count(*) FROM meta WHERE k = 'office_key' AND v = ?1",
                                  o.id->pk),
                     1);
    /* an office does not join */
    EXPECT(OP_E_INVAL, store_member_join(o2.db, o2.rd, o2.id, &inv, T0 + 50, &j));
    assert_int_equal(count(&o2, "SELECT count(*) FROM entries"), 1);
    proto_invite_wipe(&inv);
    tu_node_close(&o2);
    tu_node_close(&w);
    tu_node_close(&o);
}

/* ---- admission, end to end --------------------------------------------------------------- */

static void
admission_end_to_end(void **state)
{
    tu_fixture *f = *state;
    tu_node o, w, relay;
    proto_invite inv;
    store_joined j;
    tu_node_open(&o, f->dir, "office");
    tu_node_open(&w, f->dir, "worker");
    tu_node_open(&relay, f->dir, "relay");
    make_office(&o, "Home");
    make_worker(&w, "Ann", "Acme");
    invite(&o, "Ann Larsen", "Client A", &inv);
    OK(store_member_join(w.db, w.rd, w.id, &inv, T0 + 10, &j));
    OK(tu_checkin(&w, "after joining", T0 + 20, NULL));

    /* the worker's log reaches the office: a pending join */
    copy_log(&w, &o, w.id->pk);
    assert_int_equal(pending(&o), 1);
    store_join *pv;
    size_t pn;
    OK(store_member_pending(o.db, &pv, &pn));
    assert_memory_equal(pv[0].author, w.id->pk, 32);
    assert_int_equal(pv[0].seq, 1);
    assert_string_equal(pv[0].name, "Ann");
    assert_string_equal(pv[0].site, "Acme");
    free(pv);
    assert_int_equal(member(&o, w.id->pk).state, STORE_MEMBER_NONE);
    /* the office can read the check-in written after the join, but a non-member's records do
     * not count (SPEC §6): held, not projected */
    static const char *const ann_checkin = "SELECT count(*) FROM checkins c JOIN authors a ON"
                                           " a.id = c.author WHERE a.key = ?1"
                                           " AND note = 'after joining'";
    assert_int_equal(int_with_key(&o, ann_checkin, w.id->pk), 0);

    /* admission: the invite is used, a member entry is in the office's log, and the records
     * the new member wrote before it count from now on */
    assert_int_equal(admit(&o, T0 + 1000), 1);
    assert_int_equal(int_with_key(&o, ann_checkin, w.id->pk), 1);
    OK(store_view_reindex(o.db, o.rd, NULL, NULL, NULL)); /* the same from the log alone */
    assert_int_equal(int_with_key(&o, ann_checkin, w.id->pk), 1);
    assert_int_equal(pending(&o), 0);
    assert_int_equal(count(&o, "SELECT count(*) FROM invites WHERE used_by IS NOT NULL"), 1);
    assert_int_equal(int_with_key(&o, "SELECT used_at FROM invites WHERE used_by = ?1", w.id->pk),
                     (int64_t)(T0 + 1000));
    proto_body b;
    assert_int_equal(tu_head(&o, o.id->pk), 2);
    assert_int_equal(own_entry(&o, o.id->pk, 2, &b), PROTO_KIND_MEMBER);
    assert_memory_equal(b.key, w.id->pk, 32);
    assert_string_equal(b.name, "Ann Larsen"); /* the invited name, not the one the worker gave */
    assert_string_equal(b.site, "Client A");
    assert_string_equal(b.role, "worker");
    proto_body_fini(&b);
    store_member m = member(&o, w.id->pk);
    assert_int_equal(m.state, STORE_MEMBER_MEMBER);
    assert_string_equal(m.name, "Ann Larsen");
    assert_string_equal(m.site, "Client A");
    assert_int_equal(m.admitted, T0 + 1000);
    assert_int_equal(member(&o, o.id->pk).state, STORE_MEMBER_OFFICE);
    /* again: nothing more */
    assert_int_equal(admit(&o, T0 + 2000), 0);
    assert_int_equal(tu_head(&o, o.id->pk), 2);

    /* the office's log back to the worker: the membership list on both sides */
    copy_log(&o, &w, o.id->pk);
    assert_int_equal(count(&w, "SELECT count(*) FROM members"), 2);
    m = member(&w, w.id->pk);
    assert_int_equal(m.state, STORE_MEMBER_MEMBER);
    assert_string_equal(m.name, "Ann Larsen");
    m = member(&w, o.id->pk);
    assert_int_equal(m.state, STORE_MEMBER_OFFICE);
    assert_string_equal(m.name, "Home");

    /* a third node holds and verifies the worker's entries but cannot read them */
    copy_log(&w, &relay, w.id->pk);
    copy_log(&o, &relay, o.id->pk);
    assert_int_equal(tu_head(&relay, w.id->pk), tu_head(&w, w.id->pk));
    assert_int_equal(count(&relay, "SELECT count(*) FROM checkins"), 0);
    assert_int_equal(count(&relay, "SELECT count(*) FROM joins"), 1); /* joins are plaintext */
    /* it knows no office, so the office's member entries count for nothing there */
    assert_int_equal(count(&relay, "SELECT count(*) FROM members"), 0);
    assert_int_equal(admit(&relay, T0 + 3000), 0);
    store_verified v;
    OK(store_verify(o.db, NULL, &v));
    assert_int_equal(v.problems, 0);
    OK(store_verify(w.db, NULL, &v));
    assert_int_equal(v.problems, 0);
    proto_invite_wipe(&inv);
    tu_node_close(&relay);
    tu_node_close(&w);
    tu_node_close(&o);
}

/* Two workers with the same code: the first join the office sees wins, the other stays
 * pending and is never admitted with that token. */
static void
reused_token_refused(void **state)
{
    tu_fixture *f = *state;
    tu_node o, w1, w2;
    proto_invite inv;
    store_joined j;
    tu_node_open(&o, f->dir, "office");
    tu_node_open(&w1, f->dir, "w1");
    tu_node_open(&w2, f->dir, "w2");
    make_office(&o, "Home");
    make_worker(&w1, "One", NULL);
    make_worker(&w2, "Two", NULL);
    invite(&o, "One", NULL, &inv);
    OK(store_member_join(w1.db, w1.rd, w1.id, &inv, T0 + 10, &j));
    OK(store_member_join(w2.db, w2.rd, w2.id, &inv, T0 + 20, &j));
    copy_log(&w1, &o, w1.id->pk);
    copy_log(&w2, &o, w2.id->pk);
    assert_int_equal(pending(&o), 2);
    assert_int_equal(admit(&o, T0 + 100), 1);
    assert_int_equal(member(&o, w1.id->pk).state, STORE_MEMBER_MEMBER);
    assert_int_equal(member(&o, w2.id->pk).state, STORE_MEMBER_NONE);
    assert_int_equal(pending(&o), 1);
    assert_int_equal(int_with_key(&o, "SELECT count(*) FROM invites WHERE used_by = ?1", w1.id->pk),
                     1);
    assert_int_equal(admit(&o, T0 + 200), 0);
    assert_int_equal(pending(&o), 1);
    assert_int_equal(count(&o, "SELECT count(*) FROM entries WHERE kind = 6"), 2); /* self + w1 */
    /* a token the office never made admits nobody */
    tu_node w3;
    proto_invite fake = inv;
    tu_node_open(&w3, f->dir, "w3");
    make_worker(&w3, "Three", NULL);
    randombytes_buf(fake.token, sizeof fake.token);
    OK(store_member_join(w3.db, w3.rd, w3.id, &fake, T0 + 30, &j));
    copy_log(&w3, &o, w3.id->pk);
    assert_int_equal(admit(&o, T0 + 300), 0);
    assert_int_equal(member(&o, w3.id->pk).state, STORE_MEMBER_NONE);
    proto_invite_wipe(&inv);
    proto_invite_wipe(&fake);
    tu_node_close(&w3);
    tu_node_close(&w2);
    tu_node_close(&w1);
    tu_node_close(&o);
}

/* A relay copies a worker's proof into a join entry of its own: the key inside is not the
 * relay's, so the office refuses it, and the token stays good for the worker it was for. */
static void
copied_proof_refused(void **state)
{
    tu_fixture *f = *state;
    tu_node o, w, thief;
    proto_invite inv;
    store_joined j;
    store_appended ap;
    proto_body b, stolen;
    tu_node_open(&o, f->dir, "office");
    tu_node_open(&w, f->dir, "worker");
    tu_node_open(&thief, f->dir, "thief");
    make_office(&o, "Home");
    make_worker(&w, "Ann", NULL);
    make_worker(&thief, "Mallory", NULL);
    invite(&o, "Ann", NULL, &inv);
    OK(store_member_join(w.db, w.rd, w.id, &inv, T0 + 10, &j));
    /* the thief relays the worker's log and lifts the proof from it */
    copy_log(&w, &thief, w.id->pk);
    assert_int_equal(own_entry(&thief, w.id->pk, 1, &stolen), PROTO_KIND_JOIN);
    proto_body_init(&b, PROTO_KIND_JOIN);
    b.name = (char *)"Mallory";
    memcpy(b.proof, stolen.proof, sizeof b.proof);
    b.has_proof = true;
    proto_body_fini(&stolen);
    OK(store_log_append(thief.db, thief.rd, thief.id, &b, T0 + 5, &ap)); /* an earlier ts */
    /* the thief's copy reaches the office first */
    copy_log(&thief, &o, thief.id->pk);
    assert_int_equal(admit(&o, T0 + 100), 0);
    assert_int_equal(member(&o, thief.id->pk).state, STORE_MEMBER_NONE);
    assert_int_equal(count(&o, "SELECT count(*) FROM invites WHERE used_by IS NULL"), 1);
    /* the real one still works, even with the copy still pending */
    copy_log(&w, &o, w.id->pk);
    assert_int_equal(admit(&o, T0 + 200), 1);
    assert_int_equal(member(&o, w.id->pk).state, STORE_MEMBER_MEMBER);
    assert_int_equal(member(&o, thief.id->pk).state, STORE_MEMBER_NONE);
    assert_int_equal(pending(&o), 1);
    /* a proof that does not open at all */
    tu_node x;
    tu_node_open(&x, f->dir, "x");
    proto_body_init(&b, PROTO_KIND_JOIN);
    b.name = (char *)"X";
    randombytes_buf(b.proof, sizeof b.proof);
    b.has_proof = true;
    OK(store_log_append(x.db, x.rd, x.id, &b, T0, &ap));
    copy_log(&x, &o, x.id->pk);
    assert_int_equal(admit(&o, T0 + 300), 0);
    assert_int_equal(pending(&o), 2);
    proto_invite_wipe(&inv);
    tu_node_close(&x);
    tu_node_close(&thief);
    tu_node_close(&w);
    tu_node_close(&o);
}

/* A worker, a relay, or a node whose role says office but whose office_key is another's: none
 * of them admits anyone or writes anything. */
static void
non_office_admits_nothing(void **state)
{
    tu_fixture *f = *state;
    tu_node o, w, other, fake;
    proto_invite inv;
    store_joined j;
    tu_node_open(&o, f->dir, "office");
    tu_node_open(&w, f->dir, "worker");
    tu_node_open(&other, f->dir, "other");
    tu_node_open(&fake, f->dir, "fake");
    make_office(&o, "Home");
    make_worker(&w, "Ann", NULL);
    make_worker(&other, "Bob", NULL);
    invite(&o, "Ann", NULL, &inv);
    OK(store_member_join(w.db, w.rd, w.id, &inv, T0, &j));
    copy_log(&w, &other, w.id->pk);
    assert_int_equal(admit(&other, T0 + 10), 0);
    assert_int_equal(tu_head(&other, other.id->pk), 0);
    /* a node whose meta says office, but whose office_key is not its own key, is not the
     * office: it admits nobody */
    OK(store_db_meta_put_text(fake.db, "role", "office"));
    OK(store_db_meta_put_blob(fake.db, "office_key", o.id->pk, PROTO_KEY_BYTES));
    copy_log(&w, &fake, w.id->pk);
    assert_int_equal(admit(&fake, T0 + 10), 0);
    assert_int_equal(tu_head(&fake, fake.id->pk), 0);
    assert_int_equal(count(&other, "SELECT count(*) FROM members"), 0);
    proto_invite_wipe(&inv);
    tu_node_close(&fake);
    tu_node_close(&other);
    tu_node_close(&w);
    tu_node_close(&o);
}

/* A crash between marking the invite used and writing the member entry: the next round
 * admits that same worker; a claim by another key blocks it. */
static void
claimed_invite_retry(void **state)
{
    tu_fixture *f = *state;
    tu_node o, w;
    proto_invite inv;
    store_joined j;
    tu_node_open(&o, f->dir, "office");
    tu_node_open(&w, f->dir, "worker");
    make_office(&o, "Home");
    make_worker(&w, "Ann", NULL);
    invite(&o, "Ann", "Site", &inv);
    OK(store_member_join(w.db, w.rd, w.id, &inv, T0, &j));
    copy_log(&w, &o, w.id->pk);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(store_db_handle(o.db),
                                        "UPDATE invites SET used_by = ?1, used_at = 5", -1, &st,
                                        NULL),
                     SQLITE_OK);
    uint8_t someone[32];
    randombytes_buf(someone, sizeof someone);
    sqlite3_bind_blob(st, 1, someone, 32, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(st), SQLITE_DONE);
    sqlite3_reset(st);
    assert_int_equal(admit(&o, T0 + 10), 0);
    sqlite3_bind_blob(st, 1, w.id->pk, 32, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);
    assert_int_equal(admit(&o, T0 + 20), 1);
    assert_int_equal(member(&o, w.id->pk).state, STORE_MEMBER_MEMBER);
    assert_int_equal(int_with_key(&o, "SELECT used_at FROM invites WHERE used_by = ?1", w.id->pk),
                     5); /* the first claim's time stays */
    proto_invite_wipe(&inv);
    tu_node_close(&w);
    tu_node_close(&o);
}

/* ---- the membership list counts only the office's entries -------------------------------- */

static void
only_office_entries_count(void **state)
{
    tu_fixture *f = *state;
    tu_node o, w, x;
    proto_invite inv;
    store_joined j;
    store_appended ap;
    proto_body b;
    tu_node_open(&o, f->dir, "office");
    tu_node_open(&w, f->dir, "worker");
    tu_node_open(&x, f->dir, "x");
    make_office(&o, "Home");
    make_worker(&w, "Ann", NULL);
    invite(&o, "Ann", NULL, &inv);
    OK(store_member_join(w.db, w.rd, w.id, &inv, T0, &j));
    copy_log(&w, &o, w.id->pk);
    assert_int_equal(admit(&o, T0 + 1), 1);
    /* x makes itself an office and revokes the worker, in its own log */
    proto_body_init(&b, PROTO_KIND_MEMBER);
    memcpy(b.key, x.id->pk, 32);
    b.has_key = true;
    b.name = (char *)"Boss";
    b.role = (char *)"office";
    OK(store_log_append(x.db, x.rd, x.id, &b, T0, &ap));
    proto_body_init(&b, PROTO_KIND_REVOKE);
    memcpy(b.key, w.id->pk, 32);
    b.has_key = true;
    b.after_seq = 0;
    OK(store_log_append(x.db, x.rd, x.id, &b, T0 + 1, &ap));
    copy_log(&x, &o, x.id->pk);
    copy_log(&x, &w, x.id->pk);
    assert_int_equal(member(&o, x.id->pk).state, STORE_MEMBER_NONE);
    assert_int_equal(member(&o, w.id->pk).state, STORE_MEMBER_MEMBER);
    assert_int_equal(member(&w, x.id->pk).state, STORE_MEMBER_NONE);
    assert_int_equal(int_with_key(&o, "SELECT count(*) FROM members WHERE key = ?1", x.id->pk), 0);
    /* the worker's later entries are still taken */
    OK(tu_checkin(&w, "still here", T0 + 10, NULL));
    copy_log(&w, &o, w.id->pk);
    /* and the office's entries that a node held before it joined count once it joins */
    tu_node late;
    proto_invite inv2;
    tu_node_open(&late, f->dir, "late");
    make_worker(&late, "Late", NULL);
    copy_log(&o, &late, o.id->pk);
    assert_int_equal(count(&late, "SELECT count(*) FROM members"), 0);
    invite(&o, "Late", NULL, &inv2);
    OK(store_member_join(late.db, late.rd, late.id, &inv2, T0 + 20, &j));
    assert_int_equal(count(&late, "SELECT count(*) FROM members"), 2);
    assert_int_equal(member(&late, w.id->pk).state, STORE_MEMBER_MEMBER);
    /* the office's own key cannot be revoked, even by the office */
    proto_body_init(&b, PROTO_KIND_REVOKE);
    memcpy(b.key, o.id->pk, 32);
    b.has_key = true;
    OK(store_log_append(o.db, o.rd, o.id, &b, T0 + 30, &ap));
    assert_int_equal(member(&o, o.id->pk).state, STORE_MEMBER_OFFICE);
    proto_invite_wipe(&inv);
    proto_invite_wipe(&inv2);
    tu_node_close(&late);
    tu_node_close(&x);
    tu_node_close(&w);
    tu_node_close(&o);
}

/* ---- revocation -------------------------------------------------------------------------- */

static void
do_revoke(tu_node *o, const uint8_t key[32], uint64_t after, uint64_t ts)
{
    proto_body b;
    store_appended ap;
    proto_body_init(&b, PROTO_KIND_REVOKE);
    memcpy(b.key, key, 32);
    b.has_key = true;
    b.after_seq = after;
    OK(store_log_append(o->db, o->rd, o->id, &b, ts, &ap));
}

static void
revoked_author_refused(void **state)
{
    tu_fixture *f = *state;
    tu_node o, w, peer;
    proto_invite inv, inv2;
    store_joined j;
    store_ingested ing;
    size_t bad = 99;
    tu_node_open(&o, f->dir, "office");
    tu_node_open(&w, f->dir, "worker");
    tu_node_open(&peer, f->dir, "peer");
    make_office(&o, "Home");
    make_worker(&w, "Ann", NULL);
    make_worker(&peer, "Bob", NULL);
    invite(&o, "Ann", NULL, &inv);
    invite(&o, "Bob", NULL, &inv2);
    OK(store_member_join(w.db, w.rd, w.id, &inv, T0, &j));
    OK(store_member_join(peer.db, peer.rd, peer.id, &inv2, T0, &j));
    tu_checkins(&w, "before", 3, T0 + 10); /* seq 2 key entry, 3..5 check-ins */
    copy_log(&w, &o, w.id->pk);
    assert_int_equal(admit(&o, T0 + 100), 1);
    uint64_t held = tu_head(&o, w.id->pk);
    assert_int_equal(held, 5);
    /* the laptop is lost: revoked after what the office holds */
    do_revoke(&o, w.id->pk, held, T0 + 200);
    store_member m = member(&o, w.id->pk);
    assert_int_equal(m.state, STORE_MEMBER_REVOKED);
    assert_int_equal(m.revoked_after, held);
    assert_string_equal(m.name, "Ann"); /* still named */

    /* the thief writes on */
    tu_checkins(&w, "after", 3, T0 + 300); /* 6..8 */
    int64_t entries = count(&o, "SELECT count(*) FROM entries");
    EXPECT(OP_E_REVOKED, tu_copy(&w, &o, w.id->pk, 1, 100, &ing, &bad));
    assert_int_equal(bad, 5); /* index of seq 6 in the run 1..8 */
    assert_int_equal(ing.stored, 0);
    assert_int_equal(count(&o, "SELECT count(*) FROM entries"), entries);
    assert_int_equal(tu_head(&o, w.id->pk), held);
    EXPECT(OP_E_REVOKED, tu_copy(&w, &o, w.id->pk, 6, 1, &ing, &bad));
    assert_int_equal(bad, 0);
    EXPECT(OP_E_REVOKED, tu_copy(&w, &o, w.id->pk, 5, 2, &ing, &bad)); /* 5 held, 6 not */
    assert_int_equal(bad, 1);
    assert_int_equal(tu_head(&o, w.id->pk), held);
    /* what was held before is still fine to receive again */
    OK(tu_copy(&w, &o, w.id->pk, 1, 5, &ing, &bad));
    assert_int_equal(ing.already, 5);
    assert_int_equal(count(&o, "SELECT count(*) FROM checkins WHERE note LIKE 'after%'"), 0);

    /* another member learns of the revocation from the office's log and refuses the same */
    copy_log(&o, &peer, o.id->pk);
    assert_int_equal(member(&peer, w.id->pk).state, STORE_MEMBER_REVOKED);
    EXPECT(OP_E_REVOKED, tu_copy(&w, &peer, w.id->pk, 1, 100, &ing, &bad));
    assert_int_equal(tu_head(&peer, w.id->pk), 0);
    OK(tu_copy(&w, &peer, w.id->pk, 1, held, &ing, &bad));
    assert_int_equal(tu_head(&peer, w.id->pk), held);
    EXPECT(OP_E_REVOKED, tu_copy(&w, &peer, w.id->pk, held + 1, 100, &ing, &bad));

    /* a second revoke with a later seq does not widen it; an earlier one narrows it */
    do_revoke(&o, w.id->pk, held + 2, T0 + 400);
    assert_int_equal(member(&o, w.id->pk).revoked_after, held);
    do_revoke(&o, w.id->pk, 2, T0 + 500);
    assert_int_equal(member(&o, w.id->pk).revoked_after, 2);
    /* a key revoked before it was ever admitted: refused from seq 1 */
    tu_node s;
    tu_node_open(&s, f->dir, "stranger");
    tu_checkins(&s, "x", 1, T0);
    do_revoke(&o, s.id->pk, 0, T0 + 600);
    EXPECT(OP_E_REVOKED, tu_copy(&s, &o, s.id->pk, 1, 10, &ing, &bad));
    assert_int_equal(bad, 0);
    assert_int_equal(tu_head(&o, s.id->pk), 0);
    assert_int_equal(member(&o, s.id->pk).state, STORE_MEMBER_REVOKED);
    /* and revoked keys are never admitted, even with a good invite */
    tu_node late;
    proto_invite inv3;
    tu_node_open(&late, f->dir, "late");
    make_worker(&late, "Late", NULL);
    invite(&o, "Late", NULL, &inv3);
    OK(store_member_join(late.db, late.rd, late.id, &inv3, T0, &j));
    do_revoke(&o, late.id->pk, 1, T0 + 700);
    copy_log(&late, &o, late.id->pk);
    assert_int_equal(admit(&o, T0 + 800), 0);
    assert_int_equal(member(&o, late.id->pk).state, STORE_MEMBER_REVOKED);
    uint8_t h3[32];
    proto_hash(inv3.token, sizeof inv3.token, h3);
    assert_int_equal(int_with_key(&o, "SELECT used_by IS NULL FROM invites WHERE token_hash = ?1",
                                  h3),
                     1);
    store_verified v;
    OK(store_verify(o.db, NULL, &v));
    assert_int_equal(v.problems, 0);
    proto_invite_wipe(&inv);
    proto_invite_wipe(&inv2);
    proto_invite_wipe(&inv3);
    tu_node_close(&late);
    tu_node_close(&s);
    tu_node_close(&peer);
    tu_node_close(&w);
    tu_node_close(&o);
}

/* A relay that strips the body of the office's revoke entry (found by tests/fuzz/ingest.c): the
 * envelope is held without it, so the revocation cannot take effect; when the entry comes again
 * with its body, the body is stored and projected (ing.filled) and the revocation holds. Before,
 * an entry once held was skipped whole, and the node never learned of the revocation. */
static void
withheld_revoke_body_filled_in_later(void **state)
{
    tu_fixture *f = *state;
    tu_node o, w, peer;
    proto_invite inv, inv2;
    store_joined j;
    store_ingested ing;
    store_run run;
    size_t bad = 99;
    tu_node_open(&o, f->dir, "office");
    tu_node_open(&w, f->dir, "worker");
    tu_node_open(&peer, f->dir, "peer");
    make_office(&o, "Home");
    make_worker(&w, "Ann", NULL);
    make_worker(&peer, "Bob", NULL);
    invite(&o, "Ann", NULL, &inv);
    invite(&o, "Bob", NULL, &inv2);
    OK(store_member_join(w.db, w.rd, w.id, &inv, T0, &j));
    OK(store_member_join(peer.db, peer.rd, peer.id, &inv2, T0, &j));
    tu_checkins(&w, "before", 3, T0 + 10);
    copy_log(&w, &o, w.id->pk);
    assert_int_equal(admit(&o, T0 + 100), 1);
    uint64_t held = tu_head(&o, w.id->pk);
    do_revoke(&o, w.id->pk, held, T0 + 200);
    tu_checkins(&w, "after", 2, T0 + 300);

    /* the office's log reaches the peer without bodies */
    OK(store_log_read(o.db, o.id->pk, 1, 100, &run));
    proto_run_item *bare = calloc(run.n, sizeof *bare);
    assert_non_null(bare);
    for (size_t i = 0; i < run.n; i++) {
        bare[i] = run.items[i];
        bare[i].body = NULL;
        bare[i].body_len = 0;
    }
    OK(store_log_ingest(peer.db, peer.rd, bare, run.n, T0 + 400, &ing, &bad));
    assert_int_equal(ing.stored, run.n);
    assert_int_equal(ing.filled, 0);
    assert_int_not_equal(member(&peer, w.id->pk).state, STORE_MEMBER_REVOKED);
    /* again without bodies: nothing to fill */
    OK(store_log_ingest(peer.db, peer.rd, bare, run.n, T0 + 450, &ing, &bad));
    assert_int_equal(ing.already, run.n);
    assert_int_equal(ing.filled, 0);

    /* then whole, from an honest peer: every body is filled in and the revocation holds */
    OK(store_log_ingest(peer.db, peer.rd, run.items, run.n, T0 + 500, &ing, &bad));
    assert_int_equal(ing.stored, 0);
    assert_int_equal(ing.already, run.n);
    assert_int_equal(ing.filled, run.n);
    store_member m = member(&peer, w.id->pk);
    assert_int_equal(m.state, STORE_MEMBER_REVOKED);
    assert_int_equal(m.revoked_after, held);
    assert_int_equal(count(&peer, "SELECT count(*) FROM entries WHERE body IS NULL"), 0);
    EXPECT(OP_E_REVOKED, tu_copy(&w, &peer, w.id->pk, 1, 100, &ing, &bad));
    OK(tu_copy(&w, &peer, w.id->pk, 1, held, &ing, &bad));
    /* and once more: nothing left to fill, nothing changes */
    OK(store_log_ingest(peer.db, peer.rd, run.items, run.n, T0 + 600, &ing, &bad));
    assert_int_equal(ing.filled, 0);
    store_verified v;
    OK(store_verify(peer.db, NULL, &v));
    assert_int_equal(v.problems, 0);
    free(bare);
    store_run_free(&run);
    proto_invite_wipe(&inv);
    proto_invite_wipe(&inv2);
    tu_node_close(&peer);
    tu_node_close(&w);
    tu_node_close(&o);
}

static void
member_get_unknown(void **state)
{
    tu_fixture *f = *state;
    tu_node n;
    uint8_t key[32];
    randombytes_buf(key, sizeof key);
    tu_node_open(&n, f->dir, "n");
    store_member m = member(&n, key);
    assert_int_equal(m.state, STORE_MEMBER_NONE);
    assert_string_equal(m.name, "");
    assert_int_equal(pending(&n), 0);
    size_t k = 7;
    OK(store_member_admit_pending(n.db, n.rd, n.id, T0, &k));
    assert_int_equal(k, 0);
    /* invites: a token is recorded once */
    uint8_t token[32];
    randombytes_buf(token, sizeof token);
    OK(store_member_invite_add(n.db, token, "A", NULL, T0));
    EXPECT(OP_E_EXISTS, store_member_invite_add(n.db, token, "B", "S", T0));
    assert_int_equal(count(&n, "SELECT count(*) FROM invites WHERE site IS NULL AND name = 'A'"),
                     1);
    /* only the hash of the token is kept */
    uint8_t h[32];
    proto_hash(token, sizeof token, h);
    assert_int_equal(int_with_key(&n, "SELECT count(*) FROM invites WHERE token_hash = ?1", h), 1);
    assert_int_equal(int_with_key(&n, "SELECT count(*) FROM invites WHERE token_hash = ?1", token),
                     0);
    tu_node_close(&n);
}

/* Joining: an invitation that names this node itself as the office is refused (a node does not
 * join itself), nothing written; joining again with a second invitation from the same office
 * (the first lost, say) is a new join: a second join entry, the new token recorded, and the
 * office admits the worker once. */
static void
join_self_refused_and_second_invitation(void **state)
{
    tu_fixture *f = *state;
    tu_node o, w;
    proto_invite inv, inv2, self;
    store_joined j;
    tu_node_open(&o, f->dir, "office");
    tu_node_open(&w, f->dir, "worker");
    make_office(&o, "Home");
    make_worker(&w, "Ann", "");
    memset(&self, 0, sizeof self);
    memcpy(self.office, w.id->pk, PROTO_KEY_BYTES);
    randombytes_buf(self.token, sizeof self.token);
    EXPECT(OP_E_INVAL, store_member_join(w.db, w.rd, w.id, &self, T0, &j));
    assert_int_equal(count(&w, "SELECT count(*) FROM entries"), 0);
    assert_int_equal(count(&w, "SELECT count(*) FROM meta WHERE k = 'office_key'"), 0);

    invite(&o, "Ann Larsen", NULL, &inv);
    invite(&o, "Ann Larsen", NULL, &inv2);
    OK(store_member_join(w.db, w.rd, w.id, &inv, T0 + 1, &j));
    assert_false(j.already);
    assert_int_equal(j.join_seq, 1);
    OK(store_member_join(w.db, w.rd, w.id, &inv2, T0 + 2, &j));
    assert_false(j.already);
    assert_int_equal(j.join_seq, 2);
    proto_body b;
    assert_int_equal(own_entry(&w, w.id->pk, 2, &b), PROTO_KIND_JOIN);
    assert_null(b.site); /* no site: none sent */
    proto_body_fini(&b);
    OK(store_member_join(w.db, w.rd, w.id, &inv2, T0 + 3, &j)); /* the same again: nothing new */
    assert_true(j.already);
    assert_int_equal(j.join_seq, 2);
    copy_log(&w, &o, w.id->pk);
    assert_int_equal(pending(&o), 2);
    assert_int_equal(admit(&o, T0 + 10), 1); /* the second join: the key is a member already */
    assert_int_equal(member(&o, w.id->pk).state, STORE_MEMBER_MEMBER);
    assert_int_equal(pending(&o), 0);
    assert_int_equal(count(&o, "SELECT count(*) FROM entries WHERE kind = 6"), 2); /* self, Ann */
    tu_node_close(&o);
    tu_node_close(&w);
}

/* Member states from the office's word: a key the office lists with role "office" (a second
 * office device) is an office; the office's own key is never reported revoked, whatever a row
 * says; an office without its office_key (damaged meta) admits nobody. */
static void
office_states(void **state)
{
    tu_fixture *f = *state;
    tu_node o;
    store_appended ap;
    proto_body b;
    uint8_t second[32];
    randombytes_buf(second, sizeof second);
    tu_node_open(&o, f->dir, "office");
    make_office(&o, "Home");
    proto_body_init(&b, PROTO_KIND_MEMBER);
    memcpy(b.key, second, 32);
    b.has_key = true;
    b.name = (char *)"Home laptop";
    b.role = (char *)"office";
    OK(store_log_append(o.db, o.rd, o.id, &b, T0 + 1, &ap));
    assert_int_equal(member(&o, second).state, STORE_MEMBER_OFFICE);
    tu_raw_exec(o.path, "UPDATE members SET revoked_after = 0");
    assert_int_equal(member(&o, o.id->pk).state, STORE_MEMBER_OFFICE);
    assert_int_equal(member(&o, second).state, STORE_MEMBER_REVOKED);
    /* a pending join, but the office key is gone: nobody is admitted */
    tu_node w;
    proto_invite inv;
    store_joined j;
    tu_node_open(&w, f->dir, "worker");
    make_worker(&w, "Ann", "Acme");
    invite(&o, "Ann", "Acme", &inv);
    OK(store_member_join(w.db, w.rd, w.id, &inv, T0 + 2, &j));
    copy_log(&w, &o, w.id->pk);
    tu_raw_exec(o.path, "DELETE FROM meta WHERE k = 'office_key'");
    assert_int_equal(admit(&o, T0 + 3), 0);
    assert_int_equal(pending(&o), 1);
    tu_node_close(&w);
    tu_node_close(&o);
}

int
main(void)
{
    if (sodium_init() < 0)
        return 1;
    randombytes_buf(netkey, sizeof netkey);
#define T(fn) cmocka_unit_test_setup_teardown(fn, tu_setup, tu_teardown)
    const struct CMUnitTest tests[] = {
        T(join_writes_entry_meta_and_peers),
        T(admission_end_to_end),
        T(reused_token_refused),
        T(copied_proof_refused),
        T(non_office_admits_nothing),
        T(claimed_invite_retry),
        T(only_office_entries_count),
        T(revoked_author_refused),
        T(withheld_revoke_body_filled_in_later),
        T(member_get_unknown),
        T(join_self_refused_and_second_invitation),
        T(office_states),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
