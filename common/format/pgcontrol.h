/*
 * pgcontrol.h — read the fields walship needs from global/pg_control.
 *
 * The layout of ControlFileData is version specific; the offsets are taken
 * from PostgreSQL's src/include/catalog/pg_control.h for each supported
 * pg_control_version: 1300 (PostgreSQL 13 to 16), 1700 (17), 1800 (18) and
 * 1900-1999 (19, from its development headers).  The CRC-32C stored in the
 * file is verified at the layout's own offset, so a torn or foreign file,
 * or a layout walship does not know, is rejected.
 */
#ifndef WS_PGCONTROL_H
#define WS_PGCONTROL_H

#include <stdint.h>
#include "err.h"

#define PG_CONTROL_FILE_SIZE 8192

struct pg_control
{
    uint64_t    system_identifier;
    uint32_t    pg_control_version;
    uint32_t    catalog_version;
    int32_t     state;              /* DBState */
    int64_t     time;               /* last update, pg_time_t */
    uint64_t    checkpoint_lsn;
    uint32_t    checkpoint_timeline;
    uint32_t    block_size;
    uint32_t    wal_block_size;
    uint32_t    wal_segment_size;
    uint32_t    data_checksum_version;  /* 0: no data checksums (18's initdb enables them) */
    uint32_t    pg_major;           /* from PG_VERSION in the data directory; without the
                                     * file, from pg_control_version when only one major
                                     * writes it (17, 18, 19); 0 if unknown */
};

/* Parse the raw bytes of a pg_control file (len >= offset of crc + 4). */
int         pgcontrol_parse(const unsigned char *buf, size_t len, const char *what,
                            struct pg_control *out, struct ws_err *err);

/*
 * The PostgreSQL major that writes pg_control_version v (17 for 1700), or 0
 * when several do (1300: 13 to 16) or v is not supported.
 */
uint32_t    pgcontrol_major_of_version(uint32_t v);

/*
 * Read <pgdata>/global/pg_control and <pgdata>/PG_VERSION (NULL or "" = cwd).
 * A CRC mismatch is read again (up to 10 times, 10 ms apart) until two reads
 * agree, since the running server may be rewriting the file.
 * Errors: a file that could not be opened or read has err->sys_errno set
 * (pg_control missing: WS_EINPUT with ENOENT; other errno: WS_EIO etc.; also
 * PG_VERSION unreadable).  A pg_control that was read but is invalid has
 * sys_errno 0: WS_ECORRUPT (CRC mismatch), WS_EINPUT (too short, unknown
 * version, floatFormat not where the layout puts it, bad segment size).  WS_ECONFIG: the path is too long.
 */
int         pgcontrol_read(const char *pgdata, struct pg_control *out, struct ws_err *err);

#endif
