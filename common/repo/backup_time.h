/*
 * backup_time.h — timestamps as backup descriptors store them and as
 * operators give recovery targets: unix microseconds, UTC.
 */
#ifndef WS_BACKUP_TIME_H
#define WS_BACKUP_TIME_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* "2026-12-03 20:53:22.123456+00" (always UTC, microseconds). */
void        backup_time_format(int64_t us, char *buf, size_t len);
/*
 * Parse a timestamp as PostgreSQL's recovery_target_time accepts it, in the
 * forms operators write: "YYYY-MM-DD HH:MM:SS[.ffffff][Z|+HH[:MM]|-HH[:MM]]"
 * ('T' also separates date and time; without a zone the local time zone of
 * this process applies).  Returns 0 or -1 (WS_EINPUT naming the text).
 */
int         backup_time_parse(const char *s, int64_t *us, struct ws_err *err);

#endif
