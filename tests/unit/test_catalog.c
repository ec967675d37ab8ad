/*
 * test_catalog.c — what a repository holds (catalog.h).
 *
 * The WAL accumulator from key tables: ranges and gaps, a range across a
 * 4 GiB log directory boundary, segment sizes of 1 MiB, 16 MiB, 64 MiB and
 * 1 GiB (names that do not exist for the size are "other"), several
 * timelines with history, backup history and partial files, misplaced and
 * foreign keys, the same answer for keys in order, reversed, shuffled and
 * one directory after another in shuffled order, and a callback that stops.
 * Then from a filesystem repository: empty files with sizes (ftruncate: the
 * catalog reads keys and sizes only), and a synthetic repository of 100,000
 * WAL keys, timed and with the catalog's peak memory bounded by ranges, not
 * segments.  Backups: incomplete, complete and damaged side by side.
 *
 * Every test runs in its own forked process: .init clears WALSHIP_*, points
 * WALSHIP_CONFIG at an empty file and makes a scratch directory under /tmp,
 * removed by .fini.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <criterion/logging.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "catalog.h"
#include "cfg.h"
#include "harness.h"
#include "log.h"
#include "pgcontrol.h"
#include "repo.h"
#include "wal.h"

#define SYSID 7301234567890123456ULL
#define MiB (1024u * 1024)

static char scratch[64];
static char shm_scratch[64];
static char repo_dir[PATH_MAX];

static void
setup(void)
{
    harness_clear_walship_env();
    log_set_level(LOG_LEVEL_ERROR);
    harness_scratch(scratch, sizeof(scratch), "catalog");
    snprintf(repo_dir, sizeof(repo_dir), "%s/repo", scratch);
    cr_assert_eq(mkdir(repo_dir, 0700), 0);
}

static void
teardown(void)
{
    harness_rm_scratch(scratch);
    harness_rm_scratch(shm_scratch);
}

TestSuite(catalog, .init = setup, .fini = teardown);

/* ---- helpers ---------------------------------------------------------------- */

/* The items as text, one line each. */
struct out
{
    char       *text;
    size_t      len;
    size_t      cap;
    int         items;
    int         stop_after;     /* 0: never */
};

static int
collect(const struct catalog_wal_item *it, void *arg, struct ws_err *err)
{
    struct out *o = arg;
    char        line[2 * REPO_KEY_MAX];
    size_t      n;

    switch (it->kind)
    {
        case CATALOG_WAL_SEGMENTS:
            snprintf(line, sizeof(line), "%u %s..%s %" PRIu64 "\n", it->timeline, it->name,
                     it->last_name, it->bytes);
            cr_assert_null(it->key);
            break;
        case CATALOG_WAL_HISTORY:
            snprintf(line, sizeof(line), "%u history %s %" PRIu64 "\n", it->timeline, it->key,
                     it->bytes);
            break;
        case CATALOG_WAL_BACKUP:
            snprintf(line, sizeof(line), "%u backup %s @%X %" PRIu64 "\n", it->timeline,
                     it->name, it->offset, it->bytes);
            cr_assert_eq(it->first, it->last);
            break;
        case CATALOG_WAL_PARTIAL:
            snprintf(line, sizeof(line), "%u partial %s %" PRIu64 "\n", it->timeline, it->name,
                     it->bytes);
            break;
        case CATALOG_WAL_OTHER:
            snprintf(line, sizeof(line), "other %s\n", it->key);
            break;
    }
    n = strlen(line);
    if (o->len + n + 1 > o->cap)
    {
        o->cap = (o->cap + n + 1) * 2;
        o->text = realloc(o->text, o->cap);
        cr_assert_not_null(o->text);
    }
    memcpy(o->text + o->len, line, n + 1);
    o->len += n;
    o->items++;
    if (o->stop_after > 0 && o->items == o->stop_after)
        return err_set(err, WS_EINTERRUPTED, "stopped by the test");
    return 0;
}

/* A repository key for a segment (tli, segno), or for a WAL file name. */
static void
seg_key(char *key, size_t len, uint32_t tli, uint64_t segno, uint32_t seg_size)
{
    char        name[32];

    wal_segment_name(name, sizeof(name), tli, segno, seg_size);
    cr_assert_eq(wal_repo_key(name, key, len), 0, "%s", name);
}

static void
name_key(char *key, size_t len, const char *name)
{
    cr_assert_eq(wal_repo_key(name, key, len), 0, "%s", name);
}

struct key
{
    char        k[96];
    uint64_t    size;
};

static void
shuffle(struct key *keys, size_t n, unsigned seed)
{
    for (size_t i = n; i > 1; i--)
    {
        size_t      j = (size_t) rand_r(&seed) % i;
        struct key  t = keys[i - 1];

        keys[i - 1] = keys[j];
        keys[j] = t;
    }
}

/* Feed keys to a new accumulator, return the text. */
static char *
run(const struct key *keys, size_t n, uint32_t seg_size, struct catalog_wal_stats *st)
{
    struct ws_err err = WS_ERR_INIT;
    struct out  o = {NULL, 0, 0, 0, 0};
    struct catalog_wal *w = catalog_wal_new(seg_size, collect, &o, &err);

    cr_assert_not_null(w, "%s", err.msg);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(catalog_wal_add(w, keys[i].k, keys[i].size, &err), 0, "%s", err.msg);
    cr_assert_eq(catalog_wal_finish(w, st, &err), 0, "%s", err.msg);
    catalog_wal_free(w);
    if (o.text == NULL)
        o.text = strdup("");
    return o.text;
}

static size_t
add_seg(struct key *keys, size_t n, uint32_t tli, uint64_t segno, uint32_t seg_size,
        uint64_t size)
{
    seg_key(keys[n].k, sizeof(keys[n].k), tli, segno, seg_size);
    keys[n].size = size;
    return n + 1;
}

static size_t
add_name(struct key *keys, size_t n, const char *name, uint64_t size)
{
    name_key(keys[n].k, sizeof(keys[n].k), name);
    keys[n].size = size;
    return n + 1;
}

static int
cmp_key(const void *a, const void *b)
{
    return strcmp(((const struct key *) a)->k, ((const struct key *) b)->k);
}

/* Shuffled, but one directory after another (as the filesystem driver lists). */
static void
shuffle_by_directory(struct key *keys, size_t n, unsigned seed)
{
    /* sort, shuffle each directory's run, then shuffle whole directories by swapping runs */
    struct key *tmp = malloc(n * sizeof(*tmp));
    size_t     *starts = malloc((n + 1) * sizeof(*starts));
    size_t      ndirs = 0, o = 0;

    qsort(keys, n, sizeof(*keys), cmp_key);
    for (size_t i = 0; i < n; i++)
    {
        const char *s1 = strrchr(keys[i].k, '/');

        if (i == 0 || (size_t) (s1 - keys[i].k) != (size_t) (strrchr(keys[i - 1].k, '/') - keys[i - 1].k) ||
            strncmp(keys[i].k, keys[i - 1].k, (size_t) (s1 - keys[i].k)) != 0)
            starts[ndirs++] = i;
    }
    starts[ndirs] = n;
    for (size_t d = 0; d < ndirs; d++)
        shuffle(keys + starts[d], starts[d + 1] - starts[d], seed + (unsigned) d);
    {
        size_t     *order = malloc(ndirs * sizeof(*order));

        for (size_t d = 0; d < ndirs; d++)
            order[d] = d;
        for (size_t d = ndirs; d > 1; d--)
        {
            size_t      j = (size_t) rand_r(&seed) % d;
            size_t      t = order[d - 1];

            order[d - 1] = order[j];
            order[j] = t;
        }
        for (size_t d = 0; d < ndirs; d++)
            for (size_t i = starts[order[d]]; i < starts[order[d] + 1]; i++)
                tmp[o++] = keys[i];
        free(order);
    }
    memcpy(keys, tmp, n * sizeof(*keys));
    free(tmp);
    free(starts);
}

/* The same text for keys in every order. */
static char *
run_all_orders(struct key *keys, size_t n, uint32_t seg_size)
{
    char       *want;

    qsort(keys, n, sizeof(*keys), cmp_key);
    want = run(keys, n, seg_size, NULL);
    for (unsigned seed = 1; seed <= 3; seed++)
    {
        char       *got;

        shuffle(keys, n, seed);
        got = run(keys, n, seg_size, NULL);
        cr_assert_str_eq(got, want, "shuffled (seed %u)", seed);
        free(got);
        shuffle_by_directory(keys, n, seed);
        got = run(keys, n, seg_size, NULL);
        cr_assert_str_eq(got, want, "by directory (seed %u)", seed);
        free(got);
    }
    for (size_t i = 0; i < n / 2; i++)
    {
        struct key  t = keys[i];

        keys[i] = keys[n - 1 - i];
        keys[n - 1 - i] = t;
    }
    qsort(keys, n, sizeof(*keys), cmp_key);
    for (size_t i = 0; i < n / 2; i++)
    {
        struct key  t = keys[i];

        keys[i] = keys[n - 1 - i];
        keys[n - 1 - i] = t;
    }
    {
        char       *got = run(keys, n, seg_size, NULL);

        cr_assert_str_eq(got, want, "reversed");
        free(got);
    }
    return want;
}

/* ---- the accumulator ------------------------------------------------------- */

Test(catalog, ranges_and_gaps_across_a_log_boundary)
{
    struct key  keys[64];
    size_t      n = 0;
    char       *text;
    uint32_t    seg = 16 * MiB;     /* 256 segments a log directory */

    for (uint64_t s = 1; s <= 5; s++)
        n = add_seg(keys, n, 1, s, seg, 10);
    for (uint64_t s = 7; s <= 9; s++)           /* gap: 6 */
        n = add_seg(keys, n, 1, s, seg, 20);
    for (uint64_t s = 0xFD; s <= 0x102; s++)    /* across log 0 -> log 1: one range */
        n = add_seg(keys, n, 1, s, seg, 1);
    n = add_seg(keys, n, 1, 0x300, seg, 7);     /* alone in log 3 */
    text = run_all_orders(keys, n, seg);
    cr_assert_str_eq(text,
                     "1 000000010000000000000001..000000010000000000000005 50\n"
                     "1 000000010000000000000007..000000010000000000000009 60\n"
                     "1 0000000100000000000000FD..000000010000000100000002 6\n"
                     "1 000000010000000300000000..000000010000000300000000 7\n");
    free(text);
}

struct segsize_case
{
    uint32_t    seg_size;
    const char *last_of_log0;       /* segno per_id - 1 */
    const char *first_of_log1;      /* segno per_id */
    const char *invalid;            /* a name whose segment does not exist at this size */
};

Test(catalog, other_segment_sizes)
{
    static const struct segsize_case cases[] = {
        {1 * MiB, "000000010000000000000FFF", "000000010000000100000000", "000000010000000000001000"},
        {64 * MiB, "00000001000000000000003F", "000000010000000100000000", "000000010000000000000040"},
        {1024 * MiB, "000000010000000000000003", "000000010000000100000000", "000000010000000000000004"},
    };

    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++)
    {
        const struct segsize_case *k = &cases[c];
        uint64_t    per_id = UINT64_C(0x100000000) / k->seg_size;
        struct key  keys[16];
        size_t      n = 0;
        char        want[1024];
        char       *text;

        n = add_seg(keys, n, 1, per_id - 2, k->seg_size, 1);
        n = add_seg(keys, n, 1, per_id - 1, k->seg_size, 1);
        n = add_seg(keys, n, 1, per_id, k->seg_size, 1);
        n = add_seg(keys, n, 1, per_id + 1, k->seg_size, 1);
        n = add_seg(keys, n, 1, 3 * per_id, k->seg_size, 1);   /* log 3 */
        n = add_name(keys, n, k->invalid, 1);
        cr_assert_str_eq(strrchr(keys[1].k, '/') + 1, k->last_of_log0);
        cr_assert_str_eq(strrchr(keys[2].k, '/') + 1, k->first_of_log1);
        text = run_all_orders(keys, n, k->seg_size);
        snprintf(want, sizeof(want),
                 "other wal/00000001/0000000100000000/%s\n"
                 "1 %.16s%08X..000000010000000100000001 4\n"
                 "1 000000010000000300000000..000000010000000300000000 1\n",
                 k->invalid, k->last_of_log0, (unsigned) (per_id - 2));
        cr_assert_str_eq(text, want, "segment size %u", k->seg_size);
        free(text);
    }
}

Test(catalog, timelines_history_backup_and_partial_files)
{
    struct key  keys[64];
    size_t      n = 0;
    char       *text;
    uint32_t    seg = 16 * MiB;

    for (uint64_t s = 1; s <= 9; s++)
        n = add_seg(keys, n, 1, s, seg, 100);
    n = add_name(keys, n, "00000001000000000000000A.partial", 50);
    n = add_name(keys, n, "000000010000000000000002.00000028.backup", 3);
    n = add_name(keys, n, "000000010000000000000002.00A00028.backup", 4);
    n = add_name(keys, n, "00000002.history", 41);
    for (uint64_t s = 0x10; s <= 0x12; s++)
        n = add_seg(keys, n, 2, s, seg, 200);
    n = add_seg(keys, n, 2, 0x14, seg, 200);
    n = add_name(keys, n, "00000003.history", 82);     /* a timeline with nothing else yet */
    n = add_name(keys, n, "00000005000000000000000E.00000060.backup", 5);   /* only a label */
    text = run_all_orders(keys, n, seg);
    cr_assert_str_eq(text,
                     "1 000000010000000000000001..000000010000000000000009 900\n"
                     "1 backup 000000010000000000000002.00000028.backup @28 3\n"
                     "1 backup 000000010000000000000002.00A00028.backup @A00028 4\n"
                     "1 partial 00000001000000000000000A.partial 50\n"
                     "2 history wal/00000002/00000002.history 41\n"
                     "2 000000020000000000000010..000000020000000000000012 600\n"
                     "2 000000020000000000000014..000000020000000000000014 200\n"
                     "3 history wal/00000003/00000003.history 82\n"
                     "5 backup 00000005000000000000000E.00000060.backup @60 5\n");
    free(text);
}

Test(catalog, misplaced_and_foreign_keys_are_other)
{
    static const char *const others[] = {
        "wal/00000001/0000000100000001/000000010000000000000003",  /* wrong log directory */
        "wal/00000002/0000000100000000/000000010000000000000003",  /* wrong timeline directory */
        "wal/00000001/000000010000000000000003",                   /* not in a log directory */
        "wal/00000001/0000000100000000/00000001000000000000000a",  /* lower-case hex */
        "wal/00000001/0000000100000000/README",
        "wal/00000001/0000000100000000/00000001.history",          /* history one level too low */
        "wal/stray",
        "wal/00000000/0000000000000000/000000000000000000000001",  /* timeline 0 */
    };
    struct key  keys[16];
    size_t      n = 0;
    char       *text;
    char        want[4096] = "";

    n = add_seg(keys, n, 1, 3, 16 * MiB, 9);
    for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++)
    {
        snprintf(keys[n].k, sizeof(keys[n].k), "%s", others[i]);
        keys[n++].size = 1;
    }
    qsort(keys, n, sizeof(*keys), cmp_key);
    text = run(keys, n, 16 * MiB, NULL);
    /* the others as listed, then the range */
    for (size_t i = 0; i < n; i++)
        if (strcmp(keys[i].k, "wal/00000001/0000000100000000/000000010000000000000003") != 0)
        {
            strcat(want, "other ");
            strcat(want, keys[i].k);
            strcat(want, "\n");
        }
    strcat(want, "1 000000010000000000000003..000000010000000000000003 9\n");
    cr_assert_str_eq(text, want);
    free(text);
}

Test(catalog, callback_error_stops)
{
    struct key  keys[8];
    size_t      n = 0;
    struct ws_err err = WS_ERR_INIT;
    struct out  o = {NULL, 0, 0, 0, 2};
    struct catalog_wal *w = catalog_wal_new(16 * MiB, collect, &o, &err);

    n = add_seg(keys, n, 1, 1, 16 * MiB, 1);
    n = add_seg(keys, n, 2, 1, 16 * MiB, 1);
    n = add_seg(keys, n, 3, 1, 16 * MiB, 1);
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(catalog_wal_add(w, keys[i].k, keys[i].size, &err), 0, "%s", err.msg);
    cr_assert_eq(catalog_wal_finish(w, NULL, &err), -1);
    cr_assert_eq(err.code, WS_EINTERRUPTED);
    cr_assert_eq(o.items, 2);
    catalog_wal_free(w);
    free(o.text);
}

/* Adjacent runs delivered out of order end as one range, the peak stays small. */
Test(catalog, runs_merge_whatever_the_order)
{
    enum { N = 20000 };
    struct key *keys = malloc(N * sizeof(*keys));
    struct catalog_wal_stats st;
    char       *text;

    for (size_t i = 0; i < N; i++)
        add_seg(keys, i, 1, i + 1, 16 * MiB, 1);
    shuffle(keys, N, 7);
    text = run(keys, N, 16 * MiB, &st);
    cr_assert_str_eq(text, "1 000000010000000000000001..000000010000004E00000020 20000\n");
    cr_assert_eq(st.keys, N);
    cr_assert_eq(st.segments, N);
    cr_assert_eq(st.ranges, 1);
    free(text);
    /* one directory after another, the directories in random order */
    shuffle_by_directory(keys, N, 7);
    text = run(keys, N, 16 * MiB, &st);
    cr_assert_str_eq(text, "1 000000010000000000000001..000000010000004E00000020 20000\n");
    /* never more ranges at once than directories (79 of 256 segments) */
    cr_assert_leq(st.peak_ranges, N / 256 + 1, "peak %zu ranges", st.peak_ranges);
    free(text);
    free(keys);
}

/* ---- from a repository ------------------------------------------------------- */

static struct repo *
make_repo(uint32_t seg_size)
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
    pgc.system_identifier = SYSID;
    pgc.wal_segment_size = seg_size;
    pgc.pg_major = 15;
    cr_assert_eq(repo_open(&cfg, &pgc, &r, &err), 0, "repo_open: %s", err.msg);
    return r;
}

/* An empty file of `size` bytes (sparse) at key: the catalog reads no content. */
static void
touch_key(const char *key, uint64_t size)
{
    char        path[PATH_MAX + REPO_KEY_MAX];
    int         fd;

    snprintf(path, sizeof(path), "%s/%s", repo_dir, key);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 && errno == ENOENT)
    {
        /* make the directories */
        for (char *p = path + strlen(repo_dir) + 1; *p; p++)
            if (*p == '/')
            {
                *p = '\0';
                (void) mkdir(path, 0700);
                *p = '/';
            }
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    }
    cr_assert(fd >= 0, "%s: %s", path, strerror(errno));
    if (size > 0)
        cr_assert_eq(ftruncate(fd, (off_t) size), 0);
    close(fd);
}

Test(catalog, wal_of_a_filesystem_repository)
{
    struct repo *r = make_repo(16 * MiB);
    struct ws_err err = WS_ERR_INIT;
    struct out  o = {NULL, 0, 0, 0, 0};
    struct catalog_wal_stats st;
    char        key[REPO_KEY_MAX];

    for (uint64_t s = 0xFE; s <= 0x101; s++)
    {
        seg_key(key, sizeof(key), 1, s, 16 * MiB);
        touch_key(key, 1000 + s);
    }
    seg_key(key, sizeof(key), 1, 0x104, 16 * MiB);
    touch_key(key, 5);
    name_key(key, sizeof(key), "00000002.history");
    touch_key(key, 77);
    seg_key(key, sizeof(key), 2, 0x104, 16 * MiB);
    touch_key(key, 6);
    touch_key("wal/leftover.txt", 3);
    /* not WAL: not listed here */
    touch_key("backups/20261203T205322Z/base.tar.0", 9);
    cr_assert_eq(catalog_wal(r, collect, &o, &st, &err), 0, "%s", err.msg);
    cr_assert_str_eq(o.text,
                     "other wal/leftover.txt\n"
                     "1 0000000100000000000000FE..000000010000000100000001 5022\n"
                     "1 000000010000000100000004..000000010000000100000004 5\n"
                     "2 history wal/00000002/00000002.history 77\n"
                     "2 000000020000000100000004..000000020000000100000004 6\n");
    cr_assert_eq(st.keys, 8);
    cr_assert_eq(st.segments, 6);
    cr_assert_eq(st.ranges, 3);
    free(o.text);
    repo_close(r);
}

static double
now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + ts.tv_nsec / 1e9;
}

static long
max_rss_kb(void)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

/*
 * 100,000 WAL keys (empty files) over two timelines with a gap every 10,000
 * segments: the answer is 11 ranges (6 on timeline 1, 5 on timeline 2), the catalog never holds more than a
 * handful and a few kilobytes, and a listing takes well under a second on an
 * idle machine (the limit leaves room for a busy 2-core one).
 */
Test(catalog, hundred_thousand_wal_keys, .timeout = 300)
{
    enum { N = 100000 };
    struct repo *r;
    struct ws_err err = WS_ERR_INIT;
    struct out  o = {NULL, 0, 0, 0, 0};
    struct catalog_wal_stats st;
    char        key[REPO_KEY_MAX];
    uint64_t    made = 0;
    double      t0, t1;
    long        rss0, rss1;

    /* 100,000 files are made (and removed) faster in memory, where there is */
    snprintf(shm_scratch, sizeof(shm_scratch), "/dev/shm/ws_test_catalog_XXXXXX");
    if (mkdtemp(shm_scratch) != NULL)
    {
        snprintf(repo_dir, sizeof(repo_dir), "%s/repo", shm_scratch);
        cr_assert_eq(mkdir(repo_dir, 0700), 0);
    }
    else
        shm_scratch[0] = '\0';
    r = make_repo(16 * MiB);
    for (uint64_t s = 1; made < N; s++)
    {
        if (s % 10000 == 0)
            continue;           /* a gap */
        seg_key(key, sizeof(key), s <= 60000 ? 1 : 2, s, 16 * MiB);
        touch_key(key, 0);
        made++;
    }
    name_key(key, sizeof(key), "00000002.history");
    touch_key(key, 41);

    rss0 = max_rss_kb();
    t0 = now();
    cr_assert_eq(catalog_wal(r, collect, &o, &st, &err), 0, "%s", err.msg);
    t1 = now();
    rss1 = max_rss_kb();
    cr_log_info("catalog of %" PRIu64 " keys: %.3f s, %zu ranges (peak %zu), peak %zu bytes, "
                "max RSS +%ld KiB", st.keys, t1 - t0, st.ranges, st.peak_ranges, st.peak_bytes,
                rss1 - rss0);
    fprintf(stderr, "catalog of %" PRIu64 " keys: %.3f s, %zu ranges (peak %zu), peak %zu bytes, "
            "max RSS +%ld KiB\n", st.keys, t1 - t0, st.ranges, st.peak_ranges, st.peak_bytes,
            rss1 - rss0);
    cr_assert_eq(st.keys, N + 1);
    cr_assert_eq(st.segments, N);
    cr_assert_eq(st.ranges, 11, "%s", o.text);
    cr_assert_leq(st.peak_ranges, 2 * 11 + N / 256, "peak %zu ranges", st.peak_ranges);
    /* bounded by ranges and directories: a segment array would be 100,000 x 16 bytes */
    cr_assert_lt(st.peak_bytes, 128 * 1024, "peak %zu bytes", st.peak_bytes);
#ifndef __SANITIZE_ADDRESS__        /* ASan's quarantine keeps what the listing freed */
    cr_assert_lt(rss1 - rss0, 4 * 1024, "max RSS grew by %ld KiB", rss1 - rss0);
#endif
    cr_assert_lt(t1 - t0, 30.0, "%.1f s", t1 - t0);
    /* segment 9,999 is 0x27 * 256 + 0x0F; timeline 2 starts at 60,001 = 0xEA * 256 + 0x61 */
    cr_assert_eq(strncmp(o.text, "1 000000010000000000000001..00000001000000270000000F 0\n",
                         55), 0, "%s", o.text);
    cr_assert_not_null(strstr(o.text, "2 history wal/00000002/00000002.history 41\n"
                              "2 00000002000000EA00000061..00000002000001110000006F 0\n"),
                       "%s", o.text);
    free(o.text);
    repo_close(r);
}

/* ---- backups ---------------------------------------------------------------------- */

Test(catalog, backups_complete_incomplete_damaged)
{
    struct repo *r = make_repo(16 * MiB);
    struct ws_err err = WS_ERR_INIT;
    struct backup_info b;
    struct backup_info *list = NULL;
    int         n = -1;
    char        key[REPO_KEY_MAX];

    memset(&b, 0, sizeof(b));
    b.format = BACKUP_INFO_FORMAT;
    backup_id_format(1796331202, b.id);
    b.complete = true;
    b.system_identifier = SYSID;
    b.timeline = 1;
    b.start_timeline = 1;
    b.start_lsn = 0x2000028;
    b.stop_lsn = 0x2000100;
    b.stop_time_us = INT64_C(1796331202) * 1000000;
    cr_assert_eq(backup_info_store(r, &b, &err), 0, "%s", err.msg);
    touch_key("backups/20261203T205322Z/base.tar.0", 10);
    touch_key("backups/20261204T000000Z/base.tar.0", 10);          /* no descriptor */
    touch_key("backups/20261205T000000Z/backup.info", 10);         /* not an object */
    touch_key("backups/not-an-id/backup.info", 10);
    cr_assert_eq(backup_key(b.id, BACKUP_INFO_NAME, key, sizeof(key), &err), 0);
    cr_assert_eq(catalog_backups(r, &list, &n, &err), 0, "%s", err.msg);
    cr_assert_eq(n, 3);
    cr_assert_str_eq(list[0].id, "20261203T205322Z");
    cr_assert(list[0].complete);
    cr_assert_eq(list[0].stop_lsn, 0x2000100);
    cr_assert_str_eq(list[1].id, "20261204T000000Z");
    cr_assert_not(list[1].complete);
    cr_assert_not(list[1].unreadable);
    cr_assert_str_eq(list[2].id, "20261205T000000Z");
    cr_assert_not(list[2].complete);
    cr_assert(list[2].unreadable);
    catalog_backups_free(list, n);
    repo_close(r);
}
