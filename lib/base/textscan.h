/* textscan — bounded line and token scanning over a (buf, len) span. The
 * /proc parsers never rely on NUL termination: the kernel's text can be cut
 * anywhere, and tests feed arbitrary bytes. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct textscan_lines {
        const char *p;
        const char *end;
};

struct textscan {
        const char *p;
        const char *end;
};

/* Iterate the lines of @buf; the last line needs no trailing newline. */
struct textscan_lines textscan_lines_init(const char *buf, size_t len);

/* Next line without its '\n' (a trailing '\r' is kept); false at the end. */
bool textscan_next_line(struct textscan_lines *it, const char **ret_line, size_t *ret_len);

/* Tokens separated by spaces and tabs. */
struct textscan textscan_init(const char *buf, size_t len);

/* Next token; false when none is left. */
bool textscan_token(struct textscan *sc, const char **ret_tok, size_t *ret_len);

/* True if the next token is all decimal digits (does not consume it). */
bool textscan_peek_number(const struct textscan *sc);

/* Strict unsigned decimal: digits only, no sign, no spaces. -EINVAL, -ERANGE. */
int textscan_u64(const char *tok, size_t len, uint64_t *ret);

/* True if @tok is non-empty and all decimal digits. */
bool textscan_is_number(const char *tok, size_t len);

/* True if the line holds only spaces, tabs and '\r'. */
bool textscan_blank(const char *line, size_t len);

/* memmem() for a NUL-terminated needle within (buf, len); NULL if absent. */
const char *textscan_find(const char *buf, size_t len, const char *needle);
