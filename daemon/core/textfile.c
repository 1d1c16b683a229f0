/* textfile — atomic writes of the node_exporter textfile. */
#include "core/textfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/config.h"

int textfile_write(const char *path, const char *text, size_t len) {
        char tmp[CONFIG_PATH_MAX + 32];
        int r = 0;

        if (!path || !path[0])
                return -EINVAL;
        /* One writer (the daemon), so a fixed name is enough; ".tmp" keeps it
         * out of the collector's "*.prom" glob. */
        if ((size_t) snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp)
                return -ENAMETOOLONG;
        int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW, 0644);
        if (fd < 0)
                return -errno;
        while (len > 0) {
                ssize_t n = write(fd, text, len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        r = -errno;
                        break;
                }
                text += n;
                len -= (size_t) n;
        }
        /* No fsync: the file is rewritten every tick and nobody needs last
         * tick's figures after a crash; the rename alone makes it atomic
         * for readers. */
        if (close(fd) < 0 && r == 0)
                r = -errno;
        if (r == 0 && rename(tmp, path) < 0)
                r = -errno;
        if (r < 0)
                (void) unlink(tmp);
        return r;
}
