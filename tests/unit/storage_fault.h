/*
 * storage_fault.h — a fault-injecting storage driver for the unit tests, in
 * the spirit of sqlite's test_vfs.c.  It wraps any driver and fails the Nth
 * call of a chosen kind (once, or from then on) with a chosen error, so that
 * every storage error path of archive, restore, backup and recover is
 * reachable without a broken disk or a misbehaving S3 server.
 *
 *   storage_fault_install();             wrap every storage_open() from now on
 *   storage_fault_add(FAULT_OP_PUT_FINISH, 1, FAULT_NOSPACE, false);
 *   ... run the command engine ...
 *   storage_fault_calls(FAULT_OP_GET)    how many gets it made
 *
 * Faults:
 *   FAULT_TRANSIENT   WS_ETRANSIENT (a network hiccup: callers may retry)
 *   FAULT_NOTFOUND    WS_ENOTFOUND
 *   FAULT_NOSPACE     WS_ENOSPC, errno ENOSPC
 *   FAULT_PERMISSION  WS_EIO, errno EACCES
 *   FAULT_CORRUPT     a get succeeds but one byte in the middle of what it
 *                     delivers is flipped (bit rot, a swapped block)
 *   FAULT_SHORT       a get succeeds but delivers only the first half of the
 *                     bytes (a truncated object behind a driver that does not
 *                     notice)
 * On a put, the fault hits at its op: PUT_OPEN before the driver is asked,
 * PUT_WRITE on the Nth write into the sink (the driver's sink is then
 * aborted, as a failed upload would be), PUT_FINISH instead of the commit.
 *
 * Header-only and process-global (each Criterion test runs in its own
 * process); not thread-safe while rules change, safe for concurrent calls.
 */
#ifndef WS_TEST_STORAGE_FAULT_H
#define WS_TEST_STORAGE_FAULT_H

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "storage.h"

enum fault_op
{
    FAULT_OP_PUT_OPEN,
    FAULT_OP_PUT_WRITE,
    FAULT_OP_PUT_FINISH,
    FAULT_OP_GET,
    FAULT_OP_HEAD,
    FAULT_OP_LIST,
    FAULT_OP_REMOVE,
    FAULT_OP_SYNC,
    FAULT_OP_COUNT
};

enum fault_kind
{
    FAULT_TRANSIENT,
    FAULT_NOTFOUND,
    FAULT_NOSPACE,
    FAULT_PERMISSION,
    FAULT_CORRUPT,
    FAULT_SHORT
};

#define FAULT_RULES_MAX 16

struct fault_rule
{
    enum fault_op op;
    unsigned    nth;            /* 1 = the first call */
    enum fault_kind kind;
    bool        persistent;     /* every call from the nth on */
    const char *key_part;       /* only keys containing this (NULL: any) */
};

static struct
{
    pthread_mutex_t lock;
    struct fault_rule rules[FAULT_RULES_MAX];
    int         nrules;
    unsigned    calls[FAULT_OP_COUNT];
    unsigned    matched[FAULT_RULES_MAX];
    unsigned    injected;
} storage_fault_state = {PTHREAD_MUTEX_INITIALIZER, {{0}}, 0, {0}, {0}, 0};

static const char *const storage_fault_op_names[FAULT_OP_COUNT] = {
    "put_open", "put_write", "put_finish", "get", "head", "list", "remove", "sync"
};

struct storage_fault
{
    struct storage base;
    struct storage *inner;
};

/* Add a rule: fail the nth call of op (on keys containing key_part, if set). */
static inline void
storage_fault_add_key(enum fault_op op, unsigned nth, enum fault_kind kind, bool persistent,
                      const char *key_part)
{
    pthread_mutex_lock(&storage_fault_state.lock);
    if (storage_fault_state.nrules < FAULT_RULES_MAX)
    {
        struct fault_rule *r = &storage_fault_state.rules[storage_fault_state.nrules++];

        r->op = op;
        r->nth = nth ? nth : 1;
        r->kind = kind;
        r->persistent = persistent;
        r->key_part = key_part;
    }
    pthread_mutex_unlock(&storage_fault_state.lock);
}

static inline void
storage_fault_add(enum fault_op op, unsigned nth, enum fault_kind kind, bool persistent)
{
    storage_fault_add_key(op, nth, kind, persistent, NULL);
}

/* Forget every rule and counter. */
static inline void
storage_fault_reset(void)
{
    pthread_mutex_lock(&storage_fault_state.lock);
    storage_fault_state.nrules = 0;
    memset(storage_fault_state.calls, 0, sizeof(storage_fault_state.calls));
    memset(storage_fault_state.matched, 0, sizeof(storage_fault_state.matched));
    storage_fault_state.injected = 0;
    pthread_mutex_unlock(&storage_fault_state.lock);
}

static inline unsigned
storage_fault_calls(enum fault_op op)
{
    unsigned    n;

    pthread_mutex_lock(&storage_fault_state.lock);
    n = storage_fault_state.calls[op];
    pthread_mutex_unlock(&storage_fault_state.lock);
    return n;
}

/* How many faults were injected so far (a test that expects one checks it). */
static inline unsigned
storage_fault_injected(void)
{
    unsigned    n;

    pthread_mutex_lock(&storage_fault_state.lock);
    n = storage_fault_state.injected;
    pthread_mutex_unlock(&storage_fault_state.lock);
    return n;
}

/* Count a call of op on key; 1 and *kind if a rule fires. */
static inline int
storage_fault_check(enum fault_op op, const char *key, enum fault_kind *kind)
{
    int         fire = 0;

    pthread_mutex_lock(&storage_fault_state.lock);
    storage_fault_state.calls[op]++;
    for (int i = 0; i < storage_fault_state.nrules; i++)
    {
        struct fault_rule *r = &storage_fault_state.rules[i];
        unsigned    n;

        if (r->op != op || (r->key_part != NULL && (key == NULL || strstr(key, r->key_part) == NULL)))
            continue;
        n = ++storage_fault_state.matched[i];
        if (n == r->nth || (r->persistent && n > r->nth))
        {
            *kind = r->kind;
            fire = 1;
            storage_fault_state.injected++;
            break;
        }
    }
    pthread_mutex_unlock(&storage_fault_state.lock);
    return fire;
}

static inline int
storage_fault_error(enum fault_op op, const char *key, enum fault_kind kind, struct ws_err *err)
{
    const char *what = storage_fault_op_names[op];

    switch (kind)
    {
        case FAULT_TRANSIENT:
            return err_set(err, WS_ETRANSIENT, "injected transient failure of %s \"%s\"", what,
                           key ? key : "");
        case FAULT_NOTFOUND:
            return err_set(err, WS_ENOTFOUND, "object \"%s\" not found (injected at %s)",
                           key ? key : "", what);
        case FAULT_NOSPACE:
            return err_set_errno(err, WS_ENOSPC, ENOSPC, "injected failure of %s \"%s\"", what,
                                 key ? key : "");
        case FAULT_PERMISSION:
            return err_set_errno(err, WS_EIO, EACCES, "injected failure of %s \"%s\"", what,
                                 key ? key : "");
        case FAULT_CORRUPT:
        case FAULT_SHORT:
            break;
    }
    return err_set(err, WS_EIO, "injected I/O failure of %s \"%s\"", what, key ? key : "");
}

/* ---- put: a sink in front of the driver's sink ---- */

struct storage_fault_sink
{
    struct filter base;
    char        key[STORAGE_KEY_MAX];
};

static inline int
storage_fault_sink_write(struct filter *f, const void *buf, size_t len, struct ws_err *err)
{
    struct storage_fault_sink *s = (struct storage_fault_sink *) f;
    enum fault_kind kind;

    if (storage_fault_check(FAULT_OP_PUT_WRITE, s->key, &kind))
        return storage_fault_error(FAULT_OP_PUT_WRITE, s->key, kind, err);
    return filter_write(f->next, buf, len, err);
}

static inline int
storage_fault_sink_finish(struct filter *f, struct ws_err *err)
{
    struct storage_fault_sink *s = (struct storage_fault_sink *) f;
    enum fault_kind kind;

    /* failing instead of the commit: the driver's sink is freed unfinished */
    if (storage_fault_check(FAULT_OP_PUT_FINISH, s->key, &kind))
        return storage_fault_error(FAULT_OP_PUT_FINISH, s->key, kind, err);
    return filter_finish(f->next, err);
}

static inline void
storage_fault_sink_free(struct filter *f)
{
    free(f);
}

static const struct filter_ops storage_fault_sink_ops = {
    "fault-put", storage_fault_sink_write, storage_fault_sink_finish, storage_fault_sink_free
};

static inline int
storage_fault_put_open(struct storage *st, const char *key, unsigned flags, struct filter **out,
                       struct ws_err *err)
{
    struct storage_fault *fs = (struct storage_fault *) st;
    struct storage_fault_sink *s;
    struct filter *inner = NULL;
    enum fault_kind kind;

    if (storage_fault_check(FAULT_OP_PUT_OPEN, key, &kind))
        return storage_fault_error(FAULT_OP_PUT_OPEN, key, kind, err);
    if (storage_put_open(fs->inner, key, flags, &inner, err) < 0)
        return -1;
    s = calloc(1, sizeof(*s));
    if (s == NULL)
    {
        filter_free(inner);
        return err_set(err, WS_EINTERNAL, "out of memory");
    }
    s->base.ops = &storage_fault_sink_ops;
    s->base.next = inner;
    snprintf(s->key, sizeof(s->key), "%s", key);
    *out = &s->base;
    return 0;
}

/* ---- get: corrupt or cut what passes ---- */

struct storage_fault_tap
{
    struct filter base;
    enum fault_kind kind;
    uint64_t    flip_at;        /* FAULT_CORRUPT: offset of the byte to flip */
    uint64_t    keep;           /* FAULT_SHORT: bytes to deliver */
    uint64_t    seen;
};

static inline int
storage_fault_tap_write(struct filter *f, const void *buf, size_t len, struct ws_err *err)
{
    struct storage_fault_tap *t = (struct storage_fault_tap *) f;
    unsigned char *copy;
    int         rc;

    if (t->kind == FAULT_SHORT)
    {
        size_t      n = t->seen >= t->keep ? 0 : (size_t) (t->keep - t->seen < len ? t->keep - t->seen : len);

        t->seen += len;
        return n ? filter_write(f->next, buf, n, err) : 0;
    }
    if (t->flip_at < t->seen || t->flip_at >= t->seen + len)
    {
        t->seen += len;
        return filter_write(f->next, buf, len, err);
    }
    copy = malloc(len);
    if (copy == NULL)
        return err_set(err, WS_EINTERNAL, "out of memory");
    memcpy(copy, buf, len);
    copy[t->flip_at - t->seen] ^= 0x5a;
    t->seen += len;
    rc = filter_write(f->next, copy, len, err);
    free(copy);
    return rc;
}

static inline int
storage_fault_tap_finish(struct filter *f, struct ws_err *err)
{
    (void) f;
    (void) err;
    return 0;                   /* get never finishes the caller's sink */
}

static inline void
storage_fault_tap_free(struct filter *f)
{
    free(f);
}

static const struct filter_ops storage_fault_tap_ops = {
    "fault-get", storage_fault_tap_write, storage_fault_tap_finish, storage_fault_tap_free
};

static inline int
storage_fault_get(struct storage *st, const char *key, uint64_t offset, uint64_t length,
                  struct filter *sink, struct ws_err *err)
{
    struct storage_fault *fs = (struct storage_fault *) st;
    struct storage_fault_tap tap;
    struct storage_info info;
    enum fault_kind kind;
    uint64_t    span;

    if (!storage_fault_check(FAULT_OP_GET, key, &kind))
        return storage_get(fs->inner, key, offset, length, sink, err);
    if (kind != FAULT_CORRUPT && kind != FAULT_SHORT)
        return storage_fault_error(FAULT_OP_GET, key, kind, err);
    if (storage_head(fs->inner, key, &info, err) < 0)
        return -1;
    span = length ? length : (info.size > offset ? info.size - offset : 0);
    memset(&tap, 0, sizeof(tap));
    tap.base.ops = &storage_fault_tap_ops;
    tap.base.next = sink;
    tap.kind = kind;
    tap.flip_at = span / 2;
    tap.keep = span / 2;
    return storage_get(fs->inner, key, offset, length, &tap.base, err);
}

static inline int
storage_fault_head(struct storage *st, const char *key, struct storage_info *info,
                   struct ws_err *err)
{
    struct storage_fault *fs = (struct storage_fault *) st;
    enum fault_kind kind;

    if (storage_fault_check(FAULT_OP_HEAD, key, &kind))
        return storage_fault_error(FAULT_OP_HEAD, key, kind, err);
    return storage_head(fs->inner, key, info, err);
}

static inline int
storage_fault_list(struct storage *st, const char *prefix, storage_list_cb cb, void *arg,
                   struct ws_err *err)
{
    struct storage_fault *fs = (struct storage_fault *) st;
    enum fault_kind kind;

    if (storage_fault_check(FAULT_OP_LIST, prefix, &kind))
        return storage_fault_error(FAULT_OP_LIST, prefix, kind, err);
    return storage_list(fs->inner, prefix, cb, arg, err);
}

static inline int
storage_fault_remove(struct storage *st, const char *key, struct ws_err *err)
{
    struct storage_fault *fs = (struct storage_fault *) st;
    enum fault_kind kind;

    if (storage_fault_check(FAULT_OP_REMOVE, key, &kind))
        return storage_fault_error(FAULT_OP_REMOVE, key, kind, err);
    return storage_remove(fs->inner, key, err);
}

static inline int
storage_fault_sync(struct storage *st, const char *key, struct ws_err *err)
{
    struct storage_fault *fs = (struct storage_fault *) st;
    enum fault_kind kind;

    if (storage_fault_check(FAULT_OP_SYNC, key, &kind))
        return storage_fault_error(FAULT_OP_SYNC, key, kind, err);
    return storage_sync(fs->inner, key, err);
}

static inline void
storage_fault_free(struct storage *st)
{
    struct storage_fault *fs = (struct storage_fault *) st;

    storage_free(fs->inner);
    free(fs);
}

static const struct storage_ops storage_fault_ops = {
    .name = "fault",
    .put_open = storage_fault_put_open,
    .get = storage_fault_get,
    .head = storage_fault_head,
    .list = storage_fault_list,
    .remove = storage_fault_remove,
    .sync = storage_fault_sync,
    .free = storage_fault_free,
};

/* Wrap inner (taking ownership); the features are the inner driver's. */
static inline struct storage *
storage_fault_wrap(struct storage *inner, void *arg)
{
    struct storage_fault *fs = calloc(1, sizeof(*fs));
    static struct storage_ops ops;

    (void) arg;
    if (fs == NULL)
    {
        storage_free(inner);
        return NULL;
    }
    ops = storage_fault_ops;
    ops.features = inner->ops->features;
    fs->base.ops = &ops;
    fs->inner = inner;
    snprintf(fs->base.location, sizeof(fs->base.location), "%s", inner->location);
    return &fs->base;
}

/* Every storage_open() from now on returns a fault-injecting wrapper. */
static inline void
storage_fault_install(void)
{
    storage_fault_reset();
    storage_set_wrap(storage_fault_wrap, NULL);
}

#endif
