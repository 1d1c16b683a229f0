/* capture_recovered — what the capture manager says about a capture the
 * previous daemon did not finish (see bundle_recover_interrupted()). */
#pragma once

#include <json-c/json.h>

#include "capture/capture.h"

/* Log and call @done with the capture_result of interrupted bundle @id in
 * @dir, whose report.json is @rj; @problem says what was wrong with the
 * checkpoint ("" if nothing). result->interrupted is set, result->report
 * is NULL. */
void capture_recovered_alert(const char *id, const char *dir, json_object *rj, const char *problem,
                             capture_done_fn done, void *userdata);
