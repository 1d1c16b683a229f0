#include <check.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "caches/floor.h"

#define N 60

static double t[FLOOR_POINTS_MAX], f[FLOOR_POINTS_MAX];

/* @n one-minute buckets with floor v(i). */
static struct floor_result judge(size_t n, double (*v)(size_t), double granularity, double floor_min) {
        for (size_t i = 0; i < n; i++) {
                t[i] = (double) i * 60;
                f[i] = v(i);
        }
        struct floor_result r;
        ck_assert_int_eq(floor_test(t, f, n, granularity, floor_min, 0, &r), 0);
        return r;
}

static double leak(size_t i) { return 1000 + 60.0 * (double) i; }            /* 1 object/s */
static double flat_then_leak(size_t i) { return i < 30 ? 1000 + (double) (i % 3) * 20 : 1000 + 60.0 * (double) (i - 30); }
static double step(size_t i) { return i < 40 ? 1000 : 4000; }
static double plateau(size_t i) { return i < 20 ? 1000 + 60.0 * (double) i : 2200; }
static double refill(size_t i) { return i < 20 ? 9000 : i < 21 ? 3000 : 3000 + 400.0 * (double) (i - 21); }
static double staircase(size_t i) { return 1000 + 64.0 * (double) (i / 2); }
static double reset(size_t i) { return i < 30 ? 50000 : 2.0 + 60.0 * (double) (i - 30); }

START_TEST(steady_leak) {
        struct floor_result r = judge(N, leak, 1, 0);
        ck_assert(r.steady);
        ck_assert_double_eq_tol(r.rate_per_sec, 1, 0.05);
        ck_assert_double_eq_tol(r.span_sec, 59 * 60, 61);
        ck_assert_double_eq_tol(r.trend, 1, 1e-9);
        ck_assert(r.significance > 100); /* a clean line: its noise is one object */
        ck_assert(r.recent);
}
END_TEST

START_TEST(rise_starts_after_noise) {
        struct floor_result r = judge(N, flat_then_leak, 1, 0);
        ck_assert(r.steady);
        /* The noisy flat half is not part of the rise. */
        ck_assert(r.span_sec <= 30 * 60);
        ck_assert(r.span_sec >= 28 * 60);
}
END_TEST

START_TEST(step_is_not_steady) {
        struct floor_result r = judge(N, step, 1, 0);
        ck_assert_double_eq(r.rise, 3000);
        ck_assert(!r.steady);
        ck_assert_double_eq(r.max_jump, 3000);
}
END_TEST

START_TEST(plateau_is_not_steady) {
        /* Grew for 20 minutes, flat for 40: nothing of it recent. */
        struct floor_result r = judge(N, plateau, 1, 0);
        ck_assert(!r.steady);
        ck_assert(!r.recent || r.late_share < FLOOR_LATE_SHARE_MIN);
}
END_TEST

START_TEST(refill_counts_from_where_it_was) {
        /* Reclaimed from 9000 to 3000, refilling: base is the old level. */
        struct floor_result r = judge(30, refill, 1, 0);
        ck_assert_double_eq(r.base, 9000);
        ck_assert_double_eq(r.rise, 0);
        ck_assert(!r.steady);
        r = judge(N, refill, 1, 0);
        ck_assert_double_eq(r.base, 9000);
        ck_assert(r.rise > 0);
}
END_TEST

START_TEST(staircase_of_slabs) {
        struct floor_result r = judge(N, staircase, 64, 0);
        ck_assert(r.steady);
        ck_assert_double_eq(r.noise, 64);
        ck_assert_double_eq_tol(r.rate_per_sec, 64.0 / 120, 0.05);
}
END_TEST

START_TEST(floor_min_raises_the_base) {
        struct floor_result r = judge(N, leak, 1, 3000);
        ck_assert_double_eq(r.base, 3000);
        ck_assert_double_eq_tol(r.rise, 1000 + 59 * 60 - 3000, 1e-9);
}
END_TEST

START_TEST(counter_reset) {
        struct floor_result r = judge(N, reset, 1, 0);
        ck_assert(r.reset);
        ck_assert_uint_eq(r.n, 30);
        ck_assert(r.steady);
        ck_assert_double_eq_tol(r.rate_per_sec, 1, 0.05);
}
END_TEST

START_TEST(limits) {
        struct floor_result r;
        t[0] = 0, t[1] = 60, t[2] = 120;
        f[0] = f[1] = f[2] = 5;
        ck_assert_int_eq(floor_test(t, f, 3, 1, 0, 0, &r), 0); /* too few: nothing */
        ck_assert_double_eq(r.rise, 0);
        ck_assert(!r.steady);
        ck_assert_int_eq(floor_test(t, f, 0, 1, 0, 0, &r), 0);
        ck_assert_int_eq(floor_test(NULL, f, 3, 1, 0, 0, &r), -EINVAL);
        ck_assert_int_eq(floor_test(t, f, FLOOR_POINTS_MAX + 1, 1, 0, 0, &r), -EINVAL);
        t[1] = 0;
        ck_assert_int_eq(floor_test(t, f, 3, 1, 0, 0, &r), -EINVAL);
        t[1] = 60;
        f[1] = NAN;
        ck_assert_int_eq(floor_test(t, f, 3, 1, 0, 0, &r), -EINVAL);
        f[1] = 5;
        ck_assert_int_eq(floor_test(t, f, 3, NAN, 0, 0, &r), 0); /* granularity below 1 counts as 1 */
}
END_TEST

static Suite *floor_suite(void) {
        Suite *s = suite_create("floor");
        TCase *tc = tcase_create("test");
        tcase_add_test(tc, steady_leak);
        tcase_add_test(tc, rise_starts_after_noise);
        tcase_add_test(tc, step_is_not_steady);
        tcase_add_test(tc, plateau_is_not_steady);
        tcase_add_test(tc, refill_counts_from_where_it_was);
        tcase_add_test(tc, staircase_of_slabs);
        tcase_add_test(tc, floor_min_raises_the_base);
        tcase_add_test(tc, counter_reset);
        suite_add_tcase(s, tc);
        TCase *lim = tcase_create("limits");
        tcase_add_test(lim, limits);
        suite_add_tcase(s, lim);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(floor_suite());
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
