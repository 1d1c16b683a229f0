#include "core/readfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/path.h"
#include "base/regfile.h"

static int grow(struct readfile_buf *b, size_t max) {
        if (b->allocated >= max + 1)
                return -EFBIG;
        size_t n = b->allocated ? b->allocated * 2 : 64 * 1024;
        if (n > max + 1)
                n = max + 1;
        char *p = realloc(b->data, n);
        if (!p)
                return -ENOMEM;
        b->data = p;
        b->allocated = n;
        return 0;
}

int readfile_read(struct readfile_buf *b, const char *path) {
        size_t max = b->max ? b->max : READFILE_MAX_DEFAULT;
        int fd, r = 0;

        off_t size = 0;
        b->len = 0;
        fd = regfile_open(path, &size);
        if (fd < 0)
                return fd;
        /* A file that says it is too large is refused before reading; /proc
         * and /sys say 0 or 4096, so the read below still enforces @max. */
        if ((uint64_t) size > max) {
                close(fd);
                return -EFBIG;
        }
        for (;;) {
                if (b->len + 1 >= b->allocated && (r = grow(b, max)) < 0)
                        break;
                ssize_t n = read(fd, b->data + b->len, b->allocated - b->len - 1);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        r = -errno;
                        break;
                }
                if (n == 0)
                        break;
                b->len += (size_t) n;
        }
        close(fd);
        if (r < 0) {
                b->len = 0;
                return r;
        }
        b->data[b->len] = '\0';
        /* Give back what a much larger file once needed. */
        if (b->allocated > READFILE_KEEP_MIN && b->allocated > 4 * (b->len + 1)) {
                size_t n = 2 * (b->len + 1) > READFILE_KEEP_MIN ? 2 * (b->len + 1) : READFILE_KEEP_MIN;
                char *p = realloc(b->data, n);
                if (p) {
                        b->data = p;
                        b->allocated = n;
                }
        }
        return 0;
}

void readfile_done(struct readfile_buf *b) {
        free(b->data);
        b->data = NULL;
        b->len = b->allocated = 0;
}

int readfile_small(const char *path, char *buf, size_t size) {
        int fd = regfile_open(path, NULL);
        if (fd < 0)
                return fd;
        ssize_t n;
        do
                n = read(fd, buf, size);
        while (n < 0 && errno == EINTR);
        int saved = errno;
        close(fd);
        if (n < 0)
                return -saved;
        if ((size_t) n >= size)
                return -E2BIG;
        buf[n] = '\0';
        while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
                buf[--n] = '\0';
        return 0;
}

int readfile_path(char *buf, size_t size, const char *dir, const char *rel) {
        return path_join(buf, size, dir, rel);
}
