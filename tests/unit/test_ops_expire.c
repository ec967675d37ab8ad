/*
 * test_ops_expire.c — `walship expire` (ops_expire.h) on a filesystem
 * repository with synthetic backups: descriptors with dates months apart,
 * WAL keys as empty files, walship's clock set by the test-only override
 * (clock_test_set_wall).  The monthly tier kept and the rest removed with
 * the WAL before the oldest kept backup; --dry-run prints the same plan and
 * changes nothing; the leftovers of an interrupted expire (a hidden backup
 * without its descriptor, a marker beside a kept descriptor); an abandoned
 * and an active incomplete backup; a damaged descriptor left alone; the
 * lock held (WS_ETRANSIENT), stale (taken over) and released; the refusals
 * (no policy, a policy that keeps nothing, no complete backup).
 *
 * Every test runs in its own forked process: .init clears WALSHIP_*, points
 * WALSHIP_CONFIG at an empty file and makes a scratch directory under /tmp,
 * removed by .fini.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "backup_info.h"
#include "cfg.h"
#include "clock.h"
#include "harness.h"
#include "log.h"
#include "ops_expire.h"
#include "pgcontrol.h"
#include "repo.h"
#include "wal.h"

#define SYSID 7301234567890123456ULL
#define SEG (16u * 1024 * 1024)
#define DAY_US (INT64_C(86400) * 1000000)

static char scratch[64];
static char repo_dir[PATH_MAX];
static int64_t now_us;

static int64_t
test_now(void)
{
    return now_us;
}

static int64_t
at(const char *s)
{
    struct tm   tm;

    memset(&tm, 0, sizeof(tm));
    cr_assert_not_null(strptime(s, "%Y-%m-%d %H:%M:%S", &tm), "bad date %s", s);
    return (int64_t) timegm(&tm) * 1000000;
}

static void
setup(void)
{
    harness_clear_walship_env();
    log_set_level(LOG_LEVEL_ERROR);
    harness_scratch(scratch, sizeof(scratch), "ops_expire");
    snprintf(repo_dir, sizeof(repo_dir), "%s/repo", scratch);
    cr_assert_eq(mkdir(repo_dir, 0700), 0);
    now_us = at("2026-12-04 12:00:00");
    clock_test_set_wall(test_now);
}

static void
teardown(void)
{
    clock_test_set_wall(NULL);
    harness_rm_scratch(scratch);
}

TestSuite(ops_expire, .init = setup, .fini = teardown);

/* ---- helpers ---------------------------------------------------------------- */

static void
load_cfg(struct cfg *cfg, const char *const *args)
{
    struct ws_err err = WS_ERR_INIT;
    char       *argv[16] = {"walship-test"};
    char      **rest = NULL;
    int         argc = 1, nrest = 0;

    for (; args != NULL && *args != NULL; args++)
        argv[argc++] = (char *) *args;
    argv[argc] = NULL;
    cr_assert_eq(cfg_load(cfg, argc, argv, &rest, &nrest, &err), 0, "cfg_load: %s", err.msg);
    free(rest);
    snprintf(cfg->repo, sizeof(cfg->repo), "%s", repo_dir);
}

static struct repo *
make_repo(void)
{
    struct cfg  cfg;
    struct pg_control pgc;
    struct ws_err err = WS_ERR_INIT;
    struct repo *r = NULL;

    load_cfg(&cfg, NULL);
    memset(&pgc, 0, sizeof(pgc));
    pgc.system_identifier = SYSID;
    pgc.wal_segment_size = SEG;
    pgc.pg_major = 15;
    cr_assert_eq(repo_open(&cfg, &pgc, &r, &err), 0, "repo_open: %s", err.msg);
    return r;
}

static char *
path_of(const char *key)
{
    static char path[PATH_MAX + REPO_KEY_MAX];

    snprintf(path, sizeof(path), "%s/%s", repo_dir, key);
    return path;
}

static bool
exists(const char *key)
{
    return access(path_of(key), F_OK) == 0;
}

static void
touch_key(const char *key)
{
    char       *path = path_of(key);
    int         fd;

    for (char *p = path + strlen(repo_dir) + 1; *p; p++)
        if (*p == '/')
        {
            *p = '\0';
            (void) mkdir(path, 0700);
            *p = '/';
        }
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    cr_assert(fd >= 0, "%s: %s", path, strerror(errno));
    close(fd);
}

static void
set_mtime(const char *key, int64_t t_us)
{
    struct timespec ts[2];

    ts[0].tv_sec = ts[1].tv_sec = (time_t) (t_us / 1000000);
    ts[0].tv_nsec = ts[1].tv_nsec = 0;
    cr_assert_eq(utimensat(AT_FDCWD, path_of(key), ts, 0), 0);
}

static void
wal_key(uint64_t segno, char *key)
{
    char        name[WAL_NAME_MAX + 1];

    wal_segment_name(name, sizeof(name), 1, segno, SEG);
    cr_assert_eq(wal_repo_key(name, key, REPO_KEY_MAX), 0);
}

static bool
wal_exists(uint64_t segno)
{
    char        key[REPO_KEY_MAX];

    wal_key(segno, key);
    return exists(key);
}

/* A complete backup started at t, WAL segments first..first+1, one part. */
static void
make_backup(struct repo *r, int64_t t, uint64_t first, char id[BACKUP_ID_LEN])
{
    struct backup_info b;
    struct backup_object o;
    struct ws_err err = WS_ERR_INIT;
    char        key[REPO_KEY_MAX];

    memset(&b, 0, sizeof(b));
    b.format = BACKUP_INFO_FORMAT;
    backup_id_format(t / 1000000, b.id);
    b.complete = true;
    b.system_identifier = SYSID;
    b.pg_version = 150000;
    b.timeline = b.start_timeline = 1;
    b.start_lsn = first * SEG + 40;
    b.stop_lsn = (first + 1) * SEG + 256;
    wal_segment_name(b.start_wal, sizeof(b.start_wal), 1, first, SEG);
    wal_segment_name(b.stop_wal, sizeof(b.stop_wal), 1, first + 1, SEG);
    b.start_time_us = t;
    b.stop_time_us = t + 60 * 1000000;
    b.wal_time_us = b.stop_time_us;
    snprintf(b.compression, sizeof(b.compression), "none");
    snprintf(b.encryption, sizeof(b.encryption), "none");
    memset(&o, 0, sizeof(o));
    snprintf(o.name, sizeof(o.name), "base.tar.0");
    cr_assert_eq(backup_info_add_object(&b, &o, &err), 0);
    cr_assert_eq(backup_info_store(r, &b, &err), 0, "%s", err.msg);
    cr_assert_eq(backup_key(b.id, "base.tar.0", key, sizeof(key), &err), 0);
    touch_key(key);
    cr_assert_eq(backup_key(b.id, BACKUP_STARTED_NAME, key, sizeof(key), &err), 0);
    touch_key(key);
    strcpy(id, b.id);
    backup_info_free(&b);
}

struct run
{
    int         rc;
    struct ws_err err;
    struct ops_expire_result res;
    char       *out;
};

static struct run
expire(const char *const *args, bool dry_run)
{
    struct cfg  cfg;
    struct ops_expire_options o = {.dry_run = dry_run};
    struct run  r;
    size_t      len = 0;
    FILE       *f;

    memset(&r, 0, sizeof(r));
    load_cfg(&cfg, args);
    f = open_memstream(&r.out, &len);
    cr_assert_not_null(f);
    r.rc = ops_expire_run(&cfg, &o, f, &r.res, &r.err);
    fclose(f);
    return r;
}

static bool
has_line(const struct run *r, const char *start)
{
    for (const char *p = r->out; p != NULL && *p != '\0';)
    {
        const char *nl = strchr(p, '\n');

        if (strncmp(p, start, strlen(start)) == 0)
            return true;
        p = nl != NULL ? nl + 1 : NULL;
    }
    return false;
}

/* Six monthly backups (Jul .. Dec 2026), WAL 1..80. */
struct repo6
{
    char        id[6][BACKUP_ID_LEN];
};

static struct repo6
six_months(void)
{
    struct repo *r = make_repo();
    struct repo6 s;
    static const char *const dates[] = {
        "2026-07-15 02:00:00", "2026-08-15 02:00:00", "2026-09-15 02:00:00",
        "2026-10-15 02:00:00", "2026-11-15 02:00:00", "2026-12-03 02:00:00",
    };
    char        key[REPO_KEY_MAX];

    for (int i = 0; i < 6; i++)
        make_backup(r, at(dates[i]), 10 * (uint64_t) i + 10, s.id[i]);
    for (uint64_t seg = 1; seg <= 80; seg++)
    {
        wal_key(seg, key);
        touch_key(key);
    }
    touch_key("wal/00000001/0000000100000000/00000001000000000000000A.00000028.backup");
    touch_key("wal/00000001/0000000100000000/000000010000000000000032.00000028.backup");
    touch_key("wal/00000002/00000002.history");
    repo_close(r);
    return s;
}

/* ---- tests ---------------------------------------------------------------------- */

Test(ops_expire, monthly_tier_on_a_repository)
{
    struct repo6 s = six_months();
    const char *const args[] = {"--retain_monthly=100d", NULL};
    struct run  d, r;
    char        line[128], key[REPO_KEY_MAX];

    d = expire(args, true);
    cr_assert_eq(d.rc, 0, "%s", d.err.msg);
    /* 100 days before Dec 4: Aug 26; Sep, Oct, Nov, Dec are kept */
    snprintf(line, sizeof(line), "would remove  %s  complete", s.id[0]);
    cr_assert(has_line(&d, line), "%s", d.out);
    snprintf(line, sizeof(line), "keep          %s  complete  (monthly)", s.id[2]);
    cr_assert(has_line(&d, line), "%s", d.out);
    snprintf(line, sizeof(line), "keep          %s", s.id[1]);
    cr_assert_not(has_line(&d, line), "%s", d.out);
    cr_assert(has_line(&d, "would remove  WAL timeline 1: 000000010000000000000001.."
                       "00000001000000000000001D (29 segments)"), "%s", d.out);
    cr_assert(has_line(&d, "would remove  WAL file wal/00000001/0000000100000000/"
                       "00000001000000000000000A.00000028.backup"), "%s", d.out);
    cr_assert_eq(d.res.removed, 2);
    cr_assert_eq(d.res.kept, 4);
    cr_assert_eq(d.res.wal_segments, 29);
    cr_assert(exists(BACKUP_PREFIX) && wal_exists(1), "a dry run changes nothing");
    cr_assert_not(exists(OPS_EXPIRE_LOCK_KEY), "a dry run takes no lock");

    r = expire(args, false);
    cr_assert_eq(r.rc, 0, "%s", r.err.msg);
    /* the same lines, "removed" for "would remove" */
    snprintf(line, sizeof(line), "removed       %s  complete", s.id[1]);
    cr_assert(has_line(&r, line), "%s", r.out);
    cr_assert(has_line(&r, "done: kept 4 complete backups, removed 2 backups (0 incomplete), "
                       "29 WAL segments and 1 other WAL file"), "%s", r.out);
    for (int i = 0; i < 6; i++)
    {
        snprintf(key, sizeof(key), "backups/%s", s.id[i]);
        cr_assert_eq(exists(key), i >= 2, "%s", key);
    }
    cr_assert_not(wal_exists(29));
    for (uint64_t seg = 30; seg <= 80; seg++)
        cr_assert(wal_exists(seg), "segment %lu kept", (unsigned long) seg);
    cr_assert(exists("wal/00000001/0000000100000000/000000010000000000000032.00000028.backup"));
    cr_assert(exists("wal/00000002/00000002.history"), "history files stay");
    cr_assert_not(exists(OPS_EXPIRE_LOCK_KEY), "the lock is released");
    free(d.out);
    free(r.out);
}

Test(ops_expire, pitr_keeps_older_backups_own_wal_only)
{
    struct repo6 s = six_months();
    const char *const args[] = {"--retain_monthly=1y", "--retain_pitr=7d", NULL};
    struct run  r = expire(args, false);

    (void) s;
    cr_assert_eq(r.rc, 0, "%s", r.err.msg);
    /* all kept by monthly; Nov 15 is the PITR backup (consistent before Nov 27 12:00) */
    cr_assert_eq(r.res.kept, 6);
    cr_assert_eq(r.res.removed, 0);
    for (uint64_t seg = 1; seg <= 80; seg++)
    {
        bool        need = (seg >= 10 && seg <= 11) || (seg >= 20 && seg <= 21) ||
            (seg >= 30 && seg <= 31) || (seg >= 40 && seg <= 41) || seg >= 50;

        cr_assert_eq(wal_exists(seg), need, "segment %lu", (unsigned long) seg);
    }
    free(r.out);
}

Test(ops_expire, leftovers_of_an_interrupted_expire)
{
    struct repo6 s = six_months();
    const char *const args[] = {"--retain_full=2", NULL};
    char        key[REPO_KEY_MAX];
    struct ws_err err = WS_ERR_INIT;
    struct run  r;

    /* s.id[5]: the marker written but the descriptor not yet removed: still complete */
    cr_assert_eq(backup_key(s.id[5], OPS_EXPIRE_MARKER_NAME, key, sizeof(key), &err), 0);
    touch_key(key);
    /* s.id[0]: hidden (no descriptor), its part still there, recent mtime */
    cr_assert_eq(backup_key(s.id[0], OPS_EXPIRE_MARKER_NAME, key, sizeof(key), &err), 0);
    touch_key(key);
    cr_assert_eq(backup_key(s.id[0], BACKUP_INFO_NAME, key, sizeof(key), &err), 0);
    cr_assert_eq(unlink(path_of(key)), 0);
    now_us = at("2026-12-03 12:00:00");
    r = expire(args, false);
    cr_assert_eq(r.rc, 0, "%s", r.err.msg);
    snprintf(key, sizeof(key), "removed       %s  incomplete", s.id[0]);
    cr_assert(has_line(&r, key), "a hidden leftover goes at once:\n%s", r.out);
    snprintf(key, sizeof(key), "backups/%s", s.id[0]);
    cr_assert_not(exists(key));
    cr_assert_eq(backup_key(s.id[5], OPS_EXPIRE_MARKER_NAME, key, sizeof(key), &err), 0);
    cr_assert_not(exists(key), "the stale marker of a kept backup is removed");
    cr_assert_eq(backup_key(s.id[5], BACKUP_INFO_NAME, key, sizeof(key), &err), 0);
    cr_assert(exists(key));
    free(r.out);
}

Test(ops_expire, incomplete_grace_and_a_damaged_descriptor)
{
    struct repo6 s = six_months();
    const char *const args[] = {"--retain_full=1", NULL};
    struct run  r;
    char        line[128];

    (void) s;
    /* abandoned: its objects and claim are two days old */
    touch_key("backups/20261202T000000Z/base.tar.0");
    set_mtime("backups/20261202T000000Z/base.tar.0", at("2026-12-02 00:10:00"));
    /* active: started 3 days ago, but its claim was refreshed an hour ago */
    touch_key("backups/20261201T000000Z/backup.started");
    {
        FILE       *f = fopen(path_of("backups/20261201T000000Z/backup.started"), "w");

        cr_assert_not_null(f);
        fprintf(f, "pid = 1\nstarted = %lld\nrefreshed = %lld\n",
                (long long) (at("2026-12-01 00:00:00") / 1000000),
                (long long) (now_us / 1000000 - 3600));
        fclose(f);
    }
    set_mtime("backups/20261201T000000Z/backup.started", at("2026-12-01 00:00:00"));
    /* damaged: a descriptor that is not an object */
    touch_key("backups/20261203T120000Z/backup.info");
    r = expire(args, false);
    cr_assert_eq(r.rc, 0, "%s", r.err.msg);
    cr_assert(has_line(&r, "removed       20261202T000000Z  incomplete"), "%s", r.out);
    cr_assert(has_line(&r, "keep          20261201T000000Z  incomplete  (grace)"), "%s", r.out);
    cr_assert(has_line(&r, "keep          20261203T120000Z  damaged  (damaged)"), "%s", r.out);
    snprintf(line, sizeof(line), "keep          %s  complete  (full)", s.id[5]);
    cr_assert(has_line(&r, line), "%s", r.out);
    cr_assert_eq(r.res.damaged, 1);
    cr_assert(exists("backups/20261203T120000Z/backup.info"), "the damaged one is left alone");
    /* the active incomplete backup started before the newest: no WAL may go */
    cr_assert(wal_exists(1), "no WAL removed while a backup may still run");
    free(r.out);
}

Test(ops_expire, a_damaged_newest_descriptor_does_not_count)
{
    struct repo *r = make_repo();
    char        id[BACKUP_ID_LEN], id2[BACKUP_ID_LEN];
    char        key[REPO_KEY_MAX];
    const char *const args[] = {"--retain_full=1", NULL};
    struct run  res;
    struct backup_info b;
    struct ws_err err = WS_ERR_INIT;

    make_backup(r, at("2026-11-01 02:00:00"), 10, id);
    make_backup(r, at("2026-12-01 02:00:00"), 20, id2);
    /* the newest's descriptor rewritten with a start_wal that is no segment name */
    memset(&b, 0, sizeof(b));
    cr_assert_eq(backup_info_load(r, id2, &b, &err), 0, "%s", err.msg);
    snprintf(b.start_wal, sizeof(b.start_wal), "unknown");
    cr_assert_eq(backup_key(id2, BACKUP_INFO_NAME, key, sizeof(key), &err), 0);
    cr_assert_eq(unlink(path_of(key)), 0);
    cr_assert_eq(backup_info_store(r, &b, &err), 0, "%s", err.msg);
    backup_info_free(&b);
    for (uint64_t seg = 1; seg <= 30; seg++)
    {
        wal_key(seg, key);
        touch_key(key);
    }
    repo_close(r);
    res = expire(args, false);
    cr_assert_eq(res.rc, 0, "%s", res.err.msg);
    /* the damaged one is left alone and counts for nothing: the older one is the newest */
    snprintf(key, sizeof(key), "keep          %s  complete  (full)", id);
    cr_assert(has_line(&res, key), "%s", res.out);
    snprintf(key, sizeof(key), "keep          %s  damaged  (damaged)", id2);
    cr_assert(has_line(&res, key), "%s", res.out);
    cr_assert_eq(res.res.damaged, 1);
    /* it is newer than the WAL that goes: that WAL is no concern of it */
    cr_assert_not(wal_exists(9));
    for (uint64_t seg = 10; seg <= 30; seg++)
        cr_assert(wal_exists(seg), "segment %lu stays", (unsigned long) seg);
    free(res.out);
}

Test(ops_expire, an_older_damaged_descriptor_keeps_the_wal)
{
    struct repo6 s = six_months();
    const char *const args[] = {"--retain_full=2", NULL};
    struct run  r;

    (void) s;
    /* damaged, and older than the kept backups: its WAL is not known */
    touch_key("backups/20260801T000000Z/backup.info");
    r = expire(args, false);
    cr_assert_eq(r.rc, 0, "%s", r.err.msg);
    cr_assert(has_line(&r, "keep          20260801T000000Z  damaged  (damaged)"), "%s", r.out);
    cr_assert_eq(r.res.removed, 4);
    cr_assert_eq(r.res.wal_segments, 0);
    cr_assert(wal_exists(1));
    free(r.out);
}

Test(ops_expire, lock_held_stale_and_released)
{
    struct repo6 s = six_months();
    const char *const args[] = {"--retain_full=6", NULL};
    struct run  r;
    FILE       *f;

    (void) s;
    touch_key(OPS_EXPIRE_LOCK_KEY);
    f = fopen(path_of(OPS_EXPIRE_LOCK_KEY), "w");
    cr_assert_not_null(f);
    fprintf(f, "owner = elsewhere:1\ntoken = t\nrefreshed = %lld\n",
            (long long) (now_us / 1000000 - 60));
    fclose(f);
    r = expire(args, false);
    cr_assert_eq(r.rc, -1);
    cr_assert_eq(r.err.code, WS_ETRANSIENT);
    cr_assert(strstr(r.err.msg, "elsewhere:1") != NULL, "%s", r.err.msg);
    cr_assert(exists(OPS_EXPIRE_LOCK_KEY), "someone else's lock stays");
    free(r.out);

    now_us += (OPS_EXPIRE_LOCK_STALE_S + 1) * INT64_C(1000000);
    r = expire(args, false);
    cr_assert_eq(r.rc, 0, "a stale lock is taken over: %s", r.err.msg);
    cr_assert_not(exists(OPS_EXPIRE_LOCK_KEY));
    free(r.out);
}

Test(ops_expire, refusals_remove_nothing)
{
    struct repo6 s = six_months();
    const char *const none[] = {NULL};
    const char *const nothing[] = {"--retain_daily=1h", NULL};
    struct run  r;
    char        key[REPO_KEY_MAX];

    r = expire(none, false);
    cr_assert_eq(r.rc, -1);
    cr_assert_eq(r.err.code, WS_ECONFIG);
    cr_assert(strstr(r.err.msg, "no retention policy") != NULL, "%s", r.err.msg);
    free(r.out);
    r = expire(nothing, false);
    cr_assert_eq(r.rc, -1);
    cr_assert_eq(r.err.code, WS_ECONFIG);
    cr_assert(strstr(r.err.msg, "would remove every backup") != NULL, "%s", r.err.msg);
    cr_assert(strstr(r.err.detail, s.id[5]) != NULL, "%s", r.err.detail);
    free(r.out);
    for (int i = 0; i < 6; i++)
    {
        snprintf(key, sizeof(key), "backups/%s/backup.info", s.id[i]);
        cr_assert(exists(key), "%s", key);
    }
    cr_assert(wal_exists(1));
    cr_assert_not(exists(OPS_EXPIRE_LOCK_KEY), "the lock is released after a refusal");
}

Test(ops_expire, empty_repository)
{
    struct repo *rp = make_repo();
    const char *const args[] = {"--retain_full=1", NULL};
    struct run  r;

    repo_close(rp);
    r = expire(args, false);
    cr_assert_eq(r.rc, -1);
    cr_assert_eq(r.err.code, WS_ENOTFOUND);
    cr_assert(strstr(r.err.msg, "no complete backup") != NULL, "%s", r.err.msg);
    cr_assert(strstr(r.err.msg, repo_dir) != NULL, "names the repository: %s", r.err.msg);
    free(r.out);
}

/* ---- storage classes: a directory driver that records set_class ------------------ */

#include "storage.h"

struct classy
{
    struct storage base;
    struct storage *inner;
};

static char classy_log[64][REPO_KEY_MAX + 32];
static int  classy_n;

static int
classy_put_open(struct storage *st, const char *key, unsigned flags, struct filter **sink,
                struct ws_err *err)
{
    return storage_put_open(((struct classy *) st)->inner, key, flags, sink, err);
}

static int
classy_get(struct storage *st, const char *key, uint64_t off, uint64_t len, struct filter *sink,
           struct ws_err *err)
{
    return storage_get(((struct classy *) st)->inner, key, off, len, sink, err);
}

static int
classy_head(struct storage *st, const char *key, struct storage_info *info, struct ws_err *err)
{
    return storage_head(((struct classy *) st)->inner, key, info, err);
}

static int
classy_list(struct storage *st, const char *prefix, storage_list_cb cb, void *arg,
            struct ws_err *err)
{
    return storage_list(((struct classy *) st)->inner, prefix, cb, arg, err);
}

static int
classy_remove(struct storage *st, const char *key, struct ws_err *err)
{
    return storage_remove(((struct classy *) st)->inner, key, err);
}

static int
classy_sync(struct storage *st, const char *key, struct ws_err *err)
{
    return storage_sync(((struct classy *) st)->inner, key, err);
}

static int
classy_set_class(struct storage *st, const char *key, const char *cls, struct ws_err *err)
{
    (void) st;
    (void) err;
    if (classy_n < 64)
        snprintf(classy_log[classy_n++], sizeof(classy_log[0]), "%s %s", cls, key);
    return 0;
}

static void
classy_free(struct storage *st)
{
    storage_free(((struct classy *) st)->inner);
    free(st);
}

static const struct storage_ops classy_ops = {
    .name = "classy",
    .features = STORAGE_F_ATOMIC_NO_OVERWRITE | STORAGE_F_RANGE_GET,
    .put_open = classy_put_open,
    .get = classy_get,
    .head = classy_head,
    .list = classy_list,
    .remove = classy_remove,
    .sync = classy_sync,
    .set_class = classy_set_class,
    .free = classy_free,
};

static struct storage *
classy_wrap(struct storage *inner, void *arg)
{
    struct classy *c = calloc(1, sizeof(*c));

    (void) arg;
    cr_assert_not_null(c);
    c->base.ops = &classy_ops;
    snprintf(c->base.location, sizeof(c->base.location), "%s", inner->location);
    c->inner = inner;
    return &c->base;
}

static bool
classy_has(const char *line)
{
    for (int i = 0; i < classy_n; i++)
        if (strcmp(classy_log[i], line) == 0)
            return true;
    return false;
}

Test(ops_expire, monthly_copies_move_to_their_storage_class)
{
    struct repo6 s = six_months();
    const char *const args[] = {"--retain_full=1", "--retain_monthly=100d",
                                "--s3_storage_class_monthly=GLACIER", NULL};
    struct run  d, r;
    char        line[REPO_KEY_MAX + 64];

    storage_set_wrap(classy_wrap, NULL);
    d = expire(args, true);
    cr_assert_eq(d.rc, 0, "%s", d.err.msg);
    for (int i = 2; i <= 4; i++)
    {
        snprintf(line, sizeof(line), "would move %s  to storage class GLACIER", s.id[i]);
        cr_assert(has_line(&d, line), "%s", d.out);
    }
    snprintf(line, sizeof(line), "would move %s", s.id[5]);
    cr_assert_not(has_line(&d, line), "the newest stays readable: %s", d.out);
    cr_assert_eq(classy_n, 0, "a dry run moves nothing");

    r = expire(args, false);
    cr_assert_eq(r.rc, 0, "%s", r.err.msg);
    for (int i = 2; i <= 4; i++)
    {
        char        seg[WAL_NAME_MAX + 1], key[REPO_KEY_MAX];

        snprintf(line, sizeof(line), "GLACIER backups/%s/base.tar.0", s.id[i]);
        cr_assert(classy_has(line), "%s moved (%d calls)", line, classy_n);
        /* its start..stop segments, which no other backup needs */
        wal_segment_name(seg, sizeof(seg), 1, 10 * (uint64_t) i + 10, SEG);
        cr_assert_eq(wal_repo_key(seg, key, sizeof(key)), 0);
        snprintf(line, sizeof(line), "GLACIER %s", key);
        cr_assert(classy_has(line), "%s moved", line);
    }
    snprintf(line, sizeof(line), "GLACIER backups/%s/base.tar.0", s.id[5]);
    cr_assert_not(classy_has(line), "the newest backup is not moved");
    snprintf(line, sizeof(line), "GLACIER backups/%s/backup.info", s.id[3]);
    cr_assert_not(classy_has(line), "descriptors stay in the default class");
    cr_assert_eq(r.res.moved, 3 * 3, "3 backups: a part and 2 segments each (%lu)",
                 (unsigned long) r.res.moved);
    storage_set_wrap(NULL, NULL);
    free(d.out);
    free(r.out);
}
