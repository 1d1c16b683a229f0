/* stacks — `slabwatchctl stacks`: aggregate kernel stack dumps. It streams
 * its input in chunks, so a console log of any size runs in bounded memory. */
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
#include "stacks/stackagg.h"
#include "stacks/stackdump.h"
#include "base/units.h"

/* Bytes of decompressed text handed to a parser at a time. */
#define OFFLINE_CHUNK_SIZE ((size_t) 64 << 10)
/* Unreadable lines reported per file; the rest are counted. */
#define OFFLINE_ERRORS_SHOWN 10
/* Width of a tree prefix: three columns per branching level. */
#define OFFLINE_TREE_PREFIX_MAX (3 * STACKDUMP_FRAMES_MAX + 1)

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
                        if (!offline_parse_count(optarg, &a->limit)) {
                                fprintf(stderr, "slabwatchctl stacks: -n wants a number, not '%s'\n", optarg);
                                return EXIT_USAGE;
                        }
                        break;
                case 'h':
                        stacks_usage(stdout);
                        return -1;
                default:
                        offline_print_bad_option("stacks", argv);
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

static json_object *json_uset(const struct stackagg_uset *s) {
        json_object *arr = json_object_new_array();
        for (size_t i = 0; arr && i < s->n; i++)
                json_object_array_add(arr, json_object_new_uint64(s->values[i]));
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
                json_object_object_add(o, "offset", json_object_new_uint64(fr->offset));
                json_object_object_add(o, "size", json_object_new_uint64(fr->size));
        }
        if (fr->module[0])
                json_object_object_add(o, "module", json_object_new_string(fr->module));
        return o;
}

static json_object *json_tree(const struct stackagg_node *node) {
        json_object *o = json_object_new_object();
        if (node->frame)
                json_object_object_add(o, "function", json_object_new_string(node->frame->function));
        json_object_object_add(o, "count", json_object_new_uint64(node->count));
        json_object_object_add(o, "self", json_object_new_uint64(node->self));
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
        json_object_object_add(o, "stacks", json_object_new_uint64(st->stacks));
        json_object_object_add(o, "count", json_object_new_uint64(st->weight));
        json_object_object_add(o, "distinct", json_object_new_uint64(st->distinct));
        json_object_object_add(o, "without_from", json_object_new_uint64(st->no_from));
        json_object_object_add(o, "only_noise", json_object_new_uint64(st->empty));
        json_object_object_add(o, "dropped", json_object_new_uint64(st->dropped));
        json_object_object_add(o, "dropped_count", json_object_new_uint64(st->dropped_weight));
        json_object_object_add(o, "truncated", json_object_new_uint64(st->truncated));
        json_object_object_add(o, "unreliable_frames_left_out", json_object_new_uint64(a->keep_unreliable ? 0 : st->unreliable_frames));
        json_object_object_add(o, "unreadable_lines", json_object_new_uint64(line_errors));

        size_t shown = a->limit && a->limit < n ? a->limit : n;
        json_object *ranked = json_object_new_array();
        for (size_t i = 0; i < shown; i++) {
                const struct stackagg_entry *e = v[i];
                json_object *s = json_object_new_object();
                json_object_object_add(s, "rank", json_object_new_uint64(i + 1));
                json_object_object_add(s, "count", json_object_new_uint64(e->count));
                json_object_object_add(s, "stacks", json_object_new_uint64(e->records));
                json_object *first = json_object_new_object();
                json_object_object_add(first, "file", json_object_new_string(source_name(a, e->first_source)));
                json_object_object_add(first, "line", json_object_new_uint64(e->first_line));
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
