/* stacks_paired — `slabwatchctl stacks` on input whose allocations and
 * frees are paired by pointer, so each stack's objects still outstanding
 * and freed are known: a capture's raw.trace (re-paired through the same
 * tracerec and pairing code the capture ran), and SLUB `TRACE <cache>
 * alloc|free` records pasted from a kernel log. The stacks are ranked by
 * outstanding objects and the culprit frame named, as in report.txt. */
#include "stacks.h"

#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "input.h"
#include "offline.h"
#include "report/assemble.h"
#include "report/report.h"
#include "stacks/kmsgtrace.h"
#include "stacks/pairing.h"
#include "stacks/rawtrace.h"

/* One line of error text from the decoders. */
#define PAIRED_ERROR_MAX 512

bool stacks_is_raw_trace(const char *path) {
        struct input *in = NULL;
        char head[RAWTRACE_MAGIC_LEN];
        if (strcmp(path, "-") == 0 || input_open(path, &in) < 0)
                return false;
        ssize_t n = input_read(in, head, sizeof head);
        input_close(in);
        return n == (ssize_t) sizeof head && rawtrace_is(head, sizeof head);
}

/* A report of the paired stacks: ranked, grouped into paths, the culprit named. */
static int paired_report(const struct pairing_result *res, struct report **ret) {
        struct report *rep = NULL;
        int r = report_new(&rep);
        if (r < 0)
                return r;
        report_add_pairing(rep, res);
        report_rank(rep);
        r = report_find_culprit(rep);
        if (r < 0) {
                report_free(rep);
                return r;
        }
        *ret = rep;
        return 0;
}

static void print_text(FILE *f, const struct stacks_args *a, const struct report *rep) {
        char suspect[REPORT_NAME_MAX];
        if (rep->n_stacks > 0)
                fprintf(f, "suspect:    %s (top stack: %" PRIu64 " outstanding of %" PRIu64 " allocated)\n",
                        report_named_suspect(rep, suspect, sizeof suspect), rep->stacks[0].outstanding,
                        rep->stacks[0].allocs);
        if (rep->culprit[0])
                fprintf(f, "why:        %s\n", rep->culprit_reason);
        size_t shown = a->limit && a->limit < rep->n_stacks ? a->limit : rep->n_stacks;
        fprintf(f, "\nStacks (%zu distinct, most outstanding first):\n", rep->n_stacks);
        for (size_t i = 0; i < shown; i++) {
                const struct report_stack *s = &rep->stacks[i];
                fprintf(f, "\n#%zu  outstanding %" PRIu64 "  allocs %" PRIu64 "  frees %" PRIu64, i + 1,
                        s->outstanding, s->allocs, s->frees);
                /* A log's records carry no object size nor a clock to age by. */
                if (s->bytes > 0)
                        fprintf(f, "  bytes %" PRIu64, s->bytes);
                if (s->oldest_age_s > 0)
                        fprintf(f, "  oldest %.1f s", s->oldest_age_s);
                fputc('\n', f);
                for (size_t j = 0; j < s->frames.n; j++)
                        fprintf(f, "    %s%s\n", s->frames.v[j],
                                i == 0 && rep->culprit[0] && j == rep->culprit_frame ? "   <== culprit" : "");
        }
        if (shown < rep->n_stacks)
                fprintf(f, "\n... %zu more distinct stacks not listed; -n 0 lists all.\n", rep->n_stacks - shown);
        if (rep->n_stacks == 0)
                fputs("  (none)\n", f);
}

/* The stacks as report.json has them, with the culprit; @head holds the
 * input's own fields. Consumes @head. */
static int print_json(FILE *f, const struct stacks_args *a, const struct report *rep, json_object *head) {
        json_object *full = NULL, *stacks = NULL;
        int r = report_to_json(rep, &full);
        if (r < 0) {
                json_object_put(head);
                return r;
        }
        if (json_object_object_get_ex(full, "stacks", &stacks)) {
                size_t n = json_object_array_length(stacks);
                if (a->limit && a->limit < n)
                        json_object_array_del_idx(stacks, a->limit, n - a->limit);
                json_object_object_add(head, "stacks", json_object_get(stacks));
        }
        json_object *v;
        if (json_object_object_get_ex(full, "culprit", &v))
                json_object_object_add(head, "culprit", json_object_get(v));
        if (json_object_object_get_ex(full, "suspect", &v))
                json_object_object_add(head, "suspect", json_object_get(v));
        const char *text = json_object_to_json_string_ext(head, JSON_C_TO_STRING_PLAIN);
        r = text ? 0 : -ENOMEM;
        if (text)
                fprintf(f, "%s\n", text);
        json_object_put(head);
        json_object_put(full);
        return r;
}

int stacks_raw_main(const struct stacks_args *a, const char *path) {
        char *data = NULL, err[PAIRED_ERROR_MAX];
        size_t len = 0;
        struct rawtrace_info info;
        struct pairing_result *res = NULL;
        struct report *rep = NULL;
        const char *name = input_display_name(path);

        if (a->tree || a->folded || a->from) {
                fputs("slabwatchctl stacks: --tree, --folded and --from are not for a raw.trace\n", stderr);
                return EXIT_USAGE;
        }
        int r = input_read_all(path, (size_t) (RAWTRACE_FILE_MAX < SIZE_MAX ? RAWTRACE_FILE_MAX : SIZE_MAX - 1),
                               &data, &len);
        if (r < 0) {
                fprintf(stderr, "slabwatchctl stacks: cannot read %s: %s\n", name, input_strerror(r));
                return EXIT_ERROR;
        }
        r = rawtrace_replay((const uint8_t *) data, len, &info, &res, err, sizeof err);
        free(data);
        if (r < 0) {
                fprintf(stderr, "slabwatchctl stacks: %s: %s\n", name, err[0] ? err : strerror(-r));
                return EXIT_ERROR;
        }
        r = paired_report(res, &rep);
        if (r < 0) {
                pairing_result_free(res);
                fputs("slabwatchctl stacks: out of memory\n", stderr);
                return EXIT_ERROR;
        }
        const char *mode = info.stacks_allocs_only ? "allocations only" : "every event";
        if (a->json) {
                json_object *o = json_object_new_object();
                if (!o)
                        r = -ENOMEM;
                else {
                        json_object_object_add(o, "format", json_object_new_string("raw.trace"));
                        json_object_object_add(o, "cache", json_object_new_string(info.cache));
                        json_object_object_add(o, "kernel", json_object_new_string(info.kernel));
                        json_object_object_add(o, "stacks_on", json_object_new_string(mode));
                        json_object_object_add(o, "pages", json_object_new_uint64(info.pages));
                        json_object_object_add(o, "truncated", json_object_new_boolean(info.truncated));
                        json_object_object_add(o, "pages_left_out", json_object_new_uint64(info.pages_dropped));
                        json_object_object_add(o, "events", json_object_new_uint64(res->events));
                        json_object_object_add(o, "allocs", json_object_new_uint64(res->allocs));
                        json_object_object_add(o, "frees", json_object_new_uint64(res->frees));
                        json_object_object_add(o, "outstanding", json_object_new_uint64(res->outstanding));
                        r = print_json(stdout, a, rep, o);
                }
        } else {
                printf("raw.trace of %s%s%s%s: %" PRIu64 " pages, stacks on %s\n", info.cache[0] ? info.cache : "?",
                       info.kernel[0] ? " (kernel " : "", info.kernel, info.kernel[0] ? ")" : "", info.pages, mode);
                printf("events:     %" PRIu64 " paired (%" PRIu64 " allocs, %" PRIu64 " frees, %" PRIu64
                       " of objects older than the trace), %" PRIu64 " outstanding\n",
                       res->events, res->allocs, res->frees, res->unmatched_frees, res->outstanding);
                if (info.truncated)
                        printf("WARNING: the trace was cut at capture.raw_trace_max: %" PRIu64
                               " later pages are not in it, so frees of these objects may be missing and "
                               "outstanding counts are upper bounds.\n",
                               info.pages_dropped);
                if (info.rec.bad_pages > 0)
                        printf("WARNING: %" PRIu64 " pages did not decode whole; their whole records were kept.\n",
                               info.rec.bad_pages);
                if (info.rec.missed_pages > 0)
                        printf("WARNING: the kernel flagged %" PRIu64 " pages with lost events.\n",
                               info.rec.missed_pages);
                if (res->truncated)
                        printf("WARNING: the memory bound refused events after %" PRIu64 ".\n",
                               res->truncated_at_events);
                print_text(stdout, a, rep);
        }
        bool none = rep->n_stacks == 0;
        report_free(rep);
        pairing_result_free(res);
        if (r < 0) {
                fputs("slabwatchctl stacks: out of memory\n", stderr);
                return EXIT_ERROR;
        }
        if (fflush(stdout) != 0 || ferror(stdout)) {
                fprintf(stderr, "slabwatchctl stacks: cannot write output: %s\n", strerror(errno));
                return EXIT_ERROR;
        }
        if (none) {
                fprintf(stderr, "slabwatchctl stacks: %s: no allocation in the trace\n", name);
                return EXIT_NO_STACKS;
        }
        return EXIT_OK;
}

/* ---- SLUB TRACE records pasted from a kernel log ---- */

struct paired_cache {
        char name[KMSGTRACE_CACHE_MAX];
        struct pairing *pairing;
        struct kmsgtrace *parser;
};

struct stacks_kmsg {
        struct paired_cache caches[STACKS_PAIRED_CACHES_MAX];
        size_t n;
        uint64_t more_caches;           /* TRACE records of caches past the limit */
        char carry[KMSGTRACE_LINE_MAX]; /* the unfinished last line of the previous chunk */
        size_t carry_len;
        bool failed;                    /* out of memory: the paired section is not shown */
};

int stacks_kmsg_new(struct stacks_kmsg **ret) {
        *ret = calloc(1, sizeof **ret);
        return *ret ? 0 : -ENOMEM;
}

void stacks_kmsg_free(struct stacks_kmsg *k) {
        if (!k)
                return;
        for (size_t i = 0; i < k->n; i++) {
                kmsgtrace_free(k->caches[i].parser);
                pairing_free(k->caches[i].pairing);
        }
        free(k);
}

/* "TRACE <cache> alloc 0x" or "... free 0x" at @s (of @n bytes): the
 * cache's name into @name. */
static bool trace_record_at(const char *s, size_t n, char *name, size_t size) {
        if (n < 6 || memcmp(s, "TRACE ", 6) != 0)
                return false;
        size_t i = 6, len = 0;
        while (i < n && s[i] != ' ' && s[i] != '\n' && len + 1 < size)
                name[len++] = s[i++];
        name[len] = '\0';
        if (len == 0 || i >= n || s[i] != ' ')
                return false;
        i++;
        return (n - i >= 8 && memcmp(s + i, "alloc 0x", 8) == 0) || (n - i >= 7 && memcmp(s + i, "free 0x", 7) == 0);
}

/* A parser for @name, fed from the start of the line that named it. */
static struct paired_cache *kmsg_add(struct stacks_kmsg *k, const char *name) {
        if (k->n == STACKS_PAIRED_CACHES_MAX) {
                k->more_caches++;
                return NULL;
        }
        struct paired_cache *c = &k->caches[k->n];
        snprintf(c->name, sizeof c->name, "%s", name);
        /* The log is one ordered stream. */
        if (pairing_new(&(struct pairing_options) { .reorder_window_ns = 0 }, &c->pairing) < 0 ||
            kmsgtrace_new(&(struct kmsgtrace_options) { .cache_name = c->name }, c->pairing, &c->parser) < 0) {
                pairing_free(c->pairing);
                c->pairing = NULL;
                k->failed = true;
                return NULL;
        }
        k->n++;
        return c;
}

static struct paired_cache *kmsg_find(struct stacks_kmsg *k, const char *name) {
        for (size_t i = 0; i < k->n; i++)
                if (strcmp(k->caches[i].name, name) == 0)
                        return &k->caches[i];
        return NULL;
}

void stacks_kmsg_feed(struct stacks_kmsg *k, const char *buf, size_t len) {
        if (!k || k->failed)
                return;
        /* Caches seen for the first time in this chunk, found on whole
         * lines (the carried unfinished line first). */
        size_t n_before = k->n;
        size_t line = 0;
        bool in_carry = k->carry_len > 0;
        for (size_t i = 0; i <= len; i++) {
                if (i < len && buf[i] != '\n')
                        continue;
                /* The line [line, i) of buf, after the carry if it is the first. */
                char joined[KMSGTRACE_LINE_MAX];
                const char *s = buf + line;
                size_t n = i - line;
                if (in_carry) {
                        size_t take = n < sizeof joined - k->carry_len ? n : sizeof joined - k->carry_len;
                        memcpy(joined, k->carry, k->carry_len);
                        memcpy(joined + k->carry_len, s, take);
                        s = joined;
                        n = k->carry_len + take;
                        in_carry = false;
                }
                if (i == len)
                        break; /* unfinished: looked at again with the next chunk */
                const char *t = memmem(s, n, "TRACE ", 6);
                char name[KMSGTRACE_CACHE_MAX];
                if (t && trace_record_at(t, n - (size_t) (t - s), name, sizeof name) && !kmsg_find(k, name))
                        (void) kmsg_add(k, name);
                line = i + 1;
        }
        for (size_t i = 0; i < k->n; i++) {
                /* A parser new with this chunk starts with the carried line. */
                if (i >= n_before && k->carry_len)
                        (void) kmsgtrace_feed(k->caches[i].parser, k->carry, k->carry_len);
                (void) kmsgtrace_feed(k->caches[i].parser, buf, len);
        }
        /* Carry the unfinished last line (bounded: a longer one is malformed anyway). */
        const char *nl = len ? memrchr(buf, '\n', len) : NULL;
        size_t rest = nl ? len - (size_t) (nl - buf) - 1 : len;
        if (!nl) {
                size_t keep = k->carry_len + rest <= sizeof k->carry ? rest : sizeof k->carry - k->carry_len;
                memcpy(k->carry + k->carry_len, buf, keep);
                k->carry_len += keep;
        } else {
                size_t keep = rest <= sizeof k->carry ? rest : sizeof k->carry;
                memcpy(k->carry, nl + 1, keep);
                k->carry_len = keep;
        }
}

void stacks_kmsg_end_file(struct stacks_kmsg *k) {
        /* Files follow one another as one log: end an unfinished line. */
        stacks_kmsg_feed(k, "\n", 1);
}

bool stacks_kmsg_any(const struct stacks_kmsg *k) {
        return k && (k->n > 0 || k->more_caches > 0);
}

int stacks_kmsg_print(FILE *f, const struct stacks_args *a, struct stacks_kmsg *k, json_object *json_into) {
        if (!k)
                return 0;
        if (k->failed)
                return -ENOMEM;
        json_object *arr = json_into ? json_object_new_array() : NULL;
        if (json_into && !arr)
                return -ENOMEM;
        for (size_t i = 0; i < k->n; i++) {
                struct paired_cache *c = &k->caches[i];
                struct kmsgtrace_stats st;
                struct pairing_result *res = NULL;
                struct report *rep = NULL;
                (void) kmsgtrace_finish(c->parser);
                kmsgtrace_get_stats(c->parser, &st);
                int r = pairing_finish(c->pairing, 0, NULL, NULL, &res);
                if (r >= 0)
                        r = paired_report(res, &rep);
                if (r < 0) {
                        pairing_result_free(res);
                        json_object_put(arr);
                        return r;
                }
                if (json_into) {
                        json_object *o = json_object_new_object();
                        json_object_object_add(o, "cache", json_object_new_string(c->name));
                        json_object_object_add(o, "records", json_object_new_uint64(st.records));
                        json_object_object_add(o, "allocs", json_object_new_uint64(res->allocs));
                        json_object_object_add(o, "frees", json_object_new_uint64(res->frees));
                        json_object_object_add(o, "frees_of_older", json_object_new_uint64(res->unmatched_frees));
                        json_object_object_add(o, "outstanding", json_object_new_uint64(res->outstanding));
                        json_object_object_add(o, "stackless", json_object_new_uint64(st.stackless));
                        json_object *full = NULL, *v;
                        r = report_to_json(rep, &full);
                        if (r == 0) {
                                if (json_object_object_get_ex(full, "stacks", &v)) {
                                        size_t n = json_object_array_length(v);
                                        if (a->limit && a->limit < n)
                                                json_object_array_del_idx(v, a->limit, n - a->limit);
                                        json_object_object_add(o, "stacks", json_object_get(v));
                                }
                                if (json_object_object_get_ex(full, "culprit", &v))
                                        json_object_object_add(o, "culprit", json_object_get(v));
                                if (json_object_object_get_ex(full, "suspect", &v))
                                        json_object_object_add(o, "suspect", json_object_get(v));
                                json_object_put(full);
                        }
                        json_object_array_add(arr, o);
                } else {
                        fprintf(f, "\n== SLUB TRACE records of %s, paired by pointer: %" PRIu64 " allocs, %" PRIu64
                                " frees (%" PRIu64 " of objects allocated before the log), %" PRIu64
                                " outstanding ==\n",
                                c->name, res->allocs, res->frees, res->unmatched_frees, res->outstanding);
                        if (st.stackless > 0)
                                fprintf(f, "%" PRIu64 " records came without a stack (counted under an empty one).\n",
                                        st.stackless);
                        print_text(f, a, rep);
                }
                report_free(rep);
                pairing_result_free(res);
                if (r < 0) {
                        json_object_put(arr);
                        return r;
                }
        }
        if (k->more_caches > 0 && !json_into)
                fprintf(f, "\n%" PRIu64 " TRACE records of more than %d caches not paired.\n", k->more_caches,
                        STACKS_PAIRED_CACHES_MAX);
        if (json_into)
                json_object_object_add(json_into, "paired", arr);
        return 0;
}
