/*
 * storage_s3.c — the S3 driver: repo = s3://bucket[/prefix].
 *
 * libcurl does the transport and signs every request with AWS Signature
 * Version 4 (CURLOPT_AWS_SIGV4, region and service always explicit).  Its
 * signer uses the request's query string verbatim and the value of our own
 * x-amz-content-sha256 header as the payload hash, so this driver:
 *   - builds every query already canonical: parameters sorted by name, each
 *     with "=", values RFC 3986-encoded with upper-case hex;
 *   - percent-encodes keys the same way (keeping '/');
 *   - sends x-amz-content-sha256 on every request: the SHA-256 of the body
 *     over plain HTTP, UNSIGNED-PAYLOAD over HTTPS (TLS already protects it,
 *     and the object format carries its own checksums);
 *   - never removes a header with "Name:" (libcurl 7.88 would still sign it).
 * (ENVIRONMENT.md section 3 records the tests behind these rules.)
 *
 * Writes: objects up to one part are one PUT; larger streams become a
 * multipart upload with one part in flight and one part buffered, so memory
 * is bounded by the part size.  Parts double in size every 1000 parts (S3
 * allows unequal parts), so a 5 TiB stream fits in 10,000 parts.  A failed
 * or abandoned multipart upload is aborted.  Create-if-absent uses
 * If-None-Match: * (412 -> WS_EEXISTS).
 * Reads stream into the filter chain; a connection lost mid-body resumes
 * with a Range request pinned to the same ETag.
 * Every failure names the operation, the key, the HTTP status, the S3 error
 * code and the request id; 5xx, 429/SlowDown, timeouts, resets and a
 * credential fetch that failed transiently are retried here, and only here
 * (retry.h), s3_max_retries times with the policy of retry.c.
 * Numbers from the server are untrusted: Retry-After, Content-Range and
 * listed sizes are parsed with overflow checks and clamped (s3_http.h), and
 * a ranged GET never passes on bytes outside the range it asked for.
 */
#define _GNU_SOURCE     /* strptime, timegm */
#include "storage.h"
#include "cfg.h"
#include "clock.h"
#include "log.h"
#include "retry.h"
#include "s3_cred.h"
#include "s3_http.h"
#include "s3_xml.h"

#include <ctype.h>
#include <curl/curl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define S3_POOL_MAX 16
#define S3_ERRBODY_MAX (64 * 1024)
#define S3_LIST_MAX (4 * 1024 * 1024)
#define S3_PARTS_MAX 10000
#define S3_PART_MAX (5ULL * 1024 * 1024 * 1024)
#define SINK_SLACK ((size_t) 1 << 20)  /* single-PUT allowance beyond one part */

struct storage_s3
{
    struct storage base;
    char        bucket[256];
    char        prefix[STORAGE_KEY_MAX];    /* "" or "a/b/" (with trailing '/') */
    char        base_url[4400];             /* up to and including the bucket part */
    char        sigv4[256];                 /* "aws:amz:<region>:s3" */
    char        region[128];
    bool        https;
    bool        verify_tls;
    char        ca_file[4096];
    char        storage_class[64];
    int         sse;
    char        sse_kms_key_id[512];
    uint64_t    part_size;
    long        connect_timeout;
    long        timeout;
    int         max_retries;
    struct retry_policy retry;      /* s3_max_retries, S3_BACKOFF_BASE_MS, S3_BACKOFF_MAX_MS */
    struct s3_cred_provider *cred;

    pthread_mutex_t lock;
    CURL       *pool[S3_POOL_MAX];
    int         npool;
};

/* ---- small helpers ------------------------------------------------------ */

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

static void
md5_base64(const void *data, size_t len, char out[32])
{
    unsigned char md[16];
    unsigned int mdlen = 16;

    EVP_Digest(data, len, md, &mdlen, EVP_md5(), NULL);
    EVP_EncodeBlock((unsigned char *) out, md, 16);
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

static CURL *
handle_get(struct storage_s3 *s)
{
    CURL       *h = NULL;

    pthread_mutex_lock(&s->lock);
    if (s->npool > 0)
        h = s->pool[--s->npool];
    pthread_mutex_unlock(&s->lock);
    if (h == NULL)
        h = curl_easy_init();
    else
        curl_easy_reset(h);     /* keeps the connection cache */
    return h;
}

static void
handle_put(struct storage_s3 *s, CURL *h)
{
    if (h == NULL)
        return;
    pthread_mutex_lock(&s->lock);
    if (s->npool < S3_POOL_MAX)
    {
        s->pool[s->npool++] = h;
        h = NULL;
    }
    pthread_mutex_unlock(&s->lock);
    if (h)
        curl_easy_cleanup(h);
}

/* ---- one HTTP request --------------------------------------------------- */

struct s3_req
{
    const char *op;                 /* for messages: "PUT", "GET", "multipart upload", ... */
    const char *method;
    const char *key;                /* object key below the prefix, NULL for the bucket */
    const char *query;              /* canonical query string, or NULL */
    const unsigned char *body;      /* request body (PUT/POST) */
    size_t      body_len;
    const char *const *headers;     /* extra headers, NULL-terminated */
    struct filter *sink;            /* GET: the body goes here (2xx only) */
    uint64_t    range_start;
    uint64_t    range_len;          /* 0 = to the end */
    bool        use_range;
    bool        capture;            /* keep a 2xx body in resp (lists, XML replies) */
    size_t      capture_max;

    /* results */
    long        status;
    char       *resp;               /* captured body, NUL-terminated */
    size_t      resp_len;
    char        etag[256];
    char        request_id[128];
    uint64_t    content_length;
    int64_t     last_modified;
    long        retry_after_ms;     /* from Retry-After, 0..S3_BACKOFF_MAX_MS */
};

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
    struct timespec last_move;
    bool        stalled;
};

static int
on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
            curl_off_t ulnow)
{
    struct xfer *x = arg;
    struct timespec now;

    (void) dltotal;
    (void) ultotal;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (dlnow != x->last_dl || ulnow != x->last_ul || x->last_move.tv_sec == 0)
    {
        x->last_dl = dlnow;
        x->last_ul = ulnow;
        x->last_move = now;
        return 0;
    }
    if (now.tv_sec - x->last_move.tv_sec >= x->timeout_s)
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
        x->r->retry_after_ms = 0;
        x->range_seen = x->range_valid = false;
    }
    else if (n > 5 && strncasecmp(line, "ETag:", 5) == 0)
        header_value(line, n, x->r->etag, sizeof(x->r->etag));
    else if (n > 17 && strncasecmp(line, "x-amz-request-id:", 17) == 0)
        header_value(line, n, x->r->request_id, sizeof(x->r->request_id));
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

static int
full_url(struct storage_s3 *s, const struct s3_req *r, char *url, size_t len,
         struct ws_err *err)
{
    char        enc[3 * STORAGE_KEY_MAX + 1];
    char        full[2 * STORAGE_KEY_MAX];
    int         n;

    if (r->key != NULL)
    {
        if (snprintf(full, sizeof(full), "%s%s", s->prefix, r->key) >= (int) sizeof(full) ||
            s3_uri_encode(full, true, enc, sizeof(enc)) < 0)
            return err_set(err, WS_EINPUT, "S3 key \"%s%s\" is too long", s->prefix, r->key);
        n = snprintf(url, len, "%s/%s%s%s", s->base_url, enc, r->query ? "?" : "",
                     r->query ? r->query : "");
    }
    else
        n = snprintf(url, len, "%s/%s%s", s->base_url, r->query ? "?" : "",
                     r->query ? r->query : "");
    if (n < 0 || (size_t) n >= len)
        return err_set(err, WS_EINPUT, "S3 URL too long");
    return 0;
}

/* Describe a failed request for error messages: op, key, status, code, id. */
static void
describe_failure(struct storage_s3 *s, const struct s3_req *r, const char *code,
                 const char *message, char *out, size_t len)
{
    snprintf(out, len, "S3 %s of \"%s%s\" in bucket \"%s\" failed: HTTP %ld%s%s%s%s%s%s",
             r->op, s->prefix, r->key ? r->key : "", s->bucket, r->status,
             code[0] ? " " : "", code, message[0] ? ": " : "", message,
             r->request_id[0] ? ", request id " : "", r->request_id);
}

enum attempt_result
{
    ATTEMPT_OK,
    ATTEMPT_RETRY,
    ATTEMPT_FAIL
};

static enum attempt_result
classify(struct storage_s3 *s, struct s3_req *r, struct ws_err *err)
{
    char        code[128] = "";
    char        message[512] = "";
    char        what[4096];

    if (r->status >= 200 && r->status < 300)
        return ATTEMPT_OK;
    if (r->resp != NULL)
    {
        if (s3_xml_text(r->resp, r->resp_len, "Code", code, sizeof(code)) < 0)
            code[0] = '\0';
        if (s3_xml_text(r->resp, r->resp_len, "Message", message, sizeof(message)) < 0)
            message[0] = '\0';
        if (r->request_id[0] == '\0' &&
            s3_xml_text(r->resp, r->resp_len, "RequestId", r->request_id,
                        sizeof(r->request_id)) < 0)
            r->request_id[0] = '\0';
    }
    describe_failure(s, r, code, message, what, sizeof(what));

    if (r->status == 404)
    {
        if (strcmp(code, "NoSuchBucket") == 0)
        {
            err_set(err, WS_ECONFIG, "%s", what);
            err_hint(err, "The bucket \"%s\" does not exist at %s: check repo and s3_endpoint.",
                     s->bucket, s->base_url);
            return ATTEMPT_FAIL;
        }
        if (strcmp(code, "NoSuchUpload") == 0)
        {
            err_set(err, WS_EIO, "%s", what);
            return ATTEMPT_FAIL;
        }
        err_set(err, WS_ENOTFOUND, "object \"%s%s\" not found in bucket \"%s\"", s->prefix,
                r->key ? r->key : "", s->bucket);
        return ATTEMPT_FAIL;
    }
    if (r->status == 412)
    {
        err_set(err, WS_EEXISTS, "object \"%s%s\" already exists in bucket \"%s\"", s->prefix,
                r->key ? r->key : "", s->bucket);
        return ATTEMPT_FAIL;
    }
    if (strcmp(code, "RequestTimeTooSkewed") == 0)
    {
        err_set(err, WS_EAUTH, "%s", what);
        err_hint(err, "This host's clock differs from the S3 server's by more than 15 minutes: fix the clock (NTP).");
        return ATTEMPT_FAIL;
    }
    if (strcmp(code, "ExpiredToken") == 0 || strcmp(code, "TokenRefreshRequired") == 0)
    {
        s3_cred_invalidate(s->cred);
        err_set(err, WS_ETRANSIENT, "%s", what);
        return ATTEMPT_RETRY;
    }
    if (r->status == 401 || r->status == 403)
    {
        err_set(err, WS_EAUTH, "%s", what);
        if (strcmp(code, "SignatureDoesNotMatch") == 0)
            err_hint(err, "Check s3_secret_access_key (or the credentials in use) and s3_region (\"%s\").",
                     s->region);
        else if (strcmp(code, "InvalidAccessKeyId") == 0)
            err_hint(err, "The access key id is not known to the server: check s3_access_key_id or the AWS credential chain.");
        else
            err_hint(err, "Check the credentials and that they may access bucket \"%s\" (and the KMS key, with s3_sse = aws:kms).",
                     s->bucket);
        return ATTEMPT_FAIL;
    }
    if (r->status == 501 || strcmp(code, "NotImplemented") == 0)
    {
        err_set(err, WS_EIO, "%s", what);
        err_hint(err, "The server does not implement this S3 operation.");
        return ATTEMPT_FAIL;
    }
    if (strcmp(code, "AuthorizationHeaderMalformed") == 0 ||
        strcmp(code, "PermanentRedirect") == 0 || strcmp(code, "IllegalLocationConstraintException") == 0)
    {
        err_set(err, WS_ECONFIG, "%s", what);
        err_hint(err, "The bucket is in another region than s3_region (\"%s\"), or s3_endpoint points elsewhere.",
                 s->region);
        return ATTEMPT_FAIL;
    }
    if (r->status == 429 || r->status >= 500 || strcmp(code, "SlowDown") == 0 ||
        strcmp(code, "RequestTimeout") == 0 || strcmp(code, "InternalError") == 0)
    {
        err_set(err, WS_ETRANSIENT, "%s", what);
        return ATTEMPT_RETRY;
    }
    err_set(err, WS_EIO, "%s", what);
    if (r->status == 200 || r->status == 0)
        err_detail(err, "The endpoint %s did not answer like an S3 server.", s->base_url);
    return ATTEMPT_FAIL;
}

static enum attempt_result
curl_failure(struct storage_s3 *s, struct s3_req *r, CURLcode cc, const char *errbuf,
             struct ws_err *err)
{
    const char *msg = errbuf[0] ? errbuf : curl_easy_strerror(cc);

    switch (cc)
    {
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_CACERT_BADFILE:
        case CURLE_SSL_CERTPROBLEM:
            err_set(err, WS_ECONFIG, "S3 %s of \"%s%s\": TLS verification of %s failed: %s",
                    r->op, s->prefix, r->key ? r->key : "", s->base_url, msg);
            err_hint(err, "Set s3_ca_file to the CA that signed the endpoint's certificate (s3_verify_tls = off only for test rigs).");
            return ATTEMPT_FAIL;
        case CURLE_UNSUPPORTED_PROTOCOL:
        case CURLE_URL_MALFORMAT:
        case CURLE_COULDNT_RESOLVE_HOST:
            err_set(err, WS_ECONFIG, "S3 %s: bad endpoint %s: %s", r->op, s->base_url, msg);
            err_hint(err, "Check s3_endpoint, s3_region and s3_uri_style.");
            return cc == CURLE_COULDNT_RESOLVE_HOST ? ATTEMPT_RETRY : ATTEMPT_FAIL;
        default:
            err_set(err, WS_ETRANSIENT, "S3 %s of \"%s%s\" in bucket \"%s\" failed: %s",
                    r->op, s->prefix, r->key ? r->key : "", s->bucket, msg);
            if (cc == CURLE_COULDNT_CONNECT)
                err_hint(err, "Is the S3 endpoint %s reachable?", s->base_url);
            return ATTEMPT_RETRY;
    }
}

/*
 * Perform r with retries (the one layer that retries an S3 request: see
 * retry.h).  A GET into a sink that fails mid-body resumes from where it
 * stopped with a Range request and If-Match on the ETag.
 */
static int
s3_request(struct storage_s3 *s, struct s3_req *r, struct ws_err *err)
{
    CURL       *h = handle_get(s);
    struct s3_credentials cred;
    char        url[8192];
    char        errbuf[CURL_ERROR_SIZE];
    char        hbuf[8][512];
    char        etag_pin[256] = "";
    uint64_t    delivered_total = 0;
    struct retry rt;
    int         rc = -1;

    memset(&cred, 0, sizeof(cred));
    if (h == NULL)
        return err_set(err, WS_EINTERNAL, "could not create a libcurl handle");
    if (full_url(s, r, url, sizeof(url), err) < 0)
        goto out;

    retry_begin(&rt, &s->retry);
    for (;;)
    {
        struct curl_slist *hl = NULL;
        struct xfer x;
        CURLcode    cc;
        enum attempt_result ar;
        char        sha[65];
        int         nh = 0;
        int         attempt = retry_attempts(&rt);
        long        wait;

        memset(&x, 0, sizeof(x));
        x.r = r;
        x.h = h;
        x.sink_err = err;
        x.cap = r->capture_max ? r->capture_max : S3_LIST_MAX;
        free(r->resp);
        r->resp = NULL;
        r->resp_len = 0;
        r->status = 0;

        /* the credentials are part of the request: STS or IMDS not answering is retried */
        if (s3_cred_get(s->cred, &cred, err) < 0)
        {
            if (err->code != WS_ETRANSIENT)
                goto out;
            r->retry_after_ms = 0;
            ar = ATTEMPT_RETRY;
            goto decide;
        }

        curl_easy_reset(h);
        errbuf[0] = '\0';
        curl_easy_setopt(h, CURLOPT_URL, url);
        curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, s->connect_timeout);
        /* libcurl's low-speed check averages over 5 s; this is "no progress for s3_timeout" */
        x.timeout_s = s->timeout;
        curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
        curl_easy_setopt(h, CURLOPT_XFERINFODATA, &x);
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, s->verify_tls ? 1L : 0L);
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, s->verify_tls ? 2L : 0L);
        if (s->ca_file[0])
            curl_easy_setopt(h, CURLOPT_CAINFO, s->ca_file);
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

        if (s->https && r->body_len > 0)
            snprintf(sha, sizeof(sha), "UNSIGNED-PAYLOAD");
        else if (r->body_len > 0)
            sha256_hex(r->body, r->body_len, sha);
        else
            snprintf(sha, sizeof(sha), "%s", S3_EMPTY_SHA256);
        if (s3_sign_setup(h, s->sigv4, &cred, sha, &hl) < 0)
        {
            curl_slist_free_all(hl);
            err_set(err, WS_EINTERNAL, "out of memory");
            goto out;
        }
        if (r->use_range || delivered_total > 0)
        {
            x.ranged = true;
            uint64_t    start = r->range_start + delivered_total;

            x.want_first = start;
            x.want_len = r->range_len ? r->range_len - delivered_total : UINT64_MAX;

            if (r->range_len)
                snprintf(hbuf[nh], sizeof(hbuf[nh]), "Range: bytes=%llu-%llu",
                         (unsigned long long) start,
                         (unsigned long long) (r->range_start + r->range_len - 1));
            else
                snprintf(hbuf[nh], sizeof(hbuf[nh]), "Range: bytes=%llu-",
                         (unsigned long long) start);
            hl = curl_slist_append(hl, hbuf[nh++]);
        }
        if (etag_pin[0])
        {
            snprintf(hbuf[nh], sizeof(hbuf[nh]), "If-Match: %s", etag_pin);
            hl = curl_slist_append(hl, hbuf[nh++]);
        }
        for (int i = 0; r->headers && r->headers[i]; i++)
            hl = curl_slist_append(hl, r->headers[i]);
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);

        cc = curl_easy_perform(h);
        curl_slist_free_all(hl);
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);

        if (x.sink_failed)
            goto out;           /* the chain refused the data: its error stands */
        if (cc == CURLE_OK)
        {
            curl_off_t  cl = -1;

            curl_easy_getinfo(h, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl);
            r->content_length = cl >= 0 ? (uint64_t) cl : 0;
            ar = classify(s, r, err);
            if (ar == ATTEMPT_OK)
            {
                rc = 0;
                goto out;
            }
        }
        else if (x.stalled)
        {
            err_set(err, WS_ETRANSIENT, "S3 %s of \"%s%s\" in bucket \"%s\" timed out: no progress for %ld s (s3_timeout)",
                    r->op, s->prefix, r->key ? r->key : "", s->bucket, s->timeout);
            ar = ATTEMPT_RETRY;
        }
        else
            ar = curl_failure(s, r, cc, errbuf, err);

        /* a GET that delivered part of the body resumes after it */
        if (r->sink != NULL && x.delivered > 0)
        {
            delivered_total += x.delivered;
            if (etag_pin[0] == '\0' && r->etag[0])
                snprintf(etag_pin, sizeof(etag_pin), "%s", r->etag);
            if (etag_pin[0] == '\0')
            {
                /* cannot resume safely without knowing it is the same object */
                goto out;
            }
        }
decide:
        if (ar == ATTEMPT_FAIL)
            goto out;
        if (!retry_next(&rt, r->retry_after_ms, &wait))
        {
            err_prefix(err, "giving up after %d attempts", attempt);
            goto out;
        }
        log_warning("%s (attempt %d of %d, retrying in %ld ms)", err->msg, attempt,
                    s->max_retries + 1, wait);
        clock_sleep_ms(wait);
    }
out:
    OPENSSL_cleanse(&cred, sizeof(cred));
    handle_put(s, h);
    return rc;
}

static void
req_done(struct s3_req *r)
{
    free(r->resp);
    r->resp = NULL;
}

/* ---- put: single PUT or multipart --------------------------------------- */

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
};

static int
put_headers(struct s3_sink *k, const char **hdr, char storage[4][600], bool conditional)
{
    struct storage_s3 *s = k->s;
    int         n = 0;

    if (conditional && (k->flags & STORAGE_PUT_NO_OVERWRITE))
        hdr[n++] = "If-None-Match: *";
    if (s->storage_class[0])
    {
        snprintf(storage[0], 600, "x-amz-storage-class: %s", s->storage_class);
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
    char        md5[32];
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
    md5_base64(k->buf, send, md5);
    snprintf(md5h, sizeof(md5h), "Content-MD5: %s", md5);
    hdr[0] = md5h;
    memset(&r, 0, sizeof(r));
    r.op = "upload of a multipart part";
    r.method = "PUT";
    r.key = k->key;
    r.query = query;
    r.body = k->buf;
    r.body_len = send;
    r.headers = hdr;
    rc = s3_request(s, &r, err);
    if (rc == 0)
    {
        if (r.etag[0] == '\0')
        {
            req_done(&r);
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
    req_done(&r);
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
    memset(&r, 0, sizeof(r));
    r.op = "initiation of a multipart upload";
    r.method = "POST";
    r.key = k->key;
    r.query = "uploads=";
    r.headers = hdr;
    r.capture = true;
    rc = s3_request(k->s, &r, err);
    if (rc == 0 && (r.resp == NULL ||
                    s3_xml_text(r.resp, r.resp_len, "UploadId", k->upload_id,
                                sizeof(k->upload_id)) <= 0))
        rc = err_set(err, WS_EIO, "S3 multipart upload of \"%s%s\": no UploadId in the reply",
                     k->s->prefix, k->key);
    req_done(&r);
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

    memset(&r, 0, sizeof(r));
    r.op = "HEAD after a multipart upload";
    r.method = "HEAD";
    r.key = k->key;
    rc = s3_request(k->s, &r, err);
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
    req_done(&r);
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
    memset(&r, 0, sizeof(r));
    r.op = "abort of a multipart upload";
    r.method = "DELETE";
    r.key = k->key;
    r.query = query;
    if (s3_request(k->s, &r, &err) < 0)
        log_warning("could not abort multipart upload of \"%s%s\" (parts may remain until a lifecycle rule removes them): %s",
                    k->s->prefix, k->key, err.msg);
    req_done(&r);
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
    char        md5[32], md5h[64];
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
    md5_base64(xml, len, md5);
    snprintf(md5h, sizeof(md5h), "Content-MD5: %s", md5);
    hdr[0] = md5h;
    hdr[1] = (k->flags & STORAGE_PUT_NO_OVERWRITE) ? "If-None-Match: *" : NULL;
    hdr[2] = NULL;
    memset(&r, 0, sizeof(r));
    r.op = "completion of a multipart upload";
    r.method = "POST";
    r.key = k->key;
    r.query = query;
    r.body = (const unsigned char *) xml;
    r.body_len = len;
    r.headers = hdr;
    r.capture = true;
    rc = s3_request(k->s, &r, err);
    /* S3 may answer 200 and put an error in the body */
    if (rc == 0 && r.resp != NULL &&
        s3_xml_text(r.resp, r.resp_len, "Code", code, sizeof(code)) > 0 &&
        strstr(r.resp, "<Error") != NULL)
        rc = err_set(err, strcmp(code, "InternalError") == 0 ? WS_ETRANSIENT : WS_EIO,
                     "S3 completion of the multipart upload of \"%s%s\" failed: %s",
                     k->s->prefix, k->key, code);
    req_done(&r);
    free(xml);
    if (rc == 0)
        k->upload_id[0] = '\0';     /* completed: nothing to abort */
    return rc;
}

static int  s3_head(struct storage *st, const char *key, struct storage_info *info,
                    struct ws_err *err);

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

            if (s3_head(&k->s->base, k->key, &info, err) == 0)
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
    memset(&r, 0, sizeof(r));
    r.op = "PUT";
    r.method = "PUT";
    r.key = k->key;
    r.body = k->buf;
    r.body_len = k->have;
    r.headers = hdr;
    rc = s3_request(k->s, &r, err);
    req_done(&r);
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

static int
s3_put_open(struct storage *st, const char *key, unsigned flags, struct filter **out,
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

/* ---- get / head / list / remove ----------------------------------------- */

static int
s3_get(struct storage *st, const char *key, uint64_t offset, uint64_t length,
       struct filter *sink, struct ws_err *err)
{
    struct s3_req r;
    int         rc;

    memset(&r, 0, sizeof(r));
    r.op = "GET";
    r.method = "GET";
    r.key = key;
    r.sink = sink;
    r.range_start = offset;
    r.range_len = length;
    r.use_range = offset > 0 || length > 0;
    rc = s3_request((struct storage_s3 *) st, &r, err);
    req_done(&r);
    return rc;
}

static int
s3_head(struct storage *st, const char *key, struct storage_info *info, struct ws_err *err)
{
    struct s3_req r;
    int         rc;

    memset(&r, 0, sizeof(r));
    r.op = "HEAD";
    r.method = "HEAD";
    r.key = key;
    rc = s3_request((struct storage_s3 *) st, &r, err);
    if (rc == 0)
    {
        info->size = r.content_length;
        info->mtime = r.last_modified;
    }
    req_done(&r);
    return rc;
}

struct list_ctx
{
    struct storage_s3 *s;
    storage_list_cb cb;
    void       *arg;
    struct ws_err *err;
    int         rc;
};

static int
list_one(const char *inner, size_t len, void *arg)
{
    struct list_ctx *c = arg;
    char        key[2 * STORAGE_KEY_MAX];
    char        num[64];
    char        when[64];
    struct storage_info info = {0, 0};
    size_t      plen = strlen(c->s->prefix);
    int         e;

    if (s3_xml_text(inner, len, "Key", key, sizeof(key)) < 0)
    {
        err_set(c->err, WS_EIO, "malformed S3 list reply from bucket \"%s\" (Contents without Key)",
                c->s->bucket);
        return -1;
    }
    /* a missing Size is 0; one that is not a plain number is not guessed at */
    e = s3_xml_text(inner, len, "Size", num, sizeof(num));
    if (e == -2 || (e >= 0 && s3_parse_u64(num, INT64_MAX, &info.size) < 0))
    {
        err_set(c->err, WS_EIO, "malformed S3 list reply from bucket \"%s\" (invalid Size "
                "of \"%s\")", c->s->bucket, key);
        return -1;
    }
    if (s3_xml_text(inner, len, "LastModified", when, sizeof(when)) > 0)
        info.mtime = s3_time_parse(when);
    if (strncmp(key, c->s->prefix, plen) != 0)
        return 0;               /* outside our prefix: not ours */
    if (c->cb(key + plen, &info, c->arg, c->err) < 0)
        return -1;
    return 0;
}

static int
s3_list(struct storage *st, const char *prefix, storage_list_cb cb, void *arg,
        struct ws_err *err)
{
    struct storage_s3 *s = (struct storage_s3 *) st;
    char        token[2048] = "";
    char        full[2 * STORAGE_KEY_MAX];
    char        encp[6 * STORAGE_KEY_MAX];
    char        enct[6200];
    char        query[16384];
    char        trunc[16];
    struct list_ctx c = {s, cb, arg, err, 0};
    int         rc = -1;

    snprintf(full, sizeof(full), "%s%s", s->prefix, prefix ? prefix : "");
    if (s3_uri_encode(full, false, encp, sizeof(encp)) < 0)
        return err_set(err, WS_EINPUT, "S3 list prefix too long");
    for (;;)
    {
        struct s3_req r;
        int         e;

        /* parameters in canonical (sorted) order */
        if (token[0])
        {
            s3_uri_encode(token, false, enct, sizeof(enct));
            snprintf(query, sizeof(query), "continuation-token=%s&list-type=2&prefix=%s", enct,
                     encp);
        }
        else
            snprintf(query, sizeof(query), "list-type=2&prefix=%s", encp);
        memset(&r, 0, sizeof(r));
        r.op = "list";
        r.method = "GET";
        r.key = NULL;
        r.query = query;
        r.capture = true;
        if (s3_request(s, &r, err) < 0)
        {
            req_done(&r);
            goto out;
        }
        if (r.resp == NULL || strstr(r.resp, "ListBucketResult") == NULL)
        {
            err_set(err, WS_EIO, "S3 list of bucket \"%s\" returned something that is not a ListBucketResult",
                    s->bucket);
            err_detail(err, "The endpoint %s may not be an S3 server.", s->base_url);
            req_done(&r);
            goto out;
        }
        e = s3_xml_each(r.resp, r.resp_len, "Contents", list_one, &c);
        if (e != 0)
        {
            if (e == -2)
                err_set(err, WS_EIO, "malformed S3 list reply from bucket \"%s\"", s->bucket);
            req_done(&r);
            goto out;
        }
        if (s3_xml_text(r.resp, r.resp_len, "IsTruncated", trunc, sizeof(trunc)) > 0 &&
            strcmp(trunc, "true") == 0)
        {
            if (s3_xml_text(r.resp, r.resp_len, "NextContinuationToken", token,
                            sizeof(token)) <= 0)
            {
                err_set(err, WS_EIO, "S3 list of bucket \"%s\" is truncated but has no continuation token",
                        s->bucket);
                req_done(&r);
                goto out;
            }
            req_done(&r);
            continue;
        }
        req_done(&r);
        break;
    }
    rc = 0;
out:
    return rc;
}

static int
s3_remove(struct storage *st, const char *key, struct ws_err *err)
{
    struct s3_req r;
    int         rc;

    memset(&r, 0, sizeof(r));
    r.op = "DELETE";
    r.method = "DELETE";
    r.key = key;
    rc = s3_request((struct storage_s3 *) st, &r, err);
    if (rc < 0 && err->code == WS_ENOTFOUND)
        rc = 0;
    req_done(&r);
    return rc;
}

struct delete_errors
{
    struct ws_err *err;
    int         count;
};

static int
delete_error(const char *inner, size_t len, void *arg)
{
    struct delete_errors *d = arg;
    char        key[STORAGE_KEY_MAX];
    char        code[128];

    if (s3_xml_text(inner, len, "Key", key, sizeof(key)) < 0)
        key[0] = '\0';
    if (s3_xml_text(inner, len, "Code", code, sizeof(code)) < 0)
        code[0] = '\0';
    if (d->count++ == 0)
        err_set(d->err, WS_EIO, "S3 batch delete: \"%s\" was not deleted: %s", key, code);
    return 0;
}

/* DeleteObjects, 1000 keys per request; falls back to single deletes. */
static int
s3_remove_many(struct storage *st, const char *const *keys, size_t n, struct ws_err *err)
{
    struct storage_s3 *s = (struct storage_s3 *) st;

    for (size_t base = 0; base < n; base += 1000)
    {
        size_t      m = n - base < 1000 ? n - base : 1000;
        size_t      cap = 64 + m * (3 * 2 * STORAGE_KEY_MAX + 32);
        char       *xml = malloc(cap);
        size_t      len = 0;
        struct s3_req r;
        const char *hdr[2];
        char        md5[32], md5h[64];
        struct delete_errors d = {err, 0};
        int         rc;

        if (xml == NULL)
            return err_set(err, WS_EINTERNAL, "out of memory");
        len += (size_t) snprintf(xml, cap, "<Delete><Quiet>true</Quiet>");
        for (size_t i = 0; i < m; i++)
        {
            char        full[2 * STORAGE_KEY_MAX];
            char        esc[6 * STORAGE_KEY_MAX];

            snprintf(full, sizeof(full), "%s%s", s->prefix, keys[base + i]);
            s3_xml_escape(full, esc, sizeof(esc));
            len += (size_t) snprintf(xml + len, cap - len, "<Object><Key>%s</Key></Object>", esc);
        }
        len += (size_t) snprintf(xml + len, cap - len, "</Delete>");
        md5_base64(xml, len, md5);
        snprintf(md5h, sizeof(md5h), "Content-MD5: %s", md5);
        hdr[0] = md5h;
        hdr[1] = NULL;
        memset(&r, 0, sizeof(r));
        r.op = "batch delete";
        r.method = "POST";
        r.query = "delete=";
        r.body = (const unsigned char *) xml;
        r.body_len = len;
        r.headers = hdr;
        r.capture = true;
        rc = s3_request(s, &r, err);
        free(xml);
        if (rc < 0 && (r.status == 501 || r.status == 405 || r.status == 400))
        {
            /* no DeleteObjects here: one by one */
            req_done(&r);
            for (size_t i = 0; i < m; i++)
                if (s3_remove(st, keys[base + i], err) < 0)
                    return -1;
            continue;
        }
        if (rc == 0 && r.resp != NULL)
            s3_xml_each(r.resp, r.resp_len, "Error", delete_error, &d);
        req_done(&r);
        if (rc < 0 || d.count > 0)
            return -1;
    }
    return 0;
}

static void
s3_free(struct storage *st)
{
    struct storage_s3 *s = (struct storage_s3 *) st;

    for (int i = 0; i < s->npool; i++)
        curl_easy_cleanup(s->pool[i]);
    s3_cred_provider_free(s->cred);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

static const struct storage_ops s3_ops = {
    "s3", STORAGE_F_RANGE_GET | STORAGE_F_RETRIES,
    s3_put_open, s3_get, s3_head, s3_list, s3_remove, s3_remove_many, NULL, s3_free
};

/* ---- construction -------------------------------------------------------- */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void
curl_init_once(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

static const char *
env_or(const char *name, const char *def)
{
    const char *v = getenv(name);

    return v && v[0] ? v : def;
}

struct storage *
storage_s3_new(const char *uri, const struct cfg_s3 *c, struct ws_err *err)
{
    struct storage_s3 *s;
    const char *p = uri + 5;    /* after "s3://" */
    const char *slash = strchr(p, '/');
    size_t      blen = slash ? (size_t) (slash - p) : strlen(p);
    char        endpoint[4096];
    const char *scheme_end;
    bool        path_style;
    struct s3_cred_settings cs;

    pthread_once(&curl_once, curl_init_once);
    if (blen < 3 || blen > 63)
    {
        err_set(err, WS_ECONFIG, "repository \"%s\": invalid bucket name", uri);
        err_hint(err, "Use repo = s3://bucket/prefix (bucket names have 3 to 63 characters).");
        return NULL;
    }
    s = calloc(1, sizeof(*s));
    if (s == NULL)
    {
        err_set(err, WS_EINTERNAL, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&s->lock, NULL);
    s->base.ops = &s3_ops;
    snprintf(s->base.location, sizeof(s->base.location), "%s", uri);
    memcpy(s->bucket, p, blen);
    s->bucket[blen] = '\0';
    if (slash)
    {
        const char *q = slash;
        size_t      plen;

        while (*q == '/')
            q++;
        plen = strlen(q);
        while (plen > 0 && q[plen - 1] == '/')
            plen--;
        if (plen + 2 > sizeof(s->prefix))
        {
            err_set(err, WS_ECONFIG, "repository \"%s\": prefix too long", uri);
            goto fail;
        }
        memcpy(s->prefix, q, plen);
        if (plen > 0)
            s->prefix[plen++] = '/';
        s->prefix[plen] = '\0';
    }

    /* region: setting, AWS_REGION, AWS_DEFAULT_REGION, the profile, us-east-1 */
    if (c->region[0])
        snprintf(s->region, sizeof(s->region), "%s", c->region);
    else if (getenv("AWS_REGION") && getenv("AWS_REGION")[0])
        snprintf(s->region, sizeof(s->region), "%s", getenv("AWS_REGION"));
    else if (getenv("AWS_DEFAULT_REGION") && getenv("AWS_DEFAULT_REGION")[0])
        snprintf(s->region, sizeof(s->region), "%s", getenv("AWS_DEFAULT_REGION"));
    else
    {
        char        cfgpath[4096];

        if (getenv("AWS_CONFIG_FILE"))
            snprintf(cfgpath, sizeof(cfgpath), "%s", getenv("AWS_CONFIG_FILE"));
        else
            snprintf(cfgpath, sizeof(cfgpath), "%s/.aws/config", env_or("HOME", "/"));
        s3_cred_profile_region(cfgpath, env_or("AWS_PROFILE", "default"), s->region,
                               sizeof(s->region));
        if (s->region[0] == '\0')
            snprintf(s->region, sizeof(s->region), "us-east-1");
    }
    snprintf(s->sigv4, sizeof(s->sigv4), "aws:amz:%s:s3", s->region);

    /* endpoint: setting, AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, AWS for the region */
    if (c->endpoint[0])
        snprintf(endpoint, sizeof(endpoint), "%s", c->endpoint);
    else if (getenv("AWS_ENDPOINT_URL_S3") && getenv("AWS_ENDPOINT_URL_S3")[0])
        snprintf(endpoint, sizeof(endpoint), "%s", getenv("AWS_ENDPOINT_URL_S3"));
    else if (getenv("AWS_ENDPOINT_URL") && getenv("AWS_ENDPOINT_URL")[0])
        snprintf(endpoint, sizeof(endpoint), "%s", getenv("AWS_ENDPOINT_URL"));
    else
        snprintf(endpoint, sizeof(endpoint), "https://s3.%s.amazonaws.com", s->region);
    {
        size_t      el = strlen(endpoint);

        while (el > 0 && endpoint[el - 1] == '/')
            endpoint[--el] = '\0';
    }
    scheme_end = strstr(endpoint, "://");
    if (scheme_end == NULL ||
        (strncmp(endpoint, "https://", 8) != 0 && strncmp(endpoint, "http://", 7) != 0))
    {
        err_set(err, WS_ECONFIG, "s3_endpoint \"%s\" is not an http:// or https:// URL", endpoint);
        goto fail;
    }
    s->https = strncmp(endpoint, "https://", 8) == 0;
    path_style = c->uri_style == CFG_URI_PATH ||
        (c->uri_style == CFG_URI_AUTO && (c->endpoint[0] || getenv("AWS_ENDPOINT_URL_S3") ||
                                         getenv("AWS_ENDPOINT_URL")));
    if ((path_style ? snprintf(s->base_url, sizeof(s->base_url), "%s/%s", endpoint, s->bucket)
         : snprintf(s->base_url, sizeof(s->base_url), "%.*s%s.%s",
                    (int) (scheme_end + 3 - endpoint), endpoint, s->bucket, scheme_end + 3))
        >= (int) sizeof(s->base_url))
    {
        err_set(err, WS_ECONFIG, "s3_endpoint \"%s\" is too long", endpoint);
        goto fail;
    }

    s->verify_tls = c->verify_tls;
    /* s3_ca_file, else the AWS tools' AWS_CA_BUNDLE */
    snprintf(s->ca_file, sizeof(s->ca_file), "%s", c->ca_file[0] ? c->ca_file
             : env_or("AWS_CA_BUNDLE", ""));
    snprintf(s->storage_class, sizeof(s->storage_class), "%s", c->storage_class);
    s->sse = c->sse;
    snprintf(s->sse_kms_key_id, sizeof(s->sse_kms_key_id), "%s", c->sse_kms_key_id);
    s->part_size = c->part_size ? c->part_size : 16ULL << 20;
    s->connect_timeout = c->connect_timeout > 0 ? c->connect_timeout : 10;
    s->timeout = c->timeout > 0 ? c->timeout : 60;
    s->max_retries = c->max_retries >= 0 ? c->max_retries : 5;
    s->retry.max_retries = s->max_retries;
    s->retry.base_ms = S3_BACKOFF_BASE_MS;
    s->retry.cap_ms = S3_BACKOFF_MAX_MS;
    s->retry.deadline_ms = 0;

    memset(&cs, 0, sizeof(cs));
    cs.access_key_id = c->access_key_id;
    cs.secret_access_key = c->secret_access_key;
    cs.session_token = c->session_token;
    cs.region = s->region;
    cs.ca_file = s->ca_file;
    cs.verify_tls = c->verify_tls;
    cs.timeout_s = s->connect_timeout;
    s->cred = s3_cred_provider_new(&cs, err);
    if (s->cred == NULL)
        goto fail;
    return &s->base;
fail:
    s3_free(&s->base);
    return NULL;
}
