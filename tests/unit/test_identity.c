#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/config.h"
#include "capture/identity.h"
#include "testutil.h"

static char *root;

static void put(const char *rel, const char *text) {
        testutil_write_file(root, rel, text, strlen(text));
}

static void link_rel(const char *target, const char *rel) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", root, rel);
        ck_assert_int_eq(symlink(target, path), 0);
}

static void config_for_root(struct config *c) {
        config_defaults(c);
        snprintf(c->paths.proc, sizeof c->paths.proc, "%s/proc", root);
        snprintf(c->paths.sys, sizeof c->paths.sys, "%s/sys", root);
}

static const char slabinfo_618[] =
        "slabinfo - version: 2.1\n"
        "# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab> : tunables <limit> "
        "<batchcount> <sharedfactor> : slabdata <active_slabs> <num_slabs> <sharedavail>\n"
        "signal_cache         167    210   1152   14    4 : tunables    0    0    0 : slabdata     15     15      0\n"
        "key_jar               80     80    256   16    1 : tunables    0    0    0 : slabdata      5      5      0\n"
        "msg_msg-8k             0      0   8192    4    8 : tunables    0    0    0 : slabdata      0      0      0\n"
        "memdup_user-8k         0      0   8192    4    8 : tunables    0    0    0 : slabdata      0      0      0\n"
        "dma-kmalloc-8k         0      0   8192    4    8 : tunables    0    0    0 : slabdata      0      0      0\n"
        "kmalloc-rcl-8k         0      0   8192    4    8 : tunables    0    0    0 : slabdata      0      0      0\n"
        "kmalloc-cg-8k         16     16   8192    4    8 : tunables    0    0    0 : slabdata      4      4      0\n"
        "kmalloc-8k           132    132   8192    4    8 : tunables    0    0    0 : slabdata     33     33      0\n"
        "kmalloc-4k           400    400   4096    8    8 : tunables    0    0    0 : slabdata     50     50      0\n"
        "kmalloc_buckets       72     72    112   36    1 : tunables    0    0    0 : slabdata      2      2      0\n";

/* A SLUB sysfs as 6.18 lays it out: merged groups behind symlinks. */
static void setup(void) {
        static const char *const dirs[] = {
                "kmalloc-8k", "kmalloc-cg-8k", "kmalloc-rcl-8k", "dma-kmalloc-8k", "msg_msg-8k",
                "memdup_user-8k", "kmalloc-4k", "kmalloc_buckets",
        };
        char rel[256];

        root = testutil_mkdtemp();
        put("proc/slabinfo", slabinfo_618);
        put("sys/kernel/slab/:A-0001152/object_size", "1152\n");
        put("sys/kernel/slab/:A-0001152/slab_size", "1152\n");
        put("sys/kernel/slab/:A-0001152/aliases", "2\n");
        link_rel(":A-0001152", "sys/kernel/slab/signal_cache");
        link_rel(":A-0001152", "sys/kernel/slab/UNIX");
        link_rel(":A-0001152", "sys/kernel/slab/UNIX-STREAM");
        put("sys/kernel/slab/:0000256/object_size", "256\n");
        link_rel(":0000256", "sys/kernel/slab/key_jar");
        link_rel(":0000256", "sys/kernel/slab/biovec-16");
        link_rel(":0000256", "sys/kernel/slab/sgpool-8");
        for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
                snprintf(rel, sizeof rel, "sys/kernel/slab/%s/object_size", dirs[i]);
                put(rel, strncmp(dirs[i], "kmalloc_buckets", 15) == 0 ? "112\n" :
                         strstr(dirs[i], "4k") ? "4096\n" : "8192\n");
                snprintf(rel, sizeof rel, "sys/kernel/slab/%s/slab_size", dirs[i]);
                put(rel, strstr(dirs[i], "4k") ? "4096\n" : "8192\n");
        }
}

static void teardown(void) {
        testutil_rmtree(root);
        free(root);
        root = NULL;
}

START_TEST(test_merged_alias) {
        struct config c;
        struct identity *id = NULL;
        const struct identity_member *m;

        config_for_root(&c);
        ck_assert_int_eq(identity_resolve(&c, NULL, "UNIX", &id), 0);
        ck_assert(!id->kmalloc_class);
        ck_assert_uint_eq(id->n_members, 1);
        m = &id->members[0];
        ck_assert_str_eq(m->slabinfo_name, "signal_cache");
        ck_assert(m->slabinfo_known);
        ck_assert(m->merged);
        ck_assert_str_eq(m->sysfs_name, ":A-0001152");
        ck_assert_ptr_nonnull(strstr(m->sysfs_dir, "/sys/kernel/slab/:A-0001152"));
        ck_assert_uint_eq(m->object_size, 1152);
        ck_assert_uint_eq(m->slab_size, 1152);
        ck_assert_uint_eq(m->n_aliases, 3);
        ck_assert_str_eq(m->aliases[0], "UNIX");
        ck_assert_str_eq(m->aliases[1], "UNIX-STREAM");
        ck_assert_str_eq(m->aliases[2], "signal_cache");
        identity_free(id);

        /* The slabinfo name resolves to the same group. */
        ck_assert_int_eq(identity_resolve(&c, NULL, "signal_cache", &id), 0);
        ck_assert_str_eq(id->members[0].slabinfo_name, "signal_cache");
        ck_assert_uint_eq(id->members[0].n_aliases, 3);
        identity_free(id);

        ck_assert_int_eq(identity_resolve(&c, NULL, "biovec-16", &id), 0);
        ck_assert_str_eq(id->members[0].slabinfo_name, "key_jar");
        ck_assert_uint_eq(id->members[0].n_aliases, 3);
        ck_assert(!id->kmalloc_class);
        identity_free(id);
}
END_TEST

START_TEST(test_kmalloc_class) {
        struct config c;
        struct identity *id = NULL;
        const char *names[64];
        size_t n;

        config_for_root(&c);
        /* The seed's spelling on a kernel that says "8k". */
        ck_assert_int_eq(identity_resolve(&c, NULL, "kmalloc-8192", &id), 0);
        ck_assert(id->kmalloc_class);
        ck_assert_uint_eq(id->kmalloc.size, 8192);
        ck_assert_uint_eq(id->n_members, 6);
        ck_assert_str_eq(id->members[0].slabinfo_name, "kmalloc-8k");
        ck_assert(!id->members[0].merged);
        ck_assert_uint_eq(id->members[0].slab_size, 8192);
        n = identity_all_names(id, names, 64);
        ck_assert_uint_eq(n, 6);
        for (size_t i = 0; i < n; i++)
                ck_assert_msg(strstr(names[i], "8k") != NULL, "%s is not of the class", names[i]);
        identity_free(id);

        /* A bucket trips: the class, with the bucket first. */
        ck_assert_int_eq(identity_resolve(&c, NULL, "msg_msg-8k", &id), 0);
        ck_assert_uint_eq(id->n_members, 6);
        ck_assert_str_eq(id->members[0].slabinfo_name, "msg_msg-8k");
        ck_assert_str_eq(id->members[1].slabinfo_name, "dma-kmalloc-8k");
        identity_free(id);

        ck_assert_int_eq(identity_resolve(&c, NULL, "kmalloc-4096", &id), 0);
        ck_assert_uint_eq(id->n_members, 1);
        ck_assert_str_eq(id->members[0].slabinfo_name, "kmalloc-4k");
        identity_free(id);

        ck_assert_int_eq(identity_resolve(&c, NULL, "kmalloc_buckets", &id), 0);
        ck_assert(!id->kmalloc_class);
        identity_free(id);
}
END_TEST

/* The seed's 3.18 device with the SLAB allocator: slabinfo but no sysfs. */
START_TEST(test_no_sysfs) {
        struct config c;
        struct identity *id = NULL;
        size_t len;
        char *slabinfo = testutil_read_fixture("seed-3.18-mips/slabinfo", &len);

        testutil_rmtree(root);
        mkdir(root, 0700);
        testutil_write_file(root, "proc/slabinfo", slabinfo, len);
        free(slabinfo);
        config_for_root(&c);

        ck_assert_int_eq(identity_resolve(&c, NULL, "kmalloc-8192", &id), 0);
        ck_assert(id->kmalloc_class);
        /* kmalloc-8192 and dma-kmalloc-8192. */
        ck_assert_uint_eq(id->n_members, 2);
        ck_assert_str_eq(id->members[0].slabinfo_name, "kmalloc-8192");
        ck_assert_str_eq(id->members[0].sysfs_dir, "");
        ck_assert(identity_exists(&c, id));
        identity_free(id);

        ck_assert_int_eq(identity_resolve(&c, NULL, "TCP", &id), 0);
        ck_assert_uint_eq(id->n_members, 1);
        ck_assert_str_eq(id->members[0].slabinfo_name, "TCP");
        ck_assert(id->members[0].slabinfo_known);
        identity_free(id);
}
END_TEST

START_TEST(test_exists) {
        struct config c;
        struct identity *id = NULL;
        char path[4096];

        config_for_root(&c);
        ck_assert_int_eq(identity_resolve(&c, NULL, "UNIX", &id), 0);
        ck_assert(identity_exists(&c, id));
        /* The module that owned the cache is unloaded. */
        snprintf(path, sizeof path, "%s/sys/kernel/slab/:A-0001152", root);
        testutil_rmtree(path);
        ck_assert(!identity_exists(&c, id));
        identity_free(id);
        identity_free(NULL);
}
END_TEST

START_TEST(test_slabinfo_given) {
        struct config c;
        struct identity *id = NULL;
        struct slabinfo si = {};
        static const char other[] =
                "slabinfo - version: 2.1\n"
                "UNIX-STREAM           10     10   1152   14    4 : tunables    0    0    0 : slabdata      1      1      0\n";

        config_for_root(&c);
        ck_assert_int_eq(slabinfo_parse(other, strlen(other), &si), 0);
        ck_assert_int_eq(identity_resolve(&c, &si, "UNIX", &id), 0);
        ck_assert_str_eq(id->members[0].slabinfo_name, "UNIX-STREAM");
        identity_free(id);
        slabinfo_done(&si);
}
END_TEST

START_TEST(test_limits) {
        struct config c;
        struct identity *id = (struct identity *) 0x1;
        char longname[512];

        config_for_root(&c);
        ck_assert_int_eq(identity_resolve(&c, NULL, "nonexistent", &id), -ENOENT);
        ck_assert_int_eq(identity_resolve(&c, NULL, "kmalloc-1M", &id), -ENOENT);
        ck_assert_int_eq(identity_resolve(&c, NULL, "", &id), -EINVAL);
        ck_assert_int_eq(identity_resolve(&c, NULL, "../../etc", &id), -EINVAL);
        ck_assert_int_eq(identity_resolve(&c, NULL, ".", &id), -EINVAL);
        ck_assert_int_eq(identity_resolve(&c, NULL, NULL, &id), -EINVAL);
        memset(longname, 'a', sizeof longname - 1);
        longname[sizeof longname - 1] = '\0';
        ck_assert_int_eq(identity_resolve(&c, NULL, longname, &id), -EINVAL);
        ck_assert_ptr_eq(id, (struct identity *) 0x1);

        /* Garbage slabinfo and a dangling symlink: still resolves by sysfs. */
        put("proc/slabinfo", "\xff\xfe\x01garbage\n");
        link_rel(":gone", "sys/kernel/slab/dangling");
        ck_assert_int_eq(identity_resolve(&c, NULL, "UNIX", &id), 0);
        ck_assert(!id->members[0].slabinfo_known);
        ck_assert_str_eq(id->members[0].slabinfo_name, "UNIX");
        identity_free(id);
        ck_assert_int_eq(identity_resolve(&c, NULL, "dangling", &id), 0);
        ck_assert_uint_eq(id->members[0].object_size, 0);
        identity_free(id);
}
END_TEST

/* On a real kernel: a merged alias resolves to a name /proc/slabinfo shows. */
START_TEST(test_real_kernel) {
        struct config c;
        struct identity *id = NULL;
        struct stat st;

        config_defaults(&c);
        if (lstat("/sys/kernel/slab/UNIX", &st) < 0 || !S_ISLNK(st.st_mode) || access("/proc/slabinfo", R_OK) < 0) {
                fprintf(stderr, "test_real_kernel: no merged UNIX cache or /proc/slabinfo unreadable, not checked\n");
                return;
        }
        ck_assert_int_eq(identity_resolve(&c, NULL, "UNIX", &id), 0);
        ck_assert(id->members[0].merged);
        ck_assert(id->members[0].slabinfo_known);
        ck_assert(id->members[0].n_aliases >= 2);
        identity_free(id);
}
END_TEST

static Suite *identity_suite(void) {
        Suite *s = suite_create("identity");
        TCase *tc = tcase_create("core");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_merged_alias);
        tcase_add_test(tc, test_kmalloc_class);
        tcase_add_test(tc, test_no_sysfs);
        tcase_add_test(tc, test_exists);
        tcase_add_test(tc, test_slabinfo_given);
        tcase_add_test(tc, test_real_kernel);
        suite_add_tcase(s, tc);

        tc = tcase_create("limits");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_limits);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(identity_suite());
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
