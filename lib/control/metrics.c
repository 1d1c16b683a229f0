/* metrics — Prometheus / OpenMetrics text formatting. */
#include "control/metrics.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Families in one exposition; slabwatch writes about twenty. */
#define METRICS_FAMILIES_MAX 256

struct metrics {
        enum metrics_format format;
        size_t max_bytes;
        char *text;
        size_t len;
        size_t allocated;
        bool finished;
        bool have_family;
        enum metrics_type type;
        char family[METRICS_NAME_MAX];
        char *families[METRICS_FAMILIES_MAX];
        size_t n_families;
};

int metrics_new(enum metrics_format format, size_t max_bytes, struct metrics **ret) {
        if (format != METRICS_FORMAT_PROMETHEUS && format != METRICS_FORMAT_OPENMETRICS)
                return -EINVAL;
        struct metrics *m = calloc(1, sizeof *m);
        if (!m)
                return -ENOMEM;
        m->format = format;
        m->max_bytes = max_bytes == 0 || max_bytes > METRICS_TEXT_HARD_MAX ? METRICS_TEXT_HARD_MAX : max_bytes;
        *ret = m;
        return 0;
}

void metrics_free(struct metrics *m) {
        if (!m)
                return;
        for (size_t i = 0; i < m->n_families; i++)
                free(m->families[i]);
        free(m->text);
        free(m);
}

static int reserve(struct metrics *m, size_t extra) {
        if (m->len + extra + 1 > m->max_bytes)
                return -E2BIG;
        if (m->len + extra + 1 <= m->allocated)
                return 0;
        size_t n = m->allocated ? m->allocated : 4096;
        while (n < m->len + extra + 1)
                n *= 2;
        if (n > m->max_bytes)
                n = m->max_bytes;
        char *p = realloc(m->text, n);
        if (!p)
                return -ENOMEM;
        m->text = p;
        m->allocated = n;
        return 0;
}

static int append(struct metrics *m, const char *s, size_t len) {
        int r = reserve(m, len);
        if (r < 0)
                return r;
        memcpy(m->text + m->len, s, len);
        m->len += len;
        m->text[m->len] = '\0';
        return 0;
}

static int appends(struct metrics *m, const char *s) {
        return append(m, s, strlen(s));
}

static int appendf(struct metrics *m, const char *format, ...) __attribute__((format(printf, 2, 3)));

static int appendf(struct metrics *m, const char *format, ...) {
        char buf[256];
        va_list ap;
        va_start(ap, format);
        int n = vsnprintf(buf, sizeof buf, format, ap);
        va_end(ap);
        if (n < 0 || (size_t) n >= sizeof buf)
                return -EINVAL;
        return append(m, buf, (size_t) n);
}

/* Escape for a label value (both formats: \\ \" \n) or a HELP text
 * (Prometheus: \\ \n; OpenMetrics also \"). */
static int append_escaped(struct metrics *m, const char *s, bool quote) {
        int r = 0;
        for (const char *p = s; *p && r >= 0; p++) {
                if (*p == '\\')
                        r = append(m, "\\\\", 2);
                else if (*p == '\n')
                        r = append(m, "\\n", 2);
                else if (*p == '"' && quote)
                        r = append(m, "\\\"", 2);
                else
                        r = append(m, p, 1);
        }
        return r;
}

bool metrics_name_valid(const char *s) {
        if (!s || !*s || strlen(s) >= METRICS_NAME_MAX)
                return false;
        for (const char *p = s; *p; p++) {
                char c = *p;
                bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
                          (p > s && c >= '0' && c <= '9');
                if (!ok)
                        return false;
        }
        return true;
}

bool metrics_label_name_valid(const char *s) {
        if (!s || !*s || strlen(s) >= METRICS_NAME_MAX || strncmp(s, "__", 2) == 0)
                return false;
        for (const char *p = s; *p; p++) {
                char c = *p;
                bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                          (p > s && c >= '0' && c <= '9');
                if (!ok)
                        return false;
        }
        return true;
}

static bool has_suffix(const char *s, const char *suffix) {
        size_t a = strlen(s), b = strlen(suffix);
        return a > b && s[a - b - 1] == '_' && strcmp(s + a - b, suffix) == 0;
}

int metrics_family(struct metrics *m, const char *name, enum metrics_type type, const char *unit,
                   const char *help) {
        if (m->finished || !metrics_name_valid(name) || strlen(name) + sizeof "_total" > METRICS_NAME_MAX)
                return -EINVAL;
        if (type != METRICS_GAUGE && type != METRICS_COUNTER)
                return -EINVAL;
        /* OpenMetrics requires the unit to be the name's suffix; keeping the
         * same rule for both formats keeps the names identical. */
        if (unit && (!metrics_label_name_valid(unit) || !has_suffix(name, unit)))
                return -EINVAL;
        if (type == METRICS_COUNTER && has_suffix(name, "total"))
                return -EINVAL;
        for (size_t i = 0; i < m->n_families; i++)
                if (strcmp(m->families[i], name) == 0)
                        return -EINVAL;
        if (m->n_families >= METRICS_FAMILIES_MAX)
                return -E2BIG;
        char *copy = strdup(name);
        if (!copy)
                return -ENOMEM;

        /* Prometheus text names the family by its samples (x_total);
         * OpenMetrics names it without the suffix. */
        const char *suffix = type == METRICS_COUNTER && m->format == METRICS_FORMAT_PROMETHEUS ? "_total" : "";
        const char *type_name = type == METRICS_COUNTER ? "counter" : "gauge";
        size_t saved = m->len;
        int r = appendf(m, "# HELP %s%s ", name, suffix);
        if (r >= 0)
                r = append_escaped(m, help ? help : "", m->format == METRICS_FORMAT_OPENMETRICS);
        if (r >= 0)
                r = appendf(m, "\n# TYPE %s%s %s\n", name, suffix, type_name);
        if (r >= 0 && unit && m->format == METRICS_FORMAT_OPENMETRICS)
                r = appendf(m, "# UNIT %s %s\n", name, unit);
        if (r < 0) {
                m->len = saved;
                if (m->text)
                        m->text[m->len] = '\0';
                free(copy);
                return r;
        }
        m->families[m->n_families++] = copy;
        snprintf(m->family, sizeof m->family, "%s", name);
        m->type = type;
        m->have_family = true;
        return 0;
}

static int append_value(struct metrics *m, double v) {
        if (isnan(v))
                return appends(m, "NaN");
        if (isinf(v))
                return appends(m, v > 0 ? "+Inf" : "-Inf");
        /* Integral values print exactly (object counts, bytes); others with
         * enough digits for a rate. */
        if (v == floor(v) && fabs(v) < 9007199254740992.0)
                return appendf(m, "%.0f", v);
        /* The shortest form that reads back as the same double. */
        char buf[32];
        for (int precision = 15; precision <= 17; precision++) {
                snprintf(buf, sizeof buf, "%.*g", precision, v);
                if (strtod(buf, NULL) == v)
                        break;
        }
        return appends(m, buf);
}

int metrics_sample(struct metrics *m, const struct metrics_label *labels, size_t n_labels, double value) {
        if (m->finished || !m->have_family || n_labels > METRICS_LABELS_MAX || (n_labels > 0 && !labels))
                return -EINVAL;
        for (size_t i = 0; i < n_labels; i++) {
                if (!metrics_label_name_valid(labels[i].name) || !labels[i].value)
                        return -EINVAL;
                for (size_t j = 0; j < i; j++)
                        if (strcmp(labels[i].name, labels[j].name) == 0)
                                return -EINVAL;
        }
        size_t saved = m->len;
        int r = appends(m, m->family);
        if (r >= 0 && m->type == METRICS_COUNTER)
                r = appends(m, "_total");
        for (size_t i = 0; i < n_labels && r >= 0; i++) {
                r = appendf(m, "%s%s=\"", i == 0 ? "{" : ",", labels[i].name);
                if (r >= 0)
                        r = append_escaped(m, labels[i].value, true);
                if (r >= 0)
                        r = append(m, "\"", 1);
        }
        if (r >= 0 && n_labels > 0)
                r = append(m, "}", 1);
        if (r >= 0)
                r = append(m, " ", 1);
        if (r >= 0)
                r = append_value(m, value);
        if (r >= 0)
                r = append(m, "\n", 1);
        if (r < 0) {
                m->len = saved;
                if (m->text)
                        m->text[m->len] = '\0';
        }
        return r;
}

int metrics_sample1(struct metrics *m, const char *label_name, const char *label_value, double value) {
        if (!label_name)
                return metrics_sample(m, NULL, 0, value);
        struct metrics_label l = { label_name, label_value };
        return metrics_sample(m, &l, 1, value);
}

int metrics_finish(struct metrics *m, const char **ret_text, size_t *ret_len) {
        if (!m->finished) {
                /* OpenMetrics requires "# EOF" as the last line. */
                if (m->format == METRICS_FORMAT_OPENMETRICS) {
                        int r = appends(m, "# EOF\n");
                        if (r < 0)
                                return r;
                }
                /* An empty exposition still returns a NUL-terminated text. */
                int r = reserve(m, 0);
                if (r < 0)
                        return r;
                m->text[m->len] = '\0';
                m->finished = true;
        }
        *ret_text = m->text;
        *ret_len = m->len;
        return 0;
}
