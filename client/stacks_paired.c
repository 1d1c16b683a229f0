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
                fprintf(f, "\n#%zu  outstanding %" PRIu64 "  allocs %" PRIu64 "  frees %" PRIu64 "  bytes %" PRIu64
                        "  oldest %.1f s\n",
                        i + 1, s->outstanding, s->allocs, s->frees, s->bytes, s->oldest_age_s);
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
