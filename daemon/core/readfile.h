/* readfile — read a whole (/proc, /sys) file into a reused, bounded buffer. */
#pragma once

#include <stddef.h>

/* Large enough for /proc/slabinfo on a big machine (~25 KB for 235 caches here). */
#define READFILE_MAX_DEFAULT (16u << 20)
/* A buffer four times larger than the last file is shrunk to twice it, not
 * below this (the first allocation): reads stay allocation-free at steady
 * state, and a burst does not keep its memory. */
#define READFILE_KEEP_MIN ((size_t) 64 << 10)

struct readfile_buf {
        char *data;             /* NUL-terminated after a successful read */
        size_t len;
        size_t allocated;
        size_t max;             /* a file larger than this is -EFBIG; 0 = READFILE_MAX_DEFAULT */
};

/* Read all of @path into @b, reusing its memory. Returns 0 or -errno
 * (-ENOENT, -EACCES, -EFBIG, -REGFILE_ENOTREG for a FIFO, socket or device:
 * see base/regfile.h). On error b->len is 0. Never blocks: only regular
 * files are read, and never more than b->max bytes. */
int readfile_read(struct readfile_buf *b, const char *path);

/* Free the buffer; @b may be zeroed. */
void readfile_done(struct readfile_buf *b);

/* Read a small file (sysfs attribute) into @buf (NUL-terminated, trailing
 * newline removed). -E2BIG if it does not fit; a non-regular file is
 * refused as by readfile_read(). */
int readfile_small(const char *path, char *buf, size_t size);

/* path_join() (lib/base/path.h) under its old name, for the callers in
 * daemon/capture that still use it. */
int readfile_path(char *buf, size_t size, const char *dir, const char *rel);
