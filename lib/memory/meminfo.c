/* meminfo — parse /proc/meminfo: "Key:   value [kB]" per line. */
#include "memory/meminfo.h"

#include <errno.h>
#include <string.h>

#include "base/textscan.h"

static const char *const key_names[_MEMINFO_KEY_MAX] = {
        [MEMINFO_MEM_TOTAL] = "MemTotal",
        [MEMINFO_MEM_FREE] = "MemFree",
        [MEMINFO_MEM_AVAILABLE] = "MemAvailable",
        [MEMINFO_BUFFERS] = "Buffers",
        [MEMINFO_CACHED] = "Cached",
        [MEMINFO_ANON_PAGES] = "AnonPages",
        [MEMINFO_SHMEM] = "Shmem",
        [MEMINFO_SLAB] = "Slab",
        [MEMINFO_SRECLAIMABLE] = "SReclaimable",
        [MEMINFO_SUNRECLAIM] = "SUnreclaim",
        [MEMINFO_KERNEL_STACK] = "KernelStack",
        [MEMINFO_PAGE_TABLES] = "PageTables",
        [MEMINFO_VMALLOC_USED] = "VmallocUsed",
        [MEMINFO_PERCPU] = "Percpu",
        [MEMINFO_HUGEPAGES_TOTAL] = "HugePages_Total",
        [MEMINFO_HUGEPAGESIZE] = "Hugepagesize",
};

const char *meminfo_key_name(enum meminfo_key key) {
        if ((unsigned) key >= _MEMINFO_KEY_MAX)
                return NULL;
        return key_names[key];
}

int meminfo_key_from_name(const char *name) {
        for (int k = 0; k < _MEMINFO_KEY_MAX; k++)
                if (strcmp(key_names[k], name) == 0)
                        return k;
        return -EINVAL;
}

static int key_lookup(const char *key, size_t len) {
        for (int k = 0; k < _MEMINFO_KEY_MAX; k++)
                if (strlen(key_names[k]) == len && memcmp(key_names[k], key, len) == 0)
                        return k;
        return -1;
}

static int line_parse(const char *line, size_t len, struct meminfo_entry *ret) {
        const char *colon = memchr(line, ':', len);
        if (!colon || colon == line)
                return -EINVAL;
        size_t klen = (size_t) (colon - line);
        if (klen >= MEMINFO_KEY_NAME_MAX)
                return -ENAMETOOLONG;
        for (size_t i = 0; i < klen; i++)
                if (line[i] <= ' ' || line[i] > '~')
                        return -EINVAL;

        struct textscan sc = textscan_init(colon + 1, len - klen - 1);
        const char *tok;
        size_t tlen;
        struct meminfo_entry e = {};
        int r;
        if (!textscan_token(&sc, &tok, &tlen))
                return -EINVAL;
        if ((r = textscan_u64(tok, tlen, &e.value)) < 0)
                return r;
        if (textscan_token(&sc, &tok, &tlen)) {
                if (tlen != 2 || memcmp(tok, "kB", 2) != 0)
                        return -EINVAL;
                e.kib = true;
                if (textscan_token(&sc, &tok, &tlen))
                        return -EINVAL;
        }
        memcpy(e.key, line, klen);
        e.key[klen] = '\0';
        *ret = e;
        return 0;
}

int meminfo_parse(const char *buf, size_t len, struct meminfo *ret) {
        struct textscan_lines lines = textscan_lines_init(buf, len);
        const char *line;
        size_t llen;
        unsigned lineno = 0;

        ret->known = 0;
        ret->n_entries = 0;
        ret->n_bad_lines = 0;
        ret->first_bad_line = 0;
        memset(ret->value, 0, sizeof ret->value);

        while (textscan_next_line(&lines, &line, &llen)) {
                struct meminfo_entry e;
                lineno++;
                if (textscan_blank(line, llen))
                        continue;
                if (llen > MEMINFO_LINE_MAX || memchr(line, '\0', llen) ||
                    ret->n_entries >= MEMINFO_ENTRIES_MAX || line_parse(line, llen, &e) < 0) {
                        if (ret->n_bad_lines++ == 0)
                                ret->first_bad_line = lineno;
                        continue;
                }
                int k = key_lookup(e.key, strlen(e.key));
                /* A duplicate key: the first one stands, as the kernel never repeats. */
                if (k >= 0 && !(ret->known & (1u << k))) {
                        ret->value[k] = e.value;
                        ret->known |= 1u << k;
                }
                ret->entries[ret->n_entries++] = e;
        }
        return ret->n_entries > 0 ? 0 : -EINVAL;
}

bool meminfo_get(const struct meminfo *m, enum meminfo_key key, uint64_t *ret_value) {
        if ((unsigned) key >= _MEMINFO_KEY_MAX || !(m->known & (1u << key)))
                return false;
        *ret_value = m->value[key];
        return true;
}
