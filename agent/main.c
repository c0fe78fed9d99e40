/*
 * main.c — outpostd: runs a node (SPEC §8). Listens for peers, dials known peers and the office
 * with capped, jittered backoff, keeps links alive, pushes new entries as they are written and
 * relays what it receives. `--once` syncs with the known peers (or --peer) and exits: the
 * engine behind `outpost sync --once`.
 */
#include <getopt.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/log.h"
#include "agent/node.h"
#include "proto/time.h"

static const char usage[] =
    "usage: outpostd [--dir DIR] [--listen HOST:PORT | --no-listen]\n"
    "                [--once [--peer HOST:PORT] [--quiet]]\n"
    "\n"
    "Run an outpost node: replicate this node's logs with its peers and the office whenever a\n"
    "link is there. Logs one line per event on stderr. Stops cleanly on SIGINT/SIGTERM;\n"
    "SIGHUP reloads the peer list.\n"
    "\n"
    "  --dir DIR           the node (default $OUTPOST_DIR, else $XDG_DATA_HOME/outpost)\n"
    "  --listen HOST:PORT  where to accept peers (default 0.0.0.0:7420)\n"
    "  --no-listen         accept no peers; only dial\n"
    "  --once              sync with every known peer (or --peer), then exit: 0 when all\n"
    "                      synced, 3 when one failed (the reason is on stderr)\n"
    "  --peer HOST:PORT    with --once: sync with this address\n"
    "  --quiet             with --once: no log lines, only the one-line result of a failure\n"
    "                      (how 'outpost sync' runs it)\n"
    "\n"
    "OUTPOST_CLOCK_OFFSET=SECONDS (e.g. -600, +86400) shifts this agent's wall clock, for tests\n"
    "of clock skew; timeouts run on the monotonic clock and are not shifted.\n";

int
main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"dir", required_argument, NULL, 'd'},  {"listen", required_argument, NULL, 'l'},
        {"no-listen", no_argument, NULL, 'n'},  {"once", no_argument, NULL, 'o'},
        {"peer", required_argument, NULL, 'p'}, {"help", no_argument, NULL, 'h'},
        {"quiet", no_argument, NULL, 'q'},
        {0},
    };
    agent_options opt = {0};
    bool quiet = false;
    char dirbuf[4096];
    int c;

    umask(077);
    opterr = 0;
    const char *d = getenv("OUTPOST_DIR"), *x = getenv("XDG_DATA_HOME"), *home = getenv("HOME");
    if (d && *d)
        opt.dir = d;
    else {
        if (x && *x)
            snprintf(dirbuf, sizeof dirbuf, "%s/outpost", x);
        else
            snprintf(dirbuf, sizeof dirbuf, "%s/.local/share/outpost", home ? home : ".");
        opt.dir = dirbuf;
    }
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': opt.dir = optarg; break;
        case 'l': opt.listen = optarg; break;
        case 'n': opt.listen = ""; break;
        case 'o': opt.once = true; break;
        case 'p': opt.once_peer = optarg; break;
        case 'q': quiet = true; break;
        case 'h': fputs(usage, stdout); return 0;
        case ':':
            fprintf(stderr, "outpostd: %s needs a value (see 'outpostd --help')\n", argv[optind - 1]);
            return 2;
        default:
            fprintf(stderr, "outpostd: unknown option '%s' (see 'outpostd --help')\n",
                    argv[optind - 1]);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "outpostd: unexpected argument '%s' (see 'outpostd --help')\n", argv[optind]);
        return 2;
    }
    if ((opt.once_peer || quiet) && !opt.once) {
        fprintf(stderr, "outpostd: %s goes with --once (see 'outpostd --help')\n",
                quiet ? "--quiet" : "--peer");
        return 2;
    }
    const char *off = getenv("OUTPOST_CLOCK_OFFSET");
    if (off && *off) {
        int64_t off_ms;
        if (!proto_time_offset_parse(off, &off_ms)) {
            fprintf(stderr, "outpostd: OUTPOST_CLOCK_OFFSET='%s' is not a whole number of "
                            "seconds such as -600 or +86400; unset it to use the clock as it is\n",
                    off);
            return 2;
        }
        agent_clock_set_offset(off_ms);
    }
    if (sodium_init() < 0) {
        fputs("outpostd: libsodium could not start\n", stderr);
        return 3;
    }
    /* Each connection holds a descriptor, authenticated or not. The usual soft limit (1,024)
     * would let a thousand half-open connections leave none for a member (C18): take what the
     * hard limit allows, up to AGENT_NOFILE_MAX. Refused, the agent runs with what it has. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < AGENT_NOFILE_MAX &&
        rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max < AGENT_NOFILE_MAX ? rl.rlim_max : AGENT_NOFILE_MAX;
        OP_IGNORE(setrlimit(RLIMIT_NOFILE, &rl)); /* see above */
    }
    opt.progress = opt.once && isatty(STDERR_FILENO);
    signal(SIGPIPE, SIG_IGN); /* a peer that vanishes is a closed connection, not a death */
    uv_loop_t loop;
    uv_loop_init(&loop);
    agent_node node;
    op_err r = agent_node_start(&node, &loop, &opt);
    if (r != OP_OK) {
        agent_node_stop(&node, NULL);
        uv_run(&loop, UV_RUN_DEFAULT);
        agent_node_fini(&node);
        uv_loop_close(&loop);
        return r == OP_E_INVAL ? 2 : 3;
    }
    agent_log_set_quiet(quiet); /* after start: why it could not start is still said */
    uv_run(&loop, UV_RUN_DEFAULT);
    int code = 0;
    if (opt.once) {
        if (opt.progress)
            fputs("\r\033[K", stderr);
        if (node.once_failed) {
            fprintf(stderr, "%s: %s\n", quiet ? "outpost sync" : "outpostd: sync failed",
                    node.once_error);
            code = 3;
        }
    }
    agent_node_fini(&node);
    uv_loop_close(&loop);
    return code;
}
