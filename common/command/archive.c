/*
 * archive.c — archive_push: PostgreSQL's archive_command contract.
 *
 * "The archive command should generally be designed to refuse to overwrite
 * any pre-existing archive file" and "it is advisable to ... return zero if
 * the file is identical" (PostgreSQL docs, 26.3.1 Setting Up WAL Archiving):
 * after a crash the archiver may hand us a file we already stored.  A file
 * is stored create-if-absent (S3: one PUT with If-None-Match: *), and only
 * when the store says the name exists is the existing object compared with
 * the file: the object's end record holds the plaintext size and XXH64,
 * read without reading the body (repo_peek), against one hashing pass over
 * the local file.  An identical object may still be only visible, not
 * durable (its writer died between link() and the directory fsync), so
 * before answering 0, which lets PostgreSQL recycle the segment, it is
 * synced (repo_sync).
 *
 * archive_push also pushes the next ready segments ahead on threads and
 * records them in the spool (archive_spool.h), and applies the safety valve
 * archive_queue_max (docs/walship-archive.md).
 */
#include "archive.h"
#include "archive_spool.h"
#include "checksum.h"
#include "clock.h"
#include "log.h"
#include "num.h"
#include "wal.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Hash the local file (one pass): size and XXH64. */
static int
hash_file(int fd, const char *path, uint64_t *size, uint64_t *xxh, struct ws_err *err)
{
    struct filter *h = filter_hash_new(NULL, err);
    int         rc = -1;

    if (h == NULL)
        return -1;
    if (lseek(fd, 0, SEEK_SET) < 0)
    {
        err_set_errno(err, WS_EIO, errno, "could not seek in file \"%s\"", path);
        goto out;
    }
    if (filter_pump_fd(fd, path, h, err) < 0)
        goto out;
    filter_hash_result(h, size, xxh);
    rc = 0;
out:
    filter_free(h);
    return rc;
}

/*
 * Compare the existing object `key` with the local file: its header and end
 * record (repo_peek: two small range reads, and the object's length checked
 * against them) against one hashing pass over the file.  0 = identical; -1
 * with WS_ENOTFOUND when there is no object, WS_EEXISTS_DIFFERENT when it
 * differs or is damaged, another code when the repository could not be
 * read.  *stored gets the object's size.
 */
static int
compare_existing(struct repo *repo, const char *key, const char *name, int fd, const char *path,
                 uint64_t *stored, uint64_t *xxh_out, struct ws_err *err)
{
    struct repo_read rd;
    uint64_t    size, xxh;

    memset(&rd, 0, sizeof(rd));
    if (repo_peek(repo, key, &rd, err) < 0)
    {
        char        msg[sizeof(err->msg)];

        if (rd.storage_failed)
            return -1;
        /*
         * Truncated, extended, unreadable: bit rot inside the body is for
         * "walship verify", which reads everything.
         */
        memcpy(msg, err->msg, sizeof(msg));
        err_set(err, WS_EEXISTS_DIFFERENT, "WAL file \"%s\" is already archived, but the existing object is damaged",
                name);
        err_detail(err, "%s", msg);
        err_hint(err, "walship never overwrites an archived file: move the damaged object aside, then archiving resumes.");
        return -1;
    }
    *stored = rd.obj.stored;
    if (hash_file(fd, path, &size, &xxh, err) < 0)
        return -1;
    if (size != rd.obj.size || xxh != rd.obj.xxh64)
    {
        err_set(err, WS_EEXISTS_DIFFERENT,
                "WAL file \"%s\" is already archived with different content", name);
        err_detail(err, "The archived copy has %" PRIu64 " bytes (XXH64 %016" PRIx64 "), \"%s\" has %" PRIu64 " bytes (XXH64 %016" PRIx64 ").",
                   rd.obj.size, rd.obj.xxh64, path, size, xxh);
        err_hint(err, "Two clusters may be archiving into the same repository, or this cluster was restored without a new timeline. walship does not overwrite archived WAL.");
        return -1;
    }
    *xxh_out = xxh;
    return 0;
}

/* An identical object is already there: make it durable, then count it as ours. */
static int
already_archived(struct repo *repo, const char *key, uint64_t size, uint64_t stored,
                 struct archive_stats *stats, struct ws_err *err)
{
    if (repo_sync(repo, key, err) < 0)
        return -1;
    stats->already_archived = true;
    stats->bytes_in = size;
    stats->bytes_out = stored;
    return 0;
}

int
archive_push_file(const struct cfg *cfg, struct repo *repo, const struct pg_control *pgc,
                  const char *path, const char *name, struct archive_stats *stats,
                  struct ws_err *err)
{
    struct wal_name wn;
    struct repo_put put;
    struct repo_object obj;
    struct filter *head = NULL;
    struct stat sb;
    uint64_t    stored = 0;
    char        key[REPO_KEY_MAX];
    double      t0 = clock_now_s();
    int         fd = -1;
    int         rc = -1;

    memset(stats, 0, sizeof(*stats));
    if (wal_parse(name, pgc->wal_segment_size, &wn) < 0 ||
        wal_repo_key(name, key, sizeof(key)) < 0)
    {
        err_set(err, WS_EINPUT, "\"%s\" is not a WAL file name", name);
        err_hint(err, "Use archive_command = 'walship-archive %%p %%f' (path first, then name).");
        goto out;
    }
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
    {
        err_set_errno(err, WS_EINPUT, errno, "could not open file \"%s\"", path);
        goto out;
    }
    if (fstat(fd, &sb) < 0)
    {
        err_set_errno(err, WS_EINPUT, errno, "could not stat file \"%s\"", path);
        goto out;
    }
    if (!S_ISREG(sb.st_mode))
    {
        err_set(err, WS_EINPUT, "\"%s\" is not a regular file", path);
        goto out;
    }
    if ((wn.kind == WAL_KIND_SEGMENT || wn.kind == WAL_KIND_PARTIAL) &&
        (uint64_t) sb.st_size != pgc->wal_segment_size)
    {
        err_set(err, WS_EINPUT, "WAL file \"%s\" has size %lld, but the cluster's WAL segment size is %u",
                path, (long long) sb.st_size, pgc->wal_segment_size);
        goto out;
    }
    (void) posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);

    /*
     * Create-if-absent first, compare only when the store says the name
     * exists: a new segment costs one write request (S3: one PUT with
     * If-None-Match: *), and an existing one is never overwritten.  The
     * price is paid only by a re-push (after a crash, or a racing
     * archiver): the file is compressed and sent once for nothing.
     */
    repo_put_init(&put, cfg);
    put.size_hint = (uint64_t) sb.st_size;
    put.size_exact = true;     /* PostgreSQL does not change a file it is archiving */
    head = repo_put_open(repo, key, &put, err);
    if (head == NULL)
        goto out;
    if (filter_pump_fd(fd, path, head, err) < 0)
        goto out;
    if (filter_finish(head, err) < 0)
    {
        if (err->code != WS_EEXISTS)
            goto out;
        /* Already there (stored before, or by another process meanwhile): compare. */
        filter_free(head);
        head = NULL;
        err_clear(err);
        if (compare_existing(repo, key, name, fd, path, &stored, &stats->xxh64, err) == 0)
            rc = already_archived(repo, key, (uint64_t) sb.st_size, stored, stats, err);
        goto out;
    }
    repo_put_result(head, &obj);
    stats->bytes_in = obj.size;
    stats->bytes_out = obj.stored;
    stats->xxh64 = obj.xxh64;
    rc = 0;
out:
    filter_free(head);
    if (fd >= 0)
        close(fd);
    stats->seconds = clock_now_s() - t0;
    return rc;
}

/* ---- parallel push, the spool and the safety valve ------------------------------ */

/*
 * Segments pushed per call: archive_parallel at a time, and up to
 * BATCH_PER_THREAD times that many in all, so that the descriptor read and
 * the process start are shared by many segments and the threads are not
 * left idle waiting for the slowest of a small batch.
 */
#define BATCH_PER_THREAD 4

struct batch_item
{
    char        name[WAL_NAME_MAX + 1];
    char        path[PATH_MAX];
    int         rc;
    struct ws_err err;
    struct archive_stats st;
};

struct batch
{
    const struct cfg *cfg;
    struct repo *repo;
    const struct pg_control *pgc;
    struct batch_item *items;
    size_t      n;
    size_t      next;
    pthread_mutex_t mu;
};

static void *
batch_worker(void *arg)
{
    struct batch *b = arg;

    for (;;)
    {
        struct batch_item *it;

        pthread_mutex_lock(&b->mu);
        it = b->next < b->n ? &b->items[b->next++] : NULL;
        pthread_mutex_unlock(&b->mu);
        if (it == NULL)
            return NULL;
        err_clear(&it->err);
        it->rc = archive_push_file(b->cfg, b->repo, b->pgc, it->path, it->name, &it->st,
                                   &it->err);
    }
}

/* What archive_status says is waiting, as far as the batch and the valve care. */
struct ready_scan
{
    char      (*names)[WAL_NAME_MAX + 1];  /* ready segments after the requested one, same timeline */
    size_t      n;
    size_t      cap;
    uint64_t    segments;                   /* every ready segment (any timeline) */
};

static int
name_cmp(const void *a, const void *b)
{
    return strcmp(a, b);
}

/*
 * Scan dir/archive_status.  A missing directory (%p outside pg_wal, as
 * when run by hand) is an empty scan.  Only segments count: history,
 * .backup and .partial files are left to the archiver, which archives
 * history files first anyway (pgarch.c).
 */
static int
ready_scan(const char *status_dir, const struct wal_name *req, const char *reqname,
           uint32_t seg_size, struct ready_scan *rs, struct ws_err *err)
{
    DIR        *d = opendir(status_dir);
    struct dirent *de;

    memset(rs, 0, sizeof(*rs));
    if (d == NULL)
        return errno == ENOENT || errno == ENOTDIR ? 0 :
            err_set_errno(err, WS_EIO, errno, "could not open directory \"%s\"", status_dir);
    while ((de = readdir(d)) != NULL)
    {
        char        name[WAL_NAME_MAX + 1];
        struct wal_name wn;
        size_t      len = strlen(de->d_name);

        if (len < 7 || len - 6 > WAL_NAME_MAX || strcmp(de->d_name + len - 6, ".ready") != 0)
            continue;
        memcpy(name, de->d_name, len - 6);
        name[len - 6] = '\0';
        if (wal_parse(name, seg_size, &wn) < 0 || wn.kind != WAL_KIND_SEGMENT)
            continue;
        rs->segments++;
        if (req == NULL || wn.timeline != req->timeline || strcmp(name, reqname) <= 0)
            continue;
        if (rs->n == rs->cap)
        {
            size_t      cap = rs->cap ? rs->cap * 2 : 64;
            void       *p = realloc(rs->names, cap * sizeof(*rs->names));

            if (p == NULL)
            {
                closedir(d);
                return err_set(err, WS_EINTERNAL, "out of memory");
            }
            rs->names = p;
            rs->cap = cap;
        }
        memcpy(rs->names[rs->n++], name, len - 5);
    }
    closedir(d);
    /* same timeline, fixed-width upper-case hex: name order is WAL order */
    if (rs->n > 1)
        qsort(rs->names, rs->n, sizeof(*rs->names), name_cmp);
    return 0;
}

/* dir of path ("." for a bare name) into buf. */
static int
dir_of(const char *path, char *buf, size_t len)
{
    const char *slash = strrchr(path, '/');
    int         n;

    if (slash == NULL)
        n = snprintf(buf, len, ".");
    else if (slash == path)
        n = snprintf(buf, len, "/");
    else
        n = snprintf(buf, len, "%.*s", (int) (slash - path), path);
    return n < 0 || (size_t) n >= len ? -1 : 0;
}

/*
 * The safety valve (archive_queue_max): the marker object that makes the
 * drop visible in the repository.  docs/walship-archive.md describes it.
 */
static int
drop_marker(struct repo *repo, const char *name, uint64_t size, uint64_t waiting,
            uint64_t limit, struct ws_err *err)
{
    char        key[REPO_KEY_MAX];
    char        text[1024];
    char        when[32];
    time_t      now = time(NULL);
    struct tm   tm;
    int         n;

    gmtime_r(&now, &tm);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (snprintf(key, sizeof(key), "%s%s", ARCHIVE_DROPPED_PREFIX, name) >= (int) sizeof(key))
        return err_set(err, WS_EINTERNAL, "marker key too long");
    n = snprintf(text, sizeof(text),
                 "walship dropped WAL 1\nname = %s\nsize = %" PRIu64 "\ndropped = %s\n"
                 "waiting_bytes = %" PRIu64 "\narchive_queue_max = %" PRIu64 "\n"
                 "system_identifier = %" PRIu64 "\n",
                 name, size, when, waiting, limit, repo_system_identifier(repo));
    if (n < 0 || (size_t) n >= sizeof(text))
        return err_set(err, WS_EINTERNAL, "marker too long");
    return repo_raw_put(repo, key, REPO_REPLACE, text, (size_t) n, err);
}

/* Push the batch's extra items (the requested one is items[0]) and record each success. */
static void
batch_finish(const struct batch *b, const char *spool, struct archive_stats *stats)
{
    for (size_t i = 1; i < b->n; i++)
    {
        const struct batch_item *it = &b->items[i];
        struct archive_spool_record rec;
        struct ws_err werr = WS_ERR_INIT;

        if (it->rc < 0)
        {
            /* the archiver will call for it and push it (or say why not) itself */
            if (it->err.code == WS_EINPUT && it->err.sys_errno == ENOENT)
                log_debug("ready WAL file \"%s\" vanished before it was pushed", it->name);
            else
                log_warning("could not push ready WAL file \"%s\" ahead: %s", it->name,
                            it->err.msg);
            continue;
        }
        memset(&rec, 0, sizeof(rec));
        snprintf(rec.name, sizeof(rec.name), "%s", it->name);
        rec.size = it->st.bytes_in;
        rec.xxh64 = it->st.xxh64;
        rec.stored = it->st.bytes_out;
        rec.system_identifier = b->pgc->system_identifier;
        snprintf(rec.repo, sizeof(rec.repo), "%s", b->cfg->repo);
        if (archive_spool_write(spool, &rec, &werr) < 0)
        {
            /* no record costs a push later, never a wrong answer */
            log_warning("%s", werr.msg);
            continue;
        }
        stats->ahead++;
        stats->ahead_bytes_in += it->st.bytes_in;
        stats->ahead_bytes_out += it->st.bytes_out;
    }
}

/*
 * Remove what the spool no longer needs: records whose file is no longer
 * ready (the archiver is done with it, or it is gone) and temporary files
 * of writers that died.  Only ever removes: a missing record costs a push.
 */
static void
spool_clean(const char *spool, const char *status_dir)
{
    DIR        *d = opendir(spool);
    struct dirent *de;
    time_t      now = time(NULL);

    if (d == NULL)
        return;
    while ((de = readdir(d)) != NULL)
    {
        char        p[PATH_MAX];
        struct stat sb;

        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (de->d_name[0] == '.')
        {
            if (snprintf(p, sizeof(p), "%s/%s", spool, de->d_name) < (int) sizeof(p) &&
                lstat(p, &sb) == 0 && now - sb.st_mtime > 3600)
                (void) unlink(p);
            continue;
        }
        if (wal_parse(de->d_name, 0, NULL) < 0)
            continue;
        if (snprintf(p, sizeof(p), "%s/%s.ready", status_dir, de->d_name) < (int) sizeof(p) &&
            lstat(p, &sb) < 0 && errno == ENOENT)
            archive_spool_forget(spool, de->d_name);
    }
    closedir(d);
}

int
archive_push(const struct cfg *cfg, const char *path, const char *name,
             struct archive_stats *stats, struct ws_err *err)
{
    struct pg_control pgc;
    struct repo *repo = NULL;
    struct archive_spool_record rec;
    struct ready_scan rs;
    struct wal_name wn;
    struct batch b;
    pthread_t   tids[64];
    char        wal_dir[PATH_MAX], status_dir[PATH_MAX + 32], spool[PATH_MAX + 32];
    int         nthreads = 0;
    double      t0 = clock_now_s();
    int         rc = -1;

    memset(stats, 0, sizeof(*stats));
    memset(&rs, 0, sizeof(rs));
    memset(&b, 0, sizeof(b));
    if (pgcontrol_read(cfg->pgdata, &pgc, err) < 0)
        return -1;
    if (dir_of(path, wal_dir, sizeof(wal_dir)) < 0)
        return err_set(err, WS_EINPUT, "path \"%s\" too long", path);
    snprintf(status_dir, sizeof(status_dir), "%s/archive_status", wal_dir);
    snprintf(spool, sizeof(spool), "%s/%s", wal_dir, ARCHIVE_SPOOL_DIR);
    if (wal_parse(name, pgc.wal_segment_size, &wn) < 0)
        memset(&wn, 0, sizeof(wn));     /* archive_push_file says why */

    /* Pushed ahead by an earlier call?  A local check, no request. */
    if (wn.kind != WAL_KIND_INVALID &&
        archive_spool_check(spool, name, path, cfg->repo, pgc.system_identifier, &rec))
    {
        archive_spool_forget(spool, name);
        stats->already_archived = true;
        stats->from_spool = true;
        stats->bytes_in = rec.size;
        stats->bytes_out = rec.stored;
        stats->xxh64 = rec.xxh64;
        stats->seconds = clock_now_s() - t0;
        return 0;
    }

    if (ready_scan(status_dir, wn.kind == WAL_KIND_SEGMENT ? &wn : NULL, name,
                   pgc.wal_segment_size, &rs, err) < 0)
        goto out;
    if (repo_open(cfg, &pgc, &repo, err) < 0)
        goto out;

    /* The safety valve: past archive_queue_max, a segment is dropped, loudly. */
    if (cfg->archive_queue_max > 0 && wn.kind == WAL_KIND_SEGMENT &&
        rs.segments * (uint64_t) pgc.wal_segment_size > cfg->archive_queue_max)
    {
        uint64_t    waiting = rs.segments * (uint64_t) pgc.wal_segment_size;
        char        w[32], l[32];

        num_format_size(waiting, w, sizeof(w));
        num_format_size(cfg->archive_queue_max, l, sizeof(l));
        if (drop_marker(repo, name, pgc.wal_segment_size, waiting, cfg->archive_queue_max,
                        err) < 0)
        {
            /* an invisible gap is worse than a full disk's warning: retry later */
            err_prefix(err, "could not record the drop of WAL file \"%s\"", name);
            goto out;
        }
        log_warning("dropped WAL file \"%s\" without archiving it: %s of WAL waits, more than archive_queue_max = %s",
                    name, w, l);
        log_detail("Point-in-time recovery across this segment is no longer possible; the repository holds the marker \"%s%s\".",
                   ARCHIVE_DROPPED_PREFIX, name);
        log_hint("Take a new base backup once archiving keeps up again.");
        stats->dropped = true;
        stats->bytes_in = pgc.wal_segment_size;
        rc = 0;
        goto out;
    }

    /* The requested file first, then the next ready segments of its timeline. */
    {
        size_t      max = wn.kind == WAL_KIND_SEGMENT && cfg->archive_parallel > 1 ?
            (size_t) cfg->archive_parallel * BATCH_PER_THREAD : 1;

        b.items = calloc(max, sizeof(*b.items));
        if (b.items == NULL)
        {
            err_set(err, WS_EINTERNAL, "out of memory");
            goto out;
        }
        snprintf(b.items[0].name, sizeof(b.items[0].name), "%s", name);
        snprintf(b.items[0].path, sizeof(b.items[0].path), "%s", path);
        b.n = 1;
        for (size_t i = 0; i < rs.n && b.n < max; i++)
        {
            if (archive_spool_exists(spool, rs.names[i]))
                continue;       /* pushed already; its record is checked when asked */
            if (snprintf(b.items[b.n].path, sizeof(b.items[b.n].path), "%s/%s", wal_dir,
                         rs.names[i]) >= (int) sizeof(b.items[b.n].path))
                continue;
            memcpy(b.items[b.n].name, rs.names[i], sizeof(b.items[b.n].name));
            b.n++;
        }
    }
    b.cfg = cfg;
    b.repo = repo;
    b.pgc = &pgc;
    if (b.n == 1)
        batch_worker(&b);
    else
    {
        int         want = cfg->archive_parallel < (int) b.n ? cfg->archive_parallel : (int) b.n;

        pthread_mutex_init(&b.mu, NULL);
        for (; nthreads < want; nthreads++)
            if (pthread_create(&tids[nthreads], NULL, batch_worker, &b) != 0)
                break;
        if (nthreads == 0)
            batch_worker(&b);
        for (int i = 0; i < nthreads; i++)
            pthread_join(tids[i], NULL);
        pthread_mutex_destroy(&b.mu);
        batch_finish(&b, spool, stats);
        spool_clean(spool, status_dir);
    }
    {
        uint32_t    ahead = stats->ahead;
        uint64_t    ain = stats->ahead_bytes_in, aout = stats->ahead_bytes_out;

        *stats = b.items[0].st;
        stats->ahead = ahead;
        stats->ahead_bytes_in = ain;
        stats->ahead_bytes_out = aout;
    }
    if (b.items[0].rc < 0)
    {
        *err = b.items[0].err;
        goto out;
    }
    rc = 0;
out:
    free(b.items);
    free(rs.names);
    repo_close(repo);
    stats->seconds = clock_now_s() - t0;
    return rc;
}
