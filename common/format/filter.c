/*
 * filter.c — the chain plumbing and the small stages: hash, tap, borrow,
 * memory sink, file sink.  Ownership rule: filter.h.
 */
#include "filter.h"
#include "checksum.h"
#include "fileutil.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int
filter_write(struct filter *f, const void *buf, size_t len, struct ws_err *err)
{
    if (len == 0)
        return 0;
    return f->ops->write(f, buf, len, err);
}

int
filter_finish(struct filter *f, struct ws_err *err)
{
    int         rc;

    if (f == NULL)
        return 0;
    if (f->finished)
        return 0;
    rc = f->ops->finish(f, err);
    if (rc == 0)
        f->finished = true;
    return rc;
}

void
filter_free(struct filter *f)
{
    while (f != NULL)
    {
        struct filter *next = f->next;

        f->ops->free(f);
        f = next;
    }
}

#define PUMP_BLOCK (256 * 1024)

int
filter_pump_fd(int fd, const char *what, struct filter *f, struct ws_err *err)
{
    unsigned char *buf = malloc(PUMP_BLOCK);
    int         rc = -1;

    if (buf == NULL)
        return err_set(err, WS_EINTERNAL, "out of memory");
    for (;;)
    {
        ssize_t     n = read(fd, buf, PUMP_BLOCK);

        if (n < 0)
        {
            if (errno == EINTR)
                continue;
            err_set_errno(err, WS_EIO, errno, "could not read file \"%s\"", what);
            goto out;
        }
        if (n == 0)
            break;
        if (filter_write(f, buf, (size_t) n, err) < 0)
            goto out;
    }
    rc = 0;
out:
    free(buf);
    return rc;
}

/* ---- hash ------------------------------------------------------------- */

struct filter_hash
{
    struct filter base;
    struct xxh64_state st;
    uint64_t    size;
};

static int
hash_write(struct filter *f, const void *buf, size_t len, struct ws_err *err)
{
    struct filter_hash *h = (struct filter_hash *) f;

    xxh64_update(&h->st, buf, len);
    h->size += len;
    return f->next ? filter_write(f->next, buf, len, err) : 0;
}

static int
pass_finish(struct filter *f, struct ws_err *err)
{
    return f->next ? filter_finish(f->next, err) : 0;
}

static void
plain_free(struct filter *f)
{
    free(f);
}

static const struct filter_ops hash_ops = {"hash", hash_write, pass_finish, plain_free};

/* A constructor's failure: it owns next, so it frees it (filter.h). */
static struct filter *
new_failed(struct filter *next, struct ws_err *err)
{
    filter_free(next);
    err_set(err, WS_EINTERNAL, "out of memory");
    return NULL;
}

struct filter *
filter_hash_new(struct filter *next, struct ws_err *err)
{
    struct filter_hash *h = calloc(1, sizeof(*h));

    if (h == NULL)
        return new_failed(next, err);
    h->base.ops = &hash_ops;
    h->base.next = next;
    xxh64_init(&h->st, 0);
    return &h->base;
}

void
filter_hash_result(const struct filter *f, uint64_t *size, uint64_t *xxh)
{
    const struct filter_hash *h = (const struct filter_hash *) f;

    if (size)
        *size = h->size;
    if (xxh)
        *xxh = xxh64_digest(&h->st);
}

/* ---- tap ---------------------------------------------------------------- */

struct filter_tap
{
    struct filter base;
    filter_tap_fn cb;
    void       *arg;
    uint64_t    bytes;
    bool        failed;
};

static int
tap_write(struct filter *f, const void *buf, size_t len, struct ws_err *err)
{
    struct filter_tap *t = (struct filter_tap *) f;

    t->bytes += len;
    if ((t->cb != NULL && t->cb(t->arg, len, err) < 0) ||
        (f->next != NULL && filter_write(f->next, buf, len, err) < 0))
    {
        t->failed = true;
        return -1;
    }
    return 0;
}

static const struct filter_ops tap_ops = {"tap", tap_write, pass_finish, plain_free};

struct filter *
filter_tap_new(struct filter *next, filter_tap_fn cb, void *arg, struct ws_err *err)
{
    struct filter_tap *t = calloc(1, sizeof(*t));

    if (t == NULL)
        return new_failed(next, err);
    t->base.ops = &tap_ops;
    t->base.next = next;
    t->cb = cb;
    t->arg = arg;
    return &t->base;
}

uint64_t
filter_tap_bytes(const struct filter *f)
{
    return ((const struct filter_tap *) f)->bytes;
}

bool
filter_tap_failed(const struct filter *f)
{
    return ((const struct filter_tap *) f)->failed;
}

/* ---- borrow ------------------------------------------------------------- */

/* The sink is held outside `next`, so filter_free of the chain stops here. */
struct filter_borrow
{
    struct filter base;
    struct filter *sink;
};

static int
borrow_write(struct filter *f, const void *buf, size_t len, struct ws_err *err)
{
    struct filter_borrow *b = (struct filter_borrow *) f;

    return b->sink != NULL ? filter_write(b->sink, buf, len, err) : 0;
}

static int
borrow_finish(struct filter *f, struct ws_err *err)
{
    struct filter_borrow *b = (struct filter_borrow *) f;

    return b->sink != NULL ? filter_finish(b->sink, err) : 0;
}

static const struct filter_ops borrow_ops = {"borrow", borrow_write, borrow_finish, plain_free};

struct filter *
filter_borrow_new(struct filter *sink, struct ws_err *err)
{
    struct filter_borrow *b = calloc(1, sizeof(*b));

    if (b == NULL)
        return new_failed(NULL, err);      /* the sink is not ours to free */
    b->base.ops = &borrow_ops;
    b->sink = sink;
    return &b->base;
}

/* ---- memory sink ------------------------------------------------------ */

struct filter_mem
{
    struct filter base;
    unsigned char *data;
    size_t      len;
    size_t      alloc;
    size_t      cap;
    bool        overflowed;
};

static int
mem_write(struct filter *f, const void *buf, size_t len, struct ws_err *err)
{
    struct filter_mem *m = (struct filter_mem *) f;

    if (len > m->cap - m->len)
    {
        m->overflowed = true;
        return err_set(err, WS_EINTERNAL, "memory buffer limit of %zu bytes exceeded", m->cap);
    }
    if (m->len + len > m->alloc)
    {
        size_t      na = m->alloc ? m->alloc : 4096;
        unsigned char *nd;

        while (na < m->len + len)
            na *= 2;
        nd = realloc(m->data, na);
        if (nd == NULL)
            return err_set(err, WS_EINTERNAL, "out of memory");
        m->data = nd;
        m->alloc = na;
    }
    memcpy(m->data + m->len, buf, len);
    m->len += len;
    return 0;
}

static int
mem_finish(struct filter *f, struct ws_err *err)
{
    (void) f;
    (void) err;
    return 0;
}

static void
mem_free(struct filter *f)
{
    struct filter_mem *m = (struct filter_mem *) f;

    free(m->data);
    free(m);
}

static const struct filter_ops mem_ops = {"mem", mem_write, mem_finish, mem_free};

struct filter *
filter_mem_new(size_t cap)
{
    struct filter_mem *m = calloc(1, sizeof(*m));

    if (m == NULL)
        return NULL;
    m->base.ops = &mem_ops;
    m->cap = cap;
    return &m->base;
}

bool
filter_mem_overflowed(const struct filter *f)
{
    return ((const struct filter_mem *) f)->overflowed;
}

const unsigned char *
filter_mem_data(const struct filter *f, size_t *len)
{
    const struct filter_mem *m = (const struct filter_mem *) f;

    *len = m->len;
    return m->data;
}

int
filter_mem_copy(const struct filter *f, unsigned char **buf, size_t *len, struct ws_err *err)
{
    const unsigned char *data = filter_mem_data(f, len);

    *buf = malloc(*len + 1);
    if (*buf == NULL)
    {
        *len = 0;
        return err_set(err, WS_EINTERNAL, "out of memory");
    }
    if (*len > 0)
        memcpy(*buf, data, *len);
    (*buf)[*len] = '\0';
    return 0;
}

/* ---- file sink --------------------------------------------------------- */

struct filter_file
{
    struct filter base;
    int         fd;
    bool        committed;
    bool        no_sync;
    char        path[PATH_MAX];
    char        tmp[PATH_MAX];
};

static int
file_write(struct filter *f, const void *buf, size_t len, struct ws_err *err)
{
    struct filter_file *ff = (struct filter_file *) f;

    return file_write_all(ff->fd, buf, len, ff->tmp, err);
}

static int
file_finish(struct filter *f, struct ws_err *err)
{
    struct filter_file *ff = (struct filter_file *) f;

    if (!ff->no_sync && fsync(ff->fd) < 0)
        return err_set_errno(err, WS_OK, errno, "could not fsync file \"%s\"", ff->tmp);
    if (close(ff->fd) < 0)
    {
        ff->fd = -1;
        return err_set_errno(err, WS_OK, errno, "could not close file \"%s\"", ff->tmp);
    }
    ff->fd = -1;
    return 0;
}

static void
file_free(struct filter *f)
{
    struct filter_file *ff = (struct filter_file *) f;

    if (ff->fd >= 0)
        close(ff->fd);
    if (!ff->committed)
        unlink(ff->tmp);
    free(ff);
}

static const struct filter_ops file_ops = {"file", file_write, file_finish, file_free};

struct filter *
filter_file_new(const char *path, struct ws_err *err)
{
    struct filter_file *ff = calloc(1, sizeof(*ff));

    if (ff == NULL)
    {
        err_set(err, WS_EINTERNAL, "out of memory");
        return NULL;
    }
    ff->base.ops = &file_ops;
    ff->fd = -1;
    if (snprintf(ff->path, sizeof(ff->path), "%s", path) >= (int) sizeof(ff->path) ||
        snprintf(ff->tmp, sizeof(ff->tmp), "%s.walship-tmp.%ld", path, (long) getpid())
        >= (int) sizeof(ff->tmp))
    {
        err_set(err, WS_EINPUT, "file name \"%s\" is too long", path);
        free(ff);
        return NULL;
    }
    /*
     * Never through a link, never into a file someone else prepared: a
     * leftover of a crashed process with the same pid is removed (unlink
     * removes a link, not its target) and the name created anew.
     */
    ff->fd = open(ff->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (ff->fd < 0 && errno == EEXIST && unlink(ff->tmp) == 0)
        ff->fd = open(ff->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (ff->fd < 0)
    {
        err_set_errno(err, WS_OK, errno, "could not create file \"%s\"", ff->tmp);
        if (err->code == WS_ENOTFOUND)
            err->code = WS_EIO;     /* a missing directory is not "not in the archive" */
        free(ff);
        return NULL;
    }
    return &ff->base;
}

int
filter_file_commit(struct filter *f, struct ws_err *err)
{
    return filter_file_commit_to(f, ((struct filter_file *) f)->path, err);
}

int
filter_file_commit_to(struct filter *f, const char *path, struct ws_err *err)
{
    struct filter_file *ff = (struct filter_file *) f;

    if (!f->finished)
        return err_set(err, WS_EINTERNAL, "file \"%s\" committed before it was finished",
                       path);
    if (rename(ff->tmp, path) < 0)
        return err_set_errno(err, WS_EIO, errno, "could not rename file \"%s\" to \"%s\"",
                             ff->tmp, path);
    ff->committed = true;
    return ff->no_sync ? 0 : file_fsync_parent(path, err);
}

void
filter_file_no_sync(struct filter *f)
{
    ((struct filter_file *) f)->no_sync = true;
}
