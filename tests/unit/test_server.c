/* The socket server on a real libev loop (in a thread) with a fake handler:
 * framing errors, limits, idle clients, stalled readers, permissions. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "control/proto.h"
#include "control/server.h"
#include "testutil.h"

/* A uid/gid no account uses, for the unprivileged children. */
#define OUTSIDER_ID 47111
/* Size of the fake "export" answer: far more than a socket buffer holds. */
#define BIG_RESPONSE_BYTES (4U * 1024U * 1024U)
/* Safety net so a broken server fails a test instead of hanging it. */
#define CLIENT_RECV_TIMEOUT_SEC 30

struct fixture {
        char *dir;
        char path[sizeof ((struct sockaddr_un *) 0)->sun_path];
        struct config_server cfg;
        struct ev_loop *loop;
        struct server *server;
        ev_async stop;
        pthread_t thread;
        bool running;
};

static json_object *fake_handler(const struct server_peer *peer, const struct proto_request *req, json_object *args,
                                 void *userdata) {
        struct fixture *fx = userdata;
        json_object *d = json_object_new_object();
        (void) args;
        json_object_object_add(d, "cmd", json_object_new_string(proto_command_name(req->command)));
        json_object_object_add(d, "uid", json_object_new_int((int) peer->uid));
        json_object_object_add(d, "privileged", json_object_new_boolean(peer->privileged));
        json_object_object_add(d, "reader", json_object_new_boolean(peer->reader));
        switch (req->command) {
        case PROTO_CMD_STATUS: {
                struct server_stats st;
                server_get_stats(fx->server, &st);
                json_object_object_add(d, "clients", json_object_new_int((int) st.clients));
                json_object_object_add(d, "accepted", proto_json_u64(st.accepted));
                json_object_object_add(d, "protocol_errors", proto_json_u64(st.protocol_errors));
                json_object_object_add(d, "idle_closed", proto_json_u64(st.idle_closed));
                json_object_object_add(d, "refused_busy", proto_json_u64(st.refused_busy));
                json_object_object_add(d, "refused_permission", proto_json_u64(st.refused_permission));
                break;
        }
        case PROTO_CMD_EXPORT: {
                char *big = malloc(BIG_RESPONSE_BYTES + 1);
                memset(big, 'x', BIG_RESPONSE_BYTES);
                big[BIG_RESPONSE_BYTES] = '\0';
                json_object_object_add(d, "blob", json_object_new_string(big));
                free(big);
                break;
        }
        case PROTO_CMD_CAPTURE:
                json_object_put(d);
                return proto_response_new_error(PROTO_ERR_NOT_FOUND, "no capture \"%s\"", req->id);
        default:
                json_object_object_add(d, "cache", json_object_new_string(req->cache));
                json_object_object_add(d, "id", json_object_new_string(req->id));
                json_object_object_add(d, "limit", json_object_new_int((int) req->limit));
                json_object_object_add(d, "sort", json_object_new_string(proto_sort_name(req->sort)));
                json_object_object_add(d, "tier", json_object_new_string(proto_tier_name(req->tier)));
                json_object_object_add(d, "since_usec", proto_json_u64(req->since_usec));
                json_object_object_add(d, "duration_usec", proto_json_u64(req->duration_usec));
                json_object_object_add(d, "format", json_object_new_string(proto_format_name(req->format)));
                break;
        }
        return proto_response_new_ok(req->command, d);
}

static void stop_cb(struct ev_loop *loop, ev_async *w, int revents) {
        (void) w;
        (void) revents;
        ev_break(loop, EVBREAK_ALL);
}

static void *loop_thread(void *arg) {
        struct fixture *fx = arg;
        ev_run(fx->loop, 0);
        return NULL;
}

static void fixture_config(struct fixture *fx, const char *group) {
        memset(&fx->cfg, 0, sizeof fx->cfg);
        snprintf(fx->cfg.socket, sizeof fx->cfg.socket, "/run/slabwatch/slabwatch.sock");
        snprintf(fx->cfg.group, sizeof fx->cfg.group, "%s", group ? group : "");
        fx->cfg.max_clients = 64;
        fx->cfg.max_request_bytes = 64 * 1024;
        fx->cfg.idle_timeout_usec = 30ULL * 1000000;
}

static void fixture_init(struct fixture *fx, const char *group) {
        memset(fx, 0, sizeof *fx);
        fx->dir = testutil_mkdtemp();
        /* Unprivileged children must reach the socket below it. */
        ck_assert_int_eq(chmod(fx->dir, 0755), 0);
        fixture_config(fx, group);
        /* The socket's place under paths.root = the fixture's directory. */
        struct config c;
        config_defaults(&c);
        ck_assert_int_eq(config_set_root(&c, fx->dir), 0);
        memcpy(fx->cfg.socket, c.server.socket, sizeof fx->cfg.socket);
        ck_assert_uint_lt(strlen(c.server.socket), sizeof fx->path);
        memcpy(fx->path, c.server.socket, strlen(c.server.socket) + 1);
        ck_assert_str_eq(fx->path + strlen(fx->dir), "/run/slabwatch/slabwatch.sock");
        fx->loop = ev_loop_new(EVFLAG_AUTO);
        ck_assert_ptr_nonnull(fx->loop);
}

static void fixture_run(struct fixture *fx) {
        ev_async_init(&fx->stop, stop_cb);
        ev_async_start(fx->loop, &fx->stop);
        ck_assert_int_eq(pthread_create(&fx->thread, NULL, loop_thread, fx), 0);
        fx->running = true;
}

static void fixture_start(struct fixture *fx) {
        int r = server_new(fx->loop, &fx->cfg, fake_handler, fx, &fx->server);
        ck_assert_msg(r == 0, "server_new: %s", strerror(-r));
        fixture_run(fx);
}

static void fixture_stop(struct fixture *fx) {
        if (fx->running) {
                ev_async_send(fx->loop, &fx->stop);
                pthread_join(fx->thread, NULL);
                fx->running = false;
        }
        server_free(fx->server);
        fx->server = NULL;
}

static void fixture_done(struct fixture *fx) {
        fixture_stop(fx);
        ev_loop_destroy(fx->loop);
        testutil_rmtree(fx->dir);
        free(fx->dir);
}

static int try_connect(const char *path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        if (connect(fd, (struct sockaddr *) &sa, sizeof sa) < 0) {
                int r = -errno;
                close(fd);
                return r;
        }
        struct timeval tv = { .tv_sec = CLIENT_RECV_TIMEOUT_SEC };
        (void) setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        (void) setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        return fd;
}

static int client_connect(const struct fixture *fx) {
        int fd = try_connect(fx->path);
        ck_assert_msg(fd >= 0, "connect %s: %s", fx->path, strerror(-fd));
        return fd;
}

static int send_all(int fd, const void *buf, size_t len) {
        const char *p = buf;
        while (len > 0) {
                ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                p += n;
                len -= (size_t) n;
        }
        return 0;
}

/* 1 complete, 0 EOF before anything, -errno. */
static int recv_all(int fd, void *buf, size_t len) {
        char *p = buf;
        size_t got = 0;
        while (got < len) {
                ssize_t n = recv(fd, p + got, len - got, 0);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        return got == 0 ? 0 : -EPIPE;
                got += (size_t) n;
        }
        return 1;
}

/* The next response on @fd, or NULL at end of stream. */
static json_object *recv_response(int fd) {
        uint8_t header[PROTO_HEADER_SIZE];
        uint32_t len = 0;
        int r = recv_all(fd, header, sizeof header);
        if (r == 0 || r == -ECONNRESET)
                return NULL;
        ck_assert_msg(r == 1, "recv header: %s", strerror(-r));
        ck_assert_int_eq(proto_header_decode(header, PROTO_RESPONSE_MAX, &len, NULL), 0);
        char *payload = malloc(len);
        ck_assert_ptr_nonnull(payload);
        ck_assert_int_eq(recv_all(fd, payload, len), 1);
        json_object *doc = NULL;
        ck_assert_int_eq(proto_response_decode(payload, len, &doc), 0);
        free(payload);
        return doc;
}

static void send_request(int fd, const struct proto_request *req) {
        char *frame = NULL;
        size_t len = 0;
        ck_assert_int_eq(proto_request_encode(req, &frame, &len), 0);
        ck_assert_int_eq(send_all(fd, frame, len), 0);
        free(frame);
}

static json_object *simple_request(int fd, enum proto_command c) {
        struct proto_request req;
        proto_request_init(&req, c);
        if (c == PROTO_CMD_DISARM || c == PROTO_CMD_ARM || c == PROTO_CMD_HISTORY)
                strcpy(req.cache, "filp");
        if (c == PROTO_CMD_CAPTURE)
                strcpy(req.id, "x");
        send_request(fd, &req);
        return recv_response(fd);
}

static void assert_eof(int fd) {
        char c;
        ssize_t n = recv(fd, &c, 1, 0);
        ck_assert_msg(n == 0 || (n < 0 && errno == ECONNRESET), "expected the connection closed, got %zd (%s)", n,
                      n < 0 ? strerror(errno) : "data");
}

static json_object *data_of(json_object *doc) {
        enum proto_error code;
        const char *message = NULL;
        ck_assert_ptr_nonnull(doc);
        ck_assert_msg(proto_response_is_ok(doc, &code, &message), "error %s: %s", proto_error_name(code), message);
        return json_object_object_get(doc, "data");
}

static void assert_error(json_object *doc, enum proto_error expected, const char *message_part) {
        enum proto_error code;
        const char *message = NULL;
        ck_assert_msg(doc != NULL, "no response; expected error %s", proto_error_name(expected));
        ck_assert_msg(!proto_response_is_ok(doc, &code, &message), "expected error %s, got ok",
                      proto_error_name(expected));
        ck_assert_msg(code == expected, "expected error %s, got %s: %s", proto_error_name(expected),
                      proto_error_name(code), message);
        if (message_part)
                ck_assert_msg(strstr(message, message_part), "message \"%s\" lacks \"%s\"", message, message_part);
        json_object_put(doc);
}

static int64_t status_field(const struct fixture *fx, const char *key) {
        int fd = client_connect(fx);
        json_object *doc = simple_request(fd, PROTO_CMD_STATUS);
        int64_t v = json_object_get_int64(json_object_object_get(data_of(doc), key));
        json_object_put(doc);
        close(fd);
        return v;
}

START_TEST(test_roundtrip_every_command) {
        struct fixture fx;
        fixture_init(&fx, NULL);
        fixture_start(&fx);
        int fd = client_connect(&fx);
        /* One connection carries any number of requests. */
        for (int c = 0; c < _PROTO_CMD_MAX; c++) {
                struct proto_request req;
                proto_request_init(&req, (enum proto_command) c);
                if (c == PROTO_CMD_HISTORY || c == PROTO_CMD_ARM || c == PROTO_CMD_DISARM)
                        strcpy(req.cache, "kmalloc-8k");
                if (c == PROTO_CMD_CAPTURE)
                        strcpy(req.id, "cap-1");
                if (c == PROTO_CMD_TOP) {
                        req.limit = 5;
                        req.sort = PROTO_SORT_OBJS;
                }
                if (c == PROTO_CMD_ARM)
                        req.duration_usec = 30000000;
                if (c == PROTO_CMD_HISTORY)
                        req.since_usec = 3600000000ULL;
                send_request(fd, &req);
                json_object *doc = recv_response(fd);
                if (c == PROTO_CMD_CAPTURE) {
                        assert_error(doc, PROTO_ERR_NOT_FOUND, "cap-1");
                        continue;
                }
                json_object *d = data_of(doc);
                ck_assert_str_eq(json_object_get_string(json_object_object_get(doc, "cmd")),
                                 proto_command_name((enum proto_command) c));
                ck_assert(json_object_get_boolean(json_object_object_get(d, "privileged")));
                if (c == PROTO_CMD_HISTORY)
                        ck_assert_int_eq(json_object_get_int64(json_object_object_get(d, "since_usec")),
                                         3600000000LL);
                if (c == PROTO_CMD_TOP) {
                        ck_assert_int_eq(json_object_get_int(json_object_object_get(d, "limit")), 5);
                        ck_assert_str_eq(json_object_get_string(json_object_object_get(d, "sort")), "objs");
                }
                if (c == PROTO_CMD_ARM) {
                        ck_assert_str_eq(json_object_get_string(json_object_object_get(d, "cache")), "kmalloc-8k");
                        ck_assert_int_eq(json_object_get_int64(json_object_object_get(d, "duration_usec")),
                                         30000000);
                }
                json_object_put(doc);
        }
        close(fd);
        fixture_done(&fx);
}
END_TEST

struct frame_case {
        const char *what;
        const void *bytes;
        size_t len;
        enum proto_error code;
        const char *message_part;
};

START_TEST(test_bad_frames_close_connection) {
        struct fixture fx;
        uint8_t v2[PROTO_HEADER_SIZE], big[PROTO_HEADER_SIZE], empty[PROTO_HEADER_SIZE];
        uint8_t garbage[4096];

        fixture_init(&fx, NULL);
        fixture_start(&fx);
        proto_header_encode(10, v2);
        v2[3] = 9;
        proto_header_encode((uint32_t) fx.cfg.max_request_bytes + 1, big);
        proto_header_encode(0, empty);
        srand(7);
        for (size_t i = 0; i < sizeof garbage; i++)
                garbage[i] = (uint8_t) rand();
        garbage[0] = 0xff;
        const struct frame_case cases[] = {
                { "http", "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 27, PROTO_ERR_BAD_FRAME, "not a slabwatch" },
                { "text", "{\"cmd\":\"status\"}\n", 17, PROTO_ERR_BAD_FRAME, "magic" },
                { "binary", garbage, sizeof garbage, PROTO_ERR_BAD_FRAME, NULL },
                { "version", v2, sizeof v2, PROTO_ERR_UNSUPPORTED_VERSION, "version 9" },
                { "oversized", big, sizeof big, PROTO_ERR_REQUEST_TOO_LARGE, "65536" },
                { "empty", empty, sizeof empty, PROTO_ERR_BAD_JSON, "empty" },
        };
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                int fd = client_connect(&fx);
                /* The server may close before it has read everything we
                 * send; what matters is the answer and the close. */
                (void) send_all(fd, cases[i].bytes, cases[i].len);
                assert_error(recv_response(fd), cases[i].code, cases[i].message_part);
                assert_eof(fd);
                close(fd);
        }
        /* The daemon is unaffected and counted each one. */
        ck_assert_int_eq(status_field(&fx, "protocol_errors"), (int64_t) (sizeof cases / sizeof cases[0]));
        fixture_done(&fx);
}
END_TEST

START_TEST(test_bad_request_keeps_connection) {
        struct fixture fx;
        fixture_init(&fx, NULL);
        fixture_start(&fx);
        int fd = client_connect(&fx);
        static const char *const payloads[] = {
                "{oops", "{\"cmd\":\"launch\"}", "{\"cmd\":\"top\",\"args\":{\"n\":-1}}", "[]",
        };
        static const enum proto_error codes[] = {
                PROTO_ERR_BAD_JSON, PROTO_ERR_UNKNOWN_COMMAND, PROTO_ERR_BAD_ARGUMENT, PROTO_ERR_BAD_REQUEST,
        };
        for (size_t i = 0; i < sizeof payloads / sizeof payloads[0]; i++) {
                uint8_t header[PROTO_HEADER_SIZE];
                proto_header_encode((uint32_t) strlen(payloads[i]), header);
                ck_assert_int_eq(send_all(fd, header, sizeof header), 0);
                ck_assert_int_eq(send_all(fd, payloads[i], strlen(payloads[i])), 0);
                assert_error(recv_response(fd), codes[i], NULL);
        }
        json_object *doc = simple_request(fd, PROTO_CMD_VERSION);
        data_of(doc);
        json_object_put(doc);
        close(fd);
        fixture_done(&fx);
}
END_TEST

START_TEST(test_truncated_request) {
        struct fixture fx;
        uint8_t header[PROTO_HEADER_SIZE];
        fixture_init(&fx, NULL);
        fixture_start(&fx);

        int fd = client_connect(&fx);
        proto_header_encode(100, header);
        ck_assert_int_eq(send_all(fd, header, sizeof header), 0);
        ck_assert_int_eq(send_all(fd, "{\"cmd\":\"st", 10), 0);
        ck_assert_int_eq(shutdown(fd, SHUT_WR), 0);
        assert_error(recv_response(fd), PROTO_ERR_TRUNCATED, "18 of 108");
        assert_eof(fd);
        close(fd);

        fd = client_connect(&fx);
        ck_assert_int_eq(send_all(fd, "SLW", 3), 0);
        ck_assert_int_eq(shutdown(fd, SHUT_WR), 0);
        assert_error(recv_response(fd), PROTO_ERR_TRUNCATED, "3 of 8");
        close(fd);

        /* A complete request followed by a half-close is still answered. */
        fd = client_connect(&fx);
        struct proto_request req;
        proto_request_init(&req, PROTO_CMD_STATUS);
        send_request(fd, &req);
        ck_assert_int_eq(shutdown(fd, SHUT_WR), 0);
        json_object *doc = recv_response(fd);
        data_of(doc);
        json_object_put(doc);
        assert_eof(fd);
        close(fd);
        fixture_done(&fx);
}
END_TEST

START_TEST(test_idle_client_is_closed) {
        struct fixture fx;
        fixture_init(&fx, NULL);
        fx.cfg.idle_timeout_usec = 200000;
        fixture_start(&fx);

        /* Connects and never sends. */
        int silent = client_connect(&fx);
        /* Sends half a header, then stalls. */
        int partial = client_connect(&fx);
        ck_assert_int_eq(send_all(partial, "SLW", 3), 0);

        assert_error(recv_response(silent), PROTO_ERR_TIMEOUT, "no complete request");
        assert_eof(silent);
        assert_error(recv_response(partial), PROTO_ERR_TIMEOUT, NULL);
        assert_eof(partial);
        close(silent);
        close(partial);
        ck_assert_int_ge(status_field(&fx, "idle_closed"), 2);
        fixture_done(&fx);
}
END_TEST

/* Slowloris: a byte every 50 ms never completes a request, and the
 * deadline (200 ms) is not pushed back by them. */
START_TEST(test_trickling_client_is_closed) {
        struct fixture fx;
        fixture_init(&fx, NULL);
        fx.cfg.idle_timeout_usec = 200000;
        fixture_start(&fx);
        int fd = client_connect(&fx);
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        static const char header[] = "SLW\x01\x00\x00\x00\x40";
        int sent = 0;
        for (size_t i = 0; i < 40; i++) {
                if (send(fd, i < 8 ? &header[i] : " ", 1, MSG_NOSIGNAL) < 0)
                        break;
                sent++;
                usleep(50000);
                clock_gettime(CLOCK_MONOTONIC, &t1);
                if ((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000 >= 1500)
                        break;
        }
        /* Closed long before the 1.5 s (about 28 bytes) it was willing to trickle. */
        ck_assert_int_lt(sent, 15);
        close(fd);
        ck_assert_int_ge(status_field(&fx, "idle_closed"), 1);
        fixture_done(&fx);
}
END_TEST

#define MANY_CLIENTS 50

START_TEST(test_many_clients_at_once) {
        struct fixture fx;
        int fds[MANY_CLIENTS];
        fixture_init(&fx, NULL);
        fixture_start(&fx);
        for (int i = 0; i < MANY_CLIENTS; i++)
                fds[i] = client_connect(&fx);
        for (int i = 0; i < MANY_CLIENTS; i++) {
                struct proto_request req;
                proto_request_init(&req, PROTO_CMD_TOP);
                req.limit = (unsigned) i + 1;
                send_request(fds[i], &req);
        }
        /* Read in reverse order: every answer waits in its own buffer. */
        for (int i = MANY_CLIENTS - 1; i >= 0; i--) {
                json_object *doc = recv_response(fds[i]);
                ck_assert_int_eq(json_object_get_int(json_object_object_get(data_of(doc), "limit")), i + 1);
                json_object_put(doc);
        }
        int64_t clients = status_field(&fx, "clients");
        ck_assert_int_eq(clients, MANY_CLIENTS + 1);
        for (int i = 0; i < MANY_CLIENTS; i++)
                close(fds[i]);
        fixture_done(&fx);
}
END_TEST

START_TEST(test_client_limit) {
        struct fixture fx;
        int fds[4 + SERVER_ROOT_SLOTS];
        /* Root may hold SERVER_ROOT_SLOTS beyond the limit. */
        int allowed = 4 + (geteuid() == 0 ? (int) SERVER_ROOT_SLOTS : 0);
        fixture_init(&fx, NULL);
        fx.cfg.max_clients = 4;
        fixture_start(&fx);
        for (int i = 0; i < allowed; i++) {
                fds[i] = client_connect(&fx);
                json_object *doc = simple_request(fds[i], PROTO_CMD_VERSION);
                data_of(doc);
                json_object_put(doc);
        }
        int extra = client_connect(&fx);
        assert_error(recv_response(extra), PROTO_ERR_TOO_MANY_CLIENTS, "limit 4");
        assert_eof(extra);
        close(extra);

        /* A slot that frees up is usable again (the server sees the close
         * in its own time: retry until it has). */
        close(fds[allowed - 1]);
        json_object *doc = NULL;
        for (int attempt = 0; attempt < 1000 && !doc; attempt++) {
                int fd = client_connect(&fx);
                char *frame = NULL;
                size_t len = 0;
                struct proto_request req;
                proto_request_init(&req, PROTO_CMD_VERSION);
                ck_assert_int_eq(proto_request_encode(&req, &frame, &len), 0);
                /* Refused connections may be closed before we send. */
                (void) send_all(fd, frame, len);
                free(frame);
                doc = recv_response(fd);
                close(fd);
                if (doc && !proto_response_is_ok(doc, NULL, NULL)) {
                        json_object_put(doc);
                        doc = NULL;
                        usleep(1000);
                }
        }
        data_of(doc);
        json_object_put(doc);
        for (int i = 0; i < allowed - 1; i++)
                close(fds[i]);
        fixture_done(&fx);
}
END_TEST

START_TEST(test_stalled_reader_does_not_block_others) {
        struct fixture fx;
        fixture_init(&fx, NULL);
        fixture_start(&fx);

        int stalled = client_connect(&fx);
        struct proto_request req;
        proto_request_init(&req, PROTO_CMD_EXPORT);
        send_request(stalled, &req);
        /* It reads nothing of its 4 MiB answer while others are served. */
        for (int i = 0; i < 20; i++) {
                int fd = client_connect(&fx);
                json_object *doc = simple_request(fd, PROTO_CMD_STATUS);
                data_of(doc);
                json_object_put(doc);
                close(fd);
        }
        json_object *doc = recv_response(stalled);
        const char *blob = json_object_get_string(json_object_object_get(data_of(doc), "blob"));
        ck_assert_uint_eq(strlen(blob), BIG_RESPONSE_BYTES);
        json_object_put(doc);
        close(stalled);
        fixture_done(&fx);
}
END_TEST

START_TEST(test_pipelined_requests) {
        struct fixture fx;
        fixture_init(&fx, NULL);
        fixture_start(&fx);
        int fd = client_connect(&fx);
        char *f1 = NULL, *f2 = NULL, *both;
        size_t l1, l2;
        struct proto_request req;
        proto_request_init(&req, PROTO_CMD_TOP);
        req.limit = 1;
        ck_assert_int_eq(proto_request_encode(&req, &f1, &l1), 0);
        req.limit = 2;
        ck_assert_int_eq(proto_request_encode(&req, &f2, &l2), 0);
        both = malloc(l1 + l2);
        memcpy(both, f1, l1);
        memcpy(both + l1, f2, l2);
        ck_assert_int_eq(send_all(fd, both, l1 + l2), 0);
        for (int i = 1; i <= 2; i++) {
                json_object *doc = recv_response(fd);
                ck_assert_int_eq(json_object_get_int(json_object_object_get(data_of(doc), "limit")), i);
                json_object_put(doc);
        }
        free(f1);
        free(f2);
        free(both);
        close(fd);
        fixture_done(&fx);
}
END_TEST

START_TEST(test_socket_file) {
        struct fixture fx;
        struct stat st;
        struct server *second = NULL;
        fixture_init(&fx, NULL);

        /* A stale socket from a dead daemon is replaced. */
        char dir[sizeof fx.path];
        snprintf(dir, sizeof dir, "%s/run/slabwatch", fx.dir);
        testutil_write_file(fx.dir, "run/slabwatch/.keep", "", 0);
        int stale = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        snprintf(sa.sun_path, sizeof sa.sun_path, "%s", fx.path);
        ck_assert_int_eq(bind(stale, (struct sockaddr *) &sa, sizeof sa), 0);
        close(stale);

        fixture_start(&fx);
        ck_assert_int_eq(lstat(fx.path, &st), 0);
        ck_assert(S_ISSOCK(st.st_mode));
        ck_assert_uint_eq(st.st_mode & 07777, 0660);
        ck_assert_str_eq(server_socket_path(fx.server), fx.path);

        /* A live daemon's socket is not taken over. */
        ck_assert_int_eq(server_new(fx.loop, &fx.cfg, fake_handler, &fx, &second), -EADDRINUSE);
        ck_assert_int_eq(lstat(fx.path, &st), 0);

        fixture_stop(&fx);
        /* Freed: the socket is gone. */
        ck_assert_int_eq(lstat(fx.path, &st), -1);

        /* Something else at the path is never removed. */
        testutil_write_file(fx.dir, "run/slabwatch/slabwatch.sock", "data", 4);
        ck_assert_int_eq(server_new(fx.loop, &fx.cfg, fake_handler, &fx, &second), -EEXIST);
        ck_assert_int_eq(lstat(fx.path, &st), 0);
        ck_assert(S_ISREG(st.st_mode));

        /* Too long for a sockaddr_un. */
        char saved[sizeof fx.cfg.socket];
        memcpy(saved, fx.cfg.socket, sizeof saved);
        memset(fx.cfg.socket, 'a', 200);
        fx.cfg.socket[0] = '/';
        fx.cfg.socket[200] = '\0';
        ck_assert_int_eq(server_new(fx.loop, &fx.cfg, fake_handler, &fx, &second), -ENAMETOOLONG);
        memcpy(fx.cfg.socket, saved, sizeof saved);
        fx.cfg.socket[0] = 'r';
        ck_assert_int_eq(server_new(fx.loop, &fx.cfg, fake_handler, &fx, &second), -EINVAL);
        fixture_done(&fx);
}
END_TEST

START_TEST(test_from_fd) {
        struct fixture fx;
        int pipefd[2];
        fixture_init(&fx, NULL);
        ck_assert_int_eq(pipe2(pipefd, O_CLOEXEC), 0);
        ck_assert_int_eq(server_new_from_fd(fx.loop, &fx.cfg, pipefd[0], fake_handler, &fx, &fx.server), -ENOTSOCK);
        close(pipefd[0]);
        close(pipefd[1]);

        /* What systemd hands over: a bound, listening socket. */
        testutil_write_file(fx.dir, "run/slabwatch/.keep", "", 0);
        int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        snprintf(sa.sun_path, sizeof sa.sun_path, "%s", fx.path);
        ck_assert_int_eq(bind(lfd, (struct sockaddr *) &sa, sizeof sa), 0);
        ck_assert_int_eq(server_new_from_fd(fx.loop, &fx.cfg, lfd, fake_handler, &fx, &fx.server), -ENOTSOCK);
        ck_assert_int_eq(listen(lfd, 8), 0);
        ck_assert_int_eq(server_new_from_fd(fx.loop, &fx.cfg, lfd, fake_handler, &fx, &fx.server), 0);
        ck_assert_ptr_null(server_socket_path(fx.server));
        fixture_run(&fx);
        int fd = client_connect(&fx);
        json_object *doc = simple_request(fd, PROTO_CMD_STATUS);
        data_of(doc);
        json_object_put(doc);
        close(fd);
        fixture_stop(&fx);
        /* systemd owns the path: we leave it. */
        struct stat st;
        ck_assert_int_eq(lstat(fx.path, &st), 0);
        fixture_done(&fx);
}
END_TEST

/* Permission checks need real credentials: children drop to an unprivileged
 * uid. They report through their exit code. */
enum {
        CHILD_OK = 0,
        CHILD_SETUP = 10,
        CHILD_CONNECT,
        CHILD_PROTOCOL,
        CHILD_EXPECTATION,
};

static int child_request(int fd, enum proto_command c, json_object **ret) {
        struct proto_request req;
        char *frame = NULL;
        size_t len = 0;
        proto_request_init(&req, c);
        if (c == PROTO_CMD_ARM || c == PROTO_CMD_DISARM)
                strcpy(req.cache, "filp");
        if (proto_request_encode(&req, &frame, &len) < 0)
                return CHILD_PROTOCOL;
        /* A refused client may find the connection closed already. */
        (void) send_all(fd, frame, len);
        free(frame);
        uint8_t header[PROTO_HEADER_SIZE];
        uint32_t plen;
        if (recv_all(fd, header, sizeof header) != 1 ||
            proto_header_decode(header, PROTO_RESPONSE_MAX, &plen, NULL) < 0)
                return CHILD_PROTOCOL;
        char *payload = malloc(plen);
        if (!payload || recv_all(fd, payload, plen) != 1 || proto_response_decode(payload, plen, ret) < 0)
                return CHILD_PROTOCOL;
        free(payload);
        return CHILD_OK;
}

static bool is_error(json_object *doc, enum proto_error code) {
        enum proto_error c;
        return !proto_response_is_ok(doc, &c, NULL) && c == code;
}

enum child_role {
        ROLE_OUTSIDER,          /* neither root nor in the group */
        ROLE_PRIMARY_GROUP,     /* group as primary gid */
        ROLE_SUPPLEMENTARY,     /* group as a supplementary group only */
};

static int child_main(const char *path, enum child_role role, gid_t group) {
        gid_t outsider_gid = OUTSIDER_ID;
        if (role == ROLE_SUPPLEMENTARY ? setgroups(1, &group) < 0 : setgroups(0, NULL) < 0)
                return CHILD_SETUP;
        if (setresgid(role == ROLE_PRIMARY_GROUP ? group : outsider_gid,
                      role == ROLE_PRIMARY_GROUP ? group : outsider_gid,
                      role == ROLE_PRIMARY_GROUP ? group : outsider_gid) < 0)
                return CHILD_SETUP;
        if (setresuid(OUTSIDER_ID, OUTSIDER_ID, OUTSIDER_ID) < 0)
                return CHILD_SETUP;
        int fd = try_connect(path);
        if (fd < 0)
                return CHILD_CONNECT;
        json_object *doc = NULL;
        int r = child_request(fd, PROTO_CMD_STATUS, &doc);
        if (r != CHILD_OK)
                return r;
        if (role == ROLE_OUTSIDER) {
                enum proto_error code;
                const char *message;
                if (proto_response_is_ok(doc, &code, &message) || code != PROTO_ERR_PERMISSION_DENIED ||
                    !strstr(message, "47111"))
                        return CHILD_EXPECTATION;
                char c;
                ssize_t n = recv(fd, &c, 1, 0);
                return n == 0 || (n < 0 && errno == ECONNRESET) ? CHILD_OK : CHILD_EXPECTATION;
        }
        json_object *d = json_object_object_get(doc, "data");
        if (!proto_response_is_ok(doc, NULL, NULL) || !json_object_get_boolean(json_object_object_get(d, "reader")) ||
            json_object_get_boolean(json_object_object_get(d, "privileged")))
                return CHILD_EXPECTATION;
        json_object_put(doc);
        /* Readers may not change state, but keep their connection. */
        for (enum proto_command c = PROTO_CMD_ARM; c <= PROTO_CMD_RELOAD; c++) {
                r = child_request(fd, c, &doc);
                if (r != CHILD_OK)
                        return r;
                if (!is_error(doc, PROTO_ERR_PERMISSION_DENIED))
                        return CHILD_EXPECTATION;
                json_object_put(doc);
        }
        r = child_request(fd, PROTO_CMD_TOP, &doc);
        if (r != CHILD_OK)
                return r;
        return proto_response_is_ok(doc, NULL, NULL) ? CHILD_OK : CHILD_EXPECTATION;
}

static int run_child(const char *path, enum child_role role, gid_t group) {
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0)
                _exit(child_main(path, role, group));
        int status = 0;
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert(WIFEXITED(status));
        return WEXITSTATUS(status);
}

/* Any existing group that root is the only one to care about here. */
static const char *test_group(gid_t *ret_gid) {
        static const char *const names[] = { "nogroup", "nobody", "daemon" };
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
                struct group *g = getgrnam(names[i]);
                if (g) {
                        *ret_gid = g->gr_gid;
                        return names[i];
                }
        }
        return NULL;
}

START_TEST(test_permissions) {
        struct fixture fx;
        struct stat st;
        gid_t gid;
        const char *group = test_group(&gid);
        ck_assert_ptr_nonnull(group);
        fixture_init(&fx, group);
        fixture_start(&fx);
        ck_assert_int_eq(lstat(fx.path, &st), 0);
        ck_assert_uint_eq(st.st_gid, gid);

        /* The 0660 socket keeps outsiders away at connect() already. */
        ck_assert_int_eq(run_child(fx.path, ROLE_OUTSIDER, gid), CHILD_CONNECT);
        ck_assert_int_eq(run_child(fx.path, ROLE_PRIMARY_GROUP, gid), CHILD_OK);
        ck_assert_int_eq(run_child(fx.path, ROLE_SUPPLEMENTARY, gid), CHILD_OK);

        /* With the file mode opened up (a misconfigured socket unit), the
         * credential check still refuses them, with a message. */
        ck_assert_int_eq(chmod(fx.path, 0666), 0);
        ck_assert_int_eq(run_child(fx.path, ROLE_OUTSIDER, gid), CHILD_OK);
        ck_assert_int_eq(status_field(&fx, "refused_permission"), 1);
        fixture_done(&fx);

        /* A group that does not exist: only root. */
        fixture_init(&fx, "no-such-group-slabwatch");
        fixture_start(&fx);
        ck_assert_int_eq(chmod(fx.path, 0666), 0);
        ck_assert_int_eq(run_child(fx.path, ROLE_SUPPLEMENTARY, gid), CHILD_EXPECTATION);
        fixture_done(&fx);
}
END_TEST

static Suite *server_suite(void) {
        Suite *s = suite_create("server");
        TCase *tc = tcase_create("core");
        tcase_add_test(tc, test_roundtrip_every_command);
        tcase_add_test(tc, test_pipelined_requests);
        tcase_add_test(tc, test_socket_file);
        tcase_add_test(tc, test_from_fd);
        suite_add_tcase(s, tc);
        TCase *limits = tcase_create("limits");
        tcase_add_test(limits, test_bad_frames_close_connection);
        tcase_add_test(limits, test_bad_request_keeps_connection);
        tcase_add_test(limits, test_truncated_request);
        tcase_add_test(limits, test_idle_client_is_closed);
        tcase_add_test(limits, test_trickling_client_is_closed);
        tcase_add_test(limits, test_many_clients_at_once);
        tcase_add_test(limits, test_client_limit);
        tcase_add_test(limits, test_stalled_reader_does_not_block_others);
        suite_add_tcase(s, limits);
        if (geteuid() == 0) {
                TCase *perm = tcase_create("permissions");
                tcase_add_test(perm, test_permissions);
                suite_add_tcase(s, perm);
        } else
                fprintf(stderr, "test_server: not root, skipping the permission tests (they switch uids)\n");
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(server_suite());
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
