/* config — slabwatch.yaml: compiled-in defaults, YAML loading, validation.
 * config.c holds the defaults (default_rules) and config_rule_for(),
 * config_schema.c the key tables, config_yaml.c the parser, config_units.c
 * durations and sizes. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONFIG_RULES_MAX 64
#define CONFIG_PATH_MAX 4096
#define CONFIG_MATCH_MAX 128
#define CONFIG_ERROR_MAX 512
/* Longest server.group name kept (NUL included). */
#define CONFIG_GROUP_MAX 64
/* server.socket must fit sockaddr_un.sun_path (NUL included). */
#define CONFIG_SOCKET_PATH_MAX 108
/* A configuration file larger than this is refused before parsing. */
#define CONFIG_FILE_MAX (1024 * 1024)
/* capture.duration, and `arm --duration` (client and daemon alike): a
 * capture traces at least a second and at most an hour. */
#define CONFIG_CAPTURE_DURATION_MIN_USEC (UINT64_C(1000000))
#define CONFIG_CAPTURE_DURATION_MAX_USEC (UINT64_C(3600) * 1000000)

/* Which caches a rule applies to besides its glob. */
enum config_reclaim {
        CONFIG_RECLAIM_ANY,     /* rule key absent */
        CONFIG_RECLAIM_YES,     /* reclaimable: true — only reclaim_account=1 caches */
        CONFIG_RECLAIM_NO,      /* reclaimable: false */
};

/* One entry of the `thresholds` list. A threshold left at 0 is not checked;
 * every threshold that is set must be met for the rule to hold. Growth is
 * the rise of the cache's floor (caches/floor.h): what it kept, not what it
 * churned. */
struct config_rule {
        char match[CONFIG_MATCH_MAX];   /* fnmatch(3) glob on the slabinfo name */
        enum config_reclaim reclaimable;
        bool ignore;                    /* matching caches are never tripped */
        uint64_t window_usec;           /* how far back the floor is looked at */
        double objects_per_min;         /* floor growth of active_objs */
        double bytes_per_hour;          /* floor growth of the cache's memory */
        double percent_per_hour;        /* growth relative to the level it rose from */
        uint64_t min_bytes;             /* cache must be at least this big */
        double significance;            /* rise at least this many times the cache's own noise */
        uint64_t steady_for_usec;       /* the rise must have lasted this long... */
        uint64_t fast_for_usec;         /* ...or only this long when it would exhaust */
        uint64_t fast_exhaust_usec;     /* all of MemTotal within this (0 = no fast path) */
        uint64_t for_usec;              /* the rule must hold this long before a trip */
        double min_trend;               /* Kendall tau of the floor over the rise, 0..1 */
};

struct config_history {
        uint64_t raw_usec;      /* span at full resolution (default 1h) */
        uint64_t minute_usec;   /* span at 1-minute buckets (default 24h) */
        uint64_t hour_usec;     /* span at 1-hour buckets (default 30d) */
        uint64_t snapshot_usec; /* history saved to state_dir this often (5m); 0 = never */
};

/* Every host path lies under root unless its own key is given: loading a
 * file composes the rest from paths.root (config_set_root() does the same
 * for a config built in code). server.socket is composed the same way. */
struct config_paths {
        char root[CONFIG_PATH_MAX];       /* / */
        char proc[CONFIG_PATH_MAX];       /* /proc */
        char sys[CONFIG_PATH_MAX];        /* /sys */
        char tracefs[CONFIG_PATH_MAX];    /* /sys/kernel/tracing */
        char debugfs[CONFIG_PATH_MAX];    /* /sys/kernel/debug */
        char dev_kmsg[CONFIG_PATH_MAX];   /* /dev/kmsg */
        char state_dir[CONFIG_PATH_MAX];  /* /var/lib/slabwatch */
};

struct config_alert {
        bool journal;                   /* send to journald when it is there */
        bool stderr_always;             /* also print every alert on stderr */
        uint64_t repeat_usec;           /* cool-down before the same trip alerts again (1h) */
        double rate_factor;             /* re-alert at once when the rate grows this much (2.0) */
        uint64_t clear_usec;            /* no growth this long before "cleared" (10m) */
        uint64_t events_log_max_bytes;  /* events.log rotated past this (16MiB) */
};

/* capture.drain left unset: the capture manager drains for 20 % of capture.duration. */
#define CONFIG_DRAIN_AUTO UINT64_MAX

struct config_capture {
        bool enabled;                   /* capture on trip (default true) */
        uint64_t duration_usec;         /* stack tracing time per capture (60s) */
        uint64_t drain_usec;            /* frees-only tracing after it; CONFIG_DRAIN_AUTO */
        uint64_t max_events;            /* stop tracing after this many events (20M) */
        uint64_t max_memory_bytes;      /* aggregation memory cap per capture (256MiB) */
        uint64_t buffer_bytes_per_cpu;  /* tracefs ring buffer per CPU (16MiB) */
        uint64_t poll_usec;             /* ring buffer drain period (10ms) */
        uint64_t callsites_interval_usec; /* min gap between call-site reads (10s) */
        uint64_t checkpoint_usec;       /* a running capture saved into its bundle this often (5s), 0 = never */
        uint64_t cooldown_usec;         /* before the same cache is captured again (1h) */
        unsigned max_concurrent;        /* captures at once, all caches (1) */
        uint64_t disk_budget_bytes;     /* captures/ rotated past this (256MiB) */
        uint64_t raw_trace_max_bytes;   /* raw.trace kept in a bundle, in memory while tracing (32MiB) */
        bool mount_tracefs;             /* mount tracefs if missing (true) */
};

struct config_server {
        char socket[CONFIG_PATH_MAX];   /* /run/slabwatch/slabwatch.sock */
        char group[CONFIG_GROUP_MAX];   /* read access (slabwatch); "" = root only */
        unsigned max_clients;           /* 32 */
        uint64_t max_request_bytes;     /* 64KiB */
        uint64_t idle_timeout_usec;     /* 30s */
};

struct config_metrics {
        char textfile[CONFIG_PATH_MAX]; /* node_exporter textfile path; "" = off */
};

struct config {
        uint64_t interval_usec;         /* sampling period (10s) */
        uint32_t page_size;             /* 0 = the running system's */
        struct config_history history;
        struct config_paths paths;
        struct config_rule rules[CONFIG_RULES_MAX];
        size_t n_rules;
        struct config_alert alert;
        struct config_capture capture;
        struct config_server server;
        struct config_metrics metrics;
};

/* Where a load failed: 1-based line and column of the YAML node, 0 if none. */
struct config_error {
        unsigned line;
        unsigned column;
        char message[CONFIG_ERROR_MAX];
};

/* Fill @ret with the compiled-in defaults (the values config/slabwatch.yaml shows). */
void config_defaults(struct config *ret);

/* Parse YAML text: keys absent from it keep their defaults; a `thresholds`
 * list replaces the default rules whole. On error returns -EINVAL (-EFBIG if
 * @len exceeds CONFIG_FILE_MAX, -ENOMEM) and fills @ret_error (position of
 * the offending node); @ret is only written on success. */
int config_parse(const char *buf, size_t len, struct config *ret, struct config_error *ret_error);

/* Read @path and config_parse() it. -errno of the read (with a message) or of
 * the parse: -EISDIR, -REGFILE_ENOTREG (base/regfile.h) for a FIFO, socket or
 * device — refused without blocking —, -EFBIG past CONFIG_FILE_MAX. */
int config_load_file(const char *path, struct config *ret, struct config_error *ret_error);

/* The file slabwatchd reads when no -c names one. */
#define CONFIG_DEFAULT_PATH SLABWATCH_SYSCONFDIR "/slabwatch/slabwatch.yaml"

/* Where the configuration comes from. A file the user named must be there;
 * a file at the default location may be absent: then the built-in defaults
 * apply. */
struct config_source {
        char path[CONFIG_PATH_MAX];
        bool named;             /* given by the user (-c), not the default location */
};

/* @path as named by the user, or NULL for CONFIG_DEFAULT_PATH. -ENAMETOOLONG. */
int config_source_init(struct config_source *ret, const char *path);

/* The one load policy, used at start, on SIGHUP and for the socket's
 * `reload`: config_load_file(@src->path), except that a missing file at the
 * default location fills @ret with the defaults and returns 0 with
 * *@ret_defaults true (@ret_defaults may be NULL). */
int config_load(const struct config_source *src, struct config *ret, bool *ret_defaults,
                struct config_error *ret_error);

/* Set paths.root to @root and compose every host path under it (proc, sys,
 * tracefs, debugfs, dev_kmsg, state_dir, server.socket), overriding what
 * they held: for a config built in code, such as a test's fake tree.
 * -EINVAL if @root is not absolute, -ENAMETOOLONG if a path does not fit
 * (server.socket: CONFIG_SOCKET_PATH_MAX). */
int config_set_root(struct config *c, const char *root);

/* The first rule matching @cache_name (with @reclaimable as read from sysfs),
 * or NULL. First match wins. */
const struct config_rule *config_rule_for(const struct config *c, const char *cache_name, bool reclaimable);

/* "10s", "5m", "1h30m", "2d", "250ms", "1.5h" → microseconds. -EINVAL, -ERANGE. */
int config_parse_duration(const char *s, uint64_t *ret_usec);

/* "4MiB", "512KiB", "1G", "4096" → bytes (K/M/G/T are 1024-based as in
 * the kernel). -EINVAL, -ERANGE. */
int config_parse_size(const char *s, uint64_t *ret_bytes);

/* Render a duration compactly ("1h30m", "250ms", "0") into @buf; the text
 * parses back to the same value. Returns @buf. */
const char *config_format_duration(uint64_t usec, char *buf, size_t size);

/* Render a size exactly ("4MiB", "1536KiB", "4097") into @buf; the text
 * parses back to the same value. Returns @buf. */
const char *config_format_size(uint64_t bytes, char *buf, size_t size);

/* "@path:LINE:COLUMN: message" (or "@path: message" without a position;
 * @path may be NULL) into @buf, the form every caller prints. Returns @buf. */
const char *config_error_format(const struct config_error *e, const char *path, char *buf, size_t size);
