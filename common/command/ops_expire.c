/*
 * ops_expire.c — `walship expire`.  See ops_expire.h.
 *
 * One run: take the lock, list the backups (the catalog, plus every key
 * under backups/ for what to delete and each backup's last sign of life),
 * list the WAL, plan (retention.c), print the plan, then carry it out in
 * the one order that is safe to interrupt: each expired backup hidden and
 * removed, oldest first; then the WAL.  The lock is refreshed between
 * steps and checked to still be ours; a run that lost it stops.
 */
#define _GNU_SOURCE
#include "ops_expire.h"
#include "ops_tier.h"
#include "backup_time.h"
#include "catalog.h"
#include "dump_info.h"
#include "clock.h"
#include "log.h"
#include "ops_list.h"
#include "repo.h"
#include "wal.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define US_PER_S INT64_C(1000000)
#define DELETE_BATCH 1000           /* keys per repo_delete_many */
#define LOCK_MAX 4096

/* ---- the keys of each backup ------------------------------------------------ */

struct bkeys
{
    char        id[BACKUP_ID_LEN];
    char      **keys;               /* every key under backups/<id>/ */
    size_t      n;
    size_t      cap;
    int64_t     newest_mtime;       /* unix seconds */
    bool        marker;             /* backup.expiring */
    bool        started;            /* backup.started */
};

struct bset
{
    struct bkeys *b;
    size_t      n;
    size_t      cap;
    size_t      last;
};

static void
bset_free(struct bset *s)
{
    for (size_t i = 0; i < s->n; i++)
    {
        for (size_t k = 0; k < s->b[i].n; k++)
            free(s->b[i].keys[k]);
        free(s->b[i].keys);
    }
    free(s->b);
    memset(s, 0, sizeof(*s));
}

static int
bset_key_cb(const char *key, const struct repo_stat *st, void *arg, struct ws_err *err)
{
    struct bset *s = arg;
    const char *rest = key + strlen(BACKUP_PREFIX);
    const char *slash = strchr(rest, '/');
    char        id[BACKUP_ID_LEN];
    struct bkeys *b = NULL;

    if (slash == NULL || (size_t) (slash - rest) != BACKUP_ID_LEN - 1)
        return 0;
    memcpy(id, rest, BACKUP_ID_LEN - 1);
    id[BACKUP_ID_LEN - 1] = '\0';
    if (!backup_id_valid(id))
        return 0;
    if (s->last < s->n && strcmp(s->b[s->last].id, id) == 0)
        b = &s->b[s->last];
    for (size_t i = 0; b == NULL && i < s->n; i++)
        if (strcmp(s->b[i].id, id) == 0)
            b = &s->b[s->last = i];
    if (b == NULL)
    {
        if (s->n == s->cap)
        {
            size_t      ncap = s->cap ? s->cap * 2 : 16;
            struct bkeys *nb = realloc(s->b, ncap * sizeof(*nb));

            if (nb == NULL)
                return err_set(err, WS_EINTERNAL, "out of memory");
            s->b = nb;
            s->cap = ncap;
        }
        b = &s->b[s->last = s->n++];
        memset(b, 0, sizeof(*b));
        strcpy(b->id, id);
    }
    if (b->n == b->cap)
    {
        size_t      ncap = b->cap ? b->cap * 2 : 8;
        char      **nk = realloc(b->keys, ncap * sizeof(*nk));

        if (nk == NULL)
            return err_set(err, WS_EINTERNAL, "out of memory");
        b->keys = nk;
        b->cap = ncap;
    }
    if ((b->keys[b->n] = strdup(key)) == NULL)
        return err_set(err, WS_EINTERNAL, "out of memory");
    b->n++;
    if (st->mtime > b->newest_mtime)
        b->newest_mtime = st->mtime;
    if (strcmp(slash + 1, OPS_EXPIRE_MARKER_NAME) == 0)
        b->marker = true;
    else if (strcmp(slash + 1, BACKUP_STARTED_NAME) == 0)
        b->started = true;
    return 0;
}

static struct bkeys *
bset_find(struct bset *s, const char *id)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->b[i].id, id) == 0)
            return &s->b[i];
    return NULL;
}

/* The id's own time (its start second), unix microseconds. */
static int64_t
id_time_us(const char *id)
{
    struct tm   tm;

    memset(&tm, 0, sizeof(tm));
    if (strptime(id, "%Y%m%dT%H%M%SZ", &tm) == NULL)
        return 0;
    return (int64_t) timegm(&tm) * US_PER_S;
}

/*
 * An incomplete backup's last sign of life: its claim's start time, its
 * newest object, its id.  A backup being taken stores a part at least
 * every backup_part_size bytes.
 */
static int64_t
activity_of(struct repo *repo, const struct bkeys *k, struct ws_err *err)
{
    int64_t     t = id_time_us(k->id);
    int64_t     m = k->newest_mtime * US_PER_S;

    if (m > t)
        t = m;
    if (k->started)
    {
        char        key[REPO_KEY_MAX];
        unsigned char *buf = NULL;
        size_t      len = 0;
        struct ws_err e = WS_ERR_INIT;

        if (backup_key(k->id, BACKUP_STARTED_NAME, key, sizeof(key), err) < 0)
            return -1;
        if (repo_raw_get(repo, key, 4096, &buf, &len, &e) == 0)
        {
            /* walship-basebackup refreshes its claim while it waits for WAL */
            static const char *const fields[] = {"started = ", "refreshed = "};

            for (size_t f = 0; f < 2; f++)
            {
                const char *s = strstr((const char *) buf, fields[f]);
                long long   v;

                if (s != NULL && sscanf(s + strlen(fields[f]), "%lld", &v) == 1 &&
                    v * US_PER_S > t)
                    t = (int64_t) v * US_PER_S;
            }
        }
        else if (e.code != WS_ENOTFOUND)
        {
            *err = e;
            free(buf);
            return -1;
        }
        free(buf);
    }
    return t;
}

/* ---- the items ------------------------------------------------------------- */

void
ops_expire_policy(const struct cfg *cfg, struct retention_policy *p)
{
    memset(p, 0, sizeof(*p));
    p->full = cfg->retain_full;
    p->daily = cfg->retain_daily;
    p->weekly = cfg->retain_weekly;
    p->monthly = cfg->retain_monthly;
    p->yearly = cfg->retain_yearly;
    p->pitr = cfg->retain_pitr;
    p->incomplete = cfg->retain_incomplete;
}

static bool
segno_of(const char *name, uint32_t seg_size, uint64_t *segno)
{
    struct wal_name wn;

    if (wal_parse(name, seg_size, &wn) < 0 || wn.kind != WAL_KIND_SEGMENT)
        return false;
    *segno = wal_segno(&wn, seg_size);
    return true;
}

void
ops_expire_item(const struct backup_info *b, uint32_t seg_size, int64_t activity_us,
                bool hidden, struct retention_item *it)
{
    memset(it, 0, sizeof(*it));
    it->id = b->id;
    if (b->unreadable)
        it->state = RETENTION_UNREADABLE;
    else if (!b->complete)
    {
        it->state = RETENTION_INCOMPLETE;
        it->activity_us = activity_us;
        it->hidden = hidden;
    }
    else
    {
        it->state = RETENTION_COMPLETE;
        it->time_us = b->start_time_us;
        it->ready_us = b->stop_time_us;
        it->has_wal = segno_of(b->start_wal, seg_size, &it->wal_first) &&
            segno_of(b->stop_wal, seg_size, &it->wal_last);
        if (it->has_wal && it->wal_last < it->wal_first)
            it->wal_last = it->wal_first;
    }
}

/* ---- the WAL --------------------------------------------------------------- */

struct wfile
{
    int         kind;               /* CATALOG_WAL_BACKUP or _PARTIAL */
    uint64_t    segno;
    char       *key;
};

struct wset
{
    struct retention_span *spans;   /* archived ranges */
    size_t      nspans;
    size_t      cap;
    struct wfile *files;
    size_t      nfiles;
    size_t      fcap;
};

static void
wset_free(struct wset *w)
{
    for (size_t i = 0; i < w->nfiles; i++)
        free(w->files[i].key);
    free(w->files);
    free(w->spans);
    memset(w, 0, sizeof(*w));
}

static int
wal_cb(const struct catalog_wal_item *item, void *arg, struct ws_err *err)
{
    struct wset *w = arg;

    if (item->kind == CATALOG_WAL_SEGMENTS)
    {
        if (w->nspans == w->cap)
        {
            size_t      ncap = w->cap ? w->cap * 2 : 16;
            struct retention_span *n = realloc(w->spans, ncap * sizeof(*n));

            if (n == NULL)
                return err_set(err, WS_EINTERNAL, "out of memory");
            w->spans = n;
            w->cap = ncap;
        }
        w->spans[w->nspans].timeline = item->timeline;
        w->spans[w->nspans].first = item->first;
        w->spans[w->nspans].last = item->last;
        w->nspans++;
    }
    else if (item->kind == CATALOG_WAL_BACKUP || item->kind == CATALOG_WAL_PARTIAL)
    {
        if (w->nfiles == w->fcap)
        {
            size_t      ncap = w->fcap ? w->fcap * 2 : 16;
            struct wfile *n = realloc(w->files, ncap * sizeof(*n));

            if (n == NULL)
                return err_set(err, WS_EINTERNAL, "out of memory");
            w->files = n;
            w->fcap = ncap;
        }
        w->files[w->nfiles].kind = item->kind;
        w->files[w->nfiles].segno = item->first;
        if ((w->files[w->nfiles].key = strdup(item->key)) == NULL)
            return err_set(err, WS_EINTERNAL, "out of memory");
        w->nfiles++;
    }
    /* history files are never removed: recovery to "latest" probes them in turn */
    return 0;
}

/* ---- the lock ------------------------------------------------------------- */

struct lock
{
    bool        held;
    char        token[64];
    int64_t     refreshed_us;       /* walship's clock */
    int64_t     refreshed_mono;     /* when we last wrote it, monotonic ms */
};

static int
lock_text(const struct lock *l, char *buf, size_t size)
{
    char        host[256] = "?";

    (void) gethostname(host, sizeof(host) - 1);
    host[sizeof(host) - 1] = '\0';
    return snprintf(buf, size, "owner = %s:%ld\ntoken = %s\nrefreshed = %lld\n", host,
                    (long) getpid(), l->token, (long long) (clock_wall_us() / US_PER_S));
}

/* The lock's "refreshed = " time (unix seconds) and token, -1 if unreadable. */
static long long
lock_parse(const char *text, char *token, size_t tsize, char *owner, size_t osize)
{
    const char *r = strstr(text, "refreshed = ");
    const char *t = strstr(text, "token = ");
    const char *o = strstr(text, "owner = ");
    long long   v = -1;

    token[0] = owner[0] = '\0';
    if (t != NULL)
        snprintf(token, tsize, "%.*s", (int) strcspn(t + 8, "\n"), t + 8);
    if (o != NULL)
        snprintf(owner, osize, "%.*s", (int) strcspn(o + 8, "\n"), o + 8);
    if (r == NULL || sscanf(r + 12, "%lld", &v) != 1)
        return -1;
    return v;
}

static int
lock_read(struct repo *repo, char *token, size_t tsize, char *owner, size_t osize,
          long long *refreshed, struct ws_err *err)
{
    unsigned char *buf = NULL;
    size_t      len = 0;

    if (repo_raw_get(repo, OPS_EXPIRE_LOCK_KEY, LOCK_MAX, &buf, &len, err) < 0)
        return -1;
    *refreshed = lock_parse((const char *) buf, token, tsize, owner, osize);
    free(buf);
    return 0;
}

/*
 * The owner "host:pid" is a process of this host that no longer exists (a
 * run killed with kill -9): its lock need not wait to go stale.
 */
static bool
owner_gone(const char *owner)
{
    char        host[256] = "";
    const char *colon = strrchr(owner, ':');
    long        pid;
    char       *end;

    if (colon == NULL || gethostname(host, sizeof(host) - 1) < 0)
        return false;
    host[sizeof(host) - 1] = '\0';
    if ((size_t) (colon - owner) != strlen(host) || strncmp(owner, host, strlen(host)) != 0)
        return false;
    pid = strtol(colon + 1, &end, 10);
    if (*end != '\0' || pid <= 0 || pid == (long) getpid())
        return false;
    return kill((pid_t) pid, 0) < 0 && errno == ESRCH;
}

static int
lock_take(struct repo *repo, struct lock *l, struct ws_err *err)
{
    char        text[512];
    int         n;

    /* unique enough: this process, now, and the monotonic clock */
    snprintf(l->token, sizeof(l->token), "%ld-%lld-%lld", (long) getpid(),
             (long long) clock_wall_us(), (long long) clock_now_ms());
    for (int attempt = 0; attempt < 2; attempt++)
    {
        char        token[64], owner[300];
        long long   refreshed;
        int64_t     now_s = clock_wall_us() / US_PER_S;

        n = lock_text(l, text, sizeof(text));
        if (repo_raw_put(repo, OPS_EXPIRE_LOCK_KEY, REPO_CREATE, text, (size_t) n, err) == 0)
        {
            l->held = true;
            l->refreshed_mono = clock_now_ms();
            return 0;
        }
        if (err->code != WS_EEXISTS)
            return -1;
        err_clear(err);
        if (lock_read(repo, token, sizeof(token), owner, sizeof(owner), &refreshed, err) < 0)
        {
            if (err->code != WS_ENOTFOUND)
                return -1;
            err_clear(err);         /* released meanwhile: try again */
            continue;
        }
        if (refreshed >= 0 && now_s - refreshed < OPS_EXPIRE_LOCK_STALE_S &&
            !owner_gone(owner))
        {
            err_set(err, WS_ETRANSIENT, "another walship expire is running on repository "
                    "\"%s\" (lock \"%s\" held by %s)", repo_location(repo), OPS_EXPIRE_LOCK_KEY,
                    owner[0] ? owner : "an unknown owner");
            err_hint(err, "Wait for it to finish.  A lock not refreshed for %d seconds is "
                     "taken over.", OPS_EXPIRE_LOCK_STALE_S);
            return -1;
        }
        log_warning("taking over the stale lock \"%s\" of %s (last refreshed %lld seconds "
                    "ago, or its process is gone)", OPS_EXPIRE_LOCK_KEY,
                    owner[0] ? owner : "an unknown owner",
                    refreshed < 0 ? -1LL : (long long) (now_s - refreshed));
        if (repo_delete(repo, OPS_EXPIRE_LOCK_KEY, err) < 0)
            return -1;
    }
    return err_set(err, WS_ETRANSIENT, "could not take the lock \"%s\" of repository \"%s\"",
                   OPS_EXPIRE_LOCK_KEY, repo_location(repo));
}

/* Still ours?  Then refresh it (at most every OPS_EXPIRE_LOCK_REFRESH_S, unless force). */
static int
lock_check(struct repo *repo, struct lock *l, bool force, struct ws_err *err)
{
    char        token[64], owner[300], text[512];
    long long   refreshed;
    int         n;

    if (!l->held)
        return 0;
    if (!force && clock_now_ms() - l->refreshed_mono < OPS_EXPIRE_LOCK_REFRESH_S * 1000)
        return 0;
    if (lock_read(repo, token, sizeof(token), owner, sizeof(owner), &refreshed, err) < 0 ||
        strcmp(token, l->token) != 0)
    {
        l->held = false;
        err_set(err, WS_ETRANSIENT, "lost the lock \"%s\" of repository \"%s\"%s%s: stopping",
                OPS_EXPIRE_LOCK_KEY, repo_location(repo), owner[0] ? " to " : "", owner);
        return -1;
    }
    n = lock_text(l, text, sizeof(text));
    if (repo_raw_put(repo, OPS_EXPIRE_LOCK_KEY, REPO_REPLACE, text, (size_t) n, err) < 0)
        return -1;
    l->refreshed_mono = clock_now_ms();
    return 0;
}

static void
lock_release(struct repo *repo, struct lock *l)
{
    struct ws_err e = WS_ERR_INIT;

    if (!l->held)
        return;
    if (lock_check(repo, l, true, &e) < 0 || repo_delete(repo, OPS_EXPIRE_LOCK_KEY, &e) < 0)
        log_warning("could not release the lock \"%s\": %s", OPS_EXPIRE_LOCK_KEY, e.msg);
    l->held = false;
}

/* ---- removing ------------------------------------------------------------- */

struct run
{
    struct repo *repo;
    const struct ops_expire_options *o;
    FILE       *out;
    struct lock lock;
    struct ops_expire_result *res;
    uint32_t    seg_size;
    bool        json;
    int         json_items;
};

static void
json_sep(struct run *r)
{
    fprintf(r->out, "%s\n    ", r->json_items++ ? "," : "");
}

/* Delete keys[0..n) in batches, refreshing the lock between them. */
static int
delete_keys(struct run *r, const char *const *keys, size_t n, struct ws_err *err)
{
    for (size_t at = 0; at < n; at += DELETE_BATCH)
    {
        size_t      k = n - at < DELETE_BATCH ? n - at : DELETE_BATCH;

        if (lock_check(r->repo, &r->lock, false, err) < 0)
            return -1;
        if (repo_delete_many(r->repo, keys + at, k, err) < 0)
            return -1;
        r->res->objects += k;
    }
    return 0;
}

/*
 * Remove one backup: hide it (the marker, then the descriptor, each durable
 * before the next step), then its other objects, the marker last.
 */
static int
remove_backup(struct run *r, const struct backup_info *b, struct bkeys *k, struct ws_err *err)
{
    char        marker[REPO_KEY_MAX], info[REPO_KEY_MAX];
    const char **rest = NULL;
    size_t      nrest = 0;
    int         rc = -1;
    static const char text[] = "walship expire removes this backup\n";

    if (backup_key(b->id, OPS_EXPIRE_MARKER_NAME, marker, sizeof(marker), err) < 0 ||
        backup_key(b->id, BACKUP_INFO_NAME, info, sizeof(info), err) < 0)
        goto out;
    if (lock_check(r->repo, &r->lock, true, err) < 0)
        goto out;
    if (!k->marker &&
        repo_raw_put(r->repo, marker, REPO_REPLACE, text, sizeof(text) - 1, err) < 0)
        goto out;
    if (repo_delete(r->repo, info, err) < 0)
        goto out;
    rest = calloc(k->n + 1, sizeof(*rest));
    if (rest == NULL)
    {
        err_set(err, WS_EINTERNAL, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < k->n; i++)
        if (strcmp(k->keys[i], marker) != 0 && strcmp(k->keys[i], info) != 0)
            rest[nrest++] = k->keys[i];
    if (delete_keys(r, rest, nrest, err) < 0)
        goto out;
    if (repo_delete(r->repo, marker, err) < 0)
        goto out;
    r->res->objects += 1 + (b->complete ? 1 : 0);     /* the marker, the descriptor */
    rc = 0;
out:
    if (rc < 0)
        err_prefix(err, "could not remove backup %s", b->id);
    free(rest);
    return rc;
}

static int
remove_wal_span(struct run *r, const struct retention_span *s, struct ws_err *err)
{
    const char **keys = NULL;
    char       *store = NULL;
    uint64_t    total = s->last - s->first + 1;
    int         rc = -1;

    keys = calloc(DELETE_BATCH, sizeof(*keys));
    store = malloc((size_t) DELETE_BATCH * REPO_KEY_MAX / 8);
    if (keys == NULL || store == NULL)
    {
        err_set(err, WS_EINTERNAL, "out of memory");
        goto out;
    }
    for (uint64_t seg = s->first; seg <= s->last;)
    {
        size_t      n = 0;

        for (; seg <= s->last && n < DELETE_BATCH; seg++, n++)
        {
            char        name[WAL_NAME_MAX + 1];
            char       *k = store + n * (REPO_KEY_MAX / 8);

            wal_segment_name(name, sizeof(name), s->timeline, seg, r->seg_size);
            if (wal_repo_key(name, k, REPO_KEY_MAX / 8) < 0)
            {
                err_set(err, WS_EINTERNAL, "no repository key for \"%s\"", name);
                goto out;
            }
            keys[n] = k;
        }
        if (delete_keys(r, keys, n, err) < 0)
            goto out;
        if (seg == 0)
            break;              /* wrapped: the last segment number */
    }
    r->res->wal_segments += total;
    rc = 0;
out:
    free(keys);
    free(store);
    return rc;
}

/* ---- the report ------------------------------------------------------------ */

static void
say_backup(struct run *r, const char *verb, const struct backup_info *b, unsigned tiers,
           const char *what)
{
    char        t[128];

    retention_tiers_format(tiers, t, sizeof(t));
    if (r->json)
    {
        json_sep(r);
        fprintf(r->out, "{\"action\": \"%s\", \"backup\": \"%s\", \"status\": \"%s\", "
                "\"kept_by\": \"%s\"}", verb, b->id, what, tiers ? t : "");
        return;
    }
    if (tiers)
        fprintf(r->out, "%-13s %s  %s  (%s)\n", verb, b->id, what, t);
    else
        fprintf(r->out, "%-13s %s  %s\n", verb, b->id, what);
}

static void
say_span(struct run *r, const char *verb, const struct retention_span *s)
{
    char        a[WAL_NAME_MAX + 1], z[WAL_NAME_MAX + 1];

    wal_segment_name(a, sizeof(a), s->timeline, s->first, r->seg_size);
    wal_segment_name(z, sizeof(z), s->timeline, s->last, r->seg_size);
    if (r->json)
    {
        json_sep(r);
        fprintf(r->out, "{\"action\": \"%s\", \"timeline\": %u, \"first\": \"%s\", "
                "\"last\": \"%s\", \"segments\": %" PRIu64 "}", verb, s->timeline, a, z,
                s->last - s->first + 1);
        return;
    }
    fprintf(r->out, "%-13s WAL timeline %u: %s..%s (%" PRIu64 " segment%s)\n", verb,
            s->timeline, a, z, s->last - s->first + 1, s->last == s->first ? "" : "s");
}

static void
say_file(struct run *r, const char *verb, const char *key)
{
    if (r->json)
    {
        json_sep(r);
        fprintf(r->out, "{\"action\": \"%s\", \"key\": ", verb);
        ops_json_string(r->out, key);
        fprintf(r->out, "}");
        return;
    }
    fprintf(r->out, "%-13s WAL file %s\n", verb, key);
}

/*
 * Logical dumps (walship put/dump) under their own keys: retain_dumps keeps
 * the complete dumps that started within that long, retain_dumps_min the
 * newest N complete ones whatever their age (default 1: a dump job that
 * stopped never leaves the repository without a dump).  Data without a
 * descriptor (a killed put) goes once older than retain_incomplete; a
 * damaged descriptor is left alone.  A dump's dump.info goes before its
 * data, so a dump is never listed half removed.  retain_dumps off: dumps are
 * not touched.
 */
static int
expire_dumps(struct run *r, const struct cfg *cfg, int64_t now, struct ws_err *err)
{
    struct catalog_dump *d = NULL;
    int         n = 0, rc = -1;
    const char *verb = r->o->dry_run ? "would remove" : "removed";

    if (cfg->retain_dumps == 0)
        return 0;
    if (catalog_dumps(r->repo, &d, &n, err) < 0)
        return -1;
    for (int i = n - 1, newer = 0; i >= 0; i--)     /* newest first */
    {
        const struct catalog_dump *x = &d[i];
        bool        keep;
        char        info[REPO_KEY_MAX], data[REPO_KEY_MAX];
        const char *keys[2];

        if (x->unreadable)
            keep = true;
        else if (x->complete)
        {
            keep = newer < cfg->retain_dumps_min ||
                x->info.start_time_us >= now - (int64_t) cfg->retain_dumps * US_PER_S;
            newer++;
        }
        else
            keep = x->data_mtime_s * US_PER_S >= now - (int64_t) cfg->retain_incomplete * US_PER_S;
        if (r->json)
        {
            json_sep(r);
            fprintf(r->out, "{\"dump\": \"%s\", \"action\": \"%s\"}", x->info.name,
                    keep ? "keep" : r->o->dry_run ? "would remove" : "removed");
        }
        else
            fprintf(r->out, "%-13s dump %s  %s\n", keep ? "keep" : verb, x->info.name,
                    x->unreadable ? "damaged" : x->complete ? "complete" : "incomplete");
        if (keep)
            continue;
        r->res->dumps_removed++;
        if (r->o->dry_run)
            continue;
        if (dump_key(x->info.name, DUMP_INFO_NAME, info, sizeof(info), err) < 0 ||
            dump_key(x->info.name, DUMP_DATA_NAME, data, sizeof(data), err) < 0)
            goto out;
        keys[0] = info;
        keys[1] = data;
        /* the descriptor first, durably gone, then the data */
        if (delete_keys(r, &keys[0], 1, err) < 0 || delete_keys(r, &keys[1], 1, err) < 0)
            goto out;
    }
    rc = 0;
out:
    catalog_dumps_free(d);
    return rc;
}

/*
 * The storage class a kept backup moves to: s3_storage_class_yearly for one
 * kept as a yearly copy, s3_storage_class_monthly for one kept as a monthly
 * copy, provided nothing that wants it readable at once (the newest, the
 * PITR window, retain_full, daily, weekly, grace) keeps it too.  NULL: stay.
 */
static const char *
tier_class(const struct cfg *cfg, unsigned tiers)
{
    const unsigned hot = RETENTION_FULL | RETENTION_DAILY | RETENTION_WEEKLY | RETENTION_PITR |
        RETENTION_NEWEST | RETENTION_GRACE | RETENTION_DAMAGED;

    if (tiers & hot)
        return NULL;
    if ((tiers & RETENTION_YEARLY) && cfg->s3.storage_class_yearly[0] != '\0')
        return cfg->s3.storage_class_yearly;
    if ((tiers & (RETENTION_MONTHLY | RETENTION_YEARLY)) && cfg->s3.storage_class_monthly[0] != '\0')
        return cfg->s3.storage_class_monthly;
    return NULL;
}

static const char *
state_of(const struct backup_info *b)
{
    return b->unreadable ? "damaged" : b->complete ? "complete" : "incomplete";
}

/* ---- the run -------------------------------------------------------------- */

int
ops_expire_run(const struct cfg *cfg, const struct ops_expire_options *o, FILE *out,
               struct ops_expire_result *res, struct ws_err *err)
{
    struct run  r;
    struct repo *repo = NULL;
    struct backup_info *bs = NULL;
    int         nb = 0;
    struct bset keys = {NULL, 0, 0, 0};
    struct wset wal;
    struct retention_policy pol;
    struct retention_item *items = NULL;
    struct retention_verdict *v = NULL;
    int         move[OPS_EXPIRE_MOVES_MAX];    /* backups to move to a colder class */
    int         nmove = 0;
    struct retention_plan plan;
    struct retention_span *del = NULL;
    int         ndel = 0;
    bool       *file_del = NULL;
    bool        wal_blocked = false;
    int64_t     now = clock_wall_us();
    const char *removed = o->dry_run ? "would remove" : "removed";
    int         rc = -1;

    memset(&r, 0, sizeof(r));
    memset(&wal, 0, sizeof(wal));
    memset(res, 0, sizeof(*res));
    r.o = o;
    r.out = out;
    r.res = res;
    r.json = o->json;

    ops_expire_policy(cfg, &pol);
    if (!retention_policy_set(&pol) && cfg->retain_dumps == 0)
    {
        /* before touching the repository: nothing to do without a policy */
        err_set(err, WS_ECONFIG, "no retention policy is set: walship expire removes nothing");
        err_hint(err, "Set at least one of retain_full, retain_daily, retain_weekly, "
                 "retain_monthly, retain_yearly, retain_pitr and retain_dumps (docs/configuration.md).");
        goto out;
    }
    if (repo_open(cfg, NULL, &repo, err) < 0)
        goto out;
    r.repo = repo;
    r.seg_size = repo_wal_segment_size(repo);
    if (!o->dry_run && lock_take(repo, &r.lock, err) < 0)
        goto out;
    if (!retention_policy_set(&pol))
    {
        /* retain_dumps alone: the dumps, and no backup or WAL is touched */
        if (r.json)
            fprintf(out, "{\n  \"schema_version\": 1,\n  \"dry_run\": %s,\n  \"actions\": [",
                    o->dry_run ? "true" : "false");
        if (expire_dumps(&r, cfg, now, err) < 0)
            goto out;
        if (r.json)
            fprintf(out, "%s],\n  \"dumps_removed\": %d\n}\n", r.json_items ? "\n  " : "",
                    res->dumps_removed);
        else
            fprintf(out, "%s: %s %d dump%s (no backup policy is set: backups and WAL untouched)\n",
                    o->dry_run ? "dry run" : "done", o->dry_run ? "would remove" : "removed",
                    res->dumps_removed, res->dumps_removed == 1 ? "" : "s");
        rc = 0;
        goto out;
    }

    if (catalog_backups(repo, &bs, &nb, err) < 0)
        goto out;
    if (repo_list(repo, BACKUP_PREFIX, bset_key_cb, &keys, err) < 0)
        goto out;
    items = calloc((size_t) nb + 1, sizeof(*items));
    v = calloc((size_t) nb + 1, sizeof(*v));
    if (items == NULL || v == NULL)
    {
        err_set(err, WS_EINTERNAL, "out of memory");
        goto out;
    }
    for (int i = 0; i < nb; i++)
    {
        struct bkeys *k = bset_find(&keys, bs[i].id);
        int64_t     act = 0;

        if (!bs[i].complete && !bs[i].unreadable && k != NULL &&
            (act = activity_of(repo, k, err)) < 0)
            goto out;
        ops_expire_item(&bs[i], r.seg_size, act, k != NULL && k->marker, &items[i]);
    }
    if (retention_plan(&pol, items, (size_t) nb, now, v, &plan, err) < 0)
    {
        if (err->code == WS_ENOTFOUND)
            err_prefix(err, "repository \"%s\"", repo_location(repo));
        goto out;
    }

    /* the WAL */
    if (catalog_wal(repo, wal_cb, &wal, NULL, err) < 0)
        goto out;
    /* nothing known to be needed is no licence to remove everything */
    if (plan.nneed == 0 || plan.wal_unknown)
        wal_blocked = true;
    /*
     * A backup that may still run, or whose descriptor is damaged, and that
     * started before the WAL kept: keep all WAL.
     */
    for (int i = 0; i < nb; i++)
    {
        int64_t     keep_from = INT64_MAX;

        for (int k = 0; k < nb; k++)
            if (v[k].keep && items[k].state == RETENTION_COMPLETE && items[k].has_wal &&
                plan.nneed > 0 && items[k].wal_first == plan.need[plan.nneed - 1].first)
                keep_from = items[k].time_us;
        if ((v[i].tiers & (RETENTION_GRACE | RETENTION_DAMAGED)) &&
            id_time_us(bs[i].id) <= keep_from && !wal_blocked)
        {
            /* its WAL is not known: a damaged descriptor may yet be repaired */
            wal_blocked = true;
            log_info("backup %s %s: no WAL is removed this time", bs[i].id,
                     bs[i].unreadable ? "has a damaged descriptor" : "may still be running");
        }
    }
    if (!wal_blocked && wal.nspans > 0)
    {
        size_t      cap = wal.nspans * (plan.nneed + 1);

        if ((del = calloc(cap, sizeof(*del))) == NULL)
        {
            err_set(err, WS_EINTERNAL, "out of memory");
            goto out;
        }
        if ((ndel = retention_wal_plan(&plan, wal.spans, wal.nspans, del, cap, err)) < 0)
            goto out;
    }
    if ((file_del = calloc(wal.nfiles + 1, sizeof(*file_del))) == NULL)
    {
        err_set(err, WS_EINTERNAL, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < wal.nfiles && !wal_blocked; i++)
        file_del[i] = !retention_needs(&plan, wal.files[i].segno);

    /* the report, then the work, oldest first */
    if (r.json)
        fprintf(out, "{\n  \"schema_version\": 1,\n  \"dry_run\": %s,\n  \"actions\": [",
                o->dry_run ? "true" : "false");
    for (int i = 0; i < nb; i++)
    {
        if (v[i].keep)
        {
            struct bkeys *k = bset_find(&keys, bs[i].id);

            /* a marker left by an interrupted run that did not get to the descriptor */
            if (!o->dry_run && bs[i].complete && k != NULL && k->marker)
            {
                char        marker[REPO_KEY_MAX];

                if (backup_key(bs[i].id, OPS_EXPIRE_MARKER_NAME, marker, sizeof(marker),
                               err) < 0 || repo_delete(repo, marker, err) < 0)
                    goto out;
            }
            say_backup(&r, "keep", &bs[i], v[i].tiers, state_of(&bs[i]));
            if (bs[i].complete)
                res->kept++;
            if (bs[i].complete && !bs[i].unreadable && tier_class(cfg, v[i].tiers) != NULL &&
                nmove < OPS_EXPIRE_MOVES_MAX)
                move[nmove++] = i;
            if (bs[i].unreadable)
                res->damaged++;
            continue;
        }
        if (!o->dry_run)
        {
            struct bkeys *k = bset_find(&keys, bs[i].id);

            if (k != NULL && remove_backup(&r, &bs[i], k, err) < 0)
                goto out;
        }
        say_backup(&r, removed, &bs[i], 0, state_of(&bs[i]));
        res->removed++;
        if (!bs[i].complete)
            res->removed_incomplete++;
        fflush(out);
    }
    /* still ours before the WAL goes (a takeover race makes the loser stop here) */
    if (!o->dry_run && (ndel > 0 || wal.nfiles > 0) && lock_check(repo, &r.lock, true, err) < 0)
        goto out;
    for (int i = 0; i < ndel; i++)
    {
        if (!o->dry_run && remove_wal_span(&r, &del[i], err) < 0)
            goto out;
        if (o->dry_run)
            res->wal_segments += del[i].last - del[i].first + 1;
        say_span(&r, removed, &del[i]);
        fflush(out);
    }
    for (size_t i = 0; i < wal.nfiles; i++)
    {
        const char *k = wal.files[i].key;

        if (!file_del[i])
            continue;
        if (!o->dry_run && delete_keys(&r, &k, 1, err) < 0)
            goto out;
        res->wal_files++;
        say_file(&r, removed, k);
    }
    if (expire_dumps(&r, cfg, now, err) < 0)
        goto out;
    /* monthly and yearly copies to their storage classes (docs/walship.md, "Storage tiers") */
    for (int m = 0; m < nmove; m++)
    {
        const struct backup_info *b = &bs[move[m]];
        const char *cls = tier_class(cfg, v[move[m]].tiers);
        uint64_t    moved = 0;

        if (o->dry_run)
        {
            if (!r.json)
                fprintf(out, "would move %s  to storage class %s\n", b->id, cls);
            continue;
        }
        if (lock_check(repo, &r.lock, true, err) < 0 ||
            ops_tier_move(cfg, b->id, cls, r.json ? NULL : out, &moved, err) < 0)
            goto out;
        res->moved += moved;
    }
    if (r.json)
        fprintf(out, "%s],\n  \"kept\": %d, \"removed\": %d, \"removed_incomplete\": %d, "
                "\"wal_segments\": %" PRIu64 ", \"wal_files\": %" PRIu64 ", \"damaged\": %d\n}\n",
                r.json_items ? "\n  " : "", res->kept, res->removed, res->removed_incomplete,
                res->wal_segments, res->wal_files, res->damaged);
    else
        fprintf(out, "%s: kept %d complete backup%s, %s %d backup%s (%d incomplete), %" PRIu64
                " WAL segment%s and %" PRIu64 " other WAL file%s\n",
                o->dry_run ? "dry run" : "done", res->kept, res->kept == 1 ? "" : "s",
                removed, res->removed, res->removed == 1 ? "" : "s", res->removed_incomplete,
                res->wal_segments, res->wal_segments == 1 ? "" : "s", res->wal_files,
                res->wal_files == 1 ? "" : "s");
    rc = 0;
out:
    fflush(out);
    if (repo != NULL)
        lock_release(repo, &r.lock);
    free(file_del);
    free(del);
    free(items);
    free(v);
    wset_free(&wal);
    bset_free(&keys);
    catalog_backups_free(bs, nb);
    repo_close(repo);
    return rc;
}
