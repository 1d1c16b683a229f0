/* One frame classification for the live report and the offline stacks. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "report/report.h"
#include "stacks/frames.h"
#include "stacks/stackagg.h"
#include "stacks/stackdump.h"

/* A UDP socket leak as tracefs shows it (innermost first). */
static const char *const udp[] = {
        "trace_event_raw_event_kmem_cache_alloc+0xa1/0x100",
        "kmem_cache_alloc_noprof+0x1f3/0x2d0",
        "slab_pre_alloc_hook.constprop.0+0x10/0x20",
        "__memcg_slab_post_alloc_hook+0x1/0x2",
        "sk_prot_alloc+0x3b/0x120",
        "sk_alloc+0x36/0x2e0",
        "inet_create+0xe1/0x3f0",
        "__sock_create+0x11a/0x270",
        "__sys_socket+0x5e/0xd0",
};

static int add_stack(const struct stackdump_stack *s, void *userdata) {
        return stackagg_add(userdata, s, 0);
}

START_TEST(test_classes) {
        ck_assert_int_eq(frames_classify("trace_event_raw_event_kmem_cache_alloc", 38), FRAMES_TRACING);
        ck_assert_int_eq(frames_classify("__traceiter_kmalloc", 19), FRAMES_TRACING);
        ck_assert_int_eq(frames_classify("trace.part.59", 13), FRAMES_TRACING);
        ck_assert_int_eq(frames_classify("kmem_cache_alloc_lru_noprof", 27), FRAMES_ALLOCATOR);
        ck_assert_int_eq(frames_classify("__kmalloc_cache_noprof", 22), FRAMES_ALLOCATOR);
        ck_assert_int_eq(frames_classify("kzalloc_noprof", 14), FRAMES_ALLOCATOR);
        ck_assert_int_eq(frames_classify("sk_prot_alloc", 13), FRAMES_ALLOCATOR);
        ck_assert_int_eq(frames_classify("kmalloc_reserve", 15), FRAMES_CODE);
        ck_assert_int_eq(frames_classify("kfree_skb_reason", 16), FRAMES_CODE);
        ck_assert_int_eq(frames_classify("tracepoint_probe", 16), FRAMES_CODE);
        ck_assert_int_eq(frames_classify("inet_create", 11), FRAMES_CODE);
        /* Only @len bytes count. */
        ck_assert_int_eq(frames_classify("kfree_skb", 5), FRAMES_ALLOCATOR);
        ck_assert_int_eq(frames_classify("", 0), FRAMES_CODE);
        ck_assert_int_eq(frames_classify(NULL, 3), FRAMES_CODE);

        size_t len;
        const char *f = frames_function("  ? [<8079f940>] __alloc_skb+0x1e8/0x238 [mod]", &len);
        ck_assert_uint_eq(len, 11);
        ck_assert(strncmp(f, "__alloc_skb", len) == 0);
        ck_assert_uint_eq(frames_first_code(udp, sizeof udp / sizeof *udp), 6);
        ck_assert_uint_eq(frames_first_code(udp, 2), 2);
}
END_TEST

/* SLUB's debug path on a 6.1 kernel booted with slub_debug: the
 * allocation stack starts in alloc_debug_processing, its compiler-split
 * copies included, and the partial-list refill. */
static const char *const slub_debug_61[] = {
        "alloc_debug_processing.cold+0x1a/0x2e",
        "get_partial_node.part.0+0x1d3/0x2f0",
        "___slab_alloc+0x6c5/0xaf0",
        "__slab_alloc.constprop.0+0x42/0x80",
        "kmalloc_trace+0x2c6/0x300",
        "do_timerfd_create+0x5b/0x170",
        "__x64_sys_timerfd_create+0x12/0x20",
};

START_TEST(test_slub_debug_frames) {
        size_t n = sizeof slub_debug_61 / sizeof *slub_debug_61;
        ck_assert_uint_eq(frames_first_code(slub_debug_61, n), 5);
        ck_assert(frames_is_noise("alloc_debug_processing"));
        ck_assert(frames_is_noise("alloc_debug_processing.isra.0"));
        ck_assert(frames_is_noise("alloc_debug_processing.constprop.0"));
        ck_assert(frames_is_noise("get_partial_node"));
        ck_assert(frames_is_noise("get_partial.isra.0"));
        ck_assert(frames_is_noise("get_any_partial"));
        ck_assert(frames_is_noise("___slab_alloc.cold"));
        ck_assert(frames_is_noise("__slab_alloc.isra.0"));
        ck_assert(!frames_is_noise("get_partition_info"));
}
END_TEST

/* The same stack gives the same answer live (the report's suspect) and
 * offline (the first frame `slabwatchctl stacks` keeps). */
START_TEST(test_live_and_offline_agree) {
        size_t n = sizeof udp / sizeof *udp;
        struct report *r = NULL;
        char suspect[REPORT_NAME_MAX], dump[4096];
        size_t pos = 0;

        ck_assert_int_eq(report_new(&r), 0);
        ck_assert_ptr_nonnull(report_add_stack(r, udp, n));
        report_suspect(&r->stacks[0], suspect, sizeof suspect);
        ck_assert_str_eq(suspect, "inet_create");
        report_free(r);

        pos += (size_t) snprintf(dump + pos, sizeof dump - pos, "Call Trace:\n");
        for (size_t i = 0; i < n; i++)
                pos += (size_t) snprintf(dump + pos, sizeof dump - pos, " %s\n", udp[i]);
        pos += (size_t) snprintf(dump + pos, sizeof dump - pos, "\n");

        struct stackagg *a = NULL;
        const struct stackagg_entry *const *v;
        ck_assert_int_eq(stackagg_new(NULL, &a), 0);
        ck_assert_int_eq(stackdump_parse(dump, pos, add_stack, NULL, a), 0);
        ck_assert_int_eq(stackagg_ranked(a, &v), 1);
        ck_assert_str_eq(v[0]->frames[0].function, suspect);
        ck_assert_uint_eq(v[0]->n_frames, n - 6);
        stackagg_free(a);
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("frames");
        TCase *tc = tcase_create("core");
        tcase_add_test(tc, test_classes);
        tcase_add_test(tc, test_live_and_offline_agree);
        tcase_add_test(tc, test_slub_debug_frames);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(suite());
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? 1 : 0;
}
