/* stackagg — interned names, a hash table of distinct stacks, a call tree.
 *
 * Every function name (and context string) is stored once and known by a
 * small integer id, so a stack's identity is an array of ids: hashing and
 * comparing it is cheap, and whether a name is noise or matches "from" is
 * decided once per name rather than once per frame. All of it lives in an
 * arena whose size counts against the memory cap. */
#include "stacks/stackagg.h"
#include "stacks/frames.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

/* Arena chunks; a larger request gets a chunk of its own. */
#define ARENA_CHUNK_SIZE ((size_t) 64 << 10)
/* Hash tables start this big (slots, a power of two) and stay ≤ 50 % full. */
#define TABLE_INITIAL 1024
#define ID_NONE UINT32_MAX

enum { CLASS_UNKNOWN, CLASS_YES, CLASS_NO };

struct chunk {
        struct chunk *next;
        size_t used;
        size_t size;
        max_align_t data[];
};

struct name {
        const char *s;
        uint64_t hash;
        uint8_t noise;
        uint8_t from;
};

struct entry {
        struct stackagg_entry pub;
        uint64_t hash;
        uint32_t *ids;
};

struct stackagg {
        struct stackagg_options o;
        const char *noise[STACKAGG_NOISE_MAX];
        size_t max_stacks;
        size_t max_memory;

        struct chunk *chunks;
        size_t memory;                  /* arena plus tables, counted against max_memory */

        struct name *names;             /* by id */
        size_t n_names, names_allocated;
        uint32_t *name_table;           /* open addressing: ids, ID_NONE = empty */
        size_t name_slots;

        struct entry **entries;         /* in order of first appearance */
        size_t n_entries, entries_allocated;
        uint32_t *entry_table;
        size_t entry_slots;

        const struct stackagg_entry **ranked;
        size_t ranked_allocated;

        struct stackagg_stats stats;
};

static uint64_t hash_bytes(const char *s, size_t n) {
        uint64_t h = 0xcbf29ce484222325u;
        for (size_t i = 0; i < n; i++) {
                h ^= (unsigned char) s[i];
                h *= 0x100000001b3u;
        }
        return h;
}

static uint64_t hash_ids(const uint32_t *ids, size_t n) {
        uint64_t h = 0x9e3779b97f4a7c15u ^ n;
        for (size_t i = 0; i < n; i++) {
                h ^= ids[i];
                h *= 0xff51afd7ed558ccdu;
                h ^= h >> 32;
        }
        return h;
}

static bool budget_allows(const struct stackagg *a, size_t more) {
        return a->memory + more <= a->max_memory;
}

static void *arena_alloc(struct stackagg *a, size_t size) {
        size = (size + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
        struct chunk *c = a->chunks;
        if (!c || c->size - c->used < size) {
                size_t csize = size > ARENA_CHUNK_SIZE ? size : ARENA_CHUNK_SIZE;
                if (!budget_allows(a, sizeof *c + csize))
                        return NULL;
                c = malloc(sizeof *c + csize);
                if (!c)
                        return NULL;
                c->next = a->chunks;
                c->used = 0;
                c->size = csize;
                a->chunks = c;
                a->memory += sizeof *c + csize;
        }
        void *p = (char *) c->data + c->used;
        c->used += size;
        return p;
}

/* Grow an array of @elem-sized items to hold @want, counting the memory. */
static int grow(struct stackagg *a, void **array, size_t *allocated, size_t want, size_t elem) {
        if (want <= *allocated)
                return 0;
        size_t n = *allocated ? *allocated * 2 : 64;
        while (n < want)
                n *= 2;
        size_t extra = (n - *allocated) * elem;
        if (!budget_allows(a, extra))
                return -ENOSPC;
        void *p = realloc(*array, n * elem);
        if (!p)
                return -ENOMEM;
        *array = p;
        *allocated = n;
        a->memory += extra;
        return 0;
}

static int table_new(struct stackagg *a, uint32_t **table, size_t slots) {
        if (!budget_allows(a, slots * sizeof(uint32_t)))
                return -ENOSPC;
        uint32_t *t = malloc(slots * sizeof *t);
        if (!t)
                return -ENOMEM;
        memset(t, 0xff, slots * sizeof *t);
        *table = t;
        a->memory += slots * sizeof *t;
        return 0;
}

static int name_table_grow(struct stackagg *a) {
        size_t slots = a->name_slots ? a->name_slots * 2 : TABLE_INITIAL;
        uint32_t *t;
        int r = table_new(a, &t, slots);
        if (r < 0)
                return r;
        for (size_t id = 0; id < a->n_names; id++) {
                size_t i = a->names[id].hash & (slots - 1);
                while (t[i] != ID_NONE)
                        i = (i + 1) & (slots - 1);
                t[i] = (uint32_t) id;
        }
        free(a->name_table);
        a->memory -= a->name_slots * sizeof(uint32_t);
        a->name_table = t;
        a->name_slots = slots;
        return 0;
}

/* The id of @s, adding it if the budget allows; ID_NONE if it does not. */
static uint32_t intern(struct stackagg *a, const char *s) {
        size_t n = strlen(s);
        uint64_t h = hash_bytes(s, n);
        if (a->name_slots) {
                size_t i = h & (a->name_slots - 1);
                for (uint32_t id; (id = a->name_table[i]) != ID_NONE; i = (i + 1) & (a->name_slots - 1))
                        if (a->names[id].hash == h && strcmp(a->names[id].s, s) == 0)
                                return id;
        }
        if (a->n_names >= ID_NONE - 1)
                return ID_NONE;
        if ((a->n_names + 1) * 2 > a->name_slots && name_table_grow(a) < 0)
                return ID_NONE;
        if (grow(a, (void **) &a->names, &a->names_allocated, a->n_names + 1, sizeof *a->names) < 0)
                return ID_NONE;
        char *copy = arena_alloc(a, n + 1);
        if (!copy)
                return ID_NONE;
        memcpy(copy, s, n + 1);
        uint32_t id = (uint32_t) a->n_names++;
        a->names[id] = (struct name) { .s = copy, .hash = h };
        size_t i = h & (a->name_slots - 1);
        while (a->name_table[i] != ID_NONE)
                i = (i + 1) & (a->name_slots - 1);
        a->name_table[i] = id;
        return id;
}

static bool matches_any(const char *const *patterns, size_t n, const char *s) {
        for (size_t i = 0; i < n; i++)
                if (fnmatch(patterns[i], s, 0) == 0)
                        return true;
        return false;
}

bool stackagg_is_default_noise(const char *function) {
        return frames_is_noise(function);
}

static bool classify_noise(const struct stackagg *a, const char *s) {
        if (!a->o.keep_noise && stackagg_is_default_noise(s))
                return true;
        return matches_any(a->noise, a->o.n_noise, s);
}

static bool is_noise(struct stackagg *a, uint32_t id, const char *s) {
        if (id == ID_NONE)
                return classify_noise(a, s);
        struct name *nm = &a->names[id];
        if (nm->noise == CLASS_UNKNOWN)
                nm->noise = classify_noise(a, s) ? CLASS_YES : CLASS_NO;
        return nm->noise == CLASS_YES;
}

static bool is_from(struct stackagg *a, uint32_t id, const char *s) {
        if (id == ID_NONE)
                return fnmatch(a->o.from, s, 0) == 0;
        struct name *nm = &a->names[id];
        if (nm->from == CLASS_UNKNOWN)
                nm->from = fnmatch(a->o.from, s, 0) == 0 ? CLASS_YES : CLASS_NO;
        return nm->from == CLASS_YES;
}

int stackagg_new(const struct stackagg_options *o, struct stackagg **ret) {
        static const struct stackagg_options defaults = {};
        if (!o)
                o = &defaults;
        if (o->n_noise > STACKAGG_NOISE_MAX)
                return -EINVAL;
        struct stackagg *a = calloc(1, sizeof *a);
        if (!a)
                return -ENOMEM;
        a->o = *o;
        a->max_stacks = o->max_stacks ? o->max_stacks : STACKAGG_STACKS_MAX_DEFAULT;
        a->max_memory = o->max_memory_bytes ? o->max_memory_bytes : STACKAGG_MEMORY_MAX_DEFAULT;
        /* Keep our own copies: the caller's strings may be short-lived. */
        for (size_t i = 0; i < o->n_noise; i++) {
                uint32_t id = intern(a, o->noise[i]);
                if (id == ID_NONE) {
                        stackagg_free(a);
                        return -ENOMEM;
                }
                a->noise[i] = a->names[id].s;
        }
        a->o.noise = a->noise;
        if (o->from) {
                uint32_t id = intern(a, o->from);
                if (id == ID_NONE) {
                        stackagg_free(a);
                        return -ENOMEM;
                }
                a->o.from = a->names[id].s;
        }
        *ret = a;
        return 0;
}

void stackagg_free(struct stackagg *a) {
        if (!a)
                return;
        for (struct chunk *c = a->chunks, *next; c; c = next) {
                next = c->next;
                free(c);
        }
        free(a->names);
        free(a->name_table);
        free(a->entries);
        free(a->entry_table);
        free(a->ranked);
        free(a);
}

static void uset_add(struct stackagg_uset *set, uint32_t v) {
        size_t i = 0;
        while (i < set->n && set->values[i] < v)
                i++;
        if (i < set->n && set->values[i] == v)
                return;
        if (set->n == STACKAGG_SET_MAX) {
                set->more = true;
                return;
        }
        memmove(set->values + i + 1, set->values + i, (set->n - i) * sizeof set->values[0]);
        set->values[i] = v;
        set->n++;
}

static void sset_add(struct stackagg *a, struct stackagg_sset *set, const char *s) {
        for (size_t i = 0; i < set->n; i++)
                if (strcmp(set->values[i], s) == 0)
                        return;
        if (set->n == STACKAGG_SET_MAX) {
                set->more = true;
                return;
        }
        uint32_t id = intern(a, s);
        if (id == ID_NONE) {
                set->more = true;
                return;
        }
        set->values[set->n++] = a->names[id].s;
}

static void entry_note(struct stackagg *a, struct entry *e, const struct stackdump_stack *s) {
        const struct stackdump_context *c = &s->ctx;
        e->pub.count += s->weight;
        e->pub.records++;
        e->pub.formats |= 1u << s->format;
        e->pub.roles |= 1u << s->role;
        if (c->have & STACKDUMP_HAVE_SIZE) {
                e->pub.object_bytes += c->object_bytes;
                e->pub.sized++;
        }
        if (c->have & STACKDUMP_HAVE_AGE) {
                if (!e->pub.aged || c->age_msec < e->pub.age_min_msec)
                        e->pub.age_min_msec = c->age_msec;
                if (!e->pub.aged || c->age_msec > e->pub.age_max_msec)
                        e->pub.age_max_msec = c->age_msec;
                e->pub.aged++;
        }
        if (c->have & STACKDUMP_HAVE_CPU)
                uset_add(&e->pub.cpus, c->cpu);
        if (c->have & STACKDUMP_HAVE_PID)
                uset_add(&e->pub.pids, c->pid);
        if (c->have & STACKDUMP_HAVE_COMM)
                sset_add(a, &e->pub.comms, c->comm);
        if (c->have & STACKDUMP_HAVE_TAINT)
                sset_add(a, &e->pub.taints, c->taint);
        if (c->have & STACKDUMP_HAVE_RELEASE)
                sset_add(a, &e->pub.releases, c->release);
        if (c->have & STACKDUMP_HAVE_EVENT)
                sset_add(a, &e->pub.events, c->event);
        if (c->have & STACKDUMP_HAVE_CACHE)
                sset_add(a, &e->pub.caches, c->cache);
}

static int entry_table_grow(struct stackagg *a) {
        size_t slots = a->entry_slots ? a->entry_slots * 2 : TABLE_INITIAL;
        uint32_t *t;
        int r = table_new(a, &t, slots);
        if (r < 0)
                return r;
        for (size_t k = 0; k < a->n_entries; k++) {
                size_t i = a->entries[k]->hash & (slots - 1);
                while (t[i] != ID_NONE)
                        i = (i + 1) & (slots - 1);
                t[i] = (uint32_t) k;
        }
        free(a->entry_table);
        a->memory -= a->entry_slots * sizeof(uint32_t);
        a->entry_table = t;
        a->entry_slots = slots;
        return 0;
}

static void drop(struct stackagg *a, const struct stackdump_stack *s) {
        a->stats.dropped++;
        a->stats.dropped_weight += s->weight;
}

int stackagg_add(struct stackagg *a, const struct stackdump_stack *s, unsigned source) {
        uint32_t ids[STACKDUMP_FRAMES_MAX];
        const struct stackdump_frame *kept[STACKDUMP_FRAMES_MAX];
        size_t n = 0;
        bool unknown = false;

        a->stats.stacks++;
        a->stats.weight += s->weight;
        if (s->n_frames_dropped > 0)
                a->stats.truncated++;

        for (size_t i = 0; i < s->n_frames && i < STACKDUMP_FRAMES_MAX; i++) {
                const struct stackdump_frame *f = &s->frames[i];
                if (f->unreliable && !a->o.keep_unreliable) {
                        a->stats.unreliable_frames++;
                        continue;
                }
                kept[n] = f;
                ids[n] = intern(a, f->function);
                if (ids[n] == ID_NONE)
                        unknown = true;
                n++;
        }

        size_t start = 0;
        if (a->o.from) {
                while (start < n && !is_from(a, ids[start], kept[start]->function))
                        start++;
                if (start == n) {
                        a->stats.no_from++;
                        return 0;
                }
        } else
                while (start < n && is_noise(a, ids[start], kept[start]->function))
                        start++;
        if (start == n) {
                a->stats.empty++;
                return 0;
        }
        const uint32_t *key = ids + start;
        size_t kn = n - start;
        uint64_t h = hash_ids(key, kn);

        if (!unknown && a->entry_slots) {
                size_t i = h & (a->entry_slots - 1);
                for (uint32_t k; (k = a->entry_table[i]) != ID_NONE; i = (i + 1) & (a->entry_slots - 1)) {
                        struct entry *e = a->entries[k];
                        if (e->hash == h && e->pub.n_frames == kn && memcmp(e->ids, key, kn * sizeof *key) == 0) {
                                entry_note(a, e, s);
                                a->stats.counted++;
                                return 0;
                        }
                }
        }

        /* A new distinct stack. */
        if (unknown || a->n_entries >= a->max_stacks) {
                drop(a, s);
                return 0;
        }
        if ((a->n_entries + 1) * 2 > a->entry_slots) {
                int r = entry_table_grow(a);
                if (r == -ENOSPC) {
                        drop(a, s);
                        return 0;
                }
                if (r < 0)
                        return r;
        }
        int r = grow(a, (void **) &a->entries, &a->entries_allocated, a->n_entries + 1, sizeof *a->entries);
        if (r == -ENOSPC) {
                drop(a, s);
                return 0;
        }
        if (r < 0)
                return r;
        struct entry *e = arena_alloc(a, sizeof *e);
        uint32_t *eids = e ? arena_alloc(a, kn * sizeof *eids) : NULL;
        struct stackagg_frame *frames = eids ? arena_alloc(a, kn * sizeof *frames) : NULL;
        if (!frames) {
                drop(a, s);
                return 0;
        }
        for (size_t i = 0; i < kn; i++) {
                const struct stackdump_frame *f = kept[start + i];
                uint32_t mod = f->module[0] ? intern(a, f->module) : ID_NONE;
                uint32_t raw = f->raw && f->raw[0] ? intern(a, f->raw) : ID_NONE;
                uint32_t src = f->source && f->source[0] ? intern(a, f->source) : ID_NONE;
                frames[i] = (struct stackagg_frame) {
                        .function = a->names[key[i]].s,
                        .module = mod == ID_NONE ? "" : a->names[mod].s,
                        .raw = raw == ID_NONE ? "" : a->names[raw].s,
                        .source = src == ID_NONE ? "" : a->names[src].s,
                        .inlined = f->inlined,
                        .offset = f->offset,
                        .size = f->size,
                        .has_offset = f->has_offset,
                };
        }
        memcpy(eids, key, kn * sizeof *eids);
        *e = (struct entry) {
                .pub = {
                        .frames = frames,
                        .n_frames = kn,
                        .seq = a->n_entries,
                        .first_source = source,
                        .first_line = s->line,
                },
                .hash = h,
                .ids = eids,
        };
        size_t i = h & (a->entry_slots - 1);
        while (a->entry_table[i] != ID_NONE)
                i = (i + 1) & (a->entry_slots - 1);
        a->entry_table[i] = (uint32_t) a->n_entries;
        a->entries[a->n_entries++] = e;
        entry_note(a, e, s);
        a->stats.counted++;
        a->stats.distinct = a->n_entries;
        return 0;
}

void stackagg_get_stats(const struct stackagg *a, struct stackagg_stats *ret) {
        *ret = a->stats;
        ret->distinct = a->n_entries;
        ret->memory_bytes = a->memory;
}

static int rank_cmp(const void *x, const void *y) {
        const struct stackagg_entry *a = *(const struct stackagg_entry *const *) x;
        const struct stackagg_entry *b = *(const struct stackagg_entry *const *) y;
        if (a->count != b->count)
                return a->count > b->count ? -1 : 1;
        return a->seq < b->seq ? -1 : a->seq > b->seq;
}

int stackagg_ranked(struct stackagg *a, const struct stackagg_entry *const **ret) {
        if (a->n_entries > a->ranked_allocated) {
                const struct stackagg_entry **r = realloc(a->ranked, a->n_entries * sizeof *r);
                if (!r)
                        return -ENOMEM;
                a->ranked = r;
                a->ranked_allocated = a->n_entries;
        }
        for (size_t i = 0; i < a->n_entries; i++)
                a->ranked[i] = &a->entries[i]->pub;
        if (a->n_entries > 1)
                qsort(a->ranked, a->n_entries, sizeof *a->ranked, rank_cmp);
        *ret = a->ranked;
        return (int) (a->n_entries > INT32_MAX ? INT32_MAX : a->n_entries);
}

/* Frame @depth of @e along the tree's direction. */
static size_t tree_pos(const struct entry *e, size_t depth, enum stackagg_tree_order order) {
        return order == STACKAGG_TREE_CALLERS_FIRST ? e->pub.n_frames - 1 - depth : depth;
}

struct tree_sort {
        size_t depth;
        enum stackagg_tree_order order;
};

static int tree_cmp(const void *x, const void *y, void *userdata) {
        const struct tree_sort *ts = userdata;
        const struct entry *a = *(const struct entry *const *) x;
        const struct entry *b = *(const struct entry *const *) y;
        bool a_ends = a->pub.n_frames <= ts->depth, b_ends = b->pub.n_frames <= ts->depth;
        if (a_ends || b_ends)
                return (int) b_ends - (int) a_ends;
        uint32_t ka = a->ids[tree_pos(a, ts->depth, ts->order)];
        uint32_t kb = b->ids[tree_pos(b, ts->depth, ts->order)];
        if (ka != kb)
                return ka < kb ? -1 : 1;
        return a->pub.seq < b->pub.seq ? -1 : a->pub.seq > b->pub.seq;
}

static int node_cmp(const void *x, const void *y) {
        const struct stackagg_node *a = x, *b = y;
        if (a->count != b->count)
                return a->count > b->count ? -1 : 1;
        return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* Fill @node's children from @v[0..n), all of which pass through @node,
 * whose frame is at @depth - 1 (the root has depth 0). */
static int tree_build(struct stackagg_node *node, struct entry **v, size_t n, size_t depth,
                      enum stackagg_tree_order order) {
        struct tree_sort ts = { .depth = depth, .order = order };
        qsort_r(v, n, sizeof *v, tree_cmp, &ts);
        size_t i = 0;
        while (i < n && v[i]->pub.n_frames <= depth) {
                node->self += v[i]->pub.count;
                i++;
        }
        size_t groups = 0;
        for (size_t j = i; j < n; j++)
                if (j == i || v[j - 1]->ids[tree_pos(v[j - 1], depth, order)] != v[j]->ids[tree_pos(v[j], depth, order)])
                        groups++;
        if (groups == 0)
                return 0;
        node->children = calloc(groups, sizeof *node->children);
        if (!node->children)
                return -ENOMEM;
        size_t g = 0;
        while (i < n) {
                uint32_t id = v[i]->ids[tree_pos(v[i], depth, order)];
                size_t j = i;
                while (j < n && v[j]->ids[tree_pos(v[j], depth, order)] == id)
                        j++;
                struct stackagg_node *c = &node->children[g++];
                node->n_children = g;
                c->seq = UINT64_MAX;
                const struct entry *first = v[i];
                for (size_t k = i; k < j; k++) {
                        c->count += v[k]->pub.count;
                        c->records += v[k]->pub.records;
                        if (v[k]->pub.seq < c->seq) {
                                c->seq = v[k]->pub.seq;
                                first = v[k];
                        }
                }
                c->frame = &first->pub.frames[tree_pos(first, depth, order)];
                int r = tree_build(c, v + i, j - i, depth + 1, order);
                if (r < 0)
                        return r;
                i = j;
        }
        qsort(node->children, node->n_children, sizeof *node->children, node_cmp);
        return 0;
}

int stackagg_tree(struct stackagg *a, enum stackagg_tree_order order, struct stackagg_node **ret_root) {
        struct stackagg_node *root = calloc(1, sizeof *root);
        if (!root)
                return -ENOMEM;
        struct entry **v = NULL;
        if (a->n_entries > 0) {
                v = malloc(a->n_entries * sizeof *v);
                if (!v) {
                        free(root);
                        return -ENOMEM;
                }
                memcpy(v, a->entries, a->n_entries * sizeof *v);
        }
        for (size_t i = 0; i < a->n_entries; i++) {
                root->count += a->entries[i]->pub.count;
                root->records += a->entries[i]->pub.records;
        }
        int r = a->n_entries > 0 ? tree_build(root, v, a->n_entries, 0, order) : 0;
        free(v);
        if (r < 0) {
                stackagg_tree_free(root);
                return r;
        }
        *ret_root = root;
        return 0;
}

static void node_free_children(struct stackagg_node *node) {
        for (size_t i = 0; i < node->n_children; i++)
                node_free_children(&node->children[i]);
        free(node->children);
}

void stackagg_tree_free(struct stackagg_node *root) {
        if (!root)
                return;
        node_free_children(root);
        free(root);
}
