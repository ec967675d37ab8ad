/*
 * test_pgcontrol.c — reading global/pg_control (common/format/pgcontrol.c).
 *
 * Synthetic files: a buffer laid out like ControlFileData (pg_control_version
 * 1300) with known values and a correct CRC-32C, then the same with a bad CRC,
 * another version, a short length or a bad segment size.  pgcontrol_read() is
 * checked on temporary directories.  When PostgreSQL 15's initdb and an
 * unprivileged user (pgtest or postgres) are available, a real cluster is
 * created and compared with pg_controldata's output; otherwise those tests
 * are skipped with the reason.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cfg.h"
#include "checksum.h"
#include "err.h"
#include "log.h"
#include "pgcontrol.h"
#include "repo.h"
#include "restore.h"
#include "harness.h"

#define PG_BIN "/usr/lib/postgresql/15/bin"

/* Offsets in ControlFileData, kept separate from pgcontrol.c's on purpose,
 * so a typo there is caught here.  1300 and 1800: offsetof() on PostgreSQL
 * 15's and 18's server headers; 1700: the 18 headers without
 * default_char_signedness; 19xx: the 19 development header's field list
 * compiled the same way.  Fields before checkPointCopy never move. */
#define OFF_SYSID       0
#define OFF_VERSION     8
#define OFF_CATVERSION  12
#define OFF_STATE       16
#define OFF_TIME        24
#define OFF_CHECKPOINT  32
#define OFF_TLI         48

struct layout
{
    uint32_t    version;
    size_t      float_format, blcksz, xlog_blcksz, seg_size, checksum, crc;
    uint32_t    major;      /* pgcontrol_major_of_version() */
};

static const struct layout layouts[] = {
    {1300, 208, 216, 224, 228, 252, 288, 0},
    {1700, 208, 216, 224, 228, 252, 288, 17},
    {1800, 208, 216, 224, 228, 252, 292, 18},
    {1900, 216, 224, 236, 240, 264, 304, 19},
    {1903, 216, 224, 236, 240, 264, 304, 19},
    {1999, 216, 224, 236, 240, 264, 304, 19},
};
#define NLAYOUTS (sizeof(layouts) / sizeof(layouts[0]))

/* the 1300 layout, which most tests below use */
#define OFF_BLCKSZ      216
#define OFF_XLOG_BLCKSZ 224
#define OFF_SEG_SIZE    228
#define OFF_CRC         288

/* The layout of version v; 1300's for a version walship does not read. */
static const struct layout *
layout_of(uint32_t v)
{
    for (size_t i = 0; i < NLAYOUTS; i++)
        if (layouts[i].version == v)
            return &layouts[i];
    return &layouts[0];
}

static void
put32(unsigned char *buf, size_t off, uint32_t v)
{
    memcpy(buf + off, &v, sizeof(v));
}

static void
put64(unsigned char *buf, size_t off, uint64_t v)
{
    memcpy(buf + off, &v, sizeof(v));
}

static void
fix_crc_at(unsigned char *buf, size_t crc_off)
{
    put32(buf, crc_off, crc32c(buf, crc_off));
}

static void
fix_crc(unsigned char *buf)
{
    fix_crc_at(buf, OFF_CRC);
}

/* A plausible pg_control in version's layout: every field distinct so a
 * wrong offset shows. */
static void
make_control(unsigned char *buf, uint32_t version, uint32_t seg_size)
{
    const struct layout *l = layout_of(version);
    double      ff = 1234567.0;

    memset(buf, 0, PG_CONTROL_FILE_SIZE);
    /* filler in the fields we do not read, so offsets cannot land on zeros */
    for (size_t i = 0; i < l->crc; i++)
        buf[i] = (unsigned char) (i * 7 + 3);
    put64(buf, OFF_SYSID, UINT64_C(7301234567890123456));
    put32(buf, OFF_VERSION, version);
    put32(buf, OFF_CATVERSION, 202209061);
    put32(buf, OFF_STATE, 6);                           /* DB_IN_PRODUCTION */
    put64(buf, OFF_TIME, UINT64_C(1700000000));
    put64(buf, OFF_CHECKPOINT, UINT64_C(0x1A1000028));
    put32(buf, OFF_TLI, 3);
    memcpy(buf + l->float_format, &ff, sizeof(ff));
    put32(buf, l->blcksz, 8192);
    put32(buf, l->xlog_blcksz, 16384);   /* differs from BLCKSZ on purpose */
    put32(buf, l->seg_size, seg_size);
    put32(buf, l->checksum, 1);
    fix_crc_at(buf, l->crc);
}

Test(pgcontrol_parse, fields)
{
    unsigned char buf[PG_CONTROL_FILE_SIZE];
    struct pg_control c;
    struct ws_err err = WS_ERR_INIT;

    make_control(buf, 1300, 16u << 20);
    memset(&c, 0xAA, sizeof(c));
    cr_assert_eq(pgcontrol_parse(buf, sizeof(buf), "x/pg_control", &c, &err), 0, "%s", err.msg);
    cr_expect_eq(c.system_identifier, UINT64_C(7301234567890123456));
    cr_expect_eq(c.pg_control_version, 1300u);
    cr_expect_eq(c.catalog_version, 202209061u);
    cr_expect_eq(c.state, 6);
    cr_expect_eq(c.time, INT64_C(1700000000));
    cr_expect_eq(c.checkpoint_lsn, UINT64_C(0x1A1000028));
    cr_expect_eq(c.checkpoint_timeline, 3u);
    cr_expect_eq(c.block_size, 8192u);
    cr_expect_eq(c.wal_block_size, 16384u);
    cr_expect_eq(c.wal_segment_size, 16u << 20);
    cr_expect_eq(c.data_checksum_version, 1u);
    cr_expect_eq(c.pg_major, 0u);
    cr_expect_eq(err.code, WS_OK);
}

/* Every layout: the fields come from that layout's offsets. */
Test(pgcontrol_parse, every_layout)
{
    for (size_t i = 0; i < NLAYOUTS; i++)
    {
        const struct layout *l = &layouts[i];
        unsigned char buf[PG_CONTROL_FILE_SIZE];
        struct pg_control c;
        struct ws_err err = WS_ERR_INIT;

        make_control(buf, l->version, 64u << 20);
        memset(&c, 0xAA, sizeof(c));
        cr_assert_eq(pgcontrol_parse(buf, sizeof(buf), "f", &c, &err), 0, "%u: %s", l->version,
                     err.msg);
        cr_expect_eq(c.pg_control_version, l->version);
        cr_expect_eq(c.system_identifier, UINT64_C(7301234567890123456), "%u", l->version);
        cr_expect_eq(c.checkpoint_lsn, UINT64_C(0x1A1000028), "%u", l->version);
        cr_expect_eq(c.checkpoint_timeline, 3u, "%u", l->version);
        cr_expect_eq(c.block_size, 8192u, "%u", l->version);
        cr_expect_eq(c.wal_block_size, 16384u, "%u", l->version);
        cr_expect_eq(c.wal_segment_size, 64u << 20, "%u", l->version);
        cr_expect_eq(c.data_checksum_version, 1u, "%u", l->version);
        cr_expect_eq(pgcontrol_major_of_version(l->version), l->major, "%u", l->version);
        /* exactly up to the end of the layout's CRC is enough, one byte less is not */
        cr_expect_eq(pgcontrol_parse(buf, l->crc + 4, "f", &c, &err), 0, "%u", l->version);
        cr_expect_eq(pgcontrol_parse(buf, l->crc + 3, "f", &c, &err), -1, "%u", l->version);
        cr_expect_eq(err.code, WS_EINPUT, "%u", l->version);
    }
    cr_expect_eq(pgcontrol_major_of_version(1201), 0u);
    cr_expect_eq(pgcontrol_major_of_version(2000), 0u);
}

/* A file written in one layout but labelled with another version's number
 * fails the CRC at the labelled layout's offset: never a misread. */
Test(pgcontrol_parse, layout_mismatch_is_refused)
{
    const struct
    {
        uint32_t    written, labelled;
    }           cases[] = {{1300, 1800}, {1800, 1700}, {1800, 1900}, {1900, 1800}, {1700, 1903}};

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
    {
        unsigned char buf[PG_CONTROL_FILE_SIZE];
        struct pg_control c;
        struct ws_err err = WS_ERR_INIT;

        make_control(buf, cases[i].written, 16u << 20);
        put32(buf, OFF_VERSION, cases[i].labelled);
        fix_crc_at(buf, layout_of(cases[i].written)->crc);
        cr_expect_eq(pgcontrol_parse(buf, sizeof(buf), "f", &c, &err), -1, "%u as %u",
                     cases[i].written, cases[i].labelled);
        cr_expect_eq(err.code, WS_ECORRUPT, "%u as %u: %s", cases[i].written,
                     cases[i].labelled, err.msg);
    }
}

/* The CRC is right but floatFormat is not where the layout says. */
Test(pgcontrol_parse, float_format_checked)
{
    unsigned char buf[PG_CONTROL_FILE_SIZE];
    struct pg_control c;
    struct ws_err err = WS_ERR_INIT;
    double      other = 1234568.0;

    make_control(buf, 1903, 16u << 20);
    memcpy(buf + layout_of(1903)->float_format, &other, sizeof(other));
    fix_crc_at(buf, layout_of(1903)->crc);
    cr_expect_eq(pgcontrol_parse(buf, sizeof(buf), "x/pg_control", &c, &err), -1);
    cr_expect_eq(err.code, WS_EINPUT, "%s", err_code_name(err.code));
    cr_expect(strstr(err.msg, "\"x/pg_control\"") != NULL && strstr(err.msg, "1903") != NULL,
              "%s", err.msg);
}

/* Block sizes that no configure allows mean a layout walship does not know. */
Test(pgcontrol_parse, implausible_block_sizes)
{
    const struct
    {
        uint32_t    blcksz, xlog_blcksz;
    }           cases[] = {{0, 8192}, {512, 8192}, {65536, 8192}, {8193, 8192}, {8192, 0},
                           {8192, 131072}, {8192, 12288}};

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
    {
        unsigned char buf[PG_CONTROL_FILE_SIZE];
        const struct layout *l = layout_of(1900);
        struct pg_control c;
        struct ws_err err = WS_ERR_INIT;

        make_control(buf, 1900, 16u << 20);
        put32(buf, l->blcksz, cases[i].blcksz);
        put32(buf, l->xlog_blcksz, cases[i].xlog_blcksz);
        fix_crc_at(buf, l->crc);
        cr_expect_eq(pgcontrol_parse(buf, sizeof(buf), "f", &c, &err), -1, "case %zu", i);
        cr_expect_eq(err.code, WS_EINPUT, "case %zu: %s", i, err.msg);
        cr_expect(strstr(err.msg, "layout") != NULL, "case %zu: %s", i, err.msg);
    }
}

/* A 19 file with a bad CRC says the 19 layout is from development headers. */
Test(pgcontrol_parse, pg19_crc_hint)
{
    unsigned char buf[PG_CONTROL_FILE_SIZE];
    struct pg_control c;
    struct ws_err err = WS_ERR_INIT;

    make_control(buf, 1900, 16u << 20);
    buf[100] ^= 1;
    cr_expect_eq(pgcontrol_parse(buf, sizeof(buf), "f", &c, &err), -1);
    cr_expect_eq(err.code, WS_ECORRUPT);
    cr_expect(strstr(err.hint, "PostgreSQL 19") != NULL, "hint: %s", err.hint);
    make_control(buf, 1800, 16u << 20);
    buf[100] ^= 1;
    err_clear(&err);
    cr_expect_eq(pgcontrol_parse(buf, sizeof(buf), "f", &c, &err), -1);
    cr_expect_str_eq(err.hint, "", "no hint for a released layout");
}

Test(pgcontrol_parse, minimal_length_and_padding_ignored)
{
    unsigned char buf[PG_CONTROL_FILE_SIZE];
    struct pg_control c;
    struct ws_err err = WS_ERR_INIT;

    make_control(buf, 1300, 64u << 20);
    /* exactly up to the end of the CRC is enough */
    cr_expect_eq(pgcontrol_parse(buf, OFF_CRC + 4, "f", &c, &err), 0, "%s", err.msg);
    cr_expect_eq(c.wal_segment_size, 64u << 20);
    /* bytes after the CRC are not covered by it */
    memset(buf + OFF_CRC + 4, 0x5A, sizeof(buf) - OFF_CRC - 4);
    cr_expect_eq(pgcontrol_parse(buf, sizeof(buf), "f", &c, &err), 0, "%s", err.msg);
}

Test(pgcontrol_parse, bad_crc)
{
    unsigned char buf[PG_CONTROL_FILE_SIZE];
    struct pg_control c;
    struct ws_err err = WS_ERR_INIT;

    make_control(buf, 1300, 16u << 20);
    put32(buf, OFF_CRC, crc32c(buf, OFF_CRC) ^ 1);
    cr_expect_eq(pgcontrol_parse(buf, sizeof(buf), "pgdata/global/pg_control", &c, &err), -1);
    cr_expect_eq(err.code, WS_ECORRUPT, "code %s", err_code_name(err.code));
    cr_expect_str_eq(err.msg, "calculated CRC checksum does not match value stored in file "
                     "\"pgdata/global/pg_control\"");
}

/* Any single changed byte in the covered range is caught. */
Test(pgcontrol_parse, flipped_byte)
{
    unsigned char buf[PG_CONTROL_FILE_SIZE];
    struct pg_control c;
    struct ws_err err = WS_ERR_INIT;
    const size_t offs[] = {0, 7, OFF_STATE, OFF_TLI, OFF_SEG_SIZE + 3, 100, OFF_CRC - 1};

    for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++)
    {
        make_control(buf, 1300, 16u << 20);
        buf[offs[i]] ^= 0x40;
        err_clear(&err);
        cr_expect_eq(pgcontrol_parse(buf, sizeof(buf), "f", &c, &err), -1, "offset %zu",
                     offs[i]);
        cr_expect_eq(err.code, WS_ECORRUPT, "offset %zu: %s", offs[i], err.msg);
    }
}

Test(pgcontrol_parse, unknown_version)
{
    unsigned char buf[PG_CONTROL_FILE_SIZE];
    struct pg_control c;
    struct ws_err err = WS_ERR_INIT;
    const uint32_t versions[] = {1201, 1100, 0, 1301, 1600, 1701, 1899, 2000, 960};

    for (size_t i = 0; i < sizeof(versions) / sizeof(versions[0]); i++)
    {
        char        want[32];

        /* CRC correct, so only the version can be the complaint */
        make_control(buf, versions[i], 16u << 20);
        err_clear(&err);
        cr_expect_eq(pgcontrol_parse(buf, sizeof(buf), "/data/global/pg_control", &c, &err), -1);
        cr_expect_eq(err.code, WS_EINPUT, "version %u: %s", versions[i], err_code_name(err.code));
        snprintf(want, sizeof(want), " %u ", versions[i]);
        cr_expect(strstr(err.msg, want) != NULL, "message names the version: %s", err.msg);
        cr_expect(strstr(err.msg, "\"/data/global/pg_control\"") != NULL,
                  "message names the file: %s", err.msg);
        cr_expect(strstr(err.msg, "1300") != NULL, "message says what is supported: %s",
                  err.msg);
        cr_expect_str_eq(err.hint, "", "no byte-order hint for %u", versions[i]);
    }
}

Test(pgcontrol_parse, byte_swapped_version)
{
    unsigned char buf[PG_CONTROL_FILE_SIZE];
    struct pg_control c;
    struct ws_err err = WS_ERR_INIT;

    make_control(buf, __builtin_bswap32(1300), 16u << 20);
    cr_expect_eq(pgcontrol_parse(buf, sizeof(buf), "f", &c, &err), -1);
    cr_expect_eq(err.code, WS_EINPUT);
    cr_expect(strstr(err.hint, "byte ordering") != NULL, "hint: \"%s\"", err.hint);
}

Test(pgcontrol_parse, short_file)
{
    unsigned char buf[PG_CONTROL_FILE_SIZE];
    struct pg_control c;
    struct ws_err err = WS_ERR_INIT;
    const size_t lens[] = {0, 1, 11, 12, 100, OFF_CRC, OFF_CRC + 3};

    make_control(buf, 1300, 16u << 20);
    for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++)
    {
        err_clear(&err);
        cr_expect_eq(pgcontrol_parse(buf, lens[i], "short", &c, &err), -1, "len %zu", lens[i]);
        cr_expect_eq(err.code, WS_EINPUT, "len %zu: %s", lens[i], err_code_name(err.code));
        cr_expect(strstr(err.msg, "\"short\"") != NULL, "len %zu: %s", lens[i], err.msg);
    }
    err_clear(&err);
    cr_expect_eq(pgcontrol_parse(NULL, 0, "null", &c, &err), -1);
    cr_expect_eq(err.code, WS_EINPUT);
}

Test(pgcontrol_parse, bad_segment_size)
{
    unsigned char buf[PG_CONTROL_FILE_SIZE];
    struct pg_control c;
    struct ws_err err = WS_ERR_INIT;
    const uint32_t sizes[] = {0, 512 * 1024, 3u << 20, 2u << 30, (16u << 20) + 1};

    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
    {
        make_control(buf, 1300, sizes[i]);
        err_clear(&err);
        cr_expect_eq(pgcontrol_parse(buf, sizeof(buf), "f", &c, &err), -1, "size %u", sizes[i]);
        cr_expect_eq(err.code, WS_EINPUT, "size %u: %s", sizes[i], err.msg);
        cr_expect(strstr(err.msg, "WAL segment size") != NULL, "%s", err.msg);
    }
    /* every valid size passes */
    for (unsigned shift = 20; shift <= 30; shift++)
    {
        make_control(buf, 1300, 1u << shift);
        cr_expect_eq(pgcontrol_parse(buf, sizeof(buf), "f", &c, &err), 0, "1 << %u", shift);
        cr_expect_eq(c.wal_segment_size, 1u << shift);
    }
}

Test(pgcontrol_parse, default_name_in_message)
{
    unsigned char buf[PG_CONTROL_FILE_SIZE];
    struct pg_control c;
    struct ws_err err = WS_ERR_INIT;

    make_control(buf, 1300, 16u << 20);
    buf[OFF_CRC] ^= 0xFF;
    cr_expect_eq(pgcontrol_parse(buf, sizeof(buf), NULL, &c, &err), -1);
    cr_expect(strstr(err.msg, "\"pg_control\"") != NULL, "%s", err.msg);
}

/* ---- pgcontrol_read on synthetic data directories ----------------------------- */

static char tmpdir[64];

static void
write_file(const char *dir, const char *name, const void *data, size_t len)
{
    char        path[256];
    FILE       *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "wb");
    cr_assert_not_null(f, "fopen %s: %s", path, strerror(errno));
    cr_assert_eq(fwrite(data, 1, len, f), len);
    cr_assert_eq(fclose(f), 0);
}

static void
make_pgdata(const char *pg_version)
{
    unsigned char buf[PG_CONTROL_FILE_SIZE];
    char        global[128];

    strcpy(tmpdir, "/tmp/ws_pgcontrol.XXXXXX");
    cr_assert_not_null(mkdtemp(tmpdir), "mkdtemp: %s", strerror(errno));
    snprintf(global, sizeof(global), "%s/global", tmpdir);
    cr_assert_eq(mkdir(global, 0700), 0);
    make_control(buf, 1300, 16u << 20);
    write_file(tmpdir, "global/pg_control", buf, sizeof(buf));
    if (pg_version != NULL)
        write_file(tmpdir, "PG_VERSION", pg_version, strlen(pg_version));
}

static void
remove_tmpdir(void)
{
    char        cmd[128];

    if (tmpdir[0] == '\0')
        return;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        cr_log_warn("could not remove %s", tmpdir);
    tmpdir[0] = '\0';
}

TestSuite(pgcontrol_read, .fini = remove_tmpdir);

Test(pgcontrol_read, with_pg_version)
{
    struct pg_control c;
    struct ws_err err = WS_ERR_INIT;

    make_pgdata("15\n");
    cr_assert_eq(pgcontrol_read(tmpdir, &c, &err), 0, "%s", err.msg);
    cr_expect_eq(c.pg_major, 15u);
    cr_expect_eq(c.system_identifier, UINT64_C(7301234567890123456));
    cr_expect_eq(c.checkpoint_timeline, 3u);
    cr_expect_eq(c.wal_segment_size, 16u << 20);
}

Test(pgcontrol_read, pg_version_forms)
{
    const struct
    {
        const char *text;
        uint32_t    want;
    }           cases[] = {
        {"16", 16}, {"13\n", 13}, {"14\r\n", 14}, {"9.6\n", 9}, {"", 0}, {"abc\n", 0},
        {"15x\n", 0}, {"1234\n", 1234}, {"12345\n", 0}, {"1234567\n", 0}, {"\n15\n", 0},
    };

    make_pgdata(NULL);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
    {
        struct pg_control c;
        struct ws_err err = WS_ERR_INIT;

        write_file(tmpdir, "PG_VERSION", cases[i].text, strlen(cases[i].text));
        cr_assert_eq(pgcontrol_read(tmpdir, &c, &err), 0, "%s", err.msg);
        cr_expect_eq(c.pg_major, cases[i].want, "PG_VERSION \"%s\" -> %u", cases[i].text,
                     c.pg_major);
    }
}

Test(pgcontrol_read, missing_pg_version_is_not_an_error)
{
    struct pg_control c;
    struct ws_err err = WS_ERR_INIT;

    make_pgdata(NULL);
    c.pg_major = 99;
    cr_assert_eq(pgcontrol_read(tmpdir, &c, &err), 0, "%s", err.msg);
    cr_expect_eq(c.pg_major, 0u);
    cr_expect_eq(err.code, WS_OK);
}

Test(pgcontrol_read, unreadable_pg_version_is_an_error)
{
    struct pg_control c;
    struct ws_err err = WS_ERR_INIT;
    char        path[128];

    make_pgdata(NULL);
    /* a directory opens but cannot be read (EISDIR), even for root */
    snprintf(path, sizeof(path), "%s/PG_VERSION", tmpdir);
    cr_assert_eq(mkdir(path, 0700), 0);
    cr_expect_eq(pgcontrol_read(tmpdir, &c, &err), -1);
    cr_expect_eq(err.code, WS_EIO, "%s", err_code_name(err.code));
    cr_expect(strstr(err.msg, "PG_VERSION") != NULL, "%s", err.msg);
}

/* Without PG_VERSION, a pg_control_version only one major writes names it. */
Test(pgcontrol_read, major_from_pg_control_version)
{
    const uint32_t versions[] = {1300, 1700, 1800, 1903};
    const uint32_t majors[] = {0, 17, 18, 19};

    make_pgdata(NULL);
    for (size_t i = 0; i < sizeof(versions) / sizeof(versions[0]); i++)
    {
        unsigned char buf[PG_CONTROL_FILE_SIZE];
        struct pg_control c;
        struct ws_err err = WS_ERR_INIT;

        make_control(buf, versions[i], 16u << 20);
        write_file(tmpdir, "global/pg_control", buf, sizeof(buf));
        cr_assert_eq(pgcontrol_read(tmpdir, &c, &err), 0, "%s", err.msg);
        cr_expect_eq(c.pg_major, majors[i], "%u -> %u", versions[i], c.pg_major);
    }
    /* PG_VERSION, when present, is what counts */
    write_file(tmpdir, "PG_VERSION", "18\n", 3);
    {
        struct pg_control c;
        struct ws_err err = WS_ERR_INIT;

        cr_assert_eq(pgcontrol_read(tmpdir, &c, &err), 0, "%s", err.msg);
        cr_expect_eq(c.pg_major, 18u);
    }
}

Test(pgcontrol_read, missing_pg_control)
{
    struct pg_control c;
    struct ws_err err = WS_ERR_INIT;

    strcpy(tmpdir, "/tmp/ws_pgcontrol.XXXXXX");
    cr_assert_not_null(mkdtemp(tmpdir));
    cr_expect_eq(pgcontrol_read(tmpdir, &c, &err), -1);
    cr_expect_eq(err.code, WS_EINPUT, "%s", err_code_name(err.code));
    cr_expect_eq(err.sys_errno, ENOENT);
    cr_expect(strstr(err.msg, "global/pg_control") != NULL, "%s", err.msg);
    cr_expect(strstr(err.hint, "pgdata") != NULL, "hint: %s", err.hint);
}

Test(pgcontrol_read, corrupt_pg_control_names_path)
{
    unsigned char buf[PG_CONTROL_FILE_SIZE];
    struct pg_control c;
    struct ws_err err = WS_ERR_INIT;
    char        want[128];

    make_pgdata("15\n");
    make_control(buf, 1300, 16u << 20);
    buf[OFF_TLI] ^= 1;
    write_file(tmpdir, "global/pg_control", buf, sizeof(buf));
    cr_expect_eq(pgcontrol_read(tmpdir, &c, &err), -1);
    cr_expect_eq(err.code, WS_ECORRUPT);
    snprintf(want, sizeof(want), "\"%s/global/pg_control\"", tmpdir);
    cr_expect(strstr(err.msg, want) != NULL, "%s", err.msg);
}

Test(pgcontrol_read, truncated_pg_control)
{
    unsigned char buf[PG_CONTROL_FILE_SIZE];
    struct pg_control c;
    struct ws_err err = WS_ERR_INIT;

    make_pgdata("15\n");
    make_control(buf, 1300, 16u << 20);
    write_file(tmpdir, "global/pg_control", buf, 200);
    cr_expect_eq(pgcontrol_read(tmpdir, &c, &err), -1);
    cr_expect_eq(err.code, WS_EINPUT);
    cr_expect(strstr(err.msg, "read 200 of") != NULL, "%s", err.msg);
}

Test(pgcontrol_read, null_pgdata_is_cwd)
{
    struct pg_control c;
    struct ws_err err = WS_ERR_INIT;

    make_pgdata("16\n");
    cr_assert_eq(chdir(tmpdir), 0);    /* each test is its own process */
    cr_assert_eq(pgcontrol_read(NULL, &c, &err), 0, "%s", err.msg);
    cr_expect_eq(c.pg_major, 16u);
    cr_assert_eq(pgcontrol_read("", &c, &err), 0, "%s", err.msg);
    cr_expect_eq(c.system_identifier, UINT64_C(7301234567890123456));
}

/*
 * The error contract restore_wal relies on: a file that could not be opened
 * or read has sys_errno set; one that was read but is invalid has not.
 */
Test(pgcontrol_read, unreadable_pg_control_has_errno)
{
    struct pg_control c;
    struct ws_err err = WS_ERR_INIT;
    char        path[128];

    make_pgdata("15\n");
    snprintf(path, sizeof(path), "%s/global/pg_control", tmpdir);
    cr_assert_eq(unlink(path), 0);
    /* a directory opens but cannot be read (EISDIR), even for root */
    cr_assert_eq(mkdir(path, 0700), 0);
    cr_expect_eq(pgcontrol_read(tmpdir, &c, &err), -1);
    cr_expect_eq(err.sys_errno, EISDIR, "%s", err.msg);
    cr_expect(strstr(err.msg, path) != NULL, "%s", err.msg);
}

Test(pgcontrol_read, invalid_pg_control_has_no_errno)
{
    unsigned char buf[PG_CONTROL_FILE_SIZE];
    struct pg_control c;
    const struct
    {
        size_t      off;        /* byte to flip, or SIZE_MAX: truncate to 200 */
        enum ws_code code;
    }           cases[] = {
        {OFF_TLI, WS_ECORRUPT}, {OFF_VERSION + 1, WS_EINPUT}, {SIZE_MAX, WS_EINPUT},
    };

    make_pgdata("15\n");
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
    {
        struct ws_err err = WS_ERR_INIT;

        make_control(buf, 1300, 16u << 20);
        if (cases[i].off != SIZE_MAX)
            buf[cases[i].off] ^= 1;
        write_file(tmpdir, "global/pg_control", buf,
                   cases[i].off == SIZE_MAX ? 200 : sizeof(buf));
        cr_expect_eq(pgcontrol_read(tmpdir, &c, &err), -1, "case %zu", i);
        cr_expect_eq(err.code, cases[i].code, "case %zu: %s", i, err_code_name(err.code));
        cr_expect_eq(err.sys_errno, 0, "case %zu: %s", i, err.msg);
    }
}

/* A stable bad CRC is read once more (the two reads agree), not ten times. */
Test(pgcontrol_read, stable_bad_crc_is_not_retried_long)
{
    unsigned char buf[PG_CONTROL_FILE_SIZE];
    struct pg_control c;
    struct ws_err err = WS_ERR_INIT;
    struct timespec t0, t1;
    double      ms;

    make_pgdata("15\n");
    make_control(buf, 1300, 16u << 20);
    buf[OFF_TLI] ^= 1;
    write_file(tmpdir, "global/pg_control", buf, sizeof(buf));
    clock_gettime(CLOCK_MONOTONIC, &t0);
    cr_expect_eq(pgcontrol_read(tmpdir, &c, &err), -1);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    ms = (double) (t1.tv_sec - t0.tv_sec) * 1e3 + (double) (t1.tv_nsec - t0.tv_nsec) / 1e6;
    cr_expect_eq(err.code, WS_ECORRUPT);
    cr_expect_geq(ms, 9.0, "not read again (%.1f ms)", ms);
    cr_expect_lt(ms, 90.0, "retried although the reads agreed (%.1f ms)", ms);
}

/* ---- restore_wal: the cluster check against the data directory ----------------- */

#define RESTORE_SYSID UINT64_C(7301234567890123456)

static char scratch[64];
static char repodir[PATH_MAX];
static char stderr_path[PATH_MAX];
static int  saved_stderr = -1;

static void
restore_init(void)
{
    harness_clear_walship_env();
    harness_scratch(scratch, sizeof(scratch), "pgcontrol_restore");
    log_set_level(LOG_LEVEL_ERROR);
}

static void
restore_fini(void)
{
    remove_tmpdir();
    harness_rm_scratch(scratch);
}

TestSuite(restore_wal, .init = restore_init, .fini = restore_fini);

/* An empty filesystem repository bound to RESTORE_SYSID, and a cfg for it. */
static void
make_repo(struct cfg *cfg)
{
    struct ws_err err = WS_ERR_INIT;
    struct pg_control pgc;
    struct repo *r = NULL;
    char      **rest = NULL;
    int         nrest = 0;

    cr_assert_eq(cfg_load(cfg, 1, (char *[]){"walship-test", NULL}, &rest, &nrest, &err), 0,
                 "cfg_load: %s", err.msg);
    free(rest);
    snprintf(repodir, sizeof(repodir), "%s/repo", scratch);
    cr_assert_eq(mkdir(repodir, 0700), 0);
    snprintf(cfg->repo, sizeof(cfg->repo), "%s", repodir);
    cfg->retry_attempts = 0;
    memset(&pgc, 0, sizeof(pgc));
    pgc.system_identifier = RESTORE_SYSID;
    pgc.pg_control_version = 1300;
    pgc.wal_segment_size = 16u << 20;
    pgc.pg_major = 15;
    cr_assert_eq(repo_open(cfg, &pgc, &r, &err), 0, "repo_open: %s", err.msg);
    repo_close(r);
}

/* %p for restore_wal: in the scratch directory. */
static const char *
out_path(void)
{
    static char path[PATH_MAX];

    snprintf(path, sizeof(path), "%s/000000010000000000000001", scratch);
    return path;
}

static void
capture_stderr(void)
{
    int         fd;

    snprintf(stderr_path, sizeof(stderr_path), "%s/stderr.txt", scratch);
    fd = open(stderr_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    cr_assert(fd >= 0);
    fflush(stderr);
    saved_stderr = dup(2);
    dup2(fd, 2);
    close(fd);
}

/* Restore stderr; returns what was written (static buffer). */
static const char *
captured_stderr(void)
{
    static char text[4096];
    FILE       *f;
    size_t      n;

    fflush(stderr);
    dup2(saved_stderr, 2);
    close(saved_stderr);
    f = fopen(stderr_path, "r");
    cr_assert_not_null(f);
    n = fread(text, 1, sizeof(text) - 1, f);
    text[n] = '\0';
    fclose(f);
    return text;
}

static int
count(const char *hay, const char *needle)
{
    int         n = 0;

    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

Test(restore_wal, missing_pg_control_warns_and_goes_on)
{
    struct cfg  cfg;
    struct restore_stats st;
    struct ws_err err = WS_ERR_INIT;
    char        want[160];
    const char *out;

    make_repo(&cfg);
    strcpy(tmpdir, "/tmp/ws_pgcontrol.XXXXXX");
    cr_assert_not_null(mkdtemp(tmpdir));
    snprintf(cfg.pgdata, sizeof(cfg.pgdata), "%s", tmpdir);
    log_init("walship-restore", LOG_LEVEL_INFO);
    capture_stderr();
    /* the check is skipped: the lookup happens, and the file is not there */
    cr_expect_eq(restore_wal(&cfg, "000000010000000000000001", out_path(), &st, &err), -1);
    out = captured_stderr();
    cr_expect_eq(err.code, WS_ENOTFOUND, "%s: %s", err_code_name(err.code), err.msg);
    snprintf(want, sizeof(want), "\"%s/global/pg_control\"", tmpdir);
    cr_expect(strstr(out, "warning: ") != NULL && strstr(out, want) != NULL, "stderr: %s", out);
    cr_expect_eq(count(out, "warning: "), 1, "stderr: %s", out);
}

Test(restore_wal, corrupt_pg_control_stops)
{
    struct cfg  cfg;
    struct restore_stats st;
    unsigned char buf[PG_CONTROL_FILE_SIZE];
    const size_t flips[] = {OFF_TLI, OFF_VERSION + 1, SIZE_MAX};
    const char *says[] = {"CRC", "pg_control_version", "read 200 of"};

    make_repo(&cfg);
    make_pgdata("15\n");
    snprintf(cfg.pgdata, sizeof(cfg.pgdata), "%s", tmpdir);
    for (size_t i = 0; i < sizeof(flips) / sizeof(flips[0]); i++)
    {
        struct ws_err err = WS_ERR_INIT;
        char        want[160];

        make_control(buf, 1300, 16u << 20);
        if (flips[i] != SIZE_MAX)
            buf[flips[i]] ^= 1;
        write_file(tmpdir, "global/pg_control", buf, flips[i] == SIZE_MAX ? 200 : sizeof(buf));
        cr_expect_eq(restore_wal(&cfg, "000000010000000000000001", out_path(), &st, &err),
                     -1);
        cr_expect_eq(err.code, WS_ECORRUPT, "%s: %s", err_code_name(err.code), err.msg);
        snprintf(want, sizeof(want), "\"%s/global/pg_control\"", tmpdir);
        cr_expect(strstr(err.msg, want) != NULL, "%s", err.msg);
        cr_expect(strstr(err.msg, says[i]) != NULL, "<%s> lacks <%s>", err.msg, says[i]);
        cr_expect_neq(err.hint[0], '\0', "no hint: %s", err.msg);
    }
}

Test(restore_wal, pg_control_of_another_cluster_is_refused)
{
    struct cfg  cfg;
    struct restore_stats st;
    struct ws_err err = WS_ERR_INIT;
    unsigned char buf[PG_CONTROL_FILE_SIZE];

    make_repo(&cfg);
    make_pgdata("15\n");
    make_control(buf, 1300, 16u << 20);
    put64(buf, OFF_SYSID, RESTORE_SYSID + 1);
    fix_crc(buf);
    write_file(tmpdir, "global/pg_control", buf, sizeof(buf));
    snprintf(cfg.pgdata, sizeof(cfg.pgdata), "%s", tmpdir);
    cr_expect_eq(restore_wal(&cfg, "000000010000000000000001", out_path(), &st, &err), -1);
    cr_expect_eq(err.code, WS_EMISMATCH, "%s: %s", err_code_name(err.code), err.msg);
}

/* ---- against a real cluster ------------------------------------------------------ */

/*
 * Run initdb into <tmpdir>/data.  Returns 0, or 1 with *why set when the
 * environment cannot do it (the caller skips).
 */
static int
run_initdb(const char *bin, const char *extra, const char **why)
{
    const char *user = NULL;
    struct passwd *pw = NULL;
    char        cmd[1024];
    int         st;

    static char whybuf[PATH_MAX + 64];

    snprintf(cmd, sizeof(cmd), "%s/initdb", bin);
    if (access(cmd, X_OK) != 0)
    {
        snprintf(whybuf, sizeof(whybuf), "%s/initdb not installed", bin);
        *why = whybuf;
        return 1;
    }
    strcpy(tmpdir, "/tmp/ws_pgcontrol.XXXXXX");
    cr_assert_not_null(mkdtemp(tmpdir), "mkdtemp: %s", strerror(errno));
    if (geteuid() == 0)
    {
        /* initdb refuses to run as root */
        if ((pw = getpwnam("pgtest")) != NULL)
            user = "pgtest";
        else if ((pw = getpwnam("postgres")) != NULL)
            user = "postgres";
        else
        {
            *why = "running as root and neither user pgtest nor postgres exists";
            return 1;
        }
        cr_assert_eq(chown(tmpdir, pw->pw_uid, pw->pw_gid), 0, "chown: %s", strerror(errno));
        snprintf(cmd, sizeof(cmd),
                 "cd '%s' && runuser -u %s -- %s/initdb -D '%s/data' -U postgres "
                 "--auth=trust --no-sync -E UTF8 --locale=C %s >'%s/initdb.log' 2>&1",
                 tmpdir, user, bin, tmpdir, extra, tmpdir);
    }
    else
        snprintf(cmd, sizeof(cmd),
                 "cd '%s' && %s/initdb -D '%s/data' -U postgres "
                 "--auth=trust --no-sync -E UTF8 --locale=C %s >'%s/initdb.log' 2>&1",
                 tmpdir, bin, tmpdir, extra, tmpdir);
    st = system(cmd);
    cr_assert_eq(st, 0, "initdb failed (%d), see %s/initdb.log", st, tmpdir);
    return 0;
}

/* Value of "key:   value" from pg_controldata's output, or "" if absent. */
static void
controldata_value(const char *bin, const char *datadir, const char *key, char *out,
                  size_t outlen)
{
    char        cmd[512];
    char        line[512];
    size_t      klen = strlen(key);
    FILE       *p;

    out[0] = '\0';
    snprintf(cmd, sizeof(cmd), "LC_ALL=C LANG=C %s/pg_controldata '%s'", bin, datadir);
    p = popen(cmd, "r");
    cr_assert_not_null(p, "popen: %s", strerror(errno));
    while (fgets(line, sizeof(line), p) != NULL)
    {
        if (strncmp(line, key, klen) == 0 && line[klen] == ':')
        {
            const char *v = line + klen + 1;

            while (*v == ' ')
                v++;
            snprintf(out, outlen, "%s", v);
            out[strcspn(out, "\n")] = '\0';
        }
    }
    cr_assert_eq(pclose(p), 0, "pg_controldata failed");
}

static void
compare_with_controldata(const char *bin, uint32_t want_seg_size, uint32_t want_major,
                         uint32_t want_version, uint32_t want_checksums)
{
    char        datadir[128];
    char        v[128];
    char        lsn[64];
    struct pg_control c;
    struct ws_err err = WS_ERR_INIT;
    time_t      now = time(NULL);

    snprintf(datadir, sizeof(datadir), "%s/data", tmpdir);
    cr_assert_eq(pgcontrol_read(datadir, &c, &err), 0, "%s", err.msg);

    controldata_value(bin, datadir, "Database system identifier", v, sizeof(v));
    cr_assert_neq(v[0], '\0', "pg_controldata printed no system identifier");
    cr_expect_eq(c.system_identifier, strtoull(v, NULL, 10), "sysid %llu vs %s",
                 (unsigned long long) c.system_identifier, v);

    controldata_value(bin, datadir, "Bytes per WAL segment", v, sizeof(v));
    cr_expect_eq(c.wal_segment_size, (uint32_t) strtoul(v, NULL, 10), "%u vs %s",
                 c.wal_segment_size, v);
    cr_expect_eq(c.wal_segment_size, want_seg_size);

    controldata_value(bin, datadir, "Latest checkpoint's TimeLineID", v, sizeof(v));
    cr_expect_eq(c.checkpoint_timeline, (uint32_t) strtoul(v, NULL, 10), "%u vs %s",
                 c.checkpoint_timeline, v);
    cr_expect_eq(c.checkpoint_timeline, 1u);

    controldata_value(bin, datadir, "pg_control version number", v, sizeof(v));
    cr_expect_eq(c.pg_control_version, (uint32_t) strtoul(v, NULL, 10));

    controldata_value(bin, datadir, "Catalog version number", v, sizeof(v));
    cr_expect_eq(c.catalog_version, (uint32_t) strtoul(v, NULL, 10));

    controldata_value(bin, datadir, "Database block size", v, sizeof(v));
    cr_expect_eq(c.block_size, (uint32_t) strtoul(v, NULL, 10));

    controldata_value(bin, datadir, "WAL block size", v, sizeof(v));
    cr_expect_eq(c.wal_block_size, (uint32_t) strtoul(v, NULL, 10));

    controldata_value(bin, datadir, "Latest checkpoint location", v, sizeof(v));
    snprintf(lsn, sizeof(lsn), "%X/%X", (unsigned) (c.checkpoint_lsn >> 32),
             (unsigned) c.checkpoint_lsn);
    cr_expect_str_eq(lsn, v);

    controldata_value(bin, datadir, "Database cluster state", v, sizeof(v));
    cr_expect_str_eq(v, "shut down");
    cr_expect_eq(c.state, 1, "DB_SHUTDOWNED");

    cr_expect(c.time > (int64_t) now - 3600 && c.time <= (int64_t) now + 60,
              "pg_control time %lld, now %lld", (long long) c.time, (long long) now);
    cr_expect_eq(c.pg_major, want_major);
    cr_expect_eq(c.pg_control_version, want_version);

    controldata_value(bin, datadir, "Data page checksum version", v, sizeof(v));
    cr_expect_eq(c.data_checksum_version, (uint32_t) strtoul(v, NULL, 10));
    cr_expect_eq(c.data_checksum_version, want_checksums);
}

Test(pgcontrol_read, initdb_default, .timeout = 120)
{
    const char *why = NULL;

    if (run_initdb(PG_BIN, "", &why) != 0)
        cr_skip_test("%s", why);
    compare_with_controldata(PG_BIN, 16u << 20, 15, 1300, 0);
}

Test(pgcontrol_read, initdb_wal_segsize_64, .timeout = 120)
{
    const char *why = NULL;

    if (run_initdb(PG_BIN, "--wal-segsize=64", &why) != 0)
        cr_skip_test("%s", why);
    compare_with_controldata(PG_BIN, 64u << 20, 15, 1300, 0);
}

/*
 * PostgreSQL 18 (scripts/install-pg18.sh; WS_PG18_BIN overrides): its initdb
 * enables data checksums by default, which pg_control shows.
 */
static const char *
pg18_bin(void)
{
    const char *b = getenv("WS_PG18_BIN");

    return b != NULL && b[0] != '\0' ? b : "/var/cache/walship/pg18/bin";
}

Test(pgcontrol_read, initdb_pg18_default, .timeout = 120)
{
    const char *why = NULL;

    if (run_initdb(pg18_bin(), "", &why) != 0)
        cr_skip_test("%s (PostgreSQL 18 build)", why);
    compare_with_controldata(pg18_bin(), 16u << 20, 18, 1800, 1);
}

Test(pgcontrol_read, initdb_pg18_no_checksums_segsize_32, .timeout = 120)
{
    const char *why = NULL;

    if (run_initdb(pg18_bin(), "--no-data-checksums --wal-segsize=32", &why) != 0)
        cr_skip_test("%s (PostgreSQL 18 build)", why);
    compare_with_controldata(pg18_bin(), 32u << 20, 18, 1800, 0);
}
