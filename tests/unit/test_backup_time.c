/*
 * test_backup_time.c — timestamps (backup_time.h): the UTC format, round
 * trips, zones (Z, UTC, +HH, +HH:MM, -HHMM), fractions, the local zone
 * through TZ, invalid dates, junk, and the hint on failure.
 *
 * Every test runs in its own forked process (so setenv("TZ") stays there);
 * .init clears WALSHIP_*.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backup_time.h"
#include "harness.h"
#include "log.h"

/* 2026-12-03 20:53:22 UTC */
#define T0 INT64_C(1796331202)

static void
setup(void)
{
    harness_clear_walship_env();
    log_set_level(LOG_LEVEL_ERROR);
}

TestSuite(backup_time, .init = setup);

/* ---- helpers ---------------------------------------------------------------- */

static int64_t
parse_ok(const char *s)
{
    struct ws_err err = WS_ERR_INIT;
    int64_t     us = -42;

    cr_assert_eq(backup_time_parse(s, &us, &err), 0, "\"%s\": %s", s, err.msg);
    return us;
}

static void
parse_bad(const char *s)
{
    struct ws_err err = WS_ERR_INIT;
    int64_t     us = -42;

    cr_assert_eq(backup_time_parse(s, &us, &err), -1, "\"%s\" parsed as %" PRId64, s, us);
    cr_assert_eq(err.code, WS_EINPUT, "\"%s\": code %s", s, err_code_name(err.code));
    cr_assert_not_null(strstr(err.msg, s), "\"%s\" not in \"%s\"", s, err.msg);
    cr_assert_eq(us, -42, "\"%s\" changed the output on failure", s);
}

static void
set_tz(const char *tz)
{
    cr_assert_eq(setenv("TZ", tz, 1), 0);
    tzset();
}

/* ---- timestamps -------------------------------------------------------------------- */

Test(backup_time, time_format)
{
    char        buf[64];

    backup_time_format(0, buf, sizeof(buf));
    cr_assert_str_eq(buf, "1970-01-01 00:00:00.000000+00");
    backup_time_format(T0 * 1000000 + 123456, buf, sizeof(buf));
    cr_assert_str_eq(buf, "2026-12-03 20:53:22.123456+00");
    backup_time_format(T0 * 1000000 + 1, buf, sizeof(buf));
    cr_assert_str_eq(buf, "2026-12-03 20:53:22.000001+00");
    backup_time_format(-1, buf, sizeof(buf));
    cr_assert_str_eq(buf, "1969-12-31 23:59:59.999999+00");
    backup_time_format(-1000000, buf, sizeof(buf));
    cr_assert_str_eq(buf, "1969-12-31 23:59:59.000000+00");

    /* UTC whatever TZ says */
    set_tz("America/Sao_Paulo");
    backup_time_format(T0 * 1000000, buf, sizeof(buf));
    cr_assert_str_eq(buf, "2026-12-03 20:53:22.000000+00");

    /* truncated, but terminated */
    memset(buf, 'x', sizeof(buf));
    backup_time_format(T0 * 1000000, buf, 11);
    cr_assert_str_eq(buf, "2026-12-03");
}

Test(backup_time, time_round_trip)
{
    static const int64_t vals[] = {
        0, 1, 999999, 1000000, T0 * 1000000, T0 * 1000000 + 123456, T0 * 1000000 + 999999,
        INT64_C(1709251199) * 1000000 + 500000,     /* 2024-02-29 23:59:59.5 */
        INT64_C(951868800) * 1000000,               /* 2000-03-01 */
        INT64_C(4102444799) * 1000000 + 999999,     /* 2099-12-31 23:59:59.999999 */
    };
    static const char *const zones[] = {"UTC", "Europe/Berlin", "Pacific/Chatham",
                                        "America/St_Johns"};

    for (size_t z = 0; z < sizeof(zones) / sizeof(zones[0]); z++)
    {
        set_tz(zones[z]);
        for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++)
        {
            char        buf[64];

            backup_time_format(vals[i], buf, sizeof(buf));
            cr_assert_eq(parse_ok(buf), vals[i], "%s (TZ=%s)", buf, zones[z]);
        }
    }
}

Test(backup_time, time_parse_zones)
{
    const int64_t want = T0 * 1000000;

    set_tz("Europe/Berlin");        /* an explicit zone never consults TZ */
    cr_assert_eq(parse_ok("2026-12-03 20:53:22Z"), want);
    cr_assert_eq(parse_ok("2026-12-03 20:53:22z"), want);
    cr_assert_eq(parse_ok("2026-12-03 20:53:22UTC"), want);
    cr_assert_eq(parse_ok("2026-12-03 20:53:22 UTC"), want);
    cr_assert_eq(parse_ok("2026-12-03 20:53:22+00"), want);
    cr_assert_eq(parse_ok("2026-12-03 20:53:22-00"), want);
    cr_assert_eq(parse_ok("2026-12-03 20:53:22+00:00"), want);
    cr_assert_eq(parse_ok("2026-12-03 22:53:22+02"), want);
    cr_assert_eq(parse_ok("2026-12-03 22:53:22+02:00"), want);
    cr_assert_eq(parse_ok("2026-12-03 22:53:22 +02"), want);
    cr_assert_eq(parse_ok("2026-12-04 02:23:22+05:30"), want);
    cr_assert_eq(parse_ok("2026-12-04 02:23:22+0530"), want);
    cr_assert_eq(parse_ok("2026-12-03 17:53:22-03"), want);
    cr_assert_eq(parse_ok("2026-12-03 17:23:22-03:30"), want);
    cr_assert_eq(parse_ok("2026-12-04 11:38:22+14:45"), want);
    /* across midnight and a month end */
    cr_assert_eq(parse_ok("2026-11-30 23:30:00-01"), INT64_C(1796085000) * 1000000);
    cr_assert_eq(parse_ok("2026-12-01 00:30:00Z"), INT64_C(1796085000) * 1000000);
    cr_assert_eq(parse_ok("2026-12-01 01:00:00+01"), INT64_C(1796083200) * 1000000);
    /* 'T' separator, surrounding spaces, seconds left out */
    cr_assert_eq(parse_ok("2026-12-03T20:53:22Z"), want);
    cr_assert_eq(parse_ok("2026-12-03T22:53:22+02"), want);
    cr_assert_eq(parse_ok("  2026-12-03 20:53:22Z  "), want);
    cr_assert_eq(parse_ok("2026-12-03 20:53Z"), want - 22 * 1000000);
    cr_assert_eq(parse_ok("2026-12-03T20:53+00"), want - 22 * 1000000);
    /* leap day */
    cr_assert_eq(parse_ok("2024-02-29 12:00:00Z"), INT64_C(1709208000) * 1000000);
    cr_assert_eq(parse_ok("2000-02-29 00:00:00Z"), INT64_C(951782400) * 1000000);
    cr_assert_eq(parse_ok("1970-01-01 00:00:00Z"), 0);
}

Test(backup_time, time_parse_fraction)
{
    const int64_t want = T0 * 1000000;

    cr_assert_eq(parse_ok("2026-12-03 20:53:22.5Z"), want + 500000);
    cr_assert_eq(parse_ok("2026-12-03 20:53:22.000001Z"), want + 1);
    cr_assert_eq(parse_ok("2026-12-03 20:53:22.123456+00"), want + 123456);
    cr_assert_eq(parse_ok("2026-12-03 22:53:22.123456+02"), want + 123456);
    cr_assert_eq(parse_ok("2026-12-03T20:53:22.1Z"), want + 100000);
    cr_assert_eq(parse_ok("2026-12-03 20:53:22.0Z"), want);
    /* beyond microseconds: truncated, not rounded */
    cr_assert_eq(parse_ok("2026-12-03 20:53:22.1234567Z"), want + 123456);
    cr_assert_eq(parse_ok("2026-12-03 20:53:22.9999999Z"), want + 999999);
    cr_assert_eq(parse_ok("2026-12-03 20:53:22.000000999999999999999Z"), want);
    cr_assert_eq(parse_ok("2026-12-03 20:53:22.12345678901234567890123+05:30"),
                 want - (5 * 3600 + 30 * 60) * INT64_C(1000000) + 123456);
}

Test(backup_time, time_parse_local_zone)
{
    const int64_t want = T0 * 1000000;

    /* winter: CET, +01 */
    set_tz("Europe/Berlin");
    cr_assert_eq(parse_ok("2026-12-03 21:53:22"), want);
    cr_assert_eq(parse_ok("2026-12-03T21:53:22.25"), want + 250000);
    cr_assert_eq(parse_ok("2026-12-03 21:53"), want - 22 * 1000000);
    /* summer: CEST, +02 */
    cr_assert_eq(parse_ok("2026-07-01 12:00:00"), INT64_C(1782900000) * 1000000);
    /* the explicit zone still wins */
    cr_assert_eq(parse_ok("2026-12-03 20:53:22+00"), want);

    set_tz("UTC");
    cr_assert_eq(parse_ok("2026-12-03 20:53:22"), want);
    cr_assert_eq(parse_ok("2026-07-01 10:00:00"), INT64_C(1782900000) * 1000000);

    set_tz("America/New_York");     /* EST, -05 */
    cr_assert_eq(parse_ok("2026-12-03 15:53:22"), want);

    set_tz("Asia/Kolkata");         /* +05:30, no DST */
    cr_assert_eq(parse_ok("2026-12-04 02:23:22"), want);

    /* same text, different zones, different instants */
    set_tz("Europe/Berlin");
    {
        int64_t     berlin = parse_ok("2026-12-03 12:00:00");

        set_tz("UTC");
        cr_assert_eq(parse_ok("2026-12-03 12:00:00") - berlin, INT64_C(3600) * 1000000);
    }
}

Test(backup_time, time_parse_invalid_dates)
{
    static const char *const bad[] = {
        "2026-02-30 00:00:00Z", "2026-02-29 00:00:00Z", "2026-04-31 12:00:00+02",
        "2026-02-30 00:00:00", "2026-13-01 00:00:00Z", "2026-00-10 00:00:00Z",
        "2026-01-00 00:00:00Z", "2026-01-32 00:00:00Z", "2026-01-01 24:00:00Z",
        "2026-01-01 12:60:00Z", "2026-01-01 12:00:61Z", "1969-12-31 23:59:59Z",
        "1900-02-29 00:00:00Z", "2100-02-29 00:00:00Z", "2026-01-01 00:00:00+16",
        "2026-01-01 00:00:00+05:60", NULL};

    set_tz("Europe/Berlin");
    for (int i = 0; bad[i] != NULL; i++)
        parse_bad(bad[i]);
    set_tz("UTC");
    parse_bad("2026-02-30 00:00:00");
    parse_bad("2026-06-31 00:00:00");
}

Test(backup_time, time_parse_garbage_and_trailing_junk)
{
    static const char *const bad[] = {
        "", " ", "now", "yesterday", "2026", "2026-12-03", "2026-12-03 ", "2026-12-03T",
        "2026-12-03 20", "2026-12-03 20:", "2026-12-03 20:5", "2026-12-03 20:53:",
        "2026-12-03 20:53:2", "2026-12-03 20:53:22.", "2026-12-03 20:53:22.Z",
        "26-12-03 20:53:22", "2026/12/03 20:53:22", "2026-12-3 20:53:22", "2026-1-03 20:53:22",
        "2026-12-03_20:53:22", "2026-12-03  20:53:22", "20261203T205322Z",
        "2026-12-03 20:53:22Zjunk", "2026-12-03 20:53:22Z Z", "2026-12-03 20:53:22 x",
        "2026-12-03 20:53:22+02x", "2026-12-03 20:53:22+02:00:00", "2026-12-03 20:53:22+2",
        "2026-12-03 20:53:22+", "2026-12-03 20:53:22-", "2026-12-03 20:53:22+02:3",
        "2026-12-03 20:53:22 CET", "2026-12-03 20:53:22 utc", "2026-12-03 20:53:22.5.5",
        "2026-12-03 20:53:22,5", "-2026-12-03 20:53:22", "+2026-12-03 20:53:22",
        "2026-12-03 20:53:22Z\n", "2026-12-03 20:53:22\t", "\t2026-12-03 20:53:22",
        "2026-12-03 20:53:22Z;DROP", NULL};

    for (int i = 0; bad[i] != NULL; i++)
        parse_bad(bad[i]);
}

Test(backup_time, time_parse_error_has_hint)
{
    struct ws_err err = WS_ERR_INIT;
    int64_t     us;

    cr_assert_eq(backup_time_parse("tomorrow-ish", &us, &err), -1);
    cr_assert_eq(err.code, WS_EINPUT);
    cr_assert_str_eq(err.msg, "invalid timestamp \"tomorrow-ish\"");
    cr_assert_neq(err.hint[0], '\0');
}
