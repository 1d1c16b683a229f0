/* callsnap — a capture's call-site evidence read from the kernel (stage 3,
 * the I/O side): for every member of the cache, sysfs alloc_calls and
 * free_calls (≤ 5.13) or debugfs alloc_traces and free_traces (5.14+),
 * snapshot by snapshot into a callseries (lib/callsites); /proc/allocinfo
 * (6.10+) at the start and the end; and, where the kernel records no call
 * sites, the advice that says how to make it. Problems go to the report's
 * warnings, once per source. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/config.h"
#include "callsites/callseries.h"
#include "capture/bundle.h"
#include "capture/identity.h"
#include "capture/probe.h"
#include "report/report.h"

/* A call-site file larger than this is refused (a real one is a few hundred KB). */
#define CALLSNAP_FILE_MAX (16u << 20)

struct callsnap;

/* Decide the sources of @id's call sites on this host (@p), say in @rep
 * which method is used or what would give one, and take the first round
 * of snapshots (the baseline) and the first allocinfo. @start_mono_usec is
 * the capture's start; @c, @p and @rep must outlive the callsnap. -ENOMEM. */
int callsnap_new(const struct config *c, const struct probe *p, const struct identity *id, const char *key,
                 uint64_t start_mono_usec, struct report *rep, struct callsnap **ret);

/* Call-site files read each round (0: no call sites on this kernel). */
size_t callsnap_sources(const struct callsnap *s);

/* One round of snapshots, at @now_mono_usec. */
void callsnap_take(struct callsnap *s, uint64_t now_mono_usec);

/* When the last round was taken (monotonic µs). */
uint64_t callsnap_last_usec(const struct callsnap *s);

/* The end: a last round unless @skip_last_round, and the last allocinfo. */
void callsnap_finish(struct callsnap *s, uint64_t now_mono_usec, bool skip_last_round);

/* The series, for the report. */
const struct callseries *callsnap_series(const struct callsnap *s);

/* The files the bundle keeps: the series, the raw snapshots, allocinfo.
 * The blobs point into @s. */
void callsnap_bundle_files(const struct callsnap *s, struct bundle_capture *ret);

/* Free @s; NULL is a no-op. */
void callsnap_free(struct callsnap *s);
