/*
 * test_backup_choose.c — the choice of a backup (backup_choose.h) over lists
 * built in memory: by id, by time, by LSN, the other target kinds, damaged
 * and off-lineage backups skipped, no complete backup.
 *
 * Every test runs in its own forked process; .init clears WALSHIP_*.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backup_choose.h"
#include "backup_time.h"
#include "harness.h"
#include "log.h"
#include "pg.h"

static void
setup(void)
{
    harness_clear_walship_env();
    log_set_level(LOG_LEVEL_ERROR);
}

TestSuite(backup_choose, .init = setup);

/* ---- backup_choose -------------------------------------------------------------------- */

/* A list as catalog_backups returns it: oldest first. */
struct fixture_backup
{
    const char *id;
    bool        complete;
    int64_t     stop_s;         /* stop time, unix seconds */
    uint64_t    stop_lsn;
};

static struct backup_info *
make_list(const struct fixture_backup *f, int n)
{
    struct backup_info *list = calloc((size_t) (n ? n : 1), sizeof(*list));

    cr_assert_not_null(list);
    for (int i = 0; i < n; i++)
    {
        strcpy(list[i].id, f[i].id);
        list[i].complete = f[i].complete;
        if (f[i].complete)
        {
            list[i].format = BACKUP_INFO_FORMAT;
            list[i].stop_time_us = f[i].stop_s * 1000000 + 250000;
            list[i].stop_lsn = f[i].stop_lsn;
            list[i].start_time_us = (f[i].stop_s - 60) * 1000000;
        }
    }
    return list;
}

/* 2026-12-01 .. 2026-12-05 at 00:00 UTC, a backup starting each day, 10 min long */
#define DAY INT64_C(86400)
#define D1 INT64_C(1796083200)

static const struct fixture_backup four[] = {
    {"20261201T000000Z", true, D1 + 600, UINT64_C(0x100000000)},
    {"20261202T000000Z", true, D1 + DAY + 600, UINT64_C(0x200000000)},
    {"20261203T000000Z", false, 0, 0},                          /* incomplete */
    {"20261204T000000Z", true, D1 + 3 * DAY + 600, UINT64_C(0x400000000)},
    {"20261205T000000Z", false, 0, 0},                          /* incomplete, newest */
};
#define NFOUR ((int) (sizeof(four) / sizeof(four[0])))

static int
choose(const struct backup_info *list, int n, const char *id, struct backup_target t,
       struct ws_err *err)
{
    return backup_choose(list, n, id, &t, err);
}

static struct backup_target
at_time(int64_t us)
{
    struct backup_target t = {BACKUP_TARGET_TIME, us, 0};

    return t;
}

static struct backup_target
at_lsn(uint64_t lsn)
{
    struct backup_target t = {BACKUP_TARGET_LSN, 0, lsn};

    return t;
}

static struct backup_target
of_kind(enum backup_target_kind k)
{
    struct backup_target t = {k, 0, 0};

    return t;
}

Test(backup_choose, choose_by_id)
{
    struct backup_info *l = make_list(four, NFOUR);
    struct ws_err err = WS_ERR_INIT;
    char        stop[64];

    /* found, whatever the target kind that cannot fail */
    for (int k = BACKUP_TARGET_END; k <= BACKUP_TARGET_NAME; k++)
    {
        if (k == BACKUP_TARGET_TIME || k == BACKUP_TARGET_LSN)
            continue;
        cr_assert_eq(choose(l, NFOUR, "20261201T000000Z", of_kind(k), &err), 0, "%s", err.msg);
        cr_assert_eq(choose(l, NFOUR, "20261204T000000Z", of_kind(k), &err), 3, "%s", err.msg);
    }
    /* an older backup even though a newer one exists, with a reachable target */
    cr_assert_eq(choose(l, NFOUR, "20261201T000000Z", at_time(l[3].stop_time_us + 1), &err), 0,
                 "%s", err.msg);
    cr_assert_eq(choose(l, NFOUR, "20261202T000000Z", at_time(l[1].stop_time_us), &err), 1,
                 "%s", err.msg);
    cr_assert_eq(choose(l, NFOUR, "20261202T000000Z", at_lsn(l[1].stop_lsn), &err), 1, "%s",
                 err.msg);

    /* unknown */
    err_clear(&err);
    cr_assert_eq(choose(l, NFOUR, "20261130T000000Z", of_kind(BACKUP_TARGET_END), &err), -1);
    cr_assert_eq(err.code, WS_ENOTFOUND, "%s", err_code_name(err.code));
    cr_assert_not_null(strstr(err.msg, "20261130T000000Z"), "%s", err.msg);
    cr_assert_eq(choose(l, NFOUR, "nonsense", at_time(0), &err), -1);
    cr_assert_eq(err.code, WS_ENOTFOUND);
    cr_assert_eq(choose(l, 0, "20261201T000000Z", of_kind(BACKUP_TARGET_END), &err), -1);
    cr_assert_eq(err.code, WS_ENOTFOUND);

    /* incomplete */
    cr_assert_eq(choose(l, NFOUR, "20261203T000000Z", of_kind(BACKUP_TARGET_END), &err), -1);
    cr_assert_eq(err.code, WS_EINPUT, "%s", err_code_name(err.code));
    cr_assert_not_null(strstr(err.msg, "20261203T000000Z"), "%s", err.msg);
    cr_assert_not_null(strstr(err.msg, "incomplete"), "%s", err.msg);
    cr_assert_eq(choose(l, NFOUR, "20261205T000000Z", at_time(INT64_MAX), &err), -1);
    cr_assert_eq(err.code, WS_EINPUT);

    /* cannot reach a time target before its stop time */
    cr_assert_eq(choose(l, NFOUR, "20261204T000000Z", at_time(l[3].stop_time_us - 1), &err),
                 -1);
    cr_assert_eq(err.code, WS_EINPUT, "%s", err_code_name(err.code));
    backup_time_format(l[3].stop_time_us, stop, sizeof(stop));
    cr_assert_not_null(strstr(err.msg, stop), "\"%s\" not in \"%s\"", stop, err.msg);
    cr_assert_not_null(strstr(err.msg, "20261204T000000Z"), "%s", err.msg);
    cr_assert_neq(err.hint[0], '\0');

    /* nor an LSN target before its stop LSN */
    cr_assert_eq(choose(l, NFOUR, "20261204T000000Z", at_lsn(l[3].stop_lsn - 1), &err), -1);
    cr_assert_eq(err.code, WS_EINPUT);
    cr_assert_not_null(strstr(err.msg, "LSN 4/0"), "%s", err.msg);
    free(l);
}

Test(backup_choose, choose_by_time)
{
    struct backup_info *l = make_list(four, NFOUR);
    struct ws_err err = WS_ERR_INIT;
    char        first[64], want[64];

    /* newest complete backup with stop_time <= target */
    cr_assert_eq(choose(l, NFOUR, NULL, at_time(l[0].stop_time_us), &err), 0, "%s", err.msg);
    cr_assert_eq(choose(l, NFOUR, NULL, at_time(l[1].stop_time_us - 1), &err), 0, "%s",
                 err.msg);
    cr_assert_eq(choose(l, NFOUR, NULL, at_time(l[1].stop_time_us), &err), 1, "%s", err.msg);
    /* the incomplete backup of the 3rd is skipped (its stop time, 0, is "before") */
    cr_assert_eq(choose(l, NFOUR, NULL, at_time((D1 + 2 * DAY + 3600) * 1000000), &err), 1,
                 "%s", err.msg);
    cr_assert_eq(choose(l, NFOUR, NULL, at_time(l[3].stop_time_us - 1), &err), 1, "%s",
                 err.msg);
    cr_assert_eq(choose(l, NFOUR, NULL, at_time(l[3].stop_time_us), &err), 3, "%s", err.msg);
    /* after everything: the newest complete one, not the incomplete newest */
    cr_assert_eq(choose(l, NFOUR, NULL, at_time(INT64_MAX), &err), 3, "%s", err.msg);

    /* before every backup: WS_EINPUT naming the earliest recoverable time */
    err_clear(&err);
    cr_assert_eq(choose(l, NFOUR, NULL, at_time(l[0].stop_time_us - 1), &err), -1);
    cr_assert_eq(err.code, WS_EINPUT, "%s", err_code_name(err.code));
    backup_time_format(l[0].stop_time_us, first, sizeof(first));
    backup_time_format(l[0].stop_time_us - 1, want, sizeof(want));
    cr_assert_str_eq(first, "2026-12-01 00:10:00.250000+00");
    cr_assert_not_null(strstr(err.msg, first), "\"%s\" not in \"%s\"", first, err.msg);
    cr_assert_not_null(strstr(err.msg, want), "\"%s\" not in \"%s\"", want, err.msg);
    cr_assert_not_null(strstr(err.detail, "20261201T000000Z"), "%s", err.detail);

    /* the earliest is the oldest complete one, even after an incomplete oldest */
    {
        static const struct fixture_backup f[] = {
            {"20261130T000000Z", false, 0, 0},
            {"20261201T000000Z", true, D1 + 600, 1},
        };
        struct backup_info *l2 = make_list(f, 2);

        cr_assert_eq(choose(l2, 2, NULL, at_time(0), &err), -1);
        cr_assert_eq(err.code, WS_EINPUT);
        cr_assert_not_null(strstr(err.msg, first), "\"%s\" not in \"%s\"", first, err.msg);
        cr_assert_eq(choose(l2, 2, NULL, at_time(l2[1].stop_time_us), &err), 1);
        free(l2);
    }
    free(l);
}

Test(backup_choose, choose_by_lsn)
{
    struct backup_info *l = make_list(four, NFOUR);
    struct ws_err err = WS_ERR_INIT;

    cr_assert_eq(choose(l, NFOUR, NULL, at_lsn(UINT64_C(0x100000000)), &err), 0, "%s", err.msg);
    cr_assert_eq(choose(l, NFOUR, NULL, at_lsn(UINT64_C(0x1FFFFFFFF)), &err), 0, "%s", err.msg);
    cr_assert_eq(choose(l, NFOUR, NULL, at_lsn(UINT64_C(0x200000000)), &err), 1, "%s", err.msg);
    cr_assert_eq(choose(l, NFOUR, NULL, at_lsn(UINT64_C(0x3FFFFFFFF)), &err), 1, "%s", err.msg);
    cr_assert_eq(choose(l, NFOUR, NULL, at_lsn(UINT64_MAX), &err), 3, "%s", err.msg);

    err_clear(&err);
    cr_assert_eq(choose(l, NFOUR, NULL, at_lsn(UINT64_C(0xFFFFFFFF)), &err), -1);
    cr_assert_eq(err.code, WS_EINPUT, "%s", err_code_name(err.code));
    cr_assert_not_null(strstr(err.msg, "1/0"), "%s", err.msg);
    cr_assert_not_null(strstr(err.msg, "0/FFFFFFFF"), "%s", err.msg);
    cr_assert_not_null(strstr(err.detail, "20261201T000000Z"), "%s", err.detail);
    free(l);
}

Test(backup_choose, choose_other_targets_take_newest_complete)
{
    static const enum backup_target_kind kinds[] = {BACKUP_TARGET_END, BACKUP_TARGET_IMMEDIATE,
                                                    BACKUP_TARGET_XID, BACKUP_TARGET_NAME};
    struct backup_info *l = make_list(four, NFOUR);
    struct ws_err err = WS_ERR_INIT;

    for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++)
    {
        struct backup_target t = of_kind(kinds[k]);

        /* the time and LSN fields mean nothing for these kinds */
        t.time_us = 1;
        t.lsn = 1;
        cr_assert_eq(backup_choose(l, NFOUR, NULL, &t, &err), 3, "kind %d: %s", (int) kinds[k],
                     err.msg);
        cr_assert_eq(backup_choose(l, 3, NULL, &t, &err), 1, "kind %d", (int) kinds[k]);
        cr_assert_eq(backup_choose(l, 1, NULL, &t, &err), 0, "kind %d", (int) kinds[k]);
    }
    free(l);
}

/* Damaged descriptors (unreadable) and backups off the target timeline's lineage. */
Test(backup_choose, choose_skips_unreadable_and_off_lineage)
{
    struct backup_info *l = make_list(four, NFOUR);
    struct ws_err err = WS_ERR_INIT;

    /* the newest complete one is off the lineage: the one before it */
    l[3].off_lineage = true;
    cr_assert_eq(choose(l, NFOUR, NULL, of_kind(BACKUP_TARGET_END), &err), 1, "%s", err.msg);
    cr_assert_eq(choose(l, NFOUR, NULL, at_time(INT64_MAX), &err), 1, "%s", err.msg);
    cr_assert_eq(choose(l, NFOUR, NULL, at_lsn(UINT64_MAX), &err), 1, "%s", err.msg);
    cr_assert_eq(choose(l, NFOUR, "20261204T000000Z", of_kind(BACKUP_TARGET_END), &err), -1);
    cr_assert_eq(err.code, WS_EINPUT, "%s", err_code_name(err.code));
    cr_assert_not_null(strstr(err.msg, "20261204T000000Z"), "%s", err.msg);

    /* the earliest recoverable point ignores backups off the lineage */
    l[0].off_lineage = true;
    cr_assert_eq(choose(l, NFOUR, NULL, at_time(l[0].stop_time_us), &err), -1);
    cr_assert_eq(err.code, WS_EINPUT, "%s", err_code_name(err.code));
    {
        char        second[64];

        backup_time_format(l[1].stop_time_us, second, sizeof(second));
        cr_assert_not_null(strstr(err.msg, second), "\"%s\" not in \"%s\"", second, err.msg);
    }

    /* all complete ones off the lineage: WS_ENOTFOUND */
    l[1].off_lineage = true;
    cr_assert_eq(choose(l, NFOUR, NULL, of_kind(BACKUP_TARGET_END), &err), -1);
    cr_assert_eq(err.code, WS_ENOTFOUND, "%s", err_code_name(err.code));
    free(l);

    /* an unreadable descriptor: never chosen; by id, WS_ECORRUPT */
    l = make_list(four, NFOUR);
    memset(&l[3], 0, sizeof(l[3]));
    strcpy(l[3].id, "20261204T000000Z");
    l[3].unreadable = true;
    cr_assert_eq(choose(l, NFOUR, NULL, of_kind(BACKUP_TARGET_END), &err), 1, "%s", err.msg);
    cr_assert_eq(choose(l, NFOUR, NULL, at_time(INT64_MAX), &err), 1, "%s", err.msg);
    cr_assert_eq(choose(l, NFOUR, "20261204T000000Z", of_kind(BACKUP_TARGET_END), &err), -1);
    cr_assert_eq(err.code, WS_ECORRUPT, "%s", err_code_name(err.code));
    free(l);
}

Test(backup_choose, choose_without_complete_backup)
{
    static const struct fixture_backup none[] = {
        {"20261201T000000Z", false, 0, 0},
        {"20261202T000000Z", false, 0, 0},
    };
    struct backup_info *l = make_list(none, 2);
    struct backup_target targets[] = {of_kind(BACKUP_TARGET_END), of_kind(BACKUP_TARGET_IMMEDIATE),
                                      at_time(INT64_MAX), at_time(0), at_lsn(UINT64_MAX),
                                      at_lsn(0), of_kind(BACKUP_TARGET_XID),
                                      of_kind(BACKUP_TARGET_NAME)};

    for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++)
    {
        struct ws_err err = WS_ERR_INIT;

        cr_assert_eq(backup_choose(l, 2, NULL, &targets[i], &err), -1, "target %zu", i);
        cr_assert_eq(err.code, WS_ENOTFOUND, "target %zu: %s", i, err_code_name(err.code));
        err_clear(&err);
        cr_assert_eq(backup_choose(l, 0, NULL, &targets[i], &err), -1, "target %zu", i);
        cr_assert_eq(err.code, WS_ENOTFOUND, "target %zu: %s", i, err_code_name(err.code));
        err_clear(&err);
        cr_assert_eq(backup_choose(NULL, 0, NULL, &targets[i], &err), -1, "target %zu", i);
        cr_assert_eq(err.code, WS_ENOTFOUND);
    }
    free(l);
}
