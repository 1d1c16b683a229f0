#include "core/daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include "caches/engine.h"
#include "core/log.h"
#include "core/services.h"
#include "core/snapshot.h"
#include "base/units.h"

/* At most this many malformed-slabinfo-line reports over the daemon's life,
 * so a kernel that prints an odd line every tick cannot flood the journal. */
#define SLABINFO_BAD_REPORTS_MAX 16

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
        if ((r = readfile_path(path, sizeof path, d->config.paths.sys, rel)) < 0)
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

static void report_bad_lines(struct daemon *d, const char *path) {
        const struct slabinfo *s = &d->slabinfo;
        d->stats.slabinfo_bad_lines += s->n_bad_lines;
        for (size_t i = 0; i < s->n_bad_lines && i < SLABINFO_BAD_LINES_MAX; i++) {
                if (d->slabinfo_bad_reported >= SLABINFO_BAD_REPORTS_MAX)
                        return;
                if (++d->slabinfo_bad_reported == SLABINFO_BAD_REPORTS_MAX)
                        log_warning("Further malformed lines in %s are counted, not reported", path);
                else
                        log_warning_errno(s->bad_lines[i].error, "%s:%u: malformed line skipped", path,
                                          s->bad_lines[i].line);
        }
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
                         "%sslab cache %s grows steadily: +%.0f objects/min (+%s/h) over %" PRIu64
                         " s, now %" PRIu64 " objects (%s)%s",
                         ev->type == ENGINE_EVENT_RETRIP ? "still growing: " : "leak suspected: ",
                         ev->cache, ev->objs_per_min, units_format_bytes(ev->bytes_per_hour, false, rate, sizeof rate),
                         window_sec, ev->active_objs, units_format_bytes((double) ev->bytes, false, size, sizeof size),
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
        alert_event_add(&a, "RULE", "%s", ev->rule_match);
        alert_event_add(&a, "RECLAIMABLE", "%d", ev->reclaimable);
        alert_event_add(&a, "VERDICT", "%s", ev->verdict_text);
        alert_send(&d->alert, &a);
        if (ev->type == ENGINE_EVENT_TRIP)
                daemon_on_trip(d, ev);
}

void daemon_sample(struct daemon *d) {
        char path[CONFIG_PATH_MAX + 32];
        uint64_t t0 = daemon_mono_usec(), t_read, t_usec = daemon_now_usec();
        bool have_slabinfo = false, have_meminfo = false;
        int r;

        readfile_path(path, sizeof path, d->config.paths.proc, "meminfo");
        r = readfile_read(&d->meminfo_buf, path);
        if (r >= 0) {
                r = meminfo_parse(d->meminfo_buf.data, d->meminfo_buf.len, &d->meminfo);
                if (r < 0)
                        r = -EBADMSG;
        }
        report_read_error(&d->meminfo_error, r < 0 ? r : 0, path, "the verdict has no meminfo history");
        have_meminfo = r >= 0;

        readfile_path(path, sizeof path, d->config.paths.proc, "slabinfo");
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

        if (have_meminfo || have_slabinfo) {
                r = engine_feed(d->engine, t_usec, have_slabinfo ? &d->slabinfo : NULL,
                                have_meminfo ? &d->meminfo : NULL, d->page_size, reclaimable_lookup,
                                on_engine_event, d);
                if (r < 0)
                        log_warning_errno(r, "Sample at %" PRIu64 " not recorded", t_usec);
        }

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
        daemon_after_sample(d);
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

static void setup_alert_sink(struct daemon *d) {
        int r;
        d->alert.journal = d->config.alert.journal;
        d->alert.stderr_always = d->config.alert.stderr_always;
        d->alert.events_log_max_bytes = d->config.alert.events_log_max_bytes;
        d->alert.events_log = NULL;
        r = mkdir_p(d->config.paths.state_dir, 0750);
        if (r < 0) {
                log_warning_errno(r, "Cannot create state directory %s; no events log",
                                  d->config.paths.state_dir);
                return;
        }
        if (readfile_path(d->events_log_path, sizeof d->events_log_path, d->config.paths.state_dir,
                          "events.log") >= 0)
                d->alert.events_log = d->events_log_path;
}

int daemon_new(struct ev_loop *loop, const char *config_path, const struct config *cfg,
               struct daemon **ret) {
        struct daemon *d = calloc(1, sizeof *d);
        int r;
        if (!d)
                return -ENOMEM;
        d->loop = loop;
        snprintf(d->config_path, sizeof d->config_path, "%s", config_path);
        d->config = *cfg;
        long ps = sysconf(_SC_PAGESIZE);
        d->page_size = cfg->page_size ? cfg->page_size : (uint32_t) (ps > 0 ? ps : 4096);
        d->start_usec = daemon_now_usec();

        r = engine_new(&d->config, &d->engine);
        if (r < 0) {
                free(d);
                return r;
        }
        setup_alert_sink(d);
        (void) snapshot_restore(d);

        ev_init(&d->sample_timer, on_sample_timer);
        ev_signal_init(&d->sigterm, on_stop_signal, SIGTERM);
        ev_signal_init(&d->sigint, on_stop_signal, SIGINT);
        ev_signal_init(&d->sighup, on_sighup, SIGHUP);
        *ret = d;
        return 0;
}

int daemon_start(struct daemon *d) {
        int r;
        ev_signal_start(d->loop, &d->sigterm);
        ev_signal_start(d->loop, &d->sigint);
        ev_signal_start(d->loop, &d->sighup);
        r = daemon_start_services(d);
        if (r < 0)
                return r;
        log_info("slabwatchd %s: sampling %s every %.3g s", SLABWATCH_VERSION, d->config.paths.proc,
                 (double) d->config.interval_usec / 1e6);
        ev_timer_set(&d->sample_timer, 0., 0.);
        ev_timer_start(d->loop, &d->sample_timer);
        return 0;
}

int daemon_reload(struct daemon *d) {
        struct config_error err = {};
        struct config *cfg = malloc(sizeof *cfg); /* ~70 KiB: not on the stack */
        if (!cfg)
                return log_error_errno(-ENOMEM, "Cannot reload %s", d->config_path);
        int r = config_load_file(d->config_path, cfg, &err);
        if (r < 0) {
                free(cfg);
                char msg[CONFIG_ERROR_MAX + CONFIG_PATH_MAX + 32];
                log_error("%s; keeping the old configuration",
                          config_error_format(&err, d->config_path, msg, sizeof msg));
                return r;
        }
        r = engine_reconfigure(d->engine, cfg);
        if (r < 0) {
                free(cfg);
                return log_error_errno(r, "%s: not usable; keeping the old configuration", d->config_path);
        }
        daemon_stop_services(d, false);
        d->config = *cfg;
        free(cfg);
        long ps = sysconf(_SC_PAGESIZE);
        d->page_size = d->config.page_size ? d->config.page_size : (uint32_t) (ps > 0 ? ps : 4096);
        setup_alert_sink(d);
        r = daemon_start_services(d);
        if (r < 0)
                log_error_errno(r, "Cannot restart services after reload");
        ev_timer_stop(d->loop, &d->sample_timer);
        d->next_tick = 0;
        ev_timer_set(&d->sample_timer, 0., 0.);
        ev_timer_start(d->loop, &d->sample_timer);
        log_info("Reloaded %s", d->config_path);
        return 0;
}

void daemon_free(struct daemon *d) {
        if (!d)
                return;
        ev_timer_stop(d->loop, &d->sample_timer);
        ev_signal_stop(d->loop, &d->sigterm);
        ev_signal_stop(d->loop, &d->sigint);
        ev_signal_stop(d->loop, &d->sighup);
        daemon_stop_services(d, true);
        (void) snapshot_save(d);
        engine_free(d->engine);
        readfile_done(&d->meminfo_buf);
        readfile_done(&d->slabinfo_buf);
        slabinfo_done(&d->slabinfo);
        free(d);
}
