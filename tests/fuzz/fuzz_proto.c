/* Fuzz the socket protocol's decoders: a request as the daemon reads it
 * (after the frame header), and a response as slabwatchctl reads it. A
 * decoded request must encode again. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "control/proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct proto_request req;
        struct proto_failure f;
        json_object *args = NULL;
        if (size >= PROTO_HEADER_SIZE) {
                uint32_t len = 0;
                uint8_t version = 0;
                (void) proto_header_decode(data, PROTO_REQUEST_HARD_MAX, &len, &version);
        }
        if (proto_request_decode((const char *) data, size, &req, &args, &f) == 0) {
                char *frame = NULL;
                size_t len = 0;
                if (proto_request_encode(&req, &frame, &len) < 0)
                        __builtin_trap();
                free(frame);
                json_object_put(args);
        } else if (!memchr(f.message, '\0', sizeof f.message))
                __builtin_trap();
        json_object *doc = NULL;
        if (proto_response_decode((const char *) data, size, &doc) == 0)
                json_object_put(doc);
        return 0;
}
