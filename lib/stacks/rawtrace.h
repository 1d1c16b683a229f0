/* rawtrace — raw.trace, the ring-buffer pages a capture read, in a file
 * that decodes on its own: written by the capture (the writer half) and
 * re-paired offline by `slabwatchctl stacks raw.trace` (the replay half),
 * through the same tracerec and pairing code the capture used.
 *
 * Layout (integers little-endian, sections 8-byte aligned):
 *
 *   header   "SLWRAWTR" u32 version u32 header_bytes (32) u8 endianness of
 *            the pages (1 little, 2 big) u8[15] zero
 *   section  u32 type u32 zero u64 payload_bytes, the payload, zero padding
 *     FORMAT   "<name>\n" then the kernel's format text: header_page,
 *              kernel_stack, each traced kmem event
 *     PAGE     u32 cpu u32 zero, one sub-buffer page as trace_pipe_raw gave it,
 *              cut after its records (and the lost-events count after them)
 *     META     "key=value\n" lines: cache, kernel, stacks (allocs|all),
 *              kinds, frees_unfiltered, mono_clock, settle_ns, max_events,
 *              alloc_end_ns, end_ns
 *     SYMBOLS  "<hex address> <t|-> <frame>\n" for every stack address of
 *              the pages, resolved at the capture's end (t: tracing frame)
 *     END      u64 pages kept, u64 pages left out by the cap, u32 truncated
 *
 * FORMATs come first, then the PAGEs, then META, SYMBOLS and END, which is
 * last: a file without it was cut short and is refused. Pure: buffers in,
 * buffers out. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stacks/pairing.h"
#include "stacks/tracerec.h"

#define RAWTRACE_MAGIC "SLWRAWTR"
#define RAWTRACE_MAGIC_LEN 8
#define RAWTRACE_VERSION 1
#define RAWTRACE_HEADER_BYTES 32
/* Default for capture.raw_trace_max: pages kept per capture. */
#define RAWTRACE_MAX_DEFAULT (32ULL << 20)
/* Longest META text, and any of its values. */
#define RAWTRACE_META_MAX 4096
#define RAWTRACE_VALUE_MAX 512
/* Longest frame text in SYMBOLS (as pairing names them). */
#define RAWTRACE_FRAME_MAX PAIRING_NAME_MAX
/* Distinct stack addresses named; more stay hex. */
#define RAWTRACE_SYMBOLS_MAX (1u << 20)
/* Sections a file may hold (a 1 GiB file of 4 KiB pages has 262144). */
#define RAWTRACE_SECTIONS_MAX (1u << 22)
/* Largest file the reader takes. */
#define RAWTRACE_FILE_MAX (1ULL << 32)

/* What the capture says about itself at the end. */
struct rawtrace_meta {
        const char *cache;
        const char *kernel;             /* release, "" if unknown */
        bool stacks_allocs_only;        /* frees traced without stacks */
        bool frees_unfiltered;
        bool mono_clock;
        uint64_t settle_ns;
        uint64_t max_events;
        uint64_t alloc_end_ns;          /* 0: no drain phase */
        uint64_t end_ns;                /* what ages are measured against */
};

struct rawtrace_writer;

/* A writer keeping at most @max_bytes of pages (0: RAWTRACE_MAX_DEFAULT).
 * -ENOMEM. */
int rawtrace_writer_new(uint64_t max_bytes, struct rawtrace_writer **ret);

/* Free @w; NULL is a no-op. */
void rawtrace_writer_free(struct rawtrace_writer *w);

/* Add the format text of @name ("header_page", "kernel_stack",
 * "kmem_cache_alloc", ...), before the first page. -EINVAL (after a page,
 * a bad name), -E2BIG (longer than TRACEFMT_TEXT_MAX), -ENOMEM. */
int rawtrace_writer_format(struct rawtrace_writer *w, const char *name, const char *text, size_t len);

/* Keep one page of @cpu. 0; 1 when the cap left it out (the file says it
 * was truncated); -ENOMEM (left out too). */
int rawtrace_writer_page(struct rawtrace_writer *w, unsigned cpu, const uint8_t *page, size_t len);

/* Finish: META from @m, SYMBOLS for every stack address in the kept pages
 * (decoded with @l, named by @resolve as the pairing names frames: a
 * negative return leaves an address out, 1 marks a tracing frame), END.
 * Then the file is *ret_data (the caller frees it), *ret_len bytes, and
 * @w is empty. -EINVAL, -ENOMEM. */
int rawtrace_writer_finish(struct rawtrace_writer *w, const struct tracerec_layout *l, const struct rawtrace_meta *m,
                           pairing_resolve_fn resolve, void *userdata, uint8_t **ret_data, size_t *ret_len);

/* True if @data starts like a raw.trace file. */
bool rawtrace_is(const void *data, size_t len);

/* What a replay found, besides the pairing. */
struct rawtrace_info {
        char cache[RAWTRACE_VALUE_MAX];
        char kernel[RAWTRACE_VALUE_MAX];
        bool stacks_allocs_only;
        bool mono_clock;
        bool truncated;                 /* the cap left pages out */
        uint64_t pages;
        uint64_t pages_dropped;
        uint64_t symbols;
        struct tracerec_stats rec;
};

/* Decode raw.trace @data through tracerec and pair it, as the capture did.
 * *ret is the ranked result (frames named from SYMBOLS). -EBADMSG for a
 * file that is not whole or not well formed, -EPROTONOSUPPORT for another
 * version or byte order, -ENOMEM; @err (if not NULL) gets one line saying
 * what is wrong and where. */
int rawtrace_replay(const uint8_t *data, size_t len, struct rawtrace_info *info, struct pairing_result **ret,
                    char *err, size_t err_size);
