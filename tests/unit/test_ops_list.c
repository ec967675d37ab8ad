/*
 * test_ops_list.c — the windows and gaps of `walship list` and `walship
 * verify` (ops_list.h) on synthetic views: ranges of several timelines,
 * backups complete, incomplete and damaged, a backup whose WAL has a gap or
 * whose stop segment is missing, gaps from a backup's start up to a stop
 * segment beyond the newest archived one, a damaged segment dropped from
 * its range (shrinking, splitting, removing it), and the JSON printed for a
 * view parsed by python3 (when present) with the fields docs/walship.md
 * lists.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ops_list.h"
#include "wal.h"

#define SEG (16u * 1024 * 1024)

static struct ops_range ranges_tl1_tl2[] = {
    {1, 1, 4, 400}, {1, 6, 9, 400}, {1, 12, 12, 100}, {2, 10, 20, 1100},
};

static struct ops_view
view_of(struct ops_range *r, size_t n)
{
    struct ops_view v;

    memset(&v, 0, sizeof(v));
    v.seg_size = SEG;
    v.ranges = malloc(n * sizeof(*r));
    cr_assert_not_null(v.ranges);
    memcpy(v.ranges, r, n * sizeof(*r));
    v.nranges = n;
    return v;
}

static struct backup_info
backup(const char *id, uint32_t tl, uint64_t start_seg, uint64_t stop_seg)
{
    struct backup_info b;

    memset(&b, 0, sizeof(b));
    snprintf(b.id, sizeof(b.id), "%s", id);
    b.complete = true;
    b.timeline = b.start_timeline = tl;
    wal_segment_name(b.start_wal, sizeof(b.start_wal), tl, start_seg, SEG);
    wal_segment_name(b.stop_wal, sizeof(b.stop_wal), tl, stop_seg, SEG);
    b.start_lsn = start_seg * SEG + 40;
    b.stop_lsn = stop_seg * SEG + 256;
    b.stop_time_us = 1700000000000000LL;
    return b;
}

struct gaps
{
    struct ops_gap g[16];
    int         n;
};

static void
collect(const struct ops_gap *g, void *arg)
{
    struct gaps *s = arg;

    cr_assert_lt(s->n, 16);
    s->g[s->n++] = *g;
}

static void
assert_gap(const struct gaps *s, int i, uint32_t tl, uint64_t first, uint64_t last)
{
    cr_assert_gt(s->n, i, "gap %d missing", i);
    cr_assert(s->g[i].timeline == tl && s->g[i].first == first && s->g[i].last == last,
              "gap %d is %u:%lu..%lu, expected %u:%lu..%lu", i, s->g[i].timeline,
              (unsigned long) s->g[i].first, (unsigned long) s->g[i].last, tl,
              (unsigned long) first, (unsigned long) last);
}

Test(ops_list, gaps_between_ranges)
{
    struct ops_view v = view_of(ranges_tl1_tl2, 4);
    struct gaps s = {0};

    cr_assert_eq(ops_gaps(&v, 1, 1, 0, collect, &s), 2);
    assert_gap(&s, 0, 1, 5, 5);
    assert_gap(&s, 1, 1, 10, 11);
    memset(&s, 0, sizeof(s));
    cr_assert_eq(ops_gaps(&v, 2, 10, 0, collect, &s), 0, "timeline 2 is continuous");
    cr_assert_eq(ops_gaps(&v, 3, 1, 0, NULL, NULL), 0, "no WAL, no range: nothing to report");
    free(v.ranges);
}

Test(ops_list, gaps_from_a_start_up_to_a_later_stop)
{
    struct ops_view v = view_of(ranges_tl1_tl2, 4);
    struct gaps s = {0};

    /* from segment 7: the gap before 6 is not after it */
    cr_assert_eq(ops_gaps(&v, 1, 7, 15, collect, &s), 2);
    assert_gap(&s, 0, 1, 10, 11);
    assert_gap(&s, 1, 1, 13, 15);
    /* a start before the first range: that stretch is missing too */
    memset(&s, 0, sizeof(s));
    cr_assert_eq(ops_gaps(&v, 2, 8, 0, collect, &s), 1);
    assert_gap(&s, 0, 2, 8, 9);
    /* at_least inside the archive adds nothing */
    cr_assert_eq(ops_gaps(&v, 2, 10, 15, NULL, NULL), 0);
    free(v.ranges);
}

Test(ops_list, windows)
{
    struct ops_view v = view_of(ranges_tl1_tl2, 4);
    struct backup_info ok = backup("20261203T205322Z", 1, 2, 3);
    struct backup_info across = backup("20261203T215322Z", 1, 4, 6);
    struct backup_info nostop = backup("20261203T225322Z", 1, 10, 10);
    struct backup_info tl2 = backup("20261203T235322Z", 2, 11, 12);
    struct ops_window w;

    cr_assert(ops_window_of(&v, &ok, &w));
    cr_assert_eq(w.timeline, 1);
    cr_assert_eq(w.backup, &ok);
    cr_assert_eq(w.start_lsn, ok.stop_lsn);
    cr_assert_eq(w.start_time_us, ok.stop_time_us);
    cr_assert_eq(w.end_segment, 4, "the run holding the stop segment ends at 4");
    cr_assert_eq(w.end_lsn, 5ull * SEG, "to the end of segment 4");

    cr_assert_not(ops_window_of(&v, &across, &w), "segment 5 is missing between start and stop");
    cr_assert_not(ops_window_of(&v, &nostop, &w), "its stop segment is not archived");
    cr_assert(ops_window_of(&v, &tl2, &w));
    cr_assert_eq(w.timeline, 2);
    cr_assert_eq(w.end_segment, 20);

    ok.unreadable = true;
    cr_assert_not(ops_window_of(&v, &ok, &w), "a damaged backup has no window");
    ok.unreadable = false;
    ok.complete = false;
    cr_assert_not(ops_window_of(&v, &ok, &w), "an incomplete backup has no window");
    ok.complete = true;
    snprintf(ok.stop_wal, sizeof(ok.stop_wal), "00000001.history");
    cr_assert_not(ops_window_of(&v, &ok, &w), "a stop_wal that is no segment name");
    free(v.ranges);
}

Test(ops_list, segment_of)
{
    struct ops_view v = view_of(ranges_tl1_tl2, 1);
    uint32_t    tl;
    uint64_t    segno;

    cr_assert(ops_segment_of(&v, "0000000200000001000000FF", &tl, &segno));
    cr_assert_eq(tl, 2);
    cr_assert_eq(segno, 0x1ffull);
    cr_assert_not(ops_segment_of(&v, "000000020000000100000100", &tl, &segno),
                  "no such segment at 16 MiB");
    cr_assert_not(ops_segment_of(&v, "", &tl, &segno));
    free(v.ranges);
}

Test(ops_list, drop_a_damaged_segment)
{
    struct ops_view v = view_of(ranges_tl1_tl2, 4);
    struct ws_err err = WS_ERR_INIT;
    struct backup_info b = backup("20261203T205322Z", 1, 6, 6);
    struct ops_window w;
    struct gaps s = {0};

    cr_assert_eq(ops_view_drop_segment(&v, 1, 7, &err), 0);    /* splits 6..9 */
    cr_assert_eq(v.nranges, 5);
    cr_assert(v.ranges[1].first == 6 && v.ranges[1].last == 6);
    cr_assert(v.ranges[2].first == 8 && v.ranges[2].last == 9);
    cr_assert(ops_window_of(&v, &b, &w));
    cr_assert_eq(w.end_segment, 6, "the window ends before the damaged segment");
    cr_assert_eq(ops_view_drop_segment(&v, 1, 9, &err), 0);    /* shrinks 8..9 */
    cr_assert(v.ranges[2].first == 8 && v.ranges[2].last == 8);
    cr_assert_eq(ops_view_drop_segment(&v, 1, 12, &err), 0);   /* removes 12..12 */
    cr_assert_eq(v.nranges, 4);
    cr_assert_eq(v.ranges[3].timeline, 2);
    cr_assert_eq(ops_view_drop_segment(&v, 1, 100, &err), 0, "not archived: nothing to do");
    cr_assert_eq(v.nranges, 4);
    cr_assert_eq(ops_gaps(&v, 1, 1, 12, collect, &s), 3);
    assert_gap(&s, 0, 1, 5, 5);
    assert_gap(&s, 1, 1, 7, 7);
    assert_gap(&s, 2, 1, 9, 12);
    free(v.ranges);
}

Test(ops_list, json_parses_with_the_documented_fields)
{
    struct ops_view v = view_of(ranges_tl1_tl2, 4);
    struct backup_info b[3];
    char        path[] = "/tmp/test_ops_list.XXXXXX";
    char        cmd[4096];
    int         fd = mkstemp(path);
    FILE       *f;

    cr_assert_geq(fd, 0);
    b[0] = backup("20261203T205322Z", 1, 2, 3);
    snprintf(b[0].label, sizeof(b[0].label), "a \"quoted\"\\ label\n");
    memset(&b[1], 0, sizeof(b[1]));
    snprintf(b[1].id, sizeof(b[1].id), "20261204T205322Z");          /* incomplete */
    memset(&b[2], 0, sizeof(b[2]));
    snprintf(b[2].id, sizeof(b[2].id), "20261205T205322Z");
    b[2].unreadable = true;
    v.backups = b;
    v.nbackups = 3;
    v.location = "/var/lib/walship/repo";
    f = fdopen(fd, "w");
    cr_assert_not_null(f);
    ops_list_print(&v, true, f);
    fclose(f);
    if (system("command -v python3 > /dev/null") != 0)
    {
        cr_log_warn("python3 not found: the JSON is not parsed");
        unlink(path);
        free(v.ranges);
        return;
    }
    snprintf(cmd, sizeof(cmd), "python3 -c '\n"
             "import json, sys\n"
             "j = json.load(open(\"%s\"))\n"
             "assert j[\"schema_version\"] == 1\n"
             "assert j[\"repository\"] == \"/var/lib/walship/repo\"\n"
             "assert j[\"wal_segment_size\"] == 16777216\n"
             "b = j[\"backups\"]\n"
             "assert [x[\"status\"] for x in b] == [\"complete\", \"incomplete\", \"damaged\"]\n"
             "assert b[0][\"label\"] == \"a \\\"quoted\\\"\\\\ label\\n\", b[0][\"label\"]\n"
             "for k in (\"id\", \"timeline\", \"start_time\", \"stop_time\", \"start_lsn\", \"stop_lsn\",\n"
             "          \"start_wal\", \"stop_wal\", \"size\", \"stored\", \"tablespaces\"):\n"
             "    assert k in b[0], k\n"
             "w = j[\"wal\"]\n"
             "assert [x[\"timeline\"] for x in w] == [1, 2]\n"
             "assert [r[\"first\"] for r in w[0][\"ranges\"]] == [\"000000010000000000000001\",\n"
             "    \"000000010000000000000006\", \"00000001000000000000000C\"]\n"
             "assert [(g[\"first\"], g[\"segments\"]) for g in w[0][\"gaps\"]] == [\n"
             "    (\"000000010000000000000005\", 1), (\"00000001000000000000000A\", 2)]\n"
             "assert w[1][\"gaps\"] == []\n"
             "assert len(j[\"windows\"]) == 1\n"
             "x = j[\"windows\"][0]\n"
             "assert (x[\"backup\"], x[\"timeline\"], x[\"start_lsn\"], x[\"end_lsn\"], x[\"end_wal\"]) == (\n"
             "    \"20261203T205322Z\", 1, \"0/3000100\", \"0/5000000\", \"000000010000000000000004\"), x\n"
             "assert x[\"start_time\"] == \"2023-11-14 22:13:20.000000+00\", x[\"start_time\"]\n"
             "'", path);
    cr_assert_eq(system(cmd), 0, "the JSON in %s does not say what the view holds", path);
    unlink(path);
    free(v.ranges);
}
