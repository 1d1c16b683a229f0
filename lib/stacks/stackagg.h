/* stackagg — count identical kernel stacks, so that none is overlooked.
 *
 * A stack's identity is the sequence of its function names (offsets and
 * addresses differ between builds and do not make another path), after
 * unreliable "?" frames are dropped and the noise at the inner end (the
 * dump and trace machinery, the allocator's own entry points) is trimmed.
 * With a "from" function each stack is re-rooted there: that function and
 * its callers are kept, so stacks group by how they reached it. Distinct
 * stacks are kept in a hash table under a memory cap; a stack that does not
 * fit is counted as dropped, never silently lost. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stacks/stackdump.h"

/* Memory for distinct stacks and their names unless the caller says otherwise. */
#define STACKAGG_MEMORY_MAX_DEFAULT ((size_t) 256 << 20)
/* Distinct stacks unless the caller says otherwise. */
#define STACKAGG_STACKS_MAX_DEFAULT ((size_t) 1 << 20)
/* Distinct values of each context field (CPU, PID, comm, ...) kept per stack;
 * more are flagged, not listed. */
#define STACKAGG_SET_MAX 8
/* Extra noise patterns a caller may add. */
#define STACKAGG_NOISE_MAX 64

struct stackagg_options {
        const char *from;               /* fnmatch(3) pattern to re-root at, or NULL */
        bool keep_noise;                /* do not trim the built-in noise list */
        bool keep_unreliable;           /* count "?" frames as part of the identity */
        const char *const *noise;       /* extra fnmatch(3) patterns of noise frames */
        size_t n_noise;
        size_t max_stacks;              /* 0 = STACKAGG_STACKS_MAX_DEFAULT */
        size_t max_memory_bytes;        /* 0 = STACKAGG_MEMORY_MAX_DEFAULT */
};

/* A frame as shown: the name is the identity, the rest is from the first
 * stack seen with that identity. Strings live as long as the aggregator. */
struct stackagg_frame {
        const char *function;
        const char *module;             /* "" for the kernel image */
        const char *raw;                /* the name as printed, if function folded a clone suffix; else "" */
        const char *source;             /* "path/file.c:NN" of a symbolized frame; else "" */
        bool inlined;
        uint64_t offset;
        uint64_t size;
        bool has_offset;
};

/* A bounded set of distinct values seen for one context field. */
struct stackagg_uset {
        uint32_t values[STACKAGG_SET_MAX];      /* sorted ascending */
        size_t n;
        bool more;                              /* further values were seen */
};

struct stackagg_sset {
        const char *values[STACKAGG_SET_MAX];   /* in the order first seen */
        size_t n;
        bool more;
};

struct stackagg_entry {
        uint64_t count;                 /* sum of the stacks' weights */
        uint64_t records;               /* stacks with this identity */
        const struct stackagg_frame *frames;    /* innermost first; [0] is the "from" function if set */
        size_t n_frames;
        uint64_t seq;                   /* order of first appearance, 0-based */
        unsigned first_source;          /* caller's source number of the first one */
        uint64_t first_line;            /* and its line */
        struct stackagg_uset cpus;
        struct stackagg_uset pids;
        struct stackagg_sset comms;
        struct stackagg_sset taints;    /* "" stands for "not tainted" */
        struct stackagg_sset releases;
        struct stackagg_sset events;
        struct stackagg_sset caches;
        unsigned formats;               /* bit (1 << enum stackdump_format) */
        unsigned roles;                 /* bit (1 << enum stackdump_role) */
        uint64_t object_bytes;          /* sum of the objects' sizes where the report gave one (kmemleak) */
        uint64_t sized;                 /* stacks that gave a size */
        uint64_t age_min_msec;          /* youngest and oldest object age, where given (kmemleak) */
        uint64_t age_max_msec;
        uint64_t aged;                  /* stacks that gave an age */
};

struct stackagg_stats {
        uint64_t stacks;                /* stacks given to stackagg_add() */
        uint64_t weight;                /* their weights, summed */
        uint64_t counted;               /* stacks counted in an entry */
        uint64_t distinct;              /* entries */
        uint64_t no_from;               /* stacks without the "from" function, not counted */
        uint64_t empty;                 /* stacks with no frame left after trimming */
        uint64_t dropped;               /* stacks refused at the stack or memory cap */
        uint64_t dropped_weight;
        uint64_t truncated;             /* stacks that had more than STACKDUMP_FRAMES_MAX frames */
        uint64_t unreliable_frames;     /* "?" frames left out of identities */
        size_t memory_bytes;            /* held now */
};

struct stackagg;

/* A node of the call tree: the stacks sharing the path from the root to
 * here. Children are ranked by count, then by first appearance. */
struct stackagg_node {
        const struct stackagg_frame *frame;     /* NULL for the root */
        uint64_t count;                         /* weight of the stacks through here */
        uint64_t records;
        uint64_t self;                          /* weight of the stacks ending here */
        uint64_t seq;                           /* first appearance among them */
        struct stackagg_node *children;
        size_t n_children;
};

enum stackagg_tree_order {
        STACKAGG_TREE_CALLERS_FIRST,    /* outermost caller at the top, inward */
        STACKAGG_TREE_INNERMOST_FIRST,  /* innermost kept frame (the "from" function) at the top, callers below */
};

/* A new aggregator; @o may be NULL for the defaults. -EINVAL for more than
 * STACKAGG_NOISE_MAX extra patterns, -ENOMEM. */
int stackagg_new(const struct stackagg_options *o, struct stackagg **ret);

/* Free it and everything it handed out; NULL is a no-op. */
void stackagg_free(struct stackagg *a);

/* Count one stack from source @source (the caller's file number). Stacks
 * that are refused (no "from" frame, nothing left, over a cap) are counted
 * in the stats. Returns 0, or -ENOMEM if memory ran out below the caps. */
int stackagg_add(struct stackagg *a, const struct stackdump_stack *s, unsigned source);

/* Totals so far. */
void stackagg_get_stats(const struct stackagg *a, struct stackagg_stats *ret);

/* The entries ranked by count (descending), then first appearance. The
 * array belongs to the aggregator and is valid until the next add or free.
 * Returns the number of entries, or -ENOMEM. */
int stackagg_ranked(struct stackagg *a, const struct stackagg_entry *const **ret);

/* Build the call tree of all entries in @order. Free it with
 * stackagg_tree_free(); it must not outlive the aggregator. -ENOMEM. */
int stackagg_tree(struct stackagg *a, enum stackagg_tree_order order, struct stackagg_node **ret_root);

void stackagg_tree_free(struct stackagg_node *root);

/* True if @function is noise by the one frame classification (stacks/frames.h). */
bool stackagg_is_default_noise(const char *function);
