/*
 * test_wal.c — WAL file names and segment arithmetic (common/format/wal.c).
 *
 * Name tables: every accepted form with its parsed fields, and garbage that
 * must be rejected.  Round trips name -> segno -> name at several segment
 * sizes, LSN -> segment, segment size validity and repository keys.
 *
 * Criterion runs each test in a freshly exec'd process, so parameter structs
 * hold their strings inline (char arrays), never as pointers.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "wal.h"

#define MIB (1024u * 1024u)
#define GIB (1024u * MIB)

/* ---- valid names ---------------------------------------------------------- */

struct valid_case
{
    char        name[WAL_NAME_MAX];
    uint32_t    seg_size;
    enum wal_kind kind;
    uint32_t    timeline;
    uint32_t    log;
    uint32_t    seg;
    uint32_t    offset;
};

ParameterizedTestParameters(wal_parse, valid)
{
    static struct valid_case c[] = {
        {"000000010000000000000001", 16 * MIB, WAL_KIND_SEGMENT, 1, 0, 1, 0},
        {"000000010000000000000000", 16 * MIB, WAL_KIND_SEGMENT, 1, 0, 0, 0},
        {"0000000A00000003000000FF", 16 * MIB, WAL_KIND_SEGMENT, 10, 3, 0xFF, 0},
        {"FFFFFFFFFFFFFFFF000000FF", 16 * MIB, WAL_KIND_SEGMENT, 0xFFFFFFFF, 0xFFFFFFFF, 0xFF, 0},
        {"0000000100000001000000A1", 0, WAL_KIND_SEGMENT, 1, 1, 0xA1, 0},
        /* 0x100 is past the end of a log id at 16 MiB but fine at 1 MiB or unchecked */
        {"000000010000000000000100", 0, WAL_KIND_SEGMENT, 1, 0, 0x100, 0},
        {"000000010000000000000100", 1 * MIB, WAL_KIND_SEGMENT, 1, 0, 0x100, 0},
        {"000000010000000000000FFF", 1 * MIB, WAL_KIND_SEGMENT, 1, 0, 0xFFF, 0},
        {"000000010000000000000003", 1 * GIB, WAL_KIND_SEGMENT, 1, 0, 3, 0},
        {"000000020000000000000003.partial", 16 * MIB, WAL_KIND_PARTIAL, 2, 0, 3, 0},
        {"0000000200000005000000FE.partial", 0, WAL_KIND_PARTIAL, 2, 5, 0xFE, 0},
        {"000000010000000000000002.00000028.backup", 16 * MIB, WAL_KIND_BACKUP, 1, 0, 2, 0x28},
        {"000000030000000100000004.00FFFFF8.backup", 0, WAL_KIND_BACKUP, 3, 1, 4, 0xFFFFF8},
        {"00000002.history", 16 * MIB, WAL_KIND_HISTORY, 2, 0, 0, 0},
        {"0000ABCD.history", 0, WAL_KIND_HISTORY, 0xABCD, 0, 0, 0},
        {"FFFFFFFF.history", 0, WAL_KIND_HISTORY, 0xFFFFFFFF, 0, 0, 0},
    };

    return cr_make_param_array(struct valid_case, c, sizeof(c) / sizeof(c[0]));
}

ParameterizedTest(struct valid_case *c, wal_parse, valid)
{
    struct wal_name w;

    memset(&w, 0xAA, sizeof(w));
    cr_assert_eq(wal_parse(c->name, c->seg_size, &w), 0, "\"%s\" seg_size %u should parse",
                 c->name, c->seg_size);
    cr_expect_eq(w.kind, c->kind, "\"%s\": kind %s, want %s", c->name, wal_kind_name(w.kind),
                 wal_kind_name(c->kind));
    cr_expect_eq(w.timeline, c->timeline, "\"%s\" timeline %X", c->name, w.timeline);
    cr_expect_eq(w.log, c->log, "\"%s\" log %X", c->name, w.log);
    cr_expect_eq(w.seg, c->seg, "\"%s\" seg %X", c->name, w.seg);
    cr_expect_eq(w.offset, c->offset, "\"%s\" offset %X", c->name, w.offset);
    /* NULL out is allowed for a plain validity check */
    cr_expect_eq(wal_parse(c->name, c->seg_size, NULL), 0);
}

/* ---- invalid names -------------------------------------------------------- */

struct invalid_case
{
    char        name[96];
    uint32_t    seg_size;
    char        why[48];
};

ParameterizedTestParameters(wal_parse, invalid)
{
    static struct invalid_case c[] = {
        {"", 0, "empty"},
        {"0", 0, "one digit"},
        {"00000001000000000000001", 0, "23 digits"},
        {"0000000100000000000000010", 0, "25 digits"},
        {"00000001000000000000000a", 0, "lower-case hex"},
        {"0000000a0000000000000001", 0, "lower-case timeline"},
        {"00000001000000000000000G", 0, "non-hex G"},
        {"0000000100000000000000-1", 0, "minus sign"},
        {"000000000000000000000001", 0, "timeline 0"},
        {"000000000000000000000001.partial", 0, "timeline 0 partial"},
        {"000000000000000000000001.00000028.backup", 0, "timeline 0 backup"},
        {"00000000.history", 0, "timeline 0 history"},
        {"00000001.history.x", 0, "trailing after .history"},
        {"00000001.History", 0, "suffix case"},
        {"0000001.history", 0, "7-digit timeline history"},
        {"000000001.history", 0, "9-digit timeline history"},
        {"0000000g.history", 0, "non-hex history"},
        {"00000001history", 0, "missing dot"},
        {"00000001.partial", 0, "partial on a timeline"},
        {"00000001.00000028.backup", 0, "backup on a timeline"},
        {"000000010000000000000001.history", 0, "history on a segment"},
        {"000000010000000000000001.partia", 0, "truncated .partial"},
        {"000000010000000000000001.partial.x", 0, "trailing after .partial"},
        {"000000010000000000000001.PARTIAL", 0, "upper-case suffix"},
        {"000000010000000000000001.00000028.partial", 0, "partial on a backup"},
        {"000000010000000000000001.0000028.backup", 0, "7-digit backup offset"},
        {"000000010000000000000001.000000028.backup", 0, "9-digit backup offset"},
        {"000000010000000000000001.0000002g.backup", 0, "non-hex backup offset"},
        {"000000010000000000000001.0000002a.backup", 0, "lower-case backup offset"},
        {"000000010000000000000001x00000028.backup", 0, "backup without dot"},
        {"000000010000000000000001.00000028.backupx", 0, "trailing after .backup"},
        {"000000010000000000000001.00000028_backup", 0, "backup wrong separator"},
        {"../x", 0, "parent path"},
        {"../000000010000000000000001", 0, "segment behind parent path"},
        {"pg_wal/000000010000000000000001", 0, "directory prefix"},
        {"/000000010000000000000001", 0, "absolute path"},
        {"00000001/000000000000001", 0, "slash inside"},
        {"0000000100000000 0000001", 0, "space inside"},
        {" 000000010000000000000001", 0, "leading space"},
        {"000000010000000000000001 ", 0, "trailing space"},
        {"000000010000000000000001\n", 0, "trailing newline"},
        {"000000010000000000000100", 16 * MIB, "seg 0x100 at 16 MiB"},
        {"0000000100000000FFFFFFFF", 16 * MIB, "seg 0xFFFFFFFF at 16 MiB"},
        {"000000010000000000001000", 1 * MIB, "seg 0x1000 at 1 MiB"},
        {"000000010000000000000004", 1 * GIB, "seg 4 at 1 GiB"},
        {"000000010000000000000100.partial", 16 * MIB, "partial seg out of range"},
        {"000000010000000000000100.00000028.backup", 16 * MIB, "backup seg out of range"},
        {"000000010000000000000001", 12345, "bad seg_size"},
        {"000000010000000000000001", 512 * 1024, "seg_size below 1 MiB"},
        {"000000010000000000000001", 2 * GIB, "seg_size above 1 GiB"},
        {"000000010000000000000001", 3 * MIB, "seg_size not a power of two"},
        {"00000001000000000000000100000001000000000000000100000001000000000000000100",
         0, "very long"},
    };

    return cr_make_param_array(struct invalid_case, c, sizeof(c) / sizeof(c[0]));
}

ParameterizedTest(struct invalid_case *c, wal_parse, invalid)
{
    struct wal_name w;

    memset(&w, 0xAA, sizeof(w));
    cr_expect_eq(wal_parse(c->name, c->seg_size, &w), -1, "%s: \"%s\" should be rejected",
                 c->why, c->name);
    cr_expect_eq(w.kind, WAL_KIND_INVALID, "%s: kind must be INVALID on failure", c->why);
    cr_expect_eq(w.timeline, 0u, "%s: fields cleared on failure", c->why);
}

Test(wal_parse, null_name)
{
    struct wal_name w;

    cr_expect_eq(wal_parse(NULL, 0, &w), -1);
    cr_expect_eq(w.kind, WAL_KIND_INVALID);
}

/* Length is checked with a bound: a long run of hex digits is just invalid. */
Test(wal_parse, long_hex_run)
{
    char        name[200];

    memset(name, '0', sizeof(name) - 1);
    name[sizeof(name) - 1] = '\0';
    cr_expect_eq(wal_parse(name, 0, NULL), -1);
}

/* ---- segment arithmetic ----------------------------------------------------- */

Test(wal_segno, from_name)
{
    struct wal_name w;

    cr_assert_eq(wal_parse("0000000100000002000000A1", 16 * MIB, &w), 0);
    cr_expect_eq(wal_segno(&w, 16 * MIB), UINT64_C(2) * 256 + 0xA1);
    cr_expect_eq(wal_segno(&w, 1 * MIB), UINT64_C(2) * 4096 + 0xA1);
    cr_expect_eq(wal_segno(&w, 64 * MIB), UINT64_C(2) * 64 + 0xA1);

    cr_assert_eq(wal_parse("000000010000000000000002.00000028.backup", 16 * MIB, &w), 0);
    cr_expect_eq(wal_segno(&w, 16 * MIB), 2u);
    cr_assert_eq(wal_parse("000000010000000300000002.partial", 1 * GIB, &w), 0);
    cr_expect_eq(wal_segno(&w, 1 * GIB), UINT64_C(3) * 4 + 2);
}

Test(wal_segment_name, format)
{
    char        buf[WAL_NAME_MAX];

    wal_segment_name(buf, sizeof(buf), 1, 0, 16 * MIB);
    cr_expect_str_eq(buf, "000000010000000000000000");
    wal_segment_name(buf, sizeof(buf), 1, 255, 16 * MIB);
    cr_expect_str_eq(buf, "0000000100000000000000FF");
    wal_segment_name(buf, sizeof(buf), 1, 256, 16 * MIB);
    cr_expect_str_eq(buf, "000000010000000100000000");
    wal_segment_name(buf, sizeof(buf), 0x1A, 0x12345, 16 * MIB);
    cr_expect_str_eq(buf, "0000001A0000012300000045");
    wal_segment_name(buf, sizeof(buf), 3, 5, 1 * GIB);
    cr_expect_str_eq(buf, "000000030000000100000001");
    wal_segment_name(buf, sizeof(buf), 3, 4097, 1 * MIB);
    cr_expect_str_eq(buf, "000000030000000100000001");
}

Test(wal_segment_name, exact_buffer_and_truncation)
{
    char        buf[25];
    char        small[10];

    wal_segment_name(buf, sizeof(buf), 0xFFFFFFFF, UINT64_C(0xFFFFFFFFFF), 16 * MIB);
    cr_expect_str_eq(buf, "FFFFFFFFFFFFFFFF000000FF");
    memset(small, 'x', sizeof(small));
    wal_segment_name(small, sizeof(small), 1, 1, 16 * MIB);
    cr_expect_eq(small[sizeof(small) - 1], '\0', "truncated output stays terminated");
    cr_expect_str_eq(small, "000000010");
}

struct rt_case
{
    uint32_t    seg_size;
};

ParameterizedTestParameters(wal_segment_name, round_trip)
{
    static struct rt_case c[] = {{1 * MIB}, {16 * MIB}, {64 * MIB}, {1 * GIB}};

    return cr_make_param_array(struct rt_case, c, sizeof(c) / sizeof(c[0]));
}

ParameterizedTest(struct rt_case *c, wal_segment_name, round_trip)
{
    uint64_t    per_id = UINT64_C(0x100000000) / c->seg_size;
    uint64_t    segnos[] = {
        0, 1, per_id - 1, per_id, per_id + 1, 7 * per_id + 3, UINT64_C(0x123456) * per_id / 3,
        UINT64_C(0xFFFFFFFF) * per_id + per_id - 1      /* the last segment that exists */
    };

    for (size_t i = 0; i < sizeof(segnos) / sizeof(segnos[0]); i++)
    {
        char        name[WAL_NAME_MAX];
        char        again[WAL_NAME_MAX];
        struct wal_name w;

        wal_segment_name(name, sizeof(name), 5, segnos[i], c->seg_size);
        cr_assert_eq(strlen(name), 24u);
        cr_assert_eq(wal_parse(name, c->seg_size, &w), 0, "\"%s\" (segno %llu) must parse",
                     name, (unsigned long long) segnos[i]);
        cr_expect_eq(w.kind, WAL_KIND_SEGMENT);
        cr_expect_eq(w.timeline, 5u);
        cr_expect_eq(wal_segno(&w, c->seg_size), segnos[i], "\"%s\" seg_size %u", name,
                     c->seg_size);
        wal_segment_name(again, sizeof(again), w.timeline, wal_segno(&w, c->seg_size),
                         c->seg_size);
        cr_expect_str_eq(again, name);
    }
}

/* Every segment of a few log ids at 16 MiB: name -> segno -> name. */
Test(wal_segment_name, round_trip_dense_16mib)
{
    for (uint64_t segno = 0; segno < 4 * 256 + 10; segno++)
    {
        char        name[WAL_NAME_MAX];
        struct wal_name w;

        wal_segment_name(name, sizeof(name), 1, segno, 16 * MIB);
        cr_assert_eq(wal_parse(name, 16 * MIB, &w), 0, "%s", name);
        cr_assert_eq(wal_segno(&w, 16 * MIB), segno, "%s", name);
    }
}

Test(wal_lsn_to_segno, values)
{
    cr_expect_eq(wal_lsn_to_segno(0, 16 * MIB), 0u);
    cr_expect_eq(wal_lsn_to_segno(16 * MIB - 1, 16 * MIB), 0u);
    cr_expect_eq(wal_lsn_to_segno(16 * MIB, 16 * MIB), 1u);
    /* 0/3000028 (a typical first checkpoint after initdb) is in segment 3 */
    cr_expect_eq(wal_lsn_to_segno(UINT64_C(0x3000028), 16 * MIB), 3u);
    /* 1/A1000000 -> log 1, seg 0xA1 */
    cr_expect_eq(wal_lsn_to_segno(UINT64_C(0x1A1000000), 16 * MIB), UINT64_C(256 + 0xA1));
    cr_expect_eq(wal_lsn_to_segno(UINT64_C(0x1A1000000), 1 * GIB), UINT64_C(6));
    cr_expect_eq(wal_lsn_to_segno(UINT64_C(0x1A1000000), 64 * MIB), UINT64_C(0x1A1000000) >> 26);
    cr_expect_eq(wal_lsn_to_segno(UINT64_MAX, 16 * MIB), UINT64_MAX >> 24);
}

Test(wal_lsn_to_segno, name_of_lsn)
{
    char        name[WAL_NAME_MAX];

    /* pg_walfile_name('1/A1000028') on timeline 1 */
    wal_segment_name(name, sizeof(name), 1, wal_lsn_to_segno(UINT64_C(0x1A1000028), 16 * MIB),
                     16 * MIB);
    cr_expect_str_eq(name, "0000000100000001000000A1");
    /* the same LSN with 64 MiB segments: segno 104 = log 1 (64 per id), seg 0x28 */
    wal_segment_name(name, sizeof(name), 1, wal_lsn_to_segno(UINT64_C(0x1A1000028), 64 * MIB),
                     64 * MIB);
    cr_expect_str_eq(name, "000000010000000100000028");
}

Test(wal_seg_size_valid, values)
{
    for (unsigned shift = 20; shift <= 30; shift++)
        cr_expect(wal_seg_size_valid(1u << shift), "1 << %u", shift);
    cr_expect_not(wal_seg_size_valid(0));
    cr_expect_not(wal_seg_size_valid(1));
    cr_expect_not(wal_seg_size_valid(1u << 19));
    cr_expect_not(wal_seg_size_valid(1u << 31));
    cr_expect_not(wal_seg_size_valid(16 * MIB + 1));
    cr_expect_not(wal_seg_size_valid(16 * MIB - 1));
    cr_expect_not(wal_seg_size_valid(3 * MIB));
    cr_expect_not(wal_seg_size_valid(UINT32_MAX));
}

/* ---- repository keys ---------------------------------------------------------- */

struct key_case
{
    char        name[WAL_NAME_MAX];
    char        key[128];       /* "" = must fail */
};

ParameterizedTestParameters(wal_repo_key, table)
{
    static struct key_case c[] = {
        {"0000000100000000000000A1", "wal/00000001/0000000100000000/0000000100000000000000A1"},
        {"0000000A00000003000000FF", "wal/0000000A/0000000A00000003/0000000A00000003000000FF"},
        {"000000020000000000000003.partial",
         "wal/00000002/0000000200000000/000000020000000000000003.partial"},
        {"000000010000000000000002.00000028.backup",
         "wal/00000001/0000000100000000/000000010000000000000002.00000028.backup"},
        {"00000002.history", "wal/00000002/00000002.history"},
        /* repo keys do not know the segment size: seg 0x100 is accepted */
        {"000000010000000000000100", "wal/00000001/0000000100000000/000000010000000000000100"},
        {"", ""},
        {"../x", ""},
        {"00000001000000000000000a", ""},
        {"000000000000000000000001", ""},
        {"00000001.history.x", ""},
    };

    return cr_make_param_array(struct key_case, c, sizeof(c) / sizeof(c[0]));
}

ParameterizedTest(struct key_case *c, wal_repo_key, table)
{
    char        buf[128];
    int         rc;

    memset(buf, 'x', sizeof(buf));
    rc = wal_repo_key(c->name, buf, sizeof(buf));
    if (c->key[0] == '\0')
    {
        cr_expect_eq(rc, -1, "\"%s\" must be refused", c->name);
        cr_expect_str_eq(buf, "", "buffer left empty on failure");
    }
    else
    {
        cr_expect_eq(rc, 0, "\"%s\"", c->name);
        cr_expect_str_eq(buf, c->key);
    }
}

Test(wal_repo_key, buffer_size)
{
    const char *name = "0000000100000000000000A1";
    const char *want = "wal/00000001/0000000100000000/0000000100000000000000A1";
    size_t      need = strlen(want) + 1;
    char        buf[128];

    cr_expect_eq(wal_repo_key(name, buf, need), 0);
    cr_expect_str_eq(buf, want);

    memset(buf, 'x', sizeof(buf));
    cr_expect_eq(wal_repo_key(name, buf, need - 1), -1, "one byte short");
    cr_expect_eq(buf[0], '\0', "no truncated key");
    cr_expect_eq(buf[need - 1], 'x', "nothing written past len");

    cr_expect_eq(wal_repo_key(name, buf, 1), -1);
    cr_expect_eq(buf[0], '\0');
    cr_expect_eq(wal_repo_key(name, buf, 0), -1);
    cr_expect_eq(wal_repo_key(name, NULL, 0), -1);

    cr_expect_eq(wal_repo_key("00000002.history", buf, strlen("wal/00000002/00000002.history")),
                 -1);
    cr_expect_eq(wal_repo_key("00000002.history", buf,
                              strlen("wal/00000002/00000002.history") + 1), 0);
    cr_expect_str_eq(buf, "wal/00000002/00000002.history");
}

Test(wal_kind_name, names)
{
    cr_expect_str_eq(wal_kind_name(WAL_KIND_INVALID), "invalid");
    cr_expect_str_eq(wal_kind_name(WAL_KIND_SEGMENT), "segment");
    cr_expect_str_eq(wal_kind_name(WAL_KIND_PARTIAL), "partial");
    cr_expect_str_eq(wal_kind_name(WAL_KIND_BACKUP), "backup");
    cr_expect_str_eq(wal_kind_name(WAL_KIND_HISTORY), "history");
    cr_expect_str_eq(wal_kind_name((enum wal_kind) 99), "invalid");
}
