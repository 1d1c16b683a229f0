#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "capture/bundle.h"
#include "testutil.h"

static char *root;
static char state[4096];

static void setup(void) {
        root = testutil_mkdtemp();
        snprintf(state, sizeof state, "%s/state", root);
}

static void teardown(void) {
        /* A failed test_enospc must not leave its tmpfs behind. */
        (void) umount2(state, MNT_DETACH);
        testutil_rmtree(root);
        free(root);
        root = NULL;
}

/* Does <state>/captures/@rel exist? */
static bool exists(const char *rel) {
        char path[8192];
        struct stat st;
        snprintf(path, sizeof path, "%s/captures/%s", state, rel);
        return stat(path, &st) == 0;
}

static size_t count_entries(const char *dir) {
        char cmd[8192];
        FILE *f;
        size_t n = 0;
        char line[512];

        snprintf(cmd, sizeof cmd, "ls -A '%s'", dir);
        f = popen(cmd, "r");
        ck_assert_ptr_nonnull(f);
        while (fgets(line, sizeof line, f))
                n++;
        pclose(f);
        return n;
}

static void write_bundle(const char *id, size_t bytes, const char *summary) {
        struct bundle *b = NULL;
        char *data = malloc(bytes ? bytes : 1);

        memset(data, 'x', bytes);
        ck_assert_int_eq(bundle_begin(state, id, &b, NULL, 0), 0);
        ck_assert_int_eq(bundle_add(b, "report.txt", data, bytes), 0);
        if (summary)
                ck_assert_int_eq(bundle_add(b, "summary.json", summary, strlen(summary)), 0);
        ck_assert_int_eq(bundle_commit(b), 0);
        bundle_free(b);
        free(data);
}

START_TEST(test_ids) {
        char id[BUNDLE_ID_MAX];

        ck_assert_str_eq(bundle_make_id("kmalloc-8k", 1735689600000000ULL, id, sizeof id), "20250101T000000Z-kmalloc-8k");
        ck_assert_str_eq(bundle_make_id("a/b c:\xff", 0, id, sizeof id), "19700101T000000Z-a_b_c__");
        ck_assert(bundle_id_valid("20250101T000000Z-kmalloc-8k"));
        ck_assert(bundle_id_valid(id));
        ck_assert(!bundle_id_valid(""));
        ck_assert(!bundle_id_valid(NULL));
        ck_assert(!bundle_id_valid(".tmp-x"));
        ck_assert(!bundle_id_valid(".."));
        ck_assert(!bundle_id_valid("a/b"));
        ck_assert(!bundle_id_valid("a b"));

        /* The one place that joins a bundle's paths. */
        char path[BUNDLE_PATH_MAX];
        ck_assert_int_eq(bundle_file_path("/var/lib/slabwatch", "20250101T000000Z-kmalloc-8k", BUNDLE_REPORT_TXT, path,
                                          sizeof path),
                         0);
        ck_assert_str_eq(path, "/var/lib/slabwatch/captures/20250101T000000Z-kmalloc-8k/report.txt");
        ck_assert_int_eq(bundle_file_path("/s", "../x", BUNDLE_REPORT_TXT, path, sizeof path), -EINVAL);
        ck_assert_int_eq(bundle_file_path("/s", "x", "../report.txt", path, sizeof path), -EINVAL);
        ck_assert_int_eq(bundle_file_path("/s", "x", ".hidden", path, sizeof path), -EINVAL);
        ck_assert_int_eq(bundle_file_path("/s", "x", BUNDLE_REPORT_TXT, path, 8), -ENAMETOOLONG);
}
END_TEST

START_TEST(test_write_commit) {
        struct bundle *b = NULL;
        json_object *o = json_object_new_object(), *back = NULL, *v;
        char captures[8192];

        json_object_object_add(o, "cache", json_object_new_string("UDP"));
        ck_assert_int_eq(bundle_begin(state, "20250101T000000Z-UDP", &b, NULL, 0), 0);
        ck_assert_str_eq(bundle_id(b), "20250101T000000Z-UDP");
        ck_assert_int_eq(bundle_add_json(b, "report.json", o), 0);
        ck_assert_int_eq(bundle_add(b, "history.csv", "t,active_objs\n1,2\n", 18), 0);
        ck_assert_int_eq(bundle_add(b, "empty", NULL, 0), 0);
        /* Nothing visible before the commit. */
        ck_assert(!exists("20250101T000000Z-UDP"));
        ck_assert(exists(".tmp-20250101T000000Z-UDP"));
        ck_assert_int_eq(bundle_add(b, "report.json", "x", 1), -EEXIST);
        ck_assert_int_eq(bundle_add(b, "../escape", "x", 1), -EINVAL);
        ck_assert_int_eq(bundle_add(b, ".hidden", "x", 1), -EINVAL);
        ck_assert_int_eq(bundle_commit(b), 0);
        ck_assert_int_eq(bundle_commit(b), -EINVAL);
        ck_assert_int_eq(bundle_add(b, "late", "x", 1), -EINVAL);
        ck_assert(exists("20250101T000000Z-UDP/history.csv"));
        ck_assert(!exists(".tmp-20250101T000000Z-UDP"));
        ck_assert_ptr_nonnull(strstr(bundle_path(b), "/captures/20250101T000000Z-UDP"));
        bundle_free(b);
        json_object_put(o);

        ck_assert_int_eq(bundle_load_report(state, "20250101T000000Z-UDP", &back), 0);
        ck_assert(json_object_object_get_ex(back, "cache", &v));
        ck_assert_str_eq(json_object_get_string(v), "UDP");
        json_object_put(back);

        /* Same id again: a suffix, never a clash. */
        ck_assert_int_eq(bundle_begin(state, "20250101T000000Z-UDP", &b, NULL, 0), 0);
        ck_assert_str_eq(bundle_id(b), "20250101T000000Z-UDP-2");
        ck_assert_int_eq(bundle_commit(b), 0);
        bundle_free(b);
        snprintf(captures, sizeof captures, "%s/captures", state);
        ck_assert_uint_eq(count_entries(captures), 2);
}
END_TEST

START_TEST(test_abandon_and_stale) {
        struct bundle *b = NULL;
        char captures[8192];

        ck_assert_int_eq(bundle_begin(state, "20250101T000000Z-x", &b, NULL, 0), 0);
        ck_assert_int_eq(bundle_add(b, "report.txt", "half", 4), 0);
        bundle_free(b);
        snprintf(captures, sizeof captures, "%s/captures", state);
        ck_assert_uint_eq(count_entries(captures), 0);
        bundle_free(NULL);

        /* A crash mid-write leaves a temporary directory: cleaned at start. */
        testutil_write_file(captures, ".tmp-20250101T000000Z-y/report.txt", "half", 4);
        testutil_write_file(captures, ".tmp-20250101T000000Z-z/sub/deeper", "half", 4);
        write_bundle("20250101T000001Z-kept", 10, NULL);
        ck_assert_int_eq(bundle_cleanup_stale(state), 2);
        ck_assert_uint_eq(count_entries(captures), 1);
        ck_assert_int_eq(bundle_cleanup_stale(state), 0);
}
END_TEST

START_TEST(test_rotate) {
        char captures[8192];

        snprintf(captures, sizeof captures, "%s/captures", state);
        write_bundle("20250101T000001Z-a", 1000, NULL);
        write_bundle("20250101T000002Z-b", 1000, NULL);
        write_bundle("20250101T000003Z-c", 1000, NULL);
        ck_assert_uint_eq(bundle_disk_usage(state), 3000);

        ck_assert_int_eq(bundle_rotate(state, 5000, NULL), 0);
        ck_assert_int_eq(bundle_rotate(state, 2500, "20250101T000003Z-c"), 1);
        ck_assert(!exists("20250101T000001Z-a"));
        ck_assert(exists("20250101T000002Z-b"));

        /* The one being kept survives even as the oldest and over budget. */
        ck_assert_int_eq(bundle_rotate(state, 0, "20250101T000002Z-b"), 1);
        ck_assert(exists("20250101T000002Z-b"));
        ck_assert(!exists("20250101T000003Z-c"));
        ck_assert_uint_eq(count_entries(captures), 1);

        /* Temporary directories are never rotated out. */
        testutil_write_file(captures, ".tmp-20240101T000000Z-w/report.txt", "half", 4);
        ck_assert_int_eq(bundle_rotate(state, 0, NULL), 1);
        ck_assert_uint_eq(count_entries(captures), 1);

        /* No captures directory yet: nothing to do. */
        testutil_rmtree(captures);
        ck_assert_int_eq(bundle_rotate(state, 0, NULL), 0);
        ck_assert_uint_eq(bundle_disk_usage(state), 0);
}
END_TEST

START_TEST(test_list) {
        json_object *a = NULL, *first, *v;

        ck_assert_int_eq(bundle_list(state, &a), 0);
        ck_assert_int_eq(json_object_array_length(a), 0);
        json_object_put(a);

        write_bundle("20250101T000001Z-old", 10, "{\"cache\": \"UDP\", \"suspect\": \"inet_create\"}");
        write_bundle("20250101T000002Z-new", 20, "{\"cache\": \"kmalloc-8k\", \"id\": \"forged\"}");
        write_bundle("20250101T000003Z-bad", 5, "\xff garbage {");
        ck_assert_int_eq(bundle_list(state, &a), 0);
        ck_assert_int_eq(json_object_array_length(a), 3);
        first = json_object_array_get_idx(a, 1);
        ck_assert(json_object_object_get_ex(first, "id", &v));
        ck_assert_str_eq(json_object_get_string(v), "20250101T000002Z-new");
        ck_assert(json_object_object_get_ex(first, "cache", &v));
        ck_assert_str_eq(json_object_get_string(v), "kmalloc-8k");
        ck_assert(json_object_object_get_ex(first, "bytes", &v));
        ck_assert_int_gt(json_object_get_int64(v), 20);
        ck_assert(json_object_object_get_ex(json_object_array_get_idx(a, 2), "suspect", &v));
        ck_assert_str_eq(json_object_get_string(v), "inet_create");
        ck_assert(!json_object_object_get_ex(json_object_array_get_idx(a, 0), "cache", NULL));
        json_object_put(a);
}
END_TEST

START_TEST(test_load_limits) {
        json_object *o = NULL;
        struct bundle *b = NULL;

        ck_assert_int_eq(bundle_load_report(state, "../../etc", &o), -EINVAL);
        ck_assert_int_eq(bundle_load_report(state, "", &o), -EINVAL);
        ck_assert_int_eq(bundle_load_report(state, "20250101T000000Z-none", &o), -ENOENT);

        ck_assert_int_eq(bundle_begin(state, "20250101T000000Z-bad", &b, NULL, 0), 0);
        ck_assert_int_eq(bundle_add(b, "report.json", "{\"truncated\": [1, 2", 19), 0);
        ck_assert_int_eq(bundle_commit(b), 0);
        bundle_free(b);
        ck_assert_int_eq(bundle_load_report(state, "20250101T000000Z-bad", &o), -EBADMSG);

        ck_assert_int_eq(bundle_begin(state, "20250101T000000Z-bin", &b, NULL, 0), 0);
        ck_assert_int_eq(bundle_add(b, "report.json", "\x00\x01\x02\xff", 4), 0);
        ck_assert_int_eq(bundle_commit(b), 0);
        bundle_free(b);
        ck_assert_int_eq(bundle_load_report(state, "20250101T000000Z-bin", &o), -EBADMSG);
        ck_assert_ptr_null(o);

        ck_assert_int_eq(bundle_begin(state, "bad/id", &b, NULL, 0), -EINVAL);
}
END_TEST

/* The state directory is not ours to write: -EACCES with the path. */
START_TEST(test_eacces) {
        struct bundle *b = NULL;
        char err[BUNDLE_PATH_MAX] = "";

        if (geteuid() != 0) {
                ck_assert_int_eq(chmod(root, 0555), 0);
                ck_assert_int_eq(bundle_begin(state, "20250101T000000Z-x", &b, err, sizeof err), -EACCES);
                ck_assert_str_eq(err, state);
                ck_assert_int_eq(chmod(root, 0700), 0);
                return;
        }
        /* Root ignores modes: act as nobody on a tree nobody may only read. */
        ck_assert_int_eq(mkdir(state, 0755), 0);
        ck_assert_int_eq(chmod(root, 0755), 0);
        ck_assert_int_eq(seteuid(65534), 0);
        int r = bundle_begin(state, "20250101T000000Z-x", &b, err, sizeof err);
        ck_assert_int_eq(seteuid(0), 0);
        ck_assert_int_eq(r, -EACCES);
        ck_assert_ptr_nonnull(strstr(err, "/state/captures"));
}
END_TEST

/* A full disk mid-bundle: -ENOSPC naming the file, and nothing visible. */
START_TEST(test_enospc) {
        struct bundle *b = NULL;
        char *big;
        size_t big_len = 1 << 20;
        int r;

        ck_assert_int_eq(mkdir(state, 0700), 0);
        if (mount("tmpfs", state, "tmpfs", 0, "size=64k") < 0) {
                fprintf(stderr, "test_enospc: cannot mount a small tmpfs (%s), not checked\n", strerror(errno));
                return;
        }
        big = malloc(big_len);
        memset(big, 'x', big_len);
        r = bundle_begin(state, "20250101T000000Z-full", &b, NULL, 0);
        ck_assert_int_eq(r, 0);
        r = bundle_add(b, "trace.txt", big, big_len);
        ck_assert_int_eq(r, -ENOSPC);
        ck_assert_ptr_nonnull(strstr(bundle_error_path(b), "/captures/.tmp-20250101T000000Z-full/trace.txt"));
        bundle_free(b);
        free(big);
        ck_assert_uint_eq(count_entries(state) , 1); /* captures/ only, empty */
        ck_assert_int_eq(umount(state), 0);
}
END_TEST

static Suite *bundle_suite(void) {
        Suite *s = suite_create("bundle");
        TCase *tc = tcase_create("core");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_ids);
        tcase_add_test(tc, test_write_commit);
        tcase_add_test(tc, test_abandon_and_stale);
        tcase_add_test(tc, test_rotate);
        tcase_add_test(tc, test_list);
        suite_add_tcase(s, tc);

        tc = tcase_create("limits");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_load_limits);
        tcase_add_test(tc, test_eacces);
        tcase_add_test(tc, test_enospc);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(bundle_suite());
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
