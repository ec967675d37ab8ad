/*
 * archive_session.h — archiving from a process that lives long: the
 * archive module (archive/module.c) inside PostgreSQL's archiver.
 *
 * walship-archive pays for its configuration, pg_control and repository
 * descriptor (and, when encrypted, the master key) on every segment.  A
 * session pays once: it loads the configuration as the executables do,
 * reads the cluster's pg_control, opens the repository bound to that
 * cluster (repo_open checks the system identifier, or writes the
 * descriptor) and keeps all three for the following calls, each of which
 * is archive_push_file with the same guarantees as walship-archive.
 *
 * It never keeps state that a failure could have made wrong: after any
 * failed call everything is dropped and the next call starts again from the
 * configuration file (a repository that went away and came back is opened
 * and checked afresh).  It also starts again when the configuration file
 * named, or that file's identity (device, inode, size, mtime), changed.
 *
 * Nothing here calls exit(), installs signal handlers or keeps memory per
 * call: every call frees what it allocated.  One session is one thread's.
 */
#ifndef WS_ARCHIVE_SESSION_H
#define WS_ARCHIVE_SESSION_H

#include "archive.h"
#include "cfg.h"

struct archive_session;

/* A new, empty session (nothing loaded yet); NULL when out of memory. */
struct archive_session *archive_session_new(void);

/* Close the repository and wipe the configuration's secrets; NULL is fine. */
void        archive_session_free(struct archive_session *s);

/*
 * Archive `path` under the WAL file name `name` (PostgreSQL's %p and %f)
 * for the cluster in `pgdata` (the server's data directory: it overrides the
 * configuration's pgdata, so a session can only ever archive the cluster it
 * runs in).  `config` is the walship configuration file, or NULL / "" for
 * $WALSHIP_CONFIG, else /etc/walship.conf (cfg.h).  Errors are those of
 * cfg_load, cfg_validate, pgcontrol_read, repo_open and archive_push_file.
 */
int         archive_session_push(struct archive_session *s, const char *config,
                                 const char *pgdata, const char *path, const char *name,
                                 struct archive_stats *stats, struct ws_err *err);

/* The configuration of the last successful call (for messages), or NULL. */
const struct cfg *archive_session_cfg(const struct archive_session *s);

/* Repository opens so far (tests and the documentation's claim: once, not per call). */
unsigned    archive_session_opens(const struct archive_session *s);

#endif
