#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stacks/pairing.h"

static struct pairing *new_pairing(uint64_t window_ns, bool unfiltered, uint64_t max_memory) {
        struct pairing_options o = {
                .reorder_window_ns = window_ns,
                .frees_unfiltered = unfiltered,
                .max_memory_bytes = max_memory,
        };
        struct pairing *p = NULL;
        ck_assert_int_eq(pairing_new(&o, &p), 0);
        ck_assert_ptr_nonnull(p);
        return p;
}

static uint32_t stack_of(struct pairing *p, uint64_t a, uint64_t b, uint64_t c) {
        uint64_t f[] = { a, b, c };
        uint32_t id = UINT32_MAX;
        ck_assert_int_eq(pairing_intern_stack(p, f, 3, &id), 0);
        return id;
}

static void push(struct pairing *p, enum pairing_kind kind, uint64_t ts, uint32_t cpu, uint64_t ptr, uint32_t stack,
                 int32_t pid) {
        struct pairing_event e = {
                .timestamp_ns = ts,
                .ptr = ptr,
                .bytes = 64,
                .cpu = cpu,
                .pid = pid,
                .kind = kind,
                .stack_id = stack,
        };
        ck_assert_int_eq(pairing_push(p, &e), 0);
}

static int resolve_table(uint64_t addr, char *buf, size_t size, void *userdata) {
        unsigned *calls = userdata;
        (*calls)++;
        if (addr == 0xdead)
                return -ENOENT;
        if (addr == 0x1 || addr == 0x9) {
                snprintf(buf, size, "trace_event_raw_event_kmem_cache_alloc+0x1/0x2");
                return 1;
        }
        snprintf(buf, size, "fn_%llx+0x0/0x10", (unsigned long long) addr);
        return 0;
}

static struct pairing_result *finish(struct pairing *p, uint64_t end_ns) {
        unsigned calls = 0;
        struct pairing_result *r = NULL;
        ck_assert_int_eq(pairing_finish(p, end_ns, resolve_table, &calls, &r), 0);
        ck_assert_ptr_nonnull(r);
        return r;
}

START_TEST(test_basic_ranking) {
        struct pairing *p = new_pairing(PAIRING_WINDOW_NONE, false, 0);
        uint32_t leak = stack_of(p, 0x100, 0x200, 0x300);
        uint32_t churn = stack_of(p, 0x100, 0x210, 0x310);
        uint32_t freer = stack_of(p, 0x500, 0x600, 0x700);
        ck_assert_uint_ne(leak, churn);
        ck_assert_uint_eq(stack_of(p, 0x100, 0x200, 0x300), leak);

        uint64_t ts = 1000;
        for (uint64_t i = 0; i < 10; i++)
                push(p, PAIRING_ALLOC, ts++, 0, 0xa000 + i * 64, leak, 42);
        for (uint64_t i = 0; i < 100; i++) {
                push(p, PAIRING_ALLOC, ts++, 1, 0xb000 + i * 64, churn, 43);
                push(p, PAIRING_FREE, ts++, 1, 0xb000 + i * 64, freer, 43);
        }
        struct pairing_result *r = finish(p, ts + 1000000000);
        ck_assert_uint_eq(r->n_stacks, 2);
        ck_assert_uint_eq(r->stacks[0].id, leak);
        ck_assert_uint_eq(r->stacks[0].allocs, 10);
        ck_assert_uint_eq(r->stacks[0].outstanding, 10);
        ck_assert_uint_eq(r->stacks[0].bytes_outstanding, 640);
        ck_assert_uint_eq(r->stacks[0].frees, 0);
        ck_assert_uint_eq(r->stacks[0].oldest_ts_ns, 1000);
        ck_assert(r->stacks[0].oldest_age_s > 1.0 && r->stacks[0].oldest_age_s < 1.001);
        ck_assert_uint_eq(r->stacks[0].n_pids, 1);
        ck_assert_int_eq(r->stacks[0].pids[0], 42);
        ck_assert_str_eq(r->stacks[0].frames[0], "fn_100+0x0/0x10");
        ck_assert_str_eq(r->stacks[0].frames[2], "fn_300+0x0/0x10");
        ck_assert_uint_eq(r->stacks[1].id, churn);
        ck_assert_uint_eq(r->stacks[1].allocs, 100);
        ck_assert_uint_eq(r->stacks[1].frees, 100);
        ck_assert_uint_eq(r->stacks[1].outstanding, 0);
        ck_assert(r->stacks[1].oldest_age_s == 0.0);
        ck_assert_uint_eq(r->n_free_sites, 1);
        ck_assert_uint_eq(r->free_sites[0].id, freer);
        ck_assert_uint_eq(r->free_sites[0].frees, 100);
        ck_assert_uint_eq(r->events, 210);
        ck_assert_uint_eq(r->matched_frees, 100);
        ck_assert_uint_eq(r->unmatched_frees, 0);
        ck_assert_uint_eq(r->outstanding, 10);
        ck_assert(!r->truncated);
        pairing_result_free(r);
        pairing_free(p);
}
END_TEST

START_TEST(test_unmatched_and_foreign) {
        for (int unfiltered = 0; unfiltered <= 1; unfiltered++) {
                struct pairing *p = new_pairing(0, unfiltered, 0);
                uint32_t a = stack_of(p, 1, 2, 3);
                uint32_t f = stack_of(p, 4, 5, 6);
                push(p, PAIRING_FREE, 10, 0, 0x1000, f, 1);     /* allocated before tracing */
                push(p, PAIRING_ALLOC, 20, 0, 0x2000, a, 1);
                push(p, PAIRING_FREE, 30, 0, 0x2000, f, 1);
                struct pairing_result *r = finish(p, 0);
                ck_assert_uint_eq(r->frees, 2);
                ck_assert_uint_eq(r->matched_frees, 1);
                ck_assert_uint_eq(r->unmatched_frees, unfiltered ? 0 : 1);
                ck_assert_uint_eq(r->foreign_frees, unfiltered ? 1 : 0);
                ck_assert_uint_eq(r->n_free_sites, 1);
                ck_assert_uint_eq(r->free_sites[0].frees, 1);
                ck_assert_uint_eq(r->free_sites[0].unmatched, unfiltered ? 0 : 1);
                ck_assert_uint_eq(r->end_ns, 30);
                /* The machinery frame (resolver returned 1) is dropped. */
                ck_assert_uint_eq(r->stacks[0].n_frames, 2);
                ck_assert_str_eq(r->stacks[0].frames[0], "fn_2+0x0/0x10");
                pairing_result_free(r);
                pairing_free(p);
        }
}
END_TEST

START_TEST(test_cross_cpu_order) {
        /* CPU 0 is drained first and holds the free; the alloc on CPU 1
         * happened earlier but arrives later. */
        struct pairing *p = new_pairing(PAIRING_WINDOW_NONE, false, 0);
        uint32_t a = stack_of(p, 1, 2, 3);
        uint32_t f = stack_of(p, 4, 5, 6);
        push(p, PAIRING_FREE, 200, 0, 0x1000, f, 1);
        push(p, PAIRING_ALLOC, 300, 0, 0x3000, a, 1);
        push(p, PAIRING_ALLOC, 100, 1, 0x1000, a, 2);
        push(p, PAIRING_FREE, 250, 1, 0x3000, f, 2);    /* an object from before the capture */
        ck_assert_uint_eq(pairing_release(p, 220), 2);
        struct pairing_result *r = finish(p, 400);
        ck_assert_uint_eq(r->matched_frees, 1);
        ck_assert_uint_eq(r->unmatched_frees, 1);
        ck_assert_uint_eq(r->late_events, 0);
        ck_assert_uint_eq(r->stacks[0].allocs, 2);
        ck_assert_uint_eq(r->stacks[0].outstanding, 1);
        ck_assert_uint_eq(r->stacks[0].oldest_ts_ns, 300);
        pairing_result_free(r);
        pairing_free(p);
}
END_TEST

START_TEST(test_same_cpu_late_insert) {
        /* An event whose stack record came after a nested event's is pushed
         * a little out of order on its own CPU. */
        struct pairing *p = new_pairing(PAIRING_WINDOW_NONE, false, 0);
        uint32_t a = stack_of(p, 1, 2, 3);
        push(p, PAIRING_FREE, 20, 0, 0x1000, a, 1);
        push(p, PAIRING_ALLOC, 10, 0, 0x1000, a, 1);
        struct pairing_result *r = finish(p, 0);
        ck_assert_uint_eq(r->matched_frees, 1);
        ck_assert_uint_eq(r->stacks[0].outstanding, 0);
        ck_assert_uint_eq(r->first_ts_ns, 10);
        ck_assert_uint_eq(r->last_ts_ns, 20);
        pairing_result_free(r);
        pairing_free(p);
}
END_TEST

START_TEST(test_late_and_realloc) {
        struct pairing *p = new_pairing(PAIRING_WINDOW_NONE, false, 0);
        uint32_t a = stack_of(p, 1, 2, 3);
        uint32_t b = stack_of(p, 1, 2, 4);
        push(p, PAIRING_ALLOC, 100, 0, 0x1000, a, 1);
        pairing_release(p, 500);
        push(p, PAIRING_FREE, 50, 1, 0x9000, a, 1);    /* older than the watermark */
        push(p, PAIRING_ALLOC, 600, 0, 0x1000, b, 1);  /* free of 0x1000 was missed */
        struct pairing_result *r = finish(p, 0);
        ck_assert_uint_eq(r->late_events, 1);
        ck_assert_uint_eq(r->reallocs_unfreed, 1);
        ck_assert_uint_eq(r->n_stacks, 2);
        ck_assert_uint_eq(r->stacks[0].id, b);
        ck_assert_uint_eq(r->stacks[0].outstanding, 1);
        ck_assert_uint_eq(r->stacks[1].id, a);
        ck_assert_uint_eq(r->stacks[1].outstanding, 0);
        ck_assert_uint_eq(r->outstanding, 1);
        pairing_result_free(r);
        pairing_free(p);
}
END_TEST

START_TEST(test_window) {
        struct pairing *p = new_pairing(1000, false, 0);
        uint32_t a = stack_of(p, 1, 2, 3);
        push(p, PAIRING_ALLOC, 100, 0, 0x1000, a, 1);
        push(p, PAIRING_FREE, 300, 2, 0x5000, a, 1);
        /* Nothing is 1000 ns behind the newest yet: still queued, so a free
         * from another CPU that arrives now still finds its alloc. */
        push(p, PAIRING_FREE, 150, 1, 0x1000, a, 1);
        push(p, PAIRING_ALLOC, 5000, 0, 0x3000, a, 1); /* releases the first three */
        /* Too late: the free of 0x5000 was already taken as unmatched, and
         * this alloc now looks outstanding. */
        push(p, PAIRING_ALLOC, 250, 1, 0x5000, a, 1);
        struct pairing_result *r = finish(p, 0);
        ck_assert_uint_eq(r->late_events, 1);
        ck_assert_uint_eq(r->matched_frees, 1);
        ck_assert_uint_eq(r->unmatched_frees, 1);
        ck_assert_uint_eq(r->outstanding, 2);
        pairing_result_free(r);
        pairing_free(p);
}
END_TEST

START_TEST(test_names) {
        struct pairing *p = new_pairing(0, false, 0);
        const char *s1[] = { "__alloc_skb+0x1e8/0x238", "skbmgr_alloc_skb4k+0xc8/0x124", "XXX" };
        size_t l1[] = { strlen(s1[0]), strlen(s1[1]), 0 };
        uint32_t id1, id2, id3;
        ck_assert_int_eq(pairing_intern_names(p, s1, l1, 2, &id1), 0);
        ck_assert_int_eq(pairing_intern_names(p, s1, NULL, 2, &id2), 0);
        ck_assert_uint_eq(id1, id2);
        ck_assert_int_eq(pairing_intern_names(p, s1, NULL, 1, &id3), 0);
        ck_assert_uint_ne(id1, id3);
        /* Address stacks and name stacks never collide. */
        uint64_t tok[] = { 0, 1 };
        uint32_t id4;
        ck_assert_int_eq(pairing_intern_stack(p, tok, 2, &id4), 0);
        ck_assert_uint_ne(id1, id4);

        /* A deep stack keeps its innermost frames and says it was cut. */
        const char *deep[PAIRING_FRAMES_MAX + 10];
        for (size_t i = 0; i < PAIRING_FRAMES_MAX + 10; i++)
                deep[i] = i % 2 ? "a+0x1/0x2" : "b+0x1/0x2";
        uint32_t id5;
        ck_assert_int_eq(pairing_intern_names(p, deep, NULL, PAIRING_FRAMES_MAX + 10, &id5), 0);

        push(p, PAIRING_ALLOC, 1, 0, 0x10, id1, 5);
        push(p, PAIRING_ALLOC, 2, 0, 0x20, id5, 5);
        push(p, PAIRING_ALLOC, 3, 0, 0x30, id5, 5);
        struct pairing_result *r = NULL;
        ck_assert_int_eq(pairing_finish(p, 0, NULL, NULL, &r), 0);
        ck_assert_uint_eq(r->n_stacks, 2);
        ck_assert_uint_eq(r->stacks[0].id, id5);
        ck_assert_uint_eq(r->stacks[0].n_frames, PAIRING_FRAMES_MAX);
        ck_assert(r->stacks[0].frames_cut);
        ck_assert_str_eq(r->stacks[0].frames[0], "b+0x1/0x2");
        ck_assert_uint_eq(r->stacks[1].n_frames, 2);
        ck_assert_str_eq(r->stacks[1].frames[1], "skbmgr_alloc_skb4k+0xc8/0x124");
        ck_assert(!r->stacks[1].frames_cut);
        pairing_result_free(r);
        pairing_free(p);
}
END_TEST

START_TEST(test_merge_machinery) {
        /* 0x1 and 0x9 are both machinery: the two raw stacks read the same. */
        struct pairing *p = new_pairing(0, false, 0);
        uint32_t a = stack_of(p, 0x1, 0x2, 0x3);
        uint32_t b = stack_of(p, 0x9, 0x2, 0x3);
        uint32_t f1 = stack_of(p, 0x1, 0x5, 0x6);
        uint32_t f2 = stack_of(p, 0x9, 0x5, 0x6);
        ck_assert_uint_ne(a, b);
        push(p, PAIRING_ALLOC, 10, 0, 0x100, b, 7);
        push(p, PAIRING_ALLOC, 20, 0, 0x200, a, 8);
        push(p, PAIRING_ALLOC, 30, 0, 0x300, a, 8);
        push(p, PAIRING_FREE, 40, 0, 0x300, f1, 8);
        push(p, PAIRING_FREE, 50, 0, 0x999, f2, 8);
        struct pairing_result *r = finish(p, 0);
        ck_assert_uint_eq(r->n_stacks, 1);
        ck_assert_uint_eq(r->stacks[0].id, a);
        ck_assert_uint_eq(r->stacks[0].allocs, 3);
        ck_assert_uint_eq(r->stacks[0].frees, 1);
        ck_assert_uint_eq(r->stacks[0].outstanding, 2);
        ck_assert_uint_eq(r->stacks[0].oldest_ts_ns, 10);
        ck_assert_uint_eq(r->stacks[0].n_pids, 2);
        ck_assert_uint_eq(r->stacks[0].n_frames, 2);
        ck_assert_uint_eq(r->n_free_sites, 1);
        ck_assert_uint_eq(r->free_sites[0].frees, 1);
        ck_assert_uint_eq(r->free_sites[0].unmatched, 1);
        pairing_result_free(r);
        pairing_free(p);
}
END_TEST

static unsigned resolve_count;
static int resolve_counting(uint64_t addr, char *buf, size_t size, void *userdata) {
        (void) userdata;
        resolve_count++;
        snprintf(buf, size, "f%llu", (unsigned long long) addr);
        return 0;
}

START_TEST(test_resolve_once) {
        struct pairing *p = new_pairing(0, false, 0);
        for (uint64_t i = 0; i < 50; i++) {
                uint64_t f[] = { 7, 8, 100 + i, 0 };
                uint32_t id;
                ck_assert_int_eq(pairing_intern_stack(p, f, 4, &id), 0);
                push(p, PAIRING_ALLOC, i + 1, 0, 0x1000 + i, id, 1);
        }
        struct pairing_result *r = NULL;
        resolve_count = 0;
        ck_assert_int_eq(pairing_finish(p, 0, resolve_counting, NULL, &r), 0);
        ck_assert_uint_eq(r->n_stacks, 50);
        ck_assert_uint_eq(resolve_count, 53);   /* 7, 8, 0 and 50 distinct */
        ck_assert_str_eq(r->stacks[0].frames[3], "f0");
        pairing_result_free(r);
        /* Finished: no more events. */
        struct pairing_event e = { .ptr = 1, .stack_id = 0 };
        ck_assert_int_eq(pairing_push(p, &e), -EINVAL);
        ck_assert_int_eq(pairing_finish(p, 0, NULL, NULL, &r), -EINVAL);
        pairing_free(p);
}
END_TEST

START_TEST(test_pids) {
        struct pairing *p = new_pairing(0, false, 0);
        uint32_t a = stack_of(p, 1, 2, 3);
        for (int i = 0; i < 10; i++)
                push(p, PAIRING_ALLOC, (uint64_t) i + 1, 0, 0x1000 + (uint64_t) i, a, i % 6 + 100);
        struct pairing_result *r = finish(p, 0);
        ck_assert_uint_eq(r->stacks[0].n_pids, PAIRING_PIDS_MAX);
        ck_assert(r->stacks[0].more_pids);
        ck_assert_int_eq(r->stacks[0].pids[0], 100);
        pairing_result_free(r);
        pairing_free(p);
}
END_TEST

START_TEST(test_memory_bound) {
        struct pairing *p = new_pairing(PAIRING_WINDOW_NONE, false, 256 * 1024);
        uint32_t a = stack_of(p, 1, 2, 3);
        uint64_t accepted = 0, refused = 0;
        for (uint64_t i = 0; i < 100000; i++) {
                struct pairing_event e = {
                        .timestamp_ns = i + 1, .ptr = 0x10000 + i * 64, .bytes = 64, .kind = PAIRING_ALLOC,
                        .stack_id = a,
                };
                int r = pairing_push(p, &e);
                if (r == 0)
                        accepted++;
                else {
                        ck_assert_int_eq(r, -ENOBUFS);
                        refused++;
                }
        }
        ck_assert(pairing_truncated(p));
        ck_assert(accepted > 1000);
        ck_assert(refused > 0);
        ck_assert(pairing_memory(p) <= 256 * 1024);
        uint32_t id;
        ck_assert_int_eq(pairing_intern_stack(p, (uint64_t[]) { 9 }, 1, &id), -ENOBUFS);
        struct pairing_result *r = finish(p, 0);
        ck_assert(r->truncated);
        ck_assert_uint_eq(r->truncated_at_events, accepted);
        ck_assert_uint_eq(r->events, accepted);
        ck_assert_uint_eq(r->dropped_events, refused);
        ck_assert_uint_eq(r->stacks[0].outstanding, accepted);
        ck_assert(r->memory_peak_bytes <= 256 * 1024);
        pairing_result_free(r);
        pairing_free(p);
}
END_TEST

START_TEST(test_limits) {
        struct pairing *p = new_pairing(0, false, 0);
        uint32_t id;
        struct pairing_event e = { .ptr = 1 };
        /* No stack interned yet. */
        ck_assert_int_eq(pairing_push(p, &e), -EINVAL);
        ck_assert_int_eq(pairing_intern_stack(p, NULL, 0, &id), 0);   /* empty stack is fine */
        e.stack_id = id;
        e.cpu = PAIRING_CPUS_MAX;
        ck_assert_int_eq(pairing_push(p, &e), -EINVAL);
        e.cpu = PAIRING_CPUS_MAX - 1;                                   /* highest CPU is fine */
        ck_assert_int_eq(pairing_push(p, &e), 0);
        e.kind = 7;
        ck_assert_int_eq(pairing_push(p, &e), -EINVAL);
        e.kind = PAIRING_ALLOC;
        e.ptr = 0;
        ck_assert_int_eq(pairing_push(p, &e), 0);                       /* failed alloc: ignored */
        ck_assert_int_eq(pairing_push(NULL, &e), -EINVAL);
        ck_assert_int_eq(pairing_push(p, NULL), -EINVAL);
        ck_assert_int_eq(pairing_intern_stack(p, NULL, 3, &id), -EINVAL);
        ck_assert_int_eq(pairing_intern_stack(p, (uint64_t[]) { 1 }, 1, NULL), -EINVAL);

        char longname[PAIRING_NAME_MAX + 2];
        memset(longname, 'x', sizeof longname - 1);
        longname[sizeof longname - 1] = '\0';
        const char *names[] = { longname };
        ck_assert_int_eq(pairing_intern_names(p, names, NULL, 1, &id), -EINVAL);
        const char bin[] = { 'a', '\0', 'b' };
        const char *names2[] = { bin };
        size_t len2[] = { 3 };
        ck_assert_int_eq(pairing_intern_names(p, names2, len2, 1, &id), -EINVAL);
        const char *names3[] = { NULL };
        ck_assert_int_eq(pairing_intern_names(p, names3, NULL, 1, &id), -EINVAL);
        ck_assert_int_eq(pairing_new(NULL, NULL), -EINVAL);

        struct pairing_result *r = finish(p, 0);
        ck_assert_uint_eq(r->null_ptr_events, 1);
        ck_assert_uint_eq(r->events, 1);
        ck_assert_uint_eq(r->stacks[0].n_frames, 0);
        pairing_result_free(r);
        pairing_free(p);
        pairing_free(NULL);
        pairing_result_free(NULL);

        /* An empty capture. */
        p = new_pairing(0, false, 0);
        r = finish(p, 0);
        ck_assert_uint_eq(r->n_stacks, 0);
        ck_assert_uint_eq(r->n_free_sites, 0);
        ck_assert_uint_eq(r->events, 0);
        pairing_result_free(r);
        pairing_free(p);
}
END_TEST

/* A random stream, delivered the way per-CPU draining delivers it (one CPU
 * after the other, in chunks), pairs exactly like the sorted stream. */
START_TEST(test_random_matches_sorted) {
        enum { NCPU = 4, NEV = 40000, NPTR = 3000, NSTACK = 37 };
        struct ev {
                uint64_t ts, ptr;
                uint32_t cpu, stack;
                int kind;
        } *evs = calloc(NEV, sizeof *evs);
        ck_assert_ptr_nonnull(evs);
        unsigned seed = 12345;
        bool *live = calloc(NPTR, sizeof *live);
        size_t n = 0;
        for (uint64_t ts = 1; n < NEV; ts++) {
                uint32_t k = (uint32_t) rand_r(&seed) % NPTR;
                evs[n] = (struct ev) {
                        .ts = ts * 10,
                        .ptr = 0xffff888000000000ULL + k * 64,
                        .cpu = (uint32_t) rand_r(&seed) % NCPU,
                        .stack = (uint32_t) rand_r(&seed) % NSTACK,
                        .kind = live[k] ? PAIRING_FREE : PAIRING_ALLOC,
                };
                live[k] = !live[k];
                n++;
        }

        struct pairing_result *results[2];
        for (int mode = 0; mode < 2; mode++) {
                struct pairing *p = new_pairing(PAIRING_WINDOW_NONE, false, 0);
                for (uint32_t s = 0; s < NSTACK; s++) {
                        uint64_t f[] = { 0xffffffff81000000ULL + s, 0xffffffff82000000ULL + s % 5 };
                        uint32_t id;
                        ck_assert_int_eq(pairing_intern_stack(p, f, 2, &id), 0);
                        ck_assert_uint_eq(id, s);
                }
                if (mode == 0) {
                        for (size_t i = 0; i < n; i++)
                                push(p, evs[i].kind, evs[i].ts, evs[i].cpu, evs[i].ptr, evs[i].stack, 1);
                } else {
                        /* Rounds of 997 timestamps: drain CPU 3, 2, 1, 0 in
                         * turn, then release up to the round's end. */
                        size_t start = 0;
                        while (start < n) {
                                size_t end = start + 997 < n ? start + 997 : n;
                                for (int c = NCPU - 1; c >= 0; c--)
                                        for (size_t i = start; i < end; i++)
                                                if (evs[i].cpu == (uint32_t) c)
                                                        push(p, evs[i].kind, evs[i].ts, evs[i].cpu, evs[i].ptr,
                                                             evs[i].stack, 1);
                                pairing_release(p, evs[end - 1].ts);
                                start = end;
                        }
                }
                struct pairing_result *r = NULL;
                ck_assert_int_eq(pairing_finish(p, 0, NULL, NULL, &r), 0);
                results[mode] = r;
                pairing_free(p);
        }
        ck_assert_uint_eq(results[0]->late_events, 0);
        ck_assert_uint_eq(results[1]->late_events, 0);
        ck_assert_uint_eq(results[0]->unmatched_frees, 0);
        ck_assert_uint_eq(results[1]->unmatched_frees, 0);
        ck_assert_uint_eq(results[0]->n_stacks, results[1]->n_stacks);
        uint64_t total = 0;
        for (size_t i = 0; i < results[0]->n_stacks; i++) {
                const struct pairing_stack *x = &results[0]->stacks[i], *y = &results[1]->stacks[i];
                ck_assert_uint_eq(x->id, y->id);
                ck_assert_uint_eq(x->allocs, y->allocs);
                ck_assert_uint_eq(x->frees, y->frees);
                ck_assert_uint_eq(x->outstanding, y->outstanding);
                ck_assert_uint_eq(x->oldest_ts_ns, y->oldest_ts_ns);
                if (i > 0)
                        ck_assert(results[0]->stacks[i - 1].outstanding >= x->outstanding);
                total += x->outstanding;
        }
        size_t live_count = 0;
        for (size_t k = 0; k < NPTR; k++)
                live_count += live[k];
        ck_assert_uint_eq(total, live_count);
        pairing_result_free(results[0]);
        pairing_result_free(results[1]);
        free(live);
        free(evs);
}
END_TEST


static struct pairing *new_settling(uint64_t settle_ns) {
        struct pairing_options o = { .reorder_window_ns = PAIRING_WINDOW_NONE, .settle_ns = settle_ns };
        struct pairing *p = NULL;
        ck_assert_int_eq(pairing_new(&o, &p), 0);
        return p;
}

START_TEST(test_untraced_free) {
        struct pairing *p = new_pairing(PAIRING_WINDOW_NONE, false, 0);
        uint32_t a = stack_of(p, 1, 2, 3);
        uint32_t b = stack_of(p, 1, 2, 4);
        push(p, PAIRING_ALLOC, 100, 0, 0x1000, a, 1);
        push(p, PAIRING_ALLOC, 200, 0, 0x1000, b, 1); /* no traced free between: kfree_rcu */
        push(p, PAIRING_FREE, 300, 0, 0x7000, a, 1);  /* older than the capture */
        struct pairing_result *r = finish(p, 1000);
        ck_assert_uint_eq(r->reallocs_unfreed, 1);
        ck_assert_uint_eq(r->unmatched_frees, 1);
        /* Both the implicit and the unknown free are ours, in the window. */
        ck_assert_uint_eq(r->window_frees, 2);
        ck_assert_uint_eq(r->drain_frees, 0);
        ck_assert_uint_eq(r->n_stacks, 2);
        ck_assert_uint_eq(r->stacks[0].id, b);
        ck_assert_uint_eq(r->stacks[0].outstanding, 1);
        ck_assert_uint_eq(r->stacks[1].id, a);
        ck_assert_uint_eq(r->stacks[1].outstanding, 0);
        ck_assert_uint_eq(r->stacks[1].frees, 1);
        ck_assert_uint_eq(r->stacks[1].untraced_frees, 1);
        pairing_result_free(r);
        pairing_free(p);
}
END_TEST

START_TEST(test_drain_phase) {
        struct pairing *p = new_settling(100);
        uint32_t a = stack_of(p, 1, 2, 3);
        uint32_t b = stack_of(p, 1, 2, 4);
        push(p, PAIRING_ALLOC, 10, 0, 0x1, a, 1);    /* settled: 990 before the window closed */
        push(p, PAIRING_ALLOC, 950, 0, 0x2, b, 1);   /* short-lived, allocated near the end */
        push(p, PAIRING_ALLOC, 960, 1, 0x3, b, 1);   /* young and still outstanding */
        pairing_end_allocs(p, 1000);
        push(p, PAIRING_FREE, 1100, 0, 0x2, b, 1);   /* seen to die in the drain */
        push(p, PAIRING_ALLOC, 1200, 0, 0x4, a, 1);  /* drain: not counted */
        push(p, PAIRING_FREE, 1250, 0, 0x4, a, 1);   /* its free is nobody's */
        push(p, PAIRING_ALLOC, 1300, 1, 0x3, a, 1);  /* drain alloc of a live ptr: 0x3 was freed */
        struct pairing_result *r = finish(p, 2000);
        ck_assert_uint_eq(r->alloc_end_ns, 1000);
        ck_assert_uint_eq(r->allocs, 3);
        ck_assert_uint_eq(r->drain_allocs, 2);
        ck_assert_uint_eq(r->drain_frees, 3);
        ck_assert_uint_eq(r->window_frees, 0);
        ck_assert_uint_eq(r->reallocs_unfreed, 1);
        ck_assert_uint_eq(r->outstanding, 1);
        ck_assert_uint_eq(r->settled, 1);
        ck_assert_uint_eq(r->stacks[0].id, a);
        ck_assert_uint_eq(r->stacks[0].allocs, 1);
        ck_assert_uint_eq(r->stacks[0].outstanding, 1);
        ck_assert_uint_eq(r->stacks[0].settled, 1);
        ck_assert_uint_eq(r->stacks[1].id, b);
        ck_assert_uint_eq(r->stacks[1].outstanding, 0);
        ck_assert_uint_eq(r->stacks[1].untraced_frees, 1);
        pairing_result_free(r);
        pairing_free(p);
}
END_TEST

START_TEST(test_settle_without_drain) {
        struct pairing *p = new_settling(100);
        uint32_t a = stack_of(p, 1, 2, 3);
        push(p, PAIRING_ALLOC, 850, 0, 0x1, a, 1);
        push(p, PAIRING_ALLOC, 900, 0, 0x2, a, 1);
        push(p, PAIRING_ALLOC, 950, 0, 0x3, a, 1);
        struct pairing_result *r = finish(p, 1000);
        ck_assert_uint_eq(r->alloc_end_ns, 0);
        ck_assert_uint_eq(r->stacks[0].outstanding, 3);
        ck_assert_uint_eq(r->stacks[0].settled, 2);
        pairing_result_free(r);
        pairing_free(p);
        /* settle 0: every outstanding object counts. */
        p = new_settling(0);
        a = stack_of(p, 1, 2, 3);
        push(p, PAIRING_ALLOC, 999, 0, 0x1, a, 1);
        r = finish(p, 1000);
        ck_assert_uint_eq(r->stacks[0].settled, 1);
        pairing_result_free(r);
        pairing_free(p);
}
END_TEST

START_TEST(test_stackless) {
        struct pairing *p = new_pairing(PAIRING_WINDOW_NONE, false, 0);
        uint32_t empty = UINT32_MAX;
        ck_assert_int_eq(pairing_intern_stack(p, NULL, 0, &empty), 0);
        uint32_t a = stack_of(p, 1, 2, 3);
        push(p, PAIRING_ALLOC, 1, 0, 0x1, empty, 1);
        push(p, PAIRING_ALLOC, 2, 0, 0x2, a, 1);
        push(p, PAIRING_FREE, 3, 0, 0x2, empty, 1);
        struct pairing_result *r = finish(p, 0);
        ck_assert_uint_eq(r->stackless_events, 2);
        ck_assert_uint_eq(r->matched_frees, 1);
        pairing_result_free(r);
        pairing_free(p);
}
END_TEST

/* A checkpoint's snapshot: what is paired so far, the top stacks only
 * (totals count all), queued events not yet released, and the stream goes
 * on to the same finish as without it. */
START_TEST(test_snapshot) {
        struct pairing *p = new_pairing(PAIRING_WINDOW_NONE, false, 0);
        uint32_t leak = stack_of(p, 0x100, 0x200, 0x300);
        uint32_t other = stack_of(p, 0x100, 0x210, 0x310);
        uint32_t freer = stack_of(p, 0x500, 0x600, 0x700);
        struct pairing_result *snap = NULL, *r;
        unsigned calls = 0;
        uint64_t ts = 1000;

        for (uint64_t i = 0; i < 10; i++)
                push(p, PAIRING_ALLOC, ts++, 0, 0xa000 + i * 64, leak, 42);
        for (uint64_t i = 0; i < 3; i++)
                push(p, PAIRING_ALLOC, ts++, 0, 0xc000 + i * 64, other, 42);
        pairing_release(p, ts);
        /* Queued, not released: the snapshot does not see it yet. */
        push(p, PAIRING_FREE, ts + 10, 0, 0xa000, freer, 42);

        ck_assert_int_eq(pairing_snapshot(p, ts + 100, resolve_table, &calls, 1, &snap), 0);
        ck_assert_uint_eq(snap->n_stacks, 1);
        ck_assert_uint_eq(snap->stacks[0].id, leak);
        ck_assert_uint_eq(snap->stacks[0].outstanding, 10);
        ck_assert_uint_eq(snap->outstanding, 13);
        ck_assert_uint_eq(snap->allocs, 13);
        ck_assert_uint_eq(snap->frees, 0);
        pairing_result_free(snap);

        /* The stream goes on; the finish pairs the queued free. */
        push(p, PAIRING_FREE, ts + 20, 0, 0xa040, freer, 42);
        r = finish(p, ts + 1000);
        ck_assert_uint_eq(r->n_stacks, 2);
        ck_assert_uint_eq(r->stacks[0].outstanding, 8);
        ck_assert_uint_eq(r->stacks[0].frees, 2);
        ck_assert_uint_eq(r->outstanding, 11);
        pairing_result_free(r);
        /* Finished: no more snapshots. */
        ck_assert_int_eq(pairing_snapshot(p, 0, NULL, NULL, 0, &snap), -EINVAL);
        pairing_free(p);
}
END_TEST

static Suite *pairing_suite(void) {
        Suite *s = suite_create("pairing");
        TCase *tc = tcase_create("core");
        tcase_add_test(tc, test_basic_ranking);
        tcase_add_test(tc, test_unmatched_and_foreign);
        tcase_add_test(tc, test_cross_cpu_order);
        tcase_add_test(tc, test_same_cpu_late_insert);
        tcase_add_test(tc, test_late_and_realloc);
        tcase_add_test(tc, test_window);
        tcase_add_test(tc, test_names);
        tcase_add_test(tc, test_resolve_once);
        tcase_add_test(tc, test_pids);
        tcase_add_test(tc, test_merge_machinery);
        tcase_add_test(tc, test_random_matches_sorted);
        suite_add_tcase(s, tc);
        TCase *ledger = tcase_create("ledger");
        tcase_add_test(ledger, test_untraced_free);
        tcase_add_test(ledger, test_drain_phase);
        tcase_add_test(ledger, test_settle_without_drain);
        tcase_add_test(ledger, test_stackless);
        tcase_add_test(ledger, test_snapshot);
        suite_add_tcase(s, ledger);
        TCase *limits = tcase_create("limits");
        tcase_add_test(limits, test_memory_bound);
        tcase_add_test(limits, test_limits);
        suite_add_tcase(s, limits);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(pairing_suite());
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
