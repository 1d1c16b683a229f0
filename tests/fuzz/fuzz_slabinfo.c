/* Fuzz the /proc/slabinfo parser, and the snapshot diff over its result. */
#include <stdint.h>
#include <stdlib.h>

#include "caches/slabdiff.h"
#include "caches/slabinfo.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct slabinfo s = {};
        struct slabdiff d = {};
        if (slabinfo_parse((const char *) data, size, &s) == 0) {
                if (s.n_caches > SLABINFO_CACHES_MAX)
                        __builtin_trap();
                uint32_t page = slabdiff_guess_page_size(&s);
                if (slabdiff_compute(&s, &s, page ? page : 4096, &d) == 0) {
                        if (d.n_unchanged != d.n_caches)
                                __builtin_trap();
                        slabdiff_done(&d);
                }
        }
        slabinfo_done(&s);
        return 0;
}
