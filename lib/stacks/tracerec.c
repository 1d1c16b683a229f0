#include "stacks/tracerec.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "stacks/ringbuf.h"

static const struct {
        const char *name;
        enum pairing_kind kind;
} kinds[_TRACEREC_KIND_MAX] = {
        [TRACEREC_KMEM_CACHE_ALLOC] = { "kmem_cache_alloc", PAIRING_ALLOC },
        [TRACEREC_KMEM_CACHE_FREE] = { "kmem_cache_free", PAIRING_FREE },
        [TRACEREC_KMALLOC] = { "kmalloc", PAIRING_ALLOC },
        [TRACEREC_KFREE] = { "kfree", PAIRING_FREE },
};

struct pending {
        uint64_t ts;
        uint64_t ptr;
        uint64_t bytes;
        int32_t pid;
        uint8_t flags;
        uint8_t preempt;
        uint8_t kind;
};

struct cpu_state {
        uint64_t last_ts;
        /* The record before was a bulk-free slice: a stack record of its
         * context right after it is the probe's (the stacktrace option
         * covers every event of the instance), not a waiting event's. */
        bool after_bulk;
        int32_t bulk_pid;
        uint8_t bulk_flags, bulk_preempt;
        struct pending pending[TRACEREC_PENDING_MAX];
        size_t n_pending;
};

struct tracerec {
        struct tracerec_layout l;
        struct cpu_state *cpus;
        unsigned n_cpus;
        uint64_t max_events;
        tracerec_emit_fn emit;
        void *userdata;
        struct tracerec_stats stats;
};

const char *tracerec_kind_name(enum tracerec_kind kind) {
        return kind < _TRACEREC_KIND_MAX ? kinds[kind].name : NULL;
}

enum pairing_kind tracerec_kind_pairing(enum tracerec_kind kind) {
        return kind < _TRACEREC_KIND_MAX ? kinds[kind].kind : PAIRING_FREE;
}

static struct tracerec_field field_of(const struct tracefmt_event *e, const char *name) {
        const struct tracefmt_field *f = tracefmt_field(e, name);
        return f ? (struct tracerec_field) { .offset = f->offset, .size = f->size } : (struct tracerec_field) {};
}

int tracerec_layout_init(struct tracerec_layout *l, const struct tracefmt_page *page,
                         const struct tracefmt_event *kernel_stack) {
        if (!l || !page || !kernel_stack)
                return -EINVAL;
        memset(l, 0, sizeof *l);
        l->page = *page;
        l->long_size = page->commit_size;
        l->stack_id = kernel_stack->id;
        l->stack_size = field_of(kernel_stack, "size");
        l->stack_caller = field_of(kernel_stack, "caller");
        l->common_type = field_of(kernel_stack, "common_type");
        l->common_flags = field_of(kernel_stack, "common_flags");
        l->common_preempt = field_of(kernel_stack, "common_preempt_count");
        l->common_pid = field_of(kernel_stack, "common_pid");
        if (l->long_size != 4 && l->long_size != 8)
                return -EOPNOTSUPP;
        if (l->stack_size.size == 0 || l->stack_caller.size == 0 || l->common_type.size == 0 ||
            l->common_pid.size == 0)
                return -EOPNOTSUPP;
        return 0;
}

int tracerec_layout_use(struct tracerec_layout *l, enum tracerec_kind kind, const struct tracefmt_event *format) {
        if (!l || !format || kind >= _TRACEREC_KIND_MAX)
                return -EINVAL;
        struct tracerec_field ptr = field_of(format, "ptr");
        if (ptr.size != 4 && ptr.size != 8)
                return -EOPNOTSUPP;
        l->events[kind].used = true;
        l->events[kind].id = format->id;
        l->events[kind].ptr = ptr;
        l->events[kind].bytes = field_of(format, "bytes_alloc");
        return 0;
}

int tracerec_new(const struct tracerec_layout *l, unsigned n_cpus, uint64_t max_events, tracerec_emit_fn emit,
                 void *userdata, struct tracerec **ret) {
        if (!l || !emit || !ret || n_cpus == 0 || n_cpus > TRACEREC_CPUS_MAX)
                return -EINVAL;
        struct tracerec *t = calloc(1, sizeof *t);
        if (!t)
                return -ENOMEM;
        t->cpus = calloc(n_cpus, sizeof *t->cpus);
        if (!t->cpus) {
                free(t);
                return -ENOMEM;
        }
        t->l = *l;
        t->n_cpus = n_cpus;
        t->max_events = max_events;
        t->emit = emit;
        t->userdata = userdata;
        *ret = t;
        return 0;
}

void tracerec_free(struct tracerec *t) {
        if (!t)
                return;
        free(t->cpus);
        free(t);
}

static uint64_t read_uint(const uint8_t *data, size_t len, struct tracerec_field f) {
        if (f.size == 0 || (size_t) f.offset + f.size > len)
                return 0;
        switch (f.size) {
        case 1:
                return data[f.offset];
        case 2: {
                uint16_t v;
                memcpy(&v, data + f.offset, sizeof v);
                return v;
        }
        case 4: {
                uint32_t v;
                memcpy(&v, data + f.offset, sizeof v);
                return v;
        }
        case 8: {
                uint64_t v;
                memcpy(&v, data + f.offset, sizeof v);
                return v;
        }
        default:
                return 0;
        }
}

static void emit(struct tracerec *t, unsigned cpu, const struct pending *p, const uint64_t *frames, size_t n) {
        if (t->stats.limit_reached) {
                t->stats.over_limit++;
                return;
        }
        if (p->ptr == 0) {
                /* kfree(NULL) is traced too, and common: nothing to pair. */
                t->stats.null_ptr++;
                return;
        }
        int r = t->emit(&(struct tracerec_event) {
                                .ts = p->ts,
                                .ptr = p->ptr,
                                .bytes = p->bytes,
                                .cpu = cpu,
                                .pid = p->pid,
                                .kind = (enum pairing_kind) p->kind,
                                .frames = frames,
                                .n_frames = n,
                        },
                        t->userdata);
        if (r < 0) {
                /* A bound refused it: stop here and say so rather than pair a part. */
                t->stats.limit_reached = true;
                t->stats.over_limit++;
                return;
        }
        t->stats.events++;
        if (p->kind == PAIRING_ALLOC)
                t->stats.allocs++;
        else
                t->stats.frees++;
        if (t->max_events && t->stats.events >= t->max_events)
                t->stats.limit_reached = true;
}

static void handle_event(struct tracerec *t, unsigned cpu, enum tracerec_kind k, uint64_t ts, const uint8_t *data,
                         size_t len) {
        struct cpu_state *c = &t->cpus[cpu];
        enum pairing_kind kind = kinds[k].kind;
        struct pending ev = {
                .ts = ts,
                .ptr = read_uint(data, len, t->l.events[k].ptr),
                .bytes = kind == PAIRING_ALLOC ? read_uint(data, len, t->l.events[k].bytes) : 0,
                .pid = (int32_t) read_uint(data, len, t->l.common_pid),
                .flags = (uint8_t) read_uint(data, len, t->l.common_flags),
                .preempt = (uint8_t) read_uint(data, len, t->l.common_preempt),
                .kind = (uint8_t) kind,
        };

        if (t->l.events[k].stackless) {
                /* No stack follows: the pairing sorts it in among the
                 * events still waiting (the watermark stays below them). */
                emit(t, cpu, &ev, NULL, 0);
                return;
        }
        if (c->n_pending == TRACEREC_PENDING_MAX) {
                t->stats.stacks_missing++;
                emit(t, cpu, &c->pending[0], NULL, 0);
                memmove(c->pending, c->pending + 1, (c->n_pending - 1) * sizeof *c->pending);
                c->n_pending--;
        }
        c->pending[c->n_pending++] = ev;
}

static void handle_stack(struct tracerec *t, unsigned cpu, const uint8_t *data, size_t len) {
        struct cpu_state *c = &t->cpus[cpu];
        int32_t pid = (int32_t) read_uint(data, len, t->l.common_pid);
        uint8_t flags = (uint8_t) read_uint(data, len, t->l.common_flags);
        uint8_t preempt = (uint8_t) read_uint(data, len, t->l.common_preempt);

        size_t j = c->n_pending;
        while (j > 0) {
                const struct pending *p = &c->pending[j - 1];
                if (p->pid == pid && p->flags == flags && p->preempt == preempt)
                        break;
                j--;
        }
        if (j == 0) {
                t->stats.stacks_orphaned++;
                return;
        }
        j--;

        /* `size` entries follow, whatever the format's caller[8] says. */
        uint64_t frames[PAIRING_FRAMES_MAX + 1];
        uint64_t n = read_uint(data, len, t->l.stack_size);
        size_t off = t->l.stack_caller.offset, ls = t->l.long_size;
        size_t room = len > off ? (len - off) / ls : 0;
        if (n > room)
                n = room;
        if (n > PAIRING_FRAMES_MAX + 1)
                n = PAIRING_FRAMES_MAX + 1; /* the pairing marks it cut */
        size_t k = 0;
        for (size_t i = 0; i < n; i++)
                frames[k++] = read_uint(data, len,
                                        (struct tracerec_field) { .offset = (uint32_t) (off + i * ls),
                                                                  .size = (uint32_t) ls });
        /* Older kernels end the list with ULONG_MAX or zeros. */
        while (k > 0 && (frames[k - 1] == 0 || frames[k - 1] == UINT64_MAX || (ls == 4 && frames[k - 1] == UINT32_MAX)))
                k--;

        /* Events of other contexts above it never got their stack. */
        for (size_t i = j + 1; i < c->n_pending; i++) {
                t->stats.stacks_missing++;
                emit(t, cpu, &c->pending[i], NULL, 0);
        }
        t->stats.stacks++;
        emit(t, cpu, &c->pending[j], frames, k);
        /* Nor will older events of its own context: a context writes an
         * event's stack before it can write another event. Letting them go
         * now keeps the watermark (held below the oldest waiting event)
         * moving when a stack was lost. */
        size_t kept = 0;
        for (size_t i = 0; i < j; i++) {
                const struct pending *q = &c->pending[i];
                if (q->pid == pid && q->flags == flags && q->preempt == preempt) {
                        t->stats.stacks_missing++;
                        emit(t, cpu, q, NULL, 0);
                } else
                        c->pending[kept++] = *q;
        }
        c->n_pending = kept;
}

/* A bulk-free slice: its pointers go to the pairing as frees at once, the
 * probed function their one frame (no stack needed, none waited for). */
static void handle_bulk(struct tracerec *t, unsigned cpu, unsigned slice, uint64_t ts, const uint8_t *data,
                        size_t len) {
        struct cpu_state *c = &t->cpus[cpu];
        uint64_t ptrs[BULKREC_PTRS_PER_EVENT], uncovered = 0;
        int n = bulkrec_decode(&t->l.bulk, slice, data, len, ptrs, &uncovered);
        if (n < 0) {
                t->stats.bulk_bad++;
                return;
        }
        if (slice == 0)
                t->stats.bulk_calls++;
        t->stats.bulk_uncovered += uncovered;
        uint64_t ip = bulkrec_ip(&t->l.bulk, slice, data, len);
        struct pending p = {
                .ts = ts,
                .pid = (int32_t) read_uint(data, len, t->l.common_pid),
                .flags = (uint8_t) read_uint(data, len, t->l.common_flags),
                .preempt = (uint8_t) read_uint(data, len, t->l.common_preempt),
                .kind = (uint8_t) PAIRING_FREE,
        };
        for (int i = 0; i < n; i++) {
                p.ptr = ptrs[i];
                uint64_t before = t->stats.frees;
                emit(t, cpu, &p, ip ? &ip : NULL, ip ? 1 : 0);
                t->stats.bulk_frees += t->stats.frees - before;
        }
        c->after_bulk = true;
        c->bulk_pid = p.pid;
        c->bulk_flags = p.flags;
        c->bulk_preempt = p.preempt;
}

void tracerec_record(struct tracerec *t, unsigned cpu, uint64_t ts, const uint8_t *data, size_t len) {
        if (!t || cpu >= t->n_cpus)
                return;
        t->stats.records++;
        t->cpus[cpu].last_ts = ts;
        bool after_bulk = t->cpus[cpu].after_bulk;
        t->cpus[cpu].after_bulk = false;
        if (len < 8)
                return;
        uint32_t type = (uint32_t) read_uint(data, len, t->l.common_type);
        if (type == t->l.stack_id) {
                const struct cpu_state *c = &t->cpus[cpu];
                if (after_bulk && (int32_t) read_uint(data, len, t->l.common_pid) == c->bulk_pid &&
                    (uint8_t) read_uint(data, len, t->l.common_flags) == c->bulk_flags &&
                    (uint8_t) read_uint(data, len, t->l.common_preempt) == c->bulk_preempt)
                        return;
                handle_stack(t, cpu, data, len);
                return;
        }
        int slice = bulkrec_slice_of(&t->l.bulk, type);
        if (slice >= 0) {
                handle_bulk(t, cpu, (unsigned) slice, ts, data, len);
                return;
        }
        for (size_t i = 0; i < _TRACEREC_KIND_MAX; i++)
                if (t->l.events[i].used && t->l.events[i].id == type) {
                        handle_event(t, cpu, (enum tracerec_kind) i, ts, data, len);
                        return;
                }
}

struct page_ctx {
        struct tracerec *t;
        unsigned cpu;
};

static int on_record(const struct ringbuf_record *r, void *userdata) {
        struct page_ctx *ctx = userdata;
        tracerec_record(ctx->t, ctx->cpu, r->ts, r->data, r->len);
        return 0;
}

int tracerec_page(struct tracerec *t, unsigned cpu, const uint8_t *page, size_t len) {
        struct ringbuf_page info;
        struct page_ctx ctx = { .t = t, .cpu = cpu };

        if (!t || cpu >= t->n_cpus)
                return -EINVAL;
        /* Events were dropped before this page: a stack record after the
         * gap is not the stack of an event before it (the event it
         * belonged to may be among the dropped), so the events still
         * waiting go without one rather than with someone else's. */
        if (ringbuf_page_missed_events(&t->l.page, page, len)) {
                struct cpu_state *c = &t->cpus[cpu];
                for (size_t j = 0; j < c->n_pending; j++) {
                        t->stats.stacks_missing++;
                        emit(t, cpu, &c->pending[j], NULL, 0);
                }
                c->n_pending = 0;
        }
        int r = ringbuf_page_decode(&t->l.page, page, len, on_record, &ctx, &info);
        t->stats.pages++;
        if (info.missed_events)
                t->stats.missed_pages++;
        if (r < 0) {
                t->stats.bad_pages++;
                return r == -EINVAL ? r : -EBADMSG;
        }
        return 0;
}

void tracerec_flush(struct tracerec *t) {
        if (!t)
                return;
        for (unsigned i = 0; i < t->n_cpus; i++) {
                struct cpu_state *c = &t->cpus[i];
                for (size_t j = 0; j < c->n_pending; j++) {
                        t->stats.stacks_missing++;
                        emit(t, i, &c->pending[j], NULL, 0);
                }
                c->n_pending = 0;
        }
}

uint64_t tracerec_hold_watermark(const struct tracerec *t, unsigned cpu, bool drained, uint64_t watermark) {
        if (!t || cpu >= t->n_cpus)
                return watermark;
        const struct cpu_state *c = &t->cpus[cpu];
        /* What is still in a CPU's buffer is newer than what was read from
         * it; an event waiting for its stack is emitted later and must not
         * find its turn gone. */
        if (!drained && c->last_ts < watermark)
                watermark = c->last_ts;
        if (c->n_pending > 0 && c->pending[0].ts <= watermark)
                watermark = c->pending[0].ts ? c->pending[0].ts - 1 : 0;
        return watermark;
}

void tracerec_get_stats(const struct tracerec *t, struct tracerec_stats *ret) {
        *ret = t->stats;
}

int tracerec_emit_to_pairing(const struct tracerec_event *e, void *userdata) {
        struct pairing *p = userdata;
        uint32_t id;
        int r = pairing_intern_stack(p, e->frames, e->n_frames, &id);
        if (r < 0)
                return r;
        return pairing_push(p, &(struct pairing_event) {
                                       .timestamp_ns = e->ts,
                                       .ptr = e->ptr,
                                       .bytes = e->bytes,
                                       .cpu = e->cpu,
                                       .pid = e->pid,
                                       .kind = e->kind,
                                       .stack_id = id,
                               });
}
