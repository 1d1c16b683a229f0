/* pairing_impl — the pairing's internals, shared by its two halves:
 * pairing.c (interning, queues, pairing in time order) and
 * pairing_result.c (the result: frames resolved, stacks merged and
 * ranked). Not for other modules. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stacks/pairing.h"

/* Open-addressing tables are kept at most 3/4 full. */
#define LOAD_NUM 3
#define LOAD_DEN 4
#define PTR_TABLE_MIN 1024
#define STACK_INDEX_MIN 256
#define NAME_INDEX_MIN 256
#define QUEUE_MIN 256
#define ADDR_CACHE_MIN 1024
#define HEAP_NONE UINT32_MAX

/* Fibonacci hashing: kernel pointers share their high bits and are
 * aligned, so the multiply spreads the varying middle bits to the top. */
#define HASH_MULT UINT64_C(0x9E3779B97F4A7C15)

struct ptr_slot {
        uint64_t ptr;           /* 0 = empty */
        uint64_t ts;
        uint32_t stack;
        uint32_t bytes;
};

struct queued {
        uint64_t ts;
        uint64_t ptr;
        uint32_t stack;
        uint32_t bytes;
        int32_t pid;
        uint32_t kind;
};

struct cpu_queue {
        struct queued *v;
        size_t head;
        size_t len;
        size_t allocated;
        uint32_t heap_pos;      /* HEAP_NONE when empty */
};

struct stack_entry {
        uint64_t hash;
        size_t frames_off;      /* into frames[] */
        uint32_t n_frames;
        bool names;             /* frames are name tokens, not addresses */
        bool cut;
        uint8_t n_pids;
        bool more_pids;
        int32_t pids[PAIRING_PIDS_MAX];
        uint64_t allocs;
        uint64_t frees;
        uint64_t untraced_frees;
        uint64_t outstanding;
        uint64_t bytes_outstanding;
        uint64_t site_frees;
        uint64_t site_unmatched;
};

struct name_entry {
        size_t off;             /* into name_chars[] */
        size_t len;
        uint64_t hash;
};

struct pairing {
        struct pairing_options opt;
        uint64_t mem;
        uint64_t mem_peak;
        bool finished;

        struct ptr_slot *ptrs;
        size_t ptrs_cap;        /* power of two */
        size_t ptrs_live;
        size_t queued_allocs;

        struct stack_entry *stacks;
        size_t n_stacks;
        size_t stacks_allocated;
        uint32_t *stack_index;  /* id + 1, 0 = empty */
        size_t stack_index_cap;
        uint64_t *frames;
        size_t n_frames;
        size_t frames_allocated;

        struct name_entry *names;
        size_t n_names;
        size_t names_allocated;
        uint32_t *name_index;
        size_t name_index_cap;
        char *name_chars;
        size_t n_name_chars;
        size_t name_chars_allocated;

        struct cpu_queue *cpus;
        size_t n_cpus;
        uint32_t *heap;         /* CPUs with queued events, by head timestamp */
        size_t heap_len;
        size_t heap_allocated;
        size_t queued;

        uint64_t max_ts;
        uint64_t released_ts;
        bool any_released;

        struct pairing_result r;
};

static inline size_t pairing_slot_of(uint64_t key, size_t cap) {
        return (size_t) ((key * HASH_MULT) >> 32) & (cap - 1);
}
