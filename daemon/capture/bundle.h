/* bundle — capture bundles on disk: <state_dir>/captures/<id>/ holding
 * report.json, report.txt, history.csv and the raw inputs. A bundle is
 * written into a hidden temporary directory, every file fsync'ed, then
 * renamed into place and the parent fsync'ed, so a reader (or a crash)
 * sees a whole bundle or none. A disk budget rotates out the oldest. */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/config.h"
#include "callsites/callseries.h"
#include "report/report.h"

#define BUNDLE_ID_MAX 160
/* <state_dir>/captures: the configured path plus "/captures". */
#define BUNDLE_CAPTURES_MAX (CONFIG_PATH_MAX + 16)
/* Any path inside a bundle: captures dir, temporary id, a file name. */
#define BUNDLE_PATH_MAX (BUNDLE_CAPTURES_MAX + 512)
/* Name of the subdirectory of the state directory. */
#define BUNDLE_DIR "captures"
/* Prefix of bundles being written (and of leftovers of a crash). */
#define BUNDLE_TMP_PREFIX ".tmp-"
/* Bundles a listing looks at; the disk budget keeps far fewer in practice. */
#define BUNDLE_LIST_MAX 4096
/* A report.json larger than this is not loaded back for the socket. */
#define BUNDLE_REPORT_MAX (64u << 20)

/* The files of a capture bundle; this module alone names them. Besides
 * these, the raw call-site snapshots "<cache>.<file>.first" and ".last". */
#define BUNDLE_REPORT_JSON "report.json"        /* the whole report */
#define BUNDLE_REPORT_TXT "report.txt"          /* the same for humans */
#define BUNDLE_SUMMARY_JSON "summary.json"      /* what a listing shows */
#define BUNDLE_HISTORY_CSV "history.csv"        /* the cache's history up to the trip */
#define BUNDLE_REPORT_HTML "report.html"        /* one self-contained page for a person */
#define BUNDLE_STACKS_FOLDED "stacks.folded"    /* outstanding objects per stack, flamegraph.pl format */
#define BUNDLE_SERIES_CSV "callsites-series.csv" /* every call site's count at every snapshot */
#define BUNDLE_ALLOCINFO_FIRST "allocinfo.first" /* /proc/allocinfo at the start */
#define BUNDLE_ALLOCINFO_LAST "allocinfo.last"  /* and at the end */
#define BUNDLE_CHECKPOINT_JSON "checkpoint.json" /* marks a running capture's checkpoint */
#define BUNDLE_REPORT_CORRUPT "report.json.corrupt" /* a checkpoint's report.json that did not parse */
#define BUNDLE_RAW_TRACE "raw.trace"            /* the ring-buffer pages read, capped (stacks/rawtrace.h) */

struct bundle;

/* Make an id for a capture of @cache started at @realtime_usec:
 * "20250101T120000Z-kmalloc-8k" (the cache name reduced to [A-Za-z0-9._-]).
 * Returns @buf. */
const char *bundle_make_id(const char *cache, uint64_t realtime_usec, char *buf, size_t size);

/* True if @id is a name bundle_make_id() could produce (no '/', no leading
 * '.', bounded): safe to join to the captures directory. */
bool bundle_id_valid(const char *id);

/* Start a bundle @id under @state_dir (creating state_dir/captures as
 * needed). If a bundle of that id exists, a "-2", "-3"... suffix is added
 * (see bundle_id()). On failure returns -errno and copies the path that
 * failed into @error_path (may be NULL). */
int bundle_begin(const char *state_dir, const char *id, struct bundle **ret, char *error_path, size_t error_path_size);

/* Write file @name (a plain name, no '/') with @len bytes into the bundle
 * and fsync it. -errno (ENOSPC, EACCES, ...); bundle_error_path() tells
 * where. */
int bundle_add(struct bundle *b, const char *name, const void *data, size_t len);

/* bundle_add() of a json-c object, pretty-printed. */
int bundle_add_json(struct bundle *b, const char *name, json_object *o);

/* Make the bundle visible: fsync the temporary directory, rename it to
 * captures/<id>, fsync captures/. -errno with bundle_error_path() set. */
int bundle_commit(struct bundle *b);

/* The id actually used (with a suffix if the asked one was taken). */
const char *bundle_id(const struct bundle *b);

/* Final path of the bundle: <state_dir>/captures/<id>. */
const char *bundle_path(const struct bundle *b);

/* The path the last failure was about ("" if none). */
const char *bundle_error_path(const struct bundle *b);

/* Free @b; an uncommitted bundle's temporary directory is removed. NULL is a no-op. */
void bundle_free(struct bundle *b);

/* Remove the oldest bundles (by id, which sorts by start time) until the
 * captures take at most @budget_bytes, never @keep_id. Returns the number
 * removed, or -errno if the directory cannot be read. */
int bundle_rotate(const char *state_dir, uint64_t budget_bytes, const char *keep_id);

/* Remove temporary directories left by a crash mid-write (not the
 * checkpoints, see bundle_recover_interrupted()). Returns the number
 * removed or -errno. */
int bundle_cleanup_stale(const char *state_dir);

/* Bytes the bundles under @state_dir take (file sizes), 0 if none. */
uint64_t bundle_disk_usage(const char *state_dir);

/* The committed bundles, newest first, as a json-c array of
 * {"id", "path", "bytes", and from summary.json when present: "cache",
 * "start", "suspect", "top_outstanding", "lost_events", "method"}. */
int bundle_list(const char *state_dir, json_object **ret);

/* Bytes kept in memory for one file of a capture bundle. */
struct bundle_blob {
        const char *data;
        size_t len;                     /* 0: no such file */
};

/* Everything a capture writes besides its report. */
struct bundle_capture {
        struct bundle_blob history;             /* history.csv */
        const struct callseries *callsites;     /* the series and the first snapshots, NULL if none */
        const struct bundle_blob *last_raw;     /* per call-site source, its latest snapshot as read */
        struct bundle_blob allocinfo_first;
        struct bundle_blob allocinfo_last;
        struct bundle_blob raw_trace;           /* raw.trace of a tracefs capture */
};

/* Write the whole bundle of finished capture @rep under @state_dir, then
 * rotate older bundles to @budget_bytes. The id actually used is written
 * back into @rep->id. 0 with the bundle's directory in @dir; -errno with
 * the path that failed in @error_path (the report stays in memory). */
int bundle_write_capture(const char *state_dir, uint64_t budget_bytes, struct report *rep,
                         const struct bundle_capture *in, char *dir, size_t dir_size, char *error_path,
                         size_t error_path_size);

/* Save running capture @rep (stop reason and duration so far, interrupted
 * set) into its temporary directory captures/.tmp-<id>/: the marker
 * checkpoint.json first, then the files bundle_write_capture() writes,
 * each written aside, fsync'ed and renamed over the previous checkpoint's,
 * so a kill at any moment leaves whole files. The directory is never
 * visible as a bundle; bundle_recover_interrupted() finishes it after a
 * crash, bundle_write_capture() of the same id replaces it. -errno with
 * the path that failed in @error_path. */
int bundle_checkpoint(const char *state_dir, const struct report *rep, const struct bundle_capture *in,
                      char *error_path, size_t error_path_size);

/* Remove the checkpoint of capture @id, if any (after its bundle was
 * written under another id, or when it had nothing to keep). */
int bundle_checkpoint_discard(const char *state_dir, const char *id);

/* One checkpoint finished as an interrupted bundle: its id and directory,
 * its report.json (valid during the call; a stand-in when the
 * checkpoint's did not parse) and what was wrong with the checkpoint, ""
 * if nothing. */
typedef void (*bundle_recovered_fn)(const char *id, const char *dir, json_object *report, const char *problem,
                                    void *userdata);

/* At start: turn every checkpoint a killed daemon left under @state_dir
 * into a bundle of status "interrupted" with what it holds (a report.json
 * that does not parse is kept as report.json.corrupt, and a stand-in
 * saying so takes its place), renamed into place under the first free
 * id; committed bundles are not touched. Calls @fn for each. Returns the
 * number finished, or -errno if the captures directory cannot be read. */
int bundle_recover_interrupted(const char *state_dir, bundle_recovered_fn fn, void *userdata);

/* <state_dir>/captures/@id/@name: the path of one file of a bundle.
 * -EINVAL for a bad id or name, -ENAMETOOLONG. */
int bundle_file_path(const char *state_dir, const char *id, const char *name, char *buf, size_t size);

/* Load <state_dir>/captures/@id/report.json. -EINVAL for a bad id, -ENOENT,
 * -EFBIG, -EBADMSG if it does not parse. */
int bundle_load_report(const char *state_dir, const char *id, json_object **ret);
