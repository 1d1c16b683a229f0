#include "capture/kmsgtracer.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capture/kchange.h"
#include "core/log.h"

/* A /dev/kmsg read returns one whole record and fails with EINVAL if the
 * buffer is smaller: room for the longest one and its dictionary. */
#define READ_BUF (2 * KMSGTRACE_LINE_MAX)
#define PATH_BUF 4096

struct kmsgtracer {
        char trace_path[PATH_BUF];
        char kmsg_path[PATH_BUF];
        int fd;
        struct kchange *kernel;         /* the sysfs trace flag, with its marker */
        bool stopped;
        struct pairing *pairing;
        struct kmsgtrace *parser;
        char buf[READ_BUF];
};

static bool cache_name_valid(const char *s) {
        size_t n = strlen(s);
        return n > 0 && n <= KMSGTRACE_CACHE_MAX && !strchr(s, '/') && strcmp(s, ".") != 0 && strcmp(s, "..") != 0;
}

int kmsgtracer_start(const struct kmsgtracer_options *o, struct kmsgtracer **ret) {
        if (!o || !ret || !o->sys_dir || !o->dev_kmsg || !o->state_dir || !o->cache_name ||
            !cache_name_valid(o->cache_name))
                return -EINVAL;
        struct kmsgtracer *k = calloc(1, sizeof *k);
        if (!k)
                return -ENOMEM;
        k->fd = -1;
        int r;
        if (snprintf(k->trace_path, sizeof k->trace_path, "%s/kernel/slab/%s/trace", o->sys_dir, o->cache_name) >=
                    (int) sizeof k->trace_path ||
            snprintf(k->kmsg_path, sizeof k->kmsg_path, "%s", o->dev_kmsg) >= (int) sizeof k->kmsg_path) {
                r = -ENAMETOOLONG;
                goto fail;
        }
        r = kchange_new(o->state_dir, &k->kernel);
        if (r < 0)
                goto fail;
        r = pairing_new(&(struct pairing_options) {
                                .max_memory_bytes = o->max_memory_bytes,
                                .reorder_window_ns = 0, /* the log is one ordered stream */
                        },
                        &k->pairing);
        if (r < 0)
                goto fail;
        r = kmsgtrace_new(&(struct kmsgtrace_options) { .cache_name = o->cache_name, .object_size = o->object_size },
                          k->pairing, &k->parser);
        if (r < 0)
                goto fail;

        /* Open at the end first, so that the first record after the switch
         * is not missed and the old ones are not read. */
        k->fd = open(o->dev_kmsg, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        if (k->fd < 0) {
                r = -errno;
                goto fail;
        }
        if (lseek(k->fd, 0, SEEK_END) < 0) {
                r = -errno;
                goto fail;
        }
        /* Recorded in the state directory first: a crash cannot leave it on.
         * Switched on at boot, the flag is the kernel's, and read-only. */
        if (!o->trace_already_on) {
                r = kchange_apply(k->kernel, KCHANGE_SLUB_TRACE, k->trace_path, NULL);
                if (r < 0)
                        goto fail;
        }
        *ret = k;
        return 0;
fail:
        kmsgtracer_free(k);
        return r;
}

int kmsgtracer_poll(struct kmsgtracer *k) {
        if (!k || k->stopped)
                return -EINVAL;
        size_t total = 0;
        while (total < KMSGTRACER_POLL_BYTES_MAX) {
                ssize_t n = read(k->fd, k->buf, sizeof k->buf);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        /* Records were overwritten before we read them: the
                         * sequence numbers tell how many. Read on. */
                        if (errno == EPIPE)
                                continue;
                        if (errno == EAGAIN)
                                break;
                        return -errno;
                }
                if (n == 0)
                        break; /* end of a regular file */
                total += (size_t) n;
                (void) kmsgtrace_feed(k->parser, k->buf, (size_t) n);
        }
        return total > INT32_MAX ? INT32_MAX : (int) total;
}

int kmsgtracer_fd(const struct kmsgtracer *k) {
        return k ? k->fd : -EINVAL;
}

int kmsgtracer_stop(struct kmsgtracer *k, struct pairing_result **ret) {
        if (!k || !ret || k->stopped)
                return -EINVAL;
        /* Switched off (or it failed and the marker stays for the next start). */
        int err = kchange_undo_to(k->kernel, 0);
        int r = kmsgtracer_poll(k);
        if (r < 0 && err == 0)
                err = r;
        k->stopped = true;
        (void) kmsgtrace_finish(k->parser);
        struct pairing_result *res = NULL;
        r = pairing_finish(k->pairing, 0, NULL, NULL, &res);
        if (r < 0)
                return r;
        struct kmsgtrace_stats st;
        kmsgtrace_get_stats(k->parser, &st);
        res->lost_events = st.seq_gaps;
        *ret = res;
        return err;
}

void kmsgtracer_free(struct kmsgtracer *k) {
        if (!k)
                return;
        kchange_free(k->kernel);
        if (k->fd >= 0)
                close(k->fd);
        kmsgtrace_free(k->parser);
        pairing_free(k->pairing);
        free(k);
}

void kmsgtracer_get_stats(const struct kmsgtracer *k, struct kmsgtrace_stats *ret) {
        kmsgtrace_get_stats(k->parser, ret);
}
