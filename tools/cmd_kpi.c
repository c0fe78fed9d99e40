/* cmd_kpi.c — `outpost kpi define | record | list | report`. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/seal.h"
#include "store/log.h"
#include "tools/cli.h"
#include "tools/period.h"

static const char help[] =
    "usage: outpost kpi define ID --target N [--unit U] [--period day|week|month]\n"
    "                   [--direction at_least|at_most] [--aggregate sum|mean|last]\n"
    "                   [--title T] [--for KEY]\n"
    "       outpost kpi record ID VALUE [--at YYYY-MM-DD] [--note TEXT]\n"
    "       outpost kpi list\n"
    "       outpost kpi report [--period 2026-W47|2026-11|2026-11-25]\n"
    "\n"
    "KPIs are SMART goals with a number: \"3 articles a week\", \"reply within 4 hours\".\n"
    "  define   ID is a short slug (a-z, 0-9, '-', '_'). --period defaults to\n"
    "           week, --direction to at_least (at_most: lower is better). --for\n"
    "           limits it to one member's key; without it the KPI is everyone's.\n"
    "           --aggregate: how a period's values combine into its value:\n"
    "             sum   counts (articles, calls): the values added up\n"
    "             mean  states (a score, a rating, a percentage): their average\n"
    "             last  levels (a backlog): the value of the latest day in the\n"
    "                   period; on one day, the one written last (by its seq,\n"
    "                   whatever the clock said)\n"
    "           Without it: mean when the unit names a state (%, percent, score,\n"
    "           rating, level, ratio, nps, avg, average), else sum.\n"
    "  record   saves VALUE for the day --at (default today). A KPI this node has\n"
    "           no definition of yet is saved anyway, with a warning, and reported\n"
    "           once the definition arrives. Negative values go after --:\n"
    "           kpi record temp -- -3\n"
    "  list     the definitions this node holds (the newest for each ID), with\n"
    "           the aggregation in effect (AGG)\n"
    "  report   per member and KPI: the period's value, the target and\n"
    "           attainment. A value counts in the period that holds its day (--at),\n"
    "           whenever it was written. With nothing recorded, a sum is 0; a mean\n"
    "           or last has no value and no attainment. Attainment:\n"
    "             at_least  value/target (over 100% when exceeded)\n"
    "             at_most   100% at or under the target (a value of 0 included),\n"
    "                       else target/value\n"
    "             a target of 0 or below: 100% when met, else 0% (a ratio across\n"
    "             zero means nothing)\n"
    "           TARGET shows the direction (>= at least, <= at most) and the unit.\n"
    "           Without --period, each KPI's current period; with it, every KPI\n"
    "           over that ISO week (Monday to Sunday; week 53 only where the year\n"
    "           has one), month or day, against its target as defined.\n"
    "All take --dir DIR and --json.\n";

enum {
    OPT_TARGET = 1,
    OPT_UNIT,
    OPT_PERIOD,
    OPT_DIRECTION,
    OPT_AGGREGATE,
    OPT_TITLE,
    OPT_FOR,
    OPT_AT,
    OPT_NOTE
};

static const struct option opts[] = {
    {"target", required_argument, NULL, OPT_TARGET},
    {"unit", required_argument, NULL, OPT_UNIT},
    {"period", required_argument, NULL, OPT_PERIOD},
    {"direction", required_argument, NULL, OPT_DIRECTION},
    {"aggregate", required_argument, NULL, OPT_AGGREGATE},
    {"title", required_argument, NULL, OPT_TITLE},
    {"for", required_argument, NULL, OPT_FOR},
    {"at", required_argument, NULL, OPT_AT},
    {"note", required_argument, NULL, OPT_NOTE},
    CLI_COMMON_OPTS,
    {0},
};

typedef struct args {
    const char *target, *unit, *period, *direction, *aggregate, *title, *for_key, *at, *note;
    int npos;
    const char *pos[4];
} args;

/* Parses the options of `kpi SUB`; which options are allowed is checked by the caller. */
static int
parse(cli_ctx *c, int argc, char **argv, args *a)
{
    int opt, code;
    memset(a, 0, sizeof *a);
    while ((opt = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        const char **slot = NULL;
        switch (opt) {
        case OPT_TARGET: slot = &a->target; break;
        case OPT_UNIT: slot = &a->unit; break;
        case OPT_PERIOD: slot = &a->period; break;
        case OPT_DIRECTION: slot = &a->direction; break;
        case OPT_AGGREGATE: slot = &a->aggregate; break;
        case OPT_TITLE: slot = &a->title; break;
        case OPT_FOR: slot = &a->for_key; break;
        case OPT_AT: slot = &a->at; break;
        case OPT_NOTE: slot = &a->note; break;
        default:
            if ((code = cli_common_opt(c, opt, help, argv)) >= 0)
                return code;
        }
        if (slot)
            *slot = optarg;
    }
    for (int i = optind; i < argc; i++) {
        if (a->npos == 4)
            return cli_usage(c, "too many arguments");
        a->pos[a->npos++] = argv[i];
    }
    return -1;
}

/* Refuses options that the subcommand does not take (they would be silently ignored). */
static int
only(const cli_ctx *c, const args *a, const char *allowed)
{
    const struct {
        const char *v, *name;
    } all[] = {{a->target, "target"},       {a->unit, "unit"},   {a->period, "period"},
               {a->direction, "direction"}, {a->aggregate, "aggregate"}, {a->title, "title"},
               {a->for_key, "for"},         {a->at, "at"},       {a->note, "note"}};
    char needle[32], list[128];
    snprintf(list, sizeof list, " %s ", allowed);
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        snprintf(needle, sizeof needle, " %s ", all[i].name);
        if (all[i].v && !strstr(list, needle))
            return cli_usage(c, "--%s does not apply here", all[i].name);
    }
    return -1;
}

static char *
dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

static int
save(cli_ctx *c, cli_node *n, const proto_body *b, const char *what)
{
    store_appended done;
    op_err r = store_log_append(n->db, n->rd, n->id, b, c->now_ms, &done);
    if (r != OP_OK)
        return cli_fail_err(c, r, "not saved");
    OP_IGNORE(cli_agent_call(c->dir, "nudge")); /* a running agent pushes it now; else later */
    if (c->json) {
        char sql[256];
        snprintf(sql, sizeof sql,
                 "SELECT json_object('author', b64((SELECT v FROM meta WHERE k = 'key')),"
                 " 'seq', %llu, 'kind', '%s', 'saved', json('true'))",
                 (unsigned long long)done.seq, proto_kind_name(b->kind));
        return cli_print_json(c, n, sql, NULL, NULL);
    }
    printf("Saved %s (entry %llu).\n", what, (unsigned long long)done.seq);
    return CLI_OK;
}

static int
define(cli_ctx *c, const args *a)
{
    proto_body b;
    cli_node n;
    int code;
    char what[256];

    if (a->npos != 1)
        return cli_usage(c, "kpi define needs exactly one ID");
    if (!proto_is_slug(a->pos[0]))
        return cli_usage(c, "KPI ID '%s' must be 1-%d characters of a-z, 0-9, '-' and '_'",
                         a->pos[0], PROTO_ID_MAX_BYTES);
    if (!a->target)
        return cli_usage(c, "--target is required: the number to reach");
    proto_body_init(&b, PROTO_KIND_KPI_DEF);
    if (!cli_parse_number(a->target, &b.target) || fabs(b.target) > PROTO_NUMBER_MAX) {
        code = cli_usage(c, "--target must be a number from -1e15 to 1e15, not '%s'", a->target);
        goto out;
    }
    if (a->period && strcmp(a->period, "day") && strcmp(a->period, "week") &&
        strcmp(a->period, "month")) {
        code = cli_usage(c, "--period must be day, week or month, not '%s'", a->period);
        goto out;
    }
    if (a->direction && strcmp(a->direction, "at_least") && strcmp(a->direction, "at_most")) {
        code = cli_usage(c, "--direction must be at_least or at_most, not '%s'", a->direction);
        goto out;
    }
    if (a->aggregate && strcmp(a->aggregate, "sum") && strcmp(a->aggregate, "mean") &&
        strcmp(a->aggregate, "last")) {
        code = cli_usage(c, "--aggregate must be sum, mean or last, not '%s'", a->aggregate);
        goto out;
    }
    if ((a->unit && strlen(a->unit) > PROTO_NAME_MAX_BYTES) ||
        (a->title && strlen(a->title) > PROTO_NAME_MAX_BYTES)) {
        code = cli_usage(c, "--unit and --title take at most %d bytes", PROTO_NAME_MAX_BYTES);
        goto out;
    }
    if ((a->unit && !proto_is_utf8(a->unit, strlen(a->unit))) ||
        (a->title && !proto_is_utf8(a->title, strlen(a->title)))) {
        code = cli_usage(c, "--unit and --title must be valid UTF-8 text");
        goto out;
    }
    if (a->for_key) {
        if (proto_key_from_text(a->for_key, b.for_key) != OP_OK) {
            code = cli_usage(c, "--for needs a member key (44 characters of base64), not '%s'",
                             a->for_key);
            goto out;
        }
        b.has_for = true;
    }
    b.id = strdup(a->pos[0]);
    b.unit = dup_or_null(a->unit);
    b.title = dup_or_null(a->title);
    b.period = strdup(a->period ? a->period : "week");
    b.direction = strdup(a->direction ? a->direction : "at_least");
    b.aggregate = dup_or_null(a->aggregate); /* absent: the projection picks one by unit */
    if (!b.id || !b.period || !b.direction || (a->unit && !b.unit) || (a->title && !b.title) ||
        (a->aggregate && !b.aggregate)) {
        code = cli_fail(c, CLI_FAIL, "out of memory; nothing was saved");
        goto out;
    }
    if ((code = cli_node_open(c, &n)) != CLI_OK)
        goto out;
    snprintf(what, sizeof what, "KPI '%s': %s %g per %s, the %s of a period's values", b.id,
             strcmp(b.direction, "at_most") ? "at least" : "at most", b.target, b.period,
             proto_kpi_aggregate(&b));
    code = save(c, &n, &b, what);
    cli_node_close(&n);
out:
    proto_body_fini(&b);
    return code;
}

static int
record(cli_ctx *c, const args *a)
{
    proto_body b;
    cli_node n;
    char today[11], what[160];
    int code;

    if (a->npos != 2)
        return cli_usage(c, "kpi record needs an ID and a VALUE");
    if (!proto_is_slug(a->pos[0]))
        return cli_usage(c, "KPI ID '%s' must be 1-%d characters of a-z, 0-9, '-' and '_'",
                         a->pos[0], PROTO_ID_MAX_BYTES);
    proto_body_init(&b, PROTO_KIND_KPI_VALUE);
    if (!cli_parse_number(a->pos[1], &b.value) || fabs(b.value) > PROTO_NUMBER_MAX) {
        code = cli_usage(c, "VALUE must be a number from -1e15 to 1e15, not '%s'", a->pos[1]);
        goto out;
    }
    if (a->at && !proto_is_date(a->at)) {
        code = cli_usage(c, "--at must be a date YYYY-MM-DD, not '%s'", a->at);
        goto out;
    }
    if (a->note && strlen(a->note) > PROTO_TEXT_MAX_BYTES) {
        code = cli_usage(c, "--note takes at most %d bytes", PROTO_TEXT_MAX_BYTES);
        goto out;
    }
    if (a->note && !proto_is_utf8(a->note, strlen(a->note))) {
        code = cli_usage(c, "--note must be valid UTF-8 text");
        goto out;
    }
    cli_date(c->now_ms, today);
    b.id = strdup(a->pos[0]);
    b.at = strdup(a->at ? a->at : today);
    b.note = dup_or_null(a->note);
    if ((code = cli_node_open(c, &n)) != CLI_OK)
        goto out;
    sqlite3_stmt *st;
    bool undefined = false;
    if (store_db_stmt(n.db, "SELECT 1 FROM kpi_defs WHERE kpi = ?", &st) == OP_OK) {
        sqlite3_bind_text(st, 1, b.id, -1, SQLITE_STATIC);
        undefined = sqlite3_step(st) != SQLITE_ROW;
        sqlite3_reset(st);
    }
    snprintf(what, sizeof what, "%s = %g for %s", b.id, b.value, b.at);
    code = save(c, &n, &b, what);
    /* Only once it is saved: on a full disk the one line on stderr is the refusal. */
    if (undefined && code == CLI_OK)
        fprintf(stderr, "outpost kpi record: warning: this node has no definition of KPI "
                        "'%s' yet; the value is saved and will be reported once the "
                        "definition arrives\n", b.id);
    cli_node_close(&n);
out:
    proto_body_fini(&b);
    return code;
}

/* The newest definition of each KPI id. */
#define LATEST_DEFS                                                                                \
    "defs AS (SELECT * FROM (SELECT d.*, row_number() OVER (PARTITION BY d.kpi"                    \
    " ORDER BY d.written DESC, d.id DESC) AS rn FROM " CLI_KPI_DEFS " d) WHERE rn = 1)"

/* A number for a table cell at most w characters wide: whole numbers in full when they fit,
 * else as many significant digits as fit (the table cuts what still does not). */
static void
fmt_num(char *buf, size_t n, double v, int w)
{
    for (int prec = 15; prec > 0; prec--) {
        snprintf(buf, n, "%.*g", prec, v);
        if ((int)strlen(buf) <= w)
            return;
    }
}

static int
list(cli_ctx *c, const args *a)
{
    cli_node n;
    sqlite3_stmt *st;
    int code;
    if (a->npos)
        return cli_usage(c, "kpi list takes no arguments");
    if ((code = cli_node_open(c, &n)) != CLI_OK)
        return code;
    if (c->json) {
        code = cli_print_json(
            c, &n,
            "WITH " LATEST_DEFS " SELECT coalesce(json_group_array(json_object("
            "'id', d.kpi, 'title', d.title, 'target', d.target, 'unit', d.unit,"
            " 'period', d.period, 'direction', d.direction, 'aggregate', d.aggregate,"
            " 'for', b64(d.for_key), 'defined_by', b64(a.key), 'ts',"
            " strftime('%Y-%m-%dT%H:%M:%fZ', d.ts / 1000.0, 'unixepoch'))), '[]')"
            " FROM (SELECT * FROM defs ORDER BY kpi) d JOIN authors a ON a.id = d.author",
            NULL, NULL);
        cli_node_close(&n);
        return code;
    }
    static const char *const heads[] = {"ID",  "TARGET", "UNIT", "PERIOD", "DIRECTION",
                                        "AGG", "FOR",    "TITLE"};
    static const int widths[] = {16, 8, 8, 6, 9, 4, 8, 0};
    cli_table *t = cli_table_new(8, heads, widths);
    int rc = sqlite3_prepare_v2(store_db_handle(n.db),
                                "WITH " LATEST_DEFS " SELECT kpi, target, unit, period, direction,"
                                " aggregate, coalesce(short_key(for_key), 'everyone'), title"
                                " FROM defs ORDER BY kpi",
                                -1, &st, NULL);
    if (rc != SQLITE_OK) {
        cli_table_free(t);
        cli_node_close(&n);
        return cli_fail(c, CLI_FAIL, "query failed: %s", sqlite3_errstr(rc));
    }
    while (sqlite3_step(st) == SQLITE_ROW) {
        char target[32];
        fmt_num(target, sizeof target, sqlite3_column_double(st, 1), widths[1]);
        const char *cells[8] = {(const char *)sqlite3_column_text(st, 0), target,
                                (const char *)sqlite3_column_text(st, 2),
                                (const char *)sqlite3_column_text(st, 3),
                                (const char *)sqlite3_column_text(st, 4),
                                (const char *)sqlite3_column_text(st, 5),
                                (const char *)sqlite3_column_text(st, 6),
                                (const char *)sqlite3_column_text(st, 7)};
        cli_table_add(t, cells);
    }
    sqlite3_finalize(st);
    cli_table_done(t, "No KPIs defined yet. Define one with 'outpost kpi define ID --target "
                      "N'.");
    cli_node_close(&n);
    return CLI_OK;
}

/* The values of member r.author for KPI r.kpi whose day (at) lies in r's period: a value
 * belongs to the day it was recorded for, not to the day it was written. */
#define IN_PERIOD                                                                                  \
    " FROM kpi_values k WHERE k.author = r.author AND k.kpi = r.kpi"                               \
    " AND k.at BETWEEN r.start AND r.stop"

/*
 * Per member and KPI over each KPI's period (temp.periods): the value by the KPI's aggregation,
 * the target, attainment and whether it is met. The rules are in `help` above and the README.
 */
#define REPORT_ROWS                                                                                \
    "WITH " LATEST_DEFS ","                                                                        \
    /* who the KPIs are for: this node if it is a worker, and every worker member it knows */   \
    " workers AS (SELECT v AS key FROM meta WHERE k = 'key' AND (SELECT v FROM meta"              \
    "   WHERE k = 'role') = 'worker'"                                                              \
    "  UNION SELECT key FROM members WHERE role = 'worker' AND revoked_after IS NULL),"           \
    /* who has values in each period: one probe of the (author, kpi, at) index per author and \
     * KPI, not a read of every value in the period */                                          \
    " pairs AS (SELECT a.id AS author, p.kpi AS kpi FROM authors a CROSS JOIN temp.periods p"      \
    "   WHERE EXISTS (SELECT 1 FROM kpi_values v WHERE v.author = a.id AND v.kpi = p.kpi"          \
    "   AND v.at BETWEEN p.start AND p.stop)"                                                      \
    "  UNION SELECT a.id, d.kpi FROM workers w JOIN authors a ON a.key = w.key, defs d"           \
    "   WHERE d.for_key IS NULL OR d.for_key = w.key),"                                           \
    " r AS (SELECT x.author AS author, a.key AS key, " CLI_NAME_OF("a.key") " AS name,"            \
    "   x.kpi AS kpi, p.label AS period, p.start AS start, p.stop AS stop,"                        \
    /* values with no definition here yet add up, as a count would */                            \
    "   coalesce(d.aggregate, 'sum') AS aggregate, d.target AS target, d.unit AS unit,"           \
    "   d.direction AS direction"                                                                  \
    "   FROM pairs x JOIN authors a ON a.id = x.author JOIN temp.periods p ON p.kpi = x.kpi"       \
    "   LEFT JOIN defs d ON d.kpi = x.kpi),"                                                       \
    /* MATERIALIZED: s0 names value many times, and each would run the subquery again */       \
    " v AS MATERIALIZED (SELECT r.*, CASE r.aggregate"                                             \
    "   WHEN 'mean' THEN (SELECT avg(k.value)" IN_PERIOD ")"                                       \
    /* the latest day's; on one day, the entry written last: the values are one author's, so  \
     * its seq says which, whatever its clock said (TESTING B7; as team and alerts judge it) */ \
    "   WHEN 'last' THEN (SELECT k.value" IN_PERIOD " ORDER BY k.at DESC, k.seq DESC LIMIT 1)"    \
    "   ELSE (SELECT total(k.value)" IN_PERIOD ") END AS value FROM r),"                          \
    /* A ratio across zero means nothing: with a target <= 0, met is 100% and unmet 0%. */       \
    " s0 AS (SELECT *, CASE WHEN target IS NULL OR value IS NULL THEN NULL"                        \
    "   WHEN direction = 'at_most' THEN CASE WHEN value <= target THEN 1.0"                        \
    "     WHEN target > 0 THEN target / value ELSE 0.0 END"                                        \
    "   WHEN target > 0 THEN value / target WHEN value >= target THEN 1.0 ELSE 0.0 END AS att,"    \
    "  CASE WHEN target IS NULL OR value IS NULL THEN NULL WHEN direction = 'at_most'"             \
    "   THEN value <= target ELSE value >= target END AS is_met FROM v),"                          \
    /* A ratio with a tiny target can overflow: no number is better than Inf in JSON. */          \
    " s AS (SELECT *, CASE WHEN att BETWEEN -1e300 AND 1e300 THEN att END AS attainment FROM s0)"

/* The attainment cell: a whole percentage, or a bound when it would not fit. */
static void
fmt_attainment(char *buf, size_t n, double att)
{
    double pct = round(100 * att);
    if (pct >= 10000)
        snprintf(buf, n, ">9999%%");
    else if (pct <= -1000)
        snprintf(buf, n, "<-999%%");
    else
        snprintf(buf, n, "%.0f%%", pct == 0 ? 0.0 : pct); /* never "-0%" */
}

/* Fills temp.periods: for each KPI this node knows of, the period to report (fixed, or
 * else the one of the KPI's own kind that holds now). */
static int
fill_periods(const cli_ctx *c, sqlite3 *h, const cli_period *fixed)
{
    sqlite3_stmt *st = NULL, *ins = NULL;
    cli_period p;
    int rc;
    if ((rc = sqlite3_exec(h, "CREATE TEMP TABLE periods(kpi TEXT PRIMARY KEY, label, start,"
                              " stop)", NULL, NULL, NULL)) != SQLITE_OK ||
        (rc = sqlite3_prepare_v2(h, "INSERT INTO temp.periods VALUES(?, ?, ?, ?)", -1, &ins,
                                 NULL)) != SQLITE_OK ||
        /* The KPIs with values by a skip-scan of the (kpi, at) index, one probe per KPI: a
         * plain DISTINCT would read every value (a million at a big office). */
        (rc = sqlite3_prepare_v2(h, "WITH RECURSIVE kv(kpi) AS (SELECT min(kpi) FROM kpi_values"
                                    " UNION ALL SELECT (SELECT min(kpi) FROM kpi_values"
                                    " WHERE kpi > kv.kpi) FROM kv WHERE kpi IS NOT NULL)"
                                    " SELECT DISTINCT kpi, coalesce((SELECT period FROM "
                                    CLI_KPI_DEFS " d WHERE d.kpi = k.kpi ORDER BY written DESC,"
                                    " id DESC LIMIT 1),"
                                    " 'week') FROM (SELECT kpi FROM kpi_defs UNION"
                                    " SELECT kpi FROM kv WHERE kpi IS NOT NULL) k",
                                 -1, &st, NULL)) != SQLITE_OK)
        goto out;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *kind = (const char *)sqlite3_column_text(st, 1);
        if (fixed)
            p = *fixed;
        else if (!kind || !cli_period_containing(kind, c->now_ms, &p))
            continue;
        sqlite3_bind_text(ins, 1, (const char *)sqlite3_column_text(st, 0), -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(ins, 2, p.label, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(ins, 3, p.from, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(ins, 4, p.to, -1, SQLITE_TRANSIENT);
        if ((rc = sqlite3_step(ins)) != SQLITE_DONE)
            goto out;
        sqlite3_reset(ins);
    }
    if (rc == SQLITE_DONE)
        rc = SQLITE_OK;
out:
    sqlite3_finalize(st);
    sqlite3_finalize(ins);
    return rc;
}

static int
report(cli_ctx *c, const args *a)
{
    cli_node n;
    cli_period fixed;
    sqlite3_stmt *st = NULL;
    sqlite3 *h;
    int code, rc;

    if (a->npos)
        return cli_usage(c, "kpi report takes no arguments");
    if (a->period && !cli_period_parse(a->period, &fixed))
        return cli_usage(c, "--period must be a week (2026-W47; week 53 only where the year has "
                            "one), a month (2026-11) or a day (2026-11-25), not '%s'", a->period);
    if ((code = cli_node_open(c, &n)) != CLI_OK)
        return code;
    h = store_db_handle(n.db);
    /* Each KPI's period in a temp table (not in the node's file), so one query reports all. */
    if ((rc = fill_periods(c, h, a->period ? &fixed : NULL)) != SQLITE_OK)
        goto sqlfail;
    if (c->json) {
        code = cli_print_json(
            c, &n,
            REPORT_ROWS " SELECT coalesce(json_group_array(json_object('key', b64(key), 'name',"
                        " name, 'kpi', kpi, 'period', period, 'from', start, 'to', stop,"
                        " 'value', value, 'target', target, 'attainment', attainment,"
                        " 'direction', direction, 'aggregate', aggregate, 'unit', unit,"
                        " 'met', CASE WHEN is_met IS NULL THEN NULL WHEN is_met THEN json('true')"
                        " ELSE json('false') END)), '[]')"
                        " FROM (SELECT * FROM s ORDER BY name, kpi)",
            NULL, NULL);
        goto out;
    }
    if ((rc = sqlite3_prepare_v2(h, REPORT_ROWS " SELECT name, kpi, period, aggregate, value,"
                                                " target, unit, direction, attainment FROM s"
                                                " ORDER BY name, kpi",
                                 -1, &st, NULL)) != SQLITE_OK)
        goto sqlfail;
    /* Caps that add up to 80 characters with the 2-space gaps: a row never wraps. */
    static const char *const heads[] = {"MEMBER", "KPI",    "PERIOD", "AGG",
                                        "VALUE",  "TARGET", "ATTAIN"};
    static const int widths[] = {14, 12, 10, 4, 9, 13, 6};
    cli_table *t = cli_table_new(7, heads, widths);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        char value[32] = "-", num[32], target[PROTO_NAME_MAX_BYTES + 48] = "no definition",
             att[32] = "-";
        const char *unit = (const char *)sqlite3_column_text(st, 6);
        const char *dir = (const char *)sqlite3_column_text(st, 7);
        if (sqlite3_column_type(st, 4) != SQLITE_NULL)
            fmt_num(value, sizeof value, sqlite3_column_double(st, 4), widths[4]);
        if (sqlite3_column_type(st, 5) != SQLITE_NULL) {
            fmt_num(num, sizeof num, sqlite3_column_double(st, 5), widths[5] - 3); /* ">= " */
            snprintf(target, sizeof target, "%s %s%s%s",
                     dir && strcmp(dir, "at_most") == 0 ? "<=" : ">=", num, unit ? " " : "",
                     unit ? unit : "");
        }
        if (sqlite3_column_type(st, 8) != SQLITE_NULL)
            fmt_attainment(att, sizeof att, sqlite3_column_double(st, 8));
        const char *cells[7] = {(const char *)sqlite3_column_text(st, 0),
                                (const char *)sqlite3_column_text(st, 1),
                                (const char *)sqlite3_column_text(st, 2),
                                (const char *)sqlite3_column_text(st, 3),
                                value,
                                target,
                                att};
        cli_table_add(t, cells);
    }
    if (rc != SQLITE_DONE) {
        cli_table_free(t);
        goto sqlfail;
    }
    cli_table_done(t, "Nothing to report: no KPIs defined or recorded yet.");
    code = CLI_OK;
    goto out;
sqlfail:
    /* a lock or a full memory says what to do; anything else names SQLite's reason */
    code = (rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED || rc == SQLITE_NOMEM
               ? cli_fail_err(c, store_db_code(rc), "cannot report")
               : cli_fail(c, CLI_FAIL, "report query failed: %s", sqlite3_errmsg(h));
out:
    sqlite3_finalize(st);
    cli_node_close(&n);
    return code;
}

int
cli_kpi_main(cli_ctx *c, int argc, char **argv)
{
    args a;
    int code;
    if (argc < 2 || argv[1][0] == '-') {
        if (argc >= 2 && strcmp(argv[1], "--help") == 0) {
            fputs(help, stdout);
            return CLI_OK;
        }
        return cli_usage(c, argc >= 2 ? "'%s' comes before the kpi command: define, record, list "
                                        "or report" : "which one: define, record, list or report?",
                         argc >= 2 ? argv[1] : "");
    }
    const char *sub = argv[1];
    static char cmd[32];
    snprintf(cmd, sizeof cmd, "kpi %s", sub);
    c->cmd = cmd;
    argc--;
    argv++;
    if ((code = parse(c, argc, argv, &a)) >= 0)
        return code;
    if (strcmp(sub, "define") == 0)
        return (code = only(c, &a, "target unit period direction aggregate title for")) >= 0
                   ? code : define(c, &a);
    if (strcmp(sub, "record") == 0)
        return (code = only(c, &a, "at note")) >= 0 ? code : record(c, &a);
    if (strcmp(sub, "list") == 0)
        return (code = only(c, &a, "")) >= 0 ? code : list(c, &a);
    if (strcmp(sub, "report") == 0)
        return (code = only(c, &a, "period")) >= 0 ? code : report(c, &a);
    c->cmd = "kpi";
    return cli_usage(c, "'%s' is not a kpi command: define, record, list or report", sub);
}
