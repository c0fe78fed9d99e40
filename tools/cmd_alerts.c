/* cmd_alerts.c — `outpost alerts`: who needs the office's attention, and since when (SPEC §9).
 * Thresholds come from the flags, else from this node's settings (meta alerts.*), else the
 * defaults; `--set NAME=VALUE` changes the settings. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/time.h"
#include "tools/cli.h"
#include "tools/office.h"

static const char help[] =
    "usage: outpost alerts [--dir DIR] [--json] [--overdue-days N] [--silent-days N]\n"
    "                      [--no-contact-days N] [--skew-minutes M]\n"
    "       outpost alerts [--dir DIR] [--json] --set NAME=VALUE...\n"
    "\n"
    "(office) Who needs attention, most urgent first. Exit status 1 when there are alerts,\n"
    "0 when there are none. Kinds:\n"
    "  revoked_activity  a revoked key connected, or its entries were offered, after revocation\n"
    "  fork              a member wrote two different entries with one seq (evidence kept)\n"
    "  not_thriving, no_support, not_delivering\n"
    "                    the latest check-in that answered the question said no\n"
    "  silent            no entry and no connection, by any path, for N days (default 3)\n"
    "  overdue_checkin   no check-in for N days (default 7), counted from when the check-in\n"
    "                    was made but never later than when it arrived here; a member who has\n"
    "                    not checked in yet counts from admission\n"
    "  kpi_below_target  a KPI's attainment below 100% in its last completed period\n"
    "  no_contact        no contact recorded by a leader for N days (default 14; from admission\n"
    "                    when there was none)\n"
    "  clock_skew        a member's clock is off by more than M minutes (default 5): measured\n"
    "                    at its last connection, or shown by entries dated after they arrived\n"
    "--json: an array of {kind, key, name, since, detail}; since (ISO 8601 UTC) is when the\n"
    "condition began.\n"
    "\n"
    "Thresholds: the flags, else the settings of this node, else the defaults. --set saves a\n"
    "setting (NAME is overdue-days, silent-days, no-contact-days or skew-minutes; an empty\n"
    "VALUE restores the default) and prints them all; e.g. 'outpost alerts --set\n"
    "overdue-days=10'. Days run from 1 to 3650, minutes from 1 to 525600.\n";

/* The thresholds: flag, setting (meta key), default and range. */
static const struct threshold {
    const char *name, *meta;
    long def, max;
    int64_t unit_ms;
} thresholds[] = {
    {"overdue-days", "alerts.overdue_days", 7, 3650, 86400000},
    {"silent-days", "alerts.silent_days", 3, 3650, 86400000},
    {"no-contact-days", "alerts.no_contact_days", 14, 3650, 86400000},
    /* the same 5 min as `outpost status` warns at (PROTO_TIME_SKEW_WARN_MS) */
    {"skew-minutes", "alerts.skew_minutes", PROTO_TIME_SKEW_WARN_MS / 60000, 525600, 60000},
};
#define N_THRESHOLDS (int)(sizeof thresholds / sizeof thresholds[0])
#define MAX_SETS 16

#define ISO CLI_ISO

/* "not thriving: last 2 check-ins" for the run of no answers that ends the member's log. */
#define NO_STREAK(sev, kind, col, text)                                                            \
    " SELECT " sev ", '" kind "', s.key, (SELECT min(e.ts, e.received) FROM entries e"             \
    "  WHERE e.id = s." col "_from), (SELECT printf('" text ": %s', CASE count(*) WHEN 1"          \
    "  THEN 'the last check-in' ELSE printf('last %d check-ins', count(*)) END) FROM checkins"     \
    "  WHERE id BETWEEN s." col "_from AND s.hi AND " col " = 0) FROM s WHERE s." col "_from"      \
    "  IS NOT NULL"

/* The first check-in of that run (NULL unless the latest answer is no). */
#define STREAK_FROM(col)                                                                           \
    "  CASE WHEN w." col " = 0 THEN (SELECT id FROM checkins WHERE id BETWEEN"                     \
    "   coalesce((SELECT id FROM checkins WHERE id BETWEEN w.lo AND w.hi AND " col " = 1"          \
    "   ORDER BY id DESC LIMIT 1) + 1, w.lo) AND w.hi AND " col " = 0 ORDER BY id LIMIT 1) END"    \
    "   AS " col "_from"

/* The later of two times that may be NULL (NULL when both are). */
#define LATER(x, y) "max(coalesce(" x ", " y "), coalesce(" y ", " x "))"

/* Entries of the member that prove its clock ahead by more than :skew and arrived after the
 * last connection that measured it right. Uses the partial index entries_ahead. */
#define AHEAD(what)                                                                                \
    "(SELECT " what " FROM entries WHERE author = sk.aid AND ts > received + 60000"                \
    " AND ts - received > :skew AND received > sk.good_at)"

#define DAYS(x) "((:now - (" x ")) / 86400000)"

/* Every alert: (sev, kind, key, since, detail), before names and order. */
#define ALERT_ROWS                                                                                 \
    "WITH" OFFICE_MEMBERS_SQL "," OFFICE_KPIS_SQL ","                                              \
    " w AS MATERIALIZED (SELECT * FROM g WHERE revoked_after IS NULL),"                            \
    " s AS MATERIALIZED (SELECT w.key AS key, w.hi AS hi," STREAK_FROM("thriving") ","             \
    STREAK_FROM("support") "," STREAK_FROM("delivering") " FROM w),"                               \
    " sk AS (SELECT w.key AS key, w.aid AS aid, w.link_seen AS link_seen, w.skew AS skew,"         \
    "  coalesce(abs(w.skew) > :skew, 0) AS link_bad,"                                              \
    "  CASE WHEN abs(w.skew) <= :skew THEN coalesce(w.link_seen, -1) ELSE -1 END AS good_at"       \
    "  FROM w),"                                                                                   \
    " sk2 AS MATERIALIZED (SELECT sk.*, " AHEAD("min(received)") " AS ahead_since,"                \
    "  " AHEAD("max(ts - received)") " AS ahead_ms, " AHEAD("count(*)") " AS ahead_n FROM sk),"    \
    " a AS ("                                                                                      \
    " SELECT 1 AS sev, 'revoked_activity' AS kind, rf.key AS key, rf.first AS since,"              \
    "  printf(CASE rf.why WHEN 'connect' THEN 'connected %d time%s after revocation'"              \
    "  ELSE 'entries offered %d time%s after revocation' END, rf.n,"                               \
    "  CASE rf.n WHEN 1 THEN '' ELSE 's' END) AS detail"                                           \
    "  FROM refusals rf JOIN members mb ON mb.key = rf.key WHERE mb.revoked_after IS NOT NULL"     \
    " UNION ALL"                                                                                   \
    " SELECT 2, 'fork', au.key, min(fk.received), printf('wrote two entries as seq %d%s',"         \
    "  min(fk.seq), CASE WHEN count(DISTINCT fk.seq) > 1 THEN printf(' (+%d more)',"               \
    "  count(DISTINCT fk.seq) - 1) ELSE '' END)"                                                   \
    "  FROM forks fk JOIN authors au ON au.id = fk.author GROUP BY fk.author"                      \
    " UNION ALL" NO_STREAK("3", "not_thriving", "thriving", "not thriving")                        \
    " UNION ALL" NO_STREAK("4", "no_support", "support", "no support")                             \
    " UNION ALL"                                                                                   \
    " SELECT 5, 'silent', key, " LATER("seen", "admitted") " + :silent,"                           \
    "  CASE WHEN seen IS NULL THEN printf('nothing heard since joining %d days ago', "             \
    DAYS("admitted") ") ELSE printf('nothing heard for %d days', " DAYS("seen") ") END"            \
    "  FROM w WHERE :now - " LATER("seen", "admitted") " > :silent"                                \
    " UNION ALL"                                                                                   \
    " SELECT 6, 'overdue_checkin', key, " LATER("checkin_at", "admitted") " + :overdue,"           \
    "  CASE WHEN checkin_at IS NULL THEN printf('no check-in since joining %d days ago', "         \
    DAYS("admitted") ") ELSE printf('no check-in for %d days', " DAYS("checkin_at") ") END"        \
    "  FROM w WHERE :now - " LATER("checkin_at", "admitted") " > :overdue"                         \
    " UNION ALL" NO_STREAK("7", "not_delivering", "delivering", "not delivering")                  \
    " UNION ALL"                                                                                   \
    " SELECT 8, 'kpi_below_target', key, end_ms,"                                                  \
    "  CASE WHEN value IS NULL THEN printf('%s: nothing in %s', kpi, label)"                       \
    "  WHEN direction = 'at_most' THEN printf('%s %g, at most %g, in %s', kpi, value, target,"     \
    "  label) ELSE printf('%s %g of %g in %s (%d%%)', kpi, value, target, label,"                  \
    "  CAST(attainment * 100 AS INTEGER)) END"                                                     \
    "  FROM ka WHERE which = 'last' AND revoked_after IS NULL AND attainment < 1"                  \
    "  AND (admitted IS NULL OR admitted < end_ms)"                                                \
    " UNION ALL"                                                                                   \
    " SELECT 9, 'no_contact', key, " LATER("contact", "admitted") " + :nocontact,"                 \
    "  CASE WHEN contact IS NULL THEN printf('no contact since joining %d days ago', "             \
    DAYS("admitted") ") ELSE printf('no contact for %d days', " DAYS("contact") ") END"            \
    "  FROM w WHERE :now - " LATER("contact", "admitted") " > :nocontact"                          \
    " UNION ALL"                                                                                   \
    " SELECT 10, 'clock_skew', key, CASE WHEN link_bad THEN coalesce(min(ahead_since,"             \
    "  link_seen), link_seen) ELSE ahead_since END,"                                               \
    "  CASE WHEN link_bad THEN printf('clock %s %d min at its last link', CASE WHEN skew > 0"      \
    "  THEN 'ahead' ELSE 'behind' END, abs(skew) / 60000)"                                         \
    "  ELSE printf('clock ahead by %d+ min (%d entr%s)', ahead_ms / 60000, ahead_n,"               \
    "  CASE ahead_n WHEN 1 THEN 'y' ELSE 'ies' END) END"                                           \
    "  FROM sk2 WHERE link_bad OR ahead_since IS NOT NULL),"                                       \
    " r AS (SELECT a.*, " CLI_NAME_OF("a.key") " AS name FROM a"                                   \
    "  ORDER BY sev, name COLLATE NOCASE, key)"

static const char alerts_json[] =
    ALERT_ROWS " SELECT coalesce(json_group_array(json_object('kind', kind, 'key', b64(key),"
               " 'name', name, 'since', " ISO("since") ", 'detail', detail)), '[]'), count(*)"
               " FROM r";

static const char alerts_table[] = ALERT_ROWS " SELECT kind, name, since, detail FROM r";

/* Reads the settings into vals (the defaults where none is saved). */
static int
read_settings(const cli_ctx *c, cli_node *n, long vals[N_THRESHOLDS])
{
    for (int i = 0; i < N_THRESHOLDS; i++) {
        char buf[32];
        op_err r = store_db_meta_get(n->db, thresholds[i].meta, buf, sizeof buf, NULL);
        vals[i] = thresholds[i].def;
        if (r == OP_E_NOTFOUND)
            continue;
        if (r != OP_OK)
            return cli_fail_err(c, r, "cannot read the alert settings");
        if (!cli_parse_int(buf, 1, thresholds[i].max, &vals[i]))
            return cli_fail(c, CLI_FAIL, "the setting %s is '%s', not a number from 1 to %ld; "
                                         "fix it with 'outpost alerts --set %s=N'",
                            thresholds[i].name, buf, thresholds[i].max, thresholds[i].name);
    }
    return CLI_OK;
}

static int
print_settings(const cli_ctx *c, cli_node *n)
{
    long vals[N_THRESHOLDS];
    int code = read_settings(c, n, vals);
    if (code != CLI_OK)
        return code;
    if (c->json) {
        sqlite3_stmt *st;
        if (sqlite3_prepare_v2(store_db_handle(n->db),
                               "SELECT json_object(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)", -1, &st,
                               NULL) != SQLITE_OK)
            return cli_fail(c, CLI_FAIL, "query failed: %s", store_db_errmsg(n->db));
        _Static_assert(N_THRESHOLDS == 4, "one pair of parameters per threshold");
        for (int i = 0; i < N_THRESHOLDS; i++) {
            sqlite3_bind_text(st, 2 * i + 1, thresholds[i].name, -1, SQLITE_STATIC);
            sqlite3_bind_int64(st, 2 * i + 2, vals[i]);
        }
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW)
            printf("%s\n", (const char *)sqlite3_column_text(st, 0));
        sqlite3_finalize(st);
        return rc == SQLITE_ROW ? CLI_OK : cli_fail_err(c, store_db_code(rc), "query failed");
    }
    for (int i = 0; i < N_THRESHOLDS; i++)
        printf("%-16s %ld%s\n", thresholds[i].name, vals[i],
               vals[i] == thresholds[i].def ? " (default)" : "");
    return CLI_OK;
}

/* Finds a threshold by its name (the first len bytes of s). */
static int
threshold_index(const char *s, size_t len)
{
    for (int i = 0; i < N_THRESHOLDS; i++)
        if (strlen(thresholds[i].name) == len && strncmp(thresholds[i].name, s, len) == 0)
            return i;
    return -1;
}

/* --set NAME=VALUE...: checks them all, then saves them in one transaction. */
static int
save_settings(const cli_ctx *c, const char *const *sets, int n_sets)
{
    int idx[MAX_SETS];
    long vals[MAX_SETS];
    cli_node n;
    op_err r = OP_OK;
    int code;

    for (int k = 0; k < n_sets; k++) {
        const char *eq = strchr(sets[k], '=');
        if (!eq || (idx[k] = threshold_index(sets[k], (size_t)(eq - sets[k]))) < 0)
            return cli_usage(c, "--set takes NAME=VALUE with NAME one of overdue-days, "
                                "silent-days, no-contact-days, skew-minutes; not '%s'", sets[k]);
        vals[k] = 0; /* empty: back to the default */
        if (eq[1] && !cli_parse_int(eq + 1, 1, thresholds[idx[k]].max, &vals[k]))
            return cli_usage(c, "%s must be a whole number from 1 to %ld, not '%s'",
                             thresholds[idx[k]].name, thresholds[idx[k]].max, eq + 1);
    }
    if ((code = cli_office_open(c, &n, CLI_OFFICE_LAST)) != CLI_OK)
        return code;
    sqlite3_stmt *del = NULL;
    if (sqlite3_prepare_v2(store_db_handle(n.db), "DELETE FROM meta WHERE k = ?", -1, &del,
                           NULL) != SQLITE_OK) {
        code = cli_fail(c, CLI_FAIL, "cannot save the settings: %s", store_db_errmsg(n.db));
        goto out;
    }
    if ((r = store_db_begin(n.db, true)) != OP_OK)
        goto fail;
    for (int k = 0; k < n_sets && r == OP_OK; k++) {
        if (vals[k]) {
            char text[24];
            snprintf(text, sizeof text, "%ld", vals[k]);
            r = store_db_meta_put_text(n.db, thresholds[idx[k]].meta, text);
        } else {
            sqlite3_reset(del);
            sqlite3_bind_text(del, 1, thresholds[idx[k]].meta, -1, SQLITE_STATIC);
            r = store_db_code(sqlite3_step(del));
        }
    }
    if (r != OP_OK) {
        store_db_rollback(n.db);
        goto fail;
    }
    if ((r = store_db_commit(n.db)) != OP_OK)
        goto fail;
    code = print_settings(c, &n);
    goto out;
fail:
    code = cli_fail_err(c, r, "the settings were not saved");
out:
    sqlite3_finalize(del);
    cli_node_close(&n);
    return code;
}

static int
print_table(const cli_ctx *c, cli_node *n, const cli_office_args *a, long *count)
{
    static const char *const heads[] = {"ALERT", "MEMBER", "SINCE", "DETAIL"};
    static const int widths[] = {16, 13, 9, 0}; /* the detail gets the rest of 80 columns */
    sqlite3_stmt *st;
    *count = 0;
    int rc = sqlite3_prepare_v2(store_db_handle(n->db), alerts_table, -1, &st, NULL);
    if (rc != SQLITE_OK)
        return cli_fail(c, CLI_FAIL, "query failed: %s", store_db_errmsg(n->db));
    cli_office_bind(st, a);
    cli_table *t = cli_table_new(4, heads, widths);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        char since[16];
        cli_office_ago(a->now, st, 2, since);
        const char *cells[4] = {(const char *)sqlite3_column_text(st, 0),
                                (const char *)sqlite3_column_text(st, 1), since,
                                (const char *)sqlite3_column_text(st, 3)};
        cli_table_add(t, cells);
        (*count)++;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        cli_table_free(t);
        return cli_fail_err(c, store_db_code(rc), "query failed");
    }
    char none[160];
    snprintf(none, sizeof none,
             "No alerts (overdue after %lld d, silent after %lld d, no contact after %lld d, "
             "clock skew over %lld min).",
             (long long)(a->overdue_ms / 86400000), (long long)(a->silent_ms / 86400000),
             (long long)(a->contact_ms / 86400000), (long long)(a->skew_ms / 60000));
    cli_table_done(t, none);
    return CLI_OK;
}

int
cli_alerts_main(cli_ctx *c, int argc, char **argv)
{
    enum { OPT_SET = 1, OPT_THRESHOLD }; /* OPT_THRESHOLD + i: thresholds[i] */
    static const struct option opts[] = {
        {"set", required_argument, NULL, OPT_SET},
        {"overdue-days", required_argument, NULL, OPT_THRESHOLD + 0},
        {"silent-days", required_argument, NULL, OPT_THRESHOLD + 1},
        {"no-contact-days", required_argument, NULL, OPT_THRESHOLD + 2},
        {"skew-minutes", required_argument, NULL, OPT_THRESHOLD + 3},
        CLI_COMMON_OPTS,
        {0},
    };
    const char *sets[MAX_SETS];
    long given[N_THRESHOLDS] = {0}, vals[N_THRESHOLDS];
    int n_sets = 0, opt, code;
    bool any_given = false;
    cli_node n;

    while ((opt = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        if (opt == OPT_SET) {
            if (n_sets == MAX_SETS)
                return cli_usage(c, "at most %d --set at once", MAX_SETS);
            sets[n_sets++] = optarg;
        } else if (opt >= OPT_THRESHOLD && opt < OPT_THRESHOLD + N_THRESHOLDS) {
            const struct threshold *th = &thresholds[opt - OPT_THRESHOLD];
            if (!cli_parse_int(optarg, 1, th->max, &given[opt - OPT_THRESHOLD]))
                return cli_usage(c, "--%s must be a whole number from 1 to %ld, not '%s'",
                                 th->name, th->max, optarg);
            any_given = true;
        } else if ((code = cli_common_opt(c, opt, help, argv)) >= 0) {
            return code;
        }
    }
    if (optind < argc)
        return cli_usage(c, "unexpected argument '%s'", argv[optind]);
    if (n_sets && any_given)
        return cli_usage(c, "--set saves settings; give the thresholds for one run without it");
    if (n_sets)
        return save_settings(c, sets, n_sets);
    if ((code = cli_office_open(c, &n, CLI_OFFICE_LAST)) != CLI_OK)
        return code;
    if ((code = read_settings(c, &n, vals)) != CLI_OK)
        goto out;
    for (int i = 0; i < N_THRESHOLDS; i++)
        if (given[i])
            vals[i] = given[i];
    cli_office_args a = {.now = c->now_ms,
                         .agent = cli_agent_call(c->dir, NULL),
                         .overdue_ms = vals[0] * thresholds[0].unit_ms,
                         .silent_ms = vals[1] * thresholds[1].unit_ms,
                         .contact_ms = vals[2] * thresholds[2].unit_ms,
                         .skew_ms = vals[3] * thresholds[3].unit_ms};
    long count;
    code = c->json ? cli_office_json(c, &n, alerts_json, &a, &count)
                   : print_table(c, &n, &a, &count);
    if (code == CLI_OK && count > 0)
        code = CLI_REPORT;
out:
    cli_node_close(&n);
    return code;
}
