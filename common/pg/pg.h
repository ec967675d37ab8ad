/*
 * pg.h — the libpq layer: a physical replication connection, IDENTIFY_SYSTEM
 * and the BASE_BACKUP stream of PostgreSQL 15 and later.
 *
 * What it promises:
 *  - Nothing is written to stdout or stderr.  libpq's notices (including
 *    those received while connecting) go to a per-connection handler, by
 *    default log_debug().
 *  - No password ever appears in a message: the password given in the
 *    connection string (even one libpq cannot parse), in PGPASSWORD or found
 *    in the password file is replaced by "********" wherever it occurs in an
 *    error or notice text.  Passwords shorter than 4 characters are not
 *    masked (masking would show which characters they are made of).
 *  - Memory stays bounded: a base backup is pushed, one CopyData message at
 *    a time (at most about 32 kB), into filters supplied by the caller; no
 *    archive is ever accumulated.
 *  - Thread-safe with one struct pg_conn per thread; no global state.
 *
 * Errors (struct ws_err codes), worded as PostgreSQL would:
 *  WS_ECONFIG     something to change on the server or in the connection
 *                 string: invalid connection string, role without the
 *                 REPLICATION attribute, max_wal_senders = 0, wal_level =
 *                 minimal, no pg_hba.conf entry, server older than 15.
 *  WS_EAUTH       password authentication failed or a password is needed.
 *  WS_ETRANSIENT  may succeed later: server unreachable or not accepting
 *                 connections yet, no free WAL sender slot, connection lost
 *                 (server stopped or killed mid-stream).
 *  WS_ECORRUPT    the server reported checksum failures in data files.
 *  WS_EIO         anything else the server or the protocol did wrong.
 * The hint names what to change.  Errors of the callbacks are passed on
 * unchanged.
 */
#ifndef WS_PG_H
#define WS_PG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "filter.h"

/* Oldest server whose BASE_BACKUP syntax and stream format we speak. */
#define PG_MIN_SERVER_VERSION 150000

/* "FFFFFFFF/FFFFFFFF" plus NUL */
#define PG_LSN_LEN 18

struct pg_conn;                 /* wraps a PGconn */

/*
 * Connect for physical replication.  conninfo is a libpq connection string
 * or URI; "" (or NULL) means the PG* environment variables and defaults
 * apply.  replication=true is always added (it overrides any "replication"
 * in conninfo) and application_name defaults to "walship".
 * connect_timeout (or PGCONNECT_TIMEOUT) bounds the whole attempt.
 * Blocks until connected or failed.  On success *out must be released with
 * pg_disconnect(); on failure *out is NULL.
 */
int         pg_connect_replication(const char *conninfo, struct pg_conn **out,
                                   struct ws_err *err);
void        pg_disconnect(struct pg_conn *c);       /* NULL is fine */

/*
 * The same for a plain SQL session (replication=false overrides any
 * "replication" in conninfo), for pg_sql_row: walship check's
 * pg_switch_wal() and pg_stat_archiver.  Errors as above.
 */
int         pg_connect_sql(const char *conninfo, struct pg_conn **out, struct ws_err *err);

/* Longest value pg_sql_row keeps of a field (longer ones are cut). */
#define PG_VALUE_MAX 128

/*
 * Run sql (a query of one row of exactly nfields) on a connection from
 * pg_connect_sql: each field as text into vals[i], nulls[i] when NULL
 * (vals[i] then ""). A server error is reported as PostgreSQL words it.
 */
int         pg_sql_row(struct pg_conn *c, const char *sql, int nfields,
                       char (*vals)[PG_VALUE_MAX], bool *nulls, struct ws_err *err);

/*
 * Where the server's NOTICE/WARNING messages go.  severity is "NOTICE",
 * "WARNING", ... (localized by the server); message is the primary text.
 * fn NULL restores the default (log_debug).  Notices that arrive while
 * connecting always go to the default.
 */
void        pg_set_notice_handler(struct pg_conn *c,
                                  void (*fn) (void *arg, const char *severity,
                                              const char *message),
                                  void *arg);

/*
 * The connection's socket (-1 if none).  Another thread may shutdown(2) it
 * to abort a blocking call: the call then fails as "connection lost".
 */
int         pg_socket(const struct pg_conn *c);

/* The server's version as PQserverVersion() reports it (150004 = 15.4). */
int         pg_server_version(const struct pg_conn *c);

struct pg_system
{
    uint64_t    system_identifier;
    uint32_t    timeline;
    uint64_t    xlogpos;                /* current WAL flush location */
    int         server_version;         /* PQserverVersion */
    uint32_t    wal_segment_size;       /* bytes, from SHOW wal_segment_size */
    char        wal_level[32];          /* "replica", "logical", "minimal" */
};

/* SHOW name (a plain lower-case setting name) into buf. */
int         pg_show(struct pg_conn *c, const char *name, char *buf, size_t len,
                    struct ws_err *err);

/* IDENTIFY_SYSTEM plus SHOW wal_segment_size and SHOW wal_level. */
int         pg_identify_system(struct pg_conn *c, struct pg_system *out, struct ws_err *err);

struct pg_tablespace
{
    uint32_t    oid;                    /* 0 = the main data directory (base) */
    char        location[1024];         /* "" for base */
    int64_t     size_kb;                /* server's estimate; -1 if not asked for */
};

/*
 * Receivers of a base backup.  The server sends the archives one after the
 * other (tablespaces first, base.tar last), then the manifest.
 *
 * archive_begin: a new archive starts.  name is as sent ("base.tar",
 *     "16385.tar"; checked to be a plain file name), ts its tablespace (never
 *     NULL; ts->oid 0 for base.tar; valid until pg_backup_result_free).
 *     Return 0 and a filter in *sink to receive the archive's bytes, or -1
 *     leaving *sink NULL.  The library owns *sink until it hands it back.
 * archive_end: the archive is complete; the sink is handed back (the callee
 *     finishes, commits and frees it, even when it fails).  Called before the
 *     next archive, before the manifest, or once the server has confirmed
 *     the end of the backup.  A completed archive does not mean a complete
 *     backup: only pg_base_backup() returning 0 does.
 * manifest_begin / manifest_end: the same for the backup manifest (JSON);
 *     required when options->manifest is true.
 * progress (may be NULL): bytes_done of archive data so far and the server's
 *     estimate of the total, raised to bytes_done when the estimate was low.
 *     Asking for progress makes the server estimate sizes first (one more
 *     walk through the data directory).
 *
 * If the backup fails while a sink is owned by the library, the library
 * frees it without finishing it, which aborts it (see filter.h).
 */
struct pg_backup_callbacks
{
    int         (*archive_begin) (void *arg, const char *name, const struct pg_tablespace *ts,
                                  struct filter **sink, struct ws_err *err);
    int         (*archive_end) (void *arg, struct filter *sink, struct ws_err *err);
    int         (*manifest_begin) (void *arg, struct filter **sink, struct ws_err *err);
    int         (*manifest_end) (void *arg, struct filter *sink, struct ws_err *err);
    void        (*progress) (void *arg, uint64_t bytes_done, uint64_t bytes_total);
    void       *arg;
};

struct pg_backup_options
{
    const char *label;          /* NULL = "walship"; < 1024 bytes, no control characters */
    bool        fast_checkpoint;    /* CHECKPOINT 'fast' instead of 'spread' */
    bool        manifest;       /* MANIFEST 'yes' with CRC32C file checksums */
    bool        wal;            /* include the WAL needed in base.tar; false: from the archive */
    bool        tablespace_map; /* tablespace_map file in base.tar instead of pg_tblspc links */
    int         max_rate_kb;    /* 0 = unlimited, else 32..1048576 kB/s */
    bool        wait_for_archive;   /* WAIT true: the server blocks until its archiver
                                     * has archived the last segment (no timeout) */
};

/* How much of the manifest's start pg_backup_result keeps (its header). */
#define PG_MANIFEST_HEAD 256

struct pg_backup_result
{
    uint64_t    start_lsn;
    uint64_t    stop_lsn;
    uint32_t    start_tli;
    uint32_t    stop_tli;
    int         ntablespaces;   /* including base (oid 0) */
    struct pg_tablespace *tablespaces;     /* malloc'd, in the server's order */
    char        manifest_head[PG_MANIFEST_HEAD];   /* the manifest's first bytes */
    size_t      manifest_head_len;
};

/*
 * Run BASE_BACKUP (LABEL, CHECKPOINT, WAL, MANIFEST, PROGRESS, TABLESPACE_MAP,
 * MAX_RATE, WAIT) and stream the archives into the callbacks.  Blocks
 * for the checkpoint, the transfer and, with wait_for_archive and archiving
 * on, until the server has archived the last WAL segment.  Refuses servers older than 15 and
 * wal_level = minimal (WS_ECONFIG).
 * On success fills *res (release with pg_backup_result_free).  On failure
 * *res holds nothing to release, and when the failure happened during the
 * transfer the connection is unusable: only pg_disconnect() remains.
 */
int         pg_base_backup(struct pg_conn *c, const struct pg_backup_options *o,
                           const struct pg_backup_callbacks *cb, struct pg_backup_result *res,
                           struct ws_err *err);
void        pg_backup_result_free(struct pg_backup_result *r);      /* NULL is fine */

/*
 * The System-Identifier in the header of a backup manifest (PostgreSQL 17+
 * writes manifest version 2, whose second key it is; 15 and 16 write
 * version 1 without it).  text/len: the manifest's first bytes, e.g.
 * res->manifest_head.  Returns 1 and *out, 0 when the header has no
 * System-Identifier, -1 when the key is there but its value is not a
 * number.  Pure: no err, no logging.
 */
int         pg_manifest_system_identifier(const char *text, size_t len, uint64_t *out);

/* "16/B374D848" <-> 0x16B374D848.  Parse returns 0 or -1 (no err: pure). */
int         pg_lsn_parse(const char *s, uint64_t *out);
/* Always NUL-terminates; PG_LSN_LEN bytes are always enough. */
void        pg_lsn_format(uint64_t lsn, char *buf, size_t len);

#endif
