/* probe — what this kernel and this host let a capture use: run at start and
 * on SIGHUP (the whole machine) and at a trip (the one cache). Reads only;
 * mounting tracefs is the tracer's job. Every path comes from the config. */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/config.h"

#define PROBE_RELEASE_MAX 128
#define PROBE_CACHE_NAME_MAX 128
/* probe_summary() output: one journal line. */
#define PROBE_SUMMARY_MAX 1024

struct probe {
        char release[PROBE_RELEASE_MAX];        /* "6.18.44-fc-v669", "" if unknown */
        uint32_t kver;                          /* CACHEID_KVER of the release, 0 if unknown */
        bool slabinfo_readable;
        int slabinfo_error;                     /* -errno when not readable */
        bool slub_sysfs;                        /* <sys>/kernel/slab exists */
        bool debugfs_slab;                      /* <debugfs>/slab: some cache has SLAB_STORE_USER (5.14+) */
        char tracefs_dir[CONFIG_PATH_MAX];      /* where tracefs is, or would be mounted */
        bool tracefs_mounted;                   /* tracefs_dir holds events/ */
        bool tracefs_mountable;                 /* not mounted, but the kernel has tracefs and we may mount */
        bool tracefs_instances;                 /* instances/ exists */
        bool stacktrace_option;                 /* options/stacktrace exists */
        bool kmem_cache_alloc_event;
        bool kmem_cache_alloc_name;             /* its format has `name` (6.18+) */
        bool kmem_cache_free_event;
        bool kmem_cache_free_name;              /* 5.12+ */
        bool kmalloc_event;
        bool kfree_event;
        bool bulk_frees;                        /* kprobe events can show bulk frees (capture/bulkfree) */
        char bulk_frees_reason[160];            /* why not, "" */
        bool allocinfo;                         /* <proc>/allocinfo readable (6.10+, CONFIG_MEM_ALLOC_PROFILING) */
        bool dev_kmsg;                          /* dev_kmsg readable, for the pre-5.9 trace method */
        bool may_write_trace;                   /* kernel < 5.9: sysfs trace can be writable */
};

/* What a capture of one cache can use. */
struct probe_cache {
        char name[PROBE_CACHE_NAME_MAX];
        bool sysfs;                             /* <sys>/kernel/slab/<name> exists */
        bool store_user;                        /* store_user reads 1: call sites recorded */
        bool trace_writable;                    /* <sys>/kernel/slab/<name>/trace can be written */
        bool trace_on;                          /* trace reads 1 (slub_debug=T): TRACE records are logged */
        bool sysfs_alloc_calls;                 /* alloc_calls readable (≤ 5.13 with store_user) */
        bool debugfs_alloc_traces;              /* <debugfs>/slab/<name>/alloc_traces (5.14+) */
};

/* Probe the host through the paths in @c. Never fails for a missing
 * capability (that is the answer); returns 0, or -ENOMEM. */
int probe_run(const struct config *c, struct probe *ret);

/* Probe what a capture of cache @name (its sysfs name) can use. 0, or
 * -EINVAL for a name that cannot be a cache ("", "..", contains '/'). */
int probe_cache(const struct config *c, const struct probe *p, const char *name, struct probe_cache *ret);

/* True if a tracefs `format` file (@buf, @len) declares a field named @field. */
bool probe_format_has_field(const char *buf, size_t len, const char *field);

/* One line for the journal: "kernel 6.18.44; slabinfo ok; SLUB sysfs; ...". Returns @buf. */
const char *probe_summary(const struct probe *p, char *buf, size_t size);

/* The probe as a json-c object for the status command. -ENOMEM. */
int probe_to_json(const struct probe *p, json_object **ret);

/* A cache probe as a json-c object. -ENOMEM. */
int probe_cache_to_json(const struct probe_cache *pc, json_object **ret);
