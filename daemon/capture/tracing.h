/* tracing — a capture's stack tracing (stage 4, the I/O side): through
 * tracefs (capture/tracer), mounting tracefs first when the config allows
 * it, or before 5.9 through the sysfs `trace` flag and the kernel log
 * (capture/kmsgtracer). It says in the report which method runs or what
 * would give one, and at the stop puts the paired stacks and what went
 * wrong into the report. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/config.h"
#include "capture/identity.h"
#include "capture/kchange.h"
#include "capture/probe.h"
#include "report/report.h"

/* What tracing uses of the manager: its config, its probe (re-run after a
 * mount) and its ledger of mounts (shared by every capture). */
struct tracing_env {
        const struct config *config;
        struct probe *probe;
        struct kchange *mounts;
        uint64_t settle_usec;           /* outstanding objects younger than this are no evidence */
};

struct tracing;

/* Start tracing @id's first member, trying tracefs then the kmsg trace.
 * *ret is NULL when no method could start (the report says why). -ENOMEM. */
int tracing_start(const struct tracing_env *env, const struct identity *id, struct report *rep,
                  struct tracing **ret);

/* Drain what was traced since the last poll. 0, or -errno and the stop
 * reason the capture ends with ("trace read error", "log read error",
 * "event or memory limit"); a warning is in the report. */
int tracing_poll(struct tracing *t, struct report *rep, const char **ret_stop_reason);

/* The allocation window is over: count only frees from now on. False when
 * the running method cannot tell later events apart (the kmsg trace, a
 * trace without the mono clock): end the capture instead. */
bool tracing_end_allocs(struct tracing *t);

/* Events and lost events so far, for a running capture's status. */
void tracing_counts(const struct tracing *t, uint64_t *ret_events, uint64_t *ret_lost);

/* Put the stacks paired so far (the @max_stacks most outstanding) and the
 * counters into @rep, a copy of the capture's report for a checkpoint;
 * tracing goes on. The kmsg trace offers no snapshot: 0 with nothing
 * added. -ENOMEM. */
int tracing_snapshot(struct tracing *t, size_t max_stacks, struct report *rep);

/* raw.trace of a tracefs capture (stacks/rawtrace.h), the caller's to free. */
struct tracing_raw {
        uint8_t *data;                  /* NULL: none */
        size_t len;
};

/* Stop, restore the kernel, put the stacks and warnings into @rep, hand
 * raw.trace to @ret_raw (NULL: dropped), free. NULL is a no-op. */
void tracing_stop(struct tracing *t, struct report *rep, struct tracing_raw *ret_raw);
