/*
 * cli.c — the flag-table command line of the walship executables.  See cli.h.
 *
 * cfg_load takes the configuration's own arguments first (--config, --key,
 * the table's CLI_T_CFG aliases); what it leaves is matched here against
 * the table, in order, with the forms pg_basebackup users expect.
 */
#include "cli.h"
#include "exitcode.h"
#include "log.h"
#include "version.h"

#include <stdlib.h>
#include <string.h>

#define HELP_COLUMN 28          /* where help text starts in the option list */

/* The long and short spelling of row o (CLI_T_CFG: its key's alias). */
static void
spelling(const struct cli_option *o, const char **name, char *short_name)
{
    *name = o->name;
    *short_name = o->short_name;
    if (o->type == CLI_T_CFG)
    {
        const struct cfg_option *k = cfg_option_find(o->cfg_key);

        *name = k == NULL ? o->cfg_key : k->alias != NULL ? k->alias : k->name;
        *short_name = k == NULL ? 0 : k->alias_short;
    }
}

/*
 * Match rest[*i] against a flag called --name or -s (s may be 0).  Returns
 * 1 if matched, with *value pointing at its value (NULL for a switch) and
 * *i past what was consumed; 0 if not; -1 (WS_ECONFIG) if the value is
 * missing, or one was given to a switch.
 */
static int
match(char **rest, int nrest, int *i, const char *name, char s, bool has_value,
      const char **value, struct ws_err *err)
{
    const char *a = rest[*i];
    size_t      nl = strlen(name);

    *value = NULL;
    if (a[0] == '-' && a[1] == '-' && strncmp(a + 2, name, nl) == 0 &&
        (a[2 + nl] == '\0' || a[2 + nl] == '='))
    {
        if (a[2 + nl] == '=')
        {
            if (!has_value)
                return err_set(err, WS_ECONFIG, "option --%s takes no value", name);
            *value = a + 3 + nl;
            return 1;
        }
    }
    else if (s != 0 && a[0] == '-' && a[1] == s)
    {
        if (a[2] != '\0')
        {
            if (!has_value)
                return 0;       /* "-Px": not a bundle of switches */
            *value = a + 2;
            return 1;
        }
    }
    else
        return 0;
    if (!has_value)
        return 1;
    if (*i + 1 >= nrest)
        return err_set(err, WS_ECONFIG, "option %s requires a value", a);
    (*i)++;
    *value = rest[*i];
    return 1;
}

/* Apply the table row matching rest[*i] to args: 1 done, 0 no such flag, -1 error. */
static int
apply(const struct cli_option *options, char **rest, int nrest, int *i, void *args,
      struct ws_err *err)
{
    for (const struct cli_option *o = options; o != NULL && o->type != CLI_T_END; o++)
    {
        void       *dest = (char *) args + o->offset;
        const char *value;
        int         m;

        if (o->type == CLI_T_CFG)
            continue;           /* taken by cfg_load */
        m = match(rest, nrest, i, o->name, o->short_name, o->metavar != NULL, &value, err);
        if (m <= 0)
        {
            if (m < 0)
                return -1;
            continue;
        }
        switch (o->type)
        {
            case CLI_T_BOOL:
                *(bool *) dest = true;
                break;
            case CLI_T_SET:
                *(int *) dest = o->set;
                break;
            case CLI_T_PARSE:
                if (o->parse(dest, value, err) < 0)
                {
                    if (err->code == WS_OK)
                        err->code = WS_ECONFIG;
                    return -1;
                }
                break;
            default:
                break;
        }
        return 1;
    }
    return 0;
}

/* "unrecognized option/argument": never quoting what follows a '=' in something flag-like. */
static int
unrecognized(const char *arg, const char *what, struct ws_err *err)
{
    const char *eq = arg[0] == '-' ? strchr(arg, '=') : NULL;

    if (eq == NULL)
        return err_set(err, WS_ECONFIG, "unrecognized %s \"%s\"", what, arg);
    /* the value may be a misspelled secret: never quote it */
    return err_set(err, WS_ECONFIG, "unrecognized %s \"%.*s\" (value not shown)", what,
                   (int) (eq - arg), arg);
}

int
cli_err_unrecognized(const char *arg, struct ws_err *err)
{
    return unrecognized(arg, arg[0] == '-' ? "option" : "argument", err);
}

enum cli_result
cli_parse(const struct cli_spec *spec, int argc, char **argv, struct cfg *cfg, void *args,
          const char **pos, struct ws_err *err)
{
    const char *aliases[CFG_MAX_KEYS + 1];
    int         naliases = 0;
    char      **rest = NULL;
    int         nrest = 0;
    int         npos = 0;
    bool        print_config = false;
    bool        options_done = false;
    enum cli_result res = CLI_ERROR;

    for (const struct cli_option *o = spec->options; o != NULL && o->type != CLI_T_END; o++)
        if (o->type == CLI_T_CFG && naliases < CFG_MAX_KEYS)
            aliases[naliases++] = o->cfg_key;
    aliases[naliases] = NULL;
    if (cfg_load_aliases(cfg, argc, argv, aliases, &rest, &nrest, err) < 0)
    {
        log_err(err);
        goto out;
    }
    log_set_level(cfg->log_level);

    /* --help and --version win over everything else on the line */
    for (int i = 0; i < nrest && strcmp(rest[i], "--") != 0; i++)
    {
        if (strcmp(rest[i], "--help") == 0 || strcmp(rest[i], "-h") == 0)
        {
            cli_usage(spec, stdout);
            res = CLI_DONE;
            goto out;
        }
        if (strcmp(rest[i], "--version") == 0 || strcmp(rest[i], "-V") == 0)
        {
            printf("%s (walship) %s\n", spec->progname, WALSHIP_VERSION);
            res = CLI_DONE;
            goto out;
        }
    }

    for (int i = 0; i < nrest; i++)
    {
        const char *a = rest[i];
        int         m;

        if (options_done || a[0] != '-' || a[1] == '\0')
        {
            if (spec->npos == 0)
            {
                unrecognized(a, "argument", err);
                goto usage_error;
            }
            if (npos < spec->npos)
                pos[npos] = a;
            npos++;
            continue;
        }
        if (strcmp(a, "--") == 0)
            options_done = true;
        else if (strcmp(a, "--print-config") == 0)
            print_config = true;
        else if ((m = apply(spec->options, rest, nrest, &i, args, err)) < 0)
            goto usage_error;
        else if (m == 0)
        {
            cli_err_unrecognized(a, err);
            goto usage_error;
        }
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
    goto out;

usage_error:
    log_err(err);
    if (err->code == WS_ECONFIG)
        log_hint("Try \"%s --help\" for more information.", spec->progname);
out:
    free(rest);
    return res;
}

/* ---- --help ------------------------------------------------------------ */

/* "  -D, --pgdata=DIR          help", continuation lines of help indented alike. */
static void
print_flag(FILE *out, char short_name, const char *name, const char *metavar, const char *help)
{
    int         n;

    if (short_name != 0)
        n = fprintf(out, "  -%c, --%s", short_name, name);
    else
        n = fprintf(out, "      --%s", name);
    if (metavar != NULL)
        n += fprintf(out, "=%s", metavar);
    fprintf(out, "%*s", n < HELP_COLUMN ? HELP_COLUMN - n : 2, "");
    for (const char *p = help; *p != '\0'; p++)
    {
        fputc(*p, out);
        if (*p == '\n')
            fprintf(out, "%*s", HELP_COLUMN, "");
    }
    fputc('\n', out);
}

void
cli_usage(const struct cli_spec *spec, FILE *out)
{
    const char *line = spec->synopsis;
    char        config_help[128];

    fprintf(out, "%s\n\nUsage:\n", spec->summary);
    while (line != NULL)
    {
        const char *nl = strchr(line, '\n');
        int         len = nl != NULL ? (int) (nl - line) : (int) strlen(line);

        fprintf(out, "  %s %.*s\n", spec->progname, len, line);
        line = nl != NULL ? nl + 1 : NULL;
    }
    if (spec->notes != NULL)
        fprintf(out, "\n%s\n", spec->notes);
    fputs("\nOptions:\n", out);
    for (const struct cli_option *o = spec->options; o != NULL && o->type != CLI_T_END; o++)
    {
        const char *name;
        char        short_name;

        spelling(o, &name, &short_name);
        print_flag(out, short_name, name, o->metavar, o->help);
    }
    snprintf(config_help, sizeof(config_help),
             "configuration file (default $WALSHIP_CONFIG, else %s)", CFG_DEFAULT_FILE);
    print_flag(out, 0, "config", "FILE", config_help);
    print_flag(out, 0, "print-config", NULL,
               "print the effective configuration (secrets masked) and exit");
    print_flag(out, 'h', "help", NULL, "show this help and exit");
    print_flag(out, 'V', "version", NULL, "show the version and exit");
    fputc('\n', out);
    exitcode_usage(out, spec->exits, spec->exit_signals);
    fputs("\nConfiguration keys (also WALSHIP_<KEY> and --key=value):\n", out);
    cfg_print_help(out);
}

bool
cli_begin(const struct cli_spec *spec, int argc, char **argv, struct cfg *cfg, void *args,
          const char **pos, struct ws_err *err, int *exit_status)
{
    log_init(argv[0], LOG_LEVEL_INFO);
    switch (cli_parse(spec, argc, argv, cfg, args, pos, err))
    {
        case CLI_RUN:
            return true;
        case CLI_DONE:
            *exit_status = 0;
            return false;
        case CLI_ERROR:
            break;
    }
    *exit_status = exitcode_for(spec->exits, err->code);
    return false;
}

int
cli_fail(enum ws_program prog, const struct ws_err *err)
{
    log_err(err);
    return exitcode_for(prog, err->code);
}
