/*
 * smallfile.h — read a whole small file (a passphrase, a configuration
 * file, a credentials file) into memory, with a cap, so that a path
 * pointing at /dev/zero or a huge file costs a bounded read.
 */
#ifndef WS_SMALLFILE_H
#define WS_SMALLFILE_H

#include <stddef.h>
#include <sys/stat.h>
#include "err.h"

/* Refuse the opened file (fstat of it) before anything is read: fill err, return -1. */
typedef int (*smallfile_check) (const char *path, const struct stat *st, struct ws_err *err);

/*
 * Read the file at path, at most cap bytes, into a new buffer (*data, *len
 * bytes, with a '\0' after them).  `what` names it in messages: "could not
 * open %s \"%s\"", "could not stat ...", "could not read ..." with the
 * errno text, under code (WS_OK: mapped from errno, see err_set_errno);
 * err->sys_errno is ENOENT for a missing file.  check (may be NULL) sees
 * the opened file's fstat first, so a FIFO or a group-readable secret is
 * refused without reading it.
 * Returns 0; -1 on failure; -2 when the file holds more than cap bytes
 * (err: "%s \"%s\" is too large (more than %zu bytes)", which the caller
 * may reword).  On failure *data is NULL.
 */
int         smallfile_read(const char *path, const char *what, size_t cap, enum ws_code code,
                           smallfile_check check, char **data, size_t *len, struct ws_err *err);

/* Wipe (the file may hold a secret) and free a smallfile_read buffer; NULL is fine. */
void        smallfile_free(char *data, size_t len);

#endif
