/*
 * walship — the operator's tool: one executable, one subcommand a job.
 * Each subcommand is a file ops/cmd_<name>.c (subcommand.h); this file
 * finds it, hands it its command line and returns its exit status.
 * `walship help` lists them, `walship help NAME` gives one's options.
 *
 * The configuration is found as every walship executable finds it
 * (--config FILE, $WALSHIP_CONFIG, /etc/walship.conf); --config and the
 * --key=VALUE options may stand before or after the subcommand.
 * docs/walship.md; exit statuses in docs/exit-codes.md.
 */
#include "cfg.h"
#include "cli.h"
#include "exitcode.h"
#include "log.h"
#include "num.h"
#include "subcommand.h"
#include "version.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* In `walship help` order. */
static const struct ops_subcommand *const subcommands[] = {
    &ops_cmd_list,
    &ops_cmd_verify,
    &ops_cmd_check,
    &ops_cmd_expire,
    &ops_cmd_metrics,
    &ops_cmd_drill,
    &ops_cmd_dump,
    &ops_cmd_put,
    &ops_cmd_get,
    &ops_cmd_tier,
    &ops_cmd_thaw,
};

#define NSUB ((int) (sizeof(subcommands) / sizeof(subcommands[0])))

int
ops_parse_jobs(void *dest, const char *value, struct ws_err *err)
{
    int64_t     n;

    if (num_parse_int(value, 1, 256, &n) < 0)
    {
        err_set(err, WS_ECONFIG, "invalid value for -j/--jobs: \"%s\"", value);
        err_hint(err, "Give a number of parallel jobs from 1 to 256.");
        return -1;
    }
    *(int *) dest = (int) n;
    return 0;
}

static void
usage(FILE *out)
{
    fprintf(out, "walship is the operator's tool for a walship repository.\n\n"
            "Usage:\n  walship [--config FILE] SUBCOMMAND [OPTION]...\n\nSubcommands:\n");
    for (int i = 0; i < NSUB; i++)
        fprintf(out, "  %-8s %s\n", subcommands[i]->name, subcommands[i]->brief);
    fprintf(out, "  %-8s %s\n", "help", "this list, or a subcommand's options (help SUBCOMMAND)");
    fprintf(out, "\nThe configuration file is --config FILE, else $WALSHIP_CONFIG,\n"
            "else %s; --config and --key=VALUE may stand before or after\n"
            "the subcommand.\n", CFG_DEFAULT_FILE);
    exitcode_usage(out, WS_PROG_TOOL, false);
    fprintf(out, "Documentation: docs/walship.md.\n");
}

/* The subcommand: the first argument that is no option nor --config's value. */
static int
find_subcommand(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
    {
        if (strcmp(argv[i], "--config") == 0)
            i++;
        else if (strcmp(argv[i], "--") == 0)
            return i + 1 < argc ? i + 1 : -1;
        else if (argv[i][0] != '-')
            return i;
    }
    return -1;
}

static const struct ops_subcommand *
lookup(const char *name)
{
    for (int i = 0; name != NULL && i < NSUB; i++)
        if (strcmp(name, subcommands[i]->name) == 0)
            return subcommands[i];
    return NULL;
}

/* A usage error: no subcommand (name NULL) or an unknown one. */
static int
usage_error(const char *name)
{
    struct ws_err err = WS_ERR_INIT;

    log_init("walship", LOG_LEVEL_INFO);
    if (name == NULL)
        err_set(&err, WS_ECONFIG, "no subcommand given");
    else
        err_set(&err, WS_ECONFIG, "unknown subcommand \"%s\"", name);
    err_hint(&err, "Try \"walship help\" for the list of subcommands.");
    return cli_fail(WS_PROG_TOOL, &err);
}

int
main(int argc, char **argv)
{
    const struct ops_subcommand *sub;
    struct cfg  cfg;
    struct ws_err err = WS_ERR_INIT;
    void       *a;
    char      **rest;
    int         at = find_subcommand(argc, argv), n = 0, rc = 1;

    for (int i = 1; at < 0 && i < argc; i++)
    {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            argv[at = i] = "help";      /* served below */
        else if (strcmp(argv[i], "--version") == 0 || strcmp(argv[i], "-V") == 0)
        {
            printf("walship (walship) %s\n", WALSHIP_VERSION);
            return 0;
        }
    }
    if (at < 0)
        return usage_error(NULL);
    if (strcmp(argv[at], "help") == 0)
    {
        const char *what = at + 1 < argc ? argv[at + 1] : NULL;

        if ((sub = lookup(what)) != NULL)
            cli_usage(&sub->spec, stdout);
        else if (what == NULL || strcmp(what, "help") == 0)
            usage(stdout);
        else
            return usage_error(what);
        return 0;
    }
    if ((sub = lookup(argv[at])) == NULL)
        return usage_error(argv[at]);

    /* the subcommand's own command line: everything but its name */
    rest = malloc(sizeof(char *) * (size_t) argc);
    a = calloc(1, sub->args_size > 0 ? sub->args_size : 1);
    if (rest == NULL || a == NULL)
    {
        free(rest);
        free(a);
        fprintf(stderr, "walship: out of memory\n");
        return 1;
    }
    for (int i = 0; i < argc; i++)
        if (i != at)
            rest[n++] = argv[i];
    rest[n] = NULL;
    if (sub->init != NULL)
        sub->init(a);
    for (int i = 1; sub->tail != NULL && i < n; i++)
        if (strcmp(rest[i], "--") == 0)
        {
            sub->tail(a, n - i - 1, rest + i + 1);
            rest[n = i] = NULL;
        }
    if (cli_begin(&sub->spec, n, rest, &cfg, a,
                  sub->spec.npos > 0 ? (const char **) ((char *) a + sub->pos_offset) : NULL,
                  &err, &rc))
        rc = sub->run(&cfg, a, &err);
    if (sub->done != NULL)
        sub->done(a);
    cfg_wipe(&cfg);
    free(a);
    free(rest);
    return rc;
}
