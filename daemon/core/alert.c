#include "core/alert.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#ifdef SLABWATCH_HAVE_SYSTEMD
#include <systemd/sd-journal.h>
#else
#include <syslog.h>
#endif

#include "core/log.h"

static const char *const kind_names[_ALERT_KIND_MAX] = {
        [ALERT_TRIP] = "trip",
        [ALERT_RETRIP] = "retrip",
        [ALERT_CLEARED] = "cleared",
        [ALERT_CAPTURE] = "capture",
        [ALERT_CAPTURE_FAILED] = "capture-failed",
        [ALERT_VERDICT] = "verdict",
};

const char *alert_kind_name(enum alert_kind kind) {
        return (unsigned) kind < _ALERT_KIND_MAX ? kind_names[kind] : "unknown";
}

void alert_event_add(struct alert_event *ev, const char *name, const char *fmt, ...) {
        if (ev->n_fields >= ALERT_FIELDS_MAX)
                return;
        struct alert_field *f = &ev->fields[ev->n_fields++];
        va_list ap;
        f->name = name;
        va_start(ap, fmt);
        vsnprintf(f->value, sizeof f->value, fmt, ap);
        va_end(ap);
}

#ifdef SLABWATCH_HAVE_SYSTEMD
static const char *const kind_message_ids[_ALERT_KIND_MAX] = {
        [ALERT_TRIP] = ALERT_MESSAGE_ID_TRIP,
        [ALERT_RETRIP] = ALERT_MESSAGE_ID_RETRIP,
        [ALERT_CLEARED] = ALERT_MESSAGE_ID_CLEARED,
        [ALERT_CAPTURE] = ALERT_MESSAGE_ID_CAPTURE,
        [ALERT_CAPTURE_FAILED] = ALERT_MESSAGE_ID_CAPTURE_FAILED,
        [ALERT_VERDICT] = ALERT_MESSAGE_ID_VERDICT,
};

/* Journal field values may hold any byte but a field *line* built for
 * sd_journal_sendv must not contain a newline in the name part; values with
 * newlines are fine since sendv uses the binary-safe protocol. */
static int send_journal(const struct alert_event *ev) {
        enum { FIXED = 5 };
        char fixed[FIXED][1200];
        char fields[ALERT_FIELDS_MAX][ALERT_VALUE_MAX + 64];
        struct iovec iov[FIXED + ALERT_FIELDS_MAX];
        size_t n = 0;

        snprintf(fixed[0], sizeof fixed[0], "MESSAGE=%s", ev->message);
        snprintf(fixed[1], sizeof fixed[1], "PRIORITY=%d", ev->priority);
        snprintf(fixed[2], sizeof fixed[2], "MESSAGE_ID=%s", kind_message_ids[ev->kind]);
        snprintf(fixed[3], sizeof fixed[3], "SYSLOG_IDENTIFIER=slabwatchd");
        snprintf(fixed[4], sizeof fixed[4], "SLABWATCH_EVENT=%s", kind_names[ev->kind]);
        for (size_t i = 0; i < FIXED; i++)
                iov[n++] = (struct iovec) { fixed[i], strlen(fixed[i]) };
        for (size_t i = 0; i < ev->n_fields; i++) {
                snprintf(fields[i], sizeof fields[i], "SLABWATCH_%s=%s", ev->fields[i].name,
                         ev->fields[i].value);
                iov[n++] = (struct iovec) { fields[i], strlen(fields[i]) };
        }
        return sd_journal_sendv(iov, (int) n);
}
#else
/* Without libsystemd the system log gets the sentence (syslogd, or busybox
 * logread; the fields are in the events log). syslog(3) cannot say whether
 * anyone listened: report "not delivered", so stderr has it too. */
static int send_journal(const struct alert_event *ev) {
        syslog(LOG_DAEMON | (ev->priority & LOG_PRIMASK), "slabwatchd[%s]: %s", kind_names[ev->kind], ev->message);
        return -ENOSYS;
}
#endif

static void send_stderr(const struct alert_event *ev) {
        fprintf(stderr, "slabwatchd[%s]: %s\n", kind_names[ev->kind], ev->message);
}

static char *event_json(const struct alert_event *ev) {
        json_object *o = json_object_new_object();
        if (!o)
                return NULL;
        json_object_object_add(o, "time", json_object_new_double((double) ev->t_usec / 1e6));
        json_object_object_add(o, "event", json_object_new_string(kind_names[ev->kind]));
        json_object_object_add(o, "message", json_object_new_string(ev->message));
        for (size_t i = 0; i < ev->n_fields; i++) {
                char key[64];
                snprintf(key, sizeof key, "%s", ev->fields[i].name);
                for (char *p = key; *p; p++)
                        *p = (char) (*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
                json_object_object_add(o, key, json_object_new_string(ev->fields[i].value));
        }
        char *s = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
        json_object_put(o);
        return s;
}

static int append_events_log(const struct alert_sink *o, const struct alert_event *ev) {
        struct stat st;
        char *line = event_json(ev);
        int fd, r = 0;

        if (!line)
                return -ENOMEM;
        if (o->events_log_max_bytes > 0 && stat(o->events_log, &st) == 0 &&
            (uint64_t) st.st_size >= o->events_log_max_bytes) {
                char old[4096 + 4];
                snprintf(old, sizeof old, "%s.1", o->events_log);
                (void) rename(o->events_log, old);
        }
        fd = open(o->events_log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, 0640);
        if (fd < 0) {
                r = -errno;
                goto out;
        }
        size_t len = strlen(line);
        line[len] = '\n'; /* strdup left room: we overwrite the NUL and write len+1 bytes */
        ssize_t n = write(fd, line, len + 1);
        if (n < 0)
                r = -errno;
        else if ((size_t) n != len + 1)
                r = -ENOSPC;
        close(fd);
out:
        free(line);
        return r;
}

int alert_send(struct alert_sink *o, const struct alert_event *ev) {
        bool delivered = false;

        if (o->journal && send_journal(ev) >= 0)
                delivered = true;
        if (!delivered || o->stderr_always)
                send_stderr(ev);

        if (o->events_log) {
                int r = append_events_log(o, ev);
                if (r < 0 && r != o->events_log_error)
                        log_warning_errno(r, "Cannot append to events log %s (alerts still go to %s)",
                                          o->events_log, delivered ? "the journal" : "stderr");
                o->events_log_error = r < 0 ? r : 0;
        }
        return 0;
}
