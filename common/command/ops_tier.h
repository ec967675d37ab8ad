/*
 * ops_tier.h — storage tiers.  `walship thaw`: ask the object store to restore what a
 * recovery from one backup reads, when monthly and yearly copies were moved
 * to an archive storage class (S3 Glacier Flexible Retrieval, Deep Archive;
 * docs/walship.md "Storage tiers").
 *
 * The backup's data objects (tablespace parts and manifest) and its WAL from
 * the start to the stop segment, plus every timeline history file, get a
 * restore request (S3 RestoreObject); with wal_to_latest also the WAL after
 * the stop segment up to the newest archived one of its timeline (for a
 * point-in-time recovery later than the backup).  Descriptors are never
 * moved to an archive class, so they need none.  Running it again is
 * harmless and reports progress: each object is "requested", "in progress",
 * "ready" (restored) or "not archived" (readable as it is).
 */
#ifndef WS_OPS_TIER_H
#define WS_OPS_TIER_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "cfg.h"
#include "err.h"

struct ops_thaw_options
{
    const char *backup_id;          /* NULL: the newest complete backup */
    int         days;               /* how long the restored copies stay readable */
    const char *tier;               /* "Standard", "Bulk" or "Expedited" */
    bool        wal_to_latest;
};

struct ops_thaw_result
{
    uint64_t    objects;
    uint64_t    requested;          /* restore started by this run */
    uint64_t    in_progress;
    uint64_t    ready;
    uint64_t    not_archived;
    uint64_t    missing;            /* WAL segments the view lists but the store does not have */
};

/*
 * Issue the requests and print one summary line per group (backup objects,
 * WAL, history files) and the verdict.  Returns -1 with err on a failure
 * (a repository that cannot be read, an unknown or incomplete backup).
 */
int         ops_thaw_run(const struct cfg *cfg, const struct ops_thaw_options *o, FILE *out,
                         struct ops_thaw_result *res, struct ws_err *err);

/*
 * `walship tier --backup ID --class CLASS`: move one complete backup's data
 * objects (parts and manifest) and the WAL segments only it needs (its
 * start..stop segments that no other complete backup's start..stop covers,
 * older than the newest complete backup's start) to storage_class, by
 * server-side copies.  Descriptors stay in the default class.  Prints what
 * it moved; *moved counts the objects copied (those already in the class
 * are not); out may be NULL (walship expire --json).
 */
int         ops_tier_move(const struct cfg *cfg, const char *backup_id, const char *storage_class,
                          FILE *out, uint64_t *moved, struct ws_err *err);

/* true when everything is readable now: nothing requested or in progress. */
bool        ops_thaw_readable(const struct ops_thaw_result *res);

#endif
