/* stackdump — parse kernel stack dumps out of a stream of text: console and
 * dmesg output (3.x `dump_stack`, modern x86 with <TASK>/<IRQ> and `?`
 * frames, arm64 `Call trace:`, ARM32 `(func) from (caller)` lines, with or
 * without timestamps, log levels, syslog/journal or /dev/kmsg prefixes),
 * frames symbolized by decode_stacktrace.sh or syzbot (`file.c:NN`,
 * `[inline]`), tracefs text (` => func` after `<stack trace>`), SLUB `TRACE`
 * records and object reports (`Allocated in`, `Freed in`), KASAN's
 * `Allocated by task N:` / `Freed by task N:`, kmemleak reports, page_owner
 * and page_owner_sort output, and debugfs alloc_traces / sysfs alloc_calls
 * entries, all mixed in one input. Input is fed in chunks of any size; each
 * stack is handed to a callback as soon as it ends, so memory stays bounded
 * whatever the input size.
 *
 * The parser lives in several files, one per family of formats:
 * stackdump.c (lines, prefixes, the state machine), stackdump_frames.c (one
 * frame in every notation), stackdump_console.c (console context lines),
 * stackdump_reports.c (kmemleak, SLUB object, KASAN, page_owner reports) and
 * stackdump_tracefs.c (tracefs text, alloc_traces). */
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
/* Lines inside a stack that are not understood (a mail-wrapped tail, an
 * interleaved TRACE or hexdump line, "messages dropped") are stepped over
 * while at most this many come in a row and a frame follows. */
#define STACKDUMP_SKIP_MAX 2

enum stackdump_format {
        STACKDUMP_FORMAT_DMESG,         /* "Call Trace:" and frames (console, dmesg, journal, SLUB TRACE) */
        STACKDUMP_FORMAT_TRACEFS,       /* "<stack trace>" and " => func" lines */
        STACKDUMP_FORMAT_ALLOC_TRACES,  /* debugfs alloc_traces entry (and stack), sysfs alloc_calls line */
        STACKDUMP_FORMAT_KMEMLEAK,      /* "unreferenced object 0x... (size N):" ... "backtrace:" */
        STACKDUMP_FORMAT_SLUB_OBJECT,   /* SLUB object report: "Allocated in ..." / "Freed in ..." tracks */
        STACKDUMP_FORMAT_KASAN,         /* KASAN "Allocated by task N:" / "Freed by task N:" */
        STACKDUMP_FORMAT_PAGE_OWNER,    /* page_owner "Page allocated via order N" and page_owner_sort "N times:" */
        _STACKDUMP_FORMAT_MAX,
};

/* What a stack is the stack of. Allocation and free stacks are different
 * populations and must not be ranked together. */
enum stackdump_role {
        STACKDUMP_ROLE_STACK,           /* where something was printed or traced: a dump, a report, an event */
        STACKDUMP_ROLE_ALLOC,           /* the allocation of an object (kmemleak, SLUB, KASAN, page_owner, TRACE alloc) */
        STACKDUMP_ROLE_FREE,            /* the free of an object (SLUB "Freed in", KASAN "Freed by", TRACE free) */
        _STACKDUMP_ROLE_MAX,
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
        STACKDUMP_HAVE_SIZE      = 1u << 9,     /* object_bytes: kmemleak "(size N)" */
        STACKDUMP_HAVE_AGE       = 1u << 10,    /* age_msec: kmemleak "(age 12.345s)", SLUB "age=" (jiffies, as printed) */
        STACKDUMP_HAVE_JIFFIES   = 1u << 11,    /* jiffies at allocation: kmemleak "jiffies N" */
        STACKDUMP_HAVE_ORDER     = 1u << 12,    /* page_order: page_owner "order N" */
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
        uint64_t object_bytes;
        uint64_t age_msec;
        uint64_t jiffies;
        uint32_t page_order;
};

struct stackdump_frame {
        const char *function;   /* symbol, or the address text when unresolved; never NULL */
        const char *module;     /* "" for the kernel image */
        const char *raw;        /* the symbol as printed when function folded a suffix
                                 * (".cold", ".isra.N", ".constprop.N", ".part.N"); else "" */
        const char *source;     /* "path/file.c:NN" of a symbolized frame; else "" */
        uint64_t offset;        /* +0x<offset>/0x<size>, when has_offset */
        uint64_t size;          /* 0 when the dump gave only +0x<offset> */
        uint64_t address;       /* [<address>] or (address), when has_address */
        bool has_offset;
        bool has_address;
        bool unreliable;        /* "? func": a stale return address the unwinder found */
        bool inlined;           /* "func file.c:NN [inline]": inlined into the next frame */
};

struct stackdump_stack {
        enum stackdump_format format;
        enum stackdump_role role;
        uint64_t line;          /* 1-based line where the dump starts (its header, if any) */
        uint64_t weight;        /* 1 per dump; the object count of an alloc_traces entry */
        struct stackdump_context ctx;
        const struct stackdump_frame *frames;   /* innermost first, as printed */
        size_t n_frames;
        size_t n_frames_dropped;                /* past STACKDUMP_FRAMES_MAX */
        uint64_t n_lines_skipped;               /* lines inside it stepped over (reported as -ENOMSG) */
        bool incomplete;                        /* printk dropped messages inside it */
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
 * STACKDUMP_LINE_MAX) or -EBADMSG (contains a NUL byte), which end a stack
 * in progress; -ENOMSG (a line inside a stack that is not part of it, stepped
 * over) and -EPIPE (printk dropped messages inside a stack), after which the
 * stack goes on. The parse goes on in every case. */
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

/* Stacks reported so far. */
uint64_t stackdump_parser_stacks(const struct stackdump_parser *p);

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

/* "dmesg", "tracefs", "alloc_traces", "kmemleak", "slub_object", "kasan", "page_owner". */
const char *stackdump_format_name(enum stackdump_format f);

/* One line naming every format the parser looks for, with an example of
 * each, for a "no stack found" message. */
const char *stackdump_formats_looked_for(void);

/* "stack", "allocation", "free". */
const char *stackdump_role_name(enum stackdump_role r);

/* The function name without the compiler's clone suffixes (".cold",
 * ".isra.N", ".constprop.N", ".part.N", ".lto_priv.N", ".llvm.N"): the
 * length of the name that is left (at least 1). */
size_t stackdump_fold_length(const char *name, size_t len);
