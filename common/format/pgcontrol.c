/*
 * pgcontrol.c — read the fields walship needs from global/pg_control.
 *
 * pg_control holds a ControlFileData struct (src/include/catalog/pg_control.h)
 * written in the server's native byte order and padded to PG_CONTROL_FILE_SIZE
 * bytes; its last field is a CRC-32C over everything before it.  We do not
 * include PostgreSQL's headers: pgc_layouts below has one row per layout
 * (pg_control_version 1300 for PostgreSQL 13 to 16, 1700, 1800, 19xx) with
 * the offsets and where each was verified.  A new layout gets a new
 * pg_control_version, so anything else is refused rather than misread.
 *
 * The checks follow the server's ReadControlFile() (xlog.c): version first
 * (so a file from a newer release gets a clear message instead of a CRC
 * error), then the CRC, then the floatFormat constant, then the WAL
 * segment size.
 */
#include "pgcontrol.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "checksum.h"
#include "clock.h"
#include "wal.h"

/*
 * One ControlFileData layout: where the fields walship reads sit, for the
 * pg_control_version values in [version_min, version_max].  The field
 * offsets before checkPointCopy (system_identifier 0, pg_control_version 8,
 * catalog_version_no 12, state 16, time 24, checkPoint 32) and the timeline
 * at checkPointCopy + 8 are the same in every layout: PostgreSQL keeps them
 * put on purpose, and only what follows the CheckPoint copy moves.
 *
 * Where each offset comes from (offsetof() on x86-64/aarch64 LP64, both
 * little-endian with 8-byte alignment of uint64 and double):
 *
 *   1300  PostgreSQL 13, 14, 15, 16.  Measured on PostgreSQL 15's installed
 *         server headers (postgresql-server-dev-15); 13, 14 and 16 declare
 *         the same ControlFileData and CheckPoint field lists (read in their
 *         catalog/pg_control.h; pgBackRest's per-version layout tables agree).
 *   1700  PostgreSQL 17 added wal_level to CheckPoint after fullPageWrites.
 *         It fills the padding before the 8-aligned nextXid, so the CheckPoint
 *         stays 88 bytes and nothing in ControlFileData moves: the same
 *         offsets as 1300 (measured on the 18 headers with the 18-only field
 *         removed; matches the published 17 tables).
 *   1800  PostgreSQL 18 added bool default_char_signedness after
 *         data_checksum_version: the nonce moves to 257 and the CRC to 292.
 *         Measured on the 18.6 headers (/var/cache/walship/pg18/include).
 *   19xx  PostgreSQL 19 (numbers 1900-1999): CheckPoint gained
 *         logicalDecodingEnabled and dataChecksumState and is 96 bytes
 *         (whether MultiXactOffset is 32 or 64 bits), moving everything after
 *         it by 8, and slru_pages_per_segment went in after relseg_size,
 *         moving the WAL block and segment sizes by 4 more.  From a 19
 *         development header (pg_control_version 1903) compiled the same
 *         way, never run against a 19 server.  The CRC at the layout's own
 *         offset, the floatFormat constant (as ReadControlFile() checks) and
 *         the plausibility of the sizes catch a 19 release whose layout
 *         differs, instead of misreading it.
 */
struct pgc_layout
{
    uint32_t    version_min;
    uint32_t    version_max;
    const char *releases;       /* for messages and docs */
    uint32_t    major;          /* the only major writing it, 0 if several */
    size_t      float_format;   /* double, FLOATFORMAT_VALUE */
    size_t      blcksz;
    size_t      xlog_blcksz;
    size_t      xlog_seg_size;
    size_t      data_checksum_version;
    size_t      crc;            /* CRC-32C of bytes [0, crc) */
};

static const struct pgc_layout pgc_layouts[] = {
    {1300, 1300, "PostgreSQL 13 to 16", 0, 208, 216, 224, 228, 252, 288},
    {1700, 1700, "PostgreSQL 17", 17, 208, 216, 224, 228, 252, 288},
    {1800, 1800, "PostgreSQL 18", 18, 208, 216, 224, 228, 252, 292},
    {1900, 1999, "PostgreSQL 19", 19, 216, 224, 236, 240, 264, 304},
};

#define PGC_SUPPORTED "1300 (PostgreSQL 13 to 16), 1700 (17), 1800 (18), 19xx (19)"

/* Fields at the same offset in every layout */
#define PGC_SYSTEM_IDENTIFIER   0   /* uint64 */
#define PGC_PG_CONTROL_VERSION  8   /* uint32 */
#define PGC_CATALOG_VERSION_NO  12  /* uint32 */
#define PGC_STATE               16  /* int32, enum DBState */
#define PGC_TIME                24  /* int64, pg_time_t */
#define PGC_CHECKPOINT          32  /* uint64, XLogRecPtr */
#define PGC_CHECKPOINT_TLI      48  /* uint32, checkPointCopy.ThisTimeLineID */

#define PGC_FLOATFORMAT_VALUE   1234567.0

/* Native-order loads from a possibly unaligned buffer. */
static uint32_t
get_u32(const unsigned char *buf, size_t off)
{
    uint32_t    v;

    memcpy(&v, buf + off, sizeof(v));
    return v;
}

static uint64_t
get_u64(const unsigned char *buf, size_t off)
{
    uint64_t    v;

    memcpy(&v, buf + off, sizeof(v));
    return v;
}

static const struct pgc_layout *
layout_find(uint32_t version)
{
    for (size_t i = 0; i < sizeof(pgc_layouts) / sizeof(pgc_layouts[0]); i++)
        if (version >= pgc_layouts[i].version_min && version <= pgc_layouts[i].version_max)
            return &pgc_layouts[i];
    return NULL;
}

uint32_t
pgcontrol_major_of_version(uint32_t pg_control_version)
{
    const struct pgc_layout *l = layout_find(pg_control_version);

    return l != NULL ? l->major : 0;
}

int
pgcontrol_parse(const unsigned char *buf, size_t len, const char *what,
                struct pg_control *out, struct ws_err *err)
{
    const struct pgc_layout *l;
    struct pg_control c;
    uint32_t    stored_crc;
    uint32_t    calc_crc;
    double      float_format;
    int         rc = -1;

    memset(&c, 0, sizeof(c));
    if (what == NULL)
        what = "pg_control";

    if (buf == NULL || len < PGC_PG_CONTROL_VERSION + sizeof(uint32_t))
    {
        err_set(err, WS_EINPUT, "could not read file \"%s\": read %zu of %d bytes", what, len,
                PG_CONTROL_FILE_SIZE);
        err_detail(err, "The file is too short to hold a pg_control_version.");
        goto out;
    }

    c.pg_control_version = get_u32(buf, PGC_PG_CONTROL_VERSION);
    l = layout_find(c.pg_control_version);
    if (l == NULL)
    {
        err_set(err, WS_EINPUT,
                "unsupported pg_control_version %u in file \"%s\"; supported: " PGC_SUPPORTED,
                c.pg_control_version, what);
        /* same heuristic as ReadControlFile(): a byte-swapped small number */
        if (c.pg_control_version % 65536 == 0 && c.pg_control_version / 65536 != 0)
            err_hint(err, "This could be a problem of mismatched byte ordering.");
        goto out;
    }

    if (len < l->crc + sizeof(uint32_t))
    {
        err_set(err, WS_EINPUT, "could not read file \"%s\": read %zu of %d bytes", what, len,
                PG_CONTROL_FILE_SIZE);
        err_detail(err, "pg_control_version %u needs at least %zu bytes.",
                   c.pg_control_version, l->crc + sizeof(uint32_t));
        goto out;
    }

    stored_crc = get_u32(buf, l->crc);
    calc_crc = crc32c(buf, l->crc);
    if (calc_crc != stored_crc)
    {
        /* wording of pg_controldata / ReadControlFile() */
        err_set(err, WS_ECORRUPT,
                "calculated CRC checksum does not match value stored in file \"%s\"", what);
        err_detail(err, "Calculated CRC is %08X, stored CRC is %08X.", calc_crc, stored_crc);
        if (l->version_min != l->version_max)
            err_hint(err, "pg_control_version %u is read with the layout of the %s development "
                     "headers; a release with another layout is not supported yet.",
                     c.pg_control_version, l->releases);
        goto out;
    }

    /* ReadControlFile() checks this constant too: a wrong layout shows here */
    memcpy(&float_format, buf + l->float_format, sizeof(float_format));
    if (float_format != PGC_FLOATFORMAT_VALUE)
    {
        err_set(err, WS_EINPUT, "file \"%s\" does not have the expected layout of "
                "pg_control_version %u (%s)", what, c.pg_control_version, l->releases);
        err_detail(err, "floatFormat is not 1234567.0 at offset %zu.", l->float_format);
        goto out;
    }

    c.system_identifier = get_u64(buf, PGC_SYSTEM_IDENTIFIER);
    c.catalog_version = get_u32(buf, PGC_CATALOG_VERSION_NO);
    c.state = (int32_t) get_u32(buf, PGC_STATE);
    c.time = (int64_t) get_u64(buf, PGC_TIME);
    c.checkpoint_lsn = get_u64(buf, PGC_CHECKPOINT);
    c.checkpoint_timeline = get_u32(buf, PGC_CHECKPOINT_TLI);
    c.block_size = get_u32(buf, l->blcksz);
    c.wal_block_size = get_u32(buf, l->xlog_blcksz);
    c.wal_segment_size = get_u32(buf, l->xlog_seg_size);
    c.data_checksum_version = get_u32(buf, l->data_checksum_version);
    c.pg_major = 0;

    /* powers of two in the ranges configure allows (--with-blocksize, --with-wal-blocksize) */
    if (c.block_size < 1024 || c.block_size > 32768 || (c.block_size & (c.block_size - 1)) ||
        c.wal_block_size < 1024 || c.wal_block_size > 65536 ||
        (c.wal_block_size & (c.wal_block_size - 1)))
    {
        err_set(err, WS_EINPUT, "file \"%s\" does not have the expected layout of "
                "pg_control_version %u (%s)", what, c.pg_control_version, l->releases);
        err_detail(err, "Implausible block size %u or WAL block size %u.", c.block_size,
                   c.wal_block_size);
        goto out;
    }
    if (!wal_seg_size_valid(c.wal_segment_size))
    {
        err_set(err, WS_EINPUT, "invalid WAL segment size %u in file \"%s\"",
                c.wal_segment_size, what);
        err_detail(err, "The WAL segment size must be a power of two between 1 MB and 1 GB.");
        goto out;
    }

    *out = c;
    rc = 0;

out:
    return rc;
}

/*
 * Read up to cap bytes of path into buf.  *n receives the byte count.  A
 * missing file is reported with missing_code (WS_OK lets err_set_errno map
 * ENOENT to WS_ENOTFOUND).
 */
static int
read_file(const char *path, unsigned char *buf, size_t cap, size_t *n,
          enum ws_code missing_code, struct ws_err *err)
{
    int         fd;
    size_t      got = 0;
    int         rc = -1;

    *n = 0;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
    {
        err_set_errno(err, errno == ENOENT ? missing_code : WS_OK, errno,
                      "could not open file \"%s\"", path);
        goto out;
    }
    while (got < cap)
    {
        ssize_t     r = read(fd, buf + got, cap - got);

        if (r < 0)
        {
            if (errno == EINTR)
                continue;
            err_set_errno(err, WS_OK, errno, "could not read file \"%s\"", path);
            goto out;
        }
        if (r == 0)
            break;
        got += (size_t) r;
    }
    *n = got;
    rc = 0;

out:
    if (fd >= 0)
        close(fd);
    return rc;
}

/* Major version from the first line of PG_VERSION ("15\n"); 0 if not a number. */
static uint32_t
parse_pg_version(const unsigned char *buf, size_t len)
{
    uint32_t    v = 0;
    size_t      i;

    for (i = 0; i < len && buf[i] >= '0' && buf[i] <= '9'; i++)
    {
        if (i >= 4)
            return 0;               /* no PostgreSQL major has five digits */
        v = v * 10 + (uint32_t) (buf[i] - '0');
    }
    if (i == 0)
        return 0;
    /* "9.6" style (pre-10) ends the major at the dot; anything else must end the line */
    if (i < len && buf[i] != '\n' && buf[i] != '\r' && buf[i] != '.')
        return 0;
    return v;
}

/*
 * The server rewrites pg_control in place while it runs (checkpoints, and
 * during recovery every minRecoveryPoint update), without any lock a
 * frontend could take, and some file systems (at least ext4) let a
 * concurrent read see a half-written file.  Like PostgreSQL's frontend
 * get_controlfile() (src/common/controldata_utils.c), a CRC mismatch is
 * therefore read again, up to PGC_READ_RETRIES times 10 ms apart, until two
 * reads in a row return the same bytes: only then is the file corrupt.
 */
#define PGC_READ_RETRIES 10

int
pgcontrol_read(const char *pgdata, struct pg_control *out, struct ws_err *err)
{
    char        path[PATH_MAX];
    unsigned char buf[PG_CONTROL_FILE_SIZE];
    unsigned char last[PG_CONTROL_FILE_SIZE];
    unsigned char vbuf[32];
    struct pg_control c;
    struct ws_err verr = WS_ERR_INIT;
    size_t      n;
    size_t      last_n = 0;
    int         rc = -1;

    if (pgdata == NULL || pgdata[0] == '\0')
        pgdata = ".";

    if ((size_t) snprintf(path, sizeof(path), "%s/global/pg_control", pgdata) >= sizeof(path))
    {
        err_set(err, WS_ECONFIG, "data directory path is too long: \"%s\"", pgdata);
        goto out;
    }
    for (int attempt = 0;; attempt++)
    {
        struct ws_err perr = WS_ERR_INIT;

        if (read_file(path, buf, sizeof(buf), &n, WS_EINPUT, err) < 0)
        {
            if (err != NULL && err->sys_errno == ENOENT)
                err_hint(err, "archive_command and restore_command run in the data directory; "
                         "otherwise set pgdata (--pgdata or WALSHIP_PGDATA).");
            goto out;
        }
        if (pgcontrol_parse(buf, n, path, &c, &perr) == 0)
            break;
        if (perr.code != WS_ECORRUPT || attempt >= PGC_READ_RETRIES ||
            (attempt > 0 && n == last_n && memcmp(buf, last, n) == 0))
        {
            if (err != NULL)
                *err = perr;
            goto out;
        }
        memcpy(last, buf, n);
        last_n = n;
        clock_sleep_ms(10);
    }

    /* PG_VERSION is informational: a missing file leaves pg_major at 0. */
    if ((size_t) snprintf(path, sizeof(path), "%s/PG_VERSION", pgdata) >= sizeof(path))
    {
        err_set(err, WS_ECONFIG, "data directory path is too long: \"%s\"", pgdata);
        goto out;
    }
    if (read_file(path, vbuf, sizeof(vbuf), &n, WS_ENOTFOUND, &verr) < 0)
    {
        if (verr.sys_errno != ENOENT)
        {
            if (err != NULL)
                *err = verr;
            goto out;
        }
        n = 0;
    }
    c.pg_major = parse_pg_version(vbuf, n);
    /* no PG_VERSION: pg_control_version names the major when only one writes it */
    if (c.pg_major == 0 && n == 0)
        c.pg_major = pgcontrol_major_of_version(c.pg_control_version);

    *out = c;
    rc = 0;

out:
    return rc;
}
