#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "callsites/callsites.h"
#include "testutil.h"

static struct callsites parse_fixture(const char *rel, int expect_r) {
        size_t len;
        char *buf = testutil_read_fixture(rel, &len);
        struct callsites c = {};
        ck_assert_int_eq(callsites_parse(buf, len, &c), expect_r);
        free(buf);
        return c;
}

static const struct callsites_site *find(const struct callsites *c, const char *function, size_t nth) {
        for (size_t i = 0; i < c->n_sites; i++)
                if (strcmp(c->sites[i].function, function) == 0 && nth-- == 0)
                        return &c->sites[i];
        return NULL;
}

START_TEST(seed_alloc_calls) {
        struct callsites c = parse_fixture("seed-3.18-mips/alloc_calls", 0);
        ck_assert_uint_eq(c.n_sites, 7);
        ck_assert_uint_eq(c.n_bad_lines, 0);
        ck_assert(!c.has_stacks);
        const struct callsites_site *s = &c.sites[3];
        ck_assert_uint_eq(s->count, 3103);
        ck_assert_str_eq(s->function, "__alloc_skb");
        ck_assert(s->has_offset);
        ck_assert_uint_eq(s->offset, 0x98);
        ck_assert_uint_eq(s->size, 0x238);
        ck_assert_str_eq(s->module, "");
        ck_assert(s->has_age);
        ck_assert_uint_eq(s->age_min, 430);
        ck_assert_uint_eq(s->age_avg, 366961);
        ck_assert_uint_eq(s->age_max, 410069);
        ck_assert(s->has_pid);
        ck_assert_uint_eq(s->pid_min, 0);
        ck_assert_uint_eq(s->pid_max, 1467);
        ck_assert_str_eq(s->cpus, "1,3");
        ck_assert_str_eq(s->nodes, "");
        ck_assert(!s->has_waste);
        ck_assert_uint_eq(s->n_frames, 0);
        ck_assert_uint_eq(s->line, 4);
        /* One age: min = avg = max; one pid: min = max. */
        s = &c.sites[1];
        ck_assert_str_eq(s->function, "qos_policy_perhost_table_init");
        ck_assert_uint_eq(s->age_min, 411552);
        ck_assert_uint_eq(s->age_max, 411552);
        ck_assert_uint_eq(s->pid_min, 1);
        ck_assert_uint_eq(s->pid_max, 1);
        ck_assert_uint_eq(callsites_total(&c), 3 + 1 + 15 + 3103 + 29 + 1 + 1);
        char buf[128];
        ck_assert_str_eq(callsites_format_site(&c.sites[3], buf, sizeof buf), "__alloc_skb+0x98/0x238");
        callsites_done(&c);
        callsites_done(&c);
        callsites_done(NULL);
}
END_TEST

START_TEST(seed_free_calls) {
        struct callsites c = parse_fixture("seed-3.18-mips/free_calls", 0);
        ck_assert_uint_eq(c.n_sites, 4);
        ck_assert_str_eq(c.sites[0].function, "<not-available>");
        ck_assert(!c.sites[0].has_offset);
        ck_assert_uint_eq(c.sites[0].count, 2546);
        ck_assert_str_eq(c.sites[3].cpus, "0-1,3");
        char buf[64];
        ck_assert_str_eq(callsites_format_site(&c.sites[0], buf, sizeof buf), "<not-available>");
        callsites_done(&c);
}
END_TEST

START_TEST(debugfs_5_15) {
        struct callsites c = parse_fixture("callsites/alloc_traces-5.15", 0);
        ck_assert_uint_eq(c.n_sites, 5);
        ck_assert(!c.has_stacks);
        const struct callsites_site *s = find(&c, "os_alloc_mem", 0);
        ck_assert_ptr_nonnull(s);
        ck_assert_str_eq(s->module, "leaky");
        char buf[128];
        ck_assert_str_eq(callsites_format_site(s, buf, sizeof buf), "os_alloc_mem+0x1c/0x34 [leaky]");
        /* Truncation keeps a terminated string. */
        ck_assert_str_eq(callsites_format_site(s, buf, 8), "os_allo");
        callsites_done(&c);
}
END_TEST

START_TEST(debugfs_6_1_with_stacks) {
        struct callsites c = parse_fixture("callsites/alloc_traces-6.1", 0);
        ck_assert_uint_eq(c.n_sites, 5);
        ck_assert_uint_eq(c.n_bad_lines, 0);
        ck_assert(c.has_stacks);
        const struct callsites_site *s = &c.sites[0];
        ck_assert_uint_eq(s->count, 3098);
        ck_assert(s->has_waste);
        ck_assert_uint_eq(s->waste_total, 9913600);
        ck_assert_uint_eq(s->waste_per_object, 3200);
        ck_assert_uint_eq(s->n_frames, 12);
        ck_assert_str_eq(s->frames[0].function, "__kmem_cache_alloc_node");
        ck_assert_uint_eq(s->frames[0].offset, 0x1e5);
        ck_assert_str_eq(s->frames[5].function, "leaky_poll");
        ck_assert_str_eq(s->frames[5].module, "leaky");
        ck_assert_str_eq(s->frames[11].function, "asm_common_interrupt");
        /* The same call site twice, told apart by the stack. */
        ck_assert_str_eq(c.sites[1].function, "__alloc_skb");
        ck_assert_str_eq(c.sites[1].frames[4].function, "__netdev_alloc_skb");
        ck_assert_uint_eq(c.sites[1].line, 15);
        const struct callsites_site *p = find(&c, "os_alloc_mem", 0);
        ck_assert(!p->has_waste);
        ck_assert_str_eq(p->module, "leaky");
        ck_assert_uint_eq(p->n_frames, 12);
        callsites_done(&c);

        c = parse_fixture("callsites/free_traces-6.1", 0);
        ck_assert_uint_eq(c.n_sites, 3);
        ck_assert_str_eq(c.sites[0].function, "<not-available>");
        ck_assert_uint_eq(c.sites[0].n_frames, 0);
        ck_assert_uint_eq(c.sites[0].age_min, 4295320073ull);
        ck_assert_uint_eq(c.sites[1].n_frames, 8);
        callsites_done(&c);
}
END_TEST

START_TEST(malformed_lines) {
        struct callsites c = parse_fixture("callsites/malformed", 0);
        ck_assert_uint_eq(c.n_sites, 3);
        ck_assert_str_eq(c.sites[0].function, "__alloc_skb");
        ck_assert_str_eq(c.sites[1].function, "good_site");  /* an unknown key is fine */
        ck_assert_str_eq(c.sites[2].function, "last");
        ck_assert_str_eq(c.sites[2].nodes, "0-1");
        ck_assert_uint_eq(c.n_bad_lines, 7);
        static const unsigned lines[] = { 2, 3, 4, 5, 6, 8 };
        for (size_t i = 0; i < 6; i++) {
                ck_assert_uint_eq(c.bad_lines[i].line, lines[i]);
                ck_assert_int_lt(c.bad_lines[i].error, 0);
        }
        ck_assert_uint_eq(c.bad_lines[6].line, 9);
        ck_assert_int_eq(c.bad_lines[6].error, -ERANGE);
        callsites_done(&c);
}
END_TEST

START_TEST(diff_growth) {
        struct callsites old = parse_fixture("callsites/alloc_traces-6.1", 0);
        struct callsites new = parse_fixture("callsites/alloc_traces-6.1-later", 0);
        struct callsites_diff d = {};
        ck_assert_int_eq(callsites_diff(&old, &new, &d), 0);
        ck_assert_uint_eq(d.n, 6);
        /* The NAPI path grows; the workqueue path, same site, does not. */
        ck_assert_int_eq(d.deltas[0].delta, 4310 - 3098);
        ck_assert_ptr_eq(d.deltas[0].new_site, &new.sites[0]);
        ck_assert_ptr_eq(d.deltas[0].old_site, &old.sites[0]);
        ck_assert_uint_eq(d.deltas[0].new_site->age_min, 98);
        /* New site. */
        ck_assert_int_eq(d.deltas[1].delta, 2);
        ck_assert_ptr_null(d.deltas[1].old_site);
        ck_assert_str_eq(d.deltas[1].new_site->function, "tcp_sendmsg_locked");
        /* Unchanged ones, by count. */
        ck_assert_int_eq(d.deltas[2].delta, 0);
        ck_assert_uint_eq(d.deltas[2].new_count, 611);
        ck_assert_int_eq(d.deltas[3].delta, 0);
        ck_assert_uint_eq(d.deltas[3].new_count, 15);
        /* Vanished (-1), then shrinking (-2). */
        ck_assert_int_eq(d.deltas[4].delta, -1);
        ck_assert_ptr_null(d.deltas[4].new_site);
        ck_assert_str_eq(d.deltas[4].old_site->function, "ipv4_sysctl_init_net");
        ck_assert_uint_eq(d.deltas[4].old_count, 1);
        ck_assert_int_eq(d.deltas[5].delta, -2);
        ck_assert_str_eq(d.deltas[5].new_site->function, "pskb_expand_head");
        callsites_diff_done(&d);
        callsites_diff_done(&d);
        callsites_diff_done(NULL);
        callsites_done(&old);
        callsites_done(&new);
}
END_TEST

START_TEST(diff_sums_duplicates_and_old_format) {
        static const char a[] = "  10 f+0x1/0x10 age=1 pid=1 cpus=0\n   5 g+0x2/0x20 age=1 pid=1 cpus=0\n";
        static const char b[] = "  12 f+0x1/0x10 age=1 pid=1 cpus=0\n   3 f+0x1/0x10 age=1 pid=2 cpus=1\n"
                                "   5 g+0x2/0x20 age=1 pid=1 cpus=0\n   1 f+0x9/0x10 age=1 pid=1 cpus=0\n";
        struct callsites old = {}, new = {};
        struct callsites_diff d = {};
        ck_assert_int_eq(callsites_parse(a, sizeof a - 1, &old), 0);
        ck_assert_int_eq(callsites_parse(b, sizeof b - 1, &new), 0);
        ck_assert_int_eq(callsites_diff(&old, &new, &d), 0);
        ck_assert_uint_eq(d.n, 3);
        ck_assert_int_eq(d.deltas[0].delta, 5);
        ck_assert_uint_eq(d.deltas[0].new_count, 15);
        ck_assert_ptr_eq(d.deltas[0].new_site, &new.sites[0]);
        ck_assert_int_eq(d.deltas[1].delta, 1);       /* another offset is another site */
        ck_assert_int_eq(d.deltas[2].delta, 0);
        callsites_diff_done(&d);

        /* Against an empty snapshot: everything vanished. */
        struct callsites empty = {};
        ck_assert_int_eq(callsites_parse("", 0, &empty), 0);
        ck_assert_int_eq(callsites_diff(&old, &empty, &d), 0);
        ck_assert_uint_eq(d.n, 2);
        ck_assert_int_eq(d.deltas[0].delta, -5);
        ck_assert_int_eq(d.deltas[1].delta, -10);
        callsites_diff_done(&d);
        ck_assert_int_eq(callsites_diff(&empty, &empty, &d), 0);
        ck_assert_uint_eq(d.n, 0);
        callsites_diff_done(&d);
        callsites_done(&old);
        callsites_done(&new);
        callsites_done(&empty);
}
END_TEST

/* ---- limits ---- */

START_TEST(limits_empty_and_garbage) {
        struct callsites c = {};
        ck_assert_int_eq(callsites_parse("", 0, &c), 0);
        ck_assert_uint_eq(c.n_sites, 0);
        ck_assert_int_eq(callsites_parse("\n\n  \n", 5, &c), 0);
        ck_assert_uint_eq(c.n_sites, 0);
        ck_assert_int_eq(callsites_parse("No data\n", 8, &c), -EINVAL);
        ck_assert_uint_eq(c.n_bad_lines, 1);
        ck_assert_uint_eq(c.bad_lines[0].line, 1);
        callsites_done(&c);

        size_t len;
        char *buf = testutil_read_fixture("synthetic/garbage.bin", &len);
        int r = callsites_parse(buf, len, &c);
        ck_assert(r == 0 || r == -EINVAL);
        callsites_done(&c);
        free(buf);

        /* Reusing a parsed result frees the old one. */
        c = parse_fixture("seed-3.18-mips/alloc_calls", 0);
        buf = testutil_read_fixture("seed-3.18-mips/free_calls", &len);
        ck_assert_int_eq(callsites_parse(buf, len, &c), 0);
        ck_assert_uint_eq(c.n_sites, 4);
        free(buf);
        callsites_done(&c);
}
END_TEST

START_TEST(limits_truncated) {
        size_t len;
        char *buf = testutil_read_fixture("callsites/alloc_traces-6.1", &len);
        /* Cut inside the second entry's entry line: that line is malformed. */
        const char *second = strstr(buf, "    611 __alloc_skb");
        struct callsites c = {};
        ck_assert_int_eq(callsites_parse(buf, (size_t) (second - buf) + 30, &c), 0);
        ck_assert_uint_eq(c.n_sites, 1);
        ck_assert_uint_eq(c.n_bad_lines, 1);
        ck_assert_uint_eq(c.sites[0].n_frames, 12);
        /* Cut inside a frame of the first entry: the frame is malformed. */
        const char *frame = strstr(buf, "leaky_poll+0x8e");
        ck_assert_int_eq(callsites_parse(buf, (size_t) (frame - buf) + 12, &c), 0);
        ck_assert_uint_eq(c.n_sites, 1);
        ck_assert_uint_eq(c.sites[0].n_frames, 5);
        ck_assert_uint_eq(c.n_bad_lines, 1);
        callsites_done(&c);
        free(buf);
}
END_TEST

START_TEST(limits_long_lines_and_frames) {
        size_t cap = CALLSITES_LINE_MAX + 4096 + 300 * 24;
        char *buf = malloc(cap);
        size_t len = (size_t) sprintf(buf, "   7 f+0x1/0x2 age=1 pid=1 cpus=");
        memset(buf + len, '1', CALLSITES_LINE_MAX);
        len += CALLSITES_LINE_MAX;
        buf[len++] = '\n';
        len += (size_t) sprintf(buf + len, "   3 g+0x1/0x2 age=1 pid=1 cpus=0\n");
        for (int i = 0; i < 300; i++)
                len += (size_t) sprintf(buf + len, "        h%d+0x1/0x2\n", i);
        struct callsites c = {};
        ck_assert_int_eq(callsites_parse(buf, len, &c), 0);
        ck_assert_uint_eq(c.n_sites, 1);
        ck_assert_uint_eq(c.n_bad_lines, 1);
        ck_assert_int_eq(c.bad_lines[0].error, -E2BIG);
        ck_assert_uint_eq(c.sites[0].n_frames, CALLSITES_FRAMES_MAX);
        ck_assert_uint_eq(c.sites[0].n_frames_dropped, 300 - CALLSITES_FRAMES_MAX);
        callsites_done(&c);

        /* NUL bytes and bad frames under an entry. */
        static const char nul[] = "   1 f+0x1/0x2 age=1 pid=1 cpus=0\n        x\0y+0x1/0x2\n        ok+0x1/0x2\n"
                                  "        not a frame\n";
        ck_assert_int_eq(callsites_parse(nul, sizeof nul - 1, &c), 0);
        ck_assert_uint_eq(c.n_sites, 1);
        ck_assert_uint_eq(c.sites[0].n_frames, 1);
        ck_assert_uint_eq(c.n_bad_lines, 2);
        ck_assert_uint_eq(c.bad_lines[0].line, 2);
        ck_assert_uint_eq(c.bad_lines[1].line, 4);
        callsites_done(&c);
        free(buf);
}
END_TEST

START_TEST(limits_site_cap) {
        size_t n = CALLSITES_SITES_MAX + 10;
        char *buf = malloc(n * 40);
        size_t len = 0;
        for (size_t i = 0; i < n; i++)
                len += (size_t) sprintf(buf + len, " 1 f%zu+0x1/0x2 age=1 pid=1 cpus=0\n", i);
        struct callsites c = {};
        ck_assert_int_eq(callsites_parse(buf, len, &c), 0);
        ck_assert_uint_eq(c.n_sites, CALLSITES_SITES_MAX);
        ck_assert(c.truncated);
        callsites_done(&c);
        free(buf);
}
END_TEST

static Suite *callsites_suite(void) {
        Suite *s = suite_create("callsites");
        TCase *tc = tcase_create("parse");
        tcase_add_test(tc, seed_alloc_calls);
        tcase_add_test(tc, seed_free_calls);
        tcase_add_test(tc, debugfs_5_15);
        tcase_add_test(tc, debugfs_6_1_with_stacks);
        tcase_add_test(tc, malformed_lines);
        suite_add_tcase(s, tc);
        tc = tcase_create("diff");
        tcase_add_test(tc, diff_growth);
        tcase_add_test(tc, diff_sums_duplicates_and_old_format);
        suite_add_tcase(s, tc);
        tc = tcase_create("limits");
        tcase_add_test(tc, limits_empty_and_garbage);
        tcase_add_test(tc, limits_truncated);
        tcase_add_test(tc, limits_long_lines_and_frames);
        tcase_add_test(tc, limits_site_cap);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(callsites_suite());
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
