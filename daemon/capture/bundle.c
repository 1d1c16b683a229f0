#include "capture/bundle.h"
#include "capture/bundle_impl.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "caches/slabinfo.h"
#include "core/readfile.h"
#include "report/assemble.h"
#include "report/render.h"

/* Bundles hold kernel stacks and addresses: not for every local user. */
#define BUNDLE_DIR_MODE 0750
/* Bundles are flat; this bounds the recursive removal of anything else. */
#define BUNDLE_RM_DEPTH_MAX 8
/* summary.json is small; a larger one is ignored in listings. */
#define BUNDLE_SUMMARY_MAX (64u << 10)
/* Names of files inside a bundle ("alloc_calls.3", "trace.txt"). */
#define BUNDLE_FILE_NAME_MAX 128

struct bundle {
        char captures[BUNDLE_CAPTURES_MAX];     /* <state_dir>/captures */
        char id[BUNDLE_ID_MAX];
        char tmp_name[BUNDLE_ID_MAX + 8];       /* .tmp-<id> */
        char final_path[BUNDLE_PATH_MAX];
        char error_path[BUNDLE_PATH_MAX];
        int captures_fd;
        int tmp_fd;
        bool committed;
        bool checkpoint;                        /* files replaced in place; the directory stays */
};

const char *bundle_make_id(const char *cache, uint64_t realtime_usec, char *buf, size_t size) {
        time_t t = (time_t) (realtime_usec / 1000000);
        char when[32] = "unknown-time";
        struct tm tm;
        size_t pos;

        if (size == 0)
                return buf;
        if (gmtime_r(&t, &tm))
                strftime(when, sizeof when, "%Y%m%dT%H%M%SZ", &tm);
        snprintf(buf, size, "%s-", when);
        pos = strlen(buf);
        /* Leave room for a "-NN" suffix within BUNDLE_ID_MAX. */
        for (const char *p = cache ? cache : ""; *p && pos + 1 < size && pos + 4 < BUNDLE_ID_MAX; p++) {
                char ch = *p;
                bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                          ch == '.' || ch == '_' || ch == '-';
                buf[pos++] = ok ? ch : '_';
        }
        buf[pos] = '\0';
        return buf;
}

bool bundle_id_valid(const char *id) {
        size_t n = id ? strlen(id) : 0;

        if (n == 0 || n >= BUNDLE_ID_MAX || id[0] == '.')
                return false;
        for (const char *p = id; *p; p++) {
                char ch = *p;
                if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '.' ||
                      ch == '_' || ch == '-'))
                        return false;
        }
        return true;
}

static bool name_valid(const char *name) {
        size_t n = name ? strlen(name) : 0;
        return n > 0 && n < BUNDLE_FILE_NAME_MAX && !strchr(name, '/') && name[0] != '.';
}

static void set_error_path(char *dst, size_t size, const char *dir, const char *name) {
        if (!dst || size == 0)
                return;
        if (name)
                snprintf(dst, size, "%s/%s", dir, name);
        else
                snprintf(dst, size, "%s", dir);
}

int bundle_rm_rf_at(int dfd, const char *name, unsigned depth) {
        struct dirent *de;
        struct stat st;
        DIR *d;
        int fd, r = 0;

        if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? 0 : -errno;
        if (!S_ISDIR(st.st_mode))
                return unlinkat(dfd, name, 0) < 0 && errno != ENOENT ? -errno : 0;
        if (depth >= BUNDLE_RM_DEPTH_MAX)
                return -ELOOP;
        fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        d = fdopendir(fd);
        if (!d) {
                r = -errno;
                close(fd);
                return r;
        }
        while ((de = readdir(d))) {
                int k;
                if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                        continue;
                k = bundle_rm_rf_at(fd, de->d_name, depth + 1);
                if (k < 0 && r == 0)
                        r = k;
        }
        closedir(d);
        if (unlinkat(dfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT && r == 0)
                r = -errno;
        return r;
}

static int mkdir_ok(const char *path) {
        if (mkdir(path, BUNDLE_DIR_MODE) < 0 && errno != EEXIST)
                return -errno;
        return 0;
}

bool bundle_is_checkpoint_at(int dfd, const char *name) {
        char path[BUNDLE_ID_MAX + 8 + sizeof BUNDLE_CHECKPOINT_JSON + 1];
        struct stat st;

        if ((size_t) snprintf(path, sizeof path, "%s/" BUNDLE_CHECKPOINT_JSON, name) >= sizeof path)
                return false;
        return fstatat(dfd, path, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode);
}

int bundle_captures_dir(const char *state_dir, char *buf, size_t size) {
        return readfile_path(buf, size, state_dir, BUNDLE_DIR);
}

int bundle_open_captures(const char *state_dir, int *ret_fd, DIR **ret_dir) {
        char captures[BUNDLE_CAPTURES_MAX];
        int r = bundle_captures_dir(state_dir, captures, sizeof captures);
        if (r < 0)
                return r;
        int fd = open(captures, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return errno == ENOENT ? 0 : -errno;
        /* A second descriptor for the listing: @fd stays for the *at() calls. */
        int dfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
        if (!d) {
                r = -errno;
                if (dfd >= 0)
                        close(dfd);
                close(fd);
                return r;
        }
        *ret_fd = fd;
        *ret_dir = d;
        return 1;
}

int bundle_begin(const char *state_dir, const char *id, struct bundle **ret, char *error_path, size_t error_path_size) {
        struct bundle *b;
        int r;

        if (!bundle_id_valid(id))
                return -EINVAL;
        b = calloc(1, sizeof *b);
        if (!b)
                return -ENOMEM;
        b->captures_fd = b->tmp_fd = -1;

        r = bundle_captures_dir(state_dir, b->captures, sizeof b->captures);
        if (r < 0) {
                set_error_path(error_path, error_path_size, state_dir, NULL);
                goto fail;
        }
        r = mkdir_ok(state_dir);
        if (r < 0) {
                set_error_path(error_path, error_path_size, state_dir, NULL);
                goto fail;
        }
        r = mkdir_ok(b->captures);
        if (r < 0) {
                set_error_path(error_path, error_path_size, b->captures, NULL);
                goto fail;
        }
        b->captures_fd = open(b->captures, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (b->captures_fd < 0) {
                r = -errno;
                set_error_path(error_path, error_path_size, b->captures, NULL);
                goto fail;
        }

        /* The first free id among <id>, <id>-2, <id>-3, ... */
        for (unsigned i = 1;; i++) {
                struct stat st;
                if (i >= BUNDLE_SUFFIX_MAX) {
                        r = -EEXIST;
                        set_error_path(error_path, error_path_size, b->captures, id);
                        goto fail;
                }
                if (i == 1)
                        snprintf(b->id, sizeof b->id, "%s", id);
                else
                        snprintf(b->id, sizeof b->id, "%.*s-%u", BUNDLE_ID_MAX - 8, id, i);
                if (fstatat(b->captures_fd, b->id, &st, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT)
                        break;
        }
        snprintf(b->tmp_name, sizeof b->tmp_name, BUNDLE_TMP_PREFIX "%s", b->id);
        snprintf(b->final_path, sizeof b->final_path, "%s/%s", b->captures, b->id);

        /* A leftover of the same name is from a crash: it was never visible. */
        (void) bundle_rm_rf_at(b->captures_fd, b->tmp_name, 0);
        if (mkdirat(b->captures_fd, b->tmp_name, BUNDLE_DIR_MODE) < 0) {
                r = -errno;
                set_error_path(error_path, error_path_size, b->captures, b->tmp_name);
                goto fail;
        }
        b->tmp_fd = openat(b->captures_fd, b->tmp_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (b->tmp_fd < 0) {
                r = -errno;
                set_error_path(error_path, error_path_size, b->captures, b->tmp_name);
                (void) unlinkat(b->captures_fd, b->tmp_name, AT_REMOVEDIR);
                goto fail;
        }
        *ret = b;
        return 0;
fail:
        if (b->captures_fd >= 0)
                close(b->captures_fd);
        free(b);
        return r;
}

int bundle_add(struct bundle *b, const char *name, const void *data, size_t len) {
        char part[BUNDLE_FILE_NAME_MAX + sizeof BUNDLE_PART_SUFFIX];
        const char *p = data;
        int fd, r = 0;

        if (!b || b->committed || !name_valid(name) || (len > 0 && !data))
                return -EINVAL;
        /* A checkpoint replaces its files while a kill may come at any
         * time: each is written aside and renamed over the last one. */
        snprintf(part, sizeof part, "%s%s", name, b->checkpoint ? BUNDLE_PART_SUFFIX : "");
        fd = openat(b->tmp_fd, part,
                    O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | (b->checkpoint ? O_TRUNC : O_EXCL),
                    BUNDLE_FILE_MODE);
        if (fd < 0) {
                r = -errno;
                goto fail;
        }
        while (len > 0) {
                ssize_t n = write(fd, p, len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        r = -errno;
                        break;
                }
                if (n == 0) {
                        r = -EIO;
                        break;
                }
                p += n;
                len -= (size_t) n;
        }
        /* The data must be on disk before the rename makes it visible. */
        if (r == 0 && fsync(fd) < 0)
                r = -errno;
        if (close(fd) < 0 && r == 0 && errno != EINTR)
                r = -errno;
        if (r == 0 && b->checkpoint && renameat(b->tmp_fd, part, b->tmp_fd, name) < 0)
                r = -errno;
        if (r == 0)
                return 0;
        if (b->checkpoint)
                (void) unlinkat(b->tmp_fd, part, 0);
fail:
        snprintf(b->error_path, sizeof b->error_path, "%s/%s/%s", b->captures, b->tmp_name, name);
        return r;
}

int bundle_add_json(struct bundle *b, const char *name, json_object *o) {
        size_t len = 0;
        const char *s = json_object_to_json_string_length(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
                                                                   JSON_C_TO_STRING_NOSLASHESCAPE, &len);
        if (!s)
                return -ENOMEM;
        return bundle_add(b, name, s, len);
}

int bundle_commit(struct bundle *b) {
        if (!b || b->committed)
                return -EINVAL;
        if (fsync(b->tmp_fd) < 0) {
                snprintf(b->error_path, sizeof b->error_path, "%s/%s", b->captures, b->tmp_name);
                return -errno;
        }
        if (renameat(b->captures_fd, b->tmp_name, b->captures_fd, b->id) < 0) {
                snprintf(b->error_path, sizeof b->error_path, "%s", b->final_path);
                return -errno;
        }
        b->committed = true;
        /* The rename itself must survive a crash. */
        if (fsync(b->captures_fd) < 0) {
                snprintf(b->error_path, sizeof b->error_path, "%s", b->captures);
                return -errno;
        }
        return 0;
}

const char *bundle_id(const struct bundle *b) {
        return b->id;
}

const char *bundle_path(const struct bundle *b) {
        return b->final_path;
}

const char *bundle_error_path(const struct bundle *b) {
        return b->error_path;
}

void bundle_free(struct bundle *b) {
        if (!b)
                return;
        if (b->tmp_fd >= 0)
                close(b->tmp_fd);
        if (!b->committed && !b->checkpoint && b->captures_fd >= 0)
                (void) bundle_rm_rf_at(b->captures_fd, b->tmp_name, 0);
        if (b->captures_fd >= 0)
                close(b->captures_fd);
        free(b);
}

/* Sum of the sizes of the regular files below @name in @dfd. */
static uint64_t tree_bytes_at(int dfd, const char *name, unsigned depth) {
        struct dirent *de;
        struct stat st;
        uint64_t total = 0;
        DIR *d;
        int fd;

        if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return 0;
        if (S_ISREG(st.st_mode))
                return (uint64_t) st.st_size;
        if (!S_ISDIR(st.st_mode) || depth >= BUNDLE_RM_DEPTH_MAX)
                return 0;
        fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return 0;
        d = fdopendir(fd);
        if (!d) {
                close(fd);
                return 0;
        }
        while ((de = readdir(d)))
                if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
                        total += tree_bytes_at(fd, de->d_name, depth + 1);
        closedir(d);
        return total;
}

struct bundle_entry {
        char id[BUNDLE_ID_MAX];
        uint64_t bytes;
};

static int cmp_entry(const void *a, const void *b) {
        return strcmp(((const struct bundle_entry *) a)->id, ((const struct bundle_entry *) b)->id);
}

/* The committed bundles under captures/, sorted by id (oldest first). */
static int list_entries(const char *state_dir, int *ret_fd, struct bundle_entry **ret, size_t *ret_n) {
        char captures[BUNDLE_CAPTURES_MAX];
        struct bundle_entry *v = NULL;
        struct dirent *de;
        size_t n = 0;
        DIR *d;
        int fd, dfd, r;

        r = bundle_captures_dir(state_dir, captures, sizeof captures);
        if (r < 0)
                return r;
        fd = open(captures, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        /* fdopendir() takes its fd: the caller keeps @fd for *at() calls. */
        dfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        d = dfd >= 0 ? fdopendir(dfd) : NULL;
        if (!d) {
                r = -errno;
                if (dfd >= 0)
                        close(dfd);
                close(fd);
                return r;
        }
        v = calloc(BUNDLE_LIST_MAX, sizeof *v);
        if (!v) {
                closedir(d);
                close(fd);
                return -ENOMEM;
        }
        while ((de = readdir(d)) && n < BUNDLE_LIST_MAX) {
                struct stat st;
                if (!bundle_id_valid(de->d_name))
                        continue;
                if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode))
                        continue;
                snprintf(v[n].id, sizeof v[n].id, "%.*s", BUNDLE_ID_MAX - 1, de->d_name);
                v[n].bytes = tree_bytes_at(fd, de->d_name, 0);
                n++;
        }
        closedir(d);
        qsort(v, n, sizeof *v, cmp_entry);
        *ret_fd = fd;
        *ret = v;
        *ret_n = n;
        return 0;
}

int bundle_rotate(const char *state_dir, uint64_t budget_bytes, const char *keep_id) {
        struct bundle_entry *v = NULL;
        uint64_t total = 0;
        size_t n = 0;
        int fd = -1, r, removed = 0;

        r = list_entries(state_dir, &fd, &v, &n);
        if (r < 0)
                return r == -ENOENT ? 0 : r;
        for (size_t i = 0; i < n; i++)
                total += v[i].bytes;
        for (size_t i = 0; i < n && total > budget_bytes; i++) {
                if (keep_id && strcmp(v[i].id, keep_id) == 0)
                        continue;
                if (bundle_rm_rf_at(fd, v[i].id, 0) < 0)
                        continue;
                total -= v[i].bytes;
                removed++;
        }
        free(v);
        close(fd);
        return removed;
}

int bundle_cleanup_stale(const char *state_dir) {
        struct dirent *de;
        DIR *d;
        int fd, r, removed = 0;

        r = bundle_open_captures(state_dir, &fd, &d);
        if (r <= 0)
                return r;
        while ((de = readdir(d)))
                if (strncmp(de->d_name, BUNDLE_TMP_PREFIX, strlen(BUNDLE_TMP_PREFIX)) == 0 &&
                    !bundle_is_checkpoint_at(fd, de->d_name) && bundle_rm_rf_at(fd, de->d_name, 0) == 0)
                        removed++;
        closedir(d);
        close(fd);
        return removed;
}

uint64_t bundle_disk_usage(const char *state_dir) {
        struct bundle_entry *v = NULL;
        uint64_t total = 0;
        size_t n = 0;
        int fd = -1;

        if (list_entries(state_dir, &fd, &v, &n) < 0)
                return 0;
        for (size_t i = 0; i < n; i++)
                total += v[i].bytes;
        free(v);
        close(fd);
        return total;
}

/* Parse a whole JSON document of @len bytes; NULL if it is not one. */
static json_object *parse_json(const char *buf, size_t len) {
        json_tokener *tok;
        json_object *o;

        if (len > INT32_MAX)
                return NULL;
        tok = json_tokener_new();
        if (!tok)
                return NULL;
        o = json_tokener_parse_ex(tok, buf, (int) len);
        if (o && json_tokener_get_error(tok) != json_tokener_success) {
                json_object_put(o);
                o = NULL;
        }
        json_tokener_free(tok);
        return o;
}

int bundle_load_json(const char *path, size_t max, json_object **ret) {
        struct readfile_buf b = { .max = max };
        json_object *o;
        int r;

        r = readfile_read(&b, path);
        if (r < 0) {
                readfile_done(&b);
                return r;
        }
        o = parse_json(b.data, b.len);
        readfile_done(&b);
        if (!o)
                return -EBADMSG;
        *ret = o;
        return 0;
}

int bundle_list(const char *state_dir, json_object **ret) {
        struct bundle_entry *v = NULL;
        json_object *a;
        size_t n = 0;
        int fd = -1, r;

        a = json_object_new_array();
        if (!a)
                return -ENOMEM;
        r = list_entries(state_dir, &fd, &v, &n);
        if (r == -ENOENT) {
                *ret = a;
                return 0;
        }
        if (r < 0) {
                json_object_put(a);
                return r;
        }
        for (size_t i = n; i-- > 0;) {
                char path[BUNDLE_PATH_MAX], captures[BUNDLE_CAPTURES_MAX];
                json_object *o = json_object_new_object(), *summary = NULL;

                if (!o) {
                        r = -ENOMEM;
                        break;
                }
                (void) bundle_captures_dir(state_dir, captures, sizeof captures);
                snprintf(path, sizeof path, "%s/%s", captures, v[i].id);
                json_object_object_add(o, "id", json_object_new_string(v[i].id));
                json_object_object_add(o, "path", json_object_new_string(path));
                json_object_object_add(o, "bytes", json_object_new_uint64(v[i].bytes));
                snprintf(path, sizeof path, "%s/%s/" BUNDLE_SUMMARY_JSON, captures, v[i].id);
                if (bundle_load_json(path, BUNDLE_SUMMARY_MAX, &summary) == 0 && json_object_is_type(summary, json_type_object)) {
                        json_object_object_foreach(summary, key, val)
                                if (!json_object_object_get_ex(o, key, NULL))
                                        json_object_object_add(o, key, json_object_get(val));
                }
                json_object_put(summary);
                if (json_object_array_add(a, o) < 0) {
                        json_object_put(o);
                        r = -ENOMEM;
                        break;
                }
        }
        free(v);
        close(fd);
        if (r < 0) {
                json_object_put(a);
                return r;
        }
        *ret = a;
        return 0;
}

int bundle_load_report(const char *state_dir, const char *id, json_object **ret) {
        char captures[BUNDLE_CAPTURES_MAX], path[BUNDLE_PATH_MAX];
        int r;

        if (!bundle_id_valid(id))
                return -EINVAL;
        r = bundle_captures_dir(state_dir, captures, sizeof captures);
        if (r < 0)
                return r;
        if ((size_t) snprintf(path, sizeof path, "%s/%s/" BUNDLE_REPORT_JSON, captures, id) >= sizeof path)
                return -ENAMETOOLONG;
        return bundle_load_json(path, BUNDLE_REPORT_MAX, ret);
}

int bundle_file_path(const char *state_dir, const char *id, const char *name, char *buf, size_t size) {
        char captures[BUNDLE_CAPTURES_MAX];
        int r;

        if (!bundle_id_valid(id) || !name || !*name || strchr(name, '/') || name[0] == '.')
                return -EINVAL;
        r = bundle_captures_dir(state_dir, captures, sizeof captures);
        if (r < 0)
                return r;
        if ((size_t) snprintf(buf, size, "%s/%s/%s", captures, id, name) >= size)
                return -ENAMETOOLONG;
        return 0;
}

static int add_blob(struct bundle *b, const char *name, const struct bundle_blob *blob) {
        return blob->len > 0 && blob->data ? bundle_add(b, name, blob->data, blob->len) : 0;
}

/* A file that does not change while the capture runs (the history up to
 * the trip, the first snapshots): a checkpoint writes it once. */
static bool written_already(const struct bundle *b, const char *name, size_t len) {
        struct stat st;
        return b->checkpoint && fstatat(b->tmp_fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
               (uint64_t) st.st_size == len;
}

static int add_blob_once(struct bundle *b, const char *name, const struct bundle_blob *blob) {
        return written_already(b, name, blob->len) ? 0 : add_blob(b, name, blob);
}

/* report.html and stacks.folded. */
static int add_rendering(struct bundle *b, const struct report *rep, const struct bundle_blob *history) {
        char *text = NULL;
        size_t len = 0;
        int r = report_to_html(rep, history->data, history->data ? history->len : 0, &text, &len);

        if (r >= 0)
                r = bundle_add(b, BUNDLE_REPORT_HTML, text, len);
        free(text);
        text = NULL;
        if (r >= 0)
                r = report_to_folded(rep, &text, &len);
        if (r >= 0)
                r = bundle_add(b, BUNDLE_STACKS_FOLDED, text, len);
        free(text);
        return r;
}

/* The raw call-site snapshots: "kmalloc-8k.alloc_calls.first", names of [A-Za-z0-9._-]. */
static int add_callsite_files(struct bundle *b, const struct bundle_capture *in) {
        const struct callseries *cs = in->callsites;
        int r = 0;

        for (size_t i = 0; r >= 0 && cs && i < cs->n_sources; i++) {
                const struct callseries_source *s = &cs->sources[i];
                char base[SLABINFO_NAME_MAX + 40], name[sizeof base + 64];
                const char *safe = base + strlen("19700101T000000Z-");

                bundle_make_id(s->cache, 0, base, sizeof base);
                if (s->first_raw) {
                        snprintf(name, sizeof name, "%s.%s.first", safe, s->file);
                        if (!written_already(b, name, s->first_len))
                                r = bundle_add(b, name, s->first_raw, s->first_len);
                }
                if (r >= 0 && s->have_last && in->last_raw) {
                        snprintf(name, sizeof name, "%s.%s.last", safe, s->file);
                        r = add_blob(b, name, &in->last_raw[i]);
                }
        }
        return r;
}

static int write_files(struct bundle *b, const struct report *rep, const struct bundle_capture *in);

int bundle_write_capture(const char *state_dir, uint64_t budget_bytes, struct report *rep,
                         const struct bundle_capture *in, char *dir, size_t dir_size, char *error_path,
                         size_t error_path_size) {
        struct bundle *b = NULL;
        int r;

        dir[0] = '\0';
        error_path[0] = '\0';
        r = bundle_begin(state_dir, rep->id, &b, error_path, error_path_size);
        if (r < 0)
                return r;
        /* The bundle's id may carry a suffix: the report says the real one. */
        snprintf(rep->id, sizeof rep->id, "%s", bundle_id(b));

        r = write_files(b, rep, in);
        if (r >= 0)
                r = bundle_commit(b);
        if (r < 0)
                snprintf(error_path, error_path_size, "%s", bundle_error_path(b));
        else {
                snprintf(dir, dir_size, "%s", bundle_path(b));
                /* Only now that the new bundle is whole may older ones go. */
                (void) bundle_rotate(state_dir, budget_bytes, bundle_id(b));
        }
        bundle_free(b);
        return r < 0 ? r : 0;
}

/* Every file of @rep's bundle but the marker of a checkpoint. */
static int write_files(struct bundle *b, const struct report *rep, const struct bundle_capture *in) {
        json_object *rj = NULL, *summary = NULL;
        char *text = NULL;
        size_t text_len = 0;
        int r;

        r = report_to_json(rep, &rj);
        if (r >= 0)
                r = bundle_add_json(b, BUNDLE_REPORT_JSON, rj);
        if (r >= 0)
                r = report_to_text(rep, &text, &text_len);
        if (r >= 0)
                r = bundle_add(b, BUNDLE_REPORT_TXT, text, text_len);
        if (r >= 0)
                r = add_rendering(b, rep, &in->history);
        if (r >= 0)
                r = add_blob_once(b, BUNDLE_HISTORY_CSV, &in->history);
        if (r >= 0 && in->callsites && in->callsites->csv)
                r = bundle_add(b, BUNDLE_SERIES_CSV, in->callsites->csv, in->callsites->csv_len);
        if (r >= 0)
                r = add_callsite_files(b, in);
        if (r >= 0)
                r = add_blob_once(b, BUNDLE_ALLOCINFO_FIRST, &in->allocinfo_first);
        if (r >= 0)
                r = add_blob(b, BUNDLE_ALLOCINFO_LAST, &in->allocinfo_last);
        if (r >= 0)
                r = add_blob(b, BUNDLE_RAW_TRACE, &in->raw_trace);
        if (r >= 0 && report_summary_json(rep, &summary) >= 0)
                r = bundle_add_json(b, BUNDLE_SUMMARY_JSON, summary);
        free(text);
        json_object_put(rj);
        json_object_put(summary);
        return r;
}

int bundle_checkpoint(const char *state_dir, const struct report *rep, const struct bundle_capture *in,
                      char *error_path, size_t error_path_size) {
        struct bundle *b;
        json_object *marker;
        int r;

        error_path[0] = '\0';
        if (!bundle_id_valid(rep->id))
                return -EINVAL;
        b = calloc(1, sizeof *b);
        if (!b)
                return -ENOMEM;
        b->checkpoint = true;
        b->captures_fd = b->tmp_fd = -1;
        snprintf(b->id, sizeof b->id, "%s", rep->id);
        snprintf(b->tmp_name, sizeof b->tmp_name, BUNDLE_TMP_PREFIX "%s", b->id);
        r = bundle_captures_dir(state_dir, b->captures, sizeof b->captures);
        if (r >= 0)
                r = mkdir_ok(state_dir);
        if (r >= 0)
                r = mkdir_ok(b->captures);
        if (r >= 0 && (b->captures_fd = open(b->captures, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
                r = -errno;
        if (r < 0) {
                set_error_path(error_path, error_path_size, b->captures[0] ? b->captures : state_dir, NULL);
                goto out;
        }
        if (mkdirat(b->captures_fd, b->tmp_name, BUNDLE_DIR_MODE) < 0 && errno != EEXIST)
                r = -errno;
        if (r >= 0 && (b->tmp_fd = openat(b->captures_fd, b->tmp_name,
                                          O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
                r = -errno;
        if (r < 0) {
                set_error_path(error_path, error_path_size, b->captures, b->tmp_name);
                goto out;
        }
        /* The marker first: a directory with it is a checkpoint, whatever
         * else the kill left in it; without it, a half-written bundle. */
        marker = json_object_new_object();
        if (!marker) {
                r = -ENOMEM;
                goto out;
        }
        json_object_object_add(marker, "id", json_object_new_string(rep->id));
        json_object_object_add(marker, "cache", json_object_new_string(rep->cache));
        json_object_object_add(marker, "elapsed_s", json_object_new_double((double) rep->duration_usec / 1e6));
        r = bundle_add_json(b, BUNDLE_CHECKPOINT_JSON, marker);
        json_object_put(marker);
        if (r >= 0)
                r = write_files(b, rep, in);
        if (r >= 0 && fsync(b->tmp_fd) < 0) {
                r = -errno;
                snprintf(b->error_path, sizeof b->error_path, "%s/%s", b->captures, b->tmp_name);
        }
        if (r < 0 && b->error_path[0])
                snprintf(error_path, error_path_size, "%s", b->error_path);
out:
        bundle_free(b);
        return r;
}

int bundle_checkpoint_discard(const char *state_dir, const char *id) {
        char captures[BUNDLE_CAPTURES_MAX], name[BUNDLE_ID_MAX + 8];
        int fd, r;

        if (!bundle_id_valid(id))
                return -EINVAL;
        r = bundle_captures_dir(state_dir, captures, sizeof captures);
        if (r < 0)
                return r;
        fd = open(captures, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return errno == ENOENT ? 0 : -errno;
        snprintf(name, sizeof name, BUNDLE_TMP_PREFIX "%s", id);
        r = bundle_rm_rf_at(fd, name, 0);
        close(fd);
        return r;
}
