/* frames — which frames of a kernel stack belong to the tracing machinery
 * or to the allocator rather than to the code that asked for memory. One
 * list for every reader of stacks: the live capture drops the tracing
 * frames a tracepoint puts on top of every stack and picks the report's
 * suspect past both kinds; the offline `slabwatchctl stacks` trims the same
 * frames at the inner end of every dumped stack. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* Longest function name classified; a longer one is code. */
#define FRAMES_NAME_MAX 512

enum frames_class {
        FRAMES_CODE,            /* the code path being hunted */
        FRAMES_TRACING,         /* tracepoint, dump and stack-saving machinery */
        FRAMES_ALLOCATOR,       /* the allocator and its generic wrappers */
};

/* Classify the bare function name @function ("kmem_cache_alloc_noprof",
 * "trace.part.59"), @len bytes of it. Every spelling of a release
 * (_noprof, _node, _lru, .constprop.0) classifies like the plain name. */
enum frames_class frames_classify(const char *function, size_t len);

/* True unless @function (NUL-terminated) is FRAMES_CODE. */
bool frames_is_noise(const char *function);

/* The function name inside a frame as text shows it: strips leading blanks,
 * "? ", "[<addr>] ", and from the name on "+off/len" and " [module]".
 * Returns its start (inside @frame) and its length in *ret_len. */
const char *frames_function(const char *frame, size_t *ret_len);

/* Index of the first frame of @frames (text frames, innermost first) that
 * is FRAMES_CODE, or @n if there is none. */
size_t frames_first_code(const char *const *frames, size_t n);
