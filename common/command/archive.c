/*
 * archive.c — archive_push: PostgreSQL's archive_command contract.
 *
 * "The archive command should generally be designed to refuse to overwrite
 * any pre-existing archive file" and "it is advisable to ... return zero if
 * the file is identical" (PostgreSQL docs, 26.3.1 Setting Up WAL Archiving):
 * after a crash the archiver may hand us a file we already stored.  So an
 * existing object is compared with the file: the object's end record holds
 * the plaintext size and XXH64, read without reading the body (repo_peek),
 * against one hashing pass over the local file.  An identical object may
 * still be only visible, not durable (its writer died between link() and the
 * directory fsync), so before answering 0, which lets PostgreSQL recycle the
 * segment, it is synced (repo_sync).
 */
#include "archive.h"
#include "checksum.h"
#include "clock.h"
#include "log.h"
#include "wal.h"

#include <errno.h>
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
                 uint64_t *stored, struct ws_err *err)
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

    /* Already there?  Compare instead of writing. */
    if (compare_existing(repo, key, name, fd, path, &stored, err) == 0)
    {
        rc = already_archived(repo, key, (uint64_t) sb.st_size, stored, stats, err);
        goto out;
    }
    if (err->code != WS_ENOTFOUND)
        goto out;
    err_clear(err);

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
        /* Another process stored it meanwhile: same rule as above. */
        filter_free(head);
        head = NULL;
        err_clear(err);
        if (compare_existing(repo, key, name, fd, path, &stored, err) == 0)
            rc = already_archived(repo, key, (uint64_t) sb.st_size, stored, stats, err);
        goto out;
    }
    repo_put_result(head, &obj);
    stats->bytes_in = obj.size;
    stats->bytes_out = obj.stored;
    rc = 0;
out:
    filter_free(head);
    if (fd >= 0)
        close(fd);
    stats->seconds = clock_now_s() - t0;
    return rc;
}

int
archive_push(const struct cfg *cfg, const char *path, const char *name,
             struct archive_stats *stats, struct ws_err *err)
{
    struct pg_control pgc;
    struct repo *repo = NULL;
    int         rc;

    memset(stats, 0, sizeof(*stats));
    if (pgcontrol_read(cfg->pgdata, &pgc, err) < 0)
        return -1;
    if (repo_open(cfg, &pgc, &repo, err) < 0)
        return -1;
    rc = archive_push_file(cfg, repo, &pgc, path, name, stats, err);
    repo_close(repo);
    return rc;
}
