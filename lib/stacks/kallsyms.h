/* kallsyms — the kernel's text symbols from /proc/kallsyms text, to name the
 * return addresses of traced stacks without libtraceevent. */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* Longest symbol name kept (KSYM_NAME_LEN is 512); longer lines are skipped. */
#define KALLSYMS_NAME_MAX 511
/* Symbols kept at most: a big distribution kernel with modules has ~200,000
 * text symbols. */
#define KALLSYMS_SYMBOLS_MAX (2u << 20)

struct kallsyms;

/* Parse @len bytes of /proc/kallsyms ("ffffffff81000000 T _text", modules
 * with a "\t[mod]" suffix). Keeps the text symbols (t, T, w, W) at a non-zero
 * address, sorted. 0 and the table in *ret_table; -ENOENT if none is left
 * (no text symbol, or every address 0: kptr_restrict hid them), -E2BIG past
 * KALLSYMS_SYMBOLS_MAX, -ENOMEM. Malformed lines are skipped. */
int kallsyms_parse(const char *buf, size_t len, struct kallsyms **ret_table);

/* The symbol @address falls in: 1 with its name, start and size (to the
 * next symbol's start; 0 for the last symbol, which is only matched within
 * KALLSYMS_LAST_SPAN bytes), 0 if it lies before the first symbol or past
 * the last. The name lives as long as the table. */
int kallsyms_lookup(const struct kallsyms *k, uint64_t address, const char **ret_name, uint64_t *ret_start,
                    uint64_t *ret_size);

/* How far past the last symbol an address still counts as in it. */
#define KALLSYMS_LAST_SPAN (64u * 1024u)

/* Number of symbols kept. */
size_t kallsyms_count(const struct kallsyms *k);

/* Free the table; NULL is a no-op. */
void kallsyms_free(struct kallsyms *k);
