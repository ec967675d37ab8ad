/*
 * fuzz_cfg.c — the configuration file parser (cfg.c) on arbitrary files.
 *
 * Each input is written to <scratch>/walship.conf and loaded with
 * cfg_load(--config=that file), with no WALSHIP_* variable set; a
 * configuration that loads is printed (cfg_print, to /dev/null) and wiped.
 * cfg_validate() is not called: it reads the passphrase file the input
 * names, which could be any file (or a FIFO).
 *
 * Property: a failure is WS_ECONFIG (or WS_EINTERNAL for memory), never a
 * crash, leak or undefined behaviour; a file that loads, loads the same
 * again.
 */
#include "fuzz.h"

#include "cfg.h"
#include "log.h"

extern char **environ;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool init;
    static char path[128];
    static char arg[160];
    static FILE *devnull;
    static struct cfg cfg;
    static struct cfg again;
    char       *argv[3];
    char      **rest = NULL;
    int         nrest = 0;
    struct ws_err err = WS_ERR_INIT;
    FILE       *f;

    if (!init)
    {
        /* unset every WALSHIP_* variable, restarting after each removal */
        for (char **e = environ; e != NULL && *e != NULL;)
        {
            if (strncmp(*e, "WALSHIP_", 8) == 0)
            {
                char        name[256];
                const char *eq = strchr(*e, '=');
                size_t      n = eq ? (size_t) (eq - *e) : strlen(*e);

                snprintf(name, sizeof(name), "%.*s", (int) n, *e);
                unsetenv(name);
                e = environ;
            }
            else
                e++;
        }
        log_set_level(LOG_LEVEL_ERROR);
        snprintf(path, sizeof(path), "%s/walship.conf", fuzz_scratch());
        snprintf(arg, sizeof(arg), "--config=%s", path);
        devnull = fopen("/dev/null", "w");
        if (devnull == NULL)
            fuzz_fail("/dev/null: %s", strerror(errno));
        init = true;
    }
    f = fopen(path, "w");
    if (f == NULL || (size > 0 && fwrite(data, 1, size, f) != size) || fclose(f) != 0)
        fuzz_fail("could not write \"%s\"", path);
    argv[0] = "walship-fuzz";
    argv[1] = arg;
    argv[2] = NULL;
    if (cfg_load(&cfg, 2, argv, &rest, &nrest, &err) == 0)
    {
        char      **rest2 = NULL;
        int         nrest2 = 0;

        if (nrest != 0)
            fuzz_fail("%d arguments left over", nrest);
        cfg_print(&cfg, devnull);
        if (cfg_load(&again, 2, argv, &rest2, &nrest2, &err) < 0)
            fuzz_fail("loads once, then fails: %s", err.msg);
        if (memcmp(&cfg, &again, sizeof(cfg)) != 0)
            fuzz_fail("two loads of the same file differ");
        cfg_wipe(&again);
        free(rest2);
        cfg_wipe(&cfg);
    }
    else if (err.code != WS_ECONFIG && err.code != WS_EINTERNAL)
        fuzz_fail("error code %d: %s", (int) err.code, err.msg);
    free(rest);
    return 0;
}
