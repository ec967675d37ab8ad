/*
 * walship drill [--backup ID] [--target-*] [--check LINE]... [--json]
 * walship drill --target-* --sql QUERY|--sql-file FILE [--output FILE]
 * — the restore test, and selective recovery (command/ops_drill.c).
 */
#include "cli_value.h"
#include "exitcode.h"
#include "log.h"
#include "ops_drill.h"
#include "sigstop.h"
#include "smallfile.h"
#include "subcommand.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct drill_args
{
    struct recover_options o;       /* backup_id, target, target_text */
    struct ops_drill_checks checks;
    const char *sql;
    const char *sql_file;
    const char *output;
    bool        json;
};

static int
parse_check(void *dest, const char *value, struct ws_err *err)
{
    if (ops_drill_checks_add(dest, value, err) < 0)
    {
        err_prefix(err, "invalid --check");
        return -1;
    }
    return 0;
}

static int
parse_text(void *dest, const char *value, struct ws_err *err)
{
    if (value[0] == '\0')
        return err_set(err, WS_ECONFIG, "an empty value is not allowed here");
    *(const char **) dest = value;
    return 0;
}

static const struct cli_option drill_options[] = {
    CLI_PARSE("backup", 0, "ID", struct drill_args, o.backup_id, cli_value_backup_id,
              "recover this backup (default: the newest that can reach the target)"),
    CLI_PARSE("target-time", 0, "TIME", struct drill_args, o, cli_value_target_time,
              "recover up to this time ('2026-12-03 14:05:00+00'; no zone = local)"),
    CLI_PARSE("target-lsn", 0, "LSN", struct drill_args, o, cli_value_target_lsn,
              "recover up to this WAL location"),
    CLI_PARSE("target-xid", 0, "XID", struct drill_args, o, cli_value_target_xid,
              "recover up to this transaction"),
    CLI_PARSE("target-name", 0, "NAME", struct drill_args, o, cli_value_target_name,
              "recover up to this restore point\n(no target: recover to the end of the archive)"),
    CLI_PARSE("check", 0, "LINE", struct drill_args, checks, parse_check,
              "a sanity check 'NAME | EXPECT | SQL' (repeatable); EXPECT:\n"
              "= TEXT, != TEXT, < N, <= N, > N, >= N, or empty (the query runs)"),
    CLI_CFG("drill_checks_file", "FILE", "more checks, one a line (drill_checks_file)"),
    CLI_BOOL("json", 0, struct drill_args, json,
             "the report as JSON (schema_version 1, docs/walship.md)"),
    CLI_PARSE("sql", 0, "QUERY", struct drill_args, sql, parse_text,
              "selective recovery: run QUERY at the target; its rows alone go to stdout"),
    CLI_PARSE("sql-file", 0, "FILE", struct drill_args, sql_file, parse_text,
              "the same, the query read from FILE"),
    CLI_PARSE("output", 0, "FILE", struct drill_args, output, parse_text,
              "write the rows to FILE (new, complete or absent) instead of stdout"),
    CLI_END
};

static struct ops_drill_control control;

static void
on_stop(int sig, void *arg)
{
    log_warning("received signal %d (%s): stopping the drill, its server, and removing its "
                "directory", sig, strsignal(sig));
    ops_drill_interrupt(arg);
}

static int
run_drill(const struct cfg *cfg, void *args, struct ws_err *err)
{
    struct drill_args *a = args;
    struct ops_drill_options o = {
        .backup_id = a->o.backup_id,
        .target = a->o.target,
        .target_text = a->o.target_text,
        .checks = &a->checks,
        .sql = a->sql,
        .output = a->output,
        .json = a->json,
    };
    struct ops_drill_result *res = calloc(1, sizeof(*res));
    char       *text = NULL;
    size_t      len = 0;
    int         rc = -1;

    if (res == NULL)
        err_set(err, WS_EINTERNAL, "out of memory");
    else if (a->sql != NULL && a->sql_file != NULL)
        err_set(err, WS_ECONFIG, "--sql and --sql-file cannot be given together");
    else if ((a->sql != NULL || a->sql_file != NULL) && a->checks.n > 0)
        err_set(err, WS_ECONFIG, "--check has no effect with --sql or --sql-file");
    else if (a->sql_file != NULL &&
             smallfile_read(a->sql_file, "SQL file", OPS_DRILL_SQL_MAX, WS_EINPUT, NULL, &text,
                            &len, err) != 0)
        err->code = err->sys_errno == ENOENT ? WS_ENOTFOUND : WS_EINPUT;
    else
    {
        if (text != NULL)
            o.sql = text;
        /* a reader that went away is an error to report, not a signal that kills the cleanup */
        signal(SIGPIPE, SIG_IGN);
        ops_drill_control_init(&control);
        if (sigstop_begin(on_stop, &control))
            o.control = &control;
        rc = ops_drill_run(cfg, &o, o.sql != NULL ? stderr : stdout, res, err);
    }
    if (rc < 0)
    {
        rc = cli_fail(WS_PROG_TOOL, err);
        if (err->code == WS_EINTERRUPTED && sigstop_caught() > 0)
            rc = exitcode_signal(sigstop_caught());
    }
    free(text);
    free(res);
    return rc;
}

static void
done_drill(void *args)
{
    ops_drill_checks_free(&((struct drill_args *) args)->checks);
}

const struct ops_subcommand ops_cmd_drill = {
    .name = "drill",
    .brief = "restore test: recover a backup, start it, run checks; or run SQL at a target",
    .spec = {
        .progname = "walship drill",
        .summary = "walship drill recovers a backup into a private temporary directory, starts\n"
                   "PostgreSQL there, runs sanity checks and removes everything again.",
        .synopsis = "[--backup ID] [--target-*=VALUE] [--check LINE]... [--checks-file FILE] [--json]\n"
                    "--target-*=VALUE --sql QUERY|--sql-file FILE [--output FILE]",
        .notes = "The report goes to stdout, or to stderr with --sql, whose rows alone go to\n"
                 "stdout.  The exit status names the failed step (docs/walship.md): the\n"
                 "fetch's own status, 20 server failed, 9 timeout, 21 check failed.  Stopped\n"
                 "by SIGINT, SIGTERM or SIGHUP, it stops the server and removes its directory.\n"
                 "It refuses to run as root.",
        .options = drill_options,
        .exits = WS_PROG_TOOL,
        .exit_signals = true},
    .args_size = sizeof(struct drill_args),
    .run = run_drill,
    .done = done_drill,
};
