#include "stacks/tracefmt.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>


/* A record is at most a page; anything claiming more is not a format. */
#define RECORD_MAX (64u << 10)

/* The value after "@key:" inside @line (up to ';'), as an unsigned number. */
static bool line_number(const char *line, size_t len, const char *key, uint32_t *ret) {
        size_t klen = strlen(key);
        for (size_t i = 0; i + klen < len; i++) {
                if (memcmp(line + i, key, klen) != 0 || (i > 0 && line[i - 1] != '\t' && line[i - 1] != ' ' &&
                                                         line[i - 1] != ';'))
                        continue;
                uint64_t v = 0;
                size_t j = i + klen;
                bool any = false;
                while (j < len && line[j] == ' ')
                        j++;
                while (j < len && line[j] >= '0' && line[j] <= '9') {
                        v = v * 10 + (uint64_t) (line[j] - '0');
                        if (v > UINT32_MAX)
                                return false;
                        any = true;
                        j++;
                }
                if (!any)
                        return false;
                *ret = (uint32_t) v;
                return true;
        }
        return false;
}

/* "field:unsigned long caller[8];" → type and name; false if not a field line. */
static bool parse_field(const char *line, size_t len, struct tracefmt_field *f) {
        const char *p = line, *end = line + len;
        while (p < end && (*p == ' ' || *p == '\t'))
                p++;
        if ((size_t) (end - p) < 6 || memcmp(p, "field:", 6) != 0)
                return false;
        p += 6;
        const char *semi = memchr(p, ';', (size_t) (end - p));
        if (!semi)
                return false;
        /* The name is the last word before ';', without an array suffix. */
        const char *e = semi;
        while (e > p && e[-1] == ' ')
                e--;
        if (e > p && e[-1] == ']') {
                while (e > p && e[-1] != '[')
                        e--;
                if (e == p)
                        return false;
                e--;
        }
        const char *s = e;
        while (s > p && s[-1] != ' ' && s[-1] != '\t' && s[-1] != '*')
                s--;
        size_t n = (size_t) (e - s);
        if (n == 0 || n >= TRACEFMT_NAME_MAX)
                return false;
        memset(f, 0, sizeof *f);
        memcpy(f->name, s, n);
        f->data_loc = (size_t) (s - p) >= 10 && memmem(p, (size_t) (s - p), "__data_loc", 10) != NULL;
        size_t rest = (size_t) (end - semi);
        uint32_t sign = 0;
        if (!line_number(semi, rest, "offset:", &f->offset) || !line_number(semi, rest, "size:", &f->size))
                return false;
        if (line_number(semi, rest, "signed:", &sign))
                f->is_signed = sign != 0;
        return true;
}

typedef int (*line_fn)(const char *line, size_t len, void *userdata);

static int each_line(const char *buf, size_t len, line_fn fn, void *userdata) {
        if (!buf && len > 0)
                return -EINVAL;
        if (len > TRACEFMT_TEXT_MAX)
                return -E2BIG;
        for (size_t pos = 0; pos < len;) {
                const char *nl = memchr(buf + pos, '\n', len - pos);
                size_t n = nl ? (size_t) (nl - (buf + pos)) : len - pos;
                int r = fn(buf + pos, n, userdata);
                if (r < 0)
                        return r;
                pos += n + 1;
        }
        return 0;
}

struct event_state {
        struct tracefmt_event *e;
        bool have_name;
        bool have_id;
};

static int event_line(const char *line, size_t len, void *userdata) {
        struct event_state *st = userdata;
        struct tracefmt_field f;

        if (len > 5 && memcmp(line, "name:", 5) == 0) {
                const char *p = line + 5, *end = line + len;
                while (p < end && *p == ' ')
                        p++;
                while (end > p && (end[-1] == ' ' || end[-1] == '\r'))
                        end--;
                size_t n = (size_t) (end - p);
                if (n == 0 || n >= TRACEFMT_NAME_MAX)
                        return -EBADMSG;
                memcpy(st->e->name, p, n);
                st->e->name[n] = '\0';
                st->have_name = true;
                return 0;
        }
        if (len > 3 && memcmp(line, "ID:", 3) == 0) {
                if (!line_number(line, len, "ID:", &st->e->id))
                        return -EBADMSG;
                st->have_id = true;
                return 0;
        }
        if (!parse_field(line, len, &f))
                return 0;
        if ((uint64_t) f.offset + f.size > RECORD_MAX)
                return -EBADMSG;
        if (st->e->n_fields >= TRACEFMT_FIELDS_MAX)
                return -E2BIG;
        st->e->fields[st->e->n_fields++] = f;
        return 0;
}

int tracefmt_parse(const char *buf, size_t len, struct tracefmt_event *ret) {
        struct tracefmt_event *e = calloc(1, sizeof *e);
        struct event_state st = { .e = e };
        int r;

        if (!e)
                return -ENOMEM;
        r = each_line(buf, len, event_line, &st);
        if (r == 0 && (!st.have_name || !st.have_id || e->n_fields == 0))
                r = -EBADMSG;
        if (r == 0)
                *ret = *e;
        free(e);
        return r;
}

const struct tracefmt_field *tracefmt_field(const struct tracefmt_event *e, const char *name) {
        for (size_t i = 0; e && name && i < e->n_fields; i++)
                if (strcmp(e->fields[i].name, name) == 0)
                        return &e->fields[i];
        return NULL;
}

struct page_state {
        struct tracefmt_page p;
        bool have_commit;
        bool have_data;
};

static int page_line(const char *line, size_t len, void *userdata) {
        struct page_state *st = userdata;
        struct tracefmt_field f;

        if (!parse_field(line, len, &f))
                return 0;
        if (strcmp(f.name, "commit") == 0) {
                st->p.commit_size = f.size;
                st->have_commit = true;
        } else if (strcmp(f.name, "data") == 0) {
                if ((uint64_t) f.offset + f.size > RECORD_MAX * 16)
                        return -EBADMSG;
                st->p.data_offset = f.offset;
                st->p.page_size = f.offset + f.size;
                st->have_data = true;
        }
        return 0;
}

int tracefmt_parse_header_page(const char *buf, size_t len, struct tracefmt_page *ret) {
        struct page_state st = {};
        int r = each_line(buf, len, page_line, &st);

        if (r < 0)
                return r;
        if (!st.have_commit || !st.have_data || (st.p.commit_size != 4 && st.p.commit_size != 8) ||
            st.p.data_offset < 8 + st.p.commit_size || st.p.page_size <= st.p.data_offset)
                return -EBADMSG;
        *ret = st.p;
        return 0;
}
