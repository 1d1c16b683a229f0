/* bench_capture — what a stack capture costs and how much it can take.
 *
 * Drives one cache as hard as this machine can (leaker churners creating
 * and destroying objects at full speed), first untraced, then while the
 * tracer captures that cache with a stack on every event (the stacktrace
 * option), then with stacks on allocations only (a stacktrace trigger),
 * then untraced again, and prints: the workload's rate each way (the
 * slowdown tracing causes), the events captured per second,
 * the events lost (per-CPU overruns and drops), the reader's CPU time and
 * the pairing memory. Two cases by default: a named cache (UDP sockets,
 * kmem_cache_alloc/free filtered by name) and a kmalloc size class (eventfd
 * contexts, kmalloc filtered by size; kfree has only its pointer, so every
 * kfree but kfree(NULL) in the system is read and those of other objects
 * dropped).
 *
 * Usage: bench_capture [kind [operations [processes]]]
 *   kind: a leaker kind (udp, unix, eventfd, timerfd, pipe, msgq)
 * Needs root and tracefs; finds the leaker next to the build's tests
 * (or $LEAKER). */
#include <errno.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "capture/kchange.h"
#include "capture/tracer.h"

#define TRACEFS "/sys/kernel/tracing"
#define POLL_USEC 10000
#define OPS_DEFAULT 400000
#define PROCS_MAX 16
#define NAME_BUF 256

static char leaker[PATH_MAX];

static uint64_t now_ns(void) {
        struct timespec t;
        clock_gettime(CLOCK_MONOTONIC, &t);
        return (uint64_t) t.tv_sec * 1000000000ULL + (uint64_t) t.tv_nsec;
}

static uint64_t cpu_ns(void) {
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        return ((uint64_t) ru.ru_utime.tv_sec + (uint64_t) ru.ru_stime.tv_sec) * 1000000000ULL +
               ((uint64_t) ru.ru_utime.tv_usec + (uint64_t) ru.ru_stime.tv_usec) * 1000ULL;
}

static int find_leaker(void) {
        const char *env = getenv("LEAKER");
        if (env && *env) {
                snprintf(leaker, sizeof leaker, "%s", env);
                return access(leaker, X_OK);
        }
        char self[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
        if (n < 0)
                return -1;
        self[n] = '\0';
        snprintf(leaker, sizeof leaker, "%s/../tests/progs/leaker", dirname(self));
        return access(leaker, X_OK);
}

static int cache_of(const char *kind, char *buf, size_t size) {
        char cmd[PATH_MAX + 64];
        snprintf(cmd, sizeof cmd, "'%s' --kind %s --print-cache", leaker, kind);
        FILE *f = popen(cmd, "re");
        if (!f)
                return -errno;
        bool ok = fgets(buf, (int) size, f) != NULL;
        int status = pclose(f);
        if (!ok || status != 0)
                return -EIO;
        buf[strcspn(buf, "\n")] = '\0';
        return 0;
}

static pid_t spawn_churn(const char *kind, bool alt, uint64_t ops) {
        char count[32];
        snprintf(count, sizeof count, "%" PRIu64, ops);
        pid_t pid = fork();
        if (pid == 0) {
                freopen("/dev/null", "we", stderr);
                if (alt)
                        execl(leaker, leaker, "--kind", kind, "--mode", "churn", "--alt", "--count", count,
                              (char *) NULL);
                else
                        execl(leaker, leaker, "--kind", kind, "--mode", "churn", "--count", count, (char *) NULL);
                _exit(127);
        }
        return pid;
}

/* Run @procs churners of @ops operations each; while they run, poll @t
 * (if any) every POLL_USEC. Returns the wall time in ns. */
static uint64_t run_workload(const char *kind, uint64_t ops, unsigned procs, struct tracer *t) {
        pid_t pids[PROCS_MAX];
        /* --alt where the kind has it: the same path the tests churn on. */
        bool alt = strcmp(kind, "timerfd") != 0 && strcmp(kind, "msgq") != 0;
        uint64_t start = now_ns();
        for (unsigned i = 0; i < procs; i++)
                pids[i] = spawn_churn(kind, alt, ops);
        unsigned running = procs;
        while (running > 0) {
                if (t) {
                        usleep(POLL_USEC);
                        (void) tracer_poll(t);
                }
                for (unsigned i = 0; i < procs; i++) {
                        if (pids[i] <= 0)
                                continue;
                        pid_t r = waitpid(pids[i], NULL, t ? WNOHANG : 0);
                        if (r == pids[i] || r < 0) {
                                pids[i] = 0;
                                running--;
                        }
                }
        }
        return now_ns() - start;
}

/* One traced run with stacks taken as @stacks says; the slowdown against
 * @off_rate, the untraced run's. */
static void bench_traced(const char *kind, const char *cache, uint64_t ops, unsigned procs, enum tracer_stacks stacks,
                         double off_rate) {
        struct tracer *t = NULL;
        struct tracer_options o = { .tracefs_dir = TRACEFS, .cache_name = cache, .stacks = stacks };
        uint64_t setup0 = now_ns();
        int r = tracer_start(&o, &t);
        uint64_t setup1 = now_ns();
        if (r < 0) {
                printf("tracer_start (%s): %s\n", tracer_stacks_name(stacks), strerror(-r));
                return;
        }
        printf("-- stacks on %s\n", tracer_stacks_name(stacks));
        printf("filters:      %s (setup %.0f ms)\n", tracer_describe(t), (double) (setup1 - setup0) / 1e6);
        uint64_t cpu0 = cpu_ns();
        uint64_t on_ns = run_workload(kind, ops, procs, t);
        uint64_t cpu1 = cpu_ns();
        struct pairing_result *res = NULL;
        uint64_t stop0 = now_ns();
        r = tracer_stop(t, &res);
        uint64_t stop1 = now_ns();
        struct tracer_stats st;
        tracer_get_stats(t, &st);
        tracer_free(t);
        if (!res) {
                printf("tracer_stop: %s\n", strerror(-r));
                return;
        }
        double on_rate = (double) ops * procs / ((double) on_ns / 1e9);
        double secs = (double) on_ns / 1e9;
        printf("tracing on:   %.0f ops/s (%.2f s): the workload runs %.2fx slower\n", on_rate, secs,
               off_rate / on_rate);
        printf("captured:     %" PRIu64 " events (%" PRIu64 " allocs, %" PRIu64 " frees, %" PRIu64
               " of NULL), %" PRIu64 " stacks, %.0f events/s; %.0f records/s, %.1f MB/s read\n",
               st.events + st.null_ptr, st.allocs, st.frees, st.null_ptr, st.stacks,
               (double) (st.events + st.null_ptr) / secs, (double) st.records / secs, (double) st.bytes / secs / 1e6);
        printf("lost:         %" PRIu64 " events (per-CPU overrun + dropped%s), %" PRIu64 " pages flagged,"
               " %" PRIu64 " stacks missing\n",
               st.lost_events, st.lost_known ? "" : ", counters unreadable", st.missed_pages, st.stacks_missing);
        printf("reader:       %.1f%% of one CPU while capturing; stop + resolve %.0f ms\n",
               100.0 * (double) (cpu1 - cpu0) / (double) on_ns, (double) (stop1 - stop0) / 1e6);
        printf("pairing:      %zu stacks, %" PRIu64 " matched frees, %" PRIu64 " frees of other objects dropped,"
               " %" PRIu64 " unmatched, peak %.1f MiB\n",
               res->n_stacks, res->matched_frees, res->foreign_frees, res->unmatched_frees,
               (double) res->memory_peak_bytes / 1048576.0);
        if (res->n_stacks > 0)
                printf("top stack:    %" PRIu64 " allocs, %" PRIu64 " outstanding, %s\n", res->stacks[0].allocs,
                       res->stacks[0].outstanding, res->stacks[0].n_frames > 3 ? res->stacks[0].frames[3] : "");
        pairing_result_free(res);
}

/* Untraced, with a stack on every event (the stacktrace option, as before
 * event triggers were used), with stacks on allocations only, untraced
 * again (the spread of the two untraced runs is the noise). */
static void bench(const char *kind, uint64_t ops, unsigned procs) {
        char cache[NAME_BUF];
        if (cache_of(kind, cache, sizeof cache) < 0) {
                printf("%s: cannot find its cache (leaker --print-cache failed)\n", kind);
                return;
        }
        printf("== %s objects -> cache %s, %u churner(s) x %" PRIu64 " operations\n", kind, cache, procs, ops);

        uint64_t off_ns = run_workload(kind, ops, procs, NULL);
        double off_rate = (double) ops * procs / ((double) off_ns / 1e9);
        printf("tracing off:  %.0f ops/s (%.2f s)\n", off_rate, (double) off_ns / 1e9);
        bench_traced(kind, cache, ops, procs, TRACER_STACKS_ALL, off_rate);
        bench_traced(kind, cache, ops, procs, TRACER_STACKS_ALLOCS, off_rate);
        off_ns = run_workload(kind, ops, procs, NULL);
        printf("tracing off:  %.0f ops/s (%.2f s), again\n", (double) ops * procs / ((double) off_ns / 1e9),
               (double) off_ns / 1e9);
}

int main(int argc, char **argv) {
        if (geteuid() != 0) {
                printf("bench_capture needs root (tracefs)\n");
                return 0;
        }
        if (find_leaker() < 0) {
                printf("leaker not found (%s); build it or set LEAKER\n", leaker);
                return 0;
        }
        /* Mounted (and unmounted again) through the one module that changes
         * the kernel; its marker goes to a directory of our own. */
        char state[] = "/tmp/bench_capture.XXXXXX";
        struct kchange *kernel = NULL;
        if (!mkdtemp(state) || kchange_new(state, &kernel) < 0 ||
            kchange_apply(kernel, KCHANGE_MOUNT_TRACEFS, TRACEFS, NULL) < 0) {
                printf("tracefs not available at %s\n", TRACEFS);
                kchange_free(kernel);
                (void) rmdir(state);
                return 0;
        }
        uint64_t ops = argc > 2 ? strtoull(argv[2], NULL, 10) : OPS_DEFAULT;
        unsigned procs = argc > 3 ? (unsigned) strtoul(argv[3], NULL, 10) : 1;
        if (procs == 0 || procs > PROCS_MAX)
                procs = 1;
        if (argc > 1)
                bench(argv[1], ops, procs);
        else {
                bench("udp", ops, procs);
                bench("eventfd", ops, procs);
        }
        kchange_free(kernel);
        (void) rmdir(state);
        return 0;
}
