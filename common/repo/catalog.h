/*
 * catalog.h — what a repository holds: its base backups and its archived WAL.
 *
 * The one module that enumerates a repository (walship-recover --list, and
 * the operator's list, verify and expire).  It needs only the keys and sizes
 * a listing gives, plus each backup's descriptor; it never reads a WAL
 * object.
 *
 * Archived WAL is reported per timeline as ranges of consecutive segments
 * (a gap is what lies between two ranges of a timeline), beside the
 * timeline history files, backup history files (.backup) and partial
 * segments (.partial); keys under wal/ that are none of these where
 * wal_repo_key() puts them are reported as "other".  Storage lists in no
 * particular order (S3 lexicographically, a directory one directory after
 * another), so the catalog sorts what one log directory ("wal/<TL>/<TL><LOG>/",
 * 4 GiB of WAL) delivers in a row and merges it into the ranges: memory grows
 * with the number of ranges (and of log directories delivered out of order),
 * not with the number of segments.  A million segments without gaps take a
 * few kilobytes.
 */
#ifndef WS_CATALOG_H
#define WS_CATALOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backup_info.h"
#include "dump_info.h"
#include "err.h"
#include "repo.h"
#include "wal.h"

#define CATALOG_WAL_PREFIX "wal/"

/* ---- base backups ------------------------------------------------------- */

/*
 * Every backup in the repository, oldest first: complete ones with their
 * descriptor loaded, incomplete ones (objects but no descriptor) with only
 * id set.  A descriptor that is damaged (WS_ECORRUPT) is logged as a warning
 * and listed with only id and unreadable set; other failures (I/O) fail the
 * listing.  Release with catalog_backups_free.
 */
int         catalog_backups(struct repo *repo, struct backup_info **out, int *n,
                            struct ws_err *err);
void        catalog_backups_free(struct backup_info *list, int n);

/* ---- logical dumps ------------------------------------------------------ */

struct catalog_dump
{
    struct dump_info info;          /* complete: loaded; else only name */
    bool        complete;           /* descriptor present and readable */
    bool        unreadable;         /* descriptor present but damaged */
    bool        has_data;           /* the data object exists */
    uint64_t    data_stored;        /* its stored bytes (listing) */
    int64_t     data_mtime_s;       /* when it was stored (listing, unix seconds) */
};

/*
 * Every dump in the repository, oldest first (by start_time, then name;
 * those without a readable descriptor last, by name): complete ones with
 * their descriptor loaded, and the incomplete ones (data without a
 * descriptor: a put that was killed between its two steps) and damaged ones
 * (a descriptor WS_ECORRUPT, logged as a warning) with only name and the
 * flags set.  `walship list` shows the complete ones, `verify` all, and
 * retention (expire) decides by info.start_time_us: it must remove a dump's
 * descriptor before its data, so that a dump is never listed without it.
 * Release with catalog_dumps_free.
 */
int         catalog_dumps(struct repo *repo, struct catalog_dump **out, int *n,
                          struct ws_err *err);
void        catalog_dumps_free(struct catalog_dump *list);

/* ---- archived WAL ------------------------------------------------------- */

enum catalog_wal_kind
{
    CATALOG_WAL_SEGMENTS = 0,       /* consecutive segments first..last */
    CATALOG_WAL_HISTORY,            /* TTTTTTTT.history */
    CATALOG_WAL_BACKUP,             /* ....backup */
    CATALOG_WAL_PARTIAL,            /* ....partial */
    CATALOG_WAL_OTHER               /* a key under wal/ that is none of these, or misplaced */
};

struct catalog_wal_item
{
    enum catalog_wal_kind kind;
    uint32_t    timeline;           /* 0 for OTHER */
    uint64_t    first;              /* SEGMENTS: first segment number; BACKUP, PARTIAL: its segment */
    uint64_t    last;               /* SEGMENTS: last segment number (inclusive); else first */
    uint64_t    bytes;              /* stored bytes (SEGMENTS: of all of them) */
    uint32_t    offset;             /* BACKUP: where the backup started in its segment */
    char        name[WAL_NAME_MAX + 1];     /* the file name (SEGMENTS: the first one's) */
    char        last_name[WAL_NAME_MAX + 1];    /* SEGMENTS: the last segment's name */
    const char *key;                /* all but SEGMENTS: the key; valid during the call */
};

/* Returning -1 (err set) stops the enumeration with that error. */
typedef int (*catalog_wal_cb) (const struct catalog_wal_item *item, void *arg,
                               struct ws_err *err);

struct catalog_wal_stats
{
    uint64_t    keys;               /* keys seen */
    uint64_t    segments;           /* of them, segments in ranges */
    size_t      ranges;             /* ranges at the end */
    size_t      peak_ranges;        /* the most ranges held at once */
    size_t      peak_bytes;         /* the most memory held at once (ranges, buffers, lists) */
};

/*
 * Enumerate the archived WAL of repo: OTHER items as the listing meets them,
 * then, by timeline ascending: its history file, then its ranges, backup
 * history files and partial segments in segment order.  stats may be NULL.
 */
int         catalog_wal(struct repo *repo, catalog_wal_cb cb, void *arg,
                        struct catalog_wal_stats *stats, struct ws_err *err);

/*
 * The accumulator behind catalog_wal, for keys from elsewhere (tests, a
 * listing split over threads): new, add every key with its size in any
 * order, finish (emits, in the order above), free.  OTHER items go to cb
 * from catalog_wal_add.  seg_size is the repository's WAL segment size.
 */
struct catalog_wal;

struct catalog_wal *catalog_wal_new(uint32_t seg_size, catalog_wal_cb cb, void *arg,
                                    struct ws_err *err);
int         catalog_wal_add(struct catalog_wal *w, const char *key, uint64_t size,
                            struct ws_err *err);
int         catalog_wal_finish(struct catalog_wal *w, struct catalog_wal_stats *stats,
                               struct ws_err *err);
void        catalog_wal_free(struct catalog_wal *w);

#endif
