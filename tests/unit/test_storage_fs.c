/*
 * test_storage_fs.c — the filesystem driver against the contract in
 * storage.h: round trips, ranges, not-found, listing, removal,
 * create-if-absent, abort, kill -9 at random moments, key validation,
 * open errors, EACCES and ENOSPC.
 *
 * Every test runs in its own forked process with its own scratch directory
 * (mkdtemp under /tmp), removed by .fini; a tmpfs mounted by the ENOSPC test
 * is unmounted there too.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "err.h"
#include "filter.h"
#include "storage.h"

static char scratch[64];
static char mounted[PATH_MAX];      /* tmpfs to unmount in teardown, "" if none */
static struct storage *st;

/* ---- helpers -------------------------------------------------------------- */

/* Deterministic, somewhat compressible bytes; different seeds differ early. */
static void
fill(unsigned char *buf, size_t len, uint64_t seed)
{
    uint64_t    x = seed * 6364136223846793005ULL + 1442695040888963407ULL;

    for (size_t i = 0; i < len; i++)
    {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        buf[i] = (i / 256) % 2 ? (unsigned char) (x >> 56) : (unsigned char) (i + seed);
    }
}

static const char *
spath(const char *rel)
{
    static char bufs[8][PATH_MAX];
    static int  next;
    char       *b = bufs[next++ % 8];

    snprintf(b, PATH_MAX, "%s/%s", scratch, rel);
    return b;
}

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void) sb;
    (void) flag;
    (void) ftw;
    return remove(path);
}

static int
chmod_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void) ftw;
    if (flag == FTW_D || flag == FTW_DNR)
        chmod(path, 0700);
    else if (S_ISREG(sb->st_mode))
        chmod(path, 0600);
    return 0;
}

static void
setup(void)
{
    strcpy(scratch, "/tmp/ws_test_storage_XXXXXX");
    cr_assert_not_null(mkdtemp(scratch), "mkdtemp: %s", strerror(errno));
    mounted[0] = '\0';
    st = NULL;
}

static void
teardown(void)
{
    storage_free(st);
    st = NULL;
    if (mounted[0] != '\0')
    {
        char        cmd[PATH_MAX + 32];

        snprintf(cmd, sizeof(cmd), "umount '%s' 2>/dev/null", mounted);
        if (system(cmd) != 0)
            fprintf(stderr, "warning: could not unmount %s\n", mounted);
        mounted[0] = '\0';
    }
    if (scratch[0] != '\0')
    {
        nftw(scratch, chmod_entry, 8, FTW_PHYS);
        nftw(scratch, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
        scratch[0] = '\0';
    }
}

TestSuite(storage_fs, .init = setup, .fini = teardown);

/* Open the scratch directory (or a subdirectory) as a repository. */
static struct storage *
open_repo(const char *dir)
{
    struct ws_err err = WS_ERR_INIT;
    struct storage *s = storage_open(dir, NULL, &err);

    cr_assert_not_null(s, "storage_open(%s): %s", dir, err.msg);
    return s;
}

/* Read a whole object with storage_get into a malloc'd buffer. */
static int
get_all(struct storage *s, const char *key, uint64_t off, uint64_t len, unsigned char **out,
        size_t *outlen, struct ws_err *err)
{
    struct filter *mem = filter_mem_new((size_t) 64 << 20);
    const unsigned char *d;
    int         rc;

    cr_assert_not_null(mem);
    rc = storage_get(s, key, off, len, mem, err);
    d = filter_mem_data(mem, outlen);
    *out = malloc(*outlen + 1);
    cr_assert_not_null(*out);
    if (*outlen)
        memcpy(*out, d, *outlen);
    filter_free(mem);
    return rc;
}

/* Stream `len` bytes into key in pieces of `piece` bytes, then finish. */
static int
put_stream(struct storage *s, const char *key, unsigned flags, const unsigned char *data,
           size_t len, size_t piece, struct ws_err *err)
{
    struct filter *sink = NULL;
    int         rc = -1;

    if (storage_put_open(s, key, flags, &sink, err) < 0)
        return -1;
    cr_assert_not_null(sink);
    for (size_t off = 0; off < len; off += piece)
        if (filter_write(sink, data + off, len - off < piece ? len - off : piece, err) < 0)
            goto out;
    if (filter_finish(sink, err) < 0)
        goto out;
    rc = 0;
out:
    filter_free(sink);
    return rc;
}

struct scan
{
    int         files;          /* anything that is not a directory */
    int         tmps;           /* names that look like temporary files */
    char        first[PATH_MAX];
};

static struct scan *scan_acc;

static int
scan_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    const char *base = path + ftw->base;

    (void) sb;
    if (flag == FTW_D || flag == FTW_DP || flag == FTW_DNR)
        return 0;
    if (scan_acc->files++ == 0)
        snprintf(scan_acc->first, sizeof(scan_acc->first), "%s", path);
    if (base[0] == '.' || strstr(base, ".tmp.") != NULL || strstr(base, "walship-tmp") != NULL)
        scan_acc->tmps++;
    return 0;
}

/* Every non-directory entry below dir, hidden ones included. */
static struct scan
scan_dir(const char *dir)
{
    struct scan s = {0, 0, ""};

    scan_acc = &s;
    cr_assert_eq(nftw(dir, scan_entry, 8, FTW_PHYS), 0, "nftw %s: %s", dir, strerror(errno));
    scan_acc = NULL;
    return s;
}

/* ---- list collection ----------------------------------------------------- */

struct listing
{
    int         n;
    char        keys[64][STORAGE_KEY_MAX];
    uint64_t    sizes[64];
    int         stop_after;     /* >0: fail in the callback after that many calls */
};

static int
collect(const char *key, const struct storage_info *info, void *arg, struct ws_err *err)
{
    struct listing *l = arg;

    cr_assert_lt(l->n, 64);
    snprintf(l->keys[l->n], STORAGE_KEY_MAX, "%s", key);
    l->sizes[l->n] = info->size;
    l->n++;
    if (l->stop_after > 0 && l->n >= l->stop_after)
        return err_set(err, WS_EIO, "callback stops here");
    return 0;
}

static int
cmpstr(const void *a, const void *b)
{
    return strcmp(a, b);
}

/* Sorted, comma-joined list of keys under prefix. */
static const char *
list_joined(struct storage *s, const char *prefix)
{
    static struct listing l;
    static char out[8192];
    struct ws_err err = WS_ERR_INIT;

    memset(&l, 0, sizeof(l));
    cr_assert_eq(storage_list(s, prefix, collect, &l, &err), 0, "list(%s): %s", prefix, err.msg);
    qsort(l.keys, (size_t) l.n, STORAGE_KEY_MAX, cmpstr);
    out[0] = '\0';
    for (int i = 0; i < l.n; i++)
    {
        if (i)
            strcat(out, ",");
        strcat(out, l.keys[i]);
    }
    return out;
}

/* ---- round trips -------------------------------------------------------- */

Test(storage_fs, put_stream_get_roundtrip)
{
    struct ws_err err = WS_ERR_INIT;
    size_t      len = 3 * 1024 * 1024 + 12345;
    unsigned char *data = malloc(len);
    unsigned char *back;
    size_t      blen;
    struct storage_info info;
    struct stat sb;

    st = open_repo(scratch);
    cr_assert_str_eq(st->location, scratch);
    fill(data, len, 1);
    cr_assert_eq(put_stream(st, "wal/00000001/seg", 0, data, len, 7777, &err), 0, "%s", err.msg);
    cr_assert_eq(get_all(st, "wal/00000001/seg", 0, 0, &back, &blen, &err), 0, "%s", err.msg);
    cr_assert_eq(blen, len);
    cr_assert(memcmp(back, data, len) == 0, "content differs after round trip");
    cr_assert_eq(storage_head(st, "wal/00000001/seg", &info, &err), 0, "%s", err.msg);
    cr_assert_eq(info.size, len);
    cr_assert_gt(info.mtime, 0);
    /* files 0600, directories 0700: a repository holds a database's history */
    cr_assert_eq(stat(spath("wal/00000001/seg"), &sb), 0);
    cr_assert_eq(sb.st_mode & 07777, 0600, "file mode %o", (unsigned) (sb.st_mode & 07777));
    cr_assert_eq(stat(spath("wal/00000001"), &sb), 0);
    cr_assert_eq(sb.st_mode & 07777, 0700, "dir mode %o", (unsigned) (sb.st_mode & 07777));
    /* nothing but the object itself was left behind */
    cr_assert_eq(scan_dir(scratch).files, 1);
    free(back);
    free(data);
}

Test(storage_fs, buffer_roundtrip_and_empty_object)
{
    struct ws_err err = WS_ERR_INIT;
    static const char text[] = "format_version = 1\nhello\n";
    unsigned char *buf;
    size_t      len;
    struct storage_info info;

    st = open_repo(scratch);
    cr_assert_eq(storage_put_buffer(st, "walship.repo", 0, text, strlen(text), &err), 0, "%s",
                 err.msg);
    cr_assert_eq(storage_get_buffer(st, "walship.repo", 8192, &buf, &len, &err), 0, "%s", err.msg);
    cr_assert_eq(len, strlen(text));
    cr_assert_str_eq((char *) buf, text);       /* NUL-terminated */
    free(buf);

    /* cap smaller than the object: an error, not a silent truncation */
    cr_assert_eq(storage_get_buffer(st, "walship.repo", 4, &buf, &len, &err), -1);
    cr_assert_null(buf);

    /* zero-length object */
    cr_assert_eq(storage_put_buffer(st, "empty", 0, "", 0, &err), 0, "%s", err.msg);
    cr_assert_eq(storage_head(st, "empty", &info, &err), 0, "%s", err.msg);
    cr_assert_eq(info.size, 0);
    cr_assert_eq(storage_get_buffer(st, "empty", 16, &buf, &len, &err), 0, "%s", err.msg);
    cr_assert_eq(len, 0);
    cr_assert_eq(buf[0], '\0');
    free(buf);
}

Test(storage_fs, root_with_trailing_slash)
{
    struct ws_err err = WS_ERR_INIT;
    char        root[PATH_MAX];
    struct storage_info info;

    snprintf(root, sizeof(root), "%s//", scratch);
    st = open_repo(root);
    cr_assert_eq(storage_put_buffer(st, "a/b", 0, "xyz", 3, &err), 0, "%s", err.msg);
    cr_assert_eq(access(spath("a/b"), F_OK), 0);
    cr_assert_eq(storage_head(st, "a/b", &info, &err), 0, "%s", err.msg);
    cr_assert_eq(info.size, 3);
    cr_assert_str_eq(list_joined(st, ""), "a/b");
}

/* ---- ranges -------------------------------------------------------------- */

struct range_case
{
    uint64_t    offset;
    uint64_t    length;         /* 0 = to the end */
    uint64_t    expect_len;
};

#define RANGE_OBJ_SIZE (2 * 1024 * 1024 + 100)

ParameterizedTestParameters(storage_fs, get_range)
{
    static struct range_case cases[] = {
        {0, 0, RANGE_OBJ_SIZE},
        {0, 1, 1},
        {0, 53, 53},
        {100, 0, RANGE_OBJ_SIZE - 100},
        {RANGE_OBJ_SIZE - 53, 53, 53},
        {RANGE_OBJ_SIZE - 53, 0, 53},
        {RANGE_OBJ_SIZE - 1, 1, 1},
        {RANGE_OBJ_SIZE, 0, 0},                         /* at the end: nothing */
        {1024 * 1024 - 3, 1024 * 1024 + 7, 1024 * 1024 + 7},   /* across read blocks */
        {5, RANGE_OBJ_SIZE - 5, RANGE_OBJ_SIZE - 5},
    };

    return cr_make_param_array(struct range_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct range_case *c, storage_fs, get_range)
{
    struct ws_err err = WS_ERR_INIT;
    unsigned char *data = malloc(RANGE_OBJ_SIZE);
    unsigned char *back;
    size_t      blen;

    st = open_repo(scratch);
    fill(data, RANGE_OBJ_SIZE, 2);
    cr_assert_eq(storage_put_buffer(st, "obj", 0, data, RANGE_OBJ_SIZE, &err), 0, "%s", err.msg);
    cr_assert_eq(get_all(st, "obj", c->offset, c->length, &back, &blen, &err), 0,
                 "get(%llu, %llu): %s", (unsigned long long) c->offset,
                 (unsigned long long) c->length, err.msg);
    cr_assert_eq(blen, c->expect_len, "get(%llu, %llu) gave %zu bytes",
                 (unsigned long long) c->offset, (unsigned long long) c->length, blen);
    cr_assert(blen == 0 || memcmp(back, data + c->offset, blen) == 0, "range content differs");
    free(back);
    free(data);
}

Test(storage_fs, get_range_past_end_fails)
{
    struct ws_err err = WS_ERR_INIT;
    unsigned char *back;
    size_t      blen;

    st = open_repo(scratch);
    cr_assert_eq(storage_put_buffer(st, "obj", 0, "0123456789", 10, &err), 0, "%s", err.msg);
    /* an explicit length beyond the end is a short object, not success */
    cr_assert_eq(get_all(st, "obj", 5, 10, &back, &blen, &err), -1);
    cr_assert_neq(err.code, WS_OK);
    cr_assert_neq(err.code, WS_ENOTFOUND);
    free(back);
}

Test(storage_fs, get_into_failing_sink)
{
    struct ws_err err = WS_ERR_INIT;
    struct filter *mem = filter_mem_new(4);
    unsigned char data[100];

    st = open_repo(scratch);
    fill(data, sizeof(data), 3);
    cr_assert_eq(storage_put_buffer(st, "obj", 0, data, sizeof(data), &err), 0, "%s", err.msg);
    cr_assert_eq(storage_get(st, "obj", 0, 0, mem, &err), -1);
    cr_assert_eq(err.code, WS_EINTERNAL, "code %s: %s", err_code_name(err.code), err.msg);
    filter_free(mem);
}

/* ---- not found ------------------------------------------------------------ */

Test(storage_fs, missing_object)
{
    struct ws_err err = WS_ERR_INIT;
    struct storage_info info;
    unsigned char *back;
    size_t      blen;
    const char *keys[] = {"nothing", "no/such/dir/obj", "a/missing"};

    st = open_repo(scratch);
    cr_assert_eq(mkdir(spath("a"), 0700), 0);
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
    {
        err_clear(&err);
        cr_assert_eq(get_all(st, keys[i], 0, 0, &back, &blen, &err), -1);
        cr_assert_eq(err.code, WS_ENOTFOUND, "get %s: %s %s", keys[i], err_code_name(err.code),
                     err.msg);
        cr_assert_eq(blen, 0, "get of a missing object wrote %zu bytes", blen);
        free(back);
        cr_assert(strstr(err.msg, keys[i]) != NULL, "message does not name the key: %s", err.msg);

        err_clear(&err);
        cr_assert_eq(storage_head(st, keys[i], &info, &err), -1);
        cr_assert_eq(err.code, WS_ENOTFOUND, "head %s: %s %s", keys[i],
                     err_code_name(err.code), err.msg);

        err_clear(&err);
        cr_assert_eq(storage_get_buffer(st, keys[i], 1024, &back, &blen, &err), -1);
        cr_assert_eq(err.code, WS_ENOTFOUND);
    }
    /* get and head created nothing */
    cr_assert_eq(scan_dir(scratch).files, 0);
    cr_assert_neq(access(spath("no"), F_OK), 0);
}

Test(storage_fs, invalid_key_refused_by_every_operation)
{
    struct ws_err err = WS_ERR_INIT;
    struct filter *sink = (struct filter *) 1;
    struct filter *mem = filter_mem_new(1024);
    struct storage_info info;

    st = open_repo(scratch);
    cr_assert_eq(storage_put_open(st, "../escape", 0, &sink, &err), -1);
    cr_assert_null(sink);
    cr_assert_eq(storage_put_buffer(st, "a/../../escape", 0, "x", 1, &err), -1);
    cr_assert_eq(storage_get(st, "/etc/passwd", 0, 0, mem, &err), -1);
    cr_assert_neq(err.code, WS_ENOTFOUND);
    cr_assert_eq(storage_head(st, "a//b", &info, &err), -1);
    cr_assert_neq(err.code, WS_ENOTFOUND);
    cr_assert_eq(storage_remove(st, "..", &err), -1);
    filter_free(mem);
    cr_assert_neq(access(spath("../escape"), F_OK), 0);
    cr_assert_eq(scan_dir(scratch).files, 0);
}

/* ---- list ------------------------------------------------------------------ */

#define SEG1 "wal/00000001/0000000100000000/000000010000000000000001"
#define SEG2 "wal/00000001/0000000100000000/000000010000000000000002"
#define HIST "wal/00000001/00000001.history"
#define TL2 "wal/00000002/0000000200000000/000000020000000000000001"

struct list_case
{
    char        prefix[80];
    char        expect[512];    /* sorted, comma-joined */
};

ParameterizedTestParameters(storage_fs, list_prefix)
{
    static struct list_case cases[] = {
        {"", "other/a," HIST "," SEG1 "," SEG2 "," TL2 ",walship.repo"},
        {"wal", HIST "," SEG1 "," SEG2 "," TL2 ",walship.repo"},
        {"wal/", HIST "," SEG1 "," SEG2 "," TL2},
        {"wal/00000001", HIST "," SEG1 "," SEG2},
        {"wal/00000001/", HIST "," SEG1 "," SEG2},
        {"wal/00000001/00000001", HIST "," SEG1 "," SEG2},     /* ends mid-name */
        {"wal/00000001/0000000100000000", SEG1 "," SEG2},      /* a directory */
        {"wal/00000001/0000000100000000/", SEG1 "," SEG2},
        {"wal/00000001/0000000100000000/00000001000000000000000", SEG1 "," SEG2},
        {SEG2, SEG2},                                           /* exact key */
        {"wal/00000001/00000001.h", HIST},
        {"walship", "walship.repo"},
        {"wal/00000003", ""},
        {"nothing", ""},
        {"other/a/", ""},                                       /* a file, not a dir */
        {"o", "other/a"},
    };

    return cr_make_param_array(struct list_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct list_case *c, storage_fs, list_prefix)
{
    struct ws_err err = WS_ERR_INIT;
    const char *keys[] = {SEG1, SEG2, HIST, TL2, "walship.repo", "other/a"};
    struct filter *open_sink = NULL;
    int         fd;

    st = open_repo(scratch);
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        cr_assert_eq(storage_put_buffer(st, keys[i], 0, keys[i], strlen(keys[i]), &err), 0,
                     "%s", err.msg);
    /* leftovers of a crashed put, and a put in progress: never listed */
    fd = open(spath("wal/00000001/0000000100000000/.000000010000000000000003.tmp.1.abcdef"),
              O_WRONLY | O_CREAT, 0600);
    cr_assert(fd >= 0);
    close(fd);
    fd = open(spath(".walship.repo.tmp.99.000000"), O_WRONLY | O_CREAT, 0600);
    cr_assert(fd >= 0);
    close(fd);
    cr_assert_eq(storage_put_open(st, "wal/00000001/0000000100000000/000000010000000000000004",
                                  0, &open_sink, &err), 0, "%s", err.msg);
    cr_assert_eq(filter_write(open_sink, "partial", 7, &err), 0);
    /* an empty directory lists nothing */
    cr_assert_eq(mkdir(spath("wal/00000003"), 0700), 0);

    cr_assert_str_eq(list_joined(st, c->prefix), c->expect, "prefix \"%s\"", c->prefix);
    filter_free(open_sink);
}

Test(storage_fs, list_sizes_null_prefix_and_empty_repo)
{
    struct ws_err err = WS_ERR_INIT;
    struct listing l;

    st = open_repo(scratch);
    memset(&l, 0, sizeof(l));
    cr_assert_eq(storage_list(st, NULL, collect, &l, &err), 0, "%s", err.msg);
    cr_assert_eq(l.n, 0);

    cr_assert_eq(storage_put_buffer(st, "x/one", 0, "1", 1, &err), 0, "%s", err.msg);
    cr_assert_eq(storage_put_buffer(st, "x/three", 0, "333", 3, &err), 0, "%s", err.msg);
    memset(&l, 0, sizeof(l));
    cr_assert_eq(storage_list(st, NULL, collect, &l, &err), 0, "%s", err.msg);
    cr_assert_eq(l.n, 2);
    for (int i = 0; i < l.n; i++)
        cr_assert_eq(l.sizes[i], strcmp(l.keys[i], "x/one") == 0 ? 1u : 3u, "%s", l.keys[i]);
}

Test(storage_fs, list_callback_error_stops)
{
    struct ws_err err = WS_ERR_INIT;
    struct listing l;
    char        key[32];

    st = open_repo(scratch);
    for (int i = 0; i < 5; i++)
    {
        snprintf(key, sizeof(key), "d%d/k%d", i % 2, i);
        cr_assert_eq(storage_put_buffer(st, key, 0, "x", 1, &err), 0, "%s", err.msg);
    }
    memset(&l, 0, sizeof(l));
    l.stop_after = 2;
    cr_assert_eq(storage_list(st, "", collect, &l, &err), -1);
    cr_assert_eq(l.n, 2, "callback called %d times after it failed", l.n);
    cr_assert_eq(err.code, WS_EIO);
    cr_assert_str_eq(err.msg, "callback stops here");
}

/* ---- remove ------------------------------------------------------------- */

Test(storage_fs, remove)
{
    struct ws_err err = WS_ERR_INIT;
    struct storage_info info;

    st = open_repo(scratch);
    cr_assert_eq(storage_put_buffer(st, "a/b/c", 0, "data", 4, &err), 0, "%s", err.msg);
    cr_assert_eq(storage_put_buffer(st, "a/b/d", 0, "data", 4, &err), 0, "%s", err.msg);
    cr_assert_eq(storage_remove(st, "a/b/c", &err), 0, "%s", err.msg);
    cr_assert_eq(storage_head(st, "a/b/c", &info, &err), -1);
    cr_assert_eq(err.code, WS_ENOTFOUND);
    cr_assert_eq(access(spath("a/b/c"), F_OK), -1);
    cr_assert_str_eq(list_joined(st, ""), "a/b/d");
    /* removing what is not there is fine, in an existing or a missing directory */
    err_clear(&err);
    cr_assert_eq(storage_remove(st, "a/b/c", &err), 0, "%s", err.msg);
    cr_assert_eq(storage_remove(st, "no/such/thing", &err), 0, "%s", err.msg);
    cr_assert_eq(err.code, WS_OK);
    /* the other object is untouched */
    cr_assert_eq(storage_head(st, "a/b/d", &info, &err), 0, "%s", err.msg);
    cr_assert_eq(info.size, 4);
}

/* ---- overwrite rules -------------------------------------------------------- */

Test(storage_fs, no_overwrite_refuses_existing)
{
    struct ws_err err = WS_ERR_INIT;
    unsigned char *buf;
    size_t      len;
    struct scan sc;

    st = open_repo(scratch);
    cr_assert_eq(storage_put_buffer(st, "k/obj", STORAGE_PUT_NO_OVERWRITE, "original", 8, &err),
                 0, "create-if-absent on a new key: %s", err.msg);
    cr_assert_eq(storage_put_buffer(st, "k/obj", STORAGE_PUT_NO_OVERWRITE, "replacement", 11,
                                    &err), -1);
    cr_assert_eq(err.code, WS_EEXISTS, "code %s: %s", err_code_name(err.code), err.msg);
    cr_assert_eq(storage_get_buffer(st, "k/obj", 100, &buf, &len, &err), 0, "%s", err.msg);
    cr_assert_str_eq((char *) buf, "original");
    free(buf);
    sc = scan_dir(scratch);
    cr_assert_eq(sc.files, 1, "%d files, e.g. %s", sc.files, sc.first);
    cr_assert_eq(sc.tmps, 0);

    /* without the flag the object is replaced */
    cr_assert_eq(storage_put_buffer(st, "k/obj", 0, "replacement", 11, &err), 0, "%s", err.msg);
    cr_assert_eq(storage_get_buffer(st, "k/obj", 100, &buf, &len, &err), 0, "%s", err.msg);
    cr_assert_str_eq((char *) buf, "replacement");
    free(buf);
    cr_assert_eq(scan_dir(scratch).files, 1);
}

Test(storage_fs, no_overwrite_key_appears_during_put)
{
    struct ws_err err = WS_ERR_INIT;
    struct filter *sink = NULL;
    unsigned char *buf;
    size_t      len;

    st = open_repo(scratch);
    cr_assert_eq(storage_put_open(st, "race", STORAGE_PUT_NO_OVERWRITE, &sink, &err), 0, "%s",
                 err.msg);
    cr_assert_eq(filter_write(sink, "loser", 5, &err), 0, "%s", err.msg);
    /* someone else commits first */
    cr_assert_eq(storage_put_buffer(st, "race", 0, "winner", 6, &err), 0, "%s", err.msg);
    cr_assert_eq(filter_finish(sink, &err), -1);
    cr_assert_eq(err.code, WS_EEXISTS, "code %s: %s", err_code_name(err.code), err.msg);
    filter_free(sink);
    cr_assert_eq(storage_get_buffer(st, "race", 100, &buf, &len, &err), 0, "%s", err.msg);
    cr_assert_str_eq((char *) buf, "winner");
    free(buf);
    cr_assert_eq(scan_dir(scratch).files, 1, "the losing temporary file was left behind");
}

/* Several processes create the same key at once: exactly one wins. */
Test(storage_fs, no_overwrite_concurrent_writers)
{
    enum { NPROC = 6 };
    struct ws_err err = WS_ERR_INIT;
    pid_t       pids[NPROC];
    int         wins = 0, lost = 0, winner = -1;
    unsigned char *buf;
    size_t      len;
    int         go[2];

    st = open_repo(scratch);
    cr_assert_eq(pipe(go), 0);
    for (int i = 0; i < NPROC; i++)
    {
        pids[i] = fork();
        cr_assert(pids[i] >= 0);
        if (pids[i] == 0)
        {
            struct ws_err cerr = WS_ERR_INIT;
            unsigned char data[64 * 1024];
            char        c;

            close(go[1]);
            memset(data, 'A' + i, sizeof(data));
            (void) read(go[0], &c, 1);      /* start together */
            if (put_stream(st, "wal/x/contended", STORAGE_PUT_NO_OVERWRITE, data, sizeof(data),
                           4096, &cerr) == 0)
                _exit(0);
            _exit(cerr.code == WS_EEXISTS ? 1 : 2);
        }
    }
    close(go[0]);
    close(go[1]);               /* EOF releases every child */
    for (int i = 0; i < NPROC; i++)
    {
        int         status;

        cr_assert_eq(waitpid(pids[i], &status, 0), pids[i]);
        cr_assert(WIFEXITED(status));
        if (WEXITSTATUS(status) == 0)
            wins++, winner = i;
        else if (WEXITSTATUS(status) == 1)
            lost++;
    }
    cr_assert_eq(wins, 1, "%d writers won", wins);
    cr_assert_eq(lost, NPROC - 1, "a loser failed with something else than WS_EEXISTS");
    cr_assert_eq(storage_get_buffer(st, "wal/x/contended", 1 << 20, &buf, &len, &err), 0, "%s",
                 err.msg);
    cr_assert_eq(len, 64 * 1024);
    for (size_t j = 0; j < len; j++)
        cr_assert_eq(buf[j], 'A' + winner, "byte %zu is not from the winner", j);
    free(buf);
    cr_assert_eq(scan_dir(scratch).files, 1);
}

/* ---- abort --------------------------------------------------------------- */

Test(storage_fs, abort_leaves_nothing)
{
    struct ws_err err = WS_ERR_INIT;
    struct filter *sink = NULL;
    unsigned char data[100 * 1024];
    struct storage_info info;
    struct scan sc;

    st = open_repo(scratch);
    fill(data, sizeof(data), 4);
    /* written, never finished */
    cr_assert_eq(storage_put_open(st, "a/b/c", 0, &sink, &err), 0, "%s", err.msg);
    for (int i = 0; i < 10; i++)
        cr_assert_eq(filter_write(sink, data, sizeof(data), &err), 0, "%s", err.msg);
    sc = scan_dir(scratch);
    cr_assert_eq(sc.files, 1, "the put should be writing a temporary file");
    cr_assert_eq(sc.tmps, 1, "in-progress file is not hidden: %s", sc.first);
    cr_assert_eq(storage_head(st, "a/b/c", &info, &err), -1, "object visible before finish");
    filter_free(sink);
    cr_assert_eq(storage_head(st, "a/b/c", &info, &err), -1);
    cr_assert_eq(err.code, WS_ENOTFOUND);
    sc = scan_dir(scratch);
    cr_assert_eq(sc.files, 0, "abort left %s", sc.first);

    /* opened and freed without a single write, also with NO_OVERWRITE */
    sink = NULL;
    cr_assert_eq(storage_put_open(st, "a/b/d", STORAGE_PUT_NO_OVERWRITE, &sink, &err), 0, "%s",
                 err.msg);
    filter_free(sink);
    sc = scan_dir(scratch);
    cr_assert_eq(sc.files, 0, "abort left %s", sc.first);

    /* abort of a replacement keeps the old object */
    cr_assert_eq(storage_put_buffer(st, "keep", 0, "old", 3, &err), 0, "%s", err.msg);
    cr_assert_eq(storage_put_open(st, "keep", 0, &sink, &err), 0, "%s", err.msg);
    cr_assert_eq(filter_write(sink, "new content", 11, &err), 0, "%s", err.msg);
    filter_free(sink);
    cr_assert_eq(storage_head(st, "keep", &info, &err), 0, "%s", err.msg);
    cr_assert_eq(info.size, 3);
    cr_assert_eq(scan_dir(scratch).files, 1);
}

/* ---- kill -9 at random moments --------------------------------------------- */

#define CRASH_SIZE (4 * 1024 * 1024)
#define CRASH_KEY "wal/00000001/0000000100000000/000000010000000000000007"

Test(storage_fs, kill9_never_leaves_partial_object, .timeout = 300)
{
    struct ws_err err = WS_ERR_INIT;
    unsigned char *expect[31];
    int         last_complete = -1;     /* seed of the object currently committed */
    int         killed_absent = 0, completed = 0, kept_old = 0;

    st = open_repo(scratch);
    for (int i = 0; i <= 30; i++)
    {
        expect[i] = malloc(CRASH_SIZE);
        cr_assert_not_null(expect[i]);
        fill(expect[i], CRASH_SIZE, 100 + (uint64_t) i);
    }
    for (int i = 0; i <= 30; i++)
    {
        int         p[2];
        pid_t       pid;
        char        c;
        int         status;
        unsigned char *back;
        size_t      blen;
        struct storage_info info;
        struct listing l;

        cr_assert_eq(pipe(p), 0);
        pid = fork();
        cr_assert(pid >= 0);
        if (pid == 0)
        {
            struct ws_err cerr = WS_ERR_INIT;
            struct filter *sink = NULL;

            close(p[0]);
            if (storage_put_open(st, CRASH_KEY, 0, &sink, &cerr) < 0)
                _exit(2);
            (void) write(p[1], "s", 1);
            for (size_t off = 0; off < CRASH_SIZE; off += 4096)
                if (filter_write(sink, expect[i] + off, 4096, &cerr) < 0)
                    _exit(3);
            if (filter_finish(sink, &cerr) < 0)
                _exit(4);
            filter_free(sink);
            _exit(0);
        }
        close(p[1]);
        cr_assert_eq(read(p[0], &c, 1), 1, "child did not start");
        close(p[0]);
        if (i < 30)
        {
            /* two rounds of increasing delays: the first kills writers of a new
             * object, the second kills writers replacing a complete one */
            usleep((useconds_t) ((i % 15) * (i % 15) * 250));     /* 0 .. 49 ms */
            kill(pid, SIGKILL);
        }
        cr_assert_eq(waitpid(pid, &status, 0), pid);
        if (i == 30)
            cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                      "the last, unkilled writer failed (status %d)", status);
        else
            cr_assert(WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) == 0),
                      "writer failed on its own (status %d)", status);

        if (storage_head(st, CRASH_KEY, &info, &err) < 0)
        {
            cr_assert_eq(err.code, WS_ENOTFOUND, "%s", err.msg);
            cr_assert_eq(last_complete, -1, "iteration %d: the previous object vanished", i);
            killed_absent++;
            continue;
        }
        cr_assert_eq(info.size, CRASH_SIZE, "iteration %d: partial object of %llu bytes", i,
                     (unsigned long long) info.size);
        cr_assert_eq(get_all(st, CRASH_KEY, 0, 0, &back, &blen, &err), 0, "%s", err.msg);
        cr_assert_eq(blen, CRASH_SIZE);
        if (memcmp(back, expect[i], CRASH_SIZE) == 0)
        {
            last_complete = i;
            completed++;
        }
        else
        {
            cr_assert_neq(last_complete, -1, "iteration %d: content from nowhere", i);
            cr_assert(memcmp(back, expect[last_complete], CRASH_SIZE) == 0,
                      "iteration %d: object is neither the old nor the new content", i);
            kept_old++;
        }
        free(back);
        /* list shows the final key only, never a temporary file */
        memset(&l, 0, sizeof(l));
        cr_assert_eq(storage_list(st, "", collect, &l, &err), 0, "%s", err.msg);
        cr_assert_eq(l.n, 1, "iteration %d: %d keys listed", i, l.n);
        cr_assert_str_eq(l.keys[0], CRASH_KEY);
    }
    cr_assert_eq(last_complete, 30);
    cr_log_info("kill -9: %d absent, %d kept old, %d completed", killed_absent, kept_old,
                completed);
    for (int i = 0; i <= 30; i++)
        free(expect[i]);
}

/* ---- keys ---------------------------------------------------------------- */

/*
 * Criterion may run each parameterized test in a re-executed process, where
 * pointers to string literals are not valid: parameters hold arrays.
 */
struct key_case
{
    char        key[80];
    bool        valid;
};

ParameterizedTestParameters(storage_fs, key_valid)
{
    static struct key_case cases[] = {
        {"", false},
        {"/a", false},
        {"a/", false},
        {"a//b", false},
        {"a/./b", false},
        {"a/../b", false},
        {"..", false},
        {".", false},
        {"./a", false},
        {"a/..", false},
        {"/", false},
        {"ok/key", true},
        {"ok", true},
        {"walship.repo", true},
        {"a/b..c", true},
        {SEG1, true},
    };

    return cr_make_param_array(struct key_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct key_case *c, storage_fs, key_valid)
{
    cr_assert_eq(storage_key_valid(c->key), c->valid, "storage_key_valid(\"%s\")", c->key);
}

Test(storage_fs, key_length_limit)
{
    char        key[STORAGE_KEY_MAX + 10];

    memset(key, 'a', sizeof(key));
    for (size_t i = 100; i < STORAGE_KEY_MAX; i += 101)
        key[i] = '/';           /* components well under NAME_MAX */
    key[STORAGE_KEY_MAX - 1] = '\0';
    cr_assert(storage_key_valid(key), "a key of %d bytes is valid", STORAGE_KEY_MAX - 1);
    key[STORAGE_KEY_MAX - 1] = 'a';
    key[STORAGE_KEY_MAX] = '\0';
    cr_assert_not(storage_key_valid(key), "a key of %d bytes is too long", STORAGE_KEY_MAX);
    key[STORAGE_KEY_MAX + 9] = '\0';
    memset(key, 'x', STORAGE_KEY_MAX + 9);
    cr_assert_not(storage_key_valid(key));
}

/* ---- opening -------------------------------------------------------------- */

Test(storage_fs, open_missing_directory)
{
    struct ws_err err = WS_ERR_INIT;
    const char *p = spath("does/not/exist");

    cr_assert_null(storage_open(p, NULL, &err));
    cr_assert_eq(err.code, WS_EIO, "code %s", err_code_name(err.code));
    cr_assert(strstr(err.msg, p) != NULL, "message does not name the path: %s", err.msg);
    cr_assert_neq(err.hint[0], '\0', "no hint for a missing repository directory");
}

Test(storage_fs, open_regular_file)
{
    struct ws_err err = WS_ERR_INIT;
    const char *p = spath("file");
    int         fd = open(p, O_WRONLY | O_CREAT, 0600);

    cr_assert(fd >= 0);
    close(fd);
    cr_assert_null(storage_open(p, NULL, &err));
    cr_assert_neq(err.code, WS_OK);
    cr_assert_neq(err.code, WS_ENOTFOUND);
    cr_assert(strstr(err.msg, p) != NULL, "message does not name the path: %s", err.msg);
}

struct open_case
{
    char        repo[32];
    enum ws_code code;
};

ParameterizedTestParameters(storage_fs, open_config_errors)
{
    static struct open_case cases[] = {
        {"", WS_ECONFIG},
        {"s3://bucket/x", WS_ECONFIG},
        {"s3://bucket", WS_ECONFIG},
        {"gs://bucket/x", WS_ECONFIG},
        {"file:///tmp", WS_ECONFIG},
    };

    return cr_make_param_array(struct open_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct open_case *c, storage_fs, open_config_errors)
{
    struct ws_err err = WS_ERR_INIT;

    cr_assert_null(storage_open(c->repo, NULL, &err), "storage_open(\"%s\") succeeded", c->repo);
    cr_assert_eq(err.code, c->code, "\"%s\": code %s: %s", c->repo, err_code_name(err.code),
                 err.msg);
    cr_assert_neq(err.msg[0], '\0');
}

Test(storage_fs, open_null_repo)
{
    struct ws_err err = WS_ERR_INIT;

    cr_assert_null(storage_open(NULL, NULL, &err));
    cr_assert_eq(err.code, WS_ECONFIG);
}

/* ---- permission denied ----------------------------------------------------- */

struct child_result
{
    int         rc[2];
    struct ws_err err[2];
};

/*
 * Put into a directory we may not write: as root, in a child that drops to
 * nobody (root ignores mode bits); otherwise the directory is made 0555.
 */
Test(storage_fs, put_permission_denied)
{
    struct child_result res;
    const char *keys[2] = {"obj", "sub/obj"};
    struct scan sc;
    int         p[2];
    pid_t       pid;
    int         status;
    bool        root = geteuid() == 0;

    cr_assert_eq(mkdir(spath("ro"), 0755), 0);
    st = open_repo(spath("ro"));
    if (root)
        cr_assert_eq(chmod(scratch, 0755), 0);
    else
        cr_assert_eq(chmod(spath("ro"), 0555), 0);
    cr_assert_eq(pipe(p), 0);
    pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0)
    {
        memset(&res, 0, sizeof(res));
        close(p[0]);
        if (root && (setgroups(0, NULL) != 0 || setgid(65534) != 0 || setuid(65534) != 0))
            _exit(10);
        for (int i = 0; i < 2; i++)
            res.rc[i] = storage_put_buffer(st, keys[i], STORAGE_PUT_NO_OVERWRITE, "data", 4,
                                           &res.err[i]);
        (void) write(p[1], &res, sizeof(res));
        _exit(0);
    }
    close(p[1]);
    cr_assert_eq(read(p[0], &res, sizeof(res)), (ssize_t) sizeof(res), "child failed");
    close(p[0]);
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    for (int i = 0; i < 2; i++)
    {
        cr_assert_eq(res.rc[i], -1, "put %s into a read-only directory succeeded", keys[i]);
        cr_assert_eq(res.err[i].code, WS_EIO, "put %s: code %s: %s", keys[i],
                     err_code_name(res.err[i].code), res.err[i].msg);
        cr_assert_eq(res.err[i].sys_errno, EACCES, "put %s: %s", keys[i], res.err[i].msg);
        cr_assert(strstr(res.err[i].msg, spath("ro")) != NULL, "message names no path: %s",
                  res.err[i].msg);
        cr_assert_neq(res.err[i].hint[0], '\0', "no hint for EACCES: %s", res.err[i].msg);
    }
    sc = scan_dir(scratch);
    cr_assert_eq(sc.files, 0, "left behind: %s", sc.first);
    cr_assert_neq(access(spath("ro/sub"), F_OK), 0);
}

/*
 * head, get and list in a directory we may not read: the hint asks for a
 * readable repository, not a writable one (as root, in a child that drops to
 * nobody; otherwise the directory is made 0000).
 */
Test(storage_fs, read_permission_denied)
{
    struct
    {
        int         rc[3];
        struct ws_err err[3];
    }           res;
    const char *ops[3] = {"head", "get", "list"};
    struct ws_err err = WS_ERR_INIT;
    int         p[2];
    pid_t       pid;
    int         status;
    bool        root = geteuid() == 0;

    cr_assert_eq(mkdir(spath("ro"), 0700), 0);
    st = open_repo(spath("ro"));
    cr_assert_eq(storage_put_buffer(st, "sub/obj", 0, "data", 4, &err), 0, "%s", err.msg);
    if (root)
        cr_assert_eq(chmod(scratch, 0755), 0);
    else
        cr_assert_eq(chmod(spath("ro"), 0), 0);
    cr_assert_eq(pipe(p), 0);
    pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0)
    {
        struct storage_info info;
        struct filter *mem = filter_mem_new(64);
        struct listing l;

        memset(&res, 0, sizeof(res));
        memset(&l, 0, sizeof(l));
        close(p[0]);
        if (root && (setgroups(0, NULL) != 0 || setgid(65534) != 0 || setuid(65534) != 0))
            _exit(10);
        res.rc[0] = storage_head(st, "sub/obj", &info, &res.err[0]);
        res.rc[1] = storage_get(st, "sub/obj", 0, 0, mem, &res.err[1]);
        res.rc[2] = storage_list(st, "", collect, &l, &res.err[2]);
        (void) write(p[1], &res, sizeof(res));
        _exit(0);
    }
    close(p[1]);
    cr_assert_eq(read(p[0], &res, sizeof(res)), (ssize_t) sizeof(res), "child failed");
    close(p[0]);
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    for (int i = 0; i < 3; i++)
    {
        const struct ws_err *e = &res.err[i];

        cr_assert_eq(res.rc[i], -1, "%s in an unreadable directory succeeded", ops[i]);
        cr_assert_eq(e->sys_errno, EACCES, "%s: %s", ops[i], e->msg);
        cr_assert_neq(e->code, WS_ENOTFOUND, "%s: EACCES is not \"not found\"", ops[i]);
        cr_assert(strstr(e->msg, spath("ro")) != NULL, "%s: message names no path: %s", ops[i],
                  e->msg);
        cr_assert(strstr(e->hint, "readable") != NULL && strstr(e->hint, "writable") == NULL,
                  "%s: hint does not ask for read access: \"%s\"", ops[i], e->hint);
    }
}

/* ---- disk full ---------------------------------------------------------------- */

Test(storage_fs, put_no_space)
{
    struct ws_err err = WS_ERR_INIT;
    char        cmd[PATH_MAX + 64];
    const char *mnt = spath("tiny");
    unsigned char *data;
    struct storage_info info;
    struct scan sc;
    struct filter *sink = NULL;
    int         rc;

    if (geteuid() != 0)
        cr_skip_test("mounting a small tmpfs needs root");
    cr_assert_eq(mkdir(mnt, 0700), 0);
    snprintf(cmd, sizeof(cmd), "mount -t tmpfs -o size=64k,mode=0700 tmpfs '%s' 2>/dev/null", mnt);
    if (system(cmd) != 0)
        cr_skip_test("could not mount a tmpfs (mount -t tmpfs not permitted here)");
    snprintf(mounted, sizeof(mounted), "%s", mnt);

    st = open_repo(mnt);
    data = malloc(1024 * 1024);
    fill(data, 1024 * 1024, 5);
    cr_assert_eq(storage_put_buffer(st, "wal/big", 0, data, 1024 * 1024, &err), -1,
                 "1 MiB fit into a 64 KiB tmpfs");
    cr_assert_eq(err.code, WS_ENOSPC, "code %s: %s", err_code_name(err.code), err.msg);
    cr_assert_eq(err.sys_errno, ENOSPC);
    cr_assert_eq(storage_head(st, "wal/big", &info, &err), -1);
    sc = scan_dir(mnt);
    cr_assert_eq(sc.files, 0, "left behind: %s", sc.first);

    /* streamed, with NO_OVERWRITE: the same */
    err_clear(&err);
    cr_assert_eq(storage_put_open(st, "wal/big2", STORAGE_PUT_NO_OVERWRITE, &sink, &err), 0,
                 "%s", err.msg);
    rc = 0;
    for (int i = 0; i < 16 && rc == 0; i++)
        rc = filter_write(sink, data + i * 65536, 65536, &err);
    if (rc == 0)
        rc = filter_finish(sink, &err);
    filter_free(sink);
    cr_assert_eq(rc, -1);
    cr_assert_eq(err.code, WS_ENOSPC, "code %s: %s", err_code_name(err.code), err.msg);
    sc = scan_dir(mnt);
    cr_assert_eq(sc.files, 0, "left behind: %s", sc.first);

    /* and a small object still fits afterwards: the space was given back */
    cr_assert_eq(storage_put_buffer(st, "wal/small", 0, data, 1000, &err), 0, "%s", err.msg);
    free(data);
}

/* Removing the last object of a directory prunes the emptied directories
 * below the first level; a later put recreates them. */
Test(storage_fs, remove_prunes_empty_directories)
{
    struct ws_err err = WS_ERR_INIT;
    char        path[PATH_MAX];
    struct stat sb;

    st = open_repo(scratch);
    cr_assert_eq(storage_put_buffer(st, "backups/X/a", 0, "1", 1, &err), 0, "%s", err.msg);
    cr_assert_eq(storage_put_buffer(st, "backups/X/b", 0, "2", 1, &err), 0, "%s", err.msg);
    cr_assert_eq(storage_put_buffer(st, "backups/Y/deep/c", 0, "3", 1, &err), 0, "%s", err.msg);
    cr_assert_eq(storage_remove(st, "backups/X/a", &err), 0, "%s", err.msg);
    snprintf(path, sizeof(path), "%s/backups/X", scratch);
    cr_assert_eq(stat(path, &sb), 0, "a directory still in use was removed");
    cr_assert_eq(storage_remove(st, "backups/X/b", &err), 0, "%s", err.msg);
    cr_assert_neq(stat(path, &sb), 0, "empty backups/X was left behind");
    cr_assert_eq(storage_remove(st, "backups/Y/deep/c", &err), 0, "%s", err.msg);
    snprintf(path, sizeof(path), "%s/backups/Y", scratch);
    cr_assert_neq(stat(path, &sb), 0, "empty backups/Y/deep chain was left behind");
    snprintf(path, sizeof(path), "%s/backups", scratch);
    cr_assert_eq(stat(path, &sb), 0, "the first-level directory was removed");
    cr_assert_eq(storage_put_buffer(st, "backups/X/a", 0, "1", 1, &err), 0, "%s", err.msg);
}
