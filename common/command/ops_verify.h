/*
 * ops_verify.h — `walship verify`: read every object of a repository end to
 * end through repo_get (header, authentication and decryption,
 * decompression, every chunk's checksum, sizes and the whole-object
 * checksum), compare each backup part with its descriptor (plain size,
 * XXH64), and check that the WAL of each complete backup is archived
 * without a gap from its start segment to the newest segment of its
 * timeline.  A damaged WAL segment counts as missing for continuity.
 *
 * Objects are read by `jobs` threads sharing one repository handle; each
 * read streams into no sink (repo_get with NULL), so memory does not grow
 * with object sizes.  docs/walship.md.
 */
#ifndef WS_OPS_VERIFY_H
#define WS_OPS_VERIFY_H

#include <stdint.h>
#include <stdio.h>

#include "cfg.h"
#include "err.h"
#include "ops_list.h"

/*
 * Narrowing what is read (never what is checked for continuity and
 * windows, which comes from the listing):
 *
 *  --since TIME   the objects of the backups that started at or after TIME,
 *                 and on each timeline every segment from the lowest one
 *                 whose key was last modified (stored) at or after TIME up
 *                 to the newest.
 *  --sample PCT   of the WAL segments and of the parts of every backup but
 *                 the newest complete one, those whose key hashes (XXH64
 *                 with the seed) below PCT %: the same seed picks the same
 *                 objects.
 *
 * Either way every descriptor (backup.info), every history, .backup and
 * .partial file is read; with --sample also every part of the newest
 * complete backup.  With both, an object is read when both pick it.
 * Neither goes with backup_id (WS_ECONFIG).
 */
struct ops_verify_options
{
    const char *backup_id;          /* only this backup and the WAL it needs; NULL: all */
    int         jobs;               /* parallel reads, >= 1 */
    bool        since;              /* --since: since_us applies */
    int64_t     since_us;           /* unix microseconds */
    int         sample_pct;         /* --sample: 1..99; 0 or 100: everything */
    uint64_t    seed;               /* --sample's seed */
    bool        record;             /* store the outcome as state/verify (ops_verify_run) */
};

struct ops_verify_result
{
    uint64_t    objects;            /* read */
    uint64_t    stored;             /* their stored bytes */
    uint64_t    damaged;            /* objects (or descriptors) that failed, or are missing */
    uint64_t    archived;           /* in an archive storage class: not read (walship thaw) */
    uint64_t    gaps;               /* stretches of missing WAL */
    int         windows;            /* recoverable windows that remain */
    uint64_t    skipped;            /* objects left unread by since or sample */
    double      seconds;            /* how long it took */
};

/*
 * Verify the repository configured in cfg, writing the report to out.
 * With o->record the outcome is stored in the repository as the walship
 * object state/verify (ops_metrics.h reads it): "key = value" lines time,
 * result (sound, damaged or gap), scope (all, backup, since, sample or
 * since+sample), objects, damaged, gaps, duration_seconds and
 * last_success_time (the last sound run's, carried over from the previous
 * state/verify).  Failing to store it is a warning only.
 * Returns 0 when the verification ran (res says what it found: damaged,
 * gaps), -1 (err set) when it could not (configuration, repository
 * unreachable, --backup naming no backup: WS_ENOTFOUND).
 */
int         ops_verify_run(const struct cfg *cfg, const struct ops_verify_options *o, FILE *out,
                           struct ops_verify_result *res, struct ws_err *err);

/*
 * Verify the repository open in repo with view v (loaded by ops_view_load),
 * which is updated: backups with a damaged object are marked unreadable and
 * damaged WAL segments removed from the ranges.
 */
int         ops_verify_view(struct repo *repo, struct ops_view *v,
                            const struct ops_verify_options *o, FILE *out,
                            struct ops_verify_result *res, struct ws_err *err);

#endif
