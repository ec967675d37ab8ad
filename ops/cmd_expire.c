/*
 * walship expire [--dry-run] [--json] — apply the retention policy
 * (command/ops_expire.c).
 */
#include "cli_value.h"
#include "exitcode.h"
#include "log.h"
#include "ops_expire.h"
#include "subcommand.h"

#include <stdio.h>

struct expire_args
{
    bool        dry_run;
    bool        json;
};

static const struct cli_option expire_options[] = {
    CLI_BOOL("dry-run", 'n', struct expire_args, dry_run,
             "print what would be removed, remove nothing"),
    CLI_BOOL("json", 0, struct expire_args, json,
             "print JSON (schema_version 1, docs/walship.md) instead of lines"),
    CLI_END
};

static int
run_expire(const struct cfg *cfg, void *args, struct ws_err *err)
{
    const struct expire_args *a = args;
    struct ops_expire_options o = {.dry_run = a->dry_run, .json = a->json};
    struct ops_expire_result res;

    if (ops_expire_run(cfg, &o, stdout, &res, err) < 0)
        return cli_fail(WS_PROG_TOOL, err);
    if (res.damaged > 0)
    {
        log_error("%d backup%s with a damaged descriptor left alone", res.damaged,
                  res.damaged == 1 ? "" : "s");
        log_hint("\"walship verify\" names the damage; remove such a backup by hand once "
                 "it is understood.");
        return exitcode_for(WS_PROG_TOOL, WS_ECORRUPT);
    }
    return 0;
}

const struct ops_subcommand ops_cmd_expire = {
    .name = "expire",
    .brief = "remove the backups and WAL the retention policy does not keep",
    .spec = {
        .progname = "walship expire",
        .summary = "walship expire applies the retention policy (the retain_* keys): it\n"
                   "removes the backups it does not keep, incomplete backups older than\n"
                   "retain_incomplete, and the archived WAL no kept backup needs.",
        .synopsis = "[--dry-run] [--json]",
        .notes = "Each line names a backup kept (and the tiers that keep it) or removed, or\n"
                 "a stretch of WAL removed.  A policy that keeps no backup, or no policy at\n"
                 "all, is refused (configuration error).  A backup with a damaged descriptor\n"
                 "is left alone and the exit status is \"corrupt\".",
        .options = expire_options,
        .exits = WS_PROG_TOOL},
    .args_size = sizeof(struct expire_args),
    .run = run_expire,
};
