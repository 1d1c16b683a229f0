/* slabwatchctl — ask a running slabwatchd what it sees, or analyse recorded
 * slab logs and stack dumps offline. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "offline.h"
#include "replay.h"

struct subcommand {
        const char *name;
        int (*online)(struct ctl *c, int argc, char **argv);    /* asks the daemon */
        int (*offline)(int argc, char **argv);                  /* works on files */
        const char *summary;
};

static const struct subcommand subcommands[] = {
        { "status", ctl_cmd_status, NULL, "uptime, sampling, verdict, tripped caches, captures" },
        { "top", ctl_cmd_top, NULL, "caches by growth, size or objects [-n N] [--sort KEY]" },
        { "history", ctl_cmd_history, NULL, "one cache's history as a chart and table; --export" },
        { "meminfo", ctl_cmd_meminfo, NULL, "the meminfo keys the verdict uses, with rates" },
        { "events", ctl_cmd_events, NULL, "trips, clears, verdict changes, captures" },
        { "captures", ctl_cmd_captures, NULL, "capture bundles and running captures" },
        { "capture", ctl_cmd_capture, NULL, "the report of capture ID" },
        { "arm", ctl_cmd_arm, NULL, "capture CACHE now [--duration 60s] (root)" },
        { "disarm", ctl_cmd_disarm, NULL, "stop the capture of CACHE (root)" },
        { "reload", ctl_cmd_reload, NULL, "re-read the configuration (root)" },
        { "version", ctl_cmd_version, NULL, "versions of slabwatchctl and slabwatchd" },
        { "metrics", ctl_cmd_metrics, NULL, "Prometheus / OpenMetrics text" },
        { "replay", NULL, replay_main, "run a recorded slab log through the detector" },
        { "diff", NULL, offline_diff_main, "compare two slabinfo/meminfo snapshots" },
        { "stacks", NULL, offline_stacks_main, "aggregate kernel stack dumps" },
};

static void usage(FILE *f) {
        fprintf(f, "Usage: slabwatchctl [OPTIONS] COMMAND [ARGS]\n\n"
                   "Ask the slab-leak hunter slabwatchd what it sees, or analyse recordings offline.\n\n"
                   "Commands:\n");
        for (size_t i = 0; i < sizeof subcommands / sizeof subcommands[0]; i++)
                fprintf(f, "  %-10s %s\n", subcommands[i].name, subcommands[i].summary);
        fprintf(f, "\nOptions (also accepted after the command):\n"
                   "  --socket PATH     the daemon's socket (default $%s or %s)\n"
                   "  --json            print the daemon's JSON answer unchanged\n"
                   "  --color[=WHEN]    auto (default: only on a terminal), always, never\n"
                   "  --no-color        same as --color=never\n"
                   "  --timeout SECS    how long to wait for an answer (default %ds)\n"
                   "  -h, --help        this text; COMMAND --help for a command's\n"
                   "  --version         slabwatchctl's version\n\n"
                   "Exit status: 0 ok, 1 error, 2 usage, 3 slabwatchd not reachable.\n"
                   "See slabwatchctl(1).\n",
                CTL_SOCKET_ENV, CTL_SOCKET_DEFAULT, CTL_TIMEOUT_DEFAULT_SEC);
}

int main(int argc, char **argv) {
        struct ctl c = {
                .socket_path = CTL_SOCKET_DEFAULT,
                .color_mode = CTL_COLOR_AUTO,
                .timeout_sec = CTL_TIMEOUT_DEFAULT_SEC,
        };
        const char *env = getenv(CTL_SOCKET_ENV);
        if (env && env[0])
                c.socket_path = env;

        /* Find the command past the options before it; those options are
         * handed to the command, whose parser knows the common ones. */
        int i = 1;
        while (i < argc && argv[i][0] == '-') {
                const char *a = argv[i];
                if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
                        usage(stdout);
                        return CTL_EXIT_OK;
                }
                if (strcmp(a, "--version") == 0) {
                        printf("slabwatchctl %s (protocol %d)\n", SLABWATCH_VERSION, PROTO_VERSION);
                        return CTL_EXIT_OK;
                }
                i += strcmp(a, "--socket") == 0 || strcmp(a, "--timeout") == 0 ? 2 : 1;
        }
        if (i >= argc) {
                usage(stderr);
                return CTL_EXIT_USAGE;
        }
        const char *name = argv[i];
        const struct subcommand *sc = NULL;
        for (size_t k = 0; k < sizeof subcommands / sizeof subcommands[0]; k++)
                if (strcmp(subcommands[k].name, name) == 0)
                        sc = &subcommands[k];
        if (!sc) {
                if (strcmp(name, "help") == 0) {
                        usage(stdout);
                        return CTL_EXIT_OK;
                }
                ctl_error("unknown command \"%s\"", name);
                fprintf(stderr, "Try 'slabwatchctl --help'.\n");
                return CTL_EXIT_USAGE;
        }

        /* The command's argv: its name, the options given before it, then
         * its own arguments. */
        char **sub_argv = calloc((size_t) argc + 1, sizeof *sub_argv);
        if (!sub_argv) {
                ctl_error("out of memory");
                return CTL_EXIT_ERROR;
        }
        int k = 0;
        sub_argv[k++] = argv[i];
        for (int j = 1; j < i; j++) {
                /* Where the daemon is does not matter to a command that
                 * works on files: --socket and --timeout are not its. */
                if (sc->offline && (strcmp(argv[j], "--socket") == 0 || strcmp(argv[j], "--timeout") == 0)) {
                        j++;
                        continue;
                }
                sub_argv[k++] = argv[j];
        }
        for (int j = i + 1; j < argc; j++)
                sub_argv[k++] = argv[j];
        sub_argv[k] = NULL;

        int r = sc->offline ? sc->offline(k, sub_argv) : sc->online(&c, k, sub_argv);
        free(sub_argv);
        if (fflush(stdout) != 0 && r == CTL_EXIT_OK) {
                ctl_error("cannot write the output: %s", strerror(errno));
                r = CTL_EXIT_ERROR;
        }
        return r;
}
