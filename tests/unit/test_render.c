/* test_render — stacks.folded and report.html from a synthetic report. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "report/assemble.h"
#include "report/render.h"

static const char *const leak[] = { "kmem_cache_alloc+0x1/0x2", "sk_prot_alloc+0x3b/0x120",
                                    "inet_create+0xe2/0x3a0", "__sys_socket+0x6a/0xf0" };
static const char *const churn[] = { "kmem_cache_alloc+0x1/0x2", "sk_prot_alloc+0x3b/0x120",
                                     "inet_create+0xe2/0x3a0", "__sys_socketpair+0x10/0x20" };
static const char *const odd[] = { "0x<ffff>", "fn&co [mod]" };

static struct report *make(void) {
        struct report *r = NULL;
        ck_assert_int_eq(report_new(&r), 0);
        strcpy(r->id, "20260101T000000Z-UDP");
        strcpy(r->cache, "UDP");
        r->start_realtime_usec = 1767225600000000ULL;
        r->duration_usec = 60000000;
        r->trigger.objects_per_min = 600;
        struct report_stack *s = report_add_stack(r, leak, 4);
        s->allocs = s->outstanding = s->settled = 600;
        s = report_add_stack(r, churn, 4);
        s->allocs = 9000;
        s->frees = 8999;
        s->outstanding = 1;
        s = report_add_stack(r, odd, 2);
        s->allocs = s->outstanding = 2;
        struct report_callsite *c = report_add_callsite(r);
        strcpy(c->site, "sk_prot_alloc+0x3b/0x120");
        strcpy(c->cache, "UDP");
        c->count_first = 10;
        c->count_last = 610;
        c->delta = 600;
        r->attribution.cache_first = 4000;
        r->attribution.cache_last = 4600;
        r->attribution.cache_samples = 7;
        r->attribution.allocs = 9602;
        r->attribution.frees = 8999;
        report_assemble(r, NULL, "duration", 60000000);
        return r;
}

START_TEST(test_folded) {
        struct report *r = make();
        char *text = NULL;
        size_t len = 0;
        ck_assert_int_eq(report_to_folded(r, &text, &len), 0);
        ck_assert_uint_eq(strlen(text), len);
        /* Outermost first, functions only, the count last. */
        ck_assert_ptr_nonnull(strstr(text, "__sys_socket;inet_create;sk_prot_alloc;kmem_cache_alloc 600\n"));
        ck_assert_ptr_nonnull(strstr(text, "__sys_socketpair;inet_create;sk_prot_alloc;kmem_cache_alloc 1\n"));
        /* A module suffix is not part of the function; no space breaks a frame. */
        ck_assert_ptr_nonnull(strstr(text, "fn&co;0x<ffff> 2\n"));
        free(text);
        report_free(r);
}
END_TEST

START_TEST(test_html) {
        struct report *r = make();
        static const char csv[] = "time,active_objs,num_slabs\n1767225000.000,3000,250\n1767225300.000,3500,290\n"
                                  "garbage line\n1767225590.000,4000,333\n";
        char *html = NULL;
        size_t len = 0;
        ck_assert_int_eq(report_to_html(r, csv, sizeof csv - 1, &html, &len), 0);
        ck_assert_uint_eq(strlen(html), len);
        ck_assert_ptr_nonnull(strstr(html, "<!DOCTYPE html>"));
        ck_assert_ptr_nonnull(strstr(html, "id=\"history-chart\""));
        ck_assert_ptr_nonnull(strstr(html, "id=\"capture-window\""));
        ck_assert_ptr_nonnull(strstr(html, "id=\"trip-marker\""));
        ck_assert_ptr_nonnull(strstr(html, "<polyline class=\"series\""));
        ck_assert_ptr_nonnull(strstr(html, "id=\"flamegraph\""));
        ck_assert_ptr_nonnull(strstr(html, "<g class=\"node culprit\" id=\"culprit\"><title>__sys_socket: 600"));
        ck_assert_ptr_nonnull(strstr(html, "id=\"ledger\""));
        ck_assert_ptr_nonnull(strstr(html, "id=\"call-sites\""));
        ck_assert_ptr_nonnull(strstr(html, "Culprit: <span class=\"culprit-name\">__sys_socket</span>"));
        /* Frame text is escaped, and nothing is fetched or run. */
        ck_assert_ptr_nonnull(strstr(html, "0x&lt;ffff&gt;"));
        ck_assert_ptr_null(strstr(html, "0x<ffff>"));
        ck_assert_ptr_null(strstr(html, "<script"));
        ck_assert_ptr_null(strstr(html, "http://w"));
        ck_assert_ptr_null(strstr(html, "https://"));
        free(html);
        /* No history, no stacks: still a page. */
        report_free(r);
        ck_assert_int_eq(report_new(&r), 0);
        ck_assert_int_eq(report_to_html(r, NULL, 0, &html, NULL), 0);
        ck_assert_ptr_nonnull(strstr(html, "No history was recorded"));
        ck_assert_ptr_null(strstr(html, "id=\"culprit\""));
        free(html);
        report_free(r);
}
END_TEST

/* The verdict over time: the meminfo columns of history.csv as a chart
 * with the verdict band; hostile verdict text is not drawn. */
START_TEST(test_html_verdict) {
        struct report *r = make();
        static const char csv[] =
                "time,active_objs,num_slabs,MemAvailable,SUnreclaim,SReclaimable,VmallocUsed,AnonPages,Shmem,verdict\n"
                "1767225000.000,3000,250,2000000,100000,50000,30000,400000,2000,\n"
                "1767225100.000,3200,260,1990000,110000,50000,30000,400000,2000,none\n"
                "1767225200.000,3400,270,1980000,120000,50000,30000,,2000,none\n"
                "1767225300.000,3600,280,1970000,130000,50000,30000,400000,2000,slab\n"
                "1767225400.000,3800,290,1960000,140000,50000,30000,400000,2000,<b>x</b>\n"
                "1767225500.000,4000,300,1950000,150000,50000,30000,400000,2000,slab+vmalloc\n";
        char *html = NULL;
        ck_assert_int_eq(report_to_html(r, csv, sizeof csv - 1, &html, NULL), 0);
        ck_assert_ptr_nonnull(strstr(html, "<svg id=\"verdict-chart\""));
        ck_assert_ptr_nonnull(strstr(html, "data-key=\"SUnreclaim\""));
        ck_assert_ptr_nonnull(strstr(html, "data-key=\"MemAvailable\""));
        ck_assert_ptr_nonnull(strstr(html, "<g id=\"verdict-band\">"));
        ck_assert_ptr_nonnull(strstr(html, "data-verdict=\"unknown\""));
        ck_assert_ptr_nonnull(strstr(html, "data-verdict=\"none\""));
        ck_assert_ptr_nonnull(strstr(html, "data-verdict=\"slab\""));
        ck_assert_ptr_nonnull(strstr(html, "data-verdict=\"slab+vmalloc\""));
        ck_assert_ptr_null(strstr(html, "<b>x"));
        /* SUnreclaim rose 50000 kB = 48.8 MiB: the top of the axis. */
        ck_assert_ptr_nonnull(strstr(html, "+48.8 MiB"));
        ck_assert_ptr_null(strstr(html, "id=\"verdict-none\""));
        free(html);
        /* An old history.csv without meminfo columns says so. */
        static const char old[] = "time,active_objs,num_slabs\n1767225000.000,3000,250\n";
        ck_assert_int_eq(report_to_html(r, old, sizeof old - 1, &html, NULL), 0);
        ck_assert_ptr_null(strstr(html, "id=\"verdict-chart\""));
        ck_assert_ptr_nonnull(strstr(html, "id=\"verdict-none\""));
        free(html);
        report_free(r);
}
END_TEST

static Suite *render_suite(void) {
        Suite *s = suite_create("render");
        TCase *tc = tcase_create("core");
        tcase_add_test(tc, test_folded);
        tcase_add_test(tc, test_html);
        tcase_add_test(tc, test_html_verdict);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(render_suite());
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
