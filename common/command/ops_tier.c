/*
 * ops_tier.c — storage tiers: `walship thaw`, and moving a backup with its WAL
 * to another storage class (ops_tier.h).
 */
#include "ops_tier.h"
#include "backup_info.h"
#include "catalog.h"
#include "log.h"
#include "ops_list.h"
#include "repo.h"
#include "wal.h"

#include <inttypes.h>
#include <string.h>

struct group
{
    const char *what;
    uint64_t    objects, requested, in_progress, ready, not_archived, missing;
};

static int
thaw_key(struct repo *repo, const struct ops_thaw_options *o, const char *key, bool may_miss,
         struct group *g, struct ws_err *err)
{
    enum repo_thaw_state st = REPO_THAW_NOT_ARCHIVED;

    if (repo_thaw(repo, key, o->days, o->tier, &st, err) < 0)
    {
        if (may_miss && err->code == WS_ENOTFOUND)
        {
            *err = (struct ws_err) WS_ERR_INIT;
            g->missing++;
            return 0;
        }
        return -1;
    }
    g->objects++;
    switch (st)
    {
        case REPO_THAW_STARTED: g->requested++; break;
        case REPO_THAW_IN_PROGRESS: g->in_progress++; break;
        case REPO_THAW_READY: g->ready++; break;
        case REPO_THAW_NOT_ARCHIVED: g->not_archived++; break;
    }
    log_debug("thaw %s: %s", key,
              st == REPO_THAW_STARTED ? "requested" : st == REPO_THAW_IN_PROGRESS ? "in progress" :
              st == REPO_THAW_READY ? "ready" : "not archived");
    return 0;
}

/* Segments first..last of timeline tl. */
static int
thaw_segments(struct repo *repo, const struct ops_view *v, const struct ops_thaw_options *o,
              uint32_t tl, uint64_t first, uint64_t last, struct group *g, struct ws_err *err)
{
    char        name[WAL_NAME_MAX + 1];
    char        key[REPO_KEY_MAX];

    for (uint64_t s = first; s <= last; s++)
    {
        wal_segment_name(name, sizeof(name), tl, s, v->seg_size);
        if (wal_repo_key(name, key, sizeof(key)) < 0)
            return err_set(err, WS_EINTERNAL, "no repository key for WAL file %s", name);
        if (thaw_key(repo, o, key, true, g, err) < 0)
            return -1;
    }
    return 0;
}

static void
report(FILE *out, const struct group *g)
{
    fprintf(out, "%s: %" PRIu64 " objects: %" PRIu64 " restore requested, %" PRIu64
            " in progress, %" PRIu64 " restored, %" PRIu64 " not archived",
            g->what, g->objects, g->requested, g->in_progress, g->ready, g->not_archived);
    if (g->missing > 0)
        fprintf(out, ", %" PRIu64 " missing", g->missing);
    fputc('\n', out);
}

static const struct backup_info *
choose(const struct ops_view *v, const char *id, struct ws_err *err)
{
    const struct backup_info *pick = NULL;

    for (int i = 0; i < v->nbackups; i++)
    {
        const struct backup_info *b = &v->backups[i];

        if (id != NULL && strcmp(b->id, id) == 0)
        {
            if (!b->complete || b->unreadable)
            {
                err_set(err, WS_EINPUT, "backup %s in repository \"%s\" is %s", id,
                        v->location ? v->location : "?", b->unreadable ? "damaged" : "incomplete");
                return NULL;
            }
            return b;
        }
        if (id == NULL && b->complete && !b->unreadable)
            pick = b;               /* oldest first: the last one wins */
    }
    if (id != NULL)
        err_set(err, WS_ENOTFOUND, "no backup %s in repository \"%s\"", id,
                v->location ? v->location : "?");
    else if (pick == NULL)
        err_set(err, WS_ENOTFOUND, "no complete backup in repository \"%s\"",
                v->location ? v->location : "?");
    return pick;
}

int
ops_thaw_run(const struct cfg *cfg, const struct ops_thaw_options *o, FILE *out,
             struct ops_thaw_result *res, struct ws_err *err)
{
    struct repo *repo = NULL;
    struct ops_view v;
    const struct backup_info *b;
    struct group gb = {.what = "backup objects"}, gw = {.what = "WAL segments"},
                gh = {.what = "timeline history files"};
    uint32_t    stl, tl;
    uint64_t    sseg, eseg, end;
    char        key[REPO_KEY_MAX];
    struct ops_window w;
    int         rc = -1;

    memset(res, 0, sizeof(*res));
    memset(&v, 0, sizeof(v));
    if (repo_open(cfg, NULL, &repo, err) < 0)
        return -1;
    if (ops_view_load(repo, &v, err) < 0 || (b = choose(&v, o->backup_id, err)) == NULL)
        goto cleanup;
    if (!ops_segment_of(&v, b->start_wal, &stl, &sseg) || !ops_segment_of(&v, b->stop_wal, &tl, &eseg))
    {
        err_set(err, WS_ECORRUPT, "backup %s: start or stop WAL file (%s, %s) is no segment name",
                b->id, b->start_wal, b->stop_wal);
        goto cleanup;
    }
    fprintf(out, "backup %s (%s): restore requests for %d days, tier %s\n", b->id, b->label,
            o->days, o->tier);

    for (int i = 0; i < b->nobjects; i++)
        if (backup_key(b->id, b->objects[i].name, key, sizeof(key), err) < 0 ||
            thaw_key(repo, o, key, false, &gb, err) < 0)
            goto cleanup;

    /* its WAL: start..stop (across a switch: the start timeline's run, then the stop's) */
    end = eseg;
    if (o->wal_to_latest && ops_window_of(&v, b, &w))
        end = w.end_segment;
    if (stl == tl)
    {
        if (thaw_segments(repo, &v, o, tl, sseg, end, &gw, err) < 0)
            goto cleanup;
    }
    else
    {
        const struct ops_range *rs = ops_range_find(&v, stl, sseg);
        const struct ops_range *re = ops_range_find(&v, tl, eseg);

        if (thaw_segments(repo, &v, o, stl, sseg, rs ? rs->last : sseg, &gw, err) < 0 ||
            thaw_segments(repo, &v, o, tl, re ? re->first : eseg, end, &gw, err) < 0)
            goto cleanup;
    }
    for (size_t i = 0; i < v.nfiles; i++)
        if (v.files[i].kind == CATALOG_WAL_HISTORY &&
            thaw_key(repo, o, v.files[i].key, true, &gh, err) < 0)
            goto cleanup;

    report(out, &gb);
    report(out, &gw);
    report(out, &gh);
    res->objects = gb.objects + gw.objects + gh.objects;
    res->requested = gb.requested + gw.requested + gh.requested;
    res->in_progress = gb.in_progress + gw.in_progress + gh.in_progress;
    res->ready = gb.ready + gw.ready + gh.ready;
    res->not_archived = gb.not_archived + gw.not_archived + gh.not_archived;
    res->missing = gw.missing + gh.missing;
    if (ops_thaw_readable(res))
        fprintf(out, "every object is readable now: backup %s can be recovered\n", b->id);
    else
        fprintf(out, "%" PRIu64 " objects are still being restored by the store: run walship thaw again later (it exits 0 once all are readable)\n",
                res->requested + res->in_progress);
    rc = 0;
cleanup:
    ops_view_free(&v);
    repo_close(repo);
    return rc;
}

/* [first, last] segments of b on timeline tl (false: b has none there). */
static bool
segments_of(const struct ops_view *v, const struct backup_info *b, uint32_t tl, uint64_t *first,
            uint64_t *last)
{
    uint32_t    stl, etl;
    uint64_t    s, e;

    if (!b->complete || b->unreadable || !ops_segment_of(v, b->start_wal, &stl, &s) ||
        !ops_segment_of(v, b->stop_wal, &etl, &e) || etl != tl)
        return false;
    *first = stl == etl ? s : e;    /* across a switch: only the stop timeline's part */
    *last = e;
    return true;
}

/* May segment segno of tl go to an archive class along with backup `self`? */
static bool
segment_movable(const struct ops_view *v, int self, uint32_t tl, uint64_t segno,
                uint64_t newest_start)
{
    if (segno >= newest_start)
        return false;               /* the recoverable window of the newest backup */
    for (int i = 0; i < v->nbackups; i++)
    {
        uint64_t    f, l;

        if (i != self && segments_of(v, &v->backups[i], tl, &f, &l) && segno >= f && segno <= l)
            return false;           /* another backup needs it as well */
    }
    return true;
}

int
ops_tier_move(const struct cfg *cfg, const char *backup_id, const char *storage_class, FILE *out,
              uint64_t *moved, struct ws_err *err)
{
    struct repo *repo = NULL;
    struct ops_view v;
    const struct backup_info *b, *newest = NULL;
    uint32_t    tl, ntl;
    uint64_t    first, last, nfirst = UINT64_MAX, kept = 0, segs = 0;
    char        key[REPO_KEY_MAX];
    char        name[WAL_NAME_MAX + 1];
    int         self, rc = -1;

    *moved = 0;
    memset(&v, 0, sizeof(v));
    if (repo_open(cfg, NULL, &repo, err) < 0)
        return -1;
    if (ops_view_load(repo, &v, err) < 0 || (b = choose(&v, backup_id, err)) == NULL ||
        (newest = choose(&v, NULL, err)) == NULL)
        goto cleanup;
    self = (int) (b - v.backups);
    if (!ops_segment_of(&v, b->stop_wal, &tl, &last) || !segments_of(&v, b, tl, &first, &last))
    {
        err_set(err, WS_ECORRUPT, "backup %s: start or stop WAL file (%s, %s) is no segment name",
                b->id, b->start_wal, b->stop_wal);
        goto cleanup;
    }
    if (ops_segment_of(&v, newest->start_wal, &ntl, &nfirst) && ntl != tl)
        nfirst = UINT64_MAX;        /* another timeline: its window is not on this one */
    if (b == newest)
    {
        err_set(err, WS_EINPUT, "backup %s is the newest complete backup of repository \"%s\"",
                b->id, repo_location(repo));
        err_hint(err, "The newest backup and its WAL stay readable: move older (monthly, yearly) backups only.");
        goto cleanup;
    }
    for (int i = 0; i < b->nobjects; i++)
    {
        if (backup_key(b->id, b->objects[i].name, key, sizeof(key), err) < 0 ||
            repo_set_class(repo, key, storage_class, err) < 0)
            goto cleanup;
        (*moved)++;
    }
    for (uint64_t s = first; s <= last; s++)
    {
        if (ops_range_find(&v, tl, s) == NULL)
            continue;               /* not archived: nothing to move */
        if (!segment_movable(&v, self, tl, s, nfirst))
        {
            kept++;
            continue;
        }
        wal_segment_name(name, sizeof(name), tl, s, v.seg_size);
        if (wal_repo_key(name, key, sizeof(key)) < 0)
        {
            err_set(err, WS_EINTERNAL, "no repository key for WAL file %s", name);
            goto cleanup;
        }
        if (repo_set_class(repo, key, storage_class, err) < 0)
            goto cleanup;
        segs++;
    }
    *moved += segs;
    if (out != NULL)
    {
        fprintf(out, "backup %s: %d objects and %" PRIu64 " WAL segments now in storage class %s",
                b->id, b->nobjects, segs, storage_class);
        if (kept > 0)
            fprintf(out, " (%" PRIu64 " segments other backups also need stay where they are)",
                    kept);
        fputc('\n', out);
    }
    rc = 0;
cleanup:
    ops_view_free(&v);
    repo_close(repo);
    return rc;
}

bool
ops_thaw_readable(const struct ops_thaw_result *res)
{
    return res->requested == 0 && res->in_progress == 0;
}
