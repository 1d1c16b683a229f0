/* stacks — `slabwatchctl stacks`: aggregate kernel stack dumps. It streams
 * its input in chunks, so a console log of any size runs in bounded memory. */
#include "offline.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "input.h"
#include "stacks.h"
#include "stacks/stackagg.h"
#include "stacks/stackdump.h"
#include "base/units.h"

/* Bytes of decompressed text handed to a parser at a time. */
#define OFFLINE_CHUNK_SIZE ((size_t) 64 << 10)
/* Unreadable lines reported per file; the rest are counted. */
#define OFFLINE_ERRORS_SHOWN 10
/* Width of a tree prefix: three columns per branching level. */
#define OFFLINE_TREE_PREFIX_MAX (3 * STACKDUMP_FRAMES_MAX + 1)

/* Stacks with a timestamp (or a kmemleak object's address and jiffies)
 * remembered to recognise the same dump read twice; past this many the
 * check stops and the output says so. */
#define OFFLINE_DEDUP_MAX ((size_t) 1 << 20)

const enum stackdump_role stacks_role_order[STACKS_ROLES] = {
        STACKDUMP_ROLE_ALLOC, STACKDUMP_ROLE_FREE, STACKDUMP_ROLE_STACK,
};

static uint64_t fnv(uint64_t h, const void *data, size_t n) {
        const unsigned char *d = data;
        for (size_t i = 0; i < n; i++) {
                h ^= d[i];
                h *= 0x100000001b3u;
        }
        return h;
}

/* A stack's fingerprint if it carries something that tells one print of it
 * from another (a timestamp; a kmemleak object's address and jiffies, which
 * are the same in the debugfs file and in the console copy); else 0. */
static uint64_t fingerprint(const struct stackdump_stack *s) {
        const struct stackdump_context *c = &s->ctx;
        bool kmemleak_id = s->format == STACKDUMP_FORMAT_KMEMLEAK && (c->have & STACKDUMP_HAVE_PTR) &&
                (c->have & STACKDUMP_HAVE_JIFFIES);
        if (!(c->have & STACKDUMP_HAVE_TIMESTAMP) && !kmemleak_id)
                return 0;
        uint64_t h = 0xcbf29ce484222325u;
        if (kmemleak_id) {
                uint64_t v[] = { (uint64_t) s->format, c->ptr, c->jiffies, c->pid };
                h = fnv(h, v, sizeof v);
        } else {
                uint64_t v[] = { (uint64_t) s->format, (uint64_t) s->role, c->have, c->timestamp_nsec, c->ptr,
                                 c->pid, c->cpu, s->weight };
                h = fnv(h, v, sizeof v);
        }
        h = fnv(h, c->comm, strlen(c->comm));
        for (size_t i = 0; i < s->n_frames; i++) {
                h = fnv(h, s->frames[i].function, strlen(s->frames[i].function) + 1);
                h = fnv(h, &s->frames[i].offset, sizeof s->frames[i].offset);
        }
        return h ? h : 1;
}

/* True if @h was seen before; remembers it otherwise. */
static bool seen_before(struct stacks_run *run, uint64_t h) {
        if (run->seen_full)
                return false;
        if ((run->n_seen + 1) * 2 > run->seen_slots) {
                size_t slots = run->seen_slots ? run->seen_slots * 2 : 4096;
                uint64_t *t = run->n_seen < OFFLINE_DEDUP_MAX ? calloc(slots, sizeof *t) : NULL;
                if (!t) {
                        run->seen_full = true;
                        return false;
                }
                for (size_t i = 0; i < run->seen_slots; i++)
                        if (run->seen[i]) {
                                size_t k = run->seen[i] & (slots - 1);
                                while (t[k])
                                        k = (k + 1) & (slots - 1);
                                t[k] = run->seen[i];
                        }
                free(run->seen);
                run->seen = t;
                run->seen_slots = slots;
        }
        size_t k = h & (run->seen_slots - 1);
        while (run->seen[k]) {
                if (run->seen[k] == h)
                        return true;
                k = (k + 1) & (run->seen_slots - 1);
        }
        run->seen[k] = h;
        run->n_seen++;
        return false;
}

static void stacks_usage(FILE *f) {
        fputs("Usage: slabwatchctl stacks [OPTIONS] FILE...\n"
              "\n"
              "Aggregate kernel stack dumps into distinct stacks with counts. FILE is a\n"
              "console log, dmesg or journal output (x86, arm64, ARM, symbolized), tracefs\n"
              "text, SLUB TRACE output or object reports, KASAN reports, a kmemleak report,\n"
              "page_owner or page_owner_sort output, or an alloc_traces file; gzip and xz\n"
              "are read directly; - reads stdin. Allocation and free stacks are ranked\n"
              "apart. A capture bundle's raw.trace (read alone) is re-paired: its stacks\n"
              "are ranked by objects still outstanding, the culprit frame named. Exit\n"
              "status 4: no stack found.\n"
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
              "  --json              print one JSON document on one line\n"
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
        uint64_t h = fingerprint(s);
        if (h && seen_before(run, h)) {
                run->duplicates++;
                run->duplicate_weight += s->weight;
                return 0;
        }
        if (s->incomplete)
                run->incomplete++;
        unsigned role = s->role < _STACKDUMP_ROLE_MAX ? s->role : STACKDUMP_ROLE_STACK;
        return stackagg_add(run->agg[role], s, run->source);
}

static void on_line_error(uint64_t line, int error, void *userdata) {
        struct stacks_run *run = userdata;
        if (error == -ENOMSG || error == -EPIPE) {
                if (error == -ENOMSG) {
                        if (run->skipped++ == 0) {
                                run->first_skip_source = run->source;
                                run->first_skip_line = line;
                        }
                } else
                        run->dropped_notes++;
        } else
                run->errors++;
        if (run->file_errors++ < OFFLINE_ERRORS_SHOWN)
                fprintf(stderr, "slabwatchctl stacks: %s:%" PRIu64 ": %s\n", run->name, line,
                        stackdump_error_message(error));
}

/* Feed one file through a fresh parser into the aggregators. */
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
                if (n > 0)
                        stacks_kmsg_feed(run->kmsg, buf, (size_t) n);
                r = n > 0 ? stackdump_parser_feed(p, buf, (size_t) n) : stackdump_parser_finish(p);
                if (n == 0)
                        break;
        }
        if (r < 0)
                fprintf(stderr, "slabwatchctl stacks: %s: %s\n", run->name, strerror(-r));
finish:
        stacks_kmsg_end_file(run->kmsg);
        if (run->file_errors > OFFLINE_ERRORS_SHOWN)
                fprintf(stderr, "slabwatchctl stacks: %s: %" PRIu64 " more lines reported\n", run->name,
                        run->file_errors - OFFLINE_ERRORS_SHOWN);
        if (p) {
                run->lines += stackdump_parser_lines(p);
                if (r >= 0 && stackdump_parser_stacks(p) == 0)
                        fprintf(stderr, "slabwatchctl stacks: %s: no stack found in %" PRIu64 " line%s\n", run->name,
                                stackdump_parser_lines(p), stackdump_parser_lines(p) == 1 ? "" : "s");
        }
        stackdump_parser_free(p);
        input_close(in);
        return r;
}

const char *stacks_source_name(const struct stacks_args *a, unsigned source) {
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
        fputs(fr->raw && fr->raw[0] ? fr->raw : fr->function, f);
        if (fr->has_offset) {
                if (fr->size)
                        fprintf(f, "+0x%" PRIx64 "/0x%" PRIx64, fr->offset, fr->size);
                else
                        fprintf(f, "+0x%" PRIx64, fr->offset);
        }
        if (fr->module[0])
                fprintf(f, " [%s]", fr->module);
        if (fr->source && fr->source[0])
                fprintf(f, " %s", fr->source);
        if (fr->inlined)
                fputs(" [inline]", f);
}

static unsigned digits(uint64_t v) {
        unsigned n = 1;
        while (v >= 10)
                v /= 10, n++;
        return n;
}

static const char *population_title(enum stackdump_role role) {
        switch (role) {
        case STACKDUMP_ROLE_ALLOC:
                return "Allocation stacks";
        case STACKDUMP_ROLE_FREE:
                return "Free stacks";
        default:
                return "Other stacks (dumps, reports, events)";
        }
}

static void stats_add(struct stackagg_stats *t, const struct stackagg_stats *s) {
        t->stacks += s->stacks;
        t->weight += s->weight;
        t->counted += s->counted;
        t->distinct += s->distinct;
        t->no_from += s->no_from;
        t->empty += s->empty;
        t->dropped += s->dropped;
        t->dropped_weight += s->dropped_weight;
        t->truncated += s->truncated;
        t->unreliable_frames += s->unreliable_frames;
        t->memory_bytes += s->memory_bytes;
}

/* Rank every population that has stacks. -ENOMEM. */
static int report_build(struct stacks_run *run, struct stacks_report *rep) {
        *rep = (struct stacks_report) {};
        for (size_t i = 0; i < STACKS_ROLES; i++) {
                struct stacks_population *pop = &rep->pops[rep->n_pops];
                pop->role = stacks_role_order[i];
                pop->agg = run->agg[pop->role];
                stackagg_get_stats(pop->agg, &pop->st);
                if (pop->st.stacks == 0)
                        continue;
                int n = stackagg_ranked(pop->agg, &pop->v);
                if (n < 0)
                        return n;
                pop->n = (size_t) n;
                stats_add(&rep->total, &pop->st);
                rep->n_pops++;
        }
        rep->headings = rep->n_pops > 1 || (rep->n_pops == 1 && rep->pops[0].role != STACKDUMP_ROLE_STACK);
        return 0;
}

static void print_summary(FILE *f, const struct stacks_args *a, const struct stacks_run *run,
                          const struct stacks_report *rep) {
        const struct stackagg_stats *st = &rep->total;
        fprintf(f, "%" PRIu64 " stack%s, %" PRIu64 " distinct", st->stacks, st->stacks == 1 ? "" : "s",
                st->distinct);
        if (st->weight != st->stacks)
                fprintf(f, "; counts add up to %" PRIu64 " (alloc_traces entries and page_owner_sort "
                        "records count their objects)", st->weight);
        fputs(".\n", f);
        if (rep->n_pops > 1) {
                fputs("Ranked apart, never together:", f);
                for (size_t i = 0; i < rep->n_pops; i++)
                        fprintf(f, "%s %" PRIu64 " %s", i ? "," : "", rep->pops[i].st.stacks,
                                rep->pops[i].role == STACKDUMP_ROLE_STACK ? "other"
                                                                          : stackdump_role_name(rep->pops[i].role));
                fputs(" stacks.\n", f);
        }
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
        if (run->skipped > 0)
                fprintf(f, "%" PRIu64 " line%s inside stacks not understood and stepped over (first at %s:%" PRIu64
                        "); the stacks around them go on.\n", run->skipped, run->skipped == 1 ? "" : "s",
                        stacks_source_name(a, run->first_skip_source), run->first_skip_line);
        if (run->incomplete > 0)
                fprintf(f, "%" PRIu64 " stack%s may miss frames: printk dropped messages inside.\n", run->incomplete,
                        run->incomplete == 1 ? "" : "s");
        if (run->duplicates > 0)
                fprintf(f, "%" PRIu64 " duplicate stack%s (the same timestamp or kmemleak object, and the same "
                        "text: one log seen twice) counted once.\n", run->duplicates, run->duplicates == 1 ? "" : "s");
        if (run->seen_full)
                fputs("WARNING: too many stacks to look for duplicates in all of them; later copies are counted "
                      "again.\n", f);
        if (st->dropped > 0)
                fprintf(f, "WARNING: %" PRIu64 " stack%s (count %" PRIu64 ") not counted: the limit on distinct "
                        "stacks or their memory was reached.\n", st->dropped, st->dropped == 1 ? "" : "s",
                        st->dropped_weight);
}

static void print_age(FILE *f, uint64_t msec) {
        fprintf(f, "%" PRIu64 ".%03" PRIu64 "s", msec / 1000, msec % 1000);
}

static void print_entry_context(FILE *f, const struct stackagg_entry *e) {
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
        if (e->sized > 0) {
                fprintf(f, "%sbytes %" PRIu64 " in %" PRIu64 " object%s", first ? "" : "  ", e->object_bytes,
                        e->sized, e->sized == 1 ? "" : "s");
                first = false;
        }
        if (e->aged > 0) {
                fprintf(f, "%sage ", first ? "" : "  ");
                print_age(f, e->age_min_msec);
                if (e->age_max_msec != e->age_min_msec) {
                        fputs("-", f);
                        print_age(f, e->age_max_msec);
                }
                first = false;
        }
        if (first)
                fputs("(no context)", f);
        fputc('\n', f);
}

static void print_population(FILE *f, const struct stacks_args *a, const struct stacks_report *rep,
                             const struct stacks_population *pop) {
        const struct stackagg_entry *const *v = pop->v;
        size_t n = pop->n;
        uint64_t total = 0;
        for (size_t i = 0; i < n; i++)
                total += v[i]->count;
        size_t shown = a->limit && a->limit < n ? a->limit : n;
        unsigned wr = digits(shown), wc = n ? digits(v[0]->count) : 1;

        if (rep->headings)
                fprintf(f, "\n== %s: %" PRIu64 " stack%s, %zu distinct ==\n", population_title(pop->role),
                        pop->st.stacks, pop->st.stacks == 1 ? "" : "s", n);
        for (size_t i = 0; i < shown; i++) {
                const struct stackagg_entry *e = v[i];
                fprintf(f, "\n#%-*zu  count %*" PRIu64 "  %5.1f%%  first at %s:%" PRIu64 "\n", (int) wr, i + 1,
                        (int) wc, e->count, total ? 100.0 * (double) e->count / (double) total : 0.0,
                        stacks_source_name(a, e->first_source), e->first_line);
                print_entry_context(f, e);
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

static void print_ranked(FILE *f, const struct stacks_args *a, const struct stacks_run *run,
                         const struct stacks_report *rep) {
        print_summary(f, a, run, rep);
        for (size_t i = 0; i < rep->n_pops; i++)
                print_population(f, a, rep, &rep->pops[i]);
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

enum stackagg_tree_order stacks_tree_order(const struct stacks_args *a) {
        return a->from ? STACKAGG_TREE_INNERMOST_FIRST : STACKAGG_TREE_CALLERS_FIRST;
}

static int print_tree(FILE *f, const struct stacks_args *a, const struct stacks_run *run, const struct stacks_report *rep) {
        print_summary(f, a, run, rep);
        for (size_t i = 0; i < rep->n_pops; i++) {
                const struct stacks_population *pop = &rep->pops[i];
                struct stackagg_node *root;
                int r = stackagg_tree(pop->agg, stacks_tree_order(a), &root);
                if (r < 0)
                        return r;
                if (rep->headings)
                        fprintf(f, "\n== %s ==\n", population_title(pop->role));
                if (a->from)
                        fprintf(f, "\nCall tree from %s, callers below:\n\n", a->from);
                else
                        fputs("\nCall tree, outermost caller first:\n\n", f);
                char prefix[OFFLINE_TREE_PREFIX_MAX];
                print_tree_children(f, root, prefix, 0, (int) digits(root->count));
                stackagg_tree_free(root);
        }
        return 0;
}

/* "outer;...;inner COUNT"; with several populations each line starts with
 * the population's name as a pseudo-frame, so a flame graph keeps them apart. */
void stacks_print_folded_entry(FILE *f, const struct stacks_report *rep, const struct stacks_population *pop,
                               const struct stackagg_entry *e) {
        if (rep->n_pops > 1)
                fprintf(f, "[%s];", stackdump_role_name(pop->role));
        for (size_t k = e->n_frames; k-- > 0;)
                fprintf(f, "%s%s", e->frames[k].function, k ? ";" : "");
        fprintf(f, " %" PRIu64, e->count);
}

static void print_folded(FILE *f, const struct stacks_args *a, const struct stacks_report *rep) {
        for (size_t p = 0; p < rep->n_pops; p++) {
                const struct stacks_population *pop = &rep->pops[p];
                size_t shown = a->limit && a->limit < pop->n ? a->limit : pop->n;
                for (size_t i = 0; i < shown; i++) {
                        stacks_print_folded_entry(f, rep, pop, pop->v[i]);
                        fputc('\n', f);
                }
        }
}

static void stacks_run_free(struct stacks_run *run) {
        for (size_t i = 0; i < _STACKDUMP_ROLE_MAX; i++)
                stackagg_free(run->agg[i]);
        stacks_kmsg_free(run->kmsg);
        free(run->seen);
}

int offline_stacks_main(int argc, char **argv) {
        struct stacks_args a = {};
        struct stacks_run run = {};
        struct stacks_report rep;
        char *buf = NULL;
        int r = stacks_parse_args(argc, argv, &a);
        if (r < 0)
                return EXIT_OK;
        if (r > 0)
                return r;

        /* A capture's raw.trace is paired, not aggregated: alone. */
        for (size_t i = 0; i < a.n_files; i++)
                if (stacks_is_raw_trace(a.files[i])) {
                        if (a.n_files > 1) {
                                fprintf(stderr, "slabwatchctl stacks: %s is a raw.trace, which is read alone\n",
                                        input_display_name(a.files[i]));
                                return EXIT_USAGE;
                        }
                        return stacks_raw_main(&a, a.files[0]);
                }

        struct stackagg_options o = {
                .from = a.from,
                .keep_noise = a.keep_noise,
                .keep_unreliable = a.keep_unreliable,
                .noise = a.noise,
                .n_noise = a.n_noise,
        };
        for (size_t i = 0; i < _STACKDUMP_ROLE_MAX && r >= 0; i++)
                r = stackagg_new(&o, &run.agg[i]);
        if (r >= 0)
                r = stacks_kmsg_new(&run.kmsg);
        buf = malloc(OFFLINE_CHUNK_SIZE);
        if (r < 0 || !buf) {
                fputs("slabwatchctl stacks: out of memory\n", stderr);
                free(buf);
                stacks_run_free(&run);
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
        if (r == -ENOMEM || report_build(&run, &rep) < 0) {
                stacks_run_free(&run);
                fputs("slabwatchctl stacks: out of memory\n", stderr);
                return EXIT_ERROR;
        }
        if (a.json)
                r = stacks_print_json(stdout, &a, &run, &rep);
        else if (a.tree)
                r = print_tree(stdout, &a, &run, &rep);
        else if (a.folded) {
                print_folded(stdout, &a, &rep);
                r = 0;
        } else {
                print_ranked(stdout, &a, &run, &rep);
                r = 0;
        }
        /* SLUB TRACE records: with their frees, what is still outstanding is known. */
        if (r >= 0 && !a.json && !a.folded && stacks_kmsg_any(run.kmsg))
                r = stacks_kmsg_print(stdout, &a, run.kmsg, NULL);
        if (a.folded && !a.json && rep.total.dropped > 0)
                fprintf(stderr, "slabwatchctl stacks: WARNING: %" PRIu64 " stacks (count %" PRIu64 ") not counted: "
                        "the limit on distinct stacks or their memory was reached\n", rep.total.dropped,
                        rep.total.dropped_weight);
        bool none = rep.total.stacks == 0 && run.duplicates == 0;
        if (none && exit_code == EXIT_OK)
                fprintf(stderr, "slabwatchctl stacks: no stack found in %" PRIu64 " line%s. Looked for: %s.\n",
                        run.lines, run.lines == 1 ? "" : "s", stackdump_formats_looked_for());
        stacks_run_free(&run);
        if (r < 0) {
                fputs("slabwatchctl stacks: out of memory\n", stderr);
                return EXIT_ERROR;
        }
        if (fflush(stdout) != 0 || ferror(stdout)) {
                fprintf(stderr, "slabwatchctl stacks: cannot write output: %s\n", strerror(errno));
                return EXIT_ERROR;
        }
        if (none && exit_code == EXIT_OK)
                return EXIT_NO_STACKS;
        return exit_code;
}
