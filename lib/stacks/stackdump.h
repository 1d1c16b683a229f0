/* stackdump — parse kernel stack dumps out of a stream of text: console and
 * dmesg output (3.x `dump_stack`, modern x86 with <TASK>/<IRQ> and `?`
 * frames, with or without timestamps, log levels, syslog/journal or
 * /dev/kmsg prefixes), tracefs text (` => func` after `<stack trace>`), SLUB
 * `TRACE` records, and debugfs alloc_traces / sysfs alloc_calls entries, all
 * mixed in one input. Input is fed in chunks of any size; each stack is
 * handed to a callback as soon as it ends, so memory stays bounded whatever
 * the input size. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Frames kept per stack; further ones are counted in n_frames_dropped. */
#define STACKDUMP_FRAMES_MAX 128
/* A longer line is reported (-E2BIG with its number) and skipped. Real
 * console lines are < 1 KiB; tracefs event lines stay well below this. */
#define STACKDUMP_LINE_MAX 4096
/* A "CPU: ... PID: ..." header or SLUB TRACE record applies to a "Call
 * Trace:" at most this many lines later (register and object dumps sit in
 * between); older context is forgotten rather than pinned on a stranger. */
#define STACKDUMP_CONTEXT_LINES_MAX 1024
#define STACKDUMP_COMM_MAX 64
#define STACKDUMP_TAINT_MAX 64
#define STACKDUMP_RELEASE_MAX 128
#define STACKDUMP_EVENT_MAX 64
#define STACKDUMP_CACHE_MAX 96

enum stackdump_format {
        STACKDUMP_FORMAT_DMESG,         /* "Call Trace:" and frames (console, dmesg, journal, SLUB TRACE) */
        STACKDUMP_FORMAT_TRACEFS,       /* "<stack trace>" and " => func" lines */
        STACKDUMP_FORMAT_ALLOC_TRACES,  /* debugfs alloc_traces entry (and stack), sysfs alloc_calls line */
        _STACKDUMP_FORMAT_MAX,
};

/* Bits of stackdump_context.have. */
enum {
        STACKDUMP_HAVE_CPU       = 1u << 0,
        STACKDUMP_HAVE_PID       = 1u << 1,
        STACKDUMP_HAVE_COMM      = 1u << 2,
        STACKDUMP_HAVE_TAINT     = 1u << 3,     /* "Tainted: ..." or "Not tainted" was seen */
        STACKDUMP_HAVE_RELEASE   = 1u << 4,
        STACKDUMP_HAVE_EVENT     = 1u << 5,
        STACKDUMP_HAVE_CACHE     = 1u << 6,
        STACKDUMP_HAVE_PTR       = 1u << 7,
        STACKDUMP_HAVE_TIMESTAMP = 1u << 8,
};

/* Where a stack came from, as far as the lines around it say. */
struct stackdump_context {
        unsigned have;                          /* STACKDUMP_HAVE_* */
        uint32_t cpu;
        uint32_t pid;
        char comm[STACKDUMP_COMM_MAX];
        char taint[STACKDUMP_TAINT_MAX];        /* taint letters, e.g. "P O"; "" when not tainted */
        char release[STACKDUMP_RELEASE_MAX];    /* kernel release, e.g. "3.18.21" */
        char event[STACKDUMP_EVENT_MAX];        /* tracefs event ("kmem_cache_alloc"), SLUB TRACE "alloc"/"free" */
        char cache[STACKDUMP_CACHE_MAX];        /* SLUB TRACE cache, tracefs name= */
        uint64_t ptr;                           /* SLUB TRACE object, tracefs ptr= (hashed) */
        uint64_t timestamp_nsec;                /* printk or trace timestamp */
};

struct stackdump_frame {
        const char *function;   /* symbol, or the address text when unresolved; never NULL */
        const char *module;     /* "" for the kernel image */
        uint64_t offset;        /* +0x<offset>/0x<size>, when has_offset */
        uint64_t size;          /* 0 when the dump gave only +0x<offset> */
        uint64_t address;       /* [<address>] or (address), when has_address */
        bool has_offset;
        bool has_address;
        bool unreliable;        /* "? func": a stale return address the unwinder found */
};

struct stackdump_stack {
        enum stackdump_format format;
        uint64_t line;          /* 1-based line where the dump starts (its header, if any) */
        uint64_t weight;        /* 1 per dump; the object count of an alloc_traces entry */
        struct stackdump_context ctx;
        const struct stackdump_frame *frames;   /* innermost first, as printed */
        size_t n_frames;
        size_t n_frames_dropped;                /* past STACKDUMP_FRAMES_MAX */
};

/* A symbol as printed by %pS: "name+0xoff/0xsize [module]", pointers into
 * the text that was parsed (not NUL-terminated). */
struct stackdump_symbol {
        const char *name;
        size_t name_len;
        const char *module;
        size_t module_len;
        uint64_t offset;
        uint64_t size;
        bool has_offset;
};

/* Called once per complete stack. The stack and its strings are valid only
 * during the call. A negative return stops the parse and is returned by
 * stackdump_parser_feed()/_finish(). */
typedef int (*stackdump_stack_fn)(const struct stackdump_stack *s, void *userdata);

/* Called for each line that could not be used: -E2BIG (longer than
 * STACKDUMP_LINE_MAX) or -EBADMSG (contains a NUL byte). The line is
 * skipped; the parse goes on. */
typedef void (*stackdump_error_fn)(uint64_t line, int error, void *userdata);

struct stackdump_parser;

/* A parser calling @on_stack (required) and @on_error (may be NULL).
 * -ENOMEM, -EINVAL. */
int stackdump_parser_new(stackdump_stack_fn on_stack, stackdump_error_fn on_error, void *userdata,
                         struct stackdump_parser **ret);

/* Free the parser; NULL is a no-op. A stack still open is not reported:
 * call stackdump_parser_finish() first. */
void stackdump_parser_free(struct stackdump_parser *p);

/* Feed the next @len bytes; lines may be split anywhere across calls.
 * Returns 0, or the first negative value a callback returned. */
int stackdump_parser_feed(struct stackdump_parser *p, const char *buf, size_t len);

/* End of input: parse a last unterminated line and report an open stack.
 * Returns 0 or a callback's negative value. */
int stackdump_parser_finish(struct stackdump_parser *p);

/* Lines seen so far (including an unterminated last line after finish). */
uint64_t stackdump_parser_lines(const struct stackdump_parser *p);

/* Lines reported to on_error so far. */
uint64_t stackdump_parser_errors(const struct stackdump_parser *p);

/* Parse a whole buffer: new + feed + finish + free. */
int stackdump_parse(const char *buf, size_t len, stackdump_stack_fn on_stack, stackdump_error_fn on_error,
                    void *userdata);

/* Parse one "%pS" symbol: "name", "name+0x1c/0x34", "name+0x1c" or
 * "0xffffffffc0a01234", each optionally followed by " [module]" or
 * " [module buildid]". Leading and trailing blanks are allowed. -EINVAL if
 * it is not one. */
int stackdump_parse_symbol(const char *s, size_t len, struct stackdump_symbol *ret);

/* Short English text for an error given to stackdump_error_fn. */
const char *stackdump_error_message(int error);

/* "dmesg", "tracefs", "alloc_traces". */
const char *stackdump_format_name(enum stackdump_format f);
