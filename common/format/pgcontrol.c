/*
 * pgcontrol.c — read the fields walship needs from global/pg_control.
 *
 * pg_control holds a ControlFileData struct (src/include/catalog/pg_control.h)
 * written in the server's native byte order and padded to PG_CONTROL_FILE_SIZE
 * bytes; its last field is a CRC-32C over everything before it.  We do not
 * include PostgreSQL's headers: the offsets below were measured with
 * offsetof() against the PostgreSQL 15 server headers, and ControlFileData
 * has the same layout for every release that writes pg_control_version 1300
 * (PostgreSQL 13 to 16).  A new layout gets a new pg_control_version, so
 * anything else is refused rather than misread.
 *
 * The checks follow the server's ReadControlFile() (xlog.c): version first
 * (so a file from a newer release gets a clear message instead of a CRC
 * error), then the CRC, then the WAL segment size.
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

/* ControlFileData offsets for pg_control_version 1300 */
#define PGC1300_SYSTEM_IDENTIFIER   0   /* uint64 */
#define PGC1300_PG_CONTROL_VERSION  8   /* uint32 */
#define PGC1300_CATALOG_VERSION_NO  12  /* uint32 */
#define PGC1300_STATE               16  /* int32, enum DBState */
#define PGC1300_TIME                24  /* int64, pg_time_t */
#define PGC1300_CHECKPOINT          32  /* uint64, XLogRecPtr */
#define PGC1300_CHECKPOINT_COPY     40  /* CheckPoint; ThisTimeLineID at +8 */
#define PGC1300_CHECKPOINT_TLI      (PGC1300_CHECKPOINT_COPY + 8)      /* uint32 */
#define PGC1300_BLCKSZ              216 /* uint32 */
#define PGC1300_XLOG_BLCKSZ         224 /* uint32 */
#define PGC1300_XLOG_SEG_SIZE       228 /* uint32 */
#define PGC1300_CRC                 288 /* uint32, CRC-32C of bytes [0, 288) */

#define PGC_VERSION_1300            1300
#define PGC_SUPPORTED               "1300 (PostgreSQL 13 to 16)"

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

int
pgcontrol_parse(const unsigned char *buf, size_t len, const char *what,
                struct pg_control *out, struct ws_err *err)
{
    struct pg_control c;
    uint32_t    stored_crc;
    uint32_t    calc_crc;
    int         rc = -1;

    memset(&c, 0, sizeof(c));
    if (what == NULL)
        what = "pg_control";

    if (buf == NULL || len < PGC1300_PG_CONTROL_VERSION + sizeof(uint32_t))
    {
        err_set(err, WS_EINPUT, "could not read file \"%s\": read %zu of %d bytes", what, len,
                PG_CONTROL_FILE_SIZE);
        err_detail(err, "The file is too short to hold a pg_control_version.");
        goto out;
    }

    c.pg_control_version = get_u32(buf, PGC1300_PG_CONTROL_VERSION);
    if (c.pg_control_version != PGC_VERSION_1300)
    {
        err_set(err, WS_EINPUT,
                "unsupported pg_control_version %u in file \"%s\"; supported: " PGC_SUPPORTED,
                c.pg_control_version, what);
        /* same heuristic as ReadControlFile(): a byte-swapped small number */
        if (c.pg_control_version % 65536 == 0 && c.pg_control_version / 65536 != 0)
            err_hint(err, "This could be a problem of mismatched byte ordering.");
        goto out;
    }

    if (len < PGC1300_CRC + sizeof(uint32_t))
    {
        err_set(err, WS_EINPUT, "could not read file \"%s\": read %zu of %d bytes", what, len,
                PG_CONTROL_FILE_SIZE);
        err_detail(err, "pg_control_version %u needs at least %zu bytes.",
                   c.pg_control_version, (size_t) PGC1300_CRC + sizeof(uint32_t));
        goto out;
    }

    stored_crc = get_u32(buf, PGC1300_CRC);
    calc_crc = crc32c(buf, PGC1300_CRC);
    if (calc_crc != stored_crc)
    {
        /* wording of pg_controldata / ReadControlFile() */
        err_set(err, WS_ECORRUPT,
                "calculated CRC checksum does not match value stored in file \"%s\"", what);
        err_detail(err, "Calculated CRC is %08X, stored CRC is %08X.", calc_crc, stored_crc);
        goto out;
    }

    c.system_identifier = get_u64(buf, PGC1300_SYSTEM_IDENTIFIER);
    c.catalog_version = get_u32(buf, PGC1300_CATALOG_VERSION_NO);
    c.state = (int32_t) get_u32(buf, PGC1300_STATE);
    c.time = (int64_t) get_u64(buf, PGC1300_TIME);
    c.checkpoint_lsn = get_u64(buf, PGC1300_CHECKPOINT);
    c.checkpoint_timeline = get_u32(buf, PGC1300_CHECKPOINT_TLI);
    c.block_size = get_u32(buf, PGC1300_BLCKSZ);
    c.wal_block_size = get_u32(buf, PGC1300_XLOG_BLCKSZ);
    c.wal_segment_size = get_u32(buf, PGC1300_XLOG_SEG_SIZE);
    c.pg_major = 0;

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

    *out = c;
    rc = 0;

out:
    return rc;
}
