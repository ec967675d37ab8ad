/*
 * num.c — strict number parsing.  See num.h.
 *
 * strtoll/strtoull alone accept leading blanks, a sign on unsigned input
 * (wrapping "-1" to UINT64_MAX) and trailing junk; these wrappers refuse
 * all three and report overflow as a syntax error, so "99999999999999999999"
 * never passes for a large number.
 */
#include "num.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct num_unit size_units[] = {
    {"", 1}, {"B", 1}, {"kB", 1024}, {"MB", 1024 * 1024}, {"GB", 1024ULL * 1024 * 1024},
    {"TB", 1024ULL * 1024 * 1024 * 1024}, {NULL, 0}
};

static const struct num_unit duration_units[] = {
    {"", 1}, {"s", 1}, {"min", 60}, {"h", 3600}, {"d", 86400}, {"w", 7 * 86400},
    {"y", 365 * 86400}, {NULL, 0}
};

static const struct num_unit percent_units[] = {{"", 1}, {"%", 1}, {NULL, 0}};

int
num_parse_int(const char *s, int64_t min, int64_t max, int64_t *out)
{
    char       *end;
    long long   v;

    if (*s == '\0' || isspace((unsigned char) *s))
        return NUM_ESYNTAX;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0')
        return NUM_ESYNTAX;
    if (v < min || v > max)
        return NUM_ERANGE;
    *out = v;
    return 0;
}

/* The leading digits of s as a number; *end past them.  No digit or overflow: -1. */
static int
digits(const char *s, uint64_t *v, const char **end)
{
    char       *e;

    if (*s < '0' || *s > '9')
        return NUM_ESYNTAX;
    errno = 0;
    *v = strtoull(s, &e, 10);
    if (errno != 0)
        return NUM_ESYNTAX;
    *end = e;
    return 0;
}

int
num_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    uint64_t    v;
    const char *end;

    if (digits(s, &v, &end) < 0 || *end != '\0')
        return NUM_ESYNTAX;
    if (v < min || v > max)
        return NUM_ERANGE;
    *out = v;
    return 0;
}

int
num_parse_scaled(const char *s, const struct num_unit *units, uint64_t min, uint64_t max,
                 uint64_t *out)
{
    uint64_t    v;
    const char *end;

    if (digits(s, &v, &end) < 0)
        return NUM_ESYNTAX;
    while (*end == ' ')
        end++;
    for (const struct num_unit *u = units; u->name != NULL; u++)
        if (strcmp(end, u->name) == 0)
        {
            if (v > UINT64_MAX / u->mult)
                return NUM_ESYNTAX;
            v *= u->mult;
            if (v < min || v > max)
                return NUM_ERANGE;
            *out = v;
            return 0;
        }
    return NUM_ESYNTAX;
}

int
num_parse_size(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    return num_parse_scaled(s, size_units, min, max, out);
}

const char *
num_format_size(uint64_t bytes, char *buf, size_t size)
{
    const struct num_unit *best = &size_units[0];

    for (const struct num_unit *u = size_units; u->name != NULL; u++)
        if (bytes != 0 && bytes % u->mult == 0 && u->mult > best->mult)
            best = u;
    snprintf(buf, size, "%" PRIu64 "%s", bytes / best->mult, best->name);
    return buf;
}

int
num_parse_duration(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    return num_parse_scaled(s, duration_units, min, max, out);
}

int
num_parse_percent(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    return num_parse_scaled(s, percent_units, min, max, out);
}

const char *
num_format_duration(uint64_t seconds, char *buf, size_t size)
{
    const struct num_unit *best = &duration_units[1];

    for (const struct num_unit *u = duration_units + 1; u->name != NULL; u++)
        if (seconds != 0 && seconds % u->mult == 0 && u->mult > best->mult)
            best = u;
    snprintf(buf, size, "%" PRIu64 "%s", seconds / best->mult, best->name);
    return buf;
}
