/*
 * backup.h — take a base backup straight into the repository
 * (walship-basebackup's engine).
 *
 * One replication connection runs BASE_BACKUP (manifest with CRC32C
 * checksums, no WAL in the archives, WAIT false); each tablespace archive
 * streams through tar_split (parts at member boundaries) -> object writer
 * (compress, encrypt, checksum) -> storage, so neither memory nor local disk
 * grows with the database.  The server's manifest is stored as
 * backups/<id>/backup_manifest.  Then walship waits until every WAL segment
 * from the start to the stop segment is in the repository (progress resets
 * the timeout), and only then writes backups/<id>/backup.info.
 *
 * Failure before the descriptor is written removes the objects this run
 * created; a killed run leaves objects without a descriptor, which listings
 * show as incomplete and which recovery never chooses.
 */
#ifndef WS_BACKUP_H
#define WS_BACKUP_H

#include <stdbool.h>
#include <pthread.h>
#include <stdint.h>

#include "backup_info.h"
#include "cfg.h"
#include "err.h"

/*
 * Interrupting a running backup from another thread (a signal-handling
 * thread): backup_interrupt() makes backup_run() stop at once, remove what
 * it stored, and fail with WS_EINTERRUPTED.  Zero-initialise; shared by
 * the two threads.
 */
struct backup_control
{
    pthread_mutex_t lock;
    int         socket;             /* the replication connection's, -1 if none */
    bool        interrupted;
};

void        backup_control_init(struct backup_control *c);
void        backup_interrupt(struct backup_control *c);

struct backup_options
{
    const char *label;              /* NULL: "walship <id>" */
    bool        fast_checkpoint;
    int         max_rate_kb;        /* 0 = unlimited */
    /* progress (may be NULL): archive bytes so far and the server's estimate */
    void        (*progress) (void *arg, uint64_t done, uint64_t total);
    /* phase messages ("waiting for WAL ...") for a terminal (may be NULL) */
    void        (*status) (void *arg, const char *msg);
    void       *arg;
    struct backup_control *control;  /* may be NULL */
};

/*
 * Take a backup with cfg (pg_conninfo, repo, compression, encryption,
 * backup_part_size, backup_wal_timeout).  On success *out describes the
 * complete backup (release with backup_info_free).
 * Errors: those of pg.h and the storage; WS_EINTERRUPTED after
 * backup_interrupt(); WS_ETIMEOUT when the WAL never
 * reached the archive (message names the missing segment); WS_ECONFIG when
 * archive_mode is off.
 */
int         backup_run(const struct cfg *cfg, const struct backup_options *o,
                       struct backup_info *out, struct ws_err *err);

/* Log the one-line summary of a complete backup (backup_report.c). */
void        backup_log_summary(const struct backup_info *info);

#endif
