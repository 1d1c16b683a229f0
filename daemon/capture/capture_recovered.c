/* capture_recovered — the capture alert for a bundle finished at start
 * from a killed daemon's checkpoint, read back from its report.json. */
#include "capture/capture_recovered.h"

#include <inttypes.h>
#include <stdio.h>

#include "core/log.h"
#include "report/assemble.h"

static const char *jstr(json_object *o, const char *key) {
        json_object *v;
        return o && json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string)
                       ? json_object_get_string(v)
                       : "";
}

static uint64_t juint(json_object *o, const char *key) {
        json_object *v;
        return o && json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_int)
                       ? json_object_get_uint64(v)
                       : 0;
}

void capture_recovered_alert(const char *id, const char *dir, json_object *rj, const char *problem,
                             capture_done_fn done, void *userdata) {
        char methods[REPORT_TEXT_MAX] = "", message[REPORT_MESSAGE_MAX];
        json_object *v, *top = NULL, *att = NULL;
        double elapsed = 0;
        size_t len = 0;

        if (json_object_object_get_ex(rj, "methods", &v) && json_object_is_type(v, json_type_array))
                for (size_t i = 0; i < json_object_array_length(v) && len < sizeof methods; i++)
                        len += (size_t) snprintf(methods + len, sizeof methods - len, "%s%s", i ? "+" : "",
                                                 json_object_get_string(json_object_array_get_idx(v, i)));
        if (json_object_object_get_ex(rj, "stacks", &v) && json_object_is_type(v, json_type_array) &&
            json_object_array_length(v) > 0)
                top = json_object_array_get_idx(v, 0);
        (void) json_object_object_get_ex(rj, "attribution", &att);
        if (json_object_object_get_ex(rj, "duration_s", &v))
                elapsed = json_object_get_double(v);
        if (jstr(rj, "suspect")[0])
                snprintf(message, sizeof message,
                         "Capture %s of %s was interrupted (the daemon stopped before its end); its last "
                         "checkpoint, %.1f s in, is kept: %" PRIu64 " objects outstanding from %s%s%s",
                         id, jstr(rj, "cache"), elapsed, juint(top, "outstanding"), jstr(rj, "suspect"),
                         problem[0] ? "; " : "", problem);
        else
                snprintf(message, sizeof message,
                         "Capture %s of %s was interrupted (the daemon stopped before its end); its last "
                         "checkpoint, %.1f s in, is kept%s%s",
                         id, jstr(rj, "cache"), elapsed, problem[0] ? ": " : " (no stack in it yet)", problem);
        log_notice("%s", message);
        if (done)
                done(&(struct capture_result) {
                                .id = id,
                                .cache = jstr(rj, "cache"),
                                .slabinfo_name = jstr(rj, "cache"),
                                .dir = dir,
                                .method = methods[0] ? methods : "none",
                                .stop_reason = CAPTURE_INTERRUPTED_REASON,
                                .lost_events = juint(rj, "lost_events"),
                                .events = juint(rj, "events"),
                                .top_stack = jstr(rj, "top_stack"),
                                .top_outstanding = juint(top, "outstanding"),
                                .suspect = jstr(rj, "suspect"),
                                .confidence = jstr(att, "confidence"),
                                .leak_group = "",
                                .top_call_site = "",
                                .bundle_error_path = "",
                                .message = message,
                                .interrupted = true,
                        },
                        userdata);
}

