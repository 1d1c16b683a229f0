/* ringbuf — decode one sub-buffer page of the kernel's ftrace ring buffer
 * (what a read of per_cpu/cpuN/trace_pipe_raw returns) into its records:
 * each data record's absolute timestamp, payload and length. Time extends,
 * absolute time stamps and padding are followed; nothing is trusted: a
 * commit or a record length that overruns the page ends the page with
 * -EBADMSG after the records that were whole. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stacks/tracefmt.h"

/* Ring-buffer record types above the data lengths (kernel ring_buffer.h). */
#define RINGBUF_TYPE_PADDING 29
#define RINGBUF_TYPE_TIME_EXTEND 30
#define RINGBUF_TYPE_TIME_STAMP 31

struct ringbuf_record {
        uint64_t ts;                    /* trace clock, ns for mono/global */
        const uint8_t *data;            /* the event's fields, common_type first */
        size_t len;                     /* bytes of @data (a multiple of 4) */
};

struct ringbuf_page {
        uint64_t ts;                    /* the page's base timestamp */
        size_t commit;                  /* bytes of records */
        bool missed_events;             /* the kernel dropped events before this page */
        bool lost_known;                /* ... and stored how many */
        uint64_t lost;
        uint64_t records;               /* data records delivered */
};

/* Called for every data record in order; a negative return stops the page
 * and is returned. */
typedef int (*ringbuf_record_fn)(const struct ringbuf_record *r, void *userdata);

/* Whether the header of page @page says the kernel dropped events before
 * it (false for a page too short to have a header). */
bool ringbuf_page_missed_events(const struct tracefmt_page *layout, const uint8_t *page, size_t len);

/* Decode the page @page of @len bytes laid out as @layout says (its
 * header_page). @ret (may be NULL) gets the page's header and counts, also
 * on -EBADMSG. 0, -EBADMSG (a short page, a commit past its end, a record
 * that overruns it), -EINVAL, or a callback's negative value. */
int ringbuf_page_decode(const struct tracefmt_page *layout, const uint8_t *page, size_t len, ringbuf_record_fn fn,
                        void *userdata, struct ringbuf_page *ret);
