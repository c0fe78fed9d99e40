/* cmd_status.c — `outpost status`: what this node is and holds, and what has not reached the
 * office yet. */
#include <stdio.h>
#include <string.h>
#include <sys/time.h>

#include "tools/cli.h"

static const char help[] =
    "usage: outpost status [--dir DIR] [--json]\n"
    "\n"
    "Show this node: its key, name and role, how many entries it holds (its own and in all),\n"
    "how many of its own entries the office does not hold yet (pending), and its peers.\n";

/* One row: everything status shows. */
#define STATUS_SQL                                                                                 \
    CLI_PEERS_SQL ","                                                                              \
    " me AS (SELECT (SELECT v FROM meta WHERE k = 'key') AS key,"                              \
    "  (SELECT v FROM meta WHERE k = 'name') AS name,"                                             \
    "  (SELECT v FROM meta WHERE k = 'role') AS role,"                                             \
    "  nullif((SELECT v FROM meta WHERE k = 'site'), '') AS site),"                                \
    " own AS (SELECT coalesce(a.head_seq, 0) AS n,"                                                \
    /* our check-ins are the rows of our id range (author << 32 | seq): no scan of everyone's */  \
    "  (SELECT max(c.ts) FROM checkins c WHERE c.id BETWEEN a.id << 32 AND (a.id << 32) | 0xffffffff)" \
    "   AS last_checkin FROM me LEFT JOIN authors a ON a.key = me.key),"                           \
    /* what an office holds of ours: its acks (receipts that travel through colleagues count too,
     * once they exist) */                                                                        \
    " acked AS (SELECT coalesce((SELECT max(k.seq) FROM acks k JOIN authors a ON a.id = k.author"  \
    "  WHERE a.key = (SELECT key FROM me) AND k.peer = (SELECT v FROM meta"                        \
    "  WHERE k = 'office_key')), 0) AS n)"

#define ISO CLI_ISO

/* Every log held runs from seq 1 to its head without a gap (ingest refuses gaps), so the heads
 * add up to the entries held: no count over a million rows. */
#define ENTRIES_HELD "(SELECT coalesce(sum(head_seq), 0) FROM authors)"

typedef struct status_args {
    const char *dir;
    bool agent;
} status_args;

static void
bind_status(sqlite3_stmt *st, void *arg)
{
    const status_args *a = arg;
    sqlite3_bind_text(st, 1, a->dir, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, a->agent ? "true" : "false", -1, SQLITE_STATIC);
}

/* One line per peer: the answer to "why is this not synced?". */
static void
print_peers(cli_node *n, bool agent)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(store_db_handle(n->db),
                           CLI_PEERS_SQL " SELECT addr, coalesce(short_key(key), '?'), connected,"
                                         " strftime('%Y-%m-%d %H:%M UTC', last_sync / 1000,"
                                         " 'unixepoch'), last_error, next_retry, fails FROM"
                                         " all_peers ORDER BY addr",
                           -1, &st, NULL) != SQLITE_OK) {
        puts("peers     (could not be read)");
        return;
    }
    int rows = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *addr = (const char *)sqlite3_column_text(st, 0);
        const char *key = (const char *)sqlite3_column_text(st, 1);
        const char *sync = (const char *)sqlite3_column_text(st, 3);
        const char *err = (const char *)sqlite3_column_text(st, 4);
        printf("%s%s (%s): ", rows++ ? "          " : "peers     ", addr ? addr : "?", key);
        if (sqlite3_column_int(st, 2))
            printf("linked; last sync %s\n", sync ? sync : "in progress");
        else {
            printf("not linked; last sync %s", sync ? sync : "never");
            if (err)
                printf("; last attempt failed: %s", err);
            if (agent && sqlite3_column_type(st, 5) != SQLITE_NULL) {
                /* the agent schedules by the real clock, even under OUTPOST_NOW */
                struct timeval tv;
                gettimeofday(&tv, NULL);
                int64_t wait = sqlite3_column_int64(st, 5) -
                               ((int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000);
                if (wait > 0)
                    printf("; next try in %llds", (long long)((wait + 999) / 1000));
                else
                    printf("; next try now");
            }
            putchar('\n');
        }
    }
    sqlite3_finalize(st);
    if (!rows)
        puts("peers     none: 'outpost join CODE' adds the office, 'outpost peers add' others");
}

/* The authors that wrote two logs (fork evidence kept, SPEC §4 rule 5): key, name, the first
 * seq where they part, and how many entries of evidence are kept. */
#define FORKED_SQL                                                                                 \
    "SELECT a.key AS k, " CLI_NAME_OF("a.key") " AS nm, min(f.seq) AS s, count(*) AS n"             \
    " FROM forks f JOIN authors a ON a.id = f.author GROUP BY f.author ORDER BY a.key"
#define FORKED_JSON                                                                                \
    "(SELECT coalesce(json_group_array(json_object('key', b64(k), 'name', nm, 'seq', s,"           \
    " 'evidence', n)), '[]') FROM (" FORKED_SQL "))"

/* One line per forked author, under the forks count. */
static void
print_forked(cli_node *n)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(store_db_handle(n->db), "SELECT b64(k), nm, s FROM (" FORKED_SQL ")",
                           -1, &st, NULL) != SQLITE_OK)
        return; /* the count above still says it */
    while (sqlite3_step(st) == SQLITE_ROW)
        printf("          %s (%s) from seq %lld\n", (const char *)sqlite3_column_text(st, 1),
               (const char *)sqlite3_column_text(st, 0), (long long)sqlite3_column_int64(st, 2));
    sqlite3_finalize(st);
}

int
cli_status_main(cli_ctx *c, int argc, char **argv)
{
    cli_node n;
    int code;

    if ((code = cli_parse_plain(c, argc, argv, help)) >= 0)
        return code;
    if ((code = cli_node_open(c, &n)) != CLI_OK)
        return code;
    status_args agent = {c->dir, cli_agent_call(c->dir, NULL)};
    if (c->json) {
        code = cli_print_json(
            c, &n,
            STATUS_SQL " SELECT json_object('key', b64(me.key), 'name', me.name, 'role', me.role,"
                       " 'site', me.site, 'dir', ?1, 'entries', json_object('own', own.n,"
                       " 'total', " ENTRIES_HELD "), 'authors',"
                       " (SELECT count(*) FROM authors WHERE head_seq > 0),"
                       " 'pending', CASE me.role WHEN 'office' THEN 0 ELSE"
                       " max(own.n - acked.n, 0) END, 'forks', (SELECT count(*) FROM forks),"
                       " 'forked', " FORKED_JSON ","
                       " 'last_checkin', " ISO("own.last_checkin") ", 'agent', json(?2),"
                       " 'peers', (SELECT coalesce(json_group_array(json_object('addr', addr,"
                       " 'key', b64(key), 'connected', json(CASE connected WHEN 1 THEN 'true'"
                       " ELSE 'false' END), 'last_sync', " ISO("last_sync") ", 'last_error',"
                       " last_error, 'next_retry', " ISO("next_retry") ", 'clock_skew_ms', skew)),"
                       " '[]') FROM (SELECT * FROM all_peers ORDER BY addr)))"
                       " FROM me, own, acked",
            bind_status, &agent);
        cli_node_close(&n);
        return code;
    }
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(store_db_handle(n.db),
                                STATUS_SQL " SELECT b64(me.key), me.name, me.role, me.site, own.n,"
                                           " " ENTRIES_HELD ","
                                           " (SELECT count(*) FROM authors WHERE head_seq > 0),"
                                           " CASE me.role WHEN 'office' THEN 0 ELSE"
                                           " max(own.n - acked.n, 0) END,"
                                           " (SELECT count(*) FROM forks),"
                                           " strftime('%Y-%m-%d %H:%M UTC', own.last_checkin"
                                           " / 1000, 'unixepoch') FROM me, own, acked",
                                -1, &st, NULL);
    if (rc == SQLITE_OK)
        bind_status(st, &agent);
    if (rc != SQLITE_OK || sqlite3_step(st) != SQLITE_ROW) {
        code = cli_fail(c, CLI_FAIL, "query failed: %s", store_db_errmsg(n.db));
        sqlite3_finalize(st);
        cli_node_close(&n);
        return code;
    }
#define COL(i) ((const char *)sqlite3_column_text(st, i))
    long long pending = sqlite3_column_int64(st, 7), forks = sqlite3_column_int64(st, 8);
    printf("node      %s (%s)%s%s\n", COL(1), COL(2), COL(3) ? " at " : "", COL(3) ? COL(3) : "");
    printf("key       %s\n", COL(0));
    printf("dir       %s\n", c->dir);
    printf("entries   %lld own, %lld in all from %lld author%s\n",
           (long long)sqlite3_column_int64(st, 4), (long long)sqlite3_column_int64(st, 5),
           (long long)sqlite3_column_int64(st, 6), sqlite3_column_int64(st, 6) == 1 ? "" : "s");
    printf("checkin   %s\n", COL(9) ? COL(9) : "none yet");
    if (strcmp(COL(2), "office") == 0)
        printf("pending   0 (this node is the office)\n");
    else
        printf("pending   %lld of your entries not yet at the office%s\n", pending,
               pending ? " (they wait here, safe and signed, until a link appears)" : "");
    printf("agent     %s\n", agent.agent ? "running"
                                         : "not running: start 'outpostd', or run "
                                           "'outpost sync --once'");
    if (forks)
    {
        printf("forks     %lld (an author wrote two different entries with one seq; the first "
               "is kept, the other as evidence; see 'outpost alerts'):\n", forks);
        print_forked(&n);
    }
    print_peers(&n, agent.agent);
#undef COL
    sqlite3_finalize(st);
    cli_node_close(&n);
    return CLI_OK;
}
