#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "caches/detect.h"
#include "caches/growth.h"

#define SEC UINT64_C(1000000)
#define MIN (60 * SEC)

static struct config_rule rule(void) {
        return (struct config_rule) {
                .match = "*",
                .window_usec = 5 * MIN,
                .objects_per_min = 10,
                .bytes_per_hour = 1024 * 1024,
                .for_usec = 2 * MIN,
                .min_trend = 0.7,
        };
}

static const struct config_alert alert = {
        .repeat_usec = 60 * MIN,
        .rate_factor = 2.0,
        .clear_usec = 10 * MIN,
};

/* A measure that passes rule() with room to spare. */
static struct detect_measure growing(uint64_t t, double opm) {
        return (struct detect_measure) {
                .t_usec = t,
                .decided = true,
                .objs_per_min = opm,
                .bytes_per_hour = opm * 60 * 1024,
                .percent_per_hour = 50,
                .trend = 0.95,
                .active_objs = 1000,
                .bytes = 8 << 20,
        };
}

static enum detect_event step(struct detect *d, const struct config_rule *r, uint64_t t, double opm) {
        struct detect_measure m = growing(t, opm);
        return detect_step(d, r, &alert, &m);
}

START_TEST(thresholds) {
        struct config_rule r = rule();
        struct detect_measure m = growing(0, 100);
        ck_assert(detect_rule_holds(&r, &m));
        m.objs_per_min = 9; /* under objects_per_min */
        m.bytes_per_hour = 100e6;
        ck_assert(!detect_rule_holds(&r, &m));
        m = growing(0, 100);
        m.bytes_per_hour = 1000; /* under bytes_per_hour */
        ck_assert(!detect_rule_holds(&r, &m));
        m = growing(0, 100);
        m.trend = 0.69;
        ck_assert(!detect_rule_holds(&r, &m));
        m = growing(0, 100);
        m.decided = false;
        ck_assert(!detect_rule_holds(&r, &m));
        /* Thresholds left at 0 are not checked; set ones must all pass. */
        m = growing(0, 100);
        r.percent_per_hour = 60;
        ck_assert(!detect_rule_holds(&r, &m));
        r.percent_per_hour = 40;
        ck_assert(detect_rule_holds(&r, &m));
        r.min_bytes = 16 << 20;
        ck_assert(!detect_rule_holds(&r, &m));
        r.min_bytes = 8 << 20;
        ck_assert(detect_rule_holds(&r, &m));
        r.min_trend = 0;
        m.trend = -0.5;
        ck_assert(detect_rule_holds(&r, &m));
        /* An ignore rule never holds; nor one without any rate threshold. */
        r = rule();
        m = growing(0, 100);
        r.ignore = true;
        ck_assert(!detect_rule_holds(&r, &m));
        r = rule();
        r.objects_per_min = r.bytes_per_hour = r.percent_per_hour = 0;
        ck_assert(!detect_rule_holds(&r, &m));
        /* Shrinking never holds, even for a rule of percent only. */
        r = rule();
        r.objects_per_min = r.bytes_per_hour = 0;
        r.percent_per_hour = 1;
        m = growing(0, -100);
        m.percent_per_hour = 500;
        ck_assert(!detect_rule_holds(&r, &m));
        ck_assert(!detect_rule_holds(NULL, &m));
}
END_TEST

START_TEST(trip_after_for) {
        struct config_rule r = rule();
        struct detect d = {};
        uint64_t t = 0;
        ck_assert_int_eq(step(&d, &r, t, 100), DETECT_EVENT_NONE);
        ck_assert_int_eq(d.state, DETECT_PENDING);
        t += MIN;
        ck_assert_int_eq(step(&d, &r, t, 100), DETECT_EVENT_NONE);
        t += MIN;
        ck_assert_int_eq(step(&d, &r, t, 100), DETECT_EVENT_TRIP);
        ck_assert_int_eq(d.state, DETECT_TRIPPED);
        ck_assert_uint_eq(d.tripped_since_usec, t);
        /* Alerted once: the same rate does not alert again. */
        t += MIN;
        ck_assert_int_eq(step(&d, &r, t, 150), DETECT_EVENT_NONE);
        ck_assert_str_eq(detect_state_name(d.state), "tripped");
}
END_TEST

START_TEST(pending_resets) {
        struct config_rule r = rule();
        struct detect d = {};
        step(&d, &r, 0, 100);
        struct detect_measure quiet = growing(MIN, 0);
        ck_assert_int_eq(detect_step(&d, &r, &alert, &quiet), DETECT_EVENT_NONE);
        ck_assert_int_eq(d.state, DETECT_OK);
        /* The `for` span starts over. */
        step(&d, &r, 2 * MIN, 100);
        ck_assert_int_eq(step(&d, &r, 3 * MIN, 100), DETECT_EVENT_NONE);
        ck_assert_int_eq(step(&d, &r, 4 * MIN, 100), DETECT_EVENT_TRIP);
        /* Undecided keeps a pending state as it is. */
        struct detect e = {};
        step(&e, &r, 0, 100);
        struct detect_measure undecided = { .t_usec = MIN };
        ck_assert_int_eq(detect_step(&e, &r, &alert, &undecided), DETECT_EVENT_NONE);
        ck_assert_int_eq(e.state, DETECT_PENDING);
}
END_TEST

START_TEST(no_for) {
        struct config_rule r = rule();
        r.for_usec = 0;
        struct detect d = {};
        ck_assert_int_eq(step(&d, &r, 0, 100), DETECT_EVENT_TRIP);
}
END_TEST

START_TEST(retrip) {
        struct config_rule r = rule();
        r.for_usec = 0;
        struct detect d = {};
        step(&d, &r, 0, 100);
        /* Rate doubles: alert again at once. */
        ck_assert_int_eq(step(&d, &r, MIN, 199), DETECT_EVENT_NONE);
        ck_assert_int_eq(step(&d, &r, 2 * MIN, 200), DETECT_EVENT_RETRIP);
        ck_assert_double_eq(d.last_alert_objs_per_min, 200);
        /* Same rate for the repeat span: alert again. */
        ck_assert_int_eq(step(&d, &r, 61 * MIN, 200), DETECT_EVENT_NONE);
        ck_assert_int_eq(step(&d, &r, 62 * MIN, 200), DETECT_EVENT_RETRIP);
        ck_assert_str_eq(detect_event_name(DETECT_EVENT_RETRIP), "retrip");
}
END_TEST

START_TEST(clears) {
        struct config_rule r = rule();
        r.for_usec = 0;
        struct detect d = {};
        step(&d, &r, 0, 100);
        detect_observe(&d, MIN, 2000); /* a new high */
        ck_assert_uint_eq(d.high_water, 2000);
        /* It stops growing: counts wobble below the high for 10 minutes. */
        uint64_t t = MIN;
        enum detect_event ev = DETECT_EVENT_NONE;
        while (ev == DETECT_EVENT_NONE && t < 30 * MIN) {
                t += 30 * SEC;
                detect_observe(&d, t, 1990 + (t / SEC) % 7);
                ev = step(&d, &r, t, 0);
        }
        ck_assert_int_eq(ev, DETECT_EVENT_CLEARED);
        ck_assert_uint_eq(t, 11 * MIN);
        ck_assert_int_eq(d.state, DETECT_OK);
        /* While it still makes new highs it stays tripped, even if the rule
         * does not hold at the moment. */
        struct detect e = {};
        step(&e, &r, 0, 100);
        for (t = 30 * SEC; t < 30 * MIN; t += 30 * SEC) {
                detect_observe(&e, t, 1000 + t / SEC);
                ck_assert_int_eq(step(&e, &r, t, 5), DETECT_EVENT_NONE);
        }
        ck_assert_int_eq(e.state, DETECT_TRIPPED);
}
END_TEST

/* The whole chain on synthetic series: growth_fit over a sliding 5-minute
 * window of 10 s samples, the measure, the state machine. */
static enum detect_event run_series(double (*f)(unsigned), unsigned samples, uint64_t *ret_trip_usec) {
        struct config_rule r = rule();
        struct detect d = {};
        static double t[30], y[30];
        enum detect_event first = DETECT_EVENT_NONE;
        for (unsigned i = 30; i <= samples; i++) {
                for (unsigned k = 0; k < 30; k++) {
                        t[k] = (double) k * 10;
                        y[k] = f(i - 30 + k);
                }
                struct growth_fit g;
                ck_assert_int_eq(growth_fit(t, y, 30, &g), 0);
                struct detect_measure m = {
                        .t_usec = i * 10 * SEC,
                        .decided = g.n >= 4,
                        .objs_per_min = g.slope_per_sec * 60,
                        .bytes_per_hour = g.slope_per_sec * 3600 * 256,
                        .trend = g.trend,
                        .active_objs = (uint64_t) y[29],
                };
                detect_observe(&d, m.t_usec, m.active_objs);
                enum detect_event ev = detect_step(&d, &r, &alert, &m);
                if (ev == DETECT_EVENT_TRIP && first == DETECT_EVENT_NONE) {
                        first = ev;
                        *ret_trip_usec = m.t_usec;
                }
        }
        return first;
}

static double leak(unsigned i) {
        return 800 + 3.0 * 10 * i;      /* 3 objects/s of 256 bytes: 2.6 MiB/h */
}

static double staircase(unsigned i) {
        return 800 + 64.0 * (i / 4);    /* a 64-object slab every 40 s: 1.5 MiB/h */
}

static double burst(unsigned i) {
        return 5000 + (i % 40 == 20 ? 4000 : 0) + (i % 3);
}

static double sawtooth(unsigned i) {
        return 3000 + 150.0 * (i % 9);
}

static double reclaim_drop(unsigned i) {
        return i < 60 ? 20000 + 2.0 * i : 9000 + 2.0 * i;
}

static double reset_then_leak(unsigned i) {
        return i < 50 ? 40000 - (double) i : 5 + 40.0 * (i - 50);
}

START_TEST(synthetic_series) {
        uint64_t t = 0;
        ck_assert_int_eq(run_series(leak, 120, &t), DETECT_EVENT_TRIP);
        ck_assert_uint_le(t, (30 + 13) * 10 * SEC); /* window filled, then `for` */
        ck_assert_int_eq(run_series(staircase, 120, &t), DETECT_EVENT_TRIP);
        ck_assert_int_eq(run_series(burst, 240, &t), DETECT_EVENT_NONE);
        ck_assert_int_eq(run_series(sawtooth, 240, &t), DETECT_EVENT_NONE);
        ck_assert_int_eq(run_series(reclaim_drop, 240, &t), DETECT_EVENT_NONE);
        ck_assert_int_eq(run_series(reset_then_leak, 120, &t), DETECT_EVENT_TRIP);
        ck_assert_uint_gt(t, 50 * 10 * SEC); /* only once it leaks after the reset */
}
END_TEST

START_TEST(limits) {
        struct config_rule r = rule();
        struct detect d = { .state = _DETECT_STATE_MAX };
        ck_assert_int_eq(step(&d, &r, 0, 100), DETECT_EVENT_NONE);
        ck_assert_int_eq(d.state, DETECT_OK);
        ck_assert_str_eq(detect_state_name(_DETECT_STATE_MAX), "unknown");
        ck_assert_str_eq(detect_event_name(DETECT_EVENT_NONE), "");
        struct detect_measure m = growing(0, NAN);
        ck_assert(!detect_rule_holds(&r, &m));
}
END_TEST

static Suite *detect_suite(void) {
        Suite *s = suite_create("detect");
        TCase *tc = tcase_create("state");
        tcase_add_test(tc, thresholds);
        tcase_add_test(tc, trip_after_for);
        tcase_add_test(tc, pending_resets);
        tcase_add_test(tc, no_for);
        tcase_add_test(tc, retrip);
        tcase_add_test(tc, clears);
        tcase_add_test(tc, synthetic_series);
        suite_add_tcase(s, tc);
        TCase *lim = tcase_create("limits");
        tcase_add_test(lim, limits);
        suite_add_tcase(s, lim);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(detect_suite());
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
