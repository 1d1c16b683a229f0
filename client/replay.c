/* replay — see replay.h.
 *
 * The log is streamed: read a block, decompress it if it is gzip or xz (told
 * by its magic bytes), cut it into samples with slablog, parse each sample
 * with the daemon's parsers and feed it to the engine. Memory stays bounded
 * by the largest sample and the history spans, whatever the log's length. */
#include "replay.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <inttypes.h>
#include <lzma.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include <json-c/json.h>

#include "config.h"
#include "engine.h"
#include "meminfo.h"
#include "slabinfo.h"
#include "slablog.h"
#include "verdict.h"

/* Bytes read from the file at a time, and decompressed at a time. */
#define REPLAY_CHUNK (256u << 10)
/* xz streams need the decoder's dictionary: refuse ones asking for more. */
#define REPLAY_XZ_MEMLIMIT (256u << 20)
/* Warnings about malformed parts of the log printed before going quiet. */
#define REPLAY_WARNINGS_MAX 20
/* Page size assumed for a log from an unknown machine, unless the config says. */
#define REPLAY_PAGE_SIZE_DEFAULT 4096u
/* Shortest sample spacing taken from a log (that of `interval`). */
#define REPLAY_INTERVAL_MIN_USEC (100 * UINT64_C(1000))

enum input_kind { INPUT_PLAIN, INPUT_GZIP, INPUT_XZ };

struct input {
        int fd;
        enum input_kind kind;
        unsigned char *raw;             /* compressed bytes read, not yet used */
        size_t raw_len;
        size_t raw_pos;
        bool eof;
        bool stream_end;                /* gzip: a member ended */
        z_stream z;
        lzma_stream x;
        bool z_init, x_init;
};

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
        uint64_t n_events[ENGINE_EVENT_VERDICT + 1];
        unsigned warnings;
        int error;
};

static void usage(FILE *f) {
        fprintf(f,
                "Usage: slabwatchctl replay LOG [-c CONFIG] [--json]\n"
                "\n"
                "Run a recorded slab log through the detector and print every trip,\n"
                "re-alert, clear and verdict change with its sample time. LOG is plain,\n"
                "gzip or xz ('-' reads standard input), as recorded by:\n"
                "  while sleep 10; do echo \"@ $(date +%%s)\"; cat /proc/meminfo /proc/slabinfo; done >> slab.log\n"
                "\n"
                "  -c, --config FILE  thresholds and history from FILE (default: built in)\n"
                "  -j, --json         one JSON object per line\n"
                "  -h, --help         this text\n"
                "\n"
                "The raw history tier is sized for the log's sample spacing; the page\n"
                "size comes from the config's page_size, else %u.\n",
                REPLAY_PAGE_SIZE_DEFAULT);
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

/* ---- input: plain, gzip or xz ---- */

static int input_fill(struct input *in) {
        if (in->raw_pos < in->raw_len || in->eof)
                return 0;
        ssize_t n;
        do
                n = read(in->fd, in->raw, REPLAY_CHUNK);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return -errno;
        in->raw_len = (size_t) n;
        in->raw_pos = 0;
        in->eof = n == 0;
        return 0;
}

static int input_open(struct input *in, const char *path) {
        static const unsigned char xz_magic[] = { 0xfd, '7', 'z', 'X', 'Z', 0x00 };
        *in = (struct input) { .fd = -1 };
        if (strcmp(path, "-") == 0)
                in->fd = STDIN_FILENO;
        else {
                in->fd = open(path, O_RDONLY | O_CLOEXEC);
                if (in->fd < 0)
                        return -errno;
        }
        in->raw = malloc(REPLAY_CHUNK);
        if (!in->raw)
                return -ENOMEM;
        /* Enough bytes for the magic, even from a pipe that trickles. */
        while (!in->eof && in->raw_len < sizeof xz_magic) {
                ssize_t n = read(in->fd, in->raw + in->raw_len, REPLAY_CHUNK - in->raw_len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                in->raw_len += (size_t) n;
                in->eof = n == 0;
        }
        if (in->raw_len >= 2 && in->raw[0] == 0x1f && in->raw[1] == 0x8b) {
                in->kind = INPUT_GZIP;
                /* 16 + MAX_WBITS: a gzip wrapper, not zlib's. */
                if (inflateInit2(&in->z, 16 + MAX_WBITS) != Z_OK)
                        return -ENOMEM;
                in->z_init = true;
        } else if (in->raw_len >= sizeof xz_magic && memcmp(in->raw, xz_magic, sizeof xz_magic) == 0) {
                in->kind = INPUT_XZ;
                in->x = (lzma_stream) LZMA_STREAM_INIT;
                if (lzma_stream_decoder(&in->x, REPLAY_XZ_MEMLIMIT, LZMA_CONCATENATED) != LZMA_OK)
                        return -ENOMEM;
                in->x_init = true;
        }
        if (in->raw_len == 0)
                in->eof = true;
        return 0;
}

static void input_close(struct input *in) {
        if (in->z_init)
                inflateEnd(&in->z);
        if (in->x_init)
                lzma_end(&in->x);
        if (in->fd > STDIN_FILENO)
                close(in->fd);
        free(in->raw);
}

/* Up to @size bytes of text into @out. Returns the count, 0 at the end,
 * -errno on a read error, -EBADMSG for corrupt compressed data. */
static ssize_t input_read(struct input *in, char *out, size_t size) {
        for (;;) {
                int r = input_fill(in);
                if (r < 0)
                        return r;
                size_t avail = in->raw_len - in->raw_pos;
                if (in->kind == INPUT_PLAIN) {
                        size_t n = avail < size ? avail : size;
                        memcpy(out, in->raw + in->raw_pos, n);
                        in->raw_pos += n;
                        if (n > 0 || in->eof)
                                return (ssize_t) n;
                        continue;
                }
                if (in->kind == INPUT_GZIP) {
                        if (in->eof && avail == 0)
                                return in->stream_end ? 0 : -EBADMSG; /* cut short */
                        if (in->stream_end) {
                                /* Concatenated members (appended logs): go on. */
                                if (inflateReset(&in->z) != Z_OK)
                                        return -EBADMSG;
                                in->stream_end = false;
                        }
                        in->z.next_in = in->raw + in->raw_pos;
                        in->z.avail_in = (uInt) avail;
                        in->z.next_out = (Bytef *) out;
                        in->z.avail_out = (uInt) size;
                        int zr = inflate(&in->z, Z_NO_FLUSH);
                        in->raw_pos = in->raw_len - in->z.avail_in;
                        if (zr == Z_STREAM_END)
                                in->stream_end = true;
                        else if (zr != Z_OK && zr != Z_BUF_ERROR)
                                return -EBADMSG;
                        size_t n = size - in->z.avail_out;
                        if (n > 0)
                                return (ssize_t) n;
                        if (zr == Z_BUF_ERROR && in->eof)
                                return -EBADMSG;
                        continue;
                }
                in->x.next_in = in->raw + in->raw_pos;
                in->x.avail_in = avail;
                in->x.next_out = (uint8_t *) out;
                in->x.avail_out = size;
                lzma_ret xr = lzma_code(&in->x, in->eof ? LZMA_FINISH : LZMA_RUN);
                in->raw_pos = in->raw_len - in->x.avail_in;
                size_t n = size - in->x.avail_out;
                if (xr == LZMA_STREAM_END)
                        return (ssize_t) n;
                if (xr == LZMA_MEMLIMIT_ERROR)
                        return -EFBIG;
                if (xr != LZMA_OK && xr != LZMA_BUF_ERROR)
                        return -EBADMSG;
                if (n > 0)
                        return (ssize_t) n;
                if (in->eof && xr == LZMA_BUF_ERROR)
                        return -EBADMSG;
        }
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
        if (rp->n_fed == 0)
                rp->first_usec = s->t_usec;
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
        default:
                warn(rp, "%lu: %s", line, strerror(-error));
        }
}

static int run(struct replay *rp) {
        struct input in;
        struct slablog *log = NULL;
        char *text = NULL;
        int r = input_open(&in, rp->path);
        if (r < 0) {
                fprintf(stderr, "replay: cannot open %s: %s\n", rp->path, strerror(-r));
                input_close(&in);
                return r;
        }
        text = malloc(REPLAY_CHUNK);
        r = text ? slablog_new(0, on_sample, on_log_error, rp, &log) : -ENOMEM;
        while (r >= 0) {
                ssize_t n = input_read(&in, text, REPLAY_CHUNK);
                if (n < 0) {
                        r = (int) n;
                        fprintf(stderr, "replay: %s: %s\n", rp->path,
                                r == -EBADMSG ? "corrupt or truncated compressed data" : strerror(-r));
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
        input_close(&in);
        return r;
}

static void print_summary(const struct replay *rp) {
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
                if (v) {
                        json_object_object_add(o, "verdict", json_object_new_string(verdict_flags_string(v->flags, flags, sizeof flags)));
                        json_object_object_add(o, "verdict_text", json_object_new_string(v->text));
                }
                puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
                json_object_put(o);
                return;
        }
        printf("%" PRIu64 " samples, %s to %s UTC, every %.3gs: %" PRIu64 " trips, %" PRIu64 " re-alerts, %" PRIu64
               " cleared\n",
               rp->n_fed, utc(rp->first_usec, a, sizeof a), utc(last, b, sizeof b),
               spacing, rp->n_events[ENGINE_EVENT_TRIP],
               rp->n_events[ENGINE_EVENT_RETRIP], rp->n_events[ENGINE_EVENT_CLEARED]);
        if (v)
                printf("verdict at the end: %s\n", v->text);
}

int replay_main(int argc, char **argv) {
        static const struct option options[] = {
                { "config", required_argument, NULL, 'c' },
                { "json", no_argument, NULL, 'j' },
                { "help", no_argument, NULL, 'h' },
                {}
        };
        struct replay rp = {};
        const char *config_path = NULL;
        int c, ret;

        optind = 0; /* the dispatcher may have run getopt already */
        while ((c = getopt_long(argc, argv, "+c:jh", options, NULL)) >= 0)
                switch (c) {
                case 'c':
                        config_path = optarg;
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
        rp.page_size = rp.config.page_size ? rp.config.page_size : REPLAY_PAGE_SIZE_DEFAULT;
        rp.meminfo = calloc(1, sizeof *rp.meminfo);
        if (!rp.meminfo) {
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

        engine_free(rp.engine);
        slabinfo_done(&rp.slabinfo);
        free(rp.meminfo);
        free(rp.first_text);
        return ret;
}
