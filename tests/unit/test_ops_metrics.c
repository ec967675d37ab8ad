/*
 * test_ops_metrics.c — walship metrics (ops_metrics.h): the exposition
 * writer (metric and label names checked, label values and help texts
 * escaped, a family or a series given twice refused, values written
 * exactly), the series of a synthetic repository state (names, types, the
 * runbook's four, windows per timeline, absent verify and drill), the
 * state objects' parser, the backup attempt keys (backup_record.h),
 * gathering the counters from records in a filesystem repository, and what
 * walship verify --since and --sample read (ops_verify.h).
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "backup_info.h"
#include "backup_record.h"
#include "cfg.h"
#include "checksum.h"
#include "harness.h"
#include "log.h"
#include "ops_metrics.h"
#include "ops_verify.h"
#include "repo.h"
#include "wal.h"

static char scratch[64];
static char repo_dir[PATH_MAX];

static void
setup(void)
{
    harness_clear_walship_env();
    log_set_level(LOG_LEVEL_ERROR);
    harness_scratch(scratch, sizeof(scratch), "metrics");
    snprintf(repo_dir, sizeof(repo_dir), "%s/repo", scratch);
    cr_assert_eq(mkdir(repo_dir, 0700), 0);
}

static void
teardown(void)
{
    harness_rm_scratch(scratch);
}

TestSuite(ops_metrics, .init = setup, .fini = teardown);

/* ---- the writer ------------------------------------------------------------ */

Test(ops_metrics, writer_escapes_labels_and_help)
{
    struct ws_err err = WS_ERR_INIT;
    struct ops_metrics *m = ops_metrics_new(&err);
    const char *l[4] = {"path", "a\\b\"c\nd", "tl", "1"};

    cr_assert_not_null(m);
    cr_assert_eq(ops_metrics_family(m, "x_total", "counter", "help with \\ and\nnewline",
                                    &err), 0, "%s", err.msg);
    cr_assert_eq(ops_metrics_sample(m, l, 2, 3, &err), 0, "%s", err.msg);
    cr_assert_str_eq(ops_metrics_text(m, NULL),
                     "# HELP x_total help with \\\\ and\\nnewline\n"
                     "# TYPE x_total counter\n"
                     "x_total{path=\"a\\\\b\\\"c\\nd\",tl=\"1\"} 3\n");
    ops_metrics_free(m);
}

Test(ops_metrics, writer_values)
{
    struct ws_err err = WS_ERR_INIT;
    struct ops_metrics *m = ops_metrics_new(&err);
    const char *a[2] = {"v", "a"}, *b[2] = {"v", "b"}, *c[2] = {"v", "c"}, *d[2] = {"v", "d"},
        *e[2] = {"v", "e"};

    cr_assert_eq(ops_metrics_family(m, "g", "gauge", "h", &err), 0);
    cr_assert_eq(ops_metrics_sample(m, a, 1, 1733346725.0, &err), 0);
    cr_assert_eq(ops_metrics_sample(m, b, 1, 0.25, &err), 0);
    cr_assert_eq(ops_metrics_sample(m, c, 1, NAN, &err), 0);
    cr_assert_eq(ops_metrics_sample(m, d, 1, -INFINITY, &err), 0);
    cr_assert_eq(ops_metrics_sample(m, e, 1, 18446744073709551615.0, &err), 0);
    cr_assert_str_eq(ops_metrics_text(m, NULL),
                     "# HELP g h\n# TYPE g gauge\n"
                     "g{v=\"a\"} 1733346725\n"
                     "g{v=\"b\"} 0.25\n"
                     "g{v=\"c\"} NaN\n"
                     "g{v=\"d\"} -Inf\n"
                     "g{v=\"e\"} 1.8446744073709552e+19\n");
    ops_metrics_free(m);
}

Test(ops_metrics, writer_refuses_bad_names_and_duplicates)
{
    struct ws_err err = WS_ERR_INIT;
    struct ops_metrics *m = ops_metrics_new(&err);
    const char *bad1[2] = {"9x", "v"}, *bad2[2] = {"__name", "v"}, *bad3[2] = {"a:b", "v"};
    const char *twice[4] = {"a", "1", "a", "2"}, *ok[2] = {"a", "1"};
    size_t      len;

    cr_assert_eq(ops_metrics_sample(m, NULL, 0, 1, &err), -1, "a sample needs a family");
    cr_assert_eq(ops_metrics_family(m, "1abc", "gauge", "h", &err), -1);
    cr_assert_eq(err.code, WS_EINTERNAL);
    cr_assert_eq(ops_metrics_family(m, "a-b", "gauge", "h", &err), -1);
    cr_assert_eq(ops_metrics_family(m, "", "gauge", "h", &err), -1);
    cr_assert_eq(ops_metrics_family(m, "ok:name_1", "histogramm", "h", &err), -1);
    cr_assert_eq(ops_metrics_family(m, "ok:name_1", "gauge", "h", &err), 0, "%s", err.msg);
    cr_assert_eq(ops_metrics_family(m, "ok:name_1", "gauge", "h", &err), -1, "twice");
    cr_assert(strstr(err.msg, "given twice") != NULL, "%s", err.msg);
    cr_assert_eq(ops_metrics_sample(m, bad1, 1, 1, &err), -1);
    cr_assert_eq(ops_metrics_sample(m, bad2, 1, 1, &err), -1, "__ is reserved");
    cr_assert_eq(ops_metrics_sample(m, bad3, 1, 1, &err), -1, "no colon in label names");
    cr_assert_eq(ops_metrics_sample(m, twice, 2, 1, &err), -1, "a label twice");
    cr_assert_eq(ops_metrics_sample(m, ok, 1, 1, &err), 0);
    ops_metrics_text(m, &len);
    cr_assert_eq(ops_metrics_sample(m, ok, 1, 2, &err), -1, "the same series twice");
    cr_assert(strstr(err.msg, "series {a=\"1\"} given twice") != NULL, "%s", err.msg);
    cr_assert_eq(strlen(ops_metrics_text(m, NULL)), len, "a refused sample leaves no text");
    cr_assert_eq(ops_metrics_sample(m, NULL, 0, 1, &err), 0, "no labels is another series");
    cr_assert_eq(ops_metrics_sample(m, NULL, 0, 1, &err), -1);
    ops_metrics_free(m);
}

/* ---- the series ------------------------------------------------------------- */

static bool
has_line(const char *text, const char *line)
{
    size_t      n = strlen(line);

    for (const char *p = text; (p = strstr(p, line)) != NULL; p++)
        if ((p == text || p[-1] == '\n') && p[n] == '\n')
            return true;
    return false;
}

Test(ops_metrics, render_every_series)
{
    struct ws_err err = WS_ERR_INIT;
    struct ops_metrics *m = ops_metrics_new(&err);
    struct ops_metrics_window w[2] = {{1, 1000, 2000}, {2, 1500, 2500}};
    struct ops_metrics_data d;
    const char *t;

    memset(&d, 0, sizeof(d));
    d.now = 3000;
    d.attempts = 3;
    d.successes = 2;
    d.failures = 1;
    d.complete = 2;
    d.incomplete = 1;
    d.last_success = 2900;
    d.last_size = 123456789012ULL;
    d.wal_segments = 256;
    d.wal_last_time = 2990;
    d.objects = 300;
    d.bytes = 999;
    d.windows = w;
    d.nwindows = 2;
    d.verify = (struct ops_metrics_state) {.have = true, .time = 2800, .success = false,
        .duration_seconds = 1.5, .have_last_success = true, .last_success_time = 2000,
        .damaged = 1, .gaps = 2};
    d.drill = (struct ops_metrics_state) {.have = true, .time = 2700, .success = true,
        .duration_seconds = 42, .have_last_success = true, .last_success_time = 2700};
    cr_assert_eq(ops_metrics_render(&d, m, &err), 0, "%s", err.msg);
    t = ops_metrics_text(m, NULL);
    cr_assert(has_line(t, "# TYPE backup_attempts_total counter"), "%s", t);
    cr_assert(has_line(t, "backup_attempts_total 3"), "%s", t);
    cr_assert(has_line(t, "# TYPE backup_success_total counter"), "%s", t);
    cr_assert(has_line(t, "backup_success_total 2"), "%s", t);
    cr_assert(has_line(t, "walship_backup_failures_total 1"), "%s", t);
    cr_assert(has_line(t, "# TYPE backup_size_bytes gauge"), "%s", t);
    cr_assert(has_line(t, "backup_size_bytes 123456789012"), "%s", t);
    cr_assert(has_line(t, "backup_last_success_timestamp 2900"), "%s", t);
    cr_assert(has_line(t, "walship_backups{status=\"incomplete\"} 1"), "%s", t);
    cr_assert(has_line(t, "walship_wal_segments 256"), "%s", t);
    cr_assert(has_line(t, "walship_wal_last_archived_timestamp 2990"), "%s", t);
    cr_assert(has_line(t, "walship_wal_archive_lag_seconds 10"), "%s", t);
    cr_assert(has_line(t, "walship_repository_objects 300"), "%s", t);
    cr_assert(has_line(t, "walship_repository_size_bytes 999"), "%s", t);
    cr_assert(has_line(t, "walship_recovery_window_start_timestamp{timeline=\"2\"} 1500"), "%s", t);
    cr_assert(has_line(t, "walship_recovery_window_end_timestamp{timeline=\"1\"} 2000"), "%s", t);
    cr_assert(has_line(t, "walship_verify_last_success 0"), "%s", t);
    cr_assert(has_line(t, "walship_verify_last_success_timestamp 2000"), "%s", t);
    cr_assert(has_line(t, "walship_verify_damaged_objects 1"), "%s", t);
    cr_assert(has_line(t, "walship_verify_gaps 2"), "%s", t);
    cr_assert(has_line(t, "walship_verify_duration_seconds 1.5"), "%s", t);
    cr_assert(has_line(t, "walship_drill_last_success_timestamp 2700"), "%s", t);
    cr_assert(has_line(t, "walship_drill_duration_seconds 42"), "%s", t);
    cr_assert(has_line(t, "walship_drill_last_success 1"), "%s", t);
    cr_assert(has_line(t, "walship_metrics_timestamp 3000"), "%s", t);
    ops_metrics_free(m);
}

Test(ops_metrics, render_an_empty_repository)
{
    struct ws_err err = WS_ERR_INIT;
    struct ops_metrics *m = ops_metrics_new(&err);
    struct ops_metrics_data d;
    const char *t;

    memset(&d, 0, sizeof(d));
    d.now = 3000;
    cr_assert_eq(ops_metrics_render(&d, m, &err), 0, "%s", err.msg);
    t = ops_metrics_text(m, NULL);
    /* 0, not absent: time() - backup_last_success_timestamp must still alert */
    cr_assert(has_line(t, "backup_last_success_timestamp 0"), "%s", t);
    cr_assert(has_line(t, "backup_attempts_total 0"), "%s", t);
    cr_assert(strstr(t, "walship_wal_archive_lag_seconds") == NULL, "no WAL: no lag");
    cr_assert(strstr(t, "walship_recovery_window") == NULL, "no window");
    cr_assert(strstr(t, "walship_verify_") == NULL, "never verified: absent");
    cr_assert(strstr(t, "walship_drill_") == NULL, "never drilled: absent");
    ops_metrics_free(m);
}

/* ---- state objects ---------------------------------------------------------- */

static int
parse(const char *text, struct ops_metrics_state *s, struct ws_err *err)
{
    char        buf[1024];

    snprintf(buf, sizeof(buf), "%s", text);
    return ops_metrics_parse_state(buf, strlen(buf), "state/drill", s, err);
}

Test(ops_metrics, parse_state)
{
    struct ws_err err = WS_ERR_INIT;
    struct ops_metrics_state s;

    cr_assert_eq(parse("time = 100\nresult = failure\nduration_seconds = 12.5\nstep = "
                       "'restore'\nlast_success_time = 50\n", &s, &err), 0, "%s", err.msg);
    cr_assert(s.have && !s.success);
    cr_assert_eq(s.time, 100);
    cr_assert_float_eq(s.duration_seconds, 12.5, 1e-9);
    cr_assert(s.have_last_success);
    cr_assert_eq(s.last_success_time, 50);

    cr_assert_eq(parse("time = 100\nresult = success\nduration_seconds = 3\nstep =\n", &s, &err),
                 -1, "step with no value is a bad line");
    cr_assert_eq(parse("time = 100\nresult = success\nduration_seconds = 3\nstep = ''\n", &s,
                       &err), 0, "%s", err.msg);
    cr_assert(s.success && s.have_last_success && s.last_success_time == 100,
              "a success without last_success_time is its own last success");
    cr_assert_eq(parse("time = 100\nresult = sound\ndamaged = 0\ngaps = 0\n", &s, &err), 0);
    cr_assert(s.success, "verify's sound is a success");
    cr_assert_eq(parse("time = 100\nresult = gap\ngaps = 3\n", &s, &err), 0);
    cr_assert(!s.success && s.gaps == 3 && !s.have_last_success);

    cr_assert_eq(parse("result = success\n", &s, &err), -1);
    cr_assert(strstr(err.msg, "state/drill: no time") != NULL, "%s", err.msg);
    cr_assert_eq(parse("time = soon\nresult = success\n", &s, &err), -1);
    cr_assert(strstr(err.msg, "invalid time \"soon\"") != NULL, "%s", err.msg);
    cr_assert_eq(parse("time = 1\nresult = maybe\n", &s, &err), -1);
    cr_assert_eq(err.code, WS_ECORRUPT);
    cr_assert_eq(parse("time = 1\nresult = success\nduration_seconds = -1\n", &s, &err), -1);
    cr_assert_eq(parse("time = 1\nresult = success\nduration_seconds = nan\n", &s, &err), -1);
}

/* ---- attempt records ------------------------------------------------------- */

Test(ops_metrics, record_keys)
{
    char        name[BACKUP_RECORD_NAME_MAX];
    enum backup_record_outcome o;

    cr_assert(backup_record_parse_key("state/backup/20261204T211205Z-0123456789abcdef.success",
                                      name, &o));
    cr_assert_str_eq(name, "20261204T211205Z-0123456789abcdef");
    cr_assert_eq(o, BACKUP_RECORD_SUCCESS);
    cr_assert(backup_record_parse_key("20261204T211205Z-0123456789abcdef.running", name, &o));
    cr_assert_eq(o, BACKUP_RECORD_RUNNING);
    cr_assert(backup_record_parse_key("20261204T211205Z-0123456789abcdef.failure", name, &o));
    cr_assert_eq(o, BACKUP_RECORD_FAILURE);
    cr_assert_not(backup_record_parse_key("20261204T211205Z-0123456789abcdef.done", name, &o));
    cr_assert_not(backup_record_parse_key("20261204T211205Z-0123456789ABCDEF.success", name, &o));
    cr_assert_not(backup_record_parse_key("20261204X211205Z-0123456789abcdef.success", name, &o));
    cr_assert_not(backup_record_parse_key("20261204T211205Z-012345.success", name, &o));
    cr_assert_not(backup_record_parse_key("summary", name, &o));
}

static struct repo *
make_repo(void)
{
    struct cfg  cfg;
    struct pg_control pgc;
    struct ws_err err = WS_ERR_INIT;
    struct repo *r = NULL;
    char      **rest = NULL;
    int         nrest = 0;

    cr_assert_eq(cfg_load(&cfg, 1, (char *[]){"walship-test", NULL}, &rest, &nrest, &err), 0,
                 "cfg_load: %s", err.msg);
    free(rest);
    snprintf(cfg.repo, sizeof(cfg.repo), "%s", repo_dir);
    memset(&pgc, 0, sizeof(pgc));
    pgc.system_identifier = 7301234567890123456ULL;
    pgc.wal_segment_size = 16 * 1024 * 1024;
    pgc.pg_major = 15;
    cr_assert_eq(repo_open(&cfg, &pgc, &r, &err), 0, "repo_open: %s", err.msg);
    return r;
}

Test(ops_metrics, counters_from_records)
{
    struct ws_err err = WS_ERR_INIT;
    struct repo *r = make_repo();
    struct backup_record a, b, c, k;
    struct ops_metrics_data d;
    struct repo_put p;
    const char *drill = "time = 1700000000\nresult = failure\nduration_seconds = 7.25\n"
        "step = 'recover'\nlast_success_time = 1690000000\n";

    /* a success, a failure, one recorded without a begin, one killed */
    cr_assert_eq(backup_record_begin(r, &a, &err), 0, "%s", err.msg);
    cr_assert_eq(backup_record_end(r, &a, true, "20261204T211205Z", 0, &err), 0, "%s", err.msg);
    cr_assert_eq(backup_record_begin(r, &b, &err), 0, "%s", err.msg);
    cr_assert_eq(backup_record_end(r, &b, false, "", WS_EIO, &err), 0, "%s", err.msg);
    memset(&c, 0, sizeof(c));
    cr_assert_eq(backup_record_end(r, &c, false, NULL, WS_ETRANSIENT, &err), 0, "%s", err.msg);
    cr_assert_eq(backup_record_begin(r, &k, &err), 0, "%s", err.msg);
    /* a drill's state, written raw (the contract allows either form) */
    cr_assert_eq(repo_raw_put(r, OPS_METRICS_DRILL_KEY, REPO_REPLACE, drill, strlen(drill),
                              &err), 0, "%s", err.msg);
    /* a verify's, as a walship object */
    repo_put_init(&p, NULL);
    p.mode = REPO_REPLACE;
    cr_assert_eq(repo_put_buffer(r, OPS_METRICS_VERIFY_KEY, &p, "time = 5\nresult = sound\n", 24,
                                 NULL, &err), 0, "%s", err.msg);

    memset(&d, 0, sizeof(d));
    cr_assert_eq(ops_metrics_gather(r, &d, &err), 0, "%s", err.msg);
    cr_assert_eq(d.attempts, 4);
    cr_assert_eq(d.successes, 1);
    cr_assert_eq(d.failures, 2);
    cr_assert_eq(d.complete, 0);
    cr_assert_eq(d.wal_segments, 0);
    cr_assert(d.objects >= 6, "%llu objects", (unsigned long long) d.objects);
    cr_assert(d.drill.have && !d.drill.success);
    cr_assert_float_eq(d.drill.duration_seconds, 7.25, 1e-9);
    cr_assert_eq(d.drill.last_success_time, 1690000000);
    cr_assert(d.verify.have && d.verify.success && d.verify.last_success_time == 5);
    ops_metrics_data_free(&d);

    /* the .running key of a finished attempt is gone; both keys (killed in between) count once */
    {
        char        key[REPO_KEY_MAX];
        struct repo_stat st;

        snprintf(key, sizeof(key), "%s%s.running", BACKUP_RECORD_PREFIX, a.name);
        cr_assert_eq(repo_stat(r, key, &st, &err), -1);
        cr_assert_eq(err.code, WS_ENOTFOUND);
        err_clear(&err);
        cr_assert_eq(repo_raw_put(r, key, REPO_CREATE, "x", 1, &err), 0, "%s", err.msg);
    }
    memset(&d, 0, sizeof(d));
    cr_assert_eq(ops_metrics_gather(r, &d, &err), 0, "%s", err.msg);
    cr_assert_eq(d.attempts, 4);
    cr_assert_eq(d.successes, 1);
    ops_metrics_data_free(&d);
    repo_close(r);
}

Test(ops_metrics, run_writes_a_file_atomically)
{
    struct ws_err err = WS_ERR_INIT;
    struct repo *r = make_repo();
    struct cfg  cfg;
    char      **rest = NULL;
    int         nrest = 0;
    char        out[PATH_MAX + 32], text[65536];
    struct stat st;
    FILE       *f;
    size_t      n;

    repo_close(r);
    cr_assert_eq(cfg_load(&cfg, 1, (char *[]){"walship-test", NULL}, &rest, &nrest, &err), 0);
    free(rest);
    snprintf(cfg.repo, sizeof(cfg.repo), "%s", repo_dir);
    snprintf(out, sizeof(out), "%s/walship.prom", scratch);
    cr_assert_eq(ops_metrics_run(&cfg, out, NULL, &err), 0, "%s", err.msg);
    cr_assert_eq(stat(out, &st), 0);
    cr_assert_eq(st.st_mode & 0777, 0644, "readable by the collector: %o", st.st_mode & 0777);
    f = fopen(out, "r");
    n = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
    text[n] = '\0';
    cr_assert(has_line(text, "backup_attempts_total 0"), "%s", text);
    /* nothing else left in the directory but the repository and the file */
    cr_assert_eq(access(out, R_OK), 0);
    snprintf(out, sizeof(out), "%s/no/such/dir/walship.prom", scratch);
    cr_assert_eq(ops_metrics_run(&cfg, out, NULL, &err), -1);
    cr_assert(strstr(err.msg, "no/such/dir") != NULL, "%s", err.msg);
}

/* ---- verify --since and --sample (ops_verify.h) ---------------------------------- */

#define SEG (16u * 1024 * 1024)
#define NOW_S ((int64_t) time(NULL))

/* A WAL segment object tl 1, segno s; its file's mtime set to mtime. */
static void
put_segment(struct repo *r, uint64_t s, int64_t mtime, char *key_out, size_t len)
{
    struct ws_err err = WS_ERR_INIT;
    struct repo_put p;
    char        name[32], path[PATH_MAX + 20 * REPO_KEY_MAX];
    struct timespec ts[2] = {{mtime, 0}, {mtime, 0}};

    wal_segment_name(name, sizeof(name), 1, s, SEG);
    cr_assert_eq(wal_repo_key(name, key_out, len), 0);
    repo_put_init(&p, NULL);
    cr_assert_eq(repo_put_buffer(r, key_out, &p, name, strlen(name), NULL, &err), 0, "%s",
                 err.msg);
    snprintf(path, sizeof(path), "%s/%s", repo_dir, key_out);
    cr_assert_eq(utimensat(AT_FDCWD, path, ts, 0), 0, "%s", strerror(errno));
}

/* A complete backup started at start (unix s), WAL segment wal, with nparts parts. */
static void
put_backup(struct repo *r, int64_t start, uint64_t wal, int nparts, char keys[][REPO_KEY_MAX])
{
    struct ws_err err = WS_ERR_INIT;
    struct backup_info b;
    struct repo_put p;

    memset(&b, 0, sizeof(b));
    b.format = BACKUP_INFO_FORMAT;
    backup_id_format(start, b.id);
    snprintf(b.label, sizeof(b.label), "t");
    b.complete = true;
    b.system_identifier = 7301234567890123456ULL;
    b.pg_version = 150018;
    b.timeline = b.start_timeline = 1;
    b.start_lsn = wal * SEG + 40;
    b.stop_lsn = wal * SEG + 400;
    wal_segment_name(b.start_wal, sizeof(b.start_wal), 1, wal, SEG);
    wal_segment_name(b.stop_wal, sizeof(b.stop_wal), 1, wal, SEG);
    b.start_time_us = start * 1000000;
    b.stop_time_us = b.wal_time_us = (start + 10) * 1000000;
    strcpy(b.compression, "none");
    strcpy(b.encryption, "none");
    repo_put_init(&p, NULL);
    for (int i = 0; i < nparts; i++)
    {
        struct backup_object o;
        struct repo_object ro;
        char        text[64];

        memset(&o, 0, sizeof(o));
        snprintf(o.name, sizeof(o.name), "base.tar.%d", i);
        o.part = (uint32_t) i;
        snprintf(text, sizeof(text), "part %d of %s", i, b.id);
        cr_assert_eq(backup_key(b.id, o.name, keys[i], REPO_KEY_MAX, &err), 0);
        cr_assert_eq(repo_put_buffer(r, keys[i], &p, text, strlen(text), &ro, &err), 0, "%s",
                     err.msg);
        o.size = ro.size;
        o.stored = ro.stored;
        o.xxh64 = ro.xxh64;
        b.size += o.size;
        b.stored += o.stored;
        cr_assert_eq(backup_info_add_object(&b, &o, &err), 0);
    }
    cr_assert_eq(backup_info_store(r, &b, &err), 0, "%s", err.msg);
    backup_info_free(&b);
}

static bool
in_sample(const char *key, uint64_t seed, int pct)
{
    return xxh64(key, strlen(key), seed) % 10000 < (uint64_t) pct * 100;
}

static void
run_verify(struct repo *r, const struct ops_verify_options *o, struct ops_verify_result *res)
{
    struct ws_err err = WS_ERR_INIT;
    struct ops_view v;
    FILE       *out = fopen("/dev/null", "w");

    cr_assert_eq(ops_view_load(r, &v, &err), 0, "%s", err.msg);
    cr_assert_eq(ops_verify_view(r, &v, o, out, res, &err), 0, "%s", err.msg);
    fclose(out);
    ops_view_free(&v);
}

Test(ops_metrics, verify_since_and_sample_pick_what_they_promise)
{
    struct repo *r = make_repo();
    char        seg[20][REPO_KEY_MAX], old_parts[3][REPO_KEY_MAX], new_parts[3][REPO_KEY_MAX];
    int64_t     now = NOW_S;
    struct ops_verify_options o = {.jobs = 2};
    struct ops_verify_result res, res2;
    uint64_t    want;

    /* segments 1..14 stored a day ago, 15..20 now; a backup at each time */
    for (int s = 1; s <= 20; s++)
        put_segment(r, (uint64_t) s, s <= 14 ? now - 86400 : now, seg[s - 1], REPO_KEY_MAX);
    put_backup(r, now - 86400 - 100, 2, 3, old_parts);
    put_backup(r, now - 100, 16, 3, new_parts);

    run_verify(r, &o, &res);
    cr_assert_eq(res.objects, 2 + 6 + 20, "everything: %llu", (unsigned long long) res.objects);
    cr_assert_eq(res.skipped, 0);
    cr_assert_eq(res.damaged + res.gaps, 0);

    /* --since an hour ago: the new backup, segments 15..20, both descriptors */
    o.since = true;
    o.since_us = (now - 3600) * 1000000;
    run_verify(r, &o, &res);
    cr_assert_eq(res.objects, 2 + 3 + 6, "%llu", (unsigned long long) res.objects);
    cr_assert_eq(res.skipped, 3 + 14, "%llu", (unsigned long long) res.skipped);
    o.since_us = (now + 3600) * 1000000;
    run_verify(r, &o, &res);
    cr_assert_eq(res.objects, 2, "nothing since the future but the descriptors");
    o.since = false;

    /* --sample 40 --seed 11: segments and old parts by hash, the newest backup whole */
    o.sample_pct = 40;
    o.seed = 11;
    want = 2 + 3;
    for (int i = 0; i < 20; i++)
        want += in_sample(seg[i], 11, 40);
    for (int i = 0; i < 3; i++)
        want += in_sample(old_parts[i], 11, 40);
    run_verify(r, &o, &res);
    cr_assert_eq(res.objects, want, "%llu, want %llu", (unsigned long long) res.objects,
                 (unsigned long long) want);
    cr_assert_eq(res.objects + res.skipped, 28);
    cr_assert(res.objects < 28, "a 40 %% sample reads less");
    run_verify(r, &o, &res2);
    cr_assert_eq(res2.objects, res.objects, "the same seed, the same sample");

    /* --backup with --sample: refused */
    {
        struct ws_err err = WS_ERR_INIT;
        struct ops_view v;
        FILE       *out = fopen("/dev/null", "w");
        struct ops_verify_options ob = {.jobs = 1, .sample_pct = 10, .backup_id = "x"};

        cr_assert_eq(ops_view_load(r, &v, &err), 0);
        cr_assert_eq(ops_verify_view(r, &v, &ob, out, &res, &err), -1);
        cr_assert_eq(err.code, WS_ECONFIG);
        fclose(out);
        ops_view_free(&v);
    }
    repo_close(r);
}
