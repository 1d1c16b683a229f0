#include "stacks/pairing.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stacks/pairing_impl.h"

static uint64_t hash_u64(uint64_t h, uint64_t v) {
        h ^= v + HASH_MULT + (h << 6) + (h >> 2);
        return h * HASH_MULT;
}

static uint64_t hash_bytes(const char *s, size_t len) {
        uint64_t h = UINT64_C(0xcbf29ce484222325);
        for (size_t i = 0; i < len; i++) {
                h ^= (unsigned char) s[i];
                h *= UINT64_C(0x100000001b3);
        }
        return h;
}

/* Resize a budgeted array: the memory bound covers everything that grows
 * with the event stream. Refusal marks the pairing truncated. */
static int budget_realloc(struct pairing *p, void **ptr, size_t old_bytes, size_t new_bytes) {
        if (p->mem - old_bytes + new_bytes > p->opt.max_memory_bytes) {
                if (!p->r.truncated) {
                        p->r.truncated = true;
                        p->r.truncated_at_events = p->r.events;
                }
                return -ENOBUFS;
        }
        void *n = realloc(*ptr, new_bytes);
        if (!n)
                return -ENOMEM;
        *ptr = n;
        p->mem = p->mem - old_bytes + new_bytes;
        if (p->mem > p->mem_peak)
                p->mem_peak = p->mem;
        return 0;
}

/* Grow a budgeted vector of @elem-sized items to hold @need. */
static int budget_reserve(struct pairing *p, void **v, size_t *allocated, size_t need, size_t elem, size_t min) {
        if (need <= *allocated)
                return 0;
        size_t n = *allocated ? *allocated : min;
        while (n < need) {
                if (n > SIZE_MAX / 2 / elem)
                        return -ENOBUFS;
                n *= 2;
        }
        int r = budget_realloc(p, v, *allocated * elem, n * elem);
        if (r < 0)
                return r;
        *allocated = n;
        return 0;
}

int pairing_new(const struct pairing_options *o, struct pairing **ret) {
        if (!ret)
                return -EINVAL;
        struct pairing *p = calloc(1, sizeof *p);
        if (!p)
                return -ENOMEM;
        if (o)
                p->opt = *o;
        if (p->opt.max_memory_bytes == 0)
                p->opt.max_memory_bytes = PAIRING_MEMORY_DEFAULT;
        *ret = p;
        return 0;
}

void pairing_free(struct pairing *p) {
        if (!p)
                return;
        free(p->ptrs);
        free(p->stacks);
        free(p->stack_index);
        free(p->frames);
        free(p->names);
        free(p->name_index);
        free(p->name_chars);
        for (size_t i = 0; i < p->n_cpus; i++)
                free(p->cpus[i].v);
        free(p->cpus);
        free(p->heap);
        free(p);
}

bool pairing_truncated(const struct pairing *p) {
        return p->r.truncated;
}

uint64_t pairing_events(const struct pairing *p) {
        return p->r.events;
}

uint64_t pairing_memory(const struct pairing *p) {
        return p->mem;
}

/* ---- stacks ---- */

static bool stack_equal(const struct pairing *p, const struct stack_entry *s, uint64_t hash, const uint64_t *frames,
                        size_t n, bool names, bool cut) {
        return s->hash == hash && s->n_frames == n && s->names == names && s->cut == cut &&
               (n == 0 || memcmp(p->frames + s->frames_off, frames, n * sizeof *frames) == 0);
}

static int stack_index_grow(struct pairing *p) {
        size_t cap = p->stack_index_cap ? p->stack_index_cap * 2 : STACK_INDEX_MIN;
        uint32_t *idx = NULL;
        int r = budget_realloc(p, (void **) &idx, 0, cap * sizeof *idx);
        if (r < 0)
                return r;
        memset(idx, 0, cap * sizeof *idx);
        for (size_t i = 0; i < p->n_stacks; i++) {
                size_t s = pairing_slot_of(p->stacks[i].hash, cap);
                while (idx[s] != 0)
                        s = (s + 1) & (cap - 1);
                idx[s] = (uint32_t) i + 1;
        }
        p->mem -= p->stack_index_cap * sizeof *p->stack_index;
        free(p->stack_index);
        p->stack_index = idx;
        p->stack_index_cap = cap;
        return 0;
}

static int intern_frames(struct pairing *p, const uint64_t *frames, size_t n, bool names, uint32_t *ret_id) {
        bool cut = false;
        if (p->finished || !ret_id || (n > 0 && !frames))
                return -EINVAL;
        if (p->r.truncated)
                return -ENOBUFS;
        if (n > PAIRING_FRAMES_MAX) {
                n = PAIRING_FRAMES_MAX;
                cut = true;
        }
        uint64_t h = hash_u64((uint64_t) n << 2 | (uint64_t) names << 1 | (uint64_t) cut, 0);
        for (size_t i = 0; i < n; i++)
                h = hash_u64(h, frames[i]);

        if (p->stack_index_cap) {
                size_t s = pairing_slot_of(h, p->stack_index_cap);
                for (;;) {
                        uint32_t id = p->stack_index[s];
                        if (id == 0)
                                break;
                        if (stack_equal(p, &p->stacks[id - 1], h, frames, n, names, cut)) {
                                *ret_id = id - 1;
                                return 0;
                        }
                        s = (s + 1) & (p->stack_index_cap - 1);
                }
        }

        if (p->n_stacks >= UINT32_MAX - 1)
                return -ENOBUFS;
        int r;
        if ((p->n_stacks + 1) * LOAD_DEN > p->stack_index_cap * LOAD_NUM) {
                r = stack_index_grow(p);
                if (r < 0)
                        return r;
        }
        r = budget_reserve(p, (void **) &p->stacks, &p->stacks_allocated, p->n_stacks + 1, sizeof *p->stacks, 64);
        if (r < 0)
                return r;
        r = budget_reserve(p, (void **) &p->frames, &p->frames_allocated, p->n_frames + n, sizeof *p->frames, 1024);
        if (r < 0)
                return r;

        struct stack_entry *s = &p->stacks[p->n_stacks];
        *s = (struct stack_entry) {
                .hash = h,
                .frames_off = p->n_frames,
                .n_frames = (uint32_t) n,
                .names = names,
                .cut = cut,
        };
        if (n > 0)
                memcpy(p->frames + p->n_frames, frames, n * sizeof *frames);
        p->n_frames += n;

        size_t slot = pairing_slot_of(h, p->stack_index_cap);
        while (p->stack_index[slot] != 0)
                slot = (slot + 1) & (p->stack_index_cap - 1);
        p->stack_index[slot] = (uint32_t) p->n_stacks + 1;
        *ret_id = (uint32_t) p->n_stacks++;
        return 0;
}

int pairing_intern_stack(struct pairing *p, const uint64_t *addresses, size_t n, uint32_t *ret_id) {
        if (!p)
                return -EINVAL;
        return intern_frames(p, addresses, n, false, ret_id);
}

static int name_index_grow(struct pairing *p) {
        size_t cap = p->name_index_cap ? p->name_index_cap * 2 : NAME_INDEX_MIN;
        uint32_t *idx = NULL;
        int r = budget_realloc(p, (void **) &idx, 0, cap * sizeof *idx);
        if (r < 0)
                return r;
        memset(idx, 0, cap * sizeof *idx);
        for (size_t i = 0; i < p->n_names; i++) {
                size_t s = pairing_slot_of(p->names[i].hash, cap);
                while (idx[s] != 0)
                        s = (s + 1) & (cap - 1);
                idx[s] = (uint32_t) i + 1;
        }
        p->mem -= p->name_index_cap * sizeof *p->name_index;
        free(p->name_index);
        p->name_index = idx;
        p->name_index_cap = cap;
        return 0;
}

static int intern_name(struct pairing *p, const char *name, size_t len, uint64_t *ret_token) {
        if (len > PAIRING_NAME_MAX || memchr(name, '\0', len))
                return -EINVAL;
        uint64_t h = hash_bytes(name, len);
        if (p->name_index_cap) {
                size_t s = pairing_slot_of(h, p->name_index_cap);
                for (;;) {
                        uint32_t id = p->name_index[s];
                        if (id == 0)
                                break;
                        const struct name_entry *e = &p->names[id - 1];
                        if (e->hash == h && e->len == len && memcmp(p->name_chars + e->off, name, len) == 0) {
                                *ret_token = id - 1;
                                return 0;
                        }
                        s = (s + 1) & (p->name_index_cap - 1);
                }
        }
        if (p->n_names >= UINT32_MAX - 1)
                return -ENOBUFS;
        int r;
        if ((p->n_names + 1) * LOAD_DEN > p->name_index_cap * LOAD_NUM) {
                r = name_index_grow(p);
                if (r < 0)
                        return r;
        }
        r = budget_reserve(p, (void **) &p->names, &p->names_allocated, p->n_names + 1, sizeof *p->names, 256);
        if (r < 0)
                return r;
        r = budget_reserve(p, (void **) &p->name_chars, &p->name_chars_allocated, p->n_name_chars + len, 1, 4096);
        if (r < 0)
                return r;
        memcpy(p->name_chars + p->n_name_chars, name, len);
        p->names[p->n_names] = (struct name_entry) { .off = p->n_name_chars, .len = len, .hash = h };
        p->n_name_chars += len;
        size_t s = pairing_slot_of(h, p->name_index_cap);
        while (p->name_index[s] != 0)
                s = (s + 1) & (p->name_index_cap - 1);
        p->name_index[s] = (uint32_t) p->n_names + 1;
        *ret_token = p->n_names++;
        return 0;
}

int pairing_intern_names(struct pairing *p, const char *const *names, const size_t *lengths, size_t n,
                         uint32_t *ret_id) {
        uint64_t tokens[PAIRING_FRAMES_MAX];
        if (!p || !ret_id || (n > 0 && !names))
                return -EINVAL;
        if (p->finished)
                return -EINVAL;
        if (p->r.truncated)
                return -ENOBUFS;
        size_t kept = n > PAIRING_FRAMES_MAX ? PAIRING_FRAMES_MAX : n;
        for (size_t i = 0; i < kept; i++) {
                if (!names[i])
                        return -EINVAL;
                int r = intern_name(p, names[i], lengths ? lengths[i] : strlen(names[i]), &tokens[i]);
                if (r < 0)
                        return r;
        }
        /* intern_frames() reads no more than PAIRING_FRAMES_MAX entries and
         * marks a deeper stack as cut. */
        return intern_frames(p, tokens, n > PAIRING_FRAMES_MAX ? PAIRING_FRAMES_MAX + 1 : n, true, ret_id);
}

/* ---- pointer table ---- */

static int ptrs_rehash(struct pairing *p, size_t cap) {
        struct ptr_slot *n = NULL;
        int r = budget_realloc(p, (void **) &n, 0, cap * sizeof *n);
        if (r < 0)
                return r;
        memset(n, 0, cap * sizeof *n);
        for (size_t i = 0; i < p->ptrs_cap; i++) {
                const struct ptr_slot *o = &p->ptrs[i];
                if (o->ptr == 0)
                        continue;
                size_t s = pairing_slot_of(o->ptr, cap);
                while (n[s].ptr != 0)
                        s = (s + 1) & (cap - 1);
                n[s] = *o;
        }
        p->mem -= p->ptrs_cap * sizeof *p->ptrs;
        free(p->ptrs);
        p->ptrs = n;
        p->ptrs_cap = cap;
        return 0;
}

/* Make room for every live object plus every queued alloc, so that
 * releasing the queue never needs memory the bound might refuse. */
static int ptrs_reserve(struct pairing *p, size_t need) {
        if (need * LOAD_DEN <= p->ptrs_cap * LOAD_NUM)
                return 0;
        size_t cap = p->ptrs_cap ? p->ptrs_cap : PTR_TABLE_MIN;
        while (need * LOAD_DEN > cap * LOAD_NUM) {
                if (cap > SIZE_MAX / 2 / sizeof(struct ptr_slot))
                        return -ENOBUFS;
                cap *= 2;
        }
        return ptrs_rehash(p, cap);
}

static struct ptr_slot *ptrs_find(struct pairing *p, uint64_t ptr) {
        if (p->ptrs_cap == 0)
                return NULL;
        size_t s = pairing_slot_of(ptr, p->ptrs_cap);
        for (;;) {
                struct ptr_slot *e = &p->ptrs[s];
                if (e->ptr == ptr)
                        return e;
                if (e->ptr == 0)
                        return NULL;
                s = (s + 1) & (p->ptrs_cap - 1);
        }
}

/* Linear-probing delete without tombstones: shift back the entries of the
 * cluster that the hole would cut off from their home slot. */
static void ptrs_delete(struct pairing *p, struct ptr_slot *e) {
        size_t mask = p->ptrs_cap - 1;
        size_t i = (size_t) (e - p->ptrs);
        size_t j = i;
        for (;;) {
                j = (j + 1) & mask;
                if (p->ptrs[j].ptr == 0)
                        break;
                size_t k = pairing_slot_of(p->ptrs[j].ptr, p->ptrs_cap);
                bool stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
                if (stays)
                        continue;
                p->ptrs[i] = p->ptrs[j];
                i = j;
        }
        p->ptrs[i].ptr = 0;
        p->ptrs_live--;
}

/* ---- pairing proper ---- */

static void note_pid(struct stack_entry *s, int32_t pid) {
        for (size_t i = 0; i < s->n_pids; i++)
                if (s->pids[i] == pid)
                        return;
        if (s->n_pids < PAIRING_PIDS_MAX)
                s->pids[s->n_pids++] = pid;
        else
                s->more_pids = true;
}

/* The old object at @e is gone without a traced free: the pointer was
 * handed out again (kfree_rcu, bulk frees, a lost event). Count it freed. */
static void implicit_free(struct pairing *p, struct ptr_slot *e, bool in_drain) {
        struct stack_entry *old = &p->stacks[e->stack];
        old->outstanding--;
        old->bytes_outstanding -= e->bytes;
        old->frees++;
        old->untraced_frees++;
        p->r.reallocs_unfreed++;
        if (in_drain)
                p->r.drain_frees++;
        else
                p->r.window_frees++;
}

static void process(struct pairing *p, const struct queued *q) {
        struct stack_entry *st = &p->stacks[q->stack];
        struct ptr_slot *e = ptrs_find(p, q->ptr);
        bool in_drain = p->r.alloc_end_ns != 0 && q->ts > p->r.alloc_end_ns;

        if (st->n_frames == 0 && (q->kind == PAIRING_ALLOC || !p->opt.frees_stackless))
                p->r.stackless_events++;
        if (q->kind == PAIRING_ALLOC) {
                if (in_drain) {
                        /* Past the allocation window: not counted, but the
                         * old object behind a live pointer is gone. */
                        p->r.drain_allocs++;
                        if (e) {
                                implicit_free(p, e, true);
                                ptrs_delete(p, e);
                        }
                        return;
                }
                p->r.allocs++;
                if (e) {
                        implicit_free(p, e, false);
                } else {
                        size_t s = pairing_slot_of(q->ptr, p->ptrs_cap);
                        while (p->ptrs[s].ptr != 0)
                                s = (s + 1) & (p->ptrs_cap - 1);
                        e = &p->ptrs[s];
                        e->ptr = q->ptr;
                        p->ptrs_live++;
                }
                e->ts = q->ts;
                e->stack = q->stack;
                e->bytes = q->bytes;
                st->allocs++;
                st->outstanding++;
                st->bytes_outstanding += q->bytes;
                note_pid(st, q->pid);
                return;
        }

        p->r.frees++;
        if (!e && p->opt.frees_unfiltered) {
                p->r.foreign_frees++;
                return;
        }
        if (in_drain)
                p->r.drain_frees++;
        else
                p->r.window_frees++;
        if (e) {
                struct stack_entry *a = &p->stacks[e->stack];
                a->frees++;
                a->outstanding--;
                a->bytes_outstanding -= e->bytes;
                st->site_frees++;
                p->r.matched_frees++;
                ptrs_delete(p, e);
        } else {
                st->site_unmatched++;
                p->r.unmatched_frees++;
        }
}

void pairing_end_allocs(struct pairing *p, uint64_t ts_ns) {
        if (p && !p->finished && p->r.alloc_end_ns == 0)
                p->r.alloc_end_ns = ts_ns ? ts_ns : 1;
}

static uint64_t head_ts(const struct pairing *p, uint32_t cpu) {
        const struct cpu_queue *q = &p->cpus[cpu];
        return q->v[q->head].ts;
}

static void heap_set(struct pairing *p, size_t i, uint32_t cpu) {
        p->heap[i] = cpu;
        p->cpus[cpu].heap_pos = (uint32_t) i;
}

static void heap_up(struct pairing *p, size_t i) {
        uint32_t cpu = p->heap[i];
        uint64_t ts = head_ts(p, cpu);
        while (i > 0) {
                size_t parent = (i - 1) / 2;
                if (head_ts(p, p->heap[parent]) <= ts)
                        break;
                heap_set(p, i, p->heap[parent]);
                i = parent;
        }
        heap_set(p, i, cpu);
}

static void heap_down(struct pairing *p, size_t i) {
        uint32_t cpu = p->heap[i];
        uint64_t ts = head_ts(p, cpu);
        for (;;) {
                size_t c = 2 * i + 1;
                if (c >= p->heap_len)
                        break;
                if (c + 1 < p->heap_len && head_ts(p, p->heap[c + 1]) < head_ts(p, p->heap[c]))
                        c++;
                if (head_ts(p, p->heap[c]) >= ts)
                        break;
                heap_set(p, i, p->heap[c]);
                i = c;
        }
        heap_set(p, i, cpu);
}

static void heap_pop(struct pairing *p) {
        p->cpus[p->heap[0]].heap_pos = HEAP_NONE;
        p->heap_len--;
        if (p->heap_len > 0) {
                heap_set(p, 0, p->heap[p->heap_len]);
                heap_down(p, 0);
        }
}

uint64_t pairing_release(struct pairing *p, uint64_t watermark_ns) {
        uint64_t n = 0;
        if (!p)
                return 0;
        while (p->heap_len > 0) {
                uint32_t cpu = p->heap[0];
                struct cpu_queue *q = &p->cpus[cpu];
                struct queued ev = q->v[q->head];
                if (ev.ts > watermark_ns)
                        break;
                q->head++;
                if (q->head == q->len) {
                        q->head = q->len = 0;
                        heap_pop(p);
                } else {
                        heap_down(p, 0);
                }
                p->queued--;
                if (ev.kind == PAIRING_ALLOC)
                        p->queued_allocs--;
                process(p, &ev);
                n++;
        }
        if (!p->any_released || watermark_ns > p->released_ts) {
                p->released_ts = watermark_ns;
                p->any_released = true;
        }
        return n;
}

static int cpus_reserve(struct pairing *p, uint32_t cpu) {
        if (cpu < p->n_cpus)
                return 0;
        size_t n = p->n_cpus ? p->n_cpus : 4;
        while (n <= cpu)
                n *= 2;
        if (n > PAIRING_CPUS_MAX)
                n = PAIRING_CPUS_MAX;
        /* The heap is grown first: a heap larger than cpus[] is harmless. */
        int r = budget_reserve(p, (void **) &p->heap, &p->heap_allocated, n, sizeof *p->heap, 4);
        if (r < 0)
                return r;
        r = budget_realloc(p, (void **) &p->cpus, p->n_cpus * sizeof *p->cpus, n * sizeof *p->cpus);
        if (r < 0)
                return r;
        for (size_t i = p->n_cpus; i < n; i++)
                p->cpus[i] = (struct cpu_queue) { .heap_pos = HEAP_NONE };
        p->n_cpus = n;
        return 0;
}

static int queue_insert(struct pairing *p, uint32_t cpu, const struct queued *ev) {
        struct cpu_queue *q = &p->cpus[cpu];
        if (q->len == q->allocated && q->head > 0) {
                memmove(q->v, q->v + q->head, (q->len - q->head) * sizeof *q->v);
                q->len -= q->head;
                q->head = 0;
        }
        int r = budget_reserve(p, (void **) &q->v, &q->allocated, q->len + 1, sizeof *q->v, QUEUE_MIN);
        if (r < 0)
                return r;
        /* Per-CPU streams are nearly sorted: an event whose stack record
         * came late sits a few places back. */
        size_t i = q->len;
        while (i > q->head && q->v[i - 1].ts > ev->ts)
                i--;
        if (i < q->len)
                memmove(q->v + i + 1, q->v + i, (q->len - i) * sizeof *q->v);
        q->v[i] = *ev;
        q->len++;
        if (q->heap_pos == HEAP_NONE) {
                heap_set(p, p->heap_len, cpu);
                p->heap_len++;
                heap_up(p, p->heap_len - 1);
        } else if (i == q->head) {
                heap_up(p, q->heap_pos);
        }
        return 0;
}

int pairing_push(struct pairing *p, const struct pairing_event *e) {
        if (!p || !e || p->finished)
                return -EINVAL;
        if (e->stack_id >= p->n_stacks || e->cpu >= PAIRING_CPUS_MAX ||
            (e->kind != PAIRING_ALLOC && e->kind != PAIRING_FREE))
                return -EINVAL;
        if (p->r.truncated) {
                p->r.dropped_events++;
                return -ENOBUFS;
        }
        if (e->ptr == 0) {
                p->r.null_ptr_events++;
                return 0;
        }

        int r = cpus_reserve(p, e->cpu);
        if (r == 0 && e->kind == PAIRING_ALLOC)
                r = ptrs_reserve(p, p->ptrs_live + p->queued_allocs + 1);
        if (r < 0) {
                if (r == -ENOBUFS)
                        p->r.dropped_events++;
                return r;
        }

        struct queued ev = {
                .ts = e->timestamp_ns,
                .ptr = e->ptr,
                .stack = e->stack_id,
                .bytes = e->bytes > UINT32_MAX ? UINT32_MAX : (uint32_t) e->bytes,
                .pid = e->pid,
                .kind = e->kind,
        };

        if (p->r.events == 0 || ev.ts < p->r.first_ts_ns)
                p->r.first_ts_ns = ev.ts;
        if (ev.ts > p->max_ts)
                p->max_ts = ev.ts;

        if (p->any_released && ev.ts < p->released_ts) {
                /* Its turn has passed: pair it now, and say so, since a
                 * late alloc may leave a free before it unmatched. */
                p->r.late_events++;
                p->r.events++;
                process(p, &ev);
                return 0;
        }

        r = queue_insert(p, e->cpu, &ev);
        if (r < 0) {
                if (r == -ENOBUFS)
                        p->r.dropped_events++;
                return r;
        }
        p->queued++;
        if (ev.kind == PAIRING_ALLOC)
                p->queued_allocs++;
        p->r.events++;

        if (p->opt.reorder_window_ns != PAIRING_WINDOW_NONE && p->heap_len > 0) {
                uint64_t w = p->max_ts >= p->opt.reorder_window_ns ? p->max_ts - p->opt.reorder_window_ns : 0;
                if (head_ts(p, p->heap[0]) <= w)
                        pairing_release(p, w);
        }
        return 0;
}
