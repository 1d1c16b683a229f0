/* Fuzz the labels reader of recorded logs, and scoring against what it read. */
#include <stdint.h>
#include <stdlib.h>

#include "caches/labels.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static struct labels l;
        static struct labels_score s;
        unsigned line;
        if (labels_parse((const char *) data, size, &l, &line) < 0)
                return 0;
        struct labels_trip trips[4] = {
                { .t = l.start, .cache = "kmalloc-64" },
                { .t = l.end, .cache = "UDP" },
        };
        for (size_t i = 0; i < l.n_leaks && i < 2; i++) {
                trips[2 + i].t = l.leaks[i].from + 60;
                trips[2 + i] = (struct labels_trip) { .t = l.leaks[i].from + 60 };
                for (size_t j = 0; l.leaks[i].caches[0][j] && j + 1 < sizeof trips[0].cache; j++)
                        trips[2 + i].cache[j] = l.leaks[i].caches[0][j];
        }
        labels_score(&l, trips, 4, &s);
        if (s.tripped > s.must)
                __builtin_trap();
        return 0;
}
