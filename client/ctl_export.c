/* ctl_export — write the daemon's exported history as a slab log, the format
 * testers record and `slabwatchctl replay` reads:
 *
 *   @ <epoch seconds>
 *   <meminfo lines>
 *   slabinfo - version: 2.1
 *   <slabinfo lines>
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "ctl.h"

static json_object *array_of(json_object *o, const char *key) {
        json_object *v;
        if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_array))
                return NULL;
        return v;
}

/* Element @i of @a as a non-negative integer; false when null or absent. */
static bool value_at(json_object *a, size_t i, uint64_t *ret) {
        json_object *v = a && i < json_object_array_length(a) ? json_object_array_get_idx(a, i) : NULL;
        if (!v || !json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 0)
                return false;
        *ret = (uint64_t) json_object_get_int64(v);
        return true;
}

int ctl_export_write(json_object *data, const char *only_cache, FILE *f) {
        json_object *times = array_of(data, "t_usec");
        json_object *meminfo = array_of(data, "meminfo");
        json_object *caches = NULL;
        if (!times || !json_object_object_get_ex(data, "caches", &caches) ||
            !json_object_is_type(caches, json_type_object))
                return -EBADMSG;
        if (only_cache && !json_object_object_get_ex(caches, only_cache, NULL))
                return -ENOENT;

        size_t n = json_object_array_length(times);
        int written = 0;
        for (size_t i = 0; i < n; i++) {
                uint64_t t;
                if (!value_at(times, i, &t))
                        return -EBADMSG;
                fprintf(f, "@ %" PRIu64 ".%06" PRIu64 "\n", t / 1000000, t % 1000000);
                size_t nk = meminfo ? json_object_array_length(meminfo) : 0;
                for (size_t k = 0; k < nk; k++) {
                        json_object *key = json_object_array_get_idx(meminfo, k);
                        uint64_t v;
                        if (!value_at(array_of(key, "values"), i, &v))
                                continue;
                        char label[64];
                        snprintf(label, sizeof label, "%s:", ctl_json_str(key, "key", "?"));
                        if (ctl_json_bool(key, "kib"))
                                fprintf(f, "%-15s %8" PRIu64 " kB\n", label, v);
                        else
                                fprintf(f, "%-15s %8" PRIu64 "\n", label, v);
                }
                fputs("slabinfo - version: 2.1\n"
                      "# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab>"
                      " : tunables <limit> <batchcount> <sharedfactor>"
                      " : slabdata <active_slabs> <num_slabs> <sharedavail>\n", f);
                json_object_object_foreach(caches, name, cache) {
                        uint64_t active, slabs;
                        if (only_cache && strcmp(name, only_cache) != 0)
                                continue;
                        if (!value_at(array_of(cache, "active_objs"), i, &active))
                                continue;
                        if (!value_at(array_of(cache, "num_slabs"), i, &slabs))
                                slabs = 0;
                        uint64_t objperslab = (uint64_t) ctl_json_num(cache, "objperslab", 0);
                        /* History keeps active objects and slabs; the total
                         * is what full slabs hold, never below the active
                         * count. */
                        uint64_t num = slabs * objperslab;
                        if (num < active)
                                num = active;
                        fprintf(f, "%-17s %6" PRIu64 " %6" PRIu64 " %6.0f %4.0f %4.0f : tunables %4d %4d %4d"
                                   " : slabdata %6" PRIu64 " %6" PRIu64 " %6d\n",
                                name, active, num, ctl_json_num(cache, "objsize", 0), (double) objperslab,
                                ctl_json_num(cache, "pagesperslab", 0), 0, 0, 0, slabs, slabs, 0);
                }
                written++;
        }
        if (fflush(f) != 0 || ferror(f))
                return -EIO;
        return written;
}
