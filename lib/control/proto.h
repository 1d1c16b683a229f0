/* proto — the slabwatchd socket protocol: framing, versioned request and
 * response encoding, limits. Pure: no I/O. See docs/protocol.md.
 *
 * A frame is an 8-byte header — the magic "SLW", the protocol version byte,
 * the payload length as a big-endian u32 — followed by one JSON document.
 * The length is checked against the receiver's limit before anything is
 * allocated for the payload. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "memory/meminfo.h"
#include "memory/verdict.h"

#define PROTO_VERSION 1
#define PROTO_HEADER_SIZE 8
/* Hard cap for a request, whatever server.max_request_bytes says (its
 * largest allowed value); real requests are a command and a few arguments. */
#define PROTO_REQUEST_HARD_MAX (16U * 1024U * 1024U)
/* Largest response either side accepts: an export of the raw tier at a 1 s
 * interval for ~250 caches is ~12 MiB. */
#define PROTO_RESPONSE_MAX (64U * 1024U * 1024U)
/* Nesting depth accepted in a request (a request is an object of scalars). */
#define PROTO_REQUEST_DEPTH_MAX 4
/* Nesting depth accepted in a response (history points are objects in arrays
 * in objects). */
#define PROTO_RESPONSE_DEPTH_MAX 16
/* Cache names: /proc/slabinfo names, as lib/caches/slabinfo.h bounds them. */
#define PROTO_NAME_MAX 96
/* Capture ids: directory names under <state_dir>/captures. */
#define PROTO_ID_MAX 128
/* `top -n`: more rows than caches any kernel has is a typo. */
#define PROTO_LIMIT_MAX 16384
/* `since`, `duration`: a year is far beyond the longest history tier. */
#define PROTO_SECONDS_MAX (366ULL * 24 * 3600)
/* `from_usec` is an epoch time; past this (year 2286) it is a typo. */
#define PROTO_EPOCH_MAX 10000000000ULL
/* Error messages in responses are truncated past this. */
#define PROTO_MESSAGE_MAX 512

enum proto_command {
        PROTO_CMD_STATUS,
        PROTO_CMD_TOP,
        PROTO_CMD_HISTORY,
        PROTO_CMD_MEMINFO,
        PROTO_CMD_EVENTS,
        PROTO_CMD_CAPTURES,
        PROTO_CMD_CAPTURE,
        PROTO_CMD_ARM,
        PROTO_CMD_DISARM,
        PROTO_CMD_RELOAD,
        PROTO_CMD_VERSION,
        PROTO_CMD_METRICS,
        PROTO_CMD_EXPORT,
        _PROTO_CMD_MAX,
};

/* Commands that change the daemon's state: root only. */
#define PROTO_CMD_FLAG_PRIVILEGED 0x1U

enum proto_sort {
        PROTO_SORT_GROWTH,
        PROTO_SORT_BYTES,
        PROTO_SORT_OBJS,
        _PROTO_SORT_MAX,
};

enum proto_tier {
        PROTO_TIER_AUTO,        /* the finest tier that covers `since` */
        PROTO_TIER_RAW,
        PROTO_TIER_MINUTE,
        PROTO_TIER_HOUR,
        _PROTO_TIER_MAX,
};

enum proto_format {
        PROTO_FORMAT_PROMETHEUS,        /* text exposition 0.0.4 */
        PROTO_FORMAT_OPENMETRICS,       /* OpenMetrics 1.0 text */
        _PROTO_FORMAT_MAX,
};

/* Stable error codes; the wire carries their names ("bad-frame", ...). */
enum proto_error {
        PROTO_ERR_BAD_FRAME,
        PROTO_ERR_UNSUPPORTED_VERSION,
        PROTO_ERR_REQUEST_TOO_LARGE,
        PROTO_ERR_TRUNCATED,
        PROTO_ERR_BAD_JSON,
        PROTO_ERR_BAD_REQUEST,
        PROTO_ERR_UNKNOWN_COMMAND,
        PROTO_ERR_BAD_ARGUMENT,
        PROTO_ERR_PERMISSION_DENIED,
        PROTO_ERR_TOO_MANY_CLIENTS,
        PROTO_ERR_TIMEOUT,
        PROTO_ERR_NOT_FOUND,
        PROTO_ERR_BUSY,
        PROTO_ERR_UNAVAILABLE,
        PROTO_ERR_RESPONSE_TOO_LARGE,
        PROTO_ERR_FAILED,
        PROTO_ERR_INTERNAL,
        _PROTO_ERR_MAX,
};

/* A decoded, validated request. Fields a command does not take stay at
 * their defaults (proto_request_init()). */
struct proto_request {
        enum proto_command command;
        char cache[PROTO_NAME_MAX];     /* history, arm, disarm */
        char id[PROTO_ID_MAX];          /* capture */
        unsigned limit;                 /* top -n, events; 0 = the command's default */
        enum proto_sort sort;           /* top */
        enum proto_tier tier;           /* history, meminfo, export */
        uint64_t since_usec;            /* how far back; 0 = all that is kept */
        uint64_t from_usec;             /* export: start at this sample time (paging); 0 = use since */
        uint64_t duration_usec;         /* arm; 0 = capture.duration from the config */
        enum proto_format format;       /* metrics */
};

/* Why a request was refused: a code and a message for a person. */
struct proto_failure {
        enum proto_error code;
        char message[PROTO_MESSAGE_MAX];
};

/* The command's wire name ("status"), or NULL if out of range. */
const char *proto_command_name(enum proto_command c);

/* Reverse of proto_command_name(); -EINVAL when unknown. */
int proto_command_from_name(const char *name);

/* PROTO_CMD_FLAG_* of a command. */
unsigned proto_command_flags(enum proto_command c);

/* Names of the enums on the wire; NULL if out of range. */
const char *proto_sort_name(enum proto_sort s);
const char *proto_tier_name(enum proto_tier t);
const char *proto_format_name(enum proto_format f);
const char *proto_error_name(enum proto_error e);

/* Reverse lookups; -EINVAL when unknown. */
int proto_sort_from_name(const char *name);
int proto_tier_from_name(const char *name);
int proto_format_from_name(const char *name);
int proto_error_from_name(const char *name);

/* Reset @ret to the defaults of command @c. */
void proto_request_init(struct proto_request *ret, enum proto_command c);

/* Write the 8-byte frame header for a payload of @payload_len bytes. */
void proto_header_encode(uint32_t payload_len, uint8_t ret_header[PROTO_HEADER_SIZE]);

/* Check a received header and return the payload length in *ret_len. Returns
 * 0, -EBADMSG (not a slabwatch frame), -EPROTONOSUPPORT (another protocol
 * version; *ret_version says which), -EMSGSIZE (longer than @max_payload). */
int proto_header_decode(const uint8_t header[PROTO_HEADER_SIZE], size_t max_payload,
                        uint32_t *ret_len, uint8_t *ret_version);

/* Serialise @doc (plain JSON, no newlines) into a complete frame, malloc'd
 * in *ret_frame. -EMSGSIZE when the payload would exceed @max_payload,
 * -ENOMEM. */
int proto_frame_encode(json_object *doc, size_t max_payload, char **ret_frame, size_t *ret_len);

/* Encode @req as a request frame. -EINVAL if @req does not validate (the
 * same checks the server applies), -ENOMEM. */
int proto_request_encode(const struct proto_request *req, char **ret_frame, size_t *ret_len);

/* Build the JSON document of @req (without framing); NULL on -EINVAL/-ENOMEM. */
json_object *proto_request_to_json(const struct proto_request *req);

/* Decode and validate a request payload. On success fills *ret (and, if
 * @ret_args is not NULL, a new reference to the "args" object or NULL) and
 * returns 0; otherwise fills *ret_failure and returns -EBADMSG (bad JSON or
 * shape), -EINVAL (bad argument), -EOPNOTSUPP (unknown command). */
int proto_request_decode(const char *payload, size_t len, struct proto_request *ret,
                         json_object **ret_args, struct proto_failure *ret_failure);

/* A success response owning @data (which may be NULL: an empty object). */
json_object *proto_response_new_ok(enum proto_command c, json_object *data);

/* An error response: {"v":1,"ok":false,"error":<code name>,"message":...}. */
json_object *proto_response_new_error(enum proto_error code, const char *format, ...)
        __attribute__((format(printf, 2, 3)));

/* The same, from a filled failure. */
json_object *proto_response_from_failure(const struct proto_failure *f);

/* Decode a response payload. Returns 0 and the document in *ret_doc (its
 * shape checked: "ok" true with "data", or false with a known-shaped "error"
 * and "message"); -EBADMSG otherwise. */
int proto_response_decode(const char *payload, size_t len, json_object **ret_doc);

/* For a decoded response: true if ok; else the error code (unknown names
 * map to PROTO_ERR_FAILED) and message. */
bool proto_response_is_ok(json_object *doc, enum proto_error *ret_code, const char **ret_message);

/* A JSON number for @v with a readable serialisation ("%.10g"), or null for
 * NaN and infinities, which JSON cannot carry. */
json_object *proto_json_double(double v);

/* A timestamp in seconds since the epoch with microsecond digits. */
json_object *proto_json_time(uint64_t t_usec);

/* A json-c int64 for a u64 count (saturates at INT64_MAX). */
json_object *proto_json_u64(uint64_t v);

/* The kinds of memory a verdict names, as `status`, `meminfo` and the
 * metrics call them ("slab", "unaccounted", "vmalloc", "user"). */
struct proto_verdict_kind {
        unsigned flag;          /* VERDICT_* */
        const char *name;
};
#define PROTO_VERDICT_KINDS 4
extern const struct proto_verdict_kind proto_verdict_kinds[PROTO_VERDICT_KINDS];

/* The /proc/meminfo keys the verdict reads: the ones `meminfo` and the
 * metrics report. */
#define PROTO_VERDICT_MEMINFO_KEYS 12
extern const enum meminfo_key proto_verdict_meminfo_keys[PROTO_VERDICT_MEMINFO_KEYS];

/* A verdict as JSON: flags (names), summary, text, caches. @v may be NULL
 * (no verdict yet: empty fields). */
json_object *proto_json_verdict(const struct verdict *v);
