/*
 * restore.c — restore_wal: PostgreSQL's restore_command contract.
 *
 * PostgreSQL asks for files that may not exist (the next segment, a
 * timeline history file it probes for); "not found" must be a quiet exit 1.
 * Everything else that goes wrong must not look like "not found", or
 * recovery would end early at the wrong point and fork a new timeline
 * (docs, 26.3.4 "Recovering Using a Continuous Archive Backup").  The file
 * at %p appears only complete: a temporary file in the same directory is
 * fsynced and renamed.
 *
 * A failed fetch is retried here only when the repository's driver does not
 * retry its own requests (STORAGE_F_RETRIES, set by the S3 driver): then the
 * whole fetch starts over with a new temporary file, retry_attempts times
 * with the policy of retry.c.  An S3 request is retried by the driver alone,
 * so the attempts never multiply (retry.h).
 */
#include "restore.h"
#include "clock.h"
#include "log.h"
#include "pgcontrol.h"
#include "retry.h"
#include "wal.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* the longest wait between two attempts (retry_delay_ms doubles up to it) */
#define RESTORE_MAX_DELAY_MS 30000

bool
restore_is_standby(const char *pgdata)
{
    char        path[PATH_MAX];

    snprintf(path, sizeof(path), "%s/standby.signal", pgdata);
    return access(path, F_OK) == 0;
}

/*
 * One attempt.  Only a failure to read the repository is worth retrying
 * (repo_get's storage_failed): writing %p and a corrupt object fail the
 * same way again.
 */
static int
fetch_once(struct repo *repo, const char *key, const char *path, struct restore_stats *stats,
           bool *retryable, struct ws_err *err)
{
    struct filter *file = NULL;
    struct repo_read rd;
    int         rc = -1;

    memset(&rd, 0, sizeof(rd));
    file = filter_file_new(path, err);
    if (file == NULL)
        goto out;
    if (repo_get(repo, key, file, &rd, err) < 0)
    {
        *retryable = rd.storage_failed && (err->code == WS_ETRANSIENT || err->code == WS_EIO);
        goto out;
    }
    if (filter_file_commit(file, err) < 0)
        goto out;
    stats->bytes_in = rd.obj.stored;
    stats->bytes_out = rd.obj.size;
    rc = 0;
out:
    filter_free(file);          /* an uncommitted temporary file is removed */
    return rc;
}

int
restore_wal_file(const struct cfg *cfg, struct repo *repo, const char *name, const char *path,
                 struct restore_stats *stats, struct ws_err *err)
{
    struct wal_name wn;
    char        key[REPO_KEY_MAX];
    double      t0 = clock_now_s();
    /* a driver that retries its own requests has done so already */
    bool        retries_here = !repo_driver_retries(repo);
    struct retry_policy policy = {cfg->retry_attempts, cfg->retry_delay_ms,
                                  RESTORE_MAX_DELAY_MS, 0};
    struct retry rt;
    int         rc = -1;

    memset(stats, 0, sizeof(*stats));
    if (wal_parse(name, repo_wal_segment_size(repo), &wn) < 0 ||
        wal_repo_key(name, key, sizeof(key)) < 0)
    {
        err_set(err, WS_EINPUT, "\"%s\" is not a WAL file name", name);
        err_hint(err, "Use restore_command = 'walship-restore %%f %%p' (name first, then path).");
        goto out;
    }
    retry_begin(&rt, &policy);
    for (;;)
    {
        bool        retryable = false;
        long        wait;

        stats->attempts = retry_attempts(&rt);
        if (fetch_once(repo, key, path, stats, &retryable, err) == 0)
        {
            rc = 0;
            break;
        }
        if (!retryable || !retries_here)
            break;
        if (!retry_next(&rt, 0, &wait))
        {
            err_prefix(err, "giving up after %d attempts", stats->attempts);
            break;
        }
        log_warning("could not restore \"%s\" (attempt %d of %d, retrying in %ld ms): %s",
                    name, stats->attempts, cfg->retry_attempts + 1, wait, err->msg);
        clock_sleep_ms(wait);
    }
out:
    stats->seconds = clock_now_s() - t0;
    return rc;
}

int
restore_wal(const struct cfg *cfg, const char *name, const char *path,
            struct restore_stats *stats, struct ws_err *err)
{
    struct pg_control pgc;
    struct repo *repo = NULL;
    struct ws_err perr = WS_ERR_INIT;
    int         rc = -1;

    memset(stats, 0, sizeof(*stats));
    if (repo_open(cfg, NULL, &repo, err) < 0)
        return -1;
    /*
     * restore_command runs in the data directory being recovered, whose
     * pg_control came from the base backup: refuse WAL of another cluster.
     */
    if (pgcontrol_read(cfg->pgdata, &pgc, &perr) == 0)
    {
        if (repo_check_cluster(repo, &pgc, err) < 0)
            goto out;
    }
    else if (perr.sys_errno != 0)
    {
        /*
         * Missing or unreadable (pgdata not the data directory, or another
         * user): nothing says the data is bad, and the server itself still
         * refuses WAL pages of another system (xlp_sysid, xlogreader.c), so
         * restore, but say that this check was skipped.
         */
        err_prefix(&perr, "not checking that the WAL belongs to the data directory's "
                   "database system");
        log_err_at(LOG_LEVEL_WARNING, &perr);
    }
    else
    {
        /* read but invalid: a damaged pg_control must stop recovery */
        *err = perr;
        if (err->code != WS_ECONFIG)
            err->code = WS_ECORRUPT;
        if (err->hint[0] == '\0')
            err_hint(err, "Check that pgdata is the data directory being recovered; if it is, "
                     "its pg_control is damaged: restore the base backup again.");
        goto out;
    }
    rc = restore_wal_file(cfg, repo, name, path, stats, err);
out:
    repo_close(repo);
    return rc;
}
