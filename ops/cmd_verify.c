/*
 * walship verify [--backup ID] [-j N] — read every object end to end and
 * check WAL continuity (command/ops_verify.c).
 */
#include "cli_value.h"
#include "exitcode.h"
#include "ops_verify.h"
#include "subcommand.h"

#include <stdio.h>

struct verify_args
{
    const char *backup_id;
    int         jobs;
};

static const struct cli_option verify_options[] = {
    CLI_PARSE("backup", 0, "ID", struct verify_args, backup_id, cli_value_backup_id,
              "verify only this backup's objects (and the WAL it needs)"),
    CLI_PARSE("jobs", 'j', "N", struct verify_args, jobs, ops_parse_jobs,
              "objects read in parallel (default 4)"),
    CLI_END
};

static void
init_verify(void *args)
{
    ((struct verify_args *) args)->jobs = 4;
}

static int
run_verify(const struct cfg *cfg, void *args, struct ws_err *err)
{
    const struct verify_args *a = args;
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
    if (res.archived > 0)
        return exitcode_for(WS_PROG_TOOL, WS_EARCHIVED);
    return 0;
}

const struct ops_subcommand ops_cmd_verify = {
    .name = "verify",
    .brief = "read every object end to end and check WAL continuity",
    .spec = {
        .progname = "walship verify",
        .summary = "walship verify reads every object of the repository end to end and\n"
                   "checks that each backup's WAL is archived without gaps.",
        .synopsis = "[--backup ID] [-j N]",
        .notes = "Each damaged or missing object is named with its cause, each gap as its\n"
                 "first..last missing segment.  The exit status is \"corrupt\" when an object\n"
                 "or a descriptor is damaged or missing, else \"WAL missing\" for a gap.",
        .options = verify_options,
        .exits = WS_PROG_TOOL},
    .args_size = sizeof(struct verify_args),
    .init = init_verify,
    .run = run_verify,
};
