/* path — joining file-system paths, the one way slabwatch composes them. */
#pragma once

#include <stddef.h>

/* Join @dir and @rel with exactly one '/' into @buf ("/" + "proc" is
 * "/proc", "/tmp/root/" + "/proc" is "/tmp/root/proc"). Returns 0, or
 * -ENAMETOOLONG if the result (NUL included) does not fit @size bytes. */
int path_join(char *buf, size_t size, const char *dir, const char *rel);
