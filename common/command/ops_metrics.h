/*
 * ops_metrics.h — `walship metrics`: the repository's state as Prometheus
 * text exposition (format 0.0.4) for node_exporter's textfile collector.
 *
 * Everything is read from the repository, so any host with its
 * configuration sees the same numbers: the backups and the WAL through the
 * catalog (ops_list.h), one listing of every key for the repository's size,
 * object count and the backup attempts (backup_record.h: state/backup/),
 * the newest segment's modification time for the last archived time, and
 * two small state objects: state/verify (written by `walship verify`,
 * ops_verify.h) and state/drill (written by `walship drill`).  Every series
 * and what a missing state gives are listed in docs/walship.md.
 *
 * The exposition writer below is the part that knows the format: metric
 * and label names are checked, label values and help texts escaped, a
 * family or a series given twice refused, so that the output always
 * parses.
 */
#ifndef WS_OPS_METRICS_H
#define WS_OPS_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cfg.h"
#include "err.h"
#include "repo.h"

#define OPS_METRICS_VERIFY_KEY "state/verify"
#define OPS_METRICS_DRILL_KEY "state/drill"
#define OPS_METRICS_STATE_MAX (64 * 1024)  /* largest state object read */

/* ---- the exposition writer ------------------------------------------------ */

struct ops_metrics;

struct ops_metrics *ops_metrics_new(struct ws_err *err);
void        ops_metrics_free(struct ops_metrics *m);   /* NULL is fine */

/*
 * Start a family: its HELP and TYPE lines.  type is "counter", "gauge" or
 * "untyped".  WS_EINTERNAL for a name that is no metric name
 * ([a-zA-Z_:][a-zA-Z0-9_:]*), a type that is none of these, or a family
 * already given.
 */
int         ops_metrics_family(struct ops_metrics *m, const char *name, const char *type,
                               const char *help, struct ws_err *err);
/*
 * One sample of the family last started: labels holds nlabels pairs of
 * name and value (labels[2i], labels[2i+1]); values are escaped (\\, \",
 * \n).  WS_EINTERNAL for no family, a label name that is none
 * ([a-zA-Z_][a-zA-Z0-9_]*, not starting "__"), a label given twice or a
 * series (the same labels) already given.
 */
int         ops_metrics_sample(struct ops_metrics *m, const char *const *labels, int nlabels,
                               double value, struct ws_err *err);
/* The text so far (valid until the next call); *len may be NULL. */
const char *ops_metrics_text(struct ops_metrics *m, size_t *len);

/* ---- what walship metrics reports ----------------------------------------- */

struct ops_metrics_window
{
    uint32_t    timeline;
    int64_t     start;              /* unix seconds: the earliest backup's stop in the run */
    int64_t     end;                /* unix seconds: the run's last segment reached the repo */
};

struct ops_metrics_state
{
    bool        have;               /* the object exists and parsed */
    int64_t     time;               /* of the last run */
    bool        success;
    double      duration_seconds;
    bool        have_last_success;
    int64_t     last_success_time;
    uint64_t    damaged, gaps;      /* verify only */
};

struct ops_metrics_data
{
    int64_t     now;                /* unix seconds */
    /* attempts (state/backup/) */
    uint64_t    attempts, successes, failures;
    /* backups (catalog) */
    int         complete, incomplete, damaged;
    int64_t     last_success;       /* newest complete backup: when it became complete, 0: none */
    uint64_t    last_size;          /* its plain bytes */
    uint64_t    last_stored;        /* its stored bytes */
    /* WAL */
    uint64_t    wal_segments, wal_stored;
    uint64_t    wal_dropped;        /* segments dropped by archive_queue_max (dropped/) */
    int64_t     wal_last_time;      /* newest segment's modification time, 0: none */
    /* the whole repository */
    uint64_t    objects, bytes;
    /* recoverable windows, one per timeline */
    struct ops_metrics_window *windows;
    int         nwindows;
    struct ops_metrics_state verify, drill;
};

/* The exposition of d into m (every series of docs/walship.md). */
int         ops_metrics_render(const struct ops_metrics_data *d, struct ops_metrics *m,
                               struct ws_err *err);

/* Gather d from the open repository (d->now set by the caller). */
int         ops_metrics_gather(struct repo *repo, struct ops_metrics_data *d,
                               struct ws_err *err);
void        ops_metrics_data_free(struct ops_metrics_data *d);

/*
 * Parse the text of state/verify or state/drill (kv.h lines; keys time,
 * result, duration_seconds, last_success_time, damaged, gaps; unknown keys
 * ignored).  what names it in errors: WS_ECORRUPT for a bad line or a
 * missing or malformed time or result.  text is modified.
 */
int         ops_metrics_parse_state(char *text, size_t len, const char *what,
                                    struct ops_metrics_state *s, struct ws_err *err);

/*
 * `walship metrics [--output FILE]`: to out, or with output to FILE
 * atomically (a temporary file in its directory, fsync, rename, fsync of
 * the directory; mode 0644 so the collector can read it).
 */
int         ops_metrics_run(const struct cfg *cfg, const char *output, FILE *out,
                            struct ws_err *err);

#endif
