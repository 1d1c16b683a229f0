/* bench_pairing — aggregation + pairing throughput on a recorded stream.
 *
 * The stream is recorded into memory first (so producing it is not timed),
 * shaped like a real capture: kmem events with 10-24 frame kernel stacks,
 * a churn that frees what it allocates, a leak that does not, frees that
 * predate the capture, and per-CPU delivery (each poll drains one CPU's
 * buffer after the other, so CPUs arrive out of order). The timed part is
 * what a capture does per event: intern the stack, push the event, release
 * after each poll round, and finish with the ranked result. Before the
 * finish, one checkpoint's snapshot (the 256 most outstanding stacks) is
 * timed on the full table.
 *
 * Usage: bench_pairing [events (default 2000000)] [cpus (default 2)] */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "stacks/pairing.h"

#define STACKS 400
#define FRAMES_MIN 10
#define FRAMES_MAX_BENCH 24
#define LIVE_PTRS 200000
/* Simulated kernel rate and poll period: 270k events/s, 10 ms polls. */
#define RATE_PER_S 270000
#define POLL_NS 10000000ULL

struct rec {
        uint64_t ts;
        uint64_t ptr;
        uint32_t cpu;
        uint32_t stack;
        int32_t pid;
        uint8_t kind;
};

static uint64_t now_ns(void) {
        struct timespec t;
        clock_gettime(CLOCK_MONOTONIC, &t);
        return (uint64_t) t.tv_sec * 1000000000ULL + (uint64_t) t.tv_nsec;
}

static long rss_kib(void) {
        FILE *f = fopen("/proc/self/status", "re");
        char line[256];
        long v = -1;
        if (!f)
                return -1;
        while (fgets(line, sizeof line, f))
                if (sscanf(line, "VmHWM: %ld", &v) == 1)
                        break;
        fclose(f);
        return v;
}

static uint64_t xorshift(uint64_t *s) {
        uint64_t x = *s;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        return *s = x;
}

int main(int argc, char **argv) {
        size_t n_events = argc > 1 ? strtoull(argv[1], NULL, 10) : 2000000;
        uint32_t n_cpus = argc > 2 ? (uint32_t) strtoul(argv[2], NULL, 10) : 2;
        if (n_events < 1000 || n_cpus == 0 || n_cpus > 1024) {
                fprintf(stderr, "usage: %s [events >= 1000] [cpus 1..1024]\n", argv[0]);
                return 2;
        }

        /* Stacks: shared syscall entry frames, distinct call paths. */
        static uint64_t frames[STACKS][FRAMES_MAX_BENCH];
        static size_t depth[STACKS];
        uint64_t seed = 88172645463325252ULL;
        for (size_t s = 0; s < STACKS; s++) {
                depth[s] = FRAMES_MIN + xorshift(&seed) % (FRAMES_MAX_BENCH - FRAMES_MIN + 1);
                for (size_t f = 0; f < depth[s]; f++)
                        frames[s][f] = f + 3 < depth[s] ? 0xffffffff81000000ULL + (xorshift(&seed) % 0x800000)
                                                        : 0xffffffff82000000ULL + f * 0x40;
        }

        struct rec *recs = calloc(n_events, sizeof *recs);
        uint64_t *live = calloc(LIVE_PTRS, sizeof *live);
        uint32_t *live_stack = calloc(LIVE_PTRS, sizeof *live_stack);
        if (!recs || !live || !live_stack)
                return 1;
        uint64_t next_ptr = 0xffff888100000000ULL;
        uint64_t ts = 1000000000ULL;
        uint64_t step = 1000000000ULL / RATE_PER_S;
        size_t n = 0;
        while (n < n_events) {
                ts += step;
                uint64_t r = xorshift(&seed);
                size_t slot = (size_t) (r % LIVE_PTRS);
                struct rec *e = &recs[n++];
                e->ts = ts;
                e->cpu = (uint32_t) ((r >> 20) % n_cpus);
                e->pid = (int32_t) (1000 + (r >> 40) % 8);
                if (live[slot] == 0) {
                        /* 1 in 50 allocs comes from one of 4 leaking stacks. */
                        e->kind = PAIRING_ALLOC;
                        e->stack = (r >> 32) % 50 == 0 ? (uint32_t) ((r >> 12) % 4)
                                                        : 4 + (uint32_t) ((r >> 12) % (STACKS / 2 - 4));
                        next_ptr += 64 * (1 + (r >> 50) % 4);
                        e->ptr = next_ptr;
                        live[slot] = next_ptr;
                        live_stack[slot] = e->stack;
                } else if (live_stack[slot] < 4 && (r >> 28) % 8 != 0) {
                        /* Leaked objects are rarely freed: touch another slot. */
                        e->kind = PAIRING_FREE;
                        e->ptr = 0xffff887000000000ULL + (r & 0xffffff) * 64; /* pre-capture object */
                        e->stack = STACKS / 2 + (uint32_t) ((r >> 8) % (STACKS / 2));
                } else {
                        e->kind = PAIRING_FREE;
                        e->ptr = live[slot];
                        e->stack = STACKS / 2 + (uint32_t) ((r >> 8) % (STACKS / 2));
                        live[slot] = 0;
                }
        }

        /* Delivery order: per poll round, CPU by CPU. */
        struct rec *order = calloc(n_events, sizeof *order);
        if (!order)
                return 1;
        size_t k = 0, start = 0;
        size_t *round_end = calloc(n_events, sizeof *round_end);
        size_t n_rounds = 0;
        if (!round_end)
                return 1;
        while (start < n_events) {
                size_t end = start;
                while (end < n_events && recs[end].ts < recs[start].ts + POLL_NS)
                        end++;
                for (uint32_t c = 0; c < n_cpus; c++)
                        for (size_t i = start; i < end; i++)
                                if (recs[i].cpu == c)
                                        order[k++] = recs[i];
                round_end[n_rounds++] = end;
                start = end;
        }

        long rss_before = rss_kib();
        uint64_t t0 = now_ns();
        struct pairing_options o = { .reorder_window_ns = PAIRING_WINDOW_NONE, .max_memory_bytes = 1ULL << 30 };
        struct pairing *p = NULL;
        if (pairing_new(&o, &p) < 0)
                return 1;
        size_t i = 0;
        for (size_t rd = 0; rd < n_rounds; rd++) {
                for (; i < round_end[rd]; i++) {
                        const struct rec *e = &order[i];
                        uint32_t id;
                        if (pairing_intern_stack(p, frames[e->stack], depth[e->stack], &id) < 0)
                                return 1;
                        struct pairing_event ev = {
                                .timestamp_ns = e->ts,
                                .ptr = e->ptr,
                                .bytes = 256,
                                .cpu = e->cpu,
                                .pid = e->pid,
                                .kind = e->kind,
                                .stack_id = id,
                        };
                        if (pairing_push(p, &ev) < 0)
                                return 1;
                }
                /* Everything up to the round's start is in. */
                pairing_release(p, order[round_end[rd] - 1].ts - POLL_NS);
        }
        uint64_t t1 = now_ns();
        uint64_t mem = pairing_memory(p);
        struct pairing_result *r = NULL;
        uint64_t ts0 = now_ns();
        if (pairing_snapshot(p, 0, NULL, NULL, 256, &r) < 0)
                return 1;
        uint64_t ts1 = now_ns();
        size_t snap_stacks = r->n_stacks;
        pairing_result_free(r);
        r = NULL;
        if (pairing_finish(p, 0, NULL, NULL, &r) < 0)
                return 1;
        uint64_t t2 = now_ns();

        double secs = (double) (t2 - t0 - (ts1 - ts0)) / 1e9;
        printf("events:              %zu (%u CPUs, %zu poll rounds)\n", n_events, n_cpus, n_rounds);
        printf("intern+push+release: %.3f s\n", (double) (t1 - t0) / 1e9);
        printf("finish (rank):       %.3f s\n", (double) (t2 - ts1) / 1e9);
        printf("checkpoint snapshot: %.1f ms (%zu stacks listed, %zu live objects)\n", (double) (ts1 - ts0) / 1e6,
               snap_stacks, (size_t) r->outstanding);
        printf("throughput:          %.2f M events/s\n", (double) n_events / secs / 1e6);
        printf("pairing memory:      %.1f MiB at end of stream, peak %.1f MiB\n", (double) mem / 1048576.0,
               (double) r->memory_peak_bytes / 1048576.0);
        printf("process RSS peak:    %ld KiB (%ld KiB before pairing, stream included)\n", rss_kib(), rss_before);
        printf("result:              %zu alloc stacks, %zu free sites, %" PRIu64 " outstanding, %" PRIu64
               " matched, %" PRIu64 " unmatched, %" PRIu64 " late\n",
               r->n_stacks, r->n_free_sites, r->outstanding, r->matched_frees, r->unmatched_frees, r->late_events);
        printf("top stack:           id %u, %" PRIu64 " allocs, %" PRIu64 " outstanding\n",
               r->n_stacks ? r->stacks[0].id : 0, r->n_stacks ? r->stacks[0].allocs : 0,
               r->n_stacks ? r->stacks[0].outstanding : 0);
        pairing_result_free(r);
        pairing_free(p);
        free(round_end);
        free(order);
        free(recs);
        free(live);
        free(live_stack);
        return 0;
}
