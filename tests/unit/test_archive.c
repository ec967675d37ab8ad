/*
 * test_archive.c — archive_push_file and restore_wal_file at library level,
 * with a hand-built pg_control (16 MiB segments) and a repository opened by
 * repo_open: first push, identical re-push, different content, bad input,
 * round trips for every compression × encryption and for .history, .backup
 * and .partial files, not found versus corrupt versus truncated versus an
 * unusable target, retries, and restore_is_standby.
 *
 * Every test runs in its own forked process: .init clears WALSHIP_*, points
 * WALSHIP_CONFIG at an empty file and makes a scratch directory under /tmp
 * (removed by .fini).  Each repository is bound to one encryption setting,
 * so each combination gets its own repository directory.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "archive.h"
#include "cfg.h"
#include "log.h"
#include "object.h"
#include "pgcontrol.h"
#include "repo.h"
#include "restore.h"
#include "storage.h"
#include "wal.h"
#include "storage_fault.h"


#define SYSID 7301234567890123456ULL
#define SEG_SIZE (16u * 1024 * 1024)
#define SEG5 "000000010000000000000005"
#define SEG6 "000000010000000000000006"
#define PASSPHRASE "archive test passphrase"

static char scratch[64];
static char pg_wal[PATH_MAX];       /* where archived files come from */
static char target_dir[PATH_MAX];   /* where restored files go */
static char mounted[PATH_MAX + 16]; /* tmpfs to unmount in teardown, "" if none */

/* ---- fixtures ------------------------------------------------------------- */

static void
setup(void)
{
    harness_clear_walship_env();
    log_set_level(LOG_LEVEL_ERROR);
    mounted[0] = '\0';
    harness_scratch(scratch, sizeof(scratch), "archive");
    snprintf(pg_wal, sizeof(pg_wal), "%s/pg_wal", scratch);
    snprintf(target_dir, sizeof(target_dir), "%s/restore", scratch);
    cr_assert_eq(mkdir(pg_wal, 0700), 0);
    cr_assert_eq(mkdir(target_dir, 0700), 0);
}

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void) sb;
    (void) flag;
    (void) ftw;
    return remove(path);
}

static void
teardown(void)
{
    if (mounted[0] != '\0')
    {
        char        cmd[PATH_MAX + 64];

        snprintf(cmd, sizeof(cmd), "umount '%s' 2>/dev/null", mounted);
        if (system(cmd) != 0)
            fprintf(stderr, "warning: could not unmount %s\n", mounted);
        mounted[0] = '\0';
    }
    if (scratch[0] != '\0')
        nftw(scratch, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    scratch[0] = '\0';
}

TestSuite(archive, .init = setup, .fini = teardown);

/* ---- helpers ----------------------------------------------------------------- */

static struct pg_control
make_pgc(void)
{
    struct pg_control pgc;

    memset(&pgc, 0, sizeof(pgc));
    pgc.system_identifier = SYSID;
    pgc.pg_control_version = 1300;
    pgc.catalog_version = 202209061;
    pgc.block_size = 8192;
    pgc.wal_block_size = 8192;
    pgc.wal_segment_size = SEG_SIZE;
    pgc.pg_major = 15;
    return pgc;
}

struct fixture
{
    struct cfg  cfg;
    struct pg_control pgc;
    struct repo *repo;
    char        dir[PATH_MAX];
};

/* A repository in scratch/<sub> with its own cfg (retries fast). */
static void
open_fixture(struct fixture *fx, const char *sub, enum cfg_compression comp,
             enum cfg_encryption enc)
{
    struct ws_err err = WS_ERR_INIT;
    char      **rest = NULL;
    int         nrest = 0;

    memset(fx, 0, sizeof(*fx));
    snprintf(fx->dir, sizeof(fx->dir), "%s/%s", scratch, sub);
    cr_assert_eq(mkdir(fx->dir, 0700), 0, "mkdir %s: %s", fx->dir, strerror(errno));
    cr_assert_eq(cfg_load(&fx->cfg, 1, (char *[]){"walship-test", NULL}, &rest, &nrest, &err),
                 0, "cfg_load: %s", err.msg);
    free(rest);
    snprintf(fx->cfg.repo, sizeof(fx->cfg.repo), "%s", fx->dir);
    fx->cfg.compression = comp;
    fx->cfg.encryption = enc;
    if (enc != CFG_ENCRYPT_NONE)
        snprintf(fx->cfg.encryption_passphrase, sizeof(fx->cfg.encryption_passphrase), "%s",
                 PASSPHRASE);
    /* the key cache must be memory-backed: the default, /dev/shm */
    snprintf(fx->cfg.encryption_key_cache, sizeof(fx->cfg.encryption_key_cache), "%s", "/dev/shm");
    fx->cfg.retry_attempts = 0;
    fx->cfg.retry_delay_ms = 1;
    fx->pgc = make_pgc();
    cr_assert_eq(repo_open(&fx->cfg, &fx->pgc, &fx->repo, &err), 0, "repo_open: %s", err.msg);
}

static void
close_fixture(struct fixture *fx)
{
    repo_close(fx->repo);
    fx->repo = NULL;
}

/* WAL-like content: a third noise, the rest structured, so it compresses. */
static void
fill(unsigned char *buf, size_t len, uint64_t seed)
{
    uint64_t    x = seed * 6364136223846793005ULL + 1442695040888963407ULL;

    for (size_t i = 0; i < len; i++)
    {
        if ((i / 512) % 3 == 0)
        {
            x = x * 6364136223846793005ULL + 1442695040888963407ULL;
            buf[i] = (unsigned char) (x >> 56);
        }
        else
            buf[i] = (unsigned char) ((i / 7) ^ seed);
    }
}

static void
write_file(const char *path, const void *data, size_t len)
{
    int         fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

    cr_assert(fd >= 0, "open %s: %s", path, strerror(errno));
    cr_assert_eq(write(fd, data, len), (ssize_t) len, "write %s", path);
    cr_assert_eq(close(fd), 0);
}

/* Write a file of `size` bytes of fill(seed) into pg_wal; returns its path. */
static const char *
make_wal(const char *name, size_t size, uint64_t seed)
{
    static char bufs[4][PATH_MAX + 64];
    static int  next;
    char       *p = bufs[next++ % 4];
    unsigned char *data = malloc(size ? size : 1);

    cr_assert_not_null(data);
    fill(data, size, seed);
    snprintf(p, PATH_MAX + 64, "%s/%s", pg_wal, name);
    write_file(p, data, size);
    free(data);
    return p;
}

static unsigned char *
read_all(const char *path, size_t *len)
{
    int         fd = open(path, O_RDONLY);
    struct stat sb;
    unsigned char *buf;

    cr_assert(fd >= 0, "open %s: %s", path, strerror(errno));
    cr_assert_eq(fstat(fd, &sb), 0);
    buf = malloc((size_t) sb.st_size + 1);
    cr_assert_not_null(buf);
    cr_assert_eq(read(fd, buf, (size_t) sb.st_size), sb.st_size);
    close(fd);
    *len = (size_t) sb.st_size;
    return buf;
}

static bool
files_equal(const char *a, const char *b)
{
    size_t      la, lb;
    unsigned char *da = read_all(a, &la);
    unsigned char *db = read_all(b, &lb);
    bool        eq = la == lb && memcmp(da, db, la) == 0;

    free(da);
    free(db);
    return eq;
}

/* Path of the object for WAL file `name` in the fixture's repository. */
static const char *
object_path(const struct fixture *fx, const char *name)
{
    static char bufs[4][PATH_MAX + STORAGE_KEY_MAX];
    static int  next;
    char       *p = bufs[next++ % 4];
    char        key[STORAGE_KEY_MAX];

    cr_assert_eq(wal_repo_key(name, key, sizeof(key)), 0, "%s", name);
    snprintf(p, PATH_MAX + STORAGE_KEY_MAX, "%s/%s", fx->dir, key);
    return p;
}

static const char *
target(const char *name)
{
    static char bufs[4][PATH_MAX + 64];
    static int  next;
    char       *p = bufs[next++ % 4];

    snprintf(p, PATH_MAX + 64, "%s/%s", target_dir, name);
    return p;
}

/* Entries in dir (not . and ..); *tmps counts temporary-looking ones. */
static int
dir_entries(const char *dir, int *tmps)
{
    DIR        *d = opendir(dir);
    struct dirent *de;
    int         n = 0;

    cr_assert_not_null(d, "opendir %s: %s", dir, strerror(errno));
    if (tmps)
        *tmps = 0;
    while ((de = readdir(d)) != NULL)
    {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        n++;
        if (tmps && (strstr(de->d_name, ".walship-tmp.") != NULL || de->d_name[0] == '.'))
            (*tmps)++;
    }
    closedir(d);
    return n;
}

static void
push_ok(struct fixture *fx, const char *path, const char *name, struct archive_stats *stats)
{
    struct ws_err err = WS_ERR_INIT;

    cr_assert_eq(archive_push_file(&fx->cfg, fx->repo, &fx->pgc, path, name, stats, &err), 0,
                 "push %s: %s (%s)", name, err.msg, err.detail);
}

static off_t
file_size(const char *path)
{
    struct stat sb;

    cr_assert_eq(stat(path, &sb), 0, "stat %s: %s", path, strerror(errno));
    return sb.st_size;
}

/* ---- archive_push_file ------------------------------------------------------- */

Test(archive, push_then_identical_repush)
{
    struct fixture fx;
    struct archive_stats stats;
    const char *p = make_wal(SEG5, SEG_SIZE, 5);
    const char *obj;
    unsigned char *before, *after;
    size_t      lb, la;
    struct stat sb1, sb2;

    open_fixture(&fx, "repo", CFG_COMPRESS_ZSTD, CFG_ENCRYPT_NONE);
    push_ok(&fx, p, SEG5, &stats);
    cr_assert_not(stats.already_archived);
    cr_assert_eq(stats.bytes_in, SEG_SIZE);
    cr_assert_lt(stats.bytes_out, stats.bytes_in, "zstd did not compress: %" PRIu64 " -> %" PRIu64,
                 stats.bytes_in, stats.bytes_out);
    obj = object_path(&fx, SEG5);
    cr_assert_eq((uint64_t) file_size(obj), stats.bytes_out,
                 "bytes_out %" PRIu64 " is not the stored object size %lld", stats.bytes_out,
                 (long long) file_size(obj));
    cr_assert_geq(stats.seconds, 0.0);
    cr_assert_eq(stat(obj, &sb1), 0);
    before = read_all(obj, &lb);

    /* the archiver retries after a crash: same file, same name */
    push_ok(&fx, p, SEG5, &stats);
    cr_assert(stats.already_archived);
    cr_assert_eq(stats.bytes_in, SEG_SIZE);
    cr_assert_eq(stats.bytes_out, (uint64_t) lb);
    cr_assert_eq(stat(obj, &sb2), 0);
    cr_assert_eq(sb1.st_ino, sb2.st_ino, "the object was rewritten");
    after = read_all(obj, &la);
    cr_assert(la == lb && memcmp(before, after, la) == 0);
    free(before);
    free(after);
    close_fixture(&fx);
}

ParameterizedTestParameters(archive, push_different_content_refused)
{
    static int  encs[] = {CFG_ENCRYPT_NONE, CFG_ENCRYPT_AES_256_GCM};

    return cr_make_param_array(int, encs, sizeof(encs) / sizeof(encs[0]));
}

ParameterizedTest(int *enc, archive, push_different_content_refused)
{
    struct fixture fx;
    struct archive_stats stats;
    struct ws_err err = WS_ERR_INIT;
    const char *p;
    const char *obj;
    unsigned char *before, *after;
    size_t      lb, la;
    int         fd;

    open_fixture(&fx, "repo", CFG_COMPRESS_ZSTD, (enum cfg_encryption) *enc);
    p = make_wal(SEG5, SEG_SIZE, 5);
    push_ok(&fx, p, SEG5, &stats);
    obj = object_path(&fx, SEG5);
    before = read_all(obj, &lb);

    /* entirely different content */
    p = make_wal(SEG5, SEG_SIZE, 77);
    cr_assert_eq(archive_push_file(&fx.cfg, fx.repo, &fx.pgc, p, SEG5, &stats, &err), -1);
    cr_assert_eq(err.code, WS_EEXISTS_DIFFERENT, "code %s: %s", err_code_name(err.code), err.msg);
    cr_assert_not_null(strstr(err.msg, SEG5), "%s", err.msg);
    cr_assert_not(stats.already_archived);

    /* one byte different in the last page: same size, different hash */
    p = make_wal(SEG5, SEG_SIZE, 5);
    fd = open(p, O_WRONLY);
    cr_assert(fd >= 0);
    cr_assert_eq(pwrite(fd, "!", 1, SEG_SIZE - 100), 1);
    close(fd);
    err_clear(&err);
    cr_assert_eq(archive_push_file(&fx.cfg, fx.repo, &fx.pgc, p, SEG5, &stats, &err), -1);
    cr_assert_eq(err.code, WS_EEXISTS_DIFFERENT, "code %s: %s", err_code_name(err.code), err.msg);

    after = read_all(obj, &la);
    cr_assert(la == lb && memcmp(before, after, la) == 0, "the archived object was changed");
    free(before);
    free(after);
    close_fixture(&fx);
}

Test(archive, push_over_damaged_object_refused)
{
    struct fixture fx;
    struct archive_stats stats;
    struct ws_err err = WS_ERR_INIT;
    const char *p = make_wal(SEG5, SEG_SIZE, 5);
    const char *obj;
    off_t       size;

    open_fixture(&fx, "repo", CFG_COMPRESS_ZSTD, CFG_ENCRYPT_NONE);
    push_ok(&fx, p, SEG5, &stats);
    obj = object_path(&fx, SEG5);
    size = file_size(obj);
    cr_assert_eq(truncate(obj, size / 2), 0);
    cr_assert_eq(archive_push_file(&fx.cfg, fx.repo, &fx.pgc, p, SEG5, &stats, &err), -1,
                 "pushed over a damaged object");
    cr_assert_eq(err.code, WS_EEXISTS_DIFFERENT, "code %s: %s", err_code_name(err.code), err.msg);
    cr_assert_eq(file_size(obj), size / 2, "the damaged object was replaced");
    close_fixture(&fx);
}

Test(archive, push_wrong_size)
{
    struct fixture fx;
    struct archive_stats stats;
    struct ws_err err = WS_ERR_INIT;
    size_t      sizes[] = {SEG_SIZE - 1, SEG_SIZE + 1, SEG_SIZE / 2, 0, 8192};

    open_fixture(&fx, "repo", CFG_COMPRESS_ZSTD, CFG_ENCRYPT_NONE);
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
    {
        const char *p = make_wal(SEG5, sizes[i], 5);

        err_clear(&err);
        cr_assert_eq(archive_push_file(&fx.cfg, fx.repo, &fx.pgc, p, SEG5, &stats, &err), -1,
                     "a %zu-byte segment was archived", sizes[i]);
        cr_assert_eq(err.code, WS_EINPUT, "%zu bytes: code %s: %s", sizes[i],
                     err_code_name(err.code), err.msg);
        cr_assert_neq(access(object_path(&fx, SEG5), F_OK), 0, "an object was stored");
        /* .partial segments have the segment size too */
        err_clear(&err);
        cr_assert_eq(archive_push_file(&fx.cfg, fx.repo, &fx.pgc, p, SEG5 ".partial", &stats,
                                       &err), -1);
        cr_assert_eq(err.code, WS_EINPUT);
    }
    close_fixture(&fx);
}

Test(archive, push_missing_or_unusable_file)
{
    struct fixture fx;
    struct archive_stats stats;
    struct ws_err err = WS_ERR_INIT;
    char        missing[PATH_MAX + 32];

    open_fixture(&fx, "repo", CFG_COMPRESS_ZSTD, CFG_ENCRYPT_NONE);
    snprintf(missing, sizeof(missing), "%s/%s", pg_wal, SEG5);
    cr_assert_eq(archive_push_file(&fx.cfg, fx.repo, &fx.pgc, missing, SEG5, &stats, &err), -1);
    cr_assert_eq(err.code, WS_EINPUT, "code %s: %s", err_code_name(err.code), err.msg);
    cr_assert_not_null(strstr(err.msg, missing), "%s", err.msg);

    /* a directory is not a WAL file */
    err_clear(&err);
    cr_assert_eq(archive_push_file(&fx.cfg, fx.repo, &fx.pgc, pg_wal, "00000001.history",
                                   &stats, &err), -1);
    cr_assert_eq(err.code, WS_EINPUT, "code %s: %s", err_code_name(err.code), err.msg);
    cr_assert_eq(dir_entries(fx.dir, NULL), 1, "only the descriptor may be in the repository");
    close_fixture(&fx);
}

struct bad_name
{
    char        name[64];
};

ParameterizedTestParameters(archive, push_invalid_name)
{
    static struct bad_name cases[] = {
        {"foo"},
        {SEG5 ".bad"},
        {"pg_wal/" SEG5},
        {""},
        {"00000001000000000000005"},            /* 23 digits */
        {"0000000100000000000000050"},          /* 25 digits */
        {"0000000100000000000000a5"},           /* lower case */
        {"000000000000000000000005"},           /* timeline 0 */
        {"../" SEG5},
        {SEG5 "/"},
        {"00000001.History"},
    };

    return cr_make_param_array(struct bad_name, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct bad_name *c, archive, push_invalid_name)
{
    struct fixture fx;
    struct archive_stats stats;
    struct ws_err err = WS_ERR_INIT;
    const char *p = make_wal(SEG5, SEG_SIZE, 5);

    open_fixture(&fx, "repo", CFG_COMPRESS_ZSTD, CFG_ENCRYPT_NONE);
    cr_assert_eq(archive_push_file(&fx.cfg, fx.repo, &fx.pgc, p, c->name, &stats, &err), -1,
                 "\"%s\" accepted as a WAL file name", c->name);
    cr_assert_eq(err.code, WS_EINPUT, "\"%s\": code %s: %s", c->name, err_code_name(err.code),
                 err.msg);
    cr_assert_eq(dir_entries(fx.dir, NULL), 1, "something besides the descriptor was stored");

    /* and restore refuses the name too */
    err_clear(&err);
    {
        struct restore_stats rs;

        cr_assert_eq(restore_wal_file(&fx.cfg, fx.repo, c->name, target("RECOVERYXLOG"), &rs,
                                      &err), -1);
        cr_assert_eq(err.code, WS_EINPUT, "\"%s\": code %s: %s", c->name,
                     err_code_name(err.code), err.msg);
        cr_assert_eq(dir_entries(target_dir, NULL), 0);
    }
    close_fixture(&fx);
}

/* Several archivers push the same file at once: one stores it, the others find it. */
Test(archive, push_concurrent_same_file, .timeout = 120)
{
    enum { NPROC = 4 };
    struct fixture fx;
    const char *p = make_wal(SEG5, SEG_SIZE, 5);
    pid_t       pids[NPROC];
    int         go[2];
    int         stored = 0, found = 0;
    int         tmps;
    char        dir[PATH_MAX + STORAGE_KEY_MAX];

    open_fixture(&fx, "repo", CFG_COMPRESS_ZSTD, CFG_ENCRYPT_NONE);
    cr_assert_eq(pipe(go), 0);
    for (int i = 0; i < NPROC; i++)
    {
        pids[i] = fork();
        cr_assert(pids[i] >= 0);
        if (pids[i] == 0)
        {
            struct archive_stats as;
            struct ws_err cerr = WS_ERR_INIT;
            char        c;

            close(go[1]);
            (void) read(go[0], &c, 1);
            if (archive_push_file(&fx.cfg, fx.repo, &fx.pgc, p, SEG5, &as, &cerr) < 0)
            {
                fprintf(stderr, "pusher %d: %s: %s\n", i, err_code_name(cerr.code), cerr.msg);
                _exit(1);
            }
            _exit(as.already_archived ? 3 : 2);
        }
    }
    close(go[0]);
    close(go[1]);
    for (int i = 0; i < NPROC; i++)
    {
        int         status;

        cr_assert_eq(waitpid(pids[i], &status, 0), pids[i]);
        cr_assert(WIFEXITED(status) && WEXITSTATUS(status) >= 2, "pusher %d failed", i);
        if (WEXITSTATUS(status) == 2)
            stored++;
        else
            found++;
    }
    cr_assert_eq(stored, 1, "%d pushers stored the object", stored);
    cr_assert_eq(found, NPROC - 1);
    snprintf(dir, sizeof(dir), "%s", object_path(&fx, SEG5));
    *strrchr(dir, '/') = '\0';
    cr_assert_eq(dir_entries(dir, &tmps), 1);
    cr_assert_eq(tmps, 0, "a losing pusher left its temporary file");
    {
        struct restore_stats rs;
        struct ws_err err = WS_ERR_INIT;

        cr_assert_eq(restore_wal_file(&fx.cfg, fx.repo, SEG5, target(SEG5), &rs, &err), 0,
                     "%s", err.msg);
        cr_assert(files_equal(p, target(SEG5)));
    }
    close_fixture(&fx);
}

/* The repository's filesystem fills up: WS_ENOSPC, and nothing half-stored. */
Test(archive, push_no_space, .timeout = 60)
{
    struct fixture fx;
    struct archive_stats as;
    struct restore_stats rs;
    struct ws_err err = WS_ERR_INIT;
    const char *p = make_wal(SEG5, SEG_SIZE, 5);
    char        cmd[PATH_MAX + 128];
    char        tiny[PATH_MAX + 16];
    char        dir[PATH_MAX + STORAGE_KEY_MAX];
    int         tmps;

    if (geteuid() != 0)
        cr_skip_test("mounting a small tmpfs needs root");
    snprintf(tiny, sizeof(tiny), "%s/tiny", scratch);
    cr_assert_eq(mkdir(tiny, 0700), 0);
    snprintf(cmd, sizeof(cmd), "mount -t tmpfs -o size=256k,mode=0700 tmpfs '%s' 2>/dev/null",
             tiny);
    if (system(cmd) != 0)
        cr_skip_test("could not mount a tmpfs (mount -t tmpfs not permitted here)");
    snprintf(mounted, sizeof(mounted), "%s", tiny);
    open_fixture(&fx, "tiny/repo", CFG_COMPRESS_ZSTD, CFG_ENCRYPT_NONE);

    cr_assert_eq(archive_push_file(&fx.cfg, fx.repo, &fx.pgc, p, SEG5, &as, &err), -1,
                 "16 MiB fit into 256 KiB");
    cr_assert_eq(err.code, WS_ENOSPC, "code %s: %s", err_code_name(err.code), err.msg);
    cr_assert_neq(access(object_path(&fx, SEG5), F_OK), 0, "a partial object is visible");
    snprintf(dir, sizeof(dir), "%s", object_path(&fx, SEG5));
    *strrchr(dir, '/') = '\0';
    cr_assert_eq(dir_entries(dir, &tmps), 0, "left in %s", dir);
    err_clear(&err);
    cr_assert_eq(restore_wal_file(&fx.cfg, fx.repo, SEG5, target(SEG5), &rs, &err), -1);
    cr_assert_eq(err.code, WS_ENOTFOUND, "code %s: %s", err_code_name(err.code), err.msg);
    /* a small file still goes in: the space was given back */
    p = make_wal("00000002.history", 100, 2);
    push_ok(&fx, p, "00000002.history", &as);
    close_fixture(&fx);
}

/* ---- round trips ---------------------------------------------------------------- */

struct combo
{
    int         comp;
    int         enc;
};

ParameterizedTestParameters(archive, roundtrip_segment)
{
    static struct combo cases[] = {
        {CFG_COMPRESS_NONE, CFG_ENCRYPT_NONE},
        {CFG_COMPRESS_ZSTD, CFG_ENCRYPT_NONE},
        {CFG_COMPRESS_GZIP, CFG_ENCRYPT_NONE},
        {CFG_COMPRESS_NONE, CFG_ENCRYPT_AES_256_GCM},
        {CFG_COMPRESS_ZSTD, CFG_ENCRYPT_AES_256_GCM},
        {CFG_COMPRESS_GZIP, CFG_ENCRYPT_AES_256_GCM},
    };

    return cr_make_param_array(struct combo, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct combo *c, archive, roundtrip_segment, .timeout = 120)
{
    struct fixture fx;
    struct archive_stats as;
    struct restore_stats rs;
    struct ws_err err = WS_ERR_INIT;
    const char *p = make_wal(SEG5, SEG_SIZE, 5);
    const char *out = target("RECOVERYXLOG");
    const char *obj;
    char        sub[32];
    int         tmps;

    snprintf(sub, sizeof(sub), "repo-%s-%s", cfg_compression_name(c->comp),
             cfg_encryption_name(c->enc));
    open_fixture(&fx, sub, (enum cfg_compression) c->comp, (enum cfg_encryption) c->enc);
    push_ok(&fx, p, SEG5, &as);
    obj = object_path(&fx, SEG5);
    cr_assert_eq((uint64_t) file_size(obj), as.bytes_out, "bytes_out %" PRIu64 ", object %lld",
                 as.bytes_out, (long long) file_size(obj));
    if (c->comp == CFG_COMPRESS_NONE)
        cr_assert_gt(as.bytes_out, as.bytes_in);
    else
        cr_assert_lt(as.bytes_out, as.bytes_in * 3 / 4, "%s compressed %" PRIu64 " to %" PRIu64,
                     cfg_compression_name(c->comp), as.bytes_in, as.bytes_out);

    /* an old file at the target (PostgreSQL reuses RECOVERYXLOG) is replaced */
    write_file(out, "stale", 5);
    cr_assert_eq(restore_wal_file(&fx.cfg, fx.repo, SEG5, out, &rs, &err), 0, "restore: %s",
                 err.msg);
    cr_assert(files_equal(p, out), "restored file differs");
    cr_assert_eq(rs.bytes_out, SEG_SIZE);
    cr_assert_eq(rs.bytes_in, as.bytes_out);
    cr_assert_eq(rs.attempts, 1);
    cr_assert_eq(dir_entries(target_dir, &tmps), 1);
    cr_assert_eq(tmps, 0);

    /* identical re-push in this repository too */
    push_ok(&fx, p, SEG5, &as);
    cr_assert(as.already_archived);
    close_fixture(&fx);
}

struct other_kind
{
    char        name[64];
    size_t      size;
    int         enc;
};

ParameterizedTestParameters(archive, roundtrip_other_files)
{
    static struct other_kind cases[] = {
        {"00000002.history", 57, CFG_ENCRYPT_NONE},
        {"00000002.history", 0, CFG_ENCRYPT_NONE},
        {"0000000A.history", 3 * 1024 * 1024 + 17, CFG_ENCRYPT_NONE},
        {SEG5 ".00000028.backup", 300, CFG_ENCRYPT_NONE},
        {SEG5 ".partial", SEG_SIZE, CFG_ENCRYPT_NONE},
        {"00000002.history", 57, CFG_ENCRYPT_AES_256_GCM},
        {"00000002.history", 0, CFG_ENCRYPT_AES_256_GCM},
        {SEG5 ".00000028.backup", 300, CFG_ENCRYPT_AES_256_GCM},
        {SEG5 ".partial", SEG_SIZE, CFG_ENCRYPT_AES_256_GCM},
    };

    return cr_make_param_array(struct other_kind, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct other_kind *c, archive, roundtrip_other_files, .timeout = 120)
{
    struct fixture fx;
    struct archive_stats as;
    struct restore_stats rs;
    struct ws_err err = WS_ERR_INIT;
    const char *p = make_wal(c->name, c->size, 9);
    const char *out = target(c->name);

    open_fixture(&fx, "repo", CFG_COMPRESS_ZSTD, (enum cfg_encryption) c->enc);
    push_ok(&fx, p, c->name, &as);
    cr_assert_not(as.already_archived);
    cr_assert_eq(as.bytes_in, c->size);
    cr_assert_eq(access(object_path(&fx, c->name), F_OK), 0);
    cr_assert_eq(restore_wal_file(&fx.cfg, fx.repo, c->name, out, &rs, &err), 0, "restore: %s",
                 err.msg);
    cr_assert(files_equal(p, out), "restored %s differs", c->name);
    cr_assert_eq(rs.bytes_out, c->size);
    push_ok(&fx, p, c->name, &as);
    cr_assert(as.already_archived);
    close_fixture(&fx);
}

/* ---- restore failures ---------------------------------------------------------------- */

Test(archive, restore_missing_is_not_found)
{
    struct fixture fx;
    struct restore_stats rs;
    struct ws_err err = WS_ERR_INIT;
    const char *names[] = {SEG5, "00000002.history", SEG5 ".partial"};
    int         tmps;

    open_fixture(&fx, "repo", CFG_COMPRESS_ZSTD, CFG_ENCRYPT_NONE);
    fx.cfg.retry_attempts = 3;      /* not found is an answer, not a failure to retry */
    fx.cfg.retry_delay_ms = 1000;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
    {
        err_clear(&err);
        cr_assert_eq(restore_wal_file(&fx.cfg, fx.repo, names[i], target(names[i]), &rs, &err),
                     -1);
        cr_assert_eq(err.code, WS_ENOTFOUND, "%s: code %s: %s", names[i],
                     err_code_name(err.code), err.msg);
        cr_assert_eq(rs.attempts, 1);
        cr_assert_lt(rs.seconds, 1.0, "not found was retried");
        cr_assert_neq(access(target(names[i]), F_OK), 0);
        cr_assert_eq(dir_entries(target_dir, &tmps), 0, "a file was left in the target directory");
    }
    close_fixture(&fx);
}

struct corruption
{
    int         enc;
    int         where;          /* 0 middle, 1 header, 2 end record, 3 first data chunk */
};

ParameterizedTestParameters(archive, restore_corrupt_object)
{
    static struct corruption cases[] = {
        {CFG_ENCRYPT_NONE, 0}, {CFG_ENCRYPT_NONE, 1}, {CFG_ENCRYPT_NONE, 2},
        {CFG_ENCRYPT_NONE, 3},
        {CFG_ENCRYPT_AES_256_GCM, 0}, {CFG_ENCRYPT_AES_256_GCM, 1},
        {CFG_ENCRYPT_AES_256_GCM, 2}, {CFG_ENCRYPT_AES_256_GCM, 3},
    };

    return cr_make_param_array(struct corruption, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct corruption *c, archive, restore_corrupt_object, .timeout = 60)
{
    struct fixture fx;
    struct archive_stats as;
    struct restore_stats rs;
    struct ws_err err = WS_ERR_INIT;
    const char *p = make_wal(SEG5, SEG_SIZE, 5);
    const char *obj;
    off_t       size, pos = 0;
    unsigned char b;
    int         fd, tmps;

    open_fixture(&fx, "repo", CFG_COMPRESS_ZSTD, (enum cfg_encryption) c->enc);
    fx.cfg.retry_attempts = 2;
    push_ok(&fx, p, SEG5, &as);
    obj = object_path(&fx, SEG5);
    size = file_size(obj);
    switch (c->where)
    {
        case 0:
            pos = size / 2;
            break;
        case 1:
            pos = 20;
            break;
        case 2:
            pos = size - 30;
            break;
        case 3:
            pos = OBJECT_HEADER_FIXED + (off_t) strlen(SEG5) + 40;
            break;
    }
    fd = open(obj, O_RDWR);
    cr_assert(fd >= 0, "open %s: %s", obj, strerror(errno));
    cr_assert_eq(pread(fd, &b, 1, pos), 1);
    b ^= 0x10;
    cr_assert_eq(pwrite(fd, &b, 1, pos), 1);
    close(fd);

    cr_assert_eq(restore_wal_file(&fx.cfg, fx.repo, SEG5, target(SEG5), &rs, &err), -1,
                 "a corrupt object (byte %lld of %lld) was restored", (long long) pos,
                 (long long) size);
    cr_assert_eq(err.code, WS_ECORRUPT, "code %s: %s", err_code_name(err.code), err.msg);
    cr_assert_eq(rs.attempts, 1, "corruption is not transient");
    cr_assert_neq(access(target(SEG5), F_OK), 0, "the target path exists");
    cr_assert_eq(dir_entries(target_dir, &tmps), 0, "a temporary file was left behind");
    close_fixture(&fx);
}

ParameterizedTestParameters(archive, restore_truncated_object)
{
    /* bytes cut from the end; -1: empty file, 0: header only, -2: half */
    static long cuts[] = {-1, 0, 1, 16, OBJECT_END_LEN, OBJECT_END_LEN + 1, 100000, -2};

    return cr_make_param_array(long, cuts, sizeof(cuts) / sizeof(cuts[0]));
}

ParameterizedTest(long *cut, archive, restore_truncated_object, .timeout = 60)
{
    struct fixture fx;
    struct archive_stats as;
    struct restore_stats rs;
    struct ws_err err = WS_ERR_INIT;
    const char *p = make_wal(SEG5, SEG_SIZE, 5);
    const char *obj;
    off_t       size, newsize;
    int         tmps;

    open_fixture(&fx, "repo", CFG_COMPRESS_ZSTD, CFG_ENCRYPT_NONE);
    push_ok(&fx, p, SEG5, &as);
    obj = object_path(&fx, SEG5);
    size = file_size(obj);
    if (*cut == -1)
        newsize = 0;
    else if (*cut == -2)
        newsize = size / 2;
    else if (*cut == 0)
        newsize = OBJECT_HEADER_FIXED + (off_t) strlen(SEG5) + 4;  /* header only */
    else
        newsize = size - *cut;
    cr_assert_eq(truncate(obj, newsize), 0);
    cr_assert_eq(restore_wal_file(&fx.cfg, fx.repo, SEG5, target(SEG5), &rs, &err), -1,
                 "an object truncated to %lld of %lld bytes was restored", (long long) newsize,
                 (long long) size);
    cr_assert_eq(err.code, WS_ECORRUPT, "%lld of %lld bytes: code %s: %s", (long long) newsize,
                 (long long) size, err_code_name(err.code), err.msg);
    cr_assert_neq(access(target(SEG5), F_OK), 0);
    cr_assert_eq(dir_entries(target_dir, &tmps), 0);
    close_fixture(&fx);
}

/* The object of one segment stored under another name is detected. */
Test(archive, restore_swapped_object)
{
    struct fixture fx;
    struct archive_stats as;
    struct restore_stats rs;
    struct ws_err err = WS_ERR_INIT;
    const char *p = make_wal(SEG5, SEG_SIZE, 5);
    unsigned char *data;
    size_t      len;

    open_fixture(&fx, "repo", CFG_COMPRESS_ZSTD, CFG_ENCRYPT_NONE);
    push_ok(&fx, p, SEG5, &as);
    data = read_all(object_path(&fx, SEG5), &len);
    write_file(object_path(&fx, SEG6), data, len);
    free(data);
    cr_assert_eq(restore_wal_file(&fx.cfg, fx.repo, SEG6, target(SEG6), &rs, &err), -1,
                 "segment 5 was restored as segment 6");
    cr_assert_eq(err.code, WS_ECORRUPT, "code %s: %s", err_code_name(err.code), err.msg);
    cr_assert_neq(access(target(SEG6), F_OK), 0);
    close_fixture(&fx);
}

/* An unencrypted object planted in an encrypted repository is refused. */
Test(archive, restore_plaintext_object_in_encrypted_repo)
{
    struct fixture plain, enc;
    struct archive_stats as;
    struct restore_stats rs;
    struct ws_err err = WS_ERR_INIT;
    const char *p = make_wal(SEG5, SEG_SIZE, 5);
    unsigned char *data;
    size_t      len;
    char        key[STORAGE_KEY_MAX];

    open_fixture(&plain, "plain", CFG_COMPRESS_ZSTD, CFG_ENCRYPT_NONE);
    open_fixture(&enc, "enc", CFG_COMPRESS_ZSTD, CFG_ENCRYPT_AES_256_GCM);
    push_ok(&plain, p, SEG5, &as);
    data = read_all(object_path(&plain, SEG5), &len);
    cr_assert_eq(wal_repo_key(SEG5, key, sizeof(key)), 0);
    cr_assert_eq(repo_raw_put(enc.repo, key, REPO_REPLACE, data, len, &err), 0, "%s", err.msg);
    free(data);
    cr_assert_eq(restore_wal_file(&enc.cfg, enc.repo, SEG5, target(SEG5), &rs, &err), -1,
                 "an unencrypted object was accepted by an encrypted repository");
    cr_assert_eq(err.code, WS_ECORRUPT, "code %s: %s", err_code_name(err.code), err.msg);
    cr_assert_neq(access(target(SEG5), F_OK), 0);
    /* and archiving the same file there does not count it as already archived */
    err_clear(&err);
    cr_assert_eq(archive_push_file(&enc.cfg, enc.repo, &enc.pgc, p, SEG5, &as, &err), -1);
    cr_assert_eq(err.code, WS_EEXISTS_DIFFERENT, "code %s: %s", err_code_name(err.code), err.msg);
    close_fixture(&plain);
    close_fixture(&enc);
}

Test(archive, restore_into_missing_directory_is_not_not_found)
{
    struct fixture fx;
    struct archive_stats as;
    struct restore_stats rs;
    struct ws_err err = WS_ERR_INIT;
    const char *p = make_wal(SEG5, SEG_SIZE, 5);
    char        out[PATH_MAX + 64];

    open_fixture(&fx, "repo", CFG_COMPRESS_ZSTD, CFG_ENCRYPT_NONE);
    push_ok(&fx, p, SEG5, &as);
    snprintf(out, sizeof(out), "%s/no/such/dir/RECOVERYXLOG", scratch);
    cr_assert_eq(restore_wal_file(&fx.cfg, fx.repo, SEG5, out, &rs, &err), -1);
    cr_assert_neq(err.code, WS_ENOTFOUND,
                  "a missing target directory looks like \"not in the archive\": %s", err.msg);
    cr_assert_eq(err.code, WS_EIO, "code %s: %s", err_code_name(err.code), err.msg);

    /* the same when the file is not in the archive either: the archive was never asked */
    err_clear(&err);
    cr_assert_eq(restore_wal_file(&fx.cfg, fx.repo, SEG6, out, &rs, &err), -1);
    cr_assert_neq(err.code, WS_ENOTFOUND, "%s", err.msg);
    close_fixture(&fx);
}

/*
 * The object cannot be read: an I/O failure, retried retry_attempts times.
 * Root reads any file, so as root the restore runs in a child that drops to
 * nobody (65534) with the repository readable except the object.
 */
struct retry_result
{
    int         rc;
    struct ws_err err;
    struct restore_stats stats;
};

static int
open_up(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void) ftw;
    if (flag == FTW_D)
        chmod(path, 0755);
    else if (S_ISREG(sb->st_mode))
        chmod(path, 0644);
    return 0;
}

/*
 * Push SEG5, make its object unreadable and restore it (as nobody when root).
 * With driver_retries, the repository's driver claims STORAGE_F_RETRIES, as
 * the S3 driver does.
 */
/* storage_open() wrapper: the driver claims STORAGE_F_RETRIES */
static struct storage *
claim_retries(struct storage *inner, void *arg)
{
    static struct storage_ops retrying;

    (void) arg;
    retrying = *inner->ops;
    retrying.features |= STORAGE_F_RETRIES;
    inner->ops = &retrying;
    return inner;
}

static void
restore_unreadable_with(int retry_attempts, bool driver_retries, struct retry_result *res,
                        const char **objp)
{
    struct fixture fx;
    struct archive_stats as;
    const char *p = make_wal(SEG5, SEG_SIZE, 5);
    const char *obj;
    bool        root = geteuid() == 0;
    int         pp[2];
    pid_t       pid;
    int         status;

    storage_set_wrap(driver_retries ? claim_retries : NULL, NULL);
    open_fixture(&fx, "repo", CFG_COMPRESS_ZSTD, CFG_ENCRYPT_NONE);
    storage_set_wrap(NULL, NULL);
    fx.cfg.retry_attempts = retry_attempts;
    fx.cfg.retry_delay_ms = 1;
    push_ok(&fx, p, SEG5, &as);
    obj = object_path(&fx, SEG5);
    if (root)
    {
        cr_assert_eq(chmod(scratch, 0755), 0);
        cr_assert_eq(nftw(fx.dir, open_up, 8, FTW_PHYS), 0);
        cr_assert_eq(chown(target_dir, 65534, 65534), 0);
    }
    cr_assert_eq(chmod(obj, 0), 0);

    cr_assert_eq(pipe(pp), 0);
    pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0)
    {
        memset(res, 0, sizeof(*res));
        close(pp[0]);
        if (root && (setgroups(0, NULL) != 0 || setgid(65534) != 0 || setuid(65534) != 0))
            _exit(10);
        res->rc = restore_wal_file(&fx.cfg, fx.repo, SEG5, target(SEG5), &res->stats, &res->err);
        (void) write(pp[1], res, sizeof(*res));
        _exit(0);
    }
    close(pp[1]);
    cr_assert_eq(read(pp[0], res, sizeof(*res)), (ssize_t) sizeof(*res), "child failed");
    close(pp[0]);
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    chmod(obj, 0600);
    close_fixture(&fx);
    *objp = obj;
}

static void
restore_unreadable(int retry_attempts, struct retry_result *res, const char **objp)
{
    restore_unreadable_with(retry_attempts, false, res, objp);
}

Test(archive, restore_unreadable_object_is_retried, .timeout = 60)
{
    struct retry_result res;
    const char *obj;
    int         tmps;

    restore_unreadable(2, &res, &obj);
    cr_assert_eq(res.rc, -1, "an unreadable object was restored");
    cr_assert_eq(res.err.code, WS_EIO, "code %s: %s", err_code_name(res.err.code), res.err.msg);
    cr_assert_eq(res.stats.attempts, 3, "attempts = %d", res.stats.attempts);
    cr_assert_not_null(strstr(res.err.msg, "3 attempts"), "%s", res.err.msg);
    cr_assert_eq(res.err.sys_errno, EACCES, "%s", res.err.msg);
    cr_assert_not_null(strstr(res.err.msg, obj), "the message does not name the object: %s",
                       res.err.msg);
    cr_assert_neq(access(target(SEG5), F_OK), 0);
    cr_assert_eq(dir_entries(target_dir, &tmps), 0, "a temporary file was left behind");
}

Test(archive, restore_unreadable_object_without_retries, .timeout = 60)
{
    struct retry_result res;
    const char *obj;
    int         tmps;

    restore_unreadable(0, &res, &obj);
    cr_assert_eq(res.rc, -1);
    cr_assert_eq(res.err.code, WS_EIO, "code %s: %s", err_code_name(res.err.code), res.err.msg);
    cr_assert_eq(res.stats.attempts, 1, "attempts = %d", res.stats.attempts);
    cr_assert_neq(access(target(SEG5), F_OK), 0);
    cr_assert_eq(dir_entries(target_dir, &tmps), 0, "a temporary file was left behind");
}

/*
 * A driver that retries its own requests (STORAGE_F_RETRIES: S3) has done so
 * already: restore tries once, whatever retry_attempts says, so the attempts
 * never multiply (retry.h).
 */
Test(archive, restore_does_not_retry_a_retrying_driver, .timeout = 60)
{
    struct retry_result res;
    const char *obj;
    int         tmps;

    restore_unreadable_with(3, true, &res, &obj);
    cr_assert_eq(res.rc, -1);
    cr_assert_eq(res.err.code, WS_EIO, "code %s: %s", err_code_name(res.err.code), res.err.msg);
    cr_assert_eq(res.stats.attempts, 1, "attempts = %d", res.stats.attempts);
    cr_assert_null(strstr(res.err.msg, "giving up"), "%s", res.err.msg);
    cr_assert_neq(access(target(SEG5), F_OK), 0);
    cr_assert_eq(dir_entries(target_dir, &tmps), 0, "a temporary file was left behind");
}

/* ---- restore_is_standby --------------------------------------------------------- */

Test(archive, restore_is_standby)
{
    char        pgdata[PATH_MAX + 16];
    char        signal[PATH_MAX + 64];
    char        missing[PATH_MAX + 16];

    snprintf(pgdata, sizeof(pgdata), "%s/pgdata", scratch);
    snprintf(signal, sizeof(signal), "%s/standby.signal", pgdata);
    snprintf(missing, sizeof(missing), "%s/nope", scratch);
    cr_assert_eq(mkdir(pgdata, 0700), 0);
    cr_assert_not(restore_is_standby(pgdata));
    cr_assert_not(restore_is_standby(missing));
    write_file(signal, "", 0);
    cr_assert(restore_is_standby(pgdata));
    unlink(signal);
    cr_assert_not(restore_is_standby(pgdata));
    /* recovery.signal alone is a targeted recovery, not a standby */
    snprintf(signal, sizeof(signal), "%s/recovery.signal", pgdata);
    write_file(signal, "", 0);
    cr_assert_not(restore_is_standby(pgdata));
}

/* ---- every storage error path, through the fault-injecting driver ----------- */

/*
 * Each case: a fault at one storage call of walship-archive or
 * walship-restore, the ws_code the engine must report, and the exit status
 * PostgreSQL must see (archive: 1..125 so the archiver retries; restore: 1
 * only for "not in the archive", above 125 for what must stop recovery).
 * Nothing partial may be left: no object under its final name, no file at %p.
 */
struct storage_case
{
    char        what[48];       /* an array: Criterion hands parameters to another process */
    bool        restore;        /* fault during restore, not archive */
    bool        encrypted;
    enum fault_op op;
    unsigned    nth;
    enum fault_kind kind;
    enum ws_code code;
    int         exit_status;
    bool        repush;         /* archive: the object is there already (a new one costs no HEAD) */
};

static struct storage_case storage_cases[] = {
    {"archive: re-push head transient", false, false, FAULT_OP_HEAD, 1, FAULT_TRANSIENT, WS_ETRANSIENT, 1, true},
    {"archive: re-push head permission", false, false, FAULT_OP_HEAD, 1, FAULT_PERMISSION, WS_EIO, 1, true},
    {"archive: put open no space", false, false, FAULT_OP_PUT_OPEN, 1, FAULT_NOSPACE, WS_ENOSPC, 8, false},
    {"archive: put open permission", false, false, FAULT_OP_PUT_OPEN, 1, FAULT_PERMISSION, WS_EIO, 1, false},
    {"archive: put write no space", false, true, FAULT_OP_PUT_WRITE, 2, FAULT_NOSPACE, WS_ENOSPC, 8, false},
    {"archive: put write transient", false, false, FAULT_OP_PUT_WRITE, 1, FAULT_TRANSIENT, WS_ETRANSIENT, 1, false},
    {"archive: commit no space", false, false, FAULT_OP_PUT_FINISH, 1, FAULT_NOSPACE, WS_ENOSPC, 8, false},
    {"archive: commit transient", false, true, FAULT_OP_PUT_FINISH, 1, FAULT_TRANSIENT, WS_ETRANSIENT, 1, false},
    {"restore: get not found", true, false, FAULT_OP_GET, 1, FAULT_NOTFOUND, WS_ENOTFOUND, 1, false},
    {"restore: get permission", true, false, FAULT_OP_GET, 1, FAULT_PERMISSION, WS_EIO, 156, false},
    {"restore: get corrupt", true, false, FAULT_OP_GET, 1, FAULT_CORRUPT, WS_ECORRUPT, 151, false},
    {"restore: get corrupt, encrypted", true, true, FAULT_OP_GET, 1, FAULT_CORRUPT, WS_ECORRUPT, 151, false},
    {"restore: get short", true, false, FAULT_OP_GET, 1, FAULT_SHORT, WS_ECORRUPT, 151, false},
    {"restore: get short, encrypted", true, true, FAULT_OP_GET, 1, FAULT_SHORT, WS_ECORRUPT, 151, false},
};

ParameterizedTestParameters(archive, storage_error_paths)
{
    return cr_make_param_array(struct storage_case, storage_cases,
                               sizeof(storage_cases) / sizeof(storage_cases[0]));
}

ParameterizedTest(struct storage_case *c, archive, storage_error_paths, .timeout = 60)
{
    struct fixture fx;
    struct archive_stats as;
    struct restore_stats rs;
    struct ws_err err = WS_ERR_INIT;
    const char *p = make_wal(SEG5, SEG_SIZE, 5);
    int         rc, tmps;
    char        dir[PATH_MAX + STORAGE_KEY_MAX];

    storage_fault_install();
    open_fixture(&fx, "repo", CFG_COMPRESS_ZSTD, c->encrypted ? CFG_ENCRYPT_AES_256_GCM : CFG_ENCRYPT_NONE);
    if (c->restore || c->repush)
        push_ok(&fx, p, SEG5, &as);
    storage_fault_add(c->op, c->nth, c->kind, true);
    if (c->restore)
        rc = restore_wal_file(&fx.cfg, fx.repo, SEG5, target(SEG5), &rs, &err);
    else
        rc = archive_push_file(&fx.cfg, fx.repo, &fx.pgc, p, SEG5, &as, &err);
    cr_assert_eq(rc, -1, "%s: succeeded", c->what);
    cr_assert_geq(storage_fault_injected(), 1, "%s: the fault was never reached", c->what);
    cr_assert_eq(err.code, c->code, "%s: code %s, want %s: %s", c->what, err_code_name(err.code),
                 err_code_name(c->code), err.msg);
    cr_assert_eq(exitcode_for(c->restore ? WS_PROG_RESTORE : WS_PROG_ARCHIVE, err.code),
                 c->exit_status, "%s: exit status", c->what);
    cr_assert_neq(err.msg[0], '\0', "%s: no message", c->what);
    if (c->restore)
    {
        cr_assert_neq(access(target(SEG5), F_OK), 0, "%s: a file was handed to PostgreSQL", c->what);
        cr_assert_eq(dir_entries(target_dir, &tmps), 0, "%s: left in %s", c->what, target_dir);
    }
    else if (c->repush)
    {
        /* the object stays; once the fault is gone the re-push is "identical" */
        storage_fault_reset();
        err_clear(&err);
        push_ok(&fx, p, SEG5, &as);
        cr_assert(as.already_archived, "%s: re-push after the fault", c->what);
    }
    else
    {
        cr_assert_neq(access(object_path(&fx, SEG5), F_OK), 0, "%s: an object is visible", c->what);
        snprintf(dir, sizeof(dir), "%s", object_path(&fx, SEG5));
        *strrchr(dir, '/') = '\0';
        if (access(dir, F_OK) == 0)     /* a fault before put_open leaves no directory */
            cr_assert_eq(dir_entries(dir, &tmps), 0, "%s: left in %s", c->what, dir);
        /* PostgreSQL retries: once the fault is gone the same call succeeds */
        storage_fault_reset();
        err_clear(&err);
        push_ok(&fx, p, SEG5, &as);
    }
    close_fixture(&fx);
    storage_set_wrap(NULL, NULL);
}

/* The identical answer is durable or it is no answer: a failing sync fails the push. */
Test(archive, identical_repush_fails_when_sync_fails, .timeout = 60)
{
    struct fixture fx;
    struct archive_stats as;
    struct ws_err err = WS_ERR_INIT;
    const char *p = make_wal(SEG5, SEG_SIZE, 5);

    storage_fault_install();
    open_fixture(&fx, "repo", CFG_COMPRESS_ZSTD, CFG_ENCRYPT_NONE);
    push_ok(&fx, p, SEG5, &as);
    storage_fault_add(FAULT_OP_SYNC, 1, FAULT_PERMISSION, false);
    cr_assert_eq(archive_push_file(&fx.cfg, fx.repo, &fx.pgc, p, SEG5, &as, &err), -1);
    cr_assert_eq(err.code, WS_EIO, "%s", err.msg);
    cr_assert_eq(storage_fault_calls(FAULT_OP_SYNC), 1);
    cr_assert(exitcode_for(WS_PROG_ARCHIVE, err.code) >= 1 &&
              exitcode_for(WS_PROG_ARCHIVE, err.code) <= 125);
    err_clear(&err);
    push_ok(&fx, p, SEG5, &as);
    cr_assert(as.already_archived);
    close_fixture(&fx);
    storage_set_wrap(NULL, NULL);
}
