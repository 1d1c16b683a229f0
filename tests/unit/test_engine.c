#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caches/engine.h"
#include "caches/slablog.h"
#include "base/slabname.h"
#include "testutil.h"

#define SEC UINT64_C(1000000)
#define MIN (60 * SEC)
#define T0 (UINT64_C(1795557600) * SEC)
#define PAGE 4096u
#define CACHES_MAX 8
#define EVENTS_MAX 256

/* The recorded dataset: benign load until LEAK_START, then two slow leaks. */
#define DATASET "datasets/dev-30m.log.xz"
#define LEAK_START (UINT64_C(1795561035) * SEC)

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

/* ---- the recorded dataset ---- */

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

static void replay_dataset(unsigned every, uint64_t interval_usec) {
        char cmd[4096];
        snprintf(cmd, sizeof cmd, "xz -dc '%s/%s'", FIXTURES_DIR, DATASET);
        FILE *in = popen(cmd, "r");
        ck_assert_ptr_nonnull(in);
        static struct replay r;
        memset(&r, 0, sizeof r);
        r.every = every;
        struct config c = config(interval_usec);
        ck_assert_int_eq(engine_new(&c, &r.engine), 0);
        struct slablog *log;
        ck_assert_int_eq(slablog_new(0, replay_sample, NULL, &r, &log), 0);
        static char buf[1 << 16];
        size_t n;
        while ((n = fread(buf, 1, sizeof buf, in)) > 0)
                ck_assert_int_eq(slablog_feed(log, buf, n), 0);
        ck_assert_int_eq(slablog_finish(log), 0);
        ck_assert_msg(pclose(in) == 0, "%s failed: is xz(1) (xz-utils) installed?", cmd);
        ck_assert_uint_eq(slablog_n_errors(log), 0);
        slablog_free(log);
        ck_assert_uint_eq(r.seen, 897);

        printf("dev-30m every %us (%lu samples):\n", every * 2, r.fed);
        bool udp = false, k256 = false;
        for (unsigned i = 0; i < r.ev.n; i++) {
                const struct event *x = &r.ev.ev[i];
                long since = (long) ((int64_t) x->t_usec - (int64_t) LEAK_START) / (long) SEC;
                printf("  %+5lds %-8s %s%s\n", since, engine_event_type_name(x->type), x->cache,
                       x->type == ENGINE_EVENT_VERDICT ? x->verdict_text : "");
                if (x->type != ENGINE_EVENT_TRIP)
                        continue;
                ck_assert_msg(x->t_usec >= LEAK_START, "%s tripped %lds before any leak", x->cache, -since);
                ck_assert_msg(strcmp(x->cache, "dentry") != 0 && strcmp(x->cache, "proc_inode_cache") != 0,
                              "reclaimable %s tripped", x->cache);
                if (strcmp(x->cache, "UDP") == 0) {
                        udp = true;
                        /* As early as the evidence allows: within 6 minutes. */
                        ck_assert_int_le(since, 360);
                }
                if (strcmp(x->cache, "kmalloc-256") == 0) {
                        k256 = true;
                        ck_assert_int_le(since, 360);
                }
        }
        ck_assert_msg(udp, "UDP did not trip");
        ck_assert_msg(k256, "kmalloc-256 did not trip");
        const struct verdict *v = engine_verdict(r.engine);
        ck_assert(v->flags & VERDICT_SLAB);
        ck_assert_ptr_nonnull(strstr(v->text, "UDP"));
        ck_assert_ptr_nonnull(strstr(v->text, "kmalloc-256"));
        engine_free(r.engine);
        slabinfo_done(&r.si);
}

START_TEST(dataset_2s) {
        replay_dataset(1, 2 * SEC);
}
END_TEST

START_TEST(dataset_10s) {
        /* The daemon's default interval: every 5th sample. */
        replay_dataset(5, 10 * SEC);
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
        suite_add_tcase(s, lim);
        /* The replay unpacks the recording with xz(1), a test dependency
         * (scripts/deps.sh): without it these fail, they are never left out. */
        TCase *ds = tcase_create("dataset");
        tcase_set_timeout(ds, 120);
        tcase_add_test(ds, dataset_2s);
        tcase_add_test(ds, dataset_10s);
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
