/* stackdump — a line-driven state machine over kernel log text.
 *
 * Each line first loses the prefixes that loggers put in front of the
 * kernel's own text (syslog/journal "host kernel: ", /dev/kmsg records,
 * "<4>" levels, "[  12.345678]" timestamps, "[  T123]" callers). What is left
 * is classified:
 *   - "CPU: 3 PID: 0 Comm: swapper/3 Tainted: P O 3.18.21 #9", SLUB
 *     "TRACE <cache> alloc|free 0x<ptr> ..." and hung-task ("INFO: task
 *     comm:pid blocked ...", "task:comm state:D ... pid:N") lines become
 *     pending context for the next "Call Trace:" (register and object dumps
 *     may sit in between);
 *   - "Call Trace:" starts a dmesg stack, which runs until "</TASK>", a blank
 *     line, or a line that is neither a frame, a <IRQ>-style marker nor a
 *     register line;
 *   - a tracefs "<stack trace>" line starts a tracefs stack of " => func"
 *     lines; the event line before it (same CPU) names the event;
 *   - "  338 func+0x2c/0xa0 age=... pid=..." starts an alloc_traces entry,
 *     followed (5.19+) by indented frames and a blank line.
 * Everything else is ignored: console logs are mostly other messages. */
#include "stacks/stackdump.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/textscan.h"

/* Where the syslog/journal "kernel: " prefix may end at the latest. */
#define SYSLOG_PREFIX_MAX 128
/* Last tracefs event remembered per CPU slot, to name the stack after it. */
#define EVENT_SLOTS 64

enum state {
        STATE_IDLE,
        STATE_DMESG,
        STATE_TRACEFS,
        STATE_ALLOC,
};

struct pending {
        bool active;
        uint64_t line;          /* first line of the dump */
        uint64_t last_line;     /* last line that added to it, for expiry */
        struct stackdump_context ctx;
};

struct event_slot {
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

struct stackdump_parser {
        stackdump_stack_fn on_stack;
        stackdump_error_fn on_error;
        void *userdata;

        uint64_t line_no;
        uint64_t n_errors;
        int stopped;            /* a callback's negative return, sticky */
        bool finished;

        /* A line split across feeds is collected here (plus a '\r'). */
        char line[STACKDUMP_LINE_MAX + 1];
        size_t line_len;
        bool line_overlong;

        enum state state;
        struct stackdump_stack cur;
        struct stackdump_frame frames[STACKDUMP_FRAMES_MAX];
        /* Strings of the current stack's frames: each frame's text fits in
         * its line, so (frames + entry line) × line length never overflows. */
        char *strings;
        size_t strings_len;
        /* alloc_traces entry line: its call site stands in for a missing stack. */
        struct stackdump_frame entry_frame;

        struct pending pending;
        struct event_slot events[EVENT_SLOTS];
};

#define STRINGS_SIZE ((STACKDUMP_FRAMES_MAX + 1) * (STACKDUMP_LINE_MAX + 2))

static bool is_blank(char c) {
        return c == ' ' || c == '\t' || c == '\r';
}

static bool is_digit(char c) {
        return c >= '0' && c <= '9';
}

static bool is_xdigit(char c) {
        return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static void trim(const char **s, size_t *n) {
        while (*n > 0 && is_blank(**s))
                (*s)++, (*n)--;
        while (*n > 0 && is_blank((*s)[*n - 1]))
                (*n)--;
}

static bool has_prefix(const char *s, size_t n, const char *prefix) {
        size_t plen = strlen(prefix);
        return n >= plen && memcmp(s, prefix, plen) == 0;
}

static void copy_text(char *dst, size_t size, const char *src, size_t n) {
        if (n >= size)
                n = size - 1;
        memcpy(dst, src, n);
        dst[n] = '\0';
}

/* Hex digits, with or without "0x". -EINVAL if none, -ERANGE past 64 bits. */
static int parse_hex(const char *s, size_t n, uint64_t *ret) {
        if (n >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
                s += 2, n -= 2;
        if (n == 0)
                return -EINVAL;
        uint64_t v = 0;
        for (size_t i = 0; i < n; i++) {
                char c = s[i];
                unsigned d;
                if (is_digit(c))
                        d = (unsigned) (c - '0');
                else if (c >= 'a' && c <= 'f')
                        d = (unsigned) (c - 'a' + 10);
                else if (c >= 'A' && c <= 'F')
                        d = (unsigned) (c - 'A' + 10);
                else
                        return -EINVAL;
                if (v >> 60)
                        return -ERANGE;
                v = v << 4 | d;
        }
        *ret = v;
        return 0;
}

static int parse_u32(const char *s, size_t n, uint32_t *ret) {
        uint64_t v;
        int r = textscan_u64(s, n, &v);
        if (r < 0)
                return r;
        if (v > UINT32_MAX)
                return -ERANGE;
        *ret = (uint32_t) v;
        return 0;
}

/* "12.345678" seconds → nanoseconds. */
static int parse_seconds(const char *s, size_t n, uint64_t *ret_nsec) {
        const char *dot = memchr(s, '.', n);
        size_t ilen = dot ? (size_t) (dot - s) : n;
        uint64_t sec, frac = 0;
        if (textscan_u64(s, ilen, &sec) < 0 || sec > UINT64_MAX / 1000000000u)
                return -EINVAL;
        if (dot) {
                size_t flen = n - ilen - 1;
                if (flen == 0 || flen > 9 || textscan_u64(dot + 1, flen, &frac) < 0)
                        return -EINVAL;
                for (size_t i = flen; i < 9; i++)
                        frac *= 10;
        }
        *ret_nsec = sec * 1000000000u + frac;
        return 0;
}

const char *stackdump_error_message(int error) {
        switch (error) {
        case -E2BIG:
                return "line too long, skipped";
        case -EBADMSG:
                return "binary data (NUL byte) in line, skipped";
        default:
                return "unreadable line, skipped";
        }
}

const char *stackdump_format_name(enum stackdump_format f) {
        switch (f) {
        case STACKDUMP_FORMAT_DMESG:
                return "dmesg";
        case STACKDUMP_FORMAT_TRACEFS:
                return "tracefs";
        case STACKDUMP_FORMAT_ALLOC_TRACES:
                return "alloc_traces";
        default:
                return "unknown";
        }
}

int stackdump_parse_symbol(const char *s, size_t n, struct stackdump_symbol *ret) {
        trim(&s, &n);
        if (n == 0)
                return -EINVAL;
        size_t tok = 0;
        while (tok < n && !is_blank(s[tok]))
                tok++;
        struct stackdump_symbol sym = { .name = s, .module = "" };
        const char *plus = memchr(s, '+', tok);
        sym.name_len = plus ? (size_t) (plus - s) : tok;
        if (sym.name_len == 0 || strchr("[(<=?", s[0]))
                return -EINVAL;
        for (size_t i = 0; i < sym.name_len; i++)
                if (s[i] == ':' || s[i] == '=' || s[i] == '/' || (unsigned char) s[i] < 0x20)
                        return -EINVAL;
        if (plus) {
                const char *o = plus + 1, *end = s + tok;
                const char *slash = memchr(o, '/', (size_t) (end - o));
                const char *oend = slash ? slash : end;
                if (!has_prefix(o, (size_t) (oend - o), "0x") ||
                    parse_hex(o, (size_t) (oend - o), &sym.offset) < 0)
                        return -EINVAL;
                if (slash && (!has_prefix(slash + 1, (size_t) (end - slash - 1), "0x") ||
                              parse_hex(slash + 1, (size_t) (end - slash - 1), &sym.size) < 0))
                        return -EINVAL;
                sym.has_offset = true;
        }
        const char *rest = s + tok;
        size_t rn = n - tok;
        trim(&rest, &rn);
        if (rn > 0) {
                /* " [module]" or " [module buildid]" */
                if (rest[0] != '[' || rest[rn - 1] != ']' || rn < 3)
                        return -EINVAL;
                size_t m = 1;
                while (m < rn - 1 && !is_blank(rest[m]))
                        m++;
                if (m == 1)
                        return -EINVAL;
                sym.module = rest + 1;
                sym.module_len = m - 1;
        }
        *ret = sym;
        return 0;
}

/* Copy @n bytes into the current stack's string space. */
static const char *strings_add(struct stackdump_parser *p, const char *s, size_t n) {
        if (p->strings_len + n + 1 > STRINGS_SIZE)
                return NULL;
        char *d = p->strings + p->strings_len;
        memcpy(d, s, n);
        d[n] = '\0';
        p->strings_len += n + 1;
        return d;
}

static int frame_from_symbol(struct stackdump_parser *p, const struct stackdump_symbol *sym,
                             struct stackdump_frame *ret) {
        const char *fn = strings_add(p, sym->name, sym->name_len);
        const char *mod = strings_add(p, sym->module, sym->module_len);
        if (!fn || !mod)
                return -ENOBUFS;
        *ret = (struct stackdump_frame) {
                .function = fn,
                .module = mod,
                .offset = sym->offset,
                .size = sym->size,
                .has_offset = sym->has_offset,
        };
        return 0;
}

static void frame_push(struct stackdump_parser *p, const struct stackdump_frame *f) {
        if (p->cur.n_frames < STACKDUMP_FRAMES_MAX)
                p->frames[p->cur.n_frames++] = *f;
        else
                p->cur.n_frames_dropped++;
}

static void stack_begin(struct stackdump_parser *p, enum state state, enum stackdump_format format,
                        uint64_t line, const struct stackdump_context *ctx) {
        p->state = state;
        p->cur = (struct stackdump_stack) {
                .format = format,
                .line = line,
                .weight = 1,
                .frames = p->frames,
        };
        if (ctx)
                p->cur.ctx = *ctx;
        p->strings_len = 0;
}

static int stack_end(struct stackdump_parser *p) {
        enum state state = p->state;
        p->state = STATE_IDLE;
        if (state == STATE_IDLE)
                return 0;
        if (state == STATE_ALLOC && p->cur.n_frames == 0) {
                /* No stack stored (before 5.19, or sysfs alloc_calls): the
                 * call site alone is the stack. */
                p->frames[0] = p->entry_frame;
                p->cur.n_frames = 1;
        }
        if (p->cur.n_frames == 0)
                return 0;
        return p->on_stack(&p->cur, p->userdata);
}

/* Drop the loggers' prefixes; the printk timestamp, if any, goes to @ts. */
static void strip_prefixes(const char **ps, size_t *pn, uint64_t *ts, bool *has_ts) {
        const char *s = *ps;
        size_t n = *pn;

        /* syslog "Nov 24 23:17:01 host kernel: " and journalctl "... kernel: " */
        size_t window = n < SYSLOG_PREFIX_MAX + 9 ? n : SYSLOG_PREFIX_MAX + 9;
        const char *k = textscan_find(s, window, " kernel: ");
        if (k) {
                n -= (size_t) (k + 9 - s);
                s = k + 9;
        }

        /* /dev/kmsg "6,1234,5678901,-;msg" (timestamp in µs) */
        if (n > 0 && is_digit(s[0])) {
                size_t i = 0, commas = 0, ts_start = 0, ts_end = 0;
                while (i < n && i < 64 && s[i] != ';') {
                        if (s[i] == ',') {
                                commas++;
                                if (commas == 2)
                                        ts_start = i + 1;
                                else if (commas == 3)
                                        ts_end = i;
                        } else if (commas < 3 && !is_digit(s[i]))
                                break;
                        i++;
                }
                uint64_t usec;
                if (i < n && s[i] == ';' && commas >= 3 &&
                    textscan_u64(s + ts_start, ts_end - ts_start, &usec) == 0) {
                        *ts = usec * 1000u;
                        *has_ts = true;
                        s += i + 1;
                        n -= i + 1;
                }
        }

        /* "<4>" log level (also dmesg -r) */
        if (n >= 3 && s[0] == '<' && is_digit(s[1])) {
                size_t i = 1;
                while (i < n && i < 5 && is_digit(s[i]))
                        i++;
                if (i < n && s[i] == '>')
                        s += i + 1, n -= i + 1;
        }

        /* "[   12.345678]" then, with CONFIG_PRINTK_CALLER, "[  T123]" */
        if (n >= 3 && s[0] == '[') {
                size_t i = 1;
                while (i < n && s[i] == ' ')
                        i++;
                size_t start = i;
                while (i < n && (is_digit(s[i]) || s[i] == '.'))
                        i++;
                uint64_t nsec;
                if (i < n && s[i] == ']' && i > start && parse_seconds(s + start, i - start, &nsec) == 0) {
                        *ts = nsec;
                        *has_ts = true;
                        s += i + 1;
                        n -= i + 1;
                        if (n >= 4 && s[0] == '[') {
                                i = 1;
                                while (i < n && s[i] == ' ')
                                        i++;
                                if (i < n && (s[i] == 'T' || s[i] == 'C')) {
                                        size_t d = ++i;
                                        while (i < n && is_digit(s[i]))
                                                i++;
                                        if (i > d && i < n && s[i] == ']')
                                                s += i + 1, n -= i + 1;
                                }
                        }
                        if (n > 0 && s[0] == ' ')
                                s++, n--;
                }
        }
        *ps = s;
        *pn = n;
}

/* Taint letters and release after "Tainted: " / "Not tainted ":
 * "P O 3.18.21 #9", "G        W          6.18.0 #1 PREEMPT(voluntary)". */
static void parse_taint_release(const char *s, size_t n, bool tainted, struct stackdump_context *ctx) {
        const char *toks[32];
        size_t lens[32], nt = 0;
        struct textscan sc = textscan_init(s, n);
        const char *t;
        size_t tl;
        while (nt < 32 && textscan_token(&sc, &t, &tl))
                toks[nt] = t, lens[nt] = tl, nt++;
        size_t rel = nt;
        for (size_t i = 1; i < nt; i++)
                if (toks[i][0] == '#') {
                        rel = i - 1;
                        break;
                }
        if (rel == nt)
                for (size_t i = 0; i < nt; i++)
                        if (memchr(toks[i], '.', lens[i]) && is_digit(toks[i][0])) {
                                rel = i;
                                break;
                        }
        if (rel < nt) {
                copy_text(ctx->release, sizeof ctx->release, toks[rel], lens[rel]);
                ctx->have |= STACKDUMP_HAVE_RELEASE;
        }
        ctx->taint[0] = '\0';
        if (tainted) {
                size_t len = 0;
                for (size_t i = 0; i < nt && i < rel; i++) {
                        if (len + lens[i] + 2 > sizeof ctx->taint)
                                break;
                        if (len > 0)
                                ctx->taint[len++] = ' ';
                        memcpy(ctx->taint + len, toks[i], lens[i]);
                        len += lens[i];
                }
                ctx->taint[len] = '\0';
        }
        ctx->have |= STACKDUMP_HAVE_TAINT;
}

/* "CPU: 3 PID: 0 Comm: swapper/3 Tainted: P O 3.18.21 #9",
 * "CPU: 1 UID: 0 PID: 123 Comm: foo Not tainted 6.18.0 #1 PREEMPT(voluntary)",
 * and the 2.6 form "Pid: 1, comm: swapper Not tainted 2.6.32 #1". */
static bool parse_header(const char *s, size_t n, struct stackdump_context *ret) {
        struct stackdump_context ctx = {};
        const char *comm;
        if (has_prefix(s, n, "CPU: ")) {
                size_t i = 5;
                size_t d = i;
                while (i < n && is_digit(s[i]))
                        i++;
                if (i == d || parse_u32(s + d, i - d, &ctx.cpu) < 0)
                        return false;
                ctx.have |= STACKDUMP_HAVE_CPU;
                const char *pid = textscan_find(s + i, n - i, " PID: ");
                if (!pid)
                        return false;
                const char *p = pid + 6;
                const char *pe = p;
                while (pe < s + n && is_digit(*pe))
                        pe++;
                if (parse_u32(p, (size_t) (pe - p), &ctx.pid) < 0)
                        return false;
                ctx.have |= STACKDUMP_HAVE_PID;
                comm = textscan_find(pe, (size_t) (s + n - pe), " Comm: ");
                if (!comm)
                        return false;
                comm += 7;
        } else if (has_prefix(s, n, "Pid: ")) {
                const char *p = s + 5, *pe = p;
                while (pe < s + n && is_digit(*pe))
                        pe++;
                if (parse_u32(p, (size_t) (pe - p), &ctx.pid) < 0)
                        return false;
                ctx.have |= STACKDUMP_HAVE_PID;
                comm = textscan_find(pe, (size_t) (s + n - pe), ", comm: ");
                if (!comm)
                        return false;
                comm += 8;
        } else
                return false;

        const char *end = s + n;
        const char *tainted = textscan_find(comm, (size_t) (end - comm), " Tainted: ");
        const char *not_tainted = textscan_find(comm, (size_t) (end - comm), " Not tainted");
        const char *comm_end = tainted ? tainted : not_tainted;
        if (tainted && not_tainted && not_tainted < tainted)
                comm_end = not_tainted, tainted = NULL;
        if (!comm_end) {
                /* Comm is the rest (some arches print nothing after it). */
                comm_end = end;
                while (comm_end > comm && is_blank(comm_end[-1]))
                        comm_end--;
        }
        copy_text(ctx.comm, sizeof ctx.comm, comm, (size_t) (comm_end - comm));
        ctx.have |= STACKDUMP_HAVE_COMM;
        if (tainted)
                parse_taint_release(tainted + 10, (size_t) (end - tainted - 10), true, &ctx);
        else if (not_tainted)
                parse_taint_release(not_tainted + 12, (size_t) (end - not_tainted - 12), false, &ctx);
        *ret = ctx;
        return true;
}

/* Hung-task reports: "INFO: task comm:1234 blocked for more than 2 seconds."
 * and "INFO: task comm:1234 is blocked on a mutex likely owned by ...". */
static bool parse_hung_task(const char *s, size_t n, struct stackdump_context *ret) {
        if (!has_prefix(s, n, "INFO: task "))
                return false;
        const char *a = s + 11;
        const char *e = textscan_find(a, (size_t) (s + n - a), " blocked for more than ");
        if (!e)
                e = textscan_find(a, (size_t) (s + n - a), " is blocked on ");
        if (!e)
                return false;
        const char *colon = memrchr(a, ':', (size_t) (e - a));
        struct stackdump_context ctx = {};
        if (!colon || colon == a || parse_u32(colon + 1, (size_t) (e - colon - 1), &ctx.pid) < 0)
                return false;
        copy_text(ctx.comm, sizeof ctx.comm, a, (size_t) (colon - a));
        ctx.have = STACKDUMP_HAVE_PID | STACKDUMP_HAVE_COMM;
        *ret = ctx;
        return true;
}

/* sched_show_task(): "task:kworker/0:1  state:D stack:0 pid:11863 tgid:11863 ppid:2 ..." */
static bool parse_task_line(const char *s, size_t n, struct stackdump_context *ret) {
        if (!has_prefix(s, n, "task:"))
                return false;
        const char *state = textscan_find(s, n, " state:");
        const char *pid = textscan_find(s, n, " pid:");
        if (!state || !pid || pid < state)
                return false;
        const char *p = pid + 5, *pe = p;
        while (pe < s + n && is_digit(*pe))
                pe++;
        struct stackdump_context ctx = {};
        if (parse_u32(p, (size_t) (pe - p), &ctx.pid) < 0)
                return false;
        const char *c = s + 5;
        size_t cl = (size_t) (state - c);
        trim(&c, &cl);
        copy_text(ctx.comm, sizeof ctx.comm, c, cl);
        ctx.have = STACKDUMP_HAVE_PID | STACKDUMP_HAVE_COMM;
        *ret = ctx;
        return true;
}

/* "Not tainted 6.18.44 #1" or "Tainted: G W 6.18.44 #1" on a line of its own
 * (hung-task reports); "Tainted: [W]=WARN, ..." explains letters instead. */
static bool parse_taint_line(const char *s, size_t n, struct stackdump_context *ctx) {
        if (has_prefix(s, n, "Not tainted "))
                parse_taint_release(s + 12, n - 12, false, ctx);
        else if (has_prefix(s, n, "Tainted: ") && n > 9 && s[9] != '[')
                parse_taint_release(s + 9, n - 9, true, ctx);
        else
                return false;
        return true;
}

/* SLUB: "TRACE kmalloc-8192 alloc 0x8fc4d000 inuse=3 fp=0x  (null)" */
static bool parse_slub_trace(const char *s, size_t n, struct stackdump_context *ret) {
        if (!has_prefix(s, n, "TRACE "))
                return false;
        struct textscan sc = textscan_init(s + 6, n - 6);
        const char *cache, *op, *ptr;
        size_t cl, ol, pl;
        if (!textscan_token(&sc, &cache, &cl) || !textscan_token(&sc, &op, &ol) ||
            !textscan_token(&sc, &ptr, &pl))
                return false;
        if (!((ol == 5 && memcmp(op, "alloc", 5) == 0) || (ol == 4 && memcmp(op, "free", 4) == 0)))
                return false;
        struct stackdump_context ctx = {};
        copy_text(ctx.cache, sizeof ctx.cache, cache, cl);
        copy_text(ctx.event, sizeof ctx.event, op, ol);
        ctx.have |= STACKDUMP_HAVE_CACHE | STACKDUMP_HAVE_EVENT;
        if (has_prefix(ptr, pl, "0x") && parse_hex(ptr, pl, &ctx.ptr) == 0)
                ctx.have |= STACKDUMP_HAVE_PTR;
        *ret = ctx;
        return true;
}

/* "Call Trace:" (x86, MIPS, powerpc...), "Call trace:" (arm64),
 * "Backtrace:" (arm). Text after the colon is ignored. */
static bool is_call_trace(const char *s, size_t n) {
        return has_prefix(s, n, "Call Trace:") || has_prefix(s, n, "Call trace:") ||
                has_prefix(s, n, "Backtrace:");
}

/* "<TASK>", "</IRQ>", "<NMI>", "<#DF>", "<EOI>", "<SOFTIRQ>" */
static bool is_marker(const char *s, size_t n) {
        if (n < 3 || n > 16 || s[0] != '<' || s[n - 1] != '>')
                return false;
        for (size_t i = 1; i < n - 1; i++)
                if (!((s[i] >= 'A' && s[i] <= 'Z') || s[i] == '/' || s[i] == '#'))
                        return false;
        return true;
}

/* x86 prints registers inside a trace where it crosses an interrupt frame:
 * "RIP: 0010:...", "RSP: 0018:... EFLAGS: ...", "R10: ...", "Code: ...". */
static bool is_register_line(const char *s, size_t n) {
        static const char *const names[] = {
                "RIP", "RSP", "RAX", "RBX", "RCX", "RDX", "RSI", "RDI", "RBP", "R08", "R09", "R10", "R11",
                "R12", "R13", "R14", "R15", "FS", "GS", "CS", "DS", "ES", "SS", "CR0", "CR2", "CR3", "CR4",
                "DR0", "DR1", "DR2", "DR3", "DR6", "DR7", "PKRU", "EIP", "ESP", "EAX", "EBX", "ECX", "EDX",
                "ESI", "EDI", "EBP", "Code",
        };
        const char *colon = memchr(s, ':', n < 8 ? n : 8);
        if (!colon || (size_t) (colon - s) + 1 >= n || colon[1] != ' ')
                return false;
        size_t len = (size_t) (colon - s);
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
                if (strlen(names[i]) == len && memcmp(s, names[i], len) == 0)
                        return true;
        return false;
}

/* One frame of a dmesg trace:
 *   "[<80015ad4>] show_stack+0x88/0xa4"             (3.x, MIPS, old x86)
 *   " [<ffffffff8101a0b4>] ? func+0x10/0x20"         (old x86 unreliable)
 *   " func+0x1/0x2 [module]", " ? func+0x1/0x2"      (4.x+ x86, arm64)
 *   "[c0000000fe1d3b20] [c000000000016b60] func+0x1/0x2 (unreliable)"  (powerpc)
 *   "[<c0014ed4>] (unwind_backtrace+0x0/0xf8) from [<c00118b0>] (...)" (old arm) */
static bool parse_dmesg_frame(struct stackdump_parser *p, const char *s, size_t n, struct stackdump_frame *ret) {
        struct stackdump_frame f = {};
        bool bracketed = false;
        while (n > 0 && s[0] == '[') {
                size_t i = 1;
                bool angle = i < n && s[i] == '<';
                if (angle)
                        i++;
                size_t start = i;
                while (i < n && is_xdigit(s[i]))
                        i++;
                size_t end = i;
                if (angle) {
                        if (i >= n || s[i] != '>')
                                return false;
                        i++;
                }
                if (i >= n || s[i] != ']' || end == start)
                        return false;
                if (parse_hex(s + start, end - start, &f.address) < 0)
                        return false;
                f.has_address = true;
                bracketed = true;
                s += i + 1;
                n -= i + 1;
                trim(&s, &n);
        }
        if (n >= 2 && s[0] == '?' && s[1] == ' ') {
                f.unreliable = true;
                s += 2;
                n -= 2;
                trim(&s, &n);
        }
        if (n > 0 && s[0] == '(') {
                const char *close = memchr(s, ')', n);
                if (!close)
                        return false;
                n = (size_t) (close - s - 1);
                s++;
        }
        /* Trailing "(unreliable)" (powerpc) or other short annotations. */
        if (n > 2 && s[n - 1] == ')') {
                const char *open = NULL;
                for (size_t i = n; i-- > 0;)
                        if (s[i] == '(') {
                                open = s + i;
                                break;
                        }
                if (open && open > s && is_blank(open[-1]) && (size_t) (s + n - open) <= 16) {
                        if (has_prefix(open, (size_t) (s + n - open), "(unreliable)"))
                                f.unreliable = true;
                        n = (size_t) (open - s);
                        trim(&s, &n);
                }
        }
        struct stackdump_symbol sym;
        if (stackdump_parse_symbol(s, n, &sym) < 0)
                return false;
        if (!bracketed && !sym.has_offset && !has_prefix(sym.name, sym.name_len, "0x"))
                return false;
        struct stackdump_frame g;
        if (frame_from_symbol(p, &sym, &g) < 0)
                return false;
        g.address = f.address;
        g.has_address = f.has_address;
        g.unreliable = f.unreliable;
        *ret = g;
        return true;
}

/* " => func", " => func+0x1/0x2", trace-cmd "=> func (ffffffff8110a0b4)". */
static bool parse_tracefs_frame(struct stackdump_parser *p, const char *s, size_t n, struct stackdump_frame *ret) {
        if (!has_prefix(s, n, "=>"))
                return false;
        s += 2;
        n -= 2;
        trim(&s, &n);
        uint64_t addr = 0;
        bool has_addr = false;
        if (n > 2 && s[n - 1] == ')') {
                const char *open = memrchr(s, '(', n);
                if (open && parse_hex(open + 1, (size_t) (s + n - open - 2), &addr) == 0) {
                        has_addr = true;
                        n = (size_t) (open - s);
                }
        }
        struct stackdump_symbol sym;
        if (stackdump_parse_symbol(s, n, &sym) < 0)
                return false;
        if (frame_from_symbol(p, &sym, ret) < 0)
                return false;
        ret->address = addr;
        ret->has_address = has_addr;
        return true;
}

struct trace_line {
        const char *comm;
        size_t comm_len;
        uint32_t pid;
        uint32_t cpu;
        uint64_t ts_nsec;
        const char *event;      /* event name, or "<stack trace>" */
        size_t event_len;
        const char *details;
        size_t details_len;
        bool stack;
};

/* "  python3-27107   [001] .....  2393.843594: kmem_cache_alloc: call_site=..."
 * and trace-cmd's "python3-27107 [001]  2393.843594: kernel_stack: <stack trace >" */
static bool parse_trace_line(const char *s, size_t n, struct trace_line *ret) {
        struct trace_line tl = {};
        const char *br = NULL, *close = NULL;
        for (const char *q = s; q + 2 < s + n; q++) {
                q = memchr(q, '[', (size_t) (s + n - q));
                if (!q)
                        break;
                const char *d = q + 1;
                while (d < s + n && is_digit(*d))
                        d++;
                if (d > q + 1 && d < s + n && *d == ']' && q > s && is_blank(q[-1])) {
                        br = q;
                        close = d;
                        if (parse_u32(q + 1, (size_t) (d - q - 1), &tl.cpu) < 0)
                                return false;
                        break;
                }
        }
        if (!br)
                return false;
        /* "comm-pid" possibly followed by "(tgid)" */
        const char *a = s, *b = br;
        size_t an = (size_t) (b - a);
        trim(&a, &an);
        if (an > 0 && a[an - 1] == ')') {
                const char *open = memrchr(a, '(', an);
                if (!open)
                        return false;
                an = (size_t) (open - a);
                trim(&a, &an);
        }
        const char *dash = an > 0 ? memrchr(a, '-', an) : NULL;
        if (!dash || dash == a || parse_u32(dash + 1, (size_t) (a + an - dash - 1), &tl.pid) < 0)
                return false;
        tl.comm = a;
        tl.comm_len = (size_t) (dash - a);

        /* Past "]": optional flags, then "<seconds>:" */
        const char *r = close + 1;
        struct textscan sc = textscan_init(r, (size_t) (s + n - r));
        const char *tok;
        size_t tlen;
        bool have_ts = false;
        for (int i = 0; i < 3 && textscan_token(&sc, &tok, &tlen); i++)
                if (tlen > 1 && tok[tlen - 1] == ':' && parse_seconds(tok, tlen - 1, &tl.ts_nsec) == 0) {
                        have_ts = true;
                        break;
                }
        if (!have_ts)
                return false;
        const char *e = sc.p;
        size_t en = (size_t) (s + n - e);
        trim(&e, &en);
        if (has_prefix(e, en, "<stack trace")) {
                tl.stack = true;
                tl.event = e;
                tl.event_len = en;
                *ret = tl;
                return true;
        }
        const char *colon = memchr(e, ':', en);
        if (!colon || colon == e)
                return false;
        tl.event = e;
        tl.event_len = (size_t) (colon - e);
        for (size_t i = 0; i < tl.event_len; i++)
                if (is_blank(e[i]))
                        return false;
        tl.details = colon + 1;
        tl.details_len = (size_t) (e + en - colon - 1);
        trim(&tl.details, &tl.details_len);
        if (tl.event_len == 12 && memcmp(e, "kernel_stack", 12) == 0 &&
            has_prefix(tl.details, tl.details_len, "<stack trace"))
                tl.stack = true;
        *ret = tl;
        return true;
}

/* "key=value" in tracefs event details. */
static bool find_field(const char *s, size_t n, const char *key, const char **ret, size_t *ret_len) {
        struct textscan sc = textscan_init(s, n);
        const char *tok;
        size_t tl, kl = strlen(key);
        while (textscan_token(&sc, &tok, &tl))
                if (tl > kl && memcmp(tok, key, kl) == 0 && tok[kl] == '=') {
                        *ret = tok + kl + 1;
                        *ret_len = tl - kl - 1;
                        return true;
                }
        return false;
}

static void remember_event(struct stackdump_parser *p, const struct trace_line *tl) {
        struct event_slot *e = &p->events[tl->cpu % EVENT_SLOTS];
        *e = (struct event_slot) { .valid = true, .line = p->line_no, .cpu = tl->cpu, .pid = tl->pid };
        copy_text(e->event, sizeof e->event, tl->event, tl->event_len);
        const char *v;
        size_t vl;
        if (find_field(tl->details, tl->details_len, "name", &v, &vl)) {
                copy_text(e->cache, sizeof e->cache, v, vl);
                e->has_cache = true;
        }
        if (find_field(tl->details, tl->details_len, "ptr", &v, &vl) && parse_hex(v, vl, &e->ptr) == 0)
                e->has_ptr = true;
}

static void begin_tracefs_stack(struct stackdump_parser *p, const struct trace_line *tl) {
        struct stackdump_context ctx = {};
        ctx.cpu = tl->cpu;
        ctx.pid = tl->pid;
        copy_text(ctx.comm, sizeof ctx.comm, tl->comm, tl->comm_len);
        ctx.timestamp_nsec = tl->ts_nsec;
        ctx.have = STACKDUMP_HAVE_CPU | STACKDUMP_HAVE_PID | STACKDUMP_HAVE_COMM | STACKDUMP_HAVE_TIMESTAMP;
        uint64_t line = p->line_no;
        struct event_slot *e = &p->events[tl->cpu % EVENT_SLOTS];
        if (e->valid && e->cpu == tl->cpu && e->pid == tl->pid &&
            p->line_no - e->line <= STACKDUMP_CONTEXT_LINES_MAX) {
                memcpy(ctx.event, e->event, sizeof ctx.event);
                ctx.have |= STACKDUMP_HAVE_EVENT;
                if (e->has_cache) {
                        memcpy(ctx.cache, e->cache, sizeof ctx.cache);
                        ctx.have |= STACKDUMP_HAVE_CACHE;
                }
                if (e->has_ptr) {
                        ctx.ptr = e->ptr;
                        ctx.have |= STACKDUMP_HAVE_PTR;
                }
                line = e->line;
                e->valid = false;
        }
        stack_begin(p, STATE_TRACEFS, STACKDUMP_FORMAT_TRACEFS, line, &ctx);
}

/* "    338 pci_alloc_dev+0x2c/0xa0 waste=521872/1544 age=290837/291891/293509 pid=1 cpus=106"
 * The call site may carry " [module]"; what follows is key=value, with at
 * least one key alloc_traces prints, so ordinary numbered log lines do not
 * match. */
static bool parse_alloc_entry(const char *s, size_t n, uint64_t *ret_count, struct stackdump_symbol *ret_site) {
        struct textscan sc = textscan_init(s, n);
        const char *tok, *site;
        size_t tl, sl;
        uint64_t count;
        if (!textscan_token(&sc, &tok, &tl) || textscan_u64(tok, tl, &count) < 0)
                return false;
        if (!textscan_token(&sc, &site, &sl))
                return false;
        const char *site_end = site + sl;
        bool known = false;
        if (textscan_token(&sc, &tok, &tl) && tok[0] == '[') {
                while (tok[tl - 1] != ']')
                        if (!textscan_token(&sc, &tok, &tl))
                                return false;
                site_end = tok + tl;
        } else
                sc = textscan_init(site + sl, (size_t) (s + n - site - sl));
        while (textscan_token(&sc, &tok, &tl)) {
                const char *eq = memchr(tok, '=', tl);
                if (!eq)
                        return false;
                size_t kl = (size_t) (eq - tok);
                if ((kl == 3 && (memcmp(tok, "age", 3) == 0 || memcmp(tok, "pid", 3) == 0)) ||
                    (kl == 4 && memcmp(tok, "cpus", 4) == 0) ||
                    (kl == 5 && (memcmp(tok, "waste", 5) == 0 || memcmp(tok, "nodes", 5) == 0)))
                        known = true;
        }
        if (!known)
                return false;
        if (sl == 15 && memcmp(site, "<not-available>", 15) == 0)
                *ret_site = (struct stackdump_symbol) { .name = site, .name_len = sl, .module = "" };
        else if (stackdump_parse_symbol(site, (size_t) (site_end - site), ret_site) < 0)
                return false;
        *ret_count = count;
        return true;
}

/* A line that could not be read ends any stack in progress. */
static int bad_line(struct stackdump_parser *p, int error) {
        p->n_errors++;
        if (p->on_error)
                p->on_error(p->line_no, error, p->userdata);
        return stack_end(p);
}

static void context_set_timestamp(struct stackdump_context *ctx, uint64_t ts, bool has_ts) {
        if (has_ts && !(ctx->have & STACKDUMP_HAVE_TIMESTAMP)) {
                ctx->timestamp_nsec = ts;
                ctx->have |= STACKDUMP_HAVE_TIMESTAMP;
        }
}

/* Context that starts a new dump. */
static void pending_start(struct stackdump_parser *p, const struct stackdump_context *ctx, uint64_t ts, bool has_ts) {
        p->pending = (struct pending) {
                .active = true, .line = p->line_no, .last_line = p->line_no, .ctx = *ctx,
        };
        context_set_timestamp(&p->pending.ctx, ts, has_ts);
}

static int process_idle(struct stackdump_parser *p, const char *s, size_t n, uint64_t ts, bool has_ts) {
        struct stackdump_context ctx;
        struct trace_line tl;
        struct stackdump_symbol site;
        uint64_t count;

        if (p->pending.active && p->line_no - p->pending.last_line > STACKDUMP_CONTEXT_LINES_MAX)
                p->pending.active = false;

        if (n == 0)
                return 0;
        if (parse_header(s, n, &ctx)) {
                struct pending *pd = &p->pending;
                if (pd->active && (pd->ctx.have & STACKDUMP_HAVE_CACHE) && !(pd->ctx.have & STACKDUMP_HAVE_CPU)) {
                        /* The dump_stack() of a SLUB TRACE record: keep what
                         * the record said, add who and where. */
                        struct stackdump_context t = pd->ctx;
                        pd->ctx = ctx;
                        memcpy(pd->ctx.cache, t.cache, sizeof t.cache);
                        memcpy(pd->ctx.event, t.event, sizeof t.event);
                        pd->ctx.ptr = t.ptr;
                        pd->ctx.timestamp_nsec = t.timestamp_nsec;
                        pd->ctx.have |= t.have & (STACKDUMP_HAVE_CACHE | STACKDUMP_HAVE_EVENT |
                                                  STACKDUMP_HAVE_PTR | STACKDUMP_HAVE_TIMESTAMP);
                        pd->last_line = p->line_no;
                        context_set_timestamp(&pd->ctx, ts, has_ts);
                } else
                        pending_start(p, &ctx, ts, has_ts);
                return 0;
        }
        if (parse_hung_task(s, n, &ctx)) {
                pending_start(p, &ctx, ts, has_ts);
                return 0;
        }
        if (parse_task_line(s, n, &ctx)) {
                struct pending *pd = &p->pending;
                if (pd->active && !(pd->ctx.have & STACKDUMP_HAVE_CPU) &&
                    (!(pd->ctx.have & STACKDUMP_HAVE_PID) || pd->ctx.pid == ctx.pid)) {
                        pd->ctx.pid = ctx.pid;
                        memcpy(pd->ctx.comm, ctx.comm, sizeof ctx.comm);
                        pd->ctx.have |= ctx.have;
                        pd->last_line = p->line_no;
                        context_set_timestamp(&pd->ctx, ts, has_ts);
                } else
                        pending_start(p, &ctx, ts, has_ts);
                return 0;
        }
        if (p->pending.active && parse_taint_line(s, n, &p->pending.ctx)) {
                p->pending.last_line = p->line_no;
                return 0;
        }
        if (parse_slub_trace(s, n, &ctx)) {
                pending_start(p, &ctx, ts, has_ts);
                return 0;
        }
        if (is_call_trace(s, n)) {
                struct stackdump_context c = {};
                uint64_t line = p->line_no;
                if (p->pending.active) {
                        c = p->pending.ctx;
                        line = p->pending.line;
                        p->pending.active = false;
                }
                context_set_timestamp(&c, ts, has_ts);
                stack_begin(p, STATE_DMESG, STACKDUMP_FORMAT_DMESG, line, &c);
                return 0;
        }
        if (n >= 2 && is_digit(s[0]) && parse_alloc_entry(s, n, &count, &site)) {
                stack_begin(p, STATE_ALLOC, STACKDUMP_FORMAT_ALLOC_TRACES, p->line_no, NULL);
                p->cur.weight = count;
                return frame_from_symbol(p, &site, &p->entry_frame);
        }
        if (parse_trace_line(s, n, &tl)) {
                if (tl.stack)
                        begin_tracefs_stack(p, &tl);
                else
                        remember_event(p, &tl);
                return 0;
        }
        return 0;
}

static int process_line(struct stackdump_parser *p, const char *line, size_t len) {
        uint64_t ts = 0;
        bool has_ts = false;
        strip_prefixes(&line, &len, &ts, &has_ts);
        const char *s = line;
        size_t n = len;
        trim(&s, &n);
        struct stackdump_frame f;
        int r;

        switch (p->state) {
        case STATE_DMESG:
                if (n == 0)
                        return stack_end(p);
                if (is_marker(s, n)) {
                        if (has_prefix(s, n, "</TASK>"))
                                return stack_end(p);
                        return 0;
                }
                /* 3.x/4.x x86: "<IRQ>  [<ffffffff813d1e7c>] dump_stack+0x63/0x87" */
                if (s[0] == '<') {
                        const char *gt = memchr(s, '>', n);
                        if (gt && is_marker(s, (size_t) (gt - s + 1)) && (size_t) (gt - s + 1) < n) {
                                n -= (size_t) (gt - s + 1);
                                s = gt + 1;
                                trim(&s, &n);
                        }
                }
                if (parse_dmesg_frame(p, s, n, &f)) {
                        frame_push(p, &f);
                        return 0;
                }
                if (is_register_line(s, n))
                        return 0;
                break;
        case STATE_TRACEFS:
                if (parse_tracefs_frame(p, s, n, &f)) {
                        frame_push(p, &f);
                        return 0;
                }
                break;
        case STATE_ALLOC:
                if (n == 0)
                        return stack_end(p);
                if (!is_digit(s[0])) {
                        struct stackdump_symbol sym;
                        if (stackdump_parse_symbol(s, n, &sym) == 0 && frame_from_symbol(p, &sym, &f) == 0) {
                                frame_push(p, &f);
                                return 0;
                        }
                }
                break;
        case STATE_IDLE:
                return process_idle(p, s, n, ts, has_ts);
        }
        /* Not part of the stack in progress: it ends, and the line starts over. */
        r = stack_end(p);
        if (r < 0)
                return r;
        return process_idle(p, s, n, ts, has_ts);
}

static int take_line(struct stackdump_parser *p, const char *line, size_t len, bool overlong) {
        p->line_no++;
        if (len > 0 && line[len - 1] == '\r')
                len--;
        if (overlong || len > STACKDUMP_LINE_MAX)
                return bad_line(p, -E2BIG);
        if (memchr(line, '\0', len))
                return bad_line(p, -EBADMSG);
        return process_line(p, line, len);
}

int stackdump_parser_new(stackdump_stack_fn on_stack, stackdump_error_fn on_error, void *userdata,
                         struct stackdump_parser **ret) {
        if (!on_stack || !ret)
                return -EINVAL;
        struct stackdump_parser *p = calloc(1, sizeof *p);
        if (!p)
                return -ENOMEM;
        p->strings = malloc(STRINGS_SIZE);
        if (!p->strings) {
                free(p);
                return -ENOMEM;
        }
        p->on_stack = on_stack;
        p->on_error = on_error;
        p->userdata = userdata;
        p->cur.frames = p->frames;
        *ret = p;
        return 0;
}

void stackdump_parser_free(struct stackdump_parser *p) {
        if (!p)
                return;
        free(p->strings);
        free(p);
}

int stackdump_parser_feed(struct stackdump_parser *p, const char *buf, size_t len) {
        if (p->finished)
                return -EINVAL;
        if (p->stopped)
                return p->stopped;
        while (len > 0) {
                const char *nl = memchr(buf, '\n', len);
                size_t n = nl ? (size_t) (nl - buf) : len;
                int r = 0;
                if (nl && p->line_len == 0 && !p->line_overlong)
                        r = take_line(p, buf, n, false);
                else {
                        if (!p->line_overlong) {
                                if (p->line_len + n > STACKDUMP_LINE_MAX + 1)
                                        p->line_overlong = true;
                                else {
                                        memcpy(p->line + p->line_len, buf, n);
                                        p->line_len += n;
                                }
                        }
                        if (nl) {
                                r = take_line(p, p->line, p->line_len, p->line_overlong);
                                p->line_len = 0;
                                p->line_overlong = false;
                        }
                }
                if (r < 0)
                        return p->stopped = r;
                if (!nl)
                        break;
                buf = nl + 1;
                len -= n + 1;
        }
        return 0;
}

int stackdump_parser_finish(struct stackdump_parser *p) {
        if (p->finished)
                return p->stopped;
        if (p->stopped)
                return p->stopped;
        int r = 0;
        if (p->line_len > 0 || p->line_overlong)
                r = take_line(p, p->line, p->line_len, p->line_overlong);
        p->line_len = 0;
        p->line_overlong = false;
        if (r >= 0)
                r = stack_end(p);
        p->finished = true;
        if (r < 0)
                p->stopped = r;
        return r;
}

uint64_t stackdump_parser_lines(const struct stackdump_parser *p) {
        return p->line_no;
}

uint64_t stackdump_parser_errors(const struct stackdump_parser *p) {
        return p->n_errors;
}

int stackdump_parse(const char *buf, size_t len, stackdump_stack_fn on_stack, stackdump_error_fn on_error,
                    void *userdata) {
        struct stackdump_parser *p;
        int r = stackdump_parser_new(on_stack, on_error, userdata, &p);
        if (r < 0)
                return r;
        r = stackdump_parser_feed(p, buf, len);
        if (r >= 0)
                r = stackdump_parser_finish(p);
        stackdump_parser_free(p);
        return r;
}
