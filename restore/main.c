/*
 * walship-restore — PostgreSQL restore_command:
 *
 *     restore_command = 'walship-restore %f %p'
 *
 * Exit 0: restored.  Exit 1: not in the archive (normal; quiet).  Any failure
 * that must not pass for "not found" exits above 125 so recovery stops
 * instead of ending at the wrong point; with standby.signal present it
 * exits 1 after logging, so the standby keeps trying (docs/exit-codes.md).
 */
#include "cfg.h"
#include "log.h"
#include "restore.h"
#include "version.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
usage(FILE *out)
{
    fprintf(out,
            "walship-restore restores one WAL file from a walship repository.\n\n"
            "Usage:\n  walship-restore [OPTION]... NAME PATH\n\n"
            "  NAME and PATH are PostgreSQL's %%f and %%p:\n"
            "    restore_command = 'walship-restore %%f %%p'\n\n"
            "Options:\n"
            "  --config=FILE      configuration file (default $WALSHIP_CONFIG, else %s)\n"
            "  --print-config     print the effective configuration (secrets masked) and exit\n"
            "  --help             show this help and exit\n"
            "  --version          show the version and exit\n\n"
            "Exit status: 0 restored, 1 not in the archive, above 125 a failure that\n"
            "must stop recovery (see docs/exit-codes.md).\n\n"
            "Configuration keys (also WALSHIP_<KEY> and --key=value):\n", CFG_DEFAULT_FILE);
    cfg_print_help(out);
}

int
main(int argc, char **argv)
{
    struct cfg  cfg;
    struct ws_err err = WS_ERR_INIT;
    struct restore_stats st;
    char      **rest = NULL;
    int         nrest = 0;
    int         npos = 0;
    const char *pos[2] = {NULL, NULL};
    bool        print_config = false;
    enum ws_program prog = WS_PROG_RESTORE;
    int         rc;

    log_init(argv[0], LOG_LEVEL_INFO);
    if (cfg_load(&cfg, argc, argv, &rest, &nrest, &err) < 0)
    {
        /* restore_command runs in the data directory */
        if (restore_is_standby("."))
            prog = WS_PROG_RESTORE_STANDBY;
        log_err(&err);
        rc = exitcode_for(prog, err.code);
        goto out;
    }
    log_set_level(cfg.log_level);
    if (restore_is_standby(cfg.pgdata))
        prog = WS_PROG_RESTORE_STANDBY;
    for (int i = 0; i < nrest; i++)
    {
        if (strcmp(rest[i], "--help") == 0 || strcmp(rest[i], "-h") == 0)
        {
            usage(stdout);
            rc = 0;
            goto out;
        }
        if (strcmp(rest[i], "--version") == 0 || strcmp(rest[i], "-V") == 0)
        {
            printf("walship-restore (walship) %s\n", WALSHIP_VERSION);
            rc = 0;
            goto out;
        }
        if (strcmp(rest[i], "--print-config") == 0)
            print_config = true;
        else if (rest[i][0] == '-' && rest[i][1] != '\0')
        {
            err_set(&err, WS_ECONFIG, "unrecognized option \"%s\"", rest[i]);
            err_hint(&err, "Try \"walship-restore --help\" for more information.");
            log_err(&err);
            rc = exitcode_for(prog, err.code);
            goto out;
        }
        else if (npos < 2)
            pos[npos++] = rest[i];
        else
            npos++;
    }
    if (cfg_validate(&cfg, !print_config, &err) < 0)
    {
        log_err(&err);
        rc = exitcode_for(prog, err.code);
        goto out;
    }
    if (print_config)
    {
        cfg_print(&cfg, stdout);
        rc = 0;
        goto out;
    }
    if (npos != 2)
    {
        err_set(&err, WS_ECONFIG, "expected 2 arguments (%%f %%p), got %d", npos);
        err_hint(&err, "restore_command = 'walship-restore %%f %%p'");
        log_err(&err);
        rc = exitcode_for(prog, err.code);
        goto out;
    }

    if (restore_wal(&cfg, pos[0], pos[1], &st, &err) < 0)
    {
        if (err.code == WS_ENOTFOUND)
            log_debug("\"%s\" is not in the archive", pos[0]);
        else
        {
            log_err(&err);
            if (prog == WS_PROG_RESTORE_STANDBY)
                log_hint("standby.signal is present: exiting 1 so the standby keeps retrying and can stream.");
        }
        rc = exitcode_for(prog, err.code);
        goto out;
    }
    log_info("restored \"%s\": %" PRIu64 " -> %" PRIu64 " bytes in %.1f ms", pos[0], st.bytes_in,
             st.bytes_out, st.seconds * 1000);
    rc = 0;
out:
    free(rest);
    cfg_wipe(&cfg);
    return rc;
}
