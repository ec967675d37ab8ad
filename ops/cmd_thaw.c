/*
 * walship thaw [--backup ID] [--days N] [--tier T] [--wal-to-latest] —
 * restore requests for what a recovery from one backup reads, when it is in
 * an archive storage class (command/ops_thaw.c).
 */
#include "cli_value.h"
#include "exitcode.h"
#include "num.h"
#include "ops_tier.h"
#include "subcommand.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

struct thaw_args
{
    const char *backup_id;
    int         days;
    const char *tier;
    bool        wal_to_latest;
};

static int
parse_days(void *dest, const char *value, struct ws_err *err)
{
    int64_t     n;

    if (num_parse_int(value, 1, 365, &n) < 0)
    {
        err_set(err, WS_ECONFIG, "invalid value for --days: \"%s\"", value);
        err_hint(err, "Give how many days the restored copies stay readable, 1 to 365.");
        return -1;
    }
    *(int *) dest = (int) n;
    return 0;
}

static int
parse_tier(void *dest, const char *value, struct ws_err *err)
{
    static const char *const tiers[] = {"Standard", "Bulk", "Expedited"};

    for (size_t i = 0; i < sizeof(tiers) / sizeof(tiers[0]); i++)
        if (strcasecmp(value, tiers[i]) == 0)
        {
            *(const char **) dest = tiers[i];
            return 0;
        }
    err_set(err, WS_ECONFIG, "invalid value for --tier: \"%s\"", value);
    err_hint(err, "Give Standard (hours), Bulk (cheapest, up to 12 h on Glacier, 48 h on Deep Archive) or Expedited (minutes, Glacier only).");
    return -1;
}

static const struct cli_option thaw_options[] = {
    CLI_PARSE("backup", 0, "ID", struct thaw_args, backup_id, cli_value_backup_id,
              "the backup to make readable (default: the newest complete one)"),
    CLI_PARSE("days", 0, "N", struct thaw_args, days, parse_days,
              "keep the restored copies readable N days (default 7)"),
    CLI_PARSE("tier", 0, "TIER", struct thaw_args, tier, parse_tier,
              "retrieval tier: Standard (default), Bulk or Expedited"),
    CLI_BOOL("wal-to-latest", 0, struct thaw_args, wal_to_latest,
             "also the WAL after the backup, to the newest archived segment"),
    CLI_END
};

static void
init_thaw(void *args)
{
    struct thaw_args *a = args;

    a->days = 7;
    a->tier = "Standard";
}

static int
run_thaw(const struct cfg *cfg, void *args, struct ws_err *err)
{
    const struct thaw_args *a = args;
    struct ops_thaw_options o = {
        .backup_id = a->backup_id,
        .days = a->days,
        .tier = a->tier,
        .wal_to_latest = a->wal_to_latest,
    };
    struct ops_thaw_result res;

    if (ops_thaw_run(cfg, &o, stdout, &res, err) < 0)
        return cli_fail(WS_PROG_TOOL, err);
    return ops_thaw_readable(&res) ? 0 : exitcode_for(WS_PROG_TOOL, WS_EARCHIVED);
}

const struct ops_subcommand ops_cmd_thaw = {
    .name = "thaw",
    .brief = "restore a backup and its WAL from an archive storage class (Glacier)",
    .spec = {
        .progname = "walship thaw",
        .summary = "walship thaw asks the object store to restore a backup's objects and its\n"
                   "WAL from an archive storage class (S3 Glacier, Deep Archive).",
        .synopsis = "[--backup ID] [--days N] [--tier Standard|Bulk|Expedited] [--wal-to-latest]",
        .notes = "Run it again to see the progress: it exits 0 once every object is\n"
                 "readable, and \"in an archive storage class\" while restores are pending,\n"
                 "so `until walship thaw ...; do sleep 600; done` waits for them.",
        .options = thaw_options,
        .exits = WS_PROG_TOOL},
    .args_size = sizeof(struct thaw_args),
    .init = init_thaw,
    .run = run_thaw,
};
