/* history — bounded, tiered sample history for many series sampled at the
 * same instants (one per slab cache, one per meminfo key).
 *
 * Tier 0 keeps every sample for a recent span; tiers 1 and 2 keep one bucket
 * per minute and per hour with the min / max / last value seen in it. Each
 * tier is a ring with one timestamp array shared by every series, so memory
 * is fixed by the configured spans and the number of series, never by
 * uptime. A series holds one or two values per sample (a cache: active_objs
 * and num_slabs); the second ("aux") keeps only its last value per bucket.
 * Values are stored 16 bits wide until a series needs more, then 32 bits;
 * larger values saturate at HISTORY_VALUE_MAX. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum history_tier {
        HISTORY_TIER_RAW,       /* every sample */
        HISTORY_TIER_MINUTE,    /* one bucket per minute */
        HISTORY_TIER_HOUR,      /* one bucket per hour */
        _HISTORY_TIER_MAX,
};

#define HISTORY_USEC_PER_SEC UINT64_C(1000000)
#define HISTORY_MINUTE_USEC (60 * HISTORY_USEC_PER_SEC)
#define HISTORY_HOUR_USEC (3600 * HISTORY_USEC_PER_SEC)
/* Slots per tier: a 1 h raw span at 1 ms would still fit; more is a config error. */
#define HISTORY_SLOTS_MAX (UINT32_C(1) << 22)
/* Series at once: ten times the caches of a big server. */
#define HISTORY_SERIES_MAX 65536
/* Longest series name, with its NUL (slab cache names are shorter). */
#define HISTORY_NAME_MAX 128
/* Values above this are stored as this. */
#define HISTORY_VALUE_MAX (UINT32_MAX - 1)
/* A point's aux when the series has none or it was not set. */
#define HISTORY_AUX_NONE UINT32_MAX

/* One sample (tier 0) or one bucket (tiers 1, 2) of one series. */
struct history_point {
        uint64_t t_usec;        /* sample time; for a bucket, its last sample's */
        uint32_t min;
        uint32_t max;
        uint32_t last;
        uint32_t aux;           /* last aux value, or HISTORY_AUX_NONE */
};

struct history_params {
        uint64_t interval_usec;                         /* expected sample spacing */
        uint64_t span_usec[_HISTORY_TIER_MAX];          /* how far back each tier reaches */
};

struct history;

/* Called when a series is freed because it was absent for the whole retention. */
typedef void (*history_retire_fn)(struct history *h, uint32_t id, void *userdata);

/* Bucket width of @tier in µs; 0 for the raw tier. */
uint64_t history_tier_width_usec(enum history_tier tier);

/* Slots a tier needs for @p (span / width, plus one for the open bucket).
 * -EINVAL for a zero interval or span, -E2BIG past HISTORY_SLOTS_MAX. */
int history_tier_slots(const struct history_params *p, enum history_tier tier, size_t *ret_slots);

/* A history sized for @p. @retire (may be NULL) is told about retired series. */
int history_new(const struct history_params *p, history_retire_fn retire, void *userdata,
                struct history **ret);

/* A history sized for @p holding the newest of @old's data (same series ids
 * and names), e.g. after a reconfiguration. @old is left untouched. */
int history_new_from(const struct history_params *p, const struct history *old,
                     history_retire_fn retire, void *userdata, struct history **ret);

/* Free @h and every series; NULL is a no-op. */
void history_free(struct history *h);

/* The parameters @h was made with. */
const struct history_params *history_params(const struct history *h);

/* Open a sample at @t_usec: every series is absent in it until set.
 * -EINVAL if @t_usec is not after the previous sample. */
int history_begin_sample(struct history *h, uint64_t t_usec);

/* Set series @id in the open sample (@aux ignored for one-value series).
 * 0, or -ENOMEM if widening the storage failed (the value saturates). */
int history_set(struct history *h, uint32_t id, uint64_t value, uint64_t aux);

/* Close the sample: series absent for the whole retention are retired. */
void history_end_sample(struct history *h);

/* Add a series named @name within namespace @kind with 1 or 2 values per
 * sample; absent in every earlier slot. Returns its id (≥ 0), -EEXIST,
 * -ENAMETOOLONG, -E2BIG past HISTORY_SERIES_MAX, -EINVAL, -ENOMEM. */
int history_series_add(struct history *h, unsigned kind, const char *name, unsigned n_values);

/* The id of (@kind, @name), or -ENOENT. */
int history_series_find(const struct history *h, unsigned kind, const char *name);

/* Free series @id now (its id may be reused by the next add). */
void history_series_remove(struct history *h, uint32_t id);

/* True if @id names a live series. */
bool history_series_valid(const struct history *h, uint32_t id);

/* Name of series @id, NULL if none. */
const char *history_series_name(const struct history *h, uint32_t id);

/* Kind of series @id. */
unsigned history_series_kind(const struct history *h, uint32_t id);

/* One past the highest series id in use (ids below may be free). */
uint32_t history_series_end(const struct history *h);

/* Live series. */
size_t history_n_series(const struct history *h);

/* Samples taken in total, and the time of the newest (0 before the first). */
uint64_t history_n_samples(const struct history *h);
uint64_t history_last_usec(const struct history *h);

/* Oldest time @tier still holds, 0 if empty. */
uint64_t history_tier_oldest_usec(const struct history *h, enum history_tier tier);

/* The newest @n present points of series @id in @tier at or after @since_usec,
 * oldest first, into @ret. Returns how many, or -EINVAL (bad id or tier). */
int history_read(const struct history *h, uint32_t id, enum history_tier tier, uint64_t since_usec,
                 struct history_point *ret, size_t n);

/* Like history_read(), but when more than @n slots lie at or after
 * @since_usec, take every k-th so that at most @n spread over the whole span
 * (the newest always included). For fits over long windows. */
int history_read_spread(const struct history *h, uint32_t id, enum history_tier tier,
                        uint64_t since_usec, struct history_point *ret, size_t n);

/* Slots of @tier with a time at or after @since_usec (present or not). */
size_t history_count_since(const struct history *h, enum history_tier tier, uint64_t since_usec);

/* The most heap one series with @n_values values can ever hold in a history
 * sized for @p: every tier at 32 bits a value, its longest name and its
 * entries. A bound, for callers that cap how many series they keep; 0 for
 * invalid @p. */
size_t history_series_bytes_max(const struct history_params *p, unsigned n_values);

/* Bytes of heap held by @h (series storage, timestamps, index). */
size_t history_memory_bytes(const struct history *h);

/* The whole of @h (which must be between samples) as bytes, for a snapshot
 * on disk: *ret_buf is malloc()ed. Returns 0, -EINVAL, -ENOMEM. */
int history_serialize(const struct history *h, char **ret_buf, size_t *ret_len);

/* A history from bytes history_serialize() wrote (same build and machine),
 * with its own params: history_new_from() resizes it. Every size and offset
 * is checked before use. Returns 0, -EBADMSG (truncated or inconsistent),
 * -EPROTO (another byte order), -EPROTONOSUPPORT (another version),
 * -EINVAL, -ENOMEM. */
int history_deserialize(const char *buf, size_t len, history_retire_fn retire, void *userdata,
                        struct history **ret);
