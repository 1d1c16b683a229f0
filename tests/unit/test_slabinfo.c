#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "caches/slabinfo.h"
#include "testutil.h"

static struct slabinfo parse_fixture(const char *rel, int expect_r) {
        size_t len;
        char *buf = testutil_read_fixture(rel, &len);
        struct slabinfo s = {};
        ck_assert_int_eq(slabinfo_parse(buf, len, &s), expect_r);
        free(buf);
        return s;
}

START_TEST(seed_device) {
        struct slabinfo s = parse_fixture("seed-3.18-mips/slabinfo", 0);
        ck_assert_uint_eq(s.version_major, 2);
        ck_assert_uint_eq(s.version_minor, 1);
        ck_assert_uint_eq(s.n_bad_lines, 0);
        ck_assert_uint_eq(s.n_caches, 94);
        const struct slabinfo_cache *c = slabinfo_find(&s, "kmalloc-8192");
        ck_assert_ptr_nonnull(c);
        ck_assert_uint_eq(c->active_objs, 36);
        ck_assert_uint_eq(c->num_objs, 48);
        ck_assert_uint_eq(c->objsize, 8192);
        ck_assert_uint_eq(c->objperslab, 4);
        ck_assert_uint_eq(c->pagesperslab, 8);
        ck_assert_uint_eq(c->num_slabs, 12);
        ck_assert_uint_eq(slabinfo_cache_bytes(c, 4096), 12 * 8 * 4096);
        c = slabinfo_find(&s, "nf_conntrack_ffffffff81a25e00");
        ck_assert_ptr_nonnull(c);
        ck_assert_uint_eq(c->active_objs, 102);
        slabinfo_done(&s);
}
END_TEST

START_TEST(this_machine) {
        struct slabinfo s = parse_fixture("linux-6.18-x86_64/slabinfo", 0);
        ck_assert_uint_eq(s.n_bad_lines, 0);
        ck_assert_uint_gt(s.n_caches, 200);
        for (size_t i = 0; i < s.n_caches; i++) {
                ck_assert_uint_eq(s.caches[i].limit, 0); /* SLUB */
                ck_assert_uint_le(s.caches[i].active_objs, s.caches[i].num_objs);
        }
        ck_assert_ptr_nonnull(slabinfo_find(&s, "kmalloc-256"));
        ck_assert_ptr_nonnull(slabinfo_find(&s, "UDP"));
        slabinfo_done(&s);
}
END_TEST

START_TEST(slab_allocator_tunables) {
        struct slabinfo s = parse_fixture("synthetic/slabinfo-slab-2.1", 0);
        ck_assert_uint_eq(s.n_caches, 5);
        const struct slabinfo_cache *c = slabinfo_find(&s, "ip_fib_alias");
        ck_assert_uint_eq(c->limit, 120);
        ck_assert_uint_eq(c->batchcount, 60);
        ck_assert_uint_eq(c->sharedfactor, 8);
        c = slabinfo_find(&s, "size-8192");
        ck_assert_uint_eq(c->limit, 8);
        ck_assert_uint_eq(c->batchcount, 4);
        ck_assert_uint_eq(slabinfo_cache_bytes(c, 4096), 48 * 2 * 4096);
        slabinfo_done(&s);
}
END_TEST

START_TEST(slab_statistics_columns) {
        struct slabinfo s = parse_fixture("synthetic/slabinfo-slab-statistics", 0);
        ck_assert(s.statistics);
        ck_assert_uint_eq(s.n_bad_lines, 0);
        ck_assert_uint_eq(s.n_caches, 2);
        const struct slabinfo_cache *c = slabinfo_find(&s, "size-64");
        ck_assert_uint_eq(c->active_objs, 1200);
        ck_assert_uint_eq(c->num_slabs, 22);
        ck_assert_uint_eq(c->limit, 120);
        slabinfo_done(&s);
}
END_TEST

START_TEST(version_2_0_tunables_order) {
        struct slabinfo s = parse_fixture("synthetic/slabinfo-2.0", 0);
        ck_assert_uint_eq(s.version_minor, 0);
        ck_assert_uint_eq(s.n_caches, 2);
        const struct slabinfo_cache *c = slabinfo_find(&s, "size-32");
        /* 2.0 prints <batchcount> <limit>: 60 then 120. */
        ck_assert_uint_eq(c->batchcount, 60);
        ck_assert_uint_eq(c->limit, 120);
        slabinfo_done(&s);
}
END_TEST

START_TEST(malformed_lines_skipped_with_numbers) {
        struct slabinfo s = parse_fixture("synthetic/slabinfo-malformed", 0);
        ck_assert_uint_eq(s.n_caches, 3);
        ck_assert_ptr_nonnull(slabinfo_find(&s, "good-one"));
        ck_assert_ptr_nonnull(slabinfo_find(&s, "good-two"));
        ck_assert_ptr_nonnull(slabinfo_find(&s, "name:with/odd+chars"));
        ck_assert_uint_eq(s.n_bad_lines, 5);
        ck_assert_uint_eq(s.bad_lines[0].line, 4);
        ck_assert_uint_eq(s.bad_lines[1].line, 5);
        ck_assert_uint_eq(s.bad_lines[2].line, 6);
        ck_assert_int_eq(s.bad_lines[2].error, -ERANGE);
        ck_assert_uint_eq(s.bad_lines[3].line, 7);
        ck_assert_uint_eq(s.bad_lines[4].line, 8);
        slabinfo_done(&s);
}
END_TEST

START_TEST(truncated_file_keeps_whole_lines) {
        struct slabinfo s = parse_fixture("synthetic/slabinfo-truncated", 0);
        ck_assert_uint_eq(s.n_caches, 2); /* btrfs_delayed_node, btrfs_ordered_extent */
        ck_assert_uint_eq(s.n_bad_lines, 1); /* the cut line */
        slabinfo_done(&s);
}
END_TEST

START_TEST(empty_and_header_only) {
        struct slabinfo s = parse_fixture("synthetic/slabinfo-empty", -EINVAL);
        ck_assert_uint_eq(s.n_bad_lines, 1);
        slabinfo_done(&s);
        s = parse_fixture("synthetic/slabinfo-header-only", 0);
        ck_assert_uint_eq(s.n_caches, 0);
        slabinfo_done(&s);
}
END_TEST

START_TEST(binary_garbage) {
        struct slabinfo s = parse_fixture("synthetic/garbage.bin", -EINVAL);
        ck_assert_uint_eq(s.n_caches, 0);
        slabinfo_done(&s);
}
END_TEST

START_TEST(over_long_line) {
        struct slabinfo s = parse_fixture("synthetic/slabinfo-long-line", 0);
        ck_assert_uint_eq(s.n_caches, 1);
        ck_assert_uint_eq(s.n_bad_lines, 1);
        ck_assert_int_eq(s.bad_lines[0].error, -E2BIG);
        ck_assert_uint_eq(s.bad_lines[0].line, 2);
        slabinfo_done(&s);
}
END_TEST

START_TEST(no_nul_termination_needed) {
        /* The parser must stop at len even when the byte after is not NUL. */
        const char text[] = "slabinfo - version: 2.1\nabc 1 2 8 512 1 : tunables 0 0 0 : slabdata 1 1 0\n99999";
        struct slabinfo s = {};
        ck_assert_int_eq(slabinfo_parse(text, sizeof text - 1 - 5, &s), 0);
        ck_assert_uint_eq(s.n_caches, 1);
        ck_assert_uint_eq(s.n_bad_lines, 0);
        slabinfo_done(&s);
}
END_TEST

START_TEST(reuse_between_samples) {
        size_t len;
        char *buf = testutil_read_fixture("linux-6.18-x86_64/slabinfo", &len);
        struct slabinfo s = {};
        ck_assert_int_eq(slabinfo_parse(buf, len, &s), 0);
        size_t n = s.n_caches, cap = s.caches_allocated;
        ck_assert_int_eq(slabinfo_parse(buf, len, &s), 0);
        ck_assert_uint_eq(s.n_caches, n);
        ck_assert_uint_eq(s.caches_allocated, cap);
        slabinfo_done(&s);
        slabinfo_done(&s);
        slabinfo_done(NULL);
        free(buf);
}
END_TEST

/* Parsing B after A must give exactly what parsing B alone gives, whatever
 * lines changed, vanished or appeared in between. */
START_TEST(incremental_equals_fresh) {
        static const char a[] =
                "slabinfo - version: 2.1\n"
                "one 10 20 64 64 1 : tunables 0 0 0 : slabdata 1 1 0\n"
                "two 5 5 128 32 1 : tunables 0 0 0 : slabdata 1 1 0\n"
                "three 7 8 256 16 1 : tunables 0 0 0 : slabdata 1 1 0\n";
        static const char b[] =
                "slabinfo - version: 2.1\n"
                "one 11 20 64 64 1 : tunables 0 0 0 : slabdata 1 1 0\n"
                "bad line here\n"
                "three 7 8 256 16 1 : tunables 0 0 0 : slabdata 1 1 0\n"
                "four 1 1 8 512 1 : tunables 0 0 0 : slabdata 1 1 0\n";
        static const char c[] =
                "slabinfo - version: 2.0\n"
                "one 11 20 64 64 1 : tunables 4 8 0 : slabdata 1 1 0\n";
        struct slabinfo inc = {}, fresh = {};
        ck_assert_int_eq(slabinfo_parse(a, sizeof a - 1, &inc), 0);
        ck_assert_int_eq(slabinfo_parse(b, sizeof b - 1, &inc), 0);
        ck_assert_int_eq(slabinfo_parse(b, sizeof b - 1, &fresh), 0);
        ck_assert_uint_eq(inc.n_caches, 3);
        ck_assert_uint_eq(inc.n_bad_lines, 1);
        ck_assert_uint_eq(inc.n_caches, fresh.n_caches);
        for (size_t i = 0; i < fresh.n_caches; i++)
                ck_assert_mem_eq(&inc.caches[i], &fresh.caches[i], sizeof fresh.caches[i]);
        ck_assert_str_eq(inc.caches[1].name, "three");
        ck_assert_uint_eq(inc.caches[0].active_objs, 11);
        /* Same bytes, other column order (2.0): must be read anew. */
        ck_assert_int_eq(slabinfo_parse(c, sizeof c - 1, &inc), 0);
        ck_assert_uint_eq(inc.caches[0].limit, 8);
        ck_assert_uint_eq(inc.caches[0].batchcount, 4);
        slabinfo_done(&inc);
        slabinfo_done(&fresh);
}
END_TEST

START_TEST(unknown_version) {
        const char text[] = "slabinfo - version: 3.0\nabc 1 2 8 1 1 1 : 0 0\n";
        struct slabinfo s = {};
        ck_assert_int_eq(slabinfo_parse(text, sizeof text - 1, &s), -EINVAL);
        /* 1.1 (2.4 kernels): its own columns, objperslab derived */
        const char v1[] = "slabinfo - version: 1.1\nabc 1 2 8 1 1 1 : 0 0\n";
        ck_assert_int_eq(slabinfo_parse(v1, sizeof v1 - 1, &s), 0);
        ck_assert_uint_eq(s.n_caches, 1);
        ck_assert_uint_eq(s.caches[0].objperslab, 2);
        slabinfo_done(&s);
}
END_TEST

static Suite *slabinfo_suite(void) {
        Suite *s = suite_create("slabinfo");
        TCase *tc = tcase_create("formats");
        tcase_add_test(tc, seed_device);
        tcase_add_test(tc, this_machine);
        tcase_add_test(tc, slab_allocator_tunables);
        tcase_add_test(tc, slab_statistics_columns);
        tcase_add_test(tc, version_2_0_tunables_order);
        tcase_add_test(tc, reuse_between_samples);
        tcase_add_test(tc, incremental_equals_fresh);
        suite_add_tcase(s, tc);
        tc = tcase_create("limits");
        tcase_add_test(tc, malformed_lines_skipped_with_numbers);
        tcase_add_test(tc, truncated_file_keeps_whole_lines);
        tcase_add_test(tc, empty_and_header_only);
        tcase_add_test(tc, binary_garbage);
        tcase_add_test(tc, over_long_line);
        tcase_add_test(tc, no_nul_termination_needed);
        tcase_add_test(tc, unknown_version);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(slabinfo_suite());
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
