/* stackdump_tracefs — tracefs text ("comm-pid [cpu] flags ts: event: ..."
 * lines and the " => func" stacks after "<stack trace>") and SLUB's
 * debugfs alloc_traces / sysfs alloc_calls entries. */
#include "stacks/stackdump_internal.h"

#include "base/textscan.h"

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
static bool parse_trace_line(const char *s, size_t n, struct trace_line *ret);

bool sd_is_trace_line(const char *s, size_t n) {
        struct trace_line tl;
        return parse_trace_line(s, n, &tl);
}

static bool parse_trace_line(const char *s, size_t n, struct trace_line *ret) {
        struct trace_line tl = {};
        const char *br = NULL, *close = NULL;
        for (const char *q = s; q + 2 < s + n; q++) {
                q = memchr(q, '[', (size_t) (s + n - q));
                if (!q)
                        break;
                const char *d = q + 1;
                while (d < s + n && sd_is_digit(*d))
                        d++;
                if (d > q + 1 && d < s + n && *d == ']' && q > s && sd_is_blank(q[-1])) {
                        br = q;
                        close = d;
                        if (sd_parse_u32(q + 1, (size_t) (d - q - 1), &tl.cpu) < 0)
                                return false;
                        break;
                }
        }
        if (!br)
                return false;
        /* "comm-pid" possibly followed by "(tgid)" */
        const char *a = s, *b = br;
        size_t an = (size_t) (b - a);
        sd_trim(&a, &an);
        if (an > 0 && a[an - 1] == ')') {
                const char *open = memrchr(a, '(', an);
                if (!open)
                        return false;
                an = (size_t) (open - a);
                sd_trim(&a, &an);
        }
        const char *dash = an > 0 ? memrchr(a, '-', an) : NULL;
        if (!dash || dash == a || sd_parse_u32(dash + 1, (size_t) (a + an - dash - 1), &tl.pid) < 0)
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
                if (tlen > 1 && tok[tlen - 1] == ':' && sd_parse_seconds(tok, tlen - 1, &tl.ts_nsec) == 0) {
                        have_ts = true;
                        break;
                }
        if (!have_ts)
                return false;
        const char *e = sc.p;
        size_t en = (size_t) (s + n - e);
        sd_trim(&e, &en);
        if (sd_has_prefix(e, en, "<stack trace")) {
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
                if (sd_is_blank(e[i]))
                        return false;
        tl.details = colon + 1;
        tl.details_len = (size_t) (e + en - colon - 1);
        sd_trim(&tl.details, &tl.details_len);
        if (tl.event_len == 12 && memcmp(e, "kernel_stack", 12) == 0 &&
            sd_has_prefix(tl.details, tl.details_len, "<stack trace"))
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
        struct sd_event_slot *e = &p->events[tl->cpu % SD_EVENT_SLOTS];
        *e = (struct sd_event_slot) { .valid = true, .line = p->line_no, .cpu = tl->cpu, .pid = tl->pid };
        sd_copy_text(e->event, sizeof e->event, tl->event, tl->event_len);
        const char *v;
        size_t vl;
        if (find_field(tl->details, tl->details_len, "name", &v, &vl)) {
                sd_copy_text(e->cache, sizeof e->cache, v, vl);
                e->has_cache = true;
        }
        if (find_field(tl->details, tl->details_len, "ptr", &v, &vl) && sd_parse_hex(v, vl, &e->ptr) == 0)
                e->has_ptr = true;
}

static void begin_tracefs_stack(struct stackdump_parser *p, const struct trace_line *tl) {
        struct stackdump_context ctx = {};
        ctx.cpu = tl->cpu;
        ctx.pid = tl->pid;
        sd_copy_text(ctx.comm, sizeof ctx.comm, tl->comm, tl->comm_len);
        ctx.timestamp_nsec = tl->ts_nsec;
        ctx.have = STACKDUMP_HAVE_CPU | STACKDUMP_HAVE_PID | STACKDUMP_HAVE_COMM | STACKDUMP_HAVE_TIMESTAMP;
        uint64_t line = p->line_no;
        struct sd_event_slot *e = &p->events[tl->cpu % SD_EVENT_SLOTS];
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
        /* An allocation event's stack and a free event's are different populations. */
        enum stackdump_role role = STACKDUMP_ROLE_STACK;
        if (ctx.have & STACKDUMP_HAVE_EVENT) {
                if (strstr(ctx.event, "free"))
                        role = STACKDUMP_ROLE_FREE;
                else if (strstr(ctx.event, "alloc"))
                        role = STACKDUMP_ROLE_ALLOC;
        }
        sd_stack_begin(p, SD_STATE_TRACEFS, STACKDUMP_FORMAT_TRACEFS, role, line, &ctx);
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

bool sd_tracefs_line(struct stackdump_parser *p, const char *s, size_t n, int *ret) {
        struct trace_line tl;
        if (!parse_trace_line(s, n, &tl))
                return false;
        if (tl.stack)
                begin_tracefs_stack(p, &tl);
        else
                remember_event(p, &tl);
        *ret = 0;
        return true;
}

bool sd_alloc_entry_line(struct stackdump_parser *p, const char *s, size_t n, int *ret) {
        struct stackdump_symbol site;
        uint64_t count;
        if (n < 2 || !sd_is_digit(s[0]) || !parse_alloc_entry(s, n, &count, &site))
                return false;
        sd_stack_begin(p, SD_STATE_ALLOC, STACKDUMP_FORMAT_ALLOC_TRACES, STACKDUMP_ROLE_STACK, p->line_no, NULL);
        p->cur.weight = count;
        *ret = sd_frame_from_symbol(p, &site, &p->entry_frame);
        p->have_entry_frame = *ret == 0;
        return true;
}
