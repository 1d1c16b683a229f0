/* stacks — what `slabwatchctl stacks` (stacks.c: reading, text output)
 * and its JSON output (stacks_json.c) share. Not for other commands. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <json-c/json.h>

#include "stacks/stackagg.h"
#include "stacks/stackdump.h"

struct stacks_args {
        const char *from;
        const char *noise[STACKAGG_NOISE_MAX];
        size_t n_noise;
        bool keep_noise;
        bool keep_unreliable;
        bool tree;
        bool folded;
        bool json;
        size_t limit;           /* 0 = all */
        char **files;
        size_t n_files;
};

/* Populations of stacks, in the order they are shown: what still holds
 * memory first (allocation, free, other). */
#define STACKS_ROLES 3
extern const enum stackdump_role stacks_role_order[STACKS_ROLES];

struct stacks_run {
        /* One aggregator per role: allocation and free stacks are ranked apart. */
        struct stackagg *agg[_STACKDUMP_ROLE_MAX];
        unsigned source;
        const char *name;
        uint64_t file_errors;
        uint64_t errors;                /* unreadable lines (too long, binary) */
        uint64_t skipped;               /* lines inside stacks stepped over */
        uint64_t dropped_notes;         /* "messages dropped" inside stacks */
        unsigned first_skip_source;
        uint64_t first_skip_line;
        uint64_t lines;                 /* lines read, over all files */

        uint64_t *seen;                 /* fingerprints, open addressing, 0 = empty */
        size_t seen_slots, n_seen;
        bool seen_full;
        uint64_t duplicates, duplicate_weight;
        uint64_t incomplete;            /* stacks that may miss frames (printk dropped messages) */
        struct stacks_kmsg *kmsg;       /* SLUB TRACE records, paired */
};

/* One population of stacks: those of one role, ranked on their own. */
struct stacks_population {
        enum stackdump_role role;
        struct stackagg *agg;
        struct stackagg_stats st;
        const struct stackagg_entry *const *v;
        size_t n;
};

struct stacks_report {
        struct stacks_population pops[STACKS_ROLES];
        size_t n_pops;
        struct stackagg_stats total;
        bool headings;                  /* name each population */
};

/* The name of the caller's file number @source. */
const char *stacks_source_name(const struct stacks_args *a, unsigned source);

/* Tree order for the options: innermost first with --from. */
enum stackagg_tree_order stacks_tree_order(const struct stacks_args *a);

/* One "[role];outer;...;inner COUNT" line, without its newline. */
void stacks_print_folded_entry(FILE *f, const struct stacks_report *rep, const struct stacks_population *pop,
                               const struct stackagg_entry *e);

/* True if @path (not stdin) starts with raw.trace's magic. */
bool stacks_is_raw_trace(const char *path);

/* `slabwatchctl stacks RAW.TRACE`: re-pair a capture's raw.trace and print
 * its stacks ranked by outstanding objects, the culprit named (stacks_paired.c).
 * Returns the exit code: 0, 1 (unreadable, not whole or malformed), 2, 4. */
int stacks_raw_main(const struct stacks_args *a, const char *path);

/* Caches whose SLUB TRACE records are paired, per run; more are counted. */
#define STACKS_PAIRED_CACHES_MAX 8

/* SLUB `TRACE <cache> alloc|free` records found in the input, paired by
 * pointer per cache alongside the aggregation (stacks_paired.c). */
struct stacks_kmsg;

/* -ENOMEM. */
int stacks_kmsg_new(struct stacks_kmsg **ret);
void stacks_kmsg_free(struct stacks_kmsg *k);
/* The same chunks the aggregation reads; lines may be split anywhere. */
void stacks_kmsg_feed(struct stacks_kmsg *k, const char *buf, size_t len);
/* Between files: an unfinished last line ends there. */
void stacks_kmsg_end_file(struct stacks_kmsg *k);
/* True once a TRACE record was seen. */
bool stacks_kmsg_any(const struct stacks_kmsg *k);
/* Each cache's stacks ranked by outstanding objects, the culprit named, as
 * text on @f, or with @json_into as its "paired" array. -ENOMEM. */
int stacks_kmsg_print(FILE *f, const struct stacks_args *a, struct stacks_kmsg *k, json_object *json_into);

/* The run as one JSON document on one line. 0 or -ENOMEM. */
int stacks_print_json(FILE *f, const struct stacks_args *a, const struct stacks_run *run,
                      const struct stacks_report *rep);
