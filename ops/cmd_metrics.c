/*
 * walship metrics [--output FILE] — the repository's state as Prometheus
 * text exposition (command/ops_metrics.c).
 */
#include "exitcode.h"
#include "ops_metrics.h"
#include "subcommand.h"

#include <stdio.h>
#include <string.h>

struct metrics_args
{
    const char *output;
};

static int
parse_output(void *dest, const char *value, struct ws_err *err)
{
    if (value[0] == '\0')
        return err_set(err, WS_ECONFIG, "--output needs a file name");
    *(const char **) dest = value;
    return 0;
}

static const struct cli_option metrics_options[] = {
    CLI_PARSE("output", 'o', "FILE", struct metrics_args, output, parse_output,
              "write to FILE atomically (for node_exporter's textfile collector,\n"
              "e.g. /var/lib/prometheus/node-exporter/walship.prom) instead of stdout"),
    CLI_END
};

static int
run_metrics(const struct cfg *cfg, void *args, struct ws_err *err)
{
    const struct metrics_args *a = args;

    return ops_metrics_run(cfg, a->output, stdout, err) < 0 ? cli_fail(WS_PROG_TOOL, err) : 0;
}

const struct ops_subcommand ops_cmd_metrics = {
    .name = "metrics",
    .brief = "Prometheus metrics of the repository (backups, WAL, verify, drill)",
    .spec = {
        .progname = "walship metrics",
        .summary = "walship metrics writes the repository's state as Prometheus text\n"
                   "exposition, for node_exporter's textfile collector.",
        .synopsis = "[--output FILE]",
        .notes = "Timestamps are Unix seconds.  The backup counters come from records that\n"
                 "walship-basebackup keeps in the repository (state/backup/), so they grow\n"
                 "across runs and hosts.  Every series is described in docs/walship.md.",
        .options = metrics_options,
        .exits = WS_PROG_TOOL},
    .args_size = sizeof(struct metrics_args),
    .run = run_metrics,
};
