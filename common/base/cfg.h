/*
 * cfg.h — walship configuration: one struct, built once.
 *
 * Sources in increasing precedence: built-in defaults, the configuration file,
 * the environment (WALSHIP_<KEY>, upper case), the command line (--key=value).
 * Secret keys (cfg_option.secret) are refused on the command line, where any
 * local user could read them: they come from the file or the environment.
 * The file is found at --config FILE, else $WALSHIP_CONFIG, else
 * /etc/walship.conf.  The default file may be absent; a file named explicitly
 * must exist.  Format: postgresql.conf-like "key = value" lines, '#' starts a
 * comment, values may be single- or double-quoted ('' / \' / \" escapes).
 *
 * Parsing (cfg_load) and validation (cfg_validate) are separate steps.  One
 * static option table drives parsing, --help output and the documented list
 * of keys.  The struct is passed down as const; it is never a global.
 */
#ifndef WS_CFG_H
#define WS_CFG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "err.h"
#include "log.h"

#define CFG_DEFAULT_FILE "/etc/walship.conf"
#define CFG_MAX_VALUE 4096

enum cfg_compression
{
    CFG_COMPRESS_NONE = 0,
    CFG_COMPRESS_ZSTD = 1,
    CFG_COMPRESS_GZIP = 2
};

enum cfg_encryption
{
    CFG_ENCRYPT_NONE = 0,
    CFG_ENCRYPT_AES_256_GCM = 1
};

/* Where a setting's value came from (for --print-config). */
enum cfg_source
{
    CFG_SRC_DEFAULT = 0,
    CFG_SRC_FILE,
    CFG_SRC_ENV,
    CFG_SRC_ARGV
};

#define CFG_MAX_KEYS 64     /* capacity of source[]; the table has fewer */

/* alert_archive_lag: segments ("16") or a duration ("30min"); both 0 = off. */
struct cfg_lag
{
    uint64_t    segments;
    uint64_t    seconds;
};

enum cfg_uri_style
{
    CFG_URI_AUTO = 0,           /* path with a custom endpoint, else virtual */
    CFG_URI_PATH,
    CFG_URI_VIRTUAL
};

enum cfg_sse
{
    CFG_SSE_NONE = 0,
    CFG_SSE_AES256,
    CFG_SSE_KMS
};

/* S3 settings (used when repo = s3://bucket/prefix). */
struct cfg_s3
{
    char        endpoint[CFG_MAX_VALUE];        /* "" = AWS for the region */
    char        region[128];                    /* "" = environment/profile/us-east-1 */
    enum cfg_uri_style uri_style;
    char        access_key_id[256];
    char        secret_access_key[256];         /* secret */
    char        session_token[CFG_MAX_VALUE];   /* secret */
    char        ca_file[CFG_MAX_VALUE];
    bool        verify_tls;                     /* default on */
    char        storage_class[64];
    char        storage_class_monthly[64];  /* walship expire: "" = leave them */
    char        storage_class_yearly[64];
    enum cfg_sse sse;
    char        sse_kms_key_id[512];
    uint64_t    part_size;                      /* bytes, default 16 MiB */
    int         connect_timeout;                /* seconds */
    int         timeout;                        /* seconds without progress */
    int         max_retries;
};

struct cfg
{
    char        repo[CFG_MAX_VALUE];            /* directory path (or s3://... later) */
    enum cfg_compression compression;           /* default zstd */
    int         compression_level;              /* -1 = the algorithm's walship default */
    int         compression_threads;            /* zstd workers, 0 = single-threaded */
    enum cfg_encryption encryption;             /* default none */
    char        encryption_passphrase[CFG_MAX_VALUE];   /* secret: never logged */
    char        encryption_passphrase_file[CFG_MAX_VALUE];
    enum log_level log_level;                   /* default info */
    char        pgdata[CFG_MAX_VALUE];          /* data directory, default "." (cwd) */
    int         retry_attempts;                 /* transient-error retries, default 3 */
    int         restore_prefetch;               /* segments fetched ahead, 0 = off */
    int         retry_delay_ms;                 /* first backoff delay, default 200 */
    char        encryption_key_cache[CFG_MAX_VALUE];    /* dir (tmpfs) or "off" */
    struct cfg_s3 s3;
    char        pg_conninfo[CFG_MAX_VALUE];     /* base backups; "" = PG* environment */
    int         backup_wal_timeout;             /* seconds without archiving progress */
    uint64_t    backup_part_size;               /* bytes per backup data object */
    int         recover_jobs;                   /* parallel objects in walship-recover */
    uint64_t    alert_backup_age;               /* walship check: seconds, 0 = off */
    int         alert_backup_size_change;       /* walship check: percent, 0 = off */
    struct cfg_lag alert_archive_lag;           /* walship check: both 0 = off */
    char        drill_pg_bindir[CFG_MAX_VALUE]; /* walship drill: "" = discover */
    char        drill_tmpdir[CFG_MAX_VALUE];    /* "" = $TMPDIR, else /var/tmp */
    uint64_t    drill_timeout;                  /* seconds for start + recovery */
    char        drill_checks_file[CFG_MAX_VALUE];   /* "" = none */
    char        drill_dbname[256];              /* database of checks and --sql */
    char        drill_user[256];                /* "" = the OS user, else postgres */
    int         retain_full;                    /* walship expire: newest N complete, 0 = off */
    uint64_t    retain_daily;                   /* walship expire: seconds, 0 = off */
    uint64_t    retain_weekly;                  /* ISO weeks, UTC */
    uint64_t    retain_monthly;
    uint64_t    retain_yearly;
    uint64_t    retain_pitr;                    /* point-in-time recovery window */
    uint64_t    retain_incomplete;              /* grace period of incomplete backups */
    uint64_t    retain_dumps;                   /* walship expire: dumps, seconds, 0 = off */
    int         retain_dumps_min;               /* newest complete dumps always kept */
    int         archive_parallel;               /* walship-archive: files pushed at once */
    uint64_t    archive_queue_max;              /* walship-archive: bytes waiting, 0 = off */

    /* bookkeeping */
    char        config_file[CFG_MAX_VALUE];     /* file actually read, "" if none */
    char        config_file_secret[64];         /* a secret key it set, "" if none */
    enum cfg_source source[CFG_MAX_KEYS];          /* per option-table index */
};

/* How a key's value is parsed, checked, stored and printed (cfg.c has one routine each). */
enum cfg_type
{
    CFG_T_STRING,               /* char[size]: the text as given */
    CFG_T_INT,                  /* int in [min, max] */
    CFG_T_INT_OR_EMPTY,         /* the same, or "" for -1 (the algorithm's default) */
    CFG_T_ENUM,                 /* an enum (int-sized): one of names, case ignored */
    CFG_T_BOOL,                 /* bool: on/off, true/false, yes/no, 1/0 */
    CFG_T_SIZE,                 /* uint64_t bytes in [min, max]; kB, MB, GB, TB (1024-based) */
    CFG_T_DURATION,             /* uint64_t seconds in [min, max]; s, min, h, d (none: s) */
    CFG_T_PERCENT,              /* int percent in [min, max]: "20%" or "20" */
    CFG_T_LAG                   /* struct cfg_lag: "off", N segments, or a duration */
};

/* A name an enum key accepts, and the value it stands for. */
struct cfg_name
{
    const char *name;
    int         value;
};

/*
 * One row of the option table: everything about one key.  Its environment
 * variable is always WALSHIP_<NAME> in upper case (cfg.c env_name).
 */
struct cfg_option
{
    const char *name;           /* key, lower case: "compression_level" */
    const char *def;            /* default as text, "" for empty */
    const char *help;           /* one line */
    bool        secret;         /* masked in --print-config, refused on argv */
    enum cfg_type type;
    size_t      offset;         /* of the field in struct cfg */
    size_t      size;           /* of the field */
    int64_t     min;            /* CFG_T_INT*, CFG_T_SIZE: accepted range */
    int64_t     max;
    const struct cfg_name *names;   /* CFG_T_ENUM: {NULL, 0}-terminated */
    const char *range_hint;     /* CFG_T_SIZE: hint when outside min .. max, or NULL */
    const char *alias;          /* command-line alias ("jobs" for --jobs), or NULL */
    char        alias_short;    /* short alias ('j' for -j), or 0 */
};

const struct cfg_option *cfg_options(int *n);

/*
 * Load configuration.  argv options recognised here: --config FILE,
 * --config=FILE and --<key>=value (also --key value) for every key in the
 * table.  Arguments that are not configuration (positional arguments and the
 * program's own flags) are returned in *rest / *nrest, in order, so the
 * executable can parse them; the array is allocated (free it with free()),
 * its strings point into argv.  The environment is read from environ.
 * A secret key on argv (--key=value or --key value, in any case, '-' for
 * '_') is WS_ECONFIG, naming the key but not the value.
 * Errors name the file, line and key (WS_ECONFIG).
 */
int         cfg_load(struct cfg *cfg, int argc, char **argv, char ***rest, int *nrest,
                     struct ws_err *err);

/*
 * cfg_load for an executable that accepts the command-line aliases of the
 * keys named in aliases (NULL-terminated; NULL for none): each such row's
 * alias sets the key like --key does, with source "command line", in the
 * forms --alias=V, --alias V, -a V and -aV.  An unknown key or a key
 * without an alias in aliases is WS_EINTERNAL (a bug in the executable).
 */
int         cfg_load_aliases(struct cfg *cfg, int argc, char **argv, const char *const *aliases,
                             char ***rest, int *nrest, struct ws_err *err);

/* The row of key name, or NULL. */
const struct cfg_option *cfg_option_find(const char *name);

/* Where the value of key name came from (CFG_SRC_DEFAULT for an unknown name). */
enum cfg_source cfg_source_of(const struct cfg *cfg, const char *name);

/*
 * Validate values that need cross-checks and resolve the passphrase:
 * encryption requires exactly one of encryption_passphrase or
 * encryption_passphrase_file; the passphrase file must not be readable by
 * group/others; a config file that holds a passphrase must not be readable by
 * group/others.  `need_repo` requires repo to be set.
 */
int         cfg_validate(struct cfg *cfg, bool need_repo, struct ws_err *err);

/* Print the effective configuration, "key = 'value'  # source", secrets masked. */
void        cfg_print(const struct cfg *cfg, FILE *out);

/*
 * The value of option table row idx as text ("" if unset; secrets are NOT
 * masked: check cfg_options()[idx].secret).  buf holds numbers.
 */
const char *cfg_value_text(const struct cfg *cfg, int idx, char *buf, size_t size);
/* Print the option list for --help. */
void        cfg_print_help(FILE *out);

const char *cfg_compression_name(enum cfg_compression c);
const char *cfg_encryption_name(enum cfg_encryption e);

/* Wipe secrets (OPENSSL_cleanse) before the struct goes away. */
void        cfg_wipe(struct cfg *cfg);

#endif
