/* assemble — stage 5: a capture's evidence into its finished report, and
 * what is said about it: the traced stacks of each method, the call sites
 * diffed over the capture, the ranking; then the outcome the alert, the
 * socket and the bundle's summary.json all carry (the suspect, the top
 * stack and call site, the one alert sentence). */
#pragma once

#include <json-c/json.h>
#include <stdint.h>

#include "callsites/callseries.h"
#include "report/report.h"
#include "stacks/pairing.h"

/* The alert sentence. */
#define REPORT_MESSAGE_MAX 1024
/* Warn when more than 1 in this many allocations reused an untraced-free pointer. */
#define REPORT_UNTRACED_FREES_WARN 100

/* What the report says, ready for the alert and the bundle's summary. */
struct report_outcome {
        char methods[REPORT_TEXT_MAX];          /* "tracefs+sysfs alloc_calls", "none" */
        char top_stack[REPORT_TOP_STACK_MAX];   /* ';'-joined frames of the first stack, "" */
        char suspect[REPORT_NAME_MAX];          /* its first code frame's function; "" when the
                                                 * growth had stopped before the capture */
        uint64_t top_outstanding;
        char confidence[16];                    /* of the top stack: "high", "medium", "low" */
        char top_call_site[REPORT_NAME_MAX];    /* the allocating site growing most, "" */
        char message[REPORT_MESSAGE_MAX];       /* one sentence */
};

/* Add one method's paired stacks and counters (and what they warn of:
 * lost events, frees that were never traced, the memory bound) to @r. */
void report_add_pairing(struct report *r, const struct pairing_result *res);

/* Finish @r: the call sites of @series (NULL if none) diffed first → last,
 * the stop reason and duration, the ranking, the attribution ledger (the
 * caller fills r->attribution's cache samples, drain and settle first). */
void report_assemble(struct report *r, const struct callseries *series, const char *stop_reason,
                     uint64_t duration_usec);

/* The outcome of finished @r for @cache; @capture_error is 0 or
 * -EOPNOTSUPP when the kernel offered no method. */
void report_outcome_of(const struct report *r, const char *cache, int capture_error, struct report_outcome *ret);

/* Add to the message that the bundle could not be written (@path, @error). */
void report_outcome_bundle_failed(struct report_outcome *o, const char *path, int error);

/* The methods used, joined by '+'; "none". Returns @buf. */
const char *report_join_methods(const struct report *r, char *buf, size_t size);

/* summary.json: the few fields a listing of bundles shows. -ENOMEM. */
int report_summary_json(const struct report *r, json_object **ret);
