/*
 * test_tar_split.c — cutting a tar stream into independently extractable
 * parts (tar_split_new, tar.h).
 *
 * Archives are built in memory by a small ustar writer (regular files of
 * 0 .. 20000 bytes, directories, symbolic links, pax 'x' and GNU 'L'
 * extended headers, a GNU base-256 size), pushed through the splitter in
 * pieces of 1, 511, 512, 513, 7000 bytes, all at once, or random sizes, with
 * small part sizes.  Parts are collected through open_part/close_part into
 * memory sinks (filter_mem behind a stage that counts frees).  Checks:
 *  - parts are opened one at a time, numbered 0, 1, ..., each closed once;
 *  - every part ends with two zero blocks; the parts minus the blocks added
 *    to all but the last concatenate to the original stream;
 *  - a cut never falls between an extended header and its member, parts
 *    are at least part_size bytes (but the last) and not continued past it;
 *  - every part extracts on its own with tar_extract_new, and the parts
 *    extracted into one directory, in either order, give exactly the input;
 *  - truncated and garbage streams fail with WS_ECORRUPT; freeing without a
 *    finish frees the open sink exactly once.
 *
 * Every test runs in its own forked process with a scratch directory under
 * /tmp, removed by .fini.
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "filter.h"
#include "tar.h"

#define BLOCK TAR_BLOCK_SIZE
#define END_LEN (2 * TAR_BLOCK_SIZE)
#define MAX_PARTS 512
#define MAX_ENTRIES 64
#define PART_CAP (1u << 20)

static char scratch[64];

/* ---- fixtures ----------------------------------------------------------- */

static void
setup(void)
{
    strcpy(scratch, "/tmp/ws_test_tar_split_XXXXXX");
    cr_assert_not_null(mkdtemp(scratch), "mkdtemp: %s", strerror(errno));
}

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void) sb;
    (void) flag;
    (void) ftw;
    chmod(path, 0700);
    return remove(path);
}

static void
teardown(void)
{
    if (scratch[0] != '\0')
        nftw(scratch, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    scratch[0] = '\0';
}

TestSuite(tar_split, .init = setup, .fini = teardown);

/* ---- a tiny ustar writer -------------------------------------------------------- */

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

/* Octal, space-terminated, as PostgreSQL's print_tar_number (no base-256 here). */
static void
put_octal(unsigned char *s, int len, uint64_t val)
{
    s[--len] = ' ';
    while (len)
    {
        s[--len] = (unsigned char) ((val & 7) + '0');
        val >>= 3;
    }
}

static void
put_base256(unsigned char *s, int len, uint64_t val)
{
    s[0] = 0x80;
    while (len > 1)
    {
        s[--len] = (unsigned char) (val & 255);
        val >>= 8;
    }
}

static void
ar_checksum(unsigned char *h)
{
    unsigned    sum = 0;

    memset(h + 148, ' ', 8);
    for (int i = 0; i < BLOCK; i++)
        sum += h[i];
    snprintf((char *) h + 148, 8, "%06o", sum);    /* six digits, NUL, space: GNU tar */
    h[155] = ' ';
}

/* A header; returns its offset.  base256 writes the size field GNU's way. */
static size_t
ar_header(struct ar *a, const char *name, char type, uint64_t size, const char *link,
          unsigned mode, bool base256)
{
    size_t      off = a->len;
    unsigned char *h;

    ar_grow(a, BLOCK);
    h = a->d + off;
    memset(h, 0, BLOCK);
    cr_assert_leq(strlen(name), 100);
    memcpy(h, name, strlen(name));
    put_octal(h + 100, 8, mode & 07777);
    put_octal(h + 108, 8, 1000);
    put_octal(h + 116, 8, 1000);
    if (base256)
        put_base256(h + 124, 12, size);
    else
        put_octal(h + 124, 12, size);
    put_octal(h + 136, 12, 1700000000);
    h[156] = (unsigned char) type;
    if (link)
        memcpy(h + 157, link, strlen(link) > 100 ? 100 : strlen(link));
    memcpy(h + 257, "ustar", 6);
    memcpy(h + 263, "00", 2);
    strcpy((char *) h + 265, "postgres");
    strcpy((char *) h + 297, "postgres");
    put_octal(h + 329, 8, 0);
    put_octal(h + 337, 8, 0);
    ar_checksum(h);
    a->len += BLOCK;
    return off;
}

static void
ar_data(struct ar *a, const void *data, size_t len)
{
    size_t      pad = (BLOCK - len % BLOCK) % BLOCK;

    ar_grow(a, len + pad);
    if (len)
        memcpy(a->d + a->len, data, len);
    memset(a->d + a->len + len, 0, pad);
    a->len += len + pad;
}

static void
ar_zeros(struct ar *a, size_t n)
{
    ar_grow(a, n);
    memset(a->d + a->len, 0, n);
    a->len += n;
}

/* One pax record "<len> key=value\n". */
static size_t
pax_record(char *out, size_t cap, const char *key, const char *value)
{
    size_t      body = 1 + strlen(key) + 1 + strlen(value) + 1;    /* " k=v\n" */
    size_t      len = body + 1;
    int         n;

    for (;;)
    {
        char        digits[24];
        size_t      dl = (size_t) snprintf(digits, sizeof(digits), "%zu", len);

        if (dl + body == len)
            break;
        len = dl + body;
    }
    n = snprintf(out, cap, "%zu %s=%s\n", len, key, value);
    cr_assert_eq((size_t) n, len);
    return len;
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

/* ---- the input archive and what it should extract to ------------------------------ */

struct entry
{
    char        path[PATH_MAX];     /* as extracted, relative, no trailing slash */
    char        type;               /* '0', '5', '2' */
    size_t      size;
    uint64_t    seed;
    char        link[256];
};

struct model
{
    struct entry e[MAX_ENTRIES];
    int         n;
    int         files;
    int         links;
};

static void
m_add(struct model *m, const char *path, char type, size_t size, uint64_t seed, const char *link)
{
    struct entry *e;

    cr_assert_lt(m->n, MAX_ENTRIES);
    e = &m->e[m->n++];
    memset(e, 0, sizeof(*e));
    snprintf(e->path, sizeof(e->path), "%s", path);
    e->type = type;
    e->size = size;
    e->seed = seed;
    if (link)
        snprintf(e->link, sizeof(e->link), "%s", link);
    if (type == '0')
        m->files++;
    else if (type == '2')
        m->links++;
}

static void
add_file(struct ar *a, struct model *m, const char *hname, const char *path, size_t size,
         bool base256)
{
    uint64_t    seed = (uint64_t) m->n * 7919 + size + 1;
    unsigned char *buf = malloc(size ? size : 1);

    cr_assert_not_null(buf);
    fill(buf, size, seed);
    ar_header(a, hname, '0', size, NULL, 0640, base256);
    ar_data(a, buf, size);
    free(buf);
    m_add(m, path, '0', size, seed, NULL);
}

static void
add_dir(struct ar *a, struct model *m, const char *name)
{
    char        path[PATH_MAX];

    ar_header(a, name, '5', 0, NULL, 0750, false);
    snprintf(path, sizeof(path), "%s", name);
    path[strlen(path) - 1] = '\0';      /* names end in '/' */
    m_add(m, path, '5', 0, 0, NULL);
}

static void
add_pax(struct ar *a, const char *records, size_t len)
{
    ar_header(a, "./PaxHeaders/x", 'x', len, NULL, 0644, false);
    ar_data(a, records, len);
}

/*
 * The input: every member kind the splitter must step over, sizes around the
 * block size and beyond the part sizes used, extended headers of both kinds,
 * one of them larger than a 1024-byte part.
 */
static void
build_archive(struct ar *a, struct model *m, size_t extra_zeros)
{
    char        rec[4096];
    char        longpath[PATH_MAX];
    size_t      n;

    memset(a, 0, sizeof(*a));
    memset(m, 0, sizeof(*m));

    add_dir(a, m, "d1/");
    add_file(a, m, "d1/empty", "d1/empty", 0, false);
    add_file(a, m, "d1/one", "d1/one", 1, false);
    add_file(a, m, "d1/b511", "d1/b511", 511, false);
    add_file(a, m, "d1/b512", "d1/b512", 512, false);
    add_file(a, m, "d1/b513", "d1/b513", 513, false);
    add_dir(a, m, "d1/sub/");
    add_file(a, m, "d1/sub/big", "d1/sub/big", 5000, false);
    ar_header(a, "d1/link", '2', 0, "sub/big", 0777, false);
    m_add(m, "d1/link", '2', 0, 0, "sub/big");

    /* pax path (longer than a ustar name) before a file */
    snprintf(longpath, sizeof(longpath), "d2/%0150d/file with spaces", 7);
    n = pax_record(rec, sizeof(rec), "path", longpath);
    add_pax(a, rec, n);
    add_file(a, m, "d2/truncated-name", longpath, 1500, false);

    /* a pax header bigger than a part, before a file bigger than a part */
    {
        char        comment[2100];
        size_t      n2;

        memset(comment, 'c', sizeof(comment) - 1);
        comment[sizeof(comment) - 1] = '\0';
        n = pax_record(rec, sizeof(rec), "comment", comment);
        n2 = pax_record(rec + n, sizeof(rec) - n, "mtime", "1700000123.5");
        add_pax(a, rec, n + n2);
        add_file(a, m, "d2/paxbig", "d2/paxbig", 3000, false);
    }

    /* GNU long name */
    snprintf(longpath, sizeof(longpath), "d3/%0120d", 42);
    ar_header(a, "././@LongLink", 'L', strlen(longpath) + 1, NULL, 0644, false);
    ar_data(a, longpath, strlen(longpath) + 1);
    add_file(a, m, "d3/cut", longpath, 700, false);

    /* GNU base-256 size */
    add_file(a, m, "d1/b256", "d1/b256", 2000, true);

    /* a pax header before a directory */
    n = pax_record(rec, sizeof(rec), "mtime", "1700000999");
    add_pax(a, rec, n);
    add_dir(a, m, "d4/");

    /* many small members: many possible cuts */
    for (int i = 0; i < 20; i++)
    {
        char        name[32];

        snprintf(name, sizeof(name), "d4/f%02d", i);
        add_file(a, m, name, name, (size_t) i * 97, false);
    }

    /* PostgreSQL's tablespace link, trailing slash on the name */
    add_dir(a, m, "pg_tblspc/");
    ar_header(a, "pg_tblspc/16385/", '2', 0, "/srv/ts/16385", 0777, false);
    m_add(m, "pg_tblspc/16385", '2', 0, 0, "/srv/ts/16385");

    add_file(a, m, "huge", "huge", 20000, false);
    add_file(a, m, "last", "last", 10, false);

    ar_zeros(a, END_LEN + extra_zeros);
}

/* ---- collecting parts ------------------------------------------------------------ */

struct track
{
    struct filter base;
    struct ctx *c;
    uint32_t    part;
};

struct ctx
{
    unsigned char *part[MAX_PARTS];
    size_t      len[MAX_PARTS];
    uint32_t    opened;             /* open_part calls */
    uint32_t    closed;             /* close_part calls */
    int         freed[MAX_PARTS];   /* sinks freed, by part */
    bool        open;               /* a sink is out */
    struct filter *current;
    int         fail_open_at;       /* make open_part fail for this part (-1: never) */
    int         fail_close_at;
};

static int
track_write(struct filter *f, const void *buf, size_t len, struct ws_err *err)
{
    return filter_write(f->next, buf, len, err);
}

static int
track_finish(struct filter *f, struct ws_err *err)
{
    return filter_finish(f->next, err);
}

static void
track_free(struct filter *f)
{
    struct track *t = (struct track *) f;

    t->c->freed[t->part]++;
    if (t->c->current == f)
    {
        t->c->current = NULL;
        t->c->open = false;
    }
    free(t);
}

static const struct filter_ops track_ops = {"track", track_write, track_finish, track_free};

static int
open_part(void *arg, uint32_t part, struct filter **sink, struct ws_err *err)
{
    struct ctx *c = arg;
    struct track *t;
    struct filter *mem;

    cr_assert_not(c->open, "part %u opened while part %u is open", part, c->opened - 1);
    cr_assert_eq(part, c->opened, "part %u opened, expected %u", part, c->opened);
    cr_assert_eq(c->closed, c->opened, "part %u opened before part %u was closed", part,
                 c->closed);
    cr_assert_lt(part, MAX_PARTS);
    if ((int) part == c->fail_open_at)
        return err_set(err, WS_ENOSPC, "no room for part %u", part);
    mem = filter_mem_new(PART_CAP);
    cr_assert_not_null(mem);
    t = calloc(1, sizeof(*t));
    cr_assert_not_null(t);
    t->base.ops = &track_ops;
    t->base.next = mem;
    t->c = c;
    t->part = part;
    c->opened++;
    c->open = true;
    c->current = &t->base;
    *sink = &t->base;
    return 0;
}

static int
close_part(void *arg, struct filter *sink, struct ws_err *err)
{
    struct ctx *c = arg;
    struct track *t = (struct track *) sink;
    const unsigned char *data;
    size_t      len;
    uint32_t    part = t->part;
    int         rc = 0;

    cr_assert(c->open);
    cr_assert_eq(sink, c->current, "close_part got a sink that is not the open one");
    cr_assert_eq(part, c->closed, "part %u closed, expected %u", part, c->closed);
    c->closed++;
    if ((int) part == c->fail_close_at)
        rc = err_set(err, WS_EIO, "could not store part %u", part);
    else if (filter_finish(sink, err) < 0)
        rc = -1;
    else
    {
        data = filter_mem_data(sink->next, &len);
        c->part[part] = malloc(len ? len : 1);
        cr_assert_not_null(c->part[part]);
        if (len)
            memcpy(c->part[part], data, len);
        c->len[part] = len;
    }
    filter_free(sink);              /* the callee frees, even on failure */
    return rc;
}

static void
ctx_init(struct ctx *c)
{
    memset(c, 0, sizeof(*c));
    c->fail_open_at = -1;
    c->fail_close_at = -1;
}

static void
ctx_free(struct ctx *c)
{
    for (int i = 0; i < MAX_PARTS; i++)
        free(c->part[i]);
}

/* Every sink handed out was freed exactly once. */
static void
assert_sinks_freed(const struct ctx *c)
{
    cr_assert_not(c->open, "a sink is still open");
    for (uint32_t i = 0; i < c->opened; i++)
        cr_assert_eq(c->freed[i], 1, "sink of part %u freed %d times", i, c->freed[i]);
    for (uint32_t i = c->opened; i < MAX_PARTS; i++)
        cr_assert_eq(c->freed[i], 0);
}

/* ---- feeding ------------------------------------------------------------------------ */

#define CHUNK_ALL 0
#define CHUNK_RANDOM SIZE_MAX

static uint64_t
rnd(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Write data into f in pieces of `chunk` bytes (CHUNK_ALL, CHUNK_RANDOM: mixed sizes). */
static int
feed(struct filter *f, const unsigned char *data, size_t len, size_t chunk, uint64_t seed,
     struct ws_err *err)
{
    static const size_t mix[] = {1, 511, 512, 513, 7000, 2, 1023, 1025, 100000};
    uint64_t    s = seed * 0x9E3779B97F4A7C15ULL + 1;
    size_t      off = 0;

    if (chunk == CHUNK_ALL)
        return filter_write(f, data, len, err);
    while (off < len)
    {
        size_t      n = chunk;

        if (chunk == CHUNK_RANDOM)
        {
            n = mix[rnd(&s) % (sizeof(mix) / sizeof(mix[0]))];
            if (rnd(&s) % 4 == 0)
                n = 1 + rnd(&s) % 3000;
        }
        if (n > len - off)
            n = len - off;
        if (filter_write(f, data + off, n, err) < 0)
            return -1;
        /* an empty write in between changes nothing */
        if (filter_write(f, data + off, 0, err) < 0)
            return -1;
        off += n;
    }
    return 0;
}

/* Split data; returns write+finish's result; the filter is freed. */
static int
split(const unsigned char *data, size_t len, uint64_t part_size, size_t chunk, uint64_t seed,
      struct ctx *c, struct ws_err *err)
{
    struct filter *f = tar_split_new(part_size, open_part, close_part, c, err);
    int         rc;

    cr_assert_not_null(f, "tar_split_new: %s", err->msg);
    rc = feed(f, data, len, chunk, seed, err);
    if (rc == 0)
        rc = filter_finish(f, err);
    filter_free(f);
    assert_sinks_freed(c);
    return rc;
}

/* ---- reading headers back ------------------------------------------------------------ */

static uint64_t
hdr_size(const unsigned char *h)
{
    uint64_t    v = 0;

    if (h[124] & 0x80)
    {
        for (int i = 1; i < 12; i++)
            v = (v << 8) | h[124 + i];
        return v;
    }
    for (int i = 0; i < 12 && h[124 + i] >= '0' && h[124 + i] <= '7'; i++)
        v = v * 8 + (uint64_t) (h[124 + i] - '0');
    return v;
}

static bool
all_zero(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return false;
    return true;
}

static bool
is_ext(char type)
{
    return type == 'x' || type == 'g' || type == 'L' || type == 'K';
}

/*
 * Walk the members of one part.  Asserts the part is a well-formed sequence
 * of members ending in zero blocks, that no extended header is the last
 * member (its member is in the same part), and that every place the part
 * could have been cut (a header not following an extended header), other
 * than its start, lies before part_size.  Returns the number of members.
 */
static int
walk_part(const unsigned char *p, size_t len, uint32_t idx, uint64_t part_size)
{
    size_t      off = 0;
    bool        prev_ext = false;
    int         members = 0;

    for (;;)
    {
        const unsigned char *h;
        uint64_t    size;
        char        type;

        cr_assert_leq(off + BLOCK, len, "part %u: no end of archive (offset %zu of %zu)", idx,
                      off, len);
        h = p + off;
        if (all_zero(h, BLOCK))
        {
            cr_assert_not(prev_ext, "part %u ends after an extended header without its "
                          "member", idx);
            cr_assert(all_zero(p + off, len - off), "part %u: data after the end", idx);
            cr_assert_geq(len - off, (size_t) END_LEN, "part %u: fewer than 2 end blocks", idx);
            return members;
        }
        type = (char) h[156];
        if (!prev_ext && off > 0 && part_size > 0)
            cr_assert_lt(off, part_size, "part %u goes on with a member at %zu, past "
                         "part_size %llu", idx, off, (unsigned long long) part_size);
        size = hdr_size(h);
        if (type == '5' || type == '2' || type == '1')
            size = 0;
        off += BLOCK + (size_t) ((size + BLOCK - 1) / BLOCK * BLOCK);
        prev_ext = is_ext(type);
        members++;
    }
}

/* Members of an archive, an extended header and its member counting once. */
static int
count_groups(const struct ar *a)
{
    size_t      off = 0;
    int         n = 0;
    bool        prev_ext = false;

    while (off + BLOCK <= a->len && !all_zero(a->d + off, BLOCK))
    {
        const unsigned char *h = a->d + off;
        uint64_t    size = hdr_size(h);
        char        type = (char) h[156];

        if (type == '5' || type == '2' || type == '1')
            size = 0;
        if (!prev_ext)
            n++;
        prev_ext = is_ext(type);
        off += BLOCK + (size_t) ((size + BLOCK - 1) / BLOCK * BLOCK);
    }
    return n;
}

/* ---- checking the parts ------------------------------------------------------------ */

static void
check_parts(const struct ctx *c, const unsigned char *data, size_t len, uint64_t part_size)
{
    size_t      off = 0;
    int         members = 0;

    cr_assert_geq(c->opened, 1);
    cr_assert_eq(c->closed, c->opened);
    for (uint32_t i = 0; i < c->opened; i++)
    {
        bool        last = i + 1 == c->opened;
        size_t      body = last ? c->len[i] : c->len[i] - END_LEN;

        cr_assert_not_null(c->part[i]);
        cr_assert_geq(c->len[i], (size_t) END_LEN, "part %u: %zu bytes", i, c->len[i]);
        cr_assert_eq(c->len[i] % BLOCK, 0, "part %u: %zu bytes", i, c->len[i]);
        cr_assert(all_zero(c->part[i] + c->len[i] - END_LEN, END_LEN),
                  "part %u does not end with two zero blocks", i);
        /* concatenation without the added end blocks is the original */
        cr_assert_leq(off + body, len, "part %u: parts longer than the stream", i);
        cr_assert(memcmp(c->part[i], data + off, body) == 0, "part %u differs from the "
                  "stream at offset %zu", i, off);
        off += body;
        if (!last && part_size > 0)
            cr_assert_geq(body, part_size, "part %u: %zu bytes, part_size %llu", i, body,
                          (unsigned long long) part_size);
        members += walk_part(c->part[i], c->len[i], i, part_size);
    }
    cr_assert_eq(off, len, "parts hold %zu bytes of %zu", off, len);
    cr_assert_gt(members, 0);
}

/* ---- extracting and comparing --------------------------------------------------------- */

static const char *
spath(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static const char *
spath(const char *fmt, ...)
{
    static char bufs[8][PATH_MAX];
    static int  next;
    char       *b = bufs[next++ % 8];
    char        rel[256];
    va_list     ap;

    va_start(ap, fmt);
    vsnprintf(rel, sizeof(rel), fmt, ap);
    va_end(ap);
    cr_assert_lt(strlen(scratch) + 1 + strlen(rel), (size_t) PATH_MAX);
    snprintf(b, PATH_MAX, "%s/%s", scratch, rel);
    return b;
}

static void
extract(const unsigned char *data, size_t len, const char *dir, struct tar_extract_stats *st)
{
    struct tar_extract_opts o = {.symlinks = TAR_SYMLINKS_ANY};   /* d1/link: a general tree */
    struct ws_err err = WS_ERR_INIT;
    struct filter *f;
    struct stat sb;

    if (stat(dir, &sb) != 0)
        cr_assert_eq(mkdir(dir, 0700), 0, "mkdir %s: %s", dir, strerror(errno));
    o.target_dir = dir;
    f = tar_extract_new(&o, &err);
    cr_assert_not_null(f, "%s", err.msg);
    cr_assert_eq(filter_write(f, data, len, &err), 0, "extract into %s: %s", dir, err.msg);
    cr_assert_eq(filter_finish(f, &err), 0, "extract into %s: %s (%s)", dir, err.msg,
                 err.detail);
    if (st)
        tar_extract_stats(f, st);
    filter_free(f);
}

static const struct model *walk_model;
static const char *walk_root;
static int  walk_count;

static bool
is_expected_dir(const struct model *m, const char *rel)
{
    size_t      l = strlen(rel);

    for (int i = 0; i < m->n; i++)
    {
        if (m->e[i].type == '5' && strcmp(m->e[i].path, rel) == 0)
            return true;
        if (strncmp(m->e[i].path, rel, l) == 0 && m->e[i].path[l] == '/')
            return true;        /* an implicit parent */
    }
    return false;
}

static int
walk_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    const char *rel = path + strlen(walk_root);

    (void) flag;
    (void) ftw;
    if (*rel == '\0')
        return 0;
    cr_assert_eq(*rel, '/');
    rel++;
    walk_count++;
    if (S_ISDIR(sb->st_mode))
    {
        cr_assert(is_expected_dir(walk_model, rel), "unexpected directory %s", path);
        return 0;
    }
    for (int i = 0; i < walk_model->n; i++)
        if (strcmp(walk_model->e[i].path, rel) == 0)
        {
            cr_assert((walk_model->e[i].type == '0' && S_ISREG(sb->st_mode)) ||
                      (walk_model->e[i].type == '2' && S_ISLNK(sb->st_mode)),
                      "%s has the wrong type", path);
            return 0;
        }
    cr_assert_fail("unexpected entry %s", path);
    return 0;
}

/* dir holds exactly the model's entries, with their content and link targets. */
static void
compare_tree(const char *dir, const struct model *m)
{
    for (int i = 0; i < m->n; i++)
    {
        const struct entry *e = &m->e[i];
        char        p[2 * PATH_MAX];
        struct stat sb;

        cr_assert_lt(strlen(dir) + 1 + strlen(e->path), sizeof(p));
        snprintf(p, sizeof(p), "%s/%s", dir, e->path);
        cr_assert_eq(lstat(p, &sb), 0, "%s missing: %s", p, strerror(errno));
        if (e->type == '5')
            cr_assert(S_ISDIR(sb.st_mode), "%s is not a directory", p);
        else if (e->type == '2')
        {
            char        t[PATH_MAX];
            ssize_t     n;

            cr_assert(S_ISLNK(sb.st_mode), "%s is not a symbolic link", p);
            n = readlink(p, t, sizeof(t) - 1);
            cr_assert_geq(n, 0);
            t[n] = '\0';
            cr_assert_str_eq(t, e->link, "%s", p);
        }
        else
        {
            unsigned char *want = malloc(e->size + 1);
            unsigned char *got = malloc(e->size + 1);
            int         fd = open(p, O_RDONLY);
            size_t      have = 0;

            cr_assert(S_ISREG(sb.st_mode), "%s is not a regular file", p);
            cr_assert_eq((size_t) sb.st_size, e->size, "%s: %lld bytes, expected %zu", p,
                         (long long) sb.st_size, e->size);
            cr_assert_geq(fd, 0);
            while (have < e->size)
            {
                ssize_t     r = read(fd, got + have, e->size - have);

                cr_assert_gt(r, 0);
                have += (size_t) r;
            }
            close(fd);
            fill(want, e->size, e->seed);
            cr_assert(memcmp(want, got, e->size) == 0, "%s: wrong content", p);
            free(want);
            free(got);
        }
    }
    walk_model = m;
    walk_root = dir;
    walk_count = 0;
    cr_assert_eq(nftw(dir, walk_entry, 16, FTW_PHYS), 0);
    cr_assert_geq(walk_count, m->n);
}

/*
 * Each part on its own (counting what they hold), then all parts into one
 * directory front to back and back to front: the input, nothing more.
 */
static void
extract_parts(const struct ctx *c, const struct model *m, const char *tag)
{
    struct tar_extract_stats sum = {0, 0, 0, 0};
    uint64_t    bytes = 0;

    for (int i = 0; i < m->n; i++)
        if (m->e[i].type == '0')
            bytes += m->e[i].size;
    for (uint32_t i = 0; i < c->opened; i++)
    {
        struct tar_extract_stats st;

        extract(c->part[i], c->len[i], spath("%s-p%u", tag, i), &st);
        sum.files += st.files;
        sum.symlinks += st.symlinks;
        sum.bytes += st.bytes;
    }
    cr_assert_eq(sum.files, (uint64_t) m->files);
    cr_assert_eq(sum.symlinks, (uint64_t) m->links);
    cr_assert_eq(sum.bytes, bytes);

    for (uint32_t i = 0; i < c->opened; i++)
        extract(c->part[i], c->len[i], spath("%s-fwd", tag), NULL);
    compare_tree(spath("%s-fwd", tag), m);
    for (uint32_t i = c->opened; i-- > 0;)
        extract(c->part[i], c->len[i], spath("%s-rev", tag), NULL);
    compare_tree(spath("%s-rev", tag), m);
}

/* ---- the round trips ------------------------------------------------------------------ */

/* The writer itself is right: the whole archive extracts to the model. */
Test(tar_split, writer_sanity)
{
    struct ar   a;
    struct model m;
    struct tar_extract_stats st;

    build_archive(&a, &m, 0);
    extract(a.d, a.len, spath("whole"), &st);
    compare_tree(spath("whole"), &m);
    cr_assert_eq(st.files, (uint64_t) m.files);
    cr_assert_eq(st.symlinks, (uint64_t) m.links);
    free(a.d);
}

struct split_case
{
    size_t      chunk;
    uint64_t    part_size;
    size_t      extra_zeros;        /* beyond the two end blocks */
};

ParameterizedTestParameters(tar_split, round_trip)
{
    static struct split_case cases[] = {
        {1, 1024, 0},
        {511, 1024, 0},
        {512, 1024, 0},
        {513, 1024, 0},
        {7000, 1024, 0},
        {CHUNK_ALL, 1024, 0},
        {CHUNK_RANDOM, 1024, 0},
        {513, 1, 0},                    /* a cut before every member */
        {CHUNK_RANDOM, 1, 0},
        {511, 4096, 0},
        {CHUNK_RANDOM, 10000, 0},
        {1, 1536, 8192},                /* GNU tar's 10 KiB record padding */
        {7000, 1024, 9216},
        {CHUNK_RANDOM, 0, 0},           /* 0 = no split */
        {1, 0, 0},
        {CHUNK_ALL, UINT64_MAX, 0},
    };

    return cr_make_param_array(struct split_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct split_case *sc, tar_split, round_trip)
{
    struct ar   a;
    struct model m;
    struct ctx *c = malloc(sizeof(*c));
    struct ws_err err = WS_ERR_INIT;
    uint64_t    ps = sc->part_size;

    cr_assert_not_null(c);
    build_archive(&a, &m, sc->extra_zeros);
    for (uint64_t seed = 1; seed <= (sc->chunk == CHUNK_RANDOM ? 3u : 1u); seed++)
    {
        char        tag[32];

        ctx_init(c);
        cr_assert_eq(split(a.d, a.len, ps, sc->chunk, seed, c, &err), 0, "%s", err.msg);
        check_parts(c, a.d, a.len, ps == UINT64_MAX ? 0 : ps);
        if (ps == 0 || ps == UINT64_MAX)
        {
            cr_assert_eq(c->opened, 1, "%u parts without a part size", c->opened);
            cr_assert_eq(c->len[0], a.len);
        }
        else if (ps <= 1024)
            cr_assert_geq(c->opened, 10, "only %u parts", c->opened);
        if (ps == 1)        /* one member (with its extended header) per part */
            cr_assert_eq(c->opened, (uint32_t) count_groups(&a), "%u parts", c->opened);
        /* the trailing zeros stay in the last part unchanged */
        cr_assert_geq(c->len[c->opened - 1], END_LEN + sc->extra_zeros);
        snprintf(tag, sizeof(tag), "s%llu", (unsigned long long) seed);
        extract_parts(c, &m, tag);
        ctx_free(c);
    }
    free(a.d);
    free(c);
}

/* The same stream in different piece sizes: the same parts. */
Test(tar_split, parts_independent_of_piece_sizes)
{
    static const size_t chunks[] = {1, 511, 512, 513, 7000, CHUNK_RANDOM};
    struct ar   a;
    struct model m;
    struct ctx *ref = malloc(sizeof(*ref));
    struct ctx *c = malloc(sizeof(*c));
    struct ws_err err = WS_ERR_INIT;

    cr_assert_not_null(ref);
    cr_assert_not_null(c);
    build_archive(&a, &m, 0);
    ctx_init(ref);
    cr_assert_eq(split(a.d, a.len, 1024, CHUNK_ALL, 0, ref, &err), 0, "%s", err.msg);
    for (size_t k = 0; k < sizeof(chunks) / sizeof(chunks[0]); k++)
    {
        ctx_init(c);
        cr_assert_eq(split(a.d, a.len, 1024, chunks[k], 99, c, &err), 0, "%s", err.msg);
        cr_assert_eq(c->opened, ref->opened, "chunk %zu", chunks[k]);
        for (uint32_t i = 0; i < c->opened; i++)
        {
            cr_assert_eq(c->len[i], ref->len[i], "chunk %zu part %u", chunks[k], i);
            cr_assert(memcmp(c->part[i], ref->part[i], c->len[i]) == 0, "chunk %zu part %u",
                      chunks[k], i);
        }
        ctx_free(c);
    }
    ctx_free(ref);
    free(ref);
    free(c);
    free(a.d);
}

/* Hand-placed cuts: the exact parts for a simple archive. */
Test(tar_split, cut_positions)
{
    struct ar   a = {0};
    struct ctx *c = malloc(sizeof(*c));
    struct ws_err err = WS_ERR_INIT;
    unsigned char buf[3000];
    char        rec[256];
    size_t      n;

    cr_assert_not_null(c);
    fill(buf, sizeof(buf), 5);
    ar_header(&a, "a", '0', 100, NULL, 0600, false);    /* 1024 bytes */
    ar_data(&a, buf, 100);
    ar_header(&a, "b", '0', 600, NULL, 0600, false);    /* 1536: reaches 1024 -> cut before */
    ar_data(&a, buf, 600);
    n = pax_record(rec, sizeof(rec), "path", "c-from-pax");
    add_pax(&a, rec, n);                                /* 1024 */
    ar_header(&a, "c", '0', 3000, NULL, 0600, false);   /* 3584 */
    ar_data(&a, buf, 3000);
    ar_header(&a, "d/", '5', 0, NULL, 0700, false);     /* 512 */
    ar_zeros(&a, END_LEN);

    /* part_size 1024: [a] [b] [pax c] [d end] */
    ctx_init(c);
    cr_assert_eq(split(a.d, a.len, 1024, 1, 0, c, &err), 0, "%s", err.msg);
    cr_assert_eq(c->opened, 4);
    cr_assert_eq(c->len[0], 1024 + END_LEN);
    cr_assert_eq(c->len[1], 1536 + END_LEN);
    cr_assert_eq(c->len[2], 1024 + 3584 + END_LEN);
    cr_assert_eq(c->len[3], 512 + END_LEN);
    cr_assert_eq(c->part[2][156], 'x');
    cr_assert_eq(memcmp(c->part[3], "d/", 3), 0);
    ctx_free(c);

    /* part_size 1025: a is too small alone, [a b] [pax c] [d end] */
    ctx_init(c);
    cr_assert_eq(split(a.d, a.len, 1025, 513, 0, c, &err), 0, "%s", err.msg);
    cr_assert_eq(c->opened, 3);
    cr_assert_eq(c->len[0], 2560 + END_LEN);
    cr_assert_eq(c->len[1], 4608 + END_LEN);
    cr_assert_eq(c->len[2], 512 + END_LEN);
    ctx_free(c);

    /* part_size 2561: [a b pax c] [d end] — never between pax and c */
    ctx_init(c);
    cr_assert_eq(split(a.d, a.len, 2561, 7000, 0, c, &err), 0, "%s", err.msg);
    cr_assert_eq(c->opened, 2);
    cr_assert_eq(c->len[0], 2560 + 4608 + END_LEN);
    ctx_free(c);

    /* part_size bigger than the archive: one part, the stream itself */
    ctx_init(c);
    cr_assert_eq(split(a.d, a.len, 1 << 20, 512, 0, c, &err), 0, "%s", err.msg);
    cr_assert_eq(c->opened, 1);
    cr_assert_eq(c->len[0], a.len);
    cr_assert(memcmp(c->part[0], a.d, a.len) == 0);
    ctx_free(c);

    free(c);
    free(a.d);
}

/* An archive of only the end blocks extracts; an empty stream is refused. */
Test(tar_split, empty_archives)
{
    struct ctx *c = malloc(sizeof(*c));
    struct ws_err err = WS_ERR_INIT;
    unsigned char zeros[END_LEN] = {0};
    struct filter *f;

    cr_assert_not_null(c);
    ctx_init(c);
    cr_assert_eq(split(zeros, sizeof(zeros), 1, 1, 0, c, &err), 0, "%s", err.msg);
    cr_assert_eq(c->opened, 1);
    cr_assert_eq(c->len[0], END_LEN);
    extract(c->part[0], c->len[0], spath("empty"), NULL);
    ctx_free(c);

    /* nothing written: not a tar archive (no end-of-archive blocks) */
    ctx_init(c);
    f = tar_split_new(1024, open_part, close_part, c, &err);
    cr_assert_not_null(f);
    cr_assert_eq(c->opened, 0, "a part was opened before the first byte");
    cr_assert_eq(filter_finish(f, &err), -1, "an empty stream passed");
    cr_assert_eq(err.code, WS_ECORRUPT);
    filter_free(f);
    assert_sinks_freed(c);
    ctx_free(c);
    free(c);
}

/* ---- failures ------------------------------------------------------------------------ */

static void
expect_split_fails(const unsigned char *data, size_t len, size_t chunk, enum ws_code code,
                   const char *sub)
{
    struct ctx *c = malloc(sizeof(*c));
    struct ws_err err = WS_ERR_INIT;

    cr_assert_not_null(c);
    ctx_init(c);
    cr_assert_eq(split(data, len, 1024, chunk, 3, c, &err), -1, "split succeeded "
                 "(%zu bytes, chunk %zu)", len, chunk);
    cr_assert_eq(err.code, code, "code %s: %s", err_code_name(err.code), err.msg);
    if (sub)
        cr_assert_not_null(strstr(err.msg, sub), "\"%s\" not in \"%s\"", sub, err.msg);
    ctx_free(c);
    free(c);
}

/* Cut inside a header, inside data, inside padding, inside a pax header's data. */
Test(tar_split, truncated_stream_fails_at_finish)
{
    static const size_t chunks[] = {1, 511, 512, 513, 7000, CHUNK_ALL, CHUNK_RANDOM};
    struct ar   a;
    struct model m;
    size_t      cuts[16];
    int         ncuts = 0;
    size_t      off = 0;

    build_archive(&a, &m, 0);
    /* find member offsets to place cuts */
    while (off + BLOCK <= a.len && !all_zero(a.d + off, BLOCK))
    {
        const unsigned char *h = a.d + off;
        uint64_t    size = hdr_size(h);
        char        type = (char) h[156];

        if (type == '5' || type == '2')
            size = 0;
        if (ncuts < 14 && (size > 600 || off == 0))
        {
            cuts[ncuts++] = off + 1;                /* a header's first byte */
            if (ncuts < 14 && size > 600)
                cuts[ncuts++] = off + BLOCK + 300;  /* in the data */
        }
        if (ncuts < 15 && size == 513)
            cuts[ncuts++] = off + BLOCK + 600;      /* in the padding */
        off += BLOCK + (size_t) ((size + BLOCK - 1) / BLOCK * BLOCK);
    }
    cuts[ncuts++] = 511;
    cr_assert_geq(ncuts, 8);
    for (int i = 0; i < ncuts; i++)
        for (size_t k = 0; k < sizeof(chunks) / sizeof(chunks[0]); k++)
        {
            struct ctx *c = malloc(sizeof(*c));
            struct filter *f;
            struct ws_err err = WS_ERR_INIT;

            cr_assert_not_null(c);
            ctx_init(c);
            f = tar_split_new(1024, open_part, close_part, c, &err);
            cr_assert_not_null(f);
            /* the writes succeed: the stream is only known to be short at its end */
            cr_assert_eq(feed(f, a.d, cuts[i], chunks[k], 7, &err), 0, "cut %zu: %s",
                         cuts[i], err.msg);
            cr_assert_eq(filter_finish(f, &err), -1, "truncated at %zu of %zu: finish "
                         "succeeded", cuts[i], a.len);
            cr_assert_eq(err.code, WS_ECORRUPT, "cut %zu: %s: %s", cuts[i],
                         err_code_name(err.code), err.msg);
            cr_assert_not_null(strstr(err.msg, "truncated"), "%s", err.msg);
            /* and stays failed */
            cr_assert_eq(filter_finish(f, &err), -1);
            cr_assert_eq(filter_write(f, a.d, 1, &err), -1);
            filter_free(f);
            assert_sinks_freed(c);
            /* the parts closed before the cut are whole archives */
            for (uint32_t p = 0; p < c->closed; p++)
            {
                cr_assert_leq(c->len[p], cuts[i] + END_LEN);
                walk_part(c->part[p], c->len[p], p, 1024);
            }
            ctx_free(c);
            free(c);
        }
    free(a.d);
}

/*
 * A stream cut exactly at a member boundary, before the end-of-archive
 * blocks, or right after an extended header, must fail at finish: its last
 * part would not extract.
 */
Test(tar_split, truncated_at_member_boundary_fails_at_finish)
{
    struct ar   a = {0};
    char        rec[128];
    size_t      n;
    size_t      after_a, after_pax;

    ar_header(&a, "a", '0', 10, NULL, 0600, false);
    ar_data(&a, "0123456789", 10);
    after_a = a.len;
    n = pax_record(rec, sizeof(rec), "path", "b");
    add_pax(&a, rec, n);
    after_pax = a.len;
    ar_header(&a, "b", '0', 0, NULL, 0600, false);
    ar_zeros(&a, END_LEN);

    expect_split_fails(a.d, after_a, 512, WS_ECORRUPT, NULL);           /* no end blocks */
    expect_split_fails(a.d, after_pax, 512, WS_ECORRUPT, NULL);         /* pax, no member */
    expect_split_fails(a.d, after_a + BLOCK, 512, WS_ECORRUPT, NULL);   /* one zero block */
    free(a.d);
}

Test(tar_split, garbage_header_fails)
{
    struct ar   a = {0};
    unsigned char buf[700];
    size_t      bad;

    fill(buf, sizeof(buf), 1);
    ar_header(&a, "ok", '0', sizeof(buf), NULL, 0600, false);
    ar_data(&a, buf, sizeof(buf));
    bad = ar_header(&a, "bad", '0', 10, NULL, 0600, false);
    memcpy(a.d + bad + 124, "0000000001x ", 12);        /* not octal */
    ar_data(&a, "0123456789", 10);
    ar_zeros(&a, END_LEN);

    expect_split_fails(a.d, a.len, 1, WS_ECORRUPT, "1536");
    expect_split_fails(a.d, a.len, 513, WS_ECORRUPT, "offset");
    expect_split_fails(a.d, a.len, CHUNK_ALL, WS_ECORRUPT, NULL);

    /* other malformed size fields */
    {
        static const char *const sizes[] = {"hello world!", "-0000000001 ", "00000000009 ",
                                            "0x0000000001", "9"};

        for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
        {
            memset(a.d + bad + 124, 0, 12);
            memcpy(a.d + bad + 124, sizes[i], strlen(sizes[i]));
            expect_split_fails(a.d, a.len, 512, WS_ECORRUPT, NULL);
        }
    }
    /* base-256 too large for 64 bits */
    memset(a.d + bad + 124, 0xff, 12);
    a.d[bad + 124] = 0x80;
    expect_split_fails(a.d, a.len, 7000, WS_ECORRUPT, NULL);
    free(a.d);

    /* a text file is not a tar stream */
    {
        char        text[2048];

        for (size_t i = 0; i < sizeof(text); i++)
            text[i] = "The quick brown fox jumps over the lazy dog. "[i % 45];
        expect_split_fails((const unsigned char *) text, sizeof(text), 511, WS_ECORRUPT,
                           "offset 0");
    }
}

/* After a failure the filter refuses further use; freeing it frees the open sink once. */
Test(tar_split, failure_then_free)
{
    struct ar   a = {0};
    struct ctx *c = malloc(sizeof(*c));
    struct ws_err err = WS_ERR_INIT;
    struct filter *f;
    size_t      bad;

    cr_assert_not_null(c);
    ar_header(&a, "ok", '0', 10, NULL, 0600, false);
    ar_data(&a, "0123456789", 10);
    bad = ar_header(&a, "bad", '0', 10, NULL, 0600, false);
    memcpy(a.d + bad + 124, "zzzzzzzzzzz ", 12);
    ar_zeros(&a, END_LEN);

    ctx_init(c);
    f = tar_split_new(1, open_part, close_part, c, &err);
    cr_assert_not_null(f);
    cr_assert_eq(filter_write(f, a.d, a.len, &err), -1);
    cr_assert_eq(err.code, WS_ECORRUPT, "%s", err.msg);
    cr_assert_eq(filter_write(f, a.d, 1, &err), -1);
    cr_assert_eq(err.code, WS_EINTERNAL, "%s", err.msg);
    cr_assert_eq(filter_finish(f, &err), -1);
    cr_assert_eq(err.code, WS_EINTERNAL, "%s", err.msg);
    /* part 0 ("ok") is still open: the bad header is refused before any cut */
    cr_assert_eq(c->opened, 1);
    cr_assert_eq(c->closed, 0);
    cr_assert(c->open);
    filter_free(f);
    assert_sinks_freed(c);
    ctx_free(c);
    free(c);
    free(a.d);
}

/* Freeing without a finish frees (aborts) the open sink, whatever was written. */
Test(tar_split, free_without_finish_frees_open_sink)
{
    static const size_t stops[] = {1, 511, 512, 513, 1024, 1536, 7000, 20000};
    struct ar   a;
    struct model m;

    build_archive(&a, &m, 0);
    for (size_t i = 0; i < sizeof(stops) / sizeof(stops[0]); i++)
    {
        struct ctx *c = malloc(sizeof(*c));
        struct ws_err err = WS_ERR_INIT;
        struct filter *f;

        cr_assert_not_null(c);
        ctx_init(c);
        f = tar_split_new(1024, open_part, close_part, c, &err);
        cr_assert_not_null(f);
        cr_assert_eq(feed(f, a.d, stops[i], 511, 1, &err), 0, "%s", err.msg);
        if (stops[i] < BLOCK)
        {
            /* a part is opened when its first byte is ready: a whole header */
            cr_assert_eq(c->opened, 0, "part opened after %zu bytes", stops[i]);
        }
        else
        {
            cr_assert_geq(c->opened, 1);
            cr_assert(c->open, "no part open after %zu bytes", stops[i]);
            cr_assert_eq(c->closed, c->opened - 1);
        }
        filter_free(f);
        assert_sinks_freed(c);
        cr_assert_eq(c->closed, c->opened ? c->opened - 1 : 0, "close_part called by free");
        ctx_free(c);
        free(c);
    }

    /* created and freed at once: nothing opened */
    {
        struct ctx *c = malloc(sizeof(*c));
        struct ws_err err = WS_ERR_INIT;
        struct filter *f;

        cr_assert_not_null(c);
        ctx_init(c);
        f = tar_split_new(0, open_part, close_part, c, &err);
        cr_assert_not_null(f);
        filter_free(f);
        cr_assert_eq(c->opened, 0);
        ctx_free(c);
        free(c);
    }
    free(a.d);
}

/* open_part and close_part failures reach the caller; no sink leaks. */
Test(tar_split, callback_failures)
{
    struct ar   a;
    struct model m;

    build_archive(&a, &m, 0);
    for (int at = 0; at < 3; at++)
    {
        struct ctx *c = malloc(sizeof(*c));
        struct ws_err err = WS_ERR_INIT;

        cr_assert_not_null(c);
        ctx_init(c);
        c->fail_open_at = at;
        cr_assert_eq(split(a.d, a.len, 1024, 513, 0, c, &err), -1);
        cr_assert_eq(err.code, WS_ENOSPC, "%s", err.msg);
        cr_assert_eq(c->opened, (uint32_t) at);
        ctx_free(c);

        ctx_init(c);
        c->fail_close_at = at;
        cr_assert_eq(split(a.d, a.len, 1024, 7000, 0, c, &err), -1);
        cr_assert_eq(err.code, WS_EIO, "%s", err.msg);
        cr_assert_eq(c->closed, (uint32_t) at + 1);
        ctx_free(c);
        free(c);
    }
    /* the failing close is the last one, at finish */
    {
        struct ctx *c = malloc(sizeof(*c));
        struct ws_err err = WS_ERR_INIT;

        cr_assert_not_null(c);
        ctx_init(c);
        c->fail_close_at = 0;
        cr_assert_eq(split(a.d, a.len, 0, 7000, 0, c, &err), -1);
        cr_assert_eq(err.code, WS_EIO, "%s", err.msg);
        cr_assert_eq(c->opened, 1);
        ctx_free(c);
        free(c);
    }
    free(a.d);
}
