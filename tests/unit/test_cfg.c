/*
 * test_cfg.c — cfg_load / cfg_validate / cfg_print.
 *
 * Every test runs in its own forked process: .init clears all WALSHIP_*
 * variables, makes a scratch directory under /tmp and points WALSHIP_CONFIG
 * at an empty file there, so /etc/walship.conf on the host never leaks in.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <criterion/redirect.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "cfg.h"


static char scratch[64];
static char empty_conf[PATH_MAX];

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

/* Create scratch/name with exactly `mode` and `content`; return its path. */
static const char *
mkfile(const char *name, mode_t mode, const char *content)
{
    const char *p = tpath(name);
    int         fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    size_t      len = strlen(content);

    cr_assert(fd >= 0, "open %s: %s", p, strerror(errno));
    cr_assert_eq(write(fd, content, len), (ssize_t) len);
    cr_assert_eq(fchmod(fd, mode), 0);
    close(fd);
    return p;
}

static void
setup(void)
{
    harness_clear_walship_env();
    strcpy(scratch, "/tmp/ws_test_cfg_XXXXXX");
    cr_assert_not_null(mkdtemp(scratch));
    strcpy(empty_conf, mkfile("empty.conf", 0600, ""));
    setenv("WALSHIP_CONFIG", empty_conf, 1);
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
    if (scratch[0] != '\0')
        nftw(scratch, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

TestSuite(cfg, .init = setup, .fini = teardown);

static int
load_args(struct cfg *cfg, struct ws_err *err, char ***rest, int *nrest, const char **args)
{
    int         argc = 0;

    while (args[argc] != NULL)
        argc++;
    return cfg_load(cfg, argc, (char **) args, rest, nrest, err);
}

/* cfg_load with argv = {"walship", ...}; rest is not returned. */
#define LOAD(cfg, err, ...) \
    load_args((cfg), (err), NULL, NULL, (const char *[]){"walship", ##__VA_ARGS__, NULL})

/* Load with only a configuration file of the given content (mode 0600). */
static int
load_conf(struct cfg *cfg, struct ws_err *err, const char *content, const char **path)
{
    const char *p = mkfile("test.conf", 0600, content);

    if (path != NULL)
        *path = p;
    return load_args(cfg, err, NULL, NULL, (const char *[]){"walship", "--config", p, NULL});
}

/* ---- defaults and the option table ------------------------------------- */

Test(cfg, defaults)
{
    struct cfg  cfg;
    struct ws_err err = WS_ERR_INIT;
    int         n;

    cr_assert_eq(LOAD(&cfg, &err), 0, "%s", err.msg);
    cr_assert_str_eq(cfg.repo, "");
    cr_assert_eq(cfg.compression, CFG_COMPRESS_ZSTD);
    cr_assert_eq(cfg.compression_level, -1);
    cr_assert_eq(cfg.compression_threads, 0);
    cr_assert_eq(cfg.encryption, CFG_ENCRYPT_NONE);
    cr_assert_str_eq(cfg.encryption_passphrase, "");
    cr_assert_str_eq(cfg.encryption_passphrase_file, "");
    cr_assert_eq(cfg.log_level, LOG_LEVEL_INFO);
    cr_assert_str_eq(cfg.pgdata, ".");
    cr_assert_eq(cfg.retry_attempts, 3);
    cr_assert_eq(cfg.retry_delay_ms, 200);
    cr_assert_str_eq(cfg.config_file, empty_conf);
    cfg_options(&n);
    for (int i = 0; i < n; i++)
        cr_assert_eq(cfg.source[i], CFG_SRC_DEFAULT, "option %d", i);
}

Test(cfg, option_table)
{
    static const char *names[] = {
        "repo", "compression", "compression_level", "compression_threads", "encryption",
        "encryption_passphrase", "encryption_passphrase_file", "log_level", "pgdata",
        "retry_attempts", "retry_delay_ms", "restore_prefetch", "encryption_key_cache",
        "s3_endpoint", "s3_region", "s3_uri_style", "s3_access_key_id", "s3_secret_access_key",
        "s3_session_token", "s3_ca_file", "s3_verify_tls", "s3_storage_class",
        "s3_storage_class_monthly", "s3_storage_class_yearly", "s3_sse",
        "s3_sse_kms_key_id", "s3_part_size", "s3_connect_timeout", "s3_timeout", "s3_max_retries",
        "pg_conninfo", "backup_wal_timeout", "backup_part_size", "recover_jobs",
        "alert_backup_age", "alert_backup_size_change", "alert_archive_lag",
        "drill_pg_bindir", "drill_tmpdir", "drill_timeout", "drill_checks_file", "drill_dbname",
        "drill_user",
        "retain_full", "retain_daily", "retain_weekly", "retain_monthly", "retain_yearly",
        "retain_pitr", "retain_dumps", "retain_dumps_min", "retain_incomplete",
        "archive_parallel", "archive_queue_max"
    };
    static const char *defs[] = {"", "zstd", "", "0", "none", "", "", "info", ".", "3", "200",
                                 "16", "/dev/shm", "", "", "auto", "", "", "", "", "on", "", "", "", "", "",
                                 "16MB", "10", "60", "5", "", "300", "1GB", "4", "25h", "20%",
                                 "off", "", "", "1h", "", "postgres", "",
                                 "0", "off", "off", "off", "off", "off", "off", "1", "1d",
                                 "4", "0"};
    int         n = 0;
    const struct cfg_option *o = cfg_options(&n);

    cr_assert_eq(n, 54);
    cr_assert_leq(n, CFG_MAX_KEYS);
    for (int i = 0; i < n; i++)
    {
        cr_assert_str_eq(o[i].name, names[i]);
        cr_assert_str_eq(o[i].def, defs[i], "default of %s", names[i]);
        cr_assert_not_null(o[i].help);
        cr_assert_eq(o[i].secret, strcmp(names[i], "encryption_passphrase") == 0 ||
                     strcmp(names[i], "s3_secret_access_key") == 0 ||
                     strcmp(names[i], "s3_session_token") == 0, "%s", names[i]);
    }
}

Test(cfg, names)
{
    cr_assert_str_eq(cfg_compression_name(CFG_COMPRESS_ZSTD), "zstd");
    cr_assert_str_eq(cfg_compression_name(CFG_COMPRESS_GZIP), "gzip");
    cr_assert_str_eq(cfg_compression_name(CFG_COMPRESS_NONE), "none");
    cr_assert_str_eq(cfg_encryption_name(CFG_ENCRYPT_NONE), "none");
    cr_assert_str_eq(cfg_encryption_name(CFG_ENCRYPT_AES_256_GCM), "aes-256-gcm");
}

/* ---- file syntax -------------------------------------------------------- */

Test(cfg, file_syntax_forms)
{
    struct cfg  cfg;
    struct ws_err err = WS_ERR_INIT;

    cr_assert_eq(load_conf(&cfg, &err,
                           "# walship.conf\n"
                           "\n"
                           "   \n"
                           "repo = '/var/lib/it''s here'   # trailing comment\n"
                           "Compression gzip\n"
                           "COMPRESSION_LEVEL=7\n"
                           "pgdata = \"/data/with \\\"dq\\\" #x\"\n"
                           "encryption_passphrase_file = 'a\\'b'\n"
                           "\tlog_level\t=\tDEBUG # tabs\n"
                           "retry_attempts = '5'\n"
                           "retry_delay_ms = 1000#comment\n"
                           "compression_threads = 4\r\n"
                           "# last line without newline\n"
                           "Encryption = aes-256-gcm", NULL), 0, "%s", err.msg);
    cr_assert_str_eq(cfg.repo, "/var/lib/it's here");
    cr_assert_eq(cfg.compression, CFG_COMPRESS_GZIP);
    cr_assert_eq(cfg.compression_level, 7);
    cr_assert_str_eq(cfg.pgdata, "/data/with \"dq\" #x");
    cr_assert_str_eq(cfg.encryption_passphrase_file, "a'b");
    cr_assert_eq(cfg.log_level, LOG_LEVEL_DEBUG);
    cr_assert_eq(cfg.retry_attempts, 5);
    cr_assert_eq(cfg.retry_delay_ms, 1000);
    cr_assert_eq(cfg.compression_threads, 4);
    cr_assert_eq(cfg.encryption, CFG_ENCRYPT_AES_256_GCM);
    for (int i = 0; i < 11; i++)
    {
        if (i == 5)     /* encryption_passphrase was not in the file */
            cr_assert_eq(cfg.source[i], CFG_SRC_DEFAULT);
        else
            cr_assert_eq(cfg.source[i], CFG_SRC_FILE, "option %d", i);
    }
}

Test(cfg, file_escapes_empty_and_repeats)
{
    struct cfg  cfg;
    struct ws_err err = WS_ERR_INIT;

    cr_assert_eq(load_conf(&cfg, &err,
                           "repo = 'first'\n"
                           "repo = 'tab\\there\\\\back\\n'\n"
                           "pgdata = ''\n"
                           "compression_level = 3\n"
                           "compression_level = ''\n"
                           "encryption_passphrase = abc==\n", NULL), 0, "%s", err.msg);
    cr_assert_str_eq(cfg.repo, "tab\there\\back\n");
    cr_assert_str_eq(cfg.pgdata, "");
    cr_assert_eq(cfg.compression_level, -1);
    cr_assert_eq(cfg.source[2], CFG_SRC_FILE);
    cr_assert_str_eq(cfg.encryption_passphrase, "abc==");
}

/* Copy tmpl to buf with its "%s" (if any) replaced by path. */
static void
subst(char *buf, size_t size, const char *tmpl, const char *path)
{
    const char *at = strstr(tmpl, "%s");

    if (at == NULL)
        snprintf(buf, size, "%s", tmpl);
    else
        snprintf(buf, size, "%.*s%s%s", (int) (at - tmpl), tmpl, path, at + 2);
}

/*
 * Criterion may run each parameterized test in a re-executed process, where
 * pointers to string literals are not valid: parameters hold arrays.
 */
struct bad_line
{
    char        line[64];
    char        expect[128];    /* substring of the message */
    char        hint[64];       /* substring of the hint, or "" */
};

ParameterizedTestParameters(cfg, file_bad_line)
{
    static struct bad_line cases[] = {
        {"foo = bar", "unrecognized configuration parameter \"foo\"", ""},
        {"compression = lz5",
            "invalid value for parameter \"compression\" in file \"%s\" line 3: \"lz5\"",
            "Available values: zstd, gzip, none."},
        {"encryption = aes", "invalid value for parameter \"encryption\"", "aes-256-gcm"},
        {"log_level = verbose", "invalid value for parameter \"log_level\"",
            "error, warning, info, debug"},
        {"retry_attempts = abc", "invalid value for parameter \"retry_attempts\" in file \"%s\" "
            "line 3: \"abc\"", "0 .. 100"},
        {"retry_attempts = 12x", ": \"12x\"", "0 .. 100"},
        {"retry_attempts = ''", "invalid value for parameter \"retry_attempts\"", "integer"},
        {"retry_attempts = ' 5'", "invalid value for parameter \"retry_attempts\"", ""},
        {"retry_delay_ms = 99999999999999999999", "invalid value for parameter \"retry_delay_ms\"",
            "0 .. 600000"},
        {"retry_attempts = 101",
            "101 is outside the valid range for parameter \"retry_attempts\" (0 .. 100)", ""},
        {"compression_threads = -1", "outside the valid range for parameter "
            "\"compression_threads\" (0 .. 64)", ""},
        {"retry_delay_ms = 600001", "(0 .. 600000)", ""},
        {"compression_level = 20", "(-5 .. 19)", ""},
        {"compression_level = x", "invalid value for parameter \"compression_level\"", ""},
        {"repo = a b", "syntax error in file \"%s\" line 3, near token \"b\"", "Quote"},
        {"= x", "syntax error in file \"%s\" line 3, near token \"=\"", ""},
        {"1repo = x", "near token \"1repo\"", ""},
        {"repo: x", "near token \"repo:\"", ""},
        {"repo =", "syntax error in file \"%s\" line 3, near end of line", ""},
        {"repo = # nothing", "near end of line", ""},
        {"repo 'a' 'b'", "near token \"'b'\"", ""},
        {"repo = ab'c'", "near token \"'c'\"", ""},
        {"repo = 'abc", "unterminated quoted string for parameter \"repo\" in file \"%s\" line 3",
            ""},
        {"repo = \"abc", "unterminated quoted string for parameter \"repo\"", ""},
        {"repo = 'abc\\'", "unterminated quoted string", ""},
        {"repo = 'abc\\", "unterminated quoted string", ""},
    };

    return cr_make_param_array(struct bad_line, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct bad_line *c, cfg, file_bad_line)
{
    struct cfg  cfg;
    struct ws_err err = WS_ERR_INIT;
    char        content[256];
    char        expect[PATH_MAX + 256];
    char        where[PATH_MAX + 64];
    const char *path = tpath("test.conf");
    char      **rest = (char **) 1;
    int         nrest = 42;

    snprintf(content, sizeof(content), "# line 1\n\n%s\nrepo = fine\n", c->line);
    mkfile("test.conf", 0600, content);
    cr_assert_eq(load_args(&cfg, &err, &rest, &nrest,
                           (const char *[]){"walship", "--config", path, NULL}), -1,
                 "accepted: %s", c->line);
    cr_assert_eq(err.code, WS_ECONFIG);
    subst(expect, sizeof(expect), c->expect, path);
    cr_assert(strstr(err.msg, expect) != NULL, "line <%s>: message <%s> lacks <%s>",
              c->line, err.msg, expect);
    snprintf(where, sizeof(where), "in file \"%s\" line 3", path);
    cr_assert(strstr(err.msg, where) != NULL, "message <%s> lacks <%s>", err.msg, where);
    if (c->hint[0] != '\0')
        cr_assert(strstr(err.hint, c->hint) != NULL, "hint <%s> lacks <%s>", err.hint, c->hint);
    cr_assert_null(rest);
    cr_assert_eq(nrest, 0);
}

Test(cfg, file_nul_byte)
{
    struct cfg  cfg;
    struct ws_err err = WS_ERR_INIT;
    const char *p = tpath("nul.conf");
    FILE       *f = fopen(p, "w");

    cr_assert_not_null(f);
    fwrite("repo = a\0b\n", 1, 11, f);
    fclose(f);
    cr_assert_eq(LOAD(&cfg, &err, "--config", p), -1);
    cr_assert(strstr(err.msg, "line 1") != NULL, "%s", err.msg);
}

Test(cfg, file_secret_not_echoed)
{
    struct cfg  cfg;
    struct ws_err err = WS_ERR_INIT;

    cr_assert_eq(load_conf(&cfg, &err, "encryption_passphrase = top secretword\n", NULL), -1);
    cr_assert(strstr(err.msg, "encryption_passphrase") != NULL, "%s", err.msg);
    cr_assert(strstr(err.msg, "line 1") != NULL, "%s", err.msg);
    cr_assert(strstr(err.msg, "secretword") == NULL, "secret leaked: %s", err.msg);
    cr_assert(strstr(err.detail, "secretword") == NULL);
    cr_assert(strstr(err.hint, "secretword") == NULL);

    cr_assert_eq(load_conf(&cfg, &err, "encryption_passphrase:secretword\n", NULL), -1);
    cr_assert(strstr(err.msg, "syntax error") != NULL, "%s", err.msg);
    cr_assert(strstr(err.msg, "secretword") == NULL, "secret leaked: %s", err.msg);

    cr_assert_eq(load_conf(&cfg, &err, "encryption_passphrase = abc'secretword'\n", NULL), -1);
    cr_assert(strstr(err.msg, "secretword") == NULL, "secret leaked: %s", err.msg);
}

Test(cfg, file_value_too_long)
{
    struct cfg  cfg;
    struct ws_err err = WS_ERR_INIT;
    static char content[CFG_MAX_VALUE + 64];
    char        ok[CFG_MAX_VALUE];

    memset(ok, 'x', CFG_MAX_VALUE - 1);
    ok[CFG_MAX_VALUE - 1] = '\0';
    snprintf(content, sizeof(content), "pgdata = '%s'\n", ok);
    cr_assert_eq(load_conf(&cfg, &err, content, NULL), 0, "%s", err.msg);
    cr_assert_eq(strlen(cfg.pgdata), CFG_MAX_VALUE - 1);

    snprintf(content, sizeof(content), "\npgdata = '%sx'\n", ok);
    cr_assert_eq(load_conf(&cfg, &err, content, NULL), -1);
    cr_assert_eq(err.code, WS_ECONFIG);
    cr_assert(strstr(err.msg, "parameter \"pgdata\"") != NULL, "%s", err.msg);
    cr_assert(strstr(err.msg, "line 2") != NULL, "%s", err.msg);
    cr_assert(strstr(err.msg, "too long") != NULL, "%s", err.msg);
}

/* ---- which file is read ------------------------------------------------- */

Test(cfg, config_flag_beats_env)
{
    struct cfg  cfg;
    struct ws_err err = WS_ERR_INIT;
    const char *a = mkfile("a.conf", 0600, "repo = /from-a\n");
    const char *b = mkfile("b.conf", 0600, "repo = /from-b\n");

    setenv("WALSHIP_CONFIG", a, 1);
    cr_assert_eq(LOAD(&cfg, &err), 0, "%s", err.msg);
    cr_assert_str_eq(cfg.repo, "/from-a");
    cr_assert_str_eq(cfg.config_file, a);
    cr_assert_eq(cfg.source[0], CFG_SRC_FILE);

    cr_assert_eq(LOAD(&cfg, &err, "--config", b), 0, "%s", err.msg);
    cr_assert_str_eq(cfg.repo, "/from-b");
    cr_assert_str_eq(cfg.config_file, b);

    /* a file named on the command line must exist, even with WALSHIP_CONFIG set */
    cr_assert_eq(LOAD(&cfg, &err, "pos", "--config=" "/nonexistent/x.conf"), -1);
    {
        char        arg[PATH_MAX + 16];

        snprintf(arg, sizeof(arg), "--config=%s", b);
        cr_assert_eq(LOAD(&cfg, &err, arg), 0, "%s", err.msg);
        cr_assert_str_eq(cfg.repo, "/from-b");
        cr_assert_str_eq(cfg.config_file, b);
    }
}

Test(cfg, default_file_when_nothing_named)
{
    struct cfg  cfg;
    struct ws_err err = WS_ERR_INIT;

    unsetenv("WALSHIP_CONFIG");
    if (access(CFG_DEFAULT_FILE, F_OK) == 0)
        cr_skip_test("%s exists on this host; cannot test its absence", CFG_DEFAULT_FILE);
    cr_assert_eq(LOAD(&cfg, &err), 0, "%s", err.msg);
    cr_assert_str_eq(cfg.config_file, "");
    cr_assert_eq(cfg.compression, CFG_COMPRESS_ZSTD);
}

Test(cfg, missing_named_file_is_error)
{
    struct cfg  cfg;
    struct ws_err err = WS_ERR_INIT;
    const char *p = tpath("absent.conf");
    char      **rest = (char **) 1;
    int         nrest = 42;

    cr_assert_eq(load_args(&cfg, &err, &rest, &nrest,
                           (const char *[]){"walship", "pos", "--config", p, NULL}), -1);
    cr_assert_eq(err.code, WS_ECONFIG);
    cr_assert(strstr(err.msg, p) != NULL, "%s", err.msg);
    cr_assert(strstr(err.msg, "No such file or directory") != NULL, "%s", err.msg);
    cr_assert_null(rest);
    cr_assert_eq(nrest, 0);

    err_clear(&err);
    setenv("WALSHIP_CONFIG", p, 1);
    cr_assert_eq(LOAD(&cfg, &err), -1);
    cr_assert_eq(err.code, WS_ECONFIG);
    cr_assert(strstr(err.msg, p) != NULL, "%s", err.msg);
}

Test(cfg, config_is_directory)
{
    struct cfg  cfg;
    struct ws_err err = WS_ERR_INIT;

    cr_assert_eq(LOAD(&cfg, &err, "--config", scratch), -1);
    cr_assert_eq(err.code, WS_ECONFIG);
    cr_assert(strstr(err.msg, scratch) != NULL, "%s", err.msg);
}

/* ---- precedence ----------------------------------------------------------- */

Test(cfg, precedence)
{
    struct cfg  cfg;
    struct ws_err err = WS_ERR_INIT;
    const char *p = mkfile("p.conf", 0600,
                           "compression = gzip\n"
                           "retry_attempts = 5\n"
                           "log_level = debug\n"
                           "repo = /file\n"
                           "retry_delay_ms = 10\n");

    setenv("WALSHIP_CONFIG", p, 1);
    setenv("WALSHIP_COMPRESSION", "none", 1);
    setenv("WALSHIP_RETRY_ATTEMPTS", "6", 1);
    setenv("WALSHIP_REPO", "/env", 1);
    setenv("WALSHIP_PGDATA", "/env-pgdata", 1);
    cr_assert_eq(LOAD(&cfg, &err, "--compression=zstd", "--repo", "/argv"), 0, "%s", err.msg);

    cr_assert_eq(cfg.compression, CFG_COMPRESS_ZSTD);       /* argv > env > file */
    cr_assert_eq(cfg.source[1], CFG_SRC_ARGV);
    cr_assert_str_eq(cfg.repo, "/argv");
    cr_assert_eq(cfg.source[0], CFG_SRC_ARGV);
    cr_assert_eq(cfg.retry_attempts, 6);                    /* env > file */
    cr_assert_eq(cfg.source[9], CFG_SRC_ENV);
    cr_assert_str_eq(cfg.pgdata, "/env-pgdata");            /* env > default */
    cr_assert_eq(cfg.source[8], CFG_SRC_ENV);
    cr_assert_eq(cfg.log_level, LOG_LEVEL_DEBUG);           /* file > default */
    cr_assert_eq(cfg.source[7], CFG_SRC_FILE);
    cr_assert_eq(cfg.retry_delay_ms, 10);
    cr_assert_eq(cfg.source[10], CFG_SRC_FILE);
    cr_assert_eq(cfg.compression_threads, 0);               /* default */
    cr_assert_eq(cfg.source[3], CFG_SRC_DEFAULT);

    /* argv without env: argv > file */
    unsetenv("WALSHIP_RETRY_ATTEMPTS");
    cr_assert_eq(LOAD(&cfg, &err, "--retry_attempts", "7"), 0, "%s", err.msg);
    cr_assert_eq(cfg.retry_attempts, 7);
    cr_assert_eq(cfg.source[9], CFG_SRC_ARGV);
    cr_assert_eq(cfg.compression, CFG_COMPRESS_NONE);
    cr_assert_eq(cfg.source[1], CFG_SRC_ENV);
}

/* ---- environment ---------------------------------------------------------- */

Test(cfg, env_bad_value)
{
    struct cfg  cfg;
    struct ws_err err = WS_ERR_INIT;

    setenv("WALSHIP_COMPRESSION", "lz5", 1);
    cr_assert_eq(LOAD(&cfg, &err), -1);
    cr_assert_eq(err.code, WS_ECONFIG);
    cr_assert_str_eq(err.msg,
                     "invalid value for environment variable WALSHIP_COMPRESSION: \"lz5\"");
    cr_assert(strstr(err.hint, "zstd, gzip, none") != NULL, "%s", err.hint);
}

Test(cfg, env_out_of_range)
{
    struct cfg  cfg;
    struct ws_err err = WS_ERR_INIT;

    setenv("WALSHIP_RETRY_DELAY_MS", "700000", 1);
    cr_assert_eq(LOAD(&cfg, &err), -1);
    cr_assert(strstr(err.msg, "WALSHIP_RETRY_DELAY_MS") != NULL, "%s", err.msg);
    cr_assert(strstr(err.msg, "\"retry_delay_ms\" (0 .. 600000)") != NULL, "%s", err.msg);
}

Test(cfg, env_unknown_variable)
{
    struct cfg  cfg;
    struct ws_err err = WS_ERR_INIT;

    /* WALSHIP_CONFIG is set by setup() and is not an error */
    cr_assert_eq(LOAD(&cfg, &err), 0, "%s", err.msg);
    setenv("WALSHIP_FOO", "1", 1);
    cr_assert_eq(LOAD(&cfg, &err), -1);
    cr_assert_eq(err.code, WS_ECONFIG);
    cr_assert_str_eq(err.msg, "unrecognized environment variable WALSHIP_FOO");
    unsetenv("WALSHIP_FOO");
    setenv("WALSHIP_repo", "/x", 1);        /* names are upper case */
    cr_assert_eq(LOAD(&cfg, &err), -1);
    cr_assert_str_eq(err.msg, "unrecognized environment variable WALSHIP_repo");
}

/* ---- command line --------------------------------------------------------- */

Test(cfg, argv_key_without_value)
{
    struct cfg  cfg;
    struct ws_err err = WS_ERR_INIT;

    cr_assert_eq(LOAD(&cfg, &err, "pos", "--repo"), -1);
    cr_assert_eq(err.code, WS_ECONFIG);
    cr_assert_str_eq(err.msg, "option --repo requires a value");
    cr_assert_eq(LOAD(&cfg, &err, "--config"), -1);
    cr_assert_str_eq(err.msg, "option --config requires a value");
}

Test(cfg, argv_bad_values)
{
    struct cfg  cfg;
    struct ws_err err = WS_ERR_INIT;

    cr_assert_eq(LOAD(&cfg, &err, "--compression=lz5"), -1);
    cr_assert_str_eq(err.msg, "invalid value for option --compression: \"lz5\"");
    cr_assert_eq(LOAD(&cfg, &err, "--retry_attempts", "3.5"), -1);
    cr_assert_str_eq(err.msg, "invalid value for option --retry_attempts: \"3.5\"");
    cr_assert(strstr(err.hint, "0 .. 100") != NULL, "%s", err.hint);
    cr_assert_eq(LOAD(&cfg, &err, "--compression_threads=65"), -1);
    cr_assert(strstr(err.msg, "(0 .. 64)") != NULL, "%s", err.msg);
}

Test(cfg, alert_keys)
{
    struct cfg  cfg;
    struct ws_err err = WS_ERR_INIT;

    cr_assert_eq(LOAD(&cfg, &err), 0, "%s", err.msg);
    cr_assert_eq(cfg.alert_backup_age, 25 * 3600);
    cr_assert_eq(cfg.alert_backup_size_change, 20);
    cr_assert_eq(cfg.alert_archive_lag.segments, 0);
    cr_assert_eq(cfg.alert_archive_lag.seconds, 0);
    cr_assert_eq(load_conf(&cfg, &err, "alert_backup_age = 30min\nalert_backup_size_change = 5%\n"
                           "alert_archive_lag = 16\n", NULL), 0, "%s", err.msg);
    cr_assert_eq(cfg.alert_backup_age, 1800);
    cr_assert_eq(cfg.alert_backup_size_change, 5);
    cr_assert_eq(cfg.alert_archive_lag.segments, 16);
    cr_assert_eq(LOAD(&cfg, &err, "--alert_archive_lag=30min"), 0, "%s", err.msg);
    cr_assert_eq(cfg.alert_archive_lag.segments, 0);
    cr_assert_eq(cfg.alert_archive_lag.seconds, 1800);

    cr_assert_eq(load_conf(&cfg, &err, "alert_backup_age = 25x\n", NULL), -1);
    cr_assert_eq(err.code, WS_ECONFIG);
    cr_assert(strstr(err.msg, "\"alert_backup_age\"") != NULL, "%s", err.msg);
    cr_assert(strstr(err.msg, "\"25x\"") != NULL, "%s", err.msg);
    cr_assert_eq(LOAD(&cfg, &err, "--alert_backup_size_change=lots"), -1);
    cr_assert_str_eq(err.msg, "invalid value for option --alert_backup_size_change: \"lots\"");
    cr_assert_eq(LOAD(&cfg, &err, "--alert_archive_lag=16x"), -1);
    cr_assert_str_eq(err.msg, "invalid value for option --alert_archive_lag: \"16x\"");
    cr_assert_eq(LOAD(&cfg, &err, "--alert_archive_lag=0"), -1);
}

Test(cfg, retain_keys)
{
    struct cfg  cfg;
    struct ws_err err = WS_ERR_INIT;
    char       *out = NULL;
    size_t      size = 0;
    FILE       *f;

    cr_assert_eq(LOAD(&cfg, &err), 0, "%s", err.msg);
    cr_assert(cfg.retain_full == 0 && cfg.retain_daily == 0 && cfg.retain_weekly == 0 &&
              cfg.retain_monthly == 0 && cfg.retain_yearly == 0 && cfg.retain_pitr == 0,
              "every retention key is off unless set");
    cr_assert_eq(cfg.retain_incomplete, 86400);
    cr_assert_eq(load_conf(&cfg, &err, "retain_full = 4\nretain_daily = 30d\n"
                           "retain_weekly = 90d\nretain_monthly = 1y\nretain_yearly = 7y\n"
                           "retain_pitr = 1w\nretain_incomplete = 6h\n", NULL), 0, "%s",
                 err.msg);
    cr_assert_eq(cfg.retain_full, 4);
    cr_assert_eq(cfg.retain_daily, 30 * 86400);
    cr_assert_eq(cfg.retain_weekly, 90 * 86400);
    cr_assert_eq(cfg.retain_monthly, 365 * 86400);
    cr_assert_eq(cfg.retain_yearly, 7 * 365 * 86400);
    cr_assert_eq(cfg.retain_pitr, 7 * 86400);
    cr_assert_eq(cfg.retain_incomplete, 6 * 3600);
    cr_assert_eq(load_conf(&cfg, &err, "retain_daily = off\n", NULL), 0, "%s", err.msg);
    cr_assert_eq(cfg.retain_daily, 0);

    cr_assert_eq(load_conf(&cfg, &err, "retain_daily = 30x\n", NULL), -1);
    cr_assert_eq(err.code, WS_ECONFIG);
    cr_assert(strstr(err.msg, "\"retain_daily\"") != NULL, "%s", err.msg);
    cr_assert(strstr(err.msg, "\"30x\"") != NULL, "%s", err.msg);
    cr_assert(strstr(err.hint, "w, y") != NULL, "%s", err.hint);
    cr_assert_eq(load_conf(&cfg, &err, "retain_full = -1\n", NULL), -1);
    cr_assert(strstr(err.msg, "\"retain_full\"") != NULL, "%s", err.msg);
    cr_assert_eq(LOAD(&cfg, &err, "--retain_incomplete=10min"), -1);
    cr_assert(strstr(err.msg, "retain_incomplete") != NULL, "%s", err.msg);
    cr_assert(strstr(err.hint, "at least 1h") != NULL, "%s", err.hint);
    /* off is only for the keys whose default is off */
    cr_assert_eq(LOAD(&cfg, &err, "--retain_incomplete=off"), -1);

    cr_assert_eq(LOAD(&cfg, &err, "--retain_yearly=7y"), 0, "%s", err.msg);
    f = open_memstream(&out, &size);
    cr_assert_not_null(f);
    cfg_print(&cfg, f);
    fclose(f);
    cr_assert(strstr(out, "retain_yearly = '7y'") != NULL, "%s", out);
    cr_assert(strstr(out, "retain_pitr = 'off'") != NULL, "%s", out);
    free(out);
}

Test(cfg, argv_value_too_long)
{
    struct cfg  cfg;
    struct ws_err err = WS_ERR_INIT;
    static char arg[CFG_MAX_VALUE + 16];
    size_t      prefix = strlen("--repo=");

    memcpy(arg, "--repo=", prefix);
    memset(arg + prefix, 'r', CFG_MAX_VALUE - 1);
    arg[prefix + CFG_MAX_VALUE - 1] = '\0';
    cr_assert_eq(LOAD(&cfg, &err, arg), 0, "%s", err.msg);
    cr_assert_eq(strlen(cfg.repo), CFG_MAX_VALUE - 1);

    strcat(arg, "r");
    cr_assert_eq(LOAD(&cfg, &err, arg), -1);
    cr_assert_eq(err.code, WS_ECONFIG);
    cr_assert(strstr(err.msg, "option --repo is too long") != NULL, "%s", err.msg);

    setenv("WALSHIP_PGDATA", arg + prefix, 1);
    cr_assert_eq(LOAD(&cfg, &err), -1);
    cr_assert(strstr(err.msg, "WALSHIP_PGDATA is too long") != NULL, "%s", err.msg);
}

/* ---- secrets are refused on the command line ------------------------------ */

#define ARGV_SECRET "argv-secret-1a2b3c"

/* err says "--key" is refused and names the safe places, without the value. */
static void
assert_secret_refused(const struct ws_err *err, const char *key)
{
    char        flag[96];
    char        env[96];
    size_t      i;

    snprintf(flag, sizeof(flag), "--%s", key);
    snprintf(env, sizeof(env), "WALSHIP_%s", key);
    for (i = strlen("WALSHIP_"); env[i] != '\0'; i++)
        env[i] = (char) (env[i] >= 'a' && env[i] <= 'z' ? env[i] - 'a' + 'A' : env[i]);
    cr_assert_eq(err->code, WS_ECONFIG, "code %d: %s", err->code, err->msg);
    cr_assert(strstr(err->msg, flag) != NULL, "key not named: %s", err->msg);
    cr_assert(strstr(err->msg, "command line") != NULL, "%s", err->msg);
    cr_assert(strstr(err->hint, "configuration file") != NULL, "%s", err->hint);
    cr_assert(strstr(err->hint, "0600") != NULL, "%s", err->hint);
    cr_assert(strstr(err->hint, env) != NULL, "%s not in hint: %s", env, err->hint);
    if (strcmp(key, "encryption_passphrase") == 0)
        cr_assert(strstr(err->hint, "encryption_passphrase_file") != NULL, "%s", err->hint);
    cr_assert(strstr(err->msg, ARGV_SECRET) == NULL, "secret leaked: %s", err->msg);
    cr_assert(strstr(err->detail, ARGV_SECRET) == NULL, "secret leaked: %s", err->detail);
    cr_assert(strstr(err->hint, ARGV_SECRET) == NULL, "secret leaked: %s", err->hint);
}

struct argv_secret_case
{
    char        args[4][64];        /* "" ends the list */
    char        key[32];
};

ParameterizedTestParameters(cfg, argv_secret_refused)
{
    static struct argv_secret_case cases[] = {
        {{"--encryption_passphrase=" ARGV_SECRET}, "encryption_passphrase"},
        {{"--encryption_passphrase", ARGV_SECRET}, "encryption_passphrase"},
        {{"--s3_secret_access_key=" ARGV_SECRET}, "s3_secret_access_key"},
        {{"--s3_secret_access_key", ARGV_SECRET}, "s3_secret_access_key"},
        {{"--s3_session_token=" ARGV_SECRET}, "s3_session_token"},
        {{"--s3_session_token", ARGV_SECRET}, "s3_session_token"},
        /* empty, or no value at all: refused all the same */
        {{"--encryption_passphrase="}, "encryption_passphrase"},
        {{"--s3_session_token"}, "s3_session_token"},
        /* among other settings and positional arguments */
        {{"--repo=/r", "pos", "--s3_secret_access_key=" ARGV_SECRET, "pos2"},
         "s3_secret_access_key"},
        /* spellings the parser would otherwise echo back as unrecognized */
        {{"--encryption-passphrase=" ARGV_SECRET}, "encryption_passphrase"},
        {{"--S3_SECRET_ACCESS_KEY=" ARGV_SECRET}, "s3_secret_access_key"},
        {{"--s3-Session-Token", ARGV_SECRET}, "s3_session_token"},
    };

    return cr_make_param_array(struct argv_secret_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct argv_secret_case *c, cfg, argv_secret_refused)
{
    struct cfg  cfg;
    struct ws_err err = WS_ERR_INIT;
    const char *args[6] = {"walship"};
    int         n = 1;

    for (int i = 0; i < 4 && c->args[i][0] != '\0'; i++)
        args[n++] = c->args[i];
    args[n] = NULL;
    /* also when the same key is set properly elsewhere */
    setenv("WALSHIP_S3_SESSION_TOKEN", "env-token", 1);
    cr_assert_eq(load_args(&cfg, &err, NULL, NULL, args), -1, "%s accepted", c->args[0]);
    assert_secret_refused(&err, c->key);
    cr_assert_str_eq(cfg.encryption_passphrase, "");
    cr_assert_str_eq(cfg.s3.secret_access_key, "");
    cr_assert_str_eq(cfg.s3.session_token, "");
}

/* Every row of the option table marked secret, present and future. */
Test(cfg, argv_secret_refused_for_every_secret_key)
{
    int         n;
    const struct cfg_option *o = cfg_options(&n);
    int         nsecret = 0;

    for (int i = 0; i < n; i++)
    {
        struct cfg  cfg;
        struct ws_err err = WS_ERR_INIT;
        char        arg[128];

        if (!o[i].secret)
            continue;
        nsecret++;
        snprintf(arg, sizeof(arg), "--%s=%s", o[i].name, ARGV_SECRET);
        cr_assert_eq(LOAD(&cfg, &err, arg), -1, "%s accepted", arg);
        assert_secret_refused(&err, o[i].name);
        cr_assert_eq(LOAD(&cfg, &err, "--repo", "/r", "--", arg), 0, "after --: %s", err.msg);
    }
    cr_assert_geq(nsecret, 3);
}

/* The safe places still work: the environment and a 0600 file. */
Test(cfg, secrets_from_env_and_file_accepted)
{
    struct cfg  cfg;
    struct ws_err err = WS_ERR_INIT;
    const char *conf = mkfile("secrets.conf", 0600,
                              "s3_access_key_id = AKID\n"
                              "s3_secret_access_key = 'file-secret'\n"
                              "s3_session_token = 'file-token'\n");
    int         n;
    const struct cfg_option *o = cfg_options(&n);

    setenv("WALSHIP_ENCRYPTION_PASSPHRASE", "env-pass", 1);
    setenv("WALSHIP_S3_SESSION_TOKEN", "env-token", 1);
    cr_assert_eq(LOAD(&cfg, &err, "--config", conf, "--encryption=aes-256-gcm",
                      "--encryption_passphrase_file=", "--s3_access_key_id=AKID2"),
                 0, "%s", err.msg);
    cr_assert_eq(cfg_validate(&cfg, false, &err), 0, "%s", err.msg);
    cr_assert_str_eq(cfg.encryption_passphrase, "env-pass");
    cr_assert_str_eq(cfg.s3.secret_access_key, "file-secret");
    cr_assert_str_eq(cfg.s3.session_token, "env-token");      /* env > file */
    cr_assert_str_eq(cfg.s3.access_key_id, "AKID2");
    for (int i = 0; i < n; i++)
    {
        if (strcmp(o[i].name, "encryption_passphrase") == 0 ||
            strcmp(o[i].name, "s3_session_token") == 0)
            cr_assert_eq(cfg.source[i], CFG_SRC_ENV, "%s", o[i].name);
        if (strcmp(o[i].name, "s3_secret_access_key") == 0)
            cr_assert_eq(cfg.source[i], CFG_SRC_FILE, "%s", o[i].name);
    }
    cfg_wipe(&cfg);
}

Test(cfg, rest_keeps_other_arguments_in_order)
{
    struct cfg  cfg;
    struct ws_err err = WS_ERR_INIT;
    char      **rest = NULL;
    int         nrest = -1;
    static const char *expect[] = {
        "-v", "pos1", "--help", "--foo=bar", "--REPO=x", "pos2", "-", "--",
        "--compression=gzip", "last"
    };

    cr_assert_eq(load_args(&cfg, &err, &rest, &nrest,
                           (const char *[]){"walship", "-v", "pos1", "--help", "--repo=/r",
                                            "--foo=bar", "--REPO=x", "pos2", "-",
                                            "--retry_attempts", "9", "--",
                                            "--compression=gzip", "last", NULL}),
                 0, "%s", err.msg);
    cr_assert_eq(nrest, 10);
    for (int i = 0; i < nrest; i++)
        cr_assert_str_eq(rest[i], expect[i], "rest[%d]", i);
    cr_assert_null(rest[nrest]);
    cr_assert_str_eq(cfg.repo, "/r");
    cr_assert_eq(cfg.retry_attempts, 9);
    cr_assert_eq(cfg.compression, CFG_COMPRESS_ZSTD);   /* after "--": not an option */
    free(rest);
}

Test(cfg, rest_key_value_consumes_next)
{
    struct cfg  cfg;
    struct ws_err err = WS_ERR_INIT;
    char      **rest = NULL;
    int         nrest = -1;
    const char *args[] = {"walship", "--repo", "/x", "pos", "--pgdata", "--weird", NULL};

    cr_assert_eq(load_args(&cfg, &err, &rest, &nrest, args), 0, "%s", err.msg);
    cr_assert_eq(nrest, 1);
    cr_assert_eq(rest[0], args[3]);                 /* points into argv */
    cr_assert_null(rest[1]);
    cr_assert_str_eq(cfg.repo, "/x");
    cr_assert_str_eq(cfg.pgdata, "--weird");
    free(rest);

    cr_assert_eq(load_args(&cfg, &err, &rest, &nrest, (const char *[]){"walship", NULL}), 0);
    cr_assert_eq(nrest, 0);
    cr_assert_not_null(rest);
    cr_assert_null(rest[0]);
    free(rest);
}

Test(cfg, load_is_silent)
{
    struct cfg  cfg;
    struct ws_err err = WS_ERR_INIT;

    cr_redirect_stderr();
    cr_redirect_stdout();
    setenv("WALSHIP_COMPRESSION", "lz5", 1);
    cr_assert_eq(LOAD(&cfg, &err, "--repo"), -1);
    cr_assert_eq(LOAD(&cfg, &err), -1);
    unsetenv("WALSHIP_COMPRESSION");
    cr_assert_eq(LOAD(&cfg, &err, "--repo=/r"), 0);
    fflush(stderr);
    fflush(stdout);
    cr_assert_stderr_eq_str("");
    cr_assert_stdout_eq_str("");
}

/* ---- cfg_validate --------------------------------------------------------- */

Test(cfg, validate_repo)
{
    struct cfg  cfg;
    struct ws_err err = WS_ERR_INIT;

    cr_assert_eq(LOAD(&cfg, &err), 0);
    cr_assert_eq(cfg_validate(&cfg, false, &err), 0, "%s", err.msg);
    cr_assert_eq(cfg_validate(&cfg, true, &err), -1);
    cr_assert_eq(err.code, WS_ECONFIG);
    cr_assert_str_eq(err.msg, "no repository is configured");
    cr_assert(strstr(err.hint, "WALSHIP_REPO") != NULL, "%s", err.hint);
    cr_assert_eq(LOAD(&cfg, &err, "--repo=/r"), 0);
    cr_assert_eq(cfg_validate(&cfg, true, &err), 0, "%s", err.msg);
}

Test(cfg, validate_no_passphrase)
{
    struct cfg  cfg;
    struct ws_err err = WS_ERR_INIT;

    cr_assert_eq(LOAD(&cfg, &err, "--encryption=aes-256-gcm"), 0, "%s", err.msg);
    cr_assert_eq(cfg_validate(&cfg, false, &err), -1);
    cr_assert_eq(err.code, WS_ECONFIG);
    cr_assert_str_eq(err.msg, "encryption is aes-256-gcm but no passphrase is set");
    cr_assert(strstr(err.hint, "encryption_passphrase_file") != NULL, "%s", err.hint);
}

Test(cfg, validate_both_passphrases)
{
    struct cfg  cfg;
    struct ws_err err = WS_ERR_INIT;
    const char *pf = mkfile("pass", 0600, "pw\n");

    setenv("WALSHIP_ENCRYPTION_PASSPHRASE", "direct", 1);
    cr_assert_eq(LOAD(&cfg, &err, "--encryption=aes-256-gcm", "--encryption_passphrase_file", pf),
                 0, "%s", err.msg);
    cr_assert_eq(cfg_validate(&cfg, false, &err), -1);
    cr_assert_eq(err.code, WS_ECONFIG);
    cr_assert(strstr(err.msg, "both encryption_passphrase and encryption_passphrase_file") != NULL,
              "%s", err.msg);
}

Test(cfg, validate_direct_passphrase)
{
    struct cfg  cfg;
    struct ws_err err = WS_ERR_INIT;

    setenv("WALSHIP_ENCRYPTION_PASSPHRASE", "direct", 1);
    cr_assert_eq(LOAD(&cfg, &err, "--encryption=aes-256-gcm"), 0, "%s", err.msg);
    cr_assert_eq(cfg_validate(&cfg, false, &err), 0, "%s", err.msg);
    cr_assert_str_eq(cfg.encryption_passphrase, "direct");

    /* encryption none with a passphrase set: accepted */
    cr_assert_eq(LOAD(&cfg, &err), 0, "%s", err.msg);
    cr_assert_eq(cfg.encryption, CFG_ENCRYPT_NONE);
    cr_assert_eq(cfg_validate(&cfg, false, &err), 0, "%s", err.msg);
}

Test(cfg, passphrase_file_group_readable_refused)
{
    struct cfg  cfg;
    struct ws_err err = WS_ERR_INIT;
    const char *pf = mkfile("pass", 0644, "pw\n");
    char        expect[PATH_MAX + 64];

    cr_assert_eq(LOAD(&cfg, &err, "--encryption=aes-256-gcm", "--encryption_passphrase_file", pf),
                 0, "%s", err.msg);
    cr_assert_eq(cfg_validate(&cfg, false, &err), -1);
    cr_assert_eq(err.code, WS_ECONFIG);
    snprintf(expect, sizeof(expect), "passphrase file \"%s\" is accessible by group or others", pf);
    cr_assert_str_eq(err.msg, expect);
    cr_assert(strstr(err.hint, "chmod 600") != NULL, "%s", err.hint);
    cr_assert_str_eq(cfg.encryption_passphrase, "");

    mkfile("pass", 0604, "pw\n");       /* others only */
    cr_assert_eq(cfg_validate(&cfg, false, &err), -1);
    cr_assert(strstr(err.msg, "accessible by group or others") != NULL, "%s", err.msg);
}

struct pass_case
{
    char        content[32];
    char        expect[32];
};

ParameterizedTestParameters(cfg, passphrase_file_ok)
{
    static struct pass_case cases[] = {
        {"s3cret\n", "s3cret"},
        {"s3cret\r\n", "s3cret"},
        {"s3cret", "s3cret"},
        {"two\n\n", "two\n"},
        {" spaced pass ", " spaced pass "},
    };

    return cr_make_param_array(struct pass_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct pass_case *c, cfg, passphrase_file_ok)
{
    struct cfg  cfg;
    struct ws_err err = WS_ERR_INIT;
    const char *pf = mkfile("pass", 0600, c->content);

    cr_assert_eq(LOAD(&cfg, &err, "--encryption=aes-256-gcm", "--encryption_passphrase_file", pf),
                 0, "%s", err.msg);
    cr_assert_eq(cfg_validate(&cfg, false, &err), 0, "%s", err.msg);
    cr_assert_str_eq(cfg.encryption_passphrase, c->expect);
    /* idempotent: a second call does not see "both set" */
    cr_assert_eq(cfg_validate(&cfg, false, &err), 0, "%s", err.msg);
    cr_assert_str_eq(cfg.encryption_passphrase, c->expect);
}

Test(cfg, passphrase_file_bad)
{
    struct cfg  cfg;
    struct ws_err err = WS_ERR_INIT;
    const char *pf = tpath("pass");

    cr_assert_eq(LOAD(&cfg, &err, "--encryption=aes-256-gcm", "--encryption_passphrase_file", pf),
                 0, "%s", err.msg);

    /* missing: a configuration error, never "not found" */
    cr_assert_eq(cfg_validate(&cfg, false, &err), -1);
    cr_assert_eq(err.code, WS_ECONFIG);
    cr_assert(strstr(err.msg, "could not open passphrase file") != NULL, "%s", err.msg);

    mkfile("pass", 0600, "");
    cr_assert_eq(cfg_validate(&cfg, false, &err), -1);
    cr_assert_eq(err.code, WS_ECONFIG);
    cr_assert(strstr(err.msg, "is empty") != NULL, "%s", err.msg);

    mkfile("pass", 0600, "\n");
    cr_assert_eq(cfg_validate(&cfg, false, &err), -1);
    cr_assert(strstr(err.msg, "is empty") != NULL, "%s", err.msg);

    mkfile("pass", 0400, "\r\n");
    cr_assert_eq(cfg_validate(&cfg, false, &err), -1);
    cr_assert(strstr(err.msg, "is empty") != NULL, "%s", err.msg);
}

Test(cfg, passphrase_file_too_long)
{
    struct cfg  cfg;
    struct ws_err err = WS_ERR_INIT;
    static char content[CFG_MAX_VALUE + 8];
    const char *pf;

    memset(content, 'p', CFG_MAX_VALUE - 1);
    strcpy(content + CFG_MAX_VALUE - 1, "\r\n");
    pf = mkfile("pass", 0600, content);
    cr_assert_eq(LOAD(&cfg, &err, "--encryption_passphrase_file", pf), 0, "%s", err.msg);
    cr_assert_eq(cfg_validate(&cfg, false, &err), 0, "%s", err.msg);
    cr_assert_eq(strlen(cfg.encryption_passphrase), CFG_MAX_VALUE - 1);

    strcpy(content + CFG_MAX_VALUE - 1, "p\n");
    mkfile("pass", 0600, content);
    cr_assert_eq(LOAD(&cfg, &err, "--encryption_passphrase_file", pf), 0, "%s", err.msg);
    cr_assert_eq(cfg_validate(&cfg, false, &err), -1);
    cr_assert(strstr(err.msg, "too long") != NULL, "%s", err.msg);
}

Test(cfg, config_file_with_passphrase_permissions)
{
    struct cfg  cfg;
    struct ws_err err = WS_ERR_INIT;
    const char *conf = mkfile("secret.conf", 0640,
                              "encryption = aes-256-gcm\nencryption_passphrase = 'pw'\n");
    char        expect[PATH_MAX + 128];

    cr_assert_eq(LOAD(&cfg, &err, "--config", conf), 0, "%s", err.msg);
    cr_assert_eq(cfg.source[5], CFG_SRC_FILE);
    cr_assert_eq(cfg_validate(&cfg, false, &err), -1);
    cr_assert_eq(err.code, WS_ECONFIG);
    snprintf(expect, sizeof(expect), "configuration file \"%s\" contains encryption_passphrase "
             "and is accessible by group or others", conf);
    cr_assert_str_eq(err.msg, expect);
    cr_assert(strstr(err.hint, "chmod 600") != NULL, "%s", err.hint);
    cr_assert(strstr(err.hint, "encryption_passphrase_file") != NULL, "%s", err.hint);

    cr_assert_eq(chmod(conf, 0600), 0);
    cr_assert_eq(cfg_validate(&cfg, false, &err), 0, "%s", err.msg);
    cr_assert_str_eq(cfg.encryption_passphrase, "pw");
}

Test(cfg, config_file_with_overridden_passphrase_is_still_refused)
{
    struct cfg  cfg;
    struct ws_err err = WS_ERR_INIT;
    const char *conf = mkfile("leaky.conf", 0644,
                              "encryption = aes-256-gcm\nencryption_passphrase = 'old'\n");

    /* the environment wins, but the file still exposes a secret */
    setenv("WALSHIP_ENCRYPTION_PASSPHRASE", "from-env", 1);
    cr_assert_eq(LOAD(&cfg, &err, "--config", conf), 0, "%s", err.msg);
    cr_assert_eq(cfg_validate(&cfg, false, &err), -1);
    cr_assert(strstr(err.msg, "accessible by group or others") != NULL, "%s", err.msg);
}

Test(cfg, s3_settings)
{
    struct cfg  cfg;
    struct ws_err err = WS_ERR_INIT;
    const char *conf = mkfile("s3.conf", 0644, "s3_part_size = 64MB\ns3_verify_tls = off\n"
                              "s3_uri_style = path\ns3_sse = aws:kms\n");

    cr_assert_eq(LOAD(&cfg, &err, "--config", conf), 0, "%s", err.msg);
    cr_assert_eq(cfg.s3.part_size, 64ULL << 20);
    cr_assert_eq(cfg.s3.verify_tls, false);
    cr_assert_eq(cfg.s3.uri_style, CFG_URI_PATH);
    cr_assert_eq(cfg.s3.sse, CFG_SSE_KMS);
    cr_assert_eq(LOAD(&cfg, &err, "--s3_part_size=4MB"), -1);
    cr_assert(strstr(err.msg, "5MB") != NULL, "%s", err.msg);
    cr_assert_eq(LOAD(&cfg, &err, "--s3_part_size=lots"), -1);
    cr_assert_eq(LOAD(&cfg, &err, "--s3_sse=des"), -1);
    cr_assert_eq(LOAD(&cfg, &err, "--s3_verify_tls=maybe"), -1);
}

Test(cfg, config_file_with_s3_secret_is_refused_when_shared)
{
    struct cfg  cfg;
    struct ws_err err = WS_ERR_INIT;
    const char *conf = mkfile("s3secret.conf", 0644, "s3_secret_access_key = 'abc'\n");

    cr_assert_eq(LOAD(&cfg, &err, "--config", conf), 0, "%s", err.msg);
    cr_assert_eq(cfg_validate(&cfg, false, &err), -1);
    cr_assert(strstr(err.msg, "contains s3_secret_access_key") != NULL, "%s", err.msg);
    cr_assert(strstr(err.msg, "abc") == NULL, "%s", err.msg);
}

Test(cfg, config_file_without_passphrase_may_be_shared)
{
    struct cfg  cfg;
    struct ws_err err = WS_ERR_INIT;
    const char *conf = mkfile("shared.conf", 0644, "encryption = aes-256-gcm\nrepo = /r\n");

    setenv("WALSHIP_ENCRYPTION_PASSPHRASE", "from-env", 1);
    cr_assert_eq(LOAD(&cfg, &err, "--config", conf), 0, "%s", err.msg);
    cr_assert_eq(cfg_validate(&cfg, true, &err), 0, "%s", err.msg);
    cr_assert_str_eq(cfg.encryption_passphrase, "from-env");
}

struct level_case
{
    char        compression[8];
    char        level[8];
    bool        ok;
};

ParameterizedTestParameters(cfg, validate_compression_level)
{
    static struct level_case cases[] = {
        {"zstd", "", true}, {"zstd", "1", true}, {"zstd", "19", true}, {"zstd", "-5", true},
        {"zstd", "-2", true}, {"zstd", "-1", true}, {"zstd", "0", false},
        {"gzip", "", true}, {"gzip", "1", true}, {"gzip", "9", true}, {"gzip", "10", false},
        {"gzip", "19", false}, {"gzip", "0", false}, {"gzip", "-3", false},
        {"none", "19", true}, {"none", "-5", true}, {"none", "0", true},
    };

    return cr_make_param_array(struct level_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct level_case *c, cfg, validate_compression_level)
{
    struct cfg  cfg;
    struct ws_err err = WS_ERR_INIT;
    char        content[128];
    char        arg[64];

    /* level in the file, algorithm from a later source */
    snprintf(content, sizeof(content), "compression_level = '%s'\n", c->level);
    snprintf(arg, sizeof(arg), "--compression=%s", c->compression);
    mkfile("lvl.conf", 0600, content);
    cr_assert_eq(LOAD(&cfg, &err, "--config", tpath("lvl.conf"), arg), 0, "%s", err.msg);
    if (c->ok)
        cr_assert_eq(cfg_validate(&cfg, false, &err), 0, "%s %s: %s", c->compression, c->level,
                     err.msg);
    else
    {
        char        expect[64];

        cr_assert_eq(cfg_validate(&cfg, false, &err), -1, "%s %s accepted", c->compression,
                     c->level);
        cr_assert_eq(err.code, WS_ECONFIG);
        snprintf(expect, sizeof(expect), "compression_level %s is not valid for %s",
                 c->level, c->compression);
        cr_assert_str_eq(err.msg, expect);
    }
}

/* ---- output --------------------------------------------------------------- */

static char *
print_to_string(const struct cfg *cfg)
{
    char       *buf = NULL;
    size_t      size = 0;
    FILE       *f = open_memstream(&buf, &size);

    cr_assert_not_null(f);
    cfg_print(cfg, f);
    fclose(f);
    return buf;
}

Test(cfg, print_masks_passphrase)
{
    struct cfg  cfg;
    struct ws_err err = WS_ERR_INIT;
    const char *conf = mkfile("print.conf", 0600, "repo = '/it''s'\nretry_attempts = 4\n");
    char        line[PATH_MAX + 64];
    char       *out;

    setenv("WALSHIP_ENCRYPTION_PASSPHRASE", "hunter2-secret", 1);
    cr_assert_eq(LOAD(&cfg, &err, "--config", conf, "--compression=gzip"), 0, "%s", err.msg);
    out = print_to_string(&cfg);
    cr_assert(strstr(out, "hunter2") == NULL, "secret printed:\n%s", out);
    cr_assert(strstr(out, "encryption_passphrase = '********'") != NULL, "%s", out);
    cr_assert(strstr(out, "# environment\n") != NULL, "%s", out);
    cr_assert(strstr(out, "compression = 'gzip'") != NULL, "%s", out);
    cr_assert(strstr(out, "# command line\n") != NULL, "%s", out);
    cr_assert(strstr(out, "compression_level = ''") != NULL, "%s", out);
    cr_assert(strstr(out, "encryption = 'none'") != NULL, "%s", out);
    cr_assert(strstr(out, "log_level = 'info'") != NULL, "%s", out);
    cr_assert(strstr(out, "repo = '/it''s'") != NULL, "%s", out);
    snprintf(line, sizeof(line), "# file \"%s\"\n", conf);
    cr_assert(strstr(out, line) != NULL, "%s", out);
    cr_assert(strstr(out, "pgdata = '.'") != NULL, "%s", out);
    cr_assert(strstr(out, "# default\n") != NULL, "%s", out);
    {
        int         lines = 0;

        for (const char *p = out; *p != '\0'; p++)
            lines += *p == '\n';
        cr_assert_eq(lines, 54);
    }
    free(out);
}

Test(cfg, print_masks_passphrase_from_file)
{
    struct cfg  cfg;
    struct ws_err err = WS_ERR_INIT;
    const char *pf = mkfile("pass", 0600, "file-secret-xyz\n");
    char       *out;

    cr_assert_eq(LOAD(&cfg, &err, "--encryption=aes-256-gcm", "--encryption_passphrase_file", pf,
                      "--compression_level=5"), 0, "%s", err.msg);
    cr_assert_eq(cfg_validate(&cfg, false, &err), 0, "%s", err.msg);
    out = print_to_string(&cfg);
    cr_assert(strstr(out, "file-secret-xyz") == NULL, "secret printed:\n%s", out);
    cr_assert(strstr(out, "encryption_passphrase = '********'") != NULL, "%s", out);
    cr_assert(strstr(out, "compression_level = '5'") != NULL, "%s", out);
    cr_assert(strstr(out, "encryption = 'aes-256-gcm'") != NULL, "%s", out);
    free(out);
}

Test(cfg, print_help_lists_every_option)
{
    char       *buf = NULL;
    size_t      size = 0;
    FILE       *f = open_memstream(&buf, &size);
    int         n;
    const struct cfg_option *o = cfg_options(&n);

    cr_assert_not_null(f);
    cfg_print_help(f);
    fclose(f);
    for (int i = 0; i < n; i++)
    {
        char        flag[128];

        snprintf(flag, sizeof(flag), "  --%s=VALUE ", o[i].name);
        if (!o[i].secret)
        {
            cr_assert(strstr(buf, flag) != NULL, "%s missing:\n%s", o[i].name, buf);
            continue;
        }
        /* a secret is not offered as an option: it is refused there */
        cr_assert(strstr(buf, flag) == NULL, "%s offered on the command line:\n%s",
                  o[i].name, buf);
        snprintf(flag, sizeof(flag), "  %s ", o[i].name);
        cr_assert(strstr(buf, flag) != NULL, "%s missing:\n%s", o[i].name, buf);
    }
    cr_assert(strstr(buf, "WALSHIP_S3_SECRET_ACCESS_KEY") != NULL, "%s", buf);
    cr_assert(strstr(buf, "(default: zstd)") != NULL, "%s", buf);
    cr_assert(strstr(buf, "(default: 200)") != NULL, "%s", buf);
    cr_assert(strstr(buf, "--config=FILE") != NULL, "%s", buf);
    free(buf);
}

Test(cfg, wipe_clears_secrets)
{
    struct cfg  cfg;
    struct ws_err err = WS_ERR_INIT;

    setenv("WALSHIP_ENCRYPTION_PASSPHRASE", "wipe-me", 1);
    cr_assert_eq(LOAD(&cfg, &err, "--encryption_passphrase_file=/x"), 0, "%s", err.msg);
    cr_assert_str_eq(cfg.encryption_passphrase, "wipe-me");
    cfg_wipe(&cfg);
    for (size_t i = 0; i < sizeof(cfg.encryption_passphrase); i++)
        cr_assert_eq(cfg.encryption_passphrase[i], 0);
    cr_assert_str_eq(cfg.encryption_passphrase_file, "");
    cfg_wipe(NULL);
}
