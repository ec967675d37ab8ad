/*
 * s3_cred.h — AWS credentials for the S3 driver, found in the order AWS tools use:
 *
 *   1. walship settings: s3_access_key_id, s3_secret_access_key, s3_session_token
 *   2. environment: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN
 *   3. shared files: AWS_SHARED_CREDENTIALS_FILE (default ~/.aws/credentials) and
 *      AWS_CONFIG_FILE (default ~/.aws/config), profile AWS_PROFILE (default
 *      "default"; in the config file the section is "[profile NAME]", except
 *      "[default]")
 *   4. web identity (Kubernetes/IRSA): AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE
 *      (+ AWS_ROLE_SESSION_NAME), through STS AssumeRoleWithWebIdentity at
 *      AWS_ENDPOINT_URL_STS, else https://sts.<region>.amazonaws.com
 *   5. EC2 instance metadata with IMDSv2 tokens at
 *      AWS_EC2_METADATA_SERVICE_ENDPOINT (default http://169.254.169.254),
 *      unless AWS_EC2_METADATA_DISABLED=true
 *
 * A half-configured source (a key id without its secret, a role without its
 * token file) is WS_ECONFIG, not skipped; settings are checked already in
 * s3_cred_provider_new.  From the shared files, key, secret and token come
 * whole from one file (credentials file first), never mixed.
 *
 * Temporary credentials (4, 5, and any with an expiration) are refreshed when
 * less than 5 minutes remain; if a refresh fails while the cached ones are
 * still valid for at least 60 s, those are used and the refresh is retried on
 * the next call.  A provider is thread-safe.  No secret ever
 * appears in an error message or a log line.
 */
#ifndef WS_S3_CRED_H
#define WS_S3_CRED_H

#include <stdint.h>
#include "err.h"

struct s3_credentials
{
    char        access_key_id[256];
    char        secret_access_key[256];
    char        session_token[4096];    /* "" if none */
    int64_t     expiration;             /* Unix seconds, 0 = does not expire */
    char        source[64];             /* "settings", "environment", "profile NAME",
                                         * "web identity", "instance metadata" */
};

/* What the provider is built from: the walship settings plus the process
 * environment (read at s3_cred_provider_new). */
struct s3_cred_settings
{
    const char *access_key_id;          /* may be "" */
    const char *secret_access_key;
    const char *session_token;
    const char *region;                 /* resolved region, for STS */
    const char *ca_file;                /* "" = system default (caller resolves AWS_CA_BUNDLE) */
    int         verify_tls;
    long        timeout_s;              /* per HTTP request to STS/IMDS */
};

struct s3_cred_provider;

struct s3_cred_provider *s3_cred_provider_new(const struct s3_cred_settings *s,
                                              struct ws_err *err);
void        s3_cred_provider_free(struct s3_cred_provider *p);

/*
 * Current credentials (copied into *out).  The first call walks the chain;
 * later calls return the cached ones, refreshing temporary credentials that
 * expire within 5 minutes.  WS_EAUTH with a hint naming what was tried when
 * no source has credentials; WS_ETRANSIENT when STS/IMDS could not be reached.
 */
int         s3_cred_get(struct s3_cred_provider *p, struct s3_credentials *out,
                        struct ws_err *err);

/* Drop cached credentials so the next s3_cred_get walks the chain again
 * (after the server rejected them as expired). */
void        s3_cred_invalidate(struct s3_cred_provider *p);

/*
 * Shared-file parsing, exposed for tests.  Reads `profile` from the
 * credentials file and then the config file (keys aws_access_key_id,
 * aws_secret_access_key, aws_session_token; region from the config file's
 * profile).  Either path may be NULL or missing.  Returns 0 and fills *out
 * (and region, if found, else region[0] = '\0') when the profile has keys,
 * WS_ENOTFOUND when it has none, WS_ECONFIG for a malformed file (naming file
 * and line).
 */
int         s3_cred_from_files(const char *credentials_path, const char *config_path,
                               const char *profile, struct s3_credentials *out,
                               char *region, size_t regionlen, struct ws_err *err);

/* The region configured for `profile` in the config file, or "" (for region resolution). */
void        s3_cred_profile_region(const char *config_path, const char *profile, char *region,
                                   size_t regionlen);

#endif
