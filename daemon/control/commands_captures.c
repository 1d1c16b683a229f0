/* commands_captures — the captures: the list, one capture's report, arming
 * and disarming a capture by hand. */
#include "control/commands_group.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/path.h"
#include "capture/bundle.h"
#include "capture/capture.h"
#include "core/log.h"

static json_object *captures_unavailable(void) {
        return proto_response_new_error(PROTO_ERR_UNAVAILABLE,
                                        "captures are not available in this daemon (capture.enabled, or the "
                                        "kernel offers no capture method: see `slabwatchctl status`)");
}

json_object *commands_captures(struct daemon *d, const struct proto_request *req) {
        json_object *o = NULL;
        if (!d->captures) {
                o = json_object_new_object();
                commands_add(o, "available", json_object_new_boolean(false));
                commands_add(o, "running", json_object_new_array());
                commands_add(o, "bundles", json_object_new_array());
                return proto_response_new_ok(req->command, o);
        }
        int r = capture_manager_list(d->captures, &o);
        if (r < 0)
                return commands_error_from_errno(r, "cannot list the captures");
        commands_add(o, "available", json_object_new_boolean(true));
        return proto_response_new_ok(req->command, o);
}

/* report.txt of a bundle, if it is there and not too large. */
static json_object *report_text(const struct daemon *d, const char *id) {
        char path[BUNDLE_PATH_MAX];
        if (bundle_file_path(d->config.paths.state_dir, id, BUNDLE_REPORT_TXT, path, sizeof path) < 0)
                return NULL;
        int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return NULL;
        struct stat st;
        json_object *text = NULL;
        if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 &&
            (uint64_t) st.st_size <= COMMANDS_REPORT_TEXT_MAX) {
                char *buf = malloc((size_t) st.st_size);
                ssize_t n = buf ? pread(fd, buf, (size_t) st.st_size, 0) : -1;
                if (n > 0)
                        text = json_object_new_string_len(buf, (int) n);
                free(buf);
        }
        close(fd);
        return text;
}

json_object *commands_capture(struct daemon *d, const struct proto_request *req) {
        json_object *report = NULL;
        char what[PROTO_ID_MAX + 64];
        if (!d->captures)
                return captures_unavailable();
        int r = capture_manager_get(d->captures, req->id, &report);
        if (r < 0) {
                snprintf(what, sizeof what, r == -ENOENT ? "no capture \"%s\" (see `slabwatchctl captures`)"
                                            : r == -EBADMSG ? "the report of capture \"%s\" is corrupt"
                                                            : "cannot read capture \"%s\"",
                         req->id);
                return commands_error_from_errno(r == -EBADMSG ? -EIO : r, what);
        }
        json_object *o = json_object_new_object();
        commands_add(o, "id", json_object_new_string(req->id));
        commands_add(o, "report", report);
        commands_add(o, "text", report_text(d, req->id));
        return proto_response_new_ok(req->command, o);
}

json_object *commands_arm(struct daemon *d, const struct proto_request *req) {
        if (!d->captures)
                return captures_unavailable();
        int r = capture_manager_arm(d->captures, req->cache, req->duration_usec);
        if (r < 0) {
                char what[PROTO_NAME_MAX + 256];
                snprintf(what, sizeof what, "cannot capture %s: %s", req->cache, capture_strerror(r));
                return commands_error_from_errno(r, what);
        }
        log_info("Capture of %s armed over the socket", req->cache);
        uint64_t duration = req->duration_usec ? req->duration_usec : d->config.capture.duration_usec;
        json_object *o = json_object_new_object();
        commands_add(o, "cache", json_object_new_string(req->cache));
        commands_add(o, "duration_s", proto_json_double((double) duration / 1e6));
        return proto_response_new_ok(req->command, o);
}

json_object *commands_disarm(struct daemon *d, const struct proto_request *req) {
        if (!d->captures)
                return captures_unavailable();
        int r = capture_manager_disarm(d->captures, req->cache);
        if (r < 0) {
                char what[PROTO_NAME_MAX + 256];
                if (r == -ENOENT)
                        snprintf(what, sizeof what, "no capture of %s is running", req->cache);
                else
                        snprintf(what, sizeof what, "cannot stop the capture of %s: %s", req->cache,
                                 capture_strerror(r));
                return commands_error_from_errno(r, what);
        }
        json_object *o = json_object_new_object();
        commands_add(o, "cache", json_object_new_string(req->cache));
        return proto_response_new_ok(req->command, o);
}
