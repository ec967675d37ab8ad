/*
 * s3_http.h — the pieces of the S3 driver's HTTP layer that tests check
 * directly: key/query encoding, request signing setup, and the parsing of
 * the numbers a server sends (which are untrusted: each is checked for
 * overflow and clamped before the driver does arithmetic with it).
 */
#ifndef WS_S3_HTTP_H
#define WS_S3_HTTP_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
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

#endif
