#include <check.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "caches/growth.h"

#define N 60

static double t[GROWTH_POINTS_MAX + 1], y[GROWTH_POINTS_MAX + 1];

/* Times every 10 s. */
static void times(size_t n) {
        for (size_t i = 0; i < n; i++)
                t[i] = (double) i * 10;
}

static struct growth_fit fit(size_t n) {
        struct growth_fit f;
        ck_assert_int_eq(growth_fit(t, y, n, &f), 0);
        return f;
}

/* Brute force: the median of all pairwise slopes. */
static double brute_slope(size_t n) {
        static double s[GROWTH_POINTS_MAX * GROWTH_POINTS_MAX];
        size_t k = 0;
        for (size_t i = 0; i < n; i++)
                for (size_t j = i + 1; j < n; j++)
                        s[k++] = (y[j] - y[i]) / (t[j] - t[i]);
        for (size_t i = 1; i < k; i++)
                for (size_t j = i; j > 0 && s[j - 1] > s[j]; j--) {
                        double x = s[j];
                        s[j] = s[j - 1];
                        s[j - 1] = x;
                }
        return k % 2 ? s[k / 2] : (s[k / 2 - 1] + s[k / 2]) / 2;
}

START_TEST(steady_leak) {
        times(N);
        for (size_t i = 0; i < N; i++)
                y[i] = 1000 + 3.0 * t[i];
        struct growth_fit f = fit(N);
        ck_assert_double_eq_tol(f.slope_per_sec, 3.0, 1e-9);
        ck_assert_double_eq_tol(f.trend, 1.0, 1e-9);
        ck_assert_double_eq_tol(f.start_value, 1000, 1e-6);
        ck_assert_double_eq_tol(f.end_value, 1000 + 3.0 * t[N - 1], 1e-6);
        ck_assert(!f.reset);
        ck_assert_uint_eq(f.n, N);
        ck_assert_double_eq_tol(f.span_sec, t[N - 1], 1e-9);
}
END_TEST

START_TEST(staircase) {
        /* /proc/slabinfo moves a slab (64 objects) at a time: a slow leak
         * of 64 objects per 80 s is a staircase, and still a steady trend. */
        times(N);
        for (size_t i = 0; i < N; i++)
                y[i] = 640 + 64.0 * (double) (i / 8);
        struct growth_fit f = fit(N);
        ck_assert_double_eq_tol(f.slope_per_sec, 0.8, 0.15);
        ck_assert(f.trend >= 0.8);
}
END_TEST

START_TEST(burst) {
        /* Flat with one big spike: no growth, no trend. */
        times(N);
        for (size_t i = 0; i < N; i++)
                y[i] = 5000 + (i == 30 ? 6000 : 0);
        struct growth_fit f = fit(N);
        ck_assert_double_eq_tol(f.slope_per_sec, 0, 1e-9);
        ck_assert(fabs(f.trend) < 0.2);
        /* A burst on top of a slow rise moves the rate little. */
        for (size_t i = 0; i < N; i++)
                y[i] = 5000 + 0.5 * t[i] + (i >= 40 && i < 43 ? 4000 : 0);
        f = fit(N);
        ck_assert_double_eq_tol(f.slope_per_sec, 0.5, 0.1);
}
END_TEST

START_TEST(sawtooth) {
        /* Churn: up by 100 per sample for 5 samples, then back. */
        times(N);
        for (size_t i = 0; i < N; i++)
                y[i] = 2000 + 100.0 * (double) (i % 6);
        struct growth_fit f = fit(N);
        ck_assert(fabs(f.trend) < 0.2);
        ck_assert(fabs(f.slope_per_sec) < 0.5);
}
END_TEST

START_TEST(reclaim_drop) {
        /* Grows, then memory pressure takes half: not a reset, no trend. */
        times(N);
        for (size_t i = 0; i < N; i++)
                y[i] = i < 30 ? 10000 + 20.0 * (double) i : 5000 + 2.0 * (double) (i - 30);
        struct growth_fit f = fit(N);
        ck_assert(!f.reset);
        ck_assert(f.slope_per_sec < 0.5);
        ck_assert(f.trend < 0.5);
}
END_TEST

START_TEST(counter_reset) {
        /* Cache destroyed and created again: the count falls to near 0 and
         * only what follows is fitted. */
        times(N);
        for (size_t i = 0; i < N; i++)
                y[i] = i < 20 ? 9000 - 5.0 * (double) i : 10 + 2.0 * (t[i] - t[20]);
        struct growth_fit f = fit(N);
        ck_assert(f.reset);
        ck_assert_uint_eq(f.first, 20);
        ck_assert_uint_eq(f.n, N - 20);
        ck_assert_double_eq_tol(f.slope_per_sec, 2.0, 1e-9);
        ck_assert_double_eq_tol(f.trend, 1.0, 1e-9);
        ck_assert_uint_eq(growth_reset_index(y, N), 20);
        /* Small counts jitter to zero without being resets. */
        for (size_t i = 0; i < N; i++)
                y[i] = i % 2 ? 0 : 8;
        ck_assert_uint_eq(growth_reset_index(y, N), 0);
}
END_TEST

START_TEST(flat_and_short) {
        times(N);
        for (size_t i = 0; i < N; i++)
                y[i] = 42;
        struct growth_fit f = fit(N);
        ck_assert_double_eq(f.slope_per_sec, 0);
        ck_assert_double_eq(f.trend, 0);
        ck_assert_double_eq(f.start_value, 42);
        f = fit(1);
        ck_assert_uint_eq(f.n, 1);
        ck_assert_double_eq(f.slope_per_sec, 0);
        y[1] = 52;
        f = fit(2);
        ck_assert_double_eq_tol(f.slope_per_sec, 1.0, 1e-12);
        ck_assert_double_eq(f.trend, 1.0);
}
END_TEST

START_TEST(matches_brute_force) {
        /* The sign-first median must equal the textbook Theil–Sen slope on
         * any data: ties, falls, rises, odd and even pair counts. */
        srand(7);
        for (int round = 0; round < 400; round++) {
                size_t n = 2 + (size_t) rand() % (GROWTH_POINTS_MAX - 1);
                double tt = 0;
                for (size_t i = 0; i < n; i++) {
                        tt += 1 + rand() % 5;
                        t[i] = tt;
                        int mode = round % 4;
                        y[i] = mode == 0 ? rand() % 4 : mode == 1 ? rand() % 1000 : mode == 2 ? (double) (i / 3) * 64 : 500 - (double) (rand() % 3) * (double) i;
                }
                struct growth_fit f, g;
                ck_assert_int_eq(growth_fit(t, y, n, &f), 0);
                if (f.reset)
                        continue;
                ck_assert_msg(fabs(f.slope_per_sec - brute_slope(n)) < 1e-9, "round %d n %zu: %g vs %g", round, n,
                              f.slope_per_sec, brute_slope(n));
                ck_assert_int_eq(growth_fit_trend(t, y, n, &g), 0);
                ck_assert_double_eq(g.trend, f.trend);
                ck_assert_double_eq(g.slope_per_sec, 0);
        }
}
END_TEST

START_TEST(median) {
        double a[] = { 5, 1, 4, 2, 3 };
        ck_assert_double_eq(growth_median(a, 5), 3);
        double b[] = { 8, 2, 6, 4 };
        ck_assert_double_eq(growth_median(b, 4), 5);
        double c[] = { 7, 7, 7, 7, 7, 7 };
        ck_assert_double_eq(growth_median(c, 6), 7);
        ck_assert_double_eq(growth_median(NULL, 0), 0);
}
END_TEST

START_TEST(limits) {
        struct growth_fit f;
        times(GROWTH_POINTS_MAX + 1);
        for (size_t i = 0; i <= GROWTH_POINTS_MAX; i++)
                y[i] = (double) i;
        ck_assert_int_eq(growth_fit(t, y, 0, &f), -EINVAL);
        ck_assert_int_eq(growth_fit(t, y, GROWTH_POINTS_MAX + 1, &f), -EINVAL);
        ck_assert_int_eq(growth_fit(t, y, GROWTH_POINTS_MAX, &f), 0);
        ck_assert_int_eq(growth_fit(NULL, y, 3, &f), -EINVAL);
        t[2] = t[1];
        ck_assert_int_eq(growth_fit(t, y, 5, &f), -EINVAL);
        times(5);
        y[3] = NAN;
        ck_assert_int_eq(growth_fit(t, y, 5, &f), -EINVAL);
        y[3] = INFINITY;
        ck_assert_int_eq(growth_fit(t, y, 5, &f), -EINVAL);
        y[3] = 3;
        t[4] = NAN;
        ck_assert_int_eq(growth_fit(t, y, 5, &f), -EINVAL);
}
END_TEST

static Suite *growth_suite(void) {
        Suite *s = suite_create("growth");
        TCase *tc = tcase_create("fit");
        tcase_add_test(tc, steady_leak);
        tcase_add_test(tc, staircase);
        tcase_add_test(tc, burst);
        tcase_add_test(tc, sawtooth);
        tcase_add_test(tc, reclaim_drop);
        tcase_add_test(tc, counter_reset);
        tcase_add_test(tc, flat_and_short);
        tcase_add_test(tc, matches_brute_force);
        tcase_add_test(tc, median);
        suite_add_tcase(s, tc);
        TCase *lim = tcase_create("limits");
        tcase_add_test(lim, limits);
        suite_add_tcase(s, lim);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(growth_suite());
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
