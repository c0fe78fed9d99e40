/* office.c — shared pieces of `outpost team` and `outpost alerts` (see office.h). */
#include "tools/office.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/period.h"

#define DAY_MS 86400000ll

/* The first ms of a YYYY-MM-DD day (UTC). */
static bool
day_ms(const char *date, int64_t *ms)
{
    uint64_t t;
    if (!cli_parse_time(date, &t))
        return false;
    *ms = (int64_t)t;
    return true;
}

/* Adds kpi's current and last completed period of kind to temp.office_periods. */
static int
add_periods(sqlite3_stmt *ins, const char *kpi, const char *kind, uint64_t now, int periods)
{
    cli_period cur, last;
    int64_t from, to;
    if (!cli_period_containing(kind, now, &cur) || !day_ms(cur.from, &from) ||
        !day_ms(cur.to, &to) || !cli_period_containing(kind, (uint64_t)(from - DAY_MS), &last))
        return SQLITE_OK; /* a period kind this version does not know: no periods, no rows */
    const struct {
        const char *which;
        const cli_period *p;
        int64_t end;
    } rows[2] = {{"now", &cur, to + DAY_MS}, {"last", &last, from}};
    for (int i = 0; i < 2; i++) {
        if (!(periods & (i == 0 ? CLI_OFFICE_NOW : CLI_OFFICE_LAST)))
            continue;
        sqlite3_reset(ins);
        sqlite3_bind_text(ins, 1, kpi, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(ins, 2, rows[i].which, -1, SQLITE_STATIC);
        sqlite3_bind_text(ins, 3, rows[i].p->label, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(ins, 4, rows[i].p->from, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(ins, 5, rows[i].p->to, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(ins, 6, rows[i].end);
        int rc = sqlite3_step(ins);
        if (rc != SQLITE_DONE)
            return rc;
    }
    return SQLITE_OK;
}

static int
fill_periods(sqlite3 *h, uint64_t now, int periods)
{
    sqlite3_stmt *st = NULL, *ins = NULL;
    int rc;
    /* In memory and in the temp schema: nothing of this touches the node's file. */
    if ((rc = sqlite3_exec(h, "PRAGMA temp_store = MEMORY;"
                              "CREATE TEMP TABLE office_periods(kpi TEXT NOT NULL,"
                              " which TEXT NOT NULL, label TEXT, start TEXT, stop TEXT,"
                              " end_ms INTEGER, PRIMARY KEY(kpi, which))",
                           NULL, NULL, NULL)) != SQLITE_OK ||
        (rc = sqlite3_prepare_v2(h, "INSERT INTO temp.office_periods VALUES(?, ?, ?, ?, ?, ?)",
                                 -1, &ins, NULL)) != SQLITE_OK ||
        (rc = sqlite3_prepare_v2(h, "SELECT kpi, period FROM (SELECT kpi, period, row_number()"
                                    " OVER (PARTITION BY kpi ORDER BY written DESC, id DESC) AS rn"
                                    " FROM " CLI_KPI_DEFS ") WHERE rn = 1",
                                 -1, &st, NULL)) != SQLITE_OK)
        goto out;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *kind = (const char *)sqlite3_column_text(st, 1);
        if ((rc = add_periods(ins, (const char *)sqlite3_column_text(st, 0),
                              kind ? kind : "week", now, periods)) != SQLITE_OK)
            goto out;
    }
    if (rc == SQLITE_DONE)
        rc = SQLITE_OK;
out:
    sqlite3_finalize(st);
    sqlite3_finalize(ins);
    return rc;
}

/*
 * energy_trend(list): list is the energies of a member's newest check-ins, newest first,
 * comma-separated (group_concat). The mean of the newest 3 against the mean of the 3 before:
 * 'rising' or 'falling' when they differ by half a point or more, else 'steady'; NULL with
 * fewer than 4 (nothing to compare).
 */
static void
sql_energy_trend(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    const char *p = (const char *)sqlite3_value_text(argv[0]);
    double sum[2] = {0, 0};
    int n = 0, k[2] = {0, 0};
    (void)argc;
    while (p && *p && n < 6) {
        char *end;
        long e = strtol(p, &end, 10);
        if (end == p)
            break;
        sum[n >= 3] += (double)e;
        k[n >= 3]++;
        n++;
        p = *end == ',' ? end + 1 : end;
    }
    if (n < 4) {
        sqlite3_result_null(ctx);
        return;
    }
    double d = sum[0] / k[0] - sum[1] / k[1];
    sqlite3_result_text(ctx, d >= 0.5 ? "rising" : d <= -0.5 ? "falling" : "steady", -1,
                        SQLITE_STATIC);
}

int
cli_office_open(const cli_ctx *c, cli_node *n, int periods)
{
    int code = cli_node_open(c, n);
    if (code != CLI_OK)
        return code;
    if (strcmp(n->role, "office") != 0) {
        cli_node_close(n);
        return cli_fail(c, CLI_USAGE, "%s is an office command: %s is a %s node; run it on the "
                                      "office (its --dir)", c->cmd, c->dir,
                        n->role[0] ? n->role : "worker");
    }
    if (sqlite3_create_function(store_db_handle(n->db), "energy_trend", 1,
                                SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL, sql_energy_trend, NULL,
                                NULL) != SQLITE_OK ||
        fill_periods(store_db_handle(n->db), c->now_ms, periods) != SQLITE_OK) {
        code = cli_fail(c, CLI_FAIL, "cannot work out the KPI periods: %s",
                        store_db_errmsg(n->db));
        cli_node_close(n);
        return code;
    }
    return CLI_OK;
}

static void
bind_named(sqlite3_stmt *st, const char *name, int64_t v)
{
    int i = sqlite3_bind_parameter_index(st, name);
    if (i > 0)
        sqlite3_bind_int64(st, i, v);
}

void
cli_office_bind(sqlite3_stmt *st, const cli_office_args *a)
{
    bind_named(st, ":now", (int64_t)a->now);
    bind_named(st, ":agent", a->agent);
    bind_named(st, ":overdue", a->overdue_ms);
    bind_named(st, ":silent", a->silent_ms);
    bind_named(st, ":nocontact", a->contact_ms);
    bind_named(st, ":skew", a->skew_ms);
}

void
cli_office_bind_cb(sqlite3_stmt *st, void *arg)
{
    cli_office_bind(st, arg);
}

int
cli_office_json(const cli_ctx *c, cli_node *n, const char *sql, const cli_office_args *a,
                long *count)
{
    *count = 0;
    return cli_print_json_counted(c, n, sql, cli_office_bind_cb, (void *)a, count);
}

void
cli_office_ago(uint64_t now, sqlite3_stmt *st, int col, char out[16])
{
    if (sqlite3_column_type(st, col) == SQLITE_NULL) {
        snprintf(out, 16, "never");
        return;
    }
    int64_t d = (int64_t)now - sqlite3_column_int64(st, col);
    if (d < 3600000)
        snprintf(out, 16, "<1 h ago");
    else if (d < 48 * 3600000ll)
        snprintf(out, 16, "%d h ago", (int)(d / 3600000));
    else if (d / DAY_MS < 100000)
        snprintf(out, 16, "%d d ago", (int)(d / DAY_MS));
    else
        snprintf(out, 16, "long ago");
}
