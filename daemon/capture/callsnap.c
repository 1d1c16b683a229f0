#include "capture/callsnap.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cacheid.h"
#include "core/readfile.h"

struct source {
        char path[CONFIG_PATH_MAX];
        struct readfile_buf buf;        /* the latest read */
};

struct callsnap {
        const struct config *config;
        const struct probe *probe;
        struct report *report;
        uint64_t start_mono_usec;
        uint64_t last_usec;
        struct callseries *series;
        struct source *sources;         /* parallel to series->sources */
        struct bundle_blob *last_raw;   /* the latest read of each, for the bundle */
        /* /proc/allocinfo (6.10+) at the start and the end: per call site
         * bytes of every allocation, not only this cache's, kept raw. */
        struct readfile_buf allocinfo_first;
        struct readfile_buf allocinfo_last;
};

static int add_source(struct callsnap *s, const char *cache, const char *dir, const char *file, bool free_site) {
        int i = callseries_add_source(s->series, cache, file, free_site);
        if (i < 0)
                return i;
        struct source *src = &s->sources[i];
        if (readfile_path(src->path, sizeof src->path, dir, file) < 0) {
                s->series->n_sources--;
                return -ENAMETOOLONG;
        }
        src->buf.max = CALLSNAP_FILE_MAX;
        return 0;
}

/* The advice for call sites, for every name of the capture. */
static void advise(struct callsnap *s, const struct identity *id, const char *key) {
        const char *names[IDENTITY_ALIASES_MAX];
        char advice[CACHEID_ADVICE_MAX];
        size_t n = identity_all_names(id, names, IDENTITY_ALIASES_MAX);

        /* The cache's own name first: the advice points at its debugfs directory. */
        for (size_t i = 1; i < n; i++)
                if (strcmp(names[i], key) == 0) {
                        const char *t = names[0];
                        names[0] = names[i];
                        names[i] = t;
                        break;
                }
        if (n > 0 && cacheid_boot_advice(names, n, s->probe->kver, advice, sizeof advice) > 0)
                (void) report_strv_add(&s->report->advice, advice);
}

/* Where the call sites come from: sysfs or debugfs, per member. */
static void choose_sources(struct callsnap *s, const struct identity *id, const char *key) {
        bool any_store_user = false;

        for (size_t i = 0; i < id->n_members; i++) {
                const struct identity_member *mem = &id->members[i];
                struct probe_cache pc;
                char dir[CONFIG_PATH_MAX], rel[SLABINFO_NAME_MAX + 16];

                if (probe_cache(s->config, s->probe, mem->slabinfo_name, &pc) < 0)
                        continue;
                any_store_user |= pc.store_user;
                if (pc.sysfs_alloc_calls && mem->sysfs_dir[0]) {
                        if (add_source(s, mem->slabinfo_name, mem->sysfs_dir, "alloc_calls", false) < 0 ||
                            add_source(s, mem->slabinfo_name, mem->sysfs_dir, "free_calls", true) < 0)
                                break;
                        if (!report_strv_contains(&s->report->methods, "sysfs alloc_calls"))
                                (void) report_strv_add(&s->report->methods, "sysfs alloc_calls");
                } else if (pc.debugfs_alloc_traces) {
                        snprintf(rel, sizeof rel, "slab/%s", mem->slabinfo_name);
                        if (readfile_path(dir, sizeof dir, s->config->paths.debugfs, rel) < 0)
                                continue;
                        if (add_source(s, mem->slabinfo_name, dir, "alloc_traces", false) < 0 ||
                            add_source(s, mem->slabinfo_name, dir, "free_traces", true) < 0)
                                break;
                        if (!report_strv_contains(&s->report->methods, "debugfs alloc_traces"))
                                (void) report_strv_add(&s->report->methods, "debugfs alloc_traces");
                }
        }

        if (s->series->n_sources == 0) {
                if (any_store_user && s->probe->kver >= CACHEID_KVER_DEBUGFS_TRACES)
                        (void) report_strv_addf(&s->report->advice,
                                                "call sites are recorded (store_user) but debugfs is not mounted: "
                                                "mount -t debugfs nodev %s",
                                                s->config->paths.debugfs);
                else
                        advise(s, id, key);
        }
}

static void read_allocinfo(struct callsnap *s, struct readfile_buf *b) {
        char path[CONFIG_PATH_MAX];
        int r;

        if (!s->probe->allocinfo)
                return;
        b->max = CALLSNAP_FILE_MAX;
        r = readfile_path(path, sizeof path, s->config->paths.proc, "allocinfo");
        if (r >= 0)
                r = readfile_read(b, path);
        if (r < 0)
                (void) report_strv_addf(&s->report->warnings, "cannot read %s: %s", path, strerror(-r));
        else if (!report_strv_contains(&s->report->methods, "allocinfo"))
                (void) report_strv_add(&s->report->methods, "allocinfo");
}

int callsnap_new(const struct config *c, const struct probe *p, const struct identity *id, const char *key,
                 uint64_t start_mono_usec, struct report *rep, struct callsnap **ret) {
        struct callsnap *s = calloc(1, sizeof *s);
        if (!s)
                return -ENOMEM;
        s->config = c;
        s->probe = p;
        s->report = rep;
        s->start_mono_usec = start_mono_usec;
        s->sources = calloc(CALLSERIES_SOURCES_MAX, sizeof *s->sources);
        s->last_raw = calloc(CALLSERIES_SOURCES_MAX, sizeof *s->last_raw);
        if (!s->sources || !s->last_raw || callseries_new(&s->series) < 0) {
                callsnap_free(s);
                return -ENOMEM;
        }
        choose_sources(s, id, key);
        /* The snapshot at the trip is the baseline. */
        if (s->series->n_sources > 0) {
                rep->callsite_interval_usec = c->capture.callsites_interval_usec;
                callsnap_take(s, start_mono_usec);
        }
        read_allocinfo(s, &s->allocinfo_first);
        *ret = s;
        return 0;
}

size_t callsnap_sources(const struct callsnap *s) {
        return s ? s->series->n_sources : 0;
}

void callsnap_take(struct callsnap *s, uint64_t now_mono_usec) {
        double t_s = (double) (now_mono_usec - s->start_mono_usec) / 1e6;
        char problem[CALLSERIES_PROBLEM_MAX];
        bool said;

        callseries_begin(s->series);
        for (size_t i = 0; i < s->series->n_sources; i++) {
                struct source *src = &s->sources[i];
                int r = readfile_read(&src->buf, src->path);
                if (r < 0) {
                        if (callseries_read_failed(s->series, i, r))
                                (void) report_strv_addf(&s->report->warnings, "call sites: cannot read %s: %s",
                                                        src->path, strerror(-r));
                        continue;
                }
                (void) callseries_feed(s->series, i, t_s, src->buf.data, src->buf.len, src->path, problem,
                                       sizeof problem, &said);
                if (said)
                        (void) report_strv_add(&s->report->warnings, problem);
                if (callseries_cut_news(s->series))
                        (void) report_strv_addf(&s->report->warnings,
                                                "callsites-series.csv cut at %u bytes; the first and last snapshots "
                                                "are kept whole",
                                                CALLSERIES_CSV_MAX);
        }
        s->last_usec = now_mono_usec;
        s->report->callsite_snapshots++;
}

uint64_t callsnap_last_usec(const struct callsnap *s) {
        return s->last_usec;
}

void callsnap_finish(struct callsnap *s, uint64_t now_mono_usec, bool skip_last_round) {
        if (s->series->n_sources > 0 && !skip_last_round)
                callsnap_take(s, now_mono_usec);
        if (s->allocinfo_first.len > 0)
                read_allocinfo(s, &s->allocinfo_last);
}

const struct callseries *callsnap_series(const struct callsnap *s) {
        return s->series;
}

void callsnap_bundle_files(const struct callsnap *s, struct bundle_capture *ret) {
        for (size_t i = 0; i < s->series->n_sources; i++)
                s->last_raw[i] = (struct bundle_blob) { .data = s->sources[i].buf.data,
                                                        .len = s->sources[i].buf.data ? s->sources[i].buf.len : 0 };
        ret->callsites = s->series->n_sources > 0 ? s->series : NULL;
        ret->last_raw = s->last_raw;
        ret->allocinfo_first = (struct bundle_blob) { .data = s->allocinfo_first.data, .len = s->allocinfo_first.len };
        ret->allocinfo_last = (struct bundle_blob) { .data = s->allocinfo_last.data, .len = s->allocinfo_last.len };
}

void callsnap_free(struct callsnap *s) {
        if (!s)
                return;
        for (size_t i = 0; s->sources && s->series && i < s->series->n_sources; i++)
                readfile_done(&s->sources[i].buf);
        free(s->sources);
        free(s->last_raw);
        callseries_free(s->series);
        readfile_done(&s->allocinfo_first);
        readfile_done(&s->allocinfo_last);
        free(s);
}
