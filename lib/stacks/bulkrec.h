/* bulkrec — the records of the kprobe events that see bulk frees. Batched
 * frees (kfree_bulk(), the batches kfree_rcu() hands back, and
 * kmem_cache_free_bulk() itself) fire no kmem:kfree or kmem_cache_free per
 * object. A kprobe on kmem_cache_free_bulk(s, size, p) with fetch-args
 * over the array p[] gives the individual pointers: an event takes at most
 * 128 arguments, so the array is covered by BULKREC_PTRS_PER_EVENT-pointer
 * slices, one event per slice, each recording s, size and its slice. This
 * module writes the events' definitions and decodes their records; no
 * I/O (capture/bulkfree makes and removes the events). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stacks/tracefmt.h"

/* The function every bulk free path of SLUB reaches with the array. */
#define BULKREC_FUNCTION "kmem_cache_free_bulk"
/* A kprobe event's arguments (the kernel's MAX_TRACE_ARGS) less s and size. */
#define BULKREC_PTRS_PER_EVENT 126
/* Slices: 9 cover the 1022 pointers of a 32-bit kernel's kfree_rcu page. */
#define BULKREC_EVENTS_MAX 9
/* The kprobe group of our events. */
#define BULKREC_GROUP "slabwatch"
/* A definition: 126 arguments of ~22 bytes each. */
#define BULKREC_DEFINITION_MAX 4096
/* Event names (the kernel's MAX_EVENT_NAME_LEN is 64). */
#define BULKREC_EVENT_NAME_MAX 63

/* Where the function's first three arguments are, as fetch-args name them:
 * "%di", "%si", "%dx" on x86_64. */
struct bulkrec_regs {
        const char *cache;
        const char *size;
        const char *array;
};

/* The definition of slice @index (kprobe_events syntax) of event @event in
 * BULKREC_GROUP, pointers of @long_size (4 or 8) bytes: "p:slabwatch/NAME
 * kmem_cache_free_bulk s=%di:x64 n=%si:u64 p0=+1008(%dx):x64 ...".
 * -EINVAL (bad index, long size, name not [A-Za-z0-9_]), -ENAMETOOLONG. */
int bulkrec_definition(char *buf, size_t size, const char *event, unsigned index, const struct bulkrec_regs *regs,
                       unsigned long_size);

/* Slices needed for @batch pointers (at least 1, at most BULKREC_EVENTS_MAX). */
unsigned bulkrec_slices_for(uint64_t batch);

struct bulkrec_slice {
        uint32_t id;                    /* the record's common_type */
        uint32_t ip_off, ip_len;        /* __probe_ip: the function's address; len 0 = none */
        uint32_t size_off, size_len;    /* n */
        uint32_t ptr_off[BULKREC_PTRS_PER_EVENT];
        uint32_t ptr_len;               /* 4 or 8, all of them */
};

/* Which records are slices, from the formats of this kernel. */
struct bulkrec_layout {
        unsigned n_slices;              /* 0: bulk frees are not traced */
        struct bulkrec_slice slices[BULKREC_EVENTS_MAX];
};

/* Add slice @index (they are added in order from 0) from its @format.
 * -EINVAL (out of order), -EOPNOTSUPP (a field n, p0.. missing or not 4
 * or 8 bytes). */
int bulkrec_layout_add(struct bulkrec_layout *l, unsigned index, const struct tracefmt_event *format);

/* The probed function's address in a record of @slice (its __probe_ip), 0 if none. */
uint64_t bulkrec_ip(const struct bulkrec_layout *l, unsigned slice, const uint8_t *data, size_t len);

/* The slice a record of @type is, or -1. */
int bulkrec_slice_of(const struct bulkrec_layout *l, uint32_t type);

/* The freed pointers of a record of slice @slice (@data, @len): at most
 * BULKREC_PTRS_PER_EVENT into @ptrs, the ones of the array the call freed
 * (entries past its size are stale). @ret_uncovered gets, for slice 0
 * only, how many of the call's pointers lie past the last slice (exact:
 * they stay uncounted, and are said so). The count of pointers, or
 * -EBADMSG for a record shorter than its format. */
int bulkrec_decode(const struct bulkrec_layout *l, unsigned slice, const uint8_t *data, size_t len, uint64_t *ptrs,
                   uint64_t *ret_uncovered);
