/* regfile — see regfile.h. */
#include "base/regfile.h"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
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
        if (!S_ISREG(st.st_mode)) {
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
