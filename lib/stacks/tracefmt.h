/* tracefmt — the tracefs `format` files of trace events and the ring
 * buffer's `header_page`, parsed from text: where each field of a raw
 * record lies, and how a sub-buffer page is laid out. What the kernel
 * describes, we read, rather than assume a struct layout. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Fields kept per event (kmem events have ~12, kernel_stack 6, a kprobe
 * event up to its 128 arguments and 5 more). */
#define TRACEFMT_FIELDS_MAX 160
/* Longest event or field name kept. */
#define TRACEFMT_NAME_MAX 64
/* A format file larger than this is refused (real ones are a few KB). */
#define TRACEFMT_TEXT_MAX (1u << 20)

struct tracefmt_field {
        char name[TRACEFMT_NAME_MAX];   /* "ptr", "caller" (an array's name without "[8]") */
        uint32_t offset;                /* into the record's data */
        uint32_t size;                  /* bytes */
        bool is_signed;
        bool data_loc;                  /* __data_loc: a u32 of (length << 16 | offset) */
};

struct tracefmt_event {
        char name[TRACEFMT_NAME_MAX];
        uint32_t id;                    /* the record's common_type */
        struct tracefmt_field fields[TRACEFMT_FIELDS_MAX];
        size_t n_fields;
};

/* How one ring-buffer sub-buffer (one page of trace_pipe_raw) is laid out. */
struct tracefmt_page {
        uint32_t data_offset;           /* where the records start: 8 + the commit word */
        uint32_t commit_size;           /* the commit word: the kernel's long, 4 or 8 */
        uint32_t page_size;             /* data_offset + the data field's size */
};

/* Parse an event's `format` file (@buf, @len). 0; -EBADMSG without "name:",
 * "ID:" or a field line, or with a field that does not fit a record
 * (offset + size > 64 KiB); -E2BIG over TRACEFMT_TEXT_MAX or
 * TRACEFMT_FIELDS_MAX. Unknown lines (print fmt) are ignored. */
int tracefmt_parse(const char *buf, size_t len, struct tracefmt_event *ret);

/* The field @name of @e, or NULL. */
const struct tracefmt_field *tracefmt_field(const struct tracefmt_event *e, const char *name);

/* Parse `events/header_page`. 0; -EBADMSG without a commit and a data
 * field, or with a commit word other than 4 or 8 bytes. */
int tracefmt_parse_header_page(const char *buf, size_t len, struct tracefmt_page *ret);
