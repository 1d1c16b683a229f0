/* path — joining file-system paths. */
#include "base/path.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int path_join(char *buf, size_t size, const char *dir, const char *rel) {
        size_t dl = strlen(dir);
        while (dl > 0 && dir[dl - 1] == '/')
                dl--;
        while (*rel == '/')
                rel++;
        int n = snprintf(buf, size, "%.*s/%s", (int) dl, dir, rel);
        if (n < 0 || (size_t) n >= size)
                return -ENAMETOOLONG;
        return 0;
}
