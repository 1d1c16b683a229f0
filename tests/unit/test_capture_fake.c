/* The capture manager on fake trees: the seed's 3.18 device (sysfs
 * alloc_calls/free_calls), a 5.19+ kernel (debugfs alloc_traces with
 * stacks), and the ways a capture goes wrong. */
#include <check.h>
#include <errno.h>
#include <ev.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "capture/bundle.h"
#include "capture/capture.h"
#include "base/config.h"
#include "capture/probe.h"
#include "testutil.h"

/* What the done callback saw, copied out. */
struct seen {
        unsigned calls;
        int error;
        int bundle_error;
        char id[256];
        char dir[8192];
        char method[256];
        char stop_reason[256];
        char top_call_site[256];
        char top_stack[4096];
        char suspect[256];
        char slabinfo_name[256];
        char message[2048];
        char bundle_error_path[8192];
        uint64_t top_outstanding;
        size_t n_call_sites;
        size_t n_stacks;
        size_t n_warnings;
        char advice[2048];
        char warnings[8192];
        int64_t top_delta;
        bool stop_loop;
        bool interrupted;
        unsigned interrupted_calls;
};

static char *root;
static struct ev_loop *loop;

static void put(const char *rel, const char *text) {
        testutil_write_file(root, rel, text, strlen(text));
}

static void put_fixture(const char *rel, const char *fixture) {
        size_t len;
        char *data = testutil_read_fixture(fixture, &len);
        testutil_write_file(root, rel, data, len);
        free(data);
}

static void setup(void) {
        root = testutil_mkdtemp();
        loop = ev_loop_new(EVFLAG_AUTO);
        ck_assert_ptr_nonnull(loop);
}

static void teardown(void) {
        char state[4096];
        snprintf(state, sizeof state, "%s/state", root);
        (void) umount2(state, MNT_DETACH);
        ev_loop_destroy(loop);
        testutil_rmtree(root);
        free(root);
        root = NULL;
}

static void config_for_root(struct config *c) {
        config_defaults(c);
        snprintf(c->paths.proc, sizeof c->paths.proc, "%s/proc", root);
        snprintf(c->paths.sys, sizeof c->paths.sys, "%s/sys", root);
        snprintf(c->paths.tracefs, sizeof c->paths.tracefs, "%s/sys/kernel/tracing", root);
        snprintf(c->paths.debugfs, sizeof c->paths.debugfs, "%s/sys/kernel/debug", root);
        snprintf(c->paths.dev_kmsg, sizeof c->paths.dev_kmsg, "%s/dev/kmsg", root);
        snprintf(c->paths.state_dir, sizeof c->paths.state_dir, "%s/state", root);
        c->capture.enabled = true;
        c->capture.duration_usec = 300000;
        c->capture.callsites_interval_usec = 50000;
        c->capture.cooldown_usec = 3600ULL * 1000000ULL;
        c->capture.max_concurrent = 1;
        c->capture.mount_tracefs = false;
}

static void on_done(const struct capture_result *r, void *userdata) {
        struct seen *s = userdata;
        const struct report *rep = r->report;

        s->calls++;
        s->error = r->error;
        s->bundle_error = r->bundle_error;
        snprintf(s->id, sizeof s->id, "%s", r->id);
        snprintf(s->dir, sizeof s->dir, "%s", r->dir);
        snprintf(s->method, sizeof s->method, "%s", r->method);
        snprintf(s->stop_reason, sizeof s->stop_reason, "%s", r->stop_reason);
        snprintf(s->top_call_site, sizeof s->top_call_site, "%s", r->top_call_site);
        snprintf(s->top_stack, sizeof s->top_stack, "%s", r->top_stack);
        snprintf(s->suspect, sizeof s->suspect, "%s", r->suspect);
        snprintf(s->slabinfo_name, sizeof s->slabinfo_name, "%s", r->slabinfo_name);
        snprintf(s->message, sizeof s->message, "%s", r->message);
        snprintf(s->bundle_error_path, sizeof s->bundle_error_path, "%s", r->bundle_error_path);
        s->top_outstanding = r->top_outstanding;
        s->interrupted = r->interrupted;
        if (r->interrupted) {
                /* Finished from a checkpoint at start: no report in memory. */
                ck_assert_ptr_null(rep);
                s->interrupted_calls++;
                return;
        }
        s->n_call_sites = rep->n_call_sites;
        s->n_stacks = rep->n_stacks;
        s->n_warnings = rep->warnings.n;
        s->top_delta = rep->n_call_sites ? rep->call_sites[0].delta : 0;
        s->advice[0] = '\0';
        for (size_t i = 0; i < rep->advice.n; i++) {
                strncat(s->advice, rep->advice.v[i], sizeof s->advice - strlen(s->advice) - 2);
                strncat(s->advice, "\n", sizeof s->advice - strlen(s->advice) - 1);
        }
        s->warnings[0] = '\0';
        for (size_t i = 0; i < rep->warnings.n; i++) {
                strncat(s->warnings, rep->warnings.v[i], sizeof s->warnings - strlen(s->warnings) - 2);
                strncat(s->warnings, "\n", sizeof s->warnings - strlen(s->warnings) - 1);
        }
        if (s->stop_loop)
                ev_break(loop, EVBREAK_ALL);
}

static struct capture_manager *new_manager(const struct config *c, struct seen *s) {
        struct capture_manager *m = NULL;

        s->stop_loop = true;
        ck_assert_int_eq(capture_manager_new(loop, c, on_done, s, &m), 0);
        return m;
}

/* Run the loop until the done callback breaks it. */
static void run_until_done(struct seen *s, unsigned calls) {
        while (s->calls < calls)
                ev_run(loop, 0);
}

/* The content of @rel without its newline, in a static buffer. */
static const char *read_rel(const char *rel) {
        static char buf[256];
        size_t len;
        char path[4096];
        FILE *f;

        snprintf(path, sizeof path, "%s/%s", root, rel);
        f = fopen(path, "re");
        ck_assert_ptr_nonnull(f);
        len = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[len] = '\0';
        if (len > 0 && buf[len - 1] == '\n')
                buf[len - 1] = '\0';
        return buf;
}

/* Marker files in the state directory. */
static unsigned marker_count(void) {
        char cmd[4096], line[512];
        unsigned n = 0;
        FILE *f;

        snprintf(cmd, sizeof cmd, "ls -A '%s/state' 2>/dev/null", root);
        f = popen(cmd, "r");
        ck_assert_ptr_nonnull(f);
        while (fgets(line, sizeof line, f))
                if (strncmp(line, "trace-on-", 9) == 0)
                        n++;
        pclose(f);
        return n;
}

static bool bundle_has(const char *dir, const char *file) {
        char path[16384];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", dir, file);
        return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* The seed's device: kmalloc-8192 with SLUB debug (store_user) on 3.18. */
static void make_318_tree(void) {
        put("proc/sys/kernel/osrelease", "3.18.21\n");
        put_fixture("proc/slabinfo", "seed-3.18-mips/slabinfo");
        put_fixture("proc/meminfo", "seed-3.18-mips/meminfo");
        put("sys/kernel/slab/kmalloc-8192/object_size", "8192\n");
        put("sys/kernel/slab/kmalloc-8192/slab_size", "8192\n");
        put("sys/kernel/slab/kmalloc-8192/store_user", "1\n");
        put("sys/kernel/slab/kmalloc-8192/trace", "0\n");
        put_fixture("sys/kernel/slab/kmalloc-8192/alloc_calls", "seed-3.18-mips/alloc_calls");
        put_fixture("sys/kernel/slab/kmalloc-8192/free_calls", "seed-3.18-mips/free_calls");
        put("sys/kernel/slab/kmalloc-4096/object_size", "4096\n");
        put("dev/kmsg", "");
}

/* The seed's alloc_calls a while later: __alloc_skb kept growing. */
static const char alloc_calls_later[] =
        "      3 timer_cpu_notify+0x18c/0x1f4 age=412895/412909/412920 pid=1 cpus=0\n"
        "      1 qos_policy_perhost_table_init+0x64/0x100 age=412552 pid=1 cpus=3\n"
        "     15 os_alloc_mem+0x1c/0x34 age=387584/405626/412488 pid=1-1093 cpus=1-3\n"
        "   3291 __alloc_skb+0x98/0x238 age=12/346961/411069 pid=0-1467 cpus=1,3\n"
        "     31 pskb_expand_head+0xa0/0x2b0 age=2161/193241/397156 pid=0-1467 cpus=1\n"
        "      1 ipv4_sysctl_init_net+0xb0/0x11c age=412447 pid=1 cpus=2\n"
        "      1 mac_filter_init+0x38/0x280 age=412551 pid=1 cpus=3\n";

static void append(const char *rel, const char *text) {
        char path[4096];
        FILE *f;
        snprintf(path, sizeof path, "%s/%s", root, rel);
        f = fopen(path, "ae");
        ck_assert_ptr_nonnull(f);
        fputs(text, f);
        fclose(f);
}

/* SLUB TRACE records as a 3.18 MIPS kernel writes them to /dev/kmsg, each
 * line its own record, with other subsystems' lines in between. The
 * seed's __alloc_skb path allocates three objects and frees none; the
 * pskb_expand_head path allocates one and frees it. */
#define SKB_STACK \
        "4,%u,%u,c;Call Trace:\n" \
        "4,%u,%u,c;[<80015ad4>] show_stack+0x88/0xa4\n" \
        "4,%u,%u,c;[<80948ee8>] dump_stack+0x6c/0x8c\n" \
        "4,%u,%u,c;[<800f3c2c>] alloc_debug_processing+0x1a4/0x1c0\n" \
        "4,%u,%u,c;[<8079f940>] __alloc_skb+0x1e8/0x238\n" \
        "4,%u,%u,c;[<807d195c>] skbmgr_alloc_skb4k+0xc8/0x124\n" \
        "4,%u,%u,c;[<806baf60>] RTMP_AllocateRxPacketBuffer+0x40/0x1b0\n" \
        "4,%u,%u,c;[<805ef068>] pci_get_pkt_dynamic_page_ddone+0x120/0x3bc\n"

static void append_kmsg_records(void) {
        static const char *const ptrs[] = { "0x8f4b2000", "0x8f4b4000", "0x8f4b6000" };
        char buf[8192];
        unsigned seq = 1000, ts = 411895000;

        for (size_t i = 0; i < 3; i++) {
                snprintf(buf, sizeof buf,
                         "6,%u,%u,-;TRACE kmalloc-8192 alloc %s inuse=%zu fp=0x  (null)\n"
                         "4,%u,%u,c;CPU: 3 PID: 0 Comm: swapper/3 Tainted: P O 3.18.21 #9\n"
                         "4,%u,%u,c;Stack : 00000000 00000004 00000006 81383900 00000000 00000000\n",
                         seq, ts, ptrs[i], i + 1, seq + 1, ts, seq + 2, ts);
                append("dev/kmsg", buf);
                seq += 3;
                snprintf(buf, sizeof buf, SKB_STACK, seq, ts, seq + 1, ts, seq + 2, ts, seq + 3, ts, seq + 4, ts,
                         seq + 5, ts, seq + 6, ts, seq + 7, ts);
                append("dev/kmsg", buf);
                seq += 8;
                /* Someone else's message in between. */
                snprintf(buf, sizeof buf, "6,%u,%u,-;rt2860: RX ring full, dropping\n", seq++, ts + 5);
                append("dev/kmsg", buf);
                ts += 1000;
        }
        snprintf(buf, sizeof buf,
                 "6,%u,%u,-;TRACE kmalloc-8192 alloc 0x8f4b8000 inuse=4 fp=0x  (null)\n"
                 "4,%u,%u,c;Call Trace:\n"
                 "4,%u,%u,c;[<80015ad4>] show_stack+0x88/0xa4\n"
                 "4,%u,%u,c;[<80948ee8>] dump_stack+0x6c/0x8c\n"
                 "4,%u,%u,c;[<8079c2a0>] pskb_expand_head+0xa0/0x2b0\n"
                 "4,%u,%u,c;[<807e1c34>] ip_forward+0x2a0/0x4d0\n"
                 "6,%u,%u,-;TRACE kmalloc-4096 alloc 0x8e000000 inuse=1 fp=0x  (null)\n"
                 "6,%u,%u,-;TRACE kmalloc-8192 free 0x8f4b8000 inuse=4 fp=0x8f4b6000\n"
                 "4,%u,%u,c;Object 8f4b8000: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00  ................\n"
                 "4,%u,%u,c;Call Trace:\n"
                 "4,%u,%u,c;[<80015ad4>] show_stack+0x88/0xa4\n"
                 "4,%u,%u,c;[<80948ee8>] dump_stack+0x6c/0x8c\n"
                 "4,%u,%u,c;[<800f5a10>] kfree+0x1f0/0x210\n"
                 "4,%u,%u,c;[<8079d1b4>] skb_free_head+0x74/0x94\n",
                 seq, ts, seq + 1, ts, seq + 2, ts, seq + 3, ts, seq + 4, ts, seq + 5, ts, seq + 6, ts + 1,
                 seq + 7, ts + 2, seq + 8, ts + 2, seq + 9, ts + 2, seq + 10, ts + 2, seq + 11, ts + 2, seq + 12,
                 ts + 2, seq + 13, ts + 2);
        append("dev/kmsg", buf);
}

START_TEST(test_seed_318_callsites) {
        struct config c;
        struct seen s = {};
        struct capture_manager *m;
        struct capture_trigger why = {
                .reason = "objects_per_min 12.0 > 10",
                .objects_per_min = 12,
                .active_objs = 3100,
                .window_usec = 600000000,
                .history_csv = "t_usec,active_objs\n1,3000\n2,3103\n",
                .history_csv_len = 34,
        };
        json_object *report = NULL, *v, *sites;

        make_318_tree();
        config_for_root(&c);
        m = new_manager(&c, &s);

        ck_assert_int_eq(capture_manager_trip(m, "kmalloc-8192", &why), 0);
        ck_assert_uint_eq(capture_manager_running(m), 1);
        /* The sysfs trace flag is on while the capture runs. */
        ck_assert_str_eq(read_rel("sys/kernel/slab/kmalloc-8192/trace"), "1");
        ck_assert(marker_count() == 1);
        /* Between the snapshot at the trip and the next ones, the leak grows
         * and the kernel logs its TRACE records. */
        put("sys/kernel/slab/kmalloc-8192/alloc_calls", alloc_calls_later);
        append_kmsg_records();
        run_until_done(&s, 1);

        ck_assert_int_eq(s.error, 0);
        ck_assert_int_eq(s.bundle_error, 0);
        ck_assert_str_eq(s.stop_reason, "duration");
        ck_assert_str_eq(s.method, "sysfs alloc_calls+kmsg-trace");
        /* Back to 0, and nothing left for a restart to undo. */
        ck_assert_str_eq(read_rel("sys/kernel/slab/kmalloc-8192/trace"), "0");
        ck_assert(marker_count() == 0);
        /* The seed's stack ranks first, with all three objects outstanding;
         * the pskb_expand_head one, freed, below it. */
        ck_assert_str_eq(s.suspect, "__alloc_skb");
        ck_assert_uint_eq(s.top_outstanding, 3);
        ck_assert_uint_eq(s.n_stacks, 2);
        ck_assert_ptr_nonnull(strstr(s.top_stack, "__alloc_skb+0x1e8/0x238;skbmgr_alloc_skb4k+0xc8/0x124"));
        ck_assert_ptr_nonnull(strstr(s.message, "3 objects still outstanding from __alloc_skb"));
        ck_assert_str_eq(s.top_call_site, "__alloc_skb+0x98/0x238");
        ck_assert_int_eq(s.top_delta, 3291 - 3103);
        ck_assert_ptr_nonnull(strstr(s.message, "__alloc_skb"));
        ck_assert_uint_eq(capture_manager_running(m), 0);

        ck_assert(bundle_has(s.dir, "report.json"));
        ck_assert(bundle_has(s.dir, "report.txt"));
        ck_assert(bundle_has(s.dir, "history.csv"));
        ck_assert(bundle_has(s.dir, "summary.json"));
        ck_assert(bundle_has(s.dir, "callsites-series.csv"));
        ck_assert(bundle_has(s.dir, "kmalloc-8192.alloc_calls.first"));
        ck_assert(bundle_has(s.dir, "kmalloc-8192.alloc_calls.last"));
        ck_assert(bundle_has(s.dir, "kmalloc-8192.free_calls.first"));

        ck_assert_int_eq(capture_manager_get(m, s.id, &report), 0);
        ck_assert(json_object_object_get_ex(report, "cache", &v));
        ck_assert_str_eq(json_object_get_string(v), "kmalloc-8192");
        ck_assert(json_object_object_get_ex(report, "kernel", &v));
        ck_assert_str_eq(json_object_get_string(v), "3.18.21");
        ck_assert(json_object_object_get_ex(report, "call_sites", &v));
        ck_assert(json_object_object_get_ex(v, "alloc", &sites));
        ck_assert(json_object_object_get_ex(json_object_array_get_idx(sites, 0), "site", &v));
        ck_assert_str_eq(json_object_get_string(v), "__alloc_skb+0x98/0x238");
        ck_assert(json_object_object_get_ex(json_object_array_get_idx(sites, 0), "age_min", &v));
        ck_assert_int_eq(json_object_get_int64(v), 12);
        json_object_put(report);

        /* The same cache again at once: cooling down. An on-demand capture
         * ignores the cool-down. */
        ck_assert_int_eq(capture_manager_trip(m, "kmalloc-8192", &why), -CAPTURE_ECOOLDOWN);
        ck_assert_uint_gt(capture_manager_cooldown_left_usec(m, "kmalloc-8192"), 0);
        ck_assert_int_eq(capture_manager_arm(m, "kmalloc-8192", 60000000), 0);
        ck_assert_int_eq(capture_manager_disarm(m, "kmalloc-8192"), 0);
        ck_assert_uint_eq(s.calls, 2);
        ck_assert_str_eq(s.stop_reason, "disarmed");
        ck_assert_int_eq(capture_manager_disarm(m, "kmalloc-8192"), -ENOENT);
        capture_manager_free(m);
}
END_TEST

/* Booted with slub_debug=T,<cache> (any kernel): the trace flag already
 * reads 1 and is read-only. The capture reads the TRACE records the kernel
 * logs anyway, and never writes the flag nor leaves a marker to undo. */
START_TEST(test_trace_on_at_boot) {
        struct config c;
        struct seen s = {};
        struct capture_manager *m;
        struct capture_trigger why = { .reason = "objects_per_min 12.0 > 10", .objects_per_min = 12 };
        char path[4096];

        make_318_tree();
        put("sys/kernel/slab/kmalloc-8192/trace", "1\n");
        snprintf(path, sizeof path, "%s/sys/kernel/slab/kmalloc-8192/trace", root);
        ck_assert_int_eq(chmod(path, 0444), 0);
        config_for_root(&c);
        m = new_manager(&c, &s);

        ck_assert_int_eq(capture_manager_trip(m, "kmalloc-8192", &why), 0);
        ck_assert_uint_eq(capture_manager_running(m), 1);
        ck_assert(marker_count() == 0);
        put("sys/kernel/slab/kmalloc-8192/alloc_calls", alloc_calls_later);
        append_kmsg_records();
        run_until_done(&s, 1);

        ck_assert_int_eq(s.error, 0);
        ck_assert_str_eq(s.method, "sysfs alloc_calls+kmsg-trace");
        ck_assert_str_eq(read_rel("sys/kernel/slab/kmalloc-8192/trace"), "1");
        ck_assert(marker_count() == 0);
        ck_assert_str_eq(s.suspect, "__alloc_skb");
        ck_assert_uint_eq(s.top_outstanding, 3);
        ck_assert_uint_eq(capture_manager_running(m), 0);
        capture_manager_free(m);
        /* Nothing to restore at the end either. */
        ck_assert_str_eq(read_rel("sys/kernel/slab/kmalloc-8192/trace"), "1");
}
END_TEST

/* 5.19+: debugfs alloc_traces, each site followed by its stack. */
static const char alloc_traces_first[] =
        "   3103 __alloc_skb+0x98/0x238 waste=0/0 age=430/366961/410069 pid=0-1467 cpus=1,3 nodes=0\n"
        "        __kmalloc_node_track_caller+0x1c3/0x2c0\n"
        "        kmalloc_reserve+0x8d/0x110\n"
        "        __alloc_skb+0x98/0x238\n"
        "        skbmgr_alloc_skb4k+0xc8/0x124 [skbmgr]\n"
        "        RTMP_AllocateRxPacketBuffer+0x40/0x1b0 [mt7603e]\n"
        "\n"
        "     29 pskb_expand_head+0xa0/0x2b0 waste=0/0 age=22161/203241/396156 pid=0-1467 cpus=1 nodes=0\n"
        "        __kmalloc_node_track_caller+0x1c3/0x2c0\n"
        "        pskb_expand_head+0xa0/0x2b0\n"
        "        ip_forward+0x2a0/0x4d0\n"
        "\n"
        "     15 os_alloc_mem+0x1c/0x34 [mt7603e] waste=0/0 age=386584/404626/411488 pid=1-1093 cpus=1-3 nodes=0\n"
        "        __kmalloc+0x1d0/0x2f0\n"
        "        os_alloc_mem+0x1c/0x34 [mt7603e]\n"
        "\n";

static const char alloc_traces_later[] =
        "   3400 __alloc_skb+0x98/0x238 waste=0/0 age=3/356961/411069 pid=0-1467 cpus=1,3 nodes=0\n"
        "        __kmalloc_node_track_caller+0x1c3/0x2c0\n"
        "        kmalloc_reserve+0x8d/0x110\n"
        "        __alloc_skb+0x98/0x238\n"
        "        skbmgr_alloc_skb4k+0xc8/0x124 [skbmgr]\n"
        "        RTMP_AllocateRxPacketBuffer+0x40/0x1b0 [mt7603e]\n"
        "\n"
        "     29 pskb_expand_head+0xa0/0x2b0 waste=0/0 age=23161/204241/397156 pid=0-1467 cpus=1 nodes=0\n"
        "        __kmalloc_node_track_caller+0x1c3/0x2c0\n"
        "        pskb_expand_head+0xa0/0x2b0\n"
        "        ip_forward+0x2a0/0x4d0\n"
        "\n"
        "     14 os_alloc_mem+0x1c/0x34 [mt7603e] waste=0/0 age=387584/405626/412488 pid=1-1093 cpus=1-3 nodes=0\n"
        "        __kmalloc+0x1d0/0x2f0\n"
        "        os_alloc_mem+0x1c/0x34 [mt7603e]\n"
        "\n";

static void make_61_tree(void) {
        put("proc/sys/kernel/osrelease", "6.1.0-18-arm64\n");
        put("proc/slabinfo",
            "slabinfo - version: 2.1\n"
            "kmalloc-cg-8k         16     16   8192    4    8 : tunables    0    0    0 : slabdata      4      4      0\n"
            "kmalloc-8k          3200   3200   8192    4    8 : tunables    0    0    0 : slabdata    800    800      0\n");
        put("sys/kernel/slab/kmalloc-8k/store_user", "1\n");
        put("sys/kernel/slab/kmalloc-8k/slab_size", "8192\n");
        put("sys/kernel/slab/kmalloc-8k/trace", "0\n");
        put("sys/kernel/slab/kmalloc-cg-8k/store_user", "0\n");
        put("proc/allocinfo",
            "allocinfo - version: 1.0\n"
            "#     <size>  <calls> <tag info>\n"
            "    27787264     3400 net/core/skbuff.c:577 func:__alloc_skb\n");
        put("sys/kernel/debug/slab/kmalloc-8k/alloc_traces", alloc_traces_first);
        put("sys/kernel/debug/slab/kmalloc-8k/free_traces",
            "   2546 <not-available> age=382073 pid=0 cpus=0 nodes=0\n\n"
            "    603 skb_free_head+0x74/0x94 age=1348/194381/410033 pid=0-1474 cpus=0-1,3 nodes=0\n"
            "        kfree+0x7c/0x2a0\n"
            "        skb_free_head+0x74/0x94\n\n");
}

START_TEST(test_debugfs_traces) {
        struct config c;
        struct seen s = {};
        struct capture_manager *m;
        struct capture_trigger why = { .reason = "bytes_per_hour 9.0M > 1M", .bytes_per_hour = 9e6 };
        json_object *list = NULL, *v, *report = NULL, *sites, *first;

        make_61_tree();
        config_for_root(&c);
        m = new_manager(&c, &s);

        /* The seed's spelling of the class on a kernel that says 8k. */
        ck_assert_int_eq(capture_manager_trip(m, "kmalloc-8192", &why), 0);
        ck_assert_int_eq(capture_manager_list(m, &list), 0);
        ck_assert(json_object_object_get_ex(list, "running", &v));
        ck_assert_int_eq(json_object_array_length(v), 1);
        json_object_put(list);
        put("sys/kernel/debug/slab/kmalloc-8k/alloc_traces", alloc_traces_later);
        run_until_done(&s, 1);

        ck_assert_int_eq(s.error, 0);
        ck_assert_str_eq(s.method, "debugfs alloc_traces+allocinfo");
        ck_assert_str_eq(s.top_call_site, "__alloc_skb+0x98/0x238");
        ck_assert_int_eq(s.top_delta, 3400 - 3103);
        /* No tracefs on this fake host: the report says what would help. */
        ck_assert_ptr_nonnull(strstr(s.advice, "tracefs"));
        /* kmalloc-cg-8k has no store_user: it gets the boot option advice. */
        ck_assert(bundle_has(s.dir, "kmalloc-8k.alloc_traces.first"));
        ck_assert(bundle_has(s.dir, "kmalloc-8k.free_traces.last"));
        ck_assert(bundle_has(s.dir, "allocinfo.first"));
        ck_assert(bundle_has(s.dir, "allocinfo.last"));

        ck_assert_int_eq(bundle_load_report(c.paths.state_dir, s.id, &report), 0);
        ck_assert(json_object_object_get_ex(report, "cache", &v));
        ck_assert_str_eq(json_object_get_string(v), "kmalloc-8k");
        ck_assert(json_object_object_get_ex(report, "aliases", &v));
        ck_assert_int_eq(json_object_array_length(v), 2);
        ck_assert(json_object_object_get_ex(report, "call_sites", &v));
        ck_assert(json_object_object_get_ex(v, "alloc", &sites));
        first = json_object_array_get_idx(sites, 0);
        ck_assert(json_object_object_get_ex(first, "frames", &v));
        ck_assert_int_eq(json_object_array_length(v), 5);
        ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(v, 2)), "__alloc_skb+0x98/0x238");
        ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(v, 3)),
                         "skbmgr_alloc_skb4k+0xc8/0x124 [skbmgr]");
        ck_assert(json_object_object_get_ex(json_object_array_get_idx(sites, 2), "delta", &v));
        ck_assert_int_eq(json_object_get_int64(v), -1);
        ck_assert(json_object_object_get_ex(report, "call_sites", &v));
        ck_assert(json_object_object_get_ex(v, "free", &sites));
        ck_assert_int_eq(json_object_array_length(sites), 2);
        json_object_put(report);

        ck_assert_int_eq(capture_manager_list(m, &list), 0);
        ck_assert(json_object_object_get_ex(list, "bundles", &v));
        ck_assert_int_eq(json_object_array_length(v), 1);
        ck_assert(json_object_object_get_ex(json_object_array_get_idx(v, 0), "cache", &first));
        ck_assert_str_eq(json_object_get_string(first), "kmalloc-8k");
        json_object_put(list);
        capture_manager_free(m);
}
END_TEST


static void sample_text(struct capture_manager *m, const char *text) {
        struct slabinfo si = {};
        ck_assert_int_eq(slabinfo_parse(text, strlen(text), &si), 0);
        capture_manager_sample(m, &si);
        slabinfo_done(&si);
}

/* The ledger's cache_delta comes from the daemon's samples of the window,
 * summed over the class's members. */
START_TEST(test_ledger_samples) {
        struct config c;
        struct seen s = {};
        struct capture_manager *m;
        struct capture_trigger why = { .reason = "test", .objects_per_min = 100 };
        json_object *report = NULL, *att, *v;

        make_61_tree();
        config_for_root(&c);
        m = new_manager(&c, &s);
        /* Before any capture runs: nothing to record, nothing breaks. */
        sample_text(m, "slabinfo - version: 2.1\n"
                       "kmalloc-8k          1000   1000   8192    4    8 : tunables    0    0    0 : slabdata    250    250      0\n");
        ck_assert_int_eq(capture_manager_trip(m, "kmalloc-8k", &why), 0);
        sample_text(m, "slabinfo - version: 2.1\n"
                       "kmalloc-cg-8k         16     16   8192    4    8 : tunables    0    0    0 : slabdata      4      4      0\n"
                       "kmalloc-8k          3200   3200   8192    4    8 : tunables    0    0    0 : slabdata    800    800      0\n");
        sample_text(m, "slabinfo - version: 2.1\n"
                       "kmalloc-cg-8k         20     20   8192    4    8 : tunables    0    0    0 : slabdata      5      5      0\n"
                       "kmalloc-8k          3400   3400   8192    4    8 : tunables    0    0    0 : slabdata    850    850      0\n");
        put("sys/kernel/debug/slab/kmalloc-8k/alloc_traces", alloc_traces_later);
        run_until_done(&s, 1);
        /* The renderings are in every bundle, even without stacks. */
        ck_assert(bundle_has(s.dir, "report.html"));
        ck_assert(bundle_has(s.dir, "stacks.folded"));
        ck_assert_int_eq(bundle_load_report(c.paths.state_dir, s.id, &report), 0);
        ck_assert(json_object_object_get_ex(report, "attribution", &att));
        ck_assert(json_object_object_get_ex(att, "cache_delta", &v));
        ck_assert_int_eq(json_object_get_int64(v), 3420 - 3216);
        ck_assert(json_object_object_get_ex(att, "cache_samples", &v));
        ck_assert_int_eq(json_object_get_int64(v), 2);
        ck_assert(json_object_object_get_ex(att, "verdict", &v));
        ck_assert_ptr_nonnull(strstr(json_object_get_string(v), "__alloc_skb+0x98/0x238"));
        json_object_put(report);
        capture_manager_free(m);
}
END_TEST


/* A UDP leak trips UDP, filp, lsm_inode_cache and kmalloc-64 in one
 * tick: one suspected leak, UDP captured first, the others queued and
 * captured after it, each report naming the group. */
START_TEST(test_leak_group_order) {
        struct config c;
        struct seen s = {};
        struct capture_manager *m;
        struct slabinfo si = {};
        size_t len;
        json_object *list = NULL, *v, *report = NULL, *g;
        static const char *const tripped[] = { "filp", "kmalloc-64", "lsm_inode_cache", "UDP" };
        static const double rates[] = { 120, 240, 120, 120 };

        put("proc/sys/kernel/osrelease", "6.18.44\n");
        put_fixture("proc/slabinfo", "linux-6.18-x86_64/slabinfo");
        config_for_root(&c);
        m = new_manager(&c, &s);
        s.stop_loop = false;
        char *text = testutil_read_fixture("linux-6.18-x86_64/slabinfo", &len);
        ck_assert_int_eq(slabinfo_parse(text, len, &si), 0);
        free(text);

        capture_manager_hold(m);
        for (size_t i = 0; i < 4; i++) {
                struct capture_trigger why = { .reason = "test", .objects_per_min = rates[i], .slabinfo = &si };
                ck_assert_int_eq(capture_manager_trip(m, tripped[i], &why), 0);
        }
        /* An unrelated cache at a rate far from theirs is a leak of its own. */
        struct capture_trigger other = { .reason = "test", .objects_per_min = 9000, .slabinfo = &si };
        ck_assert_int_eq(capture_manager_trip(m, "signal_cache", &other), 0);
        slabinfo_done(&si);
        ck_assert_uint_eq(capture_manager_running(m), 0);
        capture_manager_release(m);
        ck_assert_uint_eq(capture_manager_running(m), 1);

        ck_assert_int_eq(capture_manager_list(m, &list), 0);
        ck_assert(json_object_object_get_ex(list, "running", &v));
        ck_assert(json_object_object_get_ex(json_object_array_get_idx(v, 0), "cache", &g));
        ck_assert_str_eq(json_object_get_string(g), "UDP");
        ck_assert(json_object_object_get_ex(json_object_array_get_idx(v, 0), "leak", &g));
        ck_assert_str_eq(json_object_get_string(g), "UDP+filp+lsm_inode_cache+kmalloc-64");
        ck_assert(json_object_object_get_ex(list, "queued", &v));
        ck_assert_int_eq(json_object_array_length(v), 4);
        ck_assert(json_object_object_get_ex(list, "leaks", &v));
        ck_assert_int_eq(json_object_array_length(v), 2);
        json_object_put(list);

        /* Each capture ends at once (no method on this fake host) and the
         * next starts: UDP, then its companions, then the generic class,
         * then the other leak. */
        static const char *const order[] = { "UDP", "filp", "lsm_inode_cache", "kmalloc-64", "signal_cache" };
        for (unsigned i = 0; i < 5; i++) {
                while (s.calls < i + 1)
                        ev_run(loop, EVRUN_ONCE);
                ck_assert_str_eq(s.slabinfo_name, order[i]);
                if (i == 1) {
                        ck_assert_ptr_nonnull(strstr(s.message, "suspected leak leak-1: UDP+filp+lsm_inode_cache+kmalloc-64"));
                        ck_assert_int_eq(bundle_load_report(c.paths.state_dir, s.id, &report), 0);
                        ck_assert(json_object_object_get_ex(report, "leak_group", &g));
                        ck_assert(json_object_object_get_ex(g, "members", &v));
                        ck_assert_int_eq(json_object_array_length(v), 4);
                        ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(v, 0)),
                                         "UDP (dedicated, 120.0 objects/min)");
                        ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(v, 1)),
                                         "filp (companion, 120.0 objects/min) - this capture");
                        json_object_put(report);
                }
                if (i == 4)
                        ck_assert_ptr_null(strstr(s.message, "suspected leak"));
        }
        ck_assert_uint_eq(capture_manager_running(m), 0);
        capture_manager_free(m);
}
END_TEST

START_TEST(test_trip_errors) {
        struct config c;
        struct seen s = {};
        struct capture_manager *m;

        make_318_tree();
        put("sys/kernel/slab/kmalloc-4096/store_user", "1\n");
        put_fixture("sys/kernel/slab/kmalloc-4096/alloc_calls", "seed-3.18-mips/alloc_calls");
        config_for_root(&c);
        c.capture.duration_usec = 3600ULL * 1000000ULL;
        m = new_manager(&c, &s);

        ck_assert_int_eq(capture_manager_trip(m, "no-such-cache", NULL), -ENOENT);
        ck_assert_int_eq(capture_manager_trip(m, "../../etc", NULL), -EINVAL);
        ck_assert_int_eq(capture_manager_trip(m, "", NULL), -EINVAL);
        ck_assert_int_eq(capture_manager_trip(m, "kmalloc-8192", NULL), 0);
        ck_assert_int_eq(capture_manager_trip(m, "kmalloc-8192", NULL), -EALREADY);
        ck_assert_int_eq(capture_manager_arm(m, "kmalloc-8k", 0), -EALREADY);
        /* The slot is taken: queued for later, not refused. */
        ck_assert_int_eq(capture_manager_trip(m, "kmalloc-4096", NULL), 0);
        ck_assert(capture_manager_queued(m, "kmalloc-4096"));
        ck_assert_uint_eq(capture_manager_running(m), 1);
        ck_assert_int_eq(capture_manager_trip(m, "kmalloc-4096", NULL), -EALREADY);
        ck_assert_int_eq(capture_manager_arm(m, "kmalloc-4096", 0), -EBUSY);
        ck_assert_str_eq(capture_strerror(-EBUSY),
                         "the limit of concurrent captures (capture.max_concurrent) is reached");

        /* SIGTERM: everything running is finished and written. */
        ck_assert_int_eq(capture_manager_stop_all(m, "SIGTERM"), 1);
        ck_assert_uint_eq(s.calls, 1);
        ck_assert_str_eq(s.stop_reason, "SIGTERM");
        ck_assert(bundle_has(s.dir, "report.json"));
        ck_assert_int_eq(capture_manager_stop_all(m, "SIGTERM"), 0);
        capture_manager_free(m);

        c.capture.enabled = false;
        m = new_manager(&c, &s);
        ck_assert_int_eq(capture_manager_trip(m, "kmalloc-4096", NULL), -ECANCELED);
        ck_assert_int_eq(capture_manager_arm(m, "kmalloc-4096", 1000), 0);
        capture_manager_free(m);
        ck_assert_uint_eq(s.calls, 2);
        ck_assert_str_eq(s.stop_reason, "shutdown");
}
END_TEST

/* A kernel that offers nothing for the cache: the capture still ends with
 * a bundle (history, advice) and says so. */
START_TEST(test_no_method) {
        struct config c;
        struct seen s = {};
        struct capture_manager *m;

        put("proc/sys/kernel/osrelease", "6.18.44\n");
        put("sys/kernel/slab/kmalloc-8k/store_user", "0\n");
        config_for_root(&c);
        m = new_manager(&c, &s);
        ck_assert_int_eq(capture_manager_trip(m, "kmalloc-8k", NULL), 0);
        run_until_done(&s, 1);
        ck_assert_int_eq(s.error, -EOPNOTSUPP);
        ck_assert_str_eq(s.method, "none");
        ck_assert_ptr_nonnull(strstr(s.advice, "boot with `slab_debug=U,kmalloc-8k`"));
        ck_assert_ptr_nonnull(strstr(s.message, "slab_debug=U,kmalloc-8k"));
        ck_assert(bundle_has(s.dir, "report.json"));
        capture_manager_free(m);
}
END_TEST

/* A trip resolves its cache by the sample that tripped, not by reading
 * /proc/slabinfo again: here the file is gone right after the tick. */
START_TEST(test_trip_uses_tick_slabinfo) {
        struct config c;
        struct seen s = {};
        struct capture_manager *m;
        struct slabinfo si = {};
        char path[4096];
        size_t len;

        put("proc/sys/kernel/osrelease", "6.18.44\n");
        put_fixture("proc/slabinfo", "linux-6.18-x86_64/slabinfo");
        config_for_root(&c);
        m = new_manager(&c, &s);
        char *text = testutil_read_fixture("linux-6.18-x86_64/slabinfo", &len);
        ck_assert_int_eq(slabinfo_parse(text, len, &si), 0);
        free(text);
        snprintf(path, sizeof path, "%s/proc/slabinfo", root);
        ck_assert_int_eq(unlink(path), 0);

        struct capture_trigger why = { .reason = "test", .slabinfo = &si };
        ck_assert_int_eq(capture_manager_trip(m, "filp", &why), 0);
        slabinfo_done(&si);
        run_until_done(&s, 1);
        ck_assert_str_eq(s.slabinfo_name, "filp");
        ck_assert_ptr_null(strstr(s.warnings, "none of its names is in slabinfo"));
        capture_manager_free(m);
}
END_TEST

START_TEST(test_cache_vanishes) {
        struct config c;
        struct seen s = {};
        struct capture_manager *m;
        char dir[4096];

        make_318_tree();
        config_for_root(&c);
        c.capture.duration_usec = 3600ULL * 1000000ULL;
        m = new_manager(&c, &s);
        ck_assert_int_eq(capture_manager_trip(m, "kmalloc-8192", NULL), 0);
        snprintf(dir, sizeof dir, "%s/sys/kernel/slab/kmalloc-8192", root);
        testutil_rmtree(dir);
        run_until_done(&s, 1);
        ck_assert_str_eq(s.stop_reason, "cache vanished");
        ck_assert_int_eq(s.bundle_error, 0);
        ck_assert_ptr_nonnull(strstr(s.warnings, "disappeared"));
        /* What was captured before it vanished is kept. */
        ck_assert_str_eq(s.top_call_site, "__alloc_skb+0x98/0x238");
        capture_manager_free(m);
}
END_TEST

START_TEST(test_garbage_callsites) {
        struct config c;
        struct seen s = {};
        struct capture_manager *m;
        static const char garbage[] = "\x7f" "ELF\x02\x01\x01\x00\xff\xfe garbage\n\x01\x02\x03\n";
        char longline[8192];

        make_318_tree();
        testutil_write_file(root, "sys/kernel/slab/kmalloc-8192/alloc_calls", garbage, sizeof garbage - 1);
        memset(longline, 'x', sizeof longline - 2);
        longline[sizeof longline - 2] = '\n';
        longline[sizeof longline - 1] = '\0';
        config_for_root(&c);
        m = new_manager(&c, &s);
        ck_assert_int_eq(capture_manager_trip(m, "kmalloc-8192", NULL), 0);
        /* Later snapshots: truncated mid-line, then an over-long line. */
        put("sys/kernel/slab/kmalloc-8192/alloc_calls", "   3103 __alloc_skb+0x98/0x238 age=430/36");
        put("sys/kernel/slab/kmalloc-8192/free_calls", longline);
        run_until_done(&s, 1);
        ck_assert_int_eq(s.error, 0);
        ck_assert_int_eq(s.bundle_error, 0);
        ck_assert_ptr_nonnull(strstr(s.warnings, "is not a call-site file"));
        capture_manager_free(m);
}
END_TEST

/* A full state directory: the bundle fails with the path, the result
 * still carries the answer for the alert. */
START_TEST(test_state_full) {
        struct config c;
        struct seen s = {};
        struct capture_manager *m;
        char state[4096];
        struct capture_trigger why = {};
        char *history;
        size_t history_len = 256 << 10;

        make_318_tree();
        config_for_root(&c);
        snprintf(state, sizeof state, "%s/state", root);
        ck_assert_int_eq(mkdir(state, 0700), 0);
        if (mount("tmpfs", state, "tmpfs", 0, "size=64k") < 0) {
                fprintf(stderr, "test_state_full: cannot mount a small tmpfs (%s), not checked\n", strerror(errno));
                return;
        }
        history = malloc(history_len);
        memset(history, '1', history_len);
        why.history_csv = history;
        why.history_csv_len = history_len;
        m = new_manager(&c, &s);
        ck_assert_int_eq(capture_manager_trip(m, "kmalloc-8192", &why), 0);
        free(history);
        run_until_done(&s, 1);
        ck_assert_int_eq(s.bundle_error, -ENOSPC);
        ck_assert_str_eq(s.dir, "");
        ck_assert_ptr_nonnull(strstr(s.bundle_error_path, "/state/captures/"));
        ck_assert_ptr_nonnull(strstr(s.message, "No space left on device"));
        ck_assert_str_eq(s.top_call_site, "__alloc_skb+0x98/0x238");
        capture_manager_free(m);
        ck_assert_int_eq(umount(state), 0);
}
END_TEST

/* The state directory belongs to someone else. */
START_TEST(test_state_eacces) {
        struct config c;
        struct seen s = {};
        struct capture_manager *m;
        char state[4096];

        if (geteuid() != 0) {
                fprintf(stderr, "test_state_eacces: needs root to act as another user, not checked\n");
                return;
        }
        make_318_tree();
        config_for_root(&c);
        snprintf(state, sizeof state, "%s/state", root);
        ck_assert_int_eq(mkdir(state, 0755), 0);
        ck_assert_int_eq(chmod(root, 0755), 0);
        ck_assert_int_eq(seteuid(65534), 0);
        m = new_manager(&c, &s);
        ck_assert_int_eq(capture_manager_trip(m, "kmalloc-8192", NULL), 0);
        run_until_done(&s, 1);
        capture_manager_free(m);
        ck_assert_int_eq(seteuid(0), 0);
        ck_assert_int_eq(s.bundle_error, -EACCES);
        ck_assert_ptr_nonnull(strstr(s.bundle_error_path, "/state/captures"));
        ck_assert_ptr_nonnull(strstr(s.message, "Permission denied"));
        ck_assert_str_eq(s.top_call_site, "__alloc_skb+0x98/0x238");
}
END_TEST

START_TEST(test_rotation) {
        struct config c;
        struct seen s = {};
        struct capture_manager *m;
        json_object *list = NULL, *v;
        char first_id[256];

        make_318_tree();
        config_for_root(&c);
        c.capture.disk_budget_bytes = 1;
        m = new_manager(&c, &s);
        ck_assert_int_eq(capture_manager_arm(m, "kmalloc-8192", 1000), 0);
        run_until_done(&s, 1);
        snprintf(first_id, sizeof first_id, "%s", s.id);
        ck_assert_int_eq(capture_manager_arm(m, "kmalloc-8192", 1000), 0);
        run_until_done(&s, 2);
        /* Over budget: the older bundle went, never the one just written. */
        ck_assert_str_ne(first_id, s.id);
        ck_assert_int_eq(capture_manager_list(m, &list), 0);
        ck_assert(json_object_object_get_ex(list, "bundles", &v));
        ck_assert_int_eq(json_object_array_length(v), 1);
        ck_assert(json_object_object_get_ex(json_object_array_get_idx(v, 0), "id", &v));
        ck_assert_str_eq(json_object_get_string(v), s.id);
        json_object_put(list);
        ck_assert_int_eq(capture_manager_get(m, first_id, &list), -ENOENT);
        ck_assert_int_eq(capture_manager_get(m, "../x", &list), -EINVAL);
        capture_manager_free(m);
}
END_TEST

/* A daemon killed mid-capture left trace on: the next start switches it
 * off, and ignores a marker that names anything but a SLUB trace file. */
START_TEST(test_restart_after_kill) {
        struct config c;
        struct seen s = {};
        struct capture_manager *m;
        char line[8192];

        make_318_tree();
        put("sys/kernel/slab/kmalloc-8192/trace", "1\n");
        put("elsewhere", "precious\n");
        config_for_root(&c);
        snprintf(line, sizeof line, "%s/sys/kernel/slab/kmalloc-8192/trace\n", root);
        put("state/trace-on-kmalloc-8192", line);
        snprintf(line, sizeof line, "%s/elsewhere\n", root);
        put("state/trace-on-evil", line);
        snprintf(line, sizeof line, "%s/sys/kernel/slab/../../../elsewhere/trace\n", root);
        put("state/trace-on-evil2", line);
        put("state/trace-on-garbage", "\xff\xfe\x01");
        put("state/captures/.tmp-20250101T000000Z-kmalloc-8192/report.txt", "half");

        m = new_manager(&c, &s);
        ck_assert_str_eq(read_rel("sys/kernel/slab/kmalloc-8192/trace"), "0");
        ck_assert_str_eq(read_rel("elsewhere"), "precious");
        ck_assert_uint_eq(marker_count(), 0);
        ck_assert(!bundle_has(root, "state/captures/.tmp-20250101T000000Z-kmalloc-8192/report.txt"));
        capture_manager_free(m);
        ck_assert_uint_eq(s.calls, 0);
}
END_TEST

static void break_cb(struct ev_loop *l, ev_timer *w, int revents) {
        (void) w;
        (void) revents;
        ev_break(l, EVBREAK_ALL);
}

/* Run the loop for @seconds. */
static void run_for(double seconds) {
        ev_timer t;
        ev_timer_init(&t, break_cb, seconds, 0.);
        ev_timer_start(loop, &t);
        ev_run(loop, 0);
        ev_timer_stop(loop, &t);
}

static json_object *load_rel_json(const char *rel) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", root, rel);
        json_object *o = json_object_from_file(path);
        ck_assert_msg(o != NULL, "%s does not parse", path);
        return o;
}

static const char *jget_str(json_object *o, const char *key) {
        json_object *v;
        ck_assert_msg(json_object_object_get_ex(o, key, &v), "no \"%s\"", key);
        return json_object_get_string(v);
}

/* A running capture checkpoints into its temporary directory (marked
 * interrupted, nothing visible as a bundle); a normal finish replaces the
 * checkpoint; a checkpoint left by a kill is finished at the next start as
 * an interrupted bundle, with the capture alert. */
START_TEST(test_checkpoint_recovered) {
        struct config c;
        struct seen s = {};
        struct capture_manager *m;
        static const char history[] = "time,active_objs,num_slabs\n1.000,3200,800\n";
        struct capture_trigger why = { .reason = "test", .objects_per_min = 100, .history_csv = history,
                                       .history_csv_len = sizeof history - 1 };
        json_object *o, *list, *v;
        char tmp_rel[1024], cmd[16384], id[256];
        struct stat hist1, hist2, rep1, rep2;

        make_61_tree();
        config_for_root(&c);
        c.capture.duration_usec = 60ULL * 1000000ULL;
        c.capture.checkpoint_usec = 100000;
        m = new_manager(&c, &s);
        ck_assert_int_eq(capture_manager_trip(m, "kmalloc-8k", &why), 0);
        ck_assert_int_eq(capture_manager_list(m, &list), 0);
        ck_assert(json_object_object_get_ex(list, "running", &v));
        snprintf(id, sizeof id, "%s", jget_str(json_object_array_get_idx(v, 0), "id"));
        json_object_put(list);
        put("sys/kernel/debug/slab/kmalloc-8k/alloc_traces", alloc_traces_later);
        run_for(0.5);
        ck_assert_uint_eq(s.calls, 0);

        snprintf(tmp_rel, sizeof tmp_rel, "state/captures/.tmp-%s", id);
        char tmp_abs[4096];
        snprintf(tmp_abs, sizeof tmp_abs, "%s/%s", root, tmp_rel);
        ck_assert(bundle_has(tmp_abs, "checkpoint.json"));
        ck_assert(bundle_has(tmp_abs, "report.txt"));
        ck_assert(bundle_has(tmp_abs, "stacks.folded"));
        ck_assert(bundle_has(tmp_abs, "kmalloc-8k.alloc_traces.first"));
        ck_assert(!bundle_has(tmp_abs, "report.json.part"));
        /* What cannot change is written once; the report at every checkpoint. */
        char hpath[8192], rpath[8192];
        snprintf(hpath, sizeof hpath, "%s/history.csv", tmp_abs);
        snprintf(rpath, sizeof rpath, "%s/report.json", tmp_abs);
        ck_assert_int_eq(stat(hpath, &hist1), 0);
        ck_assert_int_eq(stat(rpath, &rep1), 0);
        run_for(0.3);
        ck_assert_int_eq(stat(hpath, &hist2), 0);
        ck_assert_int_eq(stat(rpath, &rep2), 0);
        ck_assert_uint_eq(hist1.st_ino, hist2.st_ino);
        ck_assert(rep2.st_mtim.tv_sec > rep1.st_mtim.tv_sec ||
                  (rep2.st_mtim.tv_sec == rep1.st_mtim.tv_sec && rep2.st_mtim.tv_nsec > rep1.st_mtim.tv_nsec));
        char rel[2048];
        snprintf(rel, sizeof rel, "%s/report.json", tmp_rel);
        o = load_rel_json(rel);
        ck_assert_str_eq(jget_str(o, "status"), "interrupted");
        ck_assert_str_eq(jget_str(o, "stop_reason"), "interrupted");
        json_object_put(o);
        /* Not a bundle yet. */
        ck_assert_int_eq(capture_manager_list(m, &list), 0);
        ck_assert(json_object_object_get_ex(list, "bundles", &v));
        ck_assert_int_eq(json_object_array_length(v), 0);
        json_object_put(list);

        /* What a kill -9 would leave: keep a copy, then let this one finish. */
        snprintf(cmd, sizeof cmd, "cp -a '%s' '%s/kept'", tmp_abs, root);
        ck_assert_int_eq(system(cmd), 0);
        ck_assert_int_eq(capture_manager_disarm(m, "kmalloc-8k"), 0);
        ck_assert_uint_eq(s.calls, 1);
        ck_assert(!s.interrupted);
        ck_assert(!bundle_has(tmp_abs, "checkpoint.json"));
        o = NULL;
        ck_assert_int_eq(bundle_load_report(c.paths.state_dir, s.id, &o), 0);
        ck_assert_str_eq(jget_str(o, "status"), "complete");
        json_object_put(o);
        capture_manager_free(m);

        /* The killed daemon's state: no finished bundle, its checkpoint. */
        snprintf(cmd, sizeof cmd, "rm -rf '%s/state/captures/%s' && mv '%s/kept' '%s'", root, id, root, tmp_abs);
        ck_assert_int_eq(system(cmd), 0);
        memset(&s, 0, sizeof s);
        m = new_manager(&c, &s);
        ck_assert_uint_eq(s.calls, 1);
        ck_assert(s.interrupted);
        ck_assert_str_eq(s.id, id);
        ck_assert_str_eq(s.stop_reason, "interrupted");
        ck_assert_str_eq(s.slabinfo_name, "kmalloc-8k");
        ck_assert_ptr_nonnull(strstr(s.message, "was interrupted"));
        ck_assert(!bundle_has(tmp_abs, "report.json"));
        ck_assert(!bundle_has(s.dir, "checkpoint.json"));
        ck_assert(bundle_has(s.dir, "report.html"));
        o = NULL;
        ck_assert_int_eq(bundle_load_report(c.paths.state_dir, id, &o), 0);
        ck_assert_str_eq(jget_str(o, "status"), "interrupted");
        json_object_put(o);
        ck_assert_int_eq(capture_manager_list(m, &list), 0);
        ck_assert(json_object_object_get_ex(list, "bundles", &v));
        ck_assert_int_eq(json_object_array_length(v), 1);
        ck_assert_str_eq(jget_str(json_object_array_get_idx(v, 0), "status"), "interrupted");
        json_object_put(list);
        capture_manager_free(m);
        /* Finished once: a second start finds nothing to recover. */
        memset(&s, 0, sizeof s);
        m = new_manager(&c, &s);
        ck_assert_uint_eq(s.calls, 0);
        capture_manager_free(m);
}
END_TEST

/* Crafted leftovers: a checkpoint whose report.json was cut short (and a
 * leftover .part), one whose marker is garbage and whose id is taken by a
 * finished bundle, a half-written bundle without a marker. Each checkpoint
 * is finished as interrupted with what is readable; the finished bundle is
 * not touched; nothing crashes. */
START_TEST(test_recover_corrupt_checkpoint) {
        struct config c;
        struct seen s = {};
        struct capture_manager *m;
        json_object *o;
        const char *a = "state/captures/.tmp-20250101T000000Z-kmalloc-8k";
        const char *b = "state/captures/.tmp-20250102T000000Z-kmalloc-8k";
        const char *done = "state/captures/20250102T000000Z-kmalloc-8k";
        char rel[1024], abs_dir[4096];

        make_61_tree();
        config_for_root(&c);
        snprintf(rel, sizeof rel, "%s/checkpoint.json", a);
        put(rel, "{\"id\": \"20250101T000000Z-kmalloc-8k\", \"cache\": \"kmalloc-8k\", \"elapsed_s\": 12.0}");
        snprintf(rel, sizeof rel, "%s/report.json", a);
        put(rel, "{\"id\": \"20250101T000000Z-kmalloc-8k\", \"status\": \"interr");
        snprintf(rel, sizeof rel, "%s/report.json.part", a);
        put(rel, "{");
        snprintf(rel, sizeof rel, "%s/report.txt", a);
        put(rel, "slabwatch capture 20250101T000000Z-kmalloc-8k\nstacks: __alloc_skb 40 outstanding\n");
        snprintf(rel, sizeof rel, "%s/stacks.folded", a);
        put(rel, "__alloc_skb;leaky_fn 40\n");

        snprintf(rel, sizeof rel, "%s/checkpoint.json", b);
        put(rel, "\xff\xfe{");
        snprintf(rel, sizeof rel, "%s/report.json", b);
        put(rel, "{\"id\": \"20250102T000000Z-kmalloc-8k\", \"status\": \"interrupted\", \"cache\": \"kmalloc-8k\", "
                 "\"suspect\": \"leaky_fn\", \"stacks\": [{\"outstanding\": 40}]}");
        snprintf(rel, sizeof rel, "%s/report.json", done);
        put(rel, "{\"finished\": true}");
        put("state/captures/.tmp-20250103T000000Z-kmalloc-8k/report.txt", "half");

        m = new_manager(&c, &s);
        ck_assert_uint_eq(s.calls, 2);
        ck_assert_uint_eq(s.interrupted_calls, 2);

        /* The cut checkpoint: kept aside, a stand-in says so. */
        snprintf(abs_dir, sizeof abs_dir, "%s/state/captures/20250101T000000Z-kmalloc-8k", root);
        ck_assert(bundle_has(abs_dir, "report.json.corrupt"));
        ck_assert(bundle_has(abs_dir, "stacks.folded"));
        ck_assert(!bundle_has(abs_dir, "report.json.part"));
        ck_assert(!bundle_has(abs_dir, "checkpoint.json"));
        o = load_rel_json("state/captures/20250101T000000Z-kmalloc-8k/report.json");
        ck_assert_str_eq(jget_str(o, "status"), "interrupted");
        ck_assert_str_eq(jget_str(o, "cache"), "kmalloc-8k");
        ck_assert_ptr_nonnull(strstr(jget_str(o, "checkpoint_error"), "could not be read"));
        json_object_put(o);
        o = load_rel_json("state/captures/20250101T000000Z-kmalloc-8k/summary.json");
        ck_assert_str_eq(jget_str(o, "status"), "interrupted");
        json_object_put(o);
        ck_assert_ptr_nonnull(strstr(read_rel("state/captures/20250101T000000Z-kmalloc-8k/report.txt"),
                                     "status:     interrupted"));

        /* The garbage marker: still finished, under the next free id. */
        o = load_rel_json("state/captures/20250102T000000Z-kmalloc-8k-2/report.json");
        ck_assert_str_eq(jget_str(o, "status"), "interrupted");
        ck_assert_str_eq(jget_str(o, "suspect"), "leaky_fn");
        json_object_put(o);
        ck_assert_str_eq(read_rel("state/captures/20250102T000000Z-kmalloc-8k/report.json"), "{\"finished\": true}");
        ck_assert_str_eq(s.suspect, "leaky_fn");
        ck_assert_uint_eq(s.top_outstanding, 40);

        /* No marker: a half-written bundle, removed as before. */
        snprintf(abs_dir, sizeof abs_dir, "%s/state/captures/.tmp-20250103T000000Z-kmalloc-8k", root);
        ck_assert(!bundle_has(abs_dir, "report.txt"));
        capture_manager_free(m);
}
END_TEST

/* The formats a 6.18 tracefs shows, enough for the tracer to get as far
 * as creating its instance. */
#define COMMON_FIELDS                                                                                          \
        "format:\n"                                                                                            \
        "\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n"                                 \
        "\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;\n"                                 \
        "\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;\n"                         \
        "\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n\n"

static void make_618_tracefs_tree(void) {
        put("proc/sys/kernel/osrelease", "6.18.0\n");
        put("proc/slabinfo", "slabinfo - version: 2.1\n"
                             "UDP                  540    540   1152   28    8 : tunables    0    0    0 : slabdata     20     "
                             "20      0\n");
        put("sys/kernel/slab/UDP/store_user", "0\n");
        put("sys/kernel/slab/UDP/slab_size", "1152\n");
        put("sys/kernel/slab/UDP/object_size", "1152\n");
        put("sys/kernel/slab/UDP/trace", "0\n");
        put("sys/kernel/tracing/events/header_page",
            "\tfield: u64 timestamp;\toffset:0;\tsize:8;\tsigned:0;\n"
            "\tfield: local_t commit;\toffset:8;\tsize:8;\tsigned:1;\n"
            "\tfield: int overwrite;\toffset:8;\tsize:1;\tsigned:1;\n"
            "\tfield: char data;\toffset:16;\tsize:4080;\tsigned:0;\n");
        put("sys/kernel/tracing/events/kmem/kmem_cache_alloc/format",
            "name: kmem_cache_alloc\nID: 659\n" COMMON_FIELDS
            "\tfield:unsigned long call_site;\toffset:8;\tsize:8;\tsigned:0;\n"
            "\tfield:const void * ptr;\toffset:16;\tsize:8;\tsigned:0;\n"
            "\tfield:__data_loc char[] name;\toffset:24;\tsize:4;\tsigned:0;\n"
            "\tfield:size_t bytes_req;\toffset:32;\tsize:8;\tsigned:0;\n"
            "\tfield:size_t bytes_alloc;\toffset:40;\tsize:8;\tsigned:0;\n"
            "\nprint fmt: \"ptr=%p name=%s\", REC->ptr, __get_str(name)\n");
        put("sys/kernel/tracing/events/kmem/kmem_cache_free/format",
            "name: kmem_cache_free\nID: 656\n" COMMON_FIELDS
            "\tfield:unsigned long call_site;\toffset:8;\tsize:8;\tsigned:0;\n"
            "\tfield:const void * ptr;\toffset:16;\tsize:8;\tsigned:0;\n"
            "\tfield:__data_loc char[] name;\toffset:24;\tsize:4;\tsigned:0;\n"
            "\nprint fmt: \"ptr=%p name=%s\", REC->ptr, __get_str(name)\n");
        put("sys/kernel/tracing/events/kmem/kmalloc/format",
            "name: kmalloc\nID: 658\n" COMMON_FIELDS
            "\tfield:unsigned long call_site;\toffset:8;\tsize:8;\tsigned:0;\n"
            "\tfield:const void * ptr;\toffset:16;\tsize:8;\tsigned:0;\n"
            "\tfield:size_t bytes_req;\toffset:24;\tsize:8;\tsigned:0;\n"
            "\tfield:size_t bytes_alloc;\toffset:32;\tsize:8;\tsigned:0;\n"
            "\nprint fmt: \"ptr=%p\", REC->ptr\n");
        put("sys/kernel/tracing/events/kmem/kfree/format",
            "name: kfree\nID: 657\n" COMMON_FIELDS
            "\tfield:unsigned long call_site;\toffset:8;\tsize:8;\tsigned:0;\n"
            "\tfield:const void * ptr;\toffset:16;\tsize:8;\tsigned:0;\n"
            "\nprint fmt: \"ptr=%p\", REC->ptr\n");
        put("sys/kernel/tracing/events/ftrace/kernel_stack/format",
            "name: kernel_stack\nID: 4\n" COMMON_FIELDS "\tfield:int size;\toffset:8;\tsize:4;\tsigned:1;\n"
            "\tfield:unsigned long caller[8];\toffset:16;\tsize:64;\tsigned:0;\n"
            "\nprint fmt: \"%ps\", (void *)REC->caller[0]\n");
        put("sys/kernel/tracing/options/stacktrace", "0\n");
        put("sys/kernel/tracing/events/kmem/enable", "0\n");
        put("sys/kernel/tracing/events/kmem/kmem_cache_alloc/enable", "0\n");
        put("sys/kernel/tracing/events/kmem/kmem_cache_free/enable", "0\n");
        put("sys/kernel/tracing/events/kmem/kmalloc/enable", "0\n");
        put("sys/kernel/tracing/events/kmem/kfree/enable", "0\n");
        put("proc/kallsyms", "ffffffff81000000 T _stext\nffffffff81001000 T kmem_cache_alloc_noprof\n");
        put("dev/kmsg", "");
        char path[4096];
        snprintf(path, sizeof path, "%s/sys/kernel/tracing/instances", root);
        ck_assert_int_eq(mkdir(path, 0755), 0);
}

/* The tracer's instance exists already (another daemon tracing the cache):
 * the alert names the instance, not a boot option. */
START_TEST(test_tracefs_instance_busy) {
        struct config c;
        struct seen s = {};
        struct capture_manager *m;
        struct capture_trigger why = { .reason = "test", .objects_per_min = 100 };
        char path[4096];

        make_618_tracefs_tree();
        config_for_root(&c);
        m = new_manager(&c, &s);
        /* After the start, whose recovery removes stale instances. */
        snprintf(path, sizeof path, "%s/sys/kernel/tracing/instances/slabwatch-UDP", root);
        ck_assert_int_eq(mkdir(path, 0755), 0);
        ck_assert_int_eq(capture_manager_trip(m, "UDP", &why), 0);
        run_until_done(&s, 1);
        ck_assert_int_eq(s.error, -EOPNOTSUPP);
        ck_assert_msg(strstr(s.message, "instances/slabwatch-UDP exists already") != NULL, "%s", s.message);
        ck_assert_msg(strstr(s.message, "slab_debug") == NULL, "%s", s.message);
        ck_assert_ptr_nonnull(strstr(s.warnings, "Device or resource busy"));
        capture_manager_free(m);
        ck_assert_int_eq(rmdir(path), 0);
}
END_TEST

static Suite *capture_suite(void) {
        Suite *s = suite_create("capture_fake");
        TCase *tc = tcase_create("core");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_seed_318_callsites);
        tcase_add_test(tc, test_trace_on_at_boot);
        tcase_add_test(tc, test_debugfs_traces);
        tcase_add_test(tc, test_ledger_samples);
        tcase_add_test(tc, test_leak_group_order);
        tcase_add_test(tc, test_trip_errors);
        tcase_add_test(tc, test_no_method);
        tcase_add_test(tc, test_rotation);
        suite_add_tcase(s, tc);

        tc = tcase_create("limits");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_cache_vanishes);
        tcase_add_test(tc, test_garbage_callsites);
        tcase_add_test(tc, test_trip_uses_tick_slabinfo);
        tcase_add_test(tc, test_state_full);
        tcase_add_test(tc, test_state_eacces);
        tcase_add_test(tc, test_restart_after_kill);
        tcase_add_test(tc, test_checkpoint_recovered);
        tcase_add_test(tc, test_recover_corrupt_checkpoint);
        tcase_add_test(tc, test_tracefs_instance_busy);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(capture_suite());
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
