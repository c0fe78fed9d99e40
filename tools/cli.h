/*
 * cli.h — what every `outpost` subcommand shares: the node directory, the clock, exit codes
 * (SPEC §9), one-line errors, opening the node, and output for people (tables) and scripts
 * (--json, produced by SQLite's JSON functions, never by hand).
 */
#ifndef OUTPOST_TOOLS_CLI_H
#define OUTPOST_TOOLS_CLI_H

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>

#include "store/db.h"
#include "store/keyfile.h"
#include "store/member.h"
#include "store/reader.h"

/* 4: a write was refused because the disk is full (OP_E_DISK_FULL); nothing was saved, and
 * running the command again once space is freed is safe. Its own status so that scripts and
 * the office's tooling can tell "free space" from other failures. */
enum cli_exit { CLI_OK = 0, CLI_REPORT = 1, CLI_USAGE = 2, CLI_FAIL = 3, CLI_DISK_FULL = 4 };

/* Options every subcommand takes. */
typedef struct cli_ctx {
    const char *dir; /* from --dir, $OUTPOST_DIR or $XDG_DATA_HOME/outpost */
    const char *cmd; /* "checkin", "kpi record", ... for messages */
    bool json;
    uint64_t now_ms; /* OUTPOST_NOW or the wall clock, shifted by OUTPOST_CLOCK_OFFSET */
    int64_t clock_offset_ms; /* OUTPOST_CLOCK_OFFSET */
} cli_ctx;

/* An opened node: its store, identity and reader. */
typedef struct cli_node {
    store_db *db;
    store_identity *id;
    store_reader *rd;
    char name[256], role[16], site[256];
} cli_node;

/* Prints "outpost CMD: <message>" on stderr and returns code. */
int cli_fail(const cli_ctx *c, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Usage error: the message, then a pointer to --help. Returns CLI_USAGE. */
int cli_usage(const cli_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Maps a store/proto failure to a message and exit code (CLI_DISK_FULL for a full disk, else
 * CLI_FAIL). */
int cli_fail_err(const cli_ctx *c, op_err e, const char *doing);

/* Options shared by all commands, for getopt_long tables; codes above any short option. */
enum { CLI_OPT_DIR = 1000, CLI_OPT_JSON, CLI_OPT_HELP };
#define CLI_COMMON_OPTS                                                                            \
    {"dir", required_argument, NULL, CLI_OPT_DIR}, {"json", no_argument, NULL, CLI_OPT_JSON},      \
        {"help", no_argument, NULL, CLI_OPT_HELP}

/*
 * Handles a common option or a getopt error inside a command's option loop. Returns -1 when
 * the option was handled and parsing goes on, else the exit code to return (0 after --help
 * printed `help`, 2 for an unknown option or a missing argument).
 */
int cli_common_opt(cli_ctx *c, int opt, const char *help, char **argv);

/* Opens the node in c->dir: CLI_OK, or prints why not and returns the exit code. */
int cli_node_open(const cli_ctx *c, cli_node *n);
/* The same; with CLI_OPEN_KEEP_VIEWS, views made by another STORE_VIEW_VERSION are left as
 * they are (for `reindex`, which rebuilds them anyway, with progress shown). */
enum { CLI_OPEN_KEEP_VIEWS = 1 };
int cli_node_open_ex(const cli_ctx *c, cli_node *n, int flags);
void cli_node_close(cli_node *n);

/* Parses yes|no (also y/n/true/false); false if neither. */
bool cli_parse_yesno(const char *s, bool *out);
/* Parses a finite decimal number; false on anything else. */
bool cli_parse_number(const char *s, double *out);
/* Parses a whole number in [lo, hi]. */
bool cli_parse_int(const char *s, long lo, long hi, long *out);
/* Parses an ISO 8601 UTC time ("2026-11-25T10:00:00Z", optional .mmm, or a bare date) into
 * ms since the epoch. */
bool cli_parse_time(const char *s, uint64_t *ms);
/* The UTC date of ms as YYYY-MM-DD (out needs 11 bytes). */
void cli_date(uint64_t ms, char out[11]);

/* The agent for dir: true if one answers on its control socket. With cmd (e.g. "nudge",
 * "sync"), sends it and waits briefly for the answer. Never fails loudly: no agent is normal. */
bool cli_agent_call(const char *dir, const char *cmd);

/* Registers b64(blob) and short_key(blob) on a connection, for queries that print keys. */
int cli_sql_functions(sqlite3 *h);

/*
 * Runs a query that returns one row with one text column (a JSON document built with
 * json_object/json_group_array) and prints it with a newline. Parameters are bound by the
 * caller through bind (may be NULL). Returns CLI_OK or prints why not.
 */
int cli_print_json(const cli_ctx *c, cli_node *n, const char *sql,
                   void (*bind)(sqlite3_stmt *st, void *arg), void *arg);
/* The same, for a query whose row also has a count in its second column (*count). */
int cli_print_json_counted(const cli_ctx *c, cli_node *n, const char *sql,
                           void (*bind)(sqlite3_stmt *st, void *arg), void *arg, long *count);

/*
 * Runs a query whose rows each hold one JSON value (built by SQLite's JSON functions) and
 * prints them as one JSON array, with a newline; *count gets the number of rows. For big
 * documents: wrapping every row in json_group_array would make SQLite parse each row's
 * JSON again, because a value loses its JSON subtype when it leaves a subquery.
 */
int cli_print_json_rows(const cli_ctx *c, cli_node *n, const char *sql,
                        void (*bind)(sqlite3_stmt *st, void *arg), void *arg, long *count);

/* A bind callback for cli_print_json: binds arg (a C string) as parameter 1. */
void cli_bind_text(sqlite3_stmt *st, void *arg);

/* A table for people: columns are cut to fit 80 characters, with an ellipsis. */
typedef struct cli_table cli_table;
cli_table *cli_table_new(int ncols, const char *const *heads, const int *max_widths);
void cli_table_add(cli_table *t, const char *const *cells);
void cli_table_print(cli_table *t);
void cli_table_free(cli_table *t);
/* Prints the table, or if_empty when it has no rows, and frees it. */
void cli_table_done(cli_table *t, const char *if_empty);

/* For commands that take only the common options: parses them. -1 to go on, else the exit
 * code to return (after --help, or a usage error). */
int cli_parse_plain(cli_ctx *c, int argc, char **argv, const char *help);

/* Every peer: dialled ones (peers) and those only seen connecting in (links). */
#define CLI_PEERS_SQL                                                                                  \
    "WITH all_peers AS ("                                                                          \
    "  SELECT p.addr AS addr, coalesce(p.key, l.key) AS key, coalesce(l.connected, 0) AS connected," \
    "   l.last_sync AS last_sync, p.last_error AS last_error, p.next_retry AS next_retry,"         \
    "   p.fails AS fails, l.clock_skew_ms AS skew"                                                 \
    "  FROM peers p LEFT JOIN links l ON l.key = p.key OR (p.key IS NULL AND l.addr = p.addr)"     \
    "  UNION ALL SELECT l.addr, l.key, l.connected, l.last_sync, NULL, NULL, 0, l.clock_skew_ms"   \
    "  FROM links l WHERE NOT EXISTS (SELECT 1 FROM peers p WHERE p.key = l.key"              \
    "   OR (p.key IS NULL AND p.addr = l.addr)))"

/* A member's name as this node knows it, in SQL: from the membership list, else its own, else
 * the key's first 8 characters. */
#define CLI_NAME_OF(key)                                                                           \
    "coalesce((SELECT name FROM members WHERE key = " key "), CASE WHEN " key " = (SELECT v"      \
    " FROM meta WHERE k = 'key') THEN (SELECT v FROM meta WHERE k = 'name') END, short_key(" key \
    "))"

/* kpi_defs with `written`: the latest ts of its author's definitions up to this one, by seq.
 * "The newest definition" orders by (written, id): one author's later definition (higher seq)
 * always wins over its earlier ones, even when its clock was set back in between (TESTING B7:
 * order within a log is by seq, never by the clock); different authors compare by time. */
#define CLI_KPI_DEFS                                                                               \
    "(SELECT *, max(ts) OVER (PARTITION BY author ORDER BY seq) AS written FROM kpi_defs)"

/* An ms timestamp as ISO 8601 UTC in SQL. */
#define CLI_ISO(x) "strftime('%Y-%m-%dT%H:%M:%fZ', " x " / 1000.0, 'unixepoch')"

/* A key given on the command line: a member's key (44 characters of base64) or the word
 * `office`, which stands for the office this node belongs to (meta office_key). */
typedef struct cli_key_arg {
    uint8_t key[PROTO_KEY_BYTES]; /* set once parsed, or for `office` once resolved */
    bool office;                  /* given as `office` */
} cli_key_arg;

/* Parses s without looking at the node (so a bad value is refused before anything is opened);
 * false if it is neither a key nor `office`. */
bool cli_key_arg_parse(const char *s, cli_key_arg *out);
/* Resolves `office` to the office's key. Returns -1 when k->key is set, else the exit code
 * after printing why (2 on a node that has joined no team). what names the argument. */
int cli_key_arg_resolve(const cli_ctx *c, cli_node *n, cli_key_arg *k, const char *what);

/* Checks that key names a member of the team this node knows (members table, or the office)
 * other than this node itself: -1 with *m filled in, else the exit code after printing why
 * (2 for this node's own key, a revoked one, or one this node has not seen admitted). */
int cli_member_check(const cli_ctx *c, cli_node *n, const uint8_t key[PROTO_KEY_BYTES],
                     const char *what, store_member *m);

/* Free text a person types for someone else to read (feedback, a contact's note): 1..max
 * bytes of UTF-8 with no control characters but tab and line breaks. When not, false with what
 * is wrong in why, as the end of a sentence ("is empty"). */
bool cli_text_ok(const char *s, size_t max, char *why, size_t why_len);

/* An argument as an error message may quote it: at most 40 characters (then an ellipsis), and
 * control characters as '?', so that the message stays one line. Returns out. */
#define CLI_ECHO_BYTES 192
const char *cli_echo(const char *s, char out[CLI_ECHO_BYTES]);

/* The subcommands. */
int cli_init_main(cli_ctx *c, int argc, char **argv);
int cli_checkin_main(cli_ctx *c, int argc, char **argv);
int cli_kpi_main(cli_ctx *c, int argc, char **argv);
int cli_log_main(cli_ctx *c, int argc, char **argv);
int cli_status_main(cli_ctx *c, int argc, char **argv);
int cli_peers_main(cli_ctx *c, int argc, char **argv);
int cli_sync_main(cli_ctx *c, int argc, char **argv);
int cli_verify_main(cli_ctx *c, int argc, char **argv);
int cli_invite_main(cli_ctx *c, int argc, char **argv);
int cli_join_main(cli_ctx *c, int argc, char **argv);
int cli_revoke_main(cli_ctx *c, int argc, char **argv);
int cli_reindex_main(cli_ctx *c, int argc, char **argv);
int cli_feedback_main(cli_ctx *c, int argc, char **argv);
int cli_erase_main(cli_ctx *c, int argc, char **argv);
int cli_inbox_main(cli_ctx *c, int argc, char **argv);
int cli_contact_main(cli_ctx *c, int argc, char **argv);
int cli_team_main(cli_ctx *c, int argc, char **argv);
int cli_alerts_main(cli_ctx *c, int argc, char **argv);

#endif
