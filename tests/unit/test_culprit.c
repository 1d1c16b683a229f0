/* test_culprit — the culprit frame and the grouping of stacks into paths,
 * on the seed's stacks and on synthetic trees. */
#include <check.h>
#include <stdio.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "report/assemble.h"
#include "report/report.h"
#include "stacks/stackdump.h"
#include "testutil.h"

static struct report_stack *add(struct report *r, const char *const *frames, size_t n, uint64_t allocs,
                                uint64_t frees) {
        struct report_stack *s = report_add_stack(r, frames, n);
        ck_assert_ptr_nonnull(s);
        s->allocs = allocs;
        s->frees = frees;
        s->outstanding = allocs - frees;
        s->settled = s->outstanding;
        return s;
}

#define ADD(r, frames, allocs, frees) add(r, frames, sizeof frames / sizeof frames[0], allocs, frees)

static struct report *new_report(void) {
        struct report *r = NULL;
        ck_assert_int_eq(report_new(&r), 0);
        strcpy(r->cache, "kmalloc-8k");
        return r;
}

/* UDP skbs left unread while loopback TCP traffic through the same
 * __alloc_skb is received and freed: the caller that differs. */
START_TEST(test_shared_wrapper) {
        static const char *const udp[] = { "kmalloc_reserve+0x1/0x2", "__alloc_skb+0x98/0x238",
                                           "alloc_skb_with_frags+0x1/0x2", "sock_alloc_send_pskb+0x1/0x2",
                                           "__ip_append_data+0x1/0x2", "ip_make_skb+0x1/0x2",
                                           "udp_sendmsg+0x1/0x2", "__sys_sendto+0x1/0x2",
                                           "__x64_sys_sendto+0x1/0x2", "do_syscall_64+0x1/0x2" };
        static const char *const tcp[] = { "kmalloc_reserve+0x1/0x2", "__alloc_skb+0x98/0x238",
                                           "tcp_stream_alloc_skb+0x1/0x2", "tcp_sendmsg_locked+0x1/0x2",
                                           "tcp_sendmsg+0x1/0x2", "__sys_sendto+0x1/0x2",
                                           "__x64_sys_sendto+0x1/0x2", "do_syscall_64+0x1/0x2" };
        static const char *const udp_freed[] = { "kmalloc_reserve+0x1/0x2", "__alloc_skb+0x98/0x238",
                                                 "alloc_skb_with_frags+0x1/0x2", "sock_alloc_send_pskb+0x1/0x2",
                                                 "unix_dgram_sendmsg+0x1/0x2", "__sys_sendto+0x1/0x2" };
        struct report *r = new_report();
        ADD(r, tcp, 90000, 89998);
        ADD(r, udp, 5000, 0);
        ADD(r, udp_freed, 3000, 3000);
        report_rank(r);
        ck_assert_int_eq(report_find_culprit(r), 0);
        /* __alloc_skb, alloc_skb_with_frags and sock_alloc_send_pskb carry
         * freeing paths too: passed over. */
        ck_assert_str_eq(r->culprit, "__ip_append_data");
        ck_assert_uint_eq(r->culprit_frame, 4);
        ck_assert_ptr_nonnull(strstr(r->culprit_reason, "net 2 outstanding of 93000"));
        char buf[128];
        ck_assert_str_eq(report_named_suspect(r, buf, sizeof buf), "__ip_append_data");
        /* Without the contrast the rule falls back to the first frame past the allocator. */
        report_free(r);
        r = new_report();
        ADD(r, udp, 5000, 0);
        report_rank(r);
        ck_assert_int_eq(report_find_culprit(r), 0);
        ck_assert_str_eq(r->culprit, "kmalloc_reserve");
        ck_assert_ptr_nonnull(strstr(r->culprit_reason, "no freeing path"));
        report_free(r);
}
END_TEST

/* Two leaking callers of one function: that function. */
START_TEST(test_two_leaking_callers) {
        static const char *const a[] = { "kmem_cache_alloc+0x1/0x2", "sk_prot_alloc+0x1/0x2", "inet_create+0x1/0x2",
                                         "__sock_create+0x1/0x2", "__sys_socket+0x1/0x2" };
        static const char *const b[] = { "kmem_cache_alloc+0x1/0x2", "sk_prot_alloc+0x1/0x2", "inet_create+0x1/0x2",
                                         "__sock_create+0x1/0x2", "__sys_socketpair+0x1/0x2" };
        static const char *const c[] = { "kmem_cache_alloc+0x1/0x2", "sk_prot_alloc+0x1/0x2", "unix_create1+0x1/0x2",
                                         "unix_create+0x1/0x2", "__sock_create+0x1/0x2", "__sys_socket+0x1/0x2" };
        struct report *r = new_report();
        ADD(r, a, 600, 0);
        ADD(r, b, 500, 0);
        ADD(r, c, 40000, 40000);
        report_rank(r);
        ck_assert_int_eq(report_find_culprit(r), 0);
        ck_assert_str_eq(r->culprit, "inet_create");
        /* A freeing path that shares the whole top path: the condition is inside. */
        report_free(r);
        r = new_report();
        ADD(r, a, 600, 0);
        struct report_stack *s = ADD(r, a, 9000, 9000);
        ck_assert_int_eq(report_strv_add(&s->frames, "ksys_socket_helper+0x1/0x2"), 0);
        report_rank(r);
        ck_assert_int_eq(report_find_culprit(r), 0);
        ck_assert_str_eq(r->culprit, "inet_create");
        ck_assert_ptr_nonnull(strstr(r->culprit_reason, "a condition inside it"));
        report_free(r);
}
END_TEST

struct seed_ctx {
        struct report *r;
        size_t n;
};

static int on_seed_stack(const struct stackdump_stack *st, void *userdata) {
        struct seed_ctx *c = userdata;
        char bufs[REPORT_FRAMES_MAX][160];
        const char *frames[REPORT_FRAMES_MAX];
        size_t n = st->n_frames < REPORT_FRAMES_MAX ? st->n_frames : REPORT_FRAMES_MAX;
        for (size_t j = 0; j < n; j++) {
                const struct stackdump_frame *f = &st->frames[j];
                snprintf(bufs[j], sizeof bufs[j], "%s+0x%llx/0x%llx", f->function, (unsigned long long) f->offset,
                         (unsigned long long) f->size);
                frames[j] = bufs[j];
        }
        add(c->r, frames, n, 100, 0);
        c->n++;
        return 0;
}

/* The seed's stacks: the same driver path from an IRQ and from ksoftirqd
 * under __do_softirq is one path with two variants. */
START_TEST(test_seed_paths) {
        size_t len;
        char *text = testutil_read_fixture("seed-3.18-mips/call_traces.txt", &len);
        struct report *r = new_report();
        struct seed_ctx ctx = { .r = r };
        ck_assert_int_eq(stackdump_parse(text, len, on_seed_stack, NULL, &ctx), 0);
        size_t n_leak = ctx.n;
        ck_assert_uint_ge(n_leak, 2);
        /* Traffic through the same allocator and vendor pool that is freed. */
        static const char *const tx[] = { "__alloc_skb+0x1e8/0x238", "skbmgr_alloc_skb4k+0xc8/0x124",
                                          "rt_tx_prepare+0x10/0x80", "dev_hard_start_xmit+0x1/0x2" };
        static const char *const tcp[] = { "__alloc_skb+0x1e8/0x238", "sk_stream_alloc_skb+0x1/0x2",
                                           "tcp_sendmsg+0x1/0x2" };
        ADD(r, tx, 50000, 50000);
        ADD(r, tcp, 70000, 69999);
        report_rank(r);
        ck_assert_int_eq(report_find_culprit(r), 0);
        ck_assert_str_eq(r->culprit, "RTMP_AllocateRxPacketBuffer");
        /* The leak's stacks are one path up to __do_softirq, with both contexts as variants. */
        const struct report_path *p = &r->paths[0];
        ck_assert_str_eq(p->boundary, "__do_softirq");
        ck_assert_uint_eq(p->n_stacks, n_leak);
        ck_assert_uint_eq(p->outstanding, 100 * n_leak);
        bool irq = false, ksoftirqd = false;
        for (size_t i = 0; i < p->variants.n; i++) {
                irq = irq || strstr(p->variants.v[i], "irq_exit") != NULL;
                ksoftirqd = ksoftirqd || strstr(p->variants.v[i], "run_ksoftirqd") != NULL;
        }
        ck_assert(irq);
        ck_assert(ksoftirqd);
        ck_assert_uint_eq(r->n_paths, 3);

        /* The report says it: json and text. */
        r->attribution.cache_samples = 0;
        json_object *j = NULL, *cu, *v;
        ck_assert_int_eq(report_to_json(r, &j), 0);
        ck_assert(json_object_object_get_ex(j, "culprit", &cu));
        ck_assert(json_object_object_get_ex(cu, "function", &v));
        ck_assert_str_eq(json_object_get_string(v), "RTMP_AllocateRxPacketBuffer");
        ck_assert(json_object_object_get_ex(j, "suspect", &v));
        ck_assert_str_eq(json_object_get_string(v), "RTMP_AllocateRxPacketBuffer");
        ck_assert(json_object_object_get_ex(j, "paths", &v));
        ck_assert_int_eq(json_object_array_length(v), 3);
        json_object_put(j);
        char *out = NULL;
        ck_assert_int_eq(report_to_text(r, &out, NULL), 0);
        ck_assert_ptr_nonnull(strstr(out, "RTMP_AllocateRxPacketBuffer+0x40/0x1b0   <== culprit"));
        ck_assert_ptr_nonnull(strstr(out, "variant: irq_exit <- ret_from_irq"));
        free(out);
        report_free(r);
        free(text);
}
END_TEST

/* Syscall entry variants (64-bit and compat) are one path. */
START_TEST(test_syscall_variants) {
        static const char *const x64[] = { "kmem_cache_alloc+0x1/0x2", "timerfd_create_ctx+0x1/0x2",
                                           "__do_sys_timerfd_create+0x1/0x2", "__x64_sys_timerfd_create+0x1/0x2",
                                           "do_syscall_64+0x1/0x2", "entry_SYSCALL_64_after_hwframe+0x1/0x2" };
        static const char *const ia32[] = { "kmem_cache_alloc+0x1/0x2", "timerfd_create_ctx+0x1/0x2",
                                            "__do_sys_timerfd_create+0x1/0x2", "__ia32_sys_timerfd_create+0x1/0x2",
                                            "ia32_sys_call+0x1/0x2", "do_int80_syscall_32+0x1/0x2" };
        struct report *r = new_report();
        ADD(r, x64, 300, 0);
        ADD(r, ia32, 200, 0);
        report_rank(r);
        ck_assert_int_eq(report_find_culprit(r), 0);
        ck_assert_uint_eq(r->n_paths, 1);
        ck_assert_str_eq(r->paths[0].boundary, "syscall entry");
        ck_assert_uint_eq(r->paths[0].frames.n, 3);
        ck_assert_uint_eq(r->paths[0].variants.n, 2);
        ck_assert_uint_eq(r->paths[0].outstanding, 500);
        ck_assert_str_eq(r->culprit, "timerfd_create_ctx");
        report_free(r);
        /* No stacks: no culprit, no paths. */
        r = new_report();
        ck_assert_int_eq(report_find_culprit(r), 0);
        ck_assert_str_eq(r->culprit, "");
        ck_assert_uint_eq(r->n_paths, 0);
        report_free(r);
}
END_TEST

static Suite *culprit_suite(void) {
        Suite *s = suite_create("culprit");
        TCase *tc = tcase_create("core");
        tcase_add_test(tc, test_shared_wrapper);
        tcase_add_test(tc, test_two_leaking_callers);
        tcase_add_test(tc, test_seed_paths);
        tcase_add_test(tc, test_syscall_variants);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(culprit_suite());
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
