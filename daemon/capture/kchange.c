#include "capture/kchange.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "core/log.h"

#ifndef TRACEFS_MAGIC
#define TRACEFS_MAGIC 0x74726163
#endif

#define PATH_BUF 4096
/* A kernel setting read back to be restored: "[local] global counter ...". */
#define SETTING_MAX 512

struct change {
        enum kchange_op op;
        char path[PATH_BUF];
        char undo[KCHANGE_VALUE_MAX];   /* what the undo writes */
        char marker[PATH_BUF];          /* "" when the op has none */
};

struct kchange {
        char state_dir[PATH_BUF];
        struct change changes[KCHANGE_MAX];
        size_t n;
};

static const char *const op_names[_KCHANGE_OP_MAX] = {
        [KCHANGE_MOUNT_TRACEFS] = "mount tracefs",
        [KCHANGE_INSTANCE] = "tracefs instance",
        [KCHANGE_TRACE_CLOCK] = "trace clock",
        [KCHANGE_BUFFER_SIZE] = "buffer size",
        [KCHANGE_OPTION] = "trace option",
        [KCHANGE_FILTER] = "event filter",
        [KCHANGE_EVENT] = "event enable",
        [KCHANGE_TRACING_ON] = "tracing on",
        [KCHANGE_SLUB_TRACE] = "SLUB trace flag",
        [KCHANGE_KPROBE] = "kprobe event",
        [KCHANGE_TRIGGER] = "event trigger",
};

const char *kchange_op_name(enum kchange_op op) {
        return op < _KCHANGE_OP_MAX ? op_names[op] : "?";
}

int kchange_new(const char *state_dir, struct kchange **ret) {
        struct kchange *k;

        if (!ret)
                return -EINVAL;
        k = calloc(1, sizeof *k);
        if (!k)
                return -ENOMEM;
        if ((size_t) snprintf(k->state_dir, sizeof k->state_dir, "%s", state_dir ? state_dir : "") >=
            sizeof k->state_dir) {
                free(k);
                return -ENAMETOOLONG;
        }
        *ret = k;
        return 0;
}

size_t kchange_depth(const struct kchange *k) {
        return k ? k->n : 0;
}

bool kchange_holds(const struct kchange *k, enum kchange_op op) {
        for (size_t i = 0; k && i < k->n; i++)
                if (k->changes[i].op == op)
                        return true;
        return false;
}

static int put_value(const char *path, const char *value, int how) {
        size_t len = strlen(value);
        int fd = open(path, O_WRONLY | how | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        ssize_t n = write(fd, value, len);
        int r = n < 0 ? -errno : (size_t) n != len ? -EIO : 0;
        if (close(fd) < 0 && r == 0)
                r = -errno;
        return r;
}

static int write_value(const char *path, const char *value) {
        return put_value(path, value, O_TRUNC);
}

/* Trigger files and kprobe_events are lists: opened with O_TRUNC they drop
 * every trigger of the event, or every kprobe of every user of the machine,
 * so entries are added and removed by appending. */
static int append_value(const char *path, const char *value) {
        return put_value(path, value, O_APPEND);
}

static int read_setting(const char *path, char *buf, size_t size) {
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        ssize_t n = read(fd, buf, size - 1);
        int r = n < 0 ? -errno : 0;
        close(fd);
        if (r < 0)
                return r;
        buf[n] = '\0';
        return 0;
}

/* The value to write back, from what the file reads before the change. */
static void previous_value(enum kchange_op op, const char *path, char *undo, size_t size) {
        char cur[SETTING_MAX];
        const char *fallback = op == KCHANGE_TRACE_CLOCK ? "local" : op == KCHANGE_BUFFER_SIZE ? "" : "0";

        snprintf(undo, size, "%s", fallback);
        if (read_setting(path, cur, sizeof cur) < 0)
                return;
        if (op == KCHANGE_TRACE_CLOCK) {
                /* "[local] global counter uptime perf mono ...": the one in brackets. */
                char *open = strchr(cur, '['), *close = open ? strchr(open, ']') : NULL;
                if (open && close && close > open + 1)
                        snprintf(undo, size, "%.*s", (int) (close - open - 1), open + 1);
                return;
        }
        /* "1410", "0\n": the leading number; "7 (expanded: 1408)": the size
         * the buffer takes once used. */
        const char *p = cur, *expanded = strstr(cur, "expanded: ");
        if (op == KCHANGE_BUFFER_SIZE && expanded)
                p = expanded + strlen("expanded: ");
        size_t n = 0;
        while (isdigit((unsigned char) p[n]))
                n++;
        if (n > 0 && n < size)
                snprintf(undo, size, "%.*s", (int) n, p);
}

/* Record @contents in @path durably (fsync'ed, renamed into place). */
static int marker_write(const char *state_dir, const char *path, const char *contents) {
        char tmp[PATH_BUF + 8];
        size_t len = strlen(contents);
        int fd, dfd, r = 0;

        if ((size_t) snprintf(tmp, sizeof tmp, "%s.new", path) >= sizeof tmp)
                return -ENAMETOOLONG;
        if (mkdir(state_dir, 0750) < 0 && errno != EEXIST)
                return -errno;
        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0)
                return -errno;
        errno = 0;
        if (write(fd, contents, len) != (ssize_t) len || fsync(fd) < 0)
                r = errno ? -errno : -EIO;
        close(fd);
        if (r == 0 && rename(tmp, path) < 0)
                r = -errno;
        if (r < 0) {
                (void) unlink(tmp);
                return r;
        }
        dfd = open(state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
                (void) fsync(dfd);
                close(dfd);
        }
        return 0;
}

/* <state_dir>/trace-on-<cache> for <sys>/kernel/slab/<cache>/trace: the
 * cache's name reduced to [A-Za-z0-9._-]. */
static int trace_marker_path(const char *state_dir, const char *trace_path, char *buf, size_t size) {
        size_t n = strlen(trace_path), start, end;
        char name[256];

        if (n < 7 || strcmp(trace_path + n - 6, "/trace") != 0)
                return -EINVAL;
        end = n - 6;
        start = end;
        while (start > 0 && trace_path[start - 1] != '/')
                start--;
        if (end == start || end - start >= sizeof name)
                return -EINVAL;
        for (size_t i = start; i < end; i++) {
                char c = trace_path[i];
                name[i - start] = isalnum((unsigned char) c) || c == '.' || c == '_' || c == '-' ? c : '_';
        }
        name[end - start] = '\0';
        if ((size_t) snprintf(buf, size, "%s/" KCHANGE_TRACE_MARKER_PREFIX "%s", state_dir, name) >= size)
                return -ENAMETOOLONG;
        return 0;
}

static int apply_mount(struct kchange *k, struct change *c) {
        struct statfs sf;
        int r;

        if (statfs(c->path, &sf) < 0)
                return -errno;
        if (sf.f_type == TRACEFS_MAGIC)
                return 1;
        if ((size_t) snprintf(c->marker, sizeof c->marker, "%s/" KCHANGE_MOUNT_MARKER, k->state_dir) >=
            sizeof c->marker)
                return -ENAMETOOLONG;
        r = marker_write(k->state_dir, c->marker, c->path);
        if (r < 0) {
                /* Without the marker a crash could leave it mounted: do not mount. */
                c->marker[0] = '\0';
                return r;
        }
        if (mount("nodev", c->path, "tracefs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0) {
                r = -errno;
                (void) unlink(c->marker);
                return r;
        }
        return 0;
}

static int apply_instance(struct change *c) {
        char on[PATH_BUF + 16];
        int r;

        if ((size_t) snprintf(on, sizeof on, "%s/tracing_on", c->path) >= sizeof on)
                return -ENAMETOOLONG;
        if (mkdir(c->path, 0700) < 0)
                return errno == EEXIST ? -EBUSY : -errno;
        /* A new instance traces at once: stop it before anything is set. */
        r = write_value(on, "0");
        if (r < 0) {
                (void) rmdir(c->path);
                return r;
        }
        return 0;
}

static int apply_slub_trace(struct kchange *k, struct change *c) {
        char contents[PATH_BUF + 2];
        int r = trace_marker_path(k->state_dir, c->path, c->marker, sizeof c->marker);

        if (r < 0)
                return r;
        snprintf(contents, sizeof contents, "%s\n", c->path);
        r = marker_write(k->state_dir, c->marker, contents);
        if (r < 0) {
                /* Without the marker a crash could leave tracing on: do not start. */
                c->marker[0] = '\0';
                return r;
        }
        r = write_value(c->path, "1");
        if (r < 0)
                (void) unlink(c->marker);
        return r;
}

/* "slabwatch/<event>" from "p:slabwatch/<event> <function> ...", the
 * event name [A-Za-z0-9_]. -EINVAL for any other group or shape. */
static int kprobe_event_of(const char *def, char *buf, size_t size) {
        static const char prefix[] = "p:" KCHANGE_KPROBE_GROUP "/";
        size_t plen = strlen(prefix), n = 0;

        if (strncmp(def, prefix, plen) != 0)
                return -EINVAL;
        while (isalnum((unsigned char) def[plen + n]) || def[plen + n] == '_')
                n++;
        if (n == 0 || def[plen + n] != ' ' || n + strlen(KCHANGE_KPROBE_GROUP) + 2 > size)
                return -EINVAL;
        snprintf(buf, size, "%s/%.*s", KCHANGE_KPROBE_GROUP, (int) n, def + plen);
        return 0;
}

static int apply_kprobe(struct kchange *k, struct change *c, const char *def) {
        char event[128], contents[PATH_BUF + 160];
        int r = kprobe_event_of(def, event, sizeof event);

        if (r < 0)
                return r;
        if ((size_t) snprintf(c->marker, sizeof c->marker, "%s/" KCHANGE_KPROBE_MARKER_PREFIX "%s", k->state_dir,
                              event + strlen(KCHANGE_KPROBE_GROUP) + 1) >= sizeof c->marker)
                return -ENAMETOOLONG;
        snprintf(c->undo, sizeof c->undo, "-:%s", event);
        snprintf(contents, sizeof contents, "%s\n%s\n", c->path, event);
        r = marker_write(k->state_dir, c->marker, contents);
        if (r < 0) {
                /* Without the marker a crash could leave the probe in: do not make it. */
                c->marker[0] = '\0';
                return r;
        }
        r = append_value(c->path, def);
        if (r < 0)
                (void) unlink(c->marker);
        return r;
}

int kchange_apply(struct kchange *k, enum kchange_op op, const char *path, const char *value) {
        size_t value_max = op == KCHANGE_KPROBE ? KCHANGE_KPROBE_DEF_MAX : KCHANGE_VALUE_MAX;
        if (!k || !path || op >= _KCHANGE_OP_MAX || (value && strlen(value) >= value_max))
                return -EINVAL;
        /* A change that outlives a killed daemon is not made without its marker. */
        if ((op == KCHANGE_MOUNT_TRACEFS || op == KCHANGE_SLUB_TRACE || op == KCHANGE_KPROBE) && !k->state_dir[0])
                return -EINVAL;
        bool needs_value = op == KCHANGE_TRACE_CLOCK || op == KCHANGE_BUFFER_SIZE || op == KCHANGE_OPTION ||
                           op == KCHANGE_FILTER || op == KCHANGE_TRACING_ON || op == KCHANGE_KPROBE ||
                           op == KCHANGE_TRIGGER;
        if (needs_value && !value)
                return -EINVAL;
        if (k->n >= KCHANGE_MAX)
                return -E2BIG;
        struct change *c = &k->changes[k->n];
        int r = 0;

        memset(c, 0, sizeof *c);
        c->op = op;
        if ((size_t) snprintf(c->path, sizeof c->path, "%s", path) >= sizeof c->path)
                return -ENAMETOOLONG;
        switch (op) {
        case KCHANGE_MOUNT_TRACEFS:
                r = apply_mount(k, c);
                break;
        case KCHANGE_INSTANCE:
                r = apply_instance(c);
                break;
        case KCHANGE_TRACE_CLOCK:
        case KCHANGE_BUFFER_SIZE:
        case KCHANGE_OPTION:
        case KCHANGE_TRACING_ON:
                previous_value(op, path, c->undo, sizeof c->undo);
                r = write_value(path, value);
                break;
        case KCHANGE_FILTER:
                snprintf(c->undo, sizeof c->undo, "0");
                r = write_value(path, value);
                break;
        case KCHANGE_EVENT:
                snprintf(c->undo, sizeof c->undo, "0");
                r = write_value(path, "1");
                break;
        case KCHANGE_SLUB_TRACE:
                r = apply_slub_trace(k, c);
                break;
        case KCHANGE_KPROBE:
                r = apply_kprobe(k, c, value);
                break;
        case KCHANGE_TRIGGER:
                /* Removing a trigger names it as it was added, after a '!'. */
                if (value[0] == '!' || value[0] == '\0' ||
                    (size_t) snprintf(c->undo, sizeof c->undo, "!%s", value) >= sizeof c->undo)
                        return -EINVAL;
                r = append_value(path, value);
                break;
        default:
                return -EINVAL;
        }
        if (r == 0)
                k->n++;
        else if (r < 0)
                log_debug("%s: %s %s%s%s failed: %s", op_names[op], path, value ? "= \"" : "", value ? value : "",
                          value ? "\"" : "", strerror(-r));
        return r;
}

static int undo_one(const struct change *c) {
        int r = 0;

        switch (c->op) {
        case KCHANGE_MOUNT_TRACEFS:
                if (umount2(c->path, UMOUNT_NOFOLLOW) < 0)
                        r = -errno;
                break;
        case KCHANGE_INSTANCE:
                /* Removing an instance also drops its buffers; it fails with
                 * EBUSY while a trace_pipe_raw is open. */
                if (rmdir(c->path) < 0)
                        r = -errno;
                break;
        case KCHANGE_BUFFER_SIZE:
                if (c->undo[0])
                        r = write_value(c->path, c->undo);
                break;
        case KCHANGE_TRACE_CLOCK:
        case KCHANGE_OPTION:
        case KCHANGE_FILTER:
        case KCHANGE_EVENT:
        case KCHANGE_TRACING_ON:
                r = write_value(c->path, c->undo);
                break;
        case KCHANGE_SLUB_TRACE:
                r = write_value(c->path, "0");
                break;
        case KCHANGE_KPROBE: /* EBUSY while an instance still has the event enabled */
        case KCHANGE_TRIGGER:
                r = append_value(c->path, c->undo);
                break;
        default:
                r = -EINVAL;
        }
        if (r == 0 && c->marker[0])
                (void) unlink(c->marker);
        return r;
}

int kchange_undo_to(struct kchange *k, size_t depth) {
        int err = 0;
        size_t keep;

        if (!k)
                return 0;
        if (depth > k->n)
                depth = k->n;
        bool failed[KCHANGE_MAX] = {};
        for (size_t i = k->n; i-- > depth;) {
                int r = undo_one(&k->changes[i]);
                if (r < 0) {
                        log_debug("Undoing %s %s failed: %s", op_names[k->changes[i].op], k->changes[i].path,
                                  strerror(-r));
                        failed[i] = true;
                        if (err == 0)
                                err = r;
                }
        }
        /* What could not be undone stays, in order, to be tried again. */
        keep = depth;
        for (size_t i = depth; i < k->n; i++)
                if (failed[i])
                        k->changes[keep++] = k->changes[i];
        k->n = keep;
        return err;
}

void kchange_free(struct kchange *k) {
        if (!k)
                return;
        if (kchange_undo_to(k, 0) < 0)
                for (size_t i = 0; i < k->n; i++)
                        log_warning("Cannot undo the %s change of %s%s", op_names[k->changes[i].op],
                                    k->changes[i].path,
                                    k->changes[i].marker[0] ? "; the next start tries again" : "");
        free(k);
}

/* ---- after a crash ---- */

static int read_marker(const char *path, char *buf, size_t size) {
        int r = read_setting(path, buf, size);
        if (r < 0)
                return r;
        buf[strcspn(buf, "\n")] = '\0';
        return 0;
}

/* Switch off every sysfs trace file a marker names. */
static int recover_trace_flags(const char *state_dir, const char *sys_dir) {
        char slab_dir[PATH_BUF];
        struct dirent *de;
        DIR *d;
        int restored = 0, seen = 0;

        if ((size_t) snprintf(slab_dir, sizeof slab_dir, "%s/kernel/slab/", sys_dir) >= sizeof slab_dir)
                return 0;
        d = opendir(state_dir);
        if (!d)
                return 0;
        while ((de = readdir(d)) && seen < KCHANGE_MARKERS_MAX) {
                char marker[PATH_BUF + 300], trace[PATH_BUF];
                size_t n, prefix = strlen(slab_dir);
                const char *name;

                if (strncmp(de->d_name, KCHANGE_TRACE_MARKER_PREFIX, strlen(KCHANGE_TRACE_MARKER_PREFIX)) != 0 ||
                    strstr(de->d_name, ".new"))
                        continue;
                seen++;
                snprintf(marker, sizeof marker, "%s/%s", state_dir, de->d_name);
                if (read_marker(marker, trace, sizeof trace) < 0) {
                        (void) unlink(marker);
                        continue;
                }
                n = strlen(trace);
                name = trace + prefix;
                if (n > prefix + 6 && strncmp(trace, slab_dir, prefix) == 0 && strcmp(trace + n - 6, "/trace") == 0 &&
                    !strstr(name, "..") && memchr(name, '/', n - prefix - 6) == NULL) {
                        int r = write_value(trace, "0");
                        if (r == 0) {
                                restored++;
                                log_notice("Switched off %s, left on by a capture that did not finish", trace);
                        } else if (r != -ENOENT)
                                log_warning_errno(r, "Failed to switch off %s", trace);
                } else
                        log_warning("Ignoring %s: it does not name a SLUB trace file under %s", marker, slab_dir);
                (void) unlink(marker);
        }
        closedir(d);
        return restored;
}

/* Unmount the tracefs a killed daemon mounted, unless something else uses
 * it now (an instance, or events at the top level). */
static int recover_mount(const char *state_dir, const char *tracefs_path, bool mounted) {
        char marker[PATH_BUF + 32], where[PATH_BUF], path[PATH_BUF + 32], busy[64] = "";
        bool in_use = false;
        DIR *dir;

        snprintf(marker, sizeof marker, "%s/" KCHANGE_MOUNT_MARKER, state_dir);
        if (read_marker(marker, where, sizeof where) < 0)
                return 0;
        if (!tracefs_path || strcmp(where, tracefs_path) != 0 || !mounted) {
                (void) unlink(marker);
                return 0;
        }
        snprintf(path, sizeof path, "%s/instances", where);
        dir = opendir(path);
        for (struct dirent *de; dir && (de = readdir(dir));)
                if (de->d_name[0] != '.')
                        in_use = true;
        if (dir)
                closedir(dir);
        snprintf(path, sizeof path, "%s/set_event", where);
        if (read_marker(path, busy, sizeof busy) == 0 && busy[0])
                in_use = true;
        if (in_use) {
                log_notice("Leaving %s mounted: it is in use now", where);
                (void) unlink(marker);
                return 0;
        }
        if (umount2(where, UMOUNT_NOFOLLOW) < 0) {
                log_warning_errno(-errno, "Cannot unmount %s, which slabwatchd mounted", where);
                return 0;
        }
        (void) unlink(marker);
        log_notice("Unmounted %s, which a previous slabwatchd had mounted", where);
        return 1;
}

/* Remove the `slabwatch-*` instances a killed daemon left (removing an
 * instance disables its events). */
static int recover_instances(const char *tracefs_dir) {
        char dir[PATH_BUF];
        struct dirent *de;
        int removed = 0;
        DIR *d;

        if ((size_t) snprintf(dir, sizeof dir, "%s/instances", tracefs_dir) >= sizeof dir)
                return 0;
        d = opendir(dir);
        if (!d)
                return 0;
        while ((de = readdir(d))) {
                char inst[PATH_BUF + 256];
                if (strncmp(de->d_name, KCHANGE_INSTANCE_PREFIX, strlen(KCHANGE_INSTANCE_PREFIX)) != 0)
                        continue;
                if ((size_t) snprintf(inst, sizeof inst, "%s/%s", dir, de->d_name) >= sizeof inst)
                        continue;
                /* One whose readers are open is a live capture of another
                 * process: the kernel refuses with EBUSY. */
                if (rmdir(inst) < 0) {
                        if (errno == EBUSY)
                                log_warning("tracefs instance %s is in use by another process, left alone", inst);
                        else
                                log_warning_errno(-errno, "Failed to remove stale tracefs instance %s", inst);
                        continue;
                }
                removed++;
        }
        closedir(d);
        if (removed > 0)
                log_notice("Removed %d stale tracefs instance(s) %s* under %s", removed, KCHANGE_INSTANCE_PREFIX,
                           tracefs_dir);
        return removed;
}

/* Remove the kprobe events the markers name: only slabwatch/<name> events
 * of a file named kprobe_events. */
static int recover_kprobes(const char *state_dir) {
        struct dirent *de;
        DIR *d = opendir(state_dir);
        int removed = 0, seen = 0;

        if (!d)
                return 0;
        while ((de = readdir(d)) && seen < KCHANGE_MARKERS_MAX) {
                char marker[PATH_BUF + 300], contents[PATH_BUF + 160], def[200];
                if (strncmp(de->d_name, KCHANGE_KPROBE_MARKER_PREFIX, strlen(KCHANGE_KPROBE_MARKER_PREFIX)) != 0 ||
                    strstr(de->d_name, ".new"))
                        continue;
                seen++;
                snprintf(marker, sizeof marker, "%s/%s", state_dir, de->d_name);
                if (read_setting(marker, contents, sizeof contents) < 0) {
                        (void) unlink(marker);
                        continue;
                }
                char *event = strchr(contents, '\n');
                if (event)
                        *event++ = '\0';
                if (event)
                        event[strcspn(event, "\n")] = '\0';
                size_t n = strlen(contents);
                char check[160];
                snprintf(def, sizeof def, "p:%s x", event ? event : "");
                if (!event || n < 14 || strcmp(contents + n - 14, "/kprobe_events") != 0 ||
                    kprobe_event_of(def, check, sizeof check) < 0 || strcmp(check, event) != 0) {
                        log_warning("Ignoring %s: it does not name a kprobe event of ours", marker);
                        (void) unlink(marker);
                        continue;
                }
                snprintf(def, sizeof def, "-:%s", event);
                int r = append_value(contents, def);
                if (r == 0) {
                        removed++;
                        log_notice("Removed kprobe event %s, left by a capture that did not finish", event);
                } else if (r != -ENOENT)
                        log_warning_errno(r, "Failed to remove kprobe event %s", event);
                (void) unlink(marker);
        }
        closedir(d);
        return removed;
}

int kchange_recover(const char *state_dir, const char *sys_dir, const char *tracefs_path, const char *tracefs_dir) {
        int n = 0;

        if (!state_dir)
                return 0;
        if (sys_dir)
                n += recover_trace_flags(state_dir, sys_dir);
        if (tracefs_dir)
                n += recover_instances(tracefs_dir);
        n += recover_kprobes(state_dir);
        n += recover_mount(state_dir, tracefs_path, tracefs_dir != NULL);
        return n;
}
