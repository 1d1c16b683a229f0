/* engine_impl — the engine's private state, shared by engine.c (sampling
 * and detection) and engine_snapshot.c (saving and restoring its history).
 * Nothing outside those two files includes it. */
#pragma once

#include "caches/engine.h"

#define USEC_PER_SEC 1000000.0
#define KIB 1024.0

struct cache {
        bool used;
        bool reclaimable;               /* reclaim_account (sysfs, or guessed) */
        bool reclaim_linked;            /* judged as reclaimable (slabname_reclaim_linked) */
        bool restored;                  /* from a snapshot: ask sysfs when it is next seen */
        int rule;                       /* index in config.rules, -1 none */
        uint32_t objsize;
        uint32_t objperslab;
        uint32_t pagesperslab;
        uint64_t active_objs;
        uint64_t num_objs;
        uint64_t num_slabs;
        uint64_t seen_sample;           /* sample number it was last present in */
        uint64_t first_usec;            /* first seen (since the last reset of state) */
        uint64_t last_change_usec;      /* active_objs last moved */
        uint64_t next_fit_usec;
        uint64_t cleared_usec;          /* when a trip last cleared, 0 never */
        double cleared_floor;           /* its floor then: a new trip must rise above it */
        bool measured;
        enum detect_event pending;      /* to emit once the verdict is fresh */
        struct detect_measure m;        /* last evaluation */
        struct detect det;
};

struct engine {
        struct config config;
        struct history *history;
        struct verdict_params verdict_params;

        struct cache *caches;           /* by series id */
        uint32_t caches_allocated;

        size_t caches_untracked;        /* of the newest slabinfo, over ENGINE_HISTORY_BYTES_MAX */
        uint32_t evict_cursor;          /* where the search for an absent cache goes on */
        bool evict_none;                /* this sample: no absent cache left to make room */

        uint32_t *order;                /* series id of the previous slabinfo's i-th cache */
        size_t order_allocated;
        size_t order_n;

        int meminfo_id[_MEMINFO_KEY_MAX];
        int derived_unreclaimable_id;
        int derived_reclaimable_id;

        uint32_t page_size;
        bool have_slabinfo;             /* the newest sample had one */
        /* The fast path judges growth against MemTotal (MemAvailable swings
         * with the load: a process holding most of RAM would make every
         * cache look fast); no fast path before a sample had it. */
        double mem_total_bytes;         /* newest MemTotal, NAN before one */
        uint64_t fit_since_usec;        /* no fit reaches before this (a restored reboot) */
        struct history_point *pts;      /* scratch for the floor test */
        size_t pts_allocated;
        uint64_t n_samples;
        uint64_t last_usec;

        struct verdict verdict;         /* published */
        unsigned verdict_candidate;     /* flags seen in a row... */
        unsigned verdict_candidate_n;   /* ...this many times */
        uint64_t next_verdict_usec;
        struct verdict_cache *verdict_caches; /* scratch, caches_allocated long */
};

/* The history's retire callback: forget series @id. */
void engine_on_retire(struct history *h, uint32_t id, void *userdata);

/* Drop cache series of @h, highest ids first, until all of its series fit
 * ENGINE_HISTORY_BYTES_MAX at the spans of @p; when @h is @e's history,
 * their state in @e goes with them. Returns how many were dropped. */
size_t engine_history_fit_bound(struct engine *e, struct history *h, const struct history_params *p);

/* Make room for cache state at series id @id. 0 or -ENOMEM. */
int engine_caches_reserve(struct engine *e, uint32_t id);

/* Index in @config of the rule for cache @name with state @c, -1 for none. */
int engine_rule_index(const struct config *config, const char *name, const struct cache *c);
