/* slabname — see slabname.h. The tables follow the kmem_cache_create()
 * calls that pass SLAB_RECLAIM_ACCOUNT in Linux 2.6 to 6.18. */
#include "base/slabname.h"

#include <fnmatch.h>
#include <stddef.h>

/* Inode caches that cannot be reclaimed while their file system holds them
 * (tmpfs, hugetlbfs, mqueue), or that only mirror others (LSM blobs). Checked
 * first: they would match the inode patterns below. */
static const char *const not_reclaimable[] = {
        "shmem_inode_cache",
        "hugetlbfs_inode_cache",
        "mqueue_inode_cache",
        "lsm_inode_cache",
        "kernfs_*",
        "anon_inode*",
        "bpf_inode*",
};

static const char *const reclaimable[] = {
        "dentry",
        "*inode_cache",         /* inode_cache, proc_, sock_, ext2/3/4_, fat_, nfs_, ... */
        "*_inode",              /* xfs_inode, btrfs_inode, fuse_inode, ovl_inode, erofs_inode */
        "*_icache",             /* ufs, jfs, affs, ... */
        "radix_tree_node",
        "buffer_head",
        "extent_status",
        "pending_reservation",
        "mb_cache_entry",
        "bdev_cache",
        "dax_cache",
        "dquot",
        "bio_post_read_ctx",
        "fscrypt_inode_info",
        "fscrypt_info",
        "jbd2_journal_head",
        "jbd2_revoke_*",
        "jbd2_transaction_s",
        "ext4_allocation_context",
        "ext4_prealloc_space",
        "ext4_io_end",
        "ext4_free_data",
        "ext4_fc_dentry_update",
        "ext4_groupinfo_*",
        "xfs_ili",
        "xfs_buf",
        "erofs_pcluster-*",
        "pidfs_*",
        "kmalloc-rcl-*",
        "dma-kmalloc-rcl-*",
};

/* See slabname_reclaim_linked(). */
static const char *const reclaim_linked[] = {
        "lsm_inode_cache",
        "*_inode_security",     /* selinux_inode_security (before 5.1) */
        "smack_*inode*",
        "iint_cache",
        "ima_iint_cache",
        "shmem_inode_cache",
        "anon_inode*",
        "bpf_inode*",
        "mqueue_inode_cache",
        "hugetlbfs_inode_cache",
        "fsnotify_mark_connector",
        /* Freed lazily, in batches: a vmalloc area's vmap_area is kept until
         * lazy_max_pages worth have piled up (mm/vmalloc.c), so its count
         * climbs for minutes or hours on a quiet machine, then drops. */
        "vmap_area",
};

static bool matches(const char *const *patterns, size_t n, const char *name) {
        for (size_t i = 0; i < n; i++)
                if (fnmatch(patterns[i], name, 0) == 0)
                        return true;
        return false;
}

bool slabname_guess_reclaimable(const char *name) {
        if (!name || !*name)
                return false;
        if (matches(not_reclaimable, sizeof not_reclaimable / sizeof *not_reclaimable, name))
                return false;
        return matches(reclaimable, sizeof reclaimable / sizeof *reclaimable, name);
}

bool slabname_reclaim_linked(const char *name) {
        if (!name || !*name)
                return false;
        return matches(reclaim_linked, sizeof reclaim_linked / sizeof *reclaim_linked, name);
}
