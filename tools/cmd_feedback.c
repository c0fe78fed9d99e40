/*
 * cmd_feedback.c — the loop back to the field (SPEC §5 kind 4, §6, §9): `outpost feedback KEY
 * TEXT` writes feedback from the office to a worker or from a worker to the office (or a
 * colleague), and `outpost inbox` shows the feedback addressed to this node.
 *
 * A feedback body is sealed to three readers only: its author, the office and the addressee
 * (store_log_append_to). Every other node relays the ciphertext without a key to open it, so
 * its feedback projection never holds the text: inbox and log there know nothing of it.
 *
 * Which feedback this node has shown is local state (inbox_read: the entry's row id and when),
 * never replicated: reading on the laptop does not mark anything read at the office.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "proto/seal.h"
#include "store/log.h"
#include "tools/cli.h"

static const char feedback_help[] =
    "usage: outpost feedback KEY TEXT [--re AUTHOR:SEQ] [--dir DIR] [--json]\n"
    "\n"
    "Send feedback to one member: from the office to a worker, from a worker to the office\n"
    "(KEY may be the word 'office'), or to a colleague. It is saved here, signed, before the\n"
    "command returns, and travels with this node's log at the next sync. Only the addressee,\n"
    "the office and you can read it; colleagues who relay it cannot.\n"
    "\n"
    "  KEY               the member's key (44 characters of base64, as 'outpost log --kind\n"
    "                    member' shows), or 'office'\n"
    "  TEXT              what you want to say, up to 4096 bytes (quote it; line breaks kept)\n"
    "  --re AUTHOR:SEQ   the entry it answers: a check-in, or feedback you received\n"
    "                    ('outpost inbox' shows each message's id in this form)\n"
    "\n"
    "--json prints {author, seq, to, ts}.\n";

static const char inbox_help[] =
    "usage: outpost inbox [--all] [--limit N] [--peek] [--mark-read] [--dir DIR] [--json]\n"
    "       outpost inbox --sent [--limit N] [--dir DIR] [--json]\n"
    "\n"
    "Show the feedback addressed to you, newest first: who wrote it, when, what it answers,\n"
    "and its id (AUTHOR:SEQ, for 'outpost feedback KEY TEXT --re ID').\n"
    "\n"
    "Like a mail reader, showing a message marks it read; the next 'outpost inbox' shows only\n"
    "what arrived since. Only the messages shown are marked (not those cut off by --limit).\n"
    "--json only reports: scripts that poll do not consume your unread messages; add\n"
    "--mark-read to mark what it printed. Read marks stay on this node.\n"
    "\n"
    "  --all         also the messages already read (unread ones are flagged 'new')\n"
    "  --limit N     at most N messages (default 20 on a terminal, else all; 0 = all)\n"
    "  --peek        show without marking anything read (also: --keep-unread)\n"
    "  --mark-read   with --json: mark the messages printed as read\n"
    "  --sent        the feedback you sent instead, newest first\n"
    "\n"
    "--json prints [{author, name, seq, ts, text, re, unread}] (re: {author, seq} or null);\n"
    "with --sent [{to, name, seq, ts, text, re}] (name: the addressee's).\n";

/* ---- feedback ---------------------------------------------------------------------------- */

/* The entry just saved, for --json. */
typedef struct saved {
    uint8_t author[PROTO_KEY_BYTES], to[PROTO_KEY_BYTES];
    int64_t seq, ts;
} saved;

static void
bind_saved(sqlite3_stmt *st, void *arg)
{
    const saved *s = arg;
    sqlite3_bind_blob(st, 1, s->author, PROTO_KEY_BYTES, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, s->seq);
    sqlite3_bind_blob(st, 3, s->to, PROTO_KEY_BYTES, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, s->ts);
}

/* Parses --re AUTHOR:SEQ (AUTHOR may be `office`). false if it is not of that form. */
static bool
parse_re(const char *s, cli_key_arg *author, uint64_t *seq)
{
    char key[64];
    long v;
    const char *colon = strrchr(s, ':'); /* base64 has no ':' */
    if (!colon || (size_t)(colon - s) >= sizeof key)
        return false;
    memcpy(key, s, (size_t)(colon - s));
    key[colon - s] = '\0';
    if (!cli_key_arg_parse(key, author) || !cli_parse_int(colon + 1, 1, STORE_SEQ_MAX, &v))
        return false;
    *seq = (uint64_t)v;
    return true;
}

/* Offline-first: the entry answered may not have reached this node yet, so an unknown one is
 * saved as given, with a warning (as `kpi record` does for an unknown KPI). */
static void
warn_unknown_re(const cli_ctx *c, cli_node *n, const proto_body *b)
{
    sqlite3_stmt *st;
    char text[PROTO_KEY_TEXT_BYTES];
    if (store_db_stmt(n->db,
                      "SELECT 1 FROM authors a JOIN entries e ON e.id = (a.id << 32) | ?2"
                      " WHERE a.key = ?1",
                      &st) != OP_OK)
        return; /* only a warning: the feedback is saved either way */
    sqlite3_bind_blob(st, 1, b->re.author, PROTO_KEY_BYTES, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (int64_t)b->re.seq);
    if (sqlite3_step(st) != SQLITE_ROW) {
        proto_key_to_text(b->re.author, text);
        fprintf(stderr, "outpost %s: warning: this node holds no entry %s:%llu; the feedback "
                        "names it anyway\n", c->cmd, text, (unsigned long long)b->re.seq);
    }
    sqlite3_reset(st);
}

int
cli_feedback_main(cli_ctx *c, int argc, char **argv)
{
    static const struct option opts[] = {
        {"re", required_argument, NULL, 'r'},
        CLI_COMMON_OPTS,
        {0},
    };
    char why[128], to_text[PROTO_KEY_TEXT_BYTES], echo[CLI_ECHO_BYTES];
    const char *re = NULL;
    cli_key_arg to, re_author;
    store_member m;
    store_appended done;
    proto_body b;
    cli_node n = {0};
    int opt, code;
    op_err r;

    proto_body_init(&b, PROTO_KIND_FEEDBACK);
    while ((opt = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        if (opt == 'r')
            re = optarg;
        else if ((code = cli_common_opt(c, opt, feedback_help, argv)) >= 0)
            goto out;
    }
    if (argc - optind < 2) {
        code = cli_usage(c, argc - optind == 0 ? "feedback needs the KEY of the member it is "
                                                 "for (or 'office') and the TEXT"
                                               : "feedback needs the TEXT after the KEY");
        goto out;
    }
    if (argc - optind > 2) {
        code = cli_usage(c, "unexpected argument '%s' (quote TEXT when it has spaces)",
                         cli_echo(argv[optind + 2], echo));
        goto out;
    }
    if (!cli_key_arg_parse(argv[optind], &to)) {
        code = cli_usage(c, "KEY must be a member's key (44 characters of base64) or 'office', "
                            "not '%s'", cli_echo(argv[optind], echo));
        goto out;
    }
    if (!cli_text_ok(argv[optind + 1], PROTO_TEXT_MAX_BYTES, why, sizeof why)) {
        code = cli_usage(c, "TEXT %s", why);
        goto out;
    }
    if (re && !parse_re(re, &re_author, &b.re.seq)) {
        code = cli_usage(c, "--re must be AUTHOR:SEQ, a key (or 'office'), a colon and an entry "
                            "number from 1, as 'outpost inbox' shows; not '%s'",
                         cli_echo(re, echo));
        goto out;
    }
    if (!(b.text = strdup(argv[optind + 1]))) {
        code = cli_fail_err(c, OP_E_NOMEM, "feedback not saved");
        goto out;
    }
    if ((code = cli_node_open(c, &n)) != CLI_OK)
        goto out;
    if ((code = cli_key_arg_resolve(c, &n, &to, "KEY")) >= 0 ||
        (re && (code = cli_key_arg_resolve(c, &n, &re_author, "--re")) >= 0) ||
        (code = cli_member_check(c, &n, to.key, "KEY", &m)) >= 0)
        goto out;
    memcpy(b.who, to.key, PROTO_KEY_BYTES);
    b.has_who = true;
    if (re) {
        memcpy(b.re.author, re_author.key, PROTO_KEY_BYTES);
        b.has_re = true;
        warn_unknown_re(c, &n, &b);
    }
    if ((r = store_log_append_to(n.db, n.rd, n.id, &b, to.key, c->now_ms, &done)) != OP_OK) {
        code = cli_fail_err(c, r, "feedback not saved");
        goto out;
    }
    OP_IGNORE(cli_agent_call(c->dir, "nudge")); /* a running agent pushes it now; else later */
    if (c->json) {
        saved s = {.seq = (int64_t)done.seq, .ts = (int64_t)c->now_ms};
        memcpy(s.author, n.id->pk, PROTO_KEY_BYTES);
        memcpy(s.to, to.key, PROTO_KEY_BYTES);
        code = cli_print_json(c, &n,
                              "SELECT json_object('author', b64(?1), 'seq', ?2, 'to', b64(?3),"
                              " 'ts', " CLI_ISO("?4") ")",
                              bind_saved, &s);
        goto out;
    }
    proto_key_to_text(to.key, to_text);
    const char *name = m.name[0] ? m.name : to_text;
    if (strcmp(n.role, "office") == 0)
        printf("Saved feedback %llu for %s; only %s and the office can read it.\n",
               (unsigned long long)done.seq, name, name);
    else if (m.state == STORE_MEMBER_OFFICE)
        printf("Saved feedback %llu for the office (%s); only the office and you can read it.\n",
               (unsigned long long)done.seq, name);
    else
        printf("Saved feedback %llu for %s; only %s, the office and you can read it.\n",
               (unsigned long long)done.seq, name, name);
    code = CLI_OK;
out:
    cli_node_close(&n);
    proto_body_fini(&b);
    return code;
}

/* ---- inbox ------------------------------------------------------------------------------- */

typedef struct inbox_args {
    bool all, peek, mark_read, sent;
    int64_t limit; /* -1: all */
} inbox_args;

/* The feedback chosen for this run, by row id, newest first: to this node (with ?1, --all,
 * read ones too), or with ?3, --sent, from it; at most ?2 (-1 = all). Kept in a temporary table
 * so that what is printed and what is marked read are the same rows even if more arrive
 * meanwhile (the agent may be ingesting as we print). */
static const char choose_sql[] =
    "INSERT INTO temp.inbox_shown(id, pos)"
    " SELECT f.id, row_number() OVER (ORDER BY f.ts DESC, f.id DESC) FROM feedback f"
    " JOIN authors a ON a.id = f.author LEFT JOIN inbox_read r ON r.id = f.id"
    " WHERE CASE ?3 WHEN 1 THEN a.key = (SELECT v FROM meta WHERE k = 'key')"
    "  ELSE f.to_key = (SELECT v FROM meta WHERE k = 'key') AND (?1 OR r.id IS NULL) END"
    " ORDER BY f.ts DESC, f.id DESC LIMIT ?2";

/* The rows chosen, in order, with what people and scripts see. The other party is the author
 * (inbox) or the addressee (--sent). */
#define SHOWN_SQL                                                                                  \
    "SELECT f.id AS id, a.key AS akey, f.to_key AS to_key, f.seq AS seq, f.ts AS ts,"              \
    " f.text AS text, f.re_author AS re_author, f.re_seq AS re_seq, r.id IS NULL AS unread,"       \
    " CASE ?1 WHEN 1 THEN " CLI_NAME_OF("f.to_key") " ELSE " CLI_NAME_OF("a.key") " END AS name,"  \
    " CASE WHEN f.re_author = (SELECT v FROM meta WHERE k = 'key') THEN NULL ELSE "                \
    CLI_NAME_OF("f.re_author") " END AS re_name,"                                                  \
    " (SELECT e.kind FROM authors ra JOIN entries e ON e.id = (ra.id << 32) | f.re_seq"            \
    "  WHERE ra.key = f.re_author) AS re_kind"                                                     \
    " FROM temp.inbox_shown s JOIN feedback f ON f.id = s.id JOIN authors a ON a.id = f.author"    \
    " LEFT JOIN inbox_read r ON r.id = f.id ORDER BY s.pos"

static void
bind_choose(sqlite3_stmt *st, const inbox_args *a)
{
    sqlite3_bind_int(st, 1, a->all);
    sqlite3_bind_int64(st, 2, a->limit);
    sqlite3_bind_int(st, 3, a->sent);
}

static void
bind_sent_flag(sqlite3_stmt *st, void *arg)
{
    const inbox_args *a = arg;
    sqlite3_bind_int(st, 1, a->sent);
}

/* Fills temp.inbox_shown; *shown gets how many rows it holds, *left how many of the same kind
 * --limit left out (unread ones for a plain inbox). */
static int
choose(const cli_ctx *c, cli_node *n, const inbox_args *a, int64_t *shown, int64_t *left)
{
    sqlite3 *h = store_db_handle(n->db);
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_exec(h,
                          "CREATE TEMP TABLE inbox_shown(id INTEGER PRIMARY KEY,"
                          " pos INTEGER NOT NULL)",
                          NULL, NULL, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(h, choose_sql, -1, &st, NULL);
    if (rc == SQLITE_OK) {
        bind_choose(st, a);
        rc = sqlite3_step(st);
        rc = rc == SQLITE_DONE ? SQLITE_OK : rc;
    }
    sqlite3_finalize(st);
    st = NULL;
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(h,
                                "SELECT (SELECT count(*) FROM temp.inbox_shown), count(*) FROM"
                                " feedback f JOIN authors a ON a.id = f.author WHERE CASE ?1"
                                " WHEN 1 THEN a.key = (SELECT v FROM meta WHERE k = 'key') ELSE"
                                " f.to_key = (SELECT v FROM meta WHERE k = 'key') AND (?2 OR NOT"
                                " EXISTS (SELECT 1 FROM inbox_read r WHERE r.id = f.id)) END",
                                -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_int(st, 1, a->sent);
        sqlite3_bind_int(st, 2, a->all);
        if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            *shown = sqlite3_column_int64(st, 0);
            *left = sqlite3_column_int64(st, 1) - *shown;
            rc = SQLITE_OK;
        }
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_OK)
        return cli_fail(c, CLI_FAIL, "query failed: %s", sqlite3_errmsg(h));
    return CLI_OK;
}

/* Marks the rows shown as read, in one transaction. Not durable (synchronous=NORMAL): a mark
 * lost to a power cut only shows a message once more. */
static int
mark_read(const cli_ctx *c, cli_node *n)
{
    sqlite3_stmt *st;
    op_err r;
    if ((r = store_db_begin(n->db, false)) != OP_OK)
        return cli_fail_err(c, r, "shown, but not marked read");
    if ((r = store_db_stmt(n->db,
                           "INSERT OR IGNORE INTO inbox_read(id, at)"
                           " SELECT id, ? FROM temp.inbox_shown",
                           &st)) == OP_OK) {
        sqlite3_bind_int64(st, 1, (int64_t)c->now_ms);
        r = store_db_code(sqlite3_step(st));
        sqlite3_reset(st);
    }
    if (r == OP_OK)
        r = store_db_commit(n->db);
    else
        store_db_rollback(n->db);
    return r == OP_OK ? CLI_OK : cli_fail_err(c, r, "shown, but not marked read");
}

/* "just now", "5 minutes ago", "3 days ago"; older (or from a clock ahead of ours): the date. */
static void
when(uint64_t now, int64_t ts, char *out, size_t n)
{
    static const struct {
        int64_t ms;
        const char *unit;
    } units[] = {{86400000, "day"}, {3600000, "hour"}, {60000, "minute"}};
    int64_t ago = (int64_t)now - ts;
    if (ts < 0 || ago < -60000 || ago >= 7 * 86400000LL) {
        time_t t = (time_t)(ts / 1000);
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(out, n, "on %Y-%m-%d %H:%M UTC", &tm);
        return;
    }
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (ago >= units[i].ms) {
            long long k = ago / units[i].ms;
            snprintf(out, n, "%lld %s%s ago", k, units[i].unit, k == 1 ? "" : "s");
            return;
        }
    snprintf(out, n, "just now");
}

/* Prints text a member wrote, each line indented. Control characters, and the C1 controls
 * U+0080..U+009F that some terminals obey as escapes, print as spaces: another member's words
 * must not move the cursor or recolour the screen. */
static void
put_text(const char *s, const char *indent)
{
    fputs(indent, stdout);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '\n')
            printf("\n%s", indent);
        else if (*p == '\r' && p[1] == '\n')
            continue;
        else if (*p < 0x20 || *p == 0x7f)
            putchar(' ');
        else if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
            putchar(' ');
            p++;
        } else
            putchar(*p);
    }
    putchar('\n');
}

/* What an entry's kind is called in a sentence. */
static const char *
kind_words(int kind)
{
    switch (kind) {
    case PROTO_KIND_CHECKIN: return "check-in";
    case PROTO_KIND_KPI_DEF: return "KPI definition";
    case PROTO_KIND_KPI_VALUE: return "KPI value";
    case PROTO_KIND_FEEDBACK: return "feedback";
    case PROTO_KIND_CONTACT: return "contact note";
    default: return "entry";
    }
}

static int
print_people(const cli_ctx *c, cli_node *n, const inbox_args *a, int64_t shown, int64_t left)
{
    sqlite3_stmt *st;
    char ago[64], key[PROTO_KEY_TEXT_BYTES];
    if (sqlite3_prepare_v2(store_db_handle(n->db), SHOWN_SQL, -1, &st, NULL) != SQLITE_OK)
        return cli_fail(c, CLI_FAIL, "query failed: %s", store_db_errmsg(n->db));
    sqlite3_bind_int(st, 1, a->sent);
    for (int row = 0; sqlite3_step(st) == SQLITE_ROW; row++) {
        const void *akey = sqlite3_column_blob(st, 1);
        const char *name = (const char *)sqlite3_column_text(st, 9);
        when(c->now_ms, sqlite3_column_int64(st, 4), ago, sizeof ago);
        printf("%s%s %s, %s%s\n", row ? "\n" : "", a->sent ? "To" : "From", name ? name : "?",
               ago, !a->sent && a->all && sqlite3_column_int(st, 8) ? "  [new]" : "");
        if (sqlite3_column_type(st, 6) == SQLITE_BLOB) {
            const char *re_name = (const char *)sqlite3_column_text(st, 10);
            const char *words = kind_words(sqlite3_column_int(st, 11));
            if (re_name)
                printf("  re: %s's %s %lld\n", re_name, words,
                       (long long)sqlite3_column_int64(st, 7));
            else
                printf("  re: your %s %lld\n", words, (long long)sqlite3_column_int64(st, 7));
        }
        put_text((const char *)sqlite3_column_text(st, 5), "    ");
        if (akey && sqlite3_column_bytes(st, 1) == PROTO_KEY_BYTES) {
            proto_key_to_text(akey, key);
            printf("  id: %s:%lld\n", key, (long long)sqlite3_column_int64(st, 3));
        }
    }
    sqlite3_finalize(st);
    if (left > 0)
        printf("\n(%lld more %s; --limit 0 shows all)\n", (long long)left,
               a->sent || a->all ? "older" : "unread");
    if (shown && !a->sent)
        printf("\nAnswer one with: outpost feedback KEY TEXT --re ID\n");
    return CLI_OK;
}

/* When nothing is shown: say so, and where the rest is. */
static int
print_empty(const cli_ctx *c, cli_node *n, const inbox_args *a)
{
    sqlite3_stmt *st;
    long long read = 0;
    if (a->sent) {
        puts("You have sent no feedback yet. Send some with 'outpost feedback KEY TEXT'.");
        return CLI_OK;
    }
    if (sqlite3_prepare_v2(store_db_handle(n->db),
                           "SELECT count(*) FROM feedback f JOIN inbox_read r ON r.id = f.id"
                           " WHERE f.to_key = (SELECT v FROM meta WHERE k = 'key')",
                           -1, &st, NULL) != SQLITE_OK)
        return cli_fail(c, CLI_FAIL, "query failed: %s", store_db_errmsg(n->db));
    if (sqlite3_step(st) == SQLITE_ROW)
        read = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    if (read && !a->all)
        printf("No new feedback. ('outpost inbox --all' shows the %lld you have read.)\n", read);
    else
        puts("No feedback for you yet. It arrives with the sender's log when this node syncs.");
    return CLI_OK;
}

int
cli_inbox_main(cli_ctx *c, int argc, char **argv)
{
    static const struct option opts[] = {
        {"all", no_argument, NULL, 'a'},
        {"limit", required_argument, NULL, 'l'},
        {"peek", no_argument, NULL, 'p'},
        {"keep-unread", no_argument, NULL, 'p'},
        {"mark-read", no_argument, NULL, 'm'},
        {"sent", no_argument, NULL, 's'},
        CLI_COMMON_OPTS,
        {0},
    };
    inbox_args a = {.limit = -1};
    char echo[CLI_ECHO_BYTES];
    bool limit_given = false;
    int64_t shown = 0, left = 0;
    cli_node n;
    int opt, code;
    long v;

    while ((opt = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        switch (opt) {
        case 'a': a.all = true; break;
        case 'p': a.peek = true; break;
        case 'm': a.mark_read = true; break;
        case 's': a.sent = true; break;
        case 'l':
            if (!cli_parse_int(optarg, 0, 1000000000, &v))
                return cli_usage(c, "--limit must be a whole number >= 0, not '%s'",
                                 cli_echo(optarg, echo));
            a.limit = v ? v : -1;
            limit_given = true;
            break;
        default:
            if ((code = cli_common_opt(c, opt, inbox_help, argv)) >= 0)
                return code;
        }
    }
    if (optind < argc)
        return cli_usage(c, "unexpected argument '%s'", cli_echo(argv[optind], echo));
    if (a.sent && (a.all || a.peek || a.mark_read))
        return cli_usage(c, "--%s does not apply to --sent (nothing you sent is unread)",
                         a.all ? "all" : a.peek ? "peek" : "mark-read");
    if (a.peek && a.mark_read)
        return cli_usage(c, "--peek and --mark-read contradict each other; give one");
    if (a.mark_read && !c->json)
        return cli_usage(c, "--mark-read is for --json; without it, what is shown is marked "
                            "read anyway");
    if (!limit_given && !c->json && isatty(STDOUT_FILENO))
        a.limit = 20;
    if ((code = cli_node_open(c, &n)) != CLI_OK)
        return code;
    if ((code = choose(c, &n, &a, &shown, &left)) != CLI_OK)
        goto out;
    if (c->json) {
        code = cli_print_json(
            c, &n,
            "SELECT coalesce(json_group_array(CASE ?1 WHEN 1 THEN json_object('to', b64(to_key),"
            " 'name', name, 'seq', seq, 'ts', " CLI_ISO("ts") ", 'text', text, 're', json(CASE"
            " WHEN re_author IS NOT NULL THEN json_object('author', b64(re_author), 'seq',"
            " re_seq) END)) ELSE json_object('author', b64(akey), 'name', name, 'seq', seq,"
            " 'ts', " CLI_ISO("ts") ", 'text', text, 're', json(CASE WHEN re_author IS NOT"
            " NULL THEN json_object('author', b64(re_author), 'seq', re_seq) END), 'unread',"
            " json(CASE unread WHEN 1 THEN 'true' ELSE 'false' END)) END), '[]')"
            " FROM (" SHOWN_SQL ")",
            bind_sent_flag, &a);
    } else {
        code = shown ? print_people(c, &n, &a, shown, left) : print_empty(c, &n, &a);
    }
    /* Marked only once printed, as a mail reader does; not for scripts unless asked. */
    if (code == CLI_OK && shown && !a.sent && !a.peek && (!c->json || a.mark_read)) {
        if (fflush(stdout) != 0)
            code = cli_fail(c, CLI_FAIL, "could not write the output; nothing was marked read");
        else
            code = mark_read(c, &n);
    }
out:
    cli_node_close(&n);
    return code;
}
