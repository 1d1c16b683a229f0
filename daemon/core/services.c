#include "core/services.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture/capture.h"
#include "control/commands.h"
#include "core/log.h"
#include "capture/probe.h"
#include "control/server.h"
#include "core/textfile.h"

/* Points of history put into a capture bundle's history.csv. */
#define SERVICES_HISTORY_CSV_POINTS 4096

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
        alert_event_add(&a, "TOP_CALL_SITE", "%s", res->top_call_site);
        if (res->bundle_error < 0)
                alert_event_add(&a, "BUNDLE_ERROR", "%s: %s", res->bundle_error_path, strerror(-res->bundle_error));
        alert_send(&d->alert, &a);
        if (res->bundle_error < 0)
                log_error_errno(res->bundle_error, "Cannot write capture bundle %s (the alert carries the top stack)",
                                res->bundle_error_path);
}

static int capture_start(struct daemon *d) {
        char summary[PROBE_SUMMARY_MAX];
        int r;

        r = capture_manager_new(d->loop, &d->config, on_capture_done, d, &d->captures);
        if (r < 0)
                return log_error_errno(r, "Cannot set up evidence capture");
        log_info("Capabilities: %s", probe_summary(capture_manager_probe(d->captures), summary, sizeof summary));
        return 0;
}

static void capture_stop(struct daemon *d, const char *reason) {
        if (d->captures) {
                (void) capture_manager_stop_all(d->captures, reason);
                capture_manager_free(d->captures);
                d->captures = NULL;
        }
}

static int server_start(struct daemon *d) {
        int fd = -1, r;

        if (d->server)
                return server_reconfigure(d->server, &d->config.server);
        int passed = server_listen_fd_from_systemd(&fd);
        if (passed < 0)
                log_warning_errno(passed, "Ignoring the sockets systemd passed");
        if (passed > 0)
                r = server_new_from_fd(d->loop, &d->config.server, fd, commands_handle, d, &d->server);
        else
                r = server_new(d->loop, &d->config.server, NULL, commands_handle, d, &d->server);
        if (r < 0)
                return log_error_errno(r, "Cannot listen on %s; no queries until the next reload",
                                       passed > 0 ? "the socket systemd passed" : d->config.server.socket);
        return 0;
}

int daemon_start_services(struct daemon *d) {
        /* Neither part is needed to watch and alert: failures are reported, not fatal. */
        (void) server_start(d);
        if (capture_start(d) < 0)
                capture_stop(d, "setup failed");
        return 0;
}

void daemon_stop_services(struct daemon *d, bool final) {
        capture_stop(d, final ? "stopping" : "reloading");
        if (final) {
                server_free(d->server);
                d->server = NULL;
        }
}

/* The cache's recent history as CSV for the capture bundle. */
static char *history_csv(struct daemon *d, const char *cache, uint64_t since_usec, size_t *ret_len) {
        struct history_point *pts = calloc(SERVICES_HISTORY_CSV_POINTS, sizeof *pts);
        char *text = NULL;
        size_t size = 0;
        if (!pts)
                return NULL;
        int n = engine_cache_history(d->engine, cache, HISTORY_TIER_RAW, since_usec, pts,
                                     SERVICES_HISTORY_CSV_POINTS);
        FILE *f = n >= 0 ? open_memstream(&text, &size) : NULL;
        if (f) {
                fprintf(f, "time,active_objs,num_slabs\n");
                for (int i = 0; i < n; i++) {
                        fprintf(f, "%.3f,%" PRIu32 ",", (double) pts[i].t_usec / 1e6, pts[i].last);
                        if (pts[i].aux != HISTORY_AUX_NONE)
                                fprintf(f, "%" PRIu32, pts[i].aux);
                        fputc('\n', f);
                }
                fclose(f);
        }
        free(pts);
        *ret_len = size;
        return text;
}

void daemon_on_trip(struct daemon *d, const struct engine_event *ev) {
        char reason[256];
        size_t csv_len = 0;
        int r;

        if (!d->captures || !d->config.capture.enabled)
                return;
        snprintf(reason, sizeof reason, "+%.1f objects/min, +%.0f bytes/h, trend %.2f over %" PRIu64 " s (rule %s)",
                 ev->objs_per_min, ev->bytes_per_hour, ev->trend, ev->window_usec / 1000000u,
                 ev->rule_match[0] ? ev->rule_match : "-");
        uint64_t since = ev->t_usec > 2 * ev->window_usec ? ev->t_usec - 2 * ev->window_usec : 0;
        char *csv = history_csv(d, ev->cache, since, &csv_len);
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
                log_info("Capturing evidence for %s", ev->cache);
}

void daemon_after_sample(struct daemon *d) {
        int r = textfile_update(d);
        if (r < 0 && r != d->metrics_error)
                log_warning_errno(r, "Cannot write metrics to %s", d->config.metrics.textfile);
        d->metrics_error = r < 0 ? r : 0;
}
