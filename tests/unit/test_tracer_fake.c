/* The tracer against a fake tracefs tree: its error paths, the clean-up of
 * a setup that fails halfway, and the removal of the instances a killed
 * daemon left (kchange_recover). No root, no kernel. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "capture/kchange.h"
#include "capture/tracer.h"
#include "testutil.h"

#define TRACEFS "/sys/kernel/tracing"
#define LEAKER BUILD_DIR "/tests/progs/leaker"
#define LEAK_COUNT 200
#define STRINGIFY_(x) #x
#define STRINGIFY(x) STRINGIFY_(x)
#define LEAK_RATE "100"
/* Fast enough for many thousands of events, slow enough that a loaded
 * two-CPU test machine keeps up with no loss. */
#define CHURN_RATE "20000"
#define POLL_USEC 10000
/* Guard against a leaker that never gets there; not a timing assertion. */
#define WAIT_POLLS_MAX 6000
#define EXTRA_POLLS 30
#define NAME_BUF 256
#define SET_EVENT_MAX 65536
/* Another run of these tests (or a daemon) may be capturing the same cache:
 * one capture per cache, so wait for it to end. */
#define BUSY_RETRY_USEC 100000
#define BUSY_RETRIES 900

/* ---------------- fake tracefs tree ---------------- */

static const char header_page[] = "\tfield: u64 timestamp;\toffset:0;\tsize:8;\tsigned:0;\n"
                                  "\tfield: local_t commit;\toffset:8;\tsize:8;\tsigned:1;\n"
                                  "\tfield: int overwrite;\toffset:8;\tsize:1;\tsigned:1;\n"
                                  "\tfield: char data;\toffset:16;\tsize:4080;\tsigned:0;\n";

#define COMMON_FIELDS                                                                                          \
        "format:\n"                                                                                            \
        "\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n"                                 \
        "\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;\n"                                 \
        "\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;\n"                         \
        "\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n\n"

static const char fmt_cache_alloc_618[] =
        "name: kmem_cache_alloc\nID: 659\n" COMMON_FIELDS
        "\tfield:unsigned long call_site;\toffset:8;\tsize:8;\tsigned:0;\n"
        "\tfield:const void * ptr;\toffset:16;\tsize:8;\tsigned:0;\n"
        "\tfield:__data_loc char[] name;\toffset:24;\tsize:4;\tsigned:0;\n"
        "\tfield:size_t bytes_req;\toffset:32;\tsize:8;\tsigned:0;\n"
        "\tfield:size_t bytes_alloc;\toffset:40;\tsize:8;\tsigned:0;\n"
        "\nprint fmt: \"ptr=%p name=%s\", REC->ptr, __get_str(name)\n";
/* Before 6.18: no name. */
static const char fmt_cache_alloc_612[] =
        "name: kmem_cache_alloc\nID: 659\n" COMMON_FIELDS
        "\tfield:unsigned long call_site;\toffset:8;\tsize:8;\tsigned:0;\n"
        "\tfield:const void * ptr;\toffset:16;\tsize:8;\tsigned:0;\n"
        "\tfield:size_t bytes_req;\toffset:24;\tsize:8;\tsigned:0;\n"
        "\tfield:size_t bytes_alloc;\toffset:32;\tsize:8;\tsigned:0;\n"
        "\nprint fmt: \"ptr=%p\", REC->ptr\n";
static const char fmt_cache_free[] = "name: kmem_cache_free\nID: 656\n" COMMON_FIELDS
                                     "\tfield:unsigned long call_site;\toffset:8;\tsize:8;\tsigned:0;\n"
                                     "\tfield:const void * ptr;\toffset:16;\tsize:8;\tsigned:0;\n"
                                     "\tfield:__data_loc char[] name;\toffset:24;\tsize:4;\tsigned:0;\n"
                                     "\nprint fmt: \"ptr=%p name=%s\", REC->ptr, __get_str(name)\n";
static const char fmt_kmalloc[] = "name: kmalloc\nID: 658\n" COMMON_FIELDS
                                  "\tfield:unsigned long call_site;\toffset:8;\tsize:8;\tsigned:0;\n"
                                  "\tfield:const void * ptr;\toffset:16;\tsize:8;\tsigned:0;\n"
                                  "\tfield:size_t bytes_req;\toffset:24;\tsize:8;\tsigned:0;\n"
                                  "\tfield:size_t bytes_alloc;\toffset:32;\tsize:8;\tsigned:0;\n"
                                  "\nprint fmt: \"ptr=%p\", REC->ptr\n";
static const char fmt_kfree[] = "name: kfree\nID: 657\n" COMMON_FIELDS
                                "\tfield:unsigned long call_site;\toffset:8;\tsize:8;\tsigned:0;\n"
                                "\tfield:const void * ptr;\toffset:16;\tsize:8;\tsigned:0;\n"
                                "\nprint fmt: \"ptr=%p\", REC->ptr\n";
static const char fmt_kernel_stack[] = "name: kernel_stack\nID: 4\n" COMMON_FIELDS
                                       "\tfield:int size;\toffset:8;\tsize:4;\tsigned:1;\n"
                                       "\tfield:unsigned long caller[8];\toffset:16;\tsize:64;\tsigned:0;\n"
                                       "\nprint fmt: \"%ps\", (void *)REC->caller[0]\n";

static void put(const char *dir, const char *rel, const char *text) {
        testutil_write_file(dir, rel, text, strlen(text));
}

/* A tracefs tree with the kmem and ftrace formats but no live files:
 * every write into an instance fails. */
static char *fake_tracefs(bool pre_618, bool with_stack) {
        char *dir = testutil_mkdtemp();
        put(dir, "events/header_page", header_page);
        put(dir, "events/kmem/enable", "0\n");
        put(dir, "events/kmem/kmem_cache_alloc/format", pre_618 ? fmt_cache_alloc_612 : fmt_cache_alloc_618);
        put(dir, "events/kmem/kmem_cache_alloc/enable", "0\n");
        put(dir, "events/kmem/kmem_cache_free/format", fmt_cache_free);
        put(dir, "events/kmem/kmem_cache_free/enable", "0\n");
        put(dir, "events/kmem/kmalloc/format", fmt_kmalloc);
        put(dir, "events/kmem/kmalloc/enable", "0\n");
        put(dir, "events/kmem/kfree/format", fmt_kfree);
        put(dir, "events/kmem/kfree/enable", "0\n");
        if (with_stack)
                put(dir, "events/ftrace/kernel_stack/format", fmt_kernel_stack);
        char path[4096];
        snprintf(path, sizeof path, "%s/instances", dir);
        ck_assert_int_eq(mkdir(path, 0755), 0);
        return dir;
}

static bool exists(const char *dir, const char *rel) {
        char path[4096];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", dir, rel);
        return stat(path, &st) == 0;
}

START_TEST(test_instance_names) {
        char buf[TRACER_INSTANCE_NAME_MAX + 1];
        ck_assert_int_eq(tracer_instance_name_for("kmalloc-256", buf, sizeof buf), 0);
        ck_assert_str_eq(buf, "slabwatch-kmalloc-256");
        ck_assert_int_eq(tracer_instance_name_for(":A-0001152", buf, sizeof buf), 0);
        ck_assert_str_eq(buf, "slabwatch-_A-0001152");
        ck_assert_int_eq(tracer_instance_name_for("a b/c\n\xff", buf, sizeof buf), 0);
        ck_assert_str_eq(buf, "slabwatch-a_b_c__");
        char longname[TRACER_INSTANCE_NAME_MAX];
        memset(longname, 'x', sizeof longname - 1);
        longname[sizeof longname - 1] = '\0';
        ck_assert_int_eq(tracer_instance_name_for(longname, buf, sizeof buf), -ENAMETOOLONG);
        ck_assert_int_eq(tracer_instance_name_for("UDP", buf, 8), -ENAMETOOLONG);
        ck_assert_int_eq(tracer_instance_name_for("", buf, sizeof buf), -EINVAL);
        ck_assert_int_eq(tracer_instance_name_for(NULL, buf, sizeof buf), -EINVAL);
}
END_TEST

START_TEST(test_fake_formats) {
        char *dir = fake_tracefs(false, true);
        struct tracer_formats f;
        ck_assert_int_eq(tracer_probe_formats(dir, &f), 0);
        ck_assert(f.kmem_cache_alloc && f.kmem_cache_alloc_name && f.kmem_cache_alloc_bytes);
        ck_assert(f.kmem_cache_free && f.kmem_cache_free_name);
        ck_assert(f.kmalloc && f.kmalloc_bytes && f.kfree && f.kernel_stack);
        /* No trigger files: stacks would come from the stacktrace option. */
        ck_assert(!f.triggers);
        testutil_write_file(dir, "events/kmem/kmalloc/trigger", "# Available triggers:\n", 22);
        ck_assert_int_eq(tracer_probe_formats(dir, &f), 0);
        ck_assert(f.triggers);
        testutil_rmtree(dir);
        free(dir);

        dir = fake_tracefs(true, false);
        ck_assert_int_eq(tracer_probe_formats(dir, &f), 0);
        ck_assert(f.kmem_cache_alloc && !f.kmem_cache_alloc_name && f.kmem_cache_alloc_bytes);
        ck_assert(!f.kernel_stack);
        testutil_rmtree(dir);
        free(dir);

        char *empty = testutil_mkdtemp();
        ck_assert_int_eq(tracer_probe_formats(empty, &f), -ENOENT);
        ck_assert_int_eq(tracer_probe_formats("/nonexistent", &f), -ENOENT);
        testutil_rmtree(empty);
        free(empty);
}
END_TEST

START_TEST(test_fake_setup_fails_cleanly) {
        char *dir = fake_tracefs(false, true);
        struct tracer *t = NULL;
        /* The instance directory is made, then the first write into it
         * fails: it must be gone again. */
        struct tracer_options o = { .tracefs_dir = dir, .cache_name = "UDP" };
        int r = tracer_start(&o, &t);
        ck_assert_int_lt(r, 0);
        ck_assert_ptr_null(t);
        ck_assert(!exists(dir, "instances/slabwatch-UDP"));
        /* Same for the kmalloc path. */
        o.cache_name = "kmalloc-256";
        ck_assert_int_lt(tracer_start(&o, &t), 0);
        ck_assert(!exists(dir, "instances/slabwatch-kmalloc-256"));

        /* An instance of that name exists: another capture of the cache. */
        char path[4096];
        snprintf(path, sizeof path, "%s/instances/slabwatch-UDP", dir);
        ck_assert_int_eq(mkdir(path, 0755), 0);
        o.cache_name = "UDP";
        ck_assert_int_eq(tracer_start(&o, &t), -EBUSY);
        ck_assert(exists(dir, "instances/slabwatch-UDP"));
        testutil_rmtree(dir);
        free(dir);
}
END_TEST

START_TEST(test_fake_refusals) {
        struct tracer *t = NULL;
        char *dir = fake_tracefs(false, true);
        static const char *const bad[] = { "", "UDP\"", "a\\b", "two words", "glob*", "tab\there" };
        for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
                struct tracer_options o = { .tracefs_dir = dir, .cache_name = bad[i] };
                ck_assert_int_eq(tracer_start(&o, &t), -EINVAL);
        }
        struct tracer_options o = { .tracefs_dir = dir, .cache_name = NULL };
        ck_assert_int_eq(tracer_start(&o, &t), -EINVAL);
        ck_assert_int_eq(tracer_start(NULL, &t), -EINVAL);
        /* By size, but no size known for a named cache. */
        o = (struct tracer_options) { .tracefs_dir = dir, .cache_name = "UDP", .filter = TRACER_FILTER_KMALLOC };
        ck_assert_int_eq(tracer_start(&o, &t), -EINVAL);
        testutil_rmtree(dir);
        free(dir);

        /* Before 6.18 kmem_cache_alloc has no name: without a size there is
         * no filter. */
        dir = fake_tracefs(true, true);
        o = (struct tracer_options) { .tracefs_dir = dir, .cache_name = "UDP" };
        ck_assert_int_eq(tracer_start(&o, &t), -EOPNOTSUPP);
        testutil_rmtree(dir);
        free(dir);

        /* No stack event. */
        dir = fake_tracefs(false, false);
        o = (struct tracer_options) { .tracefs_dir = dir, .cache_name = "UDP" };
        ck_assert_int_eq(tracer_start(&o, &t), -EOPNOTSUPP);
        testutil_rmtree(dir);
        free(dir);

        /* Not a tracefs at all. */
        char *empty = testutil_mkdtemp();
        o = (struct tracer_options) { .tracefs_dir = empty, .cache_name = "UDP" };
        ck_assert_int_eq(tracer_start(&o, &t), -ENOENT);
        o.tracefs_dir = "/nonexistent/tracing";
        ck_assert_int_eq(tracer_start(&o, &t), -ENOENT);
        testutil_rmtree(empty);
        free(empty);
        tracer_free(NULL);
}
END_TEST

START_TEST(test_fake_cleanup_stale) {
        char *dir = fake_tracefs(false, true);
        char *state = testutil_mkdtemp();
        char path[4096];
        static const char *const names[] = { "slabwatch-UDP", "slabwatch-kmalloc-256", "other-tool" };
        for (size_t i = 0; i < 3; i++) {
                snprintf(path, sizeof path, "%s/instances/%s", dir, names[i]);
                ck_assert_int_eq(mkdir(path, 0755), 0);
        }
        ck_assert_int_eq(kchange_recover(state, NULL, NULL, dir), 2);
        ck_assert(!exists(dir, "instances/slabwatch-UDP"));
        ck_assert(!exists(dir, "instances/slabwatch-kmalloc-256"));
        ck_assert(exists(dir, "instances/other-tool"));
        ck_assert_int_eq(kchange_recover(state, NULL, NULL, dir), 0);
        /* One that cannot be removed is left (and said); the others still go. */
        put(dir, "instances/slabwatch-busy/file", "x");
        snprintf(path, sizeof path, "%s/instances/slabwatch-dentry", dir);
        ck_assert_int_eq(mkdir(path, 0755), 0);
        ck_assert_int_eq(kchange_recover(state, NULL, NULL, dir), 1);
        ck_assert(!exists(dir, "instances/slabwatch-dentry"));
        ck_assert(exists(dir, "instances/slabwatch-busy"));
        testutil_rmtree(dir);
        free(dir);

        char *empty = testutil_mkdtemp();
        ck_assert_int_eq(kchange_recover(state, NULL, NULL, empty), 0);
        testutil_rmtree(empty);
        free(empty);
        ck_assert_int_eq(kchange_recover(NULL, NULL, NULL, NULL), 0);
        testutil_rmtree(state);
        free(state);
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("tracer_fake");
        TCase *fake = tcase_create("fake");
        tcase_add_test(fake, test_instance_names);
        tcase_add_test(fake, test_fake_formats);
        tcase_add_test(fake, test_fake_setup_fails_cleanly);
        tcase_add_test(fake, test_fake_refusals);
        tcase_add_test(fake, test_fake_cleanup_stale);
        suite_add_tcase(s, fake);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(suite());
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
