/*
 * test_archive_session.c — the archive module's engine
 * (common/command/archive_session.c) without a server: a synthetic data
 * directory (global/pg_control, PG_VERSION) and a filesystem repository.
 *
 * The repository is opened once for many calls; a changed configuration
 * file, or any failure, makes the next call start afresh; the server's data
 * directory wins over the configuration's pgdata; a session for another
 * cluster is refused by the repository (WS_EMISMATCH); and calls do not
 * accumulate heap memory (mallinfo2 before and after a hundred calls).
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "archive_session.h"
#include "checksum.h"
#include "harness.h"
#include "log.h"
#include "pgcontrol.h"

#define SEG_SIZE (16u * 1024 * 1024)
#define SEG1 "000000010000000000000001"

/* ControlFileData offsets for pg_control_version 1300 (as in test_pgcontrol.c) */
#define OFF_SYSID       0
#define OFF_VERSION     8
#define OFF_CATVERSION  12
#define OFF_FLOAT_FORMAT 208            /* FLOATFORMAT_VALUE, 1234567.0 */
#define OFF_BLCKSZ      216
#define OFF_XLOG_BLCKSZ 224
#define OFF_SEG_SIZE    228
#define OFF_CRC         288

static char scratch[64];
static char pgdata[PATH_MAX];
static char conf[PATH_MAX];
static char repo[PATH_MAX];

static void
write_file(const char *path, const void *buf, size_t len)
{
    FILE       *f = fopen(path, "w");

    cr_assert_not_null(f, "fopen %s", path);
    cr_assert_eq(fwrite(buf, 1, len, f), len);
    cr_assert_eq(fclose(f), 0);
}

static void
put32(unsigned char *buf, size_t off, uint32_t v)
{
    memcpy(buf + off, &v, sizeof(v));
}

/* A data directory for cluster sysid: global/pg_control, PG_VERSION, pg_wal/SEG1. */
static void
make_pgdata(const char *dir, uint64_t sysid)
{
    unsigned char buf[PG_CONTROL_FILE_SIZE];
    char        path[PATH_MAX + 32];
    char       *seg;

    cr_assert_eq(mkdir(dir, 0700), 0);
    snprintf(path, sizeof(path), "%s/global", dir);
    cr_assert_eq(mkdir(path, 0700), 0);
    snprintf(path, sizeof(path), "%s/pg_wal", dir);
    cr_assert_eq(mkdir(path, 0700), 0);
    memset(buf, 0, sizeof(buf));
    memcpy(buf + OFF_SYSID, &sysid, sizeof(sysid));
    put32(buf, OFF_VERSION, 1300);
    put32(buf, OFF_CATVERSION, 202209061);
    {
        double      ff = 1234567.0;     /* pg_control's float format check */

        memcpy(buf + OFF_FLOAT_FORMAT, &ff, sizeof(ff));
    }
    put32(buf, OFF_BLCKSZ, 8192);
    put32(buf, OFF_XLOG_BLCKSZ, 8192);
    put32(buf, OFF_SEG_SIZE, SEG_SIZE);
    put32(buf, OFF_CRC, crc32c(buf, OFF_CRC));
    snprintf(path, sizeof(path), "%s/global/pg_control", dir);
    write_file(path, buf, sizeof(buf));
    snprintf(path, sizeof(path), "%s/PG_VERSION", dir);
    write_file(path, "15\n", 3);
    seg = calloc(1, SEG_SIZE);
    cr_assert_not_null(seg);
    memcpy(seg, "a segment", 9);
    snprintf(path, sizeof(path), "%s/pg_wal/" SEG1, dir);
    write_file(path, seg, SEG_SIZE);
    free(seg);
}

static void
write_conf(const char *extra)
{
    char        text[PATH_MAX * 2];
    int         fd;

    snprintf(text, sizeof(text), "repo = %s\n%s", repo, extra);
    write_file(conf, text, strlen(text));
    fd = open(conf, O_RDONLY);
    cr_assert(fd >= 0);
    cr_assert_eq(fchmod(fd, 0600), 0);
    close(fd);
}

static void
setup(void)
{
    harness_clear_walship_env();
    log_set_level(LOG_LEVEL_ERROR);
    harness_scratch(scratch, sizeof(scratch), "archive_session");
    snprintf(pgdata, sizeof(pgdata), "%s/pgdata", scratch);
    snprintf(conf, sizeof(conf), "%s/walship.conf", scratch);
    snprintf(repo, sizeof(repo), "%s/repo", scratch);
    cr_assert_eq(mkdir(repo, 0700), 0);
    make_pgdata(pgdata, UINT64_C(7301234567890123456));
    write_conf("");
}

static void
teardown(void)
{
    harness_rm_scratch(scratch);
}

TestSuite(archive_session, .init = setup, .fini = teardown);

/* A small history file pg_wal/<tli>.history, and its name. */
static void
history(unsigned tli, char *name, size_t nsize, char *path, size_t psize)
{
    char        text[64];

    snprintf(name, nsize, "%08X.history", tli);
    snprintf(path, psize, "%s/pg_wal/%s", pgdata, name);
    snprintf(text, sizeof(text), "%u\t0/%X\tno recovery target specified\n", tli - 1, tli);
    write_file(path, text, strlen(text));
}

static int
push(struct archive_session *s, const char *path, const char *name, struct ws_err *err)
{
    struct archive_stats st;

    err_clear(err);
    return archive_session_push(s, conf, pgdata, path, name, &st, err);
}

Test(archive_session, opens_the_repository_once)
{
    struct archive_session *s = archive_session_new();
    struct ws_err err = WS_ERR_INIT;
    char        name[32], path[PATH_MAX + 64], seg[PATH_MAX + 64];

    cr_assert_not_null(s);
    cr_expect_null(archive_session_cfg(s));
    snprintf(seg, sizeof(seg), "%s/pg_wal/" SEG1, pgdata);
    cr_assert_eq(push(s, seg, SEG1, &err), 0, "%s", err.msg);
    for (unsigned tli = 2; tli < 6; tli++)
    {
        history(tli, name, sizeof(name), path, sizeof(path));
        cr_assert_eq(push(s, path, name, &err), 0, "%s", err.msg);
    }
    cr_expect_eq(archive_session_opens(s), 1u);
    cr_assert_not_null(archive_session_cfg(s));
    cr_expect_str_eq(archive_session_cfg(s)->repo, repo);
    /* the identical segment again: already archived, still one open */
    cr_assert_eq(push(s, seg, SEG1, &err), 0, "%s", err.msg);
    cr_expect_eq(archive_session_opens(s), 1u);
    archive_session_free(s);
}

Test(archive_session, a_changed_configuration_reopens)
{
    struct archive_session *s = archive_session_new();
    struct ws_err err = WS_ERR_INIT;
    char        name[32], path[PATH_MAX + 64];

    history(2, name, sizeof(name), path, sizeof(path));
    cr_assert_eq(push(s, path, name, &err), 0, "%s", err.msg);
    write_conf("compression = none\n");
    history(3, name, sizeof(name), path, sizeof(path));
    cr_assert_eq(push(s, path, name, &err), 0, "%s", err.msg);
    cr_expect_eq(archive_session_opens(s), 2u);
    cr_expect_eq(archive_session_cfg(s)->compression, CFG_COMPRESS_NONE);
    archive_session_free(s);
}

Test(archive_session, a_failure_makes_the_next_call_start_afresh)
{
    struct archive_session *s = archive_session_new();
    struct ws_err err = WS_ERR_INIT;
    char        name[32], path[PATH_MAX + 64];

    history(2, name, sizeof(name), path, sizeof(path));
    cr_assert_eq(push(s, path, name, &err), 0, "%s", err.msg);
    cr_expect_eq(push(s, "/nonexistent/00000003.history", "00000003.history", &err), -1);
    cr_expect_eq(err.code, WS_EINPUT, "%s", err.msg);
    cr_expect_null(archive_session_cfg(s));
    history(3, name, sizeof(name), path, sizeof(path));
    cr_assert_eq(push(s, path, name, &err), 0, "%s", err.msg);
    cr_expect_eq(archive_session_opens(s), 2u);
    archive_session_free(s);
}

Test(archive_session, a_bad_configuration_is_an_error_not_a_crash)
{
    struct archive_session *s = archive_session_new();
    struct ws_err err = WS_ERR_INIT;
    char        name[32], path[PATH_MAX + 64];

    write_conf("compression = lzma\n");
    history(2, name, sizeof(name), path, sizeof(path));
    cr_expect_eq(push(s, path, name, &err), -1);
    cr_expect_eq(err.code, WS_ECONFIG, "%s", err.msg);
    cr_expect(strstr(err.msg, "compression") != NULL, "%s", err.msg);
    /* fixed: the next call works */
    write_conf("compression = zstd\n");
    cr_assert_eq(push(s, path, name, &err), 0, "%s", err.msg);
    archive_session_free(s);
}

Test(archive_session, the_server_data_directory_wins)
{
    struct archive_session *s = archive_session_new();
    struct ws_err err = WS_ERR_INIT;
    char        name[32], path[PATH_MAX + 64];

    write_conf("pgdata = /nonexistent\n");
    history(2, name, sizeof(name), path, sizeof(path));
    cr_assert_eq(push(s, path, name, &err), 0, "%s", err.msg);
    cr_expect_str_eq(archive_session_cfg(s)->pgdata, pgdata);
    archive_session_free(s);
}

Test(archive_session, another_cluster_is_refused)
{
    struct archive_session *s = archive_session_new();
    struct ws_err err = WS_ERR_INIT;
    char        name[32], path[PATH_MAX + 64];
    char        other[PATH_MAX + 16];
    struct archive_stats st;

    history(2, name, sizeof(name), path, sizeof(path));
    cr_assert_eq(push(s, path, name, &err), 0, "%s", err.msg);
    snprintf(other, sizeof(other), "%s/other", scratch);
    make_pgdata(other, UINT64_C(7301234567890999999));
    cr_expect_eq(archive_session_push(s, conf, other, path, name, &st, &err), -1);
    cr_expect_eq(err.code, WS_EMISMATCH, "%s", err.msg);
    archive_session_free(s);
}

Test(archive_session, calls_do_not_accumulate_memory)
{
    struct archive_session *s = archive_session_new();
    struct ws_err err = WS_ERR_INIT;
    char        name[32], path[PATH_MAX + 64];
    struct mallinfo2 m0, m1;
    size_t      grown;

    /* warm up: the repository opened, stdio and libraries initialized */
    for (unsigned tli = 2; tli < 12; tli++)
    {
        history(tli, name, sizeof(name), path, sizeof(path));
        cr_assert_eq(push(s, path, name, &err), 0, "%s", err.msg);
    }
    m0 = mallinfo2();
    for (unsigned tli = 12; tli < 112; tli++)
    {
        /* a failure each time (the error path and the reopen free too), then a success,
         * so that the session is loaded at both measurements */
        cr_assert_eq(push(s, "/nonexistent/00000001.history", "00000001.history", &err), -1);
        history(tli, name, sizeof(name), path, sizeof(path));
        cr_assert_eq(push(s, path, name, &err), 0, "%s", err.msg);
    }
    m1 = mallinfo2();
    grown = m1.uordblks > m0.uordblks ? m1.uordblks - m0.uordblks : 0;
    cr_expect_lt(grown, 4096, "heap in use grew by %zu bytes over 200 calls", grown);
    archive_session_free(s);
}
