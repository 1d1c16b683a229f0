/* The command handlers against a real daemon object sampling a fake /proc:
 * every command's answer, escaping of odd cache names, export paging, and
 * the metrics text through promtool when it is installed. */
#include <check.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "capture/capture.h"
#include "control/commands.h"
#include "core/daemon.h"
#include "caches/engine.h"
#include "testutil.h"

/* A cache name with every character JSON and the metrics format escape.
 * The fixture has 235 caches; this one makes 236. */
#define ODD_CACHE "we\"ird\\cache"

struct fixture {
        char *dir;
        char *slabinfo;         /* the fixture text */
        size_t slabinfo_len;
        struct ev_loop *loop;
        struct daemon *d;
        struct config cfg;
};

/* Write <dir>/proc/slabinfo with kmalloc-256 grown by @extra objects and
 * an odd-named cache appended. */
static void write_slabinfo(struct fixture *fx, unsigned extra) {
        size_t cap = fx->slabinfo_len + 512;
        char *out = malloc(cap);
        ck_assert_ptr_nonnull(out);
        size_t len = 0;
        for (const char *line = fx->slabinfo; *line;) {
                const char *nl = strchr(line, '\n');
                size_t l = nl ? (size_t) (nl - line + 1) : strlen(line);
                if (strncmp(line, "kmalloc-256 ", 12) == 0)
                        len += (size_t) snprintf(out + len, cap - len,
                                                 "kmalloc-256       %6u %6u    256   16    1 : tunables    0    0    0 : "
                                                 "slabdata %6u %6u      0\n",
                                                 809 + extra, 896 + extra, 56 + extra / 16, 56 + extra / 16);
                else {
                        memcpy(out + len, line, l);
                        len += l;
                }
                line += l;
        }
        len += (size_t) snprintf(out + len, cap - len,
                                 "%s     10     16    256   16    1 : tunables    0    0    0 : slabdata      1      1      0\n",
                                 ODD_CACHE);
        testutil_write_file(fx->dir, "proc/slabinfo", out, len);
        free(out);
}

static void fixture_init(struct fixture *fx, unsigned samples) {
        char path[4200];
        size_t len;
        memset(fx, 0, sizeof *fx);
        fx->dir = testutil_mkdtemp();
        char *meminfo = testutil_read_fixture("linux-6.18-x86_64/meminfo", &len);
        testutil_write_file(fx->dir, "proc/meminfo", meminfo, len);
        free(meminfo);
        fx->slabinfo = testutil_read_fixture("linux-6.18-x86_64/slabinfo", &fx->slabinfo_len);
        testutil_write_file(fx->dir, "sys/.keep", "", 0);
        testutil_write_file(fx->dir, "slabwatch.yaml", "interval: 1s\n", 13);

        config_defaults(&fx->cfg);
        fx->cfg.interval_usec = 1000000;
        fx->cfg.alert.journal = false;
        ck_assert_int_eq(config_set_root(&fx->cfg, fx->dir), 0);
        fx->cfg.capture.enabled = false;
        fx->loop = ev_loop_new(EVFLAG_AUTO);
        snprintf(path, sizeof path, "%s/slabwatch.yaml", fx->dir);
        struct config_source src;
        ck_assert_int_eq(config_source_init(&src, path), 0);
        ck_assert_int_eq(daemon_new(fx->loop, &src, &fx->cfg, commands_handle, &fx->d), 0);
        for (unsigned i = 0; i < samples; i++) {
                write_slabinfo(fx, i * 16);
                daemon_sample(fx->d);
        }
}

static void fixture_done(struct fixture *fx) {
        daemon_free(fx->d);
        ev_loop_destroy(fx->loop);
        testutil_rmtree(fx->dir);
        free(fx->dir);
        free(fx->slabinfo);
}

static const struct server_peer root = { .uid = 0, .privileged = true, .reader = true };

/* Run @req through the handler and the wire encoding, as a client sees it. */
static json_object *call(struct fixture *fx, const struct proto_request *req) {
        json_object *resp = commands_handle(&root, req, NULL, fx->d);
        ck_assert_ptr_nonnull(resp);
        char *frame = NULL;
        size_t len = 0;
        ck_assert_int_eq(proto_frame_encode(resp, PROTO_RESPONSE_MAX, &frame, &len), 0);
        json_object_put(resp);
        json_object *doc = NULL;
        ck_assert_int_eq(proto_response_decode(frame + PROTO_HEADER_SIZE, len - PROTO_HEADER_SIZE, &doc), 0);
        free(frame);
        return doc;
}

static json_object *data(json_object *doc) {
        enum proto_error code;
        const char *message = NULL;
        ck_assert_msg(proto_response_is_ok(doc, &code, &message), "%s: %s", proto_error_name(code), message);
        return json_object_object_get(doc, "data");
}

static void assert_error(json_object *doc, enum proto_error expected) {
        enum proto_error code;
        const char *message = NULL;
        ck_assert(!proto_response_is_ok(doc, &code, &message));
        ck_assert_msg(code == expected, "got %s (%s), expected %s", proto_error_name(code), message,
                      proto_error_name(expected));
        ck_assert_str_ne(message, "");
        json_object_put(doc);
}

static json_object *field(json_object *o, const char *key) {
        json_object *v = NULL;
        ck_assert_msg(json_object_object_get_ex(o, key, &v), "no field \"%s\" in %s", key,
                      json_object_to_json_string(o));
        return v;
}

START_TEST(test_status_top_version) {
        struct fixture fx;
        struct proto_request req;
        fixture_init(&fx, 5);

        proto_request_init(&req, PROTO_CMD_STATUS);
        json_object *doc = call(&fx, &req), *d = data(doc);
        ck_assert_str_eq(json_object_get_string(field(d, "version")), SLABWATCH_VERSION);
        ck_assert_int_eq(json_object_get_int64(field(d, "samples")), 5);
        ck_assert_int_eq(json_object_get_int64(field(d, "caches")), 236);
        ck_assert(json_object_is_type(field(d, "slabinfo_error"), json_type_null));
        ck_assert(json_object_is_type(field(d, "tripped"), json_type_array));
        ck_assert(!json_object_get_boolean(field(field(d, "captures"), "available")));
        ck_assert(json_object_is_type(field(field(d, "sample_jitter_usec"), "max"), json_type_int));
        ck_assert(json_object_is_type(field(field(d, "sample_cost_usec"), "avg_read"), json_type_double));
        ck_assert_str_eq(json_object_get_string(field(field(d, "verdict"), "summary")), "none");
        json_object_put(doc);

        proto_request_init(&req, PROTO_CMD_TOP);
        req.sort = PROTO_SORT_OBJS;
        req.limit = 5;
        doc = call(&fx, &req);
        d = data(doc);
        json_object *caches = field(d, "caches");
        ck_assert_uint_eq(json_object_array_length(caches), 5);
        ck_assert_int_eq(json_object_get_int64(field(d, "total")), 236);
        int64_t prev = INT64_MAX;
        for (size_t i = 0; i < 5; i++) {
                json_object *c = json_object_array_get_idx(caches, i);
                int64_t objs = json_object_get_int64(field(c, "active_objs"));
                ck_assert_int_le(objs, prev);
                prev = objs;
                ck_assert_str_eq(json_object_get_string(field(c, "state")), "ok");
                field(c, "bytes_per_hour");
                field(c, "objsize");
        }
        json_object_put(doc);

        proto_request_init(&req, PROTO_CMD_TOP);
        req.sort = PROTO_SORT_BYTES;
        req.limit = PROTO_LIMIT_MAX;
        doc = call(&fx, &req);
        ck_assert_uint_eq(json_object_array_length(field(data(doc), "caches")), 236);
        json_object_put(doc);

        proto_request_init(&req, PROTO_CMD_VERSION);
        doc = call(&fx, &req);
        d = data(doc);
        ck_assert_int_eq(json_object_get_int(field(d, "protocol")), PROTO_VERSION);
        ck_assert_uint_eq(json_object_array_length(field(d, "commands")), _PROTO_CMD_MAX);
        json_object_put(doc);
        fixture_done(&fx);
}
END_TEST

START_TEST(test_history_and_escaping) {
        struct fixture fx;
        struct proto_request req;
        fixture_init(&fx, 6);

        proto_request_init(&req, PROTO_CMD_HISTORY);
        strcpy(req.cache, "kmalloc-256");
        json_object *doc = call(&fx, &req), *d = data(doc);
        json_object *points = field(d, "points");
        ck_assert_str_eq(json_object_get_string(field(d, "tier")), "raw");
        ck_assert_uint_eq(json_object_array_length(points), 6);
        for (size_t i = 0; i < 6; i++) {
                json_object *p = json_object_array_get_idx(points, i);
                ck_assert_int_eq(json_object_get_int64(field(p, "active_objs")), 809 + (int64_t) i * 16);
                ck_assert_int_eq(json_object_get_int64(field(p, "num_slabs")), 56 + (int64_t) i);
                ck_assert_int_eq(json_object_get_int64(field(p, "bytes")), (56 + (int64_t) i) * fx.d->page_size);
        }
        json_object_put(doc);

        /* The odd name travels through the JSON and back unchanged. */
        strcpy(req.cache, ODD_CACHE);
        doc = call(&fx, &req);
        ck_assert_str_eq(json_object_get_string(field(data(doc), "cache")), ODD_CACHE);
        json_object_put(doc);

        strcpy(req.cache, "no-such-cache");
        assert_error(call(&fx, &req), PROTO_ERR_NOT_FOUND);

        /* A span reaching back further than raw history keeps: the tier
         * holding it (here only raw has anything; minute is asked for). */
        strcpy(req.cache, "kmalloc-256");
        req.tier = PROTO_TIER_MINUTE;
        doc = call(&fx, &req);
        ck_assert_str_eq(json_object_get_string(field(data(doc), "tier")), "minute");
        json_object_put(doc);
        fixture_done(&fx);
}
END_TEST

START_TEST(test_meminfo_events_captures) {
        struct fixture fx;
        struct proto_request req;
        fixture_init(&fx, 4);

        proto_request_init(&req, PROTO_CMD_MEMINFO);
        json_object *doc = call(&fx, &req), *d = data(doc);
        json_object *keys = field(d, "keys");
        ck_assert_uint_ge(json_object_array_length(keys), 10);
        bool saw = false;
        for (size_t i = 0; i < json_object_array_length(keys); i++) {
                json_object *k = json_object_array_get_idx(keys, i);
                if (strcmp(json_object_get_string(field(k, "key")), "SUnreclaim") == 0) {
                        saw = true;
                        ck_assert_int_gt(json_object_get_int64(field(k, "kb")), 0);
                        ck_assert_uint_eq(json_object_array_length(field(k, "points")), 4);
                        /* Flat input: a rate of zero. */
                        ck_assert_double_eq_tol(json_object_get_double(field(k, "bytes_per_hour")), 0, 1e-6);
                }
        }
        ck_assert(saw);
        json_object_put(doc);

        /* Events: the log as alert.c writes it, with a partial last line. */
        const char *log = "{\"time\":100.5,\"event\":\"trip\",\"message\":\"m1\",\"cache\":\"filp\"}\n"
                          "not json\n"
                          "{\"time\":4000000000,\"event\":\"cleared\",\"message\":\"m2\",\"cache\":\"filp\"}\n"
                          "{\"time\":4000000001,\"event\":\"verdict\",\"message\":\"m3\"}\n"
                          "{\"time\":4000000002,\"ev";
        testutil_write_file(fx.dir, "var/lib/slabwatch/events.log", log, strlen(log));
        proto_request_init(&req, PROTO_CMD_EVENTS);
        doc = call(&fx, &req);
        json_object *events = field(data(doc), "events");
        ck_assert_uint_eq(json_object_array_length(events), 3);
        ck_assert_str_eq(json_object_get_string(field(json_object_array_get_idx(events, 0), "message")), "m1");
        json_object_put(doc);
        req.limit = 1;
        doc = call(&fx, &req);
        d = data(doc);
        ck_assert_uint_eq(json_object_array_length(field(d, "events")), 1);
        ck_assert(json_object_get_boolean(field(d, "truncated")));
        json_object_put(doc);
        req.limit = 0;
        req.since_usec = 3600ULL * 1000000;     /* the 100.5 one is decades old */
        doc = call(&fx, &req);
        ck_assert_uint_eq(json_object_array_length(field(data(doc), "events")), 2);
        json_object_put(doc);

        /* Without a capture manager. */
        proto_request_init(&req, PROTO_CMD_CAPTURES);
        doc = call(&fx, &req);
        ck_assert(!json_object_get_boolean(field(data(doc), "available")));
        json_object_put(doc);
        proto_request_init(&req, PROTO_CMD_CAPTURE);
        strcpy(req.id, "x");
        assert_error(call(&fx, &req), PROTO_ERR_UNAVAILABLE);
        proto_request_init(&req, PROTO_CMD_ARM);
        strcpy(req.cache, "filp");
        assert_error(call(&fx, &req), PROTO_ERR_UNAVAILABLE);
        proto_request_init(&req, PROTO_CMD_DISARM);
        strcpy(req.cache, "filp");
        assert_error(call(&fx, &req), PROTO_ERR_UNAVAILABLE);
        fixture_done(&fx);
}
END_TEST

/* `status` shows the capture side's probe, re-run when a capture starts:
 * here tracefs appears (mounted by someone) after the manager was made. */
START_TEST(test_status_probe_after_mount) {
        struct fixture fx;
        struct proto_request req;
        fixture_init(&fx, 2);
        struct config c = fx.cfg;
        snprintf(c.paths.tracefs, sizeof c.paths.tracefs, "%s/sys/kernel/tracing", fx.dir);
        snprintf(c.paths.debugfs, sizeof c.paths.debugfs, "%s/sys/kernel/debug", fx.dir);
        snprintf(c.paths.dev_kmsg, sizeof c.paths.dev_kmsg, "%s/dev/kmsg", fx.dir);
        testutil_write_file(fx.dir, "sys/kernel/tracing/.keep", "", 0);
        ck_assert_int_eq(capture_manager_new(fx.loop, &c, NULL, NULL, &fx.d->captures), 0);

        proto_request_init(&req, PROTO_CMD_STATUS);
        json_object *doc = call(&fx, &req), *caps = field(data(doc), "capabilities");
        ck_assert(!json_object_get_boolean(field(caps, "tracefs_mounted")));
        ck_assert(!json_object_get_boolean(field(field(caps, "kmem_events"), "kmem_cache_alloc")));
        json_object_put(doc);

        static const char *const formats[] = { "kmem_cache_alloc", "kmem_cache_free", "kmalloc", "kfree" };
        for (size_t i = 0; i < sizeof formats / sizeof *formats; i++) {
                char rel[256], fixture[256];
                size_t len;
                snprintf(fixture, sizeof fixture, "linux-6.18-x86_64/ringbuf/format/%s", formats[i]);
                snprintf(rel, sizeof rel, "sys/kernel/tracing/events/kmem/%s/format", formats[i]);
                char *text = testutil_read_fixture(fixture, &len);
                testutil_write_file(fx.dir, rel, text, len);
                free(text);
        }
        proto_request_init(&req, PROTO_CMD_ARM);
        strcpy(req.cache, "filp");
        doc = call(&fx, &req);
        data(doc);
        json_object_put(doc);

        proto_request_init(&req, PROTO_CMD_STATUS);
        doc = call(&fx, &req);
        caps = field(data(doc), "capabilities");
        ck_assert(json_object_get_boolean(field(caps, "tracefs_mounted")));
        ck_assert(json_object_get_boolean(field(field(caps, "kmem_events"), "kmem_cache_alloc")));
        ck_assert(json_object_get_boolean(field(field(caps, "kmem_events"), "kmem_cache_alloc_name")));
        json_object_put(doc);
        /* Set up by hand, not as a part: daemon_free() does not free it. */
        capture_manager_free(fx.d->captures);
        fx.d->captures = NULL;
        fixture_done(&fx);
}
END_TEST

START_TEST(test_reload_validates_first) {
        struct fixture fx;
        struct proto_request req;
        fixture_init(&fx, 1);
        proto_request_init(&req, PROTO_CMD_RELOAD);
        json_object *doc = call(&fx, &req);
        ck_assert(json_object_get_boolean(field(data(doc), "scheduled")));
        json_object_put(doc);

        testutil_write_file(fx.dir, "slabwatch.yaml", "interval: [1\n", 13);
        doc = call(&fx, &req);
        enum proto_error code;
        const char *message;
        ck_assert(!proto_response_is_ok(doc, &code, &message));
        ck_assert_int_eq(code, PROTO_ERR_FAILED);
        ck_assert_ptr_nonnull(strstr(message, "slabwatch.yaml:"));
        ck_assert_ptr_nonnull(strstr(message, "keeping the running configuration"));
        json_object_put(doc);
        fixture_done(&fx);
}
END_TEST

/* Child of test_reload_one_policy: 0, or the number of the check that failed. */
static int reload_child(const char *dir, bool named) {
        struct config cfg;
        struct config_source src;
        struct proto_request req;
        struct daemon *d = NULL;
        char path[4200];
        enum proto_error code = PROTO_ERR_INTERNAL;
        const char *message = NULL;

        /* The defaults name host paths (the state directory under /var/lib):
         * as nobody, a reload that applies them can create nothing there. */
        if (geteuid() == 0 && (setgroups(0, NULL) < 0 || setgid(65534) < 0 || setuid(65534) < 0))
                return 1;
        config_defaults(&cfg);
        cfg.interval_usec = 1000000;
        cfg.alert.journal = false;
        cfg.capture.enabled = false;
        if (config_set_root(&cfg, dir) < 0)
                return 2;
        /* A stand-in for the default location, with no file there. */
        snprintf(path, sizeof path, "%s/etc/slabwatch.yaml", dir);
        if (config_source_init(&src, path) < 0)
                return 2;
        src.named = named;
        struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
        if (!loop || daemon_new(loop, &src, &cfg, commands_handle, &d) < 0)
                return 3;

        proto_request_init(&req, PROTO_CMD_RELOAD);
        json_object *resp = commands_handle(&root, &req, NULL, d);
        bool answered_ok = resp && proto_response_is_ok(resp, &code, &message);
        bool says_missing = !answered_ok && message && strstr(message, "slabwatch.yaml: cannot open");
        json_object_put(resp);
        /* What the SIGHUP that `reload` feeds runs. */
        int r = daemon_reload(d);
        bool on_defaults = strcmp(d->config.paths.state_dir, "/var/lib/slabwatch") == 0 &&
                           d->config.interval_usec == 10000000 && d->config.capture.enabled;
        bool unchanged = strcmp(d->config.paths.state_dir, cfg.paths.state_dir) == 0;
        daemon_free(d);
        ev_loop_destroy(loop);

        if (!named) {
                if (!answered_ok)
                        return 4;
                if (r != 0)
                        return 5;
                if (!on_defaults)
                        return 6;
        } else {
                if (answered_ok || code != PROTO_ERR_FAILED || !says_missing)
                        return 7;
                if (r != -ENOENT)
                        return 8;
                if (!unchanged)
                        return 9;
        }
        return 0;
}

/* `reload` and SIGHUP load the file by the one policy main uses at start.
 * With no file at the default location the daemon runs on the built-in
 * defaults, and a reload applies them again (the answer once said
 * "scheduled" and the reload then failed with ENOENT). A named file that
 * is gone fails both, and the running configuration stays. */
START_TEST(test_reload_one_policy) {
        char *dir = testutil_mkdtemp();
        ck_assert_int_eq(chmod(dir, 0755), 0);
        for (int named = 0; named <= 1; named++) {
                pid_t pid = fork();
                ck_assert_int_ge(pid, 0);
                if (pid == 0)
                        _exit(reload_child(dir, named));
                int status = 0;
                ck_assert_int_eq(waitpid(pid, &status, 0), pid);
                ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                              "%s file: check %d failed", named ? "named" : "default",
                              WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        }
        testutil_rmtree(dir);
        free(dir);
}
END_TEST

START_TEST(test_export_pages) {
        struct fixture fx;
        struct proto_request req;
        /* Enough samples that ~300 series overflow one page. */
        unsigned samples = COMMANDS_EXPORT_VALUES_MAX / 250 + 20;
        fixture_init(&fx, samples);
        proto_request_init(&req, PROTO_CMD_EXPORT);
        size_t total = 0;
        unsigned pages = 0;
        uint64_t last_t = 0;
        for (;;) {
                json_object *doc = call(&fx, &req), *d = data(doc);
                json_object *t = field(d, "t_usec");
                size_t n = json_object_array_length(t);
                ck_assert_uint_gt(n, 0);
                for (size_t i = 0; i < n; i++) {
                        uint64_t ti = (uint64_t) json_object_get_int64(json_object_array_get_idx(t, i));
                        ck_assert_uint_gt(ti, last_t);
                        last_t = ti;
                }
                json_object *k = field(field(d, "caches"), "kmalloc-256");
                json_object *objs = field(k, "active_objs");
                ck_assert_uint_eq(json_object_array_length(objs), n);
                ck_assert_int_eq(json_object_get_int64(json_object_array_get_idx(objs, 0)),
                                 809 + (int64_t) total * 16);
                ck_assert_int_eq(json_object_get_int64(field(k, "objperslab")), 16);
                ck_assert_uint_eq(json_object_array_length(field(d, "meminfo")) > 0, 1);
                total += n;
                pages++;
                bool more = json_object_get_boolean(field(d, "more"));
                if (more)
                        req.from_usec = (uint64_t) json_object_get_int64(field(d, "next_usec"));
                json_object_put(doc);
                if (!more)
                        break;
                ck_assert_uint_lt(pages, 100);
        }
        ck_assert_uint_eq(total, samples);
        ck_assert_uint_ge(pages, 2);
        fixture_done(&fx);
}
END_TEST

START_TEST(test_metrics_text_and_textfile) {
        struct fixture fx;
        struct proto_request req;
        fixture_init(&fx, 3);
        for (int f = 0; f < 2; f++) {
                proto_request_init(&req, PROTO_CMD_METRICS);
                req.format = f ? PROTO_FORMAT_OPENMETRICS : PROTO_FORMAT_PROMETHEUS;
                json_object *doc = call(&fx, &req), *d = data(doc);
                const char *text = json_object_get_string(field(d, "text"));
                ck_assert_ptr_nonnull(strstr(text, "slabwatch_cache_active_objects{cache=\"kmalloc-256\"} 841\n"));
                ck_assert_ptr_nonnull(strstr(text, "{cache=\"we\\\"ird\\\\cache\"}"));
                ck_assert_ptr_nonnull(strstr(text, "slabwatch_meminfo_bytes{key=\"SUnreclaim\"} "));
                /* Both formats name the counter's sample x_total. */
                ck_assert_ptr_nonnull(strstr(text, "slabwatch_samples_total 3\n"));
                if (f)
                        ck_assert_ptr_nonnull(strstr(text, "\n# EOF\n"));
                else if (system("command -v promtool >/dev/null 2>&1") == 0) {
                        testutil_write_file(fx.dir, "m.prom", text, strlen(text));
                        char cmd[4200];
                        snprintf(cmd, sizeof cmd, "promtool check metrics < %s/m.prom", fx.dir);
                        int status = system(cmd);
                        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "promtool rejected:\n%s", text);
                } else
                        fprintf(stderr, "promtool not installed: daemon metrics not checked by it\n");
                json_object_put(doc);
        }

        /* The textfile: off unless configured, then the same text. */
        ck_assert_int_eq(daemon_write_textfile(fx.d), 0);
        snprintf(fx.d->config.metrics.textfile, sizeof fx.d->config.metrics.textfile, "%s/slabwatch.prom", fx.dir);
        ck_assert_int_eq(daemon_write_textfile(fx.d), 0);
        FILE *f = fopen(fx.d->config.metrics.textfile, "re");
        ck_assert_ptr_nonnull(f);
        char *buf = calloc(1, 1 << 20);
        size_t len = fread(buf, 1, (1 << 20) - 1, f);
        fclose(f);
        ck_assert_uint_gt(len, 1000);
        ck_assert_ptr_nonnull(strstr(buf, "# TYPE slabwatch_cache_bytes gauge\n"));
        free(buf);
        fixture_done(&fx);
}
END_TEST

static Suite *commands_suite(void) {
        Suite *s = suite_create("commands");
        TCase *tc = tcase_create("core");
        tcase_add_test(tc, test_status_top_version);
        tcase_add_test(tc, test_history_and_escaping);
        tcase_add_test(tc, test_meminfo_events_captures);
        tcase_add_test(tc, test_status_probe_after_mount);
        tcase_add_test(tc, test_reload_validates_first);
        tcase_add_test(tc, test_reload_one_policy);
        tcase_add_test(tc, test_export_pages);
        tcase_add_test(tc, test_metrics_text_and_textfile);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(commands_suite());
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
