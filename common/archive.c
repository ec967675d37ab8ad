/*
 * archive.c — archive_push: PostgreSQL's archive_command contract.
 *
 * "The archive command should generally be designed to refuse to overwrite
 * any pre-existing archive file" and "it is advisable to ... return zero if
 * the file is identical" (PostgreSQL docs, 26.3.1 Setting Up WAL Archiving):
 * after a crash the archiver may hand us a file we already stored.  So an
 * existing object is compared with the file: the object's end record holds
 * the plaintext size and XXH64, read without reading the body (two small
 * range reads), against one hashing pass over the local file.  An identical
 * object may still be only visible, not durable (its writer died between
 * link() and the directory fsync), so before answering 0, which lets
 * PostgreSQL recycle the segment, it is synced (storage_sync).
 */
#include "archive.h"
#include "checksum.h"
#include "log.h"
#include "object.h"
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

static double
now_seconds(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Hash the local file (one pass): size and XXH64. */
static int
hash_file(int fd, const char *path, uint64_t *size, uint64_t *xxh, struct ws_err *err)
{
    struct filter *h = filter_hash_new(NULL);
    int         rc = -1;

    if (h == NULL)
        return err_set(err, WS_EINTERNAL, "out of memory");
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
 * Compare the existing object `key` with the local file (or, when `mine` is
 * given, with the plaintext size and XXH64 this process just stored, without
 * reading the file again).  0 = identical, -1 with WS_EEXISTS_DIFFERENT (or
 * another error) otherwise.
 */
static int
compare_existing(struct repo *repo, const char *key, const char *name, int fd, const char *path,
                 uint64_t obj_size, const struct object_trailer *mine, struct ws_err *err)
{
    struct filter *hbuf = filter_mem_new(OBJECT_HEADER_MAX);
    struct filter *ebuf = filter_mem_new(OBJECT_END_LEN);
    const unsigned char *hdr, *end;
    size_t      hlen, elen;
    struct object_header h;
    struct object_trailer t;
    uint64_t    size, xxh, implied;
    int         rc = -1;

    if (hbuf == NULL || ebuf == NULL)
    {
        err_set(err, WS_EINTERNAL, "out of memory");
        goto out;
    }
    if (obj_size < OBJECT_END_LEN + OBJECT_HEADER_FIXED)
    {
        err_set(err, WS_EEXISTS_DIFFERENT, "object \"%s\" already exists and is damaged (%" PRIu64 " bytes)",
                key, obj_size);
        goto out;
    }
    if (storage_get(repo->storage, key, 0,
                    obj_size - OBJECT_END_LEN < OBJECT_HEADER_MAX ? obj_size - OBJECT_END_LEN
                    : OBJECT_HEADER_MAX, hbuf, err) < 0 ||
        storage_get(repo->storage, key, obj_size - OBJECT_END_LEN, OBJECT_END_LEN, ebuf, err) < 0)
        goto out;
    hdr = filter_mem_data(hbuf, &hlen);
    end = filter_mem_data(ebuf, &elen);
    if (elen != OBJECT_END_LEN ||
        object_peek(hdr, hlen, end, repo->encrypted ? repo->master : NULL, key, &h, &t, err) < 0)
    {
        char        msg[sizeof(err->msg)];

        memcpy(msg, err->msg, sizeof(msg));
        err_set(err, WS_EEXISTS_DIFFERENT, "WAL file \"%s\" is already archived, but the existing object is unreadable",
                name);
        err_detail(err, "%s", msg);
        err_hint(err, "Inspect object \"%s\"; walship never overwrites an archived file.", key);
        goto out;
    }
    /*
     * The object's length must be what its end record implies.  This catches
     * a truncated or extended object without reading its body; bit rot
     * inside the body is for "walship verify", which reads everything.
     */
    if (object_stored_length(h.header_len, &t, &implied) < 0 || obj_size != implied)
    {
        err_set(err, WS_EEXISTS_DIFFERENT, "WAL file \"%s\" is already archived, but the existing object is damaged",
                name);
        if (object_stored_length(h.header_len, &t, &implied) < 0)
            err_detail(err, "Object \"%s\" has %" PRIu64 " bytes; its end record claims an impossible length.",
                       key, obj_size);
        else
            err_detail(err, "Object \"%s\" has %" PRIu64 " bytes; its end record implies %" PRIu64 ".",
                       key, obj_size, implied);
        err_hint(err, "walship never overwrites an archived file: move the damaged object aside, then archiving resumes.");
        goto out;
    }
    if (mine != NULL)
    {
        size = mine->plain_size;
        xxh = mine->xxh64;
    }
    else if (hash_file(fd, path, &size, &xxh, err) < 0)
        goto out;
    if (size != t.plain_size || xxh != t.xxh64)
    {
        err_set(err, WS_EEXISTS_DIFFERENT,
                "WAL file \"%s\" is already archived with different content", name);
        err_detail(err, "The archived copy has %" PRIu64 " bytes (XXH64 %016" PRIx64 "), \"%s\" has %" PRIu64 " bytes (XXH64 %016" PRIx64 ").",
                   t.plain_size, t.xxh64, path, size, xxh);
        err_hint(err, "Two clusters may be archiving into the same repository, or this cluster was restored without a new timeline. walship does not overwrite archived WAL.");
        goto out;
    }
    rc = 0;
out:
    filter_free(hbuf);
    filter_free(ebuf);
    return rc;
}

int
archive_push_file(const struct cfg *cfg, struct repo *repo, const struct pg_control *pgc,
                  const char *path, const char *name, struct archive_stats *stats,
                  struct ws_err *err)
{
    struct wal_name wn;
    struct object_params op;
    struct object_trailer trailer;
    struct storage_info info;
    struct filter *sink = NULL;
    struct filter *head = NULL;
    struct stat sb;
    char        key[STORAGE_KEY_MAX];
    double      t0 = now_seconds();
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
    if (storage_head(repo->storage, key, &info, err) == 0)
    {
        if (compare_existing(repo, key, name, fd, path, info.size, NULL, err) < 0 ||
            storage_sync(repo->storage, key, err) < 0)
            goto out;
        stats->already_archived = true;
        stats->bytes_in = (uint64_t) sb.st_size;
        stats->bytes_out = info.size;
        rc = 0;
        goto out;
    }
    if (err->code != WS_ENOTFOUND)
        goto out;
    err_clear(err);

    memset(&op, 0, sizeof(op));
    op.compression = cfg->compression;
    op.level = cfg->compression_level;
    op.threads = cfg->compression_threads;
    op.master_key = repo->encrypted ? repo->master : NULL;
    op.size_hint = (uint64_t) sb.st_size;
    op.size_exact = true;      /* PostgreSQL does not change a file it is archiving */
    if (storage_put_open(repo->storage, key, STORAGE_PUT_NO_OVERWRITE, &sink, err) < 0)
        goto out;
    head = object_writer_new(&op, key, sink, err);
    sink = NULL;
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
        if (storage_head(repo->storage, key, &info, err) < 0 ||
            compare_existing(repo, key, name, fd, path, info.size, NULL, err) < 0 ||
            storage_sync(repo->storage, key, err) < 0)
            goto out;
        stats->already_archived = true;
        stats->bytes_in = (uint64_t) sb.st_size;
        stats->bytes_out = info.size;
        rc = 0;
        goto out;
    }
    object_writer_trailer(head, &trailer);
    stats->bytes_in = trailer.plain_size;
    if (object_stored_length(object_header_len(key), &trailer, &stats->bytes_out) < 0)
        stats->bytes_out = 0;   /* not reachable for an object this process wrote */
    rc = 0;
out:
    filter_free(head);
    filter_free(sink);
    if (fd >= 0)
        close(fd);
    stats->seconds = now_seconds() - t0;
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
