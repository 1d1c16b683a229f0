/* bundle_impl — what bundle.c shares with bundle_recover.c (the
 * recovery of interrupted captures). Not for other modules. */
#pragma once

#include <dirent.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#define BUNDLE_FILE_MODE 0640
/* A second bundle for the same cache in the same second gets "-2"... */
#define BUNDLE_SUFFIX_MAX 100
/* A checkpoint's file written aside before it is renamed over the last one. */
#define BUNDLE_PART_SUFFIX ".part"

/* <state_dir>/captures into @buf. -ENAMETOOLONG. */
int bundle_captures_dir(const char *state_dir, char *buf, size_t size);

/* Open <state_dir>/captures for listing (*@ret_dir) and for *at() calls
 * (*@ret_fd): 1, or 0 when it does not exist, or -errno. */
int bundle_open_captures(const char *state_dir, int *ret_fd, DIR **ret_dir);

/* rm -rf of @name inside @dfd, bounded in depth, never following symlinks. */
int bundle_rm_rf_at(int dfd, const char *name, unsigned depth);

/* True if directory @name inside @dfd holds a checkpoint's marker. */
bool bundle_is_checkpoint_at(int dfd, const char *name);

/* Read and parse the JSON file @path of at most @max bytes. -errno of the
 * read, -EFBIG, -EBADMSG when it does not parse. */
int bundle_load_json(const char *path, size_t max, json_object **ret);
