/* commands — dispatch the socket's decoded requests to the answer of each
 * command (one file per group: commands_daemon.c, commands_caches.c,
 * commands_captures.c), and what those answers share. */
#include "control/commands_group.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "capture/capture.h"

void commands_add(json_object *o, const char *key, json_object *v) {
        (void) json_object_object_add(o, key, v);
}

json_object *commands_error_from_errno(int r, const char *what) {
        switch (r) {
        case -ENOENT:
                return proto_response_new_error(PROTO_ERR_NOT_FOUND, "%s", what);
        case -EINVAL:
                return proto_response_new_error(PROTO_ERR_BAD_ARGUMENT, "%s", what);
        case -EBUSY:
        case -EALREADY:
        case -CAPTURE_ECOOLDOWN:
                return proto_response_new_error(PROTO_ERR_BUSY, "%s", what);
        case -ECANCELED:
        case -EOPNOTSUPP:
                return proto_response_new_error(PROTO_ERR_UNAVAILABLE, "%s", what);
        case -ENOMEM:
                return proto_response_new_error(PROTO_ERR_INTERNAL, "out of memory");
        default:
                return proto_response_new_error(PROTO_ERR_FAILED, "%s", what);
        }
}

void commands_capturing_load(struct daemon *d, struct capturing *ret) {
        json_object *list = NULL, *running;
        ret->n = 0;
        ret->running = NULL;
        if (!d->captures || capture_manager_running(d->captures) == 0)
                return;
        if (capture_manager_list(d->captures, &list) < 0)
                return;
        if (json_object_object_get_ex(list, "running", &running) && json_object_is_type(running, json_type_array)) {
                ret->running = json_object_get(running);
                for (size_t i = 0; i < json_object_array_length(running) && ret->n < COMMANDS_CAPTURING_MAX; i++) {
                        json_object *x = json_object_array_get_idx(running, i), *name;
                        if (json_object_object_get_ex(x, "cache", &name) && json_object_is_type(name, json_type_string))
                                snprintf(ret->names[ret->n++], PROTO_NAME_MAX, "%s", json_object_get_string(name));
                }
        }
        json_object_put(list);
}

static bool capturing_has(const struct capturing *c, const char *name) {
        for (size_t i = 0; i < c->n; i++)
                if (strcmp(c->names[i], name) == 0)
                        return true;
        return false;
}

const char *commands_cache_state(const struct engine_cache_info *info, const struct capturing *cap) {
        if (cap && capturing_has(cap, info->name))
                return "capturing";
        return detect_state_name(info->state);
}

json_object *commands_handle(const struct server_peer *peer, const struct proto_request *req, json_object *args,
                             void *userdata) {
        struct daemon *d = userdata;
        (void) peer;
        (void) args;
        if (!d->engine && req->command != PROTO_CMD_VERSION)
                return proto_response_new_error(PROTO_ERR_UNAVAILABLE, "the daemon is starting");
        switch (req->command) {
        case PROTO_CMD_STATUS:
                return commands_status(d, req);
        case PROTO_CMD_TOP:
                return commands_top(d, req);
        case PROTO_CMD_HISTORY:
                return commands_history(d, req);
        case PROTO_CMD_MEMINFO:
                return commands_meminfo(d, req);
        case PROTO_CMD_EVENTS:
                return commands_events(d, req);
        case PROTO_CMD_CAPTURES:
                return commands_captures(d, req);
        case PROTO_CMD_CAPTURE:
                return commands_capture(d, req);
        case PROTO_CMD_ARM:
                return commands_arm(d, req);
        case PROTO_CMD_DISARM:
                return commands_disarm(d, req);
        case PROTO_CMD_RELOAD:
                return commands_reload(d, req);
        case PROTO_CMD_VERSION:
                return commands_version(req);
        case PROTO_CMD_METRICS:
                return commands_metrics(d, req);
        case PROTO_CMD_EXPORT:
                return commands_export(d, req);
        default:
                return proto_response_new_error(PROTO_ERR_UNKNOWN_COMMAND, "unknown command");
        }
}
