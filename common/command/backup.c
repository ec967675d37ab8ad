/*
 * backup.c — take a base backup into the repository.  See backup.h.
 */
#include "backup.h"
#include "backup_record.h"
#include "clock.h"
#include "log.h"
#include "pg.h"
#include "repo.h"
#include "tar.h"
#include "wal.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <unistd.h>

#define BACKUP_POLL_MS 250
#define CLAIM_REFRESH_MS (5 * 60 * 1000)    /* walship expire's grace counts from this */
/* say that the server is still at its checkpoint after this long (pg_basebackup: at once) */
#define BACKUP_CHECKPOINT_NOTE_MS 2000

struct checkpoint_note;
static void checkpoint_note_end(struct checkpoint_note *c);

struct run
{
    const struct cfg *cfg;
    const struct backup_options *o;
    struct repo *repo;
    struct backup_info *info;

    /* the archive being received */
    char        archive[48];        /* "base.tar" */
    uint32_t    tablespace;
    /* the object being written */
    char        key[REPO_KEY_MAX];
    char        objname[64];

    struct checkpoint_note *note;   /* the checkpoint's "waiting" note, ended by the first archive */

    /* every key this run started, for cleanup on failure */
    char      **created;
    size_t      ncreated;
};

void
backup_control_init(struct backup_control *c)
{
    pthread_mutex_init(&c->lock, NULL);
    c->socket = -1;
    c->interrupted = false;
}

void
backup_interrupt(struct backup_control *c)
{
    pthread_mutex_lock(&c->lock);
    c->interrupted = true;
    if (c->socket >= 0)
        (void) shutdown(c->socket, SHUT_RDWR);
    pthread_mutex_unlock(&c->lock);
}

static bool
interrupted(const struct backup_options *o)
{
    bool        v = false;

    if (o->control != NULL)
    {
        pthread_mutex_lock(&o->control->lock);
        v = o->control->interrupted;
        pthread_mutex_unlock(&o->control->lock);
    }
    return v;
}

static void
set_socket(const struct backup_options *o, int fd)
{
    if (o->control == NULL)
        return;
    pthread_mutex_lock(&o->control->lock);
    o->control->socket = fd;
    if (fd >= 0 && o->control->interrupted)
        (void) shutdown(fd, SHUT_RDWR);
    pthread_mutex_unlock(&o->control->lock);
}

static int
remember(struct run *r, const char *key, struct ws_err *err)
{
    char      **n = realloc(r->created, sizeof(*n) * (r->ncreated + 1));

    if (n == NULL)
        return err_set(err, WS_EINTERNAL, "out of memory");
    r->created = n;
    r->created[r->ncreated] = strdup(key);
    if (r->created[r->ncreated] == NULL)
        return err_set(err, WS_EINTERNAL, "out of memory");
    r->ncreated++;
    return 0;
}

/* Open an object writer for backups/<id>/<name>. */
static int
object_open(struct run *r, const char *name, struct filter **head, struct ws_err *err)
{
    struct repo_put p;

    *head = NULL;
    snprintf(r->objname, sizeof(r->objname), "%s", name);
    if (backup_key(r->info->id, name, r->key, sizeof(r->key), err) < 0)
        return -1;
    if (remember(r, r->key, err) < 0)
        return -1;
    repo_put_init(&p, r->cfg);
    *head = repo_put_open(r->repo, r->key, &p, err);
    return *head != NULL ? 0 : -1;
}

/* Finish the object, record it in the descriptor; frees head either way. */
static int
object_close(struct run *r, struct filter *head, uint32_t part, struct ws_err *err)
{
    struct repo_object obj;
    struct backup_object bo;
    int         rc = -1;

    if (filter_finish(head, err) < 0)
    {
        err_prefix(err, "could not store \"%s\"", r->key);
        goto out;
    }
    repo_put_result(head, &obj);
    memset(&bo, 0, sizeof(bo));
    snprintf(bo.name, sizeof(bo.name), "%s", r->objname);
    bo.tablespace = r->tablespace;
    bo.part = part;
    bo.size = obj.size;
    bo.stored = obj.stored;
    bo.xxh64 = obj.xxh64;
    if (backup_info_add_object(r->info, &bo, err) < 0)
        goto out;
    r->info->stored += obj.stored;
    log_debug("stored \"%s\": %" PRIu64 " -> %" PRIu64 " bytes", r->key, bo.size, obj.stored);
    rc = 0;
out:
    filter_free(head);
    return rc;
}

static int
part_open(void *arg, uint32_t part, struct filter **sink, struct ws_err *err)
{
    struct run *r = arg;
    char        name[64];

    snprintf(name, sizeof(name), "%s.%u", r->archive, part);
    return object_open(r, name, sink, err);
}

static int
part_close(void *arg, struct filter *sink, struct ws_err *err)
{
    struct run *r = arg;
    const char *dot = strrchr(r->objname, '.');

    return object_close(r, sink, dot ? (uint32_t) strtoul(dot + 1, NULL, 10) : 0, err);
}

static int
cb_archive_begin(void *arg, const char *name, const struct pg_tablespace *ts,
                 struct filter **sink, struct ws_err *err)
{
    struct run *r = arg;

    checkpoint_note_end(r->note);
    if (strlen(name) >= sizeof(r->archive))
        return err_set(err, WS_EIO, "archive name \"%s\" from the server is too long", name);
    snprintf(r->archive, sizeof(r->archive), "%s", name);
    r->tablespace = ts->oid;
    if (ts->oid != 0 && backup_info_add_tablespace(r->info, ts->oid, ts->location, err) < 0)
        return -1;
    *sink = tar_split_new(r->cfg->backup_part_size, part_open, part_close, r, err);
    return *sink ? 0 : -1;
}

static int
cb_archive_end(void *arg, struct filter *sink, struct ws_err *err)
{
    struct run *r = arg;
    int         rc = filter_finish(sink, err);

    filter_free(sink);
    if (rc == 0)
        log_debug("archive \"%s\" stored", r->archive);
    return rc;
}

static int
cb_manifest_begin(void *arg, struct filter **sink, struct ws_err *err)
{
    struct run *r = arg;

    r->tablespace = 0;
    return object_open(r, BACKUP_MANIFEST_NAME, sink, err);
}

static int
cb_manifest_end(void *arg, struct filter *sink, struct ws_err *err)
{
    return object_close(arg, sink, 0, err);
}

static void
cb_progress(void *arg, uint64_t done, uint64_t total)
{
    struct run *r = arg;

    r->o->progress(r->o->arg, done, total);
}

static void
status(const struct backup_options *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
status(const struct backup_options *o, const char *fmt, ...)
{
    char        msg[512];
    va_list     ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (o->status)
        o->status(o->arg, msg);
    else
        log_info("%s", msg);
}

/*
 * Rewrite backups/<id>/backup.started with a "refreshed" time: while the
 * backup waits for its WAL it stores nothing else, and walship expire takes
 * an incomplete backup silent for retain_incomplete for an abandoned one.
 * A failure only warns: the backup itself is not at stake.
 */
static void
claim_refresh(struct run *r)
{
    struct ws_err e = WS_ERR_INIT;
    char        key[REPO_KEY_MAX];
    char        text[160];
    int         n;

    if (backup_key(r->info->id, BACKUP_STARTED_NAME, key, sizeof(key), &e) < 0)
        return;
    n = snprintf(text, sizeof(text), "pid = %ld\nstarted = %lld\nrefreshed = %lld\n",
                 (long) getpid(), (long long) (r->info->start_time_us / 1000000),
                 (long long) (clock_wall_us() / 1000000));
    if (repo_raw_put(r->repo, key, REPO_REPLACE, text, (size_t) n, &e) < 0)
        log_warning("could not refresh the claim \"%s\": %s", key, e.msg);
}

/*
 * Wait until every segment from first to last is in the repository; the
 * timeout counts from the last progress, on the monotonic clock.
 */
static int
wait_for_wal(struct run *r, uint32_t tli, uint64_t first, uint64_t last, struct ws_err *err)
{
    uint32_t    segsize = repo_wal_segment_size(r->repo);
    int64_t     timeout_ms = (int64_t) r->cfg->backup_wal_timeout * 1000;
    int64_t     last_progress = clock_now_ms();
    int64_t     last_note = last_progress;
    int64_t     last_claim = last_progress;
    uint64_t    seg = first;
    bool        transient_warned = false;
    char        name[32];
    char        key[REPO_KEY_MAX];

    while (seg <= last)
    {
        struct repo_stat si;

        wal_segment_name(name, sizeof(name), tli, seg, segsize);
        if (wal_repo_key(name, key, sizeof(key)) < 0)
            return err_set(err, WS_EINTERNAL, "no repository key for \"%s\"", name);
        if (repo_stat(r->repo, key, &si, err) == 0)
        {
            seg++;
            last_progress = clock_now_ms();
            continue;
        }
        /*
         * A transient failure (a network hiccup, a 503 past the driver's own
         * retries) is no reason to throw away a backup whose data is all
         * stored: poll on through it until backup_wal_timeout, and if it
         * lasts that long, fail with it.
         */
        if (err->code == WS_ETRANSIENT)
        {
            if (!transient_warned)
                log_warning("could not check for WAL file \"%s\" (still waiting): %s", name,
                            err->msg);
            transient_warned = true;
            if (clock_now_ms() - last_progress > timeout_ms)
            {
                err_prefix(err, "while waiting for WAL file \"%s\" of backup %s", name,
                           r->info->id);
                return -1;
            }
        }
        else if (err->code != WS_ENOTFOUND)
            return -1;
        err_clear(err);
        if (interrupted(r->o))
            return err_set(err, WS_EINTERRUPTED, "interrupted while waiting for WAL file \"%s\"", name);
        if (clock_now_ms() - last_progress > timeout_ms)
        {
            err_set(err, WS_ETIMEOUT,
                    "WAL file \"%s\" needed to make the backup consistent did not reach the repository within %d seconds",
                    name, r->cfg->backup_wal_timeout);
            err_detail(err, "The backup is not usable without the WAL from %s on, so its data is removed again.",
                       r->info->start_wal);
            err_hint(err, "Check that archive_command calls walship-archive with this repository (\"%s\") and succeeds: see pg_stat_archiver and the server log.  Raise backup_wal_timeout if archiving is only slow.",
                     repo_location(r->repo));
            return -1;
        }
        if (clock_now_ms() - last_claim > CLAIM_REFRESH_MS)
        {
            claim_refresh(r);
            last_claim = clock_now_ms();
        }
        if (clock_now_ms() - last_note > 10 * 1000)
        {
            status(r->o, "still waiting for WAL file \"%s\" to be archived", name);
            last_note = clock_now_ms();
        }
        clock_sleep_ms(BACKUP_POLL_MS);
    }
    return 0;
}

/*
 * Claim an unused id (the start second, or a later one) by creating
 * backups/<id>/backup.started where create-if-absent is atomic, so that two
 * runs started in the same second never share (and clean up) each other's
 * objects.
 */
static int
choose_id(struct run *r, struct ws_err *err)
{
    for (int tries = 0; tries < 10; tries++)
    {
        char        key[REPO_KEY_MAX];
        char        text[128];
        struct repo_stat si;
        int         n;

        backup_id_format(time(NULL), r->info->id);
        if (backup_key(r->info->id, BACKUP_INFO_NAME, key, sizeof(key), err) < 0)
            return -1;
        if (repo_stat(r->repo, key, &si, err) == 0)
        {
            clock_sleep_ms(1000);
            continue;
        }
        if (err->code != WS_ENOTFOUND)
            return -1;
        err_clear(err);
        if (backup_key(r->info->id, BACKUP_STARTED_NAME, key, sizeof(key), err) < 0)
            return -1;
        n = snprintf(text, sizeof(text), "pid = %ld\nstarted = %lld\n", (long) getpid(),
                     (long long) time(NULL));
        if (repo_raw_put(r->repo, key, REPO_CREATE, text, (size_t) n, err) == 0)
            return remember(r, key, err);
        if (err->code != WS_EEXISTS)
            return -1;
        err_clear(err);
        clock_sleep_ms(1000);
    }
    return err_set(err, WS_EIO, "could not find an unused backup id in repository \"%s\"",
                   repo_location(r->repo));
}

static void
cleanup_created(struct run *r)
{
    struct ws_err e = WS_ERR_INIT;

    if (r->ncreated == 0 || r->repo == NULL)
        return;
    if (repo_delete_many(r->repo, (const char *const *) r->created, r->ncreated, &e) < 0)
        log_warning("could not remove the objects of the failed backup %s: %s", r->info->id,
                    e.msg);
    else
        log_info("removed the %zu objects of the failed backup %s", r->ncreated, r->info->id);
}

/*
 * A 17+ server writes its system identifier into the manifest
 * (pg_verifybackup checks it against the backup's pg_control): it must be
 * the one IDENTIFY_SYSTEM reported, which the repository is bound to.
 */
static int
check_manifest_sysid(const struct pg_backup_result *res, const struct pg_system *sys,
                     struct ws_err *err)
{
    uint64_t    id = 0;
    int         found;

    if (sys->server_version < 170000)
        return 0;               /* manifest version 1 has no System-Identifier */
    found = pg_manifest_system_identifier(res->manifest_head, res->manifest_head_len, &id);
    if (found <= 0)
    {
        err_set(err, WS_ECORRUPT, "the backup manifest of PostgreSQL %d has %s System-Identifier",
                sys->server_version / 10000, found == 0 ? "no" : "an invalid");
        err_detail(err, "PostgreSQL 17 and later write it in the manifest's first lines.");
        return -1;
    }
    if (id != sys->system_identifier)
    {
        err_set(err, WS_EMISMATCH, "the backup manifest's System-Identifier %" PRIu64
                " differs from the server's system identifier %" PRIu64, id,
                sys->system_identifier);
        return -1;
    }
    return 0;
}

/*
 * The server answers BASE_BACKUP only once its checkpoint is done, and a
 * spread one takes up to checkpoint_completion_target * checkpoint_timeout
 * (minutes): a thread says so once, with the way to hurry it, unless the
 * first archive arrived before BACKUP_CHECKPOINT_NOTE_MS.
 */
struct checkpoint_note
{
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool        done;
    bool        fast;
    const struct backup_options *o;
    pthread_t   thread;
    bool        started;
};

static void *
checkpoint_note_main(void *arg)
{
    struct checkpoint_note *c = arg;
    struct timespec until;
    bool        say;

    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += BACKUP_CHECKPOINT_NOTE_MS / 1000;
    until.tv_nsec += (long) (BACKUP_CHECKPOINT_NOTE_MS % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L)
        until.tv_sec++, until.tv_nsec -= 1000000000L;
    pthread_mutex_lock(&c->lock);
    while (!c->done && pthread_cond_timedwait(&c->cond, &c->lock, &until) == 0)
        ;
    say = !c->done;
    pthread_mutex_unlock(&c->lock);
    if (say && c->fast)
        status(c->o, "waiting for checkpoint (fast) on the server");
    else if (say)
        status(c->o, "waiting for checkpoint: the server spreads it over up to "
               "checkpoint_completion_target * checkpoint_timeout "
               "(hint: --checkpoint=fast starts the backup at once, at the cost of an I/O burst)");
    return NULL;
}

static void
checkpoint_note_begin(struct checkpoint_note *c, const struct backup_options *o)
{
    memset(c, 0, sizeof(*c));
    c->o = o;
    c->fast = o->fast_checkpoint;
    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->cond, NULL);
    c->started = pthread_create(&c->thread, NULL, checkpoint_note_main, c) == 0;
}

/* The checkpoint is over (or the backup failed): no note from now on. */
static void
checkpoint_note_end(struct checkpoint_note *c)
{
    if (c->o == NULL)
        return;
    pthread_mutex_lock(&c->lock);
    c->done = true;
    pthread_cond_signal(&c->cond);
    pthread_mutex_unlock(&c->lock);
    if (c->started)
        pthread_join(c->thread, NULL);
    pthread_cond_destroy(&c->cond);
    pthread_mutex_destroy(&c->lock);
    c->o = NULL;
}

/*
 * Record the attempt's outcome where `walship metrics` counts it
 * (backup_record.h).  A failure to record is only a warning: the backup's
 * own outcome is what the caller must hear.  Without the repository open
 * (the failure came before it was), open it unbound, if it exists.
 */
static void
record_outcome(const struct cfg *cfg, struct run *r, struct backup_record *rec, bool reached,
               bool success, const struct ws_err *why)
{
    struct repo *repo = r->repo;
    struct ws_err e = WS_ERR_INIT;

    if (repo == NULL && !reached && repo_open(cfg, NULL, &repo, &e) < 0)
    {
        log_debug("backup attempt not recorded: %s", e.msg);
        return;
    }
    if (repo != NULL &&
        backup_record_end(repo, rec, success, r->info->id, why != NULL ? (int) why->code : 0,
                          &e) < 0)
        log_warning("%s", e.msg);
    if (repo != r->repo)
        repo_close(repo);
}

int
backup_run(const struct cfg *cfg, const struct backup_options *o, struct backup_info *out,
           struct ws_err *err)
{
    struct backup_record rec;
    struct checkpoint_note note;
    bool        reached_repo = false;
    struct run  r;
    struct pg_conn *conn = NULL;
    struct pg_system sys;
    struct pg_control bind;
    struct pg_backup_options bo;
    struct pg_backup_callbacks cb;
    struct pg_backup_result res;
    char        archive_mode[32];
    char        label[256];
    bool        have_res = false;
    bool        done = false;
    uint32_t    segsize;
    int         rc = -1;

    memset(&r, 0, sizeof(r));
    memset(out, 0, sizeof(*out));
    memset(&res, 0, sizeof(res));
    memset(&rec, 0, sizeof(rec));
    memset(&note, 0, sizeof(note));
    r.cfg = cfg;
    r.o = o;
    r.info = out;
    r.note = &note;

    if (pg_connect_replication(cfg->pg_conninfo, &conn, err) < 0)
        goto out;
    set_socket(o, pg_socket(conn));
    if (pg_identify_system(conn, &sys, err) < 0)
        goto out;
    if (sys.server_version < PG_MIN_SERVER_VERSION)
    {
        err_set(err, WS_ECONFIG, "server version %d.%d is not supported", sys.server_version / 10000,
                sys.server_version % 10000);
        err_hint(err, "walship-basebackup needs PostgreSQL 15 or later.");
        goto out;
    }
    if (strcmp(sys.wal_level, "minimal") == 0)
    {
        err_set(err, WS_ECONFIG, "wal_level is \"minimal\": the server cannot take base backups for archive recovery");
        err_hint(err, "Set wal_level = replica (and archive_mode = on) and restart the server.");
        goto out;
    }
    if (pg_show(conn, "archive_mode", archive_mode, sizeof(archive_mode), err) < 0)
        goto out;
    if (strcmp(archive_mode, "off") == 0)
    {
        err_set(err, WS_ECONFIG, "archive_mode is off: the WAL that makes the backup consistent would never reach the repository");
        err_hint(err, "Set archive_mode = on and archive_command = 'walship-archive %%p %%f' and restart the server.");
        goto out;
    }

    memset(&bind, 0, sizeof(bind));
    bind.system_identifier = sys.system_identifier;
    bind.wal_segment_size = sys.wal_segment_size;
    bind.pg_major = (uint32_t) (sys.server_version / 10000);
    reached_repo = true;        /* from here on a failure is recorded only through r.repo */
    if (repo_open(cfg, &bind, &r.repo, err) < 0)
        goto out;
    {
        struct ws_err e = WS_ERR_INIT;

        if (backup_record_begin(r.repo, &rec, &e) < 0)
            log_warning("%s", e.msg);
    }
    segsize = repo_wal_segment_size(r.repo);
    if (choose_id(&r, err) < 0)
        goto out;

    out->format = BACKUP_INFO_FORMAT;
    if (o->label != NULL)
        snprintf(label, sizeof(label), "%s", o->label);
    else
        snprintf(label, sizeof(label), "walship %s", out->id);
    snprintf(out->label, sizeof(out->label), "%s", label);
    out->system_identifier = sys.system_identifier;
    out->pg_version = sys.server_version;
    snprintf(out->compression, sizeof(out->compression), "%s", cfg_compression_name(cfg->compression));
    snprintf(out->encryption, sizeof(out->encryption), "%s", cfg_encryption_name(cfg->encryption));
    out->start_time_us = clock_wall_us();

    memset(&bo, 0, sizeof(bo));
    bo.label = label;
    bo.fast_checkpoint = o->fast_checkpoint;
    bo.manifest = true;
    bo.wal = false;
    bo.tablespace_map = false;
    bo.max_rate_kb = o->max_rate_kb;
    bo.wait_for_archive = false;    /* we wait ourselves, with a timeout */
    memset(&cb, 0, sizeof(cb));
    cb.archive_begin = cb_archive_begin;
    cb.archive_end = cb_archive_end;
    cb.manifest_begin = cb_manifest_begin;
    cb.manifest_end = cb_manifest_end;
    cb.progress = o->progress ? cb_progress : NULL;
    cb.arg = &r;
    status(o, "starting backup %s of system %" PRIu64 " (%s checkpoint)", out->id,
           sys.system_identifier, o->fast_checkpoint ? "fast" : "spread");
    checkpoint_note_begin(&note, o);
    if (pg_base_backup(conn, &bo, &cb, &res, err) < 0)
        goto out;
    have_res = true;
    out->stop_time_us = clock_wall_us();
    set_socket(o, -1);
    pg_disconnect(conn);
    conn = NULL;

    if (check_manifest_sysid(&res, &sys, err) < 0)
        goto out;
    out->start_lsn = res.start_lsn;
    out->stop_lsn = res.stop_lsn;
    out->start_timeline = res.start_tli;
    out->timeline = res.stop_tli;
    for (int i = 0; i < out->nobjects; i++)
        if (strcmp(out->objects[i].name, BACKUP_MANIFEST_NAME) != 0)
            out->size += out->objects[i].size;
    {
        uint64_t    first = wal_lsn_to_segno(res.start_lsn, segsize);
        /* the segment holding the last byte before the stop point (XLByteToPrevSeg) */
        uint64_t    last = wal_lsn_to_segno(res.stop_lsn - 1, segsize);
        uint32_t    tli = res.stop_tli;

        wal_segment_name(out->start_wal, sizeof(out->start_wal), res.start_tli, first, segsize);
        wal_segment_name(out->stop_wal, sizeof(out->stop_wal), res.stop_tli, last, segsize);
        if (res.start_tli != res.stop_tli)
            first = last;       /* the timeline changed during the backup: check what we can name */
        status(o, "backup data stored; waiting for WAL %s .. %s to be archived",
               out->start_wal, out->stop_wal);
        if (wait_for_wal(&r, tli, first, last, err) < 0)
            goto out;
    }
    out->wal_time_us = clock_wall_us();
    if (backup_info_store(r.repo, out, err) < 0)
    {
        err_prefix(err, "could not store the descriptor of backup %s", out->id);
        goto out;
    }
    done = true;
    rc = 0;
out:
    checkpoint_note_end(&note);
    set_socket(o, -1);
    if (rc < 0 && interrupted(o))
    {
        if (out->id[0] != '\0')
            err_set(err, WS_EINTERRUPTED, "backup %s interrupted", out->id);
        else
            err_set(err, WS_EINTERRUPTED, "backup interrupted");
    }
    if (rc < 0 && !done)
        cleanup_created(&r);
    record_outcome(cfg, &r, &rec, reached_repo, rc == 0, rc == 0 ? NULL : err);
    if (have_res)
        pg_backup_result_free(&res);
    pg_disconnect(conn);
    for (size_t i = 0; i < r.ncreated; i++)
        free(r.created[i]);
    free(r.created);
    repo_close(r.repo);
    if (rc < 0)
        backup_info_free(out);
    return rc;
}
