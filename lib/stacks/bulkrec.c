#include "stacks/bulkrec.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static bool name_valid(const char *s) {
        size_t n = strlen(s);
        if (n == 0 || n > BULKREC_EVENT_NAME_MAX)
                return false;
        for (size_t i = 0; i < n; i++) {
                char c = s[i];
                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (i > 0 && c >= '0' && c <= '9')))
                        return false;
        }
        return true;
}

static bool reg_valid(const char *s) {
        return s && s[0] && strlen(s) < 16 && !strpbrk(s, " \t\n()");
}

int bulkrec_definition(char *buf, size_t size, const char *event, unsigned index, const struct bulkrec_regs *regs,
                       unsigned long_size) {
        if (!buf || !event || !regs || index >= BULKREC_EVENTS_MAX || (long_size != 4 && long_size != 8) ||
            !name_valid(event) || !reg_valid(regs->cache) || !reg_valid(regs->size) || !reg_valid(regs->array))
                return -EINVAL;
        unsigned bits = long_size * 8;
        size_t off = 0;
        int n = snprintf(buf, size, "p:%s/%s %s s=%s:x%u n=%s:u%u", BULKREC_GROUP, event, BULKREC_FUNCTION, regs->cache,
                         bits, regs->size, bits);
        if (n < 0 || (size_t) n >= size)
                return -ENAMETOOLONG;
        off = (size_t) n;
        for (unsigned i = 0; i < BULKREC_PTRS_PER_EVENT; i++) {
                unsigned long entry = (unsigned long) index * BULKREC_PTRS_PER_EVENT + i;
                n = snprintf(buf + off, size - off, " p%u=+%lu(%s):x%u", i, entry * long_size, regs->array, bits);
                if (n < 0 || (size_t) n >= size - off)
                        return -ENAMETOOLONG;
                off += (size_t) n;
        }
        return 0;
}

unsigned bulkrec_slices_for(uint64_t batch) {
        uint64_t n = (batch + BULKREC_PTRS_PER_EVENT - 1) / BULKREC_PTRS_PER_EVENT;
        return n == 0 ? 1 : n > BULKREC_EVENTS_MAX ? BULKREC_EVENTS_MAX : (unsigned) n;
}

int bulkrec_layout_add(struct bulkrec_layout *l, unsigned index, const struct tracefmt_event *format) {
        if (!l || !format || index != l->n_slices || index >= BULKREC_EVENTS_MAX)
                return -EINVAL;
        struct bulkrec_slice s = { .id = format->id };
        const struct tracefmt_field *f = tracefmt_field(format, "n");
        if (!f || (f->size != 4 && f->size != 8))
                return -EOPNOTSUPP;
        const struct tracefmt_field *ip = tracefmt_field(format, "__probe_ip");
        if (ip && (ip->size == 4 || ip->size == 8)) {
                s.ip_off = ip->offset;
                s.ip_len = ip->size;
        }
        s.size_off = f->offset;
        s.size_len = f->size;
        for (unsigned i = 0; i < BULKREC_PTRS_PER_EVENT; i++) {
                char name[16];
                snprintf(name, sizeof name, "p%u", i);
                f = tracefmt_field(format, name);
                if (!f || (f->size != 4 && f->size != 8) || (i > 0 && f->size != s.ptr_len))
                        return -EOPNOTSUPP;
                s.ptr_off[i] = f->offset;
                s.ptr_len = f->size;
        }
        l->slices[l->n_slices++] = s;
        return 0;
}

int bulkrec_slice_of(const struct bulkrec_layout *l, uint32_t type) {
        for (unsigned i = 0; l && i < l->n_slices; i++)
                if (l->slices[i].id == type)
                        return (int) i;
        return -1;
}

static uint64_t read_uint(const uint8_t *data, uint32_t off, uint32_t len) {
        if (len == 4) {
                uint32_t v;
                memcpy(&v, data + off, sizeof v);
                return v;
        }
        uint64_t v;
        memcpy(&v, data + off, sizeof v);
        return v;
}

uint64_t bulkrec_ip(const struct bulkrec_layout *l, unsigned slice, const uint8_t *data, size_t len) {
        if (!l || slice >= l->n_slices || !data)
                return 0;
        const struct bulkrec_slice *s = &l->slices[slice];
        if (s->ip_len == 0 || (size_t) s->ip_off + s->ip_len > len)
                return 0;
        return read_uint(data, s->ip_off, s->ip_len);
}

int bulkrec_decode(const struct bulkrec_layout *l, unsigned slice, const uint8_t *data, size_t len, uint64_t *ptrs,
                   uint64_t *ret_uncovered) {
        if (!l || slice >= l->n_slices || !data || !ptrs)
                return -EINVAL;
        const struct bulkrec_slice *s = &l->slices[slice];
        if ((size_t) s->size_off + s->size_len > len)
                return -EBADMSG;
        for (unsigned i = 0; i < BULKREC_PTRS_PER_EVENT; i++)
                if ((size_t) s->ptr_off[i] + s->ptr_len > len)
                        return -EBADMSG;
        uint64_t n = read_uint(data, s->size_off, s->size_len);
        uint64_t first = (uint64_t) slice * BULKREC_PTRS_PER_EVENT;
        if (ret_uncovered) {
                uint64_t covered = (uint64_t) l->n_slices * BULKREC_PTRS_PER_EVENT;
                *ret_uncovered = slice == 0 && n > covered ? n - covered : 0;
        }
        if (n <= first)
                return 0;
        uint64_t k = n - first;
        if (k > BULKREC_PTRS_PER_EVENT)
                k = BULKREC_PTRS_PER_EVENT;
        for (uint64_t i = 0; i < k; i++)
                ptrs[i] = read_uint(data, s->ptr_off[i], s->ptr_len);
        return (int) k;
}
