#include "stacks/ringbuf.h"

#include <errno.h>
#include <string.h>

/* The commit word: the length of the records, and two flags above it. */
#define COMMIT_MASK ((UINT64_C(1) << 27) - 1)
#define MISSING_EVENTS (UINT64_C(1) << 31)
#define MISSING_STORED (UINT64_C(1) << 30)
/* A record header: 5 bits of type or length, 27 bits of time delta. */
#define TS_SHIFT 27
/* Absolute time stamps lack the top 5 bits: they come from the page. */
#define TS_MSB (UINT64_C(0xf8) << 56)

static uint32_t read_u32(const uint8_t *p) {
        uint32_t v;
        memcpy(&v, p, sizeof v);
        return v;
}

static uint64_t read_u64(const uint8_t *p) {
        uint64_t v;
        memcpy(&v, p, sizeof v);
        return v;
}

bool ringbuf_page_missed_events(const struct tracefmt_page *layout, const uint8_t *page, size_t len) {
        if (!layout || !page || (layout->commit_size != 4 && layout->commit_size != 8) || len < 8 + layout->commit_size)
                return false;
        uint64_t commit = layout->commit_size == 8 ? read_u64(page + 8) : read_u32(page + 8);
        return (commit & MISSING_EVENTS) != 0;
}

int ringbuf_page_decode(const struct tracefmt_page *layout, const uint8_t *page, size_t len, ringbuf_record_fn fn,
                        void *userdata, struct ringbuf_page *ret) {
        struct ringbuf_page info = {};
        int r = 0;

        if (!layout || (!page && len > 0) || (layout->commit_size != 4 && layout->commit_size != 8) ||
            layout->data_offset < 8 + layout->commit_size)
                return -EINVAL;
        if (len < layout->data_offset) {
                r = -EBADMSG;
                goto out;
        }
        info.ts = read_u64(page);
        uint64_t commit = layout->commit_size == 8 ? read_u64(page + 8) : read_u32(page + 8);
        const uint8_t *data = page + layout->data_offset;
        size_t room = len - layout->data_offset;
        size_t size = (size_t) (commit & COMMIT_MASK);

        info.commit = size;
        info.missed_events = (commit & MISSING_EVENTS) != 0;
        if (size > room) {
                r = -EBADMSG;
                goto out;
        }
        if (info.missed_events && (commit & MISSING_STORED) && room - size >= layout->commit_size) {
                info.lost = layout->commit_size == 8 ? read_u64(data + size) : read_u32(data + size);
                info.lost_known = true;
        }

        uint64_t ts = info.ts;
        for (size_t off = 0; off < size;) {
                if (size - off < 4) {
                        r = -EBADMSG;
                        break;
                }
                uint32_t hdr = read_u32(data + off);
                uint32_t type_len = hdr & 0x1f, delta = hdr >> 5;
                size_t next, body = off + 4, body_len = 0;

                if (type_len == RINGBUF_TYPE_PADDING) {
                        if (delta == 0)
                                break; /* the rest of the page is padding */
                        if (size - off < 8) {
                                r = -EBADMSG;
                                break;
                        }
                        next = body + read_u32(data + body);
                        ts += delta; /* a discarded event keeps its time */
                } else if (type_len == RINGBUF_TYPE_TIME_EXTEND || type_len == RINGBUF_TYPE_TIME_STAMP) {
                        if (size - off < 8) {
                                r = -EBADMSG;
                                break;
                        }
                        uint64_t v = ((uint64_t) read_u32(data + body) << TS_SHIFT) + delta;
                        ts = type_len == RINGBUF_TYPE_TIME_STAMP ? v | (ts & TS_MSB) : ts + v;
                        next = off + 8;
                } else if (type_len == 0) {
                        if (size - off < 8) {
                                r = -EBADMSG;
                                break;
                        }
                        uint32_t l = read_u32(data + body);
                        if (l < 4) {
                                r = -EBADMSG;
                                break;
                        }
                        body = off + 8;
                        body_len = ((size_t) l - 4 + 3) & ~(size_t) 3;
                        next = body + body_len;
                        ts += delta;
                } else {
                        body_len = (size_t) type_len * 4;
                        next = body + body_len;
                        ts += delta;
                }
                if (next > size || next <= off) {
                        r = -EBADMSG;
                        break;
                }
                if (body_len > 0 && fn) {
                        info.records++;
                        r = fn(&(struct ringbuf_record) { .ts = ts, .data = data + body, .len = body_len }, userdata);
                        if (r < 0)
                                break;
                } else if (body_len > 0)
                        info.records++;
                off = next;
        }
out:
        if (ret)
                *ret = info;
        return r;
}
