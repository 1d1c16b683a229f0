/* ctl_captures — the slabwatchctl subcommands about captures: `captures`,
 * `capture ID`, `arm`, `disarm`. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl.h"
#include "base/config.h"
#include "base/units.h"

/* Long options without a short form. */
enum {
        OPT_DURATION = 0x200,
};

static void usage_captures(FILE *f) {
        fputs("Usage: slabwatchctl captures [--json]\n"
              "List capture bundles on disk and the captures running now.\n", f);
}

int ctl_cmd_captures(struct ctl *c, int argc, char **argv) {
        struct ctl_reply reply = { 0 };
        struct proto_request req;
        json_object *d;
        int first;

        int r = ctl_parse_plain(c, argc, argv, usage_captures, 0, &first);
        if (r != 0)
                return r < 0 ? CTL_EXIT_OK : r;
        proto_request_init(&req, PROTO_CMD_CAPTURES);
        r = ctl_request(c, &req, &reply, &d);
        if (r != CTL_EXIT_OK || !d)
                return ctl_finish(&reply, r);
        if (!ctl_json_bool(d, "available")) {
                printf("captures are not available in this daemon\n");
                return ctl_finish(&reply, CTL_EXIT_OK);
        }
        json_object *running = json_object_object_get(d, "running");
        json_object *bundles = json_object_object_get(d, "bundles");
        size_t nr = json_object_is_type(running, json_type_array) ? json_object_array_length(running) : 0;
        size_t nb = json_object_is_type(bundles, json_type_array) ? json_object_array_length(bundles) : 0;
        if (nr + nb == 0) {
                printf("no captures\n");
                return ctl_finish(&reply, CTL_EXIT_OK);
        }
        static const char *const headers[] = { "ID", "CACHE", "STATE", "STARTED", "METHOD", "OUTSTANDING", "SUSPECT" };
        static const enum ctl_align align[] = { CTL_ALIGN_LEFT, CTL_ALIGN_LEFT, CTL_ALIGN_LEFT, CTL_ALIGN_LEFT,
                                                CTL_ALIGN_LEFT, CTL_ALIGN_RIGHT, CTL_ALIGN_LEFT };
        struct ctl_table *t = ctl_table_new(7, headers, align);
        /* Running captures first, then the bundles on disk, newest first. */
        for (size_t i = 0; t && i < nr + nb; i++) {
                bool live = i < nr;
                json_object *x = live ? json_object_array_get_idx(running, i) : json_object_array_get_idx(bundles, i - nr);
                char started[32], outstanding[32], state[48];
                ctl_format_time(ctl_json_num(x, "start_usec", NAN) / 1e6, started, sizeof started);
                if (ctl_json_has(x, "top_outstanding"))
                        snprintf(outstanding, sizeof outstanding, "%.0f", ctl_json_num(x, "top_outstanding", 0));
                else
                        snprintf(outstanding, sizeof outstanding, "-");
                if (live)
                        snprintf(state, sizeof state, "running %.0f/%.0fs", ctl_json_num(x, "elapsed_s", 0),
                                 ctl_json_num(x, "duration_s", 0));
                else if (strcmp(ctl_json_str(x, "status", ""), "interrupted") == 0)
                        /* Finished at a restart from the checkpoint a killed daemon left. */
                        snprintf(state, sizeof state, "interrupted");
                else
                        snprintf(state, sizeof state, "%s", ctl_json_str(x, "stop_reason", "done"));
                bool interrupted = !live && strcmp(state, "interrupted") == 0;
                const char *cells[] = { ctl_json_str(x, "id", "?"), ctl_json_str(x, "cache", "?"), state, started,
                                        ctl_json_str(x, "method", "-"), outstanding, ctl_json_str(x, "suspect", "-") };
                const char *warn = live || interrupted ? ctl_color_warn(c) : NULL;
                const char *colors[] = { NULL, NULL, warn, NULL, NULL, NULL, NULL };
                if (ctl_table_add(t, cells, colors) < 0)
                        break;
        }
        if (t)
                ctl_table_print(c, t, stdout);
        ctl_table_free(t);
        return ctl_finish(&reply, CTL_EXIT_OK);
}

static void usage_capture(FILE *f) {
        fputs("Usage: slabwatchctl capture ID [--json]\n"
              "Show the report of one capture (IDs from `slabwatchctl captures`).\n", f);
}

int ctl_cmd_capture(struct ctl *c, int argc, char **argv) {
        struct ctl_reply reply = { 0 };
        struct proto_request req;
        json_object *d;
        int first;

        int r = ctl_parse_plain(c, argc, argv, usage_capture, 1, &first);
        if (r != 0)
                return r < 0 ? CTL_EXIT_OK : r;
        proto_request_init(&req, PROTO_CMD_CAPTURE);
        if (strlen(argv[first]) >= sizeof req.id) {
                ctl_error("capture: ID too long");
                return CTL_EXIT_USAGE;
        }
        strcpy(req.id, argv[first]);
        r = ctl_request(c, &req, &reply, &d);
        if (r != CTL_EXIT_OK || !d)
                return ctl_finish(&reply, r);
        /* The daemon sends the bundle's report.txt when it has one. */
        const char *text = ctl_json_str(d, "text", NULL);
        if (text)
                fputs(text, stdout);
        else
                puts(json_object_to_json_string_ext(d, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
        return ctl_finish(&reply, CTL_EXIT_OK);
}

static void usage_arm(FILE *f) {
        fputs("Usage: slabwatchctl arm CACHE [--duration 60s] [--json]\n"
              "Capture call sites and allocation stacks of CACHE now (root only).\n"
              "  --duration DURATION   how long to trace (default: capture.duration of the config)\n", f);
}

static int arm_option(struct ctl *c, int opt, const char *arg, void *userdata) {
        struct proto_request *req = userdata;
        uint64_t usec;
        (void) c;
        if (opt != OPT_DURATION)
                return CTL_EXIT_USAGE;
        if (ctl_parse_duration(arg, &usec) < 0 || usec == 0) {
                ctl_error("arm: --duration takes a duration such as 60s or 5m, not \"%s\"", arg);
                return CTL_EXIT_USAGE;
        }
        /* The daemon's bounds (proto.c), said before asking it. */
        if (usec < CONFIG_CAPTURE_DURATION_MIN_USEC || usec > CONFIG_CAPTURE_DURATION_MAX_USEC) {
                ctl_error("arm: --duration must be 1s to 1h (the bounds of capture.duration), not \"%s\"", arg);
                return CTL_EXIT_USAGE;
        }
        req->duration_usec = usec;
        return 0;
}

static int set_cache(struct proto_request *req, const char *cmd, const char *name) {
        if (strlen(name) == 0 || strlen(name) >= sizeof req->cache || strchr(name, '/')) {
                ctl_error("%s: \"%s\" is not a cache name", cmd, name);
                return CTL_EXIT_USAGE;
        }
        strcpy(req->cache, name);
        return 0;
}

int ctl_cmd_arm(struct ctl *c, int argc, char **argv) {
        static const struct option opts[] = {
                { "duration", required_argument, NULL, OPT_DURATION },
                { 0 },
        };
        struct ctl_reply reply = { 0 };
        struct proto_request req;
        json_object *d;
        int first;
        char dur[32];

        proto_request_init(&req, PROTO_CMD_ARM);
        int r = ctl_parse_options(c, argc, argv, "", opts, arm_option, &req, usage_arm, &first);
        if (r != 0)
                return r < 0 ? CTL_EXIT_OK : r;
        if (argc - first != 1) {
                usage_arm(stderr);
                return CTL_EXIT_USAGE;
        }
        if ((r = set_cache(&req, "arm", argv[first])) != 0)
                return r;
        r = ctl_request(c, &req, &reply, &d);
        if (r != CTL_EXIT_OK || !d)
                return ctl_finish(&reply, r);
        printf("capturing %s", ctl_json_str(d, "cache", req.cache));
        if (ctl_json_has(d, "duration_s"))
                printf(" for %s", ctl_format_duration(ctl_json_num(d, "duration_s", 0), dur, sizeof dur));
        if (ctl_json_has(d, "id"))
                printf(" (capture %s)", ctl_json_str(d, "id", ""));
        putchar('\n');
        return ctl_finish(&reply, CTL_EXIT_OK);
}

static void usage_disarm(FILE *f) {
        fputs("Usage: slabwatchctl disarm CACHE [--json]\n"
              "Stop the capture of CACHE early; what was captured is kept (root only).\n", f);
}

int ctl_cmd_disarm(struct ctl *c, int argc, char **argv) {
        struct ctl_reply reply = { 0 };
        struct proto_request req;
        json_object *d;
        int first;

        int r = ctl_parse_plain(c, argc, argv, usage_disarm, 1, &first);
        if (r != 0)
                return r < 0 ? CTL_EXIT_OK : r;
        proto_request_init(&req, PROTO_CMD_DISARM);
        if ((r = set_cache(&req, "disarm", argv[first])) != 0)
                return r;
        r = ctl_request(c, &req, &reply, &d);
        if (r != CTL_EXIT_OK || !d)
                return ctl_finish(&reply, r);
        printf("stopped the capture of %s\n", ctl_json_str(d, "cache", req.cache));
        return ctl_finish(&reply, CTL_EXIT_OK);
}

