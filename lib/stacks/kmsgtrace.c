#include "stacks/kmsgtrace.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/textscan.h"

/* How far into a line the ';' ending a /dev/kmsg prefix may be. */
#define KMSG_PREFIX_MAX 96

struct kmsgtrace {
        char cache[KMSGTRACE_CACHE_MAX + 1];
        uint64_t object_size;
        struct pairing *pairing;

        char line[KMSGTRACE_LINE_MAX];
        size_t line_len;
        bool discarding;        /* in an over-long line, until its newline */

        bool have_seq;
        uint64_t last_seq;
        uint64_t last_ts_ns;
        bool refused;

        /* The record being collected. */
        bool open;              /* a TRACE line of our cache was seen */
        bool stack_open;        /* its "Call Trace:" was seen */
        bool stack_done;        /* its stack ended */
        bool have_pid;
        enum pairing_kind kind;
        uint64_t ptr;
        uint64_t ts_ns;
        int32_t pid;
        char names[PAIRING_FRAMES_MAX][PAIRING_NAME_MAX + 1];
        size_t name_lens[PAIRING_FRAMES_MAX];
        size_t n_frames;
        size_t n_frames_seen;

        struct kmsgtrace_stats stats;
};

int kmsgtrace_new(const struct kmsgtrace_options *o, struct pairing *p, struct kmsgtrace **ret) {
        if (!o || !o->cache_name || !p || !ret)
                return -EINVAL;
        size_t n = strlen(o->cache_name);
        if (n == 0 || n > KMSGTRACE_CACHE_MAX)
                return -EINVAL;
        struct kmsgtrace *k = calloc(1, sizeof *k);
        if (!k)
                return -ENOMEM;
        memcpy(k->cache, o->cache_name, n + 1);
        k->object_size = o->object_size;
        k->pairing = p;
        *ret = k;
        return 0;
}

void kmsgtrace_free(struct kmsgtrace *k) {
        free(k);
}

void kmsgtrace_get_stats(const struct kmsgtrace *k, struct kmsgtrace_stats *ret) {
        *ret = k->stats;
}

static bool is_digit(char c) {
        return c >= '0' && c <= '9';
}

static bool is_hex(char c) {
        return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static bool has_prefix(const char *s, size_t len, const char *prefix) {
        size_t n = strlen(prefix);
        return len >= n && memcmp(s, prefix, n) == 0;
}

static void skip_blanks(const char **s, size_t *len) {
        while (*len > 0 && (**s == ' ' || **s == '\t')) {
                (*s)++;
                (*len)--;
        }
}

/* Digits at *s, advancing past them. */
static bool take_u64(const char **s, size_t *len, uint64_t *ret) {
        size_t n = 0;
        while (n < *len && is_digit((*s)[n]))
                n++;
        if (n == 0 || textscan_u64(*s, n, ret) < 0)
                return false;
        *s += n;
        *len -= n;
        return true;
}

/* "<prio>,<seq>,<usec>,<flags>[,more];" — the /dev/kmsg record header. */
static bool take_kmsg_prefix(const char **s, size_t *len, uint64_t *ret_seq, uint64_t *ret_usec) {
        const char *p = *s;
        size_t n = *len;
        uint64_t prio, seq, usec;
        if (!take_u64(&p, &n, &prio) || n == 0 || *p != ',')
                return false;
        p++, n--;
        if (!take_u64(&p, &n, &seq) || n == 0 || *p != ',')
                return false;
        p++, n--;
        if (!take_u64(&p, &n, &usec) || n == 0 || *p != ',')
                return false;
        const char *semi = memchr(p, ';', n < KMSG_PREFIX_MAX ? n : KMSG_PREFIX_MAX);
        if (!semi || memchr(p, ' ', (size_t) (semi - p)))
                return false;
        n -= (size_t) (semi + 1 - p);
        *s = semi + 1;
        *len = n;
        *ret_seq = seq;
        *ret_usec = usec;
        return true;
}

/* "[ 1234.567890] " — a console or dmesg timestamp. */
static bool take_dmesg_time(const char **s, size_t *len, uint64_t *ret_ns) {
        const char *p = *s;
        size_t n = *len;
        uint64_t sec, frac;
        if (n == 0 || *p != '[')
                return false;
        p++, n--;
        skip_blanks(&p, &n);
        if (!take_u64(&p, &n, &sec) || n == 0 || *p != '.')
                return false;
        p++, n--;
        const char *f = p;
        if (!take_u64(&p, &n, &frac) || n == 0 || *p != ']')
                return false;
        size_t digits = (size_t) (p - f);
        if (digits > 9)
                return false;
        for (size_t i = digits; i < 9; i++)
                frac *= 10;
        p++, n--;
        skip_blanks(&p, &n);
        *s = p;
        *len = n;
        *ret_ns = sec * 1000000000ULL + frac;
        return true;
}

/* " KEY=value" lines continue a /dev/kmsg record with its dictionary. */
static bool is_dict_line(const char *s, size_t len) {
        if (len < 3 || s[0] != ' ')
                return false;
        size_t i = 1;
        while (i < len && ((s[i] >= 'A' && s[i] <= 'Z') || s[i] == '_' || is_digit(s[i])))
                i++;
        return i > 1 && i < len && s[i] == '=';
}

/* Frames that print the stack rather than ask for memory. */
static bool is_printing_frame(const char *name, size_t len) {
        static const char *const printing[] = { "show_stack", "dump_stack", "dump_stack_lvl", "__dump_stack",
                                                "trace" };
        size_t fn = 0;
        while (fn < len && name[fn] != '+')
                fn++;
        for (size_t i = 0; i < sizeof printing / sizeof *printing; i++)
                if (strlen(printing[i]) == fn && memcmp(name, printing[i], fn) == 0)
                        return true;
        return false;
}

/* A stack frame: "[<80015ad4>] show_stack+0x88/0xa4", " ? func+0x1/0x2",
 * " func+0x1c/0x30 [module]". Returns the symbol token, or false. */
static bool parse_frame(const char *s, size_t len, const char **ret_sym, size_t *ret_len, bool *ret_unreliable) {
        bool unreliable = false;
        skip_blanks(&s, &len);
        if (len >= 2 && s[0] == '[' && s[1] == '<') {
                size_t i = 2;
                while (i < len && is_hex(s[i]))
                        i++;
                if (i == 2 || i + 1 >= len || s[i] != '>' || s[i + 1] != ']')
                        return false;
                s += i + 2;
                len -= i + 2;
                skip_blanks(&s, &len);
        }
        if (len >= 2 && s[0] == '?' && s[1] == ' ') {
                unreliable = true;
                s += 2;
                len -= 2;
                skip_blanks(&s, &len);
        }
        size_t n = 0;
        while (n < len && s[n] != ' ' && s[n] != '\t')
                n++;
        /* name+0xoff[/0xsize]: a name, then "+0x" and hex. */
        const char *plus = memchr(s, '+', n);
        if (!plus || plus == s || (size_t) (s + n - plus) < 4 || plus[1] != '0' || plus[2] != 'x' || !is_hex(plus[3]))
                return false;
        for (const char *c = s; c < plus; c++)
                if (!(is_hex(*c) || (*c >= 'g' && *c <= 'z') || (*c >= 'G' && *c <= 'Z') || *c == '_' ||
                      *c == '.' || *c == '$'))
                        return false;
        if (n > PAIRING_NAME_MAX)
                return false;
        *ret_sym = s;
        *ret_len = n;
        *ret_unreliable = unreliable;
        return true;
}

/* Lines a stack dump is made of besides its frames. */
static bool is_dump_filler(const char *s, size_t len) {
        static const char *const prefixes[] = { "Stack :", "Object ", "Redzone ", "Padding ", "Hardware name:",
                                                "<TASK>", "<IRQ>", "</IRQ>", "<NMI>", "</NMI>", "...",
                                                "INFO: ", "Modules linked in:" };
        for (size_t i = 0; i < sizeof prefixes / sizeof *prefixes; i++)
                if (has_prefix(s, len, prefixes[i]))
                        return true;
        if (textscan_blank(s, len))
                return true;
        /* Rows of hex words (MIPS "Stack :" continuation, x86 3.x raw stack). */
        struct textscan sc = textscan_init(s, len);
        const char *tok;
        size_t tl, words = 0;
        while (textscan_token(&sc, &tok, &tl)) {
                for (size_t i = 0; i < tl; i++)
                        if (!is_hex(tok[i]))
                                return false;
                words++;
        }
        return words > 0;
}

static int close_record(struct kmsgtrace *k) {
        if (!k->open)
                return 0;
        k->open = false;
        if (k->n_frames_seen == 0)
                k->stats.stackless++;
        const char *names[PAIRING_FRAMES_MAX];
        for (size_t i = 0; i < k->n_frames; i++)
                names[i] = k->names[i];
        uint32_t id;
        /* More frames than kept: one more tells the pairing it was cut. */
        size_t n = k->n_frames_seen > k->n_frames ? k->n_frames + 1 : k->n_frames;
        int r = pairing_intern_names(k->pairing, names, k->name_lens, n, &id);
        if (r == 0)
                r = pairing_push(k->pairing, &(struct pairing_event) {
                                                     .timestamp_ns = k->ts_ns,
                                                     .ptr = k->ptr,
                                                     .bytes = k->object_size,
                                                     .cpu = 0,
                                                     .pid = k->pid,
                                                     .kind = k->kind,
                                                     .stack_id = id,
                                             });
        if (r < 0) {
                k->stats.refused++;
                k->refused = true;
                return r == -ENOBUFS ? 0 : r;
        }
        k->stats.events++;
        return 0;
}

/* "TRACE <cache> alloc|free 0x<ptr> inuse=N fp=0x..." */
static int handle_trace(struct kmsgtrace *k, const char *s, size_t len) {
        struct textscan sc = textscan_init(s, len);
        const char *tok[4];
        size_t tl[4];
        for (size_t i = 0; i < 4; i++)
                if (!textscan_token(&sc, &tok[i], &tl[i])) {
                        k->stats.malformed++;
                        return 0;
                }
        enum pairing_kind kind;
        if (tl[2] == 5 && memcmp(tok[2], "alloc", 5) == 0)
                kind = PAIRING_ALLOC;
        else if (tl[2] == 4 && memcmp(tok[2], "free", 4) == 0)
                kind = PAIRING_FREE;
        else {
                k->stats.malformed++;
                return 0;
        }
        if (tl[3] < 3 || tl[3] > 18 || tok[3][0] != '0' || tok[3][1] != 'x') {
                k->stats.malformed++;
                return 0;
        }
        uint64_t ptr = 0;
        for (size_t i = 2; i < tl[3]; i++) {
                char c = tok[3][i];
                if (!is_hex(c)) {
                        k->stats.malformed++;
                        return 0;
                }
                ptr = ptr << 4 | (uint64_t) (is_digit(c) ? c - '0' : (c | 0x20) - 'a' + 10);
        }

        int r = close_record(k);
        if (tl[1] != strlen(k->cache) || memcmp(tok[1], k->cache, tl[1]) != 0) {
                k->stats.other_cache++;
                return r;
        }
        k->stats.records++;
        k->open = true;
        k->stack_open = k->stack_done = k->have_pid = false;
        k->kind = kind;
        k->ptr = ptr;
        k->ts_ns = k->last_ts_ns;
        k->pid = 0;
        k->n_frames = k->n_frames_seen = 0;
        return r;
}

static int handle_line(struct kmsgtrace *k, const char *s, size_t len) {
        k->stats.lines++;
        if (len > 0 && s[len - 1] == '\r')
                len--;
        if (memchr(s, '\0', len)) {
                k->stats.malformed++;
                return 0;
        }
        if (is_dict_line(s, len))
                return 0;

        uint64_t seq, usec, ns;
        bool timed = false;
        if (take_kmsg_prefix(&s, &len, &seq, &usec)) {
                if (k->have_seq && seq > k->last_seq + 1)
                        k->stats.seq_gaps += seq - k->last_seq - 1;
                if (!k->have_seq || seq > k->last_seq) {
                        k->last_seq = seq;
                        k->have_seq = true;
                }
                ns = usec * 1000;
                timed = true;
        } else if (take_dmesg_time(&s, &len, &ns))
                timed = true;
        /* One ordered stream: times from different CPUs may step back a
         * little, the order of the log does not. */
        if (timed && ns > k->last_ts_ns)
                k->last_ts_ns = ns;

        const char *m = s;
        size_t ml = len;
        skip_blanks(&m, &ml);
        if (has_prefix(m, ml, "TRACE "))
                return handle_trace(k, m, ml);

        const char *sym;
        size_t sl;
        bool unreliable;
        if (parse_frame(m, ml, &sym, &sl, &unreliable)) {
                if (!k->open || !k->stack_open || k->stack_done)
                        return 0; /* someone else's stack */
                if (unreliable)
                        return 0; /* stale return addresses vary from dump to dump */
                if (k->n_frames_seen == 0 && k->n_frames == 0 && is_printing_frame(sym, sl))
                        return 0;
                k->n_frames_seen++;
                if (k->n_frames < PAIRING_FRAMES_MAX) {
                        memcpy(k->names[k->n_frames], sym, sl);
                        k->names[k->n_frames][sl] = '\0';
                        k->name_lens[k->n_frames++] = sl;
                }
                return 0;
        }
        if (has_prefix(m, ml, "Call Trace:")) {
                if (k->open && !k->stack_open)
                        k->stack_open = true;
                else if (k->open && k->n_frames_seen > 0)
                        k->stack_done = true; /* a second dump */
                return 0;
        }
        if (has_prefix(m, ml, "CPU: ") && textscan_find(m, ml, " PID: ")) {
                if (!k->open)
                        return 0;
                if (k->n_frames_seen > 0 || k->have_pid) {
                        k->stack_done = true; /* the header of another dump */
                        return 0;
                }
                const char *p = textscan_find(m, ml, " PID: ") + 6;
                size_t pl = ml - (size_t) (p - m);
                uint64_t pid;
                if (take_u64(&p, &pl, &pid) && pid <= INT32_MAX) {
                        k->pid = (int32_t) pid;
                        k->have_pid = true;
                }
                return 0;
        }
        if (has_prefix(m, ml, "</TASK>")) {
                if (k->open && k->n_frames_seen > 0)
                        k->stack_done = true;
                return 0;
        }
        if (!is_dump_filler(m, ml))
                k->stats.foreign_lines++;
        return 0;
}

static int line_done(struct kmsgtrace *k, const char *s, size_t len) {
        int r = handle_line(k, s, len);
        if (r < 0)
                return r;
        return k->refused ? -ENOBUFS : 0;
}

int kmsgtrace_feed(struct kmsgtrace *k, const char *buf, size_t len) {
        if (!k || (len > 0 && !buf))
                return -EINVAL;
        int ret = 0;
        while (len > 0) {
                const char *nl = memchr(buf, '\n', len);
                size_t n = nl ? (size_t) (nl - buf) : len;
                if (k->discarding) {
                        if (nl)
                                k->discarding = false;
                } else if (k->line_len + n > sizeof k->line) {
                        k->stats.malformed++;
                        k->line_len = 0;
                        k->discarding = !nl;
                } else if (k->line_len == 0 && nl) {
                        /* The whole line is in @buf: no copy. */
                        int r = line_done(k, buf, n);
                        if (r < 0 && ret == 0)
                                ret = r;
                } else {
                        memcpy(k->line + k->line_len, buf, n);
                        k->line_len += n;
                        if (nl) {
                                int r = line_done(k, k->line, k->line_len);
                                k->line_len = 0;
                                if (r < 0 && ret == 0)
                                        ret = r;
                        }
                }
                if (!nl)
                        break;
                buf = nl + 1;
                len -= n + 1;
        }
        return ret;
}

int kmsgtrace_finish(struct kmsgtrace *k) {
        if (!k)
                return -EINVAL;
        int ret = 0;
        if (k->line_len > 0 && !k->discarding) {
                ret = line_done(k, k->line, k->line_len);
                k->line_len = 0;
        }
        k->discarding = false;
        int r = close_record(k);
        if (ret == 0)
                ret = r;
        if (ret == 0 && k->refused)
                ret = -ENOBUFS;
        return ret;
}
