/*
 * ops_dump.h — logical dumps through the repository's pipeline:
 * `pg_dump -Fc | walship put NAME`, `walship get NAME | pg_restore`, and
 * `walship dump`, which runs pg_dump itself.
 *
 * A put streams its input, in blocks of at most 256 kB, into one named
 * object "dumps/NAME/data" (repo.h: compressed, checksummed and encrypted as
 * every object; a temporary file renamed in place on a directory, one PUT or
 * a multipart upload completed at the end on S3), so memory does not grow
 * with the dump and no local file is written.  Only after the data is
 * committed is the descriptor "dumps/NAME/dump.info" written
 * (dump_info.h).  So an interrupted put — killed, its input cut, a stop
 * signal, pg_dump failing under `walship dump` — leaves nothing under the
 * final name: at most a temporary (a dot file of the directory driver, an
 * incomplete multipart upload on S3) or, killed between the two steps,
 * data without a descriptor, which is never listed nor read, and which a
 * later put of the same name replaces.
 *
 * A get reads the data object through repo_get (every chunk's tag, the
 * sizes and XXH64) and computes SHA-256 as it streams, comparing both with
 * the descriptor at the end.  Bytes written to a pipe before damage is
 * found cannot be taken back: the exit status is what says whether the
 * output is the dump (docs/walship.md).  With an output file the file
 * appears only once every check passed.
 *
 * Errors: WS_EINPUT a bad name or no input at all; WS_EEXISTS the name is
 * taken; WS_ENOTFOUND no such dump; WS_ECORRUPT damage; WS_EINTERRUPTED a
 * stop signal; the repository's and pg_dump's otherwise.
 */
#ifndef WS_OPS_DUMP_H
#define WS_OPS_DUMP_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "catalog.h"
#include "cfg.h"
#include "dump_info.h"
#include "err.h"
#include "repo.h"

struct ops_put_options
{
    const char *name;
    int         fd;                 /* the dump's bytes, read to end of file */
    const char *fd_what;            /* "standard input", for messages */
    uint64_t    system_identifier;  /* of the dumped cluster, 0 = not known */
    const char *database;           /* the dumped database, NULL = not known */
    /* Called at end of input, before the data is committed: -1 (err set) aborts. */
    int         (*before_commit) (void *arg, struct ws_err *err);
    void       *arg;
    /* Set (by a signal handler) to stop: the put aborts with WS_EINTERRUPTED. */
    const volatile sig_atomic_t *stop;
};

/* Store a dump in the repository configured in cfg; out (may be NULL): its descriptor. */
int         ops_dump_put(const struct cfg *cfg, const struct ops_put_options *o,
                         struct dump_info *out, struct ws_err *err);
/* The same into an open repository. */
int         ops_dump_put_repo(struct repo *repo, const struct cfg *cfg,
                              const struct ops_put_options *o, struct dump_info *out,
                              struct ws_err *err);

struct ops_get_options
{
    const char *name;
    int         fd;                 /* where the dump goes when output is NULL */
    const char *output;             /* a file, written atomically; NULL: fd */
};

/* Write a dump of the repository configured in cfg; out (may be NULL): its descriptor. */
int         ops_dump_get(const struct cfg *cfg, const struct ops_get_options *o,
                         struct dump_info *out, struct ws_err *err);

/*
 * Read dump d's data end to end, dropping it, and check it against its
 * descriptor (walship verify).  0 sound; else -1 with WS_ECORRUPT (or the
 * repository's error) and the cause in err.
 */
int         ops_dump_verify(struct repo *repo, const struct dump_info *d, uint64_t *stored,
                            struct ws_err *err);

struct ops_dump_options
{
    const char *name;               /* NULL: "<database>_YYYYmmdd_HHMMSS" (UTC) */
    const char *conninfo;           /* NULL: cfg's pg_conninfo ("" = PG* environment) */
    const char *pg_dump;            /* the program, NULL = "pg_dump" from PATH */
    char      **args;               /* more pg_dump arguments (not -F/-f), or NULL */
    int         nargs;
    const volatile sig_atomic_t *stop;
};

/*
 * Run `pg_dump -Fc` on the database of conninfo and store its output as a
 * dump: pg_dump exiting nonzero (or killed) aborts the put (WS_EIO, or
 * pg_dump's own message on its stderr).  name_out (DUMP_NAME_MAX + 1
 * bytes, may be NULL): the name used.
 */
int         ops_dump_run(const struct cfg *cfg, const struct ops_dump_options *o,
                         char *name_out, struct dump_info *out, struct ws_err *err);

/* The default name for database db at unix time t: "<db>_YYYYmmdd_HHMMSS" (UTC). */
void        ops_dump_default_name(const char *db, int64_t t, char *buf, size_t len);

#endif
