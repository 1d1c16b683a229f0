/* input — see input.h. */
#include "input.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <lzma.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "base/regfile.h"

/* Bytes that tell the formats apart; the longest magic is xz's. */
static const uint8_t input_gzip_magic[] = { 0x1f, 0x8b };
static const uint8_t input_xz_magic[] = { 0xfd, '7', 'z', 'X', 'Z', 0x00 };
#define INPUT_MAGIC_MAX (sizeof input_xz_magic)

enum input_format {
        INPUT_PLAIN,
        INPUT_GZIP,
        INPUT_XZ,
};

struct input {
        int fd;
        bool owns_fd;                   /* not stdin */
        enum input_format format;
        uint8_t *raw;                   /* INPUT_CHUNK_SIZE bytes read from fd */
        size_t raw_len;
        size_t raw_pos;                 /* raw[raw_pos..raw_len) not yet used */
        bool raw_eof;
        bool done;                      /* the compressed data ended */
        z_stream z;                     /* kept in the heap object: zlib points back at it */
        bool z_init;
        lzma_stream x;
        bool x_init;
};

const char *input_display_name(const char *path) {
        return strcmp(path, "-") == 0 ? "<stdin>" : path;
}

const char *input_strerror(int error) {
        switch (error) {
        case -EBADMSG:
                return "corrupt or truncated compressed data";
        case -ENOBUFS:
                return "xz data needs more decoder memory than allowed";
        case -EFBIG:
                return "file too large";
        case -REGFILE_ENOTREG:
                return "not a regular file (a FIFO, socket or device); to read a pipe, give \"-\" and pipe it in";
        default:
                return strerror(-error);
        }
}

/* Make at least @want (<= INPUT_CHUNK_SIZE) unused bytes available, fewer
 * only at the end of the file, moving what is left to the front of the
 * buffer: a gzip member's magic may straddle two reads, and a pipe may
 * trickle. */
static int input_fill(struct input *in, size_t want) {
        if (in->raw_len - in->raw_pos >= want || in->raw_eof)
                return 0;
        memmove(in->raw, in->raw + in->raw_pos, in->raw_len - in->raw_pos);
        in->raw_len -= in->raw_pos;
        in->raw_pos = 0;
        while (in->raw_len < want && !in->raw_eof) {
                ssize_t n = read(in->fd, in->raw + in->raw_len, INPUT_CHUNK_SIZE - in->raw_len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                in->raw_len += (size_t) n;
                in->raw_eof = n == 0;
        }
        return 0;
}

static bool input_starts_with(const struct input *in, const uint8_t *magic, size_t len) {
        return in->raw_len - in->raw_pos >= len && memcmp(in->raw + in->raw_pos, magic, len) == 0;
}

void input_close(struct input *in) {
        if (!in)
                return;
        if (in->z_init)
                inflateEnd(&in->z);
        if (in->x_init)
                lzma_end(&in->x);
        if (in->owns_fd)
                close(in->fd);
        free(in->raw);
        free(in);
}

int input_open(const char *path, struct input **ret_in) {
        struct input *in = calloc(1, sizeof *in);
        int r;

        if (!in)
                return -ENOMEM;
        in->fd = -1;
        in->raw = malloc(INPUT_CHUNK_SIZE);
        if (!in->raw) {
                r = -ENOMEM;
                goto fail;
        }
        if (strcmp(path, "-") == 0)
                in->fd = STDIN_FILENO;
        else {
                /* A named input must be a regular file: a FIFO would block
                 * open() and /dev/zero never end. A pipe comes as "-". */
                in->fd = regfile_open(path, NULL);
                if (in->fd < 0) {
                        r = in->fd;
                        goto fail;
                }
                in->owns_fd = true;
        }
        r = input_fill(in, INPUT_MAGIC_MAX);
        if (r < 0)
                goto fail;
        if (input_starts_with(in, input_gzip_magic, sizeof input_gzip_magic)) {
                in->format = INPUT_GZIP;
                /* 16 + MAX_WBITS: a gzip wrapper, not zlib's. */
                if (inflateInit2(&in->z, 16 + MAX_WBITS) != Z_OK) {
                        r = -ENOMEM;
                        goto fail;
                }
                in->z_init = true;
        } else if (input_starts_with(in, input_xz_magic, sizeof input_xz_magic)) {
                in->format = INPUT_XZ;
                in->x = (lzma_stream) LZMA_STREAM_INIT;
                if (lzma_stream_decoder(&in->x, INPUT_XZ_MEMLIMIT, LZMA_CONCATENATED) != LZMA_OK) {
                        r = -ENOMEM;
                        goto fail;
                }
                in->x_init = true;
        }
        *ret_in = in;
        return 0;
fail:
        input_close(in);
        return r;
}

static ssize_t input_read_plain(struct input *in, uint8_t *buf, size_t size) {
        int r = input_fill(in, 1);
        if (r < 0)
                return r;
        size_t n = in->raw_len - in->raw_pos;
        if (n > size)
                n = size;
        memcpy(buf, in->raw + in->raw_pos, n);
        in->raw_pos += n;
        return (ssize_t) n;
}

static ssize_t input_read_gzip(struct input *in, uint8_t *buf, size_t size) {
        int r;
        if (size > UINT_MAX)
                size = UINT_MAX;
        while (!in->done) {
                if ((r = input_fill(in, 1)) < 0)
                        return r;
                size_t avail = in->raw_len - in->raw_pos;
                if (avail == 0)
                        return -EBADMSG; /* the file ended inside a member */
                in->z.next_in = in->raw + in->raw_pos;
                in->z.avail_in = (uInt) avail;
                in->z.next_out = buf;
                in->z.avail_out = (uInt) size;
                int zr = inflate(&in->z, Z_NO_FLUSH);
                in->raw_pos = in->raw_len - in->z.avail_in;
                size_t produced = size - in->z.avail_out;
                if (zr == Z_STREAM_END) {
                        /* Another member may follow (`cat a.gz b.gz`, a log
                         * appended with `gzip >>`); anything else after a
                         * member is ignored, as gzip(1) does. */
                        if ((r = input_fill(in, sizeof input_gzip_magic)) < 0)
                                return r;
                        if (input_starts_with(in, input_gzip_magic, sizeof input_gzip_magic)) {
                                if (inflateReset(&in->z) != Z_OK)
                                        return -EBADMSG;
                        } else
                                in->done = true;
                } else if (zr != Z_OK && zr != Z_BUF_ERROR)
                        return -EBADMSG;
                if (produced > 0)
                        return (ssize_t) produced;
        }
        return 0;
}

static ssize_t input_read_xz(struct input *in, uint8_t *buf, size_t size) {
        int r;
        while (!in->done) {
                if ((r = input_fill(in, 1)) < 0)
                        return r;
                in->x.next_in = in->raw + in->raw_pos;
                in->x.avail_in = in->raw_len - in->raw_pos;
                in->x.next_out = buf;
                in->x.avail_out = size;
                /* LZMA_FINISH once the file ended: a stream cut short is
                 * then an error, not a wait for more input. */
                lzma_ret xr = lzma_code(&in->x, in->raw_eof ? LZMA_FINISH : LZMA_RUN);
                in->raw_pos = in->raw_len - in->x.avail_in;
                size_t produced = size - in->x.avail_out;
                switch (xr) {
                case LZMA_STREAM_END:
                        in->done = true;
                        break;
                case LZMA_OK:
                        break;
                case LZMA_BUF_ERROR:
                        /* liblzma's "no progress twice in a row": with all
                         * of the file given, it ended inside a stream. */
                        if (in->raw_eof)
                                return -EBADMSG;
                        break;
                case LZMA_MEMLIMIT_ERROR:
                        return -ENOBUFS;
                case LZMA_MEM_ERROR:
                        return -ENOMEM;
                default:
                        return -EBADMSG;
                }
                if (produced > 0)
                        return (ssize_t) produced;
        }
        return 0;
}

ssize_t input_read(struct input *in, void *buf, size_t size) {
        if (size == 0)
                return -EINVAL;
        if (size > SSIZE_MAX)
                size = SSIZE_MAX;
        switch (in->format) {
        case INPUT_GZIP:
                return input_read_gzip(in, buf, size);
        case INPUT_XZ:
                return input_read_xz(in, buf, size);
        default:
                return input_read_plain(in, buf, size);
        }
}

int input_read_all(const char *path, size_t max_len, char **ret_buf, size_t *ret_len) {
        struct input *in = NULL;
        char *buf = NULL;
        size_t len = 0, allocated = 0;
        int r;

        /* One byte past @max_len is read to tell "exactly @max_len" from
         * "longer", and one more holds the NUL. */
        if (max_len > SSIZE_MAX - 2)
                return -EINVAL;
        r = input_open(path, &in);
        if (r < 0)
                return r;
        for (;;) {
                if (len == allocated) {
                        size_t want = allocated == 0 ? INPUT_CHUNK_SIZE : allocated * 2;
                        if (want > max_len + 1)
                                want = max_len + 1;
                        char *b = realloc(buf, want + 1);
                        if (!b) {
                                r = -ENOMEM;
                                break;
                        }
                        buf = b;
                        allocated = want;
                }
                ssize_t n = input_read(in, buf + len, allocated - len);
                if (n <= 0) {
                        r = (int) n;
                        break;
                }
                len += (size_t) n;
                if (len > max_len) {
                        r = -EFBIG;
                        break;
                }
        }
        input_close(in);
        if (r < 0) {
                free(buf);
                return r;
        }
        buf[len] = '\0';
        *ret_buf = buf;
        *ret_len = len;
        return 0;
}
