/* slabwatchd — watch the kernel's slab caches for leaks.
 *
 * Usage: slabwatchd [-c FILE] [--check-config] [-v] [--version] [-h] */
#include <errno.h>
#include <ev.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/config.h"
#include "control/commands.h"
#include "core/daemon.h"
#include "core/log.h"

static void usage(FILE *f) {
        fprintf(f,
                "Usage: slabwatchd [OPTIONS]\n"
                "Watch /proc/slabinfo and /proc/meminfo for kernel slab leaks.\n\n"
                "  -c, --config FILE   configuration file (default " CONFIG_DEFAULT_PATH ")\n"
                "      --check-config  load and validate the configuration, then exit\n"
                "  -v, --verbose       log debug messages\n"
                "      --version       print the version and exit\n"
                "  -h, --help          show this help\n");
}

/* Load by the policy SIGHUP and `reload` use too: a missing file at the
 * default location means the defaults. */
static int load_config(const struct config_source *src, struct config *ret) {
        struct config_error err = {};
        bool defaults = false;
        int r = config_load(src, ret, &defaults, &err);
        if (r < 0) {
                char msg[CONFIG_ERROR_MAX + CONFIG_PATH_MAX + 32];
                log_error("%s", config_error_format(&err, src->path, msg, sizeof msg));
                return r;
        }
        if (defaults)
                log_info("No %s, using the built-in defaults", src->path);
        return 0;
}

int main(int argc, char **argv) {
        static const struct option options[] = {
                { "config", required_argument, NULL, 'c' },
                { "check-config", no_argument, NULL, 'C' },
                { "verbose", no_argument, NULL, 'v' },
                { "version", no_argument, NULL, 'V' },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        const char *config_path = NULL;
        struct config_source src;
        bool check_only = false;
        static struct config cfg; /* large (paths): not on the stack */
        struct daemon *d = NULL;
        int c, r;

        while ((c = getopt_long(argc, argv, "c:vh", options, NULL)) >= 0) {
                switch (c) {
                case 'c':
                        config_path = optarg;
                        break;
                case 'C':
                        check_only = true;
                        break;
                case 'v':
                        log_set_max_level(LOG_DEBUG);
                        break;
                case 'V':
                        printf("slabwatchd %s\n", SLABWATCH_VERSION);
                        return EXIT_SUCCESS;
                case 'h':
                        usage(stdout);
                        return EXIT_SUCCESS;
                default:
                        usage(stderr);
                        return 2;
                }
        }
        if (optind < argc) {
                fprintf(stderr, "slabwatchd: unexpected argument '%s'\n", argv[optind]);
                usage(stderr);
                return 2;
        }

        r = config_source_init(&src, config_path);
        if (r < 0) {
                log_error_errno(r, "Cannot use %s as the configuration file", config_path);
                return EXIT_FAILURE;
        }
        if (load_config(&src, &cfg) < 0)
                return EXIT_FAILURE;
        if (check_only) {
                printf("%s: OK\n", src.path);
                return EXIT_SUCCESS;
        }

        struct ev_loop *loop = ev_default_loop(EVFLAG_AUTO);
        if (!loop) {
                log_error("Cannot initialise the event loop");
                return EXIT_FAILURE;
        }
        r = daemon_new(loop, &src, &cfg, commands_handle, &d);
        if (r < 0) {
                log_error_errno(r, "Cannot start");
                return EXIT_FAILURE;
        }
        r = daemon_start(d);
        if (r >= 0)
                ev_run(loop, 0);
        daemon_free(d);
        ev_loop_destroy(loop);
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
