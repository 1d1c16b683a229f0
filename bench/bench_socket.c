/* bench_socket — requests per second for `status` and `top` from concurrent
 * clients against a daemon sampling a fake /proc every second, and what
 * that load does to the sampling ticks (jitter, missed ticks), read from
 * the daemon's own `status`.
 *
 * Usage: bench_socket [CLIENTS [SECONDS]]   (default 8 clients, 5 s per command)
 * The daemon is this build's daemon code run in a child process; set
 * SLABWATCHD=/path/to/slabwatchd to measure a slabwatchd binary instead.
 * Figures only; never pass/fail. */
#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/config.h"
#include "control/commands.h"
#include "core/daemon.h"
#include "control/proto.h"

#define BENCH_CLIENTS_DEFAULT 8
#define BENCH_CLIENTS_MAX 64
#define BENCH_SECONDS_DEFAULT 5
/* Latencies kept per client for percentiles. */
#define BENCH_LATENCIES_MAX 2000000
/* A synthetic slabinfo when /proc/slabinfo is not readable: this many caches. */
#define BENCH_SYNTHETIC_CACHES 235

static char work[64];
static char sock_path[100];
static struct config cfg;

static double now_sec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static int write_file(const char *path, const char *data, size_t len) {
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0)
                return -errno;
        ssize_t n = write(fd, data, len);
        close(fd);
        return n == (ssize_t) len ? 0 : -EIO;
}

/* Copy the host's file into the fake root, or write @fallback. */
static int copy_or_synthesize(const char *src, const char *dst, const char *fallback) {
        static char buf[4 << 20];
        int fd = open(src, O_RDONLY | O_CLOEXEC);
        size_t len = 0;
        if (fd >= 0) {
                ssize_t n;
                while (len < sizeof buf && (n = read(fd, buf + len, sizeof buf - len)) > 0)
                        len += (size_t) n;
                close(fd);
        }
        if (len > 0)
                return write_file(dst, buf, len);
        return write_file(dst, fallback, strlen(fallback));
}

static char *synthetic_slabinfo(void) {
        size_t cap = 256 + BENCH_SYNTHETIC_CACHES * 160;
        char *s = malloc(cap);
        if (!s)
                return NULL;
        size_t len = (size_t) snprintf(s, cap, "slabinfo - version: 2.1\n# name <active_objs> <num_objs> <objsize> "
                                               "<objperslab> <pagesperslab> : tunables <limit> <batchcount> "
                                               "<sharedfactor> : slabdata <active_slabs> <num_slabs> <sharedavail>\n");
        for (int i = 0; i < BENCH_SYNTHETIC_CACHES; i++)
                len += (size_t) snprintf(s + len, cap - len,
                                         "cache-%03d %6d %6d %6d %4d %4d : tunables 0 0 0 : slabdata %6d %6d 0\n", i,
                                         1000 + i, 1024 + i, 64 << (i % 6), 64, 1, 16 + i, 16 + i);
        return s;
}

static int setup_root(void) {
        char path[256], yaml[1024];
        snprintf(work, sizeof work, "/tmp/slabwatch-bench.XXXXXX");
        if (!mkdtemp(work))
                return -errno;
        snprintf(path, sizeof path, "%s/proc", work);
        if (mkdir(path, 0755) < 0)
                return -errno;
        char *syn = synthetic_slabinfo();
        if (!syn)
                return -ENOMEM;
        snprintf(path, sizeof path, "%s/proc/slabinfo", work);
        int r = copy_or_synthesize("/proc/slabinfo", path, syn);
        free(syn);
        if (r < 0)
                return r;
        snprintf(path, sizeof path, "%s/proc/meminfo", work);
        r = copy_or_synthesize("/proc/meminfo", path, "MemTotal: 1000 kB\nMemFree: 500 kB\n");
        if (r < 0)
                return r;
        snprintf(sock_path, sizeof sock_path, "%s/s.sock", work);
        snprintf(yaml, sizeof yaml,
                 "interval: 1s\npaths:\n  proc: %s/proc\n  sys: %s/sys\n  state_dir: %s/state\n"
                 "alert:\n  journal: false\ncapture:\n  enabled: false\n  mount_tracefs: false\n"
                 "server:\n  socket: %s\n  group: \"\"\n  max_clients: 128\n",
                 work, work, work, sock_path);
        snprintf(path, sizeof path, "%s/slabwatch.yaml", work);
        return write_file(path, yaml, strlen(yaml));
}

/* The daemon as slabwatchd's main runs it: sampling, socket server, captures. */
static int run_daemon_in_process(void) {
        char path[256];
        struct config_error err = { 0 };
        struct config_source src;
        struct daemon *d = NULL;
        snprintf(path, sizeof path, "%s/slabwatch.yaml", work);
        if (config_source_init(&src, path) < 0 || config_load(&src, &cfg, NULL, &err) < 0) {
                fprintf(stderr, "bench config: %u:%u: %s\n", err.line, err.column, err.message);
                return 1;
        }
        struct ev_loop *loop = ev_default_loop(EVFLAG_AUTO);
        if (daemon_new(loop, &src, &cfg, commands_handle, &d) < 0)
                return 1;
        /* daemon_start() starts the socket server with the other services. */
        if (daemon_start(d) < 0)
                return 1;
        ev_run(loop, 0);
        daemon_free(d);
        return 0;
}

static pid_t start_daemon(void) {
        const char *bin = getenv("SLABWATCHD");
        char log[128];
        pid_t pid = fork();
        if (pid != 0)
                return pid;
        /* The daemon's own messages go to a log, not between the figures. */
        snprintf(log, sizeof log, "%s/daemon.log", work);
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd >= 0)
                (void) dup2(fd, STDERR_FILENO);
        if (bin && bin[0]) {
                char path[256];
                snprintf(path, sizeof path, "%s/slabwatch.yaml", work);
                execl(bin, bin, "-c", path, (char *) NULL);
                _exit(127);
        }
        _exit(run_daemon_in_process());
}

static int connect_daemon(void) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        snprintf(sa.sun_path, sizeof sa.sun_path, "%s", sock_path);
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        if (connect(fd, (struct sockaddr *) &sa, sizeof sa) < 0) {
                int r = -errno;
                close(fd);
                return r;
        }
        return fd;
}

static int io_all(int fd, void *buf, size_t len, bool sending) {
        char *p = buf;
        while (len > 0) {
                ssize_t n = sending ? send(fd, p, len, MSG_NOSIGNAL) : recv(fd, p, len, 0);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        return n < 0 ? -errno : -EPIPE;
                p += n;
                len -= (size_t) n;
        }
        return 0;
}

/* One request on @fd; the decoded answer in *ret (may be NULL to discard). */
static int call(int fd, const char *frame, size_t frame_len, json_object **ret) {
        uint8_t header[PROTO_HEADER_SIZE];
        uint32_t len;
        int r = io_all(fd, (void *) frame, frame_len, true);
        if (r < 0 || (r = io_all(fd, header, sizeof header, false)) < 0)
                return r;
        if ((r = proto_header_decode(header, PROTO_RESPONSE_MAX, &len, NULL)) < 0)
                return r;
        char *payload = malloc(len);
        if (!payload)
                return -ENOMEM;
        r = io_all(fd, payload, len, false);
        if (r >= 0 && ret)
                r = proto_response_decode(payload, len, ret);
        free(payload);
        return r;
}

static json_object *status(void) {
        struct proto_request req;
        char *frame;
        size_t len;
        json_object *doc = NULL;
        proto_request_init(&req, PROTO_CMD_STATUS);
        if (proto_request_encode(&req, &frame, &len) < 0)
                return NULL;
        int fd = connect_daemon();
        if (fd >= 0) {
                if (call(fd, frame, len, &doc) < 0)
                        doc = NULL;
                close(fd);
        }
        free(frame);
        return doc;
}

static double status_num(json_object *doc, const char *a, const char *b) {
        json_object *d = json_object_object_get(doc, "data"), *v = json_object_object_get(d, a);
        if (b)
                v = json_object_object_get(v, b);
        return v ? json_object_get_double(v) : NAN;
}

struct client {
        pthread_t thread;
        const char *frame;
        size_t frame_len;
        double until;
        uint64_t requests;
        int error;
        float *latency_ms;
        size_t n_latency;
};

static void *client_main(void *arg) {
        struct client *c = arg;
        int fd = connect_daemon();
        if (fd < 0) {
                c->error = fd;
                return NULL;
        }
        for (;;) {
                double t0 = now_sec();
                if (t0 >= c->until)
                        break;
                int r = call(fd, c->frame, c->frame_len, NULL);
                if (r < 0) {
                        c->error = r;
                        break;
                }
                if (c->n_latency < BENCH_LATENCIES_MAX)
                        c->latency_ms[c->n_latency++] = (float) ((now_sec() - t0) * 1e3);
                c->requests++;
        }
        close(fd);
        return NULL;
}

static int compare_float(const void *a, const void *b) {
        float x = *(const float *) a, y = *(const float *) b;
        return (x > y) - (x < y);
}

static void run_load(const char *name, const struct proto_request *req, unsigned n_clients, double seconds) {
        struct client clients[BENCH_CLIENTS_MAX] = { 0 };
        char *frame;
        size_t len;
        if (proto_request_encode(req, &frame, &len) < 0)
                return;
        json_object *before = status();
        double t0 = now_sec();
        for (unsigned i = 0; i < n_clients; i++) {
                clients[i].frame = frame;
                clients[i].frame_len = len;
                clients[i].until = t0 + seconds;
                clients[i].latency_ms = malloc(BENCH_LATENCIES_MAX * sizeof(float));
                pthread_create(&clients[i].thread, NULL, client_main, &clients[i]);
        }
        uint64_t total = 0;
        size_t n_lat = 0;
        int error = 0;
        for (unsigned i = 0; i < n_clients; i++) {
                pthread_join(clients[i].thread, NULL);
                total += clients[i].requests;
                n_lat += clients[i].n_latency;
                if (clients[i].error)
                        error = clients[i].error;
        }
        double elapsed = now_sec() - t0;
        json_object *after = status();

        float *all = malloc((n_lat ? n_lat : 1) * sizeof *all);
        size_t k = 0;
        for (unsigned i = 0; i < n_clients; i++) {
                memcpy(all + k, clients[i].latency_ms, clients[i].n_latency * sizeof *all);
                k += clients[i].n_latency;
                free(clients[i].latency_ms);
        }
        qsort(all, n_lat, sizeof *all, compare_float);
        double p50 = n_lat ? all[n_lat / 2] : NAN, p99 = n_lat ? all[(size_t) ((double) n_lat * 0.99)] : NAN;
        free(all);

        double s0 = status_num(before, "samples", NULL), s1 = status_num(after, "samples", NULL);
        double j0 = status_num(before, "sample_jitter_usec", "avg") * (s0 - 1);
        double j1 = status_num(after, "sample_jitter_usec", "avg") * (s1 - 1);
        double interval = status_num(after, "interval_s", NULL);
        double span = status_num(after, "last_sample_time", NULL) - status_num(before, "last_sample_time", NULL);
        double expected = floor(span / interval + 0.5);

        printf("%-7s %2u clients  %9.0f requests/s  latency p50 %.3f ms  p99 %.3f ms  (%llu requests in %.1f s)%s%s\n",
               name, n_clients, (double) total / elapsed, p50, p99, (unsigned long long) total, elapsed,
               error ? "  error: " : "", error ? strerror(-error) : "");
        printf("        sampling under load: %.0f ticks (%.0f expected), jitter avg %.0f us, max %.0f us "
               "(since start), last sample cost %.0f us read + %.0f us work\n",
               s1 - s0, expected, s1 > s0 ? (j1 - j0) / (s1 - s0) : NAN, status_num(after, "sample_jitter_usec", "max"),
               status_num(after, "sample_cost_usec", "last_read"), status_num(after, "sample_cost_usec", "last_work"));
        json_object_put(before);
        json_object_put(after);
        free(frame);
}

static void remove_tree(void) {
        char cmd[128];
        /* Our own temporary directory, by its exact mkdtemp() name. */
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", work);
        if (system(cmd) != 0)
                fprintf(stderr, "could not remove %s\n", work);
}

int main(int argc, char **argv) {
        unsigned n_clients = argc > 1 ? (unsigned) atoi(argv[1]) : BENCH_CLIENTS_DEFAULT;
        double seconds = argc > 2 ? atof(argv[2]) : BENCH_SECONDS_DEFAULT;
        if (n_clients < 1 || n_clients > BENCH_CLIENTS_MAX || !(seconds > 0)) {
                fprintf(stderr, "usage: bench_socket [CLIENTS 1..%d [SECONDS]]\n", BENCH_CLIENTS_MAX);
                return 2;
        }
        int r = setup_root();
        if (r < 0) {
                fprintf(stderr, "cannot set up a fake /proc: %s\n", strerror(-r));
                return 1;
        }
        pid_t pid = start_daemon();
        if (pid < 0) {
                fprintf(stderr, "cannot start the daemon: %s\n", strerror(errno));
                remove_tree();
                return 1;
        }
        /* Up and sampling: two samples taken. */
        json_object *doc = NULL;
        for (int i = 0; i < 200; i++) {
                json_object_put(doc);
                doc = status();
                if (doc && status_num(doc, "samples", NULL) >= 2)
                        break;
                usleep(50000);
        }
        if (!doc) {
                fprintf(stderr, "the daemon did not answer on %s\n", sock_path);
                kill(pid, SIGTERM);
                waitpid(pid, NULL, 0);
                remove_tree();
                return 1;
        }
        printf("daemon pid %d, %.0f caches, interval %.0f s, %s\n", (int) pid, status_num(doc, "caches", NULL),
               status_num(doc, "interval_s", NULL), getenv("SLABWATCHD") ? getenv("SLABWATCHD") : "in-process daemon code");
        json_object_put(doc);

        struct proto_request req;
        proto_request_init(&req, PROTO_CMD_STATUS);
        run_load("status", &req, n_clients, seconds);
        proto_request_init(&req, PROTO_CMD_TOP);
        run_load("top", &req, n_clients, seconds);
        req.limit = PROTO_LIMIT_MAX;
        run_load("top-all", &req, n_clients, seconds);

        kill(pid, SIGTERM);
        waitpid(pid, NULL, 0);
        remove_tree();
        return 0;
}
