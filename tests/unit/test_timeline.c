/*
 * test_timeline.c — timeline history files (timeline.h): parsing, an empty
 * file, a bad LSN naming the file, timelines that do not increase.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "log.h"
#include "timeline.h"

static void
setup(void)
{
    harness_clear_walship_env();
    log_set_level(LOG_LEVEL_ERROR);
}

TestSuite(timeline, .init = setup);

/* ---- timeline history files ------------------------------------------------------ */

Test(timeline, history_parse)
{
    struct timeline_history_entry *h = NULL;
    struct ws_err err = WS_ERR_INIT;
    int         n;

    n = timeline_history_parse("1\t0/3000000\tno recovery target specified\n\n"
                             "2\t0/5000028\tafter 2026-12-03 10:00:00+00\n", "00000003.history",
                             &h, &err);
    cr_assert_eq(n, 2, "%s", err.msg);
    cr_assert_eq(h[0].tli, 1);
    cr_assert_eq(h[0].switchpoint, 0x3000000ULL);
    cr_assert_eq(h[1].tli, 2);
    cr_assert_eq(h[1].switchpoint, 0x5000028ULL);
    free(h);

    h = NULL;
    cr_assert_eq(timeline_history_parse("", "00000002.history", &h, &err), 0);
    free(h);

    cr_assert_eq(timeline_history_parse("1\tnot-an-lsn\tx\n", "00000002.history", &h, &err), -1);
    cr_assert_eq(err.code, WS_ECORRUPT);
    cr_assert_not_null(strstr(err.msg, "00000002.history"), "%s", err.msg);
    cr_assert_eq(timeline_history_parse("2\t0/1\tx\n1\t0/2\ty\n", "00000003.history", &h, &err), -1,
                 "timelines must increase");
}
