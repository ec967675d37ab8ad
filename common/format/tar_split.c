/*
 * tar_split.c — cut a tar stream into independently extractable parts at
 * member boundaries.  See tar.h.
 *
 * Only headers are looked at: the size field (octal, or GNU base-256) and
 * the type flag, to know where the member's data and padding end and where
 * the next header starts.
 */
#include "tar.h"

#include <stdlib.h>
#include <string.h>

struct tar_split
{
    struct filter base;             /* next unused: parts go to part sinks */
    uint64_t    part_size;
    int         (*open_part) (void *arg, uint32_t part, struct filter **sink, struct ws_err *err);
    int         (*close_part) (void *arg, struct filter *sink, struct ws_err *err);
    void       *arg;

    struct filter *sink;            /* current part, NULL before the first byte */
    uint32_t    part;               /* index of the current (or next) part */
    uint64_t    part_bytes;         /* written into the current part */
    uint64_t    offset;             /* of the stream, for messages */

    unsigned char hdr[TAR_BLOCK_SIZE];
    size_t      hdr_len;            /* bytes of the next header collected */
    uint64_t    remaining;          /* data + padding of the current member */
    bool        continuation;       /* last header was an extended header */
    bool        ended;              /* end-of-archive block seen: pass through */
    uint64_t    tail;               /* bytes after the first end-of-archive block */
    bool        failed;
};

static const unsigned char zero_blocks[2 * TAR_BLOCK_SIZE];

static int
open_next(struct tar_split *s, struct ws_err *err)
{
    struct filter *sink = NULL;

    if (s->open_part(s->arg, s->part, &sink, err) < 0)
        return -1;
    if (sink == NULL)
        return err_set(err, WS_EINTERNAL, "tar split: no sink for part %u", s->part);
    s->sink = sink;
    s->part_bytes = 0;
    return 0;
}

static int
close_current(struct tar_split *s, bool add_end, struct ws_err *err)
{
    struct filter *sink = s->sink;

    s->sink = NULL;
    if (add_end && filter_write(sink, zero_blocks, sizeof(zero_blocks), err) < 0)
    {
        filter_free(sink);
        return -1;
    }
    s->part++;
    return s->close_part(s->arg, sink, err);
}

static int
put(struct tar_split *s, const unsigned char *buf, size_t len, struct ws_err *err)
{
    if (len == 0)
        return 0;
    if (s->sink == NULL && open_next(s, err) < 0)
        return -1;
    if (filter_write(s->sink, buf, len, err) < 0)
        return -1;
    s->part_bytes += len;
    return 0;
}

/* Size field: octal digits (space/NUL terminated) or GNU base-256. */
static int
header_size(const unsigned char *h, uint64_t *out)
{
    const unsigned char *f = h + 124;
    uint64_t    v = 0;
    int         i = 0;

    if (f[0] & 0x80)
    {
        for (i = 1; i < 12; i++)
        {
            if (v >> 56)
                return -1;
            v = (v << 8) | f[i];
        }
        *out = v;
        return 0;
    }
    while (i < 12 && f[i] == ' ')
        i++;
    for (; i < 12 && f[i] >= '0' && f[i] <= '7'; i++)
    {
        if (v >> 60)
            return -1;
        v = (v << 3) | (uint64_t) (f[i] - '0');
    }
    if (i < 12 && f[i] != ' ' && f[i] != '\0')
        return -1;
    *out = v;
    return 0;
}

static bool
all_zero(const unsigned char *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (b[i] != 0)
            return false;
    return true;
}

static int
split_write(struct filter *f, const void *data, size_t len, struct ws_err *err)
{
    struct tar_split *s = (struct tar_split *) f;
    const unsigned char *p = data;

    if (s->failed)
        return err_set(err, WS_EINTERNAL, "tar split used after a failure");
    while (len > 0)
    {
        size_t      n;

        if (s->ended)
        {
            if (put(s, p, len, err) < 0)
                goto fail;
            s->offset += len;
            s->tail += len;
            return 0;
        }
        if (s->remaining > 0)
        {
            n = len < s->remaining ? len : (size_t) s->remaining;
            if (put(s, p, n, err) < 0)
                goto fail;
            s->remaining -= n;
            s->offset += n;
            p += n;
            len -= n;
            continue;
        }
        /* collect a header */
        n = TAR_BLOCK_SIZE - s->hdr_len;
        if (n > len)
            n = len;
        memcpy(s->hdr + s->hdr_len, p, n);
        s->hdr_len += n;
        p += n;
        len -= n;
        if (s->hdr_len < TAR_BLOCK_SIZE)
            break;
        s->hdr_len = 0;
        if (all_zero(s->hdr, TAR_BLOCK_SIZE))
        {
            s->ended = true;
        }
        else
        {
            uint64_t    size;
            char        type = (char) s->hdr[156];

            if (header_size(s->hdr, &size) < 0 || size > UINT64_MAX - TAR_BLOCK_SIZE)
            {
                err_set(err, WS_ECORRUPT, "tar stream: invalid member header at offset %llu",
                        (unsigned long long) s->offset);
                goto fail;
            }
            /* cut here, before a member that is not the tail of an extended header */
            if (!s->continuation && s->sink != NULL && s->part_bytes >= s->part_size)
            {
                if (close_current(s, true, err) < 0)
                    goto fail;
            }
            if (type == '5' || type == '2' || type == '1')
                size = 0;           /* directories and links carry no data */
            s->remaining = (size + TAR_BLOCK_SIZE - 1) / TAR_BLOCK_SIZE * TAR_BLOCK_SIZE;
            s->continuation = (type == 'x' || type == 'g' || type == 'L' || type == 'K');
        }
        if (put(s, s->hdr, TAR_BLOCK_SIZE, err) < 0)
            goto fail;
        s->offset += TAR_BLOCK_SIZE;
    }
    return 0;
fail:
    s->failed = true;
    return -1;
}

static int
split_finish(struct filter *f, struct ws_err *err)
{
    struct tar_split *s = (struct tar_split *) f;

    if (s->failed)
        return err_set(err, WS_EINTERNAL, "tar split used after a failure");
    if (s->hdr_len > 0 || s->remaining > 0 || !s->ended || s->tail < TAR_BLOCK_SIZE)
    {
        s->failed = true;
        return err_set(err, WS_ECORRUPT, "tar stream truncated at offset %llu",
                       (unsigned long long) s->offset);
    }
    if (s->sink == NULL && open_next(s, err) < 0)
    {
        s->failed = true;
        return -1;
    }
    if (close_current(s, false, err) < 0)
    {
        s->failed = true;
        return -1;
    }
    return 0;
}

static void
split_free(struct filter *f)
{
    struct tar_split *s = (struct tar_split *) f;

    filter_free(s->sink);
    free(s);
}

static const struct filter_ops split_ops = {"tar_split", split_write, split_finish, split_free};

struct filter *
tar_split_new(uint64_t part_size,
              int (*open_part) (void *arg, uint32_t part, struct filter **sink, struct ws_err *err),
              int (*close_part) (void *arg, struct filter *sink, struct ws_err *err),
              void *arg, struct ws_err *err)
{
    struct tar_split *s = calloc(1, sizeof(*s));

    if (s == NULL)
    {
        err_set(err, WS_EINTERNAL, "out of memory");
        return NULL;
    }
    s->base.ops = &split_ops;
    s->part_size = part_size ? part_size : UINT64_MAX;
    s->open_part = open_part;
    s->close_part = close_part;
    s->arg = arg;
    return &s->base;
}
