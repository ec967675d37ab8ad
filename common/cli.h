/*
 * cli.h — the command line every WAL executable shares: configuration
 * (cfg_load + cfg_validate), --help, --version, --print-config, and a fixed
 * number of positional arguments (PostgreSQL's %p and %f).
 */
#ifndef WS_CLI_H
#define WS_CLI_H

#include <stdio.h>
#include "cfg.h"

enum cli_result
{
    CLI_RUN = 0,                /* configuration valid, positional args in pos[] */
    CLI_DONE,                   /* --help, --version or --print-config was served */
    CLI_ERROR                   /* logged; err->code says which */
};

struct cli_spec
{
    const char *progname;       /* "walship-archive" */
    void        (*usage) (FILE *out);
    int         npos;           /* positional arguments expected */
    const char *pos_names;      /* "%p %f", for messages */
};

/*
 * Parse argv into cfg (which the caller wipes with cfg_wipe) and pos[0..npos).
 * Logs its own errors; the caller maps err->code to an exit status.
 */
enum cli_result cli_parse(const struct cli_spec *spec, int argc, char **argv, struct cfg *cfg,
                          const char **pos, struct ws_err *err);

#endif
