/* floor — the rising-floor test: has a cache's lowest level risen, steadily,
 * and by more than its own noise?
 *
 * A leak keeps what it takes: the objects it holds never come back, so the
 * lowest count a cache returns to — its floor — rises. Benign load moves the
 * count up and down around a floor that stays put: bursts are released,
 * churn frees what it allocates, a cache that filled up plateaus, a cache
 * freed lazily in batches falls back to where it was. The test therefore
 * looks at the floor only:
 *
 *   f[i]  the minimum of each bucket (a minute, or a fraction of the window):
 *         bursts held for seconds and churn do not reach it;
 *   S[i]  the suffix minimum min(f[i..n-1]): the level the cache never went
 *         below again after t[i]. It only rises, and it rises only for growth
 *         that was kept;
 *   start where the rise began: the bucket that best splits S into a flat
 *         stretch and a straight rise (least squares of both pieces), or
 *         the last bucket still within the noise of the lowest floor if
 *         that is later;
 *   base  the level the rise must be measured from: the lowest floor, or the
 *         median floor before the rise began when that is higher (a cache
 *         refilling after reclaim, or after a batch was freed, is not
 *         growing until it passes where it used to be);
 *   level S at the newest bucket that is at least `hold` old: a level the
 *         cache has kept for that long (a burst held for the last minutes
 *         is not kept growth yet);
 *   rise  level - base, over span = from t[start] to that bucket.
 *
 * It is steady when the rise is spread out (no single jump of S larger than
 * a third of it, at least a quarter of it in the second half of the span) and
 * still going on (S rose within the recent part of the span, see
 * FLOOR_RECENT_SHARE). Its noise is
 * the robust spread of the floor's own minute-to-minute changes, or one slab
 * when the kernel moves the count a slab at a time, whichever is larger; the
 * significance is rise / noise. The caller decides with its thresholds. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Fewest buckets the test judges. */
#define FLOOR_POINTS_MIN 4
/* Most buckets one test takes (the engine gives it about 60). */
#define FLOOR_POINTS_MAX 256
/* The largest jump of S may be at most this share of the rise. */
#define FLOOR_JUMP_SHARE_MAX (1.0 / 3)
/* At least this share of the rise must fall in the second half of its span. */
#define FLOOR_LATE_SHARE_MIN 0.25
/* The rise must have gone on within the last max(this share of its span,
 * twice the hold, twice the time one step of the granularity takes at the
 * rise's rate). */
#define FLOOR_RECENT_SHARE 0.25

struct floor_result {
        size_t n;               /* buckets judged (after a reset, if any) */
        bool reset;             /* a counter reset was found and skipped */
        double span_sec;        /* from the rise's start to the newest bucket */
        double base;            /* level the rise is measured from */
        double level;           /* the floor kept: S of the newest bucket at least hold old */
        double rise;            /* level - base, >= 0 */
        double rate_per_sec;    /* rise / span_sec (0 when span is 0) */
        double max_jump;        /* largest single rise of S */
        double late_share;      /* share of the rise in the span's second half */
        bool recent;            /* S rose within the recent part of the span */
        bool steady;            /* spread out and recent, see above */
        double noise;           /* robust spread of the floor's changes, >= granularity */
        double significance;    /* rise / noise */
        double trend;           /* Kendall tau-b of f over the rise's span */
};

/* Judge the floor @f of @n buckets ending at @t_sec (increasing; seconds,
 * any origin). @granularity is the smallest step the count moves by (the
 * objects of one slab; 1 if unknown). @floor_min: a level that counts as the
 * base at the least (e.g. the floor when a trip last cleared), 0 for none.
 * @hold_sec: how long a level must have been kept to count (see above).
 * A counter reset (growth.h: the cache was destroyed and created again) ends
 * what counts: buckets before it are skipped.
 * Returns 0 (with too few buckets the result says rise 0, not steady),
 * -EINVAL (NULL, n > FLOOR_POINTS_MAX, times not increasing, a value
 * not finite). */
int floor_test(const double *t_sec, const double *f, size_t n, double granularity, double floor_min,
               double hold_sec, struct floor_result *ret);
