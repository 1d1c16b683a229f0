/* config_schema — the keys of slabwatch.yaml as tables: name, type,
 * where the value goes in struct config, its bounds. The YAML parser
 * (config_yaml.c) walks a document against these tables. Internal to the
 * config module. The detection rules' keys are rule_keys in config_schema.c;
 * their defaults are default_rules in config.c. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/config.h"
#include "base/config_units.h"

enum key_type {
        KEY_DURATION,           /* uint64_t microseconds */
        KEY_SIZE,               /* uint64_t bytes */
        KEY_PAGE_SIZE,          /* uint32_t: 0, or a power of two within min..max */
        KEY_COUNT,              /* uint64_t or unsigned, a plain whole number */
        KEY_NUMBER,             /* double, a plain decimal */
        KEY_PERCENT,            /* double, a decimal with an optional '%' */
        KEY_RATE_SIZE,          /* double, written as a size ("1MiB") */
        KEY_BOOL,               /* bool */
        KEY_RECLAIM,            /* enum config_reclaim, written as a boolean */
        KEY_PATH,               /* absolute path */
        KEY_PATH_OPTIONAL,      /* absolute path, or "" for off */
        KEY_GLOB,               /* fnmatch(3) pattern on a cache name */
        KEY_GROUP,              /* group name, or "" */
        KEY_SECTION,            /* nested mapping */
        KEY_RULES,              /* the thresholds list */
};

struct section;

struct key_def {
        const char *name;
        enum key_type type;
        size_t offset;                  /* of the field within its struct */
        size_t size;                    /* of the field */
        uint64_t min, max;              /* whole-number kinds; max length for strings */
        double dmin, dmax;              /* KEY_NUMBER, KEY_PERCENT */
        bool dmin_exclusive;
        const struct section *section;  /* KEY_SECTION */
};

struct section {
        const struct key_def *keys;
        size_t n_keys;
};

/* The document's top level and one entry of the `thresholds` list. */
extern const struct section config_top_section;
extern const struct section config_rule_section;

/* A rule written in the file starts from this (config.c, next to the
 * default rules). */
extern const struct config_rule config_rule_template;

/* Copy @src into the @size bytes of @dst, zero-filled, so that two configs
 * holding the same values compare equal byte for byte. */
void config_copy_string(char *dst, size_t size, const char *src);

/* Whether the file set the field at @field itself. */
typedef bool (*config_given_fn)(const void *field, void *userdata);

/* Compose the host paths under c->paths.root, except those @given (NULL:
 * none) says the file set. On -ENAMETOOLONG, *@ret_key names the key whose
 * composed path does not fit ("server.socket"). */
int config_compose_paths(struct config *c, config_given_fn given, void *userdata, const char **ret_key);

/* Fill @e with a message and no position. */
void config_error_set(struct config_error *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
