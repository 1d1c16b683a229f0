/* ctl_format — option parsing shared by the subcommands, and the human
 * output: units, times, colours, aligned tables, a terminal chart. */
#include <errno.h>
#include <inttypes.h>
#include <langinfo.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "base/config.h"
#include "ctl.h"
#include "base/units.h"

/* Terminal widths outside this range are treated as unknown. */
#define CTL_TERM_WIDTH_MIN 40
#define CTL_TERM_WIDTH_MAX 400
#define CTL_TERM_WIDTH_DEFAULT 80
/* Rows a table may hold (history of the raw tier at 1 s is 3600). */
#define CTL_TABLE_ROWS_MAX 1000000

static const struct option common_options[] = {
        { "socket", required_argument, NULL, CTL_OPT_SOCKET },
        { "json", no_argument, NULL, CTL_OPT_JSON },
        { "color", optional_argument, NULL, CTL_OPT_COLOR },
        { "no-color", no_argument, NULL, CTL_OPT_NO_COLOR },
        { "timeout", required_argument, NULL, CTL_OPT_TIMEOUT },
        { "help", no_argument, NULL, CTL_OPT_HELP },
};

#define N_COMMON (sizeof common_options / sizeof common_options[0])
/* Subcommand options plus the common ones. */
#define CTL_OPTIONS_MAX 32

static int common_option(struct ctl *c, int opt, const char *arg) {
        uint64_t usec;
        switch (opt) {
        case CTL_OPT_SOCKET:
                if (!arg[0]) {
                        ctl_error("--socket needs a path");
                        return CTL_EXIT_USAGE;
                }
                c->socket_path = arg;
                return 0;
        case CTL_OPT_JSON:
                c->json = true;
                return 0;
        case CTL_OPT_COLOR:
                if (!arg || strcmp(arg, "always") == 0)
                        c->color_mode = CTL_COLOR_ALWAYS;
                else if (strcmp(arg, "auto") == 0)
                        c->color_mode = CTL_COLOR_AUTO;
                else if (strcmp(arg, "never") == 0)
                        c->color_mode = CTL_COLOR_NEVER;
                else {
                        ctl_error("--color takes auto, always or never");
                        return CTL_EXIT_USAGE;
                }
                return 0;
        case CTL_OPT_NO_COLOR:
                c->color_mode = CTL_COLOR_NEVER;
                return 0;
        case CTL_OPT_TIMEOUT:
                if (ctl_parse_duration(arg, &usec) < 0 || usec < 1000000 ||
                    usec > (uint64_t) CTL_TIMEOUT_MAX_SEC * 1000000) {
                        ctl_error("--timeout takes 1s..%ds, not \"%s\"", CTL_TIMEOUT_MAX_SEC, arg);
                        return CTL_EXIT_USAGE;
                }
                c->timeout_sec = (unsigned) (usec / 1000000);
                return 0;
        default:
                return CTL_EXIT_USAGE;
        }
}

int ctl_parse_options(struct ctl *c, int argc, char **argv, const char *shortopts, const struct option *longopts,
                      ctl_option_fn on_option, void *userdata, void (*usage)(FILE *f), int *ret_first) {
        struct option all[CTL_OPTIONS_MAX + 1];
        size_t n = 0;
        char shorts[64];

        for (const struct option *o = longopts; o && o->name && n < CTL_OPTIONS_MAX - N_COMMON; o++)
                all[n++] = *o;
        for (size_t i = 0; i < N_COMMON; i++)
                all[n++] = common_options[i];
        all[n] = (struct option) { 0 };
        /* Leading ':' reports a missing argument as ':' so we can word it. */
        snprintf(shorts, sizeof shorts, ":%s", shortopts ? shortopts : "");

        optind = 0;
        opterr = 0;
        for (;;) {
                int opt = getopt_long(argc, argv, shorts, all, NULL);
                if (opt == -1)
                        break;
                if (opt == '?') {
                        if (optopt)
                                ctl_error("%s: unknown option -%c", argv[0], optopt);
                        else
                                ctl_error("%s: unknown option %s", argv[0], argv[optind - 1]);
                        fprintf(stderr, "Try 'slabwatchctl %s --help'.\n", argv[0]);
                        return CTL_EXIT_USAGE;
                }
                if (opt == ':') {
                        ctl_error("%s: option %s needs a value", argv[0], argv[optind - 1]);
                        return CTL_EXIT_USAGE;
                }
                if (opt == CTL_OPT_HELP) {
                        usage(stdout);
                        return -1;
                }
                int r = opt >= CTL_OPT_SOCKET && opt < _CTL_OPT_COMMON_END ? common_option(c, opt, optarg)
                        : on_option ? on_option(c, opt, optarg, userdata)
                                    : CTL_EXIT_USAGE;
                if (r != 0)
                        return r;
        }
        *ret_first = optind;
        ctl_setup_output(c);
        return 0;
}

void ctl_setup_output(struct ctl *c) {
        bool tty = isatty(STDOUT_FILENO);
        const char *term = getenv("TERM");
        const char *no_color = getenv("NO_COLOR");

        c->color = c->color_mode == CTL_COLOR_ALWAYS ||
                   (c->color_mode == CTL_COLOR_AUTO && tty && !(no_color && no_color[0]) &&
                    !(term && strcmp(term, "dumb") == 0));
        (void) setlocale(LC_CTYPE, "");
        const char *codeset = nl_langinfo(CODESET);
        c->utf8 = codeset && (strcmp(codeset, "UTF-8") == 0 || strcmp(codeset, "utf8") == 0);
        c->term_width = CTL_TERM_WIDTH_DEFAULT;
        struct winsize ws;
        if (tty && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= CTL_TERM_WIDTH_MIN &&
            ws.ws_col <= CTL_TERM_WIDTH_MAX)
                c->term_width = ws.ws_col;
}

int ctl_parse_duration(const char *s, uint64_t *ret_usec) {
        char *end = NULL;
        if (!s || !*s)
                return -EINVAL;
        errno = 0;
        double v = strtod(s, &end);
        if (end && *end == '\0' && errno == 0) {
                if (!isfinite(v) || v < 0 || v > (double) PROTO_SECONDS_MAX)
                        return -ERANGE;
                *ret_usec = (uint64_t) llround(v * 1e6);
                return 0;
        }
        return config_parse_duration(s, ret_usec);
}

const char *ctl_format_rate(double bytes_per_hour, char *buf, size_t size) {
        char b[32];
        if (!isfinite(bytes_per_hour)) {
                snprintf(buf, size, "-");
                return buf;
        }
        units_format_bytes(fabs(bytes_per_hour), false, b, sizeof b);
        snprintf(buf, size, "%s%s/h", bytes_per_hour < 0 ? "-" : "+", b);
        return buf;
}

const char *ctl_format_signed(double v, int decimals, char *buf, size_t size) {
        if (!isfinite(v))
                snprintf(buf, size, "-");
        else
                snprintf(buf, size, "%+.*f", decimals, v);
        return buf;
}

const char *ctl_format_usec(double usec, char *buf, size_t size) {
        if (!isfinite(usec) || usec < 0)
                snprintf(buf, size, "-");
        else if (usec < 1000)
                snprintf(buf, size, "%.0f µs", usec);
        else if (usec < 1e6)
                snprintf(buf, size, "%.1f ms", usec / 1e3);
        else
                snprintf(buf, size, "%.2f s", usec / 1e6);
        return buf;
}

const char *ctl_format_duration(double seconds, char *buf, size_t size) {
        if (!isfinite(seconds) || seconds < 0) {
                snprintf(buf, size, "-");
                return buf;
        }
        uint64_t s = (uint64_t) llround(seconds);
        if (seconds < 1 && seconds > 0)
                snprintf(buf, size, "%.0fms", seconds * 1000);
        else if (s < 60)
                snprintf(buf, size, "%" PRIu64 "s", s);
        else if (s < 3600)
                snprintf(buf, size, "%" PRIu64 "m%02" PRIu64 "s", s / 60, s % 60);
        else if (s < 86400)
                snprintf(buf, size, "%" PRIu64 "h%02" PRIu64 "m", s / 3600, (s % 3600) / 60);
        else
                snprintf(buf, size, "%" PRIu64 "d%02" PRIu64 "h", s / 86400, (s % 86400) / 3600);
        return buf;
}

static bool epoch_tm(double epoch, struct tm *ret) {
        time_t t = (time_t) epoch;
        return isfinite(epoch) && epoch > 0 && localtime_r(&t, ret);
}

const char *ctl_format_time(double epoch, char *buf, size_t size) {
        struct tm tm;
        if (!epoch_tm(epoch, &tm) || strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm) == 0)
                snprintf(buf, size, "-");
        return buf;
}

const char *ctl_format_clock(double epoch, char *buf, size_t size) {
        struct tm tm;
        if (!epoch_tm(epoch, &tm) || strftime(buf, size, "%H:%M:%S", &tm) == 0)
                snprintf(buf, size, "-");
        return buf;
}

const char *ctl_json_str(json_object *o, const char *key, const char *fallback) {
        json_object *v;
        if (!o || !json_object_object_get_ex(o, key, &v) || !v)
                return fallback;
        return json_object_get_string(v);
}

double ctl_json_num(json_object *o, const char *key, double fallback) {
        json_object *v;
        if (!o || !json_object_object_get_ex(o, key, &v) || !v)
                return fallback;
        if (!json_object_is_type(v, json_type_int) && !json_object_is_type(v, json_type_double))
                return fallback;
        return json_object_get_double(v);
}

bool ctl_json_bool(json_object *o, const char *key) {
        json_object *v;
        return o && json_object_object_get_ex(o, key, &v) && json_object_get_boolean(v);
}

bool ctl_json_has(json_object *o, const char *key) {
        json_object *v;
        return o && json_object_object_get_ex(o, key, &v) && v;
}

const char *ctl_color_bad(const struct ctl *c) {
        return c->color ? "\033[1;31m" : "";
}

const char *ctl_color_warn(const struct ctl *c) {
        return c->color ? "\033[33m" : "";
}

const char *ctl_color_good(const struct ctl *c) {
        return c->color ? "\033[32m" : "";
}

const char *ctl_color_bold(const struct ctl *c) {
        return c->color ? "\033[1m" : "";
}

const char *ctl_color_dim(const struct ctl *c) {
        return c->color ? "\033[2m" : "";
}

const char *ctl_color_reset(const struct ctl *c) {
        return c->color ? "\033[0m" : "";
}

struct ctl_table {
        size_t n_columns;
        char headers[CTL_TABLE_COLUMNS_MAX][CTL_CELL_MAX];
        enum ctl_align align[CTL_TABLE_COLUMNS_MAX];
        char (*cells)[CTL_TABLE_COLUMNS_MAX][CTL_CELL_MAX];
        const char *(*colors)[CTL_TABLE_COLUMNS_MAX];
        size_t n_rows;
        size_t allocated;
};

struct ctl_table *ctl_table_new(size_t n_columns, const char *const *headers, const enum ctl_align *align) {
        if (n_columns == 0 || n_columns > CTL_TABLE_COLUMNS_MAX)
                return NULL;
        struct ctl_table *t = calloc(1, sizeof *t);
        if (!t)
                return NULL;
        t->n_columns = n_columns;
        for (size_t i = 0; i < n_columns; i++) {
                snprintf(t->headers[i], sizeof t->headers[i], "%s", headers[i]);
                t->align[i] = align ? align[i] : CTL_ALIGN_LEFT;
        }
        return t;
}

int ctl_table_add(struct ctl_table *t, const char *const *cells, const char *const *colors) {
        if (t->n_rows >= CTL_TABLE_ROWS_MAX)
                return -E2BIG;
        if (t->n_rows == t->allocated) {
                size_t n = t->allocated ? t->allocated * 2 : 64;
                void *p = realloc(t->cells, n * sizeof *t->cells);
                if (!p)
                        return -ENOMEM;
                t->cells = p;
                p = realloc(t->colors, n * sizeof *t->colors);
                if (!p)
                        return -ENOMEM;
                t->colors = p;
                t->allocated = n;
        }
        for (size_t i = 0; i < t->n_columns; i++) {
                snprintf(t->cells[t->n_rows][i], CTL_CELL_MAX, "%s", cells[i] ? cells[i] : "");
                t->colors[t->n_rows][i] = colors ? colors[i] : NULL;
        }
        t->n_rows++;
        return 0;
}

/* Columns a UTF-8 string takes (every code point one column: good enough
 * for "µs" and cache names). */
static size_t display_width(const char *s) {
        size_t w = 0;
        for (const unsigned char *p = (const unsigned char *) s; *p; p++)
                if ((*p & 0xc0) != 0x80)
                        w++;
        return w;
}

static void print_cell(FILE *f, const char *s, size_t width, enum ctl_align align, const char *color,
                       const char *reset, bool last) {
        size_t w = display_width(s);
        size_t pad = width > w ? width - w : 0;
        if (align == CTL_ALIGN_RIGHT)
                fprintf(f, "%*s", (int) pad, "");
        fprintf(f, "%s%s%s", color ? color : "", s, color && *color ? reset : "");
        /* No trailing blanks after the last column. */
        if (align == CTL_ALIGN_LEFT && !last)
                fprintf(f, "%*s", (int) pad, "");
}

void ctl_table_print(const struct ctl *c, const struct ctl_table *t, FILE *f) {
        size_t width[CTL_TABLE_COLUMNS_MAX];
        for (size_t i = 0; i < t->n_columns; i++) {
                width[i] = display_width(t->headers[i]);
                for (size_t r = 0; r < t->n_rows; r++) {
                        size_t w = display_width(t->cells[r][i]);
                        if (w > width[i])
                                width[i] = w;
                }
        }
        for (size_t i = 0; i < t->n_columns; i++) {
                if (i)
                        fputs("  ", f);
                print_cell(f, t->headers[i], width[i], t->align[i], ctl_color_bold(c), ctl_color_reset(c),
                           i + 1 == t->n_columns);
        }
        fputc('\n', f);
        for (size_t r = 0; r < t->n_rows; r++) {
                for (size_t i = 0; i < t->n_columns; i++) {
                        if (i)
                                fputs("  ", f);
                        print_cell(f, t->cells[r][i], width[i], t->align[i], t->colors[r][i], ctl_color_reset(c),
                                   i + 1 == t->n_columns);
                }
                fputc('\n', f);
        }
}

void ctl_table_free(struct ctl_table *t) {
        if (!t)
                return;
        free(t->cells);
        free(t->colors);
        free(t);
}

/* Partial blocks, one eighth at a time. */
static const char *const blocks[9] = { " ", "▁", "▂", "▃", "▄", "▅", "▆", "▇", "█" };

void ctl_chart(const struct ctl *c, FILE *f, const double *t_epoch, const double *values, size_t n,
               unsigned height, unsigned width, const char *unit_label) {
        double lo = INFINITY, hi = -INFINITY;
        char a[32], b[32];

        if (n == 0 || height == 0 || width == 0)
                return;
        for (size_t i = 0; i < n; i++)
                if (isfinite(values[i])) {
                        lo = fmin(lo, values[i]);
                        hi = fmax(hi, values[i]);
                }
        if (!isfinite(lo))
                return;
        /* Few points are stretched over the width, many are binned. */
        size_t columns = width;
        double *col = malloc(columns * sizeof *col);
        if (!col)
                return;
        /* Each column shows the highest value of its share of the points:
         * a leak's peaks are what matter. */
        for (size_t x = 0; x < columns; x++) {
                size_t from = x * n / columns, to = (x + 1) * n / columns;
                if (to <= from)
                        to = from + 1;
                col[x] = NAN;
                for (size_t i = from; i < to; i++)
                        if (isfinite(values[i]) && (isnan(col[x]) || values[i] > col[x]))
                                col[x] = values[i];
        }
        double range = hi - lo;
        snprintf(a, sizeof a, "%.0f", hi);
        /* A flat series: one label, on the row its value is drawn on. */
        snprintf(b, sizeof b, "%.0f", lo);
        if (range <= 0)
                a[0] = '\0';
        int label_w = (int) (strlen(a) > strlen(b) ? strlen(a) : strlen(b));
        if (label_w == 0)
                label_w = 1;
        for (unsigned row = 0; row < height; row++) {
                const char *label = row == 0 ? a : row + 1 == height ? b : "";
                fprintf(f, "%*s %s", label_w, label, c->utf8 ? "│" : "|");
                fputs(ctl_color_good(c), f);
                for (size_t x = 0; x < columns; x++) {
                        if (isnan(col[x])) {
                                fputc(' ', f);
                                continue;
                        }
                        /* Eighths of a row filled, counted from the bottom;
                         * a flat series sits on the bottom row. */
                        double frac = range > 0 ? (col[x] - lo) / range : 0;
                        long eighths = lround(frac * (double) (height * 8 - 1)) + 1;
                        long level = eighths - (long) (height - 1 - row) * 8;
                        if (level <= 0)
                                fputc(' ', f);
                        else if (c->utf8)
                                fputs(blocks[level >= 8 ? 8 : level], f);
                        else
                                fputc(level >= 8 ? '#' : level >= 4 ? '+' : '.', f);
                }
                fputs(ctl_color_reset(c), f);
                fputc('\n', f);
        }
        fprintf(f, "%*s %s", label_w, "", c->utf8 ? "└" : "+");
        for (size_t x = 0; x < columns; x++)
                fputs(c->utf8 ? "─" : "-", f);
        fputc('\n', f);
        ctl_format_time(t_epoch[0], a, sizeof a);
        ctl_format_clock(t_epoch[n - 1], b, sizeof b);
        int gap = (int) columns - (int) strlen(a) - (int) strlen(b);
        fprintf(f, "%*s  %s%*s%s", label_w, "", a, gap > 1 ? gap : 1, "", b);
        if (unit_label)
                fprintf(f, "  (%s)", unit_label);
        fputc('\n', f);
        free(col);
}
