/*
 * test_pg.c — the libpq layer (common/pg/pg.c) against real PostgreSQL 15.
 *
 * Each test that needs a server makes its own throwaway cluster (Criterion
 * forks per test and runs them in parallel): initdb as the unprivileged user
 * pgtest (created when running as root), unix socket only in the cluster's
 * temporary directory, started with pg_ctl -w and stopped in the suite's
 * .fini.  Without PostgreSQL 15's binaries these tests are skipped with the
 * reason.  LSN helpers and connection-string errors need no server.
 *
 * Every library call that talks to a server runs with stdout and stderr
 * redirected to a file that must stay empty: the library writes nothing
 * there (libpq's default notice processor would).
 */
#define _GNU_SOURCE             /* memmem */
#include <criterion/criterion.h>
#include <criterion/hooks.h>
#include <criterion/parameterized.h>

#include <errno.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "filter.h"
#include "pg.h"

#define ARCHIVE_CAP (512u * 1024 * 1024)

#include "pg_cluster.h"

TestSuite(pg, .fini = cluster_fini);

/* ---- stdout/stderr must stay empty ------------------------------------- */

struct quiet
{
    char        path[128];
    int         saved_out;
    int         saved_err;
};

static void
quiet_begin(struct quiet *q)
{
    int         fd;

    snprintf(q->path, sizeof(q->path), "/tmp/ws_pg_out.%d", (int) getpid());
    fflush(stdout);
    fflush(stderr);
    fd = open(q->path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    cr_assert_geq(fd, 0, "%s: %s", q->path, strerror(errno));
    q->saved_out = dup(1);
    q->saved_err = dup(2);
    dup2(fd, 1);
    dup2(fd, 2);
    close(fd);
}

static void
quiet_end(struct quiet *q)
{
    struct stat st;
    char        text[512] = "";
    FILE       *f;

    fflush(stdout);
    fflush(stderr);
    dup2(q->saved_out, 1);
    dup2(q->saved_err, 2);
    close(q->saved_out);
    close(q->saved_err);
    cr_assert_eq(stat(q->path, &st), 0);
    if (st.st_size > 0 && (f = fopen(q->path, "r")) != NULL)
    {
        size_t      n = fread(text, 1, sizeof(text) - 1, f);

        text[n] = '\0';
        fclose(f);
    }
    unlink(q->path);
    cr_assert_eq(st.st_size, 0, "the library wrote to stdout/stderr: %s", text);
}

/* ---- callbacks collecting everything in memory -------------------------- */

#define MAX_ARCHIVES 4

struct collect
{
    int         narchives;
    char        name[MAX_ARCHIVES][256];
    struct pg_tablespace ts[MAX_ARCHIVES];
    struct filter *data[MAX_ARCHIVES];
    struct filter *current;
    struct filter *manifest;
    bool        in_manifest;
    int         order_errors;
    size_t      cap;            /* of each memory sink */
    int         nprogress;
    uint64_t    last_done;
    uint64_t    last_total;
    bool        progress_bad;
    int         nnotices;
    char        notices[2048];
};

static int
c_archive_begin(void *arg, const char *name, const struct pg_tablespace *ts,
                struct filter **sink, struct ws_err *err)
{
    struct collect *c = arg;

    if (c->current != NULL || c->in_manifest || c->narchives == MAX_ARCHIVES)
    {
        c->order_errors++;
        return err_set(err, WS_EINTERNAL, "archive_begin out of order");
    }
    c->current = filter_mem_new(c->cap ? c->cap : ARCHIVE_CAP);
    if (c->current == NULL)
        return err_set(err, WS_EINTERNAL, "out of memory");
    snprintf(c->name[c->narchives], sizeof(c->name[0]), "%s", name);
    c->ts[c->narchives] = *ts;
    *sink = c->current;
    return 0;
}

static int
c_archive_end(void *arg, struct filter *sink, struct ws_err *err)
{
    struct collect *c = arg;

    if (sink != c->current)
    {
        c->order_errors++;
        filter_free(sink);
        return err_set(err, WS_EINTERNAL, "archive_end with another sink");
    }
    c->current = NULL;
    c->data[c->narchives++] = sink;
    return filter_finish(sink, err);
}

static int
c_manifest_begin(void *arg, struct filter **sink, struct ws_err *err)
{
    struct collect *c = arg;

    if (c->current != NULL || c->in_manifest || c->manifest != NULL)
    {
        c->order_errors++;
        return err_set(err, WS_EINTERNAL, "manifest_begin out of order");
    }
    c->in_manifest = true;
    *sink = filter_mem_new(16 * 1024 * 1024);
    return *sink != NULL ? 0 : err_set(err, WS_EINTERNAL, "out of memory");
}

static int
c_manifest_end(void *arg, struct filter *sink, struct ws_err *err)
{
    struct collect *c = arg;

    if (!c->in_manifest)
        c->order_errors++;
    c->in_manifest = false;
    c->manifest = sink;
    return filter_finish(sink, err);
}

static void
c_progress(void *arg, uint64_t done, uint64_t total)
{
    struct collect *c = arg;

    c->nprogress++;
    if (done > total || done < c->last_done)
        c->progress_bad = true;
    c->last_done = done;
    c->last_total = total;
}

static void
c_notice(void *arg, const char *severity, const char *message)
{
    struct collect *c = arg;
    size_t      n = strlen(c->notices);

    c->nnotices++;
    snprintf(c->notices + n, sizeof(c->notices) - n, "%s: %s\n", severity, message);
}

static void
collect_free(struct collect *c)
{
    for (int i = 0; i < c->narchives; i++)
        filter_free(c->data[i]);
    filter_free(c->current);
    filter_free(c->manifest);
}

static const struct pg_backup_callbacks collect_cb_template = {
    c_archive_begin, c_archive_end, c_manifest_begin, c_manifest_end, c_progress, NULL
};

static int
find_archive(const struct collect *c, const char *name)
{
    for (int i = 0; i < c->narchives; i++)
        if (strcmp(c->name[i], name) == 0)
            return i;
    return -1;
}

/* ---- tar helpers -------------------------------------------------------- */

static uint64_t
tar_octal(const unsigned char *p, size_t n)
{
    uint64_t    v = 0;

    for (size_t i = 0; i < n && p[i] >= '0' && p[i] <= '7'; i++)
        v = v * 8 + (uint64_t) (p[i] - '0');
    return v;
}

/* A structurally valid tar: 512-byte blocks, headers with good checksums,
 * ending with two zero blocks.  Returns the content of member `want`
 * (malloc'd, NUL-terminated) if asked. */
static char *
tar_check(const unsigned char *d, size_t len, const char *want)
{
    size_t      off = 0;
    char       *found = NULL;

    cr_assert(len >= 1024 && len % 512 == 0, "tar length %zu", len);
    for (size_t i = len - 1024; i < len; i++)
        cr_assert_eq(d[i], 0, "tar does not end with two zero blocks");
    while (off + 512 <= len - 1024)
    {
        const unsigned char *h = d + off;
        uint64_t    sum = 0;
        uint64_t    size;
        char        name[256];

        if (h[0] == '\0')
            break;
        for (int i = 0; i < 512; i++)
            sum += (i >= 148 && i < 156) ? ' ' : h[i];
        cr_assert_eq(sum, tar_octal(h + 148, 8), "bad tar header checksum at %zu", off);
        size = tar_octal(h + 124, 12);
        snprintf(name, sizeof(name), "%.100s", (const char *) h);
        if (want != NULL && strcmp(name, want) == 0 && off + 512 + size <= len)
        {
            found = calloc(1, size + 1);
            memcpy(found, h + 512, size);
        }
        off += 512 + (size + 511) / 512 * 512;
    }
    return found;
}

/* Write a memory archive to a file and list it with tar -tf. */
static char *
tar_list(const struct filter *f, const char *fname)
{
    static char listing[65536];
    char        path[256];
    char        cmd[512];
    const unsigned char *d;
    size_t      len;
    size_t      n;
    FILE       *fp;

    d = filter_mem_data(f, &len);
    snprintf(path, sizeof(path), "%s/%s", cl.dir, fname);
    fp = fopen(path, "w");
    cr_assert_not_null(fp);
    cr_assert_eq(fwrite(d, 1, len, fp), len);
    fclose(fp);
    snprintf(cmd, sizeof(cmd), "tar -tf '%s' 2>&1", path);
    fp = popen(cmd, "r");
    cr_assert_not_null(fp);
    n = fread(listing, 1, sizeof(listing) - 1, fp);
    listing[n] = '\0';
    cr_assert_eq(pclose(fp), 0, "tar -tf %s failed: %s", path, listing);
    return listing;
}

static bool
has_line(const char *text, const char *line)
{
    size_t      n = strlen(line);

    for (const char *p = text; (p = strstr(p, line)) != NULL; p++)
        if ((p == text || p[-1] == '\n') && (p[n] == '\n' || p[n] == '\0'))
            return true;
    return false;
}

/* ---- LSN helpers ---------------------------------------------------------- */

/* Parameters are copied into the test process (which may be a fresh exec):
 * strings must live inside the struct, not behind pointers. */
struct lsn_case
{
    char        text[24];
    uint64_t    value;
};

struct lsn_garbage
{
    char        text[24];
};

ParameterizedTestParameters(pg_lsn, round_trip)
{
    static struct lsn_case cases[] = {
        {"0/0", 0},
        {"0/1", 1},
        {"16/B374D848", UINT64_C(0x16B374D848)},
        {"1/0", UINT64_C(0x100000000)},
        {"FFFFFFFF/FFFFFFFF", UINT64_MAX},
        {"A/B", UINT64_C(0xA0000000B)},
        {"0/16B3F00", UINT64_C(0x16B3F00)},
    };

    return cr_make_param_array(struct lsn_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct lsn_case *c, pg_lsn, round_trip)
{
    uint64_t    v = 42;
    char        buf[PG_LSN_LEN];

    cr_assert_eq(pg_lsn_parse(c->text, &v), 0, "parse %s", c->text);
    cr_assert_eq(v, c->value, "%s", c->text);
    pg_lsn_format(v, buf, sizeof(buf));
    cr_assert_str_eq(buf, c->text);
    cr_assert_eq(pg_lsn_parse(buf, &v), 0);
    cr_assert_eq(v, c->value);
}

ParameterizedTestParameters(pg_lsn, garbage)
{
    static struct lsn_garbage cases[] = {
        {""}, {"/"}, {"1/"}, {"/1"}, {"1"}, {"16B374D848"}, {"1/2/3"}, {"G/0"}, {"0/G"},
        {" 1/2"}, {"1/2 "}, {"1 /2"}, {"100000000/0"}, {"0/100000000"}, {"-1/0"}, {"+1/0"},
        {"0x1/0"}, {"1/-2"}, {"1/2\n"}, {"1//2"},
    };

    return cr_make_param_array(struct lsn_garbage, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct lsn_garbage *g, pg_lsn, garbage)
{
    uint64_t    v = 42;

    cr_assert_eq(pg_lsn_parse(g->text, &v), -1, "\"%s\" accepted", g->text);
    cr_assert_eq(v, 42, "output changed on failure");
}

Test(pg_lsn, lower_case_and_small_buffers)
{
    uint64_t    v;
    char        buf[8];

    cr_assert_eq(pg_lsn_parse("16/b374d848", &v), 0);
    cr_assert_eq(v, UINT64_C(0x16B374D848));
    cr_assert_eq(pg_lsn_parse(NULL, &v), -1);
    memset(buf, 'x', sizeof(buf));
    pg_lsn_format(UINT64_C(0x16B374D848), buf, 5);
    cr_assert_str_eq(buf, "16/B");
    pg_lsn_format(1, buf, 0);   /* writes nothing */
    cr_assert_eq(buf[5], 'x');
}

/* ---- the System-Identifier of a 17+ manifest ---------------------------- */

Test(pg_manifest, system_identifier)
{
    /* as PostgreSQL 18.6's backup_manifest begins */
    const char  v2[] = "{ \"PostgreSQL-Backup-Manifest-Version\": 2,\n"
        "\"System-Identifier\": 7715559956470206352,\n\"Files\": [\n";
    const char  v1[] = "{ \"PostgreSQL-Backup-Manifest-Version\": 1,\n\"Files\": [\n";
    const struct
    {
        const char *text;
        int         want;
        uint64_t    id;
    }           cases[] = {
        {v2, 1, UINT64_C(7715559956470206352)},
        {v1, 0, 0},
        {"", 0, 0},
        {"{\"System-Identifier\":18446744073709551615}", 1, UINT64_MAX},
        {"{\"System-Identifier\" : 42 ,", 1, 42},
        {"{\"System-Identifier\": 18446744073709551616,", -1, 0},  /* overflows */
        {"{\"System-Identifier\": \"42\",", -1, 0},
        {"{\"System-Identifier\": 42x,", -1, 0},
        {"{\"System-Identifier\" 42,", -1, 0},
        {"{\"System-Identifier\": 4242", -1, 0},    /* cut off: the number may go on */
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
    {
        uint64_t    id = 0;
        int         got = pg_manifest_system_identifier(cases[i].text, strlen(cases[i].text),
                                                        &id);

        cr_expect_eq(got, cases[i].want, "case %zu: %d", i, got);
        if (cases[i].want == 1)
            cr_expect_eq(id, cases[i].id, "case %zu", i);
    }
    /* only the bytes given count: the key cut in half is not there */
    cr_expect_eq(pg_manifest_system_identifier(v2, 50, &(uint64_t) {0}), 0);
}

/* ---- connection errors without a server --------------------------------- */

static void
assert_no_secret(const struct ws_err *err, const char *secret)
{
    cr_assert_null(strstr(err->msg, secret), "secret in message: %s", err->msg);
    cr_assert_null(strstr(err->detail, secret), "secret in detail: %s", err->detail);
    cr_assert_null(strstr(err->hint, secret), "secret in hint: %s", err->hint);
}

Test(pg, password_never_in_messages)
{
    static const struct
    {
        const char *conninfo;
        enum ws_code code;
    }           cases[] = {
        {"host=/nonexistent/ws_pg user=postgres password=secret123", WS_ETRANSIENT},
        {"host=/nonexistent/ws_pg user=postgres password='secret123' connect_timeout=5",
         WS_ETRANSIENT},
        {"postgresql://postgres:secret123@/postgres?host=/nonexistent/ws_pg", WS_ETRANSIENT},
        {"postgresql:///postgres?host=/nonexistent/ws_pg&password=secret123", WS_ETRANSIENT},
        /* parse errors that quote the string */
        {"postgresql://postgres:secret123@[::1/postgres", WS_ECONFIG},
        {"host=/nonexistent/ws_pg password=secret123 bogus", WS_ECONFIG},
        {"host=/nonexistent/ws_pg password = 'secret123", WS_ECONFIG},
    };
    struct quiet q;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
    {
        struct ws_err err = WS_ERR_INIT;
        struct pg_conn *c = (struct pg_conn *) 1;
        int         rc;

        quiet_begin(&q);
        rc = pg_connect_replication(cases[i].conninfo, &c, &err);
        quiet_end(&q);
        cr_assert_eq(rc, -1, "%s", cases[i].conninfo);
        cr_assert_null(c);
        cr_assert_eq(err.code, cases[i].code, "%s: code %s: %s", cases[i].conninfo,
                     err_code_name(err.code), err.msg);
        cr_assert_neq(err.msg[0], '\0');
        assert_no_secret(&err, "secret123");
        cr_log_info("%s -> %s | %s | %s", cases[i].conninfo, err.msg, err.detail, err.hint);
    }
}

Test(pg, password_from_environment_not_in_messages)
{
    struct ws_err err = WS_ERR_INIT;
    struct pg_conn *c = NULL;
    struct quiet q;

    setenv("PGPASSWORD", "envsecret456", 1);
    setenv("PGHOST", "/nonexistent/ws_pg_env", 1);
    quiet_begin(&q);
    cr_assert_eq(pg_connect_replication("", &c, &err), -1);
    quiet_end(&q);
    cr_assert_eq(err.code, WS_ETRANSIENT, "%s", err.msg);
    cr_assert_not_null(strstr(err.msg, "/nonexistent/ws_pg_env"), "PGHOST not used: %s",
                       err.msg);
    assert_no_secret(&err, "envsecret456");
    cr_assert_neq(err.hint[0], '\0');
}

Test(pg, bad_connection_options)
{
    struct ws_err err = WS_ERR_INIT;
    struct pg_conn *c = NULL;
    struct quiet q;

    quiet_begin(&q);
    cr_assert_eq(pg_connect_replication("host=/nonexistent sslmode=bogus", &c, &err), -1);
    quiet_end(&q);
    cr_assert_eq(err.code, WS_ECONFIG, "%s: %s", err_code_name(err.code), err.msg);
    cr_assert_not_null(strstr(err.msg, "sslmode"), "%s", err.msg);

    quiet_begin(&q);
    cr_assert_eq(pg_connect_replication("host=/nonexistent nosuchoption=1", &c, &err), -1);
    quiet_end(&q);
    cr_assert_eq(err.code, WS_ECONFIG, "%s", err.msg);
    cr_assert_not_null(strstr(err.msg, "nosuchoption"), "%s", err.msg);

    quiet_begin(&q);
    cr_assert_eq(pg_connect_replication("host=/nonexistent connect_timeout=soon", &c, &err), -1);
    quiet_end(&q);
    cr_assert_eq(err.code, WS_ECONFIG, "%s", err.msg);
    cr_assert_not_null(strstr(err.msg, "connect_timeout"), "%s", err.msg);
}

/* ---- against a server ----------------------------------------------------- */

static struct pg_conn *
connect_ok(const char *conninfo)
{
    struct ws_err err = WS_ERR_INIT;
    struct pg_conn *c = NULL;
    struct quiet q;
    int         rc;

    quiet_begin(&q);
    rc = pg_connect_replication(conninfo, &c, &err);
    quiet_end(&q);
    cr_assert_eq(rc, 0, "connect: %s (%s) hint: %s", err.msg, err.detail, err.hint);
    cr_assert_not_null(c);
    return c;
}

Test(pg, identify_system, .timeout = 60)
{
    struct ws_err err = WS_ERR_INIT;
    struct pg_system sys;
    struct pg_conn *c;
    struct quiet q;
    char        cmd[256];
    char        line[256];
    uint64_t    sysid = 0;
    FILE       *p;
    int         rc;

    START_OR_SKIP("--wal-segsize=32", "");
    c = connect_ok(cl.conninfo);
    quiet_begin(&q);
    rc = pg_identify_system(c, &sys, &err);
    quiet_end(&q);
    cr_assert_eq(rc, 0, "%s", err.msg);

    snprintf(cmd, sizeof(cmd), PG_BIN "/pg_controldata '%s/data'", cl.dir);
    p = popen(cmd, "r");
    cr_assert_not_null(p);
    while (fgets(line, sizeof(line), p) != NULL)
        if (strncmp(line, "Database system identifier:", 27) == 0)
            sysid = strtoull(line + 27, NULL, 10);
    pclose(p);
    cr_assert_neq(sysid, 0, "no system identifier from pg_controldata");
    cr_assert_eq(sys.system_identifier, sysid, "%llu != %llu",
                 (unsigned long long) sys.system_identifier, (unsigned long long) sysid);
    cr_assert_eq(sys.timeline, 1);
    cr_assert_gt(sys.xlogpos, 0);
    cr_assert_geq(sys.server_version, 150000);
    cr_assert_eq(sys.server_version, pg_server_version(c));
    cr_assert_eq(sys.wal_segment_size, 32u * 1024 * 1024);
    cr_assert_str_eq(sys.wal_level, "replica");
    /* the connection takes more commands */
    cr_assert_eq(pg_identify_system(c, &sys, &err), 0, "%s", err.msg);
    pg_disconnect(c);
}

Test(pg, base_backup, .timeout = 60)
{
    static const char label[] = "walship's \"test\" \\ 1";
    struct ws_err err = WS_ERR_INIT;
    struct collect col = {0};
    struct pg_backup_callbacks cb = collect_cb_template;
    struct pg_backup_options o = {0};
    struct pg_backup_result res = {0};
    struct pg_system sys;
    struct pg_conn *c;
    struct quiet q;
    const unsigned char *d;
    size_t      len;
    char       *backup_label;
    char        want[128];
    const char *listing;
    int         base;
    int         rc;

    START_OR_SKIP("", "");
    c = connect_ok(cl.conninfo);
    pg_set_notice_handler(c, c_notice, &col);
    cb.arg = &col;
    o.label = label;
    o.fast_checkpoint = true;
    o.manifest = true;
    o.wal = false;
    o.wait_for_archive = true;  /* the server's "archiving is not enabled" notice */

    quiet_begin(&q);
    rc = pg_identify_system(c, &sys, &err);
    if (rc == 0)
        rc = pg_base_backup(c, &o, &cb, &res, &err);
    quiet_end(&q);
    cr_assert_eq(rc, 0, "%s (%s) hint: %s", err.msg, err.detail, err.hint);
    cr_assert_eq(col.order_errors, 0);

    /* one archive, base.tar, for the base tablespace */
    cr_assert_eq(col.narchives, 1, "%d archives", col.narchives);
    base = find_archive(&col, "base.tar");
    cr_assert_geq(base, 0, "no base.tar, got %s", col.name[0]);
    cr_assert_eq(col.ts[base].oid, 0);
    cr_assert_str_eq(col.ts[base].location, "");
    cr_assert_gt(col.ts[base].size_kb, 0, "progress asked: the size is estimated");
    cr_assert_eq(res.ntablespaces, 1);
    cr_assert_eq(res.tablespaces[0].oid, 0);

    d = filter_mem_data(col.data[base], &len);
    cr_assert_gt(len, 1024 * 1024, "base.tar of %zu bytes", len);
    backup_label = tar_check(d, len, "backup_label");
    cr_assert_not_null(backup_label, "no backup_label in base.tar");
    snprintf(want, sizeof(want), "LABEL: %s", label);
    cr_assert(has_line(backup_label, want), "label not round-tripped:\n%s", backup_label);
    free(backup_label);
    listing = tar_list(col.data[base], "base.tar");
    cr_assert(has_line(listing, "PG_VERSION"), "%s", listing);
    cr_assert(has_line(listing, "global/pg_control"), "%s", listing);
    cr_assert(!has_line(listing, "backup_manifest"), "manifest inside base.tar");

    /* the manifest */
    cr_assert_not_null(col.manifest, "no manifest");
    d = filter_mem_data(col.manifest, &len);
    cr_assert_gt(len, 100);
    cr_assert_eq(d[0], '{', "manifest is not a JSON object");
    cr_assert_not_null(memmem(d, len, "\"PostgreSQL-Backup-Manifest-Version\"", 36));
    cr_assert_not_null(memmem(d, len, "\"CRC32C\"", 8), "checksums asked for");
    cr_assert_not_null(memmem(d, len, "\"Manifest-Checksum\"", 19));

    /* positions */
    cr_assert_gt(res.start_lsn, 0);
    cr_assert_geq(res.start_lsn, sys.xlogpos);
    cr_assert_geq(res.stop_lsn, res.start_lsn);
    cr_assert_eq(res.start_tli, 1);
    cr_assert_eq(res.stop_tli, 1);

    /* progress: at least the server's final report for the archive */
    cr_assert_gt(col.nprogress, 0);
    cr_assert(!col.progress_bad, "done > total or going backwards");
    cr_assert_eq(col.last_done, filter_mem_data(col.data[base], &len) ? len : 0,
                 "final progress %llu != archive size", (unsigned long long) col.last_done);

    /* archiving is off: the server says so in a NOTICE, routed to our handler */
    cr_assert_gt(col.nnotices, 0, "no notice received");
    cr_assert_not_null(strstr(col.notices, "WAL archiving is not enabled"), "%s", col.notices);

    /* the connection takes more commands after a backup */
    cr_assert_eq(pg_identify_system(c, &sys, &err), 0, "%s", err.msg);
    cr_assert_geq(sys.xlogpos, res.stop_lsn);

    pg_backup_result_free(&res);
    cr_assert_null(res.tablespaces);
    pg_backup_result_free(NULL);
    collect_free(&col);
    pg_disconnect(c);
}

Test(pg, base_backup_with_tablespace, .timeout = 60)
{
    struct ws_err err = WS_ERR_INIT;
    struct collect col = {0};
    struct pg_backup_callbacks cb = collect_cb_template;
    struct pg_backup_options o = {0};
    struct pg_backup_result res = {0};
    struct pg_conn *c;
    struct quiet q;
    struct passwd *pw;
    char        tsdir[128];
    char        query[256];
    char        want[64];
    uint32_t    oid;
    const char *listing;
    int         base;
    int         tsa;
    int         rc;

    START_OR_SKIP("", "");
    snprintf(tsdir, sizeof(tsdir), "%s/ts", cl.dir);
    cr_assert_eq(mkdir(tsdir, 0700), 0);
    if (cl.user[0] != '\0')
    {
        pw = getpwnam(cl.user);
        cr_assert_eq(chown(tsdir, pw->pw_uid, pw->pw_gid), 0);
    }
    snprintf(query, sizeof(query), "CREATE TABLESPACE ts1 LOCATION '%s'", tsdir);
    sql("postgres", query);
    sql("postgres", "CREATE TABLE t1 TABLESPACE ts1 AS SELECT g FROM generate_series(1, 1000) g");
    oid = (uint32_t) strtoul(sql("postgres", "SELECT oid FROM pg_tablespace WHERE spcname = 'ts1'"),
                             NULL, 10);
    cr_assert_gt(oid, 0);

    c = connect_ok(cl.conninfo);
    cb.arg = &col;
    cb.manifest_begin = NULL;   /* not asked for */
    cb.manifest_end = NULL;
    cb.progress = NULL;
    o.label = "ts";
    o.fast_checkpoint = true;
    o.tablespace_map = true;
    /* default notice handler (log_debug, level info): must stay silent */
    quiet_begin(&q);
    rc = pg_base_backup(c, &o, &cb, &res, &err);
    quiet_end(&q);
    cr_assert_eq(rc, 0, "%s (%s) hint: %s", err.msg, err.detail, err.hint);
    cr_assert_eq(col.order_errors, 0);
    cr_assert_null(col.manifest);

    cr_assert_eq(col.narchives, 2, "%d archives", col.narchives);
    snprintf(want, sizeof(want), "%u.tar", oid);
    tsa = find_archive(&col, want);
    base = find_archive(&col, "base.tar");
    cr_assert_geq(tsa, 0, "no %s: %s, %s", want, col.name[0], col.name[1]);
    cr_assert_geq(base, 0);
    cr_log_info("archives in order: %s, %s", col.name[0], col.name[1]);
    cr_assert_eq(col.ts[tsa].oid, oid);
    cr_assert_str_eq(col.ts[tsa].location, tsdir);
    cr_assert_eq(col.ts[tsa].size_kb, -1, "no progress asked: no estimate");
    cr_assert_eq(col.ts[base].oid, 0);

    cr_assert_eq(res.ntablespaces, 2);
    {
        bool        seen_base = false;
        bool        seen_ts = false;

        for (int i = 0; i < res.ntablespaces; i++)
        {
            if (res.tablespaces[i].oid == 0)
                seen_base = res.tablespaces[i].location[0] == '\0';
            if (res.tablespaces[i].oid == oid)
                seen_ts = strcmp(res.tablespaces[i].location, tsdir) == 0;
        }
        cr_assert(seen_base && seen_ts);
    }

    listing = tar_list(col.data[tsa], want);
    cr_assert_not_null(strstr(listing, "PG_15_"), "%s", listing);
    {
        size_t      tlen;
        const unsigned char *td = filter_mem_data(col.data[tsa], &tlen);

        free(tar_check(td, tlen, NULL));
    }
    listing = tar_list(col.data[base], "base.tar");
    cr_assert(has_line(listing, "tablespace_map"), "TABLESPACE_MAP asked: %s", listing);
    cr_assert(has_line(listing, "PG_VERSION"));

    pg_backup_result_free(&res);
    collect_free(&col);
    pg_disconnect(c);
}

/* A sink that fails: the library frees it (ASan checks), the connection is
 * then unusable.  Option errors before anything is sent leave it usable. */
Test(pg, base_backup_sink_failure_and_bad_options, .timeout = 60)
{
    struct ws_err err = WS_ERR_INIT;
    struct collect col = {0};
    struct pg_backup_callbacks cb = collect_cb_template;
    struct pg_backup_options o = {0};
    struct pg_backup_result res = {0};
    struct pg_system sys;
    struct pg_conn *c;
    struct quiet q;
    char        longlabel[1100];

    START_OR_SKIP("", "");
    c = connect_ok(cl.conninfo);
    cb.arg = &col;
    o.fast_checkpoint = true;

    o.label = "two\nlines";
    cr_assert_eq(pg_base_backup(c, &o, &cb, &res, &err), -1);
    cr_assert_eq(err.code, WS_ECONFIG, "%s", err.msg);
    cr_assert_not_null(strstr(err.msg, "label"));
    memset(longlabel, 'x', sizeof(longlabel) - 1);
    longlabel[sizeof(longlabel) - 1] = '\0';
    o.label = longlabel;
    cr_assert_eq(pg_base_backup(c, &o, &cb, &res, &err), -1);
    cr_assert_eq(err.code, WS_ECONFIG, "%s", err.msg);
    o.label = NULL;
    o.max_rate_kb = 10;
    cr_assert_eq(pg_base_backup(c, &o, &cb, &res, &err), -1);
    cr_assert_eq(err.code, WS_ECONFIG, "%s", err.msg);
    cr_assert_not_null(strstr(err.hint, "32"), "%s", err.hint);
    o.max_rate_kb = 0;
    o.manifest = true;
    cb.manifest_begin = NULL;
    cr_assert_eq(pg_base_backup(c, &o, &cb, &res, &err), -1);
    cr_assert_eq(err.code, WS_EINTERNAL, "%s", err.msg);
    cb.manifest_begin = c_manifest_begin;
    cr_assert_eq(pg_identify_system(c, &sys, &err), 0, "still usable: %s", err.msg);

    col.cap = 64 * 1024;
    quiet_begin(&q);
    cr_assert_eq(pg_base_backup(c, &o, &cb, &res, &err), -1);
    quiet_end(&q);
    cr_assert_eq(err.code, WS_EINTERNAL, "%s", err.msg);
    cr_assert_not_null(strstr(err.msg, "limit"), "%s", err.msg);
    cr_assert_null(res.tablespaces);
    cr_assert_eq(col.narchives, 0, "the failed archive was never ended");
    col.current = NULL;         /* freed by the library */

    cr_assert_eq(pg_identify_system(c, &sys, &err), -1);
    cr_assert_not_null(strstr(err.msg, "unusable"), "%s", err.msg);
    collect_free(&col);
    pg_disconnect(c);
}

Test(pg, role_without_replication_privilege, .timeout = 60)
{
    struct ws_err err = WS_ERR_INIT;
    struct pg_conn *c = NULL;
    struct quiet q;
    char        ci[128];
    int         rc;

    START_OR_SKIP("", "");
    sql("postgres", "CREATE ROLE norepl LOGIN");
    snprintf(ci, sizeof(ci), "host=%s user=norepl", cl.dir);
    quiet_begin(&q);
    rc = pg_connect_replication(ci, &c, &err);
    quiet_end(&q);
    cr_assert_eq(rc, -1);
    cr_assert_null(c);
    cr_assert_eq(err.code, WS_ECONFIG, "%s: %s", err_code_name(err.code), err.msg);
    cr_assert_not_null(strstr(err.msg, "replication role"), "%s", err.msg);
    cr_assert_not_null(strstr(err.hint, "REPLICATION"), "%s", err.hint);
    cr_log_info("%s | %s", err.msg, err.hint);
}

Test(pg, wal_level_minimal, .timeout = 60)
{
    struct ws_err err = WS_ERR_INIT;
    struct pg_conn *c = NULL;
    struct quiet q;
    int         rc;

    /* wal_level = minimal requires max_wal_senders = 0 (the server refuses
     * to start otherwise), so a replication connection is refused */
    START_OR_SKIP("", "wal_level = minimal\nmax_wal_senders = 0");
    quiet_begin(&q);
    rc = pg_connect_replication(cl.conninfo, &c, &err);
    quiet_end(&q);
    cr_assert_eq(rc, -1);
    cr_assert_eq(err.code, WS_ECONFIG, "%s: %s", err_code_name(err.code), err.msg);
    cr_assert_not_null(strstr(err.msg, "max_wal_senders"), "%s", err.msg);
    cr_assert_not_null(strstr(err.hint, "wal_level"), "%s", err.hint);
    cr_assert_not_null(strstr(err.hint, "max_wal_senders"), "%s", err.hint);
    cr_log_info("%s | %s", err.msg, err.hint);
}

Test(pg, no_free_wal_sender, .timeout = 60)
{
    struct ws_err err = WS_ERR_INIT;
    struct pg_conn *held;
    struct pg_conn *c = NULL;
    struct quiet q;
    int         rc = -1;

    START_OR_SKIP("", "max_wal_senders = 1");
    held = connect_ok(cl.conninfo);
    quiet_begin(&q);
    rc = pg_connect_replication(cl.conninfo, &c, &err);
    quiet_end(&q);
    cr_assert_eq(rc, -1);
    cr_assert_null(c);
    cr_assert_eq(err.code, WS_ETRANSIENT, "%s: %s", err_code_name(err.code), err.msg);
    cr_assert_not_null(strstr(err.msg, "max_wal_senders"), "%s", err.msg);
    cr_assert_not_null(strstr(err.hint, "max_wal_senders"), "%s", err.hint);
    cr_log_info("%s | %s", err.msg, err.hint);

    /* once the first goes away the slot is free again (the backend exits
     * asynchronously: retry briefly) */
    pg_disconnect(held);
    for (int i = 0; i < 50 && rc != 0; i++)
    {
        rc = pg_connect_replication(cl.conninfo, &c, &err);
        if (rc != 0)
            usleep(100 * 1000);
    }
    cr_assert_eq(rc, 0, "%s", err.msg);
    pg_disconnect(c);
}

/* A sink that stops the server (immediate shutdown) on its first write. */
struct killer
{
    struct filter base;
    pid_t       postmaster;
    uint64_t    bytes;
};

static int
killer_write(struct filter *f, const void *buf, size_t len, struct ws_err *err)
{
    struct killer *k = (struct killer *) f;

    (void) buf;
    (void) err;
    if (k->bytes == 0)
    {
        /*
         * Stop reading until the server is gone: on a loaded host the
         * walsender could otherwise send the whole (small) backup before the
         * postmaster got to pass SIGQUIT on, and the backup would succeed.
         */
        kill(k->postmaster, SIGQUIT);
        for (int i = 0; i < 400 && kill(k->postmaster, 0) == 0; i++)
            usleep(50 * 1000);
    }
    k->bytes += len;
    return 0;
}

static int
killer_finish(struct filter *f, struct ws_err *err)
{
    (void) f;
    (void) err;
    return 0;
}

static void
killer_free(struct filter *f)
{
    free(f);
}

static const struct filter_ops killer_ops = {"killer", killer_write, killer_finish, killer_free};

struct killer_arg
{
    pid_t       postmaster;
    int         begun;
    int         ended;
};

static int
k_archive_begin(void *arg, const char *name, const struct pg_tablespace *ts,
                struct filter **sink, struct ws_err *err)
{
    struct killer_arg *ka = arg;
    struct killer *k = calloc(1, sizeof(*k));

    (void) name;
    (void) ts;
    if (k == NULL)
        return err_set(err, WS_EINTERNAL, "out of memory");
    k->base.ops = &killer_ops;
    k->postmaster = ka->postmaster;
    ka->begun++;
    *sink = &k->base;
    return 0;
}

static int
k_archive_end(void *arg, struct filter *sink, struct ws_err *err)
{
    struct killer_arg *ka = arg;

    (void) err;
    ka->ended++;
    filter_free(sink);
    return 0;
}

Test(pg, server_killed_mid_stream, .timeout = 60)
{
    struct ws_err err = WS_ERR_INIT;
    struct killer_arg ka = {0};
    struct pg_backup_callbacks cb = {k_archive_begin, k_archive_end, NULL, NULL, NULL, &ka};
    struct pg_backup_options o = {0};
    struct pg_backup_result res = {0};
    struct pg_system sys;
    struct pg_conn *c;
    struct quiet q;
    char        path[128];
    FILE       *f;
    long        pid = 0;
    int         rc;

    START_OR_SKIP("", "");
    snprintf(path, sizeof(path), "%s/data/postmaster.pid", cl.dir);
    f = fopen(path, "r");
    cr_assert_not_null(f);
    cr_assert_eq(fscanf(f, "%ld", &pid), 1);
    fclose(f);
    ka.postmaster = (pid_t) pid;

    c = connect_ok(cl.conninfo);
    o.fast_checkpoint = true;
    quiet_begin(&q);
    rc = pg_base_backup(c, &o, &cb, &res, &err);
    quiet_end(&q);
    cr_assert_eq(rc, -1);
    cr_assert_eq(err.code, WS_ETRANSIENT, "%s: %s (%s)", err_code_name(err.code), err.msg,
                 err.detail);
    cr_assert_neq(err.hint[0], '\0');
    cr_assert_eq(ka.begun, 1);
    cr_assert_eq(ka.ended, 0, "an interrupted archive must not be ended");
    cr_assert_null(res.tablespaces);
    cr_log_info("%s | %s | %s", err.msg, err.detail, err.hint);

    cr_assert_eq(pg_identify_system(c, &sys, &err), -1);
    pg_disconnect(c);
}
