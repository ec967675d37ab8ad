/*
 * retention.h — which backups a retention policy keeps, and which WAL they
 * need: the pure planner behind `walship expire` and the "kept by" column
 * of `walship list`.  Nothing here touches a repository, allocates beyond
 * its outputs, logs or reads the clock: the caller passes `now`.
 *
 * The planner is generic over items with a time: base backups today,
 * logical dumps later (plan each kind separately, with its own policy).  An
 * item may say which WAL segments it needs (base backups); the plan then
 * also says which segment numbers must stay (retention_wal_plan turns that
 * into the stretches of archived WAL to delete).
 *
 * The rules (docs/walship.md, "walship expire"):
 *  - retain_full = N keeps the N newest complete items;
 *  - retain_daily/weekly/monthly/yearly = D: each UTC day, ISO week
 *    (Monday to Sunday, UTC), calendar month and calendar year is stood for
 *    by its newest complete item (by time_us); that item is kept while its
 *    time_us is not older than now - D;
 *  - retain_pitr = D: the newest complete item whose ready_us (the time it
 *    is consistent from) is at or before now - D is kept (or, when none is
 *    that old, the oldest complete one), and all WAL from its wal_first on:
 *    point-in-time recovery to any time inside the window works from it;
 *  - the newest complete item is always kept;
 *  - an incomplete item is kept while its activity_us is within
 *    `incomplete` of now, unless it is hidden (a removal was begun);
 *  - a damaged item (unreadable descriptor) is kept and counts for nothing;
 *  - no key set, or a policy that keeps no complete item at all, is refused
 *    (WS_ECONFIG), as is a list without any complete item (WS_ENOTFOUND).
 *
 * WAL needed: without retain_pitr, every segment from the oldest kept
 * item's wal_first on (recovery to any time from the oldest kept backup);
 * with retain_pitr, every segment from the PITR item's wal_first on plus,
 * for each older kept item, its wal_first..wal_last.  Segment numbers are
 * compared across timelines: replay only moves forward, so a segment below
 * every needed stretch is needed by no kept backup on any timeline.
 */
#ifndef WS_RETENTION_H
#define WS_RETENTION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* Why an item is kept (bits). */
enum retention_tier
{
    RETENTION_FULL = 1 << 0,        /* among the retain_full newest */
    RETENTION_DAILY = 1 << 1,
    RETENTION_WEEKLY = 1 << 2,
    RETENTION_MONTHLY = 1 << 3,
    RETENTION_YEARLY = 1 << 4,
    RETENTION_PITR = 1 << 5,        /* the start of the retain_pitr window */
    RETENTION_NEWEST = 1 << 6,      /* the newest complete item, kept whatever the policy */
    RETENTION_GRACE = 1 << 7,       /* incomplete, within the grace period (may be running) */
    RETENTION_DAMAGED = 1 << 8      /* unreadable: kept for an operator to look at */
};

struct retention_policy
{
    int         full;               /* 0 = off */
    uint64_t    daily;              /* seconds, 0 = off */
    uint64_t    weekly;
    uint64_t    monthly;
    uint64_t    yearly;
    uint64_t    pitr;
    uint64_t    incomplete;         /* grace period of incomplete items, seconds */
};

enum retention_state
{
    RETENTION_COMPLETE = 0,
    RETENTION_INCOMPLETE,
    RETENTION_UNREADABLE
};

struct retention_item
{
    const char *id;                 /* for messages; ties in time break by position */
    enum retention_state state;
    int64_t     time_us;            /* COMPLETE: places it in a day/week/month/year */
    int64_t     ready_us;           /* COMPLETE: restorable from (a backup's stop time) */
    int64_t     activity_us;        /* INCOMPLETE: its last sign of life */
    bool        hidden;             /* INCOMPLETE: a removal was begun: no grace */
    bool        has_wal;            /* needs WAL segments wal_first..wal_last */
    uint64_t    wal_first;
    uint64_t    wal_last;
};

struct retention_verdict
{
    bool        keep;
    unsigned    tiers;              /* enum retention_tier bits; 0 when not kept */
};

/* A stretch of segment numbers (timeline 0 in needs: any timeline). */
struct retention_span
{
    uint32_t    timeline;
    uint64_t    first;
    uint64_t    last;               /* inclusive; UINT64_MAX: onwards */
};

#define RETENTION_NEED_MAX 64       /* needed stretches a plan holds at most (merged) */

struct retention_plan
{
    int         kept;               /* complete items kept */
    int         expired;            /* items to remove (any state) */
    int         pitr_item;          /* index of the PITR item, or -1 */
    bool        wal_unknown;        /* a kept complete item does not say its WAL: keep all */
    struct retention_span need[RETENTION_NEED_MAX];     /* sorted, disjoint, timeline 0 */
    size_t      nneed;
};

/* true if at least one key of p that selects complete items is set */
bool        retention_policy_set(const struct retention_policy *p);

/*
 * Plan items[0..n) (any order) under p at now_us: out[i] for each item and
 * the WAL to keep in plan.  Fails with WS_ECONFIG (no key set; the policy
 * keeps no complete item, naming the newest and its age) or WS_ENOTFOUND
 * (no complete item at all); out and plan are then undefined.
 */
int         retention_plan(const struct retention_policy *p, const struct retention_item *items,
                           size_t n, int64_t now_us, struct retention_verdict *out,
                           struct retention_plan *plan, struct ws_err *err);

/* Segment number s is needed by plan. */
bool        retention_needs(const struct retention_plan *plan, uint64_t s);

/*
 * The parts of the archived stretches have[0..nhave) (each of one
 * timeline) that plan does not need, into del (cap entries): how many, or
 * -1 when more than cap would be needed (WS_EINTERNAL).  A plan that needs
 * nothing or does not know what a kept item needs (wal_unknown) removes
 * nothing: 0.
 */
int         retention_wal_plan(const struct retention_plan *plan, const struct retention_span *have,
                               size_t nhave, struct retention_span *del, size_t cap,
                               struct ws_err *err);

/* "daily,weekly" (tier names, in enum order) into buf; "-" for none. */
const char *retention_tiers_format(unsigned tiers, char *buf, size_t size);

/* The period keys in UTC (exposed for tests): day, ISO week, month, year. */
int64_t     retention_day(int64_t t_us);
int64_t     retention_week(int64_t t_us);      /* weeks since Monday 1969-12-29 */
int64_t     retention_month(int64_t t_us);     /* year * 12 + month - 1 */
int64_t     retention_year(int64_t t_us);

#endif
