/*
 * test_tar.c — the streaming tar extractor (tar.h).
 *
 * Round trips of trees archived by the system's GNU tar (ustar; gnu and pax
 * for the tolerated long-name forms) are compared entry by entry with the
 * source: type, content, mode & 0700, mtime, link target, and no extra
 * entries.  The same archives fed in random piece sizes (1 byte .. 64 KiB)
 * give the same result.  A real PostgreSQL 15 base backup (pg_basebackup
 * -Ft, with a tablespace) is extracted and compared with `tar -xf`.
 * Malicious and damaged archives are built by hand, header by header, the
 * way PostgreSQL's src/port/tar.c writes them; each must fail with the right
 * code and a message naming the member, and leave nothing outside the
 * target directory.
 *
 * Every test runs in its own forked process with its own scratch directory
 * (mkdtemp under /tmp) holding t/ (the target) and outside/ (which must stay
 * empty); .fini stops a PostgreSQL started by the test, unmounts a tmpfs,
 * and removes the scratch directory.
 *
 * No test sets a Criterion .timeout: with several timed tests, BoxFort's
 * timeout list (timeout-posix.c, bxfi_cancel_timeout) leaks a 48-byte request
 * in the runner, which LeakSanitizer reports.  External programs that could
 * hang run under timeout(1) instead, and ctest bounds the whole binary.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "filter.h"
#include "tar.h"

#define PG_BIN "/usr/lib/postgresql/15/bin"
#define BIG_SIZE (10u << 20)

static char scratch[64];
static char target[128];
static char outside[128];
static char mounted[PATH_MAX];      /* tmpfs to unmount in teardown, "" if none */
static char pg_data[PATH_MAX];      /* running cluster to stop in teardown, "" if none */
static char pg_user[32];
/* what extract_mem allows without opts: tests of general archives set TAR_SYMLINKS_ANY */
static enum tar_symlinks default_symlinks = TAR_SYMLINKS_TABLESPACE;

/* ---- helpers -------------------------------------------------------------------- */

static void
run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
run(const char *fmt, ...)
{
    char        cmd[4 * PATH_MAX];
    va_list     ap;
    int         st;

    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    st = system(cmd);
    cr_assert_eq(st, 0, "command failed (%d): %s", st, cmd);
}

/* snprintf that must not truncate (paths in tests are short, but say so). */
static void
pfmt(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
pfmt(char *buf, size_t size, const char *fmt, ...)
{
    va_list     ap;
    int         n;

    va_start(ap, fmt);
    n = vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    cr_assert(n >= 0 && (size_t) n < size, "path too long: %s", buf);
}

/* scratch/<rel>, in one of 8 rotating buffers. */
static const char *
spath(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static const char *
spath(const char *fmt, ...)
{
    static char bufs[8][PATH_MAX];
    static int  next;
    char       *b = bufs[next++ % 8];
    char        rel[PATH_MAX];
    va_list     ap;

    va_start(ap, fmt);
    vsnprintf(rel, sizeof(rel), fmt, ap);
    va_end(ap);
    pfmt(b, PATH_MAX, "%s/%s", scratch, rel);
    return b;
}

/* Deterministic bytes; different seeds differ early. */
static void
fill(unsigned char *buf, size_t len, uint64_t seed)
{
    uint64_t    x = seed * 6364136223846793005ULL + 1442695040888963407ULL;

    for (size_t i = 0; i < len; i++)
    {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        buf[i] = (unsigned char) (x >> 56);
    }
}

static void
write_file(const char *path, size_t len, uint64_t seed, mode_t mode)
{
    unsigned char *buf = malloc(len ? len : 1);
    int         fd;

    cr_assert_not_null(buf);
    fill(buf, len, seed);
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    cr_assert_geq(fd, 0, "open %s: %s", path, strerror(errno));
    cr_assert_eq(write(fd, buf, len), (ssize_t) len);
    cr_assert_eq(fchmod(fd, mode), 0);
    close(fd);
    free(buf);
}

static unsigned char *
slurp(const char *path, size_t *len)
{
    struct stat st;
    unsigned char *buf;
    int         fd = open(path, O_RDONLY);
    size_t      got = 0;

    cr_assert_geq(fd, 0, "open %s: %s", path, strerror(errno));
    cr_assert_eq(fstat(fd, &st), 0);
    buf = malloc((size_t) st.st_size + 1);
    cr_assert_not_null(buf);
    while (got < (size_t) st.st_size)
    {
        ssize_t     n = read(fd, buf + got, (size_t) st.st_size - got);

        cr_assert_gt(n, 0, "read %s", path);
        got += (size_t) n;
    }
    close(fd);
    *len = got;
    return buf;
}

static void
set_mtime(const char *path, time_t sec, long nsec)
{
    struct timespec ts[2] = {{sec, nsec}, {sec, nsec}};

    cr_assert_eq(utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW), 0, "utimensat %s: %s",
                 path, strerror(errno));
}

static int
count_entries(const char *dir)
{
    DIR        *d = opendir(dir);
    struct dirent *e;
    int         n = 0;

    cr_assert_not_null(d, "opendir %s: %s", dir, strerror(errno));
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

static int
count_fds(void)
{
    return count_entries("/proc/self/fd");
}

static bool
exists(const char *path)
{
    struct stat st;

    return lstat(path, &st) == 0;
}

/*
 * Nothing was written beside the target (scratch holds only what tests put
 * there), nor at the /tmp name that escape attempts use.
 */
static void
assert_nothing_outside(void)
{
    static const char *const known[] = {"t", "outside", "a.tar", "src", "t2", "t3", NULL};
    DIR        *d;
    struct dirent *e;
    char        p[PATH_MAX];

    cr_assert_eq(count_entries(outside), 0, "something was created in %s", outside);
    d = opendir(scratch);
    cr_assert_not_null(d);
    while ((e = readdir(d)) != NULL)
    {
        bool        ok = strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0;

        for (int i = 0; !ok && known[i] != NULL; i++)
            ok = strcmp(e->d_name, known[i]) == 0;
        cr_assert(ok, "%s/%s was created", scratch, e->d_name);
    }
    closedir(d);
    snprintf(p, sizeof(p), "/tmp/ws_tar_escape_%d", (int) getpid());
    cr_assert(!exists(p), "%s was created", p);
}

static void
setup(void)
{
    strcpy(scratch, "/tmp/ws_tar.XXXXXX");
    cr_assert_not_null(mkdtemp(scratch), "mkdtemp: %s", strerror(errno));
    snprintf(target, sizeof(target), "%s/t", scratch);
    snprintf(outside, sizeof(outside), "%s/outside", scratch);
    cr_assert_eq(mkdir(target, 0700), 0);
    cr_assert_eq(mkdir(outside, 0700), 0);
    mounted[0] = pg_data[0] = '\0';
}

static void
teardown(void)
{
    char        cmd[2 * PATH_MAX + 128];
    char        p[PATH_MAX];

    if (pg_data[0] != '\0')
    {
        snprintf(cmd, sizeof(cmd), "runuser -u %s -- " PG_BIN "/pg_ctl -D '%s' -m immediate "
                 "stop >/dev/null 2>&1", pg_user, pg_data);
        if (pg_user[0] == '\0')
            snprintf(cmd, sizeof(cmd), PG_BIN "/pg_ctl -D '%s' -m immediate stop "
                     ">/dev/null 2>&1", pg_data);
        if (system(cmd) != 0)
            fprintf(stderr, "warning: could not stop the cluster in %s\n", pg_data);
        pg_data[0] = '\0';
    }
    if (mounted[0] != '\0')
    {
        snprintf(cmd, sizeof(cmd), "umount '%s' 2>/dev/null", mounted);
        if (system(cmd) != 0)
            fprintf(stderr, "warning: could not unmount %s\n", mounted);
        mounted[0] = '\0';
    }
    snprintf(p, sizeof(p), "/tmp/ws_tar_escape_%d", (int) getpid());
    remove(p);
    if (scratch[0] != '\0')
    {
        snprintf(cmd, sizeof(cmd), "chmod -R u+rwX '%s' 2>/dev/null; rm -rf '%s'", scratch,
                 scratch);
        if (system(cmd) != 0)
            fprintf(stderr, "warning: could not remove %s\n", scratch);
        scratch[0] = '\0';
    }
}

TestSuite(tar, .init = setup, .fini = teardown);

/* ---- feeding the extractor -------------------------------------------------------- */

static uint64_t
rnd(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/*
 * Write data into f: in one piece if seed is 0, in 1-byte pieces if seed is 1,
 * else in random pieces of 1 byte .. 64 KiB (a quarter tiny, a quarter around a
 * block, the rest anything).
 */
static int
feed(struct filter *f, const unsigned char *data, size_t len, uint64_t seed, struct ws_err *err)
{
    uint64_t    s = seed * 0x9E3779B97F4A7C15ULL + 1;
    size_t      off = 0;

    if (seed == 0)
        return filter_write(f, data, len, err);
    while (off < len)
    {
        size_t      n;

        if (seed == 1)
            n = 1;
        else
        {
            switch (rnd(&s) % 4)
            {
                case 0:
                    n = 1 + rnd(&s) % 16;
                    break;
                case 1:
                    n = 1 + rnd(&s) % 1100;
                    break;
                default:
                    n = 1 + rnd(&s) % 65536;
                    break;
            }
        }
        if (n > len - off)
            n = len - off;
        if (filter_write(f, data + off, n, err) < 0)
            return -1;
        off += n;
    }
    return 0;
}

/* Extract data into dir (opts may be NULL); returns the result of write+finish. */
static int
extract_mem(const unsigned char *data, size_t len, const char *dir,
            const struct tar_extract_opts *opts, uint64_t seed, struct ws_err *err,
            struct tar_extract_stats *stats)
{
    struct tar_extract_opts o = {.symlinks = default_symlinks};
    struct filter *f;
    int         rc;

    if (opts)
        o = *opts;
    o.target_dir = dir;
    f = tar_extract_new(&o, err);
    cr_assert_not_null(f, "tar_extract_new(%s): %s", dir, err->msg);
    rc = feed(f, data, len, seed, err);
    if (rc == 0)
        rc = filter_finish(f, err);
    if (stats)
        tar_extract_stats(f, stats);
    filter_free(f);
    return rc;
}

static int
extract_file(const char *archive, const char *dir, const struct tar_extract_opts *opts,
             uint64_t seed, struct ws_err *err, struct tar_extract_stats *stats)
{
    size_t      len;
    unsigned char *data = slurp(archive, &len);
    int         rc = extract_mem(data, len, dir, opts, seed, err, stats);

    free(data);
    return rc;
}

/* ---- comparing trees -------------------------------------------------------------- */

struct tree_count
{
    uint64_t    files;
    uint64_t    dirs;
    uint64_t    symlinks;
    uint64_t    bytes;
};

static void
compare_content(const char *a, const char *b)
{
    int         fa = open(a, O_RDONLY);
    int         fb = open(b, O_RDONLY);
    static unsigned char ba[65536];
    static unsigned char bb[65536];

    cr_assert_geq(fa, 0, "open %s: %s", a, strerror(errno));
    cr_assert_geq(fb, 0, "open %s: %s", b, strerror(errno));
    for (;;)
    {
        ssize_t     na = read(fa, ba, sizeof(ba));
        ssize_t     nb = read(fb, bb, sizeof(bb));

        cr_assert_eq(na, nb, "%s and %s differ in length", a, b);
        cr_assert_geq(na, 0);
        if (na == 0)
            break;
        cr_assert(memcmp(ba, bb, (size_t) na) == 0, "%s and %s differ", a, b);
    }
    close(fa);
    close(fb);
}

/*
 * Every entry below src/rel exists below dst/rel with the same type, content,
 * link target, mtime (seconds) and mode & 0700; dst has no other entries.
 */
static void
compare_tree(const char *src, const char *dst, const char *rel, bool dir_mtimes,
             struct tree_count *c)
{
    char        sd[PATH_MAX];
    char        dd[PATH_MAX];
    DIR        *d;
    struct dirent *e;
    int         n = 0;

    snprintf(sd, sizeof(sd), "%s%s%s", src, rel[0] ? "/" : "", rel);
    snprintf(dd, sizeof(dd), "%s%s%s", dst, rel[0] ? "/" : "", rel);
    d = opendir(sd);
    cr_assert_not_null(d, "opendir %s: %s", sd, strerror(errno));
    while ((e = readdir(d)) != NULL)
    {
        char        sp[PATH_MAX];
        char        dp[PATH_MAX];
        char        sub[PATH_MAX];
        struct stat ss;
        struct stat ds;

        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        n++;
        pfmt(sp, sizeof(sp), "%s/%s", sd, e->d_name);
        pfmt(dp, sizeof(dp), "%s/%s", dd, e->d_name);
        pfmt(sub, sizeof(sub), "%s%s%s", rel, rel[0] ? "/" : "", e->d_name);
        cr_assert_eq(lstat(sp, &ss), 0, "lstat %s", sp);
        cr_assert_eq(lstat(dp, &ds), 0, "%s is missing: %s", dp, strerror(errno));
        cr_assert_eq(ss.st_mode & S_IFMT, ds.st_mode & S_IFMT, "%s: type differs", sub);
        if (dir_mtimes || !S_ISDIR(ss.st_mode))
            cr_assert_eq(ss.st_mtim.tv_sec, ds.st_mtim.tv_sec, "%s: mtime %lld, expected %lld",
                         sub, (long long) ds.st_mtim.tv_sec, (long long) ss.st_mtim.tv_sec);
        if (S_ISLNK(ss.st_mode))
        {
            char        lt[PATH_MAX] = "";
            char        dt[PATH_MAX] = "";

            cr_assert_gt(readlink(sp, lt, sizeof(lt) - 1), 0);
            cr_assert_gt(readlink(dp, dt, sizeof(dt) - 1), 0);
            cr_assert_str_eq(dt, lt, "%s: link target", sub);
            c->symlinks++;
            continue;
        }
        cr_assert_eq(ds.st_mode & 07777, ss.st_mode & 0700, "%s: mode %o, expected %o", sub,
                     (unsigned) (ds.st_mode & 07777), (unsigned) (ss.st_mode & 0700));
        if (S_ISREG(ss.st_mode))
        {
            compare_content(sp, dp);
            c->files++;
            c->bytes += (uint64_t) ss.st_size;
        }
        else if (S_ISDIR(ss.st_mode))
        {
            c->dirs++;
            compare_tree(src, dst, sub, dir_mtimes, c);
        }
        else
            cr_assert_fail("%s: unexpected type", sp);
    }
    closedir(d);
    cr_assert_eq(count_entries(dd), n, "%s has entries that %s has not", dd, sd);
}

/*
 * The test tree: nested directories, empty files, a 10 MiB file, 512 and 513
 * bytes, symbolic links (to a file, a directory, an absolute and a dangling
 * target, a tablespace-like one), names of 99 and 100 characters, a name that
 * needs the ustar prefix (152 + 100), modes that must be cut to & 0700, a
 * read-only directory with a file in it, fixed mtimes (some with
 * nanoseconds).  very_long adds a path beyond ustar (for gnu/pax archives).
 */
static void
make_tree(bool big, bool very_long)
{
    char        src[PATH_MAX];
    char        p[PATH_MAX];
    char        a99[100];
    char        b50[51];
    char        c100[101];
    char        n99[100];
    char        l200[201];
    time_t      t0 = 1600000000;

    memset(a99, 'A', 99);
    a99[99] = '\0';
    memset(b50, 'B', 50);
    b50[50] = '\0';
    memset(c100, 'C', 100);
    c100[100] = '\0';
    memset(n99, 'n', 99);
    n99[99] = '\0';
    memset(l200, 'L', 200);
    l200[200] = '\0';

    pfmt(src, sizeof(src), "%s/src", scratch);
    cr_assert_eq(mkdir(src, 0750), 0);
    run("mkdir -p '%s/a/b/c/d' '%s/emptydir' '%s/pg_tblspc' '%s/%s/%s'", src, src, src, src,
        a99, b50);
    write_file(spath("src/empty"), 0, 1, 0600);
    write_file(spath("src/a/empty2"), 0, 2, 0640);
    write_file(spath("src/f512"), 512, 3, 0600);
    write_file(spath("src/f513"), 513, 4, 0644);
    write_file(spath("src/f511"), 511, 5, 0600);
    write_file(spath("src/a/b/c/d/deep"), 1000, 6, 0600);
    write_file(spath("src/exec"), 77, 7, 0755);
    write_file(spath("src/readonly"), 78, 8, 0444);
    if (geteuid() == 0)
        write_file(spath("src/noperm"), 79, 9, 0000);   /* only root can archive it */
    if (big)
        write_file(spath("src/a/big"), BIG_SIZE, 10, 0600);
    write_file(spath("src/%s", n99), 99, 11, 0600);
    memset(n99, 'm', 99);
    snprintf(p, sizeof(p), "src/%sm", n99);     /* 100 characters */
    write_file(spath("%s", p), 100, 12, 0600);
    write_file(spath("src/%s/%s/%s", a99, b50, c100), 4097, 13, 0600);
    cr_assert_eq(symlink("f512", spath("src/link_f")), 0);
    cr_assert_eq(symlink("a/b", spath("src/link_dir")), 0);
    cr_assert_eq(symlink("/nonexistent/ws_tar/target", spath("src/dangling")), 0);
    cr_assert_eq(symlink("/tmp", spath("src/abs")), 0);
    cr_assert_eq(symlink("/srv/tablespaces/ts1", spath("src/pg_tblspc/16385")), 0);
    cr_assert_eq(mkdir(spath("src/ro_dir"), 0700), 0);
    write_file(spath("src/ro_dir/inside"), 10, 14, 0600);
    if (very_long)
    {
        run("mkdir -p '%s/%s/%s'", src, l200, l200);
        write_file(spath("src/%s/%s/%s", l200, l200, l200), 300, 15, 0600);
        cr_assert_eq(symlink(spath("src/%s/%s/%s", l200, l200, l200),
                             spath("src/%s/longlink", l200)), 0);
    }
    /* mtimes last, deepest first (creating entries changes a directory's) */
    run("cd '%s' && find . -mindepth 1 -depth -print0 | xargs -0 touch -h -d @%lld", src,
        (long long) t0);
    set_mtime(spath("src/f513"), t0 + 513, 123456789);
    set_mtime(spath("src/a/b"), t0 + 42, 0);
    set_mtime(spath("src/link_f"), t0 + 7, 0);
    cr_assert_eq(chmod(spath("src/ro_dir"), 0500), 0);
    cr_assert_eq(chmod(spath("src/a/b"), 0750), 0);
}

static bool
have_gnu_tar(void)
{
    return system("tar --version 2>/dev/null | grep -q 'GNU tar'") == 0;
}

/* ---- round trips -------------------------------------------------------------------- */

struct rt_case
{
    char        format[8];      /* tar --format= (no pointers: parameters cross an exec) */
    uint64_t    seed;           /* feed(): 0 whole, else random pieces */
    bool        fsync;
};

ParameterizedTestParameters(tar, roundtrip)
{
    static struct rt_case cases[] = {
        {"ustar", 0, false},
        {"ustar", 7, true},
        {"ustar", 12345, false},
        {"gnu", 99, false},
        {"pax", 4242, false},
    };

    return cr_make_param_array(struct rt_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct rt_case *c, tar, roundtrip)
{
    struct ws_err err = WS_ERR_INIT;
    struct tar_extract_stats st;
    struct tar_extract_opts o = {.fsync = c->fsync, .symlinks = TAR_SYMLINKS_ANY};
    struct tree_count tc = {0};
    bool        very_long = strcmp(c->format, "ustar") != 0;

    if (!have_gnu_tar())
        cr_skip_test("GNU tar is not installed");
    make_tree(true, very_long);
    run("tar --format=%s -C '%s' -cf '%s' .", c->format, spath("src"), spath("a.tar"));

    cr_assert_eq(extract_file(spath("a.tar"), target, &o, c->seed, &err, &st), 0,
                 "%s: %s (%s)", c->format, err.msg, err.detail);
    compare_tree(spath("src"), target, "", true, &tc);
    cr_expect_eq(st.files, tc.files, "files %llu, tree %llu", (unsigned long long) st.files,
                 (unsigned long long) tc.files);
    cr_expect_eq(st.dirs, tc.dirs, "dirs %llu, tree %llu", (unsigned long long) st.dirs,
                 (unsigned long long) tc.dirs);
    cr_expect_eq(st.symlinks, tc.symlinks);
    cr_expect_eq(st.bytes, tc.bytes);
    cr_expect_geq(st.bytes, BIG_SIZE);
    assert_nothing_outside();
}

/* Names exactly filling the name field (no NUL), prefix + name, 1-byte pieces. */
Test(tar, name_field_limits_byte_by_byte)
{
    struct ws_err err = WS_ERR_INIT;
    struct tar_extract_stats st;
    struct tree_count tc = {0};
    unsigned char *data;
    size_t      len;
    bool        full_name = false;
    bool        prefixed = false;

    default_symlinks = TAR_SYMLINKS_ANY;    /* general symbolic links */
    if (!have_gnu_tar())
        cr_skip_test("GNU tar is not installed");
    make_tree(false, false);
    /* top-level names without "./", so 99 and 100 characters sit in the name field */
    run("cd '%s' && tar --format=ustar -cf '%s' *", spath("src"), spath("a.tar"));
    data = slurp(spath("a.tar"), &len);
    for (size_t off = 0; off + 512 <= len && data[off] != 0;)
    {
        uint64_t    size = strtoull((const char *) data + off + 124, NULL, 8);

        if (data[off + 156] == '0' && memchr(data + off, 0, 100) == NULL)
            full_name = true;
        if (memcmp(data + off + 257, "ustar", 6) == 0 && data[off + 345] != 0)
            prefixed = true;
        off += 512 + (size + 511) / 512 * 512;
    }
    cr_assert(full_name, "no header with a 100-character name");
    cr_assert(prefixed, "no header using the ustar prefix");
    cr_assert_eq(extract_mem(data, len, target, NULL, 1, &err, &st), 0, "%s", err.msg);
    free(data);
    compare_tree(spath("src"), target, "", true, &tc);
    cr_expect_eq(st.files, tc.files);
    cr_expect_eq(st.symlinks, tc.symlinks);
    cr_expect_eq(st.bytes, tc.bytes);
    assert_nothing_outside();
}

/* Random piece sizes give the same tree as one piece, for several seeds. */
Test(tar, random_pieces_same_result)
{
    struct ws_err err = WS_ERR_INIT;
    unsigned char *data;
    size_t      len;

    default_symlinks = TAR_SYMLINKS_ANY;    /* general symbolic links */
    if (!have_gnu_tar())
        cr_skip_test("GNU tar is not installed");
    make_tree(false, true);
    run("tar --format=pax -C '%s' -cf '%s' .", spath("src"), spath("a.tar"));
    data = slurp(spath("a.tar"), &len);
    for (uint64_t seed = 2; seed < 12; seed++)
    {
        struct tree_count tc = {0};
        char        dir[PATH_MAX];

        snprintf(dir, sizeof(dir), "%s/run%llu", target, (unsigned long long) seed);
        cr_assert_eq(mkdir(dir, 0700), 0);
        cr_assert_eq(extract_mem(data, len, dir, NULL, seed, &err, NULL), 0, "seed %llu: %s",
                     (unsigned long long) seed, err.msg);
        compare_tree(spath("src"), dir, "", true, &tc);
    }
    free(data);
}

/* ---- a real PostgreSQL base backup ------------------------------------------------ */

static const char *
pg_run_as(void)
{
    static char prefix[64];

    if (pg_user[0] == '\0')
        return "";
    snprintf(prefix, sizeof(prefix), "runuser -u %s -- ", pg_user);
    return prefix;
}

Test(tar, postgres_base_backup)
{
    struct passwd *pw = NULL;
    char        pg[PATH_MAX];
    DIR        *d;
    struct dirent *e;
    int         ntars = 0;

    if (access(PG_BIN "/initdb", X_OK) != 0 || access(PG_BIN "/pg_ctl", X_OK) != 0 ||
        access(PG_BIN "/pg_basebackup", X_OK) != 0 || access(PG_BIN "/psql", X_OK) != 0)
        cr_skip_test(PG_BIN "/initdb, pg_ctl, pg_basebackup or psql is not installed");
    if (!have_gnu_tar())
        cr_skip_test("GNU tar is not installed");
    pg_user[0] = '\0';
    if (geteuid() == 0)
    {
        /* initdb refuses to run as root */
        if ((pw = getpwnam("pgtest")) == NULL && (pw = getpwnam("postgres")) == NULL)
            cr_skip_test("running as root and neither user pgtest nor postgres exists");
        snprintf(pg_user, sizeof(pg_user), "%s", pw->pw_name);
    }
    snprintf(pg, sizeof(pg), "%s/pg", scratch);
    cr_assert_eq(mkdir(pg, 0700), 0);
    cr_assert_eq(mkdir(spath("pg/ts"), 0700), 0);
    if (pw != NULL)
    {
        cr_assert_eq(chmod(scratch, 0711), 0);
        cr_assert_eq(chown(pg, pw->pw_uid, pw->pw_gid), 0);
        cr_assert_eq(chown(spath("pg/ts"), pw->pw_uid, pw->pw_gid), 0);
    }
    run("cd '%s' && timeout 120 %s" PG_BIN "/initdb -D '%s/data' -U postgres --auth=trust "
        "--no-sync -E UTF8 --locale=C >'%s/initdb.log' 2>&1", pg, pg_run_as(), pg, pg);
    pfmt(pg_data, sizeof(pg_data), "%s/data", pg);
    run("cd '%s' && %s" PG_BIN "/pg_ctl -D '%s' -l '%s/server.log' -w -t 60 "
        "-o \"-c listen_addresses='' -c unix_socket_directories='%s' -c fsync=off\" start "
        ">/dev/null", pg, pg_run_as(), pg_data, pg, pg);
    run("timeout 120 " PG_BIN "/psql -X -q -h '%s' -U postgres -d postgres -v ON_ERROR_STOP=1 "
        "-c \"CREATE TABLESPACE ts LOCATION '%s/ts'\" "
        "-c 'CREATE TABLE t1 AS SELECT g, md5(g::text) FROM generate_series(1, 20000) g' "
        "-c 'CREATE TABLE t2 TABLESPACE ts AS SELECT g FROM generate_series(1, 5000) g' "
        ">'%s/psql.log' 2>&1", pg, pg, pg);
    run("timeout 120 " PG_BIN "/pg_basebackup -h '%s' -U postgres -Ft -X none -c fast -D '%s' "
        ">'%s/basebackup.log' 2>&1", pg, spath("out"), pg);
    run("cd '%s' && %s" PG_BIN "/pg_ctl -D '%s' -m fast -w stop >/dev/null", pg, pg_run_as(),
        pg_data);
    pg_data[0] = '\0';

    d = opendir(spath("out"));
    cr_assert_not_null(d);
    while ((e = readdir(d)) != NULL)
    {
        struct ws_err err = WS_ERR_INIT;
        struct tar_extract_stats st;
        struct tree_count tc = {0};
        size_t      nl = strlen(e->d_name);
        char        mine[PATH_MAX];
        char        ref[PATH_MAX];

        if (nl < 5 || strcmp(e->d_name + nl - 4, ".tar") != 0)
            continue;
        ntars++;
        snprintf(mine, sizeof(mine), "%s/%.*s", target, (int) (nl - 4), e->d_name);
        snprintf(ref, sizeof(ref), "%s/ref-%.*s", scratch, (int) (nl - 4), e->d_name);
        cr_assert_eq(mkdir(mine, 0700), 0);
        cr_assert_eq(mkdir(ref, 0700), 0);
        run("tar -xf '%s/%s' -C '%s'", spath("out"), e->d_name, ref);
        cr_assert_eq(extract_file(spath("out/%s", e->d_name), mine, NULL, 3, &err, &st), 0,
                     "%s: %s", e->d_name, err.msg);
        run("diff -r --no-dereference '%s' '%s'", ref, mine);
        /* not directory mtimes: GNU tar sets them when it leaves a directory, and
         * global/pg_control, sent last, then changes global's */
        compare_tree(ref, mine, "", false, &tc);
        cr_expect_eq(st.files, tc.files, "%s", e->d_name);
        cr_expect_eq(st.dirs, tc.dirs, "%s", e->d_name);
        cr_expect_eq(st.symlinks, tc.symlinks, "%s", e->d_name);
        cr_expect_eq(st.bytes, tc.bytes, "%s", e->d_name);
        if (strcmp(e->d_name, "base.tar") == 0)
        {
            cr_expect_gt(st.files, 500, "base.tar has %llu files",
                         (unsigned long long) st.files);
            cr_expect(exists(spath("t/base/global/pg_control")));
            cr_expect(exists(spath("t/base/backup_label")));
        }
    }
    closedir(d);
    cr_assert_eq(ntars, 2, "expected base.tar and one tablespace tar, found %d", ntars);
    /* the data directory's own modes: PostgreSQL refuses to start otherwise */
    {
        struct stat st;

        cr_assert_eq(stat(spath("t/base/global"), &st), 0);
        cr_expect_eq(st.st_mode & 07777, 0700);
        cr_assert_eq(stat(spath("t/base/PG_VERSION"), &st), 0);
        cr_expect_eq(st.st_mode & 07777, 0600);
    }
}

/* ---- hand-built archives --------------------------------------------------------------- */

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

/* print_tar_number() from PostgreSQL's src/port/tar.c */
static void
put_num(unsigned char *s, int len, uint64_t val)
{
    if (val < (((uint64_t) 1) << ((len - 1) * 3)))
    {
        s[--len] = ' ';
        while (len)
        {
            s[--len] = (unsigned char) ((val & 7) + '0');
            val >>= 3;
        }
    }
    else
    {
        s[0] = 0x80;
        while (len > 1)
        {
            s[--len] = (unsigned char) (val & 255);
            val >>= 8;
        }
    }
}

static void
ar_checksum(struct ar *a, size_t off)
{
    unsigned char *h = a->d + off;
    unsigned    sum = 0;

    memset(h + 148, ' ', 8);
    for (int i = 0; i < 512; i++)
        sum += h[i];
    put_num(h + 148, 8, sum);
}

/*
 * A header as tarCreateHeader() writes it (the caller adds PostgreSQL's
 * trailing slash to directory and symlink names).  Returns its offset.
 */
static size_t
ar_header(struct ar *a, const char *name, char type, uint64_t size, const char *link,
          unsigned mode)
{
    size_t      off = a->len;
    unsigned char *h;

    ar_grow(a, 512);
    h = a->d + off;
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
        memcpy(h + 157, link, strlen(link) > 100 ? 100 : strlen(link));
    memcpy(h + 257, "ustar", 6);
    memcpy(h + 263, "00", 2);
    strcpy((char *) h + 265, "postgres");
    strcpy((char *) h + 297, "postgres");
    put_num(h + 329, 8, 0);
    put_num(h + 337, 8, 0);
    a->len += 512;
    ar_checksum(a, off);
    return off;
}

static void
ar_data(struct ar *a, const void *data, size_t len)
{
    size_t      pad = (512 - len % 512) % 512;

    ar_grow(a, len + pad);
    memcpy(a->d + a->len, data, len);
    memset(a->d + a->len + len, 0, pad);
    a->len += len + pad;
}

static void
ar_file(struct ar *a, const char *name, const char *content)
{
    ar_header(a, name, '0', strlen(content), NULL, 0600);
    ar_data(a, content, strlen(content));
}

static void
ar_zeros(struct ar *a, size_t n)
{
    ar_grow(a, n);
    memset(a->d + a->len, 0, n);
    a->len += n;
}

static void
ar_end(struct ar *a)
{
    ar_zeros(a, 1024);
}

/* Extract a (in random pieces), expect failure with code and every substring. */
static void
expect_fail(struct ar *a, enum ws_code code, const char *sub1, const char *sub2)
{
    for (uint64_t seed = 0; seed < 3; seed++)
    {
        struct ws_err err = WS_ERR_INIT;
        char        dir[PATH_MAX];
        int         rc;

        snprintf(dir, sizeof(dir), "%s/run%llu", target, (unsigned long long) seed);
        cr_assert_eq(mkdir(dir, 0700), 0);
        rc = extract_mem(a->d, a->len, dir, NULL, seed, &err, NULL);
        cr_assert_eq(rc, -1, "extraction succeeded, expected %s", err_code_name(code));
        cr_assert_eq(err.code, code, "code %s, expected %s: %s", err_code_name(err.code),
                     err_code_name(code), err.msg);
        if (sub1)
            cr_assert(strstr(err.msg, sub1) != NULL, "\"%s\" not in \"%s\"", sub1, err.msg);
        if (sub2)
            cr_assert(strstr(err.msg, sub2) != NULL, "\"%s\" not in \"%s\"", sub2, err.msg);
    }
    assert_nothing_outside();
    free(a->d);
    a->d = NULL;
}

static void
expect_ok(struct ar *a, struct tar_extract_stats *st)
{
    struct ws_err err = WS_ERR_INIT;

    cr_assert_eq(extract_mem(a->d, a->len, target, NULL, 5, &err, st), 0, "%s (%s)", err.msg,
                 err.detail);
    assert_nothing_outside();
    free(a->d);
    a->d = NULL;
}

/* PostgreSQL's own shapes: trailing slashes on directories and the tablespace link. */
Test(tar, postgres_style_headers)
{
    struct ar   a = {0};
    struct tar_extract_stats st;
    char        lt[PATH_MAX] = "";
    struct stat sb;

    ar_file(&a, "backup_label", "START WAL LOCATION: 0/2000028\n");
    ar_header(&a, "global/", '5', 0, NULL, 0700);
    ar_file(&a, "global/pg_control", "control");
    ar_header(&a, "pg_tblspc/", '5', 0, NULL, 0700);
    ar_header(&a, "pg_tblspc/16385/", '2', 0, "/srv/ts/16385", 0777);
    ar_header(&a, "pg_wal/", '5', 0, NULL, 0700);
    ar_end(&a);
    expect_ok(&a, &st);
    cr_assert_eq(readlink(spath("t/pg_tblspc/16385"), lt, sizeof(lt) - 1), 13);
    cr_assert_str_eq(lt, "/srv/ts/16385");
    cr_assert_eq(stat(spath("t/pg_wal"), &sb), 0);
    cr_assert(S_ISDIR(sb.st_mode));
    cr_assert_eq(sb.st_mtim.tv_sec, 1700000000);
    cr_assert_eq(st.files, 2);
    cr_assert_eq(st.dirs, 3);
    cr_assert_eq(st.symlinks, 1);
    cr_assert_eq(st.bytes, 30 + 7);
}

/* Sizes in base-256 (print_tar_number for values beyond the octal field). */
Test(tar, base256_size)
{
    struct ar   a = {0};
    size_t      off = ar_header(&a, "b256", '0', 5, NULL, 0600);
    unsigned char *h = a.d + off;
    size_t      len;
    unsigned char *got;

    memset(h + 124, 0, 12);
    h[124] = 0x80;
    h[135] = 5;
    ar_checksum(&a, off);
    ar_data(&a, "hello", 5);
    ar_end(&a);
    expect_ok(&a, NULL);
    got = slurp(spath("t/b256"), &len);
    cr_assert_eq(len, 5);
    cr_assert(memcmp(got, "hello", 5) == 0);
    free(got);
}

/* pax 'x' (path, linkpath, size, mtime) and 'g', GNU 'L' and 'K', built by hand. */
Test(tar, extended_headers)
{
    struct ar   a = {0};
    char        longname[600];
    char        longlink[400];
    char        rec[2048];
    char        pax[4096] = "";
    char        lt[PATH_MAX] = "";
    struct stat sb;
    size_t      n;

    default_symlinks = TAR_SYMLINKS_ANY;    /* general symbolic links */
    /* GNU long name for a file, five components of ~110 */
    snprintf(longname, sizeof(longname), "%0110d/%0110d/%0110d/%0110d/file-with-long-name", 1, 2,
             3, 4);
    ar_header(&a, "././@LongLink", 'L', strlen(longname) + 1, NULL, 0644);
    ar_data(&a, longname, strlen(longname) + 1);
    ar_file(&a, "truncated-name-ignored", "gnu long name");
    /* GNU long link */
    memset(longlink, 'k', 300);
    longlink[0] = '/';
    longlink[300] = '\0';
    ar_header(&a, "././@LongLink", 'K', 301, NULL, 0644);
    ar_data(&a, longlink, 301);
    ar_header(&a, "gnulink", '2', 0, "short", 0777);
    /* pax global header: skipped */
    ar_header(&a, "pax_global_header", 'g', 19, NULL, 0644);
    ar_data(&a, "19 comment=ignored\n", 19);
    /* pax: path, mtime with fraction, size overriding the header's, an unknown key */
    snprintf(longname, sizeof(longname), "%0120d/%0120d/pax-file", 5, 6);
    snprintf(rec, sizeof(rec), "path=%s\n", longname);
    n = strlen(rec) + 4;        /* "NNN " */
    snprintf(pax, sizeof(pax), "%zu %s", n, rec);
    cr_assert_eq(strlen(pax), n);
    strcat(pax, "30 mtime=1650000000.123456789\n");
    strcat(pax, "11 size=11\n");
    strcat(pax, "22 SCHILY.foo=bar baz\n");
    ar_header(&a, "PaxHeaders/x", 'x', strlen(pax), NULL, 0644);
    ar_data(&a, pax, strlen(pax));
    ar_header(&a, "short", '0', 99, NULL, 0640);  /* size 99 overridden by pax: 11 */
    ar_data(&a, "pax content", 11);
    /* pax linkpath for a symlink */
    strcpy(pax, "26 linkpath=/a/b/c/target\n");
    ar_header(&a, "PaxHeaders/y", 'x', strlen(pax), NULL, 0644);
    ar_data(&a, pax, strlen(pax));
    ar_header(&a, "paxlink", '2', 0, "ignored", 0777);
    ar_end(&a);
    expect_ok(&a, NULL);

    snprintf(longname, sizeof(longname), "t/%0110d/%0110d/%0110d/%0110d/file-with-long-name",
             1, 2, 3, 4);
    cr_assert_eq(stat(spath("%s", longname), &sb), 0, "%s", longname);
    cr_assert_eq(sb.st_size, 13);
    cr_assert(!exists(spath("t/truncated-name-ignored")));
    cr_assert_eq(readlink(spath("t/gnulink"), lt, sizeof(lt) - 1), 300);
    cr_assert_str_eq(lt, longlink);
    snprintf(longname, sizeof(longname), "t/%0120d/%0120d/pax-file", 5, 6);
    cr_assert_eq(stat(spath("%s", longname), &sb), 0, "%s", longname);
    cr_assert_eq(sb.st_size, 11);
    cr_assert_eq(sb.st_mtim.tv_sec, 1650000000);
    cr_assert_eq(sb.st_mode & 07777, 0600);
    cr_assert(!exists(spath("t/short")));
    memset(lt, 0, sizeof(lt));
    cr_assert_gt(readlink(spath("t/paxlink"), lt, sizeof(lt) - 1), 0);
    cr_assert_str_eq(lt, "/a/b/c/target");
}

Test(tar, zero_padding_after_end_accepted)
{
    struct ar   a = {0};

    ar_file(&a, "f", "x");
    ar_end(&a);
    ar_zeros(&a, 10240 - a.len % 10240);
    expect_ok(&a, NULL);
    cr_assert(exists(spath("t/f")));
}

Test(tar, data_after_end_refused)
{
    struct ar   a = {0};

    ar_file(&a, "f", "x");
    ar_end(&a);
    ar_file(&a, "g", "y");
    expect_fail(&a, WS_ECORRUPT, "after the end", "offset 2048");
}

Test(tar, lone_zero_block_refused)
{
    struct ar   a = {0};

    ar_file(&a, "f", "x");
    ar_zeros(&a, 512);
    ar_file(&a, "g", "y");
    ar_end(&a);
    expect_fail(&a, WS_ECORRUPT, "single zero block", "\"g\"");
}

/* ---- tablespace remapping ------------------------------------------------------------ */

struct map_arg
{
    int         calls;
    int         ret;
    char        path[PATH_MAX];
    char        target[PATH_MAX];
};

static int
map_cb(const char *path, const char *tgt, char *out, size_t outlen, void *arg)
{
    struct map_arg *m = arg;

    m->calls++;
    snprintf(m->path, sizeof(m->path), "%s", path);
    snprintf(m->target, sizeof(m->target), "%s", tgt);
    if (m->ret == 0)
        snprintf(out, outlen, "/new/place/%s", path + strlen("pg_tblspc/"));
    return m->ret;
}

Test(tar, tablespace_remap)
{
    struct ws_err err = WS_ERR_INIT;
    struct map_arg m = {0};
    struct tar_extract_opts o = {.map_symlink = map_cb, .map_arg = &m,
        .symlinks = TAR_SYMLINKS_ANY};
    char        lt[PATH_MAX] = "";

    if (!have_gnu_tar())
        cr_skip_test("GNU tar is not installed");
    cr_assert_eq(mkdir(spath("src"), 0700), 0);
    cr_assert_eq(mkdir(spath("src/pg_tblspc"), 0700), 0);
    cr_assert_eq(symlink("/old/place/16385", spath("src/pg_tblspc/16385")), 0);
    cr_assert_eq(symlink("/old/place/x", spath("src/pg_tblspc/notanoid")), 0);
    cr_assert_eq(symlink("/old/place/y", spath("src/other")), 0);
    run("tar --format=ustar -C '%s' -cf '%s' .", spath("src"), spath("a.tar"));

    cr_assert_eq(extract_file(spath("a.tar"), target, &o, 0, &err, NULL), 0, "%s", err.msg);
    cr_assert_eq(m.calls, 1, "called %d times (only pg_tblspc/<oid> is a tablespace)", m.calls);
    cr_assert_str_eq(m.path, "pg_tblspc/16385");
    cr_assert_str_eq(m.target, "/old/place/16385");
    cr_assert_gt(readlink(spath("t/pg_tblspc/16385"), lt, sizeof(lt) - 1), 0);
    cr_assert_str_eq(lt, "/new/place/16385");
    memset(lt, 0, sizeof(lt));
    cr_assert_gt(readlink(spath("t/pg_tblspc/notanoid"), lt, sizeof(lt) - 1), 0);
    cr_assert_str_eq(lt, "/old/place/x");

    /* 1: keep the original */
    memset(&m, 0, sizeof(m));
    m.ret = 1;
    cr_assert_eq(mkdir(spath("t2"), 0700), 0);
    cr_assert_eq(extract_file(spath("a.tar"), spath("t2"), &o, 0, &err, NULL), 0, "%s",
                 err.msg);
    memset(lt, 0, sizeof(lt));
    cr_assert_gt(readlink(spath("t2/pg_tblspc/16385"), lt, sizeof(lt) - 1), 0);
    cr_assert_str_eq(lt, "/old/place/16385");

    /* anything else: the mapping failed */
    memset(&m, 0, sizeof(m));
    m.ret = -1;
    cr_assert_eq(mkdir(spath("t3"), 0700), 0);
    cr_assert_eq(extract_file(spath("a.tar"), spath("t3"), &o, 0, &err, NULL), -1);
    cr_assert_eq(err.code, WS_ECONFIG, "%s", err_code_name(err.code));
    cr_assert(strstr(err.msg, "pg_tblspc/16385") != NULL, "%s", err.msg);
    cr_assert(!exists(spath("t3/pg_tblspc/16385")));
}

/* ---- malicious archives ----------------------------------------------------------------- */

Test(tar, absolute_path_refused)
{
    struct ar   a = {0};
    char        name[64];

    snprintf(name, sizeof(name), "/tmp/ws_tar_escape_%d", (int) getpid());
    ar_file(&a, name, "escaped");
    ar_end(&a);
    expect_fail(&a, WS_ECORRUPT, "absolute path", name);
}

Test(tar, dotdot_refused)
{
    struct ar   a = {0};

    ar_file(&a, "../x", "escaped");
    ar_end(&a);
    expect_fail(&a, WS_ECORRUPT, "\"..\"", "\"../x\"");
    cr_assert(!exists(spath("x")));
    cr_assert(!exists(spath("t/x")));
}

Test(tar, nested_dotdot_refused)
{
    struct ar   a = {0};

    ar_header(&a, "a/", '5', 0, NULL, 0700);
    ar_file(&a, "a/../../x", "escaped");
    ar_end(&a);
    expect_fail(&a, WS_ECORRUPT, "\"..\"", "a/../../x");
    cr_assert(!exists(spath("x")));
}

Test(tar, dotdot_symlink_name_refused)
{
    struct ar   a = {0};

    ar_header(&a, "../evil", '2', 0, "/tmp", 0777);
    ar_end(&a);
    expect_fail(&a, WS_ECORRUPT, "\"..\"", "../evil");
}

/* A symbolic link to /tmp, then a file below it: refused, nothing in /tmp. */
Test(tar, file_through_symlink_refused)
{
    struct ar   a = {0};
    char        name[64];
    char        lt[PATH_MAX] = "";

    default_symlinks = TAR_SYMLINKS_ANY;    /* general symbolic links */
    snprintf(name, sizeof(name), "evil/ws_tar_escape_%d", (int) getpid());
    ar_header(&a, "evil", '2', 0, "/tmp", 0777);
    ar_file(&a, name, "escaped");
    ar_end(&a);
    expect_fail(&a, WS_ECORRUPT, "\"evil\" is a symbolic link", name);
    /* the link itself was extracted (harmless), nothing went through it */
    cr_assert_gt(readlink(spath("t/run0/evil"), lt, sizeof(lt) - 1), 0);
}

/* The same through a relative link to the parent of target_dir, deeper down. */
Test(tar, nested_through_relative_symlink_refused)
{
    struct ar   a = {0};

    default_symlinks = TAR_SYMLINKS_ANY;    /* general symbolic links */
    ar_header(&a, "d/", '5', 0, NULL, 0700);
    ar_header(&a, "d/up", '2', 0, "../../../outside", 0777);
    ar_file(&a, "d/up/sub/x", "escaped");
    ar_end(&a);
    expect_fail(&a, WS_ECORRUPT, "\"d/up\" is a symbolic link", "d/up/sub/x");
}

Test(tar, directory_over_symlink_refused)
{
    struct ar   a = {0};

    default_symlinks = TAR_SYMLINKS_ANY;    /* general symbolic links */
    ar_header(&a, "evil", '2', 0, "../../outside", 0777);
    ar_header(&a, "evil/", '5', 0, NULL, 0700);
    ar_file(&a, "evil/x", "escaped");
    ar_end(&a);
    expect_fail(&a, WS_EIO, "could not create directory", "File exists");
}

Test(tar, symlink_then_file_of_same_name_refused)
{
    struct ar   a = {0};

    default_symlinks = TAR_SYMLINKS_ANY;    /* general symbolic links */
    ar_header(&a, "evil", '2', 0, "../../outside/x", 0777);
    ar_file(&a, "evil", "escaped");
    ar_end(&a);
    expect_fail(&a, WS_EIO, "/evil\"", "File exists");
}

/*
 * By default only pg_tblspc/<oid> may be a symbolic link, the only kind
 * PostgreSQL's BASE_BACKUP sends: any other is refused, naming the member,
 * before anything is created.  A link planted as recovery.signal or
 * postgresql.auto.conf would otherwise lead walship-recover to write or read
 * through it.
 */
struct link_case
{
    char        name[64];
    char        target[64];
};

ParameterizedTestParameters(tar, symlink_outside_tblspc_refused)
{
    static struct link_case cases[] = {
        {"evil", "/tmp"},
        {"recovery.signal", "../../outside/victim"},
        {"postgresql.auto.conf", "/etc/passwd"},
        {"global/pg_control", "../../../outside/x"},
        {"pg_tblspc/", "/srv/ts"},
        {"pg_tblspc/notanoid/", "/srv/ts"},
        {"pg_tblspc/16385/sub", "/srv/ts"},
        {"pg_tblspc16385", "/srv/ts"},
    };

    return cr_make_param_array(struct link_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct link_case *c, tar, symlink_outside_tblspc_refused)
{
    struct ar   a = {0};

    ar_header(&a, c->name, '2', 0, c->target, 0777);
    ar_end(&a);
    expect_fail(&a, WS_ECORRUPT, c->name, "outside pg_tblspc/");
    cr_assert_eq(count_entries(spath("t/run0")), 0, "%s: something was created", c->name);
}

/* The message says why: PostgreSQL sends no other link. */
Test(tar, symlink_refusal_explained)
{
    struct ar   a = {0};
    struct ws_err err = WS_ERR_INIT;

    ar_file(&a, "PG_VERSION", "15\n");
    ar_header(&a, "recovery.signal", '2', 0, "../outside/victim", 0777);
    ar_end(&a);
    cr_assert_eq(extract_mem(a.d, a.len, target, NULL, 0, &err, NULL), -1);
    cr_assert_eq(err.code, WS_ECORRUPT, "%s", err_code_name(err.code));
    cr_assert(strstr(err.msg, "\"recovery.signal\" at offset 1024") != NULL, "%s", err.msg);
    cr_assert(strstr(err.msg, "\"../outside/victim\"") != NULL, "%s", err.msg);
    cr_assert(strstr(err.detail, "pg_tblspc/<oid>") != NULL, "%s", err.detail);
    cr_assert(!exists(spath("t/recovery.signal")));
    assert_nothing_outside();
    free(a.d);
}

/* A tablespace archive (TAR_SYMLINKS_NONE) holds no link at all. */
Test(tar, tablespace_archive_refuses_every_symlink)
{
    struct ar   a = {0};
    struct ws_err err = WS_ERR_INIT;
    struct tar_extract_opts o = {.symlinks = TAR_SYMLINKS_NONE};

    ar_header(&a, "PG_15_202209061/", '5', 0, NULL, 0700);
    ar_header(&a, "pg_tblspc/16385/", '2', 0, "/srv/ts/16385", 0777);
    ar_end(&a);
    cr_assert_eq(extract_mem(a.d, a.len, target, &o, 0, &err, NULL), -1);
    cr_assert_eq(err.code, WS_ECORRUPT, "%s", err_code_name(err.code));
    cr_assert(strstr(err.msg, "pg_tblspc/16385/") != NULL, "%s", err.msg);
    cr_assert(strstr(err.detail, "tablespace archive") != NULL, "%s", err.detail);
    cr_assert(!exists(spath("t/pg_tblspc")));
    free(a.d);
}

/* The tablespace link is extracted, but nothing goes through it. */
Test(tar, nothing_through_the_tablespace_link)
{
    struct ar   a = {0};

    ar_header(&a, "pg_tblspc/", '5', 0, NULL, 0700);
    ar_header(&a, "pg_tblspc/16385/", '2', 0, "../../../outside", 0777);
    ar_file(&a, "pg_tblspc/16385/PG_15_202209061/x", "escaped");
    ar_end(&a);
    expect_fail(&a, WS_ECORRUPT, "\"pg_tblspc/16385\" is a symbolic link",
                "pg_tblspc/16385/PG_15_202209061/x");
}

Test(tar, file_under_file_refused)
{
    struct ar   a = {0};

    ar_file(&a, "f", "x");
    ar_file(&a, "f/g", "y");
    ar_end(&a);
    expect_fail(&a, WS_ECORRUPT, "\"f\" is not a directory", "f/g");
}

Test(tar, hard_link_refused)
{
    struct ar   a = {0};

    ar_file(&a, "PG_VERSION", "15\n");
    ar_header(&a, "hardlinked", '1', 0, "PG_VERSION", 0600);
    ar_end(&a);
    expect_fail(&a, WS_ECORRUPT, "hard link", "\"hardlinked\"");
    cr_assert(!exists(spath("t/run0/hardlinked")));
}

struct special
{
    char        type;
    char        what[24];
};

ParameterizedTestParameters(tar, special_files_refused)
{
    static struct special cases[] = {
        {'3', "character device"},
        {'4', "block device"},
        {'6', "FIFO"},
        {'S', "type 'S'"},
        {'V', "type 'V'"},
    };

    return cr_make_param_array(struct special, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct special *c, tar, special_files_refused)
{
    struct ar   a = {0};

    ar_header(&a, "special", c->type, 0, NULL, 0600);
    ar_end(&a);
    expect_fail(&a, WS_ECORRUPT, c->what, "\"special\"");
    cr_assert(!exists(spath("t/run0/special")));
}

Test(tar, bad_checksum)
{
    struct ar   a = {0};
    size_t      off;

    ar_file(&a, "ok", "fine");
    off = ar_header(&a, "damaged", '0', 3, NULL, 0600);
    ar_data(&a, "bad", 3);
    ar_end(&a);
    a.d[off + 10] ^= 0x01;     /* a bit flips in the name field */
    expect_fail(&a, WS_ECORRUPT, "offset 1024", "checksum");
    /* the members before it are extracted, the damaged one is not */
    cr_assert(exists(spath("t/run0/ok")));
    cr_assert_eq(count_entries(spath("t/run0")), 1);
}

Test(tar, bad_checksum_names_member)
{
    struct ar   a = {0};
    size_t      off = ar_header(&a, "damaged", '0', 3, NULL, 0600);

    ar_data(&a, "bad", 3);
    ar_end(&a);
    a.d[off + 124 + 10] = '7';  /* size field altered */
    expect_fail(&a, WS_ECORRUPT, "\"damaged\"", "offset 0");
}

Test(tar, malformed_number)
{
    struct ar   a = {0};
    size_t      off = ar_header(&a, "odd", '0', 3, NULL, 0600);

    a.d[off + 124 + 3] = '9';   /* not octal */
    ar_checksum(&a, off);
    ar_data(&a, "odd", 3);
    ar_end(&a);
    expect_fail(&a, WS_ECORRUPT, "malformed number", "\"odd\"");
}

Test(tar, malformed_pax)
{
    struct ar   a = {0};

    ar_header(&a, "PaxHeaders/x", 'x', 12, NULL, 0644);
    ar_data(&a, "99 path=abc\n", 12);
    ar_file(&a, "f", "x");
    ar_end(&a);
    expect_fail(&a, WS_ECORRUPT, "pax", "offset 0");
}

Test(tar, oversized_extended_header)
{
    struct ar   a = {0};

    ar_header(&a, "././@LongLink", 'L', 100000, NULL, 0644);
    ar_zeros(&a, 100352);
    ar_end(&a);
    expect_fail(&a, WS_ECORRUPT, "too large", "offset 0");
}

Test(tar, truncated_in_header)
{
    struct ar   a = {0};

    ar_file(&a, "first", "complete");
    ar_header(&a, "second", '0', 3, NULL, 0600);
    a.len -= 412;               /* 100 bytes of the second header */
    expect_fail(&a, WS_ECORRUPT, "truncated", "header at offset 1024");
}

Test(tar, truncated_in_file_data)
{
    struct ar   a = {0};
    char        data[2000];
    struct stat sb;

    memset(data, 'd', sizeof(data));
    ar_header(&a, "partial", '0', sizeof(data), NULL, 0600);
    ar_data(&a, data, sizeof(data));
    a.len = 512 + 1000;
    expect_fail(&a, WS_ECORRUPT, "\"partial\"", "1000 of 2000 bytes");
    /* the partial file stays (the caller decides what to remove) */
    cr_assert_eq(stat(spath("t/run0/partial"), &sb), 0);
    cr_assert_leq(sb.st_size, 1000);
    cr_assert_eq(stat(spath("t/run1/partial"), &sb), 0);
    cr_assert_leq(sb.st_size, 1000);
}

Test(tar, truncated_in_padding)
{
    struct ar   a = {0};

    ar_file(&a, "padded", "abc");
    a.len = 512 + 100;
    expect_fail(&a, WS_ECORRUPT, "truncated", "padding after member \"padded\"");
}

Test(tar, missing_end_blocks)
{
    struct ar   a = {0};

    ar_file(&a, "f", "x");
    expect_fail(&a, WS_ECORRUPT, "end-of-archive marker is missing", "0 of 2");
}

Test(tar, one_end_block_missing)
{
    struct ar   a = {0};

    ar_file(&a, "f", "x");
    ar_zeros(&a, 512);
    expect_fail(&a, WS_ECORRUPT, "end-of-archive marker is missing", "1 of 2");
}

Test(tar, empty_stream)
{
    struct ar   a = {0};

    ar_grow(&a, 1);
    expect_fail(&a, WS_ECORRUPT, "end-of-archive marker is missing", "offset 0");
}

Test(tar, extended_header_without_member)
{
    struct ar   a = {0};

    ar_header(&a, "././@LongLink", 'L', 5, NULL, 0644);
    ar_data(&a, "name", 5);
    ar_end(&a);
    expect_fail(&a, WS_ECORRUPT, "extended header", "offset 1024");
}

Test(tar, file_in_place_of_target_refused)
{
    struct ar   a = {0};

    ar_file(&a, "./", "x");
    ar_end(&a);
    expect_fail(&a, WS_ECORRUPT, "target directory", "\"./\"");
}

Test(tar, empty_name_refused)
{
    struct ar   a = {0};

    ar_file(&a, "", "x");
    ar_end(&a);
    expect_fail(&a, WS_ECORRUPT, "empty name", NULL);
}

/* The member exists in the target already: refused (O_EXCL), the file kept. */
Test(tar, existing_file_refused)
{
    struct ar   a = {0};
    struct ws_err err = WS_ERR_INIT;
    size_t      len;
    unsigned char *got;

    write_file(spath("t/PG_VERSION"), 5, 1, 0600);
    ar_file(&a, "PG_VERSION", "15\n");
    ar_end(&a);
    cr_assert_eq(extract_mem(a.d, a.len, target, NULL, 0, &err, NULL), -1);
    cr_assert_eq(err.code, WS_EIO, "%s: %s", err_code_name(err.code), err.msg);
    cr_assert(strstr(err.msg, "PG_VERSION") != NULL, "%s", err.msg);
    cr_assert(strstr(err.msg, "File exists") != NULL, "%s", err.msg);
    cr_assert_eq(err.sys_errno, EEXIST);
    got = slurp(spath("t/PG_VERSION"), &len);
    cr_assert_eq(len, 5, "the existing file was changed");
    free(got);
    free(a.d);
}

/* A symbolic link already in the target is not followed to create the file. */
Test(tar, existing_symlink_not_followed)
{
    struct ar   a = {0};
    struct ws_err err = WS_ERR_INIT;

    cr_assert_eq(symlink("../outside/victim", spath("t/victim")), 0);
    ar_file(&a, "victim", "escaped");
    ar_end(&a);
    cr_assert_eq(extract_mem(a.d, a.len, target, NULL, 0, &err, NULL), -1);
    cr_assert_eq(err.code, WS_EIO, "%s: %s", err_code_name(err.code), err.msg);
    cr_assert(strstr(err.msg, "victim") != NULL, "%s", err.msg);
    cr_assert_eq(count_entries(outside), 0);
    free(a.d);
}

/* An existing directory is entered; a directory member gives it its mode. */
Test(tar, existing_directory_entered)
{
    struct ar   a = {0};
    struct stat sb;

    cr_assert_eq(mkdir(spath("t/base"), 0755), 0);
    ar_header(&a, "base/", '5', 0, NULL, 0700);
    ar_file(&a, "base/1", "x");
    ar_end(&a);
    expect_ok(&a, NULL);
    cr_assert_eq(stat(spath("t/base"), &sb), 0);
    cr_assert_eq(sb.st_mode & 07777, 0700);
    cr_assert(exists(spath("t/base/1")));
}

/* A directory with no write permission in the archive is still filled. */
Test(tar, readonly_directory_filled_then_restricted)
{
    struct ar   a = {0};
    struct stat sb;

    ar_header(&a, "ro/", '5', 0, NULL, 0555);
    ar_file(&a, "ro/f", "x");
    ar_header(&a, "ro/sub/", '5', 0, NULL, 0500);
    ar_file(&a, "ro/sub/g", "y");
    ar_end(&a);
    expect_ok(&a, NULL);
    cr_assert_eq(stat(spath("t/ro"), &sb), 0);
    cr_assert_eq(sb.st_mode & 07777, 0500);
    cr_assert_eq(sb.st_mtim.tv_sec, 1700000000);
    cr_assert_eq(stat(spath("t/ro/sub"), &sb), 0);
    cr_assert_eq(sb.st_mode & 07777, 0500);
    cr_assert(exists(spath("t/ro/sub/g")));
}

/*
 * Restrictive modes as an ordinary user (root would not notice): read-only
 * directories are filled before they get their mode, and a directory named
 * late in the archive (it existed before) is restricted after its children.
 */
Test(tar, restrictive_modes_unprivileged)
{
    struct ar   a = {0};
    struct stat sb;

    if (geteuid() == 0)
    {
        struct passwd *pw = getpwnam("pgtest");

        if (pw == NULL)
            pw = getpwnam("postgres");
        if (pw == NULL)
            cr_skip_test("running as root and neither user pgtest nor postgres exists");
        run("chown -R %u:%u '%s'", (unsigned) pw->pw_uid, (unsigned) pw->pw_gid, scratch);
        cr_assert_eq(setgid(pw->pw_gid), 0);
        cr_assert_eq(setuid(pw->pw_uid), 0);
    }
    cr_assert_eq(mkdir(spath("t/base"), 0755), 0);
    ar_header(&a, "ro/", '5', 0, NULL, 0555);
    ar_file(&a, "ro/f", "x");
    ar_header(&a, "ro/sub/", '5', 0, NULL, 0500);
    ar_file(&a, "ro/sub/g", "y");
    ar_header(&a, "base/1/", '5', 0, NULL, 0700);
    ar_file(&a, "base/1/f", "z");
    ar_header(&a, "base/", '5', 0, NULL, 0100);
    ar_end(&a);
    expect_ok(&a, NULL);
    cr_assert_eq(stat(spath("t/ro/sub"), &sb), 0);
    cr_assert_eq(sb.st_mode & 07777, 0500);
    cr_assert_eq(stat(spath("t/base/1"), &sb), 0);
    cr_assert_eq(sb.st_mode & 07777, 0700);
    cr_assert_eq(sb.st_mtim.tv_sec, 1700000000);
    cr_assert_eq(stat(spath("t/base"), &sb), 0);
    cr_assert_eq(sb.st_mode & 07777, 0100);
    cr_assert(exists(spath("t/base/1/f")));
}

/* Implicit parents are created 0700 whatever the umask, and counted. */
Test(tar, implicit_parents)
{
    struct ar   a = {0};
    struct tar_extract_stats st;
    struct stat sb;

    umask(0277);
    ar_file(&a, "x/y/z/f", "deep");
    ar_end(&a);
    expect_ok(&a, &st);
    cr_assert_eq(st.dirs, 3);
    cr_assert_eq(stat(spath("t/x/y"), &sb), 0);
    cr_assert_eq(sb.st_mode & 07777, 0700);
    cr_assert_eq(stat(spath("t/x/y/z/f"), &sb), 0);
    cr_assert_eq(sb.st_mode & 07777, 0600);
}

/* ---- lifecycle ------------------------------------------------------------------------ */

Test(tar, target_must_exist)
{
    struct ws_err err = WS_ERR_INIT;
    struct tar_extract_opts o = {.target_dir = spath("missing")};

    cr_assert_null(tar_extract_new(&o, &err));
    cr_assert_eq(err.code, WS_ECONFIG, "%s", err_code_name(err.code));
    cr_assert(strstr(err.msg, "missing") != NULL, "%s", err.msg);
    o.target_dir = NULL;
    cr_assert_null(tar_extract_new(&o, &err));
    cr_assert_eq(err.code, WS_ECONFIG);
}

/* free() without finish closes everything and removes nothing. */
Test(tar, free_without_finish)
{
    struct ar   a = {0};
    struct ws_err err = WS_ERR_INIT;
    struct tar_extract_opts o = {.target_dir = target};
    struct filter *f;
    char        data[3000];
    int         fds = count_fds();

    memset(data, 'q', sizeof(data));
    ar_file(&a, "done", "complete");
    ar_header(&a, "dir/", '5', 0, NULL, 0700);
    ar_header(&a, "dir/half", '0', sizeof(data), NULL, 0600);
    ar_data(&a, data, sizeof(data));
    f = tar_extract_new(&o, &err);
    cr_assert_not_null(f);
    cr_assert_eq(filter_write(f, a.d, 512 * 4 + 1500, &err), 0, "%s", err.msg);
    cr_assert_gt(count_fds(), fds);
    filter_free(f);
    cr_assert_eq(count_fds(), fds, "file descriptors leaked");
    cr_assert(exists(spath("t/done")));
    cr_assert(exists(spath("t/dir/half")));
    free(a.d);
}

/* After a failure the filter refuses further use instead of resuming mid-stream. */
Test(tar, sticky_failure)
{
    struct ar   a = {0};
    struct ws_err err = WS_ERR_INIT;
    struct tar_extract_opts o = {.target_dir = target};
    struct filter *f;

    ar_file(&a, "../x", "y");
    ar_end(&a);
    f = tar_extract_new(&o, &err);
    cr_assert_not_null(f);
    cr_assert_eq(filter_write(f, a.d, a.len, &err), -1);
    cr_assert_eq(err.code, WS_ECORRUPT);
    cr_assert_eq(filter_write(f, a.d, 10, &err), -1);
    cr_assert_eq(filter_finish(f, &err), -1);
    filter_free(f);
    free(a.d);
}

/* The filesystem fills up: WS_ENOSPC naming the file. */
Test(tar, no_space)
{
    struct ar   a = {0};
    struct ws_err err = WS_ERR_INIT;
    char       *big = malloc(1 << 20);
    char        tiny[PATH_MAX];
    char        cmd[PATH_MAX + 128];

    if (geteuid() != 0)
        cr_skip_test("mounting a small tmpfs needs root");
    snprintf(tiny, sizeof(tiny), "%s/tiny", scratch);
    cr_assert_eq(mkdir(tiny, 0700), 0);
    snprintf(cmd, sizeof(cmd), "mount -t tmpfs -o size=256k,mode=0700 tmpfs '%s' 2>/dev/null",
             tiny);
    if (system(cmd) != 0)
        cr_skip_test("could not mount a tmpfs (mount -t tmpfs not permitted here)");
    snprintf(mounted, sizeof(mounted), "%s", tiny);
    cr_assert_not_null(big);
    memset(big, 'z', 1 << 20);
    ar_header(&a, "big", '0', 1 << 20, NULL, 0600);
    ar_data(&a, big, 1 << 20);
    ar_end(&a);
    free(big);
    cr_assert_eq(extract_mem(a.d, a.len, tiny, NULL, 9, &err, NULL), -1);
    cr_assert_eq(err.code, WS_ENOSPC, "%s: %s", err_code_name(err.code), err.msg);
    cr_assert(strstr(err.msg, "tiny/big") != NULL, "%s", err.msg);
    free(a.d);
}

/* Memory stays bounded: a 64 MiB member is written as it arrives. */
Test(tar, bounded_memory)
{
    struct ws_err err = WS_ERR_INIT;
    struct tar_extract_opts o = {.target_dir = target};
    struct tar_extract_stats st;
    struct filter *f;
    struct ar   a = {0};
    static unsigned char chunk[1 << 20];
    uint64_t    size = 64ull << 20;
    struct stat sb;

    fill(chunk, sizeof(chunk), 3);
    ar_header(&a, "large", '0', size, NULL, 0600);
    f = tar_extract_new(&o, &err);
    cr_assert_not_null(f);
    cr_assert_eq(filter_write(f, a.d, a.len, &err), 0);
    for (uint64_t done = 0; done < size; done += sizeof(chunk))
    {
        /* mid-way, the file on disk has everything given so far (beyond the buffer) */
        if (done == size / 2)
        {
            cr_assert_eq(stat(spath("t/large"), &sb), 0);
            cr_assert_geq((uint64_t) sb.st_size + TAR_WRITE_BUFFER, done);
        }
        cr_assert_eq(filter_write(f, chunk, sizeof(chunk), &err), 0, "%s", err.msg);
    }
    ar_zeros(&a, 1024);
    cr_assert_eq(filter_write(f, a.d + 512, 1024, &err), 0, "%s", err.msg);
    cr_assert_eq(filter_finish(f, &err), 0, "%s", err.msg);
    tar_extract_stats(f, &st);
    filter_free(f);
    cr_assert_eq(st.bytes, size);
    cr_assert_eq(stat(spath("t/large"), &sb), 0);
    cr_assert_eq((uint64_t) sb.st_size, size);
    free(a.d);
}
