/*
 * cmd_erase.c — `outpost erase AUTHOR SEQ` (SPEC §5 kind 10, TESTING C15): the right to
 * erasure in an append-only signed log.
 *
 * Writes an erase entry {re: [AUTHOR, SEQ]} into this node's log (plaintext, so that relays
 * act on it too) and applies it here at once: the body of that entry and what was projected
 * from it are deleted, the envelope and its hash stay, so every chain still verifies
 * (store/erase.h). Each node the erase entry reaches does the same, and refuses the body if it
 * is offered again. Allowed to the entry's author and to the office, for a member's records
 * only (not for membership, key, join, receipt or erase entries, which every node needs).
 */
#include <stdio.h>
#include <string.h>

#include "proto/seal.h"
#include "store/erase.h"
#include "store/log.h"
#include "tools/cli.h"

static const char help[] =
    "usage: outpost erase AUTHOR SEQ [--dir DIR] [--json]\n"
    "\n"
    "Erase the body of one record (a check-in, a KPI definition or value, feedback, a\n"
    "contact): its content is deleted here and on every node the erasure reaches, which also\n"
    "refuse it if it is offered again. What stays is the signed envelope (who, which seq,\n"
    "when, which kind, and the hash of the body), so every log still verifies.\n"
    "Only the record's author, or the office, can erase it. It cannot be undone.\n"
    "\n"
    "  AUTHOR   the author's key (44 characters of base64, as 'outpost log --json' shows),\n"
    "           or 'me' for this node\n"
    "  SEQ      the entry's seq in the author's log\n"
    "\n"
    "--json prints {author, seq, kind, erase_seq, already}; already is true (and nothing is\n"
    "written) when the entry was erased before. Exit 2, nothing written: not the author or the\n"
    "office, no such entry here, or an entry of a kind that cannot be erased.\n";

typedef struct done_args {
    uint8_t author[PROTO_KEY_BYTES];
    int64_t seq, erase_seq;
    const char *kind;
    bool already;
} done_args;

static void
bind_done(sqlite3_stmt *st, void *arg)
{
    const done_args *d = arg;
    sqlite3_bind_blob(st, 1, d->author, PROTO_KEY_BYTES, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, d->seq);
    sqlite3_bind_text(st, 3, d->kind, -1, SQLITE_STATIC);
    if (d->erase_seq)
        sqlite3_bind_int64(st, 4, d->erase_seq);
    sqlite3_bind_int(st, 5, d->already);
}

/* The held entry (author, seq): *kind 0 when not held; *erased when a tombstone exists. */
static op_err
look_up(store_db *db, const uint8_t author[PROTO_KEY_BYTES], int64_t seq, uint64_t *kind,
        bool *erased)
{
    sqlite3_stmt *st;
    op_err r;
    *kind = 0;
    *erased = false;
    if ((r = store_db_stmt(db,
                           "SELECT (SELECT e.kind FROM entries e WHERE e.id = (a.id << 32) | ?2),"
                           " EXISTS (SELECT 1 FROM erased x WHERE x.author = a.id AND x.seq = ?2)"
                           " FROM authors a WHERE a.key = ?1",
                           &st)) != OP_OK)
        return r;
    sqlite3_bind_blob(st, 1, author, PROTO_KEY_BYTES, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, seq);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *kind = (uint64_t)sqlite3_column_int64(st, 0);
        *erased = sqlite3_column_int(st, 1) != 0;
        rc = SQLITE_DONE;
    }
    sqlite3_reset(st);
    return store_db_code(rc);
}

int
cli_erase_main(cli_ctx *c, int argc, char **argv)
{
    static const struct option opts[] = {CLI_COMMON_OPTS, {0}};
    char text[PROTO_KEY_TEXT_BYTES], echo[CLI_ECHO_BYTES];
    uint8_t office[PROTO_KEY_BYTES];
    done_args d = {0};
    bool me = false, erased;
    store_appended ap;
    uint64_t kind;
    proto_body b;
    cli_node n;
    long seq;
    int opt, code, olen = 0;
    op_err r;

    while ((opt = getopt_long(argc, argv, ":", opts, NULL)) != -1)
        if ((code = cli_common_opt(c, opt, help, argv)) >= 0)
            return code;
    if (argc - optind != 2)
        return cli_usage(c, "erase takes two arguments, AUTHOR and SEQ (got %d)", argc - optind);
    if (strcmp(argv[optind], "me") == 0)
        me = true;
    else if (proto_key_from_text(argv[optind], d.author) != OP_OK)
        return cli_usage(c, "AUTHOR must be a key (44 characters of base64) or 'me', not '%s'",
                         cli_echo(argv[optind], echo));
    if (!cli_parse_int(argv[optind + 1], 1, (long)STORE_SEQ_MAX, &seq))
        return cli_usage(c, "SEQ must be a whole number from 1 to %lu, not '%s'",
                         (unsigned long)STORE_SEQ_MAX, cli_echo(argv[optind + 1], echo));
    d.seq = seq;
    if ((code = cli_node_open(c, &n)) != CLI_OK)
        return code;
    proto_body_init(&b, PROTO_KIND_ERASE);
    if (me)
        memcpy(d.author, n.id->pk, PROTO_KEY_BYTES);
    proto_key_to_text(d.author, text);
    r = store_db_meta_get(n.db, "office_key", office, sizeof office, &olen);
    if (r != OP_OK && r != OP_E_NOTFOUND) {
        code = cli_fail_err(c, r, "cannot read the database");
        goto out;
    }
    bool is_office =
        r == OP_OK && olen == PROTO_KEY_BYTES && memcmp(office, n.id->pk, PROTO_KEY_BYTES) == 0;
    if (!is_office && memcmp(d.author, n.id->pk, PROTO_KEY_BYTES) != 0) {
        code = cli_usage(c,
                         "only the author of an entry, or the office, can erase it; %s is "
                         "another node's key (nothing was written)",
                         text);
        goto out;
    }
    if ((r = look_up(n.db, d.author, d.seq, &kind, &erased)) != OP_OK) {
        code = cli_fail_err(c, r, "cannot read the database");
        goto out;
    }
    if (kind == 0) {
        code = cli_usage(c,
                         "no entry %s:%ld is held here; 'outpost log --author %s' lists that "
                         "author's entries (nothing was written)",
                         text, seq, text);
        goto out;
    }
    const char *kname = proto_kind_name(kind);
    d.kind = kname ? kname : "unknown";
    if (!store_erase_kind_ok(kind)) {
        code = cli_usage(c,
                         "entry %s:%ld is a %s entry, which cannot be erased: every node "
                         "needs it to read and check the logs (nothing was written)",
                         text, seq, d.kind);
        goto out;
    }
    if (erased) {
        d.already = true;
        if (!c->json)
            printf("Entry %s:%ld (%s) was erased already; nothing to do.\n", text, seq, d.kind);
    } else {
        memcpy(b.re.author, d.author, PROTO_KEY_BYTES);
        b.re.seq = (uint64_t)seq;
        b.has_re = true;
        if ((r = store_log_append(n.db, n.rd, n.id, &b, c->now_ms, &ap)) != OP_OK) {
            code = cli_fail_err(c, r, "not erased");
            goto out;
        }
        d.erase_seq = (int64_t)ap.seq;
        OP_IGNORE(cli_agent_call(c->dir, "nudge")); /* a running agent spreads it now */
        if (!c->json)
            printf("Erased the body of entry %s:%ld (%s) here; erase entry %lld spreads it to "
                   "every node.\n",
                   text, seq, d.kind, (long long)ap.seq);
    }
    code = CLI_OK;
    if (c->json)
        code = cli_print_json(c, &n,
                              "SELECT json_object('author', b64(?1), 'seq', ?2, 'kind', ?3,"
                              " 'erase_seq', ?4, 'already', json(CASE ?5 WHEN 1 THEN 'true'"
                              " ELSE 'false' END))",
                              bind_done, &d);
out:
    proto_body_fini(&b);
    cli_node_close(&n);
    return code;
}
