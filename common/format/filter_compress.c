/*
 * filter_compress.c — compression and decompression stages (zstd, gzip, none).
 *
 * zstd: ZSTD_compressStream2 with the frame's own content checksum OFF: the
 * object format already carries an XXH64 of the plaintext, and hashing the
 * same bytes twice would cost time on the archiver's critical path.
 * ZSTD_c_nbWorkers > 0 lets one large segment compress on several threads.
 * gzip: zlib deflate with the gzip wrapper (windowBits 15 + 16).
 * none: a pass-through, so callers build the same chain for every setting.
 *
 * Decompression output is pushed downstream in bounded blocks; a stream that
 * ends mid-frame is WS_ECORRUPT.
 */
#include "filter.h"
#include "cfg.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

#define OUT_BLOCK (128 * 1024)

struct filter_cz
{
    struct filter base;
    int         alg;
    bool        decompress;
    ZSTD_CCtx  *zc;
    ZSTD_DCtx  *zd;
    z_stream    zs;
    bool        zs_init;
    bool        zstd_frame_done;    /* decompress: last ZSTD_decompressStream returned 0 */
    bool        z_end;              /* gzip inflate reached Z_STREAM_END */
    unsigned char out[OUT_BLOCK];
};

int
filter_compress_default_level(int alg)
{
    switch (alg)
    {
        case CFG_COMPRESS_ZSTD: return 1;   /* WAL: latency is throughput */
        case CFG_COMPRESS_GZIP: return 6;
        default: return 0;
    }
}

/* ---- zstd ---- */

static int
zstd_push(struct filter_cz *c, const void *buf, size_t len, ZSTD_EndDirective mode,
          struct ws_err *err)
{
    ZSTD_inBuffer in = {buf, len, 0};

    for (;;)
    {
        ZSTD_outBuffer out = {c->out, sizeof(c->out), 0};
        size_t      r = ZSTD_compressStream2(c->zc, &out, &in, mode);

        if (ZSTD_isError(r) && ZSTD_getErrorCode(r) == ZSTD_error_srcSize_wrong)
            return err_set(err, WS_EINPUT, "input changed size while being compressed");
        if (ZSTD_isError(r))
            return err_set(err, WS_EINTERNAL, "zstd compression failed: %s", ZSTD_getErrorName(r));
        if (out.pos > 0 && filter_write(c->base.next, c->out, out.pos, err) < 0)
            return -1;
        if (mode == ZSTD_e_continue ? in.pos == in.size : r == 0)
            return 0;
    }
}

static int
unzstd_push(struct filter_cz *c, const void *buf, size_t len, struct ws_err *err)
{
    ZSTD_inBuffer in = {buf, len, 0};

    for (;;)
    {
        ZSTD_outBuffer out = {c->out, sizeof(c->out), 0};
        size_t      before = in.pos;
        size_t      r = ZSTD_decompressStream(c->zd, &out, &in);

        if (ZSTD_isError(r))
            return err_set(err, WS_ECORRUPT, "zstd decompression failed: %s",
                           ZSTD_getErrorName(r));
        /* A call that made no progress after the frame ended reports the
         * next frame's header size: only a call that did work says whether
         * the frame is complete. */
        if (in.pos != before || out.pos > 0)
            c->zstd_frame_done = (r == 0);
        if (out.pos > 0 && filter_write(c->base.next, c->out, out.pos, err) < 0)
            return -1;
        /* done when the input is used up and the decoder had room to spare */
        if (in.pos == in.size && out.pos < out.size)
            return 0;
    }
}

/* ---- gzip ---- */

static int
gzip_push(struct filter_cz *c, const void *buf, size_t len, int flush, struct ws_err *err)
{
    c->zs.next_in = (Bytef *) buf;
    c->zs.avail_in = (uInt) len;
    for (;;)
    {
        int         r;
        size_t      have;

        c->zs.next_out = c->out;
        c->zs.avail_out = sizeof(c->out);
        r = deflate(&c->zs, flush);
        if (r == Z_STREAM_ERROR)
            return err_set(err, WS_EINTERNAL, "gzip compression failed");
        have = sizeof(c->out) - c->zs.avail_out;
        if (have > 0 && filter_write(c->base.next, c->out, have, err) < 0)
            return -1;
        if (flush == Z_FINISH ? r == Z_STREAM_END : (c->zs.avail_out != 0))
            return 0;
    }
}

static int
gunzip_push(struct filter_cz *c, const void *buf, size_t len, struct ws_err *err)
{
    c->zs.next_in = (Bytef *) buf;
    c->zs.avail_in = (uInt) len;
    while (c->zs.avail_in > 0 || !c->z_end)
    {
        int         r;
        size_t      have;

        if (c->z_end)
            return err_set(err, WS_ECORRUPT, "gzip stream has trailing data");
        c->zs.next_out = c->out;
        c->zs.avail_out = sizeof(c->out);
        r = inflate(&c->zs, Z_NO_FLUSH);
        if (r == Z_STREAM_END)
            c->z_end = true;
        else if (r == Z_BUF_ERROR)
        {
            /* no progress possible: needs more input */
            if (c->zs.avail_in == 0)
                return 0;
        }
        else if (r != Z_OK)
            return err_set(err, WS_ECORRUPT, "gzip decompression failed: %s",
                           c->zs.msg ? c->zs.msg : "invalid data");
        have = sizeof(c->out) - c->zs.avail_out;
        if (have > 0 && filter_write(c->base.next, c->out, have, err) < 0)
            return -1;
        if (c->zs.avail_in == 0 && c->zs.avail_out != 0)
            return 0;
    }
    return 0;
}

/* ---- ops ---- */

static int
cz_write(struct filter *f, const void *buf, size_t len, struct ws_err *err)
{
    struct filter_cz *c = (struct filter_cz *) f;

    switch (c->alg)
    {
        case CFG_COMPRESS_ZSTD:
            return c->decompress ? unzstd_push(c, buf, len, err)
                : zstd_push(c, buf, len, ZSTD_e_continue, err);
        case CFG_COMPRESS_GZIP:
            return c->decompress ? gunzip_push(c, buf, len, err)
                : gzip_push(c, buf, len, Z_NO_FLUSH, err);
        default:
            return filter_write(f->next, buf, len, err);
    }
}

static int
cz_finish(struct filter *f, struct ws_err *err)
{
    struct filter_cz *c = (struct filter_cz *) f;

    switch (c->alg)
    {
        case CFG_COMPRESS_ZSTD:
            if (!c->decompress)
            {
                if (zstd_push(c, NULL, 0, ZSTD_e_end, err) < 0)
                    return -1;
            }
            else if (!c->zstd_frame_done)
                return err_set(err, WS_ECORRUPT, "zstd stream is truncated");
            break;
        case CFG_COMPRESS_GZIP:
            if (!c->decompress)
            {
                if (gzip_push(c, NULL, 0, Z_FINISH, err) < 0)
                    return -1;
            }
            else if (!c->z_end)
                return err_set(err, WS_ECORRUPT, "gzip stream is truncated");
            break;
        default:
            break;
    }
    return filter_finish(f->next, err);
}

static void
cz_free(struct filter *f)
{
    struct filter_cz *c = (struct filter_cz *) f;

    ZSTD_freeCCtx(c->zc);
    ZSTD_freeDCtx(c->zd);
    if (c->zs_init)
    {
        if (c->decompress)
            inflateEnd(&c->zs);
        else
            deflateEnd(&c->zs);
    }
    free(c);
}

static const struct filter_ops cz_ops = {"compress", cz_write, cz_finish, cz_free};

static struct filter_cz *
cz_alloc(int alg, struct filter *next, struct ws_err *err)
{
    struct filter_cz *c;

    if (alg != CFG_COMPRESS_NONE && alg != CFG_COMPRESS_ZSTD && alg != CFG_COMPRESS_GZIP)
    {
        err_set(err, WS_ECORRUPT, "unknown compression algorithm %d", alg);
        filter_free(next);      /* ours from the call on (filter.h) */
        return NULL;
    }
    c = calloc(1, sizeof(*c));
    if (c == NULL)
    {
        err_set(err, WS_EINTERNAL, "out of memory");
        filter_free(next);
        return NULL;
    }
    c->base.ops = &cz_ops;
    c->base.next = next;
    c->alg = alg;
    return c;
}

struct filter *
filter_compress_new(int alg, int level, int threads, struct filter *next, struct ws_err *err)
{
    struct filter_cz *c = cz_alloc(alg, next, err);

    if (c == NULL)
        return NULL;
    if (level < 0 && alg != CFG_COMPRESS_ZSTD)
        level = filter_compress_default_level(alg);
    if (alg == CFG_COMPRESS_ZSTD)
    {
        size_t      r;

        if (level == -1)
            level = filter_compress_default_level(alg);
        c->zc = ZSTD_createCCtx();
        if (c->zc == NULL)
            goto oom;
        r = ZSTD_CCtx_setParameter(c->zc, ZSTD_c_compressionLevel, level);
        if (!ZSTD_isError(r))
            r = ZSTD_CCtx_setParameter(c->zc, ZSTD_c_checksumFlag, 0);
        if (!ZSTD_isError(r) && threads > 0)
            r = ZSTD_CCtx_setParameter(c->zc, ZSTD_c_nbWorkers, threads);
        if (ZSTD_isError(r))
        {
            err_set(err, WS_ECONFIG, "could not configure zstd (level %d, %d threads): %s",
                    level, threads, ZSTD_getErrorName(r));
            goto fail;
        }
    }
    else if (alg == CFG_COMPRESS_GZIP)
    {
        if (deflateInit2(&c->zs, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
            goto oom;
        c->zs_init = true;
    }
    return &c->base;
oom:
    err_set(err, WS_EINTERNAL, "out of memory");
fail:
    filter_free(&c->base);      /* and next: ours from the call on (filter.h) */
    return NULL;
}

int
filter_compress_pledge(struct filter *f, uint64_t size)
{
    struct filter_cz *c = (struct filter_cz *) f;

    /* zstd sizes its window and tables for the input and writes the size in the frame */
    if (c->alg == CFG_COMPRESS_ZSTD && !c->decompress && c->zc != NULL)
        return ZSTD_isError(ZSTD_CCtx_setPledgedSrcSize(c->zc, size)) ? -1 : 0;
    return 0;
}

struct filter *
filter_decompress_new(int alg, struct filter *next, struct ws_err *err)
{
    struct filter_cz *c = cz_alloc(alg, next, err);

    if (c == NULL)
        return NULL;
    c->decompress = true;
    if (alg == CFG_COMPRESS_ZSTD)
    {
        c->zd = ZSTD_createDCtx();
        if (c->zd == NULL)
            goto oom;
    }
    else if (alg == CFG_COMPRESS_GZIP)
    {
        if (inflateInit2(&c->zs, 15 + 16) != Z_OK)
            goto oom;
        c->zs_init = true;
    }
    return &c->base;
oom:
    err_set(err, WS_EINTERNAL, "out of memory");
    filter_free(&c->base);      /* and next */
    return NULL;
}
