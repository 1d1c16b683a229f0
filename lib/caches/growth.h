/* growth — a robust growth rate and trend over a window of samples.
 *
 * The rate is the Theil–Sen slope (median of all pairwise slopes), so a
 * single burst or a reclaim dip moves it little; the trend is Kendall's tau-b,
 * which is near 1 for a steady rise even when /proc/slabinfo moves a whole
 * slab at a time (a staircase: ties do not count against it), near 0 for
 * sawtooth churn and bursts around a level. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* Most points one fit takes: callers thin longer windows (cost is quadratic). */
#define GROWTH_POINTS_MAX 64
/* A fall to 1/GROWTH_RESET_DIVISOR of the previous value or below is a
 * counter reset (the cache was destroyed and created again). */
#define GROWTH_RESET_DIVISOR 16
/* ...if the previous value was at least this (smaller counts just jitter). */
#define GROWTH_RESET_MIN_PREVIOUS 16

struct growth_fit {
        size_t n;               /* points fitted: those since the last reset */
        size_t first;           /* index of the first point fitted */
        bool reset;             /* a reset was found; points before it were skipped */
        double span_sec;        /* time from the first to the last point fitted */
        double slope_per_sec;   /* Theil–Sen slope, units per second */
        double start_value;     /* fitted value at the first fitted point's time */
        double end_value;       /* fitted value at the last point's time */
        double trend;           /* Kendall tau-b, -1..1; 0 when flat or < 2 points */
};

/* Fit @n points (@t_sec strictly increasing, @y the values), skipping
 * everything before the last counter reset. With fewer than 2 points left
 * the slope and trend are 0. Returns 0, or -EINVAL (n == 0, n >
 * GROWTH_POINTS_MAX, times not increasing, a value not finite). */
int growth_fit(const double *t_sec, const double *y, size_t n, struct growth_fit *ret);

/* Like growth_fit(), but only the trend (and n, first, reset, span_sec):
 * the slope stays 0, both values are the last. A fraction of the cost, for
 * screening. */
int growth_fit_trend(const double *t_sec, const double *y, size_t n, struct growth_fit *ret);

/* Index of the first point after the last counter reset in @y (0 if none). */
size_t growth_reset_index(const double *y, size_t n);

/* Median of @n values, reordering @v in place (0 for n == 0). */
double growth_median(double *v, size_t n);
