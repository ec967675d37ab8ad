/*
 * restore.c — restore_wal: PostgreSQL's restore_command contract.
 *
 * PostgreSQL asks for files that may not exist (the next segment, a
 * timeline history file it probes for); "not found" must be a quiet exit 1.
 * Everything else that goes wrong must not look like "not found", or
 * recovery would end early at the wrong point and fork a new timeline
 * (docs, 26.3.4 "Recovering Using a Continuous Archive Backup").  The file
 * at %p appears only complete: a temporary file in the same directory is
 * renamed.  It is not fsynced: PostgreSQL renames a restored file it keeps
 * into place with durable_rename() (KeepFileRestoredFromArchive,
 * xlogarchive.c) and throws RECOVERYXLOG/RECOVERYHISTORY away, so an fsync
 * here would only repeat its work on the critical path of replay.
 *
 * Prefetch (restore_prefetch = N > 0, docs/walship-restore.md): after a
 * segment was handed over, a detached fetcher (one at a time, flock) fetches
 * the next N segments of the same timeline into pg_wal/walship-prefetch/
 * (restore_spool.h), several at once, verifying each completely before it
 * gets its final spool name; a later call for one of them is a local rename
 * after its checksum was read again.  Nothing negative is remembered: a
 * segment not in the spool is asked of the repository, every time.  A
 * request for a timeline history file (PostgreSQL asks for one at the start
 * and at the end of archive recovery, and when a standby rescans timelines
 * after the archive had nothing) empties the spool.
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
#include "restore_spool.h"
#include "retry.h"
#include "wal.h"

#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* the longest wait between two attempts (retry_delay_ms doubles up to it) */
#define RESTORE_MAX_DELAY_MS 30000
/* parallel fetches of the prefetcher */
#define PREFETCH_THREADS 4
/* how long a call waits for a segment the fetcher is fetching right now */
#define PREFETCH_WAIT_MS 30000
/* how long an idle fetcher waits for PostgreSQL to move before it exits */
#define PREFETCH_LINGER_MS 1000

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
    filter_file_no_sync(file);  /* PostgreSQL makes %p durable itself (top of file) */
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

/* ---- prefetch: the fetcher ---------------------------------------------- */

struct prefetch_job
{
    const struct cfg *cfg;
    struct repo *repo;
    const char *dir;
    uint32_t    seg_size;
    uint32_t    timeline;
    uint64_t    segnos[64];
    int         n;
    pthread_mutex_t mu;
    int         next;           /* index of the next segment to fetch */
    int         stop_at;        /* first index found missing (n: none) */
    bool        failed;
    int         fetched;
};

/* 1 stored in the spool, 0 not in the repository, -1 failed or not wanted any more */
static int
prefetch_one(struct prefetch_job *job, uint64_t segno)
{
    char        name[WAL_NAME_MAX];
    char        key[REPO_KEY_MAX];
    char        path[PATH_MAX];
    char        ready[64];
    char        final[PATH_MAX];
    struct filter *file = NULL;
    struct repo_read rd;
    struct spool sp;
    struct ws_err err = WS_ERR_INIT;
    int         rc = -1;

    memset(&rd, 0, sizeof(rd));
    sp.state_fd = -1;
    wal_segment_name(name, sizeof(name), job->timeline, segno, job->seg_size);
    if (wal_repo_key(name, key, sizeof(key)) < 0 ||
        snprintf(path, sizeof(path), "%s/%s", job->dir, name) >= (int) sizeof(path))
        goto out;
    /* a temporary "<name>.walship-tmp.<pid>": in flight, never taken */
    file = filter_file_new(path, &err);
    if (file == NULL)
        goto fail;
    /*
     * Not fsynced: after a crash a named spool file may hold anything, and
     * the hand-over reads it again and checks its tag (restore_spool.h), so
     * a file that did not reach the disk whole is refused, never handed over.
     */
    filter_file_no_sync(file);
    if (repo_get(job->repo, key, file, &rd, &err) < 0)
    {
        if (err.code == WS_ENOTFOUND)
            rc = 0;
        else
            goto fail;
        goto out;
    }
    if (rd.obj.size != job->seg_size)
    {
        err_set(&err, WS_ECORRUPT, "\"%s\" holds %llu bytes, not a WAL segment of %u", name,
                (unsigned long long) rd.obj.size, job->seg_size);
        goto fail;
    }
    /*
     * Verified.  Named only if it is still wanted, under the state lock, so
     * that a restore call that moved the window or ended the spool meanwhile
     * cannot miss it.
     */
    if (spool_open(&sp, job->dir, job->seg_size, false, &err) < 0)
        goto fail;
    if (!spool_in_window(&sp.st, job->timeline, segno) ||
        strcmp(sp.st.repo, job->cfg->repo) != 0 ||
        sp.st.system_identifier != repo_system_identifier(job->repo))
        goto out;
    spool_ready_name(ready, sizeof(ready), name, spool_tag(name, rd.obj.xxh64));
    if (snprintf(final, sizeof(final), "%s/%s", job->dir, ready) >= (int) sizeof(final))
        goto out;
    if (filter_file_commit_to(file, final, &err) < 0)
        goto fail;
    log_debug("prefetched \"%s\"", name);
    rc = 1;
    goto out;
fail:
    err_prefix(&err, "could not prefetch \"%s\"", name);
    log_err_at(LOG_LEVEL_WARNING, &err);
out:
    spool_close(&sp);
    filter_free(file);          /* an uncommitted temporary is removed */
    return rc;
}

static void *
prefetch_worker(void *arg)
{
    struct prefetch_job *job = arg;

    for (;;)
    {
        int         i;
        int         r;

        pthread_mutex_lock(&job->mu);
        i = job->next++;
        if (i >= job->n || i > job->stop_at || job->failed)
        {
            pthread_mutex_unlock(&job->mu);
            break;
        }
        pthread_mutex_unlock(&job->mu);
        r = prefetch_one(job, job->segnos[i]);
        pthread_mutex_lock(&job->mu);
        if (r == 0 && i < job->stop_at)
            job->stop_at = i;       /* nothing after a missing segment is asked for yet */
        else if (r < 0)
            job->failed = true;
        else if (r == 1)
            job->fetched++;
        pthread_mutex_unlock(&job->mu);
    }
    return NULL;
}

/* One batch: the segments of the window not yet in the spool; false when done. */
static bool
prefetch_batch(struct prefetch_job *job)
{
    pthread_t   th[PREFETCH_THREADS];
    int         nth;

    job->next = 0;
    job->stop_at = job->n;
    job->failed = false;
    nth = job->n < PREFETCH_THREADS ? job->n : PREFETCH_THREADS;
    for (int i = 0; i < nth; i++)
        if (pthread_create(&th[i], NULL, prefetch_worker, job) != 0)
        {
            nth = i;
            break;
        }
    if (nth == 0)
        prefetch_worker(job);
    for (int i = 0; i < nth; i++)
        pthread_join(th[i], NULL);
    return job->stop_at == job->n && !job->failed;
}

/*
 * The fetcher's life: fill the window, follow PostgreSQL while it moves,
 * exit once the window is full and PostgreSQL has not moved for
 * PREFETCH_LINGER_MS, or at the first missing segment or failure.  It holds
 * the fetch lock throughout (inherited descriptor).
 */
static void
prefetch_run(const struct cfg *cfg, const char *dir, uint32_t seg_size)
{
    struct prefetch_job job;
    struct spool sp;
    struct ws_err err = WS_ERR_INIT;
    double      idle_since = -1;

    memset(&job, 0, sizeof(job));
    sp.state_fd = -1;
    job.cfg = cfg;
    job.dir = dir;
    job.seg_size = seg_size;
    pthread_mutex_init(&job.mu, NULL);
    if (repo_open(cfg, NULL, &job.repo, &err) < 0)
    {
        err_prefix(&err, "prefetch");
        log_err_at(LOG_LEVEL_WARNING, &err);
        goto out;
    }
    for (;;)
    {
        struct spool_seen seen;

        if (spool_open(&sp, dir, seg_size, false, &err) < 0)
            break;
        if (!sp.st.valid || sp.st.stop || strcmp(sp.st.repo, cfg->repo) != 0 ||
            sp.st.system_identifier != repo_system_identifier(job.repo) ||
            spool_scan(&sp, true, true, NULL, &seen, &err) < 0)
            break;
        job.timeline = sp.st.timeline;
        job.n = 0;
        for (int i = 0; i < sp.st.depth && i < 64; i++)
            if ((seen.have & (UINT64_C(1) << i)) == 0)
                job.segnos[job.n++] = sp.st.segno + 1 + (uint64_t) i;
        spool_close(&sp);
        if (job.n == 0)
        {
            /* full: wait a little for PostgreSQL to take one, rather than exit and respawn */
            if (idle_since < 0)
                idle_since = clock_now_s();
            else if ((clock_now_s() - idle_since) * 1000 > PREFETCH_LINGER_MS)
                break;
            clock_sleep_ms(10);
            continue;
        }
        idle_since = -1;
        if (!prefetch_batch(&job))
            break;
    }
    spool_close(&sp);
    /* recovery ended while we ran: the restore call left the rest to us */
    if (spool_open(&sp, dir, seg_size, false, &err) == 0)
    {
        if (sp.st.stop)
            spool_remove_all(&sp);
        spool_close(&sp);
    }
out:
    repo_close(job.repo);
    pthread_mutex_destroy(&job.mu);
}

/*
 * Start a fetcher unless one runs.  It is detached (double fork, its own
 * session): PostgreSQL waits for restore_command alone, and the signals it
 * sends the command's process group at shutdown do not reach it; it ends by
 * itself (prefetch_run), and holds no descriptor of the caller but stderr,
 * which is the server log.
 */
static void
prefetch_spawn(const struct cfg *cfg, const char *dir, uint32_t seg_size)
{
    int         lockfd = spool_fetch_lock(dir);
    pid_t       pid;

    if (lockfd < 0)
        return;                 /* one runs; it follows the new position itself */
    fflush(NULL);
    pid = fork();
    if (pid == 0)
    {
        int         devnull;

        setsid();
        if (fork() != 0)
            _exit(0);
        devnull = open("/dev/null", O_RDWR);
        if (devnull >= 0)
        {
            dup2(devnull, STDIN_FILENO);
            dup2(devnull, STDOUT_FILENO);
            if (devnull > STDERR_FILENO)
                close(devnull);
        }
        prefetch_run(cfg, dir, seg_size);
        close(lockfd);
        _exit(0);
    }
    close(lockfd);              /* the grandchild holds the lock now */
    if (pid > 0)
        waitpid(pid, NULL, 0);
}

/* ---- prefetch: the restore call's side ----------------------------------- */

static bool
spool_owner_ok(const struct spool *sp, const struct cfg *cfg, const struct pg_control *pgc)
{
    return sp->st.valid && !sp->st.stop && strcmp(sp->st.repo, cfg->repo) == 0 &&
        sp->st.system_identifier == pgc->system_identifier;
}

/*
 * Segment `name` from the spool into path, if it is there and passes its
 * checks; waits while the fetcher is fetching it.  *hit says whether it
 * was; any trouble with the spool is a warning and a miss.
 */
static void
spool_try(const struct cfg *cfg, const struct pg_control *pgc, const char *name,
          const char *path, const char *dir, bool *hit)
{
    struct spool sp;
    struct ws_err err = WS_ERR_INIT;
    double      t0 = clock_now_s();

    *hit = false;
    sp.state_fd = -1;
    for (;;)
    {
        struct spool_seen seen;
        int         lockfd;
        bool        running;

        if (spool_open(&sp, dir, pgc->wal_segment_size, false, &err) < 0)
            break;
        lockfd = spool_fetch_lock(dir);
        running = lockfd < 0;
        if (spool_scan(&sp, spool_owner_ok(&sp, cfg, pgc), running, name, &seen, &err) < 0)
        {
            if (lockfd >= 0)
                close(lockfd);
            break;
        }
        if (lockfd >= 0)
            close(lockfd);
        if (seen.found.kind == SPOOL_E_READY)
        {
            if (spool_take(&sp, &seen.found, path, hit, &err) < 0)
                break;
            if (*hit)
                break;
        }
        if (!seen.in_flight || !running ||
            (clock_now_s() - t0) * 1000 > PREFETCH_WAIT_MS)
            break;
        spool_close(&sp);
        clock_sleep_ms(5);
    }
    spool_close(&sp);
    if (err.code != WS_OK && err.code != WS_ENOTFOUND)
    {
        err_prefix(&err, "prefetch spool");
        log_err_at(LOG_LEVEL_WARNING, &err);
    }
}

/*
 * PostgreSQL received segment wn: move the window there, drop what falls
 * out of it, and start a fetcher if the window is not full.
 */
static void
spool_advance(const struct cfg *cfg, const struct pg_control *pgc, const struct wal_name *wn,
              const char *dir)
{
    struct spool sp;
    struct spool_seen seen;
    struct ws_err err = WS_ERR_INIT;
    int         lockfd;
    bool        full = false;

    /* a location the state file cannot hold: no prefetch */
    if (strchr(cfg->repo, '\n') != NULL || strlen(cfg->repo) >= sizeof(sp.st.repo))
        return;
    if (spool_open(&sp, dir, pgc->wal_segment_size, true, &err) < 0)
        goto out;
    if (!spool_owner_ok(&sp, cfg, pgc))
        memset(&sp.st, 0, sizeof(sp.st));
    sp.st.valid = true;
    sp.st.stop = false;
    memcpy(sp.st.repo, cfg->repo, strlen(cfg->repo) + 1);
    sp.st.system_identifier = pgc->system_identifier;
    sp.st.timeline = wn->timeline;
    sp.st.segno = wal_segno(wn, pgc->wal_segment_size);
    sp.st.depth = cfg->restore_prefetch;
    if (spool_save(&sp, &err) < 0)
        goto out;
    lockfd = spool_fetch_lock(dir);
    if (spool_scan(&sp, true, lockfd < 0, NULL, &seen, &err) == 0)
        full = seen.ahead >= sp.st.depth;
    if (lockfd >= 0)
        close(lockfd);
out:
    spool_close(&sp);
    if (err.code != WS_OK)
    {
        err_prefix(&err, "prefetch spool");
        log_err_at(LOG_LEVEL_WARNING, &err);
        return;
    }
    if (!full)
        prefetch_spawn(cfg, dir, pgc->wal_segment_size);
}

/*
 * A timeline history file is asked for: at the start of archive recovery,
 * at its end (the new timeline's number, xlog.c findNewestTimeLine), and by
 * a standby rescanning after the archive had nothing.  Nothing in the spool
 * is needed then: mark it ended (a running fetcher names nothing more and
 * removes the rest when it exits) and remove what can be removed now.
 */
static void
spool_end(const struct pg_control *pgc, const char *dir)
{
    struct spool sp;
    struct spool_seen seen;
    struct ws_err err = WS_ERR_INIT;
    int         lockfd;

    if (spool_open(&sp, dir, pgc->wal_segment_size, false, &err) < 0)
        return;                 /* none (WS_ENOTFOUND), or nothing we can do */
    memset(&sp.st, 0, sizeof(sp.st));
    sp.st.valid = true;
    sp.st.stop = true;
    if (spool_save(&sp, &err) < 0)
        log_err_at(LOG_LEVEL_WARNING, &err);
    lockfd = spool_fetch_lock(dir);
    if (lockfd >= 0)
    {
        spool_remove_all(&sp);
        close(lockfd);
    }
    else
        (void) spool_scan(&sp, false, true, NULL, &seen, &err);
    spool_close(&sp);
}

/* ---- S3 without encryption: the descriptor and the object at once ----------- */

struct open_job
{
    const struct cfg *cfg;
    const struct pg_control *pgc;   /* NULL: no cluster check */
    struct repo *repo;
    struct ws_err err;
    int         rc;
};

static void *
open_thread(void *arg)
{
    struct open_job *oj = arg;

    oj->rc = repo_open(oj->cfg, NULL, &oj->repo, &oj->err);
    if (oj->rc == 0 && oj->pgc != NULL)
        oj->rc = repo_check_cluster(oj->repo, oj->pgc, &oj->err);
    return NULL;
}

/*
 * One restore from an unencrypted S3 repository in one round trip instead
 * of two: the descriptor (repo_open and the cluster check) is read in a
 * thread while the object streams into the temporary file
 * (repo_get_unbound), and the file is renamed to %p only if both passed.
 * The descriptor's verdict comes first, as it does in the serial order: a
 * repository of another cluster is that error, not "not found".  Nothing
 * is cached between calls.  The S3 driver retries its own requests, so
 * there is no retry loop here (restore_wal_file).
 */
static int
restore_s3_parallel(const struct cfg *cfg, const struct pg_control *pgc, const char *name,
                    const char *path, struct restore_stats *stats, struct ws_err *err)
{
    struct open_job oj;
    pthread_t   th;
    struct wal_name wn;
    char        key[REPO_KEY_MAX];
    struct filter *file = NULL;
    struct repo_read rd;
    struct ws_err gerr = WS_ERR_INIT;
    bool        name_ok;
    int         grc = -1;
    double      t0 = clock_now_s();
    int         rc = -1;

    memset(&oj, 0, sizeof(oj));
    memset(&rd, 0, sizeof(rd));
    oj.cfg = cfg;
    oj.pgc = pgc;
    err_clear(&oj.err);
    if (pthread_create(&th, NULL, open_thread, &oj) != 0)
    {
        open_thread(&oj);       /* no thread: the serial order */
        if (oj.rc < 0)
        {
            *err = oj.err;
            goto out;
        }
        rc = restore_wal_file(cfg, oj.repo, name, path, stats, err);
        goto out;
    }
    name_ok = wal_parse(name, pgc ? pgc->wal_segment_size : 0, &wn) == 0 &&
        wal_repo_key(name, key, sizeof(key)) == 0;
    if (name_ok)
    {
        file = filter_file_new(path, &gerr);
        if (file != NULL)
        {
            filter_file_no_sync(file);
            grc = repo_get_unbound(cfg, key, file, &rd, &gerr);
        }
    }
    pthread_join(th, NULL);
    if (oj.rc < 0)
    {
        *err = oj.err;
        goto out;
    }
    if (!name_ok || wal_parse(name, repo_wal_segment_size(oj.repo), &wn) < 0)
    {
        err_set(err, WS_EINPUT, "\"%s\" is not a WAL file name", name);
        err_hint(err, "Use restore_command = 'walship-restore %%f %%p' (name first, then path).");
        goto out;
    }
    if (grc < 0)
    {
        *err = gerr;
        goto out;
    }
    if (filter_file_commit(file, err) < 0)
        goto out;
    stats->bytes_in = rd.obj.stored;
    stats->bytes_out = rd.obj.size;
    stats->attempts = 1;
    rc = 0;
out:
    filter_free(file);          /* an uncommitted temporary file is removed */
    repo_close(oj.repo);
    stats->seconds = clock_now_s() - t0;
    return rc;
}

/*
 * pg_control of the data directory: 1 read, 0 missing or unreadable (a
 * warning is logged), -1 invalid (err set: recovery must stop).
 */
static int
read_pgcontrol(const struct cfg *cfg, struct pg_control *pgc, struct ws_err *err)
{
    struct ws_err perr = WS_ERR_INIT;

    if (pgcontrol_read(cfg->pgdata, pgc, &perr) == 0)
        return 1;
    if (perr.sys_errno != 0)
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
        return 0;
    }
    /* read but invalid: a damaged pg_control must stop recovery */
    *err = perr;
    if (err->code != WS_ECONFIG)
        err->code = WS_ECORRUPT;
    if (err->hint[0] == '\0')
        err_hint(err, "Check that pgdata is the data directory being recovered; if it is, "
                 "its pg_control is damaged: restore the base backup again.");
    return -1;
}

int
restore_wal(const struct cfg *cfg, const char *name, const char *path,
            struct restore_stats *stats, struct ws_err *err)
{
    struct pg_control pgc;
    struct repo *repo = NULL;
    struct wal_name wn;
    char        dir[PATH_MAX];
    bool        prefetch = false;
    struct ws_err serr = WS_ERR_INIT;   /* a %p too long for a spool: no prefetch */
    int         have_pgc;
    int         rc = -1;

    memset(stats, 0, sizeof(*stats));
    /*
     * restore_command runs in the data directory being recovered, whose
     * pg_control came from the base backup: refuse WAL of another cluster.
     * Prefetch needs it too (whose spool, the segment size).
     */
    have_pgc = read_pgcontrol(cfg, &pgc, err);
    if (have_pgc < 0)
    {
        /* the repository's own errors come first, as they always did */
        struct ws_err oerr = WS_ERR_INIT;

        if (repo_open(cfg, NULL, &repo, &oerr) < 0)
            *err = oerr;
        goto out;
    }
    if (have_pgc == 1 && cfg->restore_prefetch > 0 &&
        wal_parse(name, pgc.wal_segment_size, &wn) == 0 &&
        spool_dir_for(path, dir, sizeof(dir), &serr) == 0)
    {
        if (wn.kind == WAL_KIND_HISTORY)
            spool_end(&pgc, dir);
        else if (wn.kind == WAL_KIND_SEGMENT)
        {
            double      t0 = clock_now_s();
            bool        hit;

            prefetch = true;
            spool_try(cfg, &pgc, name, path, dir, &hit);
            if (hit)
            {
                stats->prefetched = true;
                stats->bytes_out = pgc.wal_segment_size;
                stats->attempts = 1;
                stats->seconds = clock_now_s() - t0;
                spool_advance(cfg, &pgc, &wn, dir);
                return 0;
            }
        }
    }
    if (cfg->encryption == CFG_ENCRYPT_NONE && strncmp(cfg->repo, "s3://", 5) == 0)
    {
        rc = restore_s3_parallel(cfg, have_pgc == 1 ? &pgc : NULL, name, path, stats, err);
        goto out;
    }
    if (repo_open(cfg, NULL, &repo, err) < 0)
        return -1;
    if (have_pgc == 1 && repo_check_cluster(repo, &pgc, err) < 0)
        goto out;
    rc = restore_wal_file(cfg, repo, name, path, stats, err);
out:
    repo_close(repo);
    if (rc == 0 && prefetch)
        spool_advance(cfg, &pgc, &wn, dir);
    return rc;
}
