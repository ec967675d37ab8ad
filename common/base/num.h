/*
 * num.h — numbers from text, strictly: the whole string, no blanks, no
 * silent wrap-around.  The one home of integer, range and size parsing for
 * the configuration, the command line and the descriptor readers.
 *
 * Every parser returns 0, NUM_ESYNTAX (-1) when the text is not such a
 * number (empty, leading blank, trailing junk, too large for the type) or
 * NUM_ERANGE (-2) when it is one outside [min, max]; *out is written only
 * on success.  Nothing here allocates or logs.
 */
#ifndef WS_NUM_H
#define WS_NUM_H

#include <stddef.h>
#include <stdint.h>

#define NUM_ESYNTAX (-1)
#define NUM_ERANGE  (-2)

/* A decimal integer with an optional sign ("-5", "+5"). */
int         num_parse_int(const char *s, int64_t min, int64_t max, int64_t *out);

/* A decimal integer of digits only: no sign. */
int         num_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/* One unit a number may carry, and what it multiplies by. */
struct num_unit
{
    const char *name;           /* "MB"; "" for none */
    uint64_t    mult;
};

/*
 * Digits, optional spaces, then one of units (a {NULL, 0}-terminated
 * table; matched case-sensitively, so kB is not KB): the product, checked
 * for overflow, within [min, max].
 */
int         num_parse_scaled(const char *s, const struct num_unit *units, uint64_t min,
                             uint64_t max, uint64_t *out);

/* A size in bytes with PostgreSQL's units: B, kB, MB, GB, TB (1024-based), or none. */
int         num_parse_size(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/*
 * A duration in seconds: digits, optional spaces, then s, min, h, d, w (7d)
 * or y (365d) (none: seconds), e.g. "25h", "30min", "90", "7y".  Range as
 * for the others.
 */
int         num_parse_duration(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/* A percentage: digits with an optional "%" ("20%", "20"), within [min, max]. */
int         num_parse_percent(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/* seconds in the largest of s, min, h, d, w, y that divides it exactly: "25h", "90s". */
const char *num_format_duration(uint64_t seconds, char *buf, size_t size);

/* bytes in the largest of those units that divides it exactly: "5GB", "16MB", "100". */
const char *num_format_size(uint64_t bytes, char *buf, size_t size);

#endif
