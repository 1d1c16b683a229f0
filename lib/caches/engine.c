/* engine — see engine.h.
 *
 * Per-cache state lives in an array indexed by the cache's history series id,
 * so the history's retire callback and every lookup are O(1). The caches of
 * the previous slabinfo are remembered in file order: the kernel prints them
 * in the same order every time, so a name compare usually replaces the hash
 * lookup. Nothing is allocated per sample once the caches are known. */
#include "caches/engine.h"
#include "caches/engine_impl.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "caches/floor.h"
#include "caches/growth.h"
#include "base/slabname.h"


const char *engine_event_type_name(enum engine_event_type type) {
        switch (type) {
        case ENGINE_EVENT_TRIP:
                return "trip";
        case ENGINE_EVENT_RETRIP:
                return "retrip";
        case ENGINE_EVENT_CLEARED:
                return "cleared";
        case ENGINE_EVENT_VERDICT:
                return "verdict";
        default:
                return "unknown";
        }
}

int engine_history_params(const struct config *config, struct history_params *ret) {
        if (!config || config->interval_usec == 0)
                return -EINVAL;
        struct history_params p = {
                .interval_usec = config->interval_usec,
                .span_usec = {
                        [HISTORY_TIER_RAW] = config->history.raw_usec,
                        [HISTORY_TIER_MINUTE] = config->history.minute_usec,
                        [HISTORY_TIER_HOUR] = config->history.hour_usec,
                },
        };
        for (int k = 0; k < _HISTORY_TIER_MAX; k++) {
                size_t slots;
                int r = history_tier_slots(&p, (enum history_tier) k, &slots);
                if (r < 0)
                        return r;
        }
        *ret = p;
        return 0;
}

void engine_on_retire(struct history *h, uint32_t id, void *userdata) {
        struct engine *e = userdata;
        (void) h;
        if (id < e->caches_allocated)
                memset(&e->caches[id], 0, sizeof e->caches[id]);
        for (int k = 0; k < _MEMINFO_KEY_MAX; k++)
                if (e->meminfo_id[k] == (int) id)
                        e->meminfo_id[k] = -1;
        if (e->derived_unreclaimable_id == (int) id)
                e->derived_unreclaimable_id = -1;
        if (e->derived_reclaimable_id == (int) id)
                e->derived_reclaimable_id = -1;
}

static void verdict_reset(struct engine *e) {
        verdict_compute(&e->verdict_params, &(struct verdict_input) {}, &e->verdict);
        e->verdict_candidate = VERDICT_NONE;
        e->verdict_candidate_n = 0;
}

int engine_new(const struct config *config, struct engine **ret) {
        struct history_params p;
        int r = engine_history_params(config, &p);
        if (r < 0)
                return r;
        struct engine *e = calloc(1, sizeof *e);
        if (!e)
                return -ENOMEM;
        e->config = *config;
        verdict_params_default(&e->verdict_params);
        for (int k = 0; k < _MEMINFO_KEY_MAX; k++)
                e->meminfo_id[k] = -1;
        e->derived_unreclaimable_id = e->derived_reclaimable_id = -1;
        e->mem_total_bytes = NAN;
        r = history_new(&p, engine_on_retire, e, &e->history);
        if (r < 0) {
                free(e);
                return r;
        }
        verdict_reset(e);
        *ret = e;
        return 0;
}

void engine_free(struct engine *e) {
        if (!e)
                return;
        history_free(e->history);
        free(e->caches);
        free(e->order);
        free(e->verdict_caches);
        free(e->pts);
        free(e);
}

const struct config *engine_config(const struct engine *e) {
        return &e->config;
}

/* Caches whose objects live and die with reclaimable ones are judged by the
 * reclaimable rules. */
int engine_rule_index(const struct config *config, const char *name, const struct cache *c) {
        const struct config_rule *rule = config_rule_for(config, name, c->reclaimable || c->reclaim_linked);
        return rule ? (int) (rule - config->rules) : -1;
}

size_t engine_history_fit_bound(struct engine *e, struct history *h, const struct history_params *p) {
        size_t each = history_series_bytes_max(p, 2);
        size_t keep = each ? ENGINE_HISTORY_BYTES_MAX / each : 0;
        keep = keep > _MEMINFO_KEY_MAX + 2 ? keep - (_MEMINFO_KEY_MAX + 2) : 0;
        size_t dropped = 0;
        for (uint32_t id = history_series_end(h); id-- > 0 && history_n_series(h) > keep;) {
                if (!history_series_valid(h, id) || history_series_kind(h, id) != ENGINE_SERIES_CACHE)
                        continue;
                if (h == e->history)
                        engine_on_retire(h, id, e);
                history_series_remove(h, id);
                dropped++;
        }
        return dropped;
}

int engine_reconfigure(struct engine *e, const struct config *config) {
        struct history_params p;
        int r = engine_history_params(config, &p);
        if (r < 0)
                return r;
        if (memcmp(&p, history_params(e->history), sizeof p) != 0) {
                struct history *h;
                /* Longer spans or a shorter interval make every cache
                 * dearer: keep what fits the bound before resizing. */
                (void) engine_history_fit_bound(e, e->history, &p);
                r = history_new_from(&p, e->history, engine_on_retire, e, &h);
                if (r < 0)
                        return r;
                history_free(e->history);
                e->history = h;
        }
        e->config = *config;
        for (uint32_t id = 0; id < e->caches_allocated; id++) {
                struct cache *c = &e->caches[id];
                if (!c->used)
                        continue;
                c->rule = engine_rule_index(&e->config, history_series_name(e->history, id), c);
                c->next_fit_usec = 0;
        }
        e->next_verdict_usec = 0;
        return 0;
}

int engine_caches_reserve(struct engine *e, uint32_t id) {
        if (id < e->caches_allocated)
                return 0;
        uint32_t n = e->caches_allocated ? e->caches_allocated : 256;
        while (n <= id)
                n *= 2;
        struct cache *a = realloc(e->caches, n * sizeof *a);
        if (!a)
                return -ENOMEM;
        memset(a + e->caches_allocated, 0, (n - e->caches_allocated) * sizeof *a);
        e->caches = a;
        struct verdict_cache *v = realloc(e->verdict_caches, n * sizeof *v);
        if (!v)
                return -ENOMEM; /* caches stays grown; caches_allocated tells the truth below */
        e->verdict_caches = v;
        e->caches_allocated = n;
        return 0;
}

static uint64_t window_of(const struct engine *e, const struct cache *c) {
        if (c->rule >= 0 && e->config.rules[c->rule].window_usec > 0)
                return e->config.rules[c->rule].window_usec;
        return ENGINE_DEFAULT_WINDOW_USEC;
}

static uint64_t fit_period(const struct engine *e, uint64_t window_usec) {
        uint64_t p = window_usec / ENGINE_EVALS_PER_WINDOW;
        return p > e->config.interval_usec ? p : e->config.interval_usec;
}

/* At the memory bound, a cache present now is worth more than the history
 * of one that has been absent for a whole sample (after a burst of caches
 * that went away, say): drop one such, searching on from where the last
 * search stopped, at most one full round per sample. */
static bool evict_absent(struct engine *e) {
        if (e->evict_none || e->caches_allocated == 0)
                return false;
        for (uint32_t n = 0; n < e->caches_allocated; n++) {
                uint32_t id = (e->evict_cursor + n) % e->caches_allocated;
                const struct cache *c = &e->caches[id];
                if (!c->used || c->seen_sample + 1 >= e->n_samples)
                        continue;
                engine_on_retire(e->history, id, e);
                history_series_remove(e->history, id);
                e->evict_cursor = id + 1;
                return true;
        }
        e->evict_none = true;
        return false;
}

/* A cache seen for the first time: its series, rule and state. */
static int cache_add(struct engine *e, const char *name, engine_reclaimable_fn reclaimable, void *userdata,
                     uint32_t *ret_id) {
        /* The memory bound: every series counted at its largest, so that no
         * later widening can pass it, with room kept for the meminfo and
         * derived series, which are added without this check. */
        if ((history_n_series(e->history) + 1 + _MEMINFO_KEY_MAX + 2) *
                    history_series_bytes_max(history_params(e->history), 2) >
            ENGINE_HISTORY_BYTES_MAX && !evict_absent(e))
                return -ENOSPC;
        int id = history_series_add(e->history, ENGINE_SERIES_CACHE, name, 2);
        if (id < 0)
                return id;
        int r = engine_caches_reserve(e, (uint32_t) id);
        if (r < 0) {
                history_series_remove(e->history, (uint32_t) id);
                return r;
        }
        struct cache *c = &e->caches[id];
        memset(c, 0, sizeof *c);
        c->used = true;
        r = reclaimable ? reclaimable(name, userdata) : -EOPNOTSUPP;
        c->reclaimable = r < 0 ? slabname_guess_reclaimable(name) : r > 0;
        c->reclaim_linked = slabname_reclaim_linked(name);
        c->rule = engine_rule_index(&e->config, name, c);
        c->first_usec = c->last_change_usec = e->last_usec;
        /* Spread the first fits of caches that appear together. */
        uint64_t period = fit_period(e, window_of(e, c));
        c->next_fit_usec = e->last_usec + ((uint64_t) id * e->config.interval_usec) % period;
        *ret_id = (uint32_t) id;
        return 0;
}

static int order_reserve(struct engine *e, size_t n) {
        if (n <= e->order_allocated)
                return 0;
        uint32_t *a = realloc(e->order, n * sizeof *a);
        if (!a)
                return -ENOMEM;
        e->order = a;
        e->order_allocated = n;
        return 0;
}

static int feed_slabinfo(struct engine *e, const struct slabinfo *si, engine_reclaimable_fn reclaimable,
                         void *userdata, uint64_t *ret_unrec, uint64_t *ret_rec) {
        uint64_t unrec = 0, rec = 0;
        int r = order_reserve(e, si->n_caches);
        if (r < 0)
                return r;
        e->caches_untracked = 0;
        e->evict_none = false;
        for (size_t i = 0; i < si->n_caches; i++) {
                const struct slabinfo_cache *sc = &si->caches[i];
                uint32_t id = UINT32_MAX;
                if (i < e->order_n && e->order[i] < e->caches_allocated) {
                        const char *name = history_series_name(e->history, e->order[i]);
                        if (name && e->caches[e->order[i]].used && strcmp(name, sc->name) == 0)
                                id = e->order[i];
                }
                if (id == UINT32_MAX) {
                        int found = history_series_find(e->history, ENGINE_SERIES_CACHE, sc->name);
                        if (found >= 0)
                                id = (uint32_t) found;
                        else if (cache_add(e, sc->name, reclaimable, userdata, &id) < 0) {
                                /* Over the memory bound or out of memory: skip it. */
                                e->order[i] = UINT32_MAX;
                                e->caches_untracked++;
                                continue;
                        }
                }
                e->order[i] = id;
                struct cache *c = &e->caches[id];
                if (c->restored) {
                        int q = reclaimable ? reclaimable(sc->name, userdata) : -EOPNOTSUPP;
                        if (q >= 0)
                                c->reclaimable = q > 0;
                        c->rule = engine_rule_index(&e->config, sc->name, c);
                        c->restored = false;
                }
                if (c->seen_sample == e->n_samples)
                        continue; /* the same name twice in one file: keep the first */
                bool was_present = c->seen_sample + 1 == e->n_samples;
                if (!was_present || sc->active_objs != c->active_objs)
                        c->last_change_usec = e->last_usec;
                c->seen_sample = e->n_samples;
                c->active_objs = sc->active_objs;
                c->num_objs = sc->num_objs;
                c->num_slabs = sc->num_slabs;
                c->objsize = sc->objsize;
                c->objperslab = sc->objperslab;
                c->pagesperslab = sc->pagesperslab;
                (void) history_set(e->history, id, sc->active_objs, sc->num_slabs);
                uint64_t bytes = slabinfo_cache_bytes(sc, e->page_size);
                if (c->reclaimable)
                        rec += bytes;
                else
                        unrec += bytes;
        }
        e->order_n = si->n_caches;
        *ret_unrec = unrec;
        *ret_rec = rec;
        return 0;
}

static void set_series(struct engine *e, int *id, unsigned kind, const char *name, uint64_t value) {
        if (*id < 0) {
                int r = history_series_add(e->history, kind, name, 1);
                if (r < 0)
                        return;
                *id = r;
        }
        (void) history_set(e->history, (uint32_t) *id, value, 0);
}

static enum history_tier tier_for(const struct engine *e, uint64_t window_usec) {
        const struct history_params *p = history_params(e->history);
        if (window_usec <= p->span_usec[HISTORY_TIER_RAW])
                return HISTORY_TIER_RAW;
        if (window_usec <= p->span_usec[HISTORY_TIER_MINUTE])
                return HISTORY_TIER_MINUTE;
        return HISTORY_TIER_HOUR;
}

/* Read series @id over the window ending now into @t (seconds before now)
 * and @y. Returns the count. */
static size_t window_points(const struct engine *e, uint32_t id, uint64_t window_usec, double *t, double *y) {
        struct history_point pts[ENGINE_FIT_POINTS];
        uint64_t since = e->last_usec > window_usec ? e->last_usec - window_usec : 0;
        if (since < e->fit_since_usec)
                since = e->fit_since_usec;
        int n = history_read_spread(e->history, id, tier_for(e, window_usec), since, pts, ENGINE_FIT_POINTS);
        for (int i = 0; i < n; i++) {
                /* Seconds before now: small numbers keep the doubles exact. */
                t[i] = -(double) (e->last_usec - pts[i].t_usec) / USEC_PER_SEC;
                y[i] = pts[i].last;
        }
        return n > 0 ? (size_t) n : 0;
}

/* Enough of the window is covered to judge. */
static bool fit_decided(const struct growth_fit *f, uint64_t window_usec) {
        return f->n >= ENGINE_FIT_MIN_POINTS && f->span_sec * USEC_PER_SEC * 2 >= (double) window_usec;
}

/* Fit series @id over the window ending now. False if too few points. */
static bool fit_series(const struct engine *e, uint32_t id, uint64_t window_usec, struct growth_fit *ret) {
        double t[ENGINE_FIT_POINTS], y[ENGINE_FIT_POINTS];
        size_t n = window_points(e, id, window_usec, t, y);
        if (n == 0 || growth_fit(t, y, n, ret) < 0)
                return false;
        return fit_decided(ret, window_usec);
}

static uint64_t cache_bytes(const struct engine *e, const struct cache *c) {
        return c->num_slabs * c->pagesperslab * (uint64_t) e->page_size;
}

/* Slab memory one object takes, its share of the slab's pages included. */
static double bytes_per_object(const struct engine *e, const struct cache *c) {
        if (c->objperslab > 0 && c->pagesperslab > 0)
                return (double) c->pagesperslab * e->page_size / c->objperslab;
        return c->objsize;
}

static int pts_reserve(struct engine *e, size_t n) {
        if (n <= e->pts_allocated)
                return 0;
        struct history_point *p = realloc(e->pts, n * sizeof *p);
        if (!p)
                return -ENOMEM;
        e->pts = p;
        e->pts_allocated = n;
        return 0;
}

/* The floor of series @id over @window ending now: the minima of
 * ENGINE_FLOOR_BUCKETS buckets (or of the tier's own, if coarser) in @f at
 * times @t (seconds before now). Windows of ENGINE_FLOOR_MINUTE_WINDOW_USEC
 * or more read the minute tier, whose buckets keep their minimum; shorter
 * ones the raw samples. Buckets are aligned to absolute time, so a bucket's
 * minimum does not move between evaluations. Returns the count. */
static size_t floor_points(struct engine *e, uint32_t id, uint64_t window_usec, double *t, double *f) {
        const struct history_params *p = history_params(e->history);
        uint64_t since = e->last_usec > window_usec ? e->last_usec - window_usec : 0;
        if (since < e->fit_since_usec)
                since = e->fit_since_usec;
        bool raw = window_usec < ENGINE_FLOOR_MINUTE_WINDOW_USEC && window_usec <= p->span_usec[HISTORY_TIER_RAW];
        enum history_tier tier = raw ? HISTORY_TIER_RAW
                                 : window_usec <= p->span_usec[HISTORY_TIER_MINUTE] ? HISTORY_TIER_MINUTE
                                                                                   : HISTORY_TIER_HOUR;
        size_t want = history_count_since(e->history, tier, since);
        if (want == 0 || pts_reserve(e, want) < 0)
                return 0;
        int got = history_read(e->history, id, tier, since, e->pts, want);
        if (got <= 0)
                return 0;
        uint64_t width = window_usec / ENGINE_FLOOR_BUCKETS;
        uint64_t finest = raw ? p->interval_usec : history_tier_width_usec(tier);
        if (width < finest)
                width = finest;
        size_t n = 0;
        uint64_t bucket = UINT64_MAX;
        /* window / ENGINE_FLOOR_BUCKETS wide buckets: about 61, far below FLOOR_POINTS_MAX. */
        for (int i = 0; i < got && n < FLOOR_POINTS_MAX; i++) {
                const struct history_point *pt = &e->pts[i];
                /* A bucket tier's point carries its last sample's time: its
                 * bucket is the one that time falls in. */
                uint64_t b = pt->t_usec / width;
                double ts = -(double) (e->last_usec - pt->t_usec) / USEC_PER_SEC;
                if (b == bucket && n > 0) {
                        if (pt->min < f[n - 1])
                                f[n - 1] = pt->min;
                        t[n - 1] = ts;
                        continue;
                }
                bucket = b;
                t[n] = ts;
                f[n] = pt->min;
                n++;
        }
        return n;
}

static void measure_cache(struct engine *e, uint32_t id, struct cache *c) {
        struct detect_measure *m = &c->m;
        uint64_t window = window_of(e, c);
        bool present = c->seen_sample == e->n_samples;
        *m = (struct detect_measure) {
                .t_usec = e->last_usec,
                .active_objs = c->active_objs,
                .bytes = cache_bytes(e, c),
                .floor = (double) c->active_objs,
                .exhaust_sec = INFINITY,
        };
        if (!present)
                return;
        uint64_t known_since = c->first_usec > e->fit_since_usec ? c->first_usec : e->fit_since_usec;
        if (c->last_change_usec <= c->first_usec || c->last_change_usec + window <= e->last_usec) {
                /* Flat over the whole window (or since it appeared): nothing rose. */
                m->decided = e->last_usec - known_since >= window / 2;
                return;
        }
        double t[FLOOR_POINTS_MAX], f[FLOOR_POINTS_MAX];
        size_t n = floor_points(e, id, window, t, f);
        struct floor_result r;
        bool recent_clear = c->cleared_usec > 0 && c->cleared_usec + window > e->last_usec;
        double hold = (double) window / ENGINE_FLOOR_HOLD_DIVISOR / USEC_PER_SEC;
        if (hold > ENGINE_FLOOR_HOLD_MAX_SEC)
                hold = ENGINE_FLOOR_HOLD_MAX_SEC;
        if (floor_test(t, f, n, c->objperslab, recent_clear ? c->cleared_floor : 0, hold, &r) < 0)
                return;
        m->decided = r.n >= FLOOR_POINTS_MIN;
        m->floor = r.level;
        m->rise_objs = r.rise;
        m->rise_sec = r.span_sec;
        m->significance = r.significance;
        m->steady = r.steady;
        m->trend = r.trend;
        m->objs_per_min = r.rate_per_sec * 60;
        m->bytes_per_hour = r.rate_per_sec * 3600 * bytes_per_object(e, c);
        /* Relative to the level it rose from; an empty cache counts as one
         * slab, so a first slab is not "infinite" growth. */
        double base = r.base;
        double floor = c->objperslab > 0 ? c->objperslab : 1;
        if (base < floor)
                base = floor;
        m->percent_per_hour = r.rate_per_sec * 3600 / base * 100;
        if (m->bytes_per_hour > 0 && isfinite(e->mem_total_bytes))
                m->exhaust_sec = e->mem_total_bytes / m->bytes_per_hour * 3600;
}

static void emit(const struct engine *e, enum engine_event_type type, const struct cache *c, uint32_t id,
                 engine_event_fn on_event, void *userdata) {
        if (!on_event)
                return;
        struct engine_event ev = {
                .type = type,
                .t_usec = e->last_usec,
                .verdict_flags = e->verdict.flags,
                .verdict_text = e->verdict.text,
                .rule_match = "",
        };
        if (c) {
                ev.cache = history_series_name(e->history, id);
                ev.reclaimable = c->reclaimable;
                ev.objs_per_min = c->m.objs_per_min;
                ev.bytes_per_hour = c->m.bytes_per_hour;
                ev.percent_per_hour = c->m.percent_per_hour;
                ev.trend = c->m.trend;
                ev.rise_objs = c->m.rise_objs;
                ev.rise_sec = c->m.rise_sec;
                ev.significance = c->m.significance;
                ev.active_objs = c->active_objs;
                ev.bytes = cache_bytes(e, c);
                ev.window_usec = window_of(e, c);
                if (c->rule >= 0)
                        ev.rule_match = e->config.rules[c->rule].match;
        } else {
                ev.window_usec = ENGINE_VERDICT_WINDOW_USEC;
        }
        on_event(&ev, userdata);
}

/* Evaluate the caches due; their events wait in c->pending. Returns how
 * many events wait, and in @ret_trips how many are trips. */
static unsigned evaluate_caches(struct engine *e, unsigned *ret_trips) {
        unsigned n = 0, trips = 0;
        uint32_t end = history_series_end(e->history);
        if (end > e->caches_allocated)
                end = e->caches_allocated;
        for (uint32_t id = 0; id < end; id++) {
                struct cache *c = &e->caches[id];
                if (!c->used || e->last_usec < c->next_fit_usec)
                        continue;
                uint64_t window = window_of(e, c);
                c->next_fit_usec = e->last_usec + fit_period(e, window);
                bool present = c->seen_sample == e->n_samples;
                if (!present && c->det.state == DETECT_PENDING)
                        c->det.state = DETECT_OK;
                measure_cache(e, id, c);
                c->measured = c->m.decided;
                if (c->m.decided)
                        detect_observe(&c->det, e->last_usec, (uint64_t) c->m.floor);
                const struct config_rule *rule = c->rule >= 0 ? &e->config.rules[c->rule] : NULL;
                if (rule) {
                        c->pending = detect_step(&c->det, rule, &e->config.alert, &c->m);
                        if (c->pending == DETECT_EVENT_CLEARED) {
                                c->cleared_usec = e->last_usec;
                                c->cleared_floor = (double) c->det.high_water;
                        }
                } else {
                        /* No rule applies any more: a trip cannot stand. */
                        c->pending = c->det.state == DETECT_TRIPPED ? DETECT_EVENT_CLEARED : DETECT_EVENT_NONE;
                        c->det.state = DETECT_OK;
                }
                if (c->pending != DETECT_EVENT_NONE)
                        n++;
                if (c->pending == DETECT_EVENT_TRIP)
                        trips++;
        }
        *ret_trips = trips;
        return n;
}

static void emit_pending(struct engine *e, engine_event_fn on_event, void *userdata) {
        static const enum engine_event_type types[] = {
                [DETECT_EVENT_TRIP] = ENGINE_EVENT_TRIP,
                [DETECT_EVENT_RETRIP] = ENGINE_EVENT_RETRIP,
                [DETECT_EVENT_CLEARED] = ENGINE_EVENT_CLEARED,
        };
        uint32_t end = history_series_end(e->history);
        for (uint32_t id = 0; id < end && id < e->caches_allocated; id++) {
                struct cache *c = &e->caches[id];
                if (!c->used || c->pending == DETECT_EVENT_NONE)
                        continue;
                enum detect_event ev = c->pending;
                c->pending = DETECT_EVENT_NONE;
                emit(e, types[ev], c, id, on_event, userdata);
        }
}

/* Growth of a kB series over the verdict window, in bytes. */
static struct verdict_growth growth_kb(const struct engine *e, int id) {
        struct verdict_growth g = {};
        struct growth_fit f;
        if (id < 0 || !fit_series(e, (uint32_t) id, ENGINE_VERDICT_WINDOW_USEC, &f))
                return g;
        g.known = true;
        g.bytes_per_hour = f.slope_per_sec * 3600 * KIB;
        g.trend = f.trend;
        return g;
}

/* Judge again when due, or now when @trips caches just tripped. True if the
 * published verdict changed. */
static bool evaluate_verdict(struct engine *e, unsigned trips) {
        if (e->last_usec < e->next_verdict_usec && trips == 0)
                return false;
        e->next_verdict_usec = e->last_usec + fit_period(e, ENGINE_VERDICT_WINDOW_USEC);

        struct verdict_input in = {
                .sunreclaim = growth_kb(e, e->meminfo_id[MEMINFO_SUNRECLAIM]),
                .vmalloc_used = growth_kb(e, e->meminfo_id[MEMINFO_VMALLOC_USED]),
                .anon_pages = growth_kb(e, e->meminfo_id[MEMINFO_ANON_PAGES]),
                .shmem = growth_kb(e, e->meminfo_id[MEMINFO_SHMEM]),
                .have_slabinfo = e->have_slabinfo,
                .caches = e->verdict_caches,
        };
        if (e->have_slabinfo)
                in.slab_unreclaimable = growth_kb(e, e->derived_unreclaimable_id);
        /* Caches to name: the tripped ones, and unreclaimable ones that grow
         * steadily even if below their rule. */
        uint32_t end = history_series_end(e->history);
        for (uint32_t id = 0; id < end && id < e->caches_allocated; id++) {
                const struct cache *c = &e->caches[id];
                if (!c->used || !c->measured || c->seen_sample != e->n_samples)
                        continue;
                bool tripped = c->det.state == DETECT_TRIPPED;
                if (!tripped && (c->reclaimable || c->m.trend < e->verdict_params.min_trend))
                        continue;
                e->verdict_caches[in.n_caches++] = (struct verdict_cache) {
                        .name = history_series_name(e->history, id),
                        .bytes_per_hour = c->m.bytes_per_hour,
                        .tripped = tripped,
                };
        }

        struct verdict v;
        verdict_compute(&e->verdict_params, &in, &v);
        if (v.flags == e->verdict.flags) {
                e->verdict = v; /* same judgement, fresher numbers */
                e->verdict_candidate_n = 0;
                return false;
        }
        if (v.flags != e->verdict_candidate || e->verdict_candidate_n == 0) {
                e->verdict_candidate = v.flags;
                e->verdict_candidate_n = 1;
        } else
                e->verdict_candidate_n++;
        /* A trip is evidence enough: it held for its rule's `for` already. */
        bool tripped_slab = trips > 0 && (v.flags & VERDICT_SLAB) && !(e->verdict.flags & VERDICT_SLAB);
        if (e->verdict_candidate_n < ENGINE_VERDICT_HOLD && !tripped_slab)
                return false;
        e->verdict = v;
        e->verdict_candidate_n = 0;
        return true;
}

int engine_feed(struct engine *e, uint64_t t_usec, const struct slabinfo *si, const struct meminfo *mi,
                uint32_t page_size, engine_reclaimable_fn reclaimable, engine_event_fn on_event,
                void *userdata) {
        if (!e || page_size == 0)
                return -EINVAL;
        int r = history_begin_sample(e->history, t_usec);
        if (r < 0)
                return r;
        e->n_samples++;
        e->last_usec = t_usec;
        e->page_size = page_size;
        e->have_slabinfo = si != NULL;

        uint64_t unrec = 0, rec = 0;
        if (si) {
                r = feed_slabinfo(e, si, reclaimable, userdata, &unrec, &rec);
                if (r < 0) {
                        history_end_sample(e->history);
                        return r;
                }
                set_series(e, &e->derived_unreclaimable_id, ENGINE_SERIES_DERIVED,
                           ENGINE_DERIVED_SLAB_UNRECLAIMABLE, unrec / 1024);
                set_series(e, &e->derived_reclaimable_id, ENGINE_SERIES_DERIVED,
                           ENGINE_DERIVED_SLAB_RECLAIMABLE, rec / 1024);
        }
        uint64_t total_kb;
        if (mi && meminfo_get(mi, MEMINFO_MEM_TOTAL, &total_kb) && total_kb > 0)
                e->mem_total_bytes = (double) total_kb * KIB;
        if (mi)
                for (int k = 0; k < _MEMINFO_KEY_MAX; k++) {
                        uint64_t v;
                        if (meminfo_get(mi, (enum meminfo_key) k, &v))
                                set_series(e, &e->meminfo_id[k], ENGINE_SERIES_MEMINFO,
                                           meminfo_key_name((enum meminfo_key) k), v);
                }
        history_end_sample(e->history);

        /* Cache events go out after the verdict is judged, so a trip
         * carries the verdict it caused; the verdict change follows them. */
        unsigned trips;
        unsigned n_events = evaluate_caches(e, &trips);
        bool changed = evaluate_verdict(e, trips);
        if (n_events > 0)
                emit_pending(e, on_event, userdata);
        if (changed)
                emit(e, ENGINE_EVENT_VERDICT, NULL, 0, on_event, userdata);
        return 0;
}

size_t engine_caches_untracked(const struct engine *e) {
        return e->caches_untracked;
}

uint64_t engine_n_samples(const struct engine *e) {
        return e->n_samples;
}

uint64_t engine_last_usec(const struct engine *e) {
        return e->last_usec;
}

const struct verdict *engine_verdict(const struct engine *e) {
        return &e->verdict;
}

const struct history *engine_history(const struct engine *e) {
        return e->history;
}

static void cache_info(const struct engine *e, uint32_t id, struct engine_cache_info *ret) {
        const struct cache *c = &e->caches[id];
        *ret = (struct engine_cache_info) {
                .name = history_series_name(e->history, id),
                .series_id = id,
                .present = c->seen_sample == e->n_samples,
                .reclaimable = c->reclaimable,
                .state = c->det.state,
                .active_objs = c->active_objs,
                .num_objs = c->num_objs,
                .bytes = cache_bytes(e, c),
                .objsize = c->objsize,
                .rates_known = c->measured,
                .objs_per_min = c->m.objs_per_min,
                .bytes_per_hour = c->m.bytes_per_hour,
                .percent_per_hour = c->m.percent_per_hour,
                .trend = c->m.trend,
                .rise_objs = c->m.rise_objs,
                .rise_sec = c->m.rise_sec,
                .significance = c->m.significance,
                .window_usec = window_of(e, c),
                .rule_match = c->rule >= 0 ? e->config.rules[c->rule].match : "",
                .tripped_since_usec = c->det.state == DETECT_TRIPPED ? c->det.tripped_since_usec : 0,
        };
}

int engine_foreach_cache(const struct engine *e, engine_cache_fn cb, void *userdata) {
        uint32_t end = history_series_end(e->history);
        for (uint32_t id = 0; id < end && id < e->caches_allocated; id++) {
                if (!e->caches[id].used)
                        continue;
                struct engine_cache_info info;
                cache_info(e, id, &info);
                int r = cb(&info, userdata);
                if (r < 0)
                        return r;
        }
        return 0;
}

int engine_cache_get(const struct engine *e, const char *name, struct engine_cache_info *ret) {
        int id = history_series_find(e->history, ENGINE_SERIES_CACHE, name);
        if (id < 0 || (uint32_t) id >= e->caches_allocated || !e->caches[id].used)
                return -ENOENT;
        cache_info(e, (uint32_t) id, ret);
        return 0;
}

int engine_cache_history(const struct engine *e, const char *name, enum history_tier tier,
                         uint64_t since_usec, struct history_point *ret, size_t n) {
        int id = history_series_find(e->history, ENGINE_SERIES_CACHE, name);
        if (id < 0)
                return -ENOENT;
        return history_read(e->history, (uint32_t) id, tier, since_usec, ret, n);
}

int engine_meminfo_history(const struct engine *e, enum meminfo_key key, enum history_tier tier,
                           uint64_t since_usec, struct history_point *ret, size_t n) {
        if ((unsigned) key >= _MEMINFO_KEY_MAX)
                return -EINVAL;
        if (e->meminfo_id[key] < 0)
                return -ENOENT;
        return history_read(e->history, (uint32_t) e->meminfo_id[key], tier, since_usec, ret, n);
}

