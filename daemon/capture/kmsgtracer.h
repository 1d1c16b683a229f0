/* kmsgtracer — stack capture of one cache on kernels before 5.9, whose
 * SLUB sysfs `trace` file is still writable: write 1 there, read the
 * TRACE records and their stacks from /dev/kmsg (lib/kmsgtrace), write 0
 * at the end. Both paths come from the configuration (root-prefixed), so
 * tests run it on a fake sysfs tree with a regular file for /dev/kmsg. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "stacks/kmsgtrace.h"
#include "stacks/pairing.h"

/* Bytes read from the log per poll at most, so a flood cannot hold the
 * event loop; the rest waits for the next poll. */
#define KMSGTRACER_POLL_BYTES_MAX (16U << 20)

struct kmsgtracer_options {
        const char *sys_dir;            /* /sys, root prefix included */
        const char *dev_kmsg;           /* /dev/kmsg, or a file standing in for it */
        const char *state_dir;          /* where the durable marker of the trace flag goes */
        const char *cache_name;         /* the SLUB sysfs directory name, as TRACE lines print it */
        uint64_t object_size;           /* for bytes outstanding; 0 = unknown */
        uint64_t max_memory_bytes;      /* pairing tables; 0 = PAIRING_MEMORY_DEFAULT */
        bool trace_already_on;          /* slub_debug=T set it: read the records, never write the flag */
};

struct kmsgtracer;

/* Open the log at its end, then write 1 to <sys>/kernel/slab/<cache>/trace
 * (unless @o says it is already on; then nothing is written, now or at stop).
 * -EINVAL (bad name), -ENOENT (no such cache or log), -EACCES/-EPERM (the
 * trace file is read-only: 5.9+ or not root), or another -errno. Nothing
 * is left switched on after a failure. */
int kmsgtracer_start(const struct kmsgtracer_options *o, struct kmsgtracer **ret);

/* Read what the log has gained since the last poll. Returns the bytes
 * read, or -errno of the read. */
int kmsgtracer_poll(struct kmsgtracer *k);

/* The log's fd: /dev/kmsg can be watched with an ev_io; a regular file
 * (tests) is always readable, poll it from a timer instead. */
int kmsgtracer_fd(const struct kmsgtracer *k);

/* Write 0 to the trace file, read the rest of the log, and rank the
 * stacks. @ret gets the result (lost_events: records the log dropped)
 * even when writing 0 failed; that error is returned. */
int kmsgtracer_stop(struct kmsgtracer *k, struct pairing_result **ret);

/* Free @k, writing 0 to the trace file first if it is still on. NULL is
 * a no-op. */
void kmsgtracer_free(struct kmsgtracer *k);

/* Parser counters so far. */
void kmsgtracer_get_stats(const struct kmsgtracer *k, struct kmsgtrace_stats *ret);
