/* slablog — see slablog.h.
 *
 * The text of the open sample is copied into one buffer (chunks may cut a
 * sample anywhere), reused from sample to sample. A line is classified by its
 * first byte: '@' lines are marks and never part of a sample, so a sample can
 * be closed as soon as the next mark is complete. */
#include "caches/slablog.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* First capacity of the sample buffer; it doubles up to the bound. */
#define BUFFER_INITIAL (64u << 10)

struct slablog {
        size_t sample_max;
        slablog_sample_fn on_sample;
        slablog_error_fn on_error;
        void *userdata;

        char *buf;                      /* text of the open sample */
        size_t len;
        size_t allocated;

        char mark[SLABLOG_MARK_MAX];    /* the "@" line being read */
        size_t mark_len;
        bool mark_too_long;

        bool at_line_start;
        bool line_is_mark;              /* the current line started with '@' */
        unsigned long line;             /* number of the current line */

        bool in_sample;                 /* a valid mark opened a sample */
        bool skipping;                  /* ...but it outgrew the bound */
        bool warned_no_mark;
        bool warned_whole_seconds;
        bool warned_console;
        uint64_t n_console_lines;
        uint64_t t_usec;
        unsigned long sample_line;

        uint64_t n_samples;
        uint64_t n_errors;
};

int slablog_new(size_t sample_max, slablog_sample_fn on_sample, slablog_error_fn on_error, void *userdata,
                struct slablog **ret) {
        if (!on_sample || !ret)
                return -EINVAL;
        if (sample_max == 0)
                sample_max = SLABLOG_SAMPLE_MAX_DEFAULT;
        if (sample_max < SLABLOG_SAMPLE_MAX_MIN)
                return -EINVAL;
        struct slablog *p = calloc(1, sizeof *p);
        if (!p)
                return -ENOMEM;
        *p = (struct slablog) {
                .sample_max = sample_max,
                .on_sample = on_sample,
                .on_error = on_error,
                .userdata = userdata,
                .at_line_start = true,
                .line = 1,
        };
        *ret = p;
        return 0;
}

void slablog_free(struct slablog *p) {
        if (!p)
                return;
        free(p->buf);
        free(p);
}

uint64_t slablog_n_samples(const struct slablog *p) {
        return p->n_samples;
}

uint64_t slablog_n_console_lines(const struct slablog *p) {
        return p->n_console_lines;
}

uint64_t slablog_n_errors(const struct slablog *p) {
        return p->n_errors;
}

unsigned long slablog_n_lines(const struct slablog *p) {
        /* The current line counts once it has a byte. */
        return p->at_line_start ? p->line - 1 : p->line;
}

static void report(struct slablog *p, unsigned long line, int error) {
        p->n_errors++;
        if (p->on_error)
                p->on_error(line, error, p->userdata);
}

int slablog_parse_mark(const char *line, size_t len, uint64_t *ret_usec) {
        size_t i = 0;
        if (len == 0 || line[0] != '@')
                return -EINVAL;
        for (i = 1; i < len && (line[i] == ' ' || line[i] == '\t'); i++)
                ;
        if (i == 1 && i < len)
                return -EINVAL; /* "@123": the loop's format always has a space */
        uint64_t sec = 0, frac = 0;
        size_t digits = 0;
        for (; i < len && isdigit((unsigned char) line[i]); i++, digits++) {
                unsigned d = (unsigned) (line[i] - '0');
                if (sec > (UINT64_MAX / 1000000 - d) / 10)
                        return -ERANGE;
                sec = sec * 10 + d;
        }
        if (digits == 0)
                return -EINVAL;
        int whole = 0;
        if (len - i >= 3 && line[i] == '.' && line[i + 1] == '%' && line[i + 2] == 'N') {
                /* busybox date: "%N" printed as is */
                whole = 1;
                i += 3;
        } else if (i < len && (line[i] == '.' || line[i] == ',')) {
                i++;
                size_t fd = 0;
                for (; i < len && isdigit((unsigned char) line[i]); i++, fd++)
                        if (fd < 6)
                                frac = frac * 10 + (uint64_t) (line[i] - '0');
                if (fd == 0)
                        return -EINVAL;
                for (; fd < 6; fd++)
                        frac *= 10;
        }
        for (; i < len; i++)
                if (!isspace((unsigned char) line[i]))
                        return -EINVAL;
        *ret_usec = sec * 1000000 + frac;
        return whole;
}

/* "Key:   123 kB" or "HugePages_Total:   0": a /proc/meminfo line. */
static bool meminfo_line(const char *l, size_t n) {
        size_t i = 0;
        while (i < n && !isspace((unsigned char) l[i]))
                i++;
        if (i < 2 || l[i - 1] != ':')
                return false;
        while (i < n && (l[i] == ' ' || l[i] == '\t'))
                i++;
        size_t digits = 0;
        for (; i < n && isdigit((unsigned char) l[i]); i++)
                digits++;
        if (digits == 0)
                return false;
        while (i < n && (l[i] == ' ' || l[i] == '\t'))
                i++;
        if (n - i >= 2 && l[i] == 'k' && l[i + 1] == 'B')
                i += 2;
        for (; i < n; i++)
                if (!isspace((unsigned char) l[i]))
                        return false;
        return true;
}

static bool slabinfo_header(const char *l, size_t n) {
        static const char h[] = "slabinfo - version:";
        return n >= sizeof h - 1 && memcmp(l, h, sizeof h - 1) == 0;
}

void slablog_split(const char *buf, size_t len, unsigned long first_line, struct slablog_sample *ret) {
        enum { NONE, MEMINFO, SLABINFO } section = NONE;
        bool meminfo_done = false, slabinfo_done = false;
        const char *p = buf, *end = buf ? buf + len : buf;     /* an empty sample may have no buffer */
        unsigned long line = first_line;

        ret->meminfo = ret->slabinfo = NULL;
        ret->meminfo_len = ret->slabinfo_len = 0;
        ret->meminfo_line = ret->slabinfo_line = 0;
        for (; p < end; line++) {
                const char *nl = memchr(p, '\n', (size_t) (end - p));
                const char *next = nl ? nl + 1 : end;
                size_t n = (size_t) ((nl ? nl : end) - p);
                if (slabinfo_header(p, n)) {
                        if (section == MEMINFO)
                                meminfo_done = true;
                        if (!slabinfo_done && !ret->slabinfo) {
                                ret->slabinfo = p;
                                ret->slabinfo_line = line;
                                section = SLABINFO;
                        } else
                                section = NONE; /* a second table: not ours */
                } else if (meminfo_line(p, n)) {
                        if (section == SLABINFO) {
                                slabinfo_done = true;
                                section = NONE;
                        }
                        if (!meminfo_done && section != MEMINFO && !ret->meminfo) {
                                ret->meminfo = p;
                                ret->meminfo_line = line;
                                section = MEMINFO;
                        }
                        /* The span ends after the last meminfo line of its block. */
                        if (section == MEMINFO)
                                ret->meminfo_len = (size_t) (next - ret->meminfo);
                }
                if (section == SLABINFO)
                        ret->slabinfo_len = (size_t) (next - ret->slabinfo);
                p = next;
        }
}

static int buffer_append(struct slablog *p, const char *data, size_t n) {
        if (p->len + n > p->allocated) {
                size_t a = p->allocated ? p->allocated : BUFFER_INITIAL;
                while (a < p->len + n)
                        a *= 2;
                if (a > p->sample_max)
                        a = p->sample_max;
                char *b = realloc(p->buf, a);
                if (!b)
                        return -ENOMEM;
                p->buf = b;
                p->allocated = a;
        }
        memcpy(p->buf + p->len, data, n);
        p->len += n;
        return 0;
}

/* "[  123.456789] msg", "<6>[  123.456789] msg": a kernel message on a
 * serial console, not part of meminfo or slabinfo. */
static bool console_line(const char *l, size_t n) {
        size_t i = 0;
        if (n > 3 && l[0] == '<' && isdigit((unsigned char) l[1])) {
                i = 2;
                while (i < n && isdigit((unsigned char) l[i]))
                        i++;
                if (i >= n || l[i] != '>')
                        return false;
                i++;
        }
        if (i >= n || l[i] != '[')
                return false;
        i++;
        while (i < n && l[i] == ' ')
                i++;
        size_t d = i;
        while (i < n && isdigit((unsigned char) l[i]))
                i++;
        if (i == d || i >= n || l[i] != '.')
                return false;
        i++;
        while (i < n && isdigit((unsigned char) l[i]))
                i++;
        return i < n && l[i] == ']';
}

/* Take kernel messages out of the sample text, in place. */
static void drop_console_lines(struct slablog *p) {
        if (p->len == 0)
                return;         /* an empty sample may have no buffer yet */
        char *r = p->buf, *w = p->buf, *end = p->buf + p->len;
        uint64_t dropped = 0;
        while (r < end) {
                char *nl = memchr(r, '\n', (size_t) (end - r));
                size_t n = (size_t) ((nl ? nl + 1 : end) - r);
                if (console_line(r, n))
                        dropped++;
                else {
                        if (w != r)
                                memmove(w, r, n);
                        w += n;
                }
                r += n;
        }
        p->len = (size_t) (w - p->buf);
        if (dropped > 0) {
                p->n_console_lines += dropped;
                if (!p->warned_console) {
                        p->warned_console = true;
                        if (p->on_error)
                                p->on_error(p->sample_line, SLABLOG_WARN_CONSOLE, p->userdata);
                }
        }
}

static int deliver(struct slablog *p) {
        if (!p->in_sample || p->skipping)
                return 0;
        drop_console_lines(p);
        struct slablog_sample s = {
                .t_usec = p->t_usec,
                .line = p->sample_line,
        };
        slablog_split(p->buf, p->len, p->sample_line + 1, &s);
        p->in_sample = false;
        p->n_samples++;
        return p->on_sample(&s, p->userdata);
}

/* A complete "@" line: close the open sample, open the next. */
static int end_mark(struct slablog *p) {
        int r = deliver(p);
        p->in_sample = p->skipping = false;
        p->len = 0;
        uint64_t t;
        int m = p->mark_too_long ? -EINVAL : slablog_parse_mark(p->mark, p->mark_len, &t);
        if (m < 0)
                report(p, p->line, SLABLOG_ERR_MARK);
        else {
                if (m == 1 && !p->warned_whole_seconds) {
                        p->warned_whole_seconds = true;
                        if (p->on_error)
                                p->on_error(p->line, SLABLOG_WARN_WHOLE_SECONDS, p->userdata);
                }
                p->in_sample = true;
                p->t_usec = t;
                p->sample_line = p->line;
        }
        p->mark_len = 0;
        p->mark_too_long = false;
        return r;
}

/* Part of a line that is not a mark: into the open sample, if any. */
static int content(struct slablog *p, const char *data, size_t n) {
        if (!p->in_sample) {
                bool blank = true;
                for (size_t i = 0; i < n && blank; i++)
                        blank = isspace((unsigned char) data[i]);
                if (!blank && p->n_samples == 0 && p->n_errors == 0 && !p->warned_no_mark) {
                        p->warned_no_mark = true;
                        report(p, p->line, SLABLOG_ERR_NO_MARK);
                }
                return 0;
        }
        if (p->skipping)
                return 0;
        if (p->len + n > p->sample_max) {
                report(p, p->sample_line, SLABLOG_ERR_TOO_BIG);
                p->skipping = true;
                p->len = 0;
                return 0;
        }
        return buffer_append(p, data, n);
}

int slablog_feed(struct slablog *p, const char *data, size_t len) {
        while (len > 0) {
                const char *nl = memchr(data, '\n', len);
                size_t n = nl ? (size_t) (nl - data) + 1 : len;
                if (p->at_line_start) {
                        p->line_is_mark = data[0] == '@';
                        p->at_line_start = false;
                }
                int r = 0;
                if (p->line_is_mark) {
                        size_t room = sizeof p->mark - p->mark_len;
                        if (n > room)
                                p->mark_too_long = true; /* read on to its newline */
                        else {
                                memcpy(p->mark + p->mark_len, data, n);
                                p->mark_len += n;
                        }
                        if (nl)
                                r = end_mark(p);
                } else
                        r = content(p, data, n);
                if (nl) {
                        p->at_line_start = true;
                        p->line++;
                }
                data += n;
                len -= n;
                if (r < 0)
                        return r;
        }
        return 0;
}

int slablog_finish(struct slablog *p) {
        int r = 0;
        if (!p->at_line_start && p->line_is_mark) {
                /* A last "@" line without its newline: a sample with no text. */
                r = end_mark(p);
                p->at_line_start = true;
                p->line++;
                if (r < 0)
                        return r;
        }
        r = deliver(p);
        p->len = 0;
        return r;
}
