#include "testutil.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

char *testutil_read_fixture(const char *rel, size_t *ret_len) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", FIXTURES_DIR, rel);
        FILE *f = fopen(path, "re");
        ck_assert_msg(f != NULL, "cannot open fixture %s: %s", path, strerror(errno));
        size_t cap = 4096, len = 0;
        char *buf = malloc(cap);
        ck_assert_ptr_nonnull(buf);
        for (;;) {
                if (len + 1 >= cap) {
                        cap *= 2;
                        buf = realloc(buf, cap);
                        ck_assert_ptr_nonnull(buf);
                }
                size_t n = fread(buf + len, 1, cap - len - 1, f);
                if (n == 0)
                        break;
                len += n;
        }
        fclose(f);
        buf[len] = '\0';
        if (ret_len)
                *ret_len = len;
        return buf;
}

char *testutil_mkdtemp(void) {
        const char *tmp = getenv("TMPDIR");
        char path[4096];
        snprintf(path, sizeof path, "%s/slabwatch-test.XXXXXX", tmp && *tmp ? tmp : "/tmp");
        ck_assert_ptr_nonnull(mkdtemp(path));
        return strdup(path);
}

static void mkdir_parents(char *path) {
        for (char *p = path + 1; *p; p++) {
                if (*p != '/')
                        continue;
                *p = '\0';
                (void) mkdir(path, 0755);
                *p = '/';
        }
}

void testutil_write_file(const char *dir, const char *rel, const char *data, size_t len) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, rel);
        mkdir_parents(path);
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        ck_assert_msg(fd >= 0, "cannot create %s: %s", path, strerror(errno));
        ck_assert_int_eq(write(fd, data, len), (ssize_t) len);
        close(fd);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        (void) st;
        (void) flag;
        (void) ftw;
        return remove(path);
}

void testutil_rmtree(const char *dir) {
        (void) nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}
