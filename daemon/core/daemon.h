/* daemon — the slabwatchd object: configuration, the sampling timer, the
 * detection engine, alerts, and (when present) the socket server and the
 * capture manager. main.c only parses arguments and runs the loop. */
#pragma once

#include <ev.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/alert.h"
#include "base/config.h"
#include "memory/meminfo.h"
#include "core/readfile.h"
#include "caches/slabinfo.h"

struct engine;
struct server;
struct capture_manager;

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
        char config_path[CONFIG_PATH_MAX];
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

        uint64_t start_usec;            /* CLOCK_REALTIME at start */
        struct daemon_stats stats;
        bool ready;                     /* READY=1 sent */
        bool stopping;

        struct server *server;
        struct capture_manager *captures;       /* owns the capability probe */
};

/* Create the daemon on @loop with a loaded @cfg (copied). Sets up the state
 * directory, the engine, the signal watchers and the timer (not started). */
int daemon_new(struct ev_loop *loop, const char *config_path, const struct config *cfg,
               struct daemon **ret);

/* Start sampling (the first tick runs at once) and the optional parts. */
int daemon_start(struct daemon *d);

/* Take one sample now: read, parse, feed the engine, alert. Never fails the
 * daemon: errors are reported and the next tick tries again. */
void daemon_sample(struct daemon *d);

/* Re-read the config file; keep the old config if the new one is bad. */
int daemon_reload(struct daemon *d);

/* Stop timers and servers, finish captures, restore the kernel, free. */
void daemon_free(struct daemon *d);

/* Microseconds of CLOCK_REALTIME / CLOCK_MONOTONIC. */
uint64_t daemon_now_usec(void);
uint64_t daemon_mono_usec(void);
