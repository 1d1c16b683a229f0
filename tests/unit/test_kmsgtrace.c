#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "stacks/kmsgtrace.h"
#include "capture/kmsgtracer.h"
#include "stacks/pairing.h"
#include "testutil.h"

#define CACHE "kmalloc-8192"

/* A growing text buffer for synthetic logs. */
struct text {
        char *s;
        size_t len;
        size_t allocated;
        uint64_t seq;
        uint64_t usec;
};

static void text_addf(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void text_addf(struct text *t, const char *fmt, ...) {
        va_list ap;
        for (;;) {
                va_start(ap, fmt);
                size_t room = t->allocated - t->len;
                int n = vsnprintf(t->s ? t->s + t->len : NULL, room, fmt, ap);
                va_end(ap);
                ck_assert_int_ge(n, 0);
                if ((size_t) n < room) {
                        t->len += (size_t) n;
                        return;
                }
                t->allocated = t->allocated ? t->allocated * 2 + (size_t) n : 4096 + (size_t) n;
                t->s = realloc(t->s, t->allocated);
                ck_assert_ptr_nonnull(t->s);
        }
}

/* One /dev/kmsg record: "<prio>,<seq>,<usec>,-;<text>\n". */
static void kmsg(struct text *t, int prio, const char *line) {
        t->usec += 37;
        text_addf(t, "%d,%llu,%llu,-;%s\n", prio, (unsigned long long) t->seq++, (unsigned long long) t->usec, line);
}

static const char *const leak_stack[] = {
        "[<80015ad4>] show_stack+0x88/0xa4",
        "[<80948ee8>] dump_stack+0x6c/0x8c",
        "[<8010f2c0>] alloc_debug_processing+0x15c/0x1a4",
        "[<8010f96c>] __slab_alloc.isra.60.constprop.62+0x3e4/0x4b0",
        "[<801103bc>] __kmalloc_track_caller+0xd0/0x2ac",
        "[<8079f940>] __alloc_skb+0x98/0x238",
        "[<807d195c>] skbmgr_alloc_skb4k+0xc8/0x124",
        "[<806baf60>] RTMP_AllocateRxPacketBuffer+0x40/0x1b0",
        "[<805ef068>] pci_get_pkt_dynamic_page_ddone+0x120/0x3bc",
        "[<805ef3d0>] pci_rx_dma_done_handle+0xcc/0x194",
        "[<80033f20>] tasklet_hi_action+0x100/0x1cc",
        "[<8003464c>] __do_softirq+0x1e8/0x308",
};

static const char *const churn_stack[] = {
        "[<80015ad4>] show_stack+0x88/0xa4",
        "[<80948ee8>] dump_stack+0x6c/0x8c",
        "[<8010f2c0>] alloc_debug_processing+0x15c/0x1a4",
        "[<8010f96c>] __slab_alloc.isra.60.constprop.62+0x3e4/0x4b0",
        "[<801103bc>] __kmalloc_track_caller+0xd0/0x2ac",
        "[<8079f940>] __alloc_skb+0x98/0x238",
        "[<807b1a2c>] sock_alloc_send_pskb+0x1d8/0x2f0",
        "[<8087c0f4>] unix_dgram_sendmsg+0x1a8/0x5d4",
        "[<807ae6b8>] sock_sendmsg+0x90/0xb8",
        "[<807b00c8>] SyS_sendto+0xc4/0x11c",
        "[<8000df1c>] syscall_common+0x30/0x54",
};

static const char *const free_stack[] = {
        "[<80015ad4>] show_stack+0x88/0xa4",
        "[<80948ee8>] dump_stack+0x6c/0x8c",
        "[<8010e5f8>] free_debug_processing+0x208/0x28c",
        "[<8010ea24>] __slab_free+0x3c/0x388",
        "[<80110d34>] kfree+0x1a4/0x1b4",
        "[<8079e408>] skb_free_head+0x34/0x48",
        "[<8079ea40>] skb_release_data+0x104/0x114",
        "[<8079eb40>] consume_skb+0x48/0xd4",
        "[<8087b314>] unix_dgram_recvmsg+0x2a0/0x4b8",
        "[<807ae944>] sock_recvmsg+0xa8/0xd0",
        "[<807b0258>] SyS_recvfrom+0xbc/0x12c",
        "[<8000df1c>] syscall_common+0x30/0x54",
};

/* What SLUB's trace() logs for one operation on 3.18 MIPS. */
static void trace_record(struct text *t, const char *cache, bool alloc, uint32_t ptr, int pid, const char *comm,
                         const char *const *stack, size_t n) {
        char line[512];
        snprintf(line, sizeof line, "TRACE %s %s 0x%08x inuse=%d fp=0x%08x", cache, alloc ? "alloc" : "free", ptr,
                 3, ptr + 0x2000);
        kmsg(t, 6, line);
        if (!alloc) {
                for (int i = 0; i < 2; i++) {
                        snprintf(line, sizeof line,
                                 "Object %08x: 6b 6b 6b 6b 6b 6b 6b 6b 6b 6b 6b 6b 6b 6b 6b 6b  kkkkkkkkkkkkkkkk",
                                 ptr + (uint32_t) i * 16);
                        kmsg(t, 3, line);
                }
        }
        snprintf(line, sizeof line, "CPU: 1 PID: %d Comm: %s Tainted: P           O 3.18.21 #9", pid, comm);
        kmsg(t, 4, line);
        kmsg(t, 4, "Stack : 00000000 00000004 00000006 81383900 00000000 00000000 00000000 0000000080ffb812");
        kmsg(t, 4, "        00000041 00000000 00000000 00000000 00000000 80a72e04 80ff5b5c8fc4ddc8 80badce7");
        kmsg(t, 4, "        ...");
        kmsg(t, 4, "Call Trace:");
        for (size_t i = 0; i < n; i++)
                kmsg(t, 4, stack[i]);
        kmsg(t, 4, "");
}

#define N(a) (sizeof(a) / sizeof *(a))

/* 30 leaked skbs, 100 sent and received, one freed that was allocated
 * before the capture, records of another cache, and other subsystems'
 * lines in between. */
static void build_log(struct text *t) {
        t->seq = 5000;
        t->usec = 1000000;
        kmsg(t, 6, "usb 1-1: new high-speed USB device number 2 using ehci-platform");
        trace_record(t, CACHE, false, 0x8e000000, 412, "netd", free_stack, N(free_stack));
        for (uint32_t i = 0; i < 100; i++) {
                trace_record(t, CACHE, true, 0x8f000000 + i * 0x2000, 0, "swapper/1", leak_stack, N(leak_stack));
                if (i % 3 == 0)
                        kmsg(t, 6, "eth0: link up (1000Mbps/Full duplex)");
                if (i < 30)
                        continue;
                /* The leak is the other 70 being freed; make 30 of them stay. */
                trace_record(t, CACHE, false, 0x8f000000 + i * 0x2000, 0, "ksoftirqd/1", free_stack, N(free_stack));
        }
        for (uint32_t i = 0; i < 100; i++) {
                trace_record(t, CACHE, true, 0x90000000 + i * 0x2000, 733, "dnsmasq", churn_stack, N(churn_stack));
                trace_record(t, "kmalloc-64", true, 0x91000000 + i * 64, 733, "dnsmasq", churn_stack,
                             N(churn_stack));
                text_addf(t, " SUBSYSTEM=net\n DEVICE=n2\n");
                trace_record(t, CACHE, false, 0x90000000 + i * 0x2000, 733, "dnsmasq", free_stack, N(free_stack));
        }
}

static struct pairing_result *parse_chunked(const char *buf, size_t len, size_t chunk, struct kmsgtrace_stats *st) {
        struct pairing *p = NULL;
        ck_assert_int_eq(pairing_new(&(struct pairing_options) { .reorder_window_ns = 0 }, &p), 0);
        struct kmsgtrace *k = NULL;
        ck_assert_int_eq(kmsgtrace_new(&(struct kmsgtrace_options) { .cache_name = CACHE, .object_size = 8192 }, p,
                                       &k),
                         0);
        for (size_t off = 0; off < len; off += chunk)
                ck_assert_int_eq(kmsgtrace_feed(k, buf + off, off + chunk <= len ? chunk : len - off), 0);
        ck_assert_int_eq(kmsgtrace_finish(k), 0);
        kmsgtrace_get_stats(k, st);
        struct pairing_result *r = NULL;
        ck_assert_int_eq(pairing_finish(p, 0, NULL, NULL, &r), 0);
        kmsgtrace_free(k);
        pairing_free(p);
        return r;
}

static bool frames_have(char *const *frames, size_t n, const char *frame) {
        for (size_t i = 0; i < n; i++)
                if (strcmp(frames[i], frame) == 0)
                        return true;
        return false;
}

static bool has_frame(const struct pairing_stack *s, const char *frame) {
        return frames_have(s->frames, s->n_frames, frame);
}

START_TEST(test_ranks_leak_first) {
        struct text t = {};
        build_log(&t);
        static const size_t chunks[] = { 1, 7, 4096, SIZE_MAX };
        for (size_t c = 0; c < N(chunks); c++) {
                struct kmsgtrace_stats st;
                struct pairing_result *r = parse_chunked(t.s, t.len, chunks[c] == SIZE_MAX ? t.len : chunks[c], &st);
                ck_assert_uint_eq(st.records, 100 + 70 + 200 + 1);
                ck_assert_uint_eq(st.other_cache, 100);
                ck_assert_uint_eq(st.events, st.records);
                ck_assert_uint_eq(st.stackless, 0);
                ck_assert_uint_eq(st.seq_gaps, 0);
                ck_assert_uint_eq(st.malformed, 0);
                ck_assert_uint_eq(st.foreign_lines, 35);

                ck_assert_uint_eq(r->n_stacks, 2);
                const struct pairing_stack *top = &r->stacks[0];
                ck_assert_uint_eq(top->allocs, 100);
                ck_assert_uint_eq(top->frees, 70);
                ck_assert_uint_eq(top->outstanding, 30);
                ck_assert_uint_eq(top->bytes_outstanding, 30 * 8192);
                ck_assert(has_frame(top, "__alloc_skb+0x98/0x238"));
                ck_assert(has_frame(top, "skbmgr_alloc_skb4k+0xc8/0x124"));
                /* The printing frames are gone; the allocator's stay. */
                ck_assert_str_eq(top->frames[0], "alloc_debug_processing+0x15c/0x1a4");
                ck_assert_uint_eq(top->n_frames, N(leak_stack) - 2);
                ck_assert_int_eq(top->pids[0], 0);
                ck_assert(top->oldest_age_s > 0.0);

                const struct pairing_stack *churn = &r->stacks[1];
                ck_assert(has_frame(churn, "unix_dgram_sendmsg+0x1a8/0x5d4"));
                ck_assert_uint_eq(churn->allocs, 100);
                ck_assert_uint_eq(churn->outstanding, 0);
                ck_assert_int_eq(churn->pids[0], 733);

                ck_assert_uint_eq(r->unmatched_frees, 1);
                ck_assert_uint_eq(r->n_free_sites, 1);
                ck_assert_uint_eq(r->free_sites[0].frees, 170);
                ck_assert(frames_have(r->free_sites[0].frames, r->free_sites[0].n_frames, "consume_skb+0x48/0xd4"));
                pairing_result_free(r);
        }
        free(t.s);
}
END_TEST

START_TEST(test_console_formats) {
        /* dmesg text (no kmsg prefix), x86 frames with "?" entries and a
         * <TASK> block, CRLF line ends, hashed pointers. */
        const char *log = "[  100.000001] TRACE " CACHE " alloc 0x00000000deadbeef inuse=1 fp=0x0000000000000000\r\n"
                          "[  100.000002] CPU: 0 PID: 77 Comm: leaky Not tainted 4.19.0 #1\r\n"
                          "[  100.000003] Hardware name: QEMU Standard PC\r\n"
                          "[  100.000004] Call Trace:\r\n"
                          "[  100.000005]  dump_stack+0x5c/0x80\r\n"
                          "[  100.000006]  ? some_stale+0x1/0x2\r\n"
                          "[  100.000007]  alloc_debug_processing+0x63/0x120\r\n"
                          "[  100.000008]  my_driver_open+0x20/0x90 [mydrv]\r\n"
                          "[  100.000009]  do_sys_open+0x1b0/0x2c0\r\n"
                          "[  100.000010] TRACE " CACHE " alloc 0x00000000cafef00d inuse=2 fp=0x0000000000000000\r\n"
                          "[  100.000011] CPU: 0 PID: 77 Comm: leaky Not tainted 4.19.0 #1\r\n"
                          "[  100.000012] Call Trace:\r\n"
                          "[  100.000013]  <TASK>\r\n"
                          "[  100.000014]  dump_stack_lvl+0x5c/0x80\r\n"
                          "[  100.000015]  alloc_debug_processing+0x63/0x120\r\n"
                          "[  100.000016]  my_driver_open+0x20/0x90 [mydrv]\r\n"
                          "[  100.000017]  do_sys_open+0x1b0/0x2c0\r\n"
                          "[  100.000018]  </TASK>\r\n"
                          "[  100.000019]  unrelated_frame+0x1/0x2\r\n"
                          "[  101.500000] TRACE " CACHE " alloc 0x0000000012345678 inuse=3 fp=0x0\r\n";
        struct kmsgtrace_stats st;
        struct pairing_result *r = parse_chunked(log, strlen(log), 5, &st);
        ck_assert_uint_eq(st.records, 3);
        ck_assert_uint_eq(st.stackless, 1); /* the last one, cut off */
        ck_assert_uint_eq(r->n_stacks, 2);
        ck_assert_uint_eq(r->stacks[0].allocs, 2);
        ck_assert_uint_eq(r->stacks[0].n_frames, 3);
        ck_assert_str_eq(r->stacks[0].frames[1], "my_driver_open+0x20/0x90");
        ck_assert_int_eq(r->stacks[0].pids[0], 77);
        ck_assert_uint_eq(r->stacks[1].n_frames, 0);
        ck_assert_uint_eq(r->first_ts_ns, 100000001000ULL);
        ck_assert_uint_eq(r->last_ts_ns, 101500000000ULL);
        pairing_result_free(r);
}
END_TEST

START_TEST(test_limits) {
        struct text t = {};
        t.seq = 10;
        t.usec = 5;
        kmsg(&t, 6, "TRACE " CACHE " alloc");                         /* truncated record line */
        kmsg(&t, 6, "TRACE " CACHE " realloc 0x1000 inuse=1 fp=0x0"); /* unknown operation */
        kmsg(&t, 6, "TRACE " CACHE " alloc 0xnothex inuse=1 fp=0x0");
        kmsg(&t, 6, "TRACE " CACHE " alloc 0x12345678123456789 inuse=1 fp=0x0"); /* too long */
        t.seq += 5;                                                     /* five records lost */
        kmsg(&t, 6, "TRACE " CACHE " alloc 0x2000 inuse=1 fp=0x0");
        kmsg(&t, 4, "Call Trace:");
        kmsg(&t, 4, "[<80015ad4>] foo+0x88/0xa4");
        /* Binary garbage, an over-long line, a line with a NUL. */
        text_addf(&t, "\x01\x02\xff\xfe garbage \x7f\n");
        char *longline = malloc(KMSGTRACE_LINE_MAX * 2);
        memset(longline, 'A', KMSGTRACE_LINE_MAX * 2 - 1);
        longline[KMSGTRACE_LINE_MAX * 2 - 1] = '\0';
        text_addf(&t, "%s\n", longline);
        free(longline);
        size_t nul_at = t.len + 3;
        text_addf(&t, "abcXdef\n");
        t.s[nul_at] = '\0';
        kmsg(&t, 4, "[<80015ad8>] bar+0x8/0xa4");
        text_addf(&t, "6,999,1,-;TRACE " CACHE " free 0x2000 inuse=0 fp=0x0"); /* no newline at the end */

        struct kmsgtrace_stats st;
        struct pairing_result *r = parse_chunked(t.s, t.len, 3, &st);
        ck_assert_uint_eq(st.malformed, 4 + 2);
        ck_assert_uint_eq(st.records, 2);
        ck_assert_uint_eq(st.seq_gaps, 5 + (999 - 22 - 1));
        ck_assert_uint_eq(r->matched_frees, 1);
        ck_assert_uint_eq(r->n_stacks, 1);
        ck_assert_uint_eq(r->stacks[0].n_frames, 2);
        ck_assert_str_eq(r->stacks[0].frames[1], "bar+0x8/0xa4");
        pairing_result_free(r);
        free(t.s);

        /* Empty input, and bad arguments. */
        r = parse_chunked("", 0, 1, &st);
        ck_assert_uint_eq(st.lines, 0);
        ck_assert_uint_eq(r->n_stacks, 0);
        pairing_result_free(r);
        struct pairing *p = NULL;
        struct kmsgtrace *k = NULL;
        ck_assert_int_eq(pairing_new(NULL, &p), 0);
        ck_assert_int_eq(kmsgtrace_new(&(struct kmsgtrace_options) { .cache_name = "" }, p, &k), -EINVAL);
        ck_assert_int_eq(kmsgtrace_new(&(struct kmsgtrace_options) { .cache_name = NULL }, p, &k), -EINVAL);
        ck_assert_int_eq(kmsgtrace_new(&(struct kmsgtrace_options) { .cache_name = "x" }, NULL, &k), -EINVAL);
        ck_assert_int_eq(kmsgtrace_feed(NULL, "x", 1), -EINVAL);
        pairing_free(p);
        kmsgtrace_free(NULL);
}
END_TEST

START_TEST(test_memory_bound) {
        struct text t = {};
        for (uint32_t i = 0; i < 20000; i++)
                trace_record(&t, CACHE, true, 0x8f000000 + i * 16, 1, "x", leak_stack, N(leak_stack));
        struct pairing *p = NULL;
        ck_assert_int_eq(pairing_new(&(struct pairing_options) { .max_memory_bytes = 64 * 1024 }, &p), 0);
        struct kmsgtrace *k = NULL;
        ck_assert_int_eq(kmsgtrace_new(&(struct kmsgtrace_options) { .cache_name = CACHE }, p, &k), 0);
        ck_assert_int_eq(kmsgtrace_feed(k, t.s, t.len), -ENOBUFS);
        ck_assert_int_eq(kmsgtrace_finish(k), -ENOBUFS);
        struct kmsgtrace_stats st;
        kmsgtrace_get_stats(k, &st);
        ck_assert_uint_eq(st.records, 20000);
        ck_assert_uint_gt(st.refused, 0);
        ck_assert_uint_eq(st.events + st.refused, 20000);
        ck_assert(pairing_truncated(p));
        kmsgtrace_free(k);
        pairing_free(p);
        free(t.s);
}
END_TEST

/* ---- the daemon side, on a fake sysfs tree and a file for /dev/kmsg ---- */

static char *read_file(const char *dir, const char *rel) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, rel);
        FILE *f = fopen(path, "re");
        ck_assert_ptr_nonnull(f);
        char *buf = calloc(1, 256);
        ck_assert_ptr_nonnull(buf);
        size_t n = fread(buf, 1, 255, f);
        buf[n] = '\0';
        fclose(f);
        return buf;
}

static void append_file(const char *dir, const char *rel, const char *data, size_t len) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, rel);
        int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(write(fd, data, len), (ssize_t) len);
        close(fd);
}

static void fake_tree(char **ret_dir, char *sys, size_t sys_size, char *kmsg_path, size_t kmsg_size) {
        char *dir = testutil_mkdtemp();
        testutil_write_file(dir, "sys/kernel/slab/" CACHE "/trace", "0\n", 2);
        testutil_write_file(dir, "sys/kernel/slab/" CACHE "/object_size", "8192\n", 5);
        /* Old records already in the log must not be read. */
        struct text old = {};
        trace_record(&old, CACHE, true, 0x70000000, 5, "old", leak_stack, N(leak_stack));
        testutil_write_file(dir, "kmsg", old.s, old.len);
        free(old.s);
        snprintf(sys, sys_size, "%s/sys", dir);
        snprintf(kmsg_path, kmsg_size, "%s/kmsg", dir);
        *ret_dir = dir;
}

START_TEST(test_tracer_fake_tree) {
        char *dir, sys[4096], kmsg_path[4096];
        fake_tree(&dir, sys, sizeof sys, kmsg_path, sizeof kmsg_path);
        struct kmsgtracer_options o = {
                .sys_dir = sys, .state_dir = dir, .dev_kmsg = kmsg_path, .cache_name = CACHE, .object_size = 8192,
        };
        struct kmsgtracer *k = NULL;
        ck_assert_int_eq(kmsgtracer_start(&o, &k), 0);
        ck_assert_int_ge(kmsgtracer_fd(k), 0);
        char *v = read_file(sys, "kernel/slab/" CACHE "/trace");
        ck_assert_int_eq(v[0], '1');
        free(v);

        struct text t = {};
        build_log(&t);
        /* Arrives in two parts, the first ending mid-line. */
        size_t half = t.len / 2 + 13;
        append_file(dir, "kmsg", t.s, half);
        ck_assert_int_eq(kmsgtracer_poll(k), (int) half);
        append_file(dir, "kmsg", t.s + half, t.len - half);
        ck_assert_int_eq(kmsgtracer_poll(k), (int) (t.len - half));
        ck_assert_int_eq(kmsgtracer_poll(k), 0);

        struct pairing_result *r = NULL;
        ck_assert_int_eq(kmsgtracer_stop(k, &r), 0);
        v = read_file(sys, "kernel/slab/" CACHE "/trace");
        ck_assert_int_eq(v[0], '0');
        free(v);
        struct kmsgtrace_stats st;
        kmsgtracer_get_stats(k, &st);
        ck_assert_uint_eq(st.records, 371);
        ck_assert_uint_eq(r->lost_events, 0);
        ck_assert_uint_eq(r->stacks[0].outstanding, 30);
        ck_assert(has_frame(&r->stacks[0], "__alloc_skb+0x98/0x238"));
        ck_assert_uint_eq(r->stacks[1].outstanding, 0);
        ck_assert_int_eq(kmsgtracer_poll(k), -EINVAL);
        pairing_result_free(r);
        kmsgtracer_free(k);
        free(t.s);
        testutil_rmtree(dir);
        free(dir);
}
END_TEST

START_TEST(test_tracer_restores_on_free) {
        char *dir, sys[4096], kmsg_path[4096];
        fake_tree(&dir, sys, sizeof sys, kmsg_path, sizeof kmsg_path);
        struct kmsgtracer_options o = { .sys_dir = sys, .state_dir = dir, .dev_kmsg = kmsg_path, .cache_name = CACHE };
        struct kmsgtracer *k = NULL;
        ck_assert_int_eq(kmsgtracer_start(&o, &k), 0);
        kmsgtracer_free(k); /* as on SIGTERM mid-capture */
        char *v = read_file(sys, "kernel/slab/" CACHE "/trace");
        ck_assert_int_eq(v[0], '0');
        free(v);
        kmsgtracer_free(NULL);
        testutil_rmtree(dir);
        free(dir);
}
END_TEST

START_TEST(test_tracer_errors) {
        char *dir, sys[4096], kmsg_path[4096];
        fake_tree(&dir, sys, sizeof sys, kmsg_path, sizeof kmsg_path);
        struct kmsgtracer *k = NULL;

        /* A cache that is not there (or vanished). */
        struct kmsgtracer_options o = { .sys_dir = sys, .state_dir = dir, .dev_kmsg = kmsg_path, .cache_name = "nosuch" };
        ck_assert_int_eq(kmsgtracer_start(&o, &k), -ENOENT);
        /* No log: the trace file is not touched. */
        o = (struct kmsgtracer_options) { .sys_dir = sys, .state_dir = dir, .dev_kmsg = "/nonexistent/kmsg", .cache_name = CACHE };
        ck_assert_int_eq(kmsgtracer_start(&o, &k), -ENOENT);
        char *v = read_file(sys, "kernel/slab/" CACHE "/trace");
        ck_assert_int_eq(v[0], '0');
        free(v);
        /* A trace attribute that cannot be written (here: not a file). */
        testutil_write_file(dir, "sys/kernel/slab/ro/trace/x", "", 0);
        o = (struct kmsgtracer_options) { .sys_dir = sys, .state_dir = dir, .dev_kmsg = kmsg_path, .cache_name = "ro" };
        ck_assert_int_eq(kmsgtracer_start(&o, &k), -EISDIR);
        /* Names that would leave the slab directory. */
        static const char *const bad[] = { "", "..", ".", "a/b", NULL };
        for (size_t i = 0; i < N(bad); i++) {
                o = (struct kmsgtracer_options) { .sys_dir = sys, .state_dir = dir, .dev_kmsg = kmsg_path, .cache_name = bad[i] };
                ck_assert_int_eq(kmsgtracer_start(&o, &k), -EINVAL);
        }
        ck_assert_int_eq(kmsgtracer_start(NULL, &k), -EINVAL);
        testutil_rmtree(dir);
        free(dir);
}
END_TEST

static Suite *kmsgtrace_suite(void) {
        Suite *s = suite_create("kmsgtrace");
        TCase *tc = tcase_create("parse");
        tcase_add_test(tc, test_ranks_leak_first);
        tcase_add_test(tc, test_console_formats);
        suite_add_tcase(s, tc);
        TCase *limits = tcase_create("limits");
        tcase_add_test(limits, test_limits);
        tcase_add_test(limits, test_memory_bound);
        suite_add_tcase(s, limits);
        TCase *daemon = tcase_create("kmsgtracer");
        tcase_add_test(daemon, test_tracer_fake_tree);
        tcase_add_test(daemon, test_tracer_restores_on_free);
        tcase_add_test(daemon, test_tracer_errors);
        suite_add_tcase(s, daemon);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(kmsgtrace_suite());
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
