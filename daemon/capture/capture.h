/* capture — the capture manager: evidence capture for one cache at a
 * time, on the daemon's libev loop. It only sequences the parts; each
 * stage is a module of its own. When a cache trips (or a user arms a
 * capture), the manager:
 *   1. resolves the cache (capture/identity: merge-group aliases, a kmalloc
 *      size class), by the slabinfo of the sample that tripped, and probes
 *      what this kernel offers (capture/probe; the manager owns the probe);
 *   2. starts the call-site snapshots (capture/callsnap into
 *      callsites/callseries), again every capture.callsites_interval;
 *   3. starts stack tracing (capture/tracing: tracefs through
 *      capture/tracer, before 5.9 the sysfs trace flag and /dev/kmsg),
 *      draining every capture.poll; every change to the kernel goes
 *      through capture/kchange;
 *   4. at capture.duration ends the allocation window and traces frees
 *      only for capture.drain (so late short-lived objects are seen to
 *      die), then stops; or stops on capture_manager_disarm(),
 *      capture_manager_stop_all() (SIGTERM/SIGHUP), the event/memory bound,
 *      or the cache vanishing;
 *   every capture.checkpoint, saves what it holds so far (the ranked
 *      stacks, the ledger, the call sites) into the bundle's temporary
 *      directory, which the next start finishes as an "interrupted"
 *      bundle if the daemon was killed;
 *   5. restores the kernel, finishes the report (report/assemble), writes
 *      the bundle <state_dir>/captures/<id>/ atomically (capture/bundle,
 *      which rotates old bundles to the disk budget), and calls the done
 *      callback with the outcome, so the alert carries the answer even
 *      when the disk is full.
 * One capture per cache, capture.max_concurrent in all (further trips
 * queue, the most specific cache of a suspected leak first), and a
 * capture.cooldown before a tripped cache is captured again. */
#pragma once

#include <ev.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/config.h"
#include "caches/slabinfo.h"
#include "capture/probe.h"
#include "report/report.h"

/* Caches whose last capture time is remembered for the cool-down. */
#define CAPTURE_COOLDOWN_MAX 1024
/* How often, at most, a running capture checks that its cache still exists. */
#define CAPTURE_VANISH_CHECK_USEC 1000000ULL
/* history.csv handed in with a trigger is cut at this size. */
#define CAPTURE_HISTORY_MAX (16u << 20)
/* Trips waiting for a capture slot. */
#define CAPTURE_QUEUE_MAX 32
/* Stacks a checkpoint keeps, the most outstanding (its totals count all). */
#define CAPTURE_CHECKPOINT_STACKS 256
/* The stop reason of captures a reload stops (it changed their settings). */
#define CAPTURE_RELOAD_REASON "reload"
/* The stop reason of a capture finished from its checkpoint. */
#define CAPTURE_INTERRUPTED_REASON "interrupted"
/* Returned by capture_manager_trip() while the cache cools down. */
#define CAPTURE_ECOOLDOWN EAGAIN

struct capture_manager;

/* Why a capture starts. Strings are copied; they need not outlive the call. */
struct capture_trigger {
        bool on_demand;                 /* armed by a user, not a trip */
        const char *reason;             /* "objects_per_min 812.0 > 500 (rule kmalloc-*)" */
        double objects_per_min;
        double bytes_per_hour;
        double percent_per_hour;
        uint64_t active_objs;
        uint64_t window_usec;
        const char *history_csv;        /* the history window as CSV, NULL if none */
        size_t history_csv_len;
        /* The parsed /proc/slabinfo of the sample that tripped, to resolve
         * the cache by; NULL reads <proc>/slabinfo now. Used during the
         * call only. */
        const struct slabinfo *slabinfo;
};

/* What the done callback gets: everything the capture alert needs. All
 * pointers are valid only during the callback. */
struct capture_result {
        const char *id;                 /* bundle id */
        const char *cache;              /* the name asked for */
        const char *slabinfo_name;      /* the name tracepoints and slabinfo show */
        const char *dir;                /* bundle directory, "" if it could not be written */
        const char *method;             /* methods used joined by '+', "none" */
        const char *stop_reason;        /* "duration", "stopped", "disarmed", "cache vanished", ... */
        uint64_t lost_events;
        uint64_t events;
        const char *top_stack;          /* frames of the first stack, innermost first, ';'-joined; "" */
        uint64_t top_outstanding;
        const char *suspect;            /* first non-allocator frame's function of the top stack; ""
                                         * also when the growth had stopped before the capture */
        const char *confidence;         /* of the top stack: "high", "medium", "low" */
        const char *leak_group;         /* the suspected leak's caches, "UDP+filp+kmalloc-64"; "" */
        const char *top_call_site;      /* the call site growing most; "" */
        int error;                      /* 0; -EOPNOTSUPP when nothing could be captured */
        int bundle_error;               /* 0 or -errno writing the bundle (ENOSPC, EACCES, ...) */
        const char *bundle_error_path;  /* the path that failed, "" */
        const char *message;            /* one sentence for the alert's MESSAGE */
        bool interrupted;               /* finished at start from a killed daemon's checkpoint */
        const struct report *report;    /* the whole report; NULL when interrupted */
};

/* Called once per capture, after the kernel is restored and the bundle
 * written (or not). It may start another capture; it must not free the
 * manager. */
typedef void (*capture_done_fn)(const struct capture_result *result, void *userdata);

/* Create the manager on @loop. @c is copied (re-create the manager after a
 * reload). Probes the host's capabilities (the manager owns the one probe,
 * see capture_manager_probe()) and removes what a killed daemon left
 * behind: stale `slabwatch-*` tracefs instances, a sysfs `trace` flag it
 * had set, a tracefs it had mounted, half-written bundles; and finishes
 * the checkpoints of captures it was running as bundles of status
 * "interrupted", calling @done for each (result->interrupted set).
 * -ENOMEM. */
int capture_manager_new(struct ev_loop *loop, const struct config *c, capture_done_fn done, void *userdata,
                        struct capture_manager **ret);

/* What this host offers captures, as last probed: at creation, again at
 * the start of every capture and after a capture mounted tracefs. The one
 * probe of the daemon; `status` shows it. Valid until the next call into
 * the manager. */
const struct probe *capture_manager_probe(const struct capture_manager *m);

/* A cache tripped: capture it. Caches that trip close together with
 * proportional rates are one suspected leak (caches/leakgroup); the most
 * specific cache of a leak is captured first, the others wait in a queue
 * for a free slot (capture.max_concurrent) instead of being refused. 0
 * when started or queued; -EALREADY (this cache is being captured or is
 * queued), -EBUSY (the queue is full), -CAPTURE_ECOOLDOWN (captured less
 * than capture.cooldown ago), -ECANCELED (capture.enabled is false),
 * -ENOENT (no such cache), -EINVAL (bad name), -ENOMEM. When the cache
 * can be resolved but this kernel offers no method, the capture still
 * runs (for the bundle, the history and the advice) and ends at once with
 * result->error = -EOPNOTSUPP. */
int capture_manager_trip(struct capture_manager *m, const char *cache, const struct capture_trigger *why);

/* The daemon's parsed /proc/slabinfo of this tick: each running capture
 * inside its allocation window keeps its cache's active objects, the
 * ledger's cache_delta. The sampling seam: the daemon parses slabinfo every
 * tick anyway, so a capture needs no reads of its own and no view into the
 * engine's history tiers. @si is used during the call only. */
void capture_manager_sample(struct capture_manager *m, const struct slabinfo *si);

/* Hold the start of tripped captures (they only queue) until
 * capture_manager_release(): the daemon holds them while one sample is
 * judged, so the trips of one tick are grouped before the first starts. */
void capture_manager_hold(struct capture_manager *m);

/* Start what the hold kept queued, most specific cache of each leak first. */
void capture_manager_release(struct capture_manager *m);

/* Whether a trip of @cache waits in the queue. */
bool capture_manager_queued(const struct capture_manager *m, const char *cache);

/* Start an on-demand capture of @cache for @duration_usec (0 = the config's
 * duration). Ignores capture.enabled and the cool-down; same other errors as
 * capture_manager_trip(). */
int capture_manager_arm(struct capture_manager *m, const char *cache, uint64_t duration_usec);

/* Stop the capture of @cache now; it is finished and written as usual
 * (stop reason "disarmed"). -ENOENT if none is running. */
int capture_manager_disarm(struct capture_manager *m, const char *cache);

/* Stop every running capture now (SIGTERM, SIGHUP): restore the kernel and
 * write what was captured so far, calling the done callback for each.
 * Returns the number stopped. */
int capture_manager_stop_all(struct capture_manager *m, const char *reason);

/* {"running": [...], "queued": [...], "leaks": [...], "bundles": [...newest
 * first]} for the socket. -ENOMEM,
 * -errno of reading the captures directory. */
int capture_manager_list(struct capture_manager *m, json_object **ret);

/* The report of bundle @id, or the live status of a running capture of
 * that id. -ENOENT, -EINVAL (bad id), -EBADMSG (corrupt report.json). */
int capture_manager_get(struct capture_manager *m, const char *id, json_object **ret);

/* Number of captures running now. */
unsigned capture_manager_running(const struct capture_manager *m);

/* Time left in @cache's cool-down, 0 if none. */
uint64_t capture_manager_cooldown_left_usec(const struct capture_manager *m, const char *cache);

/* A sentence for the errors of trip/arm/disarm ("a capture of this cache
 * is already running", ...); strerror() for the rest. */
const char *capture_strerror(int error);

/* Stop everything (as capture_manager_stop_all(m, "shutdown")), unmount
 * tracefs if we mounted it, free. NULL is a no-op. */
void capture_manager_free(struct capture_manager *m);
