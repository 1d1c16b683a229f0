/* snapshot — see snapshot.h. */
#include "core/snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "caches/engine.h"
#include "core/daemon.h"
#include "core/log.h"
#include "core/readfile.h"

/* What a boot id reads as when the kernel does not say (replays, old kernels). */
#define BOOT_ID_UNKNOWN "unknown"

static void boot_id(const struct daemon *d, char *buf, size_t size) {
        char path[CONFIG_PATH_MAX + 64];
        if (readfile_path(path, sizeof path, d->config.paths.proc, "sys/kernel/random/boot_id") < 0 ||
            readfile_small(path, buf, size) < 0 || !buf[0])
                snprintf(buf, size, "%s", BOOT_ID_UNKNOWN);
}

static int snapshot_path(const struct daemon *d, const char *suffix, char *buf, size_t size) {
        char name[64];
        snprintf(name, sizeof name, "%s%s", SNAPSHOT_FILE, suffix);
        return readfile_path(buf, size, d->config.paths.state_dir, name);
}

static int write_all(int fd, const char *p, size_t len) {
        while (len > 0) {
                ssize_t n = write(fd, p, len);
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

/* Write @buf to @path through @tmp: fsync, rename, fsync the directory. */
static int replace_file(const char *path, const char *tmp, const char *buf, size_t len) {
        int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return -errno;
        int r = write_all(fd, buf, len);
        if (r >= 0 && fsync(fd) < 0)
                r = -errno;
        if (close(fd) < 0 && r >= 0)
                r = -errno;
        if (r >= 0 && rename(tmp, path) < 0)
                r = -errno;
        if (r < 0) {
                (void) unlink(tmp);
                return r;
        }
        char dir[CONFIG_PATH_MAX + 64];
        snprintf(dir, sizeof dir, "%s", path);
        char *slash = strrchr(dir, '/');
        if (slash && slash != dir) {
                *slash = '\0';
                int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (dfd >= 0) {
                        (void) fsync(dfd);
                        close(dfd);
                }
        }
        return 0;
}

int snapshot_save(struct daemon *d) {
        char path[CONFIG_PATH_MAX + 64], tmp[CONFIG_PATH_MAX + 64], id[ENGINE_BOOT_ID_MAX];
        if (d->config.history.snapshot_usec == 0 || engine_n_samples(d->engine) == 0)
                return 0;
        int r = snapshot_path(d, "", path, sizeof path);
        if (r >= 0)
                r = snapshot_path(d, ".tmp", tmp, sizeof tmp);
        char *buf = NULL;
        size_t len = 0;
        boot_id(d, id, sizeof id);
        if (r >= 0)
                r = engine_snapshot(d->engine, id, &buf, &len);
        if (r >= 0)
                r = replace_file(path, tmp, buf, len);
        free(buf);
        if (r < 0) {
                if (d->snapshot_error != r)
                        log_warning_errno(r, "Cannot save the history to %s; a restart will start it over", path);
                d->snapshot_error = r;
                return r;
        }
        if (d->snapshot_error)
                log_info("History saved to %s again", path);
        d->snapshot_error = 0;
        return 0;
}

void snapshot_tick(struct daemon *d, uint64_t mono_usec) {
        uint64_t every = d->config.history.snapshot_usec;
        if (every == 0)
                return;
        if (d->snapshot_due_usec == 0)
                d->snapshot_due_usec = mono_usec + every;
        if (mono_usec < d->snapshot_due_usec)
                return;
        d->snapshot_due_usec = mono_usec + every;
        (void) snapshot_save(d);
}

/* Keep a snapshot that could not be used for whoever wants to look at it,
 * out of the way of the next save. */
static void set_aside(const struct daemon *d, const char *path) {
        char bad[CONFIG_PATH_MAX + 64];
        if (snapshot_path(d, ".bad", bad, sizeof bad) >= 0 && rename(path, bad) == 0)
                log_warning("Kept it as %s", bad);
}

int snapshot_restore(struct daemon *d) {
        char path[CONFIG_PATH_MAX + 64], id[ENGINE_BOOT_ID_MAX];
        if (d->config.history.snapshot_usec == 0)
                return -ENOENT;
        int r = snapshot_path(d, "", path, sizeof path);
        if (r < 0)
                return r;
        struct stat st;
        if (lstat(path, &st) < 0) {
                if (errno == ENOENT)
                        return -ENOENT;
                return log_warning_errno(-errno, "Cannot read the saved history %s; starting fresh", path);
        }
        if (!S_ISREG(st.st_mode)) {
                log_warning("The saved history %s is not a regular file; starting fresh", path);
                return -EBADMSG;
        }
        struct readfile_buf b = { .max = ENGINE_SNAPSHOT_MAX };
        r = readfile_read(&b, path);
        if (r < 0) {
                readfile_done(&b);
                return log_warning_errno(r, "Cannot read the saved history %s; starting fresh", path);
        }
        boot_id(d, id, sizeof id);
        bool same_boot = false;
        r = engine_restore(d->engine, b.data, b.len, id, &same_boot);
        readfile_done(&b);
        if (r < 0) {
                const char *why = r == -EBADMSG           ? "truncated or corrupt"
                                  : r == -EPROTO          ? "from a machine of another byte order"
                                  : r == -EPROTONOSUPPORT ? "of another slabwatch version"
                                                          : NULL;
                if (why)
                        log_warning("The saved history %s is %s; starting fresh", path, why);
                else
                        log_warning_errno(r, "Cannot restore the saved history %s; starting fresh", path);
                set_aside(d, path);
                return r;
        }
        uint64_t last = engine_last_usec(d->engine), now = daemon_now_usec();
        double ago = now > last ? (double) (now - last) / 1e6 : 0;
        size_t n = history_n_series(engine_history(d->engine));
        if (same_boot)
                log_info("Restored %zu series of history from %s (last sample %.0f s ago): trends go on", n, path, ago);
        else
                log_info("Restored %zu series of history from %s, from before a reboot: shown, not fitted across it", n,
                         path);
        return 0;
}
