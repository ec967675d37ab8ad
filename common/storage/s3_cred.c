/*
 * s3_cred.c — the AWS credential chain for the S3 driver.  See s3_cred.h.
 *
 * Promises: the chain is walked in the order AWS tools use (settings,
 * environment, shared files, web identity, instance metadata); the first
 * source with credentials wins and later ones are not consulted.  A source
 * that is configured wrongly (half a key pair, a malformed file, a profile
 * named by AWS_PROFILE that does not exist) is an error rather than a reason
 * to fall through, because falling through would silently pick up other
 * credentials.  Instance metadata that does not answer is simply not a
 * source, so hosts outside EC2 do not fail (and wait only 1 s).
 *
 * Secrets (secret keys, session tokens, the web identity token, the IMDS
 * token) never reach err->msg/detail/hint: messages name settings, files and
 * line numbers, never values, and text that comes back from STS is scrubbed
 * of the token before it is quoted.  Buffers that held secrets are wiped with
 * OPENSSL_cleanse before they are released.
 *
 * Thread safety: a provider's cache and refresh are serialised by one mutex;
 * each HTTP request uses its own curl easy handle (s3_http_call, s3_http.c).
 */
#include "s3_cred.h"
#include "smallfile.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/crypto.h>

#include "s3_http.h"
#include "s3_xml.h"

/* Refresh temporary credentials when less than this remains (seconds). */
#define CRED_REFRESH_MARGIN     300
/* After a failed refresh, keep using cached credentials valid this much longer. */
#define CRED_GRACE              60
#define IMDS_DEFAULT_ENDPOINT   "http://169.254.169.254"
#define IMDS_IPV6_ENDPOINT      "http://[fd00:ec2::254]"
#define IMDS_CONNECT_TIMEOUT_MS 1000L
#define IMDS_TIMEOUT_MS         5000L
#define STS_DEFAULT_TIMEOUT_S   30L
#define TOKEN_FILE_CAP          (16 * 1024)     /* a projected service account JWT is ~1 KiB */
#define SHARED_FILE_CAP         (1024 * 1024)   /* ~/.aws/credentials, ~/.aws/config */

/* The environment, captured once at s3_cred_provider_new. */
enum cred_env
{
    ENV_ACCESS_KEY_ID,
    ENV_SECRET_ACCESS_KEY,
    ENV_SESSION_TOKEN,
    ENV_PROFILE,
    ENV_DEFAULT_PROFILE,
    ENV_SHARED_CREDENTIALS_FILE,
    ENV_CONFIG_FILE,
    ENV_HOME,
    ENV_ROLE_ARN,
    ENV_WEB_IDENTITY_TOKEN_FILE,
    ENV_ROLE_SESSION_NAME,
    ENV_ENDPOINT_URL_STS,
    ENV_REGION,
    ENV_DEFAULT_REGION,
    ENV_IMDS_ENDPOINT,
    ENV_IMDS_ENDPOINT_MODE,
    ENV_IMDS_DISABLED,
    ENV_COUNT
};

static const char *const env_names[ENV_COUNT] = {
    [ENV_ACCESS_KEY_ID] = "AWS_ACCESS_KEY_ID",
    [ENV_SECRET_ACCESS_KEY] = "AWS_SECRET_ACCESS_KEY",
    [ENV_SESSION_TOKEN] = "AWS_SESSION_TOKEN",
    [ENV_PROFILE] = "AWS_PROFILE",
    [ENV_DEFAULT_PROFILE] = "AWS_DEFAULT_PROFILE",
    [ENV_SHARED_CREDENTIALS_FILE] = "AWS_SHARED_CREDENTIALS_FILE",
    [ENV_CONFIG_FILE] = "AWS_CONFIG_FILE",
    [ENV_HOME] = "HOME",
    [ENV_ROLE_ARN] = "AWS_ROLE_ARN",
    [ENV_WEB_IDENTITY_TOKEN_FILE] = "AWS_WEB_IDENTITY_TOKEN_FILE",
    [ENV_ROLE_SESSION_NAME] = "AWS_ROLE_SESSION_NAME",
    [ENV_ENDPOINT_URL_STS] = "AWS_ENDPOINT_URL_STS",
    [ENV_REGION] = "AWS_REGION",
    [ENV_DEFAULT_REGION] = "AWS_DEFAULT_REGION",
    [ENV_IMDS_ENDPOINT] = "AWS_EC2_METADATA_SERVICE_ENDPOINT",
    [ENV_IMDS_ENDPOINT_MODE] = "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE",
    [ENV_IMDS_DISABLED] = "AWS_EC2_METADATA_DISABLED",
};

struct s3_cred_provider
{
    pthread_mutex_t lock;

    /* settings, copied */
    char        set_key[256];
    char        set_secret[256];
    char        set_token[4096];
    char        region[64];
    char       *ca_file;            /* NULL = system default */
    int         verify_tls;
    long        timeout_s;

    char       *env[ENV_COUNT];     /* NULL if unset or empty */

    /* the cache, under lock */
    int         have;
    struct s3_credentials cached;
};

/* What one source of the chain found. */
enum source_result
{
    SRC_ERROR = -1,
    SRC_NONE = 0,
    SRC_FOUND = 1
};

/* Notes on sources that had nothing, for the "no credentials" detail. */
struct walk_notes
{
    char        text[512];
};

static void
note_add(struct walk_notes *n, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
note_add(struct walk_notes *n, const char *fmt, ...)
{
    size_t      used = strlen(n->text);
    va_list     ap;

    if (used + 3 >= sizeof(n->text))
        return;
    if (used > 0)
    {
        memcpy(n->text + used, "; ", 3);
        used += 2;
    }
    va_start(ap, fmt);
    vsnprintf(n->text + used, sizeof(n->text) - used, fmt, ap);
    va_end(ap);
}

static void
wipe_free(char *s)
{
    if (s != NULL)
    {
        OPENSSL_cleanse(s, strlen(s));
        free(s);
    }
}

static void
wipe_creds(struct s3_credentials *c)
{
    OPENSSL_cleanse(c, sizeof(*c));
}

/* Copy src into dst[size]; -1 if it does not fit. */
static int
copy_str(char *dst, size_t size, const char *src)
{
    size_t      n = strlen(src);

    if (n >= size)
        return -1;
    memcpy(dst, src, n + 1);
    return 0;
}

static char *
trim(char *s)
{
    char       *e;

    while (*s == ' ' || *s == '\t')
        s++;
    e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
        *--e = '\0';
    return s;
}

/*
 * A whole small file (smallfile.c) as read_small_file's callers expect it:
 * 0; -1 with errno set when it cannot be opened or read; -2 when it is
 * larger than cap.  Release the buffer with wipe_buf.
 */
static int
read_small_file(const char *path, size_t cap, char **bufp, size_t *lenp)
{
    struct ws_err e = WS_ERR_INIT;
    int         rc = smallfile_read(path, "file", cap, WS_OK, NULL, bufp, lenp, &e);

    if (rc == -1)
        errno = e.sys_errno ? e.sys_errno : EIO;
    return rc;
}

static void
wipe_buf(char *buf, size_t len)
{
    if (buf != NULL)
    {
        OPENSSL_cleanse(buf, len);
        free(buf);
    }
}

/* ---- shared files ----------------------------------------------------------- */

/* One profile's values from one file. */
struct ini_profile
{
    int         found;              /* the section exists */
    char        key[256];
    char        secret[256];
    char        token[4096];
    char        region[64];
};

/* Does section header text `name` (trimmed) select `profile`? */
static int
section_matches(const char *name, const char *profile, int config_style)
{
    if (!config_style)
        return strcmp(name, profile) == 0;
    /* config file: "[default]" or "[profile NAME]" (also "[profile default]") */
    if (strcmp(name, "default") == 0)
        return strcmp(profile, "default") == 0;
    if (strncmp(name, "profile", 7) == 0 && (name[7] == ' ' || name[7] == '\t'))
    {
        const char *rest = name + 7;

        while (*rest == ' ' || *rest == '\t')
            rest++;
        return strcmp(rest, profile) == 0;
    }
    return 0;
}

static int
ini_syntax_error(struct ws_err *err, const char *path, int lineno, const char *what)
{
    err_set(err, WS_ECONFIG, "syntax error in file \"%s\" line %d", path, lineno);
    err_detail(err, "%s", what);
    return -1;
}

/*
 * Read `profile` from one INI file.  A missing file is an empty one.  The
 * format is the one the AWS CLI documents: "[section]" lines, "key = value"
 * lines, full-line comments starting with '#' or ';', and a '#' or ';' after
 * whitespace starting a comment at the end of a value.  A line indented more
 * than the key line before it belongs to that key (the config file's nested
 * "s3 =" settings) and is skipped.
 */
static int
ini_read_profile(const char *path, int config_style, const char *profile,
                 struct ini_profile *out, struct ws_err *err)
{
    char       *buf = NULL;
    size_t      len = 0;
    char       *next;
    int         lineno = 0;
    int         in_section = 0;
    int         any_section = 0;
    int         last_indent = -1;
    int         rc = -1;

    memset(out, 0, sizeof(*out));
    if (path == NULL || path[0] == '\0')
        return 0;
    switch (read_small_file(path, SHARED_FILE_CAP, &buf, &len))
    {
        case 0:
            break;
        case -2:
            return err_set(err, WS_ECONFIG, "file \"%s\" is larger than %d bytes", path,
                           SHARED_FILE_CAP);
        default:
            if (errno == ENOENT || errno == ENOTDIR)
                return 0;
            return err_set_errno(err, WS_ECONFIG, errno, "could not read file \"%s\"", path);
    }

    for (char *line = buf; line != NULL && line < buf + len; line = next)
    {
        char       *nl = memchr(line, '\n', (size_t) (buf + len - line));
        size_t      linelen = nl != NULL ? (size_t) (nl - line) : (size_t) (buf + len - line);
        int         indent = 0;
        char       *s;

        next = nl != NULL ? nl + 1 : NULL;
        line[linelen] = '\0';
        lineno++;
        if (strlen(line) != linelen)
        {
            ini_syntax_error(err, path, lineno, "The line contains a NUL byte.");
            goto out;
        }
        while (line[indent] == ' ' || line[indent] == '\t')
            indent++;
        s = trim(line);
        if (*s == '\0' || *s == '#' || *s == ';')
            continue;

        if (*s == '[')
        {
            char       *close = strchr(s, ']');
            char       *after;
            char       *name;

            if (close == NULL)
            {
                ini_syntax_error(err, path, lineno, "A section header lacks its closing \"]\".");
                goto out;
            }
            after = trim(close + 1);
            if (*after != '\0' && *after != '#' && *after != ';')
            {
                ini_syntax_error(err, path, lineno,
                                 "Unexpected text after the section header.");
                goto out;
            }
            *close = '\0';
            name = trim(s + 1);
            if (*name == '\0')
            {
                ini_syntax_error(err, path, lineno, "The section name is empty.");
                goto out;
            }
            in_section = section_matches(name, profile, config_style);
            if (in_section)
                out->found = 1;
            any_section = 1;
            last_indent = -1;
            continue;
        }

        /* key = value */
        {
            char       *eq;
            char       *key;
            char       *value;
            char       *dst = NULL;
            size_t      dstsize = 0;

            if (!any_section)
            {
                ini_syntax_error(err, path, lineno,
                                 "A setting appears before the first \"[section]\" line.");
                goto out;
            }
            if (last_indent >= 0 && indent > last_indent)
                continue;       /* nested setting or continuation of the previous key */
            eq = strchr(s, '=');
            if (eq == NULL)
            {
                ini_syntax_error(err, path, lineno, "Expected \"key = value\".");
                goto out;
            }
            *eq = '\0';
            key = trim(s);
            if (*key == '\0')
            {
                ini_syntax_error(err, path, lineno, "The key before \"=\" is empty.");
                goto out;
            }
            value = eq + 1;
            for (char *c = value; *c != '\0'; c++)
                if ((*c == '#' || *c == ';') && (c == value || c[-1] == ' ' || c[-1] == '\t'))
                {
                    *c = '\0';
                    break;
                }
            value = trim(value);
            last_indent = indent;
            if (!in_section)
                continue;

            if (strcasecmp(key, "aws_access_key_id") == 0)
                dst = out->key, dstsize = sizeof(out->key);
            else if (strcasecmp(key, "aws_secret_access_key") == 0)
                dst = out->secret, dstsize = sizeof(out->secret);
            else if (strcasecmp(key, "aws_session_token") == 0 ||
                     strcasecmp(key, "aws_security_token") == 0)
                dst = out->token, dstsize = sizeof(out->token);
            else if (config_style && strcasecmp(key, "region") == 0)
                dst = out->region, dstsize = sizeof(out->region);
            if (dst != NULL && copy_str(dst, dstsize, value) < 0)
            {
                err_set(err, WS_ECONFIG, "value of \"%s\" in file \"%s\" line %d is too long",
                        key, path, lineno);
                goto out;
            }
        }
    }
    rc = 0;

out:
    wipe_buf(buf, len);
    if (rc < 0)
        OPENSSL_cleanse(out, sizeof(*out));
    return rc;
}

/*
 * s3_cred_from_files, also telling whether the profile's section exists in
 * either file (*found).  The credentials come whole from one file: from the
 * credentials file if its section has a key, else from the config file, so a
 * session token from one file is never paired with keys from the other.
 */
static int
files_lookup(const char *credentials_path, const char *config_path, const char *profile,
             struct s3_credentials *out, char *region, size_t regionlen, int *found,
             struct ws_err *err)
{
    struct ini_profile *cp = NULL;
    struct ini_profile *fp = NULL;
    struct ini_profile *use;
    const char *use_path;
    int         rc = -1;

    *found = 0;
    if (region != NULL && regionlen > 0)
        region[0] = '\0';
    if (profile == NULL || profile[0] == '\0')
        profile = "default";
    cp = malloc(sizeof(*cp));
    fp = malloc(sizeof(*fp));
    if (cp == NULL || fp == NULL)
    {
        err_set(err, WS_EINTERNAL, "out of memory");
        goto out;
    }
    if (ini_read_profile(credentials_path, 0, profile, cp, err) < 0 ||
        ini_read_profile(config_path, 1, profile, fp, err) < 0)
        goto out;
    *found = cp->found || fp->found;
    if (region != NULL && regionlen > 0 && fp->region[0] != '\0')
        snprintf(region, regionlen, "%s", fp->region);

    if (cp->key[0] != '\0' || cp->secret[0] != '\0')
    {
        use = cp;
        use_path = credentials_path;
    }
    else if (fp->key[0] != '\0' || fp->secret[0] != '\0')
    {
        use = fp;
        use_path = config_path;
    }
    else
    {
        if (!*found)
            err_set(err, WS_ENOTFOUND, "profile \"%s\" not found in \"%s\" or \"%s\"", profile,
                    credentials_path != NULL ? credentials_path : "(none)",
                    config_path != NULL ? config_path : "(none)");
        else
            err_set(err, WS_ENOTFOUND, "profile \"%s\" has no aws_access_key_id", profile);
        goto out;
    }
    if (use->key[0] == '\0' || use->secret[0] == '\0')
    {
        err_set(err, WS_ECONFIG, "profile \"%s\" in file \"%s\" has %s but no %s", profile,
                use_path, use->key[0] != '\0' ? "aws_access_key_id" : "aws_secret_access_key",
                use->key[0] != '\0' ? "aws_secret_access_key" : "aws_access_key_id");
        err_hint(err, "Set both aws_access_key_id and aws_secret_access_key in the profile.");
        goto out;
    }
    memset(out, 0, sizeof(*out));
    memcpy(out->access_key_id, use->key, sizeof(use->key));
    memcpy(out->secret_access_key, use->secret, sizeof(use->secret));
    memcpy(out->session_token, use->token, sizeof(use->token));
    out->expiration = 0;
    snprintf(out->source, sizeof(out->source), "profile %.55s", profile);
    rc = 0;

out:
    if (cp != NULL)
    {
        OPENSSL_cleanse(cp, sizeof(*cp));
        free(cp);
    }
    if (fp != NULL)
    {
        OPENSSL_cleanse(fp, sizeof(*fp));
        free(fp);
    }
    return rc;
}

int
s3_cred_from_files(const char *credentials_path, const char *config_path,
                   const char *profile, struct s3_credentials *out,
                   char *region, size_t regionlen, struct ws_err *err)
{
    int         found;

    return files_lookup(credentials_path, config_path, profile, out, region, regionlen,
                        &found, err);
}

void
s3_cred_profile_region(const char *config_path, const char *profile, char *region,
                       size_t regionlen)
{
    struct ini_profile *fp;
    struct ws_err err = WS_ERR_INIT;

    if (region == NULL || regionlen == 0)
        return;
    region[0] = '\0';
    if ((fp = malloc(sizeof(*fp))) == NULL)
        return;
    if (profile == NULL || profile[0] == '\0')
        profile = "default";
    if (ini_read_profile(config_path, 1, profile, fp, &err) == 0)
        snprintf(region, regionlen, "%s", fp->region);
    OPENSSL_cleanse(fp, sizeof(*fp));
    free(fp);
}

/* ---- web identity (STS AssumeRoleWithWebIdentity) ----------------------------- */

/* RFC 3986 percent-encoding of s, appended at *o in out (sized by the caller). */
static void
form_encode(const char *s, char *out, size_t *o)
{
    static const char hex[] = "0123456789ABCDEF";

    for (const unsigned char *c = (const unsigned char *) s; *c != '\0'; c++)
    {
        if (isalnum(*c) || *c == '-' || *c == '_' || *c == '.' || *c == '~')
            out[(*o)++] = (char) *c;
        else
        {
            out[(*o)++] = '%';
            out[(*o)++] = hex[*c >> 4];
            out[(*o)++] = hex[*c & 15];
        }
    }
}

/* Read the web identity token file: whole, capped, trailing whitespace
 * removed; *lenp is what to wipe. */
static int
read_token_file(const char *path, char **tokenp, size_t *lenp, struct ws_err *err)
{
    char       *buf;
    size_t      n;
    int         rc = read_small_file(path, TOKEN_FILE_CAP, &buf, lenp);

    *tokenp = NULL;
    if (rc == -2)
        return err_set(err, WS_ECONFIG, "web identity token file \"%s\" is larger than %d bytes",
                       path, TOKEN_FILE_CAP);
    if (rc < 0)
        return err_set_errno(err, WS_ECONFIG, errno,
                             "could not read web identity token file \"%s\"", path);
    n = *lenp;
    while (n > 0 && isspace((unsigned char) buf[n - 1]))
        n--;
    buf[n] = '\0';
    if (n == 0 || strlen(buf) != n)
    {
        wipe_buf(buf, *lenp);
        return err_set(err, WS_ECONFIG, "web identity token file \"%s\" is empty or not text",
                       path);
    }
    *tokenp = buf;
    return 0;
}

/* Replace each occurrence of needle[0..nlen) in s with "[...]" (or stars if shorter). */
static void
redact(char *s, const char *needle, size_t nlen)
{
    char       *hit = s;

    while (*hit != '\0')
    {
        if (strncmp(hit, needle, nlen) != 0)
        {
            hit++;
            continue;
        }
        if (nlen >= 5)
        {
            /* the text only shrinks, so it always fits its buffer */
            memmove(hit + 5, hit + nlen, strlen(hit + nlen) + 1);
            memcpy(hit, "[...]", 5);
            hit += 5;
        }
        else
        {
            memset(hit, '*', nlen);
            hit += nlen;
        }
    }
}

/*
 * Make text from the server fit to quote in a message: replace control
 * characters, and redact the web identity token and any long enough
 * dot-separated part of it (a JWT's header, claims, signature) wherever the
 * server repeated them.
 */
static void
scrub_text(char *s, const char *token)
{
    for (char *c = s; *c != '\0'; c++)
        if ((unsigned char) *c < 0x20 || *c == 0x7f)
            *c = ' ';
    if (token == NULL || token[0] == '\0')
        return;
    redact(s, token, strlen(token));
    for (const char *part = token; *part != '\0';)
    {
        size_t      plen = strcspn(part, ".");

        if (plen >= 8)
            redact(s, part, plen);
        part += plen;
        if (*part == '.')
            part++;
    }
}

struct xml_span
{
    const char *p;
    size_t      len;
};

static int
first_inner_cb(const char *inner, size_t innerlen, void *arg)
{
    struct xml_span *sp = arg;

    sp->p = inner;
    sp->len = innerlen;
    return 1;
}

static enum source_result
from_web_identity(struct s3_cred_provider *p, struct s3_credentials *out,
                  struct walk_notes *notes, struct ws_err *err)
{
    const char *arn = p->env[ENV_ROLE_ARN];
    const char *token_file = p->env[ENV_WEB_IDENTITY_TOKEN_FILE];
    char       *token = NULL;
    size_t      token_len = 0;
    char       *form = NULL;
    char        session[128];
    char        url[1024];
    char        code[128];
    char        message[384];
    char        expiration[64];
    struct s3_http_body body = {0};
    struct xml_span creds = {0};
    const char *headers[] = {"Expect:", "Accept: application/xml", NULL};
    struct s3_http_call rq = {0};
    long        status;
    CURLcode    cc;
    size_t      o = 0;
    enum source_result rc = SRC_ERROR;

    if (arn == NULL && token_file == NULL)
    {
        note_add(notes, "web identity: AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE not set");
        return SRC_NONE;
    }
    if (arn == NULL || token_file == NULL)
    {
        err_set(err, WS_ECONFIG, "%s is set but %s is not",
                arn != NULL ? "AWS_ROLE_ARN" : "AWS_WEB_IDENTITY_TOKEN_FILE",
                arn != NULL ? "AWS_WEB_IDENTITY_TOKEN_FILE" : "AWS_ROLE_ARN");
        err_hint(err, "Web identity credentials need both variables.");
        return SRC_ERROR;
    }

    /* the endpoint: AWS_ENDPOINT_URL_STS, else the regional one, else the global one */
    {
        const char *region = p->region[0] != '\0' ? p->region
            : p->env[ENV_REGION] != NULL ? p->env[ENV_REGION]
            : p->env[ENV_DEFAULT_REGION];
        const char *ep = p->env[ENV_ENDPOINT_URL_STS];
        const char *scheme_end;
        int         n;

        if (ep != NULL)
        {
            scheme_end = strstr(ep, "://");
            n = snprintf(url, sizeof(url), "%s%s", ep,
                         scheme_end != NULL && strchr(scheme_end + 3, '/') == NULL ? "/" : "");
        }
        else if (region != NULL)
            n = snprintf(url, sizeof(url), "https://sts.%s.amazonaws.com/", region);
        else
            n = snprintf(url, sizeof(url), "https://sts.amazonaws.com/");
        if (n < 0 || (size_t) n >= sizeof(url))
        {
            err_set(err, WS_ECONFIG, "STS endpoint URL is too long");
            return SRC_ERROR;
        }
    }

    if (p->env[ENV_ROLE_SESSION_NAME] != NULL)
        snprintf(session, sizeof(session), "%s", p->env[ENV_ROLE_SESSION_NAME]);
    else
        snprintf(session, sizeof(session), "walship-%lld", (long long) time(NULL));

    /* the token file is read on every refresh: Kubernetes rotates it */
    if (read_token_file(token_file, &token, &token_len, err) < 0)
        goto out;

    {
        static const char prefix[] = "Action=AssumeRoleWithWebIdentity&Version=2011-06-15";
        size_t      cap = sizeof(prefix) + 64 + 3 * (strlen(arn) + strlen(session) +
                                                     strlen(token));

        if ((form = malloc(cap)) == NULL)
        {
            err_set(err, WS_EINTERNAL, "out of memory");
            goto out;
        }
        memcpy(form, prefix, sizeof(prefix) - 1);
        o = sizeof(prefix) - 1;
        memcpy(form + o, "&RoleArn=", 9);
        o += 9;
        form_encode(arn, form, &o);
        memcpy(form + o, "&RoleSessionName=", 17);
        o += 17;
        form_encode(session, form, &o);
        memcpy(form + o, "&WebIdentityToken=", 18);
        o += 18;
        form_encode(token, form, &o);
        form[o] = '\0';
    }

    rq.method = "POST";
    rq.url = url;
    rq.headers = headers;
    rq.body = form;
    rq.bodylen = o;
    rq.connect_timeout_ms = (p->timeout_s > 0 ? p->timeout_s : STS_DEFAULT_TIMEOUT_S) * 1000;
    rq.timeout_ms = rq.connect_timeout_ms;
    rq.ca_file = p->ca_file;
    rq.no_verify_tls = !p->verify_tls;
    if (s3_http_call(&rq, &status, &body, &cc) < 0)
    {
        err_set(err, WS_ETRANSIENT, "could not reach STS at \"%s\": %s", url,
                s3_http_transfer_error(cc, &body));
        goto out;
    }

    if (status != 200 ||
        s3_xml_each(body.data, body.len, "Error", first_inner_cb, &creds) == 1)
    {
        int         have_code = body.len > 0 &&
            s3_xml_text(body.data, body.len, "Code", code, sizeof(code)) > 0;
        int         have_msg = body.len > 0 &&
            s3_xml_text(body.data, body.len, "Message", message, sizeof(message)) > 0;
        enum ws_code wc = WS_EAUTH;

        if (!have_code)
            snprintf(code, sizeof(code), "HTTP %ld", status);
        if (!have_msg)
            message[0] = '\0';
        scrub_text(code, token);
        scrub_text(message, token);
        if (status >= 500 || strcmp(code, "Throttling") == 0 ||
            strcmp(code, "IDPCommunicationError") == 0)
            wc = WS_ETRANSIENT;
        err_set(err, wc, "STS AssumeRoleWithWebIdentity failed: %s%s%s", code,
                have_msg ? ": " : "", message);
        err_detail(err, "Role \"%s\", endpoint \"%s\", HTTP status %ld.", arn, url, status);
        goto out;
    }

    if (s3_xml_each(body.data, body.len, "Credentials", first_inner_cb, &creds) != 1 ||
        s3_xml_text(creds.p, creds.len, "AccessKeyId", out->access_key_id,
                    sizeof(out->access_key_id)) <= 0 ||
        s3_xml_text(creds.p, creds.len, "SecretAccessKey", out->secret_access_key,
                    sizeof(out->secret_access_key)) <= 0 ||
        s3_xml_text(creds.p, creds.len, "SessionToken", out->session_token,
                    sizeof(out->session_token)) <= 0 ||
        s3_xml_text(creds.p, creds.len, "Expiration", expiration, sizeof(expiration)) <= 0 ||
        (out->expiration = s3_time_parse(expiration)) <= 0)
    {
        wipe_creds(out);
        err_set(err, WS_ETRANSIENT, "unexpected response from STS at \"%s\"", url);
        err_detail(err, "The AssumeRoleWithWebIdentity result lacks complete Credentials.");
        goto out;
    }
    snprintf(out->source, sizeof(out->source), "web identity");
    rc = SRC_FOUND;

out:
    s3_http_body_free(&body);
    if (form != NULL)
    {
        OPENSSL_cleanse(form, o);
        free(form);
    }
    wipe_buf(token, token_len);
    return rc;
}

/* ---- instance metadata (IMDSv2) ---------------------------------------------- */

static void
skip_ws(const char **pp, const char *end)
{
    while (*pp < end && (**pp == ' ' || **pp == '\t' || **pp == '\n' || **pp == '\r'))
        (*pp)++;
}

static int
hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int
hex4(const char *p, const char *end, unsigned *v)
{
    *v = 0;
    if (end - p < 4)
        return -1;
    for (int i = 0; i < 4; i++)
    {
        int         d = hexval(p[i]);

        if (d < 0)
            return -1;
        *v = *v * 16 + (unsigned) d;
    }
    return 0;
}

/*
 * A JSON string whose opening quote is just before *pp: decode into out
 * (may be NULL to skip), advance *pp past the closing quote.  Returns 0,
 * or -2 if malformed.  *toolong is set when out is too small.
 */
static int
json_string(const char **pp, const char *end, char *out, size_t outlen, int *toolong)
{
    const char *p = *pp;
    size_t      o = 0;

    while (p < end && *p != '"')
    {
        unsigned long cp;
        int         escaped_u = 0;

        if ((unsigned char) *p < 0x20)
            return -2;
        if (*p != '\\')
            cp = (unsigned char) *p++;
        else
        {
            if (++p >= end)
                return -2;
            switch (*p++)
            {
                case '"': cp = '"'; break;
                case '\\': cp = '\\'; break;
                case '/': cp = '/'; break;
                case 'b': cp = '\b'; break;
                case 'f': cp = '\f'; break;
                case 'n': cp = '\n'; break;
                case 'r': cp = '\r'; break;
                case 't': cp = '\t'; break;
                case 'u':
                    {
                        unsigned    hi, lo;

                        if (hex4(p, end, &hi) < 0)
                            return -2;
                        p += 4;
                        if (hi >= 0xDC00 && hi <= 0xDFFF)
                            return -2;
                        if (hi >= 0xD800 && hi <= 0xDBFF)
                        {
                            if (end - p < 6 || p[0] != '\\' || p[1] != 'u' ||
                                hex4(p + 2, end, &lo) < 0 || lo < 0xDC00 || lo > 0xDFFF)
                                return -2;
                            p += 6;
                            cp = 0x10000 + ((unsigned long) (hi - 0xD800) << 10) + (lo - 0xDC00);
                        }
                        else
                            cp = hi;
                        if (cp == 0)
                            return -2;
                        escaped_u = 1;
                        break;
                    }
                default:
                    return -2;
            }
        }
        if (out == NULL)
            continue;
        {
            unsigned char b[4];
            size_t      n;

            /* bytes >= 0x80 from the input are UTF-8 already and copied as
             * they are; code points from \u escapes are encoded */
            if (cp < 0x80 || !escaped_u)
            {
                b[0] = (unsigned char) cp;
                n = 1;
            }
            else
                n = s3_utf8_encode(cp, b);
            if (o + n >= outlen)
                *toolong = 1;
            else
            {
                memcpy(out + o, b, n);
                o += n;
            }
        }
    }
    if (p >= end)
        return -2;
    if (out != NULL && outlen > 0)
        out[o] = '\0';
    *pp = p + 1;
    return 0;
}

/* Step over one JSON value at *pp (not recursive: brackets are counted). */
static int
json_skip_value(const char **pp, const char *end)
{
    const char *p = *pp;
    long        depth = 0;

    while (p < end)
    {
        char        c = *p;

        if (c == '"')
        {
            p++;
            if (json_string(&p, end, NULL, 0, NULL) < 0)
                return -2;
            if (depth == 0)
                break;
            continue;
        }
        if (c == '{' || c == '[')
            depth++;
        else if (c == '}' || c == ']')
        {
            if (depth == 0)
                break;
            if (--depth == 0)
            {
                p++;
                break;
            }
        }
        else if (c == ',' && depth == 0)
            break;
        p++;
    }
    if (p >= end && depth > 0)
        return -2;
    *pp = p;
    return 0;
}

/*
 * The string value of top-level member `name` of the JSON object in
 * [json, json + len).  0 found, -1 absent, -2 malformed, too long or not a
 * string.  Enough for the IMDS credentials document, not a JSON parser.
 */
static int
json_get_string(const char *json, size_t len, const char *name, char *out, size_t outlen)
{
    const char *p = json;
    const char *end = json + len;

    skip_ws(&p, end);
    if (p >= end || *p != '{')
        return -2;
    p++;
    for (;;)
    {
        char        key[64];
        int         toolong = 0;

        skip_ws(&p, end);
        if (p >= end)
            return -2;
        if (*p == '}')
            return -1;
        if (*p != '"')
            return -2;
        p++;
        if (json_string(&p, end, key, sizeof(key), &toolong) < 0)
            return -2;
        skip_ws(&p, end);
        if (p >= end || *p != ':')
            return -2;
        p++;
        skip_ws(&p, end);
        if (p >= end)
            return -2;
        if (!toolong && strcmp(key, name) == 0)
        {
            int         tl = 0;

            if (*p != '"')
                return -2;
            p++;
            if (json_string(&p, end, out, outlen, &tl) < 0 || tl)
                return -2;
            return 0;
        }
        if (json_skip_value(&p, end) < 0)
            return -2;
        skip_ws(&p, end);
        if (p >= end)
            return -2;
        if (*p == ',')
            p++;
        else if (*p == '}')
            return -1;
        else
            return -2;
    }
}

/* A role name as IMDS lists it: IAM's [\w+=,.@-], so it is safe in a URL path. */
static int
valid_role_name(const char *s)
{
    if (*s == '\0')
        return 0;
    for (; *s != '\0'; s++)
        if (!isalnum((unsigned char) *s) && strchr("_+=,.@-", *s) == NULL)
            return 0;
    return 1;
}

static enum source_result
from_imds(struct s3_cred_provider *p, struct s3_credentials *out, struct walk_notes *notes,
          struct ws_err *err)
{
    const char *disabled = p->env[ENV_IMDS_DISABLED];
    char        base[512];
    char        url[1024];
    char        token_hdr[1200];
    char        role[256];
    char        field[128];
    const char *ttl_headers[] = {"X-aws-ec2-metadata-token-ttl-seconds: 21600", NULL};
    const char *tok_headers[] = {token_hdr, NULL};
    struct s3_http_call rq = {0};
    struct s3_http_body body = {0};
    long        status;
    CURLcode    cc;
    enum source_result rc = SRC_ERROR;

    token_hdr[0] = '\0';
    if (disabled != NULL && strcasecmp(disabled, "true") == 0)
    {
        note_add(notes, "instance metadata: disabled by AWS_EC2_METADATA_DISABLED");
        return SRC_NONE;
    }
    if (p->env[ENV_IMDS_ENDPOINT] != NULL)
        snprintf(base, sizeof(base), "%s", p->env[ENV_IMDS_ENDPOINT]);
    else if (p->env[ENV_IMDS_ENDPOINT_MODE] != NULL &&
             strcasecmp(p->env[ENV_IMDS_ENDPOINT_MODE], "IPv6") == 0)
        snprintf(base, sizeof(base), "%s", IMDS_IPV6_ENDPOINT);
    else
        snprintf(base, sizeof(base), "%s", IMDS_DEFAULT_ENDPOINT);
    {
        size_t      n = strlen(base);

        while (n > 0 && base[n - 1] == '/')
            base[--n] = '\0';
    }

    rq.connect_timeout_ms = IMDS_CONNECT_TIMEOUT_MS;
    rq.timeout_ms = IMDS_TIMEOUT_MS;
    if (p->timeout_s > 0 && p->timeout_s * 1000 < rq.timeout_ms)
        rq.timeout_ms = p->timeout_s * 1000;
    rq.no_proxy = true;

    /* 1. the session token (IMDSv2).  No answer: not on EC2, not a source. */
    snprintf(url, sizeof(url), "%s/latest/api/token", base);
    rq.method = "PUT";
    rq.url = url;
    rq.headers = ttl_headers;
    if (s3_http_call(&rq, &status, &body, &cc) < 0)
    {
        note_add(notes, "instance metadata: no answer from %s (%s)", base,
                 s3_http_transfer_error(cc, &body));
        rc = SRC_NONE;
        goto out;
    }
    if (status != 200 || body.len == 0 || body.len > 1024)
    {
        note_add(notes, "instance metadata: token request to %s answered HTTP %ld", base, status);
        rc = SRC_NONE;
        goto out;
    }
    {
        char       *t = trim(body.data);

        if (*t == '\0' || strpbrk(t, "\r\n") != NULL)
        {
            note_add(notes, "instance metadata: empty token from %s", base);
            rc = SRC_NONE;
            goto out;
        }
        snprintf(token_hdr, sizeof(token_hdr), "X-aws-ec2-metadata-token: %s", t);
    }
    s3_http_body_free(&body);

    /* 2. the role attached to the instance */
    snprintf(url, sizeof(url), "%s/latest/meta-data/iam/security-credentials/", base);
    rq.method = "GET";
    rq.headers = tok_headers;
    if (s3_http_call(&rq, &status, &body, &cc) < 0)
    {
        err_set(err, WS_ETRANSIENT, "could not reach instance metadata at \"%s\": %s", base,
                s3_http_transfer_error(cc, &body));
        goto out;
    }
    if (status == 404)
    {
        note_add(notes, "instance metadata: no IAM role attached to the instance");
        rc = SRC_NONE;
        goto out;
    }
    if (status != 200)
    {
        err_set(err, WS_ETRANSIENT, "instance metadata at \"%s\" answered HTTP %ld to the role "
                "request", base, status);
        goto out;
    }
    {
        char       *r = body.data;

        if (r != NULL)
        {
            r[strcspn(r, "\r\n")] = '\0';
            r = trim(r);
        }
        if (r == NULL || *r == '\0')
        {
            note_add(notes, "instance metadata: no IAM role attached to the instance");
            rc = SRC_NONE;
            goto out;
        }
        if (strlen(r) >= sizeof(role) || !valid_role_name(r))
        {
            err_set(err, WS_ETRANSIENT, "unexpected role name from instance metadata at \"%s\"",
                    base);
            goto out;
        }
        snprintf(role, sizeof(role), "%s", r);
    }
    s3_http_body_free(&body);

    /* 3. the role's credentials */
    snprintf(url, sizeof(url), "%s/latest/meta-data/iam/security-credentials/%s", base, role);
    if (s3_http_call(&rq, &status, &body, &cc) < 0)
    {
        err_set(err, WS_ETRANSIENT, "could not reach instance metadata at \"%s\": %s", base,
                s3_http_transfer_error(cc, &body));
        goto out;
    }
    if (status != 200 || body.len == 0)
    {
        err_set(err, WS_ETRANSIENT, "instance metadata at \"%s\" answered HTTP %ld to the "
                "credentials request for role \"%s\"", base, status, role);
        goto out;
    }
    if (json_get_string(body.data, body.len, "Code", field, sizeof(field)) == 0 &&
        strcmp(field, "Success") != 0)
    {
        scrub_text(field, NULL);
        err_set(err, WS_EAUTH, "instance metadata has no credentials for role \"%s\": %s",
                role, field);
        goto out;
    }
    if (json_get_string(body.data, body.len, "AccessKeyId", out->access_key_id,
                        sizeof(out->access_key_id)) != 0 || out->access_key_id[0] == '\0' ||
        json_get_string(body.data, body.len, "SecretAccessKey", out->secret_access_key,
                        sizeof(out->secret_access_key)) != 0 ||
        out->secret_access_key[0] == '\0' ||
        json_get_string(body.data, body.len, "Token", out->session_token,
                        sizeof(out->session_token)) != 0 ||
        json_get_string(body.data, body.len, "Expiration", field, sizeof(field)) != 0 ||
        (out->expiration = s3_time_parse(field)) <= 0)
    {
        wipe_creds(out);
        err_set(err, WS_ETRANSIENT, "unexpected credentials document from instance metadata "
                "at \"%s\" for role \"%s\"", base, role);
        goto out;
    }
    snprintf(out->source, sizeof(out->source), "instance metadata");
    rc = SRC_FOUND;

out:
    s3_http_body_free(&body);
    OPENSSL_cleanse(token_hdr, sizeof(token_hdr));
    return rc;
}

/* ---- the chain --------------------------------------------------------------- */

static enum source_result
from_settings(struct s3_cred_provider *p, struct s3_credentials *out, struct walk_notes *notes)
{
    if (p->set_key[0] == '\0')
    {
        note_add(notes, "settings: s3_access_key_id not set");
        return SRC_NONE;
    }
    memcpy(out->access_key_id, p->set_key, sizeof(p->set_key));
    memcpy(out->secret_access_key, p->set_secret, sizeof(p->set_secret));
    memcpy(out->session_token, p->set_token, sizeof(p->set_token));
    out->expiration = 0;
    snprintf(out->source, sizeof(out->source), "settings");
    return SRC_FOUND;
}

static enum source_result
from_environment(struct s3_cred_provider *p, struct s3_credentials *out,
                 struct walk_notes *notes, struct ws_err *err)
{
    const char *key = p->env[ENV_ACCESS_KEY_ID];
    const char *secret = p->env[ENV_SECRET_ACCESS_KEY];
    const char *token = p->env[ENV_SESSION_TOKEN];

    if (key == NULL && secret == NULL)
    {
        note_add(notes, "environment: AWS_ACCESS_KEY_ID not set");
        return SRC_NONE;
    }
    if (key == NULL || secret == NULL)
    {
        err_set(err, WS_ECONFIG, "incomplete S3 credentials in the environment: %s is not set",
                key == NULL ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY");
        err_detail(err, "%s is set.", key == NULL ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID");
        err_hint(err, "Set both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or neither.");
        return SRC_ERROR;
    }
    if (copy_str(out->access_key_id, sizeof(out->access_key_id), key) < 0 ||
        copy_str(out->secret_access_key, sizeof(out->secret_access_key), secret) < 0 ||
        copy_str(out->session_token, sizeof(out->session_token), token != NULL ? token : "") < 0)
    {
        wipe_creds(out);
        err_set(err, WS_ECONFIG, "AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY or "
                "AWS_SESSION_TOKEN is too long");
        return SRC_ERROR;
    }
    out->expiration = 0;
    snprintf(out->source, sizeof(out->source), "environment");
    return SRC_FOUND;
}

/* A path from the environment with "~/" expanded, or HOME/dflt; "" if neither. */
static void
shared_path(struct s3_cred_provider *p, enum cred_env var, const char *dflt, char *buf,
            size_t size)
{
    const char *v = p->env[var];
    const char *home = p->env[ENV_HOME];

    buf[0] = '\0';
    if (v != NULL)
    {
        if (v[0] == '~' && v[1] == '/' && home != NULL)
            snprintf(buf, size, "%s%s", home, v + 1);
        else
            snprintf(buf, size, "%s", v);
    }
    else if (home != NULL)
        snprintf(buf, size, "%s/%s", home, dflt);
}

static enum source_result
from_shared_files(struct s3_cred_provider *p, struct s3_credentials *out,
                  struct walk_notes *notes, struct ws_err *err)
{
    char        cred_path[PATH_MAX];
    char        config_path[PATH_MAX];
    const char *profile = p->env[ENV_PROFILE] != NULL ? p->env[ENV_PROFILE]
        : p->env[ENV_DEFAULT_PROFILE];
    int         named = profile != NULL;
    int         found;

    if (profile == NULL)
        profile = "default";
    shared_path(p, ENV_SHARED_CREDENTIALS_FILE, ".aws/credentials", cred_path,
                sizeof(cred_path));
    shared_path(p, ENV_CONFIG_FILE, ".aws/config", config_path, sizeof(config_path));
    if (cred_path[0] == '\0' && config_path[0] == '\0')
    {
        if (named)
        {
            err_set(err, WS_ECONFIG, "profile \"%s\" not found: HOME is not set", profile);
            return SRC_ERROR;
        }
        note_add(notes, "shared files: HOME not set");
        return SRC_NONE;
    }
    if (files_lookup(cred_path[0] != '\0' ? cred_path : NULL,
                     config_path[0] != '\0' ? config_path : NULL,
                     profile, out, NULL, 0, &found, err) == 0)
        return SRC_FOUND;
    if (err->code != WS_ENOTFOUND)
        return SRC_ERROR;
    if (named && !found)
    {
        /* the message from files_lookup names both files; make it a configuration error */
        err->code = WS_ECONFIG;
        err_hint(err, "Check %s, or add the profile to one of the files.",
                 p->env[ENV_PROFILE] != NULL ? "AWS_PROFILE" : "AWS_DEFAULT_PROFILE");
        return SRC_ERROR;
    }
    note_add(notes, "shared files: %s", err->msg);
    err_clear(err);
    return SRC_NONE;
}

/* Walk the chain once.  Called with p->lock held. */
static int
walk_chain(struct s3_cred_provider *p, struct s3_credentials *out, struct ws_err *err)
{
    struct walk_notes notes = {{0}};
    enum source_result r;

    memset(out, 0, sizeof(*out));
    if ((r = from_settings(p, out, &notes)) == SRC_NONE &&
        (r = from_environment(p, out, &notes, err)) == SRC_NONE &&
        (r = from_shared_files(p, out, &notes, err)) == SRC_NONE &&
        (r = from_web_identity(p, out, &notes, err)) == SRC_NONE)
        r = from_imds(p, out, &notes, err);
    if (r == SRC_FOUND)
        return 0;
    wipe_creds(out);
    if (r == SRC_ERROR)
        return -1;
    err_set(err, WS_EAUTH, "no S3 credentials found");
    err_detail(err, "%s.", notes.text);
    err_hint(err, "Sources tried: walship settings, environment, shared files, web identity, "
             "instance metadata.");
    return -1;
}

/* ---- the provider --------------------------------------------------------------- */

static void
provider_free_fields(struct s3_cred_provider *p)
{
    for (int i = 0; i < ENV_COUNT; i++)
        wipe_free(p->env[i]);
    free(p->ca_file);
}

struct s3_cred_provider *
s3_cred_provider_new(const struct s3_cred_settings *s, struct ws_err *err)
{
    struct s3_cred_provider *p = NULL;
    const char *key = s != NULL && s->access_key_id != NULL ? s->access_key_id : "";
    const char *secret = s != NULL && s->secret_access_key != NULL ? s->secret_access_key : "";
    const char *token = s != NULL && s->session_token != NULL ? s->session_token : "";
    const char *region = s != NULL && s->region != NULL ? s->region : "";
    int         ok = 0;

    /* half a key pair in the settings is a mistake, not a reason to look elsewhere */
    if ((key[0] == '\0') != (secret[0] == '\0'))
    {
        err_set(err, WS_ECONFIG, "incomplete S3 credentials in the settings: %s is not set",
                key[0] == '\0' ? "s3_access_key_id" : "s3_secret_access_key");
        err_detail(err, "%s is set.", key[0] == '\0' ? "s3_secret_access_key" : "s3_access_key_id");
        err_hint(err, "Set both s3_access_key_id and s3_secret_access_key, or neither.");
        return NULL;
    }
    if (key[0] == '\0' && token[0] != '\0')
    {
        err_set(err, WS_ECONFIG, "s3_session_token is set without s3_access_key_id and "
                "s3_secret_access_key");
        return NULL;
    }

    if ((p = calloc(1, sizeof(*p))) == NULL)
    {
        err_set(err, WS_EINTERNAL, "out of memory");
        return NULL;
    }
    if (copy_str(p->set_key, sizeof(p->set_key), key) < 0 ||
        copy_str(p->set_secret, sizeof(p->set_secret), secret) < 0 ||
        copy_str(p->set_token, sizeof(p->set_token), token) < 0)
    {
        err_set(err, WS_ECONFIG, "s3_access_key_id, s3_secret_access_key or s3_session_token "
                "is too long");
        goto out;
    }
    if (copy_str(p->region, sizeof(p->region), region) < 0)
    {
        err_set(err, WS_ECONFIG, "S3 region \"%.64s...\" is too long", region);
        goto out;
    }
    p->verify_tls = s != NULL ? s->verify_tls : 1;
    p->timeout_s = s != NULL ? s->timeout_s : 0;
    if (s != NULL && s->ca_file != NULL && s->ca_file[0] != '\0' &&
        (p->ca_file = strdup(s->ca_file)) == NULL)
    {
        err_set(err, WS_EINTERNAL, "out of memory");
        goto out;
    }
    for (int i = 0; i < ENV_COUNT; i++)
    {
        const char *v = getenv(env_names[i]);

        if (v != NULL && v[0] != '\0' && (p->env[i] = strdup(v)) == NULL)
        {
            err_set(err, WS_EINTERNAL, "out of memory");
            goto out;
        }
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
    {
        err_set(err, WS_EINTERNAL, "could not initialize libcurl");
        goto out;
    }
    if (pthread_mutex_init(&p->lock, NULL) != 0)
    {
        curl_global_cleanup();
        err_set(err, WS_EINTERNAL, "could not initialize a mutex");
        goto out;
    }
    ok = 1;

out:
    if (!ok)
    {
        provider_free_fields(p);
        OPENSSL_cleanse(p, sizeof(*p));
        free(p);
        return NULL;
    }
    return p;
}

void
s3_cred_provider_free(struct s3_cred_provider *p)
{
    if (p == NULL)
        return;
    pthread_mutex_destroy(&p->lock);
    provider_free_fields(p);
    OPENSSL_cleanse(p, sizeof(*p));
    free(p);
    curl_global_cleanup();
}

static int
fresh(const struct s3_credentials *c, int64_t now, int64_t margin)
{
    return c->expiration == 0 || c->expiration >= now + margin;
}

int
s3_cred_get(struct s3_cred_provider *p, struct s3_credentials *out, struct ws_err *err)
{
    struct s3_credentials *next = NULL;
    int64_t     now = (int64_t) time(NULL);
    int         rc = -1;

    pthread_mutex_lock(&p->lock);
    if (p->have && fresh(&p->cached, now, CRED_REFRESH_MARGIN))
    {
        memcpy(out, &p->cached, sizeof(*out));
        rc = 0;
        goto out;
    }
    if ((next = malloc(sizeof(*next))) == NULL)
    {
        err_set(err, WS_EINTERNAL, "out of memory");
        goto out;
    }
    if (walk_chain(p, next, err) < 0)
    {
        /* A failed refresh is not fatal while the old credentials still work;
         * the next call tries again. */
        if (p->have && fresh(&p->cached, now, CRED_GRACE))
        {
            err_clear(err);
            memcpy(out, &p->cached, sizeof(*out));
            rc = 0;
        }
        goto out;
    }
    wipe_creds(&p->cached);
    memcpy(&p->cached, next, sizeof(*next));
    p->have = 1;
    memcpy(out, next, sizeof(*out));
    rc = 0;

out:
    pthread_mutex_unlock(&p->lock);
    if (next != NULL)
    {
        wipe_creds(next);
        free(next);
    }
    return rc;
}

void
s3_cred_invalidate(struct s3_cred_provider *p)
{
    if (p == NULL)
        return;
    pthread_mutex_lock(&p->lock);
    wipe_creds(&p->cached);
    p->have = 0;
    pthread_mutex_unlock(&p->lock);
}
