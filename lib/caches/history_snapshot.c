/* history_snapshot — history_serialize() and history_deserialize() of
 * history.h: the whole storage as bytes and back, every size and offset
 * checked on the way in. */
#include "caches/history.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "caches/history_impl.h"

/* Native byte order and widths: a snapshot is read back by the same build on
 * the same machine; a foreign one fails the endianness word or the checks. */

#define SNAP_MAGIC "SLWHIST"            /* 8 bytes with its NUL */
#define SNAP_VERSION UINT32_C(1)
#define SNAP_ENDIAN UINT32_C(0x01020304)

struct wbuf {
        char *p;
        size_t len, cap;
        int error;
};

static void put(struct wbuf *w, const void *v, size_t n) {
        if (w->error)
                return;
        if (w->len + n > w->cap) {
                size_t cap = w->cap ? w->cap : 4096;
                while (cap < w->len + n)
                        cap *= 2;
                char *p = realloc(w->p, cap);
                if (!p) {
                        w->error = -ENOMEM;
                        return;
                }
                w->p = p;
                w->cap = cap;
        }
        memcpy(w->p + w->len, v, n);
        w->len += n;
}

#define PUT(w, x) put((w), &(x), sizeof(x))

struct rbuf {
        const char *p;
        size_t len, off;
};

static bool get(struct rbuf *r, void *v, size_t n) {
        if (n > r->len - r->off)
                return false;
        memcpy(v, r->p + r->off, n);
        r->off += n;
        return true;
}

#define GET(r, x) get((r), &(x), sizeof(x))

static size_t col_bytes(const struct tier *t, unsigned f, bool wide) {
        return t->cap * f * (wide ? sizeof(uint32_t) : sizeof(uint16_t));
}

int history_serialize(const struct history *h, char **ret_buf, size_t *ret_len) {
        struct wbuf w = {};
        uint32_t version = SNAP_VERSION, endian = SNAP_ENDIAN;
        if (!h || !ret_buf || !ret_len || h->in_sample)
                return -EINVAL;
        put(&w, SNAP_MAGIC, sizeof SNAP_MAGIC);
        PUT(&w, version);
        PUT(&w, endian);
        PUT(&w, h->params);
        PUT(&w, h->n_samples);
        PUT(&w, h->last_usec);
        for (int k = 0; k < _HISTORY_TIER_MAX; k++) {
                const struct tier *t = &h->tiers[k];
                uint64_t cap = t->cap, count = t->count, head = t->head;
                PUT(&w, cap);
                PUT(&w, count);
                PUT(&w, head);
                PUT(&w, t->bucket);
                PUT(&w, t->seq);
                put(&w, t->t, t->cap * sizeof *t->t);
        }
        PUT(&w, h->series_end);
        for (uint32_t id = 0; id < h->series_end; id++) {
                const struct series *s = &h->series[id];
                uint8_t present = s->name != NULL;
                PUT(&w, present);
                if (!present)
                        continue;
                uint32_t kind = s->kind;
                uint16_t name_len = (uint16_t) strlen(s->name);
                PUT(&w, kind);
                PUT(&w, s->n_values);
                PUT(&w, name_len);
                put(&w, s->name, name_len);
                PUT(&w, s->last_present_usec);
                PUT(&w, s->written);
                for (int k = 0; k < _HISTORY_TIER_MAX; k++) {
                        uint8_t wide = s->col[k].wide;
                        PUT(&w, wide);
                        put(&w, s->col[k].v, col_bytes(&h->tiers[k], history_fields_of((enum history_tier) k, s->n_values),
                                                       wide));
                }
        }
        if (w.error) {
                free(w.p);
                return w.error;
        }
        *ret_buf = w.p;
        *ret_len = w.len;
        return 0;
}

/* Install series @id as read from @r into @h; -EBADMSG on anything off. */
static int read_series(struct rbuf *r, struct history *h, uint32_t id) {
        uint32_t kind;
        uint8_t n_values;
        uint16_t name_len;
        char name[HISTORY_NAME_MAX];
        if (!GET(r, kind) || !GET(r, n_values) || !GET(r, name_len))
                return -EBADMSG;
        if (n_values < 1 || n_values > 2 || name_len == 0 || name_len >= HISTORY_NAME_MAX ||
            !get(r, name, name_len))
                return -EBADMSG;
        name[name_len] = '\0';
        if (strlen(name) != name_len || history_series_find(h, kind, name) >= 0)
                return -EBADMSG;
        if (id >= h->series_allocated) {
                uint32_t n = h->series_allocated ? h->series_allocated : SERIES_INITIAL;
                while (n <= id)
                        n *= 2;
                struct series *a = realloc(h->series, n * sizeof *a);
                if (!a)
                        return -ENOMEM;
                memset(a + h->series_allocated, 0, (n - h->series_allocated) * sizeof *a);
                h->series = a;
                h->series_allocated = n;
        }
        struct series *s = &h->series[id];
        s->kind = kind;
        s->n_values = n_values;
        s->hash = history_name_hash(kind, name);
        int q = -EBADMSG;
        if (!GET(r, s->last_present_usec) || !GET(r, s->written))
                goto fail;
        for (int k = 0; k < _HISTORY_TIER_MAX; k++) {
                uint8_t wide;
                if (!GET(r, wide) || wide > 1)
                        goto fail;
                size_t n = col_bytes(&h->tiers[k], history_fields_of((enum history_tier) k, n_values), wide);
                s->col[k].v = malloc(n);
                s->col[k].wide = wide;
                if (!s->col[k].v) {
                        q = -ENOMEM;
                        goto fail;
                }
                if (!get(r, s->col[k].v, n))
                        goto fail;
        }
        s->name = strdup(name);
        if (!s->name) {
                q = -ENOMEM;
                goto fail;
        }
        h->series_end = id + 1;
        h->n_series++;
        if ((h->n_series + 1) * 2 > h->index_size)
                return history_index_grow(h);
        history_index_insert(h, id);
        return 0;
fail:
        history_series_release(s);
        return q;
}

static int read_snapshot(struct rbuf *r, history_retire_fn retire, void *userdata, struct history **ret) {
        char magic[sizeof SNAP_MAGIC];
        uint32_t version, endian;
        struct history_params p;
        if (!get(r, magic, sizeof magic) || memcmp(magic, SNAP_MAGIC, sizeof magic) != 0)
                return -EBADMSG;
        if (!GET(r, version) || !GET(r, endian) || endian != SNAP_ENDIAN)
                return -EPROTO;
        if (version != SNAP_VERSION)
                return -EPROTONOSUPPORT;
        if (!GET(r, p))
                return -EBADMSG;
        struct history *h;
        int q = history_new(&p, retire, userdata, &h); /* checks the params */
        if (q < 0)
                return q == -ENOMEM ? q : -EBADMSG;
        q = -EBADMSG;
        if (!GET(r, h->n_samples) || !GET(r, h->last_usec))
                goto fail;
        for (int k = 0; k < _HISTORY_TIER_MAX; k++) {
                struct tier *t = &h->tiers[k];
                uint64_t cap, count, head;
                if (!GET(r, cap) || !GET(r, count) || !GET(r, head) || !GET(r, t->bucket) || !GET(r, t->seq))
                        goto fail;
                if (cap != t->cap || count > cap || (count > 0 && head >= cap) || count > h->n_samples)
                        goto fail;
                t->count = (size_t) count;
                t->head = (size_t) head;
                if (!get(r, t->t, t->cap * sizeof *t->t))
                        goto fail;
                /* Newest first, times must fall, none after the last sample. */
                for (size_t j = 0; j < t->count; j++) {
                        uint64_t v = t->t[history_slot_of(t, j)];
                        if (v > h->last_usec || (j > 0 && v >= t->t[history_slot_of(t, j - 1)]))
                                goto fail;
                }
        }
        uint32_t end;
        if (!GET(r, end) || end > HISTORY_SERIES_MAX)
                goto fail;
        for (uint32_t id = 0; id < end; id++) {
                uint8_t present;
                if (!GET(r, present) || present > 1)
                        goto fail;
                if (present && (q = read_series(r, h, id)) < 0)
                        goto fail;
                q = -EBADMSG;
        }
        if (r->off != r->len || h->series_end != end)
                goto fail;
        *ret = h;
        return 0;
fail:
        history_free(h);
        return q;
}

int history_deserialize(const char *buf, size_t len, history_retire_fn retire, void *userdata,
                        struct history **ret) {
        if (!buf || !ret)
                return -EINVAL;
        struct rbuf r = { buf, len, 0 };
        return read_snapshot(&r, retire, userdata, ret);
}
