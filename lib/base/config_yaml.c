/* config_yaml — slabwatch.yaml text to struct config.
 *
 * The text is read as a stream of libyaml events and matched against tables
 * of known keys as it arrives, so a node of the wrong shape is refused where
 * it starts. Nesting therefore never goes deeper than the schema (a rule
 * inside the thresholds list inside the document), whatever the input, and
 * aliases are refused, so no input can expand beyond its own size. */
#include "base/config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "base/config_schema.h"

/* Longest piece of offending input quoted back in an error message. */
#define QUOTE_MAX 40
/* "thresholds[63].percent_per_hour" and the like. */
#define KEYPATH_MAX 96
/* Positions remembered for checks that span several keys: every scalar of
 * every section plus every key of every rule. */
#define MARKS_MAX (64 + CONFIG_RULES_MAX * 16)
/* A key table never has more entries than bits in the "seen" mask. */
#define SECTION_KEYS_MAX 64
/* Unknown keys within this edit distance of a known one get a suggestion. */
#define SUGGEST_DISTANCE_MAX 2
#define SUGGEST_NAME_MAX 32

/* The full-resolution tier may not hold more samples than this per cache. */
#define HISTORY_RAW_SAMPLES_MAX 86400
/* The growth fit needs at least three samples in a window. */
#define WINDOW_MIN_INTERVALS 2

struct mark_entry {
        size_t offset;          /* of the field within struct config */
        yaml_mark_t mark;
};

struct parser {
        yaml_parser_t yaml;
        bool yaml_initialized;
        yaml_event_t event;
        bool have_event;
        const char *buf;
        size_t len;
        struct config cfg;
        struct config_error *error;

        /* Where in the document we are, for messages: "capture.poll". */
        char keypath[KEYPATH_MAX];
        size_t keypath_len;

        /* Where each value came from, for checks that involve two keys. */
        struct mark_entry marks[MARKS_MAX];
        size_t n_marks;
        bool rules_given;
        yaml_mark_t rule_marks[CONFIG_RULES_MAX];
};

static int fail_at(struct parser *p, const yaml_mark_t *m, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Sets the error at @m (NULL: no position), prefixed with the key being
 * read, and returns -EINVAL. */
static int fail_at(struct parser *p, const yaml_mark_t *m, const char *fmt, ...) {
        char *msg = p->error->message;
        size_t n = 0;
        va_list ap;

        p->error->line = m ? (unsigned) m->line + 1 : 0;
        p->error->column = m ? (unsigned) m->column + 1 : 0;
        if (p->keypath_len > 0) {
                snprintf(msg, sizeof p->error->message, "%s: ", p->keypath);
                n = strlen(msg);
        }
        va_start(ap, fmt);
        vsnprintf(msg + n, sizeof p->error->message - n, fmt, ap);
        va_end(ap);
        return -EINVAL;
}

/* Offending input, made printable and cut short, for a message. */
static const char *quote(const char *s, size_t len, char buf[static QUOTE_MAX + 4]) {
        size_t n = 0;

        for (size_t i = 0; i < len && n < QUOTE_MAX; i++)
                buf[n++] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
        if (len > QUOTE_MAX) {
                memcpy(buf + n, "...", 3);
                n += 3;
        }
        buf[n] = '\0';
        return buf;
}

static size_t keypath_push(struct parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static size_t keypath_push(struct parser *p, const char *fmt, ...) {
        size_t old = p->keypath_len;
        va_list ap;
        int k;

        va_start(ap, fmt);
        k = vsnprintf(p->keypath + old, sizeof p->keypath - old, fmt, ap);
        va_end(ap);
        if (k > 0)
                p->keypath_len = old + (size_t) k < sizeof p->keypath ? old + (size_t) k : sizeof p->keypath - 1;
        return old;
}

static void keypath_pop(struct parser *p, size_t old) {
        p->keypath_len = old;
        p->keypath[old] = '\0';
}

static void mark_record(struct parser *p, const void *field, const yaml_mark_t *m) {
        if (p->n_marks >= ELEMENTSOF(p->marks))
                return;
        p->marks[p->n_marks++] = (struct mark_entry) {
                .offset = (size_t) ((const char *) field - (const char *) &p->cfg),
                .mark = *m,
        };
}

static const yaml_mark_t *mark_find(const struct parser *p, const void *field) {
        size_t offset = (size_t) ((const char *) field - (const char *) &p->cfg);

        for (size_t i = 0; i < p->n_marks; i++)
                if (p->marks[i].offset == offset)
                        return &p->marks[i].mark;
        return NULL;
}

/* libyaml counts from 0 and reports reader errors (bad UTF-8, control
 * characters) only as a byte offset: turn that into line:column. */
static void offset_to_position(const char *buf, size_t len, size_t offset, yaml_mark_t *ret) {
        yaml_mark_t m = {};

        for (size_t i = 0; i < offset && i < len; i++) {
                if (buf[i] == '\n') {
                        m.line++;
                        m.column = 0;
                } else if (((unsigned char) buf[i] & 0xc0) != 0x80)
                        m.column++;
        }
        m.index = offset;
        *ret = m;
}

static int fail_yaml(struct parser *p) {
        const yaml_parser_t *y = &p->yaml;
        const char *problem = y->problem ? y->problem : "malformed YAML";
        yaml_mark_t m;

        switch (y->error) {
        case YAML_MEMORY_ERROR:
                fail_at(p, NULL, "out of memory while parsing");
                return -ENOMEM;
        case YAML_READER_ERROR:
                offset_to_position(p->buf, p->len, y->problem_offset, &m);
                if (y->problem_value >= 0)
                        return fail_at(p, &m, "%s (0x%02X)", problem, (unsigned) y->problem_value);
                return fail_at(p, &m, "%s", problem);
        default:
                /* A plain "*" is an alias in YAML, the most likely surprise
                 * in a file full of globs. */
                if (y->context && strstr(y->context, "alias"))
                        return fail_at(p, &y->problem_mark,
                                       "%s: %s (a glob starting with '*' must be quoted, like match: \"*\")",
                                       y->context, problem);
                if (y->context)
                        return fail_at(p, &y->problem_mark, "%s: %s", y->context, problem);
                return fail_at(p, &y->problem_mark, "%s", problem);
        }
}

static int next_event(struct parser *p) {
        if (p->have_event) {
                yaml_event_delete(&p->event);
                p->have_event = false;
        }
        if (!yaml_parser_parse(&p->yaml, &p->event))
                return fail_yaml(p);
        p->have_event = true;
        if (p->event.type == YAML_ALIAS_EVENT) {
                char q[QUOTE_MAX + 4];
                const char *anchor = (const char *) p->event.data.alias.anchor;

                return fail_at(p, &p->event.start_mark,
                               "aliases (*%s) are not supported; a glob starting with '*' must be quoted",
                               quote(anchor, strlen(anchor), q));
        }
        return 0;
}

/* Nesting followed to find where a misplaced collection ends. */
#define CONFIG_YAML_SKIP_DEPTH_MAX 64

static const char *event_kind(const yaml_event_t *e);

/* The current event is not what the key wants. When it opens a flow
 * collection that is never closed ("interval: [10s" and the file ends),
 * the YAML error says what is wrong and where, where "got a list" would
 * mislead: skip to the collection's end first. Returns that error, or 0
 * when the collection is well formed (or the event opens none). No key
 * takes a collection this deep: deeper is refused without reading on. */
static int collection_unclosed(struct parser *p) {
        yaml_mark_t m = p->event.start_mark;
        size_t depth = 0;
        do {
                yaml_event_type_t t = p->event.type;
                if (t == YAML_SEQUENCE_START_EVENT || t == YAML_MAPPING_START_EVENT)
                        depth++;
                else if (t == YAML_SEQUENCE_END_EVENT || t == YAML_MAPPING_END_EVENT)
                        depth--;
                if (depth == 0)
                        return 0;
                if (depth > CONFIG_YAML_SKIP_DEPTH_MAX)
                        return fail_at(p, &m, "lists or mappings nested more than %d deep", CONFIG_YAML_SKIP_DEPTH_MAX);
                int r = next_event(p);
                if (r < 0)
                        return r;
        } while (p->event.type != YAML_STREAM_END_EVENT);
        return 0;
}

/* "expected @what, got <the current event's kind>" at the event, unless
 * the event opens a collection that is never closed: then that. */
static int fail_kind(struct parser *p, const char *what) {
        yaml_mark_t m = p->event.start_mark;
        const char *kind = event_kind(&p->event);
        int r = collection_unclosed(p);
        if (r < 0)
                return r;
        return fail_at(p, &m, "expected %s, got %s", what, kind);
}

static const char *event_kind(const yaml_event_t *e) {
        switch (e->type) {
        case YAML_SCALAR_EVENT:
                return "a single value";
        case YAML_SEQUENCE_START_EVENT:
                return "a list";
        case YAML_MAPPING_START_EVENT:
                return "a mapping";
        default:
                return "nothing";
        }
}

static bool event_is_null(const yaml_event_t *e) {
        const char *v;

        if (e->type != YAML_SCALAR_EVENT || e->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
                return false;
        v = (const char *) e->data.scalar.value;
        return v[0] == '\0' || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 ||
                strcmp(v, "Null") == 0 || strcmp(v, "NULL") == 0;
}

static const char *type_expectation(const struct key_def *def) {
        switch (def->type) {
        case KEY_DURATION:
                return "a duration (like 10s, 5m or 1h30m)";
        case KEY_SIZE:
        case KEY_RATE_SIZE:
                return "a size (like 4096, 64KiB or 4MiB)";
        case KEY_PAGE_SIZE:
                return "a page size (like 4KiB, or 0 for the running system's)";
        case KEY_COUNT:
                return "a whole number";
        case KEY_NUMBER:
                return "a number";
        case KEY_PERCENT:
                return "a percentage (like 50 or 50%)";
        case KEY_BOOL:
        case KEY_RECLAIM:
                return "true or false";
        case KEY_PATH:
                return "an absolute path";
        case KEY_PATH_OPTIONAL:
                return "an absolute path or \"\"";
        case KEY_GLOB:
                return "a glob (like \"kmalloc-*\")";
        case KEY_GROUP:
                return "a group name";
        case KEY_SECTION:
                return "a mapping of keys";
        case KEY_RULES:
                return "a list of rules";
        }
        return "a value";
}

_Static_assert(sizeof(unsigned) == sizeof(uint32_t), "unsigned fields are stored as uint32_t");

static void store_uint(void *field, size_t size, uint64_t v) {
        if (size == sizeof(uint32_t)) {
                uint32_t v32 = (uint32_t) v;
                memcpy(field, &v32, sizeof v32);
        } else
                memcpy(field, &v, sizeof v);
}

static bool group_name_valid(const char *v) {
        if (v[0] == '-')
                return false;
        for (const char *s = v; *s; s++) {
                bool alnum = (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9');
                if (!alnum && *s != '_' && *s != '-' && *s != '.')
                        return false;
        }
        return true;
}

static int parse_scalar(struct parser *p, const struct key_def *def, void *field) {
        const yaml_event_t *e = &p->event;
        const yaml_mark_t *m = &e->start_mark;
        const char *v = (const char *) e->data.scalar.value;
        size_t len = e->data.scalar.length;
        const char *reason = "";
        char q[QUOTE_MAX + 4], lo[32], hi[32];
        uint64_t u;
        double d;
        bool b;
        int r;

        if (memchr(v, '\0', len))
                return fail_at(p, m, "contains a NUL character");
        if (event_is_null(e) && def->type != KEY_PATH_OPTIONAL && def->type != KEY_GROUP)
                return fail_at(p, m, "expected %s, got nothing", type_expectation(def));
        quote(v, len, q);

        switch (def->type) {
        case KEY_DURATION:
                r = config_duration_scan(v, &u, &reason);
                if (r < 0)
                        return fail_at(p, m, "'%s' is not a valid duration: %s", q, reason);
                if (u < def->min || u > def->max)
                        return fail_at(p, m, "%s is out of range (%s..%s)", q,
                                       config_format_duration(def->min, lo, sizeof lo),
                                       config_format_duration(def->max, hi, sizeof hi));
                store_uint(field, def->size, u);
                return 0;

        case KEY_SIZE:
        case KEY_RATE_SIZE:
        case KEY_PAGE_SIZE:
                r = config_size_scan(v, &u, &reason);
                if (r < 0)
                        return fail_at(p, m, "'%s' is not a valid size: %s", q, reason);
                if (def->type == KEY_PAGE_SIZE) {
                        if (u != 0 && (u < def->min || u > def->max || (u & (u - 1)) != 0))
                                return fail_at(p, m, "%s must be 0 (the running system's) or a power of two from %s to %s", q,
                                               config_format_size(def->min, lo, sizeof lo),
                                               config_format_size(def->max, hi, sizeof hi));
                } else if (u < def->min || u > def->max)
                        return fail_at(p, m, "%s is out of range (%s..%s)", q,
                                       config_format_size(def->min, lo, sizeof lo),
                                       config_format_size(def->max, hi, sizeof hi));
                if (def->type == KEY_RATE_SIZE) {
                        d = (double) u;
                        memcpy(field, &d, sizeof d);
                } else
                        store_uint(field, def->size, u);
                return 0;

        case KEY_COUNT:
                r = config_whole_scan(v, &u);
                if (r == -ERANGE)
                        return fail_at(p, m, "%s is out of range (%" PRIu64 "..%" PRIu64 ")", q, def->min, def->max);
                if (r < 0)
                        return fail_at(p, m, "'%s' is not a whole number", q);
                if (u < def->min || u > def->max)
                        return fail_at(p, m, "%s is out of range (%" PRIu64 "..%" PRIu64 ")", q, def->min, def->max);
                store_uint(field, def->size, u);
                return 0;

        case KEY_NUMBER:
        case KEY_PERCENT:
                r = config_number_scan(v[0] == '-' ? v + 1 : v, def->type == KEY_PERCENT, &d);
                if (r == -EINVAL)
                        return fail_at(p, m, "'%s' is not %s", q, type_expectation(def));
                if (v[0] == '-' && d != 0)
                        d = -d;
                if (r < 0 || d > def->dmax || d < def->dmin || (def->dmin_exclusive && d <= def->dmin)) {
                        if (def->dmin_exclusive)
                                return fail_at(p, m, "%s must be greater than %g and at most %g", q, def->dmin, def->dmax);
                        return fail_at(p, m, "%s is out of range (%g..%g)", q, def->dmin, def->dmax);
                }
                memcpy(field, &d, sizeof d);
                return 0;

        case KEY_BOOL:
        case KEY_RECLAIM:
                if (config_bool_scan(v, &b) < 0)
                        return fail_at(p, m, "'%s' is not a boolean (true/false, yes/no, on/off)", q);
                if (def->type == KEY_RECLAIM) {
                        enum config_reclaim rc = b ? CONFIG_RECLAIM_YES : CONFIG_RECLAIM_NO;
                        memcpy(field, &rc, sizeof rc);
                } else
                        memcpy(field, &b, sizeof b);
                return 0;

        case KEY_PATH:
        case KEY_PATH_OPTIONAL:
                if (def->type == KEY_PATH_OPTIONAL && (len == 0 || event_is_null(e))) {
                        memset(field, 0, def->size);
                        return 0;
                }
                if (v[0] != '/')
                        return fail_at(p, m, "'%s' is not an absolute path", q);
                if (len > def->max)
                        return fail_at(p, m, "the path is longer than %" PRIu64 " bytes", def->max);
                config_copy_string(field, def->size, v);
                return 0;

        case KEY_GLOB:
                if (len == 0)
                        return fail_at(p, m, "the glob is empty (\"*\" matches every cache)");
                if (len > def->max)
                        return fail_at(p, m, "the glob is longer than %" PRIu64 " bytes", def->max);
                if (strpbrk(v, " \t\r\n\v\f"))
                        return fail_at(p, m, "'%s' contains whitespace, which no cache name has", q);
                config_copy_string(field, def->size, v);
                return 0;

        case KEY_GROUP:
                if (len == 0 || event_is_null(e)) {
                        memset(field, 0, def->size);
                        return 0;
                }
                if (len > def->max)
                        return fail_at(p, m, "the group name is longer than %" PRIu64 " bytes", def->max);
                if (!group_name_valid(v))
                        return fail_at(p, m, "'%s' is not a valid group name", q);
                config_copy_string(field, def->size, v);
                return 0;

        case KEY_SECTION:
        case KEY_RULES:
                break;
        }
        return fail_at(p, m, "expected %s", type_expectation(def));
}

static unsigned edit_distance(const char *a, size_t la, const char *b) {
        unsigned row[SUGGEST_NAME_MAX + 1];
        size_t lb = strlen(b);

        if (la > SUGGEST_NAME_MAX || lb > SUGGEST_NAME_MAX)
                return UINT32_MAX;
        for (size_t j = 0; j <= lb; j++)
                row[j] = (unsigned) j;
        for (size_t i = 1; i <= la; i++) {
                unsigned diag = row[0];

                row[0] = (unsigned) i;
                for (size_t j = 1; j <= lb; j++) {
                        unsigned up = row[j];
                        unsigned best = diag + (a[i - 1] != b[j - 1]);

                        if (up + 1 < best)
                                best = up + 1;
                        if (row[j - 1] + 1 < best)
                                best = row[j - 1] + 1;
                        row[j] = best;
                        diag = up;
                }
        }
        return row[lb];
}

static int fail_unknown_key(struct parser *p, const struct section *s, const char *key, size_t len,
                            const yaml_mark_t *m) {
        const char *suggestion = NULL;
        unsigned best = SUGGEST_DISTANCE_MAX + 1;
        char q[QUOTE_MAX + 4];

        for (size_t i = 0; i < s->n_keys; i++) {
                unsigned dist = edit_distance(key, len, s->keys[i].name);

                if (dist < best && dist < strlen(s->keys[i].name)) {
                        best = dist;
                        suggestion = s->keys[i].name;
                }
        }
        quote(key, len, q);
        if (suggestion)
                return fail_at(p, m, "unknown key '%s' (did you mean '%s'?)", q, suggestion);
        return fail_at(p, m, "unknown key '%s'", q);
}

static int parse_rules(struct parser *p);

static int parse_mapping(struct parser *p, const struct section *s, void *base);

static int parse_value(struct parser *p, const struct key_def *def, void *field) {
        const yaml_event_t *e = &p->event;
        int r;

        switch (def->type) {
        case KEY_SECTION:
                if (e->type == YAML_MAPPING_START_EVENT)
                        return parse_mapping(p, def->section, field);
                /* "history:" with every sub-key commented out. */
                if (event_is_null(e))
                        return 0;
                return fail_kind(p, "a mapping of keys");
        case KEY_RULES:
                return parse_rules(p);
        default:
                if (e->type != YAML_SCALAR_EVENT)
                        return fail_kind(p, type_expectation(def));
                r = parse_scalar(p, def, field);
                if (r < 0)
                        return r;
                mark_record(p, field, &e->start_mark);
                return 0;
        }
}

/* Called with the MAPPING-START event current; returns after its end. */
static int parse_mapping(struct parser *p, const struct section *s, void *base) {
        yaml_mark_t first[SECTION_KEYS_MAX];
        uint64_t seen = 0;
        int r;

        for (;;) {
                const struct key_def *def = NULL;
                const char *key;
                yaml_mark_t key_mark;
                size_t key_len, i, old;

                r = next_event(p);
                if (r < 0)
                        return r;
                if (p->event.type == YAML_MAPPING_END_EVENT)
                        return 0;
                if (p->event.type != YAML_SCALAR_EVENT)
                        return fail_at(p, &p->event.start_mark, "expected a key name, got %s", event_kind(&p->event));

                key = (const char *) p->event.data.scalar.value;
                key_len = p->event.data.scalar.length;
                key_mark = p->event.start_mark;
                for (i = 0; i < s->n_keys && i < SECTION_KEYS_MAX; i++)
                        if (strlen(s->keys[i].name) == key_len && memcmp(s->keys[i].name, key, key_len) == 0) {
                                def = &s->keys[i];
                                break;
                        }
                if (!def)
                        return fail_unknown_key(p, s, key, key_len, &key_mark);
                if (seen & (UINT64_C(1) << i))
                        return fail_at(p, &key_mark, "duplicate key '%s' (first given at line %zu)",
                                       def->name, first[i].line + 1);
                seen |= UINT64_C(1) << i;
                first[i] = key_mark;

                old = keypath_push(p, "%s%s", p->keypath_len > 0 ? "." : "", def->name);
                r = next_event(p);
                if (r < 0)
                        return r;
                r = parse_value(p, def, (char *) base + def->offset);
                if (r < 0)
                        return r;
                keypath_pop(p, old);
        }
}

/* An earlier rule takes every cache a later one could match. Only the
 * certain cases: the earlier glob is "*" or the same glob. */
static bool rule_shadows(const struct config_rule *a, const struct config_rule *b) {
        if (strcmp(a->match, "*") != 0 && strcmp(a->match, b->match) != 0)
                return false;
        return a->reclaimable == CONFIG_RECLAIM_ANY || a->reclaimable == b->reclaimable;
}

static int check_rule(struct parser *p, size_t i) {
        const struct config_rule *rule = &p->cfg.rules[i];
        const yaml_mark_t *m = &p->rule_marks[i];

        if (!mark_find(p, rule->match))
                return fail_at(p, m, "a rule needs match: (a glob like \"*\" or \"kmalloc-*\")");
        if (!rule->ignore && rule->objects_per_min == 0 && rule->bytes_per_hour == 0 && rule->percent_per_hour == 0 &&
            rule->significance == 0)
                return fail_at(p, m,
                               "rule \"%s\" sets none of objects_per_min, bytes_per_hour, percent_per_hour and "
                               "significance; set one, or ignore: true",
                               rule->match);
        if (rule->fast_exhaust_usec > 0 && rule->fast_for_usec == 0)
                return fail_at(p, mark_find(p, &rule->fast_exhaust_usec) ?: m,
                               "rule \"%s\": fast_exhaust needs fast_for (how long a fast rise must last)",
                               rule->match);
        for (size_t j = 0; j < i; j++)
                if (rule_shadows(&p->cfg.rules[j], rule))
                        return fail_at(p, m, "rule \"%s\" can never match: thresholds[%zu] (\"%s\") comes first and takes every cache it would",
                                       rule->match, j, p->cfg.rules[j].match);
        return 0;
}

/* Called with the value of `thresholds` current; returns after its end. */
static int parse_rules(struct parser *p) {
        struct config *c = &p->cfg;
        yaml_mark_t list_mark = p->event.start_mark;
        int r;

        if (event_is_null(&p->event))
                return fail_at(p, &list_mark, "the list is empty; to keep some caches from alerting, give a rule with ignore: true");
        if (p->event.type != YAML_SEQUENCE_START_EVENT)
                return fail_kind(p, "a list of rules (- match: ...)");

        memset(c->rules, 0, sizeof c->rules);
        c->n_rules = 0;
        p->rules_given = true;
        for (;;) {
                struct config_rule *rule;
                size_t old;

                r = next_event(p);
                if (r < 0)
                        return r;
                if (p->event.type == YAML_SEQUENCE_END_EVENT)
                        break;
                if (c->n_rules >= CONFIG_RULES_MAX)
                        return fail_at(p, &p->event.start_mark, "more than %d rules", CONFIG_RULES_MAX);

                old = keypath_push(p, "[%zu]", c->n_rules);
                if (p->event.type != YAML_MAPPING_START_EVENT)
                        return fail_kind(p, "a rule (a mapping with match: and thresholds)");
                rule = &c->rules[c->n_rules];
                memcpy(rule, &config_rule_template, sizeof *rule);
                p->rule_marks[c->n_rules] = p->event.start_mark;
                r = parse_mapping(p, &config_rule_section, rule);
                if (r < 0)
                        return r;
                r = check_rule(p, c->n_rules);
                if (r < 0)
                        return r;
                keypath_pop(p, old);
                c->n_rules++;
        }
        if (c->n_rules == 0)
                return fail_at(p, &list_mark, "the list is empty; to keep some caches from alerting, give a rule with ignore: true");
        return 0;
}

static int parse_stream(struct parser *p) {
        int r;

        r = next_event(p);              /* STREAM-START */
        if (r < 0)
                return r;
        r = next_event(p);
        if (r < 0)
                return r;
        if (p->event.type == YAML_STREAM_END_EVENT)
                return 0;               /* empty, or only comments: all defaults */

        r = next_event(p);              /* the document's root node */
        if (r < 0)
                return r;
        if (p->event.type == YAML_MAPPING_START_EVENT) {
                r = parse_mapping(p, &config_top_section, &p->cfg);
                if (r < 0)
                        return r;
        } else if (!event_is_null(&p->event))
                return fail_at(p, &p->event.start_mark, "the top level must be a mapping of keys (like interval: 10s), got %s",
                               event_kind(&p->event));

        r = next_event(p);              /* DOCUMENT-END */
        if (r < 0)
                return r;
        r = next_event(p);
        if (r < 0)
                return r;
        if (p->event.type != YAML_STREAM_END_EVENT)
                return fail_at(p, &p->event.start_mark, "only one YAML document is allowed");
        return 0;
}

static bool given_in_file(const void *field, void *userdata) {
        return mark_find(userdata, field) != NULL;
}

/* The host paths the file does not set itself, under paths.root. */
static int compose_paths(struct parser *p) {
        const char *key = "";
        int r = config_compose_paths(&p->cfg, given_in_file, p, &key);
        if (r == -ENAMETOOLONG)
                return fail_at(p, mark_find(p, p->cfg.paths.root),
                               "paths.root: %s under it would be too long%s; set %s itself", key,
                               strcmp(key, "server.socket") == 0 ? " for a socket (107 bytes)" : "", key);
        return r < 0 ? fail_at(p, NULL, "cannot compose the host paths") : 0;
}

/* Checks between keys, once all of them are known. The position is that of
 * the key most likely to need the change. */
static int validate(struct parser *p) {
        const struct config *c = &p->cfg;
        const yaml_mark_t *interval_mark = mark_find(p, &c->interval_usec);
        const yaml_mark_t *raw_mark = mark_find(p, &c->history.raw_usec);
        char a[32], b[32];

        if (c->history.raw_usec / c->interval_usec > HISTORY_RAW_SAMPLES_MAX)
                return fail_at(p, raw_mark ?: interval_mark,
                               "history.raw (%s) would keep more than %d samples per cache at interval %s",
                               config_format_duration(c->history.raw_usec, a, sizeof a), HISTORY_RAW_SAMPLES_MAX,
                               config_format_duration(c->interval_usec, b, sizeof b));

        for (size_t i = 0; i < c->n_rules; i++) {
                const struct config_rule *rule = &c->rules[i];
                const yaml_mark_t *window_mark = mark_find(p, &rule->window_usec);
                const yaml_mark_t *rule_mark = p->rules_given ? &p->rule_marks[i] : NULL;
                char name[48];

                if (p->rules_given)
                        snprintf(name, sizeof name, "thresholds[%zu]", i);
                else
                        snprintf(name, sizeof name, "the default rule %zu", i);

                if (rule->window_usec < WINDOW_MIN_INTERVALS * c->interval_usec)
                        return fail_at(p, window_mark ?: rule_mark ?: interval_mark,
                                       "%s: window %s must be at least %d × interval (%d × %s)%s", name,
                                       config_format_duration(rule->window_usec, a, sizeof a), WINDOW_MIN_INTERVALS,
                                       WINDOW_MIN_INTERVALS, config_format_duration(c->interval_usec, b, sizeof b),
                                       p->rules_given ? "" : "; give thresholds with longer windows");
                if (rule->window_usec > c->history.raw_usec && rule->window_usec > c->history.minute_usec)
                        return fail_at(p, window_mark ?: rule_mark ?: mark_find(p, &c->history.minute_usec),
                                       "%s: window %s must not be longer than history.minute (%s), the span the floor test reads%s",
                                       name, config_format_duration(rule->window_usec, a, sizeof a),
                                       config_format_duration(c->history.minute_usec, b, sizeof b),
                                       p->rules_given ? "" : "; give thresholds with shorter windows");
                if (rule->steady_for_usec > rule->window_usec || rule->fast_for_usec > rule->window_usec)
                        return fail_at(p, mark_find(p, &rule->steady_for_usec) ?: window_mark ?: rule_mark ?: interval_mark,
                                       "%s: steady_for and fast_for must not be longer than window (%s): the rise is looked for within it",
                                       name, config_format_duration(rule->window_usec, a, sizeof a));
        }

        if (c->capture.raw_trace_max_bytes > c->capture.disk_budget_bytes)
                return fail_at(p, mark_find(p, &c->capture.raw_trace_max_bytes) ?: mark_find(p, &c->capture.disk_budget_bytes),
                               "capture.raw_trace_max (%s) must not exceed capture.disk_budget (%s)",
                               config_format_size(c->capture.raw_trace_max_bytes, a, sizeof a),
                               config_format_size(c->capture.disk_budget_bytes, b, sizeof b));
        return 0;
}

int config_parse(const char *buf, size_t len, struct config *ret, struct config_error *ret_error) {
        struct config_error scratch;
        struct config_error *e = ret_error ?: &scratch;
        struct parser *p;
        int r;

        memset(e, 0, sizeof *e);
        if (len > CONFIG_FILE_MAX) {
                config_error_set(e, "larger than %d bytes", CONFIG_FILE_MAX);
                return -EFBIG;
        }
        if (!buf && len > 0) {
                config_error_set(e, "no text to parse");
                return -EINVAL;
        }

        /* The working copy is large (paths, rules): keep it off the stack. */
        p = calloc(1, sizeof *p);
        if (!p) {
                config_error_set(e, "out of memory");
                return -ENOMEM;
        }
        p->error = e;
        p->buf = buf ? buf : "";
        p->len = len;
        config_defaults(&p->cfg);

        if (!yaml_parser_initialize(&p->yaml)) {
                config_error_set(e, "out of memory");
                r = -ENOMEM;
                goto finish;
        }
        p->yaml_initialized = true;
        yaml_parser_set_input_string(&p->yaml, (const unsigned char *) p->buf, len);

        r = parse_stream(p);
        if (r >= 0)
                r = compose_paths(p);
        if (r >= 0)
                r = validate(p);
        if (r >= 0)
                memcpy(ret, &p->cfg, sizeof *ret);

finish:
        if (p->have_event)
                yaml_event_delete(&p->event);
        if (p->yaml_initialized)
                yaml_parser_delete(&p->yaml);
        free(p);
        return r < 0 ? r : 0;
}
