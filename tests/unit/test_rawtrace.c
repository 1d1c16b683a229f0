/* raw.trace: the recorded pages of a 6.18 kernel (fixtures/linux-6.18-x86_64/
 * ringbuf-allocstacks) written out and replayed pair exactly as the pages
 * fed straight to tracerec and the pairing; the cap says it cut; files cut
 * short, lying or hostile are refused with a reason, never read past. */
#include <check.h>
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stacks/frames.h"
#include "stacks/pairing.h"
#include "stacks/rawtrace.h"
#include "stacks/tracefmt.h"
#include "stacks/tracerec.h"
#include "testutil.h"

#define DIR "linux-6.18-x86_64/ringbuf-allocstacks/"
#define SYMS_MAX 256
#define PAGE 4096

struct sym {
        uint64_t addr;
        char name[128];
};

static struct sym syms[SYMS_MAX];
static size_t n_syms;

static char *fixture(const char *name, size_t *len) {
        char rel[256];
        snprintf(rel, sizeof rel, DIR "%s", name);
        return testutil_read_fixture(rel, len);
}

static void load_syms(void) {
        size_t len;
        char *text = fixture("kallsyms", &len);
        n_syms = 0;
        for (char *line = strtok(text, "\n"); line && n_syms < SYMS_MAX; line = strtok(NULL, "\n")) {
                char type;
                if (sscanf(line, "%" SCNx64 " %c %127s", &syms[n_syms].addr, &type, syms[n_syms].name) == 3)
                        n_syms++;
        }
        free(text);
        ck_assert_uint_gt(n_syms, 5);
}

/* As the capture names frames: "func+0xoff", tracing machinery marked. */
static int resolve(uint64_t addr, char *buf, size_t size, void *userdata) {
        (void) userdata;
        const struct sym *best = NULL;
        for (size_t i = 0; i < n_syms; i++)
                if (syms[i].addr <= addr && (!best || syms[i].addr > best->addr))
                        best = &syms[i];
        if (!best)
                return -ENOENT;
        snprintf(buf, size, "%s+0x%" PRIx64, best->name, addr - best->addr);
        return frames_classify(best->name, strlen(best->name)) == FRAMES_TRACING ? 1 : 0;
}

static void layout(struct tracerec_layout *l) {
        size_t len;
        struct tracefmt_page page;
        struct tracefmt_event ks, a, f;
        char *t = fixture("format/header_page", &len);
        ck_assert_int_eq(tracefmt_parse_header_page(t, len, &page), 0);
        free(t);
        t = fixture("format/kernel_stack", &len);
        ck_assert_int_eq(tracefmt_parse(t, len, &ks), 0);
        free(t);
        t = fixture("format/kmem_cache_alloc", &len);
        ck_assert_int_eq(tracefmt_parse(t, len, &a), 0);
        free(t);
        t = fixture("format/kmem_cache_free", &len);
        ck_assert_int_eq(tracefmt_parse(t, len, &f), 0);
        free(t);
        ck_assert_int_eq(tracerec_layout_init(l, &page, &ks), 0);
        ck_assert_int_eq(tracerec_layout_use(l, TRACEREC_KMEM_CACHE_ALLOC, &a), 0);
        ck_assert_int_eq(tracerec_layout_use(l, TRACEREC_KMEM_CACHE_FREE, &f), 0);
        l->events[TRACEREC_KMEM_CACHE_FREE].stackless = true;
}

static const struct rawtrace_meta meta = {
        .cache = "filp",
        .kernel = "6.18.44-fc-v1045",
        .stacks_allocs_only = true,
        .mono_clock = true,
        .max_events = 1000000,
        .end_ns = 0,
};

/* Pages in the order a capture reads them: CPU 0's, then CPU 1's. */
static void pages_of(unsigned cpu, uint8_t **ret, size_t *ret_len) {
        char name[32];
        snprintf(name, sizeof name, "cpu%u.raw", cpu);
        *ret = (uint8_t *) fixture(name, ret_len);
        ck_assert_uint_eq(*ret_len % PAGE, 0);
}

/* The file a capture of the fixture would write, keeping @max_bytes of pages. */
static uint8_t *write_file(uint64_t max_bytes, size_t *ret_len, unsigned *ret_pages) {
        struct rawtrace_writer *w = NULL;
        struct tracerec_layout l;
        static const char *const formats[] = { "header_page", "kernel_stack", "kmem_cache_alloc", "kmem_cache_free" };
        layout(&l);
        ck_assert_int_eq(rawtrace_writer_new(max_bytes, &w), 0);
        for (size_t i = 0; i < 4; i++) {
                char rel[64];
                size_t len;
                snprintf(rel, sizeof rel, "format/%s", formats[i]);
                char *t = fixture(rel, &len);
                ck_assert_int_eq(rawtrace_writer_format(w, formats[i], t, len), 0);
                free(t);
        }
        unsigned kept = 0;
        for (unsigned cpu = 0; cpu < 2; cpu++) {
                uint8_t *raw;
                size_t len;
                pages_of(cpu, &raw, &len);
                for (size_t off = 0; off < len; off += PAGE)
                        kept += rawtrace_writer_page(w, cpu, raw + off, PAGE) == 0;
                free(raw);
        }
        ck_assert_int_eq(rawtrace_writer_format(w, "late", "x", 1), -EINVAL);
        uint8_t *data = NULL;
        ck_assert_int_eq(rawtrace_writer_finish(w, &l, &meta, resolve, NULL, &data, ret_len), 0);
        rawtrace_writer_free(w);
        *ret_pages = kept;
        return data;
}

/* The same pages straight through tracerec and the pairing. */
static struct pairing_result *pair_directly(void) {
        struct tracerec_layout l;
        struct pairing *p = NULL;
        struct tracerec *t = NULL;
        struct pairing_result *res = NULL;
        layout(&l);
        ck_assert_int_eq(pairing_new(&(struct pairing_options) { .reorder_window_ns = PAIRING_WINDOW_NONE,
                                                                 .frees_stackless = true },
                                     &p),
                         0);
        ck_assert_int_eq(tracerec_new(&l, 2, meta.max_events, tracerec_emit_to_pairing, p, &t), 0);
        for (unsigned cpu = 0; cpu < 2; cpu++) {
                uint8_t *raw;
                size_t len;
                pages_of(cpu, &raw, &len);
                for (size_t off = 0; off < len; off += PAGE)
                        (void) tracerec_page(t, cpu, raw + off, PAGE);
                free(raw);
        }
        tracerec_flush(t);
        ck_assert_int_eq(pairing_finish(p, meta.end_ns, resolve, NULL, &res) >= 0, 1);
        tracerec_free(t);
        pairing_free(p);
        return res;
}

START_TEST(test_round_trip) {
        size_t len;
        unsigned pages;
        load_syms();
        uint8_t *data = write_file(0, &len, &pages);
        ck_assert(rawtrace_is(data, len));
        ck_assert_uint_eq(pages, 10);

        struct rawtrace_info info;
        struct pairing_result *got = NULL, *want = pair_directly();
        char err[256];
        ck_assert_int_eq(rawtrace_replay(data, len, &info, &got, err, sizeof err), 0);
        ck_assert_str_eq(err, "");
        ck_assert_str_eq(info.cache, "filp");
        ck_assert_str_eq(info.kernel, "6.18.44-fc-v1045");
        ck_assert(info.stacks_allocs_only);
        ck_assert(!info.truncated);
        ck_assert_uint_eq(info.pages, 10);
        ck_assert_uint_gt(info.symbols, 5);
        ck_assert_uint_eq(info.rec.allocs, 193);
        ck_assert_uint_eq(info.rec.frees, 175);
        ck_assert_uint_eq(info.rec.stacks, 193);

        ck_assert_uint_eq(got->allocs, want->allocs);
        ck_assert_uint_eq(got->frees, want->frees);
        ck_assert_uint_eq(got->outstanding, want->outstanding);
        ck_assert_uint_eq(got->matched_frees, want->matched_frees);
        ck_assert_uint_eq(got->stackless_events, 0);
        ck_assert_uint_eq(got->n_stacks, want->n_stacks);
        ck_assert_uint_gt(got->n_stacks, 1);
        for (size_t i = 0; i < got->n_stacks; i++) {
                const struct pairing_stack *g = &got->stacks[i], *w = &want->stacks[i];
                ck_assert_uint_eq(g->outstanding, w->outstanding);
                ck_assert_uint_eq(g->allocs, w->allocs);
                ck_assert_uint_eq(g->frees, w->frees);
                ck_assert_uint_eq(g->n_frames, w->n_frames);
                for (size_t j = 0; j < g->n_frames; j++)
                        ck_assert_str_eq(g->frames[j], w->frames[j]);
        }
        /* The tracepoint's own frame was named as tracing and dropped. */
        ck_assert(strncmp(got->stacks[0].frames[0], "trace_event_raw_event", 21) != 0);
        pairing_result_free(got);
        pairing_result_free(want);
        free(data);
}
END_TEST

START_TEST(test_cap) {
        size_t len;
        unsigned pages;
        load_syms();
        /* Room for three page sections. */
        uint8_t *data = write_file(3 * (16 + 8 + PAGE), &len, &pages);
        ck_assert_uint_eq(pages, 3);
        struct rawtrace_info info;
        struct pairing_result *got = NULL;
        ck_assert_int_eq(rawtrace_replay(data, len, &info, &got, NULL, 0), 0);
        ck_assert(info.truncated);
        ck_assert_uint_eq(info.pages, 3);
        ck_assert_uint_eq(info.pages_dropped, 7);
        ck_assert_uint_gt(got->allocs, 0);
        pairing_result_free(got);
        free(data);
}
END_TEST

static int replay(const uint8_t *data, size_t len, char *err, size_t size) {
        struct rawtrace_info info;
        struct pairing_result *res = NULL;
        int r = rawtrace_replay(data, len, &info, &res, err, size);
        if (r == 0)
                pairing_result_free(res);
        else
                ck_assert_ptr_null(res);
        return r;
}

static void put32(uint8_t *p, uint32_t v) {
        memcpy(p, &v, 4); /* the tests run little-endian, as the file is */
}

/* The offset of the first section of @type. */
static size_t find_section(const uint8_t *d, size_t len, uint32_t type) {
        size_t at = RAWTRACE_HEADER_BYTES;
        while (at + 16 <= len) {
                uint32_t t;
                uint64_t n;
                memcpy(&t, d + at, 4);
                memcpy(&n, d + at + 8, 8);
                if (t == type)
                        return at;
                at += 16 + ((n + 7) & ~(uint64_t) 7);
        }
        ck_abort_msg("no section %u", type);
        return 0;
}

START_TEST(test_bad_files) {
        size_t len;
        unsigned pages;
        char err[256];
        load_syms();
        uint8_t *good = write_file(0, &len, &pages);
        uint8_t *d = malloc(len);

        /* Cut anywhere: refused, with a reason. */
        for (size_t cut = 0; cut < len; cut += cut < 64 ? 1 : 509) {
                err[0] = '\0';
                ck_assert_int_eq(replay(good, cut, err, sizeof err), -EBADMSG);
                ck_assert_msg(err[0] != '\0', "no reason at cut %zu", cut);
        }
        ck_assert_int_eq(replay(good, len - 1, err, sizeof err), -EBADMSG);
        ck_assert_ptr_nonnull(strstr(err, "raw.trace"));

        memcpy(d, good, len);
        d[0] = 'X';
        ck_assert_int_eq(replay(d, len, err, sizeof err), -EBADMSG);
        ck_assert_ptr_nonnull(strstr(err, "not a raw.trace"));

        memcpy(d, good, len);
        put32(d + 8, 2);
        ck_assert_int_eq(replay(d, len, err, sizeof err), -EPROTONOSUPPORT);
        ck_assert_ptr_nonnull(strstr(err, "version 2"));

        memcpy(d, good, len);
        d[16] = 2;
        ck_assert_int_eq(replay(d, len, err, sizeof err), -EPROTONOSUPPORT);

        /* A section claiming more than the file holds. */
        memcpy(d, good, len);
        size_t page = find_section(good, len, 2);
        uint64_t huge = UINT64_MAX - 8;
        memcpy(d + page + 8, &huge, 8);
        ck_assert_int_eq(replay(d, len, err, sizeof err), -EBADMSG);
        ck_assert_ptr_nonnull(strstr(err, "past the end"));

        /* A page of a CPU no machine has. */
        memcpy(d, good, len);
        put32(d + page + 16, 1u << 30);
        ck_assert_int_eq(replay(d, len, err, sizeof err), -EBADMSG);
        ck_assert_ptr_nonnull(strstr(err, "CPU"));

        /* A page whose records lie: counted bad, the rest still paired. */
        memcpy(d, good, len);
        uint64_t commit = 1u << 20;
        memcpy(d + page + 16 + 8 + 8, &commit, 8);
        ck_assert_int_eq(replay(d, len, err, sizeof err), 0);

        /* An unknown section type. */
        memcpy(d, good, len);
        put32(d + page, 99);
        ck_assert_int_eq(replay(d, len, err, sizeof err), -EBADMSG);
        ck_assert_ptr_nonnull(strstr(err, "unknown section"));

        /* The end record's count does not match the pages. */
        memcpy(d, good, len);
        size_t end = find_section(good, len, 5);
        d[end + 16] ^= 1;
        ck_assert_int_eq(replay(d, len, err, sizeof err), -EBADMSG);
        ck_assert_ptr_nonnull(strstr(err, "end record counts"));

        /* Bytes after the end. */
        uint8_t *longer = malloc(len + 8);
        memcpy(longer, good, len);
        memset(longer + len, 0, 8);
        ck_assert_int_eq(replay(longer, len + 8, err, sizeof err), -EBADMSG);
        ck_assert_ptr_nonnull(strstr(err, "after the end"));
        free(longer);

        /* A meta value that is not a number, a symbol line that is not one. */
        memcpy(d, good, len);
        size_t m = find_section(good, len, 3);
        char *mt = (char *) d + m + 16;
        char *v = strstr(mt, "settle_ns=");
        ck_assert_ptr_nonnull(v);
        v[10] = 'x';
        ck_assert_int_eq(replay(d, len, err, sizeof err), -EBADMSG);
        ck_assert_ptr_nonnull(strstr(err, "settle_ns"));

        memcpy(d, good, len);
        size_t s = find_section(good, len, 4);
        d[s + 16] = 'z';
        ck_assert_int_eq(replay(d, len, err, sizeof err), -EBADMSG);
        ck_assert_ptr_nonnull(strstr(err, "symbol line 1"));

        /* The kernel_stack format gone: nothing can be matched. */
        memcpy(d, good, len);
        size_t f = find_section(good, len, 1);
        for (size_t at = f; at < page;) {
                uint64_t n;
                memcpy(&n, d + at + 8, 8);
                if (memcmp(d + at + 16, "kernel_stack\n", 13) == 0)
                        memcpy(d + at + 16, "kernel_stacc\n", 13);
                at += 16 + ((n + 7) & ~(uint64_t) 7);
        }
        ck_assert_int_eq(replay(d, len, err, sizeof err), -EBADMSG);
        ck_assert_ptr_nonnull(strstr(err, "kernel_stack"));

        ck_assert_int_eq(replay(NULL, 0, err, sizeof err), -EINVAL);
        free(d);
        free(good);
}
END_TEST

START_TEST(test_writer_limits) {
        struct rawtrace_writer *w = NULL;
        ck_assert_int_eq(rawtrace_writer_new(0, NULL), -EINVAL);
        ck_assert_int_eq(rawtrace_writer_new(0, &w), 0);
        ck_assert_int_eq(rawtrace_writer_format(w, "", "x", 1), -EINVAL);
        ck_assert_int_eq(rawtrace_writer_format(w, "a\nb", "x", 1), -EINVAL);
        ck_assert_int_eq(rawtrace_writer_format(w, "big", "x", TRACEFMT_TEXT_MAX + 1), -E2BIG);
        ck_assert_int_eq(rawtrace_writer_page(w, 0, NULL, 0), -EINVAL);
        rawtrace_writer_free(w);
        rawtrace_writer_free(NULL);

        /* A page is kept up to its records: a nearly empty one takes little
         * room (a poll every few ms reads many of them). */
        size_t len;
        char *hp = fixture("format/header_page", &len);
        ck_assert_int_eq(rawtrace_writer_new(128, &w), 0);
        ck_assert_int_eq(rawtrace_writer_format(w, "header_page", hp, len), 0);
        free(hp);
        static uint8_t page[PAGE];
        uint64_t commit = 24;
        memcpy(page + 8, &commit, 8);
        ck_assert_int_eq(rawtrace_writer_page(w, 0, page, PAGE), 0);
        commit = PAGE - 16;
        memcpy(page + 8, &commit, 8);
        ck_assert_int_eq(rawtrace_writer_page(w, 0, page, PAGE), 1);
        rawtrace_writer_free(w);
        ck_assert(!rawtrace_is("SLWRAWT", 7));
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("rawtrace");
        TCase *tc = tcase_create("fixtures");
        tcase_add_test(tc, test_round_trip);
        tcase_add_test(tc, test_cap);
        suite_add_tcase(s, tc);
        tc = tcase_create("limits");
        tcase_add_test(tc, test_bad_files);
        tcase_add_test(tc, test_writer_limits);
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
