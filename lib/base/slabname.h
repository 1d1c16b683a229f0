/* slabname — what a slab cache's name suggests when sysfs cannot be asked. */
#pragma once

#include <stdbool.h>

/* Best guess whether cache @name is reclaimable (SLAB_RECLAIM_ACCOUNT:
 * dentries, inodes of most file systems, buffer heads, radix tree nodes,
 * kmalloc-rcl-*), for logs replayed away from the machine that wrote them.
 * The kernel's /sys/kernel/slab/<name>/reclaim_account is the truth. */
bool slabname_guess_reclaimable(const char *name);

/* Whether the objects of cache @name live and die with reclaimable objects
 * although the cache itself is not reclaim_account: per-inode blobs of the
 * security modules (lsm_inode_cache, selinux_inode_security, smack, IMA's
 * iint_cache), inode caches of pseudo and in-memory file systems whose
 * inodes go when their dentries are reclaimed (shmem, anon_inode,
 * bpf, mqueue, hugetlbfs), and dentry-linked fsnotify marks. They grow by
 * thousands when a file tree is created or walked and shrink when the
 * kernel reclaims inodes, exactly as the reclaimable caches do. Also
 * vmap_area, which the kernel frees lazily in batches. The detector judges
 * all of them by the reclaimable rule. The names follow the
 * kmem_cache_create() calls in Linux 4.x to 6.18. */
bool slabname_reclaim_linked(const char *name);
