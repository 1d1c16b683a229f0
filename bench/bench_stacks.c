/* bench_stacks — throughput of `slabwatchctl stacks`: parse and aggregate
 * more than 100 MB of mixed-format kernel stack dumps (console dump_stack,
 * x86 dmesg with timestamps, journal lines, tracefs text, SLUB TRACE
 * records, alloc_traces entries, and unrelated log lines in between; the
 * "all formats" runs add kmemleak reports, KASAN reports symbolized as
 * syzbot prints them, ARM32 unwinder lines, SLUB object reports and
 * page_owner_sort records), streamed from a temporary file in $TMPDIR
 * (default /tmp) in 64 KiB reads as the client does.
 * Prints MB/s, stacks/s and the peak RSS; never fails on a figure.
 *
 *   bench_stacks [MEGABYTES [RUN]]   (default 128, every run; RUN names one) */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "stacks/stackagg.h"
#include "stacks/stackdump.h"

#define BENCH_MB_DEFAULT 128
#define BENCH_CHUNK ((size_t) 64 << 10)
/* Functions in the made-up call graph, and frames per stack. */
#define BENCH_POOL 4096
#define BENCH_DEPTH_MIN 8
#define BENCH_DEPTH_SPAN 24

struct rng {
        uint64_t s;
};

static uint32_t rng_next(struct rng *r) {
        r->s = r->s * 6364136223846793005u + 1442695040888963407u;
        return (uint32_t) (r->s >> 33);
}

/* Stack @id's frames (innermost first) as pool indices: a fixed path per id. */
static size_t stack_frames(uint32_t id, uint32_t *ret) {
        struct rng r = { 0x9e3779b97f4a7c15u ^ id };
        size_t depth = BENCH_DEPTH_MIN + rng_next(&r) % BENCH_DEPTH_SPAN;
        for (size_t i = 0; i < depth; i++)
                ret[i] = rng_next(&r) % BENCH_POOL;
        return depth;
}

/* The formats the "all formats" runs add. */
static void emit_report(FILE *f, struct rng *r, const uint32_t *frames, size_t n, unsigned cpu, unsigned pid,
                        double t) {
        switch (rng_next(r) % 5) {
        case 0: /* kmemleak */
                fprintf(f, "unreferenced object 0xffff8881%08x (size %u):\n  comm \"app\", pid %u, jiffies %u\n"
                        "  hex dump (first 32 bytes):\n    6b 6b 6b 6b 6b 6b 6b 6b 6b 6b 6b 6b 6b 6b 6b 6b  kkkkkkkkkkkkkkkk\n"
                        "  backtrace (crc %08x):\n    kmemleak_alloc+0x45/0x80\n", rng_next(r), 64u << (pid % 4), pid,
                        rng_next(r), rng_next(r));
                for (size_t i = 0; i < n; i++)
                        fprintf(f, "    [<ffffffff81%06x>] fn_%04u+0x%x/0x%x\n", frames[i] * 64, frames[i],
                                frames[i] % 512, 512 + frames[i] % 256);
                break;
        case 1: /* KASAN, symbolized */
                fputs("BUG: KASAN: slab-use-after-free in fn_0001+0x8d/0xa0 net/x/y.c:214\n", f);
                fprintf(f, "Allocated by task %u:\n kasan_save_stack mm/kasan/common.c:47 [inline]\n"
                        " kasan_save_track+0x3f/0x80 mm/kasan/common.c:68\n", pid);
                for (size_t i = 0; i < n; i++)
                        fprintf(f, " fn_%04u%s net/x/f%u.c:%u%s\n", frames[i], i % 3 ? "+0x10/0x80" : "",
                                frames[i] % 64, frames[i], i % 3 ? "" : " [inline]");
                fputc('\n', f);
                break;
        case 2: /* ARM32 unwinder */
                fprintf(f, "[%12.6f] CPU: %u PID: %u Comm: netd Tainted: G O 5.10.110 #1\n", t, cpu, pid);
                for (size_t i = 0; i + 1 < n; i++)
                        fprintf(f, "[%12.6f] [<c0%06x>] (fn_%04u) from [<c0%06x>] (fn_%04u+0x%x/0x%x%s)\n", t,
                                frames[i] * 16, frames[i], frames[i + 1] * 16, frames[i + 1], frames[i + 1] % 512,
                                512 + frames[i + 1] % 256, frames[i + 1] % 5 ? "" : " [leaky]");
                break;
        case 3: /* SLUB object report */
                fprintf(f, "Object 0xffff8881%08x @offset=0\nAllocated in fn_%04u+0x2c/0x130 age=%u cpu=%u pid=%u\n",
                        rng_next(r), frames[0], rng_next(r) % 100000, cpu, pid);
                for (size_t i = 0; i < n; i++)
                        fprintf(f, " fn_%04u+0x%x/0x%x\n", frames[i], frames[i] % 512, 512 + frames[i] % 256);
                break;
        default: /* page_owner_sort */
                fprintf(f, "%u times, %u pages:\nPage allocated via order 0, mask 0xcc0(GFP_KERNEL), pid %u, tgid %u "
                        "(app), ts %u ns, free_ts 0 ns\n", 1 + rng_next(r) % 999, 1 + rng_next(r) % 999, pid, pid,
                        rng_next(r));
                for (size_t i = 0; i < n; i++)
                        fprintf(f, " fn_%04u+0x%x/0x%x\n", frames[i], frames[i] % 512, 512 + frames[i] % 256);
                fputc('\n', f);
                break;
        }
}

static void emit_stack(FILE *f, struct rng *r, uint32_t id, unsigned *ts, bool all_formats) {
        uint32_t frames[BENCH_DEPTH_MIN + BENCH_DEPTH_SPAN];
        size_t n = stack_frames(id, frames);
        unsigned cpu = rng_next(r) % 8, pid = 100 + rng_next(r) % 5000;
        double t = (*ts)++ * 0.000731;
        unsigned kind = rng_next(r) % (all_formats ? 11 : 6);
        if (kind >= 6) {
                emit_report(f, r, frames, n, cpu, pid, t);
                if (rng_next(r) % 3 == 0)
                        fprintf(f, "[%12.6f] usb 1-1: new high-speed USB device number %u using xhci_hcd\n", t,
                                pid % 100);
                return;
        }
        switch (kind) {
        case 0: /* 3.18 MIPS console */
                fprintf(f, "CPU: %u PID: %u Comm: worker/%u Tainted: P O 3.18.21 #9\n", cpu, pid, cpu);
                fputs("Stack : 00000000 00000004 00000006 81383900 00000000 00000000 00000000 80ffb812\n"
                      "        ...\nCall Trace:\n[<80015ad4>] show_stack+0x88/0xa4\n[<80948ee8>] dump_stack+0x6c/0x8c\n", f);
                for (size_t i = 0; i < n; i++)
                        fprintf(f, "[<8%07x>] fn_%04u+0x%x/0x%x\n", frames[i] * 64, frames[i], frames[i] % 512,
                                512 + frames[i] % 256);
                fputc('\n', f);
                break;
        case 1: /* x86 dmesg with timestamps and "?" frames */
                fprintf(f, "[%12.6f] CPU: %u UID: 0 PID: %u Comm: kworker/%u:1 Not tainted 6.18.44 #1 PREEMPT(voluntary)\n",
                        t, cpu, pid, cpu);
                fprintf(f, "[%12.6f] Call Trace:\n[%12.6f]  <TASK>\n[%12.6f]  dump_stack_lvl+0x5d/0x80\n", t, t, t);
                for (size_t i = 0; i < n; i++) {
                        if (i % 5 == 4)
                                fprintf(f, "[%12.6f]  ? stale_%u+0x10/0x20\n", t, frames[i]);
                        fprintf(f, "[%12.6f]  fn_%04u+0x%x/0x%x%s\n", t, frames[i], frames[i] % 512,
                                512 + frames[i] % 256, frames[i] % 7 ? "" : " [leaky]");
                }
                fprintf(f, "[%12.6f]  </TASK>\n", t);
                break;
        case 2: /* journal */
                fprintf(f, "Nov 24 23:41:07 testdev kernel: CPU: %u UID: 0 PID: %u Comm: app Tainted: G O 6.18.44 #1\n",
                        cpu, pid);
                fputs("Nov 24 23:41:07 testdev kernel: Call Trace:\nNov 24 23:41:07 testdev kernel:  <TASK>\n", f);
                for (size_t i = 0; i < n; i++)
                        fprintf(f, "Nov 24 23:41:07 testdev kernel:  fn_%04u+0x%x/0x%x\n", frames[i], frames[i] % 512,
                                512 + frames[i] % 256);
                fputs("Nov 24 23:41:07 testdev kernel:  </TASK>\n", f);
                break;
        case 3: /* tracefs */
                fprintf(f, "          app-%u     [%03u] .....  %.6f: kmem_cache_alloc: call_site=fn_%04u+0x1/0x2 "
                        "ptr=00000000d4d28fb4 name=inode_cache bytes_req=616 bytes_alloc=624 gfp_flags=GFP_KERNEL "
                        "node=-1 accounted=true\n", pid, cpu, t, frames[0]);
                fprintf(f, "          app-%u     [%03u] .....  %.6f: <stack trace>\n"
                        " => trace_event_raw_event_kmem_cache_alloc\n => kmem_cache_alloc_lru_noprof\n", pid, cpu, t);
                for (size_t i = 0; i < n; i++)
                        fprintf(f, " => fn_%04u\n", frames[i]);
                break;
        case 4: /* SLUB TRACE record */
                fprintf(f, "[%12.6f] TRACE kmalloc-8192 alloc 0xffff88003d2f%04x inuse=3 fp=0x          (null)\n", t,
                        rng_next(r) % 0xffff);
                fprintf(f, "[%12.6f] CPU: %u PID: %u Comm: rild Tainted: G O 4.4.180 #1\n[%12.6f] Call Trace:\n"
                        "[%12.6f]  [<ffffffff813d1e7c>] dump_stack+0x63/0x87\n", t, cpu, pid, t, t);
                for (size_t i = 0; i < n; i++)
                        fprintf(f, "[%12.6f]  [<ffffffff81%06x>] fn_%04u+0x%x/0x%x\n", t, frames[i] * 64, frames[i],
                                frames[i] % 512, 512 + frames[i] % 256);
                break;
        default: /* alloc_traces entry */
                fprintf(f, "%7u fn_%04u+0x%x/0x%x waste=3200/3200 age=1/2/3 pid=0-%u cpus=0-%u\n", 1 + rng_next(r) % 99,
                        frames[0], frames[0] % 512, 512 + frames[0] % 256, pid, cpu);
                for (size_t i = 0; i < n; i++)
                        fprintf(f, "        fn_%04u+0x%x/0x%x\n", frames[i], frames[i] % 512, 512 + frames[i] % 256);
                fputc('\n', f);
                break;
        }
        /* Other console traffic between dumps. */
        if (rng_next(r) % 3 == 0)
                fprintf(f, "[%12.6f] usb 1-1: new high-speed USB device number %u using xhci_hcd\n", t, pid % 100);
}

/* Write about @bytes of dumps drawing from @distinct stack ids to @fd. */
static int generate(int fd, uint64_t bytes, uint32_t distinct, bool all_formats, uint64_t *ret_dumps) {
        FILE *f = fdopen(fcntl(fd, F_DUPFD_CLOEXEC, 0), "w");
        if (!f)
                return -errno;
        struct rng r = { 42 };
        unsigned ts = 0;
        uint64_t dumps = 0;
        while ((uint64_t) ftello(f) < bytes) {
                emit_stack(f, &r, rng_next(&r) % distinct, &ts, all_formats);
                dumps++;
        }
        if (fclose(f) != 0)
                return -errno;
        *ret_dumps = dumps;
        return 0;
}

static double now_sec(void) {
        struct timespec t;
        clock_gettime(CLOCK_MONOTONIC, &t);
        return (double) t.tv_sec + (double) t.tv_nsec / 1e9;
}

static long peak_rss_kib(void) {
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        return ru.ru_maxrss;
}

static int on_stack(const struct stackdump_stack *s, void *userdata) {
        return stackagg_add(userdata, s, 0);
}

static int run(const char *label, uint32_t distinct, bool all_formats, uint64_t bytes) {
        const char *dir = getenv("TMPDIR");
        char path[4096];
        snprintf(path, sizeof path, "%s/slabwatch-bench-stacks.XXXXXX", dir && dir[0] ? dir : "/tmp");
        int fd = mkostemp(path, O_CLOEXEC);
        if (fd < 0) {
                fprintf(stderr, "bench_stacks: cannot create a temporary file: %s\n", strerror(errno));
                return -errno;
        }
        unlink(path);
        uint64_t dumps = 0;
        int r = generate(fd, bytes, distinct, all_formats, &dumps);
        if (r < 0) {
                fprintf(stderr, "bench_stacks: cannot write the input: %s\n", strerror(-r));
                close(fd);
                return r;
        }
        off_t size = lseek(fd, 0, SEEK_END);
        lseek(fd, 0, SEEK_SET);

        struct stackagg *a;
        struct stackdump_parser *p;
        char *buf = malloc(BENCH_CHUNK);
        if (!buf || stackagg_new(NULL, &a) < 0 || stackdump_parser_new(on_stack, NULL, a, &p) < 0) {
                fprintf(stderr, "bench_stacks: out of memory\n");
                close(fd);
                return -ENOMEM;
        }
        double t0 = now_sec();
        for (;;) {
                ssize_t n = read(fd, buf, BENCH_CHUNK);
                if (n <= 0)
                        break;
                if (stackdump_parser_feed(p, buf, (size_t) n) < 0)
                        break;
        }
        stackdump_parser_finish(p);
        const struct stackagg_entry *const *v;
        int ranked = stackagg_ranked(a, &v);
        struct stackagg_node *root;
        if (stackagg_tree(a, STACKAGG_TREE_CALLERS_FIRST, &root) == 0)
                stackagg_tree_free(root);
        double secs = now_sec() - t0;

        struct stackagg_stats st;
        stackagg_get_stats(a, &st);
        double mb = (double) size / 1e6;
        printf("%-16s %9" PRIu64 " %8.1f MB %10" PRIu64 " %9" PRIu64 " %8.1f %10.0f %7.2f %9.1f %10.1f\n", label,
               (uint64_t) distinct, mb, st.stacks, (uint64_t) (ranked > 0 ? ranked : 0), mb / secs,
               (double) st.stacks / secs, secs, (double) st.memory_bytes / 1e6, (double) peak_rss_kib() / 1024.0);
        if (st.stacks != dumps)
                printf("  note: %" PRIu64 " dumps written, %" PRIu64 " parsed\n", dumps, st.stacks);
        stackdump_parser_free(p);
        stackagg_free(a);
        free(buf);
        close(fd);
        return 0;
}

int main(int argc, char **argv) {
        unsigned long mb = BENCH_MB_DEFAULT;
        if (argc > 1) {
                char *end;
                mb = strtoul(argv[1], &end, 10);
                if (*end || mb == 0) {
                        fprintf(stderr, "usage: bench_stacks [MEGABYTES [RUN]]\n");
                        return 2;
                }
        }
        uint64_t bytes = (uint64_t) mb << 20;
        printf("bench_stacks: parse + aggregate %lu MiB of mixed-format stack dumps per run, read in %zu KiB chunks\n\n",
               mb, BENCH_CHUNK >> 10);
        printf("%-16s %9s %11s %10s %9s %8s %10s %7s %9s %10s\n", "run", "ids", "input", "stacks", "distinct", "MB/s",
               "stacks/s", "sec", "agg MB", "peakRSS MB");
        static const struct {
                const char *label;
                uint32_t distinct;
                bool all_formats;
        } runs[] = {
                { "few-distinct", 64, false },
                { "many-distinct", 200000, false },
                { "few-all-formats", 64, true },
                { "many-all-formats", 200000, true },
        };
        const char *only = argc > 2 ? argv[2] : NULL;
        for (size_t i = 0; i < sizeof runs / sizeof runs[0]; i++)
                if ((!only || strcmp(only, runs[i].label) == 0) &&
                    run(runs[i].label, runs[i].distinct, runs[i].all_formats, bytes) < 0)
                        return 1;
        return 0;
}
