/* memchart — the verdict over time in report.html: from the meminfo
 * columns of a bundle's history.csv (see daemon/core/histcsv.h), one SVG
 * with each key's change since the first sample (MiB) and a band below it
 * of the verdict the daemon held, segment by segment. Pure: text in, SVG
 * out. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Points drawn; a longer history is cut to its last ones. */
#define MEMCHART_POINTS_MAX 8192

/* Write the chart for @csv (@len bytes) to @f, marking the capture window
 * [@start, @end] (seconds of CLOCK_REALTIME). Returns false and writes
 * nothing when the CSV has no meminfo column (a bundle of an older
 * version, or a history.csv written by hand). */
bool memchart_svg(FILE *f, const char *csv, size_t len, double start, double end);
