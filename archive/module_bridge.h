/*
 * module_bridge.h — the one seam between the archive module's PostgreSQL
 * side (module.c, which includes only PostgreSQL's headers) and walship's
 * library (module_bridge.c, which includes only walship's): plain C types,
 * so neither side's macros (PostgreSQL redefines snprintf, LOG, ERROR...)
 * meet the other's names.
 */
#ifndef WS_MODULE_BRIDGE_H
#define WS_MODULE_BRIDGE_H

#include <stdbool.h>
#include <stddef.h>

/* How loud a report is; module.c maps these to ereport levels. */
enum archive_module_level
{
    ARCHIVE_MODULE_DEBUG = 0,       /* DEBUG1 */
    ARCHIVE_MODULE_LOG,             /* LOG */
    ARCHIVE_MODULE_WARNING          /* WARNING: never ERROR, which would stop the archiver */
};

/* One call's outcome, as text for ereport (never holds a secret). */
struct archive_module_report
{
    enum archive_module_level level;
    char        message[1024];
    char        detail[512];        /* "" if none */
    char        hint[256];          /* "" if none */
};

/*
 * Route walship's own log lines to sink (kind: enum log_kind of log.h,
 * level: the report level it maps to) and make every retry loop stop once
 * interrupted() is true (retry.h).  Call once, from the archiver's thread.
 */
void        archive_module_hooks(void (*sink) (enum archive_module_level level, const char *msg),
                                 bool (*interrupted) (void));

/* A session (archive_session.h); NULL when out of memory. */
void       *archive_module_open(void);
void        archive_module_close(void *session);

/*
 * Archive %p = path under %f = name for the cluster in pgdata, with the
 * walship configuration file config ("" = found as the executables do).
 * true once it is durably in the repository; false with the reason in *r.
 * On success *r says what was done, at LOG (log_level info or debug) or DEBUG.
 */
bool        archive_module_push(void *session, const char *config, const char *pgdata,
                                const char *path, const char *name,
                                struct archive_module_report *r);

#endif
