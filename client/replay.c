/* replay — see replay.h.
 *
 * The log is streamed: read a block, decompress it if it is gzip or xz (told
 * by its magic bytes), cut it into samples with slablog, parse each sample
 * with the daemon's parsers and feed it to the engine. Memory stays bounded
 * by the largest sample and the history spans, whatever the log's length. */
#include "replay.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "base/config.h"
#include "caches/engine.h"
#include "caches/labels.h"
#include "caches/slabdiff.h"
#include "input.h"
#include "memory/meminfo.h"
#include "caches/slabinfo.h"
#include "caches/slablog.h"
#include "memory/verdict.h"
#include "base/units.h"

/* Bytes of decompressed text handed to the log reader at a time. */
#define REPLAY_CHUNK_SIZE ((size_t) 256 << 10)
/* Exit status of a replay whose trips do not match its --labels. */
#define REPLAY_EXIT_SCORE 5
/* Warnings about malformed parts of the log printed before going quiet. */
#define REPLAY_WARNINGS_MAX 20
/* Page size assumed for a log from an unknown machine, unless the config says. */
#define REPLAY_PAGE_SIZE_DEFAULT 4096u
/* Fewer samples than this give no trend test worth the name (Kendall's tau
 * cannot reach significance); replay then shows the growth from the first
 * to the last sample instead of a verdict. */
#define REPLAY_TREND_SAMPLES_MIN 8
/* Caches listed in that growth. */
#define REPLAY_GROWTH_SHOWN 5
/* Shortest sample spacing taken from a log (that of `interval`). */
#define REPLAY_INTERVAL_MIN_USEC (100 * UINT64_C(1000))

struct replay {
        const char *path;
        bool json;
        struct config config;
        struct engine *engine;
        uint32_t page_size;
        struct meminfo *meminfo;
        struct slabinfo slabinfo;

        /* The first sample is held until the second tells the spacing. */
        char *first_text;
        struct slablog_sample first;
        bool have_first;

        uint64_t n_fed;
        uint64_t first_usec;
        /* The first fed sample, to tell the growth so far when the log is short. */
        struct slabinfo first_slabinfo;
        bool have_first_slabinfo;
        struct meminfo *first_meminfo;
        bool have_first_meminfo;
        bool have_last_meminfo;
        uint64_t n_events[ENGINE_EVENT_VERDICT + 1];
        unsigned warnings;
        int error;
        /* --labels: what happened in the log, and the trips to score against it. */
        struct labels *labels;
        struct labels_trip *trips;
        size_t n_trips;
};

static void usage(FILE *f) {
        fprintf(f,
                "Usage: slabwatchctl replay LOG [-c CONFIG] [--labels FILE] [--json]\n"
                "\n"
                "Run a recorded slab log through the detector and print every trip,\n"
                "re-alert, clear and verdict change with its sample time. LOG is plain,\n"
                "gzip or xz ('-' reads standard input), as recorded by:\n"
                "  while sleep 10; do echo \"@ $(date +%%s)\"; cat /proc/meminfo /proc/slabinfo; done >> slab.log\n"
                "\n"
                "  -c, --config FILE  thresholds and history from FILE (default: built in)\n"
                "  -l, --labels FILE  score the trips against what FILE says happened (the\n"
                "                     labels format of slabwatchctl(1)); exit 5 when a\n"
                "                     labelled leak did not trip or anything else did\n"
                "  -j, --json         one JSON object per line\n"
                "  -h, --help         this text\n"
                "\n"
                "The raw history tier is sized for the log's sample spacing; the page\n"
                "size comes from the config's page_size, else %u. Busybox logs (\"@ N.%%N\")\n"
                "and serial console captures are read. With fewer than %d samples there\n"
                "is no trend test: the growth from the first to the last sample is shown.\n",
                REPLAY_PAGE_SIZE_DEFAULT, REPLAY_TREND_SAMPLES_MIN);
}

__attribute__((format(printf, 2, 3)))
static void warn(struct replay *rp, const char *fmt, ...) {
        if (rp->warnings++ >= REPLAY_WARNINGS_MAX) {
                if (rp->warnings == REPLAY_WARNINGS_MAX + 1)
                        fprintf(stderr, "replay: %s: further warnings not shown\n", rp->path);
                return;
        }
        va_list ap;
        va_start(ap, fmt);
        fprintf(stderr, "replay: %s:", rp->path);
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
        va_end(ap);
}

/* ---- output ---- */

/* @t_usec as UTC: "2026-11-24 23:06:20", or ISO 8601 "2026-11-24T23:06:20Z". */
static const char *utc_fmt(uint64_t t_usec, bool iso, char *buf, size_t size) {
        time_t t = (time_t) (t_usec / 1000000);
        struct tm tm;
        size_t n = 0;
        if (gmtime_r(&t, &tm))
                n = iso ? strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm) : strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm);
        if (n == 0)
                snprintf(buf, size, "%" PRIu64, t_usec / 1000000);
        return buf;
}

static const char *utc(uint64_t t_usec, char *buf, size_t size) {
        return utc_fmt(t_usec, false, buf, size);
}

static void print_json(const struct engine_event *ev) {
        char when[32], flags[64];
        json_object *o = json_object_new_object();
        json_object_object_add(o, "t", json_object_new_double((double) ev->t_usec / 1e6));
        json_object_object_add(o, "time", json_object_new_string(utc_fmt(ev->t_usec, true, when, sizeof when)));
        json_object_object_add(o, "event", json_object_new_string(engine_event_type_name(ev->type)));
        if (ev->cache) {
                json_object_object_add(o, "cache", json_object_new_string(ev->cache));
                json_object_object_add(o, "reclaimable", json_object_new_boolean(ev->reclaimable));
                json_object_object_add(o, "objs_per_min", json_object_new_double(ev->objs_per_min));
                json_object_object_add(o, "bytes_per_hour", json_object_new_double(ev->bytes_per_hour));
                json_object_object_add(o, "percent_per_hour", json_object_new_double(ev->percent_per_hour));
                json_object_object_add(o, "trend", json_object_new_double(ev->trend));
                json_object_object_add(o, "active_objs", json_object_new_int64((int64_t) ev->active_objs));
                json_object_object_add(o, "bytes", json_object_new_int64((int64_t) ev->bytes));
                json_object_object_add(o, "rule", json_object_new_string(ev->rule_match));
        }
        json_object_object_add(o, "window_sec", json_object_new_int64((int64_t) (ev->window_usec / 1000000)));
        json_object_object_add(o, "verdict",
                               json_object_new_string(verdict_flags_string(ev->verdict_flags, flags, sizeof flags)));
        json_object_object_add(o, "verdict_text", json_object_new_string(ev->verdict_text));
        puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(o);
}

static void print_human(const struct replay *rp, const struct engine_event *ev) {
        char when[32], rate[32];
        uint64_t since = (ev->t_usec - rp->first_usec) / 1000000;
        printf("%s UTC  +%02" PRIu64 ":%02" PRIu64 ":%02" PRIu64 "  %-8s", utc(ev->t_usec, when, sizeof when),
               since / 3600, since / 60 % 60, since % 60, engine_event_type_name(ev->type));
        if (!ev->cache) {
                printf(" %s\n", ev->verdict_text);
                return;
        }
        printf(" %-24s %+9.1f objs/min %12s %+8.1f %%/h  trend %.2f  %" PRIu64 " objs  rule %s%s\n", ev->cache,
               ev->objs_per_min, verdict_format_rate(ev->bytes_per_hour, rate, sizeof rate), ev->percent_per_hour,
               ev->trend, ev->active_objs, ev->rule_match, ev->reclaimable ? " (reclaimable)" : "");
}

static void on_event(const struct engine_event *ev, void *userdata) {
        struct replay *rp = userdata;
        rp->n_events[ev->type]++;
        if (rp->labels && ev->type == ENGINE_EVENT_TRIP && rp->n_trips < LABELS_TRIPS_MAX) {
                struct labels_trip *tr = &rp->trips[rp->n_trips++];
                tr->t = (double) ev->t_usec / 1e6;
                snprintf(tr->cache, sizeof tr->cache, "%.*s", (int) sizeof tr->cache - 1, ev->cache);
        }
        if (rp->json)
                print_json(ev);
        else
                print_human(rp, ev);
}

/* ---- samples ---- */

static int feed(struct replay *rp, const struct slablog_sample *s) {
        bool have_mi = false, have_si = false;
        if (s->meminfo) {
                int r = meminfo_parse(s->meminfo, s->meminfo_len, rp->meminfo);
                if (r < 0)
                        warn(rp, "%lu: unreadable meminfo section", s->meminfo_line);
                else
                        have_mi = true;
        }
        if (s->slabinfo) {
                int r = slabinfo_parse(s->slabinfo, s->slabinfo_len, &rp->slabinfo);
                if (r == -ENOMEM)
                        return r;
                if (r < 0)
                        warn(rp, "%lu: unreadable slabinfo section", s->slabinfo_line);
                else {
                        have_si = true;
                        if (rp->slabinfo.n_bad_lines > 0)
                                warn(rp, "%lu: malformed slabinfo line (%zu in this sample)",
                                     s->slabinfo_line + rp->slabinfo.bad_lines[0].line - 1,
                                     rp->slabinfo.n_bad_lines);
                }
        }
        if (!have_mi && !have_si) {
                warn(rp, "%lu: sample without meminfo or slabinfo, skipped", s->line);
                return 0;
        }
        if (rp->n_fed == 0) {
                rp->first_usec = s->t_usec;
                if (have_si && slabinfo_parse(s->slabinfo, s->slabinfo_len, &rp->first_slabinfo) >= 0)
                        rp->have_first_slabinfo = true;
                if (have_mi) {
                        *rp->first_meminfo = *rp->meminfo;
                        rp->have_first_meminfo = true;
                }
        }
        rp->have_last_meminfo = have_mi;
        int r = engine_feed(rp->engine, s->t_usec, have_si ? &rp->slabinfo : NULL, have_mi ? rp->meminfo : NULL,
                            rp->page_size, NULL, on_event, rp);
        if (r == -EINVAL) {
                warn(rp, "%lu: sample time not after the previous sample's, skipped", s->line);
                return 0;
        }
        if (r < 0)
                return r;
        rp->n_fed++;
        return 0;
}

/* Size the raw tier for the log's spacing: its first gap, or the config's
 * interval if that is shorter (a first gap can be a pause). */
static int start_engine(struct replay *rp, uint64_t interval_usec) {
        if (interval_usec > 0 && interval_usec < rp->config.interval_usec) {
                if (interval_usec < REPLAY_INTERVAL_MIN_USEC)
                        interval_usec = REPLAY_INTERVAL_MIN_USEC;
                rp->config.interval_usec = interval_usec;
        }
        int r = engine_new(&rp->config, &rp->engine);
        if (r < 0)
                return r;
        if (!rp->have_first)
                return 0;
        r = feed(rp, &rp->first);
        free(rp->first_text);
        rp->first_text = NULL;
        rp->have_first = false;
        return r;
}

/* Keep a copy of the first sample's text (the reader's buffer is reused). */
static int hold_first(struct replay *rp, const struct slablog_sample *s) {
        size_t mlen = s->meminfo ? s->meminfo_len : 0, slen = s->slabinfo ? s->slabinfo_len : 0;
        rp->first_text = malloc(mlen + slen + 1);
        if (!rp->first_text)
                return -ENOMEM;
        rp->first = *s;
        if (s->meminfo) {
                memcpy(rp->first_text, s->meminfo, mlen);
                rp->first.meminfo = rp->first_text;
        }
        if (s->slabinfo) {
                memcpy(rp->first_text + mlen, s->slabinfo, slen);
                rp->first.slabinfo = rp->first_text + mlen;
        }
        rp->have_first = true;
        return 0;
}

static int on_sample(const struct slablog_sample *s, void *userdata) {
        struct replay *rp = userdata;
        if (rp->engine)
                return feed(rp, s);
        if (!rp->have_first)
                return hold_first(rp, s);
        if (s->t_usec <= rp->first.t_usec) {
                warn(rp, "%lu: sample time not after the previous sample's, skipped", s->line);
                return 0;
        }
        int r = start_engine(rp, s->t_usec - rp->first.t_usec);
        if (r < 0)
                return r;
        return feed(rp, s);
}

static void on_log_error(unsigned long line, int error, void *userdata) {
        struct replay *rp = userdata;
        switch (error) {
        case SLABLOG_ERR_MARK:
                warn(rp, "%lu: malformed \"@ <time>\" line, its sample skipped", line);
                break;
        case SLABLOG_ERR_TOO_BIG:
                warn(rp, "%lu: sample larger than %u bytes, skipped", line, SLABLOG_SAMPLE_MAX_DEFAULT);
                break;
        case SLABLOG_ERR_NO_MARK:
                warn(rp, "%lu: text before the first \"@ <time>\" line, ignored", line);
                break;
        case SLABLOG_WARN_WHOLE_SECONDS:
                warn(rp, "%lu: \"@ <seconds>.%%N\": this date does not know %%N (busybox); whole seconds used", line);
                break;
        case SLABLOG_WARN_CONSOLE:
                warn(rp, "%lu: kernel messages inside the samples (a serial console?) left out", line);
                break;
        default:
                warn(rp, "%lu: %s", line, strerror(-error));
        }
}

static int run(struct replay *rp) {
        struct input *in = NULL;
        struct slablog *log = NULL;
        char *text = NULL;
        int r = input_open(rp->path, &in);
        if (r < 0) {
                fprintf(stderr, "replay: cannot open %s: %s\n", rp->path, input_strerror(r));
                return r;
        }
        text = malloc(REPLAY_CHUNK_SIZE);
        r = text ? slablog_new(0, on_sample, on_log_error, rp, &log) : -ENOMEM;
        while (r >= 0) {
                ssize_t n = input_read(in, text, REPLAY_CHUNK_SIZE);
                if (n < 0) {
                        r = (int) n;
                        fprintf(stderr, "replay: %s: %s\n", rp->path, input_strerror(r));
                        break;
                }
                if (n == 0) {
                        r = slablog_finish(log);
                        break;
                }
                r = slablog_feed(log, text, (size_t) n);
        }
        /* A log of a single sample still runs (with the configured interval). */
        if (!rp->engine && (r >= 0 || rp->have_first)) {
                int q = start_engine(rp, 0);
                if (r >= 0)
                        r = q;
        }
        slablog_free(log);
        free(text);
        input_close(in);
        return r;
}

/* A short log: the growth from its first to its last sample. */
static void print_growth_so_far(struct replay *rp, uint64_t last_usec) {
        double hours = (double) (last_usec - rp->first_usec) / 3.6e9;
        struct slabdiff d = {};
        bool have_diff = rp->have_first_slabinfo && rp->slabinfo.n_caches > 0 &&
                slabdiff_compute(&rp->first_slabinfo, &rp->slabinfo, rp->page_size, &d) >= 0;
        static const enum meminfo_key keys[] = { MEMINFO_SLAB, MEMINFO_SUNRECLAIM, MEMINFO_MEM_AVAILABLE };
        static const char *const key_names[] = { "Slab", "SUnreclaim", "MemAvailable" };
        char a[32], b[32];

        if (rp->json) {
                json_object *o = json_object_new_object();
                json_object_object_add(o, "event", json_object_new_string("growth_so_far"));
                json_object_object_add(o, "reason", json_object_new_string("too few samples for a trend test"));
                json_object_object_add(o, "samples", json_object_new_int64((int64_t) rp->n_fed));
                json_object_object_add(o, "samples_needed", json_object_new_int64(REPLAY_TREND_SAMPLES_MIN));
                json_object_object_add(o, "hours", json_object_new_double(hours));
                json_object *caches = json_object_new_array();
                for (size_t i = 0, shown = 0; have_diff && i < d.n_caches && shown < REPLAY_GROWTH_SHOWN; i++) {
                        const struct slabdiff_cache *c = &d.caches[i];
                        if (c->delta_bytes <= 0 && c->delta_active_objs <= 0)
                                continue;
                        shown++;
                        json_object *j = json_object_new_object();
                        json_object_object_add(j, "cache", json_object_new_string(c->name));
                        json_object_object_add(j, "delta_active_objs", json_object_new_int64(c->delta_active_objs));
                        json_object_object_add(j, "delta_bytes", json_object_new_int64(c->delta_bytes));
                        if (hours > 0) {
                                json_object_object_add(j, "objs_per_hour",
                                                       json_object_new_double((double) c->delta_active_objs / hours));
                                json_object_object_add(j, "bytes_per_hour",
                                                       json_object_new_double((double) c->delta_bytes / hours));
                        }
                        json_object_array_add(caches, j);
                }
                json_object_object_add(o, "caches", caches);
                json_object *mem = json_object_new_object();
                for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
                        uint64_t x, y;
                        if (rp->have_first_meminfo && rp->have_last_meminfo && meminfo_get(rp->first_meminfo, keys[k], &x) &&
                            meminfo_get(rp->meminfo, keys[k], &y))
                                json_object_object_add(mem, key_names[k], json_object_new_int64((int64_t) (y - x)));
                }
                json_object_object_add(o, "meminfo_delta_kib", mem);
                puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
                json_object_put(o);
                slabdiff_done(&d);
                return;
        }
        printf("too few samples for a trend test (%" PRIu64 "; %d are needed); growth so far, over %.1f h from the "
               "first sample to the last:\n", rp->n_fed, REPLAY_TREND_SAMPLES_MIN, hours);
        size_t shown = 0;
        for (size_t i = 0; have_diff && i < d.n_caches && shown < REPLAY_GROWTH_SHOWN; i++) {
                const struct slabdiff_cache *c = &d.caches[i];
                if (c->delta_bytes <= 0 && c->delta_active_objs <= 0)
                        continue;
                shown++;
                printf("  %-24s %+10" PRId64 " objs  %10s", c->name, c->delta_active_objs,
                       units_format_bytes((double) c->delta_bytes, true, a, sizeof a));
                if (hours > 0)
                        printf("   %+10.1f objs/h  %10s/h", (double) c->delta_active_objs / hours,
                               units_format_bytes((double) c->delta_bytes / hours, true, b, sizeof b));
                if (!c->old)
                        fputs("  (appeared)", stdout);
                fputc('\n', stdout);
        }
        if (shown == 0)
                puts(have_diff ? "  no cache grew" : "  (no slabinfo in the first and last samples)");
        for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
                uint64_t x, y;
                if (rp->have_first_meminfo && rp->have_last_meminfo && meminfo_get(rp->first_meminfo, keys[k], &x) &&
                    meminfo_get(rp->meminfo, keys[k], &y))
                        printf("  meminfo %-16s %+10" PRId64 " kB\n", key_names[k], (int64_t) (y - x));
        }
        slabdiff_done(&d);
}

static void print_summary(struct replay *rp) {
        char a[32], b[32], flags[64];
        uint64_t last = rp->engine ? engine_last_usec(rp->engine) : 0;
        const struct verdict *v = rp->engine ? engine_verdict(rp->engine) : NULL;
        double spacing = rp->n_fed > 1 ? (double) (last - rp->first_usec) / 1e6 / (double) (rp->n_fed - 1) : 0;
        if (rp->json) {
                json_object *o = json_object_new_object();
                json_object_object_add(o, "event", json_object_new_string("summary"));
                json_object_object_add(o, "samples", json_object_new_int64((int64_t) rp->n_fed));
                json_object_object_add(o, "first", json_object_new_double((double) rp->first_usec / 1e6));
                json_object_object_add(o, "last", json_object_new_double((double) last / 1e6));
                json_object_object_add(o, "interval_sec", json_object_new_double(spacing));
                json_object_object_add(o, "trips", json_object_new_int64((int64_t) rp->n_events[ENGINE_EVENT_TRIP]));
                json_object_object_add(o, "retrips", json_object_new_int64((int64_t) rp->n_events[ENGINE_EVENT_RETRIP]));
                json_object_object_add(o, "cleared", json_object_new_int64((int64_t) rp->n_events[ENGINE_EVENT_CLEARED]));
                bool few = rp->n_fed < REPLAY_TREND_SAMPLES_MIN;
                json_object_object_add(o, "too_few_samples", json_object_new_boolean(few));
                if (v) {
                        json_object_object_add(o, "verdict", json_object_new_string(verdict_flags_string(v->flags, flags, sizeof flags)));
                        json_object_object_add(o, "verdict_text", json_object_new_string(v->text));
                }
                puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
                json_object_put(o);
                if (few && rp->n_fed > 1)
                        print_growth_so_far(rp, last);
                return;
        }
        printf("%" PRIu64 " samples, %s to %s UTC, every %.3gs: %" PRIu64 " trips, %" PRIu64 " re-alerts, %" PRIu64
               " cleared\n",
               rp->n_fed, utc(rp->first_usec, a, sizeof a), utc(last, b, sizeof b),
               spacing, rp->n_events[ENGINE_EVENT_TRIP],
               rp->n_events[ENGINE_EVENT_RETRIP], rp->n_events[ENGINE_EVENT_CLEARED]);
        if (rp->n_fed < REPLAY_TREND_SAMPLES_MIN) {
                if (rp->n_fed > 1)
                        print_growth_so_far(rp, last);
                if (v)
                        printf("verdict at the end: not decided, too few samples (the detector alone says: %s)\n",
                               v->text);
        } else if (v)
                printf("verdict at the end: %s\n", v->text);
}

/* Score the trips against the labels; returns how many things went wrong
 * (labelled leaks that did not trip, trips after their deadline, false trips). */
static size_t print_score(const struct replay *rp) {
        const struct labels *l = rp->labels;
        struct labels_score s;
        labels_score(l, rp->trips, rp->n_trips, &s);
        size_t wrong = (s.must - s.tripped) + s.late + s.n_false;
        if (rp->json) {
                json_object *o = json_object_new_object();
                json_object_object_add(o, "event", json_object_new_string("score"));
                json_object_object_add(o, "recording", json_object_new_string(l->name));
                json_object_object_add(o, "leaks", json_object_new_int64((int64_t) s.must));
                json_object_object_add(o, "tripped", json_object_new_int64((int64_t) s.tripped));
                json_object_object_add(o, "late", json_object_new_int64((int64_t) s.late));
                json_object_object_add(o, "false_trips", json_object_new_int64((int64_t) s.n_false));
                json_object_object_add(o, "allowed_trips", json_object_new_int64((int64_t) s.n_allowed));
                puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
                json_object_put(o);
                return wrong;
        }
        printf("score against %s: %zu of %zu leaking caches tripped (%zu late), %zu false trips, %zu allowed\n",
               l->name[0] ? l->name : "the labels", s.tripped, s.must, s.late, s.n_false, s.n_allowed);
        for (size_t i = 0; i < l->n_leaks; i++)
                for (size_t c = 0; c < l->leaks[i].n_caches; c++) {
                        double lat = s.latency_sec[i][c];
                        if (lat < 0)
                                printf("  leak of %s (%.2g/s): not tripped\n", l->leaks[i].caches[c], l->leaks[i].rate_per_sec);
                        else
                                printf("  leak of %s (%.2g/s): tripped %.1f min after it began\n", l->leaks[i].caches[c],
                                       l->leaks[i].rate_per_sec, lat / 60);
                }
        for (size_t i = 0; i < s.n_false && i < LABELS_TRIPS_MAX; i++)
                printf("  false trip: %s, %.1f min into the log\n", s.false_trips[i].cache,
                       (s.false_trips[i].t - l->start) / 60);
        return wrong;
}

/* Read the labels file at @path into rp->labels; 0 or an exit code. */
static int load_labels(struct replay *rp, const char *path) {
        char *buf = NULL;
        size_t len = 0;
        unsigned line = 0;
        int r = input_read_all(path, LABELS_FILE_MAX, &buf, &len);
        rp->labels = calloc(1, sizeof *rp->labels);
        rp->trips = calloc(LABELS_TRIPS_MAX, sizeof *rp->trips);
        if (r >= 0 && (!rp->labels || !rp->trips))
                r = -ENOMEM;
        if (r >= 0)
                r = labels_parse(buf, len, rp->labels, &line);
        free(buf);
        if (r < 0) {
                if (line > 0)
                        fprintf(stderr, "replay: %s:%u: not a labels line (%s)\n", path, line, strerror(-r));
                else
                        fprintf(stderr, "replay: %s: %s\n", path, strerror(-r));
                return 1;
        }
        return 0;
}

int replay_main(int argc, char **argv) {
        static const struct option options[] = {
                { "config", required_argument, NULL, 'c' },
                { "json", no_argument, NULL, 'j' },
                { "labels", required_argument, NULL, 'l' },
                { "help", no_argument, NULL, 'h' },
                {}
        };
        struct replay rp = {};
        const char *config_path = NULL, *labels_path = NULL;
        int c, ret;

        optind = 0; /* the dispatcher may have run getopt already */
        while ((c = getopt_long(argc, argv, "c:jl:h", options, NULL)) >= 0)
                switch (c) {
                case 'c':
                        config_path = optarg;
                        break;
                case 'l':
                        labels_path = optarg;
                        break;
                case 'j':
                        rp.json = true;
                        break;
                case 'h':
                        usage(stdout);
                        return 0;
                default:
                        usage(stderr);
                        return 2;
                }
        if (optind + 1 != argc) {
                fprintf(stderr, "replay: %s\n", optind >= argc ? "which log? (LOG, or - for stdin)" : "one log at a time");
                usage(stderr);
                return 2;
        }
        rp.path = argv[optind];

        config_defaults(&rp.config);
        if (config_path) {
                struct config_error err = {};
                int r = config_load_file(config_path, &rp.config, &err);
                if (r < 0) {
                        if (err.line > 0)
                                fprintf(stderr, "replay: %s:%u:%u: %s\n", config_path, err.line, err.column, err.message);
                        else
                                fprintf(stderr, "replay: %s: %s\n", config_path, err.message[0] ? err.message : strerror(-r));
                        return 1;
                }
        }
        if (labels_path && load_labels(&rp, labels_path) != 0) {
                free(rp.labels);
                free(rp.trips);
                return 1;
        }
        rp.page_size = rp.config.page_size ? rp.config.page_size : REPLAY_PAGE_SIZE_DEFAULT;
        rp.meminfo = calloc(1, sizeof *rp.meminfo);
        rp.first_meminfo = calloc(1, sizeof *rp.first_meminfo);
        if (!rp.meminfo || !rp.first_meminfo) {
                free(rp.meminfo);
                free(rp.first_meminfo);
                fprintf(stderr, "replay: out of memory\n");
                return 1;
        }

        int r = run(&rp);
        if (r == -ENOMEM)
                fprintf(stderr, "replay: out of memory\n");
        else if (r >= 0 && rp.n_fed == 0)
                fprintf(stderr, "replay: %s: no sample found (a sample starts with a line \"@ <epoch seconds>\")\n",
                        rp.path);
        if (rp.n_fed > 0)
                print_summary(&rp);
        ret = r >= 0 && rp.n_fed > 0 ? 0 : 1;
        if (ret == 0 && rp.labels && print_score(&rp) > 0)
                ret = REPLAY_EXIT_SCORE;
        free(rp.labels);
        free(rp.trips);

        engine_free(rp.engine);
        slabinfo_done(&rp.slabinfo);
        slabinfo_done(&rp.first_slabinfo);
        free(rp.meminfo);
        free(rp.first_meminfo);
        free(rp.first_text);
        return ret;
}
