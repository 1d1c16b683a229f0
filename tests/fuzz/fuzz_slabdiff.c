/* Fuzz snapshot recognition (meminfo and slabinfo in any order or alone)
 * and the comparison of two snapshots. */
#include <stdint.h>
#include <stdlib.h>

#include "caches/slabdiff.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static struct slabdiff_snapshot a, b;
        const char *text = (const char *) data;
        size_t cut = size / 2;
        struct slabdiff d = {};
        struct slabdiff_accounting acc;

        int ra = slabdiff_snapshot_parse(text, cut, &a);
        int rb = slabdiff_snapshot_parse(text + cut, size - cut, &b);
        if (ra == 0 && rb == 0 && a.has_slabinfo && b.has_slabinfo &&
            slabdiff_compute(&a.slabinfo, &b.slabinfo, 4096, &d) == 0) {
                if (d.n_caches != d.n_grown + d.n_shrunk + d.n_unchanged + d.n_appeared + d.n_vanished)
                        __builtin_trap();
                if (a.has_meminfo && b.has_meminfo)
                        (void) slabdiff_accounting(&d, &a.meminfo, &b.meminfo, &acc);
                struct slabdiff_mismatch m;
                int n = slabdiff_mismatch(&a, &b, a.has_meminfo ? &a.meminfo : NULL, b.has_meminfo ? &b.meminfo : NULL,
                                          &d, &m);
                if (n < 0 || n > 3 || m.shared_caches > m.all_caches)
                        __builtin_trap();
                slabdiff_done(&d);
        }
        slabdiff_snapshot_done(&a);
        slabdiff_snapshot_done(&b);
        return 0;
}
