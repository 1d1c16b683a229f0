/* replay — `slabwatchctl replay LOG [-c CONFIG] [--json]`: run a recorded slab
 * log through the daemon's own detector and verdict, as fast as the machine
 * allows, and print every trip, re-alert, clear and verdict change. */
#pragma once

/* Entry point; @argv[0] is "replay". Exit status: 0 done, 1 error (unreadable
 * or corrupt log, bad config, no sample), 2 usage. */
int replay_main(int argc, char **argv);
