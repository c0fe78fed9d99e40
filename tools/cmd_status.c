/* cmd_status.c — `outpost status`: what this node is and holds, and what has not reached the
 * office yet. */
#include <stdio.h>
#include <string.h>
#include <sys/statvfs.h>
#include <sys/time.h>

#include "proto/time.h"
#include "tools/cli.h"

static const char help[] =
    "usage: outpost status [--dir DIR] [--json]\n"
    "\n"
    "Show this node: its key, name and role, how many entries it holds (its own and in all),\n"
    "how many of its own entries the office does not hold yet (pending), and its peers.\n"
    "A peer whose clock differed from this node's by over 5 min at its last handshake is a\n"
    "warning (clock), and so is this node's own clock when it is over 5 min off the median of\n"
    "its peers' clocks (two peers or more, or its office). Entries keep their order (by seq)\n"
    "whatever the clocks say. Under 100 MiB free on the disk holding DIR is a warning (disk):\n"
    "when it is full, new entries are refused (exit 4) until space is freed.\n";

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

#define STR_(x) #x
#define STR(x) STR_(x)
#define SKEW_WARN STR(PROTO_TIME_SKEW_WARN_MS)

/* The clocks of this node's peers as each told it in its HELLO at its last handshake (links,
 * one row per peer key): how many were measured, how many are off by over SKEW_WARN, this
 * node's clock minus their median (NULL when none was measured), and whether that makes this
 * node's own clock the one that is off: the median is over SKEW_WARN away and rests on two
 * peers or more, or on this node's office (one other peer alone cannot tell which of the two
 * clocks is wrong). */
#define CLOCK_SQL                                                                                  \
    " clk AS (SELECT count(*) AS measured, coalesce(sum(abs(clock_skew_ms) > " SKEW_WARN "), 0)"   \
    "  AS skewed, EXISTS (SELECT 1 FROM links WHERE clock_skew_ms IS NOT NULL AND key ="          \
    "  (SELECT v FROM meta WHERE k = 'office_key')) AS office"                                     \
    "  FROM links WHERE clock_skew_ms IS NOT NULL),"                                               \
    " clkoff AS (SELECT CAST(-avg(clock_skew_ms) AS INTEGER) AS offset FROM (SELECT clock_skew_ms" \
    "  FROM links WHERE clock_skew_ms IS NOT NULL ORDER BY clock_skew_ms"                          \
    "  LIMIT 2 - (SELECT measured FROM clk) % 2 OFFSET ((SELECT measured FROM clk) - 1) / 2)),"    \
    " clkown AS (SELECT coalesce(abs(clkoff.offset) > " SKEW_WARN " AND (clk.measured >= 2"        \
    "  OR clk.office), 0) AS off FROM clk, clkoff)"

/* Every log held runs from seq 1 to its head without a gap (ingest refuses gaps), so the heads
 * add up to the entries held: no count over a million rows. */
#define ENTRIES_HELD "(SELECT coalesce(sum(head_seq), 0) FROM authors)"

/* Free space under this on the disk holding the node is a warning (TESTING T4): an entry needs
 * little, but SQLite needs room for its WAL and checkpoints, and when the disk is full new
 * entries are refused (exit 4) until space is freed. */
#define DISK_LOW_BYTES 104857600 /* 100 MiB */

typedef struct status_args {
    const char *dir;
    bool agent;
    long long disk_free; /* bytes this user may still write there; -1 unknown */
} status_args;

static long long
disk_free(const char *dir)
{
    struct statvfs v;
    if (statvfs(dir, &v) != 0)
        return -1;
    return (long long)v.f_bavail * (long long)v.f_frsize;
}

static void
bind_status(sqlite3_stmt *st, void *arg)
{
    const status_args *a = arg;
    sqlite3_bind_text(st, 1, a->dir, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, a->agent ? "true" : "false", -1, SQLITE_STATIC);
    if (a->disk_free >= 0)
        sqlite3_bind_int64(st, 3, a->disk_free);
}

/* The disk line: how much is free, a warning under DISK_LOW_BYTES. */
static void
print_disk(const status_args *a)
{
    double mib = (double)a->disk_free / (1024.0 * 1024.0);
    char amount[32];
    if (a->disk_free < 0) {
        printf("disk      free space unknown (statvfs failed on %s)\n", a->dir);
        return;
    }
    if (mib >= 1024.0)
        snprintf(amount, sizeof amount, "%.1f GiB", mib / 1024.0);
    else
        snprintf(amount, sizeof amount, "%.1f MiB", mib);
    if (a->disk_free < DISK_LOW_BYTES)
        printf("disk      warning: only %s free; when the disk is full new entries are refused "
               "(exit 4): free some space\n", amount);
    else
        printf("disk      %s free\n", amount);
}

/* "24 h 00 min", "10 min 02 s", "48 s": how far apart two clocks are. out needs 32 bytes. */
static void
span(int64_t ms, char out[32])
{
    long long a = (ms < 0 ? -ms : ms) / 1000;
    if (a >= 3600)
        snprintf(out, 32, "%lld h %02lld min", a / 3600, a / 60 % 60);
    else if (a >= 60)
        snprintf(out, 32, "%lld min %02lld s", a / 60, a % 60);
    else
        snprintf(out, 32, "%lld s", a);
}

/* The clock lines: a warning for this node's own clock when it is off (CLOCK_SQL), and one line
 * per peer off by over SKEW_WARN; nothing when nothing was measured (no handshake yet). */
static void
print_clock(cli_node *n)
{
    sqlite3_stmt *st;
    char d[32];
    if (sqlite3_prepare_v2(store_db_handle(n->db),
                           "WITH" CLOCK_SQL " SELECT clk.measured, clk.skewed, clkoff.offset,"
                           " clkown.off FROM clk, clkoff, clkown",
                           -1, &st, NULL) != SQLITE_OK)
        return;
    if (sqlite3_step(st) != SQLITE_ROW || sqlite3_column_int64(st, 0) == 0) {
        sqlite3_finalize(st);
        return;
    }
    long long measured = sqlite3_column_int64(st, 0), skewed = sqlite3_column_int64(st, 1);
    int64_t offset = sqlite3_column_int64(st, 2);
    bool off = sqlite3_column_int(st, 3) != 0;
    sqlite3_finalize(st);
    if (off) {
        span(offset, d);
        printf("clock     warning: this node's clock is %s %s its peers' (the median of %lld at "
               "their last handshakes); entries keep their order (by seq), but the times written "
               "here are off: set this computer's clock\n", d, offset > 0 ? "ahead of" : "behind",
               measured);
    } else if (skewed) {
        printf("clock     warning: %lld peer%s clock%s differ%s from this node's by over %d min "
               "(at the last handshake)\n", skewed, skewed == 1 ? "'s" : "s'",
               skewed == 1 ? "" : "s", skewed == 1 ? "s" : "", PROTO_TIME_SKEW_WARN_MS / 60000);
    } else {
        printf("clock     within %d min of %lld peer%s (at the last handshake%s)\n",
               PROTO_TIME_SKEW_WARN_MS / 60000, measured, measured == 1 ? "" : "s",
               measured == 1 ? "" : "s");
        return;
    }
    if (sqlite3_prepare_v2(store_db_handle(n->db),
                           "SELECT " CLI_NAME_OF("l.key") ", short_key(l.key), l.clock_skew_ms"
                           " FROM links l WHERE abs(l.clock_skew_ms) > " SKEW_WARN
                           " ORDER BY abs(l.clock_skew_ms) DESC, l.key",
                           -1, &st, NULL) != SQLITE_OK)
        return;
    while (sqlite3_step(st) == SQLITE_ROW) {
        int64_t skew = sqlite3_column_int64(st, 2);
        span(skew, d);
        printf("          %s (%s): its clock is %s %s this node's\n",
               (const char *)sqlite3_column_text(st, 0), (const char *)sqlite3_column_text(st, 1),
               d, skew > 0 ? "ahead of" : "behind");
    }
    sqlite3_finalize(st);
}

/* One line per peer: the answer to "why is this not synced?". */
static void
print_peers(const cli_ctx *c, cli_node *n, bool agent)
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
                /* the agent schedules by the real clock, even under OUTPOST_NOW (shifted by
                 * OUTPOST_CLOCK_OFFSET, as the agent's is) */
                struct timeval tv;
                gettimeofday(&tv, NULL);
                int64_t wait = sqlite3_column_int64(st, 5) -
                               (int64_t)proto_time_shift((uint64_t)tv.tv_sec * 1000 +
                                                             (uint64_t)tv.tv_usec / 1000,
                                                         c->clock_offset_ms);
                /* as the agent judges it (AGENT_RETRY_HORIZON_MS in agent/node.h): a retry
                 * further ahead than any backoff was set by a clock since set back: due now */
                if (wait > 0 && wait <= 6 * 60 * 1000 + PROTO_TIME_TOLERANCE_MS)
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
    status_args agent = {c->dir, cli_agent_call(c->dir, NULL), disk_free(c->dir)};
    if (c->json) {
        code = cli_print_json(
            c, &n,
            STATUS_SQL "," CLOCK_SQL
                       " SELECT json_object('key', b64(me.key), 'name', me.name, 'role', me.role,"
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
                       " last_error, 'next_retry', " ISO("next_retry") ", 'clock_skew_ms', skew,"
                       " 'clock_skewed', json(CASE WHEN abs(skew) > " SKEW_WARN " THEN 'true'"
                       " ELSE 'false' END))), '[]') FROM (SELECT * FROM all_peers ORDER BY addr)),"
                       " 'clock', json_object('tolerance_ms', " SKEW_WARN ", 'peers_measured',"
                       " clk.measured, 'peers_skewed', clk.skewed, 'offset_ms', clkoff.offset,"
                       " 'off', json(CASE WHEN clkown.off THEN 'true' ELSE 'false' END),"
                       " 'warning', json(CASE WHEN clk.skewed > 0 OR clkown.off THEN 'true'"
                       " ELSE 'false' END)), 'disk', json_object('free_bytes', ?3, 'low_bytes',"
                       " " STR(DISK_LOW_BYTES) ", 'low', json(CASE WHEN ?3 < " STR(DISK_LOW_BYTES)
                       " THEN 'true' ELSE 'false' END)))"
                       " FROM me, own, acked, clk, clkoff, clkown",
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
    print_disk(&agent);
    print_clock(&n);
    print_peers(c, &n, agent.agent);
#undef COL
    sqlite3_finalize(st);
    cli_node_close(&n);
    return CLI_OK;
}
