/*
 * repo.h — a repository: the one door every command goes through.
 *
 * A repository is a storage (storage.h: a directory or an S3 prefix), its
 * descriptor and, when encrypted, its master key.  Commands never reach the
 * storage or the object format themselves: they store and read *named
 * objects* here (object.h's format, compressed, checksummed and, in an
 * encrypted repository, encrypted inside), and use the plain key operations
 * (stat, list, delete, sync, raw put/get) for everything else.
 *
 * The descriptor is the object "walship.repo" (text, key = value): format
 * version, creation time, the PostgreSQL system identifier, major version
 * and WAL segment size it belongs to, and for encrypted repositories the
 * scrypt parameters and salt plus a key check (HMAC-SHA256 under the
 * master key over the other fields), never the key itself.  docs/format.md.
 *
 * repo_open() derives the master key once; objects derive their own keys
 * from it (crypt.h).  A struct repo is read-only after opening: one handle
 * may be used by any number of threads at once (every operation below
 * builds its own filter chain; the storage handle is thread-safe).
 *
 * Keys are storage keys (storage.h: '/'-separated, relative, no component
 * starting with '.'), at most REPO_KEY_MAX - 1 bytes.  A named object's key
 * is also bound into its header: an object copied to another key does not
 * read back (WS_ECORRUPT).
 */
#ifndef WS_REPO_H
#define WS_REPO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "cfg.h"
#include "crypt.h"
#include "filter.h"
#include "pgcontrol.h"

#define REPO_DESCRIPTOR_KEY "walship.repo"
#define REPO_FORMAT_VERSION 1
#define REPO_KEY_MAX 1024               /* = STORAGE_KEY_MAX */

struct repo_descriptor
{
    int         format_version;
    char        created[32];            /* ISO 8601 UTC */
    uint64_t    system_identifier;
    uint32_t    pg_major;
    uint32_t    wal_segment_size;
    int         encryption;             /* enum cfg_encryption */
    struct crypt_kdf kdf;
    unsigned char key_check[32];
};

struct repo;                            /* opaque */

/* ---- opening ---------------------------------------------------------- */

/*
 * Open the repository configured in cfg.
 * If `bind` is given (the cluster's pg_control) and the repository has no
 * descriptor yet, one is created for that cluster; if it has one, the system
 * identifier must match (WS_EMISMATCH naming both).  Without `bind` a missing
 * descriptor is an error (not a walship repository).  The configured
 * encryption must match the repository's (WS_ECONFIG), and a wrong passphrase
 * is WS_EAUTH.  For an encrypted repository, an encryption_key_cache set to a
 * directory that is not on tmpfs/ramfs is WS_ECONFIG (before a new
 * descriptor is written); an unusable cache directory only logs a warning,
 * once per process.
 */
int         repo_open(const struct cfg *cfg, const struct pg_control *bind, struct repo **out,
                      struct ws_err *err);
void        repo_close(struct repo *r);    /* NULL is fine; wipes the key */

/*
 * Check that pgc belongs to this repository: system identifier, major
 * version (skipped when either side's pg_major is 0, unknown) and segment
 * size.  WS_EMISMATCH otherwise; a different major (pg_upgrade) gets a hint
 * naming both majors and the way on (a new repository or prefix).
 */
int         repo_check_cluster(const struct repo *r, const struct pg_control *pgc,
                               struct ws_err *err);

/* ---- what commands may know about it ---------------------------------- */

/* The repository as configured ("/path", "s3://bucket/prefix"), for messages. */
const char *repo_location(const struct repo *r);
bool        repo_encrypted(const struct repo *r);
/* true if the storage driver retries its own requests (S3): callers must not again (retry.h) */
bool        repo_driver_retries(const struct repo *r);
uint64_t    repo_system_identifier(const struct repo *r);
uint32_t    repo_wal_segment_size(const struct repo *r);
uint32_t    repo_pg_major(const struct repo *r);
/* The whole descriptor (creation time, KDF parameters), for display and tests. */
const struct repo_descriptor *repo_descriptor(const struct repo *r);

/* ---- named objects ------------------------------------------------------ */

/* What a named object holds, from its header and end record. */
struct repo_object
{
    uint64_t    size;               /* plaintext bytes */
    uint64_t    stored;             /* bytes of the object in the repository */
    uint64_t    xxh64;              /* XXH64 of the plaintext */
    uint64_t    chunks;             /* data chunks */
    int         compression;        /* enum cfg_compression */
    bool        encrypted;
};

enum repo_put_mode
{
    REPO_CREATE = 0,                /* create if absent: WS_EEXISTS at commit if it exists */
    REPO_REPLACE                    /* create or replace */
};

struct repo_put
{
    enum repo_put_mode mode;
    int         compression;        /* enum cfg_compression */
    int         level;              /* -1 = the algorithm's default */
    int         threads;            /* zstd workers, 0 = none */
    uint64_t    size_hint;          /* plaintext size if known, else UINT64_MAX */
    bool        size_exact;         /* fail (WS_EINPUT) before commit if the size differs */
    bool        metadata;           /* a descriptor: the store's default storage class,
                                     * never s3_storage_class (docs/walship.md) */
};

/*
 * Parameters for a new object: REPO_CREATE, cfg's compression, level and
 * threads (no compression when cfg is NULL), size unknown.
 */
void        repo_put_init(struct repo_put *p, const struct cfg *cfg);

/*
 * Open a sink that stores the named object `key`.  Bytes written to the
 * returned head are the plaintext; filter_finish(head) compresses, encrypts
 * and commits it durably (storage.h's put contract: visible only complete,
 * WS_EEXISTS under REPO_CREATE when the key exists); filter_free(head)
 * without a successful finish aborts and leaves nothing behind.  NULL on
 * failure (err set).
 */
struct filter *repo_put_open(struct repo *r, const char *key, const struct repo_put *p,
                             struct ws_err *err);
/* After a successful filter_finish() of a repo_put_open() head: what was stored. */
void        repo_put_result(const struct filter *head, struct repo_object *out);
/* Store a whole buffer as the named object key; out may be NULL. */
int         repo_put_buffer(struct repo *r, const char *key, const struct repo_put *p,
                            const void *buf, size_t len, struct repo_object *out,
                            struct ws_err *err);

/*
 * Reading.  progress (may be NULL) is called with each block of stored
 * bytes as it arrives; returning -1 (err set) stops the read.  On failure
 * storage_failed says whether reading the repository failed (a driver error:
 * the object itself may be fine, and a WS_ETRANSIENT or WS_EIO may pass on
 * a retry), rather than the object's checks, the sink or progress.
 */
struct repo_read
{
    int         (*progress) (void *arg, uint64_t stored_bytes, struct ws_err *err);
    void       *arg;
    struct repo_object obj;         /* out, on success */
    bool        storage_failed;     /* out, on failure */
};

/*
 * Read the named object `key` into sink (NULL: verify only, the plaintext is
 * dropped), checking every chunk, the sizes and the checksum on the way.
 * The sink stays the caller's: it is written and, only once every check
 * passed, finished; never freed.  A missing object is WS_ENOTFOUND with
 * nothing written to the sink; a damaged, truncated or swapped one is
 * WS_ECORRUPT (the sink may have received data: callers write to a
 * temporary they discard).  rd may be NULL.
 */
int         repo_get(struct repo *r, const char *key, struct filter *sink, struct repo_read *rd,
                     struct ws_err *err);
/*
 * repo_get without an open repository, for an unencrypted configuration
 * (cfg->encryption none, else WS_EINTERNAL): a storage handle of its own, no
 * descriptor read.  The object is verified as by repo_get, but nothing says
 * the location is a walship repository of the expected cluster: the caller
 * must check that (repo_open, repo_check_cluster; walship-restore does it
 * in parallel) and discard the sink's data unless it passed.
 */
int         repo_get_unbound(const struct cfg *cfg, const char *key, struct filter *sink,
                             struct repo_read *rd, struct ws_err *err);
/*
 * A whole small named object, verified, into a malloc'd NUL-terminated
 * buffer (*len excludes the NUL).  More than cap plaintext bytes is
 * WS_ECORRUPT ("<what> \"<key>\" is larger than <cap> bytes").
 */
int         repo_get_buffer(struct repo *r, const char *key, size_t cap, const char *what,
                            char **buf, size_t *len, struct ws_err *err);

/*
 * Header and end record of the named object `key` without reading its body
 * (two small range reads), and that its stored length is the one they
 * imply: this catches a truncated or extended object, not bit rot inside
 * the body (repo_get reads everything).  A missing object is WS_ENOTFOUND
 * with storage_failed set; a damaged one WS_ECORRUPT (or WS_ECONFIG for an
 * encrypted object in an unencrypted repository) with storage_failed clear.
 * rd->progress is not used.
 */
int         repo_peek(struct repo *r, const char *key, struct repo_read *rd, struct ws_err *err);

/* ---- keys ----------------------------------------------------------------- */

struct repo_stat
{
    uint64_t    size;               /* stored bytes */
    int64_t     mtime;              /* unix seconds */
};

typedef int (*repo_list_cb) (const char *key, const struct repo_stat *st, void *arg,
                             struct ws_err *err);

/* WS_ENOTFOUND for a missing key. */
int         repo_stat(struct repo *r, const char *key, struct repo_stat *st, struct ws_err *err);
/*
 * cb for every key starting with prefix, in no particular order (S3:
 * lexicographic; a directory: one directory's entries after another).  cb
 * returning -1 stops the listing with its error.
 */
int         repo_list(struct repo *r, const char *prefix, repo_list_cb cb, void *arg,
                      struct ws_err *err);
/* Deleting a missing key is not an error; many: batched where the storage can. */
int         repo_delete(struct repo *r, const char *key, struct ws_err *err);
int         repo_delete_many(struct repo *r, const char *const *keys, size_t n,
                             struct ws_err *err);
/*
 * Make the existing key durable (storage_sync): before answering "already
 * stored" for an object someone else wrote.  WS_ENOTFOUND if missing.
 */
int         repo_sync(struct repo *r, const char *key, struct ws_err *err);

/* ---- storage classes (S3; docs/walship.md "Storage tiers") ----------------- */

/*
 * Rewrite key in place under storage_class, server-side (S3 CopyObject or
 * UploadPartCopy: no byte passes through walship); a key already in that
 * class is left alone.  A repository without storage classes (a directory)
 * is WS_ECONFIG.
 */
int         repo_set_class(struct repo *r, const char *key, const char *storage_class,
                           struct ws_err *err);

enum repo_thaw_state
{
    REPO_THAW_STARTED,              /* restore requested: readable in minutes to hours */
    REPO_THAW_IN_PROGRESS,          /* a restore was already running */
    REPO_THAW_READY,                /* restored: readable now */
    REPO_THAW_NOT_ARCHIVED          /* in no archive class: readable */
};

/*
 * Ask that key, in an archive class (Glacier, Deep Archive), be readable
 * for days days, at retrieval tier "Standard", "Bulk" or "Expedited".
 * Reading an archived key that is not restored is WS_EARCHIVED.
 */
int         repo_thaw(struct repo *r, const char *key, int days, const char *tier,
                      enum repo_thaw_state *state, struct ws_err *err);

/* Raw small objects (markers such as backup.started): bytes as they are. */
int         repo_raw_put(struct repo *r, const char *key, enum repo_put_mode mode,
                         const void *buf, size_t len, struct ws_err *err);
/* Into a malloc'd NUL-terminated buffer; more than cap bytes is WS_ECORRUPT. */
int         repo_raw_get(struct repo *r, const char *key, size_t cap, unsigned char **buf,
                         size_t *len, struct ws_err *err);

/* ---- the descriptor text (exposed for tests and the fuzz harness) ---------- */

int         repo_descriptor_format(const struct repo_descriptor *d, char *buf, size_t len);
int         repo_descriptor_parse(const char *text, struct repo_descriptor *d,
                                  struct ws_err *err);

/*
 * The master key (CRYPT_KEY_LEN bytes; NULL when not encrypted), for the
 * tests of key derivation and the key cache only.  Commands never need it:
 * the named-object operations encrypt and decrypt.
 */
const unsigned char *repo_test_master_key(const struct repo *r);

#endif
