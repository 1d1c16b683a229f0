/* bench_detect — replay every labelled recording through the detector with
 * the default config and print how it scores: leaks tripped of those
 * labelled, each trip's latency after its leak began, false trips (cache and
 * time), the companions and excused caches that tripped, and the replay
 * speed; then a sweep over the two parameters that trade latency against
 * false trips (steady_for and min_trend of the default rule for
 * non-reclaimable caches).
 * Figures, no pass or fail: tests/unit/test_engine.c pins the table.
 *
 *   bench_detect [--every N] [--no-sweep] [--trace CACHE] [RECORDINGS_DIR]
 *
 * --every N feeds every N-th sample (a 2 s recording as if sampled at 2N s);
 * --trace CACHE prints the floor test of CACHE once a minute, for tuning. */
#include <errno.h>
#include <getopt.h>
#include <glob.h>
#include <libgen.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/config.h"
#include "caches/engine.h"
#include "caches/labels.h"
#include "caches/slabinfo.h"
#include "caches/slablog.h"
#include "memory/meminfo.h"

#define SEC UINT64_C(1000000)
#define PAGE 4096u
#define PATH_BUF 4200

struct run {
        struct engine *engine;
        struct meminfo mi;
        struct slabinfo si;
        unsigned every;
        unsigned long seen, fed;
        const char *trace;
        uint64_t next_trace_usec;
        double t0;
        struct labels_trip trips[LABELS_TRIPS_MAX];
        size_t n_trips;
        unsigned n_clears, n_retrips;
};

static double mono_sec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static void on_event(const struct engine_event *ev, void *userdata) {
        struct run *r = userdata;
        if (ev->type == ENGINE_EVENT_CLEARED)
                r->n_clears++;
        if (ev->type == ENGINE_EVENT_RETRIP)
                r->n_retrips++;
        if (ev->type != ENGINE_EVENT_TRIP || r->n_trips >= LABELS_TRIPS_MAX)
                return;
        struct labels_trip *t = &r->trips[r->n_trips++];
        t->t = (double) ev->t_usec / 1e6;
        snprintf(t->cache, sizeof t->cache, "%s", ev->cache);
}

static void trace(struct run *r, uint64_t t_usec) {
        struct engine_cache_info c;
        if (t_usec < r->next_trace_usec || engine_cache_get(r->engine, r->trace, &c) < 0)
                return;
        r->next_trace_usec = t_usec + 60 * SEC;
        printf("  %+7.1fm %-10s objs %7lu  rise %7.0f in %5.1fm  sig %5.1f  trend %5.2f  %7.1f/min %9.0f B/h\n",
               ((double) t_usec / 1e6 - r->t0) / 60, detect_state_name(c.state), (unsigned long) c.active_objs,
               c.rise_objs, c.rise_sec / 60, c.significance, c.trend, c.objs_per_min, c.bytes_per_hour);
}

static int on_sample(const struct slablog_sample *s, void *userdata) {
        struct run *r = userdata;
        if (r->seen++ % r->every)
                return 0;
        if (!s->meminfo || !s->slabinfo || meminfo_parse(s->meminfo, s->meminfo_len, &r->mi) < 0 ||
            slabinfo_parse(s->slabinfo, s->slabinfo_len, &r->si) < 0)
                return 0;
        if (engine_feed(r->engine, s->t_usec, &r->si, &r->mi, PAGE, NULL, on_event, r) < 0)
                return 0;
        r->fed++;
        if (r->trace)
                trace(r, s->t_usec);
        return 0;
}

static int read_labels(const char *path, struct labels *ret) {
        static char buf[LABELS_FILE_MAX + 1];
        FILE *f = fopen(path, "re");
        if (!f)
                return -errno;
        size_t n = fread(buf, 1, sizeof buf, f);
        fclose(f);
        unsigned line = 0;
        int r = labels_parse(buf, n, ret, &line);
        if (r < 0)
                fprintf(stderr, "bench_detect: %s:%u: %s\n", path, line, strerror(-r));
        return r;
}

/* Replay @log with @config; 0 or -errno. */
static int replay(const char *log, const struct config *config, unsigned every, const char *trace_cache,
                  double t0, struct run *r, double *ret_sec) {
        char cmd[PATH_BUF + 32];
        snprintf(cmd, sizeof cmd, "xz -dc '%s' 2>/dev/null", log);
        memset(r, 0, sizeof *r);
        r->every = every;
        r->trace = trace_cache;
        r->t0 = t0;
        int q = engine_new(config, &r->engine);
        if (q < 0)
                return q;
        FILE *in = popen(cmd, "r");
        if (!in) {
                engine_free(r->engine);
                return -errno;
        }
        struct slablog *sl = NULL;
        double a = mono_sec();
        q = slablog_new(0, on_sample, NULL, r, &sl);
        static char buf[1 << 16];
        size_t n;
        while (q >= 0 && (n = fread(buf, 1, sizeof buf, in)) > 0)
                q = slablog_feed(sl, buf, n);
        if (q >= 0)
                q = slablog_finish(sl);
        *ret_sec = mono_sec() - a;
        int status = pclose(in);
        slablog_free(sl);
        engine_free(r->engine);
        slabinfo_done(&r->si);
        if (q >= 0 && (status != 0 || r->fed == 0))
                q = -EIO;
        return q;
}

static void print_score(const struct labels *l, const struct run *r, double sec) {
        struct labels_score s;
        labels_score(l, r->trips, r->n_trips, &s);
        printf("%-22s leaks %zu/%zu tripped (%zu late)  false %zu  allowed %zu  re-alerts %u  cleared %u  "
               "%.0f samples/s\n",
               l->name, s.tripped, s.must, s.late, s.n_false, s.n_allowed, r->n_retrips, r->n_clears,
               (double) r->fed / sec);
        for (size_t i = 0; i < l->n_leaks; i++) {
                const struct labels_leak *k = &l->leaks[i];
                for (size_t c = 0; c < k->n_caches; c++) {
                        double lat = s.latency_sec[i][c];
                        double deadline = labels_deadline_sec(k->rate_per_sec, k->rate_per_sec * k->object_bytes * 3600);
                        if (lat < 0)
                                printf("    leak %-20s %5.2f/s  NOT tripped  (deadline %.0f min)\n", k->caches[c],
                                       k->rate_per_sec, deadline / 60);
                        else
                                printf("    leak %-20s %5.2f/s  tripped after %5.1f min  (deadline %.0f min)\n",
                                       k->caches[c], k->rate_per_sec, lat / 60, deadline / 60);
                }
        }
        for (size_t i = 0; i < s.n_false && i < LABELS_TRIPS_MAX; i++)
                printf("    FALSE trip %-20s at %+.1f min\n", s.false_trips[i].cache,
                       (s.false_trips[i].t - l->start) / 60);
        for (size_t i = 0; i < r->n_trips; i++) {
                enum labels_verdict v = labels_judge(l, r->trips[i].cache, r->trips[i].t);
                if (v == LABELS_TRIP_COMPANION || v == LABELS_TRIP_EXCUSED)
                        printf("    %s %-20s at %+.1f min\n", v == LABELS_TRIP_COMPANION ? "companion" : "excused  ",
                               r->trips[i].cache, (r->trips[i].t - l->start) / 60);
        }
}

struct sweep_total {
        size_t must, tripped, late, n_false;
        double latency_sum;
};

static void sweep_add(const struct labels *l, const struct run *r, struct sweep_total *t) {
        struct labels_score s;
        labels_score(l, r->trips, r->n_trips, &s);
        t->must += s.must;
        t->tripped += s.tripped;
        t->late += s.late;
        t->n_false += s.n_false;
        for (size_t i = 0; i < l->n_leaks; i++)
                for (size_t c = 0; c < l->leaks[i].n_caches; c++)
                        if (s.latency_sec[i][c] >= 0)
                                t->latency_sum += s.latency_sec[i][c];
}

int main(int argc, char **argv) {
        static const struct option options[] = {
                { "every", required_argument, NULL, 'e' },
                { "no-sweep", no_argument, NULL, 'n' },
                { "trace", required_argument, NULL, 't' },
                {},
        };
        unsigned every = 1;
        bool sweep = true;
        const char *trace_cache = NULL;
        int c;
        while ((c = getopt_long(argc, argv, "e:nt:", options, NULL)) >= 0) {
                switch (c) {
                case 'e':
                        every = (unsigned) atoi(optarg);
                        if (every == 0)
                                every = 1;
                        break;
                case 'n':
                        sweep = false;
                        break;
                case 't':
                        trace_cache = optarg;
                        break;
                default:
                        fprintf(stderr, "usage: bench_detect [--every N] [--no-sweep] [--trace CACHE] [DIR]\n");
                        return 2;
                }
        }
        char src[4096], dir[PATH_BUF], pattern[PATH_BUF + 16];
        const char *recordings = optind < argc ? argv[optind] : NULL;
        if (!recordings) {
                snprintf(src, sizeof src, "%s", __FILE__);
                snprintf(dir, sizeof dir, "%s/../tests/fixtures/recordings", dirname(src));
                recordings = dir;
        }
        snprintf(pattern, sizeof pattern, "%s/*.labels", recordings);
        glob_t g;
        if (glob(pattern, 0, NULL, &g) != 0) {
                fprintf(stderr, "bench_detect: no labelled recordings under %s\n", recordings);
                return 1;
        }
        static struct labels labels[32];
        static char logs[32][PATH_BUF];
        size_t n = 0;
        for (size_t i = 0; i < g.gl_pathc && n < 32; i++) {
                if (read_labels(g.gl_pathv[i], &labels[n]) < 0)
                        continue;
                size_t len = strlen(g.gl_pathv[i]) - strlen(".labels");
                snprintf(logs[n], sizeof logs[n], "%.*s.log.xz", (int) len, g.gl_pathv[i]);
                n++;
        }
        globfree(&g);

        struct config config;
        config_defaults(&config);
        static struct run run;
        printf("== default config, every %u sample(s)\n", every);
        for (size_t i = 0; i < n; i++) {
                config.interval_usec = (uint64_t) (labels[i].interval_sec * every * 1e6);
                if (trace_cache)
                        printf("%s: trace of %s\n", labels[i].name, trace_cache);
                double sec;
                int r = replay(logs[i], &config, every, trace_cache, labels[i].start, &run, &sec);
                if (r < 0) {
                        printf("%-22s not replayed: %s (is xz(1) installed?)\n", labels[i].name, strerror(-r));
                        continue;
                }
                print_score(&labels[i], &run, sec);
        }
        if (!sweep || trace_cache)
                return 0;

        /* The rule for non-reclaimable caches is the last default. */
        static const double steady_min[] = { 5, 10, 15, 20, 25 };
        static const double min_trend[] = { 0.5, 0.7, 0.8, 0.9 };
        printf("\n== sweep: default rule's steady_for x min_trend, all recordings\n");
        printf("  steady_for  min_trend   tripped/must  late  false  mean latency\n");
        for (size_t a = 0; a < sizeof steady_min / sizeof *steady_min; a++)
                for (size_t b = 0; b < sizeof min_trend / sizeof *min_trend; b++) {
                        struct sweep_total t = {};
                        for (size_t i = 0; i < n; i++) {
                                config_defaults(&config);
                                config.interval_usec = (uint64_t) (labels[i].interval_sec * every * 1e6);
                                struct config_rule *rule = &config.rules[config.n_rules - 1];
                                rule->steady_for_usec = (uint64_t) (steady_min[a] * 60) * SEC;
                                rule->min_trend = min_trend[b];
                                double sec;
                                if (replay(logs[i], &config, every, NULL, labels[i].start, &run, &sec) == 0)
                                        sweep_add(&labels[i], &run, &t);
                        }
                        printf("  %7.0f min  %9.1f   %6zu/%-5zu  %4zu  %5zu  %9.1f min\n", steady_min[a],
                               min_trend[b], t.tripped, t.must, t.late, t.n_false,
                               t.tripped ? t.latency_sum / (double) t.tripped / 60 : NAN);
                }
        return 0;
}
