#include "caches/leakgroup.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cacheid.h"

/* Caches that grow along with many kinds of objects: every open file
 * (filp, the LSM file blob), every inode (LSM and SELinux inode blobs,
 * sock_inode_cache for sockets), every task or path lookup. */
static const char *const companions[] = {
        "filp", "sock_inode_cache", "dentry", "inode_cache", "proc_inode_cache", "anon_inode_cache",
        "pid", "cred_jar", "names_cache", "eventpoll_epi", "eventpoll_pwq", "kernfs_node_cache",
        "selinux_inode_security", "selinux_file_security", "iint_cache", "vm_area_struct",
        "anon_vma", "anon_vma_chain", "skbuff_head_cache", "skbuff_small_head", "ebitmap_node",
};

/* Buckets of kmalloc by purpose (6.11+), as generic as the classes. */
static const char *const generic_prefixes[] = { "kmalloc-", "dma-kmalloc-", "size-", "memdup_user-", "msg_msg-" };

enum leakgroup_kind leakgroup_kind_of(const char *name) {
        struct cacheid_kmalloc km;

        if (!name)
                return LEAKGROUP_DEDICATED;
        if (cacheid_kmalloc_parse(name, &km) == 0)
                return LEAKGROUP_GENERIC;
        for (size_t i = 0; i < sizeof generic_prefixes / sizeof generic_prefixes[0]; i++)
                if (strncmp(name, generic_prefixes[i], strlen(generic_prefixes[i])) == 0)
                        return LEAKGROUP_GENERIC;
        if (strncmp(name, "lsm_", 4) == 0)
                return LEAKGROUP_COMPANION;
        for (size_t i = 0; i < sizeof companions / sizeof companions[0]; i++)
                if (strcmp(name, companions[i]) == 0)
                        return LEAKGROUP_COMPANION;
        return LEAKGROUP_DEDICATED;
}

const char *leakgroup_kind_name(enum leakgroup_kind k) {
        switch (k) {
        case LEAKGROUP_COMPANION:
                return "companion";
        case LEAKGROUP_GENERIC:
                return "generic";
        default:
                return "dedicated";
        }
}

bool leakgroup_rates_proportional(double a, double b) {
        if (!(a > 0) || !(b > 0))
                return false;
        return a > b ? a <= b * LEAKGROUP_RATE_RATIO : b <= a * LEAKGROUP_RATE_RATIO;
}

static bool joins(const struct leakgroup *g, const char *cache, double rate, uint64_t t_usec) {
        if (t_usec > g->last_usec + LEAKGROUP_WINDOW_USEC)
                return false;
        for (size_t i = 0; i < g->n_members; i++)
                if (strcmp(g->members[i].cache, cache) == 0 ||
                    leakgroup_rates_proportional(g->members[i].objects_per_min, rate))
                        return true;
        return false;
}

static void set_member(struct leakgroup_member *m, const char *cache, double rate, uint64_t t_usec) {
        snprintf(m->cache, sizeof m->cache, "%s", cache);
        m->objects_per_min = rate;
        m->t_usec = t_usec;
        m->kind = leakgroup_kind_of(cache);
}

const struct leakgroup *leakgroups_add(struct leakgroups *s, const char *cache, double rate, uint64_t t_usec) {
        struct leakgroup *g = NULL;

        for (size_t i = 0; rate > 0 && i < s->n && !g; i++)
                if (joins(&s->groups[i], cache, rate, t_usec))
                        g = &s->groups[i];
        if (g) {
                for (size_t i = 0; i < g->n_members; i++)
                        if (strcmp(g->members[i].cache, cache) == 0) {
                                set_member(&g->members[i], cache, rate, t_usec);
                                g->last_usec = t_usec;
                                return g;
                        }
                if (g->n_members < LEAKGROUP_MEMBERS_MAX) {
                        set_member(&g->members[g->n_members++], cache, rate, t_usec);
                        g->last_usec = t_usec;
                        return g;
                }
        }
        if (s->n == LEAKGROUP_GROUPS_MAX) {
                /* Full: the group that tripped least recently goes. */
                size_t oldest = 0;
                for (size_t i = 1; i < s->n; i++)
                        if (s->groups[i].last_usec < s->groups[oldest].last_usec)
                                oldest = i;
                s->groups[oldest] = s->groups[--s->n];
        }
        g = &s->groups[s->n++];
        memset(g, 0, sizeof *g);
        g->id = ++s->next_id;
        g->first_usec = g->last_usec = t_usec;
        set_member(&g->members[g->n_members++], cache, rate, t_usec);
        return g;
}

const struct leakgroup *leakgroups_find(const struct leakgroups *s, unsigned id) {
        for (size_t i = 0; i < s->n; i++)
                if (s->groups[i].id == id)
                        return &s->groups[i];
        return NULL;
}

int leakgroup_member_cmp(const struct leakgroup_member *a, const struct leakgroup_member *b) {
        if (a->kind != b->kind)
                return a->kind < b->kind ? -1 : 1;
        if (a->objects_per_min != b->objects_per_min)
                return a->objects_per_min < b->objects_per_min ? -1 : 1;
        return strcmp(a->cache, b->cache);
}

static int member_qcmp(const void *a, const void *b) {
        return leakgroup_member_cmp(a, b);
}

const char *leakgroup_name(const struct leakgroup *g, char *buf, size_t size) {
        struct leakgroup_member sorted[LEAKGROUP_MEMBERS_MAX];
        size_t pos = 0;

        if (size == 0)
                return buf;
        buf[0] = '\0';
        memcpy(sorted, g->members, g->n_members * sizeof *sorted);
        qsort(sorted, g->n_members, sizeof *sorted, member_qcmp);
        for (size_t i = 0; i < g->n_members && pos + 1 < size; i++) {
                int n = snprintf(buf + pos, size - pos, "%s%s", i ? "+" : "", sorted[i].cache);
                if (n < 0)
                        break;
                pos += (size_t) n;
        }
        return buf;
}
