/*
 * storage.c — dispatch to the driver and helpers shared by all drivers.
 */
#include "storage.h"

#include <stdlib.h>
#include <string.h>

bool
storage_key_valid(const char *key)
{
    const char *p = key;
    size_t      len = strlen(key);

    if (len == 0 || len >= STORAGE_KEY_MAX || key[0] == '/' || key[len - 1] == '/')
        return false;
    while (*p)
    {
        const char *slash = strchr(p, '/');
        size_t      clen = slash ? (size_t) (slash - p) : strlen(p);

        /* components starting with '.' are reserved for drivers' temporary files */
        if (clen == 0 || p[0] == '.')
            return false;
        p += clen;
        if (*p == '/')
            p++;
    }
    return true;
}

static int
check_key(struct storage *st, const char *key, struct ws_err *err)
{
    if (!storage_key_valid(key))
        return err_set(err, WS_EINTERNAL, "invalid object key \"%s\" for repository \"%s\"",
                       key, st->location);
    return 0;
}

static storage_wrap_fn wrap_fn;
static void *wrap_arg;

void
storage_set_wrap(storage_wrap_fn wrap, void *arg)
{
    wrap_fn = wrap;
    wrap_arg = arg;
}

static struct storage *
storage_open_driver(const char *repo, const struct cfg_s3 *s3, struct ws_err *err)
{
    if (repo == NULL || repo[0] == '\0')
    {
        err_set(err, WS_ECONFIG, "no repository configured");
        err_hint(err, "Set \"repo\" in the configuration file or WALSHIP_REPO.");
        return NULL;
    }
    if (strncmp(repo, "s3://", 5) == 0)
    {
        if (s3 == NULL)
        {
            err_set(err, WS_ECONFIG, "repository \"%s\": no S3 settings given", repo);
            return NULL;
        }
        return storage_s3_new(repo, s3, err);
    }
    if (strstr(repo, "://") != NULL)
    {
        err_set(err, WS_ECONFIG, "repository \"%s\": unknown URI scheme", repo);
        return NULL;
    }
    return storage_fs_new(repo, err);
}

struct storage *
storage_open(const char *repo, const struct cfg_s3 *s3, struct ws_err *err)
{
    struct storage *st = storage_open_driver(repo, s3, err);

    if (st != NULL && wrap_fn != NULL)
    {
        st = wrap_fn(st, wrap_arg);
        if (st == NULL)
            err_set(err, WS_EINTERNAL, "could not wrap the driver of repository \"%s\"", repo);
    }
    return st;
}

int
storage_put_open(struct storage *st, const char *key, unsigned flags, struct filter **sink,
                 struct ws_err *err)
{
    *sink = NULL;
    if (check_key(st, key, err) < 0)
        return -1;
    return st->ops->put_open(st, key, flags, sink, err);
}

int
storage_get(struct storage *st, const char *key, uint64_t offset, uint64_t length,
            struct filter *sink, struct ws_err *err)
{
    if (check_key(st, key, err) < 0)
        return -1;
    return st->ops->get(st, key, offset, length, sink, err);
}

int
storage_head(struct storage *st, const char *key, struct storage_info *info, struct ws_err *err)
{
    if (check_key(st, key, err) < 0)
        return -1;
    memset(info, 0, sizeof(*info));
    return st->ops->head(st, key, info, err);
}

int
storage_list(struct storage *st, const char *prefix, storage_list_cb cb, void *arg,
             struct ws_err *err)
{
    return st->ops->list(st, prefix, cb, arg, err);
}

int
storage_remove(struct storage *st, const char *key, struct ws_err *err)
{
    if (check_key(st, key, err) < 0)
        return -1;
    return st->ops->remove(st, key, err);
}

int
storage_remove_many(struct storage *st, const char *const *keys, size_t n, struct ws_err *err)
{
    for (size_t i = 0; i < n; i++)
        if (check_key(st, keys[i], err) < 0)
            return -1;
    if (st->ops->remove_many != NULL)
        return st->ops->remove_many(st, keys, n, err);
    for (size_t i = 0; i < n; i++)
        if (st->ops->remove(st, keys[i], err) < 0)
            return -1;
    return 0;
}

int
storage_sync(struct storage *st, const char *key, struct ws_err *err)
{
    if (check_key(st, key, err) < 0)
        return -1;
    if (st->ops->sync == NULL)
        return 0;
    return st->ops->sync(st, key, err);
}

int
storage_set_class(struct storage *st, const char *key, const char *storage_class,
                  struct ws_err *err)
{
    if (check_key(st, key, err) < 0)
        return -1;
    if (st->ops->set_class == NULL)
    {
        err_set(err, WS_ECONFIG, "repository \"%s\" (%s driver) has no storage classes",
                st->location, st->ops->name);
        err_hint(err, "Storage classes (s3_storage_class*) apply to S3 repositories only.");
        return -1;
    }
    return st->ops->set_class(st, key, storage_class, err);
}

int
storage_thaw(struct storage *st, const char *key, int days, const char *tier,
             enum storage_thaw_state *state, struct ws_err *err)
{
    if (check_key(st, key, err) < 0)
        return -1;
    if (st->ops->thaw == NULL)
    {
        *state = STORAGE_THAW_NOT_ARCHIVED;
        return 0;
    }
    return st->ops->thaw(st, key, days, tier, state, err);
}

void
storage_free(struct storage *st)
{
    if (st)
        st->ops->free(st);
}

int
storage_put_buffer(struct storage *st, const char *key, unsigned flags, const void *buf,
                   size_t len, struct ws_err *err)
{
    struct filter *sink = NULL;
    int         rc = -1;

    if (storage_put_open(st, key, flags, &sink, err) < 0)
        goto out;
    if (filter_write(sink, buf, len, err) < 0 || filter_finish(sink, err) < 0)
        goto out;
    rc = 0;
out:
    filter_free(sink);
    return rc;
}

int
storage_get_buffer(struct storage *st, const char *key, size_t cap, unsigned char **buf,
                   size_t *len, struct ws_err *err)
{
    struct filter *mem = filter_mem_new(cap);
    int         rc = -1;

    *buf = NULL;
    *len = 0;
    if (mem == NULL)
        return err_set(err, WS_EINTERNAL, "out of memory");
    if (storage_get(st, key, 0, 0, mem, err) < 0)
    {
        if (filter_mem_overflowed(mem))
            err_set(err, WS_ECORRUPT, "object \"%s\" in repository \"%s\" is larger than %zu bytes",
                    key, st->location, cap);
        goto out;
    }
    if (filter_mem_copy(mem, buf, len, err) < 0)
        goto out;
    rc = 0;
out:
    filter_free(mem);
    return rc;
}
