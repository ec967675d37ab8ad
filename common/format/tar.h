/*
 * tar.h — streaming extraction of the tar archives PostgreSQL's BASE_BACKUP
 * sends (one per tablespace), as a filter sink.
 *
 * The format is the ustar subset written by src/port/tar.c and
 * src/backend/backup/basebackup.c: 512-byte headers, regular files,
 * directories and symbolic links (pg_tblspc/<oid>, whose name carries a
 * trailing slash), each member's data padded to 512 bytes, two zero blocks at
 * the end.  pax extended headers ('x': path, linkpath, size, mtime; 'g' is
 * skipped) and GNU long names/links ('L', 'K') are accepted too, although
 * PostgreSQL does not write them.  Trailing zero padding after the end of the
 * archive (GNU tar's 10 KiB records) is accepted.
 *
 * Promises:
 *  - Bounded memory: file data goes straight to the open file as it
 *    arrives, through a write buffer of TAR_WRITE_BUFFER bytes; one 512-byte
 *    header buffer; an extended header buffer (pax, GNU long name) of at most
 *    TAR_META_MAX bytes, allocated only if the archive has one.  What grows
 *    with the archive is the list of directories created or filled (their
 *    paths, for the final modes, mtimes and fsync).
 *  - Nothing is created outside target_dir: absolute names and ".."
 *    components are refused, parent directories are opened and created one
 *    component at a time relative to target_dir (openat/mkdirat with
 *    O_NOFOLLOW), so an entry below a symbolic link is refused, and files
 *    are created with O_EXCL | O_NOFOLLOW.  Existing files, symbolic links
 *    and special files are never overwritten; an existing directory is
 *    entered.
 *  - Symbolic links: by default only pg_tblspc/<oid> (a tablespace link, the
 *    only kind PostgreSQL's BASE_BACKUP sends; it skips any other link in
 *    the data directory); any other is refused (opts.symlinks).
 *  - Modes: the header's mode & 0700 (files are created 0600 and set when
 *    closed; directories stay 0700 while being filled, and get their mode
 *    and mtime in finish, deepest first).  Owners are not restored.
 *  - A chain is not shared between threads; there is no global state.
 *
 * Errors (struct ws_err; each message names the member):
 *  WS_ECORRUPT  bad header checksum (with its offset), truncated archive (in
 *               a header, in a member's data, missing end-of-archive blocks),
 *               data after the end, absolute path, "..", a path through a
 *               symbolic link, a symbolic link that opts.symlinks refuses,
 *               a hard link, device, FIFO or other unsupported member type,
 *               a malformed number or extended header
 *  WS_EIO       the OS refused (the member exists already: O_EXCL; EACCES,
 *               EROFS...); the message carries strerror
 *  WS_ENOSPC    ENOSPC or EDQUOT while creating or writing
 *  WS_ECONFIG   target_dir cannot be opened, or map_symlink refused
 *  WS_EINTERNAL out of memory, or use after a failure
 */
#ifndef WS_TAR_H
#define WS_TAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "err.h"
#include "filter.h"

#define TAR_BLOCK_SIZE      512
#define TAR_WRITE_BUFFER    (64 * 1024)
#define TAR_META_MAX        (64 * 1024)

/* Which symbolic link members are extracted (the others fail, WS_ECORRUPT). */
enum tar_symlinks
{
    TAR_SYMLINKS_TABLESPACE = 0,    /* pg_tblspc/<digits> only: a base archive */
    TAR_SYMLINKS_NONE,              /* none: a tablespace archive */
    TAR_SYMLINKS_ANY                /* any: general archives (tests) */
};

struct tar_extract_opts
{
    const char *target_dir;     /* must exist; copied, need not outlive the filter */

    /*
     * Optional: rewrite the target of the symbolic link at pg_tblspc/<oid>
     * (tablespace remapping).  Called only for such members, with the
     * member's path relative to target_dir ("pg_tblspc/16385", no trailing
     * slash) and the target recorded in the archive.  Return 0 after writing
     * a NUL-terminated new target into out (outlen bytes), 1 to keep the
     * original; anything else makes extraction fail with WS_ECONFIG.
     */
    int         (*map_symlink) (const char *path, const char *target, char *out,
                                size_t outlen, void *arg);
    void       *map_arg;

    enum tar_symlinks symlinks;

    /*
     * fsync each file when it is closed, and in finish each directory that
     * was created, named by a directory member or had an entry created in
     * it (also one that existed before), then target_dir itself.  Archives
     * extracted in parallel into one tree (the parts of a backup) are
     * durable only once the last one has finished; walship-recover leaves
     * this off and syncs the whole tree at the end instead (file_sync_tree).
     */
    bool        fsync;
};

struct tar_extract_stats
{
    uint64_t    files;          /* regular files created */
    uint64_t    dirs;           /* directories created (members and implicit parents) */
    uint64_t    symlinks;       /* symbolic links created */
    uint64_t    bytes;          /* file data written */
};

/*
 * A sink (next is NULL) that extracts the tar stream written into it below
 * opts->target_dir.  filter_finish checks that the archive ended properly
 * (two zero blocks after the last member's data), sets directory modes and
 * mtimes, fsyncs if asked, and finishes next if one was attached.
 * filter_free without a successful finish closes what is open but removes
 * nothing: what was extracted stays, and the caller decides.
 * Returns NULL and fills err (WS_ECONFIG, WS_EINTERNAL) on failure.
 */
struct filter *tar_extract_new(const struct tar_extract_opts *o, struct ws_err *err);

/* Counters so far (valid after a failure too). */
void        tar_extract_stats(const struct filter *f, struct tar_extract_stats *out);

/*
 * tar_split.c: a filter that cuts a tar stream into parts of about
 * part_size bytes, each a complete tar archive of its own, so the parts can
 * be stored and extracted independently (in parallel).  Cuts fall only
 * before a member's header (never between an extended header and its
 * member, never inside data); a part other than the last gets the two zero
 * blocks that end an archive.  A member larger than part_size makes its part
 * larger.  Everything from the end-of-archive blocks on stays in the last
 * part unchanged.
 *
 * open_part(arg, n, &sink) supplies the sink of part n (0, 1, ...) when its
 * first byte is ready; close_part(arg, sink) receives it back when the part
 * is complete (the callee finishes and frees it, even on failure).  The
 * first part is opened on the first write, or at finish if nothing was
 * written.  Freeing the filter without a successful finish frees (aborts)
 * the open sink.  The header is parsed only to find member boundaries:
 * a stream that is not tar fails with WS_ECORRUPT.
 */
struct filter *tar_split_new(uint64_t part_size,
                             int (*open_part) (void *arg, uint32_t part, struct filter **sink,
                                               struct ws_err *err),
                             int (*close_part) (void *arg, struct filter *sink, struct ws_err *err),
                             void *arg, struct ws_err *err);

#endif
