/* Fuzz the stack dump parser and the aggregator behind it: any bytes, cut
 * into chunks anywhere, must give stacks within bounds or line errors. The
 * seeds cover every format: console, symbolized, ARM32, kmemleak, SLUB
 * object reports, KASAN, page_owner(_sort), tracefs, alloc_traces, and the
 * malformed variants. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "stacks/stackagg.h"
#include "stacks/stackdump.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int on_stack(const struct stackdump_stack *s, void *userdata) {
        if (s->n_frames == 0 || s->n_frames > STACKDUMP_FRAMES_MAX || s->line == 0 ||
            (unsigned) s->format >= _STACKDUMP_FORMAT_MAX || (unsigned) s->role >= _STACKDUMP_ROLE_MAX ||
            s->weight == 0 || s->n_lines_skipped > s->line + 1000000)
                __builtin_trap();
        for (size_t i = 0; i < s->n_frames; i++) {
                const struct stackdump_frame *f = &s->frames[i];
                if (!f->function || !f->module || !f->function[0] || !f->raw || !f->source)
                        __builtin_trap();
                if (f->raw[0] && stackdump_fold_length(f->raw, strlen(f->raw)) != strlen(f->function))
                        __builtin_trap();
        }
        return stackagg_add(userdata, s, 0);
}

static void on_error(uint64_t line, int error, void *userdata) {
        (void) userdata;
        if (line == 0 || (error != -E2BIG && error != -EBADMSG && error != -ENOMSG && error != -EPIPE))
                __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        if (size < 1)
                return 0;
        /* The first byte picks the chunk size and the aggregation options. */
        size_t step = (size_t) (data[0] & 0x3f) + 1;
        struct stackagg_options o = {
                .from = (data[0] & 0x40) ? "f*" : NULL,
                .keep_noise = (data[0] & 0x80) != 0,
                .max_stacks = 64,
                .max_memory_bytes = (size_t) 1 << 20,
        };
        const char *text = (const char *) data + 1;
        size -= 1;

        struct stackagg *a;
        struct stackdump_parser *p;
        if (stackagg_new(&o, &a) < 0)
                return 0;
        if (stackdump_parser_new(on_stack, on_error, a, &p) < 0) {
                stackagg_free(a);
                return 0;
        }
        int r = 0;
        for (size_t off = 0; off < size && r >= 0; off += step)
                r = stackdump_parser_feed(p, text + off, size - off < step ? size - off : step);
        if (r >= 0)
                stackdump_parser_finish(p);
        stackdump_parser_free(p);

        const struct stackagg_entry *const *v;
        int n = stackagg_ranked(a, &v);
        for (int i = 1; i < n; i++)
                if (v[i - 1]->count < v[i]->count)
                        __builtin_trap();
        struct stackagg_node *root;
        if (stackagg_tree(a, (data[0] & 1) ? STACKAGG_TREE_CALLERS_FIRST : STACKAGG_TREE_INNERMOST_FIRST, &root) == 0)
                stackagg_tree_free(root);
        struct stackagg_stats st;
        stackagg_get_stats(a, &st);
        if (st.memory_bytes > o.max_memory_bytes || st.distinct > o.max_stacks)
                __builtin_trap();
        stackagg_free(a);
        return 0;
}
