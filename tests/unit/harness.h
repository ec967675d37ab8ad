/*
 * harness.h — fixtures shared by the unit tests: a clean WALSHIP_*
 * environment, a scratch directory with an empty configuration file, and
 * its removal.  Header-only: each test executable is one .c file.
 */
#ifndef WS_TEST_HARNESS_H
#define WS_TEST_HARNESS_H

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

extern char **environ;

/* Unset every environment variable whose name starts with prefix. */
static inline void
harness_unset_prefix(const char *prefix)
{
    for (;;)
    {
        char       *name = NULL;

        for (char **e = environ; *e != NULL; e++)
            if (strncmp(*e, prefix, strlen(prefix)) == 0)
            {
                name = strndup(*e, strcspn(*e, "="));
                break;
            }
        if (name == NULL)
            break;
        unsetenv(name);
        free(name);
    }
}

/* Unset every WALSHIP_* variable: nothing from the caller may change a test. */
static inline void
harness_clear_walship_env(void)
{
    harness_unset_prefix("WALSHIP_");
}

/*
 * Create /tmp/ws_test_<name>_XXXXXX into scratch (at least 64 bytes) with an
 * empty configuration file that WALSHIP_CONFIG points to.
 */
static inline void
harness_scratch(char *scratch, size_t len, const char *name)
{
    char        conf[PATH_MAX];
    int         fd;

    snprintf(scratch, len, "/tmp/ws_test_%s_XXXXXX", name);
    cr_assert_not_null(mkdtemp(scratch), "mkdtemp: %s", strerror(errno));
    snprintf(conf, sizeof(conf), "%s/empty.conf", scratch);
    fd = open(conf, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    cr_assert(fd >= 0);
    close(fd);
    setenv("WALSHIP_CONFIG", conf, 1);
}

static inline int
harness_rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void) sb;
    (void) flag;
    (void) ftw;
    return remove(path);
}

/* Remove the scratch tree (if any) and forget it. */
static inline void
harness_rm_scratch(char *scratch)
{
    if (scratch[0] != '\0')
        nftw(scratch, harness_rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    scratch[0] = '\0';
}

#endif
