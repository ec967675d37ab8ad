/*
 * walship verify [--backup ID | --since TIME | --sample PCT] [-j N] — read
 * every object end to end and check WAL continuity (command/ops_verify.c).
 */
#include "backup_time.h"
#include "cli_value.h"
#include "exitcode.h"
#include "num.h"
#include "ops_verify.h"
#include "subcommand.h"

#include <stddef.h>
#include <stdio.h>
#include <sys/random.h>
#include <time.h>

struct verify_args
{
    const char *backup_id;
    int         jobs;
    bool        since;
    int64_t     since_us;
    int         sample_pct;
    bool        have_seed;
    uint64_t    seed;
};

/* A time as recovery targets take it, or a duration back from now ("24h", "7d"). */
static int
parse_since(void *dest, const char *value, struct ws_err *err)
{
    struct verify_args *a = (struct verify_args *) ((char *) dest -
                                                     offsetof(struct verify_args, since_us));
    uint64_t    d;

    if (num_parse_duration(value, 0, UINT64_MAX / 2000000, &d) == 0)
        a->since_us = ((int64_t) time(NULL) - (int64_t) d) * 1000000;
    else if (backup_time_parse(value, &a->since_us, err) < 0)
    {
        err_set(err, WS_ECONFIG, "invalid value for --since: \"%s\"", value);
        err_hint(err, "Give a time (\"2026-12-03 20:53:22+00\") or a duration back from now "
                 "(\"24h\", \"7d\").");
        return -1;
    }
    a->since = true;
    return 0;
}

static int
parse_sample(void *dest, const char *value, struct ws_err *err)
{
    uint64_t    pct;

    if (num_parse_percent(value, 1, 100, &pct) < 0)
    {
        err_set(err, WS_ECONFIG, "invalid value for --sample: \"%s\"", value);
        err_hint(err, "Give a percentage from 1 to 100 (\"10%%\" or \"10\").");
        return -1;
    }
    *(int *) dest = (int) pct;
    return 0;
}

static int
parse_seed(void *dest, const char *value, struct ws_err *err)
{
    struct verify_args *a = (struct verify_args *) ((char *) dest -
                                                     offsetof(struct verify_args, seed));

    if (num_parse_uint(value, 0, UINT64_MAX, &a->seed) < 0)
    {
        err_set(err, WS_ECONFIG, "invalid value for --seed: \"%s\"", value);
        err_hint(err, "Give an unsigned integer, as a --sample report prints it.");
        return -1;
    }
    a->have_seed = true;
    return 0;
}

static const struct cli_option verify_options[] = {
    CLI_PARSE("backup", 0, "ID", struct verify_args, backup_id, cli_value_backup_id,
              "verify only this backup's objects (and the WAL it needs)"),
    CLI_PARSE("since", 0, "TIME", struct verify_args, since_us, parse_since,
              "read only backups started at/after TIME and the WAL stored since\n"
              "(a time, or a duration back from now: 24h, 7d)"),
    CLI_PARSE("sample", 0, "PCT", struct verify_args, sample_pct, parse_sample,
              "read PCT % of the WAL and older backups' parts (all descriptors\n"
              "and the newest backup always)"),
    CLI_PARSE("seed", 0, "N", struct verify_args, seed, parse_seed,
              "the sample's seed (default random, printed): repeats a sample"),
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
        .since = a->since,
        .since_us = a->since_us,
        .sample_pct = a->sample_pct,
        .seed = a->seed,
        .record = true,
    };
    struct ops_verify_result res;

    if (!a->have_seed && getrandom(&o.seed, sizeof(o.seed), 0) != (ssize_t) sizeof(o.seed))
        o.seed = (uint64_t) time(NULL);
    o.seed %= 1000000000;       /* short enough to type back */
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
        .synopsis = "[--backup ID | --since TIME | --sample PCT [--seed N]] [-j N]",
        .notes = "Each damaged or missing object is named with its cause, each gap as its\n"
                 "first..last missing segment.  The exit status is \"corrupt\" when an object\n"
                 "or a descriptor is damaged or missing, else \"WAL missing\" for a gap.\n"
                 "Continuity and windows are always checked on the whole listing.  The result\n"
                 "is recorded in the repository (state/verify) for walship metrics.",
        .options = verify_options,
        .exits = WS_PROG_TOOL},
    .args_size = sizeof(struct verify_args),
    .init = init_verify,
    .run = run_verify,
};
