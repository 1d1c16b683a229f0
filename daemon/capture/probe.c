#include "capture/probe.h"

#include "capture/bulkfree.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "base/cacheid.h"
#include "capture/bulkfree.h"
#include "core/readfile.h"
#include "base/textscan.h"

/* A tracefs `format` file is a few KB; kmem ones carry a long gfp table. */
#define PROBE_FORMAT_MAX (64u << 10)
/* /proc/filesystems is ~1 KB. */
#define PROBE_FILESYSTEMS_MAX (64u << 10)

static bool path_is_dir(const char *path) {
        struct stat st;
        return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool path_exists(const char *path) {
        struct stat st;
        return stat(path, &st) == 0;
}

/* Open for reading and close: the real test of "readable" (root ignores
 * permission bits, but a 0400 sysfs file or an LSM may still refuse). */
static int path_open_read(const char *path) {
        int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
        if (fd < 0)
                return -errno;
        close(fd);
        return 0;
}

/* Writable in the sense that matters for sysfs: the file has a write bit
 * (the kernel enforces the mode of attributes even for root) and access()
 * agrees. Nothing is opened for writing. */
static bool path_writable(const char *path) {
        struct stat st;
        if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
                return false;
        return (st.st_mode & (S_IWUSR | S_IWGRP | S_IWOTH)) != 0 && access(path, W_OK) == 0;
}

static int join(char *buf, size_t size, const char *dir, const char *rel) {
        return readfile_path(buf, size, dir, rel);
}

bool probe_format_has_field(const char *buf, size_t len, const char *field) {
        struct textscan_lines it = textscan_lines_init(buf, len);
        size_t flen = strlen(field);
        const char *line;
        size_t n;

        /* "\tfield:__data_loc char[] name;\toffset:24;..." — the field is the
         * last identifier before the first ';' (an array suffix aside). */
        while (textscan_next_line(&it, &line, &n)) {
                const char *p = line, *end = line + n, *semi, *id_end, *id;

                while (p < end && (*p == ' ' || *p == '\t'))
                        p++;
                if ((size_t) (end - p) < 6 || memcmp(p, "field:", 6) != 0)
                        continue;
                semi = memchr(p, ';', (size_t) (end - p));
                if (!semi)
                        continue;
                id_end = semi;
                if (id_end > p && id_end[-1] == ']') {
                        while (id_end > p && *id_end != '[')
                                id_end--;
                }
                id = id_end;
                while (id > p && (id[-1] == '_' || (id[-1] >= 'a' && id[-1] <= 'z') || (id[-1] >= 'A' && id[-1] <= 'Z') ||
                                  (id[-1] >= '0' && id[-1] <= '9')))
                        id--;
                if ((size_t) (id_end - id) == flen && memcmp(id, field, flen) == 0)
                        return true;
        }
        return false;
}

/* Does <tracefs>/events/kmem/<event>/format exist, and does it have @field? */
static bool probe_event(const char *tracefs, const char *event, const char *field, bool *ret_has_field) {
        struct readfile_buf b = { .max = PROBE_FORMAT_MAX };
        char rel[128], path[CONFIG_PATH_MAX];
        bool ok;

        *ret_has_field = false;
        snprintf(rel, sizeof rel, "events/kmem/%s/format", event);
        if (join(path, sizeof path, tracefs, rel) < 0)
                return false;
        ok = readfile_read(&b, path) == 0;
        if (ok && field)
                *ret_has_field = probe_format_has_field(b.data, b.len, field);
        readfile_done(&b);
        return ok;
}

static void probe_release(const struct config *c, struct probe *p) {
        char path[CONFIG_PATH_MAX];
        struct utsname u;

        /* The configured /proc first, so a fake tree can claim any kernel;
         * uname() only when that file is not there. */
        if (join(path, sizeof path, c->paths.proc, "sys/kernel/osrelease") < 0 ||
            readfile_small(path, p->release, sizeof p->release) < 0) {
                if (uname(&u) == 0)
                        snprintf(p->release, sizeof p->release, "%s", u.release);
                else
                        p->release[0] = '\0';
        }
        if (cacheid_parse_release(p->release, &p->kver) < 0)
                p->kver = 0;
}

static bool filesystems_has(const struct config *c, const char *fs) {
        struct readfile_buf b = { .max = PROBE_FILESYSTEMS_MAX };
        char path[CONFIG_PATH_MAX];
        struct textscan_lines it;
        const char *line;
        size_t n, fslen = strlen(fs);
        bool found = false;

        if (join(path, sizeof path, c->paths.proc, "filesystems") < 0 || readfile_read(&b, path) < 0) {
                readfile_done(&b);
                return false;
        }
        it = textscan_lines_init(b.data, b.len);
        while (!found && textscan_next_line(&it, &line, &n)) {
                /* "nodev\ttracefs": the last token is the name. */
                const char *t = line + n;
                while (t > line && t[-1] != '\t' && t[-1] != ' ')
                        t--;
                found = (size_t) (line + n - t) == fslen && memcmp(t, fs, fslen) == 0;
        }
        readfile_done(&b);
        return found;
}

static void probe_tracefs(const struct config *c, struct probe *p) {
        char path[CONFIG_PATH_MAX], old[CONFIG_PATH_MAX];
        bool dummy;

        snprintf(p->tracefs_dir, sizeof p->tracefs_dir, "%s", c->paths.tracefs);
        if (join(path, sizeof path, c->paths.tracefs, "events") == 0 && path_is_dir(path))
                p->tracefs_mounted = true;
        else if (join(old, sizeof old, c->paths.debugfs, "tracing") == 0 &&
                 join(path, sizeof path, old, "events") == 0 && path_is_dir(path)) {
                /* Kernels before 4.1, or tracefs only reachable through debugfs. */
                snprintf(p->tracefs_dir, sizeof p->tracefs_dir, "%s", old);
                p->tracefs_mounted = true;
        }

        if (!p->tracefs_mounted) {
                /* Mounting needs CAP_SYS_ADMIN, the filesystem in the kernel and
                 * a mount point (the kernel creates /sys/kernel/tracing). */
                p->tracefs_mountable = geteuid() == 0 && filesystems_has(c, "tracefs") && path_is_dir(c->paths.tracefs);
                return;
        }

        if (join(path, sizeof path, p->tracefs_dir, "instances") == 0)
                p->tracefs_instances = path_is_dir(path);
        if (join(path, sizeof path, p->tracefs_dir, "options/stacktrace") == 0)
                p->stacktrace_option = path_exists(path);
        p->kmem_cache_alloc_event = probe_event(p->tracefs_dir, "kmem_cache_alloc", "name", &p->kmem_cache_alloc_name);
        p->kmem_cache_free_event = probe_event(p->tracefs_dir, "kmem_cache_free", "name", &p->kmem_cache_free_name);
        p->kmalloc_event = probe_event(p->tracefs_dir, "kmalloc", NULL, &dummy);
        p->kfree_event = probe_event(p->tracefs_dir, "kfree", NULL, &dummy);
        p->bulk_frees = bulkfree_available(p->tracefs_dir, p->bulk_frees_reason, sizeof p->bulk_frees_reason);
}

int probe_run(const struct config *c, struct probe *ret) {
        struct probe p = {};
        char path[CONFIG_PATH_MAX];

        probe_release(c, &p);

        if (join(path, sizeof path, c->paths.proc, "slabinfo") == 0)
                p.slabinfo_error = path_open_read(path);
        else
                p.slabinfo_error = -ENAMETOOLONG;
        p.slabinfo_readable = p.slabinfo_error == 0;

        p.slub_sysfs = join(path, sizeof path, c->paths.sys, "kernel/slab") == 0 && path_is_dir(path);
        p.debugfs_slab = join(path, sizeof path, c->paths.debugfs, "slab") == 0 && path_is_dir(path);
        p.allocinfo = join(path, sizeof path, c->paths.proc, "allocinfo") == 0 && path_open_read(path) == 0;
        p.dev_kmsg = path_open_read(c->paths.dev_kmsg) == 0;
        p.may_write_trace = p.kver != 0 && p.kver < CACHEID_KVER_TRACE_RO;

        probe_tracefs(c, &p);

        *ret = p;
        return 0;
}

static bool cache_name_ok(const char *name) {
        size_t n = name ? strlen(name) : 0;
        return n > 0 && n < PROBE_CACHE_NAME_MAX && !strchr(name, '/') && strcmp(name, ".") != 0 &&
               strcmp(name, "..") != 0;
}

int probe_cache(const struct config *c, const struct probe *p, const char *name, struct probe_cache *ret) {
        struct probe_cache pc = {};
        char dir[CONFIG_PATH_MAX], path[CONFIG_PATH_MAX], rel[PROBE_CACHE_NAME_MAX + 32], value[16];

        if (!cache_name_ok(name))
                return -EINVAL;
        snprintf(pc.name, sizeof pc.name, "%s", name);

        snprintf(rel, sizeof rel, "kernel/slab/%s", name);
        if (join(dir, sizeof dir, c->paths.sys, rel) == 0 && path_is_dir(dir)) {
                pc.sysfs = true;
                if (join(path, sizeof path, dir, "store_user") == 0 &&
                    readfile_small(path, value, sizeof value) == 0)
                        pc.store_user = value[0] == '1';
                /* Only kernels before 5.9 accept writes; later ones keep the
                 * file read-only, which path_writable() sees in its mode. */
                if (join(path, sizeof path, dir, "trace") == 0) {
                        pc.trace_writable = (p->kver == 0 || p->may_write_trace) && path_writable(path);
                        pc.trace_on = readfile_small(path, value, sizeof value) == 0 && value[0] == '1';
                }
                /* Existence only: reading alloc_calls walks the whole cache. */
                if (join(path, sizeof path, dir, "alloc_calls") == 0)
                        pc.sysfs_alloc_calls = path_exists(path);
        }

        snprintf(rel, sizeof rel, "slab/%s/alloc_traces", name);
        if (join(path, sizeof path, c->paths.debugfs, rel) == 0)
                pc.debugfs_alloc_traces = path_exists(path);

        *ret = pc;
        return 0;
}

const char *probe_summary(const struct probe *p, char *buf, size_t size) {
        const char *tracefs;

        if (p->tracefs_mounted)
                tracefs = "mounted";
        else if (p->tracefs_mountable)
                tracefs = "mountable";
        else
                tracefs = "unavailable";

        snprintf(buf, size,
                 "kernel %s; slabinfo %s; SLUB sysfs %s; tracefs %s (%s)%s; kmem events: kmem_cache_alloc %s, "
                 "kmem_cache_free %s, kmalloc %s; bulk frees %s%s%s; debugfs slab %s; /proc/allocinfo %s; "
                 "sysfs trace %s",
                 p->release[0] ? p->release : "unknown",
                 p->slabinfo_readable ? "readable" : "NOT readable",
                 p->slub_sysfs ? "yes" : "no",
                 tracefs, p->tracefs_dir,
                 p->tracefs_mounted && !p->tracefs_instances ? " without instances" : "",
                 !p->kmem_cache_alloc_event ? "absent" : p->kmem_cache_alloc_name ? "with name" : "without name",
                 !p->kmem_cache_free_event ? "absent" : p->kmem_cache_free_name ? "with name" : "without name",
                 p->kmalloc_event ? "present" : "absent",
                 p->bulk_frees ? "traced (kprobe events)" : "inferred only",
                 !p->bulk_frees && p->bulk_frees_reason[0] ? ": " : "", p->bulk_frees ? "" : p->bulk_frees_reason,
                 p->debugfs_slab ? "present" : "absent",
                 p->allocinfo ? "present" : "absent",
                 p->may_write_trace ? "writable (kernel < 5.9)" : "read-only");
        return buf;
}

/* Add @v under @key; the first failure sticks in @ok. */
static void jadd(json_object *o, const char *key, json_object *v, bool *ok) {
        if (!v || json_object_object_add(o, key, v) < 0) {
                json_object_put(v);
                *ok = false;
        }
}

int probe_to_json(const struct probe *p, json_object **ret) {
        json_object *o = json_object_new_object(), *ev = json_object_new_object();
        bool ok = o && ev;

        if (!ok) {
                json_object_put(o);
                json_object_put(ev);
                return -ENOMEM;
        }
        jadd(o, "kernel", json_object_new_string(p->release), &ok);
        jadd(o, "slabinfo_readable", json_object_new_boolean(p->slabinfo_readable), &ok);
        if (!p->slabinfo_readable)
                jadd(o, "slabinfo_error", json_object_new_string(strerror(-p->slabinfo_error)), &ok);
        jadd(o, "slub_sysfs", json_object_new_boolean(p->slub_sysfs), &ok);
        jadd(o, "debugfs_slab", json_object_new_boolean(p->debugfs_slab), &ok);
        jadd(o, "tracefs_dir", json_object_new_string(p->tracefs_dir), &ok);
        jadd(o, "tracefs_mounted", json_object_new_boolean(p->tracefs_mounted), &ok);
        jadd(o, "tracefs_mountable", json_object_new_boolean(p->tracefs_mountable), &ok);
        jadd(o, "tracefs_instances", json_object_new_boolean(p->tracefs_instances), &ok);
        jadd(o, "stacktrace_option", json_object_new_boolean(p->stacktrace_option), &ok);
        jadd(ev, "kmem_cache_alloc", json_object_new_boolean(p->kmem_cache_alloc_event), &ok);
        jadd(ev, "kmem_cache_alloc_name", json_object_new_boolean(p->kmem_cache_alloc_name), &ok);
        jadd(ev, "kmem_cache_free", json_object_new_boolean(p->kmem_cache_free_event), &ok);
        jadd(ev, "kmem_cache_free_name", json_object_new_boolean(p->kmem_cache_free_name), &ok);
        jadd(ev, "kmalloc", json_object_new_boolean(p->kmalloc_event), &ok);
        jadd(ev, "kfree", json_object_new_boolean(p->kfree_event), &ok);
        jadd(o, "kmem_events", ev, &ok);
        jadd(o, "bulk_free_tracing", json_object_new_boolean(p->bulk_frees), &ok);
        if (!p->bulk_frees)
                jadd(o, "bulk_free_reason", json_object_new_string(p->bulk_frees_reason), &ok);
        jadd(o, "allocinfo", json_object_new_boolean(p->allocinfo), &ok);
        jadd(o, "dev_kmsg", json_object_new_boolean(p->dev_kmsg), &ok);
        jadd(o, "sysfs_trace_writable_kernel", json_object_new_boolean(p->may_write_trace), &ok);
        if (!ok) {
                json_object_put(o);
                return -ENOMEM;
        }
        *ret = o;
        return 0;
}

int probe_cache_to_json(const struct probe_cache *pc, json_object **ret) {
        json_object *o = json_object_new_object();
        bool ok = o != NULL;

        if (!ok)
                return -ENOMEM;
        jadd(o, "name", json_object_new_string(pc->name), &ok);
        jadd(o, "sysfs", json_object_new_boolean(pc->sysfs), &ok);
        jadd(o, "store_user", json_object_new_boolean(pc->store_user), &ok);
        jadd(o, "trace_writable", json_object_new_boolean(pc->trace_writable), &ok);
        jadd(o, "trace_on", json_object_new_boolean(pc->trace_on), &ok);
        jadd(o, "sysfs_alloc_calls", json_object_new_boolean(pc->sysfs_alloc_calls), &ok);
        jadd(o, "debugfs_alloc_traces", json_object_new_boolean(pc->debugfs_alloc_traces), &ok);
        if (!ok) {
                json_object_put(o);
                return -ENOMEM;
        }
        *ret = o;
        return 0;
}
