/*
 * test_s3_sign.c — walship signs S3 requests with libcurl's SigV4 signer
 * (s3_sign_setup).  These tests send AWS's published signing examples
 * (Amazon S3 API Reference, "Signature Calculations for the Authorization
 * Header: Transferring Payload in a Single Chunk", examples GET Object, PUT
 * Object, GET Bucket Lifecycle, GET Bucket (List Objects)) through it to a
 * local capture server and compare the Authorization header with the
 * signature AWS documents.  Plus the key and query encoding rules.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "s3_http.h"

#define AK "AKIAIOSFODNN7EXAMPLE"
#define SK "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define HOST "examplebucket.s3.amazonaws.com"

struct capture
{
    int         fd;
    int         port;
    char        request[16384];
    pthread_t   thread;
};

static void *
serve_one(void *arg)
{
    struct capture *c = arg;
    int         cfd = accept(c->fd, NULL, NULL);
    size_t      have = 0;
    static const char reply[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

    if (cfd < 0)
        return NULL;
    while (have < sizeof(c->request) - 1)
    {
        ssize_t     n = read(cfd, c->request + have, sizeof(c->request) - 1 - have);
        char       *end;

        if (n <= 0)
            break;
        have += (size_t) n;
        c->request[have] = '\0';
        end = strstr(c->request, "\r\n\r\n");
        if (end != NULL)
        {
            const char *cl = strcasestr(c->request, "\r\nContent-Length:");
            size_t      body = cl ? strtoul(cl + 17, NULL, 10) : 0;

            if (have >= (size_t) (end + 4 - c->request) + body)
                break;
        }
    }
    if (write(cfd, reply, sizeof(reply) - 1) < 0)
        perror("write");
    close(cfd);
    return NULL;
}

static void
capture_start(struct capture *c)
{
    struct sockaddr_in sa;
    socklen_t   len = sizeof(sa);

    memset(c, 0, sizeof(*c));
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(bind(c->fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
    cr_assert_eq(listen(c->fd, 1), 0);
    getsockname(c->fd, (struct sockaddr *) &sa, &len);
    c->port = ntohs(sa.sin_port);
    pthread_create(&c->thread, NULL, serve_one, c);
}

static const char *
header(const char *request, const char *name, char *buf, size_t len)
{
    char        pat[128];
    const char *p, *e;

    snprintf(pat, sizeof(pat), "\r\n%s:", name);
    p = strcasestr(request, pat);
    if (p == NULL)
        return NULL;
    p += strlen(pat);
    while (*p == ' ')
        p++;
    e = strstr(p, "\r\n");
    snprintf(buf, len, "%.*s", (int) (e - p), p);
    return buf;
}

/* Send one request the way the driver does and return its Authorization header. */
static void
send_signed(const char *method, const char *path_and_query, const char *payload_hash,
            const char *const *extra, const char *body, char *auth, size_t authlen)
{
    struct capture c;
    struct s3_credentials cred;
    struct curl_slist *hl = NULL;
    char        url[512];
    char        connect_to[256];
    struct curl_slist *ct = NULL;
    CURL       *h = curl_easy_init();
    CURLcode    rc;

    capture_start(&c);
    memset(&cred, 0, sizeof(cred));
    strcpy(cred.access_key_id, AK);
    strcpy(cred.secret_access_key, SK);
    snprintf(url, sizeof(url), "http://" HOST "%s", path_and_query);
    snprintf(connect_to, sizeof(connect_to), HOST ":80:127.0.0.1:%d", c.port);
    ct = curl_slist_append(ct, connect_to);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CONNECT_TO, ct);
    for (int i = 0; extra && extra[i]; i++)
        hl = curl_slist_append(hl, extra[i]);
    cr_assert_eq(s3_sign_setup(h, "aws:amz:us-east-1:s3", &cred, payload_hash, &hl), 0);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
    if (strcmp(method, "PUT") == 0)
    {
        curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(h, CURLOPT_READFUNCTION, NULL);
        curl_easy_setopt(h, CURLOPT_READDATA, fmemopen((void *) body, strlen(body), "r"));
        curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t) strlen(body));
    }
    rc = curl_easy_perform(h);
    cr_assert_eq(rc, CURLE_OK, "%s", curl_easy_strerror(rc));
    pthread_join(c.thread, NULL);
    close(c.fd);
    cr_assert_not_null(header(c.request, "Authorization", auth, authlen),
                       "no Authorization header in:\n%s", c.request);
    curl_slist_free_all(hl);
    curl_slist_free_all(ct);
    curl_easy_cleanup(h);
}

Test(s3_sign, aws_example_get_object)
{
    char        auth[1024];
    static const char *extra[] = {"Range: bytes=0-9", "x-amz-date: 20130524T000000Z", NULL};

    send_signed("GET", "/test.txt", S3_EMPTY_SHA256, extra, NULL, auth, sizeof(auth));
    cr_assert_str_eq(auth,
                     "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
                     "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
                     "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

Test(s3_sign, aws_example_put_object)
{
    char        auth[1024];
    char        path[128];
    static const char *extra[] = {
        "Date: Fri, 24 May 2013 00:00:00 GMT", "x-amz-date: 20130524T000000Z",
        "x-amz-storage-class: REDUCED_REDUNDANCY", NULL
    };

    cr_assert_eq(s3_uri_encode("/test$file.text", true, path, sizeof(path)), 0);
    cr_assert_str_eq(path, "/test%24file.text");
    send_signed("PUT", path, "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072",
                extra, "Welcome to Amazon S3.", auth, sizeof(auth));
    cr_assert_str_eq(auth,
                     "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
                     "SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class, "
                     "Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd");
}

/* "?lifecycle" must be sent as "lifecycle=", its canonical form */
Test(s3_sign, aws_example_get_bucket_lifecycle)
{
    char        auth[1024];
    static const char *extra[] = {"x-amz-date: 20130524T000000Z", NULL};

    send_signed("GET", "/?lifecycle=", S3_EMPTY_SHA256, extra, NULL, auth, sizeof(auth));
    cr_assert_str_eq(auth,
                     "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
                     "SignedHeaders=host;x-amz-content-sha256;x-amz-date, "
                     "Signature=fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543");
}

/* parameters sorted by name, as the driver builds every query */
Test(s3_sign, aws_example_list_objects)
{
    char        auth[1024];
    static const char *extra[] = {"x-amz-date: 20130524T000000Z", NULL};

    send_signed("GET", "/?max-keys=2&prefix=J", S3_EMPTY_SHA256, extra, NULL, auth, sizeof(auth));
    cr_assert_str_eq(auth,
                     "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
                     "SignedHeaders=host;x-amz-content-sha256;x-amz-date, "
                     "Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7");
}

Test(s3_sign, session_token_is_sent_and_signed)
{
    struct capture c;
    struct s3_credentials cred;
    struct curl_slist *hl = NULL;
    CURL       *h = curl_easy_init();
    char        url[128], buf[1024];

    capture_start(&c);
    memset(&cred, 0, sizeof(cred));
    strcpy(cred.access_key_id, AK);
    strcpy(cred.secret_access_key, SK);
    strcpy(cred.session_token, "FQoGZXIvYXdzEXAMPLETOKEN");
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/bucket/key", c.port);
    curl_easy_setopt(h, CURLOPT_URL, url);
    cr_assert_eq(s3_sign_setup(h, "aws:amz:eu-west-1:s3", &cred, S3_EMPTY_SHA256, &hl), 0);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
    cr_assert_eq(curl_easy_perform(h), CURLE_OK);
    pthread_join(c.thread, NULL);
    close(c.fd);
    cr_assert_str_eq(header(c.request, "x-amz-security-token", buf, sizeof(buf)),
                     "FQoGZXIvYXdzEXAMPLETOKEN");
    header(c.request, "Authorization", buf, sizeof(buf));
    cr_assert(strstr(buf, "/eu-west-1/s3/aws4_request") != NULL, "%s", buf);
    cr_assert(strstr(buf, "x-amz-security-token") != NULL, "token not signed: %s", buf);
    cr_assert(strstr(buf, SK) == NULL);
    curl_slist_free_all(hl);
    curl_easy_cleanup(h);
}

struct enc_case
{
    const char *in;
    bool        keep_slash;
    const char *out;
};

Test(s3_sign, uri_encoding)
{
    static const struct enc_case cases[] = {
        {"wal/00000001/000000010000000000000001", true, "wal/00000001/000000010000000000000001"},
        {"a b+c=d@e", true, "a%20b%2Bc%3Dd%40e"},
        {"wal/x", false, "wal%2Fx"},
        {"~-._AZaz09", false, "~-._AZaz09"},
        {"caf\xc3\xa9", true, "caf%C3%A9"},
        {"%2f", true, "%252f"},
        {"", true, ""},
    };
    char        out[256];

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
    {
        cr_assert_eq(s3_uri_encode(cases[i].in, cases[i].keep_slash, out, sizeof(out)), 0);
        cr_assert_str_eq(out, cases[i].out, "encoding \"%s\"", cases[i].in);
    }
    cr_assert_eq(s3_uri_encode("a b", true, out, 4), -1, "must not truncate");
}
