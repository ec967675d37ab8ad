/*
 * storage_fs.c — the filesystem driver: a repository is a directory.
 *
 * put writes "<dir>/.<name>.tmp.<pid>.<random>", fsyncs it, then makes it
 * visible in one atomic step: rename() to overwrite, or link() for
 * create-if-absent (link fails with EEXIST atomically, so two writers can
 * never both win), and fsyncs the directory so the new name survives a
 * crash (see PostgreSQL's durable_rename()).  A crash before that step
 * leaves only a dot-named temporary file, which list never shows.  Every
 * directory on the way is fsynced into its parent, new or not (its creator
 * may have died before doing so), and sync fsyncs an existing object and
 * every directory up to the root, for a writer that died after link().
 * Directories are created 0700, files 0600: the repository holds a
 * database's history.
 */
#include "storage.h"
#include "fileutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sys/random.h>

struct storage_fs
{
    struct storage base;
    char        root[PATH_MAX];
};

static int
fs_path(const struct storage_fs *fs, const char *key, char *buf, size_t len, struct ws_err *err)
{
    if (snprintf(buf, len, "%s/%s", fs->root, key) >= (int) len)
        return err_set(err, WS_EINPUT, "path for object \"%s\" is too long", key);
    return 0;
}

/* What an operation needs of the repository, for the hint on EACCES. */
enum fs_access
{
    FS_READ,
    FS_WRITE
};

static void
fs_access_hint(struct ws_err *err, enum fs_access access)
{
    if (err->sys_errno == EACCES || err->sys_errno == EPERM || err->sys_errno == EROFS)
        err_hint(err, "Check that the repository directory is %s by the user running walship.",
                 access == FS_READ ? "readable" : "writable");
}

/* Map an errno from a repository operation; ENOENT of a parent is not "not found". */
static int
fs_errno(struct ws_err *err, int e, enum fs_access access, const char *fmt, const char *path)
{
    err_set_errno(err, WS_OK, e, fmt, path);
    fs_access_hint(err, access);
    return -1;
}

/* ---- put sink ---- */

struct fs_sink
{
    struct filter base;
    int         fd;
    unsigned    flags;
    bool        done;
    char        final[PATH_MAX];
    char        tmp[PATH_MAX];
};

static int
sink_write(struct filter *f, const void *buf, size_t len, struct ws_err *err)
{
    struct fs_sink *s = (struct fs_sink *) f;

    return file_write_all(s->fd, buf, len, s->tmp, err);
}

static int
sink_finish(struct filter *f, struct ws_err *err)
{
    struct fs_sink *s = (struct fs_sink *) f;
    int         fd = s->fd;

    s->fd = -1;
    if (fsync(fd) < 0)
    {
        int         e = errno;

        close(fd);
        return fs_errno(err, e, FS_WRITE, "could not fsync file \"%s\"", s->tmp);
    }
    if (close(fd) < 0)
        return fs_errno(err, errno, FS_WRITE, "could not close file \"%s\"", s->tmp);

    if (s->flags & STORAGE_PUT_NO_OVERWRITE)
    {
        if (link(s->tmp, s->final) < 0)
        {
            int         e = errno;

            if (e == EEXIST)
                return err_set(err, WS_EEXISTS, "object \"%s\" already exists", s->final);
            if (e != EPERM && e != ENOTSUP && e != EOPNOTSUPP && e != EMLINK)
                return fs_errno(err, e, FS_WRITE, "could not link file \"%s\"", s->final);
            /* filesystem without hard links: check, then rename (not atomic) */
            if (file_exists(s->final))
                return err_set(err, WS_EEXISTS, "object \"%s\" already exists", s->final);
            if (rename(s->tmp, s->final) < 0)
                return fs_errno(err, errno, FS_WRITE, "could not rename to \"%s\"", s->final);
        }
        else
            unlink(s->tmp);
    }
    else if (rename(s->tmp, s->final) < 0)
        return fs_errno(err, errno, FS_WRITE, "could not rename to \"%s\"", s->final);
    s->done = true;
    return file_fsync_parent(s->final, err);
}

static void
sink_free(struct filter *f)
{
    struct fs_sink *s = (struct fs_sink *) f;

    if (s->fd >= 0)
        close(s->fd);
    if (!s->done)
        unlink(s->tmp);
    free(s);
}

static const struct filter_ops sink_ops = {"fs-put", sink_write, sink_finish, sink_free};

static int
fs_put_open(struct storage *st, const char *key, unsigned flags, struct filter **out,
            struct ws_err *err)
{
    struct storage_fs *fs = (struct storage_fs *) st;
    struct fs_sink *s = calloc(1, sizeof(*s));
    unsigned char rnd[6];
    char       *slash;
    char        dir[PATH_MAX];

    if (s == NULL)
        return err_set(err, WS_EINTERNAL, "out of memory");
    s->base.ops = &sink_ops;
    s->fd = -1;
    s->flags = flags;
    if (fs_path(fs, key, s->final, sizeof(s->final), err) < 0)
        goto fail;
    if (file_mkdir_parents(fs->root, key, err) < 0)
    {
        fs_access_hint(err, FS_WRITE);
        goto fail;
    }
    snprintf(dir, sizeof(dir), "%s", s->final);
    slash = strrchr(dir, '/');
    *slash = '\0';
    /* getrandom, not OpenSSL: unencrypted archiving never pays for OpenSSL's start-up */
    if (getrandom(rnd, sizeof(rnd), GRND_NONBLOCK) != (ssize_t) sizeof(rnd))
        memset(rnd, 0, sizeof(rnd));    /* the pid still makes the name unique */
    if (snprintf(s->tmp, sizeof(s->tmp), "%s/.%s.tmp.%ld.%02x%02x%02x%02x%02x%02x", dir,
                 slash + 1, (long) getpid(), rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5])
        >= (int) sizeof(s->tmp))
    {
        err_set(err, WS_EINPUT, "path for object \"%s\" is too long", key);
        goto fail;
    }
    s->fd = open(s->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    /* a concurrent remove may have pruned the just-created, still empty directory */
    for (int retry = 0; s->fd < 0 && errno == ENOENT && retry < 3; retry++)
    {
        if (file_mkdir_parents(fs->root, key, err) < 0)
            goto fail;
        s->fd = open(s->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    }
    if (s->fd < 0)
    {
        fs_errno(err, errno, FS_WRITE, "could not create file \"%s\"", s->tmp);
        if (err->code == WS_ENOTFOUND)
            err->code = WS_EIO;
        s->done = true;     /* nothing to unlink */
        goto fail;
    }
    *out = &s->base;
    return 0;
fail:
    s->done = s->done || s->fd < 0;
    sink_free(&s->base);
    return -1;
}

/* ---- get / head / list / remove ---- */

/* Open an object for reading into path; a missing one is WS_ENOTFOUND.  The fd or -1. */
static int
fs_open_object(struct storage_fs *fs, const char *key, char *path, size_t len, struct ws_err *err)
{
    int         fd;

    if (fs_path(fs, key, path, len, err) < 0)
        return -1;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
    {
        if (errno == ENOENT)
            err_set(err, WS_ENOTFOUND, "object \"%s\" not found in repository \"%s\"",
                    key, fs->base.location);
        else
            fs_errno(err, errno, FS_READ, "could not open file \"%s\"", path);
    }
    return fd;
}

#define GET_BLOCK (1024 * 1024)

static int
fs_get(struct storage *st, const char *key, uint64_t offset, uint64_t length,
       struct filter *sink, struct ws_err *err)
{
    struct storage_fs *fs = (struct storage_fs *) st;
    char        path[PATH_MAX];
    unsigned char *buf = NULL;
    uint64_t    left = length ? length : UINT64_MAX;
    int         fd = -1;
    int         rc = -1;

    if ((fd = fs_open_object(fs, key, path, sizeof(path), err)) < 0)
        return -1;
    (void) posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    buf = malloc(GET_BLOCK);
    if (buf == NULL)
    {
        err_set(err, WS_EINTERNAL, "out of memory");
        goto out;
    }
    while (left > 0)
    {
        size_t      want = left < GET_BLOCK ? (size_t) left : GET_BLOCK;
        ssize_t     n = pread(fd, buf, want, (off_t) offset);

        if (n < 0)
        {
            if (errno == EINTR)
                continue;
            fs_errno(err, errno, FS_READ, "could not read file \"%s\"", path);
            goto out;
        }
        if (n == 0)
        {
            if (length)
            {
                err_set(err, WS_ECORRUPT, "object \"%s\" is shorter than expected", key);
                goto out;
            }
            break;
        }
        if (filter_write(sink, buf, (size_t) n, err) < 0)
            goto out;
        offset += (uint64_t) n;
        left -= (uint64_t) n;
    }
    rc = 0;
out:
    free(buf);
    close(fd);
    return rc;
}

static int
fs_head(struct storage *st, const char *key, struct storage_info *info, struct ws_err *err)
{
    struct storage_fs *fs = (struct storage_fs *) st;
    char        path[PATH_MAX];
    struct stat sb;

    if (fs_path(fs, key, path, sizeof(path), err) < 0)
        return -1;
    if (stat(path, &sb) < 0)
    {
        if (errno == ENOENT)
            return err_set(err, WS_ENOTFOUND, "object \"%s\" not found in repository \"%s\"",
                           key, st->location);
        return fs_errno(err, errno, FS_READ, "could not stat file \"%s\"", path);
    }
    if (!S_ISREG(sb.st_mode))
        return err_set(err, WS_EIO, "\"%s\" is not a regular file", path);
    info->size = (uint64_t) sb.st_size;
    info->mtime = (int64_t) sb.st_mtime;
    return 0;
}

static int
list_dir(struct storage_fs *fs, const char *rel, const char *prefix, storage_list_cb cb,
         void *arg, struct ws_err *err)
{
    char        path[PATH_MAX];
    DIR        *d;
    struct dirent *de;
    int         rc = 0;

    if (snprintf(path, sizeof(path), "%s%s%s", fs->root, rel[0] ? "/" : "", rel)
        >= (int) sizeof(path))
        return err_set(err, WS_EIO, "path \"%s/%s\" is too long", fs->root, rel);
    d = opendir(path);
    if (d == NULL)
    {
        if (errno == ENOENT)
            return 0;
        return fs_errno(err, errno, FS_READ, "could not open directory \"%s\"", path);
    }
    while ((de = readdir(d)) != NULL)
    {
        char        key[STORAGE_KEY_MAX];
        struct stat sb;
        size_t      klen;

        if (de->d_name[0] == '.')
            continue;           /* ".", "..", and temporary files */
        if (snprintf(key, sizeof(key), "%s%s%s", rel, rel[0] ? "/" : "", de->d_name)
            >= (int) sizeof(key))
            continue;
        klen = strlen(key);
        /* prune: descend only where the prefix can still match */
        if (strncmp(key, prefix, klen < strlen(prefix) ? klen : strlen(prefix)) != 0)
            continue;
        /* relative to the open directory: no walk of the whole path per entry */
        if (fstatat(dirfd(d), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) < 0)
            continue;           /* removed meanwhile */
        if (S_ISDIR(sb.st_mode))
            rc = list_dir(fs, key, prefix, cb, arg, err);
        else if (S_ISREG(sb.st_mode) && strncmp(key, prefix, strlen(prefix)) == 0)
        {
            struct storage_info info = {.size = (uint64_t) sb.st_size, .mtime = (int64_t) sb.st_mtime};

            rc = cb(key, &info, arg, err);
        }
        if (rc < 0)
            break;
    }
    closedir(d);
    return rc;
}

static int
fs_list(struct storage *st, const char *prefix, storage_list_cb cb, void *arg,
        struct ws_err *err)
{
    return list_dir((struct storage_fs *) st, "", prefix ? prefix : "", cb, arg, err);
}

static int
fs_remove(struct storage *st, const char *key, struct ws_err *err)
{
    struct storage_fs *fs = (struct storage_fs *) st;
    char        path[PATH_MAX];

    if (fs_path(fs, key, path, sizeof(path), err) < 0)
        return -1;
    if (unlink(path) < 0)
    {
        if (errno == ENOENT)
            return 0;
        return fs_errno(err, errno, FS_WRITE, "could not remove file \"%s\"", path);
    }
    if (file_fsync_parent(path, err) < 0)
        return -1;
    /*
     * Prune directories the removal left empty (backups/<id>/ of a removed
     * backup), deepest first, keeping the first-level ones ("wal",
     * "backups").  rmdir fails on a directory that is not empty, so a
     * directory in use is never removed; a put racing with this recreates
     * its directory (fs_put_open).
     */
    for (const char *k = key + strlen(key); k > key; k--)
    {
        char        dir[PATH_MAX];

        if (*k != '/')
            continue;
        if (memchr(key, '/', (size_t) (k - key)) == NULL)
            break;              /* first level */
        if ((size_t) snprintf(dir, sizeof(dir), "%s/%.*s", fs->root, (int) (k - key), key) >= sizeof(dir) ||
            rmdir(dir) < 0)
            break;
    }
    return 0;
}

/*
 * fsync the object, then each directory from its own up to the root: its
 * writer may have died after link() and before the directory fsync, or
 * before fsyncing a directory it created.
 */
static int
fs_sync(struct storage *st, const char *key, struct ws_err *err)
{
    struct storage_fs *fs = (struct storage_fs *) st;
    char        path[PATH_MAX];
    int         fd;

    if ((fd = fs_open_object(fs, key, path, sizeof(path), err)) < 0)
        return -1;
    if (fsync(fd) < 0)
    {
        int         e = errno;

        close(fd);
        return fs_errno(err, e, FS_WRITE, "could not fsync file \"%s\"", path);
    }
    close(fd);
    for (const char *k = key + strlen(key); k > key; k--)
    {
        if (*k != '/')
            continue;
        if ((size_t) snprintf(path, sizeof(path), "%s/%.*s", fs->root, (int) (k - key), key)
            >= sizeof(path))
            return err_set(err, WS_EINPUT, "path for object \"%s\" is too long", key);
        if (file_fsync_dir(path, err) < 0)
            return -1;
    }
    return file_fsync_dir(fs->root, err);
}

static void
fs_free(struct storage *st)
{
    free(st);
}

static const struct storage_ops fs_ops = {
    .name = "fs",
    .features = STORAGE_F_ATOMIC_NO_OVERWRITE | STORAGE_F_RANGE_GET,
    .put_open = fs_put_open,
    .get = fs_get,
    .head = fs_head,
    .list = fs_list,
    .remove = fs_remove,
    .sync = fs_sync,
    .free = fs_free,
};

struct storage *
storage_fs_new(const char *root, struct ws_err *err)
{
    struct storage_fs *fs;
    struct stat sb;
    size_t      len = strlen(root);

    if (len == 0 || len >= PATH_MAX - STORAGE_KEY_MAX - 64)
    {
        err_set(err, WS_ECONFIG, "invalid repository path \"%s\"", root);
        return NULL;
    }
    if (stat(root, &sb) < 0)
    {
        err_set_errno(err, WS_EIO, errno, "repository directory \"%s\" is not accessible", root);
        if (errno == ENOENT)
            err_hint(err, "Create the directory (owned by the PostgreSQL user, mode 0700) or fix \"repo\".");
        return NULL;
    }
    if (!S_ISDIR(sb.st_mode))
    {
        err_set(err, WS_EIO, "repository \"%s\" is not a directory", root);
        return NULL;
    }
    fs = calloc(1, sizeof(*fs));
    if (fs == NULL)
    {
        err_set(err, WS_EINTERNAL, "out of memory");
        return NULL;
    }
    fs->base.ops = &fs_ops;
    snprintf(fs->base.location, sizeof(fs->base.location), "%s", root);
    snprintf(fs->root, sizeof(fs->root), "%s", root);
    while (len > 1 && fs->root[len - 1] == '/')
        fs->root[--len] = '\0';
    return &fs->base;
}
