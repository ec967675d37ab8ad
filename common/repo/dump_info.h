/*
 * dump_info.h — logical dumps (pg_dump output) in a repository and their
 * descriptors (listing: catalog.h; the commands: ops_dump.h).
 *
 * A dump named NAME lives under "dumps/NAME/":
 *   data        the bytes pg_dump wrote, as one walship object (compressed,
 *               checksummed and, in an encrypted repository, encrypted like
 *               every object; stored in one step, so it appears only whole)
 *   dump.info   the descriptor (walship object; text, key = value), written
 *               after the data: a dump without it is incomplete, and is
 *               neither listed nor readable
 * docs/format.md.
 *
 * A name is 1..DUMP_NAME_MAX characters of [A-Za-z0-9._-], not starting
 * with '.' or '-' ("daily-2026-12-04", "app_20261204_031500").
 */
#ifndef WS_DUMP_INFO_H
#define WS_DUMP_INFO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "repo.h"

#define DUMP_PREFIX "dumps/"
#define DUMP_DATA_NAME "data"
#define DUMP_INFO_NAME "dump.info"
#define DUMP_INFO_FORMAT 1
#define DUMP_NAME_MAX 128
#define DUMP_INFO_MAX (64 * 1024)       /* largest descriptor we read */
#define DUMP_SHA256_HEX 65              /* 64 hex digits plus NUL */

struct dump_info
{
    int         format;
    char        name[DUMP_NAME_MAX + 1];
    int64_t     start_time_us;      /* when the put began (unix microseconds, UTC) */
    int64_t     end_time_us;        /* when the data was stored */
    uint64_t    size;               /* plaintext bytes (what pg_dump wrote) */
    uint64_t    stored;             /* bytes of the data object in the repository */
    uint64_t    xxh64;              /* of the plaintext, as the object's end record */
    char        sha256[DUMP_SHA256_HEX];    /* of the plaintext, lower-case hex */
    uint64_t    system_identifier;  /* of the dumped cluster; 0 = not known */
    char        database[64];       /* the dumped database, "" = not known */
    char        pg_dump_format[16]; /* "custom", "tar", "plain" or "unknown" (sniffed) */
    char        compression[16];
    char        encryption[16];
};

/*
 * Is name a valid dump name?  0, else -1 with WS_EINPUT saying what is
 * wrong (err may be NULL).
 */
int         dump_name_check(const char *name, struct ws_err *err);

/* "dumps/<name>/<what>" into buf. */
int         dump_key(const char *name, const char *what, char *buf, size_t len,
                     struct ws_err *err);

/* The descriptor's text (malloc'd), NULL when out of memory. */
char       *dump_info_format(const struct dump_info *d);
/* Parse a descriptor; `what` names it in messages.  WS_ECORRUPT when damaged. */
int         dump_info_parse(char *text, const char *what, struct dump_info *d,
                            struct ws_err *err);

/* Store the descriptor of d->name (create only: WS_EEXISTS if it exists). */
int         dump_info_store(struct repo *repo, const struct dump_info *d, struct ws_err *err);
/*
 * Load the descriptor of dump `name`: WS_ENOTFOUND when it has none,
 * WS_ECORRUPT when it is damaged or describes another name.
 */
int         dump_info_load(struct repo *repo, const char *name, struct dump_info *d,
                           struct ws_err *err);

#endif
