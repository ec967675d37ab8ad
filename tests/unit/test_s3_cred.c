/*
 * test_s3_cred.c — the AWS credential chain (s3_cred.h).
 *
 * Every test runs in its own forked process.  .init clears every AWS_*
 * variable and the proxy variables, points HOME at a fresh scratch directory,
 * and points AWS_EC2_METADATA_SERVICE_ENDPOINT at a closed port on 127.0.0.1,
 * so no test can reach the real 169.254.169.254.  Tests of web identity and
 * instance metadata start `srv`, a loopback HTTP server in a thread that
 * plays STS and IMDSv2 (checking method, path and headers, and counting
 * requests).  Error messages are always scanned for the secrets.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "harness.h"
#include "s3_cred.h"


/* ---- fixture -------------------------------------------------------------- */

static char scratch[64];

/* Path of `name` in the scratch directory (a few rotating buffers). */
static const char *
tpath(const char *name)
{
    static char bufs[8][PATH_MAX];
    static int  next;
    char       *b = bufs[next++ % 8];

    snprintf(b, PATH_MAX, "%s/%s", scratch, name);
    return b;
}

static const char *
mkfile(const char *name, const char *content)
{
    const char *p = tpath(name);
    int         fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    size_t      len = strlen(content);

    cr_assert(fd >= 0, "open %s: %s", p, strerror(errno));
    cr_assert_eq(write(fd, content, len), (ssize_t) len);
    close(fd);
    return p;
}

/* A TCP port on 127.0.0.1 that nothing listens on (bound, then released). */
static int
closed_port(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t   alen = sizeof(a);
    int         fd = socket(AF_INET, SOCK_STREAM, 0);
    int         port;

    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert(fd >= 0);
    cr_assert_eq(bind(fd, (struct sockaddr *) &a, sizeof(a)), 0);
    cr_assert_eq(getsockname(fd, (struct sockaddr *) &a, &alen), 0);
    port = ntohs(a.sin_port);
    close(fd);
    return port;
}

static void setenv_fmt(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
setenv_fmt(const char *name, const char *fmt, ...)
{
    char        buf[PATH_MAX];
    va_list     ap;

    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    cr_assert_eq(setenv(name, buf, 1), 0);
}

static void srv_stop(void);

static void
setup(void)
{
    static const char *proxies[] = {"http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY",
                                    "all_proxy", "ALL_PROXY", "no_proxy", "NO_PROXY"};

    harness_unset_prefix("AWS_");
    for (size_t i = 0; i < sizeof(proxies) / sizeof(proxies[0]); i++)
        unsetenv(proxies[i]);
    strcpy(scratch, "/tmp/ws_test_s3_cred_XXXXXX");
    cr_assert_not_null(mkdtemp(scratch));
    cr_assert_eq(mkdir(tpath(".aws"), 0700), 0);
    setenv("HOME", scratch, 1);
    /* never the real instance metadata service */
    setenv_fmt("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:%d", closed_port());
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void) st;
    (void) flag;
    (void) ftw;
    return remove(path);
}

static void
teardown(void)
{
    srv_stop();
    if (scratch[0] != '\0')
        nftw(scratch, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

TestSuite(s3_cred, .init = setup, .fini = teardown, .timeout = 60);

/* No secret value appears in any text of err. */
static void
assert_no_secret(const struct ws_err *err, const char *secret)
{
    cr_assert_null(strstr(err->msg, secret), "secret in msg: %s", err->msg);
    cr_assert_null(strstr(err->detail, secret), "secret in detail: %s", err->detail);
    cr_assert_null(strstr(err->hint, secret), "secret in hint: %s", err->hint);
}

static struct s3_cred_settings
no_settings(void)
{
    struct s3_cred_settings s = {
        .access_key_id = "", .secret_access_key = "", .session_token = "",
        .region = "", .ca_file = "", .verify_tls = 1, .timeout_s = 10
    };

    return s;
}

/* New provider from settings + environment, then one s3_cred_get. */
static int
get_once(const struct s3_cred_settings *s, struct s3_credentials *c, struct ws_err *err)
{
    struct s3_cred_provider *p = s3_cred_provider_new(s, err);
    int         rc;

    if (p == NULL)
        return -1;
    rc = s3_cred_get(p, c, err);
    s3_cred_provider_free(p);
    return rc;
}

/* ---- the loopback STS / IMDS server --------------------------------------------- */

#define ROLE_NAME       "walship-role"
#define IMDS_KEY        "ASIAIMDSEXAMPLE00001"
#define IMDS_SECRET     "imds/secret+key=ZZZZZZZZZZZZZZZZZZZZZZZ"
#define IMDS_TOKEN      "IMDS\"SESSION\\TOKEN/AQoDYXdzEXAMPLE"
#define STS_KEY         "ASIASTSEXAMPLE000001"
#define STS_SECRET      "sts/secret+key=YYYYYYYYYYYYYYYYYYYYYYYYYY"
#define STS_TOKEN       "FwoGZXIvYXdzEXAMPLESESSIONTOKEN+/=="
#define WEB_TOKEN       "eyJhbGciOiJSUzI1NiIsImtpZCI6IjEyMyJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6ZGI6d2Fsc2hpcCJ9.c2lnbmF0dXJlLXZhbHVlLXNlY3JldA"
#define ROLE_ARN        "arn:aws:iam::123456789012:role/walship"

enum imds_mode
{
    IMDS_OK,
    IMDS_NO_V2,                 /* PUT /latest/api/token answers 403 */
    IMDS_NO_ROLE,               /* no role attached: 404 on the list */
    IMDS_FAIL_CREDS,            /* 500 on the role's credentials */
    IMDS_CODE_FAILED,           /* Code is not "Success" */
    IMDS_BAD_JSON,              /* a truncated document */
    IMDS_UNICODE,               /* \\u escapes, a surrogate pair */
    IMDS_LONE_SURROGATE         /* an invalid \\u escape */
};

struct server
{
    int         started;
    int         lfd;
    int         port;
    pthread_t   thread;
    atomic_int  stop;
    pthread_mutex_t mu;

    /* behaviour (set before requests; read under mu) */
    int         imds;           /* enum imds_mode */
    int         sts_error;      /* answer STS with an ErrorResponse echoing the token */
    int         sts_status;     /* HTTP status of that error */
    int64_t     expires_in;     /* seconds from now for Expiration */

    /* what happened (under mu) */
    int         requests;
    int         token_puts;
    int         role_lists;
    int         role_gets;
    int         sts_posts;
    int         unauthorized;   /* GETs without a valid token */
    int         token_serial;
    char        current_token[64];
    char        sts_body[8192];
    char        sts_content_type[128];
};

static struct server srv;

/* Case-insensitive header lookup in the request head; value copied into out. */
static int
header_value(const char *head, const char *name, char *out, size_t outlen)
{
    size_t      nlen = strlen(name);

    for (const char *l = strstr(head, "\r\n"); l != NULL; l = strstr(l + 2, "\r\n"))
    {
        const char *h = l + 2;

        if (strncasecmp(h, name, nlen) == 0 && h[nlen] == ':')
        {
            const char *v = h + nlen + 1;
            size_t      vlen;

            while (*v == ' ')
                v++;
            vlen = strcspn(v, "\r\n");
            if (vlen >= outlen)
                vlen = outlen - 1;
            memcpy(out, v, vlen);
            out[vlen] = '\0';
            return 1;
        }
    }
    return 0;
}

static void
respond(int fd, int status, const char *ctype, const char *body)
{
    char        head[512];
    size_t      blen = strlen(body);
    int         n = snprintf(head, sizeof(head),
                             "HTTP/1.1 %d X\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                             "Connection: close\r\n\r\n", status, ctype, blen);

    send(fd, head, (size_t) n, MSG_NOSIGNAL);
    send(fd, body, blen, MSG_NOSIGNAL);
}

static void
iso_time(int64_t t, char *buf, size_t size)
{
    time_t      tt = (time_t) t;
    struct tm   tm;

    gmtime_r(&tt, &tm);
    strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void
handle_imds(int fd, const char *method, const char *path, const char *head)
{
    char        tok[128];
    int         have_tok = header_value(head, "X-aws-ec2-metadata-token", tok, sizeof(tok));
    char        body[2048];
    char        exp[32];

    pthread_mutex_lock(&srv.mu);
    if (strcmp(path, "/latest/api/token") == 0)
    {
        char        ttl[32];

        if (strcmp(method, "PUT") != 0)
            respond(fd, 405, "text/plain", "");
        else if (!header_value(head, "X-aws-ec2-metadata-token-ttl-seconds", ttl, sizeof(ttl)) ||
                 strcmp(ttl, "21600") != 0)
            respond(fd, 400, "text/plain", "missing ttl");
        else if (srv.imds == IMDS_NO_V2)
            respond(fd, 403, "text/plain", "");
        else
        {
            srv.token_puts++;
            snprintf(srv.current_token, sizeof(srv.current_token),
                     "AQAEAimds-session-token-%d==", ++srv.token_serial);
            respond(fd, 200, "text/plain", srv.current_token);
        }
        goto out;
    }
    /* IMDSv2 only: every GET needs the token from the latest PUT */
    if (strcmp(method, "GET") != 0)
    {
        respond(fd, 405, "text/plain", "");
        goto out;
    }
    if (!have_tok || srv.current_token[0] == '\0' || strcmp(tok, srv.current_token) != 0)
    {
        srv.unauthorized++;
        respond(fd, 401, "text/plain", "");
        goto out;
    }
    if (strcmp(path, "/latest/meta-data/iam/security-credentials/") == 0)
    {
        srv.role_lists++;
        if (srv.imds == IMDS_NO_ROLE)
            respond(fd, 404, "text/html", "<html>not found</html>");
        else
            respond(fd, 200, "text/plain", ROLE_NAME "\n");
        goto out;
    }
    if (strcmp(path, "/latest/meta-data/iam/security-credentials/" ROLE_NAME) == 0)
    {
        srv.role_gets++;
        iso_time((int64_t) time(NULL) + srv.expires_in, exp, sizeof(exp));
        switch (srv.imds)
        {
            case IMDS_FAIL_CREDS:
                respond(fd, 500, "text/plain", "oops");
                break;
            case IMDS_CODE_FAILED:
                respond(fd, 200, "application/json",
                        "{\"Code\":\"AssumeRoleUnauthorizedAccess\",\"Message\":\"nope\"}");
                break;
            case IMDS_BAD_JSON:
                respond(fd, 200, "application/json",
                        "{\"Code\":\"Success\",\"AccessKeyId\":\"" IMDS_KEY "\",\"Secret");
                break;
            case IMDS_UNICODE:
            case IMDS_LONE_SURROGATE:
                snprintf(body, sizeof(body),
                         "{\"Code\":\"Success\",\"AccessKeyId\":\"\\u0041KIA\","
                         "\"SecretAccessKey\":\"caf\\u00e9 \\ud83d\\ude00 \xe2\x82\xac%s\","
                         "\"Token\":\"t\\u000a\\t\\b\\f\\r\","
                         "\"Expiration\":\"%s\"}",
                         srv.imds == IMDS_LONE_SURROGATE ? "\\udc00" : "", exp);
                respond(fd, 200, "application/json", body);
                break;
            default:
                /* a nested AccessKeyId first, escapes in the values, pretty-printed */
                snprintf(body, sizeof(body),
                         "{\n  \"Code\" : \"Success\",\n"
                         "  \"Nested\" : {\"AccessKeyId\": \"WRONG\", \"List\": [1, \"}\", {}]},\n"
                         "  \"LastUpdated\" : \"2026-11-24T13:00:00Z\",\n"
                         "  \"Type\" : \"AWS-HMAC\",\n"
                         "  \"Count\" : 3, \"Flag\": true, \"Nothing\": null,\n"
                         "  \"AccessKeyId\" : \"%s\",\n"
                         "  \"SecretAccessKey\" : \"imds\\/secret+key=ZZZZZZZZZZZZZZZZZZZZZZZ\",\n"
                         "  \"Token\" : \"IMDS\\\"SESSION\\\\TOKEN\\/AQoDYXdzEXAMPLE\",\n"
                         "  \"Expiration\" : \"%s\"\n}\n", IMDS_KEY, exp);
                respond(fd, 200, "application/json", body);
                break;
        }
        goto out;
    }
    respond(fd, 404, "text/plain", "");

out:
    pthread_mutex_unlock(&srv.mu);
}

static void
handle_sts(int fd, const char *head, const char *body)
{
    char        doc[4096];
    char        exp[32];

    pthread_mutex_lock(&srv.mu);
    srv.sts_posts++;
    snprintf(srv.sts_body, sizeof(srv.sts_body), "%s", body);
    if (!header_value(head, "Content-Type", srv.sts_content_type, sizeof(srv.sts_content_type)))
        srv.sts_content_type[0] = '\0';
    if (srv.sts_error)
    {
        /* a hostile or careless server repeating the token and its claims */
        snprintf(doc, sizeof(doc),
                 "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n"
                 "  <Error>\n    <Type>Sender</Type>\n"
                 "    <Code>%s</Code>\n"
                 "    <Message>Token %s is not valid; claims eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6ZGI6d2Fsc2hpcCJ9</Message>\n"
                 "  </Error>\n  <RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId>\n"
                 "</ErrorResponse>\n",
                 srv.sts_status >= 500 ? "ServiceUnavailable" : "InvalidIdentityToken",
                 WEB_TOKEN);
        respond(fd, srv.sts_status, "text/xml", doc);
    }
    else
    {
        iso_time((int64_t) time(NULL) + srv.expires_in, exp, sizeof(exp));
        snprintf(doc, sizeof(doc),
                 "<AssumeRoleWithWebIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n"
                 "  <AssumeRoleWithWebIdentityResult>\n"
                 "    <SubjectFromWebIdentityToken>system:serviceaccount:db:walship</SubjectFromWebIdentityToken>\n"
                 "    <AssumedRoleUser>\n"
                 "      <Arn>arn:aws:sts::123456789012:assumed-role/walship/walship-test</Arn>\n"
                 "      <AssumedRoleId>AROAEXAMPLE:walship-test</AssumedRoleId>\n"
                 "    </AssumedRoleUser>\n"
                 "    <Credentials>\n"
                 "      <SessionToken>%s</SessionToken>\n"
                 "      <SecretAccessKey>%s</SecretAccessKey>\n"
                 "      <Expiration>%s</Expiration>\n"
                 "      <AccessKeyId>%s</AccessKeyId>\n"
                 "    </Credentials>\n"
                 "    <Audience>sts.amazonaws.com</Audience>\n"
                 "  </AssumeRoleWithWebIdentityResult>\n"
                 "  <ResponseMetadata><RequestId>ad4156e9</RequestId></ResponseMetadata>\n"
                 "</AssumeRoleWithWebIdentityResponse>\n",
                 STS_TOKEN, STS_SECRET, exp, STS_KEY);
        respond(fd, 200, "text/xml", doc);
    }
    pthread_mutex_unlock(&srv.mu);
}

static void
handle_connection(int fd)
{
    char        req[32768];
    size_t      len = 0;
    char       *end = NULL;
    char        method[16];
    char        path[512];
    char        cl[32];
    size_t      bodylen = 0;

    while (end == NULL)
    {
        ssize_t     n;

        if (len + 1 >= sizeof(req))
            return;
        n = recv(fd, req + len, sizeof(req) - 1 - len, 0);
        if (n <= 0)
            return;
        len += (size_t) n;
        req[len] = '\0';
        end = strstr(req, "\r\n\r\n");
    }
    if (header_value(req, "Content-Length", cl, sizeof(cl)))
        bodylen = strtoul(cl, NULL, 10);
    while (len < (size_t) (end + 4 - req) + bodylen && len + 1 < sizeof(req))
    {
        ssize_t     n = recv(fd, req + len, sizeof(req) - 1 - len, 0);

        if (n <= 0)
            return;
        len += (size_t) n;
        req[len] = '\0';
    }
    if (sscanf(req, "%15s %511s", method, path) != 2)
        return;
    pthread_mutex_lock(&srv.mu);
    srv.requests++;
    pthread_mutex_unlock(&srv.mu);

    {
        /* the head with its last CRLF (header_value wants one before each header) */
        char        head[32768];
        size_t      hlen = (size_t) (end + 2 - req);

        memcpy(head, req, hlen);
        head[hlen] = '\0';
        if (strncmp(path, "/latest/", 8) == 0)
            handle_imds(fd, method, path, head);
        else if (strcmp(method, "POST") == 0 && strcmp(path, "/") == 0)
            handle_sts(fd, head, end + 4);
        else
            respond(fd, 404, "text/plain", "");
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

        if (poll(&pfd, 1, 50) <= 0)
            continue;
        fd = accept(srv.lfd, NULL, NULL);
        if (fd < 0)
            continue;
        handle_connection(fd);
        shutdown(fd, SHUT_WR);
        close(fd);
    }
    return NULL;
}

static void
srv_start(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t   alen = sizeof(a);

    memset(&srv, 0, sizeof(srv));
    pthread_mutex_init(&srv.mu, NULL);
    srv.expires_in = 3600;
    srv.sts_status = 400;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    srv.lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    cr_assert(srv.lfd >= 0);
    cr_assert_eq(bind(srv.lfd, (struct sockaddr *) &a, sizeof(a)), 0);
    cr_assert_eq(listen(srv.lfd, 16), 0);
    cr_assert_eq(getsockname(srv.lfd, (struct sockaddr *) &a, &alen), 0);
    srv.port = ntohs(a.sin_port);
    cr_assert_eq(pthread_create(&srv.thread, NULL, srv_main, NULL), 0);
    srv.started = 1;
    setenv_fmt("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:%d", srv.port);
    setenv_fmt("AWS_ENDPOINT_URL_STS", "http://127.0.0.1:%d", srv.port);
}

static void
srv_stop(void)
{
    if (!srv.started)
        return;
    atomic_store(&srv.stop, 1);
    pthread_join(srv.thread, NULL);
    close(srv.lfd);
    pthread_mutex_destroy(&srv.mu);
    srv.started = 0;
}

/* Read a counter under the lock. */
static int
srv_count(const int *field)
{
    int         v;

    pthread_mutex_lock(&srv.mu);
    v = *field;
    pthread_mutex_unlock(&srv.mu);
    return v;
}

static void
srv_set(int *field, int value)
{
    pthread_mutex_lock(&srv.mu);
    *field = value;
    pthread_mutex_unlock(&srv.mu);
}

static void
web_identity_env(void)
{
    setenv("AWS_ROLE_ARN", ROLE_ARN, 1);
    setenv("AWS_WEB_IDENTITY_TOKEN_FILE", mkfile("token", WEB_TOKEN "\n"), 1);
    setenv("AWS_ROLE_SESSION_NAME", "walship-test", 1);
}

/* ---- settings and environment ----------------------------------------------- */

Test(s3_cred, settings_used)
{
    struct s3_cred_settings s = no_settings();
    struct s3_credentials c;
    struct ws_err err = WS_ERR_INIT;

    s.access_key_id = "AKIASETTINGS00000001";
    s.secret_access_key = "settings-secret";
    s.session_token = "settings-token";
    setenv("AWS_ACCESS_KEY_ID", "AKIAENV", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "env-secret", 1);
    cr_assert_eq(get_once(&s, &c, &err), 0, "%s", err.msg);
    cr_assert_str_eq(c.source, "settings");
    cr_assert_str_eq(c.access_key_id, "AKIASETTINGS00000001");
    cr_assert_str_eq(c.secret_access_key, "settings-secret");
    cr_assert_str_eq(c.session_token, "settings-token");
    cr_assert_eq(c.expiration, 0);
}

Test(s3_cred, settings_partial)
{
    struct s3_cred_settings s = no_settings();
    struct ws_err err = WS_ERR_INIT;

    s.access_key_id = "AKIASETTINGS00000001";
    cr_assert_null(s3_cred_provider_new(&s, &err));
    cr_assert_eq(err.code, WS_ECONFIG, "%s", err.msg);
    cr_assert(strstr(err.msg, "s3_secret_access_key") != NULL, "%s", err.msg);

    err_clear(&err);
    s = no_settings();
    s.secret_access_key = "only-the-secret-value";
    cr_assert_null(s3_cred_provider_new(&s, &err));
    cr_assert_eq(err.code, WS_ECONFIG);
    cr_assert(strstr(err.msg, "s3_access_key_id") != NULL, "%s", err.msg);
    assert_no_secret(&err, "only-the-secret-value");

    err_clear(&err);
    s = no_settings();
    s.session_token = "only-the-session-token";
    cr_assert_null(s3_cred_provider_new(&s, &err));
    cr_assert_eq(err.code, WS_ECONFIG);
    assert_no_secret(&err, "only-the-session-token");
}

Test(s3_cred, settings_null_strings)
{
    struct s3_cred_settings s = {0};
    struct s3_credentials c;
    struct ws_err err = WS_ERR_INIT;

    setenv("AWS_ACCESS_KEY_ID", "AKIAENV", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "env-secret", 1);
    cr_assert_eq(get_once(&s, &c, &err), 0, "%s", err.msg);
    cr_assert_str_eq(c.source, "environment");
}

Test(s3_cred, environment_used)
{
    struct s3_cred_settings s = no_settings();
    struct s3_credentials c;
    struct ws_err err = WS_ERR_INIT;

    setenv("AWS_ACCESS_KEY_ID", "AKIAENV0000000000001", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "env-secret", 1);
    setenv("AWS_SESSION_TOKEN", "env-session-token", 1);
    mkfile(".aws/credentials", "[default]\naws_access_key_id = AKIAFILE\n"
           "aws_secret_access_key = file-secret\n");
    cr_assert_eq(get_once(&s, &c, &err), 0, "%s", err.msg);
    cr_assert_str_eq(c.source, "environment");
    cr_assert_str_eq(c.access_key_id, "AKIAENV0000000000001");
    cr_assert_str_eq(c.secret_access_key, "env-secret");
    cr_assert_str_eq(c.session_token, "env-session-token");
    cr_assert_eq(c.expiration, 0);
}

Test(s3_cred, environment_read_at_new)
{
    struct s3_cred_settings s = no_settings();
    struct s3_credentials c;
    struct ws_err err = WS_ERR_INIT;
    struct s3_cred_provider *p;

    setenv("AWS_ACCESS_KEY_ID", "AKIAENV0000000000001", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "env-secret", 1);
    p = s3_cred_provider_new(&s, &err);
    cr_assert_not_null(p, "%s", err.msg);
    setenv("AWS_ACCESS_KEY_ID", "AKIACHANGED", 1);
    s3_cred_invalidate(p);
    cr_assert_eq(s3_cred_get(p, &c, &err), 0, "%s", err.msg);
    cr_assert_str_eq(c.access_key_id, "AKIAENV0000000000001");
    s3_cred_provider_free(p);
}

Test(s3_cred, environment_partial)
{
    struct s3_cred_settings s = no_settings();
    struct s3_credentials c;
    struct ws_err err = WS_ERR_INIT;

    setenv("AWS_ACCESS_KEY_ID", "AKIAENV0000000000001", 1);
    cr_assert_eq(get_once(&s, &c, &err), -1);
    cr_assert_eq(err.code, WS_ECONFIG, "%s", err.msg);
    cr_assert(strstr(err.msg, "AWS_SECRET_ACCESS_KEY") != NULL, "%s", err.msg);

    unsetenv("AWS_ACCESS_KEY_ID");
    setenv("AWS_SECRET_ACCESS_KEY", "env-secret-all-alone", 1);
    err_clear(&err);
    cr_assert_eq(get_once(&s, &c, &err), -1);
    cr_assert_eq(err.code, WS_ECONFIG, "%s", err.msg);
    cr_assert(strstr(err.msg, "AWS_ACCESS_KEY_ID") != NULL, "%s", err.msg);
    assert_no_secret(&err, "env-secret-all-alone");
}

Test(s3_cred, environment_empty_is_unset)
{
    struct s3_cred_settings s = no_settings();
    struct s3_credentials c;
    struct ws_err err = WS_ERR_INIT;

    setenv("AWS_ACCESS_KEY_ID", "", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "", 1);
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
    cr_assert_eq(get_once(&s, &c, &err), -1);
    cr_assert_eq(err.code, WS_EAUTH, "%s", err.msg);
}

/* ---- shared files --------------------------------------------------------------- */

Test(s3_cred, files_default_profile)
{
    struct s3_cred_settings s = no_settings();
    struct s3_credentials c;
    struct ws_err err = WS_ERR_INIT;

    mkfile(".aws/credentials",
           "[other]\naws_access_key_id = AKIAOTHER\naws_secret_access_key = other-secret\n"
           "[default]\naws_access_key_id = AKIADEFAULT\naws_secret_access_key = default-secret\n");
    cr_assert_eq(get_once(&s, &c, &err), 0, "%s", err.msg);
    cr_assert_str_eq(c.source, "profile default");
    cr_assert_str_eq(c.access_key_id, "AKIADEFAULT");
    cr_assert_str_eq(c.secret_access_key, "default-secret");
    cr_assert_str_eq(c.session_token, "");
    cr_assert_eq(c.expiration, 0);
}

Test(s3_cred, files_named_profile)
{
    struct s3_cred_settings s = no_settings();
    struct s3_credentials c;
    struct ws_err err = WS_ERR_INIT;

    mkfile(".aws/credentials",
           "[default]\naws_access_key_id = AKIADEFAULT\naws_secret_access_key = default-secret\n"
           "[walship]\naws_access_key_id = AKIAWALSHIP\naws_secret_access_key = walship-secret\n");
    setenv("AWS_PROFILE", "walship", 1);
    cr_assert_eq(get_once(&s, &c, &err), 0, "%s", err.msg);
    cr_assert_str_eq(c.source, "profile walship");
    cr_assert_str_eq(c.access_key_id, "AKIAWALSHIP");
    cr_assert_str_eq(c.secret_access_key, "walship-secret");
}

Test(s3_cred, files_config_only_profile)
{
    struct s3_cred_settings s = no_settings();
    struct s3_credentials c;
    struct ws_err err = WS_ERR_INIT;

    /* in the config file a bare [walship] is not the profile; [profile walship] is */
    mkfile(".aws/config",
           "[walship]\naws_access_key_id = AKIAWRONG\naws_secret_access_key = wrong\n"
           "[profile   walship]\nregion = eu-west-3\naws_access_key_id = AKIACONFIG\n"
           "aws_secret_access_key = config-secret\n");
    setenv("AWS_PROFILE", "walship", 1);
    cr_assert_eq(get_once(&s, &c, &err), 0, "%s", err.msg);
    cr_assert_str_eq(c.source, "profile walship");
    cr_assert_str_eq(c.access_key_id, "AKIACONFIG");
    cr_assert_str_eq(c.secret_access_key, "config-secret");
}

Test(s3_cred, files_config_default_section)
{
    struct s3_credentials c;
    char        region[64];
    struct ws_err err = WS_ERR_INIT;
    const char *cfg = mkfile("config",
                             "[profile default]\nregion = ap-south-1\n"
                             "[default]\naws_access_key_id = AKIADEF\n"
                             "aws_secret_access_key = def-secret\n");

    cr_assert_eq(s3_cred_from_files(NULL, cfg, "default", &c, region, sizeof(region), &err), 0,
                 "%s", err.msg);
    cr_assert_str_eq(c.access_key_id, "AKIADEF");
    cr_assert_str_eq(region, "ap-south-1");
    /* a config section named [profile] alone selects nothing */
    cfg = mkfile("config2", "[profile]\naws_access_key_id = A\naws_secret_access_key = B\n");
    cr_assert_eq(s3_cred_from_files(NULL, cfg, "profile", &c, NULL, 0, &err), -1);
    cr_assert_eq(err.code, WS_ENOTFOUND);
}

Test(s3_cred, files_credentials_override_config)
{
    struct s3_credentials c;
    char        region[64];
    struct ws_err err = WS_ERR_INIT;
    const char *cred = mkfile("credentials",
                              "[walship]\naws_access_key_id = AKIACRED\n"
                              "aws_secret_access_key = cred-secret\n");
    const char *cfg = mkfile("config",
                             "[profile walship]\naws_access_key_id = AKIACFG\n"
                             "aws_secret_access_key = cfg-secret\n"
                             "aws_session_token = cfg-token-not-for-cred-keys\n"
                             "region = eu-central-1\n");

    cr_assert_eq(s3_cred_from_files(cred, cfg, "walship", &c, region, sizeof(region), &err), 0,
                 "%s", err.msg);
    cr_assert_str_eq(c.access_key_id, "AKIACRED");
    cr_assert_str_eq(c.secret_access_key, "cred-secret");
    /* the config file's token belongs to the config file's keys */
    cr_assert_str_eq(c.session_token, "");
    cr_assert_str_eq(region, "eu-central-1");
    cr_assert_str_eq(c.source, "profile walship");
}

Test(s3_cred, files_comments_and_whitespace)
{
    struct s3_credentials c;
    char        region[64];
    struct ws_err err = WS_ERR_INIT;
    const char *cred = mkfile("credentials",
                              "# comment at the top\r\n"
                              "; another comment\r\n"
                              "\r\n"
                              "  [ walship ]   # trailing comment\r\n"
                              "\taws_access_key_id=AKIASPACES   \r\n"
                              "aws_secret_access_key   =   a/b+c=d ; inline comment\r\n"
                              "   \r\n"
                              "# aws_session_token = commented-out\r\n"
                              "AWS_Session_Token = tok#en;with=chars # comment\r\n"
                              "unrelated_key = whatever\r\n");
    const char *cfg = mkfile("config",
                             "[profile walship]\n"
                             "region = us-west-2   # comment\n"
                             "s3 =\n"
                             "    addressing_style = path\n"
                             "    region = not-this-one\n"
                             "\taws_access_key_id = not-this-either\n"
                             "[sso-session x]\n"
                             "sso_region = us-east-1\n");

    cr_assert_eq(s3_cred_from_files(cred, cfg, "walship", &c, region, sizeof(region), &err), 0,
                 "%s", err.msg);
    cr_assert_str_eq(c.access_key_id, "AKIASPACES");
    cr_assert_str_eq(c.secret_access_key, "a/b+c=d");
    cr_assert_str_eq(c.session_token, "tok#en;with=chars");
    cr_assert_str_eq(region, "us-west-2");
}

Test(s3_cred, files_session_token)
{
    struct s3_cred_settings s = no_settings();
    struct s3_credentials c;
    struct ws_err err = WS_ERR_INIT;

    mkfile(".aws/credentials",
           "[default]\naws_access_key_id = ASIATEMP\naws_secret_access_key = temp-secret\n"
           "aws_session_token = FwoGZXIvYXdzEJr//////////wEaDOJ3+EXAMPLE==\n");
    cr_assert_eq(get_once(&s, &c, &err), 0, "%s", err.msg);
    cr_assert_str_eq(c.session_token, "FwoGZXIvYXdzEJr//////////wEaDOJ3+EXAMPLE==");
}

Test(s3_cred, files_env_paths)
{
    struct s3_cred_settings s = no_settings();
    struct s3_credentials c;
    struct ws_err err = WS_ERR_INIT;

    /* the default files exist but the variables point elsewhere */
    mkfile(".aws/credentials", "[default]\naws_access_key_id = AKIAHOME\n"
           "aws_secret_access_key = home-secret\n");
    mkfile("elsewhere", "[default]\naws_access_key_id = AKIAELSEWHERE\n"
           "aws_secret_access_key = elsewhere-secret\n");
    setenv("AWS_SHARED_CREDENTIALS_FILE", "~/elsewhere", 1);
    setenv("AWS_CONFIG_FILE", tpath("no-such-config"), 1);
    cr_assert_eq(get_once(&s, &c, &err), 0, "%s", err.msg);
    cr_assert_str_eq(c.access_key_id, "AKIAELSEWHERE");
}

Test(s3_cred, files_region)
{
    char        region[64] = "junk";
    const char *cfg = mkfile("config",
                             "[default]\nregion = us-east-2\n"
                             "[profile eu]\nregion=eu-north-1\n");

    s3_cred_profile_region(cfg, "default", region, sizeof(region));
    cr_assert_str_eq(region, "us-east-2");
    s3_cred_profile_region(cfg, "eu", region, sizeof(region));
    cr_assert_str_eq(region, "eu-north-1");
    s3_cred_profile_region(cfg, "none", region, sizeof(region));
    cr_assert_str_eq(region, "");
    s3_cred_profile_region(tpath("missing"), "default", region, sizeof(region));
    cr_assert_str_eq(region, "");
    s3_cred_profile_region(NULL, "default", region, sizeof(region));
    cr_assert_str_eq(region, "");
    /* malformed: no region, no crash */
    cfg = mkfile("bad", "[default\nregion = x\n");
    s3_cred_profile_region(cfg, "default", region, sizeof(region));
    cr_assert_str_eq(region, "");
}

Test(s3_cred, files_malformed_line)
{
    struct s3_cred_settings s = no_settings();
    struct s3_credentials c;
    struct ws_err err = WS_ERR_INIT;
    const char *path;

    path = mkfile(".aws/credentials",
                  "[default]\naws_access_key_id = AKIADEFAULT\n"
                  "# the secret lost its '='\n"
                  "aws_secret_access_key SECRETVALUEONALINE\n");
    cr_assert_eq(get_once(&s, &c, &err), -1);
    cr_assert_eq(err.code, WS_ECONFIG, "%s", err.msg);
    cr_assert(strstr(err.msg, path) != NULL, "%s", err.msg);
    cr_assert(strstr(err.msg, "line 4") != NULL, "%s", err.msg);
    assert_no_secret(&err, "SECRETVALUEONALINE");
}

struct malformed_case
{
    char        content[96];
    int         line;
};

ParameterizedTestParameters(s3_cred, files_malformed)
{
    static struct malformed_case cases[] = {
        {"[default\naws_access_key_id = A\n", 1},
        {"[]\n", 1},
        {"[default] junk\n", 1},
        {"aws_access_key_id = A\n[default]\n", 1},
        {"[default]\naws_access_key_id = A\n= value\n", 3},
        {"[x]\n\n\n# c\njust words\n", 5},
    };

    return cr_make_param_array(struct malformed_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct malformed_case *mc, s3_cred, files_malformed)
{
    struct s3_credentials c;
    struct ws_err err = WS_ERR_INIT;
    char        want[64];
    const char *cfg = mkfile("config", mc->content);

    cr_assert_eq(s3_cred_from_files(NULL, cfg, "default", &c, NULL, 0, &err), -1);
    cr_assert_eq(err.code, WS_ECONFIG, "%s", err.msg);
    snprintf(want, sizeof(want), "line %d", mc->line);
    cr_assert(strstr(err.msg, want) != NULL, "%s", err.msg);
    cr_assert(strstr(err.msg, cfg) != NULL, "%s", err.msg);
}

Test(s3_cred, files_missing_profile)
{
    struct s3_cred_settings s = no_settings();
    struct s3_credentials c;
    struct ws_err err = WS_ERR_INIT;

    mkfile(".aws/credentials", "[default]\naws_access_key_id = AKIADEFAULT\n"
           "aws_secret_access_key = default-secret\n");
    setenv("AWS_PROFILE", "nosuch", 1);
    cr_assert_eq(get_once(&s, &c, &err), -1);
    cr_assert_eq(err.code, WS_ECONFIG, "%s", err.msg);
    cr_assert(strstr(err.msg, "profile \"nosuch\" not found in") != NULL, "%s", err.msg);
    cr_assert(strstr(err.msg, ".aws/credentials") != NULL, "%s", err.msg);
    cr_assert(strstr(err.msg, ".aws/config") != NULL, "%s", err.msg);
}

Test(s3_cred, files_partial_profile)
{
    struct s3_cred_settings s = no_settings();
    struct s3_credentials c;
    struct ws_err err = WS_ERR_INIT;

    mkfile(".aws/credentials", "[default]\naws_secret_access_key = lonely-secret-value\n");
    cr_assert_eq(get_once(&s, &c, &err), -1);
    cr_assert_eq(err.code, WS_ECONFIG, "%s", err.msg);
    cr_assert(strstr(err.msg, "aws_access_key_id") != NULL, "%s", err.msg);
    assert_no_secret(&err, "lonely-secret-value");
}

Test(s3_cred, files_unreadable)
{
    struct s3_cred_settings s = no_settings();
    struct s3_credentials c;
    struct ws_err err = WS_ERR_INIT;

    /* a directory where the file should be: opens, but cannot be read */
    cr_assert_eq(mkdir(tpath("dir"), 0700), 0);
    setenv("AWS_SHARED_CREDENTIALS_FILE", tpath("dir"), 1);
    cr_assert_eq(get_once(&s, &c, &err), -1);
    cr_assert_eq(err.code, WS_ECONFIG, "%s", err.msg);
    cr_assert(strstr(err.msg, tpath("dir")) != NULL, "%s", err.msg);
}

Test(s3_cred, files_binary_or_endless)
{
    struct s3_cred_settings s = no_settings();
    struct s3_credentials c;
    struct ws_err err = WS_ERR_INIT;
    const char *path = tpath("nul");
    static const char content[] = "[default]\naws_access_key_id = A\0B\n";
    FILE       *f = fopen(path, "w");

    cr_assert_not_null(f);
    cr_assert_eq(fwrite(content, 1, sizeof(content) - 1, f), sizeof(content) - 1);
    fclose(f);
    cr_assert_eq(s3_cred_from_files(path, NULL, "default", &c, NULL, 0, &err), -1);
    cr_assert_eq(err.code, WS_ECONFIG, "%s", err.msg);
    cr_assert(strstr(err.msg, "line 2") != NULL, "%s", err.msg);

    /* a path to an endless file costs a bounded read */
    setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/zero", 1);
    err_clear(&err);
    cr_assert_eq(get_once(&s, &c, &err), -1);
    cr_assert_eq(err.code, WS_ECONFIG, "%s", err.msg);
    cr_assert(strstr(err.msg, "/dev/zero") != NULL, "%s", err.msg);
}

Test(s3_cred, files_api)
{
    struct s3_credentials c;
    char        region[64] = "junk";
    struct ws_err err = WS_ERR_INIT;
    const char *cred = mkfile("credentials", "[a]\nregion = not-read-from-credentials\n");

    cr_assert_eq(s3_cred_from_files(NULL, NULL, "default", &c, region, sizeof(region), &err), -1);
    cr_assert_eq(err.code, WS_ENOTFOUND);
    cr_assert_str_eq(region, "");
    cr_assert_eq(s3_cred_from_files(tpath("missing1"), tpath("missing2"), "default", &c, region,
                                    sizeof(region), &err), -1);
    cr_assert_eq(err.code, WS_ENOTFOUND);
    /* the profile exists but has no keys */
    cr_assert_eq(s3_cred_from_files(cred, NULL, "a", &c, region, sizeof(region), &err), -1);
    cr_assert_eq(err.code, WS_ENOTFOUND);
    cr_assert_str_eq(region, "");
    /* NULL profile means "default" */
    cred = mkfile("credentials", "[default]\naws_access_key_id = K\naws_secret_access_key = S\n");
    cr_assert_eq(s3_cred_from_files(cred, NULL, NULL, &c, NULL, 0, &err), 0, "%s", err.msg);
    cr_assert_str_eq(c.access_key_id, "K");
}

Test(s3_cred, files_profile_without_keys_falls_through)
{
    struct s3_cred_settings s = no_settings();
    struct s3_credentials c;
    struct ws_err err = WS_ERR_INIT;

    /* a named profile that exists with only settings: the chain goes on */
    mkfile(".aws/config", "[profile walship]\nregion = eu-west-1\n");
    setenv("AWS_PROFILE", "walship", 1);
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
    cr_assert_eq(get_once(&s, &c, &err), -1);
    cr_assert_eq(err.code, WS_EAUTH, "%s", err.msg);
}

Test(s3_cred, files_long_value)
{
    struct s3_credentials c;
    struct ws_err err = WS_ERR_INIT;
    char        content[1024];
    char        longkey[400];

    memset(longkey, 'K', sizeof(longkey) - 1);
    longkey[sizeof(longkey) - 1] = '\0';
    snprintf(content, sizeof(content), "[default]\naws_access_key_id = %s\n"
             "aws_secret_access_key = S\n", longkey);
    cr_assert_eq(s3_cred_from_files(mkfile("cred", content), NULL, "default", &c, NULL, 0, &err),
                 -1);
    cr_assert_eq(err.code, WS_ECONFIG, "%s", err.msg);
    cr_assert(strstr(err.msg, "line 2") != NULL, "%s", err.msg);
    assert_no_secret(&err, longkey);
}

/* ---- nothing found ----------------------------------------------------------------- */

Test(s3_cred, nothing_found)
{
    struct s3_cred_settings s = no_settings();
    struct s3_credentials c;
    struct ws_err err = WS_ERR_INIT;
    time_t      t0 = time(NULL);

    /* IMDS points at a closed port (setup): unreachable is "nothing there", quickly */
    cr_assert_eq(get_once(&s, &c, &err), -1);
    cr_assert_eq(err.code, WS_EAUTH, "%s", err.msg);
    cr_assert_str_eq(err.msg, "no S3 credentials found");
    cr_assert(strstr(err.hint, "settings") != NULL, "%s", err.hint);
    cr_assert(strstr(err.hint, "environment") != NULL, "%s", err.hint);
    cr_assert(strstr(err.hint, "shared files") != NULL, "%s", err.hint);
    cr_assert(strstr(err.hint, "web identity") != NULL, "%s", err.hint);
    cr_assert(strstr(err.hint, "instance metadata") != NULL, "%s", err.hint);
    cr_assert(strstr(err.detail, "instance metadata: no answer") != NULL, "%s", err.detail);
    cr_assert_leq(time(NULL) - t0, 3);
}

Test(s3_cred, nothing_found_without_home)
{
    struct s3_cred_settings s = no_settings();
    struct s3_credentials c;
    struct ws_err err = WS_ERR_INIT;

    unsetenv("HOME");
    setenv("AWS_EC2_METADATA_DISABLED", "TRUE", 1);
    cr_assert_eq(get_once(&s, &c, &err), -1);
    cr_assert_eq(err.code, WS_EAUTH, "%s", err.msg);
    cr_assert(strstr(err.detail, "disabled") != NULL, "%s", err.detail);
}

/* ---- web identity ------------------------------------------------------------------- */

Test(s3_cred, sts_success)
{
    struct s3_cred_settings s = no_settings();
    struct s3_credentials c;
    struct ws_err err = WS_ERR_INIT;
    int64_t     now = (int64_t) time(NULL);

    srv_start();
    web_identity_env();
    cr_assert_eq(get_once(&s, &c, &err), 0, "%s", err.msg);
    cr_assert_str_eq(c.source, "web identity");
    cr_assert_str_eq(c.access_key_id, STS_KEY);
    cr_assert_str_eq(c.secret_access_key, STS_SECRET);
    cr_assert_str_eq(c.session_token, STS_TOKEN);
    cr_assert(c.expiration >= now + 3590 && c.expiration <= now + 3610, "%lld",
              (long long) c.expiration);

    cr_assert_eq(srv_count(&srv.sts_posts), 1);
    cr_assert_eq(srv_count(&srv.token_puts), 0, "IMDS must not be asked");
    pthread_mutex_lock(&srv.mu);
    cr_assert(strstr(srv.sts_body, "Action=AssumeRoleWithWebIdentity") != NULL, "%s",
              srv.sts_body);
    cr_assert(strstr(srv.sts_body, "Version=2011-06-15") != NULL, "%s", srv.sts_body);
    cr_assert(strstr(srv.sts_body,
                     "RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fwalship") != NULL,
              "%s", srv.sts_body);
    cr_assert(strstr(srv.sts_body, "RoleSessionName=walship-test") != NULL, "%s", srv.sts_body);
    cr_assert(strstr(srv.sts_body, "WebIdentityToken=" WEB_TOKEN) != NULL, "%s", srv.sts_body);
    cr_assert(strncmp(srv.sts_content_type, "application/x-www-form-urlencoded", 33) == 0,
              "%s", srv.sts_content_type);
    pthread_mutex_unlock(&srv.mu);
}

Test(s3_cred, sts_error_is_auth_without_token)
{
    struct s3_cred_settings s = no_settings();
    struct s3_credentials c;
    struct ws_err err = WS_ERR_INIT;

    srv_start();
    srv_set(&srv.sts_error, 1);
    web_identity_env();
    cr_assert_eq(get_once(&s, &c, &err), -1);
    cr_assert_eq(err.code, WS_EAUTH, "%s", err.msg);
    cr_assert(strstr(err.msg, "InvalidIdentityToken") != NULL, "%s", err.msg);
    cr_assert(strstr(err.msg, "is not valid") != NULL, "%s", err.msg);
    assert_no_secret(&err, WEB_TOKEN);
    /* nor any part of the JWT */
    assert_no_secret(&err, "eyJhbGciOiJSUzI1NiIsImtpZCI6IjEyMyJ9");
    assert_no_secret(&err, "eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQ6ZGI6d2Fsc2hpcCJ9");
    assert_no_secret(&err, "c2lnbmF0dXJlLXZhbHVlLXNlY3JldA");
    cr_assert(strstr(err.detail, ROLE_ARN) != NULL, "%s", err.detail);
}

Test(s3_cred, sts_server_error_is_transient)
{
    struct s3_cred_settings s = no_settings();
    struct s3_credentials c;
    struct ws_err err = WS_ERR_INIT;

    srv_start();
    srv_set(&srv.sts_error, 1);
    srv_set(&srv.sts_status, 503);
    web_identity_env();
    cr_assert_eq(get_once(&s, &c, &err), -1);
    cr_assert_eq(err.code, WS_ETRANSIENT, "%s", err.msg);
    assert_no_secret(&err, WEB_TOKEN);
}

Test(s3_cred, sts_unreachable_is_transient)
{
    struct s3_cred_settings s = no_settings();
    struct s3_credentials c;
    struct ws_err err = WS_ERR_INIT;

    web_identity_env();
    setenv_fmt("AWS_ENDPOINT_URL_STS", "http://127.0.0.1:%d/", closed_port());
    cr_assert_eq(get_once(&s, &c, &err), -1);
    cr_assert_eq(err.code, WS_ETRANSIENT, "%s", err.msg);
    assert_no_secret(&err, WEB_TOKEN);
}

Test(s3_cred, sts_partial_configuration)
{
    struct s3_cred_settings s = no_settings();
    struct s3_credentials c;
    struct ws_err err = WS_ERR_INIT;

    setenv("AWS_ROLE_ARN", ROLE_ARN, 1);
    cr_assert_eq(get_once(&s, &c, &err), -1);
    cr_assert_eq(err.code, WS_ECONFIG, "%s", err.msg);
    cr_assert(strstr(err.msg, "AWS_WEB_IDENTITY_TOKEN_FILE") != NULL, "%s", err.msg);

    unsetenv("AWS_ROLE_ARN");
    setenv("AWS_WEB_IDENTITY_TOKEN_FILE", mkfile("token", WEB_TOKEN), 1);
    err_clear(&err);
    cr_assert_eq(get_once(&s, &c, &err), -1);
    cr_assert_eq(err.code, WS_ECONFIG, "%s", err.msg);
    cr_assert(strstr(err.msg, "AWS_ROLE_ARN") != NULL, "%s", err.msg);
}

Test(s3_cred, sts_token_file_missing)
{
    struct s3_cred_settings s = no_settings();
    struct s3_credentials c;
    struct ws_err err = WS_ERR_INIT;

    setenv("AWS_ROLE_ARN", ROLE_ARN, 1);
    setenv("AWS_WEB_IDENTITY_TOKEN_FILE", tpath("no-token"), 1);
    cr_assert_eq(get_once(&s, &c, &err), -1);
    cr_assert_eq(err.code, WS_ECONFIG, "%s", err.msg);
    cr_assert(strstr(err.msg, tpath("no-token")) != NULL, "%s", err.msg);
}

Test(s3_cred, sts_refresh_when_expiring)
{
    struct s3_cred_settings s = no_settings();
    struct s3_credentials c;
    struct ws_err err = WS_ERR_INIT;
    struct s3_cred_provider *p;

    srv_start();
    web_identity_env();
    p = s3_cred_provider_new(&s, &err);
    cr_assert_not_null(p, "%s", err.msg);

    /* valid for an hour: cached */
    cr_assert_eq(s3_cred_get(p, &c, &err), 0, "%s", err.msg);
    cr_assert_eq(s3_cred_get(p, &c, &err), 0, "%s", err.msg);
    cr_assert_eq(srv_count(&srv.sts_posts), 1);

    /* invalidate forces a new walk */
    s3_cred_invalidate(p);
    cr_assert_eq(s3_cred_get(p, &c, &err), 0, "%s", err.msg);
    cr_assert_eq(srv_count(&srv.sts_posts), 2);

    /* the next credentials expire within 5 minutes: each get refreshes */
    pthread_mutex_lock(&srv.mu);
    srv.expires_in = 200;
    pthread_mutex_unlock(&srv.mu);
    s3_cred_invalidate(p);
    cr_assert_eq(s3_cred_get(p, &c, &err), 0, "%s", err.msg);
    cr_assert_eq(srv_count(&srv.sts_posts), 3);
    cr_assert_eq(s3_cred_get(p, &c, &err), 0, "%s", err.msg);
    cr_assert_eq(srv_count(&srv.sts_posts), 4);

    /* the token file is read again on refresh (Kubernetes rotates it) */
    mkfile("token", "rotated-token-value\n");
    cr_assert_eq(s3_cred_get(p, &c, &err), 0, "%s", err.msg);
    pthread_mutex_lock(&srv.mu);
    cr_assert(strstr(srv.sts_body, "WebIdentityToken=rotated-token-value") != NULL, "%s",
              srv.sts_body);
    pthread_mutex_unlock(&srv.mu);
    s3_cred_provider_free(p);
}

Test(s3_cred, refresh_failure_keeps_valid_credentials)
{
    struct s3_cred_settings s = no_settings();
    struct s3_credentials c;
    struct ws_err err = WS_ERR_INIT;
    struct s3_cred_provider *p;

    srv_start();
    web_identity_env();
    pthread_mutex_lock(&srv.mu);
    srv.expires_in = 200;       /* in the refresh window, but still good for minutes */
    pthread_mutex_unlock(&srv.mu);
    p = s3_cred_provider_new(&s, &err);
    cr_assert_not_null(p, "%s", err.msg);
    cr_assert_eq(s3_cred_get(p, &c, &err), 0, "%s", err.msg);

    srv_set(&srv.sts_error, 1);
    srv_set(&srv.sts_status, 503);
    cr_assert_eq(s3_cred_get(p, &c, &err), 0, "%s", err.msg);
    cr_assert_str_eq(c.access_key_id, STS_KEY);
    cr_assert_eq(srv_count(&srv.sts_posts), 2, "the refresh was attempted");

    /* once invalidated (the server rejected them), the failure shows */
    s3_cred_invalidate(p);
    cr_assert_eq(s3_cred_get(p, &c, &err), -1);
    cr_assert_eq(err.code, WS_ETRANSIENT, "%s", err.msg);
    s3_cred_provider_free(p);
}

/* ---- instance metadata ---------------------------------------------------------------- */

Test(s3_cred, imds_success)
{
    struct s3_cred_settings s = no_settings();
    struct s3_credentials c;
    struct ws_err err = WS_ERR_INIT;
    int64_t     now = (int64_t) time(NULL);

    srv_start();
    cr_assert_eq(get_once(&s, &c, &err), 0, "%s", err.msg);
    cr_assert_str_eq(c.source, "instance metadata");
    cr_assert_str_eq(c.access_key_id, IMDS_KEY);
    cr_assert_str_eq(c.secret_access_key, IMDS_SECRET);
    cr_assert_str_eq(c.session_token, IMDS_TOKEN);
    cr_assert(c.expiration >= now + 3590 && c.expiration <= now + 3610);
    cr_assert_eq(srv_count(&srv.token_puts), 1);
    cr_assert_eq(srv_count(&srv.role_lists), 1);
    cr_assert_eq(srv_count(&srv.role_gets), 1);
    cr_assert_eq(srv_count(&srv.unauthorized), 0);
    cr_assert_eq(srv_count(&srv.sts_posts), 0);
}

/* What a client that skipped the PUT would get from this server. */
static long
get_without_token(void)
{
    char        url[128];
    long        status = 0;
    CURL       *h = curl_easy_init();

    cr_assert_not_null(h);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/latest/meta-data/iam/security-credentials/",
             srv.port);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOBODY, 0L);
    cr_assert_eq(curl_easy_perform(h), CURLE_OK);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(h);
    return status;
}

Test(s3_cred, imds_requires_token)
{
    struct s3_cred_settings s = no_settings();
    struct s3_credentials c;
    struct ws_err err = WS_ERR_INIT;
    struct s3_cred_provider *p;

    srv_start();
    /* the server refuses IMDSv1 */
    cr_assert_eq(get_without_token(), 401);
    cr_assert_eq(srv_count(&srv.unauthorized), 1);

    /* our client sends the token it got, and a fresh one on each walk */
    p = s3_cred_provider_new(&s, &err);
    cr_assert_not_null(p, "%s", err.msg);
    cr_assert_eq(s3_cred_get(p, &c, &err), 0, "%s", err.msg);
    s3_cred_invalidate(p);
    cr_assert_eq(s3_cred_get(p, &c, &err), 0, "%s", err.msg);
    cr_assert_eq(srv_count(&srv.token_puts), 2);
    cr_assert_eq(srv_count(&srv.role_gets), 2);
    cr_assert_eq(srv_count(&srv.unauthorized), 1, "no GET without a valid token");
    s3_cred_provider_free(p);
}

Test(s3_cred, imds_without_v2_is_no_source)
{
    struct s3_cred_settings s = no_settings();
    struct s3_credentials c;
    struct ws_err err = WS_ERR_INIT;

    srv_start();
    srv_set(&srv.imds, IMDS_NO_V2);
    cr_assert_eq(get_once(&s, &c, &err), -1);
    cr_assert_eq(err.code, WS_EAUTH, "%s", err.msg);
    cr_assert_eq(srv_count(&srv.role_lists), 0);
    cr_assert_eq(srv_count(&srv.unauthorized), 0, "no IMDSv1 fallback");
}

Test(s3_cred, imds_no_role)
{
    struct s3_cred_settings s = no_settings();
    struct s3_credentials c;
    struct ws_err err = WS_ERR_INIT;

    srv_start();
    srv_set(&srv.imds, IMDS_NO_ROLE);
    cr_assert_eq(get_once(&s, &c, &err), -1);
    cr_assert_eq(err.code, WS_EAUTH, "%s", err.msg);
    cr_assert(strstr(err.detail, "no IAM role") != NULL, "%s", err.detail);
}

Test(s3_cred, imds_failures)
{
    struct s3_cred_settings s = no_settings();
    struct s3_credentials c;
    struct ws_err err = WS_ERR_INIT;

    srv_start();
    srv_set(&srv.imds, IMDS_FAIL_CREDS);
    cr_assert_eq(get_once(&s, &c, &err), -1);
    cr_assert_eq(err.code, WS_ETRANSIENT, "%s", err.msg);

    srv_set(&srv.imds, IMDS_BAD_JSON);
    err_clear(&err);
    cr_assert_eq(get_once(&s, &c, &err), -1);
    cr_assert_eq(err.code, WS_ETRANSIENT, "%s", err.msg);

    srv_set(&srv.imds, IMDS_CODE_FAILED);
    err_clear(&err);
    cr_assert_eq(get_once(&s, &c, &err), -1);
    cr_assert_eq(err.code, WS_EAUTH, "%s", err.msg);
    cr_assert(strstr(err.msg, "AssumeRoleUnauthorizedAccess") != NULL, "%s", err.msg);
}

Test(s3_cred, imds_json_escapes)
{
    struct s3_cred_settings s = no_settings();
    struct s3_credentials c;
    struct ws_err err = WS_ERR_INIT;

    srv_start();
    srv_set(&srv.imds, IMDS_UNICODE);
    cr_assert_eq(get_once(&s, &c, &err), 0, "%s", err.msg);
    cr_assert_str_eq(c.access_key_id, "AKIA");
    cr_assert_str_eq(c.secret_access_key, "caf\xc3\xa9 \xf0\x9f\x98\x80 \xe2\x82\xac");
    cr_assert_str_eq(c.session_token, "t\n\t\b\f\r");

    srv_set(&srv.imds, IMDS_LONE_SURROGATE);
    err_clear(&err);
    cr_assert_eq(get_once(&s, &c, &err), -1);
    cr_assert_eq(err.code, WS_ETRANSIENT, "%s", err.msg);
}

Test(s3_cred, imds_refresh_when_expiring)
{
    struct s3_cred_settings s = no_settings();
    struct s3_credentials c;
    struct ws_err err = WS_ERR_INIT;
    struct s3_cred_provider *p;

    srv_start();
    p = s3_cred_provider_new(&s, &err);
    cr_assert_not_null(p, "%s", err.msg);

    cr_assert_eq(s3_cred_get(p, &c, &err), 0, "%s", err.msg);
    cr_assert_eq(s3_cred_get(p, &c, &err), 0, "%s", err.msg);
    cr_assert_eq(srv_count(&srv.requests), 3, "cached: one walk of three requests");

    pthread_mutex_lock(&srv.mu);
    srv.expires_in = 240;
    pthread_mutex_unlock(&srv.mu);
    s3_cred_invalidate(p);
    cr_assert_eq(s3_cred_get(p, &c, &err), 0, "%s", err.msg);
    cr_assert_eq(srv_count(&srv.requests), 6);
    cr_assert_eq(s3_cred_get(p, &c, &err), 0, "%s", err.msg);
    cr_assert_eq(srv_count(&srv.requests), 9, "expiring within 5 minutes: refreshed");

    pthread_mutex_lock(&srv.mu);
    srv.expires_in = 301 + 60;
    pthread_mutex_unlock(&srv.mu);
    cr_assert_eq(s3_cred_get(p, &c, &err), 0, "%s", err.msg);
    cr_assert_eq(s3_cred_get(p, &c, &err), 0, "%s", err.msg);
    cr_assert_eq(srv_count(&srv.requests), 12, "more than 5 minutes left: cached");
    s3_cred_provider_free(p);
}

Test(s3_cred, imds_disabled)
{
    struct s3_cred_settings s = no_settings();
    struct s3_credentials c;
    struct ws_err err = WS_ERR_INIT;

    srv_start();
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
    cr_assert_eq(get_once(&s, &c, &err), -1);
    cr_assert_eq(err.code, WS_EAUTH, "%s", err.msg);
    cr_assert_eq(srv_count(&srv.requests), 0);
    cr_assert(strstr(err.detail, "AWS_EC2_METADATA_DISABLED") != NULL, "%s", err.detail);
}

struct getter
{
    struct s3_cred_provider *p;
    int         ok;
    char        key[256];
};

static void *
getter_main(void *arg)
{
    struct getter *g = arg;
    struct s3_credentials c;
    struct ws_err err = WS_ERR_INIT;

    for (int i = 0; i < 20; i++)
    {
        if (s3_cred_get(g->p, &c, &err) < 0)
            return NULL;
        if (i == 10)
            s3_cred_invalidate(g->p);
    }
    snprintf(g->key, sizeof(g->key), "%s", c.access_key_id);
    g->ok = 1;
    return NULL;
}

Test(s3_cred, concurrent_gets)
{
    struct s3_cred_settings s = no_settings();
    struct ws_err err = WS_ERR_INIT;
    struct getter g[4];
    pthread_t   t[4];
    struct s3_cred_provider *p;

    srv_start();
    p = s3_cred_provider_new(&s, &err);
    cr_assert_not_null(p, "%s", err.msg);
    for (int i = 0; i < 4; i++)
    {
        g[i] = (struct getter) {.p = p};
        cr_assert_eq(pthread_create(&t[i], NULL, getter_main, &g[i]), 0);
    }
    for (int i = 0; i < 4; i++)
    {
        pthread_join(t[i], NULL);
        cr_assert(g[i].ok);
        cr_assert_str_eq(g[i].key, IMDS_KEY);
    }
    /* one walk at first and at most one per invalidate */
    cr_assert_leq(srv_count(&srv.token_puts), 5);
    cr_assert_eq(srv_count(&srv.unauthorized), 0);
    s3_cred_provider_free(p);
}

/* ---- the whole chain ------------------------------------------------------------------- */

Test(s3_cred, precedence)
{
    struct s3_cred_settings s = no_settings();
    struct s3_credentials c;
    struct ws_err err = WS_ERR_INIT;

    srv_start();
    web_identity_env();
    mkfile(".aws/credentials", "[default]\naws_access_key_id = AKIAFILE\n"
           "aws_secret_access_key = file-secret\n");
    setenv("AWS_ACCESS_KEY_ID", "AKIAENV", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "env-secret", 1);
    s.access_key_id = "AKIASETTINGS";
    s.secret_access_key = "settings-secret";

    cr_assert_eq(get_once(&s, &c, &err), 0, "%s", err.msg);
    cr_assert_str_eq(c.source, "settings");

    s = no_settings();
    cr_assert_eq(get_once(&s, &c, &err), 0, "%s", err.msg);
    cr_assert_str_eq(c.source, "environment");

    unsetenv("AWS_ACCESS_KEY_ID");
    unsetenv("AWS_SECRET_ACCESS_KEY");
    cr_assert_eq(get_once(&s, &c, &err), 0, "%s", err.msg);
    cr_assert_str_eq(c.source, "profile default");
    cr_assert_str_eq(c.access_key_id, "AKIAFILE");

    cr_assert_eq(unlink(tpath(".aws/credentials")), 0);
    cr_assert_eq(get_once(&s, &c, &err), 0, "%s", err.msg);
    cr_assert_str_eq(c.source, "web identity");
    cr_assert_str_eq(c.access_key_id, STS_KEY);

    unsetenv("AWS_ROLE_ARN");
    unsetenv("AWS_WEB_IDENTITY_TOKEN_FILE");
    cr_assert_eq(get_once(&s, &c, &err), 0, "%s", err.msg);
    cr_assert_str_eq(c.source, "instance metadata");
    cr_assert_str_eq(c.access_key_id, IMDS_KEY);

    /* no source was asked after the one that answered */
    cr_assert_eq(srv_count(&srv.sts_posts), 1);
    cr_assert_eq(srv_count(&srv.token_puts), 1);
}

Test(s3_cred, errors_never_carry_secrets)
{
    struct s3_cred_settings s = no_settings();
    struct s3_credentials c;
    struct ws_err err = WS_ERR_INIT;
    struct s3_cred_provider *p;

    /* a good walk, then a failing one with the same secrets around */
    srv_start();
    web_identity_env();
    p = s3_cred_provider_new(&s, &err);
    cr_assert_not_null(p);
    cr_assert_eq(s3_cred_get(p, &c, &err), 0, "%s", err.msg);
    srv_set(&srv.sts_error, 1);
    s3_cred_invalidate(p);
    cr_assert_eq(s3_cred_get(p, &c, &err), -1);
    assert_no_secret(&err, WEB_TOKEN);
    assert_no_secret(&err, STS_SECRET);
    assert_no_secret(&err, STS_TOKEN);
    s3_cred_provider_free(p);

    /* the environment's secret and token next to a broken profile */
    unsetenv("AWS_ROLE_ARN");
    unsetenv("AWS_WEB_IDENTITY_TOKEN_FILE");
    setenv("AWS_SECRET_ACCESS_KEY", "env-secret-value-xyz", 1);
    setenv("AWS_SESSION_TOKEN", "env-session-token-xyz", 1);
    err_clear(&err);
    cr_assert_eq(get_once(&s, &c, &err), -1);
    cr_assert_eq(err.code, WS_ECONFIG);
    assert_no_secret(&err, "env-secret-value-xyz");
    assert_no_secret(&err, "env-session-token-xyz");
}
