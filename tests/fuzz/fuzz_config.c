/* Fuzz the slabwatch.yaml parser. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static struct config c;
        static struct config_error e;
        if (config_parse((const char *) data, size, &c, &e) < 0) {
                if (!memchr(e.message, '\0', sizeof e.message))
                        __builtin_trap();
        } else if (c.n_rules > CONFIG_RULES_MAX)
                __builtin_trap();
        return 0;
}
