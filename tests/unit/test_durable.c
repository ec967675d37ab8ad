/*
 * test_durable.c — which names walship fsyncs before it answers 0: the
 * "already archived and identical" answers of archive_push_file (found by
 * head, or after losing a create-if-absent race), file_mkdir_parents on
 * directories that already exist, and the filesystem driver's storage_sync.
 *
 * An earlier run may have died between link() and the directory fsync: the
 * object is visible but its name (or a directory's) is not yet durable.  An
 * answer of 0 lets PostgreSQL recycle the segment, so every such answer must
 * first fsync the object and every directory from its own up to the
 * repository root.
 *
 * This executable is linked with -Wl,--wrap=fsync (CMakeLists.txt, this
 * target only): every fsync walship makes goes through __wrap_fsync, which
 * records the path of the descriptor (from /proc/self/fd) and can run a hook
 * (to let a "concurrent archiver" store the object just before link()).
 * Every test runs in its own forked process: .init clears WALSHIP_*, makes a
 * scratch directory under /tmp (removed by .fini).
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
#include <unistd.h>

#include "harness.h"
#include "archive.h"
#include "cfg.h"
#include "fileutil.h"
#include "log.h"
#include "pgcontrol.h"
#include "repo.h"
#include "restore.h"
#include "storage.h"
#include "wal.h"

#define SEG_SIZE (1u * 1024 * 1024)
#define SEG5 "000000010000000000000005"
#define SEG5_KEY "wal/00000001/0000000100000000/" SEG5

static char scratch[64];
static char real_scratch[PATH_MAX];     /* what /proc/self/fd shows for it */

/* ---- the fsync log -------------------------------------------------------- */

#define SYNC_LOG_MAX 256

static char sync_log[SYNC_LOG_MAX][PATH_MAX];
static int  sync_n;
static void (*sync_hook) (const char *path);

int         __real_fsync(int fd);
int         __wrap_fsync(int fd);

int
__wrap_fsync(int fd)
{
    char        proc[64];
    char        path[PATH_MAX];
    ssize_t     n;

    snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
    n = readlink(proc, path, sizeof(path) - 1);
    path[n > 0 ? n : 0] = '\0';
    if (sync_n < SYNC_LOG_MAX)
        snprintf(sync_log[sync_n++], PATH_MAX, "%s", path);
    if (sync_hook != NULL)
        sync_hook(path);
    return __real_fsync(fd);
}

static void
sync_log_reset(void)
{
    sync_n = 0;
}

/* Index of the first fsync of scratch/<rel> ("" for scratch itself) in the log, or -1. */
static int
synced(const char *rel)
{
    char        want[PATH_MAX + 8];

    snprintf(want, sizeof(want), "%s%s%s", real_scratch, rel[0] ? "/" : "", rel);
    for (int i = 0; i < sync_n; i++)
        if (strcmp(sync_log[i], want) == 0)
            return i;
    return -1;
}

static const char *
sync_log_text(void)
{
    static char buf[8192];
    size_t      off = 0;

    buf[0] = '\0';
    for (int i = 0; i < sync_n && off < sizeof(buf) - 1; i++)
        off += (size_t) snprintf(buf + off, sizeof(buf) - off, "%s%s", i ? ", " : "",
                                 sync_log[i]);
    return sync_n ? buf : "(none)";
}

/*
 * Assert that scratch/<rel> and every directory from its own up to
 * scratch/<root> (inclusive) were fsynced.
 */
static void
assert_chain_synced(const char *root, const char *rel)
{
    char        p[PATH_MAX];
    size_t      rootlen = strlen(root);

    snprintf(p, sizeof(p), "%s", rel);
    for (;;)
    {
        char       *slash;

        cr_assert_geq(synced(p), 0, "\"%s\" was not fsynced; fsyncs: %s", p, sync_log_text());
        if (strlen(p) <= rootlen)
            break;
        slash = strrchr(p, '/');
        if (slash == NULL)
            p[0] = '\0';
        else
            *slash = '\0';
    }
}

/* ---- fixtures ------------------------------------------------------------- */

static void
setup(void)
{
    harness_clear_walship_env();
    log_set_level(LOG_LEVEL_ERROR);
    harness_scratch(scratch, sizeof(scratch), "durable");
    cr_assert_not_null(realpath(scratch, real_scratch), "realpath %s: %s", scratch,
                       strerror(errno));
    sync_log_reset();
    sync_hook = NULL;
}

static void
teardown(void)
{
    sync_hook = NULL;
    harness_rm_scratch(scratch);
}

TestSuite(durable, .init = setup, .fini = teardown);

struct fixture
{
    struct cfg  cfg;
    struct pg_control pgc;
    struct repo *repo;
    char        dir[PATH_MAX];
};

/* An unencrypted repository in scratch/repo. */
static void
open_fixture(struct fixture *fx)
{
    struct ws_err err = WS_ERR_INIT;
    char      **rest = NULL;
    int         nrest = 0;

    memset(fx, 0, sizeof(*fx));
    snprintf(fx->dir, sizeof(fx->dir), "%s/repo", scratch);
    cr_assert_eq(mkdir(fx->dir, 0700), 0, "mkdir %s: %s", fx->dir, strerror(errno));
    cr_assert_eq(cfg_load(&fx->cfg, 1, (char *[]){"walship-test", NULL}, &rest, &nrest, &err),
                 0, "cfg_load: %s", err.msg);
    free(rest);
    snprintf(fx->cfg.repo, sizeof(fx->cfg.repo), "%s", fx->dir);
    fx->cfg.compression = CFG_COMPRESS_ZSTD;
    fx->cfg.encryption = CFG_ENCRYPT_NONE;
    fx->cfg.retry_attempts = 0;
    fx->cfg.retry_delay_ms = 1;
    fx->pgc.system_identifier = 7301234567890123456ULL;
    fx->pgc.pg_control_version = 1300;
    fx->pgc.catalog_version = 202209061;
    fx->pgc.block_size = 8192;
    fx->pgc.wal_block_size = 8192;
    fx->pgc.wal_segment_size = SEG_SIZE;
    fx->pgc.pg_major = 15;
    cr_assert_eq(repo_open(&fx->cfg, &fx->pgc, &fx->repo, &err), 0, "repo_open: %s", err.msg);
}

/* A WAL-like segment in scratch/<name>; returns its path. */
static const char *
make_wal(const char *name)
{
    static char path[PATH_MAX + 64];
    unsigned char *data = malloc(SEG_SIZE);
    int         fd;

    cr_assert_not_null(data);
    for (size_t i = 0; i < SEG_SIZE; i++)
        data[i] = (unsigned char) ((i / 7) ^ (i >> 13));
    snprintf(path, sizeof(path), "%s/%s", scratch, name);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    cr_assert(fd >= 0, "open %s: %s", path, strerror(errno));
    cr_assert_eq(write(fd, data, SEG_SIZE), (ssize_t) SEG_SIZE);
    cr_assert_eq(close(fd), 0);
    free(data);
    return path;
}

static void
push_ok(struct fixture *fx, const char *path, struct archive_stats *stats)
{
    struct ws_err err = WS_ERR_INIT;

    cr_assert_eq(archive_push_file(&fx->cfg, fx->repo, &fx->pgc, path, SEG5, stats, &err), 0,
                 "push %s: %s (%s)", SEG5, err.msg, err.detail);
}

/* ---- archive_push_file: the identical answers ------------------------------ */

/* The object is there (an earlier run died before its directory fsync). */
Test(durable, identical_repush_syncs_object_and_directories)
{
    struct fixture fx;
    struct archive_stats stats;
    const char *p = make_wal(SEG5);

    open_fixture(&fx);
    push_ok(&fx, p, &stats);
    cr_assert_not(stats.already_archived);

    sync_log_reset();
    push_ok(&fx, p, &stats);
    cr_assert(stats.already_archived);
    assert_chain_synced("repo", "repo/" SEG5_KEY);
    repo_close(fx.repo);
}

/* Set by the race test: where the concurrent archiver's object waits. */
static char race_saved[PATH_MAX + 64];
static char race_final[PATH_MAX + 64];

/* Just before link(), "another archiver" stores the identical object. */
static void
race_hook(const char *path)
{
    const char *base = strrchr(path, '/');

    if (base == NULL || base[1] != '.' || strstr(base, ".tmp.") == NULL)
        return;
    cr_assert_eq(rename(race_saved, race_final), 0, "rename %s: %s", race_saved,
                 strerror(errno));
    sync_hook = NULL;
    sync_log_reset();           /* what counts is what follows the lost race */
}

/* The object appears between head and link(): WS_EEXISTS, then identical. */
Test(durable, lost_race_identical_syncs_object_and_directories)
{
    struct fixture fx;
    struct archive_stats stats;
    const char *p = make_wal(SEG5);

    open_fixture(&fx);
    push_ok(&fx, p, &stats);
    snprintf(race_final, sizeof(race_final), "%s/%s", fx.dir, SEG5_KEY);
    snprintf(race_saved, sizeof(race_saved), "%s/saved-object", scratch);
    cr_assert_eq(rename(race_final, race_saved), 0);

    sync_hook = race_hook;
    sync_log_reset();
    push_ok(&fx, p, &stats);
    cr_assert_null(sync_hook, "the push never fsynced a temporary file");
    cr_assert(stats.already_archived, "the lost race was not noticed");
    assert_chain_synced("repo", "repo/" SEG5_KEY);
    repo_close(fx.repo);
}

/* ---- directories that exist already ---------------------------------------- */

/*
 * Another process may have created a directory and died before fsyncing its
 * parent: an existing directory is fsynced into its parent all the same.
 */
Test(durable, mkdir_parents_syncs_existing_directories)
{
    struct ws_err err = WS_ERR_INIT;
    char        path[PATH_MAX];

    snprintf(path, sizeof(path), "%s/a", scratch);
    cr_assert_eq(mkdir(path, 0700), 0);
    snprintf(path, sizeof(path), "%s/a/b", scratch);
    cr_assert_eq(mkdir(path, 0700), 0);

    sync_log_reset();
    cr_assert_eq(file_mkdir_parents(scratch, "a/b/c/obj", &err), 0, "%s", err.msg);
    cr_assert_geq(synced(""), 0, "existing \"a\" not fsynced into its parent; fsyncs: %s",
                  sync_log_text());
    cr_assert_geq(synced("a"), 0, "existing \"a/b\" not fsynced into its parent; fsyncs: %s",
                  sync_log_text());
    cr_assert_geq(synced("a/b"), 0, "new \"a/b/c\" not fsynced into its parent; fsyncs: %s",
                  sync_log_text());
}

/* A new segment into existing directories syncs the whole chain. */
Test(durable, put_into_existing_directories_syncs_chain)
{
    struct ws_err err = WS_ERR_INIT;
    struct storage *st;
    char        root[PATH_MAX + 8];

    snprintf(root, sizeof(root), "%s/repo", scratch);
    cr_assert_eq(mkdir(root, 0700), 0);
    st = storage_open(root, NULL, &err);
    cr_assert_not_null(st, "%s", err.msg);
    cr_assert_eq(storage_put_buffer(st, "wal/00000001/0000000100000000/first", 0, "1", 1, &err),
                 0, "%s", err.msg);

    sync_log_reset();
    cr_assert_eq(storage_put_buffer(st, SEG5_KEY, STORAGE_PUT_NO_OVERWRITE, "5", 1, &err), 0,
                 "%s", err.msg);
    /* the data was fsynced under its temporary name; the names up to the root now */
    assert_chain_synced("repo", "repo/wal/00000001/0000000100000000");
    storage_free(st);
}

/* ---- storage_sync ------------------------------------------------------------ */

/* The object first, then each directory from its own up to the root. */
Test(durable, storage_sync_syncs_object_then_directories_up_to_root)
{
    struct ws_err err = WS_ERR_INIT;
    struct storage *st;
    char        root[PATH_MAX + 8];
    static const char *const chain[] = {
        "repo/" SEG5_KEY, "repo/wal/00000001/0000000100000000", "repo/wal/00000001", "repo/wal",
        "repo"
    };

    snprintf(root, sizeof(root), "%s/repo", scratch);
    cr_assert_eq(mkdir(root, 0700), 0);
    st = storage_open(root, NULL, &err);
    cr_assert_not_null(st, "%s", err.msg);
    cr_assert_eq(storage_put_buffer(st, SEG5_KEY, STORAGE_PUT_NO_OVERWRITE, "5", 1, &err), 0,
                 "%s", err.msg);

    sync_log_reset();
    cr_assert_eq(storage_sync(st, SEG5_KEY, &err), 0, "%s", err.msg);
    cr_assert_eq(sync_n, 5, "fsyncs: %s", sync_log_text());
    for (int i = 0; i < 5; i++)
        cr_assert_eq(synced(chain[i]), i, "fsync %d is not \"%s\"; fsyncs: %s", i, chain[i],
                     sync_log_text());

    /* a missing object is "not found", and nothing is synced */
    sync_log_reset();
    cr_assert_eq(storage_sync(st, "wal/00000001/0000000100000000/missing", &err), -1);
    cr_assert_eq(err.code, WS_ENOTFOUND, "code %s: %s", err_code_name(err.code), err.msg);
    cr_assert_eq(sync_n, 0, "fsyncs: %s", sync_log_text());
    /* an invalid key is refused before the driver sees it */
    err_clear(&err);
    cr_assert_eq(storage_sync(st, "../x", &err), -1);
    cr_assert_eq(err.code, WS_EINTERNAL, "code %s: %s", err_code_name(err.code), err.msg);
    storage_free(st);
}

/* A driver without sync (S3): a visible object is durable, storage_sync is a no-op. */
Test(durable, storage_sync_without_driver_op_is_noop)
{
    static const struct storage_ops ops = {.name = "nosync"};
    struct storage st = {.ops = &ops, .location = "nosync"};
    struct ws_err err = WS_ERR_INIT;

    cr_assert_eq(storage_sync(&st, "wal/x", &err), 0, "%s", err.msg);
    cr_assert_eq(sync_n, 0, "fsyncs: %s", sync_log_text());
}

/* ---- restore_wal_file: PostgreSQL makes %p durable, walship does not ------- */

/*
 * restore_command's %p is renamed into place by PostgreSQL with
 * durable_rename() (KeepFileRestoredFromArchive, xlogarchive.c), or thrown
 * away (RECOVERYXLOG): walship-restore writes a temporary and renames it,
 * and fsyncs neither the file nor the directory.
 */
Test(durable, restore_makes_no_fsync)
{
    struct fixture fx;
    struct archive_stats as;
    struct restore_stats rs;
    struct ws_err err = WS_ERR_INIT;
    char        out[PATH_MAX + 32];
    struct stat st;

    open_fixture(&fx);
    push_ok(&fx, make_wal(SEG5), &as);
    snprintf(out, sizeof(out), "%s/RECOVERYXLOG", scratch);
    sync_log_reset();
    cr_assert_eq(restore_wal_file(&fx.cfg, fx.repo, SEG5, out, &rs, &err), 0, "restore: %s",
                 err.msg);
    cr_assert_eq(stat(out, &st), 0);
    cr_assert_eq(st.st_size, SEG_SIZE);
    cr_assert_eq(sync_n, 0, "fsyncs: %s", sync_log_text());
    repo_close(fx.repo);
}
