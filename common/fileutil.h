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
/* true if path exists (stat succeeds). */
int         file_exists(const char *path);

#endif
