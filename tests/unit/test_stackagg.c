#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stacks/stackagg.h"
#include "stacks/stackdump.h"
#include "testutil.h"

static int add_stack(const struct stackdump_stack *s, void *userdata) {
        return stackagg_add(userdata, s, 0);
}

static struct stackagg *aggregate_text(const char *buf, size_t len, const struct stackagg_options *o) {
        struct stackagg *a;
        ck_assert_int_eq(stackagg_new(o, &a), 0);
        ck_assert_int_eq(stackdump_parse(buf, len, add_stack, NULL, a), 0);
        return a;
}

static struct stackagg *aggregate_fixture(const char *rel, const struct stackagg_options *o) {
        size_t len;
        char *buf = testutil_read_fixture(rel, &len);
        struct stackagg *a = aggregate_text(buf, len, o);
        free(buf);
        return a;
}

/* "a;b;c" of an entry's frames, innermost first. */
static const char *names(const struct stackagg_entry *e, char *buf, size_t size) {
        size_t len = 0;
        buf[0] = '\0';
        for (size_t i = 0; i < e->n_frames && len < size; i++) {
                int n = snprintf(buf + len, size - len, "%s%s", i ? ";" : "", e->frames[i].function);
                if (n < 0)
                        break;
                len += (size_t) n;
        }
        return buf;
}

static const struct stackagg_node *child(const struct stackagg_node *n, const char *function) {
        for (size_t i = 0; i < n->n_children; i++)
                if (strcmp(n->children[i].frame->function, function) == 0)
                        return &n->children[i];
        return NULL;
}

/* Follow single-child links from @n until a node with other than one child. */
static const struct stackagg_node *follow_chain(const struct stackagg_node *n) {
        while (n->n_children == 1 && n->self == 0)
                n = &n->children[0];
        return n;
}

START_TEST(seed_acceptance) {
        /* 3 dumps, 2 distinct stacks: 2 × idle-loop IRQ path, 1 × ksoftirqd,
         * diverging below __do_softirq. */
        struct stackagg *a = aggregate_fixture("seed-3.18-mips/call_traces.txt", NULL);
        struct stackagg_stats st;
        stackagg_get_stats(a, &st);
        ck_assert_uint_eq(st.stacks, 3);
        ck_assert_uint_eq(st.counted, 3);
        ck_assert_uint_eq(st.distinct, 2);
        ck_assert_uint_eq(st.dropped, 0);
        const struct stackagg_entry *const *v;
        ck_assert_int_eq(stackagg_ranked(a, &v), 2);
        char buf[2048];
        ck_assert_uint_eq(v[0]->count, 2);
        ck_assert_uint_eq(v[1]->count, 1);
        /* show_stack and dump_stack are trimmed. */
        ck_assert_str_eq(names(v[0], buf, sizeof buf),
                         "__alloc_skb;skbmgr_alloc_skb4k;RTMP_AllocateRxPacketBuffer;pci_get_pkt_dynamic_page_ddone;"
                         "pci_rx_dma_done_handle;pci_rx_data_done_func;tasklet_hi_action;__do_softirq;irq_exit;"
                         "ret_from_irq;r4k_wait_irqoff;cpu_startup_entry");
        ck_assert_str_eq(v[1]->frames[9].function, "smpboot_thread_fn");
        ck_assert_uint_eq(v[0]->first_line, 1);
        ck_assert_uint_eq(v[1]->first_line, 47);
        ck_assert_uint_eq(v[0]->frames[0].offset, 0x1e8);
        /* Context sets. */
        ck_assert_uint_eq(v[0]->cpus.n, 1);
        ck_assert_uint_eq(v[0]->cpus.values[0], 3);
        ck_assert_uint_eq(v[0]->comms.n, 1);
        ck_assert_str_eq(v[0]->comms.values[0], "swapper/3");
        ck_assert_str_eq(v[1]->comms.values[0], "ksoftirqd/3");
        ck_assert_str_eq(v[0]->taints.values[0], "P O");
        ck_assert_str_eq(v[0]->releases.values[0], "3.18.21");
        ck_assert_uint_eq(v[0]->records, 2);
        ck_assert_uint_eq(v[0]->formats, 1u << STACKDUMP_FORMAT_DMESG);

        /* Outermost-first tree: two roots that meet at __do_softirq. */
        struct stackagg_node *root;
        ck_assert_int_eq(stackagg_tree(a, STACKAGG_TREE_CALLERS_FIRST, &root), 0);
        ck_assert_uint_eq(root->count, 3);
        ck_assert_uint_eq(root->n_children, 2);
        ck_assert_str_eq(root->children[0].frame->function, "cpu_startup_entry");
        ck_assert_uint_eq(root->children[0].count, 2);
        ck_assert_str_eq(root->children[1].frame->function, "ret_from_kernel_thread");
        const struct stackagg_node *leaf = follow_chain(&root->children[0]);
        ck_assert_str_eq(leaf->frame->function, "__alloc_skb");
        ck_assert_uint_eq(leaf->self, 2);
        stackagg_tree_free(root);
        stackagg_free(a);

        /* --from __alloc_skb: one root, splitting below __do_softirq. */
        struct stackagg_options o = { .from = "__alloc_skb" };
        a = aggregate_fixture("seed-3.18-mips/call_traces.txt", &o);
        ck_assert_int_eq(stackagg_tree(a, STACKAGG_TREE_INNERMOST_FIRST, &root), 0);
        ck_assert_uint_eq(root->n_children, 1);
        ck_assert_str_eq(root->children[0].frame->function, "__alloc_skb");
        const struct stackagg_node *split = follow_chain(&root->children[0]);
        ck_assert_str_eq(split->frame->function, "__do_softirq");
        ck_assert_uint_eq(split->count, 3);
        ck_assert_uint_eq(split->n_children, 2);
        ck_assert_str_eq(split->children[0].frame->function, "irq_exit");
        ck_assert_uint_eq(split->children[0].count, 2);
        ck_assert_str_eq(split->children[1].frame->function, "run_ksoftirqd");
        ck_assert_uint_eq(split->children[1].count, 1);
        ck_assert_uint_eq(follow_chain(&split->children[1])->self, 1);
        stackagg_tree_free(root);
        stackagg_tree_free(NULL);
        stackagg_free(a);
}
END_TEST

START_TEST(identity_ignores_offsets) {
        static const char text[] =
                "Call Trace:\n f+0x1/0x10\n g+0x2/0x20\n\n"
                "Call Trace:\n f+0x5/0x10\n g+0x9/0x20\n\n"
                "Call Trace:\n [<c0001000>] f+0x1/0x10\n [<c0002000>] g+0x2/0x20\n\n"
                "Call Trace:\n f+0x1/0x10\n h+0x2/0x20\n\n";
        struct stackagg *a = aggregate_text(text, sizeof text - 1, NULL);
        const struct stackagg_entry *const *v;
        ck_assert_int_eq(stackagg_ranked(a, &v), 2);
        ck_assert_uint_eq(v[0]->count, 3);
        ck_assert_uint_eq(v[0]->frames[0].offset, 0x1); /* from the first one seen */
        ck_assert_uint_eq(v[1]->count, 1);
        stackagg_free(a);
}
END_TEST

START_TEST(ranking_ties_first_seen) {
        static const char text[] =
                "Call Trace:\n c+0x1/0x2\n\nCall Trace:\n b+0x1/0x2\n\nCall Trace:\n a+0x1/0x2\n\n"
                "Call Trace:\n a+0x1/0x2\n\nCall Trace:\n b+0x1/0x2\n\n";
        struct stackagg *a = aggregate_text(text, sizeof text - 1, NULL);
        const struct stackagg_entry *const *v;
        ck_assert_int_eq(stackagg_ranked(a, &v), 3);
        ck_assert_str_eq(v[0]->frames[0].function, "b"); /* 2, seen before a */
        ck_assert_str_eq(v[1]->frames[0].function, "a");
        ck_assert_str_eq(v[2]->frames[0].function, "c");
        ck_assert_uint_eq(v[0]->seq, 1);
        stackagg_free(a);
}
END_TEST

START_TEST(noise_trimming) {
        static const char text[] =
                "Call Trace:\n dump_stack_lvl+0x1/0x2\n kmem_cache_alloc_noprof+0x1/0x2\n my_alloc+0x1/0x2\n"
                " kfree+0x1/0x2\n caller+0x1/0x2\n\n";
        struct stackagg *a = aggregate_text(text, sizeof text - 1, NULL);
        const struct stackagg_entry *const *v;
        char buf[512];
        ck_assert_int_eq(stackagg_ranked(a, &v), 1);
        /* Only the inner run is noise; kfree further out stays. */
        ck_assert_str_eq(names(v[0], buf, sizeof buf), "my_alloc;kfree;caller");
        stackagg_free(a);

        struct stackagg_options o = { .keep_noise = true };
        a = aggregate_text(text, sizeof text - 1, &o);
        ck_assert_int_eq(stackagg_ranked(a, &v), 1);
        ck_assert_uint_eq(v[0]->n_frames, 5);
        stackagg_free(a);

        /* Extra patterns add to the list; with keep_noise they are the list. */
        static const char *const extra[] = { "my_*" };
        o = (struct stackagg_options) { .noise = extra, .n_noise = 1 };
        a = aggregate_text(text, sizeof text - 1, &o);
        ck_assert_int_eq(stackagg_ranked(a, &v), 1);
        ck_assert_str_eq(names(v[0], buf, sizeof buf), "caller"); /* my_alloc, then kfree: one inner run */
        stackagg_free(a);
        o.keep_noise = true;
        a = aggregate_text(text, sizeof text - 1, &o);
        ck_assert_int_eq(stackagg_ranked(a, &v), 1);
        ck_assert_str_eq(v[0]->frames[0].function, "dump_stack_lvl");
        stackagg_free(a);

        /* A stack of noise only is counted as such, not as a stack. */
        static const char only[] = "Call Trace:\n dump_stack+0x1/0x2\n show_stack+0x1/0x2\n\n";
        a = aggregate_text(only, sizeof only - 1, NULL);
        struct stackagg_stats st;
        stackagg_get_stats(a, &st);
        ck_assert_uint_eq(st.empty, 1);
        ck_assert_uint_eq(st.distinct, 0);
        stackagg_free(a);

        ck_assert(stackagg_is_default_noise("__kmalloc_cache_noprof"));
        ck_assert(stackagg_is_default_noise("trace_event_raw_event_kmem_cache_alloc"));
        ck_assert(stackagg_is_default_noise("trace.part.59"));
        ck_assert(!stackagg_is_default_noise("kmalloc_reserve"));
        ck_assert(!stackagg_is_default_noise("__alloc_skb"));
        ck_assert(!stackagg_is_default_noise("tracepoint_probe"));
}
END_TEST

START_TEST(unreliable_frames) {
        static const char text[] = "Call Trace:\n a+0x1/0x2\n ? stale+0x1/0x2\n b+0x1/0x2\n\n"
                                   "Call Trace:\n a+0x1/0x2\n b+0x1/0x2\n\n";
        struct stackagg *a = aggregate_text(text, sizeof text - 1, NULL);
        const struct stackagg_entry *const *v;
        struct stackagg_stats st;
        ck_assert_int_eq(stackagg_ranked(a, &v), 1);
        ck_assert_uint_eq(v[0]->count, 2);
        stackagg_get_stats(a, &st);
        ck_assert_uint_eq(st.unreliable_frames, 1);
        stackagg_free(a);
        struct stackagg_options o = { .keep_unreliable = true };
        a = aggregate_text(text, sizeof text - 1, &o);
        ck_assert_int_eq(stackagg_ranked(a, &v), 2);
        stackagg_free(a);
}
END_TEST

START_TEST(from_function) {
        struct stackagg_options o = { .from = "__alloc_skb" };
        struct stackagg *a = aggregate_fixture("stacks/x86-6.18-journal-skb-leak.txt", &o);
        const struct stackagg_entry *const *v;
        ck_assert_int_eq(stackagg_ranked(a, &v), 3);
        for (size_t i = 0; i < 3; i++)
                ck_assert_str_eq(v[i]->frames[0].function, "__alloc_skb");
        struct stackagg_node *root;
        ck_assert_int_eq(stackagg_tree(a, STACKAGG_TREE_INNERMOST_FIRST, &root), 0);
        const struct stackagg_node *n = &root->children[0];
        ck_assert_uint_eq(n->count, 9);
        ck_assert_uint_eq(n->n_children, 2);
        ck_assert_str_eq(n->children[0].frame->function, "__napi_alloc_skb");
        ck_assert_uint_eq(n->children[0].count, 6);
        ck_assert_str_eq(n->children[1].frame->function, "__netdev_alloc_skb");
        const struct stackagg_node *split = follow_chain(&n->children[0]);
        ck_assert_str_eq(split->frame->function, "handle_softirqs");
        ck_assert_ptr_nonnull(child(split, "__irq_exit_rcu"));
        ck_assert_ptr_nonnull(child(split, "run_ksoftirqd"));
        stackagg_tree_free(root);
        stackagg_free(a);

        /* Stacks without it are counted apart; globs work. */
        o.from = "leaky_*";
        size_t len;
        char *buf = testutil_read_fixture("stacks/x86-6.18-journal-skb-leak.txt", &len);
        char *both = malloc(len + 4096);
        memcpy(both, buf, len);
        static const char other[] = "Call Trace:\n x+0x1/0x2\n y+0x1/0x2\n\n";
        memcpy(both + len, other, sizeof other - 1);
        a = aggregate_text(both, len + sizeof other - 1, &o);
        struct stackagg_stats st;
        stackagg_get_stats(a, &st);
        ck_assert_uint_eq(st.no_from, 1);
        ck_assert_uint_eq(st.counted, 9);
        ck_assert_int_eq(stackagg_ranked(a, &v), 3);
        ck_assert_str_eq(v[0]->frames[0].function, "leaky_poll");
        stackagg_free(a);
        free(both);
        free(buf);
}
END_TEST

START_TEST(weights_and_events) {
        struct stackagg *a = aggregate_fixture("callsites/alloc_traces-6.1", NULL);
        const struct stackagg_entry *const *v;
        struct stackagg_stats st;
        ck_assert_int_eq(stackagg_ranked(a, &v), 5);
        ck_assert_uint_eq(v[0]->count, 3098);
        ck_assert_uint_eq(v[0]->records, 1);
        /* __kmem_cache_alloc_node, __kmalloc_node_track_caller trimmed; kmalloc_reserve is skbuff's. */
        ck_assert_str_eq(v[0]->frames[0].function, "kmalloc_reserve");
        stackagg_get_stats(a, &st);
        ck_assert_uint_eq(st.weight, 3098 + 611 + 29 + 15 + 1);
        ck_assert_uint_eq(v[0]->formats, 1u << STACKDUMP_FORMAT_ALLOC_TRACES);
        stackagg_free(a);

        a = aggregate_fixture("linux-6.18-x86_64/tracefs-inode_cache-pipes.txt", NULL);
        ck_assert_int_eq(stackagg_ranked(a, &v), 2);
        ck_assert_str_eq(v[0]->frames[0].function, "alloc_inode");
        ck_assert_str_eq(v[0]->events.values[0], "kmem_cache_alloc");
        ck_assert_str_eq(v[0]->caches.values[0], "inode_cache");
        ck_assert_str_eq(v[1]->frames[0].function, "destroy_inode");
        ck_assert_uint_eq(v[0]->count, 127);
        /* More PIDs than a set keeps: flagged. */
        ck_assert_uint_eq(v[0]->pids.n, STACKAGG_SET_MAX);
        ck_assert(v[0]->pids.more);
        for (size_t i = 1; i < v[0]->pids.n; i++)
                ck_assert_uint_lt(v[0]->pids.values[i - 1], v[0]->pids.values[i]);
        stackagg_free(a);
}
END_TEST

/* ---- limits ---- */

static char *many_distinct(size_t n, size_t *ret_len) {
        char *buf = malloc(n * 48 + 1);
        size_t len = 0;
        for (size_t i = 0; i < n; i++)
                len += (size_t) sprintf(buf + len, "Call Trace:\n fn_%zu+0x1/0x2\n common+0x1/0x2\n\n", i);
        *ret_len = len;
        return buf;
}

START_TEST(limits_stack_cap) {
        size_t len;
        char *buf = many_distinct(100, &len);
        struct stackagg_options o = { .max_stacks = 10 };
        struct stackagg *a = aggregate_text(buf, len, &o);
        /* Known stacks still count after the cap is reached. */
        static const char again[] = "Call Trace:\n fn_3+0x1/0x2\n common+0x1/0x2\n\n";
        ck_assert_int_eq(stackdump_parse(again, sizeof again - 1, add_stack, NULL, a), 0);
        struct stackagg_stats st;
        stackagg_get_stats(a, &st);
        ck_assert_uint_eq(st.distinct, 10);
        ck_assert_uint_eq(st.dropped, 90);
        ck_assert_uint_eq(st.dropped_weight, 90);
        ck_assert_uint_eq(st.counted, 11);
        ck_assert_uint_eq(st.stacks, 101);
        const struct stackagg_entry *const *v;
        ck_assert_int_eq(stackagg_ranked(a, &v), 10);
        ck_assert_str_eq(v[0]->frames[0].function, "fn_3");
        ck_assert_uint_eq(v[0]->count, 2);
        stackagg_free(a);
        free(buf);
}
END_TEST

START_TEST(limits_memory_cap) {
        size_t len;
        char *buf = many_distinct(20000, &len);
        struct stackagg_options o = { .max_memory_bytes = 256 << 10 };
        struct stackagg *a = aggregate_text(buf, len, &o);
        struct stackagg_stats st;
        stackagg_get_stats(a, &st);
        ck_assert_uint_le(st.memory_bytes, (size_t) 256 << 10);
        ck_assert_uint_gt(st.distinct, 100);
        ck_assert_uint_gt(st.dropped, 0);
        ck_assert_uint_eq(st.distinct + st.dropped, 20000);
        stackagg_free(a);
        free(buf);
}
END_TEST

START_TEST(limits_deep_and_empty) {
        struct stackagg *a;
        ck_assert_int_eq(stackagg_new(NULL, &a), 0);
        const struct stackagg_entry *const *v;
        ck_assert_int_eq(stackagg_ranked(a, &v), 0);
        struct stackagg_node *root;
        ck_assert_int_eq(stackagg_tree(a, STACKAGG_TREE_CALLERS_FIRST, &root), 0);
        ck_assert_uint_eq(root->n_children, 0);
        stackagg_tree_free(root);

        /* A stack at the frame limit, and a prefix of it: the tree marks
         * where the shorter one ends. */
        struct stackdump_frame frames[STACKDUMP_FRAMES_MAX];
        char name[STACKDUMP_FRAMES_MAX][16];
        for (size_t i = 0; i < STACKDUMP_FRAMES_MAX; i++) {
                snprintf(name[i], sizeof name[i], "f%zu", i);
                frames[i] = (struct stackdump_frame) { .function = name[i], .module = "" };
        }
        struct stackdump_stack s = { .weight = 1, .frames = frames, .n_frames = STACKDUMP_FRAMES_MAX };
        ck_assert_int_eq(stackagg_add(a, &s, 0), 0);
        s.frames = frames + 1;
        s.n_frames = STACKDUMP_FRAMES_MAX - 1;
        s.weight = 5;
        ck_assert_int_eq(stackagg_add(a, &s, 1), 0);
        ck_assert_int_eq(stackagg_tree(a, STACKAGG_TREE_CALLERS_FIRST, &root), 0);
        ck_assert_uint_eq(root->count, 6);
        const struct stackagg_node *n = follow_chain(root);
        ck_assert_str_eq(n->frame->function, "f1");
        ck_assert_uint_eq(n->self, 5);
        ck_assert_uint_eq(n->n_children, 1);
        ck_assert_uint_eq(n->children[0].self, 1);
        stackagg_tree_free(root);
        ck_assert_int_eq(stackagg_ranked(a, &v), 2);
        ck_assert_uint_eq(v[0]->first_source, 1);
        stackagg_free(a);
        stackagg_free(NULL);

        /* Too many extra noise patterns. */
        const char *pats[STACKAGG_NOISE_MAX + 1];
        for (size_t i = 0; i <= STACKAGG_NOISE_MAX; i++)
                pats[i] = "x";
        struct stackagg_options o = { .noise = pats, .n_noise = STACKAGG_NOISE_MAX + 1 };
        ck_assert_int_eq(stackagg_new(&o, &a), -EINVAL);
}
END_TEST

START_TEST(limits_garbage) {
        size_t len;
        char *buf = testutil_read_fixture("synthetic/garbage.bin", &len);
        struct stackagg *a = aggregate_text(buf, len, NULL);
        struct stackagg_node *root;
        ck_assert_int_eq(stackagg_tree(a, STACKAGG_TREE_INNERMOST_FIRST, &root), 0);
        stackagg_tree_free(root);
        stackagg_free(a);
        free(buf);
}
END_TEST

static Suite *stackagg_suite(void) {
        Suite *s = suite_create("stackagg");
        TCase *tc = tcase_create("aggregate");
        tcase_add_test(tc, seed_acceptance);
        tcase_add_test(tc, identity_ignores_offsets);
        tcase_add_test(tc, ranking_ties_first_seen);
        tcase_add_test(tc, noise_trimming);
        tcase_add_test(tc, unreliable_frames);
        tcase_add_test(tc, from_function);
        tcase_add_test(tc, weights_and_events);
        suite_add_tcase(s, tc);
        tc = tcase_create("limits");
        tcase_add_test(tc, limits_stack_cap);
        tcase_add_test(tc, limits_memory_cap);
        tcase_add_test(tc, limits_deep_and_empty);
        tcase_add_test(tc, limits_garbage);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(stackagg_suite());
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
