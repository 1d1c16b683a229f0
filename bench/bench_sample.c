/* bench_sample — what one sample costs, against what the kernel charges for
 * producing /proc/slabinfo.
 *
 * Prints, in one run:
 *   - kernel read time of /proc/slabinfo and /proc/meminfo (median),
 *   - our parse + history + detection time per sample (median),
 *   - their ratio (target: ours <= 10 % of the kernel read),
 *   - with --daemon SECONDS (default 60, 0 = skip): slabwatchd's CPU per
 *     sample over a run at 1 s on the real /proc.
 * Usage: bench_sample [--samples N] [--daemon SECONDS] [--slabwatchd PATH] [--proc DIR] */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/config.h"
#include "caches/engine.h"
#include "memory/meminfo.h"
#include "core/readfile.h"
#include "caches/slabinfo.h"

static uint64_t mono_nsec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
        return x < y ? -1 : x > y;
}

static double median_usec(uint64_t *ns, size_t n) {
        qsort(ns, n, sizeof *ns, cmp_u64);
        return (double) ns[n / 2] / 1000.0;
}

/* CPU seconds @pid has run, from /proc/PID/schedstat (nanoseconds; the
 * utime/stime of /proc/PID/stat count whole clock ticks, too coarse here). */
static double cpu_seconds(pid_t pid) {
        char path[64], buf[256];
        unsigned long long ns;
        snprintf(path, sizeof path, "/proc/%d/schedstat", (int) pid);
        if (readfile_small(path, buf, sizeof buf) < 0 || sscanf(buf, "%llu", &ns) != 1)
                return -1;
        return (double) ns / 1e9;
}

static void bench_daemon(const char *slabwatchd, unsigned seconds) {
        char dir[] = "/tmp/slabwatch-bench.XXXXXX", cfg_path[128], cmd[512];
        if (!mkdtemp(dir)) {
                perror("mkdtemp");
                return;
        }
        snprintf(cfg_path, sizeof cfg_path, "%s/slabwatch.yaml", dir);
        FILE *f = fopen(cfg_path, "we");
        if (!f)
                return;
        fprintf(f, "interval: 1s\npaths: {state_dir: %s/state}\nalert: {journal: false}\n"
                   "capture: {enabled: false}\nserver: {socket: %s/sock}\n", dir, dir);
        fclose(f);

        pid_t pid = fork();
        if (pid == 0) {
                freopen("/dev/null", "w", stderr);
                execl(slabwatchd, slabwatchd, "-c", cfg_path, (char *) NULL);
                _exit(127);
        }
        if (pid < 0)
                return;
        sleep(2); /* past start-up: count steady-state ticks only */
        double c0 = cpu_seconds(pid);
        sleep(seconds);
        double c1 = cpu_seconds(pid);
        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        if (system(cmd) != 0)
                fprintf(stderr, "could not remove %s\n", dir);
        if (c0 < 0 || c1 < 0) {
                printf("daemon CPU per sample:         (slabwatchd exited early)\n");
                return;
        }
        printf("daemon CPU over %u s at 1 s:    %.4f s, %.1f us per sample (incl. the kernel read)\n",
               seconds, c1 - c0, (c1 - c0) * 1e6 / seconds);
}

int main(int argc, char **argv) {
        unsigned samples = 300, daemon_seconds = 60;
        const char *slabwatchd = "daemon/slabwatchd", *proc = "/proc";
        for (int i = 1; i < argc; i++) {
                if (strcmp(argv[i], "--samples") == 0 && i + 1 < argc)
                        samples = (unsigned) strtoul(argv[++i], NULL, 10);
                else if (strcmp(argv[i], "--daemon") == 0 && i + 1 < argc)
                        daemon_seconds = (unsigned) strtoul(argv[++i], NULL, 10);
                else if (strcmp(argv[i], "--slabwatchd") == 0 && i + 1 < argc)
                        slabwatchd = argv[++i];
                else if (strcmp(argv[i], "--proc") == 0 && i + 1 < argc)
                        proc = argv[++i];
                else {
                        fprintf(stderr, "usage: %s [--samples N] [--daemon SECONDS] [--slabwatchd PATH] [--proc DIR]\n",
                                argv[0]);
                        return 2;
                }
        }
        if (samples < 10)
                samples = 10;

        char si_path[4096], mi_path[4096];
        readfile_path(si_path, sizeof si_path, proc, "slabinfo");
        readfile_path(mi_path, sizeof mi_path, proc, "meminfo");
        struct readfile_buf si_buf = {}, mi_buf = {};
        int r = readfile_read(&si_buf, si_path);
        if (r < 0) {
                fprintf(stderr, "cannot read %s: %s (run as root, or --proc DIR)\n", si_path, strerror(-r));
                return 1;
        }

        uint64_t *read_ns = calloc(samples, sizeof *read_ns), *work_ns = calloc(samples, sizeof *work_ns);
        uint64_t *parse_ns = calloc(samples, sizeof *parse_ns);
        struct config *cfg = malloc(sizeof *cfg);
        struct meminfo *mi = malloc(sizeof *mi);
        struct slabinfo si = {};
        struct engine *e = NULL;
        if (!read_ns || !work_ns || !cfg || !mi)
                return 1;
        config_defaults(cfg);
        cfg->interval_usec = 1000000;
        if ((r = engine_new(cfg, &e)) < 0) {
                fprintf(stderr, "engine_new: %s\n", strerror(-r));
                return 1;
        }

        uint64_t t_usec = 1700000000ull * 1000000u;
        for (unsigned i = 0; i < samples; i++) {
                uint64_t a = mono_nsec();
                readfile_read(&mi_buf, mi_path);
                readfile_read(&si_buf, si_path);
                uint64_t b = mono_nsec();
                meminfo_parse(mi_buf.data, mi_buf.len, mi);
                slabinfo_parse(si_buf.data, si_buf.len, &si);
                uint64_t p = mono_nsec();
                engine_feed(e, t_usec, &si, mi, 4096, NULL, NULL, NULL);
                uint64_t c = mono_nsec();
                parse_ns[i] = p - b;
                read_ns[i] = b - a;
                work_ns[i] = c - b;
                t_usec += 1000000; /* as if sampled every second */
        }
        double read_us = median_usec(read_ns, samples), work_us = median_usec(work_ns, samples);
        double parse_us = median_usec(parse_ns, samples);
        printf("slabinfo: %zu caches, %zu bytes; %u samples\n", si.n_caches, si_buf.len, samples);
        printf("kernel read (meminfo+slabinfo): %.1f us median\n", read_us);
        printf("our parse+history+detection:    %.1f us median\n", work_us);
        printf("  of which parsing:             %.1f us median\n", parse_us);
        printf("ratio ours/kernel:              %.1f %% (target <= 10 %%)\n", 100.0 * work_us / read_us);

        engine_free(e);
        slabinfo_done(&si);
        readfile_done(&si_buf);
        readfile_done(&mi_buf);
        free(read_ns);
        free(work_ns);
        free(parse_ns);
        free(cfg);
        free(mi);

        if (daemon_seconds > 0) {
                if (access(slabwatchd, X_OK) == 0)
                        bench_daemon(slabwatchd, daemon_seconds);
                else
                        printf("daemon CPU per sample:         skipped (%s not found; --slabwatchd PATH)\n",
                               slabwatchd);
        }
        return 0;
}
