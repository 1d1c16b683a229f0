/* render — a report's renderings for people and tools beyond report.txt:
 * stacks.folded (outstanding objects per stack, for flamegraph.pl and
 * speedscope) and report.html (one self-contained page, inline SVG, no
 * script, no network: the cache's history with the trip and the capture
 * window, the ledger, the paths as an icicle graph of outstanding objects
 * with the culprit marked, the call-site growth). Pure: text in, text out. */
#pragma once

#include <stddef.h>

#include "report/report.h"

/* Nodes of the icicle graph; the rest of a wide tree is lumped. */
#define RENDER_FLAME_NODES_MAX 4096
/* Levels drawn from the allocation point outward. */
#define RENDER_FLAME_DEPTH_MAX 48
/* History points drawn (history.csv is cut to the last ones). */
#define RENDER_HISTORY_POINTS_MAX 8192

/* stacks.folded: one line per stack holding objects, frames outermost
 * first joined by ';' (functions, no offsets), a space, the outstanding
 * count. A malloc'd NUL-terminated text. -ENOMEM. */
int report_to_folded(const struct report *r, char **ret_text, size_t *ret_len);

/* report.html for @r; @history_csv ("time,active_objs,..." as the bundle's
 * history.csv, NULL if none) draws the chart. -ENOMEM. */
int report_to_html(const struct report *r, const char *history_csv, size_t history_len, char **ret_text,
                   size_t *ret_len);
