/* leaker — make the kernel allocate objects of one slab cache, and either
 * hold them (a leak) or free them again at once (a churn), for the tests
 * and benchmarks that trace a cache.
 *
 *   leaker --kind udp|unix|eventfd|timerfd|pipe|msgq --mode leak|churn
 *          [--rate N/s] [--count MAX] [--duration SECS] [--alt]
 *   leaker --kind KIND --print-cache
 *
 * leak:  create --rate objects per second (default 100) and hold them, up
 *        to --count (default 200); then keep holding until --duration ends
 *        or SIGTERM/SIGINT.
 * churn: create and destroy, as fast as possible (--rate 0, the default)
 *        or at --rate, up to --count operations (0 = no limit).
 * --alt: enter the kernel through the kind's other syscall, so that two
 *        leakers of one kind have different allocation stacks.
 * --print-cache: print the name /proc/slabinfo (and the tracepoints) give
 *        the cache the kind's objects land in, looked up through the SLUB
 *        sysfs alias for named caches and measured for kmalloc ones.
 *
 * The PID and progress go to stderr: "leaker: holding N" once a leak has
 * reached its count. Everything is released on exit (SysV queues too). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/msg.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define SLABINFO_PATH "/proc/slabinfo"
#define SLAB_SYSFS "/sys/kernel/slab"
/* Leaked objects we can track; the per-process open-file limit (20,000
 * here) is lower for the fd kinds anyway. */
#define HOLD_MAX 1000000
/* SysV message size: with the 48-byte msg_msg header, a 64-byte bucket. */
#define MSG_TEXT 16
/* Objects created to see which kmalloc cache grows. */
#define PROBE_OBJECTS 2048
#define SLABINFO_MAX (1 << 20)
#define NAME_MAX_LEN 128
#define PROGRESS_NS 1000000000ULL

enum kind { KIND_UDP, KIND_UNIX, KIND_EVENTFD, KIND_TIMERFD, KIND_PIPE, KIND_MSGQ, _KIND_MAX };

static const struct {
        const char *name;
        /* SLUB sysfs alias of the cache, or NULL: a kmalloc size class or
         * bucket, found by measuring. */
        const char *alias;
        bool has_alt;
} kinds[_KIND_MAX] = {
        [KIND_UDP] = { "udp", "UDP", true },
        [KIND_UNIX] = { "unix", "UNIX", true },
        [KIND_EVENTFD] = { "eventfd", NULL, true },
        [KIND_TIMERFD] = { "timerfd", NULL, false },
        [KIND_PIPE] = { "pipe", "inode_cache", true },
        [KIND_MSGQ] = { "msgq", NULL, false },
};

struct msgbuf_small {
        long mtype;
        char mtext[MSG_TEXT];
};

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig) {
        (void) sig;
        stop_requested = 1;
}

static uint64_t now_ns(void) {
        struct timespec t;
        clock_gettime(CLOCK_MONOTONIC, &t);
        return (uint64_t) t.tv_sec * 1000000000ULL + (uint64_t) t.tv_nsec;
}

static void sleep_until(uint64_t deadline_ns) {
        struct timespec t = {
                .tv_sec = (time_t) (deadline_ns / 1000000000ULL),
                .tv_nsec = (long) (deadline_ns % 1000000000ULL),
        };
        /* A signal interrupts the sleep: the caller checks stop_requested. */
        (void) clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL);
}

/* What one create holds: up to two fds, or a queue id for msgq. */
struct held {
        int fd[2];
};

struct state {
        enum kind kind;
        bool alt;
        int msq;                /* current SysV queue (msgq) */
        int *queues;            /* every queue created, removed at exit */
        size_t n_queues;
        size_t queues_allocated;
};

static int new_queue(struct state *s) {
        int q = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
        if (q < 0)
                return -errno;
        if (s->n_queues == s->queues_allocated) {
                size_t n = s->queues_allocated ? s->queues_allocated * 2 : 16;
                int *v = realloc(s->queues, n * sizeof *v);
                if (!v) {
                        msgctl(q, IPC_RMID, NULL);
                        return -ENOMEM;
                }
                s->queues = v;
                s->queues_allocated = n;
        }
        s->queues[s->n_queues++] = q;
        s->msq = q;
        return 0;
}

/* Allocate one object (two for socketpair) and return what holds it. */
static int create_one(struct state *s, struct held *h) {
        h->fd[0] = h->fd[1] = -1;
        switch (s->kind) {
        case KIND_UDP:
                if (s->alt) {
                        /* AF_INET has no socketpair: the kernel creates both
                         * sockets, then fails and frees them, through
                         * __sys_socketpair instead of __sys_socket. */
                        int sv[2];
                        if (socketpair(AF_INET, SOCK_DGRAM, 0, sv) == 0) {
                                close(sv[0]);
                                close(sv[1]);
                        }
                        return 0;
                }
                h->fd[0] = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
                break;
        case KIND_UNIX:
                if (s->alt) {
                        if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, h->fd) < 0)
                                return -errno;
                        return 0;
                }
                h->fd[0] = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
                break;
        case KIND_EVENTFD:
#ifdef SYS_eventfd
                if (s->alt) {
                        h->fd[0] = (int) syscall(SYS_eventfd, 0);
                        break;
                }
#endif
                h->fd[0] = (int) syscall(SYS_eventfd2, 0, EFD_CLOEXEC);
                break;
        case KIND_TIMERFD:
                h->fd[0] = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
                break;
        case KIND_PIPE:
#ifdef SYS_pipe
                if (s->alt) {
                        if (syscall(SYS_pipe, h->fd) < 0)
                                return -errno;
                        return 0;
                }
#endif
                if (pipe2(h->fd, O_CLOEXEC) < 0)
                        return -errno;
                return 0;
        case KIND_MSGQ: {
                struct msgbuf_small m = { .mtype = 1 };
                memset(m.mtext, 'x', sizeof m.mtext);
                if (s->msq < 0 && new_queue(s) < 0)
                        return -errno;
                while (msgsnd(s->msq, &m, sizeof m.mtext, IPC_NOWAIT) < 0) {
                        if (errno != EAGAIN)
                                return -errno;
                        /* Queue full (msgmnb): carry on in a new one. */
                        int r = new_queue(s);
                        if (r < 0)
                                return r;
                }
                h->fd[0] = s->msq;
                return 0;
        }
        default:
                return -EINVAL;
        }
        return h->fd[0] < 0 ? -errno : 0;
}

static void destroy_one(struct state *s, struct held *h) {
        if (s->kind == KIND_MSGQ) {
                struct msgbuf_small m;
                if (h->fd[0] >= 0)
                        (void) msgrcv(h->fd[0], &m, sizeof m.mtext, 0, IPC_NOWAIT);
                return;
        }
        for (int i = 0; i < 2; i++)
                if (h->fd[i] >= 0)
                        close(h->fd[i]);
}

static void release_queues(struct state *s) {
        for (size_t i = 0; i < s->n_queues; i++)
                (void) msgctl(s->queues[i], IPC_RMID, NULL);
        s->n_queues = 0;
}

/* ---- --print-cache ---- */

static char *read_slabinfo(void) {
        int fd = open(SLABINFO_PATH, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return NULL;
        char *buf = malloc(SLABINFO_MAX + 1);
        size_t len = 0;
        ssize_t n;
        while (buf && len < SLABINFO_MAX && (n = read(fd, buf + len, SLABINFO_MAX - len)) > 0)
                len += (size_t) n;
        close(fd);
        if (buf)
                buf[len] = '\0';
        return buf;
}

/* active_objs of @name in slabinfo text @si, or -1. */
static long long active_objs(const char *si, const char *name) {
        size_t nl = strlen(name);
        for (const char *l = si; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL)
                if (strncmp(l, name, nl) == 0 && l[nl] == ' ')
                        return strtoll(l + nl, NULL, 10);
        return -1;
}

static bool kmalloc_family(const char *name, size_t len) {
        static const char *const prefixes[] = { "kmalloc-", "dma-kmalloc-", "msg_msg-", "memdup_user-" };
        for (size_t i = 0; i < sizeof prefixes / sizeof *prefixes; i++) {
                size_t pl = strlen(prefixes[i]);
                if (len > pl && strncmp(name, prefixes[i], pl) == 0)
                        return true;
        }
        return false;
}

/* A named cache: the sysfs entry of the alias is a symlink into the merge
 * group's directory (or the cache's own directory); slabinfo lists the
 * group once, under the name of the cache that created it. */
static int print_alias_cache(const char *alias) {
        char path[PATH_MAX], target[PATH_MAX], other[PATH_MAX];
        snprintf(path, sizeof path, "%s/%s", SLAB_SYSFS, alias);
        if (!realpath(path, target)) {
                fprintf(stderr, "leaker: %s: %s\n", path, strerror(errno));
                return 1;
        }
        char *si = read_slabinfo();
        if (!si) {
                fprintf(stderr, "leaker: cannot read %s: %s\n", SLABINFO_PATH, strerror(errno));
                return 1;
        }
        int rc = 1;
        char *save = NULL;
        for (char *line = strtok_r(si, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char name[NAME_MAX_LEN];
                if (line[0] == '#' || strncmp(line, "slabinfo", 8) == 0 || sscanf(line, "%127s", name) != 1)
                        continue;
                snprintf(path, sizeof path, "%s/%s", SLAB_SYSFS, name);
                if (realpath(path, other) && strcmp(other, target) == 0) {
                        printf("%s\n", name);
                        rc = 0;
                        break;
                }
        }
        if (rc != 0)
                fprintf(stderr, "leaker: no /proc/slabinfo cache shares %s with %s\n", target, alias);
        free(si);
        return rc;
}

/* A kmalloc cache: create objects, see which kmalloc-family cache grew. */
static int print_measured_cache(struct state *s) {
        struct held *h = calloc(PROBE_OBJECTS, sizeof *h);
        char *before = read_slabinfo();
        if (!h || !before) {
                fprintf(stderr, "leaker: cannot read %s: %s\n", SLABINFO_PATH, strerror(errno));
                return 1;
        }
        size_t made = 0;
        for (; made < PROBE_OBJECTS; made++)
                if (create_one(s, &h[made]) < 0)
                        break;
        char *after = read_slabinfo();
        for (size_t i = 0; i < made; i++)
                destroy_one(s, &h[i]);
        release_queues(s);
        free(h);
        if (!after || made < PROBE_OBJECTS) {
                fprintf(stderr, "leaker: could only create %zu objects: %s\n", made, strerror(errno));
                free(before);
                free(after);
                return 1;
        }
        char best[NAME_MAX_LEN] = "";
        long long best_delta = 0;
        char *save = NULL;
        for (char *line = strtok_r(after, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char name[NAME_MAX_LEN];
                long long now;
                if (sscanf(line, "%127s %lld", name, &now) != 2 || !kmalloc_family(name, strlen(name)))
                        continue;
                long long then = active_objs(before, name);
                if (then >= 0 && now - then > best_delta) {
                        best_delta = now - then;
                        snprintf(best, sizeof best, "%s", name);
                }
        }
        free(before);
        free(after);
        /* Slabs fill a page at a time and others allocate too: most of
         * the objects is proof enough. */
        if (best_delta < PROBE_OBJECTS * 3 / 4) {
                fprintf(stderr, "leaker: no kmalloc cache grew by %d objects (best %s +%lld)\n", PROBE_OBJECTS,
                        best[0] ? best : "none", best_delta);
                return 1;
        }
        printf("%s\n", best);
        return 0;
}

static void usage(FILE *f) {
        fprintf(f, "usage: leaker --kind udp|unix|eventfd|timerfd|pipe|msgq --mode leak|churn\n"
                   "              [--rate N] [--count MAX] [--duration SECS] [--alt]\n"
                   "       leaker --kind KIND --print-cache\n");
}

static int parse_u64(const char *s, uint64_t *ret) {
        char *end;
        errno = 0;
        unsigned long long v = strtoull(s, &end, 10);
        if (errno || end == s || *end || s[0] == '-')
                return -EINVAL;
        *ret = v;
        return 0;
}

int main(int argc, char **argv) {
        struct state s = { .kind = _KIND_MAX, .msq = -1 };
        const char *mode = NULL;
        uint64_t rate = UINT64_MAX, count = UINT64_MAX, duration = 0;
        bool print_cache = false;

        for (int i = 1; i < argc; i++) {
                const char *a = argv[i];
                const char *v = i + 1 < argc ? argv[i + 1] : NULL;
                if (strcmp(a, "--kind") == 0 && v) {
                        for (int k = 0; k < _KIND_MAX; k++)
                                if (strcmp(v, kinds[k].name) == 0)
                                        s.kind = (enum kind) k;
                        i++;
                } else if (strcmp(a, "--mode") == 0 && v) {
                        mode = v;
                        i++;
                } else if (strcmp(a, "--rate") == 0 && v && parse_u64(v, &rate) == 0)
                        i++;
                else if (strcmp(a, "--count") == 0 && v && parse_u64(v, &count) == 0)
                        i++;
                else if (strcmp(a, "--duration") == 0 && v && parse_u64(v, &duration) == 0)
                        i++;
                else if (strcmp(a, "--alt") == 0)
                        s.alt = true;
                else if (strcmp(a, "--print-cache") == 0)
                        print_cache = true;
                else if (strcmp(a, "--help") == 0) {
                        usage(stdout);
                        return 0;
                } else {
                        usage(stderr);
                        return 2;
                }
        }
        if (s.kind == _KIND_MAX) {
                usage(stderr);
                return 2;
        }
        if (s.alt && !kinds[s.kind].has_alt) {
                fprintf(stderr, "leaker: %s has no alternate syscall\n", kinds[s.kind].name);
                return 2;
        }
        /* Up to the hard limit of open files: a leak holds one or two each. */
        struct rlimit rl;
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
                rl.rlim_cur = rl.rlim_max;
                (void) setrlimit(RLIMIT_NOFILE, &rl);
        }
        if (print_cache) {
                if (kinds[s.kind].alias)
                        return print_alias_cache(kinds[s.kind].alias);
                return print_measured_cache(&s);
        }

        bool leak;
        if (mode && strcmp(mode, "leak") == 0)
                leak = true;
        else if (mode && strcmp(mode, "churn") == 0)
                leak = false;
        else {
                usage(stderr);
                return 2;
        }
        if (leak && s.kind == KIND_UDP && s.alt) {
                fprintf(stderr, "leaker: udp --alt frees at once; it can only churn\n");
                return 2;
        }
        if (rate == UINT64_MAX)
                rate = leak ? 100 : 0;
        if (count == UINT64_MAX)
                count = leak ? 200 : 0;
        if (leak && (count == 0 || count > HOLD_MAX)) {
                fprintf(stderr, "leaker: --count must be 1..%d for a leak\n", HOLD_MAX);
                return 2;
        }

        struct sigaction sa = { .sa_handler = on_signal };
        sigemptyset(&sa.sa_mask);
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);

        struct held *held = leak ? calloc(count, sizeof *held) : NULL;
        if (leak && !held) {
                fprintf(stderr, "leaker: out of memory\n");
                return 1;
        }
        fprintf(stderr, "leaker: pid %d kind %s%s mode %s rate %llu/s count %llu\n", (int) getpid(),
                kinds[s.kind].name, s.alt ? " (alt)" : "", leak ? "leak" : "churn", (unsigned long long) rate,
                (unsigned long long) count);

        uint64_t start = now_ns();
        uint64_t end = duration ? start + duration * 1000000000ULL : UINT64_MAX;
        uint64_t next_progress = start + PROGRESS_NS;
        uint64_t ops = 0, held_n = 0;
        int rc = 0;
        bool announced = false;
        while (!stop_requested) {
                uint64_t now = now_ns();
                if (now >= end)
                        break;
                if (now >= next_progress) {
                        fprintf(stderr, "leaker: %s %llu\n", leak ? "held" : "churned",
                                (unsigned long long) (leak ? held_n : ops));
                        next_progress += PROGRESS_NS;
                }
                if (leak && held_n >= count) {
                        if (!announced) {
                                fprintf(stderr, "leaker: holding %llu\n", (unsigned long long) held_n);
                                announced = true;
                        }
                        sleep_until(next_progress < end ? next_progress : end);
                        continue;
                }
                if (!leak && count > 0 && ops >= count)
                        break;
                if (rate > 0) {
                        uint64_t due = start + ops * 1000000000ULL / rate;
                        if (due > now) {
                                sleep_until(due < next_progress ? due : next_progress);
                                continue;
                        }
                }
                struct held h;
                int r = create_one(&s, &h);
                if (r == -EMFILE && leak && held_n > 0) {
                        /* The per-process open-files limit (20,000 here):
                         * hold what we have. */
                        fprintf(stderr, "leaker: open-files limit reached after %llu objects\n",
                                (unsigned long long) held_n);
                        count = held_n;
                        continue;
                }
                if (r < 0) {
                        fprintf(stderr, "leaker: creating %s object %llu failed: %s\n", kinds[s.kind].name,
                                (unsigned long long) ops, strerror(-r));
                        rc = 1;
                        break;
                }
                ops++;
                if (leak)
                        held[held_n++] = h;
                else
                        destroy_one(&s, &h);
        }

        for (uint64_t i = 0; i < held_n; i++)
                destroy_one(&s, &held[i]);
        release_queues(&s);
        free(held);
        free(s.queues);
        fprintf(stderr, "leaker: exiting after %llu operations\n", (unsigned long long) ops);
        return rc;
}
