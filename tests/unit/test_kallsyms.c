/* /proc/kallsyms text to a symbol table, and addresses to the function
 * they fall in. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "stacks/kallsyms.h"
#include "testutil.h"

/* As /proc/kallsyms prints it (unsorted, data, aliases, modules). */
static const char sample[] =
        "ffffffff81000000 T _text\n"
        "ffffffff81000000 T startup_64\n"
        "ffffffff81a02000 D some_data\n"
        "ffffffff81234560 t inet_create\n"
        "ffffffff81234900 T __sock_create\n"
        "ffffffff81234b00 W weak_fn\n"
        "ffffffff812349ff r ro_data\n"
        "ffffffffc0123000 t leak_fn\t[leaky]\n"
        "ffffffff81100000 T __sys_socket\n"
        "garbage line\n"
        "ffffffff81300000 X bad_type\n"
        "ffffffff81300000T glued\n";

START_TEST(test_lookup) {
        struct kallsyms *k = NULL;
        ck_assert_int_eq(kallsyms_parse(sample, strlen(sample), &k), 0);
        ck_assert_uint_eq(kallsyms_count(k), 7);
        const char *name;
        uint64_t start, size;
        ck_assert_int_eq(kallsyms_lookup(k, 0xffffffff812345e1ULL, &name, &start, &size), 1);
        ck_assert_str_eq(name, "inet_create");
        ck_assert_uint_eq(start, 0xffffffff81234560ULL);
        ck_assert_uint_eq(size, 0x3a0);
        /* Exactly at a start. */
        ck_assert_int_eq(kallsyms_lookup(k, 0xffffffff81234900ULL, &name, &start, &size), 1);
        ck_assert_str_eq(name, "__sock_create");
        ck_assert_uint_eq(size, 0x200);
        /* Two names at one address: the size runs to the next address. */
        ck_assert_int_eq(kallsyms_lookup(k, 0xffffffff81000010ULL, &name, &start, &size), 1);
        ck_assert_uint_eq(size, 0x100000);
        ck_assert(strcmp(name, "_text") == 0 || strcmp(name, "startup_64") == 0);
        /* A module symbol, the last: matched near it, not far past it. */
        ck_assert_int_eq(kallsyms_lookup(k, 0xffffffffc0123010ULL, &name, &start, &size), 1);
        ck_assert_str_eq(name, "leak_fn");
        ck_assert_uint_eq(size, 0);
        ck_assert_int_eq(kallsyms_lookup(k, 0xffffffffc0123000ULL + KALLSYMS_LAST_SPAN, &name, &start, &size), 0);
        /* Before the first symbol. */
        ck_assert_int_eq(kallsyms_lookup(k, 0xffffffff80000000ULL, &name, &start, &size), 0);
        kallsyms_free(k);
}
END_TEST

START_TEST(test_limits) {
        struct kallsyms *k = NULL;
        /* kptr_restrict: every address 0. */
        const char hidden[] = "0000000000000000 T _text\n0000000000000000 t inet_create\n";
        ck_assert_int_eq(kallsyms_parse(hidden, strlen(hidden), &k), -ENOENT);
        ck_assert_int_eq(kallsyms_parse("", 0, &k), -ENOENT);
        ck_assert_int_eq(kallsyms_parse(NULL, 0, &k), -EINVAL);
        /* A 17-digit address, a too-long name, no newline at the end. */
        char buf[1024];
        memset(buf, 'a', sizeof buf);
        memcpy(buf, "11111111111111111 T x\n80001000 T ", 33);
        ck_assert_int_eq(kallsyms_parse(buf, sizeof buf, &k), -ENOENT);
        const char last[] = "80001000 T mips_fn";
        ck_assert_int_eq(kallsyms_parse(last, strlen(last), &k), 0);
        const char *name;
        ck_assert_int_eq(kallsyms_lookup(k, 0x80001004, &name, NULL, NULL), 1);
        ck_assert_str_eq(name, "mips_fn");
        kallsyms_free(k);
        kallsyms_free(NULL);
        ck_assert_int_eq(kallsyms_lookup(NULL, 1, &name, NULL, NULL), 0);
}
END_TEST

/* The head of a real 6.18 /proc/kallsyms. */
START_TEST(test_fixture) {
        size_t len;
        char *text = testutil_read_fixture("linux-6.18-x86_64/kallsyms.excerpt", &len);
        struct kallsyms *k = NULL;
        ck_assert_int_eq(kallsyms_parse(text, len, &k), 0);
        ck_assert_uint_gt(kallsyms_count(k), 150);
        const char *name;
        uint64_t start, size;
        ck_assert_int_eq(kallsyms_lookup(k, 0xffffffff81000001ULL, &name, &start, &size), 1);
        ck_assert_uint_eq(start, 0xffffffff81000000ULL);
        ck_assert_uint_gt(size, 0);
        kallsyms_free(k);
        free(text);
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("kallsyms");
        TCase *tc = tcase_create("core");
        tcase_add_test(tc, test_lookup);
        tcase_add_test(tc, test_limits);
        tcase_add_test(tc, test_fixture);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(suite());
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
