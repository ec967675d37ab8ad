/*
 * test_dump.c — logical dumps: names (dump_info.h), the descriptor's text
 * (round trip, damage), catalog_dumps (complete, incomplete, damaged,
 * oldest first) and the put/get engine (ops_dump.h) on a filesystem
 * repository: a round trip through pipes, a name taken, an empty input, a
 * failing before_commit and a stop flag leaving nothing, a descriptor whose
 * SHA-256 or size does not match the data refused by get and verify.
 *
 * Every test runs in its own forked process with a scratch directory.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "catalog.h"
#include "cfg.h"
#include "dump_info.h"
#include "harness.h"
#include "log.h"
#include "ops_dump.h"
#include "pgcontrol.h"
#include "repo.h"

#define SYSID 7301234567890123456ULL

static char scratch[64];
static char repo_dir[PATH_MAX];
static struct cfg cfg;

static void
setup(void)
{
    char      **rest = NULL;
    int         nrest = 0;
    struct ws_err err = WS_ERR_INIT;

    harness_clear_walship_env();
    log_set_level(LOG_LEVEL_ERROR);
    harness_scratch(scratch, sizeof(scratch), "dump");
    snprintf(repo_dir, sizeof(repo_dir), "%s/repo", scratch);
    cr_assert_eq(mkdir(repo_dir, 0700), 0);
    cr_assert_eq(cfg_load(&cfg, 1, (char *[]){"walship-test", NULL}, &rest, &nrest, &err), 0,
                 "cfg_load: %s", err.msg);
    free(rest);
    snprintf(cfg.repo, sizeof(cfg.repo), "%s", repo_dir);
    cfg.compression = CFG_COMPRESS_ZSTD;
}

static void
teardown(void)
{
    harness_rm_scratch(scratch);
}

TestSuite(dump, .init = setup, .fini = teardown);

static struct repo *
make_repo(void)
{
    struct pg_control pgc;
    struct ws_err err = WS_ERR_INIT;
    struct repo *r = NULL;

    memset(&pgc, 0, sizeof(pgc));
    pgc.system_identifier = SYSID;
    pgc.wal_segment_size = 16u << 20;
    pgc.pg_major = 15;
    cr_assert_eq(repo_open(&cfg, &pgc, &r, &err), 0, "repo_open: %s", err.msg);
    return r;
}

/* ---- names and the descriptor -------------------------------------------- */

Test(dump, names)
{
    static const char *const good[] = {"daily-2026-12-04", "app_20261204_031500", "a", "x.y-z_1",
                                       "A9"};
    static const char *const bad[] = {"", ".hidden", "-x", "a/b", "a b", "a\nb", "..", "caf\xc3\xa9",
                                      "x*"};
    char        longest[DUMP_NAME_MAX + 2];
    struct ws_err err = WS_ERR_INIT;

    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        cr_assert_eq(dump_name_check(good[i], &err), 0, "\"%s\": %s", good[i], err.msg);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    {
        err_clear(&err);
        cr_assert_eq(dump_name_check(bad[i], &err), -1, "\"%s\" accepted", bad[i]);
        cr_assert_eq(err.code, WS_EINPUT);
        cr_assert(strstr(err.msg, "invalid dump name") != NULL, "%s", err.msg);
    }
    memset(longest, 'n', DUMP_NAME_MAX);
    longest[DUMP_NAME_MAX] = '\0';
    cr_assert_eq(dump_name_check(longest, NULL), 0, "128 characters are fine");
    longest[DUMP_NAME_MAX] = 'n';
    longest[DUMP_NAME_MAX + 1] = '\0';
    cr_assert_eq(dump_name_check(longest, NULL), -1, "129 are not");
}

Test(dump, default_name)
{
    char        buf[DUMP_NAME_MAX + 1];

    ops_dump_default_name("app", 1796428800 + 3 * 3600 + 15 * 60, buf, sizeof(buf));
    cr_assert_str_eq(buf, "app_20261205_031500");
    ops_dump_default_name("my db/ü", 0, buf, sizeof(buf));
    cr_assert_str_eq(buf, "my_db____19700101_000000");
    cr_assert_eq(dump_name_check(buf, NULL), 0);
    ops_dump_default_name(".x", 0, buf, sizeof(buf));
    cr_assert_str_eq(buf, "dump_19700101_000000");
}

static struct dump_info
sample(void)
{
    struct dump_info d;

    memset(&d, 0, sizeof(d));
    d.format = DUMP_INFO_FORMAT;
    snprintf(d.name, sizeof(d.name), "daily-2026-12-04");
    d.start_time_us = INT64_C(1796428800123456);
    d.end_time_us = INT64_C(1796428900000001);
    d.size = 123456789;
    d.stored = 98765;
    d.xxh64 = 0x0123456789abcdefULL;
    memset(d.sha256, 'a', 64);
    d.system_identifier = SYSID;
    snprintf(d.database, sizeof(d.database), "app");
    snprintf(d.pg_dump_format, sizeof(d.pg_dump_format), "custom");
    snprintf(d.compression, sizeof(d.compression), "zstd");
    snprintf(d.encryption, sizeof(d.encryption), "none");
    return d;
}

Test(dump, descriptor_round_trip)
{
    struct dump_info d = sample(), e;
    struct ws_err err = WS_ERR_INIT;
    char       *text = dump_info_format(&d);

    cr_assert_not_null(text);
    cr_assert_eq(dump_info_parse(text, "t", &e, &err), 0, "%s", err.msg);
    cr_assert_str_eq(e.name, d.name);
    cr_assert_eq(e.start_time_us, d.start_time_us);
    cr_assert_eq(e.end_time_us, d.end_time_us);
    cr_assert_eq(e.size, d.size);
    cr_assert_eq(e.stored, d.stored);
    cr_assert_eq(e.xxh64, d.xxh64);
    cr_assert_str_eq(e.sha256, d.sha256);
    cr_assert_eq(e.system_identifier, SYSID);
    cr_assert_str_eq(e.database, "app");
    cr_assert_str_eq(e.pg_dump_format, "custom");
    free(text);
}

Test(dump, descriptor_damage)
{
    static const char *const broken[] = {
        "format = 2\n", "name = .x\n", "sha256 = abc\n", "size = -1\n", "xxh64 = zz\n",
        "start_time = 'yesterday'\n", "size 1 2\n",
    };
    struct dump_info d = sample(), e;
    char       *good = dump_info_format(&d);

    for (size_t i = 0; i < sizeof(broken) / sizeof(broken[0]); i++)
    {
        struct ws_err err = WS_ERR_INIT;
        char       *t = malloc(strlen(good) + 64);

        sprintf(t, "%s%s", good, broken[i]);       /* a later key wins: it must be checked */
        cr_assert_eq(dump_info_parse(t, "t", &e, &err), -1, "accepted: %s", broken[i]);
        cr_assert_eq(err.code, WS_ECORRUPT, "%s", broken[i]);
        free(t);
    }
    {
        struct ws_err err = WS_ERR_INIT;
        char        t[] = "format = 1\nname = x\n";

        cr_assert_eq(dump_info_parse(t, "t", &e, &err), -1);
        cr_assert(strstr(err.msg, "incomplete") != NULL, "%s", err.msg);
    }
    free(good);
}

/* ---- the catalog ------------------------------------------------------------ */

static void
write_file(const char *key, const char *text)
{
    char        path[PATH_MAX + REPO_KEY_MAX];
    FILE       *f;

    snprintf(path, sizeof(path), "%s/%s", repo_dir, key);
    for (char *p = path + strlen(repo_dir) + 1; *p; p++)
        if (*p == '/')
        {
            *p = '\0';
            (void) mkdir(path, 0700);
            *p = '/';
        }
    f = fopen(path, "w");
    cr_assert_not_null(f, "%s", path);
    fputs(text, f);
    fclose(f);
}

Test(dump, catalog)
{
    struct repo *r = make_repo();
    struct ws_err err = WS_ERR_INIT;
    struct dump_info a = sample(), b = sample();
    struct catalog_dump *list = NULL;
    int         n = -1;

    snprintf(a.name, sizeof(a.name), "zzz-old");
    a.start_time_us = 1000000;
    snprintf(b.name, sizeof(b.name), "aaa-new");
    b.start_time_us = 2000000;
    cr_assert_eq(dump_info_store(r, &b, &err), 0, "%s", err.msg);
    cr_assert_eq(dump_info_store(r, &a, &err), 0, "%s", err.msg);
    cr_assert_eq(dump_info_store(r, &a, &err), -1, "a descriptor is never replaced");
    cr_assert_eq(err.code, WS_EEXISTS);
    write_file("dumps/zzz-old/data", "x");
    write_file("dumps/half/data", "xy");                  /* killed between data and descriptor */
    write_file("dumps/broken/dump.info", "not an object");
    write_file("dumps/.tmp/data", "x");                    /* not a name */
    write_file("dumps/other/file", "x");                   /* not ours */
    cr_assert_eq(catalog_dumps(r, &list, &n, &err), 0, "%s", err.msg);
    cr_assert_eq(n, 4);
    cr_assert_str_eq(list[0].info.name, "zzz-old");
    cr_assert(list[0].complete && list[0].has_data);
    cr_assert_str_eq(list[1].info.name, "aaa-new");
    cr_assert(list[1].complete && !list[1].has_data);
    cr_assert_str_eq(list[2].info.name, "broken");
    cr_assert(!list[2].complete && list[2].unreadable);
    cr_assert_str_eq(list[3].info.name, "half");
    cr_assert(!list[3].complete && !list[3].unreadable && list[3].has_data);
    cr_assert_eq(list[3].data_stored, 2);
    catalog_dumps_free(list);
    repo_close(r);
}

/* ---- put and get ------------------------------------------------------------ */

struct feeder
{
    int         fd;
    size_t      len;
    const unsigned char *buf;
};

static void *
feed(void *arg)
{
    struct feeder *f = arg;

    (void) !write(f->fd, f->buf, f->len);
    close(f->fd);
    return NULL;
}

/* Put len bytes of buf through a pipe, as walship put reads standard input. */
static int
put_bytes(struct repo *r, const char *name, const void *buf, size_t len,
          int (*before) (void *, struct ws_err *), const volatile sig_atomic_t *stop,
          struct dump_info *out, struct ws_err *err)
{
    int         p[2];
    pthread_t   th;
    struct feeder f;
    struct ops_put_options o;
    int         rc;

    cr_assert_eq(pipe(p), 0);
    f = (struct feeder) {p[1], len, buf};
    cr_assert_eq(pthread_create(&th, NULL, feed, &f), 0);
    memset(&o, 0, sizeof(o));
    o.name = name;
    o.fd = p[0];
    o.fd_what = "the test pipe";
    o.before_commit = before;
    o.stop = stop;
    rc = ops_dump_put_repo(r, &cfg, &o, out, err);
    close(p[0]);                /* a stopped put: the feeder gets EPIPE */
    pthread_join(th, NULL);
    return rc;
}

static unsigned char *
payload(size_t len)
{
    unsigned char *b = malloc(len);
    uint64_t    x = 88172645463325252ULL;

    cr_assert_not_null(b);
    memcpy(b, "PGDMP", 5);
    for (size_t i = 5; i < len; i++)
    {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        b[i] = (unsigned char) (i % 3 ? 'a' + i % 7 : x);
    }
    return b;
}

static bool
key_exists(const char *key)
{
    char        path[PATH_MAX + REPO_KEY_MAX];

    snprintf(path, sizeof(path), "%s/%s", repo_dir, key);
    return access(path, F_OK) == 0;
}

Test(dump, put_get_round_trip)
{
    struct repo *r = make_repo();
    struct ws_err err = WS_ERR_INIT;
    size_t      len = 3 * 1024 * 1024 + 17;
    unsigned char *buf = payload(len);
    struct dump_info d;
    struct ops_get_options g;
    char        out[PATH_MAX];
    FILE       *f;
    unsigned char *back;

    signal(SIGPIPE, SIG_IGN);
    cr_assert_eq(put_bytes(r, "rt", buf, len, NULL, NULL, &d, &err), 0, "%s", err.msg);
    cr_assert_eq(d.size, len);
    cr_assert_str_eq(d.pg_dump_format, "custom");
    cr_assert_lt(d.stored, len, "compressed");
    cr_assert(key_exists("dumps/rt/data") && key_exists("dumps/rt/dump.info"));

    snprintf(out, sizeof(out), "%s/out.dump", scratch);
    g = (struct ops_get_options) {.name = "rt", .output = out};
    cr_assert_eq(ops_dump_get(&cfg, &g, NULL, &err), 0, "%s", err.msg);
    back = malloc(len + 1);
    f = fopen(out, "rb");
    cr_assert_not_null(f);
    cr_assert_eq(fread(back, 1, len + 1, f), len);
    fclose(f);
    cr_assert_eq(memcmp(back, buf, len), 0);

    /* the name is taken: refused before reading, the dump untouched */
    err_clear(&err);
    cr_assert_eq(put_bytes(r, "rt", "other", 5, NULL, NULL, NULL, &err), -1);
    cr_assert_eq(err.code, WS_EEXISTS, "%s", err.msg);
    cr_assert(strstr(err.msg, "already exists") != NULL, "%s", err.msg);
    cr_assert_eq(ops_dump_get(&cfg, &g, NULL, &err), 0, "%s", err.msg);

    /* unknown */
    g.name = "nope";
    err_clear(&err);
    cr_assert_eq(ops_dump_get(&cfg, &g, NULL, &err), -1);
    cr_assert_eq(err.code, WS_ENOTFOUND);
    cr_assert(strstr(err.msg, "dump \"nope\" is not in repository") != NULL, "%s", err.msg);
    free(back);
    free(buf);
    repo_close(r);
}

static int
refuse(void *arg, struct ws_err *err)
{
    (void) arg;
    return err_set(err, WS_EIO, "pg_dump failed with exit status 1");
}

Test(dump, failures_leave_nothing)
{
    struct repo *r = make_repo();
    struct ws_err err = WS_ERR_INIT;
    unsigned char *buf = payload(1 << 20);
    volatile sig_atomic_t stop = 15;
    struct catalog_dump *list = NULL;
    int         n = -1;

    signal(SIGPIPE, SIG_IGN);
    cr_assert_eq(put_bytes(r, "empty", "", 0, NULL, NULL, NULL, &err), -1);
    cr_assert_eq(err.code, WS_EINPUT);
    cr_assert(strstr(err.hint, "pipefail") != NULL, "%s", err.hint);
    err_clear(&err);
    cr_assert_eq(put_bytes(r, "failing", buf, 1 << 20, refuse, NULL, NULL, &err), -1);
    cr_assert_str_eq(err.msg, "pg_dump failed with exit status 1");
    err_clear(&err);
    cr_assert_eq(put_bytes(r, "stopped", buf, 1 << 20, NULL, &stop, NULL, &err), -1);
    cr_assert_eq(err.code, WS_EINTERRUPTED);
    cr_assert(!key_exists("dumps/empty/data") && !key_exists("dumps/failing/data") &&
              !key_exists("dumps/stopped/data"));
    cr_assert_eq(catalog_dumps(r, &list, &n, &err), 0, "%s", err.msg);
    cr_assert_eq(n, 0);
    catalog_dumps_free(list);
    free(buf);
    repo_close(r);
}

/* Replace the descriptor of `name` by d (a raw rewrite: what damage or a swap would do). */
static void
rewrite_descriptor(struct repo *r, const struct dump_info *d)
{
    struct ws_err err = WS_ERR_INIT;
    char        key[REPO_KEY_MAX];

    cr_assert_eq(dump_key(d->name, DUMP_INFO_NAME, key, sizeof(key), &err), 0);
    cr_assert_eq(repo_delete(r, key, &err), 0);
    cr_assert_eq(dump_info_store(r, d, &err), 0, "%s", err.msg);
}

Test(dump, descriptor_mismatch_is_corrupt)
{
    struct repo *r = make_repo();
    struct ws_err err = WS_ERR_INIT;
    unsigned char *buf = payload(100000);
    struct dump_info d, bad;
    struct ops_get_options g;
    char        out[PATH_MAX];

    signal(SIGPIPE, SIG_IGN);
    cr_assert_eq(put_bytes(r, "m", buf, 100000, NULL, NULL, &d, &err), 0, "%s", err.msg);
    cr_assert_eq(ops_dump_verify(r, &d, NULL, &err), 0, "%s", err.msg);
    snprintf(out, sizeof(out), "%s/m.dump", scratch);
    g = (struct ops_get_options) {.name = "m", .output = out};

    bad = d;
    bad.sha256[0] = bad.sha256[0] == '0' ? '1' : '0';
    rewrite_descriptor(r, &bad);
    cr_assert_eq(ops_dump_get(&cfg, &g, NULL, &err), -1);
    cr_assert_eq(err.code, WS_ECORRUPT);
    cr_assert(strstr(err.msg, "SHA-256 differs") != NULL, "%s", err.msg);
    cr_assert_neq(access(out, F_OK), 0, "no output file");
    err_clear(&err);
    cr_assert_eq(ops_dump_verify(r, &bad, NULL, &err), -1);
    cr_assert_eq(err.code, WS_ECORRUPT);

    bad = d;
    bad.size++;
    rewrite_descriptor(r, &bad);
    err_clear(&err);
    cr_assert_eq(ops_dump_get(&cfg, &g, NULL, &err), -1);
    cr_assert(strstr(err.msg, "bytes read, its descriptor says") != NULL, "%s", err.msg);

    bad = d;
    bad.xxh64 ^= 1;
    rewrite_descriptor(r, &bad);
    err_clear(&err);
    cr_assert_eq(ops_dump_get(&cfg, &g, NULL, &err), -1);
    cr_assert(strstr(err.msg, "XXH64") != NULL, "%s", err.msg);
    cr_assert_neq(access(out, F_OK), 0, "no output file");

    rewrite_descriptor(r, &d);
    cr_assert_eq(ops_dump_get(&cfg, &g, NULL, &err), 0, "%s", err.msg);

    /* a descriptor whose data is gone: damage, not "not found" */
    cr_assert_eq(repo_delete(r, "dumps/m/data", &err), 0);
    cr_assert_eq(ops_dump_get(&cfg, &g, NULL, &err), -1);
    cr_assert_eq(err.code, WS_ECORRUPT);
    cr_assert(strstr(err.msg, "data object \"dumps/m/data\" is missing") != NULL, "%s", err.msg);
    err_clear(&err);
    cr_assert_eq(ops_dump_verify(r, &d, NULL, &err), -1);
    cr_assert_eq(err.code, WS_ECORRUPT);
    free(buf);
    repo_close(r);
}
