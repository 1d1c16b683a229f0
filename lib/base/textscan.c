#include "base/textscan.h"

#include <errno.h>
#include <string.h>

struct textscan_lines textscan_lines_init(const char *buf, size_t len) {
        return (struct textscan_lines) { buf, buf + len };
}

bool textscan_next_line(struct textscan_lines *it, const char **ret_line, size_t *ret_len) {
        if (it->p >= it->end)
                return false;
        const char *nl = memchr(it->p, '\n', (size_t) (it->end - it->p));
        const char *stop = nl ? nl : it->end;
        *ret_line = it->p;
        *ret_len = (size_t) (stop - it->p);
        it->p = nl ? nl + 1 : it->end;
        return true;
}

struct textscan textscan_init(const char *buf, size_t len) {
        return (struct textscan) { buf, buf + len };
}

static bool is_space(char c) {
        return c == ' ' || c == '\t' || c == '\r';
}

bool textscan_token(struct textscan *sc, const char **ret_tok, size_t *ret_len) {
        while (sc->p < sc->end && is_space(*sc->p))
                sc->p++;
        if (sc->p >= sc->end)
                return false;
        const char *start = sc->p;
        while (sc->p < sc->end && !is_space(*sc->p))
                sc->p++;
        *ret_tok = start;
        *ret_len = (size_t) (sc->p - start);
        return true;
}

bool textscan_peek_number(const struct textscan *sc) {
        struct textscan copy = *sc;
        const char *tok;
        size_t len;
        return textscan_token(&copy, &tok, &len) && textscan_is_number(tok, len);
}

bool textscan_is_number(const char *tok, size_t len) {
        if (len == 0)
                return false;
        for (size_t i = 0; i < len; i++)
                if (tok[i] < '0' || tok[i] > '9')
                        return false;
        return true;
}

int textscan_u64(const char *tok, size_t len, uint64_t *ret) {
        uint64_t v = 0;
        if (!textscan_is_number(tok, len))
                return -EINVAL;
        for (size_t i = 0; i < len; i++) {
                unsigned d = (unsigned) (tok[i] - '0');
                if (v > (UINT64_MAX - d) / 10)
                        return -ERANGE;
                v = v * 10 + d;
        }
        *ret = v;
        return 0;
}

bool textscan_blank(const char *line, size_t len) {
        for (size_t i = 0; i < len; i++)
                if (!is_space(line[i]))
                        return false;
        return true;
}

const char *textscan_find(const char *buf, size_t len, const char *needle) {
        return memmem(buf, len, needle, strlen(needle));
}
