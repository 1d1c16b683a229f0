/* Fuzz the slab log reader: any bytes, cut into chunks anywhere (busybox
 * "@ N.%N" marks, serial console "\r\n" and kernel messages included), must
 * give samples whose sections lie inside what was fed, in order, or errors. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "caches/slablog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct state {
        uint64_t last_line;
        uint64_t samples;
};

static int on_sample(const struct slablog_sample *s, void *userdata) {
        struct state *st = userdata;
        if (s->line == 0 || s->line < st->last_line)
                __builtin_trap();
        if ((s->meminfo && (s->meminfo_len == 0 || s->meminfo_line <= s->line)) ||
            (s->slabinfo && (s->slabinfo_len == 0 || s->slabinfo_line <= s->line)))
                __builtin_trap();
        st->last_line = s->line;
        st->samples++;
        return 0;
}

static void on_error(unsigned long line, int error, void *userdata) {
        (void) userdata;
        if (line == 0 || (error != SLABLOG_ERR_MARK && error != SLABLOG_ERR_TOO_BIG && error != SLABLOG_ERR_NO_MARK &&
                          error != SLABLOG_WARN_WHOLE_SECONDS && error != SLABLOG_WARN_CONSOLE))
                __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        if (size < 1)
                return 0;
        size_t step = (size_t) (data[0] & 0x7f) + 1;
        struct state st = {};
        struct slablog *p;
        if (slablog_new(SLABLOG_SAMPLE_MAX_MIN * 4, on_sample, on_error, &st, &p) < 0)
                return 0;
        const char *text = (const char *) data + 1;
        size -= 1;
        int r = 0;
        for (size_t off = 0; off < size && r >= 0; off += step)
                r = slablog_feed(p, text + off, size - off < step ? size - off : step);
        if (r >= 0)
                r = slablog_finish(p);
        if (r < 0 && r != -ENOMEM)
                __builtin_trap();
        if (slablog_n_samples(p) != st.samples)
                __builtin_trap();
        slablog_free(p);
        return 0;
}
