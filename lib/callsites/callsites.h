/* callsites — parse SLUB call-site files and diff two snapshots of them.
 *
 * Formats (SLAB_STORE_USER, boot option slub_debug=U,<cache>):
 *   sysfs /sys/kernel/slab/<cache>/alloc_calls, free_calls (≤ 5.13), and
 *   debugfs slab/<cache>/alloc_traces, free_traces (5.14+), one entry per
 *   call site:
 *     "   3103 __alloc_skb+0x98/0x238 age=430/366961/410069 pid=0-1467 cpus=1,3"
 *   with, since 5.19, the entry's stack below it (indented) and a blank line,
 *   and since 6.1 " waste=<total>/<per object>" for kmalloc caches. Objects
 *   never freed show as "<not-available>" in free_calls. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stacks/stackdump.h"

/* A longer line is malformed (real ones are ~120 bytes, plus the cpus list
 * on very large machines). */
#define CALLSITES_LINE_MAX 4096
/* More entries than this in one file are not kept (and flagged). */
#define CALLSITES_SITES_MAX 65536
/* Frames kept per entry; the kernel stores at most 16 (TRACK_ADDRS_COUNT)
 * or a stack depot entry. */
#define CALLSITES_FRAMES_MAX STACKDUMP_FRAMES_MAX
/* Malformed lines remembered for the caller to report. */
#define CALLSITES_BAD_LINES_MAX 8

struct callsites_frame {
        const char *function;
        const char *module;     /* "" for the kernel image */
        uint64_t offset;
        uint64_t size;
        bool has_offset;
};

struct callsites_site {
        uint64_t count;                 /* objects allocated (freed) here */
        const char *function;           /* "__alloc_skb", or "<not-available>" */
        const char *module;             /* "" for the kernel image */
        uint64_t offset;                /* +0x98/0x238, when has_offset */
        uint64_t size;
        bool has_offset;
        bool has_age;                   /* ages in jiffies; one value means min = avg = max */
        uint64_t age_min, age_avg, age_max;
        bool has_pid;
        uint64_t pid_min, pid_max;
        const char *cpus;               /* CPU list as printed ("0-1,3"), "" if absent */
        const char *nodes;              /* NUMA node list as printed, "" if absent */
        bool has_waste;                 /* 6.1+ kmalloc caches */
        uint64_t waste_total;           /* bytes */
        uint64_t waste_per_object;      /* bytes */
        const struct callsites_frame *frames;   /* innermost first; 5.19+ only */
        size_t n_frames;
        size_t n_frames_dropped;        /* past CALLSITES_FRAMES_MAX */
        unsigned line;                  /* 1-based line of the entry */
};

struct callsites_bad_line {
        unsigned line;  /* 1-based */
        int error;      /* -EINVAL malformed, -E2BIG too long, -ERANGE number out of range */
};

struct callsites_chunk;

struct callsites {
        struct callsites_site *sites;   /* in file order (the kernel sorts by count) */
        size_t n_sites;
        size_t sites_allocated;
        bool has_stacks;                /* at least one entry carried a stack */
        bool truncated;                 /* entries past CALLSITES_SITES_MAX were not kept */
        size_t n_bad_lines;             /* all of them, even past CALLSITES_BAD_LINES_MAX */
        struct callsites_bad_line bad_lines[CALLSITES_BAD_LINES_MAX];
        struct callsites_chunk *chunks; /* storage of the strings and frames */
};

/* One site's change between two snapshots. Sites are the same when their
 * function, module and offset match and, where both have one, their stack. */
struct callsites_delta {
        const struct callsites_site *old_site;  /* NULL: only in the new snapshot */
        const struct callsites_site *new_site;  /* NULL: gone from the new snapshot */
        uint64_t old_count;                     /* 0 when absent */
        uint64_t new_count;
        int64_t delta;                          /* new_count - old_count */
};

struct callsites_diff {
        struct callsites_delta *deltas;         /* ranked: growth first */
        size_t n;
};

/* Parse @len bytes of any of the formats above into @ret (which must be
 * zeroed or previously used with callsites_done()). Malformed lines are
 * counted in ret->bad_lines and skipped. Returns 0 (an empty file is 0
 * sites), -EINVAL if there were lines but not one entry parsed (ret then
 * holds the bad lines), -ENOMEM. */
int callsites_parse(const char *buf, size_t len, struct callsites *ret);

/* Free what callsites_parse() allocated; @c may be zeroed or NULL. */
void callsites_done(struct callsites *c);

/* Sum of the counts of all sites. */
uint64_t callsites_total(const struct callsites *c);

/* "__alloc_skb+0x98/0x238 [mod]" into @buf (truncated to fit); returns @buf. */
const char *callsites_format_site(const struct callsites_site *s, char *buf, size_t size);

/* Match the sites of @old and @new and rank them by growth (delta
 * descending, then new count, then order in @new). Sites listed twice in one
 * file are summed. The deltas point into @old and @new, which must outlive
 * @ret; @ret must be zeroed or from an earlier call. 0 or -ENOMEM. */
int callsites_diff(const struct callsites *old, const struct callsites *new, struct callsites_diff *ret);

/* Free a diff; @d may be zeroed or NULL. */
void callsites_diff_done(struct callsites_diff *d);
