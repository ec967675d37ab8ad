/*
 * ops_list.h — what `walship list` shows: a repository's backups, its
 * archived WAL per timeline as ranges with the gaps between them, and the
 * windows it can recover into.  `walship verify` builds on the same view.
 *
 * The view holds the backups' descriptors and one entry per range of
 * consecutive segments (catalog.h): memory grows with the number of
 * backups and of gaps, never with the number of segments.
 *
 * A recoverable window belongs to a complete backup whose WAL from
 * start_wal to stop_wal is archived without a gap: it runs from the
 * backup's stop (time and LSN) to the end of the last segment of the
 * continuous run of WAL on the backup's timeline that holds its stop
 * segment.  docs/walship.md.
 */
#ifndef WS_OPS_LIST_H
#define WS_OPS_LIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "backup_info.h"
#include "catalog.h"
#include "cfg.h"
#include "err.h"
#include "repo.h"

#define OPS_LIST_SCHEMA_VERSION 1

/* Consecutive archived segments first..last of one timeline. */
struct ops_range
{
    uint32_t    timeline;
    uint64_t    first;
    uint64_t    last;
    uint64_t    stored;             /* bytes of all of them in the repository */
};

/* A key under wal/ that is not a segment: history, .backup, .partial, other. */
struct ops_wal_file
{
    int         kind;               /* enum catalog_wal_kind */
    uint32_t    timeline;
    char       *key;
};

struct ops_view
{
    char       *location;           /* repo_location(), or NULL */
    uint64_t    system_identifier;
    uint32_t    seg_size;
    struct backup_info *backups;    /* oldest first (catalog_backups) */
    int         nbackups;
    struct ops_range *ranges;       /* by timeline, then segment */
    size_t      nranges;
    struct ops_wal_file *files;     /* in catalog order */
    size_t      nfiles;
    struct catalog_dump *dumps;     /* logical dumps, oldest first (catalog_dumps) */
    int         ndumps;
    /* the retention tiers that keep each backup (retention.h bits), or NULL */
    unsigned   *kept_by;
    char        retention[512];     /* "" when kept_by is set, else why not */
    /* segments walship-archive dropped (archive_queue_max): markers under dropped/, as ranges */
    struct ops_range *dropped;      /* by timeline, then segment; stored = 0 */
    size_t      ndropped;
};

struct ops_window
{
    uint32_t    timeline;
    const struct backup_info *backup;
    uint64_t    start_lsn;          /* the backup's stop LSN */
    int64_t     start_time_us;      /* the backup's stop time */
    uint64_t    end_lsn;            /* end of the last segment of the run */
    uint64_t    end_segment;        /* that segment */
};

/* Segments first..last of timeline are missing. */
struct ops_gap
{
    uint32_t    timeline;
    uint64_t    first;
    uint64_t    last;
};

/* Load the view of repo.  Release with ops_view_free (also after a failure). */
int         ops_view_load(struct repo *repo, struct ops_view *v, struct ws_err *err);
void        ops_view_free(struct ops_view *v);

/* The range of timeline tl holding segment segno, or NULL. */
const struct ops_range *ops_range_find(const struct ops_view *v, uint32_t tl, uint64_t segno);

/*
 * The window of backup b: false when b is not complete, its start_wal or
 * stop_wal is not a segment name, or its WAL from start to stop is not all
 * archived.
 */
bool        ops_window_of(const struct ops_view *v, const struct backup_info *b,
                          struct ops_window *w);

/*
 * The gaps of timeline tl from segment from on: each missing stretch after
 * from up to the newest archived segment of tl, or up to at_least when that
 * is later (a backup's stop segment not archived yet).  Calls cb for each
 * in order; returns how many.  The gaps between all the ranges of tl are
 * those from 0 (at_least 0): before its first range nothing is reported.
 */
size_t      ops_gaps(const struct ops_view *v, uint32_t tl, uint64_t from, uint64_t at_least,
                     void (*cb) (const struct ops_gap *g, void *arg), void *arg);

/*
 * Take segment segno of timeline tl out of the ranges (a damaged segment is
 * no better than a missing one): the range holding it shrinks or splits.
 */
int         ops_view_drop_segment(struct ops_view *v, uint32_t tl, uint64_t segno,
                                  struct ws_err *err);

/* Segment number of a segment name (start_wal, stop_wal); false if it is none. */
bool        ops_segment_of(const struct ops_view *v, const char *name, uint32_t *tl,
                           uint64_t *segno);

/* `walship list [--json]`: open the repository in cfg and print its view. */
int         ops_list_run(const struct cfg *cfg, bool json, FILE *out, struct ws_err *err);
/*
 * Fill v->kept_by from cfg's retention policy at now_us (retention.h), or
 * leave it NULL with v->retention saying why (no policy, a refused one).
 */
void        ops_list_retention(const struct cfg *cfg, struct ops_view *v, int64_t now_us);
/* The printing alone (tests). */
void        ops_list_print(const struct ops_view *v, bool json, FILE *out);

/* The recoverable windows as a table; returns how many. */
int         ops_list_print_windows(const struct ops_view *v, FILE *out);
/* One line per run of segments dropped by archive_queue_max (the "dropped" lines of list, verify). */
void        ops_list_print_dropped(const struct ops_view *v, FILE *out);
/* Segment name of timeline tl, segno into buf (WAL_NAME_MAX + 1 bytes). */
void        ops_segment_name(const struct ops_view *v, uint32_t tl, uint64_t segno, char *buf);

/* "s" as a JSON string literal, quotes included. */
void        ops_json_string(FILE *out, const char *s);

#endif
