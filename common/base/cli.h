/*
 * cli.h — the command line of every walship executable, driven by a flag
 * table: each main declares its flags (long name, short letter, value or
 * not, help, and a typed destination or a parser) and calls cli_parse()
 * once, which loads the configuration (cfg_load + cfg_validate), serves
 * --help, --version and --print-config, fills the executable's argument
 * struct and checks the positional arguments (PostgreSQL's %p and %f).
 *
 * Flag forms: --name=V, --name V, -x V, -xV; a switch takes no value
 * (--name=V is an error).  "--" ends the options: what follows is
 * positional.  --config, the configuration keys (--key=V) and the aliases
 * of keys a table lists (CLI_CFG) are taken by cfg_load, so their values
 * report "command line" as their source in --print-config.
 */
#ifndef WS_CLI_H
#define WS_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include "cfg.h"

enum cli_result
{
    CLI_RUN = 0,                /* configuration valid, arguments parsed */
    CLI_DONE,                   /* --help, --version or --print-config was served */
    CLI_ERROR                   /* logged; err->code says which */
};

enum cli_type
{
    CLI_T_END = 0,              /* ends a table */
    CLI_T_BOOL,                 /* switch: sets the bool at offset */
    CLI_T_SET,                  /* switch: stores `set` in the int at offset */
    CLI_T_PARSE,                /* parse(args + offset, value, err) checks and stores;
                                 * value is NULL for a switch (metavar NULL) */
    CLI_T_CFG                   /* the command-line alias of configuration key cfg_key
                                 * (cfg.c's row names it): cfg_load sets the key */
};

struct cli_option
{
    enum cli_type type;
    const char *name;           /* long name, without "--" (CLI_T_CFG: from the key's row) */
    char        short_name;     /* or 0 (CLI_T_CFG: from the key's row) */
    const char *metavar;        /* "DIR": takes a value; NULL: a switch */
    size_t      offset;         /* destination in the executable's argument struct */
    int         set;            /* CLI_T_SET */
    int         (*parse) (void *dest, const char *value, struct ws_err *err);
    const char *cfg_key;        /* CLI_T_CFG */
    const char *help;           /* for --help; '\n' continues on the next line */
};

/* Rows of a flag table, whose destinations are fields of the argument struct T. */
#define CLI_BOOL(name, sh, T, field, help) \
    {CLI_T_BOOL, name, sh, NULL, offsetof(T, field), 0, NULL, NULL, help}
#define CLI_SET(name, sh, T, field, value, help) \
    {CLI_T_SET, name, sh, NULL, offsetof(T, field), value, NULL, NULL, help}
#define CLI_PARSE(name, sh, meta, T, field, fn, help) \
    {CLI_T_PARSE, name, sh, meta, offsetof(T, field), 0, fn, NULL, help}
#define CLI_CFG(key, meta, help) \
    {CLI_T_CFG, NULL, 0, meta, 0, 0, NULL, key, help}
#define CLI_END {CLI_T_END, NULL, 0, NULL, 0, 0, NULL, NULL, NULL}

struct cli_spec
{
    const char *progname;       /* "walship-archive" */
    const char *summary;        /* first line of --help */
    const char *synopsis;       /* after the program name on each Usage line; '\n' between */
    const char *notes;          /* a paragraph after the Usage lines, or NULL */
    const struct cli_option *options;   /* the executable's flags (ended by CLI_END), or NULL */
    int         npos;           /* positional arguments expected */
    const char *pos_names;      /* "%p %f", for messages */
    enum ws_program exits;      /* whose exit statuses --help lists */
    bool        exit_signals;   /* it exits 128+N when stopped by signal N */
};

/*
 * Parse argv: load cfg (the caller wipes it with cfg_wipe, whatever the
 * result), serve --help/-h, --version/-V (before anything else is looked
 * at) and --print-config, fill args through spec->options, put the
 * positional arguments in pos[0..npos) and validate cfg.  Logs its own
 * errors (a usage error with the "Try --help" hint); the caller maps
 * err->code to an exit status.
 */
enum cli_result cli_parse(const struct cli_spec *spec, int argc, char **argv, struct cfg *cfg,
                          void *args, const char **pos, struct ws_err *err);

/*
 * The start every main shares: log_init, cli_parse, and the exit status
 * for what cli_parse served or refused (0 for --help/--version/
 * --print-config, the configuration error's status under spec->exits).
 * Returns true when the program should run; else *exit_status is set.
 */
bool        cli_begin(const struct cli_spec *spec, int argc, char **argv, struct cfg *cfg,
                      void *args, const char **pos, struct ws_err *err, int *exit_status);

/* log_err(err) and the exit status of err under prog: the end of a failed main. */
int         cli_fail(enum ws_program prog, const struct ws_err *err);

/* The --help text: summary, usage, options, exit statuses, configuration keys. */
void        cli_usage(const struct cli_spec *spec, FILE *out);

/*
 * WS_ECONFIG "unrecognized option": names the option up to any '=' and never
 * quotes what follows it, which may be a misspelled secret's value.
 */
int         cli_err_unrecognized(const char *arg, struct ws_err *err);

#endif
