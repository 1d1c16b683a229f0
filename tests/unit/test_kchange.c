/* kchange on a fake tracefs and sysfs tree: every change is undone, newest
 * first, what cannot be undone stays to be tried again, and after a kill
 * the next start undoes what the markers name. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "capture/kchange.h"
#include "testutil.h"

static char *root;

static void put(const char *rel, const char *text) {
        testutil_write_file(root, rel, text, strlen(text));
}

static const char *path_of(const char *rel) {
        static char buf[4][4096];
        static unsigned i;
        char *p = buf[i++ % 4];
        snprintf(p, 4096, "%s/%s", root, rel);
        return p;
}

static char *get(const char *rel) {
        static char buf[256];
        FILE *f = fopen(path_of(rel), "r");
        if (!f)
                return NULL;
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[n] = '\0';
        return buf;
}

static bool exists(const char *rel) {
        struct stat st;
        return stat(path_of(rel), &st) == 0;
}

static void setup(void) {
        root = testutil_mkdtemp();
        /* An instance's files as a fresh one shows them. */
        put("t/inst/trace_clock", "[local] global counter uptime perf mono mono_raw boot\n");
        put("t/inst/buffer_size_kb", "7 (expanded: 1408)\n");
        put("t/inst/options/stacktrace", "0\n");
        put("t/inst/events/kmem/kmalloc/filter", "none\n");
        put("t/inst/events/kmem/kmalloc/enable", "0\n");
        put("t/inst/tracing_on", "1\n");
        put("t/instances/.keep", "");
        put("sys/kernel/slab/foo/trace", "0\n");
        put("state/.keep", "");
}

static void teardown(void) {
        testutil_rmtree(root);
        free(root);
}

START_TEST(test_apply_and_undo_in_reverse) {
        struct kchange *k = NULL;
        ck_assert_int_eq(kchange_new(path_of("state"), &k), 0);

        ck_assert_int_eq(kchange_apply(k, KCHANGE_INSTANCE, path_of("t/instances/slabwatch-x"), NULL), -ENOENT);
        ck_assert(!exists("t/instances/slabwatch-x")); /* a fake instance has no tracing_on: undone at once */
        ck_assert_uint_eq(kchange_depth(k), 0);

        ck_assert_int_eq(kchange_apply(k, KCHANGE_TRACE_CLOCK, path_of("t/inst/trace_clock"), "mono"), 0);
        ck_assert_int_eq(kchange_apply(k, KCHANGE_BUFFER_SIZE, path_of("t/inst/buffer_size_kb"), "16384"), 0);
        ck_assert_int_eq(kchange_apply(k, KCHANGE_OPTION, path_of("t/inst/options/stacktrace"), "1"), 0);
        ck_assert_int_eq(kchange_apply(k, KCHANGE_FILTER, path_of("t/inst/events/kmem/kmalloc/filter"),
                                       "bytes_alloc == 256"),
                         0);
        size_t before_events = kchange_depth(k);
        ck_assert_int_eq(kchange_apply(k, KCHANGE_EVENT, path_of("t/inst/events/kmem/kmalloc/enable"), NULL), 0);
        ck_assert_int_eq(kchange_apply(k, KCHANGE_TRACING_ON, path_of("t/inst/tracing_on"), "1"), 0);
        ck_assert_str_eq(get("t/inst/trace_clock"), "mono");
        ck_assert_str_eq(get("t/inst/events/kmem/kmalloc/filter"), "bytes_alloc == 256");
        ck_assert_str_eq(get("t/inst/events/kmem/kmalloc/enable"), "1");
        ck_assert(kchange_holds(k, KCHANGE_EVENT));
        ck_assert(!kchange_holds(k, KCHANGE_MOUNT_TRACEFS));

        /* A failed apply records nothing. */
        ck_assert_int_eq(kchange_apply(k, KCHANGE_OPTION, path_of("t/inst/options/nope"), "1"), -ENOENT);
        ck_assert_int_eq(kchange_apply(k, KCHANGE_FILTER, path_of("t/inst/x"), NULL), -EINVAL);
        ck_assert_uint_eq(kchange_depth(k), 6);

        /* The events first, as the tracer stops them before it drains. */
        ck_assert_int_eq(kchange_undo_to(k, before_events), 0);
        ck_assert_uint_eq(kchange_depth(k), before_events);
        ck_assert_str_eq(get("t/inst/events/kmem/kmalloc/enable"), "0");
        ck_assert_str_eq(get("t/inst/tracing_on"), "1"); /* what it read before */
        ck_assert_str_eq(get("t/inst/options/stacktrace"), "1");

        /* An undo that fails stays, the others are still done. */
        ck_assert_int_eq(chmod(path_of("t/inst/options/stacktrace"), 0), 0);
        bool root_user = geteuid() == 0; /* root writes a mode-0 file anyway */
        if (root_user)
                ck_assert_int_eq(unlink(path_of("t/inst/options/stacktrace")), 0);
        ck_assert_int_lt(kchange_undo_to(k, 0), 0);
        ck_assert_uint_eq(kchange_depth(k), 1);
        ck_assert_str_eq(get("t/inst/trace_clock"), "local");
        ck_assert_str_eq(get("t/inst/buffer_size_kb"), "1408");
        ck_assert_str_eq(get("t/inst/events/kmem/kmalloc/filter"), "0");
        /* Put right, the next undo finishes it. */
        put("t/inst/options/stacktrace", "1\n");
        ck_assert_int_eq(chmod(path_of("t/inst/options/stacktrace"), 0644), 0);
        ck_assert_int_eq(kchange_undo_to(k, 0), 0);
        ck_assert_str_eq(get("t/inst/options/stacktrace"), "0");
        ck_assert_uint_eq(kchange_depth(k), 0);
        kchange_free(k);

        /* The ledger is bounded. */
        ck_assert_int_eq(kchange_new(NULL, &k), 0);
        const char *enable = path_of("t/inst/events/kmem/kmalloc/enable");
        for (unsigned i = 0; i < KCHANGE_MAX; i++)
                ck_assert_int_eq(kchange_apply(k, KCHANGE_EVENT, enable, NULL), 0);
        ck_assert_int_eq(kchange_apply(k, KCHANGE_EVENT, enable, NULL), -E2BIG);
        /* Without a state directory nothing that needs a marker is done. */
        ck_assert_int_eq(kchange_apply(k, KCHANGE_SLUB_TRACE, path_of("sys/kernel/slab/foo/trace"), NULL), -EINVAL);
        kchange_free(k); /* undoes them all */
        ck_assert_str_eq(get("t/inst/events/kmem/kmalloc/enable"), "0");
        ck_assert_str_eq(get("sys/kernel/slab/foo/trace"), "0\n");
        ck_assert_str_eq(kchange_op_name(KCHANGE_SLUB_TRACE), "SLUB trace flag");
}
END_TEST

/* A trigger is added and removed by appending to the event's list (a
 * truncating open would drop every trigger of the event). */
START_TEST(test_trigger) {
        struct kchange *k = NULL;
        const char *trig = path_of("t/inst/events/kmem/kmalloc/trigger");
        put("t/inst/events/kmem/kmalloc/trigger", "# Available triggers:\n");
        ck_assert_int_eq(kchange_new(NULL, &k), 0);
        ck_assert_int_eq(kchange_apply(k, KCHANGE_TRIGGER, trig, NULL), -EINVAL);
        ck_assert_int_eq(kchange_apply(k, KCHANGE_TRIGGER, trig, "!stacktrace"), -EINVAL);
        ck_assert_int_eq(kchange_apply(k, KCHANGE_TRIGGER, path_of("t/inst/events/kmem/nope/trigger"),
                                       "stacktrace"),
                         -ENOENT);
        ck_assert_uint_eq(kchange_depth(k), 0);
        ck_assert_int_eq(kchange_apply(k, KCHANGE_TRIGGER, trig, "stacktrace if bytes_alloc == 256"), 0);
        ck_assert_str_eq(get("t/inst/events/kmem/kmalloc/trigger"),
                         "# Available triggers:\nstacktrace if bytes_alloc == 256");
        ck_assert(kchange_holds(k, KCHANGE_TRIGGER));
        ck_assert_int_eq(kchange_undo_to(k, 0), 0);
        ck_assert_str_eq(get("t/inst/events/kmem/kmalloc/trigger"),
                         "# Available triggers:\nstacktrace if bytes_alloc == 256!stacktrace if bytes_alloc == 256");
        ck_assert_str_eq(kchange_op_name(KCHANGE_TRIGGER), "event trigger");
        kchange_free(k);
}
END_TEST

START_TEST(test_instance_dir) {
        struct kchange *k = NULL;
        /* A directory that takes a tracing_on file stands in for the kernel's. */
        ck_assert_int_eq(kchange_new(NULL, &k), 0);
        ck_assert_int_eq(mkdir(path_of("t/instances/slabwatch-y"), 0700), 0);
        ck_assert_int_eq(kchange_apply(k, KCHANGE_INSTANCE, path_of("t/instances/slabwatch-y"), NULL), -EBUSY);
        ck_assert_int_eq(rmdir(path_of("t/instances/slabwatch-y")), 0);
        ck_assert_int_eq(kchange_depth(k), 0);
        kchange_free(k);
}
END_TEST

/* A daemon killed with the sysfs trace flag on: the marker was written
 * before the flag, and the next start switches it off. */
START_TEST(test_crash_recovery) {
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                struct kchange *k = NULL;
                if (kchange_new(path_of("state"), &k) < 0 ||
                    kchange_apply(k, KCHANGE_SLUB_TRACE, path_of("sys/kernel/slab/foo/trace"), NULL) < 0)
                        _exit(1);
                _exit(0); /* killed: nothing undone */
        }
        int status;
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        ck_assert_str_eq(get("sys/kernel/slab/foo/trace"), "1");
        ck_assert(exists("state/" KCHANGE_TRACE_MARKER_PREFIX "foo"));

        /* Also left: an instance of ours, one of another tool, a marker of a
         * mount elsewhere, and a marker that names no trace file. */
        put("t/instances/slabwatch-foo/.keep", "");
        ck_assert_int_eq(unlink(path_of("t/instances/slabwatch-foo/.keep")), 0);
        put("t/instances/other/.keep", "");
        put("state/" KCHANGE_MOUNT_MARKER, "/elsewhere");
        put("state/" KCHANGE_TRACE_MARKER_PREFIX "evil", "/etc/passwd\n");

        ck_assert_int_eq(kchange_recover(path_of("state"), path_of("sys"), path_of("t"), path_of("t")), 2);
        ck_assert_str_eq(get("sys/kernel/slab/foo/trace"), "0");
        ck_assert(!exists("state/" KCHANGE_TRACE_MARKER_PREFIX "foo"));
        ck_assert(!exists("state/" KCHANGE_TRACE_MARKER_PREFIX "evil"));
        ck_assert(!exists("state/" KCHANGE_MOUNT_MARKER));
        ck_assert(!exists("t/instances/slabwatch-foo"));
        ck_assert(exists("t/instances/other"));
        ck_assert_int_eq(kchange_recover(path_of("state"), path_of("sys"), path_of("t"), path_of("t")), 0);
}
END_TEST

/* kprobe_events is shared: lines are appended (another tool's probe
 * stays), the undo removes ours by name, and a killed daemon's probe is
 * removed by the next start, from its marker. */
START_TEST(test_kprobe) {
        struct kchange *k = NULL;
        put("t/kprobe_events", "p:other/theirs do_sys_open\n");
        ck_assert_int_eq(kchange_new(path_of("state"), &k), 0);
        ck_assert_int_eq(kchange_apply(k, KCHANGE_KPROBE, path_of("t/kprobe_events"),
                                       "p:slabwatch/sw_x_0 kmem_cache_free_bulk n=%si:u64"),
                         0);
        ck_assert_str_eq(get("t/kprobe_events"),
                         "p:other/theirs do_sys_open\np:slabwatch/sw_x_0 kmem_cache_free_bulk n=%si:u64");
        ck_assert(exists("state/" KCHANGE_KPROBE_MARKER_PREFIX "sw_x_0"));
        /* Only our group, and only with a marker. */
        ck_assert_int_eq(kchange_apply(k, KCHANGE_KPROBE, path_of("t/kprobe_events"), "p:other/x do_sys_open"),
                         -EINVAL);
        ck_assert_int_eq(kchange_apply(k, KCHANGE_KPROBE, path_of("t/kprobe_events"), "-:slabwatch/sw_x_0"),
                         -EINVAL);
        ck_assert_uint_eq(kchange_depth(k), 1);
        ck_assert_int_eq(kchange_undo_to(k, 0), 0);
        ck_assert_str_eq(get("t/kprobe_events"), "p:other/theirs do_sys_open\np:slabwatch/sw_x_0 "
                                                 "kmem_cache_free_bulk n=%si:u64-:slabwatch/sw_x_0");
        ck_assert(!exists("state/" KCHANGE_KPROBE_MARKER_PREFIX "sw_x_0"));
        kchange_free(k);

        struct kchange *nomark = NULL;
        ck_assert_int_eq(kchange_new(NULL, &nomark), 0);
        ck_assert_int_eq(kchange_apply(nomark, KCHANGE_KPROBE, path_of("t/kprobe_events"),
                                       "p:slabwatch/sw_x_0 kmem_cache_free_bulk"),
                         -EINVAL);
        kchange_free(nomark);
}
END_TEST

START_TEST(test_kprobe_crash_recovery) {
        put("t/kprobe_events", "");
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                struct kchange *k = NULL;
                if (kchange_new(path_of("state"), &k) < 0 ||
                    kchange_apply(k, KCHANGE_KPROBE, path_of("t/kprobe_events"),
                                  "p:slabwatch/sw_y_1 kmem_cache_free_bulk") < 0)
                        _exit(1);
                _exit(0); /* killed: nothing undone */
        }
        int status;
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        /* Markers that name another file or another group are dropped. */
        put("state/" KCHANGE_KPROBE_MARKER_PREFIX "evil", "/etc/passwd\nslabwatch/sw_y_1\n");
        put("state/" KCHANGE_KPROBE_MARKER_PREFIX "other", "/x/kprobe_events\nother/theirs\n");

        ck_assert_int_eq(kchange_recover(path_of("state"), NULL, NULL, NULL), 1);
        ck_assert_str_eq(get("t/kprobe_events"), "p:slabwatch/sw_y_1 kmem_cache_free_bulk-:slabwatch/sw_y_1");
        ck_assert(!exists("state/" KCHANGE_KPROBE_MARKER_PREFIX "sw_y_1"));
        ck_assert(!exists("state/" KCHANGE_KPROBE_MARKER_PREFIX "evil"));
        ck_assert(!exists("state/" KCHANGE_KPROBE_MARKER_PREFIX "other"));
        ck_assert_int_eq(kchange_recover(path_of("state"), NULL, NULL, NULL), 0);
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("kchange");
        TCase *tc = tcase_create("fake");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_apply_and_undo_in_reverse);
        tcase_add_test(tc, test_instance_dir);
        tcase_add_test(tc, test_trigger);
        tcase_add_test(tc, test_crash_recovery);
        tcase_add_test(tc, test_kprobe);
        tcase_add_test(tc, test_kprobe_crash_recovery);
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
