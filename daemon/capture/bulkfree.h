/* bulkfree — the kprobe events that show a capture the objects freed in
 * bulk (kfree_bulk(), kfree_rcu()'s batches, kmem_cache_free_bulk()),
 * which fire no per-object free tracepoint. The events are made in the
 * machine-wide kprobe_events file (through capture/kchange, with a marker
 * that kchange_recover() acts on after a crash), filtered and enabled only
 * in the capture's own instance, and removed again on every way out.
 * stacks/bulkrec writes their definitions and decodes their records. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "stacks/bulkrec.h"

/* Why bulk frees are not traced, for status and the report. */
#define BULKFREE_REASON_MAX 160

struct bulkfree_options {
        const char *tracefs_dir;        /* kprobe_events and events/ are here */
        const char *instance_dir;       /* the capture's instance */
        const char *state_dir;          /* for the crash markers */
        const char *cache_name;         /* names the events */
        unsigned long_size;             /* the kernel's pointers: 4 or 8 */
        /* Only calls with s == NULL (kfree_bulk, kfree_rcu): a kmalloc
         * class. Otherwise every cache's bulk frees are recorded. */
        bool kmalloc_only;
};

struct bulkfree;

/* True if this build knows the argument registers of this architecture
 * and @tracefs_dir has kprobe_events; else false with @ret_reason. */
bool bulkfree_available(const char *tracefs_dir, char *ret_reason, size_t size);

/* Make the slices' kprobe events and set their filters in the instance
 * (not enabled yet). -EOPNOTSUPP (no kprobe events, an unknown
 * architecture), the -errno of a write (the kernel refused the probe),
 * with everything undone. */
int bulkfree_start(const struct bulkfree_options *o, struct bulkfree **ret);

/* Enable the events in the instance. -errno, with what was enabled kept
 * for bulkfree_disable(). */
int bulkfree_enable(struct bulkfree *b);

/* Disable them (the records already in the buffers stay readable). */
int bulkfree_disable(struct bulkfree *b);

/* The slices' record layout, for stacks/tracerec. */
const struct bulkrec_layout *bulkfree_layout(const struct bulkfree *b);

/* "kprobe kmem_cache_free_bulk, 5 events of 126 pointers". */
const char *bulkfree_describe(const struct bulkfree *b);

/* Disable and remove the events (undoing every change), free. NULL is a no-op. */
void bulkfree_free(struct bulkfree *b);
