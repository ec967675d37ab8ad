/*
 * test_retention.c — the retention planner (retention.h) on synthetic
 * backup lists and dates: retain_full by count, each GFS tier, their
 * combination, the PITR window, the incomplete grace period and hidden
 * leftovers, the refusals (no policy, a policy that keeps nothing, no
 * complete backup), the newest backup always kept, the period
 * representative across day, ISO-week, month and year boundaries, the WAL
 * needed and the stretches to delete, and the test-only clock.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "harness.h"
#include "log.h"
#include "retention.h"

#define DAY_US (INT64_C(86400) * 1000000)
#define HOUR_US (INT64_C(3600) * 1000000)

static void
setup(void)
{
    harness_clear_walship_env();
    log_set_level(LOG_LEVEL_ERROR);
}

TestSuite(retention, .init = setup);

/* "2026-12-04 10:00:00" UTC in microseconds */
static int64_t
at(const char *s)
{
    struct tm   tm;

    memset(&tm, 0, sizeof(tm));
    cr_assert_not_null(strptime(s, "%Y-%m-%d %H:%M:%S", &tm), "bad date %s", s);
    return (int64_t) timegm(&tm) * 1000000;
}

#define MAXI 64

struct fixture
{
    struct retention_item it[MAXI];
    struct retention_verdict v[MAXI];
    struct retention_plan plan;
    char        ids[MAXI][32];
    size_t      n;
};

/* a complete backup at t; WAL segments 10*i .. 10*i+1 */
static size_t
add(struct fixture *f, int64_t t)
{
    size_t      i = f->n++;

    snprintf(f->ids[i], sizeof(f->ids[i]), "b%zu", i);
    memset(&f->it[i], 0, sizeof(f->it[i]));
    f->it[i].id = f->ids[i];
    f->it[i].state = RETENTION_COMPLETE;
    f->it[i].time_us = t;
    f->it[i].ready_us = t + 60 * 1000000;
    f->it[i].has_wal = true;
    f->it[i].wal_first = 10 * (uint64_t) i + 10;
    f->it[i].wal_last = 10 * (uint64_t) i + 11;
    return i;
}

/* n daily backups at 01:00 UTC, the last on day `last` */
static void
daily(struct fixture *f, const char *last, int n)
{
    int64_t     t = at(last);

    for (int i = n - 1; i >= 0; i--)
        add(f, t - (int64_t) i * DAY_US);
}

static int
plan(struct fixture *f, const struct retention_policy *p, int64_t now, struct ws_err *err)
{
    return retention_plan(p, f->it, f->n, now, f->v, &f->plan, err);
}

static void
plan_ok(struct fixture *f, const struct retention_policy *p, int64_t now)
{
    struct ws_err err = WS_ERR_INIT;

    cr_assert_eq(plan(f, p, now, &err), 0, "plan failed: %s", err.msg);
}

static int
kept(const struct fixture *f)
{
    int         k = 0;

    for (size_t i = 0; i < f->n; i++)
        k += f->v[i].keep;
    return k;
}

/* ---- retain_full -------------------------------------------------------------- */

Test(retention, full_keeps_exactly_the_n_newest)
{
    struct fixture f = {.n = 0};
    struct retention_policy p = {.full = 3, .incomplete = 86400};

    daily(&f, "2026-12-04 01:00:00", 10);
    plan_ok(&f, &p, at("2026-12-04 12:00:00"));
    cr_assert_eq(kept(&f), 3);
    for (size_t i = 0; i < f.n; i++)
    {
        cr_assert_eq(f.v[i].keep, i >= 7, "b%zu", i);
        cr_assert_eq(f.v[i].tiers, i >= 7 ? (unsigned) RETENTION_FULL : 0u, "b%zu", i);
    }
    cr_assert_eq(f.plan.kept, 3);
    cr_assert_eq(f.plan.expired, 7);
    /* WAL: from the oldest kept backup (b7: segment 80) on */
    cr_assert_eq(f.plan.nneed, 1);
    cr_assert_eq(f.plan.need[0].first, 80);
    cr_assert_eq(f.plan.need[0].last, UINT64_MAX);
}

Test(retention, full_larger_than_the_list_keeps_all)
{
    struct fixture f = {.n = 0};
    struct retention_policy p = {.full = 30, .incomplete = 86400};

    daily(&f, "2026-12-04 01:00:00", 5);
    plan_ok(&f, &p, at("2026-12-04 12:00:00"));
    cr_assert_eq(kept(&f), 5);
    cr_assert_eq(f.plan.need[0].first, 10);
}

Test(retention, full_list_order_does_not_matter)
{
    struct fixture f = {.n = 0};
    struct retention_policy p = {.full = 2, .incomplete = 86400};

    add(&f, at("2026-12-03 01:00:00"));
    add(&f, at("2026-12-01 01:00:00"));
    add(&f, at("2026-12-04 01:00:00"));
    add(&f, at("2026-12-02 01:00:00"));
    plan_ok(&f, &p, at("2026-12-04 12:00:00"));
    cr_assert(f.v[0].keep && f.v[2].keep && !f.v[1].keep && !f.v[3].keep);
}

/* ---- the tiers ------------------------------------------------------------------ */

Test(retention, daily_keeps_one_a_day_inside_the_period)
{
    struct fixture f = {.n = 0};
    struct retention_policy p = {.daily = 7 * 86400, .incomplete = 86400};
    int64_t     now = at("2026-12-10 12:00:00");

    /* two backups a day for 20 days */
    for (int d = 19; d >= 0; d--)
    {
        add(&f, now - d * DAY_US - 10 * HOUR_US);     /* 02:00 */
        add(&f, now - d * DAY_US - 2 * HOUR_US);      /* 10:00: the day's newest */
    }
    plan_ok(&f, &p, now);
    /* days 0..6 back have their 10:00 backup inside 7 days; day 7's at 10:00 is 7d2h old */
    cr_assert_eq(kept(&f), 7);
    for (size_t i = 0; i < f.n; i++)
    {
        int         d = 19 - (int) (i / 2);
        bool        expect = (i % 2 == 1) && d <= 6;

        cr_assert_eq(f.v[i].keep, expect, "b%zu (day -%d)", i, d);
        if (expect)
            cr_assert_eq(f.v[i].tiers, (unsigned) RETENTION_DAILY);
    }
}

Test(retention, weekly_is_the_newest_of_the_iso_week_in_utc)
{
    struct fixture f = {.n = 0};
    struct retention_policy p = {.weekly = 365 * 86400, .incomplete = 86400};
    size_t      sun, mon, wed;

    /* 2026-11-29 is a Sunday, 2026-11-30 the Monday of ISO week 49 */
    add(&f, at("2026-11-28 23:00:00"));                 /* Saturday, week 48 */
    sun = add(&f, at("2026-11-29 23:59:59"));           /* Sunday: week 48's newest */
    mon = add(&f, at("2026-11-30 00:00:00"));           /* Monday: week 49 */
    wed = add(&f, at("2026-12-02 12:00:00"));           /* Wednesday: week 49's newest */
    plan_ok(&f, &p, at("2026-12-04 12:00:00"));
    cr_assert_eq(kept(&f), 2);
    cr_assert(f.v[sun].keep && f.v[wed].keep && !f.v[mon].keep && !f.v[0].keep);
    cr_assert_eq(f.v[sun].tiers, (unsigned) RETENTION_WEEKLY);
}

Test(retention, iso_week_across_a_year_boundary)
{
    /* 2026-12-28 (Monday) .. 2027-01-03 (Sunday) is ISO week 53 of 2026 */
    cr_assert_eq(retention_week(at("2026-12-28 00:00:00")),
                 retention_week(at("2027-01-03 23:59:59")));
    cr_assert_neq(retention_week(at("2027-01-03 23:59:59")),
                  retention_week(at("2027-01-04 00:00:00")));
    cr_assert_neq(retention_week(at("2026-12-27 23:59:59")),
                  retention_week(at("2026-12-28 00:00:00")));
    /* 1970-01-01 was a Thursday: it shares a week with Monday 1969-12-29 */
    cr_assert_eq(retention_week(at("1970-01-01 00:00:00")), 0);
    cr_assert_eq(retention_week(at("1970-01-05 00:00:00")), 1);
    cr_assert_eq(retention_week(at("1969-12-29 00:00:00")), 0);
    cr_assert_eq(retention_week(at("1969-12-28 23:59:59")), -1);
}

Test(retention, monthly_and_yearly_boundaries_in_utc)
{
    struct fixture f = {.n = 0};
    struct retention_policy p = {.monthly = 400 * 86400, .yearly = 10 * 365 * 86400,
        .incomplete = 86400};
    size_t      nov, dec, jan, y25;

    /* local time would put 2026-11-30 23:30 UTC into December east of UTC */
    add(&f, at("2026-11-02 01:00:00"));
    nov = add(&f, at("2026-11-30 23:30:00"));
    add(&f, at("2026-12-01 00:00:00"));
    dec = add(&f, at("2026-12-31 23:59:59"));
    jan = add(&f, at("2027-01-01 00:00:00"));
    y25 = add(&f, at("2025-06-15 00:00:00"));
    cr_assert_eq(retention_month(f.it[nov].time_us) + 1, retention_month(f.it[2].time_us));
    cr_assert_eq(retention_year(f.it[dec].time_us) + 1, retention_year(f.it[jan].time_us));
    setenv("TZ", "Asia/Tokyo", 1);
    tzset();
    plan_ok(&f, &p, at("2027-01-02 00:00:00"));
    cr_assert(f.v[nov].keep && f.v[dec].keep && f.v[jan].keep && f.v[y25].keep);
    cr_assert(!f.v[0].keep && !f.v[2].keep);
    cr_assert_eq(f.v[nov].tiers, (unsigned) RETENTION_MONTHLY);
    cr_assert_eq(f.v[dec].tiers, (unsigned) (RETENTION_MONTHLY | RETENTION_YEARLY));
    cr_assert_eq(f.v[jan].tiers, (unsigned) (RETENTION_MONTHLY | RETENTION_YEARLY));
    /* June 2025 is older than 400 days: the year's newest, kept by yearly alone */
    cr_assert_eq(f.v[y25].tiers, (unsigned) RETENTION_YEARLY);
}

Test(retention, representative_is_deterministic)
{
    struct fixture f = {.n = 0};
    struct retention_policy p = {.daily = 30 * 86400, .incomplete = 86400};
    size_t      a, b;

    /* two backups with the same time: the later in the list stands for the day */
    a = add(&f, at("2026-12-03 05:00:00"));
    b = add(&f, at("2026-12-03 05:00:00"));
    plan_ok(&f, &p, at("2026-12-04 00:00:00"));
    cr_assert(!f.v[a].keep && f.v[b].keep);
    plan_ok(&f, &p, at("2026-12-04 00:00:00"));
    cr_assert(!f.v[a].keep && f.v[b].keep, "the same plan twice");
}

Test(retention, the_runbook_policy)
{
    /* daily 30d, weekly 90d, monthly 1y, yearly 7y over 8 years of daily backups */
    static struct fixture f;
    struct retention_policy p = {.daily = 30 * 86400, .weekly = 90 * 86400,
        .monthly = 365 * 86400, .yearly = 7 * 365 * 86400, .incomplete = 86400};
    int64_t     now = at("2026-12-04 12:00:00");
    int64_t     first = at("2019-01-01 01:00:00");
    static struct retention_item many[3300];
    static struct retention_verdict v[3300];
    struct retention_plan pl;
    struct ws_err err = WS_ERR_INIT;
    size_t      n = 0;
    int         daily_n = 0, weekly_n = 0, monthly_n = 0, yearly_n = 0;

    (void) f;
    for (int64_t t = first; t <= now; t += DAY_US, n++)
    {
        memset(&many[n], 0, sizeof(many[n]));
        many[n].id = "x";
        many[n].state = RETENTION_COMPLETE;
        many[n].time_us = t;
        many[n].ready_us = t;
    }
    cr_assert_eq(retention_plan(&p, many, n, now, v, &pl, &err), 0, "%s", err.msg);
    for (size_t i = 0; i < n; i++)
    {
        daily_n += (v[i].tiers & RETENTION_DAILY) != 0;
        weekly_n += (v[i].tiers & RETENTION_WEEKLY) != 0;
        monthly_n += (v[i].tiers & RETENTION_MONTHLY) != 0;
        yearly_n += (v[i].tiers & RETENTION_YEARLY) != 0;
        if (v[i].tiers & RETENTION_WEEKLY)
        {
            struct tm   tm;
            time_t      s = (time_t) (many[i].time_us / 1000000);

            gmtime_r(&s, &tm);
            /* a past week's newest daily backup is its Sunday; this week's is today's */
            cr_assert(tm.tm_wday == 0 || i == n - 1, "weekly on day %d", tm.tm_wday);
        }
        if (v[i].tiers & RETENTION_MONTHLY)
        {
            struct tm   tm;
            time_t      s = (time_t) (many[i].time_us / 1000000 + 86400);

            gmtime_r(&s, &tm);
            cr_assert(tm.tm_mday == 1 || i == n - 1, "monthly not the month's last day");
        }
    }
    cr_assert_eq(daily_n, 30);
    cr_assert(weekly_n == 13 || weekly_n == 14, "%d weekly", weekly_n);
    cr_assert(monthly_n == 12 || monthly_n == 13, "%d monthly", monthly_n);
    /* 7 x 365 days back is 2019-12-06: the Dec 31 backups of 2019..2025 and today's */
    cr_assert_eq(yearly_n, 8);
    cr_assert(v[n - 1].keep);
}

/* ---- combinations, the newest, refusals ---------------------------------------- */

Test(retention, combination_is_the_union_with_every_tier_named)
{
    struct fixture f = {.n = 0};
    struct retention_policy p = {.full = 2, .daily = 3 * 86400, .incomplete = 86400};
    char        buf[128];

    daily(&f, "2026-12-04 01:00:00", 6);
    plan_ok(&f, &p, at("2026-12-04 12:00:00"));
    /* daily: days -2..0 (b3 b4 b5); full: b4 b5 */
    cr_assert_eq(kept(&f), 3);
    cr_assert_eq(f.v[3].tiers, (unsigned) RETENTION_DAILY);
    cr_assert_eq(f.v[5].tiers, (unsigned) (RETENTION_FULL | RETENTION_DAILY));
    cr_assert_str_eq(retention_tiers_format(f.v[5].tiers, buf, sizeof(buf)), "full,daily");
    cr_assert_str_eq(retention_tiers_format(0, buf, sizeof(buf)), "-");
}

Test(retention, no_policy_is_refused)
{
    struct fixture f = {.n = 0};
    struct retention_policy p = {.incomplete = 86400};
    struct ws_err err = WS_ERR_INIT;

    daily(&f, "2026-12-04 01:00:00", 3);
    cr_assert_eq(plan(&f, &p, at("2026-12-04 12:00:00"), &err), -1);
    cr_assert_eq(err.code, WS_ECONFIG);
    cr_assert(strstr(err.msg, "no retention policy") != NULL, "%s", err.msg);
    cr_assert(strstr(err.hint, "retain_full") != NULL, "%s", err.hint);
}

Test(retention, a_policy_that_keeps_nothing_is_refused)
{
    struct fixture f = {.n = 0};
    struct retention_policy p = {.daily = 86400, .weekly = 2 * 86400, .incomplete = 86400};
    struct ws_err err = WS_ERR_INIT;

    daily(&f, "2026-11-01 01:00:00", 3);
    cr_assert_eq(plan(&f, &p, at("2026-12-04 12:00:00"), &err), -1);
    cr_assert_eq(err.code, WS_ECONFIG);
    cr_assert(strstr(err.msg, "would remove every backup") != NULL, "%s", err.msg);
    cr_assert(strstr(err.detail, "b2") != NULL && strstr(err.detail, "33 days") != NULL,
              "%s", err.detail);
}

Test(retention, no_complete_backup_is_not_found)
{
    struct fixture f = {.n = 0};
    struct retention_policy p = {.full = 1, .incomplete = 86400};
    struct ws_err err = WS_ERR_INIT;
    size_t      i = add(&f, at("2026-12-01 01:00:00"));

    f.it[i].state = RETENTION_INCOMPLETE;
    cr_assert_eq(plan(&f, &p, at("2026-12-04 12:00:00"), &err), -1);
    cr_assert_eq(err.code, WS_ENOTFOUND);
    f.n = 0;
    cr_assert_eq(plan(&f, &p, at("2026-12-04 12:00:00"), &err), -1, "an empty list");
    cr_assert_eq(err.code, WS_ENOTFOUND);
}

Test(retention, newest_is_always_kept)
{
    struct fixture f = {.n = 0};
    struct retention_policy p = {.pitr = 10 * 86400, .incomplete = 86400};

    daily(&f, "2026-12-04 01:00:00", 30);
    plan_ok(&f, &p, at("2026-12-04 12:00:00"));
    /* the PITR item: the newest ready at or before Nov 24 12:00 = Nov 24 01:00 (b19) */
    cr_assert_eq(f.plan.pitr_item, 19);
    cr_assert_eq(f.v[19].tiers, (unsigned) RETENTION_PITR);
    cr_assert_eq(f.v[29].tiers, (unsigned) RETENTION_NEWEST);
    cr_assert_eq(kept(&f), 2);
    /* all WAL from b19's start on */
    cr_assert_eq(f.plan.nneed, 1);
    cr_assert_eq(f.plan.need[0].first, 200);
}

/* ---- PITR ------------------------------------------------------------------------ */

Test(retention, pitr_window_keeps_wal_and_older_backups_only_their_own)
{
    struct fixture f = {.n = 0};
    struct retention_policy p = {.monthly = 365 * 86400, .pitr = 7 * 86400,
        .incomplete = 86400};
    struct retention_span have[2] = {{1, 5, 400}, {2, 300, 500}};
    struct retention_span del[16];
    struct ws_err err = WS_ERR_INIT;
    int         nd;

    add(&f, at("2026-09-30 01:00:00"));     /* b0: Sept, WAL 10..11 */
    add(&f, at("2026-10-31 01:00:00"));     /* b1: Oct, 20..21 */
    add(&f, at("2026-11-20 01:00:00"));     /* b2: expired, 30..31 */
    add(&f, at("2026-11-26 01:00:00"));     /* b3: the PITR item (ready before Nov 27 12:00) */
    add(&f, at("2026-11-28 01:00:00"));     /* b4: in the window, expired */
    add(&f, at("2026-11-30 01:00:00"));     /* b5: Nov's newest */
    add(&f, at("2026-12-03 01:00:00"));     /* b6: Dec's newest */
    plan_ok(&f, &p, at("2026-12-04 12:00:00"));
    cr_assert(f.v[0].keep && f.v[1].keep && !f.v[2].keep && f.v[3].keep && !f.v[4].keep &&
              f.v[5].keep && f.v[6].keep);
    cr_assert_eq(f.v[3].tiers, (unsigned) RETENTION_PITR);
    cr_assert_eq(f.plan.nneed, 3);
    cr_assert(f.plan.need[0].first == 10 && f.plan.need[0].last == 11);
    cr_assert(f.plan.need[1].first == 20 && f.plan.need[1].last == 21);
    cr_assert(f.plan.need[2].first == 40 && f.plan.need[2].last == UINT64_MAX);
    cr_assert(retention_needs(&f.plan, 11) && !retention_needs(&f.plan, 12) &&
              !retention_needs(&f.plan, 39) && retention_needs(&f.plan, 1000));
    nd = retention_wal_plan(&f.plan, have, 2, del, 16, &err);
    cr_assert_eq(nd, 3, "%d: %s", nd, err.msg);
    cr_assert(del[0].timeline == 1 && del[0].first == 5 && del[0].last == 9);
    cr_assert(del[1].timeline == 1 && del[1].first == 12 && del[1].last == 19);
    cr_assert(del[2].timeline == 1 && del[2].first == 22 && del[2].last == 39);
    /* timeline 2 (300..500) lies inside the PITR stretch: kept whole */
    cr_assert_eq(retention_wal_plan(&f.plan, have, 2, del, 2, &err), -1, "cap");
}

Test(retention, pitr_window_older_than_every_backup_uses_the_oldest)
{
    struct fixture f = {.n = 0};
    struct retention_policy p = {.full = 1, .pitr = 90 * 86400, .incomplete = 86400};

    daily(&f, "2026-12-04 01:00:00", 5);
    plan_ok(&f, &p, at("2026-12-04 12:00:00"));
    cr_assert_eq(f.plan.pitr_item, 0);
    cr_assert(f.v[0].keep && !f.v[1].keep && f.v[4].keep);
    cr_assert_eq(f.plan.need[0].first, 10);
}

Test(retention, wal_plan_without_pitr_keeps_all_from_the_oldest_kept)
{
    struct fixture f = {.n = 0};
    struct retention_policy p = {.full = 2, .incomplete = 86400};
    struct retention_span have[3] = {{1, 1, 35}, {1, 38, 60}, {3, 1, 5}};
    struct retention_span del[8];
    struct ws_err err = WS_ERR_INIT;
    int         nd;

    daily(&f, "2026-12-04 01:00:00", 4);        /* kept b2 (30..) and b3 */
    plan_ok(&f, &p, at("2026-12-04 12:00:00"));
    nd = retention_wal_plan(&f.plan, have, 3, del, 8, &err);
    cr_assert_eq(nd, 2);
    cr_assert(del[0].timeline == 1 && del[0].first == 1 && del[0].last == 29);
    cr_assert(del[1].timeline == 3 && del[1].first == 1 && del[1].last == 5);
}

Test(retention, wal_plan_removes_nothing_when_a_kept_backup_does_not_say_its_wal)
{
    struct fixture f = {.n = 0};
    struct retention_policy p = {.full = 2, .incomplete = 86400};
    struct retention_span have[1] = {{1, 1, 100}};
    struct retention_span del[8];
    struct ws_err err = WS_ERR_INIT;

    daily(&f, "2026-12-04 01:00:00", 4);
    f.it[3].has_wal = false;            /* the newest: start_wal unreadable */
    plan_ok(&f, &p, at("2026-12-04 12:00:00"));
    cr_assert(f.plan.wal_unknown);
    cr_assert_eq(retention_wal_plan(&f.plan, have, 1, del, 8, &err), 0);
    /* and with no item that needs WAL at all */
    for (size_t i = 0; i < f.n; i++)
        f.it[i].has_wal = false;
    plan_ok(&f, &p, at("2026-12-04 12:00:00"));
    cr_assert_eq(f.plan.nneed, 0);
    cr_assert_eq(retention_wal_plan(&f.plan, have, 1, del, 8, &err), 0);
}

/* ---- incomplete ------------------------------------------------------------------- */

Test(retention, incomplete_grace_and_hidden_leftovers)
{
    struct fixture f = {.n = 0};
    struct retention_policy p = {.full = 1, .incomplete = 86400};
    int64_t     now = at("2026-12-04 12:00:00");
    size_t      run, old, hid, bad;

    add(&f, at("2026-12-01 01:00:00"));
    run = add(&f, 0);
    f.it[run].state = RETENTION_INCOMPLETE;
    f.it[run].activity_us = now - 23 * HOUR_US;        /* running, or recently failed */
    old = add(&f, 0);
    f.it[old].state = RETENTION_INCOMPLETE;
    f.it[old].activity_us = now - 25 * HOUR_US;        /* abandoned */
    hid = add(&f, 0);
    f.it[hid].state = RETENTION_INCOMPLETE;
    f.it[hid].activity_us = now;                        /* an interrupted expire's leftover */
    f.it[hid].hidden = true;
    bad = add(&f, 0);
    f.it[bad].state = RETENTION_UNREADABLE;
    plan_ok(&f, &p, now);
    cr_assert(f.v[0].keep && f.v[run].keep && !f.v[old].keep && !f.v[hid].keep &&
              f.v[bad].keep);
    cr_assert_eq(f.v[run].tiers, (unsigned) RETENTION_GRACE);
    cr_assert_eq(f.v[bad].tiers, (unsigned) RETENTION_DAMAGED);
    cr_assert_eq(f.plan.kept, 1);
    cr_assert_eq(f.plan.expired, 2);
    /* incomplete and damaged items count for nothing: the newest complete one is b0 */
    cr_assert_eq(f.v[0].tiers, (unsigned) RETENTION_FULL);
}

/* ---- periods and the clock --------------------------------------------------------- */

Test(retention, day_boundaries_are_utc)
{
    setenv("TZ", "America/Los_Angeles", 1);
    tzset();
    cr_assert_eq(retention_day(at("2026-12-04 00:00:00")),
                 retention_day(at("2026-12-04 23:59:59")));
    cr_assert_eq(retention_day(at("2026-12-03 23:59:59")) + 1,
                 retention_day(at("2026-12-04 00:00:00")));
    cr_assert_eq(retention_month(at("2026-02-28 12:00:00")) + 1,
                 retention_month(at("2026-03-01 00:00:00")));
    cr_assert_eq(retention_year(at("2026-12-31 23:59:59")), 2026);
}

static int64_t
fixed_now(void)
{
    return INT64_C(1796331202) * 1000000;
}

Test(retention, test_clock_override)
{
    int64_t     real = clock_wall_us();

    clock_test_set_wall(fixed_now);
    cr_assert_eq(clock_wall_us(), fixed_now());
    clock_test_set_wall(NULL);
    cr_assert_geq(clock_wall_us(), real);
}
