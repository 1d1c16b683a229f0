/* stacks_json — `slabwatchctl stacks --json`: the whole run as one JSON
 * document on one line. */
#include "stacks.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>

#include "input.h"

static json_object *json_uset(const struct stackagg_uset *s) {
        json_object *arr = json_object_new_array();
        for (size_t i = 0; arr && i < s->n; i++)
                json_object_array_add(arr, json_object_new_uint64(s->values[i]));
        return arr;
}

static json_object *json_sset(const struct stackagg_sset *s) {
        json_object *arr = json_object_new_array();
        for (size_t i = 0; arr && i < s->n; i++)
                json_object_array_add(arr, json_object_new_string(s->values[i]));
        return arr;
}

static json_object *json_frame(const struct stackagg_frame *fr) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "function", json_object_new_string(fr->function));
        if (fr->raw && fr->raw[0])
                json_object_object_add(o, "raw", json_object_new_string(fr->raw));
        if (fr->has_offset) {
                json_object_object_add(o, "offset", json_object_new_uint64(fr->offset));
                json_object_object_add(o, "size", json_object_new_uint64(fr->size));
        }
        if (fr->module[0])
                json_object_object_add(o, "module", json_object_new_string(fr->module));
        if (fr->source && fr->source[0])
                json_object_object_add(o, "source", json_object_new_string(fr->source));
        if (fr->inlined)
                json_object_object_add(o, "inlined", json_object_new_boolean(true));
        return o;
}

static json_object *json_tree(const struct stackagg_node *node) {
        json_object *o = json_object_new_object();
        if (node->frame)
                json_object_object_add(o, "function", json_object_new_string(node->frame->function));
        json_object_object_add(o, "count", json_object_new_uint64(node->count));
        json_object_object_add(o, "self", json_object_new_uint64(node->self));
        json_object *children = json_object_new_array();
        for (size_t i = 0; i < node->n_children; i++)
                json_object_array_add(children, json_tree(&node->children[i]));
        json_object_object_add(o, "children", children);
        return o;
}

static json_object *json_entry(const struct stacks_args *a, const struct stacks_population *pop, size_t rank,
                               const struct stackagg_entry *e) {
        json_object *s = json_object_new_object();
        json_object_object_add(s, "rank", json_object_new_uint64(rank));
        json_object_object_add(s, "role", json_object_new_string(stackdump_role_name(pop->role)));
        json_object_object_add(s, "count", json_object_new_uint64(e->count));
        json_object_object_add(s, "stacks", json_object_new_uint64(e->records));
        json_object *first = json_object_new_object();
        json_object_object_add(first, "file", json_object_new_string(stacks_source_name(a, e->first_source)));
        json_object_object_add(first, "line", json_object_new_uint64(e->first_line));
        json_object_object_add(s, "first", first);
        json_object *formats = json_object_new_array();
        for (int k = 0; k < _STACKDUMP_FORMAT_MAX; k++)
                if (e->formats & (1u << k))
                        json_object_array_add(formats, json_object_new_string(stackdump_format_name(k)));
        json_object_object_add(s, "formats", formats);
        json_object_object_add(s, "cpus", json_uset(&e->cpus));
        json_object_object_add(s, "pids", json_uset(&e->pids));
        json_object_object_add(s, "comms", json_sset(&e->comms));
        json_object_object_add(s, "taints", json_sset(&e->taints));
        json_object_object_add(s, "kernels", json_sset(&e->releases));
        json_object_object_add(s, "events", json_sset(&e->events));
        json_object_object_add(s, "caches", json_sset(&e->caches));
        if (e->sized > 0) {
                json_object_object_add(s, "object_bytes", json_object_new_uint64(e->object_bytes));
                json_object_object_add(s, "sized_objects", json_object_new_uint64(e->sized));
        }
        if (e->aged > 0) {
                json_object_object_add(s, "age_min_msec", json_object_new_uint64(e->age_min_msec));
                json_object_object_add(s, "age_max_msec", json_object_new_uint64(e->age_max_msec));
        }
        json_object *more = json_object_new_array();
        const struct {
                const char *name;
                bool more;
        } sets[] = {
                { "cpus", e->cpus.more },       { "pids", e->pids.more },         { "comms", e->comms.more },
                { "taints", e->taints.more },   { "kernels", e->releases.more },  { "events", e->events.more },
                { "caches", e->caches.more },
        };
        for (size_t k = 0; k < sizeof sets / sizeof sets[0]; k++)
                if (sets[k].more)
                        json_object_array_add(more, json_object_new_string(sets[k].name));
        json_object_object_add(s, "incomplete_sets", more);
        json_object *frames = json_object_new_array();
        for (size_t k = 0; k < e->n_frames; k++)
                json_object_array_add(frames, json_frame(&e->frames[k]));
        json_object_object_add(s, "frames", frames);
        return s;
}

int stacks_print_json(FILE *f, const struct stacks_args *a, const struct stacks_run *run, const struct stacks_report *rep) {
        const struct stackagg_stats *st = &rep->total;
        json_object *o = json_object_new_object();
        json_object *files = json_object_new_array();
        for (size_t i = 0; i < a->n_files; i++)
                json_object_array_add(files, json_object_new_string(input_display_name(a->files[i])));
        json_object_object_add(o, "files", files);
        json_object_object_add(o, "from", a->from ? json_object_new_string(a->from) : NULL);
        json_object_object_add(o, "noise_trimmed", json_object_new_boolean(!a->keep_noise && !a->from));
        json_object_object_add(o, "stacks", json_object_new_uint64(st->stacks));
        json_object_object_add(o, "count", json_object_new_uint64(st->weight));
        json_object_object_add(o, "distinct", json_object_new_uint64(st->distinct));
        json_object_object_add(o, "without_from", json_object_new_uint64(st->no_from));
        json_object_object_add(o, "only_noise", json_object_new_uint64(st->empty));
        json_object_object_add(o, "dropped", json_object_new_uint64(st->dropped));
        json_object_object_add(o, "dropped_count", json_object_new_uint64(st->dropped_weight));
        json_object_object_add(o, "truncated", json_object_new_uint64(st->truncated));
        json_object_object_add(o, "unreliable_frames_left_out",
                               json_object_new_uint64(a->keep_unreliable ? 0 : st->unreliable_frames));
        json_object_object_add(o, "unreadable_lines", json_object_new_uint64(run->errors));
        json_object_object_add(o, "skipped_lines", json_object_new_uint64(run->skipped));
        json_object_object_add(o, "incomplete_stacks", json_object_new_uint64(run->incomplete));
        json_object_object_add(o, "duplicates", json_object_new_uint64(run->duplicates));
        json_object_object_add(o, "duplicates_checked_all", json_object_new_boolean(!run->seen_full));
        if (st->stacks == 0)
                json_object_object_add(o, "formats_looked_for", json_object_new_string(stackdump_formats_looked_for()));

        json_object *pops = json_object_new_array();
        json_object *ranked = json_object_new_array();
        json_object *folded = a->folded ? json_object_new_array() : NULL;
        json_object *trees = a->tree ? json_object_new_object() : NULL;
        for (size_t p = 0; p < rep->n_pops; p++) {
                const struct stacks_population *pop = &rep->pops[p];
                json_object *po = json_object_new_object();
                json_object_object_add(po, "role", json_object_new_string(stackdump_role_name(pop->role)));
                json_object_object_add(po, "stacks", json_object_new_uint64(pop->st.stacks));
                json_object_object_add(po, "count", json_object_new_uint64(pop->st.weight));
                json_object_object_add(po, "distinct", json_object_new_uint64(pop->st.distinct));
                json_object_array_add(pops, po);
                size_t shown = a->limit && a->limit < pop->n ? a->limit : pop->n;
                for (size_t i = 0; i < shown; i++)
                        json_object_array_add(ranked, json_entry(a, pop, i + 1, pop->v[i]));
                if (folded)
                        for (size_t i = 0; i < shown; i++) {
                                char *line = NULL;
                                size_t len = 0;
                                FILE *m = open_memstream(&line, &len);
                                if (!m)
                                        break;
                                stacks_print_folded_entry(m, rep, pop, pop->v[i]);
                                fclose(m);
                                json_object_array_add(folded, json_object_new_string(line));
                                free(line);
                        }
                if (trees) {
                        struct stackagg_node *root;
                        int r = stackagg_tree(pop->agg, stacks_tree_order(a), &root);
                        if (r < 0) {
                                json_object_put(o);
                                json_object_put(pops);
                                json_object_put(ranked);
                                json_object_put(folded);
                                json_object_put(trees);
                                return r;
                        }
                        json_object_object_add(trees, stackdump_role_name(pop->role), json_tree(root));
                        stackagg_tree_free(root);
                }
        }
        json_object_object_add(o, "populations", pops);
        json_object_object_add(o, "ranked", ranked);
        if (trees) {
                json_object_object_add(o, "tree_order",
                                       json_object_new_string(a->from ? "innermost_first" : "callers_first"));
                json_object_object_add(o, "trees", trees);
        }
        if (folded)
                json_object_object_add(o, "folded", folded);
        if (stacks_kmsg_any(run->kmsg) && stacks_kmsg_print(NULL, a, run->kmsg, o) < 0) {
                json_object_put(o);
                return -ENOMEM;
        }
        fputs(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE), f);
        fputc('\n', f);
        json_object_put(o);
        return 0;
}

