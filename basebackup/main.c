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

#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
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

/*
 * SIGINT, SIGTERM and SIGHUP (Ctrl-C, systemd's stop timeout, a closed
 * terminal) are blocked in every thread and taken by this one, which
 * interrupts the backup so that it removes what it stored and exits
 * 128 + signal, like a shell.
 */
static struct backup_control control;
static volatile int caught_signal;

static void *
signal_thread(void *arg)
{
    sigset_t   *set = arg;
    int         sig;

    if (sigwait(set, &sig) == 0)
    {
        caught_signal = sig;
        log_warning("received signal %d (%s): stopping the backup and removing what it stored",
                    sig, strsignal(sig));
        backup_interrupt(&control);
    }
    return NULL;
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
    log_init(argv[0], LOG_LEVEL_INFO);
    switch (cli_parse(&spec, argc, argv, &cfg, &a, NULL, &err))
    {
        case CLI_DONE:
            rc = 0;
            goto out;
        case CLI_ERROR:
            rc = exitcode_for(WS_PROG_TOOL, err.code);
            goto out;
        case CLI_RUN:
            break;
    }

    {
        static sigset_t set;
        pthread_t   th;

        sigemptyset(&set);
        sigaddset(&set, SIGINT);
        sigaddset(&set, SIGTERM);
        sigaddset(&set, SIGHUP);
        backup_control_init(&control);
        if (pthread_sigmask(SIG_BLOCK, &set, NULL) == 0 &&
            pthread_create(&th, NULL, signal_thread, &set) == 0)
        {
            pthread_detach(th);
            a.o.control = &control;
        }
        else
            pthread_sigmask(SIG_UNBLOCK, &set, NULL);
    }
    progress_init(&prog, "backup", a.show_progress);
    a.o.progress = prog.enabled ? on_progress : NULL;
    a.o.status = on_status;
    a.o.arg = &prog;
    if (backup_run(&cfg, &a.o, &info, &err) < 0)
    {
        progress_end(&prog);
        log_err(&err);
        rc = exitcode_for(WS_PROG_TOOL, err.code);
        if (err.code == WS_EINTERRUPTED && caught_signal > 0)
            rc = exitcode_signal(caught_signal);
    }
    else
    {
        char        size[32], stored[32], lsn1[32], lsn2[32];
        double      secs = (info.wal_time_us - info.start_time_us) / 1e6;

        progress_end(&prog);
        progress_bytes(info.size, size, sizeof(size));
        progress_bytes(info.stored, stored, sizeof(stored));
        snprintf(lsn1, sizeof(lsn1), "%X/%X", (unsigned) (info.start_lsn >> 32), (unsigned) info.start_lsn);
        snprintf(lsn2, sizeof(lsn2), "%X/%X", (unsigned) (info.stop_lsn >> 32), (unsigned) info.stop_lsn);
        log_info("backup %s complete: %s stored as %s in %d objects (%s, %s), LSN %s .. %s on timeline %u, WAL %s .. %s archived, %.1f s",
                 info.id, size, stored, info.nobjects, info.compression, info.encryption, lsn1,
                 lsn2, info.timeline, info.start_wal, info.stop_wal, secs);
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
