/*
 * cfg.c — walship configuration: defaults, file, environment, argv.  See cfg.h.
 *
 * One static option table (cfg_option_table) names every key in order; a
 * parallel table (opt_specs) says how each value is parsed.  cfg_load applies
 * the sources in increasing precedence and only returns errors: it never
 * logs, never exits and keeps no static mutable state.
 *
 * Error messages follow PostgreSQL's GUC file wording, e.g.
 *   invalid value for parameter "compression" in file "/etc/walship.conf" line 3: "lz5"
 * A secret value is never copied into a message.
 */
#include "cfg.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

extern char **environ;

#define ENV_PREFIX "WALSHIP_"
#define ENV_CONFIG "WALSHIP_CONFIG"

/* Indexes into the option table; the order is the documented order. */
enum opt_index
{
    OPT_REPO = 0,
    OPT_COMPRESSION,
    OPT_COMPRESSION_LEVEL,
    OPT_COMPRESSION_THREADS,
    OPT_ENCRYPTION,
    OPT_ENCRYPTION_PASSPHRASE,
    OPT_ENCRYPTION_PASSPHRASE_FILE,
    OPT_LOG_LEVEL,
    OPT_PGDATA,
    OPT_RETRY_ATTEMPTS,
    OPT_RETRY_DELAY_MS,
    OPT_ENCRYPTION_KEY_CACHE,
    OPT_S3_ENDPOINT,
    OPT_S3_REGION,
    OPT_S3_URI_STYLE,
    OPT_S3_ACCESS_KEY_ID,
    OPT_S3_SECRET_ACCESS_KEY,
    OPT_S3_SESSION_TOKEN,
    OPT_S3_CA_FILE,
    OPT_S3_VERIFY_TLS,
    OPT_S3_STORAGE_CLASS,
    OPT_S3_SSE,
    OPT_S3_SSE_KMS_KEY_ID,
    OPT_S3_PART_SIZE,
    OPT_S3_CONNECT_TIMEOUT,
    OPT_S3_TIMEOUT,
    OPT_S3_MAX_RETRIES,
    OPT_PG_CONNINFO,
    OPT_BACKUP_WAL_TIMEOUT,
    OPT_BACKUP_PART_SIZE,
    OPT_RECOVER_JOBS,
    OPT_COUNT
};

static const struct cfg_option cfg_option_table[] = {
    [OPT_REPO] = {"repo", "",
        "repository location (a directory)", false},
    [OPT_COMPRESSION] = {"compression", "zstd",
        "compression algorithm: zstd, gzip or none", false},
    [OPT_COMPRESSION_LEVEL] = {"compression_level", "",
        "compression level: zstd 1..19 or fast -5..-2, gzip 1..9; empty or -1 = default", false},
    [OPT_COMPRESSION_THREADS] = {"compression_threads", "0",
        "zstd worker threads, 0 = single-threaded (0..64)", false},
    [OPT_ENCRYPTION] = {"encryption", "none",
        "encryption: none or aes-256-gcm", false},
    [OPT_ENCRYPTION_PASSPHRASE] = {"encryption_passphrase", "",
        "encryption passphrase (prefer encryption_passphrase_file)", true},
    [OPT_ENCRYPTION_PASSPHRASE_FILE] = {"encryption_passphrase_file", "",
        "file holding the encryption passphrase (mode 0600)", false},
    [OPT_LOG_LEVEL] = {"log_level", "info",
        "message level: error, warning, info or debug", false},
    [OPT_PGDATA] = {"pgdata", ".",
        "PostgreSQL data directory", false},
    [OPT_RETRY_ATTEMPTS] = {"retry_attempts", "3",
        "retries after a transient error (0..100)", false},
    [OPT_RETRY_DELAY_MS] = {"retry_delay_ms", "200",
        "first retry delay in milliseconds (0..600000)", false},
    [OPT_ENCRYPTION_KEY_CACHE] = {"encryption_key_cache", "/dev/shm",
        "directory for the per-user cache of derived keys (tmpfs), or off", false},
    [OPT_S3_ENDPOINT] = {"s3_endpoint", "",
        "S3 endpoint URL, e.g. https://minio.example:9000 (default: AWS for the region)", false},
    [OPT_S3_REGION] = {"s3_region", "",
        "S3 region (default: AWS_REGION, AWS_DEFAULT_REGION, the profile, us-east-1)", false},
    [OPT_S3_URI_STYLE] = {"s3_uri_style", "auto",
        "S3 addressing: path, virtual, or auto (path with s3_endpoint, else virtual)", false},
    [OPT_S3_ACCESS_KEY_ID] = {"s3_access_key_id", "",
        "S3 access key id (default: the AWS credential chain)", false},
    [OPT_S3_SECRET_ACCESS_KEY] = {"s3_secret_access_key", "",
        "S3 secret access key", true},
    [OPT_S3_SESSION_TOKEN] = {"s3_session_token", "",
        "S3 session token for temporary credentials", true},
    [OPT_S3_CA_FILE] = {"s3_ca_file", "",
        "CA certificate file for the S3 endpoint (default: the system's)", false},
    [OPT_S3_VERIFY_TLS] = {"s3_verify_tls", "on",
        "verify the S3 endpoint's TLS certificate (off only for test rigs)", false},
    [OPT_S3_STORAGE_CLASS] = {"s3_storage_class", "",
        "storage class of new objects, e.g. STANDARD_IA (default: the bucket's)", false},
    [OPT_S3_SSE] = {"s3_sse", "",
        "server-side encryption: '', AES256 or aws:kms", false},
    [OPT_S3_SSE_KMS_KEY_ID] = {"s3_sse_kms_key_id", "",
        "KMS key id for s3_sse = aws:kms", false},
    [OPT_S3_PART_SIZE] = {"s3_part_size", "16MB",
        "multipart part size (5MB .. 5GB; kB, MB, GB units); grows for huge streams", false},
    [OPT_S3_CONNECT_TIMEOUT] = {"s3_connect_timeout", "10",
        "seconds to connect to the S3 endpoint (1..600)", false},
    [OPT_S3_TIMEOUT] = {"s3_timeout", "60",
        "seconds without progress before an S3 request is abandoned and retried (1..3600)", false},
    [OPT_S3_MAX_RETRIES] = {"s3_max_retries", "5",
        "retries of a failed S3 request (0..100)", false},
    [OPT_PG_CONNINFO] = {"pg_conninfo", "",
        "libpq connection string for base backups (default: the PG* environment variables)", false},
    [OPT_BACKUP_WAL_TIMEOUT] = {"backup_wal_timeout", "300",
        "seconds without archiving progress before a backup's WAL is declared missing (1..86400)", false},
    [OPT_BACKUP_PART_SIZE] = {"backup_part_size", "1GB",
        "split each tablespace archive into objects of about this size (16MB .. 64GB)", false},
    [OPT_RECOVER_JOBS] = {"recover_jobs", "4",
        "objects walship-recover fetches and extracts in parallel (1..64)", false},
};

enum opt_type
{
    OPT_T_STRING,
    OPT_T_INT,
    OPT_T_ENUM,
    OPT_T_SIZE              /* bytes, with optional kB/MB/GB/TB (1024-based) unit */
};

struct opt_name
{
    const char *name;
    int         value;
};

struct opt_spec
{
    enum opt_type type;
    int         min;            /* OPT_T_INT: accepted range */
    int         max;
    bool        empty_is_default;   /* OPT_T_INT: "" means -1 */
    const struct opt_name *names;   /* OPT_T_ENUM: NULL-terminated */
};

static const struct opt_name compression_names[] = {
    {"zstd", CFG_COMPRESS_ZSTD},
    {"gzip", CFG_COMPRESS_GZIP},
    {"none", CFG_COMPRESS_NONE},
    {NULL, 0}
};

static const struct opt_name encryption_names[] = {
    {"none", CFG_ENCRYPT_NONE},
    {"aes-256-gcm", CFG_ENCRYPT_AES_256_GCM},
    {NULL, 0}
};

/* Only for the "Available values" hint; parsing uses log_level_parse(). */
static const struct opt_name log_level_names[] = {
    {"error", LOG_LEVEL_ERROR},
    {"warning", LOG_LEVEL_WARNING},
    {"info", LOG_LEVEL_INFO},
    {"debug", LOG_LEVEL_DEBUG},
    {NULL, 0}
};

static const struct opt_name uri_style_names[] = {
    {"auto", CFG_URI_AUTO},
    {"path", CFG_URI_PATH},
    {"virtual", CFG_URI_VIRTUAL},
    {NULL, 0}
};

static const struct opt_name bool_names[] = {
    {"on", 1}, {"off", 0}, {"true", 1}, {"false", 0}, {"yes", 1}, {"no", 0}, {"1", 1}, {"0", 0},
    {NULL, 0}
};

static const struct opt_name sse_names[] = {
    {"", CFG_SSE_NONE},
    {"AES256", CFG_SSE_AES256},
    {"aws:kms", CFG_SSE_KMS},
    {NULL, 0}
};

static const struct opt_spec opt_specs[] = {
    [OPT_REPO] = {OPT_T_STRING, 0, 0, false, NULL},
    [OPT_COMPRESSION] = {OPT_T_ENUM, 0, 0, false, compression_names},
    /* the per-algorithm range is checked by cfg_validate */
    [OPT_COMPRESSION_LEVEL] = {OPT_T_INT, -5, 19, true, NULL},
    [OPT_COMPRESSION_THREADS] = {OPT_T_INT, 0, 64, false, NULL},
    [OPT_ENCRYPTION] = {OPT_T_ENUM, 0, 0, false, encryption_names},
    [OPT_ENCRYPTION_PASSPHRASE] = {OPT_T_STRING, 0, 0, false, NULL},
    [OPT_ENCRYPTION_PASSPHRASE_FILE] = {OPT_T_STRING, 0, 0, false, NULL},
    [OPT_LOG_LEVEL] = {OPT_T_ENUM, 0, 0, false, log_level_names},
    [OPT_PGDATA] = {OPT_T_STRING, 0, 0, false, NULL},
    [OPT_RETRY_ATTEMPTS] = {OPT_T_INT, 0, 100, false, NULL},
    [OPT_RETRY_DELAY_MS] = {OPT_T_INT, 0, 600000, false, NULL},
    [OPT_ENCRYPTION_KEY_CACHE] = {OPT_T_STRING, 0, 0, false, NULL},
    [OPT_S3_ENDPOINT] = {OPT_T_STRING, 0, 0, false, NULL},
    [OPT_S3_REGION] = {OPT_T_STRING, 0, 0, false, NULL},
    [OPT_S3_URI_STYLE] = {OPT_T_ENUM, 0, 0, false, uri_style_names},
    [OPT_S3_ACCESS_KEY_ID] = {OPT_T_STRING, 0, 0, false, NULL},
    [OPT_S3_SECRET_ACCESS_KEY] = {OPT_T_STRING, 0, 0, false, NULL},
    [OPT_S3_SESSION_TOKEN] = {OPT_T_STRING, 0, 0, false, NULL},
    [OPT_S3_CA_FILE] = {OPT_T_STRING, 0, 0, false, NULL},
    [OPT_S3_VERIFY_TLS] = {OPT_T_ENUM, 0, 0, false, bool_names},
    [OPT_S3_STORAGE_CLASS] = {OPT_T_STRING, 0, 0, false, NULL},
    [OPT_S3_SSE] = {OPT_T_ENUM, 0, 0, false, sse_names},
    [OPT_S3_SSE_KMS_KEY_ID] = {OPT_T_STRING, 0, 0, false, NULL},
    [OPT_S3_PART_SIZE] = {OPT_T_SIZE, 0, 0, false, NULL},
    [OPT_S3_CONNECT_TIMEOUT] = {OPT_T_INT, 1, 600, false, NULL},
    [OPT_S3_TIMEOUT] = {OPT_T_INT, 1, 3600, false, NULL},
    [OPT_S3_MAX_RETRIES] = {OPT_T_INT, 0, 100, false, NULL},
    [OPT_PG_CONNINFO] = {OPT_T_STRING, 0, 0, false, NULL},
    [OPT_BACKUP_WAL_TIMEOUT] = {OPT_T_INT, 1, 86400, false, NULL},
    [OPT_BACKUP_PART_SIZE] = {OPT_T_SIZE, 0, 0, false, NULL},
    [OPT_RECOVER_JOBS] = {OPT_T_INT, 1, 64, false, NULL},
};

_Static_assert(sizeof(cfg_option_table) / sizeof(cfg_option_table[0]) == OPT_COUNT,
               "cfg_option_table out of step with enum opt_index");
_Static_assert(sizeof(opt_specs) / sizeof(opt_specs[0]) == OPT_COUNT,
               "opt_specs out of step with enum opt_index");
_Static_assert(OPT_COUNT <= CFG_MAX_KEYS, "struct cfg source[] too small");

/* Where a value being assigned comes from, for error messages. */
struct where
{
    enum cfg_source src;
    const char *file;           /* CFG_SRC_FILE */
    int         line;           /* CFG_SRC_FILE */
};

/* One --key=value found on the command line, applied after file and env
 * (never a secret: those are refused there). */
struct argv_setting
{
    int         idx;
    const char *value;
};

const struct cfg_option *
cfg_options(int *n)
{
    if (n != NULL)
        *n = OPT_COUNT;
    return cfg_option_table;
}

const char *
cfg_compression_name(enum cfg_compression c)
{
    for (const struct opt_name *nm = compression_names; nm->name != NULL; nm++)
        if (nm->value == (int) c)
            return nm->name;
    return "unknown";
}

const char *
cfg_encryption_name(enum cfg_encryption e)
{
    for (const struct opt_name *nm = encryption_names; nm->name != NULL; nm++)
        if (nm->value == (int) e)
            return nm->name;
    return "unknown";
}

/* Index of the option called name[0..len), or -1.  File keys ignore case. */
static int
find_option(const char *name, size_t len, bool ignore_case)
{
    for (int i = 0; i < OPT_COUNT; i++)
    {
        const char *key = cfg_option_table[i].name;

        if (strlen(key) != len)
            continue;
        if (ignore_case ? strncasecmp(key, name, len) == 0 : strncmp(key, name, len) == 0)
            return i;
    }
    return -1;
}

/* "WALSHIP_COMPRESSION_LEVEL" for option idx. */
static void
env_name(int idx, char *buf, size_t size)
{
    size_t      n;

    n = (size_t) snprintf(buf, size, "%s%s", ENV_PREFIX, cfg_option_table[idx].name);
    if (n >= size)
        n = size - 1;
    for (size_t i = 0; i < n; i++)
        buf[i] = (char) toupper((unsigned char) buf[i]);
}

/* What is being set, for messages: parameter "x" in file "f" line n, ... */
static void
describe(int idx, const struct where *w, char *buf, size_t size)
{
    switch (w->src)
    {
        case CFG_SRC_FILE:
            snprintf(buf, size, "parameter \"%s\" in file \"%s\" line %d",
                     cfg_option_table[idx].name, w->file, w->line);
            break;
        case CFG_SRC_ENV:
            {
                char        name[128];

                env_name(idx, name, sizeof(name));
                snprintf(buf, size, "environment variable %s", name);
            }
            break;
        case CFG_SRC_ARGV:
            snprintf(buf, size, "option --%s", cfg_option_table[idx].name);
            break;
        case CFG_SRC_DEFAULT:
            snprintf(buf, size, "default of parameter \"%s\"", cfg_option_table[idx].name);
            break;
    }
}

/* "zstd, gzip, none" */
static void
names_list(const struct opt_name *names, char *buf, size_t size)
{
    size_t      used = 0;

    buf[0] = '\0';
    for (const struct opt_name *nm = names; nm->name != NULL && used < size; nm++)
    {
        int         n = snprintf(buf + used, size - used, "%s%s",
                                 nm == names ? "" : ", ", nm->name);

        if (n < 0)
            break;
        used += (size_t) n;
    }
}

/* Size with an optional PostgreSQL-style unit (B, kB, MB, GB, TB; 1024-based). */
static int
parse_size(const char *s, uint64_t *out)
{
    static const struct
    {
        const char *unit;
        uint64_t    mult;
    }           units[] = {{"", 1}, {"B", 1}, {"kB", 1024}, {"MB", 1024 * 1024},
                           {"GB", 1024ULL * 1024 * 1024}, {"TB", 1024ULL * 1024 * 1024 * 1024}};
    char       *end;
    unsigned long long v;

    if (*s < '0' || *s > '9')
        return -1;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno != 0)
        return -1;
    while (*end == ' ')
        end++;
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
        if (strcmp(end, units[i].unit) == 0)
        {
            if (v > UINT64_MAX / units[i].mult)
                return -1;
            *out = v * units[i].mult;
            return 0;
        }
    return -1;
}

/* Strict decimal integer: the whole string, no blanks, within int. */
static int
parse_int(const char *s, long *out)
{
    char       *end;
    long        v;

    if (*s == '\0' || isspace((unsigned char) *s))
        return -1;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < INT_MIN || v > INT_MAX)
        return -1;
    *out = v;
    return 0;
}

static void
set_string(char *field, const char *value, size_t len)
{
    memcpy(field, value, len);
    field[len] = '\0';
}

/* Copy into a field smaller than CFG_MAX_VALUE, or fail naming the option. */
#define SET_BOUNDED(field) \
    do { \
        if (len >= sizeof(field)) \
        { \
            describe(idx, w, subject, sizeof(subject)); \
            err_set(err, WS_ECONFIG, "value for %s is too long (%zu bytes, maximum %zu)", \
                    subject, len, sizeof(field) - 1); \
            goto out; \
        } \
        set_string(field, value, len); \
    } while (0)

/* Parse `value` for option idx and store it in cfg; record the source. */
static int
assign(struct cfg *cfg, int idx, const char *value, const struct where *w,
       struct ws_err *err)
{
    const struct opt_spec *spec = &opt_specs[idx];
    char        subject[CFG_MAX_VALUE + 128];
    size_t      len = strlen(value);
    long        num = 0;
    uint64_t    size = 0;
    int         choice = 0;
    int         rc = -1;

    if (len >= CFG_MAX_VALUE)
    {
        describe(idx, w, subject, sizeof(subject));
        err_set(err, WS_ECONFIG, "value for %s is too long (%zu bytes, maximum %d)",
                subject, len, CFG_MAX_VALUE - 1);
        goto out;
    }

    switch (spec->type)
    {
        case OPT_T_STRING:
            break;
        case OPT_T_SIZE:
            if (parse_size(value, &size) < 0)
            {
                describe(idx, w, subject, sizeof(subject));
                err_set(err, WS_ECONFIG, "invalid value for %s: \"%s\"", subject, value);
                err_hint(err, "Parameter \"%s\" requires a size such as 16MB (units kB, MB, GB, TB).",
                         cfg_option_table[idx].name);
                goto out;
            }
            break;
        case OPT_T_INT:
            if (spec->empty_is_default && value[0] == '\0')
            {
                num = -1;
                break;
            }
            if (parse_int(value, &num) < 0)
            {
                describe(idx, w, subject, sizeof(subject));
                err_set(err, WS_ECONFIG, "invalid value for %s: \"%s\"", subject, value);
                err_hint(err, "Parameter \"%s\" requires an integer in the range %d .. %d.",
                         cfg_option_table[idx].name, spec->min, spec->max);
                goto out;
            }
            if (num < spec->min || num > spec->max)
            {
                describe(idx, w, subject, sizeof(subject));
                err_set(err, WS_ECONFIG,
                        "invalid value for %s: %ld is outside the valid range for "
                        "parameter \"%s\" (%d .. %d)",
                        subject, num, cfg_option_table[idx].name, spec->min, spec->max);
                goto out;
            }
            break;
        case OPT_T_ENUM:
            {
                bool        found = false;

                if (idx == OPT_LOG_LEVEL)
                {
                    enum log_level lvl;

                    if (log_level_parse(value, &lvl) == 0)
                    {
                        choice = (int) lvl;
                        found = true;
                    }
                }
                else
                {
                    for (const struct opt_name *nm = spec->names; nm->name != NULL; nm++)
                        if (strcasecmp(nm->name, value) == 0)
                        {
                            choice = nm->value;
                            found = true;
                            break;
                        }
                }
                if (!found)
                {
                    char        list[256];

                    names_list(spec->names, list, sizeof(list));
                    describe(idx, w, subject, sizeof(subject));
                    err_set(err, WS_ECONFIG, "invalid value for %s: \"%s\"", subject, value);
                    err_hint(err, "Available values: %s.", list);
                    goto out;
                }
            }
            break;
    }

    switch ((enum opt_index) idx)
    {
        case OPT_REPO:
            set_string(cfg->repo, value, len);
            break;
        case OPT_COMPRESSION:
            cfg->compression = (enum cfg_compression) choice;
            break;
        case OPT_COMPRESSION_LEVEL:
            cfg->compression_level = (int) num;
            break;
        case OPT_COMPRESSION_THREADS:
            cfg->compression_threads = (int) num;
            break;
        case OPT_ENCRYPTION:
            cfg->encryption = (enum cfg_encryption) choice;
            break;
        case OPT_ENCRYPTION_PASSPHRASE:
            set_string(cfg->encryption_passphrase, value, len);
            /* remembered even if a later source overrides it: the file
             * still holds a secret and must not be readable by others */
            break;
        case OPT_ENCRYPTION_PASSPHRASE_FILE:
            set_string(cfg->encryption_passphrase_file, value, len);
            break;
        case OPT_LOG_LEVEL:
            cfg->log_level = (enum log_level) choice;
            break;
        case OPT_PGDATA:
            set_string(cfg->pgdata, value, len);
            break;
        case OPT_RETRY_ATTEMPTS:
            cfg->retry_attempts = (int) num;
            break;
        case OPT_RETRY_DELAY_MS:
            cfg->retry_delay_ms = (int) num;
            break;
        case OPT_ENCRYPTION_KEY_CACHE:
            set_string(cfg->encryption_key_cache, value, len);
            break;
        case OPT_S3_ENDPOINT:
            set_string(cfg->s3.endpoint, value, len);
            break;
        case OPT_S3_REGION:
            SET_BOUNDED(cfg->s3.region);
            break;
        case OPT_S3_URI_STYLE:
            cfg->s3.uri_style = (enum cfg_uri_style) choice;
            break;
        case OPT_S3_ACCESS_KEY_ID:
            SET_BOUNDED(cfg->s3.access_key_id);
            break;
        case OPT_S3_SECRET_ACCESS_KEY:
            SET_BOUNDED(cfg->s3.secret_access_key);
            break;
        case OPT_S3_SESSION_TOKEN:
            set_string(cfg->s3.session_token, value, len);
            break;
        case OPT_S3_CA_FILE:
            set_string(cfg->s3.ca_file, value, len);
            break;
        case OPT_S3_VERIFY_TLS:
            cfg->s3.verify_tls = choice != 0;
            break;
        case OPT_S3_STORAGE_CLASS:
            SET_BOUNDED(cfg->s3.storage_class);
            break;
        case OPT_S3_SSE:
            cfg->s3.sse = (enum cfg_sse) choice;
            break;
        case OPT_S3_SSE_KMS_KEY_ID:
            SET_BOUNDED(cfg->s3.sse_kms_key_id);
            break;
        case OPT_S3_PART_SIZE:
            if (size < 5ULL * 1024 * 1024 || size > 5ULL * 1024 * 1024 * 1024)
            {
                describe(idx, w, subject, sizeof(subject));
                err_set(err, WS_ECONFIG, "invalid value for %s: \"%s\" is outside 5MB .. 5GB",
                        subject, value);
                err_hint(err, "S3 parts other than the last must be at least 5 MiB and at most 5 GiB.");
                goto out;
            }
            cfg->s3.part_size = size;
            break;
        case OPT_S3_CONNECT_TIMEOUT:
            cfg->s3.connect_timeout = (int) num;
            break;
        case OPT_S3_TIMEOUT:
            cfg->s3.timeout = (int) num;
            break;
        case OPT_S3_MAX_RETRIES:
            cfg->s3.max_retries = (int) num;
            break;
        case OPT_PG_CONNINFO:
            set_string(cfg->pg_conninfo, value, len);
            break;
        case OPT_BACKUP_WAL_TIMEOUT:
            cfg->backup_wal_timeout = (int) num;
            break;
        case OPT_BACKUP_PART_SIZE:
            if (size < 16ULL * 1024 * 1024 || size > 64ULL * 1024 * 1024 * 1024)
            {
                describe(idx, w, subject, sizeof(subject));
                err_set(err, WS_ECONFIG, "invalid value for %s: \"%s\" is outside 16MB .. 64GB",
                        subject, value);
                goto out;
            }
            cfg->backup_part_size = size;
            break;
        case OPT_RECOVER_JOBS:
            cfg->recover_jobs = (int) num;
            break;
        case OPT_COUNT:
            err_set(err, WS_EINTERNAL, "option index %d out of range", idx);
            goto out;
    }
    cfg->source[idx] = w->src;
    /* remembered even if a later source overrides it: the file still holds
     * a secret and must not be readable by others */
    if (cfg_option_table[idx].secret && w->src == CFG_SRC_FILE && len > 0)
        snprintf(cfg->config_file_secret, sizeof(cfg->config_file_secret), "%s",
                 cfg_option_table[idx].name);
    rc = 0;
out:
    return rc;
}

/* ---- configuration file ------------------------------------------------ */

static bool
is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

static bool
is_key_start(char c)
{
    return isalpha((unsigned char) c) || c == '_';
}

static bool
is_key_char(char c)
{
    return isalnum((unsigned char) c) || c == '_';
}

static char *
skip_blanks(char *p)
{
    while (is_blank(*p))
        p++;
    return p;
}

/* syntax error near the token at p (at most `max` bytes of it), or near end of line */
static int
syntax_error(struct ws_err *err, const char *file, int lineno, const char *p, size_t max)
{
    size_t      n = 0;

    if (*p == '\0')
        return err_set(err, WS_ECONFIG, "syntax error in file \"%s\" line %d, near end of line",
                       file, lineno);
    while (p[n] != '\0' && !is_blank(p[n]) && n < max)
        n++;
    return err_set(err, WS_ECONFIG, "syntax error in file \"%s\" line %d, near token \"%.*s\"",
                   file, lineno, (int) n, p);
}

/*
 * Parse one quoted value in place.  *pp points at the opening quote; on
 * success *pp is past the closing quote and the unescaped value starts at the
 * returned pointer, NUL-terminated.  Doubled quotes and backslash escapes
 * (\b \f \n \r \t, anything else stands for itself) as in postgresql.conf.
 */
static char *
parse_quoted(char **pp)
{
    char        quote = **pp;
    char       *in = *pp + 1;
    char       *start = in;
    char       *out = in;

    for (;;)
    {
        char        c = *in;

        if (c == '\0' || (c == '\\' && in[1] == '\0'))
        {
            start = NULL;       /* unterminated */
            goto out;
        }
        if (c == quote && in[1] == quote)
        {
            *out++ = quote;
            in += 2;
        }
        else if (c == quote)
        {
            in++;
            break;
        }
        else if (c == '\\')
        {
            switch (in[1])
            {
                case 'b': *out++ = '\b'; break;
                case 'f': *out++ = '\f'; break;
                case 'n': *out++ = '\n'; break;
                case 'r': *out++ = '\r'; break;
                case 't': *out++ = '\t'; break;
                default: *out++ = in[1]; break;
            }
            in += 2;
        }
        else
            *out++ = *in++;
    }
    /* out is at or before the closing quote, so this clobbers nothing unread */
    *out = '\0';
    *pp = in;
out:
    return start;
}

/* One line of the file: blank, comment, or key [=] value [# comment]. */
static int
parse_line(struct cfg *cfg, char *line, const char *file, int lineno, struct ws_err *err)
{
    struct where w = {CFG_SRC_FILE, file, lineno};
    char       *p = skip_blanks(line);
    char       *key;
    char       *value;
    size_t      keylen;
    int         idx;
    int         rc = -1;

    if (*p == '\0' || *p == '#')
    {
        rc = 0;
        goto out;
    }
    if (!is_key_start(*p))
    {
        syntax_error(err, file, lineno, p, 64);
        goto out;
    }
    key = p;
    while (is_key_char(*p))
        p++;
    keylen = (size_t) (p - key);
    if (*p != '\0' && !is_blank(*p) && *p != '=' && *p != '#' && *p != '\'' && *p != '"')
    {
        /* the key and the stray character only: what follows may be a secret */
        syntax_error(err, file, lineno, key, keylen + 1);
        goto out;
    }
    idx = find_option(key, keylen, true);
    if (idx < 0)
    {
        err_set(err, WS_ECONFIG,
                "unrecognized configuration parameter \"%.*s\" in file \"%s\" line %d",
                (int) (keylen > 128 ? 128 : keylen), key, file, lineno);
        goto out;
    }

    p = skip_blanks(p);
    if (*p == '=')
        p = skip_blanks(p + 1);
    if (*p == '\0' || *p == '#')
    {
        syntax_error(err, file, lineno, "", 0);
        goto out;
    }

    if (*p == '\'' || *p == '"')
    {
        value = parse_quoted(&p);
        if (value == NULL)
        {
            err_set(err, WS_ECONFIG,
                    "unterminated quoted string for parameter \"%s\" in file \"%s\" line %d",
                    cfg_option_table[idx].name, file, lineno);
            goto out;
        }
    }
    else
    {
        value = p;
        while (*p != '\0' && !is_blank(*p) && *p != '#' && *p != '\'' && *p != '"')
            p++;
        if (*p == '#')
            *p = '\0';         /* the rest is a comment */
        else if (is_blank(*p))
            *p++ = '\0';
    }

    p = skip_blanks(p);
    if (*p != '\0' && *p != '#')
    {
        /* never quote a secret's text back, not even a piece of it */
        if (cfg_option_table[idx].secret)
            err_set(err, WS_ECONFIG,
                    "syntax error in file \"%s\" line %d, after the value of parameter \"%s\"",
                    file, lineno, cfg_option_table[idx].name);
        else
            syntax_error(err, file, lineno, p, 64);
        err_hint(err, "Quote values that contain spaces, quotes or '#'.");
        goto out;
    }

    rc = assign(cfg, idx, value, &w, err);
out:
    return rc;
}

/*
 * Read `path` into cfg.  A missing file is skipped when `optional` (the
 * default location) and an error otherwise.  The line buffer and the stdio
 * buffer may hold a passphrase, so both are wiped.
 */
static int
read_file(struct cfg *cfg, const char *path, bool optional, struct ws_err *err)
{
    FILE       *f = NULL;
    char        iobuf[BUFSIZ];
    char       *line = NULL;
    size_t      cap = 0;
    ssize_t     n;
    int         lineno = 0;
    int         rc = -1;

    if (strlen(path) >= sizeof(cfg->config_file))
    {
        err_set(err, WS_ECONFIG, "configuration file name is too long (maximum %d bytes)",
                CFG_MAX_VALUE - 1);
        goto out;
    }
    f = fopen(path, "re");
    if (f == NULL)
    {
        if (optional && errno == ENOENT)
        {
            rc = 0;
            goto out;
        }
        err_set_errno(err, WS_ECONFIG, errno, "could not open configuration file \"%s\"", path);
        goto out;
    }
    setvbuf(f, iobuf, _IOFBF, sizeof(iobuf));
    /* start large so a typical line never makes getline move the buffer */
    cap = 2 * CFG_MAX_VALUE + 256;
    line = malloc(cap);
    if (line == NULL)
    {
        err_set(err, WS_EINTERNAL, "out of memory");
        goto out;
    }
    set_string(cfg->config_file, path, strlen(path));

    errno = 0;
    while ((n = getline(&line, &cap, f)) >= 0)
    {
        lineno++;
        if (memchr(line, '\0', (size_t) n) != NULL)
        {
            err_set(err, WS_ECONFIG, "invalid NUL byte in file \"%s\" line %d", path, lineno);
            goto out;
        }
        if (n > 0 && line[n - 1] == '\n')
            line[n - 1] = '\0';
        if (parse_line(cfg, line, path, lineno, err) < 0)
            goto out;
        errno = 0;
    }
    if (ferror(f))
    {
        err_set_errno(err, WS_ECONFIG, errno ? errno : EIO,
                      "could not read configuration file \"%s\"", path);
        goto out;
    }
    rc = 0;
out:
    if (line != NULL)
    {
        OPENSSL_cleanse(line, cap);
        free(line);
    }
    if (f != NULL)
        fclose(f);
    OPENSSL_cleanse(iobuf, sizeof(iobuf));
    return rc;
}

/* ---- environment ------------------------------------------------------- */

static int
load_env(struct cfg *cfg, struct ws_err *err)
{
    struct where w = {CFG_SRC_ENV, NULL, 0};
    size_t      plen = strlen(ENV_PREFIX);
    int         rc = -1;

    /* unknown WALSHIP_* names are errors, like unknown keys in the file */
    for (char **e = environ; e != NULL && *e != NULL; e++)
    {
        const char *eq = strchr(*e, '=');
        size_t      namelen;
        bool        known = false;

        if (strncmp(*e, ENV_PREFIX, plen) != 0 || eq == NULL)
            continue;
        namelen = (size_t) (eq - *e);
        if (namelen == strlen(ENV_CONFIG) && strncmp(*e, ENV_CONFIG, namelen) == 0)
            continue;
        for (int i = 0; i < OPT_COUNT && !known; i++)
        {
            char        name[128];

            env_name(i, name, sizeof(name));
            known = strlen(name) == namelen && strncmp(name, *e, namelen) == 0;
        }
        if (!known)
        {
            err_set(err, WS_ECONFIG, "unrecognized environment variable %.*s",
                    (int) (namelen > 128 ? 128 : namelen), *e);
            err_hint(err, "Walship reads %s and %s<KEY> for each configuration key; "
                     "see --help for the keys.", ENV_CONFIG, ENV_PREFIX);
            goto out;
        }
    }

    for (int i = 0; i < OPT_COUNT; i++)
    {
        char        name[128];
        const char *value;

        env_name(i, name, sizeof(name));
        value = getenv(name);
        if (value != NULL && assign(cfg, i, value, &w, err) < 0)
            goto out;
    }
    rc = 0;
out:
    return rc;
}

/* ---- cfg_load ---------------------------------------------------------- */

/*
 * The secret option that argv name[0..len) spells, or -1.  Case and '-' for
 * '_' are ignored: such a spelling is not a recognised option, and the
 * executable would otherwise report it as unrecognized, quoting the value.
 */
static int
argv_secret(const char *name, size_t len)
{
    for (int i = 0; i < OPT_COUNT; i++)
    {
        const char *key = cfg_option_table[i].name;
        size_t      k = 0;

        if (!cfg_option_table[i].secret || strlen(key) != len)
            continue;
        while (k < len && (tolower((unsigned char) name[k]) == key[k] ||
                           (name[k] == '-' && key[k] == '_')))
            k++;
        if (k == len)
            return i;
    }
    return -1;
}

/*
 * A secret on the command line is readable by every local user (ps,
 * /proc/<pid>/cmdline) and, inside archive_command or restore_command, by
 * every database user through pg_settings.  So it is refused outright rather
 * than used: the error names the key and where it belongs, never the value.
 */
static int
refuse_argv_secret(int idx, struct ws_err *err)
{
    const char *key = cfg_option_table[idx].name;
    char        env[128];

    env_name(idx, env, sizeof(env));
    err_set(err, WS_ECONFIG, "option --%s cannot be given on the command line: it is a secret",
            key);
    err_detail(err, "Command-line arguments are visible to every local user (ps), and "
               "PostgreSQL shows archive_command and restore_command in pg_settings.");
    if (idx == OPT_ENCRYPTION_PASSPHRASE)
        err_hint(err, "Set %s in the configuration file (mode 0600) or in the environment "
                 "variable %s, or put the passphrase in a file named by "
                 "encryption_passphrase_file.", key, env);
    else
        err_hint(err, "Set %s in the configuration file (mode 0600) or in the environment "
                 "variable %s, or leave it unset to use the AWS credential chain.", key, env);
    return -1;
}

int
cfg_load(struct cfg *cfg, int argc, char **argv, char ***rest, int *nrest,
         struct ws_err *err)
{
    struct argv_setting *settings = NULL;
    struct where w_argv = {CFG_SRC_ARGV, NULL, 0};
    struct where w_default = {CFG_SRC_DEFAULT, NULL, 0};
    char      **left = NULL;
    int         nleft = 0;
    int         nsettings = 0;
    const char *config = NULL;
    bool        optional = false;
    bool        options_done = false;
    int         rc = -1;

    if (rest != NULL)
        *rest = NULL;
    if (nrest != NULL)
        *nrest = 0;
    memset(cfg, 0, sizeof(*cfg));
    if (argc < 0)
        argc = 0;

    for (int i = 0; i < OPT_COUNT; i++)
        if (assign(cfg, i, cfg_option_table[i].def, &w_default, err) < 0)
            goto out;

    left = malloc(((size_t) argc + 1) * sizeof(*left));
    settings = malloc(((size_t) argc + 1) * sizeof(*settings));
    if (left == NULL || settings == NULL)
    {
        err_set(err, WS_EINTERNAL, "out of memory");
        goto out;
    }

    /* pass 1: split argv into our settings and everything else */
    for (int i = 1; i < argc; i++)
    {
        const char *arg = argv[i];
        const char *name;
        const char *eq;
        const char *value;
        size_t      namelen;
        bool        is_config;
        int         idx = -1;

        if (options_done || strncmp(arg, "--", 2) != 0 || strcmp(arg, "--") == 0)
        {
            if (strcmp(arg, "--") == 0)
                options_done = true;
            left[nleft++] = argv[i];
            continue;
        }
        name = arg + 2;
        eq = strchr(name, '=');
        namelen = eq != NULL ? (size_t) (eq - name) : strlen(name);
        idx = argv_secret(name, namelen);
        if (idx >= 0)
        {
            refuse_argv_secret(idx, err);
            goto out;
        }
        is_config = namelen == 6 && strncmp(name, "config", 6) == 0;
        if (!is_config)
            idx = find_option(name, namelen, false);
        if (!is_config && idx < 0)
        {
            left[nleft++] = argv[i];    /* the executable's own flag */
            continue;
        }
        if (eq != NULL)
            value = eq + 1;
        else if (i + 1 < argc)
            value = argv[++i];
        else
        {
            err_set(err, WS_ECONFIG, "option --%.*s requires a value", (int) namelen, name);
            goto out;
        }
        if (is_config)
            config = value;
        else
        {
            settings[nsettings].idx = idx;
            settings[nsettings].value = value;
            nsettings++;
        }
    }

    if (config == NULL)
        config = getenv(ENV_CONFIG);
    if (config == NULL)
    {
        config = CFG_DEFAULT_FILE;
        optional = true;
    }
    if (read_file(cfg, config, optional, err) < 0)
        goto out;

    if (load_env(cfg, err) < 0)
        goto out;

    for (int i = 0; i < nsettings; i++)
        if (assign(cfg, settings[i].idx, settings[i].value, &w_argv, err) < 0)
            goto out;

    left[nleft] = NULL;
    if (rest != NULL)
    {
        *rest = left;
        left = NULL;
    }
    if (nrest != NULL)
        *nrest = nleft;
    rc = 0;
out:
    if (rc < 0)
        cfg_wipe(cfg);
    free(left);
    free(settings);
    return rc;
}

/* ---- cfg_validate ------------------------------------------------------ */

/*
 * Read the passphrase file: not accessible by group/others, one trailing
 * newline (\n or \r\n) stripped, not empty.
 */
static int
read_passphrase_file(struct cfg *cfg, struct ws_err *err)
{
    const char *path = cfg->encryption_passphrase_file;
    char        buf[CFG_MAX_VALUE + 2];
    size_t      len = 0;
    struct stat st;
    int         fd;
    int         rc = -1;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
    {
        err_set_errno(err, WS_ECONFIG, errno, "could not open passphrase file \"%s\"", path);
        goto out;
    }
    if (fstat(fd, &st) < 0)
    {
        err_set_errno(err, WS_ECONFIG, errno, "could not stat passphrase file \"%s\"", path);
        goto out;
    }
    if (!S_ISREG(st.st_mode))
    {
        err_set(err, WS_ECONFIG, "passphrase file \"%s\" is not a regular file", path);
        goto out;
    }
    if (st.st_mode & 077)
    {
        err_set(err, WS_ECONFIG, "passphrase file \"%s\" is accessible by group or others", path);
        err_detail(err, "Its permissions are %04o.", (unsigned) (st.st_mode & 07777));
        err_hint(err, "Restrict it to its owner, for example with chmod 600.");
        goto out;
    }
    while (len < sizeof(buf))
    {
        ssize_t     n = read(fd, buf + len, sizeof(buf) - len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
        {
            err_set_errno(err, WS_ECONFIG, errno, "could not read passphrase file \"%s\"", path);
            goto out;
        }
        if (n == 0)
            break;
        len += (size_t) n;
    }
    if (len > 0 && buf[len - 1] == '\n')
    {
        len--;
        if (len > 0 && buf[len - 1] == '\r')
            len--;
    }
    if (len >= CFG_MAX_VALUE)
    {
        err_set(err, WS_ECONFIG, "passphrase in file \"%s\" is too long (maximum %d bytes)",
                path, CFG_MAX_VALUE - 1);
        goto out;
    }
    if (len == 0)
    {
        err_set(err, WS_ECONFIG, "passphrase file \"%s\" is empty", path);
        goto out;
    }
    if (memchr(buf, '\0', len) != NULL)
    {
        err_set(err, WS_ECONFIG, "passphrase file \"%s\" contains a NUL byte", path);
        goto out;
    }
    set_string(cfg->encryption_passphrase, buf, len);
    rc = 0;
out:
    if (fd >= 0)
        close(fd);
    OPENSSL_cleanse(buf, sizeof(buf));
    return rc;
}

int
cfg_validate(struct cfg *cfg, bool need_repo, struct ws_err *err)
{
    /*
     * A passphrase resolved from encryption_passphrase_file keeps source
     * CFG_SRC_DEFAULT, so "given directly" means set by a real source; that
     * keeps this function safe to call twice.
     */
    bool        direct = cfg->encryption_passphrase[0] != '\0' &&
        cfg->source[OPT_ENCRYPTION_PASSPHRASE] != CFG_SRC_DEFAULT;
    bool        from_file = cfg->encryption_passphrase_file[0] != '\0';
    int         level = cfg->compression_level;
    int         rc = -1;

    if (need_repo && cfg->repo[0] == '\0')
    {
        err_set(err, WS_ECONFIG, "no repository is configured");
        err_hint(err, "Set repo in the configuration file, WALSHIP_REPO or --repo.");
        goto out;
    }

    if (cfg->compression == CFG_COMPRESS_ZSTD && level != -1 &&
        !((level >= 1 && level <= 19) || (level >= -5 && level <= -2)))
    {
        err_set(err, WS_ECONFIG, "compression_level %d is not valid for zstd", level);
        err_hint(err, "Use 1 .. 19, a fast level -5 .. -2, or '' for the default.");
        goto out;
    }
    if (cfg->compression == CFG_COMPRESS_GZIP && level != -1 && !(level >= 1 && level <= 9))
    {
        err_set(err, WS_ECONFIG, "compression_level %d is not valid for gzip", level);
        err_hint(err, "Use 1 .. 9, or '' for the default.");
        goto out;
    }

    if (direct && from_file)
    {
        err_set(err, WS_ECONFIG,
                "both encryption_passphrase and encryption_passphrase_file are set");
        err_hint(err, "Set only one of them.");
        goto out;
    }
    if (cfg->encryption == CFG_ENCRYPT_AES_256_GCM && !direct && !from_file)
    {
        err_set(err, WS_ECONFIG, "encryption is aes-256-gcm but no passphrase is set");
        err_hint(err, "Set encryption_passphrase_file to a file with mode 0600 holding the "
                 "passphrase, or set WALSHIP_ENCRYPTION_PASSPHRASE.");
        goto out;
    }

    /* the secret is protected whether or not encryption is on */
    if (from_file && read_passphrase_file(cfg, err) < 0)
        goto out;
    if (cfg->config_file_secret[0] != '\0' && cfg->config_file[0] != '\0')
    {
        struct stat st;

        if (stat(cfg->config_file, &st) < 0)
        {
            err_set_errno(err, WS_ECONFIG, errno, "could not stat configuration file \"%s\"",
                          cfg->config_file);
            goto out;
        }
        if (st.st_mode & 077)
        {
            err_set(err, WS_ECONFIG, "configuration file \"%s\" contains %s "
                    "and is accessible by group or others", cfg->config_file,
                    cfg->config_file_secret);
            err_detail(err, "Its permissions are %04o.", (unsigned) (st.st_mode & 07777));
            err_hint(err, "Restrict it with chmod 600, or move the passphrase to a file named "
                     "by encryption_passphrase_file.");
            goto out;
        }
    }
    rc = 0;
out:
    return rc;
}

/* ---- output ------------------------------------------------------------ */

/* A value as text for cfg_print; strings point into cfg. */
const char *
cfg_value_text(const struct cfg *cfg, int idx, char *buf, size_t size)
{
    switch ((enum opt_index) idx)
    {
        case OPT_REPO:
            return cfg->repo;
        case OPT_COMPRESSION:
            return cfg_compression_name(cfg->compression);
        case OPT_COMPRESSION_LEVEL:
            if (cfg->compression_level == -1)
                return "";
            snprintf(buf, size, "%d", cfg->compression_level);
            return buf;
        case OPT_COMPRESSION_THREADS:
            snprintf(buf, size, "%d", cfg->compression_threads);
            return buf;
        case OPT_ENCRYPTION:
            return cfg_encryption_name(cfg->encryption);
        case OPT_ENCRYPTION_PASSPHRASE:
            return cfg->encryption_passphrase;     /* cfg_print masks secrets */
        case OPT_ENCRYPTION_PASSPHRASE_FILE:
            return cfg->encryption_passphrase_file;
        case OPT_LOG_LEVEL:
            return log_level_name(cfg->log_level);
        case OPT_PGDATA:
            return cfg->pgdata;
        case OPT_RETRY_ATTEMPTS:
            snprintf(buf, size, "%d", cfg->retry_attempts);
            return buf;
        case OPT_RETRY_DELAY_MS:
            snprintf(buf, size, "%d", cfg->retry_delay_ms);
            return buf;
        case OPT_ENCRYPTION_KEY_CACHE:
            return cfg->encryption_key_cache;
        case OPT_S3_ENDPOINT:
            return cfg->s3.endpoint;
        case OPT_S3_REGION:
            return cfg->s3.region;
        case OPT_S3_URI_STYLE:
            return cfg->s3.uri_style == CFG_URI_PATH ? "path"
                : cfg->s3.uri_style == CFG_URI_VIRTUAL ? "virtual" : "auto";
        case OPT_S3_ACCESS_KEY_ID:
            return cfg->s3.access_key_id;
        case OPT_S3_SECRET_ACCESS_KEY:
            return cfg->s3.secret_access_key;
        case OPT_S3_SESSION_TOKEN:
            return cfg->s3.session_token;
        case OPT_S3_CA_FILE:
            return cfg->s3.ca_file;
        case OPT_S3_VERIFY_TLS:
            return cfg->s3.verify_tls ? "on" : "off";
        case OPT_S3_STORAGE_CLASS:
            return cfg->s3.storage_class;
        case OPT_S3_SSE:
            return cfg->s3.sse == CFG_SSE_AES256 ? "AES256" : cfg->s3.sse == CFG_SSE_KMS ? "aws:kms" : "";
        case OPT_S3_SSE_KMS_KEY_ID:
            return cfg->s3.sse_kms_key_id;
        case OPT_S3_PART_SIZE:
            snprintf(buf, size, "%lluMB", (unsigned long long) (cfg->s3.part_size >> 20));
            if ((cfg->s3.part_size & ((1u << 20) - 1)) != 0)
                snprintf(buf, size, "%llu", (unsigned long long) cfg->s3.part_size);
            return buf;
        case OPT_S3_CONNECT_TIMEOUT:
            snprintf(buf, size, "%d", cfg->s3.connect_timeout);
            return buf;
        case OPT_S3_TIMEOUT:
            snprintf(buf, size, "%d", cfg->s3.timeout);
            return buf;
        case OPT_S3_MAX_RETRIES:
            snprintf(buf, size, "%d", cfg->s3.max_retries);
            return buf;
        case OPT_PG_CONNINFO:
            return cfg->pg_conninfo;
        case OPT_BACKUP_WAL_TIMEOUT:
            snprintf(buf, size, "%d", cfg->backup_wal_timeout);
            return buf;
        case OPT_BACKUP_PART_SIZE:
            snprintf(buf, size, "%lluMB", (unsigned long long) (cfg->backup_part_size >> 20));
            if ((cfg->backup_part_size & ((1u << 20) - 1)) != 0)
                snprintf(buf, size, "%llu", (unsigned long long) cfg->backup_part_size);
            return buf;
        case OPT_RECOVER_JOBS:
            snprintf(buf, size, "%d", cfg->recover_jobs);
            return buf;
        case OPT_COUNT:
            break;
    }
    return "";
}

/* Write s single-quoted so the output reads back as a configuration file. */
static int
print_quoted(FILE *out, const char *s)
{
    int         width = 2;

    fputc('\'', out);
    for (; *s != '\0'; s++)
    {
        switch (*s)
        {
            case '\'': fputs("''", out); width += 2; break;
            case '\\': fputs("\\\\", out); width += 2; break;
            case '\n': fputs("\\n", out); width += 2; break;
            case '\r': fputs("\\r", out); width += 2; break;
            case '\t': fputs("\\t", out); width += 2; break;
            default: fputc(*s, out); width++; break;
        }
    }
    fputc('\'', out);
    return width;
}

void
cfg_print(const struct cfg *cfg, FILE *out)
{
    for (int i = 0; i < OPT_COUNT; i++)
    {
        const char *name = cfg_option_table[i].name;
        char        num[32];
        const char *value;
        int         width;

        value = cfg_value_text(cfg, i, num, sizeof(num));
        if (cfg_option_table[i].secret && value[0] != '\0')
            value = "********";
        width = fprintf(out, "%s = ", name);
        width += print_quoted(out, value);
        fprintf(out, "%*s# ", width < 44 ? 44 - width : 4, "");
        switch (cfg->source[i])
        {
            case CFG_SRC_DEFAULT:
                if (i == OPT_ENCRYPTION_PASSPHRASE && value[0] != '\0')
                    fputs("encryption_passphrase_file\n", out);
                else
                    fputs("default\n", out);
                break;
            case CFG_SRC_FILE:
                fprintf(out, "file \"%s\"\n", cfg->config_file);
                break;
            case CFG_SRC_ENV:
                fputs("environment\n", out);
                break;
            case CFG_SRC_ARGV:
                fputs("command line\n", out);
                break;
        }
    }
}

void
cfg_print_help(FILE *out)
{
    int         width = (int) strlen("--config=FILE");

    for (int i = 0; i < OPT_COUNT; i++)
    {
        int         w = (int) strlen(cfg_option_table[i].name) + (int) strlen("--=VALUE");

        if (w > width)
            width = w;
    }
    fprintf(out, "  %-*s  %s (default: %s)\n", width, "--config=FILE",
            "configuration file, also " ENV_CONFIG, CFG_DEFAULT_FILE);
    for (int i = 0; i < OPT_COUNT; i++)
    {
        const struct cfg_option *o = &cfg_option_table[i];
        char        flag[128];

        if (o->secret)
        {
            char        env[128];

            /* refused on the command line: say where it goes instead */
            env_name(i, env, sizeof(env));
            fprintf(out, "  %-*s  %s (configuration file or %s only)\n", width, o->name,
                    o->help, env);
            continue;
        }
        snprintf(flag, sizeof(flag), "--%s=VALUE", o->name);
        if (o->def[0] != '\0')
            fprintf(out, "  %-*s  %s (default: %s)\n", width, flag, o->help, o->def);
        else
            fprintf(out, "  %-*s  %s\n", width, flag, o->help);
    }
}

void
cfg_wipe(struct cfg *cfg)
{
    if (cfg == NULL)
        return;
    OPENSSL_cleanse(cfg->encryption_passphrase, sizeof(cfg->encryption_passphrase));
    OPENSSL_cleanse(cfg->encryption_passphrase_file, sizeof(cfg->encryption_passphrase_file));
    OPENSSL_cleanse(cfg->s3.secret_access_key, sizeof(cfg->s3.secret_access_key));
    OPENSSL_cleanse(cfg->s3.session_token, sizeof(cfg->s3.session_token));
}
