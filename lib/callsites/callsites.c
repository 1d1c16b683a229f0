/* callsites — entry lines, optional indented stacks, and a keyed merge of two
 * snapshots. Strings and frames are copied into chunks owned by the result,
 * so it does not depend on the input buffer. */
#include "callsites/callsites.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/textscan.h"

#define CHUNK_SIZE ((size_t) 16 << 10)

struct callsites_chunk {
        struct callsites_chunk *next;
        size_t used;
        size_t size;
        max_align_t data[];
};

static void *chunk_alloc(struct callsites *c, size_t size) {
        size = (size + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
        struct callsites_chunk *k = c->chunks;
        if (!k || k->size - k->used < size) {
                size_t ksize = size > CHUNK_SIZE ? size : CHUNK_SIZE;
                k = malloc(sizeof *k + ksize);
                if (!k)
                        return NULL;
                k->next = c->chunks;
                k->used = 0;
                k->size = ksize;
                c->chunks = k;
        }
        void *p = (char *) k->data + k->used;
        k->used += size;
        return p;
}

static const char *chunk_strndup(struct callsites *c, const char *s, size_t n) {
        char *d = chunk_alloc(c, n + 1);
        if (!d)
                return NULL;
        memcpy(d, s, n);
        d[n] = '\0';
        return d;
}

void callsites_done(struct callsites *c) {
        if (!c)
                return;
        for (struct callsites_chunk *k = c->chunks, *next; k; k = next) {
                next = k->next;
                free(k);
        }
        free(c->sites);
        *c = (struct callsites) {};
}

static void bad_line(struct callsites *c, unsigned line, int error) {
        if (c->n_bad_lines < CALLSITES_BAD_LINES_MAX)
                c->bad_lines[c->n_bad_lines] = (struct callsites_bad_line) { line, error };
        c->n_bad_lines++;
}

/* "a" or "a/b/c" (age) and "a/b" (waste): @n numbers wanted, @ret filled. */
static int parse_slashed(const char *s, size_t len, uint64_t *ret, size_t want) {
        size_t k = 0;
        while (k < want) {
                const char *slash = memchr(s, '/', len);
                size_t n = slash ? (size_t) (slash - s) : len;
                int r = textscan_u64(s, n, &ret[k++]);
                if (r < 0)
                        return r;
                if (!slash)
                        break;
                s = slash + 1;
                len -= n + 1;
                if (k == want)
                        return -EINVAL;
        }
        return (int) k;
}

/* "0-1467" or "1" */
static int parse_range(const char *s, size_t len, uint64_t *ret_min, uint64_t *ret_max) {
        const char *dash = memchr(s, '-', len);
        uint64_t a, b;
        int r;
        if (!dash) {
                r = textscan_u64(s, len, &a);
                b = a;
        } else {
                r = textscan_u64(s, (size_t) (dash - s), &a);
                if (r >= 0)
                        r = textscan_u64(dash + 1, len - (size_t) (dash - s) - 1, &b);
        }
        if (r < 0)
                return r;
        if (b < a)
                return -EINVAL;
        *ret_min = a;
        *ret_max = b;
        return 0;
}

/* A CPU or node list: digits, ',' and '-'. */
static bool is_list(const char *s, size_t len) {
        if (len == 0)
                return false;
        for (size_t i = 0; i < len; i++)
                if (!((s[i] >= '0' && s[i] <= '9') || s[i] == ',' || s[i] == '-'))
                        return false;
        return true;
}

static int parse_entry(struct callsites *c, const char *line, size_t len, struct callsites_site *ret) {
        struct textscan sc = textscan_init(line, len);
        struct callsites_site s = {};
        const char *tok, *site;
        size_t tl, sl;
        int r;

        if (!textscan_token(&sc, &tok, &tl))
                return -EINVAL;
        r = textscan_u64(tok, tl, &s.count);
        if (r < 0)
                return r;
        if (!textscan_token(&sc, &site, &sl))
                return -EINVAL;
        const char *site_end = site + sl;
        struct textscan after = sc;
        if (textscan_token(&sc, &tok, &tl) && tok[0] == '[') {
                /* "[module]" or "[module buildid]" */
                while (tok[tl - 1] != ']')
                        if (!textscan_token(&sc, &tok, &tl))
                                return -EINVAL;
                site_end = tok + tl;
        } else
                sc = after;

        struct stackdump_symbol sym;
        if (sl == 15 && memcmp(site, "<not-available>", 15) == 0)
                sym = (struct stackdump_symbol) { .name = site, .name_len = sl, .module = "" };
        else if (stackdump_parse_symbol(site, (size_t) (site_end - site), &sym) < 0)
                return -EINVAL;

        const char *cpus = "", *nodes = "";
        size_t cpus_len = 0, nodes_len = 0;
        bool known = false;
        while (textscan_token(&sc, &tok, &tl)) {
                const char *eq = memchr(tok, '=', tl);
                if (!eq || eq == tok)
                        return -EINVAL;
                size_t kl = (size_t) (eq - tok);
                const char *v = eq + 1;
                size_t vl = tl - kl - 1;
                if (kl == 3 && memcmp(tok, "age", 3) == 0) {
                        uint64_t a[3];
                        r = parse_slashed(v, vl, a, 3);
                        if (r < 0)
                                return r;
                        if (r == 1)
                                s.age_min = s.age_avg = s.age_max = a[0];
                        else if (r == 3)
                                s.age_min = a[0], s.age_avg = a[1], s.age_max = a[2];
                        else
                                return -EINVAL;
                        s.has_age = true;
                } else if (kl == 3 && memcmp(tok, "pid", 3) == 0) {
                        r = parse_range(v, vl, &s.pid_min, &s.pid_max);
                        if (r < 0)
                                return r;
                        s.has_pid = true;
                } else if (kl == 4 && memcmp(tok, "cpus", 4) == 0) {
                        if (!is_list(v, vl))
                                return -EINVAL;
                        cpus = v;
                        cpus_len = vl;
                } else if (kl == 5 && memcmp(tok, "nodes", 5) == 0) {
                        if (!is_list(v, vl))
                                return -EINVAL;
                        nodes = v;
                        nodes_len = vl;
                } else if (kl == 5 && memcmp(tok, "waste", 5) == 0) {
                        uint64_t w[2];
                        r = parse_slashed(v, vl, w, 2);
                        if (r < 0)
                                return r;
                        if (r != 2)
                                return -EINVAL;
                        s.waste_total = w[0];
                        s.waste_per_object = w[1];
                        s.has_waste = true;
                } else
                        continue; /* a newer kernel's addition */
                known = true;
        }
        /* Every kernel prints at least age= and pid=: a line without any
         * known key is not an entry (or was cut short). */
        if (!known)
                return -EINVAL;

        s.function = chunk_strndup(c, sym.name, sym.name_len);
        s.module = chunk_strndup(c, sym.module, sym.module_len);
        s.cpus = chunk_strndup(c, cpus, cpus_len);
        s.nodes = chunk_strndup(c, nodes, nodes_len);
        if (!s.function || !s.module || !s.cpus || !s.nodes)
                return -ENOMEM;
        s.offset = sym.offset;
        s.size = sym.size;
        s.has_offset = sym.has_offset;
        *ret = s;
        return 0;
}

struct open_stack {
        struct callsites_frame frames[CALLSITES_FRAMES_MAX];
        size_t n;
        size_t dropped;
};

/* Move the collected frames into the last site. */
static int close_stack(struct callsites *c, struct open_stack *o) {
        if (c->n_sites == 0 || (o->n == 0 && o->dropped == 0))
                return 0;
        struct callsites_site *s = &c->sites[c->n_sites - 1];
        struct callsites_frame *f = chunk_alloc(c, o->n * sizeof *f);
        if (!f && o->n > 0)
                return -ENOMEM;
        if (o->n > 0)
                memcpy(f, o->frames, o->n * sizeof *f);
        s->frames = f;
        s->n_frames = o->n;
        s->n_frames_dropped = o->dropped;
        c->has_stacks = true;
        o->n = 0;
        o->dropped = 0;
        return 0;
}

static int add_site(struct callsites *c, const struct callsites_site *s) {
        if (c->n_sites == c->sites_allocated) {
                size_t n = c->sites_allocated ? c->sites_allocated * 2 : 64;
                struct callsites_site *p = realloc(c->sites, n * sizeof *p);
                if (!p)
                        return -ENOMEM;
                c->sites = p;
                c->sites_allocated = n;
        }
        c->sites[c->n_sites++] = *s;
        return 0;
}

static int parse_all(const char *buf, size_t len, struct callsites *c, struct open_stack *o, bool *ret_any_line) {
        struct textscan_lines it = textscan_lines_init(buf, len);
        const char *line;
        size_t n;
        unsigned line_no = 0;
        bool entry_open = false;        /* the last entry may still get frames */
        int r;

        while (textscan_next_line(&it, &line, &n)) {
                if (line_no < UINT32_MAX)
                        line_no++;
                if (textscan_blank(line, n)) {
                        r = close_stack(c, o);
                        if (r < 0)
                                return r;
                        entry_open = false;
                        continue;
                }
                *ret_any_line = true;
                if (n > CALLSITES_LINE_MAX) {
                        bad_line(c, line_no, -E2BIG);
                        continue;
                }
                if (memchr(line, '\0', n)) {
                        bad_line(c, line_no, -EINVAL);
                        continue;
                }
                size_t lead = 0;
                while (lead < n && (line[lead] == ' ' || line[lead] == '\t'))
                        lead++;
                bool numbered = lead < n && line[lead] >= '0' && line[lead] <= '9';
                if (!numbered && entry_open && lead > 0) {
                        /* A frame of the entry's stack (5.19+). */
                        struct stackdump_symbol sym;
                        if (stackdump_parse_symbol(line, n, &sym) < 0) {
                                bad_line(c, line_no, -EINVAL);
                                continue;
                        }
                        if (o->n == CALLSITES_FRAMES_MAX) {
                                o->dropped++;
                                continue;
                        }
                        const char *fn = chunk_strndup(c, sym.name, sym.name_len);
                        const char *mod = chunk_strndup(c, sym.module, sym.module_len);
                        if (!fn || !mod)
                                return -ENOMEM;
                        o->frames[o->n++] = (struct callsites_frame) {
                                .function = fn, .module = mod,
                                .offset = sym.offset, .size = sym.size, .has_offset = sym.has_offset,
                        };
                        continue;
                }
                r = close_stack(c, o);
                if (r < 0)
                        return r;
                entry_open = false;
                struct callsites_site s;
                r = parse_entry(c, line, n, &s);
                if (r == -ENOMEM)
                        return r;
                if (r < 0) {
                        bad_line(c, line_no, r);
                        continue;
                }
                if (c->n_sites >= CALLSITES_SITES_MAX) {
                        c->truncated = true;
                        continue;
                }
                s.line = line_no;
                r = add_site(c, &s);
                if (r < 0)
                        return r;
                entry_open = true;
        }
        return close_stack(c, o);
}

int callsites_parse(const char *buf, size_t len, struct callsites *ret) {
        struct callsites c = {};
        struct open_stack *o = malloc(sizeof *o);
        bool any_line = false;
        if (!o)
                return -ENOMEM;
        o->n = 0;
        o->dropped = 0;
        int r = parse_all(buf, len, &c, o, &any_line);
        free(o);
        if (r < 0) {
                callsites_done(&c);
                return r;
        }
        callsites_done(ret);
        *ret = c;
        if (c.n_sites == 0 && any_line && c.n_bad_lines > 0)
                return -EINVAL;
        return 0;
}

uint64_t callsites_total(const struct callsites *c) {
        uint64_t sum = 0;
        for (size_t i = 0; i < c->n_sites; i++)
                sum += c->sites[i].count;
        return sum;
}

const char *callsites_format_site(const struct callsites_site *s, char *buf, size_t size) {
        if (size == 0)
                return buf;
        int n;
        if (s->has_offset)
                n = snprintf(buf, size, "%s+0x%llx/0x%llx", s->function, (unsigned long long) s->offset,
                             (unsigned long long) s->size);
        else
                n = snprintf(buf, size, "%s", s->function);
        if (n >= 0 && (size_t) n < size && s->module[0])
                snprintf(buf + n, size - (size_t) n, " [%s]", s->module);
        return buf;
}

static int cmp_str(const char *a, const char *b) {
        int r = strcmp(a, b);
        return (r > 0) - (r < 0);
}

static int cmp_u64(uint64_t a, uint64_t b) {
        return (a > b) - (a < b);
}

/* Order on the identity of a site: function, module, offset, then stack. */
static int site_key_cmp(const struct callsites_site *a, const struct callsites_site *b) {
        int r = cmp_str(a->function, b->function);
        if (r == 0)
                r = cmp_str(a->module, b->module);
        if (r == 0)
                r = (int) a->has_offset - (int) b->has_offset;
        if (r == 0)
                r = cmp_u64(a->offset, b->offset);
        if (r == 0)
                r = cmp_u64(a->n_frames, b->n_frames);
        for (size_t i = 0; r == 0 && i < a->n_frames; i++) {
                r = cmp_str(a->frames[i].function, b->frames[i].function);
                if (r == 0)
                        r = cmp_u64(a->frames[i].offset, b->frames[i].offset);
        }
        return r;
}

static int site_ptr_cmp(const void *x, const void *y) {
        const struct callsites_site *a = *(const struct callsites_site *const *) x;
        const struct callsites_site *b = *(const struct callsites_site *const *) y;
        int r = site_key_cmp(a, b);
        /* Keep file order among duplicates, so the first one represents them. */
        return r != 0 ? r : (a < b ? -1 : a > b);
}

static const struct callsites_site **sorted_sites(const struct callsites *c) {
        const struct callsites_site **v = malloc((c->n_sites ? c->n_sites : 1) * sizeof *v);
        if (!v)
                return NULL;
        for (size_t i = 0; i < c->n_sites; i++)
                v[i] = &c->sites[i];
        if (c->n_sites > 1)
                qsort(v, c->n_sites, sizeof *v, site_ptr_cmp);
        return v;
}

/* Sum the run of equal sites starting at v[*i]; returns its first site. */
static const struct callsites_site *take_run(const struct callsites_site **v, size_t n, size_t *i,
                                             uint64_t *ret_count) {
        const struct callsites_site *first = v[*i];
        uint64_t sum = 0;
        while (*i < n && site_key_cmp(first, v[*i]) == 0) {
                uint64_t add = v[*i]->count;
                sum = sum > UINT64_MAX - add ? UINT64_MAX : sum + add;
                (*i)++;
        }
        *ret_count = sum;
        return first;
}

static int64_t clamp_delta(uint64_t new_count, uint64_t old_count) {
        if (new_count >= old_count) {
                uint64_t d = new_count - old_count;
                return d > INT64_MAX ? INT64_MAX : (int64_t) d;
        }
        uint64_t d = old_count - new_count;
        return d > INT64_MAX ? -INT64_MAX : -(int64_t) d;
}

struct rank_ctx {
        const struct callsites *old;
        const struct callsites *new;
};

static int delta_cmp(const void *x, const void *y, void *userdata) {
        const struct rank_ctx *rc = userdata;
        const struct callsites_delta *a = x, *b = y;
        if (a->delta != b->delta)
                return a->delta > b->delta ? -1 : 1;
        if (a->new_count != b->new_count)
                return a->new_count > b->new_count ? -1 : 1;
        /* Then file order: new snapshot first, sites only in the old one last. */
        size_t ia = a->new_site ? (size_t) (a->new_site - rc->new->sites) : SIZE_MAX;
        size_t ib = b->new_site ? (size_t) (b->new_site - rc->new->sites) : SIZE_MAX;
        if (ia != ib)
                return ia < ib ? -1 : 1;
        size_t oa = a->old_site ? (size_t) (a->old_site - rc->old->sites) : SIZE_MAX;
        size_t ob = b->old_site ? (size_t) (b->old_site - rc->old->sites) : SIZE_MAX;
        return oa < ob ? -1 : oa > ob;
}

int callsites_diff(const struct callsites *old, const struct callsites *new, struct callsites_diff *ret) {
        const struct callsites_site **vo = sorted_sites(old);
        const struct callsites_site **vn = sorted_sites(new);
        struct callsites_delta *d = malloc((old->n_sites + new->n_sites + 1) * sizeof *d);
        if (!vo || !vn || !d) {
                free(vo);
                free(vn);
                free(d);
                return -ENOMEM;
        }
        size_t i = 0, j = 0, n = 0;
        while (i < old->n_sites || j < new->n_sites) {
                int c;
                if (i == old->n_sites)
                        c = 1;
                else if (j == new->n_sites)
                        c = -1;
                else
                        c = site_key_cmp(vo[i], vn[j]);
                struct callsites_delta x = {};
                if (c <= 0)
                        x.old_site = take_run(vo, old->n_sites, &i, &x.old_count);
                if (c >= 0)
                        x.new_site = take_run(vn, new->n_sites, &j, &x.new_count);
                x.delta = clamp_delta(x.new_count, x.old_count);
                d[n++] = x;
        }
        free(vo);
        free(vn);
        struct rank_ctx rc = { old, new };
        if (n > 1)
                qsort_r(d, n, sizeof *d, delta_cmp, &rc);
        callsites_diff_done(ret);
        ret->deltas = d;
        ret->n = n;
        return 0;
}

void callsites_diff_done(struct callsites_diff *d) {
        if (!d)
                return;
        free(d->deltas);
        *d = (struct callsites_diff) {};
}
