/* cacheid — what a slab cache name means: kmalloc size classes and their
 * variants, kernel releases, and the boot option that would give more. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A kernel version comparable with < and >=: CACHEID_KVER(6, 8) < CACHEID_KVER(6, 18). */
#define CACHEID_KVER(major, minor) ((uint32_t) (major) << 16 | (uint32_t) (minor))

/* The longest bucket prefix we recognise ("memdup_user"), plus room. */
#define CACHEID_BUCKET_MAX 32
/* Longest kmalloc-family name we build ("dma-kmalloc-rnd-15-8192" and the like). */
#define CACHEID_NAME_MAX 96
/* Longest advice sentence cacheid_boot_advice() writes, for callers sizing a buffer. */
#define CACHEID_ADVICE_MAX 1024

/* Kernel versions where the facts below change. */
#define CACHEID_KVER_SHORT_NAMES CACHEID_KVER(4, 20)   /* kmalloc-8192 → kmalloc-8k, kmalloc-rcl-* */
#define CACHEID_KVER_TRACE_RO CACHEID_KVER(5, 9)       /* sysfs trace & co. read-only */
#define CACHEID_KVER_DEBUGFS_TRACES CACHEID_KVER(5, 14) /* alloc_calls → debugfs alloc_traces */
#define CACHEID_KVER_SLAB_DEBUG CACHEID_KVER(6, 8)     /* slub_debug= renamed slab_debug= */

/* Which copy of a kmalloc size class a cache is. */
enum cacheid_variant {
        CACHEID_VARIANT_NORMAL,         /* kmalloc-8k, kmalloc-8192 */
        CACHEID_VARIANT_CG,             /* kmalloc-cg-8k (memcg accounted, 5.14+) */
        CACHEID_VARIANT_RCL,            /* kmalloc-rcl-8k (reclaimable, 4.20+) */
        CACHEID_VARIANT_RND,            /* kmalloc-rnd-03-8k (random copies, 6.6+) */
        CACHEID_VARIANT_DMA,            /* dma-kmalloc-8k, old kmalloc_dma-8192 */
        CACHEID_VARIANT_BUCKET,         /* msg_msg-8k, memdup_user-8k (6.11+) */
};

/* A kmalloc-family cache name taken apart. */
struct cacheid_kmalloc {
        uint32_t size;                  /* object size of the class in bytes */
        enum cacheid_variant variant;
        unsigned rnd_index;             /* CACHEID_VARIANT_RND: the NN of -rnd-NN- */
        char bucket[CACHEID_BUCKET_MAX]; /* CACHEID_VARIANT_BUCKET: "msg_msg" */
};

/* Parse a kernel release ("6.18.44-fc-v669", "3.18.21") into CACHEID_KVER
 * form. -EINVAL if it does not start with major.minor. */
int cacheid_parse_release(const char *release, uint32_t *ret_kver);

/* Take a kmalloc-family cache name apart. 0 if @name is one (any variant,
 * old or new size spelling), -EINVAL if it is not (dentry, biovec-16,
 * kmalloc_buckets). */
int cacheid_kmalloc_parse(const char *name, struct cacheid_kmalloc *ret);

/* True if @a and @b are both kmalloc-family names of the same size class
 * (kmalloc-8192 and msg_msg-8k are; kmalloc-8k and kmalloc-4k are not). */
bool cacheid_same_class(const char *a, const char *b);

/* Spell a size the way kernel @kver names kmalloc caches ("8k" from 4.20,
 * "8192" before). Returns @buf. */
const char *cacheid_format_size(uint32_t size, uint32_t kver, char *buf, size_t buf_size);

/* Rebuild @k's cache name as kernel @kver spells it (kmalloc-8192 becomes
 * kmalloc-8k on 4.20+). -ENOBUFS if @buf_size is too small, -EINVAL for a
 * variant that kernel does not have a name for. */
int cacheid_kmalloc_name(const struct cacheid_kmalloc *k, uint32_t kver, char *buf, size_t buf_size);

/* The kernel command line option that sets slab debug flags on kernel
 * @kver: "slab_debug" from 6.8, "slub_debug" before. */
const char *cacheid_debug_option(uint32_t kver);

/* Advice on how to get call sites (SLAB_STORE_USER) for the caches @names
 * (all names of one merge group, or one kmalloc class) on kernel @kver:
 * "boot with `slab_debug=U,kmalloc-8k` to get call sites for this cache
 * (debugfs slab/<cache>/alloc_traces)". kmalloc names are respelled for
 * @kver. Returns the length written, -EINVAL for no names, -ENOBUFS if
 * @buf_size is too small. */
int cacheid_boot_advice(const char *const *names, size_t n_names, uint32_t kver, char *buf, size_t buf_size);
