/* cmd_sync.c — `outpost sync [--once] [--peer HOST:PORT]`: ask the running agent to sync now, or,
 * with --once (or when no agent runs), run outpostd --once: connect, sync, exit. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tools/cli.h"

static const char help[] =
    "usage: outpost sync [--once] [--peer HOST:PORT] [--dir DIR]\n"
    "\n"
    "Sync now. With an agent (outpostd) running, it is asked to dial every peer at once.\n"
    "With --once, or when no agent runs: connect to every known peer (or just --peer), sync,\n"
    "and exit; a progress line shows on a terminal. Exit status 0 when every peer synced,\n"
    "3 when one could not be reached or refused (the reason is printed; see 'outpost status').\n";

/* outpostd next to this outpost binary, else from PATH. */
static void
find_agent(char *out, size_t n)
{
    char self[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
    if (len > 0) {
        self[len] = '\0';
        char *slash = strrchr(self, '/');
        if (slash && (size_t)(slash - self) + sizeof "/outpostd" <= n) {
            memcpy(out, self, (size_t)(slash - self));
            memcpy(out + (slash - self), "/outpostd", sizeof "/outpostd");
            if (access(out, X_OK) == 0)
                return;
        }
    }
    snprintf(out, n, "outpostd");
}

int
cli_sync_main(cli_ctx *c, int argc, char **argv)
{
    static const struct option opts[] = {
        {"once", no_argument, NULL, 'o'},
        {"peer", required_argument, NULL, 'p'},
        CLI_COMMON_OPTS,
        {0},
    };
    bool once = false;
    const char *peer = NULL;
    cli_node n;
    int opt, code;
    while ((opt = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
        switch (opt) {
        case 'o': once = true; break;
        case 'p': peer = optarg; break;
        default:
            if ((code = cli_common_opt(c, opt, help, argv)) >= 0)
                return code;
        }
    }
    if (optind < argc)
        return cli_usage(c, "unexpected argument '%s'", argv[optind]);
    if (peer && !strchr(peer, ':'))
        return cli_usage(c, "--peer must be HOST:PORT, not '%s'", peer);
    if ((code = cli_node_open(c, &n)) != CLI_OK) /* fail early, with the CLI's words */
        return code;
    cli_node_close(&n);
    if (!once && !peer && cli_agent_call(c->dir, "sync")) {
        puts("Asked the agent to sync with every peer now; 'outpost status' shows how it goes.");
        return CLI_OK;
    }
    char agent[PATH_MAX];
    find_agent(agent, sizeof agent);
    char *args[8];
    int k = 0;
    args[k++] = agent;
    args[k++] = "--dir";
    args[k++] = (char *)c->dir;
    args[k++] = "--once";
    args[k++] = "--quiet"; /* its failure, one line, is ours */
    if (peer) {
        args[k++] = "--peer";
        args[k++] = (char *)peer;
    }
    args[k] = NULL;
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        return cli_fail(c, CLI_FAIL, "cannot start outpostd: %s", strerror(errno));
    if (pid == 0) {
        execvp(agent, args);
        fprintf(stderr, "outpost sync: cannot run %s: %s; is outpost installed completely?\n",
                agent, strerror(errno));
        _exit(CLI_FAIL);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return cli_fail(c, CLI_FAIL, "lost outpostd: %s", strerror(errno));
    if (WIFEXITED(status)) {
        if (WEXITSTATUS(status) == 0 && !c->json)
            puts("Synced.");
        return WEXITSTATUS(status) == 0 ? CLI_OK : WEXITSTATUS(status) == 2 ? CLI_USAGE : CLI_FAIL;
    }
    return cli_fail(c, CLI_FAIL, "outpostd died (signal %d)", WTERMSIG(status));
}
