/*
 * ops_metrics.c — `walship metrics`.  See ops_metrics.h.
 */
#include "ops_metrics.h"

#include "backup_record.h"
#include "catalog.h"
#include "fileutil.h"
#include "kv.h"
#include "log.h"
#include "num.h"
#include "ops_list.h"
#include "wal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- the exposition writer ------------------------------------------------ */

struct ops_metrics
{
    char       *text;
    size_t      len, cap;
    char      **families;           /* names given */
    size_t      nfamilies;
    char      **series;             /* the current family's rendered label sets */
    size_t      nseries;
    bool        failed;             /* out of memory: every later call fails */
};

static int
oom(struct ops_metrics *m, struct ws_err *err)
{
    m->failed = true;
    return err_set(err, WS_EINTERNAL, "out of memory");
}

/* Append n bytes; -1 on out of memory (m->failed). */
static int
put(struct ops_metrics *m, const char *s, size_t n)
{
    if (m->failed)
        return -1;
    if (m->len + n + 1 > m->cap)
    {
        size_t      cap = m->cap ? m->cap : 4096;
        char       *p;

        while (m->len + n + 1 > cap)
            cap *= 2;
        if ((p = realloc(m->text, cap)) == NULL)
        {
            m->failed = true;
            return -1;
        }
        m->text = p;
        m->cap = cap;
    }
    memcpy(m->text + m->len, s, n);
    m->len += n;
    m->text[m->len] = '\0';
    return 0;
}

static int
puts_(struct ops_metrics *m, const char *s)
{
    return put(m, s, strlen(s));
}

/* s escaped: backslash and newline, and with quote also the double quote. */
static int
put_escaped(struct ops_metrics *m, const char *s, bool quote)
{
    for (; *s; s++)
    {
        int         rc;

        if (*s == '\\')
            rc = put(m, "\\\\", 2);
        else if (*s == '\n')
            rc = put(m, "\\n", 2);
        else if (*s == '"' && quote)
            rc = put(m, "\\\"", 2);
        else
            rc = put(m, s, 1);
        if (rc < 0)
            return -1;
    }
    return 0;
}

static bool
valid_name(const char *s, bool colon)
{
    if (s == NULL || *s == '\0')
        return false;
    for (const char *p = s; *p; p++)
    {
        bool        alpha = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_' ||
            (colon && *p == ':');

        if (!alpha && !(p > s && *p >= '0' && *p <= '9'))
            return false;
    }
    return true;
}

struct ops_metrics *
ops_metrics_new(struct ws_err *err)
{
    struct ops_metrics *m = calloc(1, sizeof(*m));

    if (m == NULL)
        err_set(err, WS_EINTERNAL, "out of memory");
    return m;
}

static void
series_clear(struct ops_metrics *m)
{
    for (size_t i = 0; i < m->nseries; i++)
        free(m->series[i]);
    free(m->series);
    m->series = NULL;
    m->nseries = 0;
}

void
ops_metrics_free(struct ops_metrics *m)
{
    if (m == NULL)
        return;
    series_clear(m);
    for (size_t i = 0; i < m->nfamilies; i++)
        free(m->families[i]);
    free(m->families);
    free(m->text);
    free(m);
}

int
ops_metrics_family(struct ops_metrics *m, const char *name, const char *type, const char *help,
                   struct ws_err *err)
{
    char      **p;

    if (m->failed)
        return err_set(err, WS_EINTERNAL, "out of memory");
    if (!valid_name(name, true))
        return err_set(err, WS_EINTERNAL, "\"%s\" is no Prometheus metric name",
                       name ? name : "");
    if (strcmp(type, "counter") != 0 && strcmp(type, "gauge") != 0 &&
        strcmp(type, "untyped") != 0)
        return err_set(err, WS_EINTERNAL, "metric %s: unknown type \"%s\"", name, type);
    for (size_t i = 0; i < m->nfamilies; i++)
        if (strcmp(m->families[i], name) == 0)
            return err_set(err, WS_EINTERNAL, "metric %s given twice", name);
    if ((p = realloc(m->families, (m->nfamilies + 1) * sizeof(*p))) == NULL)
        return oom(m, err);
    m->families = p;
    if ((m->families[m->nfamilies] = strdup(name)) == NULL)
        return oom(m, err);
    m->nfamilies++;
    series_clear(m);
    if (puts_(m, "# HELP ") < 0 || puts_(m, name) < 0 || put(m, " ", 1) < 0 ||
        put_escaped(m, help, false) < 0 || puts_(m, "\n# TYPE ") < 0 || puts_(m, name) < 0 ||
        put(m, " ", 1) < 0 || puts_(m, type) < 0 || put(m, "\n", 1) < 0)
        return oom(m, err);
    return 0;
}

/* A value as the format writes it: integers exactly, NaN, +Inf, -Inf. */
static void
format_value(double v, char *buf, size_t len)
{
    if (isnan(v))
        snprintf(buf, len, "NaN");
    else if (isinf(v))
        snprintf(buf, len, "%sInf", v > 0 ? "+" : "-");
    else if (v > -9007199254740992.0 && v < 9007199254740992.0 && v == (double) (int64_t) v)
        snprintf(buf, len, "%.0f", v);
    else
        snprintf(buf, len, "%.17g", v);
}

int
ops_metrics_sample(struct ops_metrics *m, const char *const *labels, int nlabels, double value,
                   struct ws_err *err)
{
    const char *family;
    size_t      start;
    char       *set, **p;
    char        num[64];

    if (m->failed)
        return err_set(err, WS_EINTERNAL, "out of memory");
    if (m->nfamilies == 0)
        return err_set(err, WS_EINTERNAL, "a sample before any metric family");
    family = m->families[m->nfamilies - 1];
    for (int i = 0; i < nlabels; i++)
    {
        const char *ln = labels[2 * i];

        if (!valid_name(ln, false) || strncmp(ln, "__", 2) == 0)
            return err_set(err, WS_EINTERNAL, "metric %s: \"%s\" is no label name", family,
                           ln ? ln : "");
        if (labels[2 * i + 1] == NULL)
            return err_set(err, WS_EINTERNAL, "metric %s: label %s has no value", family, ln);
        for (int k = 0; k < i; k++)
            if (strcmp(labels[2 * k], ln) == 0)
                return err_set(err, WS_EINTERNAL, "metric %s: label %s given twice", family,
                               ln);
    }
    /* render the label set where it will stand, then compare it with the others */
    if (puts_(m, family) < 0)
        return oom(m, err);
    start = m->len;
    for (int i = 0; i < nlabels; i++)
        if (put(m, i == 0 ? "{" : ",", 1) < 0 || puts_(m, labels[2 * i]) < 0 ||
            put(m, "=\"", 2) < 0 || put_escaped(m, labels[2 * i + 1], true) < 0 ||
            put(m, "\"", 1) < 0)
            return oom(m, err);
    if (nlabels > 0 && put(m, "}", 1) < 0)
        return oom(m, err);
    if ((set = strndup(m->text + start, m->len - start)) == NULL)
        return oom(m, err);
    for (size_t i = 0; i < m->nseries; i++)
        if (strcmp(m->series[i], set) == 0)
        {
            m->len = start - strlen(family);
            m->text[m->len] = '\0';
            err_set(err, WS_EINTERNAL, "metric %s: series %s given twice", family,
                    set[0] ? set : "{}");
            free(set);
            return -1;
        }
    if ((p = realloc(m->series, (m->nseries + 1) * sizeof(*p))) == NULL)
    {
        free(set);
        return oom(m, err);
    }
    m->series = p;
    m->series[m->nseries++] = set;
    format_value(value, num, sizeof(num));
    if (put(m, " ", 1) < 0 || puts_(m, num) < 0 || put(m, "\n", 1) < 0)
        return oom(m, err);
    return 0;
}

const char *
ops_metrics_text(struct ops_metrics *m, size_t *len)
{
    if (len != NULL)
        *len = m->len;
    return m->text != NULL ? m->text : "";
}

/* ---- the series ------------------------------------------------------------- */

/* One family with one unlabelled sample. */
static int
one(struct ops_metrics *m, const char *name, const char *type, const char *help, double v,
    struct ws_err *err)
{
    if (ops_metrics_family(m, name, type, help, err) < 0)
        return -1;
    return ops_metrics_sample(m, NULL, 0, v, err);
}

static int
render_state(struct ops_metrics *m, const char *what, const struct ops_metrics_state *s,
             bool verify, struct ws_err *err)
{
    char        name[128], help[256];

    if (!s->have)
        return 0;
    snprintf(name, sizeof(name), "walship_%s_last_run_timestamp", what);
    snprintf(help, sizeof(help), "Unix time of the last walship %s.", what);
    if (one(m, name, "gauge", help, (double) s->time, err) < 0)
        return -1;
    snprintf(name, sizeof(name), "walship_%s_last_success", what);
    snprintf(help, sizeof(help), "1 if the last walship %s succeeded%s, else 0.", what,
             verify ? " (result sound)" : "");
    if (one(m, name, "gauge", help, s->success ? 1 : 0, err) < 0)
        return -1;
    snprintf(name, sizeof(name), "walship_%s_last_success_timestamp", what);
    snprintf(help, sizeof(help), "Unix time of the last successful walship %s (0: none).",
             what);
    if (one(m, name, "gauge", help, s->have_last_success ? (double) s->last_success_time : 0,
            err) < 0)
        return -1;
    snprintf(name, sizeof(name), "walship_%s_duration_seconds", what);
    snprintf(help, sizeof(help), "How long the last walship %s took.", what);
    if (one(m, name, "gauge", help, s->duration_seconds, err) < 0)
        return -1;
    if (!verify)
        return 0;
    if (one(m, "walship_verify_damaged_objects", "gauge",
            "Objects the last walship verify found damaged or missing.", (double) s->damaged,
            err) < 0 ||
        one(m, "walship_verify_gaps", "gauge",
            "Gaps in the archived WAL the last walship verify found.", (double) s->gaps, err) < 0)
        return -1;
    return 0;
}

int
ops_metrics_render(const struct ops_metrics_data *d, struct ops_metrics *m, struct ws_err *err)
{
    char        tl[16];
    const char *labels[2] = {"timeline", tl};
    static const char *const status_names[] = {"complete", "incomplete", "damaged"};
    int         counts[3] = {d->complete, d->incomplete, d->damaged};

    /* the runbook dashboard's names */
    if (one(m, "backup_attempts_total", "counter",
            "walship-basebackup runs started (from state/backup/ in the repository).",
            (double) d->attempts, err) < 0 ||
        one(m, "backup_success_total", "counter",
            "walship-basebackup runs that stored a complete backup.", (double) d->successes,
            err) < 0 ||
        one(m, "backup_size_bytes", "gauge",
            "Plain size of the newest complete backup (0: none).", (double) d->last_size,
            err) < 0 ||
        one(m, "backup_last_success_timestamp", "gauge",
            "Unix time the newest complete backup became complete (0: none).",
            (double) d->last_success, err) < 0)
        return -1;

    if (one(m, "walship_backup_failures_total", "counter",
            "walship-basebackup runs that failed (a killed run is counted in attempts only).",
            (double) d->failures, err) < 0 ||
        one(m, "walship_backup_stored_bytes", "gauge",
            "Stored size of the newest complete backup in the repository (0: none).",
            (double) d->last_stored, err) < 0)
        return -1;
    if (ops_metrics_family(m, "walship_backups", "gauge",
                           "Backups in the repository by status.", err) < 0)
        return -1;
    for (int i = 0; i < 3; i++)
    {
        const char *l[2] = {"status", status_names[i]};

        if (ops_metrics_sample(m, l, 1, counts[i], err) < 0)
            return -1;
    }

    if (one(m, "walship_wal_segments", "gauge", "WAL segments archived in the repository.",
            (double) d->wal_segments, err) < 0 ||
        one(m, "walship_wal_stored_bytes", "gauge",
            "Stored bytes of the archived WAL segments.", (double) d->wal_stored, err) < 0 ||
        one(m, "walship_wal_last_archived_timestamp", "gauge",
            "Unix time the newest archived WAL segment reached the repository (0: none).",
            (double) d->wal_last_time, err) < 0)
        return -1;
    if (one(m, "walship_wal_dropped_segments", "gauge",
            "WAL segments walship-archive dropped over archive_queue_max (markers under dropped/): no recovery across them.",
            (double) d->wal_dropped, err) < 0)
        return -1;
    if (d->wal_last_time > 0 &&
        one(m, "walship_wal_archive_lag_seconds", "gauge",
            "Seconds since the newest archived WAL segment reached the repository.",
            (double) (d->now > d->wal_last_time ? d->now - d->wal_last_time : 0), err) < 0)
        return -1;
    if (one(m, "walship_repository_size_bytes", "gauge",
            "Stored bytes of every object in the repository.", (double) d->bytes, err) < 0 ||
        one(m, "walship_repository_objects", "gauge", "Objects in the repository.",
            (double) d->objects, err) < 0)
        return -1;

    if (d->nwindows > 0)
    {
        if (ops_metrics_family(m, "walship_recovery_window_start_timestamp", "gauge",
                               "Earliest time PITR can reach on the timeline (Unix time).",
                               err) < 0)
            return -1;
        for (int i = 0; i < d->nwindows; i++)
        {
            snprintf(tl, sizeof(tl), "%u", d->windows[i].timeline);
            if (ops_metrics_sample(m, labels, 1, (double) d->windows[i].start, err) < 0)
                return -1;
        }
        if (ops_metrics_family(m, "walship_recovery_window_end_timestamp", "gauge",
                               "Latest time PITR can reach on the timeline (Unix time the "
                               "window's last segment reached the repository).", err) < 0)
            return -1;
        for (int i = 0; i < d->nwindows; i++)
        {
            snprintf(tl, sizeof(tl), "%u", d->windows[i].timeline);
            if (ops_metrics_sample(m, labels, 1, (double) d->windows[i].end, err) < 0)
                return -1;
        }
    }

    if (render_state(m, "verify", &d->verify, true, err) < 0 ||
        render_state(m, "drill", &d->drill, false, err) < 0)
        return -1;
    return one(m, "walship_metrics_timestamp", "gauge",
               "Unix time walship metrics gathered these series.", (double) d->now, err);
}

/* ---- state objects ------------------------------------------------------------ */

static int
parse_time(const char *v, int64_t *out)
{
    return num_parse_int(v, 0, INT64_MAX / 2, out);
}

int
ops_metrics_parse_state(char *text, size_t len, const char *what, struct ops_metrics_state *s,
                        struct ws_err *err)
{
    struct kv_lines it;
    char       *line;
    size_t      n;
    bool        have_time = false, have_result = false;

    memset(s, 0, sizeof(*s));
    kv_lines_init(&it, text, len);
    while ((line = kv_lines_next(&it, &n)) != NULL)
    {
        struct kv_pair kv;
        enum kv_status st = kv_parse(line, KV_BARE_TO_EOL, &kv);
        char        key[64];
        uint64_t    u;

        if (st == KV_EMPTY)
            continue;
        if (st != KV_OK)
            return err_set(err, WS_ECORRUPT, "%s: line %d is no \"key = value\" line", what,
                           it.lineno);
        snprintf(key, sizeof(key), "%.*s", (int) kv.keylen, kv.key);
        if (strcmp(key, "time") == 0)
        {
            if (parse_time(kv.value, &s->time) < 0)
                return err_set(err, WS_ECORRUPT, "%s: invalid time \"%s\"", what, kv.value);
            have_time = true;
        }
        else if (strcmp(key, "result") == 0)
        {
            s->success = strcmp(kv.value, "success") == 0 || strcmp(kv.value, "sound") == 0;
            if (!s->success && strcmp(kv.value, "failure") != 0 &&
                strcmp(kv.value, "damaged") != 0 && strcmp(kv.value, "gap") != 0)
                return err_set(err, WS_ECORRUPT, "%s: invalid result \"%s\"", what, kv.value);
            have_result = true;
        }
        else if (strcmp(key, "duration_seconds") == 0)
        {
            char       *end;

            errno = 0;
            s->duration_seconds = strtod(kv.value, &end);
            if (errno != 0 || end == kv.value || *end != '\0' || !(s->duration_seconds >= 0))
                return err_set(err, WS_ECORRUPT, "%s: invalid duration_seconds \"%s\"", what,
                               kv.value);
        }
        else if (strcmp(key, "last_success_time") == 0)
        {
            if (kv.value[0] == '\0')
                continue;
            if (parse_time(kv.value, &s->last_success_time) < 0)
                return err_set(err, WS_ECORRUPT, "%s: invalid last_success_time \"%s\"", what,
                               kv.value);
            s->have_last_success = true;
        }
        else if (strcmp(key, "damaged") == 0 || strcmp(key, "gaps") == 0)
        {
            if (num_parse_uint(kv.value, 0, UINT64_MAX, &u) < 0)
                return err_set(err, WS_ECORRUPT, "%s: invalid %s \"%s\"", what, key, kv.value);
            if (key[0] == 'd')
                s->damaged = u;
            else
                s->gaps = u;
        }
        /* other keys (step, scope, objects ...) are for people */
    }
    if (!have_time || !have_result)
        return err_set(err, WS_ECORRUPT, "%s: no %s", what, have_time ? "result" : "time");
    if (s->success && (!s->have_last_success || s->last_success_time < s->time))
    {
        s->have_last_success = true;
        s->last_success_time = s->time;
    }
    s->have = true;
    return 0;
}

/*
 * Read a state object: a walship object (authenticated where the
 * repository is encrypted), else the same text stored raw.  Missing is no
 * error (s->have stays false); a damaged one is a warning, the series are
 * left out, and metrics goes on.
 */
static int
read_state(struct repo *repo, const char *key, struct ops_metrics_state *s, struct ws_err *err)
{
    char       *text = NULL;
    size_t      len = 0;
    struct ws_err e = WS_ERR_INIT;
    char        what[128];

    memset(s, 0, sizeof(*s));
    if (repo_get_buffer(repo, key, OPS_METRICS_STATE_MAX, "state object", &text, &len, &e) < 0)
    {
        unsigned char *raw = NULL;

        if (e.code == WS_ENOTFOUND)
            return 0;
        if (e.code != WS_ECORRUPT && e.code != WS_ECONFIG)
        {
            *err = e;
            return -1;
        }
        err_clear(&e);
        if (repo_raw_get(repo, key, OPS_METRICS_STATE_MAX, &raw, &len, &e) < 0)
        {
            if (e.code == WS_ENOTFOUND)
                return 0;
            if (e.code != WS_ECORRUPT)
            {
                *err = e;
                return -1;
            }
            log_warning("state object \"%s\" left out: %s", key, e.msg);
            return 0;
        }
        text = (char *) raw;
    }
    snprintf(what, sizeof(what), "state object \"%s\"", key);
    if (ops_metrics_parse_state(text, len, what, s, &e) < 0)
    {
        log_warning("%s", e.msg);
        memset(s, 0, sizeof(*s));
    }
    free(text);
    return 0;
}

/* ---- gathering -------------------------------------------------------------- */

struct attempt
{
    char        name[BACKUP_RECORD_NAME_MAX];
    int         outcome;            /* enum backup_record_outcome */
};

struct listing
{
    uint64_t    objects, bytes;
    struct attempt *attempts;
    size_t      n, cap;
};

static int
on_key(const char *key, const struct repo_stat *st, void *arg, struct ws_err *err)
{
    struct listing *l = arg;
    struct attempt a;
    enum backup_record_outcome o;

    l->objects++;
    l->bytes += st->size;
    if (strncmp(key, BACKUP_RECORD_PREFIX, strlen(BACKUP_RECORD_PREFIX)) != 0 ||
        !backup_record_parse_key(key, a.name, &o))
        return 0;
    a.outcome = (int) o;
    if (l->n == l->cap)
    {
        size_t      cap = l->cap ? 2 * l->cap : 64;
        struct attempt *p = realloc(l->attempts, cap * sizeof(*p));

        if (p == NULL)
            return err_set(err, WS_EINTERNAL, "out of memory");
        l->attempts = p;
        l->cap = cap;
    }
    l->attempts[l->n++] = a;
    return 0;
}

static int
by_name(const void *a, const void *b)
{
    return strcmp(((const struct attempt *) a)->name, ((const struct attempt *) b)->name);
}

/* The modification time of segment segno of timeline tl; 0 if it cannot be had. */
static int
segment_time(struct repo *repo, const struct ops_view *v, uint32_t tl, uint64_t segno,
             int64_t *t, struct ws_err *err)
{
    char        name[WAL_NAME_MAX + 1], key[REPO_KEY_MAX];
    struct repo_stat st;

    *t = 0;
    ops_segment_name(v, tl, segno, name);
    if (wal_repo_key(name, key, sizeof(key)) < 0)
        return 0;
    if (repo_stat(repo, key, &st, err) < 0)
    {
        if (err->code != WS_ENOTFOUND)
            return -1;
        err_clear(err);     /* expired between the listing and now */
        return 0;
    }
    *t = st.mtime;
    return 0;
}

/*
 * One window per timeline: the run of WAL that ends latest (the one PITR
 * can use now), from the earliest backup whose window ends there.
 */
static int
gather_windows(struct repo *repo, const struct ops_view *v, struct ops_metrics_data *d,
               struct ws_err *err)
{
    for (int i = 0; i < v->nbackups; i++)
    {
        struct ops_window w;
        struct ops_metrics_window *mw = NULL;
        int64_t     start;

        if (!v->backups[i].complete || v->backups[i].unreadable ||
            !ops_window_of(v, &v->backups[i], &w))
            continue;
        start = w.start_time_us / 1000000;
        for (int k = 0; k < d->nwindows; k++)
            if (d->windows[k].timeline == w.timeline)
                mw = &d->windows[k];
        if (mw == NULL)
        {
            struct ops_metrics_window *p = realloc(d->windows,
                                                   (size_t) (d->nwindows + 1) * sizeof(*p));

            if (p == NULL)
                return err_set(err, WS_EINTERNAL, "out of memory");
            d->windows = p;
            mw = &d->windows[d->nwindows++];
            mw->timeline = w.timeline;
            mw->start = start;
            mw->end = (int64_t) w.end_segment;  /* a segment number until below */
            continue;
        }
        if ((int64_t) w.end_segment > mw->end)
        {
            mw->start = start;
            mw->end = (int64_t) w.end_segment;
        }
        else if ((int64_t) w.end_segment == mw->end && start < mw->start)
            mw->start = start;
    }
    for (int k = 0; k < d->nwindows; k++)
        if (segment_time(repo, v, d->windows[k].timeline, (uint64_t) d->windows[k].end,
                         &d->windows[k].end, err) < 0)
            return -1;
    return 0;
}

int
ops_metrics_gather(struct repo *repo, struct ops_metrics_data *d, struct ws_err *err)
{
    struct ops_view v;
    struct listing l;
    const struct backup_info *newest = NULL;
    const struct ops_range *last = NULL;
    int         rc = -1;

    memset(&v, 0, sizeof(v));
    memset(&l, 0, sizeof(l));
    if (ops_view_load(repo, &v, err) < 0)
        goto out;
    for (size_t i = 0; i < v.ndropped; i++)
        d->wal_dropped += v.dropped[i].last - v.dropped[i].first + 1;
    for (int i = 0; i < v.nbackups; i++)
    {
        const struct backup_info *b = &v.backups[i];

        if (b->unreadable)
            d->damaged++;
        else if (!b->complete)
            d->incomplete++;
        else
        {
            d->complete++;
            newest = b;     /* oldest first */
        }
    }
    if (newest != NULL)
    {
        int64_t     t = newest->wal_time_us > 0 ? newest->wal_time_us : newest->stop_time_us;

        d->last_success = t / 1000000;
        d->last_size = newest->size;
        d->last_stored = newest->stored;
    }
    for (size_t i = 0; i < v.nranges; i++)
    {
        d->wal_segments += v.ranges[i].last - v.ranges[i].first + 1;
        d->wal_stored += v.ranges[i].stored;
        /* by timeline, then segment: the last range of the highest timeline is newest */
        last = &v.ranges[i];
    }
    if (last != NULL &&
        segment_time(repo, &v, last->timeline, last->last, &d->wal_last_time, err) < 0)
        goto out;
    if (gather_windows(repo, &v, d, err) < 0)
        goto out;

    if (repo_list(repo, "", on_key, &l, err) < 0)
        goto out;
    d->objects = l.objects;
    d->bytes = l.bytes;
    if (l.n > 0)                /* qsort(NULL, 0) is undefined */
        qsort(l.attempts, l.n, sizeof(*l.attempts), by_name);
    for (size_t i = 0; i < l.n;)
    {
        int         best = l.attempts[i].outcome;
        size_t      k = i + 1;

        for (; k < l.n && strcmp(l.attempts[k].name, l.attempts[i].name) == 0; k++)
            if (l.attempts[k].outcome > best)
                best = l.attempts[k].outcome;
        d->attempts++;
        if (best == BACKUP_RECORD_SUCCESS)
            d->successes++;
        else if (best == BACKUP_RECORD_FAILURE)
            d->failures++;
        i = k;
    }

    if (read_state(repo, OPS_METRICS_VERIFY_KEY, &d->verify, err) < 0 ||
        read_state(repo, OPS_METRICS_DRILL_KEY, &d->drill, err) < 0)
        goto out;
    rc = 0;
out:
    free(l.attempts);
    ops_view_free(&v);
    return rc;
}

void
ops_metrics_data_free(struct ops_metrics_data *d)
{
    free(d->windows);
    d->windows = NULL;
    d->nwindows = 0;
}

/* ---- output ----------------------------------------------------------------- */

/* text to path: a temporary beside it, fsync, rename, fsync the directory. */
static int
write_atomic(const char *path, const char *text, size_t len, struct ws_err *err)
{
    size_t      plen = strlen(path);
    char       *tmp = malloc(plen + 16);
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    int         fd = -1;
    int         rc = -1;

    if (tmp == NULL)
        return err_set(err, WS_EINTERNAL, "out of memory");
    if (*base == '\0')
    {
        err_set(err, WS_ECONFIG, "--output \"%s\" names a directory, not a file", path);
        goto out;
    }
    /*
     * ".<name>.XXXXXX" in the same directory (rename is atomic only within
     * one file system): node_exporter's textfile collector reads only
     * *.prom, so it never sees the half-written file.
     */
    snprintf(tmp, plen + 16, "%.*s.%s.XXXXXX", (int) (base - path), path, base);
    if ((fd = mkstemp(tmp)) < 0)
    {
        err_set_errno(err, WS_EIO, errno, "could not create a temporary file beside \"%s\"",
                      path);
        tmp[0] = '\0';
        goto out;
    }
    if (fchmod(fd, 0644) < 0)
    {
        err_set_errno(err, WS_EIO, errno, "could not set the mode of \"%s\"", tmp);
        goto out;
    }
    if (file_write_all(fd, text, len, tmp, err) < 0)
        goto out;
    if (fsync(fd) < 0)
    {
        err_set_errno(err, WS_EIO, errno, "could not fsync \"%s\"", tmp);
        goto out;
    }
    if (close(fd) < 0)
    {
        fd = -1;
        err_set_errno(err, WS_EIO, errno, "could not close \"%s\"", tmp);
        goto out;
    }
    fd = -1;
    if (rename(tmp, path) < 0)
    {
        err_set_errno(err, WS_EIO, errno, "could not rename \"%s\" to \"%s\"", tmp, path);
        goto out;
    }
    tmp[0] = '\0';
    if (file_fsync_parent(path, err) < 0)
        goto out;
    rc = 0;
out:
    if (fd >= 0)
        close(fd);
    if (tmp[0] != '\0')
        unlink(tmp);
    free(tmp);
    return rc;
}

int
ops_metrics_run(const struct cfg *cfg, const char *output, FILE *out, struct ws_err *err)
{
    struct repo *repo = NULL;
    struct ops_metrics *m = NULL;
    struct ops_metrics_data d;
    const char *text;
    size_t      len;
    int         rc = -1;

    memset(&d, 0, sizeof(d));
    d.now = (int64_t) time(NULL);
    if (repo_open(cfg, NULL, &repo, err) < 0)
        return -1;
    if (ops_metrics_gather(repo, &d, err) < 0)
        goto out;
    if ((m = ops_metrics_new(err)) == NULL || ops_metrics_render(&d, m, err) < 0)
        goto out;
    text = ops_metrics_text(m, &len);
    if (output != NULL)
    {
        if (write_atomic(output, text, len, err) < 0)
            goto out;
    }
    else if (fwrite(text, 1, len, out) != len || fflush(out) != 0)
    {
        err_set_errno(err, WS_EIO, errno, "could not write the metrics to standard output");
        goto out;
    }
    rc = 0;
out:
    ops_metrics_free(m);
    ops_metrics_data_free(&d);
    repo_close(repo);
    return rc;
}
