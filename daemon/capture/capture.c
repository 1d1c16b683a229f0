#include "capture/capture.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "capture/bundle.h"
#include "base/cacheid.h"
#include "callsites/callsites.h"
#include "capture/identity.h"
#include "capture/kmsgtracer.h"
#include "core/log.h"
#include "core/readfile.h"
#include "capture/tracer.h"

/* callsites-series.csv (the count of every site at every snapshot) is cut
 * past this; the first and last snapshots are kept raw regardless. */
#define CAPTURE_SERIES_MAX (4u << 20)
/* Call-site sources of one capture: alloc and free files of every member. */
#define CAPTURE_SOURCES_MAX (2 * IDENTITY_MEMBERS_MAX)
/* Warnings about one source are said once, not at every snapshot. */
#define CAPTURE_MESSAGE_MAX 1024
/* <state_dir>/trace-on-<cache>: the sysfs trace file we switched on, so a
 * daemon killed mid-capture switches it off at its next start. */
#define CAPTURE_MARKER_PREFIX "trace-on-"
/* Markers looked at on start; one per concurrent capture in practice. */
#define CAPTURE_MARKERS_MAX 256

_Static_assert(REPORT_ID_MAX >= BUNDLE_ID_MAX, "a bundle id must fit the report's");

struct cs_source {
        char cache[SLABINFO_NAME_MAX];          /* the member whose file it is */
        char file[32];                          /* "alloc_calls", "free_traces", ... */
        char path[CONFIG_PATH_MAX];
        bool free_site;
        struct readfile_buf buf;
        char *first_raw;
        size_t first_len;
        struct callsites first;
        struct callsites last;
        bool have_first;
        bool have_last;
        unsigned snapshots;
        int error;                              /* last read/parse error, said once */
};

struct capture {
        struct capture_manager *m;
        struct capture *next;

        char id[BUNDLE_ID_MAX];
        char asked[SLABINFO_NAME_MAX];
        char key[SLABINFO_NAME_MAX];            /* cool-down key: the slabinfo name */
        bool on_demand;
        struct identity *identity;
        struct report *report;
        char *history;
        size_t history_len;

        struct cs_source *sources;
        size_t n_sources;
        uint64_t last_snapshot_usec;            /* monotonic */
        char *series;                           /* callsites-series.csv */
        size_t series_len;
        size_t series_allocated;
        bool series_cut;

        struct tracer *tracer;
        struct kmsgtracer *kmsg;
        char marker[CONFIG_PATH_MAX + 64];      /* trace-on-<cache> while kmsg is on, "" */

        /* /proc/allocinfo (6.10+) at the start and the end: per call site
         * bytes of every allocation, not only this cache's, kept raw. */
        struct readfile_buf allocinfo_first;
        struct readfile_buf allocinfo_last;

        uint64_t start_mono_usec;
        uint64_t duration_usec;
        int error;
        bool finishing;

        ev_timer end_timer;                     /* duration, or at once when nothing can run */
        ev_timer poll_timer;                    /* capture.poll: drain the ring buffers */
        ev_timer callsites_timer;               /* capture.callsites_interval */
        ev_timer watch_timer;                   /* the cache still exists? */
};

struct cooldown_entry {
        char key[SLABINFO_NAME_MAX];
        uint64_t end_mono_usec;
};

struct capture_manager {
        struct ev_loop *loop;
        struct config config;
        struct probe probe;
        capture_done_fn done;
        void *userdata;
        struct capture *captures;
        unsigned n_running;
        bool mounted_tracefs;
        struct cooldown_entry cooldown[CAPTURE_COOLDOWN_MAX];
        size_t n_cooldown;
};

static uint64_t now_usec(clockid_t clock) {
        struct timespec ts;
        clock_gettime(clock, &ts);
        return (uint64_t) ts.tv_sec * 1000000ULL + (uint64_t) ts.tv_nsec / 1000ULL;
}

const char *capture_strerror(int error) {
        switch (error) {
        case -EALREADY:
                return "a capture of this cache is already running";
        case -EBUSY:
                return "the limit of concurrent captures (capture.max_concurrent) is reached";
        case -CAPTURE_ECOOLDOWN:
                return "this cache was captured recently (capture.cooldown)";
        case -ECANCELED:
                return "captures are disabled (capture.enabled: false)";
        case -ENOENT:
                return "no such cache";
        case -EINVAL:
                return "not a valid cache name";
        case -EOPNOTSUPP:
                return "this kernel offers no way to capture this cache";
        default:
                return strerror(error < 0 ? -error : error);
        }
}

/* ---- cool-down ---------------------------------------------------------- */

static struct cooldown_entry *cooldown_find(const struct capture_manager *m, const char *key) {
        for (size_t i = 0; i < m->n_cooldown; i++)
                if (strcmp(m->cooldown[i].key, key) == 0)
                        return (struct cooldown_entry *) &m->cooldown[i];
        return NULL;
}

static void cooldown_record(struct capture_manager *m, const char *key, uint64_t end_usec) {
        struct cooldown_entry *e = cooldown_find(m, key);

        if (!e) {
                if (m->n_cooldown < CAPTURE_COOLDOWN_MAX)
                        e = &m->cooldown[m->n_cooldown++];
                else {
                        /* Full: reuse the entry whose cool-down ended first. */
                        e = &m->cooldown[0];
                        for (size_t i = 1; i < m->n_cooldown; i++)
                                if (m->cooldown[i].end_mono_usec < e->end_mono_usec)
                                        e = &m->cooldown[i];
                }
                snprintf(e->key, sizeof e->key, "%s", key);
        }
        e->end_mono_usec = end_usec;
}

static uint64_t cooldown_left(const struct capture_manager *m, const char *key) {
        const struct cooldown_entry *e = cooldown_find(m, key);
        uint64_t now = now_usec(CLOCK_MONOTONIC), until;

        if (!e)
                return 0;
        until = e->end_mono_usec + m->config.capture.cooldown_usec;
        return until > now ? until - now : 0;
}

uint64_t capture_manager_cooldown_left_usec(const struct capture_manager *m, const char *cache) {
        struct identity *id = NULL;
        uint64_t left;

        /* The key is the slabinfo name; an alias maps to it. */
        if (cooldown_find(m, cache))
                return cooldown_left(m, cache);
        if (identity_resolve(&m->config, NULL, cache, &id) < 0)
                return 0;
        left = cooldown_left(m, id->members[0].slabinfo_name);
        identity_free(id);
        return left;
}

/* ---- call sites --------------------------------------------------------- */

static void series_append(struct capture *cap, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void series_append(struct capture *cap, const char *fmt, ...) {
        char line[CAPTURE_MESSAGE_MAX];
        va_list ap;
        int n;

        if (cap->series_cut)
                return;
        va_start(ap, fmt);
        n = vsnprintf(line, sizeof line, fmt, ap);
        va_end(ap);
        if (n < 0)
                return;
        if ((size_t) n >= sizeof line)
                n = (int) sizeof line - 1;
        if (cap->series_len + (size_t) n > CAPTURE_SERIES_MAX) {
                cap->series_cut = true;
                (void) report_strv_addf(&cap->report->warnings,
                                        "callsites-series.csv cut at %u bytes; the first and last snapshots are "
                                        "kept whole", CAPTURE_SERIES_MAX);
                return;
        }
        if (cap->series_len + (size_t) n + 1 > cap->series_allocated) {
                size_t want = cap->series_allocated ? cap->series_allocated * 2 : 4096;
                char *p;
                while (want < cap->series_len + (size_t) n + 1)
                        want *= 2;
                p = realloc(cap->series, want);
                if (!p)
                        return;
                cap->series = p;
                cap->series_allocated = want;
        }
        memcpy(cap->series + cap->series_len, line, (size_t) n);
        cap->series_len += (size_t) n;
        cap->series[cap->series_len] = '\0';
}

static void source_done(struct cs_source *s) {
        readfile_done(&s->buf);
        free(s->first_raw);
        callsites_done(&s->first);
        callsites_done(&s->last);
}

static int add_source(struct capture *cap, const char *cache, const char *dir, const char *file, bool free_site) {
        struct cs_source *s;

        if (cap->n_sources >= CAPTURE_SOURCES_MAX)
                return -E2BIG;
        s = &cap->sources[cap->n_sources];
        memset(s, 0, sizeof *s);
        snprintf(s->cache, sizeof s->cache, "%s", cache);
        snprintf(s->file, sizeof s->file, "%s", file);
        if (readfile_path(s->path, sizeof s->path, dir, file) < 0)
                return -ENAMETOOLONG;
        s->free_site = free_site;
        s->buf.max = CAPTURE_CALLSITES_FILE_MAX;
        cap->n_sources++;
        return 0;
}

/* Read and parse one source; the first snapshot is kept raw and parsed,
 * later ones replace "last". Problems become one warning per source. */
static void snapshot_source(struct capture *cap, struct cs_source *s, double t_s) {
        struct callsites parsed = {};
        int r;

        r = readfile_read(&s->buf, s->path);
        if (r < 0) {
                if (r != s->error)
                        (void) report_strv_addf(&cap->report->warnings, "call sites: cannot read %s: %s", s->path,
                                                strerror(-r));
                s->error = r;
                return;
        }
        r = callsites_parse(s->buf.data, s->buf.len, &parsed);
        if (r < 0) {
                if (r != s->error)
                        (void) report_strv_addf(&cap->report->warnings,
                                                "call sites: %s is not a call-site file (%zu malformed lines, first "
                                                "at line %u): %s",
                                                s->path, parsed.n_bad_lines,
                                                parsed.n_bad_lines ? parsed.bad_lines[0].line : 0, strerror(-r));
                s->error = r;
                callsites_done(&parsed);
                return;
        }
        if (parsed.n_bad_lines > 0 && s->error != -EBADMSG) {
                (void) report_strv_addf(&cap->report->warnings,
                                        "call sites: %zu malformed lines skipped in %s (first at line %u)",
                                        parsed.n_bad_lines, s->path, parsed.bad_lines[0].line);
                s->error = -EBADMSG;
        }

        for (size_t i = 0; i < parsed.n_sites; i++) {
                char site[REPORT_NAME_MAX];
                callsites_format_site(&parsed.sites[i], site, sizeof site);
                series_append(cap, "%.3f,%s,%s,\"%s\",%" PRIu64 "\n", t_s, s->cache, s->file, site,
                              parsed.sites[i].count);
        }

        s->snapshots++;
        if (!s->have_first) {
                s->first = parsed;
                s->have_first = true;
                s->first_raw = malloc(s->buf.len + 1);
                if (s->first_raw) {
                        memcpy(s->first_raw, s->buf.data, s->buf.len);
                        s->first_len = s->buf.len;
                }
                return;
        }
        callsites_done(&s->last);
        s->last = parsed;
        s->have_last = true;
}

static void snapshot_all(struct capture *cap) {
        uint64_t now = now_usec(CLOCK_MONOTONIC);
        double t_s = (double) (now - cap->start_mono_usec) / 1e6;

        if (cap->series_len == 0)
                series_append(cap, "t_s,cache,file,site,count\n");

        for (size_t i = 0; i < cap->n_sources; i++)
                snapshot_source(cap, &cap->sources[i], t_s);
        cap->last_snapshot_usec = now;
        cap->report->callsite_snapshots++;
}

static void format_frame(const struct callsites_frame *f, char *buf, size_t size) {
        int n;

        if (f->has_offset)
                n = snprintf(buf, size, "%s+0x%" PRIx64 "/0x%" PRIx64, f->function, f->offset, f->size);
        else
                n = snprintf(buf, size, "%s", f->function);
        if (n >= 0 && (size_t) n < size && f->module && f->module[0])
                snprintf(buf + n, size - (size_t) n, " [%s]", f->module);
}

/* Diff first → last (or first alone) into the report's call sites. */
static void callsites_to_report(struct capture *cap) {
        for (size_t i = 0; i < cap->n_sources; i++) {
                struct cs_source *s = &cap->sources[i];
                struct callsites_diff d = {};

                if (!s->have_first)
                        continue;
                if (callsites_diff(&s->first, s->have_last ? &s->last : &s->first, &d) < 0) {
                        (void) report_strv_addf(&cap->report->warnings, "call sites: out of memory diffing %s",
                                                s->path);
                        continue;
                }
                for (size_t j = 0; j < d.n; j++) {
                        const struct callsites_delta *delta = &d.deltas[j];
                        const struct callsites_site *site = delta->new_site ? delta->new_site : delta->old_site;
                        struct report_callsite *c = report_add_callsite(cap->report);

                        if (!c) {
                                (void) report_strv_addf(&cap->report->warnings,
                                                        "call sites: more than %u, the rest left out",
                                                        REPORT_CALLSITES_MAX);
                                break;
                        }
                        c->free_site = s->free_site;
                        snprintf(c->cache, sizeof c->cache, "%s", s->cache);
                        callsites_format_site(site, c->site, sizeof c->site);
                        c->count_first = delta->old_count;
                        c->count_last = delta->new_count;
                        c->delta = delta->delta;
                        if (site->has_age) {
                                c->age_min = site->age_min;
                                c->age_avg = site->age_avg;
                                c->age_max = site->age_max;
                        }
                        if (site->has_pid) {
                                if (site->pid_min == site->pid_max)
                                        snprintf(c->pids, sizeof c->pids, "%" PRIu64, site->pid_min);
                                else
                                        snprintf(c->pids, sizeof c->pids, "%" PRIu64 "-%" PRIu64, site->pid_min,
                                                 site->pid_max);
                        }
                        snprintf(c->cpus, sizeof c->cpus, "%s", site->cpus ? site->cpus : "");
                        for (size_t k = 0; k < site->n_frames && k < REPORT_FRAMES_MAX; k++) {
                                char frame[REPORT_NAME_MAX];
                                format_frame(&site->frames[k], frame, sizeof frame);
                                if (report_strv_add(&c->frames, frame) < 0)
                                        break;
                        }
                }
                callsites_diff_done(&d);
        }
}

/* ---- capture life cycle -------------------------------------------------- */

static void capture_finish(struct capture *cap, const char *reason);

static void capture_free(struct capture *cap) {
        if (!cap)
                return;
        tracer_free(cap->tracer);
        if (cap->kmsg) {
                /* Only on an error path: kmsgtracer_free() switches trace off. A
                 * marker left by a failed switch-off in stop_kmsg() stays for the
                 * next start to retry. */
                kmsgtracer_free(cap->kmsg);
                if (cap->marker[0])
                        (void) unlink(cap->marker);
        }
        readfile_done(&cap->allocinfo_first);
        readfile_done(&cap->allocinfo_last);
        for (size_t i = 0; i < cap->n_sources; i++)
                source_done(&cap->sources[i]);
        free(cap->sources);
        free(cap->series);
        free(cap->history);
        identity_free(cap->identity);
        report_free(cap->report);
        free(cap);
}

static void end_cb(struct ev_loop *loop, ev_timer *w, int revents) {
        struct capture *cap = (struct capture *) ((char *) w - offsetof(struct capture, end_timer));
        (void) loop;
        (void) revents;
        capture_finish(cap, cap->error < 0 ? "nothing to capture" : "duration");
}

static void poll_cb(struct ev_loop *loop, ev_timer *w, int revents) {
        struct capture *cap = (struct capture *) ((char *) w - offsetof(struct capture, poll_timer));
        int r;
        (void) loop;
        (void) revents;

        if (cap->kmsg) {
                r = kmsgtracer_poll(cap->kmsg);
                if (r < 0) {
                        (void) report_strv_addf(&cap->report->warnings, "kmsg trace: reading %s failed: %s",
                                                cap->m->config.paths.dev_kmsg, strerror(-r));
                        capture_finish(cap, "log read error");
                }
                return;
        }
        if (!cap->tracer)
                return;
        r = tracer_poll(cap->tracer);
        if (r < 0) {
                (void) report_strv_addf(&cap->report->warnings, "tracing: reading the ring buffers failed: %s",
                                        strerror(-r));
                capture_finish(cap, "trace read error");
                return;
        }
        if (tracer_limit_reached(cap->tracer))
                capture_finish(cap, "event or memory limit");
}

static void callsites_cb(struct ev_loop *loop, ev_timer *w, int revents) {
        struct capture *cap = (struct capture *) ((char *) w - offsetof(struct capture, callsites_timer));
        (void) loop;
        (void) revents;
        snapshot_all(cap);
}

static void watch_cb(struct ev_loop *loop, ev_timer *w, int revents) {
        struct capture *cap = (struct capture *) ((char *) w - offsetof(struct capture, watch_timer));
        (void) loop;
        (void) revents;
        if (!identity_exists(&cap->m->config, cap->identity))
                capture_finish(cap, "cache vanished");
}

static bool identity_overlaps(const struct identity *a, const struct identity *b) {
        for (size_t i = 0; i < a->n_members; i++)
                for (size_t j = 0; j < b->n_members; j++)
                        if (strcmp(a->members[i].slabinfo_name, b->members[j].slabinfo_name) == 0)
                                return true;
        return false;
}

/* The advice for call sites, for every name of the capture. */
static void advise_callsites(struct capture *cap) {
        const char *names[IDENTITY_ALIASES_MAX];
        char advice[CACHEID_ADVICE_MAX];
        size_t n = identity_all_names(cap->identity, names, IDENTITY_ALIASES_MAX);

        /* The cache's own name first: the advice points at its debugfs directory. */
        for (size_t i = 1; i < n; i++)
                if (strcmp(names[i], cap->key) == 0) {
                        const char *t = names[0];
                        names[0] = names[i];
                        names[i] = t;
                        break;
                }

        if (n > 0 && cacheid_boot_advice(names, n, cap->m->probe.kver, advice, sizeof advice) > 0)
                (void) report_strv_add(&cap->report->advice, advice);
}

/* Decide where the call sites come from and take the first snapshot. */
static void setup_callsites(struct capture *cap) {
        const struct capture_manager *m = cap->m;
        bool any_store_user = false;

        for (size_t i = 0; i < cap->identity->n_members; i++) {
                const struct identity_member *mem = &cap->identity->members[i];
                struct probe_cache pc;
                char dir[CONFIG_PATH_MAX], rel[SLABINFO_NAME_MAX + 16];

                if (probe_cache(&m->config, &m->probe, mem->slabinfo_name, &pc) < 0)
                        continue;
                any_store_user |= pc.store_user;
                if (pc.sysfs_alloc_calls && mem->sysfs_dir[0]) {
                        if (add_source(cap, mem->slabinfo_name, mem->sysfs_dir, "alloc_calls", false) < 0 ||
                            add_source(cap, mem->slabinfo_name, mem->sysfs_dir, "free_calls", true) < 0)
                                break;
                        if (!report_strv_contains(&cap->report->methods, "sysfs alloc_calls"))
                                (void) report_strv_add(&cap->report->methods, "sysfs alloc_calls");
                } else if (pc.debugfs_alloc_traces) {
                        snprintf(rel, sizeof rel, "slab/%s", mem->slabinfo_name);
                        if (readfile_path(dir, sizeof dir, m->config.paths.debugfs, rel) < 0)
                                continue;
                        if (add_source(cap, mem->slabinfo_name, dir, "alloc_traces", false) < 0 ||
                            add_source(cap, mem->slabinfo_name, dir, "free_traces", true) < 0)
                                break;
                        if (!report_strv_contains(&cap->report->methods, "debugfs alloc_traces"))
                                (void) report_strv_add(&cap->report->methods, "debugfs alloc_traces");
                }
        }

        if (cap->n_sources == 0) {
                if (any_store_user && m->probe.kver >= CACHEID_KVER_DEBUGFS_TRACES)
                        (void) report_strv_addf(&cap->report->advice,
                                                "call sites are recorded (store_user) but debugfs is not mounted: "
                                                "mount -t debugfs nodev %s",
                                                m->config.paths.debugfs);
                else
                        advise_callsites(cap);
                return;
        }
        cap->report->callsite_interval_usec = m->config.capture.callsites_interval_usec;
        snapshot_all(cap);
}

static void snapshot_allocinfo(struct capture *cap, struct readfile_buf *b) {
        char path[CONFIG_PATH_MAX];
        int r;

        if (!cap->m->probe.allocinfo)
                return;
        b->max = CAPTURE_CALLSITES_FILE_MAX;
        r = readfile_path(path, sizeof path, cap->m->config.paths.proc, "allocinfo");
        if (r >= 0)
                r = readfile_read(b, path);
        if (r < 0)
                (void) report_strv_addf(&cap->report->warnings, "cannot read %s: %s", path, strerror(-r));
        else if (!report_strv_contains(&cap->report->methods, "allocinfo"))
                (void) report_strv_add(&cap->report->methods, "allocinfo");
}

/* Warn when more than 1 in this many allocations reused an untraced-free pointer. */
#define CAPTURE_UNTRACED_FREES_WARN 100

/* A marker in the state directory says "this daemon mounted tracefs", so
 * that the next start after a crash can unmount it again. */
#define TRACEFS_MARKER "tracefs-mounted"

static void tracefs_marker_path(const struct capture_manager *m, char *buf, size_t size) {
        (void) readfile_path(buf, size, m->config.paths.state_dir, TRACEFS_MARKER);
}

static void tracefs_mounted_by_us(struct capture_manager *m, bool mounted) {
        char path[CONFIG_PATH_MAX + 32];
        tracefs_marker_path(m, path, sizeof path);
        m->mounted_tracefs = mounted;
        if (!mounted) {
                (void) unlink(path);
                return;
        }
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
        if (fd < 0) {
                log_warning_errno(-errno, "Cannot write %s; after a crash tracefs may stay mounted", path);
                return;
        }
        if (write(fd, m->config.paths.tracefs, strlen(m->config.paths.tracefs)) < 0)
                log_warning_errno(-errno, "Cannot write %s", path);
        close(fd);
}

static void unmount_ours(struct capture_manager *m) {
        if (!m->mounted_tracefs)
                return;
        int r = tracer_unmount_tracefs(m->config.paths.tracefs);
        if (r < 0) {
                log_warning_errno(r, "Cannot unmount %s, which slabwatchd mounted", m->config.paths.tracefs);
                return;
        }
        tracefs_mounted_by_us(m, false);
        (void) probe_run(&m->config, &m->probe);
}

/* After a crash: unmount the tracefs a killed daemon mounted, unless
 * something else uses it now (an instance, or events at the top level). */
static void restore_tracefs_mount(struct capture_manager *m) {
        char path[CONFIG_PATH_MAX + 32], where[CONFIG_PATH_MAX], busy[64] = "";
        tracefs_marker_path(m, path, sizeof path);
        if (readfile_small(path, where, sizeof where) < 0)
                return;
        if (strcmp(where, m->config.paths.tracefs) != 0 || !m->probe.tracefs_mounted) {
                (void) unlink(path);
                return;
        }
        char instances[CONFIG_PATH_MAX + 32], set_event[CONFIG_PATH_MAX + 32];
        (void) readfile_path(instances, sizeof instances, where, "instances");
        (void) readfile_path(set_event, sizeof set_event, where, "set_event");
        DIR *dir = opendir(instances);
        bool in_use = false;
        for (struct dirent *de; dir && (de = readdir(dir));)
                if (de->d_name[0] != '.')
                        in_use = true;
        if (dir)
                closedir(dir);
        if (readfile_small(set_event, busy, sizeof busy) == 0 && busy[0])
                in_use = true;
        if (in_use) {
                log_notice("Leaving %s mounted: it is in use now", where);
                (void) unlink(path);
                return;
        }
        m->mounted_tracefs = true;
        unmount_ours(m);
        if (!m->mounted_tracefs)
                log_notice("Unmounted %s, which a previous slabwatchd had mounted", where);
}

/* Start stack tracing through tracefs; a failure is a warning. */
static void setup_tracer(struct capture *cap) {
        struct capture_manager *m = cap->m;
        const struct identity_member *first = &cap->identity->members[0];
        struct tracer_options o = {};
        int r;

        if (!m->probe.tracefs_mounted) {
                bool mounted = false;

                if (!m->probe.tracefs_mountable) {
                        (void) report_strv_addf(&cap->report->advice,
                                                "tracefs is not available at %s: with it (CONFIG_FTRACE), every "
                                                "allocation's stack is traced and paired with its free",
                                                m->config.paths.tracefs);
                        return;
                }
                if (!m->config.capture.mount_tracefs) {
                        (void) report_strv_addf(&cap->report->advice,
                                                "mount tracefs (mount -t tracefs nodev %s) or set "
                                                "capture.mount_tracefs: true to trace stacks",
                                                m->config.paths.tracefs);
                        return;
                }
                r = tracer_mount_tracefs(m->config.paths.tracefs, &mounted);
                if (r < 0) {
                        (void) report_strv_addf(&cap->report->warnings, "tracing: cannot mount tracefs at %s: %s",
                                                m->config.paths.tracefs, strerror(-r));
                        return;
                }
                if (mounted) {
                        tracefs_mounted_by_us(m, true);
                        (void) probe_run(&m->config, &m->probe);
                }
        }

        o.tracefs_dir = m->probe.tracefs_dir;
        o.cache_name = first->slabinfo_name;
        if (cap->identity->kmalloc_class) {
                o.filter = TRACER_FILTER_KMALLOC;
                /* bytes_alloc is the cache's slot size; without debug padding
                 * it is the class size. */
                o.object_size = first->slab_size ? first->slab_size : cap->identity->kmalloc.size;
        } else {
                o.filter = TRACER_FILTER_NAME;
                o.object_size = first->slab_size;
        }
        o.buffer_bytes_per_cpu = m->config.capture.buffer_bytes_per_cpu;
        o.max_events = m->config.capture.max_events;
        o.max_memory_bytes = m->config.capture.max_memory_bytes;

        r = tracer_start(&o, &cap->tracer);
        if (r < 0) {
                cap->tracer = NULL;
                (void) report_strv_addf(&cap->report->warnings, "tracing: cannot trace %s through tracefs at %s: %s",
                                        o.cache_name, o.tracefs_dir, strerror(-r));
                return;
        }
        (void) report_strv_add(&cap->report->methods, "tracefs");
        snprintf(cap->report->trace_filter, sizeof cap->report->trace_filter, "%s", tracer_describe(cap->tracer));
}

/* Record that we switch on @trace_path, durably, before doing it. */
static int marker_write(const struct capture_manager *m, const char *cache, const char *trace_path, char *ret_path,
                        size_t size) {
        char base[BUNDLE_ID_MAX], tmp[CONFIG_PATH_MAX + 80], path[CONFIG_PATH_MAX + 64];
        size_t len = strlen(trace_path);
        int fd, dfd, r = 0;

        /* bundle_make_id() reduces the name to [A-Za-z0-9._-]. */
        bundle_make_id(cache, 0, base, sizeof base);
        if ((size_t) snprintf(path, sizeof path, "%s/" CAPTURE_MARKER_PREFIX "%s", m->config.paths.state_dir,
                              base + strlen("19700101T000000Z-")) >= sizeof path ||
            (size_t) snprintf(tmp, sizeof tmp, "%s.new", path) >= sizeof tmp)
                return -ENAMETOOLONG;
        if (mkdir(m->config.paths.state_dir, 0750) < 0 && errno != EEXIST)
                return -errno;
        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0)
                return -errno;
        if (write(fd, trace_path, len) != (ssize_t) len || write(fd, "\n", 1) != 1 || fsync(fd) < 0)
                r = errno ? -errno : -EIO;
        close(fd);
        if (r == 0 && rename(tmp, path) < 0)
                r = -errno;
        if (r < 0) {
                (void) unlink(tmp);
                return r;
        }
        dfd = open(m->config.paths.state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
                (void) fsync(dfd);
                close(dfd);
        }
        snprintf(ret_path, size, "%s", path);
        return 0;
}

/* After a crash: switch off every sysfs trace file a marker names. Only
 * paths of the form <sys>/kernel/slab/<name>/trace are touched. */
static int restore_markers(const struct capture_manager *m) {
        char slab_dir[CONFIG_PATH_MAX];
        struct dirent *de;
        DIR *d;
        int restored = 0, seen = 0;

        if (readfile_path(slab_dir, sizeof slab_dir, m->config.paths.sys, "kernel/slab/") < 0)
                return 0;
        d = opendir(m->config.paths.state_dir);
        if (!d)
                return 0;
        while ((de = readdir(d)) && seen < CAPTURE_MARKERS_MAX) {
                char marker[CONFIG_PATH_MAX + 300], trace[CONFIG_PATH_MAX];
                size_t n, prefix = strlen(slab_dir);
                const char *name;
                int fd;

                if (strncmp(de->d_name, CAPTURE_MARKER_PREFIX, strlen(CAPTURE_MARKER_PREFIX)) != 0)
                        continue;
                seen++;
                snprintf(marker, sizeof marker, "%s/%s", m->config.paths.state_dir, de->d_name);
                if (readfile_small(marker, trace, sizeof trace) < 0) {
                        (void) unlink(marker);
                        continue;
                }
                n = strlen(trace);
                name = trace + prefix;
                if (n > prefix + 6 && strncmp(trace, slab_dir, prefix) == 0 && strcmp(trace + n - 6, "/trace") == 0 &&
                    !strstr(name, "..") && memchr(name, '/', n - prefix - 6) == NULL) {
                        fd = open(trace, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
                        if (fd >= 0) {
                                if (write(fd, "0", 1) == 1) {
                                        restored++;
                                        log_notice("Switched off %s, left on by a capture that did not finish", trace);
                                } else
                                        log_warning_errno(-errno, "Failed to switch off %s", trace);
                                close(fd);
                        } else if (errno != ENOENT)
                                log_warning_errno(-errno, "Failed to switch off %s", trace);
                } else
                        log_warning("Ignoring %s: it does not name a SLUB trace file under %s", marker, slab_dir);
                (void) unlink(marker);
        }
        closedir(d);
        return restored;
}

/* Before 5.9: the sysfs trace flag and the kernel log, when tracefs could
 * not be used. */
static void setup_kmsg(struct capture *cap) {
        struct capture_manager *m = cap->m;
        const struct identity_member *first = &cap->identity->members[0];
        struct kmsgtracer_options o = {};
        struct probe_cache pc;
        char trace_path[CONFIG_PATH_MAX], rel[SLABINFO_NAME_MAX + 32];
        int r;

        if (cap->tracer || probe_cache(&m->config, &m->probe, first->slabinfo_name, &pc) < 0 || !pc.trace_writable)
                return;
        if (!m->probe.dev_kmsg) {
                (void) report_strv_addf(&cap->report->warnings,
                                        "kmsg trace: %s is writable but %s cannot be read", first->slabinfo_name,
                                        m->config.paths.dev_kmsg);
                return;
        }
        snprintf(rel, sizeof rel, "kernel/slab/%s/trace", first->slabinfo_name);
        if (readfile_path(trace_path, sizeof trace_path, m->config.paths.sys, rel) < 0)
                return;
        r = marker_write(m, first->slabinfo_name, trace_path, cap->marker, sizeof cap->marker);
        if (r < 0) {
                /* Without the marker a crash could leave tracing on: do not start. */
                (void) report_strv_addf(&cap->report->warnings,
                                        "kmsg trace: not started, cannot record it in %s: %s",
                                        m->config.paths.state_dir, strerror(-r));
                return;
        }
        o.sys_dir = m->config.paths.sys;
        o.dev_kmsg = m->config.paths.dev_kmsg;
        o.cache_name = first->slabinfo_name;
        o.object_size = first->object_size ? first->object_size : cap->identity->kmalloc.size;
        o.max_memory_bytes = m->config.capture.max_memory_bytes;
        r = kmsgtracer_start(&o, &cap->kmsg);
        if (r < 0) {
                cap->kmsg = NULL;
                (void) unlink(cap->marker);
                cap->marker[0] = '\0';
                (void) report_strv_addf(&cap->report->warnings, "kmsg trace: cannot trace %s: %s",
                                        first->slabinfo_name, strerror(-r));
                return;
        }
        (void) report_strv_add(&cap->report->methods, "kmsg-trace");
        snprintf(cap->report->trace_filter, sizeof cap->report->trace_filter,
                 "sysfs slab/%.128s/trace = 1, its TRACE records read from %.200s", first->slabinfo_name,
                 m->config.paths.dev_kmsg);
        if (cap->identity->n_members > 1)
                (void) report_strv_addf(&cap->report->warnings,
                                        "kmsg trace: only %s is traced, the other %zu caches of the class are not",
                                        first->slabinfo_name, cap->identity->n_members - 1);
}

static int capture_start(struct capture_manager *m, const char *cache, const struct capture_trigger *why,
                         uint64_t duration_usec) {
        struct identity *id = NULL;
        struct capture *cap;
        char idbuf[BUNDLE_ID_MAX];
        const char *names[IDENTITY_ALIASES_MAX];
        size_t n_names;
        uint64_t start_real;
        int r;

        if (!cache || !*cache)
                return -EINVAL;
        for (struct capture *c = m->captures; c; c = c->next)
                if (strcmp(c->asked, cache) == 0 || strcmp(c->key, cache) == 0)
                        return -EALREADY;

        r = identity_resolve(&m->config, why->slabinfo, cache, &id);
        if (r < 0)
                return r;
        /* Something may have mounted tracefs or debugfs since the last probe. */
        (void) probe_run(&m->config, &m->probe);
        for (struct capture *c = m->captures; c; c = c->next)
                if (identity_overlaps(c->identity, id)) {
                        identity_free(id);
                        return -EALREADY;
                }
        if (m->n_running >= (m->config.capture.max_concurrent ? m->config.capture.max_concurrent : 1)) {
                identity_free(id);
                return -EBUSY;
        }
        if (!why->on_demand && cooldown_left(m, id->members[0].slabinfo_name) > 0) {
                identity_free(id);
                return -CAPTURE_ECOOLDOWN;
        }

        cap = calloc(1, sizeof *cap);
        if (!cap) {
                identity_free(id);
                return -ENOMEM;
        }
        cap->m = m;
        cap->identity = id;
        cap->on_demand = why->on_demand;
        snprintf(cap->asked, sizeof cap->asked, "%s", cache);
        snprintf(cap->key, sizeof cap->key, "%s", id->members[0].slabinfo_name);
        cap->sources = calloc(CAPTURE_SOURCES_MAX, sizeof *cap->sources);
        r = report_new(&cap->report);
        if (r < 0 || !cap->sources) {
                capture_free(cap);
                return -ENOMEM;
        }
        if (why->history_csv && why->history_csv_len > 0) {
                size_t len = why->history_csv_len < CAPTURE_HISTORY_MAX ? why->history_csv_len : CAPTURE_HISTORY_MAX;
                cap->history = malloc(len);
                if (cap->history) {
                        memcpy(cap->history, why->history_csv, len);
                        cap->history_len = len;
                }
        }

        start_real = now_usec(CLOCK_REALTIME);
        cap->start_mono_usec = now_usec(CLOCK_MONOTONIC);
        cap->duration_usec = duration_usec;
        bundle_make_id(cap->key, start_real, idbuf, sizeof idbuf);
        snprintf(cap->id, sizeof cap->id, "%s", idbuf);

        struct report *rep = cap->report;
        snprintf(rep->id, sizeof rep->id, "%s", cap->id);
        snprintf(rep->cache, sizeof rep->cache, "%s", cap->key);
        snprintf(rep->kernel, sizeof rep->kernel, "%s", m->probe.release);
        n_names = identity_all_names(id, names, IDENTITY_ALIASES_MAX);
        for (size_t i = 0; i < n_names; i++)
                (void) report_strv_add(&rep->aliases, names[i]);
        rep->trigger.on_demand = why->on_demand;
        snprintf(rep->trigger.reason, sizeof rep->trigger.reason, "%s", why->reason ? why->reason : "");
        rep->trigger.objects_per_min = why->objects_per_min;
        rep->trigger.bytes_per_hour = why->bytes_per_hour;
        rep->trigger.percent_per_hour = why->percent_per_hour;
        rep->trigger.active_objs = why->active_objs;
        rep->trigger.window_usec = why->window_usec;
        rep->start_realtime_usec = start_real;
        for (size_t i = 0; m->probe.slabinfo_readable && i < id->n_members; i++)
                if (!id->members[i].slabinfo_known)
                        (void) report_strv_addf(&rep->warnings,
                                                "%s: none of its names is in slabinfo; assuming the kernel calls it %s",
                                                id->members[i].sysfs_name, id->members[i].slabinfo_name);
        if (id->kmalloc_class && id->n_members > 1)
                (void) report_strv_addf(&rep->warnings,
                                        "%s is a kmalloc size class: its %zu variants are captured together",
                                        cache, id->n_members);

        /* Call sites first: the snapshot at the trip is the baseline. */
        setup_callsites(cap);
        snapshot_allocinfo(cap, &cap->allocinfo_first);
        setup_tracer(cap);
        setup_kmsg(cap);

        if (!cap->tracer && !cap->kmsg && cap->n_sources == 0)
                cap->error = -EOPNOTSUPP;

        cap->next = m->captures;
        m->captures = cap;
        m->n_running++;

        ev_timer_init(&cap->end_timer, end_cb, cap->error < 0 ? 0. : (double) duration_usec / 1e6, 0.);
        ev_timer_start(m->loop, &cap->end_timer);
        if (cap->error == 0) {
                ev_timer_init(&cap->watch_timer, watch_cb, (double) CAPTURE_VANISH_CHECK_USEC / 1e6,
                              (double) CAPTURE_VANISH_CHECK_USEC / 1e6);
                ev_timer_start(m->loop, &cap->watch_timer);
        }
        if (cap->tracer || cap->kmsg) {
                double poll = (double) (m->config.capture.poll_usec ? m->config.capture.poll_usec : 10000) / 1e6;
                ev_timer_init(&cap->poll_timer, poll_cb, poll, poll);
                ev_timer_start(m->loop, &cap->poll_timer);
        }
        if (cap->n_sources > 0 && m->config.capture.callsites_interval_usec > 0) {
                double every = (double) m->config.capture.callsites_interval_usec / 1e6;
                ev_timer_init(&cap->callsites_timer, callsites_cb, every, every);
                ev_timer_start(m->loop, &cap->callsites_timer);
        }
        return 0;
}

/* Pairing result → report stacks and counters. */
static void stacks_to_report(struct capture *cap, const struct pairing_result *res) {
        struct report *rep = cap->report;

        for (size_t i = 0; i < res->n_stacks; i++) {
                const struct pairing_stack *s = &res->stacks[i];
                struct report_stack *rs = report_add_stack(rep, (const char *const *) s->frames, s->n_frames);
                if (!rs) {
                        (void) report_strv_addf(&rep->warnings, "stacks: only %zu of %zu could be kept in the report",
                                                i, res->n_stacks);
                        break;
                }
                rs->allocs = s->allocs;
                rs->frees = s->frees;
                rs->outstanding = s->outstanding;
                rs->oldest_age_s = s->oldest_age_s;
                rs->bytes = s->bytes_outstanding;
        }
        rep->events += res->events;
        rep->lost_events += res->lost_events;
        rep->unmatched_frees += res->unmatched_frees;
        if (res->truncated) {
                rep->truncated = true;
                snprintf(rep->truncated_reason, sizeof rep->truncated_reason,
                         "the memory bound (capture.max_memory) refused events after %" PRIu64 " (%" PRIu64
                         " dropped)",
                         res->truncated_at_events, res->dropped_events);
        }
        if (res->lost_events > 0)
                (void) report_strv_addf(&rep->warnings,
                                        "%" PRIu64 " events were lost: outstanding counts may include objects whose "
                                        "free was not seen",
                                        res->lost_events);
        /* A pointer handed out again while we still count it as live means
         * its free had no tracepoint: kfree_rcu() and bulk frees do not fire
         * kfree/kmem_cache_free. Such objects inflate "outstanding". */
        if (res->reallocs_unfreed > 0 && res->reallocs_unfreed * CAPTURE_UNTRACED_FREES_WARN >= res->allocs)
                (void) report_strv_addf(&rep->warnings,
                                        "%" PRIu64 " of %" PRIu64 " allocations reused a pointer whose free was never "
                                        "traced (kfree_rcu or bulk frees have no tracepoint): outstanding counts of "
                                        "the stacks that free that way are overstated; compare stacks by their "
                                        "allocations and by the call-site counts",
                                        res->reallocs_unfreed, res->allocs);
}

static void stop_tracer(struct capture *cap) {
        struct pairing_result *res = NULL;
        struct tracer_stats st;
        int r;

        if (!cap->tracer)
                return;
        r = tracer_stop(cap->tracer, &res);
        tracer_get_stats(cap->tracer, &st);
        if (r < 0)
                (void) report_strv_addf(&cap->report->warnings, "tracing: restoring tracefs reported: %s",
                                        strerror(-r));
        if (res) {
                stacks_to_report(cap, res);
                pairing_result_free(res);
        }
        if (!st.lost_known)
                (void) report_strv_add(&cap->report->warnings,
                                       "tracing: per-CPU loss counters could not be read: losses unknown");
        if (st.limit_reached && !cap->report->truncated) {
                cap->report->truncated = true;
                snprintf(cap->report->truncated_reason, sizeof cap->report->truncated_reason,
                         "capture.max_events (%" PRIu64 ") reached", cap->m->config.capture.max_events);
        }
        if (!st.alloc_filter_exact)
                (void) report_strv_add(&cap->report->warnings,
                                       "tracing: allocations were filtered by size, so other caches of the same "
                                       "object size may appear among the stacks");
        if (st.stacks_missing > 0)
                (void) report_strv_addf(&cap->report->warnings, "tracing: %" PRIu64 " events came without a stack",
                                        st.stacks_missing);
        tracer_free(cap->tracer);
        cap->tracer = NULL;
}

static void stop_kmsg(struct capture *cap) {
        struct pairing_result *res = NULL;
        struct kmsgtrace_stats st;
        int r;

        if (!cap->kmsg)
                return;
        r = kmsgtracer_stop(cap->kmsg, &res);
        kmsgtracer_get_stats(cap->kmsg, &st);
        if (r < 0)
                (void) report_strv_addf(&cap->report->warnings, "kmsg trace: switching the trace flag off failed: %s",
                                        strerror(-r));
        if (res) {
                stacks_to_report(cap, res);
                pairing_result_free(res);
        }
        if (st.malformed > 0)
                (void) report_strv_addf(&cap->report->warnings, "kmsg trace: %" PRIu64 " malformed log lines skipped",
                                        st.malformed);
        if (st.stackless > 0)
                (void) report_strv_addf(&cap->report->warnings, "kmsg trace: %" PRIu64 " records came without a stack",
                                        st.stackless);
        if (st.refused > 0 && !cap->report->truncated) {
                cap->report->truncated = true;
                snprintf(cap->report->truncated_reason, sizeof cap->report->truncated_reason,
                         "the memory bound (capture.max_memory) refused %" PRIu64 " events", st.refused);
        }
        kmsgtracer_free(cap->kmsg);
        cap->kmsg = NULL;
        /* Switched off (or it failed and the next start tries again). */
        if (r >= 0 && cap->marker[0]) {
                (void) unlink(cap->marker);
                cap->marker[0] = '\0';
        }
}

static char *join_methods(const struct report *r, char *buf, size_t size) {
        size_t pos = 0;

        buf[0] = '\0';
        for (size_t i = 0; i < r->methods.n && pos + 1 < size; i++) {
                int n = snprintf(buf + pos, size - pos, "%s%s", i ? "+" : "", r->methods.v[i]);
                if (n < 0)
                        break;
                pos += (size_t) n;
        }
        if (!buf[0])
                snprintf(buf, size, "none");
        return buf;
}

/* Write the bundle; errors go to @res (the report itself stays in memory). */
static void write_bundle(struct capture *cap, char *dir, size_t dir_size, int *ret_error, char *error_path,
                         size_t error_path_size) {
        struct capture_manager *m = cap->m;
        struct bundle *b = NULL;
        json_object *rj = NULL, *summary = NULL;
        char *text = NULL, suspect[REPORT_NAME_MAX], methods[REPORT_TEXT_MAX];
        size_t text_len = 0;
        int r;

        dir[0] = '\0';
        error_path[0] = '\0';
        r = bundle_begin(m->config.paths.state_dir, cap->id, &b, error_path, error_path_size);
        if (r < 0)
                goto finish;
        /* The bundle's id may carry a suffix: the report says the real one. */
        snprintf(cap->report->id, sizeof cap->report->id, "%s", bundle_id(b));

        r = report_to_json(cap->report, &rj);
        if (r >= 0)
                r = bundle_add_json(b, "report.json", rj);
        if (r >= 0)
                r = report_to_text(cap->report, &text, &text_len);
        if (r >= 0)
                r = bundle_add(b, "report.txt", text, text_len);
        if (r >= 0 && cap->history)
                r = bundle_add(b, "history.csv", cap->history, cap->history_len);
        if (r >= 0 && cap->series)
                r = bundle_add(b, "callsites-series.csv", cap->series, cap->series_len);
        for (size_t i = 0; r >= 0 && i < cap->n_sources; i++) {
                struct cs_source *s = &cap->sources[i];
                char base[SLABINFO_NAME_MAX + 40], safe[sizeof base], name[sizeof safe + 64];

                /* "kmalloc-8k.alloc_calls.first": names are [A-Za-z0-9._-]. */
                bundle_make_id(s->cache, 0, base, sizeof base);
                snprintf(safe, sizeof safe, "%s", base + strlen("19700101T000000Z-"));
                if (s->first_raw) {
                        snprintf(name, sizeof name, "%s.%s.first", safe, s->file);
                        r = bundle_add(b, name, s->first_raw, s->first_len);
                }
                if (r >= 0 && s->have_last && s->buf.data) {
                        snprintf(name, sizeof name, "%s.%s.last", safe, s->file);
                        r = bundle_add(b, name, s->buf.data, s->buf.len);
                }
        }
        if (r >= 0 && cap->allocinfo_first.len > 0)
                r = bundle_add(b, "allocinfo.first", cap->allocinfo_first.data, cap->allocinfo_first.len);
        if (r >= 0 && cap->allocinfo_last.len > 0)
                r = bundle_add(b, "allocinfo.last", cap->allocinfo_last.data, cap->allocinfo_last.len);
        if (r >= 0) {
                summary = json_object_new_object();
                if (summary) {
                        json_object_object_add(summary, "cache", json_object_new_string(cap->report->cache));
                        json_object_object_add(summary, "start_usec",
                                               json_object_new_uint64(cap->report->start_realtime_usec));
                        json_object_object_add(summary, "method",
                                               json_object_new_string(join_methods(cap->report, methods,
                                                                                   sizeof methods)));
                        json_object_object_add(summary, "stop_reason",
                                               json_object_new_string(cap->report->stop_reason));
                        json_object_object_add(summary, "lost_events", json_object_new_uint64(cap->report->lost_events));
                        json_object_object_add(summary, "stacks", json_object_new_uint64(cap->report->n_stacks));
                        if (cap->report->n_stacks > 0) {
                                json_object_object_add(summary, "suspect",
                                                       json_object_new_string(report_suspect(&cap->report->stacks[0],
                                                                                             suspect, sizeof suspect)));
                                json_object_object_add(summary, "top_outstanding",
                                                       json_object_new_uint64(cap->report->stacks[0].outstanding));
                        }
                        r = bundle_add_json(b, "summary.json", summary);
                }
        }
        if (r >= 0)
                r = bundle_commit(b);
        if (r < 0) {
                snprintf(error_path, error_path_size, "%s", bundle_error_path(b));
                goto finish;
        }
        snprintf(dir, dir_size, "%s", bundle_path(b));
        /* Only now that the new bundle is whole may older ones go. */
        (void) bundle_rotate(m->config.paths.state_dir, m->config.capture.disk_budget_bytes, bundle_id(b));
finish:
        *ret_error = r < 0 ? r : 0;
        bundle_free(b);
        free(text);
        json_object_put(rj);
        json_object_put(summary);
}

static void capture_finish(struct capture *cap, const char *reason) {
        struct capture_manager *m = cap->m;
        struct report *rep = cap->report;
        char dir[BUNDLE_PATH_MAX], error_path[BUNDLE_PATH_MAX], methods[REPORT_TEXT_MAX];
        char top[REPORT_TOP_STACK_MAX], suspect[REPORT_NAME_MAX], top_site[REPORT_NAME_MAX] = "";
        char message[CAPTURE_MESSAGE_MAX];
        struct capture_result res = {};
        int bundle_error = 0;
        uint64_t end;

        if (cap->finishing)
                return;
        cap->finishing = true;

        ev_timer_stop(m->loop, &cap->end_timer);
        ev_timer_stop(m->loop, &cap->poll_timer);
        ev_timer_stop(m->loop, &cap->callsites_timer);
        ev_timer_stop(m->loop, &cap->watch_timer);

        /* Restore the kernel first: everything after this can fail. */
        stop_tracer(cap);
        stop_kmsg(cap);

        /* A last call-site snapshot, unless one was taken within the interval. */
        end = now_usec(CLOCK_MONOTONIC);
        if (cap->n_sources > 0 && strcmp(reason, "cache vanished") != 0 &&
            end - cap->last_snapshot_usec >= m->config.capture.callsites_interval_usec)
                snapshot_all(cap);
        callsites_to_report(cap);
        if (cap->allocinfo_first.len > 0)
                snapshot_allocinfo(cap, &cap->allocinfo_last);

        rep->duration_usec = end - cap->start_mono_usec;
        snprintf(rep->stop_reason, sizeof rep->stop_reason, "%s", reason);
        report_rank(rep);
        if (strcmp(reason, "cache vanished") == 0)
                (void) report_strv_addf(&rep->warnings,
                                        "the cache disappeared during the capture (its module was unloaded?)");

        write_bundle(cap, dir, sizeof dir, &bundle_error, error_path, sizeof error_path);

        /* Unlink before the callback, which may start the next capture. */
        for (struct capture **p = &m->captures; *p; p = &(*p)->next)
                if (*p == cap) {
                        *p = cap->next;
                        break;
                }
        m->n_running--;
        if (!cap->on_demand)
                cooldown_record(m, cap->key, end);
        if (m->n_running == 0)
                unmount_ours(m);

        for (size_t i = 0; i < rep->n_call_sites; i++)
                if (!rep->call_sites[i].free_site) {
                        snprintf(top_site, sizeof top_site, "%s", rep->call_sites[i].site);
                        break;
                }
        res.id = rep->id;
        res.cache = cap->asked;
        res.slabinfo_name = cap->key;
        res.dir = dir;
        res.method = join_methods(rep, methods, sizeof methods);
        res.stop_reason = rep->stop_reason;
        res.lost_events = rep->lost_events;
        res.events = rep->events;
        res.top_stack = rep->n_stacks ? report_join_frames(&rep->stacks[0], ";", top, sizeof top) : "";
        res.top_outstanding = rep->n_stacks ? rep->stacks[0].outstanding : 0;
        res.suspect = rep->n_stacks ? report_suspect(&rep->stacks[0], suspect, sizeof suspect) : "";
        res.top_call_site = top_site;
        res.error = cap->error;
        res.bundle_error = bundle_error;
        res.bundle_error_path = error_path;
        res.report = rep;

        if (cap->error < 0)
                snprintf(message, sizeof message, "No capture of %s is possible on this kernel%s%s", cap->key,
                         rep->advice.n ? ": " : "", rep->advice.n ? rep->advice.v[0] : "");
        else if (rep->n_stacks > 0 && res.suspect[0])
                snprintf(message, sizeof message,
                         "Capture of %s: %" PRIu64 " objects still outstanding from %s (top of %zu stacks, %" PRIu64
                         " events, %" PRIu64 " lost)%s",
                         cap->key, res.top_outstanding, res.suspect, rep->n_stacks, rep->events, rep->lost_events,
                         rep->lost_events ? " — counts may be inflated by lost frees" : "");
        else if (top_site[0] && rep->call_sites[0].delta > 0)
                snprintf(message, sizeof message, "Capture of %s: call site %s grows most (%+" PRId64 ", %" PRIu64
                         " objects)", cap->key, top_site, rep->call_sites[0].delta, rep->call_sites[0].count_last);
        else if (top_site[0])
                snprintf(message, sizeof message,
                         "Capture of %s: call site %s holds the most objects (%" PRIu64 "), none grew during the "
                         "capture", cap->key, top_site, rep->call_sites[0].count_last);
        else
                snprintf(message, sizeof message, "Capture of %s: no allocation was seen (%s)", cap->key, reason);
        if (bundle_error < 0) {
                size_t n = strlen(message);
                snprintf(message + n, sizeof message - n, "; the bundle could not be written (%s: %s)", error_path,
                         strerror(-bundle_error));
        }
        res.message = message;

        if (m->done)
                m->done(&res, m->userdata);
        capture_free(cap);
}

/* ---- public API ----------------------------------------------------------- */

int capture_manager_new(struct ev_loop *loop, const struct config *c, capture_done_fn done, void *userdata,
                        struct capture_manager **ret) {
        struct capture_manager *m;
        int r;

        m = calloc(1, sizeof *m);
        if (!m)
                return -ENOMEM;
        m->loop = loop;
        m->config = *c;
        r = probe_run(&m->config, &m->probe);
        if (r < 0) {
                free(m);
                return r;
        }
        m->done = done;
        m->userdata = userdata;

        /* What a killed daemon left behind. */
        (void) restore_markers(m);
        if (m->probe.tracefs_mounted) {
                r = tracer_cleanup_stale(m->probe.tracefs_dir);
                if (r > 0)
                        log_notice("Removed %d stale tracefs instance(s) %s* under %s", r, TRACER_INSTANCE_PREFIX,
                                   m->probe.tracefs_dir);
                else if (r < 0)
                        log_warning_errno(r, "Failed to remove stale tracefs instances under %s",
                                          m->probe.tracefs_dir);
                restore_tracefs_mount(m);
        }
        r = bundle_cleanup_stale(m->config.paths.state_dir);
        if (r > 0)
                log_notice("Removed %d half-written capture bundle(s) under %s/%s", r, m->config.paths.state_dir,
                           BUNDLE_DIR);

        *ret = m;
        return 0;
}

int capture_manager_trip(struct capture_manager *m, const char *cache, const struct capture_trigger *why) {
        struct capture_trigger none = {};

        if (!m->config.capture.enabled)
                return -ECANCELED;
        return capture_start(m, cache, why ? why : &none, m->config.capture.duration_usec);
}

int capture_manager_arm(struct capture_manager *m, const char *cache, uint64_t duration_usec) {
        struct capture_trigger why = { .on_demand = true, .reason = "armed on request" };

        return capture_start(m, cache, &why, duration_usec ? duration_usec : m->config.capture.duration_usec);
}

int capture_manager_disarm(struct capture_manager *m, const char *cache) {
        for (struct capture *c = m->captures; c; c = c->next)
                if (strcmp(c->asked, cache) == 0 || strcmp(c->key, cache) == 0 ||
                    report_strv_contains(&c->report->aliases, cache)) {
                        capture_finish(c, "disarmed");
                        return 0;
                }
        return -ENOENT;
}

int capture_manager_stop_all(struct capture_manager *m, const char *reason) {
        int n = 0;

        while (m->captures) {
                capture_finish(m->captures, reason ? reason : "stopped");
                n++;
        }
        return n;
}

static json_object *running_json(const struct capture *cap) {
        json_object *o = json_object_new_object();
        char methods[REPORT_TEXT_MAX];
        uint64_t now = now_usec(CLOCK_MONOTONIC);
        struct tracer_stats st = {};

        if (!o)
                return NULL;
        if (cap->tracer)
                tracer_get_stats(cap->tracer, &st);
        json_object_object_add(o, "id", json_object_new_string(cap->id));
        json_object_object_add(o, "cache", json_object_new_string(cap->key));
        json_object_object_add(o, "asked", json_object_new_string(cap->asked));
        json_object_object_add(o, "on_demand", json_object_new_boolean(cap->on_demand));
        json_object_object_add(o, "method", json_object_new_string(join_methods(cap->report, methods, sizeof methods)));
        json_object_object_add(o, "start_usec", json_object_new_uint64(cap->report->start_realtime_usec));
        json_object_object_add(o, "elapsed_s", json_object_new_double((double) (now - cap->start_mono_usec) / 1e6));
        json_object_object_add(o, "duration_s", json_object_new_double((double) cap->duration_usec / 1e6));
        json_object_object_add(o, "events", json_object_new_uint64(st.events));
        json_object_object_add(o, "lost_events", json_object_new_uint64(st.lost_events));
        json_object_object_add(o, "callsite_snapshots", json_object_new_uint64(cap->report->callsite_snapshots));
        return o;
}

int capture_manager_list(struct capture_manager *m, json_object **ret) {
        json_object *o = json_object_new_object(), *running = json_object_new_array(), *bundles = NULL;
        int r;

        if (!o || !running) {
                json_object_put(o);
                json_object_put(running);
                return -ENOMEM;
        }
        for (struct capture *c = m->captures; c; c = c->next) {
                json_object *j = running_json(c);
                if (!j || json_object_array_add(running, j) < 0) {
                        json_object_put(j);
                        json_object_put(running);
                        json_object_put(o);
                        return -ENOMEM;
                }
        }
        json_object_object_add(o, "running", running);
        r = bundle_list(m->config.paths.state_dir, &bundles);
        if (r < 0) {
                json_object_put(o);
                return r;
        }
        json_object_object_add(o, "bundles", bundles);
        json_object_object_add(o, "disk_bytes", json_object_new_uint64(bundle_disk_usage(m->config.paths.state_dir)));
        json_object_object_add(o, "disk_budget_bytes", json_object_new_uint64(m->config.capture.disk_budget_bytes));
        *ret = o;
        return 0;
}

int capture_manager_get(struct capture_manager *m, const char *id, json_object **ret) {
        json_object *o;

        for (struct capture *c = m->captures; c; c = c->next)
                if (id && strcmp(c->id, id) == 0) {
                        o = running_json(c);
                        if (!o)
                                return -ENOMEM;
                        json_object_object_add(o, "running", json_object_new_boolean(true));
                        *ret = o;
                        return 0;
                }
        return bundle_load_report(m->config.paths.state_dir, id, ret);
}

const struct probe *capture_manager_probe(const struct capture_manager *m) {
        return &m->probe;
}

unsigned capture_manager_running(const struct capture_manager *m) {
        return m->n_running;
}

void capture_manager_free(struct capture_manager *m) {
        if (!m)
                return;
        (void) capture_manager_stop_all(m, "shutdown");
        unmount_ours(m);
        free(m);
}
