#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "memory/verdict.h"

#define MIB (1024.0 * 1024.0)

static struct verdict_params params(void) {
        struct verdict_params p;
        verdict_params_default(&p);
        return p;
}

static struct verdict_growth grow(double mib_per_hour, double trend) {
        return (struct verdict_growth) { .known = true, .bytes_per_hour = mib_per_hour * MIB, .trend = trend };
}

static struct verdict judge(const struct verdict_input *in) {
        struct verdict_params p = params();
        struct verdict v;
        verdict_compute(&p, in, &v);
        return v;
}

START_TEST(none) {
        struct verdict_input in = {
                .sunreclaim = grow(0.2, 0.9),
                .slab_unreclaimable = grow(0.1, 0.9),
                .vmalloc_used = grow(5, 0.1), /* fast but no trend: noise */
                .anon_pages = grow(-3, -0.8),
                .have_slabinfo = true,
        };
        struct verdict v = judge(&in);
        ck_assert_uint_eq(v.flags, VERDICT_NONE);
        ck_assert_str_eq(v.text, "none: no steady memory growth");
        struct verdict_input empty = {};
        v = judge(&empty);
        ck_assert_uint_eq(v.flags, VERDICT_NONE);
}
END_TEST

START_TEST(slab) {
        struct verdict_cache caches[] = {
                { .name = "dentry-like", .bytes_per_hour = 0.5 * MIB },
                { .name = "kmalloc-256", .bytes_per_hour = 2.9 * MIB },
                { .name = "shrinking", .bytes_per_hour = -4 * MIB },
        };
        struct verdict_input in = {
                .sunreclaim = grow(3.1, 0.95),
                .slab_unreclaimable = grow(3.0, 0.95),
                .have_slabinfo = true,
                .caches = caches,
                .n_caches = 3,
        };
        struct verdict v = judge(&in);
        ck_assert_uint_eq(v.flags, VERDICT_SLAB);
        ck_assert_str_eq(v.text, "slab: kmalloc-256 +2.9 MiB/h, dentry-like +512 KiB/h (SUnreclaim +3.1 MiB/h)");
        ck_assert_uint_eq(v.n_caches, 2);
        ck_assert_str_eq(v.caches[0], "kmalloc-256");
}
END_TEST

START_TEST(tripped_first) {
        /* Tripped caches are named first, at most VERDICT_CACHES_MAX. */
        struct verdict_cache caches[] = {
                { .name = "a", .bytes_per_hour = 9 * MIB },
                { .name = "b", .bytes_per_hour = 8 * MIB },
                { .name = "UDP", .bytes_per_hour = 1 * MIB, .tripped = true },
                { .name = "c", .bytes_per_hour = 7 * MIB },
                { .name = "d", .bytes_per_hour = 10 * MIB },
        };
        struct verdict_input in = {
                .have_slabinfo = true,
                .caches = caches,
                .n_caches = 5,
        };
        struct verdict v = judge(&in);
        /* A trip makes it slab even before the sums grow steadily. */
        ck_assert_uint_eq(v.flags, VERDICT_SLAB);
        ck_assert_uint_eq(v.n_caches, 3);
        ck_assert_str_eq(v.caches[0], "UDP");
        ck_assert_str_eq(v.caches[1], "d");
        ck_assert_str_eq(v.caches[2], "a");
        ck_assert_str_eq(v.text, "slab: UDP +1.0 MiB/h, d +10.0 MiB/h, a +9.0 MiB/h");
}
END_TEST

START_TEST(unaccounted) {
        /* SUnreclaim grows, the caches do not: large kmallocs or pages. */
        struct verdict_input in = {
                .sunreclaim = grow(6, 0.9),
                .slab_unreclaimable = grow(0.2, 0.3),
                .have_slabinfo = true,
        };
        struct verdict v = judge(&in);
        ck_assert_uint_eq(v.flags, VERDICT_UNACCOUNTED);
        ck_assert_str_eq(v.text, "unaccounted kernel: SUnreclaim +6.0 MiB/h, slab caches +205 KiB/h (large kmalloc or pages)");
        /* Caches explain most of it: slab only. */
        in.slab_unreclaimable = grow(5, 0.9);
        v = judge(&in);
        ck_assert_uint_eq(v.flags, VERDICT_SLAB);
        /* Without slabinfo, SUnreclaim growth is all we know: slab. */
        in.have_slabinfo = false;
        in.slab_unreclaimable = (struct verdict_growth) {};
        v = judge(&in);
        ck_assert_uint_eq(v.flags, VERDICT_SLAB);
        ck_assert_str_eq(v.text, "slab: caches +0 B/h (SUnreclaim +6.0 MiB/h)");
}
END_TEST

START_TEST(vmalloc_user_and_several) {
        struct verdict_input in = {
                .vmalloc_used = grow(2, 0.8),
                .have_slabinfo = true,
        };
        struct verdict v = judge(&in);
        ck_assert_uint_eq(v.flags, VERDICT_VMALLOC);
        ck_assert_str_eq(v.text, "vmalloc: VmallocUsed +2.0 MiB/h");
        in = (struct verdict_input) { .shmem = grow(1.5, 0.7) };
        v = judge(&in);
        ck_assert_uint_eq(v.flags, VERDICT_USER);
        ck_assert_str_eq(v.text, "user: Shmem +1.5 MiB/h");
        in = (struct verdict_input) {
                .sunreclaim = grow(12, 0.9),
                .slab_unreclaimable = grow(2, 0.9),
                .vmalloc_used = grow(3, 0.9),
                .anon_pages = grow(40, 0.9),
                .shmem = grow(1.5, 0.7),
                .have_slabinfo = true,
        };
        v = judge(&in);
        ck_assert_uint_eq(v.flags, VERDICT_SLAB | VERDICT_UNACCOUNTED | VERDICT_VMALLOC | VERDICT_USER);
        ck_assert_str_eq(v.text,
                         "slab: caches +2.0 MiB/h (SUnreclaim +12.0 MiB/h); unaccounted kernel: SUnreclaim +12.0 MiB/h, "
                         "slab caches +2.0 MiB/h (large kmalloc or pages); vmalloc: VmallocUsed +3.0 MiB/h; user: "
                         "AnonPages +40.0 MiB/h, Shmem +1.5 MiB/h");
        char buf[64];
        ck_assert_str_eq(verdict_flags_string(v.flags, buf, sizeof buf), "slab+unaccounted+vmalloc+user");
        ck_assert_str_eq(verdict_flags_string(VERDICT_NONE, buf, sizeof buf), "none");
        ck_assert_str_eq(verdict_flags_string(VERDICT_USER | VERDICT_SLAB, buf, sizeof buf), "slab+user");
}
END_TEST

START_TEST(format_rate) {
        char b[32];
        ck_assert_str_eq(verdict_format_rate(0, b, sizeof b), "+0 B/h");
        ck_assert_str_eq(verdict_format_rate(1000, b, sizeof b), "+1000 B/h");
        ck_assert_str_eq(verdict_format_rate(-1536, b, sizeof b), "-1.5 KiB/h");
        ck_assert_str_eq(verdict_format_rate(2.94 * MIB, b, sizeof b), "+2.9 MiB/h");
        ck_assert_str_eq(verdict_format_rate(512 * MIB, b, sizeof b), "+512 MiB/h");
        ck_assert_str_eq(verdict_format_rate(3.0 * 1024 * MIB, b, sizeof b), "+3.0 GiB/h");
        ck_assert_ptr_nonnull(strstr(verdict_format_rate(1e30, b, sizeof b), " TiB/h"));
}
END_TEST

START_TEST(limits) {
        /* Long names and a small buffer: truncated, never overrun. */
        char name[200];
        memset(name, 'n', sizeof name - 1);
        name[sizeof name - 1] = '\0';
        struct verdict_cache caches[3] = {
                { .name = name, .bytes_per_hour = MIB, .tripped = true },
                { .name = name, .bytes_per_hour = MIB, .tripped = true },
                { .name = NULL, .bytes_per_hour = MIB, .tripped = true },
        };
        struct verdict_input in = {
                .sunreclaim = grow(9, 0.9),
                .vmalloc_used = grow(9, 0.9),
                .anon_pages = grow(9, 0.9),
                .have_slabinfo = true,
                .caches = caches,
                .n_caches = 3,
        };
        struct verdict v = judge(&in);
        ck_assert_uint_lt(strlen(v.text), VERDICT_TEXT_MAX);
        ck_assert_uint_eq(v.n_caches, 2);
        ck_assert_uint_eq(strlen(v.caches[0]), VERDICT_NAME_MAX - 1);
        char tiny[4];
        ck_assert_str_eq(verdict_flags_string(VERDICT_SLAB | VERDICT_USER, tiny, sizeof tiny), "sla");
        ck_assert_str_eq(verdict_format_rate(MIB, tiny, sizeof tiny), "+1.");
}
END_TEST

static Suite *verdict_suite(void) {
        Suite *s = suite_create("verdict");
        TCase *tc = tcase_create("judge");
        tcase_add_test(tc, none);
        tcase_add_test(tc, slab);
        tcase_add_test(tc, tripped_first);
        tcase_add_test(tc, unaccounted);
        tcase_add_test(tc, vmalloc_user_and_several);
        tcase_add_test(tc, format_rate);
        suite_add_tcase(s, tc);
        TCase *lim = tcase_create("limits");
        tcase_add_test(lim, limits);
        suite_add_tcase(s, lim);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(verdict_suite());
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
