/*
 * test_ops_check.c — walship check's alert rules (ops_check.h) on synthetic
 * backup lists: backup age (none, only incomplete or damaged ones, fresh,
 * too old, no limit, newest by stop time whatever the list order), size
 * change (one backup, growth and shrinkage past and within the limit, the
 * previous one of size 0, no limit), archive lag (segments and duration,
 * off, nothing waiting), the verdict (first FAIL wins) and the JSON.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops_check.h"

#define NOW 2000000000LL
#define US(s) ((int64_t) (s) * 1000000)

static struct backup_info
bk(const char *id, int64_t stop_s, uint64_t size)
{
    struct backup_info b;

    memset(&b, 0, sizeof(b));
    snprintf(b.id, sizeof(b.id), "%s", id);
    b.complete = true;
    b.stop_time_us = US(stop_s);
    b.start_time_us = US(stop_s - 60);
    b.size = size;
    return b;
}

Test(ops_check, age_without_backups)
{
    struct ops_check_line l;
    struct backup_info b[2] = {bk("A", NOW - 10, 100), bk("B", NOW - 5, 100)};

    memset(&l, 0, sizeof(l));
    ops_check_backup_age(NULL, 0, 3600, NOW, &l);
    cr_assert_eq(l.state, OPS_CHECK_FAIL);
    cr_assert_eq(l.code, WS_EBACKUP_AGE);
    cr_assert(strstr(l.detail, "no complete backup") != NULL, "%s", l.detail);
    b[0].complete = false;          /* incomplete */
    b[1].unreadable = true;         /* damaged descriptor */
    ops_check_backup_age(b, 2, 3600, NOW, &l);
    cr_assert_eq(l.state, OPS_CHECK_FAIL, "incomplete and damaged backups do not count");
    cr_assert_eq(l.code, WS_EBACKUP_AGE);
}

Test(ops_check, age_limits)
{
    struct ops_check_line l;
    /* out of order: the newest by stop time is "B" */
    struct backup_info b[3] = {bk("A", NOW - 90000, 1), bk("B", NOW - 3000, 1),
                               bk("C", NOW - 50000, 1)};

    ops_check_backup_age(b, 3, 25 * 3600, NOW, &l);
    cr_assert_eq(l.state, OPS_CHECK_OK, "%s", l.detail);
    cr_assert(strstr(l.detail, "B is 50min old (limit 25h)") != NULL, "%s", l.detail);
    ops_check_backup_age(b, 3, 2999, NOW, &l);
    cr_assert_eq(l.state, OPS_CHECK_FAIL);
    cr_assert_eq(l.code, WS_EBACKUP_AGE);
    cr_assert(strstr(l.detail, "alert_backup_age = 2999s") != NULL, "%s", l.detail);
    ops_check_backup_age(b, 3, 3000, NOW, &l);
    cr_assert_eq(l.state, OPS_CHECK_OK, "exactly the limit is fine");
    ops_check_backup_age(b, 1, 0, NOW, &l);
    cr_assert_eq(l.state, OPS_CHECK_OK, "0 = no limit");
    cr_assert(strstr(l.detail, "no limit") != NULL, "%s", l.detail);
}

Test(ops_check, size_change)
{
    struct ops_check_line l;
    struct backup_info b[3] = {bk("A", NOW - 3000, 1000), bk("B", NOW - 2000, 1000),
                               bk("C", NOW - 1000, 1210)};

    ops_check_backup_size(b, 1, 20, &l);
    cr_assert_eq(l.state, OPS_CHECK_OK);
    cr_assert(strstr(l.detail, "only one") != NULL, "%s", l.detail);
    ops_check_backup_size(b, 3, 20, &l);
    cr_assert_eq(l.state, OPS_CHECK_FAIL, "C is 21%% bigger than B: %s", l.detail);
    cr_assert_eq(l.code, WS_EBACKUP_SIZE);
    cr_assert(strstr(l.detail, "backup C") != NULL && strstr(l.detail, "backup B") != NULL,
              "%s", l.detail);
    cr_assert(strstr(l.detail, "+21.0%") != NULL, "%s", l.detail);
    ops_check_backup_size(b, 3, 21, &l);
    cr_assert_eq(l.state, OPS_CHECK_OK, "21%% is within 21%%");
    ops_check_backup_size(b, 3, 0, &l);
    cr_assert_eq(l.state, OPS_CHECK_OK, "0 = no limit");
    b[2].size = 700;                /* shrinks by 30% */
    ops_check_backup_size(b, 3, 20, &l);
    cr_assert_eq(l.state, OPS_CHECK_FAIL);
    cr_assert(strstr(l.detail, "-30.0%") != NULL, "%s", l.detail);
    b[2].complete = false;          /* the incomplete newest is ignored: B vs A */
    ops_check_backup_size(b, 3, 20, &l);
    cr_assert_eq(l.state, OPS_CHECK_OK, "%s", l.detail);
    b[0].size = 0;                  /* from nothing (A) to something (B) */
    ops_check_backup_size(b, 2, 20, &l);
    cr_assert_eq(l.state, OPS_CHECK_FAIL, "A (0 bytes) -> B: %s", l.detail);
    b[1].size = 0;                  /* nothing both times */
    ops_check_backup_size(b, 2, 20, &l);
    cr_assert_eq(l.state, OPS_CHECK_OK, "%s", l.detail);
}

Test(ops_check, archive_lag)
{
    struct ops_check_line l;
    struct cfg_lag off = {0, 0}, segs = {16, 0}, dur = {0, 1800};

    /* the server writes segment 100; 99 is complete; the repository has 99 */
    ops_check_archive_lag(&segs, 100, true, 99, NOW - 10, NOW, &l);
    cr_assert_eq(l.state, OPS_CHECK_OK, "%s", l.detail);
    cr_assert(strstr(l.detail, "0 completed segments") != NULL, "%s", l.detail);
    ops_check_archive_lag(&segs, 100, true, 83, NOW - 10, NOW, &l);
    cr_assert_eq(l.state, OPS_CHECK_OK, "16 waiting is within 16: %s", l.detail);
    ops_check_archive_lag(&segs, 100, true, 82, NOW - 10, NOW, &l);
    cr_assert_eq(l.state, OPS_CHECK_FAIL);
    cr_assert_eq(l.code, WS_EARCHIVE_LAG);
    cr_assert(strstr(l.detail, "17 completed segments") != NULL, "%s", l.detail);
    ops_check_archive_lag(&off, 100, true, 2, NOW - 99999, NOW, &l);
    cr_assert_eq(l.state, OPS_CHECK_OK, "off");
    cr_assert(strstr(l.detail, "off") != NULL, "%s", l.detail);
    /* duration: only when something waits */
    ops_check_archive_lag(&dur, 100, true, 99, NOW - 99999, NOW, &l);
    cr_assert_eq(l.state, OPS_CHECK_OK, "a quiet server is not lagging: %s", l.detail);
    ops_check_archive_lag(&dur, 100, true, 97, NOW - 1000, NOW, &l);
    cr_assert_eq(l.state, OPS_CHECK_OK, "%s", l.detail);
    ops_check_archive_lag(&dur, 100, true, 97, NOW - 1801, NOW, &l);
    cr_assert_eq(l.state, OPS_CHECK_FAIL);
    cr_assert(strstr(l.detail, "alert_archive_lag = 30min") != NULL, "%s", l.detail);
    ops_check_archive_lag(&dur, 100, false, 0, 0, NOW, &l);
    cr_assert_eq(l.state, OPS_CHECK_FAIL, "never archived, nothing in the repository");
    cr_assert(strstr(l.detail, "never") != NULL, "%s", l.detail);
}

Test(ops_check, verdict_is_the_first_failure)
{
    struct ops_check_report rep;

    memset(&rep, 0, sizeof(rep));
    rep.n = 4;
    rep.lines[0] = (struct ops_check_line) {"configuration", OPS_CHECK_OK, WS_OK, ""};
    rep.lines[1] = (struct ops_check_line) {"server", OPS_CHECK_SKIP, WS_OK, ""};
    rep.lines[2] = (struct ops_check_line) {"archiving", OPS_CHECK_FAIL, WS_EARCHIVING, ""};
    rep.lines[3] = (struct ops_check_line) {"backup age", OPS_CHECK_FAIL, WS_EBACKUP_AGE, ""};
    cr_assert_eq(ops_check_verdict(&rep), WS_EARCHIVING);
    cr_assert_eq(exitcode_for(WS_PROG_TOOL, WS_EARCHIVING), 15);
    cr_assert_eq(exitcode_for(WS_PROG_TOOL, WS_EBACKUP_AGE), 12);
    cr_assert_eq(exitcode_for(WS_PROG_TOOL, WS_EBACKUP_SIZE), 13);
    cr_assert_eq(exitcode_for(WS_PROG_TOOL, WS_EARCHIVE_LAG), 14);
    rep.lines[2].state = OPS_CHECK_WARN;
    cr_assert_eq(ops_check_verdict(&rep), WS_EBACKUP_AGE);
    rep.n = 3;
    cr_assert_eq(ops_check_verdict(&rep), WS_OK, "SKIP and WARN do not fail");
}

Test(ops_check, json)
{
    struct ops_check_report rep;
    char       *buf = NULL;
    size_t      size = 0;
    FILE       *f = open_memstream(&buf, &size);

    memset(&rep, 0, sizeof(rep));
    rep.n = 2;
    rep.lines[0] = (struct ops_check_line) {"configuration", OPS_CHECK_OK, WS_OK, "file \"x\""};
    rep.lines[1] = (struct ops_check_line) {"backup age", OPS_CHECK_FAIL, WS_EBACKUP_AGE, "old"};
    cr_assert_not_null(f);
    ops_check_print_json(&rep, f);
    fclose(f);
    cr_assert_str_eq(buf, "{\"schema_version\": 1, \"exit_status\": 12, \"checks\": [\n"
                     "  {\"name\": \"configuration\", \"status\": \"OK\", \"exit_status\": 0, "
                     "\"detail\": \"file \\\"x\\\"\"},\n"
                     "  {\"name\": \"backup age\", \"status\": \"FAIL\", \"exit_status\": 12, "
                     "\"detail\": \"old\"}\n]}\n");
    free(buf);
}
