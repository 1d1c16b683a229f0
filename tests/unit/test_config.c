/* test_config — slabwatch.yaml loading: defaults, every key, every error
 * class with its position, durations and sizes, rule matching, limits. */

#include <check.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/config.h"
#include "testutil.h"

#define SHIPPED_CONFIG FIXTURES_DIR "/../../config/slabwatch.yaml"

#define SEC UINT64_C(1000000)
#define MIN (60 * SEC)
#define HOUR (60 * MIN)
#define DAY (24 * HOUR)
#define KIB UINT64_C(1024)
#define MIB (1024 * KIB)
#define GIB (1024 * MIB)
#define TIB (1024 * GIB)

static int parse_str(const char *yaml, struct config *ret, struct config_error *ret_error) {
        return config_parse(yaml, strlen(yaml), ret, ret_error);
}

/* ---------------------------------------------------------------------- */
/* Field-by-field comparison: a mismatch names the field. */

#define EQ_U(f)                                                                                    \
        ck_assert_msg(a->f == b->f, "%s: %" PRIu64 " != %" PRIu64, #f, (uint64_t) a->f, (uint64_t) b->f)
#define EQ_D(f) ck_assert_msg(a->f == b->f, "%s: %.17g != %.17g", #f, (double) a->f, (double) b->f)
#define EQ_B(f) ck_assert_msg(a->f == b->f, "%s: %d != %d", #f, (int) a->f, (int) b->f)
#define EQ_S(f) ck_assert_msg(strcmp(a->f, b->f) == 0, "%s: \"%s\" != \"%s\"", #f, a->f, b->f)

static void assert_rule_eq(const struct config_rule *a, const struct config_rule *b, size_t i) {
        ck_assert_msg(strcmp(a->match, b->match) == 0, "rule %zu match: \"%s\" != \"%s\"", i, a->match, b->match);
        ck_assert_msg(a->reclaimable == b->reclaimable, "rule %zu reclaimable", i);
        ck_assert_msg(a->ignore == b->ignore, "rule %zu ignore", i);
        ck_assert_msg(a->window_usec == b->window_usec, "rule %zu window", i);
        ck_assert_msg(a->objects_per_min == b->objects_per_min, "rule %zu objects_per_min: %g != %g", i,
                      a->objects_per_min, b->objects_per_min);
        ck_assert_msg(a->bytes_per_hour == b->bytes_per_hour, "rule %zu bytes_per_hour: %g != %g", i,
                      a->bytes_per_hour, b->bytes_per_hour);
        ck_assert_msg(a->percent_per_hour == b->percent_per_hour, "rule %zu percent_per_hour: %g != %g", i,
                      a->percent_per_hour, b->percent_per_hour);
        ck_assert_msg(a->min_bytes == b->min_bytes, "rule %zu min_bytes", i);
        ck_assert_msg(a->for_usec == b->for_usec, "rule %zu for", i);
        ck_assert_msg(a->min_trend == b->min_trend, "rule %zu min_trend: %.17g != %.17g", i, a->min_trend,
                      b->min_trend);
}

static void assert_config_eq(const struct config *a, const struct config *b) {
        EQ_U(interval_usec);
        EQ_U(page_size);
        EQ_U(history.raw_usec);
        EQ_U(history.minute_usec);
        EQ_U(history.hour_usec);
        EQ_S(paths.root);
        EQ_S(paths.proc);
        EQ_S(paths.sys);
        EQ_S(paths.tracefs);
        EQ_S(paths.debugfs);
        EQ_S(paths.dev_kmsg);
        EQ_S(paths.state_dir);
        EQ_U(n_rules);
        for (size_t i = 0; i < a->n_rules; i++)
                assert_rule_eq(&a->rules[i], &b->rules[i], i);
        EQ_B(alert.journal);
        EQ_B(alert.stderr_always);
        EQ_U(alert.repeat_usec);
        EQ_D(alert.rate_factor);
        EQ_U(alert.clear_usec);
        EQ_U(alert.events_log_max_bytes);
        EQ_B(capture.enabled);
        EQ_U(capture.duration_usec);
        EQ_U(capture.max_events);
        EQ_U(capture.max_memory_bytes);
        EQ_U(capture.buffer_bytes_per_cpu);
        EQ_U(capture.poll_usec);
        EQ_U(capture.callsites_interval_usec);
        EQ_U(capture.cooldown_usec);
        EQ_U(capture.max_concurrent);
        EQ_U(capture.disk_budget_bytes);
        EQ_U(capture.raw_trace_max_bytes);
        EQ_B(capture.mount_tracefs);
        EQ_S(server.socket);
        EQ_S(server.group);
        EQ_U(server.max_clients);
        EQ_U(server.max_request_bytes);
        EQ_U(server.idle_timeout_usec);
        EQ_S(metrics.textfile);
        /* Backstop for a field added to the struct but not to this list. */
        ck_assert_msg(memcmp(a, b, sizeof *a) == 0, "configs differ in a field not compared above");
}

/* ---------------------------------------------------------------------- */

START_TEST(test_defaults) {
        struct config c;

        config_defaults(&c);
        ck_assert_uint_eq(c.interval_usec, 10 * SEC);
        ck_assert_uint_eq(c.page_size, 0);
        ck_assert_uint_eq(c.history.raw_usec, HOUR);
        ck_assert_uint_eq(c.history.minute_usec, 24 * HOUR);
        ck_assert_uint_eq(c.history.hour_usec, 30 * DAY);
        ck_assert_str_eq(c.paths.root, "/");
        ck_assert_str_eq(c.paths.proc, "/proc");
        ck_assert_str_eq(c.paths.sys, "/sys");
        ck_assert_str_eq(c.paths.tracefs, "/sys/kernel/tracing");
        ck_assert_str_eq(c.paths.debugfs, "/sys/kernel/debug");
        ck_assert_str_eq(c.paths.dev_kmsg, "/dev/kmsg");
        ck_assert_str_eq(c.paths.state_dir, "/var/lib/slabwatch");

        /* Two rules: reclaimable caches first, less sensitive; then all. */
        ck_assert_uint_eq(c.n_rules, 2);
        ck_assert_str_eq(c.rules[0].match, "*");
        ck_assert_int_eq(c.rules[0].reclaimable, CONFIG_RECLAIM_YES);
        ck_assert_str_eq(c.rules[1].match, "*");
        ck_assert_int_eq(c.rules[1].reclaimable, CONFIG_RECLAIM_ANY);
        ck_assert(c.rules[0].objects_per_min > c.rules[1].objects_per_min);
        ck_assert(c.rules[0].window_usec >= c.rules[1].window_usec);
        ck_assert(c.rules[0].min_trend >= c.rules[1].min_trend);
        ck_assert(!c.rules[0].ignore && !c.rules[1].ignore);

        ck_assert(c.alert.journal);
        ck_assert(!c.alert.stderr_always);
        ck_assert_uint_eq(c.alert.repeat_usec, HOUR);
        ck_assert_double_eq(c.alert.rate_factor, 2.0);
        ck_assert_uint_eq(c.alert.clear_usec, 10 * MIN);
        ck_assert_uint_eq(c.alert.events_log_max_bytes, 16 * MIB);
        ck_assert(c.capture.enabled);
        ck_assert_uint_eq(c.capture.duration_usec, 60 * SEC);
        ck_assert_uint_eq(c.capture.max_events, 20000000);
        ck_assert_uint_eq(c.capture.max_memory_bytes, 256 * MIB);
        ck_assert_uint_eq(c.capture.buffer_bytes_per_cpu, 16 * MIB);
        ck_assert_uint_eq(c.capture.poll_usec, 10000);
        ck_assert_uint_eq(c.capture.callsites_interval_usec, 10 * SEC);
        ck_assert_uint_eq(c.capture.cooldown_usec, HOUR);
        ck_assert_uint_eq(c.capture.max_concurrent, 1);
        ck_assert_uint_eq(c.capture.disk_budget_bytes, 256 * MIB);
        ck_assert_uint_eq(c.capture.raw_trace_max_bytes, 32 * MIB);
        ck_assert(c.capture.mount_tracefs);
        ck_assert_str_eq(c.server.socket, "/run/slabwatch/slabwatch.sock");
        ck_assert_str_eq(c.server.group, "slabwatch");
        ck_assert_uint_eq(c.server.max_clients, 32);
        ck_assert_uint_eq(c.server.max_request_bytes, 64 * KIB);
        ck_assert_uint_eq(c.server.idle_timeout_usec, 30 * SEC);
        ck_assert_str_eq(c.metrics.textfile, "");
}
END_TEST

/* The shipped file shows every default: it must load to exactly them. */
START_TEST(test_shipped_file_equals_defaults) {
        struct config loaded, defaults;
        struct config_error e;
        char msg[1024];
        int r;

        config_defaults(&defaults);
        memset(&loaded, 0xa5, sizeof loaded);
        r = config_load_file(SHIPPED_CONFIG, &loaded, &e);
        ck_assert_msg(r == 0, "%s", config_error_format(&e, SHIPPED_CONFIG, msg, sizeof msg));
        assert_config_eq(&loaded, &defaults);
}
END_TEST

/* Empty input, comments only, or an empty document: all defaults. */
START_TEST(test_empty_inputs) {
        static const char *const inputs[] = {
                "", "\n", "# nothing\n# at all\n", "---\n", "---\n...\n", "{}\n",
                "history:\nmetrics:\n", "history: ~\n",
        };
        struct config c, defaults;
        struct config_error e;

        config_defaults(&defaults);
        for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++) {
                memset(&c, 0x5a, sizeof c);
                ck_assert_msg(parse_str(inputs[i], &c, &e) == 0, "input %zu: %s", i, e.message);
                assert_config_eq(&c, &defaults);
        }
        ck_assert_int_eq(config_parse(NULL, 0, &c, &e), 0);
        assert_config_eq(&c, &defaults);
}
END_TEST

/* Every key, each set away from its default. */
START_TEST(test_every_key) {
        struct config c;
        struct config_error e;
        char msg[1024];
        int r;

        r = config_load_file(FIXTURES_DIR "/config/full.yaml", &c, &e);
        ck_assert_msg(r == 0, "%s", config_error_format(&e, "full.yaml", msg, sizeof msg));

        ck_assert_uint_eq(c.interval_usec, 2 * SEC);
        ck_assert_uint_eq(c.page_size, 16 * KIB);
        ck_assert_uint_eq(c.history.raw_usec, 2 * HOUR);
        ck_assert_uint_eq(c.history.minute_usec, 2 * DAY);
        ck_assert_uint_eq(c.history.hour_usec, 60 * DAY);
        ck_assert_uint_eq(c.history.snapshot_usec, MIN);
        /* Every host path is given, so none is composed from the root. */
        ck_assert_str_eq(c.paths.root, "/tmp/elsewhere");
        ck_assert_str_eq(c.paths.proc, "/tmp/root/proc");
        ck_assert_str_eq(c.paths.sys, "/tmp/root/sys");
        ck_assert_str_eq(c.paths.tracefs, "/tmp/root/tracing");
        ck_assert_str_eq(c.paths.debugfs, "/tmp/root/debug");
        ck_assert_str_eq(c.paths.dev_kmsg, "/tmp/root/kmsg");
        ck_assert_str_eq(c.paths.state_dir, "/tmp/root/state");

        ck_assert_uint_eq(c.n_rules, 3);
        ck_assert_str_eq(c.rules[0].match, "kmalloc-*");
        ck_assert_int_eq(c.rules[0].reclaimable, CONFIG_RECLAIM_NO);
        ck_assert(!c.rules[0].ignore);
        ck_assert_uint_eq(c.rules[0].window_usec, 20 * MIN);
        ck_assert_double_eq(c.rules[0].objects_per_min, 12.5);
        ck_assert_double_eq(c.rules[0].bytes_per_hour, 1.5 * (double) MIB);
        ck_assert_double_eq(c.rules[0].percent_per_hour, 7.5);
        ck_assert_uint_eq(c.rules[0].min_bytes, 64 * KIB);
        ck_assert_double_eq(c.rules[0].significance, 4.5);
        ck_assert_uint_eq(c.rules[0].steady_for_usec, 12 * MIN);
        ck_assert_uint_eq(c.rules[0].fast_for_usec, 2 * MIN);
        ck_assert_uint_eq(c.rules[0].fast_exhaust_usec, 30 * DAY);
        ck_assert_uint_eq(c.rules[0].for_usec, 90 * SEC);
        ck_assert_double_eq(c.rules[0].min_trend, 0.75);

        /* Keys a rule leaves out: no thresholds, any reclaim state. */
        ck_assert_str_eq(c.rules[1].match, "nfs_*");
        ck_assert(c.rules[1].ignore);
        ck_assert_int_eq(c.rules[1].reclaimable, CONFIG_RECLAIM_ANY);
        ck_assert_double_eq(c.rules[1].objects_per_min, 0);
        ck_assert_double_eq(c.rules[1].bytes_per_hour, 0);
        ck_assert_double_eq(c.rules[1].percent_per_hour, 0);
        ck_assert_uint_eq(c.rules[1].min_bytes, 0);
        ck_assert_uint_eq(c.rules[1].window_usec, HOUR);
        ck_assert_double_eq(c.rules[1].significance, 6);
        ck_assert_uint_eq(c.rules[1].steady_for_usec, 15 * MIN);
        ck_assert_uint_eq(c.rules[1].fast_for_usec, 0);
        ck_assert_uint_eq(c.rules[1].fast_exhaust_usec, 0);
        ck_assert_uint_eq(c.rules[1].for_usec, 0);
        ck_assert_double_eq(c.rules[1].min_trend, 0);

        ck_assert_str_eq(c.rules[2].match, "*");
        ck_assert_int_eq(c.rules[2].reclaimable, CONFIG_RECLAIM_YES);
        ck_assert_double_eq(c.rules[2].percent_per_hour, 100);
        /* The list replaced the defaults whole. */
        ck_assert_str_eq(c.rules[3].match, "");

        ck_assert(!c.alert.journal);
        ck_assert(c.alert.stderr_always);
        ck_assert_uint_eq(c.alert.repeat_usec, 2 * HOUR);
        ck_assert_double_eq(c.alert.rate_factor, 3.5);
        ck_assert_uint_eq(c.alert.clear_usec, 15 * MIN);
        ck_assert_uint_eq(c.alert.events_log_max_bytes, GIB);

        ck_assert(!c.capture.enabled);
        ck_assert_uint_eq(c.capture.duration_usec, 2 * MIN);
        ck_assert_uint_eq(c.capture.max_events, 12345);
        ck_assert_uint_eq(c.capture.max_memory_bytes, GIB);
        ck_assert_uint_eq(c.capture.buffer_bytes_per_cpu, 4 * MIB);
        ck_assert_uint_eq(c.capture.poll_usec, 20000);
        ck_assert_uint_eq(c.capture.callsites_interval_usec, 30 * SEC);
        ck_assert_uint_eq(c.capture.cooldown_usec, 6 * HOUR);
        ck_assert_uint_eq(c.capture.max_concurrent, 4);
        ck_assert_uint_eq(c.capture.disk_budget_bytes, 2 * GIB);
        ck_assert_uint_eq(c.capture.raw_trace_max_bytes, 0);
        ck_assert(!c.capture.mount_tracefs);

        ck_assert_str_eq(c.server.socket, "/tmp/root/run/sw.sock");
        ck_assert_str_eq(c.server.group, "wheel");
        ck_assert_uint_eq(c.server.max_clients, 8);
        ck_assert_uint_eq(c.server.max_request_bytes, 128 * KIB);
        ck_assert_uint_eq(c.server.idle_timeout_usec, 90 * SEC);
        ck_assert_str_eq(c.metrics.textfile, "/var/lib/node_exporter/slabwatch.prom");
}
END_TEST

/* Keys absent from a file keep their defaults; one key changes one field. */
START_TEST(test_partial_keeps_defaults) {
        struct config c, expect;
        struct config_error e;

        ck_assert_int_eq(parse_str("capture:\n  poll: 5ms\n", &c, &e), 0);
        config_defaults(&expect);
        expect.capture.poll_usec = 5000;
        assert_config_eq(&c, &expect);

        /* Quoted values, flow style, empty strings for optional keys. */
        ck_assert_int_eq(parse_str("interval: \"5s\"\nserver: {group: \"\"}\nmetrics:\n  textfile:\n", &c, &e), 0);
        ck_assert_uint_eq(c.interval_usec, 5 * SEC);
        ck_assert_str_eq(c.server.group, "");
        ck_assert_str_eq(c.metrics.textfile, "");

        /* A shorter string over a longer default leaves no tail behind. */
        ck_assert_int_eq(parse_str("paths: {proc: /p}\n", &c, &e), 0);
        config_defaults(&expect);
        memset(expect.paths.proc, 0, sizeof expect.paths.proc);
        memcpy(expect.paths.proc, "/p", 2);
        assert_config_eq(&c, &expect);

        /* Booleans in every spelling. */
        ck_assert_int_eq(parse_str("alert: {journal: No, stderr: YES}\ncapture: {enabled: Off, mount_tracefs: on}\n", &c, &e), 0);
        ck_assert(!c.alert.journal);
        ck_assert(c.alert.stderr_always);
        ck_assert(!c.capture.enabled);
        ck_assert(c.capture.mount_tracefs);

        /* Page size 0 and powers of two; percent with and without '%'. */
        ck_assert_int_eq(parse_str("page_size: 65536\n", &c, &e), 0);
        ck_assert_uint_eq(c.page_size, 64 * KIB);
        ck_assert_int_eq(parse_str("thresholds:\n  - {match: a, percent_per_hour: 12}\n  - {match: b, percent_per_hour: 12.5 %}\n", &c, &e), 0);
        ck_assert_double_eq(c.rules[0].percent_per_hour, 12);
        ck_assert_double_eq(c.rules[1].percent_per_hour, 12.5);

        /* "-0" is zero, not a negative zero that prints as "-0". */
        ck_assert_int_eq(parse_str("thresholds:\n  - {match: a, objects_per_min: -0, percent_per_hour: 1}\n", &c, &e), 0);
        ck_assert(c.rules[0].objects_per_min == 0 && !signbit(c.rules[0].objects_per_min));
}
END_TEST

START_TEST(test_custom_rule_fixture) {
        struct config c;
        struct config_error e;
        const struct config_rule *r;

        ck_assert_int_eq(config_load_file(FIXTURES_DIR "/config/custom-rule.yaml", &c, &e), 0);
        ck_assert_uint_eq(c.interval_usec, SEC);
        ck_assert_uint_eq(c.n_rules, 4);
        r = config_rule_for(&c, "signal_cache", false);
        ck_assert_ptr_nonnull(r);
        ck_assert_str_eq(r->match, "signal_cache");
        ck_assert_uint_eq(r->window_usec, 30 * SEC);
        r = config_rule_for(&c, "eventpoll_epi", false);
        ck_assert_ptr_nonnull(r);
        ck_assert(r->ignore);
        r = config_rule_for(&c, "dentry", true);
        ck_assert_ptr_eq(r, &c.rules[2]);
        r = config_rule_for(&c, "kmalloc-64", false);
        ck_assert_ptr_eq(r, &c.rules[3]);
}
END_TEST

/* The YAML examples in the man page load, and the one that shows the
 * default rules is exactly the defaults: the page cannot drift either. */
START_TEST(test_man_page_examples) {
        size_t len, n_blocks = 0;
        char *page = testutil_read_fixture("../../docs/slabwatch.yaml.5", &len);
        char *yaml = malloc(len + 1);
        const char *p = page;
        struct config defaults;

        config_defaults(&defaults);
        while ((p = strstr(p, "\n.EX\n"))) {
                const char *end = strstr(p, "\n.EE\n");
                size_t n = 0;
                struct config c;
                struct config_error e;
                int r;

                ck_assert_ptr_nonnull(end);
                /* Undo the roff escapes the examples use. */
                for (const char *q = p + 5; q <= end; q++) {
                        if (strncmp(q, "\\-", 2) == 0) {
                                yaml[n++] = '-';
                                q++;
                        } else if (strncmp(q, "\\(dq", 4) == 0) {
                                yaml[n++] = '"';
                                q += 3;
                        } else
                                yaml[n++] = *q;
                }
                yaml[n] = '\0';
                p = end;
                if (strstr(yaml, ".yaml:"))
                        continue;       /* DIAGNOSTICS shows messages, not YAML */
                r = config_parse(yaml, n, &c, &e);
                ck_assert_msg(r == 0, "example %zu: %u:%u: %s\n%s", n_blocks, e.line, e.column, e.message, yaml);
                if (n_blocks == 0)
                        assert_config_eq(&c, &defaults);
                n_blocks++;
        }
        ck_assert_uint_ge(n_blocks, 3);
        free(yaml);
        free(page);
}
END_TEST

/* ---------------------------------------------------------------------- */
/* Durations and sizes. */

START_TEST(test_durations) {
        static const struct {
                const char *text;
                int ret;
                uint64_t usec;
        } cases[] = {
                { "10s", 0, 10 * SEC },
                { "5m", 0, 5 * MIN },
                { "1h30m", 0, 90 * MIN },
                { "1h 30m", 0, 90 * MIN },
                { "2d", 0, 2 * DAY },
                { "1w", 0, 7 * DAY },
                { "250ms", 0, 250000 },
                { "100us", 0, 100 },
                { "1.5h", 0, 90 * MIN },
                { "0.5s", 0, 500000 },
                { "1.25ms", 0, 1250 },
                { "1m30s", 0, 90 * SEC },
                { "1s500ms", 0, 1500000 },
                { " 10s ", 0, 10 * SEC },
                { "10 s", 0, 10 * SEC },
                { "0010s", 0, 10 * SEC },
                { "0", 0, 0 },
                { "0s", 0, 0 },
                { "0.0000001s", 0, 0 },
                { "18446744073709551615us", 0, UINT64_MAX },
                { "", -EINVAL, 0 },
                { "   ", -EINVAL, 0 },
                { "10", -EINVAL, 0 },
                { "1.5", -EINVAL, 0 },
                { "s", -EINVAL, 0 },
                { "-5s", -EINVAL, 0 },
                { "+5s", -EINVAL, 0 },
                { "10x", -EINVAL, 0 },
                { "10S", -EINVAL, 0 },
                { "10sec", -EINVAL, 0 },
                { "10seconds", -EINVAL, 0 },
                { "1h30", -EINVAL, 0 },
                { "1.s", -EINVAL, 0 },
                { ".5s", -EINVAL, 0 },
                { "1e3s", -EINVAL, 0 },
                { "0x10s", -EINVAL, 0 },
                { "10s,", -EINVAL, 0 },
                { "18446744073709551616us", -ERANGE, 0 },
                { "99999999999999999999999s", -ERANGE, 0 },
                { "40000000w", -ERANGE, 0 },
                { "18446744073709551615us1us", -ERANGE, 0 },
        };

        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                uint64_t v = 12345;
                int r = config_parse_duration(cases[i].text, &v);

                ck_assert_msg(r == cases[i].ret, "\"%s\": %d, expected %d", cases[i].text, r, cases[i].ret);
                if (r == 0)
                        ck_assert_msg(v == cases[i].usec, "\"%s\": %" PRIu64 ", expected %" PRIu64, cases[i].text, v,
                                      cases[i].usec);
                else
                        ck_assert_msg(v == 12345, "\"%s\": output written on error", cases[i].text);
        }
        ck_assert_int_eq(config_parse_duration(NULL, &(uint64_t) { 0 }), -EINVAL);
}
END_TEST

START_TEST(test_sizes) {
        static const struct {
                const char *text;
                int ret;
                uint64_t bytes;
        } cases[] = {
                { "4096", 0, 4096 },
                { "0", 0, 0 },
                { "64KiB", 0, 64 * KIB },
                { "64K", 0, 64 * KIB },
                { "64KB", 0, 64 * KIB },
                { "64kb", 0, 64 * KIB },
                { "64 KiB", 0, 64 * KIB },
                { "4MiB", 0, 4 * MIB },
                { "4M", 0, 4 * MIB },
                { "1G", 0, GIB },
                { "1GB", 0, GIB },
                { "2TiB", 0, 2 * TIB },
                { "1.5GiB", 0, 3 * GIB / 2 },
                { "1.5K", 0, 1536 },
                { "0.5M", 0, MIB / 2 },
                { "100B", 0, 100 },
                { "16777215TiB", 0, UINT64_MAX - TIB + 1 },
                { "18446744073709551615", 0, UINT64_MAX },
                { "", -EINVAL, 0 },
                { "KiB", -EINVAL, 0 },
                { "-1", -EINVAL, 0 },
                { "1.5", -EINVAL, 0 },
                { "1.5B", -EINVAL, 0 },
                { "4 MiBs", -EINVAL, 0 },
                { "4X", -EINVAL, 0 },
                { "4 M i B", -EINVAL, 0 },
                { "1e6", -EINVAL, 0 },
                { "0x10", -EINVAL, 0 },
                { "4PiB", -EINVAL, 0 },
                { "16777216TiB", -ERANGE, 0 },
                { "18446744073709551616", -ERANGE, 0 },
                { "99999999999999999999999G", -ERANGE, 0 },
        };

        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                uint64_t v = 12345;
                int r = config_parse_size(cases[i].text, &v);

                ck_assert_msg(r == cases[i].ret, "\"%s\": %d, expected %d", cases[i].text, r, cases[i].ret);
                if (r == 0)
                        ck_assert_msg(v == cases[i].bytes, "\"%s\": %" PRIu64 ", expected %" PRIu64, cases[i].text, v,
                                      cases[i].bytes);
                else
                        ck_assert_msg(v == 12345, "\"%s\": output written on error", cases[i].text);
        }
}
END_TEST

START_TEST(test_format_roundtrip) {
        static const uint64_t durations[] = {
                0, 1, 999, 1000, 250000, SEC, 1500000, 10 * SEC, 90 * MIN, DAY, 30 * DAY,
                DAY + HOUR + MIN + SEC + 1001, UINT64_MAX,
        };
        static const uint64_t sizes[] = {
                0, 1, 1023, 1024, 1536, 4096, 64 * KIB, 1536 * KIB, 4 * MIB, GIB, 3 * TIB, UINT64_MAX,
        };
        char buf[64];
        uint64_t v;

        ck_assert_str_eq(config_format_duration(90 * MIN, buf, sizeof buf), "1h30m");
        ck_assert_str_eq(config_format_duration(250000, buf, sizeof buf), "250ms");
        ck_assert_str_eq(config_format_duration(0, buf, sizeof buf), "0");
        ck_assert_str_eq(config_format_duration(30 * DAY, buf, sizeof buf), "30d");
        ck_assert_str_eq(config_format_duration(1500000, buf, sizeof buf), "1s500ms");
        ck_assert_str_eq(config_format_size(4 * MIB, buf, sizeof buf), "4MiB");
        ck_assert_str_eq(config_format_size(1536, buf, sizeof buf), "1536");
        ck_assert_str_eq(config_format_size(1536 * KIB, buf, sizeof buf), "1536KiB");
        ck_assert_str_eq(config_format_size(0, buf, sizeof buf), "0");

        for (size_t i = 0; i < sizeof durations / sizeof durations[0]; i++) {
                config_format_duration(durations[i], buf, sizeof buf);
                ck_assert_msg(config_parse_duration(buf, &v) == 0 && v == durations[i], "duration %s", buf);
        }
        for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
                config_format_size(sizes[i], buf, sizeof buf);
                ck_assert_msg(config_parse_size(buf, &v) == 0 && v == sizes[i], "size %s", buf);
        }

        /* A short buffer truncates, never overflows. */
        char tiny[4];
        config_format_duration(DAY + HOUR + MIN, tiny, sizeof tiny);
        ck_assert_uint_le(strlen(tiny), 3);
        config_format_size(3 * TIB, tiny, sizeof tiny);
        ck_assert_uint_le(strlen(tiny), 3);
}
END_TEST

/* ---------------------------------------------------------------------- */
/* Errors: every class, with the position of the offending node. */

static const struct error_case {
        const char *yaml;
        unsigned line, column;
        const char *message;    /* a substring of the message */
} error_cases[] = {
        /* unknown keys, with a suggestion when one is close */
        { "interval: 10s\nintervl: 5s\n", 2, 1, "unknown key 'intervl' (did you mean 'interval'?)" },
        { "history:\n  raw: 1h\n  hours: 30d\n", 3, 3, "history: unknown key 'hours' (did you mean 'hour'?)" },
        { "alert:\n  color: red\n", 2, 3, "alert: unknown key 'color'" },
        { "thresholds:\n  - match: a\n    objects_per_minute: 5\n", 3, 5, "thresholds[0]: unknown key 'objects_per_minute'" },
        { "? [a, b]\n: 1\n", 1, 3, "expected a key name, got a list" },
        /* wrong types */
        { "interval: {a: 1}\n", 1, 11, "interval: expected a duration" },
        { "interval: [1s]\n", 1, 11, "got a list" },
        { "interval:\n", 1, 10, "interval: expected a duration (like 10s, 5m or 1h30m), got nothing" },
        { "history: 5m\n", 1, 10, "history: expected a mapping of keys, got a single value" },
        { "thresholds: {match: x}\n", 1, 13, "thresholds: expected a list of rules" },
        { "thresholds:\n  - foo\n", 2, 5, "thresholds[0]: expected a rule" },
        { "alert:\n  journal: maybe\n", 2, 12, "alert.journal: 'maybe' is not a boolean" },
        { "thresholds:\n  - match: a\n    reclaimable: 1\n", 3, 18, "is not a boolean" },
        { "capture:\n  max_events: 2e7\n", 2, 15, "capture.max_events: '2e7' is not a whole number" },
        { "capture:\n  max_events: 1.5\n", 2, 15, "is not a whole number" },
        { "thresholds:\n  - match: a\n    objects_per_min: lots\n", 3, 22, "'lots' is not a number" },
        { "hello\n", 1, 1, "the top level must be a mapping" },
        { "- a\n", 1, 1, "the top level must be a mapping" },
        /* durations */
        { "interval: 10\n", 1, 11, "a bare number is ambiguous" },
        { "interval: 10x\n", 1, 11, "unknown unit" },
        { "interval: 10 parsecs\n", 1, 11, "unknown unit" },
        { "interval: -1s\n", 1, 11, "not a valid duration" },
        { "interval: 99999999999999999999s\n", 1, 11, "too large" },
        { "capture:\n  duration: 99999999w\n", 2, 13, "too long" },
        /* sizes */
        { "capture:\n  max_memory: 12 apples\n", 2, 15, "capture.max_memory: '12 apples' is not a valid size" },
        { "capture:\n  max_memory: 1.5\n", 2, 15, "must be whole" },
        { "capture:\n  max_memory: 99999999999999999999\n", 2, 15, "too large" },
        { "thresholds:\n  - match: a\n    objects_per_min: 1\n    min_bytes: 17000000TiB\n", 4, 16, "too large" },
        /* ranges */
        { "interval: 50ms\n", 1, 11, "interval: 50ms is out of range (100ms..1h)" },
        { "interval: 2h\n", 1, 11, "out of range (100ms..1h)" },
        { "page_size: 5000\n", 1, 12, "power of two" },
        { "page_size: 2KiB\n", 1, 12, "power of two" },
        { "alert:\n  rate_factor: 1\n", 2, 16, "alert.rate_factor: 1 must be greater than 1" },
        { "alert:\n  rate_factor: -3\n", 2, 16, "must be greater than 1" },
        { "capture:\n  max_concurrent: 17\n", 2, 19, "capture.max_concurrent: 17 is out of range (1..16)" },
        { "capture:\n  max_concurrent: 0\n", 2, 19, "out of range (1..16)" },
        { "capture:\n  poll: 5s\n", 2, 9, "out of range (1ms..1s)" },
        { "server:\n  max_clients: 99999999999999999999999\n", 2, 16, "out of range" },
        { "thresholds:\n  - match: a\n    min_trend: 1.5\n    objects_per_min: 1\n", 3, 16, "min_trend: 1.5 is out of range (0..1)" },
        /* strings and paths */
        { "paths:\n  proc: proc\n", 2, 9, "paths.proc: 'proc' is not an absolute path" },
        { "paths:\n  state_dir: \"\"\n", 2, 14, "not an absolute path" },
        { "metrics:\n  textfile: out.prom\n", 2, 13, "not an absolute path" },
        { "paths:\n  proc: \"/pr\\0oc\"\n", 2, 9, "contains a NUL character" },
        { "server:\n  group: \"wheel;rm\"\n", 2, 10, "not a valid group name" },
        { "thresholds:\n  - match: \"kmalloc 8\"\n    objects_per_min: 1\n", 2, 12, "contains whitespace" },
        { "thresholds:\n  - match: \"\"\n    objects_per_min: 1\n", 2, 12, "the glob is empty" },
        /* duplicates */
        { "interval: 10s\nalert:\n  repeat: 1h\ninterval: 20s\n", 4, 1, "duplicate key 'interval' (first given at line 1)" },
        { "alert: {repeat: 1h, repeat: 2h}\n", 1, 21, "alert: duplicate key 'repeat'" },
        { "thresholds:\n  - match: a\n    window: 10m\n    window: 5m\n    objects_per_min: 1\n", 4, 5,
          "thresholds[0]: duplicate key 'window' (first given at line 3)" },
        /* rules */
        { "thresholds: []\n", 1, 13, "thresholds: the list is empty" },
        { "thresholds:\n", 1, 12, "thresholds: the list is empty" },
        { "thresholds:\n  - window: 10m\n    objects_per_min: 1\n", 2, 5, "thresholds[0]: a rule needs match:" },
        { "thresholds:\n  - match: a\n    significance: 0\n", 2, 5,
          "sets none of objects_per_min, bytes_per_hour, percent_per_hour and significance" },
        { "thresholds:\n  - match: a\n    objects_per_min: 0\n    significance: 0\n    min_bytes: 4MiB\n", 2, 5,
          "sets none of" },
        { "thresholds:\n  - match: a\n    fast_exhaust: 30d\n", 3, 19, "fast_exhaust needs fast_for" },
        { "thresholds:\n  - match: a\n    window: 10m\n    steady_for: 20m\n", 4, 17,
          "thresholds[0]: steady_for and fast_for must not be longer than window (10m)" },
        { "thresholds:\n  - match: \"*\"\n    objects_per_min: 1\n  - match: kmalloc-*\n    objects_per_min: 1\n", 4, 5,
          "thresholds[1]: rule \"kmalloc-*\" can never match: thresholds[0] (\"*\")" },
        { "thresholds:\n  - {match: a, ignore: true}\n  - {match: a, objects_per_min: 1}\n", 3, 5, "can never match" },
        /* checks across keys name both */
        { "interval: 10m\nthresholds:\n  - match: \"*\"\n    window: 15m\n    objects_per_min: 1\n", 4, 13,
          "thresholds[0]: window 15m must be at least 2 × interval (2 × 10m)" },
        { "thresholds:\n  - match: a\n    window: 30s\n    objects_per_min: 1\ninterval: 20s\n", 3, 13,
          "window 30s must be at least 2 × interval (2 × 20s)" },
        { "interval: 30s\nthresholds:\n  - match: a\n    objects_per_min: 1\n    window: 50s\n", 5, 13, "window 50s" },
        { "interval: 40m\n", 1, 11, "the default rule 1: window 1h must be at least 2 × interval (2 × 40m)" },
        { "interval: 40m\nthresholds:\n  - match: a\n    objects_per_min: 1\n", 3, 5,
          "thresholds[0]: window 1h must be at least 2 × interval (2 × 40m)" },
        { "history:\n  minute: 1h\nthresholds:\n  - match: a\n    window: 2h\n    objects_per_min: 1\n", 5, 13,
          "window 2h must not be longer than history.minute (1h)" },
        { "history:\n  minute: 6h\n", 2, 11, "the default rule 0: window 12h must not be longer than history.minute (6h)" },
        { "interval: 100ms\nhistory:\n  raw: 3h\n", 3, 8, "history.raw (3h) would keep more than" },
        { "capture:\n  raw_trace_max: 512MiB\n", 2, 18, "capture.raw_trace_max (512MiB) must not exceed capture.disk_budget (256MiB)" },
        { "capture:\n  disk_budget: 8MiB\n", 2, 16, "must not exceed capture.disk_budget (8MiB)" },
        /* YAML syntax, aliases, documents */
        { "thresholds:\n  - match: *\n", 2, 13, "a glob starting with '*' must be quoted" },
        { "interval: &a 10s\nalert:\n  repeat: *a\n", 3, 11, "alert.repeat: aliases (*a) are not supported" },
        { "interval: 10s\n---\ninterval: 20s\n", 2, 1, "only one YAML document is allowed" },
        { "interval: 10s\nalert: {journal: yes\n", 3, 1, "did not find expected ',' or '}'" },
        { "thresholds:\n  - match: \"kmalloc-\n", 3, 1, "found unexpected end of stream" },
        /* An unclosed "[" or "{" where a value goes: the syntax error and
         * where the file ended, not "got a list". */
        { "interval: [10s\n", 2, 1, "interval: while parsing a flow sequence: did not find expected ',' or ']'" },
        { "alert:\n  repeat: {a: 1\n", 3, 1, "alert.repeat: while parsing a flow mapping: did not find expected ',' or '}'" },
        { "history: [\n", 2, 1, "history: while parsing a flow node" },
        { "thresholds: {match: a\n", 2, 1, "did not find expected ',' or '}'" },
        { "thresholds:\n  - [a\n", 3, 1, "did not find expected ',' or ']'" },
        /* Closed, it is the wrong kind, said so. */
        { "interval: [10s]\n", 1, 11, "expected a duration (like 10s, 5m or 1h30m), got a list" },
        { "interval: 10s\n\tfoo: 1\n", 2, 1, "" },
        { "interval: 10s\n\x01x: 1\n", 2, 1, "control characters are not allowed (0x01)" },
        { "interval: 1\xff" "0s\n", 1, 12, "invalid leading UTF-8 octet (0xFF)" },
        { "interval: 10s # \xc3\xa9\xe2\x82\xac\nx\x02", 2, 2, "control characters are not allowed" },
};

START_TEST(test_errors) {
        const struct error_case *t = &error_cases[_i];
        struct config c, before;
        struct config_error e;
        int r;

        memset(&c, 0x3c, sizeof c);
        before = c;
        r = parse_str(t->yaml, &c, &e);
        ck_assert_msg(r == -EINVAL, "case %d: returned %d (%s)", _i, r, e.message);
        ck_assert_msg(e.line == t->line && e.column == t->column, "case %d: at %u:%u, expected %u:%u (%s)", _i, e.line,
                      e.column, t->line, t->column, e.message);
        ck_assert_msg(strstr(e.message, t->message), "case %d: \"%s\" lacks \"%s\"", _i, e.message, t->message);
        ck_assert_msg(e.message[0] != '\0', "case %d: empty message", _i);
        /* The output is written only on success. */
        ck_assert_msg(memcmp(&c, &before, sizeof c) == 0, "case %d: output written on error", _i);
}
END_TEST

START_TEST(test_too_many_rules) {
        size_t cap = 64 + (CONFIG_RULES_MAX + 1) * 48, n;
        char *yaml = malloc(cap);
        struct config c;
        struct config_error e;

        /* Exactly the maximum loads. */
        n = (size_t) snprintf(yaml, cap, "thresholds:\n");
        for (int i = 0; i < CONFIG_RULES_MAX; i++)
                n += (size_t) snprintf(yaml + n, cap - n, "  - {match: \"r%d\", objects_per_min: 1}\n", i);
        ck_assert_int_eq(config_parse(yaml, n, &c, &e), 0);
        ck_assert_uint_eq(c.n_rules, CONFIG_RULES_MAX);
        ck_assert_str_eq(c.rules[CONFIG_RULES_MAX - 1].match, "r63");

        /* One more is refused at that rule. */
        n += (size_t) snprintf(yaml + n, cap - n, "  - {match: \"r%d\", objects_per_min: 1}\n", CONFIG_RULES_MAX);
        ck_assert_int_eq(config_parse(yaml, n, &c, &e), -EINVAL);
        ck_assert_uint_eq(e.line, CONFIG_RULES_MAX + 2);
        ck_assert_uint_eq(e.column, 5);
        ck_assert_ptr_nonnull(strstr(e.message, "more than 64 rules"));
        free(yaml);
}
END_TEST

START_TEST(test_overlong_strings) {
        char *yaml = malloc(2 * CONFIG_PATH_MAX);
        struct config c;
        struct config_error e;

        /* match: the longest kept, then one more byte. */
        snprintf(yaml, 2 * CONFIG_PATH_MAX, "thresholds:\n  - match: \"%0*d\"\n    objects_per_min: 1\n", CONFIG_MATCH_MAX - 1, 0);
        ck_assert_int_eq(parse_str(yaml, &c, &e), 0);
        ck_assert_uint_eq(strlen(c.rules[0].match), CONFIG_MATCH_MAX - 1);
        snprintf(yaml, 2 * CONFIG_PATH_MAX, "thresholds:\n  - match: \"%0*d\"\n    objects_per_min: 1\n", CONFIG_MATCH_MAX, 0);
        ck_assert_int_eq(parse_str(yaml, &c, &e), -EINVAL);
        ck_assert_uint_eq(e.line, 2);
        ck_assert_uint_eq(e.column, 12);
        ck_assert_ptr_nonnull(strstr(e.message, "longer than 127 bytes"));

        /* A path over CONFIG_PATH_MAX. */
        snprintf(yaml, 2 * CONFIG_PATH_MAX, "paths:\n  sys: /%0*d\n", CONFIG_PATH_MAX, 0);
        ck_assert_int_eq(parse_str(yaml, &c, &e), -EINVAL);
        ck_assert_uint_eq(e.line, 2);
        ck_assert_uint_eq(e.column, 8);
        ck_assert_ptr_nonnull(strstr(e.message, "longer than 4095 bytes"));

        /* The socket must fit sun_path. */
        snprintf(yaml, 2 * CONFIG_PATH_MAX, "server:\n  socket: /%0*d\n", CONFIG_SOCKET_PATH_MAX - 2, 0);
        ck_assert_int_eq(parse_str(yaml, &c, &e), 0);
        ck_assert_uint_eq(strlen(c.server.socket), CONFIG_SOCKET_PATH_MAX - 1);
        snprintf(yaml, 2 * CONFIG_PATH_MAX, "server:\n  socket: /%0*d\n", CONFIG_SOCKET_PATH_MAX - 1, 0);
        ck_assert_int_eq(parse_str(yaml, &c, &e), -EINVAL);
        ck_assert_ptr_nonnull(strstr(e.message, "longer than 107 bytes"));

        /* A group name over the field. */
        snprintf(yaml, 2 * CONFIG_PATH_MAX, "server:\n  group: g%0*d\n", CONFIG_GROUP_MAX, 0);
        ck_assert_int_eq(parse_str(yaml, &c, &e), -EINVAL);
        ck_assert_ptr_nonnull(strstr(e.message, "longer than 63 bytes"));

        /* An unknown key of any length is quoted back cut short. */
        snprintf(yaml, 2 * CONFIG_PATH_MAX, "alert:\n  %0*d: 1\n", 900, 0);
        ck_assert_int_eq(parse_str(yaml, &c, &e), -EINVAL);
        ck_assert_ptr_nonnull(strstr(e.message, "unknown key"));
        ck_assert_uint_lt(strlen(e.message), 128);
        free(yaml);
}
END_TEST

/* ---------------------------------------------------------------------- */
/* Limits: size, garbage, truncation, nesting. */

START_TEST(test_limit_size) {
        char *buf = malloc(CONFIG_FILE_MAX + 1);
        struct config c;
        struct config_error e;

        /* Exactly the limit, all comments: accepted. */
        for (size_t i = 0; i < CONFIG_FILE_MAX; i += 64) {
                memset(buf + i, '#', 63);
                buf[i + 63] = '\n';
        }
        ck_assert_int_eq(config_parse(buf, CONFIG_FILE_MAX, &c, &e), 0);

        /* One byte more: refused before parsing. */
        buf[CONFIG_FILE_MAX] = '\n';
        ck_assert_int_eq(config_parse(buf, CONFIG_FILE_MAX + 1, &c, &e), -EFBIG);
        ck_assert_uint_eq(e.line, 0);
        ck_assert_ptr_nonnull(strstr(e.message, "larger than"));

        /* One line a megabyte long: a value with trailing blanks. */
        memset(buf, ' ', CONFIG_FILE_MAX);
        memcpy(buf, "interval: 20s", 13);
        ck_assert_int_eq(config_parse(buf, CONFIG_FILE_MAX, &c, &e), 0);
        ck_assert_uint_eq(c.interval_usec, 20 * SEC);

        /* A key longer than YAML's simple-key limit. */
        memset(buf, 'k', 100000);
        memcpy(buf + 100000, ": 1\n", 4);
        ck_assert_int_eq(config_parse(buf, 100004, &c, &e), -EINVAL);
        free(buf);
}
END_TEST

START_TEST(test_limit_binary_garbage) {
        enum { LEN = 4096, ROUNDS = 200 };
        char *buf = malloc(LEN);
        uint32_t state = 0x12345678;
        struct config c;
        struct config_error e;

        for (int round = 0; round < ROUNDS; round++) {
                size_t len = (size_t) (round * 97) % LEN + 1;
                int r;

                for (size_t i = 0; i < len; i++) {
                        state = state * 1103515245 + 12345;
                        buf[i] = (char) (state >> 24);
                }
                r = config_parse(buf, len, &c, &e);
                ck_assert_msg(r == -EINVAL, "round %d: %d", round, r);
                ck_assert_msg(e.message[0] != '\0', "round %d: no message", round);
        }

        /* The fixture: an invalid byte reported on its line. */
        ck_assert_int_eq(config_load_file(FIXTURES_DIR "/config/binary.yaml", &c, &e), -EINVAL);
        ck_assert_uint_eq(e.line, 3);
        ck_assert_ptr_nonnull(strstr(e.message, "not allowed"));
        free(buf);
}
END_TEST

/* Every prefix of the shipped file either loads or fails with a position:
 * nothing in between (a crash, an error without a message). */
START_TEST(test_limit_truncated) {
        size_t len;
        char *text = testutil_read_fixture("../../config/slabwatch.yaml", &len);
        struct config c;
        struct config_error e;
        unsigned failures = 0;

        for (size_t n = 0; n <= len; n++) {
                int r = config_parse(text, n, &c, &e);

                ck_assert_msg(r == 0 || r == -EINVAL, "prefix %zu: %d", n, r);
                if (r < 0) {
                        failures++;
                        ck_assert_msg(e.line >= 1 && e.message[0], "prefix %zu: no position (%s)", n, e.message);
                }
        }
        ck_assert_uint_gt(failures, 0);
        free(text);

        ck_assert_int_eq(config_load_file(FIXTURES_DIR "/config/truncated.yaml", &c, &e), -EINVAL);
        ck_assert_uint_eq(e.line, 4);
}
END_TEST

START_TEST(test_limit_nesting) {
        enum { DEPTH = 200000 };
        static const char *const prefixes[] = {
                "", "interval: ", "history: ", "thresholds: ", "thresholds:\n  - match: a\n    window: ",
                "alert:\n  ",
        };
        static const char opens[] = { '[', '{' };
        char *buf = malloc(DEPTH + 128);
        struct config c;
        struct config_error e;

        for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++)
                for (size_t k = 0; k < sizeof opens; k++) {
                        size_t n = strlen(prefixes[i]);

                        memcpy(buf, prefixes[i], n);
                        memset(buf + n, opens[k], DEPTH);
                        ck_assert_msg(config_parse(buf, n + DEPTH, &c, &e) == -EINVAL, "prefix %zu '%c'", i, opens[k]);
                        ck_assert(e.line >= 1);
                }
        /* Deep block nesting, indented. */
        {
                size_t n = 0;

                for (int d = 0; d < 200 && n + 512 < DEPTH; d++) {
                        memset(buf + n, ' ', (size_t) d);
                        n += (size_t) d;
                        n += (size_t) sprintf(buf + n, "k%d:\n", d);
                }
                ck_assert_int_eq(config_parse(buf, n, &c, &e), -EINVAL);
                ck_assert_uint_eq(e.line, 1);
        }
        free(buf);
}
END_TEST

/* ---------------------------------------------------------------------- */
/* Files. */

START_TEST(test_load_file_errors) {
        char *dir = testutil_mkdtemp();
        char path[4096], msg[4096 + CONFIG_ERROR_MAX];
        struct config c;
        struct config_error e;
        char *big;

        snprintf(path, sizeof path, "%s/missing.yaml", dir);
        ck_assert_int_eq(config_load_file(path, &c, &e), -ENOENT);
        ck_assert_uint_eq(e.line, 0);
        ck_assert_ptr_nonnull(strstr(e.message, "cannot open"));

        ck_assert_int_eq(config_load_file(dir, &c, &e), -EISDIR);

        /* An error in a file prints as FILE:LINE:COLUMN: message. */
        ck_assert_int_eq(config_load_file(FIXTURES_DIR "/config/bad-unknown-key.yaml", &c, &e), -EINVAL);
        config_error_format(&e, "bad-unknown-key.yaml", msg, sizeof msg);
        ck_assert_str_eq(msg, "bad-unknown-key.yaml:4:3: alert: unknown key 'repaet' (did you mean 'repeat'?)");

        ck_assert_int_eq(config_load_file(FIXTURES_DIR "/config/bad-window.yaml", &c, &e), -EINVAL);
        config_error_format(&e, "bad-window.yaml", msg, sizeof msg);
        ck_assert_str_eq(msg, "bad-window.yaml:4:13: thresholds[0]: window 45s must be at least 2 × interval (2 × 30s)");

        /* Too big a file is refused without reading it all. */
        big = malloc(CONFIG_FILE_MAX + 2);
        memset(big, '#', CONFIG_FILE_MAX + 1);
        big[CONFIG_FILE_MAX + 1] = '\n';
        testutil_write_file(dir, "big.yaml", big, CONFIG_FILE_MAX + 2);
        snprintf(path, sizeof path, "%s/big.yaml", dir);
        ck_assert_int_eq(config_load_file(path, &c, &e), -EFBIG);
        free(big);

        /* An empty file is all defaults. */
        testutil_write_file(dir, "empty.yaml", "", 0);
        snprintf(path, sizeof path, "%s/empty.yaml", dir);
        ck_assert_int_eq(config_load_file(path, &c, &e), 0);
        ck_assert_uint_eq(c.interval_usec, 10 * SEC);

        testutil_rmtree(dir);
        free(dir);
}
END_TEST

/* paths.root: every host path the file does not set lies under it. */
START_TEST(test_paths_root) {
        struct config c, expect;
        struct config_error e;
        char *yaml = malloc(2 * CONFIG_PATH_MAX);

        ck_assert_int_eq(parse_str("paths: {root: /tmp/fake}\n", &c, &e), 0);
        ck_assert_str_eq(c.paths.root, "/tmp/fake");
        ck_assert_str_eq(c.paths.proc, "/tmp/fake/proc");
        ck_assert_str_eq(c.paths.sys, "/tmp/fake/sys");
        ck_assert_str_eq(c.paths.tracefs, "/tmp/fake/sys/kernel/tracing");
        ck_assert_str_eq(c.paths.debugfs, "/tmp/fake/sys/kernel/debug");
        ck_assert_str_eq(c.paths.dev_kmsg, "/tmp/fake/dev/kmsg");
        ck_assert_str_eq(c.paths.state_dir, "/tmp/fake/var/lib/slabwatch");
        ck_assert_str_eq(c.server.socket, "/tmp/fake/run/slabwatch/slabwatch.sock");
        /* Not a host path: the collector's directory is the user's. */
        ck_assert_str_eq(c.metrics.textfile, "");

        /* The same as composing in code; a trailing slash changes nothing. */
        config_defaults(&expect);
        ck_assert_int_eq(config_set_root(&expect, "/tmp/fake"), 0);
        assert_config_eq(&c, &expect);
        ck_assert_int_eq(parse_str("paths: {root: /tmp/fake/}\n", &c, &e), 0);
        ck_assert_str_eq(c.paths.proc, "/tmp/fake/proc");

        /* A key given explicitly stays, wherever it is in the file. */
        ck_assert_int_eq(parse_str("server: {socket: /run/s.sock}\npaths:\n  state_dir: /srv/state\n  root: /tmp/fake\n",
                                   &c, &e), 0);
        ck_assert_str_eq(c.paths.state_dir, "/srv/state");
        ck_assert_str_eq(c.server.socket, "/run/s.sock");
        ck_assert_str_eq(c.paths.proc, "/tmp/fake/proc");

        /* A root too long for the socket says which key to set. */
        snprintf(yaml, 2 * CONFIG_PATH_MAX, "paths:\n  root: /%0*d\n", 90, 0);
        ck_assert_int_eq(parse_str(yaml, &c, &e), -EINVAL);
        ck_assert_uint_eq(e.line, 2);
        ck_assert_uint_eq(e.column, 9);
        ck_assert_ptr_nonnull(strstr(e.message, "server.socket under it would be too long"));
        snprintf(yaml, 2 * CONFIG_PATH_MAX, "paths:\n  root: /%0*d\nserver: {socket: /s.sock}\n", 90, 0);
        ck_assert_int_eq(parse_str(yaml, &c, &e), 0);

        ck_assert_int_eq(parse_str("paths: {root: tmp}\n", &c, &e), -EINVAL);
        ck_assert_ptr_nonnull(strstr(e.message, "not an absolute path"));

        /* In code: a bad root changes nothing. */
        config_defaults(&c);
        ck_assert_int_eq(config_set_root(&c, "relative"), -EINVAL);
        memset(yaml, 'a', 200);
        yaml[0] = '/';
        yaml[200] = '\0';
        ck_assert_int_eq(config_set_root(&c, yaml), -ENAMETOOLONG);
        config_defaults(&expect);
        assert_config_eq(&c, &expect);
        free(yaml);
}
END_TEST

START_TEST(test_load_policy) {
        char *dir = testutil_mkdtemp();
        char path[4096];
        struct config c, defaults;
        struct config_source src;
        struct config_error e;
        bool used_defaults = true;

        config_defaults(&defaults);
        ck_assert_int_eq(config_source_init(&src, NULL), 0);
        ck_assert_str_eq(src.path, CONFIG_DEFAULT_PATH);
        ck_assert(!src.named);

        /* No file at the default location: the defaults, and no error. */
        snprintf(path, sizeof path, "%s/slabwatch.yaml", dir);
        ck_assert_int_eq(config_source_init(&src, path), 0);
        ck_assert(src.named);
        src.named = false;
        memset(&c, 0xa5, sizeof c);
        ck_assert_int_eq(config_load(&src, &c, &used_defaults, &e), 0);
        ck_assert(used_defaults);
        ck_assert_int_eq(memcmp(&c, &defaults, sizeof c), 0);
        ck_assert_str_eq(e.message, "");

        /* A named file must be there. */
        src.named = true;
        ck_assert_int_eq(config_load(&src, &c, &used_defaults, &e), -ENOENT);
        ck_assert(!used_defaults);
        ck_assert_ptr_nonnull(strstr(e.message, "cannot open"));

        /* A file that is there is read, wherever it is. */
        testutil_write_file(dir, "slabwatch.yaml", "interval: 2s\n", 13);
        for (int named = 0; named <= 1; named++) {
                src.named = named;
                ck_assert_int_eq(config_load(&src, &c, NULL, &e), 0);
                ck_assert_uint_eq(c.interval_usec, 2 * SEC);
        }
        /* Only a missing file means the defaults: a bad one is an error. */
        testutil_write_file(dir, "slabwatch.yaml", "interval: [\n", 12);
        src.named = false;
        ck_assert_int_eq(config_load(&src, &c, &used_defaults, &e), -EINVAL);
        ck_assert(!used_defaults);

        char longpath[CONFIG_PATH_MAX + 8];
        memset(longpath, 'a', sizeof longpath - 1);
        longpath[sizeof longpath - 1] = '\0';
        ck_assert_int_eq(config_source_init(&src, longpath), -ENAMETOOLONG);

        testutil_rmtree(dir);
        free(dir);
}
END_TEST

START_TEST(test_error_format) {
        struct config_error e = { .line = 3, .column = 7 };
        char buf[256];

        snprintf(e.message, sizeof e.message, "interval: bad");
        ck_assert_str_eq(config_error_format(&e, "/etc/slabwatch/slabwatch.yaml", buf, sizeof buf),
                         "/etc/slabwatch/slabwatch.yaml:3:7: interval: bad");
        ck_assert_str_eq(config_error_format(&e, NULL, buf, sizeof buf), "3:7: interval: bad");
        e.line = e.column = 0;
        snprintf(e.message, sizeof e.message, "cannot open: No such file or directory");
        ck_assert_str_eq(config_error_format(&e, "x.yaml", buf, sizeof buf), "x.yaml: cannot open: No such file or directory");
        ck_assert_str_eq(config_error_format(&e, NULL, buf, sizeof buf), "cannot open: No such file or directory");
}
END_TEST

/* ---------------------------------------------------------------------- */
/* Rule matching. */

START_TEST(test_rule_for) {
        static const char yaml[] =
                "thresholds:\n"
                "  - {match: \"kmalloc-*\", reclaimable: false, objects_per_min: 1}\n"
                "  - {match: \"nfs_*\", ignore: true}\n"
                "  - {match: \"*\", reclaimable: true, percent_per_hour: 10}\n"
                "  - {match: \"[Tt][Cc][Pp]*\", bytes_per_hour: 1MiB}\n";
        struct config c;
        struct config_error e;

        ck_assert_msg(parse_str(yaml, &c, &e) == 0, "%s", e.message);
        ck_assert_ptr_eq(config_rule_for(&c, "kmalloc-8k", false), &c.rules[0]);
        /* reclaimable: false skips reclaimable caches. */
        ck_assert_ptr_eq(config_rule_for(&c, "kmalloc-rcl-8k", true), &c.rules[2]);
        ck_assert_ptr_eq(config_rule_for(&c, "nfs_inode_cache", true), &c.rules[1]);
        ck_assert(config_rule_for(&c, "nfs_inode_cache", false)->ignore);
        ck_assert_ptr_eq(config_rule_for(&c, "TCPv6", false), &c.rules[3]);
        ck_assert_ptr_eq(config_rule_for(&c, "tcp_bind_bucket", false), &c.rules[3]);
        ck_assert_ptr_null(config_rule_for(&c, "dentry", false));
        ck_assert_ptr_eq(config_rule_for(&c, "dentry", true), &c.rules[2]);
        /* First match wins, even when a later rule is more specific. */
        ck_assert_ptr_eq(config_rule_for(&c, "TCP", true), &c.rules[2]);
        /* Glob, not substring; names with any non-space character. */
        ck_assert_ptr_null(config_rule_for(&c, "xkmalloc-8", false));
        ck_assert_ptr_eq(config_rule_for(&c, "kmalloc-", false), &c.rules[0]);

        /* The defaults: reclaimable caches get the first rule. */
        config_defaults(&c);
        ck_assert_ptr_eq(config_rule_for(&c, "dentry", true), &c.rules[0]);
        ck_assert_ptr_eq(config_rule_for(&c, "kmalloc-8192", false), &c.rules[1]);
        ck_assert_ptr_eq(config_rule_for(&c, ":0000192", false), &c.rules[1]);
        c.n_rules = 0;
        ck_assert_ptr_null(config_rule_for(&c, "dentry", true));
}
END_TEST

static Suite *config_suite(void) {
        Suite *s = suite_create("config");
        TCase *tc;

        tc = tcase_create("load");
        tcase_add_test(tc, test_defaults);
        tcase_add_test(tc, test_shipped_file_equals_defaults);
        tcase_add_test(tc, test_empty_inputs);
        tcase_add_test(tc, test_every_key);
        tcase_add_test(tc, test_partial_keeps_defaults);
        tcase_add_test(tc, test_custom_rule_fixture);
        tcase_add_test(tc, test_man_page_examples);
        tcase_add_test(tc, test_load_file_errors);
        tcase_add_test(tc, test_load_policy);
        tcase_add_test(tc, test_paths_root);
        tcase_add_test(tc, test_error_format);
        suite_add_tcase(s, tc);

        tc = tcase_create("units");
        tcase_add_test(tc, test_durations);
        tcase_add_test(tc, test_sizes);
        tcase_add_test(tc, test_format_roundtrip);
        suite_add_tcase(s, tc);

        tc = tcase_create("errors");
        tcase_add_loop_test(tc, test_errors, 0, (int) (sizeof error_cases / sizeof error_cases[0]));
        tcase_add_test(tc, test_too_many_rules);
        tcase_add_test(tc, test_overlong_strings);
        suite_add_tcase(s, tc);

        tc = tcase_create("limits");
        tcase_add_test(tc, test_limit_size);
        tcase_add_test(tc, test_limit_binary_garbage);
        tcase_add_test(tc, test_limit_truncated);
        tcase_add_test(tc, test_limit_nesting);
        suite_add_tcase(s, tc);

        tc = tcase_create("rules");
        tcase_add_test(tc, test_rule_for);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(config_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
