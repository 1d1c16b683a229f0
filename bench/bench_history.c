/* bench_history — memory and per-sample cost of the history and the engine.
 *
 *   bench_history [FIXTURES_DIR]
 *
 * 1. 30 days of samples every 10 s (the default tiers) for 500 caches and
 *    the meminfo keys, through the engine: RSS afterwards (target ≤ 16 MiB)
 *    and the cost of one sample (history + detection).
 * 2. The recorded dataset (if xz(1) is there): parse + history + detection
 *    per sample on real data, at 2 s and at 10 s.
 * Prints figures; never fails on them. */
#include <errno.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "caches/engine.h"
#include "caches/slablog.h"

#define SEC UINT64_C(1000000)
#define T0 (UINT64_C(1795557600) * SEC)
#define CACHES 500
#define DAYS 30
#define INTERVAL_USEC (10 * SEC)
/* Caches whose count moves in one sample: over a 5-minute window a quarter
 * of them move, as on the recorded busy machine. */
#define MOVING_PER_SAMPLE 5
#define PAGE 4096u
#define PATH_BUF 8400

static double now_sec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/* VmRSS or VmHWM of this process in KiB. */
static long status_kib(const char *key) {
        FILE *f = fopen("/proc/self/status", "re");
        char line[256];
        long v = -1;
        size_t klen = strlen(key);
        if (!f)
                return -1;
        while (fgets(line, sizeof line, f))
                if (strncmp(line, key, klen) == 0 && line[klen] == ':')
                        v = strtol(line + klen + 1, NULL, 10);
        fclose(f);
        return v;
}

static char *read_file(const char *path, size_t *ret_len) {
        FILE *f = fopen(path, "re");
        if (!f)
                return NULL;
        size_t cap = 1 << 16, len = 0;
        char *buf = malloc(cap);
        size_t n;
        while (buf && (n = fread(buf + len, 1, cap - len, f)) > 0) {
                len += n;
                if (len == cap) {
                        char *b = realloc(buf, cap *= 2);
                        if (!b) {
                                free(buf);
                                buf = NULL;
                        }
                        buf = b;
                }
        }
        fclose(f);
        *ret_len = len;
        return buf;
}

static uint64_t rng = 88172645463325252u;

static uint64_t next_random(void) {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        return rng;
}

static int bench_30_days(const char *fixtures) {
        char path[PATH_BUF];
        size_t len;
        snprintf(path, sizeof path, "%.4000s/linux-6.18-x86_64/slabinfo", fixtures);
        char *text = read_file(path, &len);
        if (!text) {
                fprintf(stderr, "bench_history: cannot read %s\n", path);
                return -ENOENT;
        }
        struct slabinfo real = {};
        int r = slabinfo_parse(text, len, &real);
        free(text);
        snprintf(path, sizeof path, "%.4000s/linux-6.18-x86_64/meminfo", fixtures);
        text = read_file(path, &len);
        static struct meminfo mi;
        if (r < 0 || real.n_caches == 0 || !text || meminfo_parse(text, len, &mi) < 0) {
                fprintf(stderr, "bench_history: bad fixtures under %s\n", fixtures);
                free(text);
                slabinfo_done(&real);
                return -EINVAL;
        }
        free(text);

        /* 500 caches: the real ones, then copies with the same sizes. */
        struct slabinfo si = { .version_major = 2, .version_minor = 1, .n_caches = CACHES };
        si.caches = calloc(CACHES, sizeof *si.caches);
        if (!si.caches)
                return -ENOMEM;
        for (size_t i = 0; i < CACHES; i++) {
                si.caches[i] = real.caches[i % real.n_caches];
                if (i >= real.n_caches)
                        snprintf(si.caches[i].name, sizeof si.caches[i].name, "%.80s-%zu",
                                 real.caches[i % real.n_caches].name, i / real.n_caches);
        }
        slabinfo_done(&real);

        struct config c;
        config_defaults(&c);
        c.interval_usec = INTERVAL_USEC;
        struct engine *e;
        r = engine_new(&c, &e);
        if (r < 0) {
                free(si.caches);
                return r;
        }
        long rss_before = status_kib("VmRSS");
        uint64_t samples = DAYS * 24 * 3600 * SEC / INTERVAL_USEC;
        double start = now_sec();
        for (uint64_t s = 0; s < samples; s++) {
                for (int k = 0; k < MOVING_PER_SAMPLE; k++) {
                        struct slabinfo_cache *x = &si.caches[next_random() % CACHES];
                        uint64_t step = x->objperslab ? x->objperslab : 1;
                        if (next_random() % 2 || x->active_objs < step)
                                x->active_objs += step;
                        else
                                x->active_objs -= step;
                        x->num_slabs = x->active_slabs = (x->active_objs + step - 1) / step;
                }
                r = engine_feed(e, T0 + s * INTERVAL_USEC, &si, &mi, PAGE, NULL, NULL, NULL);
                if (r < 0)
                        break;
        }
        double elapsed = now_sec() - start;
        long rss = status_kib("VmRSS"), hwm = status_kib("VmHWM");
        const struct history *h = engine_history(e);
        printf("history: %d days at %.0fs, %d caches + %zu other series, default tiers\n", DAYS,
               (double) INTERVAL_USEC / 1e6, CACHES, history_n_series(h) - CACHES);
        printf("  history heap          %8.2f MiB\n", (double) history_memory_bytes(h) / (1 << 20));
        printf("  RSS after             %8.2f MiB  (before the samples %.2f MiB, peak %.2f MiB; target <= 16 MiB)\n",
               (double) rss / 1024, (double) rss_before / 1024, (double) hwm / 1024);
        printf("  per sample            %8.2f us  (history + detection, %d caches moving, %" PRIu64 " samples)\n",
               elapsed / (double) samples * 1e6, MOVING_PER_SAMPLE, samples);
        engine_free(e);
        free(si.caches);
        return r < 0 ? r : 0;
}

struct replay {
        struct engine *engine;
        struct meminfo mi;
        struct slabinfo si;
        unsigned every;
        unsigned long seen, fed;
        double parse_sec, engine_sec;
};

static int on_sample(const struct slablog_sample *s, void *userdata) {
        struct replay *r = userdata;
        if (r->seen++ % r->every || !s->meminfo || !s->slabinfo)
                return 0;
        double a = now_sec();
        if (meminfo_parse(s->meminfo, s->meminfo_len, &r->mi) < 0 ||
            slabinfo_parse(s->slabinfo, s->slabinfo_len, &r->si) < 0)
                return -EINVAL;
        double b = now_sec();
        int q = engine_feed(r->engine, s->t_usec, &r->si, &r->mi, PAGE, NULL, NULL, NULL);
        double d = now_sec();
        if (q < 0)
                return q;
        /* The first half window fits nothing: time the steady state. */
        if (r->fed++ >= 60) {
                r->parse_sec += b - a;
                r->engine_sec += d - b;
        }
        return 0;
}

static int bench_dataset(const char *fixtures, unsigned every) {
        char cmd[PATH_BUF];
        snprintf(cmd, sizeof cmd, "xz -dc '%.4000s/recordings/dev-30m.log.xz' 2>/dev/null", fixtures);
        FILE *in = popen(cmd, "r");
        if (!in)
                return -errno;
        static struct replay r;
        slabinfo_done(&r.si);
        memset(&r, 0, sizeof r);
        r.every = every;
        struct config c;
        config_defaults(&c);
        c.interval_usec = every * 2 * SEC;
        struct slablog *log = NULL;
        int q = engine_new(&c, &r.engine);
        if (q >= 0)
                q = slablog_new(0, on_sample, NULL, &r, &log);
        static char buf[1 << 16];
        size_t n;
        while (q >= 0 && (n = fread(buf, 1, sizeof buf, in)) > 0)
                q = slablog_feed(log, buf, n);
        if (q >= 0)
                q = slablog_finish(log);
        int status = pclose(in);
        slablog_free(log);
        engine_free(r.engine);
        slabinfo_done(&r.si);
        if (q < 0 || status != 0 || r.fed <= 60) {
                printf("dataset: not run (xz(1) missing or the recording unreadable)\n");
                return 0;
        }
        unsigned long timed = r.fed - 60;
        double parse = r.parse_sec / (double) timed * 1e6, engine = r.engine_sec / (double) timed * 1e6;
        printf("dataset dev-30m every %us, %u caches, %lu samples timed:\n", every * 2, 235u, timed);
        printf("  parse                 %8.2f us/sample\n", parse);
        printf("  history + detection   %8.2f us/sample\n", engine);
        printf("  ours in all           %8.2f us/sample  (%.1f %% of a ~180 us kernel read; target <= 10 %%)\n",
               parse + engine, (parse + engine) / 180 * 100);
        return 0;
}

int main(int argc, char **argv) {
        char src[4096], dir[PATH_BUF];
        const char *fixtures = argc > 1 ? argv[1] : NULL;
        if (!fixtures) {
                snprintf(src, sizeof src, "%s", __FILE__);
                snprintf(dir, sizeof dir, "%s/../tests/fixtures", dirname(src));
                fixtures = dir;
        }
        /* Real data first, while the heap is fresh. */
        bench_dataset(fixtures, 1);
        bench_dataset(fixtures, 5);
        return bench_30_days(fixtures) < 0 ? 1 : 0;
}
