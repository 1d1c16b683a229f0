/* stackdump — a line-driven state machine over kernel log text.
 *
 * Each line first loses the prefixes that loggers put in front of the
 * kernel's own text (syslog/journal "host kernel: ", /dev/kmsg records,
 * "<4>" levels, "[  12.345678]" timestamps, "[  T123]" callers, kmemleak's
 * "kmemleak: "). What is left is classified:
 *   - "CPU: 3 PID: 0 Comm: swapper/3 Tainted: P O 3.18.21 #9", SLUB
 *     "TRACE <cache> alloc|free 0x<ptr> ..." and hung-task lines become
 *     pending context for the next "Call Trace:" (register and object dumps
 *     may sit in between) — stackdump_console.c;
 *   - "Call Trace:" starts a dmesg stack, and so does an ARM32 "(f) from (g)"
 *     line; it runs until "</TASK>", a blank line, or a line that is not a
 *     frame, a marker or a register line — stackdump_frames.c;
 *   - report headers (kmemleak "backtrace:", SLUB "Allocated in", KASAN
 *     "Freed by task N:", page_owner "Page allocated via", page_owner_sort
 *     "N times:") start an indented frame list, labelled allocation or free
 *     — stackdump_reports.c;
 *   - a tracefs "<stack trace>" line starts a tracefs stack of " => func"
 *     lines, "  338 func+0x2c/0xa0 age=..." an alloc_traces entry —
 *     stackdump_tracefs.c.
 * A line inside a stack that is none of these and does not begin anything
 * else (a mail-wrapped tail, an interleaved TRACE or hexdump line) is held:
 * if a frame follows within STACKDUMP_SKIP_MAX lines the stack goes on and
 * the held lines are reported as skipped (-ENOMSG); otherwise the stack ends
 * before them and they are read again on their own. Everything else is
 * ignored: console logs are mostly other messages. */
#include "stacks/stackdump_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/textscan.h"

/* Where the syslog/journal "kernel: " prefix may end at the latest. */
#define SYSLOG_PREFIX_MAX 128

const char *stackdump_error_message(int error) {
        switch (error) {
        case -E2BIG:
                return "line too long, skipped";
        case -EBADMSG:
                return "binary data (NUL byte) in line, skipped";
        case -ENOMSG:
                return "line inside a stack not understood, stepped over";
        case -EPIPE:
                return "printk dropped messages inside a stack: it may miss frames";
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
        case STACKDUMP_FORMAT_KMEMLEAK:
                return "kmemleak";
        case STACKDUMP_FORMAT_SLUB_OBJECT:
                return "slub_object";
        case STACKDUMP_FORMAT_KASAN:
                return "kasan";
        case STACKDUMP_FORMAT_PAGE_OWNER:
                return "page_owner";
        default:
                return "unknown";
        }
}

const char *stackdump_role_name(enum stackdump_role r) {
        switch (r) {
        case STACKDUMP_ROLE_ALLOC:
                return "allocation";
        case STACKDUMP_ROLE_FREE:
                return "free";
        default:
                return "stack";
        }
}

const char *stackdump_formats_looked_for(void) {
        return "\"Call Trace:\"/\"Call trace:\"/\"Backtrace:\" and frames (x86, arm64, MIPS, powerpc, "
                "symbolized), ARM \"[<c0..>] (f) from [<c0..>] (g+0x1/0x2)\", tracefs \"<stack trace>\" and \" => f\", "
                "SLUB \"TRACE cache alloc\", \"Allocated in f+0x1/0x2 age=\", alloc_traces \"  338 f+0x1/0x2 age=\", "
                "kmemleak \"unreferenced object\" ... \"backtrace:\", KASAN \"Allocated by task N:\", "
                "page_owner \"Page allocated via order\", page_owner_sort \"N times:\"";
}

void sd_frame_push(struct stackdump_parser *p, const struct stackdump_frame *f) {
        if (p->cur.n_frames < STACKDUMP_FRAMES_MAX)
                p->frames[p->cur.n_frames++] = *f;
        else
                p->cur.n_frames_dropped++;
}

void sd_stack_begin(struct stackdump_parser *p, enum sd_state state, enum stackdump_format format,
                    enum stackdump_role role, uint64_t line, const struct stackdump_context *ctx) {
        p->state = state;
        p->cur = (struct stackdump_stack) {
                .format = format,
                .role = role,
                .line = line,
                .weight = 1,
                .frames = p->frames,
        };
        if (ctx)
                p->cur.ctx = *ctx;
        p->strings_len = 0;
        p->have_entry_frame = false;
        p->arm_chain = false;
}

static int dispatch(struct stackdump_parser *p, const char *s, size_t n, uint64_t ts, bool has_ts);

/* The held lines were not part of the stack that just ended: read them
 * again, in order, as lines of their own. */
static int replay_held(struct stackdump_parser *p) {
        uint64_t line_no = p->line_no;
        int r = 0;
        p->replaying = true;
        for (size_t i = 0; i < p->n_held && r >= 0; i++) {
                struct sd_held *h = &p->held[i];
                p->line_no = h->line_no;
                r = dispatch(p, h->text, h->len, h->ts, h->has_ts);
        }
        p->line_no = line_no;
        p->n_held = 0;
        p->replaying = false;
        return r;
}

int sd_stack_end(struct stackdump_parser *p) {
        enum sd_state state = p->state;
        int r = 0;
        p->state = SD_STATE_IDLE;
        p->arm_chain = false;
        if (state != SD_STATE_IDLE) {
                if (p->cur.n_frames == 0 && p->have_entry_frame) {
                        /* No stack stored (alloc_traces before 5.19, sysfs
                         * alloc_calls, SLUB without CONFIG_STACKTRACE): the
                         * call site alone is the stack. */
                        p->frames[0] = p->entry_frame;
                        p->cur.n_frames = 1;
                }
                /* A count of 0 (an alloc_traces entry or "0 times:") holds
                 * no objects: nothing to rank, and weights are at least 1. */
                if (p->cur.n_frames > 0 && p->cur.weight > 0) {
                        p->n_stacks++;
                        r = p->on_stack(&p->cur, p->userdata);
                }
        }
        p->have_entry_frame = false;
        if (r >= 0 && p->n_held > 0 && !p->replaying)
                r = replay_held(p);
        return r;
}

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
        if (n > 0 && sd_is_digit(s[0])) {
                size_t i = 0, commas = 0, ts_start = 0, ts_end = 0;
                while (i < n && i < 64 && s[i] != ';') {
                        if (s[i] == ',') {
                                commas++;
                                if (commas == 2)
                                        ts_start = i + 1;
                                else if (commas == 3)
                                        ts_end = i;
                        } else if (commas < 3 && !sd_is_digit(s[i]))
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
        if (n >= 3 && s[0] == '<' && sd_is_digit(s[1])) {
                size_t i = 1;
                while (i < n && i < 5 && sd_is_digit(s[i]))
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
                while (i < n && (sd_is_digit(s[i]) || s[i] == '.'))
                        i++;
                uint64_t nsec;
                if (i < n && s[i] == ']' && i > start && sd_parse_seconds(s + start, i - start, &nsec) == 0) {
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
                                        while (i < n && sd_is_digit(s[i]))
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

static void report_line(struct stackdump_parser *p, uint64_t line, int error) {
        p->n_errors++;
        if (p->on_error)
                p->on_error(line, error, p->userdata);
}

/* A line that could not be read ends any stack in progress. */
static int bad_line(struct stackdump_parser *p, int error) {
        report_line(p, p->line_no, error);
        return sd_stack_end(p);
}

static void context_set_timestamp(struct stackdump_context *ctx, uint64_t ts, bool has_ts) {
        if (has_ts && !(ctx->have & STACKDUMP_HAVE_TIMESTAMP)) {
                ctx->timestamp_nsec = ts;
                ctx->have |= STACKDUMP_HAVE_TIMESTAMP;
        }
}

/* Context that starts a new dump. */
static void pending_start(struct stackdump_parser *p, const struct stackdump_context *ctx, uint64_t ts, bool has_ts) {
        p->pending = (struct sd_pending) {
                .active = true, .line = p->line_no, .last_line = p->line_no, .ctx = *ctx,
        };
        context_set_timestamp(&p->pending.ctx, ts, has_ts);
}

/* A dmesg stack starts with the pending context, if any. The dump_stack()
 * of a SLUB TRACE record is the stack of that allocation or free. */
static void begin_dmesg(struct stackdump_parser *p, uint64_t ts, bool has_ts) {
        struct stackdump_context c = {};
        uint64_t line = p->line_no;
        enum stackdump_role role = STACKDUMP_ROLE_STACK;
        if (p->pending.active) {
                c = p->pending.ctx;
                line = p->pending.line;
                p->pending.active = false;
                if ((c.have & STACKDUMP_HAVE_CACHE) && (c.have & STACKDUMP_HAVE_EVENT)) {
                        if (strcmp(c.event, "alloc") == 0)
                                role = STACKDUMP_ROLE_ALLOC;
                        else if (strcmp(c.event, "free") == 0)
                                role = STACKDUMP_ROLE_FREE;
                }
        }
        context_set_timestamp(&c, ts, has_ts);
        sd_stack_begin(p, SD_STATE_DMESG, STACKDUMP_FORMAT_DMESG, role, line, &c);
}

static int process_idle(struct stackdump_parser *p, const char *s, size_t n, uint64_t ts, bool has_ts) {
        struct stackdump_context ctx;
        int r;

        if (p->pending.active && p->line_no - p->pending.last_line > STACKDUMP_CONTEXT_LINES_MAX)
                p->pending.active = false;

        if (n == 0)
                return 0;
        if (sd_parse_header(s, n, &ctx)) {
                struct sd_pending *pd = &p->pending;
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
        if (sd_parse_hung_task(s, n, &ctx)) {
                pending_start(p, &ctx, ts, has_ts);
                return 0;
        }
        if (sd_parse_task_line(s, n, &ctx)) {
                struct sd_pending *pd = &p->pending;
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
        if (p->pending.active && sd_parse_taint_line(s, n, &p->pending.ctx)) {
                p->pending.last_line = p->line_no;
                return 0;
        }
        if (sd_parse_slub_trace(s, n, &ctx)) {
                pending_start(p, &ctx, ts, has_ts);
                return 0;
        }
        if (sd_report_line(p, s, n, ts, has_ts, &r))
                return r;
        if (sd_is_call_trace(s, n)) {
                begin_dmesg(p, ts, has_ts);
                return 0;
        }
        if (s[0] == '[' && sd_is_arm_line(s, n)) {
                /* ARM32 with the unwinder prints frames without a "Call Trace:" line. */
                begin_dmesg(p, ts, has_ts);
                if (!sd_parse_arm_line(p, s, n))
                        p->state = SD_STATE_IDLE;
                return 0;
        }
        if (sd_has_prefix(s, n, "Function entered at ") && sd_is_arm_line(s, n)) {
                begin_dmesg(p, ts, has_ts);
                if (!sd_parse_arm_line(p, s, n))
                        p->state = SD_STATE_IDLE;
                return 0;
        }
        if (sd_alloc_entry_line(p, s, n, &r))
                return r;
        if (sd_tracefs_line(p, s, n, &r))
                return r;
        return 0;
}

/* A frame came after held lines: they were inside the stack after all. */
static int frame_taken(struct stackdump_parser *p) {
        for (size_t i = 0; i < p->n_held; i++) {
                struct sd_held *h = &p->held[i];
                struct stackdump_context ctx;
                p->cur.n_lines_skipped++;
                report_line(p, h->line_no, -ENOMSG);
                /* Another CPU's TRACE record: its own dump comes later. */
                if (sd_parse_slub_trace(h->text, h->len, &ctx)) {
                        uint64_t line_no = p->line_no;
                        p->line_no = h->line_no;
                        pending_start(p, &ctx, h->ts, h->has_ts);
                        p->line_no = line_no;
                }
        }
        p->n_held = 0;
        return 0;
}

static bool is_ellipsis(const char *s, size_t n) {
        return n == 3 && memcmp(s, "...", 3) == 0;
}

/* Whether a line that is not part of the stack in progress may be stepped over. */
static bool may_hold(struct stackdump_parser *p, const char *s, size_t n) {
        if (p->replaying || p->n_held >= STACKDUMP_SKIP_MAX || n == 0)
                return false;
        if (sd_is_digit(s[0]) || sd_starts_other(s, n) || sd_is_trace_line(s, n))
                return false;
        return true;
}

static int dispatch(struct stackdump_parser *p, const char *s, size_t n, uint64_t ts, bool has_ts) {
        struct stackdump_frame f;
        int r;

        switch (p->state) {
        case SD_STATE_DMESG:
                if (n == 0)
                        return sd_stack_end(p);
                if (sd_is_marker(s, n)) {
                        if (sd_has_prefix(s, n, "</TASK>"))
                                return sd_stack_end(p);
                        return 0;
                }
                /* 3.x/4.x x86: "<IRQ>  [<ffffffff813d1e7c>] dump_stack+0x63/0x87" */
                if (s[0] == '<') {
                        const char *gt = memchr(s, '>', n);
                        if (gt && sd_is_marker(s, (size_t) (gt - s + 1)) && (size_t) (gt - s + 1) < n) {
                                n -= (size_t) (gt - s + 1);
                                s = gt + 1;
                                sd_trim(&s, &n);
                        }
                }
                if ((s[0] == '[' || s[0] == 'F') && sd_is_arm_line(s, n) && sd_parse_arm_line(p, s, n))
                        return frame_taken(p);
                if (sd_parse_dmesg_frame(p, s, n, &f)) {
                        sd_frame_push(p, &f);
                        return frame_taken(p);
                }
                if (sd_is_register_line(s, n) || sd_is_exception_dump(s, n) || is_ellipsis(s, n))
                        return 0;
                break;
        case SD_STATE_TRACEFS:
                if (sd_parse_tracefs_frame(p, s, n, &f)) {
                        /* " => 0": padding where the stack was shorter than its slot */
                        if (strcmp(f.function, "0") != 0)
                                sd_frame_push(p, &f);
                        return frame_taken(p);
                }
                if (is_ellipsis(s, n))
                        return 0;
                break;
        case SD_STATE_ALLOC:
                if (n == 0)
                        return sd_stack_end(p);
                if (!sd_is_digit(s[0])) {
                        struct stackdump_symbol sym;
                        if (stackdump_parse_symbol(s, n, &sym) == 0 && sd_frame_from_symbol(p, &sym, &f) == 0) {
                                sd_frame_push(p, &f);
                                return frame_taken(p);
                        }
                }
                break;
        case SD_STATE_LIST:
                if (n == 0)
                        return sd_stack_end(p);
                if (sd_parse_dmesg_frame(p, s, n, &f)) {
                        sd_frame_push(p, &f);
                        return frame_taken(p);
                }
                if (sd_report_list_header(p, s, n) || is_ellipsis(s, n))
                        return 0;
                break;
        case SD_STATE_IDLE:
                return process_idle(p, s, n, ts, has_ts);
        }
        if (sd_is_messages_dropped(s, n)) {
                p->cur.incomplete = true;
                report_line(p, p->line_no, -EPIPE);
                return 0;
        }
        if (may_hold(p, s, n)) {
                struct sd_held *h = &p->held[p->n_held++];
                h->line_no = p->line_no;
                h->ts = ts;
                h->has_ts = has_ts;
                h->len = n;
                memcpy(h->text, s, n);
                h->text[n] = '\0';
                return 0;
        }
        /* Not part of the stack in progress: it ends, and the line starts over. */
        r = sd_stack_end(p);
        if (r < 0)
                return r;
        return process_idle(p, s, n, ts, has_ts);
}

static int process_line(struct stackdump_parser *p, const char *line, size_t len) {
        uint64_t ts = 0;
        bool has_ts = false;
        strip_prefixes(&line, &len, &ts, &has_ts);
        const char *s = line;
        size_t n = len;
        sd_trim(&s, &n);
        if (n > 10 && s[0] == 'k' && sd_has_prefix(s, n, "kmemleak: ")) {
                s += 10, n -= 10;
                sd_trim(&s, &n);
        }
        return dispatch(p, s, n, ts, has_ts);
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
        p->strings = malloc(SD_STRINGS_SIZE);
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
                r = sd_stack_end(p);
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

uint64_t stackdump_parser_stacks(const struct stackdump_parser *p) {
        return p->n_stacks;
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
