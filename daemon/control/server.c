/* server — non-blocking Unix socket server for the slabwatchd protocol. */
#include "control/server.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "core/log.h"

/* Defaults for config keys left at 0. */
#define SERVER_MAX_CLIENTS_DEFAULT 32U
#define SERVER_MAX_REQUEST_DEFAULT (64U * 1024U)
#define SERVER_IDLE_TIMEOUT_DEFAULT_USEC (30ULL * 1000000ULL)
/* Smallest request limit we accept from a config: a request with a cache
 * name and a few arguments must always fit. */
#define SERVER_MAX_REQUEST_MIN 512U
/* getgrnam_r() scratch space; a group with this many members is unusual. */
#define SERVER_GROUP_BUF_MAX (1024U * 1024U)
/* Peer group lists larger than this are not read (NGROUPS_MAX is 65536). */
#define SERVER_PEER_GROUPS_HARD_MAX 65536U

#define container_of(ptr, type, member) ((type *) ((char *) (ptr) - offsetof(type, member)))

enum client_state {
        CLIENT_READ_HEADER,
        CLIENT_READ_BODY,
        CLIENT_WRITE,
};

struct client {
        struct server *server;
        struct client *prev, *next;
        int fd;
        ev_io io;
        ev_timer idle;
        struct server_peer peer;
        enum client_state state;
        bool counted_as_root;           /* holds one of the slots kept for root */
        uint8_t header[PROTO_HEADER_SIZE];
        size_t header_got;
        char *body;
        uint32_t body_len;
        size_t body_got;
        char *out;
        size_t out_len;
        size_t out_sent;
        bool close_after_write;
};

struct server {
        struct ev_loop *loop;
        int listen_fd;
        char *socket_path;              /* bound by us: unlinked on free */
        ev_io listen_io;
        ev_timer accept_retry;

        unsigned max_clients;
        size_t max_request;
        ev_tstamp idle_timeout;
        char group[sizeof ((struct config_server *) 0)->group];
        gid_t group_gid;
        bool group_valid;

        server_handler_fn handler;
        void *userdata;

        struct client *clients;
        unsigned root_clients;          /* of stats.clients, in root's kept slots */
        struct server_stats stats;
};

static void client_close(struct client *c);
static void client_io_cb(struct ev_loop *loop, ev_io *w, int revents);

/* One deadline per request and per answer: armed when the daemon starts to
 * wait for a request (or to write an answer) and never pushed back by
 * progress, so a client trickling a byte a second is closed as surely as
 * one that sends nothing. */
static void client_deadline_start(struct client *c) {
        ev_timer_stop(c->server->loop, &c->idle);
        ev_timer_set(&c->idle, c->server->idle_timeout, 0.);
        ev_timer_start(c->server->loop, &c->idle);
}

static int lookup_group(const char *name, gid_t *ret_gid) {
        struct group grp, *result = NULL;
        size_t size = 4096;
        int r;

        if (!name[0])
                return -ENOENT;
        for (;;) {
                char *buf = malloc(size);
                if (!buf)
                        return -ENOMEM;
                r = getgrnam_r(name, &grp, buf, size, &result);
                if (r == 0 && result)
                        *ret_gid = result->gr_gid;
                free(buf);
                if (r != ERANGE || size >= SERVER_GROUP_BUF_MAX)
                        break;
                size *= 2;
        }
        if (r != 0)
                return -r;
        return result ? 0 : -ENOENT;
}

static void apply_limits(struct server *s, const struct config_server *cfg) {
        s->max_clients = cfg->max_clients ? cfg->max_clients : SERVER_MAX_CLIENTS_DEFAULT;
        uint64_t mr = cfg->max_request_bytes ? cfg->max_request_bytes : SERVER_MAX_REQUEST_DEFAULT;
        if (mr < SERVER_MAX_REQUEST_MIN)
                mr = SERVER_MAX_REQUEST_MIN;
        if (mr > PROTO_REQUEST_HARD_MAX)
                mr = PROTO_REQUEST_HARD_MAX;
        s->max_request = (size_t) mr;
        uint64_t idle = cfg->idle_timeout_usec ? cfg->idle_timeout_usec : SERVER_IDLE_TIMEOUT_DEFAULT_USEC;
        s->idle_timeout = (ev_tstamp) idle / 1e6;

        snprintf(s->group, sizeof s->group, "%s", cfg->group);
        int r = lookup_group(s->group, &s->group_gid);
        s->group_valid = r >= 0;
        if (r < 0 && s->group[0])
                log_warning_errno(r, "Group \"%s\" for read access to the socket not usable, only root may query",
                                  s->group);
}

/* Send a whole small frame without blocking; used for refusals, where the
 * client gets one answer and the connection closes. An empty socket buffer
 * always holds a short error, and if it does not, there is nobody to tell. */
static void send_error_now(int fd, json_object *err) {
        char *frame = NULL;
        size_t len = 0;
        if (err && proto_frame_encode(err, PROTO_RESPONSE_MAX, &frame, &len) >= 0)
                (void) send(fd, frame, len, MSG_DONTWAIT | MSG_NOSIGNAL);
        free(frame);
        json_object_put(err);
}

static bool peer_in_group(int fd, gid_t gid) {
        gid_t fixed[SERVER_PEER_GROUPS_MAX];
        gid_t *groups = fixed;
        socklen_t len = sizeof fixed;
        bool found = false;

        if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) < 0) {
                if (errno != ERANGE || len > SERVER_PEER_GROUPS_HARD_MAX * sizeof(gid_t))
                        return false;
                groups = malloc(len);
                if (!groups)
                        return false;
                if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) < 0) {
                        free(groups);
                        return false;
                }
        }
        for (size_t i = 0; i < len / sizeof(gid_t); i++)
                if (groups[i] == gid)
                        found = true;
        if (groups != fixed)
                free(groups);
        return found;
}

static int peer_identify(struct server *s, int fd, struct server_peer *ret) {
        struct ucred cred;
        socklen_t len = sizeof cred;
        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
                return -errno;
        struct server_peer p = {
                .pid = cred.pid,
                .uid = cred.uid,
                .gid = cred.gid,
        };
        p.privileged = cred.uid == 0;
        p.reader = p.privileged ||
                   (s->group_valid && (cred.gid == s->group_gid || peer_in_group(fd, s->group_gid)));
        *ret = p;
        return 0;
}

static void client_set_events(struct client *c, int events) {
        ev_io_stop(c->server->loop, &c->io);
        ev_io_set(&c->io, c->fd, events);
        ev_io_start(c->server->loop, &c->io);
}

static void client_reset_read(struct client *c) {
        free(c->body);
        c->body = NULL;
        c->body_len = 0;
        c->body_got = 0;
        c->header_got = 0;
        free(c->out);
        c->out = NULL;
        c->out_len = c->out_sent = 0;
        c->state = CLIENT_READ_HEADER;
        client_set_events(c, EV_READ);
        client_deadline_start(c);
}

/* Returns false if the client was closed. */
static bool client_flush(struct client *c) {
        while (c->out_sent < c->out_len) {
                ssize_t n = send(c->fd, c->out + c->out_sent, c->out_len - c->out_sent,
                                 MSG_DONTWAIT | MSG_NOSIGNAL);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN || errno == EWOULDBLOCK) {
                                client_set_events(c, EV_WRITE);
                                return true;
                        }
                        log_debug("Socket client pid %d: write failed: %s", (int) c->peer.pid, strerror(errno));
                        client_close(c);
                        return false;
                }
                c->out_sent += (size_t) n;
        }
        if (c->close_after_write) {
                client_close(c);
                return false;
        }
        client_reset_read(c);
        return true;
}

/* Queue @doc (consumed) as the answer and start writing it. Requests are
 * answered one at a time: reading stops until the answer is out, so a
 * client that never reads its answers holds one response, not a queue. */
static bool client_respond(struct client *c, json_object *doc, bool close_after) {
        char *frame = NULL;
        size_t len = 0;
        int r;

        c->server->stats.requests++;
        if (!doc)
                doc = proto_response_new_error(PROTO_ERR_INTERNAL, "the daemon could not build a response");
        r = doc ? proto_frame_encode(doc, PROTO_RESPONSE_MAX, &frame, &len) : -ENOMEM;
        json_object_put(doc);
        if (r == -EMSGSIZE) {
                doc = proto_response_new_error(PROTO_ERR_RESPONSE_TOO_LARGE,
                                               "the response exceeds %u bytes; ask for less (--since, --tier)",
                                               PROTO_RESPONSE_MAX);
                r = doc ? proto_frame_encode(doc, PROTO_RESPONSE_MAX, &frame, &len) : -ENOMEM;
                json_object_put(doc);
        }
        if (r < 0) {
                log_warning_errno(r, "Cannot encode a response for pid %d", (int) c->peer.pid);
                client_close(c);
                return false;
        }
        free(c->body);
        c->body = NULL;
        c->out = frame;
        c->out_len = len;
        c->out_sent = 0;
        c->close_after_write = close_after;
        c->state = CLIENT_WRITE;
        client_deadline_start(c);
        return client_flush(c);
}

static bool client_protocol_error(struct client *c, json_object *doc) {
        c->server->stats.protocol_errors++;
        return client_respond(c, doc, true);
}

static bool client_handle_request(struct client *c) {
        struct server *s = c->server;
        struct proto_request req;
        struct proto_failure failure;
        json_object *args = NULL;

        int r = proto_request_decode(c->body, c->body_len, &req, &args, &failure);
        if (r < 0) {
                /* The frame was intact: the connection stays usable, only
                 * this request is refused. */
                s->stats.protocol_errors++;
                return client_respond(c, proto_response_from_failure(&failure), false);
        }
        json_object *resp;
        if ((proto_command_flags(req.command) & PROTO_CMD_FLAG_PRIVILEGED) && !c->peer.privileged)
                resp = proto_response_new_error(PROTO_ERR_PERMISSION_DENIED,
                                                "\"%s\" changes the daemon's state and is for root only",
                                                proto_command_name(req.command));
        else
                resp = s->handler(&c->peer, &req, args, s->userdata);
        json_object_put(args);
        return client_respond(c, resp, false);
}

static void client_read(struct client *c) {
        struct server *s = c->server;
        for (;;) {
                void *dst;
                size_t want;
                if (c->state == CLIENT_READ_HEADER) {
                        dst = c->header + c->header_got;
                        want = PROTO_HEADER_SIZE - c->header_got;
                } else if (c->state == CLIENT_READ_BODY) {
                        dst = c->body + c->body_got;
                        want = c->body_len - c->body_got;
                } else
                        return;

                ssize_t n = want > 0 ? recv(c->fd, dst, want, MSG_DONTWAIT) : 0;
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN || errno == EWOULDBLOCK)
                                return;
                        client_close(c);
                        return;
                }
                if (n == 0 && want > 0) {
                        /* EOF. Between requests it is the normal end; inside
                         * one the client may only have shut down its side
                         * and still wait for an answer. */
                        if (c->state == CLIENT_READ_HEADER && c->header_got == 0) {
                                client_close(c);
                                return;
                        }
                        size_t got = c->state == CLIENT_READ_HEADER ? c->header_got : PROTO_HEADER_SIZE + c->body_got;
                        size_t total = c->state == CLIENT_READ_HEADER ? PROTO_HEADER_SIZE
                                                                      : PROTO_HEADER_SIZE + (size_t) c->body_len;
                        (void) client_protocol_error(c, proto_response_new_error(PROTO_ERR_TRUNCATED,
                                        "the request ended after %zu of %zu bytes", got, total));
                        return;
                }

                if (c->state == CLIENT_READ_HEADER) {
                        c->header_got += (size_t) n;
                        if (c->header_got < PROTO_HEADER_SIZE)
                                continue;
                        uint32_t len = 0;
                        uint8_t version = 0;
                        int r = proto_header_decode(c->header, s->max_request, &len, &version);
                        if (r == -EBADMSG) {
                                (void) client_protocol_error(c, proto_response_new_error(PROTO_ERR_BAD_FRAME,
                                                "not a slabwatch protocol frame (bad magic); see docs/protocol.md"));
                                return;
                        }
                        if (r == -EPROTONOSUPPORT) {
                                (void) client_protocol_error(c, proto_response_new_error(
                                                PROTO_ERR_UNSUPPORTED_VERSION,
                                                "protocol version %u is not supported; this daemon speaks version %d",
                                                version, PROTO_VERSION));
                                return;
                        }
                        if (r == -EMSGSIZE) {
                                /* Refused from the header alone: nothing is
                                 * allocated for a body we will not read. */
                                (void) client_protocol_error(c, proto_response_new_error(
                                                PROTO_ERR_REQUEST_TOO_LARGE,
                                                "the request is larger than the limit of %zu bytes", s->max_request));
                                return;
                        }
                        if (len == 0) {
                                (void) client_protocol_error(c, proto_response_new_error(PROTO_ERR_BAD_JSON,
                                                "empty request payload"));
                                return;
                        }
                        c->body = malloc(len);
                        if (!c->body) {
                                client_close(c);
                                return;
                        }
                        c->body_len = len;
                        c->body_got = 0;
                        c->state = CLIENT_READ_BODY;
                        continue;
                }

                c->body_got += (size_t) n;
                if (c->body_got < c->body_len)
                        continue;
                /* Complete: stop reading until the answer is written. */
                ev_io_stop(s->loop, &c->io);
                (void) client_handle_request(c);
                return;
        }
}

static void client_io_cb(struct ev_loop *loop, ev_io *w, int revents) {
        struct client *c = container_of(w, struct client, io);
        (void) loop;
        if (c->state == CLIENT_WRITE) {
                if (revents & EV_WRITE)
                        (void) client_flush(c);
                return;
        }
        if (revents & EV_READ)
                client_read(c);
}

static void client_idle_cb(struct ev_loop *loop, ev_timer *w, int revents) {
        struct client *c = container_of(w, struct client, idle);
        (void) loop;
        (void) revents;
        c->server->stats.idle_closed++;
        log_debug("Socket client pid %d: no complete %s within %.1fs, closing", (int) c->peer.pid,
                  c->state == CLIENT_WRITE ? "answer taken" : "request", c->server->idle_timeout);
        /* A client that is not reading will not see this; one that is only
         * slow to send learns why it was cut off. */
        if (c->state != CLIENT_WRITE)
                send_error_now(c->fd, proto_response_new_error(PROTO_ERR_TIMEOUT,
                                "no complete request within %.1f s; closing", c->server->idle_timeout));
        client_close(c);
}

static void client_close(struct client *c) {
        struct server *s = c->server;
        ev_io_stop(s->loop, &c->io);
        ev_timer_stop(s->loop, &c->idle);
        if (c->prev)
                c->prev->next = c->next;
        else
                s->clients = c->next;
        if (c->next)
                c->next->prev = c->prev;
        s->stats.clients--;
        if (c->counted_as_root)
                s->root_clients--;
        close(c->fd);
        free(c->body);
        free(c->out);
        free(c);
}

static void accept_one(struct server *s, int fd) {
        struct server_peer peer;
        int r = peer_identify(s, fd, &peer);
        if (r < 0) {
                log_warning_errno(r, "Cannot read the credentials of a socket client");
                close(fd);
                return;
        }
        if (!peer.reader) {
                s->stats.refused_permission++;
                log_debug("Refusing socket client uid %u pid %d: not root and not in group \"%s\"",
                          (unsigned) peer.uid, (int) peer.pid, s->group);
                if (s->group_valid)
                        send_error_now(fd, proto_response_new_error(PROTO_ERR_PERMISSION_DENIED,
                                        "permission denied: uid %u is neither root nor a member of group \"%s\"",
                                        (unsigned) peer.uid, s->group));
                else
                        send_error_now(fd, proto_response_new_error(PROTO_ERR_PERMISSION_DENIED,
                                        "permission denied: only root may query (group \"%s\" does not exist)",
                                        s->group));
                close(fd);
                return;
        }
        /* server.max_clients bounds everyone else; root may use
         * SERVER_ROOT_SLOTS more, so that however many connections others
         * hold, the administrator's own slabwatchctl still gets through. */
        bool root_slot = false;
        if (s->stats.clients - s->root_clients >= s->max_clients) {
                root_slot = peer.privileged && s->root_clients < SERVER_ROOT_SLOTS;
                if (!root_slot) {
                        s->stats.refused_busy++;
                        send_error_now(fd, proto_response_new_error(PROTO_ERR_TOO_MANY_CLIENTS,
                                        "too many clients (limit %u); try again", s->max_clients));
                        close(fd);
                        return;
                }
        }
        struct client *c = calloc(1, sizeof *c);
        if (!c) {
                close(fd);
                return;
        }
        c->server = s;
        c->fd = fd;
        c->peer = peer;
        c->state = CLIENT_READ_HEADER;
        c->counted_as_root = root_slot;
        ev_io_init(&c->io, client_io_cb, fd, EV_READ);
        ev_init(&c->idle, client_idle_cb);
        c->next = s->clients;
        if (s->clients)
                s->clients->prev = c;
        s->clients = c;
        s->stats.clients++;
        if (root_slot)
                s->root_clients++;
        s->stats.accepted++;
        ev_io_start(s->loop, &c->io);
        client_deadline_start(c);
}

static void accept_retry_cb(struct ev_loop *loop, ev_timer *w, int revents) {
        struct server *s = container_of(w, struct server, accept_retry);
        (void) revents;
        ev_io_start(loop, &s->listen_io);
}

static void listen_cb(struct ev_loop *loop, ev_io *w, int revents) {
        struct server *s = container_of(w, struct server, listen_io);
        (void) revents;
        for (unsigned i = 0; i < SERVER_ACCEPT_BURST; i++) {
                int fd = accept4(s->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                if (fd < 0) {
                        if (errno == EINTR || errno == ECONNABORTED)
                                continue;
                        if (errno == EAGAIN || errno == EWOULDBLOCK)
                                return;
                        log_warning_errno(-errno, "Cannot accept a socket client; pausing for %.0fs",
                                          SERVER_ACCEPT_RETRY_SEC);
                        /* EMFILE and friends: the pending connection stays
                         * readable, so back off instead of spinning. */
                        ev_io_stop(loop, &s->listen_io);
                        ev_timer_set(&s->accept_retry, SERVER_ACCEPT_RETRY_SEC, 0.);
                        ev_timer_start(loop, &s->accept_retry);
                        return;
                }
                accept_one(s, fd);
        }
}

static int server_alloc(struct ev_loop *loop, const struct config_server *cfg, server_handler_fn handler,
                        void *userdata, struct server **ret) {
        if (!loop || !cfg || !handler)
                return -EINVAL;
        struct server *s = calloc(1, sizeof *s);
        if (!s)
                return -ENOMEM;
        s->loop = loop;
        s->listen_fd = -1;
        s->handler = handler;
        s->userdata = userdata;
        apply_limits(s, cfg);
        ev_init(&s->accept_retry, accept_retry_cb);
        *ret = s;
        return 0;
}

static void server_start(struct server *s) {
        ev_io_init(&s->listen_io, listen_cb, s->listen_fd, EV_READ);
        ev_io_start(s->loop, &s->listen_io);
}

static int mkdir_parents(const char *path) {
        char buf[sizeof ((struct sockaddr_un *) 0)->sun_path];
        if (strlen(path) >= sizeof buf)
                return -ENAMETOOLONG;
        strcpy(buf, path);
        char *slash = strrchr(buf, '/');
        if (!slash || slash == buf)
                return 0;
        *slash = '\0';
        for (char *p = buf + 1;; p++) {
                if (*p != '/' && *p != '\0')
                        continue;
                char saved = *p;
                *p = '\0';
                if (mkdir(buf, 0755) < 0 && errno != EEXIST)
                        return -errno;
                *p = saved;
                if (saved == '\0')
                        break;
        }
        return 0;
}

/* A socket file left by a daemon that died: replace it. One that answers
 * belongs to a running daemon: leave it alone. */
static int clear_stale(const struct sockaddr_un *sa, socklen_t salen) {
        struct stat st;
        if (lstat(sa->sun_path, &st) < 0)
                return errno == ENOENT ? 0 : -errno;
        if (!S_ISSOCK(st.st_mode))
                return -EEXIST;
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return -errno;
        int r = connect(fd, (const struct sockaddr *) sa, salen);
        int e = errno;
        close(fd);
        if (r == 0 || e == EAGAIN || e == EINPROGRESS)
                return -EADDRINUSE;
        if (e != ECONNREFUSED)
                return -e;
        if (unlink(sa->sun_path) < 0 && errno != ENOENT)
                return -errno;
        return 0;
}

int server_new(struct ev_loop *loop, const struct config_server *cfg, server_handler_fn handler, void *userdata,
               struct server **ret) {
        struct server *s = NULL;
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int r;

        if (!cfg || cfg->socket[0] != '/')
                return -EINVAL;
        int n = snprintf(sa.sun_path, sizeof sa.sun_path, "%s", cfg->socket);
        if (n < 0 || (size_t) n >= sizeof sa.sun_path)
                return -ENAMETOOLONG;
        socklen_t salen = (socklen_t) (offsetof(struct sockaddr_un, sun_path) + (size_t) n + 1);

        r = server_alloc(loop, cfg, handler, userdata, &s);
        if (r < 0)
                return r;
        r = mkdir_parents(sa.sun_path);
        if (r < 0)
                goto fail;
        r = clear_stale(&sa, salen);
        if (r < 0)
                goto fail;
        s->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (s->listen_fd < 0) {
                r = -errno;
                goto fail;
        }
        if (bind(s->listen_fd, (struct sockaddr *) &sa, salen) < 0) {
                r = -errno;
                goto fail;
        }
        s->socket_path = strdup(sa.sun_path);
        if (!s->socket_path) {
                r = -ENOMEM;
                goto fail;
        }
        /* Permissions are set between bind() and listen(): until listen()
         * nobody can connect, so there is no window with a wider mode. */
        if (chmod(sa.sun_path, 0660) < 0) {
                r = -errno;
                goto fail;
        }
        if (s->group_valid && chown(sa.sun_path, (uid_t) -1, s->group_gid) < 0)
                log_warning_errno(-errno, "Cannot give group \"%s\" the socket %s", s->group, sa.sun_path);
        if (listen(s->listen_fd, SERVER_BACKLOG) < 0) {
                r = -errno;
                goto fail;
        }
        server_start(s);
        *ret = s;
        return 0;
fail:
        server_free(s);
        return r;
}

int server_new_from_fd(struct ev_loop *loop, const struct config_server *cfg, int listen_fd,
                       server_handler_fn handler, void *userdata, struct server **ret) {
        struct server *s = NULL;
        if (listen_fd < 0)
                return -EBADF;
        int r = sd_is_socket_unix(listen_fd, SOCK_STREAM, 1, NULL, 0);
        if (r < 0)
                return r;
        if (r == 0)
                return -ENOTSOCK;
        r = server_alloc(loop, cfg, handler, userdata, &s);
        if (r < 0)
                return r;
        int flags = fcntl(listen_fd, F_GETFL);
        if (flags < 0 || fcntl(listen_fd, F_SETFL, flags | O_NONBLOCK) < 0 ||
            fcntl(listen_fd, F_SETFD, FD_CLOEXEC) < 0) {
                r = -errno;
                free(s);
                return r;
        }
        s->listen_fd = listen_fd;
        server_start(s);
        *ret = s;
        return 0;
}

int server_listen_fd_from_systemd(int *ret_fd) {
        int n = sd_listen_fds(1);
        if (n < 0)
                return n;
        if (n == 0)
                return 0;
        if (n > 1)
                return -EINVAL;
        int r = sd_is_socket_unix(SD_LISTEN_FDS_START, SOCK_STREAM, 1, NULL, 0);
        if (r < 0)
                return r;
        if (r == 0)
                return -EINVAL;
        *ret_fd = SD_LISTEN_FDS_START;
        return 1;
}

int server_reconfigure(struct server *s, const struct config_server *cfg) {
        if (!s || !cfg)
                return -EINVAL;
        /* Deadlines already running keep their length; the next request
         * of every connection gets the new one. */
        apply_limits(s, cfg);
        if (s->socket_path && s->group_valid && chown(s->socket_path, (uid_t) -1, s->group_gid) < 0)
                log_warning_errno(-errno, "Cannot give group \"%s\" the socket %s", s->group, s->socket_path);
        return 0;
}

const char *server_socket_path(const struct server *s) {
        return s ? s->socket_path : NULL;
}

void server_get_stats(const struct server *s, struct server_stats *ret) {
        *ret = s->stats;
}

void server_free(struct server *s) {
        if (!s)
                return;
        while (s->clients)
                client_close(s->clients);
        if (s->listen_fd >= 0) {
                ev_io_stop(s->loop, &s->listen_io);
                close(s->listen_fd);
        }
        ev_timer_stop(s->loop, &s->accept_retry);
        if (s->socket_path) {
                (void) unlink(s->socket_path);
                free(s->socket_path);
        }
        free(s);
}
