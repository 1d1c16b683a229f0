/* textfile — the metrics file for node_exporter's textfile collector,
 * replaced atomically so a scrape never reads half a file. */
#pragma once

#include <stddef.h>

#include "core/daemon.h"

/* Write @len bytes of @text to @path atomically: a temporary file in the
 * same directory (named so the collector, which reads only *.prom, ignores
 * it), then rename(2) over @path. Mode 0644. The directory must exist.
 * Returns 0 or -errno (the temporary file is removed on failure). */
int textfile_write(const char *path, const char *text, size_t len);

/* Render the daemon's metrics (Prometheus text) and write them to the
 * configured metrics.textfile; 0 without doing anything when the key is
 * unset. Returns 0 or -errno. Call once per tick. */
int textfile_update(struct daemon *d);
