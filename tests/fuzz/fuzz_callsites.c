/* Fuzz the alloc_calls / alloc_traces parser and the snapshot diff. */
#include <stdint.h>
#include <stdlib.h>

#include "callsites/callsites.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        const char *text = (const char *) data;
        struct callsites whole = {}, half = {};
        struct callsites_diff d = {};

        if (callsites_parse(text, size, &whole) == 0 && callsites_diff(&whole, &whole, &d) == 0) {
                /* A snapshot against itself changes nothing. */
                for (size_t i = 0; i < d.n; i++)
                        if (d.deltas[i].delta != 0 || !d.deltas[i].old_site || !d.deltas[i].new_site)
                                __builtin_trap();
                callsites_diff_done(&d);
        }
        if (whole.n_sites > CALLSITES_SITES_MAX)
                __builtin_trap();
        if (callsites_parse(text + size / 2, size - size / 2, &half) == 0 && callsites_diff(&half, &whole, &d) == 0) {
                if (d.n > half.n_sites + whole.n_sites)
                        __builtin_trap();
                callsites_diff_done(&d);
        }
        callsites_done(&whole);
        callsites_done(&half);
        return 0;
}
