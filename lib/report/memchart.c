#include "report/memchart.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define W 860
#define H 240
#define BAND 22
#define LINE_MAX 512
#define VERDICT_LEN 48

/* Columns drawn, with their colours; "verdict" is the band. */
static const struct {
        const char *name;
        const char *colour;
} keys[] = {
        { "SUnreclaim", "#c33" },   { "SReclaimable", "#e90" }, { "VmallocUsed", "#73a" },
        { "AnonPages", "#27a" },    { "Shmem", "#2a7" },        { "MemAvailable", "#555" },
};
#define N_KEYS (sizeof keys / sizeof keys[0])

struct row {
        double t;
        double v[N_KEYS];       /* kB; NAN where empty */
        char verdict[VERDICT_LEN];
};

struct table {
        int col_time, col_verdict, col_key[N_KEYS];
        struct row *rows;
        size_t n;
};

/* Split @line at commas in place; returns the number of fields. */
static size_t split(char *line, char **fields, size_t max) {
        size_t n = 0;
        for (char *p = line; n < max;) {
                fields[n++] = p;
                char *c = strchr(p, ',');
                if (!c)
                        break;
                *c = '\0';
                p = c + 1;
        }
        return n;
}

static bool parse_header(struct table *t, char *line) {
        char *fields[64];
        size_t n = split(line, fields, 64);
        bool any = false;
        t->col_time = t->col_verdict = -1;
        for (size_t k = 0; k < N_KEYS; k++)
                t->col_key[k] = -1;
        for (size_t i = 0; i < n; i++) {
                if (strcmp(fields[i], "time") == 0)
                        t->col_time = (int) i;
                else if (strcmp(fields[i], "verdict") == 0)
                        t->col_verdict = (int) i;
                for (size_t k = 0; k < N_KEYS; k++)
                        if (strcmp(fields[i], keys[k].name) == 0) {
                                t->col_key[k] = (int) i;
                                any = true;
                        }
        }
        return any && t->col_time >= 0;
}

/* A verdict as printed: "none" or flags joined by '+'; anything else is
 * not drawn (the page must not carry what a file smuggled in). */
static bool verdict_ok(const char *s) {
        size_t n = strlen(s);
        if (n >= VERDICT_LEN)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!((s[i] >= 'a' && s[i] <= 'z') || s[i] == '+'))
                        return false;
        return true;
}

static void parse_row(struct table *t, char *line) {
        char *fields[64], *end;
        size_t n = split(line, fields, 64);
        struct row r;
        if ((size_t) t->col_time >= n)
                return;
        r.t = strtod(fields[t->col_time], &end);
        if (end == fields[t->col_time] || *end || !isfinite(r.t))
                return;
        for (size_t k = 0; k < N_KEYS; k++) {
                int c = t->col_key[k];
                r.v[k] = NAN;
                if (c >= 0 && (size_t) c < n && fields[c][0]) {
                        double v = strtod(fields[c], &end);
                        if (end != fields[c] && !*end && isfinite(v))
                                r.v[k] = v;
                }
        }
        r.verdict[0] = '\0';
        if (t->col_verdict >= 0 && (size_t) t->col_verdict < n && verdict_ok(fields[t->col_verdict]))
                strcpy(r.verdict, fields[t->col_verdict]);
        if (t->n == MEMCHART_POINTS_MAX) {
                memmove(t->rows, t->rows + 1, (MEMCHART_POINTS_MAX - 1) * sizeof *t->rows);
                t->n--;
        }
        t->rows[t->n++] = r;
}

static bool parse(struct table *t, const char *csv, size_t len) {
        bool header = false;
        for (size_t i = 0; csv && i < len;) {
                const char *nl = memchr(csv + i, '\n', len - i);
                size_t l = nl ? (size_t) (nl - (csv + i)) : len - i;
                char line[LINE_MAX];
                if (l > 0 && l < sizeof line) {
                        memcpy(line, csv + i, l);
                        line[l] = '\0';
                        if (!header) {
                                if (!parse_header(t, line))
                                        return false;
                                header = true;
                        } else
                                parse_row(t, line);
                } else if (!header && l > 0)
                        return false;
                i += l + 1;
        }
        return header;
}

/* The band colour of a verdict: its first flag's. */
static const char *band_colour(const char *v) {
        if (!v[0])
                return "#eee";
        if (strncmp(v, "slab", 4) == 0)
                return "#f3b0b0";
        if (strncmp(v, "unaccounted", 11) == 0)
                return "#f6d08a";
        if (strncmp(v, "vmalloc", 7) == 0)
                return "#d5c0ee";
        if (strncmp(v, "user", 4) == 0)
                return "#b9d7ee";
        return "#e4f2e4"; /* none */
}

static void draw(FILE *f, const struct table *t, double start, double end) {
        const double left = 70, right = 110, top = 20, bottom = 30 + BAND + 6;
        double first[N_KEYS], lo = 0, hi = 0, t0 = t->rows[0].t, t1 = t->rows[t->n - 1].t;
        bool drawn[N_KEYS] = { false };

        t1 = fmax(t1, end);
        if (t1 - t0 < 1)
                t0 = t1 - 1;
        for (size_t k = 0; k < N_KEYS; k++) {
                first[k] = NAN;
                for (size_t i = 0; i < t->n; i++) {
                        double v = t->rows[i].v[k];
                        if (isnan(v))
                                continue;
                        if (isnan(first[k]))
                                first[k] = v;
                        lo = fmin(lo, (v - first[k]) / 1024);
                        hi = fmax(hi, (v - first[k]) / 1024);
                        drawn[k] = true;
                }
        }
        if (hi - lo < 1)
                hi = lo + 1;
#define X(x) (left + ((x) - t0) / (t1 - t0) * (W - left - right))
#define Y(v) (top + (1 - ((v) - lo) / (hi - lo)) * (H - top - bottom))
        fprintf(f, "<svg id=\"verdict-chart\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\" "
                   "aria-label=\"meminfo keys and the memory verdict over time\">\n",
                W, H, W, H);
        fprintf(f, "<rect class=\"frame\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"/>\n", left, top,
                W - left - right, H - top - bottom);
        if (start >= t0 && start <= t1)
                fprintf(f, "<rect class=\"window\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\">"
                           "<title>capture window</title></rect>\n",
                        X(start), top, fmax(1, X(fmin(end, t1)) - X(start)), H - top - bottom);
        fprintf(f, "<line class=\"zero\" stroke=\"#999\" stroke-dasharray=\"2 3\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", left, Y(0),
                W - right, Y(0));
        double legend_y = top + 10;
        for (size_t k = 0; k < N_KEYS; k++) {
                if (!drawn[k])
                        continue;
                fprintf(f, "<polyline class=\"mem-series\" data-key=\"%s\" fill=\"none\" stroke=\"%s\" "
                           "stroke-width=\"1.5\" points=\"",
                        keys[k].name, keys[k].colour);
                for (size_t i = 0; i < t->n; i++)
                        if (!isnan(t->rows[i].v[k]))
                                fprintf(f, "%.1f,%.1f ", X(t->rows[i].t), Y((t->rows[i].v[k] - first[k]) / 1024));
                fputs("\"/>\n", f);
                fprintf(f, "<text class=\"label\" x=\"%.1f\" y=\"%.1f\" style=\"fill:%s\">%s</text>\n", W - right + 6,
                        legend_y, keys[k].colour, keys[k].name);
                legend_y += 14;
        }
        /* The verdict band: one rectangle per run of the same verdict. */
        double band_y = H - bottom + 6;
        fprintf(f, "<g id=\"verdict-band\">\n");
        for (size_t i = 0; i < t->n;) {
                size_t j = i + 1;
                while (j < t->n && strcmp(t->rows[j].verdict, t->rows[i].verdict) == 0)
                        j++;
                double x0 = X(t->rows[i].t), x1 = j < t->n ? X(t->rows[j].t) : X(t1);
                const char *v = t->rows[i].verdict;
                fprintf(f, "<rect class=\"verdict-segment\" data-verdict=\"%s\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
                           "height=\"%d\" fill=\"%s\"><title>verdict: %s</title></rect>\n",
                        v[0] ? v : "unknown", x0, band_y, fmax(1, x1 - x0), BAND, band_colour(v),
                        v[0] ? v : "unknown (before the daemon started)");
                if (x1 - x0 > 8.0 * (double) strlen(v[0] ? v : "?") && v[0])
                        fprintf(f, "<text class=\"label\" x=\"%.1f\" y=\"%.1f\">%s</text>\n", x0 + 3,
                                band_y + BAND - 7, v);
                i = j;
        }
        fputs("</g>\n", f);
        fprintf(f, "<text class=\"axis\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%+.1f MiB</text>\n", left - 4,
                top + 4, hi);
        fprintf(f, "<text class=\"axis\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%+.1f MiB</text>\n", left - 4,
                H - bottom, lo);
        fprintf(f, "<text class=\"axis\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">verdict</text>\n", left - 4,
                band_y + BAND - 7);
        fprintf(f, "<text class=\"axis\" x=\"%.1f\" y=\"%d\">change since the first sample, %.0f s shown</text>\n",
                left, H - 4, t1 - t0);
        fputs("</svg>\n", f);
#undef X
#undef Y
}

bool memchart_svg(FILE *f, const char *csv, size_t len, double start, double end) {
        struct table t = { .rows = calloc(MEMCHART_POINTS_MAX, sizeof(struct row)) };
        bool ok = t.rows && parse(&t, csv, len) && t.n > 0;
        if (ok)
                draw(f, &t, start, end);
        free(t.rows);
        return ok;
}
