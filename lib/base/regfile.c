/* regfile — see regfile.h. */
#include "base/regfile.h"

#include <stdbool.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

int regfile_open(const char *path, off_t *ret_size) {
        struct stat st;
        int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0) {
                int r = -errno;
                close(fd);
                return r;
        }
        /* /dev/null (1:3) is an empty file to every reader: it can
         * neither block nor flood, and scripts pass it for "nothing". */
        bool dev_null = S_ISCHR(st.st_mode) && major(st.st_rdev) == 1 && minor(st.st_rdev) == 3;
        if (!S_ISREG(st.st_mode) && !dev_null) {
                close(fd);
                return S_ISDIR(st.st_mode) ? -EISDIR : -REGFILE_ENOTREG;
        }
        if (ret_size)
                *ret_size = st.st_size;
        return fd;
}

const char *regfile_strerror(int error) {
        if (error == -REGFILE_ENOTREG)
                return "not a regular file (a FIFO, socket or device)";
        return strerror(-error);
}
