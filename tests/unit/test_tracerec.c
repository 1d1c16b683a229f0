/* Raw ring-buffer pages recorded on a real 6.18 x86_64 kernel
 * (fixtures/linux-6.18-x86_64/ringbuf, see record.sh there): decoded
 * without root, every event matched to its stack, and checked against the
 * kernel's own text rendering of the same buffers (trace.txt). Both ways
 * of taking stacks: the stacktrace option (ringbuf/, a stack on every
 * event) and a `stacktrace if` trigger on the allocations (ringbuf-allocstacks/,
 * frees without). */
#include <check.h>
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stacks/pairing.h"
#include "stacks/ringbuf.h"
#include "stacks/tracefmt.h"
#include "stacks/tracerec.h"
#include "testutil.h"

#define DIR_ALL "linux-6.18-x86_64/ringbuf/"
#define DIR_ALLOCS "linux-6.18-x86_64/ringbuf-allocstacks/"
/* The recording the fixture readers below read. */
static const char *fixture = DIR_ALL;

static char *read_in_fixture(const char *name, size_t *ret_len) {
        char rel[256];
        snprintf(rel, sizeof rel, "%s%s", fixture, name);
        return testutil_read_fixture(rel, ret_len);
}
#define EVENTS_MAX 1024
#define FRAMES_MAX 64
#define SYMS_MAX 256

struct ev {
        unsigned cpu;
        uint64_t ts_us;
        uint64_t ptr;
        enum pairing_kind kind;
        char *frames[FRAMES_MAX];
        size_t n_frames;
        bool has_stack;
        char pid[64];
};

struct sym {
        uint64_t addr;
        char name[128];
};

static struct sym syms[SYMS_MAX];
static size_t n_syms;

static void load_syms(void) {
        size_t len;
        char *text = read_in_fixture("kallsyms", &len);
        n_syms = 0;
        for (char *line = strtok(text, "\n"); line && n_syms < SYMS_MAX; line = strtok(NULL, "\n")) {
                char type;
                if (sscanf(line, "%" SCNx64 " %c %127s", &syms[n_syms].addr, &type, syms[n_syms].name) == 3)
                        n_syms++;
        }
        free(text);
        ck_assert_uint_gt(n_syms, 10);
}

/* The symbol an address falls in: every function of the stacks is listed. */
static const char *resolve(uint64_t addr) {
        const struct sym *best = NULL;
        for (size_t i = 0; i < n_syms; i++)
                if (syms[i].addr <= addr && (!best || syms[i].addr > best->addr))
                        best = &syms[i];
        return best ? best->name : "?";
}

static struct tracefmt_event load_format(const char *name) {
        char rel[256];
        size_t len;
        struct tracefmt_event e;
        snprintf(rel, sizeof rel, "format/%s", name);
        char *text = read_in_fixture(rel, &len);
        ck_assert_int_eq(tracefmt_parse(text, len, &e), 0);
        free(text);
        return e;
}

static void load_layout(struct tracerec_layout *l) {
        size_t len;
        struct tracefmt_page page;
        char *text = read_in_fixture("format/header_page", &len);
        ck_assert_int_eq(tracefmt_parse_header_page(text, len, &page), 0);
        free(text);
        struct tracefmt_event ks = load_format("kernel_stack");
        ck_assert_int_eq(tracerec_layout_init(l, &page, &ks), 0);
        struct tracefmt_event a = load_format("kmem_cache_alloc"), f = load_format("kmem_cache_free");
        ck_assert_int_eq(tracerec_layout_use(l, TRACEREC_KMEM_CACHE_ALLOC, &a), 0);
        ck_assert_int_eq(tracerec_layout_use(l, TRACEREC_KMEM_CACHE_FREE, &f), 0);
}

/* What the decoder gives, and the pairing behind it. */
struct collected {
        struct ev ev[EVENTS_MAX];
        size_t n;
        struct pairing *pairing;
};

static int collect(const struct tracerec_event *e, void *userdata) {
        struct collected *c = userdata;
        ck_assert_uint_lt(c->n, EVENTS_MAX);
        struct ev *v = &c->ev[c->n++];
        memset(v, 0, sizeof *v);
        v->cpu = e->cpu;
        v->ts_us = (e->ts + 500) / 1000; /* the text rounds to the microsecond */
        v->ptr = e->ptr;
        v->kind = e->kind;
        v->has_stack = e->n_frames > 0;
        for (size_t i = 0; i < e->n_frames && i < FRAMES_MAX; i++)
                v->frames[v->n_frames++] = strdup(resolve(e->frames[i]));
        return tracerec_emit_to_pairing(e, c->pairing);
}

static void feed_cpu(struct tracerec *t, unsigned cpu, unsigned *ret_pages) {
        char rel[64];
        size_t len;
        snprintf(rel, sizeof rel, "cpu%u.raw", cpu);
        uint8_t *raw = (uint8_t *) read_in_fixture(rel, &len);
        ck_assert_uint_eq(len % 4096, 0);
        for (size_t off = 0; off < len; off += 4096)
                ck_assert_int_eq(tracerec_page(t, cpu, raw + off, 4096), 0);
        *ret_pages = (unsigned) (len / 4096);
        free(raw);
}

/* trace.txt: events with their stacks, as the kernel rendered them. With
 * @allocs_only a stack belongs to an allocation. */
static size_t parse_text(struct ev *out, size_t max, bool allocs_only) {
        size_t len, n = 0;
        char *text = read_in_fixture("trace.txt", &len);
        struct ev *open_stack = NULL;
        for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
                if (line[0] == '#')
                        continue;
                if (strncmp(line, " => ", 4) == 0) {
                        ck_assert_ptr_nonnull(open_stack);
                        ck_assert_uint_lt(open_stack->n_frames, FRAMES_MAX);
                        open_stack->frames[open_stack->n_frames++] = strdup(line + 4);
                        continue;
                }
                char pid[64];
                unsigned cpu;
                uint64_t s, us;
                int at = 0;
                ck_assert_msg(sscanf(line, " %63s [%u] %*s %" SCNu64 ".%" SCNu64 ": %n", pid, &cpu, &s, &us, &at) == 4,
                              "%s", line);
                const char *what = line + at;
                if (strncmp(what, "<stack trace>", 13) == 0) {
                        /* The newest event of that CPU and task without a stack. */
                        open_stack = NULL;
                        for (size_t i = n; i-- > 0;)
                                if (out[i].cpu == cpu && strcmp(out[i].pid, pid) == 0 && !out[i].has_stack &&
                                    (!allocs_only || out[i].kind == PAIRING_ALLOC)) {
                                        open_stack = &out[i];
                                        break;
                                }
                        ck_assert_ptr_nonnull(open_stack);
                        open_stack->has_stack = true;
                        continue;
                }
                ck_assert_uint_lt(n, max);
                struct ev *v = &out[n++];
                memset(v, 0, sizeof *v);
                snprintf(v->pid, sizeof v->pid, "%s", pid);
                v->cpu = cpu;
                v->ts_us = s * 1000000 + us;
                ck_assert(strncmp(what, "kmem_cache_alloc: ", 18) == 0 || strncmp(what, "kmem_cache_free: ", 17) == 0);
                v->kind = what[11] == 'a' ? PAIRING_ALLOC : PAIRING_FREE;
                const char *p = strstr(what, " ptr=");
                ck_assert_ptr_nonnull(p);
                v->ptr = strtoull(p + 5, NULL, 16);
                open_stack = NULL;
        }
        free(text);
        return n;
}

static int cmp_ev(const void *a, const void *b) {
        const struct ev *x = a, *y = b;
        if (x->cpu != y->cpu)
                return x->cpu < y->cpu ? -1 : 1;
        if (x->ts_us != y->ts_us)
                return x->ts_us < y->ts_us ? -1 : 1;
        return x->ptr < y->ptr ? -1 : x->ptr > y->ptr;
}

static void ev_done(struct ev *v, size_t n) {
        for (size_t i = 0; i < n; i++)
                for (size_t j = 0; j < v[i].n_frames; j++)
                        free(v[i].frames[j]);
}

START_TEST(test_recorded_pages) {
        static struct collected got;
        static struct ev want[EVENTS_MAX];
        struct tracerec_layout l;
        struct tracerec *t = NULL;
        struct tracerec_stats st;
        unsigned pages0, pages1;

        fixture = DIR_ALL;
        load_syms();
        load_layout(&l);
        ck_assert_uint_eq(l.page.page_size, 4096);
        ck_assert_uint_eq(l.page.data_offset, 16);
        ck_assert_uint_eq(l.long_size, 8);
        got.n = 0;
        ck_assert_int_eq(pairing_new(&(struct pairing_options) { .reorder_window_ns = PAIRING_WINDOW_NONE },
                                     &got.pairing),
                         0);
        ck_assert_int_eq(tracerec_new(&l, 2, 0, collect, &got, &t), 0);
        feed_cpu(t, 0, &pages0);
        feed_cpu(t, 1, &pages1);
        tracerec_flush(t);
        tracerec_get_stats(t, &st);

        /* The counts of this recording (109 allocs, 69 frees, 177 stacks). */
        ck_assert_uint_eq(st.pages, pages0 + pages1);
        ck_assert_uint_eq(st.bad_pages, 0);
        ck_assert_uint_eq(st.records, 355);
        ck_assert_uint_eq(st.events, 178);
        ck_assert_uint_eq(st.allocs, 109);
        ck_assert_uint_eq(st.frees, 69);
        ck_assert_uint_eq(st.stacks_missing, 1);
        ck_assert_uint_eq(st.stacks_orphaned, 0);
        ck_assert_uint_eq(st.null_ptr, 0);
        ck_assert(!st.limit_reached);

        /* Event by event, the same as the kernel's text of the same buffers. */
        size_t n_want = parse_text(want, EVENTS_MAX, false);
        ck_assert_uint_eq(n_want, got.n);
        qsort(want, n_want, sizeof *want, cmp_ev);
        qsort(got.ev, got.n, sizeof *got.ev, cmp_ev);
        uint64_t stacks = 0;
        for (size_t i = 0; i < n_want; i++) {
                const struct ev *w = &want[i], *g = &got.ev[i];
                ck_assert_uint_eq(g->cpu, w->cpu);
                ck_assert_uint_eq(g->ts_us, w->ts_us);
                ck_assert_uint_eq(g->ptr, w->ptr);
                ck_assert_int_eq(g->kind, w->kind);
                ck_assert_uint_eq(g->n_frames, w->n_frames);
                for (size_t j = 0; j < w->n_frames; j++)
                        ck_assert_str_eq(g->frames[j], w->frames[j]);
                stacks += w->has_stack;
        }
        ck_assert_uint_eq(stacks, 177);

        /* Paired in time order, as a capture pairs them. */
        uint64_t matched = 0, unmatched = 0, reallocs = 0, outstanding = 0;
        struct ev *by_time = malloc(n_want * sizeof *by_time);
        bool *live = calloc(n_want, sizeof *live); /* by the index of the alloc */
        memcpy(by_time, want, n_want * sizeof *by_time);
        for (size_t i = 1; i < n_want; i++)
                for (size_t j = i; j > 0 && by_time[j - 1].ts_us > by_time[j].ts_us; j--) {
                        struct ev tmp = by_time[j];
                        by_time[j] = by_time[j - 1];
                        by_time[j - 1] = tmp;
                }
        for (size_t i = 0; i < n_want; i++) {
                size_t last = SIZE_MAX;
                for (size_t j = i; j-- > 0;)
                        if (by_time[j].ptr == by_time[i].ptr && by_time[j].kind == PAIRING_ALLOC) {
                                last = j;
                                break;
                        }
                bool was_live = last != SIZE_MAX && live[last];
                if (by_time[i].kind == PAIRING_ALLOC) {
                        reallocs += was_live;
                        if (was_live)
                                live[last] = false;
                        live[i] = true;
                } else if (was_live) {
                        matched++;
                        live[last] = false;
                } else
                        unmatched++;
        }
        for (size_t i = 0; i < n_want; i++)
                outstanding += live[i];
        free(live);
        free(by_time);
        struct pairing_result *res = NULL;
        ck_assert_int_eq(pairing_finish(got.pairing, 0, NULL, NULL, &res), 0);
        ck_assert_uint_eq(res->allocs, 109);
        ck_assert_uint_eq(res->frees, 69);
        ck_assert_uint_eq(res->matched_frees, matched);
        ck_assert_uint_eq(res->unmatched_frees, unmatched);
        ck_assert_uint_eq(res->reallocs_unfreed, reallocs);
        ck_assert_uint_eq(res->outstanding, outstanding);
        ck_assert_uint_gt(res->n_stacks, 1);
        pairing_result_free(res);

        pairing_free(got.pairing);
        tracerec_free(t);
        ev_done(want, n_want);
        ev_done(got.ev, got.n);
}
END_TEST

/* Stacks on the allocations only: each alloc gets the stack after it,
 * the frees go through at once without one, none counted missing. */
START_TEST(test_recorded_alloc_stacks) {
        static struct collected got;
        static struct ev want[EVENTS_MAX];
        struct tracerec_layout l;
        struct tracerec *t = NULL;
        struct tracerec_stats st;
        unsigned pages0, pages1;

        fixture = DIR_ALLOCS;
        load_syms();
        load_layout(&l);
        l.events[TRACEREC_KMEM_CACHE_FREE].stackless = true;
        got.n = 0;
        ck_assert_int_eq(pairing_new(&(struct pairing_options) { .reorder_window_ns = PAIRING_WINDOW_NONE,
                                                                 .frees_stackless = true },
                                     &got.pairing),
                         0);
        ck_assert_int_eq(tracerec_new(&l, 2, 0, collect, &got, &t), 0);
        feed_cpu(t, 0, &pages0);
        feed_cpu(t, 1, &pages1);
        tracerec_flush(t);
        tracerec_get_stats(t, &st);

        /* The counts of this recording (193 allocs and as many stacks, 175 frees). */
        ck_assert_uint_eq(st.bad_pages, 0);
        ck_assert_uint_eq(st.records, 193 + 193 + 175);
        ck_assert_uint_eq(st.allocs, 193);
        ck_assert_uint_eq(st.frees, 175);
        ck_assert_uint_eq(st.stacks, 193);
        ck_assert_uint_eq(st.stacks_missing, 0);
        ck_assert_uint_eq(st.stacks_orphaned, 0);

        size_t n_want = parse_text(want, EVENTS_MAX, true);
        ck_assert_uint_eq(n_want, got.n);
        qsort(want, n_want, sizeof *want, cmp_ev);
        qsort(got.ev, got.n, sizeof *got.ev, cmp_ev);
        for (size_t i = 0; i < n_want; i++) {
                const struct ev *w = &want[i], *g = &got.ev[i];
                ck_assert_uint_eq(g->cpu, w->cpu);
                ck_assert_uint_eq(g->ts_us, w->ts_us);
                ck_assert_uint_eq(g->ptr, w->ptr);
                ck_assert_int_eq(g->kind, w->kind);
                ck_assert(g->has_stack == (g->kind == PAIRING_ALLOC));
                ck_assert_uint_eq(g->n_frames, w->n_frames);
                for (size_t j = 0; j < w->n_frames; j++)
                        ck_assert_str_eq(g->frames[j], w->frames[j]);
        }
        struct pairing_result *res = NULL;
        ck_assert_int_eq(pairing_finish(got.pairing, 0, NULL, NULL, &res), 0);
        ck_assert_uint_eq(res->allocs, 193);
        ck_assert_uint_eq(res->frees, 175);
        ck_assert_uint_eq(res->stackless_events, 0);
        ck_assert_uint_gt(res->matched_frees, 0);
        pairing_result_free(res);

        /* Read as if every event had a stack, the frees would hold the
         * allocations' stacks back until they were let go without. */
        l.events[TRACEREC_KMEM_CACHE_FREE].stackless = false;
        tracerec_free(t);
        pairing_free(got.pairing);
        ev_done(got.ev, got.n);
        got.n = 0;
        ck_assert_int_eq(pairing_new(&(struct pairing_options) { .reorder_window_ns = PAIRING_WINDOW_NONE },
                                     &got.pairing),
                         0);
        ck_assert_int_eq(tracerec_new(&l, 2, 0, collect, &got, &t), 0);
        feed_cpu(t, 0, &pages0);
        feed_cpu(t, 1, &pages1);
        tracerec_flush(t);
        tracerec_get_stats(t, &st);
        ck_assert_uint_gt(st.stacks_missing, 0);

        pairing_free(got.pairing);
        tracerec_free(t);
        ev_done(want, n_want);
        ev_done(got.ev, got.n);
}
END_TEST

static int count_records(const struct ringbuf_record *r, void *userdata) {
        (void) r;
        ++*(unsigned *) userdata;
        return 0;
}

/* Pages that lie: nothing is read past them, the whole records are kept. */
START_TEST(test_page_limits) {
        struct tracefmt_page layout = { .data_offset = 16, .commit_size = 8, .page_size = 4096 };
        struct ringbuf_page info;
        uint8_t page[64] = {};
        unsigned n = 0;
        uint64_t commit;
        uint32_t hdr;

        ck_assert_int_eq(ringbuf_page_decode(&layout, page, 8, count_records, &n, &info), -EBADMSG);
        /* A commit past the page. */
        commit = 1000;
        memcpy(page + 8, &commit, 8);
        ck_assert_int_eq(ringbuf_page_decode(&layout, page, sizeof page, count_records, &n, &info), -EBADMSG);
        /* One 8-byte record (type_len 2), then one claiming 28 * 4 bytes. */
        commit = 12 + 4 + 8;
        memcpy(page + 8, &commit, 8);
        hdr = 2 | (5u << 5);
        memcpy(page + 16, &hdr, 4);
        hdr = 28;
        memcpy(page + 28, &hdr, 4);
        ck_assert_int_eq(ringbuf_page_decode(&layout, page, sizeof page, count_records, &n, &info), -EBADMSG);
        ck_assert_uint_eq(n, 1);
        ck_assert_uint_eq(info.records, 1);
        /* A time extend, the record after it carries the sum; missed events flagged. */
        commit = (12 + 8) | (UINT64_C(1) << 31);
        memcpy(page + 8, &commit, 8);
        hdr = 30 | (1u << 5);
        memcpy(page + 28, &hdr, 4);
        uint32_t ext = 2;
        memcpy(page + 32, &ext, 4);
        n = 0;
        ck_assert_int_eq(ringbuf_page_decode(&layout, page, sizeof page, count_records, &n, &info), 0);
        ck_assert_uint_eq(n, 1);
        ck_assert(info.missed_events);
        ck_assert(!info.lost_known);
        /* A zero-length record header (type 0 with a length below 4). */
        commit = 8;
        memcpy(page + 8, &commit, 8);
        hdr = 0;
        memcpy(page + 16, &hdr, 4);
        memcpy(page + 20, &hdr, 4);
        ck_assert_int_eq(ringbuf_page_decode(&layout, page, sizeof page, count_records, &n, &info), -EBADMSG);
        ck_assert_int_eq(ringbuf_page_decode(&(struct tracefmt_page) { .commit_size = 3 }, page, sizeof page, NULL,
                                             NULL, NULL),
                         -EINVAL);

        /* Formats that are not. */
        struct tracefmt_event e;
        struct tracefmt_page p;
        ck_assert_int_eq(tracefmt_parse("", 0, &e), -EBADMSG);
        ck_assert_int_eq(tracefmt_parse("name: x\nID: 1\n", 14, &e), -EBADMSG);
        static const char huge[] = "name: x\nID: 1\n\tfield:int a;\toffset:70000;\tsize:4;\tsigned:1;\n";
        ck_assert_int_eq(tracefmt_parse(huge, sizeof huge - 1, &e), -EBADMSG);
        static const char ok[] = "name: x\nID: 77\n\tfield:unsigned long caller[8];\toffset:16;\tsize:64;\tsigned:0;\n"
                                 "\tfield:__data_loc char[] name;\toffset:24;\tsize:4;\tsigned:0;\n";
        ck_assert_int_eq(tracefmt_parse(ok, sizeof ok - 1, &e), 0);
        ck_assert_uint_eq(e.id, 77);
        ck_assert_uint_eq(tracefmt_field(&e, "caller")->size, 64);
        ck_assert(tracefmt_field(&e, "name")->data_loc);
        ck_assert_ptr_null(tracefmt_field(&e, "nope"));
        static const char hp[] = "\tfield: u64 timestamp;\toffset:0;\tsize:8;\tsigned:0;\n"
                                 "\tfield: local_t commit;\toffset:8;\tsize:3;\tsigned:1;\n"
                                 "\tfield: char data;\toffset:16;\tsize:4080;\tsigned:0;\n";
        ck_assert_int_eq(tracefmt_parse_header_page(hp, sizeof hp - 1, &p), -EBADMSG);

        /* A kernel_stack format without `size` cannot be matched. */
        struct tracerec_layout l;
        ck_assert_int_eq(tracerec_layout_init(&l, &layout, &e), -EOPNOTSUPP);
}
END_TEST

/* More events of one context than can wait: the oldest go without a stack. */
START_TEST(test_pending_overflow) {
        struct tracerec_layout l;
        static struct collected got;
        struct tracerec *t = NULL;
        struct tracerec_stats st;
        uint8_t rec[64] = {};

        fixture = DIR_ALL;
        load_layout(&l);
        got.n = 0;
        ck_assert_int_eq(pairing_new(NULL, &got.pairing), 0);
        ck_assert_int_eq(tracerec_new(&l, 1, 5, collect, &got, &t), 0);
        ck_assert_int_eq(tracerec_new(&l, 0, 0, collect, &got, &(struct tracerec *) { NULL }), -EINVAL);
        uint16_t type = (uint16_t) l.events[TRACEREC_KMEM_CACHE_ALLOC].id;
        memcpy(rec, &type, 2);
        for (uint64_t i = 1; i <= TRACEREC_PENDING_MAX + 3; i++) {
                memcpy(rec + l.events[TRACEREC_KMEM_CACHE_ALLOC].ptr.offset, &i, 8);
                tracerec_record(t, 0, i * 100, rec, sizeof rec);
        }
        tracerec_get_stats(t, &st);
        ck_assert_uint_eq(st.events, 3);
        ck_assert_uint_eq(st.stacks_missing, 3);
        /* The watermark stays below the oldest event still waiting. */
        ck_assert_uint_eq(tracerec_hold_watermark(t, 0, true, UINT64_MAX), 399);
        tracerec_flush(t);
        tracerec_get_stats(t, &st);
        ck_assert_uint_eq(st.events, 5); /* max_events */
        ck_assert(st.limit_reached);
        ck_assert_uint_eq(st.over_limit, TRACEREC_PENDING_MAX + 3 - 5);
        ck_assert_str_eq(tracerec_kind_name(TRACEREC_KFREE), "kfree");
        pairing_free(got.pairing);
        tracerec_free(t);
        ev_done(got.ev, got.n);
}
END_TEST

/* A lost stack does not hold its event back: the next stack of the same
 * context lets it go (the watermark moves on), one of another context
 * does not. Frees of a stackless kind pass at once. */
START_TEST(test_lost_stack_released) {
        struct tracerec_layout l;
        static struct collected got;
        struct tracerec *t = NULL;
        struct tracerec_stats st;
        uint8_t ev[64] = {}, stack[128] = {};

        fixture = DIR_ALL;
        load_syms();
        load_layout(&l);
        l.events[TRACEREC_KMEM_CACHE_FREE].stackless = true;
        got.n = 0;
        ck_assert_int_eq(pairing_new(NULL, &got.pairing), 0);
        ck_assert_int_eq(tracerec_new(&l, 1, 0, collect, &got, &t), 0);
        uint16_t alloc = (uint16_t) l.events[TRACEREC_KMEM_CACHE_ALLOC].id;
        uint16_t free_type = (uint16_t) l.events[TRACEREC_KMEM_CACHE_FREE].id;
        uint16_t stack_type = (uint16_t) l.stack_id;
        int32_t pid = 42;
        memcpy(ev + l.common_pid.offset, &pid, 4);
        memcpy(stack + l.common_pid.offset, &pid, 4);
        memcpy(stack, &stack_type, 2);
        uint64_t one = 1, frame = syms[0].addr;
        memcpy(stack + l.stack_size.offset, &one, l.stack_size.size < 8 ? l.stack_size.size : 8);
        memcpy(stack + l.stack_caller.offset, &frame, 8);

        /* Alloc 1 loses its stack; alloc 2 gets one. */
        memcpy(ev, &alloc, 2);
        for (uint64_t ptr = 1; ptr <= 2; ptr++) {
                memcpy(ev + l.events[TRACEREC_KMEM_CACHE_ALLOC].ptr.offset, &ptr, 8);
                tracerec_record(t, 0, ptr * 100, ev, sizeof ev);
        }
        /* Another context's event (an interrupt's: other flags) waits on. */
        uint8_t irq = 0x08;
        uint64_t ptr3 = 3;
        memcpy(ev + l.events[TRACEREC_KMEM_CACHE_ALLOC].ptr.offset, &ptr3, 8);
        ev[l.common_flags.offset] = irq;
        tracerec_record(t, 0, 250, ev, sizeof ev);
        ev[l.common_flags.offset] = 0;
        /* A free: through at once, nothing waits for a stack of it. */
        memcpy(ev, &free_type, 2);
        uint64_t ptr9 = 9;
        memcpy(ev + l.events[TRACEREC_KMEM_CACHE_FREE].ptr.offset, &ptr9, 8);
        tracerec_record(t, 0, 260, ev, sizeof ev);
        tracerec_get_stats(t, &st);
        ck_assert_uint_eq(st.events, 1);
        ck_assert_uint_eq(got.ev[0].ptr, 9);
        ck_assert_uint_eq(tracerec_hold_watermark(t, 0, true, UINT64_MAX), 99);

        tracerec_record(t, 0, 270, stack, sizeof stack);
        tracerec_get_stats(t, &st);
        /* Alloc 3 (the interrupt's) is newer than alloc 2: above it, let go. */
        ck_assert_uint_eq(st.events, 4);
        ck_assert_uint_eq(st.stacks, 1);
        ck_assert_uint_eq(st.stacks_missing, 2);
        ck_assert_uint_eq(tracerec_hold_watermark(t, 0, true, UINT64_MAX), UINT64_MAX);
        bool stacked[4] = {};
        for (size_t i = 0; i < got.n; i++)
                if (got.ev[i].ptr < 4)
                        stacked[got.ev[i].ptr] = got.ev[i].has_stack;
        ck_assert(!stacked[1] && stacked[2] && !stacked[3]);

        /* The interrupt's event stays while a newer one of the task's is matched. */
        memcpy(ev, &alloc, 2);
        ev[l.common_flags.offset] = irq;
        tracerec_record(t, 0, 300, ev, sizeof ev);
        ev[l.common_flags.offset] = 0;
        tracerec_record(t, 0, 310, ev, sizeof ev);
        tracerec_record(t, 0, 320, stack, sizeof stack);
        ck_assert_uint_eq(tracerec_hold_watermark(t, 0, true, UINT64_MAX), 299);
        tracerec_flush(t);
        pairing_free(got.pairing);
        tracerec_free(t);
        ev_done(got.ev, got.n);
}
END_TEST

/* A record of @words 4-byte words at *@off of @page, @delta ns after the last. */
static void put_record(uint8_t *page, size_t *off, uint32_t delta, const uint8_t *data, uint32_t words) {
        uint32_t hdr = words | (delta << 5);
        memcpy(page + *off, &hdr, 4);
        memcpy(page + *off + 4, data, words * 4);
        *off += 4 + words * 4;
}

static void put_alloc(const struct tracerec_layout *l, uint8_t *page, size_t *off, uint64_t ptr) {
        uint8_t rec[48] = {};
        uint16_t type = (uint16_t) l->events[TRACEREC_KMEM_CACHE_ALLOC].id;
        memcpy(rec, &type, 2);
        memcpy(rec + l->events[TRACEREC_KMEM_CACHE_ALLOC].ptr.offset, &ptr, 8);
        put_record(page, off, 100, rec, sizeof rec / 4);
}

static void put_stack(const struct tracerec_layout *l, uint8_t *page, size_t *off, uint64_t f0, uint64_t f1) {
        uint8_t rec[64] = {};
        uint16_t type = (uint16_t) l->stack_id;
        uint32_t size = 2;
        memcpy(rec, &type, 2);
        memcpy(rec + l->stack_size.offset, &size, 4);
        memcpy(rec + l->stack_caller.offset, &f0, 8);
        memcpy(rec + l->stack_caller.offset + 8, &f1, 8);
        ck_assert_uint_le(l->stack_caller.offset + 16, sizeof rec);
        put_record(page, off, 10, rec, sizeof rec / 4);
}

static void end_page(const struct tracerec_layout *l, uint8_t *page, size_t off, uint64_t ts, bool missed) {
        uint64_t commit = (off - l->page.data_offset) | (missed ? UINT64_C(1) << 31 : 0);
        memcpy(page, &ts, 8);
        memcpy(page + 8, &commit, l->page.commit_size);
}

/* Events lost between two pages: the stack record after the gap belongs
 * to a dropped event (here a free), not to the allocation still waiting
 * for its stack before the gap. The allocation goes without a stack, and
 * no stack is shown with an allocation it never made. */
START_TEST(test_stack_across_gap) {
        struct tracerec_layout l;
        static struct collected got;
        struct tracerec *t = NULL;
        struct tracerec_stats st;
        struct pairing_result *res = NULL;
        static uint8_t p1[4096], p2[4096];
        size_t off;

        load_layout(&l);
        ck_assert_uint_eq(l.page.commit_size, 8);
        got.n = 0;
        ck_assert_int_eq(pairing_new(NULL, &got.pairing), 0);
        ck_assert_int_eq(tracerec_new(&l, 1, 0, collect, &got, &t), 0);

        /* Page 1: alloc A with its stack, alloc B whose stack was dropped. */
        off = l.page.data_offset;
        put_alloc(&l, p1, &off, 0x1000);
        put_stack(&l, p1, &off, 0xa1, 0xa2);
        put_alloc(&l, p1, &off, 0x2000);
        end_page(&l, p1, off, 1000000, false);
        /* Page 2, after a gap: the stack of a dropped free of A, then alloc C
         * with the stack A had. */
        off = l.page.data_offset;
        put_stack(&l, p2, &off, 0xf1, 0xf2);
        put_alloc(&l, p2, &off, 0x3000);
        put_stack(&l, p2, &off, 0xa1, 0xa2);
        end_page(&l, p2, off, 2000000, true);

        ck_assert_int_eq(tracerec_page(t, 0, p1, sizeof p1), 0);
        ck_assert_int_eq(tracerec_page(t, 0, p2, sizeof p2), 0);
        tracerec_flush(t);
        tracerec_get_stats(t, &st);
        ck_assert_uint_eq(st.events, 3);
        ck_assert_uint_eq(st.missed_pages, 1);
        ck_assert_uint_eq(st.stacks_missing, 1);
        ck_assert_uint_eq(st.stacks_orphaned, 1);
        ck_assert_uint_eq(got.n, 3);
        ck_assert(got.ev[0].has_stack);
        ck_assert_uint_eq(got.ev[1].ptr, 0x2000);
        ck_assert(!got.ev[1].has_stack);
        ck_assert(got.ev[2].has_stack);

        ck_assert_int_eq(pairing_finish(got.pairing, 0, NULL, NULL, &res), 0);
        uint64_t allocs = 0;
        for (size_t i = 0; i < res->n_stacks; i++) {
                for (size_t k = 0; k < res->stacks[i].n_frames; k++)
                        ck_assert_msg(strstr(res->stacks[i].frames[k], "f1") == NULL,
                                      "the free's stack shows %" PRIu64 " allocations", res->stacks[i].allocs);
                allocs += res->stacks[i].allocs;
        }
        ck_assert_uint_eq(allocs, 3);
        ck_assert_uint_eq(res->stackless_events, 1);
        pairing_result_free(res);
        pairing_free(got.pairing);
        tracerec_free(t);
        ev_done(got.ev, got.n);
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("tracerec");
        TCase *tc = tcase_create("fixtures");
        tcase_add_test(tc, test_recorded_pages);
        tcase_add_test(tc, test_recorded_alloc_stacks);
        suite_add_tcase(s, tc);
        tc = tcase_create("limits");
        tcase_add_test(tc, test_page_limits);
        tcase_add_test(tc, test_pending_overflow);
        tcase_add_test(tc, test_lost_stack_released);
        tcase_add_test(tc, test_stack_across_gap);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(suite());
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
