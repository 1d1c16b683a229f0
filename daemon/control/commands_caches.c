/* commands_caches — the caches and their history: top, history, meminfo,
 * export; the history tier each request reads. */
#include "control/commands_group.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "caches/growth.h"
#include "caches/history.h"

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
        commands_add(o, "name", json_object_new_string(c->name));
        commands_add(o, "state", json_object_new_string(commands_cache_state(c, cap)));
        commands_add(o, "active_objs", proto_json_u64(c->active_objs));
        commands_add(o, "num_objs", proto_json_u64(c->num_objs));
        commands_add(o, "objsize", proto_json_u64(c->objsize));
        commands_add(o, "bytes", proto_json_u64(c->bytes));
        commands_add(o, "objs_per_min", c->rates_known ? proto_json_double(c->objs_per_min) : NULL);
        commands_add(o, "bytes_per_hour", c->rates_known ? proto_json_double(c->bytes_per_hour) : NULL);
        commands_add(o, "percent_per_hour", c->rates_known ? proto_json_double(c->percent_per_hour) : NULL);
        commands_add(o, "trend", c->rates_known ? proto_json_double(c->trend) : NULL);
        commands_add(o, "window_s", proto_json_double((double) c->window_usec / 1e6));
        commands_add(o, "reclaimable", json_object_new_boolean(c->reclaimable));
        commands_add(o, "rule", json_object_new_string(c->rule_match ? c->rule_match : ""));
        commands_add(o, "tripped_since", c->tripped_since_usec ? proto_json_time(c->tripped_since_usec) : NULL);
        return o;
}

json_object *commands_top(struct daemon *d, const struct proto_request *req) {
        struct daemon_caches caches;
        struct capturing cap;
        int r = daemon_caches_load(d, &caches);
        if (r < 0)
                return commands_error_from_errno(r, "cannot list the caches");
        static int (*const compare[])(const void *, const void *) = {
                [PROTO_SORT_GROWTH] = compare_growth,
                [PROTO_SORT_BYTES] = compare_bytes,
                [PROTO_SORT_OBJS] = compare_objs,
        };
        if (caches.n > 0)
                qsort(caches.items, caches.n, sizeof *caches.items, compare[req->sort]);
        commands_capturing_load(d, &cap);
        size_t limit = req->limit ? req->limit : COMMANDS_TOP_DEFAULT;
        uint64_t window = 0;
        json_object *o = json_object_new_object(), *list = json_object_new_array();
        for (size_t i = 0; i < caches.n && i < limit; i++) {
                json_object_array_add(list, cache_json(&caches.items[i], &cap));
                if (caches.items[i].window_usec > window)
                        window = caches.items[i].window_usec;
        }
        commands_add(o, "sort", json_object_new_string(proto_sort_name(req->sort)));
        commands_add(o, "total", proto_json_u64(caches.n));
        commands_add(o, "window_s", proto_json_double((double) window / 1e6));
        commands_add(o, "last_sample_time", engine_last_usec(d->engine) ? proto_json_time(engine_last_usec(d->engine)) : NULL);
        commands_add(o, "caches", list);
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

json_object *commands_history(struct daemon *d, const struct proto_request *req) {
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
                return commands_error_from_errno(-ENOMEM, "");
        int n = cap_n ? engine_cache_history(d->engine, req->cache, tier, start, pts, cap_n) : 0;
        if (n < 0) {
                free(pts);
                return commands_error_from_errno(n, "cannot read the history");
        }
        const struct slabinfo_cache *si = slabinfo_find(&d->slabinfo, req->cache);
        uint64_t slab_bytes = si ? (uint64_t) si->pagesperslab * d->page_size : 0;

        commands_capturing_load(d, &cap);
        json_object *o = json_object_new_object(), *list = json_object_new_array();
        commands_add(o, "cache", json_object_new_string(req->cache));
        commands_add(o, "tier", json_object_new_string(tier_names[tier]));
        commands_add(o, "since", start ? proto_json_time(start) : NULL);
        commands_add(o, "state", json_object_new_string(commands_cache_state(&info, &cap)));
        commands_add(o, "objsize", proto_json_u64(info.objsize));
        commands_add(o, "objperslab", si ? proto_json_u64(si->objperslab) : NULL);
        commands_add(o, "pagesperslab", si ? proto_json_u64(si->pagesperslab) : NULL);
        commands_add(o, "page_size", proto_json_u64(d->page_size));
        commands_add(o, "present", json_object_new_boolean(info.present));
        commands_add(o, "objs_per_min", info.rates_known ? proto_json_double(info.objs_per_min) : NULL);
        commands_add(o, "bytes_per_hour", info.rates_known ? proto_json_double(info.bytes_per_hour) : NULL);
        for (int i = 0; i < n; i++) {
                json_object *p = json_object_new_object();
                commands_add(p, "t", proto_json_time(pts[i].t_usec));
                commands_add(p, "active_objs", proto_json_u64(pts[i].last));
                commands_add(p, "min", proto_json_u64(pts[i].min));
                commands_add(p, "max", proto_json_u64(pts[i].max));
                bool slabs = pts[i].aux != HISTORY_AUX_NONE;
                commands_add(p, "num_slabs", slabs ? proto_json_u64(pts[i].aux) : NULL);
                commands_add(p, "bytes", slabs && slab_bytes ? proto_json_u64((uint64_t) pts[i].aux * slab_bytes) : NULL);
                json_object_array_add(list, p);
        }
        commands_add(o, "points", list);
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

json_object *commands_meminfo(struct daemon *d, const struct proto_request *req) {
        uint64_t since = req->since_usec ? req->since_usec : ENGINE_VERDICT_WINDOW_USEC;
        uint64_t start = span_start(d, since);
        enum history_tier tier = pick_tier(d, req->tier, start ? start : 1);
        size_t cap_n;
        struct history_point *pts = points_alloc(d, tier, start, &cap_n);
        if (!pts)
                return commands_error_from_errno(-ENOMEM, "");
        json_object *o = json_object_new_object(), *keys = json_object_new_array();
        for (size_t k = 0; k < PROTO_VERDICT_MEMINFO_KEYS; k++) {
                enum meminfo_key key = proto_verdict_meminfo_keys[k];
                const char *name = meminfo_key_name(key);
                uint64_t value;
                struct growth_fit fit;
                json_object *e = json_object_new_object(), *list = json_object_new_array();
                commands_add(e, "key", json_object_new_string(name));
                commands_add(e, "kb", meminfo_get(&d->meminfo, key, &value) ? proto_json_u64(value) : NULL);
                bool fitted = meminfo_fit(d, name, tier, start, &fit);
                commands_add(e, "bytes_per_hour", fitted ? proto_json_double(fit.slope_per_sec * 1024 * 3600) : NULL);
                commands_add(e, "trend", fitted ? proto_json_double(fit.trend) : NULL);
                int n = cap_n ? engine_meminfo_history(d->engine, key, tier, start, pts, cap_n) : 0;
                for (int i = 0; i < n; i++) {
                        json_object *p = json_object_new_object();
                        commands_add(p, "t", proto_json_time(pts[i].t_usec));
                        commands_add(p, "kb", proto_json_u64(pts[i].last));
                        commands_add(p, "min", proto_json_u64(pts[i].min));
                        commands_add(p, "max", proto_json_u64(pts[i].max));
                        json_object_array_add(list, p);
                }
                commands_add(e, "points", list);
                json_object_array_add(keys, e);
        }
        free(pts);
        commands_add(o, "tier", json_object_new_string(tier_names[tier]));
        commands_add(o, "window_s", proto_json_double((double) since / 1e6));
        commands_add(o, "since", start ? proto_json_time(start) : NULL);
        commands_add(o, "keys", keys);
        commands_add(o, "verdict", proto_json_verdict(engine_verdict(d->engine)));
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

json_object *commands_export(struct daemon *d, const struct proto_request *req) {
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
                return commands_error_from_errno(-ENOMEM, "");
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
                        commands_add(k, "key", json_object_new_string(name));
                        commands_add(k, "kib", json_object_new_boolean(strncmp(name, "HugePages_", 10) != 0));
                        commands_add(k, "values", export_values(&x, id, times, n, false));
                        json_object_array_add(mem, k);
                        continue;
                }
                struct engine_cache_info info;
                const struct slabinfo_cache *si = slabinfo_find(&d->slabinfo, name);
                json_object *c = json_object_new_object();
                commands_add(c, "objsize", proto_json_u64(si ? si->objsize
                                                    : engine_cache_get(d->engine, name, &info) >= 0 ? info.objsize : 0));
                commands_add(c, "objperslab", proto_json_u64(si ? si->objperslab : 0));
                commands_add(c, "pagesperslab", proto_json_u64(si ? si->pagesperslab : 0));
                commands_add(c, "active_objs", export_values(&x, id, times, n, false));
                commands_add(c, "num_slabs", export_values(&x, id, times, n, true));
                commands_add(caches, name, c);
        }
        commands_add(o, "tier", json_object_new_string(tier_names[x.tier]));
        commands_add(o, "interval_s", proto_json_double((double) d->config.interval_usec / 1e6));
        commands_add(o, "page_size", proto_json_u64(d->page_size));
        commands_add(o, "t_usec", t);
        commands_add(o, "meminfo", mem);
        commands_add(o, "caches", caches);
        commands_add(o, "more", json_object_new_boolean(more));
        commands_add(o, "next_usec", more ? proto_json_u64(times[n]) : NULL);
        free(x.pts);
        free(times);
        free(scratch);
        return proto_response_new_ok(req->command, o);
}
