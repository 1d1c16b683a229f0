/* config_units — the numbers of slabwatch.yaml: durations ("1h30m",
 * "250ms"), sizes ("4MiB", 1024-based as in the kernel), whole numbers,
 * plain decimals, booleans. Internal to the config module (config.c,
 * config_schema.c, config_yaml.c); callers use config_parse_duration() and
 * the other config.h entry points. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#define ELEMENTSOF(a) (sizeof(a) / sizeof((a)[0]))

#define USEC_PER_MSEC UINT64_C(1000)
#define USEC_PER_SEC (1000 * USEC_PER_MSEC)
#define USEC_PER_MIN (60 * USEC_PER_SEC)
#define USEC_PER_HOUR (60 * USEC_PER_MIN)
#define USEC_PER_DAY (24 * USEC_PER_HOUR)
#define USEC_PER_WEEK (7 * USEC_PER_DAY)

#define KIB UINT64_C(1024)
#define MIB (1024 * KIB)
#define GIB (1024 * MIB)
#define TIB (1024 * GIB)

/* A duration such as "1h30m" → microseconds. -EINVAL or -ERANGE, and
 * *@ret_reason says why ("it is empty", "unknown unit 'x'", ...). */
int config_duration_scan(const char *s, uint64_t *ret_usec, const char **ret_reason);

/* A size such as "4MiB" or "4096" → bytes. -EINVAL or -ERANGE with a reason. */
int config_size_scan(const char *s, uint64_t *ret_bytes, const char **ret_reason);

/* A whole number, blanks around allowed. -ERANGE past UINT64_MAX, -EINVAL
 * for anything else than digits (a decimal point included). */
int config_whole_scan(const char *s, uint64_t *ret);

/* A plain decimal (no sign, no exponent), with an optional '%' after it
 * when @percent. -EINVAL, -ERANGE. */
int config_number_scan(const char *s, bool percent, double *ret);

/* true/yes/on or false/no/off, in any case. -EINVAL. */
int config_bool_scan(const char *s, bool *ret);
