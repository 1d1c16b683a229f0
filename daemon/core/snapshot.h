/* snapshot — the history on disk, so that a restarted slabwatchd goes on
 * with its trends: <state_dir>/history.snapshot, replaced atomically (write,
 * fsync, rename), checksummed, tagged with the boot id. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

struct daemon;

/* The snapshot file's name under state_dir. */
#define SNAPSHOT_FILE "history.snapshot"

/* Restore the history of @d's (fresh) engine from its snapshot, if there is
 * one. A missing file is a first start; a corrupt, foreign or unreadable one
 * is reported and set aside as history.snapshot.bad, and the daemon starts
 * fresh. Returns 0 when restored, -ENOENT when there was none, else -errno
 * (already logged). */
int snapshot_restore(struct daemon *d);

/* Write @d's history now. Errors are logged once until a save succeeds
 * again; returns 0 or -errno. */
int snapshot_save(struct daemon *d);

/* Save if history.snapshot is due (every history.snapshot since the last
 * save); call after each sample. */
void snapshot_tick(struct daemon *d, uint64_t mono_usec);
