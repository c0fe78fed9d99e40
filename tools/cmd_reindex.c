/*
 * cmd_reindex.c — `outpost reindex`: rebuilds every projection (the tables that answer
 * queries) from the log with store_view_reindex. The log is the truth and is only read; the
 * views are derived from it and can always be made again: after a view was damaged or edited
 * by hand, or to check that they match the log. Opening a node already rebuilds views made by
 * an older STORE_VIEW_VERSION (store_view_ensure); this does it on demand, with progress.
 */
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "store/view.h"
#include "tools/cli.h"

static const char help[] =
    "usage: outpost reindex [--dir DIR] [--json]\n"
    "\n"
    "Rebuild every view from the log: check-ins, KPI definitions and values,\n"
    "feedback, contacts, members, join requests and key entries. The entries\n"
    "themselves are only read. It is one transaction: it completes or changes\n"
    "nothing. Acknowledgements from peers, the peer list and read marks are kept.\n"
    "outpost rebuilds the views by itself after an upgrade that changes them; run\n"
    "this when a view looks wrong. On a terminal it shows its progress.\n"
    "While it runs, other writers (a running outpostd) wait; if another process\n"
    "holds the database for long, it stops (exit 3) without changing anything:\n"
    "try again later. --json prints {entries, seconds}.\n";

typedef struct rctx {
    bool tty;
} rctx;

static void
progress(void *arg, uint64_t done, uint64_t total)
{
    const rctx *r = arg;
    if (r->tty)
        fprintf(stderr, "\rrebuilding the views: %llu of %llu entries", (unsigned long long)done,
                (unsigned long long)total);
}

static double
seconds_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts); /* elapsed time, not OUTPOST_NOW's clock */
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
cli_reindex_main(cli_ctx *c, int argc, char **argv)
{
    cli_node n;
    rctx rc = {.tty = isatty(STDERR_FILENO)};
    uint64_t entries = 0;
    int code;

    if ((code = cli_parse_plain(c, argc, argv, help)) >= 0)
        return code;
    if ((code = cli_node_open_ex(c, &n, CLI_OPEN_KEEP_VIEWS)) != CLI_OK)
        return code;
    double t0 = seconds_now();
    op_err r = store_view_reindex(n.db, n.rd, progress, &rc, &entries);
    double took = seconds_now() - t0;
    if (rc.tty)
        fputs("\r\033[K", stderr);
    if (r == OP_E_BUSY) {
        code = cli_fail(c, CLI_FAIL,
                        "the database in %s is locked by another process (a long "
                        "write); nothing was changed: try again when it is done",
                        c->dir);
    } else if (r != OP_OK) {
        code = cli_fail_err(c, r, "cannot rebuild the views (nothing was changed)");
    } else if (c->json) {
        char sql[128];
        snprintf(sql, sizeof sql, "SELECT json_object('entries', %llu, 'seconds', round(%.6f, 3))",
                 (unsigned long long)entries, took);
        code = cli_print_json(c, &n, sql, NULL, NULL);
    } else {
        printf("rebuilt the views from %llu %s in %.2f s\n", (unsigned long long)entries,
               entries == 1 ? "entry" : "entries", took);
        code = CLI_OK;
    }
    cli_node_close(&n);
    return code;
}
