/* callseries — stage 3 over a capture: the call-site files of a cache
 * (alloc_calls/free_calls, alloc_traces/free_traces of every member),
 * snapshot after snapshot. Fed each snapshot parsed (or as read, parsed
 * here), it keeps the first one raw and parsed and the latest one parsed,
 * appends every site's count to a bounded CSV series, says once per source
 * what is wrong with it, and diffs first -> last. No I/O: the capture
 * reads the files. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "callsites/callsites.h"

/* Sources of one capture: alloc and free files of every member. */
#define CALLSERIES_SOURCES_MAX 128
/* callsites-series.csv is cut past this; the first and last snapshots are
 * kept whole regardless. */
#define CALLSERIES_CSV_MAX (4u << 20)
#define CALLSERIES_CACHE_MAX 96
#define CALLSERIES_FILE_MAX 32
/* A problem with a source, as one sentence. */
#define CALLSERIES_PROBLEM_MAX 1024

struct callseries_source {
        char cache[CALLSERIES_CACHE_MAX];       /* the member whose file it is */
        char file[CALLSERIES_FILE_MAX];         /* "alloc_calls", "free_traces", ... */
        bool free_site;
        char *first_raw;                        /* the first snapshot as read */
        size_t first_len;
        struct callsites first;
        struct callsites last;
        bool have_first;
        bool have_last;
        unsigned snapshots;
        int error;                              /* last problem, said once */
};

struct callseries {
        struct callseries_source *sources;
        size_t n_sources;
        unsigned snapshots;                     /* rounds begun */
        char *csv;                              /* "t_s,cache,file,site,count" lines */
        size_t csv_len;
        size_t csv_allocated;
        bool csv_cut;
        bool csv_cut_said;
};

/* An empty series. -ENOMEM. */
int callseries_new(struct callseries **ret);

/* Free @s; NULL is a no-op. */
void callseries_free(struct callseries *s);

/* Add the source @file of member @cache. Returns its index, or -E2BIG past
 * CALLSERIES_SOURCES_MAX, -ENAMETOOLONG, -EINVAL. */
int callseries_add_source(struct callseries *s, const char *cache, const char *file, bool free_site);

/* A new round of snapshots, one per source. */
void callseries_begin(struct callseries *s);

/* Add source @i's parsed snapshot @parsed, taken @t_s seconds into the
 * capture; the series takes it over (*parsed is zeroed). @raw (@raw_len
 * bytes, may be NULL) is the text it was parsed from, kept for the first
 * snapshot. 0, -EINVAL (then @parsed is freed). */
int callseries_add(struct callseries *s, size_t i, double t_s, struct callsites *parsed, const char *raw,
                   size_t raw_len);

/* Parse and add: source @i's snapshot as read, @t_s seconds into the
 * capture. Returns 0, or the parse's -errno (then the snapshot is not
 * kept). When there is
 * something about this source not said before (a parse failure, malformed
 * lines), *ret_said is set and @problem gets one sentence naming @label
 * (the file's path). */
int callseries_feed(struct callseries *s, size_t i, double t_s, const char *text, size_t len, const char *label,
                    char *problem, size_t problem_size, bool *ret_said);

/* True once, right after callsites-series.csv was cut at CALLSERIES_CSV_MAX. */
bool callseries_cut_news(struct callseries *s);

/* Source @i could not be read (@error, a -errno): true the first time
 * that error is seen for it (say it then). */
bool callseries_read_failed(struct callseries *s, size_t i, int error);

/* Diff first → last (first → first if one snapshot) of source @i into
 * @ret. -ENOENT without a snapshot, -ENOMEM. */
int callseries_diff(const struct callseries *s, size_t i, struct callsites_diff *ret);

/* "func+0x1/0x2 [module]" of a frame of a call-site stack. Returns @buf. */
const char *callseries_format_frame(const struct callsites_frame *f, char *buf, size_t size);
