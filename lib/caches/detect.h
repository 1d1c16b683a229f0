/* detect — the per-cache trip / re-alert / clear state machine.
 *
 * Each evaluation gets a measure (the rising-floor test over the rule's
 * window, caches/floor.h) and the matched rule. A rule holds when the floor
 * rises steadily, by at least the rule's significance times the cache's own
 * noise, for at least the rule's steady_for (fast_for when the growth would
 * take all of MemTotal within fast_exhaust), and every rate threshold it sets
 * is met; it must hold for the rule's `for` span before a trip. A tripped
 * cache alerts again only when its rate has grown by the alert rate factor or
 * after the repeat span, and clears once its floor has made no new high for
 * the clear span. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "base/config.h"

enum detect_state {
        DETECT_OK,              /* not growing (or not decided yet) */
        DETECT_PENDING,         /* the rule holds, not yet for long enough */
        DETECT_TRIPPED,
        _DETECT_STATE_MAX,
};

enum detect_event {
        DETECT_EVENT_NONE,
        DETECT_EVENT_TRIP,
        DETECT_EVENT_RETRIP,
        DETECT_EVENT_CLEARED,
};

/* One evaluation's view of a cache. */
struct detect_measure {
        uint64_t t_usec;
        bool decided;           /* enough buckets in the window to judge */
        double objs_per_min;    /* floor growth of active_objs over the rise */
        double bytes_per_hour;  /* the same in slab memory */
        double percent_per_hour; /* relative to the level the rise started from */
        double trend;           /* Kendall tau-b of the floor over the rise */
        double rise_objs;       /* how far the floor rose */
        double rise_sec;        /* over how long */
        double significance;    /* rise / the cache's noise */
        bool steady;            /* spread out and still going on */
        double floor;           /* the floor now (objects) */
        double exhaust_sec;     /* MemTotal / this growth; INFINITY if unknown */
        uint64_t active_objs;   /* now */
        uint64_t bytes;         /* slab memory now */
};

/* Per-cache state; zero-initialised is DETECT_OK. */
struct detect {
        enum detect_state state;
        uint64_t pending_since_usec;
        uint64_t tripped_since_usec;
        uint64_t last_alert_usec;
        double last_alert_objs_per_min;
        uint64_t high_water;            /* highest floor seen since the trip */
        uint64_t high_water_usec;       /* when it last rose */
};

/* True if @m shows a steady, significant floor rise that lasted long enough
 * for @rule and meets every threshold @rule sets. An ignore rule, or one that
 * sets neither a rate threshold nor a significance, never holds. */
bool detect_rule_holds(const struct config_rule *rule, const struct detect_measure *m);

/* A rise this many times more significant than a rule asks for is clear
 * evidence: it needs proportionally less than steady_for. */
#define DETECT_CLEAR_FACTOR 4.0

/* How long a rise must have lasted under @rule for @m: fast_for when the
 * growth would take all of MemTotal within fast_exhaust; else steady_for,
 * shortened in proportion when the significance is more than
 * DETECT_CLEAR_FACTOR times the rule's, but never below fast_for. */
uint64_t detect_needed_usec(const struct config_rule *rule, const struct detect_measure *m);

/* Note the floor of a tripped cache (tracks the high-water mark for
 * clearing); call it at each evaluation. */
void detect_observe(struct detect *d, uint64_t t_usec, uint64_t floor);

/* Advance @d by one evaluation; returns the event it produces, if any. */
enum detect_event detect_step(struct detect *d, const struct config_rule *rule,
                              const struct config_alert *alert, const struct detect_measure *m);

/* "ok", "pending", "tripped". */
const char *detect_state_name(enum detect_state s);

/* "trip", "retrip", "cleared" ("" for none). */
const char *detect_event_name(enum detect_event e);
