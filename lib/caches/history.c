/* history — see history.h.
 *
 * Storage: per tier one ring of timestamps; per series and tier one column
 * of slots × fields values. A stored value is the real value plus one, so a
 * zeroed slot (fresh calloc, or cleared when the ring wraps) reads as absent
 * without a separate bitmap. Raw tier fields: value [, aux]. Bucket tiers:
 * min, max, last [, aux last]. */
#include "caches/history.h"
#include "caches/history_impl.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* First size of the name index; it doubles past half full. */
#define INDEX_INITIAL 256
/* last_present_usec of a series added between samples. */
#define BORN_NEXT_SAMPLE UINT64_MAX
/* Largest stored value in a narrow (16-bit) column. */
#define NARROW_MAX UINT16_MAX

uint64_t history_tier_width_usec(enum history_tier tier) {
        switch (tier) {
        case HISTORY_TIER_MINUTE:
                return HISTORY_MINUTE_USEC;
        case HISTORY_TIER_HOUR:
                return HISTORY_HOUR_USEC;
        default:
                return 0;
        }
}

int history_tier_slots(const struct history_params *p, enum history_tier tier, size_t *ret_slots) {
        if (!p || (unsigned) tier >= _HISTORY_TIER_MAX)
                return -EINVAL;
        uint64_t width = tier == HISTORY_TIER_RAW ? p->interval_usec : history_tier_width_usec(tier);
        if (width == 0 || p->span_usec[tier] == 0)
                return -EINVAL;
        /* One more than span / width: the open bucket (or the newest sample)
         * plus a full span behind it. */
        uint64_t slots = p->span_usec[tier] / width + (p->span_usec[tier] % width != 0) + 1;
        if (slots > HISTORY_SLOTS_MAX)
                return -E2BIG;
        *ret_slots = (size_t) slots;
        return 0;
}

unsigned history_fields_of(enum history_tier tier, unsigned n_values) {
        return tier == HISTORY_TIER_RAW ? n_values : 3 + (n_values - 1);
}

uint64_t history_name_hash(unsigned kind, const char *name) {
        /* FNV-1a over the kind byte and the name. */
        uint64_t h = UINT64_C(14695981039346656037);
        h = (h ^ (uint8_t) kind) * UINT64_C(1099511628211);
        for (const unsigned char *p = (const unsigned char *) name; *p; p++)
                h = (h ^ *p) * UINT64_C(1099511628211);
        return h;
}

static uint32_t encode(uint64_t value) {
        return (uint32_t) (value > HISTORY_VALUE_MAX ? HISTORY_VALUE_MAX : value) + 1;
}

static uint32_t col_get(const struct column *c, size_t i) {
        return c->wide ? ((const uint32_t *) c->v)[i] : ((const uint16_t *) c->v)[i];
}

static int col_widen(struct column *c, size_t n) {
        uint32_t *w = malloc(n * sizeof *w);
        if (!w)
                return -ENOMEM;
        const uint16_t *old = c->v;
        for (size_t i = 0; i < n; i++)
                w[i] = old[i];
        free(c->v);
        c->v = w;
        c->wide = true;
        return 0;
}

static void col_clear(struct column *c, size_t first, size_t n) {
        if (c->wide)
                memset((uint32_t *) c->v + first, 0, n * sizeof(uint32_t));
        else
                memset((uint16_t *) c->v + first, 0, n * sizeof(uint16_t));
}

void history_series_release(struct series *s) {
        free(s->name);
        for (int k = 0; k < _HISTORY_TIER_MAX; k++)
                free(s->col[k].v);
        memset(s, 0, sizeof *s);
}

void history_index_insert(struct history *h, uint32_t id) {
        size_t mask = h->index_size - 1;
        size_t i = (size_t) h->series[id].hash & mask;
        while (h->index[i] != 0)
                i = (i + 1) & mask;
        h->index[i] = id + 1;
}

static int index_resize(struct history *h, size_t size) {
        uint32_t *index = calloc(size, sizeof *index);
        if (!index)
                return -ENOMEM;
        free(h->index);
        h->index = index;
        h->index_size = size;
        for (uint32_t id = 0; id < h->series_end; id++)
                if (h->series[id].name)
                        history_index_insert(h, id);
        return 0;
}

int history_index_grow(struct history *h) {
        return index_resize(h, h->index_size ? h->index_size * 2 : INDEX_INITIAL);
}

static void index_remove(struct history *h, uint32_t id) {
        size_t mask = h->index_size - 1;
        size_t i = (size_t) h->series[id].hash & mask;
        while (h->index[i] != id + 1) {
                if (h->index[i] == 0)
                        return;
                i = (i + 1) & mask;
        }
        /* Backward-shift deletion keeps every probe chain unbroken. */
        size_t j = i;
        for (;;) {
                h->index[i] = 0;
                for (;;) {
                        j = (j + 1) & mask;
                        if (h->index[j] == 0)
                                return;
                        size_t home = (size_t) h->series[h->index[j] - 1].hash & mask;
                        /* Move j into the hole at i unless its home lies in (i, j]. */
                        if (i <= j ? (home <= i || home > j) : (home <= i && home > j))
                                break;
                }
                h->index[i] = h->index[j];
                i = j;
        }
}

static int tiers_init(struct history *h, const struct history_params *p) {
        for (int k = 0; k < _HISTORY_TIER_MAX; k++) {
                struct tier *t = &h->tiers[k];
                int r = history_tier_slots(p, (enum history_tier) k, &t->cap);
                if (r < 0)
                        return r;
                t->width_usec = history_tier_width_usec((enum history_tier) k);
                t->t = calloc(t->cap, sizeof *t->t);
                if (!t->t)
                        return -ENOMEM;
        }
        return 0;
}

int history_new(const struct history_params *p, history_retire_fn retire, void *userdata,
                struct history **ret) {
        if (!p || !ret)
                return -EINVAL;
        struct history *h = calloc(1, sizeof *h);
        if (!h)
                return -ENOMEM;
        h->params = *p;
        h->retire = retire;
        h->userdata = userdata;
        int r = tiers_init(h, p);
        if (r >= 0)
                r = history_index_grow(h);
        if (r < 0) {
                history_free(h);
                return r;
        }
        *ret = h;
        return 0;
}

void history_free(struct history *h) {
        if (!h)
                return;
        for (uint32_t id = 0; id < h->series_end; id++)
                if (h->series[id].name)
                        history_series_release(&h->series[id]);
        free(h->series);
        free(h->index);
        for (int k = 0; k < _HISTORY_TIER_MAX; k++)
                free(h->tiers[k].t);
        free(h);
}

const struct history_params *history_params(const struct history *h) {
        return &h->params;
}

/* Slot index of the k-th newest slot (k = 0 is the newest). */
size_t history_slot_of(const struct tier *t, size_t k) {
        return (t->head + t->cap - k) % t->cap;
}

static void tier_advance(struct history *h, int k, uint64_t t_usec) {
        struct tier *t = &h->tiers[k];
        t->head = t->count == 0 ? 0 : (t->head + 1) % t->cap;
        if (t->count < t->cap)
                t->count++;
        t->t[t->head] = t_usec;
        t->seq++;
        if (t->width_usec)
                t->bucket = t_usec / t->width_usec;
        /* The new slot still holds what the ring had there: series set in
         * this sample overwrite it, history_end_sample() clears the rest. */
}

int history_begin_sample(struct history *h, uint64_t t_usec) {
        if (h->n_samples > 0 && t_usec <= h->last_usec)
                return -EINVAL;
        for (int k = 0; k < _HISTORY_TIER_MAX; k++) {
                struct tier *t = &h->tiers[k];
                if (t->width_usec == 0 || t->count == 0 || t_usec / t->width_usec != t->bucket)
                        tier_advance(h, k, t_usec);
                else
                        t->t[t->head] = t_usec;
        }
        h->n_samples++;
        h->last_usec = t_usec;
        h->in_sample = true;
        return 0;
}

/* Write one sample into slot @base of @c. Raw slots take value [, aux];
 * bucket slots merge into min, max and take last [, aux]. */
#define SLOT_WRITE(T, c, raw, fresh, base, n_values, enc, aux_enc)                      \
        do {                                                                            \
                T *v_ = (T *) (c)->v + (base);                                          \
                if (raw) {                                                              \
                        v_[0] = (T) (enc);                                              \
                        if ((n_values) > 1)                                             \
                                v_[1] = (T) (aux_enc);                                  \
                        break;                                                          \
                }                                                                       \
                if ((fresh) || v_[0] == 0 || (enc) < v_[0])                             \
                        v_[0] = (T) (enc);                                              \
                if ((fresh) || (enc) > v_[1])                                           \
                        v_[1] = (T) (enc);                                              \
                v_[2] = (T) (enc);                                                      \
                if ((n_values) > 1)                                                     \
                        v_[3] = (T) (aux_enc);                                          \
        } while (0)

int history_set(struct history *h, uint32_t id, uint64_t value, uint64_t aux) {
        if (!history_series_valid(h, id) || !h->in_sample)
                return -EINVAL;
        struct series *s = &h->series[id];
        uint32_t enc = encode(value), aux_enc = s->n_values > 1 ? encode(aux) : 0;
        uint32_t big = enc > aux_enc ? enc : aux_enc;
        int r = 0;
        s->last_present_usec = h->last_usec;
        for (int k = 0; k < _HISTORY_TIER_MAX; k++) {
                const struct tier *t = &h->tiers[k];
                struct column *c = &s->col[k];
                unsigned f = history_fields_of((enum history_tier) k, s->n_values);
                uint32_t e = enc, a = aux_enc;
                if (!c->wide && big > NARROW_MAX && col_widen(c, t->cap * f) < 0) {
                        r = -ENOMEM; /* keep going, saturated */
                        e = e > NARROW_MAX ? NARROW_MAX : e;
                        a = a > NARROW_MAX ? NARROW_MAX : a;
                }
                /* The first write to a slot replaces what the ring left there. */
                bool fresh = s->written[k] != t->seq;
                s->written[k] = t->seq;
                bool raw = k == HISTORY_TIER_RAW;
                if (c->wide)
                        SLOT_WRITE(uint32_t, c, raw, fresh, t->head * f, s->n_values, e, a);
                else
                        SLOT_WRITE(uint16_t, c, raw, fresh, t->head * f, s->n_values, e, a);
        }
        return r;
}

/* Earliest time any tier still covers: a series last present before it is
 * absent from every slot. Bucket tiers count from their oldest bucket's start. */
static uint64_t retention_start(const struct history *h) {
        uint64_t start = UINT64_MAX;
        for (int k = 0; k < _HISTORY_TIER_MAX; k++) {
                const struct tier *t = &h->tiers[k];
                if (t->count == 0)
                        return 0;
                uint64_t oldest = t->t[history_slot_of(t, t->count - 1)];
                if (t->width_usec)
                        oldest -= oldest % t->width_usec;
                if (oldest < start)
                        start = oldest;
        }
        return start;
}

void history_end_sample(struct history *h) {
        h->in_sample = false;
        uint64_t start = retention_start(h);
        for (uint32_t id = 0; id < h->series_end; id++) {
                struct series *s = &h->series[id];
                if (!s->name)
                        continue;
                /* Not set in the newest slot of a tier: absent there. */
                for (int k = 0; k < _HISTORY_TIER_MAX; k++) {
                        const struct tier *t = &h->tiers[k];
                        if (s->written[k] == t->seq || t->count == 0)
                                continue;
                        unsigned f = history_fields_of((enum history_tier) k, s->n_values);
                        col_clear(&s->col[k], t->head * f, f);
                        s->written[k] = t->seq;
                }
                if (s->last_present_usec == BORN_NEXT_SAMPLE)
                        s->last_present_usec = h->last_usec;
                if (s->last_present_usec >= start)
                        continue;
                if (h->retire)
                        h->retire(h, id, h->userdata);
                history_series_remove(h, id);
        }
}

static int series_alloc_columns(const struct history *h, struct series *s, const struct series *like) {
        for (int k = 0; k < _HISTORY_TIER_MAX; k++) {
                size_t n = h->tiers[k].cap * history_fields_of((enum history_tier) k, s->n_values);
                bool wide = like && like->col[k].wide;
                s->col[k].v = calloc(n, wide ? sizeof(uint32_t) : sizeof(uint16_t));
                if (!s->col[k].v)
                        return -ENOMEM;
                s->col[k].wide = wide;
        }
        return 0;
}

/* Find a free id, growing the series array if needed. */
static int series_slot(struct history *h, uint32_t *ret_id) {
        uint32_t id = 0;
        while (id < h->series_end && h->series[id].name)
                id++;
        if (id >= HISTORY_SERIES_MAX)
                return -E2BIG;
        if (id >= h->series_allocated) {
                uint32_t n = h->series_allocated ? h->series_allocated * 2 : SERIES_INITIAL;
                if (n > HISTORY_SERIES_MAX)
                        n = HISTORY_SERIES_MAX;
                struct series *a = realloc(h->series, n * sizeof *a);
                if (!a)
                        return -ENOMEM;
                memset(a + h->series_allocated, 0, (n - h->series_allocated) * sizeof *a);
                h->series = a;
                h->series_allocated = n;
        }
        *ret_id = id;
        return 0;
}

int history_series_add(struct history *h, unsigned kind, const char *name, unsigned n_values) {
        if (!name || n_values < 1 || n_values > 2)
                return -EINVAL;
        size_t len = strnlen(name, HISTORY_NAME_MAX);
        if (len == 0)
                return -EINVAL;
        if (len >= HISTORY_NAME_MAX)
                return -ENAMETOOLONG;
        if (history_series_find(h, kind, name) >= 0)
                return -EEXIST;
        if ((h->n_series + 1) * 2 > h->index_size) {
                int r = history_index_grow(h);
                if (r < 0)
                        return r;
        }
        uint32_t id;
        int r = series_slot(h, &id);
        if (r < 0)
                return r;
        struct series *s = &h->series[id];
        s->kind = kind;
        s->n_values = (uint8_t) n_values;
        s->hash = history_name_hash(kind, name);
        /* A series counts as present from the sample it is added in (or the
         * next one), so it is not retired before it had a chance. */
        s->last_present_usec = h->in_sample ? h->last_usec : BORN_NEXT_SAMPLE;
        r = series_alloc_columns(h, s, NULL);
        if (r >= 0) {
                s->name = strdup(name);
                if (!s->name)
                        r = -ENOMEM;
        }
        if (r < 0) {
                history_series_release(s);
                return r;
        }
        if (id >= h->series_end)
                h->series_end = id + 1;
        h->n_series++;
        history_index_insert(h, id);
        return (int) id;
}

int history_series_find(const struct history *h, unsigned kind, const char *name) {
        if (!name)
                return -EINVAL;
        uint64_t hash = history_name_hash(kind, name);
        size_t mask = h->index_size - 1;
        for (size_t i = (size_t) hash & mask; h->index[i] != 0; i = (i + 1) & mask) {
                const struct series *s = &h->series[h->index[i] - 1];
                if (s->hash == hash && s->kind == kind && strcmp(s->name, name) == 0)
                        return (int) (h->index[i] - 1);
        }
        return -ENOENT;
}

void history_series_remove(struct history *h, uint32_t id) {
        if (!history_series_valid(h, id))
                return;
        index_remove(h, id);
        history_series_release(&h->series[id]);
        h->n_series--;
        while (h->series_end > 0 && !h->series[h->series_end - 1].name)
                h->series_end--;
}

bool history_series_valid(const struct history *h, uint32_t id) {
        return h && id < h->series_end && h->series[id].name;
}

const char *history_series_name(const struct history *h, uint32_t id) {
        return history_series_valid(h, id) ? h->series[id].name : NULL;
}

unsigned history_series_kind(const struct history *h, uint32_t id) {
        return history_series_valid(h, id) ? h->series[id].kind : 0;
}

uint32_t history_series_end(const struct history *h) {
        return h->series_end;
}

size_t history_n_series(const struct history *h) {
        return h->n_series;
}

uint64_t history_n_samples(const struct history *h) {
        return h->n_samples;
}

uint64_t history_last_usec(const struct history *h) {
        return h->n_samples ? h->last_usec : 0;
}

uint64_t history_tier_oldest_usec(const struct history *h, enum history_tier tier) {
        if ((unsigned) tier >= _HISTORY_TIER_MAX || h->tiers[tier].count == 0)
                return 0;
        const struct tier *t = &h->tiers[tier];
        return t->t[history_slot_of(t, t->count - 1)];
}

size_t history_count_since(const struct history *h, enum history_tier tier, uint64_t since_usec) {
        if ((unsigned) tier >= _HISTORY_TIER_MAX)
                return 0;
        const struct tier *t = &h->tiers[tier];
        /* Times fall with k: find the first k whose time is before @since_usec. */
        size_t lo = 0, hi = t->count;
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (t->t[history_slot_of(t, mid)] >= since_usec)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return lo;
}

/* Decode slot @slot of series @s in tier @k; false if absent. */
static bool read_point(const struct history *h, const struct series *s, int k, size_t slot,
                       struct history_point *ret) {
        const struct column *c = &s->col[k];
        unsigned f = history_fields_of((enum history_tier) k, s->n_values);
        size_t base = slot * f;
        uint32_t aux;
        if (k == HISTORY_TIER_RAW) {
                uint32_t v = col_get(c, base);
                if (v == 0)
                        return false;
                ret->min = ret->max = ret->last = v - 1;
                aux = s->n_values > 1 ? col_get(c, base + 1) : 0;
        } else {
                uint32_t mn = col_get(c, base);
                if (mn == 0)
                        return false;
                ret->min = mn - 1;
                ret->max = col_get(c, base + 1) - 1;
                ret->last = col_get(c, base + 2) - 1;
                aux = s->n_values > 1 ? col_get(c, base + 3) : 0;
        }
        ret->aux = aux == 0 ? HISTORY_AUX_NONE : aux - 1;
        ret->t_usec = h->tiers[k].t[slot];
        return true;
}

static int read_strided(const struct history *h, uint32_t id, enum history_tier tier,
                        uint64_t since_usec, struct history_point *ret, size_t n, bool spread) {
        if (!history_series_valid(h, id) || (unsigned) tier >= _HISTORY_TIER_MAX || (n > 0 && !ret))
                return -EINVAL;
        if (n == 0)
                return 0;
        const struct tier *t = &h->tiers[tier];
        const struct series *s = &h->series[id];
        size_t m = history_count_since(h, tier, since_usec);
        size_t stride = spread && m > n ? (m + n - 1) / n : 1;
        size_t got = 0;
        for (size_t k = 0; k < m && got < n; k += stride)
                if (read_point(h, s, tier, history_slot_of(t, k), &ret[got]))
                        got++;
        /* Collected newest first; callers want time order. */
        for (size_t i = 0; i < got / 2; i++) {
                struct history_point tmp = ret[i];
                ret[i] = ret[got - 1 - i];
                ret[got - 1 - i] = tmp;
        }
        return (int) got;
}

int history_read(const struct history *h, uint32_t id, enum history_tier tier, uint64_t since_usec,
                 struct history_point *ret, size_t n) {
        return read_strided(h, id, tier, since_usec, ret, n, false);
}

int history_read_spread(const struct history *h, uint32_t id, enum history_tier tier,
                        uint64_t since_usec, struct history_point *ret, size_t n) {
        return read_strided(h, id, tier, since_usec, ret, n, true);
}

size_t history_series_bytes_max(const struct history_params *p, unsigned n_values) {
        size_t bytes = HISTORY_NAME_MAX + sizeof(struct series) + 2 * sizeof(uint32_t);
        for (int k = 0; k < _HISTORY_TIER_MAX; k++) {
                size_t slots;
                if (history_tier_slots(p, (enum history_tier) k, &slots) < 0)
                        return 0;
                bytes += slots * history_fields_of((enum history_tier) k, n_values) * sizeof(uint32_t);
        }
        return bytes;
}

size_t history_memory_bytes(const struct history *h) {
        size_t bytes = sizeof *h + h->index_size * sizeof *h->index +
                       h->series_allocated * sizeof *h->series;
        for (int k = 0; k < _HISTORY_TIER_MAX; k++)
                bytes += h->tiers[k].cap * sizeof(uint64_t);
        for (uint32_t id = 0; id < h->series_end; id++) {
                const struct series *s = &h->series[id];
                if (!s->name)
                        continue;
                bytes += strlen(s->name) + 1;
                for (int k = 0; k < _HISTORY_TIER_MAX; k++)
                        bytes += h->tiers[k].cap * history_fields_of((enum history_tier) k, s->n_values) *
                                 (s->col[k].wide ? sizeof(uint32_t) : sizeof(uint16_t));
        }
        return bytes;
}

/* Copy the newest slots of every tier and series of @old into @h (same ids). */
static int copy_from(struct history *h, const struct history *old) {
        if (old->series_end > 0) {
                h->series = calloc(old->series_allocated, sizeof *h->series);
                if (!h->series)
                        return -ENOMEM;
                h->series_allocated = old->series_allocated;
        }
        for (uint32_t id = 0; id < old->series_end; id++) {
                const struct series *o = &old->series[id];
                struct series *s = &h->series[id];
                if (!o->name)
                        continue;
                s->kind = o->kind;
                s->n_values = o->n_values;
                s->hash = o->hash;
                s->last_present_usec = o->last_present_usec;
                memcpy(s->written, o->written, sizeof s->written);
                h->series_end = id + 1;
                s->name = strdup(o->name);
                if (!s->name)
                        return -ENOMEM;
                int r = series_alloc_columns(h, s, o);
                if (r < 0)
                        return r;
                h->n_series++;
        }
        for (int k = 0; k < _HISTORY_TIER_MAX; k++) {
                const struct tier *ot = &old->tiers[k];
                struct tier *t = &h->tiers[k];
                size_t n = ot->count < t->cap ? ot->count : t->cap;
                t->count = n;
                t->head = n ? n - 1 : 0;
                t->bucket = ot->bucket;
                t->seq = ot->seq;
                /* k-th newest old slot goes to new slot n-1-k. */
                for (size_t j = 0; j < n; j++) {
                        size_t os = history_slot_of(ot, j), ns = n - 1 - j;
                        t->t[ns] = ot->t[os];
                        for (uint32_t id = 0; id < h->series_end; id++) {
                                const struct series *o = &old->series[id];
                                if (!o->name)
                                        continue;
                                struct column *c = &h->series[id].col[k];
                                unsigned f = history_fields_of((enum history_tier) k, o->n_values);
                                for (unsigned x = 0; x < f; x++) {
                                        uint32_t v = col_get(&o->col[k], os * f + x);
                                        if (c->wide)
                                                ((uint32_t *) c->v)[ns * f + x] = v;
                                        else
                                                ((uint16_t *) c->v)[ns * f + x] = (uint16_t) v;
                                }
                        }
                }
        }
        /* Sized for every named series before they are inserted: growing
         * step by step from INDEX_INITIAL would insert more than 256 series
         * into a full index, and never return. */
        size_t size = INDEX_INITIAL;
        while ((h->n_series + 1) * 2 > size)
                size *= 2;
        int r = index_resize(h, size);
        if (r < 0)
                return r;
        h->n_samples = old->n_samples;
        h->last_usec = old->last_usec;
        return 0;
}

int history_new_from(const struct history_params *p, const struct history *old,
                     history_retire_fn retire, void *userdata, struct history **ret) {
        if (!old)
                return -EINVAL;
        struct history *h;
        int r = history_new(p, retire, userdata, &h);
        if (r < 0)
                return r;
        r = copy_from(h, old);
        if (r < 0) {
                history_free(h);
                return r;
        }
        *ret = h;
        return 0;
}

