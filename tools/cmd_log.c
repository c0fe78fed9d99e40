/* cmd_log.c — `outpost log`: entries newest first, with their bodies where this node can read
 * them (from the projections; a relay shows "encrypted"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proto/seal.h"
#include "tools/cli.h"

static const char help[] =
    "usage: outpost log [--author KEY] [--kind KIND] [--limit N] [--dir DIR] [--json]\n"
    "\n"
    "Show the entries this node holds, newest first (in the order they reached this node):\n"
    "its own and those it received.\n"
    "Bodies are shown where this node can read them; others are encrypted.\n"
    "\n"
    "  --author KEY   only entries written by this key (base64, as 'outpost status' shows)\n"
    "  --kind KIND    only this kind: checkin, kpi_def, kpi_value, key, ...\n"
    "  --limit N      at most N entries (default 20 on a terminal, all otherwise; 0 = all)\n";

/* The body as JSON, from the projections; NULL where this node cannot read it. */
#define BODY_JSON                                                                                  \
    "CASE e.kind"                                                                                  \
    " WHEN 1 THEN (SELECT json_object('delivering', json(CASE c.delivering WHEN 1 THEN 'true'"     \
    "   WHEN 0 THEN 'false' END), 'thriving', json(CASE c.thriving WHEN 1 THEN 'true' WHEN 0"      \
    "   THEN 'false' END), 'support', json(CASE c.support WHEN 1 THEN 'true' WHEN 0 THEN"          \
    "   'false' END), 'energy', c.energy, 'note', c.note, 'blockers', c.blockers,"                 \
    "   'wins', c.wins, 'site', c.site) FROM checkins c WHERE c.id = e.id)"                        \
    " WHEN 2 THEN (SELECT json_object('id', d.kpi, 'title', d.title, 'unit', d.unit,"             \
    "   'target', d.target, 'direction', d.direction, 'period', d.period,"                         \
    "   'for', b64(d.for_key)) FROM kpi_defs d WHERE d.id = e.id)"                                 \
    " WHEN 3 THEN (SELECT json_object('id', v.kpi, 'value', v.value, 'at', v.at,"                  \
    "   'note', v.note) FROM kpi_values v WHERE v.id = e.id)"                                      \
    " WHEN 4 THEN (SELECT json_object('to', b64(f.to_key), 'text', f.text, 're', json(CASE"        \
    "   WHEN f.re_author IS NOT NULL THEN json_object('author', b64(f.re_author), 'seq',"          \
    "   f.re_seq) END)) FROM feedback f WHERE f.id = e.id)"                                        \
    " WHEN 5 THEN (SELECT json_object('with', b64(c.with_key), 'topic', c.topic, 'note', c.note)"  \
    "   FROM contacts c WHERE c.id = e.id)"                                                        \
    " WHEN 8 THEN (SELECT json_object('epoch', k.epoch) FROM key_entries k"                        \
    "   WHERE k.author = e.author AND k.seq = e.seq)"                                              \
    " WHEN 6 THEN json_object('key', plain_field(e.body, 6, 'key'), 'name',"                       \
    "   plain_field(e.body, 6, 'name'), 'site', plain_field(e.body, 6, 'site'), 'role',"          \
    "   plain_field(e.body, 6, 'role'))"                                                           \
    " WHEN 7 THEN json_object('key', plain_field(e.body, 7, 'key'), 'after_seq',"                  \
    "   plain_field(e.body, 7, 'after_seq'))"                                                      \
    " WHEN 11 THEN json_object('name', plain_field(e.body, 11, 'name'), 'site',"                   \
    "   plain_field(e.body, 11, 'site'))"                                                          \
    " WHEN 12 THEN json_object('heads', plain_field(e.body, 12, 'heads'))"                         \
    " WHEN 10 THEN json_object('re', json_object('author', plain_field(e.body, 10, 're_author'),"  \
    "   'seq', plain_field(e.body, 10, 're_seq')))"                                                \
    " END"

/*
 * Filters: ?1 author key or NULL, ?2 kind or NULL, ?3 limit (-1 = all). Newest first: by the
 * index on received time, from the top, for everyone; for one author, its own id range
 * backwards (one author's entries are stored in seq order, so that is the same order). Only
 * one of the two halves has rows; the other is ruled out before it reads any.
 */
#define SELECTED                                                                                   \
    "SELECT * FROM (SELECT e.*, a.key AS akey FROM entries e JOIN authors a ON a.id = e.author"    \
    "  WHERE ?1 IS NULL AND (?2 IS NULL OR e.kind = ?2)"                                           \
    "  ORDER BY e.received DESC, e.id DESC LIMIT ?3)"                                              \
    " UNION ALL SELECT * FROM (SELECT e.*, a.key AS akey FROM authors a JOIN entries e"            \
    "  ON e.id BETWEEN a.id << 32 AND (a.id << 32) | 0xffffffff"                                   \
    "  WHERE a.key = ?1 AND (?2 IS NULL OR e.kind = ?2) ORDER BY e.id DESC LIMIT ?3)"

typedef struct filter {
    uint8_t key[PROTO_KEY_BYTES];
    bool has_key;
    int64_t kind, limit;
} filter;

static void
bind_filter(sqlite3_stmt *st, void *arg)
{
    const filter *f = arg;
    if (f->has_key)
        sqlite3_bind_blob(st, 1, f->key, PROTO_KEY_BYTES, SQLITE_STATIC);
    if (f->kind)
        sqlite3_bind_int64(st, 2, f->kind);
    sqlite3_bind_int64(st, 3, f->limit);
}

/* A one-line summary of the entry at the statement's row. */
static void
summary(sqlite3_stmt *st, char *buf, size_t n)
{
    int kind = sqlite3_column_int(st, 2);
    const char *j = (const char *)sqlite3_column_text(st, 4);
    buf[0] = '\0';
    if (!j) {
        const char *plain = (const char *)sqlite3_column_text(st, 5);
        snprintf(buf, n, "%s", plain                     ? plain
                               : sqlite3_column_int(st, 6) ? "(erased: the body was deleted)"
                               : kind == 8                 ? ""
                                                           : "(encrypted: not readable on this node)");
        return;
    }
    snprintf(buf, n, "%s", (const char *)sqlite3_column_text(st, 5));
}

int
cli_log_main(cli_ctx *c, int argc, char **argv)
{
    static const struct option opts[] = {
        {"author", required_argument, NULL, 'a'},
        {"kind", required_argument, NULL, 'k'},
        {"limit", required_argument, NULL, 'l'},
        CLI_COMMON_OPTS,
        {0},
    };
    filter f = {.limit = -1};
    bool limit_given = false;
    cli_node n;
    int opt, code;
    long v;

    while ((opt = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        switch (opt) {
        case 'a':
            if (proto_key_from_text(optarg, f.key) != OP_OK)
                return cli_usage(c, "--author needs a key (44 characters of base64), not '%s'",
                                 optarg);
            f.has_key = true;
            break;
        case 'k':
            if (!(f.kind = (int64_t)proto_kind_from_name(optarg))) {
                if (!cli_parse_int(optarg, 1, 1000000, &v))
                    return cli_usage(c, "--kind must be checkin, kpi_def, kpi_value, feedback, "
                                        "contact, member, revoke, key, correct, erase, join, "
                                        "receipt or a number; not '%s'", optarg);
                f.kind = v;
            }
            break;
        case 'l':
            if (!cli_parse_int(optarg, 0, 1000000000, &v))
                return cli_usage(c, "--limit must be a whole number >= 0, not '%s'", optarg);
            f.limit = v ? v : -1;
            limit_given = true;
            break;
        default:
            if ((code = cli_common_opt(c, opt, help, argv)) >= 0)
                return code;
        }
    }
    if (optind < argc)
        return cli_usage(c, "unexpected argument '%s'", argv[optind]);
    if (!limit_given && !c->json && isatty(STDOUT_FILENO))
        f.limit = 20;
    if ((code = cli_node_open(c, &n)) != CLI_OK)
        return code;
    if (c->json) {
        code = cli_print_json(c, &n,
                              "SELECT coalesce(json_group_array(json_object('author', b64(akey),"
                              " 'seq', seq, 'kind', coalesce(CASE kind WHEN 1 THEN 'checkin'"
                              " WHEN 2 THEN 'kpi_def' WHEN 3 THEN 'kpi_value' WHEN 4 THEN"
                              " 'feedback' WHEN 5 THEN 'contact' WHEN 6 THEN 'member' WHEN 7"
                              " THEN 'revoke' WHEN 8 THEN 'key' WHEN 9 THEN 'correct' WHEN 10"
                              " THEN 'erase' WHEN 11 THEN 'join' WHEN 12 THEN 'receipt' END,"
                              " kind), 'ts', strftime('%Y-%m-%dT%H:%M:%fZ', ts / 1000.0,"
                              " 'unixepoch'), 'body', json(body))), '[]') FROM (SELECT"
                              " e.akey, e.seq, e.kind, e.ts, " BODY_JSON " AS body FROM"
                              " (" SELECTED ") e)",
                              bind_filter, &f);
        cli_node_close(&n);
        return code;
    }
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(
        store_db_handle(n.db),
        "SELECT " CLI_NAME_OF("e.akey") ", e.seq, e.kind, strftime('%Y-%m-%d %H:%M', e.ts / 1000,"
        " 'unixepoch'), " BODY_JSON " AS body,"
        " CASE e.kind"
        "  WHEN 1 THEN (SELECT substr("
        "   coalesce(', delivering ' || CASE c.delivering WHEN 1 THEN 'yes' WHEN 0 THEN 'no' END,"
        "    '') || coalesce(', thriving ' || CASE c.thriving WHEN 1 THEN 'yes' WHEN 0 THEN 'no'"
        "    END, '') || coalesce(', support ' || CASE c.support WHEN 1 THEN 'yes' WHEN 0 THEN"
        "    'no' END, '') || coalesce(', energy ' || c.energy, '') || coalesce(': ' || c.note,"
        "    ''), 3) FROM checkins c WHERE c.id = e.id)"
        "  WHEN 2 THEN (SELECT d.kpi || ': ' || CASE d.direction WHEN 'at_most' THEN 'at most '"
        "   ELSE 'at least ' END || printf('%g', d.target) || coalesce(' ' || d.unit, '') || ' per ' ||"
        "   d.period FROM kpi_defs d WHERE d.id = e.id)"
        "  WHEN 3 THEN (SELECT v.kpi || ' = ' || printf('%g', v.value) || ' for ' || v.at ||"
        "   coalesce(': ' || v.note, '') FROM kpi_values v WHERE v.id = e.id)"
        "  WHEN 4 THEN (SELECT 'to ' || " CLI_NAME_OF("f.to_key") " || ': ' || f.text"
        "   FROM feedback f WHERE f.id = e.id)"
        "  WHEN 5 THEN (SELECT 'with ' || " CLI_NAME_OF("c.with_key") " || ' about ' || c.topic ||"
        "   coalesce(': ' || c.note, '') FROM contacts c WHERE c.id = e.id)"
        "  WHEN 8 THEN (SELECT 'epoch ' || k.epoch || ' key for the readers'"
        "   FROM key_entries k WHERE k.author = e.author AND k.seq = e.seq)"
        "  WHEN 6 THEN 'admits ' || plain_field(e.body, 6, 'name') || ' as ' ||"
        "   plain_field(e.body, 6, 'role')"
        "  WHEN 7 THEN 'revokes ' || substr(plain_field(e.body, 7, 'key'), 1, 8) ||"
        "   ' after seq ' || plain_field(e.body, 7, 'after_seq')"
        "  WHEN 11 THEN 'asks to join as ' || plain_field(e.body, 11, 'name')"
        "  WHEN 12 THEN 'holds ' || plain_field(e.body, 12, 'heads') || ' logs up to date'"
        "  WHEN 10 THEN 'erases the body of ' || substr(plain_field(e.body, 10, 're_author'), 1,"
        "   8) || ':' || plain_field(e.body, 10, 're_seq')"
        " END, EXISTS (SELECT 1 FROM erased x WHERE x.author = e.author AND x.seq = e.seq)"
        " FROM (" SELECTED ") e",
        -1, &st, NULL);
    if (rc != SQLITE_OK) {
        code = cli_fail(c, CLI_FAIL, "query failed: %s", store_db_errmsg(n.db));
        cli_node_close(&n);
        return code;
    }
    bind_filter(st, &f);
    static const char *const heads[] = {"WHEN (UTC)", "AUTHOR", "SEQ", "KIND", "WHAT"};
    static const int widths[] = {16, 14, 6, 9, 0};
    cli_table *t = cli_table_new(5, heads, widths);
    while (sqlite3_step(st) == SQLITE_ROW) {
        char seq[24], what[512];
        const char *kname = proto_kind_name((uint64_t)sqlite3_column_int64(st, 2));
        snprintf(seq, sizeof seq, "%lld", (long long)sqlite3_column_int64(st, 1));
        summary(st, what, sizeof what);
        const char *cells[5] = {(const char *)sqlite3_column_text(st, 3),
                                (const char *)sqlite3_column_text(st, 0), seq,
                                kname ? kname : "unknown", what};
        cli_table_add(t, cells);
    }
    sqlite3_finalize(st);
    cli_table_done(t, "No entries yet. Record one with 'outpost checkin'.");
    cli_node_close(&n);
    return CLI_OK;
}
