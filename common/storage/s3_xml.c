/*
 * s3_xml.c — the little XML walship reads and writes for S3 and STS.  See s3_xml.h.
 *
 * The documents come from the network, so everything here is bounded by the
 * length the caller passes (a NUL byte is just another character, never an
 * end marker), nothing recurses, and each call is linear in the input: a
 * markup scanner steps from one '<' to the next, and an element's end is
 * found by counting same-named start and end tags.  Nothing is allocated.
 *
 * What the scanner skips: the <?xml ...?> prolog and other processing
 * instructions, comments, and a <!DOCTYPE ...> (whose entity declarations are
 * never honoured: an entity other than the five predefined ones and numeric
 * references is an error, so there is no entity expansion to abuse).  CDATA
 * sections count as text.
 */
#include "s3_xml.h"

#include <limits.h>
#include <string.h>

/* One piece of markup found by scan_markup(). */
enum markup_kind
{
    MK_START,                   /* <Name ...> */
    MK_EMPTY,                   /* <Name .../> */
    MK_END,                     /* </Name> */
    MK_CDATA,                   /* <![CDATA[ ... ]]> */
    MK_OTHER                    /* <?...?>, <!--...-->, <!DOCTYPE ...> */
};

struct markup
{
    enum markup_kind kind;
    const char *name;           /* MK_START/MK_EMPTY/MK_END */
    size_t      namelen;
    const char *end;            /* one past the closing '>' */
};

static int
is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* First occurrence of needle (nlen > 0) in [p, end), or NULL. */
static const char *
find_seq(const char *p, const char *end, const char *needle, size_t nlen)
{
    while ((size_t) (end - p) >= nlen)
    {
        const char *q = memchr(p, needle[0], (size_t) (end - p) - nlen + 1);

        if (q == NULL)
            return NULL;
        if (memcmp(q, needle, nlen) == 0)
            return q;
        p = q + 1;
    }
    return NULL;
}

static int
starts_with(const char *p, const char *end, const char *lit)
{
    size_t      n = strlen(lit);

    return (size_t) (end - p) >= n && memcmp(p, lit, n) == 0;
}

/* The closing quote of the quoted string starting at q (< end), or NULL. */
static const char *
quote_end(const char *q, const char *end)
{
    return memchr(q + 1, *q, (size_t) (end - q - 1));
}

/*
 * Parse the markup starting at p (*p == '<', p < end).  Returns 0 and fills
 * *m, or -2 if it is unterminated or not well-formed enough to step over.
 */
static int
scan_markup(const char *p, const char *end, struct markup *m)
{
    const char *q = p + 1;

    memset(m, 0, sizeof(*m));
    if (q >= end)
        return -2;

    if (*q == '?')
    {
        const char *e = find_seq(q + 1, end, "?>", 2);

        if (e == NULL)
            return -2;
        m->kind = MK_OTHER;
        m->end = e + 2;
        return 0;
    }
    if (*q == '!')
    {
        const char *e;

        if (starts_with(q, end, "!--"))
        {
            if ((e = find_seq(q + 3, end, "-->", 3)) == NULL)
                return -2;
            m->kind = MK_OTHER;
            m->end = e + 3;
            return 0;
        }
        if (starts_with(q, end, "![CDATA["))
        {
            if ((e = find_seq(q + 8, end, "]]>", 3)) == NULL)
                return -2;
            m->kind = MK_CDATA;
            m->end = e + 3;
            return 0;
        }
        /* <!DOCTYPE ...> with an optional [internal subset]: step over quoted
         * strings and one level of brackets, without looking inside. */
        {
            int         brackets = 0;

            for (e = q + 1; e < end; e++)
            {
                if (*e == '"' || *e == '\'')
                {
                    if ((e = quote_end(e, end)) == NULL)
                        return -2;
                }
                else if (*e == '[')
                    brackets++;
                else if (*e == ']' && brackets > 0)
                    brackets--;
                else if (*e == '>' && brackets == 0)
                {
                    m->kind = MK_OTHER;
                    m->end = e + 1;
                    return 0;
                }
            }
            return -2;
        }
    }

    if (*q == '/')
    {
        m->kind = MK_END;
        q++;
    }
    else
        m->kind = MK_START;

    /* the name: up to whitespace, '/' or '>' */
    m->name = q;
    while (q < end && !is_space(*q) && *q != '/' && *q != '>')
    {
        if (*q == '<' || *q == '&' || *q == '"' || *q == '\'' || *q == '=')
            return -2;
        q++;
    }
    m->namelen = (size_t) (q - m->name);
    if (m->namelen == 0 || q >= end)
        return -2;

    if (m->kind == MK_END)
    {
        while (q < end && is_space(*q))
            q++;
        if (q >= end || *q != '>')
            return -2;
        m->end = q + 1;
        return 0;
    }

    /* attributes (including xmlns="..."): skip, honouring quotes */
    for (; q < end; q++)
    {
        if (*q == '"' || *q == '\'')
        {
            if ((q = quote_end(q, end)) == NULL)
                return -2;
        }
        else if (*q == '<')
            return -2;
        else if (*q == '>')
        {
            if (q[-1] == '/')
                m->kind = MK_EMPTY;
            m->end = q + 1;
            return 0;
        }
    }
    return -2;
}

static int
name_is(const struct markup *m, const char *tag, size_t taglen)
{
    return m->namelen == taglen && memcmp(m->name, tag, taglen) == 0;
}

/*
 * Find the next element named tag in [p, end).  Returns 1 and sets the inner
 * content [*inner, *inner + *innerlen) and *after (just past the element),
 * 0 if there is none, -2 if malformed.
 */
static int
find_element(const char *p, const char *end, const char *tag, size_t taglen,
             const char **inner, size_t *innerlen, const char **after)
{
    struct markup m;

    while (p < end)
    {
        const char *lt = memchr(p, '<', (size_t) (end - p));
        int         depth;
        const char *content;

        if (lt == NULL)
            return 0;
        if (scan_markup(lt, end, &m) < 0)
            return -2;
        p = m.end;
        if ((m.kind != MK_START && m.kind != MK_EMPTY) || !name_is(&m, tag, taglen))
            continue;
        if (m.kind == MK_EMPTY)
        {
            *inner = m.end;
            *innerlen = 0;
            *after = m.end;
            return 1;
        }

        /* the matching end tag: count nested elements of the same name */
        content = m.end;
        depth = 1;
        while (p < end)
        {
            lt = memchr(p, '<', (size_t) (end - p));
            if (lt == NULL)
                break;
            if (scan_markup(lt, end, &m) < 0)
                return -2;
            p = m.end;
            if (!name_is(&m, tag, taglen))
                continue;
            if (m.kind == MK_START)
            {
                if (depth == INT_MAX)
                    return -2;
                depth++;
            }
            else if (m.kind == MK_END && --depth == 0)
            {
                *inner = content;
                *innerlen = (size_t) (lt - content);
                *after = m.end;
                return 1;
            }
        }
        return -2;              /* truncated: no end tag */
    }
    return 0;
}

size_t
s3_utf8_encode(unsigned long cp, unsigned char b[4])
{
    if (cp < 0x80)
    {
        b[0] = (unsigned char) cp;
        return 1;
    }
    if (cp < 0x800)
    {
        b[0] = (unsigned char) (0xC0 | (cp >> 6));
        b[1] = (unsigned char) (0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000)
    {
        b[0] = (unsigned char) (0xE0 | (cp >> 12));
        b[1] = (unsigned char) (0x80 | ((cp >> 6) & 0x3F));
        b[2] = (unsigned char) (0x80 | (cp & 0x3F));
        return 3;
    }
    b[0] = (unsigned char) (0xF0 | (cp >> 18));
    b[1] = (unsigned char) (0x80 | ((cp >> 12) & 0x3F));
    b[2] = (unsigned char) (0x80 | ((cp >> 6) & 0x3F));
    b[3] = (unsigned char) (0x80 | (cp & 0x3F));
    return 4;
}

/* Append the UTF-8 encoding of cp to out; -2 if it does not fit. */
static int
put_utf8(unsigned long cp, char *out, size_t outlen, size_t *o)
{
    unsigned char b[4];
    size_t      n = s3_utf8_encode(cp, b);

    /* keep one byte for the terminating NUL */
    if (n >= outlen - *o)
        return -2;
    memcpy(out + *o, b, n);
    *o += n;
    return 0;
}

/*
 * Decode the entity at p (*p == '&').  Appends the character and sets *next
 * past the ';'.  Returns -2 for an unknown, malformed or out-of-range entity,
 * or when the output is full.
 */
static int
decode_entity(const char *p, const char *end, char *out, size_t outlen, size_t *o,
              const char **next)
{
    static const struct
    {
        const char *name;
        char        c;
    }           named[] = {
        {"amp", '&'}, {"lt", '<'}, {"gt", '>'}, {"quot", '"'}, {"apos", '\''}
    };
    /* the longest valid reference is "&#x10FFFF;" or a zero-padded decimal;
     * bound the search for ';' so garbage is rejected quickly */
    size_t      avail = (size_t) (end - p);
    const char *semi = memchr(p, ';', avail < 16 ? avail : 16);
    const char *s = p + 1;
    size_t      n;

    if (semi == NULL)
        return -2;
    n = (size_t) (semi - s);
    *next = semi + 1;

    if (n >= 2 && s[0] == '#')
    {
        unsigned long cp = 0;
        int         hex = (s[1] == 'x');
        size_t      i = hex ? 2 : 1;

        if (i >= n)
            return -2;
        for (; i < n; i++)
        {
            char        c = s[i];
            int         d;

            if (c >= '0' && c <= '9')
                d = c - '0';
            else if (hex && c >= 'a' && c <= 'f')
                d = c - 'a' + 10;
            else if (hex && c >= 'A' && c <= 'F')
                d = c - 'A' + 10;
            else
                return -2;
            cp = cp * (hex ? 16 : 10) + (unsigned long) d;
            if (cp > 0x10FFFF)
                return -2;
        }
        /* NUL would cut the value short; surrogates are not characters */
        if (cp == 0 || (cp >= 0xD800 && cp <= 0xDFFF))
            return -2;
        return put_utf8(cp, out, outlen, o);
    }
    for (size_t k = 0; k < sizeof(named) / sizeof(named[0]); k++)
        if (strlen(named[k].name) == n && memcmp(named[k].name, s, n) == 0)
            return put_utf8((unsigned char) named[k].c, out, outlen, o);
    return -2;
}

/*
 * Decode text content [p, end) into out.  Child elements make it -2 (the
 * caller asked for the text of an element that has structure); comments and
 * processing instructions are dropped, CDATA is copied as is.
 */
static int
decode_text(const char *p, const char *end, char *out, size_t outlen)
{
    size_t      o = 0;

    if (outlen == 0)
        return -2;
    out[0] = '\0';
    while (p < end)
    {
        if (*p == '&')
        {
            if (decode_entity(p, end, out, outlen, &o, &p) < 0)
                goto fail;
        }
        else if (*p == '<')
        {
            struct markup m;

            if (scan_markup(p, end, &m) < 0 || (m.kind != MK_OTHER && m.kind != MK_CDATA))
                goto fail;
            if (m.kind == MK_CDATA)
            {
                size_t      n = (size_t) (m.end - 3 - (p + 9));

                if (n >= outlen - o)
                    goto fail;
                memcpy(out + o, p + 9, n);
                o += n;
            }
            p = m.end;
        }
        else if (*p == '\0')
            goto fail;          /* would silently truncate the value */
        else
        {
            if (o + 1 >= outlen)
                goto fail;
            out[o++] = *p++;
        }
        if (o > INT_MAX)
            goto fail;
    }
    /* a NUL inside CDATA would also truncate */
    if (memchr(out, '\0', o) != NULL)
        goto fail;
    out[o] = '\0';
    return (int) o;

fail:
    out[0] = '\0';
    return -2;
}

int
s3_xml_text(const char *xml, size_t len, const char *tag, char *buf, size_t buflen)
{
    const char *inner;
    const char *after;
    size_t      innerlen;
    int         rc;

    if (buf != NULL && buflen > 0)
        buf[0] = '\0';
    if (xml == NULL || tag == NULL || tag[0] == '\0')
        return -1;
    rc = find_element(xml, xml + len, tag, strlen(tag), &inner, &innerlen, &after);
    if (rc == 0)
        return -1;
    if (rc < 0 || buf == NULL)
        return -2;
    return decode_text(inner, inner + innerlen, buf, buflen);
}

int
s3_xml_each(const char *xml, size_t len, const char *tag,
            int (*cb) (const char *inner, size_t innerlen, void *arg), void *arg)
{
    const char *p = xml;
    const char *end = xml + len;
    size_t      taglen;

    if (xml == NULL || tag == NULL || tag[0] == '\0' || cb == NULL)
        return 0;
    taglen = strlen(tag);
    while (p < end)
    {
        const char *inner;
        const char *after;
        size_t      innerlen;
        int         rc = find_element(p, end, tag, taglen, &inner, &innerlen, &after);

        if (rc < 0)
            return -2;
        if (rc == 0)
            break;
        if ((rc = cb(inner, innerlen, arg)) != 0)
            return rc;
        p = after;
    }
    return 0;
}

int
s3_xml_escape(const char *in, char *out, size_t outlen)
{
    size_t      o = 0;

    if (out == NULL || outlen == 0)
        return -1;
    for (const char *p = in; p != NULL && *p != '\0'; p++)
    {
        const char *rep;
        size_t      n;

        switch (*p)
        {
            case '&': rep = "&amp;"; break;
            case '<': rep = "&lt;"; break;
            case '>': rep = "&gt;"; break;
            case '"': rep = "&quot;"; break;
            case '\'': rep = "&apos;"; break;
            /* a literal CR would reach the server as LF (XML 1.0 section 2.11
             * end-of-line handling); a reference keeps the key intact */
            case '\r': rep = "&#13;"; break;
            default: rep = NULL; break;
        }
        n = rep != NULL ? strlen(rep) : 1;
        if (n >= outlen - o || o + n > INT_MAX)
        {
            out[0] = '\0';
            return -1;
        }
        if (rep != NULL)
            memcpy(out + o, rep, n);
        else
            out[o] = *p;
        o += n;
    }
    out[o] = '\0';
    return (int) o;
}

/* n decimal digits at *s (advanced); -1 if any is not a digit. */
static int
digits(const char **s, int n)
{
    int         v = 0;

    for (int i = 0; i < n; i++)
    {
        char        c = (*s)[i];

        if (c < '0' || c > '9')
            return -1;
        v = v * 10 + (c - '0');
    }
    *s += n;
    return v;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
    int64_t     era;
    int64_t     yoe;
    int64_t     doy;
    int64_t     doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

int64_t
s3_time_parse(const char *s)
{
    static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int         year, mon, day, hour, min, sec;
    int         maxday;
    int64_t     offset = 0;
    int64_t     t;

    if (s == NULL)
        return -1;
    while (is_space(*s))
        s++;
    /* digits() stops at the first non-digit, so a short string never reads past its NUL */
    if ((year = digits(&s, 4)) < 0 || *s++ != '-' ||
        (mon = digits(&s, 2)) < 0 || *s++ != '-' ||
        (day = digits(&s, 2)) < 0)
        return -1;
    if (*s != 'T' && *s != 't')
        return -1;
    s++;
    if ((hour = digits(&s, 2)) < 0 || *s++ != ':' ||
        (min = digits(&s, 2)) < 0 || *s++ != ':' ||
        (sec = digits(&s, 2)) < 0)
        return -1;
    if (year < 1970 || mon < 1 || mon > 12 || hour > 23 || min > 59 || sec > 60)
        return -1;
    maxday = mdays[mon - 1];
    if (mon == 2 && (year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)))
        maxday = 29;
    if (day < 1 || day > maxday)
        return -1;

    /* fractional seconds: any number of digits, ignored */
    if (*s == '.')
    {
        s++;
        if (*s < '0' || *s > '9')
            return -1;
        while (*s >= '0' && *s <= '9')
            s++;
    }

    if (*s == 'Z' || *s == 'z')
        s++;
    else if (*s == '+' || *s == '-')
    {
        int         sign = (*s == '-') ? -1 : 1;
        int         oh, om;

        s++;
        if ((oh = digits(&s, 2)) < 0)
            return -1;
        if (*s == ':')
            s++;
        if ((om = digits(&s, 2)) < 0 || oh > 23 || om > 59)
            return -1;
        offset = sign * (int64_t) (oh * 3600 + om * 60);
    }
    else
        return -1;

    while (is_space(*s))
        s++;
    if (*s != '\0')
        return -1;

    t = days_from_civil(year, mon, day) * 86400 + hour * 3600 + min * 60 + sec - offset;
    return t < 0 ? -1 : t;
}

int64_t
s3_http_time_parse(const char *s)
{
    static const char wdays[] = "MonTueWedThuFriSatSun";
    static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int         year, mon = -1, day, hour, min, sec;
    int         maxday;
    int         wday = -1;

    if (s == NULL)
        return -1;
    while (is_space(*s))
        s++;
    /* each field is checked before the next is read, so a short string stops at its NUL */
    for (int i = 0; i < 7 && wday < 0; i++)
        if (strncmp(s, wdays + 3 * i, 3) == 0)
            wday = i;
    if (wday < 0 || s[3] != ',' || s[4] != ' ')
        return -1;
    s += 5;
    if ((day = digits(&s, 2)) < 0 || *s++ != ' ')
        return -1;
    for (int i = 0; i < 12 && mon < 0; i++)
        if (strncmp(s, months + 3 * i, 3) == 0)
            mon = i + 1;
    if (mon < 0 || s[3] != ' ')
        return -1;
    s += 4;
    if ((year = digits(&s, 4)) < 0 || *s++ != ' ' ||
        (hour = digits(&s, 2)) < 0 || *s++ != ':' ||
        (min = digits(&s, 2)) < 0 || *s++ != ':' ||
        (sec = digits(&s, 2)) < 0 || strncmp(s, " GMT", 4) != 0)
        return -1;
    s += 4;
    while (is_space(*s))
        s++;
    if (*s != '\0' || year < 1970 || hour > 23 || min > 59 || sec > 60)
        return -1;
    maxday = mdays[mon - 1];
    if (mon == 2 && (year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)))
        maxday = 29;
    if (day < 1 || day > maxday)
        return -1;
    return days_from_civil(year, mon, day) * 86400 + hour * 3600 + min * 60 + sec;
}
