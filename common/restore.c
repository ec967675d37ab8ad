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
 */
#include "restore.h"
#include "log.h"
#include "object.h"
#include "pgcontrol.h"
#include "wal.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define RESTORE_MAX_DELAY_MS 30000

static double
now_seconds(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

bool
restore_is_standby(const char *pgdata)
{
    char        path[PATH_MAX];

    snprintf(path, sizeof(path), "%s/standby.signal", pgdata);
    return access(path, F_OK) == 0;
}

/*
 * Pass-through at the head of the chain: records whether a failure came from
 * the chain (writing %p, a corrupt object) rather than from reading the
 * repository, because only the latter is worth retrying.
 */
struct mark
{
    struct filter base;
    bool        failed;
};

static int
mark_write(struct filter *f, const void *buf, size_t len, struct ws_err *err)
{
    struct mark *m = (struct mark *) f;

    if (filter_write(f->next, buf, len, err) < 0)
    {
        m->failed = true;
        return -1;
    }
    return 0;
}

static int
mark_finish(struct filter *f, struct ws_err *err)
{
    return filter_finish(f->next, err);
}

static void
mark_free(struct filter *f)
{
    free(f);
}

static const struct filter_ops mark_ops = {"mark", mark_write, mark_finish, mark_free};

/* Counts stored bytes on their way into the object reader. */
static int
fetch_once(struct repo *repo, const char *key, const char *path, struct restore_stats *stats,
           bool *retryable, struct ws_err *err)
{
    struct filter *file = NULL;
    struct filter *head = NULL;
    struct filter *count = NULL;
    struct mark *mark = NULL;
    struct object_trailer t;
    int         rc = -1;

    file = filter_file_new(path, err);
    if (file == NULL)
        goto out;
    head = object_reader_new(repo->encrypted ? repo->master : NULL, key, file, err);
    if (head == NULL)
    {
        file = NULL;            /* freed by object_reader_new */
        goto out;
    }
    count = filter_hash_new(head);
    if (count == NULL)
    {
        err_set(err, WS_EINTERNAL, "out of memory");
        goto out;
    }
    head = NULL;                /* owned by count */
    mark = calloc(1, sizeof(*mark));
    if (mark == NULL)
    {
        err_set(err, WS_EINTERNAL, "out of memory");
        goto out;
    }
    mark->base.ops = &mark_ops;
    mark->base.next = count;
    count = NULL;               /* owned by mark */
    /* only reading the repository can fail transiently; local errors repeat */
    if (storage_get(repo->storage, key, 0, 0, &mark->base, err) < 0)
    {
        *retryable = !mark->failed && (err->code == WS_ETRANSIENT || err->code == WS_EIO);
        goto out;
    }
    if (filter_finish(&mark->base, err) < 0)
        goto out;
    if (filter_file_commit(file, err) < 0)
        goto out;
    object_reader_result(mark->base.next->next, NULL, &t);
    filter_hash_result(mark->base.next, &stats->bytes_in, NULL);
    stats->bytes_out = t.plain_size;
    rc = 0;
out:
    /* frees reader and file sink; an uncommitted temporary file is removed */
    if (mark)
        filter_free(&mark->base);
    else if (count)
        filter_free(count);
    else if (head)
        filter_free(head);
    return rc;
}

int
restore_wal_file(const struct cfg *cfg, struct repo *repo, const char *name, const char *path,
                 struct restore_stats *stats, struct ws_err *err)
{
    struct wal_name wn;
    char        key[STORAGE_KEY_MAX];
    double      t0 = now_seconds();
    long        delay = cfg->retry_delay_ms;
    unsigned    seed = (unsigned) (t0 * 1e6) ^ (unsigned) getpid();
    int         rc = -1;

    memset(stats, 0, sizeof(*stats));
    if (wal_parse(name, repo->desc.wal_segment_size, &wn) < 0 ||
        wal_repo_key(name, key, sizeof(key)) < 0)
    {
        err_set(err, WS_EINPUT, "\"%s\" is not a WAL file name", name);
        err_hint(err, "Use restore_command = 'walship-restore %%f %%p' (name first, then path).");
        goto out;
    }
    for (int attempt = 0;; attempt++)
    {
        bool        retryable = false;

        stats->attempts = attempt + 1;
        if (fetch_once(repo, key, path, stats, &retryable, err) == 0)
        {
            rc = 0;
            break;
        }
        if (!retryable)
            break;
        if (attempt >= cfg->retry_attempts)
        {
            err_prefix(err, "giving up after %d attempts", attempt + 1);
            break;
        }
        log_warning("could not restore \"%s\" (attempt %d of %d, retrying in %ld ms): %s",
                    name, attempt + 1, cfg->retry_attempts + 1, delay, err->msg);
        sleep_ms(delay);
        /* exponential backoff with up to 25% jitter, capped at 30 s */
        delay = delay * 2 + (delay > 4 ? (long) (rand_r(&seed) % (unsigned) (delay / 4 + 1)) : 0);
        if (delay > RESTORE_MAX_DELAY_MS)
            delay = RESTORE_MAX_DELAY_MS;
    }
out:
    stats->seconds = now_seconds() - t0;
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
