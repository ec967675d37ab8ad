/*
 * s3_http.c — the HTTP transport of the S3 driver and of the credential
 * calls.  See s3_http.h.
 *
 * libcurl signs every S3 request with AWS Signature Version 4
 * (CURLOPT_AWS_SIGV4, region and service always explicit).  Its signer uses
 * the request's query string verbatim and the value of our own
 * x-amz-content-sha256 header as the payload hash, so callers build queries
 * already canonical and keys already encoded (s3_uri_encode), and every
 * request carries x-amz-content-sha256: the SHA-256 of the body over plain
 * HTTP, UNSIGNED-PAYLOAD over HTTPS (TLS already protects it, and the object
 * format carries its own checksums).  A header is never removed with
 * "Name:" (libcurl 7.88 would still sign it).  (ENVIRONMENT.md section 3
 * records the tests behind these rules.)
 *
 * Bodies are bounded: a GET's 2xx body streams into the caller's filter
 * chain, never bytes outside the range a ranged GET asked for; captured
 * replies and error bodies have caps, and so do credential responses, which
 * are wiped when freed.
 */
#define _GNU_SOURCE     /* strptime, timegm */
#include "s3_http.h"
#include "clock.h"
#include "retry.h"
#include "s3_xml.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define S3_ERRBODY_MAX (64 * 1024)
#define S3_LIST_MAX (4 * 1024 * 1024)       /* a captured 2xx reply, unless capture_max */
#define S3_HTTP_CALL_BODY_MAX (64 * 1024)   /* an STS or IMDS response */

/* ---- encoding, hashing, parsing, signing ------------------------------------ */

int
s3_uri_encode(const char *in, bool keep_slash, char *out, size_t outlen)
{
    static const char hx[] = "0123456789ABCDEF";
    size_t      o = 0;

    for (const unsigned char *p = (const unsigned char *) in; *p; p++)
    {
        bool        plain = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
            (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' || *p == '_' || *p == '~' ||
            (keep_slash && *p == '/');

        if (o + (plain ? 1 : 3) >= outlen)
            return -1;
        if (plain)
            out[o++] = (char) *p;
        else
        {
            out[o++] = '%';
            out[o++] = hx[*p >> 4];
            out[o++] = hx[*p & 15];
        }
    }
    out[o] = '\0';
    return 0;
}

static void
sha256_hex(const void *data, size_t len, char out[65])
{
    unsigned char md[32];
    unsigned int mdlen = 32;
    static const char hx[] = "0123456789abcdef";

    EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL);
    for (int i = 0; i < 32; i++)
    {
        out[2 * i] = hx[md[i] >> 4];
        out[2 * i + 1] = hx[md[i] & 15];
    }
    out[64] = '\0';
}

void
s3_http_content_md5_header(const void *data, size_t len, char out[64])
{
    static const char name[] = "Content-MD5: ";
    unsigned char md[16];
    unsigned int mdlen = 16;

    EVP_Digest(data, len, md, &mdlen, EVP_md5(), NULL);
    memcpy(out, name, sizeof(name) - 1);
    /* 16 bytes are 24 base64 characters, NUL-terminated by EVP_EncodeBlock */
    EVP_EncodeBlock((unsigned char *) out + sizeof(name) - 1, md, 16);
}

/*
 * One or more decimal digits at *p, no larger than max: 0 with *out and *p
 * advanced past them, or -1 if there is no digit or the value exceeds max.
 * The bound is checked before each multiplication, so nothing overflows.
 */
static int
scan_u64(const char **p, uint64_t max, uint64_t *out)
{
    const char *q = *p;
    uint64_t    v = 0;

    if (*q < '0' || *q > '9')
        return -1;
    for (; *q >= '0' && *q <= '9'; q++)
    {
        unsigned    d = (unsigned) (*q - '0');

        if (v > (max - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *p = q;
    *out = v;
    return 0;
}

static const char *
skip_ows(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

int
s3_parse_u64(const char *s, uint64_t max, uint64_t *out)
{
    uint64_t    v;

    if (s == NULL)
        return -1;
    s = skip_ows(s);
    if (scan_u64(&s, max, &v) < 0 || *skip_ows(s) != '\0')
        return -1;
    *out = v;
    return 0;
}

int
s3_parse_retry_after(const char *value, int64_t now, long *ms)
{
    const long  cap_s = S3_BACKOFF_MAX_MS / 1000;
    const char *p;
    long        secs = 0;

    *ms = 0;
    if (value == NULL)
        return -1;
    p = skip_ows(value);
    if (*p >= '0' && *p <= '9')
    {
        /* delay-seconds: any number of digits; once past the cap, stop adding */
        for (; *p >= '0' && *p <= '9'; p++)
            if (secs <= cap_s)
                secs = secs * 10 + (*p - '0');
        if (*skip_ows(p) != '\0')
            return -1;
    }
    else
    {
        int64_t     when = s3_http_time_parse(p);

        if (when < 0)
            return -1;
        /* a date is at most year 9999, so the difference cannot overflow */
        if (when <= now)
            secs = 0;
        else if (when - now > cap_s)
            secs = cap_s + 1;
        else
            secs = (long) (when - now);
    }
    *ms = secs > cap_s ? S3_BACKOFF_MAX_MS : secs * 1000;
    return 0;
}

int
s3_parse_content_range(const char *value, uint64_t *first, uint64_t *last)
{
    const char *p;
    uint64_t    a, b, total;

    if (value == NULL || strncasecmp(value, "bytes ", 6) != 0)
        return -1;
    p = skip_ows(value + 6);
    if (scan_u64(&p, INT64_MAX, &a) < 0 || *p++ != '-' ||
        scan_u64(&p, INT64_MAX, &b) < 0 || *p++ != '/' || a > b)
        return -1;
    if (*p == '*')
        p++;
    else if (scan_u64(&p, INT64_MAX, &total) < 0 || b >= total)
        return -1;
    if (*skip_ows(p) != '\0')
        return -1;
    *first = a;
    *last = b;
    return 0;
}

int
s3_sign_setup(CURL *h, const char *scope, const struct s3_credentials *cred,
              const char *payload_hash, struct curl_slist **headers)
{
    char        hdr[128];
    struct curl_slist *n;

    curl_easy_setopt(h, CURLOPT_AWS_SIGV4, scope);
    curl_easy_setopt(h, CURLOPT_USERNAME, cred->access_key_id);
    curl_easy_setopt(h, CURLOPT_PASSWORD, cred->secret_access_key);
    snprintf(hdr, sizeof(hdr), "x-amz-content-sha256: %s", payload_hash);
    n = curl_slist_append(*headers, hdr);
    if (n == NULL)
        return -1;
    *headers = n;
    if (cred->session_token[0])
    {
        size_t      len = strlen(cred->session_token) + 32;
        char       *tok = malloc(len);

        if (tok == NULL)
            return -1;
        snprintf(tok, len, "x-amz-security-token: %s", cred->session_token);
        n = curl_slist_append(*headers, tok);
        OPENSSL_cleanse(tok, len);
        free(tok);
        if (n == NULL)
            return -1;
        *headers = n;
    }
    return 0;
}

/* ---- handles ------------------------------------------------------------ */

void
s3_http_init(struct s3_http *t)
{
    pthread_mutex_init(&t->lock, NULL);
    t->npool = 0;
}

void
s3_http_cleanup(struct s3_http *t)
{
    for (int i = 0; i < t->npool; i++)
        curl_easy_cleanup(t->pool[i]);
    t->npool = 0;
    pthread_mutex_destroy(&t->lock);
}

CURL *
s3_http_handle_get(struct s3_http *t)
{
    CURL       *h = NULL;

    pthread_mutex_lock(&t->lock);
    if (t->npool > 0)
        h = t->pool[--t->npool];
    pthread_mutex_unlock(&t->lock);
    if (h == NULL)
        h = curl_easy_init();
    else
        curl_easy_reset(h);     /* keeps the connection cache */
    return h;
}

void
s3_http_handle_put(struct s3_http *t, CURL *h)
{
    if (h == NULL)
        return;
    pthread_mutex_lock(&t->lock);
    if (t->npool < S3_HTTP_POOL_MAX)
    {
        t->pool[t->npool++] = h;
        h = NULL;
    }
    pthread_mutex_unlock(&t->lock);
    if (h)
        curl_easy_cleanup(h);
}

/* Certificate checks, for S3 requests and credential calls alike. */
static void
set_tls(CURL *h, const char *ca_file, bool verify)
{
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, verify ? 1L : 0L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, verify ? 2L : 0L);
    if (ca_file != NULL && ca_file[0] != '\0')
        curl_easy_setopt(h, CURLOPT_CAINFO, ca_file);
}

/* ---- one S3 request ------------------------------------------------------ */

struct xfer
{
    struct s3_req *r;
    CURL       *h;
    size_t      body_pos;           /* upload position */
    uint64_t    delivered;          /* bytes given to the sink in this attempt */
    bool        sink_failed;
    bool        ranged;             /* a Range header was sent: 206 expected */
    uint64_t    want_first;         /* ranged: the first byte asked for */
    uint64_t    want_len;           /* ranged: bytes asked for, UINT64_MAX = to the end */
    bool        range_seen;         /* a Content-Range header arrived */
    bool        range_valid;        /* ... and parsed: range_first..range_last */
    uint64_t    range_first;
    uint64_t    range_last;
    struct ws_err *sink_err;
    size_t      cap;
    /* stall detection: s3_timeout seconds without a byte in either direction */
    long        timeout_s;
    curl_off_t  last_dl;
    curl_off_t  last_ul;
    int64_t     last_move_ms;       /* clock_now_ms() of the last byte; 0 = none yet */
    bool        stalled;
};

static int
on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
            curl_off_t ulnow)
{
    struct xfer *x = arg;
    int64_t     now = clock_now_ms();

    (void) dltotal;
    (void) ultotal;
    if (retry_interrupted())
        return 1;               /* CURLE_ABORTED_BY_CALLBACK: the process is asked to stop */
    if (dlnow != x->last_dl || ulnow != x->last_ul || x->last_move_ms == 0)
    {
        x->last_dl = dlnow;
        x->last_ul = ulnow;
        x->last_move_ms = now;
        return 0;
    }
    if (now - x->last_move_ms >= (int64_t) x->timeout_s * 1000)
    {
        x->stalled = true;
        return 1;               /* CURLE_ABORTED_BY_CALLBACK */
    }
    return 0;
}

static size_t
on_read(char *buf, size_t size, size_t nitems, void *arg)
{
    struct xfer *x = arg;
    size_t      n = size * nitems;
    size_t      left = x->r->body_len - x->body_pos;

    if (n > left)
        n = left;
    memcpy(buf, x->r->body + x->body_pos, n);
    x->body_pos += n;
    return n;
}

static int
on_seek(void *arg, curl_off_t offset, int origin)
{
    struct xfer *x = arg;

    if (origin != SEEK_SET || offset < 0 || (uint64_t) offset > x->r->body_len)
        return CURL_SEEKFUNC_CANTSEEK;
    x->body_pos = (size_t) offset;
    return CURL_SEEKFUNC_OK;
}

static size_t
on_write(char *data, size_t size, size_t nmemb, void *arg)
{
    struct xfer *x = arg;
    size_t      n = size * nmemb;
    long        status = 0;

    curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &status);
    if (status == 200 && x->ranged && x->r->sink != NULL)
    {
        /* the whole object instead of the range asked for: never splice that */
        x->sink_failed = true;
        err_set(x->sink_err, WS_EIO,
                "S3 server answered a Range request for \"%s\" with the whole object",
                x->r->key ? x->r->key : "");
        return 0;
    }
    if (status == 206 && x->ranged && x->r->sink != NULL)
    {
        /* never splice bytes from outside the range asked for */
        if (x->range_seen &&
            (!x->range_valid || x->range_first != x->want_first ||
             (x->want_len != UINT64_MAX && x->range_last - x->range_first >= x->want_len)))
        {
            x->sink_failed = true;
            if (x->range_valid)
                err_set(x->sink_err, WS_EIO, "S3 server answered a Range request for \"%s\" "
                        "from byte %llu with bytes %llu-%llu", x->r->key ? x->r->key : "",
                        (unsigned long long) x->want_first,
                        (unsigned long long) x->range_first,
                        (unsigned long long) x->range_last);
            else
                err_set(x->sink_err, WS_EIO, "S3 server answered a Range request for \"%s\" "
                        "with an invalid Content-Range", x->r->key ? x->r->key : "");
            return 0;
        }
        if (n > x->want_len - x->delivered)
        {
            x->sink_failed = true;
            err_set(x->sink_err, WS_EIO,
                    "S3 server sent more than the %llu bytes asked for of \"%s\"",
                    (unsigned long long) x->want_len, x->r->key ? x->r->key : "");
            return 0;
        }
    }
    if (status >= 200 && status < 300 && x->r->sink != NULL)
    {
        if (filter_write(x->r->sink, data, n, x->sink_err) < 0)
        {
            x->sink_failed = true;
            return 0;           /* aborts the transfer: CURLE_WRITE_ERROR */
        }
        x->delivered += n;
        return n;
    }
    /* error bodies and captured replies: bounded */
    {
        size_t      cap = (status >= 200 && status < 300) ? x->cap : S3_ERRBODY_MAX;
        size_t      keep = n;
        char       *nb;

        if (x->r->resp_len + keep > cap)
        {
            if (status >= 200 && status < 300)
            {
                x->sink_failed = true;
                err_set(x->sink_err, WS_EIO, "S3 reply larger than %zu bytes", cap);
                return 0;
            }
            keep = cap > x->r->resp_len ? cap - x->r->resp_len : 0;
        }
        if (keep == 0)
            return n;
        nb = realloc(x->r->resp, x->r->resp_len + keep + 1);
        if (nb == NULL)
            return 0;
        memcpy(nb + x->r->resp_len, data, keep);
        x->r->resp = nb;
        x->r->resp_len += keep;
        nb[x->r->resp_len] = '\0';
    }
    return n;
}

static void
header_value(const char *line, size_t len, char *out, size_t outlen)
{
    const char *colon = memchr(line, ':', len);
    const char *v, *end = line + len;
    size_t      n;

    if (colon == NULL)
        return;
    v = colon + 1;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
        end--;
    n = (size_t) (end - v);
    if (n >= outlen)
        n = outlen - 1;
    memcpy(out, v, n);
    out[n] = '\0';
}

static size_t
on_header(char *line, size_t size, size_t nitems, void *arg)
{
    struct xfer *x = arg;
    size_t      n = size * nitems;
    char        v[256];

    if (n > 5 && strncmp(line, "HTTP/", 5) == 0)
    {
        /* a new response (after 100-continue or a redirect): reset */
        x->r->etag[0] = x->r->request_id[0] = '\0';
        x->r->storage_class[0] = x->r->restore[0] = '\0';
        x->r->retry_after_ms = 0;
        x->range_seen = x->range_valid = false;
    }
    else if (n > 5 && strncasecmp(line, "ETag:", 5) == 0)
        header_value(line, n, x->r->etag, sizeof(x->r->etag));
    else if (n > 17 && strncasecmp(line, "x-amz-request-id:", 17) == 0)
        header_value(line, n, x->r->request_id, sizeof(x->r->request_id));
    else if (n > 20 && strncasecmp(line, "x-amz-storage-class:", 20) == 0)
        header_value(line, n, x->r->storage_class, sizeof(x->r->storage_class));
    else if (n > 14 && strncasecmp(line, "x-amz-restore:", 14) == 0)
        header_value(line, n, x->r->restore, sizeof(x->r->restore));
    else if (n > 12 && strncasecmp(line, "Retry-After:", 12) == 0)
    {
        long        ms;

        header_value(line, n, v, sizeof(v));
        /* a malformed value is ignored: the usual backoff applies */
        x->r->retry_after_ms = s3_parse_retry_after(v, (int64_t) time(NULL), &ms) == 0 ? ms : 0;
    }
    else if (n > 14 && strncasecmp(line, "Content-Range:", 14) == 0)
    {
        header_value(line, n, v, sizeof(v));
        x->range_seen = true;
        x->range_valid = s3_parse_content_range(v, &x->range_first, &x->range_last) == 0;
    }
    else if (n > 15 && strncasecmp(line, "Last-Modified:", 14) == 0)
    {
        struct tm   tm;

        header_value(line, n, v, sizeof(v));
        memset(&tm, 0, sizeof(tm));
        if (strptime(v, "%a, %d %b %Y %H:%M:%S GMT", &tm) != NULL)
            x->r->last_modified = (int64_t) timegm(&tm);
    }
    return n;
}


int
s3_http_attempt(struct s3_http *t, CURL *h, const char *url, struct s3_req *r,
                const struct s3_credentials *cred, struct s3_attempt *a, struct ws_err *err)
{
    struct curl_slist *hl = NULL;
    struct xfer x;
    char        hbuf[8][512];
    char        sha[65];
    int         nh = 0;

    memset(&x, 0, sizeof(x));
    x.r = r;
    x.h = h;
    x.sink_err = err;
    x.cap = r->capture_max ? r->capture_max : S3_LIST_MAX;
    a->cc = CURLE_OK;
    a->stalled = a->sink_failed = false;
    a->delivered = 0;

    curl_easy_reset(h);
    a->errbuf[0] = '\0';
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, a->errbuf);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, t->connect_timeout);
    /* libcurl's low-speed check averages over 5 s; this is "no progress for s3_timeout" */
    x.timeout_s = t->timeout;
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, &x);
    set_tls(h, t->ca_file, t->verify_tls);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &x);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &x);

    if (strcmp(r->method, "HEAD") == 0)
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    else if (strcmp(r->method, "PUT") == 0 || strcmp(r->method, "POST") == 0)
    {
        if (strcmp(r->method, "PUT") == 0)
            curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
        else
        {
            curl_easy_setopt(h, CURLOPT_POST, 1L);
            curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) r->body_len);
        }
        curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(h, CURLOPT_READDATA, &x);
        curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, on_seek);
        curl_easy_setopt(h, CURLOPT_SEEKDATA, &x);
        curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t) r->body_len);
        hl = curl_slist_append(hl, "Content-Type: application/octet-stream");
    }
    else if (strcmp(r->method, "GET") != 0)
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, r->method);

    if (t->https && r->body_len > 0)
        snprintf(sha, sizeof(sha), "UNSIGNED-PAYLOAD");
    else if (r->body_len > 0)
        sha256_hex(r->body, r->body_len, sha);
    else
        snprintf(sha, sizeof(sha), "%s", S3_EMPTY_SHA256);
    if (s3_sign_setup(h, t->sigv4, cred, sha, &hl) < 0)
    {
        curl_slist_free_all(hl);
        return err_set(err, WS_EINTERNAL, "out of memory");
    }
    if (r->use_range || a->resume_from > 0)
    {
        x.ranged = true;
        uint64_t    start = r->range_start + a->resume_from;

        x.want_first = start;
        x.want_len = r->range_len ? r->range_len - a->resume_from : UINT64_MAX;

        if (r->range_len)
            snprintf(hbuf[nh], sizeof(hbuf[nh]), "Range: bytes=%llu-%llu",
                     (unsigned long long) start,
                     (unsigned long long) (r->range_start + r->range_len - 1));
        else
            snprintf(hbuf[nh], sizeof(hbuf[nh]), "Range: bytes=%llu-",
                     (unsigned long long) start);
        hl = curl_slist_append(hl, hbuf[nh++]);
    }
    if (a->if_match != NULL && a->if_match[0])
    {
        snprintf(hbuf[nh], sizeof(hbuf[nh]), "If-Match: %s", a->if_match);
        hl = curl_slist_append(hl, hbuf[nh++]);
    }
    for (int i = 0; r->headers && r->headers[i]; i++)
        hl = curl_slist_append(hl, r->headers[i]);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);

    a->cc = curl_easy_perform(h);
    curl_slist_free_all(hl);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
    a->stalled = x.stalled;
    a->sink_failed = x.sink_failed;
    a->delivered = x.delivered;
    if (a->cc == CURLE_OK && !x.sink_failed)
    {
        curl_off_t  cl = -1;

        curl_easy_getinfo(h, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl);
        r->content_length = cl >= 0 ? (uint64_t) cl : 0;
    }
    return 0;
}

void
s3_http_req_init(struct s3_req *r, const char *op, const char *method, const char *key)
{
    memset(r, 0, sizeof(*r));
    r->op = op;
    r->method = method;
    r->key = key;
}

void
s3_http_req_reset(struct s3_req *r)
{
    free(r->resp);
    r->resp = NULL;
    r->resp_len = 0;
    r->status = 0;
}

void
s3_http_req_done(struct s3_req *r)
{
    free(r->resp);
    r->resp = NULL;
}

/* ---- the credential calls (STS, IMDS) ---------------------------------------- */


static size_t
http_body_write(char *ptr, size_t size, size_t nmemb, void *arg)
{
    struct s3_http_body *b = arg;
    size_t      n = size * nmemb;

    if (n > S3_HTTP_CALL_BODY_MAX - b->len)
    {
        b->overflow = 1;
        return 0;               /* makes curl fail with CURLE_WRITE_ERROR */
    }
    if (b->len + n + 1 > b->alloc)
    {
        size_t      want = b->alloc == 0 ? 4096 : b->alloc;
        char       *nd;

        while (want < b->len + n + 1)
            want *= 2;
        if ((nd = malloc(want)) == NULL)
            return 0;
        /* not realloc: the old buffer may hold a secret and must be wiped */
        if (b->data != NULL)
        {
            memcpy(nd, b->data, b->len);
            OPENSSL_cleanse(b->data, b->alloc);
            free(b->data);
        }
        b->data = nd;
        b->alloc = want;
    }
    memcpy(b->data + b->len, ptr, n);
    b->len += n;
    b->data[b->len] = '\0';
    return n;
}

void
s3_http_body_free(struct s3_http_body *b)
{
    if (b->data != NULL)
    {
        OPENSSL_cleanse(b->data, b->alloc);
        free(b->data);
    }
    memset(b, 0, sizeof(*b));
}

static void
slist_wipe_free(struct curl_slist *l)
{
    for (struct curl_slist *s = l; s != NULL; s = s->next)
        OPENSSL_cleanse(s->data, strlen(s->data));
    curl_slist_free_all(l);
}


int
s3_http_call(const struct s3_http_call *rq, long *status, struct s3_http_body *body,
             CURLcode *cc)
{
    CURL       *h = NULL;
    struct curl_slist *hdrs = NULL;
    int         rc = -1;

    *status = 0;
    *cc = CURLE_OK;
    memset(body, 0, sizeof(*body));
    if ((h = curl_easy_init()) == NULL)
    {
        *cc = CURLE_FAILED_INIT;
        goto out;
    }
    for (const char *const *hp = rq->headers; hp != NULL && *hp != NULL; hp++)
    {
        struct curl_slist *n = curl_slist_append(hdrs, *hp);

        if (n == NULL)
        {
            *cc = CURLE_OUT_OF_MEMORY;
            goto out;
        }
        hdrs = n;
    }
    curl_easy_setopt(h, CURLOPT_URL, rq->url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "walship");
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, rq->connect_timeout_ms);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, rq->timeout_ms);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, http_body_write);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, body);
    if (hdrs != NULL)
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    if (rq->no_proxy)
        curl_easy_setopt(h, CURLOPT_PROXY, "");
    set_tls(h, rq->ca_file, !rq->no_verify_tls);
    if (strcmp(rq->method, "POST") == 0)
    {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, rq->body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) rq->bodylen);
    }
    else if (strcmp(rq->method, "GET") != 0)
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, rq->method);

    if ((*cc = curl_easy_perform(h)) != CURLE_OK)
        goto out;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
    rc = 0;

out:
    if (rc < 0)
        s3_http_body_free(body);
    slist_wipe_free(hdrs);
    if (h != NULL)
        curl_easy_cleanup(h);
    return rc;
}

const char *
s3_http_transfer_error(CURLcode cc, const struct s3_http_body *body)
{
    if (body->overflow || cc == CURLE_WRITE_ERROR)
        return "response too large";
    return curl_easy_strerror(cc);
}
