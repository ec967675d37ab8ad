/*
 * test_cli.c — the flag-table command line (common/base/cli.c) and the flag
 * value parsers (common/command/cli_value.c).
 *
 * A test table exercises every kind of row: switches, a value flag with
 * its parser, and two configuration aliases, whose values must reach
 * struct cfg with "command line" as their source.  Each test runs in its
 * own process with a clean WALSHIP_* environment and an empty
 * configuration file (harness.h).
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <criterion/redirect.h>

#include "harness.h"
#include "cli.h"
#include "cli_value.h"
#include "log.h"

static char scratch[64];

static void
setup(void)
{
    harness_clear_walship_env();
    harness_scratch(scratch, sizeof(scratch), "cli");
    setenv("WALSHIP_REPO", "/nonexistent/repo", 1);
    log_init("walship-test", LOG_LEVEL_INFO);
}

static void
teardown(void)
{
    harness_rm_scratch(scratch);
}

TestSuite(cli, .init = setup, .fini = teardown);

struct targs
{
    bool        sw;
    int         level;
    const char *label;
    int         rate;
};

static const struct cli_option topts[] = {
    CLI_BOOL("switch", 's', struct targs, sw, "a switch"),
    CLI_SET("loud", 'L', struct targs, level, 2, "level 2"),
    CLI_SET("quiet", 0, struct targs, level, 0, "level 0"),
    CLI_PARSE("label", 'l', "LABEL", struct targs, label, cli_value_label, "a label"),
    CLI_PARSE("max-rate", 'r', "RATE", struct targs, rate, cli_value_rate, "a rate"),
    CLI_CFG("recover_jobs", "N", "jobs, from the configuration"),
    CLI_CFG("pgdata", "DIR", "a directory\non two lines"),
    CLI_END
};

static const struct cli_spec tspec = {
    .progname = "walship-test",
    .summary = "walship-test tests.",
    .synopsis = "[OPTION]... ARG",
    .options = topts,
    .npos = 1,
    .pos_names = "ARG",
    .exits = WS_PROG_TOOL,
};

/* cli_parse with argv = {"walship-test", ...}. */
static enum cli_result
parse(struct cfg *cfg, struct targs *a, const char **pos, struct ws_err *err, const char **args)
{
    int         argc = 0;

    while (args[argc] != NULL)
        argc++;
    memset(a, 0, sizeof(*a));
    a->level = -1;
    err_clear(err);
    return cli_parse(&tspec, argc, (char **) args, cfg, a, pos, err);
}

#define PARSE(...) parse(&cfg, &a, pos, &err, (const char *[]){"walship-test", ##__VA_ARGS__, NULL})

/* ---- flag forms ------------------------------------------------------------ */

struct form_case
{
    char        args[3][32];    /* "" ends */
    char        label[16];
};

ParameterizedTestParameters(cli, value_forms)
{
    static struct form_case c[] = {
        {{"--label=x y", "pos"}, "x y"},
        {{"--label", "x y", "pos"}, "x y"},
        {{"-l", "x y", "pos"}, "x y"},
        {{"-lx y", "pos"}, "x y"},
        {{"pos", "--label="}, ""},
        {{"--label", "-s", "pos"}, "-s"},       /* a value may look like a flag */
    };

    return cr_make_param_array(struct form_case, c, sizeof(c) / sizeof(c[0]));
}

ParameterizedTest(struct form_case *c, cli, value_forms, .init = setup, .fini = teardown)
{
    struct cfg  cfg;
    struct targs a;
    struct ws_err err = WS_ERR_INIT;
    const char *pos[1] = {NULL};
    const char *args[5] = {"walship-test"};
    int         n = 1;

    for (int i = 0; i < 3 && c->args[i][0] != '\0'; i++)
        args[n++] = c->args[i];
    args[n] = NULL;
    cr_assert_eq(parse(&cfg, &a, pos, &err, args), CLI_RUN, "%s %s: %s", args[1], args[2], err.msg);
    cr_assert_str_eq(a.label, c->label);
    cr_assert_str_eq(pos[0], "pos");
    cr_assert(!a.sw);
    cfg_wipe(&cfg);
}

Test(cli, switches)
{
    struct cfg  cfg;
    struct targs a;
    struct ws_err err = WS_ERR_INIT;
    const char *pos[1];

    cr_assert_eq(PARSE("-s", "pos", "--loud"), CLI_RUN, "%s", err.msg);
    cr_assert(a.sw);
    cr_assert_eq(a.level, 2);
    cr_assert_eq(PARSE("--switch", "-L", "--quiet", "pos"), CLI_RUN, "%s", err.msg);
    cr_assert(a.sw);
    cr_assert_eq(a.level, 0, "the last one wins");
    cfg_wipe(&cfg);
}

struct bad_case
{
    char        args[3][32];
    enum ws_code code;
    char        msg[128];
};

ParameterizedTestParameters(cli, usage_errors)
{
    static struct bad_case c[] = {
        {{"pos", "--label"}, WS_ECONFIG, "option --label requires a value"},
        {{"pos", "-l"}, WS_ECONFIG, "option -l requires a value"},
        {{"pos", "--switch=yes"}, WS_ECONFIG, "option --switch takes no value"},
        {{"pos", "-sx"}, WS_ECONFIG, "unrecognized option \"-sx\""},
        {{"pos", "--bogus"}, WS_ECONFIG, "unrecognized option \"--bogus\""},
        {{"pos", "-x"}, WS_ECONFIG, "unrecognized option \"-x\""},
        {{"pos", "--labels=x"}, WS_ECONFIG, "unrecognized option \"--labels\" (value not shown)"},
        {{"pos", "--max-rate=1k"}, WS_ECONFIG, "invalid transfer rate \"1k\""},
        {{"pos", "-j"}, WS_ECONFIG, "option -j requires a value"},
        {{"pos", "--jobs=0"}, WS_ECONFIG, "invalid value for option --jobs: 0 is outside the "
            "valid range for parameter \"recover_jobs\" (1 .. 64)"},
        {{"pos", "-jx"}, WS_ECONFIG, "invalid value for option -j: \"x\""},
        {{"a", "b"}, WS_ECONFIG, "expected 1 arguments (ARG), got 2"},
        {{"--switch"}, WS_ECONFIG, "expected 1 arguments (ARG), got 0"},
    };

    return cr_make_param_array(struct bad_case, c, sizeof(c) / sizeof(c[0]));
}

ParameterizedTest(struct bad_case *c, cli, usage_errors, .init = setup, .fini = teardown)
{
    struct cfg  cfg;
    struct targs a;
    struct ws_err err = WS_ERR_INIT;
    const char *pos[1];
    const char *args[5] = {"walship-test"};
    int         n = 1;

    cr_redirect_stderr();
    for (int i = 0; i < 3 && c->args[i][0] != '\0'; i++)
        args[n++] = c->args[i];
    args[n] = NULL;
    cr_assert_eq(parse(&cfg, &a, pos, &err, args), CLI_ERROR, "%s %s accepted", args[1], args[2]);
    cr_assert_eq(err.code, c->code, "%s", err.msg);
    cr_assert_str_eq(err.msg, c->msg);
    cfg_wipe(&cfg);
}

/* A misspelled flag's value may be a secret: never in the message or the log. */
Test(cli, unknown_flag_value_never_shown)
{
    struct cfg  cfg;
    struct targs a;
    struct ws_err err = WS_ERR_INIT;
    const char *pos[1];
    char        log[4096] = "";
    FILE       *f;

    cr_redirect_stderr();
    cr_assert_eq(PARSE("pos", "--encryption_pasphrase=typo-secret-1234"), CLI_ERROR);
    cr_assert(strstr(err.msg, "--encryption_pasphrase") != NULL, "%s", err.msg);
    cr_assert(strstr(err.msg, "typo-secret") == NULL, "%s", err.msg);
    fflush(stderr);
    f = cr_get_redirected_stderr();
    fread(log, 1, sizeof(log) - 1, f);
    cr_assert(strstr(log, "typo-secret") == NULL, "%s", log);
    cr_assert(strstr(log, "hint: Try \"walship-test --help\" for more information.") != NULL,
              "%s", log);
    cfg_wipe(&cfg);
}

/* ---- configuration aliases and sources --------------------------------------- */

Test(cli, cfg_aliases_are_command_line_settings)
{
    static const char *forms[][2] = {{"-j", "8"}, {"-j8", NULL}, {"--jobs=8", NULL}, {"--jobs", "8"},
                                     {"--recover_jobs=8", NULL}};
    struct cfg  cfg;
    struct targs a;
    struct ws_err err = WS_ERR_INIT;
    const char *pos[1];

    for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++)
    {
        const char *args[] = {"walship-test", "pos", forms[i][0], forms[i][1], NULL};

        cr_assert_eq(parse(&cfg, &a, pos, &err, args), CLI_RUN, "%s: %s", forms[i][0], err.msg);
        cr_assert_eq(cfg.recover_jobs, 8, "%s", forms[i][0]);
        cr_assert_eq(cfg_source_of(&cfg, "recover_jobs"), CFG_SRC_ARGV, "%s", forms[i][0]);
        cr_assert_str_eq(pos[0], "pos");
    }
    cr_assert_eq(PARSE("pos", "-D", "/data"), CLI_RUN, "%s", err.msg);
    cr_assert_str_eq(cfg.pgdata, "/data");
    cr_assert_eq(cfg_source_of(&cfg, "pgdata"), CFG_SRC_ARGV);
    cr_assert_eq(cfg_source_of(&cfg, "recover_jobs"), CFG_SRC_DEFAULT);
    cfg_wipe(&cfg);
}

/* An alias overrides the file and the environment, like --key does. */
Test(cli, cfg_alias_beats_file_and_env, .init = cr_redirect_stdout)
{
    struct cfg  cfg;
    struct targs a;
    struct ws_err err = WS_ERR_INIT;
    const char *pos[1];
    char        conf[128];
    FILE       *f;
    char        out[8192] = "";

    setup();
    snprintf(conf, sizeof(conf), "%s/c.conf", scratch);
    f = fopen(conf, "w");
    cr_assert_not_null(f);
    fputs("recover_jobs = 2\npgdata = /from-file\n", f);
    fclose(f);
    setenv("WALSHIP_RECOVER_JOBS", "3", 1);
    cr_assert_eq(PARSE("--config", conf, "-j", "9", "-D/argv", "--print-config"), CLI_DONE,
                 "%s", err.msg);
    cr_assert_eq(cfg.recover_jobs, 9);
    fflush(stdout);
    f = cr_get_redirected_stdout();
    fread(out, 1, sizeof(out) - 1, f);
    cr_assert(strstr(out, "recover_jobs = '9'") != NULL, "%s", out);
    cr_assert(strstr(out, "pgdata = '/argv'") != NULL, "%s", out);
    for (const char *key = "recover_jobs"; key != NULL; key = strcmp(key, "pgdata") ? "pgdata" : NULL)
    {
        const char *line = strstr(out, key);
        const char *nl = line ? strchr(line, '\n') : NULL;

        cr_assert_not_null(nl, "%s", out);
        cr_assert(nl - line > 14 && strncmp(nl - 14, "# command line", 14) == 0,
                  "%s is not from the command line:\n%s", key, out);
    }
    cfg_wipe(&cfg);
}

/* ---- --config, positional arguments, "--" ------------------------------------ */

Test(cli, config_before_or_after_positional)
{
    struct cfg  cfg;
    struct targs a;
    struct ws_err err = WS_ERR_INIT;
    const char *pos[1];
    char        conf[128];
    FILE       *f;

    snprintf(conf, sizeof(conf), "%s/c.conf", scratch);
    f = fopen(conf, "w");
    cr_assert_not_null(f);
    fputs("compression = gzip\n", f);
    fclose(f);
    cr_assert_eq(PARSE("--config", conf, "pos"), CLI_RUN, "%s", err.msg);
    cr_assert_eq(cfg.compression, CFG_COMPRESS_GZIP);
    cr_assert_str_eq(pos[0], "pos");
    cr_assert_eq(PARSE("pos", "--config", conf), CLI_RUN, "%s", err.msg);
    cr_assert_eq(cfg.compression, CFG_COMPRESS_GZIP);
    cr_assert_str_eq(pos[0], "pos");
    cr_assert_str_eq(cfg.config_file, conf);
    cfg_wipe(&cfg);
}

Test(cli, double_dash_ends_options)
{
    struct cfg  cfg;
    struct targs a;
    struct ws_err err = WS_ERR_INIT;
    const char *pos[1];

    cr_assert_eq(PARSE("-s", "--", "-l"), CLI_RUN, "%s", err.msg);
    cr_assert(a.sw);
    cr_assert_null(a.label);
    cr_assert_str_eq(pos[0], "-l");
    cr_assert_eq(PARSE("--", "--help"), CLI_RUN, "after --, --help is an argument: %s", err.msg);
    cr_assert_str_eq(pos[0], "--help");
    cr_assert_eq(PARSE("--", "--compression=none"), CLI_RUN, "%s", err.msg);
    cr_assert_eq(cfg.compression, CFG_COMPRESS_ZSTD, "after --, not a setting");
    cr_assert_eq(PARSE("--", "-j", "4"), CLI_ERROR);
    cr_assert_str_eq(err.msg, "expected 1 arguments (ARG), got 2");
    cfg_wipe(&cfg);
}

Test(cli, help_and_version_win, .init = cr_redirect_stdout)
{
    struct cfg  cfg;
    struct targs a;
    struct ws_err err = WS_ERR_INIT;
    const char *pos[1];

    setup();
    cr_assert_eq(PARSE("--bogus", "-h"), CLI_DONE);
    cr_assert_eq(PARSE("--label", "--version"), CLI_DONE);
    cr_assert_eq(PARSE("extra", "args", "--help"), CLI_DONE);
    cfg_wipe(&cfg);
}

Test(cli, no_positional_expected)
{
    static const struct cli_spec spec = {
        .progname = "walship-none", .summary = "s", .synopsis = "", .exits = WS_PROG_TOOL,
    };
    struct cfg  cfg;
    struct ws_err err = WS_ERR_INIT;
    const char *args[] = {"walship-none", "extra", NULL};

    cr_redirect_stderr();
    cr_assert_eq(cli_parse(&spec, 2, (char **) args, &cfg, NULL, NULL, &err), CLI_ERROR);
    cr_assert_str_eq(err.msg, "unrecognized argument \"extra\"");
    cfg_wipe(&cfg);
}

/* ---- --help -------------------------------------------------------------- */

Test(cli, usage_from_the_tables)
{
    char       *buf = NULL;
    size_t      size = 0;
    FILE       *f = open_memstream(&buf, &size);

    cr_assert_not_null(f);
    cli_usage(&tspec, f);
    fclose(f);
    cr_assert(strstr(buf, "Usage:\n  walship-test [OPTION]... ARG\n") != NULL, "%s", buf);
    cr_assert(strstr(buf, "\n  -s, --switch              a switch\n") != NULL, "%s", buf);
    cr_assert(strstr(buf, "\n      --quiet               level 0\n") != NULL, "%s", buf);
    cr_assert(strstr(buf, "\n  -l, --label=LABEL         a label\n") != NULL, "%s", buf);
    /* an alias is spelled as the key's row says */
    cr_assert(strstr(buf, "\n  -j, --jobs=N              jobs, from the configuration\n") != NULL,
              "%s", buf);
    cr_assert(strstr(buf, "\n  -D, --pgdata=DIR          a directory\n"
                     "                            on two lines\n") != NULL, "%s", buf);
    cr_assert(strstr(buf, "\n  -h, --help ") != NULL, "%s", buf);
    cr_assert(strstr(buf, "\nExit status: 0 success, 1 other failure") != NULL, "%s", buf);
    cr_assert(strstr(buf, "(docs/exit-codes.md).\n") != NULL, "%s", buf);
    cr_assert(strstr(buf, "--recover_jobs=VALUE") != NULL, "%s", buf);
    free(buf);
}

/* Every alias in the option table is a non-secret key's, and no two collide. */
Test(cli, cfg_alias_rows)
{
    int         n;
    const struct cfg_option *o = cfg_options(&n);

    for (int i = 0; i < n; i++)
    {
        if (o[i].alias == NULL && o[i].alias_short == 0)
            continue;
        cr_assert(!o[i].secret, "%s: a secret has no command-line alias", o[i].name);
        for (int j = i + 1; j < n; j++)
        {
            cr_assert(o[i].alias_short == 0 || o[i].alias_short != o[j].alias_short,
                      "-%c twice", o[i].alias_short);
            cr_assert(o[i].alias == NULL || o[j].alias == NULL ||
                      strcmp(o[i].alias, o[j].alias) != 0, "--%s twice", o[i].alias);
        }
    }
    cr_assert_eq(strcmp(cfg_option_find("recover_jobs")->alias, "jobs"), 0);
    cr_assert_eq(cfg_option_find("pg_conninfo")->alias_short, 'd');
    cr_assert_null(cfg_option_find("no_such_key"));
}

Test(cli, alias_not_in_table_is_a_bug)
{
    struct cfg  cfg;
    struct ws_err err = WS_ERR_INIT;
    const char *args[] = {"walship", NULL};
    const char *const bad[] = {"repo", NULL};

    cr_assert_eq(cfg_load_aliases(&cfg, 1, (char **) args, bad, NULL, NULL, &err), -1);
    cr_assert_eq(err.code, WS_EINTERNAL);
}

/* ---- flag values ----------------------------------------------------------- */

struct value_case
{
    int         which;
    char        value[80];
    bool        ok;
    char        msg[96];        /* substring of the message when refused */
};

enum
{
    V_BACKUP_ID, V_TIME, V_LSN, V_XID, V_NAME, V_TIMELINE, V_ACTION, V_MAP, V_LABEL,
    V_CHECKPOINT, V_RATE
};

ParameterizedTestParameters(cli_value, table)
{
    static struct value_case c[] = {
        {V_BACKUP_ID, "20261203T205322Z", true, ""},
        {V_BACKUP_ID, "latest-please", false, "\"latest-please\" is not a backup id"},
        {V_TIME, "2026-12-03 14:05:00+00", true, ""},
        {V_TIME, "yesterday-ish", false, ""},
        {V_LSN, "0/3000148", true, ""},
        {V_LSN, "zz", false, "invalid LSN \"zz\""},
        {V_XID, "3", true, ""},
        {V_XID, "18446744073709551615", true, ""},
        {V_XID, "2", false, "invalid transaction ID \"2\""},
        {V_XID, "abc", false, "invalid transaction ID"},
        {V_XID, "-5", false, "invalid transaction ID"},
        {V_XID, "18446744073709551616", false, "invalid transaction ID"},
        {V_NAME, "before upgrade", true, ""},
        {V_NAME, "", false, "invalid restore point name"},
        {V_NAME, "a\nb", false, "invalid restore point name"},
        {V_NAME, "0123456789012345678901234567890123456789012345678901234567890123", false,
            "invalid restore point name"},
        {V_TIMELINE, "latest", true, ""}, {V_TIMELINE, "current", true, ""},
        {V_TIMELINE, "1", true, ""}, {V_TIMELINE, "4294967295", true, ""},
        {V_TIMELINE, "0", false, "invalid target timeline \"0\""},
        {V_TIMELINE, "4294967296", false, "invalid target timeline"},
        {V_TIMELINE, "abc", false, "use latest, current or a timeline number"},
        {V_TIMELINE, "+2", false, "invalid target timeline"},
        {V_ACTION, "pause", true, ""}, {V_ACTION, "promote", true, ""},
        {V_ACTION, "shutdown", true, ""},
        {V_ACTION, "explode", false, "invalid target action \"explode\""},
        {V_MAP, "/old=/new", true, ""}, {V_MAP, "16385=/new", true, ""},
        {V_MAP, "/a=b=c", true, ""},
        {V_MAP, "foo", false, "invalid tablespace mapping \"foo\": use OLDDIR=NEWDIR"},
        {V_MAP, "=x", false, "use OLDDIR=NEWDIR"}, {V_MAP, "x=", false, "use OLDDIR=NEWDIR"},
        {V_LABEL, "nightly", true, ""}, {V_LABEL, "a\tb", false, "invalid backup label"},
        {V_CHECKPOINT, "fast", true, ""}, {V_CHECKPOINT, "spread", true, ""},
        {V_CHECKPOINT, "slow", false, "must be \"fast\" or \"spread\""},
        {V_RATE, "32k", true, ""}, {V_RATE, "100M", true, ""}, {V_RATE, "1024M", true, ""},
        {V_RATE, "500", true, ""}, {V_RATE, "1025M", false, "invalid transfer rate"},
        {V_RATE, "31k", false, "invalid transfer rate"}, {V_RATE, "1G", false, "invalid"},
        {V_RATE, "-100k", false, "invalid"}, {V_RATE, "abc", false, "invalid"},
    };

    return cr_make_param_array(struct value_case, c, sizeof(c) / sizeof(c[0]));
}

ParameterizedTest(struct value_case *c, cli_value, table)
{
    struct ws_err err = WS_ERR_INIT;
    struct recover_options o;
    struct cli_tablespace_maps maps = {0};
    const char *s = NULL;
    bool        b = false;
    int         i = 0;
    int         rc = 0;

    memset(&o, 0, sizeof(o));
    switch (c->which)
    {
        case V_BACKUP_ID: rc = cli_value_backup_id(&s, c->value, &err); break;
        case V_TIME: rc = cli_value_target_time(&o, c->value, &err); break;
        case V_LSN: rc = cli_value_target_lsn(&o, c->value, &err); break;
        case V_XID: rc = cli_value_target_xid(&o, c->value, &err); break;
        case V_NAME: rc = cli_value_target_name(&o, c->value, &err); break;
        case V_TIMELINE: rc = cli_value_timeline(&s, c->value, &err); break;
        case V_ACTION: rc = cli_value_target_action(&s, c->value, &err); break;
        case V_MAP: rc = cli_value_tablespace_map(&maps, c->value, &err); break;
        case V_LABEL: rc = cli_value_label(&s, c->value, &err); break;
        case V_CHECKPOINT: rc = cli_value_checkpoint(&b, c->value, &err); break;
        case V_RATE: rc = cli_value_rate(&i, c->value, &err); break;
    }
    if (c->ok)
    {
        cr_assert_eq(rc, 0, "\"%s\": %s", c->value, err.msg);
        return;
    }
    cr_assert_eq(rc, -1, "\"%s\" accepted", c->value);
    cr_assert_eq(err.code, c->which == V_BACKUP_ID ? WS_ENOTFOUND : WS_ECONFIG, "%s", err.msg);
    cr_assert(strstr(err.msg, c->msg) != NULL, "<%s> lacks <%s>", err.msg, c->msg);
    cr_assert_eq(o.target.kind, BACKUP_TARGET_END, "nothing stored on failure");
    cr_assert_null(s);
    cr_assert_eq(maps.n, 0);
    cli_tablespace_maps_free(&maps);
}

Test(cli_value, stored_values)
{
    struct ws_err err = WS_ERR_INIT;
    struct recover_options o;
    struct cli_tablespace_maps maps = {0};
    bool        fast = false;
    int         kb = 0;
    const char *v = "0/3000148";

    memset(&o, 0, sizeof(o));
    cr_assert_eq(cli_value_target_lsn(&o, v, &err), 0);
    cr_assert_eq(o.target.kind, BACKUP_TARGET_LSN);
    cr_assert_eq(o.target.lsn, 0x3000148);
    cr_assert_eq(o.target_text, v, "points at the argument");
    cr_assert_eq(cli_value_target_immediate(&o, NULL, &err), -1);
    cr_assert_str_eq(err.msg, "more than one recovery target given");
    memset(&o, 0, sizeof(o));
    cr_assert_eq(cli_value_target_immediate(&o, NULL, &err), 0);
    cr_assert_eq(o.target.kind, BACKUP_TARGET_IMMEDIATE);
    cr_assert_str_eq(o.target_text, "immediate");

    cr_assert_eq(cli_value_tablespace_map(&maps, "/old/ts=/new/ts", &err), 0);
    cr_assert_eq(cli_value_tablespace_map(&maps, "16385=/b", &err), 0);
    cr_assert_eq(maps.n, 2);
    cr_assert_str_eq(maps.map[0].from, "/old/ts");
    cr_assert_str_eq(maps.map[0].to, "/new/ts");
    cr_assert_str_eq(maps.map[1].from, "16385");
    while (maps.n < CLI_MAX_TABLESPACE_MAPS)
        cr_assert_eq(cli_value_tablespace_map(&maps, "a=b", &err), 0);
    cr_assert_eq(cli_value_tablespace_map(&maps, "a=b", &err), -1);
    cr_assert(strstr(err.msg, "too many --tablespace-map options") != NULL, "%s", err.msg);
    cli_tablespace_maps_free(&maps);
    cr_assert_eq(maps.n, 0);

    cr_assert_eq(cli_value_checkpoint(&fast, "fast", &err), 0);
    cr_assert(fast);
    cr_assert_eq(cli_value_checkpoint(&fast, "spread", &err), 0);
    cr_assert(!fast);
    cr_assert_eq(cli_value_rate(&kb, "100M", &err), 0);
    cr_assert_eq(kb, 100 * 1024);
    cr_assert_eq(cli_value_rate(&kb, "64k", &err), 0);
    cr_assert_eq(kb, 64);
}
