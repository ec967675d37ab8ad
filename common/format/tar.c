/*
 * tar.c — streaming tar extractor (filter sink) for PostgreSQL base backups.
 * See tar.h for the contract.
 *
 * The stream is a state machine over the bytes as they arrive, in pieces of
 * any size: a header is collected into one 512-byte buffer, then the
 * member's data goes to its file (through a small write buffer), then the
 * padding to the next block is skipped.  Header layout and number encoding
 * follow PostgreSQL's src/port/tar.c (tarCreateHeader, print_tar_number:
 * octal, or base-256 with the high bit set for large values) and POSIX
 * ustar; pax and GNU long-name members are understood for tolerance only.
 */
#define _GNU_SOURCE
#include "tar.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum tar_state
{
    TS_HEADER,                  /* collecting a header block */
    TS_FILE,                    /* member data into the open file */
    TS_META,                    /* extended header data (pax 'x', GNU 'L'/'K') into meta */
    TS_SKIP,                    /* member data we do not keep (pax 'g', a directory's) */
    TS_PAD,                     /* padding up to the next block */
    TS_END,                     /* after the end-of-archive blocks: only zeros may follow */
    TS_FAILED                   /* an error was reported; nothing more is accepted */
};

/*
 * A directory to finish: one we created or a directory member named gets its
 * mode and mtime (set_attrs), and with fsync every one listed is fsynced.
 * With fsync, a directory that existed before and only had entries created
 * in it is listed too, without set_attrs.
 */
struct tar_dir
{
    char       *path;           /* relative to target_dir */
    bool        set_attrs;
    mode_t      mode;
    bool        has_mtime;
    int64_t     mtime;
};

struct tar_extract
{
    struct filter base;
    char        target[PATH_MAX];
    int         (*map_symlink) (const char *path, const char *target, char *out,
                                size_t outlen, void *arg);
    void       *map_arg;
    enum tar_symlinks symlinks;
    bool        do_fsync;
    int         rootfd;

    enum tar_state state;
    uint64_t    offset;         /* bytes consumed so far */
    uint64_t    hdr_offset;     /* offset of the header being read / last read */
    unsigned char hdr[TAR_BLOCK_SIZE];
    size_t      hdr_len;
    int         zero_blocks;    /* consecutive zero blocks seen */
    uint64_t    size;           /* current member's data size */
    uint64_t    remaining;      /* of it still to come */
    size_t      pad;            /* padding after it */

    /* current member */
    char        name[PATH_MAX]; /* as in the archive */
    char        shown[256];     /* name made printable, for messages */
    char        path[PATH_MAX]; /* normalized, relative to target_dir */
    int         fd;             /* open regular file, or -1 */
    mode_t      mode;
    int64_t     mtime;

    /* extended headers, applying to the next member */
    char        meta_type;
    unsigned char *meta;        /* TAR_META_MAX bytes, allocated on first use */
    size_t      meta_len;
    bool        has_long_path;
    char        long_path[PATH_MAX];
    bool        has_long_link;
    char        long_link[PATH_MAX];
    bool        has_pax_size;
    uint64_t    pax_size;
    bool        has_pax_mtime;
    int64_t     pax_mtime;

    /* the last parent directory opened, so that a directory's members do not
     * each walk the path again; never stale, because nothing is removed or
     * renamed while extracting, and the fd pins the directory itself */
    char        parent[PATH_MAX];
    int         parentfd;

    unsigned char *wbuf;        /* TAR_WRITE_BUFFER bytes */
    size_t      wlen;

    struct tar_dir *dirs;
    size_t      ndirs;
    size_t      adirs;

    struct tar_extract_stats stats;
};

/* ---- small helpers -------------------------------------------------------------- */

/* Fill err from an OS error: ENOSPC/EDQUOT -> WS_ENOSPC, anything else WS_EIO. */
static int
os_error(struct ws_err *err, int errnum, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
os_error(struct ws_err *err, int errnum, const char *fmt, ...)
{
    char        msg[sizeof(err->msg)];
    va_list     ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return err_set_errno(err, (errnum == ENOSPC || errnum == EDQUOT) ? WS_ENOSPC : WS_EIO,
                         errnum, "%s", msg);
}

/* A header field or archive name made safe for a message (it may be garbage). */
static void
printable(const char *in, size_t inlen, char *out, size_t outlen)
{
    size_t      o = 0;

    for (size_t i = 0; i < inlen && in[i] != '\0' && o + 1 < outlen; i++)
    {
        unsigned char c = (unsigned char) in[i];

        out[o++] = (c >= 0x20 && c < 0x7f) ? (char) c : '?';
    }
    out[o] = '\0';
}

static bool
all_zero(const unsigned char *p, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (p[i] != 0)
            return false;
    return true;
}

/*
 * A numeric header field: octal digits with optional leading spaces and a
 * trailing space or NUL, or base-256 big-endian with the high bit of the first
 * byte set (print_tar_number in src/port/tar.c).  Negative and out-of-range
 * values are refused.  An empty field reads as 0; *digits tells if there was one.
 */
static int
parse_number(const unsigned char *p, size_t len, uint64_t *out, bool *digits)
{
    uint64_t    v = 0;
    size_t      i = 0;

    *digits = false;
    if (p[0] & 0x80)
    {
        if (p[0] != 0x80)
            return -1;          /* negative (0xff) or beyond 63 bits */
        for (i = 1; i < len; i++)
        {
            if (v >> 55)
                return -1;
            v = (v << 8) | p[i];
        }
        if (v > (uint64_t) INT64_MAX)
            return -1;
        *digits = true;
        *out = v;
        return 0;
    }
    while (i < len && p[i] == ' ')
        i++;
    while (i < len && p[i] >= '0' && p[i] <= '7')
    {
        if (v >> 60)
            return -1;
        v = v * 8 + (uint64_t) (p[i] - '0');
        *digits = true;
        i++;
    }
    for (; i < len; i++)
        if (p[i] != ' ' && p[i] != '\0')
            return -1;
    *out = v;
    return 0;
}

/*
 * The archive name made relative and canonical: no leading or repeated
 * slashes, no "." components, no trailing slash (PostgreSQL marks directories
 * and symbolic links with one).  Absolute names and ".." are refused, so the
 * result never points above target_dir by itself; "" is target_dir.
 */
static int
normalize_path(const char *raw, char *out, size_t outlen, const char **why)
{
    const char *p = raw;
    size_t      o = 0;

    if (raw[0] == '\0')
    {
        *why = "empty name";
        return -1;
    }
    if (raw[0] == '/')
    {
        *why = "absolute path";
        return -1;
    }
    while (*p != '\0')
    {
        const char *q;
        size_t      clen;

        while (*p == '/')
            p++;
        if (*p == '\0')
            break;
        q = strchr(p, '/');
        if (q == NULL)
            q = p + strlen(p);
        clen = (size_t) (q - p);
        if (clen == 1 && p[0] == '.')
        {
            p = q;
            continue;
        }
        if (clen == 2 && p[0] == '.' && p[1] == '.')
        {
            *why = "path contains a \"..\" component";
            return -1;
        }
        if (o + (o ? 1 : 0) + clen + 1 > outlen)
        {
            *why = "path too long";
            return -1;
        }
        if (o)
            out[o++] = '/';
        memcpy(out + o, p, clen);
        o += clen;
        p = q;
    }
    out[o] = '\0';
    return 0;
}

/* pg_tblspc/<digits>: where BASE_BACKUP records a tablespace's symbolic link. */
static bool
is_tablespace_link(const char *path)
{
    const char *p;

    if (strncmp(path, "pg_tblspc/", 10) != 0)
        return false;
    p = path + 10;
    if (*p == '\0')
        return false;
    for (; *p != '\0'; p++)
        if (*p < '0' || *p > '9')
            return false;
    return true;
}

static int
add_dir(struct tar_extract *t, const char *path, size_t len, mode_t mode, bool has_mtime,
        int64_t mtime, struct ws_err *err)
{
    struct tar_dir *d;

    if (t->ndirs == t->adirs)
    {
        size_t      n = t->adirs ? t->adirs * 2 : 64;
        struct tar_dir *nd = realloc(t->dirs, n * sizeof(*nd));

        if (nd == NULL)
            return err_set(err, WS_EINTERNAL, "out of memory");
        t->dirs = nd;
        t->adirs = n;
    }
    d = &t->dirs[t->ndirs];
    d->path = strndup(path, len);
    if (d->path == NULL)
        return err_set(err, WS_EINTERNAL, "out of memory");
    d->set_attrs = true;
    d->mode = mode;
    d->has_mtime = has_mtime;
    d->mtime = mtime;
    t->ndirs++;
    return 0;
}

static struct tar_dir *
find_dir(struct tar_extract *t, const char *path)
{
    for (size_t i = t->ndirs; i > 0; i--)
        if (strcmp(t->dirs[i - 1].path, path) == 0)
            return &t->dirs[i - 1];
    return NULL;
}

/*
 * Open the directory rel[0..len) below target_dir one component at a time,
 * never following a symbolic link (O_NOFOLLOW), creating missing components
 * (mode 0700, recorded for finish) if create.  A symbolic link or a
 * non-directory on the way is refused: that is how an archive would make a
 * later member land outside target_dir.  Returns an fd the caller closes
 * (or rootfd itself when len is 0: check before closing).
 */
static int
open_dir_path(struct tar_extract *t, const char *rel, size_t len, bool create, int *out,
              struct ws_err *err)
{
    int         cur = t->rootfd;
    size_t      i = 0;
    int         rc = -1;

    while (i < len)
    {
        char        comp[NAME_MAX + 1];
        size_t      j = i;
        int         fd;

        while (j < len && rel[j] != '/')
            j++;
        if (j - i > NAME_MAX)
        {
            os_error(err, ENAMETOOLONG, "could not open directory \"%s/%.*s\"", t->target,
                     (int) j, rel);
            goto out;
        }
        memcpy(comp, rel + i, j - i);
        comp[j - i] = '\0';
        fd = openat(cur, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0 && errno == ENOENT && create)
        {
            bool        created = false;

            if (mkdirat(cur, comp, 0700) == 0)
            {
                created = true;
                if (add_dir(t, rel, j, 0700, false, 0, err) < 0)
                    goto out;
                t->stats.dirs++;
            }
            else if (errno != EEXIST)
            {
                os_error(err, errno, "could not create directory \"%s/%.*s\"", t->target,
                         (int) j, rel);
                goto out;
            }
            fd = openat(cur, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            /* whatever the umask: we must be able to fill it */
            if (fd >= 0 && created && fchmod(fd, 0700) < 0)
            {
                os_error(err, errno, "could not change permissions of directory \"%s/%.*s\"",
                         t->target, (int) j, rel);
                close(fd);
                goto out;
            }
        }
        if (fd < 0)
        {
            int         e = errno;
            struct stat st;

            if ((e == ELOOP || e == ENOTDIR) &&
                fstatat(cur, comp, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISDIR(st.st_mode))
            {
                err_set(err, WS_ECORRUPT,
                        "refusing to extract tar member \"%s\": \"%.*s\" is %s", t->shown,
                        (int) j, rel,
                        S_ISLNK(st.st_mode) ? "a symbolic link" : "not a directory");
                if (S_ISLNK(st.st_mode))
                    err_detail(err, "Members are never extracted through symbolic links.");
            }
            else
                os_error(err, e, "could not open directory \"%s/%.*s\"", t->target, (int) j,
                         rel);
            goto out;
        }
        if (cur != t->rootfd)
            close(cur);
        cur = fd;
        i = j + 1;
    }
    *out = cur;
    cur = t->rootfd;
    rc = 0;
out:
    if (cur != t->rootfd)
        close(cur);
    return rc;
}

/*
 * The directory holding t->path, opened safely (see open_dir_path), and the
 * last component.  The fd belongs to t (the parent cache): do not close it.
 */
static int
open_parent(struct tar_extract *t, int *pfd, const char **last, struct ws_err *err)
{
    const char *slash = strrchr(t->path, '/');
    size_t      plen;
    int         fd;

    if (slash == NULL)
    {
        *pfd = t->rootfd;
        *last = t->path;
        return 0;
    }
    plen = (size_t) (slash - t->path);
    *last = slash + 1;
    if (t->parentfd >= 0 && strlen(t->parent) == plen && memcmp(t->parent, t->path, plen) == 0)
    {
        *pfd = t->parentfd;
        return 0;
    }
    if (open_dir_path(t, t->path, plen, true, &fd, err) < 0)
        return -1;
    if (t->parentfd >= 0)
        close(t->parentfd);
    memcpy(t->parent, t->path, plen);
    t->parent[plen] = '\0';
    t->parentfd = fd;
    *pfd = fd;
    /* an entry is about to be created in it: with fsync, it is fsynced in finish
     * even if it existed before (another part of the same backup made it) */
    if (t->do_fsync && find_dir(t, t->parent) == NULL)
    {
        if (add_dir(t, t->parent, plen, 0, false, 0, err) < 0)
            return -1;
        t->dirs[t->ndirs - 1].set_attrs = false;
    }
    return 0;
}

/* ---- member data ---------------------------------------------------------------- */

static int
write_out(struct tar_extract *t, const unsigned char *p, size_t len, struct ws_err *err)
{
    while (len > 0)
    {
        ssize_t     n = write(t->fd, p, len);

        if (n <= 0)
        {
            int         e = n < 0 ? errno : EIO;

            if (e == EINTR)
                continue;
            return os_error(err, e, "could not write to file \"%s/%s\"", t->target, t->path);
        }
        p += n;
        len -= (size_t) n;
        t->stats.bytes += (uint64_t) n;
    }
    return 0;
}

static int
flush_wbuf(struct tar_extract *t, struct ws_err *err)
{
    size_t      n = t->wlen;

    t->wlen = 0;
    return write_out(t, t->wbuf, n, err);
}

/* Small pieces are gathered; a large one with nothing pending goes straight out. */
static int
file_data(struct tar_extract *t, const unsigned char *p, size_t len, struct ws_err *err)
{
    if (t->wlen == 0 && len >= TAR_WRITE_BUFFER)
        return write_out(t, p, len, err);
    while (len > 0)
    {
        size_t      k = TAR_WRITE_BUFFER - t->wlen;

        if (k > len)
            k = len;
        memcpy(t->wbuf + t->wlen, p, k);
        t->wlen += k;
        p += k;
        len -= k;
        if (t->wlen == TAR_WRITE_BUFFER && flush_wbuf(t, err) < 0)
            return -1;
    }
    return 0;
}

static int
close_file(struct tar_extract *t, struct ws_err *err)
{
    struct timespec ts[2];
    int         fd;

    if (t->wlen > 0 && flush_wbuf(t, err) < 0)
        return -1;
    if (fchmod(t->fd, t->mode & 0700) < 0)
        return os_error(err, errno, "could not change permissions of file \"%s/%s\"",
                        t->target, t->path);
    ts[0].tv_sec = 0;
    ts[0].tv_nsec = UTIME_OMIT;
    ts[1].tv_sec = (time_t) t->mtime;
    ts[1].tv_nsec = 0;
    if (futimens(t->fd, ts) < 0)
        return os_error(err, errno, "could not set modification time of file \"%s/%s\"",
                        t->target, t->path);
    if (t->do_fsync && fsync(t->fd) < 0)
        return os_error(err, errno, "could not fsync file \"%s/%s\"", t->target, t->path);
    fd = t->fd;
    t->fd = -1;
    if (close(fd) < 0)
        return os_error(err, errno, "could not close file \"%s/%s\"", t->target, t->path);
    return 0;
}

/* pax extended header records: "<len> <key>=<value>\n" (POSIX pax format). */
static int
parse_pax(struct tar_extract *t, struct ws_err *err)
{
    const char *m = (const char *) t->meta;
    size_t      i = 0;

    while (i < t->meta_len)
    {
        size_t      start = i;
        size_t      rl = 0;
        const char *kv;
        const char *eq;
        size_t      kvlen;
        size_t      klen;
        size_t      vlen;
        const char *v;

        while (i < t->meta_len && m[i] >= '0' && m[i] <= '9')
        {
            rl = rl * 10 + (size_t) (m[i] - '0');
            if (rl > t->meta_len)
                goto bad;
            i++;
        }
        if (i == start || i >= t->meta_len || m[i] != ' ' || rl > t->meta_len - start ||
            rl < (i - start) + 3 || m[start + rl - 1] != '\n')
            goto bad;
        kv = m + i + 1;
        kvlen = start + rl - 1 - (i + 1);
        eq = memchr(kv, '=', kvlen);
        if (eq == NULL || eq == kv)
            goto bad;
        klen = (size_t) (eq - kv);
        v = eq + 1;
        vlen = kvlen - klen - 1;
        if ((klen == 4 && memcmp(kv, "path", 4) == 0) ||
            (klen == 8 && memcmp(kv, "linkpath", 8) == 0))
        {
            bool        is_path = klen == 4;
            char       *dst = is_path ? t->long_path : t->long_link;

            if (vlen >= PATH_MAX || memchr(v, '\0', vlen) != NULL)
                goto bad;
            memcpy(dst, v, vlen);
            dst[vlen] = '\0';
            if (is_path)
                t->has_long_path = vlen > 0;
            else
                t->has_long_link = vlen > 0;
        }
        else if ((klen == 4 && memcmp(kv, "size", 4) == 0) ||
                 (klen == 5 && memcmp(kv, "mtime", 5) == 0))
        {
            bool        is_size = klen == 4;
            bool        neg = false;
            uint64_t    n = 0;
            size_t      k = 0;

            if (!is_size && vlen > 0 && v[0] == '-')
            {
                neg = true;
                k = 1;
            }
            if (k == vlen)
                goto bad;
            for (; k < vlen && v[k] != '.'; k++)
            {
                if (v[k] < '0' || v[k] > '9' || n > (uint64_t) INT64_MAX / 10)
                    goto bad;
                n = n * 10 + (uint64_t) (v[k] - '0');
            }
            if (n > (uint64_t) INT64_MAX || (is_size && k < vlen))
                goto bad;
            if (is_size)
            {
                t->has_pax_size = true;
                t->pax_size = n;
            }
            else
            {
                t->has_pax_mtime = true;
                t->pax_mtime = neg ? -(int64_t) n : (int64_t) n;
            }
        }
        i = start + rl;
    }
    return 0;
bad:
    return err_set(err, WS_ECORRUPT,
                   "invalid pax extended header at offset %llu, near byte %zu",
                   (unsigned long long) t->hdr_offset, i);
}

static int
end_meta(struct tar_extract *t, struct ws_err *err)
{
    if (t->meta_type == 'x')
        return parse_pax(t, err);
    /* GNU 'L' / 'K': the name, NUL-terminated, as the member's data */
    {
        size_t      n = strnlen((const char *) t->meta, t->meta_len);
        char       *dst = t->meta_type == 'L' ? t->long_path : t->long_link;

        memcpy(dst, t->meta, n);        /* meta_len < PATH_MAX, checked in the header */
        dst[n] = '\0';
        if (t->meta_type == 'L')
            t->has_long_path = n > 0;
        else
            t->has_long_link = n > 0;
    }
    return 0;
}

/* The current member's data is complete. */
static int
end_member(struct tar_extract *t, struct ws_err *err)
{
    if (t->state == TS_FILE && close_file(t, err) < 0)
        return -1;
    if (t->state == TS_META && end_meta(t, err) < 0)
        return -1;
    t->state = t->pad > 0 ? TS_PAD : TS_HEADER;
    return 0;
}

/* Enter the data of a member of t->size bytes in state st (finishing it at once if empty). */
static int
begin_data(struct tar_extract *t, enum tar_state st, struct ws_err *err)
{
    t->state = st;
    t->remaining = t->size;
    t->pad = (size_t) ((TAR_BLOCK_SIZE - t->size % TAR_BLOCK_SIZE) % TAR_BLOCK_SIZE);
    if (t->remaining == 0)
        return end_member(t, err);
    return 0;
}

/* ---- members ---------------------------------------------------------------------- */

static int
make_file(struct tar_extract *t, struct ws_err *err)
{
    const char *last;
    int         pfd;

    if (open_parent(t, &pfd, &last, err) < 0)
        return -1;
    t->fd = openat(pfd, last, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (t->fd < 0)
        return os_error(err, errno, "could not create file \"%s/%s\"", t->target, t->path);
    t->stats.files++;
    return 0;
}

static int
make_directory(struct tar_extract *t, struct ws_err *err)
{
    const char *last;
    int         pfd;
    struct stat st;
    struct tar_dir *d;

    if (t->path[0] == '\0')
        return 0;               /* "./": target_dir itself, which the caller owns */
    if (open_parent(t, &pfd, &last, err) < 0)
        return -1;
    if (mkdirat(pfd, last, 0700) == 0)
    {
        int         fd = openat(pfd, last, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

        if (fd < 0 || fchmod(fd, 0700) < 0)
        {
            os_error(err, errno, "could not change permissions of directory \"%s/%s\"",
                     t->target, t->path);
            if (fd >= 0)
                close(fd);
            return -1;
        }
        close(fd);
        t->stats.dirs++;
        return add_dir(t, t->path, strlen(t->path), t->mode & 0700, true, t->mtime, err);
    }
    if (errno != EEXIST)
        return os_error(err, errno, "could not create directory \"%s/%s\"", t->target, t->path);
    if (fstatat(pfd, last, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode))
        return os_error(err, EEXIST, "could not create directory \"%s/%s\"", t->target,
                        t->path);
    /* created earlier as a parent, or there before: it gets this member's mode and mtime */
    d = find_dir(t, t->path);
    if (d == NULL)
        return add_dir(t, t->path, strlen(t->path), t->mode & 0700, true, t->mtime, err);
    d->set_attrs = true;
    d->mode = t->mode & 0700;
    d->has_mtime = true;
    d->mtime = t->mtime;
    return 0;
}

static int
make_symlink(struct tar_extract *t, const char *linktarget, struct ws_err *err)
{
    char        mapped[PATH_MAX];
    const char *dest = linktarget;
    const char *last;
    int         pfd;
    struct timespec ts[2];

    if (t->path[0] == '\0')
        return err_set(err, WS_ECORRUPT, "refusing to extract tar member \"%s\": "
                       "symbolic link in place of the target directory", t->shown);
    if (linktarget[0] == '\0')
        return err_set(err, WS_ECORRUPT, "tar member \"%s\" is a symbolic link with no target",
                       t->shown);
    if (t->symlinks == TAR_SYMLINKS_NONE ||
        (t->symlinks == TAR_SYMLINKS_TABLESPACE && !is_tablespace_link(t->path)))
    {
        char        shown[128];

        printable(linktarget, strlen(linktarget), shown, sizeof(shown));
        err_set(err, WS_ECORRUPT, "refusing to extract tar member \"%s\" at offset %llu: "
                "symbolic link to \"%s\"%s", t->shown, (unsigned long long) t->hdr_offset,
                shown, t->symlinks == TAR_SYMLINKS_NONE ? "" : " outside pg_tblspc/");
        if (t->symlinks == TAR_SYMLINKS_NONE)
            err_detail(err, "A tablespace archive of a base backup holds no symbolic links.");
        else
            err_detail(err, "A base backup holds symbolic links only at pg_tblspc/<oid>, one "
                       "per tablespace; PostgreSQL sends no other.");
        return -1;
    }
    if (t->map_symlink != NULL && is_tablespace_link(t->path))
    {
        int         r;

        mapped[0] = '\0';
        r = t->map_symlink(t->path, linktarget, mapped, sizeof(mapped), t->map_arg);
        if (r == 0)
        {
            if (strnlen(mapped, sizeof(mapped)) == sizeof(mapped) || mapped[0] == '\0')
                return err_set(err, WS_ECONFIG,
                               "tablespace mapping for \"%s\" returned an invalid target",
                               t->path);
            dest = mapped;
        }
        else if (r != 1)
            return err_set(err, WS_ECONFIG, "tablespace mapping failed for \"%s\" (\"%s\")",
                           t->path, linktarget);
    }
    if (open_parent(t, &pfd, &last, err) < 0)
        return -1;
    if (symlinkat(dest, pfd, last) < 0)
        return os_error(err, errno, "could not create symbolic link \"%s/%s\"", t->target,
                        t->path);
    ts[0].tv_sec = 0;
    ts[0].tv_nsec = UTIME_OMIT;
    ts[1].tv_sec = (time_t) t->mtime;
    ts[1].tv_nsec = 0;
    if (utimensat(pfd, last, ts, AT_SYMLINK_NOFOLLOW) < 0)
        return os_error(err, errno, "could not set modification time of symbolic link \"%s/%s\"",
                        t->target, t->path);
    t->stats.symlinks++;
    return 0;
}

static bool
has_pending_meta(const struct tar_extract *t)
{
    return t->has_long_path || t->has_long_link || t->has_pax_size || t->has_pax_mtime;
}

static void
clear_pending_meta(struct tar_extract *t)
{
    t->has_long_path = t->has_long_link = t->has_pax_size = t->has_pax_mtime = false;
}

/* A complete header block is in t->hdr. */
static int
process_header(struct tar_extract *t, struct ws_err *err)
{
    const unsigned char *h = t->hdr;
    char        shown[128];
    char        linktarget[PATH_MAX];
    uint64_t    stored;
    uint64_t    v;
    unsigned    usum = 0;
    int         ssum = 0;
    bool        digits;
    char        type;
    const char *why;

    if (all_zero(h, TAR_BLOCK_SIZE))
    {
        if (has_pending_meta(t))
            return err_set(err, WS_ECORRUPT, "tar archive ends at offset %llu after an "
                           "extended header, without its member",
                           (unsigned long long) t->hdr_offset);
        if (++t->zero_blocks == 2)
            t->state = TS_END;
        return 0;
    }
    printable((const char *) h, 100, shown, sizeof(shown));
    if (t->zero_blocks > 0)
        return err_set(err, WS_ECORRUPT, "invalid tar archive: a single zero block before "
                       "member \"%s\" at offset %llu", shown,
                       (unsigned long long) t->hdr_offset);

    /* the checksum is computed with its own field as spaces; some old tars summed
     * signed chars, accept both as GNU tar does */
    for (size_t i = 0; i < TAR_BLOCK_SIZE; i++)
    {
        unsigned char c = (i >= 148 && i < 156) ? ' ' : h[i];

        usum += c;
        ssum += (signed char) c;
    }
    if (parse_number(h + 148, 8, &stored, &digits) < 0 || !digits ||
        (stored != usum && (int64_t) stored != ssum))
    {
        err_set(err, WS_ECORRUPT, "invalid tar header at offset %llu (member \"%s\"): "
                "checksum mismatch", (unsigned long long) t->hdr_offset, shown);
        err_detail(err, "Computed checksum %o, header says \"%.8s\".", usum,
                   digits ? (const char *) h + 148 : "");
        return -1;
    }

    type = (char) h[156];
    if (parse_number(h + 124, 12, &t->size, &digits) < 0 ||
        parse_number(h + 100, 8, &v, &digits) < 0)
        goto badnum;
    t->mode = (mode_t) (v & 07777);
    if (parse_number(h + 136, 12, &v, &digits) < 0)
        goto badnum;
    t->mtime = (int64_t) v;

    /* extended headers: their data describes the next member */
    if (type == 'x' || type == 'L' || type == 'K')
    {
        size_t      cap = type == 'x' ? TAR_META_MAX : PATH_MAX - 1;

        if (t->size > cap)
            return err_set(err, WS_ECORRUPT, "tar extended header at offset %llu is too large "
                           "(%llu bytes)", (unsigned long long) t->hdr_offset,
                           (unsigned long long) t->size);
        if (t->meta == NULL && (t->meta = malloc(TAR_META_MAX)) == NULL)
            return err_set(err, WS_EINTERNAL, "out of memory");
        t->meta_type = type;
        t->meta_len = 0;
        return begin_data(t, TS_META, err);
    }
    if (type == 'g')
        return begin_data(t, TS_SKIP, err);

    /* the member's name: extended header, else ustar prefix + name (POSIX magic
     * only: GNU's "ustar  " headers use those bytes for other things) */
    if (t->has_long_path)
        snprintf(t->name, sizeof(t->name), "%s", t->long_path);
    else
    {
        size_t      nlen = strnlen((const char *) h, 100);
        size_t      plen = 0;

        if (memcmp(h + 257, "ustar\0", 6) == 0)
            plen = strnlen((const char *) h + 345, 155);
        if (plen > 0)
            snprintf(t->name, sizeof(t->name), "%.*s/%.*s", (int) plen,
                     (const char *) h + 345, (int) nlen, (const char *) h);
        else
            snprintf(t->name, sizeof(t->name), "%.*s", (int) nlen, (const char *) h);
    }
    if (t->has_long_link)
        snprintf(linktarget, sizeof(linktarget), "%s", t->long_link);
    else
        snprintf(linktarget, sizeof(linktarget), "%.*s",
                 (int) strnlen((const char *) h + 157, 100), (const char *) h + 157);
    if (t->has_pax_size)
        t->size = t->pax_size;
    if (t->has_pax_mtime)
        t->mtime = t->pax_mtime;
    clear_pending_meta(t);
    printable(t->name, sizeof(t->name), t->shown, sizeof(t->shown));

    /* old tars mark directories with a trailing slash on a regular-file entry */
    if (type == '\0' && t->name[0] != '\0' && t->name[strlen(t->name) - 1] == '/')
        type = '5';

    switch (type)
    {
        case '1':
            printable(linktarget, sizeof(linktarget), shown, sizeof(shown));
            err_set(err, WS_ECORRUPT, "unsupported tar member \"%s\" at offset %llu: "
                    "hard link to \"%s\"", t->shown, (unsigned long long) t->hdr_offset,
                    shown);
            err_detail(err, "PostgreSQL base backups contain only regular files, "
                       "directories and symbolic links.");
            return -1;
        case '3':
        case '4':
        case '6':
            err_set(err, WS_ECORRUPT, "unsupported tar member \"%s\" at offset %llu: %s",
                    t->shown, (unsigned long long) t->hdr_offset,
                    type == '6' ? "FIFO" : type == '3' ? "character device" : "block device");
            err_detail(err, "PostgreSQL base backups contain only regular files, "
                       "directories and symbolic links.");
            return -1;
        case '0':
        case '\0':
        case '7':
        case '5':
        case '2':
            break;
        default:
            return err_set(err, WS_ECORRUPT, "unsupported tar member \"%s\" at offset %llu: "
                           "type '%c'", t->shown, (unsigned long long) t->hdr_offset,
                           (type >= 0x20 && type < 0x7f) ? type : '?');
    }

    if (normalize_path(t->name, t->path, sizeof(t->path), &why) < 0)
        return err_set(err, WS_ECORRUPT, "refusing to extract tar member \"%s\" at offset "
                       "%llu: %s", t->shown, (unsigned long long) t->hdr_offset, why);

    if (type == '5')
    {
        if (make_directory(t, err) < 0)
            return -1;
        return begin_data(t, TS_SKIP, err);
    }
    if (type == '2')
    {
        if (make_symlink(t, linktarget, err) < 0)
            return -1;
        return begin_data(t, TS_SKIP, err);
    }
    if (t->path[0] == '\0')
        return err_set(err, WS_ECORRUPT, "refusing to extract tar member \"%s\" at offset "
                       "%llu: a file in place of the target directory", t->shown,
                       (unsigned long long) t->hdr_offset);
    if (make_file(t, err) < 0)
        return -1;
    return begin_data(t, TS_FILE, err);

badnum:
    return err_set(err, WS_ECORRUPT, "invalid tar header at offset %llu (member \"%s\"): "
                   "malformed number", (unsigned long long) t->hdr_offset, shown);
}

/* ---- filter ops ----------------------------------------------------------------- */

static int
tx_write(struct filter *f, const void *buf, size_t len, struct ws_err *err)
{
    struct tar_extract *t = (struct tar_extract *) f;
    const unsigned char *p = buf;

    if (t->state == TS_FAILED)
        return err_set(err, WS_EINTERNAL, "tar extraction already failed");
    while (len > 0)
    {
        size_t      n = len;

        switch (t->state)
        {
            case TS_HEADER:
                if (t->hdr_len == 0)
                    t->hdr_offset = t->offset;
                if (n > TAR_BLOCK_SIZE - t->hdr_len)
                    n = TAR_BLOCK_SIZE - t->hdr_len;
                memcpy(t->hdr + t->hdr_len, p, n);
                t->hdr_len += n;
                if (t->hdr_len == TAR_BLOCK_SIZE)
                {
                    t->hdr_len = 0;
                    if (process_header(t, err) < 0)
                        goto fail;
                }
                break;
            case TS_FILE:
            case TS_META:
            case TS_SKIP:
                if (n > t->remaining)
                    n = (size_t) t->remaining;
                if (t->state == TS_FILE && file_data(t, p, n, err) < 0)
                    goto fail;
                if (t->state == TS_META)
                {
                    memcpy(t->meta + t->meta_len, p, n);
                    t->meta_len += n;
                }
                t->remaining -= n;
                if (t->remaining == 0 && end_member(t, err) < 0)
                    goto fail;
                break;
            case TS_PAD:
                if (n > t->pad)
                    n = t->pad;
                t->pad -= n;
                if (t->pad == 0)
                    t->state = TS_HEADER;
                break;
            case TS_END:
                /* GNU tar pads the archive to its record size with zeros */
                for (size_t i = 0; i < n; i++)
                    if (p[i] != 0)
                    {
                        err_set(err, WS_ECORRUPT, "unexpected data after the end of the tar "
                                "archive at offset %llu",
                                (unsigned long long) (t->offset + i));
                        goto fail;
                    }
                break;
            case TS_FAILED:
                return -1;
        }
        p += n;
        len -= n;
        t->offset += n;
    }
    return 0;
fail:
    t->state = TS_FAILED;
    return -1;
}

static size_t
path_depth(const char *p)
{
    size_t      n = 0;

    for (; *p != '\0'; p++)
        n += *p == '/';
    return n;
}

/* Deeper paths first; ties by path, so the order does not depend on qsort. */
static int
cmp_dir_depth(const void *a, const void *b)
{
    const struct tar_dir *x = a;
    const struct tar_dir *y = b;
    size_t      dx = path_depth(x->path);
    size_t      dy = path_depth(y->path);

    if (dx != dy)
        return dx > dy ? -1 : 1;
    return strcmp(x->path, y->path);
}

static int
finish_dirs(struct tar_extract *t, struct ws_err *err)
{
    /*
     * Deepest first: a directory's final mode may take away the right to enter
     * it, and its children are reached through it.  (Creation order is nearly
     * that already, but a directory that existed before and is named by a
     * member late in the archive would come after its children.)
     */
    if (t->ndirs > 1)
        qsort(t->dirs, t->ndirs, sizeof(t->dirs[0]), cmp_dir_depth);
    for (size_t i = 0; i < t->ndirs; i++)
    {
        const struct tar_dir *d = &t->dirs[i];
        int         fd;

        if (open_dir_path(t, d->path, strlen(d->path), false, &fd, err) < 0)
            return -1;
        if (d->set_attrs && fchmod(fd, d->mode) < 0)
        {
            os_error(err, errno, "could not change permissions of directory \"%s/%s\"",
                     t->target, d->path);
            close(fd);
            return -1;
        }
        if (d->set_attrs && d->has_mtime)
        {
            struct timespec ts[2] = {{0, UTIME_OMIT}, {(time_t) d->mtime, 0}};

            if (futimens(fd, ts) < 0)
            {
                os_error(err, errno, "could not set modification time of directory \"%s/%s\"",
                         t->target, d->path);
                close(fd);
                return -1;
            }
        }
        /* the entries created in it (and its new mode) must survive a crash before
         * recovery starts; some filesystems refuse fsync on directories (EINVAL) */
        if (t->do_fsync && fsync(fd) < 0 && errno != EINVAL)
        {
            os_error(err, errno, "could not fsync directory \"%s/%s\"", t->target, d->path);
            close(fd);
            return -1;
        }
        close(fd);
    }
    if (t->do_fsync && fsync(t->rootfd) < 0 && errno != EINVAL)
        return os_error(err, errno, "could not fsync directory \"%s\"", t->target);
    return 0;
}

static int
tx_finish(struct filter *f, struct ws_err *err)
{
    struct tar_extract *t = (struct tar_extract *) f;

    switch (t->state)
    {
        case TS_END:
            break;
        case TS_HEADER:
            if (t->hdr_len > 0)
                err_set(err, WS_ECORRUPT, "tar archive is truncated: it ends inside the header "
                        "at offset %llu (%zu of %d bytes)", (unsigned long long) t->hdr_offset,
                        t->hdr_len, TAR_BLOCK_SIZE);
            else if (has_pending_meta(t))
                err_set(err, WS_ECORRUPT, "tar archive is truncated: it ends at offset %llu "
                        "after an extended header", (unsigned long long) t->offset);
            else
                err_set(err, WS_ECORRUPT, "tar archive is truncated: the end-of-archive "
                        "marker is missing at offset %llu (%d of 2 zero blocks)",
                        (unsigned long long) t->offset, t->zero_blocks);
            goto fail;
        case TS_FILE:
        case TS_META:
        case TS_SKIP:
            err_set(err, WS_ECORRUPT, "tar archive is truncated: member \"%s\" ends after "
                    "%llu of %llu bytes", t->state == TS_META ? "(extended header)" : t->shown,
                    (unsigned long long) (t->size - t->remaining),
                    (unsigned long long) t->size);
            goto fail;
        case TS_PAD:
            err_set(err, WS_ECORRUPT, "tar archive is truncated: it ends in the padding after "
                    "member \"%s\" at offset %llu", t->shown, (unsigned long long) t->offset);
            goto fail;
        case TS_FAILED:
            return err_set(err, WS_EINTERNAL, "tar extraction already failed");
    }
    if (finish_dirs(t, err) < 0)
        goto fail;
    return t->base.next ? filter_finish(t->base.next, err) : 0;
fail:
    t->state = TS_FAILED;
    return -1;
}

static void
tx_free(struct filter *f)
{
    struct tar_extract *t = (struct tar_extract *) f;

    if (t->fd >= 0)
        close(t->fd);
    if (t->parentfd >= 0)
        close(t->parentfd);
    if (t->rootfd >= 0)
        close(t->rootfd);
    for (size_t i = 0; i < t->ndirs; i++)
        free(t->dirs[i].path);
    free(t->dirs);
    free(t->meta);
    free(t->wbuf);
    free(t);
}

static const struct filter_ops tar_extract_ops = {"tar-extract", tx_write, tx_finish, tx_free};

struct filter *
tar_extract_new(const struct tar_extract_opts *o, struct ws_err *err)
{
    struct tar_extract *t = NULL;

    if (o == NULL || o->target_dir == NULL || o->target_dir[0] == '\0')
    {
        err_set(err, WS_ECONFIG, "no target directory for tar extraction");
        return NULL;
    }
    if (strlen(o->target_dir) >= sizeof(t->target))
    {
        err_set(err, WS_ECONFIG, "target directory name is too long");
        return NULL;
    }
    t = calloc(1, sizeof(*t));
    if (t == NULL)
        goto oom;
    t->base.ops = &tar_extract_ops;
    t->fd = t->parentfd = t->rootfd = -1;
    snprintf(t->target, sizeof(t->target), "%s", o->target_dir);
    t->map_symlink = o->map_symlink;
    t->map_arg = o->map_arg;
    t->symlinks = o->symlinks;
    t->do_fsync = o->fsync;
    t->state = TS_HEADER;
    t->wbuf = malloc(TAR_WRITE_BUFFER);
    if (t->wbuf == NULL)
        goto oom;
    t->rootfd = open(t->target, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (t->rootfd < 0)
    {
        err_set_errno(err, WS_ECONFIG, errno, "could not open target directory \"%s\"",
                      t->target);
        tx_free(&t->base);
        return NULL;
    }
    return &t->base;
oom:
    err_set(err, WS_EINTERNAL, "out of memory");
    if (t != NULL)
        tx_free(&t->base);
    return NULL;
}

void
tar_extract_stats(const struct filter *f, struct tar_extract_stats *out)
{
    const struct tar_extract *t = (const struct tar_extract *) f;

    *out = t->stats;
}
