/* offline — what `slabwatchctl diff` and `slabwatchctl stacks` share:
 * both read files a tester saved on a device (plain, gzip or xz, or stdin)
 * and run them through the same library code the daemon uses. */
#include "offline.h"

#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

bool offline_parse_count(const char *s, size_t *ret) {
        char *end;
        errno = 0;
        if (!s[0] || s[0] == '-')
                return false;
        unsigned long long v = strtoull(s, &end, 10);
        if (errno || *end || v > SIZE_MAX)
                return false;
        *ret = (size_t) v;
        return true;
}

void offline_print_bad_option(const char *command, char **argv) {
        if (optopt && optopt < 0x100)
                fprintf(stderr, "slabwatchctl %s: bad option -%c\n", command, optopt);
        else
                fprintf(stderr, "slabwatchctl %s: bad option %s\n", command, argv[optind - 1]);
}
