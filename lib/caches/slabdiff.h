/* slabdiff — compare two snapshots of /proc/slabinfo (and /proc/meminfo):
 * which caches grew, by how many objects and bytes, which appeared or
 * vanished, and whether the caches account for meminfo's Slab. This is the
 * "diff /proc/slabinfo by eye" step of a leak hunt, done for every cache. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "memory/meminfo.h"
#include "caches/slabinfo.h"

/* Page sizes slabdiff_guess_page_size() may answer. */
#define SLABDIFF_PAGE_SIZE_MIN 4096u
#define SLABDIFF_PAGE_SIZE_MAX 262144u
/* Growth of SUnreclaim not explained by the caches that makes the
 * large-kmalloc hint worth giving: this much, and this share of it. */
#define SLABDIFF_UNACCOUNTED_MIN_KIB 1024u
#define SLABDIFF_UNACCOUNTED_MIN_SHARE 0.25

/* One text file's snapshot: /proc/slabinfo, /proc/meminfo, or both
 * (`cat /proc/meminfo /proc/slabinfo`), recognised by content. */
struct slabdiff_snapshot {
        bool has_slabinfo;
        bool has_meminfo;
        struct slabinfo slabinfo;
        struct meminfo meminfo;
        bool slabinfo_headerless;       /* cache lines without the "slabinfo - version" header (a grep) */
        unsigned long slabinfo_line;    /* where each section starts, 1-based; 0 when headerless */
        unsigned long meminfo_line;
};

struct slabdiff_cache {
        const char *name;
        const struct slabinfo_cache *old;       /* NULL: appeared */
        const struct slabinfo_cache *new;       /* NULL: vanished */
        uint64_t old_bytes;                     /* slab memory: num_slabs × pagesperslab × page size */
        uint64_t new_bytes;
        int64_t delta_bytes;
        int64_t delta_active_objs;
        int64_t delta_active_bytes;             /* active_objs × objsize */
};

struct slabdiff {
        struct slabdiff_cache *caches;  /* ranked: growth in bytes, then in active bytes and objects */
        size_t n_caches;
        size_t n_grown;                 /* any of the three deltas positive, present in both */
        size_t n_shrunk;
        size_t n_unchanged;
        size_t n_appeared;
        size_t n_vanished;
        uint32_t page_size;
        uint64_t old_bytes, new_bytes;                  /* totals over all caches */
        uint64_t old_active_bytes, new_active_bytes;
        uint64_t old_active_objs, new_active_objs;
};

/* Slab memory as meminfo and slabinfo see it, in KiB. */
struct slabdiff_accounting {
        bool have_sunreclaim;
        uint64_t old_slab_kib, new_slab_kib;            /* meminfo Slab */
        uint64_t old_sunreclaim_kib, new_sunreclaim_kib;
        uint64_t old_caches_kib, new_caches_kib;        /* sum over slabinfo */
        int64_t old_unaccounted_kib, new_unaccounted_kib; /* Slab minus the caches */
        bool large_kmalloc_hint;        /* SUnreclaim grew well beyond what the caches did */
};

/* Recognise and parse @buf: its first slabinfo table and first meminfo
 * block; cache lines without a header (`grep kmalloc /proc/slabinfo`) are
 * read as slabinfo 2.1. Returns 0 when at least one was found (fields say which; a
 * section's malformed lines are in its struct), -EINVAL when neither was
 * (not a snapshot), -ENOMEM. @ret must be zeroed or from an earlier call. */
int slabdiff_snapshot_parse(const char *buf, size_t len, struct slabdiff_snapshot *ret);

/* Why two snapshots look like different machines or kernels rather than
 * one machine at two times. */
struct slabdiff_mismatch {
        bool mem_total;                 /* MemTotal differs */
        uint64_t old_mem_total_kib, new_mem_total_kib;
        bool version;                   /* slabinfo versions differ */
        bool caches;                    /* fewer than half of the caches are in both */
        size_t shared_caches, all_caches;
};

/* Compare what should not change on one machine between two snapshots:
 * MemTotal (when both meminfo are given), the slabinfo version and the set
 * of caches (when @d is given). Returns how many of these differ. */
int slabdiff_mismatch(const struct slabdiff_snapshot *old, const struct slabdiff_snapshot *new,
                      const struct meminfo *old_mi, const struct meminfo *new_mi, const struct slabdiff *d,
                      struct slabdiff_mismatch *ret);

/* Free what slabdiff_snapshot_parse() allocated; zeroed or NULL is fine. */
void slabdiff_snapshot_done(struct slabdiff_snapshot *s);

/* The page size the slab geometry implies (objsize × objperslab fits in
 * pagesperslab pages), rounded up to a power of two within
 * SLABDIFF_PAGE_SIZE_MIN..MAX; 0 when no cache tells. */
uint32_t slabdiff_guess_page_size(const struct slabinfo *s);

/* Compare @old and @new with @page_size (> 0) bytes per page. The result
 * points into both, which must outlive it. @ret must be zeroed or from an
 * earlier call. 0, -EINVAL, -ENOMEM. */
int slabdiff_compute(const struct slabinfo *old, const struct slabinfo *new, uint32_t page_size, struct slabdiff *ret);

/* Free a diff; zeroed or NULL is fine. */
void slabdiff_done(struct slabdiff *d);

/* Compare the caches' total with meminfo's Slab in both snapshots. -ENODATA
 * if either meminfo lacks Slab. */
int slabdiff_accounting(const struct slabdiff *d, const struct meminfo *old, const struct meminfo *new,
                        struct slabdiff_accounting *ret);
