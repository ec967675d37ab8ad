/*
 * walship dump [--name NAME] [-d CONNSTR] [-- PG_DUMP_ARG...] — run
 * `pg_dump -Fc` and store its output as a logical dump (command/ops_dump.c).
 */
#include "exitcode.h"
#include "ops_dump.h"
#include "subcommand.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

struct dump_args
{
    const char *name;
    const char *conninfo;
    const char *pg_dump;
    char      **tail;
    int         ntail;
};

static volatile sig_atomic_t dump_stop;

static void
on_stop(int sig)
{
    dump_stop = sig;
}

static int
parse_name(void *dest, const char *value, struct ws_err *err)
{
    if (dump_name_check(value, err) < 0)
        return -1;              /* bad input (10), as for put and get */
    *(const char **) dest = value;
    return 0;
}

static int
parse_string(void *dest, const char *value, struct ws_err *err)
{
    (void) err;
    *(const char **) dest = value;
    return 0;
}

static const struct cli_option dump_options[] = {
    CLI_PARSE("name", 0, "NAME", struct dump_args, name, parse_name,
              "the dump's name (default: <database>_YYYYmmdd_HHMMSS, UTC)"),
    CLI_PARSE("dbname", 'd', "CONNSTR", struct dump_args, conninfo, parse_string,
              "the database to dump, as for pg_dump -d (default: pg_conninfo)"),
    CLI_PARSE("pg-dump", 0, "PATH", struct dump_args, pg_dump, parse_string,
              "the pg_dump program (default: pg_dump from PATH)"),
    CLI_END
};

static void
tail_dump(void *args, int argc, char **argv)
{
    struct dump_args *a = args;

    a->tail = argv;
    a->ntail = argc;
}

static int
run_dump(const struct cfg *cfg, void *args, struct ws_err *err)
{
    const struct dump_args *a = args;
    struct ops_dump_options o = {
        .name = a->name,
        .conninfo = a->conninfo,
        .pg_dump = a->pg_dump,
        .args = a->tail,
        .nargs = a->ntail,
        .stop = &dump_stop,
    };
    struct sigaction sa;
    char        name[DUMP_NAME_MAX + 1];

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    if (ops_dump_run(cfg, &o, name, NULL, err) < 0)
    {
        cli_fail(WS_PROG_TOOL, err);
        if (err->code == WS_EINTERRUPTED && dump_stop > 0)
            return exitcode_signal(dump_stop);
        return exitcode_for(WS_PROG_TOOL, err->code);
    }
    printf("%s\n", name);
    return 0;
}

const struct ops_subcommand ops_cmd_dump = {
    .name = "dump",
    .brief = "run pg_dump -Fc and store its output as a logical dump",
    .spec = {
        .progname = "walship dump",
        .summary = "walship dump runs pg_dump -Fc on a database and stores its output as a\n"
                   "logical dump, as \"pg_dump -Fc | walship put NAME\" would, but checks\n"
                   "pg_dump's exit status before the dump is committed.",
        .synopsis = "[--name NAME] [-d CONNSTR] [--pg-dump PATH] [-- PG_DUMP_ARG...]",
        .notes = "The dump's name is printed on standard output.  Arguments after \"--\"\n"
                 "go to pg_dump (not -F or -f).  If pg_dump fails, nothing is stored.",
        .options = dump_options,
        .exits = WS_PROG_TOOL,
        .exit_signals = true},
    .args_size = sizeof(struct dump_args),
    .run = run_dump,
    .tail = tail_dump,
};
