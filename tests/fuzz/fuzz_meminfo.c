/* Fuzz the /proc/meminfo parser. */
#include <stdint.h>
#include <stdlib.h>

#include "memory/meminfo.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static struct meminfo m;
        if (meminfo_parse((const char *) data, size, &m) == 0 && m.n_entries > MEMINFO_ENTRIES_MAX)
                __builtin_trap();
        uint64_t v;
        for (int k = 0; k < _MEMINFO_KEY_MAX; k++)
                (void) meminfo_get(&m, (enum meminfo_key) k, &v);
        return 0;
}
