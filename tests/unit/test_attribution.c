/* test_attribution — the attribution ledger: synthetic event streams
 * through the pairing into a report, one per case the ledger names. */
#include <check.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/config.h"
#include "report/assemble.h"
#include "report/report.h"
#include "stacks/pairing.h"

#define S 1000000000ULL /* ns per second */

static const char *const leak[] = { "kmem_cache_alloc_noprof+0x1/0x2", "sk_prot_alloc+0x3b/0x120",
                                    "inet_create+0xe2/0x3a0", "__sys_socket+0x6a/0xf0" };
static const char *const churn[] = { "kmem_cache_alloc_noprof+0x1/0x2", "sk_prot_alloc+0x3b/0x120",
                                     "inet_create+0xe2/0x3a0", "__sys_socketpair+0x10/0x20" };

struct stream {
        struct pairing *p;
        uint32_t leak, churn, empty;
        uint64_t next_ptr;
};

static void stream_init(struct stream *st, uint64_t settle_ns) {
        struct pairing_options o = { .reorder_window_ns = PAIRING_WINDOW_NONE, .settle_ns = settle_ns };
        memset(st, 0, sizeof *st);
        ck_assert_int_eq(pairing_new(&o, &st->p), 0);
        ck_assert_int_eq(pairing_intern_names(st->p, leak, NULL, 4, &st->leak), 0);
        ck_assert_int_eq(pairing_intern_names(st->p, churn, NULL, 4, &st->churn), 0);
        ck_assert_int_eq(pairing_intern_names(st->p, NULL, NULL, 0, &st->empty), 0);
        st->next_ptr = 0x10000;
}

static void ev(struct stream *st, enum pairing_kind kind, uint64_t ts, uint64_t ptr, uint32_t stack) {
        struct pairing_event e = { .timestamp_ns = ts, .ptr = ptr, .bytes = 1024, .kind = kind, .stack_id = stack };
        ck_assert_int_eq(pairing_push(st->p, &e), 0);
}

/* @n leaked objects spread over [from, to), @churn alloc/free pairs. */
static void leak_and_churn(struct stream *st, unsigned n, uint64_t from, uint64_t to, unsigned pairs) {
        for (unsigned i = 0; i < n; i++)
                ev(st, PAIRING_ALLOC, from + (to - from) * i / n, st->next_ptr++ * 64, st->leak);
        for (unsigned i = 0; i < pairs; i++) {
                uint64_t ptr = 0x900000 + (uint64_t) (i % 50) * 64, t = from + (to - from) * i / pairs;
                ev(st, PAIRING_ALLOC, t, ptr, st->churn);
                ev(st, PAIRING_FREE, t + 1000, ptr, st->churn);
        }
}

/* A 60 s window tripped at @rate objects/min, a 12 s drain and settle. */
static struct report *finish(struct stream *st, double rate, uint64_t first, uint64_t last, uint64_t samples) {
        struct pairing_result *res = NULL;
        struct report *r = NULL;

        pairing_end_allocs(st->p, 60 * S);
        ck_assert_int_eq(pairing_finish(st->p, 72 * S, NULL, NULL, &res), 0);
        ck_assert_int_eq(report_new(&r), 0);
        strcpy(r->cache, "UDP");
        r->trigger.objects_per_min = rate;
        r->attribution.cache_first = first;
        r->attribution.cache_last = last;
        r->attribution.cache_samples = samples;
        r->attribution.objperslab = 16;
        r->attribution.drain_usec = 12000000;
        r->attribution.settle_usec = 12000000;
        report_add_pairing(r, res);
        report_assemble(r, NULL, "duration", 72000000);
        pairing_result_free(res);
        pairing_free(st->p);
        return r;
}

static bool has_note(const struct report *r, const char *needle) {
        for (size_t i = 0; i < r->attribution.notes.n; i++)
                if (strstr(r->attribution.notes.v[i], needle))
                        return true;
        return false;
}

START_TEST(test_clean_leak) {
        struct stream st;
        stream_init(&st, 12 * S);
        leak_and_churn(&st, 600, 0, 60 * S, 5000);
        struct report *r = finish(&st, 600, 4000, 4600, 7);
        const struct report_attribution *a = &r->attribution;
        ck_assert(a->cache_known);
        ck_assert_int_eq(a->cache_delta, 600);
        ck_assert_int_eq(a->traced_net, 600);
        ck_assert(a->explained_known);
        ck_assert_double_eq_tol(a->explained, 1.0, 1e-9);
        ck_assert(!a->growth_stopped);
        /* Objects of the last 12 s of the window are not evidence. */
        ck_assert_uint_eq(r->stacks[0].outstanding, 600);
        ck_assert_uint_eq(a->top_settled, 481); /* allocated at or before 48 s */
        ck_assert_int_eq(r->stacks[0].confidence, REPORT_CONFIDENCE_HIGH);
        ck_assert_int_eq(a->confidence, REPORT_CONFIDENCE_HIGH);
        ck_assert_int_eq(r->stacks[1].confidence, REPORT_CONFIDENCE_LOW);
        ck_assert_ptr_nonnull(strstr(a->verdict, "explains 100 %"));
        ck_assert(has_note(r, "119 of the top stack's 600"));

        struct report_outcome out;
        report_outcome_of(r, "UDP", 0, &out);
        /* The churn runs through inet_create too: the caller that differs. */
        ck_assert_str_eq(out.suspect, "__sys_socket");
        ck_assert_str_eq(out.confidence, "high");

        json_object *j = NULL, *att, *v;
        ck_assert_int_eq(report_to_json(r, &j), 0);
        ck_assert(json_object_object_get_ex(j, "attribution", &att));
        ck_assert(json_object_object_get_ex(att, "cache_delta", &v));
        ck_assert_int_eq(json_object_get_int64(v), 600);
        ck_assert(json_object_object_get_ex(att, "explained", &v));
        ck_assert_double_eq_tol(json_object_get_double(v), 1.0, 1e-9);
        ck_assert(json_object_object_get_ex(att, "confidence", &v));
        ck_assert_str_eq(json_object_get_string(v), "high");
        json_object_put(j);

        char *text = NULL;
        ck_assert_int_eq(report_to_text(r, &text, NULL), 0);
        /* The ledger opens the report. */
        ck_assert_ptr_nonnull(strstr(text, "\n\nverdict:"));
        ck_assert(strstr(text, "ledger:") < strstr(text, "\ncache:"));
        ck_assert_ptr_nonnull(strstr(text, "traced net +600"));
        free(text);
        report_free(r);
}
END_TEST

START_TEST(test_growth_stopped) {
        struct stream st;
        stream_init(&st, 12 * S);
        /* The burst was over before the capture: churn, and two objects of
         * the last seconds. */
        leak_and_churn(&st, 0, 0, 60 * S, 2000);
        ev(&st, PAIRING_ALLOC, 58 * S, 0x5000, st.leak);
        ev(&st, PAIRING_ALLOC, 59 * S, 0x5040, st.leak);
        struct report *r = finish(&st, 2500, 9000, 9000, 7);
        const struct report_attribution *a = &r->attribution;
        ck_assert(a->growth_stopped);
        ck_assert_uint_eq(r->stacks[0].outstanding, 2);
        ck_assert_uint_eq(a->top_settled, 0);
        ck_assert_int_eq(a->confidence, REPORT_CONFIDENCE_LOW);
        ck_assert_ptr_nonnull(strstr(a->verdict, "stopped before the capture began"));
        ck_assert_ptr_nonnull(strstr(a->verdict, "no call sites"));

        struct report_outcome out;
        report_outcome_of(r, "UDP", 0, &out);
        ck_assert_str_eq(out.suspect, "");
        ck_assert_ptr_nonnull(strstr(out.message, "stopped before the capture"));
        json_object *j = NULL, *v;
        ck_assert_int_eq(report_to_json(r, &j), 0);
        ck_assert(json_object_object_get_ex(j, "suspect", &v));
        ck_assert_str_eq(json_object_get_string(v), "");
        json_object_put(j);
        report_free(r);
}
END_TEST

START_TEST(test_untraced_frees) {
        struct stream st;
        stream_init(&st, 12 * S);
        /* A kfree_rcu class: objects die without a traced free, their
         * pointers come back. */
        for (unsigned i = 0; i < 400; i++)
                ev(&st, PAIRING_ALLOC, (uint64_t) i * S / 10, 0x20000 + (uint64_t) (i % 40) * 64, st.churn);
        struct report *r = finish(&st, 0, 1000, 1000, 7);
        const struct report_attribution *a = &r->attribution;
        ck_assert_uint_eq(a->untraced_frees, 360);
        ck_assert_int_eq(a->traced_net, 40);
        ck_assert_uint_eq(r->stacks[0].untraced_frees, 360);
        ck_assert_uint_eq(r->stacks[0].outstanding, 40);
        ck_assert(has_note(r, "360 objects were freed without a traced free"));
        ck_assert(has_note(r, "did not grow during the capture"));
        ck_assert_int_ne(r->stacks[0].confidence, REPORT_CONFIDENCE_HIGH);
        /* Its objects were seen to die unseen: all 40 may have too. */
        ck_assert(r->stacks[0].freed_unseen);
        ck_assert_uint_eq(r->stacks[0].unexplained, 40);
        ck_assert_int_eq(r->stacks[0].confidence, REPORT_CONFIDENCE_LOW);
        ck_assert(has_note(r, "1 stack(s) free their objects on a path with no free tracepoint"));
        json_object *j = NULL;
        ck_assert_int_eq(report_to_json(r, &j), 0);
        json_object *s0 = json_object_array_get_idx(json_object_object_get(j, "stacks"), 0);
        ck_assert(json_object_get_boolean(json_object_object_get(s0, "freed_unseen")));
        json_object_put(j);
        report_free(r);

        /* A leak beside such a churn never frees: it is not marked, and
         * keeps its high confidence. */
        stream_init(&st, 12 * S);
        for (unsigned i = 0; i < 300; i++)
                ev(&st, PAIRING_ALLOC, (uint64_t) i * 40 * S / 300, 0x100000 + (uint64_t) i * 64, st.leak);
        for (unsigned i = 0; i < 400; i++)
                ev(&st, PAIRING_ALLOC, (uint64_t) i * S / 10, 0x20000 + (uint64_t) (i % 40) * 64, st.churn);
        r = finish(&st, 300, 1000, 1340, 7);
        ck_assert_uint_eq(r->stacks[0].outstanding, 300);
        ck_assert(!r->stacks[0].freed_unseen);
        ck_assert_uint_eq(r->stacks[0].unexplained, 0);
        ck_assert_int_eq(r->stacks[0].confidence, REPORT_CONFIDENCE_HIGH);
        ck_assert(r->stacks[1].freed_unseen);
        ck_assert_uint_eq(r->stacks[1].unexplained, r->stacks[1].outstanding);
        report_free(r);

        /* A leak on the churn's own stack (timerfds leaked and churned
         * through one syscall): marked, but the cache's growth holds its
         * outstanding objects, so medium, not low. */
        stream_init(&st, 12 * S);
        for (unsigned i = 0; i < 300; i++)
                ev(&st, PAIRING_ALLOC, (uint64_t) i * 40 * S / 300, 0x100000 + (uint64_t) i * 64, st.churn);
        for (unsigned i = 0; i < 400; i++)
                ev(&st, PAIRING_ALLOC, (uint64_t) i * S / 10, 0x20000 + (uint64_t) (i % 40) * 64, st.churn);
        r = finish(&st, 300, 1000, 1345, 7);
        ck_assert_uint_eq(r->stacks[0].outstanding, 340);
        ck_assert(r->stacks[0].freed_unseen);
        ck_assert_int_eq(r->stacks[0].confidence, REPORT_CONFIDENCE_MEDIUM);
        report_free(r);
}
END_TEST

START_TEST(test_explained_low_and_high) {
        struct stream st;
        stream_init(&st, 12 * S);
        leak_and_churn(&st, 100, 0, 48 * S, 100);
        struct report *r = finish(&st, 1000, 1000, 2000, 7);
        ck_assert_double_eq_tol(r->attribution.explained, 0.1, 1e-9);
        ck_assert(has_note(r, "explains only 10 %"));
        ck_assert_int_eq(r->stacks[0].confidence, REPORT_CONFIDENCE_MEDIUM);
        report_free(r);

        stream_init(&st, 12 * S);
        leak_and_churn(&st, 1000, 0, 48 * S, 100);
        r = finish(&st, 1000, 1000, 1100, 7);
        ck_assert_double_eq_tol(r->attribution.explained, 10.0, 1e-9);
        ck_assert(has_note(r, "10.0 times the cache's growth"));
        ck_assert_int_eq(r->stacks[0].confidence, REPORT_CONFIDENCE_MEDIUM);
        report_free(r);
}
END_TEST

START_TEST(test_unknown_lost_stackless) {
        struct stream st;
        stream_init(&st, 12 * S);
        leak_and_churn(&st, 100, 0, 48 * S, 10);
        ev(&st, PAIRING_ALLOC, 1 * S, 0x777000, st.empty);
        ev(&st, PAIRING_FREE, 2 * S, 0x123400, st.churn); /* of an object older than the capture */
        struct pairing_result *res = NULL;
        struct report *r = NULL;
        ck_assert_int_eq(pairing_finish(st.p, 60 * S, NULL, NULL, &res), 0);
        res->lost_events = 5;
        ck_assert_int_eq(report_new(&r), 0);
        r->trigger.objects_per_min = 100;
        r->attribution.cache_samples = 1; /* too few: unknown */
        report_add_pairing(r, res);
        report_assemble(r, NULL, "duration", 60000000);
        const struct report_attribution *a = &r->attribution;
        ck_assert(!a->cache_known);
        ck_assert(!a->explained_known);
        ck_assert_uint_eq(a->frees_of_unknown, 1);
        ck_assert_uint_eq(a->stackless_events, 1);
        ck_assert_uint_eq(a->lost_events, 5);
        ck_assert_int_eq(a->traced_net, 100);
        ck_assert(has_note(r, "no slabinfo samples"));
        ck_assert(has_note(r, "5 events were lost"));
        ck_assert(has_note(r, "1 events came without a stack"));
        /* Lost events keep the top stack from high. */
        ck_assert_int_eq(a->confidence, REPORT_CONFIDENCE_MEDIUM);
        json_object *j = NULL, *att, *v;
        ck_assert_int_eq(report_to_json(r, &j), 0);
        ck_assert(json_object_object_get_ex(j, "attribution", &att));
        ck_assert(json_object_object_get_ex(att, "cache_delta", &v));
        ck_assert_ptr_null(v);
        json_object_put(j);
        pairing_result_free(res);
        pairing_free(st.p);
        report_free(r);
}
END_TEST

/* Two stacks that leak 30 and 22 objects, and @lost events the kernel
 * could not record, as a lossy capture reports them. */
static struct report *lossy(uint64_t lost) {
        struct stream st;
        struct pairing_result *res = NULL;
        struct report *r = NULL;

        stream_init(&st, 0);
        for (unsigned i = 0; i < 30; i++)
                ev(&st, PAIRING_ALLOC, (1 + i) * S, st.next_ptr++ * 64, st.leak);
        for (unsigned i = 0; i < 22; i++)
                ev(&st, PAIRING_ALLOC, (1 + i) * S, st.next_ptr++ * 64, st.churn);
        ck_assert_int_eq(pairing_finish(st.p, 60 * S, NULL, NULL, &res), 0);
        res->lost_events = lost;
        ck_assert_int_eq(report_new(&r), 0);
        strcpy(r->cache, "UDP");
        r->trigger.on_demand = true;
        report_add_pairing(r, res);
        report_assemble(r, NULL, "duration", 60000000);
        pairing_result_free(res);
        pairing_free(st.p);
        return r;
}

/* Lost events no fewer than the margin of the top stack over the next:
 * the ranking stays, but nothing is named as the suspect, and the figures
 * a lost free inflates are marked unreliable; fewer, and the suspect is
 * named with the same marks. */
START_TEST(test_loss_explains_ranking) {
        char buf[REPORT_NAME_MAX], *text = NULL;
        size_t len = 0;
        struct report_outcome out;
        json_object *j = NULL, *v, *att;

        struct report *r = lossy(8);
        const struct report_attribution *a = &r->attribution;
        ck_assert_uint_eq(r->stacks[0].outstanding, 30);
        ck_assert_uint_eq(a->top_margin, 8);
        ck_assert(a->loss_ambiguous);
        ck_assert_int_eq(a->confidence, REPORT_CONFIDENCE_LOW);
        ck_assert_str_eq(report_named_suspect(r, buf, sizeof buf), "");
        ck_assert_str_eq(r->culprit, "");
        ck_assert_ptr_nonnull(strstr(a->verdict, "no suspect is named"));
        report_outcome_of(r, "UDP", 0, &out);
        ck_assert_str_eq(out.suspect, "");
        ck_assert_msg(strstr(out.message, "8 events were lost") != NULL, "%s", out.message);
        ck_assert_int_eq(report_to_json(r, &j), 0);
        ck_assert(json_object_object_get_ex(j, "suspect", &v));
        ck_assert_str_eq(json_object_get_string(v), "");
        ck_assert(!json_object_object_get_ex(j, "culprit", NULL));
        ck_assert(json_object_object_get_ex(j, "unreliable", &v));
        ck_assert_int_eq(json_object_array_length(v), 6);
        ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(v, 0)), "outstanding");
        ck_assert(json_object_object_get_ex(j, "attribution", &att));
        ck_assert(json_object_object_get_ex(att, "loss_ambiguous", &v));
        ck_assert(json_object_get_boolean(v));
        json_object_put(j);
        ck_assert_int_eq(report_to_text(r, &text, &len), 0);
        ck_assert_ptr_nonnull(strstr(text, "suspect:    none named: 8 events were lost"));
        ck_assert_ptr_nonnull(strstr(text, "unreliable: outstanding, settled"));
        ck_assert_ptr_nonnull(strstr(text, "outstanding ~30"));
        ck_assert_ptr_nonnull(strstr(text, "allocs 30 "));
        free(text);
        report_free(r);

        r = lossy(7);
        ck_assert(!r->attribution.loss_ambiguous);
        ck_assert_str_eq(report_named_suspect(r, buf, sizeof buf), "inet_create");
        ck_assert_int_eq(report_to_json(r, &j), 0);
        ck_assert(json_object_object_get_ex(j, "unreliable", &v));
        ck_assert_int_eq(json_object_array_length(v), 6);
        json_object_put(j);
        report_free(r);

        /* Nothing lost: nothing unreliable. */
        r = lossy(0);
        const char *names[8];
        ck_assert_uint_eq(report_unreliable_figures(r, names, 8), 0);
        ck_assert_int_eq(report_to_text(r, &text, &len), 0);
        ck_assert_ptr_null(strstr(text, "~"));
        free(text);
        report_free(r);
}
END_TEST

/* capture.drain: unset means 20 % of the duration; 0 and 1h are allowed. */
START_TEST(test_config_drain) {
        struct config c;
        struct config_error e;
        static const char ok[] = "capture:\n  drain: 5s\n";
        static const char none[] = "capture:\n  drain: 0s\n";
        static const char bad[] = "capture:\n  drain: 2h\n";

        config_defaults(&c);
        ck_assert_uint_eq(c.capture.drain_usec, CONFIG_DRAIN_AUTO);
        ck_assert_int_eq(config_parse(ok, sizeof ok - 1, &c, &e), 0);
        ck_assert_uint_eq(c.capture.drain_usec, 5000000);
        ck_assert_int_eq(config_parse(none, sizeof none - 1, &c, &e), 0);
        ck_assert_uint_eq(c.capture.drain_usec, 0);
        ck_assert_int_eq(config_parse(bad, sizeof bad - 1, &c, &e), -EINVAL);
        ck_assert_ptr_nonnull(strstr(e.message, "out of range"));
}
END_TEST

/* Without bulk-free tracing a kfree_rcu churn leaves phantoms: objects
 * outstanding that the cache never held. The ledger counts them exactly
 * (traced net beyond the growth) and caps each stack's share; a real
 * leak next to it keeps its count. */
START_TEST(test_unexplained_outstanding) {
        struct stream st;
        stream_init(&st, 12 * S);
        /* 300 leaked over the first 40 s; 200 churn objects whose frees
         * were never seen, all distinct pointers. */
        for (unsigned i = 0; i < 300; i++)
                ev(&st, PAIRING_ALLOC, (uint64_t) i * 40 * S / 300, 0x100000 + (uint64_t) i * 64, st.leak);
        for (unsigned i = 0; i < 200; i++)
                ev(&st, PAIRING_ALLOC, (uint64_t) i * 40 * S / 200 + 7, 0x900000 + (uint64_t) i * 64, st.churn);
        struct report *r = finish(&st, 300, 1000, 1300, 7);
        struct report_attribution *a = &r->attribution;
        a->bulk_known = true;
        a->bulk_traced = false;
        snprintf(a->bulk_reason, sizeof a->bulk_reason, "the kernel has no kprobe events");
        report_attribute(r);
        ck_assert_int_eq(a->traced_net, 500);
        ck_assert_int_eq(a->cache_delta, 300);
        ck_assert_uint_eq(a->unexplained, 200);
        ck_assert_uint_eq(r->stacks[0].outstanding, 300);
        ck_assert_uint_eq(r->stacks[0].unexplained, 200);
        ck_assert_uint_eq(r->stacks[1].outstanding, 200);
        ck_assert_uint_eq(r->stacks[1].unexplained, 200);
        /* Every one of the churn's may be a phantom: no high confidence. */
        ck_assert_int_ne(r->stacks[1].confidence, REPORT_CONFIDENCE_HIGH);
        ck_assert(has_note(r, "200 outstanding objects are more than the cache grew"));
        ck_assert(has_note(r, "bulk frees are not traced here"));

        json_object *j = NULL;
        ck_assert_int_eq(report_to_json(r, &j), 0);
        json_object *att = json_object_object_get(j, "attribution"), *bulk = json_object_object_get(att, "bulk_frees");
        ck_assert_int_eq(json_object_get_int64(json_object_object_get(att, "unexplained")), 200);
        ck_assert_str_eq(json_object_get_string(json_object_object_get(bulk, "method")), "inferred");
        ck_assert_str_eq(json_object_get_string(json_object_object_get(bulk, "reason")),
                         "the kernel has no kprobe events");
        json_object_put(j);

        /* The drain freed the churn after all: the net stays, but no
         * phantom is left among the outstanding. */
        r->stacks[1].outstanding = 0;
        report_attribute(r);
        ck_assert_int_eq(a->traced_net, 500);
        ck_assert_uint_eq(a->unexplained, 0);
        ck_assert_uint_eq(r->stacks[0].unexplained, 0);
        ck_assert(!has_note(r, "more than the cache grew"));

        /* Traced: the method and the counts. */
        a->bulk_traced = true;
        a->bulk_calls = 4;
        a->bulk_frees = 200;
        a->bulk_uncovered = 3;
        report_attribute(r);
        ck_assert(has_note(r, "3 objects freed in bulk lay past the pointers"));
        ck_assert(!has_note(r, "bulk frees are not traced here"));
        ck_assert_int_eq(report_to_json(r, &j), 0);
        bulk = json_object_object_get(json_object_object_get(j, "attribution"), "bulk_frees");
        ck_assert_str_eq(json_object_get_string(json_object_object_get(bulk, "method")), "kprobe");
        ck_assert_int_eq(json_object_get_int64(json_object_object_get(bulk, "frees")), 200);
        ck_assert_ptr_null(json_object_object_get(bulk, "reason"));
        json_object_put(j);
        report_free(r);
}
END_TEST

static Suite *attribution_suite(void) {
        Suite *s = suite_create("attribution");
        TCase *tc = tcase_create("ledger");
        tcase_add_test(tc, test_clean_leak);
        tcase_add_test(tc, test_growth_stopped);
        tcase_add_test(tc, test_untraced_frees);
        tcase_add_test(tc, test_unexplained_outstanding);
        tcase_add_test(tc, test_explained_low_and_high);
        tcase_add_test(tc, test_unknown_lost_stackless);
        tcase_add_test(tc, test_loss_explains_ranking);
        tcase_add_test(tc, test_config_drain);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(attribution_suite());
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
