/*
 * fileutil.c — see fileutil.h.
 */
#define _GNU_SOURCE             /* sync_file_range */
#include "fileutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int
file_write_all(int fd, const void *buf, size_t len, const char *what, struct ws_err *err)
{
    const unsigned char *p = buf;

    while (len > 0)
    {
        ssize_t     n = write(fd, p, len);

        if (n < 0)
        {
            if (errno == EINTR)
                continue;
            err_set_errno(err, WS_OK, errno, "could not write file \"%s\"", what);
            if (err->code == WS_ENOTFOUND)
                err->code = WS_EIO;
            return -1;
        }
        p += n;
        len -= (size_t) n;
    }
    return 0;
}

int
file_pread_all(int fd, void *buf, size_t len, long long offset, const char *what,
               struct ws_err *err)
{
    unsigned char *p = buf;

    while (len > 0)
    {
        ssize_t     n = pread(fd, p, len, (off_t) offset);

        if (n < 0)
        {
            if (errno == EINTR)
                continue;
            return err_set_errno(err, WS_EIO, errno, "could not read file \"%s\"", what);
        }
        if (n == 0)
            return err_set(err, WS_ECORRUPT, "unexpected end of file \"%s\"", what);
        p += n;
        len -= (size_t) n;
        offset += n;
    }
    return 0;
}

int
file_fsync_dir(const char *dir, struct ws_err *err)
{
    int         fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (fd < 0)
        return err_set_errno(err, WS_EIO, errno, "could not open directory \"%s\"", dir);
    /* Some filesystems refuse fsync on directories (EINVAL); nothing more to do there. */
    if (fsync(fd) < 0 && errno != EINVAL)
    {
        int         e = errno;

        close(fd);
        return err_set_errno(err, WS_EIO, e, "could not fsync directory \"%s\"", dir);
    }
    close(fd);
    return 0;
}

int
file_fsync_parent(const char *path, struct ws_err *err)
{
    char        dir[PATH_MAX];

    snprintf(dir, sizeof(dir), "%s", path);
    return file_fsync_dir(dirname(dir), err);
}

int
file_mkdir_parents(const char *root, const char *relpath, struct ws_err *err)
{
    char        path[PATH_MAX];
    size_t      rootlen = strlen(root);
    char       *p;

    if (snprintf(path, sizeof(path), "%s/%s", root, relpath) >= (int) sizeof(path))
        return err_set(err, WS_EINPUT, "path \"%s/%s\" is too long", root, relpath);
    /* Walk each '/' after root; the last component is the file itself. */
    for (p = path + rootlen + 1; (p = strchr(p, '/')) != NULL; p++)
    {
        *p = '\0';
        if (mkdir(path, 0700) < 0 && errno != EEXIST)
        {
            int         e = errno;

            err_set_errno(err, WS_OK, e, "could not create directory \"%s\"", path);
            if (err->code == WS_ENOTFOUND)
                err->code = WS_EIO;
            return -1;
        }
        /*
         * A new directory is durable only once its parent is fsynced.  One
         * that exists already may be just as new: another process may have
         * created it and died before its fsync.
         */
        if (file_fsync_parent(path, err) < 0)
            return -1;
        *p = '/';
    }
    return 0;
}

/* Deeper than any data directory; a loop or a hostile tree stops here. */
#define SYNC_TREE_MAX_DEPTH 64

/* One pass of file_sync_tree below dfd (path names it for messages). */
static int
sync_tree_at(int dfd, const char *path, bool flush_only, int depth, struct ws_err *err)
{
    DIR        *d;
    struct dirent *e;
    int         fd2;
    int         rc = 0;

    if (depth > SYNC_TREE_MAX_DEPTH)
        return err_set(err, WS_EIO, "could not sync directory \"%s\": nested more than %d deep",
                       path, SYNC_TREE_MAX_DEPTH);
    fd2 = dup(dfd);
    if (fd2 < 0)
        return err_set_errno(err, WS_EIO, errno, "could not read directory \"%s\"", path);
    d = fdopendir(fd2);
    if (d == NULL)
    {
        close(fd2);
        return err_set_errno(err, WS_EIO, errno, "could not read directory \"%s\"", path);
    }
    rewinddir(d);               /* the dup shares its position: the first pass read to the end */
    for (;;)
    {
        char        sub[PATH_MAX];
        unsigned char type;
        int         fd;

        errno = 0;
        e = readdir(d);
        if (e == NULL)
        {
            if (errno != 0)
                rc = err_set_errno(err, WS_EIO, errno, "could not read directory \"%s\"", path);
            break;
        }
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if ((size_t) snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name) >= sizeof(sub))
        {
            rc = err_set(err, WS_EIO, "could not sync \"%s/%s\": path too long", path,
                         e->d_name);
            break;
        }
        type = e->d_type;
        if (type == DT_UNKNOWN)
        {
            struct stat st;

            if (fstatat(dfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
            {
                rc = err_set_errno(err, WS_EIO, errno, "could not stat \"%s\"", sub);
                break;
            }
            type = S_ISDIR(st.st_mode) ? DT_DIR : S_ISREG(st.st_mode) ? DT_REG : DT_UNKNOWN;
        }
        if (type != DT_DIR && type != DT_REG)
            continue;           /* symbolic links are not followed */
        if (type == DT_REG && flush_only)
        {
            fd = openat(dfd, e->d_name,
                        O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
            if (fd < 0)
            {
                rc = err_set_errno(err, WS_EIO, errno, "could not open file \"%s\"", sub);
                break;
            }
            /* a hint: start writeback now; the fsync pass reports any error */
            (void) sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
            close(fd);
            continue;
        }
        fd = openat(dfd, e->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC |
                    (type == DT_DIR ? O_DIRECTORY : O_NONBLOCK | O_NOCTTY));
        if (fd < 0)
        {
            rc = err_set_errno(err, WS_EIO, errno, "could not open %s \"%s\"",
                               type == DT_DIR ? "directory" : "file", sub);
            break;
        }
        if (type == DT_DIR)
            rc = sync_tree_at(fd, sub, flush_only, depth + 1, err);
        else if (fsync(fd) < 0)
            rc = err_set_errno(err, WS_OK, errno, "could not fsync file \"%s\"", sub);
        close(fd);
        if (rc < 0)
            break;
    }
    closedir(d);
    if (rc == 0 && !flush_only && fsync(dfd) < 0 && errno != EINVAL)
        rc = err_set_errno(err, WS_OK, errno, "could not fsync directory \"%s\"", path);
    if (rc < 0 && err->code == WS_ENOTFOUND)
        err->code = WS_EIO;     /* a vanished file is not "not in the archive" */
    return rc;
}

int
file_sync_tree(const char *dir, struct ws_err *err)
{
    int         fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    int         rc;

    if (fd < 0)
        return err_set_errno(err, WS_EIO, errno, "could not open directory \"%s\"", dir);
    rc = sync_tree_at(fd, dir, true, 0, err);
    if (rc == 0)
        rc = sync_tree_at(fd, dir, false, 0, err);
    close(fd);
    return rc;
}

int
file_exists(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0;
}
