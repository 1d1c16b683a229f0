#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caches/history.h"

#define SEC HISTORY_USEC_PER_SEC
/* An arbitrary epoch on a minute and hour boundary. */
#define T0 (UINT64_C(1795557600) * SEC)

/* 1 s samples: raw 10 s (11 slots), minutes 5 m (6 slots), hours 2 h (3 slots). */
static const struct history_params small = {
        .interval_usec = SEC,
        .span_usec = { 10 * SEC, 5 * HISTORY_MINUTE_USEC, 2 * HISTORY_HOUR_USEC },
};

static struct history *make(const struct history_params *p) {
        struct history *h;
        ck_assert_int_eq(history_new(p, NULL, NULL, &h), 0);
        return h;
}

static void sample1(struct history *h, uint64_t t, int id, uint64_t v, uint64_t aux) {
        ck_assert_int_eq(history_begin_sample(h, t), 0);
        if (id >= 0)
                ck_assert_int_eq(history_set(h, (uint32_t) id, v, aux), 0);
        history_end_sample(h);
}

START_TEST(tier_slots) {
        size_t n;
        struct history_params p = {
                .interval_usec = 10 * SEC,
                .span_usec = { HISTORY_HOUR_USEC, 24 * HISTORY_HOUR_USEC, 30 * 24 * HISTORY_HOUR_USEC },
        };
        ck_assert_int_eq(history_tier_slots(&p, HISTORY_TIER_RAW, &n), 0);
        ck_assert_uint_eq(n, 361);
        ck_assert_int_eq(history_tier_slots(&p, HISTORY_TIER_MINUTE, &n), 0);
        ck_assert_uint_eq(n, 1441);
        ck_assert_int_eq(history_tier_slots(&p, HISTORY_TIER_HOUR, &n), 0);
        ck_assert_uint_eq(n, 721);
        ck_assert_uint_eq(history_tier_width_usec(HISTORY_TIER_MINUTE), HISTORY_MINUTE_USEC);
        p.interval_usec = 0;
        ck_assert_int_eq(history_tier_slots(&p, HISTORY_TIER_RAW, &n), -EINVAL);
        p.interval_usec = 1;
        ck_assert_int_eq(history_tier_slots(&p, HISTORY_TIER_RAW, &n), -E2BIG);
        p.interval_usec = SEC;
        p.span_usec[HISTORY_TIER_HOUR] = 0;
        ck_assert_int_eq(history_tier_slots(&p, HISTORY_TIER_HOUR, &n), -EINVAL);
        ck_assert_int_eq(history_tier_slots(&p, (enum history_tier) 7, &n), -EINVAL);
        struct history *h;
        ck_assert_int_eq(history_new(&p, NULL, NULL, &h), -EINVAL);
}
END_TEST

START_TEST(raw_wraps) {
        struct history *h = make(&small);
        int id = history_series_add(h, 0, "kmalloc-64", 2);
        ck_assert_int_ge(id, 0);
        for (uint64_t i = 0; i < 100; i++)
                sample1(h, T0 + i * SEC, id, 1000 + i, 10 + i);
        struct history_point p[32];
        int n = history_read(h, (uint32_t) id, HISTORY_TIER_RAW, 0, p, 32);
        ck_assert_int_eq(n, 11); /* the ring's size: only the newest survive */
        for (int i = 0; i < n; i++) {
                uint64_t k = 89 + (uint64_t) i;
                ck_assert_uint_eq(p[i].t_usec, T0 + k * SEC);
                ck_assert_uint_eq(p[i].last, 1000 + k);
                ck_assert_uint_eq(p[i].min, p[i].last);
                ck_assert_uint_eq(p[i].max, p[i].last);
                ck_assert_uint_eq(p[i].aux, 10 + k);
        }
        /* since and n limit it; the newest come back. */
        n = history_read(h, (uint32_t) id, HISTORY_TIER_RAW, T0 + 95 * SEC, p, 32);
        ck_assert_int_eq(n, 5);
        ck_assert_uint_eq(p[0].last, 1095);
        n = history_read(h, (uint32_t) id, HISTORY_TIER_RAW, 0, p, 3);
        ck_assert_int_eq(n, 3);
        ck_assert_uint_eq(p[0].last, 1097);
        ck_assert_uint_eq(p[2].last, 1099);
        ck_assert_uint_eq(history_count_since(h, HISTORY_TIER_RAW, T0 + 95 * SEC), 5);
        ck_assert_uint_eq(history_tier_oldest_usec(h, HISTORY_TIER_RAW), T0 + 89 * SEC);
        ck_assert_uint_eq(history_n_samples(h), 100);
        ck_assert_uint_eq(history_last_usec(h), T0 + 99 * SEC);
        history_free(h);
}
END_TEST

START_TEST(buckets) {
        struct history *h = make(&small);
        int id = history_series_add(h, 0, "dentry", 2);
        /* Minute 0: 5, 9, 2, 7; minute 1: 3. */
        uint64_t v[] = { 5, 9, 2, 7 };
        for (int i = 0; i < 4; i++)
                sample1(h, T0 + (uint64_t) i * 15 * SEC, id, v[i], 100 + (uint64_t) i);
        sample1(h, T0 + 60 * SEC, id, 3, 200);
        struct history_point p[8];
        int n = history_read(h, (uint32_t) id, HISTORY_TIER_MINUTE, 0, p, 8);
        ck_assert_int_eq(n, 2);
        ck_assert_uint_eq(p[0].min, 2);
        ck_assert_uint_eq(p[0].max, 9);
        ck_assert_uint_eq(p[0].last, 7);
        ck_assert_uint_eq(p[0].aux, 103);
        ck_assert_uint_eq(p[0].t_usec, T0 + 45 * SEC); /* the bucket's last sample */
        ck_assert_uint_eq(p[1].min, 3);
        ck_assert_uint_eq(p[1].last, 3);
        n = history_read(h, (uint32_t) id, HISTORY_TIER_HOUR, 0, p, 8);
        ck_assert_int_eq(n, 1);
        ck_assert_uint_eq(p[0].min, 2);
        ck_assert_uint_eq(p[0].max, 9);
        ck_assert_uint_eq(p[0].last, 3);
        /* The minute ring wraps: 6 slots, after 10 minutes the first are gone. */
        for (uint64_t m = 2; m < 10; m++)
                sample1(h, T0 + m * 60 * SEC, id, m, 0);
        n = history_read(h, (uint32_t) id, HISTORY_TIER_MINUTE, 0, p, 8);
        ck_assert_int_eq(n, 6);
        ck_assert_uint_eq(p[0].last, 4);
        ck_assert_uint_eq(p[5].last, 9);
        history_free(h);
}
END_TEST

START_TEST(absent) {
        struct history *h = make(&small);
        int a = history_series_add(h, 0, "a", 1);
        sample1(h, T0, a, 1, 0);
        sample1(h, T0 + SEC, -1, 0, 0); /* a not set */
        int b = history_series_add(h, 0, "b", 1); /* appears mid-history */
        ck_assert_int_eq(history_begin_sample(h, T0 + 2 * SEC), 0);
        ck_assert_int_eq(history_set(h, (uint32_t) a, 3, 0), 0);
        ck_assert_int_eq(history_set(h, (uint32_t) b, 30, 0), 0);
        history_end_sample(h);
        struct history_point p[8];
        int n = history_read(h, (uint32_t) a, HISTORY_TIER_RAW, 0, p, 8);
        ck_assert_int_eq(n, 2);
        ck_assert_uint_eq(p[0].last, 1);
        ck_assert_uint_eq(p[1].last, 3);
        ck_assert_uint_eq(p[1].aux, HISTORY_AUX_NONE);
        n = history_read(h, (uint32_t) b, HISTORY_TIER_RAW, 0, p, 8);
        ck_assert_int_eq(n, 1);
        ck_assert_uint_eq(p[0].t_usec, T0 + 2 * SEC);
        /* The minute bucket holds a, absent in one sample, as present. */
        n = history_read(h, (uint32_t) a, HISTORY_TIER_MINUTE, 0, p, 8);
        ck_assert_int_eq(n, 1);
        ck_assert_uint_eq(p[0].min, 1);
        ck_assert_uint_eq(p[0].max, 3);
        /* Over a wrap, a slot b did not get in this round reads absent, not stale. */
        for (uint64_t i = 3; i < 14; i++)
                sample1(h, T0 + i * SEC, a, i, 0);
        n = history_read(h, (uint32_t) b, HISTORY_TIER_RAW, 0, p, 8);
        ck_assert_int_eq(n, 0);
        n = history_read(h, (uint32_t) b, HISTORY_TIER_MINUTE, 0, p, 8);
        ck_assert_int_eq(n, 1);
        ck_assert_uint_eq(p[0].last, 30);
        history_free(h);
}
END_TEST

static unsigned retired_n;
static uint32_t retired_id;

static void on_retire(struct history *h, uint32_t id, void *userdata) {
        ck_assert_ptr_eq(userdata, &retired_n);
        ck_assert_str_eq(history_series_name(h, id), "gone");
        retired_n++;
        retired_id = id;
}

START_TEST(retire) {
        struct history *h;
        ck_assert_int_eq(history_new(&small, on_retire, &retired_n, &h), 0);
        retired_n = 0;
        int keep = history_series_add(h, 0, "keep", 1);
        int gone = history_series_add(h, 0, "gone", 2);
        ck_assert_int_ge(gone, 0);
        ck_assert_int_eq(history_begin_sample(h, T0), 0);
        history_set(h, (uint32_t) keep, 1, 0);
        history_set(h, (uint32_t) gone, 1, 1);
        history_end_sample(h);
        /* Hour tier: 3 slots. Absent for the whole retention after ~3 hours. */
        uint64_t t = T0;
        for (int i = 0; i < 3 * 60 && retired_n == 0; i++) {
                t += 60 * SEC;
                sample1(h, t, keep, 1, 0);
        }
        ck_assert_uint_eq(retired_n, 1);
        ck_assert_uint_eq(retired_id, (uint32_t) gone);
        ck_assert(t - T0 >= 2 * HISTORY_HOUR_USEC);
        ck_assert(!history_series_valid(h, (uint32_t) gone));
        ck_assert_int_eq(history_series_find(h, 0, "gone"), -ENOENT);
        ck_assert_uint_eq(history_n_series(h), 1);
        struct history_point p;
        ck_assert_int_eq(history_read(h, (uint32_t) gone, HISTORY_TIER_RAW, 0, &p, 1), -EINVAL);
        /* Its id is free again. */
        ck_assert_int_eq(history_series_add(h, 0, "new", 1), gone);
        history_free(h);
}
END_TEST

START_TEST(widen_and_saturate) {
        struct history *h = make(&small);
        int id = history_series_add(h, 0, "big", 2);
        sample1(h, T0, id, 65534, 3);
        size_t narrow = history_memory_bytes(h);
        sample1(h, T0 + SEC, id, 65535, 3);
        ck_assert_uint_gt(history_memory_bytes(h), narrow);
        sample1(h, T0 + 2 * SEC, id, UINT64_C(1) << 40, UINT64_MAX);
        struct history_point p[4];
        int n = history_read(h, (uint32_t) id, HISTORY_TIER_RAW, 0, p, 4);
        ck_assert_int_eq(n, 3);
        ck_assert_uint_eq(p[0].last, 65534);
        ck_assert_uint_eq(p[1].last, 65535);
        ck_assert_uint_eq(p[2].last, HISTORY_VALUE_MAX);
        ck_assert_uint_eq(p[2].aux, HISTORY_VALUE_MAX);
        n = history_read(h, (uint32_t) id, HISTORY_TIER_MINUTE, 0, p, 4);
        ck_assert_int_eq(n, 1);
        ck_assert_uint_eq(p[0].min, 65534);
        ck_assert_uint_eq(p[0].max, HISTORY_VALUE_MAX);
        sample1(h, T0 + 3 * SEC, id, 0, 0);
        n = history_read(h, (uint32_t) id, HISTORY_TIER_RAW, 0, p, 4);
        ck_assert_uint_eq(p[n - 1].last, 0);
        history_free(h);
}
END_TEST

START_TEST(spread) {
        struct history_params p = small;
        p.span_usec[HISTORY_TIER_RAW] = 1000 * SEC;
        struct history *h = make(&p);
        int id = history_series_add(h, 0, "x", 1);
        for (uint64_t i = 0; i < 500; i++)
                sample1(h, T0 + i * SEC, id, i, 0);
        struct history_point pts[24];
        int n = history_read_spread(h, (uint32_t) id, HISTORY_TIER_RAW, T0 + 200 * SEC, pts, 24);
        ck_assert_int_le(n, 24);
        ck_assert_int_ge(n, 20);
        ck_assert_uint_eq(pts[n - 1].last, 499);        /* the newest always */
        ck_assert_uint_le(pts[0].last, 200 + 300 / 24 + 1); /* reaches back over the span */
        for (int i = 1; i < n; i++)
                ck_assert_uint_gt(pts[i].t_usec, pts[i - 1].t_usec);
        /* Fewer slots than asked: all of them. */
        n = history_read_spread(h, (uint32_t) id, HISTORY_TIER_RAW, T0 + 490 * SEC, pts, 24);
        ck_assert_int_eq(n, 10);
        history_free(h);
}
END_TEST

START_TEST(resize) {
        struct history *h = make(&small);
        int a = history_series_add(h, 1, "a", 2);
        int b = history_series_add(h, 2, "b", 1);
        history_series_remove(h, (uint32_t) history_series_add(h, 1, "hole", 1));
        int c = history_series_add(h, 1, "c", 1);
        ck_assert_int_eq(c, 2); /* the hole's id */
        for (uint64_t i = 0; i < 20; i++) {
                ck_assert_int_eq(history_begin_sample(h, T0 + i * SEC), 0);
                history_set(h, (uint32_t) a, 100 + i, i);
                history_set(h, (uint32_t) b, 70000 + i, 0);
                history_end_sample(h);
        }
        /* Raw tier shrinks to 6 slots: the newest 6 are kept, ids stay. */
        struct history_params p = small;
        p.span_usec[HISTORY_TIER_RAW] = 5 * SEC;
        struct history *g;
        ck_assert_int_eq(history_new_from(&p, h, NULL, NULL, &g), 0);
        ck_assert_int_eq(history_series_find(g, 1, "a"), a);
        ck_assert_int_eq(history_series_find(g, 2, "b"), b);
        ck_assert_int_eq(history_series_find(g, 1, "c"), c);
        ck_assert_int_eq(history_series_find(g, 2, "a"), -ENOENT);
        ck_assert_uint_eq(history_n_series(g), 3);
        struct history_point pts[32];
        int n = history_read(g, (uint32_t) a, HISTORY_TIER_RAW, 0, pts, 32);
        ck_assert_int_eq(n, 6);
        ck_assert_uint_eq(pts[0].last, 114);
        ck_assert_uint_eq(pts[5].last, 119);
        ck_assert_uint_eq(pts[5].aux, 19);
        n = history_read(g, (uint32_t) b, HISTORY_TIER_MINUTE, 0, pts, 32);
        ck_assert_int_eq(n, 1);
        ck_assert_uint_eq(pts[0].min, 70000);
        ck_assert_uint_eq(pts[0].max, 70019);
        ck_assert_int_eq(history_read(g, (uint32_t) c, HISTORY_TIER_RAW, 0, pts, 32), 0);
        /* It goes on from there. */
        sample1(g, T0 + 20 * SEC, a, 120, 20);
        n = history_read(g, (uint32_t) a, HISTORY_TIER_RAW, 0, pts, 32);
        ck_assert_int_eq(n, 6);
        ck_assert_uint_eq(pts[5].last, 120);
        n = history_read(g, (uint32_t) a, HISTORY_TIER_MINUTE, 0, pts, 32);
        ck_assert_int_eq(n, 1);
        ck_assert_uint_eq(pts[0].min, 100);
        ck_assert_uint_eq(pts[0].last, 120);
        ck_assert_int_eq(history_begin_sample(g, T0 + 20 * SEC), -EINVAL);
        history_free(g);
        /* Growing works too: everything is kept. */
        p.span_usec[HISTORY_TIER_RAW] = 100 * SEC;
        ck_assert_int_eq(history_new_from(&p, h, NULL, NULL, &g), 0);
        ck_assert_int_eq(history_read(g, (uint32_t) a, HISTORY_TIER_RAW, 0, pts, 32), 11);
        history_free(g);
        history_free(h);
}
END_TEST

START_TEST(many_series) {
        /* The name index grows and survives removals (backward shifts). */
        struct history *h = make(&small);
        char name[32];
        for (int i = 0; i < 3000; i++) {
                snprintf(name, sizeof name, "cache-%d", i);
                ck_assert_int_eq(history_series_add(h, (unsigned) i % 2, name, 1 + (unsigned) i % 2), i);
        }
        for (int i = 0; i < 3000; i += 3) {
                snprintf(name, sizeof name, "cache-%d", i);
                history_series_remove(h, (uint32_t) history_series_find(h, (unsigned) i % 2, name));
        }
        for (int i = 0; i < 3000; i++) {
                snprintf(name, sizeof name, "cache-%d", i);
                int r = history_series_find(h, (unsigned) i % 2, name);
                ck_assert_int_eq(r, i % 3 == 0 ? -ENOENT : i);
                ck_assert_int_eq(history_series_find(h, (unsigned) (i + 1) % 2, name), -ENOENT);
        }
        ck_assert_uint_eq(history_n_series(h), 2000);
        sample1(h, T0, 1, 5, 0);
        history_free(h);
}
END_TEST

START_TEST(limits) {
        struct history *h = make(&small);
        char longname[HISTORY_NAME_MAX + 8];
        memset(longname, 'x', sizeof longname - 1);
        longname[sizeof longname - 1] = '\0';
        ck_assert_int_eq(history_series_add(h, 0, longname, 1), -ENAMETOOLONG);
        ck_assert_int_eq(history_series_add(h, 0, "", 1), -EINVAL);
        ck_assert_int_eq(history_series_add(h, 0, NULL, 1), -EINVAL);
        ck_assert_int_eq(history_series_add(h, 0, "a", 0), -EINVAL);
        ck_assert_int_eq(history_series_add(h, 0, "a", 3), -EINVAL);
        int a = history_series_add(h, 0, "a", 1);
        ck_assert_int_eq(history_series_add(h, 0, "a", 1), -EEXIST);
        ck_assert_int_ge(history_series_add(h, 1, "a", 1), 0); /* another kind */
        /* Setting outside a sample, or an unknown series, is refused. */
        ck_assert_int_eq(history_set(h, (uint32_t) a, 1, 0), -EINVAL);
        sample1(h, T0, a, 1, 0);
        ck_assert_int_eq(history_begin_sample(h, T0), -EINVAL);
        ck_assert_int_eq(history_begin_sample(h, T0 - 1), -EINVAL);
        ck_assert_int_eq(history_begin_sample(h, T0 + 1), 0);
        ck_assert_int_eq(history_set(h, 999, 1, 0), -EINVAL);
        history_end_sample(h);
        struct history_point p;
        ck_assert_int_eq(history_read(h, (uint32_t) a, (enum history_tier) 9, 0, &p, 1), -EINVAL);
        ck_assert_int_eq(history_read(h, (uint32_t) a, HISTORY_TIER_RAW, 0, NULL, 0), 0);
        ck_assert_ptr_null(history_series_name(h, 999));
        history_series_remove(h, 999); /* no-op */
        history_free(h);
        history_free(NULL);
}
END_TEST

static Suite *history_suite(void) {
        Suite *s = suite_create("history");
        TCase *tc = tcase_create("tiers");
        tcase_add_test(tc, tier_slots);
        tcase_add_test(tc, raw_wraps);
        tcase_add_test(tc, buckets);
        tcase_add_test(tc, absent);
        tcase_add_test(tc, retire);
        tcase_add_test(tc, widen_and_saturate);
        tcase_add_test(tc, spread);
        tcase_add_test(tc, resize);
        tcase_add_test(tc, many_series);
        suite_add_tcase(s, tc);
        TCase *lim = tcase_create("limits");
        tcase_add_test(lim, limits);
        suite_add_tcase(s, lim);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(history_suite());
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
