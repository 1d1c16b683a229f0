/* tracerec — turn raw ftrace records of the kmem events into allocation
 * and free events with their stacks, ready to pair. The stack is a
 * separate ftrace/kernel_stack record written right after its event on the
 * same CPU, from the same context (pid, irq flags, preempt count); an
 * interrupt's event and stack can come in between, so each stack goes to
 * the newest waiting event of its context, and the events above it that
 * got none are let go without one. Both ways of asking for stacks put the
 * stack after its event: the instance's stacktrace option (every event),
 * and a conditional `stacktrace if <filter>` trigger (only the events that
 * carry it; an unconditional trigger writes its stack before the event and
 * is not used). Events of a kind marked stackless are emitted at once. Fed pages (or decoded records) per CPU,
 * no I/O: the live tracer reads them from trace_pipe_raw, the tests from
 * recorded pages. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stacks/bulkrec.h"
#include "stacks/pairing.h"
#include "stacks/tracefmt.h"

/* Events of one CPU that wait for their stack record. Interrupts can nest
 * a few events between an event and its stack; more means a stack was lost. */
#define TRACEREC_PENDING_MAX 8
/* CPU numbers accepted. */
#define TRACEREC_CPUS_MAX 4096

/* The kmem events a capture can trace. */
enum tracerec_kind {
        TRACEREC_KMEM_CACHE_ALLOC,
        TRACEREC_KMEM_CACHE_FREE,
        TRACEREC_KMALLOC,
        TRACEREC_KFREE,
        _TRACEREC_KIND_MAX,
};

/* Where a field lies in a record; size 0 = the event has no such field. */
struct tracerec_field {
        uint32_t offset;
        uint32_t size;
};

/* Which records are which, from the formats of this kernel. */
struct tracerec_layout {
        struct tracefmt_page page;
        struct {
                bool used;              /* traced: its records are taken */
                uint32_t id;
                struct tracerec_field ptr;
                struct tracerec_field bytes;    /* bytes_alloc, allocations only */
                bool stackless;         /* traced without a stack: not held for one */
        } events[_TRACEREC_KIND_MAX];
        uint32_t stack_id;
        struct tracerec_field stack_size;
        struct tracerec_field stack_caller;
        struct tracerec_field common_type;
        struct tracerec_field common_flags;
        struct tracerec_field common_preempt;
        struct tracerec_field common_pid;
        uint32_t long_size;             /* a stack entry: the kernel's long */
        /* The kprobe slices of kmem_cache_free_bulk (n_slices 0: not
         * traced): each record frees up to BULKREC_PTRS_PER_EVENT pointers,
         * emitted as frees whose one frame is the probed function. */
        struct bulkrec_layout bulk;
};

/* One event for the pairing: @frames (innermost first, frame 0 is the
 * tracepoint's) are valid during the call only. */
struct tracerec_event {
        uint64_t ts;
        uint64_t ptr;
        uint64_t bytes;
        uint32_t cpu;
        int32_t pid;
        enum pairing_kind kind;
        const uint64_t *frames;
        size_t n_frames;
};

/* Takes each event; a negative return (a bound refused it) stops the
 * stream: tracerec_stats.limit_reached. */
typedef int (*tracerec_emit_fn)(const struct tracerec_event *e, void *userdata);

struct tracerec_stats {
        uint64_t records;               /* ring-buffer records seen */
        uint64_t pages;                 /* sub-buffers decoded */
        uint64_t events;                /* events emitted and taken */
        uint64_t allocs;
        uint64_t frees;
        uint64_t null_ptr;              /* kfree(NULL) and failed allocs: not emitted */
        uint64_t stacks;                /* stack records matched to their event */
        uint64_t stacks_missing;        /* events whose stack record never came */
        uint64_t stacks_orphaned;       /* stack records with no event to go with */
        uint64_t over_limit;            /* events after max_events or a refusal */
        uint64_t missed_pages;          /* sub-buffers the kernel flagged with missed events */
        uint64_t bad_pages;             /* sub-buffers that did not decode whole */
        uint64_t bulk_calls;            /* kmem_cache_free_bulk calls seen (slice 0 records) */
        uint64_t bulk_frees;            /* pointers they freed, emitted as frees */
        uint64_t bulk_uncovered;        /* pointers past the last slice: not seen */
        uint64_t bulk_bad;              /* slice records shorter than their format */
        bool limit_reached;
};

struct tracerec;

/* The name of @kind's tracepoint in the kmem system: "kmem_cache_alloc". */
const char *tracerec_kind_name(enum tracerec_kind kind);

/* The pairing kind of @kind's events. */
enum pairing_kind tracerec_kind_pairing(enum tracerec_kind kind);

/* Fill @l from the page layout and kernel_stack's format. -EOPNOTSUPP if
 * a field the matching needs (size, caller, common_type, common_pid) is
 * missing, -EINVAL. */
int tracerec_layout_init(struct tracerec_layout *l, const struct tracefmt_page *page,
                         const struct tracefmt_event *kernel_stack);

/* Mark @kind traced with the fields of its @format, with a stack after each
 * event (set events[kind].stackless afterwards when it has none).
 * -EOPNOTSUPP if it has no 4- or 8-byte `ptr`. */
int tracerec_layout_use(struct tracerec_layout *l, enum tracerec_kind kind, const struct tracefmt_event *format);

/* A matcher for CPUs 0..@n_cpus-1 that emits to @emit, and stops after
 * @max_events (0: no limit). -EINVAL, -ENOMEM. */
int tracerec_new(const struct tracerec_layout *l, unsigned n_cpus, uint64_t max_events, tracerec_emit_fn emit,
                 void *userdata, struct tracerec **ret);

/* Free @t (events still waiting are dropped: tracerec_flush() first). NULL is a no-op. */
void tracerec_free(struct tracerec *t);

/* Decode one sub-buffer page read from @cpu's buffer and take its records.
 * 0; -EBADMSG when the page did not decode whole (counted in bad_pages,
 * its whole records taken); -EINVAL for a CPU out of range. */
int tracerec_page(struct tracerec *t, unsigned cpu, const uint8_t *page, size_t len);

/* Take one decoded record of @cpu. */
void tracerec_record(struct tracerec *t, unsigned cpu, uint64_t ts, const uint8_t *data, size_t len);

/* The end: emit every event still waiting for its stack without one. */
void tracerec_flush(struct tracerec *t);

/* Lower @watermark (the time up to which every CPU has delivered) so that
 * no event of @cpu is released before its turn: to the last record read
 * from it unless @drained, and below its oldest event waiting for a stack. */
uint64_t tracerec_hold_watermark(const struct tracerec *t, unsigned cpu, bool drained, uint64_t watermark);

/* Counters so far. */
void tracerec_get_stats(const struct tracerec *t, struct tracerec_stats *ret);

/* A tracerec_emit_fn for a struct pairing (@userdata): interns the stack
 * and pushes the event; the pairing's refusal (its memory bound) is
 * passed on. */
int tracerec_emit_to_pairing(const struct tracerec_event *e, void *userdata);
