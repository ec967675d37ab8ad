/*
 * walship list [--json] — what the repository holds (command/ops_list.c).
 */
#include "cli_value.h"
#include "exitcode.h"
#include "ops_list.h"
#include "subcommand.h"

#include <stdio.h>

struct list_args
{
    bool        json;
};

static const struct cli_option list_options[] = {
    CLI_BOOL("json", 0, struct list_args, json,
             "print JSON (schema_version 1, docs/walship.md) instead of tables"),
    CLI_END
};

static int
run_list(const struct cfg *cfg, void *args, struct ws_err *err)
{
    const struct list_args *a = args;

    return ops_list_run(cfg, a->json, stdout, err) < 0 ? cli_fail(WS_PROG_TOOL, err) : 0;
}

const struct ops_subcommand ops_cmd_list = {
    .name = "list",
    .brief = "the backups, the archived WAL and the recoverable windows",
    .spec = {
        .progname = "walship list",
        .summary = "walship list shows a repository's backups, its archived WAL per timeline\n"
                   "(ranges and gaps) and the windows it can recover into.",
        .synopsis = "[--json]",
        .options = list_options,
        .exits = WS_PROG_TOOL},
    .args_size = sizeof(struct list_args),
    .run = run_list,
};
