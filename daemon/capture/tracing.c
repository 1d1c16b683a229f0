#include "capture/tracing.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture/kmsgtracer.h"
#include "capture/tracer.h"
#include "core/readfile.h"
#include "report/assemble.h"

struct tracing {
        const struct config *config;
        uint64_t settle_usec;
        struct tracer *tracer;
        struct kmsgtracer *kmsg;
};

/* Mount tracefs through the manager's ledger if it is not there and the
 * config allows it; false (with advice or a warning) when it stays absent. */
static bool ensure_tracefs(const struct tracing_env *env, struct report *rep) {
        const struct config *c = env->config;
        int r;

        if (env->probe->tracefs_mounted)
                return true;
        if (!env->probe->tracefs_mountable) {
                (void) report_strv_addf(&rep->advice,
                                        "tracefs is not available at %s: with it (CONFIG_FTRACE), every "
                                        "allocation's stack is traced and paired with its free",
                                        c->paths.tracefs);
                return false;
        }
        if (!c->capture.mount_tracefs) {
                (void) report_strv_addf(&rep->advice,
                                        "mount tracefs (mount -t tracefs nodev %s) or set "
                                        "capture.mount_tracefs: true to trace stacks",
                                        c->paths.tracefs);
                return false;
        }
        r = kchange_apply(env->mounts, KCHANGE_MOUNT_TRACEFS, c->paths.tracefs, NULL);
        if (r < 0) {
                (void) report_strv_addf(&rep->warnings, "tracing: cannot mount tracefs at %s: %s", c->paths.tracefs,
                                        strerror(-r));
                return false;
        }
        /* What the kernel offers there now. */
        (void) probe_run(c, env->probe);
        return true;
}

static struct tracer *start_tracer(const struct tracing_env *env, const struct identity *id, struct report *rep) {
        const struct config *c = env->config;
        const struct identity_member *first = &id->members[0];
        struct tracer_options o = {};
        struct tracer *t = NULL;
        int r;

        if (!ensure_tracefs(env, rep))
                return NULL;
        o.tracefs_dir = env->probe->tracefs_dir;
        o.proc_dir = c->paths.proc;
        o.cache_name = first->slabinfo_name;
        if (id->kmalloc_class) {
                o.filter = TRACER_FILTER_KMALLOC;
                /* bytes_alloc is the cache's slot size; without debug padding
                 * it is the class size. */
                o.object_size = first->slab_size ? first->slab_size : id->kmalloc.size;
        } else {
                o.filter = TRACER_FILTER_NAME;
                o.object_size = first->slab_size;
        }
        o.buffer_bytes_per_cpu = c->capture.buffer_bytes_per_cpu;
        o.max_events = c->capture.max_events;
        o.max_memory_bytes = c->capture.max_memory_bytes;
        o.settle_ns = env->settle_usec * 1000;
        o.bulk_frees = true;
        o.state_dir = c->paths.state_dir;
        o.raw_trace_max_bytes = c->capture.raw_trace_max_bytes;
        o.kernel_release = env->probe->release;

        r = tracer_start(&o, &t);
        if (r < 0) {
                char name[TRACER_INSTANCE_NAME_MAX + 1];
                (void) report_strv_addf(&rep->warnings, "tracing: cannot trace %s through tracefs at %s: %s",
                                        o.cache_name, o.tracefs_dir, strerror(-r));
                /* The kernel offers the method: say what is in its way, not
                 * what a reboot would give. */
                if (r == -EBUSY && tracer_instance_name_for(o.cache_name, name, sizeof name) >= 0)
                        snprintf(rep->method_error, sizeof rep->method_error,
                                 "the tracefs instance %.200s/instances/%s exists already: another slabwatchd or "
                                 "tracing tool is using it; stop that, or rmdir it if nothing is",
                                 o.tracefs_dir, name);
                else
                        snprintf(rep->method_error, sizeof rep->method_error,
                                 "tracing %.128s through tracefs at %.200s failed: %s", o.cache_name, o.tracefs_dir,
                                 strerror(-r));
                return NULL;
        }
        (void) report_strv_add(&rep->methods, "tracefs");
        snprintf(rep->trace_filter, sizeof rep->trace_filter, "%s", tracer_describe(t));
        return t;
}

/* The sysfs trace flag and the kernel log: before 5.9 when tracefs could
 * not be used, or whenever the flag is already on (slub_debug=T at boot:
 * the kernel logs every alloc and free of the cache anyway). */
static struct kmsgtracer *start_kmsg(const struct tracing_env *env, const struct identity *id, struct report *rep) {
        const struct config *c = env->config;
        const struct identity_member *first = &id->members[0];
        struct kmsgtracer_options o = {};
        struct kmsgtracer *k = NULL;
        struct probe_cache pc;
        int r;

        if (probe_cache(c, env->probe, first->slabinfo_name, &pc) < 0 || (!pc.trace_writable && !pc.trace_on))
                return NULL;
        if (!env->probe->dev_kmsg) {
                (void) report_strv_addf(&rep->warnings, "kmsg trace: %s is writable but %s cannot be read",
                                        first->slabinfo_name, c->paths.dev_kmsg);
                return NULL;
        }
        o.sys_dir = c->paths.sys;
        o.dev_kmsg = c->paths.dev_kmsg;
        o.state_dir = c->paths.state_dir;
        o.cache_name = first->slabinfo_name;
        o.object_size = first->object_size ? first->object_size : id->kmalloc.size;
        o.max_memory_bytes = c->capture.max_memory_bytes;
        o.trace_already_on = pc.trace_on;
        r = kmsgtracer_start(&o, &k);
        if (r < 0) {
                (void) report_strv_addf(&rep->warnings, "kmsg trace: cannot trace %s: %s", first->slabinfo_name,
                                        strerror(-r));
                return NULL;
        }
        (void) report_strv_add(&rep->methods, "kmsg-trace");
        snprintf(rep->trace_filter, sizeof rep->trace_filter,
                 "sysfs slab/%.128s/trace = 1%s, its TRACE records read from %.200s", first->slabinfo_name,
                 pc.trace_on ? " (already, from boot)" : "", c->paths.dev_kmsg);
        if (id->n_members > 1)
                (void) report_strv_addf(&rep->warnings,
                                        "kmsg trace: only %s is traced, the other %zu caches of the class are not",
                                        first->slabinfo_name, id->n_members - 1);
        return k;
}

int tracing_start(const struct tracing_env *env, const struct identity *id, struct report *rep,
                  struct tracing **ret) {
        struct tracing *t = calloc(1, sizeof *t);

        *ret = NULL;
        if (!t)
                return -ENOMEM;
        t->config = env->config;
        t->settle_usec = env->settle_usec;
        /* The kernel already logging the cache's TRACE records is the
         * cheapest source: tracing it again would only double the cost. */
        struct probe_cache pc;
        bool kmsg_first = probe_cache(env->config, env->probe, id->members[0].slabinfo_name, &pc) == 0 &&
                          pc.trace_on && env->probe->dev_kmsg;
        if (kmsg_first)
                t->kmsg = start_kmsg(env, id, rep);
        if (!t->kmsg)
                t->tracer = start_tracer(env, id, rep);
        if (!t->tracer && !t->kmsg && !kmsg_first)
                t->kmsg = start_kmsg(env, id, rep);
        if (!t->tracer && !t->kmsg) {
                free(t);
                return 0;
        }
        *ret = t;
        return 0;
}

int tracing_poll(struct tracing *t, struct report *rep, const char **ret_stop_reason) {
        int r;

        if (t->kmsg) {
                r = kmsgtracer_poll(t->kmsg);
                if (r < 0) {
                        (void) report_strv_addf(&rep->warnings, "kmsg trace: reading %s failed: %s",
                                                t->config->paths.dev_kmsg, strerror(-r));
                        *ret_stop_reason = "log read error";
                        return r;
                }
                return 0;
        }
        r = tracer_poll(t->tracer);
        if (r < 0) {
                (void) report_strv_addf(&rep->warnings, "tracing: reading the ring buffers failed: %s",
                                        strerror(-r));
                *ret_stop_reason = "trace read error";
                return r;
        }
        if (tracer_limit_reached(t->tracer)) {
                *ret_stop_reason = "event or memory limit";
                return -ENOBUFS;
        }
        return 0;
}

bool tracing_end_allocs(struct tracing *t) {
        return t && t->tracer && tracer_end_allocs(t->tracer);
}

void tracing_counts(const struct tracing *t, uint64_t *ret_events, uint64_t *ret_lost) {
        struct tracer_stats st = {};

        if (t && t->tracer)
                tracer_get_stats(t->tracer, &st);
        *ret_events = st.events;
        *ret_lost = st.lost_events;
}

int tracing_snapshot(struct tracing *t, size_t max_stacks, struct report *rep) {
        struct pairing_result *res = NULL;
        int r;

        if (!t || !t->tracer)
                return 0;
        r = tracer_snapshot(t->tracer, max_stacks, &res);
        if (r < 0)
                return r;
        report_add_pairing(rep, res);
        pairing_result_free(res);
        rep->attribution.settle_usec = t->settle_usec;
        return 0;
}

static void stop_tracer(struct tracing *t, struct report *rep, struct tracing_raw *ret_raw) {
        struct pairing_result *res = NULL;
        struct tracer_stats st;
        int r = tracer_stop(t->tracer, &res);

        tracer_get_stats(t->tracer, &st);
        if (r < 0)
                (void) report_strv_addf(&rep->warnings, "tracing: restoring tracefs reported: %s", strerror(-r));
        if (res) {
                report_add_pairing(rep, res);
                pairing_result_free(res);
        }
        rep->attribution.settle_usec = st.mono_clock ? t->settle_usec : 0;
        rep->attribution.bulk_known = true;
        rep->attribution.bulk_traced = st.bulk_traced;
        snprintf(rep->attribution.bulk_reason, sizeof rep->attribution.bulk_reason, "%.127s", st.bulk_reason);
        rep->attribution.bulk_calls = st.bulk_calls;
        rep->attribution.bulk_frees = st.bulk_frees;
        rep->attribution.bulk_uncovered = st.bulk_uncovered;
        rep->overhead = (struct report_overhead) {
                .known = true,
                .records = st.records,
                .bytes = st.bytes,
                .events = st.events,
                .stacks_recorded = st.stacks,
                .daemon_cpu_usec = st.cpu_ns / 1000,
                .traced_usec = st.wall_ns / 1000,
        };
        snprintf(rep->overhead.stacks, sizeof rep->overhead.stacks, "%s", tracer_stacks_name(st.stacks_mode));
        if (!st.lost_known)
                (void) report_strv_add(&rep->warnings,
                                       "tracing: per-CPU loss counters could not be read: losses unknown");
        if (st.limit_reached && !rep->truncated) {
                rep->truncated = true;
                snprintf(rep->truncated_reason, sizeof rep->truncated_reason,
                         "capture.max_events (%" PRIu64 ") reached", t->config->capture.max_events);
        }
        if (!st.alloc_filter_exact)
                (void) report_strv_add(&rep->warnings,
                                       "tracing: allocations were filtered by size, so other caches of the same "
                                       "object size may appear among the stacks");
        if (st.stacks_missing > 0)
                (void) report_strv_addf(&rep->warnings, "tracing: %" PRIu64 " events came without a stack",
                                        st.stacks_missing);
        if (ret_raw) {
                int k = tracer_take_raw_trace(t->tracer, &ret_raw->data, &ret_raw->len);
                if (k < 0)
                        (void) report_strv_addf(&rep->warnings, "tracing: raw.trace could not be kept: %s",
                                                strerror(-k));
                else if (st.raw_pages_dropped > 0)
                        (void) report_strv_addf(&rep->warnings,
                                                "tracing: raw.trace holds the first %" PRIu64 " pages; %" PRIu64
                                                " more were left out (capture.raw_trace_max)",
                                                st.raw_pages, st.raw_pages_dropped);
        }
        tracer_free(t->tracer);
}

static void stop_kmsg(struct tracing *t, struct report *rep) {
        struct pairing_result *res = NULL;
        struct kmsgtrace_stats st;
        int r = kmsgtracer_stop(t->kmsg, &res);

        kmsgtracer_get_stats(t->kmsg, &st);
        if (r < 0)
                (void) report_strv_addf(&rep->warnings, "kmsg trace: switching the trace flag off failed: %s",
                                        strerror(-r));
        if (res) {
                report_add_pairing(rep, res);
                pairing_result_free(res);
        }
        if (st.malformed > 0)
                (void) report_strv_addf(&rep->warnings, "kmsg trace: %" PRIu64 " malformed log lines skipped",
                                        st.malformed);
        if (st.stackless > 0)
                (void) report_strv_addf(&rep->warnings, "kmsg trace: %" PRIu64 " records came without a stack",
                                        st.stackless);
        if (st.refused > 0 && !rep->truncated) {
                rep->truncated = true;
                snprintf(rep->truncated_reason, sizeof rep->truncated_reason,
                         "the memory bound (capture.max_memory) refused %" PRIu64 " events", st.refused);
        }
        /* A trace flag that could not be switched off keeps its marker: the
         * next start tries again. */
        kmsgtracer_free(t->kmsg);
}

void tracing_stop(struct tracing *t, struct report *rep, struct tracing_raw *ret_raw) {
        if (!t)
                return;
        if (t->tracer)
                stop_tracer(t, rep, ret_raw);
        if (t->kmsg)
                stop_kmsg(t, rep);
        free(t);
}
