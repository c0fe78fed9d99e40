/*
 * view_test.c — store/view.c's rebuild: store_view_reindex reproduces every projection
 * (checkins, kpi_defs, kpi_values, feedback, contacts, key_entries, joins, members) exactly, on
 * the office, on a worker and on a relay of a real team (invite, join, admission, runs copied
 * with store_log_read + store_log_ingest); rows deleted by hand come back; store_view_ensure
 * rebuilds views of another (or no) view_version and leaves current ones alone; bodies this node
 * cannot read (not sealed to it, damaged ciphertext, no reader at all) are skipped, not errors;
 * a damaged envelope fails the rebuild and leaves the views as they were.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <stdint.h>

#include "proto/invite.h"
#include "store/member.h"
#include "store/view.h"
#include "store_test_util.h"

static const char *const views[] = {"checkins", "kpi_defs",    "kpi_values", "feedback",
                                    "contacts", "key_entries", "joins",      "members"};
#define N_VIEWS (sizeof views / sizeof views[0])

/* ---- helpers ----------------------------------------------------------------------------- */

/* Every row of every view, each value typed and quoted, in a fixed order. Caller frees. */
static char *
dump_views(store_db *db)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    for (size_t t = 0; t < N_VIEWS; t++) {
        char sql[128];
        sqlite3_stmt *st;
        snprintf(sql, sizeof sql, "SELECT * FROM %s ORDER BY 1, 2, 3", views[t]);
        assert_int_equal(sqlite3_prepare_v2(store_db_handle(db), sql, -1, &st, NULL), SQLITE_OK);
        fprintf(f, "[%s]\n", views[t]);
        while (sqlite3_step(st) == SQLITE_ROW) {
            for (int i = 0; i < sqlite3_column_count(st); i++) {
                switch (sqlite3_column_type(st, i)) {
                case SQLITE_INTEGER:
                    fprintf(f, "i%lld ", (long long)sqlite3_column_int64(st, i));
                    break;
                case SQLITE_FLOAT:
                    fprintf(f, "f%.17g ", sqlite3_column_double(st, i));
                    break;
                case SQLITE_TEXT:
                    fprintf(f, "t'%s' ", (const char *)sqlite3_column_text(st, i));
                    break;
                case SQLITE_BLOB: {
                    const uint8_t *b = sqlite3_column_blob(st, i);
                    fputc('x', f);
                    for (int k = 0; k < sqlite3_column_bytes(st, i); k++)
                        fprintf(f, "%02x", b[k]);
                    fputc(' ', f);
                    break;
                }
                default:
                    fputs("null ", f);
                }
            }
            fputc('\n', f);
        }
        sqlite3_finalize(st);
    }
    assert_int_equal(fclose(f), 0);
    return text;
}

static int64_t
rows(tu_node *n, const char *table)
{
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM %s", table);
    return tu_int(n->db, sql);
}

static void
exec(tu_node *n, const char *sql)
{
    OK(store_db_exec(n->db, sql));
}

typedef struct calls {
    int n;
    uint64_t done, total;
} calls;

static void
on_progress(void *ctx, uint64_t done, uint64_t total)
{
    calls *c = ctx;
    assert_true(done >= c->done); /* never goes back */
    c->n++;
    c->done = done;
    c->total = total;
}

/* Rebuilds n's views and checks that they come out as `want` and that every entry was replayed,
 * with the last progress call at done == total. */
static void
reindex_and_compare(tu_node *n, const char *want)
{
    calls c = {0};
    uint64_t entries = 99;
    OK(store_view_reindex(n->db, n->rd, on_progress, &c, &entries));
    assert_int_equal(entries, tu_int(n->db, "SELECT count(*) FROM entries"));
    assert_true(c.n >= 1);
    assert_int_equal(c.done, entries);
    assert_int_equal(c.total, entries);
    char *got = dump_views(n->db);
    assert_string_equal(got, want);
    free(got);
}

static uint8_t netkey[PROTO_NETKEY_BYTES];

/* An office (meta as `outpost init --office` writes it, and its member entry). */
static void
make_office(tu_node *n)
{
    proto_body b;
    store_appended ap;
    OK(store_db_meta_put_text(n->db, "role", "office"));
    OK(store_db_meta_put_text(n->db, "name", "Home"));
    OK(store_db_meta_put_blob(n->db, "office_key", n->id->pk, PROTO_KEY_BYTES));
    proto_body_init(&b, PROTO_KIND_MEMBER);
    memcpy(b.key, n->id->pk, PROTO_KEY_BYTES);
    b.has_key = true;
    b.name = (char *)"Home";
    b.role = (char *)"office";
    OK(store_log_append(n->db, n->rd, n->id, &b, T0, &ap));
}

static void
kpi_def(tu_node *n, const char *id, const char *unit, const char *aggregate, uint64_t ts)
{
    proto_body b;
    store_appended ap;
    proto_body_init(&b, PROTO_KIND_KPI_DEF);
    b.id = (char *)id; /* borrowed: not fini'd */
    b.unit = (char *)unit;
    b.aggregate = (char *)aggregate;
    b.target = 3;
    b.direction = (char *)"at_least";
    b.period = (char *)"week";
    OK(store_log_append(n->db, n->rd, n->id, &b, ts, &ap));
}

static void
kpi_value(tu_node *n, const char *id, double value, const char *at, uint64_t ts)
{
    proto_body b;
    store_appended ap;
    proto_body_init(&b, PROTO_KIND_KPI_VALUE);
    b.id = (char *)id;
    b.value = value;
    b.at = (char *)at;
    b.note = (char *)"ø";
    OK(store_log_append(n->db, n->rd, n->id, &b, ts, &ap));
}

/* A team: office o admits worker w (invite, join, admission); both write check-ins, KPIs,
 * feedback and a contact; relay r (knows the office, reads nothing sealed) holds both logs. */
typedef struct team {
    tu_node o, w, r;
} team;

static void
team_open(team *t, const char *dir)
{
    proto_invite inv;
    store_joined j;
    size_t admitted;
    proto_body b;
    store_appended ap;

    tu_node_open(&t->o, dir, "office");
    tu_node_open(&t->w, dir, "worker");
    tu_node_open(&t->r, dir, "relay");
    make_office(&t->o);
    OK(store_db_meta_put_text(t->w.db, "role", "worker"));
    OK(store_db_meta_put_text(t->w.db, "name", "Ann"));
    OK(store_db_meta_put_text(t->w.db, "site", "Acme"));
    OK(store_db_meta_put_text(t->r.db, "role", "worker"));
    OK(store_db_meta_put_blob(t->r.db, "office_key", t->o.id->pk, PROTO_KEY_BYTES));

    memset(&inv, 0, sizeof inv);
    memcpy(inv.office, t->o.id->pk, PROTO_KEY_BYTES);
    memcpy(inv.netkey, netkey, sizeof netkey);
    randombytes_buf(inv.token, sizeof inv.token);
    strcpy(inv.addrs[0], "office.example.org:7420");
    inv.n_addrs = 1;
    OK(store_member_invite_add(t->o.db, inv.token, "Ann Larsen", "Client A", T0));
    OK(store_member_join(t->w.db, t->w.rd, t->w.id, &inv, T0 + 10, &j));
    proto_invite_wipe(&inv);

    /* the worker's entries, sealed to itself and the office */
    tu_checkins(&t->w, "week one ", 3, T0 + 100);
    kpi_def(&t->w, "csat", "%", NULL, T0 + 200);       /* mean, by unit */
    kpi_def(&t->w, "backlog", NULL, "last", T0 + 201); /* as given */
    kpi_value(&t->w, "csat", 80, "2026-11-24", T0 + 300);
    kpi_value(&t->w, "csat", 95.5, "2026-11-25", T0 + 301);
    kpi_value(&t->w, "backlog", -3, "2026-11-01", T0 + 302); /* backdated */
    kpi_value(&t->w, "undefined", 1e15, "2026-11-25", T0 + 303);

    OK(tu_copy(&t->w, &t->o, t->w.id->pk, 1, 100000, NULL, NULL));
    OK(store_member_admit_pending(t->o.db, t->o.rd, t->o.id, T0 + 1000, &admitted));
    assert_int_equal(admitted, 1);

    /* the office's: a KPI for everyone, feedback to the worker, a contact with it */
    kpi_def(&t->o, "articles", "articles", NULL, T0 + 1100);
    proto_body_init(&b, PROTO_KIND_FEEDBACK);
    memcpy(b.who, t->w.id->pk, PROTO_KEY_BYTES);
    b.has_who = true;
    b.text = (char *)"well done";
    OK(store_log_append_to(t->o.db, t->o.rd, t->o.id, &b, t->w.id->pk, T0 + 1200, &ap));
    proto_body_init(&b, PROTO_KIND_CONTACT);
    memcpy(b.who, t->w.id->pk, PROTO_KEY_BYTES);
    b.has_who = true;
    b.topic = (char *)"wellbeing";
    b.note = (char *)"call on Monday";
    OK(store_log_append(t->o.db, t->o.rd, t->o.id, &b, T0 + 1300, &ap));

    OK(tu_copy(&t->o, &t->w, t->o.id->pk, 1, 100000, NULL, NULL));
    OK(tu_copy(&t->o, &t->r, t->o.id->pk, 1, 100000, NULL, NULL));
    OK(tu_copy(&t->w, &t->r, t->w.id->pk, 1, 100000, NULL, NULL));
}

static void
team_close(team *t)
{
    tu_node_close(&t->r);
    tu_node_close(&t->w);
    tu_node_close(&t->o);
}

/* ---- tests ------------------------------------------------------------------------------- */

static void
reindex_reproduces_every_view(void **state)
{
    tu_fixture *f = *state;
    team t;
    team_open(&t, f->dir);
    /* the office reads everything: every view has rows, so the comparison means something */
    for (size_t i = 0; i < N_VIEWS; i++)
        if (rows(&t.o, views[i]) == 0)
            fail_msg("the office's %s is empty", views[i]);
    assert_int_equal(tu_int(t.o.db, "SELECT count(*) FROM kpi_defs WHERE kpi = 'csat'"
                                    " AND aggregate = 'mean'"),
                     1);
    tu_node *nodes[] = {&t.o, &t.w, &t.r};
    for (size_t i = 0; i < 3; i++) {
        char *before = dump_views(nodes[i]->db);
        reindex_and_compare(nodes[i], before);
        reindex_and_compare(nodes[i], before); /* and again: idempotent */
        /* a fresh reader (nothing cached) makes the same views */
        store_reader_free(nodes[i]->rd);
        OK(store_reader_new(nodes[i]->id, &nodes[i]->rd));
        reindex_and_compare(nodes[i], before);
        free(before);
    }
    team_close(&t);
}

static void
deleted_and_damaged_rows_come_back(void **state)
{
    tu_fixture *f = *state;
    team t;
    team_open(&t, f->dir);
    char *before = dump_views(t.o.db);
    for (size_t i = 0; i < N_VIEWS; i++) {
        char sql[64];
        snprintf(sql, sizeof sql, "DELETE FROM %s", views[i]);
        tu_raw_exec(t.o.path, sql); /* as another process would */
    }
    assert_int_equal(rows(&t.o, "members"), 0);
    reindex_and_compare(&t.o, before);
    exec(&t.o, "UPDATE kpi_values SET value = 0; UPDATE members SET name = 'Mallory';"
               "UPDATE kpi_defs SET aggregate = 'sum';"
               "INSERT INTO checkins(id, author, seq) VALUES(12345, 1, 999)");
    reindex_and_compare(&t.o, before);
    /* what is not a view is kept: acks, inbox marks, own epochs, meta */
    exec(&t.o, "INSERT INTO acks(peer, author, seq, at) VALUES(x'01', 1, 7, 8);"
               "INSERT INTO inbox_read(id, at) VALUES(42, 43)");
    int64_t own = rows(&t.o, "own_epochs"), meta = rows(&t.o, "meta");
    reindex_and_compare(&t.o, before);
    assert_int_equal(tu_int(t.o.db, "SELECT seq FROM acks WHERE peer = x'01'"), 7);
    assert_int_equal(rows(&t.o, "inbox_read"), 1);
    assert_int_equal(rows(&t.o, "own_epochs"), own);
    assert_int_equal(rows(&t.o, "meta"), meta);
    free(before);
    team_close(&t);
}

static void
ensure_rebuilds_other_versions_only(void **state)
{
    tu_fixture *f = *state;
    team t;
    bool rebuilt = true;
    team_open(&t, f->dir);
    char *before = dump_views(t.w.db);
    char version[16];
    /* never stamped (a store made here, not by `outpost init`): rebuilt, then stamped */
    EXPECT(OP_E_NOTFOUND, store_db_meta_get(t.w.db, "view_version", version, sizeof version, NULL));
    OK(store_view_ensure(t.w.db, t.w.rd, &rebuilt));
    assert_true(rebuilt);
    OK(store_db_meta_get(t.w.db, "view_version", version, sizeof version, NULL));
    assert_int_equal(atoi(version), STORE_VIEW_VERSION);
    char *got = dump_views(t.w.db);
    assert_string_equal(got, before);
    free(got);

    /* current: nothing is done, even to rows deleted by hand */
    exec(&t.w, "DELETE FROM kpi_values");
    OK(store_view_ensure(t.w.db, t.w.rd, &rebuilt));
    assert_false(rebuilt);
    assert_int_equal(rows(&t.w, "kpi_values"), 0);

    /* an older version (views made by an older outpost), a newer one, none at all */
    static const char *const stale[] = {
        "UPDATE meta SET v = '0' WHERE k = 'view_version'",
        "UPDATE meta SET v = '9999' WHERE k = 'view_version'",
        "UPDATE meta SET v = 'x' WHERE k = 'view_version'",
        "DELETE FROM meta WHERE k = 'view_version'",
    };
    for (size_t i = 0; i < sizeof stale / sizeof stale[0]; i++) {
        exec(&t.w, "DELETE FROM kpi_values; DELETE FROM members; DELETE FROM key_entries");
        exec(&t.w, stale[i]);
        rebuilt = false;
        OK(store_view_ensure(t.w.db, t.w.rd, &rebuilt));
        assert_true(rebuilt);
        char *got = dump_views(t.w.db);
        assert_string_equal(got, before);
        free(got);
        OK(store_db_meta_get(t.w.db, "view_version", version, sizeof version, NULL));
        assert_int_equal(atoi(version), STORE_VIEW_VERSION);
        OK(store_view_ensure(t.w.db, t.w.rd, &rebuilt));
        assert_false(rebuilt);
    }
    /* and when the store is reopened, as the CLI and the agent do */
    exec(&t.w, "DELETE FROM checkins; UPDATE meta SET v = '0' WHERE k = 'view_version'");
    tu_node_close_db(&t.w);
    tu_node_reopen_db(&t.w);
    OK(store_view_ensure(t.w.db, t.w.rd, &rebuilt));
    assert_true(rebuilt);
    got = dump_views(t.w.db);
    assert_string_equal(got, before);
    free(got);
    free(before);
    team_close(&t);
}

static void
unreadable_bodies_are_skipped(void **state)
{
    tu_fixture *f = *state;
    team t;
    team_open(&t, f->dir);

    /* the relay: sealed bodies are not its to read; plaintext ones (member, join, the
     * office's KPI definitions) and the key entries are */
    char *before = dump_views(t.r.db);
    reindex_and_compare(&t.r, before);
    free(before);
    assert_int_equal(rows(&t.r, "checkins"), 0);
    assert_int_equal(rows(&t.r, "kpi_defs"), 1); /* the office's; not the worker's two */
    assert_int_equal(tu_int(t.r.db, "SELECT count(*) FROM kpi_defs WHERE kpi = 'articles'"), 1);
    assert_int_equal(rows(&t.r, "kpi_values"), 0);
    assert_int_equal(rows(&t.r, "feedback"), 0);
    assert_int_equal(rows(&t.r, "contacts"), 0);
    assert_int_equal(rows(&t.r, "key_entries"), 3); /* the worker's; the office's two sets */
    assert_int_equal(rows(&t.r, "joins"), 1);
    assert_int_equal(rows(&t.r, "members"), 2);

    /* the worker reads its own, and the feedback sealed to it; not the leader's contacts */
    assert_int_equal(rows(&t.w, "checkins"), 3);
    assert_int_equal(rows(&t.w, "feedback"), 1);
    assert_int_equal(rows(&t.w, "contacts"), 0);

    /* a body damaged on disk (ciphertext that no longer opens) is skipped, the rest stays */
    int64_t checkins = rows(&t.o, "checkins");
    exec(&t.o, "UPDATE entries SET body = CAST(zeroblob(length(body)) AS BLOB) WHERE id ="
               " (SELECT id FROM checkins ORDER BY id LIMIT 1)");
    OK(store_view_reindex(t.o.db, t.o.rd, NULL, NULL, NULL));
    assert_int_equal(rows(&t.o, "checkins"), checkins - 1);
    assert_int_equal(rows(&t.o, "kpi_values"), 4);

    /* no reader at all: plaintext only */
    uint64_t entries = 0;
    OK(store_view_reindex(t.o.db, NULL, NULL, NULL, &entries));
    assert_int_equal(entries, tu_int(t.o.db, "SELECT count(*) FROM entries"));
    assert_int_equal(rows(&t.o, "checkins"), 0);
    assert_int_equal(rows(&t.o, "kpi_defs"), 1); /* the office's own, plaintext */
    assert_int_equal(rows(&t.o, "members"), 2);
    assert_int_equal(rows(&t.o, "joins"), 1);
    team_close(&t);
}

static void
damaged_envelope_changes_nothing(void **state)
{
    tu_fixture *f = *state;
    team t;
    team_open(&t, f->dir);
    exec(&t.o, "DELETE FROM kpi_values");
    char *before = dump_views(t.o.db);
    exec(&t.o, "UPDATE entries SET envelope = x'93' WHERE id ="
               " (SELECT max(id) FROM entries WHERE seq = 2)");
    uint64_t entries = 99;
    calls c = {0};
    op_err r = store_view_reindex(t.o.db, t.o.rd, on_progress, &c, &entries);
    assert_int_not_equal(r, OP_OK);
    assert_int_equal(entries, 0);
    char *got = dump_views(t.o.db); /* rolled back: not half rebuilt */
    assert_string_equal(got, before);
    free(got);
    free(before);
    assert_int_equal(c.n, 0);
    team_close(&t);
}

int
main(void)
{
    if (sodium_init() < 0)
        return 1;
    randombytes_buf(netkey, sizeof netkey);
#define T(fn) cmocka_unit_test_setup_teardown(fn, tu_setup, tu_teardown)
    const struct CMUnitTest tests[] = {
        T(reindex_reproduces_every_view),       T(deleted_and_damaged_rows_come_back),
        T(ensure_rebuilds_other_versions_only), T(unreadable_bodies_are_skipped),
        T(damaged_envelope_changes_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
