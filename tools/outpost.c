/*
 * outpost.c — the `outpost` command: global options, the clock, and dispatch to subcommands
 * (one file per group: cmd_<group>.c). Exit codes are SPEC §9's: 0 ok, 1 something to report,
 * 2 usage error, 3 other failure.
 */
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>

#include "proto/time.h"
#include "tools/cli.h"

static const char usage[] =
    "usage: outpost [--dir DIR] COMMAND [options]\n"
    "\n"
    "Record check-ins and KPI values offline; see what this node holds.\n"
    "\n"
    "commands:\n"
    "  init      create a node: its key and its store\n"
    "  checkin   record a check-in (asks the questions on a terminal)\n"
    "  kpi       define, record, list and report KPIs\n"
    "  feedback  send feedback to a member, or from a worker to the office\n"
    "  inbox     read the feedback addressed to you (--sent: what you sent)\n"
    "  contact   (office) record a contact with a member; --list shows them\n"
    "  erase     delete the body of one record everywhere (its author or the office)\n"
    "  log       show entries, newest first\n"
    "  status    this node: key, role, entry counts, pending, links; why not synced\n"
    "  peers     list, add or remove the peers this node dials\n"
    "  sync      sync now (with --once: without the agent, then exit)\n"
    "  verify    re-check every chain, signature and body in the store\n"
    "  reindex   rebuild the views (check-ins, KPIs, members, ...) from the log\n"
    "  invite    (office) make a one-time code that lets someone join the team\n"
    "  join      join a team with the code the office gave you\n"
    "  revoke    (office) revoke a member's key\n"
    "  team      (office) one row per member: check-ins, answers, KPIs, last seen\n"
    "  alerts    (office) who needs attention; exit status 1 when there is something\n"
    "\n"
    "Every command takes --dir DIR (default $OUTPOST_DIR, else $XDG_DATA_HOME/outpost),\n"
    "--help, and where it prints data, --json. OUTPOST_NOW (ISO 8601 UTC) fixes the clock;\n"
    "OUTPOST_CLOCK_OFFSET (seconds, e.g. -600) shifts it, as a clock that is off would.\n"
    "Exit status: 0 ok, 1 ran fine but there is something to report, 2 usage error,\n"
    "3 other failure, 4 the disk is full (nothing was saved: free some space, run it again).\n";

static const struct {
    const char *name;
    int (*main)(cli_ctx *c, int argc, char **argv);
} commands[] = {
    {"init", cli_init_main},     {"checkin", cli_checkin_main}, {"kpi", cli_kpi_main},
    {"log", cli_log_main},       {"status", cli_status_main},   {"verify", cli_verify_main},
    {"peers", cli_peers_main},   {"sync", cli_sync_main},
    {"invite", cli_invite_main}, {"join", cli_join_main},       {"revoke", cli_revoke_main},
    {"reindex", cli_reindex_main},
    {"feedback", cli_feedback_main}, {"inbox", cli_inbox_main}, {"contact", cli_contact_main},
    {"erase", cli_erase_main},   {"team", cli_team_main},     {"alerts", cli_alerts_main},
};

static char default_dir[PATH_MAX];

static const char *
dir_default(void)
{
    const char *d = getenv("OUTPOST_DIR"), *x = getenv("XDG_DATA_HOME"), *h = getenv("HOME");
    if (d && *d)
        return d;
    if (x && *x)
        snprintf(default_dir, sizeof default_dir, "%s/outpost", x);
    else
        snprintf(default_dir, sizeof default_dir, "%s/.local/share/outpost", h && *h ? h : ".");
    return default_dir;
}

int
main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"dir", required_argument, NULL, 'd'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {0},
    };
    cli_ctx c = {.dir = dir_default()};
    int opt;

    umask(077); /* the store holds metadata worth keeping private, as the key does */
    if (sodium_init() < 0)
        return cli_fail(&c, CLI_FAIL, "libsodium could not start");
    opterr = 0; /* we print our own one-line errors */
    const char *now = getenv("OUTPOST_NOW"), *off = getenv("OUTPOST_CLOCK_OFFSET");
    if (off && *off && !proto_time_offset_parse(off, &c.clock_offset_ms))
        return cli_fail(&c, CLI_USAGE, "OUTPOST_CLOCK_OFFSET='%s' is not a whole number of "
                                       "seconds such as -600 or +86400", off);
    if (now && *now) {
        if (!cli_parse_time(now, &c.now_ms))
            return cli_fail(&c, CLI_USAGE, "OUTPOST_NOW='%s' is not an ISO 8601 UTC time such "
                                           "as 2026-11-25T09:30:00Z", now);
        c.now_ms = proto_time_shift(c.now_ms, c.clock_offset_ms);
    } else {
        struct timeval tv;
        gettimeofday(&tv, NULL);
        c.now_ms = proto_time_shift((uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000,
                                    c.clock_offset_ms);
    }
    while ((opt = getopt_long(argc, argv, "+:h", opts, NULL)) != -1) {
        switch (opt) {
        case 'd':
            if (!*optarg)
                return cli_fail(&c, CLI_USAGE, "--dir needs a directory");
            c.dir = optarg;
            break;
        case 'h':
            fputs(usage, stdout);
            return fflush(stdout) == 0 ? CLI_OK
                                       : cli_fail(&c, CLI_FAIL, "could not write the output");
        case 'V':
            puts("outpost 0.1");
            return CLI_OK;
        case ':':
            return cli_fail(&c, CLI_USAGE, "%s needs a value", argv[optind - 1]);
        default:
            return cli_fail(&c, CLI_USAGE, "unknown option '%s' (see 'outpost --help')",
                            argv[optind - 1]);
        }
    }
    if (optind >= argc)
        return cli_fail(&c, CLI_USAGE, "no command given (see 'outpost --help')");
    const char *name = argv[optind];
    if (strcmp(name, "help") == 0) {
        fputs(usage, stdout);
        return fflush(stdout) == 0 ? CLI_OK
                                   : cli_fail(&c, CLI_FAIL, "could not write the output");
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(name, commands[i].name) == 0) {
            c.cmd = name;
            /* The subcommand parses from its own name on, as if it were argv[0]. */
            argc -= optind;
            argv += optind;
            optind = 0; /* glibc: 0 re-initialises getopt */
            int code = commands[i].main(&c, argc, argv);
            if (fflush(stdout) != 0 && code == CLI_OK)
                return cli_fail(&c, CLI_FAIL, "could not write the output");
            return code;
        }
    return cli_fail(&c, CLI_USAGE, "'%s' is not a command (see 'outpost --help')", name);
}
