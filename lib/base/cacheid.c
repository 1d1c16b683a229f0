#include "base/cacheid.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Caches made by kmem_buckets_create() (6.11+): "<prefix>-<size>". Only
 * these two exist upstream; a generic "<word>-<number>" rule would claim
 * biovec-16 and sgpool-8, which are not kmalloc classes. */
static const char *const cacheid_buckets[] = {
        "msg_msg",
        "memdup_user",
};

/* The largest kmalloc class any configuration names (64M with huge pages). */
#define CACHEID_SIZE_MAX (64U << 20)
/* Random copies are numbered 01..15 (RANDOM_KMALLOC_CACHES_NR). */
#define CACHEID_RND_INDEX_MAX 99

int cacheid_parse_release(const char *release, uint32_t *ret_kver) {
        unsigned long major = 0, minor = 0;
        const char *p = release;

        if (!release || *p < '0' || *p > '9')
                return -EINVAL;
        for (; *p >= '0' && *p <= '9'; p++) {
                major = major * 10 + (unsigned long) (*p - '0');
                if (major > 0xffff)
                        return -EINVAL;
        }
        if (*p != '.' || p[1] < '0' || p[1] > '9')
                return -EINVAL;
        for (p++; *p >= '0' && *p <= '9'; p++) {
                minor = minor * 10 + (unsigned long) (*p - '0');
                if (minor > 0xffff)
                        return -EINVAL;
        }
        *ret_kver = CACHEID_KVER(major, minor);
        return 0;
}

static bool is_class_size(uint32_t size) {
        if (size == 96 || size == 192)
                return true;
        return size >= 8 && size <= CACHEID_SIZE_MAX && (size & (size - 1)) == 0;
}

/* "8k", "8192", "2M" — the whole rest of the name. */
static int parse_size(const char *s, uint32_t *ret) {
        uint64_t v = 0;
        const char *p = s;

        if (*p < '1' || *p > '9')
                return -EINVAL;
        for (; *p >= '0' && *p <= '9'; p++) {
                v = v * 10 + (uint64_t) (*p - '0');
                if (v > CACHEID_SIZE_MAX)
                        return -EINVAL;
        }
        if (*p == 'k') {
                v <<= 10;
                p++;
        } else if (*p == 'M') {
                v <<= 20;
                p++;
        }
        if (*p != '\0' || v > CACHEID_SIZE_MAX || !is_class_size((uint32_t) v))
                return -EINVAL;
        *ret = (uint32_t) v;
        return 0;
}

static const char *skip_prefix(const char *s, const char *prefix) {
        size_t n = strlen(prefix);
        return strncmp(s, prefix, n) == 0 ? s + n : NULL;
}

int cacheid_kmalloc_parse(const char *name, struct cacheid_kmalloc *ret) {
        struct cacheid_kmalloc k = {};
        const char *rest;
        int r;

        if (!name)
                return -EINVAL;
        if ((rest = skip_prefix(name, "dma-kmalloc-")) || (rest = skip_prefix(name, "kmalloc_dma-")))
                k.variant = CACHEID_VARIANT_DMA;
        else if ((rest = skip_prefix(name, "kmalloc-cg-")))
                k.variant = CACHEID_VARIANT_CG;
        else if ((rest = skip_prefix(name, "kmalloc-rcl-")))
                k.variant = CACHEID_VARIANT_RCL;
        else if ((rest = skip_prefix(name, "kmalloc-rnd-"))) {
                if (rest[0] < '0' || rest[0] > '9' || rest[1] < '0' || rest[1] > '9' || rest[2] != '-')
                        return -EINVAL;
                k.variant = CACHEID_VARIANT_RND;
                k.rnd_index = (unsigned) ((rest[0] - '0') * 10 + (rest[1] - '0'));
                rest += 3;
        } else if ((rest = skip_prefix(name, "kmalloc-")))
                k.variant = CACHEID_VARIANT_NORMAL;
        else {
                for (size_t i = 0; i < sizeof cacheid_buckets / sizeof cacheid_buckets[0]; i++) {
                        const char *b = cacheid_buckets[i];
                        size_t n = strlen(b);
                        if (strncmp(name, b, n) == 0 && name[n] == '-') {
                                rest = name + n + 1;
                                k.variant = CACHEID_VARIANT_BUCKET;
                                memcpy(k.bucket, b, n + 1);
                                break;
                        }
                }
                if (!rest)
                        return -EINVAL;
        }
        r = parse_size(rest, &k.size);
        if (r < 0)
                return r;
        *ret = k;
        return 0;
}

bool cacheid_same_class(const char *a, const char *b) {
        struct cacheid_kmalloc ka, kb;

        if (cacheid_kmalloc_parse(a, &ka) < 0 || cacheid_kmalloc_parse(b, &kb) < 0)
                return false;
        return ka.size == kb.size;
}

const char *cacheid_format_size(uint32_t size, uint32_t kver, char *buf, size_t buf_size) {
        /* kver 0 means "unknown": spell it the way current kernels do. */
        bool short_names = kver == 0 || kver >= CACHEID_KVER_SHORT_NAMES;

        if (short_names && size >= (1U << 20) && size % (1U << 20) == 0)
                snprintf(buf, buf_size, "%uM", size >> 20);
        else if (short_names && size >= 1024 && size % 1024 == 0)
                snprintf(buf, buf_size, "%uk", size >> 10);
        else
                snprintf(buf, buf_size, "%u", size);
        return buf;
}

int cacheid_kmalloc_name(const struct cacheid_kmalloc *k, uint32_t kver, char *buf, size_t buf_size) {
        char size[16];
        int n;

        cacheid_format_size(k->size, kver, size, sizeof size);
        switch (k->variant) {
        case CACHEID_VARIANT_NORMAL:
                n = snprintf(buf, buf_size, "kmalloc-%s", size);
                break;
        case CACHEID_VARIANT_CG:
                n = snprintf(buf, buf_size, "kmalloc-cg-%s", size);
                break;
        case CACHEID_VARIANT_RCL:
                n = snprintf(buf, buf_size, "kmalloc-rcl-%s", size);
                break;
        case CACHEID_VARIANT_RND:
                if (k->rnd_index > CACHEID_RND_INDEX_MAX)
                        return -EINVAL;
                n = snprintf(buf, buf_size, "kmalloc-rnd-%02u-%s", k->rnd_index, size);
                break;
        case CACHEID_VARIANT_DMA:
                n = snprintf(buf, buf_size, "dma-kmalloc-%s", size);
                break;
        case CACHEID_VARIANT_BUCKET:
                if (!k->bucket[0] || memchr(k->bucket, '\0', sizeof k->bucket) == NULL)
                        return -EINVAL;
                n = snprintf(buf, buf_size, "%s-%s", k->bucket, size);
                break;
        default:
                return -EINVAL;
        }
        if (n < 0 || (size_t) n >= buf_size)
                return -ENOBUFS;
        return 0;
}

const char *cacheid_debug_option(uint32_t kver) {
        /* The old name is still accepted after the rename; only a known
         * 6.8+ kernel gets the new one. */
        return kver >= CACHEID_KVER_SLAB_DEBUG ? "slab_debug" : "slub_debug";
}

/* Append to @buf at *@pos; -ENOBUFS once it does not fit. */
static int append(char *buf, size_t buf_size, size_t *pos, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int append(char *buf, size_t buf_size, size_t *pos, const char *fmt, ...) {
        va_list ap;
        int n;

        if (*pos >= buf_size)
                return -ENOBUFS;
        va_start(ap, fmt);
        n = vsnprintf(buf + *pos, buf_size - *pos, fmt, ap);
        va_end(ap);
        if (n < 0 || (size_t) n >= buf_size - *pos)
                return -ENOBUFS;
        *pos += (size_t) n;
        return 0;
}

int cacheid_boot_advice(const char *const *names, size_t n_names, uint32_t kver, char *buf, size_t buf_size) {
        char first[CACHEID_NAME_MAX];
        size_t pos = 0;
        int r;

        if (!names || n_names == 0 || !buf || buf_size == 0)
                return -EINVAL;

        r = append(buf, buf_size, &pos, "boot with `%s=U", cacheid_debug_option(kver));
        for (size_t i = 0; r >= 0 && i < n_names; i++) {
                struct cacheid_kmalloc k;
                char respelled[CACHEID_NAME_MAX];
                const char *name = names[i];

                if (!name || !*name)
                        return -EINVAL;
                /* A user's "kmalloc-8192" is "kmalloc-8k" on the kernel at hand. */
                if (cacheid_kmalloc_parse(name, &k) == 0 &&
                    cacheid_kmalloc_name(&k, kver, respelled, sizeof respelled) == 0)
                        name = respelled;
                if (i == 0)
                        snprintf(first, sizeof first, "%s", name);
                r = append(buf, buf_size, &pos, ",%s", name);
        }
        if (r >= 0)
                r = append(buf, buf_size, &pos, "` to get call sites for %s",
                           n_names > 1 ? "these caches" : "this cache");
        if (r >= 0) {
                if (kver != 0 && kver < CACHEID_KVER_DEBUGFS_TRACES)
                        r = append(buf, buf_size, &pos, " (sysfs slab/%s/alloc_calls)", first);
                else if (kver != 0 && kver < CACHEID_KVER(5, 19))
                        r = append(buf, buf_size, &pos, " (debugfs slab/%s/alloc_traces)", first);
                else
                        r = append(buf, buf_size, &pos, " (debugfs slab/%s/alloc_traces, with stacks)", first);
        }
        if (r < 0)
                return r;
        return (int) pos;
}
