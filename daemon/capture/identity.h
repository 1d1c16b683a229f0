/* identity — which kernel caches a name stands for. SLUB merges compatible
 * caches: /sys/kernel/slab/<name> is then a symlink into a ":0000192"-style
 * directory shared by every alias, while /proc/slabinfo and the kmem
 * tracepoints show one name for the group (the first created). A kmalloc
 * size class stands for all of its variants present (kmalloc-8k,
 * kmalloc-cg-8k, kmalloc-rcl-8k, dma-kmalloc-8k, kmalloc-rnd-NN-8k,
 * msg_msg-8k, ...). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/cacheid.h"
#include "base/config.h"
#include "caches/slabinfo.h"

/* Entries of <sys>/kernel/slab we look at; ~430 on a desktop kernel. */
#define IDENTITY_SYSFS_ENTRIES_MAX 65536
/* Caches one name may stand for (every kmalloc variant of a size). */
#define IDENTITY_MEMBERS_MAX 64
/* Names of one identity (aliases of all members). */
#define IDENTITY_ALIASES_MAX 1024

/* One kmem_cache the name stands for. */
struct identity_member {
        char slabinfo_name[SLABINFO_NAME_MAX];  /* as /proc/slabinfo and the tracepoints print it */
        bool slabinfo_known;                    /* false: slabinfo did not show any name of the group */
        char sysfs_name[SLABINFO_NAME_MAX];     /* the sysfs entry: ":A-0001152", or the name itself */
        char sysfs_dir[CONFIG_PATH_MAX];        /* <sys>/kernel/slab/<sysfs_name>, "" without SLUB sysfs */
        bool merged;                            /* reached through symlinks */
        uint32_t object_size;                   /* sysfs object_size (0 unknown) */
        uint32_t slab_size;                     /* sysfs slab_size: the tracepoints' bytes_alloc (0 unknown) */
        char **aliases;                         /* every name of the group, sorted */
        size_t n_aliases;
};

struct identity {
        char name[SLABINFO_NAME_MAX];           /* as asked for */
        bool kmalloc_class;                     /* @name is a kmalloc size class */
        struct cacheid_kmalloc kmalloc;         /* its parse when kmalloc_class */
        struct identity_member *members;        /* the requested cache first when it is a member */
        size_t n_members;
};

/* Resolve @name (a slabinfo name, an alias, or a kmalloc class in either
 * spelling) using the SLUB sysfs under @c->paths.sys and @si (the latest
 * /proc/slabinfo; NULL to read <proc>/slabinfo now). -ENOENT if neither
 * sysfs nor slabinfo knows it, -EINVAL for a name that cannot be a cache,
 * -ENOMEM, or -errno of reading sysfs. */
int identity_resolve(const struct config *c, const struct slabinfo *si, const char *name, struct identity **ret);

/* Free @id; NULL is a no-op. */
void identity_free(struct identity *id);

/* Every alias of every member, without duplicates, in member order. The
 * pointers belong to @id. Returns the count written (at most @max). */
size_t identity_all_names(const struct identity *id, const char **names, size_t max);

/* True if any member still exists: its sysfs directory, or (without sysfs)
 * its name in <proc>/slabinfo. For noticing a cache destroyed mid-capture
 * (module unloaded). */
bool identity_exists(const struct config *c, const struct identity *id);
