/* ctl_conn — one request, one answer over the slabwatchd socket, with a
 * deadline on every step. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"

void ctl_error(const char *format, ...) {
        va_list ap;
        fputs("slabwatchctl: ", stderr);
        va_start(ap, format);
        vfprintf(stderr, format, ap);
        va_end(ap);
        fputc('\n', stderr);
}

static int64_t now_msec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait for @events on @fd until @deadline_ms. 0, -ETIMEDOUT, -errno. */
static int wait_fd(int fd, short events, int64_t deadline_ms) {
        for (;;) {
                int64_t left = deadline_ms - now_msec();
                if (left <= 0)
                        return -ETIMEDOUT;
                struct pollfd p = { .fd = fd, .events = events };
                int r = poll(&p, 1, left > INT32_MAX ? INT32_MAX : (int) left);
                if (r < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (r > 0)
                        return 0;
        }
}

static int connect_socket(const char *path, int64_t deadline_ms, int *ret_fd) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        if (strlen(path) >= sizeof sa.sun_path)
                return -ENAMETOOLONG;
        strcpy(sa.sun_path, path);
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return -errno;
        if (connect(fd, (struct sockaddr *) &sa, sizeof sa) < 0) {
                int r = -errno;
                /* A full backlog: the daemon is there but busy; wait. */
                if (r == -EAGAIN || r == -EINPROGRESS) {
                        r = wait_fd(fd, POLLOUT, deadline_ms);
                        if (r == 0) {
                                int err = 0;
                                socklen_t len = sizeof err;
                                if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
                                        r = -errno;
                                else
                                        r = -err;
                        }
                }
                if (r < 0) {
                        close(fd);
                        return r;
                }
        }
        *ret_fd = fd;
        return 0;
}

static int send_all(int fd, const char *buf, size_t len, int64_t deadline_ms) {
        while (len > 0) {
                ssize_t n = send(fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN || errno == EWOULDBLOCK) {
                                int r = wait_fd(fd, POLLOUT, deadline_ms);
                                if (r < 0)
                                        return r;
                                continue;
                        }
                        return -errno;
                }
                buf += n;
                len -= (size_t) n;
        }
        return 0;
}

/* 0 when complete, -EPIPE at EOF (*ret_got says how much came), -errno. */
static int recv_all(int fd, char *buf, size_t len, int64_t deadline_ms, size_t *ret_got) {
        size_t got = 0;
        int r = 0;
        while (got < len) {
                ssize_t n = recv(fd, buf + got, len - got, MSG_DONTWAIT);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN || errno == EWOULDBLOCK) {
                                r = wait_fd(fd, POLLIN, deadline_ms);
                                if (r < 0)
                                        break;
                                continue;
                        }
                        r = -errno;
                        break;
                }
                if (n == 0) {
                        r = -EPIPE;
                        break;
                }
                got += (size_t) n;
        }
        if (ret_got)
                *ret_got = got;
        return r;
}

static void report_connect_error(const char *path, int r) {
        if (r == -ENOENT || r == -ECONNREFUSED)
                ctl_error("slabwatchd is not running: cannot connect to %s: %s", path, strerror(-r));
        else if (r == -EACCES || r == -EPERM)
                ctl_error("cannot connect to %s: %s (slabwatchd answers root and members of its group, "
                          "\"slabwatch\" by default)", path, strerror(-r));
        else if (r == -ETIMEDOUT)
                ctl_error("slabwatchd is not answering: connecting to %s timed out", path);
        else
                ctl_error("cannot connect to %s: %s", path, strerror(-r));
}

int ctl_call(const struct ctl *c, const struct proto_request *req, struct ctl_reply *ret) {
        char *frame = NULL;
        size_t frame_len = 0;
        int fd = -1, r, exit_code = CTL_EXIT_ERROR;
        int64_t deadline = now_msec() + (int64_t) c->timeout_sec * 1000;
        uint8_t header[PROTO_HEADER_SIZE];
        char *payload = NULL;
        size_t got = 0;
        uint32_t len = 0;
        uint8_t version = 0;
        json_object *doc = NULL;

        r = proto_request_encode(req, &frame, &frame_len);
        if (r < 0) {
                ctl_error("cannot encode the request: %s", strerror(-r));
                return CTL_EXIT_ERROR;
        }
        r = connect_socket(c->socket_path, deadline, &fd);
        if (r < 0) {
                report_connect_error(c->socket_path, r);
                exit_code = CTL_EXIT_UNREACHABLE;
                goto out;
        }
        r = send_all(fd, frame, frame_len, deadline);
        /* A refused client finds the connection closed while sending; the
         * daemon's reason is waiting to be read. */
        if (r < 0 && r != -EPIPE && r != -ECONNRESET) {
                ctl_error("cannot send to slabwatchd at %s: %s", c->socket_path,
                          r == -ETIMEDOUT ? "timed out" : strerror(-r));
                goto out;
        }
        r = recv_all(fd, (char *) header, sizeof header, deadline, &got);
        if (r == -EPIPE || r == -ECONNRESET) {
                ctl_error("slabwatchd at %s closed the connection without answering", c->socket_path);
                goto out;
        }
        if (r < 0) {
                ctl_error("no answer from slabwatchd at %s: %s", c->socket_path,
                          r == -ETIMEDOUT ? "timed out (--timeout)" : strerror(-r));
                goto out;
        }
        r = proto_header_decode(header, PROTO_RESPONSE_MAX, &len, &version);
        if (r == -EPROTONOSUPPORT) {
                ctl_error("slabwatchd speaks protocol version %u, this slabwatchctl version %d: "
                          "use the slabwatchctl that came with the daemon", version, PROTO_VERSION);
                goto out;
        }
        if (r < 0) {
                ctl_error("%s does not answer like slabwatchd (%s)", c->socket_path,
                          r == -EMSGSIZE ? "answer too large" : "bad frame");
                goto out;
        }
        payload = malloc((size_t) len + 1);
        if (!payload) {
                ctl_error("out of memory for a %u byte answer", len);
                goto out;
        }
        r = recv_all(fd, payload, len, deadline, &got);
        if (r < 0) {
                ctl_error("the answer from slabwatchd was cut short after %zu of %u bytes: %s", got, len,
                          r == -EPIPE ? "connection closed" : r == -ETIMEDOUT ? "timed out" : strerror(-r));
                goto out;
        }
        payload[len] = '\0';
        r = proto_response_decode(payload, len, &doc);
        if (r < 0) {
                ctl_error("slabwatchd sent an answer that is not valid protocol JSON");
                goto out;
        }
        ret->doc = doc;
        ret->raw = payload;
        ret->raw_len = len;
        payload = NULL;
        exit_code = CTL_EXIT_OK;
out:
        free(payload);
        free(frame);
        if (fd >= 0)
                close(fd);
        return exit_code;
}

void ctl_reply_done(struct ctl_reply *r) {
        json_object_put(r->doc);
        free(r->raw);
        *r = (struct ctl_reply) { 0 };
}

int ctl_request(const struct ctl *c, const struct proto_request *req, struct ctl_reply *reply,
                json_object **ret_data) {
        enum proto_error code;
        const char *message = NULL;

        *ret_data = NULL;
        int r = ctl_call(c, req, reply);
        if (r != CTL_EXIT_OK)
                return r;
        bool ok = proto_response_is_ok(reply->doc, &code, &message);
        /* A refusal for lack of permission, whether the socket's mode or
         * the daemon's own check says it, is exit status 3, as
         * slabwatchctl(1) promises; other refusals are 1. */
        int refused = !ok && code == PROTO_ERR_PERMISSION_DENIED ? CTL_EXIT_UNREACHABLE : CTL_EXIT_ERROR;
        if (c->json) {
                /* Untouched, for scripts and jq. */
                fwrite(reply->raw, 1, reply->raw_len, stdout);
                fputc('\n', stdout);
                return ok ? CTL_EXIT_OK : refused;
        }
        if (!ok) {
                ctl_error("%s", message);
                if (code == PROTO_ERR_PERMISSION_DENIED &&
                    (proto_command_flags(req->command) & PROTO_CMD_FLAG_PRIVILEGED))
                        fprintf(stderr, "slabwatchctl: run it as root (e.g. with sudo)\n");
                return refused;
        }
        *ret_data = json_object_object_get(reply->doc, "data");
        return CTL_EXIT_OK;
}
