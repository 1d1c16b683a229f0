#include "capture/tracer.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include <event-parse.h>
#include <kbuffer.h>
#include <tracefs.h>

#include "base/cacheid.h"
#include "core/log.h"

#ifndef TRACEFS_MAGIC
#define TRACEFS_MAGIC 0x74726163
#endif

/* Events of one CPU that still wait for their stack record. Interrupts can
 * nest a few events between an event and its stack; more means a stack was
 * lost. */
#define PENDING_MAX 8
/* An event is reserved (and timestamped) a moment before it is committed:
 * hold back the release watermark by this much. */
#define WATERMARK_SLACK_NS (10ULL * 1000000ULL)
/* Without the mono trace clock there is no "now" to compare with: release
 * events this far behind the newest one instead. */
#define FALLBACK_WINDOW_NS (2ULL * 1000000000ULL)
/* Per-CPU loss counters are re-read at most this often while polling. */
#define STATS_INTERVAL_NS (1000ULL * 1000000ULL)
#define CPUS_MAX 4096
#define FILTER_MAX 256
#define DESCRIBE_MAX 768
#define PATH_BUF 4096

enum {
        EV_CACHE_ALLOC,
        EV_CACHE_FREE,
        EV_KMALLOC,
        EV_KFREE,
        _EV_MAX,
};

static const struct {
        const char *name;
        enum pairing_kind kind;
} event_table[_EV_MAX] = {
        [EV_CACHE_ALLOC] = { "kmem_cache_alloc", PAIRING_ALLOC },
        [EV_CACHE_FREE] = { "kmem_cache_free", PAIRING_FREE },
        [EV_KMALLOC] = { "kmalloc", PAIRING_ALLOC },
        [EV_KFREE] = { "kfree", PAIRING_FREE },
};

struct field_loc {
        int offset;
        int size;               /* 0: the event has no such field */
};

struct tracer_event {
        struct tep_event *ev;
        bool used;
        bool filter_written;
        bool enabled;
        int id;
        struct field_loc ptr;
        struct field_loc bytes;
        char filter[FILTER_MAX]; /* "" = unfiltered */
};

struct pending {
        uint64_t ts;
        uint64_t ptr;
        uint64_t bytes;
        int32_t pid;
        uint8_t flags;
        uint8_t preempt;
        uint8_t kind;
};

struct tracer_cpu {
        int cpu;
        struct tracefs_cpu *tcpu;
        uint64_t base_lost;
        bool base_known;
        uint64_t last_ts;
        struct pending pending[PENDING_MAX];
        size_t n_pending;
};

struct tracer {
        char *tracefs_dir;
        char cache[TRACER_CACHE_NAME_MAX + 1];
        char instance_name[TRACER_INSTANCE_NAME_MAX + 1];
        char instance_dir[PATH_BUF];
        char describe[DESCRIBE_MAX];

        struct tep_handle *tep;
        struct kbuffer *kbuf;
        struct tracefs_instance *inst;
        bool instance_created;
        bool option_on;
        bool tracing_on;
        bool stopped;
        bool mono_clock;

        struct tracer_event events[_EV_MAX];
        int stack_id;
        struct field_loc stack_size;
        struct field_loc stack_caller;
        struct field_loc common_type;
        struct field_loc common_flags;
        struct field_loc common_preempt;
        struct field_loc common_pid;
        int long_size;

        struct tracer_cpu *cpus;
        unsigned n_cpus;
        void *page;
        int page_size;
        uint64_t pages_per_poll;

        struct pairing *pairing;
        uint32_t empty_stack;
        uint64_t max_events;
        uint64_t last_stats_ns;
        struct tracer_stats stats;
};

static uint64_t mono_ns(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000000ULL + (uint64_t) ts.tv_nsec;
}

static uint64_t read_uint(const uint8_t *data, size_t len, struct field_loc f) {
        if (f.size <= 0 || (size_t) f.offset + (size_t) f.size > len)
                return 0;
        switch (f.size) {
        case 1:
                return data[f.offset];
        case 2: {
                uint16_t v;
                memcpy(&v, data + f.offset, sizeof v);
                return v;
        }
        case 4: {
                uint32_t v;
                memcpy(&v, data + f.offset, sizeof v);
                return v;
        }
        case 8: {
                uint64_t v;
                memcpy(&v, data + f.offset, sizeof v);
                return v;
        }
        default:
                return 0;
        }
}

static struct field_loc field_of(struct tep_event *ev, const char *name, bool common) {
        struct tep_format_field *f = common ? tep_find_common_field(ev, name) : tep_find_field(ev, name);
        if (!f)
                return (struct field_loc) {};
        return (struct field_loc) { .offset = f->offset, .size = f->size };
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

static void fill_formats(struct tep_handle *tep, struct tracer_formats *f) {
        struct tep_event *e;
        *f = (struct tracer_formats) {};
        if ((e = tep_find_event_by_name(tep, "kmem", "kmem_cache_alloc"))) {
                f->kmem_cache_alloc = true;
                f->kmem_cache_alloc_name = tep_find_field(e, "name") != NULL;
                f->kmem_cache_alloc_bytes = tep_find_field(e, "bytes_alloc") != NULL;
        }
        if ((e = tep_find_event_by_name(tep, "kmem", "kmem_cache_free"))) {
                f->kmem_cache_free = true;
                f->kmem_cache_free_name = tep_find_field(e, "name") != NULL;
        }
        if ((e = tep_find_event_by_name(tep, "kmem", "kmalloc"))) {
                f->kmalloc = true;
                f->kmalloc_bytes = tep_find_field(e, "bytes_alloc") != NULL;
        }
        f->kfree = tep_find_event_by_name(tep, "kmem", "kfree") != NULL;
        f->kernel_stack = tep_find_event_by_name(tep, "ftrace", "kernel_stack") != NULL;
}

static struct tep_handle *load_tep(const char *tracefs_dir) {
        static const char *const systems[] = { "kmem", "ftrace", NULL };
        /* libtracefs looks for (and may mount) a tracing directory of its
         * own when ours has no events, and this version dereferences a NULL
         * handle when the header page or every system is missing: check
         * that the files it needs are there first. */
        static const char *const required[] = { "events/header_page", "events/kmem/enable" };
        for (size_t i = 0; i < sizeof required / sizeof *required; i++) {
                char path[PATH_BUF];
                struct stat st;
                if (snprintf(path, sizeof path, "%s/%s", tracefs_dir, required[i]) >= (int) sizeof path ||
                    stat(path, &st) < 0)
                        return NULL;
        }
        return tracefs_local_events_system(tracefs_dir, systems);
}

int tracer_probe_formats(const char *tracefs_dir, struct tracer_formats *ret) {
        if (!tracefs_dir || !ret)
                return -EINVAL;
        struct tep_handle *tep = load_tep(tracefs_dir);
        if (!tep)
                return -ENOENT;
        fill_formats(tep, ret);
        tep_free(tep);
        return 0;
}

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
        char file[64];
        snprintf(file, sizeof file, "per_cpu/cpu%d/stats", cpu);
        char *buf = tracefs_instance_file_read(t->inst, file, NULL);
        if (!buf)
                return errno > 0 ? -errno : -EIO;
        uint64_t overrun = 0, commit = 0, dropped = 0;
        int r = parse_stats_value(buf, "overrun", &overrun);
        if (r == 0) {
                (void) parse_stats_value(buf, "commit overrun", &commit);
                (void) parse_stats_value(buf, "dropped events", &dropped);
        }
        free(buf);
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

/* ---- records ---- */

static void push_event(struct tracer *t, const struct tracer_cpu *c, const struct pending *p, const uint64_t *frames,
                       size_t n_frames) {
        if (t->stats.limit_reached) {
                t->stats.over_limit++;
                return;
        }
        if (p->ptr == 0) {
                /* kfree(NULL) is traced too, and common: nothing to pair. */
                t->stats.null_ptr++;
                return;
        }
        uint32_t id = t->empty_stack;
        int r = 0;
        if (n_frames > 0)
                r = pairing_intern_stack(t->pairing, frames, n_frames, &id);
        if (r == 0)
                r = pairing_push(t->pairing, &(struct pairing_event) {
                                                     .timestamp_ns = p->ts,
                                                     .ptr = p->ptr,
                                                     .bytes = p->bytes,
                                                     .cpu = (uint32_t) c->cpu,
                                                     .pid = p->pid,
                                                     .kind = p->kind,
                                                     .stack_id = id,
                                             });
        if (r < 0) {
                /* The memory bound (or, never expected, an allocation
                 * failure): stop here and say so rather than pair a part. */
                t->stats.limit_reached = true;
                t->stats.over_limit++;
                return;
        }
        t->stats.events++;
        if (p->kind == PAIRING_ALLOC)
                t->stats.allocs++;
        else
                t->stats.frees++;
        if (t->stats.events >= t->max_events)
                t->stats.limit_reached = true;
}

static void pending_drop_first(struct tracer_cpu *c) {
        memmove(c->pending, c->pending + 1, (c->n_pending - 1) * sizeof *c->pending);
        c->n_pending--;
}

static void handle_event(struct tracer *t, struct tracer_cpu *c, const struct tracer_event *e, uint64_t ts,
                         const uint8_t *data, size_t len) {
        if (c->n_pending == PENDING_MAX) {
                t->stats.stacks_missing++;
                push_event(t, c, &c->pending[0], NULL, 0);
                pending_drop_first(c);
        }
        enum pairing_kind kind = event_table[e - t->events].kind;
        c->pending[c->n_pending++] = (struct pending) {
                .ts = ts,
                .ptr = read_uint(data, len, e->ptr),
                .bytes = kind == PAIRING_ALLOC ? read_uint(data, len, e->bytes) : 0,
                .pid = (int32_t) read_uint(data, len, t->common_pid),
                .flags = (uint8_t) read_uint(data, len, t->common_flags),
                .preempt = (uint8_t) read_uint(data, len, t->common_preempt),
                .kind = (uint8_t) kind,
        };
}

/* The stack record follows its event on the same CPU, from the same
 * context (pid, irq flags, preempt count); an interrupt's event and stack
 * can come in between, so match the newest pending event of that context. */
static void handle_stack(struct tracer *t, struct tracer_cpu *c, const uint8_t *data, size_t len) {
        int32_t pid = (int32_t) read_uint(data, len, t->common_pid);
        uint8_t flags = (uint8_t) read_uint(data, len, t->common_flags);
        uint8_t preempt = (uint8_t) read_uint(data, len, t->common_preempt);

        size_t j = c->n_pending;
        while (j > 0) {
                const struct pending *p = &c->pending[j - 1];
                if (p->pid == pid && p->flags == flags && p->preempt == preempt)
                        break;
                j--;
        }
        if (j == 0) {
                t->stats.stacks_orphaned++;
                return;
        }
        j--;

        /* `size` entries follow, whatever the format's caller[8] says. */
        uint64_t frames[PAIRING_FRAMES_MAX + 1];
        uint64_t n = read_uint(data, len, t->stack_size);
        size_t off = (size_t) t->stack_caller.offset;
        size_t ls = (size_t) t->long_size;
        size_t room = len > off ? (len - off) / ls : 0;
        if (n > room)
                n = room;
        if (n > PAIRING_FRAMES_MAX + 1)
                n = PAIRING_FRAMES_MAX + 1; /* pairing marks it cut */
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
                struct field_loc f = { .offset = (int) (off + i * ls), .size = (int) ls };
                frames[k++] = read_uint(data, len, f);
        }
        /* Older kernels end the list with ULONG_MAX or zeros. */
        while (k > 0 && (frames[k - 1] == 0 || frames[k - 1] == UINT64_MAX ||
                         (ls == 4 && frames[k - 1] == UINT32_MAX)))
                k--;

        /* Events of other contexts above it never got their stack. */
        for (size_t i = j + 1; i < c->n_pending; i++) {
                t->stats.stacks_missing++;
                push_event(t, c, &c->pending[i], NULL, 0);
        }
        push_event(t, c, &c->pending[j], frames, k);
        c->n_pending = j;
}

static void handle_record(struct tracer *t, struct tracer_cpu *c, uint64_t ts, const uint8_t *data, size_t len) {
        t->stats.records++;
        if (len < 8)
                return;
        int type = (int) read_uint(data, len, t->common_type);
        if (type == t->stack_id) {
                handle_stack(t, c, data, len);
                return;
        }
        for (size_t i = 0; i < _EV_MAX; i++)
                if (t->events[i].used && t->events[i].id == type) {
                        handle_event(t, c, &t->events[i], ts, data, len);
                        return;
                }
}

/* Read one CPU's buffer until it is empty (true) or the page budget of a
 * poll is spent (false). */
static int drain_cpu(struct tracer *t, struct tracer_cpu *c, bool *ret_drained) {
        for (uint64_t pages = 0; pages < t->pages_per_poll; pages++) {
                int n = tracefs_cpu_read(c->tcpu, t->page, true);
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
                if (kbuffer_load_subbuffer(t->kbuf, t->page) < 0) {
                        t->stats.bad_pages++;
                        continue;
                }
                if (kbuffer_missed_events(t->kbuf) != 0)
                        t->stats.missed_pages++;
                unsigned long long ts;
                for (void *d = kbuffer_read_event(t->kbuf, &ts); d; d = kbuffer_next_event(t->kbuf, &ts)) {
                        int size = kbuffer_event_size(t->kbuf);
                        if (size <= 0)
                                continue;
                        handle_record(t, c, ts, d, (size_t) size);
                        c->last_ts = ts;
                }
        }
        *ret_drained = false;
        return 0;
}

static int drain_all(struct tracer *t) {
        uint64_t before = t->stats.events;
        uint64_t round_start = mono_ns();
        uint64_t watermark = round_start > WATERMARK_SLACK_NS ? round_start - WATERMARK_SLACK_NS : 0;
        int err = 0;
        for (unsigned i = 0; i < t->n_cpus; i++) {
                struct tracer_cpu *c = &t->cpus[i];
                bool drained = false;
                int r = drain_cpu(t, c, &drained);
                if (r < 0 && err == 0)
                        err = r;
                /* What is still in a CPU's buffer is newer than what was
                 * read from it; an event waiting for its stack is pushed
                 * later and must not find its turn gone. */
                if (!drained && c->last_ts < watermark)
                        watermark = c->last_ts;
                if (c->n_pending > 0 && c->pending[0].ts <= watermark)
                        watermark = c->pending[0].ts ? c->pending[0].ts - 1 : 0;
        }
        if (t->mono_clock)
                pairing_release(t->pairing, watermark);
        if (err < 0)
                return err;
        uint64_t n = t->stats.events - before;
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

bool tracer_limit_reached(const struct tracer *t) {
        return t && t->stats.limit_reached;
}

/* ---- setup and teardown ---- */

static int write_instance_file(struct tracer *t, const char *file, const char *value) {
        if (tracefs_instance_file_write(t->inst, file, value) < 0) {
                int r = errno > 0 ? -errno : -EIO;
                log_debug("tracefs: writing \"%s\" to %s/instances/%s/%s failed: %s", value, t->tracefs_dir,
                          t->instance_name, file, strerror(-r));
                return r;
        }
        return 0;
}

static int event_enable(struct tracer *t, size_t i, bool on) {
        char file[128];
        snprintf(file, sizeof file, "events/kmem/%s/enable", event_table[i].name);
        /* Written directly rather than with tracefs_event_enable(), which
         * lists the systems of the default tracing directory, not ours. */
        return write_instance_file(t, file, on ? "1" : "0");
}

/* Undo whatever setup got done, in the order that lets the last step
 * succeed: the instance cannot be removed while a reader is open. */
static int teardown(struct tracer *t, bool drain) {
        int err = 0, r;
        if (!t->inst) {
                /* Set up no further than the mkdir. */
                if (t->instance_created && rmdir(t->instance_dir) < 0)
                        err = -errno;
                else
                        t->instance_created = false;
                goto destroyed;
        }
        for (size_t i = 0; i < _EV_MAX; i++)
                if (t->events[i].enabled) {
                        r = event_enable(t, i, false);
                        if (r < 0) {
                                if (err == 0)
                                        err = r;
                        } else
                                t->events[i].enabled = false;
                }
        if (drain) {
                r = drain_all(t);
                if (r < 0 && err == 0)
                        err = r;
                update_lost(t);
        }
        for (size_t i = 0; i < _EV_MAX; i++)
                if (t->events[i].filter_written) {
                        if (tracefs_event_filter_clear(t->inst, t->events[i].ev) < 0) {
                                if (err == 0)
                                        err = errno > 0 ? -errno : -EIO;
                        } else
                                t->events[i].filter_written = false;
                }
        if (t->option_on) {
                if (tracefs_option_disable(t->inst, TRACEFS_OPTION_STACKTRACE) < 0) {
                        if (err == 0)
                                err = errno > 0 ? -errno : -EIO;
                } else
                        t->option_on = false;
        }
        if (t->tracing_on) {
                (void) tracefs_trace_off(t->inst);
                t->tracing_on = false;
        }
        for (unsigned i = 0; i < t->n_cpus; i++) {
                tracefs_cpu_close(t->cpus[i].tcpu);
                t->cpus[i].tcpu = NULL;
        }
        if (t->instance_created) {
                if (tracefs_instance_destroy(t->inst) < 0) {
                        r = errno > 0 ? -errno : -EIO;
                        log_debug("tracefs: removing instance %s failed: %s", t->instance_name, strerror(-r));
                        if (err == 0)
                                err = r;
                } else
                        t->instance_created = false;
        }
        tracefs_instance_free(t->inst);
        t->inst = NULL;
destroyed:
        t->stopped = true;
        return err;
}

static int choose_filters(struct tracer *t, const struct tracer_options *o) {
        enum tracer_filter mode = o->filter;
        struct cacheid_kmalloc km;
        bool is_kmalloc = cacheid_kmalloc_parse(t->cache, &km) == 0;
        if (mode == TRACER_FILTER_AUTO)
                mode = is_kmalloc ? TRACER_FILTER_KMALLOC : TRACER_FILTER_NAME;

        struct tracer_formats f;
        fill_formats(t->tep, &f);
        if (!f.kernel_stack)
                return -EOPNOTSUPP;

        if (mode == TRACER_FILTER_KMALLOC) {
                uint64_t size = o->object_size ? o->object_size : is_kmalloc ? km.size : 0;
                if (size == 0 || !f.kmalloc_bytes || !f.kfree)
                        return size == 0 ? -EINVAL : -EOPNOTSUPP;
                t->events[EV_KMALLOC].used = true;
                snprintf(t->events[EV_KMALLOC].filter, FILTER_MAX, "bytes_alloc == %" PRIu64, size);
                /* kfree carries neither name nor size: take every free and
                 * keep those of pointers our kmallocs returned. kfree(NULL)
                 * is common and would cost a stack trace each. */
                t->events[EV_KFREE].used = true;
                snprintf(t->events[EV_KFREE].filter, FILTER_MAX, "ptr != 0");
                t->stats.alloc_filter_exact = true;
                return 1;
        }

        if (!f.kmem_cache_alloc || !f.kmem_cache_free)
                return -EOPNOTSUPP;
        t->events[EV_CACHE_ALLOC].used = true;
        t->events[EV_CACHE_FREE].used = true;
        if (f.kmem_cache_alloc_name) {
                snprintf(t->events[EV_CACHE_ALLOC].filter, FILTER_MAX, "name == \"%s\"", t->cache);
                t->stats.alloc_filter_exact = true;
        } else if (f.kmem_cache_alloc_bytes && o->object_size > 0) {
                /* Before 6.18: by size, which other caches of that size share. */
                snprintf(t->events[EV_CACHE_ALLOC].filter, FILTER_MAX, "bytes_alloc == %" PRIu64, o->object_size);
        } else
                return -EOPNOTSUPP;
        if (f.kmem_cache_free_name) {
                snprintf(t->events[EV_CACHE_FREE].filter, FILTER_MAX, "name == \"%s\"", t->cache);
                return 0;
        }
        return 1; /* frees unfiltered */
}

static void build_describe(struct tracer *t) {
        size_t off = 0;
        for (size_t i = 0; i < _EV_MAX; i++) {
                if (!t->events[i].used)
                        continue;
                int n = snprintf(t->describe + off, sizeof t->describe - off, "%skmem:%s %s", off ? "; " : "",
                                 event_table[i].name, t->events[i].filter[0] ? t->events[i].filter : "(unfiltered)");
                if (n < 0 || (size_t) n >= sizeof t->describe - off)
                        break;
                off += (size_t) n;
        }
}

static int resolve_events(struct tracer *t) {
        for (size_t i = 0; i < _EV_MAX; i++) {
                struct tracer_event *e = &t->events[i];
                if (!e->used)
                        continue;
                e->ev = tep_find_event_by_name(t->tep, "kmem", event_table[i].name);
                if (!e->ev)
                        return -EOPNOTSUPP;
                e->id = e->ev->id;
                e->ptr = field_of(e->ev, "ptr", false);
                e->bytes = field_of(e->ev, "bytes_alloc", false);
                if (e->ptr.size != 4 && e->ptr.size != 8)
                        return -EOPNOTSUPP;
        }
        struct tep_event *ks = tep_find_event_by_name(t->tep, "ftrace", "kernel_stack");
        if (!ks)
                return -EOPNOTSUPP;
        t->stack_id = ks->id;
        t->stack_size = field_of(ks, "size", false);
        t->stack_caller = field_of(ks, "caller", false);
        t->common_type = field_of(ks, "common_type", true);
        t->common_flags = field_of(ks, "common_flags", true);
        t->common_preempt = field_of(ks, "common_preempt_count", true);
        t->common_pid = field_of(ks, "common_pid", true);
        t->long_size = tep_get_long_size(t->tep);
        if (t->long_size != 4 && t->long_size != 8)
                t->long_size = (int) sizeof(long);
        if (t->stack_size.size == 0 || t->stack_caller.size == 0 || t->common_type.size == 0 ||
            t->common_pid.size == 0)
                return -EOPNOTSUPP;
        return 0;
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
                c->tcpu = tracefs_cpu_alloc_fd(fd, t->page_size, true);
                if (!c->tcpu) {
                        close(fd);
                        return -ENOMEM;
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
                if (t->cpus[i].tcpu)
                        t->cpus[k++] = t->cpus[i];
        t->n_cpus = k;
        return k > 0 ? 0 : -ENOENT;
}

int tracer_start(const struct tracer_options *o, struct tracer **ret) {
        if (!o || !ret || !o->tracefs_dir || !o->cache_name || !cache_name_valid(o->cache_name))
                return -EINVAL;
        struct tracer *t = calloc(1, sizeof *t);
        if (!t)
                return -ENOMEM;
        int r;
        char instances[PATH_BUF];

        t->tracefs_dir = strdup(o->tracefs_dir);
        if (!t->tracefs_dir) {
                r = -ENOMEM;
                goto fail;
        }
        snprintf(t->cache, sizeof t->cache, "%s", o->cache_name);
        r = tracer_instance_name_for(o->cache_name, t->instance_name, sizeof t->instance_name);
        if (r < 0)
                goto fail;
        t->max_events = o->max_events ? o->max_events : TRACER_MAX_EVENTS_DEFAULT;
        uint64_t buffer = o->buffer_bytes_per_cpu ? o->buffer_bytes_per_cpu : TRACER_BUFFER_DEFAULT;

        t->tep = load_tep(o->tracefs_dir);
        if (!t->tep) {
                r = -ENOENT;
                goto fail;
        }
        r = choose_filters(t, o);
        if (r < 0)
                goto fail;
        bool frees_unfiltered = r > 0;
        r = resolve_events(t);
        if (r < 0)
                goto fail;
        build_describe(t);

        t->page_size = tep_get_sub_buffer_size(t->tep);
        if (t->page_size <= 0)
                t->page_size = (int) sysconf(_SC_PAGESIZE);
        t->page = malloc((size_t) t->page_size);
        t->kbuf = tep_kbuffer(t->tep);
        if (!t->page || !t->kbuf) {
                r = -ENOMEM;
                goto fail;
        }
        t->pages_per_poll = buffer / (uint64_t) t->page_size + 1;

        r = pairing_new(&(struct pairing_options) {
                                .max_memory_bytes = o->max_memory_bytes,
                                .reorder_window_ns = PAIRING_WINDOW_NONE,
                                .frees_unfiltered = frees_unfiltered,
                        },
                        &t->pairing);
        if (r < 0)
                goto fail;
        r = pairing_intern_stack(t->pairing, NULL, 0, &t->empty_stack);
        if (r < 0)
                goto fail;

        if (snprintf(instances, sizeof instances, "%s/instances", o->tracefs_dir) >= (int) sizeof instances ||
            snprintf(t->instance_dir, sizeof t->instance_dir, "%s/%s", instances, t->instance_name) >=
                    (int) sizeof t->instance_dir) {
                r = -ENAMETOOLONG;
                goto fail;
        }
        if (mkdir(t->instance_dir, 0700) < 0) {
                r = errno == EEXIST ? -EBUSY : -errno;
                goto fail;
        }
        t->instance_created = true;
        t->inst = tracefs_instance_alloc(o->tracefs_dir, t->instance_name);
        if (!t->inst) {
                r = errno > 0 ? -errno : -ENOMEM;
                goto fail;
        }

        r = write_instance_file(t, "tracing_on", "0");
        if (r < 0)
                goto fail;
        /* One clock for all CPUs, comparable with CLOCK_MONOTONIC, so the
         * per-CPU streams can be merged against "now". */
        t->mono_clock = write_instance_file(t, "trace_clock", "mono") == 0;
        if (!t->mono_clock) {
                r = write_instance_file(t, "trace_clock", "global");
                if (r < 0)
                        goto fail;
                pairing_free(t->pairing);
                t->pairing = NULL;
                r = pairing_new(&(struct pairing_options) {
                                        .max_memory_bytes = o->max_memory_bytes,
                                        .reorder_window_ns = FALLBACK_WINDOW_NS,
                                        .frees_unfiltered = frees_unfiltered,
                                },
                                &t->pairing);
                if (r == 0)
                        r = pairing_intern_stack(t->pairing, NULL, 0, &t->empty_stack);
                if (r < 0)
                        goto fail;
        }
        if (tracefs_instance_set_buffer_size(t->inst, (size_t) ((buffer + 1023) / 1024), -1) < 0) {
                r = errno > 0 ? -errno : -EIO;
                goto fail;
        }
        if (tracefs_option_enable(t->inst, TRACEFS_OPTION_STACKTRACE) < 0) {
                r = errno > 0 ? -errno : -EIO;
                goto fail;
        }
        t->option_on = true;
        for (size_t i = 0; i < _EV_MAX; i++) {
                struct tracer_event *e = &t->events[i];
                if (!e->used || !e->filter[0])
                        continue;
                /* Returns the bytes written on success, not 0. */
                if (tracefs_event_filter_apply(t->inst, e->ev, e->filter) < 0) {
                        r = errno > 0 ? -errno : -EINVAL;
                        log_debug("tracefs: filter '%s' on kmem:%s refused: %s", e->filter, event_table[i].name,
                                  strerror(-r));
                        goto fail;
                }
                e->filter_written = true;
        }

        r = open_readers(t, t->instance_dir);
        if (r < 0)
                goto fail;
        for (size_t i = 0; i < _EV_MAX; i++) {
                if (!t->events[i].used)
                        continue;
                r = event_enable(t, i, true);
                if (r < 0)
                        goto fail;
                t->events[i].enabled = true;
        }
        t->tracing_on = true;
        if (tracefs_trace_on(t->inst) < 0) {
                r = errno > 0 ? -errno : -EIO;
                goto fail;
        }
        t->stats.n_cpus = t->n_cpus;
        t->last_stats_ns = mono_ns();
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
        if (tep_find_function_info(t->tep, address, &name, &start, &fsize) <= 0 || !name)
                return -ENOENT;
        if (fsize > 0)
                snprintf(buf, size, "%s+0x%llx/0x%lx", name, address - start, fsize);
        else
                snprintf(buf, size, "%s+0x%llx", name, address - start);
        /* The tracepoint's own frames sit on top of every stack: its probe,
         * and __traceiter_* when more than one tracer is attached. */
        static const char *const machinery[] = { "trace_event_raw_event_", "__traceiter_", "perf_trace_" };
        for (size_t i = 0; i < sizeof machinery / sizeof *machinery; i++)
                if (strncmp(name, machinery[i], strlen(machinery[i])) == 0)
                        return 1;
        return 0;
}

int tracer_stop(struct tracer *t, struct pairing_result **ret) {
        if (!t || !ret || t->stopped)
                return -EINVAL;
        int err = teardown(t, true);
        /* Events that never got their stack go in as they are. */
        for (unsigned i = 0; i < t->n_cpus; i++) {
                struct tracer_cpu *c = &t->cpus[i];
                for (size_t j = 0; j < c->n_pending; j++) {
                        t->stats.stacks_missing++;
                        push_event(t, c, &c->pending[j], NULL, 0);
                }
                c->n_pending = 0;
        }
        struct pairing_result *r = NULL;
        int k = pairing_finish(t->pairing, mono_ns(), resolve_frame, t, &r);
        if (k < 0)
                return k;
        if (!t->mono_clock)
                r->end_ns = r->last_ts_ns;
        r->lost_events = t->stats.lost_events;
        *ret = r;
        return err;
}

void tracer_free(struct tracer *t) {
        if (!t)
                return;
        /* Not stopped, or stopped but the instance could not be removed
         * then: try (again) now. */
        if (!t->stopped || t->instance_created) {
                int r = teardown(t, false);
                if (r < 0)
                        log_warning_errno(r, "Failed to restore tracing state of instance %s/instances/%s",
                                          t->tracefs_dir ? t->tracefs_dir : "?", t->instance_name);
        }
        for (unsigned i = 0; i < t->n_cpus; i++)
                tracefs_cpu_close(t->cpus[i].tcpu);
        free(t->cpus);
        pairing_free(t->pairing);
        if (t->kbuf)
                kbuffer_free(t->kbuf);
        free(t->page);
        if (t->tep)
                tep_free(t->tep);
        free(t->tracefs_dir);
        free(t);
}

void tracer_get_stats(const struct tracer *t, struct tracer_stats *ret) {
        *ret = t->stats;
}

const char *tracer_instance_name(const struct tracer *t) {
        return t->instance_name;
}

const char *tracer_describe(const struct tracer *t) {
        return t->describe;
}

/* ---- stale instances and the mount ---- */

int tracer_cleanup_stale(const char *tracefs_dir) {
        char dir[PATH_BUF];
        if (!tracefs_dir)
                return -EINVAL;
        if (snprintf(dir, sizeof dir, "%s/instances", tracefs_dir) >= (int) sizeof dir)
                return -ENAMETOOLONG;
        DIR *d = opendir(dir);
        if (!d)
                return errno == ENOENT ? 0 : -errno;
        int removed = 0, err = 0;
        struct dirent *de;
        while ((de = readdir(d))) {
                if (strncmp(de->d_name, TRACER_INSTANCE_PREFIX, strlen(TRACER_INSTANCE_PREFIX)) != 0)
                        continue;
                char inst[PATH_BUF];
                if (snprintf(inst, sizeof inst, "%s/%s", dir, de->d_name) >= (int) sizeof inst)
                        continue;
                /* Removing an instance also disables its events. One whose
                 * readers are open is a live capture of another process:
                 * the kernel refuses with EBUSY, and it is left alone. */
                if (rmdir(inst) < 0) {
                        int r = -errno;
                        if (r == -EBUSY) {
                                log_warning("tracefs instance %s is in use by another process, left alone", inst);
                                continue;
                        }
                        log_debug("tracefs: removing stale instance %s failed: %s", inst, strerror(-r));
                        if (err == 0)
                                err = r;
                        continue;
                }
                removed++;
        }
        closedir(d);
        return err < 0 ? err : removed;
}

int tracer_mount_tracefs(const char *path, bool *ret_mounted) {
        struct statfs sf;
        if (!path || !ret_mounted)
                return -EINVAL;
        if (statfs(path, &sf) < 0)
                return -errno;
        if (sf.f_type == TRACEFS_MAGIC) {
                *ret_mounted = false;
                return 0;
        }
        if (mount("nodev", path, "tracefs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
                return -errno;
        *ret_mounted = true;
        return 0;
}

int tracer_unmount_tracefs(const char *path) {
        if (!path)
                return -EINVAL;
        if (umount2(path, UMOUNT_NOFOLLOW) < 0)
                return -errno;
        return 0;
}
