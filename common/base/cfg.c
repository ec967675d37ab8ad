/*
 * cfg.c — walship configuration: defaults, file, environment, argv.  See cfg.h.
 *
 * One static option table (cfg_option_table) has a row per key: name,
 * default, help, secret or not, type and range, the struct cfg field it
 * fills (offsetof) and its command-line alias.  Each type has one routine
 * that parses, checks and stores a value and one that prints it
 * (cfg_types), so adding a key is adding its field and its row.  cfg_load
 * applies the sources in increasing precedence and only returns errors: it
 * never logs, never exits and keeps no static mutable state.
 *
 * Error messages follow PostgreSQL's GUC file wording, e.g.
 *   invalid value for parameter "compression" in file "/etc/walship.conf" line 3: "lz5"
 * A secret value is never copied into a message.
 */
#include "cfg.h"
#include "kv.h"
#include "num.h"
#include "smallfile.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <openssl/crypto.h>

extern char **environ;

#define ENV_PREFIX "WALSHIP_"
#define ENV_CONFIG "WALSHIP_CONFIG"
#define CFG_MAX_FILE (1024 * 1024)      /* a larger configuration file is refused */

static const struct cfg_name compression_names[] = {
    {"zstd", CFG_COMPRESS_ZSTD},
    {"gzip", CFG_COMPRESS_GZIP},
    {"none", CFG_COMPRESS_NONE},
    {NULL, 0}
};

static const struct cfg_name encryption_names[] = {
    {"none", CFG_ENCRYPT_NONE},
    {"aes-256-gcm", CFG_ENCRYPT_AES_256_GCM},
    {NULL, 0}
};

static const struct cfg_name log_level_names[] = {
    {"error", LOG_LEVEL_ERROR},
    {"warning", LOG_LEVEL_WARNING},
    {"info", LOG_LEVEL_INFO},
    {"debug", LOG_LEVEL_DEBUG},
    {NULL, 0}
};

static const struct cfg_name uri_style_names[] = {
    {"auto", CFG_URI_AUTO},
    {"path", CFG_URI_PATH},
    {"virtual", CFG_URI_VIRTUAL},
    {NULL, 0}
};

static const struct cfg_name bool_names[] = {
    {"on", 1}, {"off", 0}, {"true", 1}, {"false", 0}, {"yes", 1}, {"no", 0}, {"1", 1}, {"0", 0},
    {NULL, 0}
};

static const struct cfg_name sse_names[] = {
    {"", CFG_SSE_NONE},
    {"AES256", CFG_SSE_AES256},
    {"aws:kms", CFG_SSE_KMS},
    {NULL, 0}
};

/* The field a row fills, and how. */
#define FIELD(f)        .offset = offsetof(struct cfg, f), .size = sizeof(((struct cfg *) 0)->f)
#define STRING(f)       .type = CFG_T_STRING, FIELD(f)
#define INT(f, lo, hi)  .type = CFG_T_INT, FIELD(f), .min = (lo), .max = (hi)
#define ENUM(f, names_) .type = CFG_T_ENUM, FIELD(f), .names = (names_)
#define BOOL(f)         .type = CFG_T_BOOL, FIELD(f), .names = bool_names
#define SIZE(f, lo, hi) .type = CFG_T_SIZE, FIELD(f), .min = (lo), .max = (hi)
#define DURATION(f, lo, hi) .type = CFG_T_DURATION, FIELD(f), .min = (lo), .max = (hi)
#define PERCENT(f, lo, hi) .type = CFG_T_PERCENT, FIELD(f), .min = (lo), .max = (hi)
#define LAG(f)          .type = CFG_T_LAG, FIELD(f)
#define MiB             (INT64_C(1) << 20)
#define GiB             (INT64_C(1) << 30)

/* The documented order: --help, --print-config and cfg.source[] follow it. */
static const struct cfg_option cfg_option_table[] = {
    {"repo", "", "repository location (a directory)", false, STRING(repo)},
    {"compression", "zstd", "compression algorithm: zstd, gzip or none", false,
        ENUM(compression, compression_names)},
    /* the per-algorithm range is checked by cfg_validate */
    {"compression_level", "",
        "compression level: zstd 1..19 or fast -5..-2, gzip 1..9; empty or -1 = default", false,
        .type = CFG_T_INT_OR_EMPTY, FIELD(compression_level), .min = -5, .max = 19},
    {"compression_threads", "0", "zstd worker threads, 0 = single-threaded (0..64)", false,
        INT(compression_threads, 0, 64)},
    {"encryption", "none", "encryption: none or aes-256-gcm", false,
        ENUM(encryption, encryption_names)},
    {"encryption_passphrase", "", "encryption passphrase (prefer encryption_passphrase_file)",
        true, STRING(encryption_passphrase)},
    {"encryption_passphrase_file", "", "file holding the encryption passphrase (mode 0600)",
        false, STRING(encryption_passphrase_file)},
    {"log_level", "info", "message level: error, warning, info or debug", false,
        ENUM(log_level, log_level_names)},
    {"pgdata", ".", "PostgreSQL data directory", false, STRING(pgdata), .alias_short = 'D'},
    {"retry_attempts", "3", "walship-restore: retries of a filesystem repository read (0..100; S3: s3_max_retries)", false,
        INT(retry_attempts, 0, 100)},
    {"retry_delay_ms", "200", "first delay of those retries in milliseconds (0..600000)", false,
        INT(retry_delay_ms, 0, 600000)},
    {"restore_prefetch", "16",
        "walship-restore: WAL segments fetched ahead in the background into pg_wal (0 = off, 0..64)",
        false, INT(restore_prefetch, 0, 64)},
    {"encryption_key_cache", "/dev/shm",
        "directory for the per-user cache of derived keys (tmpfs), or off", false,
        STRING(encryption_key_cache)},
    {"s3_endpoint", "",
        "S3 endpoint URL, e.g. https://minio.example:9000 (default: AWS for the region)", false,
        STRING(s3.endpoint)},
    {"s3_region", "",
        "S3 region (default: AWS_REGION, AWS_DEFAULT_REGION, the profile, us-east-1)", false,
        STRING(s3.region)},
    {"s3_uri_style", "auto",
        "S3 addressing: path, virtual, or auto (path with s3_endpoint, else virtual)", false,
        ENUM(s3.uri_style, uri_style_names)},
    {"s3_access_key_id", "", "S3 access key id (default: the AWS credential chain)", false,
        STRING(s3.access_key_id)},
    {"s3_secret_access_key", "", "S3 secret access key", true, STRING(s3.secret_access_key)},
    {"s3_session_token", "", "S3 session token for temporary credentials", true,
        STRING(s3.session_token)},
    {"s3_ca_file", "", "CA certificate file for the S3 endpoint (default: the system's)", false,
        STRING(s3.ca_file)},
    {"s3_verify_tls", "on", "verify the S3 endpoint's TLS certificate (off only for test rigs)",
        false, BOOL(s3.verify_tls)},
    {"s3_storage_class", "",
        "storage class of new objects, e.g. STANDARD_IA (default: the bucket's)", false,
        STRING(s3.storage_class)},
    {"s3_storage_class_monthly", "",
        "walship expire: move backups kept only as monthly to this class, e.g. GLACIER", false,
        STRING(s3.storage_class_monthly)},
    {"s3_storage_class_yearly", "",
        "walship expire: move backups kept only as yearly to this class, e.g. DEEP_ARCHIVE",
        false, STRING(s3.storage_class_yearly)},
    {"s3_sse", "", "server-side encryption: '', AES256 or aws:kms", false,
        ENUM(s3.sse, sse_names)},
    {"s3_sse_kms_key_id", "", "KMS key id for s3_sse = aws:kms", false,
        STRING(s3.sse_kms_key_id)},
    {"s3_part_size", "16MB",
        "multipart part size (5MB .. 5GB; kB, MB, GB units); grows for huge streams", false,
        SIZE(s3.part_size, 5 * MiB, 5 * GiB),
        .range_hint = "S3 parts other than the last must be at least 5 MiB and at most 5 GiB."},
    {"s3_connect_timeout", "10", "seconds to connect to the S3 endpoint (1..600)", false,
        INT(s3.connect_timeout, 1, 600)},
    {"s3_timeout", "60",
        "seconds without progress before an S3 request is abandoned and retried (1..3600)", false,
        INT(s3.timeout, 1, 3600)},
    {"s3_max_retries", "5", "retries of a failed S3 request (0..100)", false,
        INT(s3.max_retries, 0, 100)},
    {"pg_conninfo", "",
        "libpq connection string for base backups (default: the PG* environment variables)",
        false, STRING(pg_conninfo), .alias = "dbname", .alias_short = 'd'},
    {"backup_wal_timeout", "300",
        "seconds without archiving progress before a backup's WAL is declared missing (1..86400)",
        false, INT(backup_wal_timeout, 1, 86400), .alias = "wal-timeout"},
    {"backup_part_size", "1GB",
        "split each tablespace archive into objects of about this size (16MB .. 64GB)", false,
        SIZE(backup_part_size, 16 * MiB, 64 * GiB)},
    {"recover_jobs", "4", "objects walship-recover fetches and extracts in parallel (1..64)",
        false, INT(recover_jobs, 1, 64), .alias = "jobs", .alias_short = 'j'},
    {"alert_backup_age", "25h",
        "walship check: the newest complete backup may be this old (s, min, h, d; 0 = off)",
        false, DURATION(alert_backup_age, 0, 100LL * 365 * 86400)},
    {"alert_backup_size_change", "20%",
        "walship check: largest change of a backup's size from the previous one (0 = off)",
        false, PERCENT(alert_backup_size_change, 0, 100000)},
    {"alert_archive_lag", "off",
        "walship check: archive lag allowed, in segments (16) or as a duration (30min)",
        false, LAG(alert_archive_lag)},
    {"drill_pg_bindir", "",
        "walship drill: PostgreSQL's bin directory (default: found from the backup's version)",
        false, STRING(drill_pg_bindir)},
    {"drill_tmpdir", "",
        "walship drill: where its private directory is made (default: $TMPDIR, else /var/tmp)",
        false, STRING(drill_tmpdir)},
    {"drill_timeout", "1h",
        "walship drill: longest wait for the server to start and finish recovery (s, min, h, d)",
        false, DURATION(drill_timeout, 1, 30LL * 86400)},
    {"drill_checks_file", "",
        "walship drill: file of sanity checks, one 'NAME | EXPECTATION | SQL' a line", false,
        STRING(drill_checks_file), .alias = "checks-file"},
    {"drill_dbname", "postgres", "walship drill: the database the checks and --sql run in",
        false, STRING(drill_dbname)},
    {"drill_user", "",
        "walship drill: the role the checks and --sql run as (default: the OS user, else postgres)",
        false, STRING(drill_user)},
    {"retain_full", "0",
        "walship expire: keep the N newest complete backups (0 = off)", false,
        INT(retain_full, 0, 1000000)},
    {"retain_daily", "off",
        "walship expire: keep one backup a day (UTC) for this long, e.g. 30d (off = no)",
        false, DURATION(retain_daily, 0, 100LL * 365 * 86400)},
    {"retain_weekly", "off",
        "walship expire: keep one backup an ISO week (UTC) for this long, e.g. 90d", false,
        DURATION(retain_weekly, 0, 100LL * 365 * 86400)},
    {"retain_monthly", "off",
        "walship expire: keep one backup a month (UTC) for this long, e.g. 1y", false,
        DURATION(retain_monthly, 0, 100LL * 365 * 86400)},
    {"retain_yearly", "off",
        "walship expire: keep one backup a year (UTC) for this long, e.g. 7y", false,
        DURATION(retain_yearly, 0, 100LL * 365 * 86400)},
    {"retain_pitr", "off",
        "walship expire: keep what point-in-time recovery needs this far back, e.g. 7d", false,
        DURATION(retain_pitr, 0, 100LL * 365 * 86400)},
    {"retain_dumps", "off",
        "walship expire: keep logical dumps (walship put/dump) this long, e.g. 30d (off = never remove)",
        false, DURATION(retain_dumps, 0, 100LL * 365 * 86400)},
    {"retain_dumps_min", "1",
        "walship expire: always keep the newest N complete dumps, whatever their age", false,
        INT(retain_dumps_min, 0, 1000000)},
    {"retain_incomplete", "1d",
        "walship expire: remove an incomplete backup this long after its last activity (1h..)",
        false, DURATION(retain_incomplete, 3600, 100LL * 365 * 86400),
        .range_hint = "A backup in progress must not be taken for an abandoned one."},
    {"archive_parallel", "4",
        "walship-archive: WAL files pushed at once, the requested one and the next ready (1..64)",
        false, INT(archive_parallel, 1, 64)},
    {"archive_queue_max", "0",
        "walship-archive: drop WAL (reported archived) while more than this much waits; 0 = off",
        false, SIZE(archive_queue_max, 0, INT64_C(1) << 50)},
};

#define OPT_COUNT ((int) (sizeof(cfg_option_table) / sizeof(cfg_option_table[0])))
_Static_assert(sizeof(cfg_option_table) / sizeof(cfg_option_table[0]) <= CFG_MAX_KEYS,
               "struct cfg source[] too small");
/* CFG_T_ENUM stores through an int */
_Static_assert(sizeof(enum cfg_compression) == sizeof(int) && sizeof(enum cfg_encryption) ==
               sizeof(int) && sizeof(enum log_level) == sizeof(int) &&
               sizeof(enum cfg_uri_style) == sizeof(int) && sizeof(enum cfg_sse) == sizeof(int),
               "enum keys must be int-sized");

/* Where a value being assigned comes from, for error messages. */
struct where
{
    enum cfg_source src;
    const char *file;           /* CFG_SRC_FILE */
    int         line;           /* CFG_SRC_FILE */
    const char *flag;           /* CFG_SRC_ARGV: the option as typed ("--jobs", "-j"), */
    size_t      flaglen;        /* up to any '=' */
};

/* One setting found on the command line, applied after file and env
 * (never a secret: those are refused there). */
struct argv_setting
{
    int         idx;
    const char *value;
    const char *flag;
    size_t      flaglen;
};

const struct cfg_option *
cfg_options(int *n)
{
    if (n != NULL)
        *n = OPT_COUNT;
    return cfg_option_table;
}

/* The name of value v in names, or NULL. */
static const char *
name_of(const struct cfg_name *names, int v)
{
    for (const struct cfg_name *nm = names; nm->name != NULL; nm++)
        if (nm->value == v)
            return nm->name;
    return NULL;
}

const char *
cfg_compression_name(enum cfg_compression c)
{
    const char *n = name_of(compression_names, (int) c);

    return n != NULL ? n : "unknown";
}

const char *
cfg_encryption_name(enum cfg_encryption e)
{
    const char *n = name_of(encryption_names, (int) e);

    return n != NULL ? n : "unknown";
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

/* Index of the row filling the field at offset. */
static int
index_of_field(size_t offset)
{
    for (int i = 0; i < OPT_COUNT; i++)
        if (cfg_option_table[i].offset == offset)
            return i;
    return -1;
}

const struct cfg_option *
cfg_option_find(const char *name)
{
    int         i = find_option(name, strlen(name), false);

    return i >= 0 ? &cfg_option_table[i] : NULL;
}

enum cfg_source
cfg_source_of(const struct cfg *cfg, const char *name)
{
    int         i = find_option(name, strlen(name), false);

    return i >= 0 ? cfg->source[i] : CFG_SRC_DEFAULT;
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
            snprintf(buf, size, "option %.*s", (int) w->flaglen, w->flag);
            break;
        case CFG_SRC_DEFAULT:
            snprintf(buf, size, "default of parameter \"%s\"", cfg_option_table[idx].name);
            break;
    }
}

/* "zstd, gzip, none" */
static void
names_list(const struct cfg_name *names, char *buf, size_t size)
{
    size_t      used = 0;

    buf[0] = '\0';
    for (const struct cfg_name *nm = names; nm->name != NULL && used < size; nm++)
    {
        int         n = snprintf(buf + used, size - used, "%s%s",
                                 nm == names ? "" : ", ", nm->name);

        if (n < 0)
            break;
        used += (size_t) n;
    }
}

static void
set_string(char *field, const char *value, size_t len)
{
    memcpy(field, value, len);
    field[len] = '\0';
}

/* ---- the types: parse, check and store; print -------------------------- */

#define SUBJECT_MAX (CFG_MAX_VALUE + 128)

static int
too_long(int idx, const struct where *w, size_t len, size_t max, struct ws_err *err)
{
    char        subject[SUBJECT_MAX];

    describe(idx, w, subject, sizeof(subject));
    return err_set(err, WS_ECONFIG, "value for %s is too long (%zu bytes, maximum %zu)",
                   subject, len, max);
}

static int
invalid(int idx, const struct where *w, const char *value, struct ws_err *err)
{
    char        subject[SUBJECT_MAX];

    describe(idx, w, subject, sizeof(subject));
    return err_set(err, WS_ECONFIG, "invalid value for %s: \"%s\"", subject, value);
}

static int
parse_string(int idx, const char *value, void *field, const struct where *w, struct ws_err *err)
{
    size_t      len = strlen(value);

    if (len >= cfg_option_table[idx].size)
        return too_long(idx, w, len, cfg_option_table[idx].size - 1, err);
    set_string(field, value, len);
    return 0;
}

static int
parse_int(int idx, const char *value, void *field, const struct where *w, struct ws_err *err)
{
    const struct cfg_option *o = &cfg_option_table[idx];
    int64_t     v;

    if (o->type == CFG_T_INT_OR_EMPTY && value[0] == '\0')
        v = -1;
    else if (num_parse_int(value, INT_MIN, INT_MAX, &v) != 0)
    {
        invalid(idx, w, value, err);
        err_hint(err, "Parameter \"%s\" requires an integer in the range %" PRId64 " .. %"
                 PRId64 ".", o->name, o->min, o->max);
        return -1;
    }
    else if (v < o->min || v > o->max)
    {
        char        subject[SUBJECT_MAX];

        describe(idx, w, subject, sizeof(subject));
        return err_set(err, WS_ECONFIG,
                       "invalid value for %s: %" PRId64 " is outside the valid range for "
                       "parameter \"%s\" (%" PRId64 " .. %" PRId64 ")",
                       subject, v, o->name, o->min, o->max);
    }
    *(int *) field = (int) v;
    return 0;
}

/* CFG_T_ENUM and CFG_T_BOOL: one of the row's names, case ignored. */
static int
parse_name(int idx, const char *value, void *field, const struct where *w, struct ws_err *err)
{
    const struct cfg_option *o = &cfg_option_table[idx];
    char        list[256];

    for (const struct cfg_name *nm = o->names; nm->name != NULL; nm++)
        if (strcasecmp(nm->name, value) == 0)
        {
            if (o->type == CFG_T_BOOL)
                *(bool *) field = nm->value != 0;
            else
                *(int *) field = nm->value;
            return 0;
        }
    names_list(o->names, list, sizeof(list));
    invalid(idx, w, value, err);
    err_hint(err, "Available values: %s.", list);
    return -1;
}

static int
parse_size(int idx, const char *value, void *field, const struct where *w, struct ws_err *err)
{
    const struct cfg_option *o = &cfg_option_table[idx];
    uint64_t    v;

    if (num_parse_size(value, 0, UINT64_MAX, &v) != 0)
    {
        invalid(idx, w, value, err);
        err_hint(err, "Parameter \"%s\" requires a size such as 16MB (units kB, MB, GB, TB).",
                 o->name);
        return -1;
    }
    if (v < (uint64_t) o->min || v > (uint64_t) o->max)
    {
        char        subject[SUBJECT_MAX];
        char        lo[32], hi[32];

        describe(idx, w, subject, sizeof(subject));
        err_set(err, WS_ECONFIG, "invalid value for %s: \"%s\" is outside %s .. %s", subject,
                value, num_format_size((uint64_t) o->min, lo, sizeof(lo)),
                num_format_size((uint64_t) o->max, hi, sizeof(hi)));
        if (o->range_hint != NULL)
            err_hint(err, "%s", o->range_hint);
        return -1;
    }
    *(uint64_t *) field = v;
    return 0;
}

static int
parse_duration(int idx, const char *value, void *field, const struct where *w,
               struct ws_err *err)
{
    const struct cfg_option *o = &cfg_option_table[idx];
    uint64_t    v;
    int         r;

    /* "off" for a key whose off is 0 (those whose default says so) */
    if (strcasecmp(value, "off") == 0 && o->min == 0 && strcmp(o->def, "off") == 0)
    {
        *(uint64_t *) field = 0;
        return 0;
    }
    r = num_parse_duration(value, (uint64_t) o->min, (uint64_t) o->max, &v);
    if (r != 0)
    {
        invalid(idx, w, value, err);
        if (r == NUM_ERANGE && o->range_hint != NULL)
        {
            char        lo[32];

            err_hint(err, "Parameter \"%s\" requires a duration of at least %s.  %s", o->name,
                     num_format_duration((uint64_t) o->min, lo, sizeof(lo)), o->range_hint);
        }
        else
            err_hint(err, "Parameter \"%s\" requires a duration such as 25h (units s, min, "
                     "h, d, w, y)%s.", o->name, r == NUM_ERANGE ? ", at most 100 years" : "");
        return -1;
    }
    *(uint64_t *) field = v;
    return 0;
}

static int
parse_percent(int idx, const char *value, void *field, const struct where *w,
              struct ws_err *err)
{
    const struct cfg_option *o = &cfg_option_table[idx];
    uint64_t    v;

    if (num_parse_percent(value, (uint64_t) o->min, (uint64_t) o->max, &v) != 0)
    {
        invalid(idx, w, value, err);
        err_hint(err, "Parameter \"%s\" requires a percentage such as 20%% (%" PRId64 " .. %"
                 PRId64 ").", o->name, o->min, o->max);
        return -1;
    }
    *(int *) field = (int) v;
    return 0;
}

/* "off" or "" (no alert), N segments (digits alone), or a duration with its unit. */
static int
parse_lag(int idx, const char *value, void *field, const struct where *w, struct ws_err *err)
{
    const struct cfg_option *o = &cfg_option_table[idx];
    struct cfg_lag lag = {0, 0};
    size_t      nd = strspn(value, "0123456789");

    if (value[0] == '\0' || strcasecmp(value, "off") == 0)
        ;
    else if (nd > 0 && value[nd] == '\0')
    {
        if (num_parse_uint(value, 1, UINT32_MAX, &lag.segments) != 0)
            goto bad;
    }
    else if (num_parse_duration(value, 1, 100ULL * 365 * 86400, &lag.seconds) != 0)
        goto bad;
    *(struct cfg_lag *) field = lag;
    return 0;
bad:
    invalid(idx, w, value, err);
    err_hint(err, "Parameter \"%s\" requires off, a number of WAL segments (16) or a duration "
             "with its unit (30min; units s, min, h, d).", o->name);
    return -1;
}

static const char *
format_duration(const struct cfg_option *o, const void *field, char *buf, size_t size)
{
    if (*(const uint64_t *) field == 0 && strcmp(o->def, "off") == 0)
    {
        snprintf(buf, size, "off");
        return buf;
    }
    return num_format_duration(*(const uint64_t *) field, buf, size);
}

static const char *
format_percent(const struct cfg_option *o, const void *field, char *buf, size_t size)
{
    (void) o;
    snprintf(buf, size, "%d%%", *(const int *) field);
    return buf;
}

static const char *
format_lag(const struct cfg_option *o, const void *field, char *buf, size_t size)
{
    const struct cfg_lag *lag = field;

    (void) o;
    if (lag->segments > 0)
        snprintf(buf, size, "%" PRIu64, lag->segments);
    else if (lag->seconds > 0)
        num_format_duration(lag->seconds, buf, size);
    else
        snprintf(buf, size, "off");
    return buf;
}

static const char *
format_string(const struct cfg_option *o, const void *field, char *buf, size_t size)
{
    (void) o;
    (void) buf;
    (void) size;
    return field;
}

static const char *
format_int(const struct cfg_option *o, const void *field, char *buf, size_t size)
{
    int         v = *(const int *) field;

    if (o->type == CFG_T_INT_OR_EMPTY && v == -1)
        return "";
    snprintf(buf, size, "%d", v);
    return buf;
}

static const char *
format_name(const struct cfg_option *o, const void *field, char *buf, size_t size)
{
    int         v = o->type == CFG_T_BOOL ? *(const bool *) field : *(const int *) field;
    const char *n = name_of(o->names, v);

    (void) buf;
    (void) size;
    return n != NULL ? n : "";
}

/* In MB when whole (the unit the defaults use), else in bytes. */
static const char *
format_size(const struct cfg_option *o, const void *field, char *buf, size_t size)
{
    uint64_t    v = *(const uint64_t *) field;

    (void) o;
    if (v % (uint64_t) MiB == 0)
        snprintf(buf, size, "%" PRIu64 "MB", v / (uint64_t) MiB);
    else
        snprintf(buf, size, "%" PRIu64, v);
    return buf;
}

static const struct
{
    int         (*parse) (int idx, const char *value, void *field, const struct where *w,
                          struct ws_err *err);
    const char *(*format) (const struct cfg_option *o, const void *field, char *buf, size_t size);
}           cfg_types[] = {
    [CFG_T_STRING] = {parse_string, format_string},
    [CFG_T_INT] = {parse_int, format_int},
    [CFG_T_INT_OR_EMPTY] = {parse_int, format_int},
    [CFG_T_ENUM] = {parse_name, format_name},
    [CFG_T_BOOL] = {parse_name, format_name},
    [CFG_T_SIZE] = {parse_size, format_size},
    [CFG_T_DURATION] = {parse_duration, format_duration},
    [CFG_T_PERCENT] = {parse_percent, format_percent},
    [CFG_T_LAG] = {parse_lag, format_lag},
};

/* Parse `value` for option idx and store it in cfg; record the source. */
static int
assign(struct cfg *cfg, int idx, const char *value, const struct where *w, struct ws_err *err)
{
    const struct cfg_option *o = &cfg_option_table[idx];
    size_t      len = strlen(value);

    if (len >= CFG_MAX_VALUE)
        return too_long(idx, w, len, CFG_MAX_VALUE - 1, err);
    if (cfg_types[o->type].parse(idx, value, (char *) cfg + o->offset, w, err) < 0)
        return -1;
    cfg->source[idx] = w->src;
    /* remembered even if a later source overrides it: the file still holds
     * a secret and must not be readable by others */
    if (o->secret && w->src == CFG_SRC_FILE && len > 0)
        snprintf(cfg->config_file_secret, sizeof(cfg->config_file_secret), "%s", o->name);
    return 0;
}

/* ---- configuration file ------------------------------------------------ */

/* syntax error near the token at p (at most `max` bytes of it), or near end of line */
static int
syntax_error(struct ws_err *err, const char *file, int lineno, const char *p, size_t max)
{
    size_t      n = 0;

    if (*p == '\0')
        return err_set(err, WS_ECONFIG, "syntax error in file \"%s\" line %d, near end of line",
                       file, lineno);
    while (p[n] != '\0' && !kv_is_blank(p[n]) && n < max)
        n++;
    return err_set(err, WS_ECONFIG, "syntax error in file \"%s\" line %d, near token \"%.*s\"",
                   file, lineno, (int) n, p);
}

/* One line of the file: blank, comment, or key [=] value [# comment]. */
static int
parse_line(struct cfg *cfg, char *line, const char *file, int lineno, struct ws_err *err)
{
    struct where w = {CFG_SRC_FILE, file, lineno, NULL, 0};
    struct kv_pair kv;
    enum kv_status st = kv_parse(line, 0, &kv);
    const char *name;
    int         idx;

    if (st == KV_EMPTY)
        return 0;
    if (st == KV_BAD_KEY && kv.keylen == 0)
        return syntax_error(err, file, lineno, kv.at, 64);
    /* a key and the stray character after it, only: what follows may be a secret */
    if (st == KV_BAD_KEY)
        return syntax_error(err, file, lineno, kv.key, kv.keylen + 1);
    /* an unknown key first, whatever follows it */
    idx = find_option(kv.key, kv.keylen, true);
    if (idx < 0)
        return err_set(err, WS_ECONFIG,
                       "unrecognized configuration parameter \"%.*s\" in file \"%s\" line %d",
                       (int) (kv.keylen > 128 ? 128 : kv.keylen), kv.key, file, lineno);
    name = cfg_option_table[idx].name;
    switch (st)
    {
        case KV_NO_VALUE:
            return syntax_error(err, file, lineno, "", 0);
        case KV_UNTERMINATED:
            return err_set(err, WS_ECONFIG,
                           "unterminated quoted string for parameter \"%s\" in file \"%s\" line %d",
                           name, file, lineno);
        case KV_TRAILING:
            /* never quote a secret's text back, not even a piece of it */
            if (cfg_option_table[idx].secret)
                err_set(err, WS_ECONFIG,
                        "syntax error in file \"%s\" line %d, after the value of parameter \"%s\"",
                        file, lineno, name);
            else
                syntax_error(err, file, lineno, kv.at, 64);
            err_hint(err, "Quote values that contain spaces, quotes or '#'.");
            return -1;
        default:
            break;
    }
    return assign(cfg, idx, kv.value, &w, err);
}

/*
 * Read `path` into cfg.  A missing file is skipped when `optional` (the
 * default location) and an error otherwise.  The buffer may hold a
 * passphrase: smallfile_free wipes it.
 */
static int
read_file(struct cfg *cfg, const char *path, bool optional, struct ws_err *err)
{
    char       *text = NULL;
    size_t      len = 0;
    struct kv_lines it;
    char       *line;
    size_t      n;
    int         rc = -1;

    if (strlen(path) >= sizeof(cfg->config_file))
        return err_set(err, WS_ECONFIG, "configuration file name is too long (maximum %d bytes)",
                       CFG_MAX_VALUE - 1);
    if (smallfile_read(path, "configuration file", CFG_MAX_FILE, WS_ECONFIG, NULL, &text, &len,
                       err) < 0)
    {
        if (optional && text == NULL && err->sys_errno == ENOENT)
        {
            err_clear(err);
            rc = 0;
        }
        goto out;
    }
    set_string(cfg->config_file, path, strlen(path));
    kv_lines_init(&it, text, len);
    while ((line = kv_lines_next(&it, &n)) != NULL)
    {
        if (memchr(line, '\0', n) != NULL)
        {
            err_set(err, WS_ECONFIG, "invalid NUL byte in file \"%s\" line %d", path, it.lineno);
            goto out;
        }
        if (parse_line(cfg, line, path, it.lineno, err) < 0)
            goto out;
    }
    rc = 0;
out:
    smallfile_free(text, len);
    return rc;
}

/* ---- environment ------------------------------------------------------- */

static int
load_env(struct cfg *cfg, struct ws_err *err)
{
    struct where w = {CFG_SRC_ENV, NULL, 0, NULL, 0};
    size_t      plen = strlen(ENV_PREFIX);

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
            return -1;
        }
    }

    for (int i = 0; i < OPT_COUNT; i++)
    {
        char        name[128];
        const char *value;

        env_name(i, name, sizeof(name));
        value = getenv(name);
        if (value != NULL && assign(cfg, i, value, &w, err) < 0)
            return -1;
    }
    return 0;
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
    if (cfg_option_table[idx].offset == offsetof(struct cfg, encryption_passphrase))
        err_hint(err, "Set %s in the configuration file (mode 0600) or in the environment "
                 "variable %s, or put the passphrase in a file named by "
                 "encryption_passphrase_file.", key, env);
    else
        err_hint(err, "Set %s in the configuration file (mode 0600) or in the environment "
                 "variable %s, or leave it unset to use the AWS credential chain.", key, env);
    return -1;
}

/* The enabled alias spelled by name[0..len) ("jobs"), or by the letter c when len is 0. */
static int
find_alias(const bool *enabled, const char *name, size_t len, char c)
{
    for (int i = 0; i < OPT_COUNT; i++)
    {
        const struct cfg_option *o = &cfg_option_table[i];

        if (!enabled[i])
            continue;
        if (len == 0 ? o->alias_short != 0 && o->alias_short == c
            : o->alias != NULL && strlen(o->alias) == len && strncmp(o->alias, name, len) == 0)
            return i;
    }
    return -1;
}

int
cfg_load(struct cfg *cfg, int argc, char **argv, char ***rest, int *nrest, struct ws_err *err)
{
    return cfg_load_aliases(cfg, argc, argv, NULL, rest, nrest, err);
}

int
cfg_load_aliases(struct cfg *cfg, int argc, char **argv, const char *const *aliases,
                 char ***rest, int *nrest, struct ws_err *err)
{
    struct argv_setting *settings = NULL;
    struct where w_default = {CFG_SRC_DEFAULT, NULL, 0, NULL, 0};
    bool        enabled[CFG_MAX_KEYS] = {false};
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

    for (const char *const *a = aliases; a != NULL && *a != NULL; a++)
    {
        int         idx = find_option(*a, strlen(*a), false);

        if (idx < 0 || cfg_option_table[idx].secret ||
            (cfg_option_table[idx].alias == NULL && cfg_option_table[idx].alias_short == 0))
        {
            err_set(err, WS_EINTERNAL, "configuration key \"%s\" has no command-line alias", *a);
            goto out;
        }
        enabled[idx] = true;
    }

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
        const char *value = NULL;
        size_t      flaglen;
        bool        is_config = false;
        int         idx;

        if (options_done || arg[0] != '-' || arg[1] == '\0' || strcmp(arg, "--") == 0)
        {
            if (strcmp(arg, "--") == 0)
                options_done = true;
            left[nleft++] = argv[i];
            continue;
        }
        if (arg[1] != '-')
        {
            /* -x: a short alias ("-j N", "-jN"), or the executable's own flag */
            idx = find_alias(enabled, NULL, 0, arg[1]);
            if (idx < 0)
            {
                left[nleft++] = argv[i];
                continue;
            }
            flaglen = 2;
            if (arg[2] != '\0')
                value = arg + 2;
        }
        else
        {
            const char *name = arg + 2;
            const char *eq = strchr(name, '=');
            size_t      namelen = eq != NULL ? (size_t) (eq - name) : strlen(name);

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
                idx = find_alias(enabled, name, namelen, 0);
            if (!is_config && idx < 0)
            {
                left[nleft++] = argv[i];    /* the executable's own flag */
                continue;
            }
            flaglen = 2 + namelen;
            if (eq != NULL)
                value = eq + 1;
        }
        if (value == NULL && i + 1 < argc)
            value = argv[++i];
        else if (value == NULL)
        {
            err_set(err, WS_ECONFIG, "option %.*s requires a value", (int) flaglen, arg);
            goto out;
        }
        if (is_config)
            config = value;
        else
        {
            settings[nsettings].idx = idx;
            settings[nsettings].value = value;
            settings[nsettings].flag = arg;
            settings[nsettings].flaglen = flaglen;
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
    {
        struct where w = {CFG_SRC_ARGV, NULL, 0, settings[i].flag, settings[i].flaglen};

        if (assign(cfg, settings[i].idx, settings[i].value, &w, err) < 0)
            goto out;
    }

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

/* Refuse a passphrase file others can read, or one that is not a file, before reading it. */
static int
passphrase_file_check(const char *path, const struct stat *st, struct ws_err *err)
{
    if (!S_ISREG(st->st_mode))
        return err_set(err, WS_ECONFIG, "passphrase file \"%s\" is not a regular file", path);
    if (st->st_mode & 077)
    {
        err_set(err, WS_ECONFIG, "passphrase file \"%s\" is accessible by group or others", path);
        err_detail(err, "Its permissions are %04o.", (unsigned) (st->st_mode & 07777));
        err_hint(err, "Restrict it to its owner, for example with chmod 600.");
        return -1;
    }
    return 0;
}

/*
 * Read the passphrase file: not accessible by group/others, one trailing
 * newline (\n or \r\n) stripped, not empty.
 */
static int
read_passphrase_file(struct cfg *cfg, struct ws_err *err)
{
    const char *path = cfg->encryption_passphrase_file;
    char       *buf = NULL;
    size_t      size = 0;
    size_t      len;
    int         r;
    int         rc = -1;

    /* the longest passphrase and its "\r\n" */
    r = smallfile_read(path, "passphrase file", CFG_MAX_VALUE + 1, WS_ECONFIG,
                       passphrase_file_check, &buf, &size, err);
    if (r == -2)
        goto too_long;
    if (r < 0)
        goto out;
    len = size;
    if (len > 0 && buf[len - 1] == '\n')
    {
        len--;
        if (len > 0 && buf[len - 1] == '\r')
            len--;
    }
    if (len >= CFG_MAX_VALUE)
        goto too_long;
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
    goto out;
too_long:
    err_set(err, WS_ECONFIG, "passphrase in file \"%s\" is too long (maximum %d bytes)",
            path, CFG_MAX_VALUE - 1);
out:
    smallfile_free(buf, size);
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
        cfg_source_of(cfg, "encryption_passphrase") != CFG_SRC_DEFAULT;
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
    const struct cfg_option *o;

    if (idx < 0 || idx >= OPT_COUNT)
        return "";
    o = &cfg_option_table[idx];
    return cfg_types[o->type].format(o, (const char *) cfg + o->offset, buf, size);
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
    int         passphrase = index_of_field(offsetof(struct cfg, encryption_passphrase));

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
                if (i == passphrase && value[0] != '\0')
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
