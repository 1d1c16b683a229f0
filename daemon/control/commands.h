/* commands — answers to the socket protocol's commands, built from the
 * daemon's state (engine, sampling figures, events log, captures). The texts
 * the daemon publishes (status, metrics) are the daemon's: these carry them.
 * One file per group of commands: commands_daemon.c (status, version,
 * metrics, events, reload), commands_caches.c (top, history, meminfo,
 * export), commands_captures.c (captures, capture, arm, disarm).
 *
 * The server has decoded the request and checked permissions; these only
 * read the daemon (reload is validated here and applied after the answer is
 * sent, through the daemon's SIGHUP path, because a reload restarts the
 * server that is running this code). */
#pragma once

#include <json-c/json.h>
#include <stddef.h>

#include "core/daemon.h"
#include "control/metrics.h"
#include "control/proto.h"
#include "control/server.h"

/* `top` rows unless -n says otherwise. */
#define COMMANDS_TOP_DEFAULT 20
/* `events` returned unless -n says otherwise. */
#define COMMANDS_EVENTS_DEFAULT 100
/* Bytes read from the end of the events log for `events`: a few thousand
 * events, without reading a large log into memory. */
#define COMMANDS_EVENTS_READ_MAX (1U << 20)
/* A capture's report.txt larger than this is not sent whole. */
#define COMMANDS_REPORT_TEXT_MAX (1U << 20)
/* Values (samples × series) in one `export` answer; a longer export is
 * paged (the answer says where the next page starts). */
#define COMMANDS_EXPORT_VALUES_MAX 100000U

/* The server handler: @userdata is the struct daemon. */
json_object *commands_handle(const struct server_peer *peer, const struct proto_request *req, json_object *args,
                             void *userdata);
