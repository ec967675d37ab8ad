/*
 * test_s3_http.c — numbers an S3 server sends are untrusted: Retry-After,
 * Content-Range and the Size of listed objects are parsed strictly and
 * clamped before the driver does arithmetic with them.
 *
 * The parsers are tested directly with hostile values.  The driver tests
 * run storage_s3 against a loopback server that answers each connection
 * with the next canned reply of a script (Connection: close, so each
 * request is one connection); under UBSan the old Retry-After arithmetic
 * was a runtime error there.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <arpa/inet.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cfg.h"
#include "clock.h"
#include "harness.h"
#include "retry.h"
#include "s3_http.h"
#include "s3_xml.h"
#include "storage.h"

#define SCRIPT_MAX 8

struct script_server
{
    int         lfd;
    int         port;
    pthread_t   thread;
    atomic_int  stop;
    const char *replies[SCRIPT_MAX];  /* NULL-terminated */
    atomic_int  served;
    char        last_request[8192];
};

static struct script_server srv;
static bool srv_started;

static void
read_request(int fd, char *buf, size_t len)
{
    size_t      have = 0;

    buf[0] = '\0';
    while (have + 1 < len && strstr(buf, "\r\n\r\n") == NULL)
    {
        ssize_t     n = recv(fd, buf + have, len - 1 - have, 0);

        if (n <= 0)
            break;
        have += (size_t) n;
        buf[have] = '\0';
    }
}

static void *
srv_main(void *arg)
{
    (void) arg;
    while (!atomic_load(&srv.stop))
    {
        struct pollfd pfd = {.fd = srv.lfd, .events = POLLIN};
        int         fd;
        int         i;
        const char *reply;

        if (poll(&pfd, 1, 50) <= 0)
            continue;
        fd = accept(srv.lfd, NULL, NULL);
        if (fd < 0)
            continue;
        read_request(fd, srv.last_request, sizeof(srv.last_request));
        i = atomic_load(&srv.served);
        reply = i < SCRIPT_MAX && srv.replies[i] != NULL ? srv.replies[i]
            : "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
        if (write(fd, reply, strlen(reply)) < 0)
            perror("write");
        atomic_fetch_add(&srv.served, 1);
        shutdown(fd, SHUT_WR);
        close(fd);
    }
    return NULL;
}

/* Serve the NULL-terminated replies, one per connection. */
static void
srv_start(const char *const *replies)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t   alen = sizeof(a);

    memset(&srv, 0, sizeof(srv));
    for (int i = 0; i < SCRIPT_MAX - 1 && replies[i] != NULL; i++)
        srv.replies[i] = replies[i];
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    srv.lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    cr_assert(srv.lfd >= 0);
    cr_assert_eq(bind(srv.lfd, (struct sockaddr *) &a, sizeof(a)), 0);
    cr_assert_eq(listen(srv.lfd, 8), 0);
    cr_assert_eq(getsockname(srv.lfd, (struct sockaddr *) &a, &alen), 0);
    srv.port = ntohs(a.sin_port);
    cr_assert_eq(pthread_create(&srv.thread, NULL, srv_main, NULL), 0);
    srv_started = true;
}

static void
srv_stop(void)
{
    if (!srv_started)
        return;
    atomic_store(&srv.stop, 1);
    pthread_join(srv.thread, NULL);
    close(srv.lfd);
    srv_started = false;
}

static void
setup(void)
{
    static const char *proxies[] = {"http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY",
                                    "all_proxy", "ALL_PROXY", "no_proxy", "NO_PROXY"};

    harness_unset_prefix("AWS_");
    for (size_t i = 0; i < sizeof(proxies) / sizeof(proxies[0]); i++)
        unsetenv(proxies[i]);
    setenv("HOME", "/nonexistent", 1);
}

static void
teardown(void)
{
    srv_stop();
}

TestSuite(s3_http, .init = setup, .fini = teardown, .timeout = 120);

/* ---- the parsers ---------------------------------------------------------- */

#define NOW_2026 1792567680     /* Wed, 21 Oct 2026 07:28:00 GMT */

/* Parameters are copied into the test process, so they hold arrays, not pointers. */
struct retry_case
{
    char        value[64];
    int         rc;
    long        ms;
};

ParameterizedTestParameters(s3_http, retry_after)
{
    static struct retry_case cases[] = {
        {"0", 0, 0},
        {"1", 0, 1000},
        {"12", 0, 12000},
        {"  12  ", 0, 12000},
        {"\t3\t", 0, 3000},
        {"20", 0, 20000},
        {"21", 0, S3_BACKOFF_MAX_MS},
        {"0000000000000000000000000000007", 0, 7000},
        {"9223372036854775807", 0, S3_BACKOFF_MAX_MS},
        {"9223372036854775808", 0, S3_BACKOFF_MAX_MS},
        {"99999999999999999999", 0, S3_BACKOFF_MAX_MS},
        {"18446744073709551617000", 0, S3_BACKOFF_MAX_MS},
        /* the date form, against NOW_2026 */
        {"Wed, 21 Oct 2026 07:28:05 GMT", 0, 5000},
        {"Wed, 21 Oct 2026 07:28:00 GMT", 0, 0},
        {"Tue, 20 Oct 2026 07:28:00 GMT", 0, 0},
        {"Thu, 01 Jan 1970 00:00:00 GMT", 0, 0},
        {"Wed, 21 Oct 2026 08:28:00 GMT", 0, S3_BACKOFF_MAX_MS},
        {"Fri, 31 Dec 9999 23:59:59 GMT", 0, S3_BACKOFF_MAX_MS},
        /* malformed: ignored */
        {"", -1, 0},
        {"   ", -1, 0},
        {"-5", -1, 0},
        {"+5", -1, 0},
        {"-9223372036854775808", -1, 0},
        {"1e9", -1, 0},
        {"1.5", -1, 0},
        {"0x10", -1, 0},
        {"12 34", -1, 0},
        {"12abc", -1, 0},
        {"abc", -1, 0},
        {"\xff\xfe", -1, 0},
        {"Wed, 21 Oct 2026 07:28:00 UTC", -1, 0},
        {"Wed, 21 Oct 2026 07:28:00", -1, 0},
        {"Wed, 32 Oct 2026 07:28:00 GMT", -1, 0},
        {"Wed, 29 Feb 2026 07:28:00 GMT", -1, 0},
        {"Wed, 21 Foo 2026 07:28:00 GMT", -1, 0},
        {"Wed, 21 Oct 2026 24:00:00 GMT", -1, 0},
        {"Wed, 21 Oct 1969 07:28:00 GMT", -1, 0},
        {"Wed, 21 Oct 99999 07:28:00 GMT", -1, 0},
        {"Wednesday, 21-Oct-26 07:28:00 GMT", -1, 0},   /* RFC 850: obsolete */
        {"Wed Oct 21 07:28:00 2026", -1, 0},            /* asctime: obsolete */
        {"Wed, 21 Oct 2026 07:28:00 GMT x", -1, 0},
        {"Wed, 2", -1, 0},
    };

    return cr_make_param_array(struct retry_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct retry_case *c, s3_http, retry_after)
{
    long        ms = -42;

    cr_assert_eq(s3_parse_retry_after(c->value, NOW_2026, &ms), c->rc, "\"%s\"", c->value);
    cr_assert_eq(ms, c->ms, "\"%s\": %ld ms, want %ld", c->value, ms, c->ms);
}

Test(s3_http, retry_after_null)
{
    long        ms = -42;

    cr_assert_eq(s3_parse_retry_after(NULL, NOW_2026, &ms), -1);
    cr_assert_eq(ms, 0);
}

Test(s3_http, http_time)
{
    cr_assert_eq(s3_http_time_parse("Wed, 21 Oct 2026 07:28:00 GMT"), NOW_2026);
    cr_assert_eq(s3_http_time_parse("Thu, 29 Feb 2024 00:00:00 GMT"), 1709164800);
    cr_assert_eq(s3_http_time_parse("Fri, 31 Dec 9999 23:59:59 GMT"), 253402300799LL);
    cr_assert_eq(s3_http_time_parse("Thu, 01 Jan 1970 00:00:00 GMT"), 0);
    cr_assert_eq(s3_http_time_parse("Sat, 29 Feb 2025 00:00:00 GMT"), -1);
    cr_assert_eq(s3_http_time_parse("wed, 21 Oct 2026 07:28:00 GMT"), -1);
    cr_assert_eq(s3_http_time_parse(""), -1);
    cr_assert_eq(s3_http_time_parse(NULL), -1);
}

/* a parsed Retry-After, whatever the server sent, waits at most the driver's cap */
Test(s3_http, retry_after_wait_is_capped)
{
    long        ms;

    cr_assert_eq(s3_parse_retry_after("9223372036854775807", 0, &ms), 0);
    cr_assert_eq(retry_wait_ms(100, 0, ms, S3_BACKOFF_MAX_MS), S3_BACKOFF_MAX_MS);
    cr_assert_eq(retry_wait_ms(S3_BACKOFF_MAX_MS, UINT_MAX, ms, S3_BACKOFF_MAX_MS),
                 S3_BACKOFF_MAX_MS, "the backoff's jitter does not pass the cap either");
}

/* Content-MD5 (RFC 1864): the base64 of the body's MD5, as a whole header */
Test(s3_http, content_md5_header)
{
    char        h[64];

    s3_http_content_md5_header("", 0, h);
    cr_assert_str_eq(h, "Content-MD5: 1B2M2Y8AsgTpgAmY7PhCfg==");
    s3_http_content_md5_header("The quick brown fox jumps over the lazy dog", 43, h);
    cr_assert_str_eq(h, "Content-MD5: nhB9nTcrtoJr2B01QqQZ1g==");
}

Test(s3_http, u64)
{
    uint64_t    v = 42;

    cr_assert_eq(s3_parse_u64("0", INT64_MAX, &v), 0);
    cr_assert_eq(v, 0);
    cr_assert_eq(s3_parse_u64(" 12\t", INT64_MAX, &v), 0);
    cr_assert_eq(v, 12);
    cr_assert_eq(s3_parse_u64("9223372036854775807", INT64_MAX, &v), 0);
    cr_assert_eq(v, INT64_MAX);
    cr_assert_eq(s3_parse_u64("18446744073709551615", UINT64_MAX, &v), 0);
    cr_assert_eq(v, UINT64_MAX);
    v = 42;
    cr_assert_eq(s3_parse_u64("9223372036854775808", INT64_MAX, &v), -1);
    cr_assert_eq(s3_parse_u64("18446744073709551616", UINT64_MAX, &v), -1);
    cr_assert_eq(s3_parse_u64("99999999999999999999", UINT64_MAX, &v), -1);
    cr_assert_eq(s3_parse_u64("11", 10, &v), -1);
    cr_assert_eq(s3_parse_u64("-5", INT64_MAX, &v), -1);
    cr_assert_eq(s3_parse_u64("+5", INT64_MAX, &v), -1);
    cr_assert_eq(s3_parse_u64("1e9", INT64_MAX, &v), -1);
    cr_assert_eq(s3_parse_u64("1 2", INT64_MAX, &v), -1);
    cr_assert_eq(s3_parse_u64("", INT64_MAX, &v), -1);
    cr_assert_eq(s3_parse_u64("  ", INT64_MAX, &v), -1);
    cr_assert_eq(s3_parse_u64("junk", INT64_MAX, &v), -1);
    cr_assert_eq(s3_parse_u64(NULL, INT64_MAX, &v), -1);
    cr_assert_eq(v, 42, "a failed parse must not store");
}

struct range_case
{
    char        value[64];
    int         rc;
    uint64_t    first;
    uint64_t    last;
};

ParameterizedTestParameters(s3_http, content_range)
{
    static struct range_case cases[] = {
        {"bytes 0-3/10", 0, 0, 3},
        {"bytes 6-9/10", 0, 6, 9},
        {"bytes 6-9/*", 0, 6, 9},
        {"BYTES 6-9/10 ", 0, 6, 9},
        {"bytes 0-9223372036854775806/9223372036854775807", 0, 0, 9223372036854775806ULL},
        {"bytes 0-9223372036854775807/*", 0, 0, 9223372036854775807ULL},
        {"bytes 0-9223372036854775808/*", -1, 0, 0},
        {"bytes 0-99999999999999999999/*", -1, 0, 0},
        {"bytes 9-6/10", -1, 0, 0},
        {"bytes 6-10/10", -1, 0, 0},
        {"bytes -5-3/10", -1, 0, 0},
        {"bytes 0--3/10", -1, 0, 0},
        {"bytes 0-3/-10", -1, 0, 0},
        {"bytes */10", -1, 0, 0},
        {"bytes 0-3", -1, 0, 0},
        {"bytes 0-3/10x", -1, 0, 0},
        {"bytes 1e3-2e3/10", -1, 0, 0},
        {"items 0-3/10", -1, 0, 0},
        {"", -1, 0, 0},
    };

    return cr_make_param_array(struct range_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct range_case *c, s3_http, content_range)
{
    uint64_t    first = 77, last = 77;

    cr_assert_eq(s3_parse_content_range(c->value, &first, &last), c->rc, "\"%s\"", c->value);
    if (c->rc == 0)
    {
        cr_assert_eq(first, c->first, "\"%s\"", c->value);
        cr_assert_eq(last, c->last, "\"%s\"", c->value);
    }
}

/* ---- the driver ----------------------------------------------------------- */

/*
 * A driver for s3://bucket on the script server, max_retries retries, with
 * static keys or (static_keys false) whatever the AWS credential chain finds.
 */
static struct storage *
driver_with(int max_retries, bool static_keys)
{
    struct cfg_s3 c;
    struct ws_err err = {0};
    struct storage *st;

    memset(&c, 0, sizeof(c));
    snprintf(c.endpoint, sizeof(c.endpoint), "http://127.0.0.1:%d", srv.port);
    snprintf(c.region, sizeof(c.region), "us-east-1");
    c.uri_style = CFG_URI_PATH;
    if (static_keys)
    {
        snprintf(c.access_key_id, sizeof(c.access_key_id), "AKIDEXAMPLE");
        snprintf(c.secret_access_key, sizeof(c.secret_access_key), "secret");
    }
    c.verify_tls = true;
    c.connect_timeout = 5;
    c.timeout = 30;
    c.max_retries = max_retries;
    st = storage_s3_new("s3://bucket", &c, &err);
    cr_assert_not_null(st, "storage_s3_new: %s", err.msg);
    return st;
}

/* A driver for s3://bucket on the script server, static keys, max_retries retries. */
static struct storage *
driver(int max_retries)
{
    return driver_with(max_retries, true);
}

#define SLOWDOWN(retry_after) \
    "HTTP/1.1 503 Slow Down\r\nRetry-After: " retry_after "\r\n" \
    "Content-Type: application/xml\r\nContent-Length: 72\r\nConnection: close\r\n\r\n" \
    "<Error><Code>SlowDown</Code><Message>Please reduce</Message></Error>\n\n\n\n"
#define HEAD_OK \
    "HTTP/1.1 200 OK\r\nContent-Length: 7\r\nETag: \"abc\"\r\nConnection: close\r\n\r\n"

/*
 * Retry-After: 2^63-1 seconds.  Multiplying it by 1000 overflowed a long
 * (a UBSan error); now it is capped at the backoff maximum (20 s), so the
 * retry comes after about 20 s and succeeds.
 */
Test(s3_http, huge_retry_after_is_capped)
{
    static const char *const replies[] = {SLOWDOWN("9223372036854775807"), HEAD_OK, NULL};
    struct storage *st;
    struct storage_info info;
    struct ws_err err = {0};
    double      t0, waited;

    srv_start(replies);
    st = driver(1);
    t0 = clock_now_s();
    cr_assert_eq(storage_head(st, "obj", &info, &err), 0, "head: %s", err.msg);
    waited = clock_now_s() - t0;
    cr_assert_eq(info.size, 7);
    cr_assert_eq(atomic_load(&srv.served), 2);
    cr_assert(waited >= 19.0 && waited < 40.0, "waited %.1f s, want the 20 s cap", waited);
    storage_free(st);
}

/* A malformed Retry-After is ignored: the usual backoff (100-150 ms) applies. */
Test(s3_http, malformed_retry_after_keeps_backoff)
{
    static const char *const replies[] = {SLOWDOWN("1e9"), SLOWDOWN("-5"), HEAD_OK, NULL};
    struct storage *st;
    struct storage_info info;
    struct ws_err err = {0};
    double      t0, waited;

    srv_start(replies);
    st = driver(2);
    t0 = clock_now_s();
    cr_assert_eq(storage_head(st, "obj", &info, &err), 0, "head: %s", err.msg);
    waited = clock_now_s() - t0;
    cr_assert_eq(atomic_load(&srv.served), 3);
    /* taken as a delay, "1e9" would wait the 20 s cap; the margin is for a busy machine */
    cr_assert(waited < 10.0, "waited %.2f s: \"1e9\" was taken as a delay", waited);
    storage_free(st);
}

/* A Range GET answered with more bytes than asked for is refused, not passed on. */
Test(s3_http, ranged_get_longer_than_asked_is_refused)
{
    static const char *const replies[] = {
        "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-3/10\r\n"
        "Content-Length: 10\r\nETag: \"abc\"\r\nConnection: close\r\n\r\n0123456789",
        NULL
    };
    struct storage *st;
    struct filter *sink = filter_mem_new(1024);
    struct ws_err err = {0};
    size_t      len = 0;

    srv_start(replies);
    st = driver(0);
    cr_assert_eq(storage_get(st, "obj", 0, 4, sink, &err), -1, "accepted 10 bytes for 4");
    cr_assert_eq(err.code, WS_EIO, "%d: %s", err.code, err.msg);
    cr_assert(strstr(err.msg, "\"obj\"") != NULL, "%s", err.msg);
    filter_mem_data(sink, &len);
    cr_assert_leq(len, 4);
    filter_free(sink);
    storage_free(st);
}

/* A 206 for another range than the one asked for is refused. */
Test(s3_http, ranged_get_of_another_range_is_refused)
{
    static const char *const replies[] = {
        "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-3/10\r\n"
        "Content-Length: 4\r\nETag: \"abc\"\r\nConnection: close\r\n\r\n0123",
        NULL
    };
    struct storage *st;
    struct filter *sink = filter_mem_new(1024);
    struct ws_err err = {0};
    size_t      len = 0;

    srv_start(replies);
    st = driver(0);
    cr_assert_eq(storage_get(st, "obj", 6, 4, sink, &err), -1, "accepted bytes 0-3 for 6-9");
    cr_assert_eq(err.code, WS_EIO, "%d: %s", err.code, err.msg);
    filter_mem_data(sink, &len);
    cr_assert_eq(len, 0);
    filter_free(sink);
    storage_free(st);
}

/* A well-formed 206 still works. */
Test(s3_http, ranged_get_as_asked_is_delivered)
{
    static const char *const replies[] = {
        "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 6-9/10\r\n"
        "Content-Length: 4\r\nETag: \"abc\"\r\nConnection: close\r\n\r\n6789",
        NULL
    };
    struct storage *st;
    struct filter *sink = filter_mem_new(1024);
    struct ws_err err = {0};
    const unsigned char *data;
    size_t      len = 0;

    srv_start(replies);
    st = driver(0);
    cr_assert_eq(storage_get(st, "obj", 6, 4, sink, &err), 0, "%s", err.msg);
    data = filter_mem_data(sink, &len);
    cr_assert_eq(len, 4);
    cr_assert_eq(memcmp(data, "6789", 4), 0);
    cr_assert(strstr(srv.last_request, "Range: bytes=6-9\r\n") != NULL, "%s", srv.last_request);
    filter_free(sink);
    storage_free(st);
}

struct listed
{
    int         n;
    uint64_t    size;
};

static int
count_cb(const char *key, const struct storage_info *info, void *arg, struct ws_err *err)
{
    struct listed *l = arg;

    (void) key;
    (void) err;
    l->n++;
    l->size = info->size;
    return 0;
}

#define LIST_REPLY(size) \
    "HTTP/1.1 200 OK\r\nContent-Type: application/xml\r\nConnection: close\r\n\r\n" \
    "<ListBucketResult><IsTruncated>false</IsTruncated>" \
    "<Contents><Key>a</Key><Size>" size "</Size></Contents></ListBucketResult>"

/* A listed Size that is negative or not a number is a malformed reply. */
Test(s3_http, list_with_bad_size_is_malformed)
{
    static const char *const bad[] = {"-5", "1e9", "99999999999999999999", "12abc", "", "+7"};

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    {
        char        reply[1024];
        const char *replies[] = {reply, NULL};
        struct storage *st;
        struct ws_err err = {0};
        struct listed l = {0, 0};

        snprintf(reply, sizeof(reply), LIST_REPLY("%s"), bad[i]);
        srv_start(replies);
        st = driver(0);
        cr_assert_eq(storage_list(st, "", count_cb, &l, &err), -1, "Size \"%s\" accepted as %llu",
                     bad[i], (unsigned long long) l.size);
        cr_assert_eq(err.code, WS_EIO, "Size \"%s\": %d %s", bad[i], err.code, err.msg);
        cr_assert(strstr(err.msg, "Size") != NULL, "%s", err.msg);
        cr_assert_eq(l.n, 0);
        storage_free(st);
        srv_stop();
    }
}

Test(s3_http, list_with_good_size)
{
    static const char *const replies[] = {LIST_REPLY("5497558138880"), NULL};
    struct storage *st;
    struct ws_err err = {0};
    struct listed l = {0, 0};

    srv_start(replies);
    st = driver(0);
    cr_assert_eq(storage_list(st, "", count_cb, &l, &err), 0, "%s", err.msg);
    cr_assert_eq(l.n, 1);
    cr_assert_eq(l.size, 5497558138880ULL);
    storage_free(st);
}

/* ---- who retries ---------------------------------------------------------- */

#define INTERNAL_ERROR \
    "HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/xml\r\n" \
    "Content-Length: 61\r\nConnection: close\r\n\r\n" \
    "<Error><Code>InternalError</Code><Message>x</Message></Error>"

/*
 * A GET that keeps failing with 500 is tried exactly 1 + s3_max_retries
 * times by the driver, the one layer that retries an S3 request.
 */
Test(s3_http, persistent_500_is_tried_max_retries_plus_one_times)
{
    static const char *const replies[] = {INTERNAL_ERROR, INTERNAL_ERROR, INTERNAL_ERROR,
                                          INTERNAL_ERROR, INTERNAL_ERROR, NULL};
    struct storage *st;
    struct filter *sink = filter_mem_new(1024);
    struct ws_err err = {0};

    srv_start(replies);
    st = driver(2);
    cr_assert_eq(storage_get(st, "obj", 0, 0, sink, &err), -1);
    cr_assert_eq(err.code, WS_ETRANSIENT, "%d: %s", err.code, err.msg);
    cr_assert(strstr(err.msg, "giving up after 3 attempts") != NULL, "%s", err.msg);
    cr_assert_eq(atomic_load(&srv.served), 3);
    filter_free(sink);
    storage_free(st);
}

#define STS_OK \
    "HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nConnection: close\r\n\r\n" \
    "<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult><Credentials>" \
    "<SessionToken>TOKEN</SessionToken><SecretAccessKey>secret</SecretAccessKey>" \
    "<Expiration>2099-01-01T00:00:00Z</Expiration><AccessKeyId>ASIAEXAMPLE</AccessKeyId>" \
    "</Credentials></AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>"

/*
 * The credentials an S3 request needs are part of it: STS answering 503 is
 * a transient failure the driver retries (restore_command does not retry an
 * S3 request again, so without this one STS hiccup would stop recovery).
 */
Test(s3_http, transient_credential_failure_is_retried)
{
    static const char *const replies[] = {
        "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        STS_OK, HEAD_OK, NULL
    };
    char        token[64];
    struct storage *st;
    struct storage_info info;
    struct ws_err err = {0};
    FILE       *f;

    srv_start(replies);
    snprintf(token, sizeof(token), "/tmp/ws_test_s3_http_token_%d", (int) getpid());
    f = fopen(token, "w");
    cr_assert_not_null(f);
    fputs("eyJhbGciOiJSUzI1NiJ9.e30.c2ln", f);
    fclose(f);
    setenv("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/walship", 1);
    setenv("AWS_WEB_IDENTITY_TOKEN_FILE", token, 1);
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
    {
        char        sts[64];

        snprintf(sts, sizeof(sts), "http://127.0.0.1:%d/", srv.port);
        setenv("AWS_ENDPOINT_URL_STS", sts, 1);
    }
    st = driver_with(2, false);
    cr_assert_eq(storage_head(st, "obj", &info, &err), 0, "head: %d %s", err.code, err.msg);
    cr_assert_eq(info.size, 7);
    cr_assert_eq(atomic_load(&srv.served), 3);
    storage_free(st);
    unlink(token);
}
