/*
 * archive_spool.h — walship-archive's local record of WAL files it pushed
 * ahead of the archiver (parallel push, docs/walship-archive.md).
 *
 * When walship-archive is called for one segment it may also store the next
 * ready ones.  For each of those it writes a record, pg_wal/walship-archive/
 * <name>, once the object is durable in the repository.  The archiver's later
 * call for that name then answers from the record, without a request, but
 * only if the record still proves the answer:
 *  - it parses completely and its own checksum matches (a torn, empty or
 *    zero-filled record after a crash is no record);
 *  - it names this file, this repository (the configured repo string) and
 *    this cluster (system identifier);
 *  - the file at %p has today exactly the size and XXH64 the repository's
 *    object was stored with (the file is read once: a recycled, renamed or
 *    rewritten segment does not match).
 * Anything else means "no record": the call pushes as usual, which is always
 * safe (create-if-absent, then compare).  A record is written under a
 * temporary name and renamed, and never fsynced: losing one costs a push,
 * never a wrong answer.
 */
#ifndef WS_ARCHIVE_SPOOL_H
#define WS_ARCHIVE_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "err.h"

#define ARCHIVE_SPOOL_DIR "walship-archive"     /* under pg_wal */
#define ARCHIVE_SPOOL_RECORD_MAX 8192

struct archive_spool_record
{
    char        name[65];           /* WAL file name (WAL_NAME_MAX + 1) */
    uint64_t    size;               /* plaintext bytes */
    uint64_t    xxh64;              /* XXH64 of the plaintext, as in the object's end record */
    uint64_t    stored;             /* bytes of the object */
    uint64_t    system_identifier;
    char        repo[4096];         /* repository as configured */
};

/* The record's text (with its checksum line); -1 if buf is too small or a field unfit. */
int         archive_spool_format(const struct archive_spool_record *r, char *buf, size_t len);
/* Parse a record's text: 0, or -1 for anything not exactly a record with a valid checksum. */
int         archive_spool_parse(const char *text, size_t len, struct archive_spool_record *r);

/*
 * Write the record into dir (created if missing) under r->name, atomically
 * (temporary + rename).  Only after the object is durable.  -1 with err set.
 */
int         archive_spool_write(const char *dir, const struct archive_spool_record *r,
                                struct ws_err *err);

/*
 * true if dir holds a record for `name` that proves `path` is archived with
 * identical content in repository `repo` of cluster `sysid` (see above);
 * *r gets it.  Reads path once to hash it.  Never fails: any problem is false.
 */
bool        archive_spool_check(const char *dir, const char *name, const char *path,
                                const char *repo, uint64_t sysid,
                                struct archive_spool_record *r);

/* true if a record file for name exists (valid or not): the batch skips it. */
bool        archive_spool_exists(const char *dir, const char *name);

/* Remove the record for name (missing is fine). */
void        archive_spool_forget(const char *dir, const char *name);

#endif
