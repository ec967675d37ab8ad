/*
 * cli.h — the command line every WAL executable shares: configuration
 * (cfg_load + cfg_validate), --help, --version, --print-config, and a fixed
 * number of positional arguments (PostgreSQL's %p and %f).
 */
#ifndef WS_CLI_H
#define WS_CLI_H

#include <stdbool.h>
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

/*
 * For executables with their own options: load the configuration, serve
 * --help and --version (CLI_DONE), and return in *rest (free() it) every
 * argument that is not configuration, in order, with --print-config removed
 * and reported in *print_config.  The caller parses *rest with cli_flag(),
 * then calls cfg_validate().
 */
enum cli_result cli_parse_options(const struct cli_spec *spec, int argc, char **argv,
                                  struct cfg *cfg, char ***rest, int *nrest, bool *print_config,
                                  struct ws_err *err);

/*
 * Match rest[*i] against a flag with a long name ("label") and optional
 * short letter ('l', or 0).  Flags with a value accept "--label=X",
 * "--label X", "-l X" and "-lX"; *value points to X and *i moves past what
 * was consumed.  Returns 1 if matched, 0 if not, -1 (WS_ECONFIG) if the
 * value is missing or one was given to a flag that takes none.
 */
int         cli_flag(char **rest, int nrest, int *i, const char *name, char shortname,
                     bool has_value, const char **value, struct ws_err *err);

/*
 * WS_ECONFIG "unrecognized option": names the option up to any '=' and never
 * quotes what follows it, which may be a misspelled secret's value.
 */
int         cli_err_unrecognized(const char *arg, struct ws_err *err);

/* Parse the integer value of flag "--name" within [min, max] (WS_ECONFIG). */
int         cli_flag_int(const char *name, const char *value, long min, long max, int *out,
                         struct ws_err *err);

#endif
