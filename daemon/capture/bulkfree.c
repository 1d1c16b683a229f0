#include "capture/bulkfree.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capture/kchange.h"
#include "core/log.h"
#include "core/readfile.h"

#define PATH_BUF 4096
#define DESCRIBE_MAX 160
/* kfree_rcu() fills a page with pointers after a two-long header
 * (struct kvfree_rcu_bulk_data): 510 on 64-bit, 1022 on 32-bit kernels. */
#define BATCH_HEADER_LONGS 2

/* The first three arguments' registers as fetch-args name them. */
#if defined(__x86_64__)
static const struct bulkrec_regs regs = { "%di", "%si", "%dx" };
#elif defined(__aarch64__)
static const struct bulkrec_regs regs = { "%x0", "%x1", "%x2" };
#elif defined(__mips__)
/* The kernel accepts the probe ($a0-$a2 are %r4-%r6), but Debian's 6.1
 * malta kernel then dies on the first call, from the maple tree's
 * mas_destroy(): "Break instruction in kernel code" in the probe's
 * single-step slot. Not on MIPS. */
#define BULKFREE_NO_REGS 1
#define BULKFREE_NO_REGS_REASON "kprobes on kmem_cache_free_bulk crash MIPS kernels (a break in the single-step slot)"
#elif defined(__arm__)
static const struct bulkrec_regs regs = { "%r0", "%r1", "%r2" };
#elif defined(__riscv)
static const struct bulkrec_regs regs = { "%a0", "%a1", "%a2" };
#else
#define BULKFREE_NO_REGS 1
#endif
#ifndef BULKFREE_NO_REGS_REASON
#define BULKFREE_NO_REGS_REASON "the argument registers of this architecture are not known"
#endif

struct bulkfree {
        struct kchange *kernel;
        size_t enable_depth;
        char instance_dir[PATH_BUF];
        char events[BULKREC_EVENTS_MAX][BULKREC_EVENT_NAME_MAX + 1];
        struct bulkrec_layout layout;
        char describe[DESCRIBE_MAX];
};

bool bulkfree_available(const char *tracefs_dir, char *ret_reason, size_t size) {
#ifdef BULKFREE_NO_REGS
        (void) tracefs_dir;
        snprintf(ret_reason, size, "%s", BULKFREE_NO_REGS_REASON);
        return false;
#else
        char path[PATH_BUF];
        if (!tracefs_dir || readfile_path(path, sizeof path, tracefs_dir, "kprobe_events") < 0 ||
            access(path, F_OK) < 0) {
                snprintf(ret_reason, size, "the kernel has no kprobe events (CONFIG_KPROBE_EVENTS)");
                return false;
        }
        if (ret_reason && size)
                ret_reason[0] = '\0';
        return true;
#endif
}

/* sw_<cache>_<slice>: [A-Za-z0-9_], within the kernel's 64. */
static void event_name(const char *cache, unsigned slice, char *buf, size_t size) {
        char clean[40];
        size_t n = 0;
        for (; cache[n] && n < sizeof clean - 1; n++) {
                char c = cache[n];
                clean[n] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ? c : '_';
        }
        clean[n] = '\0';
        snprintf(buf, size, "sw_%s_%u", clean, slice);
}

static int read_format(const char *tracefs_dir, const char *event, struct tracefmt_event *ret) {
        char rel[256], path[PATH_BUF];
        struct readfile_buf b = { .max = TRACEFMT_TEXT_MAX };
        snprintf(rel, sizeof rel, "events/" BULKREC_GROUP "/%s/format", event);
        int r = readfile_path(path, sizeof path, tracefs_dir, rel);
        if (r == 0)
                r = readfile_read(&b, path);
        if (r == 0)
                r = tracefmt_parse(b.data, b.len, ret);
        readfile_done(&b);
        return r;
}

static int instance_apply(struct bulkfree *b, enum kchange_op op, const char *event, const char *file,
                          const char *value) {
        char rel[256], path[PATH_BUF];
        snprintf(rel, sizeof rel, "events/" BULKREC_GROUP "/%s/%s", event, file);
        int r = readfile_path(path, sizeof path, b->instance_dir, rel);
        return r < 0 ? r : kchange_apply(b->kernel, op, path, value);
}

int bulkfree_start(const struct bulkfree_options *o, struct bulkfree **ret) {
        char reason[BULKFREE_REASON_MAX], path[PATH_BUF];
        if (!o || !ret || !o->tracefs_dir || !o->instance_dir || !o->state_dir || !o->cache_name ||
            (o->long_size != 4 && o->long_size != 8))
                return -EINVAL;
        if (!bulkfree_available(o->tracefs_dir, reason, sizeof reason))
                return -EOPNOTSUPP;
#ifdef BULKFREE_NO_REGS
        return -EOPNOTSUPP;
#else
        struct bulkfree *b = calloc(1, sizeof *b);
        if (!b)
                return -ENOMEM;
        char *def = malloc(BULKREC_DEFINITION_MAX);
        struct tracefmt_event *fmt = malloc(sizeof *fmt);
        int r = def && fmt ? kchange_new(o->state_dir, &b->kernel) : -ENOMEM;
        if (r < 0)
                goto fail;
        snprintf(b->instance_dir, sizeof b->instance_dir, "%s", o->instance_dir);
        r = readfile_path(path, sizeof path, o->tracefs_dir, "kprobe_events");
        if (r < 0)
                goto fail;
        long page = sysconf(_SC_PAGESIZE);
        uint64_t batch = (uint64_t) (page > 0 ? page : 4096) / o->long_size - BATCH_HEADER_LONGS;
        unsigned slices = bulkrec_slices_for(batch);
        for (unsigned i = 0; i < slices; i++) {
                event_name(o->cache_name, i, b->events[i], sizeof b->events[i]);
                r = bulkrec_definition(def, BULKREC_DEFINITION_MAX, b->events[i], i, &regs, o->long_size);
                if (r == 0)
                        r = kchange_apply(b->kernel, KCHANGE_KPROBE, path, def);
                if (r == 0)
                        r = read_format(o->tracefs_dir, b->events[i], fmt);
                if (r == 0)
                        r = bulkrec_layout_add(&b->layout, i, fmt);
                if (r < 0)
                        goto fail;
                /* A slice past the call's size records nothing. */
                char filter[96];
                if (o->kmalloc_only)
                        snprintf(filter, sizeof filter, "s == 0 && n > %u", i * BULKREC_PTRS_PER_EVENT);
                else
                        snprintf(filter, sizeof filter, "n > %u", i * BULKREC_PTRS_PER_EVENT);
                r = instance_apply(b, KCHANGE_FILTER, b->events[i], "filter", filter);
                if (r < 0)
                        goto fail;
        }
        b->enable_depth = kchange_depth(b->kernel);
        snprintf(b->describe, sizeof b->describe, "kprobe:%s %u event%s of %u pointers%s", BULKREC_FUNCTION, slices,
                 slices == 1 ? "" : "s", BULKREC_PTRS_PER_EVENT, o->kmalloc_only ? " (s == NULL)" : "");
        free(def);
        free(fmt);
        *ret = b;
        return 0;
fail:
        log_debug("bulk frees: kprobe events on %s not made: %s", BULKREC_FUNCTION, strerror(-r));
        free(def);
        free(fmt);
        bulkfree_free(b);
        return r;
#endif
}

int bulkfree_enable(struct bulkfree *b) {
        int r = 0;
        if (!b)
                return -EINVAL;
        for (unsigned i = 0; r == 0 && i < b->layout.n_slices; i++)
                r = instance_apply(b, KCHANGE_EVENT, b->events[i], "enable", NULL);
        return r;
}

int bulkfree_disable(struct bulkfree *b) {
        return b ? kchange_undo_to(b->kernel, b->enable_depth) : 0;
}

const struct bulkrec_layout *bulkfree_layout(const struct bulkfree *b) {
        return &b->layout;
}

const char *bulkfree_describe(const struct bulkfree *b) {
        return b->describe;
}

void bulkfree_free(struct bulkfree *b) {
        if (!b)
                return;
        kchange_free(b->kernel);
        free(b);
}
