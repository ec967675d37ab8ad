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
};

/*
 * Fetch WAL file `name` into `path` (PostgreSQL's %f and %p): verified,
 * decrypted, decompressed, written to a temporary file in path's directory,
 * fsynced and renamed, so path never holds a partial file.  A file that is
 * not in the repository is WS_ENOTFOUND.  Transient and I/O failures of a
 * driver that does not retry its own requests (no STORAGE_F_RETRIES: the
 * filesystem) are retried cfg->retry_attempts times from cfg->retry_delay_ms
 * with the backoff of retry.h; with S3 the driver alone retries
 * (s3_max_retries), and stats->attempts is 1.
 */
int         restore_wal_file(const struct cfg *cfg, struct repo *repo, const char *name,
                             const char *path, struct restore_stats *stats, struct ws_err *err);

/* Open the repository, check it belongs to cfg->pgdata's cluster (when that
 * has a pg_control), and restore one file. */
int         restore_wal(const struct cfg *cfg, const char *name, const char *path,
                        struct restore_stats *stats, struct ws_err *err);

/* true if <pgdata>/standby.signal exists. */
bool        restore_is_standby(const char *pgdata);

#endif
