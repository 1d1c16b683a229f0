/* ctl — shared pieces of slabwatchctl: the connection to slabwatchd, option
 * parsing common to every subcommand, human-readable formatting. */
#pragma once

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <json-c/json.h>

#include "control/proto.h"

#define CTL_SOCKET_DEFAULT "/run/slabwatch/slabwatch.sock"
#define CTL_SOCKET_ENV "SLABWATCH_SOCKET"
/* Seconds to wait for an answer; an export of a long raw tier takes a while. */
#define CTL_TIMEOUT_DEFAULT_SEC 30
#define CTL_TIMEOUT_MAX_SEC 3600

/* Exit codes (documented in slabwatchctl(1)). */
enum {
        CTL_EXIT_OK = 0,
        CTL_EXIT_ERROR = 1,
        CTL_EXIT_USAGE = 2,
        CTL_EXIT_UNREACHABLE = 3,
};

enum ctl_color_mode {
        CTL_COLOR_AUTO,
        CTL_COLOR_ALWAYS,
        CTL_COLOR_NEVER,
};

struct ctl {
        const char *socket_path;
        bool json;
        enum ctl_color_mode color_mode;
        bool color;             /* resolved: use ANSI colours on stdout */
        bool utf8;              /* the locale can print block characters */
        unsigned timeout_sec;
        unsigned term_width;    /* columns of stdout, 80 when not a terminal */
};

/* The answer to one request: the decoded document and the raw payload, as
 * the daemon sent it (for --json). */
struct ctl_reply {
        json_object *doc;
        char *raw;
        size_t raw_len;
};

/* Long options every subcommand accepts; ids above 256. */
enum {
        CTL_OPT_SOCKET = 0x100,
        CTL_OPT_JSON,
        CTL_OPT_COLOR,
        CTL_OPT_NO_COLOR,
        CTL_OPT_TIMEOUT,
        CTL_OPT_HELP,
        _CTL_OPT_COMMON_END,
};

/* Handle one subcommand-specific option; return 0 or CTL_EXIT_USAGE. */
typedef int (*ctl_option_fn)(struct ctl *c, int opt, const char *arg, void *userdata);

/* Parse argv (argv[0] is the subcommand) with @shortopts and @longopts
 * (terminated by a zero entry) plus the common options. Positional arguments
 * are left at argv[*ret_first..argc). Returns 0, CTL_EXIT_USAGE (message
 * printed), or -1 when --help was given (usage already printed by @usage). */
int ctl_parse_options(struct ctl *c, int argc, char **argv, const char *shortopts, const struct option *longopts,
                      ctl_option_fn on_option, void *userdata, void (*usage)(FILE *f), int *ret_first);

/* Resolve colour, locale and terminal width (ctl_parse_options() does). */
void ctl_setup_output(struct ctl *c);

/* Send @req to the daemon and wait for the answer. Returns CTL_EXIT_OK with
 * *ret filled (the answer may still be an error document), or prints why and
 * returns CTL_EXIT_UNREACHABLE (cannot connect) or CTL_EXIT_ERROR. */
int ctl_call(const struct ctl *c, const struct proto_request *req, struct ctl_reply *ret);

/* Free what ctl_call() filled. */
void ctl_reply_done(struct ctl_reply *r);

/* The usual flow: call, then with --json print the raw answer and return
 * its status; otherwise print an error answer to stderr and return
 * CTL_EXIT_ERROR, or return CTL_EXIT_OK with *ret_data pointing into @reply
 * for the caller to render. *ret_data is NULL when nothing is left to do. */
int ctl_request(const struct ctl *c, const struct proto_request *req, struct ctl_reply *reply,
                json_object **ret_data);

/* Print "slabwatchctl: <message>" to stderr. */
void ctl_error(const char *format, ...) __attribute__((format(printf, 1, 2)));

/* "--since"/"--duration" values: "2h", "90s", "1h30m" or plain seconds.
 * 0 or -EINVAL / -ERANGE. */
int ctl_parse_duration(const char *s, uint64_t *ret_usec);

/* Formatting into caller buffers; each returns @buf. */
const char *ctl_format_rate(double bytes_per_hour, char *buf, size_t size);     /* "+2.9 MiB/h" */
const char *ctl_format_signed(double v, int decimals, char *buf, size_t size);  /* "+12.5" */
const char *ctl_format_duration(double seconds, char *buf, size_t size);        /* "2h13m" */
const char *ctl_format_usec(double usec, char *buf, size_t size);               /* "830 µs", "1.2 ms" */
const char *ctl_format_time(double epoch, char *buf, size_t size);              /* "2026-01-01 12:00:00" */
const char *ctl_format_clock(double epoch, char *buf, size_t size);             /* "12:00:00" */

/* JSON field helpers that tolerate absent fields. */
const char *ctl_json_str(json_object *o, const char *key, const char *fallback);
double ctl_json_num(json_object *o, const char *key, double fallback);
bool ctl_json_bool(json_object *o, const char *key);
/* True if @key is present and not null. */
bool ctl_json_has(json_object *o, const char *key);

/* ANSI colours, empty strings when colour is off. */
const char *ctl_color_bad(const struct ctl *c);
const char *ctl_color_warn(const struct ctl *c);
const char *ctl_color_good(const struct ctl *c);
const char *ctl_color_bold(const struct ctl *c);
const char *ctl_color_dim(const struct ctl *c);
const char *ctl_color_reset(const struct ctl *c);

/* An aligned table: add rows of cells, then print. */
#define CTL_TABLE_COLUMNS_MAX 12
#define CTL_CELL_MAX 160

enum ctl_align {
        CTL_ALIGN_LEFT,
        CTL_ALIGN_RIGHT,
};

struct ctl_table;

/* A table with @n_columns headers; @align per column. NULL on -ENOMEM. */
struct ctl_table *ctl_table_new(size_t n_columns, const char *const *headers, const enum ctl_align *align);

/* Add a row of @n_columns cells; @colors (may be NULL) per cell, e.g. the
 * state column in red. 0 or -ENOMEM. */
int ctl_table_add(struct ctl_table *t, const char *const *cells, const char *const *colors);

/* Print the header (bold) and rows, columns padded to their widest cell. */
void ctl_table_print(const struct ctl *c, const struct ctl_table *t, FILE *f);

/* Free @t; NULL is a no-op. */
void ctl_table_free(struct ctl_table *t);

/* Draw @n values (NaN = missing) as a chart @height rows high and at most
 * @width columns wide, with the min and max on the axis and the first and
 * last time below. */
void ctl_chart(const struct ctl *c, FILE *f, const double *t_epoch, const double *values, size_t n,
               unsigned height, unsigned width, const char *unit_label);

/* The subcommands. argv[0] is the subcommand's name. Each returns an exit code. */
/* Parse the common options of a subcommand without options of its own and
 * check it got @want_args arguments (from *ret_first on). 0 or an exit code. */
int ctl_parse_plain(struct ctl *c, int argc, char **argv, void (*usage)(FILE *f), int want_args, int *ret_first);

/* Release @reply and return @r: `return ctl_finish(&reply, r);`. */
int ctl_finish(struct ctl_reply *reply, int r);

int ctl_cmd_status(struct ctl *c, int argc, char **argv);
int ctl_cmd_top(struct ctl *c, int argc, char **argv);
int ctl_cmd_history(struct ctl *c, int argc, char **argv);
int ctl_cmd_meminfo(struct ctl *c, int argc, char **argv);
int ctl_cmd_events(struct ctl *c, int argc, char **argv);
int ctl_cmd_captures(struct ctl *c, int argc, char **argv);
int ctl_cmd_capture(struct ctl *c, int argc, char **argv);
int ctl_cmd_arm(struct ctl *c, int argc, char **argv);
int ctl_cmd_disarm(struct ctl *c, int argc, char **argv);
int ctl_cmd_reload(struct ctl *c, int argc, char **argv);
int ctl_cmd_version(struct ctl *c, int argc, char **argv);
int ctl_cmd_metrics(struct ctl *c, int argc, char **argv);

/* Write an export answer's data as a slab log (the replay format). */
int ctl_export_write(json_object *data, const char *only_cache, FILE *f);
