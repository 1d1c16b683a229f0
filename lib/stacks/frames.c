#include "stacks/frames.h"

#include <fnmatch.h>
#include <string.h>

/* fnmatch(3) patterns. A trailing '*' takes the release suffixes
 * (_noprof, _node, _lru, .constprop.N); names that would catch code with
 * the same beginning (kmalloc_reserve is skbuff's, kfree_skb is code) are
 * spelled out instead. */
static const char *const tracing_patterns[] = {
        "trace_event_raw_*", "perf_trace_*", "__traceiter_*", "__bpf_trace_*", "__trace_stack*",
        "__ftrace_trace_stack*", "ftrace_*", "show_stack*", "dump_stack*", "__dump_stack*", "dump_backtrace*",
        "arch_stack_walk", "stack_trace_save*", "save_stack_trace*", "__save_stack_trace*", "stack_depot_save*",
        /* SLUB's own function that prints TRACE records (pre-5.9 sysfs trace). */
        "trace", "trace.*",
        /* The recorders and printers of kmemleak, KASAN and page_owner, and
         * the ARM unwinder. */
        "kmemleak_alloc*", "kasan_save_*", "kasan_set_track", "__kasan_*", "____kasan_*", "kasan_kmalloc",
        "kasan_slab_alloc", "kasan_slab_free", "kasan_record_aux_stack*", "kasan_report*", "print_report",
        "print_address_description*", "poison_kmalloc_redzone", "poison_slab_object", "unpoison_slab_object",
        "__set_page_owner", "unwind_backtrace",
};

static const char *const allocator_patterns[] = {
        "set_track*", "alloc_debug_processing*", "free_debug_processing*", "free_to_partial_list*",
        "slab_post_alloc_hook*", "slab_pre_alloc_hook*", "__memcg_slab_post_alloc_hook*",
        "memcg_slab_post_alloc_hook*", "alloc_tagging_slab_alloc_hook*", "slab_alloc*", "__slab_alloc*",
        "___slab_alloc*", "get_partial_node*", "get_partial", "get_partial.*", "get_any_partial*", "slab_free*", "__slab_free*", "do_slab_free*", "kmem_cache_alloc*", "kmem_cache_zalloc*",
        "kmem_cache_free*", "__kmem_cache_alloc*", "__kmem_cache_free*", "kmalloc", "kmalloc_noprof*", "__kmalloc*",
        "__do_kmalloc*", "kmalloc_trace*", "kmalloc_node*", "kmalloc_large*", "kmalloc_order*", "kmalloc_nolock*",
        "kmalloc_array*", "kzalloc*", "kcalloc*", "kfree", "kfree.*", "kvmalloc*", "__kvmalloc*", "kvfree",
        "kvfree.*", "krealloc*", "__krealloc*", "kmemdup*", "kstrdup*", "kstrndup*", "memdup_user*",
        "vmemdup_user*",
        /* The page allocator, for page_owner stacks. */
        "post_alloc_hook", "prep_new_page", "get_page_from_freelist", "__alloc_pages*", "__alloc_frozen_pages*",
        /* Every socket family allocates through these two: the family's
         * create function (inet_create, unix_create1) says more. */
        "sk_prot_alloc*", "sk_alloc*",
};

static bool matches_any(const char *const *patterns, size_t n, const char *s) {
        for (size_t i = 0; i < n; i++)
                if (fnmatch(patterns[i], s, 0) == 0)
                        return true;
        return false;
}

enum frames_class frames_classify(const char *function, size_t len) {
        char name[FRAMES_NAME_MAX + 1];

        if (!function || len == 0 || len > FRAMES_NAME_MAX)
                return FRAMES_CODE;
        memcpy(name, function, len);
        name[len] = '\0';
        if (matches_any(tracing_patterns, sizeof tracing_patterns / sizeof *tracing_patterns, name))
                return FRAMES_TRACING;
        if (matches_any(allocator_patterns, sizeof allocator_patterns / sizeof *allocator_patterns, name))
                return FRAMES_ALLOCATOR;
        return FRAMES_CODE;
}

bool frames_is_noise(const char *function) {
        return function && frames_classify(function, strlen(function)) != FRAMES_CODE;
}

const char *frames_function(const char *frame, size_t *ret_len) {
        const char *p = frame, *e;

        while (*p == ' ' || *p == '\t')
                p++;
        if (p[0] == '?' && p[1] == ' ')
                p += 2;
        if (p[0] == '[' && p[1] == '<') {
                const char *close = strchr(p, ']');
                if (close) {
                        p = close + 1;
                        while (*p == ' ')
                                p++;
                }
        }
        for (e = p; *e && *e != '+' && *e != ' ' && *e != '\t' && *e != '['; e++)
                ;
        *ret_len = (size_t) (e - p);
        return p;
}

size_t frames_first_code(const char *const *frames, size_t n) {
        for (size_t i = 0; i < n; i++) {
                size_t len;
                const char *f = frames_function(frames[i], &len);
                if (len > 0 && frames_classify(f, len) == FRAMES_CODE)
                        return i;
        }
        return n;
}
