/* commands_group — what the command groups of the socket protocol share:
 * one answer function per command (commands.c dispatches to them), the
 * error mapping, and the caches being captured now. Internal to
 * daemon/control. */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>

#include "control/commands.h"

/* Caches a `capturing` state is looked up among. */
#define COMMANDS_CAPTURING_MAX 64

/* Caches being captured now, from the capture manager's list. */
struct capturing {
        char names[COMMANDS_CAPTURING_MAX][PROTO_NAME_MAX];
        size_t n;
        json_object *running;   /* the manager's "running" array (a reference) */
};

/* Add @v under @key; json-c fails only on allocation failure, and the
 * answer then lacks a field, which the client shows as "-". */
void commands_add(json_object *o, const char *key, json_object *v);

/* The error answer for -errno @r, with @what as its message. */
json_object *commands_error_from_errno(int r, const char *what);

/* Fill @ret from the capture manager (json_object_put(ret->running) after). */
void commands_capturing_load(struct daemon *d, struct capturing *ret);

/* "capturing" for a cache in @cap (may be NULL), else its detection state. */
const char *commands_cache_state(const struct engine_cache_info *info, const struct capturing *cap);

/* The daemon's own answers (commands_daemon.c). */
json_object *commands_status(struct daemon *d, const struct proto_request *req);
json_object *commands_version(const struct proto_request *req);
json_object *commands_metrics(struct daemon *d, const struct proto_request *req);
json_object *commands_events(struct daemon *d, const struct proto_request *req);
json_object *commands_reload(struct daemon *d, const struct proto_request *req);

/* The caches and their history (commands_caches.c). */
json_object *commands_top(struct daemon *d, const struct proto_request *req);
json_object *commands_history(struct daemon *d, const struct proto_request *req);
json_object *commands_meminfo(struct daemon *d, const struct proto_request *req);
json_object *commands_export(struct daemon *d, const struct proto_request *req);

/* Captures (commands_captures.c). */
json_object *commands_captures(struct daemon *d, const struct proto_request *req);
json_object *commands_capture(struct daemon *d, const struct proto_request *req);
json_object *commands_arm(struct daemon *d, const struct proto_request *req);
json_object *commands_disarm(struct daemon *d, const struct proto_request *req);
