/* growth — see growth.h. */
#include "caches/growth.h"

#include <errno.h>
#include <math.h>
#include <string.h>

/* Pairs of GROWTH_POINTS_MAX points. */
#define PAIRS_MAX (GROWTH_POINTS_MAX * (GROWTH_POINTS_MAX - 1) / 2)

static void swap(double *a, double *b) {
        double t = *a;
        *a = *b;
        *b = t;
}

/* Put the k-th smallest of v[0..n) at v[k], smaller ones before it and
 * larger ones after (Hoare's selection, median-of-three pivot). */
static double select_kth(double *v, size_t n, size_t k) {
        size_t l = 0, ir = n - 1;
        for (;;) {
                if (ir <= l + 1) {
                        if (ir == l + 1 && v[ir] < v[l])
                                swap(&v[l], &v[ir]);
                        return v[k];
                }
                size_t mid = l + (ir - l) / 2;
                swap(&v[mid], &v[l + 1]);
                if (v[l] > v[ir])
                        swap(&v[l], &v[ir]);
                if (v[l + 1] > v[ir])
                        swap(&v[l + 1], &v[ir]);
                if (v[l] > v[l + 1])
                        swap(&v[l], &v[l + 1]);
                /* v[l] ≤ pivot ≤ v[ir] are the sentinels of the scans. */
                size_t i = l + 1, j = ir;
                double pivot = v[l + 1];
                for (;;) {
                        do
                                i++;
                        while (v[i] < pivot);
                        do
                                j--;
                        while (v[j] > pivot);
                        if (j < i)
                                break;
                        swap(&v[i], &v[j]);
                }
                v[l + 1] = v[j];
                v[j] = pivot;
                if (j >= k)
                        ir = j - 1;
                if (j <= k)
                        l = i;
        }
}

double growth_median(double *v, size_t n) {
        if (n == 0)
                return 0;
        size_t k = n / 2;
        double upper = select_kth(v, n, k);
        if (n % 2)
                return upper;
        /* Even count: the lower middle is the largest of v[0..k). */
        double lower = v[0];
        for (size_t i = 1; i < k; i++)
                if (v[i] > lower)
                        lower = v[i];
        return (lower + upper) / 2;
}

size_t growth_reset_index(const double *y, size_t n) {
        size_t first = 0;
        for (size_t i = 1; i < n; i++)
                if (y[i - 1] >= GROWTH_RESET_MIN_PREVIOUS && y[i] * GROWTH_RESET_DIVISOR <= y[i - 1])
                        first = i;
        return first;
}

/* The @k-th smallest slope among the rising (@upper) or falling pairs of
 * (t, v); with @ret_next also the (k+1)-th. */
static double side_select(const double *t, const double *v, size_t m, bool upper, size_t k, double *slopes,
                          double *ret_next) {
        size_t n = 0;
        for (size_t i = 0; i < m; i++)
                for (size_t j = i + 1; j < m; j++)
                        if (upper ? v[j] > v[i] : v[j] < v[i])
                                slopes[n++] = (v[j] - v[i]) / (t[j] - t[i]);
        double kth = select_kth(slopes, n, k);
        if (ret_next) {
                /* After selection everything past k is at least v[k]. */
                double next = slopes[k + 1];
                for (size_t i = k + 2; i < n; i++)
                        if (slopes[i] < next)
                                next = slopes[i];
                *ret_next = next;
        }
        return kth;
}

static int fit(const double *t_sec, const double *y, size_t n, bool slope, struct growth_fit *ret) {
        double slopes[PAIRS_MAX];

        if (!t_sec || !y || !ret || n == 0 || n > GROWTH_POINTS_MAX)
                return -EINVAL;
        for (size_t i = 0; i < n; i++) {
                if (!isfinite(t_sec[i]) || !isfinite(y[i]))
                        return -EINVAL;
                if (i > 0 && !(t_sec[i] > t_sec[i - 1]))
                        return -EINVAL;
        }

        struct growth_fit f = {};
        f.first = growth_reset_index(y, n);
        f.reset = f.first > 0;
        const double *t = t_sec + f.first, *v = y + f.first;
        size_t m = n - f.first;
        f.n = m;
        f.start_value = f.end_value = v[m - 1];
        if (m < 2) {
                *ret = f;
                return 0;
        }
        f.span_sec = t[m - 1] - t[0];

        /* Kendall's S and the ties in y for tau-b first, from signs alone
         * (times are strictly increasing, so no pair ties in t). The same
         * counts tell on which side of zero the median slope lies, so only
         * the slopes of that side are computed and searched: in slab data
         * most pairs tie, and then no slope is computed at all. */
        size_t npairs = m * (m - 1) / 2;
        size_t pos = 0, neg = 0;
        for (size_t i = 0; i < m; i++)
                for (size_t j = i + 1; j < m; j++) {
                        pos += v[j] > v[i];
                        neg += v[j] < v[i];
                }
        size_t ties = npairs - pos - neg;
        double n0 = (double) npairs;
        double denom = sqrt(n0 * (n0 - (double) ties));
        f.trend = denom > 0 ? ((double) pos - (double) neg) / denom : 0;
        if (!slope) {
                *ret = f;
                return 0;
        }

        /* The middle slope(s) in ascending order: ranks lo and hi (equal
         * for an odd count). */
        size_t lo = (npairs - 1) / 2, hi = npairs / 2;
        double mid_lo = 0, mid_hi = 0;
        bool lo_zero = lo >= neg && lo < neg + ties, hi_zero = hi >= neg && hi < neg + ties;
        if (!lo_zero) {
                bool upper = lo >= neg + ties;
                size_t base = upper ? neg + ties : 0;
                /* hi is the next rank: on the same side unless lo ends it. */
                bool hi_same = hi != lo && !hi_zero && (hi >= neg + ties) == upper;
                mid_lo = side_select(t, v, m, upper, lo - base, slopes, hi_same ? &mid_hi : NULL);
                if (hi == lo)
                        mid_hi = mid_lo;
                else if (!hi_same && !hi_zero)
                        mid_hi = side_select(t, v, m, true, hi - neg - ties, slopes, NULL);
        } else if (!hi_zero)
                mid_hi = side_select(t, v, m, true, hi - neg - ties, slopes, NULL);
        f.slope_per_sec = (mid_lo + mid_hi) / 2;

        /* Intercept: median of the residual levels, at the first point's time. */
        for (size_t i = 0; i < m; i++)
                slopes[i] = v[i] - f.slope_per_sec * (t[i] - t[0]);
        f.start_value = growth_median(slopes, m);
        f.end_value = f.start_value + f.slope_per_sec * f.span_sec;
        *ret = f;
        return 0;
}

int growth_fit(const double *t_sec, const double *y, size_t n, struct growth_fit *ret) {
        return fit(t_sec, y, n, true, ret);
}

int growth_fit_trend(const double *t_sec, const double *y, size_t n, struct growth_fit *ret) {
        return fit(t_sec, y, n, false, ret);
}
