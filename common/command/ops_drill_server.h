/*
 * ops_drill_server.h — the throwaway PostgreSQL server of `walship drill`:
 * find the binaries, start postgres on a recovered data directory with
 * settings that keep it private, wait for recovery, stop it, and remove a
 * directory tree.  Used by ops_drill.c only.
 *
 * The server is a child process started directly (no pg_ctl), so its death
 * is seen at once (waitpid) and it is stopped by its pid; it runs in its
 * own process group, so a Ctrl-C reaches walship, which stops the server in
 * order, and it gets SIGQUIT should walship die without stopping it
 * (PR_SET_PDEATHSIG).
 */
#ifndef WS_OPS_DRILL_SERVER_H
#define WS_OPS_DRILL_SERVER_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <libpq-fe.h>

#include "cfg.h"
#include "err.h"

/* The port only names the socket file: there is no TCP listener. */
#define OPS_DRILL_PORT 5432

struct ops_drill_server
{
    char        bindir[PATH_MAX];
    char        datadir[PATH_MAX];
    char        sockdir[PATH_MAX];      /* the private directory itself */
    char        logfile[PATH_MAX];
    pid_t       pid;                    /* 0: not started or reaped */
    int         status;                 /* waitpid status once reaped */
    char        user[256];              /* the role we connected as */
};

/*
 * The bin directory holding postgres of major version `major`: cfg's
 * drill_pg_bindir if set (WS_ECONFIG when it has no postgres of that
 * version), else the first of /usr/lib/postgresql/<major>/bin,
 * /usr/pgsql-<major>/bin and the directories of PATH whose postgres is that
 * version (WS_ECONFIG naming them all when none is).
 */
int         ops_drill_find_bindir(const struct cfg *cfg, int major, char *out, size_t len,
                                  struct ws_err *err);

/*
 * Write pg_hba.conf (local trust) and pg_ident.conf into s->sockdir, an
 * empty postgresql.conf into the data directory if it has none, and start
 * postgres with the drill's settings (docs/walship.md), its output to
 * s->logfile.
 */
int         ops_drill_server_start(struct ops_drill_server *s, struct ws_err *err);

/*
 * Wait until recovery is over (pause: until it paused at the target, else
 * until the server was promoted) and return a connection to dbname as
 * user (NULL/"": the OS user, else postgres), read-only, in *conn.  The
 * server dying is WS_ESERVER (its exit status named), the deadline
 * WS_ETIMEOUT, a stop signal WS_EINTERRUPTED.
 */
int         ops_drill_server_wait(struct ops_drill_server *s, bool pause, uint64_t timeout_s,
                                  const char *dbname, const char *user, PGconn **conn,
                                  struct ws_err *err);

bool        ops_drill_server_running(struct ops_drill_server *s);

/*
 * Stop the server (fast shutdown, then immediate after 30 s, then SIGKILL)
 * and reap it.  0, or -1 if it could not be made to exit.
 */
int         ops_drill_server_stop(struct ops_drill_server *s);

/* The last lines of the server's log, to stderr, each prefixed "server log: ". */
void        ops_drill_server_log_tail(const struct ops_drill_server *s, int lines);

/* rm -rf path, never following symbolic links. */
int         ops_drill_rmtree(const char *path, struct ws_err *err);

#endif
