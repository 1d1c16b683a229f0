/* verdict — see verdict.h. */
#include "memory/verdict.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Compiled-in parameters: growth below 1 MiB/h is lost in the noise of a
 * busy machine's page tables and per-CPU caches. */
#define VERDICT_DEFAULT_MIN_BYTES_PER_HOUR (1024.0 * 1024.0)
#define VERDICT_DEFAULT_MIN_TREND 0.6
#define VERDICT_DEFAULT_UNACCOUNTED_SHARE 0.5

void verdict_params_default(struct verdict_params *ret) {
        *ret = (struct verdict_params) {
                .min_bytes_per_hour = VERDICT_DEFAULT_MIN_BYTES_PER_HOUR,
                .min_trend = VERDICT_DEFAULT_MIN_TREND,
                .unaccounted_share = VERDICT_DEFAULT_UNACCOUNTED_SHARE,
        };
}

static bool grows(const struct verdict_params *p, const struct verdict_growth *g) {
        return g->known && g->bytes_per_hour >= p->min_bytes_per_hour && g->trend >= p->min_trend;
}

const char *verdict_format_rate(double bytes_per_hour, char *buf, size_t size) {
        static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
        double v = fabs(bytes_per_hour);
        size_t u = 0;
        while (v >= 1024 && u + 1 < sizeof units / sizeof *units) {
                v /= 1024;
                u++;
        }
        char sign = bytes_per_hour < 0 ? '-' : '+';
        if (u == 0 || v >= 100)
                snprintf(buf, size, "%c%.0f %s/h", sign, v, units[u]);
        else
                snprintf(buf, size, "%c%.1f %s/h", sign, v, units[u]);
        return buf;
}

const char *verdict_flags_string(unsigned flags, char *buf, size_t size) {
        static const struct {
                unsigned flag;
                const char *name;
        } names[] = {
                { VERDICT_SLAB, "slab" },
                { VERDICT_UNACCOUNTED, "unaccounted" },
                { VERDICT_VMALLOC, "vmalloc" },
                { VERDICT_USER, "user" },
        };
        size_t used = 0;
        if (size == 0)
                return buf;
        buf[0] = '\0';
        for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
                if (!(flags & names[i].flag))
                        continue;
                int n = snprintf(buf + used, size - used, "%s%s", used ? "+" : "", names[i].name);
                if (n < 0 || (size_t) n >= size - used)
                        return buf;
                used += (size_t) n;
        }
        if (used == 0)
                snprintf(buf, size, "none");
        return buf;
}

/* Append to a fixed buffer, truncating quietly: the text is for people. */
struct text {
        char *buf;
        size_t size;
        size_t used;
};

__attribute__((format(printf, 2, 3)))
static void text_add(struct text *t, const char *fmt, ...) {
        if (t->used + 1 >= t->size)
                return;
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(t->buf + t->used, t->size - t->used, fmt, ap);
        va_end(ap);
        if (n < 0)
                return;
        t->used += (size_t) n;
        if (t->used >= t->size)
                t->used = t->size - 1;
}

/* Tripped caches first, then by growth. */
static bool cache_before(const struct verdict_cache *a, const struct verdict_cache *b) {
        if (a->tripped != b->tripped)
                return a->tripped;
        return a->bytes_per_hour > b->bytes_per_hour;
}

/* The indexes of the caches to name, best first. */
static size_t pick_caches(const struct verdict_input *in, size_t ret[VERDICT_CACHES_MAX]) {
        size_t n = 0;
        for (size_t i = 0; i < in->n_caches; i++) {
                const struct verdict_cache *c = &in->caches[i];
                if (!c->name || (!c->tripped && !(c->bytes_per_hour > 0)))
                        continue;
                /* Insertion into a short sorted list. */
                size_t at = n;
                while (at > 0 && cache_before(c, &in->caches[ret[at - 1]]))
                        at--;
                if (at >= VERDICT_CACHES_MAX)
                        continue;
                if (n < VERDICT_CACHES_MAX)
                        n++;
                for (size_t j = n - 1; j > at; j--)
                        ret[j] = ret[j - 1];
                ret[at] = i;
        }
        return n;
}

void verdict_compute(const struct verdict_params *p, const struct verdict_input *in, struct verdict *ret) {
        char r1[32], r2[32];
        size_t pick[VERDICT_CACHES_MAX];
        struct verdict v = {};
        struct text t = { v.text, sizeof v.text, 0 };

        size_t n_pick = pick_caches(in, pick);
        bool any_tripped = n_pick > 0 && in->caches[pick[0]].tripped;
        bool slab = in->have_slabinfo ? grows(p, &in->slab_unreclaimable) : grows(p, &in->sunreclaim);
        if (slab || any_tripped)
                v.flags |= VERDICT_SLAB;

        double excess = 0;
        if (in->have_slabinfo && grows(p, &in->sunreclaim)) {
                double caches = in->slab_unreclaimable.known && in->slab_unreclaimable.bytes_per_hour > 0
                                        ? in->slab_unreclaimable.bytes_per_hour : 0;
                excess = in->sunreclaim.bytes_per_hour - caches;
                if (excess >= p->min_bytes_per_hour && excess >= p->unaccounted_share * in->sunreclaim.bytes_per_hour)
                        v.flags |= VERDICT_UNACCOUNTED;
        }
        if (grows(p, &in->vmalloc_used))
                v.flags |= VERDICT_VMALLOC;
        bool anon = grows(p, &in->anon_pages), shmem = grows(p, &in->shmem);
        if (anon || shmem)
                v.flags |= VERDICT_USER;

        if (v.flags & VERDICT_SLAB) {
                text_add(&t, "slab:");
                if (n_pick == 0)
                        text_add(&t, " caches %s", verdict_format_rate(in->slab_unreclaimable.bytes_per_hour, r1, sizeof r1));
                for (size_t i = 0; i < n_pick; i++) {
                        const struct verdict_cache *c = &in->caches[pick[i]];
                        snprintf(v.caches[i], sizeof v.caches[i], "%s", c->name);
                        text_add(&t, "%s %s %s", i ? "," : "", c->name,
                                 verdict_format_rate(c->bytes_per_hour, r1, sizeof r1));
                }
                v.n_caches = n_pick;
                /* SUnreclaim's own fit may lag the caches' (longer window): only
                 * a rise supports the verdict, a fall would just confuse. */
                if (in->sunreclaim.known && in->sunreclaim.bytes_per_hour > 0)
                        text_add(&t, " (SUnreclaim %s)", verdict_format_rate(in->sunreclaim.bytes_per_hour, r1, sizeof r1));
        }
        if (v.flags & VERDICT_UNACCOUNTED)
                text_add(&t, "%sunaccounted kernel: SUnreclaim %s, slab caches %s (large kmalloc or pages)",
                         t.used ? "; " : "", verdict_format_rate(in->sunreclaim.bytes_per_hour, r1, sizeof r1),
                         verdict_format_rate(in->sunreclaim.bytes_per_hour - excess, r2, sizeof r2));
        if (v.flags & VERDICT_VMALLOC)
                text_add(&t, "%svmalloc: VmallocUsed %s", t.used ? "; " : "",
                         verdict_format_rate(in->vmalloc_used.bytes_per_hour, r1, sizeof r1));
        if (v.flags & VERDICT_USER) {
                text_add(&t, "%suser:", t.used ? "; " : "");
                if (anon)
                        text_add(&t, " AnonPages %s", verdict_format_rate(in->anon_pages.bytes_per_hour, r1, sizeof r1));
                if (shmem)
                        text_add(&t, "%s Shmem %s", anon ? "," : "",
                                 verdict_format_rate(in->shmem.bytes_per_hour, r1, sizeof r1));
        }
        if (v.flags == VERDICT_NONE)
                text_add(&t, "none: no steady memory growth");
        *ret = v;
}
