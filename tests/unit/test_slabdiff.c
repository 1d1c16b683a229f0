#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "caches/slabdiff.h"
#include "testutil.h"

static struct slabdiff_snapshot *load(const char *rel) {
        size_t len;
        char *buf = testutil_read_fixture(rel, &len);
        struct slabdiff_snapshot *s = calloc(1, sizeof *s);
        ck_assert_ptr_nonnull(s);
        ck_assert_int_eq(slabdiff_snapshot_parse(buf, len, s), 0);
        free(buf);
        return s;
}

static void unload(struct slabdiff_snapshot *s) {
        slabdiff_snapshot_done(s);
        free(s);
}

static const struct slabdiff_cache *row(const struct slabdiff *d, const char *name) {
        for (size_t i = 0; i < d->n_caches; i++)
                if (strcmp(d->caches[i].name, name) == 0)
                        return &d->caches[i];
        return NULL;
}

START_TEST(seed_kmalloc_8192_ranks_first) {
        struct slabdiff_snapshot *old = load("seed-3.18-mips/slabinfo");
        struct slabdiff_snapshot *new = load("slabdiff/seed-later.slabinfo");
        ck_assert(old->has_slabinfo);
        ck_assert(!old->has_meminfo);
        ck_assert_uint_eq(old->slabinfo_line, 1);
        ck_assert_uint_eq(slabdiff_guess_page_size(&old->slabinfo), 4096);
        struct slabdiff d = {};
        ck_assert_int_eq(slabdiff_compute(&old->slabinfo, &new->slabinfo, 4096, &d), 0);
        ck_assert_str_eq(d.caches[0].name, "kmalloc-8192");
        ck_assert_int_eq(d.caches[0].delta_active_objs, 1200);
        ck_assert_int_eq(d.caches[0].delta_bytes, (310 - 12) * 8 * 4096);
        ck_assert_int_eq(d.caches[0].delta_active_bytes, 1200 * 8192);
        ck_assert_uint_eq(d.caches[0].old_bytes, 12 * 8 * 4096);
        ck_assert_uint_eq(d.n_caches, 96);
        ck_assert_uint_eq(d.n_grown, 3);     /* kmalloc-8192, dentry, kmalloc-512 */
        ck_assert_uint_eq(d.n_shrunk, 1);    /* kmalloc-64 */
        ck_assert_uint_eq(d.n_appeared, 2);  /* fuse_inode, fuse_request */
        ck_assert_uint_eq(d.n_vanished, 1);  /* bsg_cmd */
        ck_assert_uint_eq(d.n_unchanged, 89);
        const struct slabdiff_cache *c = row(&d, "fuse_inode");
        ck_assert_ptr_null(c->old);
        ck_assert_ptr_nonnull(c->new);
        c = row(&d, "bsg_cmd");
        ck_assert_ptr_null(c->new);
        ck_assert_uint_eq(d.old_bytes / 1024, 42556);
        ck_assert_uint_eq(d.new_bytes / 1024, 52164);
        ck_assert_uint_eq(d.page_size, 4096);
        /* Shrinking last. */
        ck_assert_str_eq(d.caches[d.n_caches - 1].name, "kmalloc-64");
        slabdiff_done(&d);
        slabdiff_done(&d);
        slabdiff_done(NULL);
        unload(old);
        unload(new);
}
END_TEST

START_TEST(active_objects_only) {
        /* The seed engineer's view: active_objs climbs inside slabs that
         * already exist, so no byte moves; it still ranks first. */
        size_t len;
        char *buf = testutil_read_fixture("seed-3.18-mips/slabinfo", &len);
        struct slabdiff_snapshot old = {}, new = {};
        ck_assert_int_eq(slabdiff_snapshot_parse(buf, len, &old), 0);
        char *p = strstr(buf, "kmalloc-8192          36     48");
        ck_assert_ptr_nonnull(p);
        memcpy(p, "kmalloc-8192          47     48", 31);
        ck_assert_int_eq(slabdiff_snapshot_parse(buf, len, &new), 0);
        struct slabdiff d = {};
        ck_assert_int_eq(slabdiff_compute(&old.slabinfo, &new.slabinfo, 4096, &d), 0);
        ck_assert_str_eq(d.caches[0].name, "kmalloc-8192");
        ck_assert_int_eq(d.caches[0].delta_bytes, 0);
        ck_assert_int_eq(d.caches[0].delta_active_objs, 11);
        ck_assert_uint_eq(d.n_grown, 1);
        slabdiff_done(&d);
        slabdiff_snapshot_done(&old);
        slabdiff_snapshot_done(&new);
        free(buf);
}
END_TEST

START_TEST(combined_snapshots_and_accounting) {
        struct slabdiff_snapshot *old = load("slabdiff/seed.snapshot");
        struct slabdiff_snapshot *new = load("slabdiff/seed-later.snapshot");
        ck_assert(old->has_slabinfo);
        ck_assert(old->has_meminfo);
        ck_assert_uint_eq(old->meminfo_line, 1);
        ck_assert_uint_eq(old->slabinfo_line, 45);
        ck_assert_uint_eq(old->slabinfo.n_caches, 94);
        ck_assert_uint_eq(old->slabinfo.n_bad_lines, 0);
        ck_assert_uint_eq(old->meminfo.n_bad_lines, 0);
        struct slabdiff d = {};
        ck_assert_int_eq(slabdiff_compute(&old->slabinfo, &new->slabinfo, 4096, &d), 0);
        ck_assert_str_eq(d.caches[0].name, "kmalloc-8192");
        struct slabdiff_accounting acc;
        ck_assert_int_eq(slabdiff_accounting(&d, &old->meminfo, &new->meminfo, &acc), 0);
        ck_assert_uint_eq(acc.old_slab_kib, 42604);
        ck_assert_uint_eq(acc.new_slab_kib, 52212);
        ck_assert_uint_eq(acc.old_caches_kib, 42556);
        ck_assert_uint_eq(acc.new_caches_kib, 52164);
        ck_assert_int_eq(acc.old_unaccounted_kib, 48);
        ck_assert_int_eq(acc.new_unaccounted_kib, 48);
        ck_assert(acc.have_sunreclaim);
        ck_assert_uint_eq(acc.new_sunreclaim_kib, 34108);
        ck_assert(!acc.large_kmalloc_hint);

        /* SUnreclaim grows by 64 MiB while the caches stay: large kmallocs. */
        new->meminfo.value[MEMINFO_SLAB] += 65536;
        new->meminfo.value[MEMINFO_SUNRECLAIM] += 65536;
        ck_assert_int_eq(slabdiff_compute(&old->slabinfo, &old->slabinfo, 4096, &d), 0);
        ck_assert_int_eq(slabdiff_accounting(&d, &old->meminfo, &new->meminfo, &acc), 0);
        ck_assert(acc.large_kmalloc_hint);
        ck_assert_uint_eq(d.n_unchanged, 94);

        /* No Slab key: nothing to check against. */
        new->meminfo.known &= ~(1u << MEMINFO_SLAB);
        ck_assert_int_eq(slabdiff_accounting(&d, &old->meminfo, &new->meminfo, &acc), -ENODATA);
        slabdiff_done(&d);
        unload(old);
        unload(new);
}
END_TEST

START_TEST(meminfo_only_and_order) {
        struct slabdiff_snapshot *s = load("seed-3.18-mips/meminfo");
        ck_assert(!s->has_slabinfo);
        ck_assert(s->has_meminfo);
        uint64_t v;
        ck_assert(meminfo_get(&s->meminfo, MEMINFO_SLAB, &v));
        ck_assert_uint_eq(v, 42604);
        unload(s);

        /* `cat /proc/slabinfo /proc/meminfo` works as well as the other order. */
        size_t l1, l2;
        char *a = testutil_read_fixture("seed-3.18-mips/slabinfo", &l1);
        char *b = testutil_read_fixture("seed-3.18-mips/meminfo", &l2);
        char *both = malloc(l1 + l2 + 1);
        memcpy(both, a, l1);
        both[l1] = '\n';
        memcpy(both + l1 + 1, b, l2);
        struct slabdiff_snapshot t = {};
        ck_assert_int_eq(slabdiff_snapshot_parse(both, l1 + 1 + l2, &t), 0);
        ck_assert(t.has_slabinfo && t.has_meminfo);
        ck_assert_uint_eq(t.slabinfo.n_caches, 94);
        ck_assert_uint_eq(t.slabinfo.n_bad_lines, 0);
        ck_assert_uint_eq(t.meminfo.n_entries, 44);
        slabdiff_snapshot_done(&t);
        free(both);
        free(a);
        free(b);
}
END_TEST

START_TEST(page_size_guess) {
        struct slabdiff_snapshot *s = load("linux-6.18-x86_64/slabinfo");
        ck_assert_uint_eq(slabdiff_guess_page_size(&s->slabinfo), 4096);
        /* A 16 KiB-page device packs four times the objects per page. */
        for (size_t i = 0; i < s->slabinfo.n_caches; i++)
                s->slabinfo.caches[i].objperslab *= 4;
        ck_assert_uint_eq(slabdiff_guess_page_size(&s->slabinfo), 16384);
        unload(s);
        struct slabinfo empty = {};
        ck_assert_uint_eq(slabdiff_guess_page_size(&empty), 0);
}
END_TEST

/* ---- limits ---- */

START_TEST(limits_not_a_snapshot) {
        struct slabdiff_snapshot s = {};
        ck_assert_int_eq(slabdiff_snapshot_parse("", 0, &s), -EINVAL);
        size_t len;
        char *buf = testutil_read_fixture("synthetic/garbage.bin", &len);
        ck_assert_int_eq(slabdiff_snapshot_parse(buf, len, &s), -EINVAL);
        free(buf);
        buf = testutil_read_fixture("seed-3.18-mips/call_traces.txt", &len);
        ck_assert_int_eq(slabdiff_snapshot_parse(buf, len, &s), -EINVAL);
        free(buf);
        /* Truncated slabinfo: what is there counts, the cut line is bad. */
        buf = testutil_read_fixture("seed-3.18-mips/slabinfo", &len);
        ck_assert_int_eq(slabdiff_snapshot_parse(buf, len / 2, &s), 0);
        ck_assert(s.has_slabinfo);
        ck_assert_uint_gt(s.slabinfo.n_caches, 30);
        ck_assert_uint_le(s.slabinfo.n_bad_lines, 1);
        slabdiff_snapshot_done(&s);
        free(buf);

        struct slabinfo a = {};
        struct slabdiff d = {};
        ck_assert_int_eq(slabdiff_compute(&a, &a, 0, &d), -EINVAL);
        ck_assert_int_eq(slabdiff_compute(&a, &a, 4096, &d), 0);
        ck_assert_uint_eq(d.n_caches, 0);
        slabdiff_done(&d);
}
END_TEST

START_TEST(limits_huge_numbers) {
        static const char old_text[] = "slabinfo - version: 2.1\n"
                "big 18446744073709551615 18446744073709551615 4294967295 1 1 : tunables 0 0 0 : slabdata "
                "18446744073709551615 18446744073709551615 0\n"
                "dup 1 1 8 512 1 : tunables 0 0 0 : slabdata 1 1 0\n"
                "dup 2 2 8 512 1 : tunables 0 0 0 : slabdata 1 1 0\n";
        static const char new_text[] = "slabinfo - version: 2.1\n"
                "big 0 0 4294967295 1 1 : tunables 0 0 0 : slabdata 0 0 0\n";
        struct slabdiff_snapshot o = {}, n = {};
        ck_assert_int_eq(slabdiff_snapshot_parse(old_text, sizeof old_text - 1, &o), 0);
        ck_assert_int_eq(slabdiff_snapshot_parse(new_text, sizeof new_text - 1, &n), 0);
        struct slabdiff d = {};
        ck_assert_int_eq(slabdiff_compute(&o.slabinfo, &n.slabinfo, 65536, &d), 0);
        ck_assert_uint_eq(d.n_caches, 3);
        ck_assert_uint_eq(d.n_vanished, 2);
        const struct slabdiff_cache *c = row(&d, "big");
        ck_assert_int_lt(c->delta_active_objs, 0);
        ck_assert_uint_eq(slabdiff_guess_page_size(&o.slabinfo), 0); /* 4 GiB per page: not a page size */
        slabdiff_done(&d);
        slabdiff_snapshot_done(&o);
        slabdiff_snapshot_done(&n);
}
END_TEST

START_TEST(pastes_headerless_grep) {
        struct slabdiff_snapshot *old = load("slabdiff-pastes/grep-kmalloc-before.txt");
        struct slabdiff_snapshot *new = load("slabdiff-pastes/grep-kmalloc-after.txt");
        ck_assert(old->has_slabinfo);
        ck_assert(old->slabinfo_headerless);
        ck_assert_uint_eq(old->slabinfo.n_caches, 26);
        ck_assert_uint_eq(old->slabinfo.n_bad_lines, 0);
        struct slabdiff d = {};
        ck_assert_int_eq(slabdiff_compute(&old->slabinfo, &new->slabinfo, 4096, &d), 0);
        ck_assert_str_eq(d.caches[0].name, "kmalloc-8192");
        ck_assert_int_eq(d.caches[0].delta_active_objs, 1200);
        struct slabdiff_mismatch m;
        ck_assert_int_eq(slabdiff_mismatch(old, new, NULL, NULL, &d, &m), 0);
        slabdiff_done(&d);
        unload(old);
        unload(new);
}
END_TEST

START_TEST(pastes_vendor_columns) {
        struct slabdiff_snapshot *s = load("slabdiff-pastes/vendor-columns-after.slabinfo");
        ck_assert_uint_eq(s->slabinfo.n_bad_lines, 0);
        const struct slabinfo_cache *c = slabinfo_find(&s->slabinfo, "kmalloc-8192");
        ck_assert_ptr_nonnull(c);
        ck_assert_uint_eq(c->active_objs, 1236);
        unload(s);
        /* Still a line: a section must start with ':' */
        static const char bad[] = "slabinfo - version: 2.1\n"
                                  "a 1 1 8 1 1 : tunables 0 0 0 : slabdata 1 1 0 junk\n";
        struct slabdiff_snapshot t = {};
        ck_assert_int_eq(slabdiff_snapshot_parse(bad, sizeof bad - 1, &t), 0);
        ck_assert_uint_eq(t.slabinfo.n_caches, 0);
        ck_assert_uint_eq(t.slabinfo.n_bad_lines, 1);
        slabdiff_snapshot_done(&t);
}
END_TEST

START_TEST(pastes_slabinfo_1_1) {
        struct slabdiff_snapshot *old = load("slabdiff-pastes/slabinfo-1.1-before.txt");
        struct slabdiff_snapshot *new = load("slabdiff-pastes/slabinfo-1.1-after.txt");
        ck_assert_uint_eq(old->slabinfo.version_major, 1);
        ck_assert_uint_eq(old->slabinfo.n_caches, 12);
        ck_assert_uint_eq(old->slabinfo.n_bad_lines, 0);
        const struct slabinfo_cache *c = slabinfo_find(&new->slabinfo, "size-8192");
        ck_assert_ptr_nonnull(c);
        ck_assert_uint_eq(c->active_objs, 512);
        ck_assert_uint_eq(c->pagesperslab, 2);
        ck_assert_uint_eq(c->objperslab, 1);
        ck_assert_uint_eq(c->limit, 0);
        c = slabinfo_find(&new->slabinfo, "inode_cache");
        ck_assert_uint_eq(c->limit, 124);
        ck_assert_uint_eq(c->batchcount, 62);
        struct slabdiff d = {};
        ck_assert_int_eq(slabdiff_compute(&old->slabinfo, &new->slabinfo, 4096, &d), 0);
        ck_assert_str_eq(d.caches[0].name, "size-8192");
        ck_assert_int_eq(d.caches[0].delta_bytes, 508 * 2 * 4096);
        slabdiff_done(&d);
        unload(old);
        unload(new);
}
END_TEST

START_TEST(pastes_other_machine_and_all_rejected) {
        struct slabdiff_snapshot *old = load("slabdiff/seed.snapshot");
        struct slabdiff_snapshot *new = load("slabdiff-pastes/other-machine.snapshot");
        struct slabdiff d = {};
        ck_assert_int_eq(slabdiff_compute(&old->slabinfo, &new->slabinfo, 4096, &d), 0);
        struct slabdiff_mismatch m;
        ck_assert_int_eq(slabdiff_mismatch(old, new, &old->meminfo, &new->meminfo, &d, &m), 2);
        ck_assert(m.mem_total);
        ck_assert_uint_ne(m.old_mem_total_kib, m.new_mem_total_kib);
        ck_assert(m.caches);
        ck_assert(!m.version);
        /* The same machine later is no mismatch. */
        struct slabdiff_snapshot *later = load("slabdiff/seed-later.snapshot");
        struct slabdiff d2 = {};
        ck_assert_int_eq(slabdiff_compute(&old->slabinfo, &later->slabinfo, 4096, &d2), 0);
        ck_assert_int_eq(slabdiff_mismatch(old, later, &old->meminfo, &later->meminfo, &d2, &m), 0);
        slabdiff_done(&d);
        slabdiff_done(&d2);
        unload(old);
        unload(new);
        unload(later);

        struct slabdiff_snapshot *bad = load("slabdiff-pastes/all-rejected.slabinfo");
        ck_assert(bad->has_slabinfo);
        ck_assert_uint_eq(bad->slabinfo.n_caches, 0);
        ck_assert_uint_eq(bad->slabinfo.n_bad_lines, 2);
        unload(bad);
}
END_TEST

static Suite *slabdiff_suite(void) {
        Suite *s = suite_create("slabdiff");
        TCase *tc = tcase_create("diff");
        tcase_add_test(tc, seed_kmalloc_8192_ranks_first);
        tcase_add_test(tc, active_objects_only);
        tcase_add_test(tc, combined_snapshots_and_accounting);
        tcase_add_test(tc, meminfo_only_and_order);
        tcase_add_test(tc, page_size_guess);
        tcase_add_test(tc, pastes_headerless_grep);
        tcase_add_test(tc, pastes_vendor_columns);
        tcase_add_test(tc, pastes_slabinfo_1_1);
        tcase_add_test(tc, pastes_other_machine_and_all_rejected);
        suite_add_tcase(s, tc);
        tc = tcase_create("limits");
        tcase_add_test(tc, limits_not_a_snapshot);
        tcase_add_test(tc, limits_huge_numbers);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(slabdiff_suite());
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
