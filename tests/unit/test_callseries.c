/* The call-site series of a capture and the report built from it, fed
 * recorded alloc_traces snapshots; the outcome sentence of a report. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "callsites/callseries.h"
#include "report/assemble.h"
#include "testutil.h"

static int feed_fixture(struct callseries *s, size_t i, double t, const char *rel, char *problem, size_t size,
                        bool *said) {
        size_t len;
        char *text = testutil_read_fixture(rel, &len);
        int r = callseries_feed(s, i, t, text, len, rel, problem, size, said);
        free(text);
        return r;
}

START_TEST(test_series_and_report) {
        struct callseries *s = NULL;
        char problem[CALLSERIES_PROBLEM_MAX];
        bool said;

        ck_assert_int_eq(callseries_new(&s), 0);
        ck_assert_int_eq(callseries_add_source(s, "kmalloc-4k", "alloc_traces", false), 0);
        ck_assert_int_eq(callseries_add_source(s, "kmalloc-4k", "free_traces", true), 1);
        ck_assert_int_eq(callseries_diff(s, 0, &(struct callsites_diff) {}), -ENOENT);

        callseries_begin(s);
        ck_assert_int_eq(feed_fixture(s, 0, 0, "callsites/alloc_traces-6.1", problem, sizeof problem, &said), 0);
        ck_assert(!said);
        ck_assert_int_eq(feed_fixture(s, 1, 0, "callsites/free_traces-6.1", problem, sizeof problem, &said), 0);
        callseries_begin(s);
        ck_assert_int_eq(feed_fixture(s, 0, 30, "callsites/alloc_traces-6.1-later", problem, sizeof problem, &said),
                         0);
        /* The free file could not be read this time: said once. */
        ck_assert(callseries_read_failed(s, 1, -EACCES));
        ck_assert(!callseries_read_failed(s, 1, -EACCES));
        ck_assert_uint_eq(s->snapshots, 2);
        ck_assert_ptr_nonnull(s->sources[0].first_raw);
        ck_assert(s->sources[0].have_last);
        ck_assert(!s->sources[1].have_last);
        ck_assert_msg(strncmp(s->csv, "t_s,cache,file,site,count\n", 26) == 0, "%.200s", s->csv);
        ck_assert_ptr_nonnull(strstr(s->csv, "\n0.000,kmalloc-4k,alloc_traces,\"__alloc_skb+0x1f2/0x250\",3098\n"));
        ck_assert_ptr_nonnull(strstr(s->csv, "30.000,kmalloc-4k,alloc_traces,\"__alloc_skb+0x1f2/0x250\",4310\n"));

        struct report *r = NULL;
        ck_assert_int_eq(report_new(&r), 0);
        snprintf(r->cache, sizeof r->cache, "kmalloc-4k");
        report_assemble(r, s, "duration", 30000000);
        ck_assert_str_eq(r->stop_reason, "duration");
        ck_assert_uint_eq(r->duration_usec, 30000000);
        ck_assert_uint_gt(r->n_call_sites, 2);
        /* Ranked by growth: the skb site grew by 1212. */
        ck_assert_str_eq(r->call_sites[0].site, "__alloc_skb+0x1f2/0x250");
        ck_assert_int_eq(r->call_sites[0].delta, 4310 - 3098);
        ck_assert_str_eq(r->call_sites[0].frames.v[0], "__kmem_cache_alloc_node+0x1e5/0x2a0");

        struct report_outcome o;
        report_outcome_of(r, "kmalloc-4k", 0, &o);
        ck_assert_str_eq(o.top_call_site, "__alloc_skb+0x1f2/0x250");
        ck_assert_str_eq(o.methods, "none");
        ck_assert_str_eq(o.message, "Capture of kmalloc-4k: call site __alloc_skb+0x1f2/0x250 grows most (+1212, "
                                    "4310 objects)");
        report_outcome_bundle_failed(&o, "/state/captures", -ENOSPC);
        ck_assert_ptr_nonnull(strstr(o.message, "; the bundle could not be written (/state/captures: No space"));
        report_outcome_of(r, "kmalloc-4k", -EOPNOTSUPP, &o);
        ck_assert_str_eq(o.message, "No capture of kmalloc-4k is possible on this kernel");
        report_free(r);
        callseries_free(s);
}
END_TEST

START_TEST(test_problems_said_once) {
        struct callseries *s = NULL;
        char problem[CALLSERIES_PROBLEM_MAX];
        bool said;

        ck_assert_int_eq(callseries_new(&s), 0);
        ck_assert_int_eq(callseries_add_source(s, "c", "alloc_calls", false), 0);
        callseries_begin(s);
        ck_assert_int_eq(feed_fixture(s, 0, 0, "callsites/malformed", problem, sizeof problem, &said), 0);
        ck_assert(said);
        ck_assert_ptr_nonnull(strstr(problem, "malformed lines skipped in callsites/malformed"));
        ck_assert_int_eq(feed_fixture(s, 0, 1, "callsites/malformed", problem, sizeof problem, &said), 0);
        ck_assert(!said);
        ck_assert_int_lt(callseries_feed(s, 0, 2, "\x01\x02 not at all\n", 14, "x", problem, sizeof problem, &said), 0);
        ck_assert(said);
        ck_assert_int_eq(callseries_feed(s, 5, 2, "", 0, "x", problem, sizeof problem, &said), -EINVAL);

        /* A snapshot parsed elsewhere is taken over. */
        struct callsites parsed = {};
        static const char one[] = "     12 foo+0x1/0x2 age=1/2/3 pid=1 cpus=0\n";
        ck_assert_int_eq(callsites_parse(one, sizeof one - 1, &parsed), 0);
        ck_assert_int_eq(callseries_add(s, 0, 3, &parsed, NULL, 0), 0);
        ck_assert_uint_eq(parsed.n_sites, 0);
        ck_assert_uint_eq(s->sources[0].last.n_sites, 1);
        ck_assert_ptr_nonnull(strstr(s->csv, "3.000,c,alloc_calls,\"foo+0x1/0x2\",12\n"));
        ck_assert_int_eq(callsites_parse(one, sizeof one - 1, &parsed), 0);
        ck_assert_int_eq(callseries_add(s, 9, 3, &parsed, NULL, 0), -EINVAL);

        /* The series is bounded: cut once, said once. */
        size_t len;
        char *text = testutil_read_fixture("callsites/alloc_traces-6.1", &len);
        bool cut = false;
        for (unsigned i = 0; i < 100000 && !cut; i++) {
                ck_assert_int_eq(callseries_feed(s, 0, i, text, len, "x", problem, sizeof problem, &said), 0);
                cut = callseries_cut_news(s);
        }
        free(text);
        ck_assert(cut);
        ck_assert(!callseries_cut_news(s));
        ck_assert_uint_le(s->csv_len, CALLSERIES_CSV_MAX);

        for (size_t i = 1; i < CALLSERIES_SOURCES_MAX; i++)
                ck_assert_int_eq(callseries_add_source(s, "c", "free_calls", true), (int) i);
        ck_assert_int_eq(callseries_add_source(s, "c", "free_calls", true), -E2BIG);
        callseries_free(s);
        callseries_free(NULL);
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("callseries");
        TCase *tc = tcase_create("fixtures");
        tcase_add_test(tc, test_series_and_report);
        tcase_add_test(tc, test_problems_said_once);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(suite());
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
