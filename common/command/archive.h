/*
 * archive.h — archive one WAL-related file into the repository
 * (the work behind archive_command; the archive module and parallel push
 * call archive_push_file with a repository they keep open).
 */
#ifndef WS_ARCHIVE_H
#define WS_ARCHIVE_H

#include <stdbool.h>
#include <stdint.h>
#include "cfg.h"
#include "pgcontrol.h"
#include "repo.h"

struct archive_stats
{
    uint64_t    bytes_in;           /* plaintext */
    uint64_t    bytes_out;          /* stored object size */
    double      seconds;
    bool        already_archived;   /* identical object was already there */
    uint64_t    xxh64;              /* XXH64 of the plaintext stored (or found identical) */
    bool        from_spool;         /* archive_push: answered from a parallel push's record */
    bool        dropped;            /* archive_push: dropped by archive_queue_max */
    uint32_t    ahead;              /* archive_push: next ready files pushed and recorded */
    uint64_t    ahead_bytes_in;
    uint64_t    ahead_bytes_out;
};

/* Key prefix of the markers of WAL dropped by archive_queue_max (docs/walship-archive.md). */
#define ARCHIVE_DROPPED_PREFIX "dropped/"

/*
 * Archive `path` under WAL file name `name` (PostgreSQL's %p and %f).
 * Succeeds only once the object is durably in the repository, or when an
 * object with identical content already is.  An existing object with other
 * content is WS_EEXISTS_DIFFERENT.  Thread-safe for distinct names.
 */
int         archive_push_file(const struct cfg *cfg, struct repo *repo,
                              const struct pg_control *pgc, const char *path, const char *name,
                              struct archive_stats *stats, struct ws_err *err);

/* Open the repository for cfg->pgdata's cluster and archive one file. */
int         archive_push(const struct cfg *cfg, const char *path, const char *name,
                         struct archive_stats *stats, struct ws_err *err);

#endif
