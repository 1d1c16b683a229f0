/* server — the slabwatchd query socket on the libev loop.
 *
 * A Unix stream socket, bound by us (mode 0660, group server.group, parent
 * directory created) or passed by systemd socket activation. Every client is
 * non-blocking: a slow or stalled client costs a file descriptor and a
 * bounded buffer, never a delayed tick. SO_PEERCRED on each connection: root
 * may do everything, members of the configured group may use the read-only
 * commands, anyone else is refused with a clear error. Limits: clients at
 * once (plus SERVER_ROOT_SLOTS kept for root), request size (checked from
 * the frame header before allocating), and one deadline per request and per
 * answer that progress does not extend. Requests are decoded and permission-checked here; the handler only
 * builds the answer. */
#pragma once

#include <ev.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <json-c/json.h>

#include "base/config.h"
#include "control/proto.h"

/* Pending connections the kernel queues for us. */
#define SERVER_BACKLOG 128
/* Connections accepted per wake-up, so a connection storm cannot starve the
 * sampling timer. */
#define SERVER_ACCEPT_BURST 64
/* After EMFILE/ENFILE, wait this long before accepting again instead of
 * spinning on a listening socket we cannot serve. */
#define SERVER_ACCEPT_RETRY_SEC 1.0
/* Connections root may hold beyond server.max_clients: however many slots
 * other users' clients take, slow or not, root's own slabwatchctl gets in. */
#define SERVER_ROOT_SLOTS 4U
/* Supplementary groups of a peer we look at (SO_PEERGROUPS). */
#define SERVER_PEER_GROUPS_MAX 256

/* Who is asking. */
struct server_peer {
        pid_t pid;
        uid_t uid;
        gid_t gid;
        bool privileged;        /* root: may run every command */
        bool reader;            /* root or a member of server.group */
};

/* Build the response to a decoded, permitted request. @args is the raw
 * "args" object (or NULL) for handlers that want more than @req holds.
 * Return a document from proto_response_new_ok()/_error(); the server takes
 * ownership. NULL is answered with an "internal" error. */
typedef json_object *(*server_handler_fn)(const struct server_peer *peer, const struct proto_request *req,
                                          json_object *args, void *userdata);

/* Counters for `status`. */
struct server_stats {
        unsigned clients;               /* connected now */
        uint64_t accepted;              /* connections served (not counting refused ones) */
        uint64_t requests;              /* requests answered, errors included */
        uint64_t refused_permission;    /* connections from users not allowed to read */
        uint64_t refused_busy;          /* connections over server.max_clients */
        uint64_t protocol_errors;       /* bad frames, JSON, requests */
        uint64_t idle_closed;           /* closed for server.idle_timeout */
};

struct server;

/* Bind our own socket at cfg->socket (composed under paths.root by the
 * config): create the parent directory (0755), replace a stale socket (one
 * nobody answers on), refuse if a live daemon answers there (-EADDRINUSE)
 * or the path is not a socket (-EEXIST), chmod 0660 and chgrp to cfg->group
 * (root only if the group does not exist) before listening. -EINVAL for a
 * relative path, -ENAMETOOLONG if it does not fit a sockaddr_un. */
int server_new(struct ev_loop *loop, const struct config_server *cfg, server_handler_fn handler, void *userdata,
               struct server **ret);

/* Serve on an already listening Unix stream socket @listen_fd (from systemd);
 * the server owns it from now on but never unlinks its path. -ENOTSOCK if the
 * fd is not a listening AF_UNIX stream socket. */
int server_new_from_fd(struct ev_loop *loop, const struct config_server *cfg, int listen_fd,
                       server_handler_fn handler, void *userdata, struct server **ret);

/* The socket systemd passed (sd_listen_fds): 1 and its fd in *ret_fd, 0 if
 * none was passed, -EINVAL if more than one or not a Unix stream socket. */
int server_listen_fd_from_systemd(int *ret_fd);

/* Apply new limits and group from a reloaded config (the socket path is kept
 * until restart). Existing clients keep running under the new limits. */
int server_reconfigure(struct server *s, const struct config_server *cfg);

/* The path we bound, or NULL for a passed socket. */
const char *server_socket_path(const struct server *s);

/* Current counters. */
void server_get_stats(const struct server *s, struct server_stats *ret);

/* Close every client and the listening socket, unlink the socket we bound;
 * NULL is a no-op. */
void server_free(struct server *s);
