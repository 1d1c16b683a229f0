#include <check.h>
#include <errno.h>
#include <glob.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caches/engine.h"
#include "caches/labels.h"
#include "caches/slablog.h"
#include "base/slabname.h"
#include "testutil.h"

#define SEC UINT64_C(1000000)
#define MIN (60 * SEC)
#define T0 (UINT64_C(1795557600) * SEC)
#define PAGE 4096u
#define CACHES_MAX 8
#define EVENTS_MAX 256


static struct config config(uint64_t interval_usec) {
        struct config c;
        config_defaults(&c);
        c.interval_usec = interval_usec; /* the shipped rules, as tuned on the dataset */
        return c;
}

struct event {
        enum engine_event_type type;
        uint64_t t_usec;
        char cache[SLABINFO_NAME_MAX];
        double objs_per_min;
        unsigned verdict_flags;
        char verdict_text[VERDICT_TEXT_MAX];
        char rule[CONFIG_MATCH_MAX];
};

struct events {
        unsigned n;
        struct event ev[EVENTS_MAX];
};

static void on_event(const struct engine_event *ev, void *userdata) {
        struct events *e = userdata;
        if (e->n >= EVENTS_MAX)
                return;
        struct event *x = &e->ev[e->n++];
        x->type = ev->type;
        x->t_usec = ev->t_usec;
        snprintf(x->cache, sizeof x->cache, "%s", ev->cache ? ev->cache : "");
        x->objs_per_min = ev->objs_per_min;
        x->verdict_flags = ev->verdict_flags;
        snprintf(x->verdict_text, sizeof x->verdict_text, "%s", ev->verdict_text);
        snprintf(x->rule, sizeof x->rule, "%s", ev->rule_match);
        if (ev->type != ENGINE_EVENT_VERDICT) {
                ck_assert_uint_gt(ev->window_usec, 0);
                ck_assert_ptr_nonnull(ev->rule_match);
        }
}

/* First event of @type for @cache ("" for any), or NULL. */
static const struct event *find(const struct events *e, enum engine_event_type type, const char *cache) {
        for (unsigned i = 0; i < e->n; i++)
                if (e->ev[i].type == type && (!*cache || strcmp(e->ev[i].cache, cache) == 0))
                        return &e->ev[i];
        return NULL;
}

static unsigned count(const struct events *e, enum engine_event_type type) {
        unsigned n = 0;
        for (unsigned i = 0; i < e->n; i++)
                n += e->ev[i].type == type;
        return n;
}

/* A hand-made /proc/slabinfo. */
struct fake {
        struct slabinfo si;
        struct slabinfo_cache caches[CACHES_MAX];
        struct meminfo mi;
};

static void fake_cache(struct fake *f, const char *name, uint32_t objsize, uint32_t objperslab) {
        ck_assert_uint_lt(f->si.n_caches, CACHES_MAX);
        struct slabinfo_cache *c = &f->caches[f->si.n_caches++];
        *c = (struct slabinfo_cache) { .objsize = objsize, .objperslab = objperslab, .pagesperslab = 1 };
        snprintf(c->name, sizeof c->name, "%s", name);
        f->si.caches = f->caches;
        f->si.version_major = 2;
        f->si.version_minor = 1;
}

static void fake_set(struct fake *f, const char *name, uint64_t objs) {
        /* Also caches cut off the table's end, for when they come back. */
        for (size_t i = 0; i < CACHES_MAX; i++) {
                struct slabinfo_cache *c = &f->caches[i];
                if (strcmp(c->name, name) != 0)
                        continue;
                c->active_objs = objs;
                c->num_slabs = c->active_slabs = (objs + c->objperslab - 1) / c->objperslab;
                c->num_objs = c->num_slabs * c->objperslab;
                return;
        }
        ck_abort_msg("no cache %s", name);
}

static void fake_meminfo(struct fake *f, uint64_t sunreclaim_kb, uint64_t vmalloc_kb, uint64_t anon_kb) {
        char text[512];
        int n = snprintf(text, sizeof text,
                         "MemTotal: 2000000 kB\nMemFree: 1000000 kB\nSUnreclaim: %llu kB\nVmallocUsed: %llu kB\n"
                         "AnonPages: %llu kB\nShmem: 1000 kB\n",
                         (unsigned long long) sunreclaim_kb, (unsigned long long) vmalloc_kb,
                         (unsigned long long) anon_kb);
        ck_assert_int_eq(meminfo_parse(text, (size_t) n, &f->mi), 0);
}

static unsigned reclaimable_calls;

static int reclaimable(const char *cache, void *userdata) {
        (void) userdata;
        reclaimable_calls++;
        if (strcmp(cache, "sysfs-says-yes") == 0)
                return 1;
        if (strcmp(cache, "dentry") == 0)
                return -EIO; /* unreadable: the name is guessed */
        return 0;
}

static struct fake *fake_new(void) {
        struct fake *f = calloc(1, sizeof *f);
        ck_assert_ptr_nonnull(f);
        fake_cache(f, "leaky", 256, 16);
        fake_cache(f, "churn", 192, 21);
        fake_cache(f, "flat", 64, 64);
        fake_meminfo(f, 30000, 14000, 6000);
        return f;
}

/* Feed sample @i (10 s apart): "leaky" grows 3 objects/s from minute 10
 * until @leak_end_min, "churn" saws, "flat" stays. */
static void feed_synthetic(struct engine *e, struct fake *f, unsigned i, unsigned leak_end_min, struct events *ev) {
        uint64_t t = T0 + i * 10 * SEC;
        unsigned start = 60, end = leak_end_min * 6;
        unsigned leaked = i < start ? 0 : (i < end ? i : end) - start;
        fake_set(f, "leaky", 800 + 30 * leaked);
        fake_set(f, "churn", 3000 + 400 * (i % 7));
        fake_set(f, "flat", 640);
        ck_assert_int_eq(engine_feed(e, t, &f->si, &f->mi, PAGE, reclaimable, on_event, ev), 0);
}

START_TEST(synthetic_trip_and_clear) {
        struct config c = config(10 * SEC);
        struct engine *e;
        ck_assert_int_eq(engine_new(&c, &e), 0);
        struct fake *f = fake_new();
        struct events ev = {};
        reclaimable_calls = 0;
        for (unsigned i = 0; i < 6 * 60; i++)
                feed_synthetic(e, f, i, 30, &ev);
        ck_assert_uint_eq(reclaimable_calls, 3); /* once per new name */
        const struct event *trip = find(&ev, ENGINE_EVENT_TRIP, "leaky");
        ck_assert_ptr_nonnull(trip);
        /* Leak from minute 10: half a window to decide, then 2 minutes of `for`. */
        ck_assert_uint_ge(trip->t_usec, T0 + 12 * MIN);
        ck_assert_uint_le(trip->t_usec, T0 + 17 * MIN);
        ck_assert_double_eq_tol(trip->objs_per_min, 180, 60);
        ck_assert_str_eq(trip->rule, "*");
        ck_assert(trip->verdict_flags & VERDICT_SLAB); /* the trip carries the verdict it caused */
        ck_assert_ptr_nonnull(strstr(trip->verdict_text, "leaky"));
        ck_assert_uint_eq(count(&ev, ENGINE_EVENT_TRIP), 1);
        const struct event *verdict = find(&ev, ENGINE_EVENT_VERDICT, "");
        ck_assert_ptr_nonnull(verdict);
        ck_assert(verdict > trip);
        /* The leak ends at minute 30: cleared 10 minutes later, give or take an evaluation. */
        const struct event *cleared = find(&ev, ENGINE_EVENT_CLEARED, "leaky");
        ck_assert_ptr_nonnull(cleared);
        ck_assert_uint_ge(cleared->t_usec, T0 + 40 * MIN);
        ck_assert_uint_le(cleared->t_usec, T0 + 42 * MIN);
        ck_assert_uint_eq(count(&ev, ENGINE_EVENT_RETRIP), 0);

        struct engine_cache_info info;
        ck_assert_int_eq(engine_cache_get(e, "churn", &info), 0);
        ck_assert_int_eq(info.state, DETECT_OK);
        ck_assert(info.present);
        ck_assert(!info.reclaimable);
        ck_assert_uint_eq(info.objsize, 192);
        ck_assert_int_eq(engine_cache_get(e, "leaky", &info), 0);
        ck_assert_uint_eq(info.active_objs, 800 + 30 * 120);
        ck_assert_uint_eq(info.bytes, (info.active_objs + 15) / 16 * PAGE);
        ck_assert_int_eq(engine_cache_get(e, "nope", &info), -ENOENT);
        ck_assert_uint_eq(engine_n_samples(e), 360);
        ck_assert_uint_eq(engine_last_usec(e), T0 + 359 * 10 * SEC);
        engine_free(e);
        free(f);
}
END_TEST

START_TEST(retrip_when_faster) {
        struct config c = config(10 * SEC);
        struct engine *e;
        ck_assert_int_eq(engine_new(&c, &e), 0);
        struct fake *f = fake_new();
        struct events ev = {};
        uint64_t objs = 800;
        for (unsigned i = 0; i < 6 * 50; i++) {
                /* 3 objects/s, from minute 25 on 12 objects/s. */
                objs += i < 150 ? 30 : 120;
                fake_set(f, "leaky", objs);
                ck_assert_int_eq(engine_feed(e, T0 + i * 10 * SEC, &f->si, &f->mi, PAGE, NULL, on_event, &ev), 0);
        }
        ck_assert_uint_eq(count(&ev, ENGINE_EVENT_TRIP), 1);
        const struct event *retrip = find(&ev, ENGINE_EVENT_RETRIP, "leaky");
        ck_assert_ptr_nonnull(retrip);
        ck_assert_uint_gt(retrip->t_usec, T0 + 25 * MIN);
        ck_assert_uint_eq(count(&ev, ENGINE_EVENT_RETRIP), 1);
        engine_free(e);
        free(f);
}
END_TEST

START_TEST(rules_and_reclaimable) {
        struct config c = config(10 * SEC);
        /* An ignore rule first: the leak never trips. */
        memmove(&c.rules[1], &c.rules[0], 2 * sizeof c.rules[0]);
        c.rules[0] = (struct config_rule) { .match = "leak*", .ignore = true };
        c.n_rules = 3;
        struct engine *e;
        ck_assert_int_eq(engine_new(&c, &e), 0);
        struct fake *f = fake_new();
        fake_cache(f, "sysfs-says-yes", 64, 64);
        fake_cache(f, "dentry", 192, 21);
        fake_set(f, "sysfs-says-yes", 64);
        fake_set(f, "dentry", 210);
        struct events ev = {};
        reclaimable_calls = 0;
        for (unsigned i = 0; i < 6 * 30; i++)
                feed_synthetic(e, f, i, 30, &ev);
        ck_assert_uint_eq(count(&ev, ENGINE_EVENT_TRIP), 0);
        ck_assert_uint_eq(reclaimable_calls, 5);
        struct engine_cache_info info;
        ck_assert_int_eq(engine_cache_get(e, "leaky", &info), 0);
        ck_assert_str_eq(info.rule_match, "leak*");
        ck_assert(info.rates_known);
        ck_assert_double_eq_tol(info.objs_per_min, 180, 1);
        ck_assert(info.trend > 0.99);
        ck_assert_int_eq(engine_cache_get(e, "sysfs-says-yes", &info), 0);
        ck_assert(info.reclaimable);
        ck_assert_int_eq(engine_cache_get(e, "dentry", &info), 0);
        ck_assert(info.reclaimable); /* guessed from the name */
        ck_assert_int_eq(engine_cache_get(e, "flat", &info), 0);
        ck_assert(!info.reclaimable);

        /* Without the ignore rule the leak trips, history kept across. */
        struct config d = config(10 * SEC);
        ck_assert_int_eq(engine_reconfigure(e, &d), 0);
        ck_assert_uint_eq(engine_n_samples(e), 180);
        for (unsigned i = 180; i < 6 * 40; i++)
                feed_synthetic(e, f, i, 60, &ev);
        const struct event *trip = find(&ev, ENGINE_EVENT_TRIP, "leaky");
        ck_assert_ptr_nonnull(trip);
        /* The window was full: after the rule's `for`, plus an evaluation at most. */
        ck_assert_uint_le(trip->t_usec, T0 + 32 * MIN + 30 * SEC);
        engine_free(e);
        free(f);
}
END_TEST

START_TEST(reconfigure_history) {
        struct config c = config(10 * SEC);
        struct engine *e;
        ck_assert_int_eq(engine_new(&c, &e), 0);
        struct fake *f = fake_new();
        struct events ev = {};
        for (unsigned i = 0; i < 100; i++)
                feed_synthetic(e, f, i, 30, &ev);
        struct history_point p[128];
        ck_assert_int_eq(engine_cache_history(e, "leaky", HISTORY_TIER_RAW, 0, p, 128), 100);
        /* Shorter raw tier: the newest are kept. */
        c.history.raw_usec = 5 * MIN;
        ck_assert_int_eq(engine_reconfigure(e, &c), 0);
        ck_assert_int_eq(engine_cache_history(e, "leaky", HISTORY_TIER_RAW, 0, p, 128), 31);
        ck_assert_uint_eq(p[30].last, 800 + 30 * 39);
        ck_assert_uint_eq(p[30].t_usec, T0 + 99 * 10 * SEC);
        ck_assert_uint_eq(p[30].aux, (800 + 30 * 39 + 15) / 16);
        ck_assert_int_eq(engine_cache_history(e, "leaky", HISTORY_TIER_MINUTE, 0, p, 128), 17);
        ck_assert_int_eq(engine_cache_history(e, "nope", HISTORY_TIER_MINUTE, 0, p, 128), -ENOENT);
        ck_assert_int_eq(engine_meminfo_history(e, MEMINFO_SUNRECLAIM, HISTORY_TIER_RAW, 0, p, 128), 31);
        ck_assert_uint_eq(p[0].last, 30000);
        ck_assert_int_eq(engine_meminfo_history(e, MEMINFO_PERCPU, HISTORY_TIER_RAW, 0, p, 128), -ENOENT);
        ck_assert_int_eq(engine_meminfo_history(e, _MEMINFO_KEY_MAX, HISTORY_TIER_RAW, 0, p, 128), -EINVAL);
        /* A config the history cannot take leaves the old one in force. */
        struct config bad = c;
        bad.interval_usec = 0;
        ck_assert_int_eq(engine_reconfigure(e, &bad), -EINVAL);
        ck_assert_uint_eq(engine_config(e)->history.raw_usec, 5 * MIN);
        feed_synthetic(e, f, 100, 30, &ev);
        ck_assert_uint_eq(history_n_samples(engine_history(e)), 101);
        engine_free(e);
        free(f);
}
END_TEST

static int collect(const struct engine_cache_info *info, void *userdata) {
        unsigned *n = userdata;
        ck_assert_ptr_nonnull(info->name);
        (*n)++;
        return strcmp(info->name, "stop") == 0 ? -ECANCELED : 0;
}

START_TEST(vanished_and_retired) {
        struct config c = config(10 * SEC);
        c.history.raw_usec = 2 * MIN;
        c.history.minute_usec = 5 * MIN;
        c.history.hour_usec = HISTORY_HOUR_USEC;
        struct engine *e;
        ck_assert_int_eq(engine_new(&c, &e), 0);
        struct fake *f = fake_new();
        struct events ev = {};
        feed_synthetic(e, f, 0, 30, &ev);
        unsigned n = 0;
        ck_assert_int_eq(engine_foreach_cache(e, collect, &n), 0);
        ck_assert_uint_eq(n, 3);
        /* "flat" disappears (the last entry, dropped from the table). */
        f->si.n_caches = 2;
        for (unsigned i = 1; i < 6 * 60 * 3; i++)
                feed_synthetic(e, f, i, 1000, &ev);
        struct engine_cache_info info;
        ck_assert_int_eq(engine_cache_get(e, "flat", &info), -ENOENT);
        n = 0;
        ck_assert_int_eq(engine_foreach_cache(e, collect, &n), 0);
        ck_assert_uint_eq(n, 2);
        /* It comes back: a fresh series. */
        f->si.n_caches = 3;
        feed_synthetic(e, f, 6 * 60 * 3, 1000, &ev);
        ck_assert_int_eq(engine_cache_get(e, "flat", &info), 0);
        ck_assert(info.present);
        struct history_point p[8];
        ck_assert_int_eq(engine_cache_history(e, "flat", HISTORY_TIER_HOUR, 0, p, 8), 1);
        /* The walk stops where the callback says. */
        fake_cache(f, "stop", 8, 512);
        fake_set(f, "stop", 1);
        feed_synthetic(e, f, 6 * 60 * 3 + 1, 1000, &ev);
        n = 0;
        ck_assert_int_eq(engine_foreach_cache(e, collect, &n), -ECANCELED);
        engine_free(e);
        free(f);
}
END_TEST

/* A slabinfo of @n caches "many-<i>", each with @objs objects. */
static struct slabinfo *many_caches(size_t n, uint64_t objs) {
        struct slabinfo *si = calloc(1, sizeof *si);
        ck_assert_ptr_nonnull(si);
        si->caches = calloc(n, sizeof *si->caches);
        ck_assert_ptr_nonnull(si->caches);
        si->n_caches = n;
        si->version_major = 2;
        si->version_minor = 1;
        for (size_t i = 0; i < n; i++) {
                struct slabinfo_cache *c = &si->caches[i];
                snprintf(c->name, sizeof c->name, "many-%zu", i);
                c->objsize = 64;
                c->objperslab = 64;
                c->pagesperslab = 1;
                c->active_objs = c->num_objs = objs;
                c->num_slabs = c->active_slabs = 1 + objs / 64;
        }
        return si;
}

static void many_free(struct slabinfo *si) {
        free(si->caches);
        free(si);
}

/* 3,000 caches at 1 s with the default spans: more than
 * ENGINE_HISTORY_BYTES_MAX holds. The rest are counted, not tracked, and
 * the history stays within the bound even once every value is 32 bits. */
START_TEST(memory_bound) {
        struct config c = config(SEC);
        struct engine *e;
        ck_assert_int_eq(engine_new(&c, &e), 0);
        struct slabinfo *si = many_caches(3000, 100000); /* > 65535: 32-bit columns */
        ck_assert_int_eq(engine_feed(e, T0, si, NULL, PAGE, NULL, NULL, NULL), 0);
        const struct history *h = engine_history(e);
        size_t each = history_series_bytes_max(history_params(h), 2);
        ck_assert_uint_gt(each, 60 << 10); /* the figure engine.h states for 1 s */
        ck_assert_uint_lt(each, 64 << 10);
        unsigned tracked = 0;
        ck_assert_int_eq(engine_foreach_cache(e, collect, &tracked), 0);
        ck_assert_uint_gt(tracked, 2000);
        ck_assert_uint_eq(engine_caches_untracked(e), 3000 - tracked);
        /* Every series, the derived sums too, within the bound. */
        ck_assert_uint_le(history_n_series(h) * each, ENGINE_HISTORY_BYTES_MAX);
        ck_assert_uint_le(history_memory_bytes(h), ENGINE_HISTORY_BYTES_MAX);
        /* Next sample: the same caches stay out, no more memory. */
        size_t bytes = history_memory_bytes(h);
        ck_assert_int_eq(engine_feed(e, T0 + SEC, si, NULL, PAGE, NULL, NULL, NULL), 0);
        ck_assert_uint_eq(history_memory_bytes(engine_history(e)), bytes);
        ck_assert_uint_eq(engine_caches_untracked(e), 3000 - tracked);
        /* The burst goes away, other caches come: they take the place of
         * caches absent for a whole sample. */
        si->n_caches = 0;
        ck_assert_int_eq(engine_feed(e, T0 + 2 * SEC, si, NULL, PAGE, NULL, NULL, NULL), 0);
        si->n_caches = 100;
        for (size_t i = 0; i < 100; i++)
                snprintf(si->caches[i].name, sizeof si->caches[i].name, "new-%zu", i);
        ck_assert_int_eq(engine_feed(e, T0 + 3 * SEC, si, NULL, PAGE, NULL, NULL, NULL), 0);
        ck_assert_uint_eq(engine_caches_untracked(e), 0);
        struct engine_cache_info info;
        ck_assert_int_eq(engine_cache_get(e, "new-99", &info), 0);
        ck_assert(info.present);
        ck_assert_uint_le(history_memory_bytes(engine_history(e)), ENGINE_HISTORY_BYTES_MAX);
        /* A reconfiguration to dearer spans keeps only what fits. */
        c.interval_usec = SEC / 2;
        ck_assert_int_eq(engine_reconfigure(e, &c), 0);
        h = engine_history(e);
        each = history_series_bytes_max(history_params(h), 2);
        ck_assert_uint_le(history_n_series(h) * each, ENGINE_HISTORY_BYTES_MAX);
        ck_assert_uint_le(history_memory_bytes(h), ENGINE_HISTORY_BYTES_MAX);
        engine_free(e);
        many_free(si);
}
END_TEST

/* Caches that retire give their history back: 1,000 caches with the
 * default spans, then all but one absent for longer than the 30 days kept
 * (a sample every 10 minutes: every tier's ring turns over). */
START_TEST(retired_caches_give_memory_back) {
        struct config c = config(10 * SEC);
        struct engine *e;
        ck_assert_int_eq(engine_new(&c, &e), 0);
        struct slabinfo *si = many_caches(1000, 100);
        ck_assert_int_eq(engine_feed(e, T0, si, NULL, PAGE, NULL, NULL, NULL), 0);
        size_t full = history_memory_bytes(engine_history(e));
        ck_assert_uint_gt(full, 1000 * (16 << 10));
        unsigned n = 0;
        ck_assert_int_eq(engine_foreach_cache(e, collect, &n), 0);
        ck_assert_uint_eq(n, 1000);
        si->n_caches = 1;
        uint64_t t = T0;
        for (unsigned i = 0; i < 6 * 24 * 32; i++) {
                t += 10 * MIN;
                ck_assert_int_eq(engine_feed(e, t, si, NULL, PAGE, NULL, NULL, NULL), 0);
        }
        n = 0;
        ck_assert_int_eq(engine_foreach_cache(e, collect, &n), 0);
        ck_assert_uint_eq(n, 1);
        ck_assert_uint_lt(history_memory_bytes(engine_history(e)), full / 20);
        engine_free(e);
        many_free(si);
}
END_TEST

START_TEST(verdict_without_slabinfo) {
        /* slabinfo unreadable: meminfo alone; SUnreclaim grows 6 MiB/h. */
        struct config c = config(10 * SEC);
        struct engine *e;
        ck_assert_int_eq(engine_new(&c, &e), 0);
        struct fake *f = fake_new();
        struct events ev = {};
        for (unsigned i = 0; i < 6 * 20; i++) {
                fake_meminfo(f, 30000 + i * 17, 14000, 6000 + (i % 3) * 100);
                ck_assert_int_eq(engine_feed(e, T0 + i * 10 * SEC, NULL, &f->mi, PAGE, NULL, on_event, &ev), 0);
        }
        const struct verdict *v = engine_verdict(e);
        ck_assert_uint_eq(v->flags, VERDICT_SLAB);
        ck_assert_ptr_nonnull(strstr(v->text, "SUnreclaim +6.0 MiB/h"));
        ck_assert_uint_eq(count(&ev, ENGINE_EVENT_VERDICT), 1);
        ck_assert_uint_eq(count(&ev, ENGINE_EVENT_TRIP), 0);
        engine_free(e);
        free(f);
}
END_TEST

START_TEST(verdict_unaccounted_and_user) {
        /* Caches flat, SUnreclaim and AnonPages grow: large kmallocs and user. */
        struct config c = config(10 * SEC);
        struct engine *e;
        ck_assert_int_eq(engine_new(&c, &e), 0);
        struct fake *f = fake_new();
        struct events ev = {};
        for (unsigned i = 0; i < 6 * 20; i++) {
                fake_set(f, "leaky", 800);
                fake_set(f, "churn", 3000 + 400 * (i % 7));
                fake_set(f, "flat", 640);
                fake_meminfo(f, 30000 + i * 17, 14000, 6000 + i * 50);
                ck_assert_int_eq(engine_feed(e, T0 + i * 10 * SEC, &f->si, &f->mi, PAGE, NULL, on_event, &ev), 0);
        }
        const struct verdict *v = engine_verdict(e);
        ck_assert_uint_eq(v->flags, VERDICT_UNACCOUNTED | VERDICT_USER);
        const struct event *x = find(&ev, ENGINE_EVENT_VERDICT, "");
        ck_assert_ptr_nonnull(x);
        ck_assert_uint_eq(x->verdict_flags, VERDICT_UNACCOUNTED | VERDICT_USER);
        ck_assert_str_eq(engine_event_type_name(ENGINE_EVENT_VERDICT), "verdict");
        engine_free(e);
        free(f);
}
END_TEST

START_TEST(limits) {
        struct config c = config(0);
        struct engine *e;
        ck_assert_int_eq(engine_new(&c, &e), -EINVAL);
        c = config(10 * SEC);
        c.history.raw_usec = 0;
        ck_assert_int_eq(engine_new(&c, &e), -EINVAL);
        c = config(100); /* 100 µs samples for an hour: too many slots */
        ck_assert_int_eq(engine_new(&c, &e), -E2BIG);
        c = config(10 * SEC);
        ck_assert_int_eq(engine_new(&c, &e), 0);
        struct fake *f = fake_new();
        /* The same name twice in one table: the first counts. */
        fake_cache(f, "leaky", 256, 16);
        fake_set(f, "leaky", 5);
        f->caches[3].active_objs = 99999;
        ck_assert_int_eq(engine_feed(e, T0, &f->si, &f->mi, PAGE, NULL, NULL, NULL), 0);
        struct engine_cache_info info;
        ck_assert_int_eq(engine_cache_get(e, "leaky", &info), 0);
        ck_assert_uint_eq(info.active_objs, 5);
        /* Time must move forward; a page size is needed; nothing at all is fine. */
        ck_assert_int_eq(engine_feed(e, T0, &f->si, &f->mi, PAGE, NULL, NULL, NULL), -EINVAL);
        ck_assert_int_eq(engine_feed(e, T0 - SEC, &f->si, &f->mi, PAGE, NULL, NULL, NULL), -EINVAL);
        ck_assert_int_eq(engine_feed(e, T0 + SEC, &f->si, &f->mi, 0, NULL, NULL, NULL), -EINVAL);
        ck_assert_int_eq(engine_feed(e, T0 + SEC, NULL, NULL, PAGE, NULL, NULL, NULL), 0);
        ck_assert_int_eq(engine_cache_get(e, "leaky", &info), 0);
        ck_assert(!info.present);
        ck_assert_int_eq(engine_feed(NULL, T0, NULL, NULL, PAGE, NULL, NULL, NULL), -EINVAL);
        engine_free(e);
        engine_free(NULL);
        free(f);
}
END_TEST

START_TEST(slabname_guess) {
        /* reclaim_account as Linux 6.18 sets it (read from its sysfs). */
        static const char *const yes[] = {
                "dentry", "inode_cache", "proc_inode_cache", "sock_inode_cache", "ext4_inode_cache",
                "xfs_inode", "btrfs_inode", "fuse_inode", "ovl_inode", "radix_tree_node", "buffer_head",
                "extent_status", "jbd2_journal_head", "kmalloc-rcl-256", "mb_cache_entry", "pidfs_attr_cache",
                "tracefs_inode_cache", "xfs_ili", "bdev_cache", "nfs_inode_cache",
        };
        static const char *const no[] = {
                "kmalloc-256", "UDP", "filp", "lsm_inode_cache", "shmem_inode_cache", "hugetlbfs_inode_cache",
                "mqueue_inode_cache", "kernfs_node_cache", "task_struct", "dma-kmalloc-256", "kmalloc-cg-64",
                "", "inode", "sock_inode_cache2",
        };
        for (size_t i = 0; i < sizeof yes / sizeof *yes; i++)
                ck_assert_msg(slabname_guess_reclaimable(yes[i]), "%s", yes[i]);
        for (size_t i = 0; i < sizeof no / sizeof *no; i++)
                ck_assert_msg(!slabname_guess_reclaimable(no[i]), "%s", no[i]);
        ck_assert(!slabname_guess_reclaimable(NULL));
}
END_TEST

/* ---- synthetic series through the whole chain, default config ---- */

/* One cache sampled every 10 s, its count a function of the time since the
 * series began; MemTotal 24 GB (the fast path starts near 7.8 MiB/h). */
struct series {
        const char *name;
        uint32_t objsize, objperslab;
        unsigned minutes;
        double (*objs)(double s);
};

struct outcome {
        unsigned trips, retrips, clears;
        double first_trip_min;          /* < 0: none */
};

static struct outcome run(const struct series *ser) {
        struct config c = config(10 * SEC);
        struct engine *e;
        ck_assert_int_eq(engine_new(&c, &e), 0);
        struct fake *f = calloc(1, sizeof *f);
        ck_assert_ptr_nonnull(f);
        fake_cache(f, ser->name, ser->objsize, ser->objperslab);
        const char *mi = "MemTotal: 24000000 kB\nMemAvailable: 20971520 kB\nSUnreclaim: 300000 kB\n";
        ck_assert_int_eq(meminfo_parse(mi, strlen(mi), &f->mi), 0);
        static struct events ev;
        memset(&ev, 0, sizeof ev);
        for (unsigned i = 0; i <= ser->minutes * 6; i++) {
                double v = ser->objs(i * 10.0);
                fake_set(f, ser->name, v > 0 ? (uint64_t) v : 0);
                if (v < 0)
                        f->si.n_caches = 0; /* the cache is gone */
                else
                        f->si.n_caches = 1;
                ck_assert_int_eq(engine_feed(e, T0 + i * 10 * SEC, &f->si, &f->mi, PAGE, NULL, on_event, &ev), 0);
        }
        struct outcome o = { .first_trip_min = -1 };
        for (unsigned i = 0; i < ev.n; i++) {
                if (ev.ev[i].type == ENGINE_EVENT_TRIP && o.trips++ == 0)
                        o.first_trip_min = (double) (ev.ev[i].t_usec - T0) / (double) MIN;
                o.retrips += ev.ev[i].type == ENGINE_EVENT_RETRIP;
                o.clears += ev.ev[i].type == ENGINE_EVENT_CLEARED;
        }
        engine_free(e);
        free(f);
        return o;
}

/* Quantised as SLUB shows it: whole slabs of @per. */
static double slabs(double objs, double per) {
        return ceil(objs / per) * per;
}

/* Deterministic noise in [0, 1). */
static double noise(double s) {
        uint32_t x = (uint32_t) s * 2654435761u;
        x ^= x >> 13;
        x *= 0x5bd1e995u;
        x ^= x >> 15;
        return (double) (x & 0xffff) / 65536.0;
}

#define LEAK_AT (30 * 60.0)
static double leaked(double s, double rate) {
        return s < LEAK_AT ? 0 : (s - LEAK_AT) * rate;
}

static double quiet_1(double s) { return slabs(2000 + leaked(s, 1), 128); }
static double quiet_4(double s) { return slabs(2000 + leaked(s, 4), 128); }
static double quiet_half(double s) { return slabs(2000 + leaked(s, 0.5), 64); }
static double churn_1(double s) {
        /* Bursts of 3,000 held for 10 s every 50 s, and a churn of a few hundred. */
        double burst = fmod(s, 50) < 10 ? 3000 : 0;
        return slabs(5000 + 400 * noise(s) + burst + leaked(s, 1), 32);
}
static double fast(double s) { return slabs(500 + leaked(s, 3), 4); } /* 1 KiB objects: 10.5 MiB/h */
static double step_held(double s) {
        return slabs(4000 + (s >= LEAK_AT && s < LEAK_AT + 600 ? 3000 : 0) + 50 * noise(s), 64);
}
static double rise_and_fall(double s) {
        double up = s < LEAK_AT ? 0 : s < LEAK_AT + 720 ? (s - LEAK_AT) * 2 : s < LEAK_AT + 1020 ? 1440 - (s - LEAK_AT - 720) * 4.8 : 0;
        return slabs(3000 + (up > 0 ? up : 0) + 30 * noise(s), 64);
}
static double plateau(double s) {
        double grown = s < LEAK_AT ? 0 : s < LEAK_AT + 2400 ? s - LEAK_AT : 2400;
        return slabs(2000 + grown + 40 * noise(s), 64);
}
static double reclaim_drop(double s) {
        double v = 20000 + 100 * noise(s);
        if (s >= LEAK_AT && s < LEAK_AT + 1500)
                v = 9000 + (s - LEAK_AT) * 11000 / 1500;
        return slabs(v, 32);
}
static double reset_then_leak(double s) {
        if (s < LEAK_AT)
                return 40000 - s / 10;
        if (s < LEAK_AT + 30)
                return -1;
        return slabs(8 + (s - LEAK_AT) * 2, 32);
}
static double sawtooth(double s) {
        /* Freed lazily in batches: climbs 3/s for 8 minutes, then drops back. */
        return slabs(1500 + fmod(s, 540) * 3 * (fmod(s, 540) < 480), 64);
}
static double dentry_leak(double s) { return slabs(50000 + 2000 * noise(s) + leaked(s, 2), 21); }
static double dentry_fill(double s) {
        double grown = s < LEAK_AT ? 0 : s < LEAK_AT + 1200 ? (s - LEAK_AT) * 50 : 60000;
        return slabs(50000 + grown, 21);
}

static const struct series leaks[] = {
        { "quiet_1", 64, 128, 90, quiet_1 },
        { "quiet_half", 64, 64, 90, quiet_half },
        { "churn_1", 128, 32, 90, churn_1 },
        { "fast", 1024, 4, 45, fast },
        { "reset_then_leak", 128, 32, 90, reset_then_leak },
};
/* The most minutes after LEAK_AT each may take (issue: 30 at 1/s, 40 at 0.5/s, 5 at 10 MiB/h). */
static const double deadline_min[] = { 30, 40, 30, 5, 30 };

static const struct series benign[] = {
        { "step_held", 128, 64, 120, step_held },
        { "rise_and_fall", 128, 64, 120, rise_and_fall },
        { "reclaim_drop", 192, 32, 120, reclaim_drop },
        { "sawtooth", 64, 64, 180, sawtooth },
        { "dentry", 192, 21, 240, dentry_fill },
};

START_TEST(series_leak_trips) {
        const struct series *ser = &leaks[_i];
        struct outcome o = run(ser);
        printf("series %-16s first trip %.1f min after the leak began\n", ser->name, o.first_trip_min - 30);
        ck_assert_msg(o.trips == 1, "%s: %u trips", ser->name, o.trips);
        ck_assert_msg(o.first_trip_min > 30, "%s tripped before it leaked (%.1f min)", ser->name, o.first_trip_min);
        ck_assert_msg(o.first_trip_min - 30 <= deadline_min[_i], "%s: %.1f min late", ser->name,
                      o.first_trip_min - 30);
}
END_TEST

START_TEST(series_benign_never_trips) {
        const struct series *ser = &benign[_i];
        struct outcome o = run(ser);
        ck_assert_msg(o.trips == 0, "%s tripped at %.1f min", ser->name, o.first_trip_min);
}
END_TEST

/* Sooner the larger the growth stands above the cache's noise. */
START_TEST(series_sooner_when_clearer) {
        struct outcome slow = run(&leaks[0]);                    /* 1/s */
        struct outcome quick = run(&(struct series) { "quiet_4", 64, 128, 90, quiet_4 });
        struct outcome half = run(&leaks[1]);                    /* 0.5/s */
        printf("series: 0.5/s after %.1f min, 1/s after %.1f, 4/s after %.1f\n", half.first_trip_min - 30,
               slow.first_trip_min - 30, quick.first_trip_min - 30);
        ck_assert(quick.first_trip_min > 0 && slow.first_trip_min > 0 && half.first_trip_min > 0);
        ck_assert(quick.first_trip_min < slow.first_trip_min);
        ck_assert(slow.first_trip_min <= half.first_trip_min);
}
END_TEST

/* A leak that stops: one trip, one clear, no flapping at the plateau. */
START_TEST(series_plateau_clears_once) {
        struct outcome o = run(&(struct series) { "plateau", 128, 64, 150, plateau });
        ck_assert_uint_eq(o.trips, 1);
        ck_assert_uint_eq(o.clears, 1);
        ck_assert_uint_eq(o.retrips, 0);
}
END_TEST

/* A reclaimable cache whose floor rises for hours trips, by its own rule. */
START_TEST(series_reclaimable_leak) {
        struct outcome o = run(&(struct series) { "dentry", 192, 21, 300, dentry_leak });
        printf("series dentry leak: first trip %.1f min after the leak began, %u trips\n", o.first_trip_min - 30, o.trips);
        fflush(stdout);
        ck_assert_uint_eq(o.trips, 1);
        ck_assert(o.first_trip_min - 30 >= 180);
        ck_assert(o.first_trip_min - 30 <= 240);
}
END_TEST

/* ---- snapshots: a restart goes on with the trend ---- */

/* Feed quiet_1 from sample @from to @to into @e; returns the minute of the
 * first trip (< 0 none). */
static double feed_quiet(struct engine *e, struct fake *f, unsigned from, unsigned to, struct events *ev) {
        for (unsigned i = from; i < to; i++) {
                fake_set(f, "quiet_1", (uint64_t) quiet_1(i * 10.0));
                ck_assert_int_eq(engine_feed(e, T0 + i * 10 * SEC, &f->si, &f->mi, PAGE, NULL, on_event, ev), 0);
        }
        const struct event *trip = find(ev, ENGINE_EVENT_TRIP, "quiet_1");
        return trip ? (double) (trip->t_usec - T0) / (double) MIN : -1;
}

static struct fake *quiet_fake(void) {
        struct fake *f = calloc(1, sizeof *f);
        ck_assert_ptr_nonnull(f);
        fake_cache(f, "quiet_1", 64, 128);
        const char *mi = "MemTotal: 24000000 kB\nMemAvailable: 20971520 kB\nSUnreclaim: 300000 kB\n";
        ck_assert_int_eq(meminfo_parse(mi, strlen(mi), &f->mi), 0);
        return f;
}

static double restarted_trip(const char *boot_after) {
        struct config c = config(10 * SEC);
        struct engine *e;
        struct fake *f = quiet_fake();
        static struct events ev;
        memset(&ev, 0, sizeof ev);
        ck_assert_int_eq(engine_new(&c, &e), 0);
        ck_assert(feed_quiet(e, f, 0, 6 * 40, &ev) < 0); /* 10 minutes into the leak: no trip yet */
        char *buf;
        size_t len;
        ck_assert_int_eq(engine_snapshot(e, "boot-a", &buf, &len), 0);
        engine_free(e);
        /* The daemon was down for a minute. */
        ck_assert_int_eq(engine_new(&c, &e), 0);
        bool same = false;
        ck_assert_int_eq(engine_restore(e, buf, len, boot_after, &same), 0);
        ck_assert(same == (strcmp(boot_after, "boot-a") == 0));
        ck_assert_uint_eq(engine_last_usec(e), T0 + (6 * 40 - 1) * 10 * SEC);
        struct engine_cache_info info;
        ck_assert_int_eq(engine_cache_get(e, "quiet_1", &info), 0);
        free(buf);
        double trip = feed_quiet(e, f, 6 * 41, 6 * 90, &ev);
        engine_free(e);
        free(f);
        return trip;
}

START_TEST(snapshot_restart_same_boot) {
        struct config c = config(10 * SEC);
        struct engine *e;
        struct fake *f = quiet_fake();
        static struct events ev;
        memset(&ev, 0, sizeof ev);
        ck_assert_int_eq(engine_new(&c, &e), 0);
        double uninterrupted = feed_quiet(e, f, 0, 6 * 90, &ev);
        engine_free(e);
        free(f);
        double restarted = restarted_trip("boot-a");
        printf("snapshot: trip at %.1f min without a restart, %.1f with one\n", uninterrupted, restarted);
        ck_assert(uninterrupted > 30);
        ck_assert(restarted > 30);
        ck_assert_double_le(restarted, uninterrupted + 2);
}
END_TEST

START_TEST(snapshot_after_reboot) {
        /* Booted again at minute 41: nothing fitted across it, the trip comes
         * a whole steady_for later. */
        double trip = restarted_trip("boot-b");
        ck_assert_double_ge(trip, 41 + 15);
}
END_TEST

START_TEST(snapshot_corrupt) {
        struct config c = config(10 * SEC);
        struct engine *e;
        struct fake *f = quiet_fake();
        static struct events ev;
        memset(&ev, 0, sizeof ev);
        ck_assert_int_eq(engine_new(&c, &e), 0);
        feed_quiet(e, f, 0, 60, &ev);
        char *buf;
        size_t len;
        ck_assert_int_eq(engine_snapshot(e, "boot-a", &buf, &len), 0);
        struct engine *g;
        ck_assert_int_eq(engine_new(&c, &g), 0);
        ck_assert_int_eq(engine_restore(e, buf, len, "boot-a", NULL), -EBUSY); /* already fed */
        ck_assert_int_eq(engine_restore(g, buf, len - 1, "boot-a", NULL), -EBADMSG); /* truncated */
        ck_assert_int_eq(engine_restore(g, buf, 10, "boot-a", NULL), -EBADMSG);
        buf[len / 2] ^= 0x40; /* a flipped bit */
        ck_assert_int_eq(engine_restore(g, buf, len, "boot-a", NULL), -EBADMSG);
        buf[len / 2] ^= 0x40;
        char garbage[4096];
        for (size_t i = 0; i < sizeof garbage; i++)
                garbage[i] = (char) (i * 7 + 3);
        ck_assert_int_eq(engine_restore(g, garbage, sizeof garbage, "boot-a", NULL), -EBADMSG);
        /* A bad snapshot leaves the engine fresh and working. */
        ck_assert_uint_eq(engine_n_samples(g), 0);
        ck_assert_int_eq(engine_restore(g, buf, len, "boot-a", NULL), 0);
        ck_assert_uint_eq(engine_n_samples(g), 60);
        feed_quiet(g, f, 61, 70, &ev);
        free(buf);
        engine_free(e);
        engine_free(g);
        free(f);
}
END_TEST

/* ---- the labelled recordings ---- */

/* Recordings of real machines with their labels (tests/fixtures/recordings):
 * every labelled leak must trip within its deadline, nothing else may trip,
 * at the recording's own interval and at the daemon's default 10 s. */
#define RECORDINGS_MIN 3

struct replay {
        struct engine *engine;
        struct meminfo mi;
        struct slabinfo si;
        unsigned every;         /* feed every n-th sample */
        unsigned long seen;
        unsigned long fed;
        struct events ev;
};

static int replay_sample(const struct slablog_sample *s, void *userdata) {
        struct replay *r = userdata;
        if (r->seen++ % r->every)
                return 0;
        ck_assert_ptr_nonnull(s->meminfo);
        ck_assert_ptr_nonnull(s->slabinfo);
        ck_assert_int_eq(meminfo_parse(s->meminfo, s->meminfo_len, &r->mi), 0);
        ck_assert_int_eq(slabinfo_parse(s->slabinfo, s->slabinfo_len, &r->si), 0);
        ck_assert_int_eq(engine_feed(r->engine, s->t_usec, &r->si, &r->mi, PAGE, NULL, on_event, &r->ev), 0);
        r->fed++;
        return 0;
}

static void read_labels(const char *path, struct labels *ret) {
        static char buf[LABELS_FILE_MAX + 1];
        FILE *f = fopen(path, "re");
        ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
        size_t n = fread(buf, 1, sizeof buf, f);
        fclose(f);
        unsigned line = 0;
        int r = labels_parse(buf, n, ret, &line);
        ck_assert_msg(r == 0, "%s:%u: %s", path, line, strerror(-r));
}

/* Replay the recording whose labels are at @labels_path, every @every-th sample. */
static void replay_recording(const char *labels_path, unsigned every, struct replay *r, struct labels *l) {
        read_labels(labels_path, l);
        char cmd[4200];
        size_t stem = strlen(labels_path) - strlen(".labels");
        snprintf(cmd, sizeof cmd, "xz -dc '%.*s.log.xz'", (int) stem, labels_path);
        FILE *in = popen(cmd, "r");
        ck_assert_ptr_nonnull(in);
        memset(r, 0, sizeof *r);
        r->every = every;
        struct config c = config((uint64_t) (l->interval_sec * every * 1e6));
        ck_assert_int_eq(engine_new(&c, &r->engine), 0);
        struct slablog *log;
        ck_assert_int_eq(slablog_new(0, replay_sample, NULL, r, &log), 0);
        static char buf[1 << 16];
        size_t n;
        while ((n = fread(buf, 1, sizeof buf, in)) > 0)
                ck_assert_int_eq(slablog_feed(log, buf, n), 0);
        ck_assert_int_eq(slablog_finish(log), 0);
        ck_assert_msg(pclose(in) == 0, "%s failed: is xz(1) (xz-utils) installed?", cmd);
        ck_assert_uint_eq(slablog_n_errors(log), 0);
        slablog_free(log);
        ck_assert_uint_gt(r->fed, 100);
}

static void check_recording(const char *labels_path, unsigned every) {
        static struct replay r;
        static struct labels l;
        replay_recording(labels_path, every, &r, &l);
        static struct labels_trip trips[LABELS_TRIPS_MAX];
        size_t n = 0;
        for (unsigned i = 0; i < r.ev.n && n < LABELS_TRIPS_MAX; i++) {
                const struct event *x = &r.ev.ev[i];
                if (x->type != ENGINE_EVENT_TRIP)
                        continue;
                trips[n].t = (double) x->t_usec / 1e6;
                snprintf(trips[n].cache, sizeof trips[n].cache, "%.63s", x->cache);
                n++;
        }
        struct labels_score s;
        labels_score(&l, trips, n, &s);
        printf("%s every %.0fs: %lu samples, leaks %zu/%zu tripped, %zu late, %zu false, %zu allowed\n", l.name,
               l.interval_sec * every, r.fed, s.tripped, s.must, s.late, s.n_false, s.n_allowed);
        for (size_t i = 0; i < l.n_leaks; i++)
                for (size_t c = 0; c < l.leaks[i].n_caches; c++)
                        printf("  leak %-24s %s %.1f min\n", l.leaks[i].caches[c],
                               s.latency_sec[i][c] < 0 ? "never tripped" : "tripped after",
                               s.latency_sec[i][c] / 60);
        for (size_t i = 0; i < s.n_false && i < LABELS_TRIPS_MAX; i++)
                printf("  FALSE trip of %s at %+.1f min\n", s.false_trips[i].cache,
                       (s.false_trips[i].t - l.start) / 60);
        ck_assert_msg(s.n_false == 0, "%s: %zu false trips", l.name, s.n_false);
        ck_assert_msg(s.tripped == s.must, "%s: %zu of %zu leaking caches tripped", l.name, s.tripped, s.must);
        ck_assert_msg(s.late == 0, "%s: %zu trips after their deadline", l.name, s.late);
        /* No cache flaps: at most one trip each. */
        for (size_t i = 0; i < n; i++)
                for (size_t j = i + 1; j < n; j++)
                        ck_assert_msg(strcmp(trips[i].cache, trips[j].cache) != 0, "%s: %s tripped twice", l.name,
                                      trips[i].cache);
        engine_free(r.engine);
        slabinfo_done(&r.si);
}

static char recordings[16][4096];
static int n_recordings;

static void find_recordings(void) {
        char pattern[4096];
        snprintf(pattern, sizeof pattern, "%s/recordings/*.labels", FIXTURES_DIR);
        glob_t g;
        if (glob(pattern, 0, NULL, &g) == 0) {
                for (size_t i = 0; i < g.gl_pathc && n_recordings < 16; i++)
                        snprintf(recordings[n_recordings++], sizeof recordings[0], "%s", g.gl_pathv[i]);
                globfree(&g);
        }
}

START_TEST(recordings_present) {
        ck_assert_int_ge(n_recordings, RECORDINGS_MIN);
}
END_TEST

START_TEST(recording_own_interval) {
        ck_assert_int_lt(_i, n_recordings);
        check_recording(recordings[_i], 1);
}
END_TEST

START_TEST(recording_10s) {
        /* The daemon's default interval, from 2 s recordings: every 5th sample. */
        ck_assert_int_lt(_i, n_recordings);
        check_recording(recordings[_i], 5);
}
END_TEST

/* The verdict on the first recording names the leaking caches. */
START_TEST(recording_verdict) {
        char path[4200];
        snprintf(path, sizeof path, "%s/recordings/dev-30m.labels", FIXTURES_DIR);
        static struct replay r;
        static struct labels l;
        replay_recording(path, 1, &r, &l);
        const struct verdict *v = engine_verdict(r.engine);
        ck_assert(v->flags & VERDICT_SLAB);
        ck_assert_ptr_nonnull(strstr(v->text, "UDP"));
        engine_free(r.engine);
        slabinfo_done(&r.si);
}
END_TEST

static Suite *engine_suite(void) {
        Suite *s = suite_create("engine");
        TCase *tc = tcase_create("synthetic");
        tcase_add_test(tc, synthetic_trip_and_clear);
        tcase_add_test(tc, retrip_when_faster);
        tcase_add_test(tc, rules_and_reclaimable);
        tcase_add_test(tc, reconfigure_history);
        tcase_add_test(tc, vanished_and_retired);
        tcase_add_test(tc, verdict_without_slabinfo);
        tcase_add_test(tc, verdict_unaccounted_and_user);
        suite_add_tcase(s, tc);
        TCase *lim = tcase_create("limits");
        tcase_add_test(lim, limits);
        tcase_add_test(lim, slabname_guess);
        tcase_add_test(lim, memory_bound);
        tcase_add_test(lim, retired_caches_give_memory_back);
        suite_add_tcase(s, lim);
        /* The replay unpacks the recording with xz(1), a test dependency
         * (scripts/deps.sh): without it these fail, they are never left out. */
        TCase *se = tcase_create("series");
        tcase_set_timeout(se, 120);
        tcase_add_loop_test(se, series_leak_trips, 0, sizeof leaks / sizeof leaks[0]);
        tcase_add_loop_test(se, series_benign_never_trips, 0, sizeof benign / sizeof benign[0]);
        tcase_add_test(se, series_sooner_when_clearer);
        tcase_add_test(se, series_plateau_clears_once);
        tcase_add_test(se, series_reclaimable_leak);
        suite_add_tcase(s, se);
        TCase *sn = tcase_create("snapshot");
        tcase_set_timeout(sn, 120);
        tcase_add_test(sn, snapshot_restart_same_boot);
        tcase_add_test(sn, snapshot_after_reboot);
        tcase_add_test(sn, snapshot_corrupt);
        suite_add_tcase(s, sn);
        find_recordings();
        TCase *ds = tcase_create("recordings");
        tcase_set_timeout(ds, 300);
        tcase_add_test(ds, recordings_present);
        tcase_add_loop_test(ds, recording_own_interval, 0, n_recordings);
        tcase_add_loop_test(ds, recording_10s, 0, n_recordings);
        tcase_add_test(ds, recording_verdict);
        suite_add_tcase(s, ds);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(engine_suite());
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
