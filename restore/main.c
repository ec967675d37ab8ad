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
#include "cli.h"
#include "log.h"
#include "restore.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct cli_spec spec = {
    .progname = "walship-restore",
    .summary = "walship-restore restores one WAL file from a walship repository.",
    .synopsis = "[OPTION]... NAME PATH",
    .notes = "  NAME and PATH are PostgreSQL's %f and %p:\n"
             "    restore_command = 'walship-restore %f %p'",
    .npos = 2,
    .pos_names = "%f %p",
    .exits = WS_PROG_RESTORE,
};

int
main(int argc, char **argv)
{
    struct cfg  cfg;
    struct ws_err err = WS_ERR_INIT;
    struct restore_stats st;
    const char *pos[2] = {NULL, NULL};
    enum cli_result res;
    enum ws_program prog;
    int         rc;

    log_init(argv[0], LOG_LEVEL_INFO);
    res = cli_parse(&spec, argc, argv, &cfg, NULL, pos, &err);
    /* restore_command runs in the data directory; pgdata is "" if cfg_load failed */
    prog = restore_is_standby(cfg.pgdata[0] ? cfg.pgdata : ".") ? WS_PROG_RESTORE_STANDBY
        : WS_PROG_RESTORE;
    switch (res)
    {
        case CLI_DONE:
            rc = 0;
            goto out;
        case CLI_ERROR:
            rc = exitcode_for(prog, err.code);
            goto out;
        case CLI_RUN:
            break;
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
    if (st.prefetched)
        log_info("restored \"%s\" from the prefetch spool: %" PRIu64 " bytes in %.1f ms", pos[0],
                 st.bytes_out, st.seconds * 1000);
    else
        log_info("restored \"%s\": %" PRIu64 " -> %" PRIu64 " bytes in %.1f ms", pos[0],
                 st.bytes_in, st.bytes_out, st.seconds * 1000);
    rc = 0;
out:
    cfg_wipe(&cfg);
    return rc;
}
