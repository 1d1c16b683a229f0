/* Fuzz the /proc/kallsyms parser and its lookups. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "stacks/kallsyms.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct kallsyms *k = NULL;
        if (kallsyms_parse((const char *) data, size, &k) < 0)
                return 0;
        if (kallsyms_count(k) == 0 || kallsyms_count(k) > KALLSYMS_SYMBOLS_MAX)
                __builtin_trap();
        /* Addresses taken from the input itself, and around them. */
        for (size_t i = 0; i + 8 <= size && i < 64 * 8; i += 8) {
                uint64_t a;
                memcpy(&a, data + i, sizeof a);
                const char *name;
                uint64_t start, len;
                for (int d = -1; d <= 1; d++)
                        if (kallsyms_lookup(k, a + (uint64_t) d, &name, &start, &len) > 0 &&
                            (start > a + (uint64_t) d || (len > 0 && a + (uint64_t) d - start >= len) ||
                             strlen(name) > KALLSYMS_NAME_MAX))
                                __builtin_trap();
        }
        kallsyms_free(k);
        return 0;
}
