#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/cacheid.h"
#include "base/config.h"
#include "capture/probe.h"
#include "testutil.h"

/* Formats as the kernel prints them, cut to the fields that matter. */
static const char format_alloc_618[] =
        "name: kmem_cache_alloc\nID: 659\nformat:\n"
        "\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n"
        "\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n\n"
        "\tfield:unsigned long call_site;\toffset:8;\tsize:8;\tsigned:0;\n"
        "\tfield:const void * ptr;\toffset:16;\tsize:8;\tsigned:0;\n"
        "\tfield:__data_loc char[] name;\toffset:24;\tsize:4;\tsigned:0;\n"
        "\tfield:size_t bytes_req;\toffset:32;\tsize:8;\tsigned:0;\n"
        "\tfield:size_t bytes_alloc;\toffset:40;\tsize:8;\tsigned:0;\n\n"
        "print fmt: \"call_site=%pS ptr=%p name=%s\", REC->call_site, REC->ptr, __get_str(name)\n";
static const char format_alloc_515[] =
        "name: kmem_cache_alloc\nID: 500\nformat:\n"
        "\tfield:unsigned long call_site;\toffset:8;\tsize:8;\tsigned:0;\n"
        "\tfield:const void * ptr;\toffset:16;\tsize:8;\tsigned:0;\n"
        "\tfield:size_t bytes_req;\toffset:24;\tsize:8;\tsigned:0;\n"
        "\tfield:size_t bytes_alloc;\toffset:32;\tsize:8;\tsigned:0;\n\n"
        "print fmt: \"call_site=%pS ptr=%p bytes_req=%zu name=%s\"\n";
static const char format_free_515[] =
        "name: kmem_cache_free\nID: 501\nformat:\n"
        "\tfield:unsigned long call_site;\toffset:8;\tsize:8;\tsigned:0;\n"
        "\tfield:const void * ptr;\toffset:16;\tsize:8;\tsigned:0;\n"
        "\tfield:__data_loc char[] name;\toffset:24;\tsize:4;\tsigned:0;\n";
static const char format_kmalloc[] =
        "name: kmalloc\nID: 658\nformat:\n"
        "\tfield:unsigned long call_site;\toffset:8;\tsize:8;\tsigned:0;\n"
        "\tfield:size_t bytes_alloc;\toffset:32;\tsize:8;\tsigned:0;\n";

static char *root;

static void setup(void) {
        root = testutil_mkdtemp();
}

static void teardown(void) {
        testutil_rmtree(root);
        free(root);
        root = NULL;
}

static void put(const char *rel, const char *text) {
        testutil_write_file(root, rel, text, strlen(text));
}

static void config_for_root(struct config *c) {
        config_defaults(c);
        snprintf(c->paths.proc, sizeof c->paths.proc, "%s/proc", root);
        snprintf(c->paths.sys, sizeof c->paths.sys, "%s/sys", root);
        snprintf(c->paths.tracefs, sizeof c->paths.tracefs, "%s/sys/kernel/tracing", root);
        snprintf(c->paths.debugfs, sizeof c->paths.debugfs, "%s/sys/kernel/debug", root);
        snprintf(c->paths.dev_kmsg, sizeof c->paths.dev_kmsg, "%s/dev/kmsg", root);
        snprintf(c->paths.state_dir, sizeof c->paths.state_dir, "%s/state", root);
}

static void chmod_rel(const char *rel, mode_t mode) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", root, rel);
        ck_assert_int_eq(chmod(path, mode), 0);
}

/* A 6.18 host: tracefs mounted, kmem events with names, no debugfs slab. */
static void make_618_tree(void) {
        size_t len;
        char *slabinfo = testutil_read_fixture("linux-6.18-x86_64/slabinfo", &len);

        put("proc/sys/kernel/osrelease", "6.18.44-fc-v669\n");
        testutil_write_file(root, "proc/slabinfo", slabinfo, len);
        free(slabinfo);
        put("proc/filesystems", "nodev\tsysfs\nnodev\ttracefs\n\text4\n");
        put("sys/kernel/slab/UDP/store_user", "0\n");
        put("sys/kernel/slab/UDP/trace", "0\n");
        chmod_rel("sys/kernel/slab/UDP/trace", 0400);
        put("sys/kernel/tracing/events/kmem/kmem_cache_alloc/format", format_alloc_618);
        put("sys/kernel/tracing/events/kmem/kmem_cache_free/format", format_free_515);
        put("sys/kernel/tracing/events/kmem/kmalloc/format", format_kmalloc);
        put("sys/kernel/tracing/events/kmem/kfree/format", "name: kfree\nformat:\n");
        put("sys/kernel/tracing/instances/.keep", "");
        put("sys/kernel/tracing/options/stacktrace", "0\n");
        put("dev/kmsg", "");
}

START_TEST(test_probe_618) {
        struct config c;
        struct probe p;
        struct probe_cache pc;
        char line[PROBE_SUMMARY_MAX];
        json_object *o = NULL, *v, *ev;

        make_618_tree();
        config_for_root(&c);
        ck_assert_int_eq(probe_run(&c, &p), 0);
        ck_assert_str_eq(p.release, "6.18.44-fc-v669");
        ck_assert_uint_eq(p.kver, CACHEID_KVER(6, 18));
        ck_assert(p.slabinfo_readable);
        ck_assert(p.slub_sysfs);
        ck_assert(!p.debugfs_slab);
        ck_assert(p.tracefs_mounted);
        ck_assert(!p.tracefs_mountable);
        ck_assert(p.tracefs_instances);
        ck_assert(p.stacktrace_option);
        ck_assert(p.kmem_cache_alloc_event);
        ck_assert(p.kmem_cache_alloc_name);
        ck_assert(p.kmem_cache_free_name);
        ck_assert(p.kmalloc_event);
        ck_assert(p.kfree_event);
        ck_assert(!p.allocinfo);
        ck_assert(p.dev_kmsg);
        ck_assert(!p.may_write_trace);

        ck_assert_int_eq(probe_cache(&c, &p, "UDP", &pc), 0);
        ck_assert(pc.sysfs);
        ck_assert(!pc.store_user);
        ck_assert(!pc.trace_writable);
        ck_assert(!pc.sysfs_alloc_calls);
        ck_assert(!pc.debugfs_alloc_traces);

        probe_summary(&p, line, sizeof line);
        ck_assert_ptr_nonnull(strstr(line, "kernel 6.18.44-fc-v669"));
        ck_assert_ptr_nonnull(strstr(line, "tracefs mounted"));
        ck_assert_ptr_nonnull(strstr(line, "kmem_cache_alloc with name"));
        ck_assert_ptr_null(strchr(line, '\n'));

        ck_assert_int_eq(probe_to_json(&p, &o), 0);
        ck_assert(json_object_object_get_ex(o, "kernel", &v));
        ck_assert_str_eq(json_object_get_string(v), "6.18.44-fc-v669");
        ck_assert(json_object_object_get_ex(o, "kmem_events", &ev));
        ck_assert(json_object_object_get_ex(ev, "kmem_cache_alloc_name", &v));
        ck_assert(json_object_get_boolean(v));
        json_object_put(o);
        ck_assert_int_eq(probe_cache_to_json(&pc, &o), 0);
        ck_assert(json_object_object_get_ex(o, "trace_writable", &v));
        ck_assert(!json_object_get_boolean(v));
        json_object_put(o);
}
END_TEST

/* The seed's device: 3.18, SLUB debug with store_user, writable trace, no tracefs. */
START_TEST(test_probe_318) {
        struct config c;
        struct probe p;
        struct probe_cache pc;
        char line[PROBE_SUMMARY_MAX];

        put("proc/sys/kernel/osrelease", "3.18.21\n");
        put("proc/slabinfo", "slabinfo - version: 2.1\n");
        put("proc/filesystems", "nodev\tsysfs\nnodev\tdebugfs\n");
        put("sys/kernel/slab/kmalloc-8192/store_user", "1\n");
        put("sys/kernel/slab/kmalloc-8192/trace", "0\n");
        chmod_rel("sys/kernel/slab/kmalloc-8192/trace", 0644);
        put("sys/kernel/slab/kmalloc-8192/alloc_calls", "No data\n");
        put("sys/kernel/debug/.keep", "");
        put("dev/kmsg", "");
        config_for_root(&c);

        ck_assert_int_eq(probe_run(&c, &p), 0);
        ck_assert_uint_eq(p.kver, CACHEID_KVER(3, 18));
        ck_assert(p.may_write_trace);
        ck_assert(!p.tracefs_mounted);
        ck_assert(!p.tracefs_mountable);
        ck_assert(!p.kmem_cache_alloc_event);
        ck_assert(p.dev_kmsg);

        ck_assert_int_eq(probe_cache(&c, &p, "kmalloc-8192", &pc), 0);
        ck_assert(pc.store_user);
        ck_assert(pc.trace_writable);
        ck_assert(pc.sysfs_alloc_calls);
        ck_assert(!pc.debugfs_alloc_traces);

        /* The same file on a 5.9+ kernel is never "writable". */
        p.kver = CACHEID_KVER(5, 9);
        p.may_write_trace = false;
        ck_assert_int_eq(probe_cache(&c, &p, "kmalloc-8192", &pc), 0);
        ck_assert(!pc.trace_writable);

        probe_summary(&p, line, sizeof line);
        ck_assert_ptr_nonnull(strstr(line, "tracefs unavailable"));
}
END_TEST

/* 5.15: debugfs alloc_traces, kmem_cache_alloc without name, tracefs not
 * mounted but mountable, and the old debugfs/tracing location. */
START_TEST(test_probe_515) {
        struct config c;
        struct probe p;
        struct probe_cache pc;

        put("proc/sys/kernel/osrelease", "5.15.0-91-generic\n");
        put("proc/filesystems", "nodev\ttracefs\n");
        put("sys/kernel/slab/kmalloc-8k/store_user", "1\n");
        put("sys/kernel/debug/slab/kmalloc-8k/alloc_traces", "");
        put("sys/kernel/tracing/.keep", "");
        config_for_root(&c);

        ck_assert_int_eq(probe_run(&c, &p), 0);
        ck_assert(p.debugfs_slab);
        ck_assert(!p.tracefs_mounted);
        ck_assert(p.tracefs_mountable == (geteuid() == 0));
        ck_assert_int_eq(probe_cache(&c, &p, "kmalloc-8k", &pc), 0);
        ck_assert(pc.debugfs_alloc_traces);
        ck_assert(pc.store_user);
        ck_assert(!pc.sysfs_alloc_calls);

        /* tracefs reachable only under debugfs/tracing. */
        put("sys/kernel/debug/tracing/events/kmem/kmem_cache_alloc/format", format_alloc_515);
        put("sys/kernel/debug/tracing/events/kmem/kmem_cache_free/format", format_free_515);
        ck_assert_int_eq(probe_run(&c, &p), 0);
        ck_assert(p.tracefs_mounted);
        ck_assert_ptr_nonnull(strstr(p.tracefs_dir, "/sys/kernel/debug/tracing"));
        ck_assert(p.kmem_cache_alloc_event);
        ck_assert(!p.kmem_cache_alloc_name);
        ck_assert(p.kmem_cache_free_name);
        ck_assert(!p.kmalloc_event);
}
END_TEST

START_TEST(test_format_fields) {
        ck_assert(probe_format_has_field(format_alloc_618, strlen(format_alloc_618), "name"));
        ck_assert(probe_format_has_field(format_alloc_618, strlen(format_alloc_618), "bytes_alloc"));
        ck_assert(probe_format_has_field(format_alloc_618, strlen(format_alloc_618), "ptr"));
        ck_assert(!probe_format_has_field(format_alloc_515, strlen(format_alloc_515), "name"));
        ck_assert(!probe_format_has_field(format_alloc_618, strlen(format_alloc_618), "nam"));
        ck_assert(!probe_format_has_field(format_alloc_618, strlen(format_alloc_618), "call"));
        static const char arr[] = "\tfield:char comm[16];\toffset:8;\tsize:16;\tsigned:1;\n";
        ck_assert(probe_format_has_field(arr, strlen(arr), "comm"));
}
END_TEST

START_TEST(test_format_limits) {
        static const char garbage[] = "\xff\xfe\x00field:\x01;;;;\nfield:\nfield:;\n\tfield:int;\n";
        char big[8192];

        ck_assert(!probe_format_has_field(garbage, sizeof garbage - 1, "name"));
        ck_assert(!probe_format_has_field("", 0, "name"));
        /* Truncated mid-line: the field is not declared yet. */
        ck_assert(!probe_format_has_field(format_alloc_618, 120, "name"));
        memset(big, 'x', sizeof big);
        ck_assert(!probe_format_has_field(big, sizeof big, "x"));
}
END_TEST

START_TEST(test_probe_limits) {
        struct config c;
        struct probe p;
        struct probe_cache pc;

        /* An empty root: every capability absent, release from uname(). */
        config_for_root(&c);
        ck_assert_int_eq(probe_run(&c, &p), 0);
        ck_assert(!p.slabinfo_readable);
        ck_assert_int_eq(p.slabinfo_error, -ENOENT);
        ck_assert(!p.slub_sysfs);
        ck_assert(!p.tracefs_mounted);
        ck_assert(!p.dev_kmsg);
        ck_assert(p.release[0] != '\0');

        ck_assert_int_eq(probe_cache(&c, &p, "", &pc), -EINVAL);
        ck_assert_int_eq(probe_cache(&c, &p, "..", &pc), -EINVAL);
        ck_assert_int_eq(probe_cache(&c, &p, "../../etc", &pc), -EINVAL);
        ck_assert_int_eq(probe_cache(&c, &p, "nonexistent", &pc), 0);
        ck_assert(!pc.sysfs);

        /* A garbage release and a garbage store_user. */
        put("proc/sys/kernel/osrelease", "\xff\xfe garbage\n");
        put("sys/kernel/slab/x/store_user", "\x01\x02");
        ck_assert_int_eq(probe_run(&c, &p), 0);
        ck_assert_uint_eq(p.kver, 0);
        ck_assert_int_eq(probe_cache(&c, &p, "x", &pc), 0);
        ck_assert(!pc.store_user);
}
END_TEST

/* EACCES: as an unprivileged user the root-owned tree cannot be read. */
START_TEST(test_probe_eacces) {
        struct config c;
        struct probe p;

        make_618_tree();
        chmod_rel("proc/slabinfo", 0400);
        config_for_root(&c);
        if (geteuid() != 0) {
                /* Not root: the mode alone refuses us. */
                ck_assert_int_eq(probe_run(&c, &p), 0);
                ck_assert(!p.slabinfo_readable);
                return;
        }
        ck_assert_int_eq(seteuid(65534), 0);
        ck_assert_int_eq(probe_run(&c, &p), 0);
        ck_assert_int_eq(seteuid(0), 0);
        ck_assert(!p.slabinfo_readable);
        ck_assert_int_eq(p.slabinfo_error, -EACCES);
}
END_TEST

static Suite *probe_suite(void) {
        Suite *s = suite_create("probe");
        TCase *tc = tcase_create("core");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_probe_618);
        tcase_add_test(tc, test_probe_318);
        tcase_add_test(tc, test_probe_515);
        tcase_add_test(tc, test_format_fields);
        suite_add_tcase(s, tc);

        tc = tcase_create("limits");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_format_limits);
        tcase_add_test(tc, test_probe_limits);
        tcase_add_test(tc, test_probe_eacces);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(probe_suite());
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
