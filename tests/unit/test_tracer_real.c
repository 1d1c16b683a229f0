/* The tracer against the real kernel: leakers and churners on one cache,
 * traced, ranked, and the kernel left as it was. Needs root and a usable
 * tracefs; without them it exits 77 (skipped), saying why. The fake-tree
 * tests of the tracer are in test_tracer_fake.c. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "capture/kchange.h"
#include "capture/tracer.h"
#include "testutil.h"

#define TRACEFS "/sys/kernel/tracing"
#define LEAKER BUILD_DIR "/tests/progs/leaker"
#define LEAK_COUNT 200
#define STRINGIFY_(x) #x
#define STRINGIFY(x) STRINGIFY_(x)
#define LEAK_RATE "100"
/* Fast enough for many thousands of events, slow enough that a loaded
 * two-CPU test machine keeps up with no loss. */
#define CHURN_RATE "20000"
#define POLL_USEC 10000
/* Guard against a leaker that never gets there; not a timing assertion. */
#define WAIT_POLLS_MAX 6000
#define EXTRA_POLLS 30
#define NAME_BUF 256
#define SET_EVENT_MAX 65536
/* Another run of these tests (or a daemon) may be capturing the same cache:
 * one capture per cache, so wait for it to end. */
#define BUSY_RETRY_USEC 100000
#define BUSY_RETRIES 900

static bool exists(const char *dir, const char *rel) {
        char path[4096];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", dir, rel);
        return stat(path, &st) == 0;
}

/* ---------------- real kernel ---------------- */

/* A tracefs these tests mounted, undone at the end; its marker goes to a
 * directory of our own. */
static struct kchange *real_mounts;
static char real_state[] = "/tmp/slabwatch-tracer-real.XXXXXX";

static const char *real_skip_reason(void) {
        static char reason[512];
        if (geteuid() != 0)
                return "not root";
        int r = mkdtemp(real_state) ? kchange_new(real_state, &real_mounts) : -errno;
        if (r == 0)
                r = kchange_apply(real_mounts, KCHANGE_MOUNT_TRACEFS, TRACEFS, NULL);
        if (r < 0) {
                snprintf(reason, sizeof reason, "tracefs cannot be mounted at %s: %s", TRACEFS, strerror(-r));
                return reason;
        }
        struct tracer_formats f;
        if (tracer_probe_formats(TRACEFS, &f) < 0 || !f.kmem_cache_alloc || !f.kmalloc || !f.kernel_stack) {
                snprintf(reason, sizeof reason, "no kmem events or stack traces in %s", TRACEFS);
                return reason;
        }
        if (access(LEAKER, X_OK) < 0) {
                snprintf(reason, sizeof reason, "%s is not built", LEAKER);
                return reason;
        }
        return NULL;
}

static void real_unmount(void) {
        kchange_free(real_mounts);
        (void) rmdir(real_state);
}

struct child {
        pid_t pid;
        int err_fd;             /* its stderr, non-blocking */
        char buf[4096];
        size_t len;
};

#define CHILDREN_MAX 4
static struct child children[CHILDREN_MAX];
static size_t n_children;

static void kill_children(void) {
        for (size_t i = 0; i < n_children; i++) {
                if (children[i].pid > 0) {
                        kill(children[i].pid, SIGTERM);
                        (void) waitpid(children[i].pid, NULL, 0);
                        children[i].pid = 0;
                }
                if (children[i].err_fd >= 0)
                        close(children[i].err_fd);
        }
        n_children = 0;
}

/* Start the leaker with @args; it dies with us whatever happens. */
static struct child *spawn(const char *const *args) {
        ck_assert_uint_lt(n_children, CHILDREN_MAX);
        int p[2];
        ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
        pid_t parent = getpid();
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
                if (getppid() != parent)
                        _exit(1);
                dup2(p[1], STDERR_FILENO);
                execv(LEAKER, (char *const *) args);
                _exit(127);
        }
        close(p[1]);
        fcntl(p[0], F_SETFL, fcntl(p[0], F_GETFL) | O_NONBLOCK);
        struct child *c = &children[n_children++];
        *c = (struct child) { .pid = pid, .err_fd = p[0] };
        return c;
}

static bool child_said(struct child *c, const char *what) {
        ssize_t n;
        while (c->len < sizeof c->buf - 1 && (n = read(c->err_fd, c->buf + c->len, sizeof c->buf - 1 - c->len)) > 0)
                c->len += (size_t) n;
        c->buf[c->len] = '\0';
        return strstr(c->buf, what) != NULL;
}

/* leaker --kind @kind --print-cache */
static void cache_of(const char *kind, char *buf, size_t size) {
        int p[2];
        ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                dup2(p[1], STDOUT_FILENO);
                execl(LEAKER, LEAKER, "--kind", kind, "--print-cache", (char *) NULL);
                _exit(127);
        }
        close(p[1]);
        size_t len = 0;
        ssize_t n;
        while (len < size - 1 && (n = read(p[0], buf + len, size - 1 - len)) > 0)
                len += (size_t) n;
        close(p[0]);
        int status;
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "leaker --print-cache failed for %s", kind);
        buf[len] = '\0';
        buf[strcspn(buf, "\n")] = '\0';
        ck_assert_msg(buf[0] != '\0', "no cache for %s", kind);
}

static char *read_text(const char *path) {
        char *buf = calloc(1, SET_EVENT_MAX + 1);
        ck_assert_ptr_nonnull(buf);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
                size_t len = 0;
                ssize_t n;
                while (len < SET_EVENT_MAX && (n = read(fd, buf + len, SET_EVENT_MAX - len)) > 0)
                        len += (size_t) n;
                close(fd);
        }
        return buf;
}

/* Another slabwatch-* instance than @mine exists: someone else is tracing
 * (and likely driving caches) on this machine right now. */
static bool others_tracing(const char *mine) {
        DIR *d = opendir(TRACEFS "/instances");
        bool found = false;
        struct dirent *de;
        while (d && (de = readdir(d)))
                if (strncmp(de->d_name, TRACER_INSTANCE_PREFIX, strlen(TRACER_INSTANCE_PREFIX)) == 0 &&
                    strcmp(de->d_name, mine) != 0)
                        found = true;
        if (d)
                closedir(d);
        return found;
}

static int start_when_free(const struct tracer_options *o, struct tracer **ret) {
        int r = tracer_start(o, ret);
        for (int i = 0; r == -EBUSY && i < BUSY_RETRIES; i++) {
                usleep(BUSY_RETRY_USEC);
                r = tracer_start(o, ret);
        }
        return r;
}

struct capture {
        int start_err;
        int stop_err;
        struct pairing_result *r;
        struct tracer_stats st;
        char describe[1024];
        char instance[NAME_BUF];
        bool instance_left;
        bool set_event_changed;
        bool tracing_on_changed;
        bool leak_reached;
        /* Other captures ran alongside (other test runs on this machine):
         * their leakers may outrank ours in a shared cache. */
        bool others;
};

/* Trace @cache while the leakers run; stop once the first one (the leak)
 * holds all its objects. Everything is cleaned up before returning, so
 * the assertions that follow cannot leave anything behind. */
static void capture_with(const char *cache, enum tracer_stacks stacks, const char *const *leak_args,
                         const char *const *churn_args, struct capture *out) {
        *out = (struct capture) {};
        char *set_event_before = read_text(TRACEFS "/set_event");
        char *tracing_on_before = read_text(TRACEFS "/tracing_on");

        struct tracer *t = NULL;
        struct tracer_options o = { .tracefs_dir = TRACEFS, .cache_name = cache, .stacks = stacks };
        out->start_err = start_when_free(&o, &t);
        if (out->start_err == 0) {
                snprintf(out->instance, sizeof out->instance, "%s", tracer_instance_name(t));
                snprintf(out->describe, sizeof out->describe, "%s", tracer_describe(t));
                struct child *leak = spawn(leak_args);
                if (churn_args)
                        spawn(churn_args);
                for (int i = 0; i < WAIT_POLLS_MAX && !out->leak_reached; i++) {
                        usleep(POLL_USEC);
                        (void) tracer_poll(t);
                        out->leak_reached = child_said(leak, "leaker: holding");
                        out->others = out->others || (i % 50 == 0 && others_tracing(out->instance));
                }
                for (int i = 0; i < EXTRA_POLLS; i++) {
                        usleep(POLL_USEC);
                        (void) tracer_poll(t);
                }
                /* Stop before the leak exits: its objects are still held. */
                out->stop_err = tracer_stop(t, &out->r);
                tracer_get_stats(t, &out->st);
                tracer_free(t);
        }
        kill_children();

        char path[4096];
        snprintf(path, sizeof path, "%s/instances/%s", TRACEFS, out->instance);
        struct stat st;
        out->instance_left = out->instance[0] && stat(path, &st) == 0;
        char *set_event_after = read_text(TRACEFS "/set_event");
        char *tracing_on_after = read_text(TRACEFS "/tracing_on");
        out->set_event_changed = strcmp(set_event_before, set_event_after) != 0;
        out->tracing_on_changed = strcmp(tracing_on_before, tracing_on_after) != 0;
        free(set_event_before);
        free(set_event_after);
        free(tracing_on_before);
        free(tracing_on_after);
}

static void capture(const char *cache, const char *const *leak_args, const char *const *churn_args,
                    struct capture *out) {
        capture_with(cache, TRACER_STACKS_AUTO, leak_args, churn_args, out);
}

static bool stack_has(const struct pairing_stack *s, const char *function) {
        size_t n = strlen(function);
        for (size_t i = 0; i < s->n_frames; i++)
                if (strncmp(s->frames[i], function, n) == 0 && (s->frames[i][n] == '+' || s->frames[i][n] == '\0'))
                        return true;
        return false;
}

static bool stack_mentions(const struct pairing_stack *s, const char *part) {
        for (size_t i = 0; i < s->n_frames; i++)
                if (strstr(s->frames[i], part))
                        return true;
        return false;
}

/* The kernel is as it was, and the capture itself went right. */
static void assert_clean(const struct capture *c) {
        ck_assert_msg(c->start_err == 0, "tracer_start: %s", strerror(-c->start_err));
        ck_assert_msg(c->stop_err == 0, "tracer_stop: %s", strerror(-c->stop_err));
        ck_assert_ptr_nonnull(c->r);
        /* Other slabwatch-* instances may be live captures of other runs on
         * this machine; ours (one per cache) must be gone. */
        ck_assert_msg(!c->instance_left, "instance %s left behind", c->instance);
        ck_assert_msg(!c->set_event_changed, "top-level set_event changed");
        ck_assert_msg(!c->tracing_on_changed, "top-level tracing_on changed");
        ck_assert_msg(c->leak_reached, "the leaker never reached its count");
        ck_assert(c->st.lost_known);
        ck_assert_msg(c->r->lost_events == 0 && c->st.lost_events == 0, "%llu events lost",
                      (unsigned long long) c->r->lost_events);
        ck_assert(!c->r->truncated);
        ck_assert_uint_eq(c->st.bad_pages, 0);
        ck_assert_uint_gt(c->st.events, 0);
        ck_assert_uint_gt(c->st.stacks, 0);
        if (c->st.stacks_mode == TRACER_STACKS_ALLOCS) {
                /* Stacks on allocations only: every stack is an alloc's,
                 * and the frees' empty stacks are not counted missing. */
                ck_assert_msg(strstr(c->describe, "stacks on allocations only"), "%s", c->describe);
                ck_assert_uint_le(c->st.stacks, c->st.allocs);
                ck_assert_uint_le(c->r->stackless_events, c->st.stacks_missing);
        } else {
                ck_assert_int_eq(c->st.stacks_mode, TRACER_STACKS_ALL);
                ck_assert_msg(strstr(c->describe, "stacks on every event"), "%s", c->describe);
        }
        ck_assert_uint_gt(c->st.wall_ns, 0);
}

/* The stack the leak's allocations went to: the first one, unless other
 * captures ran alongside, whose leakers may hold more in a shared cache:
 * then the first one with @leak_frame. */
static const struct pairing_stack *leak_stack(const struct capture *c, const char *leak_frame, const char *not_frame) {
        const struct pairing_result *r = c->r;
        ck_assert_uint_ge(r->n_stacks, 1);
        if (!c->others)
                return &r->stacks[0];
        for (size_t i = 0; i < r->n_stacks; i++)
                if (stack_mentions(&r->stacks[i], leak_frame) && (!not_frame || !stack_has(&r->stacks[i], not_frame)))
                        return &r->stacks[i];
        return &r->stacks[0];
}

/* The leak ranks first and holds (nearly) everything the leaker holds;
 * the churn — the stack with the most allocations among those with
 * @churn_frame — ranks below with about nothing outstanding. */
static void assert_leak_over_churn(const struct capture *c, const char *leak_frame, const char *churn_frame) {
        const struct pairing_result *r = c->r;
        ck_assert_uint_ge(r->n_stacks, 2);
        const struct pairing_stack *top = leak_stack(c, leak_frame, churn_frame);
        ck_assert_msg(stack_has(top, leak_frame), "top stack lacks %s (first frame %s)", leak_frame,
                      top->n_frames ? top->frames[0] : "none");
        ck_assert_msg(!stack_has(top, churn_frame), "top stack is the churn's");
        ck_assert_uint_ge(top->outstanding, LEAK_COUNT * 9 / 10);
        ck_assert(top->oldest_age_s > 0.0);

        const struct pairing_stack *churn = NULL;
        size_t churn_rank = 0;
        for (size_t i = 0; i < r->n_stacks; i++)
                if (stack_has(&r->stacks[i], churn_frame) && (!churn || r->stacks[i].allocs > churn->allocs)) {
                        churn = &r->stacks[i];
                        churn_rank = i;
                }
        ck_assert_msg(churn != NULL, "no stack with %s", churn_frame);
        ck_assert_uint_gt(churn_rank, (size_t) (top - r->stacks));
        ck_assert_uint_ge(churn->allocs, 1000);
        ck_assert_uint_le(churn->outstanding, 16);
        ck_assert_msg(r->late_events == 0 && r->reallocs_unfreed <= churn->allocs / 1000,
                      "late %llu, allocs of live pointers %llu, stacks missing %llu",
                      (unsigned long long) r->late_events, (unsigned long long) r->reallocs_unfreed,
                      (unsigned long long) c->st.stacks_missing);
}

START_TEST(test_real_named_cache) {
        char cache[NAME_BUF];
        cache_of("udp", cache, sizeof cache);
        const char *leak[] = { LEAKER, "--kind", "udp", "--mode", "leak", "--rate", LEAK_RATE,
                               "--count", STRINGIFY(LEAK_COUNT), NULL };
        const char *churn[] = { LEAKER, "--kind", "udp", "--mode", "churn", "--alt", "--rate", CHURN_RATE, NULL };
        struct capture c;
        capture(cache, leak, churn, &c);
        assert_clean(&c);
        ck_assert_msg(strstr(c.describe, "kmem_cache_alloc name == \""), "filters: %s", c.describe);
        /* This kernel has event triggers: stacks on the allocations only. */
        ck_assert_int_eq(c.st.stacks_mode, TRACER_STACKS_ALLOCS);
        assert_leak_over_churn(&c, "__sys_socket", "__sys_socketpair");
        const struct pairing_stack *top = leak_stack(&c, "__sys_socket", "__sys_socketpair");
        ck_assert(stack_has(top, "inet_create"));
        ck_assert(stack_has(top, "__sock_create"));
        pairing_result_free(c.r);
}
END_TEST

START_TEST(test_real_merged_cache) {
        /* UNIX sockets: SLUB merges their cache; events carry the name
         * slabinfo shows for the group. */
        char cache[NAME_BUF];
        cache_of("unix", cache, sizeof cache);
        const char *leak[] = { LEAKER, "--kind", "unix", "--mode", "leak", "--rate", LEAK_RATE,
                               "--count", STRINGIFY(LEAK_COUNT), NULL };
        const char *churn[] = { LEAKER, "--kind", "unix", "--mode", "churn", "--alt", "--rate", CHURN_RATE, NULL };
        struct capture c;
        capture(cache, leak, churn, &c);
        assert_clean(&c);
        assert_leak_over_churn(&c, "__sys_socket", "__sys_socketpair");
        ck_assert(stack_mentions(leak_stack(&c, "__sys_socket", "__sys_socketpair"), "unix_create"));
        pairing_result_free(c.r);
}
END_TEST

START_TEST(test_real_kmalloc_leak_and_churn) {
        /* eventfd contexts come from a kmalloc size class; eventfd and
         * eventfd2 enter through different syscalls. */
        char cache[NAME_BUF];
        cache_of("eventfd", cache, sizeof cache);
        const char *leak[] = { LEAKER, "--kind", "eventfd", "--mode", "leak", "--rate", LEAK_RATE,
                               "--count", STRINGIFY(LEAK_COUNT), NULL };
        const char *churn[] = { LEAKER, "--kind", "eventfd", "--mode", "churn", "--alt", "--rate", CHURN_RATE, NULL };
        struct capture c;
        capture(cache, leak, churn, &c);
        assert_clean(&c);
        ck_assert_msg(strstr(c.describe, "kmem:kmalloc bytes_alloc == "), "filters: %s", c.describe);
        ck_assert(c.st.alloc_filter_exact);
        const struct pairing_result *r = c.r;
        const struct pairing_stack *top = leak_stack(&c, "do_eventfd", NULL);
        ck_assert(stack_has(top, "do_eventfd"));
        ck_assert_uint_ge(top->outstanding, LEAK_COUNT * 9 / 10);
        /* The churn: the do_eventfd stack with the most allocations. */
        const struct pairing_stack *busiest = NULL;
        for (size_t i = (size_t) (top - r->stacks) + 1; i < r->n_stacks; i++)
                if (stack_has(&r->stacks[i], "do_eventfd") && (!busiest || r->stacks[i].allocs > busiest->allocs))
                        busiest = &r->stacks[i];
        ck_assert_ptr_nonnull(busiest);
        ck_assert_uint_ge(busiest->allocs, 1000);
        ck_assert_uint_le(busiest->outstanding, 16);
        pairing_result_free(c.r);
}
END_TEST

START_TEST(test_real_kmalloc_class) {
        /* timerfd contexts: kmalloc-256 on this kernel, by bytes_alloc. */
        char cache[NAME_BUF];
        cache_of("timerfd", cache, sizeof cache);
        const char *leak[] = { LEAKER, "--kind", "timerfd", "--mode", "leak", "--rate", LEAK_RATE,
                               "--count", STRINGIFY(LEAK_COUNT), NULL };
        struct capture c;
        /* With the stack option, as where the kernel has no event triggers:
         * every event, kfree of every size included, carries a stack. */
        capture_with(cache, TRACER_STACKS_ALL, leak, NULL, &c);
        assert_clean(&c);
        ck_assert_int_eq(c.st.stacks_mode, TRACER_STACKS_ALL);
        ck_assert_uint_gt(c.st.stacks, c.st.allocs);
        const struct pairing_stack *top = leak_stack(&c, "timerfd_create", NULL);
        ck_assert_msg(stack_mentions(top, "timerfd_create"), "top stack: %s",
                      top->n_frames > 1 ? top->frames[1] : "none");
        ck_assert_uint_ge(top->outstanding, LEAK_COUNT * 9 / 10);
        pairing_result_free(c.r);
}
END_TEST

START_TEST(test_real_free_midcapture) {
        /* As on SIGTERM: tracer_free() without tracer_stop(). */
        char *set_event_before = read_text(TRACEFS "/set_event");
        struct tracer *t = NULL;
        struct tracer_options o = { .tracefs_dir = TRACEFS, .cache_name = "kmalloc-128" };
        int r = start_when_free(&o, &t);
        char instance[NAME_BUF] = "";
        if (r == 0) {
                snprintf(instance, sizeof instance, "%s", tracer_instance_name(t));
                for (int i = 0; i < 10; i++) {
                        usleep(POLL_USEC);
                        (void) tracer_poll(t);
                }
                tracer_free(t);
        }
        char path[4096];
        struct stat st;
        snprintf(path, sizeof path, "%s/instances/%s", TRACEFS, instance);
        bool left = stat(path, &st) == 0;
        char *set_event_after = read_text(TRACEFS "/set_event");
        ck_assert_int_eq(r, 0);
        ck_assert_msg(!left, "%s left behind", path);
        ck_assert_str_eq(set_event_before, set_event_after);
        free(set_event_before);
        free(set_event_after);
}
END_TEST

START_TEST(test_real_cleanup_stale) {
        /* What a kill -9 leaves: an instance with an event enabled. */
        char name[NAME_BUF], path[4096];
        snprintf(name, sizeof name, "%sselftest-%d", TRACER_INSTANCE_PREFIX, (int) getpid());
        snprintf(path, sizeof path, "%s/instances/%s", TRACEFS, name);
        ck_assert_int_eq(mkdir(path, 0700), 0);
        char enable[4200];
        snprintf(enable, sizeof enable, "%s/events/kmem/kmalloc/enable", path);
        int fd = open(enable, O_WRONLY | O_CLOEXEC);
        bool enabled = fd >= 0 && write(fd, "1", 1) == 1;
        if (fd >= 0)
                close(fd);
        int r = kchange_recover(real_state, NULL, NULL, TRACEFS);
        struct stat st;
        bool left = stat(path, &st) == 0;
        if (left)
                (void) rmdir(path);
        ck_assert(enabled);
        ck_assert_int_ge(r, 1);
        ck_assert(!left);
}
END_TEST

START_TEST(test_real_mount) {
        struct kchange *k = NULL;
        ck_assert_int_eq(kchange_new(real_state, &k), 0);
        /* Mounted already (by the set-up): nothing to do, nothing recorded. */
        ck_assert_int_eq(kchange_apply(k, KCHANGE_MOUNT_TRACEFS, TRACEFS, NULL), 1);
        char *dir = testutil_mkdtemp();
        int r = kchange_apply(k, KCHANGE_MOUNT_TRACEFS, dir, NULL);
        bool has_events = exists(dir, "events/kmem");
        bool marked = exists(real_state, KCHANGE_MOUNT_MARKER);
        int u = kchange_undo_to(k, 0);
        bool unmarked = !exists(real_state, KCHANGE_MOUNT_MARKER);
        testutil_rmtree(dir);
        free(dir);
        ck_assert_int_eq(r, 0);
        ck_assert(has_events);
        ck_assert(marked);
        ck_assert_int_eq(u, 0);
        ck_assert(unmarked);
        ck_assert_int_eq(kchange_apply(k, KCHANGE_MOUNT_TRACEFS, "/nonexistent/tracing", NULL), -ENOENT);
        kchange_free(k);
}
END_TEST

int main(void) {
        Suite *s = suite_create("tracer");

        const char *skip = real_skip_reason();
        if (!skip) {
                TCase *real = tcase_create("real");
                tcase_set_timeout(real, 120);
                tcase_add_test(real, test_real_named_cache);
                tcase_add_test(real, test_real_merged_cache);
                tcase_add_test(real, test_real_kmalloc_leak_and_churn);
                tcase_add_test(real, test_real_kmalloc_class);
                tcase_add_test(real, test_real_free_midcapture);
                tcase_add_test(real, test_real_cleanup_stale);
                tcase_add_test(real, test_real_mount);
                suite_add_tcase(s, real);
        }

        SRunner *sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        real_unmount();
        if (failed > 0)
                return EXIT_FAILURE;
        if (skip) {
                printf("real-kernel tests skipped: %s\n", skip);
                return 77;
        }
        return EXIT_SUCCESS;
}
