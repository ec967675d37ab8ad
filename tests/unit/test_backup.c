/*
 * test_backup.c — the storage error paths of the backup engine, backup_run()
 * (common/command/backup.c), against a real PostgreSQL 15 cluster.
 *
 * Each test makes its own cluster (pg_cluster.h) with archive_mode = on and
 * archive_command = walship-archive from the build directory, configured
 * with the test's repository: backup_run waits until the backup's WAL is in
 * the repository.  The archiver is a process of its own and is never
 * faulted; the fault-injecting driver (storage_fault.h) wraps only the
 * storages backup_run opens in the test process.
 *
 * A fault at one storage call must give the ws_code and exit status of
 * docs/exit-codes.md, leave no object under backups/ (backup_run removes
 * what it stored), and a later backup without the fault must succeed.
 *
 * When run as root the server and walship-archive run as pgtest, so
 * backup_run runs with effective user pgtest too: the repository's
 * directories stay writable for both.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backup.h"
#include "backup_info.h"
#include "cfg.h"
#include "err.h"
#include "harness.h"
#include "log.h"
#include "pg_cluster.h"
#include "storage.h"
#include "storage_fault.h"

static char work[64];          /* repository and configuration, owned by the pg user */
static char repo_dir[128];
static char conf_path[128];

static void
teardown(void)
{
    cluster_fini();
    if (work[0] != '\0' && getenv("WS_KEEP_TMP") == NULL)
        run("rm -rf '%s'", work);
}

TestSuite(backup, .fini = teardown);

/* ---- the cluster, the repository, the configuration ------------------------------- */

/* Run the next calls with the pg user's effective ids (root only), or back. */
static void
as_pg_user(bool on)
{
    struct passwd *pw;

    if (cl.user[0] == '\0')
        return;
    if (!on)
    {
        cr_assert_eq(seteuid(0), 0, "seteuid(0): %s", strerror(errno));
        cr_assert_eq(setegid(0), 0, "setegid(0): %s", strerror(errno));
        return;
    }
    pw = getpwnam(cl.user);
    cr_assert_not_null(pw);
    cr_assert_eq(setegid(pw->pw_gid), 0, "setegid: %s", strerror(errno));
    cr_assert_eq(seteuid(pw->pw_uid), 0, "seteuid: %s", strerror(errno));
}

/*
 * A started cluster archiving into work/repo with walship-archive, a table
 * with a few rows, and *cfg for backup_run on it.  Skips without PostgreSQL.
 */
static void
start(struct cfg *cfg)
{
    struct ws_err err = WS_ERR_INIT;
    const char *why = NULL;
    const char *user;
    char      **rest = NULL;
    int         nrest = 0;
    char        conf[1024];
    FILE       *f;

    harness_clear_walship_env();
    log_set_level(LOG_LEVEL_ERROR);
    user = pg_user(&why);
    if (user == NULL)
        cr_skip_test("%s", why);
    strcpy(work, "/tmp/ws_bk.XXXXXX");
    cr_assert_eq(make_dir(work, user), 0, "mkdtemp/chown: %s", strerror(errno));
    snprintf(repo_dir, sizeof(repo_dir), "%s/repo", work);
    snprintf(conf_path, sizeof(conf_path), "%s/walship.conf", work);
    f = fopen(conf_path, "w");
    cr_assert_not_null(f, "%s: %s", conf_path, strerror(errno));
    fprintf(f, "repo = '%s'\ncompression = none\n", repo_dir);
    fclose(f);
    cr_assert_eq(run("mkdir -m 700 '%s' && { [ -z '%s' ] || chown -R '%s:' '%s'; }", repo_dir,
                     user, user, work), 0);

    snprintf(conf, sizeof(conf), "archive_mode = on\n"
             "archive_command = '%s/walship-archive --config=%s %%p %%f'\n"
             "archive_timeout = 0\n", WS_BUILD_DIR, conf_path);
    if (cluster_start("", conf, &why) != 0)
        cr_skip_test("%s", why);
    sql("postgres", "CREATE TABLE t AS SELECT i, md5(i::text) AS v FROM generate_series(1, 50) i");

    cr_assert_eq(cfg_load(cfg, 1, (char *[]){"walship-test", NULL}, &rest, &nrest, &err), 0,
                 "cfg_load: %s", err.msg);
    free(rest);
    snprintf(cfg->repo, sizeof(cfg->repo), "%s", repo_dir);
    snprintf(cfg->pg_conninfo, sizeof(cfg->pg_conninfo), "%s dbname=postgres", cl.conninfo);
    cfg->compression = CFG_COMPRESS_NONE;
    cfg->retry_attempts = 0;
    cfg->retry_delay_ms = 1;
    cfg->backup_wal_timeout = 60;
}

static int
take_backup(const struct cfg *cfg, struct backup_info *info, struct ws_err *err)
{
    struct backup_options o;
    int         rc;

    memset(&o, 0, sizeof(o));
    o.fast_checkpoint = true;
    as_pg_user(true);
    rc = backup_run(cfg, &o, info, err);
    as_pg_user(false);
    return rc;
}

static int  left_files;
static int  left_dirs;
static char left_first[PATH_MAX];

static int
count_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void) sb;
    if (ftw->level == 0)
        return 0;
    if (flag == FTW_F || flag == FTW_SL)
    {
        if (left_files++ == 0)
            snprintf(left_first, sizeof(left_first), "%s", path);
    }
    else
        left_dirs++;
    return 0;
}

/* What is under repo/backups: regular files (asserted none) and directories. */
static void
count_backups(void)
{
    char        dir[PATH_MAX];

    left_files = left_dirs = 0;
    left_first[0] = '\0';
    snprintf(dir, sizeof(dir), "%s/backups", repo_dir);
    if (access(dir, F_OK) == 0)
        cr_assert_eq(nftw(dir, count_entry, 16, FTW_PHYS), 0, "nftw %s: %s", dir,
                     strerror(errno));
}

/* ---- storage error paths, through the fault-injecting driver ---------------------- */

/* arrays, not pointers: Criterion hands parameters to another process */
struct backup_fault
{
    char        what[48];
    enum fault_op op;
    char        key_part[32];   /* the fault hits only keys containing this ("": any) */
    enum fault_kind kind;
    enum ws_code code;
    int         exit_status;
    int         dirs_left;      /* empty directories known to stay under backups/ */
};

static struct backup_fault backup_faults[] = {
    /* (the filesystem repository, where backup_run makes no retries) */
    {"part commit no space", FAULT_OP_PUT_FINISH, "base.tar", FAULT_NOSPACE, WS_ENOSPC, 8, 0},
    {"part write transient", FAULT_OP_PUT_WRITE, "base.tar", FAULT_TRANSIENT, WS_ETRANSIENT,
     7, 0},
    {"descriptor permission", FAULT_OP_PUT_OPEN, BACKUP_INFO_NAME, FAULT_PERMISSION, WS_EIO, 1,
     0},
    {"descriptor commit no space", FAULT_OP_PUT_FINISH, BACKUP_INFO_NAME, FAULT_NOSPACE,
     WS_ENOSPC, 8, 0},
    {"manifest commit transient", FAULT_OP_PUT_FINISH, BACKUP_MANIFEST_NAME, FAULT_TRANSIENT,
     WS_ETRANSIENT, 7, 0},
    /* the wait for WAL polls on through a transient HEAD, and fails with it
     * once backup_wal_timeout has passed (see wal_head_transient_once) */
    {"WAL head transient", FAULT_OP_HEAD, "wal/", FAULT_TRANSIENT, WS_ETRANSIENT, 7, 0},
    {"WAL head permission", FAULT_OP_HEAD, "wal/", FAULT_PERMISSION, WS_EIO, 1, 0},
    {"claim permission", FAULT_OP_PUT_OPEN, BACKUP_STARTED_NAME, FAULT_PERMISSION, WS_EIO, 1,
     0},
    /* the claim is remembered only once stored, so nothing is cleaned up, and the
     * filesystem driver's aborted put leaves the directory backups/<id>/ it made */
    {"claim commit transient", FAULT_OP_PUT_FINISH, BACKUP_STARTED_NAME, FAULT_TRANSIENT,
     WS_ETRANSIENT, 7, 1},
    {"claim head transient", FAULT_OP_HEAD, BACKUP_INFO_NAME, FAULT_TRANSIENT, WS_ETRANSIENT,
     7, 0},
};

ParameterizedTestParameters(backup, storage_error_paths)
{
    return cr_make_param_array(struct backup_fault, backup_faults,
                               sizeof(backup_faults) / sizeof(backup_faults[0]));
}

ParameterizedTest(struct backup_fault *c, backup, storage_error_paths, .timeout = 180)
{
    struct cfg  cfg;
    struct backup_info info;
    struct ws_err err = WS_ERR_INIT;
    char        path[PATH_MAX];

    start(&cfg);
    /* a persistent transient HEAD on the WAL is waited out for backup_wal_timeout */
    if (c->op == FAULT_OP_HEAD && c->kind == FAULT_TRANSIENT)
        cfg.backup_wal_timeout = 2;

    storage_fault_install();
    storage_fault_add_key(c->op, 1, c->kind, true, c->key_part[0] ? c->key_part : NULL);
    cr_assert_eq(take_backup(&cfg, &info, &err), -1, "%s: the backup succeeded", c->what);
    cfg.backup_wal_timeout = 60;
    cr_assert_geq(storage_fault_injected(), 1, "%s: the fault was never reached (%s)", c->what,
                  err.msg);
    cr_assert_eq(err.code, c->code, "%s: code %s, want %s: %s", c->what, err_code_name(err.code),
                 err_code_name(c->code), err.msg);
    cr_assert_eq(exitcode_for(WS_PROG_TOOL, err.code), c->exit_status, "%s: exit status",
                 c->what);
    cr_assert(strstr(err.msg, c->key_part) != NULL, "%s: the message does not name the key: %s",
              c->what, err.msg);
    storage_set_wrap(NULL, NULL);

    count_backups();
    cr_assert_eq(left_files, 0, "%s: %d objects left under backups/, e.g. %s", c->what,
                 left_files, left_first);
    cr_assert_eq(left_dirs, c->dirs_left, "%s: %d empty directories left under backups/, "
                 "want %d", c->what, left_dirs, c->dirs_left);

    /* without the fault a backup succeeds */
    err_clear(&err);
    cr_assert_eq(take_backup(&cfg, &info, &err), 0, "%s: %s", c->what, err.msg);
    snprintf(path, sizeof(path), "%s/backups/%s/%s", repo_dir, info.id, BACKUP_INFO_NAME);
    backup_info_free(&info);
    cr_assert_eq(access(path, F_OK), 0, "%s: no %s after the backup", c->what, path);
}

/*
 * One transient HEAD while waiting for the backup's WAL: before, the run
 * failed at once with WS_ETRANSIENT, after all the data was streamed, and
 * removed the backup (wait_for_wal treated every error but WS_ENOTFOUND as
 * final).  Now it polls on within backup_wal_timeout and the backup
 * completes.
 */
Test(backup, wal_head_transient_once, .timeout = 180)
{
    struct cfg  cfg;
    struct backup_info info;
    struct ws_err err = WS_ERR_INIT;

    start(&cfg);
    storage_fault_install();
    storage_fault_add_key(FAULT_OP_HEAD, 1, FAULT_TRANSIENT, false, "wal/");
    cr_assert_eq(take_backup(&cfg, &info, &err), 0, "%s: %s", err_code_name(err.code), err.msg);
    cr_assert_eq(storage_fault_injected(), 1);
    cr_assert_geq(storage_fault_calls(FAULT_OP_HEAD), 3, "%u HEADs: the failed one was not polled again",
                  storage_fault_calls(FAULT_OP_HEAD));
    storage_set_wrap(NULL, NULL);
    backup_info_free(&info);
}
