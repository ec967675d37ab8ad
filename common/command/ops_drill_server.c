/*
 * ops_drill_server.c — the drill's PostgreSQL server.  See ops_drill_server.h.
 */
#define _GNU_SOURCE
#include "ops_drill_server.h"
#include "clock.h"
#include "fileutil.h"
#include "log.h"
#include "sigstop.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- binaries ------------------------------------------------------------- */

/* The major version `dir`/postgres --version reports, or -1. */
static int
postgres_major(const char *dir)
{
    char        cmd[PATH_MAX + 64];
    char        line[256] = "";
    char       *p;
    FILE       *f;

    snprintf(cmd, sizeof(cmd), "%s/postgres", dir);
    if (access(cmd, X_OK) != 0 || strchr(dir, '\'') != NULL)
        return -1;
    snprintf(cmd, sizeof(cmd), "'%s/postgres' --version 2>/dev/null", dir);
    f = popen(cmd, "r");
    if (f == NULL)
        return -1;
    if (fgets(line, sizeof(line), f) == NULL)
        line[0] = '\0';
    pclose(f);
    /* "postgres (PostgreSQL) 15.10 (Debian 15.10-1)" */
    p = strstr(line, ") ");
    return p != NULL ? atoi(p + 2) : -1;
}

int
ops_drill_find_bindir(const struct cfg *cfg, int major, char *out, size_t len,
                      struct ws_err *err)
{
    char        tried[2048] = "";
    char        cand[PATH_MAX];
    const char *path;
    int         m;

    if (cfg->drill_pg_bindir[0] != '\0')
    {
        m = postgres_major(cfg->drill_pg_bindir);
        if (m == major)
        {
            snprintf(out, len, "%s", cfg->drill_pg_bindir);
            return 0;
        }
        if (m < 0)
            err_set(err, WS_ECONFIG, "drill_pg_bindir \"%s\" holds no runnable postgres",
                    cfg->drill_pg_bindir);
        else
            err_set(err, WS_ECONFIG, "drill_pg_bindir \"%s\" holds PostgreSQL %d, the backup is "
                    "of PostgreSQL %d", cfg->drill_pg_bindir, m, major);
        err_hint(err, "Set drill_pg_bindir to the bin directory of PostgreSQL %d.", major);
        return -1;
    }
    snprintf(cand, sizeof(cand), "/usr/lib/postgresql/%d/bin", major);
    if (postgres_major(cand) == major)
        goto found;
    snprintf(cand, sizeof(cand), "/usr/pgsql-%d/bin", major);
    if (postgres_major(cand) == major)
        goto found;
    snprintf(tried, sizeof(tried), "/usr/lib/postgresql/%d/bin, /usr/pgsql-%d/bin", major, major);
    path = getenv("PATH");
    while (path != NULL && *path != '\0')
    {
        size_t      n = strcspn(path, ":");

        if (n > 0 && n < sizeof(cand))
        {
            memcpy(cand, path, n);
            cand[n] = '\0';
            if (postgres_major(cand) == major)
                goto found;
        }
        path += n;
        if (*path == ':')
            path++;
    }
    err_set(err, WS_ECONFIG, "no postgres of PostgreSQL %d found for the drill", major);
    err_detail(err, "Looked in %s and the directories of PATH.", tried);
    err_hint(err, "Install PostgreSQL %d's server, or set drill_pg_bindir.", major);
    return -1;
found:
    snprintf(out, len, "%s", cand);
    return 0;
}

/* ---- starting ------------------------------------------------------------- */

static int
write_small(const char *path, const char *text, struct ws_err *err)
{
    int         fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    int         rc;

    if (fd < 0)
        return err_set_errno(err, WS_EIO, errno, "could not create file \"%s\"", path);
    rc = file_write_all(fd, text, strlen(text), path, err);
    if (close(fd) < 0 && rc == 0)
        rc = err_set_errno(err, WS_EIO, errno, "could not close file \"%s\"", path);
    return rc;
}

#define MAX_ARGS 64

int
ops_drill_server_start(struct ops_drill_server *s, struct ws_err *err)
{
    char        hba[PATH_MAX + 16], ident[PATH_MAX + 16], conf[PATH_MAX + 32], prog[PATH_MAX + 16];
    char        set[16][PATH_MAX + 64];
    char       *argv[MAX_ARGS];
    int         argc = 0, nset = 0;
    int         logfd;
    pid_t       pid;

    snprintf(hba, sizeof(hba), "%s/pg_hba.conf", s->sockdir);
    snprintf(ident, sizeof(ident), "%s/pg_ident.conf", s->sockdir);
    snprintf(prog, sizeof(prog), "%s/postgres", s->bindir);
    /*
     * The socket directory is ours alone (mode 0700), so trust on it lets
     * only us in, whatever the backup's pg_hba.conf asks of its clients.
     */
    if (write_small(hba, "# walship drill: only the private socket, only us\n"
                    "local all all trust\n", err) < 0 ||
        write_small(ident, "", err) < 0)
        return -1;
    snprintf(conf, sizeof(conf), "%s/postgresql.conf", s->datadir);
    if (access(conf, F_OK) != 0)
    {
        /* Debian keeps it in /etc/postgresql: the backup has none */
        log_info("the backup has no postgresql.conf: starting with the defaults");
        if (write_small(conf, "# written by walship drill: the backup had none\n", err) < 0)
            return -1;
    }
    if (strchr(s->sockdir, '"') != NULL)
        return err_set(err, WS_ECONFIG, "the drill directory \"%s\" holds a double quote",
                       s->sockdir);

    /*
     * Settings on the command line override postgresql.conf and
     * postgresql.auto.conf (PostgreSQL docs, "Parameter Interaction via the
     * Shell").  What could reach outside the private directory is turned
     * off: TCP, archiving, replication, the production's external pid
     * file, commands that clean an archive, SSL files.  fsync is off: the
     * cluster is thrown away.
     */
#define SET(...) snprintf(set[nset++], sizeof(set[0]), __VA_ARGS__)
    SET("listen_addresses=");
    SET("unix_socket_directories=\"%s\"", s->sockdir);
    SET("unix_socket_permissions=0700");
    SET("port=%d", OPS_DRILL_PORT);
    SET("hba_file=%s", hba);
    SET("ident_file=%s", ident);
    SET("archive_mode=off");
    SET("hot_standby=on");
    SET("ssl=off");
    SET("logging_collector=off");
    SET("log_destination=stderr");
    /* "" would not do: PostgreSQL then tries to write a file named "" */
    SET("external_pid_file=%s/postmaster.external.pid", s->sockdir);
    SET("archive_cleanup_command=");
    SET("recovery_end_command=");
    SET("primary_conninfo=");
    SET("fsync=off");
#undef SET
    argv[argc++] = prog;
    argv[argc++] = "-D";
    argv[argc++] = s->datadir;
    for (int i = 0; i < nset; i++)
    {
        argv[argc++] = "-c";
        argv[argc++] = set[i];
    }
    argv[argc++] = "-c";
    argv[argc++] = "cluster_name=walship-drill";
    argv[argc++] = "-c";
    argv[argc++] = "restart_after_crash=off";
    argv[argc] = NULL;

    logfd = open(s->logfile, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (logfd < 0)
        return err_set_errno(err, WS_EIO, errno, "could not create file \"%s\"", s->logfile);
    fflush(NULL);
    pid = fork();
    if (pid < 0)
    {
        close(logfd);
        return err_set_errno(err, WS_EINTERNAL, errno, "could not start postgres");
    }
    if (pid == 0)
    {
        /* the child: async-signal-safe calls only (another thread exists) */
        sigset_t    none;
        int         devnull = open("/dev/null", O_RDONLY);

        setpgid(0, 0);
        prctl(PR_SET_PDEATHSIG, SIGQUIT);
        if (getppid() == 1)
            _exit(1);
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        signal(SIGPIPE, SIG_DFL);
        if (devnull >= 0)
            dup2(devnull, 0);
        dup2(logfd, 1);
        dup2(logfd, 2);
        for (int fd = 3; fd < 1024; fd++)
            close(fd);
        execv(prog, argv);
        _exit(127);
    }
    close(logfd);
    s->pid = pid;
    log_info("started postgres (PID %ld) in \"%s\"", (long) pid, s->datadir);
    return 0;
}

/* ---- running -------------------------------------------------------------- */

static bool
reap(struct ops_drill_server *s, bool block)
{
    int         st;
    pid_t       r;

    if (s->pid <= 0)
        return true;
    do
        r = waitpid(s->pid, &st, block ? 0 : WNOHANG);
    while (r < 0 && errno == EINTR);
    if (r == s->pid || (r < 0 && errno == ECHILD))
    {
        s->status = r == s->pid ? st : 0;
        s->pid = 0;
        return true;
    }
    return false;
}

bool
ops_drill_server_running(struct ops_drill_server *s)
{
    return !reap(s, false);
}

static void
describe_exit(int st, char *buf, size_t len)
{
    if (WIFEXITED(st))
        snprintf(buf, len, "exit code %d", WEXITSTATUS(st));
    else if (WIFSIGNALED(st))
        snprintf(buf, len, "signal %d (%s)", WTERMSIG(st), strsignal(WTERMSIG(st)));
    else
        snprintf(buf, len, "status %d", st);
}

static PGconn *
connect_as(const struct ops_drill_server *s, const char *dbname, const char *user,
           uint64_t timeout_s)
{
    char        port[16], opts[128];
    const char *keys[] = {"host", "port", "dbname", "user", "connect_timeout",
        "application_name", "options", NULL};
    const char *vals[8];
    uint64_t    ms = timeout_s * 1000;

    snprintf(port, sizeof(port), "%d", OPS_DRILL_PORT);
    /* read-only: nothing a check or a query does can change the recovered data */
    snprintf(opts, sizeof(opts), "-c default_transaction_read_only=on -c statement_timeout=%llu",
             (unsigned long long) (ms > 2147483647 ? 2147483647 : ms));
    vals[0] = s->sockdir;
    vals[1] = port;
    vals[2] = dbname;
    vals[3] = user;
    vals[4] = "10";
    vals[5] = "walship-drill";
    vals[6] = opts;
    vals[7] = NULL;
    return PQconnectdbParams(keys, vals, 0);
}

/* Connect once the server accepts connections: as user, else the OS user, then postgres. */
static int
connect_server(struct ops_drill_server *s, const char *dbname, const char *user,
               uint64_t timeout_s, PGconn **out, struct ws_err *err)
{
    const char *cands[2];
    int         n = 0;
    char        first[512] = "";
    struct passwd *pw = getpwuid(geteuid());

    if (user != NULL && user[0] != '\0')
        cands[n++] = user;
    else
    {
        if (pw != NULL)
            cands[n++] = pw->pw_name;
        if (pw == NULL || strcmp(pw->pw_name, "postgres") != 0)
            cands[n++] = "postgres";
    }
    for (int i = 0; i < n; i++)
    {
        PGconn     *c = connect_as(s, dbname, cands[i], timeout_s);

        if (PQstatus(c) == CONNECTION_OK)
        {
            snprintf(s->user, sizeof(s->user), "%s", cands[i]);
            *out = c;
            return 0;
        }
        if (first[0] == '\0')
            snprintf(first, sizeof(first), "%s", PQerrorMessage(c));
        PQfinish(c);
    }
    first[strcspn(first, "\n")] = '\0';
    err_set(err, WS_ESERVER, "could not connect to the recovered server as \"%s\": %s",
            cands[0], first);
    err_hint(err, "Set drill_user to a role of the backed-up cluster, drill_dbname to one of "
             "its databases.");
    return -1;
}

int
ops_drill_server_wait(struct ops_drill_server *s, bool pause, uint64_t timeout_s,
                      const char *dbname, const char *user, PGconn **conn, struct ws_err *err)
{
    double      deadline = clock_now_s() + (double) timeout_s;
    double      next_note = clock_now_s() + 30;
    char        port[16];
    const char *keys[] = {"host", "port", "dbname", "connect_timeout", NULL};
    const char *vals[5];
    PGconn     *c = NULL;

    *conn = NULL;
    snprintf(port, sizeof(port), "%d", OPS_DRILL_PORT);
    vals[0] = s->sockdir;
    vals[1] = port;
    vals[2] = dbname;
    vals[3] = "5";
    vals[4] = NULL;
    for (;;)
    {
        if (sigstop_caught() != 0)
        {
            err_set(err, WS_EINTERRUPTED, "interrupted by signal %d during recovery",
                    sigstop_caught());
            goto fail;
        }
        if (!ops_drill_server_running(s))
        {
            char        how[96];

            describe_exit(s->status, how, sizeof(how));
            err_set(err, WS_ESERVER, "the recovered server exited during recovery (%s)", how);
            err_detail(err, "Its log is shown above; recovery needs every WAL file from the "
                       "backup to the target.");
            goto fail;
        }
        if (clock_now_s() > deadline)
        {
            err_set(err, WS_ETIMEOUT, "recovery did not finish within drill_timeout (%llu s)",
                    (unsigned long long) timeout_s);
            err_hint(err, "Raise drill_timeout if it is only slow; the server log shows how far "
                     "replay got.");
            goto fail;
        }
        if (c == NULL && PQpingParams(keys, vals, 0) == PQPING_OK)
        {
            if (connect_server(s, dbname, user, timeout_s, &c, err) < 0)
                goto fail;
        }
        if (c != NULL)
        {
            PGresult   *r = PQexec(c, "SELECT pg_catalog.pg_is_in_recovery(), "
                                   "CASE WHEN pg_catalog.pg_is_in_recovery() "
                                   "THEN pg_catalog.pg_get_wal_replay_pause_state() END, "
                                   "pg_catalog.pg_last_wal_replay_lsn()");

            if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
            {
                bool        in_recovery = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
                bool        paused = strcmp(PQgetvalue(r, 0, 1), "paused") == 0;

                if (!in_recovery || (pause && paused))
                {
                    PQclear(r);
                    *conn = c;
                    return 0;
                }
                if (clock_now_s() > next_note)
                {
                    log_info("recovery in progress, replayed up to %s", PQgetvalue(r, 0, 2));
                    next_note = clock_now_s() + 30;
                }
            }
            else if (PQstatus(c) != CONNECTION_OK)
            {
                PQfinish(c);    /* the server is going away: seen on the next turn */
                c = NULL;
            }
            else
            {
                const char *m = PQresultErrorMessage(r);

                err_set(err, WS_ESERVER, "could not ask the recovered server how recovery "
                        "goes: %.*s", (int) strcspn(m, "\n"), m);
                PQclear(r);
                goto fail;
            }
            PQclear(r);
        }
        clock_sleep_ms(100);
    }
fail:
    PQfinish(c);
    return -1;
}

/*
 * After the postmaster: whatever it left in its process group (a
 * restore_command still running when the startup process exited) would go
 * on writing into the directory about to be removed.  The group is the
 * postmaster's own (setpgid in the child), so this reaches nothing else.
 */
static void
kill_group(pid_t pgid)
{
    if (kill(-pgid, SIGKILL) < 0)
        return;
    for (int t = 0; t < 5000 && kill(-pgid, 0) == 0; t += 50)
        clock_sleep_ms(50);
}

int
ops_drill_server_stop(struct ops_drill_server *s)
{
    static const struct
    {
        int         sig;
        int         wait_ms;
    }           steps[] = {{SIGINT, 30000}, {SIGQUIT, 10000}, {SIGKILL, 10000}};
    pid_t       pgid = s->pid;

    if (pgid <= 0)
        return 0;
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
    {
        if (reap(s, false))
            break;
        kill(s->pid, steps[i].sig);
        for (int t = 0; t < steps[i].wait_ms && s->pid > 0; t += 50)
        {
            if (reap(s, false))
                log_info("stopped the recovered server");
            else
                clock_sleep_ms(50);
        }
        if (s->pid > 0)
            log_warning("the recovered server (PID %ld) did not stop on signal %d",
                        (long) s->pid, steps[i].sig);
    }
    if (s->pid > 0)
        return -1;
    kill_group(pgid);
    return 0;
}

void
ops_drill_server_log_tail(const struct ops_drill_server *s, int lines)
{
    char      **ring = calloc((size_t) lines, sizeof(char *));
    char        line[1024];
    int         n = 0;
    FILE       *f = fopen(s->logfile, "r");

    if (f == NULL || ring == NULL)
    {
        if (f != NULL)
            fclose(f);
        free(ring);
        return;
    }
    while (fgets(line, sizeof(line), f) != NULL)
    {
        free(ring[n % lines]);
        ring[n % lines] = strdup(line);
        n++;
    }
    fclose(f);
    fflush(stderr);
    for (int i = n > lines ? n - lines : 0; i < n; i++)
    {
        char       *l = ring[i % lines];

        if (l != NULL)
            fprintf(stderr, "server log: %s%s", l, strchr(l, '\n') ? "" : "\n");
    }
    for (int i = 0; i < lines; i++)
        free(ring[i]);
    free(ring);
}

/* ---- removal -------------------------------------------------------------- */

static int
rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void) sb;
    (void) ftw;
    if (flag == FTW_DP)
        return rmdir(path) < 0 && errno != ENOENT ? -1 : 0;
    return unlink(path) < 0 && errno != ENOENT ? -1 : 0;
}

int
ops_drill_rmtree(const char *path, struct ws_err *err)
{
    for (int attempt = 0;; attempt++)
    {
        if (access(path, F_OK) != 0 && errno == ENOENT)
            return 0;
        if (nftw(path, rm_one, 32, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) == 0)
            return 0;
        if (attempt == 2)
            return err_set_errno(err, WS_EIO, errno, "could not remove \"%s\"", path);
        clock_sleep_ms(200);    /* a file appeared meanwhile: once more */
    }
}
