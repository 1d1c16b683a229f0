#include "stacks/kallsyms.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct kallsyms_sym {
        uint64_t address;
        size_t name;    /* offset into names */
};

struct kallsyms {
        struct kallsyms_sym *syms;
        size_t n;
        char *names;
};

static int hexval(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

/* One line: 1 and its address and name (its length in *ret_len) if it is a
 * text symbol at a non-zero address, 0 to skip it. */
static int parse_line(const char *l, const char *end, uint64_t *ret_address, const char **ret_name,
                      size_t *ret_len) {
        uint64_t a = 0;
        size_t digits = 0;
        for (; l < end && hexval(*l) >= 0; l++, digits++) {
                if (digits >= 16)
                        return 0;
                a = a << 4 | (uint64_t) hexval(*l);
        }
        if (digits == 0 || end - l < 3 || l[0] != ' ' || l[2] != ' ')
                return 0;
        char type = l[1];
        if (type != 't' && type != 'T' && type != 'w' && type != 'W')
                return 0;
        const char *name = l + 3, *e = name;
        while (e < end && *e != '\t' && *e != ' ')
                e++;
        if (e == name || (size_t) (e - name) > KALLSYMS_NAME_MAX || a == 0)
                return 0;
        *ret_address = a;
        *ret_name = name;
        *ret_len = (size_t) (e - name);
        return 1;
}

static int cmp_sym(const void *x, const void *y) {
        const struct kallsyms_sym *a = x, *b = y;
        return a->address < b->address ? -1 : a->address > b->address ? 1 : 0;
}

int kallsyms_parse(const char *buf, size_t len, struct kallsyms **ret_table) {
        if (!buf || !ret_table)
                return -EINVAL;
        /* First pass: count, to size both arrays once. */
        size_t n = 0, bytes = 0;
        for (const char *l = buf, *end = buf + len; l < end;) {
                const char *nl = memchr(l, '\n', (size_t) (end - l));
                const char *le = nl ? nl : end;
                uint64_t a;
                const char *name;
                size_t nlen;
                if (parse_line(l, le, &a, &name, &nlen) > 0) {
                        if (++n > KALLSYMS_SYMBOLS_MAX)
                                return -E2BIG;
                        bytes += nlen + 1;
                }
                l = le + 1;
        }
        if (n == 0)
                return -ENOENT;
        struct kallsyms *k = calloc(1, sizeof *k);
        if (!k)
                return -ENOMEM;
        k->syms = malloc(n * sizeof *k->syms);
        k->names = malloc(bytes);
        if (!k->syms || !k->names) {
                kallsyms_free(k);
                return -ENOMEM;
        }
        size_t off = 0;
        for (const char *l = buf, *end = buf + len; l < end && k->n < n;) {
                const char *nl = memchr(l, '\n', (size_t) (end - l));
                const char *le = nl ? nl : end;
                uint64_t a;
                const char *name;
                size_t nlen;
                if (parse_line(l, le, &a, &name, &nlen) > 0) {
                        memcpy(k->names + off, name, nlen);
                        k->names[off + nlen] = '\0';
                        k->syms[k->n++] = (struct kallsyms_sym) { a, off };
                        off += nlen + 1;
                }
                l = le + 1;
        }
        qsort(k->syms, k->n, sizeof *k->syms, cmp_sym);
        *ret_table = k;
        return 0;
}

int kallsyms_lookup(const struct kallsyms *k, uint64_t address, const char **ret_name, uint64_t *ret_start,
                    uint64_t *ret_size) {
        if (!k || k->n == 0 || address < k->syms[0].address)
                return 0;
        /* The last symbol starting at or below @address. */
        size_t lo = 0, hi = k->n;
        while (hi - lo > 1) {
                size_t mid = lo + (hi - lo) / 2;
                if (k->syms[mid].address <= address)
                        lo = mid;
                else
                        hi = mid;
        }
        /* Aliases share an address: the next different one bounds it. */
        size_t next = lo + 1;
        while (next < k->n && k->syms[next].address == k->syms[lo].address)
                next++;
        uint64_t start = k->syms[lo].address;
        uint64_t size = next < k->n ? k->syms[next].address - start : 0;
        if (size == 0 && address - start >= KALLSYMS_LAST_SPAN)
                return 0;
        if (ret_name)
                *ret_name = k->names + k->syms[lo].name;
        if (ret_start)
                *ret_start = start;
        if (ret_size)
                *ret_size = size;
        return 1;
}

size_t kallsyms_count(const struct kallsyms *k) {
        return k ? k->n : 0;
}

void kallsyms_free(struct kallsyms *k) {
        if (!k)
                return;
        free(k->syms);
        free(k->names);
        free(k);
}
