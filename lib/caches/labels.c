/* labels — see labels.h. */
#include "caches/labels.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Longest labels line. */
#define LINE_MAX_LEN 1024
#define MIB (1024.0 * 1024.0)

static void copy(char *dst, size_t size, const char *src) {
        size_t n = strlen(src);
        if (n >= size)
                n = size - 1;
        memcpy(dst, src, n);
        dst[n] = '\0';
}

/* Next space-separated word of *p (NUL-terminated in place), or NULL. */
static char *word(char **p) {
        char *s = *p;
        while (*s == ' ' || *s == '\t')
                s++;
        if (!*s)
                return NULL;
        char *w = s;
        while (*s && *s != ' ' && *s != '\t')
                s++;
        if (*s)
                *s++ = '\0';
        *p = s;
        return w;
}

static const char *rest(char *p) {
        while (*p == ' ' || *p == '\t')
                p++;
        return p;
}

static int number(const char *w, const char *suffix, double *ret) {
        if (!w)
                return -EINVAL;
        char *end;
        errno = 0;
        double v = strtod(w, &end);
        if (errno || end == w || !isfinite(v))
                return -EINVAL;
        if (suffix && strcmp(end, suffix) != 0)
                return -EINVAL;
        if (!suffix && *end)
                return -EINVAL;
        *ret = v;
        return 0;
}

static int parse_caches(char *list, struct labels_leak *k) {
        char *save = NULL;
        for (char *c = strtok_r(list, ",", &save); c; c = strtok_r(NULL, ",", &save)) {
                if (!*c || strlen(c) >= LABELS_CACHE_MAX)
                        return -EINVAL;
                if (k->n_caches >= LABELS_LEAK_CACHES_MAX)
                        return -E2BIG;
                copy(k->caches[k->n_caches++], LABELS_CACHE_MAX, c);
        }
        return k->n_caches > 0 ? 0 : -EINVAL;
}

static int parse_line(char *p, struct labels *l) {
        char *key = word(&p);
        if (!key)
                return 0;
        if (strcmp(key, "recording") == 0 || strcmp(key, "kernel") == 0) {
                const char *v = rest(p);
                if (!*v)
                        return -EINVAL;
                copy(strcmp(key, "recording") == 0 ? l->name : l->kernel, LABELS_NAME_MAX, v);
                return 0;
        }
        if (strcmp(key, "machine") == 0)
                return *rest(p) ? 0 : -EINVAL;
        if (strcmp(key, "interval") == 0)
                return number(word(&p), NULL, &l->interval_sec);
        if (strcmp(key, "start") == 0)
                return number(word(&p), NULL, &l->start);
        if (strcmp(key, "end") == 0)
                return number(word(&p), NULL, &l->end);
        if (strcmp(key, "event") == 0) {
                double t;
                return number(word(&p), NULL, &t);
        }
        if (strcmp(key, "benign") == 0) {
                if (l->n_benign >= LABELS_SPANS_MAX)
                        return -E2BIG;
                struct labels_span *s = &l->benign[l->n_benign];
                if (number(word(&p), NULL, &s->from) < 0 || number(word(&p), NULL, &s->to) < 0 || s->to < s->from)
                        return -EINVAL;
                copy(s->what, sizeof s->what, rest(p));
                l->n_benign++;
                return 0;
        }
        if (strcmp(key, "leak") == 0) {
                if (l->n_leaks >= LABELS_LEAKS_MAX)
                        return -E2BIG;
                struct labels_leak *k = &l->leaks[l->n_leaks];
                memset(k, 0, sizeof *k);
                if (number(word(&p), NULL, &k->from) < 0 || number(word(&p), NULL, &k->to) < 0 || k->to < k->from)
                        return -EINVAL;
                char *list = word(&p);
                if (!list)
                        return -EINVAL;
                int r = parse_caches(list, k);
                if (r < 0)
                        return r;
                if (number(word(&p), "/s", &k->rate_per_sec) < 0 || number(word(&p), "B", &k->object_bytes) < 0)
                        return -EINVAL;
                copy(k->what, sizeof k->what, rest(p));
                l->n_leaks++;
                return 0;
        }
        if (strcmp(key, "companion") == 0 || strcmp(key, "excused") == 0) {
                if (l->n_notes >= LABELS_NOTES_MAX)
                        return -E2BIG;
                struct labels_note *n = &l->notes[l->n_notes];
                const char *cache = word(&p);
                if (!cache || strlen(cache) >= LABELS_CACHE_MAX)
                        return -EINVAL;
                copy(n->cache, sizeof n->cache, cache);
                n->from = -1;
                if (strcmp(key, "companion") == 0 && (number(word(&p), NULL, &n->from) < 0 || n->from < 0))
                        return -EINVAL;
                copy(n->why, sizeof n->why, rest(p));
                l->n_notes++;
                return 0;
        }
        return -EINVAL;
}

int labels_parse(const char *buf, size_t len, struct labels *ret, unsigned *ret_line) {
        static const struct labels empty;
        char line[LINE_MAX_LEN];
        unsigned lineno = 0;

        if (!buf || !ret)
                return -EINVAL;
        if (len > LABELS_FILE_MAX)
                return -EFBIG;
        struct labels *l = malloc(sizeof *l);
        if (!l)
                return -ENOMEM;
        *l = empty;
        size_t i = 0;
        int r = 0;
        while (i < len) {
                size_t j = i;
                while (j < len && buf[j] != '\n')
                        j++;
                lineno++;
                size_t n = j - i;
                if (n >= sizeof line || memchr(buf + i, '\0', n)) {
                        r = -EINVAL;
                        break;
                }
                memcpy(line, buf + i, n);
                line[n] = '\0';
                if (n > 0 && line[n - 1] == '\r')
                        line[n - 1] = '\0';
                char *hash = strchr(line, '#');
                if (hash)
                        *hash = '\0';
                r = parse_line(line, l);
                if (r < 0)
                        break;
                i = j + 1;
        }
        if (r == 0 && (l->end < l->start))
                r = -EINVAL;
        if (r < 0) {
                if (ret_line)
                        *ret_line = lineno;
                free(l);
                return r;
        }
        *ret = *l;
        free(l);
        return 0;
}

double labels_deadline_sec(double rate_per_sec, double bytes_per_hour) {
        if (bytes_per_hour >= 10 * MIB)
                return 5 * 60;
        if (rate_per_sec >= 1)
                return 30 * 60;
        if (rate_per_sec >= 0.5)
                return 40 * 60;
        return 0;
}

enum labels_verdict labels_judge(const struct labels *l, const char *cache, double t) {
        for (size_t i = 0; i < l->n_leaks; i++) {
                const struct labels_leak *k = &l->leaks[i];
                if (t < k->from)
                        continue;
                for (size_t c = 0; c < k->n_caches; c++)
                        if (strcmp(k->caches[c], cache) == 0)
                                return LABELS_TRIP_LEAK;
        }
        for (size_t i = 0; i < l->n_notes; i++) {
                const struct labels_note *n = &l->notes[i];
                if (strcmp(n->cache, cache) != 0)
                        continue;
                if (n->from < 0)
                        return LABELS_TRIP_EXCUSED;
                if (t >= n->from)
                        return LABELS_TRIP_COMPANION;
        }
        return LABELS_TRIP_FALSE;
}

void labels_score(const struct labels *l, const struct labels_trip *trips, size_t n, struct labels_score *ret) {
        struct labels_score s = {};
        for (size_t i = 0; i < LABELS_LEAKS_MAX; i++)
                for (size_t c = 0; c < LABELS_LEAK_CACHES_MAX; c++)
                        s.latency_sec[i][c] = -1;
        for (size_t i = 0; i < l->n_leaks; i++)
                s.must += l->leaks[i].n_caches;
        for (size_t j = 0; j < n; j++) {
                const struct labels_trip *tr = &trips[j];
                enum labels_verdict v = labels_judge(l, tr->cache, tr->t);
                if (v == LABELS_TRIP_FALSE) {
                        if (s.n_false < LABELS_TRIPS_MAX)
                                s.false_trips[s.n_false] = *tr;
                        s.n_false++;
                        continue;
                }
                if (v != LABELS_TRIP_LEAK) {
                        s.n_allowed++;
                        continue;
                }
                /* The earliest running leak that lists the cache takes the trip. */
                for (size_t i = 0; i < l->n_leaks; i++) {
                        const struct labels_leak *k = &l->leaks[i];
                        if (tr->t < k->from)
                                continue;
                        for (size_t c = 0; c < k->n_caches; c++) {
                                if (strcmp(k->caches[c], tr->cache) != 0)
                                        continue;
                                double lat = tr->t - k->from;
                                if (s.latency_sec[i][c] < 0 || lat < s.latency_sec[i][c])
                                        s.latency_sec[i][c] = lat;
                        }
                }
        }
        for (size_t i = 0; i < l->n_leaks; i++) {
                const struct labels_leak *k = &l->leaks[i];
                double deadline = labels_deadline_sec(k->rate_per_sec, k->rate_per_sec * k->object_bytes * 3600);
                for (size_t c = 0; c < k->n_caches; c++) {
                        if (s.latency_sec[i][c] < 0)
                                continue;
                        s.tripped++;
                        if (deadline > 0 && s.latency_sec[i][c] > deadline)
                                s.late++;
                }
        }
        *ret = s;
}
