/* Fuzz the raw.trace reader (stacks/rawtrace): the header, the sections,
 * the formats, META, the symbol table and the pages, through the replay
 * that re-pairs them. Any input must come back as 0 or a negative errno
 * with a reason, never a crash or a read past the input. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "stacks/pairing.h"
#include "stacks/rawtrace.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        /* A copy of exactly @size bytes: ASan sees any read past it. */
        uint8_t *copy = malloc(size ? size : 1);
        if (!copy)
                return 0;
        memcpy(copy, data, size);
        struct rawtrace_info info;
        struct pairing_result *res = NULL;
        char err[256];
        int r = rawtrace_replay(copy, size, &info, &res, err, sizeof err);
        if (r == 0) {
                if (!res)
                        __builtin_trap();
                pairing_result_free(res);
        } else if (res || (r != -EBADMSG && r != -EPROTONOSUPPORT && r != -ENOMEM) || !err[0])
                __builtin_trap();
        free(copy);
        return 0;
}
