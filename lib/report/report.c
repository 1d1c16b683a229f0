#include "report/report.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "stacks/frames.h"

/* Version of the report.json layout; bump when a field changes meaning. */
#define REPORT_FORMAT_VERSION 1

int report_new(struct report **ret) {
        struct report *r = calloc(1, sizeof *r);
        if (!r)
                return -ENOMEM;
        *ret = r;
        return 0;
}

void report_strv_done(struct report_strv *v) {
        if (!v)
                return;
        for (size_t i = 0; i < v->n; i++)
                free(v->v[i]);
        free(v->v);
        v->v = NULL;
        v->n = 0;
}

static int strv_copy(struct report_strv *dst, const struct report_strv *src) {
        for (size_t i = 0; i < src->n; i++) {
                int r = report_strv_add(dst, src->v[i]);
                if (r < 0)
                        return r;
        }
        return 0;
}

int report_new_header_copy(const struct report *src, struct report **ret) {
        struct report *r;
        int k;

        k = report_new(&r);
        if (k < 0)
                return k;
        *r = *src;
        /* Nothing owned is shared: what the header owns is copied below,
         * the rest starts empty. */
        r->aliases = r->methods = r->advice = r->warnings = r->leak_group_members = (struct report_strv) {};
        r->attribution.notes = (struct report_strv) {};
        r->paths = NULL;
        r->n_paths = 0;
        r->call_sites = NULL;
        r->n_call_sites = r->call_sites_allocated = 0;
        r->stacks = NULL;
        r->n_stacks = r->stacks_allocated = 0;
        if ((k = strv_copy(&r->aliases, &src->aliases)) < 0 || (k = strv_copy(&r->methods, &src->methods)) < 0 ||
            (k = strv_copy(&r->advice, &src->advice)) < 0 || (k = strv_copy(&r->warnings, &src->warnings)) < 0 ||
            (k = strv_copy(&r->leak_group_members, &src->leak_group_members)) < 0) {
                report_free(r);
                return k;
        }
        *ret = r;
        return 0;
}

void report_free(struct report *r) {
        if (!r)
                return;
        report_strv_done(&r->aliases);
        report_strv_done(&r->methods);
        report_strv_done(&r->advice);
        report_strv_done(&r->warnings);
        report_strv_done(&r->attribution.notes);
        report_strv_done(&r->leak_group_members);
        for (size_t i = 0; i < r->n_paths; i++) {
                report_strv_done(&r->paths[i].frames);
                report_strv_done(&r->paths[i].variants);
        }
        free(r->paths);
        for (size_t i = 0; i < r->n_call_sites; i++)
                report_strv_done(&r->call_sites[i].frames);
        free(r->call_sites);
        for (size_t i = 0; i < r->n_stacks; i++)
                report_strv_done(&r->stacks[i].frames);
        free(r->stacks);
        free(r);
}

int report_strv_add(struct report_strv *v, const char *s) {
        char **nv, *copy;

        if (v->n >= REPORT_STRV_MAX)
                return -E2BIG;
        copy = strdup(s ? s : "");
        if (!copy)
                return -ENOMEM;
        nv = realloc(v->v, (v->n + 1) * sizeof *nv);
        if (!nv) {
                free(copy);
                return -ENOMEM;
        }
        nv[v->n++] = copy;
        v->v = nv;
        return 0;
}

int report_strv_addf(struct report_strv *v, const char *fmt, ...) {
        char buf[REPORT_TEXT_MAX];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(buf, sizeof buf, fmt, ap);
        va_end(ap);
        return report_strv_add(v, buf);
}

bool report_strv_contains(const struct report_strv *v, const char *s) {
        for (size_t i = 0; i < v->n; i++)
                if (strcmp(v->v[i], s) == 0)
                        return true;
        return false;
}

/* Grow @*array of @elem_size elements to hold one more. */
static int grow(void **array, size_t *allocated, size_t n, size_t elem_size) {
        size_t want;
        void *p;

        if (n < *allocated)
                return 0;
        want = *allocated ? *allocated * 2 : 16;
        p = realloc(*array, want * elem_size);
        if (!p)
                return -ENOMEM;
        memset((char *) p + *allocated * elem_size, 0, (want - *allocated) * elem_size);
        *array = p;
        *allocated = want;
        return 0;
}

struct report_stack *report_add_stack(struct report *r, const char *const *frames, size_t n_frames) {
        struct report_stack *s;

        if (r->n_stacks >= REPORT_STACKS_MAX)
                return NULL;
        if (grow((void **) &r->stacks, &r->stacks_allocated, r->n_stacks, sizeof *r->stacks) < 0)
                return NULL;
        s = &r->stacks[r->n_stacks];
        memset(s, 0, sizeof *s);
        for (size_t i = 0; i < n_frames && i < REPORT_FRAMES_MAX; i++)
                if (report_strv_add(&s->frames, frames[i]) < 0) {
                        report_strv_done(&s->frames);
                        return NULL;
                }
        if (n_frames > REPORT_FRAMES_MAX && report_strv_add(&s->frames, "...") < 0) {
                report_strv_done(&s->frames);
                return NULL;
        }
        r->n_stacks++;
        return s;
}

struct report_callsite *report_add_callsite(struct report *r) {
        struct report_callsite *c;

        if (r->n_call_sites >= REPORT_CALLSITES_MAX)
                return NULL;
        if (grow((void **) &r->call_sites, &r->call_sites_allocated, r->n_call_sites, sizeof *r->call_sites) < 0)
                return NULL;
        c = &r->call_sites[r->n_call_sites++];
        memset(c, 0, sizeof *c);
        return c;
}

/* Three-way compare of two u64 for a descending order. */
static int desc_u64(uint64_t a, uint64_t b) {
        return a > b ? -1 : a < b ? 1 : 0;
}

static int stack_cmp(const void *pa, const void *pb, void *ctx) {
        const struct report_stack *base = ctx;
        const struct report_stack *a = &base[*(const size_t *) pa], *b = &base[*(const size_t *) pb];
        int c;

        if ((c = desc_u64(a->outstanding, b->outstanding)) != 0)
                return c;
        if ((c = desc_u64(a->allocs, b->allocs)) != 0)
                return c;
        if ((c = desc_u64(a->bytes, b->bytes)) != 0)
                return c;
        return desc_u64(*(const size_t *) pb, *(const size_t *) pa);
}

static int callsite_cmp(const void *pa, const void *pb, void *ctx) {
        const struct report_callsite *base = ctx;
        const struct report_callsite *a = &base[*(const size_t *) pa], *b = &base[*(const size_t *) pb];
        int c;

        /* Allocation sites before free sites: the question is who allocates. */
        if (a->free_site != b->free_site)
                return a->free_site ? 1 : -1;
        if (a->delta != b->delta)
                return a->delta > b->delta ? -1 : 1;
        if ((c = desc_u64(a->count_last, b->count_last)) != 0)
                return c;
        return desc_u64(*(const size_t *) pb, *(const size_t *) pa);
}

/* Stable sort through an index array (qsort is not stable). */
static void sort_stable(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *, void *)) {
        size_t *idx;
        char *tmp;

        if (n < 2)
                return;
        idx = malloc(n * sizeof *idx);
        tmp = malloc(n * size);
        if (!idx || !tmp) {
                /* Out of memory: leave the order as it came (already ranked
                 * by the producers in practice) rather than fail the report. */
                free(idx);
                free(tmp);
                return;
        }
        for (size_t i = 0; i < n; i++)
                idx[i] = i;
        qsort_r(idx, n, sizeof *idx, cmp, base);
        for (size_t i = 0; i < n; i++)
                memcpy(tmp + i * size, (char *) base + idx[i] * size, size);
        memcpy(base, tmp, n * size);
        free(tmp);
        free(idx);
}

void report_rank(struct report *r) {
        sort_stable(r->stacks, r->n_stacks, sizeof *r->stacks, stack_cmp);
        sort_stable(r->call_sites, r->n_call_sites, sizeof *r->call_sites, callsite_cmp);
}

bool report_frame_is_noise(const char *frame) {
        size_t len;
        const char *f = frames_function(frame, &len);

        return len == 0 || frames_classify(f, len) != FRAMES_CODE;
}

const char *report_suspect(const struct report_stack *s, char *buf, size_t size) {
        const char *pick = NULL, *f;
        size_t len;

        if (size == 0)
                return buf;
        buf[0] = '\0';
        if (!s || s->frames.n == 0)
                return buf;
        size_t first = frames_first_code((const char *const *) s->frames.v, s->frames.n);
        if (first < s->frames.n)
                pick = s->frames.v[first];
        f = frames_function(pick ? pick : s->frames.v[0], &len);
        if (len >= size)
                len = size - 1;
        memcpy(buf, f, len);
        buf[len] = '\0';
        return buf;
}

const char *report_join_frames(const struct report_stack *s, const char *sep, char *buf, size_t size) {
        static const char ellipsis[] = "...";
        size_t pos = 0, sep_len = strlen(sep);

        if (size == 0)
                return buf;
        buf[0] = '\0';
        if (!s)
                return buf;
        for (size_t i = 0; i < s->frames.n; i++) {
                size_t need = (i ? sep_len : 0) + strlen(s->frames.v[i]);
                /* Keep room for the separator and the ellipsis if more follow. */
                size_t reserve = i + 1 < s->frames.n ? sep_len + sizeof ellipsis - 1 : 0;
                if (pos + need + reserve >= size) {
                        if (pos + (i ? sep_len : 0) + sizeof ellipsis <= size)
                                pos += (size_t) snprintf(buf + pos, size - pos, "%s%s", i ? sep : "", ellipsis);
                        break;
                }
                pos += (size_t) snprintf(buf + pos, size - pos, "%s%s", i ? sep : "", s->frames.v[i]);
        }
        return buf;
}

/* json-c calls that tolerate allocation failure: the first failure sticks
 * in @ok and the object is dropped at the end. */
static void jadd(json_object *o, const char *key, json_object *v, bool *ok) {
        if (!v) {
                *ok = false;
                return;
        }
        if (json_object_object_add(o, key, v) < 0) {
                json_object_put(v);
                *ok = false;
        }
}

static void jappend(json_object *a, json_object *v, bool *ok) {
        if (!v) {
                *ok = false;
                return;
        }
        if (json_object_array_add(a, v) < 0) {
                json_object_put(v);
                *ok = false;
        }
}

static json_object *jstrv(const struct report_strv *v, bool *ok) {
        json_object *a = json_object_new_array_ext((int) v->n);
        if (!a) {
                *ok = false;
                return NULL;
        }
        for (size_t i = 0; i < v->n; i++)
                jappend(a, json_object_new_string(v->v[i]), ok);
        return a;
}

static void format_time(uint64_t realtime_usec, char *buf, size_t size) {
        time_t t = (time_t) (realtime_usec / 1000000);
        struct tm tm;

        if (!gmtime_r(&t, &tm) || strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
                snprintf(buf, size, "@%" PRIu64, realtime_usec / 1000000);
}

static json_object *json_callsite(const struct report_callsite *c, bool *ok) {
        json_object *o = json_object_new_object();
        if (!o) {
                *ok = false;
                return NULL;
        }
        jadd(o, "cache", json_object_new_string(c->cache), ok);
        jadd(o, "site", json_object_new_string(c->site), ok);
        jadd(o, "count_first", json_object_new_uint64(c->count_first), ok);
        jadd(o, "count_last", json_object_new_uint64(c->count_last), ok);
        jadd(o, "delta", json_object_new_int64(c->delta), ok);
        jadd(o, "age_min", json_object_new_uint64(c->age_min), ok);
        jadd(o, "age_avg", json_object_new_uint64(c->age_avg), ok);
        jadd(o, "age_max", json_object_new_uint64(c->age_max), ok);
        jadd(o, "pids", json_object_new_string(c->pids), ok);
        jadd(o, "cpus", json_object_new_string(c->cpus), ok);
        jadd(o, "frames", jstrv(&c->frames, ok), ok);
        return o;
}

static json_object *json_stack(const struct report_stack *s, bool *ok) {
        json_object *o = json_object_new_object();
        if (!o) {
                *ok = false;
                return NULL;
        }
        jadd(o, "frames", jstrv(&s->frames, ok), ok);
        jadd(o, "allocs", json_object_new_uint64(s->allocs), ok);
        jadd(o, "frees", json_object_new_uint64(s->frees), ok);
        jadd(o, "untraced_frees", json_object_new_uint64(s->untraced_frees), ok);
        jadd(o, "outstanding", json_object_new_uint64(s->outstanding), ok);
        jadd(o, "settled", json_object_new_uint64(s->settled), ok);
        jadd(o, "unexplained", json_object_new_uint64(s->unexplained), ok);
        if (s->freed_unseen)
                jadd(o, "freed_unseen", json_object_new_boolean(true), ok);
        jadd(o, "confidence", json_object_new_string(report_confidence_name(s->confidence)), ok);
        jadd(o, "oldest_age_s", json_object_new_double(s->oldest_age_s), ok);
        jadd(o, "bytes", json_object_new_uint64(s->bytes), ok);
        return o;
}

/* A json-c value that may be unknown: null then. */
static json_object *jint_or_null(bool known, int64_t v) {
        return known ? json_object_new_int64(v) : NULL;
}

static void jadd_nullable(json_object *o, const char *key, json_object *v, bool *ok) {
        if (json_object_object_add(o, key, v) < 0) {
                json_object_put(v);
                *ok = false;
        }
}

static json_object *json_attribution(const struct report_attribution *a, bool *ok) {
        json_object *o = json_object_new_object();
        if (!o) {
                *ok = false;
                return NULL;
        }
        jadd_nullable(o, "cache_delta", jint_or_null(a->cache_known, a->cache_delta), ok);
        jadd(o, "cache_first", json_object_new_uint64(a->cache_first), ok);
        jadd(o, "cache_last", json_object_new_uint64(a->cache_last), ok);
        jadd(o, "cache_samples", json_object_new_uint64(a->cache_samples), ok);
        jadd(o, "objperslab", json_object_new_uint64(a->objperslab), ok);
        jadd(o, "traced_allocs", json_object_new_uint64(a->allocs), ok);
        jadd(o, "traced_frees", json_object_new_uint64(a->frees), ok);
        jadd(o, "traced_net", json_object_new_int64(a->traced_net), ok);
        jadd_nullable(o, "explained", a->explained_known ? json_object_new_double(a->explained) : NULL, ok);
        jadd(o, "untraced_frees", json_object_new_uint64(a->untraced_frees), ok);
        jadd(o, "unexplained", json_object_new_uint64(a->unexplained), ok);
        if (a->bulk_known) {
                json_object *b = json_object_new_object();
                if (b) {
                        jadd(b, "method", json_object_new_string(a->bulk_traced ? "kprobe" : "inferred"), ok);
                        if (!a->bulk_traced)
                                jadd(b, "reason", json_object_new_string(a->bulk_reason), ok);
                        jadd(b, "calls", json_object_new_uint64(a->bulk_calls), ok);
                        jadd(b, "frees", json_object_new_uint64(a->bulk_frees), ok);
                        jadd(b, "uncovered", json_object_new_uint64(a->bulk_uncovered), ok);
                }
                jadd(o, "bulk_frees", b, ok);
        }
        jadd(o, "frees_of_unknown", json_object_new_uint64(a->frees_of_unknown), ok);
        jadd(o, "stackless_events", json_object_new_uint64(a->stackless_events), ok);
        jadd(o, "lost_events", json_object_new_uint64(a->lost_events), ok);
        jadd(o, "drain_s", json_object_new_double((double) a->drain_usec / 1e6), ok);
        jadd(o, "drain_frees", json_object_new_uint64(a->drain_frees), ok);
        jadd(o, "drain_allocs", json_object_new_uint64(a->drain_allocs), ok);
        jadd(o, "settle_s", json_object_new_double((double) a->settle_usec / 1e6), ok);
        jadd(o, "top_settled", json_object_new_uint64(a->top_settled), ok);
        jadd(o, "growth_stopped", json_object_new_boolean(a->growth_stopped), ok);
        jadd(o, "top_margin", json_object_new_uint64(a->top_margin), ok);
        jadd(o, "loss_ambiguous", json_object_new_boolean(a->loss_ambiguous), ok);
        jadd(o, "confidence", json_object_new_string(report_confidence_name(a->confidence)), ok);
        jadd(o, "verdict", json_object_new_string(a->verdict), ok);
        jadd(o, "notes", jstrv(&a->notes, ok), ok);
        return o;
}

static json_object *json_overhead(const struct report_overhead *v, bool *ok) {
        json_object *o = json_object_new_object();
        if (!o) {
                *ok = false;
                return NULL;
        }
        jadd(o, "stacks", json_object_new_string(v->stacks), ok);
        jadd(o, "records", json_object_new_uint64(v->records), ok);
        jadd(o, "bytes", json_object_new_uint64(v->bytes), ok);
        jadd(o, "events", json_object_new_uint64(v->events), ok);
        jadd(o, "stacks_recorded", json_object_new_uint64(v->stacks_recorded), ok);
        jadd(o, "daemon_cpu_s", json_object_new_double((double) v->daemon_cpu_usec / 1e6), ok);
        jadd(o, "traced_s", json_object_new_double((double) v->traced_usec / 1e6), ok);
        jadd(o, "daemon_cpu_share",
             json_object_new_double(v->traced_usec ? (double) v->daemon_cpu_usec / (double) v->traced_usec : 0.0), ok);
        /* Not measurable from inside the capture: said, not guessed. */
        jadd_nullable(o, "workload_slowdown", NULL, ok);
        return o;
}

int report_to_json(const struct report *r, json_object **ret) {
        json_object *o, *trig, *cs, *alloc, *freed, *stacks;
        char when[64], suspect[REPORT_NAME_MAX], top[REPORT_TOP_STACK_MAX];
        bool ok = true;

        o = json_object_new_object();
        if (!o)
                return -ENOMEM;
        jadd(o, "format_version", json_object_new_int(REPORT_FORMAT_VERSION), &ok);
        jadd(o, "id", json_object_new_string(r->id), &ok);
        jadd(o, "status", json_object_new_string(r->interrupted ? "interrupted" : "complete"), &ok);
        jadd(o, "cache", json_object_new_string(r->cache), &ok);
        jadd(o, "aliases", jstrv(&r->aliases, &ok), &ok);
        jadd(o, "kernel", json_object_new_string(r->kernel), &ok);

        trig = json_object_new_object();
        if (trig) {
                jadd(trig, "on_demand", json_object_new_boolean(r->trigger.on_demand), &ok);
                jadd(trig, "reason", json_object_new_string(r->trigger.reason), &ok);
                jadd(trig, "objects_per_min", json_object_new_double(r->trigger.objects_per_min), &ok);
                jadd(trig, "bytes_per_hour", json_object_new_double(r->trigger.bytes_per_hour), &ok);
                jadd(trig, "percent_per_hour", json_object_new_double(r->trigger.percent_per_hour), &ok);
                jadd(trig, "active_objs", json_object_new_uint64(r->trigger.active_objs), &ok);
                jadd(trig, "window_s", json_object_new_double((double) r->trigger.window_usec / 1e6), &ok);
        }
        jadd(o, "trigger", trig, &ok);

        jadd(o, "methods", jstrv(&r->methods, &ok), &ok);
        jadd(o, "trace_filter", json_object_new_string(r->trace_filter), &ok);
        if (r->method_error[0])
                jadd(o, "method_error", json_object_new_string(r->method_error), &ok);
        if (r->overhead.known)
                jadd(o, "overhead", json_overhead(&r->overhead, &ok), &ok);
        format_time(r->start_realtime_usec, when, sizeof when);
        jadd(o, "start", json_object_new_string(when), &ok);
        jadd(o, "start_usec", json_object_new_uint64(r->start_realtime_usec), &ok);
        jadd(o, "duration_s", json_object_new_double((double) r->duration_usec / 1e6), &ok);
        jadd(o, "stop_reason", json_object_new_string(r->stop_reason), &ok);
        jadd(o, "events", json_object_new_uint64(r->events), &ok);
        jadd(o, "lost_events", json_object_new_uint64(r->lost_events), &ok);
        jadd(o, "unmatched_frees", json_object_new_uint64(r->unmatched_frees), &ok);
        jadd(o, "truncated", json_object_new_boolean(r->truncated), &ok);
        if (r->truncated)
                jadd(o, "truncated_reason", json_object_new_string(r->truncated_reason), &ok);

        jadd(o, "attribution", json_attribution(&r->attribution, &ok), &ok);
        const char *unreliable[8];
        size_t n_unreliable = report_unreliable_figures(r, unreliable, 8);
        json_object *ua = json_object_new_array();
        for (size_t i = 0; ua && i < n_unreliable; i++)
                json_object_array_add(ua, json_object_new_string(unreliable[i]));
        jadd(o, "unreliable", ua, &ok);
        if (r->culprit[0]) {
                json_object *cu = json_object_new_object();
                if (cu) {
                        jadd(cu, "function", json_object_new_string(r->culprit), &ok);
                        jadd(cu, "frame_index", json_object_new_uint64(r->culprit_frame), &ok);
                        jadd(cu, "reason", json_object_new_string(r->culprit_reason), &ok);
                }
                jadd(o, "culprit", cu, &ok);
        }
        json_object *paths = json_object_new_array();
        for (size_t i = 0; paths && i < r->n_paths; i++) {
                const struct report_path *p = &r->paths[i];
                json_object *po = json_object_new_object();
                if (!po) {
                        ok = false;
                        break;
                }
                jadd(po, "frames", jstrv(&p->frames, &ok), &ok);
                jadd(po, "boundary", json_object_new_string(p->boundary), &ok);
                jadd(po, "stacks", json_object_new_uint64(p->n_stacks), &ok);
                jadd(po, "allocs", json_object_new_uint64(p->allocs), &ok);
                jadd(po, "frees", json_object_new_uint64(p->frees), &ok);
                jadd(po, "outstanding", json_object_new_uint64(p->outstanding), &ok);
                jadd(po, "settled", json_object_new_uint64(p->settled), &ok);
                jadd(po, "variants", jstrv(&p->variants, &ok), &ok);
                jadd(po, "n_variants", json_object_new_uint64(p->n_variants), &ok);
                jappend(paths, po, &ok);
        }
        jadd(o, "paths", paths, &ok);
        if (r->leak_group[0]) {
                json_object *g = json_object_new_object();
                if (g) {
                        jadd(g, "id", json_object_new_string(r->leak_group), &ok);
                        jadd(g, "caches", json_object_new_string(r->leak_group_name), &ok);
                        jadd(g, "members", jstrv(&r->leak_group_members, &ok), &ok);
                }
                jadd(o, "leak_group", g, &ok);
        }
        if (r->n_stacks > 0) {
                jadd(o, "suspect", json_object_new_string(report_named_suspect(r, suspect, sizeof suspect)), &ok);
                jadd(o, "top_stack", json_object_new_string(report_join_frames(&r->stacks[0], ";", top, sizeof top)), &ok);
        } else {
                jadd(o, "suspect", json_object_new_string(""), &ok);
                jadd(o, "top_stack", json_object_new_string(""), &ok);
        }

        cs = json_object_new_object();
        alloc = json_object_new_array();
        freed = json_object_new_array();
        if (cs && alloc && freed) {
                for (size_t i = 0; i < r->n_call_sites; i++) {
                        const struct report_callsite *c = &r->call_sites[i];
                        jappend(c->free_site ? freed : alloc, json_callsite(c, &ok), &ok);
                }
                jadd(cs, "snapshots", json_object_new_uint64(r->callsite_snapshots), &ok);
                jadd(cs, "interval_s", json_object_new_double((double) r->callsite_interval_usec / 1e6), &ok);
                jadd(cs, "age_unit", json_object_new_string("jiffies"), &ok);
                jadd(cs, "alloc", alloc, &ok);
                jadd(cs, "free", freed, &ok);
                alloc = freed = NULL;
        } else
                ok = false;
        json_object_put(alloc);
        json_object_put(freed);
        jadd(o, "call_sites", cs, &ok);

        stacks = json_object_new_array_ext((int) (r->n_stacks < 16 ? 16 : r->n_stacks));
        if (stacks)
                for (size_t i = 0; i < r->n_stacks; i++)
                        jappend(stacks, json_stack(&r->stacks[i], &ok), &ok);
        jadd(o, "stacks", stacks, &ok);
        jadd(o, "advice", jstrv(&r->advice, &ok), &ok);
        jadd(o, "warnings", jstrv(&r->warnings, &ok), &ok);

        if (!ok) {
                json_object_put(o);
                return -ENOMEM;
        }
        *ret = o;
        return 0;
}

/* @j if frame @j of path @p is the culprit's function, else SIZE_MAX. */
static size_t frames_culprit_index(const struct report *r, const struct report_path *p, size_t j) {
        size_t len;
        const char *fn = frames_function(p->frames.v[j], &len);
        return strlen(r->culprit) == len && memcmp(fn, r->culprit, len) == 0 ? j : SIZE_MAX;
}

static void text_strv_line(FILE *f, const char *label, const struct report_strv *v) {
        fprintf(f, "%-12s", label);
        if (v->n == 0)
                fputs("-", f);
        for (size_t i = 0; i < v->n; i++)
                fprintf(f, "%s%s", i ? ", " : "", v->v[i]);
        fputc('\n', f);
}

static void text_callsites(FILE *f, const struct report *r, bool free_sites) {
        bool any = false;

        for (size_t i = 0; i < r->n_call_sites; i++) {
                const struct report_callsite *c = &r->call_sites[i];
                if (c->free_site != free_sites)
                        continue;
                if (!any)
                        fprintf(f, "%10s %10s %10s  %-40s %s\n", "growth", "first", "last", "site", "age min/avg/max");
                any = true;
                fprintf(f, "%+10" PRId64 " %10" PRIu64 " %10" PRIu64 "  %-40s %" PRIu64 "/%" PRIu64 "/%" PRIu64 "%s%s%s\n",
                        c->delta, c->count_first, c->count_last, c->site, c->age_min, c->age_avg, c->age_max,
                        c->cache[0] && strcmp(c->cache, r->cache) != 0 ? "  (" : "",
                        c->cache[0] && strcmp(c->cache, r->cache) != 0 ? c->cache : "",
                        c->cache[0] && strcmp(c->cache, r->cache) != 0 ? ")" : "");
                for (size_t j = 0; j < c->frames.n; j++)
                        fprintf(f, "%34s%s\n", "", c->frames.v[j]);
        }
        if (!any)
                fputs("  (none)\n", f);
}

/* The ledger, first in report.txt: how far to trust what follows. */
static void text_attribution(FILE *f, const struct report *r) {
        const struct report_attribution *a = &r->attribution;

        fprintf(f, "%-12s%s\n", "verdict:", a->verdict[0] ? a->verdict : "-");
        if (a->cache_known)
                fprintf(f, "%-12scache %+" PRId64 " objects (%" PRIu64 " -> %" PRIu64 ", %" PRIu64 " samples)",
                        "ledger:", a->cache_delta, a->cache_first, a->cache_last, a->cache_samples);
        else
                fprintf(f, "%-12scache growth unknown (%" PRIu64 " samples)", "ledger:", a->cache_samples);
        fprintf(f, "; traced net %+" PRId64 " (%" PRIu64 " allocs - %" PRIu64 " frees)", a->traced_net, a->allocs,
                a->frees);
        if (a->explained_known)
                fprintf(f, "; explained %.0f %%", a->explained * 100);
        fputc('\n', f);
        fprintf(f, "%-12suntraced frees %" PRIu64 ", frees of older objects %" PRIu64 ", events without a stack %" PRIu64
                ", lost %" PRIu64 "\n",
                "", a->untraced_frees, a->frees_of_unknown, a->stackless_events, a->lost_events);
        if (a->bulk_known && a->bulk_traced)
                fprintf(f, "%-12sbulk frees traced (kprobe): %" PRIu64 " calls freed %" PRIu64 " objects, %" PRIu64
                        " not covered\n",
                        "", a->bulk_calls, a->bulk_frees, a->bulk_uncovered);
        else if (a->bulk_known)
                fprintf(f, "%-12sbulk frees not traced (%s): counted as untraced frees when the pointer comes back\n",
                        "", a->bulk_reason);
        fprintf(f, "%-12sdrain %.1f s (%" PRIu64 " frees, %" PRIu64 " allocations not counted); settle %.1f s: top stack "
                "%" PRIu64 " settled\n",
                "", (double) a->drain_usec / 1e6, a->drain_frees, a->drain_allocs, (double) a->settle_usec / 1e6,
                a->top_settled);
        fprintf(f, "%-12s%s\n", "confidence:", report_confidence_name(a->confidence));
        for (size_t i = 0; i < a->notes.n; i++)
                fprintf(f, "%-12s- %s\n", "", a->notes.v[i]);
        fputc('\n', f);
}

int report_to_text(const struct report *r, char **ret_text, size_t *ret_len) {
        char when[64], suspect[REPORT_NAME_MAX];
        char *text = NULL;
        size_t len = 0;
        FILE *f;

        f = open_memstream(&text, &len);
        if (!f)
                return -ENOMEM;

        format_time(r->start_realtime_usec, when, sizeof when);
        fprintf(f, "slabwatch capture %s\n", r->id);
        if (r->interrupted)
                fprintf(f, "%-12sinterrupted: the daemon stopped before this capture finished; this is its\n"
                           "%-12slast checkpoint, %.1f s in (the kernel was restored at the next start)\n",
                        "status:", "", (double) r->duration_usec / 1e6);
        fputc('\n', f);
        text_attribution(f, r);
        fprintf(f, "%-12s%s\n", "cache:", r->cache);
        if (r->leak_group[0]) {
                fprintf(f, "%-12s%s: %s\n", "leak:", r->leak_group, r->leak_group_name);
                for (size_t i = 0; i < r->leak_group_members.n; i++)
                        fprintf(f, "%-12s  %s\n", "", r->leak_group_members.v[i]);
        }
        text_strv_line(f, "aliases:", &r->aliases);
        fprintf(f, "%-12s%s\n", "kernel:", r->kernel);
        if (r->trigger.on_demand)
                fprintf(f, "%-12son demand%s%s\n", "trigger:", r->trigger.reason[0] ? ": " : "", r->trigger.reason);
        else
                fprintf(f, "%-12s%s (%.1f objects/min, %.0f bytes/h, %.1f %%/h, %" PRIu64 " active objects, window %.0f s)\n",
                        "trigger:", r->trigger.reason, r->trigger.objects_per_min, r->trigger.bytes_per_hour,
                        r->trigger.percent_per_hour, r->trigger.active_objs, (double) r->trigger.window_usec / 1e6);
        text_strv_line(f, "methods:", &r->methods);
        if (r->trace_filter[0])
                fprintf(f, "%-12s%s\n", "filter:", r->trace_filter);
        if (r->method_error[0])
                fprintf(f, "%-12s%s\n", "not traced:", r->method_error);
        if (r->overhead.known)
                fprintf(f, "%-12sstacks on %s: %" PRIu64 " events, %" PRIu64 " stacks; slabwatchd %.2f s CPU in %.1f s (%.1f %%)\n",
                        "overhead:", r->overhead.stacks, r->overhead.events, r->overhead.stacks_recorded,
                        (double) r->overhead.daemon_cpu_usec / 1e6, (double) r->overhead.traced_usec / 1e6,
                        r->overhead.traced_usec ? 100.0 * (double) r->overhead.daemon_cpu_usec /
                                                          (double) r->overhead.traced_usec
                                                : 0.0);
        fprintf(f, "%-12s%s, ran %.1f s, stopped by %s\n", "started:", when, (double) r->duration_usec / 1e6,
                r->stop_reason[0] ? r->stop_reason : "?");
        fprintf(f, "%-12s%" PRIu64 " traced, %" PRIu64 " lost, %" PRIu64 " frees of objects older than the capture\n",
                "events:", r->events, r->lost_events, r->unmatched_frees);
        if (r->n_stacks > 0 && r->attribution.loss_ambiguous)
                fprintf(f, "%-12snone named: %" PRIu64 " events were lost, no fewer than the %" PRIu64
                           " objects that set the top stack apart\n",
                        "suspect:", r->lost_events, r->attribution.top_margin);
        else if (r->n_stacks > 0 && !r->attribution.growth_stopped) {
                fprintf(f, "%-12s%s (top stack: %" PRIu64 " outstanding, %" PRIu64 " settled, confidence %s)\n",
                        "suspect:", report_named_suspect(r, suspect, sizeof suspect), r->stacks[0].outstanding,
                        r->stacks[0].settled, report_confidence_name(r->stacks[0].confidence));
                if (r->culprit[0])
                        fprintf(f, "%-12s%s\n", "why:", r->culprit_reason);
        }
        else if (r->n_stacks > 0)
                fprintf(f, "%-12snone named: the growth had stopped before the capture\n", "suspect:");
        if (r->lost_events > 0) {
                const char *unreliable[8];
                size_t n = report_unreliable_figures(r, unreliable, 8);
                fprintf(f, "\nWARNING: %" PRIu64 " events were lost; outstanding counts below may include "
                        "objects whose free was not seen.\n", r->lost_events);
                fprintf(f, "%-12s", "unreliable:");
                for (size_t i = 0; i < n; i++)
                        fprintf(f, "%s%s", i ? ", " : "", unreliable[i]);
                fputs(" (marked ~ below); allocs and frees are exact counts of what was traced\n", f);
        }
        if (r->truncated)
                fprintf(f, "\nWARNING: aggregation was cut short: %s\n", r->truncated_reason);

        if (r->callsite_snapshots > 0) {
                fprintf(f, "\nAllocation call sites (%u snapshots, growth first):\n", r->callsite_snapshots);
                text_callsites(f, r, false);
                fputs("\nFree call sites:\n", f);
                text_callsites(f, r, true);
        } else
                fputs("\nCall sites: not recorded for this cache (see below)\n", f);

        if (r->n_paths > 0 && r->n_paths < r->n_stacks) {
                fprintf(f, "\nPaths (stacks that differ only past an entry boundary, most outstanding first):\n");
                for (size_t i = 0; i < r->n_paths; i++) {
                        const struct report_path *p = &r->paths[i];
                        fprintf(f, "\n@%zu  outstanding %" PRIu64 "  allocs %" PRIu64 "  frees %" PRIu64
                                "  %zu stacks%s%s\n",
                                i + 1, p->outstanding, p->allocs, p->frees, p->n_stacks, p->boundary[0] ? ", up to " : "",
                                p->boundary);
                        for (size_t j = 0; j < p->frames.n; j++)
                                fprintf(f, "    %s%s\n", p->frames.v[j],
                                        i == 0 && r->culprit[0] && j == frames_culprit_index(r, p, j) ? "   <== culprit" : "");
                        for (size_t j = 0; j < p->variants.n; j++)
                                fprintf(f, "      variant: %s\n", p->variants.v[j]);
                        if (p->n_variants > p->variants.n)
                                fprintf(f, "      ... %zu more variants\n", p->n_variants - p->variants.n);
                }
        }

        fprintf(f, "\nStacks (%zu distinct, most outstanding first, none omitted):\n", r->n_stacks);
        /* Under loss the figures a lost free can inflate carry a "~". */
        const char *lossy = r->lost_events > 0 ? "~" : "";
        for (size_t i = 0; i < r->n_stacks; i++) {
                const struct report_stack *s = &r->stacks[i];
                fprintf(f, "\n#%zu  outstanding %s%" PRIu64 "  settled %s%" PRIu64 "  allocs %" PRIu64 "  frees %" PRIu64
                        "  bytes %s%" PRIu64 "  oldest %s%.1f s  confidence %s\n",
                        i + 1, lossy, s->outstanding, lossy, s->settled, s->allocs, s->frees, lossy, s->bytes, lossy,
                        s->oldest_age_s, report_confidence_name(s->confidence));
                if (s->freed_unseen)
                        fprintf(f, "    (its objects die without a traced free: %" PRIu64 " were seen allocated again; "
                                   "all %" PRIu64 " outstanding may be freed unseen, %s)\n",
                                s->untraced_frees, s->outstanding,
                                r->attribution.cache_known && r->attribution.cache_delta > 0 &&
                                                (uint64_t) r->attribution.cache_delta >= s->outstanding
                                        ? "though the cache grew enough to hold them"
                                        : "and the cache did not grow enough to hold them");
                else if (s->unexplained > 0)
                        fprintf(f, "    (up to %" PRIu64 " of these are more than the cache grew: freed unseen)\n",
                                s->unexplained);
                for (size_t j = 0; j < s->frames.n; j++)
                        fprintf(f, "    %s%s\n", s->frames.v[j],
                                i == 0 && r->culprit[0] && j == r->culprit_frame ? "   <== culprit" : "");
        }
        if (r->n_stacks == 0)
                fputs("  (none)\n", f);

        if (r->advice.n > 0) {
                fputs("\nTo get more evidence:\n", f);
                for (size_t i = 0; i < r->advice.n; i++)
                        fprintf(f, "  - %s\n", r->advice.v[i]);
        }
        if (r->warnings.n > 0) {
                fputs("\nWarnings:\n", f);
                for (size_t i = 0; i < r->warnings.n; i++)
                        fprintf(f, "  - %s\n", r->warnings.v[i]);
        }

        if (fclose(f) != 0 || !text) {
                free(text);
                return -ENOMEM;
        }
        *ret_text = text;
        if (ret_len)
                *ret_len = len;
        return 0;
}
