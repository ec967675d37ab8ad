/*
 * storage_s3.c — the S3 driver: repo = s3://bucket[/prefix].
 *
 * The driver's operations (storage.h) and the one place that decides what
 * an S3 reply means and whether to try again.  Its other files:
 * s3_multipart.c writes (one PUT or a multipart upload), s3_http.c carries
 * one attempt of a request (libcurl, signing, headers), s3_cred.c finds the
 * credentials (storage_s3.h).
 *
 * Queries are built already canonical (parameters sorted by name, each with
 * "=", values RFC 3986-encoded with upper-case hex) and keys are
 * percent-encoded the same way (keeping '/'), as libcurl's SigV4 signer
 * needs (s3_http.c).
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
#include "storage_s3.h"
#include "cfg.h"
#include "clock.h"
#include "log.h"
#include "s3_xml.h"
#include "retry.h"

#include <curl/curl.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- one request, with retries ------------------------------------------- */

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
        n = snprintf(url, len, "%s/%s%s%s", s->http.base_url, enc, r->query ? "?" : "",
                     r->query ? r->query : "");
    }
    else
        n = snprintf(url, len, "%s/%s%s", s->http.base_url, r->query ? "?" : "",
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
                     s->bucket, s->http.base_url);
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
    if (r->status == 403 && strcmp(code, "InvalidObjectState") == 0)
    {
        /* GET of an object in Glacier / Deep Archive that is not restored */
        err_set(err, WS_EARCHIVED,
                "object \"%s%s\" in bucket \"%s\" is in an archive storage class and not restored (S3 %s InvalidObjectState%s%s)",
                s->prefix, r->key ? r->key : "", s->bucket, r->op,
                message[0] ? ": " : "", message);
        err_hint(err, "Ask the store to restore it with \"walship thaw\" (--backup ID for a backup and its WAL), wait until it is restored (minutes to hours, by retrieval tier), then run this again.");
        return ATTEMPT_FAIL;
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
        err_detail(err, "The endpoint %s did not answer like an S3 server.", s->http.base_url);
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
                    r->op, s->prefix, r->key ? r->key : "", s->http.base_url, msg);
            err_hint(err, "Set s3_ca_file to the CA that signed the endpoint's certificate (s3_verify_tls = off only for test rigs).");
            return ATTEMPT_FAIL;
        case CURLE_UNSUPPORTED_PROTOCOL:
        case CURLE_URL_MALFORMAT:
        case CURLE_COULDNT_RESOLVE_HOST:
            err_set(err, WS_ECONFIG, "S3 %s: bad endpoint %s: %s", r->op, s->http.base_url, msg);
            err_hint(err, "Check s3_endpoint, s3_region and s3_uri_style.");
            return cc == CURLE_COULDNT_RESOLVE_HOST ? ATTEMPT_RETRY : ATTEMPT_FAIL;
        default:
            err_set(err, WS_ETRANSIENT, "S3 %s of \"%s%s\" in bucket \"%s\" failed: %s",
                    r->op, s->prefix, r->key ? r->key : "", s->bucket, msg);
            if (cc == CURLE_COULDNT_CONNECT)
                err_hint(err, "Is the S3 endpoint %s reachable?", s->http.base_url);
            return ATTEMPT_RETRY;
    }
}

int
storage_s3_request(struct storage_s3 *s, struct s3_req *r, struct ws_err *err)
{
    CURL       *h = s3_http_handle_get(&s->http);
    struct s3_credentials cred;
    char        url[8192];
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
        struct s3_attempt a;
        enum attempt_result ar;
        int         attempt = retry_attempts(&rt);
        long        wait;

        s3_http_req_reset(r);
        memset(&a, 0, sizeof(a));
        a.resume_from = delivered_total;
        a.if_match = etag_pin;

        /* the credentials are part of the request: STS or IMDS not answering is retried */
        if (s3_cred_get(s->cred, &cred, err) < 0)
        {
            if (err->code != WS_ETRANSIENT)
                goto out;
            r->retry_after_ms = 0;
            ar = ATTEMPT_RETRY;
        }
        else
        {
            if (s3_http_attempt(&s->http, h, url, r, &cred, &a, err) < 0)
                goto out;
            if (a.sink_failed)
                goto out;       /* the chain refused the data: its error stands */
            if (a.cc == CURLE_OK)
            {
                ar = classify(s, r, err);
                if (ar == ATTEMPT_OK)
                {
                    rc = 0;
                    goto out;
                }
            }
            else if (a.stalled)
            {
                err_set(err, WS_ETRANSIENT, "S3 %s of \"%s%s\" in bucket \"%s\" timed out: no progress for %ld s (s3_timeout)",
                        r->op, s->prefix, r->key ? r->key : "", s->bucket, s->http.timeout);
                ar = ATTEMPT_RETRY;
            }
            else
                ar = curl_failure(s, r, a.cc, a.errbuf, err);

            /* a GET that delivered part of the body resumes after it */
            if (r->sink != NULL && a.delivered > 0)
            {
                delivered_total += a.delivered;
                if (etag_pin[0] == '\0' && r->etag[0])
                    snprintf(etag_pin, sizeof(etag_pin), "%s", r->etag);
                if (etag_pin[0] == '\0')
                {
                    /* cannot resume safely without knowing it is the same object */
                    goto out;
                }
            }
        }
        if (ar == ATTEMPT_FAIL)
            goto out;
        if (retry_interrupted())
            break;
        if (!retry_next(&rt, r->retry_after_ms, &wait))
        {
            err_prefix(err, "giving up after %d attempts", attempt);
            goto out;
        }
        log_warning("%s (attempt %d of %d, retrying in %ld ms)", err->msg, attempt,
                    s->max_retries + 1, wait);
        retry_sleep_ms(wait);
        if (retry_interrupted())
            break;
    }
    /* asked to stop (retry_set_interrupt): no further attempt */
    err_prefix(err, "interrupted after %d attempts", retry_attempts(&rt));
    err->code = WS_EINTERRUPTED;
out:
    OPENSSL_cleanse(&cred, sizeof(cred));
    s3_http_handle_put(&s->http, h);
    return rc;
}

/* ---- get / head / list / remove ----------------------------------------- */

static int
s3_get(struct storage *st, const char *key, uint64_t offset, uint64_t length,
       struct filter *sink, struct ws_err *err)
{
    struct s3_req r;
    int         rc;

    s3_http_req_init(&r, "GET", "GET", key);
    r.sink = sink;
    r.range_start = offset;
    r.range_len = length;
    r.use_range = offset > 0 || length > 0;
    rc = storage_s3_request((struct storage_s3 *) st, &r, err);
    s3_http_req_done(&r);
    return rc;
}

static int
s3_head(struct storage *st, const char *key, struct storage_info *info, struct ws_err *err)
{
    struct s3_req r;
    int         rc;

    s3_http_req_init(&r, "HEAD", "HEAD", key);
    rc = storage_s3_request((struct storage_s3 *) st, &r, err);
    if (rc == 0)
    {
        info->size = r.content_length;
        info->mtime = r.last_modified;
        snprintf(info->storage_class, sizeof(info->storage_class), "%s", r.storage_class);
        snprintf(info->restore, sizeof(info->restore), "%s", r.restore);
    }
    s3_http_req_done(&r);
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
    struct storage_info info = {.size = 0};
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
        s3_http_req_init(&r, "list", "GET", NULL);
        r.query = query;
        r.capture = true;
        if (storage_s3_request(s, &r, err) < 0)
        {
            s3_http_req_done(&r);
            goto out;
        }
        if (r.resp == NULL || strstr(r.resp, "ListBucketResult") == NULL)
        {
            err_set(err, WS_EIO, "S3 list of bucket \"%s\" returned something that is not a ListBucketResult",
                    s->bucket);
            err_detail(err, "The endpoint %s may not be an S3 server.", s->http.base_url);
            s3_http_req_done(&r);
            goto out;
        }
        e = s3_xml_each(r.resp, r.resp_len, "Contents", list_one, &c);
        if (e != 0)
        {
            if (e == -2)
                err_set(err, WS_EIO, "malformed S3 list reply from bucket \"%s\"", s->bucket);
            s3_http_req_done(&r);
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
                s3_http_req_done(&r);
                goto out;
            }
            s3_http_req_done(&r);
            continue;
        }
        s3_http_req_done(&r);
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

    s3_http_req_init(&r, "DELETE", "DELETE", key);
    rc = storage_s3_request((struct storage_s3 *) st, &r, err);
    if (rc < 0 && err->code == WS_ENOTFOUND)
        rc = 0;
    s3_http_req_done(&r);
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
        char        md5h[64];
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
        s3_http_content_md5_header(xml, len, md5h);
        hdr[0] = md5h;
        hdr[1] = NULL;
        s3_http_req_init(&r, "batch delete", "POST", NULL);
        r.query = "delete=";
        r.body = (const unsigned char *) xml;
        r.body_len = len;
        r.headers = hdr;
        r.capture = true;
        rc = storage_s3_request(s, &r, err);
        free(xml);
        if (rc < 0 && (r.status == 501 || r.status == 405 || r.status == 400))
        {
            /* no DeleteObjects here: one by one */
            s3_http_req_done(&r);
            for (size_t i = 0; i < m; i++)
                if (s3_remove(st, keys[base + i], err) < 0)
                    return -1;
            continue;
        }
        if (rc == 0 && r.resp != NULL)
            s3_xml_each(r.resp, r.resp_len, "Error", delete_error, &d);
        s3_http_req_done(&r);
        if (rc < 0 || d.count > 0)
            return -1;
    }
    return 0;
}

static void
s3_free(struct storage *st)
{
    struct storage_s3 *s = (struct storage_s3 *) st;

    s3_cred_provider_free(s->cred);
    s3_http_cleanup(&s->http);
    free(s);
}

/* ---- storage classes ---------------------------------------------------- */

static bool
same_class(const char *have, const char *want)
{
    /* S3 leaves x-amz-storage-class out for STANDARD */
    if (have[0] == '\0')
        have = "STANDARD";
    if (want[0] == '\0')
        want = "STANDARD";
    return strcmp(have, want) == 0;
}

static int
s3_set_class(struct storage *st, const char *key, const char *storage_class,
             struct ws_err *err)
{
    struct s3_req r;
    uint64_t    size;
    bool        same;
    int         rc;

    s3_http_req_init(&r, "HEAD", "HEAD", key);
    rc = storage_s3_request((struct storage_s3 *) st, &r, err);
    size = r.content_length;
    same = same_class(r.storage_class, storage_class);
    s3_http_req_done(&r);
    if (rc < 0 || same)
        return rc;
    return s3_multipart_copy(st, key, size, storage_class, err);
}

/*
 * RestoreObject: POST ?restore.  202: started; 200: already restored (the
 * request extended the days); 409 RestoreAlreadyInProgress; 403
 * InvalidObjectState: the object is in no archive class.
 */
static int
s3_thaw(struct storage *st, const char *key, int days, const char *tier,
        enum storage_thaw_state *state, struct ws_err *err)
{
    struct storage_s3 *s = (struct storage_s3 *) st;
    struct s3_req r;
    char        body[512];
    char        md5h[64];
    const char *hdr[2];
    size_t      len;
    int         rc;

    len = (size_t) snprintf(body, sizeof(body),
                            "<RestoreRequest xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
                            "<Days>%d</Days><GlacierJobParameters><Tier>%s</Tier>"
                            "</GlacierJobParameters></RestoreRequest>", days, tier);
    s3_http_content_md5_header(body, len, md5h);
    hdr[0] = md5h;
    hdr[1] = NULL;
    s3_http_req_init(&r, "restore request", "POST", key);
    r.query = "restore=";
    r.body = (const unsigned char *) body;
    r.body_len = len;
    r.headers = hdr;
    rc = storage_s3_request(s, &r, err);
    if (rc == 0)
        *state = r.status == 202 ? STORAGE_THAW_STARTED : STORAGE_THAW_READY;
    else if (err->code == WS_EARCHIVED)
    {
        /* "restore is not allowed for the object's current storage class" */
        *state = STORAGE_THAW_NOT_ARCHIVED;
        *err = (struct ws_err) WS_ERR_INIT;
        rc = 0;
    }
    else if (r.status == 409)
    {
        *state = STORAGE_THAW_IN_PROGRESS;
        *err = (struct ws_err) WS_ERR_INIT;
        rc = 0;
    }
    s3_http_req_done(&r);
    return rc;
}

static const struct storage_ops s3_ops = {
    .name = "s3",
    .features = STORAGE_F_RANGE_GET | STORAGE_F_RETRIES,
    .put_open = s3_multipart_put_open,
    .get = s3_get,
    .head = s3_head,
    .list = s3_list,
    .remove = s3_remove,
    .remove_many = s3_remove_many,
    .sync = NULL,
    .set_class = s3_set_class,
    .thaw = s3_thaw,
    .free = s3_free,
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
    s3_http_init(&s->http);
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
    snprintf(s->http.sigv4, sizeof(s->http.sigv4), "aws:amz:%s:s3", s->region);

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
    s->http.https = strncmp(endpoint, "https://", 8) == 0;
    path_style = c->uri_style == CFG_URI_PATH ||
        (c->uri_style == CFG_URI_AUTO && (c->endpoint[0] || getenv("AWS_ENDPOINT_URL_S3") ||
                                         getenv("AWS_ENDPOINT_URL")));
    if ((path_style ? snprintf(s->http.base_url, sizeof(s->http.base_url), "%s/%s", endpoint, s->bucket)
         : snprintf(s->http.base_url, sizeof(s->http.base_url), "%.*s%s.%s",
                    (int) (scheme_end + 3 - endpoint), endpoint, s->bucket, scheme_end + 3))
        >= (int) sizeof(s->http.base_url))
    {
        err_set(err, WS_ECONFIG, "s3_endpoint \"%s\" is too long", endpoint);
        goto fail;
    }

    s->http.verify_tls = c->verify_tls;
    /* s3_ca_file, else the AWS tools' AWS_CA_BUNDLE */
    snprintf(s->http.ca_file, sizeof(s->http.ca_file), "%s", c->ca_file[0] ? c->ca_file
             : env_or("AWS_CA_BUNDLE", ""));
    snprintf(s->storage_class, sizeof(s->storage_class), "%s", c->storage_class);
    s->sse = c->sse;
    snprintf(s->sse_kms_key_id, sizeof(s->sse_kms_key_id), "%s", c->sse_kms_key_id);
    s->part_size = c->part_size ? c->part_size : 16ULL << 20;
    s->http.connect_timeout = c->connect_timeout > 0 ? c->connect_timeout : 10;
    s->http.timeout = c->timeout > 0 ? c->timeout : 60;
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
    cs.ca_file = s->http.ca_file;
    cs.verify_tls = c->verify_tls;
    cs.timeout_s = s->http.connect_timeout;
    s->cred = s3_cred_provider_new(&cs, err);
    if (s->cred == NULL)
        goto fail;
    return &s->base;
fail:
    s3_free(&s->base);
    return NULL;
}
