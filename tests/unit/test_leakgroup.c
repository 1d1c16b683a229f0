/* test_leakgroup — caches that trip together as one suspected leak. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caches/leakgroup.h"

#define MIN (60ULL * 1000000)

START_TEST(test_kinds) {
        ck_assert_int_eq(leakgroup_kind_of("UDP"), LEAKGROUP_DEDICATED);
        ck_assert_int_eq(leakgroup_kind_of("signal_cache"), LEAKGROUP_DEDICATED);
        ck_assert_int_eq(leakgroup_kind_of("eventfd_ctx"), LEAKGROUP_DEDICATED);
        ck_assert_int_eq(leakgroup_kind_of("filp"), LEAKGROUP_COMPANION);
        ck_assert_int_eq(leakgroup_kind_of("lsm_inode_cache"), LEAKGROUP_COMPANION);
        ck_assert_int_eq(leakgroup_kind_of("lsm_file_cache"), LEAKGROUP_COMPANION);
        ck_assert_int_eq(leakgroup_kind_of("sock_inode_cache"), LEAKGROUP_COMPANION);
        ck_assert_int_eq(leakgroup_kind_of("kmalloc-64"), LEAKGROUP_GENERIC);
        ck_assert_int_eq(leakgroup_kind_of("kmalloc-rnd-03-64"), LEAKGROUP_GENERIC);
        ck_assert_int_eq(leakgroup_kind_of("kmalloc-cg-8k"), LEAKGROUP_GENERIC);
        ck_assert_int_eq(leakgroup_kind_of("msg_msg-8k"), LEAKGROUP_GENERIC);
        ck_assert_int_eq(leakgroup_kind_of("size-8192"), LEAKGROUP_GENERIC);
        ck_assert_str_eq(leakgroup_kind_name(LEAKGROUP_COMPANION), "companion");
}
END_TEST

START_TEST(test_proportional) {
        ck_assert(leakgroup_rates_proportional(100, 100));
        ck_assert(leakgroup_rates_proportional(100, 400));
        ck_assert(leakgroup_rates_proportional(400, 100));
        ck_assert(!leakgroup_rates_proportional(100, 401));
        ck_assert(!leakgroup_rates_proportional(0, 100));
        ck_assert(!leakgroup_rates_proportional(100, -1));
}
END_TEST

START_TEST(test_grouping) {
        struct leakgroups *s = calloc(1, sizeof *s);
        char name[LEAKGROUP_NAME_MAX];
        const struct leakgroup *g;

        g = leakgroups_add(s, "filp", 120, 0);
        unsigned leak = g->id;
        ck_assert_uint_eq(leak, 1);
        ck_assert_uint_eq(leakgroups_add(s, "kmalloc-64", 240, 1 * MIN)->id, leak);
        ck_assert_uint_eq(leakgroups_add(s, "lsm_inode_cache", 118, 2 * MIN)->id, leak);
        ck_assert_uint_eq(leakgroups_add(s, "UDP", 120, 3 * MIN)->id, leak);
        /* Far from every member's rate: another leak. */
        ck_assert_uint_eq(leakgroups_add(s, "dentry", 9000, 3 * MIN)->id, 2);
        /* The same cache again updates its member. */
        g = leakgroups_add(s, "UDP", 121, 4 * MIN);
        ck_assert_uint_eq(g->id, leak);
        ck_assert_uint_eq(g->n_members, 4);
        ck_assert_str_eq(leakgroup_name(g, name, sizeof name), "UDP+lsm_inode_cache+filp+kmalloc-64");
        /* Long after the group's last trip: a new one. */
        ck_assert_uint_eq(leakgroups_add(s, "sock_inode_cache", 120, 4 * MIN + LEAKGROUP_WINDOW_USEC + 1)->id, 3);
        /* On demand (no rate) never joins. */
        ck_assert_uint_eq(leakgroups_add(s, "UDP-Lite", 0, 5 * MIN)->id, 4);
        ck_assert_ptr_null(leakgroups_find(s, 99));
        ck_assert_uint_eq(leakgroups_find(s, leak)->n_members, 4);
        free(s);
}
END_TEST

START_TEST(test_limits) {
        struct leakgroups *s = calloc(1, sizeof *s);
        char name[8];
        /* More groups than the table holds: the least recent goes. */
        double rate = 1;
        for (unsigned i = 0; i < LEAKGROUP_GROUPS_MAX + 3; i++, rate *= 5) {
                char cache[32];
                snprintf(cache, sizeof cache, "x%u", i);
                (void) leakgroups_add(s, cache, rate, (uint64_t) i * MIN);
        }
        ck_assert_uint_eq(s->n, LEAKGROUP_GROUPS_MAX);
        ck_assert_ptr_null(leakgroups_find(s, 1));
        ck_assert_ptr_nonnull(leakgroups_find(s, LEAKGROUP_GROUPS_MAX + 3));
        /* A full group: the next proportional cache starts a new one. */
        memset(s, 0, sizeof *s);
        for (unsigned i = 0; i < LEAKGROUP_MEMBERS_MAX + 1; i++) {
                char cache[32];
                snprintf(cache, sizeof cache, "c%u", i);
                const struct leakgroup *g = leakgroups_add(s, cache, 100, 0);
                ck_assert_uint_eq(g->id, i < LEAKGROUP_MEMBERS_MAX ? 1 : 2);
        }
        /* A short buffer is cut, not overrun. */
        leakgroup_name(&s->groups[0], name, sizeof name);
        ck_assert_uint_lt(strlen(name), sizeof name);
        free(s);
}
END_TEST

static Suite *leakgroup_suite(void) {
        Suite *s = suite_create("leakgroup");
        TCase *tc = tcase_create("core");
        tcase_add_test(tc, test_kinds);
        tcase_add_test(tc, test_proportional);
        tcase_add_test(tc, test_grouping);
        suite_add_tcase(s, tc);
        TCase *limits = tcase_create("limits");
        tcase_add_test(limits, test_limits);
        suite_add_tcase(s, limits);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(leakgroup_suite());
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
