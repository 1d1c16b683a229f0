#include "core/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/regfile.h"

static int max_level = LOG_INFO;

void log_set_max_level(int level) {
        max_level = level;
}

static void log_line(int level, const char *msg, int error) {
        char prefix[8] = "";
        if (level > max_level)
                return;
        /* JOURNAL_STREAM says stderr is connected to journald (systemd.exec(5)). */
        if (getenv("JOURNAL_STREAM"))
                snprintf(prefix, sizeof prefix, "<%d>", level);
        if (error)
                fprintf(stderr, "%s%s: %s\n", prefix, msg, regfile_strerror(-error));
        else
                fprintf(stderr, "%s%s\n", prefix, msg);
}

void log_full(int level, const char *fmt, ...) {
        char msg[2048];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        log_line(level, msg, 0);
}

int log_full_errno(int level, int error, const char *fmt, ...) {
        char msg[2048];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        log_line(level, msg, error < 0 ? -error : error);
        return error;
}
