/*
 * restore.h — fetch one WAL-related file from the repository
 * (the work behind restore_command; prefetch will call restore_wal_file
 * with a repository it keeps open).
 */
#ifndef WS_RESTORE_H
#define WS_RESTORE_H

#include <stdbool.h>
#include <stdint.h>
#include "cfg.h"
#include "repo.h"

struct restore_stats
{
    uint64_t    bytes_in;           /* stored object size read */
    uint64_t    bytes_out;          /* plaintext written */
    double      seconds;
    int         attempts;
    bool        prefetched;         /* taken from the prefetch spool (no repository access) */
};

/*
 * Fetch WAL file `name` into `path` (PostgreSQL's %f and %p): verified,
 * decrypted, decompressed, written to a temporary file in path's directory
 * and renamed, so path never holds a partial file (not fsynced: PostgreSQL
 * makes a restored file it keeps durable itself, restore.c).  A file that is
 * not in the repository is WS_ENOTFOUND.  Transient and I/O failures of a
 * driver that does not retry its own requests (no STORAGE_F_RETRIES: the
 * filesystem) are retried cfg->retry_attempts times from cfg->retry_delay_ms
 * with the backoff of retry.h; with S3 the driver alone retries
 * (s3_max_retries), and stats->attempts is 1.
 */
int         restore_wal_file(const struct cfg *cfg, struct repo *repo, const char *name,
                             const char *path, struct restore_stats *stats, struct ws_err *err);

/*
 * Open the repository, check it belongs to cfg->pgdata's cluster (when that
 * has a pg_control), and restore one file.  With cfg->restore_prefetch > 0
 * a segment is first looked for in the prefetch spool (restore_spool.h) and,
 * once handed over, the next ones are fetched by a detached background
 * process (restore.c); a history file empties the spool.
 */
int         restore_wal(const struct cfg *cfg, const char *name, const char *path,
                        struct restore_stats *stats, struct ws_err *err);

/* true if <pgdata>/standby.signal exists. */
bool        restore_is_standby(const char *pgdata);

#endif
