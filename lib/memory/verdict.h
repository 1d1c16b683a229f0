/* verdict — stage 1 of a leak hunt: is the memory going to slab caches, to
 * kernel memory no cache accounts for, to vmalloc, or to user space?
 *
 * Input: growth fitted over a window for a few meminfo keys and for the sum
 * of the unreclaimable caches' slab memory, plus the caches that grow. Output:
 * flags (more than one can hold) and one line a person reads at a glance,
 * e.g. "slab: kmalloc-256 +2.9 MiB/h (SUnreclaim +3.1 MiB/h)". */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum verdict_flag {
        VERDICT_SLAB = 1u << 0,         /* slab caches grow (named) */
        VERDICT_UNACCOUNTED = 1u << 1,  /* SUnreclaim grows beyond the caches: large kmallocs, pages */
        VERDICT_VMALLOC = 1u << 2,      /* VmallocUsed grows */
        VERDICT_USER = 1u << 3,         /* AnonPages / Shmem grow */
};

#define VERDICT_NONE 0u
/* Caches named in a verdict. */
#define VERDICT_CACHES_MAX 3
#define VERDICT_NAME_MAX 96
#define VERDICT_TEXT_MAX 512

/* Growth of one quantity over the window, in bytes. */
struct verdict_growth {
        bool known;             /* false: not in the input, or too few samples */
        double bytes_per_hour;
        double trend;           /* Kendall tau-b */
};

struct verdict_cache {
        const char *name;
        double bytes_per_hour;
        bool tripped;           /* the detector tripped it: named first */
};

struct verdict_input {
        struct verdict_growth sunreclaim;
        struct verdict_growth slab_unreclaimable;       /* sum over unreclaimable caches */
        struct verdict_growth vmalloc_used;
        struct verdict_growth anon_pages;
        struct verdict_growth shmem;
        bool have_slabinfo;     /* false: only meminfo is known */
        const struct verdict_cache *caches;     /* growing caches, any order */
        size_t n_caches;
};

struct verdict_params {
        double min_bytes_per_hour;      /* a kind of memory must grow this fast... */
        double min_trend;               /* ...and this steadily */
        double unaccounted_share;       /* share of SUnreclaim growth the caches leave unexplained */
};

struct verdict {
        unsigned flags;
        char text[VERDICT_TEXT_MAX];
        char caches[VERDICT_CACHES_MAX][VERDICT_NAME_MAX];
        size_t n_caches;
};

/* The compiled-in verdict parameters (1 MiB/h, tau 0.6, half). */
void verdict_params_default(struct verdict_params *ret);

/* Judge @in with @p into @ret (flags, named caches, text). */
void verdict_compute(const struct verdict_params *p, const struct verdict_input *in, struct verdict *ret);

/* "none", or the flags joined by '+': "slab+vmalloc". Returns @buf. */
const char *verdict_flags_string(unsigned flags, char *buf, size_t size);

/* Render @bytes_per_hour as "+2.9 MiB/h" into @buf. Returns @buf. */
const char *verdict_format_rate(double bytes_per_hour, char *buf, size_t size);
