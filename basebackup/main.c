/*
 * walship-basebackup — take a base backup of a running PostgreSQL server
 * straight into the walship repository:
 *
 *     walship-basebackup --checkpoint=fast
 *
 * Prints the backup id on stdout when the backup is complete (its WAL is in
 * the archive); exit statuses in docs/exit-codes.md.
 */
#include "backup.h"
#include "cfg.h"
#include "cli.h"
#include "cli_value.h"
#include "exitcode.h"
#include "log.h"
#include "progress.h"
#include "sigstop.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What the command line sets besides the configuration. */
struct args
{
    struct backup_options o;
    int         show_progress;      /* -1: when stderr is a terminal */
};

static const struct cli_option options[] = {
    CLI_CFG("pg_conninfo", "CONNSTR",
            "libpq connection string (default pg_conninfo, else the PG* variables)"),
    CLI_PARSE("label", 'l', "LABEL", struct args, o.label, cli_value_label,
              "backup label (default \"walship <id>\")"),
    CLI_PARSE("checkpoint", 'c', "fast|spread", struct args, o.fast_checkpoint,
              cli_value_checkpoint, "start with a fast or a spread checkpoint (default spread)"),
    CLI_SET("progress", 'P', struct args, show_progress, 1,
            "show progress on stderr (default: when it is a terminal)"),
    CLI_SET("no-progress", 0, struct args, show_progress, 0, "never show progress"),
    CLI_PARSE("max-rate", 'r', "RATE", struct args, o.max_rate_kb, cli_value_rate,
              "limit the transfer rate, kB/s (suffix k or M), 32k..1024M"),
    CLI_CFG("backup_wal_timeout", "SECONDS",
            "wait this long without archiving progress for the backup's WAL\n"
            "(default backup_wal_timeout)"),
    CLI_END
};

static const struct cli_spec spec = {
    .progname = "walship-basebackup",
    .summary = "walship-basebackup takes a base backup of a PostgreSQL server into a walship "
               "repository.",
    .synopsis = "[OPTION]...",
    .notes = "On success the backup id is printed on stdout.  Stopped by SIGINT, SIGTERM or\n"
             "SIGHUP, it removes what it stored.",
    .options = options,
    .exits = WS_PROG_TOOL,
    .exit_signals = true,
};

/* A stop signal interrupts the backup, which removes what it stored (sigstop.h). */
static struct backup_control control;

static void
on_stop(int sig, void *arg)
{
    log_warning("received signal %d (%s): stopping the backup and removing what it stored",
                sig, strsignal(sig));
    backup_interrupt(arg);
}

static void
on_progress(void *arg, uint64_t done, uint64_t total)
{
    progress_update(arg, done, total);
}

static void
on_status(void *arg, const char *msg)
{
    struct progress *p = arg;

    if (p->enabled)
        progress_note(p, msg);
    else
        log_info("%s", msg);
}

int
main(int argc, char **argv)
{
    struct cfg  cfg;
    struct ws_err err = WS_ERR_INIT;
    struct args a = {.show_progress = -1};
    struct backup_info info;
    struct progress prog;
    int         rc = 1;

    memset(&info, 0, sizeof(info));
    if (!cli_begin(&spec, argc, argv, &cfg, &a, NULL, &err, &rc))
        goto out;

    backup_control_init(&control);
    if (sigstop_begin(on_stop, &control))
        a.o.control = &control;
    progress_init(&prog, "backup", a.show_progress);
    a.o.progress = prog.enabled ? on_progress : NULL;
    a.o.status = on_status;
    a.o.arg = &prog;
    if (backup_run(&cfg, &a.o, &info, &err) < 0)
    {
        progress_end(&prog);
        rc = cli_fail(WS_PROG_TOOL, &err);
        if (err.code == WS_EINTERRUPTED && sigstop_caught() > 0)
            rc = exitcode_signal(sigstop_caught());
    }
    else
    {
        progress_end(&prog);
        backup_log_summary(&info);
        printf("%s\n", info.id);
        fflush(stdout);
        rc = 0;
    }
    progress_destroy(&prog);
    backup_info_free(&info);
out:
    cfg_wipe(&cfg);
    return rc;
}
