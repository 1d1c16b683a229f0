#include <check.h>
#include <stdlib.h>

#include "base/units.h"

START_TEST(format_bytes) {
        char buf[32];
        ck_assert_str_eq(units_format_bytes(0, false, buf, sizeof buf), "0 B");
        ck_assert_str_eq(units_format_bytes(512, true, buf, sizeof buf), "+512 B");
        ck_assert_str_eq(units_format_bytes(393216, false, buf, sizeof buf), "384.0 KiB");
        ck_assert_str_eq(units_format_bytes(-9.3 * 1024 * 1024, true, buf, sizeof buf), "-9.3 MiB");
        ck_assert_str_eq(units_format_bytes(1e30, false, buf, sizeof buf), "888178419700125.2 PiB");
        /* Cut to the buffer, never past it. */
        ck_assert_str_eq(units_format_bytes(393216, false, buf, 4), "384");
}
END_TEST

int main(void) {
        Suite *s = suite_create("units");
        TCase *tc = tcase_create("format");
        tcase_add_test(tc, format_bytes);
        suite_add_tcase(s, tc);
        SRunner *sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
