/*
 * test_restore_spool.c — walship-restore's prefetch spool
 * (common/command/restore_spool.c): entry names, the window rule, the state
 * file, and what a scan keeps, removes and reports; hand-over checks
 * (size, tag bound to the name).
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "checksum.h"
#include "restore_spool.h"
#include "wal.h"

#define SEG (16u * 1024 * 1024)
#define SEG1 "000000010000000000000005"

/* ---- names ------------------------------------------------------------------ */

struct name_case
{
    char        name[80];
    enum spool_entry_kind kind;
    uint32_t    timeline;
    uint64_t    segno;
};

ParameterizedTestParameters(spool, parse_name)
{
    static struct name_case c[] = {
        {"000000010000000000000005.0123456789ABCDEF", SPOOL_E_READY, 1, 5},
        {"0000000200000001000000A0.FFFFFFFFFFFFFFFF", SPOOL_E_READY, 2, 0x1A0},
        {"000000010000000000000005.walship-tmp.1234", SPOOL_E_TMP, 1, 5},
        {"state", SPOOL_E_CONTROL, 0, 0},
        {"lock", SPOOL_E_CONTROL, 0, 0},
        /* never handed over, never removed: not ours */
        {"000000010000000000000005", SPOOL_E_OTHER, 0, 0},
        {"000000010000000000000005.0123456789abcdef", SPOOL_E_OTHER, 0, 0},
        {"000000010000000000000005.0123456789ABCDE", SPOOL_E_OTHER, 0, 0},
        {"000000010000000000000005.0123456789ABCDEF0", SPOOL_E_OTHER, 0, 0},
        {"000000010000000000000005.walship-tmp.", SPOOL_E_OTHER, 0, 0},
        {"000000010000000000000005.walship-tmp.12x", SPOOL_E_OTHER, 0, 0},
        {"000000010000000000000005.walship-tmp.-1", SPOOL_E_OTHER, 0, 0},
        {"00000001.history.0123456789ABCDEF", SPOOL_E_OTHER, 0, 0},
        {"000000000000000000000005.0123456789ABCDEF", SPOOL_E_OTHER, 0, 0},
        {"000000010000000000000005.partial", SPOOL_E_OTHER, 0, 0},
        {".000000010000000000000005.0123456789ABCDEF", SPOOL_E_OTHER, 0, 0},
        {"", SPOOL_E_OTHER, 0, 0},
    };

    return cr_make_param_array(struct name_case, c, sizeof(c) / sizeof(c[0]));
}

ParameterizedTest(struct name_case *c, spool, parse_name)
{
    struct spool_entry e;

    spool_parse_name(c->name, SEG, &e);
    cr_assert_eq(e.kind, c->kind, "%s: kind %d, expected %d", c->name, e.kind, c->kind);
    if (c->kind == SPOOL_E_READY || c->kind == SPOOL_E_TMP)
    {
        cr_assert_eq(e.timeline, c->timeline, "%s", c->name);
        cr_assert_eq(e.segno, c->segno, "%s", c->name);
        cr_assert_eq(strncmp(e.segment, c->name, 24), 0);
    }
}

Test(spool, ready_name_round_trip)
{
    char        buf[64];
    struct spool_entry e;
    uint64_t    tag = spool_tag(SEG1, 0x1234);

    spool_ready_name(buf, sizeof(buf), SEG1, tag);
    cr_assert_eq(strlen(buf), 24 + 1 + 16);
    spool_parse_name(buf, SEG, &e);
    cr_assert_eq(e.kind, SPOOL_E_READY);
    cr_assert_eq(e.tag, tag);
    cr_assert_str_eq(e.segment, SEG1);
}

Test(spool, tag_binds_the_name)
{
    cr_assert_neq(spool_tag("000000010000000000000005", 42),
                  spool_tag("000000020000000000000005", 42), "another timeline, same data");
    cr_assert_neq(spool_tag("000000010000000000000005", 42),
                  spool_tag("000000010000000000000006", 42), "another segment, same data");
    cr_assert_neq(spool_tag(SEG1, 42), spool_tag(SEG1, 43));
}

/* ---- the window --------------------------------------------------------------- */

struct window_case
{
    uint32_t    timeline;
    uint64_t    segno;
    bool        keep;
};

ParameterizedTestParameters(spool, window)
{
    /* PostgreSQL received segment 10 of timeline 2; depth 4 */
    static struct window_case c[] = {
        {2, 9, false}, {2, 10, false},                  /* behind or the one just taken */
        {2, 11, true}, {2, 14, true}, {2, 15, false},   /* the window and past it */
        {1, 11, false}, {1, 12, false},                 /* a lower timeline: never again */
        {3, 11, true}, {3, 15, false},                  /* a later timeline, in the window */
    };

    return cr_make_param_array(struct window_case, c, sizeof(c) / sizeof(c[0]));
}

ParameterizedTest(struct window_case *c, spool, window)
{
    struct spool_state st = {.valid = true, .timeline = 2, .segno = 10, .depth = 4};

    cr_assert_eq(spool_in_window(&st, c->timeline, c->segno), c->keep, "tli %u segno %llu",
                 c->timeline, (unsigned long long) c->segno);
    st.stop = true;
    cr_assert(!spool_in_window(&st, c->timeline, c->segno), "a stopped spool keeps nothing");
    st.stop = false;
    st.valid = false;
    cr_assert(!spool_in_window(&st, c->timeline, c->segno), "no state keeps nothing");
}

/* ---- the state file ------------------------------------------------------------ */

Test(spool, state_round_trip)
{
    struct spool_state a = {.valid = true, .system_identifier = 7715560984038742849ULL,
                            .timeline = 3, .segno = 0x1A0, .depth = 8};
    struct spool_state b;
    char        buf[2048];

    strcpy(a.repo, "s3://bucket/some prefix");
    cr_assert_gt(spool_state_format(&a, buf, sizeof(buf)), 0);
    spool_state_parse(buf, &b);
    cr_assert(b.valid);
    cr_assert(!b.stop);
    cr_assert_str_eq(b.repo, a.repo);
    cr_assert_eq(b.system_identifier, a.system_identifier);
    cr_assert_eq(b.timeline, 3);
    cr_assert_eq(b.segno, 0x1A0);
    cr_assert_eq(b.depth, 8);

    a.stop = true;
    spool_state_format(&a, buf, sizeof(buf));
    spool_state_parse(buf, &b);
    cr_assert(b.valid && b.stop);
}

Test(spool, state_incomplete_is_invalid)
{
    struct spool_state st;

    spool_state_parse("", &st);
    cr_assert(!st.valid);
    spool_state_parse("repo = /r\nsystem_identifier = 1\ntimeline = 1\nsegno = 3\n", &st);
    cr_assert(!st.valid, "no depth");
    spool_state_parse("repo = /r\nsystem_identifier = 1\ntimeline = 0\nsegno = 3\ndepth = 2\n",
                      &st);
    cr_assert(!st.valid, "timeline 0");
    spool_state_parse("garbage\n\n\n", &st);
    cr_assert(!st.valid);
}

Test(spool, dir_for)
{
    char        buf[256];
    struct ws_err err = WS_ERR_INIT;

    cr_assert_eq(spool_dir_for("pg_wal/RECOVERYXLOG", buf, sizeof(buf), &err), 0);
    cr_assert_str_eq(buf, "pg_wal/walship-prefetch");
    cr_assert_eq(spool_dir_for("/srv/pg/pg_wal/RECOVERYXLOG", buf, sizeof(buf), &err), 0);
    cr_assert_str_eq(buf, "/srv/pg/pg_wal/walship-prefetch");
    /* a restore by hand elsewhere gets no spool */
    cr_assert_eq(spool_dir_for("RECOVERYXLOG", buf, sizeof(buf), &err), -1);
    cr_assert_eq(err.code, WS_ENOTFOUND);
    cr_assert_eq(spool_dir_for("/tmp/out/x", buf, sizeof(buf), &err), -1);
    cr_assert_eq(spool_dir_for("/tmp/my_pg_wal/x", buf, sizeof(buf), &err), -1);
    cr_assert_eq(spool_dir_for("/tmp/pg_wal/sub/x", buf, sizeof(buf), &err), -1);
    cr_assert_eq(spool_dir_for("/a/pg_wal/c", buf, 8, &err), -1);
    cr_assert_eq(err.code, WS_EINPUT);
}

/* ---- scan and take on a real directory ------------------------------------------ */

static char tmpdir[256];
static char spdir[300];

static void
setup(void)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_restore_spool.XXXXXX");
    cr_assert_not_null(mkdtemp(tmpdir));
    snprintf(spdir, sizeof(spdir), "%s/%s", tmpdir, SPOOL_DIR_NAME);
}

static void
teardown(void)
{
    char        cmd[400];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    (void) system(cmd);
}

/* write a segment-sized file whose content depends on seed; returns its XXH64 */
static uint64_t
put_file(const char *name, int seed, size_t size)
{
    char        path[512];
    unsigned char *buf = malloc(size);
    uint64_t    h;
    FILE       *f;

    cr_assert_not_null(buf);
    memset(buf, seed, size);
    h = xxh64(buf, size, 0);
    snprintf(path, sizeof(path), "%s/%s", spdir, name);
    f = fopen(path, "wb");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(buf, 1, size, f), size);
    fclose(f);
    free(buf);
    return h;
}

static void
put_ready(uint32_t tli, uint64_t segno, int seed)
{
    char        seg[32];
    char        name[64];
    char        tmpname[80];
    char        a[512], b[512];
    uint64_t    h;

    wal_segment_name(seg, sizeof(seg), tli, segno, SEG);
    snprintf(tmpname, sizeof(tmpname), "%s.data", seg);
    h = put_file(tmpname, seed, SEG);
    spool_ready_name(name, sizeof(name), seg, spool_tag(seg, h));
    snprintf(a, sizeof(a), "%s/%s", spdir, tmpname);
    snprintf(b, sizeof(b), "%s/%s", spdir, name);
    cr_assert_eq(rename(a, b), 0);
}

static bool
exists_prefix(const char *prefix)
{
    char        cmd[512];

    snprintf(cmd, sizeof(cmd), "ls '%s' | grep -q '^%s'", spdir, prefix);
    return system(cmd) == 0;
}

static void
open_at(struct spool *sp, uint32_t tli, uint64_t segno, int depth)
{
    struct ws_err err = WS_ERR_INIT;

    cr_assert_eq(spool_open(sp, spdir, SEG, true, &err), 0, "%s", err.msg);
    sp->st.valid = true;
    sp->st.timeline = tli;
    sp->st.segno = segno;
    sp->st.depth = depth;
    strcpy(sp->st.repo, "/repo");
    cr_assert_eq(spool_save(sp, &err), 0, "%s", err.msg);
}

TestSuite(spool_dir, .init = setup, .fini = teardown);

Test(spool_dir, open_missing_is_not_found)
{
    struct spool sp;
    struct ws_err err = WS_ERR_INIT;

    cr_assert_eq(spool_open(&sp, spdir, SEG, false, &err), -1);
    cr_assert_eq(err.code, WS_ENOTFOUND);
    spool_close(&sp);
}

Test(spool_dir, scan_keeps_the_window_only)
{
    struct spool sp;
    struct spool_seen seen;
    struct ws_err err = WS_ERR_INIT;

    open_at(&sp, 1, 10, 3);
    put_ready(1, 9, 1);         /* behind: removed */
    put_ready(1, 11, 2);        /* window */
    put_ready(1, 13, 3);        /* window */
    put_ready(1, 14, 4);        /* past it: removed */
    put_ready(2, 12, 5);        /* a later timeline in the window: kept */
    put_file("unrelated", 0, 10);
    cr_assert_eq(spool_scan(&sp, true, false, NULL, &seen, &err), 0, "%s", err.msg);
    cr_assert_eq(seen.ahead, 3);
    cr_assert_eq(seen.have, 0x5, "have 0x%llx", (unsigned long long) seen.have);
    cr_assert(!exists_prefix("000000010000000000000009"));
    cr_assert(exists_prefix("00000001000000000000000B"));
    cr_assert(exists_prefix("00000001000000000000000D"));
    cr_assert(!exists_prefix("00000001000000000000000E"));
    cr_assert(exists_prefix("00000002000000000000000C"));
    cr_assert(exists_prefix("unrelated"), "a file that is not ours stays");
    spool_close(&sp);
}

Test(spool_dir, scan_another_owner_removes_all_ready)
{
    struct spool sp;
    struct spool_seen seen;
    struct ws_err err = WS_ERR_INIT;

    open_at(&sp, 1, 10, 3);
    put_ready(1, 11, 2);
    put_ready(1, 12, 2);
    cr_assert_eq(spool_scan(&sp, false, false, "00000001000000000000000B", &seen, &err), 0);
    cr_assert_eq(seen.found.kind, SPOOL_E_OTHER, "never handed over for another owner");
    cr_assert_eq(seen.ahead, 0);
    cr_assert(!exists_prefix("00000001"));
    spool_close(&sp);
}

Test(spool_dir, scan_temporaries)
{
    struct spool sp;
    struct spool_seen seen;
    struct ws_err err = WS_ERR_INIT;
    char        live[64];

    open_at(&sp, 1, 10, 3);
    snprintf(live, sizeof(live), "00000001000000000000000B.walship-tmp.%ld", (long) getpid());
    put_file(live, 1, 100);
    put_file("00000001000000000000000C.walship-tmp.999999999", 1, 100);  /* no such pid */
    /* a fetcher runs: the live temporary is in flight, the dead one removed */
    cr_assert_eq(spool_scan(&sp, true, true, "00000001000000000000000B", &seen, &err), 0);
    cr_assert(seen.in_flight);
    cr_assert_eq(seen.found.kind, SPOOL_E_OTHER, "a temporary is never found");
    cr_assert(exists_prefix("00000001000000000000000B.walship-tmp"));
    cr_assert(!exists_prefix("00000001000000000000000C.walship-tmp"));
    /* no fetcher runs: every temporary is a leftover */
    cr_assert_eq(spool_scan(&sp, true, false, "00000001000000000000000B", &seen, &err), 0);
    cr_assert(!seen.in_flight);
    cr_assert(!exists_prefix("00000001000000000000000B.walship-tmp"));
    spool_close(&sp);
}

static void
take_case(int damage, bool want_taken)
{
    struct spool sp;
    struct spool_seen seen;
    struct ws_err err = WS_ERR_INIT;
    char        out[512];
    char        path[600];
    bool        taken = true;
    struct stat stbuf;

    open_at(&sp, 1, 10, 3);
    put_ready(1, 11, 7);
    cr_assert_eq(spool_scan(&sp, true, false, "00000001000000000000000B", &seen, &err), 0);
    cr_assert_eq(seen.found.kind, SPOOL_E_READY);
    snprintf(path, sizeof(path), "%s/00000001000000000000000B.%016llX", spdir,
             (unsigned long long) seen.found.tag);
    if (damage == 1)
        cr_assert_eq(truncate(path, SEG / 2), 0);
    else if (damage == 2)
    {
        int         fd = open(path, O_WRONLY);

        cr_assert_eq(pwrite(fd, "x", 1, 4096), 1);
        close(fd);
    }
    snprintf(out, sizeof(out), "%s/RECOVERYXLOG", tmpdir);
    cr_assert_eq(spool_take(&sp, &seen.found, out, &taken, &err), 0, "%s", err.msg);
    cr_assert_eq(taken, want_taken);
    cr_assert_eq(stat(out, &stbuf) == 0, want_taken, "%%p exists only when handed over");
    cr_assert(stat(path, &stbuf) != 0, "the spool file is gone either way");
    spool_close(&sp);
}

Test(spool_dir, take_intact) { take_case(0, true); }
Test(spool_dir, take_truncated_is_refused) { take_case(1, false); }
Test(spool_dir, take_flipped_is_refused) { take_case(2, false); }

Test(spool_dir, fetch_lock_is_exclusive)
{
    struct spool sp;
    int         a, b;

    open_at(&sp, 1, 10, 3);
    a = spool_fetch_lock(spdir);
    cr_assert_geq(a, 0);
    b = spool_fetch_lock(spdir);
    cr_assert_eq(b, -1, "a second fetcher may not start");
    close(a);
    b = spool_fetch_lock(spdir);
    cr_assert_geq(b, 0, "free again once the first one is gone");
    close(b);
    spool_close(&sp);
}

Test(spool_dir, remove_all)
{
    struct spool sp;
    struct stat st;

    open_at(&sp, 1, 10, 3);
    put_ready(1, 11, 1);
    put_file("00000001000000000000000C.walship-tmp.1", 1, 10);
    close(spool_fetch_lock(spdir));
    spool_remove_all(&sp);
    spool_close(&sp);
    cr_assert(stat(spdir, &st) != 0, "the directory is gone");
}
