/* meminfo — parse /proc/meminfo. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The keys the verdict and the client use by name. */
enum meminfo_key {
        MEMINFO_MEM_TOTAL,
        MEMINFO_MEM_FREE,
        MEMINFO_MEM_AVAILABLE,
        MEMINFO_BUFFERS,
        MEMINFO_CACHED,
        MEMINFO_ANON_PAGES,
        MEMINFO_SHMEM,
        MEMINFO_SLAB,
        MEMINFO_SRECLAIMABLE,
        MEMINFO_SUNRECLAIM,
        MEMINFO_KERNEL_STACK,
        MEMINFO_PAGE_TABLES,
        MEMINFO_VMALLOC_USED,
        MEMINFO_PERCPU,
        MEMINFO_HUGEPAGES_TOTAL,
        MEMINFO_HUGEPAGESIZE,
        _MEMINFO_KEY_MAX,
};

#define MEMINFO_KEY_NAME_MAX 32
/* Real files have ~60 lines; more than this is garbage. */
#define MEMINFO_ENTRIES_MAX 256
#define MEMINFO_LINE_MAX 256

struct meminfo_entry {
        char key[MEMINFO_KEY_NAME_MAX];
        uint64_t value;         /* as printed: kB where kib is set, a count otherwise */
        bool kib;
};

struct meminfo {
        uint64_t value[_MEMINFO_KEY_MAX];       /* kB (counts for HugePages_*) */
        uint32_t known;                         /* bit (1 << key) set when present */
        struct meminfo_entry entries[MEMINFO_ENTRIES_MAX];
        size_t n_entries;
        size_t n_bad_lines;
        unsigned first_bad_line;                /* 1-based, 0 when none */
};

/* Parse @len bytes of /proc/meminfo text into @ret. Malformed lines are
 * counted and skipped. Keys that do not appear are unknown (their bit in
 * ret->known is clear), never zero. Returns 0, or -EINVAL if not a single
 * line parsed. */
int meminfo_parse(const char *buf, size_t len, struct meminfo *ret);

/* Value of @key in kB (or count); false when the file did not have it. */
bool meminfo_get(const struct meminfo *m, enum meminfo_key key, uint64_t *ret_value);

/* The key as printed in /proc/meminfo, e.g. "SUnreclaim". */
const char *meminfo_key_name(enum meminfo_key key);

/* Reverse of meminfo_key_name(); -EINVAL when unknown. */
int meminfo_key_from_name(const char *name);
