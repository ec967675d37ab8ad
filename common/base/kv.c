/*
 * kv.c — "key = value" lines.  See kv.h.
 *
 * The quoting follows postgresql.conf (guc-file.l: doubled quotes and the
 * C-style escapes GUC_scanstr knows, except octal), so a value walship
 * prints with --print-config reads back unchanged.
 */
#include "kv.h"

#include <ctype.h>
#include <string.h>

void
kv_lines_init(struct kv_lines *it, char *text, size_t len)
{
    it->p = text;
    it->end = text + len;
    it->lineno = 0;
}

char *
kv_lines_next(struct kv_lines *it, size_t *len)
{
    char       *line = it->p;
    char       *nl;

    if (it->p >= it->end)
        return NULL;
    nl = memchr(line, '\n', (size_t) (it->end - line));
    if (nl == NULL)
        nl = it->end;           /* the '\0' after the text */
    *nl = '\0';
    *len = (size_t) (nl - line);
    it->p = nl + 1;
    it->lineno++;
    return line;
}

bool
kv_is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

static char *
skip_blanks(char *p)
{
    while (kv_is_blank(*p))
        p++;
    return p;
}

static int
hex(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char) tolower((unsigned char) c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/*
 * Unescape the quoted value at *pp (its opening quote) in place: on success
 * *pp is past the closing quote and the value, NUL-terminated, starts at
 * the returned pointer; NULL if the quote is not closed.
 */
static char *
unquote(char **pp, unsigned flags)
{
    char        quote = **pp;
    char       *in = *pp + 1;
    char       *start = in;
    char       *out = in;

    for (;;)
    {
        char        c = *in;

        if (c == '\0' || (c == '\\' && in[1] == '\0'))
            return NULL;
        if (c == quote && in[1] == quote)
        {
            *out++ = quote;
            in += 2;
        }
        else if (c == quote)
        {
            in++;
            break;
        }
        else if (c == '\\')
        {
            if ((flags & KV_HEX_ESCAPES) && in[1] == 'x' && hex(in[2]) >= 0 && hex(in[3]) >= 0)
            {
                *out++ = (char) (hex(in[2]) * 16 + hex(in[3]));
                in += 4;
                continue;
            }
            switch (in[1])
            {
                case 'b': *out++ = '\b'; break;
                case 'f': *out++ = '\f'; break;
                case 'n': *out++ = '\n'; break;
                case 'r': *out++ = '\r'; break;
                case 't': *out++ = '\t'; break;
                default: *out++ = in[1]; break;
            }
            in += 2;
        }
        else
            *out++ = *in++;
    }
    /* out is at or before the closing quote, so this clobbers nothing unread */
    *out = '\0';
    *pp = in;
    return start;
}

enum kv_status
kv_parse(char *line, unsigned flags, struct kv_pair *out)
{
    char       *p = skip_blanks(line);

    memset(out, 0, sizeof(*out));
    if (*p == '\0' || *p == '#')
        return KV_EMPTY;
    if (!isalpha((unsigned char) *p) && *p != '_')
    {
        out->at = p;
        return KV_BAD_KEY;
    }
    out->key = p;
    while (isalnum((unsigned char) *p) || *p == '_')
        p++;
    out->keylen = (size_t) (p - out->key);
    if (*p != '\0' && !kv_is_blank(*p) && *p != '=' && *p != '#' && *p != '\'' && *p != '"')
    {
        out->at = p;
        return KV_BAD_KEY;
    }

    p = skip_blanks(p);
    if (*p == '=')
        p = skip_blanks(p + 1);
    if (*p == '\0' || *p == '#')
        return KV_NO_VALUE;

    if (*p == '\'' || *p == '"')
    {
        out->quoted = true;
        out->value = unquote(&p, flags);
        if (out->value == NULL)
            return KV_UNTERMINATED;
    }
    else if (flags & KV_BARE_TO_EOL)
    {
        char       *e = p + strlen(p);

        while (e > p && kv_is_blank(e[-1]))
            e--;
        *e = '\0';
        out->value = p;
        return KV_OK;
    }
    else
    {
        out->value = p;
        while (*p != '\0' && !kv_is_blank(*p) && *p != '#' && *p != '\'' && *p != '"')
            p++;
        if (*p == '#')
            *p = '\0';          /* the rest is a comment */
        else if (kv_is_blank(*p))
            *p++ = '\0';
    }

    p = skip_blanks(p);
    if (*p != '\0' && *p != '#')
    {
        out->value = NULL;
        out->at = p;
        return KV_TRAILING;
    }
    return KV_OK;
}
