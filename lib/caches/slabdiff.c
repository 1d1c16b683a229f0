/* slabdiff — caches matched by name (merge of two name-sorted lists), ranked
 * by growth. Sections are found with slablog_split(), the same recogniser
 * the replay reader uses, so a snapshot file and a log sample are read alike. */
#include "caches/slabdiff.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "caches/slablog.h"

void slabdiff_snapshot_done(struct slabdiff_snapshot *s) {
        if (!s)
                return;
        slabinfo_done(&s->slabinfo);
        s->has_slabinfo = s->has_meminfo = false;
}

/* Lines a grep of /proc/slabinfo leaves: "name n n n n n : tunables ... : slabdata ..." */
static bool has_cache_lines(const char *buf, size_t len) {
        const char *t = memmem(buf, len, " : tunables ", 12);
        return t && memmem(t, len - (size_t) (t - buf), " : slabdata ", 12);
}

static int parse_headerless(const char *buf, size_t len, struct slabdiff_snapshot *ret) {
        static const char header[] = "slabinfo - version: 2.1\n";
        char *text = malloc(sizeof header - 1 + len);
        if (!text)
                return -ENOMEM;
        memcpy(text, header, sizeof header - 1);
        memcpy(text + sizeof header - 1, buf, len);
        int r = slabinfo_parse(text, sizeof header - 1 + len, &ret->slabinfo);
        free(text);
        if (r >= 0) {
                /* Even if every line was rejected: the caller says so. */
                ret->has_slabinfo = true;
                ret->slabinfo_headerless = true;
                ret->slabinfo_line = 0;
        }
        return r == -ENOMEM ? r : 0;
}

int slabdiff_snapshot_parse(const char *buf, size_t len, struct slabdiff_snapshot *ret) {
        struct slablog_sample parts;
        int r;

        slablog_split(buf, len, 1, &parts);
        ret->has_slabinfo = ret->has_meminfo = ret->slabinfo_headerless = false;
        ret->slabinfo_line = ret->meminfo_line = 0;
        if (parts.slabinfo) {
                r = slabinfo_parse(parts.slabinfo, parts.slabinfo_len, &ret->slabinfo);
                if (r == -ENOMEM)
                        return r;
                if (r >= 0) {
                        ret->has_slabinfo = true;
                        ret->slabinfo_line = parts.slabinfo_line;
                }
        }
        if (parts.meminfo && meminfo_parse(parts.meminfo, parts.meminfo_len, &ret->meminfo) >= 0) {
                ret->has_meminfo = true;
                ret->meminfo_line = parts.meminfo_line;
        }
        if (!parts.slabinfo && has_cache_lines(buf, len) && (r = parse_headerless(buf, len, ret)) < 0)
                return r;
        return ret->has_slabinfo || ret->has_meminfo ? 0 : -EINVAL;
}

int slabdiff_mismatch(const struct slabdiff_snapshot *old, const struct slabdiff_snapshot *new,
                      const struct meminfo *old_mi, const struct meminfo *new_mi, const struct slabdiff *d,
                      struct slabdiff_mismatch *ret) {
        *ret = (struct slabdiff_mismatch) {};
        int n = 0;
        if (old_mi && new_mi && meminfo_get(old_mi, MEMINFO_MEM_TOTAL, &ret->old_mem_total_kib) &&
            meminfo_get(new_mi, MEMINFO_MEM_TOTAL, &ret->new_mem_total_kib) &&
            ret->old_mem_total_kib != ret->new_mem_total_kib) {
                /* Memory hot-(un)plug and ballooning move it too, but rarely by a page. */
                ret->mem_total = true;
                n++;
        }
        if (old->has_slabinfo && new->has_slabinfo && !old->slabinfo_headerless && !new->slabinfo_headerless &&
            (old->slabinfo.version_major != new->slabinfo.version_major ||
             old->slabinfo.version_minor != new->slabinfo.version_minor)) {
                ret->version = true;
                n++;
        }
        if (d && d->n_caches > 0) {
                ret->all_caches = d->n_caches;
                ret->shared_caches = d->n_caches - d->n_appeared - d->n_vanished;
                if (ret->shared_caches * 2 < ret->all_caches) {
                        ret->caches = true;
                        n++;
                }
        }
        return n;
}

uint32_t slabdiff_guess_page_size(const struct slabinfo *s) {
        uint64_t need = 0;
        for (size_t i = 0; i < s->n_caches; i++) {
                const struct slabinfo_cache *c = &s->caches[i];
                if (c->pagesperslab == 0 || c->objperslab == 0)
                        continue;
                uint64_t per_page = ((uint64_t) c->objsize * c->objperslab + c->pagesperslab - 1) / c->pagesperslab;
                if (per_page > need)
                        need = per_page;
        }
        if (need == 0 || need > SLABDIFF_PAGE_SIZE_MAX)
                return 0;
        uint32_t page = SLABDIFF_PAGE_SIZE_MIN;
        while (page < need)
                page *= 2;
        return page;
}

static int name_cmp(const void *x, const void *y) {
        const struct slabinfo_cache *a = *(const struct slabinfo_cache *const *) x;
        const struct slabinfo_cache *b = *(const struct slabinfo_cache *const *) y;
        int r = strcmp(a->name, b->name);
        /* Duplicate names (a corrupt file): keep file order. */
        return r != 0 ? r : (a < b ? -1 : a > b);
}

static const struct slabinfo_cache **by_name(const struct slabinfo *s) {
        const struct slabinfo_cache **v = malloc((s->n_caches ? s->n_caches : 1) * sizeof *v);
        if (!v)
                return NULL;
        for (size_t i = 0; i < s->n_caches; i++)
                v[i] = &s->caches[i];
        if (s->n_caches > 1)
                qsort(v, s->n_caches, sizeof *v, name_cmp);
        return v;
}

static int64_t sub(uint64_t a, uint64_t b) {
        if (a >= b)
                return a - b > INT64_MAX ? INT64_MAX : (int64_t) (a - b);
        return b - a > INT64_MAX ? -INT64_MAX : -(int64_t) (b - a);
}

static uint64_t active_bytes(const struct slabinfo_cache *c) {
        return c ? c->active_objs * (uint64_t) c->objsize : 0;
}

static int rank_cmp(const void *x, const void *y) {
        const struct slabdiff_cache *a = x, *b = y;
        if (a->delta_bytes != b->delta_bytes)
                return a->delta_bytes > b->delta_bytes ? -1 : 1;
        if (a->delta_active_bytes != b->delta_active_bytes)
                return a->delta_active_bytes > b->delta_active_bytes ? -1 : 1;
        if (a->delta_active_objs != b->delta_active_objs)
                return a->delta_active_objs > b->delta_active_objs ? -1 : 1;
        return strcmp(a->name, b->name);
}

int slabdiff_compute(const struct slabinfo *old, const struct slabinfo *new, uint32_t page_size, struct slabdiff *ret) {
        if (page_size == 0)
                return -EINVAL;
        const struct slabinfo_cache **vo = by_name(old);
        const struct slabinfo_cache **vn = by_name(new);
        struct slabdiff_cache *out = malloc((old->n_caches + new->n_caches + 1) * sizeof *out);
        if (!vo || !vn || !out) {
                free(vo);
                free(vn);
                free(out);
                return -ENOMEM;
        }
        struct slabdiff d = { .caches = out, .page_size = page_size };
        size_t i = 0, j = 0;
        while (i < old->n_caches || j < new->n_caches) {
                int c;
                if (i == old->n_caches)
                        c = 1;
                else if (j == new->n_caches)
                        c = -1;
                else
                        c = strcmp(vo[i]->name, vn[j]->name);
                struct slabdiff_cache x = {};
                if (c <= 0)
                        x.old = vo[i++];
                if (c >= 0)
                        x.new = vn[j++];
                x.name = x.new ? x.new->name : x.old->name;
                x.old_bytes = x.old ? slabinfo_cache_bytes(x.old, page_size) : 0;
                x.new_bytes = x.new ? slabinfo_cache_bytes(x.new, page_size) : 0;
                x.delta_bytes = sub(x.new_bytes, x.old_bytes);
                x.delta_active_objs = sub(x.new ? x.new->active_objs : 0, x.old ? x.old->active_objs : 0);
                x.delta_active_bytes = sub(active_bytes(x.new), active_bytes(x.old));
                if (!x.old)
                        d.n_appeared++;
                else if (!x.new)
                        d.n_vanished++;
                else if (x.delta_bytes > 0 || x.delta_active_objs > 0 || x.delta_active_bytes > 0)
                        d.n_grown++;
                else if (x.delta_bytes < 0 || x.delta_active_objs < 0 || x.delta_active_bytes < 0)
                        d.n_shrunk++;
                else
                        d.n_unchanged++;
                d.old_bytes += x.old_bytes;
                d.new_bytes += x.new_bytes;
                d.old_active_bytes += active_bytes(x.old);
                d.new_active_bytes += active_bytes(x.new);
                d.old_active_objs += x.old ? x.old->active_objs : 0;
                d.new_active_objs += x.new ? x.new->active_objs : 0;
                out[d.n_caches++] = x;
        }
        free(vo);
        free(vn);
        if (d.n_caches > 1)
                qsort(out, d.n_caches, sizeof *out, rank_cmp);
        slabdiff_done(ret);
        *ret = d;
        return 0;
}

void slabdiff_done(struct slabdiff *d) {
        if (!d)
                return;
        free(d->caches);
        *d = (struct slabdiff) {};
}

int slabdiff_accounting(const struct slabdiff *d, const struct meminfo *old, const struct meminfo *new,
                        struct slabdiff_accounting *ret) {
        struct slabdiff_accounting a = {};
        if (!meminfo_get(old, MEMINFO_SLAB, &a.old_slab_kib) || !meminfo_get(new, MEMINFO_SLAB, &a.new_slab_kib))
                return -ENODATA;
        a.have_sunreclaim = meminfo_get(old, MEMINFO_SUNRECLAIM, &a.old_sunreclaim_kib) &&
                meminfo_get(new, MEMINFO_SUNRECLAIM, &a.new_sunreclaim_kib);
        a.old_caches_kib = d->old_bytes / 1024;
        a.new_caches_kib = d->new_bytes / 1024;
        a.old_unaccounted_kib = sub(a.old_slab_kib, a.old_caches_kib);
        a.new_unaccounted_kib = sub(a.new_slab_kib, a.new_caches_kib);
        if (a.have_sunreclaim && a.new_sunreclaim_kib > a.old_sunreclaim_kib) {
                /* Large kmalloc()s bypass the caches but count in SUnreclaim
                 * (5.4+): growth there that the caches do not show. */
                uint64_t grew = a.new_sunreclaim_kib - a.old_sunreclaim_kib;
                int64_t unexplained = a.new_unaccounted_kib - a.old_unaccounted_kib;
                a.large_kmalloc_hint = unexplained >= (int64_t) SLABDIFF_UNACCOUNTED_MIN_KIB &&
                        (double) unexplained >= SLABDIFF_UNACCOUNTED_MIN_SHARE * (double) grew;
        }
        *ret = a;
        return 0;
}
