#include "core/histcsv.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memory/verdict.h"

/* The meminfo keys of the verdict, in column order. */
static const enum meminfo_key columns[] = {
        MEMINFO_MEM_AVAILABLE, MEMINFO_SUNRECLAIM, MEMINFO_SRECLAIMABLE,
        MEMINFO_VMALLOC_USED,  MEMINFO_ANON_PAGES, MEMINFO_SHMEM,
};
#define N_COLUMNS (sizeof columns / sizeof columns[0])

void histcsv_verdicts_init(struct histcsv_verdicts *log, uint64_t t_usec) {
        memset(log, 0, sizeof *log);
        log->since_usec = t_usec;
}

void histcsv_verdicts_add(struct histcsv_verdicts *log, uint64_t t_usec, unsigned flags) {
        if (log->n > 0 && log->v[log->n - 1].flags == flags)
                return;
        if (log->n == HISTCSV_VERDICTS_MAX) {
                /* The oldest goes: the log now starts where the next began. */
                log->since_usec = log->v[1].t_usec;
                memmove(log->v, log->v + 1, (HISTCSV_VERDICTS_MAX - 1) * sizeof log->v[0]);
                log->n--;
        }
        log->v[log->n].t_usec = t_usec;
        log->v[log->n].flags = flags;
        log->n++;
}

/* The verdict held at @t: -1 when unknown (before the log starts). */
static long verdict_at(const struct histcsv_verdicts *log, uint64_t t, size_t *cursor) {
        if (!log || t < log->since_usec)
                return -1;
        while (*cursor < log->n && log->v[*cursor].t_usec <= t)
                (*cursor)++;
        return *cursor == 0 ? (long) VERDICT_NONE : (long) log->v[*cursor - 1].flags;
}

struct series {
        struct history_point *p;
        int n;
        int i;
};

/* The value of @s at @t: its last point at or before @t, no older than
 * @tolerance; false when there is none. */
static bool value_at(struct series *s, uint64_t t, uint64_t tolerance, uint32_t *ret) {
        while (s->i + 1 < s->n && s->p[s->i + 1].t_usec <= t)
                s->i++;
        if (s->n <= 0 || s->p[s->i].t_usec > t || t - s->p[s->i].t_usec > tolerance)
                return false;
        *ret = s->p[s->i].last;
        return true;
}

char *histcsv_build(const struct engine *e, const char *cache, uint64_t since_usec,
                    const struct histcsv_verdicts *log, size_t *ret_len) {
        struct history_point *pts = calloc(HISTCSV_POINTS * (N_COLUMNS + 1), sizeof *pts);
        struct series mem[N_COLUMNS] = { 0 };
        char *text = NULL;
        size_t size = 0, cursor = 0;

        *ret_len = 0;
        if (!pts)
                return NULL;
        int n = engine_cache_history(e, cache, HISTORY_TIER_RAW, since_usec, pts, HISTCSV_POINTS);
        for (size_t k = 0; k < N_COLUMNS; k++) {
                mem[k].p = pts + (k + 1) * HISTCSV_POINTS;
                mem[k].n = engine_meminfo_history(e, columns[k], HISTORY_TIER_RAW, since_usec, mem[k].p,
                                                  HISTCSV_POINTS);
        }
        FILE *f = n >= 0 ? open_memstream(&text, &size) : NULL;
        if (!f) {
                free(pts);
                return NULL;
        }
        fputs("time,active_objs,num_slabs", f);
        for (size_t k = 0; k < N_COLUMNS; k++)
                fprintf(f, ",%s", meminfo_key_name(columns[k]));
        fputs(",verdict\n", f);
        for (int i = 0; i < n; i++) {
                uint64_t t = pts[i].t_usec;
                /* A meminfo sample of the same tick, or the one before within
                 * a sample's spacing (a tick whose slabinfo failed). */
                uint64_t tolerance = i > 0 ? t - pts[i - 1].t_usec : 0;
                fprintf(f, "%.3f,%" PRIu32 ",", (double) t / 1e6, pts[i].last);
                if (pts[i].aux != HISTORY_AUX_NONE)
                        fprintf(f, "%" PRIu32, pts[i].aux);
                for (size_t k = 0; k < N_COLUMNS; k++) {
                        uint32_t v;
                        fputc(',', f);
                        if (value_at(&mem[k], t, tolerance, &v))
                                fprintf(f, "%" PRIu32, v);
                }
                long flags = verdict_at(log, t, &cursor);
                char buf[64];
                fprintf(f, ",%s\n", flags < 0 ? "" : verdict_flags_string((unsigned) flags, buf, sizeof buf));
        }
        free(pts);
        if (fclose(f) != 0) {
                free(text);
                return NULL;
        }
        *ret_len = size;
        return text;
}
