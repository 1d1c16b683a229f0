/* offline — slabwatchctl subcommands that need neither the daemon nor root:
 * `diff` (two slabinfo/meminfo snapshots) and `stacks` (aggregate kernel
 * stack dumps). */
#pragma once

/* `slabwatchctl diff OLD NEW [--meminfo OLD_MI NEW_MI]`; argv[0] is "diff".
 * Returns the exit code: 0 ok, 1 error, 2 usage. */
int offline_diff_main(int argc, char **argv);

/* `slabwatchctl stacks FILE...` (`-` for stdin); argv[0] is "stacks".
 * Returns the exit code: 0 ok, 1 error, 2 usage. */
int offline_stacks_main(int argc, char **argv);
