/*
 * walship put NAME — store a logical dump read from standard input
 * (`pg_dump -Fc | walship put NAME`; command/ops_dump.c).
 */
#include "exitcode.h"
#include "ops_dump.h"
#include "subcommand.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

struct put_args
{
    const char *pos[1];
};

static volatile sig_atomic_t put_stop;

static void
on_stop(int sig)
{
    put_stop = sig;
}

/* Stop signals end the put cleanly: nothing is left (ops_dump.h). */
static void
catch_stop(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
}

static int
run_put(const struct cfg *cfg, void *args, struct ws_err *err)
{
    const struct put_args *a = args;
    struct ops_put_options o = {
        .name = a->pos[0],
        .fd = STDIN_FILENO,
        .fd_what = "standard input",
        .stop = &put_stop,
    };
    struct dump_info d;

    if (isatty(STDIN_FILENO))
    {
        err_set(err, WS_ECONFIG, "standard input is a terminal");
        err_hint(err, "Pipe the dump into walship put: \"pg_dump -Fc DB | walship put NAME\".");
        return cli_fail(WS_PROG_TOOL, err);
    }
    catch_stop();
    if (ops_dump_put(cfg, &o, &d, err) < 0)
    {
        if (err->code == WS_EINTERRUPTED && put_stop > 0)
        {
            cli_fail(WS_PROG_TOOL, err);
            return exitcode_signal(put_stop);
        }
        return cli_fail(WS_PROG_TOOL, err);
    }
    return 0;
}

const struct ops_subcommand ops_cmd_put = {
    .name = "put",
    .brief = "store a logical dump read from standard input",
    .spec = {
        .progname = "walship put",
        .summary = "walship put stores a logical dump, read from standard input, in the\n"
                   "repository: compressed, checksummed and encrypted like every object.",
        .synopsis = "NAME",
        .notes = "NAME is 1 to 128 letters, digits, '.', '_' and '-', not starting with '.'\n"
                 "or '-'.  An existing name is refused (exit status \"already exists\").\n"
                 "The dump appears under NAME only once it is stored whole.  The shell\n"
                 "does not tell walship when pg_dump fails: run \"set -o pipefail\" and\n"
                 "check the pipeline's status, or use \"walship dump\".",
        .npos = 1,
        .pos_names = "NAME",
        .exits = WS_PROG_TOOL,
        .exit_signals = true},
    .args_size = sizeof(struct put_args),
    .pos_offset = offsetof(struct put_args, pos),
    .run = run_put,
};
