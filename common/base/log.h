/*
 * log.h — messages to stderr in the PostgreSQL frontend voice.
 *
 *   walship-archive: error: could not open file "x": No such file or directory
 *   walship-archive: detail: ...
 *   walship-archive: hint: ...
 *
 * The level and program name are process-wide settings made once by main()
 * before any thread starts; the functions themselves are thread-safe (one
 * fprintf per line, stderr is unbuffered and locked by stdio).
 * Never pass a secret to these functions.
 */
#ifndef WS_LOG_H
#define WS_LOG_H

#include "err.h"

enum log_level
{
    LOG_LEVEL_ERROR = 0,
    LOG_LEVEL_WARNING = 1,
    LOG_LEVEL_INFO = 2,
    LOG_LEVEL_DEBUG = 3
};

/* What a line is, for a sink: the level it was logged at, or its detail/hint line. */
enum log_kind
{
    LOG_KIND_ERROR = 0,
    LOG_KIND_WARNING,
    LOG_KIND_INFO,
    LOG_KIND_DEBUG,
    LOG_KIND_DETAIL,
    LOG_KIND_HINT
};

/*
 * Where lines go instead of stderr (the archive module hands them to the
 * server's ereport); NULL restores stderr.  The sink gets the message
 * without program name or tag, after the level filter, from whichever
 * thread logged it.  Set once, before any thread starts.
 */
typedef void (*log_sink_fn) (enum log_kind kind, const char *msg);
void        log_set_sink(log_sink_fn sink);

void        log_init(const char *progname, enum log_level level);
void        log_set_level(enum log_level level);
enum log_level log_get_level(void);
int         log_level_parse(const char *s, enum log_level *out);
const char *log_level_name(enum log_level level);

void        log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void        log_warning(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void        log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void        log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void        log_detail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void        log_hint(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Log err as error (or at `level`) with its detail and hint lines. */
void        log_err(const struct ws_err *err);
void        log_err_at(enum log_level level, const struct ws_err *err);

#endif
