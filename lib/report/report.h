/* report — the result of one capture: what tripped, what was captured, the
 * ranked call sites and stacks, and its rendering to report.json and a
 * report.txt for humans. */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define REPORT_ID_MAX 160
#define REPORT_NAME_MAX 128
#define REPORT_TEXT_MAX 512
/* Frames kept per stack or call site; deeper stacks are cut (and say so). */
#define REPORT_FRAMES_MAX 128
/* Bounds on what one report holds, so a corrupt or hostile input cannot
 * make it grow without end. Stacks are never dropped below this bound. */
#define REPORT_STACKS_MAX (1U << 20)
#define REPORT_CALLSITES_MAX 65536
#define REPORT_STRV_MAX 4096
/* report_join_frames() output for one journal field. */
#define REPORT_TOP_STACK_MAX 4096

/* A bounded list of owned strings. */
struct report_strv {
        char **v;
        size_t n;
};

/* Why a capture ran: the threshold that tripped, or a user's request. */
struct report_trigger {
        bool on_demand;                 /* armed over the socket, not tripped */
        char reason[REPORT_TEXT_MAX];   /* "objects_per_min 812.0 > 500" */
        double objects_per_min;
        double bytes_per_hour;
        double percent_per_hour;
        uint64_t active_objs;
        uint64_t window_usec;
};

/* How far a stack's outstanding count can be trusted (report_attribute()). */
enum report_confidence {
        REPORT_CONFIDENCE_LOW,
        REPORT_CONFIDENCE_MEDIUM,
        REPORT_CONFIDENCE_HIGH,
};

/* One distinct allocation stack, paired alloc-to-free. */
struct report_stack {
        struct report_strv frames;      /* innermost first: "inet_create+0x2b/0x3c0" */
        uint64_t allocs;
        uint64_t frees;                 /* untraced frees included */
        uint64_t untraced_frees;        /* the pointer came back without a traced free */
        uint64_t outstanding;           /* allocs not freed by the end of the capture */
        uint64_t settled;               /* outstanding and older than the settle time */
        uint64_t unexplained;           /* of outstanding, how many may be frees the trace missed:
                                         * at most the ledger's unexplained, or all of them when
                                         * freed_unseen */
        bool freed_unseen;              /* its objects were seen to die without a traced free
                                         * (untraced_frees > 0): every outstanding one may have too */
        enum report_confidence confidence;
        double oldest_age_s;            /* age of the oldest outstanding object */
        uint64_t bytes;                 /* bytes still outstanding */
};

/* One call site of alloc_calls/alloc_traces across the snapshots taken. */
struct report_callsite {
        bool free_site;                 /* from free_calls/free_traces */
        char cache[REPORT_NAME_MAX];    /* whose file (a kmalloc class has several) */
        char site[REPORT_NAME_MAX];     /* "__alloc_skb+0x98/0x238" or "<not-available>" */
        uint64_t count_first;           /* in the first snapshot (0 if absent there) */
        uint64_t count_last;            /* in the last snapshot (0 if gone) */
        int64_t delta;                  /* count_last - count_first */
        uint64_t age_min;               /* from the last snapshot, in jiffies as the kernel prints them */
        uint64_t age_avg;
        uint64_t age_max;
        char pids[REPORT_NAME_MAX];
        char cpus[REPORT_NAME_MAX];
        struct report_strv frames;      /* stack of the site (5.19+ alloc_traces) */
};

/* Variants listed per path; more are counted, not listed. */
#define REPORT_VARIANTS_MAX 32

/* Allocation stacks that differ only past an entry boundary (the IRQ or
 * ksoftirqd context under __do_softirq, a syscall's entry wrappers) are
 * one path; each distinct tail past the boundary is a variant. */
struct report_path {
        struct report_strv frames;      /* from the innermost frame to the boundary */
        char boundary[REPORT_NAME_MAX]; /* "__do_softirq", "syscall entry", "" (none) */
        uint64_t allocs;
        uint64_t frees;
        uint64_t outstanding;
        uint64_t settled;
        size_t n_stacks;
        struct report_strv variants;    /* "irq_exit <- ret_from_irq <- ...: 12 outstanding of 40" */
        size_t n_variants;              /* all of them, even past REPORT_VARIANTS_MAX */
};

/* The attribution ledger: how much of the cache's growth over the capture
 * the traced stacks account for, and what could make them wrong. The
 * cache_* inputs come from the daemon's samples taken during the
 * allocation window; report_attribute() computes the rest. */
struct report_attribution {
        bool cache_known;               /* two or more samples inside the window */
        uint64_t cache_first;           /* active objects at the first sample */
        uint64_t cache_last;            /* ... and at the last one */
        uint64_t cache_samples;
        uint32_t objperslab;            /* slabinfo moves by whole slabs */
        int64_t cache_delta;            /* cache_last - cache_first */
        uint64_t allocs;                /* traced in the allocation window */
        uint64_t frees;                 /* ours in the window: matched + unknown + untraced */
        int64_t traced_net;             /* allocs - frees */
        bool explained_known;           /* cache_delta large enough to divide by */
        double explained;               /* traced_net / cache_delta */
        uint64_t untraced_frees;        /* pointers allocated again without a traced free */
        /* Bulk frees (kfree_rcu batches, kfree_bulk, kmem_cache_free_bulk)
         * fire no per-object tracepoint: traced through kprobe events, or
         * only inferred (untraced_frees) when a pointer comes back. */
        /* traced_net beyond the cache's growth (cache_delta, 0 if it
         * shrank), and the objects outstanding at the end beyond it: those
         * the cache does not hold, frees the trace did not see. 0 when the
         * growth is unknown. */
        uint64_t unexplained;
        bool bulk_known;                /* a tracefs capture said which applies */
        bool bulk_traced;
        char bulk_reason[REPORT_NAME_MAX]; /* why not traced, "" */
        uint64_t bulk_calls;
        uint64_t bulk_frees;            /* pointers they freed, counted as frees */
        uint64_t bulk_uncovered;        /* pointers past the events' slices: not seen */
        uint64_t frees_of_unknown;      /* of objects older than the capture */
        uint64_t stackless_events;
        uint64_t lost_events;
        uint64_t drain_usec;            /* frees-only phase after the window */
        uint64_t drain_frees;
        uint64_t drain_allocs;          /* seen in the drain, not counted */
        uint64_t settle_usec;           /* younger outstanding objects are no evidence */
        uint64_t top_settled;           /* the top stack's outstanding objects older than that */
        bool growth_stopped;            /* the cache had stopped growing before the capture */
        uint64_t top_margin;            /* outstanding objects of the top stack above the next one's */
        bool loss_ambiguous;            /* lost_events >= top_margin: the loss alone could have made
                                         * the ranking, so no suspect or culprit is named */
        enum report_confidence confidence; /* of the top stack */
        char verdict[REPORT_TEXT_MAX];  /* one sentence: how far to trust the ranking */
        struct report_strv notes;       /* the likely reasons, one line each */
};

/* What the stack tracing cost, as far as the capture itself can tell: how
 * the stacks were taken, how much was traced and this process's CPU time.
 * The traced workload's slowdown cannot be measured from inside a capture
 * (there is no untraced twin run); bench/bench_capture measures it. */
struct report_overhead {
        bool known;                     /* a tracefs capture filled it */
        char stacks[REPORT_NAME_MAX];   /* "allocations only (stacktrace trigger)" */
        uint64_t records;               /* ring-buffer records read */
        uint64_t bytes;                 /* ring-buffer bytes read */
        uint64_t events;                /* alloc and free events traced */
        uint64_t stacks_recorded;       /* kernel stacks walked and recorded */
        uint64_t daemon_cpu_usec;       /* slabwatchd's CPU time while tracing */
        uint64_t traced_usec;           /* wall time tracing */
};

struct report {
        char id[REPORT_ID_MAX];
        char cache[REPORT_NAME_MAX];    /* the name slabinfo and tracepoints show */
        char kernel[REPORT_NAME_MAX];   /* release */
        struct report_strv aliases;     /* every name of the merge group / class */
        struct report_strv methods;     /* "tracefs", "kmsg-trace", "sysfs alloc_calls", ... */
        char trace_filter[REPORT_TEXT_MAX]; /* how the events were narrowed to the cache, "" */
        char method_error[REPORT_TEXT_MAX]; /* why a method the kernel offers could not start, "" */
        struct report_overhead overhead;
        struct report_trigger trigger;
        uint64_t start_realtime_usec;
        uint64_t duration_usec;
        char stop_reason[REPORT_TEXT_MAX]; /* "duration", "SIGTERM", "cache vanished", ... */
        bool interrupted;               /* a checkpoint of a capture the daemon did not finish:
                                         * report.json's status "interrupted", else "complete" */
        uint64_t events;                /* trace events consumed */
        uint64_t lost_events;           /* per-CPU overruns + drops: outstanding counts are suspect if > 0 */
        uint64_t unmatched_frees;       /* frees of objects allocated before the capture */
        struct report_attribution attribution;
        char culprit[REPORT_NAME_MAX];  /* the frame that separates leaking from freeing stacks, "" */
        size_t culprit_frame;           /* its index in stacks[0].frames */
        char culprit_reason[REPORT_TEXT_MAX];
        struct report_path *paths;      /* most outstanding first */
        size_t n_paths;
        char leak_group[REPORT_NAME_MAX];       /* the suspected leak, "leak-3"; "" */
        char leak_group_name[REPORT_TEXT_MAX];  /* its caches, most specific first: "UDP+filp" */
        struct report_strv leak_group_members;  /* "UDP (dedicated, 120.0 objects/min)" */
        bool truncated;                 /* an event or memory bound stopped the aggregation */
        char truncated_reason[REPORT_TEXT_MAX];
        unsigned callsite_snapshots;
        uint64_t callsite_interval_usec;
        struct report_callsite *call_sites; /* ranked: growth first */
        size_t n_call_sites;
        size_t call_sites_allocated;
        struct report_stack *stacks;    /* ranked: most outstanding first */
        size_t n_stacks;
        size_t stacks_allocated;
        struct report_strv advice;      /* what would give more evidence on this kernel */
        struct report_strv warnings;    /* what went wrong along the way, one line each */
};

/* A zeroed report; report_free() it. -ENOMEM. */
int report_new(struct report **ret);

/* A new report holding a copy of @src's header: ids, trigger, methods,
 * counters, leak group, advice and warnings, the cache samples of the
 * ledger; no stacks, call sites, paths or notes (a checkpoint adds those
 * and assembles it). -ENOMEM. */
int report_new_header_copy(const struct report *src, struct report **ret);

/* Free @r and everything it owns; NULL is a no-op. */
void report_free(struct report *r);

/* Copy @s into @v. -E2BIG past REPORT_STRV_MAX entries, -ENOMEM. */
int report_strv_add(struct report_strv *v, const char *s);

/* Add a formatted line to @v (same errors as report_strv_add). */
int report_strv_addf(struct report_strv *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* True if @v holds @s. */
bool report_strv_contains(const struct report_strv *v, const char *s);

/* Free the strings of @v and zero it. */
void report_strv_done(struct report_strv *v);

/* Append a stack with copies of its first REPORT_FRAMES_MAX frames; returns
 * it for the caller to fill in counts. NULL on -ENOMEM or past REPORT_STACKS_MAX. */
struct report_stack *report_add_stack(struct report *r, const char *const *frames, size_t n_frames);

/* Append an empty call site for the caller to fill. NULL on -ENOMEM or past
 * REPORT_CALLSITES_MAX. */
struct report_callsite *report_add_callsite(struct report *r);

/* Sort stacks by outstanding (then allocs, then bytes) descending and call
 * sites by growth (then last count) descending, keeping the input order
 * among equals. */
void report_rank(struct report *r);

/* True if @frame ("kmem_cache_alloc_noprof+0x1f/0x2c0") is allocator or
 * tracing machinery rather than the code that asked for memory, by the one
 * frame classification (stacks/frames.h). */
bool report_frame_is_noise(const char *frame);

/* The suspect function of @s: the name (without +offset/len or [module])
 * of its innermost frame that is not noise, or of the innermost frame if
 * all are. "" for a stack without frames. Returns @buf. */
const char *report_suspect(const struct report_stack *s, char *buf, size_t size);

/* @s's frames, innermost first, joined by @sep into @buf; cut with "..."
 * at a frame boundary if it does not fit. Returns @buf. */
const char *report_join_frames(const struct report_stack *s, const char *sep, char *buf, size_t size);

/* Group ranked @r's stacks into paths (entry boundaries) and name the
 * culprit: walking outward from the allocation point along the top path,
 * the first frame through which every path still holds outstanding objects
 * (paths through the frames below it that turn off elsewhere net to ~0).
 * Generic wrappers (__alloc_skb, kmalloc_reserve, a vendor's skb pool) are
 * passed over because freeing paths run through them too. -ENOMEM. */
int report_find_culprit(struct report *r);

/* The function the report names: the culprit, else the top stack's
 * suspect; "" when growth stopped before the capture or without stacks.
 * Returns @buf. */
const char *report_named_suspect(const struct report *r, char *buf, size_t size);

/* "high", "medium", "low". */
const char *report_confidence_name(enum report_confidence c);

/* Figures of @r that lost events make unreliable (a lost free leaves a
 * phantom outstanding object; a lost allocation hides one): their JSON
 * names, into @names, at most @max. 0 when nothing was lost. The counts of
 * allocations and frees a stack shows stay exact: each is one traced. */
size_t report_unreliable_figures(const struct report *r, const char **names, size_t max);

/* Compute the attribution ledger of ranked @r from its counters and cache
 * samples: cache_delta, traced_net, explained, whether growth had stopped
 * before the capture, a confidence per stack and the verdict sentence. */
void report_attribute(struct report *r);

/* report.json as a json-c object (caller puts it). -ENOMEM. */
int report_to_json(const struct report *r, json_object **ret);

/* report.txt: a malloc'd NUL-terminated text for humans, every stack and
 * call site included. -ENOMEM. */
int report_to_text(const struct report *r, char **ret_text, size_t *ret_len);
