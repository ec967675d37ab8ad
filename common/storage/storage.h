/*
 * storage.h — one interface to a repository, one driver per backend.
 *
 * Keys are '/'-separated relative names ("wal/00000001/.../0000000100..."),
 * never starting with '/', with no empty component and no component starting
 * with '.' (reserved for drivers' temporary files, which are never listed).
 *
 * Contract every driver keeps:
 *  - put: an object becomes visible under its key only complete; a failure,
 *    crash or kill -9 at any instant leaves either the old state or the whole
 *    new object, never a partial one.  The sink returned by put_open is a
 *    filter: write the bytes, filter_finish() commits (durably: on return
 *    the object survives a crash), filter_free() without a successful finish
 *    aborts and removes whatever was started.  With STORAGE_PUT_NO_OVERWRITE
 *    the commit fails with WS_EEXISTS if the key exists (atomically where the
 *    driver has STORAGE_F_ATOMIC_NO_OVERWRITE).
 *  - get: pushes the object's bytes [offset, offset+length) (length 0: to the
 *    end) into the sink with filter_write; it does not finish the sink.
 *    A missing object is WS_ENOTFOUND, with nothing written.
 *  - head: WS_ENOTFOUND for a missing object.
 *  - list: calls cb for every object whose key starts with prefix (in no
 *    particular order); temporary files are never listed.
 *  - remove: deleting a missing object is not an error.
 *  - sync (optional): makes an existing object and the names leading to it
 *    durable: on return it survives a crash, whoever stored it.  A visible
 *    object is not necessarily durable yet: its writer may have died between
 *    making it visible and committing the name (filesystem: after link(),
 *    before the directory fsync).  Before answering "already stored", a
 *    caller syncs.  A missing object is WS_ENOTFOUND.  NULL: a visible object
 *    is already durable (S3), and storage_sync() is a no-op.
 *  - set_class (optional): rewrite an existing object in place under another
 *    storage class, server-side (S3: CopyObject, or UploadPartCopy above
 *    5 GiB), without the bytes passing through walship.  The object keeps
 *    its content; an object already in that class is left alone.  NULL: the
 *    driver has no storage classes (WS_ECONFIG from storage_set_class).
 *  - thaw (optional): ask that an object in an archive class (S3 Glacier
 *    Flexible Retrieval, Deep Archive) become readable for `days` days, at
 *    retrieval `tier`; *state says what the store answered.  NULL: nothing
 *    is ever archived (storage_thaw answers STORAGE_THAW_NOT_ARCHIVED).
 * Reading an object that is in an archive class and not restored is
 * WS_EARCHIVED, never WS_ECORRUPT nor WS_ENOTFOUND.
 * Transient failures are WS_ETRANSIENT.  A driver with STORAGE_F_RETRIES
 * has already retried them (S3: s3_max_retries times) and its callers must
 * not retry the operation again; with other drivers the caller decides
 * (retry.h says which layer retries what).
 * A storage handle may be used from several threads at once.
 */
#ifndef WS_STORAGE_H
#define WS_STORAGE_H

#include <stdbool.h>
#include <stdint.h>
#include "err.h"
#include "filter.h"

#define STORAGE_KEY_MAX 1024

#define STORAGE_F_ATOMIC_NO_OVERWRITE 0x1   /* create-if-absent is atomic */
#define STORAGE_F_RANGE_GET 0x2
#define STORAGE_F_RETRIES 0x4               /* the driver retries its own transient failures */

#define STORAGE_PUT_NO_OVERWRITE 0x1
/* metadata (descriptors, markers): the store's default class, never s3_storage_class,
 * so that listing and opening a repository never meet an archived object */
#define STORAGE_PUT_DEFAULT_CLASS 0x2

struct storage_info
{
    uint64_t    size;
    int64_t     mtime;          /* unix seconds */
    char        storage_class[64];  /* head only: "" = the store's default (STANDARD) */
    char        restore[256];   /* head only: S3's x-amz-restore, "" when none */
};

enum storage_thaw_state
{
    STORAGE_THAW_STARTED,       /* a restore request was accepted: readable in hours */
    STORAGE_THAW_IN_PROGRESS,   /* one was already running */
    STORAGE_THAW_READY,         /* already restored: readable now */
    STORAGE_THAW_NOT_ARCHIVED   /* the object is in no archive class: readable */
};

typedef int (*storage_list_cb) (const char *key, const struct storage_info *info, void *arg,
                                struct ws_err *err);

struct storage;

struct storage_ops
{
    const char *name;
    unsigned    features;
    int         (*put_open) (struct storage *st, const char *key, unsigned flags,
                             struct filter **sink, struct ws_err *err);
    int         (*get) (struct storage *st, const char *key, uint64_t offset, uint64_t length,
                        struct filter *sink, struct ws_err *err);
    int         (*head) (struct storage *st, const char *key, struct storage_info *info,
                         struct ws_err *err);
    int         (*list) (struct storage *st, const char *prefix, storage_list_cb cb, void *arg,
                         struct ws_err *err);
    int         (*remove) (struct storage *st, const char *key, struct ws_err *err);
    /* optional: delete many keys at once (S3 DeleteObjects); NULL = one by one */
    int         (*remove_many) (struct storage *st, const char *const *keys, size_t n,
                                struct ws_err *err);
    /* optional: make an existing object durable (see above); NULL = it already is */
    int         (*sync) (struct storage *st, const char *key, struct ws_err *err);
    /* optional: rewrite an object under another storage class (see above) */
    int         (*set_class) (struct storage *st, const char *key, const char *storage_class,
                              struct ws_err *err);
    /* optional: make an archived object readable for days days (see above) */
    int         (*thaw) (struct storage *st, const char *key, int days, const char *tier,
                         enum storage_thaw_state *state, struct ws_err *err);
    void        (*free) (struct storage *st);
};

struct storage
{
    const struct storage_ops *ops;
    char        location[4096];     /* for messages: the repository as configured */
};

struct cfg_s3;

/*
 * Open the repository named by `repo`: "s3://bucket[/prefix]" with the S3
 * driver (settings from s3, which must then be non-NULL), else a directory.
 */
struct storage *storage_open(const char *repo, const struct cfg_s3 *s3, struct ws_err *err);
struct storage *storage_fs_new(const char *root, struct ws_err *err);
struct storage *storage_s3_new(const char *uri, const struct cfg_s3 *s3, struct ws_err *err);

int         storage_put_open(struct storage *st, const char *key, unsigned flags,
                             struct filter **sink, struct ws_err *err);
int         storage_get(struct storage *st, const char *key, uint64_t offset, uint64_t length,
                        struct filter *sink, struct ws_err *err);
int         storage_head(struct storage *st, const char *key, struct storage_info *info,
                         struct ws_err *err);
int         storage_list(struct storage *st, const char *prefix, storage_list_cb cb, void *arg,
                         struct ws_err *err);
int         storage_remove(struct storage *st, const char *key, struct ws_err *err);
/* Delete n keys (batched where the driver can); missing keys are not errors. */
int         storage_remove_many(struct storage *st, const char *const *keys, size_t n,
                                struct ws_err *err);
/* Make the existing object key and the names leading to it durable (see above). */
int         storage_sync(struct storage *st, const char *key, struct ws_err *err);
/* Rewrite key under storage_class, server-side (see above). */
int         storage_set_class(struct storage *st, const char *key, const char *storage_class,
                              struct ws_err *err);
/* Ask for an archived key to be restored for days days at tier (see above). */
int         storage_thaw(struct storage *st, const char *key, int days, const char *tier,
                         enum storage_thaw_state *state, struct ws_err *err);
void        storage_free(struct storage *st);

/* Put a whole buffer (small objects such as the repository descriptor). */
int         storage_put_buffer(struct storage *st, const char *key, unsigned flags,
                               const void *buf, size_t len, struct ws_err *err);
/* Get a whole small object into a malloc'd buffer (NUL-terminated), at most cap bytes. */
int         storage_get_buffer(struct storage *st, const char *key, size_t cap,
                               unsigned char **buf, size_t *len, struct ws_err *err);

/*
 * Test hook (sqlite's test_vfs.c): when set, storage_open() hands every
 * driver it opens to wrap, and returns what wrap returns (which owns the
 * driver, also on failure).  The unit tests' fault-injecting driver
 * (tests/unit/storage_fault.h) uses it to reach every storage error path of
 * the commands; nothing else sets it.  Set it before any thread opens a
 * repository; NULL restores the default.
 */
typedef struct storage *(*storage_wrap_fn) (struct storage *inner, void *arg);
void        storage_set_wrap(storage_wrap_fn wrap, void *arg);

/* true if key is well formed (see above). */
bool        storage_key_valid(const char *key);

#endif
