/* history_impl — the history's storage, shared by history.c (sampling and
 * reading) and history_snapshot.c (writing it to bytes and back). Nothing
 * else includes it. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "caches/history.h"

/* First size of the series array; it doubles when full. */
#define SERIES_INITIAL 64

struct tier {
        uint64_t width_usec;    /* 0 for the raw tier */
        size_t cap;
        size_t count;           /* slots in use, ≤ cap */
        size_t head;            /* newest slot */
        uint64_t bucket;        /* t / width of the newest slot */
        uint64_t seq;           /* slots opened so far: names the newest slot */
        uint64_t *t;
};

struct column {
        void *v;                /* cap × fields, uint16_t or uint32_t */
        bool wide;
};

struct series {
        char *name;             /* NULL: slot free */
        unsigned kind;
        uint8_t n_values;
        uint64_t hash;
        uint64_t last_present_usec;
        uint64_t written[_HISTORY_TIER_MAX];    /* tier seq of the slot last written */
        struct column col[_HISTORY_TIER_MAX];
};

struct history {
        struct history_params params;
        struct tier tiers[_HISTORY_TIER_MAX];
        struct series *series;
        uint32_t series_allocated;
        uint32_t series_end;    /* one past the highest id ever used */
        size_t n_series;
        uint32_t *index;        /* id + 1, 0 = empty; linear probing */
        size_t index_size;      /* power of two */
        uint64_t n_samples;
        uint64_t last_usec;
        bool in_sample;
        history_retire_fn retire;
        void *userdata;
};

/* Fields per slot of a series with @n_values values in @tier. */
unsigned history_fields_of(enum history_tier tier, unsigned n_values);

/* Hash of a series' kind and name, for the index. */
uint64_t history_name_hash(unsigned kind, const char *name);

/* Free a series' name and columns and zero it. */
void history_series_release(struct series *s);

/* Put series @id into the name index (which has room). */
void history_index_insert(struct history *h, uint32_t id);

/* Double the name index and insert every named series again. */
int history_index_grow(struct history *h);

/* Slot index of the k-th newest slot of @t (k = 0 is the newest). */
size_t history_slot_of(const struct tier *t, size_t k);
