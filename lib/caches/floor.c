/* floor — see floor.h. Linear in the number of buckets but for the medians
 * (selection) and a trend on at most GROWTH_POINTS_MAX thinned buckets. */
#include "caches/floor.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#include "caches/growth.h"

/* MAD to standard deviation for normal data. */
#define MAD_TO_SIGMA 1.4826

static double max2(double a, double b) {
        return a > b ? a : b;
}

/* Robust spread of the floor level: from the median absolute deviation of
 * its bucket-to-bucket changes around their median (a steady leak moves
 * the floor by the same amount each bucket: that is not noise). The change
 * of two independent levels has sqrt(2) their spread. */
static double floor_noise(const double *f, size_t n, double *scratch) {
        if (n < 3)
                return 0;
        size_t m = n - 1;
        for (size_t i = 0; i < m; i++)
                scratch[i] = f[i + 1] - f[i];
        double med = growth_median(scratch, m);
        for (size_t i = 0; i < m; i++)
                scratch[i] = fabs(f[i + 1] - f[i] - med);
        return MAD_TO_SIGMA * growth_median(scratch, m) / sqrt(2.0);
}

/* Kendall tau-b of f over [first, n), thinned evenly to what growth_fit_trend takes. */
static double floor_trend(const double *t, const double *f, size_t first, size_t n) {
        double tt[GROWTH_POINTS_MAX], yy[GROWTH_POINTS_MAX];
        size_t k = n - first;
        if (k < 2)
                return 0;
        size_t m = k < GROWTH_POINTS_MAX ? k : GROWTH_POINTS_MAX;
        size_t prev = SIZE_MAX, j = 0;
        for (size_t i = 0; i < m; i++) {
                size_t src = first + (m == 1 ? 0 : i * (k - 1) / (m - 1));
                if (src == prev)
                        continue;
                tt[j] = t[src];
                yy[j] = f[src];
                prev = src;
                j++;
        }
        struct growth_fit g;
        if (growth_fit_trend(tt, yy, j, &g) < 0)
                return 0;
        return g.trend;
}

/* Where the rise began: the bucket that best splits S over [first, last]
 * into a flat stretch and a straight rise (the least squared error of both
 * pieces, each fitted on its own). A leak that starts in the middle of the
 * window starts there, not at the window's lowest point an hour ago. */
static size_t hinge_start(const double *t_sec, const double *s, size_t first, size_t last) {
        /* Suffix sums of the line piece, over [k, last]. */
        double st[FLOOR_POINTS_MAX + 1], ss[FLOOR_POINTS_MAX + 1], stt[FLOOR_POINTS_MAX + 1],
                sss[FLOOR_POINTS_MAX + 1], sts[FLOOR_POINTS_MAX + 1];
        double t0 = t_sec[first];
        st[last + 1] = ss[last + 1] = stt[last + 1] = sss[last + 1] = sts[last + 1] = 0;
        for (size_t i = last + 1; i-- > first;) {
                double x = t_sec[i] - t0, y = s[i];
                st[i] = st[i + 1] + x;
                ss[i] = ss[i + 1] + y;
                stt[i] = stt[i + 1] + x * x;
                sss[i] = sss[i + 1] + y * y;
                sts[i] = sts[i + 1] + x * y;
        }
        size_t best = first;
        double best_sse = INFINITY, fs = 0, fss = 0;
        for (size_t k = first; k + 2 <= last; k++) {
                /* Flat piece [first, k]: around its mean. */
                fs += s[k];
                fss += s[k] * s[k];
                double m = (double) (k - first + 1);
                double flat = fss - fs * fs / m;
                /* Line piece [k, last]: least squares. */
                double q = (double) (last - k + 1);
                double sxx = stt[k] - st[k] * st[k] / q, syy = sss[k] - ss[k] * ss[k] / q;
                double sxy = sts[k] - st[k] * ss[k] / q;
                double line = sxx > 0 ? syy - sxy * sxy / sxx : syy;
                double sse = flat + (line > 0 ? line : 0);
                if (sse < best_sse) {
                        best_sse = sse;
                        best = k;
                }
        }
        return best;
}

int floor_test(const double *t_sec, const double *f, size_t n, double granularity, double floor_min,
               double hold_sec, struct floor_result *ret) {
        double s[FLOOR_POINTS_MAX], scratch[FLOOR_POINTS_MAX];

        if (!t_sec || !f || !ret || n > FLOOR_POINTS_MAX)
                return -EINVAL;
        for (size_t i = 0; i < n; i++) {
                if (!isfinite(t_sec[i]) || !isfinite(f[i]))
                        return -EINVAL;
                if (i > 0 && !(t_sec[i] > t_sec[i - 1]))
                        return -EINVAL;
        }
        if (!(granularity >= 1))
                granularity = 1;

        struct floor_result r = {};
        size_t first = n > 0 ? growth_reset_index(f, n) : 0;
        r.reset = first > 0;
        r.n = n - first;
        if (r.n < FLOOR_POINTS_MIN) {
                r.level = n > 0 ? f[n - 1] : 0;
                r.base = r.level;
                *ret = r;
                return 0;
        }

        r.noise = max2(floor_noise(f + first, r.n, scratch), granularity);

        /* Suffix minima; the newest bucket whose level has been kept for
         * hold_sec. */
        s[n - 1] = f[n - 1];
        for (size_t i = n - 1; i-- > first;)
                s[i] = f[i] < s[i + 1] ? f[i] : s[i + 1];
        size_t last = n - 1;
        while (last > first && t_sec[last] > t_sec[n - 1] - hold_sec)
                last--;

        /* Where the rise began: the best split into flat and rising, or the
         * last bucket still within the noise of the lowest floor if later
         * (a flat, noisy stretch before the rise is not part of it). */
        size_t start = first;
        while (start + 1 < last && s[start + 1] <= s[first] + r.noise)
                start++;
        if (last >= first + 2) {
                size_t k = hinge_start(t_sec, s, first, last);
                if (k > start)
                        start = k;
        }

        /* Where the rise is measured from: the lowest floor, or the median
         * floor before the rise began, or the caller's minimum. */
        double base = s[first];
        if (start > first) {
                memcpy(scratch, f + first, (start - first) * sizeof *scratch);
                base = max2(base, growth_median(scratch, start - first));
        }
        base = max2(base, floor_min);

        r.level = s[last];
        r.base = base;
        r.rise = max2(r.level - base, 0);
        r.span_sec = t_sec[last] - t_sec[start];
        r.rate_per_sec = r.span_sec > 0 ? r.rise / r.span_sec : 0;
        r.significance = r.rise / r.noise;
        r.trend = floor_trend(t_sec, f, start, last + 1);

        if (r.rise > 0) {
                /* Only the part of S above the base counts as rise. */
                double mid_t = t_sec[start] + r.span_sec / 2;
                /* Recent: the last quarter of the span, or twice the hold, or
                 * twice the time one step of @granularity takes at this rate. */
                double step_sec = r.rate_per_sec > 0 ? granularity / r.rate_per_sec : 0;
                double recent_sec = max2(r.span_sec * FLOOR_RECENT_SHARE, max2(2 * hold_sec, 2 * step_sec));
                double recent_t = t_sec[last] - recent_sec;
                double at_mid = base;
                double at_recent = base;
                for (size_t i = start + 1; i <= last; i++) {
                        double lo = max2(s[i - 1], base), hi = max2(s[i], base);
                        if (hi - lo > r.max_jump)
                                r.max_jump = hi - lo;
                        if (t_sec[i] <= mid_t)
                                at_mid = hi;
                        if (t_sec[i] <= recent_t)
                                at_recent = hi;
                }
                r.late_share = (r.level - at_mid) / r.rise;
                r.recent = r.level > at_recent;
                r.steady = r.max_jump <= r.rise * FLOOR_JUMP_SHARE_MAX && r.late_share >= FLOOR_LATE_SHARE_MIN &&
                           r.recent;
        }
        *ret = r;
        return 0;
}
