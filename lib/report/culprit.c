/* The culprit frame of a report, and its stacks grouped into paths: stacks
 * that differ only past an entry boundary are one path (the seed's two
 * stacks, one from an IRQ and one from ksoftirqd under __do_softirq), and
 * the frame named is the one that separates leaking paths from freeing
 * ones, not merely the first one past the allocator. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/report.h"
#include "stacks/frames.h"

/* A path holds outstanding objects when it has at least this share (1/N)
 * of the top path's: in-flight objects of a freeing path are not a leak. */
#define LEAKING_SHARE_DIV 20

/* Frames where the code path ends and the context that ran it begins.
 * Softirq work is the same whether an IRQ exit or ksoftirqd ran it. */
static const char *const boundary_inclusive[] = { "__do_softirq", "handle_softirqs" };
/* A syscall's entry wrappers and dispatch: the path ends before them. */
static const char *const entry_prefixes[] = {
        "__x64_sys_", "__ia32_sys_", "__arm64_sys_", "__se_sys_", "__riscv_sys_", "__s390x_sys_", "__s390_sys_",
        "__se_compat_sys_", "__x64_compat_sys_", "__ia32_compat_sys_",
};
static const char *const entry_functions[] = {
        "do_syscall_64", "do_syscall_x64", "do_syscall_32_irqs_on", "x64_sys_call", "ia32_sys_call",
        "entry_SYSCALL_64", "entry_SYSCALL_64_after_hwframe", "entry_SYSENTER_compat", "invoke_syscall",
        "el0_svc_common", "do_el0_svc", "el0_svc", "syscall_common", "handle_sys", "ret_from_fork",
};

static bool name_is(const char *f, size_t len, const char *name) {
        return strlen(name) == len && memcmp(f, name, len) == 0;
}

/* 1 if the path ends with frame @f (inclusive), 2 if before it, 0 if not a boundary. */
static int boundary_kind(const char *frame, const char **ret_label) {
        size_t len;
        const char *f = frames_function(frame, &len);

        for (size_t i = 0; i < sizeof boundary_inclusive / sizeof *boundary_inclusive; i++)
                if (name_is(f, len, boundary_inclusive[i])) {
                        *ret_label = boundary_inclusive[i];
                        return 1;
                }
        for (size_t i = 0; i < sizeof entry_prefixes / sizeof *entry_prefixes; i++) {
                size_t n = strlen(entry_prefixes[i]);
                if (len > n && memcmp(f, entry_prefixes[i], n) == 0) {
                        *ret_label = "syscall entry";
                        return 2;
                }
        }
        for (size_t i = 0; i < sizeof entry_functions / sizeof *entry_functions; i++)
                if (name_is(f, len, entry_functions[i])) {
                        *ret_label = "syscall entry";
                        return 2;
                }
        return 0;
}

/* Where @s's path ends: frames [first, *ret_end) make it. */
static void path_span(const struct report_stack *s, size_t *ret_first, size_t *ret_end, const char **ret_label) {
        size_t n = s->frames.n, first = frames_first_code((const char *const *) s->frames.v, n);

        if (first == n)
                first = 0;
        *ret_first = first;
        *ret_end = n;
        *ret_label = "";
        for (size_t i = first; i < n; i++) {
                const char *label = "";
                int k = boundary_kind(s->frames.v[i], &label);
                if (k == 0)
                        continue;
                *ret_end = k == 1 ? i + 1 : i;
                *ret_label = label;
                return;
        }
}

static bool same_function(const char *a, const char *b) {
        size_t la, lb;
        const char *fa = frames_function(a, &la), *fb = frames_function(b, &lb);
        return la == lb && memcmp(fa, fb, la) == 0;
}

/* Paths compare by function names: two call sites in one function are one path. */
static bool same_path(const struct report_stack *a, size_t af, size_t ae, const struct report_stack *b, size_t bf,
                      size_t be) {
        if (ae - af != be - bf)
                return false;
        for (size_t i = 0; i < ae - af; i++)
                if (!same_function(a->frames.v[af + i], b->frames.v[bf + i]))
                        return false;
        return true;
}

static void tail_text(const struct report_stack *s, size_t end, char *buf, size_t size) {
        size_t pos = 0;
        buf[0] = '\0';
        for (size_t i = end; i < s->frames.n && pos + 1 < size; i++) {
                size_t len;
                const char *f = frames_function(s->frames.v[i], &len);
                int n = snprintf(buf + pos, size - pos, "%s%.*s", i > end ? " <- " : "", (int) len, f);
                if (n < 0)
                        break;
                pos += (size_t) n;
        }
        if (!buf[0])
                snprintf(buf, size, "(no frames past it)");
}

static void paths_free(struct report *r) {
        for (size_t i = 0; i < r->n_paths; i++) {
                report_strv_done(&r->paths[i].frames);
                report_strv_done(&r->paths[i].variants);
        }
        free(r->paths);
        r->paths = NULL;
        r->n_paths = 0;
}

static int cmp_path(const void *pa, const void *pb) {
        const struct report_path *a = pa, *b = pb;
        if (a->outstanding != b->outstanding)
                return a->outstanding > b->outstanding ? -1 : 1;
        if (a->allocs != b->allocs)
                return a->allocs > b->allocs ? -1 : 1;
        return 0;
}

/* Group the stacks (ranked, so each path's first stack is its biggest). */
static int build_paths(struct report *r, size_t *path_of) {
        r->paths = calloc(r->n_stacks ? r->n_stacks : 1, sizeof *r->paths);
        if (!r->paths)
                return -ENOMEM;
        size_t *rep = calloc(r->n_stacks ? r->n_stacks : 1, sizeof *rep);
        if (!rep)
                return -ENOMEM;
        for (size_t i = 0; i < r->n_stacks; i++) {
                const struct report_stack *s = &r->stacks[i];
                size_t first, end, k;
                const char *label;
                path_span(s, &first, &end, &label);
                for (k = 0; k < r->n_paths; k++) {
                        const struct report_stack *o = &r->stacks[rep[k]];
                        size_t of, oe;
                        const char *ol;
                        path_span(o, &of, &oe, &ol);
                        if (strcmp(ol, label) == 0 && same_path(s, first, end, o, of, oe))
                                break;
                }
                struct report_path *p = &r->paths[k];
                if (k == r->n_paths) {
                        r->n_paths++;
                        rep[k] = i;
                        snprintf(p->boundary, sizeof p->boundary, "%s", label);
                        for (size_t j = 0; j < end; j++)
                                if (report_strv_add(&p->frames, s->frames.v[j]) < 0) {
                                        free(rep);
                                        return -ENOMEM;
                                }
                }
                path_of[i] = k;
                p->allocs += s->allocs;
                p->frees += s->frees;
                p->outstanding += s->outstanding;
                p->settled += s->settled;
                p->n_stacks++;
                if (!label[0])
                        continue;
                p->n_variants++;
                if (p->variants.n < REPORT_VARIANTS_MAX) {
                        char tail[REPORT_TEXT_MAX / 2];
                        tail_text(s, end, tail, sizeof tail);
                        (void) report_strv_addf(&p->variants, "%s: %" PRIu64 " outstanding of %" PRIu64, tail,
                                                s->outstanding, s->allocs);
                }
        }
        free(rep);
        return 0;
}

int report_find_culprit(struct report *r) {
        size_t *path_of;
        int err;

        paths_free(r);
        r->culprit[0] = '\0';
        r->culprit_reason[0] = '\0';
        r->culprit_frame = 0;
        if (r->n_stacks == 0)
                return 0;
        path_of = calloc(r->n_stacks, sizeof *path_of);
        if (!path_of)
                return -ENOMEM;
        err = build_paths(r, path_of);
        free(path_of);
        if (err < 0) {
                paths_free(r);
                return err;
        }
        qsort(r->paths, r->n_paths, sizeof *r->paths, cmp_path);

        const struct report_path *top = &r->paths[0];
        size_t n = top->frames.n, first = frames_first_code((const char *const *) top->frames.v, n);
        uint64_t threshold = top->outstanding / LEAKING_SHARE_DIV;
        if (threshold == 0)
                threshold = 1;
        if (first == n)
                first = 0;
        if (top->outstanding == 0 || n == 0)
                return 0;

        /* Walk outward: keep the paths that run through the top path's
         * frames so far; the culprit is the first frame past which none of
         * them is a freeing path any more. */
        bool *alive = calloc(r->n_paths, sizeof *alive);
        size_t *first_of = calloc(r->n_paths, sizeof *first_of);
        if (!alive || !first_of) {
                free(alive);
                free(first_of);
                return -ENOMEM;
        }
        for (size_t k = 0; k < r->n_paths; k++) {
                const struct report_path *p = &r->paths[k];
                size_t f = frames_first_code((const char *const *) p->frames.v, p->frames.n);
                first_of[k] = f == p->frames.n ? 0 : f;
                alive[k] = true;
        }
        size_t pick = n, contrast = 0;
        uint64_t passed_out = 0, passed_allocs = 0;
        for (size_t d = 0; first + d < n; d++) {
                const char *frame = top->frames.v[first + d];
                size_t freeing = 0;
                for (size_t k = 0; k < r->n_paths; k++) {
                        const struct report_path *p = &r->paths[k];
                        if (!alive[k])
                                continue;
                        if (first_of[k] + d >= p->frames.n || !same_function(p->frames.v[first_of[k] + d], frame)) {
                                alive[k] = false;
                                if (d > 0) {
                                        passed_out += p->outstanding;
                                        passed_allocs += p->allocs;
                                        contrast++;
                                }
                                continue;
                        }
                        if (p->outstanding < threshold)
                                freeing++;
                }
                if (freeing == 0) {
                        pick = first + d;
                        break;
                }
        }
        free(alive);
        free(first_of);

        char fn[REPORT_NAME_MAX];
        size_t len;
        const char *f;
        if (pick == n) {
                /* Freeing paths share the whole path: the leak is a
                 * condition inside it. Name the first frame past the
                 * allocator, as before. */
                pick = first;
                f = frames_function(top->frames.v[pick], &len);
                snprintf(r->culprit_reason, sizeof r->culprit_reason,
                         "paths that free run through the whole top path: the leak is a condition inside it");
        } else {
                f = frames_function(top->frames.v[pick], &len);
                if (contrast > 0)
                        snprintf(r->culprit_reason, sizeof r->culprit_reason,
                                 "%zu path%s through the frames below it turn off elsewhere and net %" PRIu64
                                 " outstanding of %" PRIu64 " allocations; every path through it holds objects",
                                 contrast, contrast == 1 ? "" : "s", passed_out, passed_allocs);
                else
                        snprintf(r->culprit_reason, sizeof r->culprit_reason,
                                 "no freeing path runs through the frames below it to contrast with: the first "
                                 "frame past the allocator");
        }
        if (len >= sizeof fn)
                len = sizeof fn - 1;
        memcpy(fn, f, len);
        fn[len] = '\0';
        snprintf(r->culprit, sizeof r->culprit, "%s", fn);
        /* The same frame's index in the top stack (the path is its prefix
         * when the top stack leads the top path). */
        r->culprit_frame = pick;
        for (size_t i = 0; i < r->stacks[0].frames.n; i++)
                if (same_function(r->stacks[0].frames.v[i], top->frames.v[pick])) {
                        r->culprit_frame = i;
                        break;
                }
        return 0;
}

const char *report_named_suspect(const struct report *r, char *buf, size_t size) {
        if (size == 0)
                return buf;
        buf[0] = '\0';
        if (r->n_stacks == 0 || r->attribution.growth_stopped || r->attribution.loss_ambiguous)
                return buf;
        if (r->culprit[0]) {
                snprintf(buf, size, "%s", r->culprit);
                return buf;
        }
        return report_suspect(&r->stacks[0], buf, size);
}
