/* bundle_recover — at start, the checkpoints of captures a killed daemon
 * did not finish become bundles of status "interrupted" (see
 * bundle_recover_interrupted() in bundle.h). */
#include "capture/bundle.h"
#include "capture/bundle_impl.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/readfile.h"

/* What a problem with one checkpoint says, for the log and the alert. */
#define RECOVER_PROBLEM_MAX 512

/* Write @len bytes of @data as @name inside @dfd and fsync it. */
static int write_at(int dfd, const char *name, const char *data, size_t len) {
        int fd, r = 0;

        fd = openat(dfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, BUNDLE_FILE_MODE);
        if (fd < 0)
                return -errno;
        while (len > 0) {
                ssize_t n = write(fd, data, len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0) {
                        r = n < 0 ? -errno : -EIO;
                        break;
                }
                data += n;
                len -= (size_t) n;
        }
        if (r == 0 && fsync(fd) < 0)
                r = -errno;
        close(fd);
        return r;
}

static int write_json_at(int dfd, const char *name, json_object *o) {
        size_t len = 0;
        const char *s = json_object_to_json_string_length(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
                                                                   JSON_C_TO_STRING_NOSLASHESCAPE, &len);
        return s ? write_at(dfd, name, s, len) : -ENOMEM;
}

static const char *json_str(json_object *o, const char *key, const char *dflt) {
        json_object *v;
        return o && json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string)
                       ? json_object_get_string(v)
                       : dflt;
}

/* A checkpoint's leftovers of a write the kill cut short. */
static void remove_parts(int dfd) {
        int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        size_t sl = strlen(BUNDLE_PART_SUFFIX);
        struct dirent *de;
        DIR *d = fd >= 0 ? fdopendir(fd) : NULL;

        if (!d) {
                if (fd >= 0)
                        close(fd);
                return;
        }
        while ((de = readdir(d))) {
                size_t n = strlen(de->d_name);
                if (n > sl && strcmp(de->d_name + n - sl, BUNDLE_PART_SUFFIX) == 0)
                        (void) unlinkat(dfd, de->d_name, 0);
        }
        closedir(d);
}

/* The report of checkpoint @dfd (named @id), made whole: parsed and marked
 * interrupted, or, when it does not parse, kept aside and replaced by a
 * stand-in that says so. @problem gets what was wrong. */
static json_object *finish_report(int dfd, const char *dirpath, const char *id, json_object *marker,
                                  char *problem, size_t problem_size) {
        char path[BUNDLE_PATH_MAX + 64];
        json_object *rj = NULL, *summary = NULL;
        int r;

        snprintf(path, sizeof path, "%s/" BUNDLE_REPORT_JSON, dirpath);
        r = bundle_load_json(path, BUNDLE_REPORT_MAX, &rj);
        if (r == 0 && !json_object_is_type(rj, json_type_object)) {
                json_object_put(rj);
                rj = NULL;
                r = -EBADMSG;
        }
        if (r == 0) {
                if (strcmp(json_str(rj, "status", ""), "interrupted") != 0) {
                        json_object_object_add(rj, "status", json_object_new_string("interrupted"));
                        (void) write_json_at(dfd, BUNDLE_REPORT_JSON, rj);
                }
        } else {
                snprintf(problem, problem_size, "its %s could not be read (%s)", BUNDLE_REPORT_JSON,
                         r == -EBADMSG ? "not valid JSON, cut short?" : strerror(-r));
                if (r != -ENOENT)
                        (void) renameat(dfd, BUNDLE_REPORT_JSON, dfd, BUNDLE_REPORT_CORRUPT);
                rj = json_object_new_object();
                if (!rj)
                        return NULL;
                json_object_object_add(rj, "id", json_object_new_string(id));
                json_object_object_add(rj, "status", json_object_new_string("interrupted"));
                json_object_object_add(rj, "cache", json_object_new_string(json_str(marker, "cache", "")));
                json_object_object_add(rj, "stop_reason", json_object_new_string("interrupted"));
                json_object *v;
                if (marker && json_object_object_get_ex(marker, "elapsed_s", &v))
                        json_object_object_add(rj, "duration_s", json_object_new_double(json_object_get_double(v)));
                json_object_object_add(rj, "checkpoint_error", json_object_new_string(problem));
                (void) write_json_at(dfd, BUNDLE_REPORT_JSON, rj);
        }

        /* A listing reads summary.json; report.txt is what a person opens. */
        snprintf(path, sizeof path, "%s/" BUNDLE_SUMMARY_JSON, dirpath);
        if (bundle_load_json(path, BUNDLE_REPORT_MAX, &summary) < 0 ||
            !json_object_is_type(summary, json_type_object)) {
                json_object_put(summary);
                summary = json_object_new_object();
                if (summary) {
                        json_object_object_add(summary, "cache", json_object_new_string(json_str(rj, "cache", "")));
                        json_object_object_add(summary, "stop_reason",
                                               json_object_new_string(json_str(rj, "stop_reason", "interrupted")));
                }
        }
        if (summary) {
                json_object_object_add(summary, "status", json_object_new_string("interrupted"));
                (void) write_json_at(dfd, BUNDLE_SUMMARY_JSON, summary);
                json_object_put(summary);
        }
        snprintf(path, sizeof path, "%s/" BUNDLE_REPORT_TXT, dirpath);
        struct readfile_buf old = { .max = BUNDLE_REPORT_MAX };
        bool have_text = readfile_read(&old, path) == 0;
        if (!have_text || problem[0]) {
                /* The status first, what was wrong, then the checkpoint's own text. */
                char *text = NULL;
                size_t len = 0;
                FILE *f = open_memstream(&text, &len);
                if (f) {
                        fprintf(f, "slabwatch capture %s\n", id);
                        fprintf(f, "status:     interrupted: the daemon stopped before this capture finished\n");
                        fprintf(f, "checkpoint: %s\n", problem[0] ? problem : "it held no report.txt");
                        if (have_text)
                                fprintf(f, "\nThe checkpoint's report.txt as it was written:\n\n%.*s", (int) old.len,
                                        old.data);
                        if (fclose(f) == 0)
                                (void) write_at(dfd, BUNDLE_REPORT_TXT, text, len);
                }
                free(text);
        }
        readfile_done(&old);
        return rj;
}

/* Finish checkpoint directory @name inside @cfd; 0 when it is a bundle now. */
static int recover_one(int cfd, const char *captures, const char *name, bundle_recovered_fn fn, void *userdata) {
        char dirpath[BUNDLE_PATH_MAX], path[BUNDLE_PATH_MAX + 64], id[BUNDLE_ID_MAX], final[BUNDLE_ID_MAX];
        char problem[RECOVER_PROBLEM_MAX] = "";
        json_object *marker = NULL, *rj;
        struct stat st;
        int dfd, r;

        snprintf(id, sizeof id, "%s", name + strlen(BUNDLE_TMP_PREFIX));
        if (!bundle_id_valid(id))
                return -EINVAL;
        snprintf(dirpath, sizeof dirpath, "%s/%s", captures, name);
        dfd = openat(cfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (dfd < 0)
                return -errno;
        remove_parts(dfd);
        snprintf(path, sizeof path, "%s/" BUNDLE_CHECKPOINT_JSON, dirpath);
        if (bundle_load_json(path, BUNDLE_REPORT_MAX, &marker) < 0) {
                json_object_put(marker);
                marker = NULL;
        }
        rj = finish_report(dfd, dirpath, id, marker, problem, sizeof problem);
        json_object_put(marker);
        r = fsync(dfd) < 0 ? -errno : 0;
        close(dfd);
        if (!rj)
                return -ENOMEM;

        /* The first free id: a bundle of that name is never replaced. */
        for (unsigned i = 1;; i++) {
                if (i >= BUNDLE_SUFFIX_MAX) {
                        r = -EEXIST;
                        break;
                }
                if (i == 1)
                        snprintf(final, sizeof final, "%s", id);
                else
                        snprintf(final, sizeof final, "%.*s-%u", BUNDLE_ID_MAX - 8, id, i);
                if (fstatat(cfd, final, &st, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT) {
                        r = renameat(cfd, name, cfd, final) < 0 ? -errno : 0;
                        break;
                }
        }
        if (r == 0) {
                /* The marker goes once the bundle is in place: until then a
                 * failure leaves a checkpoint the next start tries again. */
                snprintf(path, sizeof path, "%s/" BUNDLE_CHECKPOINT_JSON, final);
                (void) unlinkat(cfd, path, 0);
                (void) fsync(cfd);
                snprintf(path, sizeof path, "%s/%s", captures, final);
                if (strcmp(final, id) != 0)
                        json_object_object_add(rj, "id", json_object_new_string(final));
                if (fn)
                        fn(final, path, rj, problem, userdata);
        }
        json_object_put(rj);
        return r;
}

int bundle_recover_interrupted(const char *state_dir, bundle_recovered_fn fn, void *userdata) {
        char captures[BUNDLE_CAPTURES_MAX];
        char (*names)[BUNDLE_ID_MAX + 8] = NULL;
        size_t n = 0;
        struct dirent *de;
        DIR *d;
        int fd, r, done = 0;

        r = bundle_captures_dir(state_dir, captures, sizeof captures);
        if (r < 0)
                return r;
        r = bundle_open_captures(state_dir, &fd, &d);
        if (r <= 0)
                return r;
        /* Collected first: renaming while reading the directory could show
         * an entry twice. */
        names = calloc(BUNDLE_LIST_MAX, sizeof *names);
        while (names && n < BUNDLE_LIST_MAX && (de = readdir(d)))
                if (strncmp(de->d_name, BUNDLE_TMP_PREFIX, strlen(BUNDLE_TMP_PREFIX)) == 0 &&
                    strlen(de->d_name) < sizeof names[0] && bundle_is_checkpoint_at(fd, de->d_name))
                        memcpy(names[n++], de->d_name, strlen(de->d_name) + 1);
        closedir(d);
        if (!names) {
                close(fd);
                return -ENOMEM;
        }
        for (size_t i = 0; i < n; i++)
                if (recover_one(fd, captures, names[i], fn, userdata) == 0)
                        done++;
        free(names);
        close(fd);
        return done;
}
