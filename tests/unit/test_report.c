#include <check.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/report.h"

static const char *const udp_leak[] = {
        "kmem_cache_alloc_noprof+0x1f3/0x2d0",
        "sk_prot_alloc+0x3b/0x120",
        "sk_alloc+0x36/0x2e0",
        "inet_create+0xe2/0x3a0",
        "__sock_create+0x103/0x230",
        "__sys_socket+0x6a/0xf0",
        "__x64_sys_socket+0x17/0x20",
        "do_syscall_64+0x5d/0x170",
};

static const char *const udp_churn[] = {
        "kmem_cache_alloc_noprof+0x1f3/0x2d0",
        "sk_prot_alloc+0x3b/0x120",
        "sk_alloc+0x36/0x2e0",
        "inet_create+0xe2/0x3a0",
        "__sock_create+0x103/0x230",
        "__sys_socket+0x6a/0xf0",
        "__do_sys_socketpair+0x10/0x20",
};

static struct report *make_report(void) {
        struct report *r = NULL;
        struct report_stack *s;
        struct report_callsite *c;

        ck_assert_int_eq(report_new(&r), 0);
        strcpy(r->id, "20250101T000000Z-UDP");
        strcpy(r->cache, "UDP");
        strcpy(r->kernel, "6.18.44");
        ck_assert_int_eq(report_strv_add(&r->aliases, "UDP"), 0);
        ck_assert_int_eq(report_strv_add(&r->aliases, "UDP-Lite"), 0);
        ck_assert_int_eq(report_strv_add(&r->methods, "tracefs"), 0);
        strcpy(r->trigger.reason, "objects_per_min 600.0 > 500");
        r->trigger.objects_per_min = 600;
        r->trigger.active_objs = 4096;
        r->trigger.window_usec = 600000000;
        r->start_realtime_usec = 1735689600000000ULL;
        r->duration_usec = 60000000;
        strcpy(r->stop_reason, "duration");
        r->events = 120000;
        r->callsite_snapshots = 2;

        /* Churn first, so ranking has to move the leak up. */
        s = report_add_stack(r, udp_churn, sizeof udp_churn / sizeof udp_churn[0]);
        ck_assert_ptr_nonnull(s);
        s->allocs = 60000;
        s->frees = 59999;
        s->outstanding = 1;
        s->bytes = 1344;
        s = report_add_stack(r, udp_leak, sizeof udp_leak / sizeof udp_leak[0]);
        ck_assert_ptr_nonnull(s);
        s->allocs = 6000;
        s->outstanding = 6000;
        s->oldest_age_s = 59.5;
        s->bytes = 6000 * 1344;

        c = report_add_callsite(r);
        ck_assert_ptr_nonnull(c);
        strcpy(c->site, "skb_free_head+0x74/0x94");
        c->free_site = true;
        c->count_first = 600;
        c->count_last = 603;
        c->delta = 3;
        c = report_add_callsite(r);
        strcpy(c->site, "pskb_expand_head+0xa0/0x2b0");
        c->count_first = 29;
        c->count_last = 29;
        c = report_add_callsite(r);
        strcpy(c->site, "__alloc_skb+0x98/0x238");
        c->count_first = 3000;
        c->count_last = 3103;
        c->delta = 103;
        c->age_min = 430;
        c->age_avg = 366961;
        c->age_max = 410069;
        ck_assert_int_eq(report_strv_add(&c->frames, "kmalloc_reserve+0x1/0x2"), 0);
        ck_assert_int_eq(report_strv_addf(&r->advice, "boot with `%s=U,%s`", "slab_debug", "UDP"), 0);
        return r;
}

START_TEST(test_rank) {
        struct report *r = make_report();

        report_rank(r);
        ck_assert_uint_eq(r->stacks[0].outstanding, 6000);
        ck_assert_str_eq(r->stacks[0].frames.v[3], "inet_create+0xe2/0x3a0");
        ck_assert_uint_eq(r->stacks[1].outstanding, 1);
        ck_assert_str_eq(r->call_sites[0].site, "__alloc_skb+0x98/0x238");
        ck_assert_str_eq(r->call_sites[1].site, "pskb_expand_head+0xa0/0x2b0");
        ck_assert(r->call_sites[2].free_site);
        report_free(r);
}
END_TEST

START_TEST(test_rank_stable) {
        struct report *r = NULL;
        const char *a[] = { "a" }, *b[] = { "b" }, *c[] = { "c" };

        ck_assert_int_eq(report_new(&r), 0);
        report_add_stack(r, a, 1)->outstanding = 5;
        report_add_stack(r, b, 1)->outstanding = 5;
        report_add_stack(r, c, 1)->outstanding = 7;
        report_rank(r);
        ck_assert_str_eq(r->stacks[0].frames.v[0], "c");
        ck_assert_str_eq(r->stacks[1].frames.v[0], "a");
        ck_assert_str_eq(r->stacks[2].frames.v[0], "b");
        report_free(r);
}
END_TEST

START_TEST(test_suspect) {
        struct report *r = NULL;
        char buf[REPORT_NAME_MAX];
        const char *skb[] = {
                "show_stack+0x88/0xa4", "dump_stack+0x6c/0x8c", "__alloc_skb+0x1e8/0x238",
                "skbmgr_alloc_skb4k+0xc8/0x124",
        };
        const char *kmalloc_only[] = { "__kmalloc_noprof+0x1/0x2", "kmem_cache_alloc_noprof+0x1/0x2" };
        const char *odd[] = { "? trace_event_raw_event_kmem_cache_alloc+0x1/0x2", "[<8079f940>] __alloc_skb+0x1e8/0x238",
                              "x" };
        const char *module[] = { "kmalloc_trace+0x1/0x2", "my_driver_open+0x10/0x80 [mydrv]" };

        ck_assert_int_eq(report_new(&r), 0);
        report_add_stack(r, udp_leak, sizeof udp_leak / sizeof udp_leak[0]);
        report_add_stack(r, skb, 4);
        report_add_stack(r, kmalloc_only, 2);
        report_add_stack(r, odd, 3);
        report_add_stack(r, module, 2);
        report_add_stack(r, NULL, 0);
        ck_assert_str_eq(report_suspect(&r->stacks[0], buf, sizeof buf), "inet_create");
        ck_assert_str_eq(report_suspect(&r->stacks[1], buf, sizeof buf), "__alloc_skb");
        ck_assert_str_eq(report_suspect(&r->stacks[2], buf, sizeof buf), "__kmalloc_noprof");
        ck_assert_str_eq(report_suspect(&r->stacks[3], buf, sizeof buf), "__alloc_skb");
        ck_assert_str_eq(report_suspect(&r->stacks[4], buf, sizeof buf), "my_driver_open");
        ck_assert_str_eq(report_suspect(&r->stacks[5], buf, sizeof buf), "");
        ck_assert_str_eq(report_suspect(&r->stacks[0], buf, 4), "ine");
        ck_assert(report_frame_is_noise("kmem_cache_alloc_lru_noprof+0x1/0x2"));
        ck_assert(report_frame_is_noise(""));
        ck_assert(!report_frame_is_noise("__alloc_skb+0x98/0x238"));
        ck_assert(!report_frame_is_noise("inet_create"));
        report_free(r);
}
END_TEST

START_TEST(test_join) {
        struct report *r = make_report();
        char buf[REPORT_TOP_STACK_MAX], small[48];

        report_rank(r);
        report_join_frames(&r->stacks[0], ";", buf, sizeof buf);
        ck_assert_str_eq(buf, "kmem_cache_alloc_noprof+0x1f3/0x2d0;sk_prot_alloc+0x3b/0x120;sk_alloc+0x36/0x2e0;"
                              "inet_create+0xe2/0x3a0;__sock_create+0x103/0x230;__sys_socket+0x6a/0xf0;"
                              "__x64_sys_socket+0x17/0x20;do_syscall_64+0x5d/0x170");
        report_join_frames(&r->stacks[0], ";", small, sizeof small);
        ck_assert_str_eq(small, "kmem_cache_alloc_noprof+0x1f3/0x2d0;...");
        ck_assert_uint_lt(strlen(small), sizeof small);
        report_join_frames(&r->stacks[0], ";", small, 8);
        ck_assert_uint_lt(strlen(small), 8);
        report_free(r);
}
END_TEST

START_TEST(test_json) {
        struct report *r = make_report();
        json_object *o = NULL, *v, *stacks, *first, *cs, *alloc;
        const char *text;

        report_rank(r);
        ck_assert_int_eq(report_to_json(r, &o), 0);
        text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
        ck_assert_ptr_nonnull(text);

        /* Round-trip through the text, as a reader of report.json would. */
        json_object *back = json_tokener_parse(text);
        ck_assert_ptr_nonnull(back);
        ck_assert(json_object_object_get_ex(back, "cache", &v));
        ck_assert_str_eq(json_object_get_string(v), "UDP");
        ck_assert(json_object_object_get_ex(back, "aliases", &v));
        ck_assert_int_eq(json_object_array_length(v), 2);
        ck_assert(json_object_object_get_ex(back, "suspect", &v));
        ck_assert_str_eq(json_object_get_string(v), "inet_create");
        ck_assert(json_object_object_get_ex(back, "lost_events", &v));
        ck_assert_int_eq(json_object_get_int64(v), 0);
        ck_assert(json_object_object_get_ex(back, "start", &v));
        ck_assert_str_eq(json_object_get_string(v), "2025-01-01T00:00:00Z");
        ck_assert(json_object_object_get_ex(back, "duration_s", &v));
        ck_assert(json_object_get_double(v) == 60.0);

        ck_assert(json_object_object_get_ex(back, "stacks", &stacks));
        ck_assert_int_eq(json_object_array_length(stacks), 2);
        first = json_object_array_get_idx(stacks, 0);
        ck_assert(json_object_object_get_ex(first, "outstanding", &v));
        ck_assert_int_eq(json_object_get_int64(v), 6000);
        ck_assert(json_object_object_get_ex(first, "frames", &v));
        ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(v, 0)), "kmem_cache_alloc_noprof+0x1f3/0x2d0");
        ck_assert(json_object_object_get_ex(first, "oldest_age_s", &v));
        ck_assert(json_object_get_double(v) == 59.5);
        ck_assert(json_object_object_get_ex(first, "bytes", &v));
        ck_assert_int_eq(json_object_get_int64(v), 6000 * 1344);

        ck_assert(json_object_object_get_ex(back, "call_sites", &cs));
        ck_assert(json_object_object_get_ex(cs, "alloc", &alloc));
        ck_assert_int_eq(json_object_array_length(alloc), 2);
        ck_assert(json_object_object_get_ex(json_object_array_get_idx(alloc, 0), "site", &v));
        ck_assert_str_eq(json_object_get_string(v), "__alloc_skb+0x98/0x238");
        ck_assert(json_object_object_get_ex(json_object_array_get_idx(alloc, 0), "delta", &v));
        ck_assert_int_eq(json_object_get_int64(v), 103);
        ck_assert(json_object_object_get_ex(cs, "free", &v));
        ck_assert_int_eq(json_object_array_length(v), 1);
        ck_assert(json_object_object_get_ex(back, "advice", &v));
        ck_assert_int_eq(json_object_array_length(v), 1);

        json_object_put(back);
        json_object_put(o);
        report_free(r);
}
END_TEST

START_TEST(test_text) {
        struct report *r = make_report();
        char *text = NULL;
        size_t len = 0;

        r->lost_events = 17;
        report_strv_add(&r->warnings, "call sites: cannot read alloc_calls: Permission denied");
        report_rank(r);
        ck_assert_int_eq(report_to_text(r, &text, &len), 0);
        ck_assert_uint_eq(len, strlen(text));
        ck_assert_ptr_nonnull(strstr(text, "cache:      UDP"));
        ck_assert_ptr_nonnull(strstr(text, "suspect:    inet_create"));
        ck_assert_ptr_nonnull(strstr(text, "17 events were lost"));
        ck_assert_ptr_nonnull(strstr(text, "#1  outstanding ~6000"));
        ck_assert_ptr_nonnull(strstr(text, "#2  outstanding ~1"));
        ck_assert(strstr(text, "#1  outstanding ~6000") < strstr(text, "#2  outstanding ~1"));
        ck_assert_ptr_nonnull(strstr(text, "__alloc_skb+0x98/0x238"));
        ck_assert_ptr_nonnull(strstr(text, "Permission denied"));
        ck_assert_ptr_nonnull(strstr(text, "slab_debug=U,UDP"));
        free(text);
        report_free(r);
}
END_TEST

/* The cost of a capture: in report.json when a tracefs capture said it,
 * the workload's slowdown null (not measurable from inside), one line of
 * report.txt; absent otherwise. */
START_TEST(test_overhead) {
        struct report *r = make_report();
        json_object *o = NULL, *oh, *v;
        char *text = NULL;

        report_rank(r);
        ck_assert_int_eq(report_to_json(r, &o), 0);
        ck_assert(!json_object_object_get_ex(o, "overhead", &oh));
        json_object_put(o);
        r->overhead = (struct report_overhead) { .known = true, .records = 300, .bytes = 8192, .events = 200,
                                                 .stacks_recorded = 100, .daemon_cpu_usec = 250000,
                                                 .traced_usec = 10000000 };
        snprintf(r->overhead.stacks, sizeof r->overhead.stacks, "allocations only (stacktrace trigger)");
        ck_assert_int_eq(report_to_json(r, &o), 0);
        ck_assert(json_object_object_get_ex(o, "overhead", &oh));
        ck_assert(json_object_object_get_ex(oh, "stacks", &v));
        ck_assert_str_eq(json_object_get_string(v), "allocations only (stacktrace trigger)");
        ck_assert(json_object_object_get_ex(oh, "events", &v));
        ck_assert_int_eq(json_object_get_int64(v), 200);
        ck_assert(json_object_object_get_ex(oh, "stacks_recorded", &v));
        ck_assert_int_eq(json_object_get_int64(v), 100);
        ck_assert(json_object_object_get_ex(oh, "daemon_cpu_s", &v));
        ck_assert(json_object_get_double(v) == 0.25);
        ck_assert(json_object_object_get_ex(oh, "daemon_cpu_share", &v));
        ck_assert(json_object_get_double(v) == 0.025);
        ck_assert(json_object_object_get_ex(oh, "workload_slowdown", &v));
        ck_assert_ptr_null(v);
        json_object_put(o);
        ck_assert_int_eq(report_to_text(r, &text, NULL), 0);
        ck_assert_ptr_nonnull(strstr(text, "overhead:   stacks on allocations only (stacktrace trigger): 200 events, "
                                           "100 stacks; slabwatchd 0.25 s CPU in 10.0 s (2.5 %)"));
        free(text);
        report_free(r);
}
END_TEST

START_TEST(test_empty) {
        struct report *r = NULL;
        json_object *o = NULL, *v;
        char *text = NULL;

        ck_assert_int_eq(report_new(&r), 0);
        report_rank(r);
        ck_assert_int_eq(report_to_json(r, &o), 0);
        ck_assert(json_object_object_get_ex(o, "stacks", &v));
        ck_assert_int_eq(json_object_array_length(v), 0);
        ck_assert(json_object_object_get_ex(o, "suspect", &v));
        ck_assert_str_eq(json_object_get_string(v), "");
        json_object_put(o);
        ck_assert_int_eq(report_to_text(r, &text, NULL), 0);
        ck_assert_ptr_nonnull(strstr(text, "(none)"));
        free(text);
        report_free(r);
        report_free(NULL);
}
END_TEST

START_TEST(test_limits) {
        struct report *r = NULL;
        const char *frames[REPORT_FRAMES_MAX + 10];
        char garbage[] = "\xff\xfe\x01\"\\\n<script>";
        json_object *o = NULL;
        struct report_stack *s;

        for (size_t i = 0; i < sizeof frames / sizeof frames[0]; i++)
                frames[i] = "deep+0x1/0x2";
        ck_assert_int_eq(report_new(&r), 0);
        s = report_add_stack(r, frames, sizeof frames / sizeof frames[0]);
        ck_assert_ptr_nonnull(s);
        ck_assert_uint_eq(s->frames.n, REPORT_FRAMES_MAX + 1);
        ck_assert_str_eq(s->frames.v[REPORT_FRAMES_MAX], "...");

        /* Binary garbage in names goes through the JSON encoder escaped. */
        const char *g[] = { garbage };
        report_add_stack(r, g, 1);
        strcpy(r->cache, garbage);
        ck_assert_int_eq(report_to_json(r, &o), 0);
        ck_assert_ptr_nonnull(json_object_to_json_string(o));
        json_object_put(o);

        for (size_t i = 0; i < REPORT_STRV_MAX; i++)
                ck_assert_int_eq(report_strv_add(&r->warnings, "w"), 0);
        ck_assert_int_eq(report_strv_add(&r->warnings, "w"), -E2BIG);
        ck_assert(report_strv_contains(&r->warnings, "w"));
        ck_assert(!report_strv_contains(&r->warnings, "x"));
        report_free(r);
}
END_TEST

static Suite *report_suite(void) {
        Suite *s = suite_create("report");
        TCase *tc = tcase_create("core");
        tcase_add_test(tc, test_rank);
        tcase_add_test(tc, test_rank_stable);
        tcase_add_test(tc, test_suspect);
        tcase_add_test(tc, test_join);
        tcase_add_test(tc, test_json);
        tcase_add_test(tc, test_text);
        tcase_add_test(tc, test_overhead);
        tcase_add_test(tc, test_empty);
        suite_add_tcase(s, tc);

        tc = tcase_create("limits");
        tcase_add_test(tc, test_limits);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(report_suite());
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
