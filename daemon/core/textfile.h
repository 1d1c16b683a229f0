/* textfile — the metrics file for node_exporter's textfile collector,
 * replaced atomically so a scrape never reads half a file. It writes the
 * text it is given (the daemon renders it: daemon_write_textfile()). */
#pragma once

#include <stddef.h>

/* Write @len bytes of @text to @path atomically: a temporary file in the
 * same directory (named so the collector, which reads only *.prom, ignores
 * it), then rename(2) over @path. Mode 0644. The directory must exist.
 * Returns 0 or -errno (the temporary file is removed on failure). */
int textfile_write(const char *path, const char *text, size_t len);
