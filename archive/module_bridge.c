/*
 * module_bridge.c — the walship side of the archive module: a session
 * (archive_session.h) and its outcome as text.  See module_bridge.h.
 */
#include "module_bridge.h"
#include "archive_session.h"
#include "log.h"
#include "retry.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static void (*bridge_sink) (enum archive_module_level level, const char *msg);

/* walship's log lines: an error of the library is only a warning for the server */
static void
bridge_log(enum log_kind kind, const char *msg)
{
    char        line[1100];

    switch (kind)
    {
        case LOG_KIND_ERROR:
        case LOG_KIND_WARNING:
            bridge_sink(ARCHIVE_MODULE_WARNING, msg);
            break;
        case LOG_KIND_INFO:
            bridge_sink(ARCHIVE_MODULE_LOG, msg);
            break;
        case LOG_KIND_DEBUG:
            bridge_sink(ARCHIVE_MODULE_DEBUG, msg);
            break;
        case LOG_KIND_DETAIL:
        case LOG_KIND_HINT:
            snprintf(line, sizeof(line), "%s: %s", kind == LOG_KIND_DETAIL ? "detail" : "hint",
                     msg);
            bridge_sink(ARCHIVE_MODULE_LOG, line);
            break;
    }
}

void
archive_module_hooks(void (*sink) (enum archive_module_level level, const char *msg),
                     bool (*interrupted) (void))
{
    bridge_sink = sink;
    log_init("walship_archive", LOG_LEVEL_INFO);
    log_set_sink(sink != NULL ? bridge_log : NULL);
    retry_set_interrupt(interrupted);
}

void *
archive_module_open(void)
{
    return archive_session_new();
}

void
archive_module_close(void *session)
{
    archive_session_free(session);
}

bool
archive_module_push(void *session, const char *config, const char *pgdata, const char *path,
                    const char *name, struct archive_module_report *r)
{
    struct ws_err err = WS_ERR_INIT;
    struct archive_stats st;
    const struct cfg *cfg;

    memset(r, 0, sizeof(*r));
    if (session == NULL)
    {
        r->level = ARCHIVE_MODULE_WARNING;
        snprintf(r->message, sizeof(r->message), "could not archive \"%s\": out of memory", name);
        return false;
    }
    if (archive_session_push(session, config, pgdata, path, name, &st, &err) < 0)
    {
        r->level = ARCHIVE_MODULE_WARNING;
        snprintf(r->message, sizeof(r->message), "%s", err.msg);
        snprintf(r->detail, sizeof(r->detail), "%s", err.detail);
        snprintf(r->hint, sizeof(r->hint), "%s", err.hint);
        return false;
    }
    cfg = archive_session_cfg(session);
    r->level = cfg->log_level >= LOG_LEVEL_INFO ? ARCHIVE_MODULE_LOG : ARCHIVE_MODULE_DEBUG;
    if (st.already_archived)
        snprintf(r->message, sizeof(r->message),
                 "\"%s\" already archived with identical content (%.1f ms)", name,
                 st.seconds * 1000);
    else
        snprintf(r->message, sizeof(r->message),
                 "archived \"%s\": %" PRIu64 " -> %" PRIu64 " bytes (%s, %s) in %.1f ms", name,
                 st.bytes_in, st.bytes_out, cfg_compression_name(cfg->compression),
                 cfg_encryption_name(cfg->encryption), st.seconds * 1000);
    return true;
}
