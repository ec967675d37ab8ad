/*
 * ops_list.c — the repository as `walship list` shows it.  See ops_list.h.
 */
#include "ops_list.h"
#include "clock.h"
#include "ops_expire.h"
#include "retention.h"
#include "archive.h"

#include "backup_time.h"
#include "catalog.h"
#include "log.h"
#include "pg.h"
#include "wal.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* ---- the view ----------------------------------------------------------- */

struct load
{
    struct ops_view *v;
    size_t      cap_ranges;
    size_t      cap_files;
};

static int
on_wal(const struct catalog_wal_item *it, void *arg, struct ws_err *err)
{
    struct load *l = arg;
    struct ops_view *v = l->v;

    if (it->kind == CATALOG_WAL_SEGMENTS)
    {
        if (v->nranges == l->cap_ranges)
        {
            size_t      cap = l->cap_ranges ? 2 * l->cap_ranges : 16;
            struct ops_range *p = realloc(v->ranges, cap * sizeof(*p));

            if (p == NULL)
                return err_set(err, WS_EINTERNAL, "out of memory");
            v->ranges = p;
            l->cap_ranges = cap;
        }
        v->ranges[v->nranges++] = (struct ops_range) {
            .timeline = it->timeline, .first = it->first, .last = it->last, .stored = it->bytes
        };
        return 0;
    }
    if (v->nfiles == l->cap_files)
    {
        size_t      cap = l->cap_files ? 2 * l->cap_files : 16;
        struct ops_wal_file *p = realloc(v->files, cap * sizeof(*p));

        if (p == NULL)
            return err_set(err, WS_EINTERNAL, "out of memory");
        v->files = p;
        l->cap_files = cap;
    }
    v->files[v->nfiles].key = strdup(it->key);
    if (v->files[v->nfiles].key == NULL)
        return err_set(err, WS_EINTERNAL, "out of memory");
    v->files[v->nfiles].kind = (int) it->kind;
    v->files[v->nfiles].timeline = it->timeline;
    v->nfiles++;
    return 0;
}

/* Markers of dropped segments (archive.h, docs/walship-archive.md): collect their names. */
struct dropped_load
{
    struct ops_range *seg;          /* one per marker first, merged into ranges after */
    size_t      n;
    size_t      cap;
    uint32_t    seg_size;
};

static int
on_dropped(const char *key, const struct repo_stat *st, void *arg, struct ws_err *err)
{
    struct dropped_load *d = arg;
    struct wal_name wn;

    (void) st;
    if (wal_parse(key + strlen(ARCHIVE_DROPPED_PREFIX), d->seg_size, &wn) < 0 ||
        wn.kind != WAL_KIND_SEGMENT)
        return 0;               /* not a marker walship writes */
    if (d->n == d->cap)
    {
        size_t      cap = d->cap ? 2 * d->cap : 16;
        struct ops_range *p = realloc(d->seg, cap * sizeof(*p));

        if (p == NULL)
            return err_set(err, WS_EINTERNAL, "out of memory");
        d->seg = p;
        d->cap = cap;
    }
    d->seg[d->n].timeline = wn.timeline;
    d->seg[d->n].first = d->seg[d->n].last = wal_segno(&wn, d->seg_size);
    d->seg[d->n].stored = 0;
    d->n++;
    return 0;
}

static int
range_cmp(const void *a, const void *b)
{
    const struct ops_range *x = a, *y = b;

    if (x->timeline != y->timeline)
        return x->timeline < y->timeline ? -1 : 1;
    return x->first < y->first ? -1 : x->first > y->first;
}

static int
load_dropped(struct repo *repo, struct ops_view *v, struct ws_err *err)
{
    struct dropped_load d = {.seg_size = v->seg_size};
    size_t      n = 0;

    if (repo_list(repo, ARCHIVE_DROPPED_PREFIX, on_dropped, &d, err) < 0)
    {
        free(d.seg);
        return -1;
    }
    if (d.n > 1)
        qsort(d.seg, d.n, sizeof(*d.seg), range_cmp);
    for (size_t i = 0; i < d.n; i++)
    {
        if (n > 0 && d.seg[n - 1].timeline == d.seg[i].timeline &&
            d.seg[n - 1].last + 1 >= d.seg[i].first)
        {
            if (d.seg[i].last > d.seg[n - 1].last)
                d.seg[n - 1].last = d.seg[i].last;
            continue;
        }
        d.seg[n++] = d.seg[i];
    }
    v->dropped = d.seg;
    v->ndropped = n;
    return 0;
}

int
ops_view_load(struct repo *repo, struct ops_view *v, struct ws_err *err)
{
    struct load l = {.v = v};

    memset(v, 0, sizeof(*v));
    v->seg_size = repo_wal_segment_size(repo);
    v->system_identifier = repo_system_identifier(repo);
    v->location = strdup(repo_location(repo));
    if (v->location == NULL)
        return err_set(err, WS_EINTERNAL, "out of memory");
    if (catalog_backups(repo, &v->backups, &v->nbackups, err) < 0)
        return -1;
    if (catalog_dumps(repo, &v->dumps, &v->ndumps, err) < 0)
        return -1;
    if (load_dropped(repo, v, err) < 0)
        return -1;
    return catalog_wal(repo, on_wal, &l, NULL, err);
}

void
ops_view_free(struct ops_view *v)
{
    catalog_backups_free(v->backups, v->nbackups);
    catalog_dumps_free(v->dumps);
    for (size_t i = 0; i < v->nfiles; i++)
        free(v->files[i].key);
    free(v->files);
    free(v->ranges);
    free(v->dropped);
    free(v->location);
    free(v->kept_by);
    memset(v, 0, sizeof(*v));
}

/* ---- windows and gaps --------------------------------------------------- */

const struct ops_range *
ops_range_find(const struct ops_view *v, uint32_t tl, uint64_t segno)
{
    for (size_t i = 0; i < v->nranges; i++)
        if (v->ranges[i].timeline == tl && v->ranges[i].first <= segno &&
            segno <= v->ranges[i].last)
            return &v->ranges[i];
    return NULL;
}

int
ops_view_drop_segment(struct ops_view *v, uint32_t tl, uint64_t segno, struct ws_err *err)
{
    for (size_t i = 0; i < v->nranges; i++)
    {
        struct ops_range *r = &v->ranges[i];

        if (r->timeline != tl || segno < r->first || segno > r->last)
            continue;
        if (r->first == r->last)
        {
            memmove(r, r + 1, (v->nranges - i - 1) * sizeof(*r));
            v->nranges--;
        }
        else if (segno == r->first)
            r->first++;
        else if (segno == r->last)
            r->last--;
        else
        {
            struct ops_range *p = realloc(v->ranges, (v->nranges + 1) * sizeof(*p));

            if (p == NULL)
                return err_set(err, WS_EINTERNAL, "out of memory");
            v->ranges = p;
            r = &p[i];
            memmove(r + 1, r, (v->nranges - i) * sizeof(*r));
            v->nranges++;
            r[0].last = segno - 1;
            r[1].first = segno + 1;
        }
        return 0;
    }
    return 0;
}

bool
ops_segment_of(const struct ops_view *v, const char *name, uint32_t *tl, uint64_t *segno)
{
    struct wal_name w;

    if (wal_parse(name, v->seg_size, &w) < 0 || w.kind != WAL_KIND_SEGMENT)
        return false;
    *tl = w.timeline;
    *segno = wal_segno(&w, v->seg_size);
    return true;
}

bool
ops_window_of(const struct ops_view *v, const struct backup_info *b, struct ops_window *w)
{
    uint32_t    stl, tl;
    uint64_t    sseg, eseg;
    const struct ops_range *r;

    if (!b->complete || b->unreadable || !ops_segment_of(v, b->start_wal, &stl, &sseg) ||
        !ops_segment_of(v, b->stop_wal, &tl, &eseg) || (stl == tl && sseg > eseg))
        return false;
    r = ops_range_find(v, tl, eseg);
    if (r == NULL)
        return false;
    if (stl == tl ? r->first > sseg : ops_range_find(v, stl, sseg) == NULL)
        return false;
    w->timeline = tl;
    w->backup = b;
    w->start_lsn = b->stop_lsn;
    w->start_time_us = b->stop_time_us;
    w->end_segment = r->last;
    w->end_lsn = (r->last + 1) * (uint64_t) (v->seg_size ? v->seg_size : WAL_SEG_SIZE_DEFAULT);
    return true;
}

size_t
ops_gaps(const struct ops_view *v, uint32_t tl, uint64_t from, uint64_t at_least,
         void (*cb) (const struct ops_gap *g, void *arg), void *arg)
{
    uint64_t    cursor = from;
    size_t      n = 0;

    for (size_t i = 0; i < v->nranges; i++)
    {
        const struct ops_range *r = &v->ranges[i];

        if (r->timeline != tl || r->last < cursor)
            continue;
        if (r->first > cursor)
        {
            struct ops_gap g = {tl, cursor, r->first - 1};

            if (cb)
                cb(&g, arg);
            n++;
        }
        cursor = r->last + 1;
    }
    if (at_least != 0 && at_least >= cursor)
    {
        struct ops_gap g = {tl, cursor, at_least};

        if (cb)
            cb(&g, arg);
        n++;
    }
    return n;
}

/* ---- printing ------------------------------------------------------------ */

void
ops_json_string(FILE *out, const char *s)
{
    fputc('"', out);
    for (const unsigned char *c = (const unsigned char *) s; *c; c++)
    {
        if (*c == '"' || *c == '\\')
            fprintf(out, "\\%c", *c);
        else if (*c < 0x20)
            fprintf(out, "\\u%04x", *c);
        else
            fputc(*c, out);
    }
    fputc('"', out);
}

static const char *
status_of(const struct backup_info *b)
{
    return b->unreadable ? "damaged" : b->complete ? "complete" : "incomplete";
}

void
ops_segment_name(const struct ops_view *v, uint32_t tl, uint64_t segno, char *buf)
{
    wal_segment_name(buf, WAL_NAME_MAX + 1, tl, segno, v->seg_size);
}

static void
json_time(FILE *out, int64_t us)
{
    char        t[64];

    backup_time_format(us, t, sizeof(t));
    ops_json_string(out, t);
}

static void
json_lsn(FILE *out, uint64_t lsn)
{
    char        l[PG_LSN_LEN];

    pg_lsn_format(lsn, l, sizeof(l));
    ops_json_string(out, l);
}

struct gap_print
{
    const struct ops_view *v;
    FILE       *out;
    bool        json;
    int         n;
};

static void
print_gap(const struct ops_gap *g, void *arg)
{
    struct gap_print *p = arg;
    char        a[WAL_NAME_MAX + 1], b[WAL_NAME_MAX + 1];

    ops_segment_name(p->v, g->timeline, g->first, a);
    ops_segment_name(p->v, g->timeline, g->last, b);
    if (p->json)
        fprintf(p->out, "%s\n        {\"first\": \"%s\", \"last\": \"%s\", \"segments\": %"
                PRIu64 "}", p->n ? "," : "", a, b, g->last - g->first + 1);
    else
        fprintf(p->out, "  %-8u %-24s %-24s %10" PRIu64 "  missing\n", g->timeline, a, b,
                g->last - g->first + 1);
    p->n++;
}

/* The timelines of the ranges, in order, one call each. */
static size_t
next_timeline(const struct ops_view *v, size_t i)
{
    uint32_t    tl = v->ranges[i].timeline;

    while (i < v->nranges && v->ranges[i].timeline == tl)
        i++;
    return i;
}

/*
 * The logical dumps with a descriptor (ops_dump.h): text after the
 * windows, JSON the "dumps" array after "windows".
 */
static void
print_dumps(const struct ops_view *v, bool json, FILE *out)
{
    int         n = 0;

    if (json)
        fprintf(out, ",\n  \"dumps\": [");
    else
        fprintf(out, "\nDUMPS\n  %-32s %-29s %14s %14s %-8s %s\n", "NAME", "START_TIME", "SIZE",
                "STORED", "FORMAT", "DATABASE");
    for (int i = 0; i < v->ndumps; i++)
    {
        const struct dump_info *d = &v->dumps[i].info;
        char        t[64], e[64];

        if (!v->dumps[i].complete)
            continue;
        backup_time_format(d->start_time_us, t, sizeof(t));
        backup_time_format(d->end_time_us, e, sizeof(e));
        if (json)
        {
            fprintf(out, "%s\n    {\"name\": ", n ? "," : "");
            ops_json_string(out, d->name);
            fprintf(out, ", \"start_time\": ");
            ops_json_string(out, t);
            fprintf(out, ", \"end_time\": ");
            ops_json_string(out, e);
            fprintf(out, ", \"size\": %" PRIu64 ", \"stored\": %" PRIu64 ", \"sha256\": \"%s\""
                    ", \"pg_dump_format\": \"%s\", \"database\": ", d->size, d->stored,
                    d->sha256, d->pg_dump_format);
            ops_json_string(out, d->database);
            fprintf(out, ", \"system_identifier\": ");
            if (d->system_identifier != 0)
                fprintf(out, "\"%" PRIu64 "\"}", d->system_identifier);
            else
                fprintf(out, "null}");
        }
        else
        {
            t[10] = 'T';
            fprintf(out, "  %-32s %-29s %14" PRIu64 " %14" PRIu64 " %-8s %s\n", d->name, t,
                    d->size, d->stored, d->pg_dump_format, d->database[0] ? d->database : "-");
        }
        n++;
    }
    if (json)
        fprintf(out, "%s]", n ? "\n  " : "");
    else if (n == 0)
        fprintf(out, "  (none)\n");
}

static void
print_json(const struct ops_view *v, FILE *out)
{
    int         nw = 0;

    fprintf(out, "{\n  \"schema_version\": %d,\n  \"repository\": ", OPS_LIST_SCHEMA_VERSION);
    ops_json_string(out, v->location ? v->location : "");
    fprintf(out, ",\n  \"system_identifier\": \"%" PRIu64 "\",\n  \"wal_segment_size\": %u,\n"
            "  \"backups\": [", v->system_identifier, v->seg_size);
    for (int i = 0; i < v->nbackups; i++)
    {
        const struct backup_info *b = &v->backups[i];

        fprintf(out, "%s\n    {\"id\": \"%s\", \"status\": \"%s\"", i ? "," : "", b->id,
                status_of(b));
        if (b->complete && !b->unreadable)
        {
            fprintf(out, ", \"label\": ");
            ops_json_string(out, b->label);
            fprintf(out, ", \"timeline\": %u, \"start_timeline\": %u, \"start_time\": ",
                    b->timeline, b->start_timeline);
            json_time(out, b->start_time_us);
            fprintf(out, ", \"stop_time\": ");
            json_time(out, b->stop_time_us);
            fprintf(out, ", \"start_lsn\": ");
            json_lsn(out, b->start_lsn);
            fprintf(out, ", \"stop_lsn\": ");
            json_lsn(out, b->stop_lsn);
            fprintf(out, ", \"start_wal\": \"%s\", \"stop_wal\": \"%s\", \"size\": %" PRIu64
                    ", \"stored\": %" PRIu64 ", \"objects\": %d, \"tablespaces\": [",
                    b->start_wal, b->stop_wal, b->size, b->stored, b->nobjects);
            for (int t = 0; t < b->ntablespaces; t++)
            {
                fprintf(out, "%s{\"oid\": %u, \"location\": ", t ? ", " : "",
                        b->tablespaces[t].oid);
                ops_json_string(out, b->tablespaces[t].location);
                fputc('}', out);
            }
            fputc(']', out);
        }
        fprintf(out, ", \"kept_by\": [");
        for (int t = 0, k = 0; v->kept_by != NULL && (1u << t) <= RETENTION_DAMAGED; t++)
            if (v->kept_by[i] & (1u << t))
            {
                char        name[32];

                fprintf(out, "%s\"%s\"", k++ ? ", " : "",
                        retention_tiers_format(1u << t, name, sizeof(name)));
            }
        fputs("]}", out);
    }
    fprintf(out, "%s],\n  \"retention\": ", v->nbackups ? "\n  " : "");
    ops_json_string(out, v->kept_by != NULL ? "" : v->retention);
    fprintf(out, ",\n  \"wal\": [");
    for (size_t i = 0, end; i < v->nranges; i = end)
    {
        uint32_t    tl = v->ranges[i].timeline;
        struct gap_print gp = {v, out, true, 0};

        end = next_timeline(v, i);
        fprintf(out, "%s\n    {\"timeline\": %u,\n      \"ranges\": [", i ? "," : "", tl);
        for (size_t r = i; r < end; r++)
        {
            char        a[WAL_NAME_MAX + 1], b[WAL_NAME_MAX + 1];

            ops_segment_name(v, tl, v->ranges[r].first, a);
            ops_segment_name(v, tl, v->ranges[r].last, b);
            fprintf(out, "%s\n        {\"first\": \"%s\", \"last\": \"%s\", \"segments\": %" PRIu64
                    ", \"stored\": %" PRIu64 "}", r > i ? "," : "", a, b,
                    v->ranges[r].last - v->ranges[r].first + 1, v->ranges[r].stored);
        }
        fprintf(out, "],\n      \"gaps\": [");
        ops_gaps(v, tl, v->ranges[i].first, 0, print_gap, &gp);
        fprintf(out, "]}");
    }
    fprintf(out, "%s],\n  \"files\": [", v->nranges ? "\n  " : "");
    for (size_t i = 0; i < v->nfiles; i++)
    {
        static const char *const kinds[] = {"segment", "history", "backup", "partial", "other"};

        fprintf(out, "%s\n    {\"kind\": \"%s\", \"timeline\": %u, \"key\": ", i ? "," : "",
                kinds[v->files[i].kind], v->files[i].timeline);
        ops_json_string(out, v->files[i].key);
        fputc('}', out);
    }
    fprintf(out, "%s],\n  \"dropped\": [", v->nfiles ? "\n  " : "");
    for (size_t i = 0; i < v->ndropped; i++)
    {
        char        a[WAL_NAME_MAX + 1], b[WAL_NAME_MAX + 1];

        ops_segment_name(v, v->dropped[i].timeline, v->dropped[i].first, a);
        ops_segment_name(v, v->dropped[i].timeline, v->dropped[i].last, b);
        fprintf(out, "%s\n    {\"timeline\": %u, \"first\": \"%s\", \"last\": \"%s\", "
                "\"segments\": %" PRIu64 "}", i ? "," : "", v->dropped[i].timeline, a, b,
                v->dropped[i].last - v->dropped[i].first + 1);
    }
    fprintf(out, "%s],\n  \"windows\": [", v->ndropped ? "\n  " : "");
    for (int i = 0; i < v->nbackups; i++)
    {
        struct ops_window w;
        char        e[WAL_NAME_MAX + 1];

        if (!ops_window_of(v, &v->backups[i], &w))
            continue;
        ops_segment_name(v, w.timeline, w.end_segment, e);
        fprintf(out, "%s\n    {\"timeline\": %u, \"backup\": \"%s\", \"start_time\": ",
                nw ? "," : "", w.timeline, w.backup->id);
        json_time(out, w.start_time_us);
        fprintf(out, ", \"start_lsn\": ");
        json_lsn(out, w.start_lsn);
        fprintf(out, ", \"end_lsn\": ");
        json_lsn(out, w.end_lsn);
        fprintf(out, ", \"end_wal\": \"%s\"}", e);
        nw++;
    }
    fprintf(out, "%s]", nw ? "\n  " : "");
    print_dumps(v, true, out);
    fprintf(out, "\n}\n");
}

static void
print_text(const struct ops_view *v, FILE *out)
{
    fprintf(out, "BACKUPS\n  %-17s %-10s %-8s %-29s %-29s %-17s %-17s %14s %14s  %-20s %s\n",
            "ID", "STATUS", "TIMELINE", "START_TIME", "STOP_TIME", "START_LSN", "STOP_LSN", "SIZE",
            "STORED", "KEPT_BY", "LABEL");
    for (int i = 0; i < v->nbackups; i++)
    {
        const struct backup_info *b = &v->backups[i];
        char        st[64], sp[64], l1[PG_LSN_LEN], l2[PG_LSN_LEN], kb[128];

        retention_tiers_format(v->kept_by != NULL ? v->kept_by[i] : 0, kb, sizeof(kb));
        if (!b->complete || b->unreadable)
        {
            fprintf(out, "  %-17s %-10s %-8s %-29s %-29s %-17s %-17s %14s %14s  %-20s %s\n",
                    b->id, status_of(b), "-", "-", "-", "-", "-", "-", "-", kb, "-");
            continue;
        }
        backup_time_format(b->start_time_us, st, sizeof(st));
        backup_time_format(b->stop_time_us, sp, sizeof(sp));
        st[10] = 'T';           /* one word per column */
        sp[10] = 'T';
        pg_lsn_format(b->start_lsn, l1, sizeof(l1));
        pg_lsn_format(b->stop_lsn, l2, sizeof(l2));
        fprintf(out, "  %-17s %-10s %-8u %-29s %-29s %-17s %-17s %14" PRIu64 " %14" PRIu64
                "  %-20s %s\n", b->id, status_of(b), b->timeline, st, sp, l1, l2, b->size,
                b->stored, kb, b->label);
    }
    if (v->nbackups == 0)
        fprintf(out, "  (none)\n");
    else if (v->kept_by == NULL && v->retention[0] != '\0')
        fprintf(out, "  (KEPT_BY: %s)\n", v->retention);

    fprintf(out, "\nWAL\n  %-8s %-24s %-24s %10s  %s\n", "TIMELINE", "FIRST", "LAST", "SEGMENTS",
            "");
    for (size_t i = 0, end; i < v->nranges; i = end)
    {
        uint32_t    tl = v->ranges[i].timeline;
        struct gap_print gp = {v, out, false, 0};

        end = next_timeline(v, i);
        for (size_t r = i; r < end; r++)
        {
            char        a[WAL_NAME_MAX + 1], b[WAL_NAME_MAX + 1];

            /* ranges are maximal: between two of a timeline lies a gap */
            if (r > i)
                print_gap(&(struct ops_gap) {tl, v->ranges[r - 1].last + 1,
                                             v->ranges[r].first - 1}, &gp);
            ops_segment_name(v, tl, v->ranges[r].first, a);
            ops_segment_name(v, tl, v->ranges[r].last, b);
            fprintf(out, "  %-8u %-24s %-24s %10" PRIu64 "  archived\n", tl, a, b,
                    v->ranges[r].last - v->ranges[r].first + 1);
        }
    }
    if (v->nranges == 0)
        fprintf(out, "  (none)\n");
    for (size_t i = 0; i < v->nfiles; i++)
        if (v->files[i].kind == CATALOG_WAL_HISTORY)
            fprintf(out, "  %-8u history: %s\n", v->files[i].timeline, v->files[i].key);
    for (size_t i = 0; i < v->nfiles; i++)
        if (v->files[i].kind == CATALOG_WAL_OTHER)
            fprintf(out, "  not WAL: %s\n", v->files[i].key);
    ops_list_print_dropped(v, out);

    fputc('\n', out);
    ops_list_print_windows(v, out);
    print_dumps(v, false, out);
}

void
ops_list_print_dropped(const struct ops_view *v, FILE *out)
{
    for (size_t i = 0; i < v->ndropped; i++)
    {
        char        a[WAL_NAME_MAX + 1], b[WAL_NAME_MAX + 1];

        ops_segment_name(v, v->dropped[i].timeline, v->dropped[i].first, a);
        ops_segment_name(v, v->dropped[i].timeline, v->dropped[i].last, b);
        fprintf(out, "  %-8u %-24s %-24s %10" PRIu64 "  dropped by archive_queue_max: no recovery across it\n",
                v->dropped[i].timeline, a, b, v->dropped[i].last - v->dropped[i].first + 1);
    }
}

int
ops_list_print_windows(const struct ops_view *v, FILE *out)
{
    int         nw = 0;

    fprintf(out, "RECOVERABLE WINDOWS\n  %-8s %-17s %-29s %-17s %-17s %s\n", "TIMELINE",
            "BACKUP", "FROM_TIME", "FROM_LSN", "TO_LSN", "TO_WAL");
    for (int i = 0; i < v->nbackups; i++)
    {
        struct ops_window w;
        char        t[64], l1[PG_LSN_LEN], l2[PG_LSN_LEN], e[WAL_NAME_MAX + 1];

        if (!ops_window_of(v, &v->backups[i], &w))
            continue;
        backup_time_format(w.start_time_us, t, sizeof(t));
        t[10] = 'T';
        pg_lsn_format(w.start_lsn, l1, sizeof(l1));
        pg_lsn_format(w.end_lsn, l2, sizeof(l2));
        ops_segment_name(v, w.timeline, w.end_segment, e);
        fprintf(out, "  %-8u %-17s %-29s %-17s %-17s %s\n", w.timeline, w.backup->id, t, l1, l2,
                e);
        nw++;
    }
    if (nw == 0)
        fprintf(out, "  (none: no complete backup with its WAL archived)\n");
    return nw;
}

void
ops_list_retention(const struct cfg *cfg, struct ops_view *v, int64_t now_us)
{
    struct retention_policy pol;
    struct retention_item *items = NULL;
    struct retention_verdict *verdicts = NULL;
    struct retention_plan plan;
    struct ws_err e = WS_ERR_INIT;

    free(v->kept_by);
    v->kept_by = NULL;
    ops_expire_policy(cfg, &pol);
    if (!retention_policy_set(&pol))
    {
        snprintf(v->retention, sizeof(v->retention), "no retention policy (retain_*) is set");
        return;
    }
    items = calloc((size_t) v->nbackups + 1, sizeof(*items));
    verdicts = calloc((size_t) v->nbackups + 1, sizeof(*verdicts));
    v->kept_by = calloc((size_t) v->nbackups + 1, sizeof(*v->kept_by));
    if (items == NULL || verdicts == NULL || v->kept_by == NULL)
    {
        snprintf(v->retention, sizeof(v->retention), "out of memory");
        goto fail;
    }
    /* incomplete backups: their activity is not looked up here, so no "grace" */
    for (int i = 0; i < v->nbackups; i++)
        ops_expire_item(&v->backups[i], v->seg_size, 0, false, &items[i]);
    if (retention_plan(&pol, items, (size_t) v->nbackups, now_us, verdicts, &plan, &e) < 0)
    {
        snprintf(v->retention, sizeof(v->retention), "%s", e.msg);
        goto fail;
    }
    for (int i = 0; i < v->nbackups; i++)
        v->kept_by[i] = verdicts[i].tiers & ~(unsigned) RETENTION_GRACE;
    v->retention[0] = '\0';
    free(items);
    free(verdicts);
    return;
fail:
    free(v->kept_by);
    v->kept_by = NULL;
    free(items);
    free(verdicts);
}

void
ops_list_print(const struct ops_view *v, bool json, FILE *out)
{
    if (json)
        print_json(v, out);
    else
        print_text(v, out);
}

int
ops_list_run(const struct cfg *cfg, bool json, FILE *out, struct ws_err *err)
{
    struct repo *repo = NULL;
    struct ops_view v;
    int         rc = -1;

    memset(&v, 0, sizeof(v));
    if (repo_open(cfg, NULL, &repo, err) < 0)
        return -1;
    if (ops_view_load(repo, &v, err) < 0)
        goto out;
    ops_list_retention(cfg, &v, clock_wall_us());
    ops_list_print(&v, json, out);
    rc = 0;
out:
    ops_view_free(&v);
    repo_close(repo);
    return rc;
}
