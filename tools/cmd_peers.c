/* cmd_peers.c — `outpost peers [add HOST:PORT [KEY] | remove ADDR|KEY]`: the addresses this node
 * dials, and how each link is doing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/seal.h"
#include "tools/cli.h"

static const char help[] =
    "usage: outpost peers [--dir DIR] [--json]\n"
    "       outpost peers add HOST:PORT [KEY]\n"
    "       outpost peers remove HOST:PORT|KEY\n"
    "\n"
    "List the peers this node dials and those that connected to it, with each link's state:\n"
    "connected or not, the last sync, the last error and the next retry.\n"
    "  add     dial HOST:PORT from now on; with KEY, only a node with that key is accepted there\n"
    "  remove  stop dialing that address (or every address of that key)\n"
    "The agent picks changes up at once when it runs.\n";


static bool
good_addr(const char *s)
{
    const char *colon = strrchr(s, ':');
    long port;
    if (!colon || colon == s || strlen(s) > 255)
        return false;
    for (const char *p = s; p < colon; p++)
        if ((unsigned char)*p <= ' ' || *p == '/')
            return false;
    return cli_parse_int(colon + 1, 1, 65535, &port);
}

static int
list(cli_ctx *c, cli_node *n)
{
    if (c->json)
        return cli_print_json(c, n,
                              CLI_PEERS_SQL " SELECT coalesce(json_group_array(json_object('addr', addr,"
                              " 'key', b64(key), 'connected', json(CASE connected WHEN 1 THEN"
                              " 'true' ELSE 'false' END), 'last_sync', " CLI_ISO("last_sync") ","
                              " 'last_error', last_error, 'next_retry', " CLI_ISO("next_retry") ")),"
                              " '[]') FROM (SELECT * FROM all_peers ORDER BY addr)",
                              NULL, NULL);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(store_db_handle(n->db),
                           CLI_PEERS_SQL " SELECT addr, coalesce(short_key(key), '?'),"
                                     " CASE connected WHEN 1 THEN 'yes' ELSE 'no' END,"
                                     " coalesce(strftime('%Y-%m-%d %H:%M', last_sync / 1000,"
                                     " 'unixepoch'), 'never'), coalesce(last_error, '') FROM"
                                     " all_peers ORDER BY addr",
                           -1, &st, NULL) != SQLITE_OK)
        return cli_fail(c, CLI_FAIL, "query failed: %s", store_db_errmsg(n->db));
    static const char *const heads[] = {"ADDRESS", "KEY", "LINKED", "LAST SYNC", "LAST ERROR"};
    static const int widths[] = {24, 8, 6, 16, 0};
    cli_table *t = cli_table_new(5, heads, widths);
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *cells[5];
        for (int i = 0; i < 5; i++)
            cells[i] = (const char *)sqlite3_column_text(st, i);
        cli_table_add(t, cells);
    }
    sqlite3_finalize(st);
    cli_table_done(t, "No peers yet. Add one with 'outpost peers add HOST:PORT' (joining adds "
                      "the office).");
    return CLI_OK;
}

int
cli_peers_main(cli_ctx *c, int argc, char **argv)
{
    static const struct option opts[] = {CLI_COMMON_OPTS, {0}};
    static char cmd[32];
    cli_node n;
    int opt, code;
    while ((opt = getopt_long(argc, argv, ":", opts, NULL)) != -1)
        if ((code = cli_common_opt(c, opt, help, argv)) >= 0)
            return code;
    const char *sub = optind < argc ? argv[optind] : NULL;
    int nargs = argc - optind - (sub ? 1 : 0);
    char **args = argv + optind + (sub ? 1 : 0);
    uint8_t key[32];
    if (sub) {
        snprintf(cmd, sizeof cmd, "peers %s", sub);
        c->cmd = cmd;
    }
    if (!sub) {
        /* list */
    } else if (strcmp(sub, "add") == 0) {
        if (nargs < 1 || nargs > 2)
            return cli_usage(c, "peers add needs HOST:PORT and, optionally, the peer's KEY");
        if (!good_addr(args[0]))
            return cli_usage(c, "'%s' is not HOST:PORT (port 1-65535)", args[0]);
        if (nargs == 2 && proto_key_from_text(args[1], key) != OP_OK)
            return cli_usage(c, "KEY must be 44 characters of base64, not '%s'", args[1]);
    } else if (strcmp(sub, "remove") == 0) {
        if (nargs != 1)
            return cli_usage(c, "peers remove needs one HOST:PORT or KEY");
    } else {
        c->cmd = "peers";
        return cli_usage(c, "'%s' is not a peers command: add or remove (or nothing, to list)",
                         sub);
    }
    if ((code = cli_node_open(c, &n)) != CLI_OK)
        return code;
    sqlite3_stmt *st;
    sqlite3 *h = store_db_handle(n.db);
    if (!sub) {
        code = list(c, &n);
    } else if (strcmp(sub, "add") == 0) {
        int rc = sqlite3_prepare_v2(h, "INSERT INTO peers(addr, key, added) VALUES(?, ?, ?)"
                                       " ON CONFLICT(addr) DO UPDATE SET key = excluded.key,"
                                       " fails = 0, next_retry = NULL",
                                    -1, &st, NULL);
        if (rc == SQLITE_OK) {
            sqlite3_bind_text(st, 1, args[0], -1, SQLITE_STATIC);
            if (nargs == 2)
                sqlite3_bind_blob(st, 2, key, 32, SQLITE_STATIC);
            sqlite3_bind_int64(st, 3, (int64_t)c->now_ms);
            rc = sqlite3_step(st);
            sqlite3_finalize(st);
        }
        if (rc != SQLITE_DONE)
            code = cli_fail_err(c, store_db_code(rc), "peer not added");
        else {
            bool agent = cli_agent_call(c->dir, "sync");
            if (c->json)
                code = cli_print_json(c, &n, "SELECT json_object('addr', ?1, 'added',"
                                             " json('true'))", cli_bind_text, args[0]);
            else
                printf("Added %s.%s\n", args[0],
                       agent ? " The agent is dialing it now."
                             : " Run 'outpost sync --once' or start outpostd to connect.");
        }
    } else {
        bool is_key = proto_key_from_text(args[0], key) == OP_OK;
        int rc = sqlite3_prepare_v2(h, is_key ? "DELETE FROM peers WHERE key = ?"
                                              : "DELETE FROM peers WHERE addr = ?",
                                    -1, &st, NULL);
        if (rc == SQLITE_OK) {
            if (is_key)
                sqlite3_bind_blob(st, 1, key, 32, SQLITE_STATIC);
            else
                sqlite3_bind_text(st, 1, args[0], -1, SQLITE_STATIC);
            rc = sqlite3_step(st);
            sqlite3_finalize(st);
        }
        if (rc != SQLITE_DONE)
            code = cli_fail_err(c, store_db_code(rc), "peer not removed");
        else if (sqlite3_changes(h) == 0)
            code = cli_fail(c, CLI_FAIL, "no peer %s; see 'outpost peers'", args[0]);
        else if (c->json)
            code = cli_print_json(c, &n, "SELECT json_object('removed', ?1)", cli_bind_text,
                                  args[0]);
        else
            printf("Removed %s.\n", args[0]);
    }
    cli_node_close(&n);
    return code;
}
