/*
 * office.h — what the office's `outpost team` and `outpost alerts` share (SPEC §9): the office
 * check, each KPI's current and last completed period, the per-member facts and the KPI
 * attainment as SQL, bound to the clock and to the alert thresholds.
 *
 * Time is judged so that a member's device clock cannot make things look better than the
 * office saw them: a check-in or any entry counts at min(ts, received) (the author's time,
 * but never later than it reached this node); "last seen" is the latest of those
 * (authors.live_at) and of the last connection by any path (links.last_seen, or now while an
 * agent here holds the link).
 *
 * Queries read one member's rows as ranges of the primary keys (checkins.id and entries.id
 * are author << 32 | seq) and the indexes of schema 3 (store/db.c): kpi_values_author for a
 * member's values of a KPI in a period, entries_ahead for entries dated after they arrived.
 */
#ifndef OUTPOST_TOOLS_OFFICE_H
#define OUTPOST_TOOLS_OFFICE_H

#include <stdbool.h>
#include <stdint.h>

#include "tools/cli.h"

/* The parameters the office queries bind by name (a query binds those it names). */
typedef struct cli_office_args {
    uint64_t now;       /* :now, ms */
    bool agent;         /* :agent, an agent runs here: its open links are alive now */
    int64_t overdue_ms; /* :overdue, alerts */
    int64_t silent_ms;  /* :silent */
    int64_t contact_ms; /* :nocontact */
    int64_t skew_ms;    /* :skew, at least 60000 (the entries_ahead index holds no less) */
} cli_office_args;

/* Which KPI periods a command reports (flags). */
enum { CLI_OFFICE_NOW = 1, CLI_OFFICE_LAST = 2 };

/*
 * Opens the node for an office command: CLI_OK, or prints why not and returns the exit code
 * (CLI_USAGE with "CMD is an office command" on a worker). Fills the temporary table
 * temp.office_periods(kpi, which, label, start, stop, end_ms) with, for each KPI, its current
 * period (which = 'now', with CLI_OFFICE_NOW in periods) and the last completed one ('last',
 * with CLI_OFFICE_LAST), from the newest definition's period kind; end_ms is the first ms
 * after the period. On failure n is closed.
 */
int cli_office_open(const cli_ctx *c, cli_node *n, int periods);

/* Binds a's values to the named parameters that st uses. */
void cli_office_bind(sqlite3_stmt *st, const cli_office_args *a);
/* The same as a bind callback of cli_print_json*: arg is a const cli_office_args. */
void cli_office_bind_cb(sqlite3_stmt *st, void *arg);

/*
 * Runs sql, which returns one row of (JSON document, count), prints the document and sets
 * *count. CLI_OK or the exit code after printing why not.
 */
int cli_office_json(const cli_ctx *c, cli_node *n, const char *sql, const cli_office_args *a,
                    long *count);

/* ms before now as a person reads it: "<1 h ago", "5 h ago", "3 d ago"; "never" without one
 * (the column is NULL). out needs 16 bytes. */
void cli_office_ago(uint64_t now, sqlite3_stmt *st, int col, char out[16]);

/* A member's name for people and scripts (the key's first 8 characters if it has none). */
#define OFFICE_NAME(key) "coalesce(mb.name, short_key(" key "))"

/*
 * The CTEs every office query starts from (after WITH):
 *   leaders  the authors whose contacts count: this office and office members
 *   m        every worker member: key, name, site, admitted, revoked_after, its author id
 *            (aid) and key range [lo, hi], live_at, and its link (link_seen, connected, skew)
 *   f0       m and the newest check-in's id, the last contact by a leader, link_now
 *   g        f0 and checkin_at (when the newest check-in was made, as far as this node can
 *            tell), the latest answers (the newest check-in that answered each question;
 *            most often the newest check-in itself) and seen (the latest sign of life by any
 *            path)
 */
#define OFFICE_MEMBERS_SQL                                                                         \
    " leaders AS (SELECT id FROM authors WHERE key = (SELECT v FROM meta WHERE k = 'key')"         \
    "  OR key IN (SELECT key FROM members WHERE role = 'office')),"                                \
    " m AS MATERIALIZED (SELECT mb.key AS key, " OFFICE_NAME("mb.key") " AS name,"                 \
    "  mb.site AS site, mb.admitted AS admitted, mb.revoked_after AS revoked_after, a.id AS aid,"  \
    "  a.id << 32 AS lo, (a.id << 32) | 0xffffffff AS hi, a.live_at AS live_at,"                   \
    "  l.last_seen AS link_seen, l.connected AS connected, l.clock_skew_ms AS skew"                \
    "  FROM members mb LEFT JOIN authors a ON a.key = mb.key LEFT JOIN links l ON l.key = mb.key"  \
    "  WHERE mb.role = 'worker'),"                                                                 \
    " f0 AS MATERIALIZED (SELECT m.*,"                                                             \
    "  (SELECT id FROM checkins WHERE id BETWEEN m.lo AND m.hi ORDER BY id DESC LIMIT 1)"          \
    "   AS ci_id,"                                                                                 \
    "  (SELECT max(c.ts) FROM contacts c WHERE c.with_key = m.key"                                 \
    "   AND c.author IN (SELECT id FROM leaders)) AS contact,"                                     \
    "  CASE WHEN m.connected = 1 AND :agent THEN :now ELSE m.link_seen END AS link_now"            \
    "  FROM m),"                                                                                   \
    " g AS MATERIALIZED (SELECT f0.*, min(e.ts, e.received) AS checkin_at,"                        \
    OFFICE_LATEST("delivering") "," OFFICE_LATEST("thriving") "," OFFICE_LATEST("support") ","     \
    OFFICE_LATEST("energy") ","                                                                    \
    "  max(coalesce(f0.live_at, f0.link_now), coalesce(f0.link_now, f0.live_at)) AS seen"          \
    "  FROM f0 LEFT JOIN checkins c ON c.id = f0.ci_id LEFT JOIN entries e ON e.id = f0.ci_id)"

/* The newest answer to one question: a check-in may leave a question unanswered. */
#define OFFICE_LATEST(col)                                                                         \
    "  coalesce(c." col ", (SELECT " col " FROM checkins WHERE id BETWEEN f0.lo AND f0.hi"         \
    "   AND " col " IS NOT NULL ORDER BY id DESC LIMIT 1)) AS " col

/*
 * A KPI's value for a member in a period, in a query where the names agg (the definition's
 * aggregate) and the kpi_values row range (range, an SQL condition on v) are known: sum,
 * mean, or last (the value of the latest day, the latest recorded on that day).
 */
#define OFFICE_KPI_VALUE(range)                                                                    \
    "CASE agg WHEN 'mean' THEN (SELECT avg(v.value) FROM kpi_values v WHERE " range ")"            \
    " WHEN 'last' THEN (SELECT v.value FROM kpi_values v INDEXED BY kpi_values_author"             \
    "  WHERE " range " ORDER BY v.at DESC, v.seq DESC LIMIT 1)"                                    \
    " ELSE (SELECT sum(v.value) FROM kpi_values v WHERE " range ") END"

/*
 * Attainment from value, target, direction and agg, as `kpi report` computes it: value/target
 * (at_least), target/value (at_most, 1 when within), 1 for a target of 0; nothing recorded
 * counts as 0 for a sum and as unknown (NULL) for a mean or a last value.
 */
#define OFFICE_ATTAINMENT                                                                          \
    "CASE WHEN target IS NULL THEN NULL"                                                           \
    " WHEN value IS NULL AND agg != 'sum' THEN NULL"                                               \
    " WHEN direction = 'at_most' THEN CASE WHEN coalesce(value, 0) <= target THEN 1.0"             \
    "  ELSE target / value END"                                                                    \
    " WHEN target = 0 THEN 1.0 ELSE coalesce(value, 0) / target END"

/* x, or NULL when it is not finite: a ratio with a tiny target can overflow, and no number is
 * better than Inf in JSON. */
#define OFFICE_FINITE(x) "CASE WHEN " x " BETWEEN -1e300 AND 1e300 THEN " x " END"

/*
 * The KPI CTEs, after OFFICE_MEMBERS_SQL:
 *   defs  the newest definition of each KPI id (by CLI_KPI_DEFS's `written`, then id)
 *   dp    each definition with each of its periods in temp.office_periods: kpi, for_key
 *         (NULL: for everyone), target, unit, direction, agg, which, label, start, stop,
 *         end_ms
 *   mk    each member with each KPI that applies to it and each period
 *   ka    mk with value (OFFICE_KPI_VALUE, aggregated as the definition says) and
 *         attainment (OFFICE_ATTAINMENT)
 */
#define OFFICE_KPIS_SQL                                                                            \
    " defs AS (SELECT * FROM (SELECT d.*, row_number() OVER (PARTITION BY d.kpi"                   \
    "  ORDER BY d.written DESC, d.id DESC) AS rn FROM " CLI_KPI_DEFS " d) WHERE rn = 1),"          \
    " dp AS MATERIALIZED (SELECT d.kpi AS kpi, d.for_key AS for_key, d.target AS target,"          \
    "  d.unit AS unit, coalesce(d.direction, 'at_least') AS direction,"                            \
    "  coalesce(d.aggregate, 'sum') AS agg, p.which AS which, p.label AS label,"                   \
    "  p.start AS start, p.stop AS stop, p.end_ms AS end_ms"                                       \
    "  FROM defs d JOIN temp.office_periods p ON p.kpi = d.kpi ORDER BY d.kpi),"                   \
    " mk AS (SELECT m.key AS key, m.aid AS aid, m.admitted AS admitted,"                           \
    "  m.revoked_after AS revoked_after, dp.* FROM m"                                              \
    "  JOIN dp ON dp.for_key IS NULL OR dp.for_key = m.key),"                                      \
    " kv AS MATERIALIZED (SELECT mk.*, " OFFICE_KPI_VALUE(OFFICE_KV_RANGE) " AS value FROM mk),"   \
    " k0 AS (SELECT kv.*, " OFFICE_ATTAINMENT " AS att0 FROM kv),"                                 \
    " ka AS (SELECT k0.*, " OFFICE_FINITE("att0") " AS attainment FROM k0)"

#define OFFICE_KV_RANGE "v.author = mk.aid AND v.kpi = mk.kpi AND v.at BETWEEN mk.start AND mk.stop"

#endif
