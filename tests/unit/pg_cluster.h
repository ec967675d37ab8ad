/*
 * pg_cluster.h — throwaway PostgreSQL 15 clusters for the unit tests
 * (test_pg.c, test_backup.c).
 *
 * Each test that needs a server makes its own cluster (Criterion forks per
 * test and runs them in parallel): initdb as the unprivileged user pgtest
 * (created when running as root), unix socket only in the cluster's
 * temporary directory, started with pg_ctl -w; the suite's .fini calls
 * cluster_fini().  The runner initdb's one template (a PRE_ALL hook) that
 * each test copies.  Without PostgreSQL 15's binaries cluster_start()
 * returns 1 with the reason (START_OR_SKIP skips the test).
 *
 * Header-only, static: include it in one test file per executable.
 */
#ifndef WS_TEST_PG_CLUSTER_H
#define WS_TEST_PG_CLUSTER_H

#include <criterion/criterion.h>
#include <criterion/hooks.h>

#include <errno.h>
#include <libpq-fe.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PG_BIN "/usr/lib/postgresql/15/bin"

/* ---- throwaway clusters --------------------------------------------------- */

/*
 * initdb is the slow part (0.7 s idle, 4 s on a loaded machine), so the
 * runner process initdb's one template before the tests (PRE_ALL hook) and
 * each test copies it; a test that needs other initdb options runs its own.
 * The path travels to the test processes in this environment variable.
 */
#define TEMPLATE_ENV "WS_TEST_PG_TEMPLATE"

struct cluster
{
    char        dir[64];
    char        user[32];       /* "" when not root: run directly */
    char        conninfo[128];
    bool        started;
};

static struct cluster cl;      /* one per test process */
static char template_dir[64];  /* runner process only */

static int
run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int
run(const char *fmt, ...)
{
    char        cmd[2048];
    va_list     ap;

    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    return system(cmd);
}

/*
 * Who runs PostgreSQL: "" (ourselves) unless root, then pgtest, created if
 * missing.  Returns NULL with *why when impossible.
 */
static const char *
pg_user(const char **why)
{
    if (access(PG_BIN "/initdb", X_OK) != 0 || access(PG_BIN "/pg_ctl", X_OK) != 0)
    {
        *why = PG_BIN "/initdb or pg_ctl not installed";
        return NULL;
    }
    if (geteuid() != 0)
        return "";
    /* initdb, pg_ctl and postgres refuse root */
    if (getpwnam("pgtest") == NULL)
        run("useradd --system --user-group --no-create-home --shell /usr/sbin/nologin "
            "pgtest >/dev/null 2>&1");
    if (getpwnam("pgtest") == NULL)
    {
        *why = "running as root and user pgtest could not be created";
        return NULL;
    }
    return "pgtest";
}

/* Run a PostgreSQL binary as user (or directly), cwd = dir, output to dir/log. */
static int
run_pg_in(const char *dir, const char *user, const char *args, const char *log)
{
    if (user[0] != '\0')
        return run("cd '%s' && runuser -u %s -- %s >>'%s/%s' 2>&1", dir, user, args, dir, log);
    return run("cd '%s' && %s >>'%s/%s' 2>&1", dir, args, dir, log);
}

/* mkdtemp + chown to user; 0 or -1 */
static int
make_dir(char *dir, const char *user)
{
    struct passwd *pw;

    if (mkdtemp(dir) == NULL)
        return -1;
    if (user[0] == '\0')
        return 0;
    if ((pw = getpwnam(user)) == NULL || chown(dir, pw->pw_uid, pw->pw_gid) != 0)
        return -1;
    return 0;
}

static int
initdb_at(const char *dir, const char *user, const char *extra)
{
    char        args[512];

    snprintf(args, sizeof(args), PG_BIN "/initdb -D '%s/data' -U postgres --auth=trust "
             "--no-sync -E UTF8 --locale=C %s", dir, extra);
    return run_pg_in(dir, user, args, "initdb.log");
}

ReportHook(PRE_ALL)(struct criterion_test_set *set)
{
    const char *why;
    const char *user = pg_user(&why);

    (void) set;
    unsetenv(TEMPLATE_ENV);
    if (user == NULL)
        return;
    strcpy(template_dir, "/tmp/ws_pg_tmpl.XXXXXX");
    if (make_dir(template_dir, user) == 0 && initdb_at(template_dir, user, "") == 0)
        setenv(TEMPLATE_ENV, template_dir, 1);
}

ReportHook(POST_ALL)(struct criterion_global_stats *stats)
{
    (void) stats;
    if (template_dir[0] != '\0' && getenv("WS_KEEP_TMP") == NULL)
        run("rm -rf '%s'", template_dir);
}

__attribute__((unused)) static int
run_pg(const char *args, const char *log)
{
    return run_pg_in(cl.dir, cl.user, args, log);
}

/*
 * A cluster of our own: a copy of the template (or initdb with
 * extra_initdb), extra_conf appended to postgresql.conf, started.  Returns
 * 0, or 1 with *why when the environment cannot (skip).
 */
static int
cluster_start(const char *extra_initdb, const char *extra_conf, const char **why)
{
    const char *user = pg_user(why);
    const char *tmpl = getenv(TEMPLATE_ENV);
    char        args[1024];
    FILE       *f;

    if (user == NULL)
        return 1;
    snprintf(cl.user, sizeof(cl.user), "%s", user);
    strcpy(cl.dir, "/tmp/ws_pg.XXXXXX");
    cr_assert_eq(make_dir(cl.dir, user), 0, "mkdtemp/chown: %s", strerror(errno));
    if (extra_initdb[0] == '\0' && tmpl != NULL)
        cr_assert_eq(run("cp -a '%s/data' '%s/data'", tmpl, cl.dir), 0,
                     "copying the template cluster %s failed", tmpl);
    else
        cr_assert_eq(initdb_at(cl.dir, user, extra_initdb), 0, "initdb failed, see %s/initdb.log",
                     cl.dir);

    snprintf(args, sizeof(args), "%s/data/postgresql.conf", cl.dir);
    f = fopen(args, "a");
    cr_assert_not_null(f, "%s: %s", args, strerror(errno));
    fprintf(f, "listen_addresses = ''\n"
            "port = 5432\n"
            "unix_socket_directories = '%s'\n"
            "fsync = off\n"
            "wal_level = replica\n"
            "max_wal_senders = 4\n"
            "%s\n", cl.dir, extra_conf);
    fclose(f);

    snprintf(args, sizeof(args), PG_BIN "/pg_ctl -D '%s/data' -l '%s/server.log' -w -t 30 start",
             cl.dir, cl.dir);
    cr_assert_eq(run_pg(args, "pg_ctl.log"), 0, "pg_ctl start failed, see %s/server.log",
                 cl.dir);
    cl.started = true;
    snprintf(cl.conninfo, sizeof(cl.conninfo), "host=%s user=postgres", cl.dir);
    return 0;
}

static void
cluster_fini(void)
{
    char        args[256];

    if (cl.dir[0] == '\0')
        return;
    if (cl.started)
    {
        snprintf(args, sizeof(args), PG_BIN "/pg_ctl -D '%s/data' -w -m immediate stop",
                 cl.dir);
        run_pg(args, "pg_ctl.log");
    }
    if (getenv("WS_KEEP_TMP") == NULL)
        run("rm -rf '%s'", cl.dir);
}

#define START_OR_SKIP(initdb, conf) \
    do { \
        const char *why_ = NULL; \
        if (cluster_start((initdb), (conf), &why_) != 0) \
            cr_skip_test("%s", why_); \
    } while (0)

/* Plain SQL on database postgres; returns the first value of the first row
 * (static buffer) or "". */
__attribute__((unused)) static const char *
sql(const char *user, const char *query)
{
    static char value[1024];
    char        ci[256];
    PGconn     *conn;
    PGresult   *r;

    snprintf(ci, sizeof(ci), "host=%s user=%s dbname=postgres", cl.dir, user);
    conn = PQconnectdb(ci);
    cr_assert_eq(PQstatus(conn), CONNECTION_OK, "connect: %s", PQerrorMessage(conn));
    r = PQexec(conn, query);
    cr_assert(PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK,
              "%s: %s", query, PQerrorMessage(conn));
    value[0] = '\0';
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0)
        snprintf(value, sizeof(value), "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    PQfinish(conn);
    return value;
}

#endif
