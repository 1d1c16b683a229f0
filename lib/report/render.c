#include "report/render.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "report/memchart.h"
#include "stacks/frames.h"

#define CHART_W 860
#define CHART_H 240
#define FLAME_W 1180
#define FLAME_ROW 18

/* ---- stacks.folded ---- */

static void put_function(FILE *f, const char *frame) {
        size_t len;
        const char *fn = frames_function(frame, &len);
        /* ';' separates frames and ' ' ends them in the folded format. */
        for (size_t i = 0; i < len; i++)
                fputc(fn[i] == ';' || fn[i] == ' ' ? '_' : fn[i], f);
}

int report_to_folded(const struct report *r, char **ret_text, size_t *ret_len) {
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);

        if (!f)
                return -ENOMEM;
        for (size_t i = 0; i < r->n_stacks; i++) {
                const struct report_stack *s = &r->stacks[i];
                if (s->outstanding == 0 || s->frames.n == 0)
                        continue;
                for (size_t j = s->frames.n; j-- > 0;) {
                        put_function(f, s->frames.v[j]);
                        if (j > 0)
                                fputc(';', f);
                }
                fprintf(f, " %" PRIu64 "\n", s->outstanding);
        }
        if (fclose(f) != 0 || !text) {
                free(text);
                return -ENOMEM;
        }
        *ret_text = text;
        if (ret_len)
                *ret_len = len;
        return 0;
}

/* ---- HTML helpers ---- */

static void esc_n(FILE *f, const char *s, size_t n) {
        for (size_t i = 0; i < n && s[i]; i++) {
                switch (s[i]) {
                case '<':
                        fputs("&lt;", f);
                        break;
                case '>':
                        fputs("&gt;", f);
                        break;
                case '&':
                        fputs("&amp;", f);
                        break;
                case '"':
                        fputs("&quot;", f);
                        break;
                default:
                        fputc(s[i], f);
                }
        }
}

static void esc(FILE *f, const char *s) {
        esc_n(f, s, strlen(s));
}

/* ---- the history chart ---- */

struct point {
        double t;
        double v;
};

static size_t parse_history(const char *csv, size_t len, struct point *pts, size_t max) {
        size_t n = 0, i = 0;

        while (csv && i < len) {
                const char *line = csv + i;
                const char *nl = memchr(line, '\n', len - i);
                size_t l = nl ? (size_t) (nl - line) : len - i;
                char buf[128];
                i += l + 1;
                if (l == 0 || l >= sizeof buf)
                        continue;
                memcpy(buf, line, l);
                buf[l] = '\0';
                char *end;
                double t = strtod(buf, &end);
                if (end == buf || *end != ',')
                        continue;
                char *p = end + 1;
                double v = strtod(p, &end);
                if (end == p || !isfinite(t) || !isfinite(v))
                        continue;
                if (n == max) {
                        memmove(pts, pts + 1, (max - 1) * sizeof *pts);
                        n--;
                }
                pts[n++] = (struct point) { t, v };
        }
        return n;
}

static void chart(FILE *f, const struct report *r, const char *csv, size_t csv_len) {
        struct point *pts = calloc(RENDER_HISTORY_POINTS_MAX, sizeof *pts);
        size_t n = pts ? parse_history(csv, csv_len, pts, RENDER_HISTORY_POINTS_MAX) : 0;
        const struct report_attribution *a = &r->attribution;
        double start = (double) r->start_realtime_usec / 1e6, end = start + (double) r->duration_usec / 1e6;
        double t0 = n ? pts[0].t : start, t1 = end > start ? end : start + 1;
        double lo = INFINITY, hi = -INFINITY;
        const double left = 70, right = 20, top = 20, bottom = 30;

        for (size_t i = 0; i < n; i++) {
                lo = fmin(lo, pts[i].v);
                hi = fmax(hi, pts[i].v);
                t0 = fmin(t0, pts[i].t);
                t1 = fmax(t1, pts[i].t);
        }
        if (a->cache_known) {
                lo = fmin(lo, (double) fmin((double) a->cache_first, (double) a->cache_last));
                hi = fmax(hi, (double) fmax((double) a->cache_first, (double) a->cache_last));
        }
        if (!isfinite(lo)) {
                lo = 0;
                hi = 1;
        }
        if (hi - lo < 1)
                hi = lo + 1;
        if (t1 - t0 < 1)
                t0 = t1 - 1;
#define X(t) (left + ((t) - t0) / (t1 - t0) * (CHART_W - left - right))
#define Y(v) (top + (1 - ((v) - lo) / (hi - lo)) * (CHART_H - top - bottom))
        fprintf(f, "<svg id=\"history-chart\" width=\"%d\" height=\"%d\" "
                   "viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"active objects of %s over time\">\n",
                CHART_W, CHART_H, CHART_W, CHART_H, r->cache);
        fprintf(f, "<rect class=\"frame\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"/>\n", left, top,
                CHART_W - left - right, CHART_H - top - bottom);
        fprintf(f, "<rect id=\"capture-window\" class=\"window\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\">"
                   "<title>capture window</title></rect>\n",
                X(start), top, fmax(1, X(end) - X(start)), CHART_H - top - bottom);
        if (n > 0) {
                fputs("<polyline class=\"series\" points=\"", f);
                for (size_t i = 0; i < n; i++)
                        fprintf(f, "%.1f,%.1f ", X(pts[i].t), Y(pts[i].v));
                fputs("\"/>\n", f);
        }
        if (a->cache_known)
                fprintf(f, "<line class=\"capture\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", X(start),
                        Y((double) a->cache_first), X(end), Y((double) a->cache_last));
        if (!r->trigger.on_demand)
                fprintf(f, "<line id=\"trip-marker\" class=\"trip\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\">"
                           "<title>trip</title></line><text class=\"label\" x=\"%.1f\" y=\"%.1f\">trip</text>\n",
                        X(start), top, X(start), CHART_H - bottom, X(start) + 3, top + 12);
        fprintf(f, "<text class=\"axis\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%.0f</text>\n", left - 4, top + 4,
                hi);
        fprintf(f, "<text class=\"axis\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%.0f</text>\n", left - 4,
                CHART_H - bottom, lo);
        fprintf(f, "<text class=\"axis\" x=\"%.1f\" y=\"%d\">%.0f s before the end</text>\n", left, CHART_H - 8,
                t1 - t0);
        fputs("</svg>\n", f);
#undef X
#undef Y
        free(pts);
}

/* ---- the icicle graph ---- */

struct node {
        const char *fn;         /* its function name, inside one of the report's frames */
        size_t len;
        uint64_t value;
        size_t parent;
        size_t first_child;
        size_t next;
        unsigned depth;
        bool culprit_path;
};

struct tree {
        struct node *v;
        size_t n;
        size_t lumped;
};

static size_t child(struct tree *t, size_t parent, const char *frame, unsigned depth) {
        size_t len;
        const char *fn = frames_function(frame, &len);
        for (size_t c = t->v[parent].first_child; c != SIZE_MAX; c = t->v[c].next)
                if (t->v[c].len == len && memcmp(t->v[c].fn, fn, len) == 0)
                        return c;
        if (t->n >= RENDER_FLAME_NODES_MAX) {
                t->lumped++;
                return SIZE_MAX;
        }
        struct node *n = &t->v[t->n];
        *n = (struct node) { .fn = fn, .len = len, .parent = parent, .first_child = SIZE_MAX,
                             .next = t->v[parent].first_child, .depth = depth };
        t->v[parent].first_child = t->n;
        return t->n++;
}

/* Rooted at the allocation point, going outward: the shape of the question
 * "which caller of this allocation keeps its objects". */
static void build_tree(struct tree *t, const struct report *r) {
        t->v[0] = (struct node) { .fn = r->cache, .len = strlen(r->cache), .first_child = SIZE_MAX };
        t->n = 1;
        for (size_t i = 0; i < r->n_stacks; i++) {
                const struct report_stack *s = &r->stacks[i];
                if (s->outstanding == 0)
                        continue;
                size_t first = frames_first_code((const char *const *) s->frames.v, s->frames.n);
                if (first == s->frames.n)
                        first = 0;
                size_t at = 0;
                t->v[0].value += s->outstanding;
                for (size_t j = first; j < s->frames.n && j - first < RENDER_FLAME_DEPTH_MAX; j++) {
                        size_t c = child(t, at, s->frames.v[j], (unsigned) (j - first + 1));
                        if (c == SIZE_MAX)
                                break;
                        t->v[c].value += s->outstanding;
                        if (i == 0)
                                t->v[c].culprit_path = true;
                        at = c;
                }
        }
}

static void draw_node(FILE *f, const struct tree *t, const struct report *r, size_t i, double x, double w) {
        const struct node *n = &t->v[i];
        bool culprit = i > 0 && n->culprit_path && r->culprit[0] && strlen(r->culprit) == n->len &&
                       memcmp(n->fn, r->culprit, n->len) == 0;
        double y = n->depth * FLAME_ROW;

        fprintf(f, "<g class=\"node%s\"%s><title>", culprit ? " culprit" : "", culprit ? " id=\"culprit\"" : "");
        esc_n(f, n->fn, n->len);
        fprintf(f, ": %" PRIu64 " outstanding</title><rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%d\"/>", n->value,
                x, y, fmax(0.5, w - 0.5), FLAME_ROW - 1);
        if (w > 40) {
                size_t chars = (size_t) (w / 7);
                fprintf(f, "<text x=\"%.1f\" y=\"%.1f\">", x + 3, y + 13);
                esc_n(f, n->fn, n->len < chars ? n->len : chars);
                fputs("</text>", f);
        }
        fputs("</g>\n", f);
        double cx = x;
        for (size_t c = n->first_child; c != SIZE_MAX; c = t->v[c].next) {
                double cw = n->value ? w * (double) t->v[c].value / (double) n->value : 0;
                draw_node(f, t, r, c, cx, cw);
                cx += cw;
        }
}

static void flame(FILE *f, const struct report *r) {
        struct tree t = { .v = calloc(RENDER_FLAME_NODES_MAX, sizeof *t.v) };
        unsigned depth = 0;

        if (!t.v)
                return;
        build_tree(&t, r);
        for (size_t i = 0; i < t.n; i++)
                if (t.v[i].depth > depth)
                        depth = t.v[i].depth;
        fprintf(f, "<svg id=\"flamegraph\" width=\"%d\" height=\"%u\" "
                   "viewBox=\"0 0 %d %u\" role=\"img\" aria-label=\"outstanding objects by path, from the "
                   "allocation point outward\">\n",
                FLAME_W, (depth + 1) * FLAME_ROW, FLAME_W, (depth + 1) * FLAME_ROW);
        if (t.v[0].value > 0)
                draw_node(f, &t, r, 0, 0, FLAME_W);
        fputs("</svg>\n", f);
        if (t.lumped > 0)
                fprintf(f, "<p class=\"note\">%zu frames past %u nodes are not drawn.</p>\n", t.lumped,
                        RENDER_FLAME_NODES_MAX);
        free(t.v);
}

/* ---- the page ---- */

static const char style[] =
        "body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}"
        "h1{font-size:1.4em}h2{font-size:1.1em;margin-top:1.6em}"
        "table{border-collapse:collapse}td,th{padding:2px 8px;border-bottom:1px solid #ddd;text-align:left}"
        "td.n{text-align:right;font-variant-numeric:tabular-nums}"
        "code,pre{font:12px ui-monospace,monospace}"
        ".verdict{padding:.6em;background:#f4f4f4;border-left:4px solid #888}"
        ".high{border-color:#2a7}.medium{border-color:#d90}.low{border-color:#c33}"
        "svg .frame{fill:#fafafa;stroke:#ccc}svg .window{fill:#cde;opacity:.6}"
        "svg .series{fill:none;stroke:#247;stroke-width:1.5}svg .capture{stroke:#c33;stroke-width:2}"
        "svg .trip{stroke:#c33;stroke-dasharray:4 3}svg .axis,svg .label{font-size:11px;fill:#555}"
        "#flamegraph rect{fill:#e9a35a;stroke:#fff;stroke-width:.5}#flamegraph text{font-size:11px;fill:#222}"
        "#flamegraph .culprit rect{fill:#d33}#flamegraph .culprit text{fill:#fff;font-weight:bold}"
        ".culprit-name{color:#c00;font-weight:bold}";

static void row(FILE *f, const char *k, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void row(FILE *f, const char *k, const char *fmt, ...) {
        char buf[REPORT_TEXT_MAX * 2];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(buf, sizeof buf, fmt, ap);
        va_end(ap);
        fputs("<tr><th>", f);
        esc(f, k);
        fputs("</th><td>", f);
        esc(f, buf);
        fputs("</td></tr>\n", f);
}

static void ledger(FILE *f, const struct report *r) {
        const struct report_attribution *a = &r->attribution;

        fputs("<table id=\"ledger\">\n", f);
        if (a->cache_known)
                row(f, "cache growth", "%+" PRId64 " objects (%" PRIu64 " to %" PRIu64 ", %" PRIu64 " samples)",
                    a->cache_delta, a->cache_first, a->cache_last, a->cache_samples);
        else
                row(f, "cache growth", "unknown (%" PRIu64 " samples)", a->cache_samples);
        row(f, "traced net", "%+" PRId64 " (%" PRIu64 " allocations, %" PRIu64 " frees)", a->traced_net, a->allocs,
            a->frees);
        if (a->explained_known)
                row(f, "explained", "%.0f %%", a->explained * 100);
        row(f, "untraced frees", "%" PRIu64, a->untraced_frees);
        row(f, "frees of older objects", "%" PRIu64, a->frees_of_unknown);
        row(f, "events without a stack", "%" PRIu64, a->stackless_events);
        row(f, "lost events", "%" PRIu64, a->lost_events);
        const char *unreliable[8];
        size_t n_unreliable = report_unreliable_figures(r, unreliable, 8);
        if (n_unreliable > 0) {
                char list[256] = "";
                for (size_t i = 0; i < n_unreliable; i++)
                        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "", unreliable[i]);
                row(f, "unreliable", "%s: a lost free leaves a phantom outstanding object%s", list,
                    a->loss_ambiguous ? "; the loss could explain the ranking, no suspect is named" : "");
        }
        row(f, "drain", "%.1f s (%" PRIu64 " frees, %" PRIu64 " allocations not counted)", (double) a->drain_usec / 1e6,
            a->drain_frees, a->drain_allocs);
        row(f, "settle time", "%.1f s; top stack: %" PRIu64 " settled", (double) a->settle_usec / 1e6, a->top_settled);
        row(f, "confidence", "%s", report_confidence_name(a->confidence));
        fputs("</table>\n", f);
        if (a->notes.n > 0) {
                fputs("<ul>\n", f);
                for (size_t i = 0; i < a->notes.n; i++) {
                        fputs("<li>", f);
                        esc(f, a->notes.v[i]);
                        fputs("</li>\n", f);
                }
                fputs("</ul>\n", f);
        }
}

static void callsites(FILE *f, const struct report *r) {
        bool any = false;
        for (size_t i = 0; i < r->n_call_sites; i++) {
                const struct report_callsite *c = &r->call_sites[i];
                if (c->free_site)
                        continue;
                if (!any)
                        fputs("<table id=\"call-sites\"><tr><th>growth</th><th>first</th><th>last</th><th>site</th>"
                              "<th>cache</th></tr>\n",
                              f);
                any = true;
                fprintf(f, "<tr><td class=\"n\">%+" PRId64 "</td><td class=\"n\">%" PRIu64 "</td><td class=\"n\">%" PRIu64
                           "</td><td><code>",
                        c->delta, c->count_first, c->count_last);
                esc(f, c->site);
                fputs("</code></td><td>", f);
                esc(f, c->cache);
                fputs("</td></tr>\n", f);
        }
        if (any)
                fputs("</table>\n", f);
        else
                fputs("<p>No call sites were recorded for this cache.</p>\n", f);
}

int report_to_html(const struct report *r, const char *history_csv, size_t history_len, char **ret_text,
                   size_t *ret_len) {
        char *text = NULL, when[64], suspect[REPORT_NAME_MAX];
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        time_t t = (time_t) (r->start_realtime_usec / 1000000);
        struct tm tm;

        if (!f)
                return -ENOMEM;
        if (!gmtime_r(&t, &tm) || strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
                snprintf(when, sizeof when, "?");
        fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
              "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">"
              "<title>slabwatch capture ",
              f);
        esc(f, r->id);
        fprintf(f, "</title><style>%s</style></head><body>\n<h1>Capture of <code>", style);
        esc(f, r->cache);
        fputs("</code></h1>\n<p>", f);
        esc(f, r->id);
        fprintf(f, " &middot; kernel ");
        esc(f, r->kernel);
        fprintf(f, " &middot; started %s, %.1f s, stopped by ", when, (double) r->duration_usec / 1e6);
        esc(f, r->stop_reason);
        fputs("</p>\n", f);
        fprintf(f, "<p class=\"verdict %s\" id=\"verdict\">", report_confidence_name(r->attribution.confidence));
        esc(f, r->attribution.verdict);
        fputs("</p>\n", f);
        report_named_suspect(r, suspect, sizeof suspect);
        if (suspect[0]) {
                fputs("<p id=\"suspect\">Culprit: <span class=\"culprit-name\">", f);
                esc(f, suspect);
                fputs("</span>", f);
                if (r->culprit_reason[0]) {
                        fputs(" &mdash; ", f);
                        esc(f, r->culprit_reason);
                }
                fputs("</p>\n", f);
        }
        if (r->leak_group[0]) {
                fputs("<p id=\"leak-group\">Suspected leak ", f);
                esc(f, r->leak_group);
                fputs(": ", f);
                esc(f, r->leak_group_name);
                fputs("</p>\n", f);
        }
        fputs("<h2>History of the cache</h2>\n", f);
        chart(f, r, history_csv, history_len);
        if (!history_csv || history_len == 0)
                fputs("<p class=\"note\">No history was recorded before the capture.</p>\n", f);
        fputs("<h2>Where the memory went</h2>\n<p>The /proc/meminfo keys the verdict judges, as change since the "
              "first sample, and below them the verdict the daemon held.</p>\n",
              f);
        double start = (double) r->start_realtime_usec / 1e6;
        if (!memchart_svg(f, history_csv, history_len, start, start + (double) r->duration_usec / 1e6))
                fputs("<p class=\"note\" id=\"verdict-none\">This history carries no meminfo columns.</p>\n", f);
        fputs("<h2>Attribution ledger</h2>\n", f);
        ledger(f, r);
        fputs("<h2>Outstanding objects by path</h2>\n<p>From the allocation point (top) outward; width is "
              "outstanding objects; the culprit frame is red.</p>\n",
              f);
        flame(f, r);
        fputs("<h2>Stacks</h2>\n<table id=\"stacks\"><tr><th>#</th><th>outstanding</th><th>settled</th><th>allocs</th>"
              "<th>frees</th><th>confidence</th><th>first frames</th></tr>\n",
              f);
        for (size_t i = 0; i < r->n_stacks; i++) {
                const struct report_stack *s = &r->stacks[i];
                char joined[REPORT_TOP_STACK_MAX];
                fprintf(f, "<tr><td class=\"n\">%zu</td><td class=\"n\">%" PRIu64 "</td><td class=\"n\">%" PRIu64
                           "</td><td class=\"n\">%" PRIu64 "</td><td class=\"n\">%" PRIu64 "</td><td>%s</td><td><code>",
                        i + 1, s->outstanding, s->settled, s->allocs, s->frees, report_confidence_name(s->confidence));
                esc(f, report_join_frames(s, " < ", joined, 512));
                fputs("</code></td></tr>\n", f);
        }
        fputs("</table>\n<h2>Call sites</h2>\n", f);
        callsites(f, r);
        if (r->warnings.n > 0) {
                fputs("<h2>Warnings</h2>\n<ul>\n", f);
                for (size_t i = 0; i < r->warnings.n; i++) {
                        fputs("<li>", f);
                        esc(f, r->warnings.v[i]);
                        fputs("</li>\n", f);
                }
                fputs("</ul>\n", f);
        }
        fputs("</body></html>\n", f);
        if (fclose(f) != 0 || !text) {
                free(text);
                return -ENOMEM;
        }
        *ret_text = text;
        if (ret_len)
                *ret_len = len;
        return 0;
}
