/*
 * archive_spool.c — the records of WAL files pushed ahead of the archiver
 * (archive_spool.h says what a record proves and why a crash cannot make
 * one lie).
 *
 * The text, one "key = value" per line, in this order:
 *
 *     walship-archive spool record 1
 *     name = 000000010000000000000005
 *     size = 16777216
 *     xxh64 = 0123456789abcdef
 *     stored = 1234567
 *     system_identifier = 7301234567890123456
 *     repo = s3://bucket/prefix
 *     check = <XXH64 of every byte above, 16 hex digits>
 *
 * The check line is last, so a record cut anywhere (a crash after rename
 * but before the data reached the disk leaves a short, empty or zeroed file
 * on some file systems) fails to parse.
 */
#include "archive_spool.h"
#include "checksum.h"
#include "fileutil.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SPOOL_MAGIC "walship-archive spool record 1\n"
#define SPOOL_CHECK_SEED 0x7370006f6f6cULL     /* not the objects' seed: a record is no object */
#define HASH_BLOCK (1u << 20)

int
archive_spool_format(const struct archive_spool_record *r, char *buf, size_t len)
{
    int         n, m;

    if (strchr(r->repo, '\n') != NULL || strchr(r->name, '\n') != NULL || r->name[0] == '\0')
        return -1;
    n = snprintf(buf, len,
                 SPOOL_MAGIC "name = %s\nsize = %" PRIu64 "\nxxh64 = %016" PRIx64
                 "\nstored = %" PRIu64 "\nsystem_identifier = %" PRIu64 "\nrepo = %s\n",
                 r->name, r->size, r->xxh64, r->stored, r->system_identifier, r->repo);
    if (n < 0 || (size_t) n >= len)
        return -1;
    m = snprintf(buf + n, len - (size_t) n, "check = %016" PRIx64 "\n",
                 xxh64(buf, (size_t) n, SPOOL_CHECK_SEED));
    if (m < 0 || (size_t) m >= len - (size_t) n)
        return -1;
    return n + m;
}

/* The value of line "<key> = value\n" at *p; advances *p past it.  NULL if it is not that line. */
static const char *
take_line(const char **p, const char *end, const char *key, char *val, size_t vlen)
{
    size_t      klen = strlen(key);
    const char *nl;
    size_t      n;

    if ((size_t) (end - *p) < klen + 3 || memcmp(*p, key, klen) != 0 ||
        memcmp(*p + klen, " = ", 3) != 0)
        return NULL;
    *p += klen + 3;
    nl = memchr(*p, '\n', (size_t) (end - *p));
    if (nl == NULL)
        return NULL;
    n = (size_t) (nl - *p);
    if (n >= vlen)
        return NULL;
    memcpy(val, *p, n);
    val[n] = '\0';
    *p = nl + 1;
    return val;
}

static int
take_u64(const char **p, const char *end, const char *key, int base, uint64_t *out)
{
    char        v[32];
    char        canon[32];
    char       *e;

    if (take_line(p, end, key, v, sizeof(v)) == NULL || v[0] == '\0' || v[0] == '-' ||
        v[0] == '+' || v[0] == ' ')
        return -1;
    errno = 0;
    *out = strtoull(v, &e, base);
    if (errno != 0 || *e != '\0')
        return -1;
    /* canonical text only: one record has one spelling */
    snprintf(canon, sizeof(canon), base == 16 ? "%016" PRIx64 : "%" PRIu64, *out);
    return strcmp(canon, v) == 0 ? 0 : -1;
}

int
archive_spool_parse(const char *text, size_t len, struct archive_spool_record *r)
{
    const char *p = text;
    const char *end = text + len;
    const char *body_end;
    uint64_t    check;

    memset(r, 0, sizeof(*r));
    if (len < sizeof(SPOOL_MAGIC) - 1 || memcmp(p, SPOOL_MAGIC, sizeof(SPOOL_MAGIC) - 1) != 0)
        return -1;
    p += sizeof(SPOOL_MAGIC) - 1;
    if (take_line(&p, end, "name", r->name, sizeof(r->name)) == NULL || r->name[0] == '\0' ||
        take_u64(&p, end, "size", 10, &r->size) < 0 ||
        take_u64(&p, end, "xxh64", 16, &r->xxh64) < 0 ||
        take_u64(&p, end, "stored", 10, &r->stored) < 0 ||
        take_u64(&p, end, "system_identifier", 10, &r->system_identifier) < 0 ||
        take_line(&p, end, "repo", r->repo, sizeof(r->repo)) == NULL)
        goto bad;
    body_end = p;
    if (take_u64(&p, end, "check", 16, &check) < 0 || p != end ||
        check != xxh64(text, (size_t) (body_end - text), SPOOL_CHECK_SEED))
        goto bad;
    return 0;
bad:
    memset(r, 0, sizeof(*r));
    return -1;
}

static int
record_path(const char *dir, const char *name, char *buf, size_t len)
{
    int         n = snprintf(buf, len, "%s/%s", dir, name);

    return n < 0 || (size_t) n >= len ? -1 : 0;
}

int
archive_spool_write(const char *dir, const struct archive_spool_record *r, struct ws_err *err)
{
    char        text[ARCHIVE_SPOOL_RECORD_MAX];
    char        path[4200], tmp[4300];
    int         n = archive_spool_format(r, text, sizeof(text));
    int         fd = -1;
    int         rc = -1;

    if (n < 0)
        return err_set(err, WS_EINTERNAL, "spool record for \"%s\" too long", r->name);
    if (record_path(dir, r->name, path, sizeof(path)) < 0 ||
        snprintf(tmp, sizeof(tmp), "%s/.%s.%ld.tmp", dir, r->name, (long) getpid()) >=
        (int) sizeof(tmp))
        return err_set(err, WS_EINPUT, "spool directory path \"%s\" too long", dir);
    if (mkdir(dir, 0700) < 0 && errno != EEXIST)
        return err_set_errno(err, WS_EIO, errno, "could not create directory \"%s\"", dir);
    /*
     * No fsync: a record lost or cut short by a crash is no record (the
     * check line), and then the archiver's call pushes again.
     */
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return err_set_errno(err, WS_EIO, errno, "could not create file \"%s\"", tmp);
    if (file_write_all(fd, text, (size_t) n, tmp, err) < 0)
        goto out;
    if (close(fd) < 0)
    {
        fd = -1;
        err_set_errno(err, WS_EIO, errno, "could not write file \"%s\"", tmp);
        goto out;
    }
    fd = -1;
    if (rename(tmp, path) < 0)
    {
        err_set_errno(err, WS_EIO, errno, "could not rename \"%s\" to \"%s\"", tmp, path);
        goto out;
    }
    rc = 0;
out:
    if (fd >= 0)
        close(fd);
    if (rc < 0)
        unlink(tmp);
    return rc;
}

/* Size and XXH64 of the file's bytes now; -1 if it cannot be read whole. */
static int
hash_path(const char *path, uint64_t *size, uint64_t *xxh)
{
    struct xxh64_state st;
    unsigned char *buf = malloc(HASH_BLOCK);
    uint64_t    total = 0;
    int         fd = -1;
    int         rc = -1;
    ssize_t     got;

    if (buf == NULL)
        return -1;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        goto out;
    (void) posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    xxh64_init(&st, 0);
    for (;;)
    {
        got = read(fd, buf, HASH_BLOCK);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            goto out;
        if (got == 0)
            break;
        xxh64_update(&st, buf, (size_t) got);
        total += (uint64_t) got;
    }
    *size = total;
    *xxh = xxh64_digest(&st);
    rc = 0;
out:
    if (fd >= 0)
        close(fd);
    free(buf);
    return rc;
}

bool
archive_spool_check(const char *dir, const char *name, const char *path, const char *repo,
                    uint64_t sysid, struct archive_spool_record *r)
{
    char        rpath[4200];
    char        text[ARCHIVE_SPOOL_RECORD_MAX];
    uint64_t    size, xxh;
    ssize_t     n;
    int         fd;

    if (record_path(dir, name, rpath, sizeof(rpath)) < 0)
        return false;
    fd = open(rpath, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return false;
    n = read(fd, text, sizeof(text));
    close(fd);
    if (n <= 0 || (size_t) n >= sizeof(text))
        return false;
    if (archive_spool_parse(text, (size_t) n, r) < 0)
        return false;
    if (strcmp(r->name, name) != 0 || strcmp(r->repo, repo) != 0 || r->system_identifier != sysid)
        return false;
    /* the bytes PostgreSQL hands us now must be the bytes the object holds */
    if (hash_path(path, &size, &xxh) < 0)
        return false;
    return size == r->size && xxh == r->xxh64;
}

bool
archive_spool_exists(const char *dir, const char *name)
{
    char        rpath[4200];
    struct stat sb;

    return record_path(dir, name, rpath, sizeof(rpath)) == 0 && lstat(rpath, &sb) == 0;
}

void
archive_spool_forget(const char *dir, const char *name)
{
    char        rpath[4200];

    if (record_path(dir, name, rpath, sizeof(rpath)) == 0)
        (void) unlink(rpath);
}
