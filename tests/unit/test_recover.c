/*
 * test_recover.c — recover_run (recover.h) on backups built by hand: tar
 * archives written header by header (as PostgreSQL's src/port/tar.c does),
 * stored as walship objects in a filesystem repository with a descriptor.
 *
 * What is checked: walship-recover writes nothing through a symbolic link
 * and reads nothing through one.  A link member anywhere but pg_tblspc/<oid>
 * (a planted recovery.signal or postgresql.auto.conf pointing outside, any
 * link in a tablespace archive) fails the restore, with a message naming the
 * member and the backup object, and what the link points to is untouched; a
 * backup_manifest member is refused (walship-recover writes that file itself,
 * O_EXCL); signal files that came with the backup (a backup of a standby has
 * standby.signal) are replaced by the one asked for.
 *
 * Every test runs in its own forked process with a scratch directory under
 * /tmp (.init; .fini removes it): repo/, the target rec/, and outside/,
 * which holds what planted links point to.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backup_info.h"
#include "cfg.h"
#include "harness.h"
#include "log.h"
#include "object.h"
#include "pgcontrol.h"
#include "recover.h"
#include "repo.h"
#include "storage.h"
#include "storage_fault.h"

#define SYSID 7301234567890123456ULL
#define SEG_SIZE (16u * 1024 * 1024)
#define TS_OID 16385

static char scratch[64];
static char repo_dir[128];
static char rec[128];
static char outside[128];

/* ---- fixtures ------------------------------------------------------------------ */

static void
setup(void)
{
    harness_clear_walship_env();
    log_set_level(LOG_LEVEL_ERROR);
    harness_scratch(scratch, sizeof(scratch), "recover");
    snprintf(repo_dir, sizeof(repo_dir), "%s/repo", scratch);
    snprintf(rec, sizeof(rec), "%s/rec", scratch);
    snprintf(outside, sizeof(outside), "%s/outside", scratch);
    cr_assert_eq(mkdir(repo_dir, 0700), 0);
    cr_assert_eq(mkdir(outside, 0700), 0);
}

static void
teardown(void)
{
    harness_rm_scratch(scratch);
}

TestSuite(recover, .init = setup, .fini = teardown);

/* ---- tar archives, header by header ------------------------------------------------ */

struct ar
{
    unsigned char *d;
    size_t      len;
    size_t      cap;
};

static void
ar_grow(struct ar *a, size_t n)
{
    if (a->len + n > a->cap)
    {
        a->cap = (a->len + n) * 2;
        a->d = realloc(a->d, a->cap);
        cr_assert_not_null(a->d);
    }
}

/* print_tar_number() from PostgreSQL's src/port/tar.c (octal fits here) */
static void
put_num(unsigned char *s, int len, uint64_t val)
{
    s[--len] = ' ';
    while (len)
    {
        s[--len] = (unsigned char) ((val & 7) + '0');
        val >>= 3;
    }
}

/* A header as tarCreateHeader() writes it; directory and link names end in '/'. */
static void
ar_header(struct ar *a, const char *name, char type, uint64_t size, const char *link,
          unsigned mode)
{
    unsigned char *h;
    unsigned    sum = 0;

    ar_grow(a, 512);
    h = a->d + a->len;
    memset(h, 0, 512);
    cr_assert_leq(strlen(name), 100);
    memcpy(h, name, strlen(name));
    put_num(h + 100, 8, mode & 07777);
    put_num(h + 108, 8, 999);
    put_num(h + 116, 8, 999);
    put_num(h + 124, 12, size);
    put_num(h + 136, 12, 1700000000);
    h[156] = (unsigned char) type;
    if (link)
        memcpy(h + 157, link, strlen(link));
    memcpy(h + 257, "ustar", 6);
    memcpy(h + 263, "00", 2);
    strcpy((char *) h + 265, "postgres");
    strcpy((char *) h + 297, "postgres");
    put_num(h + 329, 8, 0);
    put_num(h + 337, 8, 0);
    memset(h + 148, ' ', 8);
    for (int i = 0; i < 512; i++)
        sum += h[i];
    put_num(h + 148, 8, sum);
    a->len += 512;
}

static void
ar_file(struct ar *a, const char *name, const char *content)
{
    size_t      len = strlen(content);
    size_t      pad = (512 - len % 512) % 512;

    ar_header(a, name, '0', len, NULL, 0600);
    ar_grow(a, len + pad);
    memcpy(a->d + a->len, content, len);
    memset(a->d + a->len + len, 0, pad);
    a->len += len + pad;
}

static void
ar_dir(struct ar *a, const char *name)
{
    ar_header(a, name, '5', 0, NULL, 0700);
}

static void
ar_link(struct ar *a, const char *name, const char *target)
{
    ar_header(a, name, '2', 0, target, 0777);
}

/* The members of every base archive here, then the end of the archive. */
static void
ar_base_end(struct ar *a)
{
    ar_file(a, "PG_VERSION", "15\n");
    ar_dir(a, "global/");
    ar_file(a, "global/pg_control", "not really a control file");
    ar_grow(a, 1024);
    memset(a->d + a->len, 0, 1024);
    a->len += 1024;
}

/* ---- a repository with one backup ------------------------------------------------- */

static void
make_cfg(struct cfg *cfg)
{
    struct ws_err err = WS_ERR_INIT;
    char      **rest = NULL;
    int         nrest = 0;

    cr_assert_eq(cfg_load(cfg, 1, (char *[]){"walship-test", NULL}, &rest, &nrest, &err), 0,
                 "cfg_load: %s", err.msg);
    free(rest);
    snprintf(cfg->repo, sizeof(cfg->repo), "%s", repo_dir);
    cfg->encryption = CFG_ENCRYPT_NONE;
}

struct backup
{
    struct repo *repo;
    struct backup_info info;
};

static void
backup_begin(struct backup *bk)
{
    struct cfg  cfg;
    struct pg_control pgc;
    struct ws_err err = WS_ERR_INIT;
    struct backup_info *b = &bk->info;

    memset(&pgc, 0, sizeof(pgc));
    pgc.system_identifier = SYSID;
    pgc.pg_control_version = 1300;
    pgc.catalog_version = 202209061;
    pgc.wal_segment_size = SEG_SIZE;
    pgc.block_size = 8192;
    pgc.wal_block_size = 8192;
    pgc.pg_major = 15;
    make_cfg(&cfg);
    cr_assert_eq(repo_open(&cfg, &pgc, &bk->repo, &err), 0, "repo_open: %s", err.msg);
    cfg_wipe(&cfg);

    memset(b, 0, sizeof(*b));
    b->format = BACKUP_INFO_FORMAT;
    backup_id_format(1796331202, b->id);
    snprintf(b->label, sizeof(b->label), "test");
    b->complete = true;
    b->system_identifier = SYSID;
    b->pg_version = 150018;
    b->start_timeline = b->timeline = 1;
    b->start_lsn = UINT64_C(0x2000028);
    b->stop_lsn = UINT64_C(0x2000100);
    strcpy(b->start_wal, "000000010000000000000002");
    strcpy(b->stop_wal, "000000010000000000000002");
    b->start_time_us = INT64_C(1796331202) * 1000000;
    b->stop_time_us = b->start_time_us + 1000000;
    b->wal_time_us = b->stop_time_us + 1000000;
    strcpy(b->compression, "none");
    strcpy(b->encryption, "none");
}

/* Store data as the backup's object name (tablespace ts) and list it. */
static void
backup_add(struct backup *bk, const char *name, uint32_t ts, const void *data, size_t len)
{
    struct repo_put p;
    struct repo_object t;
    struct backup_object o;
    struct ws_err err = WS_ERR_INIT;
    char        key[STORAGE_KEY_MAX];
    char        path[PATH_MAX];
    struct stat st;

    cr_assert_eq(backup_key(bk->info.id, name, key, sizeof(key), &err), 0, "%s", err.msg);
    repo_put_init(&p, NULL);
    p.size_hint = len;
    p.size_exact = true;
    cr_assert_eq(repo_put_buffer(bk->repo, key, &p, data, len, &t, &err), 0, "%s", err.msg);
    snprintf(path, sizeof(path), "%s/%s", repo_dir, key);
    cr_assert_eq(stat(path, &st), 0, "%s: %s", path, strerror(errno));

    memset(&o, 0, sizeof(o));
    snprintf(o.name, sizeof(o.name), "%s", name);
    o.tablespace = ts;
    o.size = t.size;
    o.stored = (uint64_t) st.st_size;
    o.xxh64 = t.xxh64;
    cr_assert_eq(backup_info_add_object(&bk->info, &o, &err), 0, "%s", err.msg);
    if (strcmp(name, BACKUP_MANIFEST_NAME) != 0)
        bk->info.size += o.size;
    bk->info.stored += o.stored;
}

static void
backup_add_tar(struct backup *bk, const char *name, uint32_t ts, struct ar *a)
{
    backup_add(bk, name, ts, a->d, a->len);
    free(a->d);
    memset(a, 0, sizeof(*a));
}

static void
backup_end(struct backup *bk)
{
    struct ws_err err = WS_ERR_INIT;

    cr_assert_eq(backup_info_store(bk->repo, &bk->info, &err), 0, "%s", err.msg);
    backup_info_free(&bk->info);
    repo_close(bk->repo);
}

/* recover_run into rec; returns its result, err filled. */
static int
recover(bool standby, const char *ts_to, struct ws_err *err)
{
    struct cfg  cfg;
    struct recover_options o;
    struct recover_result res;
    struct recover_tablespace_map map = {"16385", ts_to};
    int         rc;

    make_cfg(&cfg);
    memset(&o, 0, sizeof(o));
    o.target_dir = rec;
    o.target.kind = BACKUP_TARGET_END;
    o.standby = standby;
    o.jobs = 2;
    o.restore_program = "/bin/true";
    if (ts_to != NULL)
    {
        o.nmaps = 1;
        o.maps = &map;
    }
    rc = recover_run(&cfg, &o, &res, err);
    if (rc == 0)
        backup_info_free(&res.backup);
    cfg_wipe(&cfg);
    return rc;
}

/* ---- small file helpers ------------------------------------------------------------ */

static void
put_file(const char *path, const char *content)
{
    FILE       *f = fopen(path, "w");

    cr_assert_not_null(f, "%s: %s", path, strerror(errno));
    fputs(content, f);
    cr_assert_eq(fclose(f), 0);
}

/* The file's content ("" if empty), malloc'd; NULL if it does not exist. */
static char *
get_file(const char *path)
{
    FILE       *f = fopen(path, "r");
    char       *buf;
    long        n;

    if (f == NULL)
        return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = calloc(1, (size_t) n + 1);
    cr_assert_not_null(buf);
    cr_assert_eq(fread(buf, 1, (size_t) n, f), (size_t) n);
    fclose(f);
    return buf;
}

static void
assert_file_is(const char *path, const char *want)
{
    char       *got = get_file(path);

    cr_assert_not_null(got, "%s does not exist", path);
    cr_assert_str_eq(got, want, "%s holds \"%s\", not \"%s\"", path, got, want);
    free(got);
}

static bool
exists(const char *path)
{
    struct stat st;

    return lstat(path, &st) == 0;
}

static const char *
in_rec(const char *name)
{
    static char buf[4][PATH_MAX];
    static int  next;
    char       *b = buf[next++ % 4];

    snprintf(b, PATH_MAX, "%s/%s", rec, name);
    return b;
}

/* ---- tests ----------------------------------------------------------------------------- */

/* The baseline: a clean backup restores, with its manifest and the signal file. */
Test(recover, clean_backup_restores)
{
    struct backup bk;
    struct ar   a = {0};
    struct ws_err err = WS_ERR_INIT;
    char       *conf;

    backup_begin(&bk);
    ar_file(&a, "postgresql.auto.conf", "work_mem = '7MB'\n");
    ar_base_end(&a);
    backup_add_tar(&bk, "base.tar.0", 0, &a);
    backup_add(&bk, BACKUP_MANIFEST_NAME, 0, "{ \"manifest\": 1 }\n", 18);
    backup_end(&bk);

    cr_assert_eq(recover(false, NULL, &err), 0, "%s (%s)", err.msg, err.detail);
    assert_file_is(in_rec("global/pg_control"), "not really a control file");
    assert_file_is(in_rec(BACKUP_MANIFEST_NAME), "{ \"manifest\": 1 }\n");
    assert_file_is(in_rec("recovery.signal"), "");
    cr_assert(!exists(in_rec("standby.signal")));
    conf = get_file(in_rec("postgresql.auto.conf"));
    cr_assert_not_null(conf);
    cr_assert(strstr(conf, "work_mem = '7MB'") != NULL, "%s", conf);
    cr_assert(strstr(conf, "restore_command = '/bin/true") != NULL, "%s", conf);
    free(conf);
}

/*
 * recovery.signal in the archive as a link to a file outside: before, the
 * link was extracted and the signal file created through it (O_TRUNC),
 * emptying the file it points to.  Now the member is refused.
 */
Test(recover, planted_signal_link_not_written_through)
{
    struct backup bk;
    struct ar   a = {0};
    struct ws_err err = WS_ERR_INIT;
    char        victim[PATH_MAX];

    snprintf(victim, sizeof(victim), "%s/victim", outside);
    put_file(victim, "precious\n");
    backup_begin(&bk);
    ar_link(&a, "recovery.signal", victim);
    ar_base_end(&a);
    backup_add_tar(&bk, "base.tar.0", 0, &a);
    backup_end(&bk);

    recover(false, NULL, &err);
    assert_file_is(victim, "precious\n");
    cr_assert_neq(err.code, WS_OK, "the restore succeeded");
    cr_assert_eq(err.code, WS_ECORRUPT, "%s: %s", err_code_name(err.code), err.msg);
    cr_assert(strstr(err.msg, "\"recovery.signal\"") != NULL, "%s", err.msg);
    cr_assert(strstr(err.msg, "base.tar.0") != NULL, "the backup object is not named: %s",
              err.msg);
    cr_assert(strstr(err.msg, "symbolic link") != NULL, "%s", err.msg);
    cr_assert(!exists(rec), "the target directory was left behind");
}

/*
 * postgresql.auto.conf as a link to a file outside: before, its content was
 * read through the link into the new postgresql.auto.conf.  Now refused.
 */
Test(recover, planted_auto_conf_link_not_read)
{
    struct backup bk;
    struct ar   a = {0};
    struct ws_err err = WS_ERR_INIT;
    char        secret[PATH_MAX];
    char       *conf;

    snprintf(secret, sizeof(secret), "%s/secret.conf", outside);
    put_file(secret, "ssl_passphrase_command = 'echo not-for-you'\n");
    backup_begin(&bk);
    ar_link(&a, "postgresql.auto.conf", secret);
    ar_base_end(&a);
    backup_add_tar(&bk, "base.tar.0", 0, &a);
    backup_end(&bk);

    recover(false, NULL, &err);
    conf = get_file(in_rec("postgresql.auto.conf"));
    cr_assert(conf == NULL || strstr(conf, "not-for-you") == NULL,
              "read through the link: %s", conf);
    free(conf);
    assert_file_is(secret, "ssl_passphrase_command = 'echo not-for-you'\n");
    cr_assert_neq(err.code, WS_OK, "the restore succeeded");
    cr_assert_eq(err.code, WS_ECORRUPT, "%s: %s", err_code_name(err.code), err.msg);
    cr_assert(strstr(err.msg, "\"postgresql.auto.conf\"") != NULL, "%s", err.msg);
    cr_assert(strstr(err.msg, "base.tar.0") != NULL, "%s", err.msg);
}

/* Any other link outside pg_tblspc/ fails the restore, naming member and object. */
Test(recover, symlink_member_outside_tblspc_refused)
{
    struct backup bk;
    struct ar   a = {0};
    struct ws_err err = WS_ERR_INIT;

    backup_begin(&bk);
    ar_dir(&a, "base/");
    ar_link(&a, "base/evil", "/tmp");
    ar_base_end(&a);
    backup_add_tar(&bk, "base.tar.0", 0, &a);
    backup_end(&bk);

    cr_assert_eq(recover(false, NULL, &err), -1, "the restore succeeded");
    cr_assert_eq(err.code, WS_ECORRUPT, "%s: %s", err_code_name(err.code), err.msg);
    cr_assert(strstr(err.msg, "\"base/evil\"") != NULL, "%s", err.msg);
    cr_assert(strstr(err.msg, "base.tar.0") != NULL, "%s", err.msg);
    cr_assert(!exists(rec), "the target directory was left behind");
}

/*
 * A tablespace: pg_tblspc/<oid> is rewritten to the new location; a link
 * inside the tablespace's own archive is refused (it holds none).
 */
Test(recover, tablespace_links)
{
    struct backup bk;
    struct ar   a = {0};
    struct ws_err err = WS_ERR_INIT;
    char        ts[PATH_MAX];
    char        old[PATH_MAX];
    char        lt[PATH_MAX] = "";

    snprintf(ts, sizeof(ts), "%s/ts", scratch);
    snprintf(old, sizeof(old), "%s/ts_old", scratch);
    backup_begin(&bk);
    cr_assert_eq(backup_info_add_tablespace(&bk.info, TS_OID, old, &err), 0, "%s", err.msg);
    ar_dir(&a, "pg_tblspc/");
    ar_link(&a, "pg_tblspc/16385/", old);
    ar_base_end(&a);
    backup_add_tar(&bk, "base.tar.0", 0, &a);
    ar_dir(&a, "PG_15_202209061/");
    ar_dir(&a, "PG_15_202209061/5/");
    ar_file(&a, "PG_15_202209061/5/16386", "table data");
    ar_grow(&a, 1024);
    memset(a.d + a.len, 0, 1024);
    a.len += 1024;
    backup_add_tar(&bk, "16385.tar.0", TS_OID, &a);
    backup_end(&bk);

    cr_assert_eq(recover(false, ts, &err), 0, "%s (%s)", err.msg, err.detail);
    cr_assert_gt(readlink(in_rec("pg_tblspc/16385"), lt, sizeof(lt) - 1), 0);
    cr_assert_str_eq(lt, ts);
    assert_file_is(strcat(strcpy(lt, ts), "/PG_15_202209061/5/16386"), "table data");
}

Test(recover, symlink_in_tablespace_archive_refused)
{
    struct backup bk;
    struct ar   a = {0};
    struct ws_err err = WS_ERR_INIT;
    char        ts[PATH_MAX];
    char        old[PATH_MAX];

    snprintf(ts, sizeof(ts), "%s/ts", scratch);
    snprintf(old, sizeof(old), "%s/ts_old", scratch);
    backup_begin(&bk);
    cr_assert_eq(backup_info_add_tablespace(&bk.info, TS_OID, old, &err), 0, "%s", err.msg);
    ar_base_end(&a);
    backup_add_tar(&bk, "base.tar.0", 0, &a);
    ar_dir(&a, "PG_15_202209061/");
    ar_link(&a, "PG_15_202209061/5", outside);
    ar_grow(&a, 1024);
    memset(a.d + a.len, 0, 1024);
    a.len += 1024;
    backup_add_tar(&bk, "16385.tar.0", TS_OID, &a);
    backup_end(&bk);

    cr_assert_eq(recover(false, ts, &err), -1, "the restore succeeded");
    cr_assert_eq(err.code, WS_ECORRUPT, "%s: %s", err_code_name(err.code), err.msg);
    cr_assert(strstr(err.msg, "PG_15_202209061/5") != NULL, "%s", err.msg);
    cr_assert(strstr(err.msg, "16385.tar.0") != NULL, "%s", err.msg);
    cr_assert(!exists(ts), "the tablespace directory was left behind");
}

/*
 * Signal files that came with the backup (BASE_BACKUP sends them like any
 * file; a backup of a standby has standby.signal) are replaced by the one
 * asked for: the other is removed, the wanted one is new and empty.
 */
Test(recover, signal_files_from_the_backup_replaced)
{
    for (int standby = 0; standby <= 1; standby++)
    {
        struct backup bk;
        struct ar   a = {0};
        struct ws_err err = WS_ERR_INIT;
        char        cmd[512];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s'", rec, repo_dir);
        cr_assert_eq(system(cmd), 0);
        cr_assert_eq(mkdir(repo_dir, 0700), 0);
        backup_begin(&bk);
        ar_file(&a, "recovery.signal", "from the backup\n");
        ar_file(&a, "standby.signal", "from the backup\n");
        ar_base_end(&a);
        backup_add_tar(&bk, "base.tar.0", 0, &a);
        backup_end(&bk);

        cr_assert_eq(recover(standby, NULL, &err), 0, "standby %d: %s (%s)", standby, err.msg,
                     err.detail);
        assert_file_is(in_rec(standby ? "standby.signal" : "recovery.signal"), "");
        cr_assert(!exists(in_rec(standby ? "recovery.signal" : "standby.signal")),
                  "standby %d: the other signal file from the backup is still there", standby);
    }
}

/* backup_manifest is walship-recover's to write: one in the archive is refused. */
Test(recover, manifest_member_refused)
{
    struct backup bk;
    struct ar   a = {0};
    struct ws_err err = WS_ERR_INIT;

    backup_begin(&bk);
    ar_file(&a, BACKUP_MANIFEST_NAME, "planted\n");
    ar_base_end(&a);
    backup_add_tar(&bk, "base.tar.0", 0, &a);
    backup_add(&bk, BACKUP_MANIFEST_NAME, 0, "{ \"manifest\": 1 }\n", 18);
    backup_end(&bk);

    cr_assert_eq(recover(false, NULL, &err), -1, "the restore succeeded");
    cr_assert(strstr(err.msg, BACKUP_MANIFEST_NAME) != NULL, "%s", err.msg);
    cr_assert_eq(err.sys_errno, EEXIST, "%s", err.msg);
    cr_assert(!exists(rec), "the target directory was left behind");
}

/* ---- storage error paths, through the fault-injecting driver ---------------------- */

/*
 * A fault at one storage call of walship-recover: the ws_code it must
 * report, the exit status the operator's cron job sees (docs/exit-codes.md),
 * and nothing left in the target directory, which it created.
 */
/* arrays, not pointers: Criterion hands parameters to another process */
struct recover_fault
{
    char        what[48];
    enum fault_op op;
    char        key_part[32];   /* the fault hits only keys containing this ("": any) */
    enum fault_kind kind;
    enum ws_code code;
    int         exit_status;
};

static struct recover_fault recover_faults[] = {
    {"list transient", FAULT_OP_LIST, "", FAULT_TRANSIENT, WS_ETRANSIENT, 7},
    {"descriptor permission", FAULT_OP_GET, "backup.info", FAULT_PERMISSION, WS_EIO, 1},
    {"part missing", FAULT_OP_GET, "base.tar", FAULT_NOTFOUND, WS_ECORRUPT, 4},
    {"part transient", FAULT_OP_GET, "base.tar", FAULT_TRANSIENT, WS_ETRANSIENT, 7},
    {"part permission", FAULT_OP_GET, "base.tar", FAULT_PERMISSION, WS_EIO, 1},
    {"part corrupt", FAULT_OP_GET, "base.tar", FAULT_CORRUPT, WS_ECORRUPT, 4},
    {"part short", FAULT_OP_GET, "base.tar", FAULT_SHORT, WS_ECORRUPT, 4},
    {"manifest missing", FAULT_OP_GET, BACKUP_MANIFEST_NAME, FAULT_NOTFOUND, WS_ECORRUPT, 4},
    {"manifest corrupt", FAULT_OP_GET, BACKUP_MANIFEST_NAME, FAULT_CORRUPT, WS_ECORRUPT, 4},
};

ParameterizedTestParameters(recover, storage_error_paths)
{
    return cr_make_param_array(struct recover_fault, recover_faults,
                               sizeof(recover_faults) / sizeof(recover_faults[0]));
}

ParameterizedTest(struct recover_fault *c, recover, storage_error_paths, .timeout = 60)
{
    struct backup bk;
    struct ar   a = {0};
    struct ws_err err = WS_ERR_INIT;

    backup_begin(&bk);
    ar_file(&a, "postgresql.auto.conf", "work_mem = '7MB'\n");
    ar_base_end(&a);
    backup_add_tar(&bk, "base.tar.0", 0, &a);
    backup_add(&bk, BACKUP_MANIFEST_NAME, 0, "{ \"manifest\": 1 }\n", 18);
    backup_end(&bk);

    storage_fault_install();
    storage_fault_add_key(c->op, 1, c->kind, true, c->key_part[0] ? c->key_part : NULL);
    cr_assert_eq(recover(false, NULL, &err), -1, "%s: recovered", c->what);
    cr_assert_geq(storage_fault_injected(), 1, "%s: the fault was never reached (%s)", c->what,
                  err.msg);
    cr_assert_eq(err.code, c->code, "%s: code %s, want %s: %s", c->what, err_code_name(err.code),
                 err_code_name(c->code), err.msg);
    cr_assert_eq(exitcode_for(WS_PROG_TOOL, err.code), c->exit_status, "%s: exit status", c->what);
    cr_assert(!exists(rec), "%s: the target directory it created is left behind", c->what);
    storage_set_wrap(NULL, NULL);

    /* without the fault the same backup restores */
    err_clear(&err);
    cr_assert_eq(recover(false, NULL, &err), 0, "%s: %s", c->what, err.msg);
}
