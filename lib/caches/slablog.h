/* slablog — read a slab log: the samples a tester records with
 *
 *   while sleep 10; do echo "@ $(date +%s)"; cat /proc/meminfo /proc/slabinfo; done >> slab.log
 *
 * "@ <epoch seconds[.fraction]>" starts a sample; its meminfo and slabinfo
 * sections are recognised by content, in either order, and either may be
 * missing. Logs from small devices are read too: busybox `date` has no %N
 * and prints "@ 1796164986.%N" (whole seconds, told once); serial console
 * captures have "\r\n" line ends and kernel messages ("[  12.345678] ...")
 * between the lines, which are left out (told once). The reader is streaming: feed it chunks cut anywhere, and it hands
 * each complete sample to a callback. Memory is bounded by the largest sample
 * allowed; a larger one is reported with its line number and skipped. */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Default bound on one sample's text: /proc/slabinfo of a big machine is
 * ~100 KB, meminfo 2 KB. */
#define SLABLOG_SAMPLE_MAX_DEFAULT (8u << 20)
/* Smallest bound slablog_new() accepts. */
#define SLABLOG_SAMPLE_MAX_MIN 4096u
/* Longest "@ ..." line; longer is malformed. */
#define SLABLOG_MARK_MAX 64

/* Errors reported through the error callback. */
#define SLABLOG_ERR_MARK (-EINVAL)      /* an "@" line without a valid time */
#define SLABLOG_ERR_TOO_BIG (-E2BIG)    /* a sample over the size bound: skipped */
#define SLABLOG_ERR_NO_MARK (-EBADMSG)  /* text before the first "@" line: ignored */
/* Told once each, not counted as errors: */
#define SLABLOG_WARN_WHOLE_SECONDS (-ENOTSUP) /* "@ 123.%N": a date without %N; whole seconds used */
#define SLABLOG_WARN_CONSOLE (-ENOMSG)        /* kernel console messages inside samples, left out */

struct slablog_sample {
        uint64_t t_usec;
        unsigned long line;             /* line number of its "@" line (1-based) */
        const char *meminfo;            /* NULL when the sample has none */
        size_t meminfo_len;
        unsigned long meminfo_line;     /* line number of its first line */
        const char *slabinfo;           /* from the "slabinfo - version" line; NULL if none */
        size_t slabinfo_len;
        unsigned long slabinfo_line;
};

/* Receives each sample; the spans live until it returns. A negative return
 * stops slablog_feed() / slablog_finish(), which return it. */
typedef int (*slablog_sample_fn)(const struct slablog_sample *s, void *userdata);

/* Told about each malformed part (SLABLOG_ERR_*), with its 1-based line. */
typedef void (*slablog_error_fn)(unsigned long line, int error, void *userdata);

struct slablog;

/* A reader bounding samples to @sample_max bytes (0: the default).
 * @on_error may be NULL. -EINVAL (bound too small, no callback), -ENOMEM. */
int slablog_new(size_t sample_max, slablog_sample_fn on_sample, slablog_error_fn on_error, void *userdata,
                struct slablog **ret);

/* Free @p; NULL is a no-op. */
void slablog_free(struct slablog *p);

/* Feed the next @len bytes. 0, -ENOMEM, or a callback's negative return. */
int slablog_feed(struct slablog *p, const char *buf, size_t len);

/* End of input: deliver the last sample. Same returns as slablog_feed(). */
int slablog_finish(struct slablog *p);

/* Samples delivered, errors reported, lines read so far; kernel console
 * lines left out of samples. */
uint64_t slablog_n_samples(const struct slablog *p);
uint64_t slablog_n_console_lines(const struct slablog *p);
uint64_t slablog_n_errors(const struct slablog *p);
unsigned long slablog_n_lines(const struct slablog *p);

/* Parse "@ 1795560135.241930921" (the whole line, optional trailing
 * whitespace) into µs since the epoch. 0; 1 for "@ 1795560135.%N" (a date
 * that does not know %N: whole seconds); -EINVAL, -ERANGE. */
int slablog_parse_mark(const char *line, size_t len, uint64_t *ret_usec);

/* Find the meminfo and slabinfo sections in one sample's text (@buf, @len)
 * and fill those fields of @ret (line numbers relative to @first_line). */
void slablog_split(const char *buf, size_t len, unsigned long first_line, struct slablog_sample *ret);
