/*
 * ops_verify.c — `walship verify`.  See ops_verify.h.
 *
 * One producer, many readers: the threads take the next object from a
 * cursor over the view (backups, then WAL ranges segment by segment, then
 * the other WAL files) under a mutex, read it with repo_get into no sink,
 * and record failures.  Nothing but the cursor and the failures is shared.
 */
#include "ops_verify.h"
#include "ops_dump.h"

#include "backup_info.h"
#include "backup_time.h"
#include "catalog.h"
#include "checksum.h"
#include "clock.h"
#include "log.h"
#include "ops_metrics.h"
#include "progress.h"
#include "retention.h"
#include "wal.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct failure
{
    char       *key;
    char       *cause;
    int         backup;             /* index into the view, or -1 */
    uint32_t    timeline;           /* a WAL segment's: its timeline and number */
    uint64_t    segno;
    bool        segment;
    bool        archived;           /* in an archive storage class: unread, not damaged */
};

struct job
{
    char        key[REPO_KEY_MAX];
    int         backup;             /* -1 for WAL */
    const struct backup_object *expect;     /* a backup part: what its descriptor says */
    bool        descriptor;         /* backup.info */
    bool        segment;
    uint32_t    timeline;
    uint64_t    segno;
};

/* --since: on timeline tl, the segments from `from` on are read */
struct since_tl
{
    uint32_t    timeline;
    uint64_t    from;
};

struct verify
{
    struct repo *repo;
    struct ops_view *v;
    const struct ops_verify_options *o;
    int         newest;             /* the newest complete backup, or -1 */
    struct since_tl *since;         /* with o->since */
    size_t      nsince;
    uint64_t    skipped;            /* left unread by since or sample */
    int         only;               /* backup index, or -1 for all */
    uint64_t    wal_from;           /* with only: first segment wanted */
    uint32_t    wal_tl;

    pthread_mutex_t lock;
    /* the cursor */
    int         phase;              /* 0 backups, 1 ranges, 2 files, 3 done */
    int         bi, oi;             /* backup, object (-1: backup.info) */
    size_t      ri;
    uint64_t    seg;
    size_t      fi;
    /* what was found */
    uint64_t    objects, stored;
    struct failure *fails;
    size_t      nfails, capfails;
    struct ws_err fatal;            /* an error that is no object's fault (out of memory) */
};

static bool
sampling(const struct verify *s)
{
    return s->o->sample_pct > 0 && s->o->sample_pct < 100;
}

/* --sample: true if key is in the sample (the seed's hash of the key below PCT %). */
static bool
picked(const struct verify *s, const char *key)
{
    return !sampling(s) ||
        xxh64(key, strlen(key), s->o->seed) % 10000 < (uint64_t) s->o->sample_pct * 100;
}

/* --since: the first segment of tl to read (UINT64_MAX: none). */
static uint64_t
since_from(const struct verify *s, uint32_t tl)
{
    if (!s->o->since)
        return 0;
    for (size_t i = 0; i < s->nsince; i++)
        if (s->since[i].timeline == tl)
            return s->since[i].from;
    return UINT64_MAX;
}

/* The next object to read, under v->lock; false when there is none. */
static bool
next_job(struct verify *s, struct job *j)
{
    struct ops_view *v = s->v;
    struct ws_err e = WS_ERR_INIT;

    while (s->phase < 3)
    {
        /* afresh each turn: an object skipped by --since or --sample leaves nothing behind */
        memset(j, 0, sizeof(*j));
        j->backup = -1;
        if (s->phase == 0)
        {
            const struct backup_info *b;

            if (s->bi >= v->nbackups)
            {
                s->phase = 1;
                continue;
            }
            b = &v->backups[s->bi];
            if ((s->only >= 0 && s->bi != s->only) || (!b->complete && !b->unreadable) ||
                (s->oi >= 0 && (b->unreadable || s->oi >= b->nobjects)))
            {
                s->bi++;
                s->oi = -1;
                continue;
            }
            j->backup = s->bi;
            if (s->oi < 0)
            {
                j->descriptor = true;
                backup_key(b->id, BACKUP_INFO_NAME, j->key, sizeof(j->key), &e);
            }
            else
            {
                j->expect = &b->objects[s->oi];
                backup_key(b->id, j->expect->name, j->key, sizeof(j->key), &e);
                if ((s->o->since && b->start_time_us < s->o->since_us) ||
                    (s->bi != s->newest && !picked(s, j->key)))
                {
                    s->oi++;
                    s->skipped++;
                    continue;
                }
            }
            s->oi++;
            return true;
        }
        if (s->phase == 1)
        {
            const struct ops_range *r;
            char        name[WAL_NAME_MAX + 1];

            if (s->ri >= v->nranges)
            {
                s->phase = 2;
                continue;
            }
            r = &v->ranges[s->ri];
            if (s->seg < r->first)
                s->seg = r->first;
            if (s->seg > r->last || (s->only >= 0 && r->timeline != s->wal_tl))
            {
                s->ri++;
                s->seg = 0;
                continue;
            }
            if (s->only >= 0 && s->seg < s->wal_from)
                s->seg = s->wal_from;
            if (s->seg > r->last)
                continue;
            if (s->seg < since_from(s, r->timeline))
            {
                uint64_t    to = since_from(s, r->timeline);

                to = to > r->last ? r->last + 1 : to;
                s->skipped += to - s->seg;
                s->seg = to;
                continue;
            }
            ops_segment_name(v, r->timeline, s->seg, name);
            wal_repo_key(name, j->key, sizeof(j->key));
            if (!picked(s, j->key))
            {
                s->seg++;
                s->skipped++;
                continue;
            }
            j->segment = true;
            j->timeline = r->timeline;
            j->segno = s->seg++;
            return true;
        }
        if (s->fi >= v->nfiles)
        {
            s->phase = 3;
            continue;
        }
        /* with --backup: the history files only; "other" keys are no walship objects */
        if (v->files[s->fi].kind == CATALOG_WAL_OTHER ||
            (s->only >= 0 && v->files[s->fi].kind != CATALOG_WAL_HISTORY))
        {
            s->fi++;
            continue;
        }
        snprintf(j->key, sizeof(j->key), "%s", v->files[s->fi++].key);
        return true;
    }
    return false;
}

static void
record(struct verify *s, const struct job *j, const char *cause, bool archived)
{
    struct failure *f;

    if (s->nfails == s->capfails)
    {
        size_t      cap = s->capfails ? 2 * s->capfails : 16;
        struct failure *p = realloc(s->fails, cap * sizeof(*p));

        if (p == NULL)
        {
            err_set(&s->fatal, WS_EINTERNAL, "out of memory");
            return;
        }
        s->fails = p;
        s->capfails = cap;
    }
    f = &s->fails[s->nfails];
    f->key = strdup(j->key);
    f->cause = strdup(cause);
    if (f->key == NULL || f->cause == NULL)
    {
        free(f->key);
        free(f->cause);
        err_set(&s->fatal, WS_EINTERNAL, "out of memory");
        return;
    }
    f->backup = j->backup;
    f->segment = j->segment;
    f->timeline = j->timeline;
    f->segno = j->segno;
    f->archived = archived;
    s->nfails++;
}

/* Read one object; the cause of its failure into cause, or "" when sound. */
static void
check_one(struct verify *s, const struct job *j, char *cause, size_t len, uint64_t *stored,
          bool *archived)
{
    struct repo_read rd;
    struct ws_err e = WS_ERR_INIT;

    memset(&rd, 0, sizeof(rd));
    cause[0] = '\0';
    *archived = false;
    if (repo_get(s->repo, j->key, NULL, &rd, &e) < 0)
    {
        *archived = e.code == WS_EARCHIVED;
        if (e.code == WS_ENOTFOUND)
            snprintf(cause, len, "missing from the repository");
        else
            snprintf(cause, len, "%s%s%s", e.msg, e.detail[0] ? "; " : "", e.detail);
        return;
    }
    *stored = rd.obj.stored;
    if (j->expect != NULL &&
        (rd.obj.size != j->expect->size || rd.obj.xxh64 != j->expect->xxh64))
        snprintf(cause, len, "does not match the descriptor: it holds %" PRIu64
                 " bytes with checksum %016" PRIx64 ", backup.info says %" PRIu64
                 " bytes with checksum %016" PRIx64, rd.obj.size, rd.obj.xxh64,
                 j->expect->size, j->expect->xxh64);
    else if (j->descriptor && s->v->backups[j->backup].unreadable)
    {
        /* the object reads back, so its text is what is wrong */
        char       *text = NULL;
        size_t      n;
        struct backup_info b;

        memset(&b, 0, sizeof(b));
        if (repo_get_buffer(s->repo, j->key, BACKUP_INFO_MAX, "backup descriptor", &text, &n,
                            &e) < 0 || backup_info_parse(text, j->key, &b, &e) < 0)
            snprintf(cause, len, "%s", e.msg);
        else
            snprintf(cause, len, "the descriptor could not be read when listing");
        backup_info_free(&b);
        free(text);
    }
}

static void *
reader(void *arg)
{
    struct verify *s = arg;
    struct job  j;
    char        cause[1536];

    for (;;)
    {
        uint64_t    stored = 0;
        bool        archived;

        pthread_mutex_lock(&s->lock);
        if (s->fatal.code != WS_OK || !next_job(s, &j))
        {
            pthread_mutex_unlock(&s->lock);
            return NULL;
        }
        pthread_mutex_unlock(&s->lock);
        check_one(s, &j, cause, sizeof(cause), &stored, &archived);
        if (cause[0] == '\0')
            log_debug("verified \"%s\"", j.key);
        pthread_mutex_lock(&s->lock);
        s->objects++;
        s->stored += stored;
        if (cause[0] != '\0')
            record(s, &j, cause, archived);
        pthread_mutex_unlock(&s->lock);
    }
}

static int
by_key(const void *a, const void *b)
{
    return strcmp(((const struct failure *) a)->key, ((const struct failure *) b)->key);
}

struct gap_report
{
    struct ops_view *v;
    FILE       *out;
    const char *after;
    uint64_t    n;
};

static void
report_gap(const struct ops_gap *g, void *arg)
{
    struct gap_report *p = arg;
    char        a[WAL_NAME_MAX + 1], b[WAL_NAME_MAX + 1];

    ops_segment_name(p->v, g->timeline, g->first, a);
    ops_segment_name(p->v, g->timeline, g->last, b);
    fprintf(p->out, "gap: timeline %u: %s..%s missing (%" PRIu64 " segment%s), after backup %s\n",
            g->timeline, a, b, g->last - g->first + 1, g->last == g->first ? "" : "s", p->after);
    p->n++;
}

/*
 * A backup older than the retain_pitr window keeps only its own start..stop
 * WAL (walship expire removes the rest on purpose): report only the gaps in
 * that stretch, clipped to it.
 */
struct gap_clip
{
    struct gap_report *r;
    uint64_t    last;
    uint64_t    n;
};

static void
report_gap_upto(const struct ops_gap *g, void *arg)
{
    struct gap_clip *c = arg;
    struct ops_gap x = *g;

    if (x.first > c->last)
        return;
    if (x.last > c->last)
        x.last = c->last;
    report_gap(&x, c->r);
    c->n++;
}

/* Where the WAL of complete backup b starts on its stop timeline. */
static bool
wal_start(const struct ops_view *v, const struct backup_info *b, uint64_t *from, uint64_t *stop)
{
    uint32_t    stl, tl;
    uint64_t    s, e;

    if (!ops_segment_of(v, b->start_wal, &stl, &s) || !ops_segment_of(v, b->stop_wal, &tl, &e))
        return false;
    *from = stl == tl ? s : e;
    *stop = e;
    return true;
}

/*
 * The logical dumps (ops_dump.h): each read end to end and checked against
 * its descriptor, one after another; a damaged descriptor or data object
 * counts as damaged, data without a descriptor (a killed put) is only
 * reported.  Not with --backup.
 */
static int
verify_dumps(struct repo *repo, const struct ops_view *v, FILE *out,
             struct ops_verify_result *res, struct ws_err *err)
{
    uint64_t    n = 0, bytes = 0;
    char        size[32];

    for (int i = 0; i < v->ndumps; i++)
    {
        const struct catalog_dump *d = &v->dumps[i];
        struct ws_err e = WS_ERR_INIT;
        uint64_t    stored = 0;

        if (d->unreadable)
        {
            fprintf(out, "damaged: dump %s: its descriptor " DUMP_INFO_NAME " is damaged\n",
                    d->info.name);
            res->damaged++;
            continue;
        }
        if (!d->complete)
        {
            fprintf(out, "incomplete: dump %s has no " DUMP_INFO_NAME " (a put running, or "
                    "killed)\n", d->info.name);
            continue;
        }
        if (ops_dump_verify(repo, &d->info, &stored, &e) < 0)
        {
            if (e.code != WS_ECORRUPT && e.code != WS_ENOTFOUND)
            {
                *err = e;
                return -1;
            }
            fprintf(out, "damaged: dump %s: %s\n", d->info.name, e.msg);
            res->damaged++;
            continue;
        }
        n++;
        bytes += stored;
    }
    res->objects += n;
    res->stored += bytes;
    progress_bytes(bytes, size, sizeof(size));
    fprintf(out, "verified %" PRIu64 " dump%s (%s stored)\n", n, n == 1 ? "" : "s", size);
    return 0;
}

/* --since: per timeline, the lowest segment stored at or after the time. */
static int
on_since_key(const char *key, const struct repo_stat *st, void *arg, struct ws_err *err)
{
    struct verify *s = arg;
    const char *base = strrchr(key, '/');
    struct wal_name w;
    uint64_t    segno;
    size_t      i;

    /* the listing gives whole seconds: a segment stored in TIME's second is read */
    if (st->mtime < s->o->since_us / 1000000 ||
        wal_parse(base != NULL ? base + 1 : key, s->v->seg_size, &w) < 0 ||
        w.kind != WAL_KIND_SEGMENT)
        return 0;
    segno = wal_segno(&w, s->v->seg_size);
    for (i = 0; i < s->nsince; i++)
        if (s->since[i].timeline == w.timeline)
            break;
    if (i == s->nsince)
    {
        struct since_tl *p = realloc(s->since, (s->nsince + 1) * sizeof(*p));

        if (p == NULL)
            return err_set(err, WS_EINTERNAL, "out of memory");
        s->since = p;
        s->since[s->nsince++] = (struct since_tl) {w.timeline, segno};
    }
    else if (segno < s->since[i].from)
        s->since[i].from = segno;
    return 0;
}

int
ops_verify_view(struct repo *repo, struct ops_view *v, const struct ops_verify_options *o,
                FILE *out, struct ops_verify_result *res, struct ws_err *err)
{
    struct verify s;
    int         jobs = o->jobs > 0 ? o->jobs : 1;
    pthread_t  *th;
    int         started = 0;
    double      t0 = clock_now_s();
    char        size[32];
    int         anchor = -1;        /* the retain_pitr window's backup */
    int         rc = -1;

    memset(res, 0, sizeof(*res));
    memset(&s, 0, sizeof(s));
    s.repo = repo;
    s.v = v;
    s.o = o;
    s.only = -1;
    s.oi = -1;
    s.newest = -1;
    s.fatal = (struct ws_err) WS_ERR_INIT;
    for (int i = 0; i < v->nbackups; i++)
        if (v->backups[i].complete && !v->backups[i].unreadable)
            s.newest = i;       /* oldest first */
    if (o->backup_id != NULL && (o->since || sampling(&s)))
    {
        err_set(err, WS_ECONFIG, "--backup cannot be combined with --since or --sample");
        err_hint(err, "--backup reads all of one backup; --since and --sample narrow "
                 "the whole repository.");
        return -1;
    }
    if (o->since && repo_list(repo, CATALOG_WAL_PREFIX, on_since_key, &s, err) < 0)
    {
        free(s.since);
        return -1;
    }
    if (o->backup_id != NULL)
    {
        uint64_t    stop;

        for (int i = 0; i < v->nbackups; i++)
            if (strcmp(v->backups[i].id, o->backup_id) == 0)
                s.only = i;
        if (s.only < 0)
        {
            err_set(err, WS_ENOTFOUND, "backup %s is not in repository \"%s\"", o->backup_id,
                    repo_location(repo));
            err_hint(err, "\"walship list\" shows the backups.");
            return -1;
        }
        if (!v->backups[s.only].complete && !v->backups[s.only].unreadable)
            return err_set(err, WS_EINPUT, "backup %s is incomplete: it has no backup.info",
                           o->backup_id);
        if (v->backups[s.only].unreadable ||
            !wal_start(v, &v->backups[s.only], &s.wal_from, &stop))
            s.wal_tl = 0;       /* no WAL: its descriptor says nothing */
        else
            ops_segment_of(v, v->backups[s.only].stop_wal, &s.wal_tl, &stop);
    }
    if (pthread_mutex_init(&s.lock, NULL) != 0)
    {
        free(s.since);
        return err_set(err, WS_EINTERNAL, "could not create a mutex");
    }
    th = calloc((size_t) jobs, sizeof(*th));
    if (th == NULL)
    {
        err_set(err, WS_EINTERNAL, "out of memory");
        goto out;
    }
    for (; started < jobs; started++)
        if (pthread_create(&th[started], NULL, reader, &s) != 0)
            break;
    if (started == 0)
    {
        err_set(err, WS_EINTERNAL, "could not start a reader thread");
        goto out;
    }
    for (int i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    if (s.fatal.code != WS_OK)
    {
        *err = s.fatal;
        goto out;
    }

    res->objects = s.objects;
    res->stored = s.stored;
    res->skipped = s.skipped;
    res->seconds = clock_now_s() - t0;
    progress_bytes(s.stored, size, sizeof(size));
    fprintf(out, "verified %" PRIu64 " objects (%s stored) of repository \"%s\" in %.1f s\n",
            s.objects, size, repo_location(repo), res->seconds);
    if (o->since || sampling(&s))
    {
        char        since[64] = "";

        if (o->since)
            backup_time_format(o->since_us, since, sizeof(since));
        fprintf(out, "left unread: %" PRIu64 " objects (", s.skipped);
        if (o->since)
            fprintf(out, "--since %s%s", since, sampling(&s) ? ", " : "");
        if (sampling(&s))
            fprintf(out, "--sample %d%% --seed %" PRIu64, o->sample_pct, o->seed);
        fprintf(out, ")\n");
    }

    /* damage: each object by key; a damaged segment is a missing one from here on */
    if (s.nfails > 1)           /* qsort(NULL, 0) is undefined (UBSan stops verify) */
        qsort(s.fails, s.nfails, sizeof(*s.fails), by_key);
    for (size_t i = 0; i < s.nfails; i++)
    {
        struct failure *f = &s.fails[i];

        if (f->archived)
        {
            /* present and presumably sound, but unreadable until thawed */
            fprintf(out, "archived: %s: in an archive storage class, not verified (walship thaw)\n",
                    f->key);
            res->archived++;
            continue;
        }
        fprintf(out, "damaged: %s: %s\n", f->key, f->cause);
        if (f->backup >= 0)
            v->backups[f->backup].unreadable = true;
        if (f->segment && ops_view_drop_segment(v, f->timeline, f->segno, err) < 0)
            goto out;
    }
    res->damaged = s.nfails - res->archived;
    for (int i = 0; i < v->nbackups; i++)
        if (!v->backups[i].complete && !v->backups[i].unreadable &&
            (s.only < 0 || s.only == i))
            fprintf(out, "incomplete: backup %s has no backup.info (running, or killed)\n",
                    v->backups[i].id);

    /*
     * Continuity: per timeline, from the oldest complete backup's start
     * segment to the newest archived segment (or the latest stop segment).
     * With retain_pitr, from the window's backup on (the retention plan of
     * walship list marks it): each older backup needs, and keeps, only its
     * own start..stop segments.
     */
    for (int i = 0; v->kept_by != NULL && i < v->nbackups; i++)
        if (v->kept_by[i] & RETENTION_PITR)
            anchor = i;
    for (int i = 0; i < anchor; i++)
    {
        const struct backup_info *b = &v->backups[i];
        uint64_t    from, stop;
        uint32_t    tl;
        struct gap_report gr = {v, out, b->id, 0};
        struct gap_clip clip = {&gr, 0, 0};

        if ((s.only >= 0 && i != s.only) || !b->complete || !wal_start(v, b, &from, &stop) ||
            !ops_segment_of(v, b->stop_wal, &tl, &stop))
            continue;
        clip.last = stop;
        ops_gaps(v, tl, from, stop, report_gap_upto, &clip);
        res->gaps += clip.n;
    }
    if (anchor > 0 && s.only < 0)
        fprintf(out, "retain_pitr: WAL before backup %s is checked from each older backup's start to its stop segment only\n",
                v->backups[anchor].id);
    for (int i = anchor > 0 ? anchor : 0; i < v->nbackups; i++)
    {
        const struct backup_info *b = &v->backups[i];
        uint64_t    from, stop, from_min, stop_max;
        uint32_t    tl, t2;
        int         oldest = i;
        bool        first = true;
        struct gap_report gr = {v, out, NULL, 0};

        if ((s.only >= 0 && i != s.only) || !b->complete || !wal_start(v, b, &from, &stop) ||
            !ops_segment_of(v, b->stop_wal, &tl, &stop))
            continue;
        /* only once per timeline: at its oldest backup */
        for (int k = anchor > 0 ? anchor : 0; k < i; k++)
            if ((s.only < 0 || k == s.only) && v->backups[k].complete &&
                ops_segment_of(v, v->backups[k].stop_wal, &t2, &stop_max) && t2 == tl)
                first = false;
        if (!first)
            continue;
        from_min = from;
        stop_max = stop;
        for (int k = i + 1; k < v->nbackups; k++)
        {
            uint64_t    f2, s2;

            if ((s.only >= 0 && k != s.only) || !v->backups[k].complete ||
                !wal_start(v, &v->backups[k], &f2, &s2) ||
                !ops_segment_of(v, v->backups[k].stop_wal, &t2, &s2) || t2 != tl)
                continue;
            if (f2 < from_min)
                from_min = f2, oldest = k;
            if (s2 > stop_max)
                stop_max = s2;
        }
        gr.after = v->backups[oldest].id;
        res->gaps += ops_gaps(v, tl, from_min, stop_max, report_gap, &gr);
    }
    for (int i = 0; i < v->nbackups; i++)
    {
        const struct backup_info *b = &v->backups[i];
        uint32_t    tl;
        uint64_t    stop;

        if ((s.only >= 0 && i != s.only) || !b->complete ||
            !ops_segment_of(v, b->stop_wal, &tl, &stop))
            continue;
        if (ops_range_find(v, tl, stop) == NULL)
            fprintf(out, "missing: backup %s: its stop segment %s is not in the archive\n",
                    b->id, b->stop_wal);
    }

    if (s.only < 0 && verify_dumps(repo, v, out, res, err) < 0)
        goto out;

    /* gaps walship-archive made on purpose (archive_queue_max): say so, beside the gaps */
    for (size_t i = 0; i < v->ndropped; i++)
    {
        char        a[WAL_NAME_MAX + 1], b[WAL_NAME_MAX + 1];

        ops_segment_name(v, v->dropped[i].timeline, v->dropped[i].first, a);
        ops_segment_name(v, v->dropped[i].timeline, v->dropped[i].last, b);
        fprintf(out, "dropped: WAL %s .. %s (%" PRIu64 " segments) was dropped by archive_queue_max, not archived\n",
                a, b, v->dropped[i].last - v->dropped[i].first + 1);
    }
    fputc('\n', out);
    res->windows = ops_list_print_windows(v, out);
    fprintf(out, "\nresult: %s\n", res->damaged ? "damaged" : res->gaps ? "gap" :
            res->archived ? "archived" : "sound");
    if (res->archived)
        log_warning("%" PRIu64 " object%s of repository \"%s\" in an archive storage class could not be verified: walship thaw them first",
                    res->archived, res->archived == 1 ? "" : "s", repo_location(repo));
    if (res->damaged)
        log_error("%" PRIu64 " object%s damaged or missing in repository \"%s\"", res->damaged,
                  res->damaged == 1 ? "" : "s", repo_location(repo));
    if (res->gaps)
        log_error("%" PRIu64 " gap%s in the archived WAL of repository \"%s\"", res->gaps,
                  res->gaps == 1 ? "" : "s", repo_location(repo));
    rc = 0;
out:
    for (size_t i = 0; i < s.nfails; i++)
    {
        free(s.fails[i].key);
        free(s.fails[i].cause);
    }
    free(s.fails);
    free(s.since);
    free(th);
    pthread_mutex_destroy(&s.lock);
    return rc;
}

/*
 * The last sound run's time from the previous state/verify (0: none, or
 * unreadable: a damaged state object must not stop a verification).
 */
static int64_t
previous_success(struct repo *repo)
{
    char       *text = NULL;
    size_t      len;
    struct ws_err e = WS_ERR_INIT;
    struct ops_metrics_state st;
    int64_t     t = 0;

    if (repo_get_buffer(repo, OPS_METRICS_VERIFY_KEY, OPS_METRICS_STATE_MAX, "state object",
                        &text, &len, &e) == 0 &&
        ops_metrics_parse_state(text, len, OPS_METRICS_VERIFY_KEY, &st, &e) == 0 &&
        st.have_last_success)
        t = st.last_success_time;
    free(text);
    return t;
}

static void
record_result(struct repo *repo, const struct ops_verify_options *o,
              const struct ops_verify_result *res)
{
    bool        sound = res->damaged == 0 && res->gaps == 0;
    bool        sample = o->sample_pct > 0 && o->sample_pct < 100;
    int64_t     now = (int64_t) time(NULL);
    int64_t     last = sound ? now : previous_success(repo);
    char        text[512], last_text[32] = "";
    struct repo_put p;
    struct ws_err e = WS_ERR_INIT;
    int         n;

    if (last > 0)
        snprintf(last_text, sizeof(last_text), "%" PRId64, last);
    n = snprintf(text, sizeof(text),
                 "# walship verify's last run (docs/walship.md, walship metrics)\n"
                 "time = %" PRId64 "\nresult = %s\nscope = %s\nobjects = %" PRIu64 "\n"
                 "skipped = %" PRIu64 "\ndamaged = %" PRIu64 "\ngaps = %" PRIu64 "\n"
                 "duration_seconds = %.3f\nlast_success_time = %s\n",
                 now, res->damaged ? "damaged" : res->gaps ? "gap" : "sound",
                 o->backup_id ? "backup" : o->since && sample ? "since+sample" :
                 o->since ? "since" : sample ? "sample" : "all",
                 res->objects, res->skipped, res->damaged, res->gaps, res->seconds, last_text);
    repo_put_init(&p, NULL);
    p.mode = REPO_REPLACE;
    if (repo_put_buffer(repo, OPS_METRICS_VERIFY_KEY, &p, text, (size_t) n, NULL, &e) < 0)
        log_warning("could not record the result in \"%s\": %s", OPS_METRICS_VERIFY_KEY, e.msg);
}

int
ops_verify_run(const struct cfg *cfg, const struct ops_verify_options *o, FILE *out,
               struct ops_verify_result *res, struct ws_err *err)
{
    struct repo *repo = NULL;
    struct ops_view v;
    int         rc = -1;

    memset(&v, 0, sizeof(v));
    if (repo_open(cfg, NULL, &repo, err) < 0)
        return -1;
    if (ops_view_load(repo, &v, err) == 0)
    {
        ops_list_retention(cfg, &v, clock_wall_us());
        rc = ops_verify_view(repo, &v, o, out, res, err);
    }
    if (rc == 0 && o->record)
        record_result(repo, o, res);
    ops_view_free(&v);
    repo_close(repo);
    return rc;
}
