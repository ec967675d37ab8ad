/*
 * timeline.c — timeline history files: reading one from the repository and
 * parsing it.  See timeline.h.
 */
#include "timeline.h"
#include "pg.h"
#include "wal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
timeline_history_parse(const char *text, const char *what, struct timeline_history_entry **out,
                       struct ws_err *err)
{
    struct timeline_history_entry *v = NULL;
    int         n = 0;
    int         lineno = 0;
    const char *line = text;

    *out = NULL;
    while (*line != '\0')
    {
        const char *eol = strchr(line, '\n');
        size_t      ll = eol ? (size_t) (eol - line) : strlen(line);
        char        buf[256];
        char        lsn[64];
        unsigned long tli;
        char       *p;

        lineno++;
        snprintf(buf, sizeof(buf), "%.*s", (int) (ll < sizeof(buf) - 1 ? ll : sizeof(buf) - 1), line);
        line = eol ? eol + 1 : line + ll;
        p = buf;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '\0' || *p == '#' || *p == '\r')
            continue;
        if (sscanf(p, "%lu %63s", &tli, lsn) != 2 || tli == 0 || tli > UINT32_MAX)
            goto bad;
        {
            struct timeline_history_entry *nv = realloc(v, sizeof(*nv) * (size_t) (n + 1));

            if (nv == NULL)
            {
                free(v);
                return err_set(err, WS_EINTERNAL, "out of memory");
            }
            v = nv;
        }
        v[n].tli = (uint32_t) tli;
        if (pg_lsn_parse(lsn, &v[n].switchpoint) < 0)
            goto bad;
        if (n > 0 && v[n].tli <= v[n - 1].tli)
            goto bad;
        n++;
    }
    *out = v;
    return n;
bad:
    free(v);
    return err_set(err, WS_ECORRUPT, "timeline history file \"%s\": invalid line %d", what, lineno);
}

int
timeline_history_fetch(struct repo *repo, uint32_t tli, char **text, struct ws_err *err)
{
    char        name[32];
    char        key[REPO_KEY_MAX];
    size_t      len;

    *text = NULL;
    snprintf(name, sizeof(name), "%08X.history", tli);
    if (wal_repo_key(name, key, sizeof(key)) < 0)
        return err_set(err, WS_EINTERNAL, "no repository key for \"%s\"", name);
    if (repo_get_buffer(repo, key, TIMELINE_HISTORY_MAX, "timeline history file", text, &len,
                        err) == 0)
        return 1;
    if (err->code != WS_ENOTFOUND)
        return -1;
    err_clear(err);
    return 0;
}
