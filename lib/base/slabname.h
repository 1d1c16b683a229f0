/* slabname — what a slab cache's name suggests when sysfs cannot be asked. */
#pragma once

#include <stdbool.h>

/* Best guess whether cache @name is reclaimable (SLAB_RECLAIM_ACCOUNT:
 * dentries, inodes of most file systems, buffer heads, radix tree nodes,
 * kmalloc-rcl-*), for logs replayed away from the machine that wrote them.
 * The kernel's /sys/kernel/slab/<name>/reclaim_account is the truth. */
bool slabname_guess_reclaimable(const char *name);
