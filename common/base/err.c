/*
 * err.c — filling struct ws_err.  See err.h.
 */
#include "err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static void
append(char *buf, size_t size, const char *fmt, va_list ap)
{
    size_t      used = strlen(buf);

    if (used + 1 < size)
        vsnprintf(buf + used, size - used, fmt, ap);
}

int
err_set(struct ws_err *err, enum ws_code code, const char *fmt, ...)
{
    va_list     ap;

    if (err == NULL)
        return -1;
    err->code = code;
    err->sys_errno = 0;
    err->msg[0] = err->detail[0] = err->hint[0] = '\0';
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    return -1;
}

int
err_set_errno(struct ws_err *err, enum ws_code code, int errnum, const char *fmt, ...)
{
    va_list     ap;

    if (err == NULL)
        return -1;
    if (code == WS_OK)
    {
        switch (errnum)
        {
            case ENOENT:
                code = WS_ENOTFOUND;
                break;
            case ENOSPC:
            case EDQUOT:
                code = WS_ENOSPC;
                break;
            case EINTR:
            case EAGAIN:
                code = WS_ETRANSIENT;
                break;
            default:
                code = WS_EIO;
                break;
        }
    }
    err->code = code;
    err->sys_errno = errnum;
    err->msg[0] = err->detail[0] = err->hint[0] = '\0';
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    {
        size_t      used = strlen(err->msg);

        if (used + 3 < sizeof(err->msg))
            snprintf(err->msg + used, sizeof(err->msg) - used, ": %s", strerror(errnum));
    }
    return -1;
}

void
err_detail(struct ws_err *err, const char *fmt, ...)
{
    va_list     ap;

    if (err == NULL)
        return;
    err->detail[0] = '\0';
    va_start(ap, fmt);
    append(err->detail, sizeof(err->detail), fmt, ap);
    va_end(ap);
}

void
err_hint(struct ws_err *err, const char *fmt, ...)
{
    va_list     ap;

    if (err == NULL)
        return;
    err->hint[0] = '\0';
    va_start(ap, fmt);
    append(err->hint, sizeof(err->hint), fmt, ap);
    va_end(ap);
}

void
err_prefix(struct ws_err *err, const char *fmt, ...)
{
    char        old[sizeof(err->msg)];
    size_t      used;
    size_t      oldlen;
    va_list     ap;

    if (err == NULL)
        return;
    memcpy(old, err->msg, sizeof(old));
    old[sizeof(old) - 1] = '\0';
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    /* append ": old", truncating to fit (the message is for humans) */
    used = strlen(err->msg);
    oldlen = strlen(old);
    if (used + 3 >= sizeof(err->msg))
        return;
    memcpy(err->msg + used, ": ", 2);
    used += 2;
    if (oldlen > sizeof(err->msg) - 1 - used)
        oldlen = sizeof(err->msg) - 1 - used;
    memcpy(err->msg + used, old, oldlen);
    err->msg[used + oldlen] = '\0';
}

void
err_clear(struct ws_err *err)
{
    if (err == NULL)
        return;
    err->code = WS_OK;
    err->sys_errno = 0;
    err->msg[0] = err->detail[0] = err->hint[0] = '\0';
}

const char *
err_code_name(enum ws_code code)
{
    switch (code)
    {
        case WS_OK: return "ok";
        case WS_ENOTFOUND: return "not found";
        case WS_EEXISTS: return "exists";
        case WS_EEXISTS_DIFFERENT: return "exists with different content";
        case WS_ETRANSIENT: return "transient";
        case WS_EAUTH: return "authentication";
        case WS_ECONFIG: return "configuration";
        case WS_EIO: return "I/O";
        case WS_ECORRUPT: return "corrupt";
        case WS_EINPUT: return "bad input";
        case WS_EMISMATCH: return "cluster mismatch";
        case WS_ENOSPC: return "no space";
        case WS_EINTERNAL: return "internal";
        case WS_ETIMEOUT: return "timeout";
        case WS_EINTERRUPTED: return "interrupted";
        case WS_EGAP: return "WAL gap";
        case WS_EARCHIVED: return "archived storage class";
        case WS_EBACKUP_AGE: return "no recent backup";
        case WS_EBACKUP_SIZE: return "backup size changed";
        case WS_EARCHIVE_LAG: return "archive lag";
        case WS_EARCHIVING: return "archiving failing";
        case WS_ESERVER: return "server failed";
        case WS_ECHECK: return "drill check failed";
    }
    return "unknown";
}
