/* bulkrec: the definitions of the kmem_cache_free_bulk kprobe slices, and
 * their records decoded into the pointers freed, fed through tracerec to a
 * pairing as frees. The format is the one the kernel writes for a kprobe
 * event with these arguments (x86_64). */
#include <check.h>
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stacks/bulkrec.h"
#include "stacks/pairing.h"
#include "stacks/ringbuf.h"
#include "stacks/tracerec.h"
#include "testutil.h"

static const struct bulkrec_regs x86 = { "%di", "%si", "%dx" };

/* The format a kprobe event of slice @id's arguments shows: common fields,
 * __probe_ip, s, n, p0..p125, 8 bytes each. @skip omits that pointer. */
static void kprobe_format(struct tracefmt_event *e, uint32_t id, int skip) {
        size_t size = 64 * 1024, off = 0;
        char *text = malloc(size);
        ck_assert_ptr_nonnull(text);
        off += (size_t) snprintf(text + off, size - off,
                                 "name: sw_kmalloc_256_0\nID: %u\nformat:\n"
                                 "\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n"
                                 "\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;\n"
                                 "\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;\n"
                                 "\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n\n"
                                 "\tfield:unsigned long __probe_ip;\toffset:8;\tsize:8;\tsigned:0;\n"
                                 "\tfield:u64 s;\toffset:16;\tsize:8;\tsigned:0;\n"
                                 "\tfield:u64 n;\toffset:24;\tsize:8;\tsigned:0;\n",
                                 id);
        for (int i = 0; i < BULKREC_PTRS_PER_EVENT; i++)
                if (i != skip)
                        off += (size_t) snprintf(text + off, size - off,
                                                 "\tfield:u64 p%d;\toffset:%d;\tsize:8;\tsigned:0;\n", i, 32 + 8 * i);
        off += (size_t) snprintf(text + off, size - off, "\nprint fmt: \"(%%lx) s=0x%%Lx n=%%Lu\", REC->__probe_ip\n");
        ck_assert_int_eq(tracefmt_parse(text, off, e), 0);
        free(text);
}

#define REC_LEN (32 + 8 * BULKREC_PTRS_PER_EVENT)

/* A record of slice type @type freeing @n pointers base+0x100*i from entry @first. */
static void kprobe_record(uint8_t *rec, uint16_t type, int32_t pid, uint64_t n, uint64_t first, uint64_t base) {
        memset(rec, 0, REC_LEN);
        memcpy(rec, &type, 2);
        memcpy(rec + 4, &pid, 4);
        uint64_t ip = 0xffffffff81234560ULL;
        memcpy(rec + 8, &ip, 8);
        memcpy(rec + 24, &n, 8);
        for (uint64_t i = 0; i < BULKREC_PTRS_PER_EVENT; i++) {
                /* Entries past the call's size are stale: never taken. */
                uint64_t p = first + i < n ? base + 0x100 * (first + i) : 0xdead0000 + i;
                memcpy(rec + 32 + 8 * i, &p, 8);
        }
}

START_TEST(test_definition) {
        char *buf = malloc(BULKREC_DEFINITION_MAX);
        ck_assert_ptr_nonnull(buf);
        ck_assert_int_eq(bulkrec_definition(buf, BULKREC_DEFINITION_MAX, "sw_kmalloc_256_0", 0, &x86, 8), 0);
        ck_assert_msg(strncmp(buf,
                              "p:slabwatch/sw_kmalloc_256_0 kmem_cache_free_bulk s=%di:x64 n=%si:u64 "
                              "p0=+0(%dx):x64 p1=+8(%dx):x64 ",
                              96) == 0,
                      "%s", buf);
        ck_assert_ptr_nonnull(strstr(buf, " p125=+1000(%dx):x64"));
        ck_assert_ptr_null(strstr(buf, " p126="));
        ck_assert_int_eq(bulkrec_definition(buf, BULKREC_DEFINITION_MAX, "sw_x_1", 1, &x86, 8), 0);
        ck_assert_ptr_nonnull(strstr(buf, " p0=+1008(%dx):x64 "));
        /* 32-bit MIPS: r4-r6, 4-byte entries; the last slice still fits. */
        const struct bulkrec_regs mips = { "%r4", "%r5", "%r6" };
        ck_assert_int_eq(bulkrec_definition(buf, BULKREC_DEFINITION_MAX, "sw_x_8", 8, &mips, 4), 0);
        ck_assert_ptr_nonnull(strstr(buf, "s=%r4:x32 n=%r5:u32 p0=+4032(%r6):x32 "));
        ck_assert_uint_lt(strlen(buf), BULKREC_DEFINITION_MAX);
        /* 128 arguments, the kernel's limit. */
        size_t args = 0;
        for (const char *p = buf; (p = strchr(p, '=')); p++)
                args++;
        ck_assert_uint_eq(args, 128);

        ck_assert_int_eq(bulkrec_definition(buf, BULKREC_DEFINITION_MAX, "sw-x", 0, &x86, 8), -EINVAL);
        ck_assert_int_eq(bulkrec_definition(buf, BULKREC_DEFINITION_MAX, "0x", 0, &x86, 8), -EINVAL);
        ck_assert_int_eq(bulkrec_definition(buf, BULKREC_DEFINITION_MAX, "sw_x", BULKREC_EVENTS_MAX, &x86, 8),
                         -EINVAL);
        ck_assert_int_eq(bulkrec_definition(buf, BULKREC_DEFINITION_MAX, "sw_x", 0, &x86, 2), -EINVAL);
        ck_assert_int_eq(bulkrec_definition(buf, BULKREC_DEFINITION_MAX, "sw_x", 0,
                                            &(struct bulkrec_regs) { "%di", "%si", "(x)" }, 8),
                         -EINVAL);
        ck_assert_int_eq(bulkrec_definition(buf, 100, "sw_x", 0, &x86, 8), -ENAMETOOLONG);
        free(buf);

        /* kfree_rcu's page: 510 pointers on 64-bit, 1022 on 32-bit. */
        ck_assert_uint_eq(bulkrec_slices_for(510), 5);
        ck_assert_uint_eq(bulkrec_slices_for(1022), 9);
        ck_assert_uint_eq(bulkrec_slices_for(0), 1);
        ck_assert_uint_eq(bulkrec_slices_for(126), 1);
        ck_assert_uint_eq(bulkrec_slices_for(100000), BULKREC_EVENTS_MAX);
}
END_TEST

START_TEST(test_decode) {
        static struct tracefmt_event e;
        static struct bulkrec_layout l;
        uint8_t rec[REC_LEN];
        uint64_t ptrs[BULKREC_PTRS_PER_EVENT], uncovered = 99;

        memset(&l, 0, sizeof l);
        kprobe_format(&e, 2001, -1);
        ck_assert_int_eq(bulkrec_layout_add(&l, 1, &e), -EINVAL); /* in order */
        ck_assert_int_eq(bulkrec_layout_add(&l, 0, &e), 0);
        kprobe_format(&e, 2002, -1);
        ck_assert_int_eq(bulkrec_layout_add(&l, 1, &e), 0);
        ck_assert_int_eq(bulkrec_slice_of(&l, 2002), 1);
        ck_assert_int_eq(bulkrec_slice_of(&l, 2003), -1);

        /* Three pointers: slice 0 takes them, slice 1 has none. */
        kprobe_record(rec, 2001, 7, 3, 0, 0xffff888100000000ULL);
        ck_assert_int_eq(bulkrec_decode(&l, 0, rec, sizeof rec, ptrs, &uncovered), 3);
        ck_assert_uint_eq(uncovered, 0);
        ck_assert_uint_eq(ptrs[0], 0xffff888100000000ULL);
        ck_assert_uint_eq(ptrs[2], 0xffff888100000200ULL);
        ck_assert_uint_eq(bulkrec_ip(&l, 0, rec, sizeof rec), 0xffffffff81234560ULL);
        kprobe_record(rec, 2002, 7, 3, 126, 0);
        ck_assert_int_eq(bulkrec_decode(&l, 1, rec, sizeof rec, ptrs, &uncovered), 0);

        /* 300 pointers over two slices of 126: 48 are past them, exactly. */
        kprobe_record(rec, 2001, 7, 300, 0, 0x1000000);
        ck_assert_int_eq(bulkrec_decode(&l, 0, rec, sizeof rec, ptrs, &uncovered), BULKREC_PTRS_PER_EVENT);
        ck_assert_uint_eq(uncovered, 300 - 2 * BULKREC_PTRS_PER_EVENT);
        kprobe_record(rec, 2002, 7, 300, 126, 0x1000000);
        ck_assert_int_eq(bulkrec_decode(&l, 1, rec, sizeof rec, ptrs, &uncovered), BULKREC_PTRS_PER_EVENT);
        ck_assert_uint_eq(uncovered, 0); /* counted once, on slice 0 */
        ck_assert_uint_eq(ptrs[0], 0x1000000 + 0x100 * 126);

        /* 130: slice 1 takes the 4 past the first 126, not its stale rest. */
        kprobe_record(rec, 2002, 7, 130, 126, 0x2000000);
        ck_assert_int_eq(bulkrec_decode(&l, 1, rec, sizeof rec, ptrs, &uncovered), 4);
        ck_assert_uint_eq(ptrs[3], 0x2000000 + 0x100 * 129);

        /* A short record; a format without p7; slices out of range. */
        ck_assert_int_eq(bulkrec_decode(&l, 0, rec, REC_LEN - 1, ptrs, &uncovered), -EBADMSG);
        ck_assert_int_eq(bulkrec_decode(&l, 2, rec, sizeof rec, ptrs, &uncovered), -EINVAL);
        kprobe_format(&e, 2003, 7);
        ck_assert_int_eq(bulkrec_layout_add(&l, 2, &e), -EOPNOTSUPP);
        ck_assert_uint_eq(l.n_slices, 2);
}
END_TEST

static int to_pairing(const struct tracerec_event *e, void *userdata) {
        return tracerec_emit_to_pairing(e, userdata);
}

/* Through tracerec: a kmalloc with its stack, then kfree_rcu's batch frees
 * it (and a pointer of someone else's) with no kfree; the probe's own
 * stack record is not taken for a waiting event's. */
START_TEST(test_tracerec_bulk_frees) {
        size_t len;
        struct tracefmt_page page;
        static struct tracefmt_event ks, km, kf, bulk;
        static struct tracerec_layout l;
        char *text = testutil_read_fixture("linux-6.18-x86_64/ringbuf/format/header_page", &len);
        ck_assert_int_eq(tracefmt_parse_header_page(text, len, &page), 0);
        free(text);
        const char *names[] = { "kernel_stack", "kmalloc", "kfree" };
        struct tracefmt_event *fmts[] = { &ks, &km, &kf };
        for (size_t i = 0; i < 3; i++) {
                char rel[128];
                snprintf(rel, sizeof rel, "linux-6.18-x86_64/ringbuf/format/%s", names[i]);
                text = testutil_read_fixture(rel, &len);
                ck_assert_int_eq(tracefmt_parse(text, len, fmts[i]), 0);
                free(text);
        }
        ck_assert_int_eq(tracerec_layout_init(&l, &page, &ks), 0);
        ck_assert_int_eq(tracerec_layout_use(&l, TRACEREC_KMALLOC, &km), 0);
        ck_assert_int_eq(tracerec_layout_use(&l, TRACEREC_KFREE, &kf), 0);
        kprobe_format(&bulk, 3001, -1);
        ck_assert_int_eq(bulkrec_layout_add(&l.bulk, 0, &bulk), 0);

        struct pairing *p = NULL;
        struct tracerec *t = NULL;
        ck_assert_int_eq(pairing_new(&(struct pairing_options) { .frees_unfiltered = true,
                                                                .reorder_window_ns = PAIRING_WINDOW_NONE },
                                     &p),
                         0);
        ck_assert_int_eq(tracerec_new(&l, 1, 0, to_pairing, p, &t), 0);

        uint8_t rec[REC_LEN], stack[128];
        int32_t pid = 42;
        /* kmalloc of 0x1000 and 0x1100, then their stacks. */
        for (uint64_t ptr = 0x1000; ptr <= 0x1100; ptr += 0x100) {
                memset(rec, 0, sizeof rec);
                uint16_t type = (uint16_t) km.id;
                memcpy(rec, &type, 2);
                memcpy(rec + 4, &pid, 4);
                memcpy(rec + l.events[TRACEREC_KMALLOC].ptr.offset, &ptr, 8);
                tracerec_record(t, 0, 100 + ptr, rec, 64);
                memset(stack, 0, sizeof stack);
                type = (uint16_t) ks.id;
                memcpy(stack, &type, 2);
                memcpy(stack + 4, &pid, 4);
                uint32_t n = 2;
                memcpy(stack + l.stack_size.offset, &n, 4);
                uint64_t frames[2] = { 0xffffffff81000010ULL, 0xffffffff81000020ULL };
                memcpy(stack + l.stack_caller.offset, frames, sizeof frames);
                tracerec_record(t, 0, 101 + ptr, stack, sizeof stack);
        }
        /* A kmalloc whose stack has not come yet, then the batch (a worker:
         * pid 0), then the probe's own stack. */
        uint64_t waiting = 0x9000;
        memset(rec, 0, sizeof rec);
        memcpy(rec, &(uint16_t) { (uint16_t) km.id }, 2);
        memcpy(rec + l.events[TRACEREC_KMALLOC].ptr.offset, &waiting, 8);
        tracerec_record(t, 0, 5000, rec, 64);
        kprobe_record(rec, 3001, 0, 2, 0, 0x1000); /* 0x1000 and 0x1100 */
        tracerec_record(t, 0, 6000, rec, sizeof rec);
        memset(stack, 0, sizeof stack);
        memcpy(stack, &(uint16_t) { (uint16_t) ks.id }, 2);
        tracerec_record(t, 0, 6001, stack, sizeof stack);
        /* Someone else's batch: foreign. */
        kprobe_record(rec, 3001, 0, 1, 0, 0x7000);
        tracerec_record(t, 0, 7000, rec, sizeof rec);
        tracerec_flush(t);

        struct tracerec_stats st;
        tracerec_get_stats(t, &st);
        ck_assert_uint_eq(st.bulk_calls, 2);
        ck_assert_uint_eq(st.bulk_frees, 3);
        ck_assert_uint_eq(st.bulk_uncovered, 0);
        ck_assert_uint_eq(st.stacks_orphaned, 0);
        ck_assert_uint_eq(st.allocs, 3);
        /* The waiting kmalloc did not get the probe's (empty) stack. */
        ck_assert_uint_eq(st.stacks_missing, 1);

        struct pairing_result *r = NULL;
        ck_assert_int_eq(pairing_finish(p, 0, NULL, NULL, &r), 0);
        ck_assert_uint_eq(r->matched_frees, 2);
        ck_assert_uint_eq(r->foreign_frees, 1);
        ck_assert_uint_eq(r->reallocs_unfreed, 0);
        ck_assert_uint_eq(r->outstanding, 1); /* the waiting one */
        /* The free site is the probed function. */
        ck_assert_uint_ge(r->n_free_sites, 1);
        ck_assert_uint_eq(r->free_sites[0].n_frames, 1);
        ck_assert_str_eq(r->free_sites[0].frames[0], "0xffffffff81234560");
        pairing_result_free(r);
        tracerec_free(t);
        pairing_free(p);
}
END_TEST

/* Pages recorded on Debian's 6.1 kernel (fixtures/linux-6.1-x86_64/bulkfree):
 * kmalloc-256's kmallocs and kfrees and slice 0 of the kprobe on
 * kmem_cache_free_bulk while timerfds churn. Their contexts die through
 * kfree_rcu: the kprobe records free them, not kfree. */
#define REC_DIR "linux-6.1-x86_64/bulkfree/"

static void load61(const char *name, struct tracefmt_event *e) {
        char rel[128];
        size_t len;
        snprintf(rel, sizeof rel, REC_DIR "format/%s", name);
        char *text = testutil_read_fixture(rel, &len);
        ck_assert_int_eq(tracefmt_parse(text, len, e), 0);
        free(text);
}

struct sums {
        uint64_t n_sum;         /* sizes of the calls, from slice 0 */
        uint64_t calls;
        const struct bulkrec_layout *l;
};

static int count_sizes(const struct ringbuf_record *r, void *userdata) {
        struct sums *s = userdata;
        uint16_t type;
        if (r->len < 32)
                return 0;
        memcpy(&type, r->data, 2);
        if (bulkrec_slice_of(s->l, type) == 0) {
                uint64_t n;
                memcpy(&n, (const uint8_t *) r->data + s->l->slices[0].size_off, 8);
                s->n_sum += n;
                s->calls++;
        }
        return 0;
}

START_TEST(test_recorded_61) {
        size_t len;
        struct tracefmt_page page;
        static struct tracefmt_event ks, km, kf, bulk;
        static struct tracerec_layout l;
        char *text = testutil_read_fixture(REC_DIR "format/header_page", &len);
        ck_assert_int_eq(tracefmt_parse_header_page(text, len, &page), 0);
        free(text);
        /* No stacks were recorded; ftrace's kernel_stack is the same event
         * (id 4) on every kernel. */
        text = testutil_read_fixture("linux-6.18-x86_64/ringbuf/format/kernel_stack", &len);
        ck_assert_int_eq(tracefmt_parse(text, len, &ks), 0);
        free(text);
        load61("kmalloc", &km);
        load61("kfree", &kf);
        load61("sw_rec_0", &bulk);
        ck_assert_int_eq(tracerec_layout_init(&l, &page, &ks), 0);
        ck_assert_int_eq(tracerec_layout_use(&l, TRACEREC_KMALLOC, &km), 0);
        ck_assert_int_eq(tracerec_layout_use(&l, TRACEREC_KFREE, &kf), 0);
        ck_assert_int_eq(bulkrec_layout_add(&l.bulk, 0, &bulk), 0);
        /* The kernel's own definition matches ours, argument for argument. */
        char *def = testutil_read_fixture(REC_DIR "definition", &len);
        char *ours = malloc(BULKREC_DEFINITION_MAX);
        ck_assert_int_eq(bulkrec_definition(ours, BULKREC_DEFINITION_MAX, "sw_rec_0", 0, &x86, 8), 0);
        def[strcspn(def, "\n")] = '\0';
        ck_assert_str_eq(def, ours);
        free(def);
        free(ours);

        struct pairing *p = NULL;
        struct tracerec *t = NULL;
        ck_assert_int_eq(pairing_new(&(struct pairing_options) { .frees_unfiltered = true,
                                                                .reorder_window_ns = PAIRING_WINDOW_NONE },
                                     &p),
                         0);
        ck_assert_int_eq(tracerec_new(&l, 2, 0, to_pairing, p, &t), 0);
        struct sums sums = { .l = &l.bulk };
        for (unsigned cpu = 0; cpu < 2; cpu++) {
                char rel[64];
                snprintf(rel, sizeof rel, REC_DIR "cpu%u.raw", cpu);
                uint8_t *raw = (uint8_t *) testutil_read_fixture(rel, &len);
                ck_assert_uint_eq(len % page.page_size, 0);
                for (size_t off = 0; off < len; off += page.page_size) {
                        ck_assert_int_eq(tracerec_page(t, cpu, raw + off, page.page_size), 0);
                        struct ringbuf_page info;
                        ck_assert_int_eq(ringbuf_page_decode(&page, raw + off, page.page_size, count_sizes, &sums,
                                                             &info),
                                         0);
                }
                free(raw);
        }
        tracerec_flush(t);
        struct tracerec_stats st;
        tracerec_get_stats(t, &st);
        ck_assert_uint_eq(st.bad_pages, 0);
        ck_assert_uint_eq(st.bulk_bad, 0);
        ck_assert_uint_gt(st.bulk_calls, 0);
        ck_assert_uint_eq(st.bulk_calls, sums.calls);
        /* Every pointer of every call is either a free or, past the one
         * slice recorded, counted as not seen. */
        ck_assert_uint_eq(st.bulk_frees + st.bulk_uncovered + st.null_ptr, sums.n_sum);

        struct pairing_result *r = NULL;
        ck_assert_int_eq(pairing_finish(p, 0, NULL, NULL, &r), 0);
        fprintf(stderr, "6.1 pages: %" PRIu64 " allocs, %" PRIu64 " frees matched (%" PRIu64 " kfree), %" PRIu64
                " bulk calls freeing %" PRIu64 " (%" PRIu64 " not covered), %" PRIu64 " outstanding\n",
                r->allocs, r->matched_frees, r->frees - st.bulk_frees, st.bulk_calls, st.bulk_frees,
                st.bulk_uncovered, r->outstanding);
        /* The churn's 200 contexts, and nothing else of kmalloc-256 here. */
        ck_assert_uint_eq(r->allocs, 200);
        ck_assert_uint_eq(st.bulk_calls, 2);
        /* With one slice recorded, a batch of 200 leaves 74 pointers
         * unseen: exactly the objects still outstanding. */
        ck_assert_uint_gt(st.bulk_uncovered, 0);
        ck_assert_uint_eq(r->outstanding, st.bulk_uncovered);
        ck_assert_uint_eq(r->reallocs_unfreed, 0);
        pairing_result_free(r);
        tracerec_free(t);
        pairing_free(p);
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("bulkrec");
        TCase *tc = tcase_create("bulkrec");
        tcase_add_test(tc, test_definition);
        tcase_add_test(tc, test_decode);
        tcase_add_test(tc, test_tracerec_bulk_frees);
        tcase_add_test(tc, test_recorded_61);
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
