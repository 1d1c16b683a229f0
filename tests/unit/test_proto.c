#include <check.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/proto.h"
#include "testutil.h"

/* Strip the frame header after checking it. */
static const char *frame_payload(const char *frame, size_t len, size_t *ret_len) {
        uint32_t plen = 0;
        ck_assert_uint_ge(len, PROTO_HEADER_SIZE);
        ck_assert_int_eq(proto_header_decode((const uint8_t *) frame, PROTO_RESPONSE_MAX, &plen, NULL), 0);
        ck_assert_uint_eq(plen + PROTO_HEADER_SIZE, len);
        *ret_len = plen;
        return frame + PROTO_HEADER_SIZE;
}

static int decode_str(const char *s, struct proto_request *ret, struct proto_failure *f) {
        return proto_request_decode(s, strlen(s), ret, NULL, f);
}

/* A whole-valued double must stay a double after a round trip through text. */
START_TEST(test_json_double_keeps_its_type) {
        static const double values[] = { 0, 100, -3, 1e20, 2.5 };
        for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
                json_object *o = proto_json_double(values[i]);
                json_object *back = json_tokener_parse(json_object_to_json_string(o));
                ck_assert_msg(json_object_is_type(back, json_type_double), "%g came back as %s", values[i],
                              json_object_to_json_string(back));
                ck_assert(json_object_get_double(back) == values[i]);
                json_object_put(o);
                json_object_put(back);
        }
}
END_TEST

START_TEST(test_header_roundtrip) {
        uint8_t h[PROTO_HEADER_SIZE];
        uint32_t len = 0;
        uint8_t version = 0;

        proto_header_encode(0x01020304, h);
        ck_assert_int_eq(memcmp(h, "SLW\x01\x01\x02\x03\x04", 8), 0);
        ck_assert_int_eq(proto_header_decode(h, 0x01020304, &len, &version), 0);
        ck_assert_uint_eq(len, 0x01020304);
        ck_assert_uint_eq(version, PROTO_VERSION);
        /* One byte over the limit is refused from the header alone. */
        ck_assert_int_eq(proto_header_decode(h, 0x01020303, &len, NULL), -EMSGSIZE);

        h[3] = 2;
        ck_assert_int_eq(proto_header_decode(h, PROTO_RESPONSE_MAX, &len, &version), -EPROTONOSUPPORT);
        ck_assert_uint_eq(version, 2);
        memcpy(h, "GET / HT", 8);
        ck_assert_int_eq(proto_header_decode(h, PROTO_RESPONSE_MAX, &len, NULL), -EBADMSG);
}
END_TEST

/* Every command, with every argument it takes set away from its default,
 * survives encode → decode unchanged. */
START_TEST(test_request_roundtrip_every_command) {
        for (int c = 0; c < _PROTO_CMD_MAX; c++) {
                struct proto_request in, out;
                struct proto_failure f;
                char *frame = NULL;
                size_t len = 0, plen = 0;

                proto_request_init(&in, (enum proto_command) c);
                switch (c) {
                case PROTO_CMD_TOP:
                        in.limit = 7;
                        in.sort = PROTO_SORT_BYTES;
                        break;
                case PROTO_CMD_HISTORY:
                        strcpy(in.cache, "kmalloc-rnd-01-8k");
                        in.since_usec = 7200ULL * 1000000;
                        in.tier = PROTO_TIER_MINUTE;
                        break;
                case PROTO_CMD_MEMINFO:
                        in.since_usec = 1500000;        /* fractional seconds survive */
                        in.tier = PROTO_TIER_RAW;
                        break;
                case PROTO_CMD_EVENTS:
                        in.since_usec = 60000000;
                        in.limit = 100;
                        break;
                case PROTO_CMD_CAPTURE:
                        strcpy(in.id, "20260101T000000Z-kmalloc-8k");
                        break;
                case PROTO_CMD_ARM:
                        strcpy(in.cache, "filp");
                        in.duration_usec = 90ULL * 1000000;
                        break;
                case PROTO_CMD_DISARM:
                        strcpy(in.cache, "filp");
                        break;
                case PROTO_CMD_METRICS:
                        in.format = PROTO_FORMAT_OPENMETRICS;
                        break;
                case PROTO_CMD_EXPORT:
                        in.tier = PROTO_TIER_HOUR;
                        in.since_usec = 86400ULL * 1000000;
                        in.from_usec = 1795560135123456ULL;
                        break;
                default:
                        break;
                }
                ck_assert_int_eq(proto_request_encode(&in, &frame, &len), 0);
                const char *payload = frame_payload(frame, len, &plen);
                ck_assert_ptr_null(memchr(payload, '\n', plen));
                memset(&out, 0xAA, sizeof out);
                ck_assert_msg(proto_request_decode(payload, plen, &out, NULL, &f) == 0, "%s: %s",
                              proto_command_name((enum proto_command) c), f.message);
                ck_assert_int_eq(out.command, in.command);
                ck_assert_str_eq(out.cache, in.cache);
                ck_assert_str_eq(out.id, in.id);
                ck_assert_uint_eq(out.limit, in.limit);
                ck_assert_int_eq(out.sort, in.sort);
                ck_assert_int_eq(out.tier, in.tier);
                ck_assert_uint_eq(out.since_usec, in.since_usec);
                ck_assert_uint_eq(out.duration_usec, in.duration_usec);
                ck_assert_uint_eq(out.from_usec, in.from_usec);
                ck_assert_int_eq(out.format, in.format);
                free(frame);
        }
}
END_TEST

START_TEST(test_request_defaults_and_args_object) {
        struct proto_request r;
        struct proto_failure f;
        json_object *args = NULL;
        const char *s = "{\"cmd\":\"top\",\"args\":{\"n\":3}}";

        ck_assert_int_eq(proto_request_decode(s, strlen(s), &r, &args, &f), 0);
        ck_assert_int_eq(r.command, PROTO_CMD_TOP);
        ck_assert_uint_eq(r.limit, 3);
        ck_assert_int_eq(r.sort, PROTO_SORT_GROWTH);
        ck_assert_ptr_nonnull(args);
        ck_assert_int_eq(json_object_get_int(json_object_object_get(args, "n")), 3);
        json_object_put(args);

        ck_assert_int_eq(decode_str("  {\"cmd\":\"status\"}\n", &r, &f), 0);
        ck_assert_int_eq(r.command, PROTO_CMD_STATUS);
        ck_assert_int_eq(decode_str("{\"cmd\":\"status\",\"args\":null}", &r, &f), 0);
        ck_assert_int_eq(decode_str("{\"cmd\":\"history\",\"args\":{\"cache\":\"a\\\"b\\\\c\"}}", &r, &f), 0);
        ck_assert_str_eq(r.cache, "a\"b\\c");
}
END_TEST

struct bad_case {
        const char *payload;
        enum proto_error code;
        const char *message_part;
};

START_TEST(test_request_errors) {
        static const struct bad_case cases[] = {
                { "{", PROTO_ERR_BAD_JSON, "incomplete" },
                { "{\"cmd\":\"status\"} x", PROTO_ERR_BAD_JSON, "JSON" },
                { "{\"cmd\":\"status\"}{}", PROTO_ERR_BAD_JSON, "JSON" },
                { "[1,2]", PROTO_ERR_BAD_REQUEST, "object" },
                { "\"status\"", PROTO_ERR_BAD_REQUEST, "object" },
                { "{}", PROTO_ERR_BAD_REQUEST, "cmd" },
                { "{\"cmd\":1}", PROTO_ERR_BAD_REQUEST, "cmd" },
                { "{\"cmd\":\"status\",\"x\":1}", PROTO_ERR_BAD_REQUEST, "unknown request field" },
                /* One meaning per key: json-c would keep the last. */
                { "{\"cmd\":\"status\",\"cmd\":\"arm\"}", PROTO_ERR_BAD_JSON, "twice" },
                { "{\"cmd\":\"status\", \"\\u0063md\" : \"arm\"}", PROTO_ERR_BAD_JSON, "twice" },
                { "{\"cmd\":\"top\",\"args\":{\"n\":1,\"n\":2}}", PROTO_ERR_BAD_JSON, "twice" },
                { "{\"cmd\":\"top\",\"args\":{\"n\":1},\"args\":{\"n\":2}}", PROTO_ERR_BAD_JSON, "twice" },
                /* A quote and a colon inside a string are not a key. */
                { "{\"cmd\":\"st\\\":a\"}", PROTO_ERR_UNKNOWN_COMMAND, "unknown" },
                { "{\"cmd\":\"status\",\"args\":[]}", PROTO_ERR_BAD_REQUEST, "args" },
                { "{\"cmd\":\"reboot\"}", PROTO_ERR_UNKNOWN_COMMAND, "reboot" },
                { "{\"cmd\":\"status\\u0000x\"}", PROTO_ERR_UNKNOWN_COMMAND, "unknown" },
                { "{'cmd':'status'}", PROTO_ERR_BAD_JSON, "invalid" },
                { "{\"cmd\":\"status\",}", PROTO_ERR_BAD_JSON, "invalid" },
                { "{\"cmd\":\"status\",\"args\":{\"n\":1}}", PROTO_ERR_BAD_ARGUMENT, "unknown argument" },
                { "{\"cmd\":\"top\",\"args\":{\"n\":0}}", PROTO_ERR_BAD_ARGUMENT, "n must be" },
                { "{\"cmd\":\"top\",\"args\":{\"n\":16385}}", PROTO_ERR_BAD_ARGUMENT, "n must be" },
                { "{\"cmd\":\"top\",\"args\":{\"n\":2.5}}", PROTO_ERR_BAD_ARGUMENT, "n must be" },
                { "{\"cmd\":\"top\",\"args\":{\"n\":\"5\"}}", PROTO_ERR_BAD_ARGUMENT, "n must be" },
                { "{\"cmd\":\"top\",\"args\":{\"n\":99999999999999999999999}}", PROTO_ERR_BAD_ARGUMENT, "n must be" },
                { "{\"cmd\":\"top\",\"args\":{\"sort\":\"name\"}}", PROTO_ERR_BAD_ARGUMENT, "sort" },
                { "{\"cmd\":\"history\"}", PROTO_ERR_BAD_ARGUMENT, "missing required argument \"cache\"" },
                { "{\"cmd\":\"history\",\"args\":{\"cache\":\"\"}}", PROTO_ERR_BAD_ARGUMENT, "cache name" },
                { "{\"cmd\":\"history\",\"args\":{\"cache\":\"../../etc\"}}", PROTO_ERR_BAD_ARGUMENT, "cache name" },
                { "{\"cmd\":\"history\",\"args\":{\"cache\":\"..\"}}", PROTO_ERR_BAD_ARGUMENT, "cache name" },
                { "{\"cmd\":\"history\",\"args\":{\"cache\":\"a b\"}}", PROTO_ERR_BAD_ARGUMENT, "cache name" },
                { "{\"cmd\":\"history\",\"args\":{\"cache\":\"a\\nb\"}}", PROTO_ERR_BAD_ARGUMENT, "cache name" },
                { "{\"cmd\":\"history\",\"args\":{\"cache\":\"a\\u0000b\"}}", PROTO_ERR_BAD_ARGUMENT, "cache name" },
                { "{\"cmd\":\"history\",\"args\":{\"cache\":7}}", PROTO_ERR_BAD_ARGUMENT, "string" },
                { "{\"cmd\":\"history\",\"args\":{\"cache\":\"x\",\"since\":-1}}", PROTO_ERR_BAD_ARGUMENT, "since" },
                { "{\"cmd\":\"history\",\"args\":{\"cache\":\"x\",\"since\":1e300}}", PROTO_ERR_BAD_ARGUMENT, "since" },
                { "{\"cmd\":\"history\",\"args\":{\"cache\":\"x\",\"since\":\"2h\"}}", PROTO_ERR_BAD_ARGUMENT, "seconds" },
                { "{\"cmd\":\"history\",\"args\":{\"cache\":\"x\",\"tier\":\"day\"}}", PROTO_ERR_BAD_ARGUMENT, "tier" },
                { "{\"cmd\":\"capture\"}", PROTO_ERR_BAD_ARGUMENT, "id" },
                { "{\"cmd\":\"capture\",\"args\":{\"id\":\"../x\"}}", PROTO_ERR_BAD_ARGUMENT, "capture id" },
                { "{\"cmd\":\"capture\",\"args\":{\"id\":\".hidden\"}}", PROTO_ERR_BAD_ARGUMENT, "capture id" },
                { "{\"cmd\":\"arm\",\"args\":{\"cache\":\"x\",\"duration\":true}}", PROTO_ERR_BAD_ARGUMENT, "duration" },
                { "{\"cmd\":\"metrics\",\"args\":{\"format\":\"json\"}}", PROTO_ERR_BAD_ARGUMENT, "format" },
                { "{\"cmd\":\"export\",\"args\":{\"from_usec\":1e11}}", PROTO_ERR_BAD_ARGUMENT, "from_usec" },
                { "{\"cmd\":\"export\",\"args\":{\"from_usec\":-5}}", PROTO_ERR_BAD_ARGUMENT, "from_usec" },
                { "{\"cmd\":\"history\",\"args\":{\"cache\":\"x\",\"from_usec\":1}}", PROTO_ERR_BAD_ARGUMENT, "unknown argument" },
                { "{\"cmd\":\"status\",\"args\":{\"a\":{\"b\":{\"c\":{\"d\":{}}}}}}", PROTO_ERR_BAD_JSON, "" },
                { "{\"cmd\":\"\xc3\x28\"}", PROTO_ERR_BAD_JSON, "" },
        };
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                struct proto_request r;
                struct proto_failure f = { 0 };
                int ret = decode_str(cases[i].payload, &r, &f);
                ck_assert_msg(ret < 0, "case %zu accepted: %s", i, cases[i].payload);
                ck_assert_msg(f.code == cases[i].code, "case %zu (%s): code %s, message %s", i, cases[i].payload,
                              proto_error_name(f.code), f.message);
                ck_assert_msg(strstr(f.message, cases[i].message_part) != NULL, "case %zu: message \"%s\"", i,
                              f.message);
        }
}
END_TEST

START_TEST(test_request_limits) {
        struct proto_request r;
        struct proto_failure f;
        char name[PROTO_NAME_MAX + 64];
        char buf[512];

        /* Empty payload, NUL bytes, binary garbage. */
        ck_assert_int_eq(proto_request_decode("", 0, &r, NULL, &f), -EBADMSG);
        ck_assert_int_eq(f.code, PROTO_ERR_BAD_JSON);
        ck_assert_int_eq(proto_request_decode("{\"cmd\":\"status\"}\0", 17, &r, NULL, &f), -EBADMSG);
        ck_assert_ptr_nonnull(strstr(f.message, "NUL"));
        srand(4);
        for (int i = 0; i < 2000; i++) {
                char garbage[256];
                size_t len = (size_t) (rand() % (int) sizeof garbage) + 1;
                for (size_t j = 0; j < len; j++)
                        garbage[j] = (char) (rand() & 0xff);
                if (i % 2)
                        garbage[0] = '{';
                ck_assert_int_lt(proto_request_decode(garbage, len, &r, NULL, &f), 0);
        }

        /* Cache names: the longest that fits, then one more. */
        memset(name, 'x', sizeof name);
        name[PROTO_NAME_MAX - 1] = '\0';
        snprintf(buf, sizeof buf, "{\"cmd\":\"history\",\"args\":{\"cache\":\"%s\"}}", name);
        ck_assert_int_eq(decode_str(buf, &r, &f), 0);
        ck_assert_uint_eq(strlen(r.cache), PROTO_NAME_MAX - 1);
        name[PROTO_NAME_MAX - 1] = 'x';
        name[PROTO_NAME_MAX] = '\0';
        snprintf(buf, sizeof buf, "{\"cmd\":\"history\",\"args\":{\"cache\":\"%s\"}}", name);
        ck_assert_int_eq(decode_str(buf, &r, &f), -EINVAL);

        /* Encoding validates too: a client cannot send what the server refuses. */
        char *frame = NULL;
        size_t len;
        proto_request_init(&r, PROTO_CMD_HISTORY);
        ck_assert_int_eq(proto_request_encode(&r, &frame, &len), -EINVAL);
        strcpy(r.cache, "a/b");
        ck_assert_int_eq(proto_request_encode(&r, &frame, &len), -EINVAL);
        proto_request_init(&r, PROTO_CMD_TOP);
        r.limit = PROTO_LIMIT_MAX + 1;
        ck_assert_int_eq(proto_request_encode(&r, &frame, &len), -EINVAL);
        r.limit = 0;
        r.sort = _PROTO_SORT_MAX;
        ck_assert_int_eq(proto_request_encode(&r, &frame, &len), -EINVAL);
        proto_request_init(&r, (enum proto_command) _PROTO_CMD_MAX);
        ck_assert_int_eq(proto_request_encode(&r, &frame, &len), -EINVAL);
        ck_assert_ptr_null(frame);
}
END_TEST

START_TEST(test_names) {
        for (int c = 0; c < _PROTO_CMD_MAX; c++)
                ck_assert_int_eq(proto_command_from_name(proto_command_name((enum proto_command) c)), c);
        for (int e = 0; e < _PROTO_ERR_MAX; e++) {
                ck_assert_ptr_nonnull(proto_error_name((enum proto_error) e));
                ck_assert_int_eq(proto_error_from_name(proto_error_name((enum proto_error) e)), e);
        }
        ck_assert_ptr_null(proto_command_name(_PROTO_CMD_MAX));
        ck_assert_int_eq(proto_command_from_name("Status"), -EINVAL);
        ck_assert_int_eq(proto_command_from_name(NULL), -EINVAL);
        ck_assert_uint_eq(proto_command_flags(PROTO_CMD_ARM) & PROTO_CMD_FLAG_PRIVILEGED, PROTO_CMD_FLAG_PRIVILEGED);
        ck_assert_uint_eq(proto_command_flags(PROTO_CMD_DISARM) & PROTO_CMD_FLAG_PRIVILEGED, PROTO_CMD_FLAG_PRIVILEGED);
        ck_assert_uint_eq(proto_command_flags(PROTO_CMD_RELOAD) & PROTO_CMD_FLAG_PRIVILEGED, PROTO_CMD_FLAG_PRIVILEGED);
        ck_assert_uint_eq(proto_command_flags(PROTO_CMD_STATUS), 0);
        ck_assert_uint_eq(proto_command_flags(PROTO_CMD_CAPTURE), 0);
        ck_assert_int_eq(proto_tier_from_name("minute"), PROTO_TIER_MINUTE);
        ck_assert_int_eq(proto_sort_from_name("objs"), PROTO_SORT_OBJS);
        ck_assert_int_eq(proto_format_from_name("openmetrics"), PROTO_FORMAT_OPENMETRICS);
}
END_TEST

static json_object *roundtrip_response(json_object *doc) {
        char *frame = NULL;
        size_t len = 0, plen = 0;
        json_object *out = NULL;
        ck_assert_int_eq(proto_frame_encode(doc, PROTO_RESPONSE_MAX, &frame, &len), 0);
        const char *payload = frame_payload(frame, len, &plen);
        ck_assert_int_eq(proto_response_decode(payload, plen, &out), 0);
        free(frame);
        json_object_put(doc);
        return out;
}

START_TEST(test_response_roundtrip_and_escaping) {
        /* Every byte a cache name or message could carry comes back intact
         * through a real parser: quotes, backslashes, control characters,
         * UTF-8. */
        static const char nasty[] = "q\"b\\s/\x01\x1f\t\n\r\xc3\xa9\xe2\x82\xac end";
        json_object *data = json_object_new_object();
        json_object_object_add(data, "name", json_object_new_string(nasty));
        json_object_object_add(data, "rate", proto_json_double(2.5));
        json_object_object_add(data, "nan", proto_json_double(NAN));
        json_object_object_add(data, "t", proto_json_time(1795560135123456ULL));
        json_object_object_add(data, "big", proto_json_u64(UINT64_MAX));
        json_object *doc = roundtrip_response(proto_response_new_ok(PROTO_CMD_TOP, data));

        enum proto_error code;
        const char *message;
        ck_assert(proto_response_is_ok(doc, &code, &message));
        json_object *d = json_object_object_get(doc, "data");
        ck_assert_str_eq(json_object_get_string(json_object_object_get(d, "name")), nasty);
        ck_assert_double_eq(json_object_get_double(json_object_object_get(d, "rate")), 2.5);
        ck_assert(json_object_is_type(json_object_object_get(d, "nan"), json_type_null));
        ck_assert_double_eq_tol(json_object_get_double(json_object_object_get(d, "t")), 1795560135.123456, 1e-6);
        ck_assert_int_eq(json_object_get_int64(json_object_object_get(d, "big")), INT64_MAX);
        ck_assert_str_eq(json_object_get_string(json_object_object_get(doc, "cmd")), "top");
        json_object_put(doc);

        doc = roundtrip_response(proto_response_new_error(PROTO_ERR_NOT_FOUND, "no cache \"%s\"", nasty));
        ck_assert(!proto_response_is_ok(doc, &code, &message));
        ck_assert_int_eq(code, PROTO_ERR_NOT_FOUND);
        ck_assert_ptr_nonnull(strstr(message, nasty));
        json_object_put(doc);

        /* An error code this client does not know still reads as an error. */
        const char *future = "{\"v\":1,\"ok\":false,\"error\":\"quota\",\"message\":\"m\"}";
        ck_assert_int_eq(proto_response_decode(future, strlen(future), &doc), 0);
        ck_assert(!proto_response_is_ok(doc, &code, &message));
        ck_assert_int_eq(code, PROTO_ERR_FAILED);
        json_object_put(doc);
}
END_TEST

START_TEST(test_response_decode_errors) {
        static const char *const bad[] = {
                "", "[]", "{}", "{\"ok\":1}", "{\"ok\":true}", "{\"ok\":true,\"data\":[]}",
                "{\"ok\":false,\"error\":\"x\"}", "{\"ok\":false,\"message\":\"x\"}",
                "{\"v\":2,\"ok\":true,\"data\":{}}", "{\"ok\":true,\"data\":{}", "{\"ok\":true,\"data\":{}}x",
        };
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
                json_object *doc = NULL;
                ck_assert_msg(proto_response_decode(bad[i], strlen(bad[i]), &doc) == -EBADMSG, "accepted %s", bad[i]);
        }
}
END_TEST

START_TEST(test_frame_limit) {
        json_object *doc = json_object_new_object();
        char *frame = NULL;
        size_t len;
        json_object_object_add(doc, "k", json_object_new_string("0123456789"));
        /* {"k":"0123456789"} is 18 bytes. */
        ck_assert_int_eq(proto_frame_encode(doc, 17, &frame, &len), -EMSGSIZE);
        ck_assert_ptr_null(frame);
        ck_assert_int_eq(proto_frame_encode(doc, 18, &frame, &len), 0);
        ck_assert_uint_eq(len, PROTO_HEADER_SIZE + 18);
        free(frame);
        json_object_put(doc);
}
END_TEST

START_TEST(test_json_numbers) {
        json_object *o = proto_json_double(INFINITY);
        ck_assert_ptr_null(o);
        o = proto_json_double(1.0 / 3.0);
        ck_assert_str_eq(json_object_to_json_string(o), "0.3333333333");
        json_object_put(o);
        o = proto_json_time(5);
        ck_assert_str_eq(json_object_to_json_string(o), "0.000005");
        json_object_put(o);
}
END_TEST

static Suite *proto_suite(void) {
        Suite *s = suite_create("proto");
        TCase *tc = tcase_create("core");
        tcase_add_test(tc, test_header_roundtrip);
        tcase_add_test(tc, test_json_double_keeps_its_type);
        tcase_add_test(tc, test_request_roundtrip_every_command);
        tcase_add_test(tc, test_request_defaults_and_args_object);
        tcase_add_test(tc, test_names);
        tcase_add_test(tc, test_response_roundtrip_and_escaping);
        tcase_add_test(tc, test_json_numbers);
        suite_add_tcase(s, tc);
        TCase *limits = tcase_create("limits");
        tcase_add_test(limits, test_request_errors);
        tcase_add_test(limits, test_request_limits);
        tcase_add_test(limits, test_response_decode_errors);
        tcase_add_test(limits, test_frame_limit);
        suite_add_tcase(s, limits);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(proto_suite());
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
