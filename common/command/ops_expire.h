/*
 * ops_expire.h — `walship expire`: apply the retention policy (retain_*
 * keys, retention.h) to a repository: remove the backups it does not keep,
 * incomplete backups past their grace period, and the archived WAL no kept
 * backup needs.
 *
 * What it promises (docs/walship.md, "walship expire"):
 *  - interruptible at any instant: a backup is hidden before its objects
 *    go.  First the marker backups/<id>/backup.expiring is stored, then the
 *    descriptor is removed (durably: from then on the backup is incomplete,
 *    never "complete but not restorable"), then its other objects, the
 *    marker last.  A backup with the marker and no descriptor is a leftover
 *    the next run removes at once, whatever the grace period.  WAL goes only
 *    after every expired backup is hidden, and only WAL no kept backup
 *    needs;
 *  - one at a time: the lock object locks/expire (create-if-absent, atomic
 *    on S3 and on a filesystem) names its owner and is refreshed while the
 *    run works; a lock not refreshed for OPS_EXPIRE_LOCK_STALE_S is taken
 *    over.  A second run meanwhile fails with WS_ETRANSIENT;
 *  - a backup being taken is not an abandoned one: an incomplete backup's
 *    age is measured from its last sign of life (the newest of its objects'
 *    modification times and the start time in its backup.started claim),
 *    and no WAL is removed while one that may still run (or one whose
 *    descriptor is damaged) started before the oldest WAL the plan keeps;
 *    nor when the plan cannot say what a kept backup needs;
 *  - --dry-run prints exactly the lines a real run would, with "would
 *    remove" for "removed", and changes nothing (and takes no lock).
 * Ages are measured on walship's clock (clock_wall_us).
 */
#ifndef WS_OPS_EXPIRE_H
#define WS_OPS_EXPIRE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "backup_info.h"
#include "cfg.h"
#include "err.h"
#include "retention.h"

#define OPS_EXPIRE_LOCK_KEY "locks/expire"
#define OPS_EXPIRE_LOCK_STALE_S 900         /* a lock not refreshed this long is taken over */
#define OPS_EXPIRE_LOCK_REFRESH_S 60
#define OPS_EXPIRE_MARKER_NAME "backup.expiring"

/* the most monthly and yearly backups one run moves to their storage classes */
#define OPS_EXPIRE_MOVES_MAX 256

struct ops_expire_options
{
    bool        dry_run;
    bool        json;               /* one JSON document instead of lines */
};

struct ops_expire_result
{
    int         kept;               /* complete backups kept */
    int         removed;            /* backups removed (complete or not) */
    int         removed_incomplete; /* of them, incomplete */
    int         damaged;            /* backups kept because their descriptor is damaged */
    uint64_t    wal_segments;       /* WAL segments removed */
    uint64_t    moved;              /* objects moved to s3_storage_class_monthly/yearly */
    int         dumps_removed;      /* logical dumps removed (retain_dumps) */
    uint64_t    wal_files;          /* .backup and .partial files removed */
    uint64_t    objects;            /* objects removed in all */
};

/*
 * Expire the repository configured in cfg, reporting to out.  Returns 0
 * when the plan ran (res says what went; res->damaged > 0 means a damaged
 * descriptor was left alone), -1 (err set) otherwise: no policy or one that
 * keeps nothing (WS_ECONFIG), no complete backup (WS_ENOTFOUND), the lock
 * held by another run (WS_ETRANSIENT), a storage failure.
 */
int         ops_expire_run(const struct cfg *cfg, const struct ops_expire_options *o, FILE *out,
                           struct ops_expire_result *res, struct ws_err *err);

/* The policy in cfg's retain_* keys. */
void        ops_expire_policy(const struct cfg *cfg, struct retention_policy *p);

/*
 * The retention item of backup b (seg_size: the repository's): complete
 * ones by their start time, ready at their stop time, needing start_wal ..
 * stop_wal; incomplete ones active at activity_us.  Used by list as well.
 */
void        ops_expire_item(const struct backup_info *b, uint32_t seg_size, int64_t activity_us,
                            bool hidden, struct retention_item *it);

#endif
