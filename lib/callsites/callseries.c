#include "callsites/callseries.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One CSV line, and the site's name in it. */
#define CSV_LINE_MAX 1024
#define CSV_SITE_MAX 128

int callseries_new(struct callseries **ret) {
        struct callseries *s = calloc(1, sizeof *s);
        if (!s)
                return -ENOMEM;
        s->sources = calloc(CALLSERIES_SOURCES_MAX, sizeof *s->sources);
        if (!s->sources) {
                free(s);
                return -ENOMEM;
        }
        *ret = s;
        return 0;
}

void callseries_free(struct callseries *s) {
        if (!s)
                return;
        for (size_t i = 0; i < s->n_sources; i++) {
                free(s->sources[i].first_raw);
                callsites_done(&s->sources[i].first);
                callsites_done(&s->sources[i].last);
        }
        free(s->sources);
        free(s->csv);
        free(s);
}

int callseries_add_source(struct callseries *s, const char *cache, const char *file, bool free_site) {
        if (!s || !cache || !file)
                return -EINVAL;
        if (s->n_sources >= CALLSERIES_SOURCES_MAX)
                return -E2BIG;
        if (strlen(cache) >= CALLSERIES_CACHE_MAX || strlen(file) >= CALLSERIES_FILE_MAX)
                return -ENAMETOOLONG;
        struct callseries_source *src = &s->sources[s->n_sources];
        memset(src, 0, sizeof *src);
        snprintf(src->cache, sizeof src->cache, "%s", cache);
        snprintf(src->file, sizeof src->file, "%s", file);
        src->free_site = free_site;
        return (int) s->n_sources++;
}

/* Append one line; false once the series is cut. */
static bool csv_append(struct callseries *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool csv_append(struct callseries *s, const char *fmt, ...) {
        char line[CSV_LINE_MAX];
        va_list ap;
        int n;

        if (s->csv_cut)
                return false;
        va_start(ap, fmt);
        n = vsnprintf(line, sizeof line, fmt, ap);
        va_end(ap);
        if (n < 0)
                return false;
        if ((size_t) n >= sizeof line)
                n = (int) sizeof line - 1;
        if (s->csv_len + (size_t) n > CALLSERIES_CSV_MAX) {
                s->csv_cut = true;
                return false;
        }
        if (s->csv_len + (size_t) n + 1 > s->csv_allocated) {
                size_t want = s->csv_allocated ? s->csv_allocated * 2 : 4096;
                while (want < s->csv_len + (size_t) n + 1)
                        want *= 2;
                char *p = realloc(s->csv, want);
                if (!p)
                        return false;
                s->csv = p;
                s->csv_allocated = want;
        }
        memcpy(s->csv + s->csv_len, line, (size_t) n);
        s->csv_len += (size_t) n;
        s->csv[s->csv_len] = '\0';
        return true;
}

void callseries_begin(struct callseries *s) {
        if (s->csv_len == 0)
                (void) csv_append(s, "t_s,cache,file,site,count\n");
        s->snapshots++;
}

int callseries_feed(struct callseries *s, size_t i, double t_s, const char *text, size_t len, const char *label,
                    char *problem, size_t problem_size, bool *ret_said) {
        struct callsites parsed = {};
        int r;

        *ret_said = false;
        if (!s || i >= s->n_sources)
                return -EINVAL;
        struct callseries_source *src = &s->sources[i];
        r = callsites_parse(text, len, &parsed);
        if (r < 0) {
                if (r != src->error) {
                        snprintf(problem, problem_size,
                                 "call sites: %s is not a call-site file (%zu malformed lines, first at line %u): %s",
                                 label, parsed.n_bad_lines, parsed.n_bad_lines ? parsed.bad_lines[0].line : 0,
                                 strerror(-r));
                        *ret_said = true;
                }
                src->error = r;
                callsites_done(&parsed);
                return r;
        }
        if (parsed.n_bad_lines > 0 && src->error != -EBADMSG) {
                snprintf(problem, problem_size, "call sites: %zu malformed lines skipped in %s (first at line %u)",
                         parsed.n_bad_lines, label, parsed.bad_lines[0].line);
                *ret_said = true;
                src->error = -EBADMSG;
        }

        return callseries_add(s, i, t_s, &parsed, text, len);
}

int callseries_add(struct callseries *s, size_t i, double t_s, struct callsites *parsed, const char *raw,
                   size_t raw_len) {
        if (!s || !parsed || i >= s->n_sources) {
                if (parsed)
                        callsites_done(parsed);
                return -EINVAL;
        }
        struct callseries_source *src = &s->sources[i];

        for (size_t k = 0; k < parsed->n_sites; k++) {
                char site[CSV_SITE_MAX];
                callsites_format_site(&parsed->sites[k], site, sizeof site);
                if (!csv_append(s, "%.3f,%s,%s,\"%s\",%" PRIu64 "\n", t_s, src->cache, src->file, site,
                                parsed->sites[k].count))
                        break;
        }

        src->snapshots++;
        if (!src->have_first) {
                src->first = *parsed;
                src->have_first = true;
                src->first_raw = raw ? malloc(raw_len + 1) : NULL;
                if (src->first_raw) {
                        memcpy(src->first_raw, raw, raw_len);
                        src->first_raw[raw_len] = '\0';
                        src->first_len = raw_len;
                }
        } else {
                callsites_done(&src->last);
                src->last = *parsed;
                src->have_last = true;
        }
        *parsed = (struct callsites) {};
        return 0;
}

bool callseries_cut_news(struct callseries *s) {
        if (!s || !s->csv_cut || s->csv_cut_said)
                return false;
        s->csv_cut_said = true;
        return true;
}

bool callseries_read_failed(struct callseries *s, size_t i, int error) {
        if (!s || i >= s->n_sources)
                return false;
        bool say = s->sources[i].error != error;
        s->sources[i].error = error;
        return say;
}

int callseries_diff(const struct callseries *s, size_t i, struct callsites_diff *ret) {
        if (!s || i >= s->n_sources)
                return -EINVAL;
        const struct callseries_source *src = &s->sources[i];
        if (!src->have_first)
                return -ENOENT;
        return callsites_diff(&src->first, src->have_last ? &src->last : &src->first, ret);
}

const char *callseries_format_frame(const struct callsites_frame *f, char *buf, size_t size) {
        int n;

        if (f->has_offset)
                n = snprintf(buf, size, "%s+0x%" PRIx64 "/0x%" PRIx64, f->function, f->offset, f->size);
        else
                n = snprintf(buf, size, "%s", f->function);
        if (n >= 0 && (size_t) n < size && f->module && f->module[0])
                snprintf(buf + n, size - (size_t) n, " [%s]", f->module);
        return buf;
}
