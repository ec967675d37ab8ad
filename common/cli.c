/*
 * cli.c — the shared command line of the WAL executables.  See cli.h.
 */
#include "cli.h"
#include "log.h"
#include "version.h"

#include <errno.h>
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
            cli_err_unrecognized(rest[i], err);
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

enum cli_result
cli_parse_options(const struct cli_spec *spec, int argc, char **argv, struct cfg *cfg,
                  char ***rest, int *nrest, bool *print_config, struct ws_err *err)
{
    char      **r = NULL;
    int         n = 0;
    int         kept = 0;

    *rest = NULL;
    *nrest = 0;
    *print_config = false;
    if (cfg_load(cfg, argc, argv, &r, &n, err) < 0)
    {
        log_err(err);
        free(r);
        return CLI_ERROR;
    }
    log_set_level(cfg->log_level);
    for (int i = 0; i < n; i++)
    {
        if (strcmp(r[i], "--help") == 0 || strcmp(r[i], "-h") == 0)
        {
            spec->usage(stdout);
            free(r);
            return CLI_DONE;
        }
        if (strcmp(r[i], "--version") == 0 || strcmp(r[i], "-V") == 0)
        {
            printf("%s (walship) %s\n", spec->progname, WALSHIP_VERSION);
            free(r);
            return CLI_DONE;
        }
        if (strcmp(r[i], "--print-config") == 0)
            *print_config = true;
        else
            r[kept++] = r[i];
    }
    *rest = r;
    *nrest = kept;
    return CLI_RUN;
}

int
cli_flag(char **rest, int nrest, int *i, const char *name, char shortname, bool has_value,
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
                return err_set(err, WS_ECONFIG, "option \"--%s\" takes no value", name);
            *value = a + 3 + nl;
            return 1;
        }
    }
    else if (shortname != 0 && a[0] == '-' && a[1] == shortname)
    {
        if (a[2] != '\0')
        {
            if (!has_value)
                return 0;
            *value = a + 2;
            return 1;
        }
    }
    else
        return 0;
    if (!has_value)
        return 1;
    if (*i + 1 >= nrest)
        return err_set(err, WS_ECONFIG, "option \"%s\" needs a value", a);
    (*i)++;
    *value = rest[*i];
    return 1;
}

int
cli_flag_int(const char *name, const char *value, long min, long max, int *out,
             struct ws_err *err)
{
    char       *end;
    long        v;

    errno = 0;
    v = strtol(value, &end, 10);
    if (end == value || *end != '\0' || errno != 0 || v < min || v > max)
        return err_set(err, WS_ECONFIG, "invalid --%s \"%s\": give %ld..%ld", name, value, min, max);
    *out = (int) v;
    return 0;
}

int
cli_err_unrecognized(const char *arg, struct ws_err *err)
{
    const char *eq = arg[0] == '-' ? strchr(arg, '=') : NULL;

    if (eq == NULL)
        return err_set(err, WS_ECONFIG, "unrecognized %s \"%s\"",
                       arg[0] == '-' ? "option" : "argument", arg);
    /* the value may be a misspelled secret: never quote it */
    return err_set(err, WS_ECONFIG, "unrecognized option \"%.*s\" (value not shown)",
                   (int) (eq - arg), arg);
}
