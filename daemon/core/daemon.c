/* daemon — the slabwatchd object: the sampling tick and its alerts, the
 * hand-off of a trip to the capture manager, and the parts of the daemon in
 * one list (parts[] below: started in order, finalised in reverse). */
#include "core/daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <malloc.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include "base/path.h"
#include "base/units.h"
#include "capture/capture.h"
#include "capture/probe.h"
#include "core/histcsv.h"
#include "core/log.h"
#include "core/snapshot.h"

/* At most this many malformed-slabinfo-line reports over the daemon's life,
 * so a kernel that prints an odd line every tick cannot flood the journal. */
#define SLABINFO_BAD_REPORTS_MAX 16U
/* Past those, a count of malformed lines at most once this many samples. */
#define SLABINFO_BAD_SUMMARY_SAMPLES 60U
/* History heap that must have been freed (caches retired) before we ask
 * malloc to return pages to the system. */
#define DAEMON_TRIM_SLACK_BYTES ((size_t) 4 << 20)

uint64_t daemon_now_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

uint64_t daemon_mono_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

static int mkdir_p(const char *path, mode_t mode) {
        char buf[CONFIG_PATH_MAX];
        size_t len = strlen(path);
        if (len == 0 || len >= sizeof buf)
                return -ENAMETOOLONG;
        memcpy(buf, path, len + 1);
        for (char *p = buf + 1; *p; p++) {
                if (*p != '/')
                        continue;
                *p = '\0';
                if (mkdir(buf, mode) < 0 && errno != EEXIST)
                        return -errno;
                *p = '/';
        }
        if (mkdir(buf, mode) < 0 && errno != EEXIST)
                return -errno;
        return 0;
}

/* The cache's reclaim_account flag from SLUB sysfs: 1, 0, or -errno (no
 * SLUB sysfs, e.g. the old SLAB allocator: the engine then guesses by name). */
static int reclaimable_lookup(const char *cache, void *userdata) {
        struct daemon *d = userdata;
        char rel[SLABINFO_NAME_MAX + 64], path[CONFIG_PATH_MAX + sizeof rel], value[16];
        int r;

        snprintf(rel, sizeof rel, "kernel/slab/%s/reclaim_account", cache);
        if ((r = path_join(path, sizeof path, d->config.paths.sys, rel)) < 0)
                return r;
        if ((r = readfile_small(path, value, sizeof value)) < 0)
                return r;
        if (strcmp(value, "1") == 0)
                return 1;
        if (strcmp(value, "0") == 0)
                return 0;
        return -EINVAL;
}

static void report_read_error(int *last, int r, const char *path, const char *consequence) {
        if (r == *last)
                return;
        *last = r;
        if (r < 0)
                log_warning_errno(r, "Cannot read %s; %s", path, consequence);
        else
                log_notice("%s is readable again", path);
}

/* The first SLABINFO_BAD_REPORTS_MAX malformed lines are reported one by
 * one; after that a count, every SLABINFO_BAD_SUMMARY_SAMPLES samples that
 * had any, so a kernel that keeps printing garbage is neither silent nor
 * flooding the journal. */
static void report_bad_lines(struct daemon *d, const char *path) {
        const struct slabinfo *s = &d->slabinfo;
        d->stats.slabinfo_bad_lines += s->n_bad_lines;
        size_t i = 0;
        for (; i < s->n_bad_lines && i < SLABINFO_BAD_LINES_MAX; i++) {
                if (d->slabinfo_bad_reported >= SLABINFO_BAD_REPORTS_MAX)
                        break;
                log_warning_errno(s->bad_lines[i].error, "%s:%u: malformed line skipped", path,
                                  s->bad_lines[i].line);
                if (++d->slabinfo_bad_reported == SLABINFO_BAD_REPORTS_MAX) {
                        log_warning("%u malformed lines in %s reported; further ones are suppressed "
                                    "and counted, with a count every %u samples",
                                    SLABINFO_BAD_REPORTS_MAX, path, SLABINFO_BAD_SUMMARY_SAMPLES);
                        d->slabinfo_bad_since = d->stats.samples;
                        i++;
                        break;
                }
        }
        if (d->slabinfo_bad_reported < SLABINFO_BAD_REPORTS_MAX)
                return;
        d->slabinfo_bad_pending += s->n_bad_lines - i;
        if (d->slabinfo_bad_pending > 0 && d->stats.samples - d->slabinfo_bad_since >= SLABINFO_BAD_SUMMARY_SAMPLES) {
                log_warning("%s: %" PRIu64 " malformed lines skipped (not reported one by one) in the last %" PRIu64
                            " samples, %" PRIu64 " since start",
                            path, d->slabinfo_bad_pending, d->stats.samples - d->slabinfo_bad_since,
                            d->stats.slabinfo_bad_lines);
                d->slabinfo_bad_pending = 0;
                d->slabinfo_bad_since = d->stats.samples;
        }
}

/* Caches left out of the history by its memory bound, said when the count
 * changes; and the heap of retired caches given back to the system. */
static void report_memory(struct daemon *d) {
        size_t untracked = engine_caches_untracked(d->engine);
        if (untracked != d->caches_untracked) {
                if (untracked > 0)
                        log_warning("%zu caches of slabinfo are not tracked: the history of all caches is "
                                    "bounded to %zu MiB (%zu KiB a cache with these spans)",
                                    untracked, ENGINE_HISTORY_BYTES_MAX >> 20,
                                    history_series_bytes_max(history_params(engine_history(d->engine)), 2) >> 10);
                else
                        log_notice("Every cache of slabinfo is tracked again");
                d->caches_untracked = untracked;
        }
        size_t bytes = history_memory_bytes(engine_history(d->engine));
        if (bytes + DAEMON_TRIM_SLACK_BYTES < d->history_bytes_high) {
                /* free() keeps small chunks in the heap: hand the pages back. */
                (void) malloc_trim(0);
                d->history_bytes_high = bytes;
        } else if (bytes > d->history_bytes_high)
                d->history_bytes_high = bytes;
}

static int count_tripped(const struct engine_cache_info *info, void *userdata) {
        unsigned *n = userdata;
        if (info->state == DETECT_TRIPPED)
                (*n)++;
        return 0;
}

static void update_status(struct daemon *d) {
        unsigned tripped = 0;
        (void) engine_foreach_cache(d->engine, count_tripped, &tripped);
        const struct verdict *v = engine_verdict(d->engine);
        sd_notifyf(false, "STATUS=%" PRIu64 " samples, %zu caches, %u tripped; %s", d->stats.samples,
                   d->slabinfo.n_caches, tripped, v->text[0] ? v->text : "no verdict yet");
}

/* ============================== Captures =============================== */

static void on_capture_done(const struct capture_result *res, void *userdata) {
        struct daemon *d = userdata;
        struct alert_event a = { .t_usec = daemon_now_usec() };

        if (res->error < 0) {
                a.kind = ALERT_CAPTURE_FAILED;
                a.priority = LOG_WARNING;
                alert_event_add(&a, "ERROR", "%s", res->message);
        } else {
                a.kind = ALERT_CAPTURE;
                a.priority = LOG_WARNING;
        }
        snprintf(a.message, sizeof a.message, "%s", res->message);
        alert_event_add(&a, "CACHE", "%s", res->cache);
        alert_event_add(&a, "SLABINFO_NAME", "%s", res->slabinfo_name);
        alert_event_add(&a, "CAPTURE_ID", "%s", res->id);
        alert_event_add(&a, "CAPTURE_DIR", "%s", res->dir);
        alert_event_add(&a, "METHOD", "%s", res->method);
        alert_event_add(&a, "STOP_REASON", "%s", res->stop_reason);
        alert_event_add(&a, "EVENTS", "%" PRIu64, res->events);
        alert_event_add(&a, "LOST_EVENTS", "%" PRIu64, res->lost_events);
        alert_event_add(&a, "TOP_STACK", "%s", res->top_stack);
        alert_event_add(&a, "TOP_OUTSTANDING", "%" PRIu64, res->top_outstanding);
        alert_event_add(&a, "SUSPECT", "%s", res->suspect);
        alert_event_add(&a, "CONFIDENCE", "%s", res->confidence);
        alert_event_add(&a, "LEAK_GROUP", "%s", res->leak_group);
        alert_event_add(&a, "TOP_CALL_SITE", "%s", res->top_call_site);
        if (res->bundle_error < 0)
                alert_event_add(&a, "BUNDLE_ERROR", "%s: %s", res->bundle_error_path, strerror(-res->bundle_error));
        alert_send(&d->alert, &a);
        if (res->bundle_error < 0)
                log_error_errno(res->bundle_error, "Cannot write capture bundle %s (the alert carries the top stack)",
                                res->bundle_error_path);
}

/* A cache tripped: start a capture if the config allows. */
static void capture_on_trip(struct daemon *d, const struct engine_event *ev) {
        char reason[256];
        size_t csv_len = 0;
        int r;

        if (!d->captures || !d->config.capture.enabled)
                return;
        snprintf(reason, sizeof reason, "+%.1f objects/min, +%.0f bytes/h, trend %.2f over %" PRIu64 " s (rule %s)",
                 ev->objs_per_min, ev->bytes_per_hour, ev->trend, ev->window_usec / 1000000u,
                 ev->rule_match[0] ? ev->rule_match : "-");
        uint64_t since = ev->t_usec > 2 * ev->window_usec ? ev->t_usec - 2 * ev->window_usec : 0;
        /* The verdict of this tick is judged before its trips go out. */
        histcsv_verdicts_add(&d->verdicts, ev->t_usec, engine_verdict(d->engine)->flags);
        char *csv = histcsv_build(d->engine, ev->cache, since, &d->verdicts, &csv_len);
        struct capture_trigger why = {
                .reason = reason,
                .objects_per_min = ev->objs_per_min,
                .bytes_per_hour = ev->bytes_per_hour,
                .percent_per_hour = ev->percent_per_hour,
                .active_objs = ev->active_objs,
                .window_usec = ev->window_usec,
                .history_csv = csv,
                .history_csv_len = csv_len,
                .slabinfo = &d->slabinfo,       /* the sample that tripped, not a re-read */
        };
        r = capture_manager_trip(d->captures, ev->cache, &why);
        free(csv);
        if (r < 0)
                log_info("No capture for %s now: %s", ev->cache, capture_strerror(r));
        else
                log_info("Evidence capture of %s scheduled (the most specific cache of a suspected leak goes "
                         "first, the others wait for a slot)",
                         ev->cache);
}

/* ============================== Sampling =============================== */

static void on_engine_event(const struct engine_event *ev, void *userdata) {
        struct daemon *d = userdata;
        struct alert_event a = { .t_usec = ev->t_usec };
        char rate[32], size[32];
        uint64_t window_sec = ev->window_usec / 1000000u;

        switch (ev->type) {
        case ENGINE_EVENT_TRIP:
        case ENGINE_EVENT_RETRIP:
                a.kind = ev->type == ENGINE_EVENT_TRIP ? ALERT_TRIP : ALERT_RETRIP;
                a.priority = LOG_WARNING;
                snprintf(a.message, sizeof a.message,
                         "%sslab cache %s grows steadily: +%.0f objects/min (+%s/h); its floor rose by %.0f "
                         "objects in %.1f min (%.0f times its noise), now %" PRIu64 " objects (%s)%s",
                         ev->type == ENGINE_EVENT_RETRIP ? "still growing: " : "leak suspected: ",
                         ev->cache, ev->objs_per_min, units_format_bytes(ev->bytes_per_hour, false, rate, sizeof rate),
                         ev->rise_objs, ev->rise_sec / 60, ev->significance, ev->active_objs,
                         units_format_bytes((double) ev->bytes, false, size, sizeof size),
                         ev->reclaimable ? " [reclaimable cache]" : "");
                break;
        case ENGINE_EVENT_CLEARED:
                a.kind = ALERT_CLEARED;
                a.priority = LOG_NOTICE;
                snprintf(a.message, sizeof a.message,
                         "slab cache %s stopped growing: %" PRIu64 " objects (%s)", ev->cache,
                         ev->active_objs, units_format_bytes((double) ev->bytes, false, size, sizeof size));
                break;
        case ENGINE_EVENT_VERDICT:
                a.kind = ALERT_VERDICT;
                a.priority = LOG_NOTICE;
                histcsv_verdicts_add(&d->verdicts, ev->t_usec, engine_verdict(d->engine)->flags);
                snprintf(a.message, sizeof a.message, "memory verdict: %s", ev->verdict_text);
                alert_event_add(&a, "VERDICT", "%s", ev->verdict_text);
                alert_send(&d->alert, &a);
                return;
        }
        alert_event_add(&a, "CACHE", "%s", ev->cache);
        alert_event_add(&a, "OBJS_PER_MIN", "%.1f", ev->objs_per_min);
        alert_event_add(&a, "BYTES_PER_HOUR", "%.0f", ev->bytes_per_hour);
        alert_event_add(&a, "PERCENT_PER_HOUR", "%.2f", ev->percent_per_hour);
        alert_event_add(&a, "TREND", "%.2f", ev->trend);
        alert_event_add(&a, "ACTIVE_OBJS", "%" PRIu64, ev->active_objs);
        alert_event_add(&a, "BYTES", "%" PRIu64, ev->bytes);
        alert_event_add(&a, "WINDOW_SEC", "%" PRIu64, window_sec);
        alert_event_add(&a, "RISE_OBJS", "%.0f", ev->rise_objs);
        alert_event_add(&a, "RISE_SEC", "%.0f", ev->rise_sec);
        alert_event_add(&a, "SIGNIFICANCE", "%.1f", ev->significance);
        alert_event_add(&a, "RULE", "%s", ev->rule_match);
        alert_event_add(&a, "RECLAIMABLE", "%d", ev->reclaimable);
        alert_event_add(&a, "VERDICT", "%s", ev->verdict_text);
        alert_send(&d->alert, &a);
        if (ev->type == ENGINE_EVENT_TRIP)
                capture_on_trip(d, ev);
}

void daemon_sample(struct daemon *d) {
        char path[CONFIG_PATH_MAX + 32];
        uint64_t t0 = daemon_mono_usec(), t_read, t_usec = daemon_now_usec();
        bool have_slabinfo = false, have_meminfo = false;
        int r;

        path_join(path, sizeof path, d->config.paths.proc, "meminfo");
        r = readfile_read(&d->meminfo_buf, path);
        if (r >= 0) {
                r = meminfo_parse(d->meminfo_buf.data, d->meminfo_buf.len, &d->meminfo);
                if (r < 0)
                        r = -EBADMSG;
        }
        report_read_error(&d->meminfo_error, r < 0 ? r : 0, path, "the verdict has no meminfo history");
        have_meminfo = r >= 0;

        path_join(path, sizeof path, d->config.paths.proc, "slabinfo");
        r = readfile_read(&d->slabinfo_buf, path);
        t_read = daemon_mono_usec();
        if (r >= 0) {
                r = slabinfo_parse(d->slabinfo_buf.data, d->slabinfo_buf.len, &d->slabinfo);
                if (r < 0)
                        r = -EBADMSG;
        }
        report_read_error(&d->slabinfo_error, r < 0 ? r : 0, path,
                          r == -EACCES ? "slabinfo needs root; watching meminfo only"
                                       : "watching meminfo only");
        if (r >= 0) {
                have_slabinfo = true;
                if (d->slabinfo.n_bad_lines > 0)
                        report_bad_lines(d, path);
        }

        /* The trips of this sample are grouped before a capture starts. */
        capture_manager_hold(d->captures);
        if (have_meminfo || have_slabinfo) {
                r = engine_feed(d->engine, t_usec, have_slabinfo ? &d->slabinfo : NULL,
                                have_meminfo ? &d->meminfo : NULL, d->page_size, reclaimable_lookup,
                                on_engine_event, d);
                if (r < 0)
                        log_warning_errno(r, "Sample at %" PRIu64 " not recorded", t_usec);
                report_memory(d);
        }
        /* The ledger of a running capture: its cache's growth in the window
         * (a capture this sample's trip started takes it as its first). */
        if (have_slabinfo && d->captures)
                capture_manager_sample(d->captures, &d->slabinfo);
        capture_manager_release(d->captures);

        uint64_t t1 = daemon_mono_usec();
        d->stats.samples++;
        d->stats.last_sample_usec = t_usec;
        /* The kernel's formatting dominates the read; parse and detection are ours. */
        d->stats.last_read_usec = t_read - t0;
        d->stats.last_work_usec = t1 - t_read;
        d->stats.total_read_usec += d->stats.last_read_usec;
        d->stats.total_work_usec += d->stats.last_work_usec;

        if (!d->ready) {
                sd_notify(false, "READY=1");
                d->ready = true;
        }
        sd_notify(false, "WATCHDOG=1");
        update_status(d);
        r = daemon_write_textfile(d);
        if (r < 0 && r != d->metrics_error)
                log_warning_errno(r, "Cannot write metrics to %s", d->config.metrics.textfile);
        d->metrics_error = r < 0 ? r : 0;
        snapshot_tick(d, daemon_mono_usec());
}

static void on_sample_timer(struct ev_loop *loop, ev_timer *w, int revents) {
        struct daemon *d = (struct daemon *) ((char *) w - offsetof(struct daemon, sample_timer));
        (void) revents;
        ev_tstamp now = ev_now(loop);
        if (d->next_tick > 0 && now > d->next_tick) {
                uint64_t late = (uint64_t) ((now - d->next_tick) * 1e6);
                d->stats.jitter_total_usec += late;
                if (late > d->stats.jitter_max_usec)
                        d->stats.jitter_max_usec = late;
        }
        daemon_sample(d);
        /* Schedule against the ideal grid, so slow ticks do not drift the series. */
        ev_tstamp interval = (ev_tstamp) d->config.interval_usec / 1e6;
        d->next_tick = d->next_tick > 0 ? d->next_tick + interval : now + interval;
        ev_now_update(loop);
        if (d->next_tick <= ev_now(loop))
                d->next_tick = ev_now(loop) + interval; /* we fell behind: skip, do not burst */
        ev_timer_set(w, d->next_tick - ev_now(loop), 0.);
        ev_timer_start(loop, w);
}

static void on_stop_signal(struct ev_loop *loop, ev_signal *w, int revents) {
        (void) revents;
        log_info("Received %s, stopping", w->signum == SIGTERM ? "SIGTERM" : "SIGINT");
        sd_notify(false, "STOPPING=1");
        ev_break(loop, EVBREAK_ALL);
}

static void on_sighup(struct ev_loop *loop, ev_signal *w, int revents) {
        struct daemon *d = (struct daemon *) ((char *) w - offsetof(struct daemon, sighup));
        (void) loop;
        (void) revents;
        sd_notify(false, "RELOADING=1");
        (void) daemon_reload(d);
        sd_notify(false, "READY=1");
}

/* =============================== Parts =================================
 * Each part starts from d->config and stops with @final true at exit, false
 * when a reload restarts it. A start returns < 0 only when the daemon cannot
 * run without the part; the optional ones report their failure and stay off. */

static int engine_start(struct daemon *d) {
        return engine_new(&d->config, &d->engine);
}

static void engine_stop(struct daemon *d, bool final) {
        (void) final;
        engine_free(d->engine);
        d->engine = NULL;
}

/* The alert sink and the state directory its events log lives in. */
static int alerts_start(struct daemon *d) {
        int r;
        d->alert.journal = d->config.alert.journal;
        d->alert.stderr_always = d->config.alert.stderr_always;
        d->alert.events_log_max_bytes = d->config.alert.events_log_max_bytes;
        d->alert.events_log = NULL;
        r = mkdir_p(d->config.paths.state_dir, 0750);
        if (r < 0) {
                log_warning_errno(r, "Cannot create state directory %s; no events log",
                                  d->config.paths.state_dir);
                return 0;
        }
        if (path_join(d->events_log_path, sizeof d->events_log_path, d->config.paths.state_dir,
                          "events.log") >= 0)
                d->alert.events_log = d->events_log_path;
        return 0;
}

static int signals_start(struct daemon *d) {
        ev_signal_start(d->loop, &d->sigterm);
        ev_signal_start(d->loop, &d->sigint);
        ev_signal_start(d->loop, &d->sighup);
        return 0;
}

static void signals_stop(struct daemon *d, bool final) {
        (void) final;
        ev_signal_stop(d->loop, &d->sigterm);
        ev_signal_stop(d->loop, &d->sigint);
        ev_signal_stop(d->loop, &d->sighup);
}

/* The socket server; a reload only reconfigures it (and keeps a socket
 * systemd passed). Queries are optional: a failure is reported, not fatal. */
static int server_start(struct daemon *d) {
        int fd = -1, r;

        if (!d->handler)
                return 0;
        if (d->server) {
                (void) server_reconfigure(d->server, &d->config.server);
                return 0;
        }
        int passed = server_listen_fd_from_systemd(&fd);
        if (passed < 0)
                log_warning_errno(passed, "Ignoring the sockets systemd passed");
        if (passed > 0)
                r = server_new_from_fd(d->loop, &d->config.server, fd, d->handler, d, &d->server);
        else
                r = server_new(d->loop, &d->config.server, d->handler, d, &d->server);
        if (r < 0)
                log_error_errno(r, "Cannot listen on %s; no queries until the next reload",
                                passed > 0 ? "the socket systemd passed" : d->config.server.socket);
        return 0;
}

static void server_stop(struct daemon *d, bool final) {
        if (!final)
                return;
        server_free(d->server);
        d->server = NULL;
}

static void captures_stop(struct daemon *d, bool final) {
        if (!final && d->captures_kept) {
                log_info("The running capture(s) go on across the reload (paths and capture settings unchanged)");
                return;
        }
        if (d->captures) {
                unsigned n = capture_manager_running(d->captures);
                if (!final && n > 0)
                        log_notice("The reload changes paths or capture settings: %u running capture(s) cut short, "
                                   "written with what they hold",
                                   n);
                (void) capture_manager_stop_all(d->captures, final ? "stopping" : CAPTURE_RELOAD_REASON);
                capture_manager_free(d->captures);
                d->captures = NULL;
        }
}

/* The capture manager, which owns the capability probe. Watching and
 * alerting work without it: a failure is reported, not fatal. */
static int captures_start(struct daemon *d) {
        char summary[PROBE_SUMMARY_MAX];
        if (d->captures && d->captures_kept) {
                d->captures_kept = false;
                return 0;
        }
        int r = capture_manager_new(d->loop, &d->config, on_capture_done, d, &d->captures);
        if (r < 0) {
                log_error_errno(r, "Cannot set up evidence capture");
                captures_stop(d, false);
                return 0;
        }
        log_info("Capabilities: %s", probe_summary(capture_manager_probe(d->captures), summary, sizeof summary));
        return 0;
}

/* The history saved by the previous run, if any; saved again at exit. */
static int history_start(struct daemon *d) {
        (void) snapshot_restore(d);
        return 0;
}

static void history_stop(struct daemon *d, bool final) {
        if (final)
                (void) snapshot_save(d);
}

/* The sampling timer: the first tick runs at once. */
static int sampling_start(struct daemon *d) {
        d->next_tick = 0;
        ev_timer_set(&d->sample_timer, 0., 0.);
        ev_timer_start(d->loop, &d->sample_timer);
        return 0;
}

static void sampling_stop(struct daemon *d, bool final) {
        (void) final;
        ev_timer_stop(d->loop, &d->sample_timer);
}

enum {
        PART_AT_NEW = 1 << 0,   /* started by daemon_new (the rest by daemon_start) */
        PART_RELOAD = 1 << 1,   /* stopped and started again by a reload */
};

/* The daemon's parts: started in this order, finalised in reverse. */
static const struct daemon_part {
        const char *name;
        int (*start)(struct daemon *d);
        void (*stop)(struct daemon *d, bool final);
        unsigned flags;
} parts[] = {
        { "engine",   engine_start,   engine_stop,   PART_AT_NEW },
        { "alerts",   alerts_start,   NULL,          PART_AT_NEW | PART_RELOAD },
        { "history",  history_start,  history_stop,  PART_AT_NEW },
        { "signals",  signals_start,  signals_stop,  0 },
        { "server",   server_start,   server_stop,   PART_RELOAD },
        { "captures", captures_start, captures_stop, PART_RELOAD },
        { "sampling", sampling_start, sampling_stop, PART_RELOAD },
};
#define N_PARTS (sizeof parts / sizeof parts[0])

/* Start parts from d->parts_started on, while @flags match. */
static int parts_start(struct daemon *d, unsigned flags) {
        while (d->parts_started < N_PARTS && (parts[d->parts_started].flags & flags) == flags) {
                const struct daemon_part *p = &parts[d->parts_started];
                int r = p->start(d);
                if (r < 0)
                        return log_error_errno(r, "Cannot start the %s", p->name);
                d->parts_started++;
        }
        return 0;
}

static void apply_config(struct daemon *d, const struct config *cfg) {
        d->config = *cfg;
        long ps = sysconf(_SC_PAGESIZE);
        d->page_size = d->config.page_size ? d->config.page_size : (uint32_t) (ps > 0 ? ps : 4096);
}

int daemon_new(struct ev_loop *loop, const struct config_source *src, const struct config *cfg,
               server_handler_fn handler, struct daemon **ret) {
        struct daemon *d = calloc(1, sizeof *d);
        int r;
        if (!d)
                return -ENOMEM;
        d->loop = loop;
        d->handler = handler;
        d->source = *src;
        apply_config(d, cfg);
        d->start_usec = daemon_now_usec();
        histcsv_verdicts_init(&d->verdicts, d->start_usec);
        ev_init(&d->sample_timer, on_sample_timer);
        ev_signal_init(&d->sigterm, on_stop_signal, SIGTERM);
        ev_signal_init(&d->sigint, on_stop_signal, SIGINT);
        ev_signal_init(&d->sighup, on_sighup, SIGHUP);

        r = parts_start(d, PART_AT_NEW);
        if (r < 0) {
                daemon_free(d);
                return r;
        }
        *ret = d;
        return 0;
}

int daemon_start(struct daemon *d) {
        int r = parts_start(d, 0);
        if (r < 0)
                return r;
        log_info("slabwatchd %s: sampling %s every %.3g s", SLABWATCH_VERSION, d->config.paths.proc,
                 (double) d->config.interval_usec / 1e6);
        return 0;
}

int daemon_reload(struct daemon *d) {
        const char *path = d->source.path;
        struct config_error err = {};
        bool defaults = false;
        struct config *cfg = malloc(sizeof *cfg); /* ~70 KiB: not on the stack */
        if (!cfg)
                return log_error_errno(-ENOMEM, "Cannot reload %s", path);
        int r = config_load(&d->source, cfg, &defaults, &err);
        if (r < 0) {
                free(cfg);
                char msg[CONFIG_ERROR_MAX + CONFIG_PATH_MAX + 32];
                log_error("%s; keeping the old configuration", config_error_format(&err, path, msg, sizeof msg));
                return r;
        }
        if (defaults)
                log_info("No %s, using the built-in defaults", path);
        r = engine_reconfigure(d->engine, cfg);
        if (r < 0) {
                free(cfg);
                return log_error_errno(r, "%s: not usable; keeping the old configuration", path);
        }
        /* A capture runs on the paths and capture settings alone (the
         * manager reads nothing else of its copy): while they stay as
         * they are, the reload does not cut it short. */
        d->captures_kept = d->captures && capture_manager_running(d->captures) > 0 &&
                           memcmp(&d->config.paths, &cfg->paths, sizeof cfg->paths) == 0 &&
                           memcmp(&d->config.capture, &cfg->capture, sizeof cfg->capture) == 0;
        for (size_t i = d->parts_started; i-- > 0;)
                if ((parts[i].flags & PART_RELOAD) && parts[i].stop)
                        parts[i].stop(d, false);
        apply_config(d, cfg);
        free(cfg);
        for (size_t i = 0; i < d->parts_started; i++)
                if ((parts[i].flags & PART_RELOAD) && (r = parts[i].start(d)) < 0)
                        log_error_errno(r, "Cannot restart the %s after reload", parts[i].name);
        log_info("Reloaded %s", path);
        return 0;
}

void daemon_free(struct daemon *d) {
        if (!d)
                return;
        while (d->parts_started > 0) {
                const struct daemon_part *p = &parts[--d->parts_started];
                if (p->stop)
                        p->stop(d, true);
        }
        readfile_done(&d->meminfo_buf);
        readfile_done(&d->slabinfo_buf);
        slabinfo_done(&d->slabinfo);
        free(d);
}
