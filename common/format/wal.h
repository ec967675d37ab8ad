/*
 * wal.h — PostgreSQL WAL file names and segment arithmetic (pure functions).
 *
 * Names handled (see PostgreSQL src/include/access/xlog_internal.h):
 *   segment   TTTTTTTTXXXXXXXXYYYYYYYY          24 upper-case hex digits
 *   partial   TTTTTTTTXXXXXXXXYYYYYYYY.partial
 *   backup    TTTTTTTTXXXXXXXXYYYYYYYY.OOOOOOOO.backup   (O = offset in segment)
 *   history   TTTTTTTT.history
 * Nothing here allocates or logs.  In the arithmetic functions a seg_size of
 * 0 means the default 16 MiB.
 */
#ifndef WS_WAL_H
#define WS_WAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WAL_NAME_MAX 64
#define WAL_SEG_SIZE_DEFAULT (16u * 1024 * 1024)

enum wal_kind
{
    WAL_KIND_INVALID = 0,
    WAL_KIND_SEGMENT,
    WAL_KIND_PARTIAL,
    WAL_KIND_BACKUP,
    WAL_KIND_HISTORY
};

struct wal_name
{
    enum wal_kind kind;
    uint32_t    timeline;
    uint32_t    log;        /* XXXXXXXX: high 32 bits of the segment number space */
    uint32_t    seg;        /* YYYYYYYY: segment within "log" */
    uint32_t    offset;     /* .backup only: offset of the backup start in the segment */
};

/*
 * Parse a bare file name (no directory).  Returns 0 and fills *out, or -1 for
 * anything that is not exactly one of the forms above (lower-case hex,
 * timeline 0, extra characters, directories are all invalid).
 * seg_size, when nonzero, must be a power of two between 1 MiB and 1 GiB and
 * additionally requires seg < 0x100000000 / seg_size.  out may be NULL; on
 * failure *out is zeroed (kind WAL_KIND_INVALID).
 */
int         wal_parse(const char *name, uint32_t seg_size, struct wal_name *out);

/* Segment number (PostgreSQL XLogSegNo) of a segment-like name. */
uint64_t    wal_segno(const struct wal_name *w, uint32_t seg_size);

/* Format a segment name from timeline and segment number into buf (>= 25 bytes). */
void        wal_segment_name(char *buf, size_t len, uint32_t timeline, uint64_t segno,
                             uint32_t seg_size);

/* Segment number holding LSN lsn (XLByteToSeg). */
uint64_t    wal_lsn_to_segno(uint64_t lsn, uint32_t seg_size);

/* true if seg_size is a valid WAL segment size (power of 2, 1 MiB..1 GiB). */
bool        wal_seg_size_valid(uint32_t seg_size);

/*
 * Repository key for a WAL-related file name:
 *   segment/partial/backup -> "wal/TTTTTTTT/TTTTTTTTXXXXXXXX/<name>"
 *   history                -> "wal/TTTTTTTT/<name>"
 * Returns -1 if name is invalid or buf too small.
 */
int         wal_repo_key(const char *name, char *buf, size_t len);

const char *wal_kind_name(enum wal_kind k);

#endif
