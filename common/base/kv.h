/*
 * kv.h — "key = value" lines: the syntax of walship.conf (postgresql.conf's)
 * and of the repository's descriptors.
 *
 *     # comment
 *     key = value             # bare value: up to a blank, '#' or quote
 *     key = 'it''s quoted'    # '...' or "...": doubled quote, \b \f \n \r \t,
 *     key 'the = is optional' #   any other \c stands for c
 *
 * Parsing is in place and allocates nothing: the caller owns the text,
 * reports errors in its own words (kv_parse says what is wrong and where)
 * and decides which keys exist.  Secrets may pass through: nothing here
 * logs or copies.
 */
#ifndef WS_KV_H
#define WS_KV_H

#include <stdbool.h>
#include <stddef.h>

/* Lines of a text, split in place. */
struct kv_lines
{
    char       *p;
    char       *end;
    int         lineno;         /* of the line last returned, from 1 */
};

/* Iterate over text[0..len); text[len] must be '\0' (file_read_small's buffers are). */
void        kv_lines_init(struct kv_lines *it, char *text, size_t len);

/*
 * The next line with its '\n' replaced by '\0', and its length in *len
 * (a NUL byte inside the line makes strlen shorter than *len: check if it
 * matters).  NULL after the last line.  A final line without '\n' counts.
 */
char       *kv_lines_next(struct kv_lines *it, size_t *len);

/* Flags for kv_parse. */
#define KV_BARE_TO_EOL  0x1     /* a bare value runs to the end of the line (blanks at the
                                 * end trimmed, '#' and quotes in it kept): for descriptors
                                 * whose values hold spaces */
#define KV_HEX_ESCAPES  0x2     /* \xHH in a quoted value is that byte */

enum kv_status
{
    KV_OK = 0,
    KV_EMPTY,               /* blank or comment line: nothing to do */
    KV_BAD_KEY,             /* no key where one must start, or a key followed by a character
                             * that may not follow it: see kv_pair.at */
    KV_NO_VALUE,            /* a key and nothing after it (but a comment) */
    KV_UNTERMINATED,        /* a quoted value without its closing quote */
    KV_TRAILING             /* something after the value: see kv_pair.at */
};

struct kv_pair
{
    char       *key;            /* not NUL-terminated: keylen bytes */
    size_t      keylen;         /* 0 when the line has no key (KV_BAD_KEY) */
    char       *value;          /* KV_OK: NUL-terminated, unquoted, unescaped */
    bool        quoted;
    char       *at;             /* KV_BAD_KEY, KV_TRAILING: where the trouble starts */
};

/*
 * Parse one line in place (quoted values are unescaped where they stand).
 * A key is [A-Za-z_][A-Za-z0-9_]*.  The key is filled in as soon as it is
 * read, so a caller can reject an unknown key before reporting what is
 * wrong with its value.
 */
enum kv_status kv_parse(char *line, unsigned flags, struct kv_pair *out);

/* The blanks kv_parse skips: space, \t, \r, \n, \f, \v. */
bool        kv_is_blank(char c);

#endif
