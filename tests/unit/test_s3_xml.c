/*
 * test_s3_xml.c — s3_xml_text / s3_xml_each / s3_xml_escape / s3_time_parse.
 *
 * The documents below are shaped like what AWS S3, Ceph RGW, MinIO and STS
 * really send (namespaces on the root, the prolog, pretty-printing in STS,
 * &quot; around ETags).  Every parse of an untrusted document is also run on
 * an exact-size heap copy, so AddressSanitizer catches a read past `len`.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "s3_xml.h"

/* ---- helpers ------------------------------------------------------------ */

/* s3_xml_text on an exact-size heap copy of doc (no NUL after it). */
static int
text_of(const char *doc, const char *tag, char *buf, size_t buflen)
{
    size_t      len = strlen(doc);
    char       *copy = malloc(len > 0 ? len : 1);
    int         rc;

    cr_assert_not_null(copy);
    memcpy(copy, doc, len);
    rc = s3_xml_text(copy, len, tag, buf, buflen);
    free(copy);
    return rc;
}

/* Assert that tag's text in doc is exactly `want`. */
static void
expect_text(const char *doc, const char *tag, const char *want)
{
    char        buf[1024];
    int         rc = text_of(doc, tag, buf, sizeof(buf));

    cr_assert_eq(rc, (int) strlen(want), "<%s>: rc %d, want \"%s\"", tag, rc, want);
    cr_assert_str_eq(buf, want, "<%s>", tag);
}

static void
expect_rc(const char *doc, const char *tag, int want)
{
    char        buf[1024];
    int         rc = text_of(doc, tag, buf, sizeof(buf));

    cr_assert_eq(rc, want, "<%s> in \"%s\": rc %d, want %d", tag, doc, rc, want);
}

/* Collects the inner content of each element, and one child's text from it. */
struct collect
{
    const char *child;          /* NULL: keep the raw inner content */
    int         n;
    char        item[16][256];
    int         stop_at;        /* return 7 from the callback at this index (0 = never) */
    int         lenient;        /* damaged input: a child may be malformed */
};

static int
collect_cb(const char *inner, size_t innerlen, void *arg)
{
    struct collect *c = arg;

    cr_assert_lt(c->n, 16);
    if (c->child != NULL)
    {
        int         rc = s3_xml_text(inner, innerlen, c->child, c->item[c->n],
                                     sizeof(c->item[0]));

        if (rc == -1)
            strcpy(c->item[c->n], "(none)");
        else if (!c->lenient)
            cr_assert_geq(rc, 0, "child <%s> rc %d", c->child, rc);
        else
            cr_assert_geq(rc, -2);
    }
    else
    {
        cr_assert_lt(innerlen, sizeof(c->item[0]));
        memcpy(c->item[c->n], inner, innerlen);
        c->item[c->n][innerlen] = '\0';
    }
    c->n++;
    if (c->stop_at > 0 && c->n == c->stop_at)
        return 7;
    return 0;
}

static int
each_of(const char *doc, const char *tag, struct collect *c)
{
    size_t      len = strlen(doc);
    char       *copy = malloc(len > 0 ? len : 1);
    int         rc;

    cr_assert_not_null(copy);
    memcpy(copy, doc, len);
    rc = s3_xml_each(copy, len, tag, collect_cb, c);
    free(copy);
    return rc;
}

/* ---- real-world documents ----------------------------------------------- */

static const char list_v2[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
    "<Name>walship-test</Name><Prefix>wal/</Prefix>"
    "<KeyCount>3</KeyCount><MaxKeys>3</MaxKeys>"
    "<StartAfter>wal/000000010000000000000000</StartAfter>"
    "<IsTruncated>true</IsTruncated>"
    "<NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=+x/y==</NextContinuationToken>"
    "<Contents><Key>wal/000000010000000000000001.zst</Key>"
    "<LastModified>2026-11-24T13:06:11.000Z</LastModified>"
    "<ETag>&quot;9b2cf535f27731c974343645a3985328&quot;</ETag>"
    "<ChecksumAlgorithm>CRC32</ChecksumAlgorithm>"
    "<Size>1234567</Size><StorageClass>STANDARD</StorageClass></Contents>"
    "<Contents><Key>wal/000000010000000000000002.zst</Key>"
    "<LastModified>2026-11-24T13:07:12.000Z</LastModified>"
    "<ETag>&quot;3858f62230ac3c915f300c664312c11f-9&quot;</ETag>"
    "<Size>16777216</Size><StorageClass>STANDARD</StorageClass></Contents>"
    "<Contents><Key>wal/a&amp;b &lt;c&gt; \xc3\xa9t\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac</Key>"
    "<LastModified>2026-11-24T13:08:13.000Z</LastModified>"
    "<ETag>&quot;d41d8cd98f00b204e9800998ecf8427e&quot;</ETag>"
    "<Size>0</Size><StorageClass>STANDARD</StorageClass></Contents>"
    "</ListBucketResult>";

Test(s3_xml, list_objects_v2_top_level)
{
    expect_text(list_v2, "Name", "walship-test");
    expect_text(list_v2, "IsTruncated", "true");
    expect_text(list_v2, "KeyCount", "3");
    expect_text(list_v2, "NextContinuationToken",
                "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=+x/y==");
    /* "Key" must not match <KeyCount> (which comes first) */
    expect_text(list_v2, "Key", "wal/000000010000000000000001.zst");
    expect_rc(list_v2, "ContinuationToken", -1);
    expect_rc(list_v2, "Contents2", -1);
    expect_rc(list_v2, "Conten", -1);
}

Test(s3_xml, list_objects_v2_contents)
{
    static const char *keys[] = {
        "wal/000000010000000000000001.zst", "wal/000000010000000000000002.zst",
        "wal/a&b <c> \xc3\xa9t\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac"
    };
    static const char *etags[] = {
        "\"9b2cf535f27731c974343645a3985328\"", "\"3858f62230ac3c915f300c664312c11f-9\"",
        "\"d41d8cd98f00b204e9800998ecf8427e\""
    };
    static const char *sizes[] = {"1234567", "16777216", "0"};
    struct collect c = {.child = "Key"};

    cr_assert_eq(each_of(list_v2, "Contents", &c), 0);
    cr_assert_eq(c.n, 3);
    for (int i = 0; i < 3; i++)
        cr_assert_str_eq(c.item[i], keys[i]);

    memset(&c, 0, sizeof(c));
    c.child = "ETag";
    cr_assert_eq(each_of(list_v2, "Contents", &c), 0);
    for (int i = 0; i < 3; i++)
        cr_assert_str_eq(c.item[i], etags[i]);

    memset(&c, 0, sizeof(c));
    c.child = "Size";
    cr_assert_eq(each_of(list_v2, "Contents", &c), 0);
    for (int i = 0; i < 3; i++)
        cr_assert_str_eq(c.item[i], sizes[i]);

    memset(&c, 0, sizeof(c));
    c.child = "LastModified";
    cr_assert_eq(each_of(list_v2, "Contents", &c), 0);
    cr_assert_str_eq(c.item[1], "2026-11-24T13:07:12.000Z");
    cr_assert_eq(s3_time_parse(c.item[1]), INT64_C(1795525632));
}

Test(s3_xml, each_stops_at_callback_value)
{
    struct collect c = {.child = "Key", .stop_at = 2};

    cr_assert_eq(each_of(list_v2, "Contents", &c), 7);
    cr_assert_eq(c.n, 2);
}

Test(s3_xml, each_without_matches)
{
    struct collect c = {.child = "Key"};

    cr_assert_eq(each_of(list_v2, "CommonPrefixes", &c), 0);
    cr_assert_eq(c.n, 0);
    cr_assert_eq(each_of("", "Contents", &c), 0);
    cr_assert_eq(c.n, 0);
}

Test(s3_xml, list_objects_v2_last_page)
{
    static const char doc[] =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
        "<Name>b</Name><Prefix></Prefix><KeyCount>0</KeyCount><MaxKeys>1000</MaxKeys>"
        "<Delimiter>/</Delimiter><IsTruncated>false</IsTruncated>"
        "<CommonPrefixes><Prefix>wal/</Prefix></CommonPrefixes>"
        "<CommonPrefixes><Prefix>backup/</Prefix></CommonPrefixes>"
        "</ListBucketResult>";
    struct collect c = {.child = "Prefix"};

    expect_text(doc, "IsTruncated", "false");
    expect_text(doc, "Prefix", "");
    expect_rc(doc, "NextContinuationToken", -1);
    expect_rc(doc, "Key", -1);
    cr_assert_eq(each_of(doc, "CommonPrefixes", &c), 0);
    cr_assert_eq(c.n, 2);
    cr_assert_str_eq(c.item[0], "wal/");
    cr_assert_str_eq(c.item[1], "backup/");
}

Test(s3_xml, error_aws)
{
    static const char doc[] =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message>"
        "<Key>wal/000000010000000000000003.zst</Key>"
        "<RequestId>4442587FB7D0A2F9</RequestId>"
        "<HostId>6Zd7mTPv+pWCMvdBLNiZa4uiQ1rhzdGcv5yzu0fd2Hq1sX06hF8HYI3wK7v+EX6nMnsP2A5qBgY=</HostId>"
        "</Error>";

    expect_text(doc, "Code", "NoSuchKey");
    expect_text(doc, "Message", "The specified key does not exist.");
    expect_text(doc, "RequestId", "4442587FB7D0A2F9");
    expect_text(doc, "HostId",
                "6Zd7mTPv+pWCMvdBLNiZa4uiQ1rhzdGcv5yzu0fd2Hq1sX06hF8HYI3wK7v+EX6nMnsP2A5qBgY=");
    expect_text(doc, "Key", "wal/000000010000000000000003.zst");
}

Test(s3_xml, error_rgw)
{
    /* Ceph RGW: no Message for some codes, RequestId/HostId in its own shape */
    static const char doc[] =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
        "<Error><Code>NoSuchBucket</Code><BucketName>walship</BucketName>"
        "<RequestId>tx00000a7c3b3e0d2a1c9f4-0065f1a2b3-1234-default</RequestId>"
        "<HostId>1234-default-default</HostId></Error>";

    expect_text(doc, "Code", "NoSuchBucket");
    expect_rc(doc, "Message", -1);
    expect_text(doc, "RequestId", "tx00000a7c3b3e0d2a1c9f4-0065f1a2b3-1234-default");
    expect_text(doc, "HostId", "1234-default-default");
}

Test(s3_xml, error_signature_with_canonical_request)
{
    /* SignatureDoesNotMatch carries the string to sign, with newlines */
    static const char doc[] =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<Error><Code>SignatureDoesNotMatch</Code>"
        "<Message>The request signature we calculated does not match the signature you "
        "provided. Check your key and signing method.</Message>"
        "<AWSAccessKeyId>AKIAIOSFODNN7EXAMPLE</AWSAccessKeyId>"
        "<StringToSign>AWS4-HMAC-SHA256\n20261124T130611Z\n20261124/us-east-1/s3/aws4_request\n"
        "abc</StringToSign>"
        "<CanonicalRequest>GET\n/b/k\n\nhost:127.0.0.1\n</CanonicalRequest>"
        "<RequestId>X</RequestId><HostId>Y</HostId></Error>";

    expect_text(doc, "Code", "SignatureDoesNotMatch");
    expect_text(doc, "CanonicalRequest", "GET\n/b/k\n\nhost:127.0.0.1\n");
    expect_rc(doc, "AWSAccessKey", -1);
}

Test(s3_xml, initiate_multipart_upload)
{
    static const char doc[] =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<InitiateMultipartUploadResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
        "<Bucket>walship</Bucket><Key>base/20261124T130611Z/base.tar.zst</Key>"
        "<UploadId>VXBsb2FkIElEIGZvciA2aWWpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA</UploadId>"
        "</InitiateMultipartUploadResult>";

    expect_text(doc, "UploadId", "VXBsb2FkIElEIGZvciA2aWWpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA");
    expect_text(doc, "Key", "base/20261124T130611Z/base.tar.zst");
    expect_rc(doc, "Upload", -1);
}

Test(s3_xml, list_multipart_uploads)
{
    static const char doc[] =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<ListMultipartUploadsResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
        "<Bucket>walship</Bucket><KeyMarker></KeyMarker><UploadIdMarker/>"
        "<NextKeyMarker>wal/b</NextKeyMarker>"
        "<NextUploadIdMarker>2~xyz</NextUploadIdMarker>"
        "<MaxUploads>1000</MaxUploads><IsTruncated>false</IsTruncated>"
        "<Upload><Key>wal/a</Key><UploadId>2~abc</UploadId>"
        "<Initiator><ID>arn:aws:iam::111122223333:user/walship</ID>"
        "<DisplayName>walship</DisplayName></Initiator>"
        "<Owner><ID>75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a</ID>"
        "<DisplayName>owner</DisplayName></Owner>"
        "<StorageClass>STANDARD</StorageClass>"
        "<Initiated>2026-11-24T13:06:11.000Z</Initiated></Upload>"
        "<Upload><Key>wal/b</Key><UploadId>2~xyz</UploadId>"
        "<StorageClass>STANDARD</StorageClass>"
        "<Initiated>2026-11-24T13:07:11.000Z</Initiated></Upload>"
        "</ListMultipartUploadsResult>";
    struct collect c = {.child = "Key"};

    /* <KeyMarker> and <NextKeyMarker> come before the first <Key> */
    expect_text(doc, "Key", "wal/a");
    expect_text(doc, "KeyMarker", "");
    expect_text(doc, "UploadIdMarker", "");
    cr_assert_eq(each_of(doc, "Upload", &c), 0);
    cr_assert_eq(c.n, 2);
    cr_assert_str_eq(c.item[0], "wal/a");
    cr_assert_str_eq(c.item[1], "wal/b");
    memset(&c, 0, sizeof(c));
    c.child = "UploadId";
    cr_assert_eq(each_of(doc, "Upload", &c), 0);
    cr_assert_str_eq(c.item[0], "2~abc");
    cr_assert_str_eq(c.item[1], "2~xyz");
}

Test(s3_xml, delete_result)
{
    static const char doc[] =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<DeleteResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
        "<Deleted><Key>wal/1</Key></Deleted>"
        "<Error><Key>wal/2</Key><Code>AccessDenied</Code><Message>Access Denied</Message></Error>"
        "<Deleted><Key>wal/3</Key><DeleteMarker>true</DeleteMarker>"
        "<DeleteMarkerVersionId>A._w1z6EFiCF5uhtQMDal9JDkID9tQ7F</DeleteMarkerVersionId></Deleted>"
        "<Error><Key>wal/4 &amp; 5</Key><Code>InternalError</Code>"
        "<Message>We encountered an internal error. Please try again.</Message></Error>"
        "</DeleteResult>";
    struct collect c = {.child = "Key"};

    cr_assert_eq(each_of(doc, "Deleted", &c), 0);
    cr_assert_eq(c.n, 2);
    cr_assert_str_eq(c.item[0], "wal/1");
    cr_assert_str_eq(c.item[1], "wal/3");

    memset(&c, 0, sizeof(c));
    c.child = "Key";
    cr_assert_eq(each_of(doc, "Error", &c), 0);
    cr_assert_eq(c.n, 2);
    cr_assert_str_eq(c.item[0], "wal/2");
    cr_assert_str_eq(c.item[1], "wal/4 & 5");

    memset(&c, 0, sizeof(c));
    c.child = "Code";
    cr_assert_eq(each_of(doc, "Error", &c), 0);
    cr_assert_str_eq(c.item[0], "AccessDenied");
    cr_assert_str_eq(c.item[1], "InternalError");

    /* <DeleteMarker> is not <DeleteMarkerVersionId> and vice versa */
    expect_text(doc, "DeleteMarker", "true");
    expect_text(doc, "DeleteMarkerVersionId", "A._w1z6EFiCF5uhtQMDal9JDkID9tQ7F");
}

Test(s3_xml, complete_multipart_upload)
{
    static const char doc[] =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<CompleteMultipartUploadResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
        "<Location>https://walship.s3.amazonaws.com/base%2Fbase.tar.zst</Location>"
        "<Bucket>walship</Bucket><Key>base/base.tar.zst</Key>"
        "<ETag>&quot;3858f62230ac3c915f300c664312c11f-9&quot;</ETag>"
        "</CompleteMultipartUploadResult>";

    expect_text(doc, "ETag", "\"3858f62230ac3c915f300c664312c11f-9\"");
    expect_text(doc, "Location", "https://walship.s3.amazonaws.com/base%2Fbase.tar.zst");
    expect_rc(doc, "Error", -1);
    expect_rc(doc, "Code", -1);
}

Test(s3_xml, complete_multipart_upload_error_with_200)
{
    /* S3 answers 200 at once, sends whitespace while it works, and may then
     * report a failure in the body: the caller must look for <Error>. */
    static const char doc[] =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "                                                                \n"
        "<Error><Code>InternalError</Code>"
        "<Message>We encountered an internal error. Please try again.</Message>"
        "<RequestId>656c76696e6727732072657175657374</RequestId>"
        "<HostId>Uuag1LuByRx9e6j5Onimru9pO4ZVKnJ2Qz7/C1NPcfTWAtRPfTaOFg==</HostId></Error>";
    struct collect c = {.child = "Code"};

    expect_rc(doc, "ETag", -1);
    expect_rc(doc, "CompleteMultipartUploadResult", -1);
    expect_text(doc, "Code", "InternalError");
    cr_assert_eq(each_of(doc, "Error", &c), 0);
    cr_assert_eq(c.n, 1);
    cr_assert_str_eq(c.item[0], "InternalError");
}

static const char sts_ok[] =
    "<AssumeRoleWithWebIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n"
    "  <AssumeRoleWithWebIdentityResult>\n"
    "    <SubjectFromWebIdentityToken>system:serviceaccount:db:walship</SubjectFromWebIdentityToken>\n"
    "    <Audience>sts.amazonaws.com</Audience>\n"
    "    <AssumedRoleUser>\n"
    "      <Arn>arn:aws:sts::123456789012:assumed-role/walship/walship-1</Arn>\n"
    "      <AssumedRoleId>AROACLKWSDQRAOEXAMPLE:walship-1</AssumedRoleId>\n"
    "    </AssumedRoleUser>\n"
    "    <Credentials>\n"
    "      <SessionToken>AQoDYXdzEE0a8ANXXXXXXXXNO1ewxE5TijQyp+IEXAMPLE/ab==</SessionToken>\n"
    "      <SecretAccessKey>wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY</SecretAccessKey>\n"
    "      <Expiration>2026-11-24T14:06:11Z</Expiration>\n"
    "      <AccessKeyId>ASIAIOSFODNN7EXAMPLE</AccessKeyId>\n"
    "    </Credentials>\n"
    "    <Provider>arn:aws:iam::123456789012:oidc-provider/oidc.eks.example</Provider>\n"
    "  </AssumeRoleWithWebIdentityResult>\n"
    "  <ResponseMetadata>\n"
    "    <RequestId>ad4156e9-bce1-11e2-82e6-6b6efEXAMPLE</RequestId>\n"
    "  </ResponseMetadata>\n"
    "</AssumeRoleWithWebIdentityResponse>\n";

static int
sts_creds_cb(const char *inner, size_t innerlen, void *arg)
{
    char        (*out)[256] = arg;

    cr_assert_gt(s3_xml_text(inner, innerlen, "AccessKeyId", out[0], 256), 0);
    cr_assert_gt(s3_xml_text(inner, innerlen, "SecretAccessKey", out[1], 256), 0);
    cr_assert_gt(s3_xml_text(inner, innerlen, "SessionToken", out[2], 256), 0);
    cr_assert_gt(s3_xml_text(inner, innerlen, "Expiration", out[3], 256), 0);
    return 1;
}

Test(s3_xml, sts_assume_role_with_web_identity)
{
    char        f[4][256];

    cr_assert_eq(s3_xml_each(sts_ok, strlen(sts_ok), "Credentials", sts_creds_cb, f), 1);
    cr_assert_str_eq(f[0], "ASIAIOSFODNN7EXAMPLE");
    cr_assert_str_eq(f[1], "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY");
    cr_assert_str_eq(f[2], "AQoDYXdzEE0a8ANXXXXXXXXNO1ewxE5TijQyp+IEXAMPLE/ab==");
    cr_assert_str_eq(f[3], "2026-11-24T14:06:11Z");
    cr_assert_eq(s3_time_parse(f[3]), INT64_C(1795529171));
    expect_text(sts_ok, "Arn", "arn:aws:sts::123456789012:assumed-role/walship/walship-1");
    /* an element with children is not text */
    expect_rc(sts_ok, "Credentials", -2);
}

Test(s3_xml, sts_error_response)
{
    static const char doc[] =
        "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n"
        "  <Error>\n"
        "    <Type>Sender</Type>\n"
        "    <Code>InvalidIdentityToken</Code>\n"
        "    <Message>No OpenIDConnect provider found in your account for https://oidc.example</Message>\n"
        "  </Error>\n"
        "  <RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId>\n"
        "</ErrorResponse>\n";

    expect_text(doc, "Code", "InvalidIdentityToken");
    expect_text(doc, "Type", "Sender");
    expect_text(doc, "Message",
                "No OpenIDConnect provider found in your account for https://oidc.example");
    expect_rc(doc, "Credentials", -1);
}

/* ---- edge cases ---------------------------------------------------------- */

Test(s3_xml, empty_and_self_closing)
{
    expect_text("<a><Key></Key></a>", "Key", "");
    expect_text("<a><Key/></a>", "Key", "");
    expect_text("<a><Key /></a>", "Key", "");
    expect_text("<a><Key xmlns=\"x\"/><Key>second</Key></a>", "Key", "");
    /* a self-closing element does not open a level */
    expect_text("<a><Key/><b>x</b></a>", "b", "x");
    expect_text("<Key\n  attr='1'\t>v</Key >", "Key", "v");
}

Test(s3_xml, attributes_with_markup_characters)
{
    expect_text("<r><Key a=\"x>y\" b='</Key>' c=\"/\">value</Key></r>", "Key", "value");
    expect_text("<r><Key a=\"/\"/>", "Key", "");
}

Test(s3_xml, prolog_comments_doctype_cdata)
{
    expect_text("<?xml version=\"1.0\"?><!-- <Key>no</Key> --><r><Key>yes</Key></r>", "Key", "yes");
    expect_text("<!DOCTYPE r [<!ENTITY x \"<Key>no</Key>\">]><r><Key>yes</Key></r>", "Key", "yes");
    expect_text("<r><Key>a<!-- comment -->b</Key></r>", "Key", "ab");
    expect_text("<r><Key><![CDATA[<&>]]>&amp;</Key></r>", "Key", "<&>&");
    expect_text("<r><?pi <Key>no</Key>?><Key>yes</Key></r>", "Key", "yes");
    /* declared entities are not honoured */
    expect_rc("<!DOCTYPE r [<!ENTITY x \"boom\">]><r><Key>&x;</Key></r>", "Key", -2);
}

Test(s3_xml, nested_same_name)
{
    static const char doc[] = "<r><Item><Item>inner</Item><Key>k1</Key></Item><Item><Key>k2</Key></Item></r>";
    struct collect c = {.child = "Key"};

    cr_assert_eq(each_of(doc, "Item", &c), 0);
    cr_assert_eq(c.n, 2);
    cr_assert_str_eq(c.item[0], "k1");
    cr_assert_str_eq(c.item[1], "k2");

    memset(&c, 0, sizeof(c));
    cr_assert_eq(each_of(doc, "Item", &c), 0);
    cr_assert_str_eq(c.item[0], "<Item>inner</Item><Key>k1</Key>");
}

Test(s3_xml, exact_tag_names)
{
    static const char doc[] =
        "<r><KeyMarker>m</KeyMarker><KeyCount>2</KeyCount><Keys>x</Keys><MyKey>y</MyKey>"
        "<s3:Key>z</s3:Key><key>lower</key><Key>real</Key></r>";

    expect_text(doc, "Key", "real");
    expect_text(doc, "key", "lower");
    expect_text(doc, "KeyMarker", "m");
    expect_text(doc, "s3:Key", "z");
    expect_rc(doc, "Ke", -1);
    expect_rc(doc, "", -1);
}

/* Parameters are copied into the test process (which may be a fresh exec
 * with other addresses), so they hold arrays, not pointers. */
struct entity_case
{
    char        doc[64];
    char        want[16];       /* "" with bad = 1: expect -2 */
    int         bad;
};

ParameterizedTestParameters(s3_xml, entities)
{
    static struct entity_case cases[] = {
        {"<K>&amp;&lt;&gt;&quot;&apos;</K>", "&<>\"'", 0},
        {"<K>&#38;</K>", "&", 0},
        {"<K>&#x26;</K>", "&", 0},
        {"<K>&#x4A;&#x4a;</K>", "JJ", 0},
        {"<K>&#0038;</K>", "&", 0},
        {"<K>&#233;</K>", "\xc3\xa9", 0},
        {"<K>&#x65E5;</K>", "\xe6\x97\xa5", 0},
        {"<K>&#x1F600;</K>", "\xf0\x9f\x98\x80", 0},
        {"<K>&#x10FFFF;</K>", "\xf4\x8f\xbf\xbf", 0},
        {"<K>&#13;&#10;&#9;</K>", "\r\n\t", 0},
        {"<K>a &gt; b</K>", "a > b", 0},
        {"<K>a > b</K>", "a > b", 0},
        {"<K>&nbsp;</K>", "", 1},
        {"<K>&AMP;</K>", "", 1},
        {"<K>&amp</K>", "", 1},
        {"<K>a & b</K>", "", 1},
        {"<K>&;</K>", "", 1},
        {"<K>&#;</K>", "", 1},
        {"<K>&#x;</K>", "", 1},
        {"<K>&#X26;</K>", "", 1},
        {"<K>&#x110000;</K>", "", 1},
        {"<K>&#99999999999999;</K>", "", 1},
        {"<K>&#xD800;</K>", "", 1},
        {"<K>&#0;</K>", "", 1},
        {"<K>&#-1;</K>", "", 1},
        {"<K>&#x2G;</K>", "", 1},
        {"<K>&amp;&unknownentityname;</K>", "", 1},
        {"<K>&aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa;</K>", "", 1},
    };

    return cr_make_param_array(struct entity_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct entity_case *c, s3_xml, entities)
{
    if (!c->bad)
        expect_text(c->doc, "K", c->want);
    else
        expect_rc(c->doc, "K", -2);
}

struct doc_case
{
    char        doc[48];
};

ParameterizedTestParameters(s3_xml, malformed)
{
    static struct doc_case docs[] = {
        {"<r><Key>abc"},
        {"<r><Key>abc</Ke"},
        {"<r><Key>abc</Key"},
        {"<r><Key"},
        {"<r><Key attr=\"x>v</Key></r>"},
        {"<r><Key>a<b</Key></r>"},
        {"<r><Key>a<!-- never closed</Key></r>"},
        {"<r><Key>a<![CDATA[x</Key></r>"},
        {"<?xml version=\"1.0\"<r><Key>x</Key></r>"},
        {"<!-- <Key>x</Key>"},
        {"<r><><Key>x</Key></r>"},
        {"<r></ ><Key>x</Key></r>"},
        {"<r><Key>x</Key junk></r>"},
        {"<"},
        {"<r><Key><Key>x</Key></r>"},
        {"<r><Key>a<c>b</c></Key></r>"},
    };

    return cr_make_param_array(struct doc_case, docs, sizeof(docs) / sizeof(docs[0]));
}

ParameterizedTest(struct doc_case *c, s3_xml, malformed)
{
    expect_rc(c->doc, "Key", -2);
}

Test(s3_xml, text_after_element_is_not_examined)
{
    /* once the element is complete, later damage does not matter */
    expect_text("<r><Key>ok</Key><broken", "Key", "ok");
}

Test(s3_xml, not_found_in_plain_text)
{
    expect_rc("", "Key", -1);
    expect_rc("no markup at all", "Key", -1);
    expect_rc("<r>Key</r>", "Key", -1);
    expect_rc("&lt;Key&gt;x&lt;/Key&gt;", "Key", -1);
}

Test(s3_xml, buffer_sizes)
{
    static const char doc[] = "<r><Key>abcdef</Key></r>";
    char        buf[16];

    cr_assert_eq(text_of(doc, "Key", buf, 7), 6);
    cr_assert_str_eq(buf, "abcdef");
    cr_assert_eq(text_of(doc, "Key", buf, 6), -2);
    cr_assert_str_eq(buf, "");
    cr_assert_eq(text_of(doc, "Key", buf, 1), -2);
    cr_assert_eq(text_of(doc, "Key", buf, 0), -2);
    /* entities and multibyte characters against the cap */
    cr_assert_eq(text_of("<K>&#x1F600;</K>", "K", buf, 5), 4);
    cr_assert_eq(text_of("<K>&#x1F600;</K>", "K", buf, 4), -2);
    cr_assert_eq(text_of("<K>a&amp;</K>", "K", buf, 3), 2);
    cr_assert_eq(text_of("<K>a&amp;</K>", "K", buf, 2), -2);
    cr_assert_eq(text_of("<K><![CDATA[abc]]></K>", "K", buf, 4), 3);
    cr_assert_eq(text_of("<K><![CDATA[abc]]></K>", "K", buf, 3), -2);
    /* empty element in a 1-byte buffer fits */
    cr_assert_eq(text_of("<K/>", "K", buf, 1), 0);
}

Test(s3_xml, embedded_nul_is_not_an_end)
{
    static const char doc[] = "<r><Key>a\0b</Key><Other>\0</Other><Next>n</Next></r>";
    static const char cdata[] = "<K><![CDATA[a\0b]]></K>";
    char        buf[16];

    cr_assert_eq(s3_xml_text(doc, sizeof(doc) - 1, "Key", buf, sizeof(buf)), -2);
    cr_assert_eq(s3_xml_text(doc, sizeof(doc) - 1, "Next", buf, sizeof(buf)), 1);
    cr_assert_str_eq(buf, "n");
    cr_assert_eq(s3_xml_text(cdata, sizeof(cdata) - 1, "K", buf, sizeof(buf)), -2);
}

Test(s3_xml, length_bounds_the_document)
{
    static const char doc[] = "<r><Key>abc</Key></r>";
    char        buf[16];

    /* a length that cuts the element must not see the rest of the string */
    cr_assert_eq(s3_xml_text(doc, 10, "Key", buf, sizeof(buf)), -2);
    cr_assert_eq(s3_xml_text(doc, 3, "Key", buf, sizeof(buf)), -1);
    cr_assert_eq(s3_xml_text(doc, 0, "Key", buf, sizeof(buf)), -1);
}

Test(s3_xml, utf8_keys)
{
    static const char doc[] =
        "<r><Key>\xd0\xb6\xd1\x83\xd1\x80\xd0\xbd\xd0\xb0\xd0\xbb/\xe2\x82\xac 100 "
        "\xf0\x9f\x90\x98.zst</Key></r>";

    expect_text(doc, "Key", "\xd0\xb6\xd1\x83\xd1\x80\xd0\xbd\xd0\xb0\xd0\xbb/\xe2\x82\xac 100 "
                "\xf0\x9f\x90\x98.zst");
    /* a tag name in UTF-8 */
    expect_text("<r><Cl\xc3\xa9>v</Cl\xc3\xa9></r>", "Cl\xc3\xa9", "v");
}

/* Every prefix of every document: never a crash or an over-read, and an
 * element that is complete in the prefix is found with its full text. */
Test(s3_xml, truncated_documents)
{
    static const char *docs[] = {list_v2, sts_ok};
    static const char *tags[] = {"Key", "NextContinuationToken", "Contents", "AccessKeyId",
                                 "SessionToken", "Credentials", "ListBucketResult"};

    for (size_t d = 0; d < 2; d++)
    {
        size_t      full = strlen(docs[d]);

        for (size_t len = 0; len <= full; len++)
        {
            char       *copy = malloc(len > 0 ? len : 1);

            cr_assert_not_null(copy);
            memcpy(copy, docs[d], len);
            for (size_t t = 0; t < sizeof(tags) / sizeof(tags[0]); t++)
            {
                char        buf[512];
                char        want[512];
                int         rc = s3_xml_text(copy, len, tags[t], buf, sizeof(buf));
                int         wrc = s3_xml_text(docs[d], full, tags[t], want, sizeof(want));
                struct collect c = {.child = NULL};

                cr_assert(rc == -1 || rc == -2 || (rc == wrc && strcmp(buf, want) == 0),
                          "doc %zu len %zu tag %s: rc %d", d, len, tags[t], rc);
                if (strcmp(tags[t], "Contents") == 0)
                {
                    c.child = "Key";
                    c.lenient = 1;
                    rc = s3_xml_each(copy, len, tags[t], collect_cb, &c);
                    cr_assert(rc == 0 || rc == -2);
                }
            }
            free(copy);
        }
    }
}

/* Deterministic byte mutations of a real document: ASan/UBSan are the oracle. */
Test(s3_xml, mutated_documents)
{
    static const char alphabet[] = "<>/&;#x\"'=! ?-[]Ka0\0";
    size_t      full = strlen(list_v2);
    uint32_t    seed = 12345;

    for (int round = 0; round < 3000; round++)
    {
        char       *copy = malloc(full);
        int         nmut = 1 + round % 4;
        char        buf[256];
        struct collect c = {.child = "Key", .lenient = 1};
        int         rc;

        cr_assert_not_null(copy);
        memcpy(copy, list_v2, full);
        for (int m = 0; m < nmut; m++)
        {
            seed = seed * 1103515245u + 12345u;
            copy[(seed >> 8) % full] = alphabet[(seed >> 20) % (sizeof(alphabet) - 1)];
        }
        rc = s3_xml_text(copy, full, "Key", buf, sizeof(buf));
        cr_assert(rc >= -2);
        if (rc >= 0)
            cr_assert_eq(strlen(buf), (size_t) rc);
        rc = s3_xml_each(copy, full, "Contents", collect_cb, &c);
        cr_assert(rc == 0 || rc == -2);
        free(copy);
    }
}

Test(s3_xml, deep_nesting_is_linear_and_bounded)
{
    const size_t depth = 200000;
    size_t      len = depth * 3;
    char       *doc = malloc(len);
    char        buf[16];
    struct collect c = {.child = "b"};

    cr_assert_not_null(doc);
    for (size_t i = 0; i < depth; i++)
        memcpy(doc + i * 3, "<a>", 3);
    cr_assert_eq(s3_xml_text(doc, len, "a", buf, sizeof(buf)), -2);
    cr_assert_eq(s3_xml_text(doc, len, "b", buf, sizeof(buf)), -1);
    cr_assert_eq(s3_xml_each(doc, len, "a", collect_cb, &c), -2);
    cr_assert_eq(c.n, 0);
    free(doc);
}

/* ---- escape --------------------------------------------------------------- */

Test(s3_xml, escape_basic)
{
    char        out[64];

    cr_assert_eq(s3_xml_escape("a&b<c>d\"e'f", out, sizeof(out)), 31);
    cr_assert_str_eq(out, "a&amp;b&lt;c&gt;d&quot;e&apos;f");
    cr_assert_eq(s3_xml_escape("", out, sizeof(out)), 0);
    cr_assert_str_eq(out, "");
    cr_assert_eq(s3_xml_escape("plain/key-1.zst", out, sizeof(out)), 15);
    cr_assert_str_eq(out, "plain/key-1.zst");
    cr_assert_eq(s3_xml_escape("cr\r", out, sizeof(out)), 7);
    cr_assert_str_eq(out, "cr&#13;");
}

Test(s3_xml, escape_too_small)
{
    char        out[8];

    cr_assert_eq(s3_xml_escape("abcdefg", out, 8), 7);
    cr_assert_eq(s3_xml_escape("abcdefgh", out, 8), -1);
    cr_assert_str_eq(out, "");
    /* an entity that does not fit entirely is not cut in half */
    cr_assert_eq(s3_xml_escape("ab&", out, 7), -1);
    cr_assert_str_eq(out, "");
    cr_assert_eq(s3_xml_escape("ab&", out, 8), 7);
    cr_assert_eq(s3_xml_escape("x", out, 1), -1);
    cr_assert_str_eq(out, "");
    cr_assert_eq(s3_xml_escape("x", NULL, 0), -1);
}

ParameterizedTestParameters(s3_xml, escape_round_trip)
{
    static struct doc_case keys[] = {
        {"wal/000000010000000000000001"},
        {"a&b"},
        {"<Key>not a tag</Key>"},
        {"&amp; stays literal"},
        {"quotes \" and ' and > and <"},
        {"\xc3\xa9t\xc3\xa9/\xe6\x97\xa5\xe6\x9c\xac/\xf0\x9f\x90\x98"},
        {"tab\tnewline\ncr\r"},
        {"]]> and <![CDATA["},
        {""},
    };

    return cr_make_param_array(struct doc_case, keys, sizeof(keys) / sizeof(keys[0]));
}

ParameterizedTest(struct doc_case *c, s3_xml, escape_round_trip)
{
    const char *key = c->doc;
    char        esc[256];
    char        doc[320];
    char        back[256];
    int         n = s3_xml_escape(key, esc, sizeof(esc));

    cr_assert_geq(n, 0);
    cr_assert_eq((size_t) n, strlen(esc));
    cr_assert_null(strchr(esc, '<'));
    cr_assert_null(strchr(esc, '\r'));
    snprintf(doc, sizeof(doc), "<Delete><Object><Key>%s</Key></Object></Delete>", esc);
    cr_assert_eq(text_of(doc, "Key", back, sizeof(back)), (int) strlen(key));
    cr_assert_str_eq(back, key);
}

/* ---- time ------------------------------------------------------------------ */

struct time_case
{
    char        s[40];
    int64_t     want;           /* -1: invalid */
};

ParameterizedTestParameters(s3_xml, time_parse)
{
    static struct time_case cases[] = {
        {"2026-11-24T13:06:11Z", INT64_C(1795525571)},
        {"2026-11-24T13:06:11.123Z", INT64_C(1795525571)},
        {"2026-11-24T13:06:11.000000Z", INT64_C(1795525571)},
        {"2026-11-24T13:06:11+00:00", INT64_C(1795525571)},
        {"2026-11-24T13:06:11+0000", INT64_C(1795525571)},
        {"2026-11-24T15:06:11+02:00", INT64_C(1795525571)},
        {"2026-11-24T08:06:11-05:00", INT64_C(1795525571)},
        {"2026-11-24T13:06:11.5+00:00", INT64_C(1795525571)},
        {"2026-11-24t13:06:11z", INT64_C(1795525571)},
        {" 2026-11-24T13:06:11Z\n", INT64_C(1795525571)},
        {"1970-01-01T00:00:00Z", 0},
        {"2000-02-29T00:00:00Z", INT64_C(951782400)},
        {"2024-02-29T12:00:00Z", INT64_C(1709208000)},
        {"2038-01-19T03:14:08Z", INT64_C(2147483648)},
        {"9999-12-31T23:59:59Z", INT64_C(253402300799)},
        {"2016-12-31T23:59:60Z", INT64_C(1483228800)},
        {"", -1},
        {"2026-11-24", -1},
        {"2026-11-24T13:06:11", -1},
        {"2026-11-24 13:06:11Z", -1},
        {"2026-11-24T13:06Z", -1},
        {"2026-13-24T13:06:11Z", -1},
        {"2026-00-24T13:06:11Z", -1},
        {"2026-11-31T13:06:11Z", -1},
        {"2026-11-00T13:06:11Z", -1},
        {"2026-02-29T13:06:11Z", -1},
        {"1900-02-29T00:00:00Z", -1},
        {"2026-11-24T24:00:00Z", -1},
        {"2026-11-24T13:60:11Z", -1},
        {"2026-11-24T13:06:61Z", -1},
        {"2026-11-24T13:06:11.Z", -1},
        {"2026-11-24T13:06:11ZZ", -1},
        {"2026-11-24T13:06:11+25:00", -1},
        {"2026-11-24T13:06:11+0", -1},
        {"1969-12-31T23:59:59Z", -1},
        {"1970-01-01T00:00:00+01:00", -1},
        {"20261124T130611Z", -1},
        {"Tue, 24 Nov 2026 13:06:11 GMT", -1},
        {"-026-11-24T13:06:11Z", -1},
        {"2026-11-24T13:06:11Z trailing", -1},
    };

    return cr_make_param_array(struct time_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct time_case *c, s3_xml, time_parse)
{
    cr_assert_eq(s3_time_parse(c->s), c->want, "\"%s\": got %lld", c->s,
                 (long long) s3_time_parse(c->s));
}

Test(s3_xml, time_parse_null)
{
    cr_assert_eq(s3_time_parse(NULL), -1);
}
