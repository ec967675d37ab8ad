/*
 * walship check [--json] [--no-server] [--timeout S] [-d CONNSTR] — is
 * backing up and archiving working (command/ops_check.c).
 */
#include "exitcode.h"
#include "num.h"
#include "ops_check.h"
#include "subcommand.h"

#include <stdio.h>

struct check_args
{
    bool        json;
    bool        no_server;
    int         timeout_s;
};

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
    CLI_BOOL("json", 0, struct check_args, json,
             "print JSON (schema_version 1, docs/walship.md) instead of lines"),
    CLI_BOOL("no-server", 0, struct check_args, no_server,
             "do not connect to PostgreSQL: the server checks are skipped"),
    CLI_PARSE("timeout", 0, "SECONDS", struct check_args, timeout_s, parse_timeout,
              "wait this long for the switched WAL file to be archived (default 60)"),
    CLI_CFG("pg_conninfo", "CONNSTR", "libpq connection string of the server to check"),
    CLI_END
};

static void
init_check(void *args)
{
    ((struct check_args *) args)->timeout_s = 60;
}

static int
run_check(const struct cfg *cfg, void *args, struct ws_err *err)
{
    const struct check_args *a = args;
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

const struct ops_subcommand ops_cmd_check = {
    .name = "check",
    .brief = "is backing up and archiving working: one line per check",
    .spec = {
        .progname = "walship check",
        .summary = "walship check tests the configuration, the repository, the server's\n"
                   "archiving and the alert thresholds, one OK/WARN/FAIL/SKIP line each.",
        .synopsis = "[--json] [--no-server] [--timeout SECONDS] [-d CONNSTR]",
        .notes = "The exit status is that of the first failing check, in the order\n"
                 "printed (docs/walship.md).  Without a server (none reachable through the\n"
                 "PG* environment, or --no-server) the server checks are skipped; with\n"
                 "pg_conninfo set, an unreachable server fails.",
        .options = check_options,
        .exits = WS_PROG_TOOL},
    .args_size = sizeof(struct check_args),
    .init = init_check,
    .run = run_check,
};
