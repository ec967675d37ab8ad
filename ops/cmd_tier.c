/*
 * walship tier --backup ID --class CLASS — move an old backup and the WAL
 * only it needs to another S3 storage class, server-side
 * (command/ops_tier.c).
 */
#include "cli_value.h"
#include "exitcode.h"
#include "ops_tier.h"
#include "subcommand.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

struct tier_args
{
    const char *backup_id;
    const char *storage_class;
};

static int
parse_class(void *dest, const char *value, struct ws_err *err)
{
    size_t      n = strlen(value);

    for (size_t i = 0; i < n; i++)
        if (!isupper((unsigned char) value[i]) && value[i] != '_')
            n = 0;
    if (n == 0 || n > 40)
    {
        err_set(err, WS_ECONFIG, "invalid value for --class: \"%s\"", value);
        err_hint(err, "Give an S3 storage class such as STANDARD_IA, GLACIER_IR, GLACIER or DEEP_ARCHIVE.");
        return -1;
    }
    *(const char **) dest = value;
    return 0;
}

static const struct cli_option tier_options[] = {
    CLI_PARSE("backup", 0, "ID", struct tier_args, backup_id, cli_value_backup_id,
              "the backup to move (never the newest complete one)"),
    CLI_PARSE("class", 0, "CLASS", struct tier_args, storage_class, parse_class,
              "the S3 storage class: STANDARD_IA, GLACIER_IR, GLACIER, DEEP_ARCHIVE..."),
    CLI_END
};

static int
run_tier(const struct cfg *cfg, void *args, struct ws_err *err)
{
    const struct tier_args *a = args;
    uint64_t    moved;

    if (a->backup_id == NULL || a->storage_class == NULL)
    {
        err_set(err, WS_ECONFIG, "walship tier needs --backup ID and --class CLASS");
        err_hint(err, "walship list shows the backups; see \"walship help tier\".");
        return cli_fail(WS_PROG_TOOL, err);
    }
    if (ops_tier_move(cfg, a->backup_id, a->storage_class, stdout, &moved, err) < 0)
        return cli_fail(WS_PROG_TOOL, err);
    return 0;
}

const struct ops_subcommand ops_cmd_tier = {
    .name = "tier",
    .brief = "move an old backup and its WAL to another S3 storage class",
    .spec = {
        .progname = "walship tier",
        .summary = "walship tier moves a backup's objects, and the WAL segments only it needs,\n"
                   "to another S3 storage class by server-side copies.",
        .synopsis = "--backup ID --class CLASS",
        .notes = "Descriptors stay in the default class, so list and verify keep working;\n"
                 "an object in GLACIER or DEEP_ARCHIVE must be restored with walship thaw\n"
                 "before it can be read (docs/walship.md, \"Storage tiers\").",
        .options = tier_options,
        .exits = WS_PROG_TOOL},
    .args_size = sizeof(struct tier_args),
    .run = run_tier,
};
