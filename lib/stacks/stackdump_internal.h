/* stackdump_internal — what the files of the stack dump parser share: the
 * parser's state and the small text helpers. Not for other modules. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "stacks/stackdump.h"

/* Last tracefs event remembered per CPU slot, to name the stack after it. */
#define SD_EVENT_SLOTS 64
/* "N times:" of page_owner_sort applies to a "Page allocated via" this many lines later. */
#define SD_TIMES_LINES_MAX 2

enum sd_state {
        SD_STATE_IDLE,
        SD_STATE_DMESG,         /* "Call Trace:" and frames, ARM "(f) from (g)" lines */
        SD_STATE_TRACEFS,       /* " => func" */
        SD_STATE_ALLOC,         /* alloc_traces entry */
        SD_STATE_LIST,          /* the indented frames of a report: kmemleak, SLUB track, KASAN, page_owner */
};

struct sd_pending {
        bool active;
        uint64_t line;          /* first line of the dump */
        uint64_t last_line;     /* last line that added to it, for expiry */
        struct stackdump_context ctx;
};

/* A report's header lines (kmemleak object, SLUB "BUG cache", KASAN "BUG:")
 * that its stacks below inherit. */
struct sd_report {
        bool active;
        enum stackdump_format format;
        uint64_t line;
        uint64_t last_line;
        struct stackdump_context ctx;
};

struct sd_event_slot {
        bool valid;
        uint64_t line;
        uint32_t cpu;
        uint32_t pid;
        char event[STACKDUMP_EVENT_MAX];
        char cache[STACKDUMP_CACHE_MAX];
        uint64_t ptr;
        bool has_cache;
        bool has_ptr;
};

/* A line inside a stack that was not understood, kept until the next line
 * tells whether the stack goes on. */
struct sd_held {
        uint64_t line_no;
        uint64_t ts;
        bool has_ts;
        size_t len;
        char text[STACKDUMP_LINE_MAX + 1];
};

struct stackdump_parser {
        stackdump_stack_fn on_stack;
        stackdump_error_fn on_error;
        void *userdata;

        uint64_t line_no;
        uint64_t n_errors;
        uint64_t n_stacks;
        int stopped;            /* a callback's negative return, sticky */
        bool finished;

        /* A line split across feeds is collected here (plus a '\r'). */
        char line[STACKDUMP_LINE_MAX + 1];
        size_t line_len;
        bool line_overlong;

        enum sd_state state;
        struct stackdump_stack cur;
        struct stackdump_frame frames[STACKDUMP_FRAMES_MAX];
        /* Strings of the current stack's frames: each frame's text fits in
         * its line, so (frames + entry line) × line length never overflows. */
        char *strings;
        size_t strings_len;
        /* alloc_traces entry line, SLUB "Allocated in" line: its call site
         * stands in for a missing stack. */
        struct stackdump_frame entry_frame;
        bool have_entry_frame;
        /* ARM: the caller named by the last "(f) from (g)" line, which the
         * next line names again as its own function. */
        bool arm_chain;

        struct sd_held held[STACKDUMP_SKIP_MAX];
        size_t n_held;
        bool replaying;

        struct sd_pending pending;
        struct sd_report report;
        uint64_t times;                 /* page_owner_sort "N times" ... */
        uint64_t times_line;            /* ... on this line (0 = none) */
        struct sd_event_slot events[SD_EVENT_SLOTS];
};

#define SD_STRINGS_SIZE ((STACKDUMP_FRAMES_MAX + 1) * 2 * (STACKDUMP_LINE_MAX + 2))

static inline bool sd_is_blank(char c) {
        return c == ' ' || c == '\t' || c == '\r';
}

static inline bool sd_is_digit(char c) {
        return c >= '0' && c <= '9';
}

static inline bool sd_is_xdigit(char c) {
        return sd_is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static inline void sd_trim(const char **s, size_t *n) {
        while (*n > 0 && sd_is_blank(**s))
                (*s)++, (*n)--;
        while (*n > 0 && sd_is_blank((*s)[*n - 1]))
                (*n)--;
}

static inline bool sd_has_prefix(const char *s, size_t n, const char *prefix) {
        size_t plen = strlen(prefix);
        return n >= plen && memcmp(s, prefix, plen) == 0;
}

static inline void sd_copy_text(char *dst, size_t size, const char *src, size_t n) {
        if (n >= size)
                n = size - 1;
        memcpy(dst, src, n);
        dst[n] = '\0';
}

/* Hex digits, with or without "0x". -EINVAL if none, -ERANGE past 64 bits. */
int sd_parse_hex(const char *s, size_t n, uint64_t *ret);
/* Decimal, at most UINT32_MAX. */
int sd_parse_u32(const char *s, size_t n, uint32_t *ret);
/* "12.345678" seconds → nanoseconds. */
int sd_parse_seconds(const char *s, size_t n, uint64_t *ret_nsec);
/* The decimal number right after @key in s[0..n) ("pid 12" with key "pid "). */
bool sd_number_after(const char *s, size_t n, const char *key, uint64_t *ret);

/* stackdump.c: the current stack. */
void sd_stack_begin(struct stackdump_parser *p, enum sd_state state, enum stackdump_format format,
                    enum stackdump_role role, uint64_t line, const struct stackdump_context *ctx);
int sd_stack_end(struct stackdump_parser *p);
void sd_frame_push(struct stackdump_parser *p, const struct stackdump_frame *f);

/* stackdump_frames.c: one frame in each notation; strings go to the stack's space. */
int sd_frame_from_symbol(struct stackdump_parser *p, const struct stackdump_symbol *sym, struct stackdump_frame *ret);
bool sd_parse_dmesg_frame(struct stackdump_parser *p, const char *s, size_t n, struct stackdump_frame *ret);
/* ARM "[<a>] (f) from [<b>] (g+0x1/0x2)" or "Function entered at [<a>] from [<b>]": pushes the frames. */
bool sd_parse_arm_line(struct stackdump_parser *p, const char *s, size_t n);
bool sd_is_arm_line(const char *s, size_t n);
bool sd_parse_tracefs_frame(struct stackdump_parser *p, const char *s, size_t n, struct stackdump_frame *ret);
bool sd_is_marker(const char *s, size_t n);
bool sd_is_register_line(const char *s, size_t n);
/* ARM "Exception stack(0x.. to 0x..)" and its "bf40: 00000000 ..." words. */
bool sd_is_exception_dump(const char *s, size_t n);
/* "** 12 printk messages dropped **" and the like. */
bool sd_is_messages_dropped(const char *s, size_t n);

/* stackdump_console.c: console context lines. */
bool sd_parse_header(const char *s, size_t n, struct stackdump_context *ret);
bool sd_parse_hung_task(const char *s, size_t n, struct stackdump_context *ret);
bool sd_parse_task_line(const char *s, size_t n, struct stackdump_context *ret);
bool sd_parse_taint_line(const char *s, size_t n, struct stackdump_context *ctx);
bool sd_parse_slub_trace(const char *s, size_t n, struct stackdump_context *ret);
bool sd_is_call_trace(const char *s, size_t n);
/* A line that starts or ends something else: a stack in progress must end before it. */
bool sd_starts_other(const char *s, size_t n);

/* stackdump_reports.c: kmemleak, SLUB object, KASAN and page_owner reports.
 * Returns true if the line was one of theirs (and acted on it). */
bool sd_report_line(struct stackdump_parser *p, const char *s, size_t n, uint64_t ts, bool has_ts, int *ret);
/* Inside a report's frame list, before its first frame: a header line of the
 * same report (page_owner "Page allocated via" after "N times:", "PFN ...") */
bool sd_report_list_header(struct stackdump_parser *p, const char *s, size_t n);

/* stackdump_tracefs.c: tracefs text and alloc_traces entries. */
bool sd_tracefs_line(struct stackdump_parser *p, const char *s, size_t n, int *ret);
bool sd_alloc_entry_line(struct stackdump_parser *p, const char *s, size_t n, int *ret);
bool sd_is_trace_line(const char *s, size_t n);
