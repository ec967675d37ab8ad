/*
 * walship-archive — PostgreSQL archive_command:
 *
 *     archive_command = 'walship-archive %p %f'
 *
 * Exit 0 only once the file is durably in the repository (or an identical
 * copy already is); every failure exits 1..125 so the archiver retries
 * (docs/exit-codes.md).
 */
#include "archive.h"
#include "cfg.h"
#include "log.h"
#include "version.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
usage(FILE *out)
{
    fprintf(out,
            "walship-archive archives one WAL file into a walship repository.\n\n"
            "Usage:\n  walship-archive [OPTION]... PATH NAME\n\n"
            "  PATH and NAME are PostgreSQL's %%p and %%f:\n"
            "    archive_command = 'walship-archive %%p %%f'\n\n"
            "Options:\n"
            "  --config=FILE      configuration file (default $WALSHIP_CONFIG, else %s)\n"
            "  --print-config     print the effective configuration (secrets masked) and exit\n"
            "  --help             show this help and exit\n"
            "  --version          show the version and exit\n\n"
            "Configuration keys (also WALSHIP_<KEY> and --key=value):\n", CFG_DEFAULT_FILE);
    cfg_print_help(out);
}

int
main(int argc, char **argv)
{
    struct cfg  cfg;
    struct ws_err err = WS_ERR_INIT;
    struct archive_stats st;
    char      **rest = NULL;
    int         nrest = 0;
    int         npos = 0;
    const char *pos[2] = {NULL, NULL};
    bool        print_config = false;
    int         rc;

    log_init(argv[0], LOG_LEVEL_INFO);
    if (cfg_load(&cfg, argc, argv, &rest, &nrest, &err) < 0)
    {
        log_err(&err);
        rc = exitcode_for(WS_PROG_ARCHIVE, err.code);
        goto out;
    }
    log_set_level(cfg.log_level);
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
            printf("walship-archive (walship) %s\n", WALSHIP_VERSION);
            rc = 0;
            goto out;
        }
        if (strcmp(rest[i], "--print-config") == 0)
            print_config = true;
        else if (rest[i][0] == '-' && rest[i][1] != '\0')
        {
            err_set(&err, WS_ECONFIG, "unrecognized option \"%s\"", rest[i]);
            err_hint(&err, "Try \"walship-archive --help\" for more information.");
            log_err(&err);
            rc = exitcode_for(WS_PROG_ARCHIVE, err.code);
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
        rc = exitcode_for(WS_PROG_ARCHIVE, err.code);
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
        err_set(&err, WS_ECONFIG, "expected 2 arguments (%%p %%f), got %d", npos);
        err_hint(&err, "archive_command = 'walship-archive %%p %%f'");
        log_err(&err);
        rc = exitcode_for(WS_PROG_ARCHIVE, err.code);
        goto out;
    }

    if (archive_push(&cfg, pos[0], pos[1], &st, &err) < 0)
    {
        log_err(&err);
        rc = exitcode_for(WS_PROG_ARCHIVE, err.code);
        goto out;
    }
    if (st.already_archived)
        log_info("\"%s\" already archived with identical content (%.1f ms)", pos[1],
                 st.seconds * 1000);
    else
        log_info("archived \"%s\": %" PRIu64 " -> %" PRIu64 " bytes (%s, %s) in %.1f ms", pos[1],
                 st.bytes_in, st.bytes_out, cfg_compression_name(cfg.compression),
                 cfg_encryption_name(cfg.encryption), st.seconds * 1000);
    rc = 0;
out:
    free(rest);
    cfg_wipe(&cfg);
    return rc;
}
