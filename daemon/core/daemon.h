/* daemon — the slabwatchd object: configuration, the sampling timer, the
 * detection engine, alerts, and (when present) the socket server and the
 * capture manager. It owns the texts it publishes (the metrics text, the
 * status document, the STATUS= line); the textfile writer and the socket
 * commands only carry them. main.c parses arguments, hands in the socket's
 * command handler and runs the loop.
 *
 * The parts and their order are one list in daemon.c: started in order,
 * finalised in reverse, and a reload restarts the config-bound ones. */
#pragma once

#include <ev.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/alert.h"
#include "core/histcsv.h"
#include "base/config.h"
#include "memory/meminfo.h"
#include "core/readfile.h"
#include "caches/engine.h"
#include "caches/slabinfo.h"
#include "control/metrics.h"
#include "control/server.h"

struct capture_manager;

/* Limit on the metrics text (the textfile and the `metrics` answer). */
#define DAEMON_METRICS_MAX (8U * 1024U * 1024U)

/* Figures of the sampling loop, for `status` and the benchmarks. */
struct daemon_stats {
        uint64_t samples;               /* ticks that read meminfo */
        uint64_t last_sample_usec;      /* CLOCK_REALTIME of the last tick */
        uint64_t last_read_usec;        /* kernel read time of the last tick (both files) */
        uint64_t last_work_usec;        /* our parse + history + detection time */
        uint64_t total_read_usec;
        uint64_t total_work_usec;
        uint64_t jitter_max_usec;       /* tick lateness vs. the schedule */
        uint64_t jitter_total_usec;
        uint64_t slabinfo_bad_lines;    /* malformed lines skipped, all ticks */
};

struct daemon {
        struct ev_loop *loop;
        struct config_source source;    /* the file start, SIGHUP and `reload` load */
        struct config config;
        uint32_t page_size;

        struct engine *engine;
        struct alert_sink alert;
        char events_log_path[CONFIG_PATH_MAX + 32];

        ev_timer sample_timer;
        ev_signal sigterm, sigint, sighup;
        ev_tstamp next_tick;            /* scheduled time of the next tick (ev_now base) */

        struct readfile_buf meminfo_buf, slabinfo_buf;
        struct slabinfo slabinfo;
        struct meminfo meminfo;
        int slabinfo_error;             /* last reported error, to say it once */
        int meminfo_error;
        int metrics_error;              /* last metrics textfile error, to say it once */
        unsigned slabinfo_bad_reported; /* malformed-line reports so far (bounded) */
        uint64_t slabinfo_bad_pending;  /* malformed lines since the last summary */
        uint64_t slabinfo_bad_since;    /* sample number the pending count starts at */
        size_t caches_untracked;        /* last reported, to say it on change */
        size_t history_bytes_high;      /* history heap since the last trim */
        int snapshot_error;             /* last history snapshot error, to say it once */
        uint64_t snapshot_due_usec;     /* CLOCK_MONOTONIC of the next snapshot, 0 = not yet set */

        uint64_t start_usec;            /* CLOCK_REALTIME at start */
        struct histcsv_verdicts verdicts;       /* verdict changes since start, for history.csv */
        struct daemon_stats stats;
        bool ready;                     /* READY=1 sent */
        bool stopping;

        unsigned parts_started;         /* parts[0..n) of daemon.c's list are running */

        server_handler_fn handler;      /* answers the socket's requests (userdata: the daemon) */
        struct server *server;
        struct capture_manager *captures;       /* owns the capability probe */
        bool captures_kept;             /* this reload keeps the manager and its running captures */
};

/* Create the daemon on @loop with @cfg (copied), loaded from @src (which
 * reloads read again through config_load()): the engine and the
 * alert sink (state directory, events log). The socket server, once started,
 * answers through @handler with the daemon as its userdata (NULL: no server).
 * Nothing runs until daemon_start(). */
int daemon_new(struct ev_loop *loop, const struct config_source *src, const struct config *cfg,
               server_handler_fn handler, struct daemon **ret);

/* Start the rest of the parts in order: signals, the socket server, the
 * capture manager, sampling (the first tick runs at once). */
int daemon_start(struct daemon *d);

/* Take one sample now: read, parse, feed the engine, alert. Never fails the
 * daemon: errors are reported and the next tick tries again. */
void daemon_sample(struct daemon *d);

/* Load the config again by the same policy as at start (config_load());
 * keep the old config if the new one is bad. What SIGHUP and `reload` do. */
int daemon_reload(struct daemon *d);

/* Finalise the parts in reverse order (timers, captures finished and the
 * kernel restored, the server, signals, the engine), free. NULL is a no-op. */
void daemon_free(struct daemon *d);

/* Render the metrics text (Prometheus or OpenMetrics), malloc'd in
 * *ret_text; the same text the textfile and the `metrics` command carry.
 * -ENOMEM, -E2BIG (over DAEMON_METRICS_MAX). */
int daemon_metrics_text(struct daemon *d, enum metrics_format format, char **ret_text, size_t *ret_len);

/* Write the metrics text to the configured metrics.textfile (atomically);
 * 0 without doing anything when the key is unset. The daemon calls it after
 * every sample. Returns 0 or -errno. */
int daemon_write_textfile(struct daemon *d);

/* The `status` document: version, sampling figures, verdict, tripped caches,
 * captures, capabilities, server counters. New reference in *ret. -ENOMEM. */
int daemon_status_json(struct daemon *d, json_object **ret);

/* The caches present in the newest sample; the names point into the engine
 * and stay valid until the next sample. */
struct daemon_caches {
        struct engine_cache_info *items;
        size_t n;
        size_t allocated;
        int error;
};

/* Fill @ret (free ret->items). 0 or -ENOMEM. */
int daemon_caches_load(struct daemon *d, struct daemon_caches *ret);

/* Microseconds of CLOCK_REALTIME / CLOCK_MONOTONIC. */
uint64_t daemon_now_usec(void);
uint64_t daemon_mono_usec(void);
