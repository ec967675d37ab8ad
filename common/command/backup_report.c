/*
 * backup_report.c — the line walship-basebackup logs when a backup is
 * complete: what was stored, how, and which WAL makes it consistent.
 */
#include "backup.h"
#include "log.h"
#include "progress.h"

#include <stdio.h>

void
backup_log_summary(const struct backup_info *info)
{
    char        size[32], stored[32], lsn1[32], lsn2[32];
    double      secs = (info->wal_time_us - info->start_time_us) / 1e6;

    progress_bytes(info->size, size, sizeof(size));
    progress_bytes(info->stored, stored, sizeof(stored));
    snprintf(lsn1, sizeof(lsn1), "%X/%X", (unsigned) (info->start_lsn >> 32),
             (unsigned) info->start_lsn);
    snprintf(lsn2, sizeof(lsn2), "%X/%X", (unsigned) (info->stop_lsn >> 32),
             (unsigned) info->stop_lsn);
    log_info("backup %s complete: %s stored as %s in %d objects (%s, %s), LSN %s .. %s on timeline %u, WAL %s .. %s archived, %.1f s",
             info->id, size, stored, info->nobjects, info->compression, info->encryption, lsn1,
             lsn2, info->timeline, info->start_wal, info->stop_wal, secs);
}
