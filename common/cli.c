/*
 * cli.c — the shared command line of the WAL executables.  See cli.h.
 */
#include "cli.h"
#include "log.h"
#include "version.h"

#include <stdlib.h>
#include <string.h>

enum cli_result
cli_parse(const struct cli_spec *spec, int argc, char **argv, struct cfg *cfg,
          const char **pos, struct ws_err *err)
{
    char      **rest = NULL;
    int         nrest = 0;
    int         npos = 0;
    bool        print_config = false;
    enum cli_result res = CLI_ERROR;

    if (cfg_load(cfg, argc, argv, &rest, &nrest, err) < 0)
    {
        log_err(err);
        goto out;
    }
    log_set_level(cfg->log_level);
    for (int i = 0; i < nrest; i++)
    {
        if (strcmp(rest[i], "--help") == 0 || strcmp(rest[i], "-h") == 0)
        {
            spec->usage(stdout);
            res = CLI_DONE;
            goto out;
        }
        if (strcmp(rest[i], "--version") == 0 || strcmp(rest[i], "-V") == 0)
        {
            printf("%s (walship) %s\n", spec->progname, WALSHIP_VERSION);
            res = CLI_DONE;
            goto out;
        }
        if (strcmp(rest[i], "--print-config") == 0)
            print_config = true;
        else if (rest[i][0] == '-' && rest[i][1] != '\0')
        {
            err_set(err, WS_ECONFIG, "unrecognized option \"%s\"", rest[i]);
            err_hint(err, "Try \"%s --help\" for more information.", spec->progname);
            log_err(err);
            goto out;
        }
        else if (npos < spec->npos)
            pos[npos++] = rest[i];
        else
            npos++;
    }
    if (cfg_validate(cfg, !print_config, err) < 0)
    {
        log_err(err);
        goto out;
    }
    if (print_config)
    {
        cfg_print(cfg, stdout);
        res = CLI_DONE;
        goto out;
    }
    if (npos != spec->npos)
    {
        err_set(err, WS_ECONFIG, "expected %d arguments (%s), got %d", spec->npos,
                spec->pos_names, npos);
        err_hint(err, "Use '%s %s'.", spec->progname, spec->pos_names);
        log_err(err);
        goto out;
    }
    res = CLI_RUN;
out:
    free(rest);
    return res;
}
