/* config_schema — every key of slabwatch.yaml with its type and bounds.
 * A key added here is parsed, range-checked and reported with its position
 * by config_yaml.c without further code; its default goes to config.c. */
#include "base/config_schema.h"

#include <stddef.h>

/* Validation bounds of the sampling interval. */
#define INTERVAL_MIN_USEC (100 * USEC_PER_MSEC)
#define INTERVAL_MAX_USEC USEC_PER_HOUR

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
        KEY("root", KEY_PATH, struct config_paths, root, .max = CONFIG_PATH_MAX - 1),
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
            .min = CONFIG_CAPTURE_DURATION_MIN_USEC, .max = CONFIG_CAPTURE_DURATION_MAX_USEC),
        KEY("drain", KEY_DURATION, struct config_capture, drain_usec,
            .min = 0, .max = USEC_PER_HOUR),
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
        KEY("checkpoint", KEY_DURATION, struct config_capture, checkpoint_usec,
            .min = 0, .max = USEC_PER_HOUR),
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
const struct section config_rule_section = SECTION(rule_keys);
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

const struct section config_top_section = SECTION(top_keys);
