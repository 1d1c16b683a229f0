/* slabinfo — parse /proc/slabinfo.
 *
 * Layouts handled:
 *   2.1 (2.6.10+): name <6 numbers> : tunables <limit> <batchcount> <sharedfactor>
 *                  : slabdata <active_slabs> <num_slabs> <sharedavail>
 *   2.0 (2.6.0-2.6.9): the same, but tunables printed as <batchcount> <limit> <sharedfactor>
 *   SLAB with CONFIG_DEBUG_SLAB: header "(statistics)" and trailing
 *                  ": globalstat ..." / ": cpustat ..." sections, which we skip.
 * The "# name" comment line, when present, decides the tunables order, so a
 * kernel that prints its own order is read as it says. */
#include "caches/slabinfo.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/textscan.h"

enum { TUNABLE_LIMIT, TUNABLE_BATCHCOUNT, TUNABLE_SHAREDFACTOR, _TUNABLE_MAX };

struct layout {
        unsigned tunable_at[_TUNABLE_MAX]; /* position (0..2) of each tunable */
};

static void layout_for_version(unsigned major, unsigned minor, struct layout *ret) {
        bool old = major < 2 || (major == 2 && minor == 0);
        ret->tunable_at[TUNABLE_LIMIT] = old ? 1 : 0;
        ret->tunable_at[TUNABLE_BATCHCOUNT] = old ? 0 : 1;
        ret->tunable_at[TUNABLE_SHAREDFACTOR] = 2;
}

/* "# name <active_objs> ... : tunables <limit> <batchcount> <sharedfactor> ..." */
static void layout_from_comment(const char *line, size_t len, struct layout *layout) {
        const char *t = textscan_find(line, len, ": tunables");
        if (!t)
                return;
        const char *end = line + len;
        struct layout found;
        unsigned seen = 0;
        for (unsigned pos = 0; pos < _TUNABLE_MAX; pos++) {
                const char *open = memchr(t, '<', (size_t) (end - t));
                if (!open)
                        return;
                const char *close = memchr(open, '>', (size_t) (end - open));
                if (!close)
                        return;
                size_t n = (size_t) (close - open - 1);
                if (n == 5 && memcmp(open + 1, "limit", 5) == 0)
                        found.tunable_at[TUNABLE_LIMIT] = pos, seen |= 1u << TUNABLE_LIMIT;
                else if (n == 10 && memcmp(open + 1, "batchcount", 10) == 0)
                        found.tunable_at[TUNABLE_BATCHCOUNT] = pos, seen |= 1u << TUNABLE_BATCHCOUNT;
                else if (n == 12 && memcmp(open + 1, "sharedfactor", 12) == 0)
                        found.tunable_at[TUNABLE_SHAREDFACTOR] = pos, seen |= 1u << TUNABLE_SHAREDFACTOR;
                t = close + 1;
        }
        if (seen == (1u << _TUNABLE_MAX) - 1)
                *layout = found;
}

/* "slabinfo - version: 2.1" or "slabinfo - version: 2.1 (statistics)" */
static int header_parse(const char *line, size_t len, struct slabinfo *s) {
        static const char prefix[] = "slabinfo - version:";
        size_t plen = sizeof prefix - 1;
        if (len < plen || memcmp(line, prefix, plen) != 0)
                return -EINVAL;
        struct textscan sc = textscan_init(line + plen, len - plen);
        uint64_t major, minor;
        const char *tok;
        size_t tlen;
        if (!textscan_token(&sc, &tok, &tlen))
                return -EINVAL;
        const char *dot = memchr(tok, '.', tlen);
        if (!dot)
                return -EINVAL;
        if (textscan_u64(tok, (size_t) (dot - tok), &major) < 0 ||
            textscan_u64(dot + 1, tlen - (size_t) (dot - tok) - 1, &minor) < 0)
                return -EINVAL;
        if ((major != 2 && major != 1) || minor > 1)
                return -EINVAL;
        s->version_major = (unsigned) major;
        s->version_minor = (unsigned) minor;
        s->statistics = false;
        while (textscan_token(&sc, &tok, &tlen))
                if (tlen == 12 && memcmp(tok, "(statistics)", 12) == 0)
                        s->statistics = true;
        return 0;
}

/* The sampling hot path: a cache line is mostly alignment spaces and
 * digits, so skip and convert in one pass instead of tokenising first. */
static inline const char *skip_blanks(const char *p, const char *end) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        /* Columns are padded with runs of spaces: skip eight at a time; the
         * first non-space byte is the lowest set byte of word ^ spaces. */
        while (end - p >= 8) {
                uint64_t w;
                memcpy(&w, p, sizeof w);
                w ^= UINT64_C(0x2020202020202020);
                if (w) {
                        p += __builtin_ctzll(w) >> 3;
                        break;
                }
                p += 8;
        }
#endif
        while (p < end && (*p == ' ' || *p == '\t'))
                p++;
        return p;
}

static inline bool at_separator(const char *p, const char *end) {
        return p >= end || *p == ' ' || *p == '\t' || *p == '\r';
}

static int next_u64(const char **pp, const char *end, uint64_t *ret) {
        const char *p = skip_blanks(*pp, end);
        uint64_t v = 0;
        if (p >= end || (unsigned) (*p - '0') > 9)
                return -EINVAL;
        do {
                unsigned d = (unsigned) (*p - '0');
                if (v > UINT64_MAX / 10 || (v == UINT64_MAX / 10 && d > UINT64_MAX % 10))
                        return -ERANGE;
                v = v * 10 + d;
                p++;
        } while (p < end && (unsigned) (*p - '0') <= 9);
        if (!at_separator(p, end))
                return -EINVAL;
        *pp = p;
        *ret = v;
        return 0;
}

static int next_u32(const char **pp, const char *end, uint32_t *ret) {
        uint64_t v;
        int r = next_u64(pp, end, &v);
        if (r < 0)
                return r;
        if (v > UINT32_MAX)
                return -ERANGE;
        *ret = (uint32_t) v;
        return 0;
}

/* ": <word>" with the word given, e.g. ": tunables". */
static int expect_section(const char **pp, const char *end, const char *word, size_t wlen) {
        const char *p = skip_blanks(*pp, end);
        if (p >= end || *p != ':' || !at_separator(p + 1, end))
                return -EINVAL;
        p = skip_blanks(p + 1, end);
        if ((size_t) (end - p) < wlen || memcmp(p, word, wlen) != 0 || !at_separator(p + wlen, end))
                return -EINVAL;
        *pp = p + wlen;
        return 0;
}

static int cache_parse(const char *line, size_t len, const struct layout *layout,
                       struct slabinfo_cache *ret) {
        const char *p = skip_blanks(line, line + len), *end = line + len, *name = p;
        uint64_t tun[_TUNABLE_MAX];
        int r;

        while (p < end && !at_separator(p, end))
                p++;
        size_t nlen = (size_t) (p - name);
        if (nlen == 0)
                return -EINVAL;
        if (nlen >= sizeof ret->name)
                return -ENAMETOOLONG;

        struct slabinfo_cache c = {}; /* whole, so results compare byte for byte */
        if ((r = next_u64(&p, end, &c.active_objs)) < 0 || (r = next_u64(&p, end, &c.num_objs)) < 0 ||
            (r = next_u32(&p, end, &c.objsize)) < 0 || (r = next_u32(&p, end, &c.objperslab)) < 0 ||
            (r = next_u32(&p, end, &c.pagesperslab)) < 0)
                return r;
        if ((r = expect_section(&p, end, "tunables", 8)) < 0)
                return r;
        for (unsigned i = 0; i < _TUNABLE_MAX; i++)
                if ((r = next_u64(&p, end, &tun[i])) < 0)
                        return r;
        if (tun[0] > UINT32_MAX || tun[1] > UINT32_MAX || tun[2] > UINT32_MAX)
                return -ERANGE;
        c.limit = (uint32_t) tun[layout->tunable_at[TUNABLE_LIMIT]];
        c.batchcount = (uint32_t) tun[layout->tunable_at[TUNABLE_BATCHCOUNT]];
        c.sharedfactor = (uint32_t) tun[layout->tunable_at[TUNABLE_SHAREDFACTOR]];
        if ((r = expect_section(&p, end, "slabdata", 8)) < 0)
                return r;
        if ((r = next_u64(&p, end, &c.active_slabs)) < 0 || (r = next_u64(&p, end, &c.num_slabs)) < 0 ||
            (r = next_u64(&p, end, &c.sharedavail)) < 0)
                return r;

        /* Optional sections: SLAB statistics ": <label> <numbers...>", and
         * what vendor kernels add (": shrinker stat 0 0"). Not used. */
        struct textscan sc = textscan_init(p, (size_t) (end - p));
        const char *tok;
        size_t tlen;
        if (textscan_token(&sc, &tok, &tlen) && (tlen != 1 || tok[0] != ':'))
                return -EINVAL;

        if (c.active_objs > c.num_objs || c.active_slabs > c.num_slabs)
                return -EINVAL;
        memcpy(c.name, name, nlen);
        c.name[nlen] = '\0';
        *ret = c;
        return 0;
}

/* slabinfo 1.1 (2.4 kernels): "name active_objs num_objs objsize
 * active_slabs num_slabs pagesperslab", then with SMP ": limit batchcount". */
static int cache_parse_v1(const char *line, size_t len, struct slabinfo_cache *ret) {
        const char *p = skip_blanks(line, line + len), *end = line + len, *name = p;
        int r;
        while (p < end && !at_separator(p, end))
                p++;
        size_t nlen = (size_t) (p - name);
        if (nlen == 0)
                return -EINVAL;
        if (nlen >= sizeof ret->name)
                return -ENAMETOOLONG;
        struct slabinfo_cache c = {};
        if ((r = next_u64(&p, end, &c.active_objs)) < 0 || (r = next_u64(&p, end, &c.num_objs)) < 0 ||
            (r = next_u32(&p, end, &c.objsize)) < 0 || (r = next_u64(&p, end, &c.active_slabs)) < 0 ||
            (r = next_u64(&p, end, &c.num_slabs)) < 0 || (r = next_u32(&p, end, &c.pagesperslab)) < 0)
                return r;
        p = skip_blanks(p, end);
        if (p < end) {
                const char *q = p + 1;
                if (*p != ':' || next_u32(&q, end, &c.limit) < 0 || next_u32(&q, end, &c.batchcount) < 0)
                        return -EINVAL;
        }
        if (c.active_objs > c.num_objs || c.active_slabs > c.num_slabs)
                return -EINVAL;
        c.objperslab = c.num_slabs ? (uint32_t) (c.num_objs / c.num_slabs) : 0;
        memcpy(c.name, name, nlen);
        c.name[nlen] = '\0';
        *ret = c;
        return 0;
}

static void bad_line(struct slabinfo *s, unsigned line, int error) {
        if (s->n_bad_lines < SLABINFO_BAD_LINES_MAX)
                s->bad_lines[s->n_bad_lines] = (struct slabinfo_bad_line) { line, error };
        s->n_bad_lines++;
}

static int caches_reserve(struct slabinfo *s) {
        if (s->n_caches < s->caches_allocated)
                return 0;
        size_t n = s->caches_allocated ? s->caches_allocated * 2 : 256;
        if (n > SLABINFO_CACHES_MAX)
                n = SLABINFO_CACHES_MAX;
        if (n <= s->n_caches)
                return -E2BIG;
        struct slabinfo_cache *c = realloc(s->caches, n * sizeof *c);
        if (!c)
                return -ENOMEM;
        s->caches = c;
        struct slabinfo_span *l = realloc(s->prev_lines, n * sizeof *l);
        if (!l)
                return -ENOMEM;
        s->prev_lines = l;
        s->caches_allocated = n;
        return 0;
}

/* Give memory back once a file is much smaller than the largest seen (a
 * burst of caches that retired): keep twice what this parse needed. A
 * failed shrink keeps the larger, still valid, arrays. */
static void shrink_unused(struct slabinfo *s) {
        size_t want = s->n_caches * 2 > SLABINFO_KEEP_MIN ? s->n_caches * 2 : SLABINFO_KEEP_MIN;
        if (s->caches_allocated > want * 2) {
                struct slabinfo_cache *c = realloc(s->caches, want * sizeof *c);
                struct slabinfo_span *l = c ? realloc(s->prev_lines, want * sizeof *l) : NULL;
                if (c) {
                        /* prev_lines holds at least @want either way. */
                        s->caches = c;
                        if (l)
                                s->prev_lines = l;
                        s->caches_allocated = want;
                }
        }
        if (s->prev_allocated > SLABINFO_KEEP_TEXT_MIN && s->prev_allocated > s->prev_len * 4) {
                size_t n = s->prev_len * 2 > SLABINFO_KEEP_TEXT_MIN ? s->prev_len * 2 : SLABINFO_KEEP_TEXT_MIN;
                char *p = realloc(s->prev_text, n);
                if (p) {
                        s->prev_text = p;
                        s->prev_allocated = n;
                }
        }
}

/* Keep a copy of @buf for the next parse's line comparison. The copy is
 * dropped (no reuse next time) if it cannot be made or the offsets do not
 * fit. */
static void remember_text(struct slabinfo *s, const char *buf, size_t len) {
        if (len > UINT32_MAX)
                goto forget;
        if (len > s->prev_allocated) {
                char *p = realloc(s->prev_text, len);
                if (!p)
                        goto forget;
                s->prev_text = p;
                s->prev_allocated = len;
        }
        memcpy(s->prev_text, buf, len);
        s->prev_len = len;
        return;
forget:
        s->prev_len = 0; /* the results stay valid; only the next reuse is lost */
}

static bool same_as_before(const struct slabinfo *s, size_t k, size_t n_before, const char *line,
                           size_t len) {
        if (k >= n_before || !s->prev_len)
                return false;
        const struct slabinfo_span *sp = &s->prev_lines[k];
        return sp->len == len && memcmp(s->prev_text + sp->off, line, len) == 0;
}

int slabinfo_parse(const char *buf, size_t len, struct slabinfo *ret) {
        struct textscan_lines lines = textscan_lines_init(buf, len);
        struct layout layout = {};
        const char *line;
        size_t llen;
        unsigned lineno = 0;
        bool have_header = false, layout_checked = false;
        int r;

        size_t n_before = ret->n_caches;
        ret->n_caches = 0;
        ret->n_bad_lines = 0;
        ret->version_major = ret->version_minor = 0;
        ret->statistics = false;

        while (textscan_next_line(&lines, &line, &llen)) {
                lineno++;
                if (llen > SLABINFO_LINE_MAX || memchr(line, '\0', llen)) {
                        if (!have_header)
                                break;
                        bad_line(ret, lineno, llen > SLABINFO_LINE_MAX ? -E2BIG : -EINVAL);
                        continue;
                }
                if (textscan_blank(line, llen))
                        continue;
                if (!have_header) {
                        if (header_parse(line, llen, ret) < 0)
                                break;
                        layout_for_version(ret->version_major, ret->version_minor, &layout);
                        have_header = true;
                        continue;
                }
                if (line[0] == '#') {
                        layout_from_comment(line, llen, &layout);
                        continue;
                }
                r = caches_reserve(ret);
                if (r == -ENOMEM)
                        return r;
                if (r < 0) {
                        bad_line(ret, lineno, r);
                        continue;
                }
                if (!layout_checked) {
                        /* A parsed cache is only as good as the column order it was read with. */
                        if (memcmp(layout.tunable_at, ret->prev_layout, sizeof ret->prev_layout) != 0) {
                                n_before = 0;
                                memcpy(ret->prev_layout, layout.tunable_at, sizeof ret->prev_layout);
                        }
                        layout_checked = true;
                }
                size_t k = ret->n_caches;
                if (!same_as_before(ret, k, n_before, line, llen)) {
                        r = ret->version_major == 1 ? cache_parse_v1(line, llen, &ret->caches[k])
                                                    : cache_parse(line, llen, &layout, &ret->caches[k]);
                        if (r < 0) {
                                bad_line(ret, lineno, r);
                                continue;
                        }
                }
                ret->prev_lines[k] = (struct slabinfo_span) { (uint32_t) (line - buf), (uint32_t) llen };
                ret->n_caches++;
        }
        if (!have_header) {
                ret->n_bad_lines = 0;
                ret->prev_len = 0;
                bad_line(ret, lineno ? lineno : 1, -EINVAL);
                return -EINVAL;
        }
        remember_text(ret, buf, len);
        shrink_unused(ret);
        return 0;
}

void slabinfo_done(struct slabinfo *s) {
        if (!s)
                return;
        free(s->caches);
        free(s->prev_lines);
        free(s->prev_text);
        s->caches = NULL;
        s->prev_lines = NULL;
        s->prev_text = NULL;
        s->n_caches = s->caches_allocated = 0;
        s->prev_len = s->prev_allocated = 0;
}

uint64_t slabinfo_cache_bytes(const struct slabinfo_cache *c, uint32_t page_size) {
        return c->num_slabs * c->pagesperslab * (uint64_t) page_size;
}

const struct slabinfo_cache *slabinfo_find(const struct slabinfo *s, const char *name) {
        for (size_t i = 0; i < s->n_caches; i++)
                if (strcmp(s->caches[i].name, name) == 0)
                        return &s->caches[i];
        return NULL;
}
