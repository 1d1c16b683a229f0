/* tracer — trace one slab cache's allocations and frees, with kernel
 * stacks, through a tracefs instance of our own (`slabwatch-<cache>`): the
 * I/O side. It reads the event formats, sets the instance up through
 * capture/kchange, reads the binary per-CPU ring buffers (trace_pipe_raw,
 * not the text pipe whose formatting loses events at these rates) and
 * hands the pages to stacks/tracerec, which matches events to their stacks
 * for the pairing (stacks/pairing); kallsyms names the frames at the end.
 * For a kmalloc class, kprobe events on kmem_cache_free_bulk (capture/
 * bulkfree) add the frees of kfree_rcu's batches and kfree_bulk(), which
 * no tracepoint shows, where the kernel has kprobe events.
 *
 * Stacks are taken on the allocation events only, by a `stacktrace if
 * <filter>` trigger (its stack follows the event, as the stacktrace
 * option's does), or on every event through the option where the kernel
 * has no trigger files. The pages read can be kept for raw.trace.
 *
 * The kernel is always put back (kchange, newest change first): tracing
 * and events off, triggers removed, filters cleared, the stack option,
 * buffer size and clock restored, readers closed, the kprobe events and the
 * instance removed, on tracer_stop() and on tracer_free() from any point of
 * a failed setup. An instance or kprobe event a killed daemon left behind is
 * removed by kchange_recover(). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "capture/kchange.h"
#include "stacks/pairing.h"

#define TRACER_INSTANCE_PREFIX KCHANGE_INSTANCE_PREFIX
/* Instance directory name, prefix included. */
#define TRACER_INSTANCE_NAME_MAX 96
/* Longest cache name accepted (the kernel allows any length; ours are short). */
#define TRACER_CACHE_NAME_MAX 128
/* Ring buffer per CPU when the options leave it at 0 (config default). */
#define TRACER_BUFFER_DEFAULT (16ULL << 20)
/* Events traced before the first stop; 0 in the options means this. */
#define TRACER_MAX_EVENTS_DEFAULT 20000000ULL

/* How the events are narrowed to the cache. */
enum tracer_filter {
        TRACER_FILTER_AUTO,     /* a kmalloc-family name → TRACER_FILTER_KMALLOC, else NAME */
        TRACER_FILTER_NAME,     /* kmem_cache_alloc / kmem_cache_free by `name` (with fallbacks) */
        TRACER_FILTER_KMALLOC,  /* kmalloc by `bytes_alloc`, every kfree but kfree(NULL) */
};

/* Which events carry a kernel stack. */
enum tracer_stacks {
        TRACER_STACKS_AUTO,     /* ALLOCS where the kernel has event triggers, else ALL */
        TRACER_STACKS_ALLOCS,   /* a `stacktrace if <filter>` trigger on the allocation events only */
        TRACER_STACKS_ALL,      /* the instance's stacktrace option: every event, frees included */
};

struct tracer_options {
        const char *tracefs_dir;        /* the tracefs mount, root prefix included */
        const char *proc_dir;           /* for kallsyms without libtraceevent; NULL = /proc */
        const char *cache_name;         /* as /proc/slabinfo and the tracepoints print it */
        enum tracer_filter filter;
        /* bytes_alloc to filter allocations by: the size class of a
         * kmalloc cache (0 = taken from its name), or for a named cache on
         * kernels whose kmem_cache_alloc has no `name` (before 6.18) its
         * SLUB slab_size. */
        uint64_t object_size;
        uint64_t buffer_bytes_per_cpu;  /* 0 = TRACER_BUFFER_DEFAULT */
        uint64_t max_events;            /* 0 = TRACER_MAX_EVENTS_DEFAULT */
        uint64_t max_memory_bytes;      /* pairing tables; 0 = PAIRING_MEMORY_DEFAULT */
        uint64_t settle_ns;             /* see pairing_options.settle_ns */
        /* Trace bulk frees with kprobe events where the kernel has them
         * (capture/bulkfree); their crash markers go to @state_dir. */
        bool bulk_frees;
        const char *state_dir;
        enum tracer_stacks stacks;
        /* Keep the pages read, up to this many bytes, for raw.trace
         * (tracer_take_raw_trace()); 0: none kept. */
        uint64_t raw_trace_max_bytes;
        const char *kernel_release;     /* for raw.trace; NULL = "" */
};

/* Which fields the kmem events carry on this kernel (their format files). */
struct tracer_formats {
        bool kmem_cache_alloc;
        bool kmem_cache_alloc_name;     /* 6.18+ */
        bool kmem_cache_alloc_bytes;
        bool kmem_cache_free;
        bool kmem_cache_free_name;      /* 5.12+ */
        bool kmalloc;
        bool kmalloc_bytes;
        bool kfree;
        bool kernel_stack;              /* ftrace/kernel_stack */
        bool triggers;                  /* events/kmem/<event>/trigger files */
};

struct tracer_stats {
        uint64_t records;               /* ring-buffer records read */
        uint64_t bytes;                 /* ring-buffer bytes read */
        uint64_t events;                /* alloc and free events handed to pairing */
        uint64_t allocs;
        uint64_t frees;
        uint64_t null_ptr;              /* kfree(NULL) and failed allocs: not paired */
        uint64_t stacks;                /* stack records matched to their event */
        uint64_t stacks_missing;        /* events whose stack record never came */
        uint64_t stacks_orphaned;       /* stack records with no event to go with */
        uint64_t over_limit;            /* events read after max_events or the memory bound */
        uint64_t missed_pages;          /* sub-buffers the kernel flagged with missed events */
        uint64_t bad_pages;             /* sub-buffers that could not be parsed, skipped */
        uint64_t lost_events;           /* per-CPU overrun + dropped since the start */
        bool lost_known;                /* per_cpu/cpuN/stats could be read */
        bool limit_reached;             /* max_events or the memory bound stopped the pairing */
        bool alloc_filter_exact;        /* false: allocs filtered by size, other caches may show */
        bool mono_clock;                /* events carry CLOCK_MONOTONIC: drain and settle apply */
        unsigned n_cpus;
        bool bulk_traced;               /* kprobe events show the bulk frees */
        char bulk_reason[160];          /* why not, "" when they do */
        uint64_t bulk_calls;            /* kmem_cache_free_bulk calls recorded */
        uint64_t bulk_frees;            /* pointers they freed */
        uint64_t bulk_uncovered;        /* pointers past the events' slices: not seen */
        enum tracer_stacks stacks_mode; /* ALLOCS or ALL, as set up */
        /* The cost on our side: this process's CPU time and the wall time
         * from the start of tracing to the end of tracer_stop()'s drain
         * (so far, while it runs). */
        uint64_t cpu_ns;
        uint64_t wall_ns;
        /* raw.trace: pages kept, and left out by raw_trace_max_bytes. */
        uint64_t raw_pages;
        uint64_t raw_pages_dropped;
};

struct tracer;

/* Set up the instance, filters and readers and start tracing. -EINVAL (bad
 * options or cache name), -ENOENT (no tracefs or kmem events there),
 * -EOPNOTSUPP (no filter possible on this kernel), -EBUSY (the instance
 * exists: a capture of this cache is running), or the -errno of a tracefs
 * write. On failure everything done so far is undone. */
int tracer_start(const struct tracer_options *o, struct tracer **ret);

/* Drain every CPU's ring buffer into the pairing. Call every poll period
 * (config capture.poll, 10 ms) from a timer. Returns the events consumed,
 * or -errno if a buffer could not be read. */
int tracer_poll(struct tracer *t);

/* End the allocation window now: from here on only frees are counted (the
 * drain phase). False when the trace clock cannot say which events came
 * after now (no mono clock): the capture then ends without a drain. */
bool tracer_end_allocs(struct tracer *t);

/* True once max_events or the memory bound was reached: stop the capture. */
bool tracer_limit_reached(const struct tracer *t);

/* Stop: disable the events, drain what is left, read the loss counters,
 * clear the filters, turn off the stack option, close the readers and
 * remove the instance, in that order; then resolve the stacks (kallsyms,
 * each address once) and rank them. @ret gets the result (with
 * lost_events filled in) even if a teardown step failed; the first
 * teardown error is returned. */
int tracer_stop(struct tracer *t, struct pairing_result **ret);

/* The stacks paired so far (at most @max_stacks listed, 0 = all), with
 * lost_events as last read, while tracing goes on: a checkpoint of the
 * capture. Nothing in the kernel changes. -EINVAL once stopped, -ENOMEM. */
int tracer_snapshot(struct tracer *t, size_t max_stacks, struct pairing_result **ret);
/* After tracer_stop(): hand over raw.trace (the pages read, their formats,
 * the symbols of their stacks; see stacks/rawtrace.h), which the caller
 * frees. 0 with *ret_data NULL when none was kept; -ENOMEM if it could not
 * be kept whole. */
int tracer_take_raw_trace(struct tracer *t, uint8_t **ret_data, size_t *ret_len);

/* Free @t, restoring the kernel state first if tracer_stop() was not
 * called. NULL is a no-op. */
void tracer_free(struct tracer *t);

/* Counters so far. lost_events is re-read from the kernel at most once a
 * second while polling, and at tracer_stop(). */
void tracer_get_stats(const struct tracer *t, struct tracer_stats *ret);

/* The instance directory name, e.g. "slabwatch-kmalloc-256". */
const char *tracer_instance_name(const struct tracer *t);

/* The filters applied and where the stacks come from, for the report:
 * "kmem:kmalloc bytes_alloc == 256; kmem:kfree ptr != 0; stacks on
 * allocations only (stacktrace trigger)". */
const char *tracer_describe(const struct tracer *t);

/* "slabwatch-" + @cache_name with every byte outside [A-Za-z0-9._-]
 * replaced by '_'. -EINVAL for an empty name, -ENAMETOOLONG if the result
 * would not fit TRACER_INSTANCE_NAME_MAX or @size. */
int tracer_instance_name_for(const char *cache_name, char *buf, size_t size);

/* "allocations only (stacktrace trigger)", "every event (stacktrace option)". */
const char *tracer_stacks_name(enum tracer_stacks s);

/* Read the kmem and ftrace event formats under @tracefs_dir. -ENOENT if
 * there are no kmem events (tracefs not mounted there). */
int tracer_probe_formats(const char *tracefs_dir, struct tracer_formats *ret);
