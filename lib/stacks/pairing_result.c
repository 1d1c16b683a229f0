/* The second half of the pairing: its result, with every distinct frame
 * address resolved once, stacks that read the same merged, and the
 * ranking. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stacks/pairing_impl.h"

struct addr_cache {
        uint64_t *keys;
        char **names;           /* NULL: machinery frame */
        bool *skip;
        size_t cap;
        size_t n;
};

static void addr_cache_done(struct addr_cache *c) {
        for (size_t i = 0; i < c->cap; i++)
                if (c->keys && c->keys[i] != 0)
                        free(c->names[i]);
        free(c->keys);
        free(c->names);
        free(c->skip);
}

static int addr_cache_init(struct addr_cache *c, size_t expect) {
        size_t cap = ADDR_CACHE_MIN;
        while (cap * LOAD_NUM < expect * LOAD_DEN)
                cap *= 2;
        c->keys = calloc(cap, sizeof *c->keys);
        c->names = calloc(cap, sizeof *c->names);
        c->skip = calloc(cap, sizeof *c->skip);
        c->cap = cap;
        if (!c->keys || !c->names || !c->skip)
                return -ENOMEM;
        return 0;
}

/* Resolve @addr once. The zero address is cached under a marker key. */
static int addr_cache_get(struct addr_cache *c, uint64_t addr, pairing_resolve_fn resolve, void *userdata,
                          const char **ret_name, bool *ret_skip) {
        uint64_t key = addr ? addr : UINT64_MAX;
        size_t s = pairing_slot_of(key, c->cap);
        while (c->keys[s] != 0 && c->keys[s] != key)
                s = (s + 1) & (c->cap - 1);
        if (c->keys[s] == 0) {
                char buf[PAIRING_NAME_MAX + 1];
                int r = resolve ? resolve(addr, buf, sizeof buf, userdata) : -ENOENT;
                if (r < 0)
                        snprintf(buf, sizeof buf, "0x%" PRIx64, addr);
                buf[sizeof buf - 1] = '\0';
                c->names[s] = strdup(buf);
                if (!c->names[s])
                        return -ENOMEM;
                c->skip[s] = r > 0;
                c->keys[s] = key;
                c->n++;
        }
        *ret_name = c->names[s];
        *ret_skip = c->skip[s];
        return 0;
}

static void frames_free(char **frames, size_t n) {
        if (!frames)
                return;
        for (size_t i = 0; i < n; i++)
                free(frames[i]);
        free(frames);
}

static int build_frames(struct pairing *p, const struct stack_entry *s, struct addr_cache *c,
                        pairing_resolve_fn resolve, void *userdata, char ***ret, size_t *ret_n, bool *ret_cut) {
        /* Only empty stacks interned: no frame array at all. */
        const uint64_t *f = p->frames ? p->frames + s->frames_off : NULL;
        size_t n = s->n_frames;
        char **out = calloc(n ? n : 1, sizeof *out);
        if (!out)
                return -ENOMEM;
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
                const char *name;
                size_t len;
                if (s->names) {
                        const struct name_entry *ne = &p->names[f[i]];
                        name = p->name_chars + ne->off;
                        len = ne->len;
                } else {
                        bool skip;
                        int r = addr_cache_get(c, f[i], resolve, userdata, &name, &skip);
                        if (r < 0) {
                                frames_free(out, k);
                                return r;
                        }
                        if (skip && k == 0)
                                continue;
                        len = strlen(name);
                }
                out[k] = strndup(name, len);
                if (!out[k]) {
                        frames_free(out, k);
                        return -ENOMEM;
                }
                k++;
        }
        *ret = out;
        *ret_n = k;
        *ret_cut = s->cut;
        return 0;
}

static int cmp_frames(char *const *a, size_t na, char *const *b, size_t nb) {
        if (na != nb)
                return na < nb ? -1 : 1;
        for (size_t i = 0; i < na; i++) {
                int c = strcmp(a[i], b[i]);
                if (c != 0)
                        return c;
        }
        return 0;
}

static int cmp_stack_frames(const void *a, const void *b) {
        const struct pairing_stack *x = a, *y = b;
        int c = cmp_frames(x->frames, x->n_frames, y->frames, y->n_frames);
        if (c != 0)
                return c;
        return x->id < y->id ? -1 : x->id > y->id;
}

static int cmp_site_frames(const void *a, const void *b) {
        const struct pairing_free_site *x = a, *y = b;
        int c = cmp_frames(x->frames, x->n_frames, y->frames, y->n_frames);
        if (c != 0)
                return c;
        return x->id < y->id ? -1 : x->id > y->id;
}

/* Stacks whose raw frames differed only in dropped machinery frames (a
 * tracepoint reached directly or through __traceiter_*, depending on how
 * many tracers are attached) are one stack to the reader: merge them. */
static size_t merge_stacks(struct pairing_stack *v, size_t n) {
        if (n < 2)
                return n;
        qsort(v, n, sizeof *v, cmp_stack_frames);
        size_t k = 0;
        for (size_t i = 1; i < n; i++) {
                struct pairing_stack *into = &v[k], *s = &v[i];
                if (cmp_frames(into->frames, into->n_frames, s->frames, s->n_frames) != 0) {
                        v[++k] = *s;
                        continue;
                }
                into->allocs += s->allocs;
                into->frees += s->frees;
                into->untraced_frees += s->untraced_frees;
                into->outstanding += s->outstanding;
                into->settled += s->settled;
                into->bytes_outstanding += s->bytes_outstanding;
                if (s->oldest_ts_ns != 0 && (into->oldest_ts_ns == 0 || s->oldest_ts_ns < into->oldest_ts_ns)) {
                        into->oldest_ts_ns = s->oldest_ts_ns;
                        into->oldest_age_s = s->oldest_age_s;
                }
                for (size_t j = 0; j < s->n_pids; j++) {
                        bool seen = false;
                        for (size_t m = 0; m < into->n_pids; m++)
                                seen = seen || into->pids[m] == s->pids[j];
                        if (seen)
                                continue;
                        if (into->n_pids < PAIRING_PIDS_MAX)
                                into->pids[into->n_pids++] = s->pids[j];
                        else
                                into->more_pids = true;
                }
                into->more_pids = into->more_pids || s->more_pids;
                into->frames_cut = into->frames_cut || s->frames_cut;
                frames_free(s->frames, s->n_frames);
        }
        return k + 1;
}

static size_t merge_sites(struct pairing_free_site *v, size_t n) {
        if (n < 2)
                return n;
        qsort(v, n, sizeof *v, cmp_site_frames);
        size_t k = 0;
        for (size_t i = 1; i < n; i++) {
                struct pairing_free_site *into = &v[k], *s = &v[i];
                if (cmp_frames(into->frames, into->n_frames, s->frames, s->n_frames) != 0) {
                        v[++k] = *s;
                        continue;
                }
                into->frees += s->frees;
                into->unmatched += s->unmatched;
                into->frames_cut = into->frames_cut || s->frames_cut;
                frames_free(s->frames, s->n_frames);
        }
        return k + 1;
}

static int cmp_stack(const void *a, const void *b) {
        const struct pairing_stack *x = a, *y = b;
        if (x->outstanding != y->outstanding)
                return x->outstanding > y->outstanding ? -1 : 1;
        if (x->bytes_outstanding != y->bytes_outstanding)
                return x->bytes_outstanding > y->bytes_outstanding ? -1 : 1;
        if (x->allocs != y->allocs)
                return x->allocs > y->allocs ? -1 : 1;
        return x->id < y->id ? -1 : x->id > y->id;
}

static int cmp_site(const void *a, const void *b) {
        const struct pairing_free_site *x = a, *y = b;
        uint64_t tx = x->frees + x->unmatched, ty = y->frees + y->unmatched;
        if (tx != ty)
                return tx > ty ? -1 : 1;
        return x->id < y->id ? -1 : x->id > y->id;
}

/* The result of what has been paired so far; with @max_stacks > 0 only
 * that many of the ranked stacks and free sites are kept (the totals still
 * count every stack). Leaves @p as it was. */
static int build_result(struct pairing *p, uint64_t end_ns, pairing_resolve_fn resolve, void *userdata,
                        size_t max_stacks, struct pairing_result **ret) {
        struct pairing_result *r = calloc(1, sizeof *r);
        uint64_t *oldest = calloc(p->n_stacks ? p->n_stacks : 1, sizeof *oldest);
        uint64_t *settled = calloc(p->n_stacks ? p->n_stacks : 1, sizeof *settled);
        struct addr_cache cache = {};
        int err = -ENOMEM;
        if (!r || !oldest || !settled)
                goto fail;
        *r = p->r;
        r->stacks = NULL;
        r->free_sites = NULL;
        r->last_ts_ns = p->max_ts;
        r->end_ns = end_ns ? end_ns : p->max_ts;
        r->memory_peak_bytes = p->mem_peak;

        /* Settled: allocated at least settle_ns before the window closed. */
        uint64_t window_end = p->r.alloc_end_ns ? p->r.alloc_end_ns : r->end_ns;
        uint64_t settle_before = window_end > p->opt.settle_ns ? window_end - p->opt.settle_ns : 0;
        for (size_t i = 0; i < p->ptrs_cap; i++) {
                const struct ptr_slot *e = &p->ptrs[i];
                if (e->ptr == 0)
                        continue;
                if (oldest[e->stack] == 0 || e->ts < oldest[e->stack])
                        oldest[e->stack] = e->ts ? e->ts : 1;
                if (p->opt.settle_ns == 0 || e->ts <= settle_before)
                        settled[e->stack]++;
        }

        size_t n_alloc = 0, n_site = 0;
        for (size_t i = 0; i < p->n_stacks; i++) {
                if (p->stacks[i].allocs > 0)
                        n_alloc++;
                if (p->stacks[i].site_frees + p->stacks[i].site_unmatched > 0)
                        n_site++;
        }
        r->stacks = calloc(n_alloc ? n_alloc : 1, sizeof *r->stacks);
        r->free_sites = calloc(n_site ? n_site : 1, sizeof *r->free_sites);
        if (!r->stacks || !r->free_sites)
                goto fail;
        err = addr_cache_init(&cache, p->n_frames < 4096 ? p->n_frames : 4096);
        if (err < 0)
                goto fail;

        for (size_t i = 0; i < p->n_stacks; i++) {
                const struct stack_entry *s = &p->stacks[i];
                if (s->allocs > 0) {
                        struct pairing_stack *o = &r->stacks[r->n_stacks];
                        err = build_frames(p, s, &cache, resolve, userdata, &o->frames, &o->n_frames,
                                           &o->frames_cut);
                        if (err < 0)
                                goto fail;
                        r->n_stacks++;
                        o->id = (uint32_t) i;
                        o->allocs = s->allocs;
                        o->frees = s->frees;
                        o->untraced_frees = s->untraced_frees;
                        o->outstanding = s->outstanding;
                        o->settled = settled[i];
                        r->settled += settled[i];
                        o->bytes_outstanding = s->bytes_outstanding;
                        if (s->outstanding > 0 && oldest[i] != 0) {
                                o->oldest_ts_ns = oldest[i];
                                o->oldest_age_s = r->end_ns > oldest[i] ? (double) (r->end_ns - oldest[i]) / 1e9
                                                                        : 0.0;
                        }
                        memcpy(o->pids, s->pids, sizeof o->pids);
                        o->n_pids = s->n_pids;
                        o->more_pids = s->more_pids;
                        r->outstanding += s->outstanding;
                }
                if (s->site_frees + s->site_unmatched > 0) {
                        struct pairing_free_site *o = &r->free_sites[r->n_free_sites];
                        err = build_frames(p, s, &cache, resolve, userdata, &o->frames, &o->n_frames,
                                           &o->frames_cut);
                        if (err < 0)
                                goto fail;
                        r->n_free_sites++;
                        o->id = (uint32_t) i;
                        o->frees = s->site_frees;
                        o->unmatched = s->site_unmatched;
                }
        }
        r->n_stacks = merge_stacks(r->stacks, r->n_stacks);
        r->n_free_sites = merge_sites(r->free_sites, r->n_free_sites);
        qsort(r->stacks, r->n_stacks, sizeof *r->stacks, cmp_stack);
        qsort(r->free_sites, r->n_free_sites, sizeof *r->free_sites, cmp_site);
        if (max_stacks > 0) {
                for (size_t i = max_stacks; i < r->n_stacks; i++)
                        frames_free(r->stacks[i].frames, r->stacks[i].n_frames);
                if (r->n_stacks > max_stacks)
                        r->n_stacks = max_stacks;
                for (size_t i = max_stacks; i < r->n_free_sites; i++)
                        frames_free(r->free_sites[i].frames, r->free_sites[i].n_frames);
                if (r->n_free_sites > max_stacks)
                        r->n_free_sites = max_stacks;
        }

        addr_cache_done(&cache);
        free(oldest);
        free(settled);
        *ret = r;
        return 0;
fail:
        addr_cache_done(&cache);
        free(oldest);
        free(settled);
        pairing_result_free(r);
        return err;
}

int pairing_finish(struct pairing *p, uint64_t end_ns, pairing_resolve_fn resolve, void *userdata,
                   struct pairing_result **ret) {
        if (!p || !ret || p->finished)
                return -EINVAL;
        pairing_release(p, UINT64_MAX);
        p->finished = true;
        return build_result(p, end_ns, resolve, userdata, 0, ret);
}

int pairing_snapshot(struct pairing *p, uint64_t end_ns, pairing_resolve_fn resolve, void *userdata,
                     size_t max_stacks, struct pairing_result **ret) {
        if (!p || !ret || p->finished)
                return -EINVAL;
        return build_result(p, end_ns, resolve, userdata, max_stacks, ret);
}

void pairing_result_free(struct pairing_result *r) {
        if (!r)
                return;
        for (size_t i = 0; i < r->n_stacks; i++)
                frames_free(r->stacks[i].frames, r->stacks[i].n_frames);
        for (size_t i = 0; i < r->n_free_sites; i++)
                frames_free(r->free_sites[i].frames, r->free_sites[i].n_frames);
        free(r->stacks);
        free(r->free_sites);
        free(r);
}
