/* Fuzz the history snapshot reader: whatever it accepts must serialize back
 * to the same bytes, read back sensibly and resize without trouble. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "caches/history.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct history *h;
        if (history_deserialize((const char *) data, size, NULL, NULL, &h) < 0)
                return 0;
        char *buf;
        size_t len;
        if (history_serialize(h, &buf, &len) == 0) {
                if (len != size || memcmp(buf, data, size) != 0)
                        __builtin_trap();
                free(buf);
        }
        struct history_point pts[16];
        for (uint32_t id = 0; id < history_series_end(h); id++)
                for (int k = 0; k < _HISTORY_TIER_MAX; k++)
                        if (history_read(h, id, (enum history_tier) k, 0, pts, 16) > 16)
                                __builtin_trap();
        struct history_params p = *history_params(h);
        p.span_usec[HISTORY_TIER_RAW] /= 2;
        struct history *g;
        if (p.span_usec[HISTORY_TIER_RAW] > 0 && history_new_from(&p, h, NULL, NULL, &g) == 0) {
                if (history_begin_sample(g, history_last_usec(g) + 1) == 0)
                        history_end_sample(g);
                history_free(g);
        }
        history_free(h);
        return 0;
}
