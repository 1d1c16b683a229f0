/* metrics — Prometheus text exposition (0.0.4) and OpenMetrics 1.0 text
 * formatting. Pure: builds text in memory, bounded by a caller's limit. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* Output bigger than this is refused, whatever the caller asks: ~250 caches
 * × 6 families is ~100 KiB. */
#define METRICS_TEXT_HARD_MAX (16U * 1024U * 1024U)
/* Metric and label names longer than this are refused. */
#define METRICS_NAME_MAX 128
/* Labels on one sample. */
#define METRICS_LABELS_MAX 4

enum metrics_format {
        METRICS_FORMAT_PROMETHEUS,      /* what node_exporter's textfile collector reads */
        METRICS_FORMAT_OPENMETRICS,     /* application/openmetrics-text; ends in "# EOF" */
};

enum metrics_type {
        METRICS_GAUGE,
        METRICS_COUNTER,        /* samples get the "_total" suffix */
};

struct metrics_label {
        const char *name;
        const char *value;      /* any bytes but NUL; escaped on output */
};

struct metrics;

/* A new empty exposition in @format; output may grow to @max_bytes (0 means
 * METRICS_TEXT_HARD_MAX). -ENOMEM, -EINVAL. */
int metrics_new(enum metrics_format format, size_t max_bytes, struct metrics **ret);

/* Free @m; NULL is a no-op. */
void metrics_free(struct metrics *m);

/* Start a metric family: @name without the "_total" suffix, @unit (e.g.
 * "bytes", "seconds") or NULL, one line of @help. A family name may appear
 * only once. -EINVAL (bad name, unit not the name's suffix, duplicate),
 * -E2BIG (output limit). */
int metrics_family(struct metrics *m, const char *name, enum metrics_type type, const char *unit,
                   const char *help);

/* Add a sample with @n_labels labels to the current family. Label names must
 * be valid and distinct. -EINVAL (no family, bad label), -E2BIG. */
int metrics_sample(struct metrics *m, const struct metrics_label *labels, size_t n_labels, double value);

/* Shorthand for a sample with no label or one label (@label_name NULL = none). */
int metrics_sample1(struct metrics *m, const char *label_name, const char *label_value, double value);

/* Finish the exposition (OpenMetrics: append "# EOF") and return the text
 * (owned by @m, NUL-terminated). Further calls return the same text. */
int metrics_finish(struct metrics *m, const char **ret_text, size_t *ret_len);

/* True if @s is a valid metric name ([a-zA-Z_:][a-zA-Z0-9_:]*). */
bool metrics_name_valid(const char *s);

/* True if @s is a valid label name ([a-zA-Z_][a-zA-Z0-9_]*, not "__"-prefixed). */
bool metrics_label_name_valid(const char *s);
