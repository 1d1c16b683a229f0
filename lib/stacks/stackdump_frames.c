/* stackdump_frames — one stack frame in each notation the kernel and its
 * tools print:
 *   "[<80015ad4>] show_stack+0x88/0xa4"              (3.x, MIPS, old x86)
 *   " func+0x1/0x2 [module]", " ? func+0x1/0x2"       (4.x+ x86, arm64)
 *   "[c0000000fe1d3b20] [c000000000016b60] func+0x1/0x2 (unreliable)"  (powerpc)
 *   " func+0x1/0x2 path/file.c:NN", " func path/file.c:NN [inline]"   (syzbot)
 *   " func (path/file.c:NN)", " func+0x1/0x2 (path/file.c:NN)"     (decode_stacktrace.sh)
 *   "[<c063f9a8>] (dump_stack) from [<c0121fd4>] (__warn+0xe4/0x100)"   (ARM32)
 *   " => func", " => func+0x1/0x2", "=> func (ffffffff8110a0b4)"       (tracefs, trace-cmd)
 * and the lines that sit between frames without being frames (registers,
 * <IRQ> markers, ARM exception stack words, "messages dropped"). */
#include "stacks/stackdump_internal.h"

#include <errno.h>
#include <stdio.h>

#include "base/textscan.h"

int sd_parse_hex(const char *s, size_t n, uint64_t *ret) {
        if (n >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
                s += 2, n -= 2;
        if (n == 0)
                return -EINVAL;
        uint64_t v = 0;
        for (size_t i = 0; i < n; i++) {
                char c = s[i];
                unsigned d;
                if (sd_is_digit(c))
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

int sd_parse_u32(const char *s, size_t n, uint32_t *ret) {
        uint64_t v;
        int r = textscan_u64(s, n, &v);
        if (r < 0)
                return r;
        if (v > UINT32_MAX)
                return -ERANGE;
        *ret = (uint32_t) v;
        return 0;
}

int sd_parse_seconds(const char *s, size_t n, uint64_t *ret_nsec) {
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

bool sd_number_after(const char *s, size_t n, const char *key, uint64_t *ret) {
        const char *k = textscan_find(s, n, key);
        if (!k)
                return false;
        const char *d = k + strlen(key), *e = d;
        while (e < s + n && sd_is_digit(*e))
                e++;
        return e > d && textscan_u64(d, (size_t) (e - d), ret) == 0;
}

int stackdump_parse_symbol(const char *s, size_t n, struct stackdump_symbol *ret) {
        sd_trim(&s, &n);
        if (n == 0)
                return -EINVAL;
        size_t tok = 0;
        while (tok < n && !sd_is_blank(s[tok]))
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
                if (!sd_has_prefix(o, (size_t) (oend - o), "0x") ||
                    sd_parse_hex(o, (size_t) (oend - o), &sym.offset) < 0)
                        return -EINVAL;
                if (slash && (!sd_has_prefix(slash + 1, (size_t) (end - slash - 1), "0x") ||
                              sd_parse_hex(slash + 1, (size_t) (end - slash - 1), &sym.size) < 0))
                        return -EINVAL;
                sym.has_offset = true;
        }
        const char *rest = s + tok;
        size_t rn = n - tok;
        sd_trim(&rest, &rn);
        if (rn > 0) {
                /* " [module]" or " [module buildid]" */
                if (rest[0] != '[' || rest[rn - 1] != ']' || rn < 3)
                        return -EINVAL;
                size_t m = 1;
                while (m < rn - 1 && !sd_is_blank(rest[m]))
                        m++;
                if (m == 1)
                        return -EINVAL;
                sym.module = rest + 1;
                sym.module_len = m - 1;
        }
        *ret = sym;
        return 0;
}

static bool all_digits(const char *s, size_t n) {
        if (n == 0)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!sd_is_digit(s[i]))
                        return false;
        return true;
}

size_t stackdump_fold_length(const char *name, size_t len) {
        static const char *const clones[] = { "isra", "constprop", "part", "lto_priv", "llvm", "cold" };
        for (;;) {
                const char *dot = len > 1 ? memrchr(name + 1, '.', len - 1) : NULL;
                if (!dot)
                        return len;
                size_t at = (size_t) (dot - name), sl = len - at - 1;
                if (sl == 4 && memcmp(dot + 1, "cold", 4) == 0) {
                        len = at;
                        continue;
                }
                if (!all_digits(dot + 1, sl))
                        return len;
                /* ".isra.0", ".constprop.3", ".cold.12" */
                const char *dot2 = at > 1 ? memrchr(name + 1, '.', at - 1) : NULL;
                if (!dot2)
                        return len;
                size_t cl = (size_t) (dot - dot2 - 1);
                bool known = false;
                for (size_t i = 0; i < sizeof clones / sizeof clones[0]; i++)
                        if (strlen(clones[i]) == cl && memcmp(dot2 + 1, clones[i], cl) == 0)
                                known = true;
                if (!known)
                        return len;
                len = (size_t) (dot2 - name);
        }
}

/* Copy @n bytes into the current stack's string space. */
static const char *strings_add(struct stackdump_parser *p, const char *s, size_t n) {
        if (p->strings_len + n + 1 > SD_STRINGS_SIZE)
                return NULL;
        char *d = p->strings + p->strings_len;
        memcpy(d, s, n);
        d[n] = '\0';
        p->strings_len += n + 1;
        return d;
}

int sd_frame_from_symbol(struct stackdump_parser *p, const struct stackdump_symbol *sym,
                         struct stackdump_frame *ret) {
        size_t fold = memchr(sym->name, '.', sym->name_len) ? stackdump_fold_length(sym->name, sym->name_len)
                                                             : sym->name_len;
        const char *fn = strings_add(p, sym->name, fold);
        const char *mod = strings_add(p, sym->module, sym->module_len);
        const char *raw = fold < sym->name_len ? strings_add(p, sym->name, sym->name_len) : "";
        if (!fn || !mod || !raw)
                return -ENOBUFS;
        *ret = (struct stackdump_frame) {
                .function = fn,
                .module = mod,
                .raw = raw,
                .source = "",
                .offset = sym->offset,
                .size = sym->size,
                .has_offset = sym->has_offset,
        };
        return 0;
}

/* "path/file.c:NN", "file.h:12:5", "lib/dump_stack.c:107" */
static bool is_source_location(const char *s, size_t n) {
        const char *colon = memchr(s, ':', n);
        if (!colon || colon == s)
                return false;
        bool dot = false;
        for (const char *q = s; q < colon; q++)
                if (*q == '.')
                        dot = true;
                else if (sd_is_blank(*q) || *q == '(' || *q == ')' || *q == '[' || *q == ']')
                        return false;
        const char *d = colon + 1;
        if (d >= s + n || !sd_is_digit(*d))
                return false;
        while (d < s + n && (sd_is_digit(*d) || *d == ':'))
                d++;
        return dot && d == s + n;
}

/* For text ending in ')': where its parenthesised group starts, if the
 * group begins with a source location ("(a.c:1 b.c:2 (discriminator 3))");
 * the location goes to @ret_src. NULL otherwise. */
static const char *paren_source(const char *s, size_t n, const char **ret_src, size_t *ret_src_len) {
        if (n == 0 || s[n - 1] != ')')
                return NULL;
        int depth = 0;
        const char *open = NULL;
        for (const char *q = s + n - 1; q >= s; q--) {
                if (*q == ')')
                        depth++;
                else if (*q == '(' && --depth == 0) {
                        open = q;
                        break;
                }
        }
        if (!open || open == s || !sd_is_blank(open[-1]))
                return NULL;
        const char *t = open + 1;
        size_t tl = 0;
        while (t + tl < s + n && !sd_is_blank(t[tl]) && t[tl] != ')')
                tl++;
        if (!is_source_location(t, tl))
                return NULL;
        *ret_src = t;
        *ret_src_len = tl;
        return open;
}

static bool is_identifier(const char *s, size_t n) {
        if (n == 0)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') || sd_is_digit(s[i]) ||
                      s[i] == '_' || s[i] == '-'))
                        return false;
        return true;
}

/* Strip what a symbolizer appends to "func+0x1/0x2": a source location
 * (bare, as syzbot prints it, or in parentheses, as decode_stacktrace.sh
 * does, possibly with more locations or "(discriminator N)" inside),
 * "[inline]", and a module after them ("[module]", or decode_stacktrace.sh's
 * bare "module"), which is kept for the symbol. */
static void split_source(const char **ps, size_t *pn, const char **ret_src, size_t *ret_src_len, bool *ret_inline,
                         const char **ret_mod, size_t *ret_mod_len) {
        const char *s = *ps;
        size_t n = *pn;
        for (int round = 0; round < 4 && n > 0; round++) {
                sd_trim(&s, &n);
                const char *end = s + n;
                if (n > 9 && memcmp(end - 8, "[inline]", 8) == 0 && sd_is_blank(end[-9])) {
                        *ret_inline = true;
                        n -= 8;
                        continue;
                }
                const char *open = paren_source(s, n, ret_src, ret_src_len);
                if (open) {
                        n = (size_t) (open - s);
                        continue;
                }
                const char *sp = end;
                while (sp > s && !sd_is_blank(sp[-1]))
                        sp--;
                if (sp == s)
                        break;
                size_t tl = (size_t) (end - sp);
                if (is_source_location(sp, tl)) {
                        *ret_src = sp;
                        *ret_src_len = tl;
                        n = (size_t) (sp - s);
                        continue;
                }
                if (*ret_src_len != 0 || *ret_mod)
                        break;
                /* A module after a source location: "f a.c:1 [mod]", "f (a.c:1) mod" */
                const char *before = sp;
                while (before > s && sd_is_blank(before[-1]))
                        before--;
                const char *b = before;
                while (b > s && !sd_is_blank(b[-1]))
                        b--;
                const char *src;
                size_t src_len;
                bool bracketed = tl > 2 && sp[0] == '[' && end[-1] == ']';
                if (bracketed && b > s && is_source_location(b, (size_t) (before - b))) {
                        *ret_mod = sp + 1;
                        *ret_mod_len = tl - 2;
                        n = (size_t) (before - s);
                        continue;
                }
                if (!bracketed && is_identifier(sp, tl) && paren_source(s, (size_t) (before - s), &src, &src_len)) {
                        *ret_mod = sp;
                        *ret_mod_len = tl;
                        n = (size_t) (before - s);
                        continue;
                }
                break;
        }
        sd_trim(&s, &n);
        *ps = s;
        *pn = n;
}

bool sd_parse_dmesg_frame(struct stackdump_parser *p, const char *s, size_t n, struct stackdump_frame *ret) {
        struct stackdump_frame f = {};
        bool bracketed = false;
        while (n > 0 && s[0] == '[') {
                size_t i = 1;
                bool angle = i < n && s[i] == '<';
                if (angle)
                        i++;
                size_t start = i;
                while (i < n && sd_is_xdigit(s[i]))
                        i++;
                size_t end = i;
                if (angle) {
                        if (i >= n || s[i] != '>')
                                return false;
                        i++;
                }
                if (i >= n || s[i] != ']' || end == start)
                        return false;
                if (sd_parse_hex(s + start, end - start, &f.address) < 0)
                        return false;
                f.has_address = true;
                bracketed = true;
                s += i + 1;
                n -= i + 1;
                sd_trim(&s, &n);
        }
        if (n >= 2 && s[0] == '?' && s[1] == ' ') {
                f.unreliable = true;
                s += 2;
                n -= 2;
                sd_trim(&s, &n);
        }
        if (n > 0 && s[0] == '(') {
                const char *close = memchr(s, ')', n);
                if (!close)
                        return false;
                n = (size_t) (close - s - 1);
                s++;
        }
        const char *src = NULL, *mod = NULL;
        size_t src_len = 0, mod_len = 0;
        bool inlined = false;
        /* Every symbolizer annotation has a "file:line" in it. */
        if (n > 0 && memchr(s, ':', n))
                split_source(&s, &n, &src, &src_len, &inlined, &mod, &mod_len);
        /* Trailing "(unreliable)" (powerpc) or other short annotations. */
        if (n > 2 && s[n - 1] == ')') {
                const char *open = memrchr(s, '(', n);
                if (open && open > s && sd_is_blank(open[-1]) && (size_t) (s + n - open) <= 16) {
                        if (sd_has_prefix(open, (size_t) (s + n - open), "(unreliable)"))
                                f.unreliable = true;
                        n = (size_t) (open - s);
                        sd_trim(&s, &n);
                }
        }
        struct stackdump_symbol sym;
        if (stackdump_parse_symbol(s, n, &sym) < 0)
                return false;
        if (!bracketed && !sym.has_offset && !sd_has_prefix(sym.name, sym.name_len, "0x") && !src_len)
                return false;
        if (mod && sym.module_len == 0) {
                sym.module = mod;
                sym.module_len = mod_len;
        }
        struct stackdump_frame g;
        if (sd_frame_from_symbol(p, &sym, &g) < 0)
                return false;
        if (src_len) {
                const char *copy = strings_add(p, src, src_len);
                if (!copy)
                        return false;
                g.source = copy;
        }
        g.inlined = inlined;
        g.address = f.address;
        g.has_address = f.has_address;
        g.unreliable = f.unreliable;
        *ret = g;
        return true;
}

/* "[<c0014ed4>]" at @s: its address and length, or 0. */
static size_t arm_address(const char *s, size_t n, uint64_t *ret) {
        if (n < 5 || s[0] != '[' || s[1] != '<')
                return 0;
        size_t i = 2;
        while (i < n && sd_is_xdigit(s[i]))
                i++;
        if (i == 2 || i + 1 >= n || s[i] != '>' || s[i + 1] != ']' || sd_parse_hex(s + 2, i - 2, ret) < 0)
                return 0;
        return i + 2;
}

bool sd_is_arm_line(const char *s, size_t n) {
        /* Cheap tests first: this runs on every "[<addr>] func" frame line. */
        if (n < 16)
                return false;
        if (s[0] == 'F')
                return sd_has_prefix(s, n, "Function entered at [<") && textscan_find(s, n, "] from [<") != NULL;
        if (s[0] != '[' || s[1] != '<')
                return false;
        const char *close = memchr(s + 2, ']', n - 2 < 24 ? n - 2 : 24);
        if (!close || close + 3 >= s + n || close[1] != ' ' || close[2] != '(' || close[-1] != '>')
                return false;
        return textscan_find(close, (size_t) (s + n - close), ") from [<") != NULL;
}

/* An unresolved frame named by its address. */
static bool address_frame(struct stackdump_parser *p, uint64_t address, struct stackdump_frame *ret) {
        char text[24];
        int len = snprintf(text, sizeof text, "0x%llx", (unsigned long long) address);
        struct stackdump_symbol sym = { .name = text, .name_len = (size_t) len, .module = "" };
        if (sd_frame_from_symbol(p, &sym, ret) < 0)
                return false;
        ret->address = address;
        ret->has_address = true;
        return true;
}

/* "(name+0x1/0x2 [module])" at @s: a frame. */
static bool arm_paren_frame(struct stackdump_parser *p, const char *s, size_t n, uint64_t address,
                            struct stackdump_frame *ret) {
        if (n < 3 || s[0] != '(' || s[n - 1] != ')')
                return false;
        struct stackdump_symbol sym;
        if (stackdump_parse_symbol(s + 1, n - 2, &sym) < 0 || sd_frame_from_symbol(p, &sym, ret) < 0)
                return false;
        ret->address = address;
        ret->has_address = true;
        return true;
}

bool sd_parse_arm_line(struct stackdump_parser *p, const char *s, size_t n) {
        struct stackdump_frame where, from;
        uint64_t wa, fa;
        if (sd_has_prefix(s, n, "Function entered at ")) {
                /* Without kallsyms: "Function entered at [<c0014ed4>] from [<c00118b0>]" */
                const char *a = s + 20;
                size_t k = arm_address(a, (size_t) (s + n - a), &wa);
                if (!k || !sd_has_prefix(a + k, (size_t) (s + n - a - k), " from "))
                        return false;
                const char *b = a + k + 6;
                if (!arm_address(b, (size_t) (s + n - b), &fa))
                        return false;
                if (!address_frame(p, wa, &where) || !address_frame(p, fa, &from))
                        return false;
        } else {
                size_t k = arm_address(s, n, &wa);
                if (!k || k + 1 >= n || s[k] != ' ')
                        return false;
                const char *w = s + k + 1;
                const char *fromkw = textscan_find(w, (size_t) (s + n - w), ") from [<");
                if (!fromkw)
                        return false;
                if (!arm_paren_frame(p, w, (size_t) (fromkw + 1 - w), wa, &where))
                        return false;
                const char *b = fromkw + 7;
                size_t bk = arm_address(b, (size_t) (s + n - b), &fa);
                if (!bk)
                        return false;
                const char *c = b + bk;
                size_t cn = (size_t) (s + n - c);
                sd_trim(&c, &cn);
                if (!arm_paren_frame(p, c, cn, fa, &from))
                        return false;
        }
        /* Each line names the function and its caller; the next line starts
         * with that caller again, so push its function only once. */
        if (!(p->arm_chain && p->cur.n_frames > 0 &&
              strcmp(p->frames[p->cur.n_frames - 1].function, where.function) == 0))
                sd_frame_push(p, &where);
        sd_frame_push(p, &from);
        p->arm_chain = true;
        return true;
}

bool sd_parse_tracefs_frame(struct stackdump_parser *p, const char *s, size_t n, struct stackdump_frame *ret) {
        if (!sd_has_prefix(s, n, "=>"))
                return false;
        s += 2;
        n -= 2;
        sd_trim(&s, &n);
        uint64_t addr = 0;
        bool has_addr = false;
        if (n > 2 && s[n - 1] == ')') {
                const char *open = memrchr(s, '(', n);
                if (open && sd_parse_hex(open + 1, (size_t) (s + n - open - 2), &addr) == 0) {
                        has_addr = true;
                        n = (size_t) (open - s);
                }
        }
        struct stackdump_symbol sym;
        if (stackdump_parse_symbol(s, n, &sym) < 0)
                return false;
        if (sd_frame_from_symbol(p, &sym, ret) < 0)
                return false;
        ret->address = addr;
        ret->has_address = has_addr;
        return true;
}

bool sd_is_marker(const char *s, size_t n) {
        if (n < 3 || n > 16 || s[0] != '<' || s[n - 1] != '>')
                return false;
        for (size_t i = 1; i < n - 1; i++)
                if (!((s[i] >= 'A' && s[i] <= 'Z') || s[i] == '/' || s[i] == '#'))
                        return false;
        return true;
}

/* x86 prints registers inside a trace where it crosses an interrupt frame:
 * "RIP: 0010:...", "RSP: 0018:... EFLAGS: ...", "R10: ...", "Code: ...";
 * ARM's frame-pointer backtrace prints " r6:c06b4cc8 r5:00000000 r4:..." */
bool sd_is_register_line(const char *s, size_t n) {
        static const char *const names[] = {
                "RIP", "RSP", "RAX", "RBX", "RCX", "RDX", "RSI", "RDI", "RBP", "R08", "R09", "R10", "R11",
                "R12", "R13", "R14", "R15", "FS", "GS", "CS", "DS", "ES", "SS", "CR0", "CR2", "CR3", "CR4",
                "DR0", "DR1", "DR2", "DR3", "DR6", "DR7", "PKRU", "EIP", "ESP", "EAX", "EBX", "ECX", "EDX",
                "ESI", "EDI", "EBP", "Code",
        };
        if (n >= 11 && s[0] == 'r' && (s[2] == ':' || s[3] == ':') && sd_is_digit(s[1])) {
                size_t c = s[2] == ':' ? 2 : 3;
                return c + 8 <= n && sd_is_xdigit(s[c + 1]);
        }
        const char *colon = memchr(s, ':', n < 8 ? n : 8);
        if (!colon || (size_t) (colon - s) + 1 >= n || colon[1] != ' ')
                return false;
        size_t len = (size_t) (colon - s);
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
                if (strlen(names[i]) == len && memcmp(s, names[i], len) == 0)
                        return true;
        return false;
}

bool sd_is_exception_dump(const char *s, size_t n) {
        if (sd_has_prefix(s, n, "Exception stack("))
                return true;
        /* "bf40: 00000000 c0123456 ..." : a short hex offset, then 8-digit words */
        size_t i = 0;
        while (i < n && i < 16 && sd_is_xdigit(s[i]))
                i++;
        if (i < 3 || i >= n || s[i] != ':' || i + 10 > n || s[i + 1] != ' ')
                return false;
        for (size_t k = i + 2; k < i + 10; k++)
                if (!sd_is_xdigit(s[k]))
                        return false;
        return true;
}

bool sd_is_messages_dropped(const char *s, size_t n) {
        return (textscan_find(s, n, "messages dropped") || textscan_find(s, n, "printk messages dropped")) &&
                n < 80;
}
