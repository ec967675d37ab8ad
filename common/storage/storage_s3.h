/*
 * storage_s3.h — what the S3 driver's files share (not for other modules,
 * which use storage.h): the driver's state, its request-with-retries, and
 * the write path's entry point.
 *
 *   storage_s3.c    the driver: construction, get, head, list, remove, and
 *                   storage_s3_request (classification and retries)
 *   s3_multipart.c  the write path: one PUT, or a multipart upload
 *   s3_http.c       the HTTP transport (one attempt of a request)
 *   s3_cred.c       credentials;  s3_xml.c  the XML of S3 replies
 */
#ifndef WS_STORAGE_S3_H
#define WS_STORAGE_S3_H

#include <stdint.h>
#include "retry.h"
#include "s3_cred.h"
#include "s3_http.h"
#include "storage.h"

struct storage_s3
{
    struct storage base;
    char        bucket[256];
    char        prefix[STORAGE_KEY_MAX];    /* "" or "a/b/" (with trailing '/') */
    char        region[128];
    char        storage_class[64];
    int         sse;
    char        sse_kms_key_id[512];
    uint64_t    part_size;
    int         max_retries;
    struct retry_policy retry;      /* s3_max_retries, S3_BACKOFF_BASE_MS, S3_BACKOFF_MAX_MS */
    struct s3_cred_provider *cred;
    struct s3_http http;            /* the endpoint and its handles */
};

/*
 * Perform r, retrying transient failures with s->retry (the one layer that
 * retries an S3 request: retry.h).  A GET into a sink that fails mid-body
 * resumes from where it stopped with a Range request and If-Match on the
 * ETag.  A failure is named (operation, key, status, S3 code, request id)
 * and mapped to a ws_code: WS_ENOTFOUND (404), WS_EEXISTS (412), WS_EAUTH,
 * WS_ECONFIG, WS_ETRANSIENT (after the retries), WS_EIO.  Call
 * s3_http_req_done(r) afterwards in every case.
 */
int         storage_s3_request(struct storage_s3 *s, struct s3_req *r, struct ws_err *err);

/* The driver's put_open (storage.h): the sink of one PUT or a multipart upload. */
int         s3_multipart_put_open(struct storage *st, const char *key, unsigned flags,
                                  struct filter **out, struct ws_err *err);

/*
 * Rewrite key (size bytes) onto itself under storage_class, server-side:
 * CopyObject up to 5 GiB, UploadPartCopy parts above.  Not pinned with
 * x-amz-copy-source-if-match: libcurl's SigV4 sorts a header whose name
 * another one prefixes (x-amz-copy-source) after it, so the signature would
 * not match.  walship never rewrites a key with other content (WAL is
 * identical or refused, backup parts are written once), so the object the
 * HEAD saw is the one copied.
 */
int         s3_multipart_copy(struct storage *st, const char *key, uint64_t size,
                              const char *storage_class, struct ws_err *err);

#endif
