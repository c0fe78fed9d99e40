/* cmd_team.c — `outpost team`: the office's view of its members, one row each (SPEC §9). */
#include <stdio.h>
#include <string.h>

#include "tools/cli.h"
#include "tools/office.h"

static const char help[] =
    "usage: outpost team [--dir DIR] [--json]\n"
    "\n"
    "(office) One row per member: name, site, the last check-in and how many there are, the\n"
    "latest answers (D delivering, T thriving, S support: y or n), the energy trend (E: mean\n"
    "energy of the last 3 check-ins against the 3 before: rising, steady or falling), the\n"
    "lowest KPI attainment this period, when the office last saw the member (an entry or a\n"
    "connection, by any path) and the last contact a leader recorded. Revoked members come\n"
    "last, marked. A check-in counts from when it was made, but never later than when it\n"
    "reached this node: a device clock that runs ahead cannot make anyone look fresher.\n"
    "KPI attainment is computed as 'outpost kpi report' does, with each KPI's aggregate (sum,\n"
    "mean or last value), for the current and the last completed period.\n"
    "\n"
    "--json: an array of {key, name, site, last_checkin, checkins, thriving, support,\n"
    "delivering, last_seen, kpis: [{id, value, target, attainment, unit, direction, aggregate,\n"
    "period}], kpis_last_period, energy, energy_trend, last_contact, admitted, revoked,\n"
    "revoked_after} (times in ISO 8601 UTC, null when unknown).\n";

#define ISO CLI_ISO
#define JSON_BOOL(x) "CASE " x " WHEN 1 THEN json('true') WHEN 0 THEN json('false') END"
#define KPI_OBJECT                                                                                 \
    "json_object('id', kpi, 'value', value, 'target', target, 'attainment', " OFFICE_FINITE("att0") "," \
    " 'unit', unit, 'direction', direction, 'aggregate', agg, 'period', label)"

/*
 * The member t's KPIs in one of its periods (which: 'now' or 'last'), ordered by KPI id, with
 * value and att0 (attainment, maybe not finite). Probed per member with the covering index
 * kpi_values_author. The ORDER BY and LIMIT keep SQLite from flattening the inner SELECT into
 * the outer one, which would compute each value once for every use of it.
 */
#define TEAM_KPIS(which)                                                                           \
    " FROM (SELECT y.*, " OFFICE_ATTAINMENT " AS att0 FROM (SELECT dp.*, "                         \
    OFFICE_KPI_VALUE("v.author = t.aid AND v.kpi = dp.kpi AND v.at BETWEEN dp.start AND dp.stop")  \
    " AS value FROM dp WHERE dp.which = '" which "' AND (dp.for_key IS NULL OR dp.for_key = t.key)" \
    " ORDER BY dp.kpi LIMIT -1) y)"

/* The member's facts and check-in figures (t), after the office CTEs. */
#define TEAM_FACTS                                                                                 \
    "WITH" OFFICE_MEMBERS_SQL "," OFFICE_KPIS_SQL ","                                              \
    " t AS MATERIALIZED (SELECT g.*,"                                                              \
    "  coalesce((SELECT n FROM checkin_counts WHERE author = g.aid), 0) AS n_checkins,"            \
    "  energy_trend((SELECT group_concat(energy) FROM (SELECT energy FROM checkins"                \
    "   WHERE id BETWEEN g.lo AND g.hi AND energy IS NOT NULL ORDER BY id DESC LIMIT 6)))"         \
    "   AS trend FROM g)"
#define TEAM_ORDER " ORDER BY t.revoked_after IS NOT NULL, t.name COLLATE NOCASE, t.key"

/* One JSON object per member. A scalar subquery's JSON keeps its JSON subtype, so the KPI
 * arrays are not parsed again by json_object. */
static const char team_json[] =
    TEAM_FACTS " SELECT json_object('key', b64(t.key), 'name', t.name, 'site', t.site,"
               " 'last_checkin', " ISO("t.checkin_at") ", 'checkins', t.n_checkins,"
               " 'thriving', " JSON_BOOL("t.thriving") ", 'support', " JSON_BOOL("t.support") ","
               " 'delivering', " JSON_BOOL("t.delivering") ", 'last_seen', " ISO("t.seen") ","
               " 'kpis', (SELECT json_group_array(" KPI_OBJECT ")" TEAM_KPIS("now") "),"
               " 'kpis_last_period', (SELECT json_group_array(" KPI_OBJECT ")" TEAM_KPIS("last") "),"
               " 'energy', t.energy, 'energy_trend', t.trend, 'last_contact', " ISO("t.contact") ","
               " 'admitted', " ISO("t.admitted") ", 'revoked', "
               JSON_BOOL("(t.revoked_after IS NOT NULL)") ", 'revoked_after', t.revoked_after)"
               " FROM t" TEAM_ORDER;

static const char team_table[] =
    TEAM_FACTS " SELECT t.name, CASE WHEN t.revoked_after IS NOT NULL THEN '(revoked)'"
               " ELSE t.site END, t.checkin_at, t.n_checkins, t.delivering, t.thriving, t.support,"
               " t.trend, (SELECT min(" OFFICE_FINITE("att0") ")" TEAM_KPIS("now") "), t.seen,"
               " t.contact FROM t" TEAM_ORDER;

static const char *
yn(sqlite3_stmt *st, int col)
{
    if (sqlite3_column_type(st, col) == SQLITE_NULL)
        return "-";
    return sqlite3_column_int(st, col) ? "y" : "n";
}

static const char *
arrow(const char *trend)
{
    if (!trend)
        return "-";
    return strcmp(trend, "rising") == 0    ? "\xe2\x86\x91"  /* ↑ */
           : strcmp(trend, "falling") == 0 ? "\xe2\x86\x93"  /* ↓ */
                                           : "\xe2\x86\x92"; /* → */
}

static int
print_table(const cli_ctx *c, cli_node *n, const cli_office_args *a)
{
    static const char *const heads[] = {"NAME", "SITE", "CHECK-IN", "#", "D T S",
                                        "E",    "KPI",  "SEEN",     "CONTACT"};
    /* 14+9+9+4+5+1+4+9+9 and 2 between each: 80 columns */
    static const int widths[] = {14, 9, 9, 4, 5, 1, 4, 9, 9};
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(store_db_handle(n->db), team_table, -1, &st, NULL);
    if (rc != SQLITE_OK)
        return cli_fail(c, CLI_FAIL, "query failed: %s", store_db_errmsg(n->db));
    cli_office_bind(st, a);
    cli_table *t = cli_table_new(9, heads, widths);
    long rows = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        rows++;
        char checkin[16], count[24], dts[8], kpi[16] = "-", seen[16], contact[16];
        cli_office_ago(a->now, st, 2, checkin);
        snprintf(count, sizeof count, "%lld", (long long)sqlite3_column_int64(st, 3));
        snprintf(dts, sizeof dts, "%s %s %s", yn(st, 4), yn(st, 5), yn(st, 6));
        if (sqlite3_column_type(st, 8) != SQLITE_NULL) {
            double att = sqlite3_column_double(st, 8);
            if (att < 9.995)
                snprintf(kpi, sizeof kpi, "%.0f%%", att < 0 ? 0 : 100 * att);
            else
                snprintf(kpi, sizeof kpi, "999+");
        }
        cli_office_ago(a->now, st, 9, seen);
        cli_office_ago(a->now, st, 10, contact);
        const char *cells[9] = {(const char *)sqlite3_column_text(st, 0),
                                (const char *)sqlite3_column_text(st, 1),
                                checkin,
                                count,
                                dts,
                                arrow((const char *)sqlite3_column_text(st, 7)),
                                kpi,
                                seen,
                                contact};
        cli_table_add(t, cells);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        cli_table_free(t);
        return cli_fail_err(c, store_db_code(rc), "query failed");
    }
    cli_table_done(t, "No members yet: invite one with 'outpost invite --name NAME'.");
    if (rows)
        puts("D T S: delivering, thriving, support; E: energy trend; KPI: lowest this period");
    return CLI_OK;
}

int
cli_team_main(cli_ctx *c, int argc, char **argv)
{
    cli_node n;
    int code;
    long rows;

    if ((code = cli_parse_plain(c, argc, argv, help)) >= 0)
        return code;
    /* people see this period's KPIs; scripts get the last completed period's too */
    if ((code = cli_office_open(c, &n, c->json ? CLI_OFFICE_NOW | CLI_OFFICE_LAST
                                               : CLI_OFFICE_NOW)) != CLI_OK)
        return code;
    cli_office_args a = {.now = c->now_ms, .agent = cli_agent_call(c->dir, NULL)};
    code = c->json ? cli_print_json_rows(c, &n, team_json, cli_office_bind_cb, &a, &rows) : print_table(c, &n, &a);
    cli_node_close(&n);
    return code;
}
