/* slabinfo — parse /proc/slabinfo (versions 2.0 and 2.1, SLUB and SLAB; 1.1 of 2.4 kernels). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest cache name we keep; the kernel allows longer ones in theory, real
 * names top out near 40 (nf_conntrack_<hex pointer>). Longer ones are a bad line. */
#define SLABINFO_NAME_MAX 96
/* At most this many malformed lines are remembered for the caller to report. */
#define SLABINFO_BAD_LINES_MAX 8
/* A line longer than this is malformed (real lines are ~130 bytes, with
 * SLAB statistics ~300). */
#define SLABINFO_LINE_MAX 1024
/* More caches than this in one file is treated as garbage. */
#define SLABINFO_CACHES_MAX 16384
/* Parse arrays and the copy of the previous text are shrunk back to twice
 * what the last file needed once they are four times larger, never below
 * these: a file that once listed 16,384 caches does not keep ~4 MiB. */
#define SLABINFO_KEEP_MIN 256
#define SLABINFO_KEEP_TEXT_MIN ((size_t) 64 << 10)

struct slabinfo_cache {
        char name[SLABINFO_NAME_MAX];
        uint64_t active_objs;
        uint64_t num_objs;
        uint32_t objsize;       /* bytes */
        uint32_t objperslab;
        uint32_t pagesperslab;
        /* Tunables: real values from the old SLAB allocator, 0 from SLUB. */
        uint32_t limit;
        uint32_t batchcount;
        uint32_t sharedfactor;
        uint64_t active_slabs;
        uint64_t num_slabs;
        uint64_t sharedavail;
};

struct slabinfo_bad_line {
        unsigned line;  /* 1-based line number in the file */
        int error;      /* negative errno: -EINVAL malformed, -E2BIG too long, -ERANGE number */
};

struct slabinfo {
        unsigned version_major;
        unsigned version_minor;
        bool statistics;        /* "(statistics)" header: SLAB with CONFIG_DEBUG_SLAB */
        struct slabinfo_cache *caches;
        size_t n_caches;
        size_t caches_allocated;
        size_t n_bad_lines;     /* all of them, even past SLABINFO_BAD_LINES_MAX */
        struct slabinfo_bad_line bad_lines[SLABINFO_BAD_LINES_MAX];

        /* Private: the previous text and where each cache's line stood in it.
         * Most lines do not change between samples; an identical line keeps
         * its parsed cache, which makes the sampling parse a memcmp. */
        char *prev_text;
        size_t prev_len;
        size_t prev_allocated;
        struct slabinfo_span {
                uint32_t off;
                uint32_t len;
        } *prev_lines;
        unsigned prev_layout[3];
};

/* Parse @len bytes of /proc/slabinfo text into @ret, reusing its cache
 * array and its previous result (call slabinfo_done() to free them). Malformed cache lines are counted
 * in ret->bad_lines and skipped; the rest still counts. Returns 0, -EINVAL if
 * the header is missing or unknown (then ret->bad_lines[0] names the line),
 * -ENOMEM. */
int slabinfo_parse(const char *buf, size_t len, struct slabinfo *ret);

/* Free what slabinfo_parse() allocated; @s may be zeroed or NULL. */
void slabinfo_done(struct slabinfo *s);

/* Memory held by a cache: num_slabs × pagesperslab × @page_size. */
uint64_t slabinfo_cache_bytes(const struct slabinfo_cache *c, uint32_t page_size);

/* Find a cache by exact name; NULL if absent. Linear: for tests and tools. */
const struct slabinfo_cache *slabinfo_find(const struct slabinfo *s, const char *name);
