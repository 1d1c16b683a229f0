#include "capture/tracer.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifdef SLABWATCH_HAVE_TRACEFS
#include <event-parse.h>
#include <tracefs.h>
#else
#include "stacks/kallsyms.h"
#endif

#include "base/cacheid.h"
#include "capture/bulkfree.h"
#include "capture/kchange.h"
#include "core/log.h"
#include "core/readfile.h"
#include "stacks/frames.h"
#include "stacks/rawtrace.h"
#include "stacks/tracefmt.h"
#include "stacks/tracerec.h"

/* An event is reserved (and timestamped) a moment before it is committed:
 * hold back the release watermark by this much. */
#define WATERMARK_SLACK_NS (10ULL * 1000000ULL)
/* Without the mono trace clock there is no "now" to compare with: release
 * events this far behind the newest one instead. */
#define FALLBACK_WINDOW_NS (2ULL * 1000000000ULL)
/* Per-CPU loss counters are re-read at most this often while polling. */
#define STATS_INTERVAL_NS (1000ULL * 1000000ULL)
#define CPUS_MAX TRACEREC_CPUS_MAX
#define FILTER_MAX 256
#define DESCRIBE_MAX 768
#define PATH_BUF 4096
/* A per_cpu/cpuN/stats file is a few hundred bytes. */
#define STATS_FILE_MAX 4096
/* /proc/kallsyms of a distribution kernel with modules is ~10 MB. */
#define KALLSYMS_FILE_MAX (64u << 20)

/* One CPU's raw ring buffer, read a page at a time without blocking:
 * through libtracefs, or without it by read(2) on trace_pipe_raw, which
 * hands out whole pages just the same. */
#ifdef SLABWATCH_HAVE_TRACEFS
struct cpu_reader {
        struct tracefs_cpu *tcpu;
};

static int reader_open(struct cpu_reader *r, int fd, size_t page_size) {
        r->tcpu = tracefs_cpu_alloc_fd(fd, (int) page_size, true);
        return r->tcpu ? 0 : -ENOMEM;
}

static bool reader_is_open(const struct cpu_reader *r) {
        return r->tcpu != NULL;
}

static int reader_read(struct cpu_reader *r, void *page) {
        return tracefs_cpu_read(r->tcpu, page, true);
}

static void reader_close(struct cpu_reader *r) {
        tracefs_cpu_close(r->tcpu);
        r->tcpu = NULL;
}
#else
struct cpu_reader {
        int fd; /* trace_pipe_raw, O_NONBLOCK */
        bool open;
        size_t page_size;
};

static int reader_open(struct cpu_reader *r, int fd, size_t page_size) {
        r->fd = fd;
        r->open = true;
        r->page_size = page_size;
        return 0;
}

static bool reader_is_open(const struct cpu_reader *r) {
        return r->open;
}

/* Bytes read, 0 when the buffer is empty, -1 with errno on error. */
static int reader_read(struct cpu_reader *r, void *page) {
        ssize_t n = read(r->fd, page, r->page_size);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                return 0;
        return (int) n;
}

static void reader_close(struct cpu_reader *r) {
        if (r->open)
                close(r->fd);
        r->open = false;
}
#endif

struct tracer_event {
        bool used;
        char filter[FILTER_MAX]; /* "" = unfiltered */
};

struct tracer_cpu {
        int cpu;
        struct cpu_reader reader;
        uint64_t base_lost;
        bool base_known;
};

struct tracer {
        char *tracefs_dir;
        char cache[TRACER_CACHE_NAME_MAX + 1];
        char instance_name[TRACER_INSTANCE_NAME_MAX + 1];
        char instance_dir[PATH_BUF];
        char describe[DESCRIBE_MAX];

        /* kallsyms, to name the frames at the end. */
#ifdef SLABWATCH_HAVE_TRACEFS
        struct tep_handle *tep;
#else
        struct kallsyms *kallsyms;
#endif
        /* Every change to the kernel, undone in reverse: the instance, then
         * its settings; then, above events_depth, the events and tracing_on. */
        struct kchange *kernel;
        size_t events_depth;            /* changes before the events were enabled */
        bool stopped;
        bool mono_clock;

        struct tracefmt_event formats[_TRACEREC_KIND_MAX];
        bool have_format[_TRACEREC_KIND_MAX];
        bool have_trigger[_TRACEREC_KIND_MAX];  /* events/kmem/<event>/trigger exists */
        enum tracer_stacks stacks;              /* ALLOCS or ALL once set up */
        bool stacks_forced;                     /* the options chose, not the kernel */
        struct tracefmt_event kernel_stack;
        bool have_kernel_stack;
        struct tracefmt_page page_layout;
        struct tracer_event events[_TRACEREC_KIND_MAX];

        struct tracer_cpu *cpus;
        unsigned n_cpus;
        void *page;
        size_t page_size;
        uint64_t pages_per_poll;

        /* kprobe events for the frees no tracepoint shows (NULL: none). */
        struct bulkfree *bulk;

        struct pairing *pairing;
        struct tracerec *rec;
        /* raw.trace: the pages as read, until tracer_stop() finishes the file. */
        struct rawtrace_writer *raw;
        int raw_error;                          /* finishing the file failed */
        uint8_t *raw_data;
        size_t raw_len;
        bool frees_unfiltered;
        uint64_t settle_ns;
        uint64_t max_events;
        char kernel_release[128];
        uint64_t last_stats_ns;
        uint64_t cpu_start_ns;                  /* CLOCK_PROCESS_CPUTIME_ID when tracing began */
        uint64_t wall_start_ns;
        struct tracer_stats stats;
};

static uint64_t clock_ns(clockid_t id) {
        struct timespec ts;
        if (clock_gettime(id, &ts) < 0)
                return 0;
        return (uint64_t) ts.tv_sec * 1000000000ULL + (uint64_t) ts.tv_nsec;
}

static uint64_t mono_ns(void) {
        return clock_ns(CLOCK_MONOTONIC);
}

const char *tracer_stacks_name(enum tracer_stacks s) {
        switch (s) {
        case TRACER_STACKS_ALLOCS:
                return "allocations only (stacktrace trigger)";
        case TRACER_STACKS_ALL:
                return "every event (stacktrace option)";
        default:
                return "auto";
        }
}

int tracer_instance_name_for(const char *cache_name, char *buf, size_t size) {
        if (!cache_name || !*cache_name || !buf)
                return -EINVAL;
        size_t prefix = strlen(TRACER_INSTANCE_PREFIX);
        size_t len = prefix + strlen(cache_name);
        if (len > TRACER_INSTANCE_NAME_MAX || len + 1 > size)
                return -ENAMETOOLONG;
        memcpy(buf, TRACER_INSTANCE_PREFIX, prefix);
        for (size_t i = 0; cache_name[i]; i++) {
                char c = cache_name[i];
                buf[prefix + i] = isalnum((unsigned char) c) || c == '.' || c == '_' || c == '-' ? c : '_';
        }
        buf[len] = '\0';
        return 0;
}

/* The name goes between double quotes in a filter: refuse what would end
 * the string or that the kernel's filter parser treats specially. */
static bool cache_name_valid(const char *s) {
        size_t n = strlen(s);
        if (n == 0 || n > TRACER_CACHE_NAME_MAX)
                return false;
        for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char) s[i];
                if (c < 0x21 || c > 0x7e || c == '"' || c == '\\' || c == '*' || c == '?' || c == '[')
                        return false;
        }
        return true;
}

/* ---- formats ---- */

static int read_text(const char *dir, const char *rel, struct readfile_buf *b) {
        char path[PATH_BUF];
        int r = readfile_path(path, sizeof path, dir, rel);
        if (r < 0)
                return r;
        b->max = TRACEFMT_TEXT_MAX;
        return readfile_read(b, path);
}

static int read_format(const char *tracefs_dir, const char *system, const char *event, struct tracefmt_event *ret) {
        struct readfile_buf b = {};
        char rel[128];
        snprintf(rel, sizeof rel, "events/%s/%s/format", system, event);
        int r = read_text(tracefs_dir, rel, &b);
        if (r >= 0)
                r = tracefmt_parse(b.data, b.len, ret);
        readfile_done(&b);
        return r;
}

/* The formats a capture needs, read from @tracefs_dir: -ENOENT without
 * the header page or the kmem events (not a tracefs). */
static int load_formats(struct tracer *t, const char *tracefs_dir) {
        struct readfile_buf b = {};
        int r = read_text(tracefs_dir, "events/header_page", &b);
        if (r >= 0)
                r = tracefmt_parse_header_page(b.data, b.len, &t->page_layout);
        readfile_done(&b);
        if (r < 0)
                return -ENOENT;
        bool any = false;
        for (size_t i = 0; i < _TRACEREC_KIND_MAX; i++) {
                enum tracerec_kind k = (enum tracerec_kind) i;
                t->have_format[i] = read_format(tracefs_dir, "kmem", tracerec_kind_name(k), &t->formats[i]) == 0;
                any |= t->have_format[i];
                char path[PATH_BUF], rel[128];
                struct stat st;
                snprintf(rel, sizeof rel, "events/kmem/%s/trigger", tracerec_kind_name(k));
                t->have_trigger[i] = t->have_format[i] && readfile_path(path, sizeof path, tracefs_dir, rel) == 0 &&
                                     stat(path, &st) == 0 && S_ISREG(st.st_mode);
        }
        if (!any)
                return -ENOENT;
        t->have_kernel_stack = read_format(tracefs_dir, "ftrace", "kernel_stack", &t->kernel_stack) == 0;
        return 0;
}

static void fill_formats(const struct tracer *t, struct tracer_formats *f) {
        *f = (struct tracer_formats) {};
        const struct tracefmt_event *e = t->formats;
        if (t->have_format[TRACEREC_KMEM_CACHE_ALLOC]) {
                f->kmem_cache_alloc = true;
                f->kmem_cache_alloc_name = tracefmt_field(&e[TRACEREC_KMEM_CACHE_ALLOC], "name") != NULL;
                f->kmem_cache_alloc_bytes = tracefmt_field(&e[TRACEREC_KMEM_CACHE_ALLOC], "bytes_alloc") != NULL;
        }
        if (t->have_format[TRACEREC_KMEM_CACHE_FREE]) {
                f->kmem_cache_free = true;
                f->kmem_cache_free_name = tracefmt_field(&e[TRACEREC_KMEM_CACHE_FREE], "name") != NULL;
        }
        if (t->have_format[TRACEREC_KMALLOC]) {
                f->kmalloc = true;
                f->kmalloc_bytes = tracefmt_field(&e[TRACEREC_KMALLOC], "bytes_alloc") != NULL;
        }
        f->kfree = t->have_format[TRACEREC_KFREE];
        f->kernel_stack = t->have_kernel_stack;
        for (size_t i = 0; i < _TRACEREC_KIND_MAX; i++)
                f->triggers |= t->have_trigger[i];
}

int tracer_probe_formats(const char *tracefs_dir, struct tracer_formats *ret) {
        if (!tracefs_dir || !ret)
                return -EINVAL;
        struct tracer *t = calloc(1, sizeof *t);
        if (!t)
                return -ENOMEM;
        int r = load_formats(t, tracefs_dir);
        if (r == 0)
                fill_formats(t, ret);
        free(t);
        return r;
}

/* kallsyms for naming frames (and libtraceevent's own view of the events).
 * libtracefs looks for (and may mount) a tracing directory of its own when
 * ours has no events, and this version dereferences a NULL handle when the
 * header page or every system is missing: the formats were read first. */
#ifdef SLABWATCH_HAVE_TRACEFS
static struct tep_handle *load_tep(const char *tracefs_dir) {
        static const char *const systems[] = { "kmem", "ftrace", NULL };
        return tracefs_local_events_system(tracefs_dir, systems);
}

static int load_symbols(struct tracer *t, const struct tracer_options *o) {
        t->tep = load_tep(o->tracefs_dir);
        return t->tep ? 0 : -ENOENT;
}

static int lookup_symbol(const struct tracer *t, uint64_t address, const char **ret_name,
                         unsigned long long *ret_start, unsigned long *ret_size) {
        return t->tep && tep_find_function_info(t->tep, address, ret_name, ret_start, ret_size) > 0 && *ret_name;
}

static void free_symbols(struct tracer *t) {
        if (t->tep)
                tep_free(t->tep);
}
#else
/* Without libtraceevent: <proc>/kallsyms read once, at the start, like
 * libtraceevent does. Unreadable or hidden (kptr_restrict), the frames stay
 * addresses and the capture goes on. */
static int load_symbols(struct tracer *t, const struct tracer_options *o) {
        char path[PATH_BUF];
        struct readfile_buf b = { .max = KALLSYMS_FILE_MAX };
        int r = readfile_path(path, sizeof path, o->proc_dir ? o->proc_dir : "/proc", "kallsyms");
        if (r == 0)
                r = readfile_read(&b, path);
        if (r == 0)
                r = kallsyms_parse(b.data, b.len, &t->kallsyms);
        readfile_done(&b);
        if (r < 0)
                log_warning_errno(r, "Cannot read kernel symbols from %s: stacks stay addresses", path);
        return 0;
}

static int lookup_symbol(const struct tracer *t, uint64_t address, const char **ret_name,
                         unsigned long long *ret_start, unsigned long *ret_size) {
        uint64_t start, size;
        if (kallsyms_lookup(t->kallsyms, address, ret_name, &start, &size) <= 0)
                return 0;
        *ret_start = start;
        *ret_size = (unsigned long) size;
        return 1;
}

static void free_symbols(struct tracer *t) {
        kallsyms_free(t->kallsyms);
}
#endif

/* ---- loss counters ---- */

static int parse_stats_value(const char *buf, const char *key, uint64_t *ret) {
        size_t klen = strlen(key);
        for (const char *l = buf; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
                if (strncmp(l, key, klen) != 0 || l[klen] != ':')
                        continue;
                char *end;
                errno = 0;
                unsigned long long v = strtoull(l + klen + 1, &end, 10);
                if (errno || end == l + klen + 1)
                        return -EINVAL;
                *ret = v;
                return 0;
        }
        return -ENOENT;
}

/* overrun (oldest events overwritten), commit overrun and dropped events
 * (new events refused): every event the buffer did not keep. */
static int read_cpu_lost(struct tracer *t, int cpu, uint64_t *ret) {
        char rel[64];
        struct readfile_buf b = { .max = STATS_FILE_MAX };
        snprintf(rel, sizeof rel, "per_cpu/cpu%d/stats", cpu);
        int r = read_text(t->instance_dir, rel, &b);
        if (r < 0) {
                readfile_done(&b);
                return r;
        }
        uint64_t overrun = 0, commit = 0, dropped = 0;
        r = parse_stats_value(b.data, "overrun", &overrun);
        if (r == 0) {
                (void) parse_stats_value(b.data, "commit overrun", &commit);
                (void) parse_stats_value(b.data, "dropped events", &dropped);
        }
        readfile_done(&b);
        if (r < 0)
                return r;
        *ret = overrun + commit + dropped;
        return 0;
}

static void update_lost(struct tracer *t) {
        uint64_t lost = 0;
        bool known = true;
        for (unsigned i = 0; i < t->n_cpus; i++) {
                uint64_t v;
                if (!t->cpus[i].base_known || read_cpu_lost(t, t->cpus[i].cpu, &v) < 0) {
                        known = false;
                        continue;
                }
                lost += v >= t->cpus[i].base_lost ? v - t->cpus[i].base_lost : 0;
        }
        t->stats.lost_events = lost;
        t->stats.lost_known = known;
}

/* ---- reading ---- */

/* Read one CPU's buffer until it is empty (true) or the page budget of a
 * poll is spent (false). */
static int drain_cpu(struct tracer *t, struct tracer_cpu *c, bool *ret_drained) {
        for (uint64_t pages = 0; pages < t->pages_per_poll; pages++) {
                int n = reader_read(&c->reader, t->page);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return errno > 0 ? -errno : -EIO;
                }
                if (n == 0) {
                        *ret_drained = true;
                        return 0;
                }
                t->stats.bytes += (uint64_t) n;
                /* A short read leaves the rest of the page from the last one. */
                if ((size_t) n < t->page_size)
                        memset((char *) t->page + n, 0, t->page_size - (size_t) n);
                (void) tracerec_page(t->rec, (unsigned) c->cpu, t->page, t->page_size);
                if (t->raw) {
                        /* Left out by the cap (or memory): the file says it is truncated. */
                        if (rawtrace_writer_page(t->raw, (unsigned) c->cpu, t->page, t->page_size) != 0)
                                t->stats.raw_pages_dropped++;
                        else
                                t->stats.raw_pages++;
                }
        }
        *ret_drained = false;
        return 0;
}

static int drain_all(struct tracer *t) {
        struct tracerec_stats before;
        tracerec_get_stats(t->rec, &before);
        uint64_t round_start = mono_ns();
        uint64_t watermark = round_start > WATERMARK_SLACK_NS ? round_start - WATERMARK_SLACK_NS : 0;
        int err = 0;
        for (unsigned i = 0; i < t->n_cpus; i++) {
                struct tracer_cpu *c = &t->cpus[i];
                bool drained = false;
                int r = drain_cpu(t, c, &drained);
                if (r < 0 && err == 0)
                        err = r;
                watermark = tracerec_hold_watermark(t->rec, (unsigned) c->cpu, drained, watermark);
        }
        if (t->mono_clock)
                pairing_release(t->pairing, watermark);
        if (err < 0)
                return err;
        struct tracerec_stats after;
        tracerec_get_stats(t->rec, &after);
        uint64_t n = after.events - before.events;
        return n > INT32_MAX ? INT32_MAX : (int) n;
}

int tracer_poll(struct tracer *t) {
        if (!t || t->stopped)
                return -EINVAL;
        int r = drain_all(t);
        uint64_t now = mono_ns();
        if (now - t->last_stats_ns >= STATS_INTERVAL_NS) {
                update_lost(t);
                t->last_stats_ns = now;
        }
        return r;
}

bool tracer_end_allocs(struct tracer *t) {
        if (!t || t->stopped || !t->mono_clock)
                return false;
        pairing_end_allocs(t->pairing, mono_ns());
        return true;
}

bool tracer_limit_reached(const struct tracer *t) {
        struct tracerec_stats st;
        if (!t || !t->rec)
                return false;
        tracerec_get_stats(t->rec, &st);
        return st.limit_reached;
}

/* ---- setup and teardown ---- */

static int instance_apply(struct tracer *t, enum kchange_op op, const char *rel, const char *value) {
        char path[PATH_BUF];
        int r = readfile_path(path, sizeof path, t->instance_dir, rel);
        return r < 0 ? r : kchange_apply(t->kernel, op, path, value);
}

static void close_readers(struct tracer *t) {
        for (unsigned i = 0; i < t->n_cpus; i++) {
                reader_close(&t->cpus[i].reader);
        }
}

/* Undo the setup, newest change first (kchange), with the reading fitted
 * in: tracing stopped and the events off, then what is left drained and
 * the readers closed (the instance cannot be removed, nor its buffer
 * resized, while one is open), then the filters, option, buffer and clock
 * put back and the instance removed. */
static int teardown(struct tracer *t, bool drain) {
        int err = kchange_undo_to(t->kernel, t->events_depth);
        (void) bulkfree_disable(t->bulk);
        if (drain && t->rec) {
                int r = drain_all(t);
                if (r < 0 && err == 0)
                        err = r;
                update_lost(t);
        }
        close_readers(t);
        /* The kprobe events go before the instance that filters them. */
        bulkfree_free(t->bulk);
        t->bulk = NULL;
        int r = kchange_undo_to(t->kernel, 0);
        if (r < 0) {
                log_debug("tracefs: removing instance %s failed: %s", t->instance_name, strerror(-r));
                if (err == 0)
                        err = r;
        }
        t->stopped = true;
        return err;
}

/* Where the stacks come from. A `stacktrace if <filter>` trigger on each
 * allocation event records the stack after the event (the conditional
 * trigger runs once the event is written, as the stacktrace option does;
 * an unconditional one runs before it), and only for the events the filter
 * keeps: frees, far more numerous where kfree cannot be filtered, go
 * without. Where the kernel has no trigger files, or an allocation event
 * is traced unfiltered, the stacktrace option puts a stack on every event.
 * A trigger refused halfway is taken back before falling back. */
static int setup_stacks(struct tracer *t, enum tracer_stacks want) {
        char path[PATH_BUF], value[FILTER_MAX + 32];
        bool possible = true;
        for (size_t i = 0; i < _TRACEREC_KIND_MAX; i++)
                if (t->events[i].used && tracerec_kind_pairing((enum tracerec_kind) i) == PAIRING_ALLOC &&
                    (!t->have_trigger[i] || !t->events[i].filter[0]))
                        possible = false;
        t->stacks_forced = want != TRACER_STACKS_AUTO;
        if (want != TRACER_STACKS_ALL && possible) {
                size_t depth = kchange_depth(t->kernel);
                int r = 0;
                for (size_t i = 0; r == 0 && i < _TRACEREC_KIND_MAX; i++) {
                        if (!t->events[i].used || tracerec_kind_pairing((enum tracerec_kind) i) != PAIRING_ALLOC)
                                continue;
                        snprintf(path, sizeof path, "events/kmem/%s/trigger", tracerec_kind_name((enum tracerec_kind) i));
                        snprintf(value, sizeof value, "stacktrace if %s", t->events[i].filter);
                        r = instance_apply(t, KCHANGE_TRIGGER, path, value);
                }
                if (r == 0) {
                        t->stacks = TRACER_STACKS_ALLOCS;
                        return 0;
                }
                (void) kchange_undo_to(t->kernel, depth);
                if (want == TRACER_STACKS_ALLOCS)
                        return r;
                log_debug("tracefs: stacktrace trigger refused (%s), using the stacktrace option", strerror(-r));
                t->stacks_forced = false;
        } else if (want == TRACER_STACKS_ALLOCS)
                return -EOPNOTSUPP;
        t->stacks = TRACER_STACKS_ALL;
        return instance_apply(t, KCHANGE_OPTION, "options/stacktrace", "1");
}

static int choose_filters(struct tracer *t, const struct tracer_options *o) {
        enum tracer_filter mode = o->filter;
        struct cacheid_kmalloc km;
        bool is_kmalloc = cacheid_kmalloc_parse(t->cache, &km) == 0;
        if (mode == TRACER_FILTER_AUTO)
                mode = is_kmalloc ? TRACER_FILTER_KMALLOC : TRACER_FILTER_NAME;

        struct tracer_formats f;
        fill_formats(t, &f);
        if (!f.kernel_stack)
                return -EOPNOTSUPP;

        if (mode == TRACER_FILTER_KMALLOC) {
                uint64_t size = o->object_size ? o->object_size : is_kmalloc ? km.size : 0;
                if (size == 0 || !f.kmalloc_bytes || !f.kfree)
                        return size == 0 ? -EINVAL : -EOPNOTSUPP;
                t->events[TRACEREC_KMALLOC].used = true;
                snprintf(t->events[TRACEREC_KMALLOC].filter, FILTER_MAX, "bytes_alloc == %" PRIu64, size);
                /* kfree carries neither name nor size: take every free and
                 * keep those of pointers our kmallocs returned. kfree(NULL)
                 * is common and would cost a stack trace each. */
                t->events[TRACEREC_KFREE].used = true;
                snprintf(t->events[TRACEREC_KFREE].filter, FILTER_MAX, "ptr != 0");
                t->stats.alloc_filter_exact = true;
                return 1;
        }

        if (!f.kmem_cache_alloc || !f.kmem_cache_free)
                return -EOPNOTSUPP;
        t->events[TRACEREC_KMEM_CACHE_ALLOC].used = true;
        t->events[TRACEREC_KMEM_CACHE_FREE].used = true;
        if (f.kmem_cache_alloc_name) {
                snprintf(t->events[TRACEREC_KMEM_CACHE_ALLOC].filter, FILTER_MAX, "name == \"%s\"", t->cache);
                t->stats.alloc_filter_exact = true;
        } else if (f.kmem_cache_alloc_bytes && o->object_size > 0) {
                /* Before 6.18: by size, which other caches of that size share. */
                snprintf(t->events[TRACEREC_KMEM_CACHE_ALLOC].filter, FILTER_MAX, "bytes_alloc == %" PRIu64,
                         o->object_size);
        } else
                return -EOPNOTSUPP;
        if (f.kmem_cache_free_name) {
                snprintf(t->events[TRACEREC_KMEM_CACHE_FREE].filter, FILTER_MAX, "name == \"%s\"", t->cache);
                return 0;
        }
        return 1; /* frees unfiltered */
}

static void build_describe(struct tracer *t) {
        size_t off = 0;
        for (size_t i = 0; i < _TRACEREC_KIND_MAX; i++) {
                if (!t->events[i].used)
                        continue;
                const char *filter = t->events[i].filter[0] ? t->events[i].filter : "(unfiltered)";
                int n = snprintf(t->describe + off, sizeof t->describe - off, "%skmem:%s %s", off ? "; " : "",
                                 tracerec_kind_name((enum tracerec_kind) i), filter);
                if (n < 0 || (size_t) n >= sizeof t->describe - off)
                        break;
                off += (size_t) n;
        }
        if (t->stacks != TRACER_STACKS_AUTO && off < sizeof t->describe)
                snprintf(t->describe + off, sizeof t->describe - off, "%sstacks on %s%s", off ? "; " : "",
                         tracer_stacks_name(t->stacks),
                         t->stacks == TRACER_STACKS_ALL && !t->stacks_forced ? ": no event triggers here" : "");
}

/* Which records are which: the stack's format and the used events'. */
static int build_layout(const struct tracer *t, struct tracerec_layout *l) {
        int r = tracerec_layout_init(l, &t->page_layout, &t->kernel_stack);
        for (size_t i = 0; r == 0 && i < _TRACEREC_KIND_MAX; i++) {
                if (!t->events[i].used)
                        continue;
                r = tracerec_layout_use(l, (enum tracerec_kind) i, &t->formats[i]);
                l->events[i].stackless = t->stacks == TRACER_STACKS_ALLOCS &&
                                         tracerec_kind_pairing((enum tracerec_kind) i) == PAIRING_FREE;
        }
        if (r == 0 && t->bulk)
                l->bulk = *bulkfree_layout(t->bulk);
        return r;
}

static unsigned count_cpus(const char *instance_dir) {
        long conf = sysconf(_SC_NPROCESSORS_CONF);
        unsigned n = 0;
        char path[PATH_BUF];
        struct stat st;
        for (unsigned cpu = 0; cpu < CPUS_MAX; cpu++) {
                if (snprintf(path, sizeof path, "%s/per_cpu/cpu%u", instance_dir, cpu) >= (int) sizeof path)
                        break;
                if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
                        n = cpu + 1;
                else if (conf > 0 && cpu >= (unsigned) conf)
                        break;
        }
        return n;
}

static int open_readers(struct tracer *t, const char *instance_dir) {
        unsigned n = count_cpus(instance_dir);
        if (n == 0)
                return -ENOENT;
        t->cpus = calloc(n, sizeof *t->cpus);
        if (!t->cpus)
                return -ENOMEM;
        t->n_cpus = n;
        for (unsigned i = 0; i < n; i++) {
                struct tracer_cpu *c = &t->cpus[i];
                char path[PATH_BUF];
                c->cpu = (int) i;
                if (snprintf(path, sizeof path, "%s/per_cpu/cpu%u/trace_pipe_raw", instance_dir, i) >=
                    (int) sizeof path)
                        return -ENAMETOOLONG;
                int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
                if (fd < 0) {
                        if (errno == ENOENT)
                                continue; /* a hole in the possible CPUs */
                        return -errno;
                }
                int r = reader_open(&c->reader, fd, t->page_size);
                if (r < 0) {
                        close(fd);
                        return r;
                }
                uint64_t v;
                if (read_cpu_lost(t, c->cpu, &v) == 0) {
                        c->base_lost = v;
                        c->base_known = true;
                }
        }
        /* Keep only CPUs with a reader. */
        unsigned k = 0;
        for (unsigned i = 0; i < n; i++)
                if (reader_is_open(&t->cpus[i].reader))
                        t->cpus[k++] = t->cpus[i];
        t->n_cpus = k;
        return k > 0 ? 0 : -ENOENT;
}

/* raw.trace's writer, with the format texts it needs to decode on its own. */
static int start_raw(struct tracer *t, const struct tracer_options *o) {
        if (o->raw_trace_max_bytes == 0)
                return 0;
        int r = rawtrace_writer_new(o->raw_trace_max_bytes, &t->raw);
        struct readfile_buf b = {};
        if (r == 0)
                r = read_text(t->tracefs_dir, "events/header_page", &b);
        if (r == 0)
                r = rawtrace_writer_format(t->raw, "header_page", b.data, b.len);
        readfile_done(&b);
        b = (struct readfile_buf) {};
        if (r == 0)
                r = read_text(t->tracefs_dir, "events/ftrace/kernel_stack/format", &b);
        if (r == 0)
                r = rawtrace_writer_format(t->raw, "kernel_stack", b.data, b.len);
        readfile_done(&b);
        for (size_t i = 0; r == 0 && i < _TRACEREC_KIND_MAX; i++) {
                if (!t->events[i].used)
                        continue;
                char rel[128];
                const char *name = tracerec_kind_name((enum tracerec_kind) i);
                snprintf(rel, sizeof rel, "events/kmem/%s/format", name);
                b = (struct readfile_buf) {};
                r = read_text(t->tracefs_dir, rel, &b);
                if (r == 0)
                        r = rawtrace_writer_format(t->raw, name, b.data, b.len);
                readfile_done(&b);
        }
        return r;
}

/* The pairing and the record matcher, once the clock is known. */
static int start_matching(struct tracer *t, const struct tracer_options *o, bool frees_unfiltered, unsigned n_cpus) {
        struct tracerec_layout l;
        int r = build_layout(t, &l);
        if (r < 0)
                return r;
        r = pairing_new(&(struct pairing_options) {
                                .max_memory_bytes = o->max_memory_bytes,
                                .reorder_window_ns = t->mono_clock ? PAIRING_WINDOW_NONE : FALLBACK_WINDOW_NS,
                                .frees_unfiltered = frees_unfiltered,
                                .frees_stackless = t->stacks == TRACER_STACKS_ALLOCS,
                                .settle_ns = t->mono_clock ? o->settle_ns : 0,
                        },
                        &t->pairing);
        if (r < 0)
                return r;
        t->frees_unfiltered = frees_unfiltered;
        t->settle_ns = t->mono_clock ? o->settle_ns : 0;
        t->max_events = o->max_events ? o->max_events : TRACER_MAX_EVENTS_DEFAULT;
        r = start_raw(t, o);
        if (r < 0)
                return r;
        return tracerec_new(&l, n_cpus, t->max_events, tracerec_emit_to_pairing, t->pairing, &t->rec);
}

static void stop_bulk(struct tracer *t, const char *why) {
        bulkfree_free(t->bulk);
        t->bulk = NULL;
        t->stats.bulk_traced = false;
        snprintf(t->stats.bulk_reason, sizeof t->stats.bulk_reason, "%s", why);
}

/* Bulk frees (kfree_rcu batches, kfree_bulk) through kprobe events, where
 * the kernel has them: otherwise the reason, and the pairing infers those
 * frees when a pointer comes back. */
static void start_bulk(struct tracer *t, const struct tracer_options *o) {
        snprintf(t->stats.bulk_reason, sizeof t->stats.bulk_reason, "not asked for");
        if (!o->bulk_frees)
                return;
        if (!o->state_dir) {
                snprintf(t->stats.bulk_reason, sizeof t->stats.bulk_reason, "no state directory for the markers");
                return;
        }
        if (!bulkfree_available(o->tracefs_dir, t->stats.bulk_reason, sizeof t->stats.bulk_reason))
                return;
        /* kfree_bulk() and kfree_rcu's batches pass no cache (s == NULL),
         * which a filter can pick out; a named cache's bulk frees would need
         * its address, which nothing here shows, and everyone else's would
         * count as frees of older objects. */
        if (!t->events[TRACEREC_KFREE].used) {
                snprintf(t->stats.bulk_reason, sizeof t->stats.bulk_reason,
                         "only kmalloc classes: a named cache's bulk frees cannot be told from other caches'");
                return;
        }
        int r = bulkfree_start(&(struct bulkfree_options) {
                                       .tracefs_dir = o->tracefs_dir,
                                       .instance_dir = t->instance_dir,
                                       .state_dir = o->state_dir,
                                       .cache_name = t->cache,
                                       .long_size = t->page_layout.commit_size,
                                       .kmalloc_only = true,
                               },
                               &t->bulk);
        if (r < 0) {
                snprintf(t->stats.bulk_reason, sizeof t->stats.bulk_reason, "the kernel refused the kprobe on %s: %s",
                         BULKREC_FUNCTION, strerror(-r));
                return;
        }
        t->stats.bulk_traced = true;
        t->stats.bulk_reason[0] = '\0';
        size_t off = strlen(t->describe);
        snprintf(t->describe + off, sizeof t->describe - off, "; %s", bulkfree_describe(t->bulk));
}

int tracer_start(const struct tracer_options *o, struct tracer **ret) {
        if (!o || !ret || !o->tracefs_dir || !o->cache_name || !cache_name_valid(o->cache_name))
                return -EINVAL;
        struct tracer *t = calloc(1, sizeof *t);
        if (!t)
                return -ENOMEM;
        int r;
        char path[PATH_BUF], value[64];

        t->tracefs_dir = strdup(o->tracefs_dir);
        if (!t->tracefs_dir) {
                r = -ENOMEM;
                goto fail;
        }
        snprintf(t->cache, sizeof t->cache, "%s", o->cache_name);
        snprintf(t->kernel_release, sizeof t->kernel_release, "%s", o->kernel_release ? o->kernel_release : "");
        r = tracer_instance_name_for(o->cache_name, t->instance_name, sizeof t->instance_name);
        if (r < 0)
                goto fail;
        uint64_t buffer = o->buffer_bytes_per_cpu ? o->buffer_bytes_per_cpu : TRACER_BUFFER_DEFAULT;

        r = load_formats(t, o->tracefs_dir);
        if (r < 0)
                goto fail;
        r = choose_filters(t, o);
        if (r < 0)
                goto fail;
        bool frees_unfiltered = r > 0;
        struct tracerec_layout layout;
        r = build_layout(t, &layout);
        if (r < 0)
                goto fail;
        r = load_symbols(t, o);
        if (r < 0)
                goto fail;

        t->page_size = t->page_layout.page_size;
        t->page = malloc(t->page_size);
        if (!t->page) {
                r = -ENOMEM;
                goto fail;
        }
        t->pages_per_poll = buffer / t->page_size + 1;

        /* The instance's changes die with it: no marker needed. */
        r = kchange_new(NULL, &t->kernel);
        if (r < 0)
                goto fail;
        if (snprintf(t->instance_dir, sizeof t->instance_dir, "%s/instances/%s", o->tracefs_dir, t->instance_name) >=
            (int) sizeof t->instance_dir) {
                r = -ENAMETOOLONG;
                goto fail;
        }
        r = kchange_apply(t->kernel, KCHANGE_INSTANCE, t->instance_dir, NULL);
        if (r < 0)
                goto fail;
        /* One clock for all CPUs, comparable with CLOCK_MONOTONIC, so the
         * per-CPU streams can be merged against "now". */
        t->mono_clock = instance_apply(t, KCHANGE_TRACE_CLOCK, "trace_clock", "mono") == 0;
        if (!t->mono_clock) {
                r = instance_apply(t, KCHANGE_TRACE_CLOCK, "trace_clock", "global");
                if (r < 0)
                        goto fail;
        }
        snprintf(value, sizeof value, "%" PRIu64, (buffer + 1023) / 1024);
        r = instance_apply(t, KCHANGE_BUFFER_SIZE, "buffer_size_kb", value);
        for (size_t i = 0; r == 0 && i < _TRACEREC_KIND_MAX; i++) {
                if (!t->events[i].used || !t->events[i].filter[0])
                        continue;
                snprintf(path, sizeof path, "events/kmem/%s/filter", tracerec_kind_name((enum tracerec_kind) i));
                r = instance_apply(t, KCHANGE_FILTER, path, t->events[i].filter);
        }
        if (r == 0)
                r = setup_stacks(t, o->stacks);
        if (r < 0)
                goto fail;
        start_bulk(t, o);
        build_describe(t);

        r = open_readers(t, t->instance_dir);
        if (r < 0)
                goto fail;
        int max_cpu = 0;
        for (unsigned i = 0; i < t->n_cpus; i++)
                if (t->cpus[i].cpu > max_cpu)
                        max_cpu = t->cpus[i].cpu;
        r = start_matching(t, o, frees_unfiltered, (unsigned) max_cpu + 1);
        if (r < 0)
                goto fail;
        t->events_depth = kchange_depth(t->kernel);
        for (size_t i = 0; r == 0 && i < _TRACEREC_KIND_MAX; i++) {
                if (!t->events[i].used)
                        continue;
                /* Written directly rather than with tracefs_event_enable(),
                 * which lists the systems of the default tracing directory. */
                snprintf(path, sizeof path, "events/kmem/%s/enable", tracerec_kind_name((enum tracerec_kind) i));
                r = instance_apply(t, KCHANGE_EVENT, path, NULL);
        }
        if (r == 0 && t->bulk && bulkfree_enable(t->bulk) < 0)
                stop_bulk(t, "the kprobe events could not be enabled");
        if (r == 0)
                r = instance_apply(t, KCHANGE_TRACING_ON, "tracing_on", "1");
        if (r < 0)
                goto fail;
        t->stats.n_cpus = t->n_cpus;
        t->last_stats_ns = mono_ns();
        t->wall_start_ns = t->last_stats_ns;
        t->cpu_start_ns = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
        *ret = t;
        return 0;
fail:
        tracer_free(t);
        return r;
}

static int resolve_frame(uint64_t address, char *buf, size_t size, void *userdata) {
        struct tracer *t = userdata;
        const char *name = NULL;
        unsigned long long start = 0;
        unsigned long fsize = 0;
        if (!lookup_symbol(t, address, &name, &start, &fsize))
                return -ENOENT;
        if (fsize > 0)
                snprintf(buf, size, "%s+0x%llx/0x%lx", name, address - start, fsize);
        else
                snprintf(buf, size, "%s+0x%llx", name, address - start);
        /* The tracepoint's own frames sit on top of every stack: its probe,
         * and __traceiter_* when more than one tracer is attached. */
        return frames_classify(name, strlen(name)) == FRAMES_TRACING ? 1 : 0;
}

/* raw.trace made whole: what the replay needs to pair as we did, and the
 * names of the stacks' addresses while our symbols are loaded. */
static void finish_raw(struct tracer *t, uint64_t alloc_end_ns, uint64_t end_ns) {
        struct tracerec_layout l;
        if (!t->raw)
                return;
        int r = t->raw_error;
        if (r == 0)
                r = build_layout(t, &l);
        if (r == 0)
                r = rawtrace_writer_finish(t->raw, &l,
                                           &(struct rawtrace_meta) {
                                                   .cache = t->cache,
                                                   .kernel = t->kernel_release,
                                                   .stacks_allocs_only = t->stacks == TRACER_STACKS_ALLOCS,
                                                   .frees_unfiltered = t->frees_unfiltered,
                                                   .mono_clock = t->mono_clock,
                                                   .settle_ns = t->settle_ns,
                                                   .max_events = t->max_events,
                                                   .alloc_end_ns = alloc_end_ns,
                                                   .end_ns = end_ns,
                                           },
                                           resolve_frame, t, &t->raw_data, &t->raw_len);
        t->raw_error = r;
        rawtrace_writer_free(t->raw);
        t->raw = NULL;
}

int tracer_take_raw_trace(struct tracer *t, uint8_t **ret_data, size_t *ret_len) {
        if (!t || !ret_data || !ret_len)
                return -EINVAL;
        *ret_data = t->raw_data;
        *ret_len = t->raw_len;
        t->raw_data = NULL;
        t->raw_len = 0;
        return *ret_data ? 0 : t->raw_error;
}

int tracer_stop(struct tracer *t, struct pairing_result **ret) {
        if (!t || !ret || t->stopped)
                return -EINVAL;
        int err = teardown(t, true);
        uint64_t cpu = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
        t->stats.cpu_ns = cpu > t->cpu_start_ns ? cpu - t->cpu_start_ns : 0;
        t->stats.wall_ns = mono_ns() - t->wall_start_ns;
        /* Events that never got their stack go in as they are. */
        tracerec_flush(t->rec);
        struct pairing_result *r = NULL;
        uint64_t end_ns = mono_ns();
        int k = pairing_finish(t->pairing, end_ns, resolve_frame, t, &r);
        if (k < 0)
                return k;
        if (!t->mono_clock)
                r->end_ns = r->last_ts_ns;
        finish_raw(t, r->alloc_end_ns, end_ns);
        r->lost_events = t->stats.lost_events;
        *ret = r;
        return err;
}

int tracer_snapshot(struct tracer *t, size_t max_stacks, struct pairing_result **ret) {
        if (!t || !ret || t->stopped)
                return -EINVAL;
        struct pairing_result *r = NULL;
        int k = pairing_snapshot(t->pairing, mono_ns(), resolve_frame, t, max_stacks, &r);
        if (k < 0)
                return k;
        if (!t->mono_clock)
                r->end_ns = r->last_ts_ns;
        r->lost_events = t->stats.lost_events;
        *ret = r;
        return 0;
}

void tracer_free(struct tracer *t) {
        if (!t)
                return;
        /* Not stopped, or stopped but a change could not be undone then:
         * try (again) now. */
        if (!t->stopped || kchange_depth(t->kernel) > 0) {
                int r = teardown(t, false);
                if (r < 0)
                        log_warning_errno(r, "Failed to restore tracing state of instance %s/instances/%s",
                                          t->tracefs_dir ? t->tracefs_dir : "?", t->instance_name);
        }
        close_readers(t);
        bulkfree_free(t->bulk);
        kchange_free(t->kernel);
        free(t->cpus);
        tracerec_free(t->rec);
        pairing_free(t->pairing);
        rawtrace_writer_free(t->raw);
        free(t->raw_data);
        free(t->page);
        free_symbols(t);
        free(t->tracefs_dir);
        free(t);
}

void tracer_get_stats(const struct tracer *t, struct tracer_stats *ret) {
        *ret = t->stats;
        ret->mono_clock = t->mono_clock;
        ret->stacks_mode = t->stacks;
        if (!t->stopped && t->wall_start_ns) {
                uint64_t cpu = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
                ret->cpu_ns = cpu > t->cpu_start_ns ? cpu - t->cpu_start_ns : 0;
                ret->wall_ns = mono_ns() - t->wall_start_ns;
        }
        if (!t->rec)
                return;
        struct tracerec_stats st;
        tracerec_get_stats(t->rec, &st);
        ret->records = st.records;
        ret->events = st.events;
        ret->allocs = st.allocs;
        ret->frees = st.frees;
        ret->null_ptr = st.null_ptr;
        ret->stacks = st.stacks;
        ret->stacks_missing = st.stacks_missing;
        ret->stacks_orphaned = st.stacks_orphaned;
        ret->over_limit = st.over_limit;
        ret->missed_pages = st.missed_pages;
        ret->bad_pages = st.bad_pages;
        ret->bulk_calls = st.bulk_calls;
        ret->bulk_frees = st.bulk_frees;
        ret->bulk_uncovered = st.bulk_uncovered;
        ret->limit_reached = st.limit_reached;
}

const char *tracer_instance_name(const struct tracer *t) {
        return t->instance_name;
}

const char *tracer_describe(const struct tracer *t) {
        return t->describe;
}
