/* offline — slabwatchctl subcommands that need neither the daemon nor root:
 * `diff` (two slabinfo/meminfo snapshots, diff.c) and `stacks` (aggregate
 * kernel stack dumps, stacks.c), and the little they share. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

enum {
        EXIT_OK = 0,
        EXIT_ERROR = 1,
        EXIT_USAGE = 2,
        /* 3 is slabwatchctl's "daemon not reachable" */
        EXIT_NO_STACKS = 4,     /* stacks: the input was read, but no stack was found in it */
};

/* Parse a non-negative decimal count into *ret; false when it is not one. */
bool offline_parse_count(const char *s, size_t *ret);

/* After getopt_long() (opterr = 0) returned '?': name the option it refused. */
void offline_print_bad_option(const char *command, char **argv);

/* `slabwatchctl diff OLD NEW [--meminfo OLD_MI NEW_MI]`; argv[0] is "diff".
 * Returns the exit code: 0 ok, 1 error, 2 usage. */
int offline_diff_main(int argc, char **argv);

/* `slabwatchctl stacks FILE...` (`-` for stdin); argv[0] is "stacks".
 * Returns the exit code: 0 ok, 1 error, 2 usage, 4 no stack found. */
int offline_stacks_main(int argc, char **argv);
