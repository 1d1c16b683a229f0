/* labels — what happened during a recorded slab log, and how a detector's
 * trips score against it.
 *
 * A labels file sits beside each recording (tests/fixtures/recordings/). It
 * is line based, `#` starts a comment, times are epoch seconds (the clock of
 * the log's "@ <epoch>" lines), free text only at the end of a line:
 *
 *   recording NAME
 *   kernel RELEASE MACHINE
 *   machine MemTotal=<kB> cpus=<n>
 *   interval SECONDS
 *   start EPOCH
 *   end EPOCH
 *   benign FROM TO what ran
 *   leak FROM TO CACHE[,CACHE...] RATE/s SIZEB what leaked
 *   companion CACHE FROM why it may trip after FROM (dragged by a leak)
 *   excused CACHE why it may trip at any time
 *   event EPOCH what happened
 *
 * A leak's caches are the ones it grows steadily and a detector must trip.
 * Any other trip is false, unless its cache is a companion (after its FROM)
 * or excused. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LABELS_NAME_MAX 64
#define LABELS_CACHE_MAX 64
#define LABELS_TEXT_MAX 160
#define LABELS_SPANS_MAX 64
#define LABELS_LEAKS_MAX 16
#define LABELS_LEAK_CACHES_MAX 8
#define LABELS_NOTES_MAX 64
#define LABELS_TRIPS_MAX 256
/* A labels file larger than this is not one. */
#define LABELS_FILE_MAX (256 * 1024)

struct labels_leak {
        double from, to;
        char caches[LABELS_LEAK_CACHES_MAX][LABELS_CACHE_MAX];
        size_t n_caches;
        double rate_per_sec;    /* objects per second */
        double object_bytes;
        char what[LABELS_TEXT_MAX];
};

struct labels_span {
        double from, to;
        char what[LABELS_TEXT_MAX];
};

/* A companion (from >= 0) or an excused cache (from < 0). */
struct labels_note {
        char cache[LABELS_CACHE_MAX];
        double from;
        char why[LABELS_TEXT_MAX];
};

struct labels {
        char name[LABELS_NAME_MAX];
        char kernel[LABELS_NAME_MAX];
        double interval_sec;
        double start, end;
        struct labels_span benign[LABELS_SPANS_MAX];
        size_t n_benign;
        struct labels_leak leaks[LABELS_LEAKS_MAX];
        size_t n_leaks;
        struct labels_note notes[LABELS_NOTES_MAX];
        size_t n_notes;
};

/* Parse labels text. Unknown keywords and malformed lines are errors: the
 * 1-based line goes to *ret_line. Returns 0, -EINVAL, -E2BIG (a table is
 * full), -EFBIG (longer than LABELS_FILE_MAX). @ret is written on success. */
int labels_parse(const char *buf, size_t len, struct labels *ret, unsigned *ret_line);

/* The longest a leak of @rate_per_sec objects and @bytes_per_hour may take
 * to trip (the detector's promise): 5 minutes at 10 MiB/h or more, 30 at one
 * object per second or more, 40 at half, and 0 (no promise) below. */
double labels_deadline_sec(double rate_per_sec, double bytes_per_hour);

/* One trip as a detector reported it. */
struct labels_trip {
        double t;
        char cache[LABELS_CACHE_MAX];
};

enum labels_verdict {
        LABELS_TRIP_LEAK,       /* a must-trip cache of a running leak */
        LABELS_TRIP_COMPANION,
        LABELS_TRIP_EXCUSED,
        LABELS_TRIP_FALSE,
};

struct labels_score {
        size_t must;                    /* (leak, cache) pairs that must trip */
        size_t tripped;                 /* of those, how many did */
        size_t late;                    /* tripped after labels_deadline_sec() */
        double latency_sec[LABELS_LEAKS_MAX][LABELS_LEAK_CACHES_MAX]; /* < 0: never */
        size_t n_false;
        struct labels_trip false_trips[LABELS_TRIPS_MAX];
        size_t n_allowed;               /* companion and excused trips */
};

/* What a trip of @cache at @t means under @l. */
enum labels_verdict labels_judge(const struct labels *l, const char *cache, double t);

/* Score @n trips (any order) against @l. */
void labels_score(const struct labels *l, const struct labels_trip *trips, size_t n, struct labels_score *ret);
