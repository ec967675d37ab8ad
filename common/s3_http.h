/*
 * s3_http.h — the pieces of the S3 driver's HTTP layer that tests check
 * directly: key/query encoding and request signing setup.
 */
#ifndef WS_S3_HTTP_H
#define WS_S3_HTTP_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>
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

#endif
