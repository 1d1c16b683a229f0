/* The attribution ledger of a report: the traced net against the cache's
 * own growth, the counters that make the ranking doubtful, a confidence
 * per stack, and the sentence that says how far to trust the top one. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "report/report.h"

/* The trace explains the growth when traced_net / cache_delta lies in
 * [LOW, HIGH]; outside it the ledger names the likely reason. */
#define EXPLAINED_LOW 0.5
#define EXPLAINED_HIGH 2.0
/* Growth during the capture below this share of what the trip's rate
 * predicts, with no settled object on the top stack: it had stopped. */
#define STOPPED_FRACTION 0.1
/* A high confidence needs at least this many settled objects... */
#define SETTLED_MIN 3
/* ...at least half of the stack's outstanding ones, and at least this
 * share (1/N) of every stack's settled objects. */
#define SETTLED_SHARE_DIV 10
/* Untraced frees above 1 in this many allocations make a stack doubtful. */
#define UNTRACED_DIV 10

size_t report_unreliable_figures(const struct report *r, const char **names, size_t max) {
        static const char *const lossy[] = { "outstanding", "settled", "bytes", "oldest_age_s", "traced_net",
                                             "explained" };
        size_t n = 0;

        if (r->lost_events == 0)
                return 0;
        for (size_t i = 0; i < sizeof lossy / sizeof lossy[0] && n < max; i++)
                names[n++] = lossy[i];
        return n;
}

const char *report_confidence_name(enum report_confidence c) {
        switch (c) {
        case REPORT_CONFIDENCE_HIGH:
                return "high";
        case REPORT_CONFIDENCE_MEDIUM:
                return "medium";
        default:
                return "low";
        }
}

/* Objects the trip's rate predicts over the allocation window; 0 on demand. */
static double expected_growth(const struct report *r) {
        const struct report_attribution *a = &r->attribution;
        uint64_t window = r->duration_usec > a->drain_usec ? r->duration_usec - a->drain_usec : r->duration_usec;

        if (r->trigger.on_demand || r->trigger.objects_per_min <= 0)
                return 0;
        return r->trigger.objects_per_min * (double) window / 60e6;
}

static enum report_confidence stack_confidence(const struct report *r, const struct report_stack *s,
                                               uint64_t total_settled) {
        const struct report_attribution *a = &r->attribution;
        bool explained_ok = !a->explained_known || (a->explained >= EXPLAINED_LOW && a->explained <= EXPLAINED_HIGH);

        /* A stack seen to free unseen is never of high confidence (its
         * unexplained is all it holds); low when the cache's growth does not
         * hold its outstanding objects either. A leak that shares its stack
         * with such a churn keeps the growth as its evidence. */
        bool held = a->cache_known && a->cache_delta > 0 && (uint64_t) a->cache_delta >= s->outstanding;
        if (a->growth_stopped || s->settled == 0 || (s->freed_unseen && !held))
                return REPORT_CONFIDENCE_LOW;
        if (s->settled >= SETTLED_MIN && s->settled * 2 >= s->outstanding &&
            s->settled * SETTLED_SHARE_DIV >= total_settled && a->lost_events == 0 && !r->truncated && explained_ok &&
            s->untraced_frees * UNTRACED_DIV <= s->allocs && s->unexplained < s->outstanding)
                return REPORT_CONFIDENCE_HIGH;
        return REPORT_CONFIDENCE_MEDIUM;
}

static void add_notes(struct report *r, double expected) {
        struct report_attribution *a = &r->attribution;

        if (!a->cache_known)
                (void) report_strv_add(&a->notes, "no slabinfo samples inside the capture window: the traced net "
                                                  "cannot be checked against the cache's growth");
        else if (a->cache_delta <= 0 && a->traced_net > 0)
                (void) report_strv_addf(&a->notes,
                                        "the cache did not grow during the capture (%+" PRId64 " objects) while the "
                                        "trace nets %+" PRId64 ": frees without a tracepoint (kfree_rcu, bulk frees) "
                                        "or lost free events",
                                        a->cache_delta, a->traced_net);
        else if (a->explained_known && a->explained < EXPLAINED_LOW)
                (void) report_strv_addf(&a->notes,
                                        "the trace explains only %.0f %% of the cache's growth: allocations it did "
                                        "not see (lost events, a path the filter misses, other caches merged "
                                        "into this one or another size class)",
                                        a->explained * 100);
        else if (a->explained_known && a->explained > EXPLAINED_HIGH)
                (void) report_strv_addf(&a->notes,
                                        "the trace shows %.1f times the cache's growth: frees it did not see "
                                        "(kfree_rcu and bulk frees have no tracepoint; %" PRIu64
                                        " untraced frees were inferred) or lost free events",
                                        a->explained, a->untraced_frees);
        if (a->cache_known && a->objperslab > 1 && a->cache_delta > 0 && a->cache_delta < 2 * (int64_t) a->objperslab)
                (void) report_strv_addf(&a->notes,
                                        "the cache grew by less than two slabs (%" PRIu32
                                        " objects each): slabinfo moves a slab at a time, the ratio is rough",
                                        a->objperslab);
        if (a->lost_events > 0)
                (void) report_strv_addf(&a->notes,
                                        "%" PRIu64 " events were lost: a lost free leaves a phantom outstanding object",
                                        a->lost_events);
        if (a->untraced_frees > 0)
                (void) report_strv_addf(&a->notes,
                                        "%" PRIu64 " objects were freed without a traced free (their pointer was "
                                        "allocated again): counted as freed, not outstanding",
                                        a->untraced_frees);
        if (a->unexplained > 0)
                (void) report_strv_addf(&a->notes,
                                        "%" PRIu64 " outstanding objects are more than the cache grew: they were freed "
                                        "without a traced free (%s), and each stack's `unexplained` says how many of "
                                        "its own may be such",
                                        a->unexplained,
                                        a->bulk_known && !a->bulk_traced ? "bulk frees are not traced here"
                                        : a->lost_events > 0                  ? "lost events"
                                                                              : "frees the trace missed");
        size_t unseen = 0;
        for (size_t i = 0; i < r->n_stacks; i++)
                unseen += r->stacks[i].freed_unseen;
        if (unseen > 0)
                (void) report_strv_addf(&a->notes,
                                        "%zu stack(s) free their objects on a path with no free tracepoint (their "
                                        "pointers came back without a traced free): their outstanding objects may "
                                        "all be freed unseen; they are marked freed_unseen, never of high "
                                        "confidence, and low where the cache's growth does not hold them",
                                        unseen);
        if (a->bulk_known && a->bulk_uncovered > 0)
                (void) report_strv_addf(&a->notes,
                                        "%" PRIu64 " objects freed in bulk lay past the pointers the kprobe events "
                                        "fetch: unseen, they may show as outstanding",
                                        a->bulk_uncovered);
        if (a->stackless_events > 0)
                (void) report_strv_addf(&a->notes, "%" PRIu64 " events came without a stack (counted under an empty one)",
                                        a->stackless_events);
        if (r->truncated)
                (void) report_strv_addf(&a->notes, "the aggregation was cut short: %s", r->truncated_reason);
        if (r->n_stacks > 0 && r->stacks[0].outstanding > a->top_settled)
                (void) report_strv_addf(&a->notes,
                                        "%" PRIu64 " of the top stack's %" PRIu64
                                        " outstanding objects were allocated in the last %.1f s of the window: "
                                        "no evidence yet",
                                        r->stacks[0].outstanding - a->top_settled, r->stacks[0].outstanding,
                                        (double) a->settle_usec / 1e6);
        if (a->growth_stopped && expected > 0)
                (void) report_strv_addf(&a->notes,
                                        "at the trip's rate the cache would have grown by %.0f objects during the "
                                        "capture",
                                        expected);
}

/* What the call sites show, for a capture whose trace has no suspect. */
static void call_site_hint(const struct report *r, char *buf, size_t size) {
        buf[0] = '\0';
        for (size_t i = 0; i < r->n_call_sites; i++) {
                const struct report_callsite *c = &r->call_sites[i];
                if (c->free_site)
                        continue;
                if (c->delta > 0)
                        snprintf(buf, size, "; the call sites show %.128s growing most (%+" PRId64 ", %" PRIu64
                                 " objects)", c->site, c->delta, c->count_last);
                else
                        snprintf(buf, size, "; the call sites show %.128s holding the most objects (%" PRIu64
                                 "), none grew", c->site, c->count_last);
                return;
        }
        snprintf(buf, size, "; no call sites were recorded");
}

void report_attribute(struct report *r) {
        struct report_attribution *a = &r->attribution;
        const struct report_stack *top = r->n_stacks > 0 ? &r->stacks[0] : NULL;
        uint64_t total_settled = 0;
        char hint[REPORT_TEXT_MAX / 2];
        double expected;

        report_strv_done(&a->notes);
        a->lost_events = r->lost_events;
        a->frees_of_unknown = r->unmatched_frees;
        a->traced_net = (int64_t) a->allocs - (int64_t) a->frees;
        a->cache_known = a->cache_samples >= 2;
        a->cache_delta = a->cache_known ? (int64_t) a->cache_last - (int64_t) a->cache_first : 0;
        a->explained_known = a->cache_known && a->cache_delta > 0;
        a->explained = a->explained_known ? (double) a->traced_net / (double) a->cache_delta : 0;
        a->top_settled = top ? top->settled : 0;
        /* Objects the trace calls outstanding that the cache's own growth
         * does not hold were freed unseen (bulk frees where they are not
         * traced, lost frees): any stack's outstanding may be up to that. */
        int64_t grown = a->cache_delta > 0 ? a->cache_delta : 0;
        uint64_t outstanding = 0;
        for (size_t i = 0; i < r->n_stacks; i++)
                outstanding += r->stacks[i].outstanding;
        a->unexplained = a->cache_known && a->traced_net > grown ? (uint64_t) (a->traced_net - grown) : 0;
        /* Objects freed in the drain are in the net but no longer
         * outstanding: what is left of the growth holds the rest. */
        uint64_t beyond = outstanding > (uint64_t) grown ? outstanding - (uint64_t) grown : 0;
        if (a->unexplained > beyond)
                a->unexplained = beyond;
        for (size_t i = 0; i < r->n_stacks; i++) {
                struct report_stack *s = &r->stacks[i];
                s->unexplained = s->outstanding < a->unexplained ? s->outstanding : a->unexplained;
                /* A pointer of this stack allocated again without a traced
                 * free proves its objects die on a path with no free
                 * tracepoint (kfree_rcu, bulk frees where they are not
                 * traced): none of its outstanding ones is evidence by
                 * itself, whatever the cache's growth, which the batches of
                 * such frees make too coarse to tell them apart. A leak
                 * never frees: its stacks have no untraced frees. */
                s->freed_unseen = s->untraced_frees > 0 && s->outstanding > 0;
                if (s->freed_unseen)
                        s->unexplained = s->outstanding;
        }

        expected = expected_growth(r);
        if (expected >= 1) {
                double growth = a->cache_known ? (double) a->cache_delta : (double) a->traced_net;
                a->growth_stopped = growth < STOPPED_FRACTION * expected &&
                                    (double) a->top_settled < STOPPED_FRACTION * expected + 1;
        } else
                a->growth_stopped = false;

        for (size_t i = 0; i < r->n_stacks; i++)
                total_settled += r->stacks[i].settled;
        for (size_t i = 0; i < r->n_stacks; i++)
                r->stacks[i].confidence = stack_confidence(r, &r->stacks[i], total_settled);
        a->confidence = top ? top->confidence : REPORT_CONFIDENCE_LOW;

        /* What sets the top stack apart from the next; lost events at least
         * that many could each be a free of the top stack never seen. */
        a->top_margin = !top ? 0 : r->n_stacks > 1 ? top->outstanding - r->stacks[1].outstanding : top->outstanding;
        a->loss_ambiguous = top && a->lost_events > 0 && a->lost_events >= a->top_margin && !a->growth_stopped;
        if (a->loss_ambiguous) {
                a->confidence = REPORT_CONFIDENCE_LOW;
                r->stacks[0].confidence = REPORT_CONFIDENCE_LOW;
                if (r->culprit[0]) {
                        snprintf(r->culprit_reason, sizeof r->culprit_reason,
                                 "not named: %.128s would be, but the lost events could explain the ranking",
                                 r->culprit);
                        r->culprit[0] = '\0';
                }
        }

        add_notes(r, expected);

        if (a->growth_stopped) {
                call_site_hint(r, hint, sizeof hint);
                snprintf(a->verdict, sizeof a->verdict,
                         "the cache's growth stopped before the capture began (%+" PRId64
                         " objects during the capture), no stack holds objects older than %.1f s, so no suspect is "
                         "named%s",
                         a->cache_known ? a->cache_delta : a->traced_net, (double) a->settle_usec / 1e6, hint);
        } else if (!top) {
                call_site_hint(r, hint, sizeof hint);
                snprintf(a->verdict, sizeof a->verdict, "no allocation was traced%s", hint);
        } else if (a->loss_ambiguous) {
                call_site_hint(r, hint, sizeof hint);
                snprintf(a->verdict, sizeof a->verdict,
                         "%" PRIu64 " events were lost, no fewer than the %" PRIu64
                         " outstanding objects that set the top stack apart from the next: lost frees alone could "
                         "have made this ranking, so no suspect is named (the top stack holds %" PRIu64
                         " outstanding objects)%s",
                         a->lost_events, a->top_margin, top->outstanding, hint);
        } else if (a->explained_known) {
                snprintf(a->verdict, sizeof a->verdict,
                         "the top stack holds %" PRIu64 " outstanding objects (%" PRIu64
                         " settled); the trace explains %.0f %% of the cache's growth; confidence %s",
                         top->outstanding, top->settled, a->explained * 100, report_confidence_name(a->confidence));
        } else {
                snprintf(a->verdict, sizeof a->verdict,
                         "the top stack holds %" PRIu64 " outstanding objects (%" PRIu64
                         " settled); the cache's growth is %s; confidence %s",
                         top->outstanding, top->settled, a->cache_known ? "not positive" : "unknown",
                         report_confidence_name(a->confidence));
        }
}
