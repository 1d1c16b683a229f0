/* engine — the detection pipeline the daemon and `slabwatchctl replay` share.
 *
 * Each sample (meminfo + slabinfo at one instant) goes into the tiered
 * history; each cache whose count moved within its rule's window is judged
 * by the rising-floor test (caches/floor.h) ENGINE_EVALS_PER_WINDOW times
 * per window, the matched rule drives the
 * trip / re-alert / clear state machine, and the verdict says where memory
 * goes. Events come back through a callback, during engine_feed(). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/config.h"
#include "caches/detect.h"
#include "caches/history.h"
#include "memory/meminfo.h"
#include "caches/slabinfo.h"
#include "memory/verdict.h"

/* A cache is judged this many times per window (but not more often than it
 * is sampled): once a minute for the default 1-hour window, whose floor
 * buckets are minutes; every 12 minutes for the reclaimable rule's 12 hours,
 * whose trips need 3 hours of rise anyway. */
#define ENGINE_EVALS_PER_WINDOW 60
/* Windows this long or longer read the floor from the minute tier (each
 * bucket's minimum); shorter ones bucket the raw samples into
 * ENGINE_FLOOR_BUCKETS buckets of their own. */
#define ENGINE_FLOOR_MINUTE_WINDOW_USEC (30 * HISTORY_MINUTE_USEC)
#define ENGINE_FLOOR_BUCKETS 60
/* A floor counts once kept for window / this, at most a minute: a burst
 * held through the newest bucket is not growth yet. */
#define ENGINE_FLOOR_HOLD_DIVISOR 20
#define ENGINE_FLOOR_HOLD_MAX_SEC 60.0
/* Points one verdict fit uses; longer windows are thinned evenly (≤ GROWTH_POINTS_MAX). */
#define ENGINE_FIT_POINTS 24
/* Fewer points than this in a window, or a span under half the window: no decision. */
#define ENGINE_FIT_MIN_POINTS 4
/* Window of the verdict's fits. */
#define ENGINE_VERDICT_WINDOW_USEC (15 * HISTORY_MINUTE_USEC)
/* A verdict must come out the same this many evaluations in a row to replace
 * the current one: a verdict that flaps says nothing. */
#define ENGINE_VERDICT_HOLD 2
/* The history of all caches together holds at most this, each counted at
 * history_series_bytes_max(): with the default spans (10 s samples, 1 h
 * raw, 24 h of minutes, 30 d of hours) one cache takes at most 37 KiB, at
 * 1 s 63 KiB, so this is room for 3,500 caches (2,100 at 1 s; a big server
 * has 300 to 1,000). Caches beyond it are not tracked and are counted
 * (engine_caches_untracked()). The engine's own per-cache state is bounded
 * with it: it is indexed by series id. */
#define ENGINE_HISTORY_BYTES_MAX ((size_t) 128 << 20)
/* Rule without a window (never from a validated config): this one. */
#define ENGINE_DEFAULT_WINDOW_USEC (10 * HISTORY_MINUTE_USEC)
/* Series namespaces in the engine's history. */
enum engine_series_kind {
        ENGINE_SERIES_CACHE,    /* active_objs, num_slabs of a slab cache */
        ENGINE_SERIES_MEMINFO,  /* a meminfo key, as printed (kB or count) */
        ENGINE_SERIES_DERIVED,  /* sums the engine computes, kB */
};

/* Derived series names. */
#define ENGINE_DERIVED_SLAB_UNRECLAIMABLE "slab_unreclaimable_kb"
#define ENGINE_DERIVED_SLAB_RECLAIMABLE "slab_reclaimable_kb"

enum engine_event_type {
        ENGINE_EVENT_TRIP,
        ENGINE_EVENT_RETRIP,
        ENGINE_EVENT_CLEARED,
        ENGINE_EVENT_VERDICT,   /* the verdict's flags changed */
};

struct engine_event {
        enum engine_event_type type;
        uint64_t t_usec;                /* the sample's time */
        const char *cache;              /* NULL for ENGINE_EVENT_VERDICT */
        bool reclaimable;
        double objs_per_min;
        double bytes_per_hour;
        double percent_per_hour;
        double trend;                   /* Kendall tau-b of the floor over the rise */
        double rise_objs;               /* how far the floor rose... */
        double rise_sec;                /* ...over how long */
        double significance;            /* rise / the cache's own noise */
        uint64_t active_objs;
        uint64_t bytes;                 /* slab memory of the cache now */
        uint64_t window_usec;
        const char *rule_match;         /* the matched rule's glob, "" for none */
        unsigned verdict_flags;         /* the verdict at the time of the event */
        const char *verdict_text;
};

/* Is @cache reclaimable (sysfs reclaim_account)? 1, 0, or -errno to fall
 * back to the slabname guess. Called once per new cache name. */
typedef int (*engine_reclaimable_fn)(const char *cache, void *userdata);

/* Receives every event; @ev and its strings live until it returns. */
typedef void (*engine_event_fn)(const struct engine_event *ev, void *userdata);

/* A cache as the engine sees it now. */
struct engine_cache_info {
        const char *name;
        uint32_t series_id;
        bool present;                   /* in the newest sample */
        bool reclaimable;
        enum detect_state state;
        uint64_t active_objs;
        uint64_t num_objs;
        uint64_t bytes;
        uint32_t objsize;
        bool rates_known;               /* the last fit had enough samples */
        double objs_per_min;
        double bytes_per_hour;
        double percent_per_hour;
        double trend;
        double rise_objs;
        double rise_sec;
        double significance;
        uint64_t window_usec;
        const char *rule_match;         /* "" when no rule matches */
        uint64_t tripped_since_usec;    /* 0 unless tripped */
};

/* Called per cache by engine_foreach_cache(); a negative return stops the walk. */
typedef int (*engine_cache_fn)(const struct engine_cache_info *info, void *userdata);

struct engine;

/* A new engine for @config (copied). -EINVAL for an unusable config
 * (interval or history spans), -E2BIG, -ENOMEM. */
int engine_new(const struct config *config, struct engine **ret);

/* Free @e; NULL is a no-op. */
void engine_free(struct engine *e);

/* Take @config (copied): history is kept (resized to the new spans, newest
 * kept), rules are matched again. On error the old config stays in force. */
int engine_reconfigure(struct engine *e, const struct config *config);

/* The config in force. */
const struct config *engine_config(const struct engine *e);

/* Feed one sample taken at @t_usec (after the previous one). @si is NULL when
 * slabinfo could not be read, @mi NULL when meminfo could not. @page_size in
 * bytes. @reclaimable may be NULL (names are guessed); @on_event may be NULL.
 * Returns 0, -EINVAL (time not after the last sample), -ENOMEM. */
int engine_feed(struct engine *e, uint64_t t_usec, const struct slabinfo *si, const struct meminfo *mi,
                uint32_t page_size, engine_reclaimable_fn reclaimable, engine_event_fn on_event,
                void *userdata);

/* Caches of the newest slabinfo left out because the history is at
 * ENGINE_HISTORY_BYTES_MAX (or out of memory). */
size_t engine_caches_untracked(const struct engine *e);

/* Samples fed, and the newest one's time (0 before the first). */
uint64_t engine_n_samples(const struct engine *e);
uint64_t engine_last_usec(const struct engine *e);

/* The current verdict (VERDICT_NONE before there is enough history). */
const struct verdict *engine_verdict(const struct engine *e);

/* Call @cb for every cache in history (present or not), in series id order.
 * Returns 0 or @cb's negative return. */
int engine_foreach_cache(const struct engine *e, engine_cache_fn cb, void *userdata);

/* The cache named @name. 0 or -ENOENT. */
int engine_cache_get(const struct engine *e, const char *name, struct engine_cache_info *ret);

/* History of cache @name (min/max/last of active_objs; aux = num_slabs):
 * as history_read(). -ENOENT for an unknown cache. */
int engine_cache_history(const struct engine *e, const char *name, enum history_tier tier,
                         uint64_t since_usec, struct history_point *ret, size_t n);

/* History of meminfo @key (kB, or a count): as history_read(). -ENOENT if
 * the key was never seen. */
int engine_meminfo_history(const struct engine *e, enum meminfo_key key, enum history_tier tier,
                           uint64_t since_usec, struct history_point *ret, size_t n);

/* The history itself, for exports and statistics. */
const struct history *engine_history(const struct engine *e);

/* The history parameters @config asks for. -EINVAL if unusable. */
int engine_history_params(const struct config *config, struct history_params *ret);

/* Longest boot id kept (/proc/sys/kernel/random/boot_id is 36 characters). */
#define ENGINE_BOOT_ID_MAX 40
/* A snapshot larger than this is refused on restore (the default history
 * spans take about 10 MiB for 250 caches). */
#define ENGINE_SNAPSHOT_MAX (ENGINE_HISTORY_BYTES_MAX + ((size_t) 64 << 20))

/* The engine's history as bytes for a snapshot on disk: a header with
 * @boot_id, the history, a CRC-32. *ret_buf is malloc()ed. Returns 0,
 * -EINVAL, -ENOMEM. */
int engine_snapshot(const struct engine *e, const char *boot_id, char **ret_buf, size_t *ret_len);

/* Go on from a snapshot engine_snapshot() wrote: its history replaces the
 * (empty) one of @e, resized to @e's config, and every cache in it is known
 * again. When @boot_id is not the snapshot's, the machine rebooted: the
 * history is kept for display, but no fit reaches back across the reboot.
 * *ret_same_boot says which. Returns 0, -EBUSY (samples were already fed),
 * -EBADMSG (truncated, checksum or structure wrong), -EPROTO (another
 * machine's byte order), -EPROTONOSUPPORT (another format version),
 * -EFBIG (over ENGINE_SNAPSHOT_MAX), -ENOMEM; on error @e is unchanged. */
int engine_restore(struct engine *e, const char *buf, size_t len, const char *boot_id, bool *ret_same_boot);

/* "trip", "retrip", "cleared", "verdict". */
const char *engine_event_type_name(enum engine_event_type type);
