/* proto — framing and request/response encoding of the slabwatchd socket
 * protocol. See proto.h and docs/protocol.md. */
#include "control/proto.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/config.h"

static const uint8_t proto_magic[3] = { 'S', 'L', 'W' };

/* Which arguments each command takes. */
enum {
        ARG_CACHE = 1U << 0,
        ARG_ID = 1U << 1,
        ARG_N = 1U << 2,
        ARG_SORT = 1U << 3,
        ARG_TIER = 1U << 4,
        ARG_SINCE = 1U << 5,
        ARG_DURATION = 1U << 6,
        ARG_FORMAT = 1U << 7,
        ARG_FROM = 1U << 8,
};

struct command_info {
        const char *name;
        unsigned flags;
        unsigned args;          /* ARG_* accepted */
        unsigned required;      /* ARG_* that must be present */
};

static const struct command_info command_table[_PROTO_CMD_MAX] = {
        [PROTO_CMD_STATUS] = { "status", 0, 0, 0 },
        [PROTO_CMD_TOP] = { "top", 0, ARG_N | ARG_SORT, 0 },
        [PROTO_CMD_HISTORY] = { "history", 0, ARG_CACHE | ARG_SINCE | ARG_TIER, ARG_CACHE },
        [PROTO_CMD_MEMINFO] = { "meminfo", 0, ARG_SINCE | ARG_TIER, 0 },
        [PROTO_CMD_EVENTS] = { "events", 0, ARG_SINCE | ARG_N, 0 },
        [PROTO_CMD_CAPTURES] = { "captures", 0, 0, 0 },
        [PROTO_CMD_CAPTURE] = { "capture", 0, ARG_ID, ARG_ID },
        [PROTO_CMD_ARM] = { "arm", PROTO_CMD_FLAG_PRIVILEGED, ARG_CACHE | ARG_DURATION, ARG_CACHE },
        [PROTO_CMD_DISARM] = { "disarm", PROTO_CMD_FLAG_PRIVILEGED, ARG_CACHE, ARG_CACHE },
        [PROTO_CMD_RELOAD] = { "reload", PROTO_CMD_FLAG_PRIVILEGED, 0, 0 },
        [PROTO_CMD_VERSION] = { "version", 0, 0, 0 },
        [PROTO_CMD_METRICS] = { "metrics", 0, ARG_FORMAT, 0 },
        [PROTO_CMD_EXPORT] = { "export", 0, ARG_SINCE | ARG_TIER | ARG_FROM, 0 },
};

static const char *const sort_names[_PROTO_SORT_MAX] = {
        [PROTO_SORT_GROWTH] = "growth",
        [PROTO_SORT_BYTES] = "bytes",
        [PROTO_SORT_OBJS] = "objs",
};

static const char *const tier_names[_PROTO_TIER_MAX] = {
        [PROTO_TIER_AUTO] = "auto",
        [PROTO_TIER_RAW] = "raw",
        [PROTO_TIER_MINUTE] = "minute",
        [PROTO_TIER_HOUR] = "hour",
};

static const char *const format_names[_PROTO_FORMAT_MAX] = {
        [PROTO_FORMAT_PROMETHEUS] = "prometheus",
        [PROTO_FORMAT_OPENMETRICS] = "openmetrics",
};

static const char *const error_names[_PROTO_ERR_MAX] = {
        [PROTO_ERR_BAD_FRAME] = "bad-frame",
        [PROTO_ERR_UNSUPPORTED_VERSION] = "unsupported-version",
        [PROTO_ERR_REQUEST_TOO_LARGE] = "request-too-large",
        [PROTO_ERR_TRUNCATED] = "truncated",
        [PROTO_ERR_BAD_JSON] = "bad-json",
        [PROTO_ERR_BAD_REQUEST] = "bad-request",
        [PROTO_ERR_UNKNOWN_COMMAND] = "unknown-command",
        [PROTO_ERR_BAD_ARGUMENT] = "bad-argument",
        [PROTO_ERR_PERMISSION_DENIED] = "permission-denied",
        [PROTO_ERR_TOO_MANY_CLIENTS] = "too-many-clients",
        [PROTO_ERR_TIMEOUT] = "timeout",
        [PROTO_ERR_NOT_FOUND] = "not-found",
        [PROTO_ERR_BUSY] = "busy",
        [PROTO_ERR_UNAVAILABLE] = "unavailable",
        [PROTO_ERR_RESPONSE_TOO_LARGE] = "response-too-large",
        [PROTO_ERR_FAILED] = "failed",
        [PROTO_ERR_INTERNAL] = "internal",
};

static int lookup(const char *const *table, size_t n, const char *name) {
        if (!name)
                return -EINVAL;
        for (size_t i = 0; i < n; i++)
                if (table[i] && strcmp(table[i], name) == 0)
                        return (int) i;
        return -EINVAL;
}

const char *proto_command_name(enum proto_command c) {
        if ((unsigned) c >= _PROTO_CMD_MAX)
                return NULL;
        return command_table[c].name;
}

int proto_command_from_name(const char *name) {
        if (!name)
                return -EINVAL;
        for (size_t i = 0; i < _PROTO_CMD_MAX; i++)
                if (strcmp(command_table[i].name, name) == 0)
                        return (int) i;
        return -EINVAL;
}

unsigned proto_command_flags(enum proto_command c) {
        if ((unsigned) c >= _PROTO_CMD_MAX)
                return 0;
        return command_table[c].flags;
}

const char *proto_sort_name(enum proto_sort s) {
        return (unsigned) s < _PROTO_SORT_MAX ? sort_names[s] : NULL;
}

const char *proto_tier_name(enum proto_tier t) {
        return (unsigned) t < _PROTO_TIER_MAX ? tier_names[t] : NULL;
}

const char *proto_format_name(enum proto_format f) {
        return (unsigned) f < _PROTO_FORMAT_MAX ? format_names[f] : NULL;
}

const char *proto_error_name(enum proto_error e) {
        return (unsigned) e < _PROTO_ERR_MAX ? error_names[e] : NULL;
}

int proto_sort_from_name(const char *name) {
        return lookup(sort_names, _PROTO_SORT_MAX, name);
}

int proto_tier_from_name(const char *name) {
        return lookup(tier_names, _PROTO_TIER_MAX, name);
}

int proto_format_from_name(const char *name) {
        return lookup(format_names, _PROTO_FORMAT_MAX, name);
}

int proto_error_from_name(const char *name) {
        return lookup(error_names, _PROTO_ERR_MAX, name);
}

void proto_request_init(struct proto_request *ret, enum proto_command c) {
        *ret = (struct proto_request) {
                .command = c,
                .sort = PROTO_SORT_GROWTH,
                .tier = PROTO_TIER_AUTO,
                .format = PROTO_FORMAT_PROMETHEUS,
        };
}

void proto_header_encode(uint32_t payload_len, uint8_t ret_header[PROTO_HEADER_SIZE]) {
        memcpy(ret_header, proto_magic, sizeof proto_magic);
        ret_header[3] = PROTO_VERSION;
        ret_header[4] = (uint8_t) (payload_len >> 24);
        ret_header[5] = (uint8_t) (payload_len >> 16);
        ret_header[6] = (uint8_t) (payload_len >> 8);
        ret_header[7] = (uint8_t) payload_len;
}

int proto_header_decode(const uint8_t header[PROTO_HEADER_SIZE], size_t max_payload,
                        uint32_t *ret_len, uint8_t *ret_version) {
        if (memcmp(header, proto_magic, sizeof proto_magic) != 0)
                return -EBADMSG;
        if (ret_version)
                *ret_version = header[3];
        if (header[3] != PROTO_VERSION)
                return -EPROTONOSUPPORT;
        uint32_t len = (uint32_t) header[4] << 24 | (uint32_t) header[5] << 16 |
                       (uint32_t) header[6] << 8 | (uint32_t) header[7];
        if (len > max_payload)
                return -EMSGSIZE;
        *ret_len = len;
        return 0;
}

int proto_frame_encode(json_object *doc, size_t max_payload, char **ret_frame, size_t *ret_len) {
        size_t len = 0;
        /* PLAIN never emits a raw newline (strings escape it); NOSLASHESCAPE
         * keeps paths readable for people who look at the wire. */
        const char *s = json_object_to_json_string_length(doc,
                        JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
        if (!s)
                return -ENOMEM;
        if (len > max_payload || len > UINT32_MAX)
                return -EMSGSIZE;
        char *frame = malloc(PROTO_HEADER_SIZE + len);
        if (!frame)
                return -ENOMEM;
        proto_header_encode((uint32_t) len, (uint8_t *) frame);
        memcpy(frame + PROTO_HEADER_SIZE, s, len);
        *ret_frame = frame;
        *ret_len = PROTO_HEADER_SIZE + len;
        return 0;
}

static void failf(struct proto_failure *f, enum proto_error code, const char *format, ...)
        __attribute__((format(printf, 3, 4)));

static void failf(struct proto_failure *f, enum proto_error code, const char *format, ...) {
        if (!f)
                return;
        va_list ap;
        f->code = code;
        va_start(ap, format);
        vsnprintf(f->message, sizeof f->message, format, ap);
        va_end(ap);
}

/* Cache names become sysfs path components on the daemon side: no '/', no
 * dot-only names, nothing a terminal or a slabinfo column would misread. */
static bool cache_name_valid(const char *s, size_t len) {
        if (len == 0 || len >= PROTO_NAME_MAX)
                return false;
        if (strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
                return false;
        for (size_t i = 0; i < len; i++) {
                unsigned char c = (unsigned char) s[i];
                if (c <= ' ' || c == '/' || c == 0x7f)
                        return false;
        }
        return true;
}

/* Capture ids name directories: a conservative alphabet. */
static bool capture_id_valid(const char *s, size_t len) {
        if (len == 0 || len >= PROTO_ID_MAX || s[0] == '.' || s[0] == '-')
                return false;
        for (size_t i = 0; i < len; i++) {
                char c = s[i];
                bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                          (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-' || c == ':';
                if (!ok)
                        return false;
        }
        return true;
}

static bool seconds_valid(double s) {
        return isfinite(s) && s >= 0 && s <= (double) PROTO_SECONDS_MAX;
}

static uint64_t seconds_to_usec(double s) {
        return (uint64_t) llround(s * 1e6);
}

static int validate(const struct proto_request *r, struct proto_failure *f) {
        if ((unsigned) r->command >= _PROTO_CMD_MAX) {
                failf(f, PROTO_ERR_UNKNOWN_COMMAND, "unknown command %d", (int) r->command);
                return -EOPNOTSUPP;
        }
        const struct command_info *ci = &command_table[r->command];
        size_t len;
        if (ci->args & ARG_CACHE) {
                len = strnlen(r->cache, sizeof r->cache);
                if (len == 0 && (ci->required & ARG_CACHE)) {
                        failf(f, PROTO_ERR_BAD_ARGUMENT, "%s: a cache name is required", ci->name);
                        return -EINVAL;
                }
                if (len > 0 && !cache_name_valid(r->cache, len)) {
                        failf(f, PROTO_ERR_BAD_ARGUMENT, "%s: invalid cache name", ci->name);
                        return -EINVAL;
                }
        }
        if (ci->args & ARG_ID) {
                len = strnlen(r->id, sizeof r->id);
                if (len == 0 || !capture_id_valid(r->id, len)) {
                        failf(f, PROTO_ERR_BAD_ARGUMENT, "%s: invalid or missing capture id", ci->name);
                        return -EINVAL;
                }
        }
        if (r->limit > PROTO_LIMIT_MAX) {
                failf(f, PROTO_ERR_BAD_ARGUMENT, "%s: n must be 1..%u", ci->name, PROTO_LIMIT_MAX);
                return -EINVAL;
        }
        if ((unsigned) r->sort >= _PROTO_SORT_MAX || (unsigned) r->tier >= _PROTO_TIER_MAX ||
            (unsigned) r->format >= _PROTO_FORMAT_MAX) {
                failf(f, PROTO_ERR_BAD_ARGUMENT, "%s: invalid enumeration value", ci->name);
                return -EINVAL;
        }
        if (r->from_usec > PROTO_EPOCH_MAX * 1000000ULL) {
                failf(f, PROTO_ERR_BAD_ARGUMENT, "%s: from out of range", ci->name);
                return -EINVAL;
        }
        if (r->since_usec > PROTO_SECONDS_MAX * 1000000ULL ||
            r->duration_usec > PROTO_SECONDS_MAX * 1000000ULL) {
                failf(f, PROTO_ERR_BAD_ARGUMENT, "%s: duration out of range", ci->name);
                return -EINVAL;
        }
        return 0;
}

static int add_seconds(json_object *args, const char *key, uint64_t usec) {
        char buf[64];
        if (usec % 1000000 == 0)
                return json_object_object_add(args, key, json_object_new_int64((int64_t) (usec / 1000000)));
        snprintf(buf, sizeof buf, "%" PRIu64 ".%06" PRIu64, usec / 1000000, usec % 1000000);
        return json_object_object_add(args, key, json_object_new_double_s((double) usec / 1e6, buf));
}

json_object *proto_request_to_json(const struct proto_request *req) {
        if (validate(req, NULL) < 0)
                return NULL;
        const struct command_info *ci = &command_table[req->command];
        json_object *doc = json_object_new_object();
        json_object *args = json_object_new_object();
        if (!doc || !args)
                goto fail;
        if (json_object_object_add(doc, "cmd", json_object_new_string(ci->name)) < 0)
                goto fail;
        if ((ci->args & ARG_CACHE) && req->cache[0] &&
            json_object_object_add(args, "cache", json_object_new_string(req->cache)) < 0)
                goto fail;
        if ((ci->args & ARG_ID) &&
            json_object_object_add(args, "id", json_object_new_string(req->id)) < 0)
                goto fail;
        if ((ci->args & ARG_N) && req->limit > 0 &&
            json_object_object_add(args, "n", json_object_new_int((int) req->limit)) < 0)
                goto fail;
        if ((ci->args & ARG_SORT) && req->sort != PROTO_SORT_GROWTH &&
            json_object_object_add(args, "sort", json_object_new_string(sort_names[req->sort])) < 0)
                goto fail;
        if ((ci->args & ARG_TIER) && req->tier != PROTO_TIER_AUTO &&
            json_object_object_add(args, "tier", json_object_new_string(tier_names[req->tier])) < 0)
                goto fail;
        if ((ci->args & ARG_SINCE) && req->since_usec > 0 && add_seconds(args, "since", req->since_usec) < 0)
                goto fail;
        if ((ci->args & ARG_FROM) && req->from_usec > 0 &&
            json_object_object_add(args, "from_usec", proto_json_u64(req->from_usec)) < 0)
                goto fail;
        if ((ci->args & ARG_DURATION) && req->duration_usec > 0 &&
            add_seconds(args, "duration", req->duration_usec) < 0)
                goto fail;
        if ((ci->args & ARG_FORMAT) && req->format != PROTO_FORMAT_PROMETHEUS &&
            json_object_object_add(args, "format", json_object_new_string(format_names[req->format])) < 0)
                goto fail;
        if (json_object_object_length(args) > 0) {
                if (json_object_object_add(doc, "args", args) < 0)
                        goto fail;
        } else
                json_object_put(args);
        return doc;
fail:
        json_object_put(args);
        json_object_put(doc);
        return NULL;
}

int proto_request_encode(const struct proto_request *req, char **ret_frame, size_t *ret_len) {
        if (validate(req, NULL) < 0)
                return -EINVAL;
        json_object *doc = proto_request_to_json(req);
        if (!doc)
                return -ENOMEM;
        int r = proto_frame_encode(doc, PROTO_REQUEST_HARD_MAX, ret_frame, ret_len);
        json_object_put(doc);
        return r;
}

/* Parse @len bytes as exactly one JSON document: no NUL bytes, valid UTF-8,
 * nothing but whitespace after it, nested no deeper than @depth. */
/* Keys written in @payload (valid JSON): every string followed by ':'. */
static size_t text_key_count(const char *payload, size_t len) {
        size_t n = 0;
        for (size_t i = 0; i < len; i++) {
                if (payload[i] != '"')
                        continue;
                for (i++; i < len && payload[i] != '"'; i++)
                        if (payload[i] == '\\')
                                i++;
                size_t j = i + 1;
                while (j < len && (payload[j] == ' ' || payload[j] == '\t' || payload[j] == '\n' || payload[j] == '\r'))
                        j++;
                if (j < len && payload[j] == ':')
                        n++;
        }
        return n;
}

/* Keys held by the parsed tree @o (its depth is the tokener's bound). */
static size_t tree_key_count(json_object *o) {
        size_t n = 0;
        if (json_object_is_type(o, json_type_object)) {
                json_object_object_foreach(o, key, val) {
                        (void) key;
                        n += 1 + tree_key_count(val);
                }
        } else if (json_object_is_type(o, json_type_array)) {
                for (size_t i = 0; i < json_object_array_length(o); i++)
                        n += tree_key_count(json_object_array_get_idx(o, i));
        }
        return n;
}

static json_object *parse_document(const char *payload, size_t len, int depth, struct proto_failure *f) {
        if (len == 0) {
                failf(f, PROTO_ERR_BAD_JSON, "empty payload");
                return NULL;
        }
        if (len > INT32_MAX) {
                failf(f, PROTO_ERR_BAD_JSON, "payload too long");
                return NULL;
        }
        if (memchr(payload, '\0', len)) {
                failf(f, PROTO_ERR_BAD_JSON, "payload contains a NUL byte");
                return NULL;
        }
        json_tokener *tok = json_tokener_new_ex(depth);
        if (!tok) {
                failf(f, PROTO_ERR_INTERNAL, "out of memory");
                return NULL;
        }
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
        json_object *doc = json_tokener_parse_ex(tok, payload, (int) len);
        enum json_tokener_error jerr = json_tokener_get_error(tok);
        size_t end = json_tokener_get_parse_end(tok);
        json_tokener_free(tok);
        if (!doc) {
                if (jerr == json_tokener_continue)
                        failf(f, PROTO_ERR_BAD_JSON, "incomplete JSON document");
                else
                        failf(f, PROTO_ERR_BAD_JSON, "invalid JSON at byte %zu: %s", end,
                              json_tokener_error_desc(jerr));
                return NULL;
        }
        for (size_t i = end; i < len; i++) {
                char c = payload[i];
                if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
                        json_object_put(doc);
                        failf(f, PROTO_ERR_BAD_JSON, "trailing data after the JSON document at byte %zu", i);
                        return NULL;
                }
        }
        /* json-c keeps the last of two equal keys, so {"cmd":"status",
         * "cmd":"arm"} would mean whatever the last one says (escapes such
         * as "\u0063md" included): a key written more often than the tree
         * holds keys was repeated somewhere. */
        if (text_key_count(payload, len) != tree_key_count(doc)) {
                json_object_put(doc);
                failf(f, PROTO_ERR_BAD_JSON, "a key appears twice in one object");
                return NULL;
        }
        return doc;
}

static int arg_seconds(json_object *v, const char *cmd, const char *key, uint64_t *ret_usec,
                       struct proto_failure *f) {
        enum json_type t = json_object_get_type(v);
        if (t != json_type_int && t != json_type_double) {
                failf(f, PROTO_ERR_BAD_ARGUMENT, "%s: %s must be a number of seconds", cmd, key);
                return -EINVAL;
        }
        double s = json_object_get_double(v);
        if (t == json_type_int && json_object_get_int64(v) < 0)
                s = -1;
        if (!seconds_valid(s)) {
                failf(f, PROTO_ERR_BAD_ARGUMENT, "%s: %s must be 0..%llu seconds", cmd, key,
                      (unsigned long long) PROTO_SECONDS_MAX);
                return -EINVAL;
        }
        *ret_usec = seconds_to_usec(s);
        return 0;
}

static int arg_string(json_object *v, const char *cmd, const char *key, const char **ret,
                      size_t *ret_len, struct proto_failure *f) {
        if (!json_object_is_type(v, json_type_string)) {
                failf(f, PROTO_ERR_BAD_ARGUMENT, "%s: %s must be a string", cmd, key);
                return -EINVAL;
        }
        *ret = json_object_get_string(v);
        *ret_len = (size_t) json_object_get_string_len(v);
        return 0;
}

static int arg_enum(json_object *v, const char *cmd, const char *key, int (*from_name)(const char *),
                    int *ret, struct proto_failure *f) {
        const char *s;
        size_t len;
        if (arg_string(v, cmd, key, &s, &len, f) < 0)
                return -EINVAL;
        int r = from_name(s);
        if (r < 0 || strlen(s) != len) {
                failf(f, PROTO_ERR_BAD_ARGUMENT, "%s: invalid %s", cmd, key);
                return -EINVAL;
        }
        *ret = r;
        return 0;
}

static int decode_arg(struct proto_request *req, const struct command_info *ci, const char *key,
                      json_object *v, unsigned *seen, struct proto_failure *f) {
        const char *s;
        size_t len;
        int e;

        if (strcmp(key, "cache") == 0 && (ci->args & ARG_CACHE)) {
                if (arg_string(v, ci->name, key, &s, &len, f) < 0)
                        return -EINVAL;
                if (strlen(s) != len || !cache_name_valid(s, len)) {
                        failf(f, PROTO_ERR_BAD_ARGUMENT, "%s: invalid cache name", ci->name);
                        return -EINVAL;
                }
                memcpy(req->cache, s, len + 1);
                *seen |= ARG_CACHE;
        } else if (strcmp(key, "id") == 0 && (ci->args & ARG_ID)) {
                if (arg_string(v, ci->name, key, &s, &len, f) < 0)
                        return -EINVAL;
                if (strlen(s) != len || !capture_id_valid(s, len)) {
                        failf(f, PROTO_ERR_BAD_ARGUMENT, "%s: invalid capture id", ci->name);
                        return -EINVAL;
                }
                memcpy(req->id, s, len + 1);
                *seen |= ARG_ID;
        } else if (strcmp(key, "n") == 0 && (ci->args & ARG_N)) {
                int64_t n;
                if (!json_object_is_type(v, json_type_int) ||
                    (n = json_object_get_int64(v)) < 1 || n > PROTO_LIMIT_MAX) {
                        failf(f, PROTO_ERR_BAD_ARGUMENT, "%s: n must be an integer 1..%u", ci->name,
                              PROTO_LIMIT_MAX);
                        return -EINVAL;
                }
                req->limit = (unsigned) n;
                *seen |= ARG_N;
        } else if (strcmp(key, "sort") == 0 && (ci->args & ARG_SORT)) {
                if (arg_enum(v, ci->name, "sort (growth, bytes, objs)", proto_sort_from_name, &e, f) < 0)
                        return -EINVAL;
                req->sort = (enum proto_sort) e;
                *seen |= ARG_SORT;
        } else if (strcmp(key, "tier") == 0 && (ci->args & ARG_TIER)) {
                if (arg_enum(v, ci->name, "tier (auto, raw, minute, hour)", proto_tier_from_name, &e, f) < 0)
                        return -EINVAL;
                req->tier = (enum proto_tier) e;
                *seen |= ARG_TIER;
        } else if (strcmp(key, "format") == 0 && (ci->args & ARG_FORMAT)) {
                if (arg_enum(v, ci->name, "format (prometheus, openmetrics)", proto_format_from_name, &e, f) < 0)
                        return -EINVAL;
                req->format = (enum proto_format) e;
                *seen |= ARG_FORMAT;
        } else if (strcmp(key, "since") == 0 && (ci->args & ARG_SINCE)) {
                if (arg_seconds(v, ci->name, key, &req->since_usec, f) < 0)
                        return -EINVAL;
                *seen |= ARG_SINCE;
        } else if (strcmp(key, "duration") == 0 && (ci->args & ARG_DURATION)) {
                if (arg_seconds(v, ci->name, key, &req->duration_usec, f) < 0)
                        return -EINVAL;
                /* The bounds of capture.duration: a request cannot arm a
                 * capture the config could not. */
                if (req->duration_usec < CONFIG_CAPTURE_DURATION_MIN_USEC ||
                    req->duration_usec > CONFIG_CAPTURE_DURATION_MAX_USEC) {
                        failf(f, PROTO_ERR_BAD_ARGUMENT, "%s: duration must be %" PRIu64 " to %" PRIu64
                              " seconds (the bounds of capture.duration)", ci->name,
                              CONFIG_CAPTURE_DURATION_MIN_USEC / 1000000, CONFIG_CAPTURE_DURATION_MAX_USEC / 1000000);
                        return -EINVAL;
                }
                *seen |= ARG_DURATION;
        } else if (strcmp(key, "from_usec") == 0 && (ci->args & ARG_FROM)) {
                /* An exact integer: paging resumes at a sample's own time. */
                int64_t t;
                if (!json_object_is_type(v, json_type_int) || (t = json_object_get_int64(v)) < 0 ||
                    (uint64_t) t > PROTO_EPOCH_MAX * 1000000ULL) {
                        failf(f, PROTO_ERR_BAD_ARGUMENT, "%s: from_usec must be an epoch time in microseconds",
                              ci->name);
                        return -EINVAL;
                }
                req->from_usec = (uint64_t) t;
                *seen |= ARG_FROM;
        } else {
                /* Strict: a typo in a script must not silently fall back to
                 * a default. Clients check the version before sending new
                 * arguments. */
                failf(f, PROTO_ERR_BAD_ARGUMENT, "%s: unknown argument \"%.64s\"", ci->name, key);
                return -EINVAL;
        }
        return 0;
}

int proto_request_decode(const char *payload, size_t len, struct proto_request *ret,
                         json_object **ret_args, struct proto_failure *ret_failure) {
        struct proto_request req;
        json_object *doc = parse_document(payload, len, PROTO_REQUEST_DEPTH_MAX, ret_failure);
        if (!doc)
                return -EBADMSG;

        int r = -EBADMSG;
        json_object *cmd = NULL, *args = NULL;
        if (!json_object_is_type(doc, json_type_object)) {
                failf(ret_failure, PROTO_ERR_BAD_REQUEST, "a request must be a JSON object");
                goto out;
        }
        json_object_object_foreach(doc, key, val) {
                if (strcmp(key, "cmd") == 0)
                        cmd = val;
                else if (strcmp(key, "args") == 0)
                        args = val;
                else {
                        failf(ret_failure, PROTO_ERR_BAD_REQUEST, "unknown request field \"%.64s\"", key);
                        goto out;
                }
        }
        if (!cmd || !json_object_is_type(cmd, json_type_string)) {
                failf(ret_failure, PROTO_ERR_BAD_REQUEST, "the request has no \"cmd\" string");
                goto out;
        }
        int c = proto_command_from_name(json_object_get_string(cmd));
        if (c < 0 || strlen(json_object_get_string(cmd)) != (size_t) json_object_get_string_len(cmd)) {
                failf(ret_failure, PROTO_ERR_UNKNOWN_COMMAND, "unknown command \"%.64s\"",
                      json_object_get_string(cmd));
                r = -EOPNOTSUPP;
                goto out;
        }
        const struct command_info *ci = &command_table[c];
        proto_request_init(&req, (enum proto_command) c);
        unsigned seen = 0;
        if (args && !json_object_is_type(args, json_type_null)) {
                if (!json_object_is_type(args, json_type_object)) {
                        failf(ret_failure, PROTO_ERR_BAD_REQUEST, "\"args\" must be an object");
                        goto out;
                }
                json_object_object_foreach(args, akey, aval) {
                        r = decode_arg(&req, ci, akey, aval, &seen, ret_failure);
                        if (r < 0)
                                goto out;
                }
        }
        if ((ci->required & seen) != ci->required) {
                failf(ret_failure, PROTO_ERR_BAD_ARGUMENT, "%s: missing required argument \"%s\"", ci->name,
                      (ci->required & ~seen & ARG_CACHE) ? "cache" : "id");
                r = -EINVAL;
                goto out;
        }
        r = validate(&req, ret_failure);
        if (r < 0)
                goto out;
        *ret = req;
        if (ret_args)
                *ret_args = args && json_object_is_type(args, json_type_object) ? json_object_get(args) : NULL;
        r = 0;
out:
        json_object_put(doc);
        return r;
}

static json_object *response_new(bool ok) {
        json_object *doc = json_object_new_object();
        if (!doc)
                return NULL;
        if (json_object_object_add(doc, "v", json_object_new_int(PROTO_VERSION)) < 0 ||
            json_object_object_add(doc, "ok", json_object_new_boolean(ok)) < 0) {
                json_object_put(doc);
                return NULL;
        }
        return doc;
}

json_object *proto_response_new_ok(enum proto_command c, json_object *data) {
        json_object *doc = response_new(true);
        if (!doc || (unsigned) c >= _PROTO_CMD_MAX)
                goto fail;
        if (!data)
                data = json_object_new_object();
        if (!data)
                goto fail;
        if (json_object_object_add(doc, "cmd", json_object_new_string(command_table[c].name)) < 0)
                goto fail;
        if (json_object_object_add(doc, "data", data) < 0)
                goto fail;
        return doc;
fail:
        json_object_put(data);
        json_object_put(doc);
        return NULL;
}

static json_object *error_new(enum proto_error code, const char *message) {
        json_object *doc = response_new(false);
        if (!doc)
                return NULL;
        if ((unsigned) code >= _PROTO_ERR_MAX)
                code = PROTO_ERR_INTERNAL;
        if (json_object_object_add(doc, "error", json_object_new_string(error_names[code])) < 0 ||
            json_object_object_add(doc, "message", json_object_new_string(message)) < 0) {
                json_object_put(doc);
                return NULL;
        }
        return doc;
}

json_object *proto_response_new_error(enum proto_error code, const char *format, ...) {
        char message[PROTO_MESSAGE_MAX];
        va_list ap;
        va_start(ap, format);
        vsnprintf(message, sizeof message, format, ap);
        va_end(ap);
        return error_new(code, message);
}

json_object *proto_response_from_failure(const struct proto_failure *f) {
        return error_new(f->code, f->message);
}

int proto_response_decode(const char *payload, size_t len, json_object **ret_doc) {
        json_object *doc = parse_document(payload, len, PROTO_RESPONSE_DEPTH_MAX, NULL);
        if (!doc)
                return -EBADMSG;
        json_object *ok, *v;
        if (!json_object_is_type(doc, json_type_object) ||
            !json_object_object_get_ex(doc, "ok", &ok) || !json_object_is_type(ok, json_type_boolean))
                goto bad;
        if (json_object_object_get_ex(doc, "v", &v) &&
            (!json_object_is_type(v, json_type_int) || json_object_get_int(v) != PROTO_VERSION))
                goto bad;
        if (json_object_get_boolean(ok)) {
                if (!json_object_object_get_ex(doc, "data", &v) || !json_object_is_type(v, json_type_object))
                        goto bad;
        } else {
                if (!json_object_object_get_ex(doc, "error", &v) || !json_object_is_type(v, json_type_string))
                        goto bad;
                if (!json_object_object_get_ex(doc, "message", &v) || !json_object_is_type(v, json_type_string))
                        goto bad;
        }
        *ret_doc = doc;
        return 0;
bad:
        json_object_put(doc);
        return -EBADMSG;
}

bool proto_response_is_ok(json_object *doc, enum proto_error *ret_code, const char **ret_message) {
        json_object *v;
        if (json_object_object_get_ex(doc, "ok", &v) && json_object_get_boolean(v))
                return true;
        if (ret_code) {
                int e = -EINVAL;
                if (json_object_object_get_ex(doc, "error", &v))
                        e = proto_error_from_name(json_object_get_string(v));
                *ret_code = e < 0 ? PROTO_ERR_FAILED : (enum proto_error) e;
        }
        if (ret_message)
                *ret_message = json_object_object_get_ex(doc, "message", &v) ? json_object_get_string(v) : "";
        return false;
}

json_object *proto_json_double(double v) {
        char buf[64];
        if (!isfinite(v))
                return NULL;
        int n = snprintf(buf, sizeof buf, "%.10g", v);
        /* Keep it a JSON double for readers that type by syntax: "100" would
         * come back as an integer, "100.0" does not. */
        if (n > 0 && (size_t) n + 2 < sizeof buf && !strpbrk(buf, ".eEn"))
                memcpy(buf + n, ".0", 3);
        return json_object_new_double_s(v, buf);
}

json_object *proto_json_time(uint64_t t_usec) {
        char buf[64];
        snprintf(buf, sizeof buf, "%" PRIu64 ".%06" PRIu64, t_usec / 1000000, t_usec % 1000000);
        return json_object_new_double_s((double) t_usec / 1e6, buf);
}

json_object *proto_json_u64(uint64_t v) {
        return json_object_new_int64(v > INT64_MAX ? INT64_MAX : (int64_t) v);
}

const struct proto_verdict_kind proto_verdict_kinds[PROTO_VERDICT_KINDS] = {
        { VERDICT_SLAB, "slab" },
        { VERDICT_UNACCOUNTED, "unaccounted" },
        { VERDICT_VMALLOC, "vmalloc" },
        { VERDICT_USER, "user" },
};

const enum meminfo_key proto_verdict_meminfo_keys[PROTO_VERDICT_MEMINFO_KEYS] = {
        MEMINFO_MEM_TOTAL,   MEMINFO_MEM_FREE,     MEMINFO_MEM_AVAILABLE, MEMINFO_SLAB,
        MEMINFO_SRECLAIMABLE, MEMINFO_SUNRECLAIM,  MEMINFO_KERNEL_STACK,  MEMINFO_PAGE_TABLES,
        MEMINFO_VMALLOC_USED, MEMINFO_PERCPU,      MEMINFO_ANON_PAGES,    MEMINFO_SHMEM,
};

json_object *proto_json_verdict(const struct verdict *v) {
        char buf[128];
        json_object *o = json_object_new_object();
        json_object *flags = json_object_new_array();
        json_object *caches = json_object_new_array();
        for (size_t i = 0; i < PROTO_VERDICT_KINDS; i++)
                if (v && (v->flags & proto_verdict_kinds[i].flag))
                        json_object_array_add(flags, json_object_new_string(proto_verdict_kinds[i].name));
        for (size_t i = 0; v && i < v->n_caches; i++)
                json_object_array_add(caches, json_object_new_string(v->caches[i]));
        /* json-c only fails to add on allocation failure; the field is then
         * missing, which clients show as "-". */
        (void) json_object_object_add(o, "flags", flags);
        (void) json_object_object_add(o, "summary", json_object_new_string(verdict_flags_string(v ? v->flags : VERDICT_NONE, buf, sizeof buf)));
        (void) json_object_object_add(o, "text", json_object_new_string(v ? v->text : ""));
        (void) json_object_object_add(o, "caches", caches);
        return o;
}
