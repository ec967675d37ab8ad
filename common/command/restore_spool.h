/*
 * restore_spool.h — walship-restore's prefetch spool, pg_wal/walship-prefetch/.
 *
 * The spool holds WAL segments fetched ahead of PostgreSQL (restore.c's
 * fetcher) until restore_command asks for them.  It lives in the directory
 * of %p (pg_wal), so that handing a segment over is one rename on the same
 * file system.  Its entries:
 *
 *   <SEGMENT>.<TAG>                    ready: fetched and verified (every chunk,
 *                                      sizes and checksum of the repository
 *                                      object), then given this name (not
 *                                      fsynced: the tag check catches a file
 *                                      a crash left incomplete);
 *                                      TAG = 16 upper-case hex digits of
 *                                      spool_tag(): the plaintext's XXH64 bound
 *                                      to the name, checked again at hand-over
 *                                      (a file renamed to another segment's
 *                                      name fails it)
 *   <SEGMENT>.walship-tmp.<pid>        in flight (filter_file's temporary),
 *                                      never handed over
 *   lock                               held (flock) by the one running fetcher
 *   state                              flock'd while read or changed: whose
 *                                      spool it is (repository, system
 *                                      identifier) and the request position
 *
 * The window: after PostgreSQL received segment S of timeline T, the spool
 * keeps ready segments S+1 .. S+depth of timeline T or later, and nothing
 * else.  A name is exact: a ready file is handed over only for the very name
 * asked for, so a segment of another timeline is never returned.
 */
#ifndef WS_RESTORE_SPOOL_H
#define WS_RESTORE_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "err.h"

#define SPOOL_DIR_NAME "walship-prefetch"
#define SPOOL_TMP_INFIX ".walship-tmp."

enum spool_entry_kind
{
    SPOOL_E_OTHER = 0,          /* not ours: left alone */
    SPOOL_E_READY,              /* <SEGMENT>.<TAG> */
    SPOOL_E_TMP,                /* <SEGMENT>.walship-tmp.<pid> */
    SPOOL_E_CONTROL             /* lock, state */
};

struct spool_entry
{
    enum spool_entry_kind kind;
    char        segment[25];    /* READY, TMP */
    uint32_t    timeline;
    uint64_t    segno;
    uint64_t    tag;            /* READY */
    long        pid;            /* TMP */
};

/* What the spool is for and where PostgreSQL is (the state file). */
struct spool_state
{
    bool        valid;          /* the file was there and parsed */
    bool        stop;           /* recovery is ending: fetch nothing more */
    char        repo[1024];
    uint64_t    system_identifier;
    uint32_t    timeline;       /* of the last segment handed to PostgreSQL */
    uint64_t    segno;
    int         depth;
};

/* Classify a directory entry name; seg_size as in wal.h (0 = 16 MiB). */
void        spool_parse_name(const char *name, uint32_t seg_size, struct spool_entry *out);

/* The tag of a ready file: XXH64 of the plaintext XOR XXH64 of the segment name. */
uint64_t    spool_tag(const char *segment, uint64_t content_xxh64);

/* "<SEGMENT>.<TAG>" into buf (>= 42 bytes). */
void        spool_ready_name(char *buf, size_t len, const char *segment, uint64_t tag);

/*
 * The window rule: keep a ready file of (timeline, segno) when PostgreSQL
 * last received segment st->segno of st->timeline?  A stop state keeps
 * nothing.
 */
bool        spool_in_window(const struct spool_state *st, uint32_t timeline, uint64_t segno);

/* The state file's text and back (exposed for the tests). */
int         spool_state_format(const struct spool_state *st, char *buf, size_t len);
void        spool_state_parse(const char *text, struct spool_state *st);

/*
 * <dirname(path)>/walship-prefetch into buf, if that directory is named
 * pg_wal (else WS_ENOTFOUND: no spool for it).
 */
int         spool_dir_for(const char *path, char *buf, size_t len, struct ws_err *err);

/*
 * The open spool: its directory and the state file, flock'd (LOCK_EX)
 * from spool_open to spool_close.
 */
struct spool
{
    char        dir[4096];
    int         state_fd;
    uint32_t    seg_size;
    struct spool_state st;      /* as read by spool_open; spool_save writes it */
};

/*
 * Open (create = make the directory if missing) and lock the spool.  A
 * missing directory without create is WS_ENOTFOUND.  Blocks while another
 * process holds the state lock (only for the short time of a scan or a
 * rename).
 */
int         spool_open(struct spool *sp, const char *dir, uint32_t seg_size, bool create,
                       struct ws_err *err);
void        spool_close(struct spool *sp);      /* unlocks; sp->state_fd < 0 is fine */
int         spool_save(struct spool *sp, struct ws_err *err);

/* What spool_scan saw. */
struct spool_seen
{
    struct spool_entry found;   /* the ready entry of `want` (kind READY), if any */
    bool        in_flight;      /* a live fetcher's temporary of `want` exists */
    int         ahead;          /* ready files kept */
    uint64_t    have;           /* bit i: segment st.segno + 1 + i of st.timeline is
                                 * ready or in flight */
};

/*
 * Scan the spool (locked): remove ready files outside the window (all of
 * them when owner_ok is false: another repository or cluster, or stale),
 * and temporary files of fetchers that are gone (all of them when
 * fetcher_running is false).  want (may be NULL): the segment asked for,
 * kept and reported in seen->found even outside the window.
 */
int         spool_scan(struct spool *sp, bool owner_ok, bool fetcher_running,
                       const char *want, struct spool_seen *seen, struct ws_err *err);

/*
 * Hand a ready file over to path: read it, check its size (seg_size) and
 * its tag against its name, rename.  A file that fails a check is removed
 * and *taken is false (the caller fetches from the repository); only an
 * error renaming is -1.
 */
int         spool_take(struct spool *sp, const struct spool_entry *e, const char *path,
                       bool *taken, struct ws_err *err);

/*
 * Try to take the fetcher lock without waiting: >= 0 is the descriptor
 * holding it, -1 if a fetcher runs (or the lock file cannot be opened).
 */
int         spool_fetch_lock(const char *dir);

/*
 * Remove everything of ours in the directory and the directory itself;
 * only by the holder of the fetcher lock, with the state lock held.
 */
void        spool_remove_all(struct spool *sp);

#endif
