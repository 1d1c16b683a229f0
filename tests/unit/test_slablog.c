#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memory/meminfo.h"
#include "caches/slabinfo.h"
#include "caches/slablog.h"
#include "testutil.h"

#define SAMPLES_MAX 16
#define ERRORS_MAX 16

struct got {
        unsigned n;
        uint64_t t[SAMPLES_MAX];
        unsigned long line[SAMPLES_MAX];
        char *meminfo[SAMPLES_MAX];
        char *slabinfo[SAMPLES_MAX];
        unsigned long meminfo_line[SAMPLES_MAX];
        unsigned long slabinfo_line[SAMPLES_MAX];
        unsigned n_errors;
        unsigned long error_line[ERRORS_MAX];
        int error[ERRORS_MAX];
        int fail_at;    /* return -ECANCELED at this sample (1-based), 0 never */
};

static char *dup_span(const char *p, size_t n) {
        if (!p)
                return NULL;
        char *s = malloc(n + 1);
        ck_assert_ptr_nonnull(s);
        memcpy(s, p, n);
        s[n] = '\0';
        return s;
}

static int on_sample(const struct slablog_sample *s, void *userdata) {
        struct got *g = userdata;
        ck_assert_uint_lt(g->n, SAMPLES_MAX);
        unsigned i = g->n++;
        g->t[i] = s->t_usec;
        g->line[i] = s->line;
        g->meminfo[i] = dup_span(s->meminfo, s->meminfo_len);
        g->slabinfo[i] = dup_span(s->slabinfo, s->slabinfo_len);
        g->meminfo_line[i] = s->meminfo_line;
        g->slabinfo_line[i] = s->slabinfo_line;
        return g->fail_at == (int) g->n ? -ECANCELED : 0;
}

static void on_error(unsigned long line, int error, void *userdata) {
        struct got *g = userdata;
        ck_assert_uint_lt(g->n_errors, ERRORS_MAX);
        g->error_line[g->n_errors] = line;
        g->error[g->n_errors++] = error;
}

static void got_free(struct got *g) {
        for (unsigned i = 0; i < g->n; i++) {
                free(g->meminfo[i]);
                free(g->slabinfo[i]);
        }
}

/* Read @text in chunks of @chunk bytes (0: at once). */
static int read_log(const char *text, size_t len, size_t chunk, size_t max, struct got *g) {
        struct slablog *p;
        ck_assert_int_eq(slablog_new(max, on_sample, on_error, g, &p), 0);
        int r = 0;
        for (size_t off = 0; off < len && r >= 0;) {
                size_t n = chunk && len - off > chunk ? chunk : len - off;
                r = slablog_feed(p, text + off, n);
                off += n;
        }
        if (r >= 0)
                r = slablog_finish(p);
        slablog_free(p);
        return r;
}

static char *fixture_log(size_t *ret_len) {
        size_t mlen, slen;
        char *mi = testutil_read_fixture("linux-6.18-x86_64/meminfo", &mlen);
        char *si = testutil_read_fixture("linux-6.18-x86_64/slabinfo", &slen);
        size_t cap = 3 * (mlen + slen) + 256, len = 0;
        char *log = malloc(cap);
        ck_assert_ptr_nonnull(log);
        /* Three samples: meminfo then slabinfo, the other order, slabinfo only. */
        len += (size_t) sprintf(log + len, "@ 1795560135.241930921\n");
        memcpy(log + len, mi, mlen), len += mlen;
        memcpy(log + len, si, slen), len += slen;
        len += (size_t) sprintf(log + len, "@ 1795560137\n");
        memcpy(log + len, si, slen), len += slen;
        memcpy(log + len, mi, mlen), len += mlen;
        len += (size_t) sprintf(log + len, "@ 1795560139.5\n");
        memcpy(log + len, si, slen), len += slen;
        free(mi);
        free(si);
        *ret_len = len;
        return log;
}

START_TEST(fixture_any_chunks) {
        size_t len;
        char *log = fixture_log(&len);
        static const size_t chunks[] = { 0, 1, 7, 100, 4096 };
        for (size_t c = 0; c < sizeof chunks / sizeof *chunks; c++) {
                struct got g = {};
                ck_assert_int_eq(read_log(log, len, chunks[c], 0, &g), 0);
                ck_assert_uint_eq(g.n, 3);
                ck_assert_uint_eq(g.n_errors, 0);
                ck_assert_uint_eq(g.t[0], UINT64_C(1795560135241930));
                ck_assert_uint_eq(g.t[1], UINT64_C(1795560137000000));
                ck_assert_uint_eq(g.t[2], UINT64_C(1795560139500000));
                ck_assert_uint_eq(g.line[0], 1);
                ck_assert_uint_eq(g.meminfo_line[0], 2);
                for (unsigned i = 0; i < 3; i++) {
                        ck_assert_ptr_nonnull(g.slabinfo[i]);
                        ck_assert(strncmp(g.slabinfo[i], "slabinfo - version: 2.1\n", 24) == 0);
                        struct slabinfo si = {};
                        ck_assert_int_eq(slabinfo_parse(g.slabinfo[i], strlen(g.slabinfo[i]), &si), 0);
                        ck_assert_uint_eq(si.n_bad_lines, 0);
                        ck_assert_uint_gt(si.n_caches, 100);
                        ck_assert_ptr_nonnull(slabinfo_find(&si, "kmalloc-256"));
                        slabinfo_done(&si);
                }
                for (unsigned i = 0; i < 2; i++) {
                        static struct meminfo mi;
                        ck_assert_ptr_nonnull(g.meminfo[i]);
                        ck_assert_int_eq(meminfo_parse(g.meminfo[i], strlen(g.meminfo[i]), &mi), 0);
                        ck_assert_uint_eq(mi.n_bad_lines, 0);
                        ck_assert(strncmp(g.meminfo[i], "MemTotal:", 9) == 0);
                }
                ck_assert_ptr_null(g.meminfo[2]);
                ck_assert_uint_eq(g.slabinfo_line[1], g.line[1] + 1);
                ck_assert_uint_gt(g.meminfo_line[1], g.slabinfo_line[1]);
                got_free(&g);
        }
        free(log);
}
END_TEST

START_TEST(odd_logs) {
        static const char text[] =
                "garbage before the first mark\n"       /* 1: ignored, reported */
                "@ 100\n"                               /* 2 */
                "MemTotal:  1000 kB\n"
                "SUnreclaim:   20 kB\n"
                "\n"
                "@ 101.x\n"                             /* 6: bad mark, its sample skipped */
                "MemTotal:  1001 kB\n"
                "@101\n"                                /* 8: bad mark (no space) */
                "@ 102   \r\n"                          /* 9: trailing blanks are fine */
                "HugePages_Total:       0\r\n"
                "@ " "123456789012345678901234567890123456789012345678901234567890123456789\n" /* 11: too long */
                "MemFree: 1 kB\n"
                "@ 104\n"                               /* 13: a sample with no text */
                "@ 105\n"                               /* 14: last, no newline at the end */
                "MemTotal: 7 kB";
        struct got g = {};
        ck_assert_int_eq(read_log(text, sizeof text - 1, 3, 0, &g), 0);
        ck_assert_uint_eq(g.n, 4);
        ck_assert_uint_eq(g.t[0], 100 * UINT64_C(1000000));
        ck_assert_str_eq(g.meminfo[0], "MemTotal:  1000 kB\nSUnreclaim:   20 kB\n");
        ck_assert_ptr_null(g.slabinfo[0]);
        ck_assert_uint_eq(g.t[1], 102 * UINT64_C(1000000));
        ck_assert_str_eq(g.meminfo[1], "HugePages_Total:       0\r\n");
        ck_assert_uint_eq(g.t[2], 104 * UINT64_C(1000000));
        ck_assert_ptr_null(g.meminfo[2]);
        ck_assert_ptr_null(g.slabinfo[2]);
        ck_assert_str_eq(g.meminfo[3], "MemTotal: 7 kB");
        ck_assert_uint_eq(g.line[3], 14);
        ck_assert_uint_eq(g.n_errors, 4);
        ck_assert_int_eq(g.error[0], SLABLOG_ERR_NO_MARK);
        ck_assert_uint_eq(g.error_line[0], 1);
        ck_assert_int_eq(g.error[1], SLABLOG_ERR_MARK);
        ck_assert_uint_eq(g.error_line[1], 6);
        ck_assert_uint_eq(g.error_line[2], 8);
        ck_assert_uint_eq(g.error_line[3], 11);
        got_free(&g);
}
END_TEST

START_TEST(too_big) {
        /* A sample over the bound is reported at its mark and skipped; the
         * next one is read as usual. */
        size_t big = 3 * SLABLOG_SAMPLE_MAX_MIN;
        char *text = malloc(big + 64);
        ck_assert_ptr_nonnull(text);
        size_t len = (size_t) sprintf(text, "@ 1\nMemTotal: 1 kB\n@ 2\n");
        for (size_t i = 0; i < big; i++)
                text[len++] = i % 50 == 49 ? '\n' : 'x';
        len += (size_t) sprintf(text + len, "\n@ 3\nMemTotal: 3 kB\n");
        struct got g = {};
        ck_assert_int_eq(read_log(text, len, 1000, SLABLOG_SAMPLE_MAX_MIN, &g), 0);
        ck_assert_uint_eq(g.n, 2);
        ck_assert_uint_eq(g.t[1], 3 * UINT64_C(1000000));
        ck_assert_uint_eq(g.n_errors, 1);
        ck_assert_int_eq(g.error[0], SLABLOG_ERR_TOO_BIG);
        ck_assert_uint_eq(g.error_line[0], 3);
        got_free(&g);
        /* One endless line (binary garbage without newlines): the same. */
        len = (size_t) sprintf(text, "@ 1\n");
        for (size_t i = 0; i < big; i++)
                text[len++] = (char) (i * 131 % 251 + 1);
        g = (struct got) {};
        ck_assert_int_eq(read_log(text, len, 777, SLABLOG_SAMPLE_MAX_MIN, &g), 0);
        ck_assert_uint_eq(g.n, 0);
        ck_assert_uint_eq(g.n_errors, 1);
        free(text);
}
END_TEST

START_TEST(garbage) {
        /* Binary noise with marks in between: no crash, marks still found. */
        char text[20000];
        size_t len = 0;
        srand(3);
        for (int s = 0; s < 5; s++) {
                len += (size_t) sprintf(text + len, "@ %d\n", 10 + s);
                for (int i = 0; i < 3000; i++) {
                        char c = (char) (rand() % 256);
                        text[len++] = c == '@' ? '#' : c;
                }
                text[len++] = '\n';
        }
        struct got g = {};
        ck_assert_int_eq(read_log(text, len, 513, 0, &g), 0);
        ck_assert_uint_eq(g.n, 5);
        got_free(&g);
        g = (struct got) {};
        ck_assert_int_eq(read_log("", 0, 0, 0, &g), 0);
        ck_assert_uint_eq(g.n, 0);
        ck_assert_uint_eq(g.n_errors, 0);
}
END_TEST

START_TEST(callback_stops) {
        static const char text[] = "@ 1\nMemTotal: 1 kB\n@ 2\nMemTotal: 2 kB\n@ 3\nMemTotal: 3 kB\n";
        struct got g = { .fail_at = 2 };
        ck_assert_int_eq(read_log(text, sizeof text - 1, 0, 0, &g), -ECANCELED);
        ck_assert_uint_eq(g.n, 2);
        got_free(&g);
}
END_TEST

START_TEST(split) {
        static const char text[] =
                "slabinfo - version: 2.1\n"
                "# name <active_objs> ...\n"
                "kmalloc-8 100 100 8 512 1 : tunables 0 0 0 : slabdata 1 1 0\n"
                "MemTotal: 5 kB\n"
                "junk line\n"
                "Slab: 4 kB\n"
                "slabinfo - version: 2.1\n";    /* a second table is not ours */
        struct slablog_sample s;
        slablog_split(text, sizeof text - 1, 10, &s);
        ck_assert_ptr_eq(s.slabinfo, text);
        ck_assert_uint_eq(s.slabinfo_line, 10);
        ck_assert_uint_eq(s.slabinfo_len, strlen("slabinfo - version: 2.1\n# name <active_objs> ...\n"
                                                  "kmalloc-8 100 100 8 512 1 : tunables 0 0 0 : slabdata 1 1 0\n"));
        ck_assert_uint_eq(s.meminfo_line, 13);
        ck_assert_uint_eq(s.meminfo_len, strlen("MemTotal: 5 kB\njunk line\nSlab: 4 kB\n"));
}
END_TEST

START_TEST(marks) {
        uint64_t t;
        ck_assert_int_eq(slablog_parse_mark("@ 0", 3, &t), 0);
        ck_assert_uint_eq(t, 0);
        ck_assert_int_eq(slablog_parse_mark("@\t12.000001\n", 12, &t), 0);
        ck_assert_uint_eq(t, 12000001);
        ck_assert_int_eq(slablog_parse_mark("@ 12,5", 6, &t), 0);
        ck_assert_uint_eq(t, 12500000);
        ck_assert_int_eq(slablog_parse_mark("@ 1.", 4, &t), -EINVAL);
        ck_assert_int_eq(slablog_parse_mark("@ -1", 4, &t), -EINVAL);
        ck_assert_int_eq(slablog_parse_mark("@ ", 2, &t), -EINVAL);
        ck_assert_int_eq(slablog_parse_mark("@", 1, &t), -EINVAL);
        ck_assert_int_eq(slablog_parse_mark("# 1", 3, &t), -EINVAL);
        ck_assert_int_eq(slablog_parse_mark("@ 1 2", 5, &t), -EINVAL);
        ck_assert_int_eq(slablog_parse_mark("@ 99999999999999999999", 22, &t), -ERANGE);
        ck_assert_int_eq(slablog_parse_mark("", 0, &t), -EINVAL);
}
END_TEST

START_TEST(limits) {
        struct slablog *p;
        ck_assert_int_eq(slablog_new(0, NULL, NULL, NULL, &p), -EINVAL);
        ck_assert_int_eq(slablog_new(100, on_sample, NULL, NULL, &p), -EINVAL);
        struct got g = {};
        ck_assert_int_eq(slablog_new(0, on_sample, NULL, &g, &p), 0);
        ck_assert_int_eq(slablog_feed(p, "@ 1\nMemTotal: 1 kB\nxx", 22), 0);
        ck_assert_uint_eq(slablog_n_lines(p), 3);
        ck_assert_int_eq(slablog_finish(p), 0);
        ck_assert_uint_eq(slablog_n_samples(p), 1);
        ck_assert_uint_eq(slablog_n_errors(p), 0);
        slablog_free(p);
        slablog_free(NULL);
        got_free(&g);
}
END_TEST

START_TEST(small_devices) {
        /* busybox date: "@ N.%N", whole seconds, told once */
        uint64_t t;
        ck_assert_int_eq(slablog_parse_mark("@ 1796164986.%N", 15, &t), 1);
        ck_assert_uint_eq(t, 1796164986000000ull);
        ck_assert_int_eq(slablog_parse_mark("@ 1796164986.%N\r\n", 17, &t), 1);
        ck_assert_int_eq(slablog_parse_mark("@ 1796164986.%Nx", 16, &t), -EINVAL);
        ck_assert_int_eq(slablog_parse_mark("@ 1796164986.%", 14, &t), -EINVAL);
        static const char busybox[] = "@ 100.%N\nSlab: 1 kB\n@ 110.%N\nSlab: 2 kB\n";
        struct got g = {};
        ck_assert_int_eq(read_log(busybox, sizeof busybox - 1, 3, 0, &g), 0);
        ck_assert_uint_eq(g.n, 2);
        ck_assert_uint_eq(g.t[1], 110000000ull);
        ck_assert_uint_eq(g.n_errors, 1);
        ck_assert_int_eq(g.error[0], SLABLOG_WARN_WHOLE_SECONDS);
        ck_assert_uint_eq(g.error_line[0], 1);
        got_free(&g);

        /* A serial console: \r\n, and kernel messages between the lines are left out. */
        static const char serial[] =
                "@ 100\r\n"
                "MemTotal: 10 kB\r\n"
                "[   12.345678] usb 1-1: new device\r\n"
                "Slab: 1 kB\r\n"
                "slabinfo - version: 2.1\r\n"
                "<6>[   12.400000] leaky: refill\r\n"
                "a 1 1 8 1 1 : tunables 0 0 0 : slabdata 1 1 0\r\n"
                "@ 110\r\n"
                "MemTotal: 10 kB\r\n";
        memset(&g, 0, sizeof g);
        ck_assert_int_eq(read_log(serial, sizeof serial - 1, 7, 0, &g), 0);
        ck_assert_uint_eq(g.n, 2);
        ck_assert_str_eq(g.meminfo[0], "MemTotal: 10 kB\r\nSlab: 1 kB\r\n");
        ck_assert_str_eq(g.slabinfo[0], "slabinfo - version: 2.1\r\na 1 1 8 1 1 : tunables 0 0 0 : slabdata 1 1 0\r\n");
        struct slabinfo si = {};
        ck_assert_int_eq(slabinfo_parse(g.slabinfo[0], strlen(g.slabinfo[0]), &si), 0);
        ck_assert_uint_eq(si.n_caches, 1);
        ck_assert_uint_eq(si.n_bad_lines, 0);
        slabinfo_done(&si);
        struct meminfo mi = {};
        ck_assert_int_eq(meminfo_parse(g.meminfo[0], strlen(g.meminfo[0]), &mi), 0);
        ck_assert_uint_eq(mi.n_bad_lines, 0);
        ck_assert_uint_eq(g.n_errors, 1);
        ck_assert_int_eq(g.error[0], SLABLOG_WARN_CONSOLE);
        got_free(&g);
}
END_TEST

static Suite *slablog_suite(void) {
        Suite *s = suite_create("slablog");
        TCase *tc = tcase_create("read");
        tcase_add_test(tc, fixture_any_chunks);
        tcase_add_test(tc, odd_logs);
        tcase_add_test(tc, callback_stops);
        tcase_add_test(tc, split);
        tcase_add_test(tc, marks);
        tcase_add_test(tc, small_devices);
        suite_add_tcase(s, tc);
        TCase *lim = tcase_create("limits");
        tcase_add_test(lim, too_big);
        tcase_add_test(lim, garbage);
        tcase_add_test(lim, limits);
        suite_add_tcase(s, lim);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(slablog_suite());
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
