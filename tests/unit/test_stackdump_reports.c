/* The stack dump parser on the reports people paste: kmemleak, symbolized
 * (syzbot, decode_stacktrace.sh) and ARM32 traces, SLUB object reports,
 * KASAN, page_owner and page_owner_sort, and malformed console text
 * (wrapped, interleaved, dropped messages, truncated). Fixtures are written
 * from the kernel's published formats: tests/fixtures/reports/ and
 * tests/fixtures/malformed/. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stacks/stackdump.h"
#include "testutil.h"

#define MAX_STACKS 64
#define SIG_MAX 4096

struct seen {
        size_t n;
        struct stackdump_stack st[MAX_STACKS];  /* frames pointer not kept */
        char sig[MAX_STACKS][SIG_MAX];          /* "fn;fn" innermost first; "?fn" unreliable, "fn!" inlined */
        char raw0[MAX_STACKS][64];              /* raw name of the first frame that has one */
        char src0[MAX_STACKS][96];              /* source of the first frame that has one */
        char mod[MAX_STACKS][64];               /* module of the first frame that has one */
        size_t n_errors;
        uint64_t error_lines[32];
        int errors[32];
};

static bool starts_with(const char *s, const char *prefix) {
        return strncmp(s, prefix, strlen(prefix)) == 0;
}

static int collect(const struct stackdump_stack *s, void *userdata) {
        struct seen *v = userdata;
        ck_assert_uint_lt(v->n, MAX_STACKS);
        size_t i = v->n++;
        v->st[i] = *s;
        v->st[i].frames = NULL;
        size_t len = 0;
        for (size_t k = 0; k < s->n_frames; k++) {
                const struct stackdump_frame *f = &s->frames[k];
                ck_assert_ptr_nonnull(f->raw);
                ck_assert_ptr_nonnull(f->source);
                int n = snprintf(v->sig[i] + len, SIG_MAX - len, "%s%s%s%s", k ? ";" : "", f->unreliable ? "?" : "",
                                 f->function, f->inlined ? "!" : "");
                if (n > 0 && (size_t) n < SIG_MAX - len)
                        len += (size_t) n;
                if (f->raw[0] && !v->raw0[i][0])
                        snprintf(v->raw0[i], sizeof v->raw0[i], "%s", f->raw);
                if (f->source[0] && !v->src0[i][0])
                        snprintf(v->src0[i], sizeof v->src0[i], "%s", f->source);
                if (f->module[0] && !v->mod[i][0])
                        snprintf(v->mod[i], sizeof v->mod[i], "%s", f->module);
        }
        return 0;
}

static void collect_error(uint64_t line, int error, void *userdata) {
        struct seen *v = userdata;
        if (v->n_errors < 32) {
                v->error_lines[v->n_errors] = line;
                v->errors[v->n_errors] = error;
        }
        v->n_errors++;
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

/* Byte-by-byte feeding gives the same stacks as one buffer. */
static void assert_streaming_same(const char *rel) {
        size_t len;
        char *buf = testutil_read_fixture(rel, &len);
        struct seen *whole = parse_text(buf, len);
        struct seen *bytes = calloc(1, sizeof *bytes);
        struct stackdump_parser *p;
        ck_assert_int_eq(stackdump_parser_new(collect, collect_error, bytes, &p), 0);
        for (size_t off = 0; off < len; off++)
                ck_assert_int_eq(stackdump_parser_feed(p, buf + off, 1), 0);
        ck_assert_int_eq(stackdump_parser_finish(p), 0);
        stackdump_parser_free(p);
        ck_assert_uint_eq(whole->n, bytes->n);
        for (size_t i = 0; i < whole->n; i++) {
                ck_assert_str_eq(whole->sig[i], bytes->sig[i]);
                ck_assert_uint_eq(whole->st[i].line, bytes->st[i].line);
                ck_assert_uint_eq(whole->st[i].role, bytes->st[i].role);
        }
        ck_assert_uint_eq(whole->n_errors, bytes->n_errors);
        free(whole);
        free(bytes);
        free(buf);
}

#define KMEMLEAK_OPEN "kmemleak_alloc;__kmalloc_cache_noprof;leaky_ctx_new;leaky_open;chrdev_open;" \
        "do_dentry_open;path_openat;do_filp_open;do_sys_openat2;__x64_sys_openat;do_syscall_64;" \
        "entry_SYSCALL_64_after_hwframe"

START_TEST(kmemleak_debugfs_6_6) {
        struct seen *v = parse_fixture("reports/kmemleak-6.6-x86_64.txt");
        ck_assert_uint_eq(v->n, 3);
        ck_assert_uint_eq(v->n_errors, 0);
        for (size_t i = 0; i < 3; i++) {
                ck_assert_int_eq(v->st[i].format, STACKDUMP_FORMAT_KMEMLEAK);
                ck_assert_int_eq(v->st[i].role, STACKDUMP_ROLE_ALLOC);
                ck_assert_uint_eq(v->st[i].weight, 1);
        }
        ck_assert_str_eq(v->sig[0], KMEMLEAK_OPEN);
        ck_assert_str_eq(v->sig[1], KMEMLEAK_OPEN);
        ck_assert_uint_eq(v->st[0].line, 1);
        const struct stackdump_context *c = &v->st[0].ctx;
        ck_assert_uint_eq(c->ptr, 0xffff888104c3a280ull);
        ck_assert(c->have & STACKDUMP_HAVE_SIZE);
        ck_assert_uint_eq(c->object_bytes, 64);
        ck_assert_str_eq(c->comm, "modprobe");
        ck_assert_uint_eq(c->pid, 312);
        ck_assert(c->have & STACKDUMP_HAVE_JIFFIES);
        ck_assert_uint_eq(c->jiffies, 4294893008ull);
        ck_assert(!(c->have & STACKDUMP_HAVE_AGE));     /* 6.x prints no age */
        ck_assert_str_eq(v->mod[0], "leaky");
        /* 6.x frames without an address; ".constprop.0" folded, kept raw */
        ck_assert_str_eq(v->sig[2], "kmemleak_alloc;__kmalloc_noprof;leaky_rx_buf_alloc;leaky_refill_work;"
                         "process_one_work;worker_thread;kthread;ret_from_fork;ret_from_fork_asm");
        ck_assert_str_eq(v->raw0[2], "leaky_rx_buf_alloc.constprop.0");
        ck_assert_uint_eq(v->st[2].ctx.object_bytes, 1024);
        free(v);
        assert_streaming_same("reports/kmemleak-6.6-x86_64.txt");
}
END_TEST

START_TEST(kmemleak_hashed_arm_and_dmesg) {
        struct seen *v = parse_fixture("reports/kmemleak-4.19-arm-hashed.txt");
        ck_assert_uint_eq(v->n, 2);
        ck_assert_str_eq(v->sig[0], v->sig[1]);
        ck_assert(strstr(v->sig[0], "kmem_cache_alloc_trace;sta_info_alloc;ieee80211_add_station;") == v->sig[0]);
        ck_assert(strstr(v->sig[0], ";ret_fast_syscall;0xbe9c7a38"));
        ck_assert_str_eq(v->mod[0], "mac80211");
        ck_assert(v->st[0].ctx.have & STACKDUMP_HAVE_AGE);
        ck_assert_uint_eq(v->st[0].ctx.age_msec, 412160);
        ck_assert_uint_eq(v->st[1].ctx.age_msec, 374460);
        ck_assert_uint_eq(v->st[0].ctx.ptr, 0xc3a5e780);
        free(v);

        /* The same report through the console: every line "kmemleak: "-prefixed. */
        v = parse_fixture("reports/kmemleak-5.10-arm64-dmesg.txt");
        ck_assert_uint_eq(v->n, 1);
        ck_assert_int_eq(v->st[0].format, STACKDUMP_FORMAT_KMEMLEAK);
        ck_assert_uint_eq(v->st[0].line, 2);
        ck_assert_str_eq(v->st[0].ctx.comm, "ueventd");
        ck_assert_uint_eq(v->st[0].ctx.object_bytes, 256);
        ck_assert(starts_with(v->sig[0], "__kmalloc;kobject_get_path;"));
        ck_assert(v->st[0].ctx.have & STACKDUMP_HAVE_TIMESTAMP);
        free(v);
}
END_TEST

START_TEST(symbolized_syzbot_kasan) {
        struct seen *v = parse_fixture("reports/kasan-syzbot-6.8-x86_64.txt");
        ck_assert_uint_eq(v->n, 3);
        /* The access: the dmesg Call Trace, inline frames are frames. */
        ck_assert_int_eq(v->st[0].format, STACKDUMP_FORMAT_DMESG);
        ck_assert_int_eq(v->st[0].role, STACKDUMP_ROLE_STACK);
        ck_assert(starts_with(v->sig[0], "__dump_stack!;dump_stack_lvl;print_address_description!;print_report;"));
        ck_assert(strstr(v->sig[0], ";__sock_release!;sock_close;"));
        ck_assert(strstr(v->sig[0], ";entry_SYSCALL_64_after_hwframe"));
        ck_assert_str_eq(v->src0[0], "lib/dump_stack.c:88");
        ck_assert_str_eq(v->st[0].ctx.comm, "syz-executor.3");
        /* Allocated by / Freed by: their own populations. */
        ck_assert_int_eq(v->st[1].format, STACKDUMP_FORMAT_KASAN);
        ck_assert_int_eq(v->st[1].role, STACKDUMP_ROLE_ALLOC);
        ck_assert_uint_eq(v->st[1].ctx.pid, 5118);
        ck_assert_str_eq(v->st[1].ctx.event, "KASAN: slab-use-after-free");
        ck_assert(strstr(v->sig[1], ";kzalloc!;leaky_peer_new;leaky_connect;"));
        ck_assert_int_eq(v->st[2].role, STACKDUMP_ROLE_FREE);
        ck_assert_uint_eq(v->st[2].ctx.pid, 5123);
        ck_assert(strstr(v->sig[2], ";kfree;leaky_peer_put;leaky_release;"));
        /* The "Memory state" hexdump and page lines after them are no stack. */
        ck_assert_uint_eq(v->n_errors, 0);
        free(v);
        assert_streaming_same("reports/kasan-syzbot-6.8-x86_64.txt");
}
END_TEST

START_TEST(symbolized_decode_stacktrace) {
        struct seen *v = parse_fixture("reports/x86-6.1-decode_stacktrace.txt");
        ck_assert_uint_eq(v->n, 1);
        ck_assert_uint_eq(v->n_errors, 0);
        ck_assert_str_eq(v->sig[0], "?__warn;?leaky_rx_refill;?report_bug;__kmalloc_reserve;__alloc_skb;"
                         "__netdev_alloc_skb;leaky_rx_refill;leaky_refill_work;process_one_work;worker_thread;"
                         "?rescuer_thread;kthread;?kthread_complete_and_exit;ret_from_fork");
        ck_assert_str_eq(v->raw0[0], "__kmalloc_reserve.cold");
        ck_assert_str_eq(v->mod[0], "leaky");
        ck_assert_str_eq(v->src0[0], "kernel/panic.c:673");
        free(v);
}
END_TEST

START_TEST(fold_suffixes) {
        static const struct {
                const char *in;
                size_t want;
        } cases[] = {
                { "foo.cold", 3 },              { "foo.isra.0", 3 },    { "foo.constprop.12", 3 },
                { "foo.part.3.cold", 3 },       { "foo.isra.0.cold.7", 3 }, { "foo.lto_priv.0", 3 },
                { "foo.llvm.123456", 3 },       { "foo", 3 },           { "foo.bar", 7 },
                { "foo.1", 5 },                 { ".cold", 5 },         { "trace.part.59", 5 },
        };
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
                ck_assert_msg(stackdump_fold_length(cases[i].in, strlen(cases[i].in)) == cases[i].want, "%s",
                              cases[i].in);
}
END_TEST

START_TEST(arm32_unwinder_and_backtrace) {
        struct seen *v = parse_fixture("reports/arm-5.10-unwind.dmesg");
        ck_assert_uint_eq(v->n, 1);
        ck_assert_str_eq(v->sig[0], "unwind_backtrace;show_stack;dump_stack;__alloc_skb;leaky_rx_refill;leaky_poll;"
                         "net_rx_action;__do_softirq;irq_exit;__handle_domain_irq;__irq_svc;arch_cpu_idle;do_idle;"
                         "cpu_startup_entry;start_kernel");
        ck_assert_str_eq(v->mod[0], "leaky");
        ck_assert_str_eq(v->st[0].ctx.comm, "swapper/0");
        ck_assert_uint_eq(v->st[0].line, 2);
        /* The exception stack words are part of the format, not skipped lines. */
        ck_assert_uint_eq(v->st[0].n_lines_skipped, 0);
        ck_assert_uint_eq(v->n_errors, 0);
        free(v);

        v = parse_fixture("reports/arm-3.4-backtrace.dmesg");
        ck_assert_uint_eq(v->n, 2);
        ck_assert_str_eq(v->sig[0], "dump_backtrace;dump_stack;__alloc_skb;rmnet_rx_refill;process_one_work;"
                         "worker_thread;kthread;do_exit");
        ck_assert_str_eq(v->mod[0], "rmnet");
        /* Without kallsyms: addresses only */
        ck_assert_str_eq(v->sig[1], "0xc0011c70;0xc046bf84;0xc046bf6c;0xc03a4e1c;0xc03a4c74;0xbf0122a8;0xbf012244;"
                         "0xc006b6c8");
        ck_assert_uint_eq(v->n_errors, 0);
        free(v);
        assert_streaming_same("reports/arm-3.4-backtrace.dmesg");
}
END_TEST

START_TEST(slub_object_reports) {
        struct seen *v = parse_fixture("reports/slub-objects-remaining-6.1.txt");
        ck_assert_uint_eq(v->n, 4);
        /* The destroy site is printed first and is not the answer ... */
        ck_assert_int_eq(v->st[0].role, STACKDUMP_ROLE_STACK);
        ck_assert(strstr(v->sig[0], "kmem_cache_destroy;leaky_exit;"));
        /* ... each leaked object's allocation stack is. */
        ck_assert_int_eq(v->st[1].format, STACKDUMP_FORMAT_SLUB_OBJECT);
        ck_assert_int_eq(v->st[1].role, STACKDUMP_ROLE_ALLOC);
        ck_assert_str_eq(v->st[1].ctx.cache, "leaky_peer");
        ck_assert_str_eq(v->st[1].ctx.event, "Objects remaining");
        ck_assert_uint_eq(v->st[1].ctx.ptr, 0xffff8881044b2000ull);
        ck_assert_uint_eq(v->st[1].ctx.pid, 1907);
        ck_assert_uint_eq(v->st[1].ctx.cpu, 1);
        ck_assert(starts_with(v->sig[1], "__slab_alloc;kmem_cache_alloc;leaky_peer_new;leaky_connect;"));
        ck_assert_int_eq(v->st[2].role, STACKDUMP_ROLE_FREE);
        ck_assert(starts_with(v->sig[2], "kmem_cache_free;leaky_peer_put;"));
        ck_assert_int_eq(v->st[3].role, STACKDUMP_ROLE_ALLOC);
        ck_assert_uint_eq(v->st[3].ctx.ptr, 0xffff8881044b2a00ull);
        ck_assert_str_eq(v->sig[1], v->sig[3]);
        free(v);

        /* 3.x: "INFO: Allocated in", tab-indented frames */
        v = parse_fixture("reports/slub-info-3.10-arm.txt");
        ck_assert_uint_eq(v->n, 2);
        ck_assert_int_eq(v->st[0].role, STACKDUMP_ROLE_ALLOC);
        ck_assert_str_eq(v->sig[0], "kmem_cache_alloc_trace;binder_transaction;binder_thread_write;binder_ioctl;"
                         "do_vfs_ioctl;sys_ioctl;ret_fast_syscall");
        ck_assert_str_eq(v->st[0].ctx.cache, "kmalloc-256");
        ck_assert_str_eq(v->st[0].ctx.event, "Poison overwritten");
        ck_assert_int_eq(v->st[1].role, STACKDUMP_ROLE_FREE);
        ck_assert_uint_eq(v->st[1].ctx.pid, 2190);
        free(v);

        /* Without CONFIG_STACKTRACE the track's call site is the stack. */
        static const char bare[] = "INFO: Allocated in leaky_get+0x1c/0x40 [leaky] age=12 cpu=0 pid=7\n"
                                   "INFO: Freed in leaky_put+0x10/0x30 [leaky] age=5 cpu=0 pid=7\n";
        v = parse_text(bare, sizeof bare - 1);
        ck_assert_uint_eq(v->n, 2);
        ck_assert_str_eq(v->sig[0], "leaky_get");
        ck_assert_str_eq(v->sig[1], "leaky_put");
        ck_assert_int_eq(v->st[1].role, STACKDUMP_ROLE_FREE);
        free(v);
}
END_TEST

START_TEST(page_owner_and_sort) {
        struct seen *v = parse_fixture("reports/page_owner-6.1.txt");
        ck_assert_uint_eq(v->n, 3);
        ck_assert_int_eq(v->st[0].format, STACKDUMP_FORMAT_PAGE_OWNER);
        ck_assert_int_eq(v->st[0].role, STACKDUMP_ROLE_ALLOC);
        ck_assert_uint_eq(v->st[0].ctx.pid, 1907);
        ck_assert_str_eq(v->st[0].ctx.comm, "kworker/2:1");
        ck_assert_uint_eq(v->st[0].ctx.timestamp_nsec, 4711203114402ull);
        ck_assert_uint_eq(v->st[2].ctx.page_order, 2);
        ck_assert(starts_with(v->sig[0], "post_alloc_hook;get_page_from_freelist;__alloc_pages;leaky_page_frag_refill;"));
        free(v);

        v = parse_fixture("reports/page_owner_sort-6.1.txt");
        ck_assert_uint_eq(v->n, 3);
        ck_assert_uint_eq(v->st[0].weight, 1843);
        ck_assert_uint_eq(v->st[1].weight, 212);
        ck_assert_uint_eq(v->st[2].weight, 17);
        ck_assert_uint_eq(v->st[0].ctx.pid, 1907);
        ck_assert_uint_eq(v->st[1].ctx.page_order, 2);
        ck_assert_str_eq(v->sig[2], "__alloc_pages_nodemask;alloc_pages_vma;handle_mm_fault;__do_page_fault;"
                         "do_page_fault;page_fault");
        ck_assert_uint_eq(v->n_errors, 0);
        free(v);

        static const char freed[] = "page last allocated via order 0, migratetype Unmovable, gfp_mask 0xcc0(GFP_KERNEL), pid 9, tgid 9 (kswapd0), ts 5 ns\n"
                                    " leaky_alloc+0x1/0x2\n"
                                    "page last free pid 10 tgid 10 stack trace:\n"
                                    " free_unref_page+0x1/0x2\n"
                                    " leaky_free+0x1/0x2\n";
        v = parse_text(freed, sizeof freed - 1);
        ck_assert_uint_eq(v->n, 2);
        ck_assert_int_eq(v->st[0].role, STACKDUMP_ROLE_ALLOC);
        ck_assert_int_eq(v->st[1].role, STACKDUMP_ROLE_FREE);
        ck_assert_uint_eq(v->st[1].ctx.pid, 10);
        free(v);
}
END_TEST

START_TEST(malformed_wrapped_interleaved_dropped_truncated) {
        struct seen *v = parse_fixture("malformed/x86-6.6-wrapped-interleaved.dmesg");
        ck_assert_uint_eq(v->n, 2);
        /* The stack goes on past the wrapped tail ("e]"), the TRACE and hexdump lines. */
        /* The wrapped frame itself (both halves) cannot be read: it is stepped
         * over with the interleaved lines, and the stack goes on. */
        ck_assert_str_eq(v->sig[0], "dump_stack_lvl;__alloc_skb;__ip_append_data;ip_make_skb;"
                         "udp_sendmsg;sock_sendmsg;__sys_sendto;__x64_sys_sendto;do_syscall_64;"
                         "entry_SYSCALL_64_after_hwframe");
        ck_assert_uint_eq(v->st[0].n_lines_skipped, 4);
        ck_assert(v->st[0].incomplete);
        /* Each stepped-over line is reported where it is, and the dropped messages. */
        ck_assert_uint_eq(v->n_errors, 5);
        ck_assert_uint_eq(v->error_lines[0], 7);
        ck_assert_int_eq(v->errors[0], -ENOMSG);
        ck_assert_uint_eq(v->error_lines[1], 8);
        ck_assert_uint_eq(v->error_lines[2], 10);
        ck_assert_uint_eq(v->error_lines[3], 12);
        ck_assert_uint_eq(v->error_lines[4], 14);
        ck_assert_int_eq(v->errors[4], -EPIPE);
        /* The interleaved TRACE record names the next dump, another CPU's. */
        ck_assert_str_eq(v->st[1].ctx.cache, "kmalloc-2k");
        ck_assert_int_eq(v->st[1].role, STACKDUMP_ROLE_ALLOC);
        ck_assert_uint_eq(v->st[1].ctx.cpu, 1);
        /* Truncated at the end: what was there is kept, "? do_sys" is no frame. */
        ck_assert_str_eq(v->sig[1], "dump_stack_lvl;__alloc_skb;__napi_alloc_skb;leaky_poll;__napi_poll;net_rx_action");
        free(v);
        assert_streaming_same("malformed/x86-6.6-wrapped-interleaved.dmesg");
}
END_TEST

START_TEST(wrapped_at_a_space) {
        /* A mail client wraps at a space: the frame stays, its module tail is stepped over. */
        static const char text[] =
                "Call Trace:\n"
                " <TASK>\n"
                " __alloc_skb+0x1a4/0x1b0\n"
                " ? __pfx_leaky_xmit_frag+0x10/0x10\n"
                "[leaky_offload_engine]\n"
                " __ip_append_data+0xa3e/0xfd0\n"
                " </TASK>\n";
        struct seen *v = parse_text(text, sizeof text - 1);
        ck_assert_uint_eq(v->n, 1);
        ck_assert_str_eq(v->sig[0], "__alloc_skb;?__pfx_leaky_xmit_frag;__ip_append_data");
        ck_assert_uint_eq(v->st[0].n_lines_skipped, 1);
        ck_assert_uint_eq(v->n_errors, 1);
        ck_assert_uint_eq(v->error_lines[0], 5);
        free(v);
}
END_TEST

START_TEST(not_frames) {
        /* "=> 0" padding and "..." are not frames; more than STACKDUMP_SKIP_MAX
         * unknown lines in a row end a stack. */
        static const char text[] =
                "          app-12     [001] .....  10.000001: <stack trace>\n"
                " => kmem_cache_alloc_noprof\n"
                " => leaky_get\n"
                " => 0\n"
                " => 0\n"
                "...\n"
                " => leaky_caller\n"
                "Call Trace:\n"
                " leaky_get+0x1/0x2\n"
                "some message\n"
                "another message\n"
                "a third message\n"
                " leaky_get+0x1/0x2\n";
        struct seen *v = parse_text(text, sizeof text - 1);
        ck_assert_uint_eq(v->n, 2);
        ck_assert_str_eq(v->sig[0], "kmem_cache_alloc_noprof;leaky_get;leaky_caller");
        ck_assert_str_eq(v->sig[1], "leaky_get");
        ck_assert_uint_eq(v->st[1].n_lines_skipped, 0);
        ck_assert_uint_eq(v->n_errors, 0);
        free(v);
}
END_TEST

START_TEST(formats_named) {
        for (int f = 0; f < _STACKDUMP_FORMAT_MAX; f++)
                ck_assert_str_ne(stackdump_format_name(f), "unknown");
        ck_assert_str_eq(stackdump_role_name(STACKDUMP_ROLE_ALLOC), "allocation");
        ck_assert_str_eq(stackdump_role_name(STACKDUMP_ROLE_FREE), "free");
        ck_assert(strstr(stackdump_formats_looked_for(), "kmemleak"));
        ck_assert(strstr(stackdump_formats_looked_for(), "page_owner"));
        ck_assert(strstr(stackdump_error_message(-ENOMSG), "stepped over"));
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("stackdump_reports");
        TCase *tc = tcase_create("reports");
        tcase_add_test(tc, kmemleak_debugfs_6_6);
        tcase_add_test(tc, kmemleak_hashed_arm_and_dmesg);
        tcase_add_test(tc, symbolized_syzbot_kasan);
        tcase_add_test(tc, symbolized_decode_stacktrace);
        tcase_add_test(tc, fold_suffixes);
        tcase_add_test(tc, arm32_unwinder_and_backtrace);
        tcase_add_test(tc, slub_object_reports);
        tcase_add_test(tc, page_owner_and_sort);
        tcase_add_test(tc, malformed_wrapped_interleaved_dropped_truncated);
        tcase_add_test(tc, wrapped_at_a_space);
        tcase_add_test(tc, not_frames);
        tcase_add_test(tc, formats_named);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(suite());
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
