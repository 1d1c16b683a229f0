/* stackdump_console — the console lines around a stack that say whose it
 * is: "CPU: 3 PID: 0 Comm: swapper/3 Tainted: P O 3.18.21 #9" and its 2.6
 * form, hung-task reports, sched_show_task() "task:" lines, taint lines of
 * their own, SLUB "TRACE" records, and the "Call Trace:" line itself. */
#include "stacks/stackdump_internal.h"

#include "base/textscan.h"

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
                        if (memchr(toks[i], '.', lens[i]) && sd_is_digit(toks[i][0])) {
                                rel = i;
                                break;
                        }
        if (rel < nt) {
                sd_copy_text(ctx->release, sizeof ctx->release, toks[rel], lens[rel]);
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
bool sd_parse_header(const char *s, size_t n, struct stackdump_context *ret) {
        struct stackdump_context ctx = {};
        const char *comm;
        if (sd_has_prefix(s, n, "CPU: ")) {
                size_t i = 5;
                size_t d = i;
                while (i < n && sd_is_digit(s[i]))
                        i++;
                if (i == d || sd_parse_u32(s + d, i - d, &ctx.cpu) < 0)
                        return false;
                ctx.have |= STACKDUMP_HAVE_CPU;
                const char *pid = textscan_find(s + i, n - i, " PID: ");
                if (!pid)
                        return false;
                const char *p = pid + 6;
                const char *pe = p;
                while (pe < s + n && sd_is_digit(*pe))
                        pe++;
                if (sd_parse_u32(p, (size_t) (pe - p), &ctx.pid) < 0)
                        return false;
                ctx.have |= STACKDUMP_HAVE_PID;
                comm = textscan_find(pe, (size_t) (s + n - pe), " Comm: ");
                if (!comm)
                        return false;
                comm += 7;
        } else if (sd_has_prefix(s, n, "Pid: ")) {
                const char *p = s + 5, *pe = p;
                while (pe < s + n && sd_is_digit(*pe))
                        pe++;
                if (sd_parse_u32(p, (size_t) (pe - p), &ctx.pid) < 0)
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
                while (comm_end > comm && sd_is_blank(comm_end[-1]))
                        comm_end--;
        }
        sd_copy_text(ctx.comm, sizeof ctx.comm, comm, (size_t) (comm_end - comm));
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
bool sd_parse_hung_task(const char *s, size_t n, struct stackdump_context *ret) {
        if (!sd_has_prefix(s, n, "INFO: task "))
                return false;
        const char *a = s + 11;
        const char *e = textscan_find(a, (size_t) (s + n - a), " blocked for more than ");
        if (!e)
                e = textscan_find(a, (size_t) (s + n - a), " is blocked on ");
        if (!e)
                return false;
        const char *colon = memrchr(a, ':', (size_t) (e - a));
        struct stackdump_context ctx = {};
        if (!colon || colon == a || sd_parse_u32(colon + 1, (size_t) (e - colon - 1), &ctx.pid) < 0)
                return false;
        sd_copy_text(ctx.comm, sizeof ctx.comm, a, (size_t) (colon - a));
        ctx.have = STACKDUMP_HAVE_PID | STACKDUMP_HAVE_COMM;
        *ret = ctx;
        return true;
}

/* sched_show_task(): "task:kworker/0:1  state:D stack:0 pid:11863 tgid:11863 ppid:2 ..." */
bool sd_parse_task_line(const char *s, size_t n, struct stackdump_context *ret) {
        if (!sd_has_prefix(s, n, "task:"))
                return false;
        const char *state = textscan_find(s, n, " state:");
        const char *pid = textscan_find(s, n, " pid:");
        if (!state || !pid || pid < state)
                return false;
        const char *p = pid + 5, *pe = p;
        while (pe < s + n && sd_is_digit(*pe))
                pe++;
        struct stackdump_context ctx = {};
        if (sd_parse_u32(p, (size_t) (pe - p), &ctx.pid) < 0)
                return false;
        const char *c = s + 5;
        size_t cl = (size_t) (state - c);
        sd_trim(&c, &cl);
        sd_copy_text(ctx.comm, sizeof ctx.comm, c, cl);
        ctx.have = STACKDUMP_HAVE_PID | STACKDUMP_HAVE_COMM;
        *ret = ctx;
        return true;
}

/* "Not tainted 6.18.44 #1" or "Tainted: G W 6.18.44 #1" on a line of its own
 * (hung-task reports); "Tainted: [W]=WARN, ..." explains letters instead. */
bool sd_parse_taint_line(const char *s, size_t n, struct stackdump_context *ctx) {
        if (sd_has_prefix(s, n, "Not tainted "))
                parse_taint_release(s + 12, n - 12, false, ctx);
        else if (sd_has_prefix(s, n, "Tainted: ") && n > 9 && s[9] != '[')
                parse_taint_release(s + 9, n - 9, true, ctx);
        else
                return false;
        return true;
}

/* SLUB: "TRACE kmalloc-8192 alloc 0x8fc4d000 inuse=3 fp=0x  (null)" */
bool sd_parse_slub_trace(const char *s, size_t n, struct stackdump_context *ret) {
        if (!sd_has_prefix(s, n, "TRACE "))
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
        sd_copy_text(ctx.cache, sizeof ctx.cache, cache, cl);
        sd_copy_text(ctx.event, sizeof ctx.event, op, ol);
        ctx.have |= STACKDUMP_HAVE_CACHE | STACKDUMP_HAVE_EVENT;
        if (sd_has_prefix(ptr, pl, "0x") && sd_parse_hex(ptr, pl, &ctx.ptr) == 0)
                ctx.have |= STACKDUMP_HAVE_PTR;
        *ret = ctx;
        return true;
}

/* "Call Trace:" (x86, MIPS, powerpc...), "Call trace:" (arm64),
 * "Backtrace:" (arm). Text after the colon is ignored. */
bool sd_is_call_trace(const char *s, size_t n) {
        return sd_has_prefix(s, n, "Call Trace:") || sd_has_prefix(s, n, "Call trace:") ||
                sd_has_prefix(s, n, "Backtrace:");
}


/* Lines that begin another message (or end the dump) rather than sit inside
 * a stack. A stack in progress ends before them instead of stepping over. */
bool sd_starts_other(const char *s, size_t n) {
        static const char *const prefixes[] = {
                "CPU: ", "Pid: ", "INFO: ", "task:", "Call Trace:", "Call trace:", "Backtrace:",
                "Hardware name:", "Modules linked in:", "---[ end trace", "------------[ cut here",
                "WARNING:", "BUG:", "BUG ", "Kernel panic", "Unable to handle", "Internal error:", "Oops",
                "unreferenced object ", "kmemleak:", "backtrace", "hex dump (", "comm \"", "Allocated in ",
                "Freed in ", "Allocated by task ", "Freed by task ", "allocated by task ", "freed by task ",
                "Last potentially related", "Second to last potentially related", "Object 0x", "Slab 0x",
                "Page allocated via", "page last ", "PFN ", "The buggy address", "Memory state around",
                "Read of size", "Write of size", "Exception stack(", "Workqueue:", "Stack:", "Process ",
                "==================", "------------------", "Disabling lock debugging",
        };
        for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++)
                if (sd_has_prefix(s, n, prefixes[i]))
                        return true;
        return false;
}
