/*
 * ops_drill.c — `walship drill` and selective recovery.  See ops_drill.h;
 * the server itself is ops_drill_server.c, the checks' syntax ops_drill_sql.c.
 */
#define _GNU_SOURCE
#include "ops_drill.h"
#include "backup_choose.h"
#include "backup_time.h"
#include "catalog.h"
#include "clock.h"
#include "exitcode.h"
#include "fileutil.h"
#include "log.h"
#include "num.h"
#include "ops_drill_server.h"
#include "ops_list.h"
#include "pg.h"
#include "repo.h"
#include "sigstop.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* ---- control -------------------------------------------------------------- */

void
ops_drill_control_init(struct ops_drill_control *c)
{
    pthread_mutex_init(&c->lock, NULL);
    c->cancel = NULL;
}

void
ops_drill_control_destroy(struct ops_drill_control *c)
{
    pthread_mutex_destroy(&c->lock);
}

void
ops_drill_interrupt(struct ops_drill_control *c)
{
    char        buf[256];

    pthread_mutex_lock(&c->lock);
    if (c->cancel != NULL)
        PQcancel(c->cancel, buf, sizeof(buf));
    pthread_mutex_unlock(&c->lock);
}

static void
control_set(struct ops_drill_control *c, PGconn *conn)
{
    if (c == NULL)
        return;
    pthread_mutex_lock(&c->lock);
    if (c->cancel != NULL)
        PQfreeCancel(c->cancel);
    c->cancel = conn != NULL ? PQgetCancel(conn) : NULL;
    pthread_mutex_unlock(&c->lock);
}

const char *
ops_drill_step_name(enum ops_drill_step s)
{
    static const char *const names[] = {"", "config", "fetch", "start", "replay", "check",
        "query", "cleanup"};

    return (int) s >= 0 && (size_t) s < sizeof(names) / sizeof(names[0]) ? names[s] : "?";
}

/* ---- the steps ------------------------------------------------------------ */

struct run
{
    const struct cfg *cfg;
    const struct ops_drill_options *o;
    struct ops_drill_result *res;
    struct ops_drill_checks file_checks;    /* drill_checks_file */
    struct repo *repo;
    struct backup_info *list;
    int         nlist;
    const struct backup_info *b;
    char        tmpdir[PATH_MAX];
    bool        made_tmpdir;
    struct ops_drill_server srv;
    PGconn     *conn;
    char        out_tmp[PATH_MAX + 64];
    int         out_fd;
};

static void
describe_target(const struct ops_drill_options *o, char *buf, size_t len)
{
    char        t[64];

    switch (o->target.kind)
    {
        case BACKUP_TARGET_END:
            snprintf(buf, len, "end of the archive");
            break;
        case BACKUP_TARGET_IMMEDIATE:
            snprintf(buf, len, "consistency (immediate)");
            break;
        case BACKUP_TARGET_TIME:
            backup_time_format(o->target.time_us, t, sizeof(t));
            snprintf(buf, len, "time %s", t);
            break;
        case BACKUP_TARGET_LSN:
            pg_lsn_format(o->target.lsn, t, sizeof(t));
            snprintf(buf, len, "LSN %s", t);
            break;
        case BACKUP_TARGET_XID:
            snprintf(buf, len, "xid %s", o->target_text ? o->target_text : "?");
            break;
        case BACKUP_TARGET_NAME:
            snprintf(buf, len, "restore point \"%s\"", o->target_text ? o->target_text : "?");
            break;
    }
}

/* The output file: must not exist yet, its directory must be writable. */
static int
check_output(const char *path, struct ws_err *err)
{
    char        dir[PATH_MAX];
    char       *slash;

    if (access(path, F_OK) == 0)
    {
        err_set(err, WS_EINPUT, "output file \"%s\" already exists", path);
        err_hint(err, "Remove it or name another with --output; walship drill never "
                 "overwrites a file.");
        return -1;
    }
    snprintf(dir, sizeof(dir), "%s", path);
    slash = strrchr(dir, '/');
    if (slash == NULL)
        snprintf(dir, sizeof(dir), ".");
    else if (slash == dir)
        dir[1] = '\0';
    else
        *slash = '\0';
    if (access(dir, W_OK | X_OK) != 0)
        return err_set_errno(err, WS_EINPUT, errno, "cannot write output file \"%s\"", path);
    return 0;
}

static int
choose_backup(struct run *r, struct ws_err *err)
{
    uint32_t    tli;
    int         idx;

    if (repo_open(r->cfg, NULL, &r->repo, err) < 0)
        return -1;
    if (catalog_backups(r->repo, &r->list, &r->nlist, err) < 0)
        return -1;
    if (backup_mark_lineage(r->repo, r->list, r->nlist, NULL, &tli, err) < 0)
        return -1;
    idx = backup_choose(r->list, r->nlist, r->o->backup_id, &r->o->target, err);
    if (idx < 0)
        return -1;
    r->b = &r->list[idx];
    snprintf(r->res->backup_id, sizeof(r->res->backup_id), "%s", r->b->id);
    return 0;
}

/* The private directory: mkdtemp under drill_tmpdir, $TMPDIR or /var/tmp; room for the backup. */
static int
make_tmpdir(struct run *r, struct ws_err *err)
{
    const char *base = r->cfg->drill_tmpdir[0] ? r->cfg->drill_tmpdir : getenv("TMPDIR");
    struct statvfs vfs;
    uint64_t    avail, need;
    char        a[32], n[32];

    if (base == NULL || base[0] == '\0')
        base = "/var/tmp";
    if ((size_t) snprintf(r->tmpdir, sizeof(r->tmpdir), "%s/walship-drill.XXXXXX", base) >=
        sizeof(r->tmpdir) ||
        strlen(r->tmpdir) + sizeof("/.s.PGSQL.65535") > sizeof(((struct sockaddr_un *) 0)->sun_path))
    {
        err_set(err, WS_ECONFIG, "the drill directory under \"%s\" would be too long for a "
                "Unix socket path", base);
        err_hint(err, "Set drill_tmpdir to a shorter directory, such as /var/tmp.");
        return -1;
    }
    if (statvfs(base, &vfs) < 0)
        return err_set_errno(err, errno == ENOENT ? WS_ECONFIG : WS_EIO, errno,
                             "could not use drill directory base \"%s\"", base);
    avail = (uint64_t) vfs.f_bavail * vfs.f_frsize;
    /* the data, plus room for the WAL replay fetches and the server's own files */
    need = r->b->size + r->b->size / 10 + 64 * 1024 * 1024;
    if (avail < need)
    {
        num_format_size(avail, a, sizeof(a));
        num_format_size(need, n, sizeof(n));
        err_set(err, WS_ENOSPC, "not enough space in \"%s\" for the drill: %s free, backup %s "
                "needs about %s", base, a, r->b->id, n);
        err_hint(err, "Set drill_tmpdir to a file system with more room.");
        return -1;
    }
    if (mkdtemp(r->tmpdir) == NULL)
        return err_set_errno(err, WS_EIO, errno, "could not create a directory in \"%s\"", base);
    r->made_tmpdir = true;
    snprintf(r->res->tmpdir, sizeof(r->res->tmpdir), "%s", r->tmpdir);
    log_info("drill directory \"%s\"", r->tmpdir);
    return 0;
}

static int
restore_backup(struct run *r, struct ws_err *err)
{
    struct recover_options ro;
    struct recover_result rr;
    struct recover_tablespace_map *maps = NULL;
    char       *paths = NULL;           /* per tablespace: its OID, then its new place */
    const size_t plen = 2 * PATH_MAX;
    int         rc = -1;

    memset(&ro, 0, sizeof(ro));
    if ((size_t) snprintf(r->srv.datadir, sizeof(r->srv.datadir), "%s/data", r->tmpdir) >=
        sizeof(r->srv.datadir))
        return err_set(err, WS_ECONFIG, "path \"%s/data\" is too long", r->tmpdir);
    maps = calloc((size_t) r->b->ntablespaces + 1, sizeof(*maps));
    paths = calloc((size_t) r->b->ntablespaces + 1, plen);
    if (maps == NULL || paths == NULL)
    {
        err_set(err, WS_EINTERNAL, "out of memory");
        goto out;
    }
    /* every tablespace inside the private directory, never at its production place */
    for (int i = 0; i < r->b->ntablespaces; i++)
    {
        char       *from = paths + (size_t) i * plen, *to = from + 16;

        snprintf(from, 16, "%u", r->b->tablespaces[i].oid);
        if ((size_t) snprintf(to, plen - 16, "%s/tblspc/%u", r->tmpdir,
                              r->b->tablespaces[i].oid) >= plen - 16)
        {
            err_set(err, WS_ECONFIG, "path \"%s/tblspc\" is too long", r->tmpdir);
            goto out;
        }
        maps[i].from = from;
        maps[i].to = to;
    }
    ro.target_dir = r->srv.datadir;
    ro.backup_id = r->b->id;
    ro.target = r->o->target;
    ro.target_text = r->o->target_text;
    /*
     * Selective recovery pauses at the target: the server stays in
     * recovery, read-only, on the backup's timeline.  A drill promotes, as a
     * real recovery would, which proves the cluster can become a primary.
     */
    ro.target_action = r->o->sql != NULL ? "pause" : "promote";
    ro.maps = maps;
    ro.nmaps = r->b->ntablespaces;
    if (recover_run(r->cfg, &ro, &rr, err) < 0)
        goto out;
    r->res->bytes = rr.bytes;
    r->res->files = rr.files;
    backup_info_free(&rr.backup);
    rc = 0;
out:
    free(maps);
    free(paths);
    return rc;
}

/* The first column of the first row of sql, for a check. */
static void
run_check(struct run *r, const struct ops_drill_check *c, struct ops_drill_check_result *cr)
{
    double      t0 = clock_now_s();
    PGresult   *res;

    cr->ran = true;
    snprintf(cr->name, sizeof(cr->name), "%s", c->name);
    snprintf(cr->expectation, sizeof(cr->expectation), "%s%s%s", ops_drill_op_name(c->op),
             c->op != OPS_DRILL_RUNS ? " " : "", c->expect);
    res = PQexec(r->conn, c->sql);
    if (PQresultStatus(res) != PGRES_TUPLES_OK && PQresultStatus(res) != PGRES_COMMAND_OK)
    {
        const char *m = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);

        if (m == NULL)
            m = PQerrorMessage(r->conn);
        snprintf(cr->detail, sizeof(cr->detail), "error: %.*s", (int) strcspn(m, "\n"), m);
        cr->passed = false;
    }
    else
    {
        bool        have = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) > 0 &&
            PQnfields(res) > 0;
        const char *v = have && !PQgetisnull(res, 0, 0) ? PQgetvalue(res, 0, 0) : NULL;

        cr->null = have && v == NULL;
        if (v != NULL)
            snprintf(cr->value, sizeof(cr->value), "%s", v);
        cr->passed = ops_drill_check_eval(c, have, v, cr->detail, sizeof(cr->detail));
    }
    PQclear(res);
    cr->seconds = clock_now_s() - t0;
    log_info("check \"%s\": %s (%s)", c->name, cr->passed ? "OK" : "FAIL", cr->detail);
}

static int
run_checks(struct run *r, struct ws_err *err)
{
    const struct ops_drill_checks *sets[2] = {r->o->checks, &r->file_checks};
    int         failed = 0;
    const char *first = NULL;
    static const struct ops_drill_check builtin = {"server answers", OPS_DRILL_RUNS, "",
        (char *) "SELECT count(*) FROM pg_catalog.pg_database"};
    bool        any = false;

    control_set(r->o->control, r->conn);
    for (int s = 0; s < 2; s++)
        for (int i = 0; sets[s] != NULL && i < sets[s]->n; i++)
        {
            struct ops_drill_check_result *cr = &r->res->checks[r->res->nchecks];

            if (r->res->nchecks >= OPS_DRILL_MAX_CHECKS)
                break;
            any = true;
            run_check(r, &sets[s]->c[i], cr);
            r->res->nchecks++;
            if (!cr->passed && failed++ == 0)
                first = sets[s]->c[i].name;
            if (sigstop_caught() != 0)
                goto interrupted;
        }
    if (!any)
    {
        /* no check configured: at least the server answers a query */
        run_check(r, &builtin, &r->res->checks[0]);
        r->res->nchecks = 1;
        if (!r->res->checks[0].passed)
            failed++, first = builtin.name;
    }
    control_set(r->o->control, NULL);
    if (sigstop_caught() != 0)
        goto interrupted;
    if (failed > 0)
    {
        err_set(err, WS_ECHECK, "%d of %d drill checks failed, the first \"%s\"", failed,
                r->res->nchecks, first);
        return -1;
    }
    return 0;
interrupted:
    control_set(r->o->control, NULL);
    return err_set(err, WS_EINTERRUPTED, "interrupted by signal %d during the checks",
                   sigstop_caught());
}

/* ---- selective recovery's query -------------------------------------------- */

struct sink
{
    FILE       *f;
    const char *what;
    bool        failed;
    int         errnum;
};

static void
sink_write(struct sink *s, const void *buf, size_t len)
{
    if (s->failed || len == 0)
        return;
    if (fwrite(buf, 1, len, s->f) != len)
    {
        s->failed = true;
        s->errnum = errno;
    }
}

static void
print_row(struct sink *s, const PGresult *res, int row, bool header)
{
    int         n = PQnfields(res);

    for (int i = 0; i < n && !s->failed; i++)
    {
        if (i > 0)
            fputc(',', s->f);
        if (header)
            ops_drill_csv_field(s->f, PQfname(res, i), false);
        else
            ops_drill_csv_field(s->f, PQgetvalue(res, row, i), PQgetisnull(res, row, i));
    }
    fputc('\n', s->f);
    if (ferror(s->f) && !s->failed)
    {
        s->failed = true;
        s->errnum = errno;
    }
}

/*
 * Run the query and stream what it returns: COPY ... TO STDOUT as the
 * server sends it, the rows of anything else as CSV with a header line,
 * one row at a time (single-row mode), so memory stays bounded.
 */
static int
run_query(struct run *r, FILE *f, const char *what, struct ws_err *err)
{
    struct sink s = {f, what, false, 0};
    PGresult   *res;
    char        msg[512] = "";
    bool        header_done = false;
    bool        cancelled = false;

    control_set(r->o->control, r->conn);
    if (!PQsendQuery(r->conn, r->o->sql))
    {
        snprintf(msg, sizeof(msg), "%s", PQerrorMessage(r->conn));
        goto done;
    }
    PQsetSingleRowMode(r->conn);
    while ((res = PQgetResult(r->conn)) != NULL)
    {
        switch (PQresultStatus(res))
        {
            case PGRES_COPY_OUT:
                {
                    char       *buf;
                    int         n;

                    while ((n = PQgetCopyData(r->conn, &buf, 0)) > 0)
                    {
                        sink_write(&s, buf, (size_t) n);
                        r->res->rows++;
                        PQfreemem(buf);
                    }
                    if (n == -2 && msg[0] == '\0')
                        snprintf(msg, sizeof(msg), "%s", PQerrorMessage(r->conn));
                    break;
                }
            case PGRES_SINGLE_TUPLE:
                if (!header_done)
                    print_row(&s, res, 0, true);
                header_done = true;
                print_row(&s, res, 0, false);
                r->res->rows++;
                break;
            case PGRES_TUPLES_OK:
                if (!header_done)
                    print_row(&s, res, 0, true);    /* no row: the header still */
                header_done = false;                /* a next statement gets its own */
                break;
            case PGRES_COMMAND_OK:
            case PGRES_EMPTY_QUERY:
                break;
            case PGRES_COPY_IN:
                PQputCopyEnd(r->conn, "walship drill sends no data");
                if (msg[0] == '\0')
                    snprintf(msg, sizeof(msg), "COPY FROM STDIN is not supported: the query "
                             "runs on a read-only copy");
                break;
            default:
                if (msg[0] == '\0')
                {
                    const char *m = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);

                    snprintf(msg, sizeof(msg), "%s", m ? m : PQerrorMessage(r->conn));
                }
                break;
        }
        PQclear(res);
        if (s.failed && !cancelled)
        {
            /* cannot write: stop the query and drain what is left */
            PGcancel   *cancel = PQgetCancel(r->conn);
            char        ebuf[256];

            if (cancel != NULL)
                PQcancel(cancel, ebuf, sizeof(ebuf));
            PQfreeCancel(cancel);
            cancelled = true;
        }
    }
done:
    control_set(r->o->control, NULL);
    if (fflush(f) != 0 && !s.failed)
    {
        s.failed = true;
        s.errnum = errno;
    }
    if (sigstop_caught() != 0)
        return err_set(err, WS_EINTERRUPTED, "interrupted by signal %d during the query",
                       sigstop_caught());
    if (s.failed)
        return err_set_errno(err, WS_EIO, s.errnum, "could not write the query's output to %s",
                             what);
    if (msg[0] != '\0')
    {
        msg[strcspn(msg, "\n")] = '\0';
        err_set(err, WS_EINPUT, "the query failed on the recovered server: %s", msg);
        err_hint(err, "The recovered server is read-only; the query runs in database \"%s\" "
                 "(drill_dbname).", r->cfg->drill_dbname);
        return -1;
    }
    return 0;
}

static int
run_query_step(struct run *r, struct ws_err *err)
{
    FILE       *f;
    int         rc;
    int         fd;

    if (r->o->output == NULL)
        return run_query(r, stdout, "stdout", err);
    snprintf(r->out_tmp, sizeof(r->out_tmp), "%s.walship-tmp.%ld", r->o->output, (long) getpid());
    fd = open(r->out_tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
    {
        r->out_tmp[0] = '\0';
        return err_set_errno(err, WS_EIO, errno, "could not create file \"%s\"", r->out_tmp);
    }
    f = fdopen(fd, "w");
    if (f == NULL)
    {
        close(fd);
        return err_set(err, WS_EINTERNAL, "out of memory");
    }
    rc = run_query(r, f, r->o->output, err);
    if (rc == 0 && fsync(fileno(f)) < 0)
        rc = err_set_errno(err, WS_EIO, errno, "could not write file \"%s\"", r->out_tmp);
    if (fclose(f) != 0 && rc == 0)
        rc = err_set_errno(err, WS_EIO, errno, "could not write file \"%s\"", r->out_tmp);
    if (rc < 0)
        return -1;
    /* link: the final name appears complete, and never replaces a file */
    if (link(r->out_tmp, r->o->output) < 0)
        return err_set_errno(err, errno == EEXIST ? WS_EINPUT : WS_EIO, errno,
                             "could not create output file \"%s\"", r->o->output);
    unlink(r->out_tmp);
    r->out_tmp[0] = '\0';
    return file_fsync_parent(r->o->output, err);
}

/* ---- state/drill ------------------------------------------------------------ */

static void
write_state(struct run *r, double seconds)
{
    struct ops_drill_state prev, now;
    struct ws_err e = WS_ERR_INIT;
    unsigned char *buf = NULL;
    size_t      len = 0;
    char        text[512];

    memset(&now, 0, sizeof(now));
    now.time = (int64_t) time(NULL);
    now.success = r->res->failed_step == OPS_DRILL_STEP_NONE;
    now.duration_seconds = seconds;
    snprintf(now.step, sizeof(now.step), "%s", ops_drill_step_name(r->res->failed_step));
    if (now.success)
        now.last_success_time = now.time;
    else if (repo_raw_get(r->repo, OPS_DRILL_STATE_KEY, 4096, &buf, &len, &e) == 0)
    {
        if (ops_drill_state_parse((char *) buf, len, &prev, &e) == 0)
            now.last_success_time = prev.last_success_time;
        else
            log_warning("ignoring the previous %s: %s", OPS_DRILL_STATE_KEY, e.msg);
    }
    else if (e.code != WS_ENOTFOUND)
        log_warning("could not read the previous %s: %s", OPS_DRILL_STATE_KEY, e.msg);
    free(buf);
    err_clear(&e);
    if (ops_drill_state_format(&now, text, sizeof(text)) < 0 ||
        repo_raw_put(r->repo, OPS_DRILL_STATE_KEY, REPO_REPLACE, text, strlen(text), &e) < 0)
    {
        log_warning("could not record the drill in \"%s\": %s", OPS_DRILL_STATE_KEY, e.msg);
        return;
    }
    r->res->state_written = true;
}

/* ---- the run ---------------------------------------------------------------- */

static int
cleanup(struct run *r, struct ws_err *err)
{
    struct ws_err e = WS_ERR_INIT;
    int         rc = 0;

    control_set(r->o->control, NULL);
    PQfinish(r->conn);
    r->conn = NULL;
    if (r->srv.pid > 0 && ops_drill_server_stop(&r->srv) < 0)
    {
        err_set(err, WS_ESERVER, "could not stop the recovered server (PID %ld)",
                (long) r->srv.pid);
        rc = -1;
    }
    if (r->out_tmp[0] != '\0')
        unlink(r->out_tmp);
    if (r->made_tmpdir && rc == 0)
    {
        if (ops_drill_rmtree(r->tmpdir, &e) < 0)
        {
            *err = e;
            rc = -1;
        }
        else
            log_info("removed \"%s\"", r->tmpdir);
    }
    return rc;
}

int
ops_drill_run(const struct cfg *cfg, const struct ops_drill_options *o, FILE *report,
              struct ops_drill_result *res, struct ws_err *err)
{
    struct run  r;
    double      t0 = clock_now_s(), t;
    enum ops_drill_step step = OPS_DRILL_STEP_CONFIG;
    int         rc = -1;

    memset(&r, 0, sizeof(r));
    memset(res, 0, sizeof(*res));
    r.cfg = cfg;
    r.o = o;
    r.res = res;
    describe_target(o, res->target, sizeof(res->target));

    /* ---- config: everything that can be refused before any work */
    if (geteuid() == 0)
    {
        err_set(err, WS_ECONFIG, "walship drill cannot run as root");
        err_detail(err, "PostgreSQL refuses to run as root, and the drill starts it.");
        err_hint(err, "Run it as the PostgreSQL user, e.g. \"runuser -u postgres -- walship "
                 "drill\".");
        goto out;
    }
    if (o->sql == NULL && o->output != NULL)
    {
        err_set(err, WS_ECONFIG, "--output needs --sql or --sql-file");
        goto out;
    }
    if (o->output != NULL && check_output(o->output, err) < 0)
        goto out;
    if (o->sql == NULL && cfg->drill_checks_file[0] != '\0' &&
        ops_drill_checks_load(&r.file_checks, cfg->drill_checks_file, err) < 0)
        goto out;

    /* ---- fetch: choose the backup, find the server for it, restore it */
    step = OPS_DRILL_STEP_FETCH;
    if (choose_backup(&r, err) < 0)
        goto out;
    step = OPS_DRILL_STEP_CONFIG;
    if (ops_drill_find_bindir(cfg, r.b->pg_version / 10000, r.srv.bindir, sizeof(r.srv.bindir),
                              err) < 0)
        goto out;
    snprintf(res->bindir, sizeof(res->bindir), "%s", r.srv.bindir);
    step = OPS_DRILL_STEP_FETCH;
    if (make_tmpdir(&r, err) < 0)
        goto out;
    t = clock_now_s();
    if (restore_backup(&r, err) < 0)
    {
        res->restore_s = clock_now_s() - t;
        goto out;
    }
    res->restore_s = clock_now_s() - t;

    /* ---- start and replay */
    step = OPS_DRILL_STEP_START;
    if ((size_t) snprintf(r.srv.sockdir, sizeof(r.srv.sockdir), "%s", r.tmpdir) >=
        sizeof(r.srv.sockdir) ||
        (size_t) snprintf(r.srv.logfile, sizeof(r.srv.logfile), "%s/server.log", r.tmpdir) >=
        sizeof(r.srv.logfile))
    {
        err_set(err, WS_ECONFIG, "drill directory \"%s\": path too long", r.tmpdir);
        goto out;
    }
    if (sigstop_caught() != 0)
    {
        err_set(err, WS_EINTERRUPTED, "interrupted by signal %d", sigstop_caught());
        goto out;
    }
    t = clock_now_s();
    if (ops_drill_server_start(&r.srv, err) < 0)
        goto out;
    step = OPS_DRILL_STEP_REPLAY;
    if (ops_drill_server_wait(&r.srv, o->sql != NULL && o->target.kind != BACKUP_TARGET_END,
                              cfg->drill_timeout, cfg->drill_dbname, cfg->drill_user, &r.conn,
                              err) < 0)
    {
        res->replay_s = clock_now_s() - t;
        if (err->code == WS_ESERVER || err->code == WS_ETIMEOUT)
            ops_drill_server_log_tail(&r.srv, 20);
        goto out;
    }
    res->replay_s = clock_now_s() - t;
    {
        PGresult   *q = PQexec(r.conn, "SELECT pg_catalog.pg_last_wal_replay_lsn(), "
                               "pg_catalog.pg_is_in_recovery()");

        if (PQresultStatus(q) == PGRES_TUPLES_OK && PQntuples(q) == 1)
        {
            snprintf(res->replay_lsn, sizeof(res->replay_lsn), "%s", PQgetvalue(q, 0, 0));
            res->promoted = strcmp(PQgetvalue(q, 0, 1), "f") == 0;
        }
        PQclear(q);
    }
    log_info("recovery finished at %s in %.1f s (%s)", res->replay_lsn[0] ? res->replay_lsn : "?",
             res->replay_s, res->promoted ? "promoted" : "paused at the target");

    /* ---- checks, or the query */
    t = clock_now_s();
    if (o->sql == NULL)
    {
        step = OPS_DRILL_STEP_CHECK;
        rc = run_checks(&r, err);
        res->checks_s = clock_now_s() - t;
    }
    else
    {
        step = OPS_DRILL_STEP_QUERY;
        rc = run_query_step(&r, err);
        res->query_s = clock_now_s() - t;
        if (rc == 0)
            log_info("the query returned %" PRIu64 " %s in %.1f s", res->rows,
                     res->rows == 1 ? "row" : "rows", res->query_s);
    }
    if (rc < 0)
        goto out;
    step = OPS_DRILL_STEP_NONE;
    rc = 0;
out:
    if (rc < 0)
    {
        res->failed_step = step;
        res->err = *err;
    }
    {
        struct ws_err ce = WS_ERR_INIT;

        if (cleanup(&r, &ce) < 0)
        {
            log_err(&ce);
            if (rc == 0)
            {
                res->failed_step = OPS_DRILL_STEP_CLEANUP;
                *err = ce;
                res->err = ce;
                rc = -1;
            }
        }
    }
    res->total_s = clock_now_s() - t0;
    if (o->sql == NULL && r.repo != NULL && step != OPS_DRILL_STEP_CONFIG)
        write_state(&r, res->total_s);
    if (report != NULL)
    {
        if (o->json)
            ops_drill_print_json(o, res, report);
        else
            ops_drill_print_text(o, res, report);
        fflush(report);
    }
    ops_drill_checks_free(&r.file_checks);
    catalog_backups_free(r.list, r.nlist);
    repo_close(r.repo);
    return rc;
}

/* ---- reports ------------------------------------------------------------------ */

static const char *
verdict(const struct ops_drill_result *res, enum ops_drill_step step)
{
    if (res->failed_step == step)
        return "FAIL";
    if (res->failed_step != OPS_DRILL_STEP_NONE && res->failed_step < step)
        return "SKIP";
    return "OK";
}

void
ops_drill_print_text(const struct ops_drill_options *o, const struct ops_drill_result *res,
                     FILE *out)
{
    bool        ok = res->failed_step == OPS_DRILL_STEP_NONE;
    const char *replay = res->failed_step == OPS_DRILL_STEP_START ? "FAIL" :
        verdict(res, OPS_DRILL_STEP_REPLAY);

    fprintf(out, "%-8s %s\n", "backup", res->backup_id[0] ? res->backup_id : "-");
    fprintf(out, "%-8s %s\n", "target", res->target);
    fprintf(out, "%-8s %-4s %7.1f s  %" PRIu64 " files, %" PRIu64 " bytes\n", "restore",
            verdict(res, OPS_DRILL_STEP_FETCH), res->restore_s, res->files, res->bytes);
    if (res->replay_lsn[0])
        fprintf(out, "%-8s %-4s %7.1f s  recovered to %s, %s\n", "replay", replay, res->replay_s,
                res->replay_lsn, res->promoted ? "promoted" : "paused at the target");
    else
        fprintf(out, "%-8s %-4s %7.1f s\n", "replay", replay, res->replay_s);
    for (int i = 0; o->sql == NULL && i < res->nchecks; i++)
    {
        const struct ops_drill_check_result *c = &res->checks[i];

        fprintf(out, "%-8s %-4s %7.1f s  %s: %s\n", "check", c->passed ? "OK" : "FAIL",
                c->seconds, c->name, c->detail);
    }
    if (o->sql != NULL)
        fprintf(out, "%-8s %-4s %7.1f s  %" PRIu64 " rows to %s\n", "query",
                verdict(res, OPS_DRILL_STEP_QUERY), res->query_s, res->rows,
                o->output ? o->output : "stdout");
    if (ok)
        fprintf(out, "%-8s %-4s %7.1f s  %s\n", "total", "OK", res->total_s,
                o->sql ? "selective recovery done" : "drill passed");
    else
        fprintf(out, "%-8s %-4s %7.1f s  failed at step %s: %s\n", "total", "FAIL",
                res->total_s, ops_drill_step_name(res->failed_step), res->err.msg);
}

void
ops_drill_print_json(const struct ops_drill_options *o, const struct ops_drill_result *res,
                     FILE *out)
{
    bool        ok = res->failed_step == OPS_DRILL_STEP_NONE;

    fprintf(out, "{\"schema_version\": %d, \"mode\": \"%s\", \"result\": \"%s\", "
            "\"exit_status\": %d,\n \"failed_step\": ", OPS_DRILL_SCHEMA_VERSION,
            o->sql ? "query" : "drill", ok ? "success" : "failure",
            ok ? 0 : res->err.code == WS_EINTERRUPTED && sigstop_caught() > 0 ?
            exitcode_signal(sigstop_caught()) : exitcode_for(WS_PROG_TOOL, res->err.code));
    ops_json_string(out, ops_drill_step_name(res->failed_step));
    fprintf(out, ", \"error\": ");
    ops_json_string(out, ok ? "" : res->err.msg);
    fprintf(out, ",\n \"backup\": ");
    ops_json_string(out, res->backup_id);
    fprintf(out, ", \"target\": ");
    ops_json_string(out, res->target);
    fprintf(out, ", \"replay_lsn\": ");
    ops_json_string(out, res->replay_lsn);
    fprintf(out, ", \"promoted\": %s, \"restored_bytes\": %" PRIu64 ", \"restored_files\": %"
            PRIu64 ",\n \"timings\": {\"restore_seconds\": %.3f, \"replay_seconds\": %.3f, "
            "\"checks_seconds\": %.3f, \"query_seconds\": %.3f, \"total_seconds\": %.3f},\n",
            res->promoted ? "true" : "false", res->bytes, res->files, res->restore_s,
            res->replay_s, res->checks_s, res->query_s, res->total_s);
    if (o->sql != NULL)
        fprintf(out, " \"rows\": %" PRIu64 ",\n", res->rows);
    fprintf(out, " \"state_written\": %s,\n \"checks\": [", res->state_written ? "true" : "false");
    for (int i = 0; i < res->nchecks; i++)
    {
        const struct ops_drill_check_result *c = &res->checks[i];

        fprintf(out, "%s\n  {\"name\": ", i ? "," : "");
        ops_json_string(out, c->name);
        fprintf(out, ", \"expectation\": ");
        ops_json_string(out, c->expectation);
        fprintf(out, ", \"status\": \"%s\", \"value\": ", c->passed ? "OK" : "FAIL");
        if (c->value[0] == '\0' && (c->null || !c->ran))
            fputs("null", out);
        else
            ops_json_string(out, c->value);
        fprintf(out, ", \"seconds\": %.3f, \"detail\": ", c->seconds);
        ops_json_string(out, c->detail);
        fputc('}', out);
    }
    fprintf(out, "\n]}\n");
}
