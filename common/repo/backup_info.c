/*
 * backup_info.c — backup descriptors: ids and keys, the descriptor text
 * (format, parse) and its object in the repository (store, load).  See
 * backup_info.h.  Listing is catalog.c's, the choice backup_choose.c's.
 */
#include "backup_info.h"
#include "backup_time.h"
#include "pg.h"
#include "wal.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void
backup_info_free(struct backup_info *b)
{
    if (b == NULL)
        return;
    free(b->objects);
    free(b->tablespaces);
    b->objects = NULL;
    b->tablespaces = NULL;
    b->nobjects = 0;
    b->ntablespaces = 0;
}

bool
backup_id_valid(const char *s)
{
    /* YYYYMMDDTHHMMSSZ */
    if (s == NULL || strlen(s) != BACKUP_ID_LEN - 1)
        return false;
    for (int i = 0; i < 16; i++)
    {
        if (i == 8)
        {
            if (s[i] != 'T')
                return false;
        }
        else if (i == 15)
        {
            if (s[i] != 'Z')
                return false;
        }
        else if (!isdigit((unsigned char) s[i]))
            return false;
    }
    return true;
}

void
backup_id_format(int64_t t, char out[BACKUP_ID_LEN])
{
    time_t      tt = (time_t) t;
    struct tm   tm;

    gmtime_r(&tt, &tm);
    strftime(out, BACKUP_ID_LEN, "%Y%m%dT%H%M%SZ", &tm);
}

int
backup_key(const char *id, const char *name, char *buf, size_t len, struct ws_err *err)
{
    int         n = snprintf(buf, len, BACKUP_PREFIX "%s/%s", id, name);

    if (n < 0 || (size_t) n >= len)
        return err_set(err, WS_EINTERNAL, "backup key too long");
    return 0;
}

/* ---- the descriptor ------------------------------------------------------ */

struct sbuf
{
    char       *p;
    size_t      len;
    size_t      cap;
    bool        oom;
};

static void
sb_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
sb_printf(struct sbuf *b, const char *fmt, ...)
{
    va_list     ap;
    int         n;

    if (b->oom)
        return;
    for (;;)
    {
        va_start(ap, fmt);
        n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0)
        {
            b->oom = true;
            return;
        }
        if (b->p != NULL && b->len + (size_t) n < b->cap)
        {
            b->len += (size_t) n;
            return;
        }
        {
            size_t      ncap = (b->cap ? b->cap * 2 : 4096) + (size_t) n;
            char       *np = realloc(b->p, ncap);

            if (np == NULL)
            {
                b->oom = true;
                return;
            }
            b->p = np;
            b->cap = ncap;
        }
    }
}

/* Values are single-line; a quoted form keeps spaces and odd bytes. */
static void
sb_quoted(struct sbuf *b, const char *key, const char *v)
{
    sb_printf(b, "%s = '", key);
    for (const char *p = v; *p != '\0'; p++)
    {
        unsigned char c = (unsigned char) *p;

        if (c == '\'' || c == '\\')
            sb_printf(b, "\\%c", c);
        else if (c < 0x20 || c == 0x7f)
            sb_printf(b, "\\x%02x", c);
        else
            sb_printf(b, "%c", c);
    }
    sb_printf(b, "'\n");
}

char *
backup_info_format(const struct backup_info *b)
{
    struct sbuf s = {NULL, 0, 0, false};
    char        t[64];
    char        lsn[PG_LSN_LEN];

    sb_printf(&s, "# walship base backup descriptor\n");
    sb_printf(&s, "format = %d\n", BACKUP_INFO_FORMAT);
    sb_printf(&s, "id = %s\n", b->id);
    sb_quoted(&s, "label", b->label);
    sb_printf(&s, "status = complete\n");
    sb_printf(&s, "system_identifier = %" PRIu64 "\n", b->system_identifier);
    sb_printf(&s, "pg_version = %d\n", b->pg_version);
    sb_printf(&s, "start_timeline = %u\n", b->start_timeline);
    sb_printf(&s, "timeline = %u\n", b->timeline);
    pg_lsn_format(b->start_lsn, lsn, sizeof(lsn));
    sb_printf(&s, "start_lsn = %s\n", lsn);
    pg_lsn_format(b->stop_lsn, lsn, sizeof(lsn));
    sb_printf(&s, "stop_lsn = %s\n", lsn);
    /* optional when parsing: an empty name stays absent, "stop_wal = " would not parse */
    if (b->start_wal[0] != '\0')
        sb_printf(&s, "start_wal = %s\n", b->start_wal);
    if (b->stop_wal[0] != '\0')
        sb_printf(&s, "stop_wal = %s\n", b->stop_wal);
    backup_time_format(b->start_time_us, t, sizeof(t));
    sb_printf(&s, "start_time = '%s'\n", t);
    backup_time_format(b->stop_time_us, t, sizeof(t));
    sb_printf(&s, "stop_time = '%s'\n", t);
    backup_time_format(b->wal_time_us, t, sizeof(t));
    sb_printf(&s, "wal_time = '%s'\n", t);
    sb_printf(&s, "compression = %s\n", b->compression);
    sb_printf(&s, "encryption = %s\n", b->encryption);
    sb_printf(&s, "size = %" PRIu64 "\n", b->size);
    sb_printf(&s, "stored = %" PRIu64 "\n", b->stored);
    for (int i = 0; i < b->ntablespaces; i++)
    {
        char        k[64];

        snprintf(k, sizeof(k), "tablespace.%u", b->tablespaces[i].oid);
        sb_quoted(&s, k, b->tablespaces[i].location);
    }
    sb_printf(&s, "# object = name tablespace part size stored xxh64\n");
    for (int i = 0; i < b->nobjects; i++)
    {
        const struct backup_object *o = &b->objects[i];

        sb_printf(&s, "object = %s %u %u %" PRIu64 " %" PRIu64 " %016" PRIx64 "\n", o->name,
                  o->tablespace, o->part, o->size, o->stored, o->xxh64);
    }
    if (s.oom)
    {
        free(s.p);
        return NULL;
    }
    return s.p;
}

int
backup_info_add_object(struct backup_info *b, const struct backup_object *o, struct ws_err *err)
{
    struct backup_object *n = realloc(b->objects, sizeof(*n) * (size_t) (b->nobjects + 1));

    if (n == NULL)
        return err_set(err, WS_EINTERNAL, "out of memory");
    b->objects = n;
    b->objects[b->nobjects++] = *o;
    return 0;
}

int
backup_info_add_tablespace(struct backup_info *b, uint32_t oid, const char *location,
                           struct ws_err *err)
{
    struct backup_tablespace *n;

    if (strlen(location) >= sizeof(n->location))
        return err_set(err, WS_EINPUT, "tablespace location \"%s\" is too long", location);
    n = realloc(b->tablespaces, sizeof(*n) * (size_t) (b->ntablespaces + 1));
    if (n == NULL)
        return err_set(err, WS_EINTERNAL, "out of memory");
    b->tablespaces = n;
    n[b->ntablespaces].oid = oid;
    strcpy(n[b->ntablespaces].location, location);
    b->ntablespaces++;
    return 0;
}

/*
 * Parse a value: 'quoted' (with \\ escapes, only blanks after it) or bare
 * up to the end of the line, trailing blanks stripped.
 */
static int
parse_value(const char *p, char *out, size_t len)
{
    size_t      n = 0;

    if (*p != '\'')
    {
        n = strlen(p);
        while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t' || p[n - 1] == '\r'))
            n--;
        if (n >= len)
            return -1;
        memcpy(out, p, n);
        out[n] = '\0';
        return 0;
    }
    for (p++; *p != '\''; p++)
    {
        char        c = *p;

        if (c == '\0')
            return -1;
        if (c == '\\')
        {
            p++;
            if (*p == 'x' && isxdigit((unsigned char) p[1]) && isxdigit((unsigned char) p[2]))
            {
                char        hex[3] = {p[1], p[2], 0};

                c = (char) strtol(hex, NULL, 16);
                p += 2;
            }
            else if (*p == '\0')
                return -1;
            else
                c = *p;
        }
        if (n + 1 >= len)
            return -1;
        out[n++] = c;
    }
    /* nothing but blanks after the closing quote: never drop text silently */
    for (p++; *p != '\0'; p++)
        if (*p != ' ' && *p != '\t' && *p != '\r')
            return -1;
    out[n] = '\0';
    return 0;
}

static int
parse_u64(const char *s, uint64_t *out)
{
    char       *end;

    if (!isdigit((unsigned char) *s))
        return -1;
    errno = 0;
    *out = strtoull(s, &end, 10);
    return (errno != 0 || *end != '\0') ? -1 : 0;
}

int
backup_info_parse(const char *text, const char *what, struct backup_info *b, struct ws_err *err)
{
    const char *line = text;
    int         lineno = 0;
    char        key[64];
    char       *val = NULL;
    int         rc = -1;
    unsigned    seen = 0;
    enum { S_FORMAT = 1, S_ID = 2, S_SYSID = 4, S_START = 8, S_STOP = 16, S_TL = 32,
           S_STATUS = 64, S_STOPT = 128 };

    memset(b, 0, sizeof(*b));
    val = malloc(CFG_MAX_VALUE);
    if (val == NULL)
        return err_set(err, WS_EINTERNAL, "out of memory");
    while (*line != '\0')
    {
        const char *eol = strchr(line, '\n');
        size_t      ll = eol ? (size_t) (eol - line) : strlen(line);
        char        buf[CFG_MAX_VALUE + 128];
        char       *p, *k;
        uint64_t    u;

        lineno++;
        key[0] = '\0';
        if (ll >= sizeof(buf))
        {
            err_set(err, WS_ECORRUPT, "backup descriptor \"%s\": line %d is too long", what, lineno);
            goto out;
        }
        memcpy(buf, line, ll);
        buf[ll] = '\0';
        line = eol ? eol + 1 : line + ll;
        p = buf;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '#' || *p == '\0' || *p == '\r')
            continue;
        /*
         * The key: everything up to a blank or '='.  Any key this version
         * does not know (part2_size, v2.key) is ignored below.
         */
        k = p;
        while (*p != '\0' && *p != ' ' && *p != '\t' && *p != '=')
            p++;
        if ((size_t) (p - k) >= sizeof(key))
        {
            snprintf(key, sizeof(key), "%.40s...", k);
            goto syntax;
        }
        memcpy(key, k, (size_t) (p - k));
        key[p - k] = '\0';
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p++ != '=')
            goto syntax;
        while (*p == ' ' || *p == '\t')
            p++;
        if (parse_value(p, val, CFG_MAX_VALUE) < 0)
            goto syntax;

        if (strcmp(key, "format") == 0)
        {
            if (parse_u64(val, &u) < 0)
                goto syntax;
            if (u != BACKUP_INFO_FORMAT)
            {
                err_set(err, WS_ECORRUPT, "backup descriptor \"%s\" has format %s, this walship reads format %d",
                        what, val, BACKUP_INFO_FORMAT);
                err_hint(err, "Use the walship version that wrote the backup, or a newer one.");
                goto out;
            }
            b->format = (int) u;
            seen |= S_FORMAT;
        }
        else if (strcmp(key, "id") == 0)
        {
            if (!backup_id_valid(val))
                goto syntax;
            strcpy(b->id, val);
            seen |= S_ID;
        }
        else if (strcmp(key, "label") == 0)
            snprintf(b->label, sizeof(b->label), "%s", val);
        else if (strcmp(key, "status") == 0)
        {
            if (strcmp(val, "complete") != 0)
                goto syntax;
            seen |= S_STATUS;
        }
        else if (strcmp(key, "system_identifier") == 0)
        {
            if (parse_u64(val, &b->system_identifier) < 0)
                goto syntax;
            seen |= S_SYSID;
        }
        else if (strcmp(key, "pg_version") == 0)
        {
            if (parse_u64(val, &u) < 0 || u > 10000000)
                goto syntax;
            b->pg_version = (int) u;
        }
        else if (strcmp(key, "start_timeline") == 0 || strcmp(key, "timeline") == 0)
        {
            if (parse_u64(val, &u) < 0 || u == 0 || u > UINT32_MAX)
                goto syntax;
            if (key[0] == 's')
                b->start_timeline = (uint32_t) u;
            else
            {
                b->timeline = (uint32_t) u;
                seen |= S_TL;
            }
        }
        else if (strcmp(key, "start_lsn") == 0)
        {
            if (pg_lsn_parse(val, &b->start_lsn) < 0)
                goto syntax;
            seen |= S_START;
        }
        else if (strcmp(key, "stop_lsn") == 0)
        {
            if (pg_lsn_parse(val, &b->stop_lsn) < 0)
                goto syntax;
            seen |= S_STOP;
        }
        else if (strcmp(key, "start_wal") == 0 || strcmp(key, "stop_wal") == 0)
        {
            if (strlen(val) != 24)
                goto syntax;
            strcpy(key[2] == 'a' ? b->start_wal : b->stop_wal, val);
        }
        else if (strcmp(key, "start_time") == 0 || strcmp(key, "stop_time") == 0 ||
                 strcmp(key, "wal_time") == 0)
        {
            int64_t     t;
            struct ws_err terr = WS_ERR_INIT;

            if (backup_time_parse(val, &t, &terr) < 0)
                goto syntax;
            if (strcmp(key, "start_time") == 0)
                b->start_time_us = t;
            else if (strcmp(key, "stop_time") == 0)
            {
                b->stop_time_us = t;
                seen |= S_STOPT;
            }
            else
                b->wal_time_us = t;
        }
        else if (strcmp(key, "compression") == 0)
            snprintf(b->compression, sizeof(b->compression), "%s", val);
        else if (strcmp(key, "encryption") == 0)
            snprintf(b->encryption, sizeof(b->encryption), "%s", val);
        else if (strcmp(key, "size") == 0)
        {
            if (parse_u64(val, &b->size) < 0)
                goto syntax;
        }
        else if (strcmp(key, "stored") == 0)
        {
            if (parse_u64(val, &b->stored) < 0)
                goto syntax;
        }
        else if (strncmp(key, "tablespace.", 11) == 0)
        {
            if (parse_u64(key + 11, &u) < 0 || u == 0 || u > UINT32_MAX)
                goto syntax;
            if (backup_info_add_tablespace(b, (uint32_t) u, val, err) < 0)
                goto out;
        }
        else if (strcmp(key, "object") == 0)
        {
            struct backup_object o;
            unsigned    ts, part;
            int         used = 0;

            memset(&o, 0, sizeof(o));
            if (sscanf(val, "%63s %u %u %" SCNu64 " %" SCNu64 " %" SCNx64 "%n", o.name, &ts,
                       &part, &o.size, &o.stored, &o.xxh64, &used) != 6 ||
                val[used] != '\0' || o.name[0] == '.' || strchr(o.name, '/') != NULL)
                goto syntax;
            o.tablespace = ts;
            o.part = part;
            if (backup_info_add_object(b, &o, err) < 0)
                goto out;
        }
        /* unknown keys: written by a newer walship of the same format; ignored */
        continue;
syntax:
        err_set(err, WS_ECORRUPT, "backup descriptor \"%s\": invalid line %d (key \"%s\")", what,
                lineno, key);
        goto out;
    }
    {
        static const struct { unsigned bit; const char *name; } required[] = {
            {S_FORMAT, "format"}, {S_ID, "id"}, {S_SYSID, "system_identifier"},
            {S_START, "start_lsn"}, {S_STOP, "stop_lsn"}, {S_TL, "timeline"},
            {S_STATUS, "status"}, {S_STOPT, "stop_time"}};

        for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++)
            if (!(seen & required[i].bit))
            {
                err_set(err, WS_ECORRUPT, "backup descriptor \"%s\" is incomplete: no \"%s\"",
                        what, required[i].name);
                goto out;
            }
    }
    if (b->start_timeline == 0)
        b->start_timeline = b->timeline;
    b->complete = true;
    rc = 0;
out:
    free(val);
    if (rc < 0)
        backup_info_free(b);
    return rc;
}

/* ---- in the repository ---------------------------------------------------- */

int
backup_info_store(struct repo *repo, const struct backup_info *b, struct ws_err *err)
{
    struct repo_put p;
    char        key[REPO_KEY_MAX];
    char       *text = NULL;
    int         rc;

    if (backup_key(b->id, BACKUP_INFO_NAME, key, sizeof(key), err) < 0)
        return -1;
    text = backup_info_format(b);
    if (text == NULL)
        return err_set(err, WS_EINTERNAL, "out of memory");
    repo_put_init(&p, NULL);    /* small text: not compressed */
    p.metadata = true;          /* never in an archive storage class */
    p.size_hint = strlen(text);
    p.size_exact = true;
    rc = repo_put_buffer(repo, key, &p, text, strlen(text), NULL, err);
    free(text);
    return rc;
}

int
backup_info_load(struct repo *repo, const char *id, struct backup_info *b, struct ws_err *err)
{
    char        key[REPO_KEY_MAX];
    size_t      len;
    char       *text = NULL;
    int         rc = -1;

    memset(b, 0, sizeof(*b));
    if (!backup_id_valid(id))
        return err_set(err, WS_EINPUT, "\"%s\" is not a backup id", id);
    if (backup_key(id, BACKUP_INFO_NAME, key, sizeof(key), err) < 0)
        return -1;
    if (repo_get_buffer(repo, key, BACKUP_INFO_MAX, "backup descriptor", &text, &len, err) < 0)
        goto out;
    if (strlen(text) != len)
    {
        err_set(err, WS_ECORRUPT, "backup descriptor \"%s\" contains a NUL byte", key);
        goto out;
    }
    if (backup_info_parse(text, key, b, err) < 0)
        goto out;
    if (strcmp(b->id, id) != 0)
    {
        err_set(err, WS_ECORRUPT, "backup descriptor \"%s\" describes backup %s", key, b->id);
        backup_info_free(b);
        goto out;
    }
    rc = 0;
out:
    free(text);
    return rc;
}
