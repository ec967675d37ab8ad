/*
 * s3_http.h — the HTTP transport of the S3 driver and of the credential
 * calls (STS, instance metadata): libcurl easy handles and their setup,
 * one request and its response, header parsing, and the signing hookup.
 *
 * Nothing here retries or decides what a status means: one call is one
 * attempt, and the S3 driver (storage_s3.c) classifies the outcome and
 * retries (retry.h).  The numbers a server sends are untrusted: each is
 * checked for overflow and clamped before anyone does arithmetic with it.
 */
#ifndef WS_S3_HTTP_H
#define WS_S3_HTTP_H

#include <curl/curl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "err.h"
#include "filter.h"
#include "s3_cred.h"

#define S3_EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

/* RFC 3986 percent-encoding with upper-case hex, as SigV4 canonical requests
 * need; '/' is kept when keep_slash (object keys), encoded otherwise (query
 * values).  -1 if out is too small. */
int         s3_uri_encode(const char *in, bool keep_slash, char *out, size_t outlen);

/*
 * Make h sign its request with AWS Signature Version 4 for `scope`
 * ("aws:amz:<region>:s3") with cred, and append to *headers the headers every
 * signed request carries: x-amz-content-sha256 (payload_hash: a hex SHA-256,
 * or "UNSIGNED-PAYLOAD") and, for temporary credentials, x-amz-security-token.
 * libcurl signs all headers in the list and uses x-amz-content-sha256's
 * value as the payload hash; an x-amz-date already in the list is used as
 * the request time.  Returns -1 if a header could not be added.
 */
int         s3_sign_setup(CURL *h, const char *scope, const struct s3_credentials *cred,
                          const char *payload_hash, struct curl_slist **headers);

/*
 * The S3 driver's retry policy (retry.h): waits start at S3_BACKOFF_BASE_MS
 * and double; no wait, jitter and Retry-After included, is longer than
 * S3_BACKOFF_MAX_MS.
 */
#define S3_BACKOFF_BASE_MS 100
#define S3_BACKOFF_MAX_MS 20000

/*
 * A Retry-After value (RFC 9110 section 10.2.3): delay-seconds, or an
 * IMF-fixdate taken relative to now (Unix seconds).  Returns 0 with *ms in
 * 0..S3_BACKOFF_MAX_MS: longer delays and dates further ahead are capped,
 * a date in the past is 0.  Returns -1 with *ms = 0 for an empty, signed,
 * fractional or otherwise malformed value and for the obsolete date forms
 * (RFC 850, asctime), which the caller ignores (the usual backoff applies).
 */
int         s3_parse_retry_after(const char *value, int64_t now, long *ms);

/*
 * An unsigned decimal number (digits only, optional spaces or tabs around
 * them) no larger than max.  Returns 0 with *out, or -1 if s is empty, has a
 * sign or any other character, or exceeds max.
 */
int         s3_parse_u64(const char *s, uint64_t max, uint64_t *out);

/*
 * The Content-Range of a single-range 206 reply: "bytes first-last/length",
 * the length possibly "*" (RFC 9110 section 14.4).  Returns 0 with *first
 * and *last, or -1 if malformed, if a number exceeds INT64_MAX, if first >
 * last, or if last is not below the complete length.
 */
int         s3_parse_content_range(const char *value, uint64_t *first, uint64_t *last);

/* The header "Content-MD5: <base64 of the body's MD5>" (37 characters and NUL). */
void        s3_http_content_md5_header(const void *data, size_t len, char out[64]);

/* ---- the S3 driver's requests --------------------------------------------- */

#define S3_HTTP_POOL_MAX 16

/*
 * One endpoint: where and how to connect, and a pool of easy handles (each
 * keeps its connections alive between requests).  Thread-safe.
 */
struct s3_http
{
    char        base_url[4400];     /* up to and including the bucket part */
    bool        https;
    bool        verify_tls;
    char        ca_file[4096];      /* "" = the system's CAs */
    char        sigv4[256];         /* "aws:amz:<region>:s3" */
    long        connect_timeout;    /* seconds */
    long        timeout;            /* seconds without progress before an attempt is abandoned */
    pthread_mutex_t lock;
    CURL       *pool[S3_HTTP_POOL_MAX];
    int         npool;
};

/* Set up t's pool (t zeroed, settings filled in before or after). */
void        s3_http_init(struct s3_http *t);
/* Close the pooled handles. */
void        s3_http_cleanup(struct s3_http *t);
/* A handle from the pool (reset, its connections kept) or a new one; NULL if out of memory. */
CURL       *s3_http_handle_get(struct s3_http *t);
/* Back to the pool (or closed when it is full); NULL is ignored. */
void        s3_http_handle_put(struct s3_http *t, CURL *h);

/* One S3 request, and what its response said. */
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
    char        storage_class[64];  /* x-amz-storage-class, "" when absent (STANDARD) */
    char        restore[256];       /* x-amz-restore, "" when absent */
    long        retry_after_ms;     /* from Retry-After, 0..S3_BACKOFF_MAX_MS */
};

/* One attempt of an s3_req: how to resume, and how it ended. */
struct s3_attempt
{
    /* in: a GET resuming after earlier attempts */
    uint64_t    resume_from;        /* body bytes earlier attempts gave r->sink */
    const char *if_match;           /* "" or the ETag the resumed GET is pinned to */
    /* out */
    CURLcode    cc;
    char        errbuf[CURL_ERROR_SIZE];
    bool        stalled;            /* abandoned: no progress for t->timeout seconds */
    bool        sink_failed;        /* r->sink refused the data, or the reply broke a rule */
    uint64_t    delivered;          /* body bytes this attempt gave r->sink */
};

/*
 * Send r once to url on handle h, signed with cred, and collect the
 * response into r (status, ETag, request id, Retry-After, Content-Length,
 * Last-Modified; a 2xx body into r->sink, else captured into r->resp up to
 * a cap) and *a.  A 2xx body that r->sink refuses, or one outside the range
 * a ranged GET asked for, stops the transfer with a->sink_failed and err
 * set.  Returns -1 (WS_EINTERNAL) only if the request could not be built;
 * everything else, failures included, is 0 for the caller to classify.
 */
int         s3_http_attempt(struct s3_http *t, CURL *h, const char *url, struct s3_req *r,
                            const struct s3_credentials *cred, struct s3_attempt *a,
                            struct ws_err *err);

/* A request with everything but op, method and key (NULL: the bucket) zero. */
void        s3_http_req_init(struct s3_req *r, const char *op, const char *method,
                             const char *key);
/* Clear r's results before an attempt (frees a captured body). */
void        s3_http_req_reset(struct s3_req *r);
/* Free what r holds after the last attempt. */
void        s3_http_req_done(struct s3_req *r);

/* ---- the credential calls (STS, instance metadata) ------------------------ */

/* A response body, capped at 64 KiB, wiped when freed (it may hold secrets). */
struct s3_http_body
{
    char       *data;               /* NUL-terminated */
    size_t      len;
    size_t      alloc;
    int         overflow;
};

struct s3_http_call
{
    const char *method;             /* "GET", "PUT" (empty body), "POST" */
    const char *url;
    const char *const *headers;     /* NULL-terminated, may be NULL */
    const char *body;               /* POST only */
    size_t      bodylen;
    long        connect_timeout_ms;
    long        timeout_ms;
    const char *ca_file;            /* NULL = the system's CAs */
    bool        no_verify_tls;      /* do not verify the server's certificate */
    bool        no_proxy;           /* never through a proxy (IMDS is link-local) */
};

/*
 * Perform one call on a handle of its own, without redirects, over http or
 * https only.  Returns 0 when an HTTP response arrived (any status; *status
 * and *body set), -1 when the transfer failed (*cc set, *body empty; err is
 * not touched, the caller words the message).  Header values are wiped
 * from memory afterwards.
 */
int         s3_http_call(const struct s3_http_call *rq, long *status, struct s3_http_body *body,
                         CURLcode *cc);
void        s3_http_body_free(struct s3_http_body *b);
/* A failed call's cause, for messages. */
const char *s3_http_transfer_error(CURLcode cc, const struct s3_http_body *body);

#endif
