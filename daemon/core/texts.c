/* texts — what the daemon publishes: the metrics text (for the textfile and
 * the `metrics` command), the `status` document, the list of present caches
 * the answers are built from. The transports only carry these. */
#include "core/daemon.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capture/capture.h"
#include "capture/probe.h"
#include "control/proto.h"
#include "core/textfile.h"
#include "memory/verdict.h"

static void add(json_object *o, const char *key, json_object *v) {
        /* json-c only fails here on allocation failure; the answer then
         * lacks a field, which the client shows as "-". */
        (void) json_object_object_add(o, key, v);
}

static int collect_cache(const struct engine_cache_info *info, void *userdata) {
        struct daemon_caches *l = userdata;
        if (!info->present)
                return 0;
        if (l->n == l->allocated) {
                size_t n = l->allocated ? l->allocated * 2 : 256;
                void *p = realloc(l->items, n * sizeof *l->items);
                if (!p) {
                        l->error = -ENOMEM;
                        return -ENOMEM;
                }
                l->items = p;
                l->allocated = n;
        }
        /* The name points into the engine, which does not change until the
         * next sample, after the text is built. */
        l->items[l->n++] = *info;
        return 0;
}

int daemon_caches_load(struct daemon *d, struct daemon_caches *ret) {
        *ret = (struct daemon_caches) { 0 };
        int r = engine_foreach_cache(d->engine, collect_cache, ret);
        if (r < 0) {
                free(ret->items);
                *ret = (struct daemon_caches) { 0 };
        }
        return r;
}

/* The capture manager's @key array ("running", "queued", "leaks": a new
 * reference), or NULL. */
static json_object *captures_array(struct daemon *d, const char *key) {
        json_object *list = NULL, *running, *ret = NULL;
        if (!d->captures)
                return NULL;
        if (capture_manager_list(d->captures, &list) < 0)
                return NULL;
        if (json_object_object_get_ex(list, key, &running) && json_object_is_type(running, json_type_array))
                ret = json_object_get(running);
        json_object_put(list);
        return ret;
}

int daemon_status_json(struct daemon *d, json_object **ret) {
        json_object *o = json_object_new_object();
        uint64_t now = daemon_now_usec();
        const struct daemon_stats *st = &d->stats;
        struct daemon_caches caches;
        char buf[512];

        if (!o)
                return -ENOMEM;
        add(o, "version", json_object_new_string(SLABWATCH_VERSION));
        add(o, "protocol", json_object_new_int(PROTO_VERSION));
        add(o, "pid", json_object_new_int((int) getpid()));
        add(o, "config", json_object_new_string(d->source.path));
        add(o, "start_time", proto_json_time(d->start_usec));
        add(o, "uptime_s", proto_json_double(now > d->start_usec ? (double) (now - d->start_usec) / 1e6 : 0));
        add(o, "interval_s", proto_json_double((double) d->config.interval_usec / 1e6));
        add(o, "samples", proto_json_u64(st->samples));
        add(o, "last_sample_time", st->last_sample_usec ? proto_json_time(st->last_sample_usec) : NULL);

        json_object *cost = json_object_new_object();
        add(cost, "last_read", proto_json_u64(st->last_read_usec));
        add(cost, "last_work", proto_json_u64(st->last_work_usec));
        add(cost, "avg_read", proto_json_double(st->samples ? (double) st->total_read_usec / (double) st->samples : 0));
        add(cost, "avg_work", proto_json_double(st->samples ? (double) st->total_work_usec / (double) st->samples : 0));
        add(o, "sample_cost_usec", cost);
        json_object *jitter = json_object_new_object();
        add(jitter, "max", proto_json_u64(st->jitter_max_usec));
        /* The first tick has no schedule to be late against. */
        add(jitter, "avg", proto_json_double(st->samples > 1 ? (double) st->jitter_total_usec / (double) (st->samples - 1)
                                                               : 0));
        add(o, "sample_jitter_usec", jitter);
        add(o, "slabinfo_bad_lines", proto_json_u64(st->slabinfo_bad_lines));
        if (d->slabinfo_error < 0) {
                char why[CONFIG_PATH_MAX + 128];
                snprintf(why, sizeof why, "cannot read %s/slabinfo: %s; running on meminfo alone",
                         d->config.paths.proc, strerror(-d->slabinfo_error));
                add(o, "slabinfo_error", json_object_new_string(why));
        } else
                add(o, "slabinfo_error", NULL);

        add(o, "verdict", proto_json_verdict(engine_verdict(d->engine)));

        json_object *tripped = json_object_new_array();
        size_t n_present = 0;
        if (daemon_caches_load(d, &caches) >= 0) {
                n_present = caches.n;
                for (size_t i = 0; i < caches.n; i++) {
                        const struct engine_cache_info *c = &caches.items[i];
                        if (c->state != DETECT_TRIPPED)
                                continue;
                        json_object *t = json_object_new_object();
                        add(t, "cache", json_object_new_string(c->name));
                        add(t, "since", c->tripped_since_usec ? proto_json_time(c->tripped_since_usec) : NULL);
                        add(t, "objs_per_min", c->rates_known ? proto_json_double(c->objs_per_min) : NULL);
                        add(t, "bytes_per_hour", c->rates_known ? proto_json_double(c->bytes_per_hour) : NULL);
                        add(t, "active_objs", proto_json_u64(c->active_objs));
                        json_object_array_add(tripped, t);
                }
                free(caches.items);
        }
        add(o, "caches", proto_json_u64(n_present));
        add(o, "tripped", tripped);

        json_object *cap = json_object_new_object();
        json_object *running = captures_array(d, "running");
        json_object *queued = captures_array(d, "queued");
        json_object *leaks = captures_array(d, "leaks");
        add(cap, "available", json_object_new_boolean(d->captures != NULL));
        add(cap, "n_running", proto_json_u64(d->captures ? capture_manager_running(d->captures) : 0));
        add(cap, "running", running ? running : json_object_new_array());
        add(cap, "queued", queued ? queued : json_object_new_array());
        add(cap, "leaks", leaks ? leaks : json_object_new_array());
        add(o, "captures", cap);

        json_object *probe = NULL;
        const struct probe *caps = d->captures ? capture_manager_probe(d->captures) : NULL;
        if (caps && probe_to_json(caps, &probe) >= 0) {
                add(o, "capabilities", probe);
                add(o, "capabilities_summary", json_object_new_string(probe_summary(caps, buf, sizeof buf)));
        } else
                add(o, "capabilities", NULL);

        if (d->server) {
                struct server_stats ss;
                server_get_stats(d->server, &ss);
                json_object *s = json_object_new_object();
                add(s, "clients", proto_json_u64(ss.clients));
                add(s, "accepted", proto_json_u64(ss.accepted));
                add(s, "requests", proto_json_u64(ss.requests));
                add(s, "refused_permission", proto_json_u64(ss.refused_permission));
                add(s, "refused_busy", proto_json_u64(ss.refused_busy));
                add(s, "protocol_errors", proto_json_u64(ss.protocol_errors));
                add(s, "idle_closed", proto_json_u64(ss.idle_closed));
                add(o, "server", s);
        }
        *ret = o;
        return 0;
}

static int gauge(struct metrics *m, const char *name, const char *unit, const char *help, double v) {
        int r = metrics_family(m, name, METRICS_GAUGE, unit, help);
        return r < 0 ? r : metrics_sample(m, NULL, 0, v);
}

/* A family with one sample per present cache; @value returns NaN to skip. */
static int cache_family(struct metrics *m, const struct daemon_caches *l, const char *name, const char *unit,
                        const char *help, double (*value)(const struct engine_cache_info *c)) {
        int r = metrics_family(m, name, METRICS_GAUGE, unit, help);
        for (size_t i = 0; r >= 0 && i < l->n; i++) {
                double v = value(&l->items[i]);
                if (!isnan(v))
                        r = metrics_sample1(m, "cache", l->items[i].name, v);
        }
        return r;
}

static double v_active(const struct engine_cache_info *c) {
        return (double) c->active_objs;
}

static double v_objs(const struct engine_cache_info *c) {
        return (double) c->num_objs;
}

static double v_objsize(const struct engine_cache_info *c) {
        return (double) c->objsize;
}

static double v_bytes(const struct engine_cache_info *c) {
        return (double) c->bytes;
}

static double v_objs_rate(const struct engine_cache_info *c) {
        return c->rates_known ? c->objs_per_min / 60 : NAN;
}

static double v_bytes_rate(const struct engine_cache_info *c) {
        return c->rates_known ? c->bytes_per_hour / 3600 : NAN;
}

static double v_trend(const struct engine_cache_info *c) {
        return c->rates_known ? c->trend : NAN;
}

static double v_tripped(const struct engine_cache_info *c) {
        return c->state == DETECT_TRIPPED ? 1 : 0;
}

int daemon_metrics_text(struct daemon *d, enum metrics_format format, char **ret_text, size_t *ret_len) {
        struct metrics *m = NULL;
        struct daemon_caches caches = { 0 };
        const struct daemon_stats *st = &d->stats;
        const char *text;
        size_t len;
        int r;

        r = metrics_new(format, DAEMON_METRICS_MAX, &m);
        if (r < 0)
                return r;
        if (d->engine && (r = daemon_caches_load(d, &caches)) < 0)
                goto out;

        struct metrics_label build = { "version", SLABWATCH_VERSION };
        if ((r = metrics_family(m, "slabwatch_build_info", METRICS_GAUGE, NULL, "slabwatchd version")) < 0 ||
            (r = metrics_sample(m, &build, 1, 1)) < 0)
                goto out;
        if ((r = gauge(m, "slabwatch_start_time_seconds", "seconds", "When slabwatchd started (epoch)",
                       (double) d->start_usec / 1e6)) < 0)
                goto out;
        if ((r = metrics_family(m, "slabwatch_samples", METRICS_COUNTER, NULL, "Samples taken")) < 0 ||
            (r = metrics_sample(m, NULL, 0, (double) st->samples)) < 0)
                goto out;
        if (st->last_sample_usec &&
            (r = gauge(m, "slabwatch_last_sample_timestamp_seconds", "seconds", "Time of the last sample (epoch)",
                       (double) st->last_sample_usec / 1e6)) < 0)
                goto out;
        if ((r = gauge(m, "slabwatch_sample_read_seconds", "seconds",
                       "Kernel time reading /proc/meminfo and /proc/slabinfo in the last sample",
                       (double) st->last_read_usec / 1e6)) < 0)
                goto out;
        if ((r = gauge(m, "slabwatch_sample_work_seconds", "seconds",
                       "slabwatchd's own parse, history and detection time in the last sample",
                       (double) st->last_work_usec / 1e6)) < 0)
                goto out;
        if ((r = gauge(m, "slabwatch_sample_jitter_max_seconds", "seconds", "Largest lateness of a sampling tick",
                       (double) st->jitter_max_usec / 1e6)) < 0)
                goto out;

        if (d->engine) {
                const struct verdict *v = engine_verdict(d->engine);
                r = metrics_family(m, "slabwatch_verdict", METRICS_GAUGE, NULL,
                                   "1 if memory grows in this kind of memory (slab, unaccounted, vmalloc, user)");
                for (size_t i = 0; r >= 0 && i < PROTO_VERDICT_KINDS; i++)
                        r = metrics_sample1(m, "kind", proto_verdict_kinds[i].name,
                                            v && (v->flags & proto_verdict_kinds[i].flag) ? 1 : 0);
                if (r < 0)
                        goto out;
                size_t tripped = 0;
                for (size_t i = 0; i < caches.n; i++)
                        tripped += caches.items[i].state == DETECT_TRIPPED;
                if ((r = gauge(m, "slabwatch_caches", NULL, "Slab caches in the last sample", (double) caches.n)) < 0 ||
                    (r = gauge(m, "slabwatch_caches_tripped", NULL, "Slab caches tripped now", (double) tripped)) < 0)
                        goto out;
        }
        if ((r = gauge(m, "slabwatch_captures_running", NULL, "Captures running now",
                       d->captures ? (double) capture_manager_running(d->captures) : 0)) < 0)
                goto out;

        r = metrics_family(m, "slabwatch_meminfo_bytes", METRICS_GAUGE, "bytes", "The /proc/meminfo keys the verdict uses");
        for (size_t k = 0; r >= 0 && k < PROTO_VERDICT_MEMINFO_KEYS; k++) {
                uint64_t value;
                if (meminfo_get(&d->meminfo, proto_verdict_meminfo_keys[k], &value))
                        r = metrics_sample1(m, "key", meminfo_key_name(proto_verdict_meminfo_keys[k]), (double) value * 1024);
        }
        if (r < 0)
                goto out;

        if ((r = cache_family(m, &caches, "slabwatch_cache_active_objects", NULL, "Active objects (slabinfo active_objs)",
                              v_active)) < 0 ||
            (r = cache_family(m, &caches, "slabwatch_cache_objects", NULL, "Allocated objects (slabinfo num_objs)",
                              v_objs)) < 0 ||
            (r = cache_family(m, &caches, "slabwatch_cache_object_size_bytes", "bytes", "Object size", v_objsize)) < 0 ||
            (r = cache_family(m, &caches, "slabwatch_cache_bytes", "bytes",
                              "Slab memory of the cache (num_slabs x pagesperslab x page size)", v_bytes)) < 0 ||
            (r = cache_family(m, &caches, "slabwatch_cache_growth_objects_per_second", NULL,
                              "Active objects growth fitted over the detection window", v_objs_rate)) < 0 ||
            (r = cache_family(m, &caches, "slabwatch_cache_growth_bytes_per_second", NULL,
                              "Slab memory growth fitted over the detection window", v_bytes_rate)) < 0 ||
            (r = cache_family(m, &caches, "slabwatch_cache_growth_trend", NULL,
                              "Trend consistency of the growth (Kendall tau, -1..1)", v_trend)) < 0 ||
            (r = cache_family(m, &caches, "slabwatch_cache_tripped", NULL, "1 if the cache is tripped", v_tripped)) < 0)
                goto out;

        r = metrics_finish(m, &text, &len);
        if (r < 0)
                goto out;
        *ret_text = strndup(text, len);
        *ret_len = len;
        r = *ret_text ? 0 : -ENOMEM;
out:
        free(caches.items);
        metrics_free(m);
        return r;
}

int daemon_write_textfile(struct daemon *d) {
        char *text = NULL;
        size_t len = 0;
        const char *path = d->config.metrics.textfile;
        if (!path[0])
                return 0;
        int r = daemon_metrics_text(d, METRICS_FORMAT_PROMETHEUS, &text, &len);
        if (r < 0)
                return r;
        r = textfile_write(path, text, len);
        free(text);
        return r;
}
