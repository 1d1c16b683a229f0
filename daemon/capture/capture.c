#include "capture/capture.h"

#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "capture/bundle.h"
#include "capture/capture_recovered.h"
#include "capture/callsnap.h"
#include "capture/identity.h"
#include "capture/kchange.h"
#include "capture/tracing.h"
#include "caches/leakgroup.h"
#include "core/log.h"
#include "report/assemble.h"

_Static_assert(REPORT_ID_MAX >= BUNDLE_ID_MAX, "a bundle id must fit the report's");

struct capture {
        struct capture_manager *m;
        struct capture *next;
        unsigned group;                         /* suspected leak (leakgroup id), 0 = none */

        char id[BUNDLE_ID_MAX];
        char asked[SLABINFO_NAME_MAX];
        char key[SLABINFO_NAME_MAX];            /* cool-down key: the slabinfo name */
        bool on_demand;
        struct identity *identity;
        struct report *report;
        char *history;
        size_t history_len;

        struct callsnap *callsites;             /* stage 3 */
        struct tracing *tracing;                /* stage 4, NULL when no method runs */

        uint64_t start_mono_usec;
        uint64_t duration_usec;                 /* the allocation window */
        uint64_t drain_usec;                    /* frees only, after it */
        bool draining;
        int error;
        bool finishing;

        ev_timer end_timer;                     /* duration, or at once when nothing can run */
        ev_timer poll_timer;                    /* capture.poll: drain the ring buffers */
        ev_timer callsites_timer;               /* capture.callsites_interval */
        ev_timer watch_timer;                   /* the cache still exists? */
        ev_timer checkpoint_timer;              /* capture.checkpoint: save into the bundle */
        bool checkpoint_failed;                 /* logged once */
};

struct cooldown_entry {
        char key[SLABINFO_NAME_MAX];
        uint64_t end_mono_usec;
};

/* A trip waiting for a capture slot (or for the rest of its tick's trips). */
struct queued_trip {
        char cache[SLABINFO_NAME_MAX];
        struct identity *identity;
        unsigned group;
        uint64_t queued_mono_usec;
        char reason[REPORT_TEXT_MAX];
        struct capture_trigger why;             /* reason and history point into this entry */
        char *history;
};

struct capture_manager {
        struct ev_loop *loop;
        struct config config;
        struct probe probe;
        struct kchange *mounts;                 /* a tracefs we mounted, while captures run */
        capture_done_fn done;
        void *userdata;
        struct capture *captures;
        unsigned n_running;
        struct cooldown_entry cooldown[CAPTURE_COOLDOWN_MAX];
        size_t n_cooldown;
        struct leakgroups groups;               /* suspected leaks: caches that trip together */
        struct queued_trip *queue[CAPTURE_QUEUE_MAX];
        size_t n_queued;
        bool held;                              /* capture_manager_hold(): trips only queue */
        bool stopping;                          /* stop_all: start nothing new */
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

/* ---- capture life cycle -------------------------------------------------- */

static void capture_finish(struct capture *cap, const char *reason);
static void report_group(const struct capture *cap, struct report *rep);

/* Unmount the tracefs we mounted once no capture needs it. */
static void unmount_ours(struct capture_manager *m) {
        if (kchange_depth(m->mounts) == 0)
                return;
        int r = kchange_undo_to(m->mounts, 0);
        if (r < 0) {
                log_warning_errno(r, "Cannot unmount %s, which slabwatchd mounted", m->config.paths.tracefs);
                return;
        }
        (void) probe_run(&m->config, &m->probe);
}

static void capture_free(struct capture *cap) {
        if (!cap)
                return;
        /* Only on an error path: capture_finish() stopped it. */
        tracing_stop(cap->tracing, cap->report, NULL);
        callsnap_free(cap->callsites);
        free(cap->history);
        identity_free(cap->identity);
        report_free(cap->report);
        free(cap);
}

static void end_cb(struct ev_loop *loop, ev_timer *w, int revents) {
        struct capture *cap = (struct capture *) ((char *) w - offsetof(struct capture, end_timer));
        (void) revents;
        /* The allocation window is over: drain (frees only) for a while, so
         * objects allocated near its end are seen to die. */
        if (cap->error == 0 && !cap->draining && cap->drain_usec > 0 && tracing_end_allocs(cap->tracing)) {
                cap->draining = true;
                cap->report->attribution.drain_usec = cap->drain_usec;
                ev_timer_set(&cap->end_timer, (double) cap->drain_usec / 1e6, 0.);
                ev_timer_start(loop, &cap->end_timer);
                return;
        }
        capture_finish(cap, cap->error < 0 ? "nothing to capture" : "duration");
}

/* capture.drain, its default 20 % of the duration. */
static uint64_t drain_of(const struct config *c, uint64_t duration_usec) {
        return c->capture.drain_usec == CONFIG_DRAIN_AUTO ? duration_usec / 5 : c->capture.drain_usec;
}

/* The settle time: the drain, or 20 % of the window when there is none. */
static uint64_t settle_of(const struct config *c, uint64_t duration_usec) {
        uint64_t d = drain_of(c, duration_usec);
        return d > 0 ? d : duration_usec / 5;
}

/* One sample of the captured caches' active objects (every member of the
 * identity summed, as the trace covers them), inside the window. */
static void capture_sample(struct capture *cap, const struct slabinfo *si) {
        struct report_attribution *a = &cap->report->attribution;
        uint64_t active = 0;
        uint32_t per_slab = 0;
        bool found = false;

        if (cap->finishing || cap->draining || cap->error < 0 || !si)
                return;
        for (size_t i = 0; i < cap->identity->n_members; i++) {
                const struct slabinfo_cache *c = slabinfo_find(si, cap->identity->members[i].slabinfo_name);
                if (!c)
                        continue;
                active += c->active_objs;
                if (c->objperslab > per_slab)
                        per_slab = c->objperslab;
                found = true;
        }
        if (!found)
                return;
        if (a->cache_samples == 0)
                a->cache_first = active;
        a->cache_last = active;
        a->cache_samples++;
        a->objperslab = per_slab;
}

static void poll_cb(struct ev_loop *loop, ev_timer *w, int revents) {
        struct capture *cap = (struct capture *) ((char *) w - offsetof(struct capture, poll_timer));
        const char *stop = NULL;
        (void) loop;
        (void) revents;
        if (cap->tracing && tracing_poll(cap->tracing, cap->report, &stop) < 0)
                capture_finish(cap, stop);
}

static void callsites_cb(struct ev_loop *loop, ev_timer *w, int revents) {
        struct capture *cap = (struct capture *) ((char *) w - offsetof(struct capture, callsites_timer));
        (void) loop;
        (void) revents;
        callsnap_take(cap->callsites, now_usec(CLOCK_MONOTONIC));
}

/* Save what the capture holds so far into its bundle's temporary
 * directory, assembled as the finished report would be but marked
 * interrupted: if the daemon is killed, the next start finishes it. The
 * live report is not touched; the pairing is only read. */
static void capture_checkpoint(struct capture *cap) {
        struct capture_manager *m = cap->m;
        struct bundle_capture files = {};
        char error_path[BUNDLE_PATH_MAX];
        struct report *ck = NULL;
        uint64_t now = now_usec(CLOCK_MONOTONIC);
        int r;

        r = report_new_header_copy(cap->report, &ck);
        if (r == 0)
                r = tracing_snapshot(cap->tracing, CAPTURE_CHECKPOINT_STACKS, ck);
        if (r == 0) {
                ck->interrupted = true;
                report_group(cap, ck);
                report_assemble(ck, callsnap_series(cap->callsites), CAPTURE_INTERRUPTED_REASON,
                                now - cap->start_mono_usec);
                callsnap_bundle_files(cap->callsites, &files);
                files.history = (struct bundle_blob) { .data = cap->history,
                                                       .len = cap->history ? cap->history_len : 0 };
                error_path[0] = '\0';
                r = bundle_checkpoint(m->config.paths.state_dir, ck, &files, error_path, sizeof error_path);
        }
        if (r == 0)
                log_debug("Checkpoint of the capture of %s: %zu stacks listed, %" PRIu64 " objects outstanding, "
                          "%.1f ms",
                          cap->key, ck->n_stacks, ck->n_stacks ? ck->stacks[0].outstanding : 0,
                          (double) (now_usec(CLOCK_MONOTONIC) - now) / 1e3);
        if (r < 0 && !cap->checkpoint_failed)
                log_warning_errno(r, "Cannot checkpoint the capture of %s%s%s (it goes on; a kill would lose it)",
                                  cap->key, r != -ENOMEM && error_path[0] ? " at " : "",
                                  r != -ENOMEM && error_path[0] ? error_path : "");
        cap->checkpoint_failed = r < 0;
        report_free(ck);
}

static void checkpoint_cb(struct ev_loop *loop, ev_timer *w, int revents) {
        struct capture *cap = (struct capture *) ((char *) w - offsetof(struct capture, checkpoint_timer));
        (void) loop;
        (void) revents;
        capture_checkpoint(cap);
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

/* The report's header: what is captured, why, on which kernel. */
static void report_begin(struct capture *cap, const struct capture_trigger *why, uint64_t start_real) {
        const struct identity *id = cap->identity;
        struct report *rep = cap->report;
        const char *names[IDENTITY_ALIASES_MAX];
        size_t n_names;

        snprintf(rep->id, sizeof rep->id, "%s", cap->id);
        snprintf(rep->cache, sizeof rep->cache, "%s", cap->key);
        snprintf(rep->kernel, sizeof rep->kernel, "%s", cap->m->probe.release);
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
        for (size_t i = 0; cap->m->probe.slabinfo_readable && i < id->n_members; i++)
                if (!id->members[i].slabinfo_known)
                        (void) report_strv_addf(&rep->warnings,
                                                "%s: none of its names is in slabinfo; assuming the kernel calls it %s",
                                                id->members[i].sysfs_name, id->members[i].slabinfo_name);
        if (id->kmalloc_class && id->n_members > 1)
                (void) report_strv_addf(&rep->warnings,
                                        "%s is a kmalloc size class: its %zu variants are captured together",
                                        cap->asked, id->n_members);
}

/* The suspected leak this capture is part of, as it stands at the end. */
static void report_group(const struct capture *cap, struct report *rep) {
        const struct leakgroup *g = leakgroups_find(&cap->m->groups, cap->group);
        struct leakgroup_member sorted[LEAKGROUP_MEMBERS_MAX];

        if (!g)
                return;
        snprintf(rep->leak_group, sizeof rep->leak_group, "leak-%u", g->id);
        leakgroup_name(g, rep->leak_group_name, sizeof rep->leak_group_name);
        memcpy(sorted, g->members, g->n_members * sizeof *sorted);
        for (size_t i = 1; i < g->n_members; i++)
                for (size_t j = i; j > 0 && leakgroup_member_cmp(&sorted[j], &sorted[j - 1]) < 0; j--) {
                        struct leakgroup_member t = sorted[j];
                        sorted[j] = sorted[j - 1];
                        sorted[j - 1] = t;
                }
        for (size_t i = 0; i < g->n_members; i++)
                (void) report_strv_addf(&rep->leak_group_members, "%s (%s, %.1f objects/min)%s", sorted[i].cache,
                                        leakgroup_kind_name(sorted[i].kind), sorted[i].objects_per_min,
                                        strcmp(sorted[i].cache, cap->asked) == 0 ? " - this capture" : "");
}

static void start_timers(struct capture *cap) {
        struct capture_manager *m = cap->m;

        ev_timer_init(&cap->end_timer, end_cb, cap->error < 0 ? 0. : (double) cap->duration_usec / 1e6, 0.);
        ev_timer_start(m->loop, &cap->end_timer);
        if (cap->error == 0) {
                ev_timer_init(&cap->watch_timer, watch_cb, (double) CAPTURE_VANISH_CHECK_USEC / 1e6,
                              (double) CAPTURE_VANISH_CHECK_USEC / 1e6);
                ev_timer_start(m->loop, &cap->watch_timer);
        }
        if (cap->tracing) {
                double poll = (double) (m->config.capture.poll_usec ? m->config.capture.poll_usec : 10000) / 1e6;
                ev_timer_init(&cap->poll_timer, poll_cb, poll, poll);
                ev_timer_start(m->loop, &cap->poll_timer);
        }
        if (cap->error == 0 && m->config.capture.checkpoint_usec > 0) {
                double every = (double) m->config.capture.checkpoint_usec / 1e6;
                ev_timer_init(&cap->checkpoint_timer, checkpoint_cb, every, every);
                ev_timer_start(m->loop, &cap->checkpoint_timer);
        }
        if (callsnap_sources(cap->callsites) > 0 && m->config.capture.callsites_interval_usec > 0) {
                double every = (double) m->config.capture.callsites_interval_usec / 1e6;
                ev_timer_init(&cap->callsites_timer, callsites_cb, every, every);
                ev_timer_start(m->loop, &cap->callsites_timer);
        }
}

/* Start capturing @cache; @id (resolved already, or NULL) is taken over. */
static int capture_start(struct capture_manager *m, const char *cache, const struct capture_trigger *why,
                         uint64_t duration_usec, struct identity *id, unsigned group) {
        struct capture *cap;
        char idbuf[BUNDLE_ID_MAX];
        uint64_t start_real;
        int r;

        if (!cache || !*cache) {
                identity_free(id);
                return -EINVAL;
        }
        for (struct capture *c = m->captures; c; c = c->next)
                if (strcmp(c->asked, cache) == 0 || strcmp(c->key, cache) == 0) {
                        identity_free(id);
                        return -EALREADY;
                }

        if (!id) {
                r = identity_resolve(&m->config, why->slabinfo, cache, &id);
                if (r < 0)
                        return r;
        }
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
        cap->group = group;
        cap->on_demand = why->on_demand;
        snprintf(cap->asked, sizeof cap->asked, "%s", cache);
        snprintf(cap->key, sizeof cap->key, "%s", id->members[0].slabinfo_name);
        if (report_new(&cap->report) < 0) {
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
        cap->drain_usec = drain_of(&m->config, duration_usec);
        bundle_make_id(cap->key, start_real, idbuf, sizeof idbuf);
        snprintf(cap->id, sizeof cap->id, "%s", idbuf);
        report_begin(cap, why, start_real);

        /* Call sites first: the snapshot at the trip is the baseline. */
        r = callsnap_new(&m->config, &m->probe, id, cap->key, cap->start_mono_usec, cap->report, &cap->callsites);
        if (r == 0)
                r = tracing_start(&(struct tracing_env) { .config = &m->config, .probe = &m->probe,
                                                          .mounts = m->mounts,
                                                          .settle_usec = settle_of(&m->config, duration_usec) },
                                  id, cap->report, &cap->tracing);
        if (r < 0) {
                capture_free(cap);
                if (m->n_running == 0)
                        unmount_ours(m);
                return r;
        }
        if (!cap->tracing && callsnap_sources(cap->callsites) == 0)
                cap->error = -EOPNOTSUPP;

        cap->next = m->captures;
        m->captures = cap;
        m->n_running++;
        start_timers(cap);
        return 0;
}


/* ---- suspected leaks and the queue ------------------------------------- */

static void queued_free(struct queued_trip *q) {
        if (!q)
                return;
        identity_free(q->identity);
        free(q->history);
        free(q);
}

static const struct leakgroup_member *leak_member(const struct capture_manager *m, unsigned group,
                                                   const char *cache) {
        const struct leakgroup *g = leakgroups_find(&m->groups, group);
        for (size_t i = 0; g && i < g->n_members; i++)
                if (strcmp(g->members[i].cache, cache) == 0)
                        return &g->members[i];
        return NULL;
}

/* Which queued trip goes first: the oldest suspected leak, and in it the
 * most specific cache (leakgroup_member_cmp()); trips of no group by age. */
static size_t queue_pick(const struct capture_manager *m) {
        size_t best = 0;
        for (size_t i = 1; i < m->n_queued; i++) {
                const struct queued_trip *a = m->queue[i], *b = m->queue[best];
                const struct leakgroup *ga = leakgroups_find(&m->groups, a->group);
                const struct leakgroup *gb = leakgroups_find(&m->groups, b->group);
                uint64_t ta = ga ? ga->first_usec : a->queued_mono_usec, tb = gb ? gb->first_usec : b->queued_mono_usec;
                if (a->group != b->group) {
                        if (ta < tb)
                                best = i;
                        continue;
                }
                const struct leakgroup_member *ma = leak_member(m, a->group, a->cache);
                const struct leakgroup_member *mb = leak_member(m, b->group, b->cache);
                if (ma && mb && leakgroup_member_cmp(ma, mb) < 0)
                        best = i;
        }
        return best;
}

/* Start queued trips while there are free slots. */
static void dispatch(struct capture_manager *m) {
        unsigned max = m->config.capture.max_concurrent ? m->config.capture.max_concurrent : 1;

        while (!m->stopping && !m->held && m->n_queued > 0 && m->n_running < max) {
                size_t i = queue_pick(m);
                struct queued_trip *q = m->queue[i];
                m->queue[i] = m->queue[--m->n_queued];
                struct identity *id = q->identity;
                q->identity = NULL;
                int r = capture_start(m, q->cache, &q->why, m->config.capture.duration_usec, id, q->group);
                if (r < 0)
                        log_info("No capture for %s: %s", q->cache, capture_strerror(r));
                else
                        log_info("Capturing evidence for %s", q->cache);
                queued_free(q);
        }
}

static bool queued_overlaps(const struct capture_manager *m, const struct identity *id) {
        for (size_t i = 0; i < m->n_queued; i++)
                if (identity_overlaps(m->queue[i]->identity, id))
                        return true;
        return false;
}

static void capture_finish(struct capture *cap, const char *reason) {
        struct capture_manager *m = cap->m;
        struct report *rep = cap->report;
        char dir[BUNDLE_PATH_MAX], error_path[BUNDLE_PATH_MAX];
        struct report_outcome out;
        struct bundle_capture files = {};
        uint64_t end;
        int bundle_error;

        if (cap->finishing)
                return;
        cap->finishing = true;

        ev_timer_stop(m->loop, &cap->end_timer);
        ev_timer_stop(m->loop, &cap->poll_timer);
        ev_timer_stop(m->loop, &cap->callsites_timer);
        ev_timer_stop(m->loop, &cap->watch_timer);
        ev_timer_stop(m->loop, &cap->checkpoint_timer);

        /* Restore the kernel first: everything after this can fail. */
        struct tracing_raw raw = {};
        tracing_stop(cap->tracing, rep, &raw);
        cap->tracing = NULL;

        /* A last call-site snapshot, unless one was taken within the interval. */
        end = now_usec(CLOCK_MONOTONIC);
        callsnap_finish(cap->callsites, end,
                        strcmp(reason, "cache vanished") == 0 ||
                                end - callsnap_last_usec(cap->callsites) < m->config.capture.callsites_interval_usec);
        report_group(cap, rep);
        report_assemble(rep, callsnap_series(cap->callsites), reason, end - cap->start_mono_usec);

        callsnap_bundle_files(cap->callsites, &files);
        files.history = (struct bundle_blob) { .data = cap->history, .len = cap->history ? cap->history_len : 0 };
        files.raw_trace = (struct bundle_blob) { .data = (const char *) raw.data, .len = raw.len };
        bundle_error = bundle_write_capture(m->config.paths.state_dir, m->config.capture.disk_budget_bytes, rep,
                                            &files, dir, sizeof dir, error_path, sizeof error_path);
        /* The checkpoint is replaced by a bundle of the same id, or stays
         * behind one with a suffix (or a failed write, whose alert carries
         * the answer): it must not come back as interrupted. */
        (void) bundle_checkpoint_discard(m->config.paths.state_dir, cap->id);
        free(raw.data);

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

        report_outcome_of(rep, cap->key, cap->error, &out);
        if (bundle_error < 0)
                report_outcome_bundle_failed(&out, error_path, bundle_error);
        if (m->done)
                m->done(&(struct capture_result) {
                                .id = rep->id,
                                .cache = cap->asked,
                                .slabinfo_name = cap->key,
                                .dir = dir,
                                .method = out.methods,
                                .stop_reason = rep->stop_reason,
                                .lost_events = rep->lost_events,
                                .events = rep->events,
                                .top_stack = out.top_stack,
                                .top_outstanding = out.top_outstanding,
                                .suspect = out.suspect,
                                .confidence = out.confidence,
                                .leak_group = rep->leak_group_name,
                                .top_call_site = out.top_call_site,
                                .error = cap->error,
                                .bundle_error = bundle_error,
                                .bundle_error_path = error_path,
                                .message = out.message,
                                .report = rep,
                        },
                        m->userdata);
        capture_free(cap);
        /* A slot is free: the next trip of the queue. */
        dispatch(m);
}

/* A checkpoint finished as an interrupted bundle: the capture alert. */
static void on_recovered(const char *id, const char *dir, json_object *rj, const char *problem, void *userdata) {
        struct capture_manager *m = userdata;
        capture_recovered_alert(id, dir, rj, problem, m->done, m->userdata);
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
        m->done = done;
        m->userdata = userdata;
        r = probe_run(&m->config, &m->probe);
        if (r == 0)
                r = kchange_new(m->config.paths.state_dir, &m->mounts);
        if (r < 0) {
                free(m);
                return r;
        }

        /* What a killed daemon left behind. */
        if (kchange_recover(m->config.paths.state_dir, m->config.paths.sys, m->config.paths.tracefs,
                            m->probe.tracefs_mounted ? m->probe.tracefs_dir : NULL) > 0)
                (void) probe_run(&m->config, &m->probe);
        r = bundle_recover_interrupted(m->config.paths.state_dir, on_recovered, m);
        if (r < 0)
                log_warning_errno(r, "Cannot look for interrupted captures under %s/%s", m->config.paths.state_dir,
                                  BUNDLE_DIR);
        r = bundle_cleanup_stale(m->config.paths.state_dir);
        if (r > 0)
                log_notice("Removed %d half-written capture bundle(s) under %s/%s", r, m->config.paths.state_dir,
                           BUNDLE_DIR);

        *ret = m;
        return 0;
}

int capture_manager_trip(struct capture_manager *m, const char *cache, const struct capture_trigger *why) {
        struct capture_trigger none = {};
        struct identity *id = NULL;
        struct queued_trip *q;
        int r;

        if (!m->config.capture.enabled)
                return -ECANCELED;
        if (!why)
                why = &none;
        if (!cache || !*cache)
                return -EINVAL;
        for (struct capture *c = m->captures; c; c = c->next)
                if (strcmp(c->asked, cache) == 0 || strcmp(c->key, cache) == 0)
                        return -EALREADY;
        for (size_t i = 0; i < m->n_queued; i++)
                if (strcmp(m->queue[i]->cache, cache) == 0)
                        return -EALREADY;
        r = identity_resolve(&m->config, why->slabinfo, cache, &id);
        if (r < 0)
                return r;
        bool overlap = queued_overlaps(m, id);
        for (struct capture *c = m->captures; c && !overlap; c = c->next)
                overlap = identity_overlaps(c->identity, id);
        if (overlap) {
                identity_free(id);
                return -EALREADY;
        }
        if (cooldown_left(m, id->members[0].slabinfo_name) > 0) {
                identity_free(id);
                return -CAPTURE_ECOOLDOWN;
        }
        if (m->n_queued >= CAPTURE_QUEUE_MAX) {
                identity_free(id);
                return -EBUSY;
        }
        q = calloc(1, sizeof *q);
        if (!q) {
                identity_free(id);
                return -ENOMEM;
        }
        snprintf(q->cache, sizeof q->cache, "%s", cache);
        q->identity = id;
        q->queued_mono_usec = now_usec(CLOCK_MONOTONIC);
        q->group = leakgroups_add(&m->groups, cache, why->objects_per_min, q->queued_mono_usec)->id;
        snprintf(q->reason, sizeof q->reason, "%s", why->reason ? why->reason : "");
        q->why = *why;
        q->why.reason = q->reason;
        q->why.slabinfo = NULL;         /* resolved already */
        q->why.history_csv = NULL;
        q->why.history_csv_len = 0;
        if (why->history_csv && why->history_csv_len > 0) {
                size_t len = why->history_csv_len < CAPTURE_HISTORY_MAX ? why->history_csv_len : CAPTURE_HISTORY_MAX;
                q->history = malloc(len);
                if (q->history) {
                        memcpy(q->history, why->history_csv, len);
                        q->why.history_csv = q->history;
                        q->why.history_csv_len = len;
                }
        }
        m->queue[m->n_queued++] = q;
        dispatch(m);
        return 0;
}

void capture_manager_hold(struct capture_manager *m) {
        if (m)
                m->held = true;
}

void capture_manager_release(struct capture_manager *m) {
        if (!m)
                return;
        m->held = false;
        dispatch(m);
}

bool capture_manager_queued(const struct capture_manager *m, const char *cache) {
        for (size_t i = 0; m && i < m->n_queued; i++)
                if (strcmp(m->queue[i]->cache, cache) == 0)
                        return true;
        return false;
}

void capture_manager_sample(struct capture_manager *m, const struct slabinfo *si) {
        if (!m || !si)
                return;
        for (struct capture *c = m->captures; c; c = c->next)
                capture_sample(c, si);
}

int capture_manager_arm(struct capture_manager *m, const char *cache, uint64_t duration_usec) {
        struct capture_trigger why = { .on_demand = true, .reason = "armed on request" };

        return capture_start(m, cache, &why, duration_usec ? duration_usec : m->config.capture.duration_usec, NULL, 0);
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

        /* Nothing queued starts while everything stops; the queue stays. */
        m->stopping = true;
        while (m->captures) {
                struct capture *cap = m->captures;
                uint64_t ran = now_usec(CLOCK_MONOTONIC) - cap->start_mono_usec;
                /* The bundle says it was cut short, and why. */
                if (!cap->finishing)
                        (void) report_strv_addf(&cap->report->warnings,
                                                "the capture was cut short (%s) after %.1f s of its %.1f s window%s: "
                                                "its counts cover only that time",
                                                reason && strcmp(reason, CAPTURE_RELOAD_REASON) == 0
                                                        ? "a configuration reload changed the paths or capture "
                                                          "settings"
                                                        : reason ? reason : "stopped",
                                                (double) ran / 1e6, (double) cap->duration_usec / 1e6,
                                                cap->draining ? " and into its drain" : "");
                capture_finish(cap, reason ? reason : "stopped");
                n++;
        }
        m->stopping = false;
        return n;
}

static json_object *running_json(const struct capture *cap) {
        json_object *o = json_object_new_object();
        char methods[REPORT_TEXT_MAX];
        uint64_t now = now_usec(CLOCK_MONOTONIC), events, lost;

        if (!o)
                return NULL;
        tracing_counts(cap->tracing, &events, &lost);
        json_object_object_add(o, "id", json_object_new_string(cap->id));
        json_object_object_add(o, "cache", json_object_new_string(cap->key));
        json_object_object_add(o, "asked", json_object_new_string(cap->asked));
        json_object_object_add(o, "on_demand", json_object_new_boolean(cap->on_demand));
        report_join_methods(cap->report, methods, sizeof methods);
        json_object_object_add(o, "method", json_object_new_string(methods));
        json_object_object_add(o, "start_usec", json_object_new_uint64(cap->report->start_realtime_usec));
        json_object_object_add(o, "elapsed_s", json_object_new_double((double) (now - cap->start_mono_usec) / 1e6));
        json_object_object_add(o, "duration_s", json_object_new_double((double) cap->duration_usec / 1e6));
        json_object_object_add(o, "drain_s", json_object_new_double((double) cap->drain_usec / 1e6));
        json_object_object_add(o, "draining", json_object_new_boolean(cap->draining));
        const struct leakgroup *g = leakgroups_find(&cap->m->groups, cap->group);
        char leak[LEAKGROUP_NAME_MAX];
        json_object_object_add(o, "leak", json_object_new_string(g ? leakgroup_name(g, leak, sizeof leak) : ""));
        json_object_object_add(o, "events", json_object_new_uint64(events));
        json_object_object_add(o, "lost_events", json_object_new_uint64(lost));
        json_object_object_add(o, "callsite_snapshots", json_object_new_uint64(cap->report->callsite_snapshots));
        return o;
}

/* The trips waiting for a slot, in the order they would start. */
static json_object *queued_json(const struct capture_manager *m) {
        json_object *a = json_object_new_array();
        uint64_t now = now_usec(CLOCK_MONOTONIC);
        char name[LEAKGROUP_NAME_MAX];

        for (size_t i = 0; a && i < m->n_queued; i++) {
                const struct queued_trip *q = m->queue[i];
                const struct leakgroup *g = leakgroups_find(&m->groups, q->group);
                json_object *o = json_object_new_object();
                if (!o)
                        break;
                json_object_object_add(o, "cache", json_object_new_string(q->cache));
                json_object_object_add(o, "leak", json_object_new_string(g ? leakgroup_name(g, name, sizeof name) : ""));
                json_object_object_add(o, "waiting_s",
                                       json_object_new_double((double) (now - q->queued_mono_usec) / 1e6));
                json_object_array_add(a, o);
        }
        return a;
}

/* The suspected leaks: caches that tripped together, most specific first. */
static json_object *leaks_json(const struct capture_manager *m) {
        json_object *a = json_object_new_array();
        char name[LEAKGROUP_NAME_MAX], id[32];

        for (size_t i = 0; a && i < m->groups.n; i++) {
                const struct leakgroup *g = &m->groups.groups[i];
                json_object *o = json_object_new_object();
                if (!o)
                        break;
                snprintf(id, sizeof id, "leak-%u", g->id);
                json_object_object_add(o, "id", json_object_new_string(id));
                json_object_object_add(o, "caches", json_object_new_string(leakgroup_name(g, name, sizeof name)));
                json_object_array_add(a, o);
        }
        return a;
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
        json_object_object_add(o, "queued", queued_json(m));
        json_object_object_add(o, "leaks", leaks_json(m));
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
        for (size_t i = 0; i < m->n_queued; i++) {
                log_info("Queued capture of %s dropped (shutdown or reload)", m->queue[i]->cache);
                queued_free(m->queue[i]);
        }
        unmount_ours(m);
        kchange_free(m->mounts);
        free(m);
}
