/* detect — the per-cache trip / re-alert / clear state machine.
 *
 * Each evaluation gets a measure (the growth fitted over the rule's window)
 * and the matched rule. A rule holds when every threshold it sets is
 * exceeded; it must hold for the rule's `for` span before a trip. A tripped
 * cache alerts again only when its rate has grown by the alert rate factor or
 * after the repeat span, and clears once it has made no new high for the
 * clear span. */
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
        bool decided;           /* enough samples in the window to judge */
        double objs_per_min;    /* fitted active_objs growth */
        double bytes_per_hour;  /* the same in slab memory */
        double percent_per_hour; /* relative to the fitted size at the window start */
        double trend;           /* Kendall tau-b of the window */
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
        uint64_t high_water;            /* most active_objs seen since the trip */
        uint64_t high_water_usec;       /* when it last rose */
};

/* True if every threshold @rule sets is exceeded by @m (and the cache grows
 * at all). An ignore rule, or one that sets no rate threshold, never holds. */
bool detect_rule_holds(const struct config_rule *rule, const struct detect_measure *m);

/* Note a sample of a tripped cache (tracks the high-water mark for clearing);
 * cheap, call it every sample. */
void detect_observe(struct detect *d, uint64_t t_usec, uint64_t active_objs);

/* Advance @d by one evaluation; returns the event it produces, if any. */
enum detect_event detect_step(struct detect *d, const struct config_rule *rule,
                              const struct config_alert *alert, const struct detect_measure *m);

/* "ok", "pending", "tripped". */
const char *detect_state_name(enum detect_state s);

/* "trip", "retrip", "cleared" ("" for none). */
const char *detect_event_name(enum detect_event e);
