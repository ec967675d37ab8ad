/*
 * wal.c — PostgreSQL WAL file names and segment arithmetic.  See wal.h.
 *
 * The accepted forms mirror PostgreSQL's src/include/access/xlog_internal.h:
 * IsXLogFileName, IsPartialXLogFileName, IsBackupHistoryFileName and
 * IsTLHistoryFileName check length and strspn(name, "0123456789ABCDEF"), so
 * only upper-case hex is a WAL name.  We are stricter in one respect: a
 * timeline of 0 never exists (timelines start at 1), so it is rejected.
 *
 * Segment numbers follow XLogSegNo arithmetic: a "log" id covers
 * 0x100000000 bytes of WAL, i.e. 0x100000000 / seg_size segments
 * (XLogSegmentsPerXLogId), and segno = log * segs_per_id + seg
 * (XLogFromFileName / XLogFileName).
 *
 * Pure functions: nothing allocates, logs or touches global state.
 */
#include "wal.h"

#include <stdio.h>
#include <string.h>

#define WAL_HEX_TLI 8               /* TTTTTTTT */
#define WAL_HEX_SEG 24              /* TTTTTTTTXXXXXXXXYYYYYYYY */
#define WAL_SUFFIX_PARTIAL ".partial"
#define WAL_SUFFIX_BACKUP ".backup"
#define WAL_SUFFIX_HISTORY ".history"

#define WAL_SEG_SIZE_MIN (1u * 1024 * 1024)
#define WAL_SEG_SIZE_MAX (1u * 1024 * 1024 * 1024)

/* Parse exactly n upper-case hex digits.  Returns -1 on anything else. */
static int
parse_hex(const char *s, size_t n, uint32_t *out)
{
    uint32_t    v = 0;

    for (size_t i = 0; i < n; i++)
    {
        char        c = s[i];
        uint32_t    d;

        if (c >= '0' && c <= '9')
            d = (uint32_t) (c - '0');
        else if (c >= 'A' && c <= 'F')
            d = (uint32_t) (c - 'A' + 10);
        else
            return -1;
        v = (v << 4) | d;
    }
    *out = v;
    return 0;
}

/*
 * Segments per "log" id.  A seg_size of 0 means "unknown": the arithmetic
 * functions then use the default 16 MiB rather than divide by zero.
 */
static uint64_t
segs_per_id(uint32_t seg_size)
{
    if (seg_size == 0)
        seg_size = WAL_SEG_SIZE_DEFAULT;
    return UINT64_C(0x100000000) / seg_size;
}

bool
wal_seg_size_valid(uint32_t seg_size)
{
    /* IsValidWalSegSize: power of two between 1 MB and 1 GB */
    return seg_size >= WAL_SEG_SIZE_MIN && seg_size <= WAL_SEG_SIZE_MAX &&
        (seg_size & (seg_size - 1)) == 0;
}

int
wal_parse(const char *name, uint32_t seg_size, struct wal_name *out)
{
    struct wal_name w;
    size_t      len;
    int         rc = -1;

    memset(&w, 0, sizeof(w));
    w.kind = WAL_KIND_INVALID;
    if (name == NULL)
        goto out;
    if (seg_size != 0 && !wal_seg_size_valid(seg_size))
        goto out;

    /* Bounded: anything longer than the longest form is invalid anyway. */
    len = strnlen(name, WAL_NAME_MAX + 1);

    if (len == WAL_HEX_TLI + strlen(WAL_SUFFIX_HISTORY))
    {
        /* TTTTTTTT.history */
        if (parse_hex(name, WAL_HEX_TLI, &w.timeline) < 0 ||
            strcmp(name + WAL_HEX_TLI, WAL_SUFFIX_HISTORY) != 0)
            goto out;
        w.kind = WAL_KIND_HISTORY;
    }
    else if (len == WAL_HEX_SEG ||
             len == WAL_HEX_SEG + strlen(WAL_SUFFIX_PARTIAL) ||
             len == WAL_HEX_SEG + 1 + 8 + strlen(WAL_SUFFIX_BACKUP))
    {
        if (parse_hex(name, 8, &w.timeline) < 0 ||
            parse_hex(name + 8, 8, &w.log) < 0 ||
            parse_hex(name + 16, 8, &w.seg) < 0)
            goto out;

        if (len == WAL_HEX_SEG)
            w.kind = WAL_KIND_SEGMENT;
        else if (strcmp(name + WAL_HEX_SEG, WAL_SUFFIX_PARTIAL) == 0)
            w.kind = WAL_KIND_PARTIAL;
        else if (len == WAL_HEX_SEG + 1 + 8 + strlen(WAL_SUFFIX_BACKUP))
        {
            /* TTTTTTTTXXXXXXXXYYYYYYYY.OOOOOOOO.backup */
            if (name[WAL_HEX_SEG] != '.' ||
                parse_hex(name + WAL_HEX_SEG + 1, 8, &w.offset) < 0 ||
                strcmp(name + WAL_HEX_SEG + 1 + 8, WAL_SUFFIX_BACKUP) != 0)
                goto out;
            w.kind = WAL_KIND_BACKUP;
        }
        else
            goto out;

        /* The segment part must exist for this segment size. */
        if (seg_size != 0 && (uint64_t) w.seg >= segs_per_id(seg_size))
        {
            w.kind = WAL_KIND_INVALID;
            goto out;
        }
    }
    else
        goto out;

    if (w.timeline == 0)
    {
        w.kind = WAL_KIND_INVALID;
        goto out;
    }
    rc = 0;

out:
    if (rc < 0)
        memset(&w, 0, sizeof(w));
    if (out != NULL)
        *out = w;
    return rc;
}

uint64_t
wal_segno(const struct wal_name *w, uint32_t seg_size)
{
    return (uint64_t) w->log * segs_per_id(seg_size) + w->seg;
}

void
wal_segment_name(char *buf, size_t len, uint32_t timeline, uint64_t segno,
                 uint32_t seg_size)
{
    uint64_t    per_id = segs_per_id(seg_size);

    if (buf == NULL || len == 0)
        return;
    /* XLogFileName; the log id is truncated to 32 bits as PostgreSQL does */
    snprintf(buf, len, "%08X%08X%08X", (unsigned) timeline, (unsigned) (uint32_t) (segno / per_id),
             (unsigned) (uint32_t) (segno % per_id));
}

uint64_t
wal_lsn_to_segno(uint64_t lsn, uint32_t seg_size)
{
    if (seg_size == 0)
        seg_size = WAL_SEG_SIZE_DEFAULT;
    return lsn / seg_size;
}

int
wal_repo_key(const char *name, char *buf, size_t len)
{
    struct wal_name w;
    int         n;
    int         rc = -1;

    if (buf != NULL && len > 0)
        buf[0] = '\0';
    if (buf == NULL || wal_parse(name, 0, &w) < 0)
        goto out;

    if (w.kind == WAL_KIND_HISTORY)
        n = snprintf(buf, len, "wal/%08X/%s", (unsigned) w.timeline, name);
    else
        n = snprintf(buf, len, "wal/%08X/%08X%08X/%s", (unsigned) w.timeline,
                     (unsigned) w.timeline, (unsigned) w.log, name);
    if (n < 0 || (size_t) n >= len)
    {
        /* never hand back a truncated key */
        if (len > 0)
            buf[0] = '\0';
        goto out;
    }
    rc = 0;

out:
    return rc;
}

const char *
wal_kind_name(enum wal_kind k)
{
    switch (k)
    {
        case WAL_KIND_INVALID:
            return "invalid";
        case WAL_KIND_SEGMENT:
            return "segment";
        case WAL_KIND_PARTIAL:
            return "partial";
        case WAL_KIND_BACKUP:
            return "backup";
        case WAL_KIND_HISTORY:
            return "history";
    }
    return "invalid";
}
