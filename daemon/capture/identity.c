#include "capture/identity.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/readfile.h"

/* One entry of <sys>/kernel/slab: a cache name and the directory it is
 * (itself, or the ":0000192" its symlink points to). */
struct sysfs_entry {
        char name[SLABINFO_NAME_MAX];
        char target[SLABINFO_NAME_MAX];
};

struct sysfs_scan {
        struct sysfs_entry *entries;
        size_t n;
        size_t allocated;
};

static void scan_done(struct sysfs_scan *s) {
        free(s->entries);
        *s = (struct sysfs_scan) {};
}

static int scan_add(struct sysfs_scan *s, const char *name, const char *target) {
        if (s->n >= IDENTITY_SYSFS_ENTRIES_MAX)
                return -E2BIG;
        if (s->n == s->allocated) {
                size_t want = s->allocated ? s->allocated * 2 : 512;
                struct sysfs_entry *e = realloc(s->entries, want * sizeof *e);
                if (!e)
                        return -ENOMEM;
                s->entries = e;
                s->allocated = want;
        }
        snprintf(s->entries[s->n].name, sizeof s->entries[s->n].name, "%s", name);
        snprintf(s->entries[s->n].target, sizeof s->entries[s->n].target, "%s", target);
        s->n++;
        return 0;
}

/* Read every entry of @slab_dir. A missing directory is an empty scan (no
 * SLUB sysfs: the old SLAB allocator, or sysfs not mounted). */
static int scan_sysfs(const char *slab_dir, struct sysfs_scan *ret) {
        struct sysfs_scan s = {};
        struct dirent *de;
        DIR *d;
        int dfd, r = 0;

        dfd = open(slab_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0) {
                if (errno == ENOENT || errno == ENOTDIR) {
                        *ret = s;
                        return 0;
                }
                return -errno;
        }
        d = fdopendir(dfd);
        if (!d) {
                r = -errno;
                close(dfd);
                return r;
        }
        while ((de = readdir(d))) {
                char link[CONFIG_PATH_MAX];
                struct stat st;
                ssize_t n;

                if (de->d_name[0] == '.' || strlen(de->d_name) >= SLABINFO_NAME_MAX)
                        continue;
                if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        continue;       /* raced with a cache being destroyed */
                if (S_ISLNK(st.st_mode)) {
                        const char *base;
                        n = readlinkat(dfd, de->d_name, link, sizeof link - 1);
                        if (n < 0)
                                continue;
                        link[n] = '\0';
                        base = strrchr(link, '/');
                        base = base ? base + 1 : link;
                        r = scan_add(&s, de->d_name, base);
                } else if (S_ISDIR(st.st_mode))
                        r = scan_add(&s, de->d_name, de->d_name);
                if (r < 0)
                        break;
        }
        closedir(d);
        if (r < 0) {
                scan_done(&s);
                return r;
        }
        *ret = s;
        return 0;
}

static const struct sysfs_entry *scan_find(const struct sysfs_scan *s, const char *name) {
        for (size_t i = 0; i < s->n; i++)
                if (strcmp(s->entries[i].name, name) == 0)
                        return &s->entries[i];
        return NULL;
}

static int cmp_str(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

static void member_done(struct identity_member *m) {
        for (size_t i = 0; i < m->n_aliases; i++)
                free(m->aliases[i]);
        free(m->aliases);
        m->aliases = NULL;
        m->n_aliases = 0;
}

void identity_free(struct identity *id) {
        if (!id)
                return;
        for (size_t i = 0; i < id->n_members; i++)
                member_done(&id->members[i]);
        free(id->members);
        free(id);
}

static int member_add_alias(struct identity_member *m, const char *name) {
        char **v, *copy;

        if (m->n_aliases >= IDENTITY_ALIASES_MAX)
                return -E2BIG;
        copy = strdup(name);
        if (!copy)
                return -ENOMEM;
        v = realloc(m->aliases, (m->n_aliases + 1) * sizeof *v);
        if (!v) {
                free(copy);
                return -ENOMEM;
        }
        v[m->n_aliases++] = copy;
        m->aliases = v;
        return 0;
}

static uint32_t read_u32_attr(const char *dir, const char *attr) {
        char path[CONFIG_PATH_MAX], value[32];
        char *end;
        unsigned long v;

        if (readfile_path(path, sizeof path, dir, attr) < 0 || readfile_small(path, value, sizeof value) < 0)
                return 0;
        errno = 0;
        v = strtoul(value, &end, 10);
        if (errno || end == value || v > UINT32_MAX)
                return 0;
        return (uint32_t) v;
}

/* Fill @m for the sysfs directory @target (or, without sysfs, for the
 * slabinfo name @target). */
static int member_fill(struct identity_member *m, const struct config *c, const struct sysfs_scan *scan,
                       const struct slabinfo *si, const char *target, const char *asked) {
        char slab_dir[CONFIG_PATH_MAX];
        int r;

        snprintf(m->sysfs_name, sizeof m->sysfs_name, "%s", target);
        if (scan->n > 0) {
                if (readfile_path(slab_dir, sizeof slab_dir, c->paths.sys, "kernel/slab") < 0 ||
                    readfile_path(m->sysfs_dir, sizeof m->sysfs_dir, slab_dir, target) < 0)
                        return -ENAMETOOLONG;
                for (size_t i = 0; i < scan->n; i++) {
                        const struct sysfs_entry *e = &scan->entries[i];
                        if (strcmp(e->target, target) != 0)
                                continue;
                        /* The ":0000192" directory itself is not a cache name. */
                        if (e->name[0] == ':')
                                continue;
                        if (strcmp(e->name, target) != 0)
                                m->merged = true;
                        r = member_add_alias(m, e->name);
                        if (r < 0)
                                return r;
                }
                m->object_size = read_u32_attr(m->sysfs_dir, "object_size");
                m->slab_size = read_u32_attr(m->sysfs_dir, "slab_size");
        } else {
                r = member_add_alias(m, target);
                if (r < 0)
                        return r;
        }
        if (m->n_aliases > 1)
                qsort(m->aliases, m->n_aliases, sizeof *m->aliases, cmp_str);

        /* The group's name in slabinfo: whichever alias slabinfo shows. */
        for (size_t i = 0; si && i < m->n_aliases && !m->slabinfo_known; i++)
                if (slabinfo_find(si, m->aliases[i])) {
                        snprintf(m->slabinfo_name, sizeof m->slabinfo_name, "%s", m->aliases[i]);
                        m->slabinfo_known = true;
                }
        if (!m->slabinfo_known) {
                const char *pick = m->n_aliases > 0 ? m->aliases[0] : target;
                for (size_t i = 0; i < m->n_aliases; i++)
                        if (strcmp(m->aliases[i], asked) == 0)
                                pick = asked;
                snprintf(m->slabinfo_name, sizeof m->slabinfo_name, "%s", pick);
        }
        return 0;
}

static bool name_ok(const char *name) {
        size_t n = name ? strlen(name) : 0;
        return n > 0 && n < SLABINFO_NAME_MAX && !strchr(name, '/') && name[0] != '.';
}

/* Add @target to @targets unless it is there. */
static int targets_add(char (*targets)[SLABINFO_NAME_MAX], size_t *n, const char *target) {
        for (size_t i = 0; i < *n; i++)
                if (strcmp(targets[i], target) == 0)
                        return 0;
        if (*n >= IDENTITY_MEMBERS_MAX)
                return -E2BIG;
        snprintf(targets[(*n)++], SLABINFO_NAME_MAX, "%s", target);
        return 0;
}

static int read_slabinfo(const struct config *c, struct slabinfo *ret) {
        struct readfile_buf b = {};
        char path[CONFIG_PATH_MAX];
        int r;

        r = readfile_path(path, sizeof path, c->paths.proc, "slabinfo");
        if (r >= 0)
                r = readfile_read(&b, path);
        if (r >= 0)
                r = slabinfo_parse(b.data, b.len, ret);
        readfile_done(&b);
        return r;
}

/* Is @name one of @id's requested spelling or the same kmalloc variant? */
static bool member_matches_asked(const struct identity *id, const struct identity_member *m) {
        for (size_t i = 0; i < m->n_aliases; i++) {
                struct cacheid_kmalloc k;
                if (strcmp(m->aliases[i], id->name) == 0)
                        return true;
                if (id->kmalloc_class && cacheid_kmalloc_parse(m->aliases[i], &k) == 0 &&
                    k.variant == id->kmalloc.variant && k.rnd_index == id->kmalloc.rnd_index &&
                    strcmp(k.bucket, id->kmalloc.bucket) == 0)
                        return true;
        }
        return false;
}

int identity_resolve(const struct config *c, const struct slabinfo *si, const char *name, struct identity **ret) {
        char slab_dir[CONFIG_PATH_MAX];
        char (*targets)[SLABINFO_NAME_MAX] = NULL;
        struct slabinfo own = {};
        struct sysfs_scan scan = {};
        struct identity *id = NULL;
        size_t n_targets = 0;
        int r;

        if (!name_ok(name))
                return -EINVAL;
        r = readfile_path(slab_dir, sizeof slab_dir, c->paths.sys, "kernel/slab");
        if (r < 0)
                return r;
        r = scan_sysfs(slab_dir, &scan);
        if (r < 0)
                return r;
        if (!si && read_slabinfo(c, &own) == 0)
                si = &own;

        id = calloc(1, sizeof *id);
        targets = calloc(IDENTITY_MEMBERS_MAX, sizeof *targets);
        if (!id || !targets) {
                r = -ENOMEM;
                goto finish;
        }
        snprintf(id->name, sizeof id->name, "%s", name);
        id->kmalloc_class = cacheid_kmalloc_parse(name, &id->kmalloc) == 0;

        if (id->kmalloc_class) {
                /* Every variant of the size, in sysfs or (without it) in slabinfo. */
                for (size_t i = 0; i < scan.n && r >= 0; i++)
                        if (scan.entries[i].name[0] != ':' && cacheid_same_class(scan.entries[i].name, name))
                                r = targets_add(targets, &n_targets, scan.entries[i].target);
                for (size_t i = 0; scan.n == 0 && si && i < si->n_caches && r >= 0; i++)
                        if (cacheid_same_class(si->caches[i].name, name))
                                r = targets_add(targets, &n_targets, si->caches[i].name);
        } else {
                const struct sysfs_entry *e = scan_find(&scan, name);
                if (e)
                        r = targets_add(targets, &n_targets, e->target);
                else if (si && slabinfo_find(si, name)) {
                        /* Known to slabinfo but not to sysfs: no SLUB sysfs, or
                         * a race with its creation. Resolve without sysfs. */
                        scan_done(&scan);
                        r = targets_add(targets, &n_targets, name);
                }
        }
        if (r < 0)
                goto finish;
        if (n_targets == 0) {
                r = -ENOENT;
                goto finish;
        }

        id->members = calloc(n_targets, sizeof *id->members);
        if (!id->members) {
                r = -ENOMEM;
                goto finish;
        }
        for (size_t i = 0; i < n_targets; i++) {
                r = member_fill(&id->members[id->n_members++], c, &scan, si, targets[i], name);
                if (r < 0)
                        goto finish;
        }

        /* The cache that was asked for leads; the rest by sysfs name. */
        for (size_t i = 1; i < id->n_members; i++)
                for (size_t j = i; j > 0; j--) {
                        struct identity_member *a = &id->members[j - 1], *b = &id->members[j], tmp;
                        bool a_first = member_matches_asked(id, a), b_first = member_matches_asked(id, b);
                        if (a_first || (!b_first && strcmp(a->sysfs_name, b->sysfs_name) <= 0))
                                break;
                        tmp = *a;
                        *a = *b;
                        *b = tmp;
                }

        *ret = id;
        id = NULL;
        r = 0;
finish:
        identity_free(id);
        free(targets);
        scan_done(&scan);
        slabinfo_done(&own);
        return r;
}

size_t identity_all_names(const struct identity *id, const char **names, size_t max) {
        size_t n = 0;

        for (size_t i = 0; i < id->n_members; i++)
                for (size_t j = 0; j < id->members[i].n_aliases && n < max; j++) {
                        const char *a = id->members[i].aliases[j];
                        bool dup = false;
                        for (size_t k = 0; k < n && !dup; k++)
                                dup = strcmp(names[k], a) == 0;
                        if (!dup)
                                names[n++] = a;
                }
        return n;
}

bool identity_exists(const struct config *c, const struct identity *id) {
        struct slabinfo si = {};
        bool need_slabinfo = false, found = false;

        for (size_t i = 0; i < id->n_members; i++) {
                struct stat st;
                if (!id->members[i].sysfs_dir[0])
                        need_slabinfo = true;
                else if (stat(id->members[i].sysfs_dir, &st) == 0)
                        return true;
        }
        if (!need_slabinfo)
                return false;
        /* Without sysfs the answer comes from slabinfo; if that cannot be read
         * either, say "exists" rather than stop a capture on a guess. */
        if (read_slabinfo(c, &si) < 0)
                return true;
        for (size_t i = 0; i < id->n_members && !found; i++)
                found = slabinfo_find(&si, id->members[i].slabinfo_name) != NULL;
        slabinfo_done(&si);
        return found;
}
