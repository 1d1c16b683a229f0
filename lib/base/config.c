/* config — slabwatch.yaml: compiled-in defaults, YAML loading, validation.
 *
 * The text is read as a stream of libyaml events and matched against tables
 * of known keys as it arrives, so a node of the wrong shape is refused where
 * it starts. Nesting therefore never goes deeper than the schema (a rule
 * inside the thresholds list inside the document), whatever the input, and
 * aliases are refused, so no input can expand beyond its own size. */

#include "base/config.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <yaml.h>

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

_Static_assert(CONFIG_SOCKET_PATH_MAX == sizeof(((struct sockaddr_un *) 0)->sun_path),
               "server.socket must fit sockaddr_un");
_Static_assert(CONFIG_SOCKET_PATH_MAX <= CONFIG_PATH_MAX, "socket path field too small");

/* Digits after the decimal point that count; further ones are dropped
 * (well below a microsecond or a byte for every unit we accept). */
#define DECIMAL_FRACTION_DIGITS_MAX 9
/* Unit suffixes are short ("ms", "KiB"). */
#define UNIT_NAME_MAX 3
/* Longest piece of offending input quoted back in an error message. */
#define QUOTE_MAX 40
/* "thresholds[63].percent_per_hour" and the like. */
#define KEYPATH_MAX 96
/* Positions remembered for checks that span several keys: every scalar of
 * every section plus every key of every rule. */
#define MARKS_MAX (64 + CONFIG_RULES_MAX * 16)
/* A key table never has more entries than bits in the "seen" mask. */
#define SECTION_KEYS_MAX 64
/* Unknown keys within this edit distance of a known one get a suggestion. */
#define SUGGEST_DISTANCE_MAX 2
#define SUGGEST_NAME_MAX 32

/* Validation bounds of keys that are checked against each other. */
#define INTERVAL_MIN_USEC (100 * USEC_PER_MSEC)
#define INTERVAL_MAX_USEC USEC_PER_HOUR
/* The full-resolution tier may not hold more samples than this per cache. */
#define HISTORY_RAW_SAMPLES_MAX 86400
/* The growth fit needs at least three samples in a window. */
#define WINDOW_MIN_INTERVALS 2

/* ========================== Compiled-in defaults ==========================
 * Every default lives here and only here. config/slabwatch.yaml shows the
 * same values, and the unit tests fail if the two ever differ.
 *
 * The detection defaults were tuned on two recordings of real machines
 * (tests/fixtures/recordings: which ones, and which were held out, is in
 * its README) and follow from what a leak must do to matter in a long
 * stability test: a cache whose floor rises by 0.5 objects/s or more, for
 * 15 minutes, steadily and well above its own noise, is a leak whatever the
 * size of its objects; one that would exhaust MemAvailable within 120 days
 * (about 8 MiB/h on 24 GiB, 0.3 MiB/h on 1 GiB) needs only 3 minutes. */

static const struct config_rule default_rules[] = {
        /* Reclaimable caches (dentry, inodes, buffer heads) and those whose
         * objects live and die with them swell with use and shrink under
         * memory pressure: only a floor that rises for hours and never falls
         * back is a leak. */
        {
                .match = "*",
                .reclaimable = CONFIG_RECLAIM_YES,
                .window_usec = 12 * USEC_PER_HOUR,
                .objects_per_min = 30,
                .significance = 8,
                .steady_for_usec = 3 * USEC_PER_HOUR,
                .min_trend = 0.5,
        },
        /* Every other cache: a steady rise of half an object per second. */
        {
                .match = "*",
                .reclaimable = CONFIG_RECLAIM_ANY,
                .window_usec = USEC_PER_HOUR,
                .objects_per_min = 15,
                .significance = 6,
                .steady_for_usec = 15 * USEC_PER_MIN,
                .fast_for_usec = 3 * USEC_PER_MIN,
                .fast_exhaust_usec = 120 * USEC_PER_DAY,
                .min_trend = 0.5,
        },
};

/* A rule written in the file starts from this: the floor must rise steadily
 * for 15 minutes, 6 times above the cache's noise; no rate threshold is
 * checked until the rule sets it. */
static const struct config_rule rule_template = {
        .reclaimable = CONFIG_RECLAIM_ANY,
        .window_usec = USEC_PER_HOUR,
        .significance = 6,
        .steady_for_usec = 15 * USEC_PER_MIN,
};

static void copy_string(char *dst, size_t size, const char *src) {
        memset(dst, 0, size);
        strncpy(dst, src, size - 1);
}

void config_defaults(struct config *ret) {
        /* Zero first so that two configs holding the same values compare
         * equal byte for byte (string tails, unused rules, padding). */
        memset(ret, 0, sizeof *ret);

        ret->interval_usec = 10 * USEC_PER_SEC;
        ret->page_size = 0;

        ret->history.raw_usec = USEC_PER_HOUR;
        ret->history.minute_usec = 24 * USEC_PER_HOUR;
        ret->history.snapshot_usec = 5 * USEC_PER_MIN;
        ret->history.hour_usec = 30 * USEC_PER_DAY;

        copy_string(ret->paths.proc, sizeof ret->paths.proc, "/proc");
        copy_string(ret->paths.sys, sizeof ret->paths.sys, "/sys");
        copy_string(ret->paths.tracefs, sizeof ret->paths.tracefs, "/sys/kernel/tracing");
        copy_string(ret->paths.debugfs, sizeof ret->paths.debugfs, "/sys/kernel/debug");
        copy_string(ret->paths.dev_kmsg, sizeof ret->paths.dev_kmsg, "/dev/kmsg");
        copy_string(ret->paths.state_dir, sizeof ret->paths.state_dir, "/var/lib/slabwatch");

        memcpy(ret->rules, default_rules, sizeof default_rules);
        ret->n_rules = ELEMENTSOF(default_rules);

        ret->alert.journal = true;
        ret->alert.stderr_always = false;
        ret->alert.repeat_usec = USEC_PER_HOUR;
        ret->alert.rate_factor = 2.0;
        ret->alert.clear_usec = 10 * USEC_PER_MIN;
        ret->alert.events_log_max_bytes = 16 * MIB;

        ret->capture.enabled = true;
        ret->capture.duration_usec = 60 * USEC_PER_SEC;
        ret->capture.max_events = 20000000;
        ret->capture.max_memory_bytes = 256 * MIB;
        ret->capture.buffer_bytes_per_cpu = 16 * MIB;
        ret->capture.poll_usec = 10 * USEC_PER_MSEC;
        ret->capture.callsites_interval_usec = 10 * USEC_PER_SEC;
        ret->capture.cooldown_usec = USEC_PER_HOUR;
        ret->capture.max_concurrent = 1;
        ret->capture.disk_budget_bytes = 256 * MIB;
        ret->capture.raw_trace_max_bytes = 16 * MIB;
        ret->capture.mount_tracefs = true;

        copy_string(ret->server.socket, sizeof ret->server.socket, "/run/slabwatch/slabwatch.sock");
        copy_string(ret->server.group, sizeof ret->server.group, "slabwatch");
        ret->server.max_clients = 32;
        ret->server.max_request_bytes = 64 * KIB;
        ret->server.idle_timeout_usec = 30 * USEC_PER_SEC;

        copy_string(ret->metrics.textfile, sizeof ret->metrics.textfile, "");
}

/* ============================ Schema =================================== */

enum key_type {
        KEY_DURATION,           /* uint64_t microseconds */
        KEY_SIZE,               /* uint64_t bytes */
        KEY_PAGE_SIZE,          /* uint32_t: 0, or a power of two within min..max */
        KEY_COUNT,              /* uint64_t or unsigned, a plain whole number */
        KEY_NUMBER,             /* double, a plain decimal */
        KEY_PERCENT,            /* double, a decimal with an optional '%' */
        KEY_RATE_SIZE,          /* double, written as a size ("1MiB") */
        KEY_BOOL,               /* bool */
        KEY_RECLAIM,            /* enum config_reclaim, written as a boolean */
        KEY_PATH,               /* absolute path */
        KEY_PATH_OPTIONAL,      /* absolute path, or "" for off */
        KEY_GLOB,               /* fnmatch(3) pattern on a cache name */
        KEY_GROUP,              /* group name, or "" */
        KEY_SECTION,            /* nested mapping */
        KEY_RULES,              /* the thresholds list */
};

struct section;

struct key_def {
        const char *name;
        enum key_type type;
        size_t offset;                  /* of the field within its struct */
        size_t size;                    /* of the field */
        uint64_t min, max;              /* whole-number kinds; max length for strings */
        double dmin, dmax;              /* KEY_NUMBER, KEY_PERCENT */
        bool dmin_exclusive;
        const struct section *section;  /* KEY_SECTION */
};

struct section {
        const struct key_def *keys;
        size_t n_keys;
};

#define FIELD(st, member) .offset = offsetof(st, member), .size = sizeof(((st *) 0)->member)
#define KEY(n, t, st, member, ...) { .name = n, .type = t, FIELD(st, member), __VA_ARGS__ }
#define SECTION(keys) { keys, ELEMENTSOF(keys) }

static const struct key_def history_keys[] = {
        KEY("raw", KEY_DURATION, struct config_history, raw_usec,
            .min = USEC_PER_MIN, .max = 7 * USEC_PER_DAY),
        KEY("minute", KEY_DURATION, struct config_history, minute_usec,
            .min = 10 * USEC_PER_MIN, .max = 90 * USEC_PER_DAY),
        KEY("hour", KEY_DURATION, struct config_history, hour_usec,
            .min = USEC_PER_DAY, .max = 1000 * USEC_PER_DAY),
        KEY("snapshot", KEY_DURATION, struct config_history, snapshot_usec,
            .min = 0, .max = USEC_PER_DAY),
};

static const struct key_def paths_keys[] = {
        KEY("proc", KEY_PATH, struct config_paths, proc, .max = CONFIG_PATH_MAX - 1),
        KEY("sys", KEY_PATH, struct config_paths, sys, .max = CONFIG_PATH_MAX - 1),
        KEY("tracefs", KEY_PATH, struct config_paths, tracefs, .max = CONFIG_PATH_MAX - 1),
        KEY("debugfs", KEY_PATH, struct config_paths, debugfs, .max = CONFIG_PATH_MAX - 1),
        KEY("dev_kmsg", KEY_PATH, struct config_paths, dev_kmsg, .max = CONFIG_PATH_MAX - 1),
        KEY("state_dir", KEY_PATH, struct config_paths, state_dir, .max = CONFIG_PATH_MAX - 1),
};

static const struct key_def rule_keys[] = {
        KEY("match", KEY_GLOB, struct config_rule, match, .max = CONFIG_MATCH_MAX - 1),
        KEY("reclaimable", KEY_RECLAIM, struct config_rule, reclaimable),
        KEY("ignore", KEY_BOOL, struct config_rule, ignore),
        KEY("window", KEY_DURATION, struct config_rule, window_usec,
            .min = USEC_PER_SEC, .max = USEC_PER_DAY),
        KEY("objects_per_min", KEY_NUMBER, struct config_rule, objects_per_min,
            .dmin = 0, .dmax = 1e9),
        KEY("bytes_per_hour", KEY_RATE_SIZE, struct config_rule, bytes_per_hour,
            .min = 0, .max = TIB),
        KEY("percent_per_hour", KEY_PERCENT, struct config_rule, percent_per_hour,
            .dmin = 0, .dmax = 1e6),
        KEY("min_bytes", KEY_SIZE, struct config_rule, min_bytes, .min = 0, .max = TIB),
        KEY("significance", KEY_NUMBER, struct config_rule, significance, .dmin = 0, .dmax = 1e6),
        KEY("steady_for", KEY_DURATION, struct config_rule, steady_for_usec, .min = 0, .max = 7 * USEC_PER_DAY),
        KEY("fast_for", KEY_DURATION, struct config_rule, fast_for_usec, .min = 0, .max = 7 * USEC_PER_DAY),
        KEY("fast_exhaust", KEY_DURATION, struct config_rule, fast_exhaust_usec,
            .min = 0, .max = 10000 * USEC_PER_DAY),
        KEY("for", KEY_DURATION, struct config_rule, for_usec, .min = 0, .max = 7 * USEC_PER_DAY),
        KEY("min_trend", KEY_NUMBER, struct config_rule, min_trend, .dmin = 0, .dmax = 1),
};

static const struct key_def alert_keys[] = {
        KEY("journal", KEY_BOOL, struct config_alert, journal),
        KEY("stderr", KEY_BOOL, struct config_alert, stderr_always),
        KEY("repeat", KEY_DURATION, struct config_alert, repeat_usec,
            .min = USEC_PER_MIN, .max = 30 * USEC_PER_DAY),
        KEY("rate_factor", KEY_NUMBER, struct config_alert, rate_factor,
            .dmin = 1, .dmin_exclusive = true, .dmax = 1000),
        KEY("clear", KEY_DURATION, struct config_alert, clear_usec,
            .min = USEC_PER_SEC, .max = 7 * USEC_PER_DAY),
        KEY("events_log_max", KEY_SIZE, struct config_alert, events_log_max_bytes,
            .min = 64 * KIB, .max = 64 * GIB),
};

static const struct key_def capture_keys[] = {
        KEY("enabled", KEY_BOOL, struct config_capture, enabled),
        KEY("duration", KEY_DURATION, struct config_capture, duration_usec,
            .min = USEC_PER_SEC, .max = USEC_PER_HOUR),
        KEY("max_events", KEY_COUNT, struct config_capture, max_events,
            .min = 1, .max = UINT64_C(10000000000)),
        KEY("max_memory", KEY_SIZE, struct config_capture, max_memory_bytes,
            .min = MIB, .max = 64 * GIB),
        KEY("buffer_per_cpu", KEY_SIZE, struct config_capture, buffer_bytes_per_cpu,
            .min = 64 * KIB, .max = 2 * GIB),
        KEY("poll", KEY_DURATION, struct config_capture, poll_usec,
            .min = USEC_PER_MSEC, .max = USEC_PER_SEC),
        KEY("callsites_interval", KEY_DURATION, struct config_capture, callsites_interval_usec,
            .min = USEC_PER_SEC, .max = USEC_PER_DAY),
        KEY("cooldown", KEY_DURATION, struct config_capture, cooldown_usec,
            .min = 0, .max = 30 * USEC_PER_DAY),
        KEY("max_concurrent", KEY_COUNT, struct config_capture, max_concurrent, .min = 1, .max = 16),
        KEY("disk_budget", KEY_SIZE, struct config_capture, disk_budget_bytes,
            .min = MIB, .max = TIB),
        KEY("raw_trace_max", KEY_SIZE, struct config_capture, raw_trace_max_bytes,
            .min = 0, .max = TIB),
        KEY("mount_tracefs", KEY_BOOL, struct config_capture, mount_tracefs),
};

static const struct key_def server_keys[] = {
        KEY("socket", KEY_PATH, struct config_server, socket, .max = CONFIG_SOCKET_PATH_MAX - 1),
        KEY("group", KEY_GROUP, struct config_server, group, .max = CONFIG_GROUP_MAX - 1),
        KEY("max_clients", KEY_COUNT, struct config_server, max_clients, .min = 1, .max = 1024),
        KEY("max_request", KEY_SIZE, struct config_server, max_request_bytes,
            .min = KIB, .max = 16 * MIB),
        KEY("idle_timeout", KEY_DURATION, struct config_server, idle_timeout_usec,
            .min = USEC_PER_SEC, .max = USEC_PER_DAY),
};

static const struct key_def metrics_keys[] = {
        KEY("textfile", KEY_PATH_OPTIONAL, struct config_metrics, textfile, .max = CONFIG_PATH_MAX - 1),
};

static const struct section history_section = SECTION(history_keys);
static const struct section paths_section = SECTION(paths_keys);
static const struct section rule_section = SECTION(rule_keys);
static const struct section alert_section = SECTION(alert_keys);
static const struct section capture_section = SECTION(capture_keys);
static const struct section server_section = SECTION(server_keys);
static const struct section metrics_section = SECTION(metrics_keys);

static const struct key_def top_keys[] = {
        KEY("interval", KEY_DURATION, struct config, interval_usec,
            .min = INTERVAL_MIN_USEC, .max = INTERVAL_MAX_USEC),
        KEY("page_size", KEY_PAGE_SIZE, struct config, page_size, .min = 4 * KIB, .max = MIB),
        KEY("history", KEY_SECTION, struct config, history, .section = &history_section),
        KEY("paths", KEY_SECTION, struct config, paths, .section = &paths_section),
        KEY("thresholds", KEY_RULES, struct config, rules),
        KEY("alert", KEY_SECTION, struct config, alert, .section = &alert_section),
        KEY("capture", KEY_SECTION, struct config, capture, .section = &capture_section),
        KEY("server", KEY_SECTION, struct config, server, .section = &server_section),
        KEY("metrics", KEY_SECTION, struct config, metrics, .section = &metrics_section),
};

static const struct section top_section = SECTION(top_keys);

/* ======================== Numbers and units ============================ */

struct decimal {
        uint64_t integer;
        uint64_t fraction;              /* the first fraction_digits digits after '.' */
        unsigned fraction_digits;
        bool has_point;
};

struct unit {
        const char *name;
        uint64_t factor;
};

static const struct unit duration_units[] = {
        { "us", 1 },
        { "ms", USEC_PER_MSEC },
        { "s", USEC_PER_SEC },
        { "m", USEC_PER_MIN },
        { "h", USEC_PER_HOUR },
        { "d", USEC_PER_DAY },
        { "w", USEC_PER_WEEK },
};

/* Sizes count in powers of 1024, as the kernel does: "KB" is a KiB here. */
static const struct unit size_units[] = {
        { "", 1 },     { "b", 1 },
        { "k", KIB },  { "kb", KIB },  { "kib", KIB },
        { "m", MIB },  { "mb", MIB },  { "mib", MIB },
        { "g", GIB },  { "gb", GIB },  { "gib", GIB },
        { "t", TIB },  { "tb", TIB },  { "tib", TIB },
};

static bool is_digit(char c) {
        return c >= '0' && c <= '9';
}

static bool is_alpha(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static const char *skip_blanks(const char *s) {
        while (*s == ' ' || *s == '\t')
                s++;
        return s;
}

static uint64_t pow10_u64(unsigned n) {
        uint64_t v = 1;
        while (n-- > 0)
                v *= 10;
        return v;
}

/* "123" or "12.75" (no sign, no exponent) at *@pp. Advances *@pp past it. */
static int decimal_scan(const char **pp, struct decimal *ret) {
        const char *p = *pp;
        struct decimal d = {};
        bool overflow = false;

        if (!is_digit(*p))
                return -EINVAL;
        for (; is_digit(*p); p++)
                if (__builtin_mul_overflow(d.integer, 10, &d.integer) ||
                    __builtin_add_overflow(d.integer, (uint64_t) (*p - '0'), &d.integer))
                        overflow = true;
        if (*p == '.') {
                p++;
                if (!is_digit(*p))
                        return -EINVAL;
                d.has_point = true;
                for (; is_digit(*p); p++)
                        if (d.fraction_digits < DECIMAL_FRACTION_DIGITS_MAX) {
                                d.fraction = d.fraction * 10 + (uint64_t) (*p - '0');
                                d.fraction_digits++;
                        }
        }
        *pp = p;
        if (overflow)
                return -ERANGE;
        *ret = d;
        return 0;
}

/* @d × @factor, rounded down, without overflowing on the way. */
static int decimal_scale(const struct decimal *d, uint64_t factor, uint64_t *ret) {
        uint64_t scale = pow10_u64(d->fraction_digits);
        uint64_t whole, part;

        if (__builtin_mul_overflow(d->integer, factor, &whole))
                return -ERANGE;
        /* fraction × factor / scale, split so that nothing overflows:
         * factor = q × scale + r with r < scale ≤ 10^9, fraction < 10^9. */
        if (__builtin_mul_overflow(d->fraction, factor / scale, &part))
                return -ERANGE;
        part += d->fraction * (factor % scale) / scale;
        if (__builtin_add_overflow(whole, part, ret))
                return -ERANGE;
        return 0;
}

static double decimal_to_double(const struct decimal *d) {
        uint64_t scale = pow10_u64(d->fraction_digits);
        uint64_t mantissa;

        /* One correctly rounded division when the digits fit a double
         * exactly, so "0.6" gives the same value as the C literal 0.6. */
        if (!__builtin_mul_overflow(d->integer, scale, &mantissa) &&
            !__builtin_add_overflow(mantissa, d->fraction, &mantissa) &&
            mantissa <= (UINT64_C(1) << 53))
                return (double) mantissa / (double) scale;
        return (double) d->integer + (double) d->fraction / (double) scale;
}

/* Reads up to UNIT_NAME_MAX letters into @buf; -EINVAL if there are more. */
static int unit_scan(const char **pp, char buf[static UNIT_NAME_MAX + 1]) {
        const char *p = *pp;
        size_t n = 0;

        for (; is_alpha(*p); p++) {
                if (n >= UNIT_NAME_MAX)
                        return -EINVAL;
                buf[n++] = *p;
        }
        buf[n] = '\0';
        *pp = p;
        return 0;
}

static int duration_parse(const char *s, uint64_t *ret_usec, const char **ret_reason) {
        const char *p = skip_blanks(s);
        uint64_t total = 0;
        bool any = false;
        int r;

        if (*p == '\0') {
                *ret_reason = "it is empty";
                return -EINVAL;
        }
        while (*p != '\0') {
                struct decimal d;
                char unit[UNIT_NAME_MAX + 1];
                const struct unit *u = NULL;
                uint64_t v;

                r = decimal_scan(&p, &d);
                if (r == -ERANGE) {
                        *ret_reason = "the number is too large";
                        return r;
                }
                if (r < 0) {
                        *ret_reason = "expected a number with a unit, like 10s, 5m or 1h30m";
                        return r;
                }
                p = skip_blanks(p);
                if (unit_scan(&p, unit) < 0) {
                        *ret_reason = "unknown unit (use us, ms, s, m, h, d or w)";
                        return -EINVAL;
                }
                p = skip_blanks(p);
                if (unit[0] == '\0') {
                        /* "0" needs no unit; any other bare number could mean
                         * seconds or milliseconds, so it is refused. */
                        if (!any && *p == '\0' && d.integer == 0 && d.fraction == 0)
                                break;
                        *ret_reason = any ? "a number without a unit"
                                          : "a bare number is ambiguous: give a unit (ms, s, m, h, d or w), like 10s";
                        return -EINVAL;
                }
                for (size_t i = 0; i < ELEMENTSOF(duration_units); i++)
                        if (strcmp(unit, duration_units[i].name) == 0)
                                u = &duration_units[i];
                if (!u) {
                        *ret_reason = "unknown unit (use us, ms, s, m, h, d or w)";
                        return -EINVAL;
                }
                if (decimal_scale(&d, u->factor, &v) < 0 || __builtin_add_overflow(total, v, &total)) {
                        *ret_reason = "the duration is too long";
                        return -ERANGE;
                }
                any = true;
        }
        *ret_usec = total;
        return 0;
}

static int size_parse(const char *s, uint64_t *ret_bytes, const char **ret_reason) {
        const char *p = skip_blanks(s);
        const struct unit *u = NULL;
        char unit[UNIT_NAME_MAX + 1];
        struct decimal d;
        int r;

        r = decimal_scan(&p, &d);
        if (r == -ERANGE) {
                *ret_reason = "the number is too large";
                return r;
        }
        if (r < 0) {
                *ret_reason = "expected a size, like 4096, 64KiB or 4MiB";
                return r;
        }
        p = skip_blanks(p);
        if (unit_scan(&p, unit) < 0) {
                *ret_reason = "unknown unit (use K, KiB, M, MiB, G, GiB, T or TiB)";
                return -EINVAL;
        }
        p = skip_blanks(p);
        for (size_t i = 0; i < ELEMENTSOF(size_units); i++)
                if (strcasecmp(unit, size_units[i].name) == 0)
                        u = &size_units[i];
        if (!u || *p != '\0') {
                *ret_reason = "unknown unit (use K, KiB, M, MiB, G, GiB, T or TiB)";
                return -EINVAL;
        }
        if (d.has_point && u->factor == 1) {
                *ret_reason = "a number of bytes must be whole";
                return -EINVAL;
        }
        if (decimal_scale(&d, u->factor, ret_bytes) < 0) {
                *ret_reason = "the size is too large";
                return -ERANGE;
        }
        return 0;
}

int config_parse_duration(const char *s, uint64_t *ret_usec) {
        const char *reason;
        uint64_t v;
        int r;

        if (!s)
                return -EINVAL;
        r = duration_parse(s, &v, &reason);
        if (r < 0)
                return r;
        *ret_usec = v;
        return 0;
}

int config_parse_size(const char *s, uint64_t *ret_bytes) {
        const char *reason;
        uint64_t v;
        int r;

        if (!s)
                return -EINVAL;
        r = size_parse(s, &v, &reason);
        if (r < 0)
                return r;
        *ret_bytes = v;
        return 0;
}

const char *config_format_duration(uint64_t usec, char *buf, size_t size) {
        static const struct unit units[] = {
                { "d", USEC_PER_DAY }, { "h", USEC_PER_HOUR }, { "m", USEC_PER_MIN },
                { "s", USEC_PER_SEC }, { "ms", USEC_PER_MSEC }, { "us", 1 },
        };
        size_t n = 0;

        if (size == 0)
                return buf;
        buf[0] = '\0';
        if (usec == 0) {
                snprintf(buf, size, "0");
                return buf;
        }
        for (size_t i = 0; i < ELEMENTSOF(units) && n < size; i++) {
                uint64_t q = usec / units[i].factor;
                int k;

                if (q == 0)
                        continue;
                usec %= units[i].factor;
                k = snprintf(buf + n, size - n, "%" PRIu64 "%s", q, units[i].name);
                if (k < 0)
                        break;
                n += (size_t) k;
        }
        return buf;
}

const char *config_format_size(uint64_t bytes, char *buf, size_t size) {
        static const struct unit units[] = {
                { "TiB", TIB }, { "GiB", GIB }, { "MiB", MIB }, { "KiB", KIB },
        };

        if (size == 0)
                return buf;
        if (bytes != 0)
                for (size_t i = 0; i < ELEMENTSOF(units); i++)
                        if (bytes % units[i].factor == 0) {
                                snprintf(buf, size, "%" PRIu64 "%s", bytes / units[i].factor, units[i].name);
                                return buf;
                        }
        snprintf(buf, size, "%" PRIu64, bytes);
        return buf;
}

const char *config_error_format(const struct config_error *e, const char *path, char *buf, size_t size) {
        const char *sep = path ? ":" : "";

        if (!path)
                path = "";
        if (e->line > 0)
                snprintf(buf, size, "%s%s%u:%u: %s", path, sep, e->line, e->column, e->message);
        else
                snprintf(buf, size, "%s%s%s%s", path, sep, path[0] ? " " : "", e->message);
        return buf;
}

/* =============================== Parser ================================ */

struct mark_entry {
        size_t offset;          /* of the field within struct config */
        yaml_mark_t mark;
};

struct parser {
        yaml_parser_t yaml;
        bool yaml_initialized;
        yaml_event_t event;
        bool have_event;
        const char *buf;
        size_t len;
        struct config cfg;
        struct config_error *error;

        /* Where in the document we are, for messages: "capture.poll". */
        char keypath[KEYPATH_MAX];
        size_t keypath_len;

        /* Where each value came from, for checks that involve two keys. */
        struct mark_entry marks[MARKS_MAX];
        size_t n_marks;
        bool rules_given;
        yaml_mark_t rule_marks[CONFIG_RULES_MAX];
};

static int fail_at(struct parser *p, const yaml_mark_t *m, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Sets the error at @m (NULL: no position), prefixed with the key being
 * read, and returns -EINVAL. */
static int fail_at(struct parser *p, const yaml_mark_t *m, const char *fmt, ...) {
        char *msg = p->error->message;
        size_t n = 0;
        va_list ap;

        p->error->line = m ? (unsigned) m->line + 1 : 0;
        p->error->column = m ? (unsigned) m->column + 1 : 0;
        if (p->keypath_len > 0) {
                snprintf(msg, sizeof p->error->message, "%s: ", p->keypath);
                n = strlen(msg);
        }
        va_start(ap, fmt);
        vsnprintf(msg + n, sizeof p->error->message - n, fmt, ap);
        va_end(ap);
        return -EINVAL;
}

/* Offending input, made printable and cut short, for a message. */
static const char *quote(const char *s, size_t len, char buf[static QUOTE_MAX + 4]) {
        size_t n = 0;

        for (size_t i = 0; i < len && n < QUOTE_MAX; i++)
                buf[n++] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
        if (len > QUOTE_MAX) {
                memcpy(buf + n, "...", 3);
                n += 3;
        }
        buf[n] = '\0';
        return buf;
}

static size_t keypath_push(struct parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static size_t keypath_push(struct parser *p, const char *fmt, ...) {
        size_t old = p->keypath_len;
        va_list ap;
        int k;

        va_start(ap, fmt);
        k = vsnprintf(p->keypath + old, sizeof p->keypath - old, fmt, ap);
        va_end(ap);
        if (k > 0)
                p->keypath_len = old + (size_t) k < sizeof p->keypath ? old + (size_t) k : sizeof p->keypath - 1;
        return old;
}

static void keypath_pop(struct parser *p, size_t old) {
        p->keypath_len = old;
        p->keypath[old] = '\0';
}

static void mark_record(struct parser *p, const void *field, const yaml_mark_t *m) {
        if (p->n_marks >= ELEMENTSOF(p->marks))
                return;
        p->marks[p->n_marks++] = (struct mark_entry) {
                .offset = (size_t) ((const char *) field - (const char *) &p->cfg),
                .mark = *m,
        };
}

static const yaml_mark_t *mark_find(const struct parser *p, const void *field) {
        size_t offset = (size_t) ((const char *) field - (const char *) &p->cfg);

        for (size_t i = 0; i < p->n_marks; i++)
                if (p->marks[i].offset == offset)
                        return &p->marks[i].mark;
        return NULL;
}

/* libyaml counts from 0 and reports reader errors (bad UTF-8, control
 * characters) only as a byte offset: turn that into line:column. */
static void offset_to_position(const char *buf, size_t len, size_t offset, yaml_mark_t *ret) {
        yaml_mark_t m = {};

        for (size_t i = 0; i < offset && i < len; i++) {
                if (buf[i] == '\n') {
                        m.line++;
                        m.column = 0;
                } else if (((unsigned char) buf[i] & 0xc0) != 0x80)
                        m.column++;
        }
        m.index = offset;
        *ret = m;
}

static int fail_yaml(struct parser *p) {
        const yaml_parser_t *y = &p->yaml;
        const char *problem = y->problem ? y->problem : "malformed YAML";
        yaml_mark_t m;

        switch (y->error) {
        case YAML_MEMORY_ERROR:
                fail_at(p, NULL, "out of memory while parsing");
                return -ENOMEM;
        case YAML_READER_ERROR:
                offset_to_position(p->buf, p->len, y->problem_offset, &m);
                if (y->problem_value >= 0)
                        return fail_at(p, &m, "%s (0x%02X)", problem, (unsigned) y->problem_value);
                return fail_at(p, &m, "%s", problem);
        default:
                /* A plain "*" is an alias in YAML, the most likely surprise
                 * in a file full of globs. */
                if (y->context && strstr(y->context, "alias"))
                        return fail_at(p, &y->problem_mark,
                                       "%s: %s (a glob starting with '*' must be quoted, like match: \"*\")",
                                       y->context, problem);
                if (y->context)
                        return fail_at(p, &y->problem_mark, "%s: %s", y->context, problem);
                return fail_at(p, &y->problem_mark, "%s", problem);
        }
}

static int next_event(struct parser *p) {
        if (p->have_event) {
                yaml_event_delete(&p->event);
                p->have_event = false;
        }
        if (!yaml_parser_parse(&p->yaml, &p->event))
                return fail_yaml(p);
        p->have_event = true;
        if (p->event.type == YAML_ALIAS_EVENT) {
                char q[QUOTE_MAX + 4];
                const char *anchor = (const char *) p->event.data.alias.anchor;

                return fail_at(p, &p->event.start_mark,
                               "aliases (*%s) are not supported; a glob starting with '*' must be quoted",
                               quote(anchor, strlen(anchor), q));
        }
        return 0;
}

static const char *event_kind(const yaml_event_t *e) {
        switch (e->type) {
        case YAML_SCALAR_EVENT:
                return "a single value";
        case YAML_SEQUENCE_START_EVENT:
                return "a list";
        case YAML_MAPPING_START_EVENT:
                return "a mapping";
        default:
                return "nothing";
        }
}

static bool event_is_null(const yaml_event_t *e) {
        const char *v;

        if (e->type != YAML_SCALAR_EVENT || e->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
                return false;
        v = (const char *) e->data.scalar.value;
        return v[0] == '\0' || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 ||
                strcmp(v, "Null") == 0 || strcmp(v, "NULL") == 0;
}

static const char *type_expectation(const struct key_def *def) {
        switch (def->type) {
        case KEY_DURATION:
                return "a duration (like 10s, 5m or 1h30m)";
        case KEY_SIZE:
        case KEY_RATE_SIZE:
                return "a size (like 4096, 64KiB or 4MiB)";
        case KEY_PAGE_SIZE:
                return "a page size (like 4KiB, or 0 for the running system's)";
        case KEY_COUNT:
                return "a whole number";
        case KEY_NUMBER:
                return "a number";
        case KEY_PERCENT:
                return "a percentage (like 50 or 50%)";
        case KEY_BOOL:
        case KEY_RECLAIM:
                return "true or false";
        case KEY_PATH:
                return "an absolute path";
        case KEY_PATH_OPTIONAL:
                return "an absolute path or \"\"";
        case KEY_GLOB:
                return "a glob (like \"kmalloc-*\")";
        case KEY_GROUP:
                return "a group name";
        case KEY_SECTION:
                return "a mapping of keys";
        case KEY_RULES:
                return "a list of rules";
        }
        return "a value";
}

_Static_assert(sizeof(unsigned) == sizeof(uint32_t), "unsigned fields are stored as uint32_t");

static void store_uint(void *field, size_t size, uint64_t v) {
        if (size == sizeof(uint32_t)) {
                uint32_t v32 = (uint32_t) v;
                memcpy(field, &v32, sizeof v32);
        } else
                memcpy(field, &v, sizeof v);
}

static int parse_bool(const char *v, bool *ret) {
        static const char *const yes[] = { "true", "yes", "on" };
        static const char *const no[] = { "false", "no", "off" };

        for (size_t i = 0; i < ELEMENTSOF(yes); i++) {
                if (strcasecmp(v, yes[i]) == 0) {
                        *ret = true;
                        return 0;
                }
                if (strcasecmp(v, no[i]) == 0) {
                        *ret = false;
                        return 0;
                }
        }
        return -EINVAL;
}

/* A plain decimal, with an optional '%' when @percent. */
static int number_parse(const char *v, bool percent, double *ret) {
        const char *s = skip_blanks(v);
        struct decimal d;
        int r;

        r = decimal_scan(&s, &d);
        if (r < 0)
                return r;
        s = skip_blanks(s);
        if (percent && *s == '%')
                s = skip_blanks(s + 1);
        if (*s != '\0')
                return -EINVAL;
        *ret = decimal_to_double(&d);
        return 0;
}

static bool group_name_valid(const char *v) {
        if (v[0] == '-')
                return false;
        for (const char *s = v; *s; s++)
                if (!is_alpha(*s) && !is_digit(*s) && *s != '_' && *s != '-' && *s != '.')
                        return false;
        return true;
}

static int parse_scalar(struct parser *p, const struct key_def *def, void *field) {
        const yaml_event_t *e = &p->event;
        const yaml_mark_t *m = &e->start_mark;
        const char *v = (const char *) e->data.scalar.value;
        size_t len = e->data.scalar.length;
        const char *reason = "";
        char q[QUOTE_MAX + 4], lo[32], hi[32];
        uint64_t u;
        double d;
        bool b;
        int r;

        if (memchr(v, '\0', len))
                return fail_at(p, m, "contains a NUL character");
        if (event_is_null(e) && def->type != KEY_PATH_OPTIONAL && def->type != KEY_GROUP)
                return fail_at(p, m, "expected %s, got nothing", type_expectation(def));
        quote(v, len, q);

        switch (def->type) {
        case KEY_DURATION:
                r = duration_parse(v, &u, &reason);
                if (r < 0)
                        return fail_at(p, m, "'%s' is not a valid duration: %s", q, reason);
                if (u < def->min || u > def->max)
                        return fail_at(p, m, "%s is out of range (%s..%s)", q,
                                       config_format_duration(def->min, lo, sizeof lo),
                                       config_format_duration(def->max, hi, sizeof hi));
                store_uint(field, def->size, u);
                return 0;

        case KEY_SIZE:
        case KEY_RATE_SIZE:
        case KEY_PAGE_SIZE:
                r = size_parse(v, &u, &reason);
                if (r < 0)
                        return fail_at(p, m, "'%s' is not a valid size: %s", q, reason);
                if (def->type == KEY_PAGE_SIZE) {
                        if (u != 0 && (u < def->min || u > def->max || (u & (u - 1)) != 0))
                                return fail_at(p, m, "%s must be 0 (the running system's) or a power of two from %s to %s", q,
                                               config_format_size(def->min, lo, sizeof lo),
                                               config_format_size(def->max, hi, sizeof hi));
                } else if (u < def->min || u > def->max)
                        return fail_at(p, m, "%s is out of range (%s..%s)", q,
                                       config_format_size(def->min, lo, sizeof lo),
                                       config_format_size(def->max, hi, sizeof hi));
                if (def->type == KEY_RATE_SIZE) {
                        d = (double) u;
                        memcpy(field, &d, sizeof d);
                } else
                        store_uint(field, def->size, u);
                return 0;

        case KEY_COUNT: {
                const char *s = skip_blanks(v);
                struct decimal dec;

                r = decimal_scan(&s, &dec);
                if (r == -ERANGE)
                        return fail_at(p, m, "%s is out of range (%" PRIu64 "..%" PRIu64 ")", q, def->min, def->max);
                if (r < 0 || dec.has_point || *skip_blanks(s) != '\0')
                        return fail_at(p, m, "'%s' is not a whole number", q);
                if (dec.integer < def->min || dec.integer > def->max)
                        return fail_at(p, m, "%s is out of range (%" PRIu64 "..%" PRIu64 ")", q, def->min, def->max);
                store_uint(field, def->size, dec.integer);
                return 0;
        }

        case KEY_NUMBER:
        case KEY_PERCENT:
                r = number_parse(v[0] == '-' ? v + 1 : v, def->type == KEY_PERCENT, &d);
                if (r == -EINVAL)
                        return fail_at(p, m, "'%s' is not %s", q, type_expectation(def));
                if (v[0] == '-' && d != 0)
                        d = -d;
                if (r < 0 || d > def->dmax || d < def->dmin || (def->dmin_exclusive && d <= def->dmin)) {
                        if (def->dmin_exclusive)
                                return fail_at(p, m, "%s must be greater than %g and at most %g", q, def->dmin, def->dmax);
                        return fail_at(p, m, "%s is out of range (%g..%g)", q, def->dmin, def->dmax);
                }
                memcpy(field, &d, sizeof d);
                return 0;

        case KEY_BOOL:
        case KEY_RECLAIM:
                if (parse_bool(v, &b) < 0)
                        return fail_at(p, m, "'%s' is not a boolean (true/false, yes/no, on/off)", q);
                if (def->type == KEY_RECLAIM) {
                        enum config_reclaim rc = b ? CONFIG_RECLAIM_YES : CONFIG_RECLAIM_NO;
                        memcpy(field, &rc, sizeof rc);
                } else
                        memcpy(field, &b, sizeof b);
                return 0;

        case KEY_PATH:
        case KEY_PATH_OPTIONAL:
                if (def->type == KEY_PATH_OPTIONAL && (len == 0 || event_is_null(e))) {
                        memset(field, 0, def->size);
                        return 0;
                }
                if (v[0] != '/')
                        return fail_at(p, m, "'%s' is not an absolute path", q);
                if (len > def->max)
                        return fail_at(p, m, "the path is longer than %" PRIu64 " bytes", def->max);
                copy_string(field, def->size, v);
                return 0;

        case KEY_GLOB:
                if (len == 0)
                        return fail_at(p, m, "the glob is empty (\"*\" matches every cache)");
                if (len > def->max)
                        return fail_at(p, m, "the glob is longer than %" PRIu64 " bytes", def->max);
                if (strpbrk(v, " \t\r\n\v\f"))
                        return fail_at(p, m, "'%s' contains whitespace, which no cache name has", q);
                copy_string(field, def->size, v);
                return 0;

        case KEY_GROUP:
                if (len == 0 || event_is_null(e)) {
                        memset(field, 0, def->size);
                        return 0;
                }
                if (len > def->max)
                        return fail_at(p, m, "the group name is longer than %" PRIu64 " bytes", def->max);
                if (!group_name_valid(v))
                        return fail_at(p, m, "'%s' is not a valid group name", q);
                copy_string(field, def->size, v);
                return 0;

        case KEY_SECTION:
        case KEY_RULES:
                break;
        }
        return fail_at(p, m, "expected %s", type_expectation(def));
}

static unsigned edit_distance(const char *a, size_t la, const char *b) {
        unsigned row[SUGGEST_NAME_MAX + 1];
        size_t lb = strlen(b);

        if (la > SUGGEST_NAME_MAX || lb > SUGGEST_NAME_MAX)
                return UINT32_MAX;
        for (size_t j = 0; j <= lb; j++)
                row[j] = (unsigned) j;
        for (size_t i = 1; i <= la; i++) {
                unsigned diag = row[0];

                row[0] = (unsigned) i;
                for (size_t j = 1; j <= lb; j++) {
                        unsigned up = row[j];
                        unsigned best = diag + (a[i - 1] != b[j - 1]);

                        if (up + 1 < best)
                                best = up + 1;
                        if (row[j - 1] + 1 < best)
                                best = row[j - 1] + 1;
                        row[j] = best;
                        diag = up;
                }
        }
        return row[lb];
}

static int fail_unknown_key(struct parser *p, const struct section *s, const char *key, size_t len,
                            const yaml_mark_t *m) {
        const char *suggestion = NULL;
        unsigned best = SUGGEST_DISTANCE_MAX + 1;
        char q[QUOTE_MAX + 4];

        for (size_t i = 0; i < s->n_keys; i++) {
                unsigned dist = edit_distance(key, len, s->keys[i].name);

                if (dist < best && dist < strlen(s->keys[i].name)) {
                        best = dist;
                        suggestion = s->keys[i].name;
                }
        }
        quote(key, len, q);
        if (suggestion)
                return fail_at(p, m, "unknown key '%s' (did you mean '%s'?)", q, suggestion);
        return fail_at(p, m, "unknown key '%s'", q);
}

static int parse_rules(struct parser *p);

static int parse_mapping(struct parser *p, const struct section *s, void *base);

static int parse_value(struct parser *p, const struct key_def *def, void *field) {
        const yaml_event_t *e = &p->event;
        int r;

        switch (def->type) {
        case KEY_SECTION:
                if (e->type == YAML_MAPPING_START_EVENT)
                        return parse_mapping(p, def->section, field);
                /* "history:" with every sub-key commented out. */
                if (event_is_null(e))
                        return 0;
                return fail_at(p, &e->start_mark, "expected a mapping of keys, got %s", event_kind(e));
        case KEY_RULES:
                return parse_rules(p);
        default:
                if (e->type != YAML_SCALAR_EVENT)
                        return fail_at(p, &e->start_mark, "expected %s, got %s", type_expectation(def), event_kind(e));
                r = parse_scalar(p, def, field);
                if (r < 0)
                        return r;
                mark_record(p, field, &e->start_mark);
                return 0;
        }
}

/* Called with the MAPPING-START event current; returns after its end. */
static int parse_mapping(struct parser *p, const struct section *s, void *base) {
        yaml_mark_t first[SECTION_KEYS_MAX];
        uint64_t seen = 0;
        int r;

        for (;;) {
                const struct key_def *def = NULL;
                const char *key;
                yaml_mark_t key_mark;
                size_t key_len, i, old;

                r = next_event(p);
                if (r < 0)
                        return r;
                if (p->event.type == YAML_MAPPING_END_EVENT)
                        return 0;
                if (p->event.type != YAML_SCALAR_EVENT)
                        return fail_at(p, &p->event.start_mark, "expected a key name, got %s", event_kind(&p->event));

                key = (const char *) p->event.data.scalar.value;
                key_len = p->event.data.scalar.length;
                key_mark = p->event.start_mark;
                for (i = 0; i < s->n_keys && i < SECTION_KEYS_MAX; i++)
                        if (strlen(s->keys[i].name) == key_len && memcmp(s->keys[i].name, key, key_len) == 0) {
                                def = &s->keys[i];
                                break;
                        }
                if (!def)
                        return fail_unknown_key(p, s, key, key_len, &key_mark);
                if (seen & (UINT64_C(1) << i))
                        return fail_at(p, &key_mark, "duplicate key '%s' (first given at line %zu)",
                                       def->name, first[i].line + 1);
                seen |= UINT64_C(1) << i;
                first[i] = key_mark;

                old = keypath_push(p, "%s%s", p->keypath_len > 0 ? "." : "", def->name);
                r = next_event(p);
                if (r < 0)
                        return r;
                r = parse_value(p, def, (char *) base + def->offset);
                if (r < 0)
                        return r;
                keypath_pop(p, old);
        }
}

/* An earlier rule takes every cache a later one could match. Only the
 * certain cases: the earlier glob is "*" or the same glob. */
static bool rule_shadows(const struct config_rule *a, const struct config_rule *b) {
        if (strcmp(a->match, "*") != 0 && strcmp(a->match, b->match) != 0)
                return false;
        return a->reclaimable == CONFIG_RECLAIM_ANY || a->reclaimable == b->reclaimable;
}

static int check_rule(struct parser *p, size_t i) {
        const struct config_rule *rule = &p->cfg.rules[i];
        const yaml_mark_t *m = &p->rule_marks[i];

        if (!mark_find(p, rule->match))
                return fail_at(p, m, "a rule needs match: (a glob like \"*\" or \"kmalloc-*\")");
        if (!rule->ignore && rule->objects_per_min == 0 && rule->bytes_per_hour == 0 && rule->percent_per_hour == 0 &&
            rule->significance == 0)
                return fail_at(p, m,
                               "rule \"%s\" sets none of objects_per_min, bytes_per_hour, percent_per_hour and "
                               "significance; set one, or ignore: true",
                               rule->match);
        if (rule->fast_exhaust_usec > 0 && rule->fast_for_usec == 0)
                return fail_at(p, mark_find(p, &rule->fast_exhaust_usec) ?: m,
                               "rule \"%s\": fast_exhaust needs fast_for (how long a fast rise must last)",
                               rule->match);
        for (size_t j = 0; j < i; j++)
                if (rule_shadows(&p->cfg.rules[j], rule))
                        return fail_at(p, m, "rule \"%s\" can never match: thresholds[%zu] (\"%s\") comes first and takes every cache it would",
                                       rule->match, j, p->cfg.rules[j].match);
        return 0;
}

/* Called with the value of `thresholds` current; returns after its end. */
static int parse_rules(struct parser *p) {
        struct config *c = &p->cfg;
        yaml_mark_t list_mark = p->event.start_mark;
        int r;

        if (event_is_null(&p->event))
                return fail_at(p, &list_mark, "the list is empty; to keep some caches from alerting, give a rule with ignore: true");
        if (p->event.type != YAML_SEQUENCE_START_EVENT)
                return fail_at(p, &list_mark, "expected a list of rules (- match: ...), got %s", event_kind(&p->event));

        memset(c->rules, 0, sizeof c->rules);
        c->n_rules = 0;
        p->rules_given = true;
        for (;;) {
                struct config_rule *rule;
                size_t old;

                r = next_event(p);
                if (r < 0)
                        return r;
                if (p->event.type == YAML_SEQUENCE_END_EVENT)
                        break;
                if (c->n_rules >= CONFIG_RULES_MAX)
                        return fail_at(p, &p->event.start_mark, "more than %d rules", CONFIG_RULES_MAX);

                old = keypath_push(p, "[%zu]", c->n_rules);
                if (p->event.type != YAML_MAPPING_START_EVENT)
                        return fail_at(p, &p->event.start_mark, "expected a rule (a mapping with match: and thresholds), got %s",
                                       event_kind(&p->event));
                rule = &c->rules[c->n_rules];
                memcpy(rule, &rule_template, sizeof *rule);
                p->rule_marks[c->n_rules] = p->event.start_mark;
                r = parse_mapping(p, &rule_section, rule);
                if (r < 0)
                        return r;
                r = check_rule(p, c->n_rules);
                if (r < 0)
                        return r;
                keypath_pop(p, old);
                c->n_rules++;
        }
        if (c->n_rules == 0)
                return fail_at(p, &list_mark, "the list is empty; to keep some caches from alerting, give a rule with ignore: true");
        return 0;
}

static int parse_stream(struct parser *p) {
        int r;

        r = next_event(p);              /* STREAM-START */
        if (r < 0)
                return r;
        r = next_event(p);
        if (r < 0)
                return r;
        if (p->event.type == YAML_STREAM_END_EVENT)
                return 0;               /* empty, or only comments: all defaults */

        r = next_event(p);              /* the document's root node */
        if (r < 0)
                return r;
        if (p->event.type == YAML_MAPPING_START_EVENT) {
                r = parse_mapping(p, &top_section, &p->cfg);
                if (r < 0)
                        return r;
        } else if (!event_is_null(&p->event))
                return fail_at(p, &p->event.start_mark, "the top level must be a mapping of keys (like interval: 10s), got %s",
                               event_kind(&p->event));

        r = next_event(p);              /* DOCUMENT-END */
        if (r < 0)
                return r;
        r = next_event(p);
        if (r < 0)
                return r;
        if (p->event.type != YAML_STREAM_END_EVENT)
                return fail_at(p, &p->event.start_mark, "only one YAML document is allowed");
        return 0;
}

/* Checks between keys, once all of them are known. The position is that of
 * the key most likely to need the change. */
static int validate(struct parser *p) {
        const struct config *c = &p->cfg;
        const yaml_mark_t *interval_mark = mark_find(p, &c->interval_usec);
        const yaml_mark_t *raw_mark = mark_find(p, &c->history.raw_usec);
        char a[32], b[32];

        if (c->history.raw_usec / c->interval_usec > HISTORY_RAW_SAMPLES_MAX)
                return fail_at(p, raw_mark ?: interval_mark,
                               "history.raw (%s) would keep more than %d samples per cache at interval %s",
                               config_format_duration(c->history.raw_usec, a, sizeof a), HISTORY_RAW_SAMPLES_MAX,
                               config_format_duration(c->interval_usec, b, sizeof b));

        for (size_t i = 0; i < c->n_rules; i++) {
                const struct config_rule *rule = &c->rules[i];
                const yaml_mark_t *window_mark = mark_find(p, &rule->window_usec);
                const yaml_mark_t *rule_mark = p->rules_given ? &p->rule_marks[i] : NULL;
                char name[48];

                if (p->rules_given)
                        snprintf(name, sizeof name, "thresholds[%zu]", i);
                else
                        snprintf(name, sizeof name, "the default rule %zu", i);

                if (rule->window_usec < WINDOW_MIN_INTERVALS * c->interval_usec)
                        return fail_at(p, window_mark ?: rule_mark ?: interval_mark,
                                       "%s: window %s must be at least %d × interval (%d × %s)%s", name,
                                       config_format_duration(rule->window_usec, a, sizeof a), WINDOW_MIN_INTERVALS,
                                       WINDOW_MIN_INTERVALS, config_format_duration(c->interval_usec, b, sizeof b),
                                       p->rules_given ? "" : "; give thresholds with longer windows");
                if (rule->window_usec > c->history.raw_usec && rule->window_usec > c->history.minute_usec)
                        return fail_at(p, window_mark ?: rule_mark ?: mark_find(p, &c->history.minute_usec),
                                       "%s: window %s must not be longer than history.minute (%s), the span the floor test reads%s",
                                       name, config_format_duration(rule->window_usec, a, sizeof a),
                                       config_format_duration(c->history.minute_usec, b, sizeof b),
                                       p->rules_given ? "" : "; give thresholds with shorter windows");
                if (rule->steady_for_usec > rule->window_usec || rule->fast_for_usec > rule->window_usec)
                        return fail_at(p, mark_find(p, &rule->steady_for_usec) ?: window_mark ?: rule_mark ?: interval_mark,
                                       "%s: steady_for and fast_for must not be longer than window (%s): the rise is looked for within it",
                                       name, config_format_duration(rule->window_usec, a, sizeof a));
        }

        if (c->capture.raw_trace_max_bytes > c->capture.disk_budget_bytes)
                return fail_at(p, mark_find(p, &c->capture.raw_trace_max_bytes) ?: mark_find(p, &c->capture.disk_budget_bytes),
                               "capture.raw_trace_max (%s) must not exceed capture.disk_budget (%s)",
                               config_format_size(c->capture.raw_trace_max_bytes, a, sizeof a),
                               config_format_size(c->capture.disk_budget_bytes, b, sizeof b));
        return 0;
}

static void set_error(struct config_error *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void set_error(struct config_error *e, const char *fmt, ...) {
        va_list ap;

        e->line = e->column = 0;
        va_start(ap, fmt);
        vsnprintf(e->message, sizeof e->message, fmt, ap);
        va_end(ap);
}

int config_parse(const char *buf, size_t len, struct config *ret, struct config_error *ret_error) {
        struct config_error scratch;
        struct config_error *e = ret_error ?: &scratch;
        struct parser *p;
        int r;

        memset(e, 0, sizeof *e);
        if (len > CONFIG_FILE_MAX) {
                set_error(e, "larger than %d bytes", CONFIG_FILE_MAX);
                return -EFBIG;
        }
        if (!buf && len > 0) {
                set_error(e, "no text to parse");
                return -EINVAL;
        }

        /* The working copy is large (paths, rules): keep it off the stack. */
        p = calloc(1, sizeof *p);
        if (!p) {
                set_error(e, "out of memory");
                return -ENOMEM;
        }
        p->error = e;
        p->buf = buf ? buf : "";
        p->len = len;
        config_defaults(&p->cfg);

        if (!yaml_parser_initialize(&p->yaml)) {
                set_error(e, "out of memory");
                r = -ENOMEM;
                goto finish;
        }
        p->yaml_initialized = true;
        yaml_parser_set_input_string(&p->yaml, (const unsigned char *) p->buf, len);

        r = parse_stream(p);
        if (r >= 0)
                r = validate(p);
        if (r >= 0)
                memcpy(ret, &p->cfg, sizeof *ret);

finish:
        if (p->have_event)
                yaml_event_delete(&p->event);
        if (p->yaml_initialized)
                yaml_parser_delete(&p->yaml);
        free(p);
        return r < 0 ? r : 0;
}

int config_load_file(const char *path, struct config *ret, struct config_error *ret_error) {
        struct config_error scratch;
        struct config_error *e = ret_error ?: &scratch;
        size_t len = 0, cap = 4096;
        char *buf = NULL;
        struct stat st;
        int fd, r;

        memset(e, 0, sizeof *e);
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0) {
                r = -errno;
                set_error(e, "cannot open: %s", strerror(-r));
                return r;
        }
        if (fstat(fd, &st) < 0) {
                r = -errno;
                set_error(e, "cannot stat: %s", strerror(-r));
                goto finish;
        }
        if (S_ISDIR(st.st_mode)) {
                r = -EISDIR;
                set_error(e, "is a directory");
                goto finish;
        }
        /* Size the buffer from the file when it tells us, but trust only the
         * bytes actually read: /proc-like files report 0. */
        if (S_ISREG(st.st_mode) && st.st_size > 0 && (uint64_t) st.st_size <= CONFIG_FILE_MAX)
                cap = (size_t) st.st_size + 1;
        for (;;) {
                ssize_t n;

                if (!buf || len == cap) {
                        char *nbuf;

                        if (buf) {
                                if (cap > CONFIG_FILE_MAX) {
                                        r = -EFBIG;
                                        set_error(e, "larger than %d bytes", CONFIG_FILE_MAX);
                                        goto finish;
                                }
                                cap = cap * 2 > (size_t) CONFIG_FILE_MAX + 1 ? (size_t) CONFIG_FILE_MAX + 1 : cap * 2;
                        }
                        nbuf = realloc(buf, cap);
                        if (!nbuf) {
                                r = -ENOMEM;
                                set_error(e, "out of memory");
                                goto finish;
                        }
                        buf = nbuf;
                }
                n = read(fd, buf + len, cap - len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        r = -errno;
                        set_error(e, "cannot read: %s", strerror(-r));
                        goto finish;
                }
                if (n == 0)
                        break;
                len += (size_t) n;
        }
        r = config_parse(buf, len, ret, e);

finish:
        free(buf);
        close(fd);
        return r;
}

const struct config_rule *config_rule_for(const struct config *c, const char *cache_name, bool reclaimable) {
        for (size_t i = 0; i < c->n_rules && i < CONFIG_RULES_MAX; i++) {
                const struct config_rule *rule = &c->rules[i];

                if (rule->reclaimable == CONFIG_RECLAIM_YES && !reclaimable)
                        continue;
                if (rule->reclaimable == CONFIG_RECLAIM_NO && reclaimable)
                        continue;
                if (fnmatch(rule->match, cache_name, 0) == 0)
                        return rule;
        }
        return NULL;
}
