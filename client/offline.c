/* offline — `slabwatchctl diff` and `slabwatchctl stacks`.
 *
 * Both read files a tester saved on a device (plain, gzip or xz, or stdin)
 * and run them through the same library code the daemon uses. `stacks`
 * streams its input in chunks, so a console log of any size runs in bounded
 * memory; `diff` reads two small snapshots whole. */
#include "offline.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "input.h"
#include "slabdiff.h"
#include "stackagg.h"
#include "stackdump.h"
#include "units.h"

enum {
        EXIT_OK = 0,
        EXIT_ERROR = 1,
        EXIT_USAGE = 2,
};

/* Bytes of decompressed text handed to a parser at a time. */
#define OFFLINE_CHUNK_SIZE ((size_t) 64 << 10)
/* A slabinfo + meminfo snapshot is ~100 KB on a big machine; anything this
 * large is not one (and reading it whole would be unbounded). */
#define OFFLINE_SNAPSHOT_MAX ((size_t) 64 << 20)
/* Unreadable lines reported per file; the rest are counted. */
#define OFFLINE_ERRORS_SHOWN 10
/* Width of a tree prefix: three columns per branching level. */
#define OFFLINE_TREE_PREFIX_MAX (3 * STACKDUMP_FRAMES_MAX + 1)

/* ---- formatting ---------------------------------------------------------- */

static bool parse_count(const char *s, size_t *ret) {
        char *end;
        errno = 0;
        if (!s[0] || s[0] == '-')
                return false;
        unsigned long long v = strtoull(s, &end, 10);
        if (errno || *end || v > SIZE_MAX)
                return false;
        *ret = (size_t) v;
        return true;
}

/* After getopt_long() (opterr = 0) returned '?': name the option it refused. */
static void print_bad_option(const char *command, char **argv) {
        if (optopt && optopt < 0x100)
                fprintf(stderr, "slabwatchctl %s: bad option -%c\n", command, optopt);
        else
                fprintf(stderr, "slabwatchctl %s: bad option %s\n", command, argv[optind - 1]);
}

static const char *format_signed(int64_t v, char *buf, size_t size) {
        snprintf(buf, size, v ? "%+" PRId64 : "%" PRId64, v);
        return buf;
}

/* ---- stacks -------------------------------------------------------------- */

struct stacks_args {
        const char *from;
        const char *noise[STACKAGG_NOISE_MAX];
        size_t n_noise;
        bool keep_noise;
        bool keep_unreliable;
        bool tree;
        bool folded;
        bool json;
        size_t limit;           /* 0 = all */
        char **files;
        size_t n_files;
};

struct stacks_run {
        struct stackagg *agg;
        unsigned source;
        const char *name;
        uint64_t file_errors;
        uint64_t errors;
};

static void stacks_usage(FILE *f) {
        fputs("Usage: slabwatchctl stacks [OPTIONS] FILE...\n"
              "\n"
              "Aggregate kernel stack dumps into distinct stacks with counts. FILE is a\n"
              "console log, dmesg or journal output, tracefs text, SLUB TRACE output or\n"
              "an alloc_traces file; gzip and xz are read directly; - reads stdin.\n"
              "\n"
              "  --from FUNC         re-root each stack at FUNC (a glob) and group by its callers\n"
              "  --tree              show a call tree (outermost caller first; with --from,\n"
              "                      FUNC first and its callers below)\n"
              "  --folded            print \"outer;...;inner COUNT\" lines for flamegraph.pl\n"
              "                      or speedscope\n"
              "  --keep-noise        keep the dump, trace and allocator frames at the inner end\n"
              "  --noise FUNC        also trim FUNC (a glob; may be repeated)\n"
              "  --keep-unreliable   count \"? func\" frames as part of a stack\n"
              "  -n N                list only the N most frequent stacks (default: all)\n"
              "  --json              print JSON\n"
              "  -h, --help          show this help\n", f);
}

static int stacks_parse_args(int argc, char **argv, struct stacks_args *a) {
        enum {
                ARG_FROM = 0x100,
                ARG_TREE,
                ARG_FOLDED,
                ARG_KEEP_NOISE,
                ARG_NOISE,
                ARG_KEEP_UNRELIABLE,
                ARG_JSON,
        };
        static const struct option options[] = {
                { "from", required_argument, NULL, ARG_FROM },
                { "tree", no_argument, NULL, ARG_TREE },
                { "folded", no_argument, NULL, ARG_FOLDED },
                { "keep-noise", no_argument, NULL, ARG_KEEP_NOISE },
                { "noise", required_argument, NULL, ARG_NOISE },
                { "keep-unreliable", no_argument, NULL, ARG_KEEP_UNRELIABLE },
                { "json", no_argument, NULL, ARG_JSON },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        int c;

        optind = 0;
        opterr = 0;
        while ((c = getopt_long(argc, argv, "n:h", options, NULL)) >= 0)
                switch (c) {
                case ARG_FROM:
                        a->from = optarg;
                        break;
                case ARG_TREE:
                        a->tree = true;
                        break;
                case ARG_FOLDED:
                        a->folded = true;
                        break;
                case ARG_KEEP_NOISE:
                        a->keep_noise = true;
                        break;
                case ARG_NOISE:
                        if (a->n_noise == STACKAGG_NOISE_MAX) {
                                fprintf(stderr, "slabwatchctl stacks: at most %d --noise patterns\n",
                                        STACKAGG_NOISE_MAX);
                                return EXIT_USAGE;
                        }
                        a->noise[a->n_noise++] = optarg;
                        break;
                case ARG_KEEP_UNRELIABLE:
                        a->keep_unreliable = true;
                        break;
                case ARG_JSON:
                        a->json = true;
                        break;
                case 'n':
                        if (!parse_count(optarg, &a->limit)) {
                                fprintf(stderr, "slabwatchctl stacks: -n wants a number, not '%s'\n", optarg);
                                return EXIT_USAGE;
                        }
                        break;
                case 'h':
                        stacks_usage(stdout);
                        return -1;
                default:
                        print_bad_option("stacks", argv);
                        stacks_usage(stderr);
                        return EXIT_USAGE;
                }
        if (a->tree && a->folded) {
                fputs("slabwatchctl stacks: --tree and --folded are alternatives\n", stderr);
                return EXIT_USAGE;
        }
        if (optind >= argc) {
                fputs("slabwatchctl stacks: no input file (use - for stdin)\n", stderr);
                stacks_usage(stderr);
                return EXIT_USAGE;
        }
        a->files = argv + optind;
        a->n_files = (size_t) (argc - optind);
        return 0;
}

static int on_stack(const struct stackdump_stack *s, void *userdata) {
        struct stacks_run *run = userdata;
        return stackagg_add(run->agg, s, run->source);
}

static void on_line_error(uint64_t line, int error, void *userdata) {
        struct stacks_run *run = userdata;
        run->errors++;
        if (run->file_errors++ < OFFLINE_ERRORS_SHOWN)
                fprintf(stderr, "slabwatchctl stacks: %s:%" PRIu64 ": %s\n", run->name, line,
                        stackdump_error_message(error));
}

/* Feed one file through a fresh parser into the aggregator. */
static int stacks_feed_file(struct stacks_run *run, const char *path, char *buf) {
        struct stackdump_parser *p = NULL;
        struct input *in = NULL;
        int r = input_open(path, &in);
        if (r < 0) {
                fprintf(stderr, "slabwatchctl stacks: cannot open %s: %s\n", input_display_name(path),
                        input_strerror(r));
                return r;
        }
        run->name = input_display_name(path);
        run->file_errors = 0;
        r = stackdump_parser_new(on_stack, on_line_error, run, &p);
        while (r >= 0) {
                ssize_t n = input_read(in, buf, OFFLINE_CHUNK_SIZE);
                if (n < 0) {
                        fprintf(stderr, "slabwatchctl stacks: cannot read %s: %s\n", run->name,
                                input_strerror((int) n));
                        r = (int) n;
                        goto finish;
                }
                r = n > 0 ? stackdump_parser_feed(p, buf, (size_t) n) : stackdump_parser_finish(p);
                if (n == 0)
                        break;
        }
        if (r < 0)
                fprintf(stderr, "slabwatchctl stacks: %s: %s\n", run->name, strerror(-r));
finish:
        if (run->file_errors > OFFLINE_ERRORS_SHOWN)
                fprintf(stderr, "slabwatchctl stacks: %s: %" PRIu64 " more unreadable lines\n", run->name,
                        run->file_errors - OFFLINE_ERRORS_SHOWN);
        stackdump_parser_free(p);
        input_close(in);
        return r;
}

static const char *source_name(const struct stacks_args *a, unsigned source) {
        return source < a->n_files ? input_display_name(a->files[source]) : "?";
}

/* "0-3,5" from a sorted set. */
static void format_uset(const struct stackagg_uset *s, char *buf, size_t size) {
        size_t len = 0;
        buf[0] = '\0';
        for (size_t i = 0; i < s->n && len < size; i++) {
                size_t j = i;
                while (j + 1 < s->n && s->values[j + 1] == s->values[j] + 1)
                        j++;
                int n;
                if (j > i + 1)
                        n = snprintf(buf + len, size - len, "%s%" PRIu32 "-%" PRIu32, i ? "," : "", s->values[i],
                                     s->values[j]);
                else {
                        n = snprintf(buf + len, size - len, "%s%" PRIu32, i ? "," : "", s->values[i]);
                        j = i;
                }
                if (n < 0)
                        break;
                len += (size_t) n;
                i = j;
        }
        if (s->more && len < size)
                snprintf(buf + len, size - len, ",...");
}

static void print_uset(FILE *f, bool *first, const char *one, const char *many, const struct stackagg_uset *s) {
        char buf[256];
        if (s->n == 0)
                return;
        format_uset(s, buf, sizeof buf);
        fprintf(f, "%s%s %s", *first ? "" : "  ", s->n == 1 && !s->more ? one : many, buf);
        *first = false;
}

static void print_sset(FILE *f, bool *first, const char *one, const char *many, const struct stackagg_sset *s,
                       const char *empty_text) {
        if (s->n == 0)
                return;
        fprintf(f, "%s%s ", *first ? "" : "  ", s->n == 1 && !s->more ? one : many);
        for (size_t i = 0; i < s->n; i++)
                fprintf(f, "%s%s", i ? ", " : "", s->values[i][0] ? s->values[i] : empty_text);
        if (s->more)
                fputs(", ...", f);
        *first = false;
}

static void print_frame(FILE *f, const struct stackagg_frame *fr) {
        fputs(fr->function, f);
        if (fr->has_offset) {
                if (fr->size)
                        fprintf(f, "+0x%" PRIx64 "/0x%" PRIx64, fr->offset, fr->size);
                else
                        fprintf(f, "+0x%" PRIx64, fr->offset);
        }
        if (fr->module[0])
                fprintf(f, " [%s]", fr->module);
}

static unsigned digits(uint64_t v) {
        unsigned n = 1;
        while (v >= 10)
                v /= 10, n++;
        return n;
}

static void print_summary(FILE *f, const struct stacks_args *a, const struct stackagg_stats *st) {
        fprintf(f, "%" PRIu64 " stack%s, %" PRIu64 " distinct", st->stacks, st->stacks == 1 ? "" : "s",
                st->distinct);
        if (st->weight != st->stacks)
                fprintf(f, "; counts add up to %" PRIu64 " (alloc_traces entries count their objects)", st->weight);
        fputs(".\n", f);
        if (a->from)
                fprintf(f, "Re-rooted at %s: each stack from there to its outermost caller.\n", a->from);
        else if (!a->keep_noise)
                fputs("Noise frames trimmed at the inner end (--keep-noise keeps them).\n", f);
        if (st->unreliable_frames > 0 && !a->keep_unreliable)
                fprintf(f, "%" PRIu64 " unreliable \"?\" frame%s left out (--keep-unreliable keeps them).\n",
                        st->unreliable_frames, st->unreliable_frames == 1 ? "" : "s");
        if (st->no_from > 0)
                fprintf(f, "%" PRIu64 " stack%s without %s not counted.\n", st->no_from, st->no_from == 1 ? "" : "s",
                        a->from);
        if (st->empty > 0)
                fprintf(f, "%" PRIu64 " stack%s had only noise frames and are not counted.\n", st->empty,
                        st->empty == 1 ? "" : "s");
        if (st->truncated > 0)
                fprintf(f, "%" PRIu64 " stack%s cut at %d frames.\n", st->truncated, st->truncated == 1 ? "" : "s",
                        STACKDUMP_FRAMES_MAX);
        if (st->dropped > 0)
                fprintf(f, "WARNING: %" PRIu64 " stack%s (count %" PRIu64 ") not counted: the limit on distinct "
                        "stacks or their memory was reached.\n", st->dropped, st->dropped == 1 ? "" : "s",
                        st->dropped_weight);
}

static void print_ranked(FILE *f, const struct stacks_args *a, const struct stackagg_stats *st,
                         const struct stackagg_entry *const *v, size_t n) {
        uint64_t total = 0;
        for (size_t i = 0; i < n; i++)
                total += v[i]->count;
        size_t shown = a->limit && a->limit < n ? a->limit : n;
        unsigned wr = digits(shown), wc = n ? digits(v[0]->count) : 1;

        print_summary(f, a, st);
        for (size_t i = 0; i < shown; i++) {
                const struct stackagg_entry *e = v[i];
                fprintf(f, "\n#%-*zu  count %*" PRIu64 "  %5.1f%%  first at %s:%" PRIu64 "\n", (int) wr, i + 1,
                        (int) wc, e->count, total ? 100.0 * (double) e->count / (double) total : 0.0,
                        source_name(a, e->first_source), e->first_line);
                bool first = true;
                fputs("    ", f);
                print_uset(f, &first, "cpu", "cpus", &e->cpus);
                print_uset(f, &first, "pid", "pids", &e->pids);
                print_sset(f, &first, "comm", "comms", &e->comms, "");
                if (e->taints.n == 1 && !e->taints.more && !e->taints.values[0][0]) {
                        fprintf(f, "%snot tainted", first ? "" : "  ");
                        first = false;
                } else
                        print_sset(f, &first, "taint", "taints", &e->taints, "none");
                print_sset(f, &first, "kernel", "kernels", &e->releases, "");
                print_sset(f, &first, "event", "events", &e->events, "");
                print_sset(f, &first, "cache", "caches", &e->caches, "");
                if (first)
                        fputs("(no context)", f);
                fputc('\n', f);
                for (size_t k = 0; k < e->n_frames; k++) {
                        fputs("      ", f);
                        print_frame(f, &e->frames[k]);
                        fputc('\n', f);
                }
        }
        if (shown < n) {
                uint64_t rest = 0;
                for (size_t i = shown; i < n; i++)
                        rest += v[i]->count;
                fprintf(f, "\n... %zu more distinct stack%s (count %" PRIu64 ") not listed; -n 0 lists all.\n",
                        n - shown, n - shown == 1 ? "" : "s", rest);
        }
}

static void print_tree_children(FILE *f, const struct stackagg_node *node, char *prefix, size_t plen, int width) {
        bool chain = node->n_children == 1 && node->self == 0;
        for (size_t i = 0; i < node->n_children; i++) {
                const struct stackagg_node *c = &node->children[i];
                bool last = i + 1 == node->n_children;
                size_t clen = plen;
                fprintf(f, "%*" PRIu64 "  %.*s", width, c->count, (int) plen, prefix);
                if (!chain) {
                        fputs(last ? "`- " : "|- ", f);
                        if (plen + 3 < OFFLINE_TREE_PREFIX_MAX) {
                                memcpy(prefix + plen, last ? "   " : "|  ", 3);
                                clen = plen + 3;
                        }
                }
                fputs(c->frame->function, f);
                if (c->self > 0 && c->n_children > 0)
                        fprintf(f, "  (%" PRIu64 " end here)", c->self);
                fputc('\n', f);
                print_tree_children(f, c, prefix, clen, width);
        }
}

static int print_tree(FILE *f, const struct stacks_args *a, struct stackagg *agg, const struct stackagg_stats *st) {
        struct stackagg_node *root;
        int r = stackagg_tree(agg, a->from ? STACKAGG_TREE_INNERMOST_FIRST : STACKAGG_TREE_CALLERS_FIRST, &root);
        if (r < 0)
                return r;
        print_summary(f, a, st);
        if (a->from)
                fprintf(f, "\nCall tree from %s, callers below:\n\n", a->from);
        else
                fputs("\nCall tree, outermost caller first:\n\n", f);
        char prefix[OFFLINE_TREE_PREFIX_MAX];
        print_tree_children(f, root, prefix, 0, (int) digits(root->count));
        stackagg_tree_free(root);
        return 0;
}

static void print_folded(FILE *f, const struct stackagg_entry *const *v, size_t n, size_t limit) {
        size_t shown = limit && limit < n ? limit : n;
        for (size_t i = 0; i < shown; i++) {
                const struct stackagg_entry *e = v[i];
                for (size_t k = e->n_frames; k-- > 0;)
                        fprintf(f, "%s%s", e->frames[k].function, k ? ";" : "");
                fprintf(f, " %" PRIu64 "\n", e->count);
        }
}

static json_object *json_u64(uint64_t v) {
        return json_object_new_uint64(v);
}

static json_object *json_uset(const struct stackagg_uset *s) {
        json_object *arr = json_object_new_array();
        for (size_t i = 0; arr && i < s->n; i++)
                json_object_array_add(arr, json_u64(s->values[i]));
        return arr;
}

static json_object *json_sset(const struct stackagg_sset *s) {
        json_object *arr = json_object_new_array();
        for (size_t i = 0; arr && i < s->n; i++)
                json_object_array_add(arr, json_object_new_string(s->values[i]));
        return arr;
}

static json_object *json_frame(const struct stackagg_frame *fr) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "function", json_object_new_string(fr->function));
        if (fr->has_offset) {
                json_object_object_add(o, "offset", json_u64(fr->offset));
                json_object_object_add(o, "size", json_u64(fr->size));
        }
        if (fr->module[0])
                json_object_object_add(o, "module", json_object_new_string(fr->module));
        return o;
}

static json_object *json_tree(const struct stackagg_node *node) {
        json_object *o = json_object_new_object();
        if (node->frame)
                json_object_object_add(o, "function", json_object_new_string(node->frame->function));
        json_object_object_add(o, "count", json_u64(node->count));
        json_object_object_add(o, "self", json_u64(node->self));
        json_object *children = json_object_new_array();
        for (size_t i = 0; i < node->n_children; i++)
                json_object_array_add(children, json_tree(&node->children[i]));
        json_object_object_add(o, "children", children);
        return o;
}

static int print_json(FILE *f, const struct stacks_args *a, struct stackagg *agg, const struct stackagg_stats *st,
                      const struct stackagg_entry *const *v, size_t n, uint64_t line_errors) {
        json_object *o = json_object_new_object();
        json_object *files = json_object_new_array();
        for (size_t i = 0; i < a->n_files; i++)
                json_object_array_add(files, json_object_new_string(input_display_name(a->files[i])));
        json_object_object_add(o, "files", files);
        json_object_object_add(o, "from", a->from ? json_object_new_string(a->from) : NULL);
        json_object_object_add(o, "noise_trimmed", json_object_new_boolean(!a->keep_noise && !a->from));
        json_object_object_add(o, "stacks", json_u64(st->stacks));
        json_object_object_add(o, "count", json_u64(st->weight));
        json_object_object_add(o, "distinct", json_u64(st->distinct));
        json_object_object_add(o, "without_from", json_u64(st->no_from));
        json_object_object_add(o, "only_noise", json_u64(st->empty));
        json_object_object_add(o, "dropped", json_u64(st->dropped));
        json_object_object_add(o, "dropped_count", json_u64(st->dropped_weight));
        json_object_object_add(o, "truncated", json_u64(st->truncated));
        json_object_object_add(o, "unreliable_frames_left_out", json_u64(a->keep_unreliable ? 0 : st->unreliable_frames));
        json_object_object_add(o, "unreadable_lines", json_u64(line_errors));

        size_t shown = a->limit && a->limit < n ? a->limit : n;
        json_object *ranked = json_object_new_array();
        for (size_t i = 0; i < shown; i++) {
                const struct stackagg_entry *e = v[i];
                json_object *s = json_object_new_object();
                json_object_object_add(s, "rank", json_u64(i + 1));
                json_object_object_add(s, "count", json_u64(e->count));
                json_object_object_add(s, "stacks", json_u64(e->records));
                json_object *first = json_object_new_object();
                json_object_object_add(first, "file", json_object_new_string(source_name(a, e->first_source)));
                json_object_object_add(first, "line", json_u64(e->first_line));
                json_object_object_add(s, "first", first);
                json_object *formats = json_object_new_array();
                for (int k = 0; k < _STACKDUMP_FORMAT_MAX; k++)
                        if (e->formats & (1u << k))
                                json_object_array_add(formats, json_object_new_string(stackdump_format_name(k)));
                json_object_object_add(s, "formats", formats);
                json_object_object_add(s, "cpus", json_uset(&e->cpus));
                json_object_object_add(s, "pids", json_uset(&e->pids));
                json_object_object_add(s, "comms", json_sset(&e->comms));
                json_object_object_add(s, "taints", json_sset(&e->taints));
                json_object_object_add(s, "kernels", json_sset(&e->releases));
                json_object_object_add(s, "events", json_sset(&e->events));
                json_object_object_add(s, "caches", json_sset(&e->caches));
                json_object *more = json_object_new_array();
                if (e->cpus.more)
                        json_object_array_add(more, json_object_new_string("cpus"));
                if (e->pids.more)
                        json_object_array_add(more, json_object_new_string("pids"));
                if (e->comms.more)
                        json_object_array_add(more, json_object_new_string("comms"));
                if (e->taints.more)
                        json_object_array_add(more, json_object_new_string("taints"));
                if (e->releases.more)
                        json_object_array_add(more, json_object_new_string("kernels"));
                if (e->events.more)
                        json_object_array_add(more, json_object_new_string("events"));
                if (e->caches.more)
                        json_object_array_add(more, json_object_new_string("caches"));
                json_object_object_add(s, "incomplete_sets", more);
                json_object *frames = json_object_new_array();
                for (size_t k = 0; k < e->n_frames; k++)
                        json_object_array_add(frames, json_frame(&e->frames[k]));
                json_object_object_add(s, "frames", frames);
                json_object_array_add(ranked, s);
        }
        json_object_object_add(o, "ranked", ranked);
        if (a->tree) {
                struct stackagg_node *root;
                int r = stackagg_tree(agg, a->from ? STACKAGG_TREE_INNERMOST_FIRST : STACKAGG_TREE_CALLERS_FIRST,
                                      &root);
                if (r < 0) {
                        json_object_put(o);
                        return r;
                }
                json_object_object_add(o, "tree_order",
                                       json_object_new_string(a->from ? "innermost_first" : "callers_first"));
                json_object_object_add(o, "tree", json_tree(root));
                stackagg_tree_free(root);
        }
        if (a->folded) {
                json_object *folded = json_object_new_array();
                for (size_t i = 0; i < shown; i++) {
                        const struct stackagg_entry *e = v[i];
                        char *line = NULL;
                        size_t len = 0;
                        FILE *m = open_memstream(&line, &len);
                        if (!m)
                                break;
                        for (size_t k = e->n_frames; k-- > 0;)
                                fprintf(m, "%s%s", e->frames[k].function, k ? ";" : "");
                        fprintf(m, " %" PRIu64, e->count);
                        fclose(m);
                        json_object_array_add(folded, json_object_new_string(line));
                        free(line);
                }
                json_object_object_add(o, "folded", folded);
        }
        fputs(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE), f);
        fputc('\n', f);
        json_object_put(o);
        return 0;
}

int offline_stacks_main(int argc, char **argv) {
        struct stacks_args a = {};
        struct stacks_run run = {};
        struct stackagg_stats st;
        char *buf = NULL;
        int r = stacks_parse_args(argc, argv, &a);
        if (r < 0)
                return EXIT_OK;
        if (r > 0)
                return r;

        struct stackagg_options o = {
                .from = a.from,
                .keep_noise = a.keep_noise,
                .keep_unreliable = a.keep_unreliable,
                .noise = a.noise,
                .n_noise = a.n_noise,
        };
        r = stackagg_new(&o, &run.agg);
        buf = malloc(OFFLINE_CHUNK_SIZE);
        if (r < 0 || !buf) {
                fputs("slabwatchctl stacks: out of memory\n", stderr);
                free(buf);
                stackagg_free(run.agg);
                return EXIT_ERROR;
        }
        int exit_code = EXIT_OK;
        for (size_t i = 0; i < a.n_files; i++) {
                run.source = (unsigned) i;
                r = stacks_feed_file(&run, a.files[i], buf);
                if (r == -ENOMEM)
                        break;
                if (r < 0)
                        exit_code = EXIT_ERROR;
        }
        free(buf);
        if (r == -ENOMEM) {
                stackagg_free(run.agg);
                fputs("slabwatchctl stacks: out of memory\n", stderr);
                return EXIT_ERROR;
        }

        stackagg_get_stats(run.agg, &st);
        const struct stackagg_entry *const *v;
        int n = stackagg_ranked(run.agg, &v);
        if (n < 0) {
                stackagg_free(run.agg);
                fputs("slabwatchctl stacks: out of memory\n", stderr);
                return EXIT_ERROR;
        }
        if (a.json)
                r = print_json(stdout, &a, run.agg, &st, v, (size_t) n, run.errors);
        else if (a.tree)
                r = print_tree(stdout, &a, run.agg, &st);
        else if (a.folded) {
                print_folded(stdout, v, (size_t) n, a.limit);
                r = 0;
        } else {
                print_ranked(stdout, &a, &st, v, (size_t) n);
                r = 0;
        }
        if (a.folded && !a.json && st.dropped > 0)
                fprintf(stderr, "slabwatchctl stacks: WARNING: %" PRIu64 " stacks (count %" PRIu64 ") not counted: "
                        "the limit on distinct stacks or their memory was reached\n", st.dropped, st.dropped_weight);
        stackagg_free(run.agg);
        if (r < 0) {
                fputs("slabwatchctl stacks: out of memory\n", stderr);
                return EXIT_ERROR;
        }
        if (fflush(stdout) != 0 || ferror(stdout)) {
                fprintf(stderr, "slabwatchctl stacks: cannot write output: %s\n", strerror(errno));
                return EXIT_ERROR;
        }
        return exit_code;
}

/* ---- diff ---------------------------------------------------------------- */

struct diff_args {
        const char *old_path;
        const char *new_path;
        const char *old_meminfo;
        const char *new_meminfo;
        uint32_t page_size;     /* 0 = guess */
        bool all;
        bool json;
        size_t limit;
};

static void diff_usage(FILE *f) {
        fputs("Usage: slabwatchctl diff [OPTIONS] OLD NEW\n"
              "\n"
              "Compare two snapshots of /proc/slabinfo (caches ranked by growth) or of\n"
              "/proc/meminfo, or files holding both (cat /proc/meminfo /proc/slabinfo).\n"
              "gzip and xz are read directly; - reads stdin.\n"
              "\n"
              "  --meminfo OLD_MI NEW_MI  meminfo snapshots to check the caches against Slab\n"
              "  --page-size BYTES        page size of the device (default: from the slab\n"
              "                           geometry, else 4096)\n"
              "  -a, --all                also list caches and keys that did not change\n"
              "  -n N                     list only the N caches that grew most\n"
              "  --json                   print JSON\n"
              "  -h, --help               show this help\n", f);
}

static int diff_parse_args(int argc, char **argv, struct diff_args *a) {
        enum {
                ARG_MEMINFO = 0x100,
                ARG_PAGE_SIZE,
                ARG_JSON,
        };
        static const struct option options[] = {
                { "meminfo", required_argument, NULL, ARG_MEMINFO },
                { "page-size", required_argument, NULL, ARG_PAGE_SIZE },
                { "all", no_argument, NULL, 'a' },
                { "json", no_argument, NULL, ARG_JSON },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        size_t v;
        int c;

        optind = 0;
        opterr = 0;
        while ((c = getopt_long(argc, argv, "an:h", options, NULL)) >= 0)
                switch (c) {
                case ARG_MEMINFO:
                        /* Two arguments: the one getopt gave and the next. */
                        if (optind >= argc || argv[optind][0] == '\0' ||
                            (argv[optind][0] == '-' && argv[optind][1] != '\0')) {
                                fputs("slabwatchctl diff: --meminfo wants two files, OLD_MI NEW_MI\n", stderr);
                                return EXIT_USAGE;
                        }
                        a->old_meminfo = optarg;
                        a->new_meminfo = argv[optind++];
                        break;
                case ARG_PAGE_SIZE:
                        if (!parse_count(optarg, &v) || v < 512 || v > SLABDIFF_PAGE_SIZE_MAX || (v & (v - 1))) {
                                fprintf(stderr, "slabwatchctl diff: --page-size wants a power of two "
                                        "from 512 to %u, not '%s'\n", SLABDIFF_PAGE_SIZE_MAX, optarg);
                                return EXIT_USAGE;
                        }
                        a->page_size = (uint32_t) v;
                        break;
                case 'a':
                        a->all = true;
                        break;
                case 'n':
                        if (!parse_count(optarg, &a->limit)) {
                                fprintf(stderr, "slabwatchctl diff: -n wants a number, not '%s'\n", optarg);
                                return EXIT_USAGE;
                        }
                        break;
                case ARG_JSON:
                        a->json = true;
                        break;
                case 'h':
                        diff_usage(stdout);
                        return -1;
                default:
                        print_bad_option("diff", argv);
                        diff_usage(stderr);
                        return EXIT_USAGE;
                }
        if (argc - optind != 2) {
                fputs("slabwatchctl diff: want two files, OLD and NEW\n", stderr);
                diff_usage(stderr);
                return EXIT_USAGE;
        }
        a->old_path = argv[optind];
        a->new_path = argv[optind + 1];
        return 0;
}

static int load_snapshot(const char *path, struct slabdiff_snapshot *ret) {
        char *buf;
        size_t len;
        int r = input_read_all(path, OFFLINE_SNAPSHOT_MAX, &buf, &len);
        if (r < 0) {
                fprintf(stderr, "slabwatchctl diff: cannot read %s: %s\n", input_display_name(path),
                        r == -EFBIG ? "file too large for a snapshot" : input_strerror(r));
                return r;
        }
        r = slabdiff_snapshot_parse(buf, len, ret);
        free(buf);
        if (r == -EINVAL) {
                fprintf(stderr, "slabwatchctl diff: %s: neither /proc/slabinfo nor /proc/meminfo text\n",
                        input_display_name(path));
                return r;
        }
        if (r < 0) {
                fprintf(stderr, "slabwatchctl diff: %s: %s\n", input_display_name(path), strerror(-r));
                return r;
        }
        if (ret->has_slabinfo && ret->slabinfo.n_bad_lines > 0) {
                size_t shown = ret->slabinfo.n_bad_lines < SLABINFO_BAD_LINES_MAX ? ret->slabinfo.n_bad_lines :
                        SLABINFO_BAD_LINES_MAX;
                for (size_t i = 0; i < shown; i++)
                        fprintf(stderr, "slabwatchctl diff: %s:%lu: malformed slabinfo line skipped (%s)\n",
                                input_display_name(path),
                                ret->slabinfo_line - 1 + ret->slabinfo.bad_lines[i].line,
                                strerror(-ret->slabinfo.bad_lines[i].error));
                if (ret->slabinfo.n_bad_lines > shown)
                        fprintf(stderr, "slabwatchctl diff: %s: %zu more malformed slabinfo lines\n",
                                input_display_name(path), ret->slabinfo.n_bad_lines - shown);
        }
        if (ret->has_meminfo && ret->meminfo.n_bad_lines > 0)
                fprintf(stderr, "slabwatchctl diff: %s:%lu: %zu malformed meminfo line%s skipped\n",
                        input_display_name(path), ret->meminfo_line - 1 + ret->meminfo.first_bad_line,
                        ret->meminfo.n_bad_lines, ret->meminfo.n_bad_lines == 1 ? "" : "s");
        return 0;
}

static bool cache_changed(const struct slabdiff_cache *c) {
        return !c->old || !c->new || c->delta_bytes || c->delta_active_objs || c->delta_active_bytes;
}

static void print_cache_table(FILE *f, const struct diff_args *a, const struct slabdiff *d) {
        /* Columns sized to their widest cell. */
        enum { C_NAME, C_OBJSIZE, C_OLD, C_NEW, C_DOBJ, C_OLDB, C_NEWB, C_DB, C_NOTE, _C_MAX };
        static const char *const head[_C_MAX] = {
                "cache", "objsize", "old", "new", "change", "old", "new", "change", "",
        };
        size_t w[_C_MAX];
        char cell[_C_MAX][64];
        size_t rows = 0;

        for (int k = 0; k < _C_MAX; k++)
                w[k] = strlen(head[k]);
        for (int pass = 0; pass < 2; pass++) {
                rows = 0;
                if (pass == 1) {
                        size_t objs = w[C_OLD] + 2 + w[C_NEW] + 2 + w[C_DOBJ];
                        fprintf(f, "%-*s  %*s  %-*s  %s\n", (int) w[C_NAME], "", (int) w[C_OBJSIZE], "",
                                (int) objs, "active objects", "slab memory");
                        fprintf(f, "%-*s  %*s  %*s  %*s  %*s  %*s  %*s  %*s%s%s\n", (int) w[C_NAME], head[C_NAME],
                                (int) w[C_OBJSIZE], head[C_OBJSIZE], (int) w[C_OLD], head[C_OLD], (int) w[C_NEW],
                                head[C_NEW], (int) w[C_DOBJ], head[C_DOBJ], (int) w[C_OLDB], head[C_OLDB],
                                (int) w[C_NEWB], head[C_NEWB], (int) w[C_DB], head[C_DB], "", "");
                }
                for (size_t i = 0; i < d->n_caches; i++) {
                        const struct slabdiff_cache *c = &d->caches[i];
                        if (!a->all && !cache_changed(c))
                                continue;
                        if (a->limit && rows >= a->limit)
                                break;
                        rows++;
                        const struct slabinfo_cache *any = c->new ? c->new : c->old;
                        snprintf(cell[C_NAME], sizeof cell[0], "%s", c->name);
                        snprintf(cell[C_OBJSIZE], sizeof cell[0], "%" PRIu32, any->objsize);
                        if (c->old)
                                snprintf(cell[C_OLD], sizeof cell[0], "%" PRIu64, c->old->active_objs);
                        else
                                snprintf(cell[C_OLD], sizeof cell[0], "-");
                        if (c->new)
                                snprintf(cell[C_NEW], sizeof cell[0], "%" PRIu64, c->new->active_objs);
                        else
                                snprintf(cell[C_NEW], sizeof cell[0], "-");
                        format_signed(c->delta_active_objs, cell[C_DOBJ], sizeof cell[0]);
                        if (c->old)
                                units_format_bytes((double) c->old_bytes, false, cell[C_OLDB], sizeof cell[0]);
                        else
                                snprintf(cell[C_OLDB], sizeof cell[0], "-");
                        if (c->new)
                                units_format_bytes((double) c->new_bytes, false, cell[C_NEWB], sizeof cell[0]);
                        else
                                snprintf(cell[C_NEWB], sizeof cell[0], "-");
                        units_format_bytes((double) c->delta_bytes, true, cell[C_DB], sizeof cell[0]);
                        snprintf(cell[C_NOTE], sizeof cell[0], "%s", !c->old ? "appeared" : !c->new ? "vanished" : "");
                        if (pass == 0) {
                                for (int k = 0; k < _C_MAX; k++)
                                        if (strlen(cell[k]) > w[k])
                                                w[k] = strlen(cell[k]);
                                continue;
                        }
                        fprintf(f, "%-*s  %*s  %*s  %*s  %*s  %*s  %*s  %*s%s%s\n", (int) w[C_NAME], cell[C_NAME],
                                (int) w[C_OBJSIZE], cell[C_OBJSIZE], (int) w[C_OLD], cell[C_OLD], (int) w[C_NEW],
                                cell[C_NEW], (int) w[C_DOBJ], cell[C_DOBJ], (int) w[C_OLDB], cell[C_OLDB],
                                (int) w[C_NEWB], cell[C_NEWB], (int) w[C_DB], cell[C_DB],
                                cell[C_NOTE][0] ? "  " : "", cell[C_NOTE]);
                }
                if (rows == 0)
                        break;
        }
        if (rows == 0)
                fputs("No cache changed.\n", f);
}

static void print_slab_diff(FILE *f, const struct diff_args *a, const struct slabdiff *d, bool page_guessed) {
        char b1[32], b2[32], b3[32];
        fprintf(f, "slabinfo: %s -> %s, page size %" PRIu32 "%s\n\n", input_display_name(a->old_path),
                input_display_name(a->new_path), d->page_size,
                a->page_size ? "" : page_guessed ? " (from the slab geometry)" : " (assumed; --page-size to set)");
        print_cache_table(f, a, d);
        size_t changed = d->n_caches - d->n_unchanged;
        if (a->limit && changed > a->limit && !a->all)
                fprintf(f, "... %zu more changed caches not listed; -n 0 lists all.\n", changed - a->limit);
        fprintf(f, "\ncaches: %zu grew, %zu shrank, %zu appeared, %zu vanished, %zu unchanged%s\n", d->n_grown,
                d->n_shrunk, d->n_appeared, d->n_vanished, d->n_unchanged,
                a->all || d->n_unchanged == 0 ? "" : " (-a lists them)");
        fprintf(f, "total slab memory: %s -> %s (%s)\n", units_format_bytes((double) d->old_bytes, false, b1, sizeof b1),
                units_format_bytes((double) d->new_bytes, false, b2, sizeof b2),
                units_format_bytes((double) d->new_bytes - (double) d->old_bytes, true, b3, sizeof b3));
        fprintf(f, "active objects: %" PRIu64 " -> %" PRIu64 " (%+" PRId64 "), %s -> %s\n", d->old_active_objs,
                d->new_active_objs, (int64_t) (d->new_active_objs - d->old_active_objs),
                units_format_bytes((double) d->old_active_bytes, false, b1, sizeof b1),
                units_format_bytes((double) d->new_active_bytes, false, b2, sizeof b2));
}

static void print_meminfo_diff(FILE *f, const struct diff_args *a, const char *old_name, const char *new_name,
                               const struct meminfo *o, const struct meminfo *n) {
        size_t wk = 3, wo = 3, wn = 3, wd = 6, rows = 0;
        char vo[32], vn[32], vd[32];
        fprintf(f, "meminfo: %s -> %s\n\n", old_name, new_name);
        for (int pass = 0; pass < 2; pass++) {
                if (pass == 1 && rows > 0)
                        fprintf(f, "%-*s  %*s  %*s  %*s\n", (int) wk, "key", (int) wo, "old", (int) wn, "new", (int) wd,
                                "change");
                rows = 0;
                for (size_t i = 0; i < n->n_entries; i++) {
                        const struct meminfo_entry *e = &n->entries[i];
                        const struct meminfo_entry *old = NULL;
                        for (size_t j = 0; j < o->n_entries && !old; j++)
                                if (strcmp(o->entries[j].key, e->key) == 0)
                                        old = &o->entries[j];
                        if (!a->all && old && old->value == e->value)
                                continue;
                        rows++;
                        const char *unit = e->kib ? " kB" : "";
                        if (old)
                                snprintf(vo, sizeof vo, "%" PRIu64 "%s", old->value, unit);
                        else
                                snprintf(vo, sizeof vo, "-");
                        snprintf(vn, sizeof vn, "%" PRIu64 "%s", e->value, unit);
                        if (old)
                                snprintf(vd, sizeof vd, "%+" PRId64 "%s", (int64_t) (e->value - old->value), unit);
                        else
                                snprintf(vd, sizeof vd, "new");
                        if (pass == 0) {
                                wk = strlen(e->key) > wk ? strlen(e->key) : wk;
                                wo = strlen(vo) > wo ? strlen(vo) : wo;
                                wn = strlen(vn) > wn ? strlen(vn) : wn;
                                wd = strlen(vd) > wd ? strlen(vd) : wd;
                                continue;
                        }
                        fprintf(f, "%-*s  %*s  %*s  %*s\n", (int) wk, e->key, (int) wo, vo, (int) wn, vn, (int) wd, vd);
                }
        }
        for (size_t j = 0; j < o->n_entries; j++) {
                bool found = false;
                for (size_t i = 0; i < n->n_entries && !found; i++)
                        found = strcmp(o->entries[j].key, n->entries[i].key) == 0;
                if (!found) {
                        fprintf(f, "%-*s  (only in the old snapshot)\n", (int) wk, o->entries[j].key);
                        rows++;
                }
        }
        if (rows == 0)
                fputs("No meminfo value changed.\n", f);
}

static void print_accounting_row(FILE *f, const char *label, int64_t old, int64_t new) {
        char change[32];
        fprintf(f, "  %-18s %9" PRId64 " %9" PRId64 " %9s\n", label, old, new,
                format_signed(new - old, change, sizeof change));
}

static void print_accounting(FILE *f, const struct slabdiff_accounting *acc) {
        fprintf(f, "\nslab accounting (kB):      old       new    change\n");
        print_accounting_row(f, "meminfo Slab", (int64_t) acc->old_slab_kib, (int64_t) acc->new_slab_kib);
        if (acc->have_sunreclaim)
                print_accounting_row(f, "meminfo SUnreclaim", (int64_t) acc->old_sunreclaim_kib,
                                     (int64_t) acc->new_sunreclaim_kib);
        print_accounting_row(f, "slabinfo caches", (int64_t) acc->old_caches_kib, (int64_t) acc->new_caches_kib);
        print_accounting_row(f, "not in any cache", acc->old_unaccounted_kib, acc->new_unaccounted_kib);
        if (acc->large_kmalloc_hint)
                fputs("SUnreclaim grew beyond what the slab caches show: the growth is likely in large\n"
                      "kmalloc() allocations, which bypass the caches (kernel 5.4+ counts them in SUnreclaim).\n", f);
}

static json_object *json_cache(const struct slabinfo_cache *c, uint64_t bytes) {
        if (!c)
                return NULL;
        json_object *o = json_object_new_object();
        json_object_object_add(o, "active_objs", json_u64(c->active_objs));
        json_object_object_add(o, "num_objs", json_u64(c->num_objs));
        json_object_object_add(o, "objsize", json_u64(c->objsize));
        json_object_object_add(o, "num_slabs", json_u64(c->num_slabs));
        json_object_object_add(o, "bytes", json_u64(bytes));
        return o;
}

static json_object *json_meminfo(const struct meminfo *o, const struct meminfo *n) {
        json_object *arr = json_object_new_array();
        for (size_t i = 0; i < n->n_entries; i++) {
                const struct meminfo_entry *e = &n->entries[i];
                json_object *row = json_object_new_object();
                json_object_object_add(row, "key", json_object_new_string(e->key));
                json_object_object_add(row, "unit", json_object_new_string(e->kib ? "kB" : ""));
                json_object *old = NULL;
                for (size_t j = 0; j < o->n_entries && !old; j++)
                        if (strcmp(o->entries[j].key, e->key) == 0) {
                                old = json_u64(o->entries[j].value);
                                json_object_object_add(row, "change",
                                                       json_object_new_int64((int64_t) (e->value - o->entries[j].value)));
                        }
                json_object_object_add(row, "old", old);
                json_object_object_add(row, "new", json_u64(e->value));
                json_object_array_add(arr, row);
        }
        return arr;
}

static void print_diff_json(FILE *f, const struct diff_args *a, const struct slabdiff *d, bool page_guessed,
                            const struct meminfo *mo, const struct meminfo *mn, const struct slabdiff_accounting *acc) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "old", json_object_new_string(input_display_name(a->old_path)));
        json_object_object_add(o, "new", json_object_new_string(input_display_name(a->new_path)));
        if (d) {
                json_object_object_add(o, "page_size", json_u64(d->page_size));
                json_object_object_add(o, "page_size_source", json_object_new_string(
                        a->page_size ? "option" : page_guessed ? "slab geometry" : "assumed"));
                json_object *caches = json_object_new_array();
                size_t rows = 0;
                for (size_t i = 0; i < d->n_caches; i++) {
                        const struct slabdiff_cache *c = &d->caches[i];
                        if (!a->all && !cache_changed(c))
                                continue;
                        if (a->limit && rows >= a->limit)
                                break;
                        rows++;
                        json_object *row = json_object_new_object();
                        json_object_object_add(row, "name", json_object_new_string(c->name));
                        json_object_object_add(row, "state", json_object_new_string(
                                !c->old ? "appeared" : !c->new ? "vanished" : cache_changed(c) ?
                                (c->delta_bytes > 0 || c->delta_active_objs > 0 || c->delta_active_bytes > 0 ?
                                 "grew" : "shrank") : "unchanged"));
                        json_object_object_add(row, "old", json_cache(c->old, c->old_bytes));
                        json_object_object_add(row, "new", json_cache(c->new, c->new_bytes));
                        json_object_object_add(row, "change_bytes", json_object_new_int64(c->delta_bytes));
                        json_object_object_add(row, "change_active_objs", json_object_new_int64(c->delta_active_objs));
                        json_object_object_add(row, "change_active_bytes", json_object_new_int64(c->delta_active_bytes));
                        json_object_array_add(caches, row);
                }
                json_object_object_add(o, "caches", caches);
                json_object *t = json_object_new_object();
                json_object_object_add(t, "grew", json_u64(d->n_grown));
                json_object_object_add(t, "shrank", json_u64(d->n_shrunk));
                json_object_object_add(t, "appeared", json_u64(d->n_appeared));
                json_object_object_add(t, "vanished", json_u64(d->n_vanished));
                json_object_object_add(t, "unchanged", json_u64(d->n_unchanged));
                json_object_object_add(t, "old_bytes", json_u64(d->old_bytes));
                json_object_object_add(t, "new_bytes", json_u64(d->new_bytes));
                json_object_object_add(t, "old_active_objs", json_u64(d->old_active_objs));
                json_object_object_add(t, "new_active_objs", json_u64(d->new_active_objs));
                json_object_object_add(t, "old_active_bytes", json_u64(d->old_active_bytes));
                json_object_object_add(t, "new_active_bytes", json_u64(d->new_active_bytes));
                json_object_object_add(o, "totals", t);
        }
        if (mo && mn)
                json_object_object_add(o, "meminfo", json_meminfo(mo, mn));
        if (acc) {
                json_object *j = json_object_new_object();
                json_object_object_add(j, "old_slab_kib", json_u64(acc->old_slab_kib));
                json_object_object_add(j, "new_slab_kib", json_u64(acc->new_slab_kib));
                if (acc->have_sunreclaim) {
                        json_object_object_add(j, "old_sunreclaim_kib", json_u64(acc->old_sunreclaim_kib));
                        json_object_object_add(j, "new_sunreclaim_kib", json_u64(acc->new_sunreclaim_kib));
                }
                json_object_object_add(j, "old_caches_kib", json_u64(acc->old_caches_kib));
                json_object_object_add(j, "new_caches_kib", json_u64(acc->new_caches_kib));
                json_object_object_add(j, "old_unaccounted_kib", json_object_new_int64(acc->old_unaccounted_kib));
                json_object_object_add(j, "new_unaccounted_kib", json_object_new_int64(acc->new_unaccounted_kib));
                json_object_object_add(j, "large_kmalloc_hint", json_object_new_boolean(acc->large_kmalloc_hint));
                json_object_object_add(o, "accounting", j);
        }
        fputs(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE), f);
        fputc('\n', f);
        json_object_put(o);
}

int offline_diff_main(int argc, char **argv) {
        struct diff_args a = {};
        struct slabdiff_snapshot *old = NULL, *new = NULL, *old_mi = NULL, *new_mi = NULL;
        struct slabdiff d = {};
        struct slabdiff_accounting acc;
        bool have_acc = false, page_guessed = false;
        int exit_code = EXIT_ERROR;

        int r = diff_parse_args(argc, argv, &a);
        if (r < 0)
                return EXIT_OK;
        if (r > 0)
                return r;

        old = calloc(1, sizeof *old);
        new = calloc(1, sizeof *new);
        if (!old || !new) {
                fputs("slabwatchctl diff: out of memory\n", stderr);
                goto finish;
        }
        if (load_snapshot(a.old_path, old) < 0 || load_snapshot(a.new_path, new) < 0)
                goto finish;
        if (old->has_slabinfo != new->has_slabinfo) {
                fprintf(stderr, "slabwatchctl diff: %s has /proc/slabinfo text but %s has none\n",
                        input_display_name(old->has_slabinfo ? a.old_path : a.new_path),
                        input_display_name(old->has_slabinfo ? a.new_path : a.old_path));
                goto finish;
        }
        if (!old->has_slabinfo && (!old->has_meminfo || !new->has_meminfo)) {
                fprintf(stderr, "slabwatchctl diff: %s has /proc/meminfo text but %s has none\n",
                        input_display_name(old->has_meminfo ? a.old_path : a.new_path),
                        input_display_name(old->has_meminfo ? a.new_path : a.old_path));
                goto finish;
        }

        /* Meminfo to check against: --meminfo files, else what the snapshots hold. */
        const struct meminfo *mo = NULL, *mn = NULL;
        const char *mo_name = input_display_name(a.old_path), *mn_name = input_display_name(a.new_path);
        if (a.old_meminfo) {
                old_mi = calloc(1, sizeof *old_mi);
                new_mi = calloc(1, sizeof *new_mi);
                if (!old_mi || !new_mi) {
                        fputs("slabwatchctl diff: out of memory\n", stderr);
                        goto finish;
                }
                if (load_snapshot(a.old_meminfo, old_mi) < 0 || load_snapshot(a.new_meminfo, new_mi) < 0)
                        goto finish;
                if (!old_mi->has_meminfo || !new_mi->has_meminfo) {
                        fprintf(stderr, "slabwatchctl diff: %s has no /proc/meminfo text\n",
                                input_display_name(!old_mi->has_meminfo ? a.old_meminfo : a.new_meminfo));
                        goto finish;
                }
                mo = &old_mi->meminfo;
                mn = &new_mi->meminfo;
                mo_name = input_display_name(a.old_meminfo);
                mn_name = input_display_name(a.new_meminfo);
        } else if (old->has_meminfo && new->has_meminfo) {
                mo = &old->meminfo;
                mn = &new->meminfo;
        }

        if (old->has_slabinfo) {
                uint32_t page = a.page_size;
                if (!page) {
                        uint32_t go = slabdiff_guess_page_size(&old->slabinfo);
                        uint32_t gn = slabdiff_guess_page_size(&new->slabinfo);
                        page = go > gn ? go : gn;
                        page_guessed = page != 0;
                        if (!page)
                                page = 4096;
                }
                r = slabdiff_compute(&old->slabinfo, &new->slabinfo, page, &d);
                if (r < 0) {
                        fprintf(stderr, "slabwatchctl diff: %s\n", strerror(-r));
                        goto finish;
                }
                if (mo && slabdiff_accounting(&d, mo, mn, &acc) >= 0)
                        have_acc = true;
        }

        if (a.json)
                print_diff_json(stdout, &a, old->has_slabinfo ? &d : NULL, page_guessed, mo, mn,
                                have_acc ? &acc : NULL);
        else {
                if (old->has_slabinfo)
                        print_slab_diff(stdout, &a, &d, page_guessed);
                if (mo) {
                        if (old->has_slabinfo)
                                fputc('\n', stdout);
                        print_meminfo_diff(stdout, &a, mo_name, mn_name, mo, mn);
                }
                if (have_acc)
                        print_accounting(stdout, &acc);
        }
        if (fflush(stdout) != 0 || ferror(stdout))
                fprintf(stderr, "slabwatchctl diff: cannot write output: %s\n", strerror(errno));
        else
                exit_code = EXIT_OK;
finish:
        slabdiff_done(&d);
        slabdiff_snapshot_done(old);
        slabdiff_snapshot_done(new);
        slabdiff_snapshot_done(old_mi);
        slabdiff_snapshot_done(new_mi);
        free(old);
        free(new);
        free(old_mi);
        free(new_mi);
        return exit_code;
}
