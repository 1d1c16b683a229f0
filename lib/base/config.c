/* config — slabwatch.yaml: the compiled-in defaults (the default detection
 * rules among them), the rule lookup, loading a file. The keys are tables in
 * config_schema.c, the YAML parser is config_yaml.c, the numbers with units
 * are config_units.c. */

#include "base/config.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/config_schema.h"
#include "base/path.h"
#include "base/regfile.h"

_Static_assert(CONFIG_SOCKET_PATH_MAX == sizeof(((struct sockaddr_un *) 0)->sun_path),
               "server.socket must fit sockaddr_un");
_Static_assert(CONFIG_SOCKET_PATH_MAX <= CONFIG_PATH_MAX, "socket path field too small");

/* ========================== Compiled-in defaults ==========================
 * Every default lives here and only here. config/slabwatch.yaml shows the
 * same values, and the unit tests fail if the two ever differ.
 *
 * The detection defaults were tuned on two recordings of real machines and
 * measured on a third held out (tests/fixtures/recordings/README.md). They
 * follow from what a leak must do to matter in a long stability test: a
 * cache whose floor rises by 0.5 objects/s or more, for 15 minutes,
 * steadily and well above its own noise, is a leak whatever the
 * size of its objects; one that would take all of MemTotal within 120 days
 * (about 8.5 MiB/h on 24 GiB, 0.36 MiB/h on 1 GiB) needs only 3 minutes. */

static const struct config_rule default_rules[] = {
        /* Reclaimable caches (dentry, inodes, buffer heads) and those whose
         * objects live and die with them swell with use and shrink under
         * memory pressure: only a floor that rises for hours and never falls
         * back is a leak. */
        {
                .match = "*",
                .reclaimable = CONFIG_RECLAIM_YES,
                .window_usec = 12 * USEC_PER_HOUR,
                .objects_per_min = 30,
                .significance = 8,
                .steady_for_usec = 3 * USEC_PER_HOUR,
                .min_trend = 0.8,
        },
        /* Every other cache: a steady rise of half an object per second. */
        {
                .match = "*",
                .reclaimable = CONFIG_RECLAIM_ANY,
                .window_usec = USEC_PER_HOUR,
                .objects_per_min = 15,
                .significance = 6,
                .steady_for_usec = 15 * USEC_PER_MIN,
                .fast_for_usec = 3 * USEC_PER_MIN,
                .fast_exhaust_usec = 120 * USEC_PER_DAY,
                .min_trend = 0.8,
        },
};

/* A rule written in the file starts from this: the floor must rise steadily
 * for 15 minutes, 6 times above the cache's noise; no rate threshold is
 * checked until the rule sets it. */
const struct config_rule config_rule_template = {
        .reclaimable = CONFIG_RECLAIM_ANY,
        .window_usec = USEC_PER_HOUR,
        .significance = 6,
        .steady_for_usec = 15 * USEC_PER_MIN,
};

void config_copy_string(char *dst, size_t size, const char *src) {
        memset(dst, 0, size);
        strncpy(dst, src, size - 1);
}

void config_defaults(struct config *ret) {
        /* Zero first so that two configs holding the same values compare
         * equal byte for byte (string tails, unused rules, padding). */
        memset(ret, 0, sizeof *ret);

        ret->interval_usec = 10 * USEC_PER_SEC;
        ret->page_size = 0;

        ret->history.raw_usec = USEC_PER_HOUR;
        ret->history.minute_usec = 24 * USEC_PER_HOUR;
        ret->history.snapshot_usec = 5 * USEC_PER_MIN;
        ret->history.hour_usec = 30 * USEC_PER_DAY;

        /* Every host path, from the root (host_paths below). */
        (void) config_set_root(ret, "/");

        memcpy(ret->rules, default_rules, sizeof default_rules);
        ret->n_rules = ELEMENTSOF(default_rules);

        ret->alert.journal = true;
        ret->alert.stderr_always = false;
        ret->alert.repeat_usec = USEC_PER_HOUR;
        ret->alert.rate_factor = 2.0;
        ret->alert.clear_usec = 10 * USEC_PER_MIN;
        ret->alert.events_log_max_bytes = 16 * MIB;

        ret->capture.enabled = true;
        ret->capture.duration_usec = 60 * USEC_PER_SEC;
        ret->capture.drain_usec = CONFIG_DRAIN_AUTO;
        ret->capture.max_events = 20000000;
        ret->capture.max_memory_bytes = 256 * MIB;
        ret->capture.buffer_bytes_per_cpu = 16 * MIB;
        ret->capture.poll_usec = 10 * USEC_PER_MSEC;
        ret->capture.callsites_interval_usec = 10 * USEC_PER_SEC;
        ret->capture.checkpoint_usec = 5 * USEC_PER_SEC;
        ret->capture.cooldown_usec = USEC_PER_HOUR;
        ret->capture.max_concurrent = 1;
        ret->capture.disk_budget_bytes = 256 * MIB;
        ret->capture.raw_trace_max_bytes = 32 * MIB;
        ret->capture.mount_tracefs = true;

        config_copy_string(ret->server.group, sizeof ret->server.group, "slabwatch");
        ret->server.max_clients = 32;
        ret->server.max_request_bytes = 64 * KIB;
        ret->server.idle_timeout_usec = 30 * USEC_PER_SEC;

        config_copy_string(ret->metrics.textfile, sizeof ret->metrics.textfile, "");
}

/* ============================ Host paths =============================
 * Every path on the host, as it lies under paths.root: composed here and
 * nowhere else. A key the file sets itself keeps its value. */

#define HOST_PATH(member, rel, limit) \
        { #member, offsetof(struct config, member), sizeof(((struct config *) 0)->member), rel, limit }

static const struct host_path {
        const char *key;
        size_t offset, size;
        const char *under_root;
        size_t max_len;                 /* NUL included */
} host_paths[] = {
        HOST_PATH(paths.proc, "proc", CONFIG_PATH_MAX),
        HOST_PATH(paths.sys, "sys", CONFIG_PATH_MAX),
        HOST_PATH(paths.tracefs, "sys/kernel/tracing", CONFIG_PATH_MAX),
        HOST_PATH(paths.debugfs, "sys/kernel/debug", CONFIG_PATH_MAX),
        HOST_PATH(paths.dev_kmsg, "dev/kmsg", CONFIG_PATH_MAX),
        HOST_PATH(paths.state_dir, "var/lib/slabwatch", CONFIG_PATH_MAX),
        HOST_PATH(server.socket, "run/slabwatch/slabwatch.sock", CONFIG_SOCKET_PATH_MAX),
};

int config_compose_paths(struct config *c, config_given_fn given, void *userdata, const char **ret_key) {
        char buf[CONFIG_PATH_MAX];

        /* Check every path first, so that a failure changes nothing. */
        for (int write = 0; write <= 1; write++)
                for (size_t i = 0; i < ELEMENTSOF(host_paths); i++) {
                        const struct host_path *h = &host_paths[i];
                        char *field = (char *) c + h->offset;

                        if (given && given(field, userdata))
                                continue;
                        if (path_join(buf, h->max_len, c->paths.root, h->under_root) < 0) {
                                if (ret_key)
                                        *ret_key = h->key;
                                return -ENAMETOOLONG;
                        }
                        if (write)
                                config_copy_string(field, h->size, buf);
                }
        return 0;
}

int config_set_root(struct config *c, const char *root) {
        char saved[CONFIG_PATH_MAX];
        int r;

        if (root[0] != '/')
                return -EINVAL;
        if (strlen(root) >= sizeof c->paths.root)
                return -ENAMETOOLONG;
        memcpy(saved, c->paths.root, sizeof saved);
        config_copy_string(c->paths.root, sizeof c->paths.root, root);
        r = config_compose_paths(c, NULL, NULL, NULL);
        if (r < 0)
                memcpy(c->paths.root, saved, sizeof c->paths.root);
        return r;
}

const struct config_rule *config_rule_for(const struct config *c, const char *cache_name, bool reclaimable) {
        for (size_t i = 0; i < c->n_rules && i < CONFIG_RULES_MAX; i++) {
                const struct config_rule *rule = &c->rules[i];

                if (rule->reclaimable == CONFIG_RECLAIM_YES && !reclaimable)
                        continue;
                if (rule->reclaimable == CONFIG_RECLAIM_NO && reclaimable)
                        continue;
                if (fnmatch(rule->match, cache_name, 0) == 0)
                        return rule;
        }
        return NULL;
}

void config_error_set(struct config_error *e, const char *fmt, ...) {
        va_list ap;

        e->line = e->column = 0;
        va_start(ap, fmt);
        vsnprintf(e->message, sizeof e->message, fmt, ap);
        va_end(ap);
}

const char *config_error_format(const struct config_error *e, const char *path, char *buf, size_t size) {
        const char *sep = path ? ":" : "";

        if (!path)
                path = "";
        if (e->line > 0)
                snprintf(buf, size, "%s%s%u:%u: %s", path, sep, e->line, e->column, e->message);
        else
                snprintf(buf, size, "%s%s%s%s", path, sep, path[0] ? " " : "", e->message);
        return buf;
}

int config_load_file(const char *path, struct config *ret, struct config_error *ret_error) {
        struct config_error scratch;
        struct config_error *e = ret_error ?: &scratch;
        size_t len = 0, cap = 4096;
        char *buf = NULL;
        off_t size = 0;
        int fd, r;

        memset(e, 0, sizeof *e);
        /* The one way every config is read (start, SIGHUP, reload,
         * --check-config): a FIFO or device in its place is refused here,
         * before a read that could block the daemon's loop or never end. */
        fd = regfile_open(path, &size);
        if (fd < 0) {
                r = fd;
                if (r == -EISDIR)
                        config_error_set(e, "is a directory");
                else if (r == -REGFILE_ENOTREG)
                        config_error_set(e, "not a regular file (a FIFO, socket or device); "
                                            "a config must be a regular file");
                else
                        config_error_set(e, "cannot open: %s", strerror(-r));
                return r;
        }
        /* Size the buffer from the file when it tells us, but trust only the
         * bytes actually read. */
        if (size > 0 && (uint64_t) size <= CONFIG_FILE_MAX)
                cap = (size_t) size + 1;
        for (;;) {
                ssize_t n;

                if (!buf || len == cap) {
                        char *nbuf;

                        if (buf) {
                                if (cap > CONFIG_FILE_MAX) {
                                        r = -EFBIG;
                                        config_error_set(e, "larger than %d bytes", CONFIG_FILE_MAX);
                                        goto finish;
                                }
                                cap = cap * 2 > (size_t) CONFIG_FILE_MAX + 1 ? (size_t) CONFIG_FILE_MAX + 1 : cap * 2;
                        }
                        nbuf = realloc(buf, cap);
                        if (!nbuf) {
                                r = -ENOMEM;
                                config_error_set(e, "out of memory");
                                goto finish;
                        }
                        buf = nbuf;
                }
                n = read(fd, buf + len, cap - len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        r = -errno;
                        config_error_set(e, "cannot read: %s", strerror(-r));
                        goto finish;
                }
                if (n == 0)
                        break;
                len += (size_t) n;
        }
        r = config_parse(buf, len, ret, e);

finish:
        free(buf);
        close(fd);
        return r;
}

int config_source_init(struct config_source *ret, const char *path) {
        const char *p = path ? path : CONFIG_DEFAULT_PATH;
        if (strlen(p) >= sizeof ret->path)
                return -ENAMETOOLONG;
        config_copy_string(ret->path, sizeof ret->path, p);
        ret->named = path != NULL;
        return 0;
}

int config_load(const struct config_source *src, struct config *ret, bool *ret_defaults,
                struct config_error *ret_error) {
        int r = config_load_file(src->path, ret, ret_error);
        bool defaults = r == -ENOENT && !src->named;
        if (defaults) {
                config_defaults(ret);
                if (ret_error)
                        memset(ret_error, 0, sizeof *ret_error);
                r = 0;
        }
        if (ret_defaults)
                *ret_defaults = defaults;
        return r;
}
