/* kmsgtrace — SLUB `trace` records read from the kernel log.
 *
 * On kernels before 5.9, writing 1 to /sys/kernel/slab/<cache>/trace makes
 * SLUB log every alloc and free of that cache:
 *
 *     TRACE kmalloc-8192 alloc 0x8f4b2000 inuse=3 fp=0x  (null)
 *     CPU: 3 PID: 0 Comm: swapper/3 Tainted: P O 3.18.21 #9
 *     Stack : 00000000 00000004 ...
 *     Call Trace:
 *     [<80015ad4>] show_stack+0x88/0xa4
 *     [<80948ee8>] dump_stack+0x6c/0x8c
 *     [<8079f940>] __alloc_skb+0x1e8/0x238
 *
 * (a free also dumps the object in hex first). Each line is one /dev/kmsg
 * record ("<prio>,<seq>,<usec>,<flags>;text"), possibly with other
 * subsystems' lines in between. This parser takes that text in chunks of
 * any size, keeps the records of one cache, takes the stack after each,
 * and hands them to a pairing. Lines without the kmsg prefix (console or
 * dmesg text, with or without "[  12.345678] ") are accepted too. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stacks/pairing.h"

/* /dev/kmsg records are at most 8 KiB (CONSOLE_EXT_LOG_MAX, with the
 * prefix); a longer line is counted as malformed and skipped. */
#define KMSGTRACE_LINE_MAX 8192
/* A cache name in a TRACE line. */
#define KMSGTRACE_CACHE_MAX 128

struct kmsgtrace_options {
        const char *cache_name;         /* as the TRACE lines print it */
        uint64_t object_size;           /* bytes per object, for bytes outstanding; 0 = unknown */
};

struct kmsgtrace_stats {
        uint64_t lines;
        uint64_t records;               /* TRACE records of our cache */
        uint64_t other_cache;           /* TRACE records of other caches, skipped */
        uint64_t foreign_lines;         /* neither a record nor its dump: skipped */
        uint64_t malformed;             /* bad TRACE lines, over-long or binary lines */
        uint64_t stackless;             /* records whose stack never came */
        uint64_t seq_gaps;              /* kmsg records missing from the sequence */
        uint64_t events;                /* handed to the pairing */
        uint64_t refused;               /* refused by the pairing (memory bound) */
};

struct kmsgtrace;

/* A parser feeding @p (which must outlive it). -EINVAL for no or an
 * over-long cache name, -ENOMEM. */
int kmsgtrace_new(const struct kmsgtrace_options *o, struct pairing *p, struct kmsgtrace **ret);

/* Free @k; NULL is a no-op. */
void kmsgtrace_free(struct kmsgtrace *k);

/* Feed the next @len bytes of log text; lines may be split anywhere across
 * calls. Bad lines are counted and skipped, never fatal. Returns 0, or
 * -ENOBUFS once the pairing's memory bound refuses events (the stream is
 * still consumed and counted). */
int kmsgtrace_feed(struct kmsgtrace *k, const char *buf, size_t len);

/* End of input: parse a last unterminated line and hand over the record
 * still open. Same returns as kmsgtrace_feed(). */
int kmsgtrace_finish(struct kmsgtrace *k);

/* Counters so far. */
void kmsgtrace_get_stats(const struct kmsgtrace *k, struct kmsgtrace_stats *ret);
