/*
 * s3_multipart.c — the S3 driver's write path (put_open): the sink that
 * sends an object as one PUT, or as a multipart upload when it outgrows one
 * part.
 *
 * Objects up to one part (plus SINK_SLACK) are one PUT; larger streams
 * become a multipart upload with one part in flight and one part buffered,
 * so memory is bounded by the part size.  Parts double in size every 1000
 * parts (S3 allows unequal parts), so a 5 TiB stream fits in 10,000 parts.
 * A failed or abandoned multipart upload is aborted.  Create-if-absent uses
 * If-None-Match: * (412 -> WS_EEXISTS); because some servers ignore it on
 * completion, a multipart create-if-absent looks before completing and
 * checks the ETag after.  Every request, each part on its own, goes through
 * storage_s3_request, which retries it (storage_s3.h).
 *
 * The same file copies an object onto itself under another storage class
 * (s3_multipart_copy): CopyObject up to 5 GiB, else a multipart upload
 * whose parts are UploadPartCopy ranges of the source, so the bytes never
 * leave the store.
 */
#include "storage_s3.h"
#include "cfg.h"
#include "log.h"
#include "s3_xml.h"

#include <ctype.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define S3_PARTS_MAX 10000
#define S3_PART_MAX (5ULL * 1024 * 1024 * 1024)
#define SINK_SLACK ((size_t) 1 << 20)  /* single-PUT allowance beyond one part */

struct s3_part
{
    char        etag[256];
};

struct s3_sink
{
    struct filter base;
    struct storage_s3 *s;
    char        key[STORAGE_KEY_MAX];
    unsigned    flags;
    unsigned char *buf;
    size_t      have;
    size_t      cap;                /* buffer: part_len + SINK_SLACK */
    size_t      part_len;           /* current part size */
    char        upload_id[1024];
    struct s3_part *parts;
    int         nparts;
    bool        done;
    const char *storage_class;      /* NULL: the driver's s3_storage_class */
};

static int
put_headers(struct s3_sink *k, const char **hdr, char storage[4][600], bool conditional)
{
    struct storage_s3 *s = k->s;
    int         n = 0;

    if (conditional && (k->flags & STORAGE_PUT_NO_OVERWRITE))
        hdr[n++] = "If-None-Match: *";
    if (k->storage_class != NULL ? k->storage_class[0] != '\0'
        : s->storage_class[0] != '\0' && !(k->flags & STORAGE_PUT_DEFAULT_CLASS))
    {
        snprintf(storage[0], 600, "x-amz-storage-class: %s",
                 k->storage_class != NULL ? k->storage_class : s->storage_class);
        hdr[n++] = storage[0];
    }
    if (s->sse == CFG_SSE_AES256)
        hdr[n++] = "x-amz-server-side-encryption: AES256";
    else if (s->sse == CFG_SSE_KMS)
    {
        hdr[n++] = "x-amz-server-side-encryption: aws:kms";
        if (s->sse_kms_key_id[0])
        {
            snprintf(storage[1], 600, "x-amz-server-side-encryption-aws-kms-key-id: %s",
                     s->sse_kms_key_id);
            hdr[n++] = storage[1];
        }
    }
    hdr[n] = NULL;
    return n;
}

static int
upload_part(struct s3_sink *k, struct ws_err *err)
{
    struct storage_s3 *s = k->s;
    struct s3_req r;
    char        query[1200];
    char        enc[1100];
    const char *hdr[2] = {NULL, NULL};
    char        md5h[64];
    size_t      send;
    int         rc;

    if (k->nparts >= S3_PARTS_MAX)
        return err_set(err, WS_EIO, "S3 upload of \"%s%s\" needs more than %d parts", s->prefix,
                       k->key, S3_PARTS_MAX);
    if (s3_uri_encode(k->upload_id, false, enc, sizeof(enc)) < 0)
        return err_set(err, WS_EIO, "S3 upload id too long");
    snprintf(query, sizeof(query), "partNumber=%d&uploadId=%s", k->nparts + 1, enc);
    /* Content-MD5 lets the server reject a part damaged in transit */
    send = k->have < k->part_len ? k->have : k->part_len;
    s3_http_content_md5_header(k->buf, send, md5h);
    hdr[0] = md5h;
    s3_http_req_init(&r, "upload of a multipart part", "PUT", k->key);
    r.query = query;
    r.body = k->buf;
    r.body_len = send;
    r.headers = hdr;
    rc = storage_s3_request(s, &r, err);
    if (rc == 0)
    {
        if (r.etag[0] == '\0')
        {
            s3_http_req_done(&r);
            return err_set(err, WS_EIO, "S3 part %d of \"%s%s\": no ETag in the reply",
                           k->nparts + 1, s->prefix, k->key);
        }
        snprintf(k->parts[k->nparts].etag, sizeof(k->parts[k->nparts].etag), "%s", r.etag);
        k->nparts++;
        memmove(k->buf, k->buf + send, k->have - send);
        k->have -= send;
        /* S3 allows parts of different sizes: grow so 10,000 parts reach 5 TiB */
        if (k->nparts % 1000 == 0 && k->part_len * 2 <= S3_PART_MAX)
        {
            unsigned char *nb = realloc(k->buf, k->part_len * 2 + SINK_SLACK);

            if (nb != NULL)
            {
                k->buf = nb;
                k->part_len *= 2;
                k->cap = k->part_len + SINK_SLACK;
            }
        }
    }
    s3_http_req_done(&r);
    return rc;
}

static int
initiate(struct s3_sink *k, struct ws_err *err)
{
    struct s3_req r;
    const char *hdr[6];
    char        st[4][600];
    int         rc;

    put_headers(k, hdr, st, false);
    s3_http_req_init(&r, "initiation of a multipart upload", "POST", k->key);
    r.query = "uploads=";
    r.headers = hdr;
    r.capture = true;
    rc = storage_s3_request(k->s, &r, err);
    if (rc == 0 && (r.resp == NULL ||
                    s3_xml_text(r.resp, r.resp_len, "UploadId", k->upload_id,
                                sizeof(k->upload_id)) <= 0))
        rc = err_set(err, WS_EIO, "S3 multipart upload of \"%s%s\": no UploadId in the reply",
                     k->s->prefix, k->key);
    s3_http_req_done(&r);
    if (rc == 0)
    {
        k->parts = calloc(S3_PARTS_MAX, sizeof(*k->parts));
        if (k->parts == NULL)
            rc = err_set(err, WS_EINTERNAL, "out of memory");
    }
    return rc;
}

/*
 * S3's ETag of a completed multipart upload is MD5(MD5(part 1) || ... ||
 * MD5(part n)) "-" n.  After completing a create-if-absent upload, a HEAD
 * with another ETag means another writer's object is there: some servers
 * (Ceph RGW 16) ignore If-None-Match on completion, so this is the check.
 * Not with SSE-KMS, where ETags are not MD5-based.
 */
static int
verify_completed(struct s3_sink *k, struct ws_err *err)
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char digest[16];
    unsigned int dlen = 16;
    char        expect[64];
    char        got[256];
    struct s3_req r;
    int         rc;

    if (md == NULL || EVP_DigestInit_ex(md, EVP_md5(), NULL) != 1)
    {
        EVP_MD_CTX_free(md);
        return err_set(err, WS_EINTERNAL, "MD5 unavailable");
    }
    for (int i = 0; i < k->nparts; i++)
    {
        const char *e = k->parts[i].etag;
        unsigned char bin[16];
        size_t      n = 0;

        while (*e == '"')
            e++;
        for (; n < 16 && isxdigit((unsigned char) e[0]) && isxdigit((unsigned char) e[1]); n++, e += 2)
        {
            char        hx[3] = {e[0], e[1], 0};

            bin[n] = (unsigned char) strtoul(hx, NULL, 16);
        }
        if (n != 16)
        {
            EVP_MD_CTX_free(md);
            return 0;           /* not an MD5 ETag: cannot check, do not guess */
        }
        EVP_DigestUpdate(md, bin, 16);
    }
    EVP_DigestFinal_ex(md, digest, &dlen);
    EVP_MD_CTX_free(md);
    for (int i = 0; i < 16; i++)
        sprintf(expect + 2 * i, "%02x", digest[i]);
    sprintf(expect + 32, "-%d", k->nparts);

    s3_http_req_init(&r, "HEAD after a multipart upload", "HEAD", k->key);
    rc = storage_s3_request(k->s, &r, err);
    if (rc == 0)
    {
        const char *g = r.etag;
        size_t      gl;

        while (*g == '"')
            g++;
        snprintf(got, sizeof(got), "%s", g);
        gl = strlen(got);
        while (gl > 0 && got[gl - 1] == '"')
            got[--gl] = '\0';
        if (strcasecmp(got, expect) != 0)
            rc = err_set(err, WS_EEXISTS, "object \"%s%s\" already exists in bucket \"%s\" (another writer completed first)",
                         k->s->prefix, k->key, k->s->bucket);
    }
    s3_http_req_done(&r);
    return rc;
}

static void
abort_upload(struct s3_sink *k)
{
    struct s3_req r;
    struct ws_err err = WS_ERR_INIT;
    char        query[1200];
    char        enc[1100];

    if (k->upload_id[0] == '\0')
        return;
    if (s3_uri_encode(k->upload_id, false, enc, sizeof(enc)) < 0)
        return;
    snprintf(query, sizeof(query), "uploadId=%s", enc);
    s3_http_req_init(&r, "abort of a multipart upload", "DELETE", k->key);
    r.query = query;
    if (storage_s3_request(k->s, &r, &err) < 0)
        log_warning("could not abort multipart upload of \"%s%s\" (parts may remain until a lifecycle rule removes them): %s",
                    k->s->prefix, k->key, err.msg);
    s3_http_req_done(&r);
    k->upload_id[0] = '\0';
}

static int
complete(struct s3_sink *k, struct ws_err *err)
{
    struct s3_req r;
    char        query[1200];
    char        enc[1100];
    char       *xml;
    size_t      cap = 128 + (size_t) k->nparts * 400;
    size_t      len = 0;
    const char *hdr[3];
    char        md5h[64];
    char        code[128];
    int         rc;

    xml = malloc(cap);
    if (xml == NULL)
        return err_set(err, WS_EINTERNAL, "out of memory");
    len += (size_t) snprintf(xml + len, cap - len, "<CompleteMultipartUpload>");
    for (int i = 0; i < k->nparts; i++)
    {
        char        etag[600];

        s3_xml_escape(k->parts[i].etag, etag, sizeof(etag));
        len += (size_t) snprintf(xml + len, cap - len,
                                 "<Part><PartNumber>%d</PartNumber><ETag>%s</ETag></Part>",
                                 i + 1, etag);
    }
    len += (size_t) snprintf(xml + len, cap - len, "</CompleteMultipartUpload>");
    s3_uri_encode(k->upload_id, false, enc, sizeof(enc));
    snprintf(query, sizeof(query), "uploadId=%s", enc);
    s3_http_content_md5_header(xml, len, md5h);
    hdr[0] = md5h;
    hdr[1] = (k->flags & STORAGE_PUT_NO_OVERWRITE) ? "If-None-Match: *" : NULL;
    hdr[2] = NULL;
    s3_http_req_init(&r, "completion of a multipart upload", "POST", k->key);
    r.query = query;
    r.body = (const unsigned char *) xml;
    r.body_len = len;
    r.headers = hdr;
    r.capture = true;
    rc = storage_s3_request(k->s, &r, err);
    /* S3 may answer 200 and put an error in the body */
    if (rc == 0 && r.resp != NULL &&
        s3_xml_text(r.resp, r.resp_len, "Code", code, sizeof(code)) > 0 &&
        strstr(r.resp, "<Error") != NULL)
        rc = err_set(err, strcmp(code, "InternalError") == 0 ? WS_ETRANSIENT : WS_EIO,
                     "S3 completion of the multipart upload of \"%s%s\" failed: %s",
                     k->s->prefix, k->key, code);
    s3_http_req_done(&r);
    free(xml);
    if (rc == 0)
        k->upload_id[0] = '\0';     /* completed: nothing to abort */
    return rc;
}

static int
sink_write(struct filter *f, const void *data, size_t len, struct ws_err *err)
{
    struct s3_sink *k = (struct s3_sink *) f;
    const unsigned char *p = data;

    while (len > 0)
    {
        size_t      n = k->cap - k->have;

        if (n > len)
            n = len;
        memcpy(k->buf + k->have, p, n);
        k->have += n;
        p += n;
        len -= n;
        if (k->have == k->cap)
        {
            if (k->upload_id[0] == '\0' && initiate(k, err) < 0)
                return -1;
            if (upload_part(k, err) < 0)
                return -1;
        }
    }
    return 0;
}

static int
sink_finish(struct filter *f, struct ws_err *err)
{
    struct s3_sink *k = (struct s3_sink *) f;
    struct s3_req r;
    const char *hdr[8];
    char        st[4][600];
    int         rc;

    if (k->upload_id[0] != '\0')
    {
        while (k->have > 0)
            if (upload_part(k, err) < 0)
                return -1;
        if (k->flags & STORAGE_PUT_NO_OVERWRITE)
        {
            /* servers that ignore If-None-Match on completion: look first */
            struct storage_info info;

            if (storage_head(&k->s->base, k->key, &info, err) == 0)
                return err_set(err, WS_EEXISTS, "object \"%s%s\" already exists in bucket \"%s\"",
                               k->s->prefix, k->key, k->s->bucket);
            if (err->code != WS_ENOTFOUND)
                return -1;
            err_clear(err);
        }
        if (complete(k, err) < 0)
            return -1;
        k->done = true;
        if ((k->flags & STORAGE_PUT_NO_OVERWRITE) && k->s->sse != CFG_SSE_KMS)
            return verify_completed(k, err);
        return 0;
    }
    put_headers(k, hdr, st, true);
    s3_http_req_init(&r, "PUT", "PUT", k->key);
    r.body = k->buf;
    r.body_len = k->have;
    r.headers = hdr;
    rc = storage_s3_request(k->s, &r, err);
    s3_http_req_done(&r);
    if (rc == 0)
        k->done = true;
    return rc;
}

static void
sink_free(struct filter *f)
{
    struct s3_sink *k = (struct s3_sink *) f;

    if (!k->done)
        abort_upload(k);
    free(k->buf);
    free(k->parts);
    free(k);
}

static const struct filter_ops s3_sink_ops = {"s3-put", sink_write, sink_finish, sink_free};

int
s3_multipart_put_open(struct storage *st, const char *key, unsigned flags, struct filter **out,
                      struct ws_err *err)
{
    struct storage_s3 *s = (struct storage_s3 *) st;
    struct s3_sink *k = calloc(1, sizeof(*k));

    if (k == NULL)
        return err_set(err, WS_EINTERNAL, "out of memory");
    k->base.ops = &s3_sink_ops;
    k->s = s;
    k->flags = flags;
    snprintf(k->key, sizeof(k->key), "%s", key);
    /*
     * One buffer of a part plus 1 MiB: an object of s3_part_size plus the
     * object format's few hundred bytes of framing (an uncompressed 16 MiB
     * WAL segment) still goes as one PUT, where If-None-Match is atomic on
     * every server we know.  Multipart parts are exactly s3_part_size (the
     * last one excepted).  Pages are touched only as they fill.
     */
    k->part_len = (size_t) s->part_size;
    k->cap = k->part_len + SINK_SLACK;
    k->buf = malloc(k->cap);
    if (k->buf == NULL)
    {
        free(k);
        return err_set(err, WS_EINTERNAL, "out of memory for a %zu-byte S3 part buffer",
                       (size_t) s->part_size);
    }
    *out = &k->base;
    return 0;
}

/* ---- server-side copy under another storage class ------------------------- */

/* "x-amz-copy-source: /bucket/<prefix><key>", percent-encoded as S3 wants. */
static int
copy_source_header(struct storage_s3 *s, const char *key, char *out, size_t len,
                   struct ws_err *err)
{
    char        full[2 * STORAGE_KEY_MAX + 8];
    char        enc[6 * STORAGE_KEY_MAX + 800];

    snprintf(full, sizeof(full), "%s/%s%s", s->bucket, s->prefix, key);
    if (s3_uri_encode(full, true, enc, sizeof(enc)) < 0 ||
        (size_t) snprintf(out, len, "x-amz-copy-source: /%s", enc) >= len)
        return err_set(err, WS_EINTERNAL, "S3 key \"%s%s\" too long to copy", s->prefix, key);
    return 0;
}

/* S3 may answer a copy with 200 and an error in the body. */
static int
copy_reply_error(struct storage_s3 *s, const struct s3_req *r, const char *key,
                 const char *result_tag, struct ws_err *err)
{
    char        code[128] = "";

    if (r->resp != NULL && strstr(r->resp, "<Error") != NULL)
    {
        if (s3_xml_text(r->resp, r->resp_len, "Code", code, sizeof(code)) <= 0)
            snprintf(code, sizeof(code), "unknown error");
        return err_set(err, strcmp(code, "InternalError") == 0 ? WS_ETRANSIENT : WS_EIO,
                       "S3 %s of \"%s%s\" in bucket \"%s\" failed: %s", r->op, s->prefix,
                       key, s->bucket, code);
    }
    if (r->resp == NULL || strstr(r->resp, result_tag) == NULL)
        return err_set(err, WS_EIO, "S3 %s of \"%s%s\" in bucket \"%s\": no %s in the reply",
                       r->op, s->prefix, key, s->bucket, result_tag);
    return 0;
}

/* One CopyObject of key onto itself (objects up to 5 GiB). */
static int
copy_whole(struct s3_sink *k, struct ws_err *err)
{
    struct s3_req r;
    const char *hdr[10];
    char        st[4][600];
    char        src[8 * STORAGE_KEY_MAX + 900];
    int         n, rc;

    if (copy_source_header(k->s, k->key, src, sizeof(src), err) < 0)
        return -1;
    n = put_headers(k, hdr, st, false);
    hdr[n++] = src;
    hdr[n++] = "x-amz-metadata-directive: COPY";
    hdr[n] = NULL;
    s3_http_req_init(&r, "copy to another storage class", "PUT", k->key);
    r.headers = hdr;
    r.capture = true;
    rc = storage_s3_request(k->s, &r, err);
    if (rc == 0)
        rc = copy_reply_error(k->s, &r, k->key, "CopyObjectResult", err);
    s3_http_req_done(&r);
    return rc;
}

/* One UploadPartCopy of bytes [first, last] of the source. */
static int
copy_part(struct s3_sink *k, uint64_t first, uint64_t last, struct ws_err *err)
{
    struct s3_req r;
    const char *hdr[4];
    char        src[8 * STORAGE_KEY_MAX + 900];
    char        range[96];
    char        query[1200];
    char        enc[1100];
    int         n = 0, rc;

    if (k->nparts >= S3_PARTS_MAX)
        return err_set(err, WS_EIO, "S3 copy of \"%s%s\" needs more than %d parts",
                       k->s->prefix, k->key, S3_PARTS_MAX);
    if (copy_source_header(k->s, k->key, src, sizeof(src), err) < 0)
        return -1;
    if (s3_uri_encode(k->upload_id, false, enc, sizeof(enc)) < 0)
        return err_set(err, WS_EIO, "S3 upload id too long");
    snprintf(query, sizeof(query), "partNumber=%d&uploadId=%s", k->nparts + 1, enc);
    snprintf(range, sizeof(range), "x-amz-copy-source-range: bytes=%llu-%llu",
             (unsigned long long) first, (unsigned long long) last);
    hdr[n++] = src;
    hdr[n++] = range;
    hdr[n] = NULL;
    s3_http_req_init(&r, "copy of a multipart part", "PUT", k->key);
    r.query = query;
    r.headers = hdr;
    r.capture = true;
    rc = storage_s3_request(k->s, &r, err);
    if (rc == 0)
        rc = copy_reply_error(k->s, &r, k->key, "CopyPartResult", err);
    if (rc == 0 && s3_xml_text(r.resp, r.resp_len, "ETag", k->parts[k->nparts].etag,
                               sizeof(k->parts[k->nparts].etag)) <= 0)
        rc = err_set(err, WS_EIO, "S3 copy of part %d of \"%s%s\": no ETag in the reply",
                     k->nparts + 1, k->s->prefix, k->key);
    if (rc == 0)
        k->nparts++;
    s3_http_req_done(&r);
    return rc;
}

int
s3_multipart_copy(struct storage *st, const char *key, uint64_t size,
                  const char *storage_class, struct ws_err *err)
{
    struct storage_s3 *s = (struct storage_s3 *) st;
    struct s3_sink k;
    uint64_t    part;
    int         rc = -1;

    memset(&k, 0, sizeof(k));
    k.s = s;
    k.storage_class = storage_class;
    snprintf(k.key, sizeof(k.key), "%s", key);
    if (size <= S3_PART_MAX)
        return copy_whole(&k, err);

    /* parts of at least 256 MiB (fewer requests), few enough for 10,000 */
    part = s->part_size > (256ULL << 20) ? s->part_size : (256ULL << 20);
    while (size / part >= S3_PARTS_MAX && part * 2 <= S3_PART_MAX)
        part *= 2;
    if (initiate(&k, err) < 0)
        goto cleanup;
    for (uint64_t off = 0; off < size; off += part)
    {
        uint64_t    last = off + part < size ? off + part - 1 : size - 1;

        if (copy_part(&k, off, last, err) < 0)
            goto cleanup;
    }
    if (complete(&k, err) < 0)
        goto cleanup;
    rc = 0;
cleanup:
    abort_upload(&k);               /* a no-op once completed */
    free(k.parts);
    return rc;
}
