/*
 * fileutil.c — see fileutil.h.
 */
#include "fileutil.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
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

int
file_exists(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0;
}
