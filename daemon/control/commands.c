/* commands — build the JSON answers of the socket protocol. */
#include "control/commands.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "capture/capture.h"
#include "caches/engine.h"
#include "caches/growth.h"
#include "caches/history.h"
#include "core/log.h"
#include "capture/probe.h"
#include "memory/verdict.h"

/* Caches a `capturing` state is looked up among. */
#define COMMANDS_CAPTURING_MAX 64

static void add(json_object *o, const char *key, json_object *v) {
        /* json-c only fails here on allocation failure; the answer then
         * lacks a field, which the client shows as "-". */
        (void) json_object_object_add(o, key, v);
}

static json_object *error_from_errno(int r, const char *what) {
        switch (r) {
        case -ENOENT:
                return proto_response_new_error(PROTO_ERR_NOT_FOUND, "%s", what);
        case -EINVAL:
                return proto_response_new_error(PROTO_ERR_BAD_ARGUMENT, "%s", what);
        case -EBUSY:
        case -EALREADY:
        case -CAPTURE_ECOOLDOWN:
                return proto_response_new_error(PROTO_ERR_BUSY, "%s", what);
        case -ECANCELED:
        case -EOPNOTSUPP:
                return proto_response_new_error(PROTO_ERR_UNAVAILABLE, "%s", what);
        case -ENOMEM:
                return proto_response_new_error(PROTO_ERR_INTERNAL, "out of memory");
        default:
                return proto_response_new_error(PROTO_ERR_FAILED, "%s", what);
        }
}

/* Caches being captured now, from the capture manager's list. */
struct capturing {
        char names[COMMANDS_CAPTURING_MAX][PROTO_NAME_MAX];
        size_t n;
        json_object *running;   /* the manager's "running" array (a reference) */
};

static void capturing_load(struct daemon *d, struct capturing *ret) {
        json_object *list = NULL, *running;
        ret->n = 0;
        ret->running = NULL;
        if (!d->captures || capture_manager_running(d->captures) == 0)
                return;
        if (capture_manager_list(d->captures, &list) < 0)
                return;
        if (json_object_object_get_ex(list, "running", &running) && json_object_is_type(running, json_type_array)) {
                ret->running = json_object_get(running);
                for (size_t i = 0; i < json_object_array_length(running) && ret->n < COMMANDS_CAPTURING_MAX; i++) {
                        json_object *x = json_object_array_get_idx(running, i), *name;
                        if (json_object_object_get_ex(x, "cache", &name) && json_object_is_type(name, json_type_string))
                                snprintf(ret->names[ret->n++], PROTO_NAME_MAX, "%s", json_object_get_string(name));
                }
        }
        json_object_put(list);
}

static bool capturing_has(const struct capturing *c, const char *name) {
        for (size_t i = 0; i < c->n; i++)
                if (strcmp(c->names[i], name) == 0)
                        return true;
        return false;
}

static const char *cache_state(const struct engine_cache_info *info, const struct capturing *cap) {
        if (cap && capturing_has(cap, info->name))
                return "capturing";
        return detect_state_name(info->state);
}

static json_object *status_answer(struct daemon *d, const struct proto_request *req) {
        json_object *o = NULL;
        int r = daemon_status_json(d, &o);
        if (r < 0)
                return error_from_errno(r, "");
        return proto_response_new_ok(req->command, o);
}

static int compare_growth(const void *a, const void *b) {
        const struct engine_cache_info *x = a, *y = b;
        /* Known rates first, fastest growth first; then the bigger cache. */
        if (x->rates_known != y->rates_known)
                return x->rates_known ? -1 : 1;
        if (x->rates_known && x->bytes_per_hour != y->bytes_per_hour)
                return x->bytes_per_hour > y->bytes_per_hour ? -1 : 1;
        if (x->bytes != y->bytes)
                return x->bytes > y->bytes ? -1 : 1;
        return strcmp(x->name, y->name);
}

static int compare_bytes(const void *a, const void *b) {
        const struct engine_cache_info *x = a, *y = b;
        if (x->bytes != y->bytes)
                return x->bytes > y->bytes ? -1 : 1;
        return strcmp(x->name, y->name);
}

static int compare_objs(const void *a, const void *b) {
        const struct engine_cache_info *x = a, *y = b;
        if (x->active_objs != y->active_objs)
                return x->active_objs > y->active_objs ? -1 : 1;
        return strcmp(x->name, y->name);
}

static json_object *cache_json(const struct engine_cache_info *c, const struct capturing *cap) {
        json_object *o = json_object_new_object();
        add(o, "name", json_object_new_string(c->name));
        add(o, "state", json_object_new_string(cache_state(c, cap)));
        add(o, "active_objs", proto_json_u64(c->active_objs));
        add(o, "num_objs", proto_json_u64(c->num_objs));
        add(o, "objsize", proto_json_u64(c->objsize));
        add(o, "bytes", proto_json_u64(c->bytes));
        add(o, "objs_per_min", c->rates_known ? proto_json_double(c->objs_per_min) : NULL);
        add(o, "bytes_per_hour", c->rates_known ? proto_json_double(c->bytes_per_hour) : NULL);
        add(o, "percent_per_hour", c->rates_known ? proto_json_double(c->percent_per_hour) : NULL);
        add(o, "trend", c->rates_known ? proto_json_double(c->trend) : NULL);
        add(o, "window_s", proto_json_double((double) c->window_usec / 1e6));
        add(o, "reclaimable", json_object_new_boolean(c->reclaimable));
        add(o, "rule", json_object_new_string(c->rule_match ? c->rule_match : ""));
        add(o, "tripped_since", c->tripped_since_usec ? proto_json_time(c->tripped_since_usec) : NULL);
        return o;
}

static json_object *top_answer(struct daemon *d, const struct proto_request *req) {
        struct daemon_caches caches;
        struct capturing cap;
        int r = daemon_caches_load(d, &caches);
        if (r < 0)
                return error_from_errno(r, "cannot list the caches");
        static int (*const compare[])(const void *, const void *) = {
                [PROTO_SORT_GROWTH] = compare_growth,
                [PROTO_SORT_BYTES] = compare_bytes,
                [PROTO_SORT_OBJS] = compare_objs,
        };
        if (caches.n > 0)
                qsort(caches.items, caches.n, sizeof *caches.items, compare[req->sort]);
        capturing_load(d, &cap);
        size_t limit = req->limit ? req->limit : COMMANDS_TOP_DEFAULT;
        uint64_t window = 0;
        json_object *o = json_object_new_object(), *list = json_object_new_array();
        for (size_t i = 0; i < caches.n && i < limit; i++) {
                json_object_array_add(list, cache_json(&caches.items[i], &cap));
                if (caches.items[i].window_usec > window)
                        window = caches.items[i].window_usec;
        }
        add(o, "sort", json_object_new_string(proto_sort_name(req->sort)));
        add(o, "total", proto_json_u64(caches.n));
        add(o, "window_s", proto_json_double((double) window / 1e6));
        add(o, "last_sample_time", engine_last_usec(d->engine) ? proto_json_time(engine_last_usec(d->engine)) : NULL);
        add(o, "caches", list);
        json_object_put(cap.running);
        free(caches.items);
        return proto_response_new_ok(req->command, o);
}

static const enum history_tier tier_map[] = {
        [PROTO_TIER_RAW] = HISTORY_TIER_RAW,
        [PROTO_TIER_MINUTE] = HISTORY_TIER_MINUTE,
        [PROTO_TIER_HOUR] = HISTORY_TIER_HOUR,
};

static const char *const tier_names[] = {
        [HISTORY_TIER_RAW] = "raw",
        [HISTORY_TIER_MINUTE] = "minute",
        [HISTORY_TIER_HOUR] = "hour",
};

/* The absolute start of the span a request asks for (0 = everything). */
static uint64_t span_start(const struct daemon *d, uint64_t since_usec) {
        uint64_t last = engine_last_usec(d->engine);
        if (since_usec == 0 || last == 0)
                return 0;
        return last > since_usec ? last - since_usec : 0;
}

/* Auto: the finest tier that still holds the start of the span; if none
 * reaches back that far, the finest that holds the oldest data (while the
 * daemon is younger than the raw span, that is raw). Without a span, raw. */
static enum history_tier pick_tier(const struct daemon *d, enum proto_tier asked, uint64_t start) {
        if (asked != PROTO_TIER_AUTO)
                return tier_map[asked];
        if (start == 0)
                return HISTORY_TIER_RAW;
        const struct history *h = engine_history(d->engine);
        enum history_tier best = HISTORY_TIER_RAW;
        uint64_t best_oldest = UINT64_MAX;
        for (enum history_tier t = HISTORY_TIER_RAW; t < _HISTORY_TIER_MAX; t++) {
                uint64_t oldest = history_tier_oldest_usec(h, t);
                if (oldest == 0)
                        continue;
                if (oldest <= start)
                        return t;
                if (oldest < best_oldest) {
                        best_oldest = oldest;
                        best = t;
                }
        }
        return best;
}

static struct history_point *points_alloc(const struct daemon *d, enum history_tier tier, uint64_t start,
                                          size_t *ret_n) {
        size_t n = history_count_since(engine_history(d->engine), tier, start);
        *ret_n = n;
        return calloc(n ? n : 1, sizeof(struct history_point));
}

static json_object *history_answer(struct daemon *d, const struct proto_request *req) {
        struct engine_cache_info info;
        struct capturing cap;
        int r = engine_cache_get(d->engine, req->cache, &info);
        if (r < 0)
                return proto_response_new_error(PROTO_ERR_NOT_FOUND,
                                                "no cache \"%s\" in the history (see `slabwatchctl top`)", req->cache);
        uint64_t start = span_start(d, req->since_usec);
        enum history_tier tier = pick_tier(d, req->tier, start);
        size_t cap_n;
        struct history_point *pts = points_alloc(d, tier, start, &cap_n);
        if (!pts)
                return error_from_errno(-ENOMEM, "");
        int n = cap_n ? engine_cache_history(d->engine, req->cache, tier, start, pts, cap_n) : 0;
        if (n < 0) {
                free(pts);
                return error_from_errno(n, "cannot read the history");
        }
        const struct slabinfo_cache *si = slabinfo_find(&d->slabinfo, req->cache);
        uint64_t slab_bytes = si ? (uint64_t) si->pagesperslab * d->page_size : 0;

        capturing_load(d, &cap);
        json_object *o = json_object_new_object(), *list = json_object_new_array();
        add(o, "cache", json_object_new_string(req->cache));
        add(o, "tier", json_object_new_string(tier_names[tier]));
        add(o, "since", start ? proto_json_time(start) : NULL);
        add(o, "state", json_object_new_string(cache_state(&info, &cap)));
        add(o, "objsize", proto_json_u64(info.objsize));
        add(o, "objperslab", si ? proto_json_u64(si->objperslab) : NULL);
        add(o, "pagesperslab", si ? proto_json_u64(si->pagesperslab) : NULL);
        add(o, "page_size", proto_json_u64(d->page_size));
        add(o, "present", json_object_new_boolean(info.present));
        add(o, "objs_per_min", info.rates_known ? proto_json_double(info.objs_per_min) : NULL);
        add(o, "bytes_per_hour", info.rates_known ? proto_json_double(info.bytes_per_hour) : NULL);
        for (int i = 0; i < n; i++) {
                json_object *p = json_object_new_object();
                add(p, "t", proto_json_time(pts[i].t_usec));
                add(p, "active_objs", proto_json_u64(pts[i].last));
                add(p, "min", proto_json_u64(pts[i].min));
                add(p, "max", proto_json_u64(pts[i].max));
                bool slabs = pts[i].aux != HISTORY_AUX_NONE;
                add(p, "num_slabs", slabs ? proto_json_u64(pts[i].aux) : NULL);
                add(p, "bytes", slabs && slab_bytes ? proto_json_u64((uint64_t) pts[i].aux * slab_bytes) : NULL);
                json_object_array_add(list, p);
        }
        add(o, "points", list);
        json_object_put(cap.running);
        free(pts);
        return proto_response_new_ok(req->command, o);
}

/* Fit the growth of a meminfo series over the span from @start. */
static bool meminfo_fit(const struct daemon *d, const char *key, enum history_tier tier, uint64_t start,
                        struct growth_fit *ret) {
        const struct history *h = engine_history(d->engine);
        struct history_point pts[GROWTH_POINTS_MAX];
        double t[GROWTH_POINTS_MAX], y[GROWTH_POINTS_MAX];
        int id = history_series_find(h, ENGINE_SERIES_MEMINFO, key);
        if (id < 0)
                return false;
        int n = history_read_spread(h, (uint32_t) id, tier, start, pts, GROWTH_POINTS_MAX);
        if (n < 2)
                return false;
        for (int i = 0; i < n; i++) {
                t[i] = (double) (pts[i].t_usec - pts[0].t_usec) / 1e6;
                y[i] = (double) pts[i].last;
        }
        return growth_fit(t, y, (size_t) n, ret) >= 0 && ret->n >= 2;
}

static json_object *meminfo_answer(struct daemon *d, const struct proto_request *req) {
        uint64_t since = req->since_usec ? req->since_usec : ENGINE_VERDICT_WINDOW_USEC;
        uint64_t start = span_start(d, since);
        enum history_tier tier = pick_tier(d, req->tier, start ? start : 1);
        size_t cap_n;
        struct history_point *pts = points_alloc(d, tier, start, &cap_n);
        if (!pts)
                return error_from_errno(-ENOMEM, "");
        json_object *o = json_object_new_object(), *keys = json_object_new_array();
        for (size_t k = 0; k < PROTO_VERDICT_MEMINFO_KEYS; k++) {
                enum meminfo_key key = proto_verdict_meminfo_keys[k];
                const char *name = meminfo_key_name(key);
                uint64_t value;
                struct growth_fit fit;
                json_object *e = json_object_new_object(), *list = json_object_new_array();
                add(e, "key", json_object_new_string(name));
                add(e, "kb", meminfo_get(&d->meminfo, key, &value) ? proto_json_u64(value) : NULL);
                bool fitted = meminfo_fit(d, name, tier, start, &fit);
                add(e, "bytes_per_hour", fitted ? proto_json_double(fit.slope_per_sec * 1024 * 3600) : NULL);
                add(e, "trend", fitted ? proto_json_double(fit.trend) : NULL);
                int n = cap_n ? engine_meminfo_history(d->engine, key, tier, start, pts, cap_n) : 0;
                for (int i = 0; i < n; i++) {
                        json_object *p = json_object_new_object();
                        add(p, "t", proto_json_time(pts[i].t_usec));
                        add(p, "kb", proto_json_u64(pts[i].last));
                        add(p, "min", proto_json_u64(pts[i].min));
                        add(p, "max", proto_json_u64(pts[i].max));
                        json_object_array_add(list, p);
                }
                add(e, "points", list);
                json_object_array_add(keys, e);
        }
        free(pts);
        add(o, "tier", json_object_new_string(tier_names[tier]));
        add(o, "window_s", proto_json_double((double) since / 1e6));
        add(o, "since", start ? proto_json_time(start) : NULL);
        add(o, "keys", keys);
        add(o, "verdict", proto_json_verdict(engine_verdict(d->engine)));
        return proto_response_new_ok(req->command, o);
}

/* The newest events of the events log (JSON lines, see alert.c). */
static json_object *events_answer(struct daemon *d, const struct proto_request *req) {
        json_object *o = json_object_new_object(), *list = json_object_new_array();
        size_t limit = req->limit ? req->limit : COMMANDS_EVENTS_DEFAULT;
        bool truncated = false;
        const char *path = d->events_log_path;

        add(o, "log", path[0] ? json_object_new_string(path) : NULL);
        int fd = path[0] ? open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY) : -1;
        if (fd < 0) {
                /* No events yet is not an error. */
                if (path[0] && errno != ENOENT) {
                        int r = -errno;
                        json_object_put(o);
                        json_object_put(list);
                        return proto_response_new_error(PROTO_ERR_FAILED, "cannot read %s: %s", path, strerror(-r));
                }
                add(o, "events", list);
                add(o, "truncated", json_object_new_boolean(false));
                return proto_response_new_ok(req->command, o);
        }
        struct stat st;
        char *buf = NULL;
        size_t len = 0;
        if (fstat(fd, &st) == 0 && st.st_size > 0) {
                size_t want = (uint64_t) st.st_size > COMMANDS_EVENTS_READ_MAX ? COMMANDS_EVENTS_READ_MAX
                                                                               : (size_t) st.st_size;
                off_t from = st.st_size - (off_t) want;
                truncated = from > 0;
                buf = malloc(want + 1);
                if (buf) {
                        ssize_t n = pread(fd, buf, want, from);
                        len = n > 0 ? (size_t) n : 0;
                        buf[len] = '\0';
                }
        }
        close(fd);

        uint64_t start = req->since_usec ? daemon_now_usec() - req->since_usec : 0;
        double start_s = (double) start / 1e6;
        char *line = buf;
        /* Reading from the middle of the file: the first line is partial. */
        if (truncated && line) {
                char *nl = memchr(line, '\n', len);
                line = nl ? nl + 1 : buf + len;
        }
        json_object *matched = json_object_new_array();
        while (line && line < buf + len) {
                char *nl = memchr(line, '\n', (size_t) (buf + len - line));
                size_t l = nl ? (size_t) (nl - line) : (size_t) (buf + len - line);
                json_tokener *tok = json_tokener_new();
                json_object *ev = tok ? json_tokener_parse_ex(tok, line, (int) l) : NULL;
                json_tokener_free(tok);
                json_object *t;
                if (ev && json_object_is_type(ev, json_type_object) && json_object_object_get_ex(ev, "time", &t) &&
                    json_object_get_double(t) >= start_s)
                        json_object_array_add(matched, ev);
                else
                        json_object_put(ev);
                line = nl ? nl + 1 : NULL;
        }
        free(buf);
        size_t n = json_object_array_length(matched);
        if (n > limit)
                truncated = true;
        for (size_t i = n > limit ? n - limit : 0; i < n; i++)
                json_object_array_add(list, json_object_get(json_object_array_get_idx(matched, i)));
        json_object_put(matched);
        add(o, "events", list);
        add(o, "truncated", json_object_new_boolean(truncated));
        return proto_response_new_ok(req->command, o);
}

static json_object *captures_unavailable(void) {
        return proto_response_new_error(PROTO_ERR_UNAVAILABLE,
                                        "captures are not available in this daemon (capture.enabled, or the "
                                        "kernel offers no capture method: see `slabwatchctl status`)");
}

static json_object *captures_answer(struct daemon *d, const struct proto_request *req) {
        json_object *o = NULL;
        if (!d->captures) {
                o = json_object_new_object();
                add(o, "available", json_object_new_boolean(false));
                add(o, "running", json_object_new_array());
                add(o, "bundles", json_object_new_array());
                return proto_response_new_ok(req->command, o);
        }
        int r = capture_manager_list(d->captures, &o);
        if (r < 0)
                return error_from_errno(r, "cannot list the captures");
        add(o, "available", json_object_new_boolean(true));
        return proto_response_new_ok(req->command, o);
}

/* report.txt of a bundle, if it is there and not too large. */
static json_object *report_text(const struct daemon *d, const char *id) {
        char path[CONFIG_PATH_MAX + PROTO_ID_MAX + 64];
        snprintf(path, sizeof path, "%s/captures/%s/report.txt", d->config.paths.state_dir, id);
        int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return NULL;
        struct stat st;
        json_object *text = NULL;
        if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 &&
            (uint64_t) st.st_size <= COMMANDS_REPORT_TEXT_MAX) {
                char *buf = malloc((size_t) st.st_size);
                ssize_t n = buf ? pread(fd, buf, (size_t) st.st_size, 0) : -1;
                if (n > 0)
                        text = json_object_new_string_len(buf, (int) n);
                free(buf);
        }
        close(fd);
        return text;
}

static json_object *capture_answer(struct daemon *d, const struct proto_request *req) {
        json_object *report = NULL;
        char what[PROTO_ID_MAX + 64];
        if (!d->captures)
                return captures_unavailable();
        int r = capture_manager_get(d->captures, req->id, &report);
        if (r < 0) {
                snprintf(what, sizeof what, r == -ENOENT ? "no capture \"%s\" (see `slabwatchctl captures`)"
                                            : r == -EBADMSG ? "the report of capture \"%s\" is corrupt"
                                                            : "cannot read capture \"%s\"",
                         req->id);
                return error_from_errno(r == -EBADMSG ? -EIO : r, what);
        }
        json_object *o = json_object_new_object();
        add(o, "id", json_object_new_string(req->id));
        add(o, "report", report);
        add(o, "text", report_text(d, req->id));
        return proto_response_new_ok(req->command, o);
}

static json_object *arm_answer(struct daemon *d, const struct proto_request *req) {
        if (!d->captures)
                return captures_unavailable();
        int r = capture_manager_arm(d->captures, req->cache, req->duration_usec);
        if (r < 0) {
                char what[PROTO_NAME_MAX + 256];
                snprintf(what, sizeof what, "cannot capture %s: %s", req->cache, capture_strerror(r));
                return error_from_errno(r, what);
        }
        log_info("Capture of %s armed over the socket", req->cache);
        uint64_t duration = req->duration_usec ? req->duration_usec : d->config.capture.duration_usec;
        json_object *o = json_object_new_object();
        add(o, "cache", json_object_new_string(req->cache));
        add(o, "duration_s", proto_json_double((double) duration / 1e6));
        return proto_response_new_ok(req->command, o);
}

static json_object *disarm_answer(struct daemon *d, const struct proto_request *req) {
        if (!d->captures)
                return captures_unavailable();
        int r = capture_manager_disarm(d->captures, req->cache);
        if (r < 0) {
                char what[PROTO_NAME_MAX + 256];
                if (r == -ENOENT)
                        snprintf(what, sizeof what, "no capture of %s is running", req->cache);
                else
                        snprintf(what, sizeof what, "cannot stop the capture of %s: %s", req->cache,
                                 capture_strerror(r));
                return error_from_errno(r, what);
        }
        json_object *o = json_object_new_object();
        add(o, "cache", json_object_new_string(req->cache));
        return proto_response_new_ok(req->command, o);
}

static json_object *reload_answer(struct daemon *d, const struct proto_request *req) {
        struct config_error err = { 0 };
        struct config *c = malloc(sizeof *c);
        if (!c)
                return error_from_errno(-ENOMEM, "");
        /* Load the file now, by the policy the reload itself follows, so a
         * bad one is reported to the one who asked; apply it after this
         * answer is sent (a reload restarts the server this runs in),
         * through the same path as SIGHUP. */
        int r = config_load(&d->source, c, NULL, &err);
        free(c);
        if (r < 0) {
                char msg[CONFIG_ERROR_MAX + CONFIG_PATH_MAX + 32];
                return proto_response_new_error(PROTO_ERR_FAILED, "%s; keeping the running configuration",
                                                config_error_format(&err, d->source.path, msg, sizeof msg));
        }
        log_info("Reload requested over the socket");
        ev_feed_signal_event(d->loop, SIGHUP);
        json_object *o = json_object_new_object();
        add(o, "config", json_object_new_string(d->source.path));
        add(o, "scheduled", json_object_new_boolean(true));
        return proto_response_new_ok(req->command, o);
}

static json_object *version_answer(const struct proto_request *req) {
        json_object *o = json_object_new_object(), *cmds = json_object_new_array();
        add(o, "version", json_object_new_string(SLABWATCH_VERSION));
        add(o, "protocol", json_object_new_int(PROTO_VERSION));
        for (int c = 0; c < _PROTO_CMD_MAX; c++)
                json_object_array_add(cmds, json_object_new_string(proto_command_name((enum proto_command) c)));
        add(o, "commands", cmds);
        return proto_response_new_ok(req->command, o);
}

static json_object *metrics_answer(struct daemon *d, const struct proto_request *req) {
        char *text = NULL;
        size_t len = 0;
        enum metrics_format f = req->format == PROTO_FORMAT_OPENMETRICS ? METRICS_FORMAT_OPENMETRICS
                                                                        : METRICS_FORMAT_PROMETHEUS;
        int r = daemon_metrics_text(d, f, &text, &len);
        if (r < 0)
                return error_from_errno(r == -E2BIG ? -EIO : r, "cannot render the metrics");
        json_object *o = json_object_new_object();
        add(o, "format", json_object_new_string(proto_format_name(req->format)));
        add(o, "content_type", json_object_new_string(f == METRICS_FORMAT_OPENMETRICS
                                                               ? "application/openmetrics-text; version=1.0.0; charset=utf-8"
                                                               : "text/plain; version=0.0.4; charset=utf-8"));
        add(o, "text", json_object_new_string_len(text, (int) len));
        free(text);
        return proto_response_new_ok(req->command, o);
}

/* Merge the sorted times of @pts into the sorted set @times (capacity @cap). */
static size_t merge_times(uint64_t *times, size_t n, const struct history_point *pts, size_t m, uint64_t *scratch,
                          size_t cap) {
        size_t i = 0, j = 0, k = 0;
        while ((i < n || j < m) && k < cap) {
                uint64_t next;
                if (j >= m || (i < n && times[i] <= pts[j].t_usec)) {
                        next = times[i];
                        if (j < m && pts[j].t_usec == next)
                                j++;
                        i++;
                } else
                        next = pts[j++].t_usec;
                scratch[k++] = next;
        }
        memcpy(times, scratch, k * sizeof *times);
        return k;
}

struct export_state {
        struct daemon *d;
        const struct history *h;
        enum history_tier tier;
        uint64_t start;
        struct history_point *pts;
        size_t cap;
};

static bool export_series(const struct history *h, uint32_t id) {
        if (!history_series_valid(h, id))
                return false;
        unsigned kind = history_series_kind(h, id);
        return kind == ENGINE_SERIES_CACHE || kind == ENGINE_SERIES_MEMINFO;
}

/* One series' values aligned to @times[0..n): null where it was absent. */
static json_object *export_values(const struct export_state *x, uint32_t id, const uint64_t *times, size_t n,
                                  bool aux) {
        int m = history_read(x->h, id, x->tier, times[0], x->pts, x->cap);
        json_object *a = json_object_new_array_ext((int) n);
        size_t j = 0;
        for (size_t i = 0; i < n; i++) {
                while (j < (size_t) (m > 0 ? m : 0) && x->pts[j].t_usec < times[i])
                        j++;
                json_object *v = NULL;
                if (m > 0 && j < (size_t) m && x->pts[j].t_usec == times[i]) {
                        uint32_t val = aux ? x->pts[j].aux : x->pts[j].last;
                        if (!aux || val != HISTORY_AUX_NONE)
                                v = proto_json_u64(val);
                }
                json_object_array_add(a, v);
        }
        return a;
}

static json_object *export_answer(struct daemon *d, const struct proto_request *req) {
        struct export_state x = { .d = d, .h = engine_history(d->engine) };
        uint64_t span = span_start(d, req->since_usec);
        x.start = req->from_usec ? req->from_usec : span;
        x.tier = pick_tier(d, req->tier, span);
        x.cap = history_count_since(x.h, x.tier, x.start);
        x.pts = calloc(x.cap ? x.cap : 1, sizeof *x.pts);
        uint64_t *times = calloc(x.cap ? x.cap : 1, sizeof *times);
        uint64_t *scratch = calloc(x.cap ? x.cap : 1, sizeof *scratch);
        if (!x.pts || !times || !scratch) {
                free(x.pts);
                free(times);
                free(scratch);
                return error_from_errno(-ENOMEM, "");
        }

        /* Pass 1: the sample times any series has in the span. */
        size_t n_times = 0, n_series = 0;
        uint32_t end = history_series_end(x.h);
        for (uint32_t id = 0; id < end; id++) {
                if (!export_series(x.h, id))
                        continue;
                int m = x.cap ? history_read(x.h, id, x.tier, x.start, x.pts, x.cap) : 0;
                if (m <= 0)
                        continue;
                n_series++;
                n_times = merge_times(times, n_times, x.pts, (size_t) m, scratch, x.cap);
        }
        /* A page holds whole samples, at most COMMANDS_EXPORT_VALUES_MAX values. */
        size_t page = n_series ? COMMANDS_EXPORT_VALUES_MAX / n_series : n_times;
        if (page == 0)
                page = 1;
        bool more = n_times > page;
        size_t n = more ? page : n_times;

        json_object *o = json_object_new_object();
        json_object *t = json_object_new_array_ext((int) n), *mem = json_object_new_array(),
                    *caches = json_object_new_object();
        for (size_t i = 0; i < n; i++)
                json_object_array_add(t, proto_json_u64(times[i]));
        for (uint32_t id = 0; n > 0 && id < end; id++) {
                if (!export_series(x.h, id))
                        continue;
                const char *name = history_series_name(x.h, id);
                if (history_series_kind(x.h, id) == ENGINE_SERIES_MEMINFO) {
                        json_object *k = json_object_new_object();
                        add(k, "key", json_object_new_string(name));
                        add(k, "kib", json_object_new_boolean(strncmp(name, "HugePages_", 10) != 0));
                        add(k, "values", export_values(&x, id, times, n, false));
                        json_object_array_add(mem, k);
                        continue;
                }
                struct engine_cache_info info;
                const struct slabinfo_cache *si = slabinfo_find(&d->slabinfo, name);
                json_object *c = json_object_new_object();
                add(c, "objsize", proto_json_u64(si ? si->objsize
                                                    : engine_cache_get(d->engine, name, &info) >= 0 ? info.objsize : 0));
                add(c, "objperslab", proto_json_u64(si ? si->objperslab : 0));
                add(c, "pagesperslab", proto_json_u64(si ? si->pagesperslab : 0));
                add(c, "active_objs", export_values(&x, id, times, n, false));
                add(c, "num_slabs", export_values(&x, id, times, n, true));
                add(caches, name, c);
        }
        add(o, "tier", json_object_new_string(tier_names[x.tier]));
        add(o, "interval_s", proto_json_double((double) d->config.interval_usec / 1e6));
        add(o, "page_size", proto_json_u64(d->page_size));
        add(o, "t_usec", t);
        add(o, "meminfo", mem);
        add(o, "caches", caches);
        add(o, "more", json_object_new_boolean(more));
        add(o, "next_usec", more ? proto_json_u64(times[n]) : NULL);
        free(x.pts);
        free(times);
        free(scratch);
        return proto_response_new_ok(req->command, o);
}

json_object *commands_handle(const struct server_peer *peer, const struct proto_request *req, json_object *args,
                             void *userdata) {
        struct daemon *d = userdata;
        (void) peer;
        (void) args;
        if (!d->engine && req->command != PROTO_CMD_VERSION)
                return proto_response_new_error(PROTO_ERR_UNAVAILABLE, "the daemon is starting");
        switch (req->command) {
        case PROTO_CMD_STATUS:
                return status_answer(d, req);
        case PROTO_CMD_TOP:
                return top_answer(d, req);
        case PROTO_CMD_HISTORY:
                return history_answer(d, req);
        case PROTO_CMD_MEMINFO:
                return meminfo_answer(d, req);
        case PROTO_CMD_EVENTS:
                return events_answer(d, req);
        case PROTO_CMD_CAPTURES:
                return captures_answer(d, req);
        case PROTO_CMD_CAPTURE:
                return capture_answer(d, req);
        case PROTO_CMD_ARM:
                return arm_answer(d, req);
        case PROTO_CMD_DISARM:
                return disarm_answer(d, req);
        case PROTO_CMD_RELOAD:
                return reload_answer(d, req);
        case PROTO_CMD_VERSION:
                return version_answer(req);
        case PROTO_CMD_METRICS:
                return metrics_answer(d, req);
        case PROTO_CMD_EXPORT:
                return export_answer(d, req);
        default:
                return proto_response_new_error(PROTO_ERR_UNKNOWN_COMMAND, "unknown command");
        }
}
