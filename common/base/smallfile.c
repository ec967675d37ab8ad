/*
 * smallfile.c — whole small files with a cap.  See smallfile.h.
 *
 * One read past the cap tells "exactly cap bytes" from "larger" without
 * trusting st_size, which is 0 for /proc files and FIFOs.
 */
#include "smallfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <openssl/crypto.h>

int
smallfile_read(const char *path, const char *what, size_t cap, enum ws_code code,
               smallfile_check check, char **data, size_t *len, struct ws_err *err)
{
    char       *buf = NULL;
    size_t      n = 0;
    struct stat st;
    int         fd;
    int         rc = -1;

    *data = NULL;
    *len = 0;
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return err_set_errno(err, code, errno, "could not open %s \"%s\"", what, path);
    if (check != NULL)
    {
        if (fstat(fd, &st) < 0)
        {
            err_set_errno(err, code, errno, "could not stat %s \"%s\"", what, path);
            goto out;
        }
        if (check(path, &st, err) < 0)
            goto out;
    }
    buf = malloc(cap + 2);
    if (buf == NULL)
    {
        err_set(err, WS_EINTERNAL, "out of memory");
        goto out;
    }
    for (;;)
    {
        ssize_t     r = read(fd, buf + n, cap + 1 - n);

        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
        {
            err_set_errno(err, code, errno, "could not read %s \"%s\"", what, path);
            goto out;
        }
        if (r == 0)
            break;
        n += (size_t) r;
        if (n > cap)
        {
            err_set(err, code == WS_OK ? WS_EINPUT : code,
                    "%s \"%s\" is too large (more than %zu bytes)", what, path, cap);
            rc = -2;
            goto out;
        }
    }
    buf[n] = '\0';
    *data = buf;
    *len = n;
    buf = NULL;
    rc = 0;
out:
    smallfile_free(buf, cap + 2);
    close(fd);
    return rc;
}

void
smallfile_free(char *data, size_t len)
{
    if (data == NULL)
        return;
    OPENSSL_cleanse(data, len);
    free(data);
}
