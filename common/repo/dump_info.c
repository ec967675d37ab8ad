/*
 * dump_info.c — dump names, keys and descriptors.  See dump_info.h.
 */
#include "dump_info.h"

#include "backup_time.h"
#include "kv.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
dump_name_check(const char *name, struct ws_err *err)
{
    size_t      n = strlen(name);

    if (n == 0 || n > DUMP_NAME_MAX)
    {
        if (err != NULL)
        {
            err_set(err, WS_EINPUT, "invalid dump name \"%.*s%s\": it must be 1 to %d characters",
                    64, name, n > 64 ? "..." : "", DUMP_NAME_MAX);
            err_hint(err, "Use letters, digits, '.', '_' and '-', as in \"daily-2026-12-04\".");
        }
        return -1;
    }
    for (size_t i = 0; i < n; i++)
    {
        char        c = name[i];

        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '_' || ((c == '.' || c == '-') && i > 0))
            continue;
        if (err != NULL)
        {
            if (c == '.' || c == '-')
                err_set(err, WS_EINPUT, "invalid dump name \"%s\": it must not start with '%c'",
                        name, c);
            else
                err_set(err, WS_EINPUT, "invalid dump name \"%.*s%s\": character %zu is not "
                        "allowed", 64, name, n > 64 ? "..." : "", i + 1);
            err_hint(err, "Use letters, digits, '.', '_' and '-', as in \"daily-2026-12-04\".");
        }
        return -1;
    }
    return 0;
}

int
dump_key(const char *name, const char *what, char *buf, size_t len, struct ws_err *err)
{
    int         n = snprintf(buf, len, DUMP_PREFIX "%s/%s", name, what);

    if (n < 0 || (size_t) n >= len)
        return err_set(err, WS_EINTERNAL, "dump key too long");
    return 0;
}

char *
dump_info_format(const struct dump_info *d)
{
    size_t      cap = 2048;
    char       *s = malloc(cap);
    char        t1[64], t2[64];
    int         n;

    if (s == NULL)
        return NULL;
    backup_time_format(d->start_time_us, t1, sizeof(t1));
    backup_time_format(d->end_time_us, t2, sizeof(t2));
    /* every value is of a known character set (name, database: see ops_dump.c) */
    n = snprintf(s, cap,
                 "# walship logical dump descriptor\n"
                 "format = %d\n"
                 "name = %s\n"
                 "start_time = '%s'\n"
                 "end_time = '%s'\n"
                 "size = %" PRIu64 "\n"
                 "stored = %" PRIu64 "\n"
                 "xxh64 = %016" PRIx64 "\n"
                 "sha256 = %s\n"
                 "system_identifier = %" PRIu64 "\n"
                 "database = '%s'\n"
                 "pg_dump_format = %s\n"
                 "compression = %s\n"
                 "encryption = %s\n",
                 DUMP_INFO_FORMAT, d->name, t1, t2, d->size, d->stored, d->xxh64, d->sha256,
                 d->system_identifier, d->database, d->pg_dump_format, d->compression,
                 d->encryption);
    if (n < 0 || (size_t) n >= cap)
    {
        free(s);
        return NULL;
    }
    return s;
}

static int
parse_u64(const char *s, int base, uint64_t *out)
{
    char       *end;

    if (*s == '\0' || *s == '-' || *s == '+')
        return -1;
    *out = strtoull(s, &end, base);
    return *end == '\0' ? 0 : -1;
}

static int
copy_value(char *dst, size_t len, const char *v)
{
    if (strlen(v) >= len)
        return -1;
    strcpy(dst, v);
    return 0;
}

/*
 * The values dump_info_format writes unquoted are words; the database name
 * is written between quotes.  A value outside those sets would format into
 * a descriptor that does not parse back, so it is damage (fuzz_records.c).
 */
static bool
word_ok(const char *v)
{
    return v[0] != '\0' && strspn(v, "abcdefghijklmnopqrstuvwxyz0123456789-_") == strlen(v);
}

static bool
quoted_ok(const char *v)
{
    for (const unsigned char *p = (const unsigned char *) v; *p != '\0'; p++)
        if (*p < 0x20 || *p == 0x7f || *p == '\'' || *p == '\\')
            return false;
    return true;
}

int
dump_info_parse(char *text, const char *what, struct dump_info *d, struct ws_err *err)
{
    struct kv_lines it;
    size_t      len;
    char       *line;
    unsigned    seen = 0;
    enum { S_FORMAT = 1, S_NAME = 2, S_TIME = 4, S_SIZE = 8, S_SHA = 16, S_XXH = 32,
           S_WORDS = 64 };          /* and 128, 256: pg_dump_format, compression, encryption */

    memset(d, 0, sizeof(*d));
    kv_lines_init(&it, text, strlen(text));
    while ((line = kv_lines_next(&it, &len)) != NULL)
    {
        struct kv_pair kv;
        enum kv_status st = kv_parse(line, 0, &kv);
        char        key[32];
        const char *v;
        uint64_t    u = 0;
        int         bad = 0;

        if (st == KV_EMPTY)
            continue;
        if (st != KV_OK || kv.keylen >= sizeof(key))
            return err_set(err, WS_ECORRUPT, "dump descriptor \"%s\": syntax error in line %d",
                           what, it.lineno);
        memcpy(key, kv.key, kv.keylen);
        key[kv.keylen] = '\0';
        v = kv.value;
        if (strcmp(key, "format") == 0)
        {
            bad = parse_u64(v, 10, &u) < 0 || u != DUMP_INFO_FORMAT;
            d->format = (int) u;
            seen |= S_FORMAT;
        }
        else if (strcmp(key, "name") == 0)
        {
            bad = dump_name_check(v, NULL) < 0 || copy_value(d->name, sizeof(d->name), v) < 0;
            seen |= S_NAME;
        }
        else if (strcmp(key, "start_time") == 0 || strcmp(key, "end_time") == 0)
        {
            struct ws_err e2 = WS_ERR_INIT;

            bad = backup_time_parse(v, key[0] == 's' ? &d->start_time_us : &d->end_time_us,
                                    &e2) < 0;
            seen |= key[0] == 's' ? S_TIME : 0;
        }
        else if (strcmp(key, "size") == 0)
        {
            bad = parse_u64(v, 10, &d->size) < 0;
            seen |= S_SIZE;
        }
        else if (strcmp(key, "stored") == 0)
            bad = parse_u64(v, 10, &d->stored) < 0;
        else if (strcmp(key, "xxh64") == 0)
        {
            bad = strlen(v) != 16 || parse_u64(v, 16, &d->xxh64) < 0;
            seen |= S_XXH;
        }
        else if (strcmp(key, "sha256") == 0)
        {
            bad = strlen(v) != 64 || strspn(v, "0123456789abcdef") != 64 ||
                copy_value(d->sha256, sizeof(d->sha256), v) < 0;
            seen |= S_SHA;
        }
        else if (strcmp(key, "system_identifier") == 0)
            bad = parse_u64(v, 10, &d->system_identifier) < 0;
        else if (strcmp(key, "database") == 0)
            bad = !quoted_ok(v) || copy_value(d->database, sizeof(d->database), v) < 0;
        else if (strcmp(key, "pg_dump_format") == 0)
        {
            bad = !word_ok(v) || copy_value(d->pg_dump_format, sizeof(d->pg_dump_format), v) < 0;
            seen |= S_WORDS;
        }
        else if (strcmp(key, "compression") == 0)
        {
            bad = !word_ok(v) || copy_value(d->compression, sizeof(d->compression), v) < 0;
            seen |= S_WORDS << 1;
        }
        else if (strcmp(key, "encryption") == 0)
        {
            bad = !word_ok(v) || copy_value(d->encryption, sizeof(d->encryption), v) < 0;
            seen |= S_WORDS << 2;
        }
        /* other keys: written by a later version, ignored */
        if (bad)
            return err_set(err, WS_ECORRUPT, "dump descriptor \"%s\": invalid value for \"%s\" "
                           "in line %d", what, key, it.lineno);
    }
    if ((seen & (S_FORMAT | S_NAME | S_TIME | S_SIZE | S_SHA | S_XXH)) !=
        (S_FORMAT | S_NAME | S_TIME | S_SIZE | S_SHA | S_XXH))
        return err_set(err, WS_ECORRUPT, "dump descriptor \"%s\" is incomplete: it lacks one of "
                       "format, name, start_time, size, xxh64, sha256", what);
    if ((seen & (7 * S_WORDS)) != 7 * S_WORDS)
        return err_set(err, WS_ECORRUPT, "dump descriptor \"%s\" is incomplete: it lacks one of "
                       "pg_dump_format, compression, encryption", what);
    return 0;
}

int
dump_info_store(struct repo *repo, const struct dump_info *d, struct ws_err *err)
{
    struct repo_put p;
    char        key[REPO_KEY_MAX];
    char       *text;
    int         rc;

    if (dump_key(d->name, DUMP_INFO_NAME, key, sizeof(key), err) < 0)
        return -1;
    text = dump_info_format(d);
    if (text == NULL)
        return err_set(err, WS_EINTERNAL, "out of memory");
    repo_put_init(&p, NULL);    /* small text: not compressed */
    p.mode = REPO_CREATE;
    p.size_hint = strlen(text);
    p.size_exact = true;
    rc = repo_put_buffer(repo, key, &p, text, strlen(text), NULL, err);
    free(text);
    return rc;
}

int
dump_info_load(struct repo *repo, const char *name, struct dump_info *d, struct ws_err *err)
{
    char        key[REPO_KEY_MAX];
    char       *text = NULL;
    size_t      len;
    int         rc = -1;

    memset(d, 0, sizeof(*d));
    if (dump_name_check(name, err) < 0 || dump_key(name, DUMP_INFO_NAME, key, sizeof(key), err) < 0)
        return -1;
    if (repo_get_buffer(repo, key, DUMP_INFO_MAX, "dump descriptor", &text, &len, err) < 0)
        goto out;
    if (strlen(text) != len)
    {
        err_set(err, WS_ECORRUPT, "dump descriptor \"%s\" contains a NUL byte", key);
        goto out;
    }
    if (dump_info_parse(text, key, d, err) < 0)
        goto out;
    if (strcmp(d->name, name) != 0)
    {
        err_set(err, WS_ECORRUPT, "dump descriptor \"%s\" describes dump \"%s\"", key, d->name);
        goto out;
    }
    rc = 0;
out:
    free(text);
    return rc;
}
