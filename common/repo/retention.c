/*
 * retention.c — the retention planner.  See retention.h.
 *
 * Periods are computed in UTC from the item's time alone (gmtime_r, never
 * the local zone), so two runs on machines in different zones, or before
 * and after a DST change, plan alike.
 */
#include "retention.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define US_PER_S INT64_C(1000000)
#define S_PER_DAY INT64_C(86400)

static int64_t
floor_div(int64_t a, int64_t b)
{
    int64_t     q = a / b;

    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

int64_t
retention_day(int64_t t_us)
{
    return floor_div(floor_div(t_us, US_PER_S), S_PER_DAY);
}

int64_t
retention_week(int64_t t_us)
{
    /* 1970-01-01 was a Thursday: day 0 + 3 is the Monday-based offset */
    return floor_div(retention_day(t_us) + 3, 7);
}

static void
utc(int64_t t_us, struct tm *tm)
{
    time_t      t = (time_t) floor_div(t_us, US_PER_S);

    memset(tm, 0, sizeof(*tm));
    gmtime_r(&t, tm);
}

int64_t
retention_month(int64_t t_us)
{
    struct tm   tm;

    utc(t_us, &tm);
    return ((int64_t) tm.tm_year + 1900) * 12 + tm.tm_mon;
}

int64_t
retention_year(int64_t t_us)
{
    struct tm   tm;

    utc(t_us, &tm);
    return (int64_t) tm.tm_year + 1900;
}

bool
retention_policy_set(const struct retention_policy *p)
{
    return p->full > 0 || p->daily > 0 || p->weekly > 0 || p->monthly > 0 || p->yearly > 0 ||
        p->pitr > 0;
}

/* a is newer than b (time, then position: the later one in the list) */
static bool
newer(const struct retention_item *items, size_t a, size_t b)
{
    if (items[a].time_us != items[b].time_us)
        return items[a].time_us > items[b].time_us;
    return a > b;
}

/*
 * The tier: for each complete item, whether it is the newest complete item
 * of its period (quadratic in the number of items, which is small: a
 * repository with 7 years of daily backups holds ~2,600).
 */
static void
tier(const struct retention_item *items, size_t n, int64_t now_us, uint64_t keep_s,
     int64_t (*period) (int64_t), unsigned bit, struct retention_verdict *out)
{
    int64_t     oldest = now_us - (int64_t) keep_s * US_PER_S;

    if (keep_s == 0)
        return;
    for (size_t i = 0; i < n; i++)
    {
        bool        rep = true;
        int64_t     p;

        if (items[i].state != RETENTION_COMPLETE || items[i].time_us < oldest)
            continue;
        p = period(items[i].time_us);
        for (size_t k = 0; k < n && rep; k++)
            if (k != i && items[k].state == RETENTION_COMPLETE &&
                period(items[k].time_us) == p && newer(items, k, i))
                rep = false;
        if (rep)
            out[i].tiers |= bit;
    }
}

/* Add [first, last] to the plan's needs, merged and sorted. */
static int
need_add(struct retention_plan *plan, uint64_t first, uint64_t last, struct ws_err *err)
{
    struct retention_span *s = plan->need;
    size_t      i = 0, j;

    while (i < plan->nneed && s[i].last != UINT64_MAX && s[i].last + 1 < first)
        i++;
    /* i: the first stretch that reaches first (or the end) */
    if (i == plan->nneed || (last != UINT64_MAX && last + 1 < s[i].first))
    {
        if (plan->nneed == RETENTION_NEED_MAX)
            return err_set(err, WS_EINTERNAL, "more than %d separate stretches of WAL to keep",
                           RETENTION_NEED_MAX);
        memmove(&s[i + 1], &s[i], (plan->nneed - i) * sizeof(*s));
        s[i].timeline = 0;
        s[i].first = first;
        s[i].last = last;
        plan->nneed++;
        return 0;
    }
    if (first < s[i].first)
        s[i].first = first;
    if (last > s[i].last)
        s[i].last = last;
    /* swallow the stretches it now reaches */
    for (j = i + 1; j < plan->nneed && (s[i].last == UINT64_MAX || s[j].first <= s[i].last + 1);
         j++)
        if (s[j].last > s[i].last)
            s[i].last = s[j].last;
    memmove(&s[i + 1], &s[j], (plan->nneed - j) * sizeof(*s));
    plan->nneed -= j - i - 1;
    return 0;
}

static void
age_text(int64_t age_us, char *buf, size_t size)
{
    int64_t     s = age_us / US_PER_S;

    if (s >= S_PER_DAY)
        snprintf(buf, size, "%" PRId64 " days", s / S_PER_DAY);
    else if (s >= 3600)
        snprintf(buf, size, "%" PRId64 " hours", s / 3600);
    else
        snprintf(buf, size, "%" PRId64 " seconds", s < 0 ? 0 : s);
}

int
retention_plan(const struct retention_policy *p, const struct retention_item *items, size_t n,
               int64_t now_us, struct retention_verdict *out, struct retention_plan *plan,
               struct ws_err *err)
{
    size_t      newest = SIZE_MAX, oldest = SIZE_MAX;
    int         by_policy = 0;

    memset(plan, 0, sizeof(*plan));
    plan->pitr_item = -1;
    if (!retention_policy_set(p))
    {
        err_set(err, WS_ECONFIG, "no retention policy is set: nothing would be kept for sure, "
                "so nothing is removed");
        err_hint(err, "Set at least one of retain_full, retain_daily, retain_weekly, "
                 "retain_monthly, retain_yearly and retain_pitr.");
        return -1;
    }
    for (size_t i = 0; i < n; i++)
    {
        out[i].keep = false;
        out[i].tiers = 0;
        if (items[i].state != RETENTION_COMPLETE)
            continue;
        if (newest == SIZE_MAX || newer(items, i, newest))
            newest = i;
        if (oldest == SIZE_MAX || newer(items, oldest, i))
            oldest = i;
    }
    if (newest == SIZE_MAX)
    {
        err_set(err, WS_ENOTFOUND, "there is no complete backup: nothing is removed");
        err_hint(err, "Take a base backup with walship-basebackup first.");
        return -1;
    }

    /* retain_full: the N newest */
    if (p->full > 0)
    {
        for (size_t i = 0; i < n; i++)
        {
            int         newer_ones = 0;

            if (items[i].state != RETENTION_COMPLETE)
                continue;
            for (size_t k = 0; k < n; k++)
                if (k != i && items[k].state == RETENTION_COMPLETE && newer(items, k, i))
                    newer_ones++;
            if (newer_ones < p->full)
                out[i].tiers |= RETENTION_FULL;
        }
    }
    tier(items, n, now_us, p->daily, retention_day, RETENTION_DAILY, out);
    tier(items, n, now_us, p->weekly, retention_week, RETENTION_WEEKLY, out);
    tier(items, n, now_us, p->monthly, retention_month, RETENTION_MONTHLY, out);
    tier(items, n, now_us, p->yearly, retention_year, RETENTION_YEARLY, out);
    if (p->pitr > 0)
    {
        int64_t     from = now_us - (int64_t) p->pitr * US_PER_S;
        size_t      anchor = SIZE_MAX;

        for (size_t i = 0; i < n; i++)
            if (items[i].state == RETENTION_COMPLETE && items[i].ready_us <= from &&
                (anchor == SIZE_MAX || newer(items, i, anchor)))
                anchor = i;
        if (anchor == SIZE_MAX)
            anchor = oldest;
        out[anchor].tiers |= RETENTION_PITR;
        plan->pitr_item = (int) anchor;
    }
    for (size_t i = 0; i < n; i++)
        if (out[i].tiers != 0)
            by_policy++;
    if (by_policy == 0)
    {
        char        age[64];

        age_text(now_us - items[newest].time_us, age, sizeof(age));
        err_set(err, WS_ECONFIG, "the retention policy would remove every backup: refused");
        err_detail(err, "The newest complete backup, %s, is %s old and no retain_* setting "
                   "keeps it.", items[newest].id ? items[newest].id : "?", age);
        err_hint(err, "Lengthen the retain_* periods or set retain_full.");
        return -1;
    }
    if (out[newest].tiers == 0)
        out[newest].tiers |= RETENTION_NEWEST;

    for (size_t i = 0; i < n; i++)
    {
        const struct retention_item *it = &items[i];

        if (it->state == RETENTION_UNREADABLE)
            out[i].tiers = RETENTION_DAMAGED;
        else if (it->state == RETENTION_INCOMPLETE && !it->hidden &&
                 it->activity_us >= now_us - (int64_t) p->incomplete * US_PER_S)
            out[i].tiers = RETENTION_GRACE;
        out[i].keep = out[i].tiers != 0;
        if (!out[i].keep)
            plan->expired++;
        else if (it->state == RETENTION_COMPLETE)
            plan->kept++;
    }

    /* the WAL the kept items need */
    {
        size_t      from = SIZE_MAX;    /* WAL from this item's start on */

        if (plan->pitr_item >= 0)
            from = (size_t) plan->pitr_item;
        else
        {
            for (size_t i = 0; i < n; i++)
                if (out[i].keep && items[i].state == RETENTION_COMPLETE && items[i].has_wal &&
                    (from == SIZE_MAX || items[i].wal_first < items[from].wal_first))
                    from = i;
        }
        for (size_t i = 0; i < n; i++)
            if (out[i].keep && items[i].state == RETENTION_COMPLETE && !items[i].has_wal)
                plan->wal_unknown = true;
        for (size_t i = 0; i < n; i++)
            if (out[i].keep && items[i].state == RETENTION_COMPLETE && items[i].has_wal &&
                need_add(plan, items[i].wal_first, i == from ? UINT64_MAX : items[i].wal_last,
                         err) < 0)
                return -1;
        /* the newest backup always gets all WAL after it, whatever the order of starts */
        if (items[newest].has_wal && need_add(plan, items[newest].wal_first, UINT64_MAX, err) < 0)
            return -1;
    }
    return 0;
}

bool
retention_needs(const struct retention_plan *plan, uint64_t s)
{
    for (size_t i = 0; i < plan->nneed; i++)
        if (s >= plan->need[i].first && s <= plan->need[i].last)
            return true;
    return false;
}

int
retention_wal_plan(const struct retention_plan *plan, const struct retention_span *have,
                   size_t nhave, struct retention_span *del, size_t cap, struct ws_err *err)
{
    size_t      nd = 0;

    if (plan->nneed == 0 || plan->wal_unknown)
        return 0;
    for (size_t h = 0; h < nhave; h++)
    {
        uint64_t    at = have[h].first;     /* the next segment not yet decided */

        for (size_t i = 0; i <= plan->nneed && at <= have[h].last; i++)
        {
            /* the stretch of have before need[i] (or to the end) is not needed */
            uint64_t    stop = i < plan->nneed ? plan->need[i].first : UINT64_MAX;
            uint64_t    last = stop == 0 ? 0 : stop - 1;

            if (stop > at)
            {
                if (last > have[h].last)
                    last = have[h].last;
                if (nd == cap)
                    return err_set(err, WS_EINTERNAL, "more than %zu stretches of WAL to remove",
                                   cap);
                del[nd].timeline = have[h].timeline;
                del[nd].first = at;
                del[nd].last = last;
                nd++;
            }
            if (i == plan->nneed || plan->need[i].last == UINT64_MAX)
                break;
            if (plan->need[i].last + 1 > at)
                at = plan->need[i].last + 1;
        }
    }
    return (int) nd;
}

const char *
retention_tiers_format(unsigned tiers, char *buf, size_t size)
{
    static const char *const names[] = {
        "full", "daily", "weekly", "monthly", "yearly", "pitr", "newest", "grace", "damaged"
    };
    size_t      used = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (tiers & (1u << i))
        {
            int         w = snprintf(buf + used, size - used, "%s%s", used ? "," : "",
                                     names[i]);

            if (w < 0 || (size_t) w >= size - used)
                break;
            used += (size_t) w;
        }
    if (used == 0)
        snprintf(buf, size, "-");
    return buf;
}
