#include "stacks/rawtrace.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stacks/ringbuf.h"
#include "stacks/tracefmt.h"

enum section_type {
        SECTION_FORMAT = 1,
        SECTION_PAGE = 2,
        SECTION_META = 3,
        SECTION_SYMBOLS = 4,
        SECTION_END = 5,
};

#define SECTION_HEADER_BYTES 16
#define PAGE_HEADER_BYTES 8
#define END_BYTES 20
/* Format sections a file may hold: header_page, kernel_stack, the kmem events. */
#define FORMATS_MAX 16
#define FORMAT_NAME_MAX 64

/* ---- little-endian integers ---- */

static void put_u32(uint8_t *p, uint32_t v) {
        for (int i = 0; i < 4; i++)
                p[i] = (uint8_t) (v >> (8 * i));
}

static void put_u64(uint8_t *p, uint64_t v) {
        for (int i = 0; i < 8; i++)
                p[i] = (uint8_t) (v >> (8 * i));
}

static uint32_t get_u32(const uint8_t *p) {
        uint32_t v = 0;
        for (int i = 3; i >= 0; i--)
                v = v << 8 | p[i];
        return v;
}

static uint64_t get_u64(const uint8_t *p) {
        uint64_t v = 0;
        for (int i = 7; i >= 0; i--)
                v = v << 8 | p[i];
        return v;
}

static uint8_t host_endianness(void) {
        uint16_t one = 1;
        uint8_t b;
        memcpy(&b, &one, 1);
        return b == 1 ? 1 : 2;
}

static size_t pad8(size_t n) {
        return (n + 7) & ~(size_t) 7;
}

/* ---- writer ---- */

struct buf {
        uint8_t *data;
        size_t len, cap;
};

static int buf_reserve(struct buf *b, size_t more) {
        if (more > SIZE_MAX - b->len)
                return -ENOMEM;
        if (b->len + more <= b->cap)
                return 0;
        size_t cap = b->cap ? b->cap : 64 * 1024;
        while (cap < b->len + more)
                cap = cap > SIZE_MAX / 2 ? b->len + more : cap * 2;
        uint8_t *d = realloc(b->data, cap);
        if (!d)
                return -ENOMEM;
        b->data = d;
        b->cap = cap;
        return 0;
}

/* Append a section of @type with @a (and @b after it) as its payload. */
static int buf_section(struct buf *b, uint32_t type, const void *a, size_t a_len, const void *c, size_t c_len) {
        size_t payload = a_len + c_len, total = SECTION_HEADER_BYTES + pad8(payload);
        int r = buf_reserve(b, total);
        if (r < 0)
                return r;
        uint8_t *p = b->data + b->len;
        memset(p, 0, total);
        put_u32(p, type);
        put_u64(p + 8, payload);
        if (a_len)
                memcpy(p + SECTION_HEADER_BYTES, a, a_len);
        if (c_len)
                memcpy(p + SECTION_HEADER_BYTES + a_len, c, c_len);
        b->len += total;
        return 0;
}

struct rawtrace_writer {
        struct buf out;
        uint64_t max_bytes;
        uint64_t page_bytes;            /* pages kept so far, with their section headers */
        uint64_t pages;
        uint64_t dropped;
        size_t first_page;              /* offset of the first page section; 0 = none yet */
        struct tracefmt_page layout;    /* from the header_page format, to trim pages */
        bool have_layout;
};

int rawtrace_writer_new(uint64_t max_bytes, struct rawtrace_writer **ret) {
        if (!ret)
                return -EINVAL;
        struct rawtrace_writer *w = calloc(1, sizeof *w);
        if (!w)
                return -ENOMEM;
        w->max_bytes = max_bytes ? max_bytes : RAWTRACE_MAX_DEFAULT;
        int r = buf_reserve(&w->out, RAWTRACE_HEADER_BYTES);
        if (r < 0) {
                free(w);
                return r;
        }
        uint8_t *h = w->out.data;
        memset(h, 0, RAWTRACE_HEADER_BYTES);
        memcpy(h, RAWTRACE_MAGIC, RAWTRACE_MAGIC_LEN);
        put_u32(h + 8, RAWTRACE_VERSION);
        put_u32(h + 12, RAWTRACE_HEADER_BYTES);
        h[16] = host_endianness(); /* the kernel's pages, read on this machine */
        w->out.len = RAWTRACE_HEADER_BYTES;
        *ret = w;
        return 0;
}

void rawtrace_writer_free(struct rawtrace_writer *w) {
        if (!w)
                return;
        free(w->out.data);
        free(w);
}

int rawtrace_writer_format(struct rawtrace_writer *w, const char *name, const char *text, size_t len) {
        if (!w || !name || !text || w->first_page || !*name || strlen(name) >= FORMAT_NAME_MAX ||
            strchr(name, '\n'))
                return -EINVAL;
        if (len > TRACEFMT_TEXT_MAX)
                return -E2BIG;
        char head[FORMAT_NAME_MAX + 1];
        int n = snprintf(head, sizeof head, "%s\n", name);
        if (strcmp(name, "header_page") == 0)
                w->have_layout = tracefmt_parse_header_page(text, len, &w->layout) == 0;
        return buf_section(&w->out, SECTION_FORMAT, head, (size_t) n, text, len);
}

int rawtrace_writer_page(struct rawtrace_writer *w, unsigned cpu, const uint8_t *page, size_t len) {
        if (!w || !page)
                return -EINVAL;
        /* A page is read whole however little it holds (a poll every few
         * ms): keep its records (commit bytes), and the lost-events count
         * the kernel may store after them; the rest is zero on replay. */
        if (w->have_layout && len > w->layout.data_offset) {
                /* The commit word, in the kernel's (this machine's) byte order;
                 * its top bits flag missed events. */
                uint64_t commit;
                if (w->layout.commit_size == 8)
                        memcpy(&commit, page + 8, 8);
                else {
                        uint32_t c32;
                        memcpy(&c32, page + 8, 4);
                        commit = c32;
                }
                commit &= (UINT64_C(1) << 30) - 1;
                uint64_t keep = (uint64_t) w->layout.data_offset + commit + w->layout.commit_size;
                if (keep < len)
                        len = (size_t) keep;
        }
        size_t total = SECTION_HEADER_BYTES + pad8(PAGE_HEADER_BYTES + len);
        if (w->page_bytes + total > w->max_bytes) {
                w->dropped++;
                return 1;
        }
        uint8_t head[PAGE_HEADER_BYTES] = {};
        put_u32(head, cpu);
        size_t at = w->out.len;
        int r = buf_section(&w->out, SECTION_PAGE, head, sizeof head, page, len);
        if (r < 0) {
                w->dropped++;
                return r;
        }
        if (!w->first_page)
                w->first_page = at;
        w->page_bytes += total;
        w->pages++;
        return 0;
}

/* Distinct addresses, open addressing; 0 is never a frame. */
struct addrset {
        uint64_t *v;
        size_t cap, n;
        bool full;
};

static int addrset_add(struct addrset *s, uint64_t a) {
        if (a == 0)
                return 0;
        if ((s->n + 1) * 2 > s->cap) {
                if (s->n >= RAWTRACE_SYMBOLS_MAX) {
                        s->full = true;
                        return 0;
                }
                size_t cap = s->cap ? s->cap * 2 : 1024;
                uint64_t *v = calloc(cap, sizeof *v);
                if (!v)
                        return -ENOMEM;
                for (size_t i = 0; i < s->cap; i++)
                        if (s->v[i]) {
                                size_t k = (size_t) (s->v[i] * 0x9e3779b97f4a7c15ULL) & (cap - 1);
                                while (v[k])
                                        k = (k + 1) & (cap - 1);
                                v[k] = s->v[i];
                        }
                free(s->v);
                s->v = v;
                s->cap = cap;
        }
        size_t k = (size_t) (a * 0x9e3779b97f4a7c15ULL) & (s->cap - 1);
        while (s->v[k]) {
                if (s->v[k] == a)
                        return 0;
                k = (k + 1) & (s->cap - 1);
        }
        s->v[k] = a;
        s->n++;
        return 0;
}

static uint64_t read_field(const uint8_t *data, size_t len, struct tracerec_field f) {
        if (f.size == 0 || (size_t) f.offset + f.size > len)
                return 0;
        uint64_t v = 0;
        /* The pages are in this machine's byte order (the header says so). */
        if (f.size == 8) {
                memcpy(&v, data + f.offset, 8);
        } else if (f.size == 4) {
                uint32_t x;
                memcpy(&x, data + f.offset, 4);
                v = x;
        } else if (f.size == 2) {
                uint16_t x;
                memcpy(&x, data + f.offset, 2);
                v = x;
        } else if (f.size == 1)
                v = data[f.offset];
        return v;
}

struct collect_ctx {
        const struct tracerec_layout *l;
        struct addrset *set;
        int err;
};

static int collect_record(const struct ringbuf_record *rec, void *userdata) {
        struct collect_ctx *c = userdata;
        const struct tracerec_layout *l = c->l;
        if (read_field(rec->data, rec->len, l->common_type) != l->stack_id)
                return 0;
        uint64_t n = read_field(rec->data, rec->len, l->stack_size);
        size_t off = l->stack_caller.offset, ls = l->long_size;
        size_t room = rec->len > off ? (rec->len - off) / ls : 0;
        if (n > room)
                n = room;
        for (size_t i = 0; i < n; i++) {
                uint64_t a = read_field(rec->data, rec->len,
                                        (struct tracerec_field) { .offset = (uint32_t) (off + i * ls),
                                                                  .size = (uint32_t) ls });
                int r = addrset_add(c->set, a);
                if (r < 0) {
                        c->err = r;
                        return r;
                }
        }
        return 0;
}

static int cmp_u64(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
        return x < y ? -1 : x > y;
}

static int append_text(struct buf *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int append_text(struct buf *t, const char *fmt, ...) {
        char line[RAWTRACE_FRAME_MAX + RAWTRACE_VALUE_MAX + 64];
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(line, sizeof line, fmt, ap);
        va_end(ap);
        if (n < 0 || (size_t) n >= sizeof line)
                return -EINVAL;
        int r = buf_reserve(t, (size_t) n);
        if (r < 0)
                return r;
        memcpy(t->data + t->len, line, (size_t) n);
        t->len += (size_t) n;
        return 0;
}

/* A META value on one line. */
static const char *one_line(const char *s, char *buf, size_t size) {
        snprintf(buf, size, "%s", s ? s : "");
        for (char *p = buf; *p; p++)
                if (*p == '\n' || *p == '\r')
                        *p = ' ';
        return buf;
}

static int write_meta(struct buf *out, const struct tracerec_layout *l, const struct rawtrace_meta *m) {
        struct buf t = {};
        char v1[RAWTRACE_VALUE_MAX], v2[RAWTRACE_VALUE_MAX], kinds[128] = "";
        size_t off = 0;
        for (size_t i = 0; i < _TRACEREC_KIND_MAX; i++)
                if (l->events[i].used) {
                        int n = snprintf(kinds + off, sizeof kinds - off, "%s%s", off ? "," : "",
                                         tracerec_kind_name((enum tracerec_kind) i));
                        if (n > 0 && (size_t) n < sizeof kinds - off)
                                off += (size_t) n;
                }
        int r = append_text(&t,
                            "cache=%s\nkernel=%s\nstacks=%s\nkinds=%s\nfrees_unfiltered=%d\nmono_clock=%d\n"
                            "settle_ns=%" PRIu64 "\nmax_events=%" PRIu64 "\nalloc_end_ns=%" PRIu64
                            "\nend_ns=%" PRIu64 "\n",
                            one_line(m->cache, v1, sizeof v1), one_line(m->kernel, v2, sizeof v2),
                            m->stacks_allocs_only ? "allocs" : "all", kinds, m->frees_unfiltered ? 1 : 0,
                            m->mono_clock ? 1 : 0, m->settle_ns, m->max_events, m->alloc_end_ns, m->end_ns);
        if (r == 0)
                r = buf_section(out, SECTION_META, t.data, t.len, NULL, 0);
        free(t.data);
        return r;
}

static int write_symbols(struct rawtrace_writer *w, const struct tracerec_layout *l, pairing_resolve_fn resolve,
                         void *userdata) {
        struct addrset set = {};
        struct collect_ctx c = { .l = l, .set = &set };
        size_t at = w->first_page;
        /* Walk the kept pages (sections from the first page on). */
        while (at && at + SECTION_HEADER_BYTES <= w->out.len && c.err == 0) {
                const uint8_t *p = w->out.data + at;
                uint32_t type = get_u32(p);
                uint64_t len = get_u64(p + 8);
                if (type == SECTION_PAGE && len >= PAGE_HEADER_BYTES)
                        (void) ringbuf_page_decode(&l->page, p + SECTION_HEADER_BYTES + PAGE_HEADER_BYTES,
                                                   (size_t) len - PAGE_HEADER_BYTES, collect_record, &c, NULL);
                at += SECTION_HEADER_BYTES + pad8((size_t) len);
        }
        if (c.err < 0) {
                free(set.v);
                return c.err;
        }
        size_t k = 0;
        for (size_t i = 0; i < set.cap; i++)
                if (set.v[i])
                        set.v[k++] = set.v[i];
        qsort(set.v, k, sizeof *set.v, cmp_u64);
        struct buf t = {};
        int r = 0;
        for (size_t i = 0; i < k && r == 0; i++) {
                char name[RAWTRACE_FRAME_MAX];
                name[0] = '\0';
                int kind = resolve ? resolve(set.v[i], name, sizeof name, userdata) : -ENOENT;
                if (kind < 0 || !name[0] || strchr(name, '\n'))
                        continue;
                r = append_text(&t, "%" PRIx64 " %c %s\n", set.v[i], kind == 1 ? 't' : '-', name);
        }
        if (r == 0)
                r = buf_section(&w->out, SECTION_SYMBOLS, t.data, t.len, NULL, 0);
        free(t.data);
        free(set.v);
        return r;
}

int rawtrace_writer_finish(struct rawtrace_writer *w, const struct tracerec_layout *l, const struct rawtrace_meta *m,
                           pairing_resolve_fn resolve, void *userdata, uint8_t **ret_data, size_t *ret_len) {
        if (!w || !l || !m || !ret_data || !ret_len)
                return -EINVAL;
        int r = write_meta(&w->out, l, m);
        if (r == 0)
                r = write_symbols(w, l, resolve, userdata);
        if (r == 0) {
                uint8_t end[END_BYTES] = {};
                put_u64(end, w->pages);
                put_u64(end + 8, w->dropped);
                put_u32(end + 16, w->dropped > 0);
                r = buf_section(&w->out, SECTION_END, end, sizeof end, NULL, 0);
        }
        if (r < 0)
                return r;
        *ret_data = w->out.data;
        *ret_len = w->out.len;
        w->out = (struct buf) {};
        w->first_page = 0;
        return 0;
}

/* ---- reader ---- */

bool rawtrace_is(const void *data, size_t len) {
        return data && len >= RAWTRACE_MAGIC_LEN && memcmp(data, RAWTRACE_MAGIC, RAWTRACE_MAGIC_LEN) == 0;
}

struct symbol {
        uint64_t address;
        const char *name;               /* into the file */
        size_t name_len;
        bool tracing;
};

struct replay {
        const uint8_t *data;
        size_t len;
        char *err;
        size_t err_size;
        struct format {
                char name[FORMAT_NAME_MAX];
                const char *text;
                size_t len;
        } formats[FORMATS_MAX];
        size_t n_formats;
        const uint8_t *meta;
        size_t meta_len;
        const uint8_t *symbols;
        size_t symbols_len;
        bool have_end;
        uint64_t end_pages, end_dropped;
        bool end_truncated;
        struct symbol *syms;
        size_t n_syms;
        uint64_t pages;
};

static int fail(struct replay *p, int r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(struct replay *p, int r, const char *fmt, ...) {
        if (p->err && p->err_size) {
                va_list ap;
                va_start(ap, fmt);
                vsnprintf(p->err, p->err_size, fmt, ap);
                va_end(ap);
        }
        return r;
}

/* Walk the sections: @fn gets each; a negative return stops the walk. */
typedef int (*section_fn)(struct replay *p, uint32_t type, size_t at, const uint8_t *payload, size_t len,
                          void *userdata);

static int walk(struct replay *p, section_fn fn, void *userdata) {
        size_t at = RAWTRACE_HEADER_BYTES;
        uint64_t n = 0;
        while (at < p->len) {
                if (p->len - at < SECTION_HEADER_BYTES)
                        return fail(p, -EBADMSG, "raw.trace: a section header at byte %zu is cut short", at);
                const uint8_t *h = p->data + at;
                uint32_t type = get_u32(h);
                uint64_t len = get_u64(h + 8);
                if (len > p->len - at - SECTION_HEADER_BYTES)
                        return fail(p, -EBADMSG,
                                    "raw.trace: the section at byte %zu says %" PRIu64 " bytes, past the end of the file",
                                    at, len);
                if (++n > RAWTRACE_SECTIONS_MAX)
                        return fail(p, -EBADMSG, "raw.trace: more than %u sections", RAWTRACE_SECTIONS_MAX);
                int r = fn(p, type, at, h + SECTION_HEADER_BYTES, (size_t) len, userdata);
                if (r < 0)
                        return r;
                size_t step = SECTION_HEADER_BYTES + pad8((size_t) len);
                if (step > p->len - at)
                        return fail(p, -EBADMSG, "raw.trace: the section at byte %zu lacks its padding", at);
                at += step;
                if (r == 1) /* END */
                        return at == p->len ? 0
                                            : fail(p, -EBADMSG, "raw.trace: %zu bytes after the end record",
                                                   p->len - at);
        }
        return fail(p, -EBADMSG, "raw.trace: no end record: the file was cut short");
}

static int index_section(struct replay *p, uint32_t type, size_t at, const uint8_t *payload, size_t len,
                         void *userdata) {
        (void) userdata;
        switch (type) {
        case SECTION_FORMAT: {
                const uint8_t *nl = memchr(payload, '\n', len < FORMAT_NAME_MAX ? len : FORMAT_NAME_MAX);
                if (!nl || nl == payload)
                        return fail(p, -EBADMSG, "raw.trace: the format section at byte %zu has no name", at);
                if (p->n_formats == FORMATS_MAX)
                        return fail(p, -EBADMSG, "raw.trace: more than %d format sections", FORMATS_MAX);
                struct format *f = &p->formats[p->n_formats++];
                size_t n = (size_t) (nl - payload);
                memcpy(f->name, payload, n);
                f->name[n] = '\0';
                if (memchr(f->name, '\0', n))
                        return fail(p, -EBADMSG, "raw.trace: the format section at byte %zu has a bad name", at);
                f->text = (const char *) nl + 1;
                f->len = len - n - 1;
                return 0;
        }
        case SECTION_PAGE:
                if (len < PAGE_HEADER_BYTES)
                        return fail(p, -EBADMSG, "raw.trace: the page section at byte %zu is too short", at);
                p->pages++;
                return 0;
        case SECTION_META:
                if (p->meta || len > RAWTRACE_META_MAX)
                        return fail(p, -EBADMSG, "raw.trace: a second or oversized meta section at byte %zu", at);
                p->meta = payload;
                p->meta_len = len;
                return 0;
        case SECTION_SYMBOLS:
                if (p->symbols)
                        return fail(p, -EBADMSG, "raw.trace: a second symbol table at byte %zu", at);
                p->symbols = payload;
                p->symbols_len = len;
                return 0;
        case SECTION_END:
                if (len < END_BYTES)
                        return fail(p, -EBADMSG, "raw.trace: the end record at byte %zu is too short", at);
                p->have_end = true;
                p->end_pages = get_u64(payload);
                p->end_dropped = get_u64(payload + 8);
                p->end_truncated = get_u32(payload + 16) != 0;
                return 1;
        default:
                return fail(p, -EBADMSG, "raw.trace: unknown section type %" PRIu32 " at byte %zu", type, at);
        }
}

static const struct format *find_format(const struct replay *p, const char *name) {
        for (size_t i = 0; i < p->n_formats; i++)
                if (strcmp(p->formats[i].name, name) == 0)
                        return &p->formats[i];
        return NULL;
}

/* The value of META's @key, NUL-terminated into @buf; false if absent. */
static bool meta_get(const struct replay *p, const char *key, char *buf, size_t size) {
        size_t klen = strlen(key);
        const char *s = (const char *) p->meta, *end = s + p->meta_len;
        while (s && s < end) {
                const char *nl = memchr(s, '\n', (size_t) (end - s));
                const char *line_end = nl ? nl : end;
                if ((size_t) (line_end - s) > klen && memcmp(s, key, klen) == 0 && s[klen] == '=') {
                        size_t n = (size_t) (line_end - s) - klen - 1;
                        if (n >= size)
                                n = size - 1;
                        memcpy(buf, s + klen + 1, n);
                        buf[n] = '\0';
                        return true;
                }
                s = nl ? nl + 1 : NULL;
        }
        return false;
}

static int meta_u64(struct replay *p, const char *key, uint64_t *ret) {
        char v[32], *e;
        if (!meta_get(p, key, v, sizeof v) || !v[0])
                return fail(p, -EBADMSG, "raw.trace: the meta section lacks %s", key);
        errno = 0;
        unsigned long long x = strtoull(v, &e, 10);
        if (errno || *e || v[0] == '-')
                return fail(p, -EBADMSG, "raw.trace: meta %s is not a number: '%s'", key, v);
        *ret = x;
        return 0;
}

static int cmp_symbol(const void *a, const void *b) {
        const struct symbol *x = a, *y = b;
        return x->address < y->address ? -1 : x->address > y->address;
}

static int load_symbols(struct replay *p) {
        const char *s = (const char *) p->symbols, *end = s ? s + p->symbols_len : NULL;
        size_t lines = 0;
        for (const char *q = s; q && q < end; q++)
                lines += *q == '\n';
        if (lines > RAWTRACE_SYMBOLS_MAX)
                return fail(p, -EBADMSG, "raw.trace: more than %u symbols", RAWTRACE_SYMBOLS_MAX);
        p->syms = calloc(lines ? lines : 1, sizeof *p->syms);
        if (!p->syms)
                return -ENOMEM;
        size_t line = 0;
        while (s && s < end) {
                const char *nl = memchr(s, '\n', (size_t) (end - s));
                if (!nl)
                        return fail(p, -EBADMSG, "raw.trace: symbol line %zu is not ended", line + 1);
                line++;
                uint64_t a = 0;
                const char *q = s;
                size_t digits = 0;
                for (; q < nl && *q != ' '; q++, digits++) {
                        int d = *q >= '0' && *q <= '9' ? *q - '0' : *q >= 'a' && *q <= 'f' ? *q - 'a' + 10 : -1;
                        if (d < 0 || digits >= 16)
                                return fail(p, -EBADMSG, "raw.trace: symbol line %zu: bad address", line);
                        a = a << 4 | (uint64_t) d;
                }
                if (digits == 0 || nl - q < 4 || q[0] != ' ' || (q[1] != 't' && q[1] != '-') || q[2] != ' ')
                        return fail(p, -EBADMSG, "raw.trace: symbol line %zu is not '<address> <t|-> <frame>'", line);
                struct symbol *y = &p->syms[p->n_syms++];
                y->address = a;
                y->tracing = q[1] == 't';
                y->name = q + 3;
                y->name_len = (size_t) (nl - q - 3);
                if (y->name_len >= RAWTRACE_FRAME_MAX || memchr(y->name, '\0', y->name_len))
                        return fail(p, -EBADMSG, "raw.trace: symbol line %zu: bad frame name", line);
                s = nl + 1;
        }
        qsort(p->syms, p->n_syms, sizeof *p->syms, cmp_symbol);
        return 0;
}

static int resolve_symbol(uint64_t address, char *buf, size_t size, void *userdata) {
        const struct replay *p = userdata;
        size_t lo = 0, hi = p->n_syms;
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (p->syms[mid].address < address)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        if (lo == p->n_syms || p->syms[lo].address != address)
                return -ENOENT;
        snprintf(buf, size, "%.*s", (int) p->syms[lo].name_len, p->syms[lo].name);
        return p->syms[lo].tracing ? 1 : 0;
}

static int parse_format(struct replay *p, const char *name, struct tracefmt_event *ret) {
        const struct format *f = find_format(p, name);
        if (!f)
                return fail(p, -EBADMSG, "raw.trace: no format of %s", name);
        int r = tracefmt_parse(f->text, f->len, ret);
        if (r < 0)
                return fail(p, -EBADMSG, "raw.trace: the format of %s does not parse", name);
        return 0;
}

static int build_layout(struct replay *p, bool allocs_only, struct tracerec_layout *l) {
        const struct format *hp = find_format(p, "header_page");
        struct tracefmt_page page;
        struct tracefmt_event e;
        char kinds[128];
        if (!hp || tracefmt_parse_header_page(hp->text, hp->len, &page) < 0)
                return fail(p, -EBADMSG, "raw.trace: no usable header_page format");
        int r = parse_format(p, "kernel_stack", &e);
        if (r < 0)
                return r;
        if (tracerec_layout_init(l, &page, &e) < 0)
                return fail(p, -EBADMSG, "raw.trace: the kernel_stack format lacks the fields a stack needs");
        if (!meta_get(p, "kinds", kinds, sizeof kinds) || !kinds[0])
                return fail(p, -EBADMSG, "raw.trace: the meta section names no traced event");
        bool any = false;
        for (size_t i = 0; i < _TRACEREC_KIND_MAX; i++) {
                enum tracerec_kind k = (enum tracerec_kind) i;
                const char *name = tracerec_kind_name(k);
                size_t n = strlen(name);
                bool listed = false;
                for (const char *s = kinds; *s;) {
                        size_t w = strcspn(s, ",");
                        listed |= w == n && memcmp(s, name, n) == 0;
                        s += w + (s[w] == ',');
                }
                if (!listed)
                        continue;
                r = parse_format(p, name, &e);
                if (r < 0)
                        return r;
                if (tracerec_layout_use(l, k, &e) < 0)
                        return fail(p, -EBADMSG, "raw.trace: the format of %s has no pointer field", name);
                l->events[i].stackless = allocs_only && tracerec_kind_pairing(k) == PAIRING_FREE;
                any = true;
        }
        if (!any)
                return fail(p, -EBADMSG, "raw.trace: the meta section names no known event ('%s')", kinds);
        return 0;
}

struct feed_ctx {
        struct tracerec *rec;
        unsigned n_cpus;
        size_t page_size;
        uint8_t *page;                  /* page_size bytes */
};

static int feed_section(struct replay *p, uint32_t type, size_t at, const uint8_t *payload, size_t len,
                        void *userdata) {
        struct feed_ctx *c = userdata;
        if (type == SECTION_END)
                return 1;
        if (type != SECTION_PAGE)
                return 0;
        uint32_t cpu = get_u32(payload);
        if (cpu >= c->n_cpus)
                return fail(p, -EBADMSG, "raw.trace: the page at byte %zu is of CPU %" PRIu32 ", past %u", at, cpu,
                            c->n_cpus);
        size_t n = len - PAGE_HEADER_BYTES;
        if (n > c->page_size)
                return fail(p, -EBADMSG, "raw.trace: the page at byte %zu holds %zu bytes, a page is %zu", at, n,
                            c->page_size);
        /* Kept trimmed to its records: the rest reads as zero, as a short read does live. */
        memcpy(c->page, payload + PAGE_HEADER_BYTES, n);
        memset(c->page + n, 0, c->page_size - n);
        /* A page that does not decode whole is counted (bad_pages), as live. */
        (void) tracerec_page(c->rec, cpu, c->page, c->page_size);
        return 0;
}

static int max_cpu_section(struct replay *p, uint32_t type, size_t at, const uint8_t *payload, size_t len,
                           void *userdata) {
        (void) p;
        (void) at;
        (void) len;
        uint32_t *max = userdata;
        if (type == SECTION_END)
                return 1;
        if (type == SECTION_PAGE && get_u32(payload) > *max)
                *max = get_u32(payload);
        return 0;
}

int rawtrace_replay(const uint8_t *data, size_t len, struct rawtrace_info *info, struct pairing_result **ret,
                    char *err, size_t err_size) {
        struct replay p = { .data = data, .len = len, .err = err, .err_size = err_size };
        struct tracerec_layout l;
        struct pairing *pairing = NULL;
        struct tracerec *rec = NULL;
        char v[RAWTRACE_VALUE_MAX];
        int r;

        if (err && err_size)
                err[0] = '\0';
        if (!data || !info || !ret)
                return -EINVAL;
        memset(info, 0, sizeof *info);
        if (!rawtrace_is(data, len))
                return fail(&p, -EBADMSG, "not a raw.trace file (no %s magic)", RAWTRACE_MAGIC);
        if (len < RAWTRACE_HEADER_BYTES)
                return fail(&p, -EBADMSG, "raw.trace: the header is cut short");
        if (get_u32(data + 8) != RAWTRACE_VERSION || get_u32(data + 12) != RAWTRACE_HEADER_BYTES)
                return fail(&p, -EPROTONOSUPPORT, "raw.trace: version %" PRIu32 ", this reader knows %d",
                            get_u32(data + 8), RAWTRACE_VERSION);
        if (data[16] != host_endianness())
                return fail(&p, -EPROTONOSUPPORT, "raw.trace: pages of a %s-endian machine, this one is not",
                            data[16] == 2 ? "big" : data[16] == 1 ? "little" : "unknown");

        r = walk(&p, index_section, NULL);
        if (r < 0)
                goto out;
        if (!p.meta) {
                r = fail(&p, -EBADMSG, "raw.trace: no meta section");
                goto out;
        }
        if (p.end_pages != p.pages) {
                r = fail(&p, -EBADMSG, "raw.trace: the end record counts %" PRIu64 " pages, the file holds %" PRIu64,
                         p.end_pages, p.pages);
                goto out;
        }
        uint64_t frees_unfiltered, mono, settle_ns, max_events, alloc_end_ns, end_ns;
        if ((r = meta_u64(&p, "frees_unfiltered", &frees_unfiltered)) < 0 || (r = meta_u64(&p, "mono_clock", &mono)) < 0 ||
            (r = meta_u64(&p, "settle_ns", &settle_ns)) < 0 || (r = meta_u64(&p, "max_events", &max_events)) < 0 ||
            (r = meta_u64(&p, "alloc_end_ns", &alloc_end_ns)) < 0 || (r = meta_u64(&p, "end_ns", &end_ns)) < 0)
                goto out;
        if (!meta_get(&p, "stacks", v, sizeof v) || (strcmp(v, "allocs") != 0 && strcmp(v, "all") != 0)) {
                r = fail(&p, -EBADMSG, "raw.trace: meta stacks is neither 'allocs' nor 'all'");
                goto out;
        }
        info->stacks_allocs_only = strcmp(v, "allocs") == 0;
        info->mono_clock = mono != 0;
        (void) meta_get(&p, "cache", info->cache, sizeof info->cache);
        (void) meta_get(&p, "kernel", info->kernel, sizeof info->kernel);
        info->pages = p.pages;
        info->pages_dropped = p.end_dropped;
        info->truncated = p.end_truncated || p.end_dropped > 0;

        r = build_layout(&p, info->stacks_allocs_only, &l);
        if (r < 0)
                goto out;
        r = load_symbols(&p);
        if (r < 0)
                goto out;
        info->symbols = p.n_syms;
        uint32_t max_cpu = 0;
        r = walk(&p, max_cpu_section, &max_cpu);
        if (r < 0)
                goto out;
        if (max_cpu >= TRACEREC_CPUS_MAX) {
                r = fail(&p, -EBADMSG, "raw.trace: a page of CPU %" PRIu32 ", past %d", max_cpu, TRACEREC_CPUS_MAX);
                goto out;
        }
        /* The capture released events by its watermark as it read; here
         * every event is read first and paired in time order at the end,
         * which pairs them the same. */
        r = pairing_new(&(struct pairing_options) {
                                .reorder_window_ns = PAIRING_WINDOW_NONE,
                                .frees_unfiltered = frees_unfiltered != 0,
                                .frees_stackless = info->stacks_allocs_only,
                                .settle_ns = mono ? settle_ns : 0,
                        },
                        &pairing);
        if (r < 0)
                goto out;
        r = tracerec_new(&l, max_cpu + 1, max_events, tracerec_emit_to_pairing, pairing, &rec);
        if (r < 0)
                goto out;
        struct feed_ctx fc = { .rec = rec, .n_cpus = max_cpu + 1, .page_size = l.page.page_size };
        fc.page = malloc(fc.page_size ? fc.page_size : 1);
        if (!fc.page) {
                r = -ENOMEM;
                goto out;
        }
        r = walk(&p, feed_section, &fc);
        free(fc.page);
        if (r < 0)
                goto out;
        tracerec_flush(rec);
        tracerec_get_stats(rec, &info->rec);
        if (alloc_end_ns)
                pairing_end_allocs(pairing, alloc_end_ns);
        r = pairing_finish(pairing, end_ns, resolve_symbol, &p, ret);
        if (r < 0)
                goto out;
        if (!mono)
                (*ret)->end_ns = (*ret)->last_ts_ns;
        r = 0;
out:
        if (r == -ENOMEM)
                (void) fail(&p, r, "out of memory");
        tracerec_free(rec);
        pairing_free(pairing);
        free(p.syms);
        return r;
}
