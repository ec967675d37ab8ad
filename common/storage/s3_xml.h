/*
 * s3_xml.h — the little XML walship reads and writes for S3 and STS.
 *
 * Not a general XML parser: S3 responses are flat, machine-written documents
 * (ListBucketResult, Error, InitiateMultipartUploadResult, ...), so walship
 * extracts element text by tag name.  Entities (&amp; &lt; &gt; &quot;
 * &apos; &#N; &#xH;) are decoded; attributes, namespaces declared on the tag
 * (<Tag xmlns="...">) and self-closing empty elements (<Tag/>) are handled.
 * Pure functions: no allocation, no global state.
 */
#ifndef WS_S3_XML_H
#define WS_S3_XML_H

#include <stddef.h>
#include <stdint.h>

/*
 * Text of the first element named `tag` in [xml, xml + len), decoded into
 * buf (NUL-terminated).  Returns the decoded length, -1 if there is no such
 * element, -2 if it is malformed (unterminated, bad entity), has child
 * elements, or does not fit.
 */
int         s3_xml_text(const char *xml, size_t len, const char *tag, char *buf, size_t buflen);

/*
 * Call cb for each element named `tag`, in document order, with its inner
 * content (raw, not decoded: pass it to s3_xml_text for the children).
 * Returns 0, the first nonzero value cb returned, or -2 if malformed.
 */
int         s3_xml_each(const char *xml, size_t len, const char *tag,
                        int (*cb) (const char *inner, size_t innerlen, void *arg), void *arg);

/* Escape text for an XML body (& < > " ', and CR as &#13; so it survives
 * line-ending normalisation).  Returns the length written, or
 * -1 if out is too small (out is always NUL-terminated when outlen > 0). */
int         s3_xml_escape(const char *in, char *out, size_t outlen);

/* UTF-8 encoding of code point cp (< 0x110000) into b; returns its length (1..4). */
size_t      s3_utf8_encode(unsigned long cp, unsigned char b[4]);

/* ISO 8601 UTC ("2026-11-24T13:06:11Z", "2026-11-24T13:06:11.123Z",
 * "2026-11-24T13:06:11+00:00") to Unix seconds; -1 if invalid or before 1970. */
int64_t     s3_time_parse(const char *s);

/* An HTTP IMF-fixdate (RFC 9110 5.6.7: "Wed, 21 Oct 2026 07:28:00 GMT") to
 * Unix seconds; -1 if invalid, before 1970, or one of the obsolete forms
 * (RFC 850, asctime).  The weekday is checked for spelling, not against the
 * date. */
int64_t     s3_http_time_parse(const char *s);

#endif
