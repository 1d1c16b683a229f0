#include "report/assemble.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

void report_add_pairing(struct report *r, const struct pairing_result *res) {
        for (size_t i = 0; i < res->n_stacks; i++) {
                const struct pairing_stack *s = &res->stacks[i];
                struct report_stack *rs = report_add_stack(r, (const char *const *) s->frames, s->n_frames);
                if (!rs) {
                        (void) report_strv_addf(&r->warnings, "stacks: only %zu of %zu could be kept in the report", i,
                                                res->n_stacks);
                        break;
                }
                rs->allocs = s->allocs;
                rs->frees = s->frees;
                rs->untraced_frees = s->untraced_frees;
                rs->outstanding = s->outstanding;
                rs->settled = s->settled;
                rs->oldest_age_s = s->oldest_age_s;
                rs->bytes = s->bytes_outstanding;
        }
        r->events += res->events;
        r->lost_events += res->lost_events;
        r->unmatched_frees += res->unmatched_frees;
        r->attribution.allocs += res->allocs;
        r->attribution.frees += res->window_frees;
        r->attribution.untraced_frees += res->reallocs_unfreed;
        r->attribution.stackless_events += res->stackless_events;
        r->attribution.drain_frees += res->drain_frees;
        r->attribution.drain_allocs += res->drain_allocs;
        if (res->truncated) {
                r->truncated = true;
                snprintf(r->truncated_reason, sizeof r->truncated_reason,
                         "the memory bound (capture.max_memory) refused events after %" PRIu64 " (%" PRIu64
                         " dropped)",
                         res->truncated_at_events, res->dropped_events);
        }
        if (res->lost_events > 0)
                (void) report_strv_addf(&r->warnings,
                                        "%" PRIu64 " events were lost: outstanding counts may include objects whose "
                                        "free was not seen",
                                        res->lost_events);
        /* A pointer handed out again while we still count it as live means
         * its free had no tracepoint: kfree_rcu() and bulk frees do not fire
         * kfree/kmem_cache_free. Such objects inflate "outstanding". */
        if (res->reallocs_unfreed > 0 && res->reallocs_unfreed * REPORT_UNTRACED_FREES_WARN >= res->allocs)
                (void) report_strv_addf(&r->warnings,
                                        "%" PRIu64 " of %" PRIu64 " allocations reused a pointer whose free was never "
                                        "traced (kfree_rcu or bulk frees have no tracepoint): outstanding counts of "
                                        "the stacks that free that way are overstated; compare stacks by their "
                                        "allocations and by the call-site counts",
                                        res->reallocs_unfreed, res->allocs);
}

static void add_callsite(struct report *r, const struct callseries_source *src, const struct callsites_delta *delta,
                         bool *ret_full) {
        const struct callsites_site *site = delta->new_site ? delta->new_site : delta->old_site;
        struct report_callsite *c = report_add_callsite(r);

        if (!c) {
                (void) report_strv_addf(&r->warnings, "call sites: more than %u, the rest left out",
                                        REPORT_CALLSITES_MAX);
                *ret_full = true;
                return;
        }
        c->free_site = src->free_site;
        snprintf(c->cache, sizeof c->cache, "%s", src->cache);
        callsites_format_site(site, c->site, sizeof c->site);
        c->count_first = delta->old_count;
        c->count_last = delta->new_count;
        c->delta = delta->delta;
        if (site->has_age) {
                c->age_min = site->age_min;
                c->age_avg = site->age_avg;
                c->age_max = site->age_max;
        }
        if (site->has_pid) {
                if (site->pid_min == site->pid_max)
                        snprintf(c->pids, sizeof c->pids, "%" PRIu64, site->pid_min);
                else
                        snprintf(c->pids, sizeof c->pids, "%" PRIu64 "-%" PRIu64, site->pid_min, site->pid_max);
        }
        snprintf(c->cpus, sizeof c->cpus, "%s", site->cpus ? site->cpus : "");
        for (size_t k = 0; k < site->n_frames && k < REPORT_FRAMES_MAX; k++) {
                char frame[REPORT_NAME_MAX];
                callseries_format_frame(&site->frames[k], frame, sizeof frame);
                if (report_strv_add(&c->frames, frame) < 0)
                        break;
        }
}

void report_assemble(struct report *r, const struct callseries *series, const char *stop_reason,
                     uint64_t duration_usec) {
        for (size_t i = 0; series && i < series->n_sources; i++) {
                struct callsites_diff d = {};
                bool full = false;
                int k = callseries_diff(series, i, &d);

                if (k == -ENOENT)
                        continue;
                if (k < 0) {
                        (void) report_strv_addf(&r->warnings, "call sites: out of memory diffing %s/%s",
                                                series->sources[i].cache, series->sources[i].file);
                        continue;
                }
                for (size_t j = 0; j < d.n && !full; j++)
                        add_callsite(r, &series->sources[i], &d.deltas[j], &full);
                callsites_diff_done(&d);
        }
        r->duration_usec = duration_usec;
        snprintf(r->stop_reason, sizeof r->stop_reason, "%s", stop_reason);
        report_rank(r);
        if (report_find_culprit(r) < 0)
                (void) report_strv_add(&r->warnings, "culprit: out of memory grouping the stacks into paths");
        if (strcmp(stop_reason, "cache vanished") == 0)
                (void) report_strv_addf(&r->warnings,
                                        "the cache disappeared during the capture (its module was unloaded?)");
        report_attribute(r);
}

const char *report_join_methods(const struct report *r, char *buf, size_t size) {
        size_t pos = 0;

        buf[0] = '\0';
        for (size_t i = 0; i < r->methods.n && pos + 1 < size; i++) {
                int n = snprintf(buf + pos, size - pos, "%s%s", i ? "+" : "", r->methods.v[i]);
                if (n < 0)
                        break;
                pos += (size_t) n;
        }
        if (!buf[0])
                snprintf(buf, size, "none");
        return buf;
}

/* Name the suspected leak when it spans more than this cache. */
static void outcome_add_group(const struct report *r, struct report_outcome *o) {
        size_t n = strlen(o->message);
        if (r->leak_group[0] && strchr(r->leak_group_name, '+'))
                snprintf(o->message + n, sizeof o->message - n, " [suspected leak %s: %s]", r->leak_group,
                         r->leak_group_name);
}

void report_outcome_of(const struct report *r, const char *cache, int capture_error, struct report_outcome *ret) {
        struct report_outcome *o = ret;

        memset(o, 0, sizeof *o);
        report_join_methods(r, o->methods, sizeof o->methods);
        for (size_t i = 0; i < r->n_call_sites; i++)
                if (!r->call_sites[i].free_site) {
                        snprintf(o->top_call_site, sizeof o->top_call_site, "%s", r->call_sites[i].site);
                        break;
                }
        if (r->n_stacks > 0) {
                report_join_frames(&r->stacks[0], ";", o->top_stack, sizeof o->top_stack);
                /* Growth that stopped before the capture leaves no evidence
                 * on any stack: naming one would mislead. */
                report_named_suspect(r, o->suspect, sizeof o->suspect);
                o->top_outstanding = r->stacks[0].outstanding;
        }
        snprintf(o->confidence, sizeof o->confidence, "%s", report_confidence_name(r->attribution.confidence));

        if (capture_error < 0 && r->method_error[0])
                snprintf(o->message, sizeof o->message, "No capture of %s could start: %s", cache, r->method_error);
        else if (capture_error < 0)
                snprintf(o->message, sizeof o->message, "No capture of %s is possible on this kernel%s%s", cache,
                         r->advice.n ? ": " : "", r->advice.n ? r->advice.v[0] : "");
        else if (r->attribution.growth_stopped || r->attribution.loss_ambiguous)
                snprintf(o->message, sizeof o->message, "Capture of %s: %s", cache, r->attribution.verdict);
        else if (r->n_stacks > 0 && o->suspect[0])
                snprintf(o->message, sizeof o->message,
                         "Capture of %s: %" PRIu64 " objects still outstanding from %s (%" PRIu64
                         " settled, confidence %s; top of %zu stacks, %" PRIu64 " events, %" PRIu64 " lost)%s",
                         cache, o->top_outstanding, o->suspect, r->stacks[0].settled, o->confidence, r->n_stacks,
                         r->events, r->lost_events, r->lost_events ? " — counts may be inflated by lost frees" : "");
        else if (o->top_call_site[0] && r->call_sites[0].delta > 0)
                snprintf(o->message, sizeof o->message,
                         "Capture of %s: call site %s grows most (%+" PRId64 ", %" PRIu64 " objects)", cache,
                         o->top_call_site, r->call_sites[0].delta, r->call_sites[0].count_last);
        else if (o->top_call_site[0])
                snprintf(o->message, sizeof o->message,
                         "Capture of %s: call site %s holds the most objects (%" PRIu64 "), none grew during the "
                         "capture",
                         cache, o->top_call_site, r->call_sites[0].count_last);
        else
                snprintf(o->message, sizeof o->message, "Capture of %s: no allocation was seen (%s)", cache,
                         r->stop_reason);
        outcome_add_group(r, o);
}

void report_outcome_bundle_failed(struct report_outcome *o, const char *path, int error) {
        size_t n = strlen(o->message);
        snprintf(o->message + n, sizeof o->message - n, "; the bundle could not be written (%s: %s)", path,
                 strerror(error < 0 ? -error : error));
}

int report_summary_json(const struct report *r, json_object **ret) {
        char methods[REPORT_TEXT_MAX], suspect[REPORT_NAME_MAX];
        json_object *o = json_object_new_object();

        if (!o)
                return -ENOMEM;
        json_object_object_add(o, "cache", json_object_new_string(r->cache));
        json_object_object_add(o, "status", json_object_new_string(r->interrupted ? "interrupted" : "complete"));
        json_object_object_add(o, "start_usec", json_object_new_uint64(r->start_realtime_usec));
        json_object_object_add(o, "method", json_object_new_string(report_join_methods(r, methods, sizeof methods)));
        json_object_object_add(o, "stop_reason", json_object_new_string(r->stop_reason));
        json_object_object_add(o, "lost_events", json_object_new_uint64(r->lost_events));
        json_object_object_add(o, "stacks", json_object_new_uint64(r->n_stacks));
        if (r->leak_group[0])
                json_object_object_add(o, "leak", json_object_new_string(r->leak_group_name));
        json_object_object_add(o, "confidence",
                               json_object_new_string(report_confidence_name(r->attribution.confidence)));
        json_object_object_add(o, "growth_stopped", json_object_new_boolean(r->attribution.growth_stopped));
        if (r->n_stacks > 0) {
                json_object_object_add(o, "suspect",
                                       json_object_new_string(report_named_suspect(r, suspect, sizeof suspect)));
                json_object_object_add(o, "top_outstanding", json_object_new_uint64(r->stacks[0].outstanding));
        }
        *ret = o;
        return 0;
}
