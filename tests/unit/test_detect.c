#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "caches/detect.h"

#define SEC UINT64_C(1000000)
#define MIN (60 * SEC)

static struct config_rule rule(void) {
        return (struct config_rule) {
                .match = "*",
                .window_usec = 60 * MIN,
                .objects_per_min = 10,
                .bytes_per_hour = 1024 * 1024,
                .significance = 6,
                .steady_for_usec = 15 * MIN,
                .fast_for_usec = 3 * MIN,
                .fast_exhaust_usec = 120 * 24 * 60 * MIN,
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
                .rise_objs = 1000,
                .rise_sec = 20 * 60,
                .significance = 10,
                .steady = true,
                .floor = 1000,
                .exhaust_sec = INFINITY,
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
        /* An ignore rule never holds; nor one without any threshold. */
        r = rule();
        m = growing(0, 100);
        r.ignore = true;
        ck_assert(!detect_rule_holds(&r, &m));
        r = rule();
        r.objects_per_min = r.bytes_per_hour = r.percent_per_hour = 0;
        ck_assert(detect_rule_holds(&r, &m)); /* the significance alone */
        r.significance = 0;
        ck_assert(!detect_rule_holds(&r, &m));
        /* Not steady, or not significant: no. */
        r = rule();
        m = growing(0, 100);
        m.steady = false;
        ck_assert(!detect_rule_holds(&r, &m));
        m = growing(0, 100);
        m.significance = 5.9;
        ck_assert(!detect_rule_holds(&r, &m));
        m.rise_objs = 0;
        m.significance = 100;
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

/* How long a rise must last: steady_for; shorter when far above the
 * noise, never below fast_for; fast_for when it would exhaust memory soon. */
START_TEST(needed_time) {
        struct config_rule r = rule();
        struct detect_measure m = growing(0, 100);
        ck_assert_uint_eq(detect_needed_usec(&r, &m), 15 * MIN);
        m.significance = 24; /* DETECT_CLEAR_FACTOR x 6: the limit */
        ck_assert_uint_eq(detect_needed_usec(&r, &m), 15 * MIN);
        m.significance = 48;
        ck_assert_uint_eq(detect_needed_usec(&r, &m), 15 * MIN / 2);
        m.significance = 1e6;
        ck_assert_uint_eq(detect_needed_usec(&r, &m), 3 * MIN);
        m = growing(0, 100);
        m.exhaust_sec = 100 * 24 * 3600.0; /* 100 days to take all of MemTotal */
        ck_assert_uint_eq(detect_needed_usec(&r, &m), 3 * MIN);
        m.exhaust_sec = 200 * 24 * 3600.0;
        ck_assert_uint_eq(detect_needed_usec(&r, &m), 15 * MIN);
        r.fast_exhaust_usec = 0; /* no fast path */
        m.exhaust_sec = 1;
        ck_assert_uint_eq(detect_needed_usec(&r, &m), 15 * MIN);

        /* The rise must have lasted what is needed. */
        r = rule();
        m = growing(0, 100);
        m.rise_sec = 14 * 60;
        ck_assert(!detect_rule_holds(&r, &m));
        m.rise_sec = 15 * 60;
        ck_assert(detect_rule_holds(&r, &m));
        m.rise_sec = 4 * 60;
        m.exhaust_sec = 10 * 24 * 3600.0;
        ck_assert(detect_rule_holds(&r, &m));
        m.rise_sec = 2 * 60;
        ck_assert(!detect_rule_holds(&r, &m));
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
        tcase_add_test(tc, needed_time);
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
