/* cmd_verify.c — `outpost verify`: re-checks the database structure and every chain,
 * signature and body hash. Exit 0 when all is well, 1 when problems were found. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "proto/seal.h"
#include "store/verify.h"
#include "tools/cli.h"

static const char help[] =
    "usage: outpost verify [--dir DIR] [--json]\n"
    "\n"
    "Re-check the whole store: the database structure, then every author's log from its\n"
    "first entry: each link of the hash chain, each signature, each body against its hash.\n"
    "Exit status 0 when all is well, 1 when problems were found (each is listed).\n";

typedef struct vctx {
    cli_node *n;
    bool json, tty;
    sqlite3_stmt *note; /* json: collects problems in a temp table */
} vctx;

static void
problem(void *arg, const uint8_t author[PROTO_KEY_BYTES], uint64_t seq, op_err e,
        const char *what)
{
    vctx *v = arg;
    char key[PROTO_KEY_TEXT_BYTES] = "", line[512];
    if (author)
        proto_key_to_text(author, key);
    /* SQLite's messages may span lines: one problem, one line. */
    snprintf(line, sizeof line, "%s", what);
    for (char *q = line; *q; q++)
        if (*q == '\n' || *q == '\r' || *q == '\t')
            *q = ' ';
    what = line;
    if (v->json) {
        if (author)
            sqlite3_bind_text(v->note, 1, key, -1, SQLITE_TRANSIENT);
        else
            sqlite3_bind_null(v->note, 1);
        sqlite3_bind_int64(v->note, 2, (int64_t)seq);
        sqlite3_bind_text(v->note, 3, op_errname(e), -1, SQLITE_STATIC);
        sqlite3_bind_text(v->note, 4, what, -1, SQLITE_TRANSIENT);
        OP_IGNORE(sqlite3_step(v->note)); /* a temp table insert; at worst a problem unlisted */
        sqlite3_reset(v->note);
        return;
    }
    if (v->tty)
        fputs("\r\033[K", stderr);
    if (author && seq)
        printf("problem: author %.8s seq %llu: %s (%s)\n", key, (unsigned long long)seq, what,
               op_errname(e));
    else if (author)
        printf("problem: author %.8s: %s (%s)\n", key, what, op_errname(e));
    else
        printf("problem: %s (%s)\n", what, op_errname(e));
}

static void
progress(void *arg, uint64_t done, uint64_t total)
{
    vctx *v = arg;
    if (v->tty)
        fprintf(stderr, "\rverifying: %llu of %llu entries", (unsigned long long)done,
                (unsigned long long)total);
}

int
cli_verify_main(cli_ctx *c, int argc, char **argv)
{
    cli_node n;
    vctx v = {0};
    store_verified out;
    int code;

    if ((code = cli_parse_plain(c, argc, argv, help)) >= 0)
        return code;
    if ((code = cli_node_open(c, &n)) != CLI_OK)
        return code;
    v.n = &n;
    v.json = c->json;
    v.tty = isatty(STDERR_FILENO);
    sqlite3 *h = store_db_handle(n.db);
    if (c->json &&
        (sqlite3_exec(h, "CREATE TEMP TABLE problems(author, seq, code, what)", NULL, NULL,
                      NULL) != SQLITE_OK ||
         sqlite3_prepare_v2(h, "INSERT INTO temp.problems VALUES(?, ?, ?, ?)", -1, &v.note,
                            NULL) != SQLITE_OK)) {
        cli_node_close(&n);
        return cli_fail(c, CLI_FAIL, "cannot set up: %s", sqlite3_errmsg(h));
    }
    store_verify_cb cb = {.ctx = &v, .problem = problem, .progress = progress};
    op_err r = store_verify(n.db, &cb, &out);
    if (v.tty)
        fputs("\r\033[K", stderr);
    sqlite3_finalize(v.note);
    if (r != OP_OK) {
        code = cli_fail_err(c, r, "cannot verify");
        cli_node_close(&n);
        return code;
    }
    if (c->json) {
        char sql[512];
        snprintf(sql, sizeof sql,
                 "SELECT json_object('ok', json(%s), 'authors', %llu, 'entries', %llu,"
                 " 'bodies', %llu, 'problems', (SELECT coalesce(json_group_array(json_object("
                 "'author', author, 'seq', nullif(seq, 0), 'code', code, 'what', what)), '[]')"
                 " FROM temp.problems))",
                 out.problems ? "'false'" : "'true'", (unsigned long long)out.authors,
                 (unsigned long long)out.entries, (unsigned long long)out.bodies);
        code = cli_print_json(c, &n, sql, NULL, NULL);
    } else {
        printf("%s: %llu entries from %llu author%s, %llu bod%s checked; %llu problem%s\n",
               out.problems ? "FAILED" : "ok", (unsigned long long)out.entries,
               (unsigned long long)out.authors, out.authors == 1 ? "" : "s",
               (unsigned long long)out.bodies, out.bodies == 1 ? "y" : "ies",
               (unsigned long long)out.problems,
               out.problems == 1 ? "" : "s");
        code = CLI_OK;
    }
    cli_node_close(&n);
    if (code == CLI_OK && out.problems)
        code = CLI_REPORT;
    return code;
}
