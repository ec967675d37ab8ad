/*
 * backup_choose.h — the choice of the backup a recovery starts from.
 */
#ifndef WS_BACKUP_CHOOSE_H
#define WS_BACKUP_CHOOSE_H

#include <stdint.h>

#include "backup_info.h"
#include "err.h"
#include "repo.h"

/*
 * Which timeline recovery will follow, and which backups can get there.
 * timeline is "latest" (or NULL), "current" or a number.  For "latest" the
 * repository is probed for history files upward from the highest timeline of
 * any complete backup, as PostgreSQL does.  A backup on the target timeline
 * qualifies; one on an ancestor timeline only if its stop LSN is not past
 * the point where the target's history branched off that timeline.  Marks
 * the others off_lineage; *target_tli gets the timeline (0 for "current").
 */
int         backup_mark_lineage(struct repo *repo, struct backup_info *list, int n,
                                const char *timeline, uint32_t *target_tli, struct ws_err *err);

/* What recovery aims for, as far as the choice of a backup is concerned. */
enum backup_target_kind
{
    BACKUP_TARGET_END = 0,          /* end of the archive */
    BACKUP_TARGET_IMMEDIATE,
    BACKUP_TARGET_TIME,
    BACKUP_TARGET_LSN,
    BACKUP_TARGET_XID,
    BACKUP_TARGET_NAME
};

struct backup_target
{
    enum backup_target_kind kind;
    int64_t     time_us;            /* BACKUP_TARGET_TIME */
    uint64_t    lsn;                /* BACKUP_TARGET_LSN */
};

/*
 * Choose among list (oldest first, as catalog_backups returns it).  With id
 * set, that backup (WS_ENOTFOUND if unknown, WS_EINPUT if incomplete, off
 * the target timeline's lineage, or if it cannot reach a time/LSN target).
 * Backups marked off_lineage are never chosen automatically.  Otherwise the
 * newest complete backup whose consistency point (stop time / stop LSN) is
 * not after the target;
 * for the other target kinds the newest complete backup.  A target before
 * every backup fails with WS_EINPUT naming the earliest recoverable time
 * or LSN; no complete backup at all is WS_ENOTFOUND.
 * Returns the index into list, or -1.
 */
int         backup_choose(const struct backup_info *list, int n, const char *id,
                          const struct backup_target *t, struct ws_err *err);

#endif
