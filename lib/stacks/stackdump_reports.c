/* stackdump_reports — the reports that print an object's own stacks rather
 * than where they were printed from. The header lines become the context of
 * the indented frame list that follows:
 *   kmemleak:   "unreferenced object 0xffff8880 (size 64):",
 *               "  comm "modprobe", pid 312, jiffies 4294893008 (age 21.160s)",
 *               "  hex dump (first 32 bytes):" ..., "  backtrace (crc 5e0f8b2a):"
 *   SLUB:       "BUG kmalloc-64 (Tainted: G B): Objects remaining in kmalloc-64 on
 *               __kmem_cache_shutdown()", "Object 0x... @offset=0",
 *               "INFO: Allocated in fn+0x1/0x2 age=301 cpu=0 pid=1", "Freed in ..."
 *   KASAN:      "BUG: KASAN: slab-use-after-free in fn+0x1/0x2",
 *               "Allocated by task 812:", "Freed by task 812 on cpu 1 at 9.81s:"
 *   page_owner: "Page allocated via order 0, mask 0xcc0(GFP_KERNEL), pid 1, tgid 1
 *               (swapper/0), ts 1802733 ns", "PFN 0x10a2 type Unmovable ...",
 *               "page last free pid 7 tgid 7 stack trace:";
 *               page_owner_sort: "12 times, 12 pages:" (the stack's weight).
 * Every one of these stacks is labelled allocation or free. */
#include "stacks/stackdump_internal.h"

#include "base/textscan.h"

static void report_start(struct stackdump_parser *p, enum stackdump_format format,
                         const struct stackdump_context *ctx) {
        p->report = (struct sd_report) {
                .active = true, .format = format, .line = p->line_no, .last_line = p->line_no, .ctx = *ctx,
        };
}

/* The report of @format whose header is close enough above to apply. */
static struct sd_report *report_fresh(struct stackdump_parser *p, enum stackdump_format format) {
        struct sd_report *r = &p->report;
        if (!r->active || r->format != format || p->line_no - r->last_line > STACKDUMP_CONTEXT_LINES_MAX)
                return NULL;
        r->last_line = p->line_no;
        return r;
}

static void list_begin(struct stackdump_parser *p, enum stackdump_format format, enum stackdump_role role,
                       uint64_t line, const struct stackdump_context *ctx, uint64_t ts, bool has_ts) {
        sd_stack_begin(p, SD_STATE_LIST, format, role, line, ctx);
        if (has_ts && !(p->cur.ctx.have & STACKDUMP_HAVE_TIMESTAMP)) {
                p->cur.ctx.timestamp_nsec = ts;
                p->cur.ctx.have |= STACKDUMP_HAVE_TIMESTAMP;
        }
}

/* "unreferenced object 0xffff888003a4c380 (size 64):", also "(percpu)" and "(phys)" objects. */
static bool parse_kmemleak_object(const char *s, size_t n, struct stackdump_context *ret) {
        if (!sd_has_prefix(s, n, "unreferenced object "))
                return false;
        const char *a = s + 20, *end = s + n;
        if (*a == '(') {
                const char *close = memchr(a, ')', (size_t) (end - a));
                if (!close)
                        return false;
                a = close + 1;
                while (a < end && *a == ' ')
                        a++;
        }
        const char *ae = a;
        while (ae < end && !sd_is_blank(*ae))
                ae++;
        struct stackdump_context ctx = {};
        if (!sd_has_prefix(a, (size_t) (ae - a), "0x") || sd_parse_hex(a, (size_t) (ae - a), &ctx.ptr) < 0)
                return false;
        ctx.have |= STACKDUMP_HAVE_PTR;
        if (sd_number_after(ae, (size_t) (end - ae), "(size ", &ctx.object_bytes))
                ctx.have |= STACKDUMP_HAVE_SIZE;
        *ret = ctx;
        return true;
}

/* "comm "kworker/u8:1", pid 61, jiffies 4294894222 (age 8.532s)"; "(age ...)" is older kernels' */
static bool parse_kmemleak_comm(const char *s, size_t n, struct stackdump_context *ctx) {
        if (!sd_has_prefix(s, n, "comm \""))
                return false;
        const char *c = s + 6, *end = s + n;
        const char *q = textscan_find(c, (size_t) (end - c), "\", pid ");
        if (!q)
                return true;
        sd_copy_text(ctx->comm, sizeof ctx->comm, c, (size_t) (q - c));
        ctx->have |= STACKDUMP_HAVE_COMM;
        uint64_t v;
        if (sd_number_after(q, (size_t) (end - q), ", pid ", &v) && v <= UINT32_MAX) {
                ctx->pid = (uint32_t) v;
                ctx->have |= STACKDUMP_HAVE_PID;
        }
        if (sd_number_after(q, (size_t) (end - q), ", jiffies ", &ctx->jiffies))
                ctx->have |= STACKDUMP_HAVE_JIFFIES;
        const char *age = textscan_find(q, (size_t) (end - q), "(age ");
        if (age) {
                const char *d = age + 5, *de = d;
                while (de < end && (sd_is_digit(*de) || *de == '.'))
                        de++;
                uint64_t nsec;
                if (de < end && *de == 's' && sd_parse_seconds(d, (size_t) (de - d), &nsec) == 0) {
                        ctx->age_msec = nsec / 1000000u;
                        ctx->have |= STACKDUMP_HAVE_AGE;
                }
        }
        return true;
}

static bool kmemleak_line(struct stackdump_parser *p, const char *s, size_t n, uint64_t ts, bool has_ts) {
        struct stackdump_context ctx;
        if (parse_kmemleak_object(s, n, &ctx)) {
                report_start(p, STACKDUMP_FORMAT_KMEMLEAK, &ctx);
                return true;
        }
        struct sd_report *r = report_fresh(p, STACKDUMP_FORMAT_KMEMLEAK);
        if (sd_has_prefix(s, n, "comm \"")) {
                if (r)
                        parse_kmemleak_comm(s, n, &r->ctx);
                return true;
        }
        if (sd_has_prefix(s, n, "hex dump (first "))
                return true;
        if ((n == 10 && memcmp(s, "backtrace:", 10) == 0) ||
            (sd_has_prefix(s, n, "backtrace (crc ") && s[n - 1] == ':')) {
                struct stackdump_context none = {};
                list_begin(p, STACKDUMP_FORMAT_KMEMLEAK, STACKDUMP_ROLE_ALLOC, r ? r->line : p->line_no,
                           r ? &r->ctx : &none, ts, has_ts);
                p->report.active = false;
                return true;
        }
        return false;
}

/* "Allocated in fn+0x1/0x2 [mod] age=301 cpu=0 pid=1" (after "INFO: " before 5.x). */
static bool slub_track_line(struct stackdump_parser *p, const char *s, size_t n, uint64_t ts, bool has_ts) {
        enum stackdump_role role;
        size_t skip;
        if (sd_has_prefix(s, n, "Allocated in "))
                role = STACKDUMP_ROLE_ALLOC, skip = 13;
        else if (sd_has_prefix(s, n, "Freed in "))
                role = STACKDUMP_ROLE_FREE, skip = 9;
        else
                return false;
        const char *site = s + skip, *end = s + n;
        const char *age = textscan_find(site, (size_t) (end - site), " age=");
        if (!age)
                return false;
        struct stackdump_symbol sym;
        if (stackdump_parse_symbol(site, (size_t) (age - site), &sym) < 0)
                return false;
        struct stackdump_context ctx = {};
        struct sd_report *r = report_fresh(p, STACKDUMP_FORMAT_SLUB_OBJECT);
        if (r)
                ctx = r->ctx;
        uint64_t v;
        if (sd_number_after(age, (size_t) (end - age), " cpu=", &v) && v <= UINT32_MAX) {
                ctx.cpu = (uint32_t) v;
                ctx.have |= STACKDUMP_HAVE_CPU;
        }
        if (sd_number_after(age, (size_t) (end - age), " pid=", &v) && v <= UINT32_MAX) {
                ctx.pid = (uint32_t) v;
                ctx.have |= STACKDUMP_HAVE_PID;
        }
        list_begin(p, STACKDUMP_FORMAT_SLUB_OBJECT, role, p->line_no, &ctx, ts, has_ts);
        p->have_entry_frame = sd_frame_from_symbol(p, &sym, &p->entry_frame) == 0;
        return true;
}

static bool slub_line(struct stackdump_parser *p, const char *s, size_t n, uint64_t ts, bool has_ts) {
        if (sd_has_prefix(s, n, "INFO: ")) {
                s += 6, n -= 6;
                if (sd_has_prefix(s, n, "Slab 0x") || sd_has_prefix(s, n, "Freepointer "))
                        return true;
        }
        if (slub_track_line(p, s, n, ts, has_ts))
                return true;
        /* "BUG kmalloc-64 (Not tainted): Objects remaining in kmalloc-64 on __kmem_cache_shutdown()" */
        if (sd_has_prefix(s, n, "BUG ") && n > 4 && s[4] != ' ') {
                const char *c = s + 4, *ce = c, *end = s + n;
                while (ce < end && !sd_is_blank(*ce))
                        ce++;
                const char *msg = textscan_find(ce, (size_t) (end - ce), "): ");
                if (!msg || ce + 1 >= end || ce[1] != '(')
                        return false;
                struct stackdump_context ctx = {};
                sd_copy_text(ctx.cache, sizeof ctx.cache, c, (size_t) (ce - c));
                msg += 3;
                const char *me = end;
                const char *in = textscan_find(msg, (size_t) (end - msg), " in ");
                if (in)
                        me = in;
                sd_copy_text(ctx.event, sizeof ctx.event, msg, (size_t) (me - msg));
                ctx.have |= STACKDUMP_HAVE_CACHE | STACKDUMP_HAVE_EVENT;
                report_start(p, STACKDUMP_FORMAT_SLUB_OBJECT, &ctx);
                return true;
        }
        /* "Object 0xffff888003075000 @offset=0": the tracks below are its own. */
        if (sd_has_prefix(s, n, "Object 0x") && textscan_find(s, n, " @offset=")) {
                const char *a = s + 7, *ae = memchr(a, ' ', (size_t) (s + n - a));
                struct sd_report *r = report_fresh(p, STACKDUMP_FORMAT_SLUB_OBJECT);
                if (!r) {
                        struct stackdump_context none = {};
                        report_start(p, STACKDUMP_FORMAT_SLUB_OBJECT, &none);
                        r = &p->report;
                }
                if (ae && sd_parse_hex(a, (size_t) (ae - a), &r->ctx.ptr) == 0)
                        r->ctx.have |= STACKDUMP_HAVE_PTR;
                return true;
        }
        return false;
}

/* "Allocated by task 812:", "Freed by task 812 on cpu 1 at 9.813411s:",
 * KFENCE's "allocated by task 1 on cpu 0 at 2.1s (0.3s ago):". */
static bool kasan_track_line(struct stackdump_parser *p, const char *s, size_t n, uint64_t ts, bool has_ts) {
        enum stackdump_role role;
        size_t skip;
        if (sd_has_prefix(s, n, "Allocated by task ") || sd_has_prefix(s, n, "allocated by task "))
                role = STACKDUMP_ROLE_ALLOC, skip = 18;
        else if (sd_has_prefix(s, n, "Freed by task ") || sd_has_prefix(s, n, "freed by task "))
                role = STACKDUMP_ROLE_FREE, skip = 14;
        else if (sd_has_prefix(s, n, "Last potentially related work creation:") ||
                 sd_has_prefix(s, n, "Second to last potentially related work creation:") ||
                 sd_has_prefix(s, n, "Last call_rcu():") || sd_has_prefix(s, n, "Second to last call_rcu():"))
                role = STACKDUMP_ROLE_STACK, skip = 0;
        else
                return false;
        if (s[n - 1] != ':')
                return false;
        struct stackdump_context ctx = {};
        struct sd_report *r = report_fresh(p, STACKDUMP_FORMAT_KASAN);
        if (r)
                ctx = r->ctx;
        if (skip) {
                uint64_t v;
                if (!sd_number_after(s, n, "by task ", &v) || v > UINT32_MAX)
                        return false;
                ctx.pid = (uint32_t) v;
                ctx.have |= STACKDUMP_HAVE_PID;
                if (sd_number_after(s + skip, n - skip, " on cpu ", &v) && v <= UINT32_MAX) {
                        ctx.cpu = (uint32_t) v;
                        ctx.have |= STACKDUMP_HAVE_CPU;
                }
        }
        list_begin(p, STACKDUMP_FORMAT_KASAN, role, p->line_no, &ctx, ts, has_ts);
        return true;
}

static bool kasan_line(struct stackdump_parser *p, const char *s, size_t n, uint64_t ts, bool has_ts) {
        /* "BUG: KASAN: slab-use-after-free in fn+0x1/0x2", "BUG: KFENCE: use-after-free read in fn" */
        if (sd_has_prefix(s, n, "BUG: KASAN: ") || sd_has_prefix(s, n, "BUG: KFENCE: ")) {
                struct stackdump_context ctx = {};
                const char *e = s + 5, *end = s + n;
                const char *in = textscan_find(e, (size_t) (end - e), " in ");
                sd_copy_text(ctx.event, sizeof ctx.event, e, (size_t) ((in ? in : end) - e));
                ctx.have |= STACKDUMP_HAVE_EVENT;
                report_start(p, STACKDUMP_FORMAT_KASAN, &ctx);
                return false;   /* the dump_stack() below still needs its "CPU:" header */
        }
        return kasan_track_line(p, s, n, ts, has_ts);
}

/* "Page allocated via order 0, mask 0xcc0(GFP_KERNEL), pid 1, tgid 1 (swapper/0), ts 1802733 ns" */
static void parse_page_owner_head(const char *s, size_t n, struct stackdump_context *ctx) {
        uint64_t v;
        if (sd_number_after(s, n, "order ", &v) && v <= 64) {
                ctx->page_order = (uint32_t) v;
                ctx->have |= STACKDUMP_HAVE_ORDER;
        }
        if (sd_number_after(s, n, ", pid ", &v) && v <= UINT32_MAX) {
                ctx->pid = (uint32_t) v;
                ctx->have |= STACKDUMP_HAVE_PID;
        }
        const char *tgid = textscan_find(s, n, ", tgid ");
        if (tgid) {
                const char *open = memchr(tgid, '(', (size_t) (s + n - tgid));
                const char *close = open ? memchr(open, ')', (size_t) (s + n - open)) : NULL;
                if (close) {
                        sd_copy_text(ctx->comm, sizeof ctx->comm, open + 1, (size_t) (close - open - 1));
                        ctx->have |= STACKDUMP_HAVE_COMM;
                }
        }
        if (sd_number_after(s, n, ", ts ", &v)) {
                ctx->timestamp_nsec = v;
                ctx->have |= STACKDUMP_HAVE_TIMESTAMP;
        }
}

static bool is_page_owner_head(const char *s, size_t n) {
        return sd_has_prefix(s, n, "Page allocated via order ") || sd_has_prefix(s, n, "page last allocated via order ");
}

/* "12 times:", "12 times, 12 pages:", "3 times, 3 pages, PID 1, task_comm_name: init:" */
static bool parse_times(const char *s, size_t n, uint64_t *ret) {
        size_t i = 0;
        while (i < n && sd_is_digit(s[i]))
                i++;
        if (i == 0 || s[n - 1] != ':' || !sd_has_prefix(s + i, n - i, " times") ||
            (s[i + 6] != ':' && s[i + 6] != ','))
                return false;
        return textscan_u64(s, i, ret) == 0;
}

static bool page_owner_line(struct stackdump_parser *p, const char *s, size_t n, uint64_t ts, bool has_ts) {
        struct stackdump_context ctx = {};
        uint64_t times;
        if (n >= 8 && sd_is_digit(s[0]) && parse_times(s, n, &times)) {
                list_begin(p, STACKDUMP_FORMAT_PAGE_OWNER, STACKDUMP_ROLE_ALLOC, p->line_no, &ctx, ts, has_ts);
                p->cur.weight = times;
                p->times = times;
                p->times_line = p->line_no;
                return true;
        }
        if (is_page_owner_head(s, n)) {
                parse_page_owner_head(s, n, &ctx);
                list_begin(p, STACKDUMP_FORMAT_PAGE_OWNER, STACKDUMP_ROLE_ALLOC, p->line_no, &ctx, ts, has_ts);
                return true;
        }
        /* "page last free pid 7 tgid 7 stack trace:", older "page last free stack trace:" */
        if (sd_has_prefix(s, n, "page last free ") && s[n - 1] == ':') {
                uint64_t v;
                if (sd_number_after(s, n, "pid ", &v) && v <= UINT32_MAX) {
                        ctx.pid = (uint32_t) v;
                        ctx.have |= STACKDUMP_HAVE_PID;
                }
                list_begin(p, STACKDUMP_FORMAT_PAGE_OWNER, STACKDUMP_ROLE_FREE, p->line_no, &ctx, ts, has_ts);
                return true;
        }
        return sd_has_prefix(s, n, "PFN ") && textscan_find(s, n, " type ");
}

bool sd_report_list_header(struct stackdump_parser *p, const char *s, size_t n) {
        if (p->cur.format != STACKDUMP_FORMAT_PAGE_OWNER || p->cur.n_frames > 0)
                return false;
        if (is_page_owner_head(s, n)) {
                parse_page_owner_head(s, n, &p->cur.ctx);
                return true;
        }
        return sd_has_prefix(s, n, "PFN ");
}

bool sd_report_line(struct stackdump_parser *p, const char *s, size_t n, uint64_t ts, bool has_ts, int *ret) {
        *ret = 0;
        if (sd_has_prefix(s, n, "kmemleak: "))
                s += 10, n -= 10;
        switch (s[0]) {
        case 'u':
        case 'c':
        case 'h':
        case 'b':
                return kmemleak_line(p, s, n, ts, has_ts);
        case 'B':
                return kasan_line(p, s, n, ts, has_ts) || slub_line(p, s, n, ts, has_ts);
        case 'I':
        case 'A':
        case 'F':
        case 'O':
                return slub_line(p, s, n, ts, has_ts) || kasan_track_line(p, s, n, ts, has_ts);
        case 'a':
        case 'f':
        case 'L':
        case 'S':
                return kasan_track_line(p, s, n, ts, has_ts);
        case 'P':
        case 'p':
                return page_owner_line(p, s, n, ts, has_ts);
        default:
                if (sd_is_digit(s[0]))
                        return page_owner_line(p, s, n, ts, has_ts);
                return false;
        }
}
