#include "base/units.h"

#include <stdio.h>

const char *units_format_bytes(double bytes, bool plus, char *buf, size_t size) {
        static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
        double v = bytes < 0 ? -bytes : bytes;
        size_t u = 0;
        while (v >= 1024 && u + 1 < sizeof units / sizeof units[0]) {
                v /= 1024;
                u++;
        }
        const char *sign = bytes < 0 ? "-" : plus && bytes > 0 ? "+" : "";
        snprintf(buf, size, "%s%.*f %s", sign, u ? 1 : 0, v, units[u]);
        return buf;
}
