/* leakgroup — caches that trip together as one suspected leak. One leaking
 * object drags others along (a UDP socket grows UDP, filp,
 * lsm_inode_cache, lsm_file_cache, sock_inode_cache and a kmalloc class):
 * trips close in time with proportional rates are grouped, and the most
 * specific cache of a group is captured first. Pure: the caller passes the
 * times. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "caches/slabinfo.h"

#define LEAKGROUP_MEMBERS_MAX 16
#define LEAKGROUP_GROUPS_MAX 16
/* Trips this close to a group's last one may join it. */
#define LEAKGROUP_WINDOW_USEC (15ULL * 60 * 1000000)
/* Rates within this factor of a member's are proportional: companions grow
 * by a small multiple of the leaked object's count. */
#define LEAKGROUP_RATE_RATIO 4.0
#define LEAKGROUP_NAME_MAX 512

/* How specific a cache is to one kind of object; lower is captured first. */
enum leakgroup_kind {
        LEAKGROUP_DEDICATED,    /* the object's own cache (UDP, signal_cache, ...) */
        LEAKGROUP_COMPANION,    /* grows along with many kinds of objects (filp, lsm_*_cache, ...) */
        LEAKGROUP_GENERIC,      /* kmalloc classes and buckets */
};

struct leakgroup_member {
        char cache[SLABINFO_NAME_MAX];
        double objects_per_min;
        uint64_t t_usec;
        enum leakgroup_kind kind;
};

struct leakgroup {
        unsigned id;                    /* "leak-<id>", counted from 1 */
        struct leakgroup_member members[LEAKGROUP_MEMBERS_MAX];
        size_t n_members;
        uint64_t first_usec;
        uint64_t last_usec;
};

struct leakgroups {
        struct leakgroup groups[LEAKGROUP_GROUPS_MAX];
        size_t n;
        unsigned next_id;
};

/* The kind of cache @name: kmalloc-family names are generic; filp, the
 * security modules' per-object blobs, sock_inode_cache, dentry, pid and a
 * few others that grow with every kind of file or task are companions;
 * the rest are dedicated. */
enum leakgroup_kind leakgroup_kind_of(const char *name);

/* "dedicated", "companion", "generic". */
const char *leakgroup_kind_name(enum leakgroup_kind k);

/* Whether rates @a and @b (objects/min, > 0) are within LEAKGROUP_RATE_RATIO. */
bool leakgroup_rates_proportional(double a, double b);

/* Record a trip of @cache at @rate at @t_usec: it joins the group that
 * tripped within LEAKGROUP_WINDOW_USEC with a proportional rate (the
 * same cache again updates its member), else starts a new one; the oldest
 * group is dropped when all are taken, a full group starts a new one. A
 * rate of 0 (on demand) never joins. Returns the group. */
const struct leakgroup *leakgroups_add(struct leakgroups *s, const char *cache, double rate, uint64_t t_usec);

/* The group with @id, NULL if gone. */
const struct leakgroup *leakgroups_find(const struct leakgroups *s, unsigned id);

/* Order of capture within a group: by kind (dedicated first), then the
 * lowest rate (the object's own cache grows by one per object, its
 * companions by as many or more), then name. <0 if @a goes first. */
int leakgroup_member_cmp(const struct leakgroup_member *a, const struct leakgroup_member *b);

/* The group's caches in capture order joined by '+': "UDP+filp+kmalloc-64".
 * Returns @buf. */
const char *leakgroup_name(const struct leakgroup *g, char *buf, size_t size);
