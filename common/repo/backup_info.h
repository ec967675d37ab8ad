/*
 * backup_info.h — base backups in a repository and their descriptors
 * (listing: catalog.h; the choice of a backup: backup_choose.h).
 *
 * A base backup lives under "backups/<id>/":
 *   <archive>.<part>    the tablespace archives (base.tar, <oid>.tar) as
 *                       walship objects, each split into parts of about
 *                       backup_part_size bytes at tar member boundaries so
 *                       that every part is a complete tar archive of its own
 *                       (base.tar.0, base.tar.1, 16385.tar.0 ...)
 *   backup_manifest     the server's backup manifest (walship object)
 *   backup.started      claims the id when the backup starts (plain text:
 *                       pid and time), removed with the backup
 *   backup.info         the descriptor (walship object; text, key = value),
 *                       written last: a backup without it is incomplete
 * The id is the UTC start time, "20261203T205322Z".  docs/format.md.
 *
 * The descriptor of a complete backup says the WAL from start_wal to
 * stop_wal was in the archive when it was written: the backup is
 * consistent from that archive alone.
 */
#ifndef WS_BACKUP_INFO_H
#define WS_BACKUP_INFO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "repo.h"

#define BACKUP_PREFIX "backups/"
#define BACKUP_INFO_NAME "backup.info"
#define BACKUP_MANIFEST_NAME "backup_manifest"
#define BACKUP_STARTED_NAME "backup.started"
#define BACKUP_INFO_FORMAT 1
#define BACKUP_ID_LEN 17                /* "20261203T205322Z" plus NUL */
#define BACKUP_INFO_MAX (4 * 1024 * 1024)   /* largest descriptor we read */

/* One data object of a backup. */
struct backup_object
{
    char        name[64];           /* "base.tar.0", "16385.tar.2", "backup_manifest" */
    uint32_t    tablespace;         /* 0 = base (and the manifest) */
    uint32_t    part;
    uint64_t    size;               /* plaintext bytes */
    uint64_t    stored;             /* bytes in the repository */
    uint64_t    xxh64;              /* of the plaintext */
};

struct backup_tablespace
{
    uint32_t    oid;
    char        location[1024];
};

struct backup_info
{
    int         format;
    char        id[BACKUP_ID_LEN];
    char        label[256];
    bool        complete;           /* descriptor present (listing: else incomplete) */
    bool        unreadable;         /* descriptor present but damaged (listing) */
    bool        off_lineage;        /* set by backup_mark_lineage: cannot reach the
                                     * target timeline */
    uint64_t    system_identifier;
    int         pg_version;         /* 150018 */
    uint32_t    timeline;           /* stop timeline */
    uint32_t    start_timeline;
    uint64_t    start_lsn;
    uint64_t    stop_lsn;
    char        start_wal[25];
    char        stop_wal[25];
    int64_t     start_time_us;      /* unix microseconds, UTC */
    int64_t     stop_time_us;       /* the backup is consistent from here on */
    int64_t     wal_time_us;        /* when its WAL was found in the archive */
    char        compression[16];
    char        encryption[16];
    uint64_t    size;               /* sum of data objects, plaintext */
    uint64_t    stored;             /* sum of all objects, stored */
    int         nobjects;
    struct backup_object *objects;  /* data parts in order, then the manifest */
    int         ntablespaces;
    struct backup_tablespace *tablespaces;
};

void        backup_info_free(struct backup_info *b);   /* the arrays; NULL is fine */

/* "backups/<id>/<name>" */
int         backup_key(const char *id, const char *name, char *buf, size_t len,
                       struct ws_err *err);
/* true if s is a well-formed backup id */
bool        backup_id_valid(const char *s);
/* The id for a backup starting at time t (unix seconds). */
void        backup_id_format(int64_t t, char out[BACKUP_ID_LEN]);

/* Descriptor text.  format returns a malloc'd string; parse fills *b. */
char       *backup_info_format(const struct backup_info *b);
int         backup_info_parse(const char *text, const char *what, struct backup_info *b,
                              struct ws_err *err);

/* Append an object / tablespace (grows the arrays). */
int         backup_info_add_object(struct backup_info *b, const struct backup_object *o,
                                   struct ws_err *err);
int         backup_info_add_tablespace(struct backup_info *b, uint32_t oid,
                                       const char *location, struct ws_err *err);

/* Write / read backups/<id>/backup.info as a walship object. */
int         backup_info_store(struct repo *repo, const struct backup_info *b,
                              struct ws_err *err);
int         backup_info_load(struct repo *repo, const char *id, struct backup_info *b,
                             struct ws_err *err);

#endif
