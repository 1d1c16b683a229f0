/* ctl_commands — the slabwatchctl subcommands that ask the daemon: build
 * the request, render the answer for a person. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl.h"
#include "base/config.h"
#include "base/units.h"

/* Chart size for `history`. */
#define CHART_HEIGHT 8
#define CHART_WIDTH_MAX 72
/* Rows of the `history` table unless --all. */
#define HISTORY_ROWS_DEFAULT 24

static double now_epoch(void) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

int ctl_parse_plain(struct ctl *c, int argc, char **argv, void (*usage)(FILE *f), int want_args, int *ret_first) {
        int first = 0;
        int r = ctl_parse_options(c, argc, argv, "", NULL, NULL, NULL, usage, &first);
        if (r != 0)
                return r;
        if (argc - first != want_args) {
                if (want_args == 0)
                        ctl_error("%s: unexpected argument \"%s\"", argv[0], argv[first]);
                else
                        ctl_error("%s: expected %d argument%s", argv[0], want_args, want_args == 1 ? "" : "s");
                usage(stderr);
                return CTL_EXIT_USAGE;
        }
        *ret_first = first;
        return 0;
}

int ctl_finish(struct ctl_reply *reply, int r) {
        ctl_reply_done(reply);
        return r;
}

static void verdict_line(const struct ctl *c, json_object *verdict) {
        const char *summary = ctl_json_str(verdict, "summary", "none");
        const char *text = ctl_json_str(verdict, "text", "");
        bool none = strcmp(summary, "none") == 0;
        printf("%s%s%s", none ? ctl_color_good(c) : ctl_color_bad(c), text[0] ? text : summary, ctl_color_reset(c));
        putchar('\n');
}

static void usage_status(FILE *f) {
        fputs("Usage: slabwatchctl status [--json]\n"
              "Show the daemon's state: uptime, sampling, verdict, tripped caches, captures.\n", f);
}

int ctl_cmd_status(struct ctl *c, int argc, char **argv) {
        struct ctl_reply reply = { 0 };
        struct proto_request req;
        json_object *d, *v;
        int first;
        char a[64], b[64], e[64], g[64];

        int r = ctl_parse_plain(c, argc, argv, usage_status, 0, &first);
        if (r != 0)
                return r < 0 ? CTL_EXIT_OK : r;
        proto_request_init(&req, PROTO_CMD_STATUS);
        r = ctl_request(c, &req, &reply, &d);
        if (r != CTL_EXIT_OK || !d)
                return ctl_finish(&reply, r);

        printf("%sslabwatchd %s%s, pid %.0f, up %s\n", ctl_color_bold(c), ctl_json_str(d, "version", "?"),
               ctl_color_reset(c), ctl_json_num(d, "pid", 0), ctl_format_duration(ctl_json_num(d, "uptime_s", NAN), a, sizeof a));
        double last = ctl_json_num(d, "last_sample_time", NAN);
        printf("sampling      every %s, %.0f samples, %.0f caches",
               ctl_format_duration(ctl_json_num(d, "interval_s", NAN), a, sizeof a), ctl_json_num(d, "samples", 0),
               ctl_json_num(d, "caches", 0));
        if (isfinite(last))
                printf(", last %s ago (%s)", ctl_format_duration(fmax(0, now_epoch() - last), a, sizeof a),
                       ctl_format_clock(last, b, sizeof b));
        putchar('\n');
        if (json_object_object_get_ex(d, "sample_cost_usec", &v) && v) {
                char h[32], k[32];
                printf("sample cost   kernel read %s, our work %s (averages %s / %s)\n",
                       ctl_format_usec(ctl_json_num(v, "last_read", NAN), e, sizeof e),
                       ctl_format_usec(ctl_json_num(v, "last_work", NAN), g, sizeof g),
                       ctl_format_usec(ctl_json_num(v, "avg_read", NAN), h, sizeof h),
                       ctl_format_usec(ctl_json_num(v, "avg_work", NAN), k, sizeof k));
        }
        if (json_object_object_get_ex(d, "sample_jitter_usec", &v) && v)
                printf("tick jitter   max %s, average %s\n", ctl_format_usec(ctl_json_num(v, "max", NAN), e, sizeof e),
                       ctl_format_usec(ctl_json_num(v, "avg", NAN), g, sizeof g));
        const char *serr = ctl_json_str(d, "slabinfo_error", NULL);
        if (serr)
                printf("%sslabinfo      %s%s\n", ctl_color_warn(c), serr, ctl_color_reset(c));
        printf("verdict       ");
        verdict_line(c, json_object_object_get(d, "verdict"));

        json_object *tripped = json_object_object_get(d, "tripped");
        size_t nt = json_object_is_type(tripped, json_type_array) ? json_object_array_length(tripped) : 0;
        printf("tripped       ");
        if (nt == 0)
                printf("%snone%s\n", ctl_color_good(c), ctl_color_reset(c));
        for (size_t i = 0; i < nt; i++) {
                json_object *t = json_object_array_get_idx(tripped, i);
                printf("%s%s%s%s %s since %s\n", i ? "              " : "", ctl_color_bad(c),
                       ctl_json_str(t, "cache", "?"), ctl_color_reset(c),
                       ctl_format_rate(ctl_json_num(t, "bytes_per_hour", NAN), a, sizeof a),
                       ctl_format_time(ctl_json_num(t, "since", NAN), b, sizeof b));
        }

        json_object *caps = json_object_object_get(d, "captures");
        printf("captures      ");
        if (!ctl_json_bool(caps, "available"))
                printf("not available in this daemon\n");
        else {
                json_object *running = json_object_object_get(caps, "running");
                size_t nr = json_object_is_type(running, json_type_array) ? json_object_array_length(running) : 0;
                printf("%zu running", nr);
                for (size_t i = 0; i < nr; i++) {
                        json_object *x = json_object_array_get_idx(running, i);
                        printf("%s%s", i ? ", " : ": ",
                               json_object_is_type(x, json_type_string) ? json_object_get_string(x)
                                                                        : ctl_json_str(x, "cache", "?"));
                }
                json_object *queued = json_object_object_get(caps, "queued");
                size_t nq = json_object_is_type(queued, json_type_array) ? json_object_array_length(queued) : 0;
                if (nq > 0)
                        printf("; %zu queued", nq);
                for (size_t i = 0; i < nq; i++)
                        printf("%s%s", i ? ", " : ": ", ctl_json_str(json_object_array_get_idx(queued, i), "cache", "?"));
                putchar('\n');
                /* Suspected leaks: caches that tripped together, most specific first. */
                json_object *leaks = json_object_object_get(caps, "leaks");
                size_t nl = json_object_is_type(leaks, json_type_array) ? json_object_array_length(leaks) : 0;
                for (size_t i = 0; i < nl; i++) {
                        json_object *x = json_object_array_get_idx(leaks, i);
                        printf("leak          %s: %s\n", ctl_json_str(x, "id", "?"), ctl_json_str(x, "caches", "?"));
                }
        }
        const char *capsum = ctl_json_str(d, "capabilities_summary", NULL);
        if (capsum)
                printf("kernel        %s\n", capsum);
        json_object *server = json_object_object_get(d, "server");
        if (server)
                printf("socket        %.0f client%s connected, %.0f served, %.0f refused\n",
                       ctl_json_num(server, "clients", 0), ctl_json_num(server, "clients", 0) == 1 ? "" : "s",
                       ctl_json_num(server, "accepted", 0),
                       ctl_json_num(server, "refused_permission", 0) + ctl_json_num(server, "refused_busy", 0));
        return ctl_finish(&reply, CTL_EXIT_OK);
}

static void usage_top(FILE *f) {
        fputs("Usage: slabwatchctl top [-n N] [--sort growth|bytes|objs] [--json]\n"
              "List slab caches with size, active objects, growth over the detection window and state.\n"
              "  -n, --lines N      show N caches (default 20)\n"
              "  -s, --sort KEY     growth (bytes/hour, default), bytes, or objs\n", f);
}

struct top_opts {
        struct proto_request *req;
};

static int top_option(struct ctl *c, int opt, const char *arg, void *userdata) {
        struct top_opts *o = userdata;
        char *end = NULL;
        (void) c;
        if (opt == 'n') {
                errno = 0;
                unsigned long n = strtoul(arg, &end, 10);
                if (errno || !end || *end || n < 1 || n > PROTO_LIMIT_MAX || arg[0] == '-') {
                        ctl_error("top: -n takes 1..%u, not \"%s\"", PROTO_LIMIT_MAX, arg);
                        return CTL_EXIT_USAGE;
                }
                o->req->limit = (unsigned) n;
                return 0;
        }
        if (opt == 's') {
                int s = proto_sort_from_name(arg);
                if (s < 0) {
                        ctl_error("top: --sort takes growth, bytes or objs, not \"%s\"", arg);
                        return CTL_EXIT_USAGE;
                }
                o->req->sort = (enum proto_sort) s;
                return 0;
        }
        return CTL_EXIT_USAGE;
}

static const char *state_color(const struct ctl *c, const char *state) {
        if (strcmp(state, "tripped") == 0 || strcmp(state, "capturing") == 0)
                return ctl_color_bad(c);
        if (strcmp(state, "pending") == 0)
                return ctl_color_warn(c);
        return NULL;
}

int ctl_cmd_top(struct ctl *c, int argc, char **argv) {
        static const struct option opts[] = {
                { "lines", required_argument, NULL, 'n' },
                { "sort", required_argument, NULL, 's' },
                { 0 },
        };
        struct ctl_reply reply = { 0 };
        struct proto_request req;
        struct top_opts o = { &req };
        json_object *d;
        int first;

        proto_request_init(&req, PROTO_CMD_TOP);
        int r = ctl_parse_options(c, argc, argv, "n:s:", opts, top_option, &o, usage_top, &first);
        if (r != 0)
                return r < 0 ? CTL_EXIT_OK : r;
        if (first < argc) {
                ctl_error("top: unexpected argument \"%s\"", argv[first]);
                return CTL_EXIT_USAGE;
        }
        r = ctl_request(c, &req, &reply, &d);
        if (r != CTL_EXIT_OK || !d)
                return ctl_finish(&reply, r);

        static const char *const headers[] = { "CACHE", "STATE", "OBJS", "OBJSIZE", "SIZE", "OBJS/MIN",
                                               "GROWTH", "%/H", "TREND" };
        static const enum ctl_align align[] = { CTL_ALIGN_LEFT, CTL_ALIGN_LEFT, CTL_ALIGN_RIGHT, CTL_ALIGN_RIGHT,
                                                CTL_ALIGN_RIGHT, CTL_ALIGN_RIGHT, CTL_ALIGN_RIGHT, CTL_ALIGN_RIGHT,
                                                CTL_ALIGN_RIGHT };
        struct ctl_table *t = ctl_table_new(9, headers, align);
        if (!t) {
                ctl_error("out of memory");
                return ctl_finish(&reply, CTL_EXIT_ERROR);
        }
        json_object *caches = json_object_object_get(d, "caches");
        size_t n = json_object_is_type(caches, json_type_array) ? json_object_array_length(caches) : 0;
        for (size_t i = 0; i < n; i++) {
                json_object *x = json_object_array_get_idx(caches, i);
                char objs[32], objsize[32], size[32], opm[32], growth[32], pct[32], trend[32];
                const char *state = ctl_json_str(x, "state", "?");
                snprintf(objs, sizeof objs, "%.0f", ctl_json_num(x, "active_objs", 0));
                snprintf(objsize, sizeof objsize, "%.0f", ctl_json_num(x, "objsize", 0));
                units_format_bytes(ctl_json_num(x, "bytes", 0), false, size, sizeof size);
                ctl_format_signed(ctl_json_num(x, "objs_per_min", NAN), 1, opm, sizeof opm);
                ctl_format_rate(ctl_json_num(x, "bytes_per_hour", NAN), growth, sizeof growth);
                ctl_format_signed(ctl_json_num(x, "percent_per_hour", NAN), 1, pct, sizeof pct);
                ctl_format_signed(ctl_json_num(x, "trend", NAN), 2, trend, sizeof trend);
                const char *cells[] = { ctl_json_str(x, "name", "?"), state, objs, objsize, size, opm, growth,
                                        pct, trend };
                const char *colors[] = { state_color(c, state), state_color(c, state), NULL, NULL, NULL, NULL,
                                         NULL, NULL, NULL };
                if (ctl_table_add(t, cells, colors) < 0) {
                        ctl_table_free(t);
                        ctl_error("out of memory");
                        return ctl_finish(&reply, CTL_EXIT_ERROR);
                }
        }
        ctl_table_print(c, t, stdout);
        ctl_table_free(t);
        char w[32];
        printf("%s%zu of %.0f caches, sorted by %s; growth fitted over %s%s\n", ctl_color_dim(c), n,
               ctl_json_num(d, "total", (double) n), ctl_json_str(d, "sort", "growth"),
               ctl_format_duration(ctl_json_num(d, "window_s", NAN), w, sizeof w), ctl_color_reset(c));
        return ctl_finish(&reply, CTL_EXIT_OK);
}

static void usage_history(FILE *f) {
        fputs("Usage: slabwatchctl history CACHE [--since 2h] [--tier raw|minute|hour] [--all] [--json]\n"
              "       slabwatchctl history --export [CACHE] [--since ...] [--tier ...] [-o FILE]\n"
              "Show one cache's history as a chart and a table, or export the daemon's history\n"
              "as a slab log that `slabwatchctl replay` reads (e.g. with another config).\n"
              "  --since DURATION   how far back (2h, 30m, 1d; default: all the tier holds)\n"
              "  --tier TIER        raw (every sample), minute, hour (default: the finest covering --since)\n"
              "  --all              print every point, not an even selection\n"
              "  --export           write the slab log format instead\n"
              "  -o, --output FILE  write the export to FILE instead of stdout\n", f);
}

struct history_opts {
        struct proto_request *req;
        bool all;
        bool export;
        const char *output;
};

enum {
        OPT_SINCE = 0x200,
        OPT_TIER,
        OPT_ALL,
        OPT_EXPORT,
        OPT_FORMAT,
};

static int since_tier_option(struct proto_request *req, int opt, const char *arg) {
        if (opt == OPT_SINCE) {
                uint64_t usec;
                if (ctl_parse_duration(arg, &usec) < 0 || usec == 0) {
                        ctl_error("--since takes a duration such as 2h, 30m or 1d, not \"%s\"", arg);
                        return CTL_EXIT_USAGE;
                }
                req->since_usec = usec;
                return 0;
        }
        if (opt == OPT_TIER) {
                int t = proto_tier_from_name(arg);
                if (t < 0) {
                        ctl_error("--tier takes raw, minute or hour, not \"%s\"", arg);
                        return CTL_EXIT_USAGE;
                }
                req->tier = (enum proto_tier) t;
                return 0;
        }
        return CTL_EXIT_USAGE;
}

static int history_option(struct ctl *c, int opt, const char *arg, void *userdata) {
        struct history_opts *o = userdata;
        (void) c;
        switch (opt) {
        case OPT_ALL:
                o->all = true;
                return 0;
        case OPT_EXPORT:
                o->export = true;
                return 0;
        case 'o':
                o->output = arg;
                return 0;
        default:
                return since_tier_option(o->req, opt, arg);
        }
}

static int history_export(struct ctl *c, const struct history_opts *o, const char *cache) {
        struct proto_request req = *o->req;
        bool json = c->json;
        FILE *f = stdout;
        int r = CTL_EXIT_OK, samples = 0;

        req.command = PROTO_CMD_EXPORT;
        req.cache[0] = '\0';
        if (o->output && strcmp(o->output, "-") != 0) {
                f = fopen(o->output, "we");
                if (!f) {
                        ctl_error("cannot create %s: %s", o->output, strerror(errno));
                        return CTL_EXIT_ERROR;
                }
        }
        /* The export is the slab log, never the daemon's JSON. */
        c->json = false;
        /* Long histories come in pages; each continues where the last ended. */
        for (;;) {
                struct ctl_reply reply = { 0 };
                json_object *d;
                r = ctl_request(c, &req, &reply, &d);
                if (r != CTL_EXIT_OK || !d) {
                        ctl_reply_done(&reply);
                        break;
                }
                int n = ctl_export_write(d, cache, f);
                if (n < 0) {
                        ctl_error("cannot write the export%s%s: %s", o->output ? " to " : "",
                                  o->output ? o->output : "", strerror(-n));
                        ctl_reply_done(&reply);
                        r = CTL_EXIT_ERROR;
                        break;
                }
                samples += n;
                bool more = ctl_json_bool(d, "more") && ctl_json_has(d, "next_usec");
                if (more) {
                        /* Pin the tier the first page chose. */
                        int t = proto_tier_from_name(ctl_json_str(d, "tier", ""));
                        if (t >= 0)
                                req.tier = (enum proto_tier) t;
                        req.from_usec = (uint64_t) json_object_get_int64(json_object_object_get(d, "next_usec"));
                }
                ctl_reply_done(&reply);
                if (!more)
                        break;
        }
        c->json = json;
        if (f != stdout) {
                if (fclose(f) != 0 && r == CTL_EXIT_OK) {
                        ctl_error("cannot write %s: %s", o->output, strerror(errno));
                        r = CTL_EXIT_ERROR;
                }
                if (r == CTL_EXIT_OK)
                        fprintf(stderr, "wrote %d samples to %s\n", samples, o->output);
        }
        return r;
}

int ctl_cmd_history(struct ctl *c, int argc, char **argv) {
        static const struct option opts[] = {
                { "since", required_argument, NULL, OPT_SINCE },
                { "tier", required_argument, NULL, OPT_TIER },
                { "all", no_argument, NULL, OPT_ALL },
                { "export", no_argument, NULL, OPT_EXPORT },
                { "output", required_argument, NULL, 'o' },
                { 0 },
        };
        struct ctl_reply reply = { 0 };
        struct proto_request req;
        struct history_opts o = { .req = &req };
        json_object *d;
        int first;

        proto_request_init(&req, PROTO_CMD_HISTORY);
        int r = ctl_parse_options(c, argc, argv, "o:", opts, history_option, &o, usage_history, &first);
        if (r != 0)
                return r < 0 ? CTL_EXIT_OK : r;
        if (argc - first > 1 || (argc - first == 0 && !o.export)) {
                ctl_error("history: %s", argc - first > 1 ? "one cache at a time" : "which cache? (see `slabwatchctl top`)");
                usage_history(stderr);
                return CTL_EXIT_USAGE;
        }
        const char *cache = argc - first == 1 ? argv[first] : NULL;
        if (cache && strlen(cache) >= sizeof req.cache) {
                ctl_error("history: cache name too long");
                return CTL_EXIT_USAGE;
        }
        if (o.export)
                return history_export(c, &o, cache);
        if (o.output) {
                ctl_error("history: -o is for --export");
                return CTL_EXIT_USAGE;
        }
        strcpy(req.cache, cache);
        r = ctl_request(c, &req, &reply, &d);
        if (r != CTL_EXIT_OK || !d)
                return ctl_finish(&reply, r);

        json_object *points = json_object_object_get(d, "points");
        size_t n = json_object_is_type(points, json_type_array) ? json_object_array_length(points) : 0;
        printf("%s%s%s  %s tier, %zu point%s, state %s, object size %.0f B\n", ctl_color_bold(c),
               ctl_json_str(d, "cache", cache), ctl_color_reset(c), ctl_json_str(d, "tier", "?"), n, n == 1 ? "" : "s",
               ctl_json_str(d, "state", "?"), ctl_json_num(d, "objsize", 0));
        if (n == 0) {
                printf("no samples in that span\n");
                return ctl_finish(&reply, CTL_EXIT_OK);
        }
        double *t = calloc(n, sizeof *t), *v = calloc(n, sizeof *v);
        if (!t || !v) {
                free(t);
                free(v);
                ctl_error("out of memory");
                return ctl_finish(&reply, CTL_EXIT_ERROR);
        }
        for (size_t i = 0; i < n; i++) {
                json_object *p = json_object_array_get_idx(points, i);
                t[i] = ctl_json_num(p, "t", NAN);
                v[i] = ctl_json_num(p, "active_objs", NAN);
        }
        putchar('\n');
        unsigned width = c->term_width > 20 ? c->term_width - 12 : 8;
        ctl_chart(c, stdout, t, v, n, CHART_HEIGHT, width < CHART_WIDTH_MAX ? width : CHART_WIDTH_MAX, "active objects");
        putchar('\n');

        bool buckets = strcmp(ctl_json_str(d, "tier", "raw"), "raw") != 0;
        static const char *const headers_raw[] = { "TIME", "OBJS", "SLABS", "SIZE" };
        static const char *const headers_bucket[] = { "TIME", "OBJS", "MIN", "MAX", "SLABS", "SIZE" };
        static const enum ctl_align align[] = { CTL_ALIGN_LEFT, CTL_ALIGN_RIGHT, CTL_ALIGN_RIGHT, CTL_ALIGN_RIGHT,
                                                CTL_ALIGN_RIGHT, CTL_ALIGN_RIGHT };
        struct ctl_table *tab = ctl_table_new(buckets ? 6 : 4, buckets ? headers_bucket : headers_raw, align);
        size_t rows = o.all || n <= HISTORY_ROWS_DEFAULT ? n : HISTORY_ROWS_DEFAULT;
        for (size_t k = 0; tab && k < rows; k++) {
                /* An even selection that always ends with the newest point. */
                size_t i = rows == n ? k : (size_t) ((double) k * (double) (n - 1) / (double) (rows - 1) + 0.5);
                json_object *p = json_object_array_get_idx(points, i);
                char time_s[32], objs[32], mn[32], mx[32], slabs[32], size[32];
                ctl_format_time(t[i], time_s, sizeof time_s);
                snprintf(objs, sizeof objs, "%.0f", v[i]);
                snprintf(mn, sizeof mn, "%.0f", ctl_json_num(p, "min", NAN));
                snprintf(mx, sizeof mx, "%.0f", ctl_json_num(p, "max", NAN));
                if (ctl_json_has(p, "num_slabs"))
                        snprintf(slabs, sizeof slabs, "%.0f", ctl_json_num(p, "num_slabs", 0));
                else
                        snprintf(slabs, sizeof slabs, "-");
                if (ctl_json_has(p, "bytes"))
                        units_format_bytes(ctl_json_num(p, "bytes", 0), false, size, sizeof size);
                else
                        snprintf(size, sizeof size, "-");
                const char *raw_cells[] = { time_s, objs, slabs, size };
                const char *bucket_cells[] = { time_s, objs, mn, mx, slabs, size };
                if (ctl_table_add(tab, buckets ? bucket_cells : raw_cells, NULL) < 0)
                        break;
        }
        if (tab)
                ctl_table_print(c, tab, stdout);
        ctl_table_free(tab);
        if (rows < n)
                printf("%s%zu of %zu points shown; --all shows every one%s\n", ctl_color_dim(c), rows, n,
                       ctl_color_reset(c));
        free(t);
        free(v);
        return ctl_finish(&reply, CTL_EXIT_OK);
}

static void usage_meminfo(FILE *f) {
        fputs("Usage: slabwatchctl meminfo [--since 15m] [--tier raw|minute|hour] [--json]\n"
              "Show the /proc/meminfo keys the verdict uses, with their growth over the span.\n", f);
}

static int req_option(struct ctl *c, int opt, const char *arg, void *userdata) {
        (void) c;
        return since_tier_option(userdata, opt, arg);
}

int ctl_cmd_meminfo(struct ctl *c, int argc, char **argv) {
        static const struct option opts[] = {
                { "since", required_argument, NULL, OPT_SINCE },
                { "tier", required_argument, NULL, OPT_TIER },
                { 0 },
        };
        struct ctl_reply reply = { 0 };
        struct proto_request req;
        json_object *d;
        int first;

        proto_request_init(&req, PROTO_CMD_MEMINFO);
        int r = ctl_parse_options(c, argc, argv, "", opts, req_option, &req, usage_meminfo, &first);
        if (r != 0)
                return r < 0 ? CTL_EXIT_OK : r;
        if (first < argc) {
                ctl_error("meminfo: unexpected argument \"%s\"", argv[first]);
                return CTL_EXIT_USAGE;
        }
        r = ctl_request(c, &req, &reply, &d);
        if (r != CTL_EXIT_OK || !d)
                return ctl_finish(&reply, r);
        static const char *const headers[] = { "KEY", "NOW", "GROWTH", "TREND", "POINTS" };
        static const enum ctl_align align[] = { CTL_ALIGN_LEFT, CTL_ALIGN_RIGHT, CTL_ALIGN_RIGHT, CTL_ALIGN_RIGHT,
                                                CTL_ALIGN_RIGHT };
        struct ctl_table *t = ctl_table_new(5, headers, align);
        json_object *keys = json_object_object_get(d, "keys");
        size_t n = json_object_is_type(keys, json_type_array) ? json_object_array_length(keys) : 0;
        for (size_t i = 0; t && i < n; i++) {
                json_object *k = json_object_array_get_idx(keys, i);
                char now[32], growth[32], trend[32], pts[32];
                if (ctl_json_has(k, "kb"))
                        units_format_bytes(ctl_json_num(k, "kb", 0) * 1024, false, now, sizeof now);
                else
                        snprintf(now, sizeof now, "-");
                ctl_format_rate(ctl_json_num(k, "bytes_per_hour", NAN), growth, sizeof growth);
                ctl_format_signed(ctl_json_num(k, "trend", NAN), 2, trend, sizeof trend);
                json_object *p = json_object_object_get(k, "points");
                snprintf(pts, sizeof pts, "%zu", json_object_is_type(p, json_type_array) ? json_object_array_length(p) : 0);
                double rate = ctl_json_num(k, "bytes_per_hour", NAN);
                const char *color = isfinite(rate) && rate > 0 && ctl_json_num(k, "trend", 0) >= 0.6 ? ctl_color_warn(c)
                                                                                                      : NULL;
                const char *cells[] = { ctl_json_str(k, "key", "?"), now, growth, trend, pts };
                const char *colors[] = { NULL, NULL, color, NULL, NULL };
                if (ctl_table_add(t, cells, colors) < 0)
                        break;
        }
        if (t)
                ctl_table_print(c, t, stdout);
        ctl_table_free(t);
        char w[32];
        printf("%sgrowth fitted over %s (%s tier)%s\nverdict: ", ctl_color_dim(c),
               ctl_format_duration(ctl_json_num(d, "window_s", NAN), w, sizeof w), ctl_json_str(d, "tier", "?"),
               ctl_color_reset(c));
        verdict_line(c, json_object_object_get(d, "verdict"));
        return ctl_finish(&reply, CTL_EXIT_OK);
}

static void usage_events(FILE *f) {
        fputs("Usage: slabwatchctl events [--since 1d] [-n N] [--json]\n"
              "Show trips, re-alerts, clears, verdict changes and captures, oldest first.\n"
              "  -n, --lines N   the newest N events (default 100)\n", f);
}

static int events_option(struct ctl *c, int opt, const char *arg, void *userdata) {
        struct proto_request *req = userdata;
        struct top_opts o = { req };
        if (opt == 'n')
                return top_option(c, opt, arg, &o);
        return since_tier_option(req, opt, arg);
}

int ctl_cmd_events(struct ctl *c, int argc, char **argv) {
        static const struct option opts[] = {
                { "since", required_argument, NULL, OPT_SINCE },
                { "lines", required_argument, NULL, 'n' },
                { 0 },
        };
        struct ctl_reply reply = { 0 };
        struct proto_request req;
        json_object *d;
        int first;

        proto_request_init(&req, PROTO_CMD_EVENTS);
        int r = ctl_parse_options(c, argc, argv, "n:", opts, events_option, &req, usage_events, &first);
        if (r != 0)
                return r < 0 ? CTL_EXIT_OK : r;
        if (first < argc) {
                ctl_error("events: unexpected argument \"%s\"", argv[first]);
                return CTL_EXIT_USAGE;
        }
        r = ctl_request(c, &req, &reply, &d);
        if (r != CTL_EXIT_OK || !d)
                return ctl_finish(&reply, r);
        json_object *events = json_object_object_get(d, "events");
        size_t n = json_object_is_type(events, json_type_array) ? json_object_array_length(events) : 0;
        if (n == 0) {
                printf("no events%s\n", req.since_usec ? " in that span" : "");
                return ctl_finish(&reply, CTL_EXIT_OK);
        }
        static const char *const headers[] = { "TIME", "EVENT", "CACHE", "MESSAGE" };
        struct ctl_table *t = ctl_table_new(4, headers, NULL);
        for (size_t i = 0; t && i < n; i++) {
                json_object *e = json_object_array_get_idx(events, i);
                char time_s[32];
                const char *kind = ctl_json_str(e, "event", "?");
                ctl_format_time(ctl_json_num(e, "time", NAN), time_s, sizeof time_s);
                const char *cells[] = { time_s, kind, ctl_json_str(e, "cache", "-"), ctl_json_str(e, "message", "") };
                const char *color = strcmp(kind, "trip") == 0 || strcmp(kind, "retrip") == 0 ? ctl_color_bad(c)
                                    : strcmp(kind, "cleared") == 0                           ? ctl_color_good(c)
                                                                                             : NULL;
                const char *colors[] = { NULL, color, NULL, NULL };
                if (ctl_table_add(t, cells, colors) < 0)
                        break;
        }
        if (t)
                ctl_table_print(c, t, stdout);
        ctl_table_free(t);
        if (ctl_json_bool(d, "truncated"))
                printf("%solder events are in %s%s\n", ctl_color_dim(c), ctl_json_str(d, "log", "the events log"),
                       ctl_color_reset(c));
        return ctl_finish(&reply, CTL_EXIT_OK);
}

static void usage_reload(FILE *f) {
        fputs("Usage: slabwatchctl reload [--json]\n"
              "Make the daemon re-read its configuration file (root only). A bad file is\n"
              "refused and the running configuration kept.\n", f);
}

int ctl_cmd_reload(struct ctl *c, int argc, char **argv) {
        struct ctl_reply reply = { 0 };
        struct proto_request req;
        json_object *d;
        int first;

        int r = ctl_parse_plain(c, argc, argv, usage_reload, 0, &first);
        if (r != 0)
                return r < 0 ? CTL_EXIT_OK : r;
        proto_request_init(&req, PROTO_CMD_RELOAD);
        r = ctl_request(c, &req, &reply, &d);
        if (r != CTL_EXIT_OK || !d)
                return ctl_finish(&reply, r);
        printf("reloaded %s\n", ctl_json_str(d, "config", "the configuration"));
        return ctl_finish(&reply, CTL_EXIT_OK);
}

static void usage_version(FILE *f) {
        fputs("Usage: slabwatchctl version [--json]\n"
              "Print the versions of slabwatchctl and of the running slabwatchd.\n", f);
}

int ctl_cmd_version(struct ctl *c, int argc, char **argv) {
        struct ctl_reply reply = { 0 };
        struct proto_request req;
        json_object *d;
        int first;

        int r = ctl_parse_plain(c, argc, argv, usage_version, 0, &first);
        if (r != 0)
                return r < 0 ? CTL_EXIT_OK : r;
        if (!c->json)
                printf("slabwatchctl %s (protocol %d)\n", SLABWATCH_VERSION, PROTO_VERSION);
        fflush(stdout);
        proto_request_init(&req, PROTO_CMD_VERSION);
        r = ctl_request(c, &req, &reply, &d);
        if (r != CTL_EXIT_OK || !d)
                return ctl_finish(&reply, r);
        printf("slabwatchd %s (protocol %.0f)\n", ctl_json_str(d, "version", "?"), ctl_json_num(d, "protocol", 0));
        return ctl_finish(&reply, CTL_EXIT_OK);
}

static void usage_metrics(FILE *f) {
        fputs("Usage: slabwatchctl metrics [--openmetrics] [--json]\n"
              "Print the daemon's figures as Prometheus text (what node_exporter's textfile\n"
              "collector reads), or as OpenMetrics with --openmetrics.\n", f);
}

static int metrics_option(struct ctl *c, int opt, const char *arg, void *userdata) {
        struct proto_request *req = userdata;
        (void) c;
        (void) arg;
        if (opt != OPT_FORMAT)
                return CTL_EXIT_USAGE;
        req->format = PROTO_FORMAT_OPENMETRICS;
        return 0;
}

int ctl_cmd_metrics(struct ctl *c, int argc, char **argv) {
        static const struct option opts[] = {
                { "openmetrics", no_argument, NULL, OPT_FORMAT },
                { 0 },
        };
        struct ctl_reply reply = { 0 };
        struct proto_request req;
        json_object *d;
        int first;

        proto_request_init(&req, PROTO_CMD_METRICS);
        int r = ctl_parse_options(c, argc, argv, "", opts, metrics_option, &req, usage_metrics, &first);
        if (r != 0)
                return r < 0 ? CTL_EXIT_OK : r;
        if (first < argc) {
                ctl_error("metrics: unexpected argument \"%s\"", argv[first]);
                return CTL_EXIT_USAGE;
        }
        r = ctl_request(c, &req, &reply, &d);
        if (r != CTL_EXIT_OK || !d)
                return ctl_finish(&reply, r);
        fputs(ctl_json_str(d, "text", ""), stdout);
        return ctl_finish(&reply, CTL_EXIT_OK);
}
