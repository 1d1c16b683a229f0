/* engine_snapshot — see engine_snapshot() and engine_restore() in engine.h.
 * A snapshot is a header (magic, version, boot id, length), the history as
 * history_serialize() wrote it, and a CRC-32 of all that. */
#include "caches/engine.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/crc32.h"
#include "base/slabname.h"
#include "caches/engine_impl.h"

#define SNAPSHOT_MAGIC "SLWSNAP"        /* 8 bytes with its NUL */
#define SNAPSHOT_VERSION UINT32_C(1)

struct snapshot_header {
        char magic[sizeof SNAPSHOT_MAGIC];
        uint32_t version;
        char boot_id[ENGINE_BOOT_ID_MAX];
        uint64_t history_len;
};

int engine_snapshot(const struct engine *e, const char *boot_id, char **ret_buf, size_t *ret_len) {
        if (!e || !boot_id || !ret_buf || !ret_len)
                return -EINVAL;
        char *hist;
        size_t hist_len;
        int r = history_serialize(e->history, &hist, &hist_len);
        if (r < 0)
                return r;
        struct snapshot_header hd = { .magic = SNAPSHOT_MAGIC, .version = SNAPSHOT_VERSION, .history_len = hist_len };
        snprintf(hd.boot_id, sizeof hd.boot_id, "%s", boot_id);
        size_t len = sizeof hd + hist_len + sizeof(uint32_t);
        char *buf = malloc(len);
        if (!buf) {
                free(hist);
                return -ENOMEM;
        }
        memcpy(buf, &hd, sizeof hd);
        memcpy(buf + sizeof hd, hist, hist_len);
        free(hist);
        uint32_t crc = crc32_update(0, buf, len - sizeof crc);
        memcpy(buf + len - sizeof crc, &crc, sizeof crc);
        *ret_buf = buf;
        *ret_len = len;
        return 0;
}

/* Know every series of the restored history again. */
static int adopt_history(struct engine *e) {
        const struct history *h = e->history;
        uint64_t oldest = history_tier_oldest_usec(h, HISTORY_TIER_RAW);
        for (int k = HISTORY_TIER_MINUTE; k < _HISTORY_TIER_MAX; k++) {
                uint64_t o = history_tier_oldest_usec(h, (enum history_tier) k);
                if (o && o < oldest)
                        oldest = o;
        }
        e->n_samples = history_n_samples(h);
        e->last_usec = history_last_usec(h);
        for (uint32_t id = 0; id < history_series_end(h); id++) {
                const char *name = history_series_name(h, id);
                if (!name)
                        continue;
                switch (history_series_kind(h, id)) {
                case ENGINE_SERIES_CACHE: {
                        int r = engine_caches_reserve(e, id);
                        if (r < 0)
                                return r;
                        struct cache *c = &e->caches[id];
                        memset(c, 0, sizeof *c);
                        c->used = true;
                        c->restored = true;
                        c->reclaimable = slabname_guess_reclaimable(name);
                        c->reclaim_linked = slabname_reclaim_linked(name);
                        c->rule = engine_rule_index(&e->config, name, c);
                        struct history_point p;
                        if (history_read(h, id, HISTORY_TIER_RAW, 0, &p, 1) == 1) {
                                c->active_objs = p.last;
                                c->seen_sample = p.t_usec == e->last_usec ? e->n_samples : 0;
                        }
                        c->first_usec = oldest;
                        c->last_change_usec = e->last_usec;
                        break;
                }
                case ENGINE_SERIES_MEMINFO:
                        for (int k = 0; k < _MEMINFO_KEY_MAX; k++)
                                if (strcmp(meminfo_key_name((enum meminfo_key) k), name) == 0)
                                        e->meminfo_id[k] = (int) id;
                        break;
                case ENGINE_SERIES_DERIVED:
                        if (strcmp(name, ENGINE_DERIVED_SLAB_UNRECLAIMABLE) == 0)
                                e->derived_unreclaimable_id = (int) id;
                        else if (strcmp(name, ENGINE_DERIVED_SLAB_RECLAIMABLE) == 0)
                                e->derived_reclaimable_id = (int) id;
                        break;
                default:
                        break;
                }
        }
        return 0;
}

int engine_restore(struct engine *e, const char *buf, size_t len, const char *boot_id, bool *ret_same_boot) {
        struct snapshot_header hd;
        uint32_t crc;
        if (!e || !buf || !boot_id)
                return -EINVAL;
        if (e->n_samples > 0 || history_n_series(e->history) > 0)
                return -EBUSY;
        if (len > ENGINE_SNAPSHOT_MAX)
                return -EFBIG;
        if (len < sizeof hd + sizeof crc)
                return -EBADMSG;
        memcpy(&hd, buf, sizeof hd);
        if (memcmp(hd.magic, SNAPSHOT_MAGIC, sizeof hd.magic) != 0)
                return -EBADMSG;
        if (hd.version != SNAPSHOT_VERSION)
                return hd.version == __builtin_bswap32(SNAPSHOT_VERSION) ? -EPROTO : -EPROTONOSUPPORT;
        if (hd.history_len != len - sizeof hd - sizeof crc)
                return -EBADMSG;
        memcpy(&crc, buf + len - sizeof crc, sizeof crc);
        if (crc32_update(0, buf, len - sizeof crc) != crc)
                return -EBADMSG;
        hd.boot_id[sizeof hd.boot_id - 1] = '\0';

        struct history *h;
        int r = history_deserialize(buf + sizeof hd, (size_t) hd.history_len, engine_on_retire, e, &h);
        if (r < 0)
                return r;
        struct history_params p;
        r = engine_history_params(&e->config, &p);
        /* A snapshot of a daemon with other spans, or from before the
         * bound, keeps only as many caches as the bound allows here. */
        if (r >= 0)
                (void) engine_history_fit_bound(e, h, &p);
        if (r >= 0 && memcmp(&p, history_params(h), sizeof p) != 0) {
                struct history *resized;
                r = history_new_from(&p, h, engine_on_retire, e, &resized);
                history_free(h);
                h = resized;
        }
        if (r < 0)
                return r;
        struct history *old = e->history;
        e->history = h;
        r = adopt_history(e);
        if (r < 0) {
                /* Back to the empty engine it was. */
                e->history = old;
                history_free(h);
                memset(e->caches, 0, e->caches_allocated * sizeof *e->caches);
                e->n_samples = e->last_usec = 0;
                for (int k = 0; k < _MEMINFO_KEY_MAX; k++)
                        e->meminfo_id[k] = -1;
                e->derived_unreclaimable_id = e->derived_reclaimable_id = -1;
                return r;
        }
        history_free(old);
        bool same = strcmp(hd.boot_id, boot_id) == 0;
        e->fit_since_usec = same ? 0 : e->last_usec + 1;
        if (ret_same_boot)
                *ret_same_boot = same;
        return 0;
}
