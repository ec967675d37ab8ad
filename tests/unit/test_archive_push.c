/*
 * test_archive_push.c — walship-archive's batch path (archive_push): one
 * write per new segment, parallel push of the next ready segments, the
 * spool records that let the archiver's later calls answer locally, and the
 * safety valve archive_queue_max.
 *
 * The spool's promise is tested from the records' side (every torn,
 * flipped, zeroed, misplaced or stale record is no record) and from the
 * crash side (kill -9 at random moments of a batch: whatever record passes
 * the check names an object that is in the repository with the file's
 * content).  A hand-built pg_control with 1 MiB segments keeps it quick.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "archive.h"
#include "archive_spool.h"
#include "cfg.h"
#include "checksum.h"
#include "filter.h"
#include "log.h"
#include "pgcontrol.h"
#include "repo.h"
#include "storage.h"
#include "wal.h"
#include "storage_fault.h"

#define SYSID UINT64_C(7301234567890123456)
#define SEG (1u << 20)

static char scratch[64];
static char pgdata[1024];
static char pg_wal[1100];
static char spool[1200];
static char repo_dir[1100];

/* ---- fixtures ------------------------------------------------------------- */

static void
put32(unsigned char *buf, size_t off, uint32_t v)
{
    memcpy(buf + off, &v, sizeof(v));
}

/* pg_control for pg_control_version 1300 (offsets as in test_pgcontrol.c). */
static void
write_control(const char *dir)
{
    unsigned char buf[PG_CONTROL_FILE_SIZE];
    uint64_t    sysid = SYSID;
    char        path[PATH_MAX + 32];
    FILE       *f;

    memset(buf, 0, sizeof(buf));
    memcpy(buf + 0, &sysid, 8);
    put32(buf, 8, 1300);
    put32(buf, 12, 202209061);
    put32(buf, 16, 6);
    put32(buf, 48, 1);
    {
        double      ff = 1234567.0;     /* floatFormat, which pg_control's reader checks */

        memcpy(buf + 208, &ff, sizeof(ff));
    }
    put32(buf, 216, 8192);
    put32(buf, 224, 8192);
    put32(buf, 228, SEG);
    put32(buf, 288, crc32c(buf, 288));
    snprintf(path, sizeof(path), "%s/global", dir);
    cr_assert_eq(mkdir(path, 0700), 0);
    snprintf(path, sizeof(path), "%s/global/pg_control", dir);
    f = fopen(path, "wb");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(buf, 1, sizeof(buf), f), sizeof(buf));
    cr_assert_eq(fclose(f), 0);
}

static void
setup(void)
{
    char        p[PATH_MAX + 32];

    harness_clear_walship_env();
    log_set_level(LOG_LEVEL_ERROR);
    harness_scratch(scratch, sizeof(scratch), "archive_push");
    snprintf(pgdata, sizeof(pgdata), "%s/pgdata", scratch);
    snprintf(pg_wal, sizeof(pg_wal), "%s/pg_wal", pgdata);
    snprintf(spool, sizeof(spool), "%s/%s", pg_wal, ARCHIVE_SPOOL_DIR);
    snprintf(repo_dir, sizeof(repo_dir), "%s/repo", scratch);
    cr_assert_eq(mkdir(pgdata, 0700), 0);
    cr_assert_eq(mkdir(pg_wal, 0700), 0);
    snprintf(p, sizeof(p), "%s/archive_status", pg_wal);
    cr_assert_eq(mkdir(p, 0700), 0);
    cr_assert_eq(mkdir(repo_dir, 0700), 0);
    write_control(pgdata);
}

static void
teardown(void)
{
    harness_rm_scratch(scratch);
}

TestSuite(archive_push, .init = setup, .fini = teardown);

static void
load_cfg(struct cfg *cfg, int parallel)
{
    struct ws_err err = WS_ERR_INIT;
    char      **rest = NULL;
    int         nrest = 0;

    cr_assert_eq(cfg_load(cfg, 1, (char *[]){"walship-test", NULL}, &rest, &nrest, &err), 0,
                 "cfg_load: %s", err.msg);
    free(rest);
    snprintf(cfg->repo, sizeof(cfg->repo), "%s", repo_dir);
    snprintf(cfg->pgdata, sizeof(cfg->pgdata), "%s", pgdata);
    cfg->archive_parallel = parallel;
}

static const char *
seg_name(uint64_t segno)
{
    static char name[8][32];
    static int  i;
    char       *n = name[i++ % 8];

    wal_segment_name(n, 32, 1, segno, SEG);
    return n;
}

static const char *
seg_path(const char *name)
{
    static char p[4][PATH_MAX + 64];
    static int  i;
    char       *s = p[i++ % 4];

    snprintf(s, PATH_MAX + 64, "%s/%s", pg_wal, name);
    return s;
}

/* A segment with content from seed, and (ready) its .ready file. */
static void
make_seg(const char *name, uint64_t seed, bool ready)
{
    unsigned char *buf = malloc(SEG);
    uint64_t    x = seed * 6364136223846793005ULL + 1;
    char        p[PATH_MAX + 64];
    FILE       *f;

    cr_assert_not_null(buf);
    for (size_t i = 0; i < SEG; i++)
    {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        buf[i] = (i / 256) % 4 == 0 ? (unsigned char) (x >> 56) : (unsigned char) (i ^ seed);
    }
    f = fopen(seg_path(name), "wb");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(buf, 1, SEG, f), SEG);
    cr_assert_eq(fclose(f), 0);
    free(buf);
    if (ready)
    {
        snprintf(p, sizeof(p), "%s/archive_status/%s.ready", pg_wal, name);
        f = fopen(p, "w");
        cr_assert_not_null(f);
        fclose(f);
    }
}

static void
file_hash(const char *path, uint64_t *size, uint64_t *xxh)
{
    struct ws_err err = WS_ERR_INIT;
    struct filter *h = filter_hash_new(NULL, &err);
    int         fd = open(path, O_RDONLY);

    cr_assert(fd >= 0 && h != NULL);
    cr_assert_eq(filter_pump_fd(fd, path, h, &err), 0);
    filter_hash_result(h, size, xxh);
    filter_free(h);
    close(fd);
}

/* 1 if the repository holds name with exactly the file's content, 0 if absent. */
static int
repo_has(const char *name, const char *path)
{
    struct cfg  cfg;
    struct repo *r = NULL;
    struct ws_err err = WS_ERR_INIT;
    struct filter *h;
    char        key[REPO_KEY_MAX];
    uint64_t    s1, x1, s2, x2;
    int         rc;

    load_cfg(&cfg, 1);
    cr_assert_eq(repo_open(&cfg, NULL, &r, &err), 0, "repo_open: %s", err.msg);
    cr_assert_eq(wal_repo_key(name, key, sizeof(key)), 0);
    h = filter_hash_new(NULL, &err);
    rc = repo_get(r, key, h, NULL, &err);
    if (rc < 0)
    {
        cr_assert_eq(err.code, WS_ENOTFOUND, "%s: %s", name, err.msg);
        filter_free(h);
        repo_close(r);
        return 0;
    }
    filter_hash_result(h, &s1, &x1);
    filter_free(h);
    repo_close(r);
    file_hash(path, &s2, &x2);
    cr_assert(s1 == s2 && x1 == x2, "%s: the repository's copy differs from %s", name, path);
    return 1;
}

static void
ready_to_done(const char *name)
{
    char        a[PATH_MAX + 64], b[PATH_MAX + 64];

    snprintf(a, sizeof(a), "%s/archive_status/%s.ready", pg_wal, name);
    snprintf(b, sizeof(b), "%s/archive_status/%s.done", pg_wal, name);
    cr_assert_eq(rename(a, b), 0);
}

static unsigned
storage_calls_total(void)
{
    unsigned    n = 0;

    for (int op = 0; op < FAULT_OP_COUNT; op++)
        n += storage_fault_calls((enum fault_op) op);
    return n;
}

/* ---- spool records ------------------------------------------------------------ */

static struct archive_spool_record
sample_record(void)
{
    struct archive_spool_record r;

    memset(&r, 0, sizeof(r));
    snprintf(r.name, sizeof(r.name), "%s", "000000010000000000000005");
    r.size = SEG;
    r.xxh64 = UINT64_C(0x0123456789abcdef);
    r.stored = 12345;
    r.system_identifier = SYSID;
    snprintf(r.repo, sizeof(r.repo), "%s", "s3://bucket/prefix with space");
    return r;
}

Test(archive_push, spool_record_round_trip)
{
    struct archive_spool_record r = sample_record(), back;
    char        text[ARCHIVE_SPOOL_RECORD_MAX];
    int         n = archive_spool_format(&r, text, sizeof(text));

    cr_assert_gt(n, 0);
    cr_assert_eq(archive_spool_parse(text, (size_t) n, &back), 0, "%s", text);
    cr_assert_str_eq(back.name, r.name);
    cr_assert_str_eq(back.repo, r.repo);
    cr_assert_eq(back.size, r.size);
    cr_assert_eq(back.xxh64, r.xxh64);
    cr_assert_eq(back.stored, r.stored);
    cr_assert_eq(back.system_identifier, r.system_identifier);
    /* a repo with a newline cannot be recorded (it would forge a line) */
    snprintf(r.repo, sizeof(r.repo), "%s", "a\nsize = 1");
    cr_assert_eq(archive_spool_format(&r, text, sizeof(text)), -1);
}

/* A crash may leave a record cut anywhere, zero-filled, or with a flipped byte: none parses. */
Test(archive_push, spool_record_torn_or_damaged_is_no_record)
{
    struct archive_spool_record r = sample_record(), back;
    char        text[ARCHIVE_SPOOL_RECORD_MAX], bad[ARCHIVE_SPOOL_RECORD_MAX];
    int         n = archive_spool_format(&r, text, sizeof(text));

    for (int len = 0; len < n; len++)
        cr_assert_eq(archive_spool_parse(text, (size_t) len, &back), -1, "cut at %d", len);
    for (int i = 0; i < n; i++)
        for (int bit = 0; bit < 8; bit++)
        {
            memcpy(bad, text, (size_t) n);
            bad[i] ^= (char) (1 << bit);
            cr_assert_eq(archive_spool_parse(bad, (size_t) n, &back), -1, "byte %d bit %d", i,
                         bit);
        }
    memset(bad, 0, sizeof(bad));
    cr_assert_eq(archive_spool_parse(bad, (size_t) n, &back), -1, "zero-filled");
    memcpy(bad, text, (size_t) n);
    memcpy(bad + n, "x\n", 2);
    cr_assert_eq(archive_spool_parse(bad, (size_t) n + 2, &back), -1, "trailing bytes");
}

/* What the archiver's later call trusts: this file's bytes, this repository, this cluster. */
Test(archive_push, spool_check_proves_only_what_it_says)
{
    const char *a = seg_name(5), *b = seg_name(6);
    struct archive_spool_record r, got;
    struct ws_err err = WS_ERR_INIT;
    char        rp[PATH_MAX + 128], rq[PATH_MAX + 128];
    uint64_t    size, xxh;
    FILE       *f;

    make_seg(a, 5, true);
    make_seg(b, 6, true);
    file_hash(seg_path(a), &size, &xxh);
    memset(&r, 0, sizeof(r));
    snprintf(r.name, sizeof(r.name), "%s", a);
    r.size = size;
    r.xxh64 = xxh;
    r.system_identifier = SYSID;
    snprintf(r.repo, sizeof(r.repo), "%s", repo_dir);

    cr_assert_not(archive_spool_check(spool, a, seg_path(a), repo_dir, SYSID, &got), "no record");
    cr_assert_eq(archive_spool_write(spool, &r, &err), 0, "%s", err.msg);
    cr_assert(archive_spool_check(spool, a, seg_path(a), repo_dir, SYSID, &got), "valid record");
    cr_assert_not(archive_spool_check(spool, a, seg_path(a), "/other/repo", SYSID, &got),
                  "another repository");
    cr_assert_not(archive_spool_check(spool, a, seg_path(a), repo_dir, SYSID + 1, &got),
                  "another cluster");
    cr_assert_not(archive_spool_check(spool, a, seg_path(b), repo_dir, SYSID, &got),
                  "another file's bytes at %%p (a recycled segment)");
    /* a's record renamed to b's name (or b's file holding a's bytes): the name is in the record */
    snprintf(rp, sizeof(rp), "%s/%s", spool, a);
    snprintf(rq, sizeof(rq), "%s/%s", spool, b);
    cr_assert_eq(link(rp, rq), 0);
    cr_assert_not(archive_spool_check(spool, b, seg_path(a), repo_dir, SYSID, &got),
                  "a record under another name");
    /* the file rewritten after a crash: one byte differs */
    f = fopen(seg_path(a), "r+b");
    cr_assert_not_null(f);
    fseek(f, SEG / 2, SEEK_SET);
    fputc(0x5a ^ fgetc(f), f);
    fclose(f);
    cr_assert_not(archive_spool_check(spool, a, seg_path(a), repo_dir, SYSID, &got),
                  "rewritten file");
    /* the file truncated, or gone */
    cr_assert_eq(truncate(seg_path(a), SEG / 2), 0);
    cr_assert_not(archive_spool_check(spool, a, seg_path(a), repo_dir, SYSID, &got), "truncated");
    cr_assert_eq(unlink(seg_path(a)), 0);
    cr_assert_not(archive_spool_check(spool, a, seg_path(a), repo_dir, SYSID, &got), "missing");
    /* a writer killed before its rename leaves only a dot file: no record */
    cr_assert_eq(unlink(rq), 0);
    snprintf(rq, sizeof(rq), "%s/.%s.123.tmp", spool, b);
    cr_assert_eq(rename(rp, rq), 0);
    cr_assert_not(archive_spool_exists(spool, b));
    cr_assert_not(archive_spool_check(spool, b, seg_path(b), repo_dir, SYSID, &got));
}

/* ---- requests --------------------------------------------------------------------- */

/* A new segment: the descriptor read and one put; no HEAD before it (before: one HEAD). */
Test(archive_push, new_segment_costs_one_write, .timeout = 60)
{
    struct cfg  cfg;
    struct archive_stats st;
    struct ws_err err = WS_ERR_INIT;
    const char *a = seg_name(5);

    make_seg(a, 5, true);
    load_cfg(&cfg, 1);
    storage_fault_install();
    /* the first call creates the repository; count the steady state after it */
    cr_assert_eq(archive_push(&cfg, seg_path(seg_name(4)), seg_name(4), &st, &err), -1);
    storage_fault_reset();
    err_clear(&err);
    cr_assert_eq(archive_push(&cfg, seg_path(a), a, &st, &err), 0, "%s", err.msg);
    cr_assert_eq(storage_fault_calls(FAULT_OP_HEAD), 0, "HEAD before the put");
    cr_assert_eq(storage_fault_calls(FAULT_OP_PUT_OPEN), 1);
    cr_assert_eq(storage_fault_calls(FAULT_OP_PUT_FINISH), 1);
    cr_assert_eq(storage_fault_calls(FAULT_OP_GET), 1, "descriptor only");
    cr_assert_not(st.already_archived);
    /* the identical re-push: the put refused, then the comparison */
    storage_fault_reset();
    cr_assert_eq(archive_push(&cfg, seg_path(a), a, &st, &err), 0, "%s", err.msg);
    cr_assert(st.already_archived);
    cr_assert_eq(storage_fault_calls(FAULT_OP_PUT_OPEN), 1);
    cr_assert_eq(storage_fault_calls(FAULT_OP_HEAD), 1);
    cr_assert_eq(repo_has(a, seg_path(a)), 1);
    storage_set_wrap(NULL, NULL);
}

/* ---- parallel push ------------------------------------------------------------------ */

Test(archive_push, parallel_push_then_local_answers, .timeout = 120)
{
    struct cfg  cfg;
    struct archive_stats st;
    struct ws_err err = WS_ERR_INIT;

    for (uint64_t s = 5; s <= 14; s++)
        make_seg(seg_name(s), s, true);
    make_seg(seg_name(20), 20, false);          /* not ready: never pushed ahead */
    load_cfg(&cfg, 3);
    cr_assert_eq(archive_push(&cfg, seg_path(seg_name(5)), seg_name(5), &st, &err), 0, "%s",
                 err.msg);
    cr_assert_not(st.from_spool);
    cr_assert_eq(st.ahead, 9, "ahead %u", st.ahead);
    ready_to_done(seg_name(5));
    for (uint64_t s = 5; s <= 14; s++)
        cr_assert_eq(repo_has(seg_name(s), seg_path(seg_name(s))), 1, "%s", seg_name(s));
    cr_assert_eq(repo_has(seg_name(20), seg_path(seg_name(20))), 0);

    /* the archiver's calls for the others: answered from the spool, no request at all */
    storage_fault_install();
    for (uint64_t s = 6; s <= 14; s++)
    {
        const char *n = seg_name(s);

        storage_fault_reset();
        cr_assert_eq(archive_push(&cfg, seg_path(n), n, &st, &err), 0, "%s: %s", n, err.msg);
        cr_assert(st.from_spool && st.already_archived, "%s", n);
        cr_assert_eq(storage_calls_total(), 0, "%s: %u storage calls", n, storage_calls_total());
        cr_assert_not(archive_spool_exists(spool, n), "%s: record kept after use", n);
        ready_to_done(n);
    }
    storage_set_wrap(NULL, NULL);
}

/* A .ready whose segment vanished fails nothing; the requested file is archived. */
Test(archive_push, vanished_ready_segment, .timeout = 60)
{
    struct cfg  cfg;
    struct archive_stats st;
    struct ws_err err = WS_ERR_INIT;

    for (uint64_t s = 5; s <= 8; s++)
        make_seg(seg_name(s), s, true);
    cr_assert_eq(unlink(seg_path(seg_name(6))), 0);
    load_cfg(&cfg, 4);
    cr_assert_eq(archive_push(&cfg, seg_path(seg_name(5)), seg_name(5), &st, &err), 0, "%s",
                 err.msg);
    cr_assert_eq(st.ahead, 2);
    cr_assert_not(archive_spool_exists(spool, seg_name(6)));
    cr_assert(archive_spool_exists(spool, seg_name(7)));
    /* and the requested file vanished: an error for it, as without the batch */
    cr_assert_eq(archive_push(&cfg, seg_path(seg_name(6)), seg_name(6), &st, &err), -1);
    cr_assert_eq(err.code, WS_EINPUT, "%s", err.msg);
}

/* A file rewritten after its record was written is pushed again, and found different. */
Test(archive_push, stale_record_is_not_trusted, .timeout = 60)
{
    struct cfg  cfg;
    struct archive_stats st;
    struct ws_err err = WS_ERR_INIT;
    const char *b = seg_name(6);

    make_seg(seg_name(5), 5, true);
    make_seg(b, 6, true);
    load_cfg(&cfg, 2);
    cr_assert_eq(archive_push(&cfg, seg_path(seg_name(5)), seg_name(5), &st, &err), 0, "%s",
                 err.msg);
    cr_assert(archive_spool_exists(spool, b));
    make_seg(b, 99, false);         /* other bytes under the same name */
    cr_assert_eq(archive_push(&cfg, seg_path(b), b, &st, &err), -1);
    cr_assert_eq(err.code, WS_EEXISTS_DIFFERENT, "%s", err.msg);
}

/* Two archivers on the same segments at once: both succeed, each object is stored once. */
Test(archive_push, racing_archivers, .timeout = 120)
{
    struct cfg  cfg;
    pid_t       pids[3];
    int         status;

    for (uint64_t s = 5; s <= 12; s++)
        make_seg(seg_name(s), s, true);
    load_cfg(&cfg, 4);
    for (int i = 0; i < 3; i++)
    {
        pids[i] = fork();
        cr_assert_neq(pids[i], -1);
        if (pids[i] == 0)
        {
            struct archive_stats st;
            struct ws_err err = WS_ERR_INIT;
            int         rc = archive_push(&cfg, seg_path(seg_name(5)), seg_name(5), &st, &err);

            _exit(rc == 0 ? 0 : 1);
        }
    }
    for (int i = 0; i < 3; i++)
    {
        cr_assert_eq(waitpid(pids[i], &status, 0), pids[i]);
        cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "archiver %d failed", i);
    }
    for (uint64_t s = 5; s <= 12; s++)
        cr_assert_eq(repo_has(seg_name(s), seg_path(seg_name(s))), 1, "%s", seg_name(s));
}

/*
 * kill -9 at random moments of a batch: afterwards every record that passes
 * the check names an object that is in the repository with the file's bytes,
 * and the archiver's calls, in order, archive everything exactly once.
 */
#define LAST 64
#define ROUNDS 40

Test(archive_push, kill_during_batch_never_lies, .timeout = 300)
{
    struct cfg  cfg;
    struct archive_stats st;
    struct ws_err err = WS_ERR_INIT;
    unsigned    seed = (unsigned) time(NULL);
    int         killed = 0;

    srand(seed);
    for (uint64_t s = 5; s <= LAST; s++)
        make_seg(seg_name(s), s, true);
    load_cfg(&cfg, 4);
    /* create the repository first, so kills land inside batches */
    cr_assert_eq(archive_push(&cfg, seg_path(seg_name(5)), seg_name(5), &st, &err), 0, "%s",
                 err.msg);
    ready_to_done(seg_name(5));
    for (int round = 0; round < ROUNDS; round++)
    {
        uint64_t    first = 6 + (uint64_t) (rand() % (LAST - 6));
        useconds_t  delay = (useconds_t) (rand() % 30000);
        pid_t       pid = fork();
        int         status;

        cr_assert_neq(pid, -1);
        if (pid == 0)
        {
            int         rc = archive_push(&cfg, seg_path(seg_name(first)), seg_name(first), &st,
                                          &err);

            _exit(rc == 0 ? 0 : 1);
        }
        usleep(delay);
        (void) kill(pid, SIGKILL);
        cr_assert_eq(waitpid(pid, &status, 0), pid);
        killed += WIFSIGNALED(status);
        cr_assert(WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) == 0),
                  "seed %u round %d: the batch failed", seed, round);
        for (uint64_t s = 6; s <= LAST; s++)
        {
            struct archive_spool_record r;
            const char *n = seg_name(s);

            if (archive_spool_check(spool, n, seg_path(n), repo_dir, SYSID, &r))
                cr_assert_eq(repo_has(n, seg_path(n)), 1,
                             "seed %u round %d: record for %s, but no object", seed, round, n);
        }
    }
    cr_log_info("seed %u: %d of %d batches killed", seed, killed, ROUNDS);
    /* the archiver now goes through them in order: each is stored, once, identical */
    for (uint64_t s = 6; s <= LAST; s++)
    {
        const char *n = seg_name(s);

        err_clear(&err);
        cr_assert_eq(archive_push(&cfg, seg_path(n), n, &st, &err), 0, "seed %u %s: %s", seed, n,
                     err.msg);
        ready_to_done(n);
        cr_assert_eq(repo_has(n, seg_path(n)), 1, "%s", n);
    }
}

/* ---- the safety valve ------------------------------------------------------------------ */

Test(archive_push, queue_max_drops_only_past_its_limit, .timeout = 60)
{
    struct cfg  cfg;
    struct archive_stats st;
    struct ws_err err = WS_ERR_INIT;
    char        marker[PATH_MAX + 64];

    for (uint64_t s = 5; s <= 8; s++)
        make_seg(seg_name(s), s, true);
    load_cfg(&cfg, 1);
    /* 4 segments wait: a limit of 4 is not exceeded */
    cfg.archive_queue_max = 4 * (uint64_t) SEG;
    cr_assert_eq(archive_push(&cfg, seg_path(seg_name(5)), seg_name(5), &st, &err), 0, "%s",
                 err.msg);
    cr_assert_not(st.dropped);
    cr_assert_eq(repo_has(seg_name(5), seg_path(seg_name(5))), 1);
    ready_to_done(seg_name(5));
    /* 3 wait now; past a limit of 2 the next one is dropped and reported archived */
    cfg.archive_queue_max = 2 * (uint64_t) SEG;
    cr_assert_eq(archive_push(&cfg, seg_path(seg_name(6)), seg_name(6), &st, &err), 0, "%s",
                 err.msg);
    cr_assert(st.dropped);
    cr_assert_eq(repo_has(seg_name(6), seg_path(seg_name(6))), 0, "a dropped segment is stored");
    snprintf(marker, sizeof(marker), "%s/%s%s", repo_dir, ARCHIVE_DROPPED_PREFIX, seg_name(6));
    cr_assert_eq(access(marker, F_OK), 0, "no marker %s", marker);
    ready_to_done(seg_name(6));
    /* 2 wait: not past 2 any more, archived again */
    cr_assert_eq(archive_push(&cfg, seg_path(seg_name(7)), seg_name(7), &st, &err), 0, "%s",
                 err.msg);
    cr_assert_not(st.dropped);
    cr_assert_eq(repo_has(seg_name(7), seg_path(seg_name(7))), 1);
    /* off (0): never drops */
    ready_to_done(seg_name(7));
    cfg.archive_queue_max = 0;
    cr_assert_eq(archive_push(&cfg, seg_path(seg_name(8)), seg_name(8), &st, &err), 0);
    cr_assert_not(st.dropped);
}

/* The marker must be stored, or nothing is dropped: the archiver retries. */
Test(archive_push, queue_max_without_marker_drops_nothing, .timeout = 60)
{
    struct cfg  cfg;
    struct archive_stats st;
    struct ws_err err = WS_ERR_INIT;

    for (uint64_t s = 5; s <= 8; s++)
        make_seg(seg_name(s), s, true);
    load_cfg(&cfg, 1);
    cr_assert_eq(archive_push(&cfg, seg_path(seg_name(5)), seg_name(5), &st, &err), 0, "%s",
                 err.msg);
    cfg.archive_queue_max = 1;
    storage_fault_install();
    storage_fault_add(FAULT_OP_PUT_FINISH, 1, FAULT_TRANSIENT, true);
    cr_assert_eq(archive_push(&cfg, seg_path(seg_name(6)), seg_name(6), &st, &err), -1);
    cr_assert_eq(err.code, WS_ETRANSIENT, "%s", err.msg);
    cr_assert(strstr(err.msg, "drop") != NULL, "%s", err.msg);
    storage_set_wrap(NULL, NULL);
}
