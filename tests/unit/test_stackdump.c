#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stacks/stackdump.h"
#include "testutil.h"

/* What a test remembers of each stack: enough to compare. */
#define MAX_STACKS 512
#define SIG_MAX 4096

struct seen {
        size_t n;
        uint64_t lines[MAX_STACKS];
        uint64_t weights[MAX_STACKS];
        enum stackdump_format formats[MAX_STACKS];
        struct stackdump_context ctx[MAX_STACKS];
        size_t n_frames[MAX_STACKS];
        size_t dropped[MAX_STACKS];
        size_t unreliable[MAX_STACKS];
        char sig[MAX_STACKS][SIG_MAX];  /* "fn;fn;fn" innermost first, unreliable as "?fn" */
        struct stackdump_frame first[MAX_STACKS];
        char first_module[MAX_STACKS][64];
        size_t n_errors;
        uint64_t error_lines[16];
        int errors[16];
        int stop_after;                 /* return -ECANCELED after this many stacks; 0 = never */
};

static int collect(const struct stackdump_stack *s, void *userdata) {
        struct seen *v = userdata;
        ck_assert_uint_lt(v->n, MAX_STACKS);
        size_t i = v->n++;
        v->lines[i] = s->line;
        v->weights[i] = s->weight;
        v->formats[i] = s->format;
        v->ctx[i] = s->ctx;
        v->n_frames[i] = s->n_frames;
        v->dropped[i] = s->n_frames_dropped;
        v->sig[i][0] = '\0';
        v->unreliable[i] = 0;
        size_t len = 0;
        for (size_t k = 0; k < s->n_frames; k++) {
                const struct stackdump_frame *f = &s->frames[k];
                ck_assert_ptr_nonnull(f->function);
                ck_assert_ptr_nonnull(f->module);
                if (f->unreliable)
                        v->unreliable[i]++;
                int n = snprintf(v->sig[i] + len, SIG_MAX - len, "%s%s%s", k ? ";" : "", f->unreliable ? "?" : "",
                                 f->function);
                if (n > 0 && (size_t) n < SIG_MAX - len)
                        len += (size_t) n;
        }
        if (s->n_frames > 0) {
                v->first[i] = s->frames[0];
                snprintf(v->first_module[i], sizeof v->first_module[i], "%s", s->frames[0].module);
        }
        if (v->stop_after && v->n >= (size_t) v->stop_after)
                return -ECANCELED;
        return 0;
}

static void collect_error(uint64_t line, int error, void *userdata) {
        struct seen *v = userdata;
        if (v->n_errors < 16) {
                v->error_lines[v->n_errors] = line;
                v->errors[v->n_errors] = error;
        }
        v->n_errors++;
}

static bool starts_with(const char *s, const char *prefix) {
        return strncmp(s, prefix, strlen(prefix)) == 0;
}

static struct seen *parse_text(const char *buf, size_t len) {
        struct seen *v = calloc(1, sizeof *v);
        ck_assert_ptr_nonnull(v);
        ck_assert_int_eq(stackdump_parse(buf, len, collect, collect_error, v), 0);
        return v;
}

static struct seen *parse_fixture(const char *rel) {
        size_t len;
        char *buf = testutil_read_fixture(rel, &len);
        struct seen *v = parse_text(buf, len);
        free(buf);
        return v;
}

/* Feed @buf in pieces of @step bytes (1 = byte by byte). */
static struct seen *parse_chunked(const char *buf, size_t len, size_t step) {
        struct seen *v = calloc(1, sizeof *v);
        struct stackdump_parser *p;
        ck_assert_int_eq(stackdump_parser_new(collect, collect_error, v, &p), 0);
        for (size_t off = 0; off < len; off += step)
                ck_assert_int_eq(stackdump_parser_feed(p, buf + off, len - off < step ? len - off : step), 0);
        ck_assert_int_eq(stackdump_parser_finish(p), 0);
        stackdump_parser_free(p);
        return v;
}

static void assert_same(const struct seen *a, const struct seen *b) {
        ck_assert_uint_eq(a->n, b->n);
        for (size_t i = 0; i < a->n; i++) {
                ck_assert_str_eq(a->sig[i], b->sig[i]);
                ck_assert_uint_eq(a->lines[i], b->lines[i]);
                ck_assert_uint_eq(a->weights[i], b->weights[i]);
                ck_assert_uint_eq(a->ctx[i].have, b->ctx[i].have);
                ck_assert_uint_eq(a->ctx[i].pid, b->ctx[i].pid);
                ck_assert_str_eq(a->ctx[i].comm, b->ctx[i].comm);
        }
}

#define SEED_IRQ "show_stack;dump_stack;__alloc_skb;skbmgr_alloc_skb4k;RTMP_AllocateRxPacketBuffer;" \
        "pci_get_pkt_dynamic_page_ddone;pci_rx_dma_done_handle;pci_rx_data_done_func;tasklet_hi_action;" \
        "__do_softirq;irq_exit;ret_from_irq;r4k_wait_irqoff;cpu_startup_entry"
#define SEED_KSOFTIRQD "show_stack;dump_stack;__alloc_skb;skbmgr_alloc_skb4k;RTMP_AllocateRxPacketBuffer;" \
        "pci_get_pkt_dynamic_page_ddone;pci_rx_dma_done_handle;pci_rx_data_done_func;tasklet_hi_action;" \
        "__do_softirq;run_ksoftirqd;smpboot_thread_fn;kthread;ret_from_kernel_thread"

START_TEST(seed_call_traces) {
        struct seen *v = parse_fixture("seed-3.18-mips/call_traces.txt");
        ck_assert_uint_eq(v->n, 3);
        ck_assert_uint_eq(v->n_errors, 0);
        ck_assert_str_eq(v->sig[0], SEED_IRQ);
        ck_assert_str_eq(v->sig[1], SEED_IRQ);
        ck_assert_str_eq(v->sig[2], SEED_KSOFTIRQD);
        /* Each dump starts at its "CPU:" header. */
        ck_assert_uint_eq(v->lines[0], 1);
        ck_assert_uint_eq(v->lines[1], 24);
        ck_assert_uint_eq(v->lines[2], 47);
        for (size_t i = 0; i < 3; i++) {
                ck_assert_int_eq(v->formats[i], STACKDUMP_FORMAT_DMESG);
                ck_assert_uint_eq(v->weights[i], 1);
                ck_assert_uint_eq(v->n_frames[i], 14);
                const struct stackdump_context *c = &v->ctx[i];
                ck_assert_uint_eq(c->have & (STACKDUMP_HAVE_CPU | STACKDUMP_HAVE_PID | STACKDUMP_HAVE_COMM |
                                             STACKDUMP_HAVE_TAINT | STACKDUMP_HAVE_RELEASE),
                                  STACKDUMP_HAVE_CPU | STACKDUMP_HAVE_PID | STACKDUMP_HAVE_COMM |
                                  STACKDUMP_HAVE_TAINT | STACKDUMP_HAVE_RELEASE);
                ck_assert_uint_eq(c->cpu, 3);
                ck_assert_str_eq(c->taint, "P O");
                ck_assert_str_eq(c->release, "3.18.21");
        }
        ck_assert_str_eq(v->ctx[0].comm, "swapper/3");
        ck_assert_uint_eq(v->ctx[0].pid, 0);
        ck_assert_str_eq(v->ctx[2].comm, "ksoftirqd/3");
        ck_assert_uint_eq(v->ctx[2].pid, 19);
        /* "[<80015ad4>] show_stack+0x88/0xa4" */
        ck_assert(v->first[0].has_address);
        ck_assert_uint_eq(v->first[0].address, 0x80015ad4);
        ck_assert(v->first[0].has_offset);
        ck_assert_uint_eq(v->first[0].offset, 0x88);
        ck_assert_uint_eq(v->first[0].size, 0xa4);
        ck_assert(!v->first[0].unreliable);
        free(v);
}
END_TEST

#define HUNG_WRITER "__schedule;schedule;schedule_preempt_disabled;__mutex_lock;anon_pipe_write;" \
        "?_raw_spin_unlock;?get_page_from_freelist;?security_file_permission;vfs_write;ksys_write;do_syscall_64;" \
        "?_raw_spin_unlock;?filemap_map_pages;?_raw_spin_unlock;?get_page_from_freelist;?set_ptes;" \
        "?set_pte_range;?next_uptodate_folio;?percpu_counter_add_batch;?_raw_spin_unlock;?filemap_map_pages;" \
        "?do_fault;?___pte_offset_map;?__handle_mm_fault;?count_memcg_events;?handle_mm_fault;?exc_page_fault;" \
        "entry_SYSCALL_64_after_hwframe"

START_TEST(linux_6_18_hung_task_all_prefix_styles) {
        /* The same real report as dmesg, dmesg -r, dmesg -t and /dev/kmsg records. */
        static const char *const files[] = {
                "stacks/linux-6.18-x86_64-hung_task.dmesg",
                "stacks/linux-6.18-x86_64-hung_task-raw.dmesg",
                "stacks/linux-6.18-x86_64-hung_task-notime.dmesg",
                "stacks/linux-6.18-x86_64-hung_task.kmsg",
        };
        struct seen *ref = NULL;
        for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
                struct seen *v = parse_fixture(files[f]);
                ck_assert_uint_ge(v->n, 2);
                ck_assert_uint_eq(v->n_errors, 0);
                /* The blocked writer, with its "?" frames kept but marked. */
                ck_assert_str_eq(v->sig[0], HUNG_WRITER);
                ck_assert_uint_eq(v->unreliable[0], 19);
                ck_assert_str_eq(v->ctx[0].comm, "slabwatch-hang");
                ck_assert_uint_eq(v->ctx[0].pid, 11863);
                ck_assert(v->ctx[0].have & STACKDUMP_HAVE_TAINT);
                ck_assert_str_eq(v->ctx[0].taint, "");
                ck_assert_str_eq(v->ctx[0].release, "6.18.44-fc-v669");
                ck_assert(!(v->ctx[0].have & STACKDUMP_HAVE_CPU));
                /* The mutex owner: its trace crosses a page-fault frame with
                 * registers and a Code: line inside <TASK>..</TASK>. */
                ck_assert_str_eq(v->ctx[1].comm, "hang");
                ck_assert_uint_eq(v->ctx[1].pid, 11862);
                ck_assert_uint_eq(v->n_frames[1], 24);
                ck_assert(strstr(v->sig[1], "asm_exc_page_fault;?__alloc_frozen_pages_noprof;copy_page_from_iter;"));
                ck_assert(strstr(v->sig[1], "entry_SYSCALL_64_after_hwframe") != NULL);
                if (f == 1 || f == 2 || f == 3)
                        ck_assert_uint_eq(v->n, 2);
                if (f == 0 || f == 1 || f == 3) {
                        ck_assert(v->ctx[0].have & STACKDUMP_HAVE_TIMESTAMP);
                        ck_assert_uint_eq(v->ctx[0].timestamp_nsec / 1000, 840461673);
                } else
                        ck_assert(!(v->ctx[0].have & STACKDUMP_HAVE_TIMESTAMP));
                if (!ref)
                        ref = v;
                else {
                        for (size_t i = 0; i < 2; i++) {
                                ck_assert_str_eq(v->sig[i], ref->sig[i]);
                                ck_assert_uint_eq(v->lines[i], ref->lines[i]);
                        }
                        free(v);
                }
        }
        ck_assert_uint_eq(ref->n, 6); /* three reports of two stacks in the full log */
        free(ref);
}
END_TEST

START_TEST(linux_6_18_tracefs) {
        struct seen *v = parse_fixture("linux-6.18-x86_64/tracefs-inode_cache-pipes.txt");
        ck_assert_uint_eq(v->n, 254);
        ck_assert_uint_eq(v->n_errors, 0);
        /* Line 13 is the kmem_cache_alloc event, 14 its "<stack trace>". */
        ck_assert_uint_eq(v->lines[0], 13);
        ck_assert_int_eq(v->formats[0], STACKDUMP_FORMAT_TRACEFS);
        ck_assert_str_eq(v->sig[0], "trace_event_raw_event_kmem_cache_alloc;kmem_cache_alloc_lru_noprof;alloc_inode;"
                         "create_pipe_files;do_pipe2;__x64_sys_pipe2;do_syscall_64;entry_SYSCALL_64_after_hwframe");
        ck_assert_str_eq(v->ctx[0].event, "kmem_cache_alloc");
        ck_assert_str_eq(v->ctx[0].cache, "inode_cache");
        ck_assert_str_eq(v->ctx[0].comm, "python3");
        ck_assert_uint_eq(v->ctx[0].pid, 27107);
        ck_assert_uint_eq(v->ctx[0].cpu, 1);
        ck_assert(v->ctx[0].have & STACKDUMP_HAVE_PTR);
        ck_assert_uint_eq(v->ctx[0].ptr, 0xd4d28fb4);
        ck_assert_uint_eq(v->ctx[0].timestamp_nsec, 2393843652000ull);
        ck_assert_str_eq(v->ctx[1].event, "kmem_cache_free");
        ck_assert(!v->first[0].has_offset);
        size_t allocs = 0, frees = 0;
        for (size_t i = 0; i < v->n; i++) {
                ck_assert(v->ctx[i].have & STACKDUMP_HAVE_EVENT);
                if (strcmp(v->ctx[i].event, "kmem_cache_alloc") == 0)
                        allocs++;
                else if (strcmp(v->ctx[i].event, "kmem_cache_free") == 0)
                        frees++;
        }
        ck_assert_uint_eq(allocs, 127);
        ck_assert_uint_eq(frees, 127);
        free(v);
}
END_TEST

START_TEST(journal_with_irq_and_registers) {
        struct seen *v = parse_fixture("stacks/x86-6.18-journal-skb-leak.txt");
        ck_assert_uint_eq(v->n, 9);
        ck_assert_uint_eq(v->n_errors, 0);
        ck_assert_str_eq(v->ctx[0].comm, "swapper/1");
        ck_assert_uint_eq(v->ctx[0].cpu, 1);
        ck_assert_str_eq(v->ctx[0].taint, "G O");
        ck_assert_str_eq(v->ctx[0].release, "6.18.44-fc-v669");
        /* <IRQ> part, then the interrupted task after the registers. */
        ck_assert_str_eq(v->sig[0], "dump_stack_lvl;__alloc_skb;__napi_alloc_skb;leaky_poll;__napi_poll;net_rx_action;"
                         "?sched_clock_cpu;handle_softirqs;__irq_exit_rcu;common_interrupt;asm_common_interrupt;"
                         "?default_idle;default_idle;default_idle_call;do_idle;cpu_startup_entry;start_secondary;"
                         "common_startup_64");
        ck_assert_str_eq(v->ctx[1].comm, "kworker/1:2");
        ck_assert_uint_eq(v->ctx[1].pid, 2211);
        free(v);

        /* Module names come from " [leaky]". */
        static const char text[] = "Call Trace:\n <TASK>\n leaky_poll+0x8e/0x1c0 [leaky]\n"
                " i915_gem_do_execbuffer+0x1/0x2 [i915 0123456789abcdef0123456789abcdef01234567]\n </TASK>\n";
        v = parse_text(text, sizeof text - 1);
        ck_assert_uint_eq(v->n, 1);
        ck_assert_str_eq(v->first_module[0], "leaky");
        ck_assert_str_eq(v->sig[0], "leaky_poll;i915_gem_do_execbuffer");
        ck_assert_uint_eq(v->lines[0], 1);
        free(v);
}
END_TEST

/* An alloc_traces entry or page_owner_sort record of count 0 holds no
 * objects: not a stack (a fuzzer found one reported with weight 0). */
START_TEST(zero_count_not_a_stack) {
        static const char text[] = "   0 __alloc_skb+0x1f2/0x250 waste=0/0 age=1/1/1 pid=1 cpus=0\n"
                                   "\t__kmalloc_node_track_caller+0x5b/0x150\n"
                                   "\tkmalloc_reserve+0x3d/0xa0\n"
                                   "\n"
                                   "  12 __alloc_skb+0x1f2/0x250 age=1/1/1 pid=1 cpus=0\n"
                                   "\tkmalloc_reserve+0x3d/0xa0\n"
                                   "\n";
        struct seen *v = parse_text(text, sizeof text - 1);
        ck_assert_uint_eq(v->n, 1);
        ck_assert_uint_eq(v->weights[0], 12);
        free(v);
}
END_TEST

START_TEST(slub_trace_records) {
        struct seen *v = parse_fixture("stacks/slub-trace-4.4-x86_64.txt");
        ck_assert_uint_eq(v->n, 5);
        ck_assert_uint_eq(v->n_errors, 0);
        static const char *const ops[] = { "alloc", "alloc", "free", "alloc", "alloc" };
        for (size_t i = 0; i < 5; i++) {
                ck_assert_str_eq(v->ctx[i].event, ops[i]);
                ck_assert_str_eq(v->ctx[i].cache, "kmalloc-8192");
                ck_assert(v->ctx[i].have & STACKDUMP_HAVE_PTR);
                ck_assert(v->ctx[i].have & STACKDUMP_HAVE_CPU);
                ck_assert_str_eq(v->ctx[i].release, "4.4.180");
                ck_assert(v->ctx[i].have & STACKDUMP_HAVE_TIMESTAMP);
        }
        /* The stack starts at the TRACE line, not at the CPU: header. */
        ck_assert_uint_eq(v->lines[0], 1);
        ck_assert_uint_eq(v->ctx[0].ptr, 0xffff88003d2f0000ull);
        ck_assert_str_eq(v->ctx[0].comm, "rild");
        ck_assert_uint_eq(v->ctx[0].timestamp_nsec, 512120014000ull);
        /* "<IRQ>  [<...>] dump_stack+0x63/0x87" keeps its frame. */
        ck_assert_str_eq(v->ctx[1].comm, "swapper/1");
        ck_assert(starts_with(v->sig[1], "dump_stack;trace;alloc_debug_processing;"));
        ck_assert(strstr(v->sig[1], "common_interrupt;?default_idle;arch_cpu_idle;") != NULL);
        ck_assert_str_eq(v->ctx[2].comm, "netd");
        free(v);
}
END_TEST

START_TEST(alloc_traces_entries) {
        struct seen *v = parse_fixture("callsites/alloc_traces-6.1");
        ck_assert_uint_eq(v->n, 5);
        ck_assert_uint_eq(v->n_errors, 0);
        ck_assert_int_eq(v->formats[0], STACKDUMP_FORMAT_ALLOC_TRACES);
        ck_assert_uint_eq(v->weights[0], 3098);
        ck_assert_uint_eq(v->n_frames[0], 12);
        ck_assert(starts_with(v->sig[0], "__kmem_cache_alloc_node;__kmalloc_node_track_caller;kmalloc_reserve;__alloc_skb;"));
        ck_assert_uint_eq(v->weights[3], 15);
        ck_assert_uint_eq(v->lines[1], 15);
        free(v);

        /* Without stacks (sysfs alloc_calls, 5.14-5.18): the site is the stack. */
        v = parse_fixture("seed-3.18-mips/alloc_calls");
        ck_assert_uint_eq(v->n, 7);
        ck_assert_str_eq(v->sig[3], "__alloc_skb");
        ck_assert_uint_eq(v->weights[3], 3103);
        ck_assert_uint_eq(v->lines[3], 4);
        free(v);
        v = parse_fixture("seed-3.18-mips/free_calls");
        ck_assert_uint_eq(v->n, 4);
        ck_assert_str_eq(v->sig[0], "<not-available>");
        ck_assert_uint_eq(v->weights[0], 2546);
        free(v);
        v = parse_fixture("callsites/alloc_traces-5.15");
        ck_assert_uint_eq(v->n, 5);
        ck_assert_str_eq(v->sig[2], "os_alloc_mem");
        ck_assert_str_eq(v->first_module[2], "leaky");
        free(v);
}
END_TEST

START_TEST(other_architectures) {
        /* arm64 "Call trace:", 32-bit arm "(func) from [<addr>] (caller)",
         * powerpc "[sp] [lr] func (unreliable)". */
        static const char text[] =
                "CPU: 2 PID: 311 Comm: netd Tainted: G        W         5.10.43 #1\n"
                "Hardware name: Generic DT based system\n"
                "Call trace:\n"
                " dump_backtrace+0x0/0x1e0\n"
                " show_stack+0x18/0x24\n"
                " __alloc_skb+0x1c/0x2a0\n"
                " el0_svc+0x28/0x98\n"
                "\n"
                "[<c0110bb8>] (unwind_backtrace) from [<c010c9f0>] (show_stack+0x10/0x14)\n"
                "Backtrace:\n"
                "[<c0110bb8>] (unwind_backtrace) from [<c010c9f0>] (show_stack+0x10/0x14)\n"
                "[<c010c9f0>] (show_stack+0x10/0x14) from [<c0a2d6c8>] (__alloc_skb+0x94/0x1f0)\n"
                "[<c0a2d6c8>] (__alloc_skb+0x94/0x1f0) from [<c0123450>] (ret_fast_syscall+0x0/0x54)\n"
                "\n"
                "Call Trace:\n"
                "[c0000000fe1d3b20] [c000000000b4c0a8] dump_stack_lvl+0xa4/0x100 (unreliable)\n"
                "[c0000000fe1d3b60] [c000000000123456] __alloc_skb+0x1c/0x2a0\n"
                "--- interrupt: c00 at 0x7fff8a1b2c3c\n";
        struct seen *v = parse_text(text, sizeof text - 1);
        ck_assert_uint_eq(v->n, 4);
        ck_assert_str_eq(v->sig[0], "dump_backtrace;show_stack;__alloc_skb;el0_svc");
        ck_assert_str_eq(v->ctx[0].comm, "netd");
        ck_assert_str_eq(v->ctx[0].taint, "G W");
        /* ARM with the unwinder prints no "Call Trace:" line: a lone
         * "(f) from (g)" line is a stack of its own, f and its caller g. */
        ck_assert_str_eq(v->sig[1], "unwind_backtrace;show_stack");
        /* Each line names a function and its caller; the caller is the
         * next line's function and counted once. */
        ck_assert_str_eq(v->sig[2], "unwind_backtrace;show_stack;__alloc_skb;ret_fast_syscall");
        ck_assert(v->first[2].has_address);
        ck_assert_uint_eq(v->first[2].address, 0xc0110bb8);
        ck_assert_str_eq(v->sig[3], "?dump_stack_lvl;__alloc_skb");
        ck_assert_uint_eq(v->first[3].address, 0xc000000000b4c0a8ull);
        free(v);
}
END_TEST

START_TEST(streaming_matches_whole) {
        static const char *const files[] = {
                "seed-3.18-mips/call_traces.txt",
                "stacks/linux-6.18-x86_64-hung_task.dmesg",
                "stacks/slub-trace-4.4-x86_64.txt",
                "callsites/alloc_traces-6.1",
                "linux-6.18-x86_64/tracefs-inode_cache-pipes.txt",
        };
        for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
                size_t len;
                char *buf = testutil_read_fixture(files[f], &len);
                struct seen *whole = parse_text(buf, len);
                static const size_t steps[] = { 1, 7, 4096 };
                for (size_t s = 0; s < 3; s++) {
                        struct seen *parts = parse_chunked(buf, len, steps[s]);
                        assert_same(whole, parts);
                        free(parts);
                }
                free(whole);
                free(buf);
        }
}
END_TEST

START_TEST(mixed_formats_in_one_input) {
        /* A console capture that holds everything at once. */
        size_t l1, l2, l3, l4;
        char *a = testutil_read_fixture("seed-3.18-mips/call_traces.txt", &l1);
        char *b = testutil_read_fixture("linux-6.18-x86_64/tracefs-inode_cache-pipes.txt", &l2);
        char *c = testutil_read_fixture("stacks/slub-trace-4.4-x86_64.txt", &l3);
        char *d = testutil_read_fixture("callsites/alloc_traces-6.1", &l4);
        char *all = malloc(l1 + l2 + l3 + l4);
        memcpy(all, a, l1);
        memcpy(all + l1, b, l2);
        memcpy(all + l1 + l2, c, l3);
        memcpy(all + l1 + l2 + l3, d, l4);
        struct seen *v = parse_text(all, l1 + l2 + l3 + l4);
        ck_assert_uint_eq(v->n, 3 + 254 + 5 + 5);
        ck_assert_int_eq(v->formats[0], STACKDUMP_FORMAT_DMESG);
        ck_assert_int_eq(v->formats[3], STACKDUMP_FORMAT_TRACEFS);
        ck_assert_int_eq(v->formats[257], STACKDUMP_FORMAT_DMESG);
        ck_assert_int_eq(v->formats[262], STACKDUMP_FORMAT_ALLOC_TRACES);
        free(v);
        free(a);
        free(b);
        free(c);
        free(d);
        free(all);
}
END_TEST

START_TEST(symbols) {
        struct stackdump_symbol s;
        ck_assert_int_eq(stackdump_parse_symbol(" __alloc_skb+0x98/0x238 ", 24, &s), 0);
        ck_assert_uint_eq(s.name_len, 11);
        ck_assert(memcmp(s.name, "__alloc_skb", 11) == 0);
        ck_assert(s.has_offset);
        ck_assert_uint_eq(s.offset, 0x98);
        ck_assert_uint_eq(s.size, 0x238);
        ck_assert_uint_eq(s.module_len, 0);

        static const char m[] = "leaky_poll+0x8e/0x1c0 [leaky]";
        ck_assert_int_eq(stackdump_parse_symbol(m, sizeof m - 1, &s), 0);
        ck_assert_uint_eq(s.module_len, 5);
        ck_assert(memcmp(s.module, "leaky", 5) == 0);

        static const char plain[] = "alloc_inode";
        ck_assert_int_eq(stackdump_parse_symbol(plain, sizeof plain - 1, &s), 0);
        ck_assert(!s.has_offset);

        static const char addr[] = "0xffffffffc0a01234";
        ck_assert_int_eq(stackdump_parse_symbol(addr, sizeof addr - 1, &s), 0);

        static const char off_only[] = "foo.cold+0x1c";
        ck_assert_int_eq(stackdump_parse_symbol(off_only, sizeof off_only - 1, &s), 0);
        ck_assert_uint_eq(s.offset, 0x1c);
        ck_assert_uint_eq(s.size, 0);

        static const char *const bad[] = {
                "", "   ", "foo+", "foo+0x", "foo+12/0x4", "foo+0xzz/0x10", "foo+0x1/0x", "foo+0x1/0x2 junk",
                "foo+0x1/0x2 [", "foo+0x1/0x2 []", "[leaky]", "age=5", "CPU:", "foo+0x11111111111111111/0x1",
                "<TASK>",
        };
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
                ck_assert_msg(stackdump_parse_symbol(bad[i], strlen(bad[i]), &s) == -EINVAL, "accepted '%s'", bad[i]);
}
END_TEST

START_TEST(formats_and_messages) {
        ck_assert_str_eq(stackdump_format_name(STACKDUMP_FORMAT_DMESG), "dmesg");
        ck_assert_str_eq(stackdump_format_name(STACKDUMP_FORMAT_TRACEFS), "tracefs");
        ck_assert_str_eq(stackdump_format_name(STACKDUMP_FORMAT_ALLOC_TRACES), "alloc_traces");
        ck_assert_str_eq(stackdump_format_name(_STACKDUMP_FORMAT_MAX), "unknown");
        ck_assert_ptr_nonnull(strstr(stackdump_error_message(-E2BIG), "too long"));
        ck_assert_ptr_nonnull(strstr(stackdump_error_message(-EBADMSG), "NUL"));
        ck_assert_ptr_nonnull(stackdump_error_message(-EIO));
}
END_TEST

/* ---- limits ---- */

START_TEST(limits_empty_and_no_stacks) {
        struct seen *v = parse_text("", 0);
        ck_assert_uint_eq(v->n, 0);
        free(v);
        static const char text[] = "just a log\nwith lines\n\n[   1.0] hello\nCPU: 1 PID: 2 Comm: x Not tainted 1.2.3 #1\n";
        v = parse_text(text, sizeof text - 1);
        ck_assert_uint_eq(v->n, 0);
        ck_assert_uint_eq(v->n_errors, 0);
        free(v);
        /* "Call Trace:" with nothing after it is no stack. */
        v = parse_text("Call Trace:\n", 12);
        ck_assert_uint_eq(v->n, 0);
        free(v);
}
END_TEST

START_TEST(limits_truncated) {
        /* Cut in the middle of a frame line, with no final newline. */
        size_t len;
        char *buf = testutil_read_fixture("seed-3.18-mips/call_traces.txt", &len);
        const char *cut = strstr(buf, "[<80034a1c>] irq_exit");
        ck_assert_ptr_nonnull(cut);
        size_t n = (size_t) (cut - buf) + 6; /* "[<8003" */
        struct seen *v = parse_text(buf, n);
        ck_assert_uint_eq(v->n, 1);
        ck_assert_uint_eq(v->n_frames[0], 10); /* the half line is no frame */
        free(v);
        n = (size_t) (cut - buf) + 21;         /* "...] irq_exit" without "+0x..": bracketed frames need no offset */
        v = parse_text(buf, n);
        ck_assert_uint_eq(v->n, 1);
        ck_assert_uint_eq(v->n_frames[0], 11);
        free(v);
        free(buf);
}
END_TEST

START_TEST(limits_overlong_lines) {
        size_t big = STACKDUMP_LINE_MAX + 100;
        char *buf = malloc(big + 200);
        size_t len = 0;
        len += (size_t) sprintf(buf + len, "Call Trace:\n func_a+0x1/0x2\n");
        memset(buf + len, 'x', big);
        len += big;
        buf[len++] = '\n';
        len += (size_t) sprintf(buf + len, "Call Trace:\n func_b+0x1/0x2\n");
        for (int pass = 0; pass < 2; pass++) {
                struct seen *v = pass == 0 ? parse_text(buf, len) : parse_chunked(buf, len, 1000);
                ck_assert_uint_eq(v->n_errors, 1);
                ck_assert_uint_eq(v->error_lines[0], 3);
                ck_assert_int_eq(v->errors[0], -E2BIG);
                ck_assert_uint_eq(v->n, 2);
                ck_assert_str_eq(v->sig[0], "func_a");
                ck_assert_str_eq(v->sig[1], "func_b");
                ck_assert_uint_eq(v->lines[1], 4);
                free(v);
        }
        /* Exactly at the limit is fine. */
        len = 0;
        len += (size_t) sprintf(buf + len, "Call Trace:\n");
        memset(buf + len, ' ', STACKDUMP_LINE_MAX);
        memcpy(buf + len + STACKDUMP_LINE_MAX - 12, "f+0x1/0x2   ", 12);
        len += STACKDUMP_LINE_MAX;
        buf[len++] = '\n';
        struct seen *v = parse_chunked(buf, len, 3);
        ck_assert_uint_eq(v->n_errors, 0);
        ck_assert_uint_eq(v->n, 1);
        free(v);
        /* And with a CRLF ending, split across feeds. */
        buf[len - 1] = '\r';
        buf[len++] = '\n';
        v = parse_chunked(buf, len, 1000);
        ck_assert_uint_eq(v->n_errors, 0);
        ck_assert_uint_eq(v->n, 1);
        free(v);
        /* An over-long last line without a newline. */
        memset(buf, 'y', big);
        v = parse_chunked(buf, big, 100);
        ck_assert_uint_eq(v->n_errors, 1);
        ck_assert_uint_eq(v->error_lines[0], 1);
        free(v);
        free(buf);
}
END_TEST

START_TEST(limits_binary_garbage) {
        size_t len;
        char *buf = testutil_read_fixture("synthetic/garbage.bin", &len);
        struct seen *v = parse_text(buf, len);
        free(v);
        v = parse_chunked(buf, len, 3);
        free(v);
        free(buf);

        /* A NUL inside a frame line: reported, skipped, and the stack ends there. */
        static const char text[] = "Call Trace:\n f+0x1/0x2\n g+0x1\0/0x2\n h+0x1/0x2\n";
        v = parse_text(text, sizeof text - 1);
        ck_assert_uint_eq(v->n_errors, 1);
        ck_assert_int_eq(v->errors[0], -EBADMSG);
        ck_assert_uint_eq(v->error_lines[0], 3);
        ck_assert_uint_eq(v->n, 1);
        ck_assert_str_eq(v->sig[0], "f");
        free(v);

        /* Pseudo-random bytes with many newlines, markers and prefixes mixed in. */
        uint32_t x = 12345;
        static const char *const bits[] = {
                "Call Trace:\n", " <TASK>\n", "</TASK>\n", " => f\n", "[<8001>] f+0x1/0x2\n", "CPU: 1 PID: 2 Comm: c\n",
                "TRACE k alloc 0x1 inuse=1\n", "   12 f+0x1/0x2 age=1 pid=1 cpus=0\n", " ? g+0x1/0x2\n",
                "x-1 [000] .... 1.0: <stack trace>\n", "\n", "[   1.000000] ", "<4>", "6,1,2,-;", "kernel: ",
        };
        char *junk = malloc(1 << 16);
        size_t jl = 0;
        while (jl < (1 << 16) - 64) {
                x = x * 1103515245 + 12345;
                if ((x >> 16) % 3 == 0) {
                        const char *b = bits[(x >> 8) % (sizeof bits / sizeof bits[0])];
                        memcpy(junk + jl, b, strlen(b));
                        jl += strlen(b);
                } else
                        junk[jl++] = (char) (x >> 24);
        }
        v = parse_chunked(junk, jl, 17);
        for (size_t i = 0; i < v->n; i++)
                ck_assert_uint_le(v->n_frames[i], STACKDUMP_FRAMES_MAX);
        free(v);
        free(junk);
}
END_TEST

START_TEST(limits_too_many_frames) {
        size_t cap = 64 + 300 * 32;
        char *buf = malloc(cap);
        size_t len = (size_t) sprintf(buf, "Call Trace:\n");
        for (int i = 0; i < 300; i++)
                len += (size_t) sprintf(buf + len, " f%d+0x1/0x2\n", i);
        struct seen *v = parse_text(buf, len);
        ck_assert_uint_eq(v->n, 1);
        ck_assert_uint_eq(v->n_frames[0], STACKDUMP_FRAMES_MAX);
        ck_assert_uint_eq(v->dropped[0], 300 - STACKDUMP_FRAMES_MAX);
        free(v);
        free(buf);
}
END_TEST

START_TEST(limits_stale_context) {
        /* A header more than STACKDUMP_CONTEXT_LINES_MAX lines before a trace
         * does not describe it. */
        size_t cap = 200 + (STACKDUMP_CONTEXT_LINES_MAX + 10) * 8;
        char *buf = malloc(cap);
        size_t len = (size_t) sprintf(buf, "CPU: 2 PID: 7 Comm: old Not tainted 5.10.0 #1\n");
        for (int i = 0; i < STACKDUMP_CONTEXT_LINES_MAX + 5; i++)
                len += (size_t) sprintf(buf + len, "noise\n");
        len += (size_t) sprintf(buf + len, "Call Trace:\n f+0x1/0x2\n");
        struct seen *v = parse_text(buf, len);
        ck_assert_uint_eq(v->n, 1);
        ck_assert(!(v->ctx[0].have & STACKDUMP_HAVE_COMM));
        ck_assert_uint_eq(v->lines[0], (uint64_t) STACKDUMP_CONTEXT_LINES_MAX + 7);
        free(v);
        free(buf);
}
END_TEST

START_TEST(limits_callback_stops) {
        size_t len;
        char *buf = testutil_read_fixture("seed-3.18-mips/call_traces.txt", &len);
        struct seen *v = calloc(1, sizeof *v);
        v->stop_after = 2;
        struct stackdump_parser *p;
        ck_assert_int_eq(stackdump_parser_new(collect, NULL, v, &p), 0);
        ck_assert_int_eq(stackdump_parser_feed(p, buf, len), -ECANCELED);
        ck_assert_int_eq(stackdump_parser_feed(p, buf, len), -ECANCELED);
        ck_assert_int_eq(stackdump_parser_finish(p), -ECANCELED);
        ck_assert_uint_eq(v->n, 2);
        ck_assert_uint_gt(stackdump_parser_lines(p), 0);
        ck_assert_uint_eq(stackdump_parser_errors(p), 0);
        stackdump_parser_free(p);
        stackdump_parser_free(NULL);
        ck_assert_int_eq(stackdump_parser_new(NULL, NULL, NULL, &p), -EINVAL);

        /* Feeding after finish is refused. */
        v->stop_after = 0;
        v->n = 0;
        ck_assert_int_eq(stackdump_parser_new(collect, NULL, v, &p), 0);
        ck_assert_int_eq(stackdump_parser_feed(p, buf, len), 0);
        ck_assert_int_eq(stackdump_parser_finish(p), 0);
        ck_assert_uint_eq(stackdump_parser_lines(p), 68);
        ck_assert_int_eq(stackdump_parser_feed(p, buf, len), -EINVAL);
        stackdump_parser_free(p);
        free(v);
        free(buf);
}
END_TEST

static Suite *stackdump_suite(void) {
        Suite *s = suite_create("stackdump");
        TCase *tc = tcase_create("formats");
        tcase_add_test(tc, seed_call_traces);
        tcase_add_test(tc, linux_6_18_hung_task_all_prefix_styles);
        tcase_add_test(tc, linux_6_18_tracefs);
        tcase_add_test(tc, journal_with_irq_and_registers);
        tcase_add_test(tc, slub_trace_records);
        tcase_add_test(tc, zero_count_not_a_stack);
        tcase_add_test(tc, alloc_traces_entries);
        tcase_add_test(tc, other_architectures);
        tcase_add_test(tc, streaming_matches_whole);
        tcase_add_test(tc, mixed_formats_in_one_input);
        tcase_add_test(tc, symbols);
        tcase_add_test(tc, formats_and_messages);
        suite_add_tcase(s, tc);
        tc = tcase_create("limits");
        tcase_add_test(tc, limits_empty_and_no_stacks);
        tcase_add_test(tc, limits_truncated);
        tcase_add_test(tc, limits_overlong_lines);
        tcase_add_test(tc, limits_binary_garbage);
        tcase_add_test(tc, limits_too_many_frames);
        tcase_add_test(tc, limits_stale_context);
        tcase_add_test(tc, limits_callback_stops);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(stackdump_suite());
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
