/*
 * walship — the operator's tool: one executable, one subcommand a job.
 *
 *     walship list [--json]               what the repository holds
 *     walship verify [--backup ID] [-j N] read every object, check WAL continuity
 *     walship check [--json] [--no-server] [--timeout S] [-d CONNSTR]
 *                                         is backing up and archiving working?
 *     walship help [SUBCOMMAND]
 *
 * The configuration is found as every walship executable finds it
 * (--config FILE, $WALSHIP_CONFIG, /etc/walship.conf); --config and the
 * --key=VALUE options may stand before or after the subcommand.
 * docs/walship.md; exit statuses in docs/exit-codes.md.
 */
#include "cfg.h"
#include "cli.h"
#include "cli_value.h"
#include "exitcode.h"
#include "log.h"
#include "num.h"
#include "ops_check.h"
#include "ops_list.h"
#include "ops_verify.h"
#include "version.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct args
{
    bool        json;
    const char *backup_id;
    int         jobs;
    bool        no_server;
    int         timeout_s;
};

static int
parse_jobs(void *dest, const char *value, struct ws_err *err)
{
    int64_t     n;

    if (num_parse_int(value, 1, 256, &n) < 0)
    {
        err_set(err, WS_ECONFIG, "invalid value for -j/--jobs: \"%s\"", value);
        err_hint(err, "Give a number of parallel reads from 1 to 256.");
        return -1;
    }
    *(int *) dest = (int) n;
    return 0;
}

static int
parse_timeout(void *dest, const char *value, struct ws_err *err)
{
    int64_t     n;

    if (num_parse_int(value, 1, 86400, &n) < 0)
    {
        err_set(err, WS_ECONFIG, "invalid value for --timeout: \"%s\"", value);
        err_hint(err, "Give the seconds to wait for the switched WAL file, 1 to 86400.");
        return -1;
    }
    *(int *) dest = (int) n;
    return 0;
}

static const struct cli_option check_options[] = {
    CLI_BOOL("json", 0, struct args, json,
             "print JSON (schema_version 1, docs/walship.md) instead of lines"),
    CLI_BOOL("no-server", 0, struct args, no_server,
             "do not connect to PostgreSQL: the server checks are skipped"),
    CLI_PARSE("timeout", 0, "SECONDS", struct args, timeout_s, parse_timeout,
              "wait this long for the switched WAL file to be archived (default 60)"),
    CLI_CFG("pg_conninfo", "CONNSTR", "libpq connection string of the server to check"),
    CLI_END
};

static const struct cli_option list_options[] = {
    CLI_BOOL("json", 0, struct args, json,
             "print JSON (schema_version 1, docs/walship.md) instead of tables"),
    CLI_END
};

static const struct cli_option verify_options[] = {
    CLI_PARSE("backup", 0, "ID", struct args, backup_id, cli_value_backup_id,
              "verify only this backup's objects (and the WAL it needs)"),
    CLI_PARSE("jobs", 'j', "N", struct args, jobs, parse_jobs,
              "objects read in parallel (default 4)"),
    CLI_END
};

static int  run_list(const struct cfg *cfg, const struct args *a, struct ws_err *err);
static int  run_check(const struct cfg *cfg, const struct args *a, struct ws_err *err);
static int  run_verify(const struct cfg *cfg, const struct args *a, struct ws_err *err);

static const struct subcommand
{
    const char *name;
    const char *brief;
    struct cli_spec spec;
    int         (*run) (const struct cfg *cfg, const struct args *a, struct ws_err *err);
}           subcommands[] = {
    {"list", "the backups, the archived WAL and the recoverable windows", {
        .progname = "walship list",
        .summary = "walship list shows a repository's backups, its archived WAL per timeline\n"
                   "(ranges and gaps) and the windows it can recover into.",
        .synopsis = "[--json]",
        .options = list_options,
        .exits = WS_PROG_TOOL}, run_list},
    {"verify", "read every object end to end and check WAL continuity", {
        .progname = "walship verify",
        .summary = "walship verify reads every object of the repository end to end and\n"
                   "checks that each backup's WAL is archived without gaps.",
        .synopsis = "[--backup ID] [-j N]",
        .notes = "Each damaged or missing object is named with its cause, each gap as its\n"
                 "first..last missing segment.  The exit status is \"corrupt\" when an object\n"
                 "or a descriptor is damaged or missing, else \"WAL missing\" for a gap.",
        .options = verify_options,
        .exits = WS_PROG_TOOL}, run_verify},
    {"check", "is backing up and archiving working: one line per check", {
        .progname = "walship check",
        .summary = "walship check tests the configuration, the repository, the server's\n"
                   "archiving and the alert thresholds, one OK/WARN/FAIL/SKIP line each.",
        .synopsis = "[--json] [--no-server] [--timeout SECONDS] [-d CONNSTR]",
        .notes = "The exit status is that of the first failing check, in the order\n"
                 "printed (docs/walship.md).  Without a server (none reachable through the\n"
                 "PG* environment, or --no-server) the server checks are skipped; with\n"
                 "pg_conninfo set, an unreachable server fails.",
        .options = check_options,
        .exits = WS_PROG_TOOL}, run_check},
};

#define NSUB ((int) (sizeof(subcommands) / sizeof(subcommands[0])))

static void
usage(FILE *out)
{
    fprintf(out, "walship is the operator's tool for a walship repository.\n\n"
            "Usage:\n  walship [--config FILE] SUBCOMMAND [OPTION]...\n\nSubcommands:\n");
    for (int i = 0; i < NSUB; i++)
        fprintf(out, "  %-8s %s\n", subcommands[i].name, subcommands[i].brief);
    fprintf(out, "  %-8s %s\n", "help", "this list, or a subcommand's options (help SUBCOMMAND)");
    fprintf(out, "\nThe configuration file is --config FILE, else $WALSHIP_CONFIG,\n"
            "else %s; --config and --key=VALUE may stand before or after\n"
            "the subcommand.\n", CFG_DEFAULT_FILE);
    exitcode_usage(out, WS_PROG_TOOL, false);
    fprintf(out, "Documentation: docs/walship.md.\n");
}

static int
run_list(const struct cfg *cfg, const struct args *a, struct ws_err *err)
{
    return ops_list_run(cfg, a->json, stdout, err) < 0 ? cli_fail(WS_PROG_TOOL, err) : 0;
}

static int
run_verify(const struct cfg *cfg, const struct args *a, struct ws_err *err)
{
    struct ops_verify_options o = {
        .backup_id = a->backup_id,
        .jobs = a->jobs,
    };
    struct ops_verify_result res;

    if (ops_verify_run(cfg, &o, stdout, &res, err) < 0)
        return cli_fail(WS_PROG_TOOL, err);
    if (res.damaged > 0)
        return exitcode_for(WS_PROG_TOOL, WS_ECORRUPT);
    if (res.gaps > 0)
        return exitcode_for(WS_PROG_TOOL, WS_EGAP);
    return 0;
}

static int
run_check(const struct cfg *cfg, const struct args *a, struct ws_err *err)
{
    struct ops_check_options o = {
        .json = a->json,
        .no_server = a->no_server,
        .timeout_s = a->timeout_s,
    };
    struct ops_check_report rep;

    if (ops_check_run(cfg, &o, stdout, &rep, err) < 0)
        return cli_fail(WS_PROG_TOOL, err);
    return exitcode_for(WS_PROG_TOOL, ops_check_verdict(&rep));
}

/* The subcommand: the first argument that is no option nor --config's value. */
static int
find_subcommand(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
    {
        if (strcmp(argv[i], "--config") == 0)
            i++;
        else if (strcmp(argv[i], "--") == 0)
            return i + 1 < argc ? i + 1 : -1;
        else if (argv[i][0] != '-')
            return i;
    }
    return -1;
}

static const struct subcommand *
lookup(const char *name)
{
    for (int i = 0; name != NULL && i < NSUB; i++)
        if (strcmp(name, subcommands[i].name) == 0)
            return &subcommands[i];
    return NULL;
}

/* A usage error: no subcommand (name NULL) or an unknown one. */
static int
usage_error(const char *name)
{
    struct ws_err err = WS_ERR_INIT;

    log_init("walship", LOG_LEVEL_INFO);
    if (name == NULL)
        err_set(&err, WS_ECONFIG, "no subcommand given");
    else
        err_set(&err, WS_ECONFIG, "unknown subcommand \"%s\"", name);
    err_hint(&err, "Try \"walship help\" for the list of subcommands.");
    return cli_fail(WS_PROG_TOOL, &err);
}

int
main(int argc, char **argv)
{
    const struct subcommand *sub;
    struct cfg  cfg;
    struct ws_err err = WS_ERR_INIT;
    struct args a = {.jobs = 4, .timeout_s = 60};
    char      **rest;
    int         at = find_subcommand(argc, argv), n = 0, rc = 1;

    for (int i = 1; at < 0 && i < argc; i++)
    {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            argv[at = i] = "help";      /* served below */
        else if (strcmp(argv[i], "--version") == 0 || strcmp(argv[i], "-V") == 0)
        {
            printf("walship (walship) %s\n", WALSHIP_VERSION);
            return 0;
        }
    }
    if (at < 0)
        return usage_error(NULL);
    if (strcmp(argv[at], "help") == 0)
    {
        const char *what = at + 1 < argc ? argv[at + 1] : NULL;

        if ((sub = lookup(what)) != NULL)
            cli_usage(&sub->spec, stdout);
        else if (what == NULL || strcmp(what, "help") == 0)
            usage(stdout);
        else
            return usage_error(what);
        return 0;
    }
    if ((sub = lookup(argv[at])) == NULL)
        return usage_error(argv[at]);

    /* the subcommand's own command line: everything but its name */
    rest = malloc(sizeof(char *) * (size_t) argc);
    if (rest == NULL)
    {
        fprintf(stderr, "walship: out of memory\n");
        return 1;
    }
    for (int i = 0; i < argc; i++)
        if (i != at)
            rest[n++] = argv[i];
    rest[n] = NULL;
    if (cli_begin(&sub->spec, n, rest, &cfg, &a, NULL, &err, &rc))
        rc = sub->run(&cfg, &a, &err);
    cfg_wipe(&cfg);
    free(rest);
    return rc;
}
