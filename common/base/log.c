/*
 * log.c — stderr logging in the PostgreSQL frontend voice.  See log.h.
 *
 * Each line is formatted into one buffer and written with a single fputs so
 * lines from parallel threads do not interleave.
 */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char *log_progname = "walship";
static enum log_level log_level_cur = LOG_LEVEL_INFO;
static log_sink_fn log_sink = NULL;

void
log_set_sink(log_sink_fn sink)
{
    log_sink = sink;
}

void
log_init(const char *progname, enum log_level level)
{
    const char *slash = strrchr(progname, '/');

    log_progname = slash ? slash + 1 : progname;
    log_level_cur = level;
}

void
log_set_level(enum log_level level)
{
    log_level_cur = level;
}

enum log_level
log_get_level(void)
{
    return log_level_cur;
}

int
log_level_parse(const char *s, enum log_level *out)
{
    static const char *names[] = {"error", "warning", "info", "debug"};

    for (int i = 0; i < 4; i++)
        if (strcasecmp(s, names[i]) == 0)
        {
            *out = (enum log_level) i;
            return 0;
        }
    return -1;
}

const char *
log_level_name(enum log_level level)
{
    switch (level)
    {
        case LOG_LEVEL_ERROR: return "error";
        case LOG_LEVEL_WARNING: return "warning";
        case LOG_LEVEL_INFO: return "info";
        case LOG_LEVEL_DEBUG: return "debug";
    }
    return "info";
}

static void
emit(enum log_kind kind, const char *tag, const char *fmt, va_list ap)
{
    char        line[2048];
    int         n;

    if (log_sink != NULL)
    {
        vsnprintf(line, sizeof(line), fmt, ap);
        log_sink(kind, line);
        return;
    }
    n = snprintf(line, sizeof(line), "%s: %s", log_progname, tag);
    if (n < 0 || (size_t) n >= sizeof(line))
        return;
    vsnprintf(line + n, sizeof(line) - (size_t) n - 1, fmt, ap);
    n = (int) strlen(line);
    line[n] = '\n';
    line[n + 1] = '\0';
    fputs(line, stderr);
}

#define LOG_FN(fname, lvl, kind, tag) \
void \
fname(const char *fmt, ...) \
{ \
    va_list ap; \
    if (log_level_cur < (lvl)) \
        return; \
    va_start(ap, fmt); \
    emit(kind, tag, fmt, ap); \
    va_end(ap); \
}

LOG_FN(log_error, LOG_LEVEL_ERROR, LOG_KIND_ERROR, "error: ")
LOG_FN(log_warning, LOG_LEVEL_WARNING, LOG_KIND_WARNING, "warning: ")
LOG_FN(log_info, LOG_LEVEL_INFO, LOG_KIND_INFO, "")
LOG_FN(log_debug, LOG_LEVEL_DEBUG, LOG_KIND_DEBUG, "debug: ")
LOG_FN(log_detail, LOG_LEVEL_ERROR, LOG_KIND_DETAIL, "detail: ")
LOG_FN(log_hint, LOG_LEVEL_ERROR, LOG_KIND_HINT, "hint: ")

void
log_err_at(enum log_level level, const struct ws_err *err)
{
    if (log_level_cur < level)
        return;
    switch (level)
    {
        case LOG_LEVEL_ERROR: log_error("%s", err->msg); break;
        case LOG_LEVEL_WARNING: log_warning("%s", err->msg); break;
        case LOG_LEVEL_INFO: log_info("%s", err->msg); break;
        case LOG_LEVEL_DEBUG: log_debug("%s", err->msg); break;
    }
    if (err->detail[0])
        log_detail("%s", err->detail);
    if (err->hint[0])
        log_hint("%s", err->hint);
}

void
log_err(const struct ws_err *err)
{
    log_err_at(LOG_LEVEL_ERROR, err);
}
