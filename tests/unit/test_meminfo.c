#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "memory/meminfo.h"
#include "testutil.h"

static void parse_fixture(const char *rel, int expect_r, struct meminfo *m) {
        size_t len;
        char *buf = testutil_read_fixture(rel, &len);
        ck_assert_int_eq(meminfo_parse(buf, len, m), expect_r);
        free(buf);
}

START_TEST(seed_device) {
        static struct meminfo m;
        uint64_t v;
        parse_fixture("seed-3.18-mips/meminfo", 0, &m);
        ck_assert_uint_eq(m.n_bad_lines, 0);
        ck_assert(meminfo_get(&m, MEMINFO_MEM_TOTAL, &v));
        ck_assert_uint_eq(v, 1868688);
        ck_assert(meminfo_get(&m, MEMINFO_SUNRECLAIM, &v));
        ck_assert_uint_eq(v, 24508);
        /* 3.18 has no Percpu line: unknown, not zero. */
        ck_assert(!meminfo_get(&m, MEMINFO_PERCPU, &v));
}
END_TEST

START_TEST(this_machine) {
        static struct meminfo m;
        uint64_t v;
        parse_fixture("linux-6.18-x86_64/meminfo", 0, &m);
        ck_assert_uint_eq(m.n_bad_lines, 0);
        for (int k = 0; k < _MEMINFO_KEY_MAX; k++)
                ck_assert_msg(meminfo_get(&m, (enum meminfo_key) k, &v), "missing %s",
                              meminfo_key_name((enum meminfo_key) k));
        ck_assert(meminfo_get(&m, MEMINFO_SLAB, &v));
        ck_assert_uint_eq(v, 134176);
        ck_assert(meminfo_get(&m, MEMINFO_HUGEPAGES_TOTAL, &v));
        ck_assert_uint_eq(v, 0);
        ck_assert_uint_gt(m.n_entries, 50);
        ck_assert_str_eq(m.entries[0].key, "MemTotal");
        ck_assert(m.entries[0].kib);
}
END_TEST

START_TEST(odd_lines) {
        static struct meminfo m;
        uint64_t v;
        parse_fixture("synthetic/meminfo-odd", 0, &m);
        ck_assert_uint_eq(m.n_bad_lines, 2);
        ck_assert_uint_eq(m.first_bad_line, 3);
        ck_assert(meminfo_get(&m, MEMINFO_SLAB, &v));
        ck_assert(!meminfo_get(&m, MEMINFO_SUNRECLAIM, &v));
        ck_assert_uint_eq(m.n_entries, 5);
        ck_assert_str_eq(m.entries[4].key, "Weird(key)");
        ck_assert(!m.entries[3].kib);
}
END_TEST

START_TEST(truncated) {
        static struct meminfo m;
        uint64_t v;
        parse_fixture("synthetic/meminfo-truncated", 0, &m);
        ck_assert(meminfo_get(&m, MEMINFO_MEM_TOTAL, &v));
        ck_assert(!meminfo_get(&m, MEMINFO_VMALLOC_USED, &v));
}
END_TEST

START_TEST(garbage_and_empty) {
        static struct meminfo m;
        parse_fixture("synthetic/garbage.bin", -EINVAL, &m);
        parse_fixture("synthetic/slabinfo-empty", -EINVAL, &m);
        /* slabinfo is not meminfo. */
        parse_fixture("linux-6.18-x86_64/slabinfo", -EINVAL, &m);
}
END_TEST

START_TEST(key_names_round_trip) {
        for (int k = 0; k < _MEMINFO_KEY_MAX; k++)
                ck_assert_int_eq(meminfo_key_from_name(meminfo_key_name((enum meminfo_key) k)), k);
        ck_assert_int_eq(meminfo_key_from_name("NoSuchKey"), -EINVAL);
        ck_assert_ptr_null(meminfo_key_name(_MEMINFO_KEY_MAX));
}
END_TEST

static Suite *meminfo_suite(void) {
        Suite *s = suite_create("meminfo");
        TCase *tc = tcase_create("formats");
        tcase_add_test(tc, seed_device);
        tcase_add_test(tc, this_machine);
        tcase_add_test(tc, key_names_round_trip);
        suite_add_tcase(s, tc);
        tc = tcase_create("limits");
        tcase_add_test(tc, odd_lines);
        tcase_add_test(tc, truncated);
        tcase_add_test(tc, garbage_and_empty);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(meminfo_suite());
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
