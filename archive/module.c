/*
 * module.c — walship_archive, the archive module (PostgreSQL 15+):
 *
 *     archive_mode = on
 *     archive_library = 'walship_archive'
 *     walship.config = '/etc/walship.conf'        # optional
 *
 * The archiver process calls archive_file_cb for each segment, with no fork
 * or exec; the work is archive_push_file, as for walship-archive, through a
 * session that keeps the configuration and the repository open across calls
 * (archive_session.h).  Built against PostgreSQL 15's API (callbacks without
 * state, filled in by _PG_archive_module_init(cb)) and 16+'s (a const table
 * returned by _PG_archive_module_init(void), ArchiveModuleState, startup and
 * shutdown callbacks): PG_VERSION_NUM picks one at compile time.
 *
 * What the archiver must never see (src/backend/postmaster/pgarch.c):
 *   - ERROR: on 15 the archiver has no error handler, so an ERROR becomes
 *     FATAL and the process restarts.  Every failure is a WARNING and
 *     `false`, which makes PostgreSQL keep the .ready file and retry (three
 *     times a second apart, then again on the next wake-up).  Nothing here
 *     pallocs; walship's library returns errors and never exits.
 *   - a hang: walship's retry loops end early once SIGTERM set
 *     ShutdownRequestPending (retry_set_interrupt), an S3 request in flight
 *     is abandoned, and every request has walship's s3 timeouts.  SIGUSR2
 *     (the postmaster's "archive what is left, then exit") does not
 *     interrupt: the last segments are still pushed.
 *   - a PostgreSQL call from another thread: libcurl's resolver and zstd's
 *     workers (compression_threads) are threads of their own; walship logs
 *     through sink(), which calls ereport only on the archiver's own thread
 *     and writes anything else to stderr, which the server logs too.
 *   - a leak per call: the session frees every per-call allocation itself.
 *
 * This file includes only PostgreSQL's headers; walship's are behind
 * module_bridge.h.
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "postmaster/interrupt.h"
#include "utils/guc.h"
#if PG_VERSION_NUM >= 160000
#include "archive/archive_module.h"
#else
#include "postmaster/pgarch.h"
#endif

#include <pthread.h>

#include "module_bridge.h"

#if PG_VERSION_NUM >= 180000
PG_MODULE_MAGIC_EXT(.name = "walship_archive", .version = WS_MODULE_VERSION);
#else
PG_MODULE_MAGIC;
#endif

void        _PG_init(void);

static char *walship_config = NULL;     /* GUC walship.config */
static pthread_t archiver_thread;

/* walship's own log lines (retries, warnings): ereport on the archiver's thread only */
static void
sink(enum archive_module_level level, const char *msg)
{
    if (!pthread_equal(pthread_self(), archiver_thread))
    {
        fprintf(stderr, "walship_archive: %s\n", msg);
        return;
    }
    ereport(level == ARCHIVE_MODULE_WARNING ? WARNING :
            level == ARCHIVE_MODULE_LOG ? LOG : DEBUG1,
            (errmsg("walship_archive: %s", msg)));
}

/* SIGTERM: PostgreSQL's own rule is to start no new archive command after it. */
static bool
interrupted(void)
{
    return ShutdownRequestPending;
}

void
_PG_init(void)
{
    DefineCustomStringVariable("walship.config",
                               "walship configuration file used by the archive module.",
                               "Empty: $WALSHIP_CONFIG of the server's environment, else /etc/walship.conf.",
                               &walship_config, "", PGC_SIGHUP, 0, NULL, NULL, NULL);
    MarkGUCPrefixReserved("walship");
}

/* The callbacks' common part: a session in *session, made on first use. */
static bool
archive_one(void **session, const char *file, const char *path)
{
    struct archive_module_report r;
    bool        ok;

    if (*session == NULL)
    {
        archiver_thread = pthread_self();
        archive_module_hooks(sink, interrupted);
        *session = archive_module_open();
    }
    ok = archive_module_push(*session, walship_config != NULL ? walship_config : "", DataDir,
                             path, file, &r);
    if (!ok)
        ereport(WARNING,
                (errmsg("walship_archive: %s", r.message),
                 r.detail[0] != '\0' ? errdetail("%s", r.detail) : 0,
                 r.hint[0] != '\0' ? errhint("%s", r.hint) : 0));
    else
        ereport(r.level == ARCHIVE_MODULE_LOG ? LOG : DEBUG1,
                (errmsg("walship_archive: %s", r.message)));
    return ok;
}

#if PG_VERSION_NUM >= 160000

static void
walship_startup(ArchiveModuleState *state)
{
    state->private_data = NULL;
}

static bool
walship_check_configured(ArchiveModuleState *state)
{
    (void) state;
    return true;                /* every problem is reported, and retried, per segment */
}

static bool
walship_archive_file(ArchiveModuleState *state, const char *file, const char *path)
{
    return archive_one(&state->private_data, file, path);
}

static void
walship_shutdown(ArchiveModuleState *state)
{
    archive_module_close(state->private_data);
    state->private_data = NULL;
}

static const ArchiveModuleCallbacks walship_callbacks = {
    .startup_cb = walship_startup,
    .check_configured_cb = walship_check_configured,
    .archive_file_cb = walship_archive_file,
    .shutdown_cb = walship_shutdown
};

const ArchiveModuleCallbacks *
_PG_archive_module_init(void)
{
    return &walship_callbacks;
}

#else                           /* PostgreSQL 15 */

static void *walship_session = NULL;

static bool
walship_check_configured(void)
{
    return true;                /* every problem is reported, and retried, per segment */
}

static bool
walship_archive_file(const char *file, const char *path)
{
    return archive_one(&walship_session, file, path);
}

static void
walship_shutdown(void)
{
    archive_module_close(walship_session);
    walship_session = NULL;
}

PGDLLEXPORT void _PG_archive_module_init(ArchiveModuleCallbacks *cb);

void
_PG_archive_module_init(ArchiveModuleCallbacks *cb)
{
    AssertVariableIsOfType(&_PG_archive_module_init, ArchiveModuleInit);
    cb->check_configured_cb = walship_check_configured;
    cb->archive_file_cb = walship_archive_file;
    cb->shutdown_cb = walship_shutdown;
}

#endif
