/*
 * ops_check.c — `walship check`.  See ops_check.h and docs/walship.md.
 */
#include "ops_check.h"

#include "catalog.h"
#include "exitcode.h"
#include "log.h"
#include "num.h"
#include "ops_list.h"
#include "pg.h"
#include "repo.h"
#include "wal.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#define POLL_US 250000          /* how often the switched segment is looked for */

const char *
ops_check_state_name(enum ops_check_state s)
{
    switch (s)
    {
        case OPS_CHECK_OK: return "OK";
        case OPS_CHECK_WARN: return "WARN";
        case OPS_CHECK_FAIL: return "FAIL";
        case OPS_CHECK_SKIP: return "SKIP";
    }
    return "?";
}

enum ws_code
ops_check_verdict(const struct ops_check_report *rep)
{
    for (int i = 0; i < rep->n; i++)
        if (rep->lines[i].state == OPS_CHECK_FAIL)
            return rep->lines[i].code;
    return WS_OK;
}

static void
set_line(struct ops_check_line *l, enum ops_check_state state, enum ws_code code,
         const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
set_line(struct ops_check_line *l, enum ops_check_state state, enum ws_code code,
         const char *fmt, ...)
{
    va_list     ap;

    l->state = state;
    l->code = state == OPS_CHECK_FAIL ? code : WS_OK;
    va_start(ap, fmt);
    vsnprintf(l->detail, sizeof(l->detail), fmt, ap);
    va_end(ap);
}

static bool
usable(const struct backup_info *b)
{
    return b->complete && !b->unreadable;
}

/* The newest and the one before it of the complete backups, by stop time. */
static void
newest_two(const struct backup_info *list, int n, const struct backup_info **a,
           const struct backup_info **b)
{
    *a = *b = NULL;
    for (int i = 0; i < n; i++)
    {
        const struct backup_info *x = &list[i];

        if (!usable(x))
            continue;
        if (*a == NULL || x->stop_time_us > (*a)->stop_time_us)
        {
            *b = *a;
            *a = x;
        }
        else if (*b == NULL || x->stop_time_us > (*b)->stop_time_us)
            *b = x;
    }
}

/* bytes rounded for a reader: "64.7 MB" (1024-based, as --list). */
static const char *
size_text(uint64_t b, char *buf, size_t size)
{
    static const char *const unit[] = {"bytes", "kB", "MB", "GB", "TB"};
    double      v = (double) b;
    int         u = 0;

    while (v >= 1024 && u < 4)
    {
        v /= 1024;
        u++;
    }
    if (u == 0)
        snprintf(buf, size, "%" PRIu64 " bytes", b);
    else
        snprintf(buf, size, "%.1f %s", v, unit[u]);
    return buf;
}

static const char *
age_text(int64_t s, char *buf, size_t size)
{
    if (s < 0)
        snprintf(buf, size, "%" PRId64 "s in the future", -s);
    else if (s < 120)
        snprintf(buf, size, "%" PRId64 "s", s);
    else if (s < 2 * 3600)
        snprintf(buf, size, "%" PRId64 "min", s / 60);
    else if (s < 2 * 86400)
        snprintf(buf, size, "%" PRId64 "h %02" PRId64 "min", s / 3600, s % 3600 / 60);
    else
        snprintf(buf, size, "%" PRId64 "d %02" PRId64 "h", s / 86400, s % 86400 / 3600);
    return buf;
}

void
ops_check_backup_age(const struct backup_info *list, int n, uint64_t max_age_s, int64_t now_s,
                     struct ops_check_line *line)
{
    const struct backup_info *a, *b;
    char        age[64], lim[32];
    int64_t     s;

    line->name = "backup age";
    newest_two(list, n, &a, &b);
    if (a == NULL)
    {
        set_line(line, OPS_CHECK_FAIL, WS_EBACKUP_AGE, "no complete backup in the repository");
        return;
    }
    s = now_s - a->stop_time_us / 1000000;
    age_text(s, age, sizeof(age));
    if (max_age_s == 0)
        set_line(line, OPS_CHECK_OK, WS_OK, "newest complete backup %s is %s old (no limit)",
                 a->id, age);
    else if (s > (int64_t) max_age_s)
        set_line(line, OPS_CHECK_FAIL, WS_EBACKUP_AGE,
                 "newest complete backup %s is %s old, more than alert_backup_age = %s", a->id,
                 age, num_format_duration(max_age_s, lim, sizeof(lim)));
    else
        set_line(line, OPS_CHECK_OK, WS_OK, "newest complete backup %s is %s old (limit %s)",
                 a->id, age, num_format_duration(max_age_s, lim, sizeof(lim)));
}

void
ops_check_backup_size(const struct backup_info *list, int n, int max_change_pct,
                      struct ops_check_line *line)
{
    const struct backup_info *a, *b;
    char        sa[32], sb[32];
    double      pct;

    line->name = "backup size";
    newest_two(list, n, &a, &b);
    if (a == NULL || b == NULL)
    {
        set_line(line, OPS_CHECK_OK, WS_OK, "%s complete backup: nothing to compare",
                 a == NULL ? "no" : "only one");
        return;
    }
    size_text(a->size, sa, sizeof(sa));
    size_text(b->size, sb, sizeof(sb));
    if (b->size == 0)
        pct = a->size == 0 ? 0.0 : 1e9;
    else
        pct = ((double) a->size - (double) b->size) * 100.0 / (double) b->size;
    if (max_change_pct > 0 && (pct > max_change_pct || -pct > max_change_pct))
        set_line(line, OPS_CHECK_FAIL, WS_EBACKUP_SIZE,
                 "backup %s is %s, %+.1f%% from %s of backup %s, more than "
                 "alert_backup_size_change = %d%%", a->id, sa, pct, sb, b->id, max_change_pct);
    else
        set_line(line, OPS_CHECK_OK, WS_OK, "backup %s is %s, %+.1f%% from %s of backup %s",
                 a->id, sa, pct, sb, b->id);
}

void
ops_check_archive_lag(const struct cfg_lag *lag, uint64_t server_segno, bool have_repo,
                      uint64_t repo_segno, int64_t last_archived_s, int64_t now_s,
                      struct ops_check_line *line)
{
    uint64_t    waiting;
    char        age[64], lim[32];

    line->name = "archive lag";
    if (server_segno == 0)
        waiting = 0;
    else if (!have_repo)
        waiting = server_segno;     /* every completed segment, as far as we know */
    else
        waiting = server_segno - 1 > repo_segno ? server_segno - 1 - repo_segno : 0;
    if (lag->segments > 0 && waiting > lag->segments)
    {
        set_line(line, OPS_CHECK_FAIL, WS_EARCHIVE_LAG,
                 "%" PRIu64 " completed segments are not in the repository, more than "
                 "alert_archive_lag = %" PRIu64, waiting, lag->segments);
        return;
    }
    if (lag->seconds > 0 && waiting > 0 &&
        (last_archived_s == 0 || now_s - last_archived_s > (int64_t) lag->seconds))
    {
        if (last_archived_s == 0)
            snprintf(age, sizeof(age), "never");
        else
        {
            age_text(now_s - last_archived_s, age, sizeof(age) - 4);
            strcat(age, " ago");
        }
        set_line(line, OPS_CHECK_FAIL, WS_EARCHIVE_LAG,
                 "%" PRIu64 " completed segments wait and the last segment was archived %s, "
                 "longer than alert_archive_lag = %s", waiting, age,
                 num_format_duration(lag->seconds, lim, sizeof(lim)));
        return;
    }
    set_line(line, OPS_CHECK_OK, WS_OK, "%" PRIu64 " completed segments not yet in the "
             "repository%s", waiting,
             lag->segments == 0 && lag->seconds == 0 ? " (alert_archive_lag is off)" : "");
}

/* ---- the run ----------------------------------------------------------- */

struct run
{
    const struct cfg *cfg;
    const struct ops_check_options *o;
    FILE       *out;
    struct ops_check_report *rep;
    struct repo *repo;
    struct pg_conn *pg;
    struct backup_info *backups;
    int         nbackups;
    bool        have_backups;
    bool        standby;        /* the server is in recovery: no switch, no insert position */
};

static struct ops_check_line *
next_line(struct run *r, const char *name)
{
    struct ops_check_line *l = &r->rep->lines[r->rep->n];

    memset(l, 0, sizeof(*l));
    l->name = name;
    return l;
}

/* The line is complete: count it and, as text, print it. */
static void
emit(struct run *r)
{
    const struct ops_check_line *l = &r->rep->lines[r->rep->n++];

    if (r->o->json)
        return;
    fprintf(r->out, "%-4s %-19s %s", ops_check_state_name(l->state), l->name, l->detail);
    if (l->state == OPS_CHECK_FAIL)
    {
        int         st = exitcode_for(WS_PROG_TOOL, l->code);

        fprintf(r->out, " [exit %d: %s]", st, exitcode_meaning(WS_PROG_TOOL, st));
    }
    fputc('\n', r->out);
    fflush(r->out);
}

static void
emit_state(struct run *r, const char *name, enum ops_check_state state, enum ws_code code,
           const char *detail)
{
    set_line(next_line(r, name), state, code, "%s", detail);
    emit(r);
}

/* A failure as a line: the message and, if any, its detail. */
static void
emit_err(struct run *r, const char *name, const struct ws_err *e)
{
    struct ops_check_line *l = next_line(r, name);

    if (e->detail[0] != '\0')
        set_line(l, OPS_CHECK_FAIL, e->code, "%s (%s)", e->msg, e->detail);
    else
        set_line(l, OPS_CHECK_FAIL, e->code, "%s", e->msg);
    emit(r);
}

static void
check_repository(struct run *r)
{
    struct ws_err e = WS_ERR_INIT;
    char        key[256], host[64] = "host";
    unsigned int rnd = 0;
    static const char probe[] = "walship check probe: safe to delete\n";
    struct ops_check_line *l;

    if (repo_open(r->cfg, NULL, &r->repo, &e) < 0)
    {
        emit_err(r, "repository", &e);
        return;
    }
    l = next_line(r, "repository");
    set_line(l, OPS_CHECK_OK, WS_OK, "%s: system identifier %" PRIu64 ", PostgreSQL %u, "
             "WAL segments of %u MB%s", repo_location(r->repo), repo_system_identifier(r->repo),
             repo_pg_major(r->repo), repo_wal_segment_size(r->repo) >> 20,
             repo_encrypted(r->repo) ? ", encrypted" : "");
    emit(r);

    gethostname(host, sizeof(host) - 1);
    for (char *c = host; *c != '\0'; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
              *c == '-'))
            *c = '_';
    if (getrandom(&rnd, sizeof(rnd), 0) != (ssize_t) sizeof(rnd))
        rnd = (unsigned int) time(NULL) ^ (unsigned int) getpid();
    snprintf(key, sizeof(key), OPS_CHECK_PROBE_PREFIX "%s-%ld-%08x", host, (long) getpid(), rnd);
    if (repo_raw_put(r->repo, key, REPO_CREATE, probe, sizeof(probe) - 1, &e) < 0)
    {
        emit_err(r, "repository writable", &e);
        return;
    }
    if (repo_delete(r->repo, key, &e) < 0)
    {
        emit_err(r, "repository writable", &e);
        return;
    }
    l = next_line(r, "repository writable");
    set_line(l, OPS_CHECK_OK, WS_OK, "put and deleted %s", key);
    emit(r);
}

static int
sql(struct run *r, const char *q, int n, char (*v)[PG_VALUE_MAX], bool *nulls,
    struct ws_err *e)
{
    return pg_sql_row(r->pg, q, n, v, nulls, e);
}

static void
check_server(struct run *r)
{
    struct ws_err e = WS_ERR_INIT;
    char        v[1][PG_VALUE_MAX];
    bool        nulls[1];
    uint64_t    sysid = 0;
    const char *ci = r->cfg->pg_conninfo;

    if (r->o->no_server)
    {
        emit_state(r, "server", OPS_CHECK_SKIP, WS_OK, "--no-server");
        return;
    }
    if (pg_connect_sql(ci, &r->pg, &e) < 0)
    {
        if (ci[0] != '\0')
            emit_err(r, "server", &e);
        else
        {
            struct ops_check_line *l = next_line(r, "server");

            set_line(l, OPS_CHECK_SKIP, WS_OK, "pg_conninfo is not set and the PG* "
                     "environment reaches no server: %s", e.msg);
            emit(r);
        }
        return;
    }
    {
        char        rv[1][PG_VALUE_MAX];
        bool        rn[1];

        if (sql(r, "SELECT pg_is_in_recovery()", 1, rv, rn, &e) < 0)
        {
            emit_err(r, "server", &e);
            pg_disconnect(r->pg);
            r->pg = NULL;
            return;
        }
        r->standby = strcmp(rv[0], "t") == 0;
    }
    if (sql(r, "SELECT system_identifier FROM pg_control_system()", 1, v, nulls, &e) < 0 ||
        num_parse_uint(v[0], 0, UINT64_MAX, &sysid) < 0)
    {
        if (e.code == WS_OK)
            err_set(&e, WS_EIO, "unexpected system identifier \"%s\"", v[0]);
        emit_err(r, "server", &e);
        pg_disconnect(r->pg);
        r->pg = NULL;
        return;
    }
    if (r->repo != NULL && sysid != repo_system_identifier(r->repo))
    {
        struct ops_check_line *l = next_line(r, "server");

        set_line(l, OPS_CHECK_FAIL, WS_EMISMATCH, "the server's system identifier %" PRIu64
                 " differs from the repository's %" PRIu64 ": another database system",
                 sysid, repo_system_identifier(r->repo));
        emit(r);
        pg_disconnect(r->pg);
        r->pg = NULL;
        return;
    }
    {
        struct ops_check_line *l = next_line(r, "server");

        int         ver = pg_server_version(r->pg);

        set_line(l, OPS_CHECK_OK, WS_OK, "PostgreSQL %d.%d%s, system identifier %" PRIu64 "%s",
                 ver / 10000, ver % 100, r->standby ? " (a standby)" : "", sysid,
                 r->repo != NULL ? " as the repository's" : "");
        emit(r);
    }
}

/* pg_stat_archiver's last failure, when newer than its last success: into buf, true. */
static bool
last_failure(struct run *r, char *buf, size_t size, struct ws_err *e)
{
    char        v[4][PG_VALUE_MAX];
    bool        nulls[4];

    if (sql(r, "SELECT last_failed_wal, last_failed_time, last_archived_wal, "
            "coalesce(last_failed_time > last_archived_time, last_failed_time IS NOT NULL) "
            "FROM pg_stat_archiver", 4, v, nulls, e) < 0)
        return false;
    if (strcmp(v[3], "t") != 0)
    {
        snprintf(buf, size, "last archived %s", nulls[2] ? "none" : v[2]);
        return false;
    }
    snprintf(buf, size, "%s failed at %s (last archived %s)", v[0], v[1],
             nulls[2] ? "none" : v[2]);
    return true;
}

static void
check_archiving(struct run *r)
{
    struct ws_err e = WS_ERR_INIT;
    char        v[1][PG_VALUE_MAX];
    bool        nulls[1];
    char        key[REPO_KEY_MAX], fail[4 * PG_VALUE_MAX];
    struct repo_stat st;
    struct timespec t0, now;
    bool        found = false;
    bool        reported = false;
    bool        failing;

    if (r->pg == NULL || r->repo == NULL)
    {
        emit_state(r, "archiving", OPS_CHECK_SKIP, WS_OK,
                   r->repo == NULL ? "no repository" : "no server connection");
        emit_state(r, "archive failures", OPS_CHECK_SKIP, WS_OK,
                   r->repo == NULL ? "no repository" : "no server connection");
        return;
    }
    if (r->standby)
    {
        emit_state(r, "archiving", OPS_CHECK_SKIP, WS_OK,
                   "the server is a standby: pg_switch_wal() is for the primary");
        goto failures;
    }
    /* pg_switch_wal() returns the end of the switched segment plus 1 (or,
     * when nothing was written since the last switch, the start of the
     * current one): the segment to wait for holds the byte before it. */
    if (sql(r, "SELECT pg_walfile_name(pg_switch_wal() - 1)", 1, v, nulls, &e) < 0)
        emit_err(r, "archiving", &e);
    else if (wal_repo_key(v[0], key, sizeof(key)) < 0)
    {
        err_set(&e, WS_EIO, "pg_walfile_name() returned \"%s\", no WAL file name", v[0]);
        emit_err(r, "archiving", &e);
    }
    else
    {
        clock_gettime(CLOCK_MONOTONIC, &t0);
        for (;;)
        {
            struct ws_err se = WS_ERR_INIT;

            if (repo_stat(r->repo, key, &st, &se) == 0)
            {
                found = true;
                break;
            }
            if (se.code != WS_ENOTFOUND)
            {
                emit_err(r, "archiving", &se);
                reported = true;
                break;
            }
            clock_gettime(CLOCK_MONOTONIC, &now);
            if (now.tv_sec - t0.tv_sec + (now.tv_nsec - t0.tv_nsec) / 1e9 >= r->o->timeout_s)
                break;
            usleep(POLL_US);
        }
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (found)
        {
            struct ops_check_line *l = next_line(r, "archiving");

            set_line(l, OPS_CHECK_OK, WS_OK, "switched to a new WAL file: %s reached the "
                     "repository in %.1f s", v[0], now.tv_sec - t0.tv_sec +
                     (now.tv_nsec - t0.tv_nsec) / 1e9);
            emit(r);
        }
        else if (!reported)
        {
            struct ops_check_line *l = next_line(r, "archiving");
            struct ws_err fe = WS_ERR_INIT;

            failing = last_failure(r, fail, sizeof(fail), &fe);
            set_line(l, OPS_CHECK_FAIL, WS_EARCHIVING, "%s did not reach the repository within "
                     "%d s after pg_switch_wal()%s%s", v[0], r->o->timeout_s,
                     failing ? "; archive_command failed: " : "", failing ? fail : "");
            emit(r);
        }
    }

failures:
    failing = last_failure(r, fail, sizeof(fail), &e);
    if (e.code != WS_OK)
        emit_err(r, "archive failures", &e);
    else if (failing)
    {
        struct ops_check_line *l = next_line(r, "archive failures");

        set_line(l, OPS_CHECK_FAIL, WS_EARCHIVING, "pg_stat_archiver: %s", fail);
        emit(r);
    }
    else
    {
        struct ops_check_line *l = next_line(r, "archive failures");

        set_line(l, OPS_CHECK_OK, WS_OK, "pg_stat_archiver: no failure since the last "
                 "success, %s", fail);
        emit(r);
    }
}

struct newest
{
    bool        have;
    uint64_t    segno;
};

static int
on_wal(const struct catalog_wal_item *it, void *arg, struct ws_err *err)
{
    struct newest *nw = arg;

    (void) err;
    if (it->kind == CATALOG_WAL_SEGMENTS && (!nw->have || it->last > nw->segno))
    {
        nw->have = true;
        nw->segno = it->last;
    }
    return 0;
}

static void
check_alerts(struct run *r)
{
    struct ws_err e = WS_ERR_INIT;
    int64_t     now_s = (int64_t) time(NULL);

    if (r->repo == NULL)
    {
        emit_state(r, "backup age", OPS_CHECK_SKIP, WS_OK, "no repository");
        emit_state(r, "backup size", OPS_CHECK_SKIP, WS_OK, "no repository");
        emit_state(r, "archive lag", OPS_CHECK_SKIP, WS_OK, "no repository");
        return;
    }
    if (catalog_backups(r->repo, &r->backups, &r->nbackups, &e) < 0)
    {
        emit_err(r, "backup age", &e);
        emit_state(r, "backup size", OPS_CHECK_SKIP, WS_OK, "the backups could not be listed");
    }
    else
    {
        r->have_backups = true;
        ops_check_backup_age(r->backups, r->nbackups, r->cfg->alert_backup_age, now_s,
                             next_line(r, "backup age"));
        emit(r);
        ops_check_backup_size(r->backups, r->nbackups, r->cfg->alert_backup_size_change,
                              next_line(r, "backup size"));
        emit(r);
    }

    if (r->pg == NULL || r->standby)
    {
        emit_state(r, "archive lag", OPS_CHECK_SKIP, WS_OK, r->pg == NULL ?
                   "no server connection" : "the server is a standby");
        return;
    }
    {
        char        v[2][PG_VALUE_MAX];
        bool        nulls[2];
        struct wal_name wn;
        struct newest nw = {false, 0};
        int64_t     last_s = 0;

        if (sql(r, "SELECT pg_walfile_name(pg_current_wal_lsn()), "
                "extract(epoch FROM last_archived_time)::bigint FROM pg_stat_archiver",
                2, v, nulls, &e) < 0)
        {
            emit_err(r, "archive lag", &e);
            return;
        }
        if (wal_parse(v[0], repo_wal_segment_size(r->repo), &wn) < 0)
        {
            err_set(&e, WS_EIO, "pg_walfile_name() returned \"%s\", no WAL file name", v[0]);
            emit_err(r, "archive lag", &e);
            return;
        }
        if (!nulls[1])
        {
            int64_t     t;

            if (num_parse_int(v[1], 0, INT64_MAX, &t) == 0)
                last_s = t;
        }
        if (catalog_wal(r->repo, on_wal, &nw, NULL, &e) < 0)
        {
            emit_err(r, "archive lag", &e);
            return;
        }
        ops_check_archive_lag(&r->cfg->alert_archive_lag, wal_segno(&wn, repo_wal_segment_size(r->repo)), nw.have, nw.segno, last_s,
                              now_s, next_line(r, "archive lag"));
        emit(r);
    }
}

int
ops_check_run(const struct cfg *cfg, const struct ops_check_options *o, FILE *out,
              struct ops_check_report *rep, struct ws_err *err)
{
    struct run  r = {.cfg = cfg, .o = o, .out = out, .rep = rep};
    char        detail[CFG_MAX_VALUE + 64];

    (void) err;
    memset(rep, 0, sizeof(*rep));
    snprintf(detail, sizeof(detail), "%s%s%s", cfg->config_file[0] ? "file \"" : "",
             cfg->config_file[0] ? cfg->config_file : "no configuration file, defaults and "
             "environment", cfg->config_file[0] ? "\"" : "");
    emit_state(&r, "configuration", OPS_CHECK_OK, WS_OK, detail);
    check_repository(&r);
    check_server(&r);
    check_archiving(&r);
    check_alerts(&r);
    if (o->json)
        ops_check_print_json(rep, out);
    catalog_backups_free(r.backups, r.nbackups);
    pg_disconnect(r.pg);
    repo_close(r.repo);
    return 0;
}

void
ops_check_print_json(const struct ops_check_report *rep, FILE *out)
{
    enum ws_code v = ops_check_verdict(rep);

    fprintf(out, "{\"schema_version\": %d, \"exit_status\": %d, \"checks\": [",
            OPS_CHECK_SCHEMA_VERSION, exitcode_for(WS_PROG_TOOL, v));
    for (int i = 0; i < rep->n; i++)
    {
        const struct ops_check_line *l = &rep->lines[i];

        fprintf(out, "%s\n  {\"name\": ", i ? "," : "");
        ops_json_string(out, l->name);
        fprintf(out, ", \"status\": \"%s\", \"exit_status\": %d, \"detail\": ",
                ops_check_state_name(l->state),
                l->state == OPS_CHECK_FAIL ? exitcode_for(WS_PROG_TOOL, l->code) : 0);
        ops_json_string(out, l->detail);
        fputc('}', out);
    }
    fprintf(out, "\n]}\n");
}
