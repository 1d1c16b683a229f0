/* sd-daemon.h for a build without libsystemd (-DSLABWATCH_SYSTEMD=OFF): no
 * service manager to notify and no sockets passed, so the daemon's READY=1,
 * WATCHDOG=1 and STATUS= go nowhere and it binds its own socket. */
#pragma once

#include <errno.h>
#include <stddef.h>

#define SD_LISTEN_FDS_START 3

/* Nothing to notify without systemd: 0, as when NOTIFY_SOCKET is unset. */
static inline int sd_notify(int unset_environment, const char *state) {
        (void) unset_environment;
        (void) state;
        return 0;
}

/* As sd_notify(). */
__attribute__((format(printf, 2, 3))) static inline int sd_notifyf(int unset_environment, const char *fmt, ...) {
        (void) unset_environment;
        (void) fmt;
        return 0;
}

/* No sockets passed: 0, as when LISTEN_FDS is unset. */
static inline int sd_listen_fds(int unset_environment) {
        (void) unset_environment;
        return 0;
}

/* Never reached (no fds are passed); says "not a socket we take". */
static inline int sd_is_socket_unix(int fd, int type, int listening, const char *path, size_t length) {
        (void) fd;
        (void) type;
        (void) listening;
        (void) path;
        (void) length;
        return -ENOSYS;
}
