/* diff — `slabwatchctl diff`: compare two slabinfo (and meminfo) snapshots,
 * read whole: they are small. */
#include "offline.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "input.h"
#include "caches/slabdiff.h"
#include "base/units.h"

/* A slabinfo + meminfo snapshot is ~100 KB on a big machine; anything this
 * large is not one (and reading it whole would be unbounded). */
#define OFFLINE_SNAPSHOT_MAX ((size_t) 64 << 20)

static const char *format_signed(int64_t v, char *buf, size_t size) {
        snprintf(buf, size, v ? "%+" PRId64 : "%" PRId64, v);
        return buf;
}

struct diff_args {
        const char *old_path;
        const char *new_path;
        const char *old_meminfo;
        const char *new_meminfo;
        uint32_t page_size;     /* 0 = guess */
        bool all;
        bool json;
        size_t limit;
};

static void diff_usage(FILE *f) {
        fputs("Usage: slabwatchctl diff [OPTIONS] OLD NEW\n"
              "\n"
              "Compare two snapshots of /proc/slabinfo (caches ranked by growth) or of\n"
              "/proc/meminfo, or files holding both (cat /proc/meminfo /proc/slabinfo).\n"
              "gzip and xz are read directly; - reads stdin.\n"
              "\n"
              "  --meminfo OLD_MI NEW_MI  meminfo snapshots to check the caches against Slab\n"
              "  --page-size BYTES        page size of the device (default: from the slab\n"
              "                           geometry, else 4096)\n"
              "  -a, --all                also list caches and keys that did not change\n"
              "  -n N                     list only the N caches that grew most\n"
              "  --json                   print JSON\n"
              "  -h, --help               show this help\n", f);
}

static int diff_parse_args(int argc, char **argv, struct diff_args *a) {
        enum {
                ARG_MEMINFO = 0x100,
                ARG_PAGE_SIZE,
                ARG_JSON,
        };
        static const struct option options[] = {
                { "meminfo", required_argument, NULL, ARG_MEMINFO },
                { "page-size", required_argument, NULL, ARG_PAGE_SIZE },
                { "all", no_argument, NULL, 'a' },
                { "json", no_argument, NULL, ARG_JSON },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        size_t v;
        int c;

        optind = 0;
        opterr = 0;
        while ((c = getopt_long(argc, argv, "an:h", options, NULL)) >= 0)
                switch (c) {
                case ARG_MEMINFO:
                        /* Two arguments: the one getopt gave and the next. */
                        if (optind >= argc || argv[optind][0] == '\0' ||
                            (argv[optind][0] == '-' && argv[optind][1] != '\0')) {
                                fputs("slabwatchctl diff: --meminfo wants two files, OLD_MI NEW_MI\n", stderr);
                                return EXIT_USAGE;
                        }
                        a->old_meminfo = optarg;
                        a->new_meminfo = argv[optind++];
                        break;
                case ARG_PAGE_SIZE:
                        if (!offline_parse_count(optarg, &v) || v < 512 || v > SLABDIFF_PAGE_SIZE_MAX || (v & (v - 1))) {
                                fprintf(stderr, "slabwatchctl diff: --page-size wants a power of two "
                                        "from 512 to %u, not '%s'\n", SLABDIFF_PAGE_SIZE_MAX, optarg);
                                return EXIT_USAGE;
                        }
                        a->page_size = (uint32_t) v;
                        break;
                case 'a':
                        a->all = true;
                        break;
                case 'n':
                        if (!offline_parse_count(optarg, &a->limit)) {
                                fprintf(stderr, "slabwatchctl diff: -n wants a number, not '%s'\n", optarg);
                                return EXIT_USAGE;
                        }
                        break;
                case ARG_JSON:
                        a->json = true;
                        break;
                case 'h':
                        diff_usage(stdout);
                        return -1;
                default:
                        offline_print_bad_option("diff", argv);
                        diff_usage(stderr);
                        return EXIT_USAGE;
                }
        if (argc - optind != 2) {
                fputs("slabwatchctl diff: want two files, OLD and NEW\n", stderr);
                diff_usage(stderr);
                return EXIT_USAGE;
        }
        a->old_path = argv[optind];
        a->new_path = argv[optind + 1];
        return 0;
}

static int load_snapshot(const char *path, struct slabdiff_snapshot *ret) {
        char *buf;
        size_t len;
        int r = input_read_all(path, OFFLINE_SNAPSHOT_MAX, &buf, &len);
        if (r < 0) {
                fprintf(stderr, "slabwatchctl diff: cannot read %s: %s\n", input_display_name(path),
                        r == -EFBIG ? "file too large for a snapshot" : input_strerror(r));
                return r;
        }
        r = slabdiff_snapshot_parse(buf, len, ret);
        free(buf);
        if (r == -EINVAL) {
                fprintf(stderr, "slabwatchctl diff: %s: neither /proc/slabinfo nor /proc/meminfo text\n",
                        input_display_name(path));
                return r;
        }
        if (r < 0) {
                fprintf(stderr, "slabwatchctl diff: %s: %s\n", input_display_name(path), strerror(-r));
                return r;
        }
        if (ret->has_slabinfo && ret->slabinfo.n_bad_lines > 0) {
                size_t shown = ret->slabinfo.n_bad_lines < SLABINFO_BAD_LINES_MAX ? ret->slabinfo.n_bad_lines :
                        SLABINFO_BAD_LINES_MAX;
                for (size_t i = 0; i < shown; i++)
                        fprintf(stderr, "slabwatchctl diff: %s:%lu: malformed slabinfo line skipped (%s)\n",
                                input_display_name(path),
                                ret->slabinfo_line - 1 + ret->slabinfo.bad_lines[i].line,
                                strerror(-ret->slabinfo.bad_lines[i].error));
                if (ret->slabinfo.n_bad_lines > shown)
                        fprintf(stderr, "slabwatchctl diff: %s: %zu more malformed slabinfo lines\n",
                                input_display_name(path), ret->slabinfo.n_bad_lines - shown);
        }
        if (ret->has_meminfo && ret->meminfo.n_bad_lines > 0)
                fprintf(stderr, "slabwatchctl diff: %s:%lu: %zu malformed meminfo line%s skipped\n",
                        input_display_name(path), ret->meminfo_line - 1 + ret->meminfo.first_bad_line,
                        ret->meminfo.n_bad_lines, ret->meminfo.n_bad_lines == 1 ? "" : "s");
        if (ret->has_slabinfo && ret->slabinfo.n_caches == 0 && ret->slabinfo.n_bad_lines > 0) {
                fprintf(stderr, "slabwatchctl diff: %s: every slabinfo line was rejected (%zu); nothing to compare\n",
                        input_display_name(path), ret->slabinfo.n_bad_lines);
                return -EINVAL;
        }
        if (ret->has_slabinfo && ret->slabinfo_headerless)
                fprintf(stderr, "slabwatchctl diff: %s: slabinfo lines without their header (a grep?), read as "
                        "version 2.1\n", input_display_name(path));
        return 0;
}

static bool cache_changed(const struct slabdiff_cache *c) {
        return !c->old || !c->new || c->delta_bytes || c->delta_active_objs || c->delta_active_bytes;
}

static void print_cache_table(FILE *f, const struct diff_args *a, const struct slabdiff *d) {
        /* Columns sized to their widest cell. */
        enum { C_NAME, C_OBJSIZE, C_OLD, C_NEW, C_DOBJ, C_OLDB, C_NEWB, C_DB, C_NOTE, _C_MAX };
        static const char *const head[_C_MAX] = {
                "cache", "objsize", "old", "new", "change", "old", "new", "change", "",
        };
        size_t w[_C_MAX];
        char cell[_C_MAX][64];
        size_t rows = 0;

        for (int k = 0; k < _C_MAX; k++)
                w[k] = strlen(head[k]);
        for (int pass = 0; pass < 2; pass++) {
                rows = 0;
                if (pass == 1) {
                        size_t objs = w[C_OLD] + 2 + w[C_NEW] + 2 + w[C_DOBJ];
                        fprintf(f, "%-*s  %*s  %-*s  %s\n", (int) w[C_NAME], "", (int) w[C_OBJSIZE], "",
                                (int) objs, "active objects", "slab memory");
                        fprintf(f, "%-*s  %*s  %*s  %*s  %*s  %*s  %*s  %*s%s%s\n", (int) w[C_NAME], head[C_NAME],
                                (int) w[C_OBJSIZE], head[C_OBJSIZE], (int) w[C_OLD], head[C_OLD], (int) w[C_NEW],
                                head[C_NEW], (int) w[C_DOBJ], head[C_DOBJ], (int) w[C_OLDB], head[C_OLDB],
                                (int) w[C_NEWB], head[C_NEWB], (int) w[C_DB], head[C_DB], "", "");
                }
                for (size_t i = 0; i < d->n_caches; i++) {
                        const struct slabdiff_cache *c = &d->caches[i];
                        if (!a->all && !cache_changed(c))
                                continue;
                        if (a->limit && rows >= a->limit)
                                break;
                        rows++;
                        const struct slabinfo_cache *any = c->new ? c->new : c->old;
                        snprintf(cell[C_NAME], sizeof cell[0], "%s", c->name);
                        snprintf(cell[C_OBJSIZE], sizeof cell[0], "%" PRIu32, any->objsize);
                        if (c->old)
                                snprintf(cell[C_OLD], sizeof cell[0], "%" PRIu64, c->old->active_objs);
                        else
                                snprintf(cell[C_OLD], sizeof cell[0], "-");
                        if (c->new)
                                snprintf(cell[C_NEW], sizeof cell[0], "%" PRIu64, c->new->active_objs);
                        else
                                snprintf(cell[C_NEW], sizeof cell[0], "-");
                        format_signed(c->delta_active_objs, cell[C_DOBJ], sizeof cell[0]);
                        if (c->old)
                                units_format_bytes((double) c->old_bytes, false, cell[C_OLDB], sizeof cell[0]);
                        else
                                snprintf(cell[C_OLDB], sizeof cell[0], "-");
                        if (c->new)
                                units_format_bytes((double) c->new_bytes, false, cell[C_NEWB], sizeof cell[0]);
                        else
                                snprintf(cell[C_NEWB], sizeof cell[0], "-");
                        units_format_bytes((double) c->delta_bytes, true, cell[C_DB], sizeof cell[0]);
                        snprintf(cell[C_NOTE], sizeof cell[0], "%s", !c->old ? "appeared" : !c->new ? "vanished" : "");
                        if (pass == 0) {
                                for (int k = 0; k < _C_MAX; k++)
                                        if (strlen(cell[k]) > w[k])
                                                w[k] = strlen(cell[k]);
                                continue;
                        }
                        fprintf(f, "%-*s  %*s  %*s  %*s  %*s  %*s  %*s  %*s%s%s\n", (int) w[C_NAME], cell[C_NAME],
                                (int) w[C_OBJSIZE], cell[C_OBJSIZE], (int) w[C_OLD], cell[C_OLD], (int) w[C_NEW],
                                cell[C_NEW], (int) w[C_DOBJ], cell[C_DOBJ], (int) w[C_OLDB], cell[C_OLDB],
                                (int) w[C_NEWB], cell[C_NEWB], (int) w[C_DB], cell[C_DB],
                                cell[C_NOTE][0] ? "  " : "", cell[C_NOTE]);
                }
                if (rows == 0)
                        break;
        }
        if (rows == 0)
                fputs("No cache changed.\n", f);
}

/* Two snapshots of different machines or kernels: said before any figure. */
static void print_mismatch(FILE *f, const struct slabdiff_mismatch *m) {
        fputs("WARNING: these snapshots look like two different machines or kernels, not one machine at two "
              "times:\n", f);
        if (m->mem_total)
                fprintf(f, "  MemTotal differs: %" PRIu64 " kB -> %" PRIu64 " kB\n", m->old_mem_total_kib,
                        m->new_mem_total_kib);
        if (m->version)
                fputs("  the slabinfo versions differ\n", f);
        if (m->caches)
                fprintf(f, "  only %zu of %zu caches are in both\n", m->shared_caches, m->all_caches);
        fputs("The changes below are differences between them, not growth.\n\n", f);
}

static void print_slab_diff(FILE *f, const struct diff_args *a, const struct slabdiff *d, bool page_guessed) {
        char b1[32], b2[32], b3[32];
        fprintf(f, "slabinfo: %s -> %s, page size %" PRIu32 "%s\n\n", input_display_name(a->old_path),
                input_display_name(a->new_path), d->page_size,
                a->page_size ? "" : page_guessed ? " (from the slab geometry)" : " (assumed; --page-size to set)");
        print_cache_table(f, a, d);
        size_t changed = d->n_caches - d->n_unchanged;
        if (a->limit && changed > a->limit && !a->all)
                fprintf(f, "... %zu more changed caches not listed; -n 0 lists all.\n", changed - a->limit);
        fprintf(f, "\ncaches: %zu grew, %zu shrank, %zu appeared, %zu vanished, %zu unchanged%s\n", d->n_grown,
                d->n_shrunk, d->n_appeared, d->n_vanished, d->n_unchanged,
                a->all || d->n_unchanged == 0 ? "" : " (-a lists them)");
        fprintf(f, "total slab memory: %s -> %s (%s)\n", units_format_bytes((double) d->old_bytes, false, b1, sizeof b1),
                units_format_bytes((double) d->new_bytes, false, b2, sizeof b2),
                units_format_bytes((double) d->new_bytes - (double) d->old_bytes, true, b3, sizeof b3));
        fprintf(f, "active objects: %" PRIu64 " -> %" PRIu64 " (%+" PRId64 "), %s -> %s\n", d->old_active_objs,
                d->new_active_objs, (int64_t) (d->new_active_objs - d->old_active_objs),
                units_format_bytes((double) d->old_active_bytes, false, b1, sizeof b1),
                units_format_bytes((double) d->new_active_bytes, false, b2, sizeof b2));
}

static void print_meminfo_diff(FILE *f, const struct diff_args *a, const char *old_name, const char *new_name,
                               const struct meminfo *o, const struct meminfo *n) {
        size_t wk = 3, wo = 3, wn = 3, wd = 6, rows = 0;
        char vo[32], vn[32], vd[32];
        fprintf(f, "meminfo: %s -> %s\n\n", old_name, new_name);
        for (int pass = 0; pass < 2; pass++) {
                if (pass == 1 && rows > 0)
                        fprintf(f, "%-*s  %*s  %*s  %*s\n", (int) wk, "key", (int) wo, "old", (int) wn, "new", (int) wd,
                                "change");
                rows = 0;
                for (size_t i = 0; i < n->n_entries; i++) {
                        const struct meminfo_entry *e = &n->entries[i];
                        const struct meminfo_entry *old = NULL;
                        for (size_t j = 0; j < o->n_entries && !old; j++)
                                if (strcmp(o->entries[j].key, e->key) == 0)
                                        old = &o->entries[j];
                        if (!a->all && old && old->value == e->value)
                                continue;
                        rows++;
                        const char *unit = e->kib ? " kB" : "";
                        if (old)
                                snprintf(vo, sizeof vo, "%" PRIu64 "%s", old->value, unit);
                        else
                                snprintf(vo, sizeof vo, "-");
                        snprintf(vn, sizeof vn, "%" PRIu64 "%s", e->value, unit);
                        if (old)
                                snprintf(vd, sizeof vd, "%+" PRId64 "%s", (int64_t) (e->value - old->value), unit);
                        else
                                snprintf(vd, sizeof vd, "new");
                        if (pass == 0) {
                                wk = strlen(e->key) > wk ? strlen(e->key) : wk;
                                wo = strlen(vo) > wo ? strlen(vo) : wo;
                                wn = strlen(vn) > wn ? strlen(vn) : wn;
                                wd = strlen(vd) > wd ? strlen(vd) : wd;
                                continue;
                        }
                        fprintf(f, "%-*s  %*s  %*s  %*s\n", (int) wk, e->key, (int) wo, vo, (int) wn, vn, (int) wd, vd);
                }
        }
        for (size_t j = 0; j < o->n_entries; j++) {
                bool found = false;
                for (size_t i = 0; i < n->n_entries && !found; i++)
                        found = strcmp(o->entries[j].key, n->entries[i].key) == 0;
                if (!found) {
                        fprintf(f, "%-*s  (only in the old snapshot)\n", (int) wk, o->entries[j].key);
                        rows++;
                }
        }
        if (rows == 0)
                fputs("No meminfo value changed.\n", f);
}

static void print_accounting_row(FILE *f, const char *label, int64_t old, int64_t new) {
        char change[32];
        fprintf(f, "  %-18s %9" PRId64 " %9" PRId64 " %9s\n", label, old, new,
                format_signed(new - old, change, sizeof change));
}

static void print_accounting(FILE *f, const struct slabdiff_accounting *acc) {
        fprintf(f, "\nslab accounting (kB):      old       new    change\n");
        print_accounting_row(f, "meminfo Slab", (int64_t) acc->old_slab_kib, (int64_t) acc->new_slab_kib);
        if (acc->have_sunreclaim)
                print_accounting_row(f, "meminfo SUnreclaim", (int64_t) acc->old_sunreclaim_kib,
                                     (int64_t) acc->new_sunreclaim_kib);
        print_accounting_row(f, "slabinfo caches", (int64_t) acc->old_caches_kib, (int64_t) acc->new_caches_kib);
        print_accounting_row(f, "not in any cache", acc->old_unaccounted_kib, acc->new_unaccounted_kib);
        if (acc->large_kmalloc_hint)
                fputs("SUnreclaim grew beyond what the slab caches show: the growth is likely in large\n"
                      "kmalloc() allocations, which bypass the caches (kernel 5.4+ counts them in SUnreclaim).\n", f);
}

static json_object *json_cache(const struct slabinfo_cache *c, uint64_t bytes) {
        if (!c)
                return NULL;
        json_object *o = json_object_new_object();
        json_object_object_add(o, "active_objs", json_object_new_uint64(c->active_objs));
        json_object_object_add(o, "num_objs", json_object_new_uint64(c->num_objs));
        json_object_object_add(o, "objsize", json_object_new_uint64(c->objsize));
        json_object_object_add(o, "num_slabs", json_object_new_uint64(c->num_slabs));
        json_object_object_add(o, "bytes", json_object_new_uint64(bytes));
        return o;
}

static json_object *json_meminfo(const struct meminfo *o, const struct meminfo *n) {
        json_object *arr = json_object_new_array();
        for (size_t i = 0; i < n->n_entries; i++) {
                const struct meminfo_entry *e = &n->entries[i];
                json_object *row = json_object_new_object();
                json_object_object_add(row, "key", json_object_new_string(e->key));
                json_object_object_add(row, "unit", json_object_new_string(e->kib ? "kB" : ""));
                json_object *old = NULL;
                for (size_t j = 0; j < o->n_entries && !old; j++)
                        if (strcmp(o->entries[j].key, e->key) == 0) {
                                old = json_object_new_uint64(o->entries[j].value);
                                json_object_object_add(row, "change",
                                                       json_object_new_int64((int64_t) (e->value - o->entries[j].value)));
                        }
                json_object_object_add(row, "old", old);
                json_object_object_add(row, "new", json_object_new_uint64(e->value));
                json_object_array_add(arr, row);
        }
        return arr;
}

static void print_diff_json(FILE *f, const struct diff_args *a, const struct slabdiff *d, bool page_guessed,
                            const struct meminfo *mo, const struct meminfo *mn, const struct slabdiff_accounting *acc,
                            const struct slabdiff_mismatch *mm) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "old", json_object_new_string(input_display_name(a->old_path)));
        json_object_object_add(o, "new", json_object_new_string(input_display_name(a->new_path)));
        json_object *warnings = json_object_new_array();
        if (mm && mm->mem_total)
                json_object_array_add(warnings, json_object_new_string("MemTotal differs: different machines"));
        if (mm && mm->version)
                json_object_array_add(warnings, json_object_new_string("slabinfo versions differ: different kernels"));
        if (mm && mm->caches)
                json_object_array_add(warnings, json_object_new_string("fewer than half of the caches are in both"));
        json_object_object_add(o, "warnings", warnings);
        if (d) {
                json_object_object_add(o, "page_size", json_object_new_uint64(d->page_size));
                json_object_object_add(o, "page_size_source", json_object_new_string(
                        a->page_size ? "option" : page_guessed ? "slab geometry" : "assumed"));
                json_object *caches = json_object_new_array();
                size_t rows = 0;
                for (size_t i = 0; i < d->n_caches; i++) {
                        const struct slabdiff_cache *c = &d->caches[i];
                        if (!a->all && !cache_changed(c))
                                continue;
                        if (a->limit && rows >= a->limit)
                                break;
                        rows++;
                        json_object *row = json_object_new_object();
                        json_object_object_add(row, "name", json_object_new_string(c->name));
                        json_object_object_add(row, "state", json_object_new_string(
                                !c->old ? "appeared" : !c->new ? "vanished" : cache_changed(c) ?
                                (c->delta_bytes > 0 || c->delta_active_objs > 0 || c->delta_active_bytes > 0 ?
                                 "grew" : "shrank") : "unchanged"));
                        json_object_object_add(row, "old", json_cache(c->old, c->old_bytes));
                        json_object_object_add(row, "new", json_cache(c->new, c->new_bytes));
                        json_object_object_add(row, "change_bytes", json_object_new_int64(c->delta_bytes));
                        json_object_object_add(row, "change_active_objs", json_object_new_int64(c->delta_active_objs));
                        json_object_object_add(row, "change_active_bytes", json_object_new_int64(c->delta_active_bytes));
                        json_object_array_add(caches, row);
                }
                json_object_object_add(o, "caches", caches);
                json_object *t = json_object_new_object();
                json_object_object_add(t, "grew", json_object_new_uint64(d->n_grown));
                json_object_object_add(t, "shrank", json_object_new_uint64(d->n_shrunk));
                json_object_object_add(t, "appeared", json_object_new_uint64(d->n_appeared));
                json_object_object_add(t, "vanished", json_object_new_uint64(d->n_vanished));
                json_object_object_add(t, "unchanged", json_object_new_uint64(d->n_unchanged));
                json_object_object_add(t, "old_bytes", json_object_new_uint64(d->old_bytes));
                json_object_object_add(t, "new_bytes", json_object_new_uint64(d->new_bytes));
                json_object_object_add(t, "old_active_objs", json_object_new_uint64(d->old_active_objs));
                json_object_object_add(t, "new_active_objs", json_object_new_uint64(d->new_active_objs));
                json_object_object_add(t, "old_active_bytes", json_object_new_uint64(d->old_active_bytes));
                json_object_object_add(t, "new_active_bytes", json_object_new_uint64(d->new_active_bytes));
                json_object_object_add(o, "totals", t);
        }
        if (mo && mn)
                json_object_object_add(o, "meminfo", json_meminfo(mo, mn));
        if (acc) {
                json_object *j = json_object_new_object();
                json_object_object_add(j, "old_slab_kib", json_object_new_uint64(acc->old_slab_kib));
                json_object_object_add(j, "new_slab_kib", json_object_new_uint64(acc->new_slab_kib));
                if (acc->have_sunreclaim) {
                        json_object_object_add(j, "old_sunreclaim_kib", json_object_new_uint64(acc->old_sunreclaim_kib));
                        json_object_object_add(j, "new_sunreclaim_kib", json_object_new_uint64(acc->new_sunreclaim_kib));
                }
                json_object_object_add(j, "old_caches_kib", json_object_new_uint64(acc->old_caches_kib));
                json_object_object_add(j, "new_caches_kib", json_object_new_uint64(acc->new_caches_kib));
                json_object_object_add(j, "old_unaccounted_kib", json_object_new_int64(acc->old_unaccounted_kib));
                json_object_object_add(j, "new_unaccounted_kib", json_object_new_int64(acc->new_unaccounted_kib));
                json_object_object_add(j, "large_kmalloc_hint", json_object_new_boolean(acc->large_kmalloc_hint));
                json_object_object_add(o, "accounting", j);
        }
        fputs(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE), f);
        fputc('\n', f);
        json_object_put(o);
}

int offline_diff_main(int argc, char **argv) {
        struct diff_args a = {};
        struct slabdiff_snapshot *old = NULL, *new = NULL, *old_mi = NULL, *new_mi = NULL;
        struct slabdiff d = {};
        struct slabdiff_accounting acc;
        struct slabdiff_mismatch mismatch;
        bool have_acc = false, page_guessed = false;
        int exit_code = EXIT_ERROR;

        int r = diff_parse_args(argc, argv, &a);
        if (r < 0)
                return EXIT_OK;
        if (r > 0)
                return r;

        old = calloc(1, sizeof *old);
        new = calloc(1, sizeof *new);
        if (!old || !new) {
                fputs("slabwatchctl diff: out of memory\n", stderr);
                goto finish;
        }
        if (load_snapshot(a.old_path, old) < 0 || load_snapshot(a.new_path, new) < 0)
                goto finish;
        if (old->has_slabinfo != new->has_slabinfo) {
                fprintf(stderr, "slabwatchctl diff: %s has /proc/slabinfo text but %s has none\n",
                        input_display_name(old->has_slabinfo ? a.old_path : a.new_path),
                        input_display_name(old->has_slabinfo ? a.new_path : a.old_path));
                goto finish;
        }
        if (!old->has_slabinfo && (!old->has_meminfo || !new->has_meminfo)) {
                fprintf(stderr, "slabwatchctl diff: %s has /proc/meminfo text but %s has none\n",
                        input_display_name(old->has_meminfo ? a.old_path : a.new_path),
                        input_display_name(old->has_meminfo ? a.new_path : a.old_path));
                goto finish;
        }

        /* Meminfo to check against: --meminfo files, else what the snapshots hold. */
        const struct meminfo *mo = NULL, *mn = NULL;
        const char *mo_name = input_display_name(a.old_path), *mn_name = input_display_name(a.new_path);
        if (a.old_meminfo) {
                old_mi = calloc(1, sizeof *old_mi);
                new_mi = calloc(1, sizeof *new_mi);
                if (!old_mi || !new_mi) {
                        fputs("slabwatchctl diff: out of memory\n", stderr);
                        goto finish;
                }
                if (load_snapshot(a.old_meminfo, old_mi) < 0 || load_snapshot(a.new_meminfo, new_mi) < 0)
                        goto finish;
                if (!old_mi->has_meminfo || !new_mi->has_meminfo) {
                        fprintf(stderr, "slabwatchctl diff: %s has no /proc/meminfo text\n",
                                input_display_name(!old_mi->has_meminfo ? a.old_meminfo : a.new_meminfo));
                        goto finish;
                }
                mo = &old_mi->meminfo;
                mn = &new_mi->meminfo;
                mo_name = input_display_name(a.old_meminfo);
                mn_name = input_display_name(a.new_meminfo);
        } else if (old->has_meminfo && new->has_meminfo) {
                mo = &old->meminfo;
                mn = &new->meminfo;
        }

        if (old->has_slabinfo) {
                uint32_t page = a.page_size;
                if (!page) {
                        uint32_t go = slabdiff_guess_page_size(&old->slabinfo);
                        uint32_t gn = slabdiff_guess_page_size(&new->slabinfo);
                        page = go > gn ? go : gn;
                        page_guessed = page != 0;
                        if (!page)
                                page = 4096;
                }
                r = slabdiff_compute(&old->slabinfo, &new->slabinfo, page, &d);
                if (r < 0) {
                        fprintf(stderr, "slabwatchctl diff: %s\n", strerror(-r));
                        goto finish;
                }
                if (mo && slabdiff_accounting(&d, mo, mn, &acc) >= 0)
                        have_acc = true;
        }

        int mismatches = slabdiff_mismatch(old, new, mo, mn, old->has_slabinfo ? &d : NULL, &mismatch);
        if (a.json)
                print_diff_json(stdout, &a, old->has_slabinfo ? &d : NULL, page_guessed, mo, mn,
                                have_acc ? &acc : NULL, mismatches ? &mismatch : NULL);
        else {
                if (mismatches)
                        print_mismatch(stdout, &mismatch);
                if (old->has_slabinfo)
                        print_slab_diff(stdout, &a, &d, page_guessed);
                if (mo) {
                        if (old->has_slabinfo)
                                fputc('\n', stdout);
                        print_meminfo_diff(stdout, &a, mo_name, mn_name, mo, mn);
                }
                if (have_acc)
                        print_accounting(stdout, &acc);
        }
        if (fflush(stdout) != 0 || ferror(stdout))
                fprintf(stderr, "slabwatchctl diff: cannot write output: %s\n", strerror(errno));
        else
                exit_code = EXIT_OK;
finish:
        slabdiff_done(&d);
        slabdiff_snapshot_done(old);
        slabdiff_snapshot_done(new);
        slabdiff_snapshot_done(old_mi);
        slabdiff_snapshot_done(new_mi);
        free(old);
        free(new);
        free(old_mi);
        free(new_mi);
        return exit_code;
}
