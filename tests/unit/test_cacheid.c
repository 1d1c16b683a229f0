#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/cacheid.h"

START_TEST(test_release) {
        uint32_t v = 0;

        ck_assert_int_eq(cacheid_parse_release("6.18.44-fc-v669", &v), 0);
        ck_assert_uint_eq(v, CACHEID_KVER(6, 18));
        ck_assert_int_eq(cacheid_parse_release("3.18.21", &v), 0);
        ck_assert_uint_eq(v, CACHEID_KVER(3, 18));
        ck_assert_int_eq(cacheid_parse_release("5.9", &v), 0);
        ck_assert_uint_eq(v, CACHEID_KVER(5, 9));
        ck_assert(CACHEID_KVER(5, 9) > CACHEID_KVER(4, 20));
        ck_assert(CACHEID_KVER(6, 8) < CACHEID_KVER(6, 18));
}
END_TEST

START_TEST(test_release_limits) {
        uint32_t v = 1234;

        ck_assert_int_eq(cacheid_parse_release("", &v), -EINVAL);
        ck_assert_int_eq(cacheid_parse_release("6", &v), -EINVAL);
        ck_assert_int_eq(cacheid_parse_release("6.", &v), -EINVAL);
        ck_assert_int_eq(cacheid_parse_release("v6.1", &v), -EINVAL);
        ck_assert_int_eq(cacheid_parse_release("99999999999.1", &v), -EINVAL);
        ck_assert_int_eq(cacheid_parse_release("6.99999999999", &v), -EINVAL);
        ck_assert_int_eq(cacheid_parse_release("\xff\xfe", &v), -EINVAL);
        ck_assert_int_eq(cacheid_parse_release(NULL, &v), -EINVAL);
        ck_assert_uint_eq(v, 1234);
}
END_TEST

START_TEST(test_kmalloc_variants) {
        struct cacheid_kmalloc k;

        ck_assert_int_eq(cacheid_kmalloc_parse("kmalloc-8192", &k), 0);
        ck_assert_uint_eq(k.size, 8192);
        ck_assert_int_eq(k.variant, CACHEID_VARIANT_NORMAL);

        ck_assert_int_eq(cacheid_kmalloc_parse("kmalloc-8k", &k), 0);
        ck_assert_uint_eq(k.size, 8192);

        ck_assert_int_eq(cacheid_kmalloc_parse("kmalloc-cg-1k", &k), 0);
        ck_assert_uint_eq(k.size, 1024);
        ck_assert_int_eq(k.variant, CACHEID_VARIANT_CG);

        ck_assert_int_eq(cacheid_kmalloc_parse("kmalloc-rcl-96", &k), 0);
        ck_assert_uint_eq(k.size, 96);
        ck_assert_int_eq(k.variant, CACHEID_VARIANT_RCL);

        ck_assert_int_eq(cacheid_kmalloc_parse("kmalloc-rnd-07-192", &k), 0);
        ck_assert_uint_eq(k.size, 192);
        ck_assert_int_eq(k.variant, CACHEID_VARIANT_RND);
        ck_assert_uint_eq(k.rnd_index, 7);

        ck_assert_int_eq(cacheid_kmalloc_parse("dma-kmalloc-8192", &k), 0);
        ck_assert_int_eq(k.variant, CACHEID_VARIANT_DMA);
        ck_assert_int_eq(cacheid_kmalloc_parse("kmalloc_dma-512", &k), 0);
        ck_assert_int_eq(k.variant, CACHEID_VARIANT_DMA);
        ck_assert_uint_eq(k.size, 512);

        ck_assert_int_eq(cacheid_kmalloc_parse("msg_msg-8k", &k), 0);
        ck_assert_int_eq(k.variant, CACHEID_VARIANT_BUCKET);
        ck_assert_str_eq(k.bucket, "msg_msg");
        ck_assert_uint_eq(k.size, 8192);
        ck_assert_int_eq(cacheid_kmalloc_parse("memdup_user-64", &k), 0);
        ck_assert_str_eq(k.bucket, "memdup_user");

        ck_assert_int_eq(cacheid_kmalloc_parse("kmalloc-2M", &k), 0);
        ck_assert_uint_eq(k.size, 2U << 20);
}
END_TEST

START_TEST(test_not_kmalloc) {
        struct cacheid_kmalloc k = { .size = 42 };
        static const char *const names[] = {
                "dentry", "biovec-16", "sgpool-8", "kmalloc_buckets", "kmalloc-", "kmalloc-8x",
                "kmalloc-100", "kmalloc-0", "kmalloc-08", "kmalloc-rnd-1-8k", "kmalloc-rnd-01",
                "kmalloc-8k ", "msg_msg", "msg_msg-", "kmalloc-4", "kmalloc-128M",
                "kmalloc-99999999999999999999", "", "kmalloc-cg-\xff",
        };

        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
                ck_assert_msg(cacheid_kmalloc_parse(names[i], &k) == -EINVAL, "%s parsed", names[i]);
        ck_assert_int_eq(cacheid_kmalloc_parse(NULL, &k), -EINVAL);
        ck_assert_uint_eq(k.size, 42);
}
END_TEST

START_TEST(test_same_class) {
        ck_assert(cacheid_same_class("kmalloc-8192", "kmalloc-8k"));
        ck_assert(cacheid_same_class("kmalloc-8192", "msg_msg-8k"));
        ck_assert(cacheid_same_class("kmalloc-cg-8k", "kmalloc-rnd-03-8k"));
        ck_assert(cacheid_same_class("dma-kmalloc-8k", "memdup_user-8k"));
        ck_assert(!cacheid_same_class("kmalloc-8k", "kmalloc-4k"));
        ck_assert(!cacheid_same_class("kmalloc-256", "biovec-16"));
        ck_assert(!cacheid_same_class("dentry", "dentry"));
}
END_TEST

START_TEST(test_names_by_version) {
        struct cacheid_kmalloc k;
        char buf[CACHEID_NAME_MAX];

        ck_assert_int_eq(cacheid_kmalloc_parse("kmalloc-8192", &k), 0);
        ck_assert_int_eq(cacheid_kmalloc_name(&k, CACHEID_KVER(6, 18), buf, sizeof buf), 0);
        ck_assert_str_eq(buf, "kmalloc-8k");
        ck_assert_int_eq(cacheid_kmalloc_name(&k, CACHEID_KVER(3, 18), buf, sizeof buf), 0);
        ck_assert_str_eq(buf, "kmalloc-8192");
        ck_assert_int_eq(cacheid_kmalloc_name(&k, CACHEID_KVER(4, 20), buf, sizeof buf), 0);
        ck_assert_str_eq(buf, "kmalloc-8k");

        ck_assert_int_eq(cacheid_kmalloc_parse("kmalloc-rnd-03-192", &k), 0);
        ck_assert_int_eq(cacheid_kmalloc_name(&k, CACHEID_KVER(6, 6), buf, sizeof buf), 0);
        ck_assert_str_eq(buf, "kmalloc-rnd-03-192");

        ck_assert_int_eq(cacheid_kmalloc_parse("memdup_user-2048", &k), 0);
        ck_assert_int_eq(cacheid_kmalloc_name(&k, CACHEID_KVER(6, 11), buf, sizeof buf), 0);
        ck_assert_str_eq(buf, "memdup_user-2k");

        ck_assert_int_eq(cacheid_kmalloc_parse("kmalloc_dma-512", &k), 0);
        ck_assert_int_eq(cacheid_kmalloc_name(&k, CACHEID_KVER(3, 18), buf, sizeof buf), 0);
        ck_assert_str_eq(buf, "dma-kmalloc-512");

        ck_assert_int_eq(cacheid_kmalloc_name(&k, CACHEID_KVER(3, 18), buf, 4), -ENOBUFS);

        ck_assert_str_eq(cacheid_format_size(96, CACHEID_KVER(6, 1), buf, sizeof buf), "96");
        ck_assert_str_eq(cacheid_format_size(1U << 21, CACHEID_KVER(6, 1), buf, sizeof buf), "2M");
        ck_assert_str_eq(cacheid_format_size(1U << 21, CACHEID_KVER(4, 4), buf, sizeof buf), "2097152");
}
END_TEST

START_TEST(test_advice) {
        char buf[CACHEID_ADVICE_MAX];
        const char *k8[] = { "kmalloc-8192" };
        const char *merged[] = { "signal_cache", "UNIX", "UNIX-STREAM" };
        int n;

        n = cacheid_boot_advice(k8, 1, CACHEID_KVER(6, 18), buf, sizeof buf);
        ck_assert_int_gt(n, 0);
        ck_assert_int_eq((size_t) n, strlen(buf));
        ck_assert_str_eq(buf, "boot with `slab_debug=U,kmalloc-8k` to get call sites for this cache "
                              "(debugfs slab/kmalloc-8k/alloc_traces, with stacks)");

        n = cacheid_boot_advice(k8, 1, CACHEID_KVER(6, 1), buf, sizeof buf);
        ck_assert_int_gt(n, 0);
        ck_assert_str_eq(buf, "boot with `slub_debug=U,kmalloc-8k` to get call sites for this cache "
                              "(debugfs slab/kmalloc-8k/alloc_traces, with stacks)");

        n = cacheid_boot_advice(k8, 1, CACHEID_KVER(3, 18), buf, sizeof buf);
        ck_assert_int_gt(n, 0);
        ck_assert_str_eq(buf, "boot with `slub_debug=U,kmalloc-8192` to get call sites for this cache "
                              "(sysfs slab/kmalloc-8192/alloc_calls)");

        n = cacheid_boot_advice(k8, 1, CACHEID_KVER(5, 15), buf, sizeof buf);
        ck_assert_int_gt(n, 0);
        ck_assert_str_eq(buf, "boot with `slub_debug=U,kmalloc-8k` to get call sites for this cache "
                              "(debugfs slab/kmalloc-8k/alloc_traces)");

        n = cacheid_boot_advice(merged, 3, CACHEID_KVER(6, 18), buf, sizeof buf);
        ck_assert_int_gt(n, 0);
        ck_assert_ptr_nonnull(strstr(buf, "`slab_debug=U,signal_cache,UNIX,UNIX-STREAM`"));
        ck_assert_ptr_nonnull(strstr(buf, "these caches"));

        ck_assert_str_eq(cacheid_debug_option(CACHEID_KVER(6, 8)), "slab_debug");
        ck_assert_str_eq(cacheid_debug_option(CACHEID_KVER(6, 7)), "slub_debug");
        ck_assert_str_eq(cacheid_debug_option(0), "slub_debug");
}
END_TEST

START_TEST(test_advice_limits) {
        char buf[32];
        const char *k8[] = { "kmalloc-8k" };
        const char *bad[] = { "" };

        ck_assert_int_eq(cacheid_boot_advice(k8, 1, CACHEID_KVER(6, 18), buf, sizeof buf), -ENOBUFS);
        ck_assert_int_eq(cacheid_boot_advice(k8, 0, CACHEID_KVER(6, 18), buf, sizeof buf), -EINVAL);
        ck_assert_int_eq(cacheid_boot_advice(NULL, 1, CACHEID_KVER(6, 18), buf, sizeof buf), -EINVAL);
        ck_assert_int_eq(cacheid_boot_advice(bad, 1, CACHEID_KVER(6, 18), buf, sizeof buf), -EINVAL);
        ck_assert_int_eq(cacheid_boot_advice(k8, 1, CACHEID_KVER(6, 18), buf, 0), -EINVAL);
}
END_TEST

static Suite *cacheid_suite(void) {
        Suite *s = suite_create("cacheid");
        TCase *tc = tcase_create("core");
        tcase_add_test(tc, test_release);
        tcase_add_test(tc, test_kmalloc_variants);
        tcase_add_test(tc, test_same_class);
        tcase_add_test(tc, test_names_by_version);
        tcase_add_test(tc, test_advice);
        suite_add_tcase(s, tc);

        tc = tcase_create("limits");
        tcase_add_test(tc, test_release_limits);
        tcase_add_test(tc, test_not_kmalloc);
        tcase_add_test(tc, test_advice_limits);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(cacheid_suite());
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
