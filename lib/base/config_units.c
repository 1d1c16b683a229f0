/* config_units — durations, sizes and plain numbers as slabwatch.yaml
 * writes them, parsed exactly (integer arithmetic, overflow checked) and
 * formatted so that the text parses back to the same value. */
#include "base/config_units.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "base/config.h"

/* Digits after the decimal point that count; further ones are dropped
 * (well below a microsecond or a byte for every unit we accept). */
#define DECIMAL_FRACTION_DIGITS_MAX 9
/* Unit suffixes are short ("ms", "KiB"). */
#define UNIT_NAME_MAX 3

struct decimal {
        uint64_t integer;
        uint64_t fraction;              /* the first fraction_digits digits after '.' */
        unsigned fraction_digits;
        bool has_point;
};

struct unit {
        const char *name;
        uint64_t factor;
};

static const struct unit duration_units[] = {
        { "us", 1 },
        { "ms", USEC_PER_MSEC },
        { "s", USEC_PER_SEC },
        { "m", USEC_PER_MIN },
        { "h", USEC_PER_HOUR },
        { "d", USEC_PER_DAY },
        { "w", USEC_PER_WEEK },
};

/* Sizes count in powers of 1024, as the kernel does: "KB" is a KiB here. */
static const struct unit size_units[] = {
        { "", 1 },     { "b", 1 },
        { "k", KIB },  { "kb", KIB },  { "kib", KIB },
        { "m", MIB },  { "mb", MIB },  { "mib", MIB },
        { "g", GIB },  { "gb", GIB },  { "gib", GIB },
        { "t", TIB },  { "tb", TIB },  { "tib", TIB },
};

static bool is_digit(char c) {
        return c >= '0' && c <= '9';
}

static bool is_alpha(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static const char *skip_blanks(const char *s) {
        while (*s == ' ' || *s == '\t')
                s++;
        return s;
}

static uint64_t pow10_u64(unsigned n) {
        uint64_t v = 1;
        while (n-- > 0)
                v *= 10;
        return v;
}

/* "123" or "12.75" (no sign, no exponent) at *@pp. Advances *@pp past it. */
static int decimal_scan(const char **pp, struct decimal *ret) {
        const char *p = *pp;
        struct decimal d = {};
        bool overflow = false;

        if (!is_digit(*p))
                return -EINVAL;
        for (; is_digit(*p); p++)
                if (__builtin_mul_overflow(d.integer, 10, &d.integer) ||
                    __builtin_add_overflow(d.integer, (uint64_t) (*p - '0'), &d.integer))
                        overflow = true;
        if (*p == '.') {
                p++;
                if (!is_digit(*p))
                        return -EINVAL;
                d.has_point = true;
                for (; is_digit(*p); p++)
                        if (d.fraction_digits < DECIMAL_FRACTION_DIGITS_MAX) {
                                d.fraction = d.fraction * 10 + (uint64_t) (*p - '0');
                                d.fraction_digits++;
                        }
        }
        *pp = p;
        if (overflow)
                return -ERANGE;
        *ret = d;
        return 0;
}

/* @d × @factor, rounded down, without overflowing on the way. */
static int decimal_scale(const struct decimal *d, uint64_t factor, uint64_t *ret) {
        uint64_t scale = pow10_u64(d->fraction_digits);
        uint64_t whole, part;

        if (__builtin_mul_overflow(d->integer, factor, &whole))
                return -ERANGE;
        /* fraction × factor / scale, split so that nothing overflows:
         * factor = q × scale + r with r < scale ≤ 10^9, fraction < 10^9. */
        if (__builtin_mul_overflow(d->fraction, factor / scale, &part))
                return -ERANGE;
        part += d->fraction * (factor % scale) / scale;
        if (__builtin_add_overflow(whole, part, ret))
                return -ERANGE;
        return 0;
}

static double decimal_to_double(const struct decimal *d) {
        uint64_t scale = pow10_u64(d->fraction_digits);
        uint64_t mantissa;

        /* One correctly rounded division when the digits fit a double
         * exactly, so "0.6" gives the same value as the C literal 0.6. */
        if (!__builtin_mul_overflow(d->integer, scale, &mantissa) &&
            !__builtin_add_overflow(mantissa, d->fraction, &mantissa) &&
            mantissa <= (UINT64_C(1) << 53))
                return (double) mantissa / (double) scale;
        return (double) d->integer + (double) d->fraction / (double) scale;
}

/* Reads up to UNIT_NAME_MAX letters into @buf; -EINVAL if there are more. */
static int unit_scan(const char **pp, char buf[static UNIT_NAME_MAX + 1]) {
        const char *p = *pp;
        size_t n = 0;

        for (; is_alpha(*p); p++) {
                if (n >= UNIT_NAME_MAX)
                        return -EINVAL;
                buf[n++] = *p;
        }
        buf[n] = '\0';
        *pp = p;
        return 0;
}

int config_duration_scan(const char *s, uint64_t *ret_usec, const char **ret_reason) {
        const char *p = skip_blanks(s);
        uint64_t total = 0;
        bool any = false;
        int r;

        if (*p == '\0') {
                *ret_reason = "it is empty";
                return -EINVAL;
        }
        while (*p != '\0') {
                struct decimal d;
                char unit[UNIT_NAME_MAX + 1];
                const struct unit *u = NULL;
                uint64_t v;

                r = decimal_scan(&p, &d);
                if (r == -ERANGE) {
                        *ret_reason = "the number is too large";
                        return r;
                }
                if (r < 0) {
                        *ret_reason = "expected a number with a unit, like 10s, 5m or 1h30m";
                        return r;
                }
                p = skip_blanks(p);
                if (unit_scan(&p, unit) < 0) {
                        *ret_reason = "unknown unit (use us, ms, s, m, h, d or w)";
                        return -EINVAL;
                }
                p = skip_blanks(p);
                if (unit[0] == '\0') {
                        /* "0" needs no unit; any other bare number could mean
                         * seconds or milliseconds, so it is refused. */
                        if (!any && *p == '\0' && d.integer == 0 && d.fraction == 0)
                                break;
                        *ret_reason = any ? "a number without a unit"
                                          : "a bare number is ambiguous: give a unit (ms, s, m, h, d or w), like 10s";
                        return -EINVAL;
                }
                for (size_t i = 0; i < ELEMENTSOF(duration_units); i++)
                        if (strcmp(unit, duration_units[i].name) == 0)
                                u = &duration_units[i];
                if (!u) {
                        *ret_reason = "unknown unit (use us, ms, s, m, h, d or w)";
                        return -EINVAL;
                }
                if (decimal_scale(&d, u->factor, &v) < 0 || __builtin_add_overflow(total, v, &total)) {
                        *ret_reason = "the duration is too long";
                        return -ERANGE;
                }
                any = true;
        }
        *ret_usec = total;
        return 0;
}

int config_size_scan(const char *s, uint64_t *ret_bytes, const char **ret_reason) {
        const char *p = skip_blanks(s);
        const struct unit *u = NULL;
        char unit[UNIT_NAME_MAX + 1];
        struct decimal d;
        int r;

        r = decimal_scan(&p, &d);
        if (r == -ERANGE) {
                *ret_reason = "the number is too large";
                return r;
        }
        if (r < 0) {
                *ret_reason = "expected a size, like 4096, 64KiB or 4MiB";
                return r;
        }
        p = skip_blanks(p);
        if (unit_scan(&p, unit) < 0) {
                *ret_reason = "unknown unit (use K, KiB, M, MiB, G, GiB, T or TiB)";
                return -EINVAL;
        }
        p = skip_blanks(p);
        for (size_t i = 0; i < ELEMENTSOF(size_units); i++)
                if (strcasecmp(unit, size_units[i].name) == 0)
                        u = &size_units[i];
        if (!u || *p != '\0') {
                *ret_reason = "unknown unit (use K, KiB, M, MiB, G, GiB, T or TiB)";
                return -EINVAL;
        }
        if (d.has_point && u->factor == 1) {
                *ret_reason = "a number of bytes must be whole";
                return -EINVAL;
        }
        if (decimal_scale(&d, u->factor, ret_bytes) < 0) {
                *ret_reason = "the size is too large";
                return -ERANGE;
        }
        return 0;
}

int config_parse_duration(const char *s, uint64_t *ret_usec) {
        const char *reason;
        uint64_t v;
        int r;

        if (!s)
                return -EINVAL;
        r = config_duration_scan(s, &v, &reason);
        if (r < 0)
                return r;
        *ret_usec = v;
        return 0;
}

int config_parse_size(const char *s, uint64_t *ret_bytes) {
        const char *reason;
        uint64_t v;
        int r;

        if (!s)
                return -EINVAL;
        r = config_size_scan(s, &v, &reason);
        if (r < 0)
                return r;
        *ret_bytes = v;
        return 0;
}

const char *config_format_duration(uint64_t usec, char *buf, size_t size) {
        static const struct unit units[] = {
                { "d", USEC_PER_DAY }, { "h", USEC_PER_HOUR }, { "m", USEC_PER_MIN },
                { "s", USEC_PER_SEC }, { "ms", USEC_PER_MSEC }, { "us", 1 },
        };
        size_t n = 0;

        if (size == 0)
                return buf;
        buf[0] = '\0';
        if (usec == 0) {
                snprintf(buf, size, "0");
                return buf;
        }
        for (size_t i = 0; i < ELEMENTSOF(units) && n < size; i++) {
                uint64_t q = usec / units[i].factor;
                int k;

                if (q == 0)
                        continue;
                usec %= units[i].factor;
                k = snprintf(buf + n, size - n, "%" PRIu64 "%s", q, units[i].name);
                if (k < 0)
                        break;
                n += (size_t) k;
        }
        return buf;
}

const char *config_format_size(uint64_t bytes, char *buf, size_t size) {
        static const struct unit units[] = {
                { "TiB", TIB }, { "GiB", GIB }, { "MiB", MIB }, { "KiB", KIB },
        };

        if (size == 0)
                return buf;
        if (bytes != 0)
                for (size_t i = 0; i < ELEMENTSOF(units); i++)
                        if (bytes % units[i].factor == 0) {
                                snprintf(buf, size, "%" PRIu64 "%s", bytes / units[i].factor, units[i].name);
                                return buf;
                        }
        snprintf(buf, size, "%" PRIu64, bytes);
        return buf;
}

int config_whole_scan(const char *v, uint64_t *ret) {
        const char *s = skip_blanks(v);
        struct decimal d;
        int r = decimal_scan(&s, &d);

        if (r == -ERANGE)
                return r;
        if (r < 0 || d.has_point || *skip_blanks(s) != '\0')
                return -EINVAL;
        *ret = d.integer;
        return 0;
}

int config_bool_scan(const char *v, bool *ret) {
        static const char *const yes[] = { "true", "yes", "on" };
        static const char *const no[] = { "false", "no", "off" };

        for (size_t i = 0; i < ELEMENTSOF(yes); i++) {
                if (strcasecmp(v, yes[i]) == 0) {
                        *ret = true;
                        return 0;
                }
                if (strcasecmp(v, no[i]) == 0) {
                        *ret = false;
                        return 0;
                }
        }
        return -EINVAL;
}

int config_number_scan(const char *v, bool percent, double *ret) {
        const char *s = skip_blanks(v);
        struct decimal d;
        int r;

        r = decimal_scan(&s, &d);
        if (r < 0)
                return r;
        s = skip_blanks(s);
        if (percent && *s == '%')
                s = skip_blanks(s + 1);
        if (*s != '\0')
                return -EINVAL;
        *ret = decimal_to_double(&d);
        return 0;
}
