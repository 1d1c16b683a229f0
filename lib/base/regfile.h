/* regfile — open an input that must be a regular file, without ever blocking.
 *
 * Every file slabwatch reads — /proc and /sys files, the config, snapshots,
 * recorded logs, bundles — is a regular file (the kernel's proc, sysfs,
 * tracefs and debugfs files are too). A FIFO, socket or device in its place
 * (or a symlink to one, such as /dev/zero) would block open() or read()
 * forever, or never end: it is refused before the first read. */
#pragma once

#include <errno.h>
#include <sys/types.h>

/* The error for "exists, but is not a regular file". No errno says that;
 * EMEDIUMTYPE is never returned by the files we read, and regfile_strerror()
 * names it. */
#define REGFILE_ENOTREG EMEDIUMTYPE

/* Open @path read-only (O_NONBLOCK|O_CLOEXEC|O_NOCTTY: a FIFO without a
 * writer does not block open(), a tty does not become ours) and check with
 * fstat() that it is a regular file (or /dev/null, which reads as an empty
 * one). Returns the fd, or -errno: -EISDIR for a directory,
 * -REGFILE_ENOTREG for a FIFO, socket or other device. @ret_size (may
 * be NULL) gets st_size, which /proc and /sys report as 0 or 4096 whatever
 * they hold: a hint, never a bound. */
int regfile_open(const char *path, off_t *ret_size);

/* strerror(-@error) that also names -REGFILE_ENOTREG. */
const char *regfile_strerror(int error);
