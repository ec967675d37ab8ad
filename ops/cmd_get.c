/*
 * walship get NAME [--output FILE] — write a stored logical dump to standard
 * output (`walship get NAME | pg_restore ...`; command/ops_dump.c).
 */
#include "exitcode.h"
#include "ops_dump.h"
#include "subcommand.h"

#include <signal.h>
#include <stdio.h>
#include <unistd.h>

struct get_args
{
    const char *pos[1];
    const char *output;
};

static int
parse_output(void *dest, const char *value, struct ws_err *err)
{
    if (value[0] == '\0')
        return err_set(err, WS_ECONFIG, "--output needs a file name");
    *(const char **) dest = value;
    return 0;
}

static const struct cli_option get_options[] = {
    CLI_PARSE("output", 'o', "FILE", struct get_args, output, parse_output,
              "write the dump to FILE, which appears only once every check passed"),
    CLI_END
};

static int
run_get(const struct cfg *cfg, void *args, struct ws_err *err)
{
    const struct get_args *a = args;
    struct ops_get_options o = {
        .name = a->pos[0],
        .fd = STDOUT_FILENO,
        .output = a->output,
    };

    if (a->output == NULL && isatty(STDOUT_FILENO))
    {
        err_set(err, WS_ECONFIG, "standard output is a terminal");
        err_hint(err, "Pipe it into pg_restore (\"walship get NAME | pg_restore -d DB\") or "
                 "use --output FILE.");
        return cli_fail(WS_PROG_TOOL, err);
    }
    signal(SIGPIPE, SIG_IGN);   /* a reader that quits is an error message, not a death */
    if (ops_dump_get(cfg, &o, NULL, err) < 0)
    {
        if (err->code == WS_ECORRUPT && a->output == NULL)
            err_detail(err, "What was written to standard output is not the dump: do not "
                       "use it.");
        return cli_fail(WS_PROG_TOOL, err);
    }
    return 0;
}

const struct ops_subcommand ops_cmd_get = {
    .name = "get",
    .brief = "write a stored logical dump to standard output",
    .spec = {
        .progname = "walship get",
        .summary = "walship get writes a logical dump stored by walship put or walship dump\n"
                   "to standard output (or --output FILE), verifying it as it streams.",
        .synopsis = "NAME [--output FILE]",
        .notes = "Damage is found while streaming: bytes already written to a pipe cannot\n"
                 "be taken back, so a nonzero exit status means the output is not the\n"
                 "dump (run under \"set -o pipefail\").  --output FILE writes a temporary\n"
                 "file renamed to FILE only after every check passed.",
        .options = get_options,
        .npos = 1,
        .pos_names = "NAME",
        .exits = WS_PROG_TOOL},
    .args_size = sizeof(struct get_args),
    .pos_offset = offsetof(struct get_args, pos),
    .run = run_get,
};
