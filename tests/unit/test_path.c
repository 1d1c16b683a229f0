/* test_path — path_join: one '/' between the parts, the root, limits. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>

#include "base/path.h"

START_TEST(test_join) {
        char buf[64];
        ck_assert_int_eq(path_join(buf, sizeof buf, "/", "proc"), 0);
        ck_assert_str_eq(buf, "/proc");
        ck_assert_int_eq(path_join(buf, sizeof buf, "/tmp/root", "proc"), 0);
        ck_assert_str_eq(buf, "/tmp/root/proc");
        ck_assert_int_eq(path_join(buf, sizeof buf, "/tmp/root//", "//sys/kernel"), 0);
        ck_assert_str_eq(buf, "/tmp/root/sys/kernel");
        ck_assert_int_eq(path_join(buf, sizeof buf, "///", "/"), 0);
        ck_assert_str_eq(buf, "/");
        ck_assert_int_eq(path_join(buf, sizeof buf, "/var/lib/slabwatch", "events.log"), 0);
        ck_assert_str_eq(buf, "/var/lib/slabwatch/events.log");
}
END_TEST

START_TEST(test_limits) {
        char buf[8];
        /* "/ab/cde" and its NUL fill 8 bytes exactly; one more does not fit. */
        ck_assert_int_eq(path_join(buf, sizeof buf, "/ab", "cde"), 0);
        ck_assert_str_eq(buf, "/ab/cde");
        ck_assert_int_eq(path_join(buf, sizeof buf, "/ab", "cdef"), -ENAMETOOLONG);
}
END_TEST

int main(void) {
        Suite *s = suite_create("path");
        TCase *tc = tcase_create("join");
        tcase_add_test(tc, test_join);
        tcase_add_test(tc, test_limits);
        suite_add_tcase(s, tc);
        SRunner *sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
