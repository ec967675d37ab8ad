/*
 * backup_time.c — the timestamps of backup descriptors and recovery targets.
 * See backup_time.h.
 */
#include "backup_time.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

void
backup_time_format(int64_t us, char *buf, size_t len)
{
    time_t      t;
    struct tm   tm;
    char        base[32];
    int64_t     frac = us % 1000000;

    if (frac < 0)
        frac += 1000000;
    t = (time_t) ((us - frac) / 1000000);
    gmtime_r(&t, &tm);
    strftime(base, sizeof(base), "%Y-%m-%d %H:%M:%S", &tm);
    snprintf(buf, len, "%s.%06" PRId64 "+00", base, frac);
}

static int
digits(const char **p, int n, int *out)
{
    int         v = 0;

    for (int i = 0; i < n; i++)
    {
        if (!isdigit((unsigned char) (*p)[i]))
            return -1;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return 0;
}

int
backup_time_parse(const char *s, int64_t *us, struct ws_err *err)
{
    const char *p = s;
    struct tm   tm;
    int         y, mo, d, h, mi, sec = 0, frac = 0, fdig = 0;
    int         off = 0;
    bool        zoned = false;
    time_t      t;

    memset(&tm, 0, sizeof(tm));
    while (*p == ' ')
        p++;
    if (digits(&p, 4, &y) < 0 || *p++ != '-' || digits(&p, 2, &mo) < 0 || *p++ != '-' ||
        digits(&p, 2, &d) < 0 || (*p != ' ' && *p != 'T'))
        goto bad;
    p++;
    if (digits(&p, 2, &h) < 0 || *p++ != ':' || digits(&p, 2, &mi) < 0)
        goto bad;
    if (*p == ':')
    {
        p++;
        if (digits(&p, 2, &sec) < 0)
            goto bad;
        if (*p == '.')
        {
            p++;
            if (!isdigit((unsigned char) *p))
                goto bad;
            while (isdigit((unsigned char) *p))
            {
                if (fdig < 6)
                {
                    frac = frac * 10 + (*p - '0');
                    fdig++;
                }
                p++;
            }
            while (fdig < 6)
            {
                frac *= 10;
                fdig++;
            }
        }
    }
    while (*p == ' ')
        p++;
    if (*p == 'Z' || *p == 'z')
    {
        zoned = true;
        p++;
    }
    else if (strncmp(p, "UTC", 3) == 0)
    {
        zoned = true;
        p += 3;
    }
    else if (*p == '+' || *p == '-')
    {
        int         sign = *p == '-' ? -1 : 1;
        int         oh, om = 0;

        p++;
        if (digits(&p, 2, &oh) < 0)
            goto bad;
        if (*p == ':')
            p++;
        if (isdigit((unsigned char) *p) && digits(&p, 2, &om) < 0)
            goto bad;
        if (oh > 15 || om > 59)
            goto bad;
        off = sign * (oh * 3600 + om * 60);
        zoned = true;
    }
    while (*p == ' ')
        p++;
    if (*p != '\0')
        goto bad;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60 || y < 1970)
        goto bad;
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    if (zoned)
        t = timegm(&tm) - off;
    else
    {
        tm.tm_isdst = -1;
        t = mktime(&tm);
    }
    if (t == (time_t) -1)
        goto bad;
    /* mktime/timegm normalise 31 February into March: refuse instead */
    {
        struct tm   chk;
        time_t      local = zoned ? t + off : t;

        if (zoned)
            gmtime_r(&local, &chk);
        else
            localtime_r(&local, &chk);
        if (chk.tm_mday != d || chk.tm_mon != mo - 1)
            goto bad;
    }
    *us = (int64_t) t * 1000000 + frac;
    return 0;
bad:
    err_set(err, WS_EINPUT, "invalid timestamp \"%s\"", s);
    err_hint(err, "Use the form 'YYYY-MM-DD HH:MM:SS[.ffffff][+HH:MM]', for example '2026-12-03 14:05:00+00'.");
    return -1;
}
