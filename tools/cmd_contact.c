/*
 * cmd_contact.c — `outpost contact` (SPEC §5 kind 5, §9): the office's record of its contacts
 * with members (the leader's contact schedule: a call about well-being, delivery, development),
 * and `outpost contact --list` to look back at them.
 *
 * A contact entry is written on the office only and sealed under the office's regular epoch,
 * whose only reader is the office: workers relay the entries without being able to read them,
 * so the member it is about never reads what the leader noted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proto/seal.h"
#include "store/log.h"
#include "tools/cli.h"

static const char help[] =
    "usage: outpost contact KEY --topic wellbeing|delivery|development|other [--note TEXT]\n"
    "       outpost contact --list [KEY] [--limit N]\n"
    "\n"
    "On the office: record a contact with a member (a call, a visit, a talk), so that\n"
    "nobody goes without one for too long. Only the office can read these records; the\n"
    "workers' nodes relay them sealed.\n"
    "\n"
    "  KEY            the member's key (44 characters of base64, as 'outpost log --kind\n"
    "                 member' shows)\n"
    "  --topic T      what it was about: wellbeing, delivery, development or other\n"
    "  --note TEXT    what was said or agreed, up to 4096 bytes\n"
    "  --list [KEY]   the contacts recorded, newest first; with KEY only that member's\n"
    "  --limit N      with --list: at most N (default 20 on a terminal, else all; 0 = all)\n"
    "\n"
    "All take --dir DIR and --json: a new contact prints {author, seq, with, topic, ts}; the\n"
    "list [{with, name, topic, note, ts, author, seq}].\n";

/* SPEC §5: the topics of the leader's contact schedule. */
static const char *const topics[] = {"wellbeing", "delivery", "development", "other"};

typedef struct contact_args {
    const char *key, *topic, *note;
    bool list;
    int64_t limit; /* -1: all */
    bool limit_given;
    cli_key_arg who;
} contact_args;

/* Refuses the command on a worker: contacts are the office's records, unreadable elsewhere. */
static int
open_office(cli_ctx *c, cli_node *n)
{
    int code = cli_node_open(c, n);
    if (code != CLI_OK)
        return code;
    if (strcmp(n->role, "office") != 0) {
        cli_node_close(n);
        return cli_fail(c, CLI_USAGE, "contacts are recorded and read on the office only; this "
                                      "node is a %s (nothing was saved)",
                        n->role[0] ? n->role : "worker");
    }
    return CLI_OK;
}

typedef struct saved {
    uint8_t author[PROTO_KEY_BYTES], with[PROTO_KEY_BYTES];
    const char *topic;
    int64_t seq, ts;
} saved;

static void
bind_saved(sqlite3_stmt *st, void *arg)
{
    const saved *s = arg;
    sqlite3_bind_blob(st, 1, s->author, PROTO_KEY_BYTES, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, s->seq);
    sqlite3_bind_blob(st, 3, s->with, PROTO_KEY_BYTES, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, s->topic, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, s->ts);
}

static int
record(cli_ctx *c, contact_args *a)
{
    store_member m;
    store_appended done;
    proto_body b;
    cli_node n;
    char key[PROTO_KEY_TEXT_BYTES];
    int code;
    op_err r;

    if ((code = open_office(c, &n)) != CLI_OK)
        return code;
    proto_body_init(&b, PROTO_KIND_CONTACT);
    if ((code = cli_key_arg_resolve(c, &n, &a->who, "KEY")) >= 0 ||
        (code = cli_member_check(c, &n, a->who.key, "KEY", &m)) >= 0)
        goto out;
    memcpy(b.who, a->who.key, PROTO_KEY_BYTES);
    b.has_who = true;
    if (!(b.topic = strdup(a->topic)) || (a->note && !(b.note = strdup(a->note)))) {
        code = cli_fail_err(c, OP_E_NOMEM, "contact not saved");
        goto out;
    }
    /* The regular epoch: on the office its only reader is the office itself. */
    if ((r = store_log_append(n.db, n.rd, n.id, &b, c->now_ms, &done)) != OP_OK) {
        code = cli_fail_err(c, r, "contact not saved");
        goto out;
    }
    OP_IGNORE(cli_agent_call(c->dir, "nudge")); /* replicated (sealed) like every entry */
    if (c->json) {
        saved s = {.topic = a->topic, .seq = (int64_t)done.seq, .ts = (int64_t)c->now_ms};
        memcpy(s.author, n.id->pk, PROTO_KEY_BYTES);
        memcpy(s.with, a->who.key, PROTO_KEY_BYTES);
        code = cli_print_json(c, &n,
                              "SELECT json_object('author', b64(?1), 'seq', ?2, 'with', b64(?3),"
                              " 'topic', ?4, 'ts', " CLI_ISO("?5") ")",
                              bind_saved, &s);
        goto out;
    }
    proto_key_to_text(a->who.key, key);
    printf("Saved contact %llu with %s about %s.\n", (unsigned long long)done.seq,
           m.name[0] ? m.name : key, a->topic);
    code = CLI_OK;
out:
    proto_body_fini(&b);
    cli_node_close(&n);
    return code;
}

/* ?1 a member's key or NULL (everyone), ?2 at most this many (-1 = all); newest first. */
#define LISTED_SQL                                                                                 \
    "SELECT c.with_key AS with_key, " CLI_NAME_OF("c.with_key") " AS name, c.topic AS topic,"      \
    " c.note AS note, c.ts AS ts, a.key AS akey, c.seq AS seq FROM contacts c"                     \
    " JOIN authors a ON a.id = c.author WHERE ?1 IS NULL OR c.with_key = ?1"                       \
    " ORDER BY c.ts DESC, c.id DESC LIMIT ?2"

static void
bind_list(sqlite3_stmt *st, void *arg)
{
    const contact_args *a = arg;
    if (a->key)
        sqlite3_bind_blob(st, 1, a->who.key, PROTO_KEY_BYTES, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, a->limit);
}

static int
list(cli_ctx *c, contact_args *a)
{
    sqlite3_stmt *st;
    cli_node n;
    int code;

    if (!a->limit_given && !c->json && isatty(STDOUT_FILENO))
        a->limit = 20;
    if ((code = open_office(c, &n)) != CLI_OK)
        return code;
    if (a->key && (code = cli_key_arg_resolve(c, &n, &a->who, "KEY")) >= 0)
        goto out;
    if (c->json) {
        code = cli_print_json(c, &n,
                              "SELECT coalesce(json_group_array(json_object('with', b64(with_key),"
                              " 'name', name, 'topic', topic, 'note', note, 'ts', " CLI_ISO("ts")
                              ", 'author', b64(akey), 'seq', seq)), '[]') FROM (" LISTED_SQL ")",
                              bind_list, a);
        goto out;
    }
    if (sqlite3_prepare_v2(store_db_handle(n.db),
                           "SELECT strftime('%Y-%m-%d %H:%M', ts / 1000, 'unixepoch'), name,"
                           " topic, note FROM (" LISTED_SQL ")",
                           -1, &st, NULL) != SQLITE_OK) {
        code = cli_fail(c, CLI_FAIL, "query failed: %s", store_db_errmsg(n.db));
        goto out;
    }
    bind_list(st, a);
    static const char *const heads[] = {"WHEN (UTC)", "MEMBER", "TOPIC", "NOTE"};
    static const int widths[] = {16, 20, 11, 0};
    cli_table *t = cli_table_new(4, heads, widths);
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *cells[4];
        for (int i = 0; i < 4; i++)
            cells[i] = (const char *)sqlite3_column_text(st, i);
        cli_table_add(t, cells);
    }
    sqlite3_finalize(st);
    cli_table_done(t, a->key ? "No contacts with this member recorded yet."
                             : "No contacts recorded yet. Record one with 'outpost contact KEY "
                               "--topic wellbeing'.");
    code = CLI_OK;
out:
    cli_node_close(&n);
    return code;
}

int
cli_contact_main(cli_ctx *c, int argc, char **argv)
{
    static const struct option opts[] = {
        {"topic", required_argument, NULL, 't'},
        {"note", required_argument, NULL, 'n'},
        {"list", no_argument, NULL, 'L'},
        {"limit", required_argument, NULL, 'l'},
        CLI_COMMON_OPTS,
        {0},
    };
    contact_args a = {.limit = -1};
    char why[128], echo[CLI_ECHO_BYTES];
    int opt, code;
    long v;

    while ((opt = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        switch (opt) {
        case 't': a.topic = optarg; break;
        case 'n': a.note = optarg; break;
        case 'L': a.list = true; break;
        case 'l':
            if (!cli_parse_int(optarg, 0, 1000000000, &v))
                return cli_usage(c, "--limit must be a whole number >= 0, not '%s'",
                                 cli_echo(optarg, echo));
            a.limit = v ? v : -1;
            a.limit_given = true;
            break;
        default:
            if ((code = cli_common_opt(c, opt, help, argv)) >= 0)
                return code;
        }
    }
    if (argc - optind > 1)
        return cli_usage(c, "unexpected argument '%s'", cli_echo(argv[optind + 1], echo));
    a.key = optind < argc ? argv[optind] : NULL;
    if (a.key && !cli_key_arg_parse(a.key, &a.who))
        return cli_usage(c, "KEY must be a member's key (44 characters of base64), not '%s'",
                         cli_echo(a.key, echo));
    if (a.list) {
        if (a.topic || a.note)
            return cli_usage(c, "--%s does not apply to --list", a.topic ? "topic" : "note");
        return list(c, &a);
    }
    if (a.limit_given)
        return cli_usage(c, "--limit applies to --list only");
    if (!a.key)
        return cli_usage(c, "contact needs the KEY of the member (or --list)");
    if (!a.topic)
        return cli_usage(c, "--topic is required: wellbeing, delivery, development or other");
    bool known = false;
    for (size_t i = 0; i < sizeof topics / sizeof topics[0]; i++)
        known |= strcmp(a.topic, topics[i]) == 0;
    if (!known)
        return cli_usage(c, "--topic must be wellbeing, delivery, development or other, not '%s'",
                         cli_echo(a.topic, echo));
    if (a.note && !cli_text_ok(a.note, PROTO_TEXT_MAX_BYTES, why, sizeof why))
        return cli_usage(c, "--note %s", why);
    return record(c, &a);
}
