/* Fuzz the ring-buffer page decoder and the record matcher with the
 * layout of the recorded 6.18 x86_64 pages (tests/fixtures/linux-6.18-
 * x86_64/ringbuf/format) and a slice of the bulk-free kprobe events (type
 * 2001, as the 6.1 pages of linux-6.1-x86_64/bulkfree show them), and the
 * format parser on the same bytes. The input is pages of 4096 bytes, one
 * CPU each in turn. */
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "stacks/pairing.h"
#include "stacks/ringbuf.h"
#include "stacks/tracefmt.h"
#include "stacks/tracerec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define COMMON                                                                                                 \
        "format:\n\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n"                        \
        "\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;\n"                                 \
        "\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;\n"                         \
        "\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n\n"

static const char header_page[] = "\tfield: u64 timestamp;\toffset:0;\tsize:8;\tsigned:0;\n"
                                  "\tfield: local_t commit;\toffset:8;\tsize:8;\tsigned:1;\n"
                                  "\tfield: int overwrite;\toffset:8;\tsize:1;\tsigned:1;\n"
                                  "\tfield: char data;\toffset:16;\tsize:4080;\tsigned:0;\n";
static const char kernel_stack[] = "name: kernel_stack\nID: 4\n" COMMON
                                   "\tfield:int size;\toffset:8;\tsize:4;\tsigned:1;\n"
                                   "\tfield:unsigned long caller[8];\toffset:16;\tsize:64;\tsigned:0;\n";
static const char cache_alloc[] = "name: kmem_cache_alloc\nID: 659\n" COMMON
                                  "\tfield:unsigned long call_site;\toffset:8;\tsize:8;\tsigned:0;\n"
                                  "\tfield:const void * ptr;\toffset:16;\tsize:8;\tsigned:0;\n"
                                  "\tfield:__data_loc char[] name;\toffset:24;\tsize:4;\tsigned:0;\n"
                                  "\tfield:size_t bytes_req;\toffset:32;\tsize:8;\tsigned:0;\n"
                                  "\tfield:size_t bytes_alloc;\toffset:40;\tsize:8;\tsigned:0;\n";
static const char cache_free[] = "name: kmem_cache_free\nID: 656\n" COMMON
                                 "\tfield:unsigned long call_site;\toffset:8;\tsize:8;\tsigned:0;\n"
                                 "\tfield:const void * ptr;\toffset:16;\tsize:8;\tsigned:0;\n"
                                 "\tfield:__data_loc char[] name;\toffset:24;\tsize:4;\tsigned:0;\n";

static int null_emit(const struct tracerec_event *e, void *userdata) {
        (void) userdata;
        if (e->n_frames > PAIRING_FRAMES_MAX + 1)
                __builtin_trap();
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static struct tracerec_layout l;
        static bool ready;
        if (!ready) {
                struct tracefmt_page page;
                struct tracefmt_event ks, a, f;
                if (tracefmt_parse_header_page(header_page, sizeof header_page - 1, &page) < 0 ||
                    tracefmt_parse(kernel_stack, sizeof kernel_stack - 1, &ks) < 0 ||
                    tracefmt_parse(cache_alloc, sizeof cache_alloc - 1, &a) < 0 ||
                    tracefmt_parse(cache_free, sizeof cache_free - 1, &f) < 0 ||
                    tracerec_layout_init(&l, &page, &ks) < 0 ||
                    tracerec_layout_use(&l, TRACEREC_KMEM_CACHE_ALLOC, &a) < 0 ||
                    tracerec_layout_use(&l, TRACEREC_KMEM_CACHE_FREE, &f) < 0)
                        __builtin_trap();
                static char bulk_text[16384];
                static struct tracefmt_event bulk;
                size_t off = (size_t) snprintf(bulk_text, sizeof bulk_text,
                                               "name: sw_x_0\nID: 2001\n" COMMON
                                               "\tfield:unsigned long __probe_ip;\toffset:8;\tsize:8;\tsigned:0;\n"
                                               "\tfield:u64 s;\toffset:16;\tsize:8;\tsigned:0;\n"
                                               "\tfield:u64 n;\toffset:24;\tsize:8;\tsigned:0;\n");
                for (int i = 0; i < BULKREC_PTRS_PER_EVENT; i++)
                        off += (size_t) snprintf(bulk_text + off, sizeof bulk_text - off,
                                                 "\tfield:u64 p%d;\toffset:%d;\tsize:8;\tsigned:0;\n", i, 32 + 8 * i);
                if (tracefmt_parse(bulk_text, off, &bulk) < 0 || bulkrec_layout_add(&l.bulk, 0, &bulk) < 0)
                        __builtin_trap();
                ready = true;
        }

        struct tracerec *t = NULL;
        struct pairing *p = NULL;
        if (pairing_new(&(struct pairing_options) { .max_memory_bytes = 8u << 20 }, &p) < 0 ||
            tracerec_new(&l, 2, 0, size & 1 ? null_emit : tracerec_emit_to_pairing, size & 1 ? NULL : p, &t) < 0)
                __builtin_trap();
        unsigned cpu = 0;
        for (size_t off = 0; off < size; off += 4096, cpu ^= 1) {
                size_t n = size - off < 4096 ? size - off : 4096;
                (void) tracerec_page(t, cpu, data + off, n);
        }
        tracerec_flush(t);
        struct tracerec_stats st;
        tracerec_get_stats(t, &st);
        if (st.allocs + st.frees != st.events)
                __builtin_trap();
        struct pairing_result *res = NULL;
        if (pairing_finish(p, 0, NULL, NULL, &res) == 0)
                pairing_result_free(res);
        tracerec_free(t);
        pairing_free(p);

        /* The same bytes as a format file. */
        struct tracefmt_event e;
        struct tracefmt_page pg;
        if (tracefmt_parse((const char *) data, size, &e) == 0 && e.n_fields > TRACEFMT_FIELDS_MAX)
                __builtin_trap();
        (void) tracefmt_parse_header_page((const char *) data, size, &pg);
        return 0;
}
