/* log — the daemon's own diagnostics (not alerts: see alert.h). Written to
 * stderr; under systemd (JOURNAL_STREAM set) each line carries a "<N>"
 * syslog priority prefix so journald files it at the right level. */
#pragma once

#include <syslog.h>

/* Set the highest priority that is printed (LOG_INFO by default). */
void log_set_max_level(int level);

/* printf-style message at @level; returns nothing. */
void log_full(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Log with ": <strerror(-error)>" appended ("%m"-style) and return @error
 * (negative errno), for `return log_error_errno(r, "...")`. */
int log_full_errno(int level, int error, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#define log_debug(...) log_full(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_full(LOG_INFO, __VA_ARGS__)
#define log_notice(...) log_full(LOG_NOTICE, __VA_ARGS__)
#define log_warning(...) log_full(LOG_WARNING, __VA_ARGS__)
#define log_error(...) log_full(LOG_ERR, __VA_ARGS__)
#define log_warning_errno(r, ...) log_full_errno(LOG_WARNING, r, __VA_ARGS__)
#define log_error_errno(r, ...) log_full_errno(LOG_ERR, r, __VA_ARGS__)
