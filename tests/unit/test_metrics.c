/* Metrics text: exact output, escaping, limits, validated by a strict
 * parser here and by `promtool check metrics` when it is installed. */
#include <check.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "control/metrics.h"
#include "testutil.h"
#include "core/textfile.h"

/* Names of families seen by the checker. */
#define CHECK_FAMILIES_MAX 64
#define CHECK_SERIES_MAX 4096

struct checker {
        bool openmetrics;
        char families[CHECK_FAMILIES_MAX][METRICS_NAME_MAX];
        char types[CHECK_FAMILIES_MAX][16];
        size_t n_families;
        char *series[CHECK_SERIES_MAX];
        size_t n_series;
        char error[256];
};

static bool fail_at(struct checker *c, unsigned line, const char *why) {
        snprintf(c->error, sizeof c->error, "line %u: %s", line, why);
        return false;
}

static bool name_char(char ch, bool first) {
        return isalpha((unsigned char) ch) || ch == '_' || ch == ':' || (!first && isdigit((unsigned char) ch));
}

/* Parse `{a="x",b="y"}`; returns the position after it, NULL if malformed. */
static const char *check_labels(const char *p) {
        if (*p != '{')
                return p;
        p++;
        bool first = true;
        while (*p != '}') {
                if (!first && *p++ != ',')
                        return NULL;
                first = false;
                if (!(isalpha((unsigned char) *p) || *p == '_'))
                        return NULL;
                while (isalnum((unsigned char) *p) || *p == '_')
                        p++;
                if (*p++ != '=' || *p++ != '"')
                        return NULL;
                while (*p != '"') {
                        if (*p == '\0' || *p == '\n')
                                return NULL;
                        if (*p == '\\') {
                                p++;
                                if (*p != '\\' && *p != '"' && *p != 'n')
                                        return NULL;
                        }
                        p++;
                }
                p++;
        }
        return p + 1;
}

static bool check_value(const char *s) {
        if (strcmp(s, "NaN") == 0 || strcmp(s, "+Inf") == 0 || strcmp(s, "-Inf") == 0)
                return true;
        char *end = NULL;
        (void) strtod(s, &end);
        return end != s && *end == '\0' && strchr(s, 'n') == NULL && strchr(s, 'N') == NULL;
}

/* A strict reading of the text formats: every sample belongs to the family
 * declared just before it, families appear once and are not interleaved,
 * label values use only the allowed escapes, no series is repeated,
 * OpenMetrics ends in "# EOF". */
static bool check_exposition(struct checker *c, const char *text, bool openmetrics) {
        memset(c, 0, sizeof *c);
        c->openmetrics = openmetrics;
        size_t len = strlen(text);
        if (len == 0)
                return openmetrics ? fail_at(c, 0, "empty OpenMetrics text") : true;
        if (text[len - 1] != '\n')
                return fail_at(c, 0, "no final newline");
        unsigned lineno = 0;
        bool eof = false;
        const char *current = NULL, *current_type = NULL;
        for (const char *line = text; *line; ) {
                const char *nl = strchr(line, '\n');
                char buf[4096];
                size_t l = (size_t) (nl - line);
                lineno++;
                if (l >= sizeof buf)
                        return fail_at(c, lineno, "line too long");
                memcpy(buf, line, l);
                buf[l] = '\0';
                line = nl + 1;
                if (eof)
                        return fail_at(c, lineno, "text after # EOF");
                if (strcmp(buf, "# EOF") == 0) {
                        if (!openmetrics)
                                return fail_at(c, lineno, "# EOF in Prometheus text");
                        eof = true;
                        continue;
                }
                if (strncmp(buf, "# ", 2) == 0) {
                        char kw[8], name[METRICS_NAME_MAX + 8];
                        if (sscanf(buf, "# %7s %135s", kw, name) != 2)
                                return fail_at(c, lineno, "bad comment");
                        if (strcmp(kw, "HELP") == 0) {
                                for (size_t i = 0; i < c->n_families; i++)
                                        if (strcmp(c->families[i], name) == 0)
                                                return fail_at(c, lineno, "family declared twice");
                                if (c->n_families == CHECK_FAMILIES_MAX)
                                        return fail_at(c, lineno, "too many families");
                                snprintf(c->families[c->n_families], METRICS_NAME_MAX, "%.*s", METRICS_NAME_MAX - 1, name);
                                current = c->families[c->n_families];
                                current_type = NULL;
                                c->n_families++;
                                const char *h = buf + 7 + strlen(name);
                                for (; *h; h++)
                                        if (*h == '\\') {
                                                h++;
                                                if (*h != '\\' && *h != 'n' && !(openmetrics && *h == '"'))
                                                        return fail_at(c, lineno, "bad escape in HELP");
                                        } else if (*h == '"' && openmetrics)
                                                return fail_at(c, lineno, "unescaped quote in OpenMetrics HELP");
                        } else if (strcmp(kw, "TYPE") == 0) {
                                char type[16];
                                if (!current || strcmp(name, current) != 0)
                                        return fail_at(c, lineno, "TYPE for another family than HELP");
                                if (sscanf(buf + 7 + strlen(name), "%15s", type) != 1 ||
                                    (strcmp(type, "gauge") != 0 && strcmp(type, "counter") != 0))
                                        return fail_at(c, lineno, "bad type");
                                snprintf(c->types[c->n_families - 1], sizeof c->types[0], "%s", type);
                                current_type = c->types[c->n_families - 1];
                                if (!openmetrics && strcmp(type, "counter") == 0 &&
                                    (strlen(name) < 6 || strcmp(name + strlen(name) - 6, "_total") != 0))
                                        return fail_at(c, lineno, "Prometheus counter family without _total");
                        } else if (strcmp(kw, "UNIT") == 0) {
                                if (!openmetrics)
                                        return fail_at(c, lineno, "UNIT in Prometheus text");
                                if (!current || strcmp(name, current) != 0)
                                        return fail_at(c, lineno, "UNIT for another family");
                        } else
                                return fail_at(c, lineno, "unknown comment keyword");
                        continue;
                }
                if (!current || !current_type)
                        return fail_at(c, lineno, "sample before its family");
                const char *p = buf;
                if (!name_char(*p, true))
                        return fail_at(c, lineno, "bad metric name");
                while (name_char(*p, false))
                        p++;
                char sname[METRICS_NAME_MAX + 8];
                snprintf(sname, sizeof sname, "%.*s", (int) (p - buf), buf);
                char expected[METRICS_NAME_MAX + 8];
                snprintf(expected, sizeof expected, "%s%s", current,
                         openmetrics && strcmp(current_type, "counter") == 0 ? "_total" : "");
                if (strcmp(sname, expected) != 0)
                        return fail_at(c, lineno, "sample name does not match its family");
                const char *after = check_labels(p);
                if (!after)
                        return fail_at(c, lineno, "bad labels");
                if (*after != ' ')
                        return fail_at(c, lineno, "no space before the value");
                if (!check_value(after + 1))
                        return fail_at(c, lineno, "bad value");
                char *series = strndup(buf, (size_t) (after - buf));
                for (size_t i = 0; i < c->n_series; i++)
                        if (strcmp(c->series[i], series) == 0) {
                                free(series);
                                return fail_at(c, lineno, "series repeated");
                        }
                if (c->n_series == CHECK_SERIES_MAX) {
                        free(series);
                        return fail_at(c, lineno, "too many series");
                }
                c->series[c->n_series++] = series;
        }
        if (openmetrics && !eof)
                return fail_at(c, lineno, "no # EOF");
        return true;
}

static void checker_done(struct checker *c) {
        for (size_t i = 0; i < c->n_series; i++)
                free(c->series[i]);
}

static void assert_valid(const char *text, bool openmetrics) {
        struct checker c;
        bool ok = check_exposition(&c, text, openmetrics);
        checker_done(&c);
        ck_assert_msg(ok, "invalid exposition (%s):\n%s", c.error, text);
}

/* `promtool check metrics` reads Prometheus text on stdin. Returns its exit
 * status, or -1 if promtool is not installed. */
static int promtool_check(const char *text, char *output, size_t size) {
        if (system("command -v promtool >/dev/null 2>&1") != 0)
                return -1;
        char *dir = testutil_mkdtemp();
        testutil_write_file(dir, "m.prom", text, strlen(text));
        char cmd[4200];
        snprintf(cmd, sizeof cmd, "promtool check metrics < %s/m.prom 2>&1", dir);
        FILE *p = popen(cmd, "r");
        ck_assert_ptr_nonnull(p);
        size_t n = fread(output, 1, size - 1, p);
        output[n] = '\0';
        int status = pclose(p);
        testutil_rmtree(dir);
        free(dir);
        return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

static const char *finish(struct metrics *m) {
        const char *text;
        size_t len;
        ck_assert_int_eq(metrics_finish(m, &text, &len), 0);
        ck_assert_uint_eq(strlen(text), len);
        return text;
}

START_TEST(test_prometheus_exact) {
        struct metrics *m;
        ck_assert_int_eq(metrics_new(METRICS_FORMAT_PROMETHEUS, 0, &m), 0);
        ck_assert_int_eq(metrics_family(m, "slabwatch_samples", METRICS_COUNTER, NULL, "Samples taken"), 0);
        ck_assert_int_eq(metrics_sample(m, NULL, 0, 42), 0);
        ck_assert_int_eq(metrics_family(m, "slabwatch_cache_bytes", METRICS_GAUGE, "bytes", "Slab memory"), 0);
        ck_assert_int_eq(metrics_sample1(m, "cache", "kmalloc-8k", 8388608), 0);
        ck_assert_int_eq(metrics_sample1(m, "cache", "filp", 0.25), 0);
        const char *text = finish(m);
        ck_assert_str_eq(text, "# HELP slabwatch_samples_total Samples taken\n"
                               "# TYPE slabwatch_samples_total counter\n"
                               "slabwatch_samples_total 42\n"
                               "# HELP slabwatch_cache_bytes Slab memory\n"
                               "# TYPE slabwatch_cache_bytes gauge\n"
                               "slabwatch_cache_bytes{cache=\"kmalloc-8k\"} 8388608\n"
                               "slabwatch_cache_bytes{cache=\"filp\"} 0.25\n");
        assert_valid(text, false);
        /* Finishing twice returns the same text. */
        ck_assert_str_eq(finish(m), text);
        metrics_free(m);
}
END_TEST

START_TEST(test_openmetrics_exact) {
        struct metrics *m;
        ck_assert_int_eq(metrics_new(METRICS_FORMAT_OPENMETRICS, 0, &m), 0);
        ck_assert_int_eq(metrics_family(m, "slabwatch_samples", METRICS_COUNTER, NULL, "Samples \"taken\""), 0);
        ck_assert_int_eq(metrics_sample(m, NULL, 0, 7), 0);
        ck_assert_int_eq(metrics_family(m, "slabwatch_start_time_seconds", METRICS_GAUGE, "seconds", "Start"), 0);
        ck_assert_int_eq(metrics_sample(m, NULL, 0, 1795560135.5), 0);
        const char *text = finish(m);
        ck_assert_str_eq(text, "# HELP slabwatch_samples Samples \\\"taken\\\"\n"
                               "# TYPE slabwatch_samples counter\n"
                               "slabwatch_samples_total 7\n"
                               "# HELP slabwatch_start_time_seconds Start\n"
                               "# TYPE slabwatch_start_time_seconds gauge\n"
                               "# UNIT slabwatch_start_time_seconds seconds\n"
                               "slabwatch_start_time_seconds 1795560135.5\n"
                               "# EOF\n");
        assert_valid(text, true);
        metrics_free(m);

        /* Even an empty OpenMetrics exposition ends in # EOF. */
        ck_assert_int_eq(metrics_new(METRICS_FORMAT_OPENMETRICS, 0, &m), 0);
        ck_assert_str_eq(finish(m), "# EOF\n");
        metrics_free(m);
        ck_assert_int_eq(metrics_new(METRICS_FORMAT_PROMETHEUS, 0, &m), 0);
        ck_assert_str_eq(finish(m), "");
        metrics_free(m);
}
END_TEST

START_TEST(test_escaping_and_values) {
        struct metrics *m;
        char out[4096];
        ck_assert_int_eq(metrics_new(METRICS_FORMAT_PROMETHEUS, 0, &m), 0);
        ck_assert_int_eq(metrics_family(m, "x_value", METRICS_GAUGE, NULL, "back\\slash\nnewline \"q\""), 0);
        struct metrics_label two[] = { { "cache", "a\"b\\c\nd" }, { "key", "caf\xc3\xa9" } };
        ck_assert_int_eq(metrics_sample(m, two, 2, NAN), 0);
        ck_assert_int_eq(metrics_sample1(m, "cache", "inf", INFINITY), 0);
        ck_assert_int_eq(metrics_sample1(m, "cache", "-inf", -INFINITY), 0);
        ck_assert_int_eq(metrics_sample1(m, "cache", "big", 9007199254740991.0), 0);
        ck_assert_int_eq(metrics_sample1(m, "cache", "huge", 1e300), 0);
        ck_assert_int_eq(metrics_sample1(m, "cache", "neg", -3.5), 0);
        const char *text = finish(m);
        ck_assert_ptr_nonnull(strstr(text, "# HELP x_value back\\\\slash\\nnewline \"q\"\n"));
        ck_assert_ptr_nonnull(strstr(text, "x_value{cache=\"a\\\"b\\\\c\\nd\",key=\"caf\xc3\xa9\"} NaN\n"));
        ck_assert_ptr_nonnull(strstr(text, "{cache=\"inf\"} +Inf\n"));
        ck_assert_ptr_nonnull(strstr(text, "{cache=\"-inf\"} -Inf\n"));
        ck_assert_ptr_nonnull(strstr(text, "{cache=\"big\"} 9007199254740991\n"));
        ck_assert_ptr_nonnull(strstr(text, "{cache=\"huge\"} 1e+300\n"));
        ck_assert_ptr_nonnull(strstr(text, "{cache=\"neg\"} -3.5\n"));
        assert_valid(text, false);
        int r = promtool_check(text, out, sizeof out);
        ck_assert_msg(r == -1 || r == 0, "promtool: %s\n%s", out, text);
        metrics_free(m);
}
END_TEST

START_TEST(test_errors) {
        struct metrics *m;
        ck_assert_int_eq(metrics_new((enum metrics_format) 9, 0, &m), -EINVAL);
        ck_assert_int_eq(metrics_new(METRICS_FORMAT_PROMETHEUS, 0, &m), 0);
        ck_assert_int_eq(metrics_sample(m, NULL, 0, 1), -EINVAL);       /* no family yet */
        static const char *const bad_names[] = { "", "1abc", "a-b", "a b", "caf\xc3\xa9", NULL };
        for (size_t i = 0; bad_names[i]; i++)
                ck_assert_int_eq(metrics_family(m, bad_names[i], METRICS_GAUGE, NULL, "h"), -EINVAL);
        ck_assert_int_eq(metrics_family(m, NULL, METRICS_GAUGE, NULL, "h"), -EINVAL);
        ck_assert_int_eq(metrics_family(m, "x_total", METRICS_COUNTER, NULL, "h"), -EINVAL);
        ck_assert_int_eq(metrics_family(m, "x_seconds", METRICS_GAUGE, "bytes", "h"), -EINVAL);
        ck_assert_int_eq(metrics_family(m, "x", (enum metrics_type) 5, NULL, "h"), -EINVAL);
        ck_assert_int_eq(metrics_family(m, "ok_bytes", METRICS_GAUGE, "bytes", "h"), 0);
        ck_assert_int_eq(metrics_family(m, "ok_bytes", METRICS_GAUGE, "bytes", "again"), -EINVAL);
        static const char *const bad_labels[] = { "", "__name", "1x", "a-b", "a:b", NULL };
        for (size_t i = 0; bad_labels[i]; i++)
                ck_assert_int_eq(metrics_sample1(m, bad_labels[i], "v", 1), -EINVAL);
        struct metrics_label dup[] = { { "a", "1" }, { "a", "2" } };
        ck_assert_int_eq(metrics_sample(m, dup, 2, 1), -EINVAL);
        struct metrics_label many[METRICS_LABELS_MAX + 1] = {
                { "a", "1" }, { "b", "2" }, { "c", "3" }, { "d", "4" }, { "e", "5" },
        };
        ck_assert_int_eq(metrics_sample(m, many, METRICS_LABELS_MAX + 1, 1), -EINVAL);
        ck_assert_int_eq(metrics_sample1(m, "cache", NULL, 1), -EINVAL);
        char longname[METRICS_NAME_MAX + 1];
        memset(longname, 'a', sizeof longname - 1);
        longname[sizeof longname - 1] = '\0';
        ck_assert_int_eq(metrics_family(m, longname, METRICS_GAUGE, NULL, "h"), -EINVAL);
        /* Failed calls left nothing behind. */
        const char *text = finish(m);
        ck_assert_str_eq(text, "# HELP ok_bytes h\n# TYPE ok_bytes gauge\n");
        ck_assert_int_eq(metrics_family(m, "late", METRICS_GAUGE, NULL, "h"), -EINVAL);
        metrics_free(m);
        metrics_free(NULL);
}
END_TEST

START_TEST(test_output_limit) {
        struct metrics *m;
        ck_assert_int_eq(metrics_new(METRICS_FORMAT_OPENMETRICS, 300, &m), 0);
        ck_assert_int_eq(metrics_family(m, "x_objects", METRICS_GAUGE, NULL, "h"), 0);
        int r = 0;
        unsigned n = 0;
        char value[32];
        while (r == 0 && n < 1000) {
                snprintf(value, sizeof value, "cache-%u", n);
                r = metrics_sample1(m, "cache", value, n);
                n++;
        }
        ck_assert_int_eq(r, -E2BIG);
        /* Whole lines only; "# EOF" still has to fit, or finishing fails. */
        const char *text;
        size_t len;
        r = metrics_finish(m, &text, &len);
        if (r == 0) {
                ck_assert_uint_le(len, 300);
                assert_valid(text, true);
        } else
                ck_assert_int_eq(r, -E2BIG);
        metrics_free(m);
}
END_TEST

/* An exposition shaped like the daemon's: many caches, odd names. */
START_TEST(test_daemon_like_exposition_promtool) {
        static const char *const caches[] = { "kmalloc-8k", "kmalloc-rnd-01-8k", "nf_conntrack_ffffffff81a25e00",
                                              ":0000192", "TCPv6", "dma-kmalloc-8192", "weird\"name\\x" };
        char out[8192];
        for (int fmt = 0; fmt < 2; fmt++) {
                struct metrics *m;
                ck_assert_int_eq(metrics_new((enum metrics_format) fmt, 0, &m), 0);
                ck_assert_int_eq(metrics_family(m, "slabwatch_samples", METRICS_COUNTER, NULL, "Samples taken"), 0);
                ck_assert_int_eq(metrics_sample(m, NULL, 0, 1234), 0);
                ck_assert_int_eq(metrics_family(m, "slabwatch_meminfo_bytes", METRICS_GAUGE, "bytes", "meminfo"), 0);
                ck_assert_int_eq(metrics_sample1(m, "key", "SUnreclaim", 24508.0 * 1024), 0);
                ck_assert_int_eq(metrics_sample1(m, "key", "MemFree", 1581588.0 * 1024), 0);
                static const char *const families[] = { "slabwatch_cache_active_objects", "slabwatch_cache_bytes",
                                                        "slabwatch_cache_growth_bytes_per_second",
                                                        "slabwatch_cache_tripped" };
                for (size_t f = 0; f < 4; f++) {
                        ck_assert_int_eq(metrics_family(m, families[f], METRICS_GAUGE,
                                                        f == 1 ? "bytes" : NULL, "per cache"), 0);
                        for (size_t i = 0; i < sizeof caches / sizeof caches[0]; i++)
                                ck_assert_int_eq(metrics_sample1(m, "cache", caches[i], (double) i * 1.5), 0);
                }
                const char *text = finish(m);
                assert_valid(text, fmt == METRICS_FORMAT_OPENMETRICS);
                if (fmt == METRICS_FORMAT_PROMETHEUS) {
                        int r = promtool_check(text, out, sizeof out);
                        if (r < 0)
                                fprintf(stderr, "promtool not installed: checked by the strict parser only\n");
                        ck_assert_msg(r <= 0, "promtool check metrics failed:\n%s\n%s", out, text);
                }
                metrics_free(m);
        }
}
END_TEST

START_TEST(test_checker_rejects) {
        /* The strict parser must itself catch what it is there to catch. */
        static const char *const bad[] = {
                "x 1",                                                  /* no newline, no family */
                "# HELP x h\n# TYPE x gauge\ny 1\n",                    /* wrong family */
                "# HELP x h\n# TYPE x gauge\nx{a=\"\\q\"} 1\n",         /* bad escape */
                "# HELP x h\n# TYPE x gauge\nx 1\nx 2\n",               /* repeated series */
                "# HELP x h\n# TYPE x gauge\nx one\n",                  /* bad value */
                "# HELP x h\n# TYPE x gauge\n# HELP x h\n",             /* family twice */
                "# HELP x h\n# TYPE x gauge\nx 1\n# EOF\n",             /* EOF in Prometheus */
        };
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
                struct checker c;
                bool ok = check_exposition(&c, bad[i], false);
                checker_done(&c);
                ck_assert_msg(!ok, "accepted: %s", bad[i]);
        }
        struct checker c;
        ck_assert(!check_exposition(&c, "# HELP x h\n# TYPE x gauge\nx 1\n", true)); /* no EOF */
        checker_done(&c);
}
END_TEST

START_TEST(test_textfile_atomic) {
        char *dir = testutil_mkdtemp();
        char path[4200], tmp[4300];
        struct stat st1, st2;
        snprintf(path, sizeof path, "%s/slabwatch.prom", dir);
        snprintf(tmp, sizeof tmp, "%s.tmp", path);

        ck_assert_int_eq(textfile_write(path, "a 1\n", 4), 0);
        ck_assert_int_eq(stat(path, &st1), 0);
        ck_assert_uint_eq(st1.st_mode & 0777, 0644);
        ck_assert_int_eq(textfile_write(path, "a 2\n", 4), 0);
        ck_assert_int_eq(stat(path, &st2), 0);
        /* Replaced by rename, not rewritten in place: a reader holding the
         * old file sees it whole. */
        ck_assert_uint_ne(st1.st_ino, st2.st_ino);
        FILE *f = fopen(path, "re");
        char buf[16] = { 0 };
        size_t len = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        ck_assert_uint_eq(len, 4);
        ck_assert_str_eq(buf, "a 2\n");
        ck_assert_int_eq(access(tmp, F_OK), -1);

        /* A directory that is not there: an error, nothing left behind. */
        snprintf(path, sizeof path, "%s/missing/slabwatch.prom", dir);
        ck_assert_int_eq(textfile_write(path, "a 1\n", 4), -ENOENT);
        ck_assert_int_eq(textfile_write("", "a", 1), -EINVAL);
        /* A directory in the way of the rename. */
        snprintf(path, sizeof path, "%s/isdir.prom", dir);
        ck_assert_int_eq(mkdir(path, 0755), 0);
        ck_assert_int_lt(textfile_write(path, "a 1\n", 4), 0);
        snprintf(tmp, sizeof tmp, "%s.tmp", path);
        ck_assert_int_eq(access(tmp, F_OK), -1);
        testutil_rmtree(dir);
        free(dir);
}
END_TEST

static Suite *metrics_suite(void) {
        Suite *s = suite_create("metrics");
        TCase *tc = tcase_create("core");
        tcase_add_test(tc, test_prometheus_exact);
        tcase_add_test(tc, test_openmetrics_exact);
        tcase_add_test(tc, test_escaping_and_values);
        tcase_add_test(tc, test_daemon_like_exposition_promtool);
        tcase_add_test(tc, test_checker_rejects);
        tcase_add_test(tc, test_textfile_atomic);
        suite_add_tcase(s, tc);
        TCase *limits = tcase_create("limits");
        tcase_add_test(limits, test_errors);
        tcase_add_test(limits, test_output_limit);
        suite_add_tcase(s, limits);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(metrics_suite());
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
