/* units — sizes for people: "512 B", "384.0 KiB", "9.3 MiB" (1024-based). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* Format @bytes into @buf with a binary unit; negative values get "-", and
 * positive ones "+" when @plus is set. Returns @buf. */
const char *units_format_bytes(double bytes, bool plus, char *buf, size_t size);
