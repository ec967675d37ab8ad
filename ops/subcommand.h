/*
 * subcommand.h — one subcommand of the operator's tool `walship`.
 *
 * Each subcommand lives in its own file ops/cmd_<name>.c and defines one
 * `const struct ops_subcommand ops_cmd_<name>`: its name, its flag table
 * (whose destinations are fields of its own argument struct), the size and
 * defaults of that struct, and its run function.  ops/main.c only finds
 * the subcommand, hands it the command line and returns its status; the
 * work itself is in common/command/ops_*.c where unit tests reach it.
 */
#ifndef WS_OPS_SUBCOMMAND_H
#define WS_OPS_SUBCOMMAND_H

#include <stddef.h>

#include "cfg.h"
#include "cli.h"
#include "err.h"

struct ops_subcommand
{
    const char *name;
    const char *brief;              /* one line for `walship help` */
    struct cli_spec spec;           /* progname "walship NAME"; exits WS_PROG_TOOL */
    size_t      args_size;          /* its argument struct, zeroed then init'ed */
    void        (*init) (void *args);   /* defaults, or NULL */
    /* Run with the parsed configuration and arguments: the exit status. */
    int         (*run) (const struct cfg *cfg, void *args, struct ws_err *err);
    void        (*done) (void *args);   /* releases what parsing kept, or NULL */
    size_t      pos_offset;         /* spec.npos > 0: its `const char *[npos]` in args */
    /* Takes what follows "--" on its command line (a NULL-terminated argv), or NULL. */
    void        (*tail) (void *args, int argc, char **argv);
};

/* -j/--jobs N, 1..256; dest: int. */
int         ops_parse_jobs(void *dest, const char *value, struct ws_err *err);

/* The subcommands, in `walship help` order (ops/main.c lists them). */
extern const struct ops_subcommand ops_cmd_list;
extern const struct ops_subcommand ops_cmd_verify;
extern const struct ops_subcommand ops_cmd_check;
extern const struct ops_subcommand ops_cmd_thaw;
extern const struct ops_subcommand ops_cmd_tier;
extern const struct ops_subcommand ops_cmd_drill;
extern const struct ops_subcommand ops_cmd_put;
extern const struct ops_subcommand ops_cmd_get;
extern const struct ops_subcommand ops_cmd_dump;
extern const struct ops_subcommand ops_cmd_expire;
extern const struct ops_subcommand ops_cmd_metrics;

#endif
