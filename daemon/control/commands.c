/* commands — build the JSON answers of the socket protocol. */
#include "control/commands.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "capture/capture.h"
#include "caches/engine.h"
#include "caches/growth.h"
#include "caches/history.h"
#include "core/log.h"
#include "capture/bundle.h"
#include "capture/probe.h"
#include "memory/verdict.h"

/* Caches a `capturing` state is looked up among. */
#define COMMANDS_CAPTURING_MAX 64

static const enum meminfo_key verdict_keys[] = {
        MEMINFO_MEM_TOTAL,   MEMINFO_MEM_FREE,     MEMINFO_MEM_AVAILABLE, MEMINFO_SLAB,
        MEMINFO_SRECLAIMABLE, MEMINFO_SUNRECLAIM,  MEMINFO_KERNEL_STACK,  MEMINFO_PAGE_TABLES,
        MEMINFO_VMALLOC_USED, MEMINFO_PERCPU,      MEMINFO_ANON_PAGES,    MEMINFO_SHMEM,
};

static const struct {
        unsigned flag;
        const char *name;
} verdict_kinds[] = {
        { VERDICT_SLAB, "slab" },
        { VERDICT_UNACCOUNTED, "unaccounted" },
        { VERDICT_VMALLOC, "vmalloc" },
        { VERDICT_USER, "user" },
};

static void add(json_object *o, const char *key, json_object *v) {
        /* json-c only fails here on allocation failure; the answer then
         * lacks a field, which the client shows as "-". */
        (void) json_object_object_add(o, key, v);
}

static json_object *error_from_errno(int r, const char *what) {
        switch (r) {
        case -ENOENT:
                return proto_response_new_error(PROTO_ERR_NOT_FOUND, "%s", what);
        case -EINVAL:
                return proto_response_new_error(PROTO_ERR_BAD_ARGUMENT, "%s", what);
        case -EBUSY:
        case -EALREADY:
        case -CAPTURE_ECOOLDOWN:
                return proto_response_new_error(PROTO_ERR_BUSY, "%s", what);
        case -ECANCELED:
        case -EOPNOTSUPP:
                return proto_response_new_error(PROTO_ERR_UNAVAILABLE, "%s", what);
        case -ENOMEM:
                return proto_response_new_error(PROTO_ERR_INTERNAL, "out of memory");
        default:
                return proto_response_new_error(PROTO_ERR_FAILED, "%s", what);
        }
}

static json_object *verdict_json(const struct verdict *v) {
        char buf[128];
        json_object *o = json_object_new_object();
        json_object *flags = json_object_new_array();
        json_object *caches = json_object_new_array();
        for (size_t i = 0; i < sizeof verdict_kinds / sizeof verdict_kinds[0]; i++)
                if (v && (v->flags & verdict_kinds[i].flag))
                        json_object_array_add(flags, json_object_new_string(verdict_kinds[i].name));
        for (size_t i = 0; v && i < v->n_caches; i++)
                json_object_array_add(caches, json_object_new_string(v->caches[i]));
        add(o, "flags", flags);
        add(o, "summary", json_object_new_string(verdict_flags_string(v ? v->flags : VERDICT_NONE, buf, sizeof buf)));
        add(o, "text", json_object_new_string(v ? v->text : ""));
        add(o, "caches", caches);
        return o;
}

/* Caches being captured now, from the capture manager's list. */
struct capturing {
        char names[COMMANDS_CAPTURING_MAX][PROTO_NAME_MAX];
        size_t n;
        json_object *running;   /* the manager's "running" array (a reference) */
};

static void capturing_load(struct daemon *d, struct capturing *ret) {
        json_object *list = NULL, *running;
        ret->n = 0;
        ret->running = NULL;
        if (!d->captures || capture_manager_running(d->captures) == 0)
                return;
        if (capture_manager_list(d->captures, &list) < 0)
                return;
        if (json_object_object_get_ex(list, "running", &running) && json_object_is_type(running, json_type_array)) {
                ret->running = json_object_get(running);
                for (size_t i = 0; i < json_object_array_length(running) && ret->n < COMMANDS_CAPTURING_MAX; i++) {
                        json_object *x = json_object_array_get_idx(running, i), *name;
                        if (json_object_object_get_ex(x, "cache", &name) && json_object_is_type(name, json_type_string))
                                snprintf(ret->names[ret->n++], PROTO_NAME_MAX, "%s", json_object_get_string(name));
                }
        }
        json_object_put(list);
}

static bool capturing_has(const struct capturing *c, const char *name) {
        for (size_t i = 0; i < c->n; i++)
                if (strcmp(c->names[i], name) == 0)
                        return true;
        return false;
}

static const char *cache_state(const struct engine_cache_info *info, const struct capturing *cap) {
        if (cap && capturing_has(cap, info->name))
                return "capturing";
        return detect_state_name(info->state);
}

/* All caches present in the newest sample. */
struct cache_list {
        struct engine_cache_info *items;
        size_t n;
        size_t allocated;
        int error;
};

static int collect_cache(const struct engine_cache_info *info, void *userdata) {
        struct cache_list *l = userdata;
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
         * next sample, after this answer is built. */
        l->items[l->n++] = *info;
        return 0;
}

static int cache_list_load(struct daemon *d, struct cache_list *ret) {
        *ret = (struct cache_list) { 0 };
        int r = engine_foreach_cache(d->engine, collect_cache, ret);
        if (r < 0) {
                free(ret->items);
                *ret = (struct cache_list) { 0 };
        }
        return r;
}

static json_object *status_answer(struct daemon *d, const struct proto_request *req) {
        json_object *o = json_object_new_object();
        uint64_t now = daemon_now_usec();
        const struct daemon_stats *st = &d->stats;
        struct cache_list caches;
        char buf[512];

        add(o, "version", json_object_new_string(SLABWATCH_VERSION));
        add(o, "protocol", json_object_new_int(PROTO_VERSION));
        add(o, "pid", json_object_new_int((int) getpid()));
        add(o, "config", json_object_new_string(d->config_path));
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

        add(o, "verdict", verdict_json(engine_verdict(d->engine)));

        json_object *tripped = json_object_new_array();
        size_t n_present = 0;
        if (cache_list_load(d, &caches) >= 0) {
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
        add(cap, "available", json_object_new_boolean(d->captures != NULL));
        struct capturing running;
        capturing_load(d, &running);
        add(cap, "n_running", proto_json_u64(d->captures ? capture_manager_running(d->captures) : 0));
        add(cap, "running", running.running ? running.running : json_object_new_array());
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
        return proto_response_new_ok(req->command, o);
}

static int compare_growth(const void *a, const void *b) {
        const struct engine_cache_info *x = a, *y = b;
        /* Known rates first, fastest growth first; then the bigger cache. */
        if (x->rates_known != y->rates_known)
                return x->rates_known ? -1 : 1;
        if (x->rates_known && x->bytes_per_hour != y->bytes_per_hour)
                return x->bytes_per_hour > y->bytes_per_hour ? -1 : 1;
        if (x->bytes != y->bytes)
                return x->bytes > y->bytes ? -1 : 1;
        return strcmp(x->name, y->name);
}

static int compare_bytes(const void *a, const void *b) {
        const struct engine_cache_info *x = a, *y = b;
        if (x->bytes != y->bytes)
                return x->bytes > y->bytes ? -1 : 1;
        return strcmp(x->name, y->name);
}

static int compare_objs(const void *a, const void *b) {
        const struct engine_cache_info *x = a, *y = b;
        if (x->active_objs != y->active_objs)
                return x->active_objs > y->active_objs ? -1 : 1;
        return strcmp(x->name, y->name);
}

static json_object *cache_json(const struct engine_cache_info *c, const struct capturing *cap) {
        json_object *o = json_object_new_object();
        add(o, "name", json_object_new_string(c->name));
        add(o, "state", json_object_new_string(cache_state(c, cap)));
        add(o, "active_objs", proto_json_u64(c->active_objs));
        add(o, "num_objs", proto_json_u64(c->num_objs));
        add(o, "objsize", proto_json_u64(c->objsize));
        add(o, "bytes", proto_json_u64(c->bytes));
        add(o, "objs_per_min", c->rates_known ? proto_json_double(c->objs_per_min) : NULL);
        add(o, "bytes_per_hour", c->rates_known ? proto_json_double(c->bytes_per_hour) : NULL);
        add(o, "percent_per_hour", c->rates_known ? proto_json_double(c->percent_per_hour) : NULL);
        add(o, "trend", c->rates_known ? proto_json_double(c->trend) : NULL);
        add(o, "window_s", proto_json_double((double) c->window_usec / 1e6));
        add(o, "reclaimable", json_object_new_boolean(c->reclaimable));
        add(o, "rule", json_object_new_string(c->rule_match ? c->rule_match : ""));
        add(o, "tripped_since", c->tripped_since_usec ? proto_json_time(c->tripped_since_usec) : NULL);
        return o;
}

static json_object *top_answer(struct daemon *d, const struct proto_request *req) {
        struct cache_list caches;
        struct capturing cap;
        int r = cache_list_load(d, &caches);
        if (r < 0)
                return error_from_errno(r, "cannot list the caches");
        static int (*const compare[])(const void *, const void *) = {
                [PROTO_SORT_GROWTH] = compare_growth,
                [PROTO_SORT_BYTES] = compare_bytes,
                [PROTO_SORT_OBJS] = compare_objs,
        };
        if (caches.n > 0)
                qsort(caches.items, caches.n, sizeof *caches.items, compare[req->sort]);
        capturing_load(d, &cap);
        size_t limit = req->limit ? req->limit : COMMANDS_TOP_DEFAULT;
        uint64_t window = 0;
        json_object *o = json_object_new_object(), *list = json_object_new_array();
        for (size_t i = 0; i < caches.n && i < limit; i++) {
                json_object_array_add(list, cache_json(&caches.items[i], &cap));
                if (caches.items[i].window_usec > window)
                        window = caches.items[i].window_usec;
        }
        add(o, "sort", json_object_new_string(proto_sort_name(req->sort)));
        add(o, "total", proto_json_u64(caches.n));
        add(o, "window_s", proto_json_double((double) window / 1e6));
        add(o, "last_sample_time", engine_last_usec(d->engine) ? proto_json_time(engine_last_usec(d->engine)) : NULL);
        add(o, "caches", list);
        json_object_put(cap.running);
        free(caches.items);
        return proto_response_new_ok(req->command, o);
}

static const enum history_tier tier_map[] = {
        [PROTO_TIER_RAW] = HISTORY_TIER_RAW,
        [PROTO_TIER_MINUTE] = HISTORY_TIER_MINUTE,
        [PROTO_TIER_HOUR] = HISTORY_TIER_HOUR,
};

static const char *const tier_names[] = {
        [HISTORY_TIER_RAW] = "raw",
        [HISTORY_TIER_MINUTE] = "minute",
        [HISTORY_TIER_HOUR] = "hour",
};

/* The absolute start of the span a request asks for (0 = everything). */
static uint64_t span_start(const struct daemon *d, uint64_t since_usec) {
        uint64_t last = engine_last_usec(d->engine);
        if (since_usec == 0 || last == 0)
                return 0;
        return last > since_usec ? last - since_usec : 0;
}

/* Auto: the finest tier that still holds the start of the span; if none
 * reaches back that far, the finest that holds the oldest data (while the
 * daemon is younger than the raw span, that is raw). Without a span, raw. */
static enum history_tier pick_tier(const struct daemon *d, enum proto_tier asked, uint64_t start) {
        if (asked != PROTO_TIER_AUTO)
                return tier_map[asked];
        if (start == 0)
                return HISTORY_TIER_RAW;
        const struct history *h = engine_history(d->engine);
        enum history_tier best = HISTORY_TIER_RAW;
        uint64_t best_oldest = UINT64_MAX;
        for (enum history_tier t = HISTORY_TIER_RAW; t < _HISTORY_TIER_MAX; t++) {
                uint64_t oldest = history_tier_oldest_usec(h, t);
                if (oldest == 0)
                        continue;
                if (oldest <= start)
                        return t;
                if (oldest < best_oldest) {
                        best_oldest = oldest;
                        best = t;
                }
        }
        return best;
}

static struct history_point *points_alloc(const struct daemon *d, enum history_tier tier, uint64_t start,
                                          size_t *ret_n) {
        size_t n = history_count_since(engine_history(d->engine), tier, start);
        *ret_n = n;
        return calloc(n ? n : 1, sizeof(struct history_point));
}

static json_object *history_answer(struct daemon *d, const struct proto_request *req) {
        struct engine_cache_info info;
        struct capturing cap;
        int r = engine_cache_get(d->engine, req->cache, &info);
        if (r < 0)
                return proto_response_new_error(PROTO_ERR_NOT_FOUND,
                                                "no cache \"%s\" in the history (see `slabwatchctl top`)", req->cache);
        uint64_t start = span_start(d, req->since_usec);
        enum history_tier tier = pick_tier(d, req->tier, start);
        size_t cap_n;
        struct history_point *pts = points_alloc(d, tier, start, &cap_n);
        if (!pts)
                return error_from_errno(-ENOMEM, "");
        int n = cap_n ? engine_cache_history(d->engine, req->cache, tier, start, pts, cap_n) : 0;
        if (n < 0) {
                free(pts);
                return error_from_errno(n, "cannot read the history");
        }
        const struct slabinfo_cache *si = slabinfo_find(&d->slabinfo, req->cache);
        uint64_t slab_bytes = si ? (uint64_t) si->pagesperslab * d->page_size : 0;

        capturing_load(d, &cap);
        json_object *o = json_object_new_object(), *list = json_object_new_array();
        add(o, "cache", json_object_new_string(req->cache));
        add(o, "tier", json_object_new_string(tier_names[tier]));
        add(o, "since", start ? proto_json_time(start) : NULL);
        add(o, "state", json_object_new_string(cache_state(&info, &cap)));
        add(o, "objsize", proto_json_u64(info.objsize));
        add(o, "objperslab", si ? proto_json_u64(si->objperslab) : NULL);
        add(o, "pagesperslab", si ? proto_json_u64(si->pagesperslab) : NULL);
        add(o, "page_size", proto_json_u64(d->page_size));
        add(o, "present", json_object_new_boolean(info.present));
        add(o, "objs_per_min", info.rates_known ? proto_json_double(info.objs_per_min) : NULL);
        add(o, "bytes_per_hour", info.rates_known ? proto_json_double(info.bytes_per_hour) : NULL);
        for (int i = 0; i < n; i++) {
                json_object *p = json_object_new_object();
                add(p, "t", proto_json_time(pts[i].t_usec));
                add(p, "active_objs", proto_json_u64(pts[i].last));
                add(p, "min", proto_json_u64(pts[i].min));
                add(p, "max", proto_json_u64(pts[i].max));
                bool slabs = pts[i].aux != HISTORY_AUX_NONE;
                add(p, "num_slabs", slabs ? proto_json_u64(pts[i].aux) : NULL);
                add(p, "bytes", slabs && slab_bytes ? proto_json_u64((uint64_t) pts[i].aux * slab_bytes) : NULL);
                json_object_array_add(list, p);
        }
        add(o, "points", list);
        json_object_put(cap.running);
        free(pts);
        return proto_response_new_ok(req->command, o);
}

/* Fit the growth of a meminfo series over the span from @start. */
static bool meminfo_fit(const struct daemon *d, const char *key, enum history_tier tier, uint64_t start,
                        struct growth_fit *ret) {
        const struct history *h = engine_history(d->engine);
        struct history_point pts[GROWTH_POINTS_MAX];
        double t[GROWTH_POINTS_MAX], y[GROWTH_POINTS_MAX];
        int id = history_series_find(h, ENGINE_SERIES_MEMINFO, key);
        if (id < 0)
                return false;
        int n = history_read_spread(h, (uint32_t) id, tier, start, pts, GROWTH_POINTS_MAX);
        if (n < 2)
                return false;
        for (int i = 0; i < n; i++) {
                t[i] = (double) (pts[i].t_usec - pts[0].t_usec) / 1e6;
                y[i] = (double) pts[i].last;
        }
        return growth_fit(t, y, (size_t) n, ret) >= 0 && ret->n >= 2;
}

static json_object *meminfo_answer(struct daemon *d, const struct proto_request *req) {
        uint64_t since = req->since_usec ? req->since_usec : ENGINE_VERDICT_WINDOW_USEC;
        uint64_t start = span_start(d, since);
        enum history_tier tier = pick_tier(d, req->tier, start ? start : 1);
        size_t cap_n;
        struct history_point *pts = points_alloc(d, tier, start, &cap_n);
        if (!pts)
                return error_from_errno(-ENOMEM, "");
        json_object *o = json_object_new_object(), *keys = json_object_new_array();
        for (size_t k = 0; k < sizeof verdict_keys / sizeof verdict_keys[0]; k++) {
                enum meminfo_key key = verdict_keys[k];
                const char *name = meminfo_key_name(key);
                uint64_t value;
                struct growth_fit fit;
                json_object *e = json_object_new_object(), *list = json_object_new_array();
                add(e, "key", json_object_new_string(name));
                add(e, "kb", meminfo_get(&d->meminfo, key, &value) ? proto_json_u64(value) : NULL);
                bool fitted = meminfo_fit(d, name, tier, start, &fit);
                add(e, "bytes_per_hour", fitted ? proto_json_double(fit.slope_per_sec * 1024 * 3600) : NULL);
                add(e, "trend", fitted ? proto_json_double(fit.trend) : NULL);
                int n = cap_n ? engine_meminfo_history(d->engine, key, tier, start, pts, cap_n) : 0;
                for (int i = 0; i < n; i++) {
                        json_object *p = json_object_new_object();
                        add(p, "t", proto_json_time(pts[i].t_usec));
                        add(p, "kb", proto_json_u64(pts[i].last));
                        add(p, "min", proto_json_u64(pts[i].min));
                        add(p, "max", proto_json_u64(pts[i].max));
                        json_object_array_add(list, p);
                }
                add(e, "points", list);
                json_object_array_add(keys, e);
        }
        free(pts);
        add(o, "tier", json_object_new_string(tier_names[tier]));
        add(o, "window_s", proto_json_double((double) since / 1e6));
        add(o, "since", start ? proto_json_time(start) : NULL);
        add(o, "keys", keys);
        add(o, "verdict", verdict_json(engine_verdict(d->engine)));
        return proto_response_new_ok(req->command, o);
}

/* The newest events of the events log (JSON lines, see alert.c). */
static json_object *events_answer(struct daemon *d, const struct proto_request *req) {
        json_object *o = json_object_new_object(), *list = json_object_new_array();
        size_t limit = req->limit ? req->limit : COMMANDS_EVENTS_DEFAULT;
        bool truncated = false;
        const char *path = d->events_log_path;

        add(o, "log", path[0] ? json_object_new_string(path) : NULL);
        int fd = path[0] ? open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY) : -1;
        if (fd < 0) {
                /* No events yet is not an error. */
                if (path[0] && errno != ENOENT) {
                        int r = -errno;
                        json_object_put(o);
                        json_object_put(list);
                        return proto_response_new_error(PROTO_ERR_FAILED, "cannot read %s: %s", path, strerror(-r));
                }
                add(o, "events", list);
                add(o, "truncated", json_object_new_boolean(false));
                return proto_response_new_ok(req->command, o);
        }
        struct stat st;
        char *buf = NULL;
        size_t len = 0;
        if (fstat(fd, &st) == 0 && st.st_size > 0) {
                size_t want = (uint64_t) st.st_size > COMMANDS_EVENTS_READ_MAX ? COMMANDS_EVENTS_READ_MAX
                                                                               : (size_t) st.st_size;
                off_t from = st.st_size - (off_t) want;
                truncated = from > 0;
                buf = malloc(want + 1);
                if (buf) {
                        ssize_t n = pread(fd, buf, want, from);
                        len = n > 0 ? (size_t) n : 0;
                        buf[len] = '\0';
                }
        }
        close(fd);

        uint64_t start = req->since_usec ? daemon_now_usec() - req->since_usec : 0;
        double start_s = (double) start / 1e6;
        char *line = buf;
        /* Reading from the middle of the file: the first line is partial. */
        if (truncated && line) {
                char *nl = memchr(line, '\n', len);
                line = nl ? nl + 1 : buf + len;
        }
        json_object *matched = json_object_new_array();
        while (line && line < buf + len) {
                char *nl = memchr(line, '\n', (size_t) (buf + len - line));
                size_t l = nl ? (size_t) (nl - line) : (size_t) (buf + len - line);
                json_tokener *tok = json_tokener_new();
                json_object *ev = tok ? json_tokener_parse_ex(tok, line, (int) l) : NULL;
                json_tokener_free(tok);
                json_object *t;
                if (ev && json_object_is_type(ev, json_type_object) && json_object_object_get_ex(ev, "time", &t) &&
                    json_object_get_double(t) >= start_s)
                        json_object_array_add(matched, ev);
                else
                        json_object_put(ev);
                line = nl ? nl + 1 : NULL;
        }
        free(buf);
        size_t n = json_object_array_length(matched);
        if (n > limit)
                truncated = true;
        for (size_t i = n > limit ? n - limit : 0; i < n; i++)
                json_object_array_add(list, json_object_get(json_object_array_get_idx(matched, i)));
        json_object_put(matched);
        add(o, "events", list);
        add(o, "truncated", json_object_new_boolean(truncated));
        return proto_response_new_ok(req->command, o);
}

static json_object *captures_unavailable(void) {
        return proto_response_new_error(PROTO_ERR_UNAVAILABLE,
                                        "captures are not available in this daemon (capture.enabled, or the "
                                        "kernel offers no capture method: see `slabwatchctl status`)");
}

static json_object *captures_answer(struct daemon *d, const struct proto_request *req) {
        json_object *o = NULL;
        if (!d->captures) {
                o = json_object_new_object();
                add(o, "available", json_object_new_boolean(false));
                add(o, "running", json_object_new_array());
                add(o, "bundles", json_object_new_array());
                return proto_response_new_ok(req->command, o);
        }
        int r = capture_manager_list(d->captures, &o);
        if (r < 0)
                return error_from_errno(r, "cannot list the captures");
        add(o, "available", json_object_new_boolean(true));
        return proto_response_new_ok(req->command, o);
}

/* report.txt of a bundle, if it is there and not too large. */
static json_object *report_text(const struct daemon *d, const char *id) {
        char path[BUNDLE_PATH_MAX];
        if (bundle_file_path(d->config.paths.state_dir, id, BUNDLE_REPORT_TXT, path, sizeof path) < 0)
                return NULL;
        int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return NULL;
        struct stat st;
        json_object *text = NULL;
        if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 &&
            (uint64_t) st.st_size <= COMMANDS_REPORT_TEXT_MAX) {
                char *buf = malloc((size_t) st.st_size);
                ssize_t n = buf ? pread(fd, buf, (size_t) st.st_size, 0) : -1;
                if (n > 0)
                        text = json_object_new_string_len(buf, (int) n);
                free(buf);
        }
        close(fd);
        return text;
}

static json_object *capture_answer(struct daemon *d, const struct proto_request *req) {
        json_object *report = NULL;
        char what[PROTO_ID_MAX + 64];
        if (!d->captures)
                return captures_unavailable();
        int r = capture_manager_get(d->captures, req->id, &report);
        if (r < 0) {
                snprintf(what, sizeof what, r == -ENOENT ? "no capture \"%s\" (see `slabwatchctl captures`)"
                                            : r == -EBADMSG ? "the report of capture \"%s\" is corrupt"
                                                            : "cannot read capture \"%s\"",
                         req->id);
                return error_from_errno(r == -EBADMSG ? -EIO : r, what);
        }
        json_object *o = json_object_new_object();
        add(o, "id", json_object_new_string(req->id));
        add(o, "report", report);
        add(o, "text", report_text(d, req->id));
        return proto_response_new_ok(req->command, o);
}

static json_object *arm_answer(struct daemon *d, const struct proto_request *req) {
        if (!d->captures)
                return captures_unavailable();
        int r = capture_manager_arm(d->captures, req->cache, req->duration_usec);
        if (r < 0) {
                char what[PROTO_NAME_MAX + 256];
                snprintf(what, sizeof what, "cannot capture %s: %s", req->cache, capture_strerror(r));
                return error_from_errno(r, what);
        }
        log_info("Capture of %s armed over the socket", req->cache);
        uint64_t duration = req->duration_usec ? req->duration_usec : d->config.capture.duration_usec;
        json_object *o = json_object_new_object();
        add(o, "cache", json_object_new_string(req->cache));
        add(o, "duration_s", proto_json_double((double) duration / 1e6));
        return proto_response_new_ok(req->command, o);
}

static json_object *disarm_answer(struct daemon *d, const struct proto_request *req) {
        if (!d->captures)
                return captures_unavailable();
        int r = capture_manager_disarm(d->captures, req->cache);
        if (r < 0) {
                char what[PROTO_NAME_MAX + 256];
                if (r == -ENOENT)
                        snprintf(what, sizeof what, "no capture of %s is running", req->cache);
                else
                        snprintf(what, sizeof what, "cannot stop the capture of %s: %s", req->cache,
                                 capture_strerror(r));
                return error_from_errno(r, what);
        }
        json_object *o = json_object_new_object();
        add(o, "cache", json_object_new_string(req->cache));
        return proto_response_new_ok(req->command, o);
}

static json_object *reload_answer(struct daemon *d, const struct proto_request *req) {
        struct config_error err = { 0 };
        struct config *c = malloc(sizeof *c);
        if (!c)
                return error_from_errno(-ENOMEM, "");
        /* Check the file now so a bad one is reported to the one who asked;
         * apply it after this answer is sent (a reload restarts the server
         * this runs in), through the same path as SIGHUP. */
        int r = config_load_file(d->config_path, c, &err);
        free(c);
        /* As at startup, no file at the default path means the defaults. */
        bool missing_default = r == -ENOENT && strcmp(d->config_path, SLABWATCH_SYSCONFDIR "/slabwatch/slabwatch.yaml") == 0;
        if (r < 0 && !missing_default) {
                if (err.line > 0)
                        return proto_response_new_error(PROTO_ERR_FAILED, "%s:%u:%u: %s; keeping the running configuration",
                                                        d->config_path, err.line, err.column, err.message);
                return proto_response_new_error(PROTO_ERR_FAILED, "%s: %s; keeping the running configuration",
                                                d->config_path, err.message[0] ? err.message : strerror(-r));
        }
        log_info("Reload requested over the socket");
        ev_feed_signal_event(d->loop, SIGHUP);
        json_object *o = json_object_new_object();
        add(o, "config", json_object_new_string(d->config_path));
        add(o, "scheduled", json_object_new_boolean(true));
        return proto_response_new_ok(req->command, o);
}

static json_object *version_answer(const struct proto_request *req) {
        json_object *o = json_object_new_object(), *cmds = json_object_new_array();
        add(o, "version", json_object_new_string(SLABWATCH_VERSION));
        add(o, "protocol", json_object_new_int(PROTO_VERSION));
        for (int c = 0; c < _PROTO_CMD_MAX; c++)
                json_object_array_add(cmds, json_object_new_string(proto_command_name((enum proto_command) c)));
        add(o, "commands", cmds);
        return proto_response_new_ok(req->command, o);
}

static json_object *metrics_answer(struct daemon *d, const struct proto_request *req) {
        char *text = NULL;
        size_t len = 0;
        enum metrics_format f = req->format == PROTO_FORMAT_OPENMETRICS ? METRICS_FORMAT_OPENMETRICS
                                                                        : METRICS_FORMAT_PROMETHEUS;
        int r = commands_metrics_text(d, f, &text, &len);
        if (r < 0)
                return error_from_errno(r == -E2BIG ? -EIO : r, "cannot render the metrics");
        json_object *o = json_object_new_object();
        add(o, "format", json_object_new_string(proto_format_name(req->format)));
        add(o, "content_type", json_object_new_string(f == METRICS_FORMAT_OPENMETRICS
                                                               ? "application/openmetrics-text; version=1.0.0; charset=utf-8"
                                                               : "text/plain; version=0.0.4; charset=utf-8"));
        add(o, "text", json_object_new_string_len(text, (int) len));
        free(text);
        return proto_response_new_ok(req->command, o);
}

/* Merge the sorted times of @pts into the sorted set @times (capacity @cap). */
static size_t merge_times(uint64_t *times, size_t n, const struct history_point *pts, size_t m, uint64_t *scratch,
                          size_t cap) {
        size_t i = 0, j = 0, k = 0;
        while ((i < n || j < m) && k < cap) {
                uint64_t next;
                if (j >= m || (i < n && times[i] <= pts[j].t_usec)) {
                        next = times[i];
                        if (j < m && pts[j].t_usec == next)
                                j++;
                        i++;
                } else
                        next = pts[j++].t_usec;
                scratch[k++] = next;
        }
        memcpy(times, scratch, k * sizeof *times);
        return k;
}

struct export_state {
        struct daemon *d;
        const struct history *h;
        enum history_tier tier;
        uint64_t start;
        struct history_point *pts;
        size_t cap;
};

static bool export_series(const struct history *h, uint32_t id) {
        if (!history_series_valid(h, id))
                return false;
        unsigned kind = history_series_kind(h, id);
        return kind == ENGINE_SERIES_CACHE || kind == ENGINE_SERIES_MEMINFO;
}

/* One series' values aligned to @times[0..n): null where it was absent. */
static json_object *export_values(const struct export_state *x, uint32_t id, const uint64_t *times, size_t n,
                                  bool aux) {
        int m = history_read(x->h, id, x->tier, times[0], x->pts, x->cap);
        json_object *a = json_object_new_array_ext((int) n);
        size_t j = 0;
        for (size_t i = 0; i < n; i++) {
                while (j < (size_t) (m > 0 ? m : 0) && x->pts[j].t_usec < times[i])
                        j++;
                json_object *v = NULL;
                if (m > 0 && j < (size_t) m && x->pts[j].t_usec == times[i]) {
                        uint32_t val = aux ? x->pts[j].aux : x->pts[j].last;
                        if (!aux || val != HISTORY_AUX_NONE)
                                v = proto_json_u64(val);
                }
                json_object_array_add(a, v);
        }
        return a;
}

static json_object *export_answer(struct daemon *d, const struct proto_request *req) {
        struct export_state x = { .d = d, .h = engine_history(d->engine) };
        uint64_t span = span_start(d, req->since_usec);
        x.start = req->from_usec ? req->from_usec : span;
        x.tier = pick_tier(d, req->tier, span);
        x.cap = history_count_since(x.h, x.tier, x.start);
        x.pts = calloc(x.cap ? x.cap : 1, sizeof *x.pts);
        uint64_t *times = calloc(x.cap ? x.cap : 1, sizeof *times);
        uint64_t *scratch = calloc(x.cap ? x.cap : 1, sizeof *scratch);
        if (!x.pts || !times || !scratch) {
                free(x.pts);
                free(times);
                free(scratch);
                return error_from_errno(-ENOMEM, "");
        }

        /* Pass 1: the sample times any series has in the span. */
        size_t n_times = 0, n_series = 0;
        uint32_t end = history_series_end(x.h);
        for (uint32_t id = 0; id < end; id++) {
                if (!export_series(x.h, id))
                        continue;
                int m = x.cap ? history_read(x.h, id, x.tier, x.start, x.pts, x.cap) : 0;
                if (m <= 0)
                        continue;
                n_series++;
                n_times = merge_times(times, n_times, x.pts, (size_t) m, scratch, x.cap);
        }
        /* A page holds whole samples, at most COMMANDS_EXPORT_VALUES_MAX values. */
        size_t page = n_series ? COMMANDS_EXPORT_VALUES_MAX / n_series : n_times;
        if (page == 0)
                page = 1;
        bool more = n_times > page;
        size_t n = more ? page : n_times;

        json_object *o = json_object_new_object();
        json_object *t = json_object_new_array_ext((int) n), *mem = json_object_new_array(),
                    *caches = json_object_new_object();
        for (size_t i = 0; i < n; i++)
                json_object_array_add(t, proto_json_u64(times[i]));
        for (uint32_t id = 0; n > 0 && id < end; id++) {
                if (!export_series(x.h, id))
                        continue;
                const char *name = history_series_name(x.h, id);
                if (history_series_kind(x.h, id) == ENGINE_SERIES_MEMINFO) {
                        json_object *k = json_object_new_object();
                        add(k, "key", json_object_new_string(name));
                        add(k, "kib", json_object_new_boolean(strncmp(name, "HugePages_", 10) != 0));
                        add(k, "values", export_values(&x, id, times, n, false));
                        json_object_array_add(mem, k);
                        continue;
                }
                struct engine_cache_info info;
                const struct slabinfo_cache *si = slabinfo_find(&d->slabinfo, name);
                json_object *c = json_object_new_object();
                add(c, "objsize", proto_json_u64(si ? si->objsize
                                                    : engine_cache_get(d->engine, name, &info) >= 0 ? info.objsize : 0));
                add(c, "objperslab", proto_json_u64(si ? si->objperslab : 0));
                add(c, "pagesperslab", proto_json_u64(si ? si->pagesperslab : 0));
                add(c, "active_objs", export_values(&x, id, times, n, false));
                add(c, "num_slabs", export_values(&x, id, times, n, true));
                add(caches, name, c);
        }
        add(o, "tier", json_object_new_string(tier_names[x.tier]));
        add(o, "interval_s", proto_json_double((double) d->config.interval_usec / 1e6));
        add(o, "page_size", proto_json_u64(d->page_size));
        add(o, "t_usec", t);
        add(o, "meminfo", mem);
        add(o, "caches", caches);
        add(o, "more", json_object_new_boolean(more));
        add(o, "next_usec", more ? proto_json_u64(times[n]) : NULL);
        free(x.pts);
        free(times);
        free(scratch);
        return proto_response_new_ok(req->command, o);
}

json_object *commands_handle(const struct server_peer *peer, const struct proto_request *req, json_object *args,
                             void *userdata) {
        struct daemon *d = userdata;
        (void) peer;
        (void) args;
        if (!d->engine && req->command != PROTO_CMD_VERSION)
                return proto_response_new_error(PROTO_ERR_UNAVAILABLE, "the daemon is starting");
        switch (req->command) {
        case PROTO_CMD_STATUS:
                return status_answer(d, req);
        case PROTO_CMD_TOP:
                return top_answer(d, req);
        case PROTO_CMD_HISTORY:
                return history_answer(d, req);
        case PROTO_CMD_MEMINFO:
                return meminfo_answer(d, req);
        case PROTO_CMD_EVENTS:
                return events_answer(d, req);
        case PROTO_CMD_CAPTURES:
                return captures_answer(d, req);
        case PROTO_CMD_CAPTURE:
                return capture_answer(d, req);
        case PROTO_CMD_ARM:
                return arm_answer(d, req);
        case PROTO_CMD_DISARM:
                return disarm_answer(d, req);
        case PROTO_CMD_RELOAD:
                return reload_answer(d, req);
        case PROTO_CMD_VERSION:
                return version_answer(req);
        case PROTO_CMD_METRICS:
                return metrics_answer(d, req);
        case PROTO_CMD_EXPORT:
                return export_answer(d, req);
        default:
                return proto_response_new_error(PROTO_ERR_UNKNOWN_COMMAND, "unknown command");
        }
}

static int gauge(struct metrics *m, const char *name, const char *unit, const char *help, double v) {
        int r = metrics_family(m, name, METRICS_GAUGE, unit, help);
        return r < 0 ? r : metrics_sample(m, NULL, 0, v);
}

/* A family with one sample per present cache; @value returns NaN to skip. */
static int cache_family(struct metrics *m, const struct cache_list *l, const char *name, const char *unit,
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

int commands_metrics_text(struct daemon *d, enum metrics_format format, char **ret_text, size_t *ret_len) {
        struct metrics *m = NULL;
        struct cache_list caches = { 0 };
        const struct daemon_stats *st = &d->stats;
        const char *text;
        size_t len;
        int r;

        r = metrics_new(format, COMMANDS_METRICS_MAX, &m);
        if (r < 0)
                return r;
        if (d->engine && (r = cache_list_load(d, &caches)) < 0)
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
                for (size_t i = 0; r >= 0 && i < sizeof verdict_kinds / sizeof verdict_kinds[0]; i++)
                        r = metrics_sample1(m, "kind", verdict_kinds[i].name,
                                            v && (v->flags & verdict_kinds[i].flag) ? 1 : 0);
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
        for (size_t k = 0; r >= 0 && k < sizeof verdict_keys / sizeof verdict_keys[0]; k++) {
                uint64_t value;
                if (meminfo_get(&d->meminfo, verdict_keys[k], &value))
                        r = metrics_sample1(m, "key", meminfo_key_name(verdict_keys[k]), (double) value * 1024);
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
