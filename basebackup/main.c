/*
 * walship-basebackup — take a base backup of a running PostgreSQL server
 * straight into the walship repository:
 *
 *     walship-basebackup --checkpoint=fast
 *
 * Prints the backup id on stdout when the backup is complete (its WAL is in
 * the archive); exit codes in docs/exit-codes.md.
 */
#include "backup.h"
#include "cfg.h"
#include "cli.h"
#include "log.h"
#include "progress.h"

#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
usage(FILE *out)
{
    fprintf(out,
            "walship-basebackup takes a base backup of a PostgreSQL server into a walship repository.\n\n"
            "Usage:\n  walship-basebackup [OPTION]...\n\n"
            "Options:\n"
            "  -d, --dbname=CONNSTR      libpq connection string (default pg_conninfo, else the PG* variables)\n"
            "  -l, --label=LABEL         backup label (default \"walship <id>\")\n"
            "  -c, --checkpoint=fast|spread  start with a fast or a spread checkpoint (default spread)\n"
            "  -P, --progress            show progress on stderr (default: when it is a terminal)\n"
            "      --no-progress         never show progress\n"
            "  -r, --max-rate=RATE       limit the transfer rate, kB/s (suffix k or M), 32k..1024M\n"
            "      --wal-timeout=SECONDS wait this long without archiving progress for the backup's WAL\n"
            "                            (default backup_wal_timeout)\n"
            "      --config=FILE         configuration file (default $WALSHIP_CONFIG, else %s)\n"
            "      --print-config        print the effective configuration (secrets masked) and exit\n"
            "  -h, --help                show this help and exit\n"
            "  -V, --version             show the version and exit\n\n"
            "On success the backup id is printed on stdout.  Exit status: 0 complete, 2 configuration,\n"
            "4 corrupt (data checksum failures on the server, damaged repository), 5 authentication,\n"
            "6 repository of another cluster, 7 transient (retry later), 8 no space,\n"
            "9 WAL not archived in time, 128+N stopped by signal N (what it stored is removed),\n"
            "1 other failure (docs/exit-codes.md).\n\n"
            "Configuration keys (also WALSHIP_<KEY> and --key=value):\n", CFG_DEFAULT_FILE);
    cfg_print_help(out);
}

static int
parse_rate(const char *s, int *out, struct ws_err *err)
{
    char       *end;
    long long   v = strtoll(s, &end, 10);

    if (end == s)
        goto bad;
    if (*end == 'k' || *end == 'K')
        end++;
    else if (*end == 'M' || *end == 'm')
    {
        v *= 1024;
        end++;
    }
    if (*end != '\0' || v < 32 || v > 1024 * 1024)
        goto bad;
    *out = (int) v;
    return 0;
bad:
    err_set(err, WS_ECONFIG, "invalid transfer rate \"%s\"", s);
    err_hint(err, "Give kB/s between 32k and 1024M, for example --max-rate=100M.");
    return -1;
}

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
    static const struct cli_spec spec = {"walship-basebackup", usage, 0, ""};
    struct cfg  cfg;
    struct ws_err err = WS_ERR_INIT;
    struct backup_options o;
    struct backup_info info;
    struct progress prog;
    char      **rest = NULL;
    int         nrest = 0;
    bool        print_config = false;
    int         show_progress = -1;
    int         rc = 1;

    memset(&o, 0, sizeof(o));
    memset(&info, 0, sizeof(info));
    log_init(argv[0], LOG_LEVEL_INFO);
    switch (cli_parse_options(&spec, argc, argv, &cfg, &rest, &nrest, &print_config, &err))
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
    for (int i = 0; i < nrest; i++)
    {
        const char *v;
        int         m;

        if ((m = cli_flag(rest, nrest, &i, "dbname", 'd', true, &v, &err)) != 0)
        {
            if (m < 0)
                goto usage_error;
            snprintf(cfg.pg_conninfo, sizeof(cfg.pg_conninfo), "%s", v);
        }
        else if ((m = cli_flag(rest, nrest, &i, "label", 'l', true, &v, &err)) != 0)
        {
            if (m < 0)
                goto usage_error;
            if (strlen(v) >= 200 || strpbrk(v, "\n\r\t") != NULL)
            {
                err_set(&err, WS_ECONFIG, "invalid backup label \"%s\"", v);
                err_hint(&err, "Use at most 200 characters, without control characters.");
                goto usage_error;
            }
            o.label = v;
        }
        else if ((m = cli_flag(rest, nrest, &i, "checkpoint", 'c', true, &v, &err)) != 0)
        {
            if (m < 0)
                goto usage_error;
            if (strcmp(v, "fast") == 0)
                o.fast_checkpoint = true;
            else if (strcmp(v, "spread") == 0)
                o.fast_checkpoint = false;
            else
            {
                err_set(&err, WS_ECONFIG, "invalid checkpoint argument \"%s\", must be \"fast\" or \"spread\"", v);
                goto usage_error;
            }
        }
        else if ((m = cli_flag(rest, nrest, &i, "progress", 'P', false, &v, &err)) != 0)
        {
            if (m < 0)
                goto usage_error;
            show_progress = 1;
        }
        else if ((m = cli_flag(rest, nrest, &i, "no-progress", 0, false, &v, &err)) != 0)
        {
            if (m < 0)
                goto usage_error;
            show_progress = 0;
        }
        else if ((m = cli_flag(rest, nrest, &i, "max-rate", 'r', true, &v, &err)) != 0)
        {
            if (m < 0 || parse_rate(v, &o.max_rate_kb, &err) < 0)
                goto usage_error;
        }
        else if ((m = cli_flag(rest, nrest, &i, "wal-timeout", 0, true, &v, &err)) != 0)
        {
            if (m < 0 || cli_flag_int("wal-timeout", v, 1, 86400, &cfg.backup_wal_timeout, &err) < 0)
                goto usage_error;
        }
        else
        {
            cli_err_unrecognized(rest[i], &err);
            goto usage_error;
        }
    }
    if (cfg_validate(&cfg, !print_config, &err) < 0)
    {
        log_err(&err);
        rc = exitcode_for(WS_PROG_TOOL, err.code);
        goto out;
    }
    if (print_config)
    {
        cfg_print(&cfg, stdout);
        rc = 0;
        goto out;
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
            o.control = &control;
        }
        else
            pthread_sigmask(SIG_UNBLOCK, &set, NULL);
    }
    progress_init(&prog, "backup", show_progress);
    o.progress = prog.enabled ? on_progress : NULL;
    o.status = on_status;
    o.arg = &prog;
    if (backup_run(&cfg, &o, &info, &err) < 0)
    {
        progress_end(&prog);
        log_err(&err);
        rc = exitcode_for(WS_PROG_TOOL, err.code);
        if (err.code == WS_EINTERRUPTED && caught_signal > 0)
            rc = 128 + caught_signal;
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
    goto out;

usage_error:
    log_err(&err);
    log_hint("Try \"walship-basebackup --help\" for more information.");
    rc = exitcode_for(WS_PROG_TOOL, WS_ECONFIG);
out:
    cfg_wipe(&cfg);
    free(rest);
    return rc;
}
