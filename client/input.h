/* input — the files the offline subcommands read: plain text, gzip
 * (concatenated members too, as `gzip >>` appends) or xz, told apart by
 * their magic bytes, from a path or from standard input ("-"). Reading is
 * streamed through one fixed buffer, so a log of any length runs in bounded
 * memory; input_read_all() is for small files and takes a size limit. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Compressed (or plain) bytes read from the file per read(2). */
#define INPUT_CHUNK_SIZE ((size_t) 256 << 10)
/* Decoder memory an xz stream may ask for; `xz -9` needs 65 MiB. */
#define INPUT_XZ_MEMLIMIT ((uint64_t) 256 << 20)

struct input;

/* Open @path ("-": standard input, which input_close() leaves open) and
 * tell its format from its first bytes. 0 and *@ret_in, or -errno from
 * open(2)/read(2), -ENOMEM, -REGFILE_ENOTREG if a named @path is not a
 * regular file (a FIFO, socket or device is refused without blocking). */
int input_open(const char *path, struct input **ret_in);

/* Close what input_open() opened and free @in; NULL is a no-op. */
void input_close(struct input *in);

/* Up to @size bytes of decompressed text into @buf: the count (> 0), 0 at
 * the end, -errno on a read error, -EBADMSG for corrupt or truncated
 * compressed data, -ENOBUFS for an xz stream needing more decoder memory
 * than INPUT_XZ_MEMLIMIT, -EINVAL for @size 0. */
ssize_t input_read(struct input *in, void *buf, size_t size);

/* Read all of @path (as input_open()) into a NUL-terminated buffer of at
 * most @max_len bytes of text. 0 with *@ret_buf (free() it) and *@ret_len;
 * -EFBIG if the text is longer than @max_len; else as input_open() and
 * input_read(). */
int input_read_all(const char *path, size_t max_len, char **ret_buf, size_t *ret_len);

/* A message for an error this module returned (negative errno): its own
 * meanings for -EBADMSG, -ENOBUFS and -EFBIG, strerror() for the rest. */
const char *input_strerror(int error);

/* @path as messages name it: "<stdin>" for "-", else @path itself. */
const char *input_display_name(const char *path);
