/*
 * catalog.c — what a repository holds.  See catalog.h.
 *
 * WAL ranges: the keys of one log directory ("wal/<TL>/<TL><LOG>/") come in
 * a row from both drivers (the filesystem driver walks one directory after
 * another, S3 lists in key order), in any order within it.  They are
 * collected in a chunk of at most CHUNK_MAX segment numbers, sorted, cut into
 * runs of consecutive numbers, and each run is merged into its timeline's
 * ranges: a sorted array of disjoint, non-adjacent [first, last] intervals.
 * A run that extends the last range (the common case: keys in order) costs
 * O(1); one that lands in between costs a binary search and a memmove.  A
 * listing in some other order is still right, only the ranges held at once
 * grow towards the number of runs it delivers.
 */
#include "catalog.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- base backups ------------------------------------------------------- */

struct backup_ids
{
    char      (*ids)[BACKUP_ID_LEN];
    bool       *has_info;
    int         n;
    int         cap;
    int         last;           /* index of the last id seen: keys of a backup come in a row */
};

static int
backup_key_cb(const char *key, const struct repo_stat *st, void *arg, struct ws_err *err)
{
    struct backup_ids *c = arg;
    const char *rest = key + strlen(BACKUP_PREFIX);
    const char *slash = strchr(rest, '/');
    char        id[BACKUP_ID_LEN];
    int         i;

    (void) st;
    if (slash == NULL || (size_t) (slash - rest) != BACKUP_ID_LEN - 1)
        return 0;               /* not ours */
    memcpy(id, rest, BACKUP_ID_LEN - 1);
    id[BACKUP_ID_LEN - 1] = '\0';
    if (!backup_id_valid(id))
        return 0;
    if (c->last < c->n && strcmp(c->ids[c->last], id) == 0)
        i = c->last;
    else
    {
        for (i = 0; i < c->n; i++)
            if (strcmp(c->ids[i], id) == 0)
                break;
    }
    if (i == c->n)
    {
        if (c->n == c->cap)
        {
            int         ncap = c->cap ? c->cap * 2 : 16;
            char      (*ni)[BACKUP_ID_LEN] = realloc(c->ids, sizeof(*ni) * (size_t) ncap);
            bool       *nh;

            if (ni == NULL)
                return err_set(err, WS_EINTERNAL, "out of memory");
            c->ids = ni;
            nh = realloc(c->has_info, sizeof(*nh) * (size_t) ncap);
            if (nh == NULL)
                return err_set(err, WS_EINTERNAL, "out of memory");
            c->has_info = nh;
            c->cap = ncap;
        }
        strcpy(c->ids[c->n], id);
        c->has_info[c->n] = false;
        c->n++;
    }
    c->last = i;
    if (strcmp(slash + 1, BACKUP_INFO_NAME) == 0)
        c->has_info[i] = true;
    return 0;
}

static int
cmp_backup(const void *a, const void *b)
{
    return strcmp(((const struct backup_info *) a)->id, ((const struct backup_info *) b)->id);
}

int
catalog_backups(struct repo *repo, struct backup_info **out, int *n, struct ws_err *err)
{
    struct backup_ids c = {NULL, NULL, 0, 0, 0};
    struct backup_info *list = NULL;
    int         got = 0;
    int         rc = -1;

    *out = NULL;
    *n = 0;
    if (repo_list(repo, BACKUP_PREFIX, backup_key_cb, &c, err) < 0)
        goto out;
    if (c.n > 0)
    {
        list = calloc((size_t) c.n, sizeof(*list));
        if (list == NULL)
        {
            err_set(err, WS_EINTERNAL, "out of memory");
            goto out;
        }
    }
    for (got = 0; got < c.n; got++)
    {
        if (c.has_info[got])
        {
            if (backup_info_load(repo, c.ids[got], &list[got], err) < 0)
            {
                /* one damaged descriptor must not hide the other backups */
                if (err->code != WS_ECORRUPT)
                    goto out;
                log_warning("backup %s is unusable: %s", c.ids[got], err->msg);
                err_clear(err);
                memset(&list[got], 0, sizeof(list[got]));
                strcpy(list[got].id, c.ids[got]);
                list[got].unreadable = true;
            }
        }
        else
            strcpy(list[got].id, c.ids[got]);
    }
    if (c.n > 1)
        qsort(list, (size_t) c.n, sizeof(*list), cmp_backup);
    *out = list;
    *n = c.n;
    list = NULL;
    rc = 0;
out:
    if (list != NULL)
        catalog_backups_free(list, got);
    free(c.ids);
    free(c.has_info);
    return rc;
}

void
catalog_backups_free(struct backup_info *list, int n)
{
    if (list == NULL)
        return;
    for (int i = 0; i < n; i++)
        backup_info_free(&list[i]);
    free(list);
}

/* ---- logical dumps ------------------------------------------------------ */

struct dump_names
{
    struct catalog_dump *list;
    int         n;
    int         cap;
};

static int
dump_key_cb(const char *key, const struct repo_stat *st, void *arg, struct ws_err *err)
{
    struct dump_names *c = arg;
    const char *rest = key + strlen(DUMP_PREFIX);
    const char *slash = strchr(rest, '/');
    char        name[DUMP_NAME_MAX + 1];
    bool        data, info;
    int         i;

    if (slash == NULL || slash == rest || (size_t) (slash - rest) > DUMP_NAME_MAX)
        return 0;               /* not ours */
    data = strcmp(slash + 1, DUMP_DATA_NAME) == 0;
    info = strcmp(slash + 1, DUMP_INFO_NAME) == 0;
    if (!data && !info)
        return 0;
    memcpy(name, rest, (size_t) (slash - rest));
    name[slash - rest] = '\0';
    if (dump_name_check(name, NULL) < 0)
        return 0;
    for (i = c->n - 1; i >= 0; i--)     /* keys of a dump come in a row */
        if (strcmp(c->list[i].info.name, name) == 0)
            break;
    if (i < 0)
    {
        if (c->n == c->cap)
        {
            int         cap = c->cap ? 2 * c->cap : 16;
            struct catalog_dump *p = realloc(c->list, sizeof(*p) * (size_t) cap);

            if (p == NULL)
                return err_set(err, WS_EINTERNAL, "out of memory");
            c->list = p;
            c->cap = cap;
        }
        i = c->n++;
        memset(&c->list[i], 0, sizeof(c->list[i]));
        strcpy(c->list[i].info.name, name);
    }
    if (data)
    {
        c->list[i].has_data = true;
        c->list[i].data_stored = st->size;
        c->list[i].data_mtime_s = st->mtime;
    }
    else
        c->list[i].complete = true;     /* for now: the descriptor exists */
    return 0;
}

static int
cmp_dump(const void *a, const void *b)
{
    const struct catalog_dump *x = a, *y = b;

    if (x->complete != y->complete)
        return x->complete ? -1 : 1;
    if (x->complete && x->info.start_time_us != y->info.start_time_us)
        return x->info.start_time_us < y->info.start_time_us ? -1 : 1;
    return strcmp(x->info.name, y->info.name);
}

int
catalog_dumps(struct repo *repo, struct catalog_dump **out, int *n, struct ws_err *err)
{
    struct dump_names c = {NULL, 0, 0};
    int         rc = -1;

    *out = NULL;
    *n = 0;
    if (repo_list(repo, DUMP_PREFIX, dump_key_cb, &c, err) < 0)
        goto out;
    for (int i = 0; i < c.n; i++)
    {
        struct catalog_dump *d = &c.list[i];
        char        name[DUMP_NAME_MAX + 1];

        if (!d->complete)
            continue;
        strcpy(name, d->info.name);
        if (dump_info_load(repo, name, &d->info, err) < 0)
        {
            /* one damaged descriptor must not hide the other dumps */
            if (err->code != WS_ECORRUPT)
                goto out;
            log_warning("dump \"%s\" is unusable: %s", name, err->msg);
            err_clear(err);
            memset(&d->info, 0, sizeof(d->info));
            strcpy(d->info.name, name);
            d->complete = false;
            d->unreadable = true;
        }
    }
    if (c.n > 1)
        qsort(c.list, (size_t) c.n, sizeof(*c.list), cmp_dump);
    *out = c.list;
    *n = c.n;
    c.list = NULL;
    rc = 0;
out:
    free(c.list);
    return rc;
}

void
catalog_dumps_free(struct catalog_dump *list)
{
    free(list);
}

/* ---- archived WAL: the accumulator -------------------------------------- */

#define CHUNK_MAX 4096          /* a log directory of 1 MiB segments */

struct range
{
    uint64_t    first;
    uint64_t    last;
    uint64_t    bytes;
};

/* A .backup or .partial file. */
struct single
{
    enum catalog_wal_kind kind;
    uint32_t    timeline;
    uint64_t    segno;
    uint32_t    offset;
    uint64_t    bytes;
    char        name[WAL_NAME_MAX + 1];
};

struct wal_tl
{
    uint32_t    tli;
    struct range *ranges;
    size_t      n;
    size_t      cap;
    bool        has_history;
    uint64_t    history_bytes;
};

struct chunk_entry
{
    uint64_t    segno;
    uint64_t    bytes;
};

struct catalog_wal
{
    uint32_t    seg_size;
    catalog_wal_cb cb;
    void       *arg;

    struct wal_tl *tls;           /* sorted by tli */
    size_t      ntls;
    size_t      tls_cap;
    struct single *singles;
    size_t      nsingles;
    size_t      singles_cap;

    /* the log directory being collected */
    struct chunk_entry *chunk;      /* CHUNK_MAX entries */
    size_t      nchunk;
    uint32_t    chunk_tli;
    uint32_t    chunk_log;

    struct catalog_wal_stats st;
    size_t      ranges_cap;         /* sum of the timelines' capacities */
};

/*
 * Room for more elements of `size` bytes in arr (*cap allocated): the
 * array, moved, with *cap doubled; NULL (arr unchanged) when out of memory.
 */
static void *
grow(void *arr, size_t *cap, size_t size, struct ws_err *err)
{
    size_t      ncap = *cap ? *cap * 2 : 4;
    void       *n = realloc(arr, ncap * size);

    if (n == NULL)
    {
        err_set(err, WS_EINTERNAL, "out of memory");
        return NULL;
    }
    *cap = ncap;
    return n;
}

static void
note_memory(struct catalog_wal *w)
{
    size_t      bytes = sizeof(*w) + CHUNK_MAX * sizeof(struct chunk_entry) +
        w->tls_cap * sizeof(struct wal_tl) + w->singles_cap * sizeof(struct single) +
        w->ranges_cap * sizeof(struct range);

    if (bytes > w->st.peak_bytes)
        w->st.peak_bytes = bytes;
    if (w->st.ranges > w->st.peak_ranges)
        w->st.peak_ranges = w->st.ranges;
}

struct catalog_wal *
catalog_wal_new(uint32_t seg_size, catalog_wal_cb cb, void *arg, struct ws_err *err)
{
    struct catalog_wal *w = calloc(1, sizeof(*w));

    if (w == NULL || (w->chunk = malloc(CHUNK_MAX * sizeof(*w->chunk))) == NULL)
    {
        free(w);
        err_set(err, WS_EINTERNAL, "out of memory");
        return NULL;
    }
    w->seg_size = seg_size;
    w->cb = cb;
    w->arg = arg;
    note_memory(w);
    return w;
}

void
catalog_wal_free(struct catalog_wal *w)
{
    if (w == NULL)
        return;
    for (size_t i = 0; i < w->ntls; i++)
        free(w->tls[i].ranges);
    free(w->tls);
    free(w->singles);
    free(w->chunk);
    free(w);
}

static struct wal_tl *
tl_get(struct catalog_wal *w, uint32_t tli, struct ws_err *err)
{
    size_t      lo = 0, hi = w->ntls;

    while (lo < hi)
    {
        size_t      mid = (lo + hi) / 2;

        if (w->tls[mid].tli < tli)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < w->ntls && w->tls[lo].tli == tli)
        return &w->tls[lo];
    if (w->ntls == w->tls_cap)
    {
        struct wal_tl *n = grow(w->tls, &w->tls_cap, sizeof(*n), err);

        if (n == NULL)
            return NULL;
        w->tls = n;
        note_memory(w);
    }
    memmove(&w->tls[lo + 1], &w->tls[lo], (w->ntls - lo) * sizeof(*w->tls));
    memset(&w->tls[lo], 0, sizeof(w->tls[lo]));
    w->tls[lo].tli = tli;
    w->ntls++;
    return &w->tls[lo];
}

/* Merge the run [first, last] into t's ranges. */
static int
range_add(struct catalog_wal *w, struct wal_tl *t, uint64_t first, uint64_t last,
          uint64_t bytes, struct ws_err *err)
{
    size_t      lo = 0, hi = t->n;
    size_t      i;

    /* in order: extend or append the last range */
    if (t->n > 0 && first > t->ranges[t->n - 1].first)
        lo = t->n;
    else
    {
        /* the first range that starts after first */
        while (lo < hi)
        {
            size_t      mid = (lo + hi) / 2;

            if (t->ranges[mid].first <= first)
                lo = mid + 1;
            else
                hi = mid;
        }
    }
    if (lo > 0 && t->ranges[lo - 1].last + 1 >= first)
    {
        i = lo - 1;             /* joins the range before */
        if (last > t->ranges[i].last)
            t->ranges[i].last = last;
        t->ranges[i].bytes += bytes;
    }
    else
    {
        if (t->n == t->cap)
        {
            size_t      was = t->cap;
            struct range *n = grow(t->ranges, &t->cap, sizeof(*n), err);

            if (n == NULL)
                return -1;
            t->ranges = n;
            w->ranges_cap += t->cap - was;
        }
        i = lo;
        memmove(&t->ranges[i + 1], &t->ranges[i], (t->n - i) * sizeof(*t->ranges));
        t->ranges[i].first = first;
        t->ranges[i].last = last;
        t->ranges[i].bytes = bytes;
        t->n++;
        w->st.ranges++;
    }
    /* swallow the ranges it now reaches */
    while (i + 1 < t->n && t->ranges[i + 1].first <= t->ranges[i].last + 1)
    {
        if (t->ranges[i + 1].last > t->ranges[i].last)
            t->ranges[i].last = t->ranges[i + 1].last;
        t->ranges[i].bytes += t->ranges[i + 1].bytes;
        memmove(&t->ranges[i + 1], &t->ranges[i + 2], (t->n - i - 2) * sizeof(*t->ranges));
        t->n--;
        w->st.ranges--;
    }
    note_memory(w);
    return 0;
}

static int
cmp_entry(const void *a, const void *b)
{
    const struct chunk_entry *x = a, *y = b;

    return x->segno < y->segno ? -1 : x->segno > y->segno;
}

/* Sort the collected log directory and merge its runs. */
static int
chunk_flush(struct catalog_wal *w, struct ws_err *err)
{
    struct wal_tl *t;
    size_t      i = 0;

    if (w->nchunk == 0)
        return 0;
    t = tl_get(w, w->chunk_tli, err);
    if (t == NULL)
        return -1;
    qsort(w->chunk, w->nchunk, sizeof(*w->chunk), cmp_entry);
    while (i < w->nchunk)
    {
        uint64_t    first = w->chunk[i].segno;
        uint64_t    last = first;
        uint64_t    bytes = w->chunk[i].bytes;

        for (i++; i < w->nchunk && w->chunk[i].segno <= last + 1; i++)
        {
            if (w->chunk[i].segno == last)
                continue;       /* listed twice */
            last = w->chunk[i].segno;
            bytes += w->chunk[i].bytes;
        }
        if (range_add(w, t, first, last, bytes, err) < 0)
            return -1;
    }
    w->nchunk = 0;
    return 0;
}

static int
single_add(struct catalog_wal *w, const struct single *s, struct ws_err *err)
{
    if (w->nsingles == w->singles_cap)
    {
        struct single *n = grow(w->singles, &w->singles_cap, sizeof(*n), err);

        if (n == NULL)
            return -1;
        w->singles = n;
        note_memory(w);
    }
    w->singles[w->nsingles++] = *s;
    return 0;
}

static int
other(struct catalog_wal *w, const char *key, uint64_t size, struct ws_err *err)
{
    struct catalog_wal_item it;

    memset(&it, 0, sizeof(it));
    it.kind = CATALOG_WAL_OTHER;
    it.bytes = size;
    it.key = key;
    return w->cb(&it, w->arg, err);
}

int
catalog_wal_add(struct catalog_wal *w, const char *key, uint64_t size, struct ws_err *err)
{
    const char *name = strrchr(key, '/');
    struct wal_name wn;
    char        expect[REPO_KEY_MAX];

    w->st.keys++;
    name = name != NULL ? name + 1 : key;
    if (wal_parse(name, w->seg_size, &wn) < 0 ||
        wal_repo_key(name, expect, sizeof(expect)) < 0 || strcmp(expect, key) != 0)
        return other(w, key, size, err);
    switch (wn.kind)
    {
        case WAL_KIND_SEGMENT:
            if (w->nchunk > 0 &&
                (w->chunk_tli != wn.timeline || w->chunk_log != wn.log || w->nchunk == CHUNK_MAX))
            {
                if (chunk_flush(w, err) < 0)
                    return -1;
            }
            w->chunk_tli = wn.timeline;
            w->chunk_log = wn.log;
            w->chunk[w->nchunk].segno = wal_segno(&wn, w->seg_size);
            w->chunk[w->nchunk].bytes = size;
            w->nchunk++;
            w->st.segments++;
            return 0;
        case WAL_KIND_HISTORY:
            {
                struct wal_tl *t = tl_get(w, wn.timeline, err);

                if (t == NULL)
                    return -1;
                t->has_history = true;
                t->history_bytes = size;
                return 0;
            }
        case WAL_KIND_BACKUP:
        case WAL_KIND_PARTIAL:
            {
                struct single s;

                memset(&s, 0, sizeof(s));
                s.kind = wn.kind == WAL_KIND_BACKUP ? CATALOG_WAL_BACKUP : CATALOG_WAL_PARTIAL;
                s.timeline = wn.timeline;
                s.segno = wal_segno(&wn, w->seg_size);
                s.offset = wn.offset;
                s.bytes = size;
                snprintf(s.name, sizeof(s.name), "%s", name);
                /* a timeline with only these still gets listed */
                if (tl_get(w, wn.timeline, err) == NULL)
                    return -1;
                return single_add(w, &s, err);
            }
        case WAL_KIND_INVALID:
            break;
    }
    return other(w, key, size, err);
}

static int
cmp_single(const void *a, const void *b)
{
    const struct single *x = a, *y = b;

    if (x->timeline != y->timeline)
        return x->timeline < y->timeline ? -1 : 1;
    if (x->segno != y->segno)
        return x->segno < y->segno ? -1 : 1;
    if (x->kind != y->kind)
        return x->kind < y->kind ? -1 : 1;      /* .backup before .partial */
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

static int
emit_single(struct catalog_wal *w, const struct single *s, struct ws_err *err)
{
    struct catalog_wal_item it;
    char        key[REPO_KEY_MAX];

    memset(&it, 0, sizeof(it));
    it.kind = s->kind;
    it.timeline = s->timeline;
    it.first = it.last = s->segno;
    it.bytes = s->bytes;
    it.offset = s->offset;
    snprintf(it.name, sizeof(it.name), "%s", s->name);
    (void) wal_repo_key(s->name, key, sizeof(key));
    it.key = key;
    return w->cb(&it, w->arg, err);
}

int
catalog_wal_finish(struct catalog_wal *w, struct catalog_wal_stats *stats, struct ws_err *err)
{
    size_t      s = 0;
    int         rc = -1;

    if (chunk_flush(w, err) < 0)
        goto out;
    if (w->nsingles > 1)
        qsort(w->singles, w->nsingles, sizeof(*w->singles), cmp_single);
    for (size_t i = 0; i < w->ntls; i++)
    {
        const struct wal_tl *t = &w->tls[i];
        struct catalog_wal_item it;

        if (t->has_history)
        {
            char        key[REPO_KEY_MAX];

            memset(&it, 0, sizeof(it));
            it.kind = CATALOG_WAL_HISTORY;
            it.timeline = t->tli;
            it.bytes = t->history_bytes;
            snprintf(it.name, sizeof(it.name), "%08X.history", t->tli);
            (void) wal_repo_key(it.name, key, sizeof(key));
            it.key = key;
            if (w->cb(&it, w->arg, err) < 0)
                goto out;
        }
        for (size_t r = 0; r < t->n; r++)
        {
            /* the .backup and .partial files before this range */
            for (; s < w->nsingles && w->singles[s].timeline == t->tli &&
                 w->singles[s].segno < t->ranges[r].first; s++)
                if (emit_single(w, &w->singles[s], err) < 0)
                    goto out;
            memset(&it, 0, sizeof(it));
            it.kind = CATALOG_WAL_SEGMENTS;
            it.timeline = t->tli;
            it.first = t->ranges[r].first;
            it.last = t->ranges[r].last;
            it.bytes = t->ranges[r].bytes;
            wal_segment_name(it.name, sizeof(it.name), t->tli, it.first, w->seg_size);
            wal_segment_name(it.last_name, sizeof(it.last_name), t->tli, it.last, w->seg_size);
            if (w->cb(&it, w->arg, err) < 0)
                goto out;
        }
        for (; s < w->nsingles && w->singles[s].timeline == t->tli; s++)
            if (emit_single(w, &w->singles[s], err) < 0)
                goto out;
    }
    rc = 0;
out:
    if (stats != NULL)
        *stats = w->st;
    return rc;
}

/* ---- archived WAL: from the repository ---------------------------------- */

static int
wal_key_cb(const char *key, const struct repo_stat *st, void *arg, struct ws_err *err)
{
    return catalog_wal_add(arg, key, st->size, err);
}

int
catalog_wal(struct repo *repo, catalog_wal_cb cb, void *arg, struct catalog_wal_stats *stats,
            struct ws_err *err)
{
    struct catalog_wal *w = catalog_wal_new(repo_wal_segment_size(repo), cb, arg, err);
    int         rc = -1;

    if (stats != NULL)
        memset(stats, 0, sizeof(*stats));
    if (w == NULL)
        return -1;
    if (repo_list(repo, CATALOG_WAL_PREFIX, wal_key_cb, w, err) < 0)
        goto out;
    rc = catalog_wal_finish(w, stats, err);
out:
    catalog_wal_free(w);
    return rc;
}
