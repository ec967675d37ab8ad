/*
 * pgconf_quote.c — quoting for PostgreSQL configuration values and the
 * commands PostgreSQL runs.  See pgconf_quote.h for the three readers a
 * restore_command passes through.
 */
#include "pgconf_quote.h"

#include <stdbool.h>
#include <string.h>

/* An output position in a caller's buffer; the first overflow sticks. */
struct out
{
    char       *buf;
    size_t      len;
    size_t      n;
    bool        full;
};

static void
out_put(struct out *o, const char *s)
{
    size_t      k = strlen(s);

    if (o->full || k >= o->len - o->n)
    {
        o->full = true;
        return;
    }
    memcpy(o->buf + o->n, s, k + 1);
    o->n += k;
}

static void
out_putc(struct out *o, char c)
{
    char        s[2] = {c, '\0'};

    out_put(o, s);
}

static void
out_begin(struct out *o, char *buf, size_t len)
{
    o->buf = buf;
    o->len = len;
    o->n = len > 0 ? strnlen(buf, len) : 0;
    o->full = len == 0 || o->n == len;     /* no room, or no NUL to append at */
}

/* Undo a failed append, so that buf is as it was. */
static int
out_end(struct out *o, size_t start, struct ws_err *err)
{
    if (!o->full)
        return 0;
    if (start < o->len)
        o->buf[start] = '\0';
    return err_set(err, WS_ECONFIG, "quoted text would be longer than %zu bytes", o->len - 1);
}

/*
 * Characters that mean nothing to /bin/sh anywhere in a word.  '=' means
 * something only after a leading NAME (an assignment), which bare() refuses.
 * '%' is plain to the shell; placeholders are a separate layer.
 */
static bool
shell_plain(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
        (c != '\0' && strchr("/._-=:,+@%", c) != NULL);
}

/* May word go unquoted, in any position of a command? */
static bool
bare(const char *word)
{
    const char *p = word;

    if (*word == '\0')
        return false;
    for (; *p; p++)
        if (!shell_plain(*p))
            return false;
    /* NAME=... as the first word would set a variable instead of running it */
    p = word;
    if (*p == '_' || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z'))
    {
        while (*p == '_' || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
               (*p >= '0' && *p <= '9'))
            p++;
        if (*p == '=')
            return false;
    }
    return true;
}

/* word for /bin/sh, optionally with every % doubled as well */
static void
put_word(struct out *o, const char *word, bool percent)
{
    bool        quote = !bare(word);

    if (quote)
        out_putc(o, '\'');
    for (const char *p = word; *p; p++)
    {
        if (quote && *p == '\'')
            out_put(o, "'\\''");        /* close, an escaped quote, reopen */
        else if (percent && *p == '%')
            out_put(o, "%%");
        else
            out_putc(o, *p);
    }
    if (quote)
        out_putc(o, '\'');
}

int
pgconf_shell_quote(char *buf, size_t len, const char *word, struct ws_err *err)
{
    struct out  o;
    size_t      start;

    out_begin(&o, buf, len);
    start = o.n;
    put_word(&o, word, false);
    return out_end(&o, start, err);
}

int
pgconf_percent_escape(char *buf, size_t len, const char *text, struct ws_err *err)
{
    struct out  o;
    size_t      start;

    out_begin(&o, buf, len);
    start = o.n;
    for (const char *p = text; *p; p++)
    {
        if (*p == '%')
            out_put(&o, "%%");
        else
            out_putc(&o, *p);
    }
    return out_end(&o, start, err);
}

int
pgconf_command_word(char *buf, size_t len, const char *word, struct ws_err *err)
{
    struct out  o;
    size_t      start;

    out_begin(&o, buf, len);
    start = o.n;
    if (o.n > 0)
        out_putc(&o, ' ');
    put_word(&o, word, true);
    return out_end(&o, start, err);
}

int
pgconf_check_value(const char *key, const char *value, struct ws_err *err)
{
    size_t      n = strnlen(value, PGCONF_VALUE_MAX);

    /*
     * guc-file.l's STRING token, \'([^'\\\n]|\\.|\'\')*\', has no raw
     * newline.  GUC_scanstr would turn \n into one, but ALTER SYSTEM writes
     * values back with only ' and \ doubled (escape_single_quotes_ascii), so
     * the next ALTER SYSTEM would leave a file the server cannot parse; it
     * refuses such values itself ("must not contain a newline").
     */
    if (memchr(value, '\n', n) != NULL)
    {
        err_set(err, WS_ECONFIG, "the value for \"%s\" contains a newline, which a PostgreSQL "
                "configuration file cannot hold", key);
        err_detail(err, "ALTER SYSTEM refuses such values too: the file would not survive its next rewrite.");
        return -1;
    }
    if (n >= PGCONF_VALUE_MAX)
        return err_set(err, WS_ECONFIG, "the value for \"%s\" is too long (at most %d bytes)", key,
                       PGCONF_VALUE_MAX - 1);
    return 0;
}

int
pgconf_quote_value(char *buf, size_t len, const char *key, const char *value, struct ws_err *err)
{
    struct out  o;
    size_t      start;

    if (pgconf_check_value(key, value, err) < 0)
        return -1;
    out_begin(&o, buf, len);
    start = o.n;
    /*
     * Inside '...' GUC_scanstr reads '' as ' and a backslash as an escape
     * (\b \f \n \r \t, octal, else the next character itself), so doubling
     * both is enough; every other byte, \r and \t included, stands for
     * itself.  This is what ALTER SYSTEM writes, so the line survives it.
     */
    out_putc(&o, '\'');
    for (const char *p = value; *p; p++)
    {
        if (*p == '\'')
            out_put(&o, "''");
        else if (*p == '\\')
            out_put(&o, "\\\\");
        else
            out_putc(&o, *p);
    }
    out_putc(&o, '\'');
    return out_end(&o, start, err);
}
