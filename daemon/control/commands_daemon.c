/* commands_daemon — the daemon's own answers: status, version, metrics,
 * events, reload. status and metrics carry texts the daemon renders. */
#include "control/commands_group.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"

json_object *commands_status(struct daemon *d, const struct proto_request *req) {
        json_object *o = NULL;
        int r = daemon_status_json(d, &o);
        if (r < 0)
                return commands_error_from_errno(r, "");
        return proto_response_new_ok(req->command, o);
}

/* The newest events of the events log (JSON lines, see alert.c). */
json_object *commands_events(struct daemon *d, const struct proto_request *req) {
        json_object *o = json_object_new_object(), *list = json_object_new_array();
        size_t limit = req->limit ? req->limit : COMMANDS_EVENTS_DEFAULT;
        bool truncated = false;
        const char *path = d->events_log_path;

        commands_add(o, "log", path[0] ? json_object_new_string(path) : NULL);
        int fd = path[0] ? open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY) : -1;
        if (fd < 0) {
                /* No events yet is not an error. */
                if (path[0] && errno != ENOENT) {
                        int r = -errno;
                        json_object_put(o);
                        json_object_put(list);
                        return proto_response_new_error(PROTO_ERR_FAILED, "cannot read %s: %s", path, strerror(-r));
                }
                commands_add(o, "events", list);
                commands_add(o, "truncated", json_object_new_boolean(false));
                return proto_response_new_ok(req->command, o);
        }
        struct stat st;
        char *buf = NULL;
        size_t len = 0;
        if (fstat(fd, &st) == 0 && st.st_size > 0) {
                size_t want = (uint64_t) st.st_size > COMMANDS_EVENTS_READ_MAX ? COMMANDS_EVENTS_READ_MAX
                                                                               : (size_t) st.st_size;
                off_t from = st.st_size - (off_t) want;
                truncated = from > 0;
                buf = malloc(want + 1);
                if (buf) {
                        ssize_t n = pread(fd, buf, want, from);
                        len = n > 0 ? (size_t) n : 0;
                        buf[len] = '\0';
                }
        }
        close(fd);

        uint64_t start = req->since_usec ? daemon_now_usec() - req->since_usec : 0;
        double start_s = (double) start / 1e6;
        char *line = buf;
        /* Reading from the middle of the file: the first line is partial. */
        if (truncated && line) {
                char *nl = memchr(line, '\n', len);
                line = nl ? nl + 1 : buf + len;
        }
        json_object *matched = json_object_new_array();
        while (line && line < buf + len) {
                char *nl = memchr(line, '\n', (size_t) (buf + len - line));
                size_t l = nl ? (size_t) (nl - line) : (size_t) (buf + len - line);
                json_tokener *tok = json_tokener_new();
                json_object *ev = tok ? json_tokener_parse_ex(tok, line, (int) l) : NULL;
                json_tokener_free(tok);
                json_object *t;
                if (ev && json_object_is_type(ev, json_type_object) && json_object_object_get_ex(ev, "time", &t) &&
                    json_object_get_double(t) >= start_s)
                        json_object_array_add(matched, ev);
                else
                        json_object_put(ev);
                line = nl ? nl + 1 : NULL;
        }
        free(buf);
        size_t n = json_object_array_length(matched);
        if (n > limit)
                truncated = true;
        for (size_t i = n > limit ? n - limit : 0; i < n; i++)
                json_object_array_add(list, json_object_get(json_object_array_get_idx(matched, i)));
        json_object_put(matched);
        commands_add(o, "events", list);
        commands_add(o, "truncated", json_object_new_boolean(truncated));
        return proto_response_new_ok(req->command, o);
}

json_object *commands_reload(struct daemon *d, const struct proto_request *req) {
        struct config_error err = { 0 };
        struct config *c = malloc(sizeof *c);
        if (!c)
                return commands_error_from_errno(-ENOMEM, "");
        /* Load the file now, by the policy the reload itself follows, so a
         * bad one is reported to the one who asked; apply it after this
         * answer is sent (a reload restarts the server this runs in),
         * through the same path as SIGHUP. */
        int r = config_load(&d->source, c, NULL, &err);
        free(c);
        if (r < 0) {
                char msg[CONFIG_ERROR_MAX + CONFIG_PATH_MAX + 32];
                return proto_response_new_error(PROTO_ERR_FAILED, "%s; keeping the running configuration",
                                                config_error_format(&err, d->source.path, msg, sizeof msg));
        }
        log_info("Reload requested over the socket");
        ev_feed_signal_event(d->loop, SIGHUP);
        json_object *o = json_object_new_object();
        commands_add(o, "config", json_object_new_string(d->source.path));
        commands_add(o, "scheduled", json_object_new_boolean(true));
        return proto_response_new_ok(req->command, o);
}

json_object *commands_version(const struct proto_request *req) {
        json_object *o = json_object_new_object(), *cmds = json_object_new_array();
        commands_add(o, "version", json_object_new_string(SLABWATCH_VERSION));
        commands_add(o, "protocol", json_object_new_int(PROTO_VERSION));
        for (int c = 0; c < _PROTO_CMD_MAX; c++)
                json_object_array_add(cmds, json_object_new_string(proto_command_name((enum proto_command) c)));
        commands_add(o, "commands", cmds);
        return proto_response_new_ok(req->command, o);
}

json_object *commands_metrics(struct daemon *d, const struct proto_request *req) {
        char *text = NULL;
        size_t len = 0;
        enum metrics_format f = req->format == PROTO_FORMAT_OPENMETRICS ? METRICS_FORMAT_OPENMETRICS
                                                                        : METRICS_FORMAT_PROMETHEUS;
        int r = daemon_metrics_text(d, f, &text, &len);
        if (r < 0)
                return commands_error_from_errno(r == -E2BIG ? -EIO : r, "cannot render the metrics");
        json_object *o = json_object_new_object();
        commands_add(o, "format", json_object_new_string(proto_format_name(req->format)));
        commands_add(o, "content_type", json_object_new_string(f == METRICS_FORMAT_OPENMETRICS
                                                               ? "application/openmetrics-text; version=1.0.0; charset=utf-8"
                                                               : "text/plain; version=0.0.4; charset=utf-8"));
        commands_add(o, "text", json_object_new_string_len(text, (int) len));
        free(text);
        return proto_response_new_ok(req->command, o);
}
