/*
 * restore_spool.c — the prefetch spool of walship-restore (restore_spool.h).
 *
 * Two locks, both flock(2) on files in the spool, so that a process killed
 * by PostgreSQL (or by anyone) releases them: "state" is held for the short
 * time of a scan, a hand-over or a fetcher's rename into place, which makes
 * "check the window, then rename" atomic against the restore call that moves
 * the window; "lock" is held by the one fetcher for its whole life.
 */
#include "restore_spool.h"
#include "checksum.h"
#include "log.h"
#include "wal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define STATE_NAME "state"
#define LOCK_NAME "lock"
#define STATE_MAX 2048
#define TAKE_BUF (256 * 1024)

static bool
is_upper_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'A' && s[i] <= 'F')))
            return false;
    return true;
}

void
spool_parse_name(const char *name, uint32_t seg_size, struct spool_entry *out)
{
    struct wal_name wn;
    size_t      len = strlen(name);
    size_t      infix = strlen(SPOOL_TMP_INFIX);

    memset(out, 0, sizeof(*out));
    if (strcmp(name, STATE_NAME) == 0 || strcmp(name, LOCK_NAME) == 0)
    {
        out->kind = SPOOL_E_CONTROL;
        return;
    }
    if (len < 25 || name[24] != '.')
        return;
    memcpy(out->segment, name, 24);
    out->segment[24] = '\0';
    if (wal_parse(out->segment, seg_size, &wn) < 0 || wn.kind != WAL_KIND_SEGMENT)
        return;
    out->timeline = wn.timeline;
    out->segno = wal_segno(&wn, seg_size);
    if (len == 24 + 1 + 16 && is_upper_hex(name + 25, 16))
    {
        out->kind = SPOOL_E_READY;
        out->tag = strtoull(name + 25, NULL, 16);
        return;
    }
    if (len > 24 + infix && strncmp(name + 24, SPOOL_TMP_INFIX, infix) == 0)
    {
        const char *p = name + 24 + infix;
        char       *end;
        long        pid;

        errno = 0;
        pid = strtol(p, &end, 10);
        if (errno == 0 && *p != '\0' && *end == '\0' && pid > 0)
        {
            out->kind = SPOOL_E_TMP;
            out->pid = pid;
        }
    }
}

uint64_t
spool_tag(const char *segment, uint64_t content_xxh64)
{
    return content_xxh64 ^ xxh64(segment, strlen(segment), 0);
}

void
spool_ready_name(char *buf, size_t len, const char *segment, uint64_t tag)
{
    snprintf(buf, len, "%s.%016" PRIX64, segment, tag);
}

bool
spool_in_window(const struct spool_state *st, uint32_t timeline, uint64_t segno)
{
    if (!st->valid || st->stop || st->depth <= 0)
        return false;
    /* a lower timeline is behind PostgreSQL for good (it never goes back to one) */
    return timeline >= st->timeline && segno > st->segno &&
        segno <= st->segno + (uint64_t) st->depth;
}

int
spool_state_format(const struct spool_state *st, char *buf, size_t len)
{
    int         n;

    if (st->stop)
        n = snprintf(buf, len, "stop = 1\n");
    else
        n = snprintf(buf, len, "repo = %s\nsystem_identifier = %" PRIu64 "\ntimeline = %" PRIu32
                     "\nsegno = %" PRIu64 "\ndepth = %d\n", st->repo, st->system_identifier,
                     st->timeline, st->segno, st->depth);
    return n < 0 || (size_t) n >= len ? -1 : n;
}

void
spool_state_parse(const char *text, struct spool_state *st)
{
    const char *p = text;
    int         seen = 0;

    memset(st, 0, sizeof(*st));
    while (*p != '\0')
    {
        const char *eol = strchr(p, '\n');
        size_t      n = eol ? (size_t) (eol - p) : strlen(p);
        char        line[1100];

        if (n < sizeof(line))
        {
            memcpy(line, p, n);
            line[n] = '\0';
            if (strncmp(line, "repo = ", 7) == 0 && strlen(line + 7) < sizeof(st->repo))
            {
                strcpy(st->repo, line + 7);
                seen |= 1;
            }
            else if (sscanf(line, "system_identifier = %" SCNu64, &st->system_identifier) == 1)
                seen |= 2;
            else if (sscanf(line, "timeline = %" SCNu32, &st->timeline) == 1)
                seen |= 4;
            else if (sscanf(line, "segno = %" SCNu64, &st->segno) == 1)
                seen |= 8;
            else if (sscanf(line, "depth = %d", &st->depth) == 1)
                seen |= 16;
            else if (strcmp(line, "stop = 1") == 0)
                st->stop = true;
        }
        p += n;
        if (*p == '\n')
            p++;
    }
    if (st->stop)
    {
        st->valid = true;
        return;
    }
    st->valid = seen == 31 && st->timeline != 0 && st->depth > 0;
}

int
spool_dir_for(const char *path, char *buf, size_t len, struct ws_err *err)
{
    const char *slash = strrchr(path, '/');
    size_t      dirlen;
    int         n;

    /*
     * Only for a %p in a directory named pg_wal (PostgreSQL passes
     * "pg_wal/RECOVERYXLOG"): a restore by hand into any other directory
     * starts no background process and leaves no spool there.
     */
    dirlen = slash == NULL ? 0 : (size_t) (slash - path);
    if (!(dirlen == 6 || (dirlen > 6 && path[dirlen - 7] == '/')) ||
        strncmp(path + dirlen - 6, "pg_wal", 6) != 0)
        return err_set(err, WS_ENOTFOUND, "\"%s\" is not in a pg_wal directory", path);
    n = snprintf(buf, len, "%.*s/%s", (int) dirlen, path, SPOOL_DIR_NAME);
    if (n < 0 || (size_t) n >= len)
        return err_set(err, WS_EINPUT, "file name \"%s\" is too long", path);
    return 0;
}

static int
read_state(struct spool *sp, struct ws_err *err)
{
    char        buf[STATE_MAX];
    ssize_t     n = pread(sp->state_fd, buf, sizeof(buf) - 1, 0);

    if (n < 0)
        return err_set_errno(err, WS_EIO, errno, "could not read file \"%s/%s\"", sp->dir,
                             STATE_NAME);
    buf[n] = '\0';
    spool_state_parse(buf, &sp->st);
    return 0;
}

int
spool_open(struct spool *sp, const char *dir, uint32_t seg_size, bool create,
           struct ws_err *err)
{
    char        path[PATH_MAX];

    memset(sp, 0, sizeof(*sp));
    sp->state_fd = -1;
    sp->seg_size = seg_size;
    if (snprintf(sp->dir, sizeof(sp->dir), "%s", dir) >= (int) sizeof(sp->dir) ||
        snprintf(path, sizeof(path), "%s/%s", dir, STATE_NAME) >= (int) sizeof(path))
        return err_set(err, WS_EINPUT, "directory name \"%s\" is too long", dir);
    if (create && mkdir(dir, 0700) < 0 && errno != EEXIST)
        return err_set_errno(err, WS_EIO, errno, "could not create directory \"%s\"", dir);
    sp->state_fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW | (create ? O_CREAT : 0), 0600);
    if (sp->state_fd < 0)
    {
        if (errno == ENOENT)
            return err_set(err, WS_ENOTFOUND, "no prefetch spool in \"%s\"", dir);
        return err_set_errno(err, WS_EIO, errno, "could not open file \"%s\"", path);
    }
    while (flock(sp->state_fd, LOCK_EX) < 0)
    {
        if (errno != EINTR)
        {
            err_set_errno(err, WS_EIO, errno, "could not lock file \"%s\"", path);
            spool_close(sp);
            return -1;
        }
    }
    if (read_state(sp, err) < 0)
    {
        spool_close(sp);
        return -1;
    }
    return 0;
}

void
spool_close(struct spool *sp)
{
    if (sp->state_fd >= 0)
        close(sp->state_fd);    /* releases the flock */
    sp->state_fd = -1;
}

int
spool_save(struct spool *sp, struct ws_err *err)
{
    char        buf[STATE_MAX];
    int         n = spool_state_format(&sp->st, buf, sizeof(buf));

    if (n < 0)
        return err_set(err, WS_EINPUT, "prefetch state for \"%s\" is too long", sp->st.repo);
    /* in place under the lock: a rename would leave the lock on the old inode */
    if (ftruncate(sp->state_fd, 0) < 0 || pwrite(sp->state_fd, buf, (size_t) n, 0) != n)
        return err_set_errno(err, WS_EIO, errno, "could not write file \"%s/%s\"", sp->dir,
                             STATE_NAME);
    return 0;
}

static void
remove_entry(const struct spool *sp, const char *name)
{
    char        path[PATH_MAX];

    if (snprintf(path, sizeof(path), "%s/%s", sp->dir, name) < (int) sizeof(path))
        unlink(path);
}

int
spool_scan(struct spool *sp, bool owner_ok, bool fetcher_running, const char *want,
           struct spool_seen *seen, struct ws_err *err)
{
    DIR        *d = opendir(sp->dir);
    struct dirent *de;

    memset(seen, 0, sizeof(*seen));
    if (d == NULL)
        return err_set_errno(err, WS_EIO, errno, "could not open directory \"%s\"", sp->dir);
    while ((de = readdir(d)) != NULL)
    {
        struct spool_entry e;
        bool        wanted;

        spool_parse_name(de->d_name, sp->seg_size, &e);
        if (e.kind != SPOOL_E_TMP && e.kind != SPOOL_E_READY)
            continue;
        wanted = want != NULL && strcmp(e.segment, want) == 0;
        if (e.kind == SPOOL_E_TMP)
        {
            /* a fetcher killed mid-file leaves its temporary: never handed over, removed */
            if (!fetcher_running || (kill((pid_t) e.pid, 0) < 0 && errno == ESRCH))
            {
                remove_entry(sp, de->d_name);
                continue;
            }
            if (wanted)
                seen->in_flight = true;
        }
        else if (wanted && owner_ok)
        {
            seen->found = e;
            continue;
        }
        else if (!owner_ok || !spool_in_window(&sp->st, e.timeline, e.segno))
        {
            log_debug("removing prefetched \"%s\" (outside the window)", de->d_name);
            remove_entry(sp, de->d_name);
            continue;
        }
        else
            seen->ahead++;
        if (sp->st.valid && e.timeline == sp->st.timeline && e.segno > sp->st.segno &&
            e.segno - sp->st.segno <= 64)
            seen->have |= UINT64_C(1) << (e.segno - sp->st.segno - 1);
    }
    closedir(d);
    return 0;
}

int
spool_take(struct spool *sp, const struct spool_entry *e, const char *path, bool *taken,
           struct ws_err *err)
{
    char        name[64];
    char        src[PATH_MAX];
    unsigned char *buf = NULL;
    struct xxh64_state xs;
    uint64_t    total = 0;
    int         fd;
    ssize_t     n;
    const char *why = NULL;

    *taken = false;
    spool_ready_name(name, sizeof(name), e->segment, e->tag);
    if (snprintf(src, sizeof(src), "%s/%s", sp->dir, name) >= (int) sizeof(src))
        return err_set(err, WS_EINPUT, "directory name \"%s\" is too long", sp->dir);
    /*
     * The fetcher verified the object before naming the file; reading it
     * again (page cache, a few ms) catches what happened to it since: a
     * crash between data and metadata, a damaged disk, a hand that wrote it.
     */
    fd = open(src, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        why = strerror(errno);
    else if ((buf = malloc(TAKE_BUF)) == NULL)
    {
        close(fd);
        return err_set(err, WS_EINTERNAL, "out of memory");
    }
    else
    {
        xxh64_init(&xs, 0);
        while ((n = read(fd, buf, TAKE_BUF)) > 0)
        {
            xxh64_update(&xs, buf, (size_t) n);
            total += (uint64_t) n;
        }
        if (n < 0)
            why = strerror(errno);
        else if (total != (sp->seg_size ? sp->seg_size : WAL_SEG_SIZE_DEFAULT))
            why = "wrong size";
        else if (spool_tag(e->segment, xxh64_digest(&xs)) != e->tag)
            why = "checksum mismatch";
        close(fd);
        free(buf);
    }
    if (why != NULL)
    {
        log_warning("prefetched file \"%s\" is unusable (%s): removed, fetching \"%s\" from the "
                    "repository", src, why, e->segment);
        unlink(src);
        return 0;
    }
    /* no fsync: PostgreSQL renames a file it keeps with durable_rename (xlogarchive.c) */
    if (rename(src, path) < 0)
        return err_set_errno(err, WS_EIO, errno, "could not rename file \"%s\" to \"%s\"", src,
                             path);
    *taken = true;
    return 0;
}

int
spool_fetch_lock(const char *dir)
{
    char        path[PATH_MAX];
    int         fd;

    if (snprintf(path, sizeof(path), "%s/%s", dir, LOCK_NAME) >= (int) sizeof(path))
        return -1;
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return -1;
    if (flock(fd, LOCK_EX | LOCK_NB) < 0)
    {
        close(fd);
        return -1;
    }
    return fd;
}

void
spool_remove_all(struct spool *sp)
{
    DIR        *d = opendir(sp->dir);
    struct dirent *de;

    if (d == NULL)
        return;
    while ((de = readdir(d)) != NULL)
    {
        struct spool_entry e;

        spool_parse_name(de->d_name, sp->seg_size, &e);
        if (e.kind != SPOOL_E_OTHER)
            remove_entry(sp, de->d_name);
    }
    closedir(d);
    /* fails (ENOTEMPTY) if something not ours is there: then it stays */
    rmdir(sp->dir);
}
