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
                return 0;
        }
        if (c.n_rules > CONFIG_RULES_MAX)
                __builtin_trap();
        /* Paths composed under paths.root stay terminated, and the socket
         * fits a sockaddr_un. */
        if (!memchr(c.paths.proc, '\0', sizeof c.paths.proc) ||
            !memchr(c.paths.state_dir, '\0', sizeof c.paths.state_dir) ||
            strnlen(c.server.socket, sizeof c.server.socket) >= CONFIG_SOCKET_PATH_MAX)
                __builtin_trap();
        return 0;
}
