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
#include "slabinfo.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "textscan.h"

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
        if (major != 2 || minor > 1)
                return -EINVAL; /* 1.x (2.4 kernels) has another column set */
        s->version_major = (unsigned) major;
        s->version_minor = (unsigned) minor;
        s->statistics = false;
        while (textscan_token(&sc, &tok, &tlen))
                if (tlen == 12 && memcmp(tok, "(statistics)", 12) == 0)
                        s->statistics = true;
        return 0;
}

static int next_u64(struct textscan *sc, uint64_t *ret) {
        const char *tok;
        size_t tlen;
        if (!textscan_token(sc, &tok, &tlen))
                return -EINVAL;
        return textscan_u64(tok, tlen, ret);
}

static int next_u32(struct textscan *sc, uint32_t *ret) {
        uint64_t v;
        int r = next_u64(sc, &v);
        if (r < 0)
                return r;
        if (v > UINT32_MAX)
                return -ERANGE;
        *ret = (uint32_t) v;
        return 0;
}

static int expect_word(struct textscan *sc, const char *word) {
        const char *tok;
        size_t tlen;
        if (!textscan_token(sc, &tok, &tlen))
                return -EINVAL;
        if (tlen != strlen(word) || memcmp(tok, word, tlen) != 0)
                return -EINVAL;
        return 0;
}

static int cache_parse(const char *line, size_t len, const struct layout *layout,
                       struct slabinfo_cache *ret) {
        struct textscan sc = textscan_init(line, len);
        struct slabinfo_cache c = {};
        const char *tok;
        size_t tlen;
        uint64_t tun[_TUNABLE_MAX];
        int r;

        if (!textscan_token(&sc, &tok, &tlen))
                return -EINVAL;
        if (tlen >= sizeof c.name)
                return -ENAMETOOLONG;
        memcpy(c.name, tok, tlen);
        c.name[tlen] = '\0';

        if ((r = next_u64(&sc, &c.active_objs)) < 0 || (r = next_u64(&sc, &c.num_objs)) < 0 ||
            (r = next_u32(&sc, &c.objsize)) < 0 || (r = next_u32(&sc, &c.objperslab)) < 0 ||
            (r = next_u32(&sc, &c.pagesperslab)) < 0)
                return r;
        if ((r = expect_word(&sc, ":")) < 0 || (r = expect_word(&sc, "tunables")) < 0)
                return r;
        for (unsigned i = 0; i < _TUNABLE_MAX; i++)
                if ((r = next_u64(&sc, &tun[i])) < 0)
                        return r;
        if (tun[0] > UINT32_MAX || tun[1] > UINT32_MAX || tun[2] > UINT32_MAX)
                return -ERANGE;
        c.limit = (uint32_t) tun[layout->tunable_at[TUNABLE_LIMIT]];
        c.batchcount = (uint32_t) tun[layout->tunable_at[TUNABLE_BATCHCOUNT]];
        c.sharedfactor = (uint32_t) tun[layout->tunable_at[TUNABLE_SHAREDFACTOR]];
        if ((r = expect_word(&sc, ":")) < 0 || (r = expect_word(&sc, "slabdata")) < 0)
                return r;
        if ((r = next_u64(&sc, &c.active_slabs)) < 0 || (r = next_u64(&sc, &c.num_slabs)) < 0 ||
            (r = next_u64(&sc, &c.sharedavail)) < 0)
                return r;

        /* Optional SLAB statistics sections: ": <label> <numbers...>". */
        while (textscan_token(&sc, &tok, &tlen)) {
                if (tlen != 1 || tok[0] != ':')
                        return -EINVAL;
                if (!textscan_token(&sc, &tok, &tlen) || textscan_is_number(tok, tlen))
                        return -EINVAL;
                while (textscan_peek_number(&sc))
                        if ((r = next_u64(&sc, &tun[0])) < 0)
                                return r;
        }

        if (c.active_objs > c.num_objs || c.active_slabs > c.num_slabs)
                return -EINVAL;
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
        s->caches_allocated = n;
        return 0;
}

int slabinfo_parse(const char *buf, size_t len, struct slabinfo *ret) {
        struct textscan_lines lines = textscan_lines_init(buf, len);
        struct layout layout;
        const char *line;
        size_t llen;
        unsigned lineno = 0;
        bool have_header = false;
        int r;

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
                r = cache_parse(line, llen, &layout, &ret->caches[ret->n_caches]);
                if (r < 0) {
                        bad_line(ret, lineno, r);
                        continue;
                }
                ret->n_caches++;
        }
        if (!have_header) {
                ret->n_bad_lines = 0;
                bad_line(ret, lineno ? lineno : 1, -EINVAL);
                return -EINVAL;
        }
        return 0;
}

void slabinfo_done(struct slabinfo *s) {
        if (!s)
                return;
        free(s->caches);
        s->caches = NULL;
        s->n_caches = s->caches_allocated = 0;
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
