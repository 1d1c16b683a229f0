/* pairing — pair traced allocations with their frees, per distinct stack.
 *
 * A capture feeds a stream of alloc and free events of one cache, each with
 * the stack that made it. Stacks are interned (the frame list hashed to a
 * stack id); an alloc records ptr → (stack, time, bytes), a free of a known
 * ptr credits the alloc's stack (and counts the free's own stack as a free
 * site). Per-CPU ring buffers are drained one CPU at a time, so events reach
 * us out of order across CPUs: they are held in per-CPU queues and released
 * in timestamp order once a watermark passes them. Memory is bounded; past
 * the bound the stream is refused, and the result says so. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Distinct pids remembered per allocation stack. */
#define PAIRING_PIDS_MAX 4
/* Frames kept per stack; deeper stacks keep their innermost frames. */
#define PAIRING_FRAMES_MAX 128
/* CPU numbers accepted (the kernel's NR_CPUS ceiling). */
#define PAIRING_CPUS_MAX 8192
/* Longest frame name interned (a symbol with offset and module). */
#define PAIRING_NAME_MAX 512
/* Memory bound when the options leave it at 0. */
#define PAIRING_MEMORY_DEFAULT (256ULL << 20)
/* reorder_window_ns value that disables the time window: events are only
 * released by pairing_release() and pairing_finish(). */
#define PAIRING_WINDOW_NONE UINT64_MAX

enum pairing_kind {
        PAIRING_ALLOC,
        PAIRING_FREE,
};

struct pairing_options {
        /* Memory for the tables and queues; 0 = PAIRING_MEMORY_DEFAULT. */
        uint64_t max_memory_bytes;
        /* Events more than this behind the newest timestamp seen are
         * released without waiting for pairing_release(); 0 releases each
         * event at once (one ordered stream), PAIRING_WINDOW_NONE never. */
        uint64_t reorder_window_ns;
        /* The frees are not filtered to this cache (kfree has no cache name
         * or size): a free of a ptr never allocated here is someone else's,
         * counted in foreign_frees, not an unmatched free and not a site. */
        bool frees_unfiltered;
        /* Frees are traced without stacks (stacks on allocations only): an
         * empty free stack is by design, not counted in stackless_events. */
        bool frees_stackless;
        /* Outstanding objects allocated at least this long before the end
         * of the allocation window (pairing_end_allocs(), else the end) are
         * counted as settled: an object from the last seconds is no
         * evidence of a leak yet. 0 counts every outstanding object. */
        uint64_t settle_ns;
};

/* One traced event. The stack is interned beforehand. */
struct pairing_event {
        uint64_t timestamp_ns;  /* one clock for all CPUs */
        uint64_t ptr;           /* the object; 0 (a failed alloc) is ignored */
        uint64_t bytes;         /* bytes_alloc of an alloc; unused for a free */
        uint32_t cpu;           /* ring buffer the event came from */
        int32_t pid;
        enum pairing_kind kind;
        uint32_t stack_id;      /* from pairing_intern_*() */
};

/* Turns a frame address into text once per distinct address, at the end.
 * Write a NUL-terminated name into @buf and return 0; return 1 to mark the
 * frame as tracing machinery (dropped while it is among the innermost
 * frames); a negative errno prints the address in hex instead. */
typedef int (*pairing_resolve_fn)(uint64_t address, char *buf, size_t size, void *userdata);

/* One distinct allocation stack. Stacks whose frames read the same once
 * machinery frames are dropped count as one. */
struct pairing_stack {
        uint32_t id;                    /* the (lowest) stack id events carried */
        char **frames;                  /* innermost first */
        size_t n_frames;
        uint64_t allocs;
        uint64_t frees;                 /* frees of these allocs seen in the capture */
        uint64_t outstanding;           /* allocs not freed by the end */
        uint64_t bytes_outstanding;
        uint64_t untraced_frees;        /* of these, freed without a traced free: the ptr came back */
        uint64_t settled;               /* outstanding, allocated settle_ns before the window closed */
        uint64_t oldest_ts_ns;          /* alloc time of the oldest outstanding object */
        double oldest_age_s;            /* end_ns - oldest_ts_ns; 0 if none outstanding */
        int32_t pids[PAIRING_PIDS_MAX]; /* first distinct allocating pids */
        size_t n_pids;
        bool more_pids;                 /* other pids allocated here too */
        bool frames_cut;                /* deeper than PAIRING_FRAMES_MAX */
};

/* One distinct stack that freed objects. */
struct pairing_free_site {
        uint32_t id;
        char **frames;
        size_t n_frames;
        uint64_t frees;                 /* of objects allocated in the capture */
        uint64_t unmatched;             /* of objects allocated before it began */
        bool frames_cut;
};

struct pairing_result {
        struct pairing_stack *stacks;   /* every alloc stack, most outstanding first */
        size_t n_stacks;
        struct pairing_free_site *free_sites; /* most frees first */
        size_t n_free_sites;

        uint64_t events;                /* accepted */
        uint64_t allocs;
        uint64_t frees;
        uint64_t matched_frees;
        uint64_t unmatched_frees;       /* ptr allocated before the capture began */
        uint64_t foreign_frees;         /* frees_unfiltered: not an object of ours */
        uint64_t reallocs_unfreed;      /* alloc of a live ptr: its free was missed; the old
                                         * object counts as freed (untraced), not outstanding */
        uint64_t stackless_events;      /* events whose stack was empty (its record never came) */
        uint64_t window_frees;          /* our frees (matched, unmatched, untraced) up to the
                                         * end of the allocation window */
        uint64_t drain_frees;           /* our frees after it, in the drain phase */
        uint64_t drain_allocs;          /* allocations in the drain phase: not counted */
        uint64_t alloc_end_ns;          /* end of the allocation window; 0 = none (no drain) */
        uint64_t settled;               /* sum over stacks */
        uint64_t late_events;           /* arrived after the watermark passed them */
        uint64_t null_ptr_events;       /* ptr 0: failed allocs, ignored */
        uint64_t outstanding;           /* sum over stacks */

        uint64_t first_ts_ns;           /* 0 if no event */
        uint64_t last_ts_ns;
        uint64_t end_ns;                /* what ages are measured against */

        bool truncated;                 /* the memory bound refused events */
        uint64_t truncated_at_events;   /* events accepted before that */
        uint64_t dropped_events;        /* refused after that */
        uint64_t memory_peak_bytes;

        /* Left for the capture to fill: events the kernel could not record. */
        uint64_t lost_events;
};

struct pairing;

/* A new, empty pairing state. -EINVAL, -ENOMEM. */
int pairing_new(const struct pairing_options *o, struct pairing **ret);

/* Free @p; NULL is a no-op. */
void pairing_free(struct pairing *p);

/* Intern a stack of kernel addresses, innermost first (resolved to names
 * only in pairing_finish()). Same frames, same id. A stack deeper than
 * PAIRING_FRAMES_MAX keeps its innermost frames and is marked cut; an
 * empty one is allowed. -ENOBUFS once the memory bound is reached,
 * -EINVAL for a NULL array with @n > 0. */
int pairing_intern_stack(struct pairing *p, const uint64_t *addresses, size_t n, uint32_t *ret_id);

/* Intern a stack of frame names ("__alloc_skb+0x1e8/0x238"), innermost
 * first, as text dumps give them. -ENOBUFS, -EINVAL (a name longer than
 * PAIRING_NAME_MAX or containing a NUL). */
int pairing_intern_names(struct pairing *p, const char *const *names, const size_t *lengths, size_t n,
                         uint32_t *ret_id);

/* Queue one event. Events of one CPU should come in timestamp order (a
 * slightly late one is sorted in). -ENOBUFS when the memory bound refuses it
 * (counted as dropped), -EINVAL for an unknown stack id or CPU out of range. */
int pairing_push(struct pairing *p, const struct pairing_event *e);

/* Every CPU has delivered all its events up to @watermark_ns: pair the
 * queued ones up to there, in timestamp order. Returns the number paired. */
uint64_t pairing_release(struct pairing *p, uint64_t watermark_ns);

/* The allocation window ends at @ts_ns: from then on only frees count (the
 * drain phase), so short-lived objects allocated near the end are seen to
 * die. An allocation after it is not counted; one that hands out a live
 * pointer again still frees the old object (untraced). */
void pairing_end_allocs(struct pairing *p, uint64_t ts_ns);

/* True once the memory bound has refused an event. */
bool pairing_truncated(const struct pairing *p);

/* Events accepted so far. */
uint64_t pairing_events(const struct pairing *p);

/* Bytes the tables and queues hold now. */
uint64_t pairing_memory(const struct pairing *p);

/* Release everything queued, then build the result: ages relative to
 * @end_ns (0 = the last event's time), address frames resolved through
 * @resolve (NULL prints them in hex), each distinct address once. @p stays
 * valid (and may be freed) afterwards but accepts no more events. -ENOMEM. */
int pairing_finish(struct pairing *p, uint64_t end_ns, pairing_resolve_fn resolve, void *userdata,
                   struct pairing_result **ret);

/* What has been paired so far, as pairing_finish() would give it but
 * without releasing the events still queued (they may yet be reordered)
 * and without ending the stream: @p keeps accepting events. With
 * @max_stacks > 0 only that many stacks and free sites, the most
 * outstanding, are listed (the totals count all). A capture's checkpoint.
 * -EINVAL once finished, -ENOMEM. */
int pairing_snapshot(struct pairing *p, uint64_t end_ns, pairing_resolve_fn resolve, void *userdata,
                     size_t max_stacks, struct pairing_result **ret);

/* Free a result; NULL is a no-op. */
void pairing_result_free(struct pairing_result *r);
