/* alert — deliver slabwatch events: journald (with a MESSAGE_ID per kind of
 * event and SLABWATCH_* fields), stderr when journald is not there, and an
 * append-only events log (JSON lines) in the state directory. An alert is
 * never dropped silently: if every sink fails, stderr still gets it. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One MESSAGE_ID per kind of event; documented in systemd/slabwatch.catalog. */
#define ALERT_MESSAGE_ID_TRIP "308cb41abe1b4dce8e095b9d16bdec4b"
#define ALERT_MESSAGE_ID_RETRIP "8ba2f1464de742afad594b8cfe4cc8d6"
#define ALERT_MESSAGE_ID_CLEARED "5494a3dbcc6a4a65847d39425a2b5354"
#define ALERT_MESSAGE_ID_CAPTURE "7476dd8fd0c04a498c3203ec85982f85"
#define ALERT_MESSAGE_ID_VERDICT "9d2e7b8e80614575b6fdb129f5f5bad8"
#define ALERT_MESSAGE_ID_CAPTURE_FAILED "09e15f6893d945f3812e1294509542cf"

#define ALERT_FIELDS_MAX 24
#define ALERT_VALUE_MAX 4096

enum alert_kind {
        ALERT_TRIP,
        ALERT_RETRIP,
        ALERT_CLEARED,
        ALERT_CAPTURE,
        ALERT_CAPTURE_FAILED,
        ALERT_VERDICT,
        _ALERT_KIND_MAX,
};

struct alert_field {
        const char *name;       /* journal field name without the SLABWATCH_ prefix, e.g. "CACHE" */
        char value[ALERT_VALUE_MAX];
};

struct alert_event {
        enum alert_kind kind;
        uint64_t t_usec;        /* wall clock, microseconds since the epoch */
        int priority;           /* syslog priority */
        char message[1024];
        struct alert_field fields[ALERT_FIELDS_MAX];
        size_t n_fields;
};

struct alert_sink {
        bool journal;                   /* try journald */
        bool stderr_always;             /* print to stderr even when journald took it */
        const char *events_log;         /* path of the events log, NULL = none */
        uint64_t events_log_max_bytes;  /* rotate to <path>.1 past this */
        int events_log_error;           /* last error writing it, so it is reported once */
};

/* "trip", "retrip", "cleared", "capture", "capture-failed", "verdict". */
const char *alert_kind_name(enum alert_kind kind);

/* Add a field; formatted like printf. Fields past ALERT_FIELDS_MAX are dropped
 * (a programming error, not input). */
void alert_event_add(struct alert_event *ev, const char *name, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/* Send @ev to every sink. Returns 0 if journald or stderr took it, and
 * reports (once per failure streak, via log) when the events log cannot be
 * written; never fails the caller for that. */
int alert_send(struct alert_sink *o, const struct alert_event *ev);
