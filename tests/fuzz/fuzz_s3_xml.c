/*
 * fuzz_s3_xml.c — the S3/STS XML reader (s3_xml.c) on arbitrary documents.
 *
 * Each input is searched for the elements walship reads from S3 and STS
 * replies (ListBucketResult's Contents and their Key, Size, ETag and
 * LastModified, Error's Code and Message, multipart UploadId, STS
 * Credentials), with s3_xml_each and s3_xml_text, into buffers of several
 * sizes; time stamps go through s3_time_parse.
 *
 * Properties:
 *  - a decoded text of n bytes is NUL-terminated at n, fits a buffer of
 *    n + 1 bytes and is refused (-2) by one of n bytes: never truncated;
 *  - s3_xml_escape() of the input (as a C string), wrapped in an element,
 *    decodes back to the input.
 */
#include "fuzz.h"

#include "s3_xml.h"

#define TEXT_MAX 8192

static const char *const tags[] = {
    "Key", "Size", "ETag", "LastModified", "Code", "Message", "UploadId", "IsTruncated",
    "NextContinuationToken", "AccessKeyId", "SecretAccessKey", "SessionToken", "Expiration",
    "Contents", "Credentials"};

static void
text(const char *xml, size_t len, const char *tag)
{
    static char buf[TEXT_MAX];
    static char exact[TEXT_MAX];
    int         n = s3_xml_text(xml, len, tag, buf, sizeof(buf));

    if (n < -2)
        fuzz_fail("s3_xml_text returned %d", n);
    if (n >= 0)
    {
        if (strlen(buf) != (size_t) n)
            fuzz_fail("s3_xml_text returned %d for a text of %zu bytes", n, strlen(buf));
        if (s3_xml_text(xml, len, tag, exact, (size_t) n + 1) != n || strcmp(exact, buf) != 0)
            fuzz_fail("text of <%s> (%d bytes) does not fit %d + 1 bytes", tag, n, n);
        if (n > 0 && s3_xml_text(xml, len, tag, exact, (size_t) n) != -2)
            fuzz_fail("text of <%s> (%d bytes) fits %d bytes", tag, n, n);
        if (strcmp(tag, "LastModified") == 0 || strcmp(tag, "Expiration") == 0)
            (void) s3_time_parse(buf);
    }
    {
        char        small[8];

        n = s3_xml_text(xml, len, tag, small, sizeof(small));
        if (n >= (int) sizeof(small))
            fuzz_fail("s3_xml_text returned %d for an 8-byte buffer", n);
    }
}

static int
contents_cb(const char *inner, size_t innerlen, void *arg)
{
    int        *count = arg;

    (*count)++;
    text(inner, innerlen, "Key");
    text(inner, innerlen, "Size");
    text(inner, innerlen, "ETag");
    text(inner, innerlen, "LastModified");
    return *count >= 64 ? 7 : 0;
}

static void
escape_round_trip(const uint8_t *data, size_t size)
{
    static char in[1024];
    static char esc[6 * sizeof(in) + 16];
    static char doc[sizeof(esc) + 16];
    static char back[sizeof(in) + 1];
    size_t      n = size < sizeof(in) - 1 ? size : sizeof(in) - 1;
    int         e, d;

    memcpy(in, data, n);
    in[n] = '\0';
    e = s3_xml_escape(in, esc, sizeof(esc));
    if (e < 0)
        fuzz_fail("s3_xml_escape refused %zu bytes into %zu", strlen(in), sizeof(esc));
    d = snprintf(doc, sizeof(doc), "<K>%s</K>", esc);
    d = s3_xml_text(doc, (size_t) d, "K", back, sizeof(back));
    if (d != (int) strlen(in) || strcmp(back, in) != 0)
        fuzz_fail("escaped text does not decode back (%d bytes, expected %zu)", d, strlen(in));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *xml = (const char *) data;
    int         count = 0;
    int         rc;

    for (size_t i = 0; i < sizeof(tags) / sizeof(tags[0]); i++)
        text(xml, size, tags[i]);
    rc = s3_xml_each(xml, size, "Contents", contents_cb, &count);
    if (rc != 0 && rc != -2 && rc != 7)
        fuzz_fail("s3_xml_each returned %d", rc);
    {
        char       *s = fuzz_text(data, size < 256 ? size : 256);

        (void) s3_time_parse(s);
        free(s);
    }
    escape_round_trip(data, size);
    return 0;
}
