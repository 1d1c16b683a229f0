/* kchange — every change slabwatchd makes to the running kernel, and its
 * undo, in one place. The operations form a closed list; each is applied
 * through a ledger that records it only once it took effect, and undoes
 * them in reverse order (kchange_undo_to(), kchange_free()) on every way
 * out: a capture's end, a failed setup, a stop, a reload. Changes that
 * would outlive a killed daemon (a tracefs mount, the sysfs `trace` flag)
 * write a durable marker into the state directory before they are made;
 * kchange_recover() at the next start undoes what the markers name, and
 * removes the tracefs instances a killed daemon left. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* Changes one ledger holds: a capture's instance makes ~12. */
#define KCHANGE_MAX 32
/* Prefix of our tracefs instances (instances/slabwatch-<cache>). */
#define KCHANGE_INSTANCE_PREFIX "slabwatch-"
/* <state_dir>/trace-on-<cache>: a sysfs trace flag we switched on. */
#define KCHANGE_TRACE_MARKER_PREFIX "trace-on-"
/* <state_dir>/tracefs-mounted: the path of a tracefs we mounted. */
#define KCHANGE_MOUNT_MARKER "tracefs-mounted"
/* <state_dir>/kprobe-<group>-<event>: a kprobe event we created. */
#define KCHANGE_KPROBE_MARKER_PREFIX "kprobe-"
/* The only group whose kprobe events we make or remove. */
#define KCHANGE_KPROBE_GROUP "slabwatch"
/* Longest kprobe definition (the kernel parses lines of up to 4 KiB). */
#define KCHANGE_KPROBE_DEF_MAX 4096
/* Markers looked at on start; one per concurrent capture in practice. */
#define KCHANGE_MARKERS_MAX 256
/* Longest value written to a kernel file (a filter). */
#define KCHANGE_VALUE_MAX 256

enum kchange_op {
        KCHANGE_MOUNT_TRACEFS,  /* mount tracefs on @path (marker); undo: unmount it */
        KCHANGE_INSTANCE,       /* mkdir the tracefs instance @path; undo: rmdir it */
        KCHANGE_TRACE_CLOCK,    /* write @value to an instance's trace_clock; undo: the clock before */
        KCHANGE_BUFFER_SIZE,    /* write @value to buffer_size_kb; undo: the size before */
        KCHANGE_OPTION,         /* write @value to options/<name>; undo: the value before */
        KCHANGE_FILTER,         /* write the filter @value to events/<sys>/<event>/filter; undo: clear it */
        KCHANGE_EVENT,          /* write "1" to events/<sys>/<event>/enable; undo: "0" */
        KCHANGE_TRACING_ON,     /* write @value to tracing_on; undo: the value before */
        KCHANGE_SLUB_TRACE,     /* write "1" to <sys>/kernel/slab/<cache>/trace (marker); undo: "0" */
        KCHANGE_KPROBE,         /* append the definition @value "p:slabwatch/<event> ..." to the
                                 * kprobe_events file @path (marker); undo: append "-:slabwatch/<event>" */
        KCHANGE_TRIGGER,        /* add the trigger @value ("stacktrace if ...") to events/<sys>/<event>/trigger;
                                 * undo: remove it ("!" + @value) */
        _KCHANGE_OP_MAX,
};

struct kchange;

/* An empty ledger; markers go to @state_dir (NULL: a ledger for changes
 * without markers, such as an instance's). -ENOMEM, -ENAMETOOLONG. */
int kchange_new(const char *state_dir, struct kchange **ret);

/* Apply @op to @path (a file, a directory or a mount point, root prefix
 * included) with @value where the op takes one (NULL otherwise). Returns 0
 * once applied and recorded, 1 when there was nothing to do (tracefs
 * already mounted there: nothing recorded), or -errno with nothing
 * recorded and nothing left changed: -E2BIG (ledger full), -EINVAL,
 * -ENAMETOOLONG, the write's or syscall's -errno, or for the marked ops
 * the -errno of writing the marker. */
int kchange_apply(struct kchange *k, enum kchange_op op, const char *path, const char *value);

/* Changes recorded and not undone. */
size_t kchange_depth(const struct kchange *k);

/* True if the ledger holds @op (any path). */
bool kchange_holds(const struct kchange *k, enum kchange_op op);

/* Undo the changes above @depth, newest first. An undo that fails stays
 * recorded (a later call tries it again) and the rest are still tried.
 * Returns the first -errno, 0. */
int kchange_undo_to(struct kchange *k, size_t depth);

/* The op's name, for messages: "mount tracefs", "instance", ... */
const char *kchange_op_name(enum kchange_op op);

/* Undo everything (warning about what cannot be undone), free. NULL is a no-op. */
void kchange_free(struct kchange *k);

/* What a killed daemon left, found at start: switch off every sysfs trace
 * flag a marker in @state_dir names (only <sys_dir>/kernel/slab/<name>/trace
 * paths are touched), unmount a tracefs a marker says we mounted at
 * @tracefs_path if nothing uses it now, and remove every stale
 * `slabwatch-*` instance under @tracefs_dir (NULL: tracefs not mounted;
 * one in use by another process is left). Logs what it did. Returns the
 * number of changes undone. */
int kchange_recover(const char *state_dir, const char *sys_dir, const char *tracefs_path, const char *tracefs_dir);
