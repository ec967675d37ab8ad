/*
 * fileutil.h — small POSIX file helpers shared by the filesystem driver,
 * the file sink and the executables.  All errors name the path.
 */
#ifndef WS_FILEUTIL_H
#define WS_FILEUTIL_H

#include <stddef.h>
#include "err.h"

/* write() all of buf, retrying on EINTR and short writes. */
int         file_write_all(int fd, const void *buf, size_t len, const char *what,
                           struct ws_err *err);
/* pread() exactly len bytes at offset; WS_ECORRUPT "unexpected end" if short. */
int         file_pread_all(int fd, void *buf, size_t len, long long offset, const char *what,
                           struct ws_err *err);
/* fsync the directory containing path (so a rename/create there is durable). */
int         file_fsync_parent(const char *path, struct ws_err *err);
/* fsync a directory. */
int         file_fsync_dir(const char *dir, struct ws_err *err);
/* mkdir -p for the directory part of path below root (root itself must exist);
 * every directory of the chain, new or not, is fsynced into its parent. */
int         file_mkdir_parents(const char *root, const char *relpath, struct ws_err *err);
/*
 * Make a tree durable the way PostgreSQL's fsync_pgdata (initdb,
 * pg_basebackup) does: fsync every regular file and every directory below
 * dir, then dir itself.  Two passes: the first only starts writeback of each
 * file (sync_file_range), so the second waits for data already on its way
 * instead of writing one file at a time.  Symbolic links are not followed
 * (a tablespace link's target is a tree of its own, for the caller to sync);
 * other file types are skipped.  Errors name the path; a directory that
 * refuses fsync (EINVAL) is accepted, as elsewhere.
 */
int         file_sync_tree(const char *dir, struct ws_err *err);
/* true if path exists (stat succeeds). */
int         file_exists(const char *path);

#endif
