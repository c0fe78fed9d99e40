/* cmd_checkin.c — `outpost checkin`: the three questions, energy and notes, saved durably and
 * encrypted in the node's own log. With no answers given on a terminal, it asks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proto/seal.h"
#include "store/log.h"
#include "tools/cli.h"

static const char help[] =
    "usage: outpost checkin [--delivering yes|no] [--thriving yes|no] [--support yes|no]\n"
    "                       [--energy 1-5] [--note TEXT] [--blockers TEXT] [--wins TEXT]\n"
    "                       [--site SITE] [--dir DIR] [--json]\n"
    "\n"
    "Record a check-in. It is saved on this machine (signed, encrypted, durable) before the\n"
    "command returns, and travels to the office whenever a link appears.\n"
    "With no answers given and a terminal at hand, the questions are asked one by one.\n"
    "\n"
    "  --delivering yes|no  are you delivering what was agreed?\n"
    "  --thriving yes|no    are you thriving?\n"
    "  --support yes|no     do you get the support and feedback you need?\n"
    "  --energy 1-5         do the tasks give energy (5) or take it (1)?\n"
    "  --note, --blockers, --wins TEXT   anything to add\n"
    "  --site SITE          where you work today (default: the node's site)\n";

/* Where the person sees the questions: stderr when it is the terminal (so `outpost checkin
 * --json | jq` works), else stdout when that is. */
static FILE *
tty_out(void)
{
    return isatty(STDERR_FILENO) || !isatty(STDOUT_FILENO) ? stderr : stdout;
}

static char *
ask_line(const char *prompt)
{
    char *line = NULL;
    size_t cap = 0;
    fputs(prompt, tty_out());
    fflush(tty_out());
    ssize_t n = getline(&line, &cap, stdin);
    if (n < 0) {
        free(line);
        return NULL;
    }
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    return line;
}

/* Asks until the answer is valid; false on end of input. */
static bool
ask_tri(const char *q, proto_tri *out)
{
    for (;;) {
        char *a = ask_line(q);
        bool yes;
        if (!a)
            return false;
        if (!*a) {
            free(a);
            *out = PROTO_UNSET;
            return true;
        }
        bool ok = cli_parse_yesno(a, &yes);
        free(a);
        if (ok) {
            *out = yes ? PROTO_YES : PROTO_NO;
            return true;
        }
        fputs("  please answer y or n (Enter to skip)\n", tty_out());
    }
}

static bool
ask_text(const char *q, char **out, size_t max)
{
    for (;;) {
        char *a = ask_line(q);
        if (!a)
            return false;
        if (!proto_is_utf8(a, strlen(a))) {
            free(a);
            fputs("  that is not valid UTF-8 text; please type it again\n", tty_out());
            continue;
        }
        if (strlen(a) <= max) {
            if (*a)
                *out = a;
            else
                free(a);
            return true;
        }
        free(a);
        fprintf(tty_out(), "  at most %zu bytes, please\n", max);
    }
}

static bool
interview(proto_body *b)
{
    fputs("Check-in (Enter skips a question; Ctrl-D cancels and saves nothing)\n", tty_out());
    if (!ask_tri("Are you delivering what was agreed? [y/n] ", &b->delivering) ||
        !ask_tri("Are you thriving? [y/n] ", &b->thriving) ||
        !ask_tri("Do you get the support and feedback you need? [y/n] ", &b->support))
        return false;
    for (;;) {
        char *a = ask_line("Do the tasks give or take energy? 1 (take a lot) .. 5 (give a lot) ");
        long v;
        if (!a)
            return false;
        bool skip = !*a, ok = skip || cli_parse_int(a, 1, 5, &v);
        free(a);
        if (ok) {
            b->energy = skip ? 0 : (unsigned)v;
            break;
        }
        fputs("  please answer 1 to 5 (Enter to skip)\n", tty_out());
    }
    return ask_text("Blockers? ", &b->blockers, PROTO_TEXT_MAX_BYTES) &&
           ask_text("Wins? ", &b->wins, PROTO_TEXT_MAX_BYTES) &&
           ask_text("Anything else? ", &b->note, PROTO_TEXT_MAX_BYTES);
}

static const char *
yn(proto_tri t)
{
    return t == PROTO_YES ? "yes" : t == PROTO_NO ? "no" : "-";
}

static void
bind_entry(sqlite3_stmt *st, void *arg)
{
    const int64_t *v = arg;
    sqlite3_bind_int64(st, 1, v[0]);
}

int
cli_checkin_main(cli_ctx *c, int argc, char **argv)
{
    static const struct option opts[] = {
        {"delivering", required_argument, NULL, 'd'},
        {"thriving", required_argument, NULL, 't'},
        {"support", required_argument, NULL, 's'},
        {"energy", required_argument, NULL, 'e'},
        {"note", required_argument, NULL, 'n'},
        {"blockers", required_argument, NULL, 'b'},
        {"wins", required_argument, NULL, 'w'},
        {"site", required_argument, NULL, 'S'},
        CLI_COMMON_OPTS,
        {0},
    };
    proto_body b;
    cli_node n = {0};
    store_appended done;
    bool given = false, yes;
    long energy;
    int opt, code;
    op_err r;

    proto_body_init(&b, PROTO_KIND_CHECKIN);
    while ((opt = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        proto_tri *tri = opt == 'd' ? &b.delivering : opt == 't' ? &b.thriving
                                                  : opt == 's' ? &b.support : NULL;
        char **text = opt == 'n' ? &b.note : opt == 'b' ? &b.blockers : opt == 'w' ? &b.wins
                                                               : opt == 'S' ? &b.site : NULL;
        if (tri) {
            if (!cli_parse_yesno(optarg, &yes)) {
                code = cli_usage(c, "--%s must be yes or no, not '%s'",
                                 opts[opt == 'd' ? 0 : opt == 't' ? 1 : 2].name, optarg);
                goto out;
            }
            *tri = yes ? PROTO_YES : PROTO_NO;
            given = true;
        } else if (text) {
            size_t max = opt == 'S' ? PROTO_NAME_MAX_BYTES : PROTO_TEXT_MAX_BYTES;
            if (!proto_is_utf8(optarg, strlen(optarg))) {
                code = cli_usage(c, "--%s is not valid UTF-8 text",
                                 opts[opt == 'n' ? 4 : opt == 'b' ? 5 : opt == 'w' ? 6 : 7].name);
                goto out;
            }
            if (strlen(optarg) > max) {
                code = cli_usage(c, "--%s is %zu bytes; at most %zu are kept",
                                 opts[opt == 'n' ? 4 : opt == 'b' ? 5 : opt == 'w' ? 6 : 7].name,
                                 strlen(optarg), max);
                goto out;
            }
            free(*text);
            if (!(*text = strdup(optarg))) {
                code = cli_fail(c, CLI_FAIL, "out of memory");
                goto out;
            }
            given = true;
        } else if (opt == 'e') {
            if (!cli_parse_int(optarg, 1, 5, &energy)) {
                code = cli_usage(c, "--energy must be a whole number from 1 to 5, not '%s'",
                                 optarg);
                goto out;
            }
            b.energy = (unsigned)energy;
            given = true;
        } else if ((code = cli_common_opt(c, opt, help, argv)) >= 0) {
            goto out;
        }
    }
    if (optind < argc) {
        code = cli_usage(c, "unexpected argument '%s'", argv[optind]);
        goto out;
    }
    if ((code = cli_node_open(c, &n)) != CLI_OK)
        goto out;
    if (!given) {
        if (!isatty(STDIN_FILENO)) {
            code = cli_usage(c, "no answers given: pass --delivering, --thriving, --support, "
                                "--energy or --note, or run it on a terminal to be asked");
            goto out;
        }
        if (!interview(&b)) {
            code = cli_fail(c, CLI_USAGE, "cancelled; nothing was saved");
            goto out;
        }
    }
    if (!b.site && n.site[0])
        b.site = strdup(n.site);
    r = store_log_append(n.db, n.rd, n.id, &b, c->now_ms, &done);
    if (r != OP_OK) {
        code = cli_fail_err(c, r, "check-in not saved");
        goto out;
    }
    OP_IGNORE(cli_agent_call(c->dir, "nudge")); /* a running agent pushes it now; else later */
    if (c->json) {
        int64_t arg[1] = {(int64_t)done.seq};
        code = cli_print_json(c, &n,
                              "SELECT json_object('author', b64((SELECT v FROM meta WHERE"
                              " k = 'key')), 'seq', ?1, 'kind', 'checkin', 'saved', json('true'))",
                              bind_entry, arg);
    } else {
        printf("Saved check-in %llu: delivering %s, thriving %s, support %s",
               (unsigned long long)done.seq, yn(b.delivering), yn(b.thriving), yn(b.support));
        if (b.energy)
            printf(", energy %u", b.energy);
        puts(".");
        code = CLI_OK;
    }
out:
    cli_node_close(&n);
    proto_body_fini(&b);
    return code;
}
