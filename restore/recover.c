/*
 * walship-recover — build a data directory from a base backup in the
 * repository and configure point-in-time recovery:
 *
 *     walship-recover -D /var/lib/postgresql/15/restored --target-time='2026-12-03 14:05:00+00'
 *
 * Exit statuses in docs/exit-codes.md.
 */
#include "backup_info.h"
#include "cfg.h"
#include "cli.h"
#include "cli_value.h"
#include "log.h"
#include "progress.h"
#include "recover.h"
#include "recover_report.h"

#include <stdio.h>
#include <string.h>

/* What the command line sets besides the configuration. */
struct args
{
    struct recover_options o;
    struct cli_tablespace_maps maps;
    int         show_progress;      /* -1: when stderr is a terminal */
    bool        list;
};

static const struct cli_option options[] = {
    CLI_CFG("pgdata", "DIR", "the new data directory (created if missing, else it must be empty)"),
    CLI_PARSE("backup", 0, "ID", struct args, o.backup_id, cli_value_backup_id,
              "restore this backup (default: the newest that can reach the target)"),
    CLI_PARSE("target-time", 0, "TIME", struct args, o, cli_value_target_time,
              "recover up to this time ('2026-12-03 14:05:00+00'; no zone = local)"),
    CLI_PARSE("target-lsn", 0, "LSN", struct args, o, cli_value_target_lsn,
              "recover up to this WAL location"),
    CLI_PARSE("target-xid", 0, "XID", struct args, o, cli_value_target_xid,
              "recover up to this transaction"),
    CLI_PARSE("target-name", 0, "NAME", struct args, o, cli_value_target_name,
              "recover up to this restore point (pg_create_restore_point)"),
    CLI_PARSE("immediate", 0, NULL, struct args, o, cli_value_target_immediate,
              "stop as soon as the backup is consistent\n"
              "(no target: recover to the end of the archive)"),
    CLI_PARSE("target-timeline", 0, "latest|current|TLI", struct args, o.target_timeline,
              cli_value_timeline, "timeline to follow (default latest)"),
    CLI_PARSE("target-action", 0, "pause|promote|shutdown", struct args, o.target_action,
              cli_value_target_action, "at the target (default pause)"),
    CLI_BOOL("target-exclusive", 0, struct args, o.target_exclusive,
             "stop just before the target instead of just after it"),
    CLI_BOOL("standby", 0, struct args, o.standby,
             "write standby.signal instead of recovery.signal"),
    CLI_PARSE("tablespace-map", 'T', "OLDDIR=NEWDIR", struct args, maps, cli_value_tablespace_map,
              "relocate a tablespace (OLDDIR may be its OID)"),
    CLI_CFG("recover_jobs", "N", "objects restored in parallel (default recover_jobs)"),
    CLI_BOOL("force", 0, struct args, o.force, "empty a non-empty target directory first"),
    CLI_SET("progress", 'P', struct args, show_progress, 1,
            "show progress on stderr (default: when it is a terminal)"),
    CLI_SET("no-progress", 0, struct args, show_progress, 0, "never show progress"),
    CLI_BOOL("list", 0, struct args, list, "list the repository's backups and exit"),
    CLI_END
};

static const struct cli_spec spec = {
    .progname = "walship-recover",
    .summary = "walship-recover restores a base backup from a walship repository and "
               "configures recovery.",
    .synopsis = "[OPTION]... -D DIR\n--list",
    .options = options,
    .exits = WS_PROG_TOOL,
};

static void
on_progress(void *arg, uint64_t done, uint64_t total)
{
    progress_update(arg, done, total);
}

int
main(int argc, char **argv)
{
    struct cfg  cfg;
    struct ws_err err = WS_ERR_INIT;
    struct args a = {.show_progress = -1};
    struct recover_options *o = &a.o;
    struct recover_result res;
    struct progress prog;
    int         rc = 1;

    memset(&res, 0, sizeof(res));
    if (!cli_begin(&spec, argc, argv, &cfg, &a, NULL, &err, &rc))
        goto out;
    if (a.list)
    {
        rc = recover_print_list(&cfg, stdout, &err) < 0 ? cli_fail(WS_PROG_TOOL, &err) : 0;
        goto out;
    }
    /* only -D/--pgdata on the command line names the target, never the file's pgdata */
    if (cfg_source_of(&cfg, "pgdata") == CFG_SRC_ARGV)
        o->target_dir = cfg.pgdata;
    if (o->target_dir == NULL)
    {
        err_set(&err, WS_ECONFIG, "no target directory given");
        err_hint(&err, "Use -D DIR for the new data directory.");
        rc = cli_fail(WS_PROG_TOOL, &err);
        log_hint("Try \"walship-recover --help\" for more information.");
        goto out;
    }
    if (o->target_action != NULL && o->target.kind == BACKUP_TARGET_END)
        log_warning("--target-action has no effect without a recovery target");
    o->maps = a.maps.map;
    o->nmaps = a.maps.n;

    progress_init(&prog, "restore", a.show_progress);
    o->progress = prog.enabled ? on_progress : NULL;
    o->arg = &prog;
    if (recover_run(&cfg, o, &res, &err) < 0)
    {
        progress_end(&prog);
        rc = cli_fail(WS_PROG_TOOL, &err);
    }
    else
    {
        progress_end(&prog);
        recover_report_print(stdout, o, &res);
        backup_info_free(&res.backup);
        rc = 0;
    }
    progress_destroy(&prog);
out:
    cli_tablespace_maps_free(&a.maps);
    cfg_wipe(&cfg);
    return rc;
}
