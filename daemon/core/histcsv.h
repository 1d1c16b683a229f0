/* histcsv — the history.csv of a capture bundle: the tripped cache's
 * samples, and beside each one the meminfo keys the verdict judges and the
 * verdict the daemon held then, so the bundle shows where the memory went
 * over time and not only at the trip.
 *
 *   time,active_objs,num_slabs,MemAvailable,SUnreclaim,SReclaimable,VmallocUsed,AnonPages,Shmem,verdict
 *   1767225000.000,3000,250,20312000,181200,90100,30100,400100,2100,slab
 *
 * meminfo columns are kB, empty where no sample of that key lies within one
 * cache sample of the time; verdict is "none", flags joined by '+', or empty
 * before the daemon started (it is not kept across restarts). */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "caches/engine.h"

/* Verdict changes remembered for history.csv (oldest dropped). */
#define HISTCSV_VERDICTS_MAX 64
/* Points of history put into a capture bundle's history.csv. */
#define HISTCSV_POINTS 4096

struct histcsv_verdicts {
        uint64_t since_usec;            /* CLOCK_REALTIME the log starts at (the verdict was "none") */
        struct {
                uint64_t t_usec;
                unsigned flags;
        } v[HISTCSV_VERDICTS_MAX];
        size_t n;
};

/* Start the log at @t_usec with no verdict. */
void histcsv_verdicts_init(struct histcsv_verdicts *log, uint64_t t_usec);

/* The verdict became @flags at @t_usec. */
void histcsv_verdicts_add(struct histcsv_verdicts *log, uint64_t t_usec, unsigned flags);

/* history.csv of @cache from @since_usec, malloc'd; NULL when out of memory
 * or the cache has no history. @log may be NULL. */
char *histcsv_build(const struct engine *e, const char *cache, uint64_t since_usec,
                    const struct histcsv_verdicts *log, size_t *ret_len);
